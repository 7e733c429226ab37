/*
 * CLI commands of the consent rules: mo, doi request|renotify, bill
 * check|result, reminders due, shortcode set.
 *
 * Their output words are a contract (scripts read them):
 *   mo          REPLY <text> per reply, then ACTION <KIND> <SC:KW|SC> per
 *               change (SC alone: the short code as a whole)
 *   doi         PENDING and REPLY <confirm text>; renotify REPLY <text>
 *   bill check  ALLOW (exit 0) or DENY <REASON> (exit 1), as check does
 *   bill result RECORDED
 *   reminders   NUMBER SC:KW SINCE DUE per reminder
 *   shortcode   OK
 * Reply texts are printed with cli_put_text, so one stays on its line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* ---- mo -------------------------------------------------------------------------- */

static const char mo_usage[] =
	"usage: mtgate mo NUMBER SC TEXT\n"
	"\n"
	"Apply an MO: the message TEXT that NUMBER sent to short code SC, "
	"read\n"
	"by the consent rules (keywords, STOP and the other quit words, HELP,\n"
	"YES, NO, START). Prints one line per reply to send back to NUMBER,\n"
	"in order, then one line per change it made:\n"
	"  REPLY <text>\n"
	"  ACTION <KIND> <SC:KW|SC>\n"
	"KIND is OPTED_IN, OPTED_OUT, PENDING, CONFIRMED, DECLINED, FAILED,\n"
	"SCOPE_QUESTION or HELP; a plain SC means the short code as a whole.\n"
	"Line breaks in a reply are written \\n. Exit 0, 2 on an error.\n";

int cli_cmd_mo(cli_ctx *cx, int argc, char **argv)
{
	const cli_spec spec = {"mo", mo_usage, NULL, 3, 3, "NUMBER SC TEXT"};
	mtgate_mo_result *res = NULL;
	cli_labels labels = {0};
	const char *pos[3];
	uint64_t number;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (cli_number("mo", pos[0], &number) != 0)
		return CLI_ERR;
	if (!cli_alnum(pos[1], MTGATE_SHORTCODE_MAX))
		return cli_usage_error("mo", "bad short code '%s': %s", pos[1],
				       mtgate_strerror(MTGATE_ESHORTCODE));
	if ((rc = cli_connect(cx, true)) != 0)
		return rc;
	if ((res = malloc(sizeof(*res))) == NULL)
		return cli_fail(cx, MTGATE_ENOMEM);
	rc = mtgate_c_mo(cx->conn, number, pos[1], pos[2], strlen(pos[2]), res);
	if (rc < 0) {
		rc = cli_fail(cx, rc);
		goto out;
	}
	for (uint32_t i = 0; i < res->n_replies; i++) {
		fputs("REPLY ", stdout);
		cli_put_text(stdout, res->reply[i]);
		putchar('\n');
	}
	rc = CLI_OK;
	for (uint32_t i = 0; i < res->n_actions; i++) {
		const mtgate_mo_action *a = &res->action[i];
		const char *label = pos[1];

		if (a->program != 0 &&
		    (label = cli_label_of(cx, &labels, a->program, &rc)) ==
			    NULL)
			goto out;
		printf("ACTION %s %s\n", mtgate_mo_action_name(a->kind), label);
	}
out:
	cli_labels_free(&labels);
	free(res);
	return rc;
}

/* ---- doi ------------------------------------------------------------------------------ */

static const char doi_usage[] =
	"usage: mtgate doi <command>\n"
	"\n"
	"Double opt-in (DOI-1..3): a request puts NUMBER in PENDING for 24\n"
	"hours and gives the confirmation request to send; the subscriber\n"
	"answers YES (confirmed) or NO by MO (see 'mtgate mo').\n"
	"\n"
	"Commands:\n"
	"  request NUMBER SC:KW [--channel CH] [--source REF]\n"
	"                         start a double opt-in\n"
	"  renotify NUMBER SC:KW  send the confirmation request once more\n"
	"\n"
	"Run 'mtgate doi <command> --help' for one command.\n";

static const char doi_request_usage[] =
	"usage: mtgate doi request NUMBER SC:KW [--channel CHANNEL]\n"
	"                          [--source REF]\n"
	"\n"
	"Start a double opt-in of NUMBER to program SC:KW (DOI-1). Prints\n"
	"  PENDING\n"
	"  REPLY <confirm text>\n"
	"the confirmation request to send to NUMBER. Refused, exit 2: the\n"
	"program takes no double opt-in, one is pending already (DOI-2), "
	"NUMBER\n"
	"declined less than 24 hours ago (DOI-6), or is subscribed already\n"
	"(DOI-8).\n"
	"\n"
	"Options:\n"
	"  --channel CHANNEL  where the request came from: sms (an MO), web,\n"
	"                     ivr, ussd, wap, mms, or pos (programs that "
	"allow\n"
	"                     it); default sms. A web request gets no\n"
	"                     re-notify (DOI-3).\n"
	"  --source REF       form id, call id, ... (up to 255 bytes)\n";

static const char doi_renotify_usage[] =
	"usage: mtgate doi renotify NUMBER SC:KW\n"
	"\n"
	"Send the confirmation request of NUMBER's pending double opt-in once\n"
	"more (DOI-3: one re-notify, none for web requests). Prints\n"
	"  REPLY <confirm text>\n"
	"Refused, exit 2: nothing pending, or no re-notify left.\n";

static int doi_request(cli_ctx *cx, int argc, char **argv)
{
	const char *channel = NULL, *source = NULL, *pos[2];
	const cli_opt opts[] = {{"--channel", &channel, NULL},
				{"--source", &source, NULL},
				{NULL, NULL, NULL}};
	const cli_spec spec = {"doi request", doi_request_usage, opts, 2, 2,
			       "NUMBER SC:KW"};
	char sc[CLI_SC_SIZE], kw[CLI_KW_SIZE], text[MTGATE_TEXT_MAX + 1];
	mtgate_channel ch = MTGATE_CHANNEL_MO;
	uint64_t number;
	uint32_t id;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (cli_number("doi request", pos[0], &number) != 0 ||
	    cli_sckw("doi request", pos[1], sc, kw, false, NULL) != 0)
		return CLI_ERR;
	if (channel != NULL && cli_doi_channel_parse(channel, &ch) < 0)
		return cli_usage_error("doi request",
				       "bad --channel '%s': expected sms, web, "
				       "ivr, ussd, wap, mms or pos",
				       channel);
	if ((rc = cli_connect(cx, true)) != 0 ||
	    (rc = cli_program_resolve(cx, pos[1], sc, kw, &id)) != 0)
		return rc;
	rc = mtgate_c_doi_request(cx->conn, number, id, ch, source, text);
	if (rc < 0)
		return cli_fail(cx, rc);
	fputs("PENDING\nREPLY ", stdout);
	cli_put_text(stdout, text);
	putchar('\n');
	return CLI_OK;
}

static int doi_renotify(cli_ctx *cx, int argc, char **argv)
{
	const cli_spec spec = {"doi renotify", doi_renotify_usage, NULL, 2, 2,
			       "NUMBER SC:KW"};
	char sc[CLI_SC_SIZE], kw[CLI_KW_SIZE], text[MTGATE_TEXT_MAX + 1];
	const char *pos[2];
	uint64_t number;
	uint32_t id;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (cli_number("doi renotify", pos[0], &number) != 0 ||
	    cli_sckw("doi renotify", pos[1], sc, kw, false, NULL) != 0)
		return CLI_ERR;
	if ((rc = cli_connect(cx, true)) != 0 ||
	    (rc = cli_program_resolve(cx, pos[1], sc, kw, &id)) != 0)
		return rc;
	if ((rc = mtgate_c_doi_renotify(cx->conn, number, id, text)) < 0)
		return cli_fail(cx, rc);
	fputs("REPLY ", stdout);
	cli_put_text(stdout, text);
	putchar('\n');
	return CLI_OK;
}

int cli_cmd_doi(cli_ctx *cx, int argc, char **argv)
{
	static const cli_cmd cmds[] = {
		{"request", doi_request},
		{"renotify", doi_renotify},
	};

	return cli_dispatch(cx, "doi", doi_usage, cmds,
			    sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}

/* ---- bill ---------------------------------------------------------------------------- */

static const char bill_usage[] =
	"usage: mtgate bill <command>\n"
	"\n"
	"The billing gate of premium programs (BILL-1, BILL-2, DOI-7).\n"
	"\n"
	"Commands:\n"
	"  check NUMBER SC:KW AMOUNT     may NUMBER be charged AMOUNT cents?\n"
	"  result NUMBER SC:KW ok|failed record a charge's result\n"
	"\n"
	"Run 'mtgate bill <command> --help' for one command.\n";

static const char bill_check_usage[] =
	"usage: mtgate bill check NUMBER SC:KW AMOUNT\n"
	"\n"
	"May NUMBER be charged AMOUNT (in cents) for program SC:KW now? "
	"Prints\n"
	"ALLOW (exit 0) or DENY <REASON> (exit 1), REASON one of\n"
	"NOT_CONFIRMED (no confirmed subscription or request),\n"
	"PRICE_ABOVE_CONFIRMED (more than the confirmed price, or the terms\n"
	"went up since: a new double opt-in is needed) and\n"
	"FAILED_ATTEMPTS_EXCEEDED (three failed charges today). Counts\n"
	"nothing. Exit 2 on an error.\n";

static const char bill_result_usage[] =
	"usage: mtgate bill result NUMBER SC:KW ok|failed\n"
	"\n"
	"Record the result of a charge of NUMBER for program SC:KW: ok (a\n"
	"one-off program's confirmed request is used) or failed (the third\n"
	"failure of a day denies billing for the rest of it). Prints "
	"RECORDED.\n";

/* Cents: digits only, 0 .. UINT32_MAX. */
static int amount_parse(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int bill_check(cli_ctx *cx, int argc, char **argv)
{
	const cli_spec spec = {
		"bill check",         bill_check_usage, NULL, 3, 3,
		"NUMBER SC:KW AMOUNT"};
	char sc[CLI_SC_SIZE], kw[CLI_KW_SIZE];
	mtgate_bill_reason reason;
	const char *pos[3];
	uint32_t id, amount;
	uint64_t number;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (cli_number("bill check", pos[0], &number) != 0 ||
	    cli_sckw("bill check", pos[1], sc, kw, false, NULL) != 0)
		return CLI_ERR;
	if (amount_parse(pos[2], &amount) < 0)
		return cli_usage_error("bill check",
				       "bad amount '%s': expected cents, 0 to "
				       "4294967295",
				       pos[2]);
	if ((rc = cli_connect(cx, true)) != 0 ||
	    (rc = cli_program_resolve(cx, pos[1], sc, kw, &id)) != 0)
		return rc;
	rc = mtgate_c_bill_check(cx->conn, number, id, amount, &reason);
	if (rc < 0)
		return cli_fail(cx, rc);
	if (reason == MTGATE_BILL_ALLOW) {
		puts("ALLOW");
		return CLI_OK;
	}
	printf("DENY %s\n", mtgate_bill_reason_token(reason));
	return CLI_DENY;
}

static int bill_result(cli_ctx *cx, int argc, char **argv)
{
	const cli_spec spec = {
		"bill result",           bill_result_usage, NULL, 3, 3,
		"NUMBER SC:KW ok|failed"};
	char sc[CLI_SC_SIZE], kw[CLI_KW_SIZE];
	const char *pos[3];
	uint64_t number;
	uint32_t id;
	bool ok;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (cli_number("bill result", pos[0], &number) != 0 ||
	    cli_sckw("bill result", pos[1], sc, kw, false, NULL) != 0)
		return CLI_ERR;
	if (strcmp(pos[2], "ok") != 0 && strcmp(pos[2], "failed") != 0)
		return cli_usage_error("bill result",
				       "bad result '%s': expected ok or failed",
				       pos[2]);
	ok = strcmp(pos[2], "ok") == 0;
	if ((rc = cli_connect(cx, true)) != 0 ||
	    (rc = cli_program_resolve(cx, pos[1], sc, kw, &id)) != 0)
		return rc;
	if ((rc = mtgate_c_bill_result(cx->conn, number, id, ok, NULL)) < 0)
		return cli_fail(cx, rc);
	puts("RECORDED");
	return CLI_OK;
}

int cli_cmd_bill(cli_ctx *cx, int argc, char **argv)
{
	static const cli_cmd cmds[] = {
		{"check", bill_check},
		{"result", bill_result},
	};

	return cli_dispatch(cx, "bill", bill_usage, cmds,
			    sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}

/* ---- reminders ------------------------------------------------------------------------- */

static const char reminders_usage[] =
	"usage: mtgate reminders <command>\n"
	"\n"
	"Commands:\n"
	"  due [--at TIME]   the subscriptions owed a reminder that day\n"
	"\n"
	"Run 'mtgate reminders <command> --help' for one command.\n";

static const char reminders_due_usage[] =
	"usage: mtgate reminders due [--at TIME]\n"
	"\n"
	"The confirmed double-opt-in subscriptions owed a reminder on the UTC\n"
	"day of TIME (DOI-9: 30 days after the start, then every 30 days), "
	"one\n"
	"line each:\n"
	"  NUMBER SC:KW SINCE DUE\n"
	"NUMBER in E.164 with +, SINCE the subscription's start and DUE the\n"
	"reminder's due time, RFC 3339 UTC. Nothing when none is due. When "
	"more\n"
	"are due than one answer holds, the ones it holds are printed and the\n"
	"command ends with an error (exit 2).\n"
	"\n"
	"Options:\n"
	"  --at TIME   the day, RFC 3339 (default: the server's now)\n";

static int reminders_print(cli_ctx *cx, const mtgate_reminder *r, size_t n)
{
	char since[CLI_TIME_SIZE], due[CLI_TIME_SIZE], num[24];
	cli_labels labels = {0};
	const char *label;
	int rc = CLI_OK;

	for (size_t i = 0; i < n; i++) {
		if ((label = cli_label_of(cx, &labels, r[i].program, &rc)) ==
		    NULL)
			break;
		mtgate_number_format(r[i].number, num, sizeof(num));
		printf("%s %s %s %s\n", num, label,
		       cli_time_format(r[i].since_ms, since),
		       cli_time_format(r[i].due_ms, due));
	}
	cli_labels_free(&labels);
	return rc;
}

static int reminders_due(cli_ctx *cx, int argc, char **argv)
{
	const char *at = NULL, *pos[1];
	const cli_opt opts[] = {{"--at", &at, NULL}, {NULL, NULL, NULL}};
	const cli_spec spec = {
		"reminders due", reminders_due_usage, opts, 0, 0, ""};
	size_t cap = MTGATE_PROTO_REMINDERS_MAX, n = 0;
	mtgate_reminder *list;
	int64_t at_ms = 0;
	bool more = false;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (at != NULL && (cli_time_parse(at, &at_ms) < 0 || at_ms <= 0))
		return cli_usage_error("reminders due",
				       "bad --at '%s': expected RFC 3339, e.g. "
				       "2026-11-23T13:11:44Z",
				       at);
	if ((rc = cli_connect(cx, true)) != 0)
		return rc;
	if ((list = malloc(cap * sizeof(*list))) == NULL)
		return cli_fail(cx, MTGATE_ENOMEM);
	rc = mtgate_c_reminders_due(cx->conn, at_ms, list, cap, &n, &more);
	if (rc < 0)
		rc = cli_fail(cx, rc);
	else if ((rc = reminders_print(cx, list, n)) == CLI_OK && more)
		rc = cli_usage_error("reminders due",
				     "more reminders are due than the %zu "
				     "one answer holds",
				     n);
	free(list);
	return rc;
}

int cli_cmd_reminders(cli_ctx *cx, int argc, char **argv)
{
	static const cli_cmd cmds[] = {{"due", reminders_due}};

	return cli_dispatch(cx, "reminders", reminders_usage, cmds, 1, argc,
			    argv);
}

/* ---- shortcode ------------------------------------------------------------------------ */

static const char shortcode_usage[] =
	"usage: mtgate shortcode <command>\n"
	"\n"
	"Commands:\n"
	"  set SC --help-text TEXT   the short code's generic help text\n"
	"\n"
	"Run 'mtgate shortcode <command> --help' for one command.\n";

static const char shortcode_set_usage[] =
	"usage: mtgate shortcode set SC --help-text TEXT\n"
	"\n"
	"Set short code SC's generic help text (operator only): the answer to\n"
	"HELP from a number active on none of its programs (HELP-3). An empty\n"
	"TEXT clears it. Prints OK.\n"
	"\n"
	"Options:\n"
	"  --help-text TEXT  the text (up to 1024 bytes)\n";

static int shortcode_set(cli_ctx *cx, int argc, char **argv)
{
	const char *help = NULL, *pos[1];
	const cli_opt opts[] = {{"--help-text", &help, NULL},
				{NULL, NULL, NULL}};
	const cli_spec spec = {
		"shortcode set", shortcode_set_usage, opts, 1, 1, "SC"};
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (!cli_alnum(pos[0], MTGATE_SHORTCODE_MAX))
		return cli_usage_error("shortcode set",
				       "bad short code '%s': %s", pos[0],
				       mtgate_strerror(MTGATE_ESHORTCODE));
	if (help == NULL)
		return cli_usage_error("shortcode set",
				       "--help-text is required (\"\" clears "
				       "the text)");
	if ((rc = cli_connect(cx, true)) != 0)
		return rc;
	if ((rc = mtgate_c_shortcode_set(cx->conn, pos[0], help)) < 0)
		return cli_fail(cx, rc);
	puts("OK");
	return CLI_OK;
}

int cli_cmd_shortcode(cli_ctx *cx, int argc, char **argv)
{
	static const cli_cmd cmds[] = {{"set", shortcode_set}};

	return cli_dispatch(cx, "shortcode", shortcode_usage, cmds, 1, argc,
			    argv);
}

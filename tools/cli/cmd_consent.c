/*
 * CLI consent commands: check, optin, optout, deactivate, query.
 *
 * Programs are named SC:KW on the command line and by id on the wire: each
 * command resolves SC:KW with PROGRAM_GET first. query goes the other way
 * and names each record's program by PROGRAM_GET by id, once per program
 * (a small cache for the run).
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static int time_opt(const char *cmd, const char *text, int64_t *ms)
{
	*ms = 0;
	if (text != NULL && cli_time_parse(text, ms) < 0)
		return cli_usage_error(cmd,
				       "bad --at '%s': expected RFC 3339, e.g. "
				       "2026-11-23T13:11:44Z",
				       text);
	return 0;
}

/* ---- check ------------------------------------------------------------------- */

static const char check_usage[] =
	"usage: mtgate check NUMBER SC:KW [--dry-run]\n"
	"\n"
	"May an MT to NUMBER go out on program SC:KW? Prints ALLOW (exit 0)\n"
	"or DENY <REASON> (exit 1), REASON one of NO_OPTIN, OPTED_OUT,\n"
	"PENDING_CONFIRMATION, DEACTIVATED, SCOPE_QUESTION_OPEN,\n"
	"UNKNOWN_PROGRAM, MSG_LIMIT_EXCEEDED. Exit 2 on an error.\n"
	"\n"
	"Options:\n"
	"  --dry-run   answer without counting an allowed MT\n";

int cli_cmd_check(cli_ctx *cx, int argc, char **argv)
{
	bool dry = false;
	const cli_opt opts[] = {{"--dry-run", NULL, &dry}, {NULL, NULL, NULL}};
	const cli_spec spec = {"check", check_usage, opts,
			       2,       2,           "NUMBER SC:KW"};
	char sc[CLI_SC_SIZE], kw[CLI_KW_SIZE];
	mtgate_reason reason;
	const char *pos[2];
	uint64_t number;
	uint32_t id;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (cli_number("check", pos[0], &number) != 0 ||
	    cli_sckw("check", pos[1], sc, kw, false, NULL) != 0)
		return CLI_ERR;
	if ((rc = cli_connect(cx, true)) != 0)
		return rc;
	rc = cli_program_id(cx, sc, kw, &id);
	if (rc == MTGATE_ENOPROGRAM) {
		printf("DENY %s\n",
		       mtgate_reason_token(MTGATE_DENY_UNKNOWN_PROGRAM));
		return CLI_DENY;
	}
	if (rc == 0)
		rc = mtgate_c_gate(
			cx->conn, number, id,
			dry ? MTGATE_MODE_DRY_RUN : MTGATE_MODE_COUNT, &reason);
	if (rc < 0)
		return cli_fail(cx, rc);
	if (reason == MTGATE_ALLOW) {
		puts("ALLOW");
		return CLI_OK;
	}
	printf("DENY %s\n", mtgate_reason_token(reason));
	return CLI_DENY;
}

/* ---- optin ------------------------------------------------------------------------ */

static const char optin_usage[] =
	"usage: mtgate optin NUMBER SC:KW [--channel CHANNEL] [--source REF]\n"
	"                    [--at TIME]\n"
	"\n"
	"Record that NUMBER opted in to program SC:KW. Prints OPTED_IN\n"
	"(PENDING for a double-opt-in program, which waits for the\n"
	"confirmation), or UNCHANGED when it already was.\n"
	"\n"
	"Options:\n"
	"  --channel CHANNEL  mo, web, ivr, pos, import or api (default api)\n"
	"  --source REF       where it came from: form id, call id, file\n"
	"                     (up to 255 bytes)\n"
	"  --at TIME          when the consent was given, RFC 3339\n"
	"                     (default now)\n";

int cli_cmd_optin(cli_ctx *cx, int argc, char **argv)
{
	const char *channel = NULL, *source = NULL, *at = NULL, *pos[2];
	const cli_opt opts[] = {{"--channel", &channel, NULL},
				{"--source", &source, NULL},
				{"--at", &at, NULL},
				{NULL, NULL, NULL}};
	const cli_spec spec = {"optin", optin_usage, opts,
			       2,       2,           "NUMBER SC:KW"};
	char sc[CLI_SC_SIZE], kw[CLI_KW_SIZE];
	mtgate_channel ch = MTGATE_CHANNEL_API;
	mtgate_c_changes chg;
	uint64_t number;
	int64_t at_ms;
	uint32_t id;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (cli_number("optin", pos[0], &number) != 0 ||
	    cli_sckw("optin", pos[1], sc, kw, false, NULL) != 0 ||
	    time_opt("optin", at, &at_ms) != 0)
		return CLI_ERR;
	if (channel != NULL && cli_channel_parse(channel, &ch) < 0)
		return cli_usage_error("optin",
				       "bad --channel '%s': expected mo, web, "
				       "ivr, pos, import or api",
				       channel);
	if ((rc = cli_connect(cx, true)) != 0 ||
	    (rc = cli_program_resolve(cx, pos[1], sc, kw, &id)) != 0)
		return rc;
	rc = mtgate_c_optin(cx->conn, number, id, ch, source, at_ms, &chg);
	if (rc < 0)
		return cli_fail(cx, rc);
	if (chg.changed == 0) {
		puts("UNCHANGED");
	} else {
		/* A double-opt-in program waits for the confirmation. */
		mtgate_c_program p;
		bool doi = false;
		if (mtgate_c_program_get(cx->conn, id, NULL, NULL, &p) == 0) {
			doi = p.def.double_opt_in;
			mtgate_c_program_free(&p);
		}
		puts(doi ? "PENDING" : "OPTED_IN");
	}
	return CLI_OK;
}

/* ---- optout ------------------------------------------------------------------------- */

static const char optout_usage[] =
	"usage: mtgate optout NUMBER SC:KW|SC:ALL [--channel CHANNEL]\n"
	"                     [--source REF]\n"
	"\n"
	"Record that NUMBER opted out of program SC:KW, or of every program\n"
	"on short code SC (SC:ALL). Prints OPTED_OUT <n>, n the consents it\n"
	"changed.\n"
	"\n"
	"Options:\n"
	"  --channel CHANNEL  mo, web, ivr, pos, import or api (default api)\n"
	"  --source REF       where it came from (up to 255 bytes)\n";

int cli_cmd_optout(cli_ctx *cx, int argc, char **argv)
{
	const char *channel = NULL, *source = NULL, *pos[2];
	const cli_opt opts[] = {{"--channel", &channel, NULL},
				{"--source", &source, NULL},
				{NULL, NULL, NULL}};
	const cli_spec spec = {"optout", optout_usage,         opts, 2,
			       2,        "NUMBER SC:KW|SC:ALL"};
	char sc[CLI_SC_SIZE], kw[CLI_KW_SIZE];
	mtgate_channel ch = MTGATE_CHANNEL_API;
	mtgate_c_changes chg;
	uint64_t number;
	uint32_t id = 0;
	bool all;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (cli_number("optout", pos[0], &number) != 0 ||
	    cli_sckw("optout", pos[1], sc, kw, true, &all) != 0)
		return CLI_ERR;
	if (channel != NULL && cli_channel_parse(channel, &ch) < 0)
		return cli_usage_error("optout",
				       "bad --channel '%s': expected mo, web, "
				       "ivr, pos, import or api",
				       channel);
	if ((rc = cli_connect(cx, true)) != 0)
		return rc;
	if (!all && (rc = cli_program_resolve(cx, pos[1], sc, kw, &id)) != 0)
		return rc;
	rc = mtgate_c_optout(cx->conn, number, id, all ? sc : NULL, ch, source,
			     &chg);
	if (rc < 0)
		return cli_fail(cx, rc);
	printf("OPTED_OUT %u\n", chg.changed);
	return CLI_OK;
}

/* ---- deactivate ----------------------------------------------------------------------- */

static const char deactivate_usage[] =
	"usage: mtgate deactivate NUMBER --reason disconnect|port [--at TIME]\n"
	"                         [--source REF]\n"
	"\n"
	"Record that NUMBER was disconnected or ported (operator only):\n"
	"every opt-in dated at or before TIME stops counting. Prints\n"
	"DEACTIVATED <n>, n the consents it voided (0 for a number with\n"
	"none), or UNCHANGED when the number was already deactivated then.\n"
	"\n"
	"Options:\n"
	"  --reason disconnect|port  carrier disconnect list or port\n"
	"  --at TIME                 when, RFC 3339 (default now)\n"
	"  --source REF              the list or file it came from\n";

int cli_cmd_deactivate(cli_ctx *cx, int argc, char **argv)
{
	const char *reason = NULL, *at = NULL, *source = NULL, *pos[1];
	const cli_opt opts[] = {{"--reason", &reason, NULL},
				{"--at", &at, NULL},
				{"--source", &source, NULL},
				{NULL, NULL, NULL}};
	const cli_spec spec = {"deactivate", deactivate_usage, opts, 1, 1,
			       "NUMBER"};
	mtgate_deact_reason why;
	mtgate_c_changes chg;
	uint64_t number;
	int64_t at_ms;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (cli_number("deactivate", pos[0], &number) != 0 ||
	    time_opt("deactivate", at, &at_ms) != 0)
		return CLI_ERR;
	if (reason == NULL || cli_deact_parse(reason, &why) < 0)
		return cli_usage_error("deactivate",
				       "--reason must be disconnect or port");
	if ((rc = cli_connect(cx, true)) != 0)
		return rc;
	rc = mtgate_c_deactivate(cx->conn, number, why, at_ms, source, &chg);
	if (rc < 0)
		return cli_fail(cx, rc);
	/* A new deactivation may void no consent (DEACTIVATED 0); one no
	 * newer than the deactivation on record changes nothing. */
	if (chg.changed == 0 && chg.unchanged > 0)
		puts("UNCHANGED");
	else
		printf("DEACTIVATED %u\n", chg.changed);
	return CLI_OK;
}

/* ---- query ------------------------------------------------------------------------------ */

static const char query_usage[] =
	"usage: mtgate query NUMBER\n"
	"\n"
	"Print NUMBER's consents, one line per program:\n"
	"  SC:KW STATE CHANNEL SINCE COUNT/LIMIT\n"
	"STATE is NONE, OPTED_IN, OPTED_OUT or PENDING; CHANNEL the channel\n"
	"of the last change (mo web ivr pos import api carrier ussd wap mms,\n"
	"- for none); SINCE its time in RFC 3339 UTC; COUNT/LIMIT the MTs\n"
	"counted this period and the limit (one-off programs: credits used\n"
	"and granted).\n"
	"A deactivated number ends with the line\n"
	"  DEACTIVATED <disconnect|port> <TIME>\n";

static int query_print(cli_ctx *cx, const mtgate_consent *recs, size_t n,
		       const mtgate_deactivation *deact)
{
	char since[CLI_TIME_SIZE];
	cli_labels lc = {0};
	const char *label;
	int rc = CLI_OK;

	for (size_t i = 0; i < n; i++) {
		const mtgate_consent *r = &recs[i];

		if ((label = cli_label_of(cx, &lc, r->program, &rc)) == NULL)
			goto out;
		printf("%s %s %s %s %u/%u\n", label, cli_state_name(r->state),
		       cli_channel_name(r->channel),
		       r->changed_at_ms != 0
			       ? cli_time_format(r->changed_at_ms, since)
			       : "-",
		       r->used, r->limit);
	}
	if (deact->reason != MTGATE_DEACT_NONE)
		printf("DEACTIVATED %s %s\n", cli_deact_name(deact->reason),
		       cli_time_format(deact->at_ms, since));
out:
	cli_labels_free(&lc);
	return rc;
}

int cli_cmd_query(cli_ctx *cx, int argc, char **argv)
{
	const cli_spec spec = {"query", query_usage, NULL, 1, 1, "NUMBER"};
	mtgate_deactivation deact;
	mtgate_consent *recs = NULL;
	const char *pos[1];
	uint64_t number;
	size_t n = 0;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (cli_number("query", pos[0], &number) != 0)
		return CLI_ERR;
	if ((rc = cli_connect(cx, true)) != 0 ||
	    (rc = cli_query(cx, "query", number, &recs, &n, &deact)) != 0)
		return rc;
	rc = query_print(cx, recs, n, &deact);
	free(recs);
	return rc;
}

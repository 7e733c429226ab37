/*
 * CLI commands of the audit trail: audit, export, summary, status, feed.
 *
 * Output contract (scripts read it). CSV, with a header line; a field is
 * quoted (quotes doubled) only when it holds a comma, a quote, CR or LF,
 * or starts or ends with a space or tab; times are RFC 3339 UTC.
 *   audit NUMBER  seq,time,number,program,old_state,new_state,channel,
 *                 voided_by,cause,changed_at,actor,source
 *   feed          the same, position for seq
 *   export SC:KW  number,program,channel,opted_in_at,source (what import
 *                 reads; opted_in_at keeps its milliseconds)
 *   summary       program,opted_in,opted_out,pending,voided,day_optins,
 *                 day_optouts,day_other
 * and status NUMBER SC:KW, one line:
 *   <+number> <SC:KW> <STATE> channel=<ch> changed_at=<time> used=<n>
 *   limit=<n> source=<source>
 *
 * Every list is read page by page (AUDIT_PAGE records at a time) and
 * written as it comes: nothing holds a whole trail or export.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <csv.h>

#include "cli/cli.h"

#define AUDIT_PAGE    1024 /* records asked for at a time */
#define SUMMARY_FIRST 256  /* programs of a first SUMMARY; grows */
#define SUMMARY_TRIES 3
#define FEED_POLL_MS  1000 /* feed --follow: wait when nothing is new */

static const char audit_header[] =
	"seq,time,number,program,old_state,new_state,channel,voided_by,cause,"
	"changed_at,actor,source\n";
static const char feed_header[] =
	"position,time,number,program,old_state,new_state,channel,voided_by,"
	"cause,changed_at,actor,source\n";

/* s as one CSV field (see the top of the file). */
static void csv_put(FILE *f, const char *s)
{
	size_t n = strlen(s);

	if (strpbrk(s, ",\"\r\n") != NULL ||
	    (n > 0 && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' ||
		       s[n - 1] == '\t')))
		csv_fwrite(f, s, n);
	else
		fputs(s, f);
}

/* RFC 3339, or "" for none (0). */
static const char *time_or_empty(int64_t ms, char buf[CLI_TIME_SIZE])
{
	return ms != 0 ? cli_time_format(ms, buf) : "";
}

static int alloc_page(cli_ctx *cx, void **p, size_t size)
{
	*p = malloc(size);
	return *p != NULL ? 0 : cli_fail(cx, MTGATE_ENOMEM);
}

/* One audit record as a CSV line (audit and feed). */
static int audit_line(cli_ctx *cx, cli_labels *lc, const mtgate_audit_rec *r)
{
	char at[CLI_TIME_SIZE], changed[CLI_TIME_SIZE], num[24], actor[24];
	const char *label;
	int rc = 0;

	if ((label = cli_label_of(cx, lc, r->program, &rc)) == NULL)
		return rc;
	mtgate_number_format(r->number, num, sizeof(num));
	if (r->actor == 0)
		snprintf(actor, sizeof(actor), "operator");
	else if (r->actor == MTGATE_ACTOR_ENGINE)
		snprintf(actor, sizeof(actor), "engine");
	else
		snprintf(actor, sizeof(actor), "tenant:%" PRIu32, r->actor);
	printf("%" PRIu64 ",%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,", r->seq,
	       time_or_empty(r->at_ms, at), num, label,
	       mtgate_audit_state_name(r->old_state),
	       mtgate_audit_state_name(r->new_state),
	       cli_channel_name((mtgate_channel)r->channel),
	       r->voided_by != MTGATE_DEACT_NONE
		       ? cli_deact_name((mtgate_deact_reason)r->voided_by)
		       : "",
	       mtgate_audit_cause_name(r->cause),
	       time_or_empty(r->changed_at_ms, changed), actor);
	csv_put(stdout, r->source);
	putchar('\n');
	return 0;
}

/* stdout took everything so far. */
static int out_flush(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_usage_error(NULL, "could not write the output: %s",
				       strerror(errno));
	return 0;
}

/* ---- audit ------------------------------------------------------------------------ */

static const char audit_usage[] =
	"usage: mtgate audit NUMBER\n"
	"\n"
	"Print NUMBER's audit trail (AUD-1, AUD-2), oldest first, as CSV:\n"
	"  seq,time,number,program,old_state,new_state,channel,voided_by,"
	"cause,\n"
	"  changed_at,actor,source\n"
	"one line per change of one of its consents, whatever made it.\n"
	"seq      the change's feed position\n"
	"time     when the change was made (RFC 3339 UTC)\n"
	"program  SC:KW\n"
	"old_state, new_state  NONE OPTED_IN OPTED_OUT PENDING VOIDED\n"
	"channel  mo web ivr pos import api carrier ussd wap mms (- none)\n"
	"voided_by  disconnect or port for a deactivation, else empty\n"
	"cause    CONFIRMED DECLINED FAILED EXPIRED SCOPE_TIMEOUT, or "
	"empty\n"
	"changed_at  the consent's own time (an imported opt-in's date)\n"
	"actor    operator, tenant:<id> or engine (an expiry)\n"
	"source   the evidence given with the change\n"
	"A tenant sees the records of its own programs only.\n";

int cli_cmd_audit(cli_ctx *cx, int argc, char **argv)
{
	const cli_spec spec = {"audit", audit_usage, NULL, 1, 1, "NUMBER"};
	mtgate_audit_rec *recs = NULL;
	cli_labels lc = {0};
	const char *pos[1];
	uint64_t number;
	uint32_t skip = 0;
	bool more = true;
	size_t n = 0;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (cli_number("audit", pos[0], &number) != 0)
		return CLI_ERR;
	if ((rc = cli_connect(cx, true)) != 0 ||
	    (rc = alloc_page(cx, (void **)&recs, AUDIT_PAGE * sizeof(*recs))) !=
		    0)
		return rc;
	fputs(audit_header, stdout);
	while (rc == 0 && more) {
		rc = mtgate_c_audit(cx->conn, number, skip, 0, recs, AUDIT_PAGE,
				    &n, &more);
		if (rc < 0) {
			rc = cli_fail(cx, rc);
			break;
		}
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = audit_line(cx, &lc, &recs[i]);
		skip += (uint32_t)n;
		more = more && n > 0;
	}
	cli_labels_free(&lc);
	free(recs);
	return rc;
}

/* ---- export ------------------------------------------------------------------------ */

static const char export_usage[] =
	"usage: mtgate export SC:KW [--out FILE]\n"
	"\n"
	"Print program SC:KW's current opt-ins with their evidence (AUD-3), "
	"by\n"
	"number, as CSV in the format 'mtgate import' reads:\n"
	"  number,program,channel,opted_in_at,source\n"
	"The list is read from the server and written page by page.\n"
	"\n"
	"Options:\n"
	"  --out FILE  write to FILE instead of stdout: to FILE.tmp first,\n"
	"              renamed to FILE once complete and on disk\n";

/* The opt-ins of program id (label) as CSV lines to out. */
static int export_lines(cli_ctx *cx, uint32_t id, const char *label, FILE *out)
{
	char num[24], at[CLI_TIME_SIZE];
	mtgate_export_rec *recs = NULL;
	uint64_t after = 0, next = 0;
	bool more = true;
	size_t n = 0;
	int rc;

	if ((rc = alloc_page(cx, (void **)&recs, AUDIT_PAGE * sizeof(*recs))) !=
	    0)
		return rc;
	fputs("number,program,channel,opted_in_at,source\n", out);
	while (more) {
		rc = mtgate_c_export(cx->conn, id, after, 0, recs, AUDIT_PAGE,
				     &n, &more, &next);
		if (rc < 0) {
			rc = cli_fail(cx, rc);
			break;
		}
		for (size_t i = 0; i < n; i++) {
			const mtgate_export_rec *r = &recs[i];
			mtgate_number_format(r->number, num, sizeof(num));
			fprintf(out, "%s,%s,%s,%s,", num, label,
				r->channel != MTGATE_CHANNEL_NONE
					? cli_channel_name(r->channel)
					: "",
				r->changed_at_ms != 0
					? cli_time_format_ms(r->changed_at_ms,
							     at)
					: "");
			csv_put(out, r->source);
			fputc('\n', out);
		}
		after = next;
	}
	free(recs);
	return rc;
}

/* Export into path: path.tmp, fsync'd, renamed. */
static int export_file(cli_ctx *cx, uint32_t id, const char *label,
		       const char *path)
{
	char tmp[4096];
	FILE *out;
	int rc, fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return cli_usage_error("export", "--out path is too long");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || (out = fdopen(fd, "w")) == NULL) {
		rc = cli_usage_error("export", "cannot write '%s': %s", tmp,
				     strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	rc = export_lines(cx, id, label, out);
	if (rc == 0 && (fflush(out) != 0 || ferror(out) || fsync(fd) != 0))
		rc = cli_usage_error("export", "cannot write '%s': %s", tmp,
				     strerror(errno));
	if (fclose(out) != 0 && rc == 0)
		rc = cli_usage_error("export", "cannot write '%s': %s", tmp,
				     strerror(errno));
	if (rc == 0 && (rename(tmp, path) != 0 || cli_sync_dir_of(path) != 0))
		rc = cli_usage_error("export", "cannot rename '%s' to '%s': %s",
				     tmp, path, strerror(errno));
	if (rc != 0)
		unlink(tmp);
	return rc;
}

int cli_cmd_export(cli_ctx *cx, int argc, char **argv)
{
	const char *out = NULL, *pos[1], *label;
	const cli_opt opts[] = {{"--out", &out, NULL}, {NULL, NULL, NULL}};
	const cli_spec spec = {"export", export_usage, opts, 1, 1, "SC:KW"};
	char sc[CLI_SC_SIZE], kw[CLI_KW_SIZE];
	cli_labels lc = {0};
	uint32_t id;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (cli_sckw("export", pos[0], sc, kw, false, NULL) != 0)
		return CLI_ERR;
	if (out != NULL && out[0] == '\0')
		return cli_usage_error("export", "--out is empty");
	if ((rc = cli_connect(cx, true)) != 0 ||
	    (rc = cli_program_resolve(cx, pos[0], sc, kw, &id)) != 0)
		return rc;
	if ((label = cli_label_of(cx, &lc, id, &rc)) != NULL)
		rc = out != NULL ? export_file(cx, id, label, out)
				 : export_lines(cx, id, label, stdout);
	cli_labels_free(&lc);
	return rc;
}

/* ---- summary ------------------------------------------------------------------------ */

static const char summary_usage[] =
	"usage: mtgate summary [--date YYYY-MM-DD]\n"
	"\n"
	"Print the daily subscription summary of your programs (AUD-4), as "
	"CSV:\n"
	"  program,opted_in,opted_out,pending,voided,day_optins,day_optouts,"
	"\n"
	"  day_other\n"
	"one line per program (SC:KW): its consents in each state now, and\n"
	"the changes made on the day (UTC) into OPTED_IN, into OPTED_OUT or\n"
	"VOIDED, and into anything else.\n"
	"\n"
	"Options:\n"
	"  --date YYYY-MM-DD  the day (default: the server's today)\n";

/* "YYYY-MM-DD" as a time inside that UTC day (its noon: never 0, which
 * would mean today). */
static int date_parse(const char *s, int64_t *ms)
{
	char buf[32];

	if (strlen(s) != 10 ||
	    snprintf(buf, sizeof(buf), "%sT12:00:00Z", s) >= (int)sizeof(buf))
		return -1;
	return cli_time_parse(buf, ms);
}

int cli_cmd_summary(cli_ctx *cx, int argc, char **argv)
{
	const char *date = NULL;
	const cli_opt opts[] = {{"--date", &date, NULL}, {NULL, NULL, NULL}};
	const cli_spec spec = {"summary", summary_usage, opts, 0, 0, ""};
	mtgate_summary_rec *recs = NULL, *grown;
	size_t cap = 0, n = SUMMARY_FIRST;
	cli_labels lc = {0};
	int64_t day_ms = 0;
	const char *label;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, NULL, &npos, &rc))
		return rc;
	if (date != NULL && date_parse(date, &day_ms) < 0)
		return cli_usage_error("summary",
				       "bad --date '%s': expected YYYY-MM-DD",
				       date);
	if ((rc = cli_connect(cx, true)) != 0)
		return rc;
	/* Ask again while the programs outnumber the room (a few times: the
	 * set may grow in between). */
	for (int tries = 0; rc == 0 && n > cap && tries < SUMMARY_TRIES;
	     tries++) {
		cap = n;
		if ((grown = realloc(recs, cap * sizeof(*recs))) == NULL) {
			rc = cli_fail(cx, MTGATE_ENOMEM);
			break;
		}
		recs = grown;
		if ((rc = mtgate_c_summary(cx->conn, day_ms, recs, cap, &n,
					   NULL)) < 0)
			rc = cli_fail(cx, rc);
	}
	if (rc == 0 && n > cap)
		rc = cli_usage_error("summary", "the programs kept changing "
						"while read; try again");
	if (rc == 0)
		fputs("program,opted_in,opted_out,pending,voided,day_optins,"
		      "day_optouts,day_other\n",
		      stdout);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const mtgate_summary_rec *r = &recs[i];
		if ((label = cli_label_of(cx, &lc, r->program, &rc)) == NULL)
			break;
		printf("%s,%u,%u,%u,%u,%u,%u,%u\n", label, r->opted_in,
		       r->opted_out, r->pending, r->voided, r->day_optins,
		       r->day_optouts, r->day_other);
	}
	cli_labels_free(&lc);
	free(recs);
	return rc;
}

/* ---- status -------------------------------------------------------------------------- */

static const char status_usage[] =
	"usage: mtgate status NUMBER SC:KW\n"
	"\n"
	"Print NUMBER's consent to program SC:KW in one line:\n"
	"  <+number> <SC:KW> <STATE> channel=<ch> changed_at=<time> "
	"used=<n>\n"
	"  limit=<n> source=<source>\n"
	"STATE is NONE (no record: channel=- changed_at=- used=0 limit=0),\n"
	"OPTED_IN, OPTED_OUT, PENDING or VOIDED (opted out by a\n"
	"deactivation). source runs to the end of the line; line breaks in "
	"it\n"
	"are written \\n.\n";

int cli_cmd_status(cli_ctx *cx, int argc, char **argv)
{
	const cli_spec spec = {"status", status_usage,  NULL, 2,
			       2,        "NUMBER SC:KW"};
	char sc[CLI_SC_SIZE], kw[CLI_KW_SIZE], num[24], at[CLI_TIME_SIZE];
	const mtgate_consent *rec = NULL;
	mtgate_consent *recs = NULL;
	mtgate_deactivation deact;
	cli_labels lc = {0};
	const char *pos[2], *label, *state = "NONE";
	uint64_t number;
	size_t n = 0;
	uint32_t id;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (cli_number("status", pos[0], &number) != 0 ||
	    cli_sckw("status", pos[1], sc, kw, false, NULL) != 0)
		return CLI_ERR;
	if ((rc = cli_connect(cx, true)) != 0 ||
	    (rc = cli_program_resolve(cx, pos[1], sc, kw, &id)) != 0 ||
	    (label = cli_label_of(cx, &lc, id, &rc)) == NULL ||
	    (rc = cli_query(cx, "status", number, &recs, &n, &deact)) != 0)
		goto out;
	for (size_t i = 0; i < n && rec == NULL; i++)
		if (recs[i].program == id)
			rec = &recs[i];
	if (rec != NULL)
		state = rec->state == MTGATE_STATE_OPTED_OUT &&
					rec->voided_by != MTGATE_DEACT_NONE
				? "VOIDED"
				: cli_state_name(rec->state);
	mtgate_number_format(number, num, sizeof(num));
	printf("%s %s %s channel=%s changed_at=%s used=%u limit=%u source=",
	       num, label, state, rec ? cli_channel_name(rec->channel) : "-",
	       rec && rec->changed_at_ms
		       ? cli_time_format(rec->changed_at_ms, at)
		       : "-",
	       rec ? rec->used : 0, rec ? rec->limit : 0);
	cli_put_text(stdout, rec ? rec->source : "");
	putchar('\n');
out:
	cli_labels_free(&lc);
	free(recs);
	return rc;
}

/* ---- feed ------------------------------------------------------------------------------ */

static const char feed_usage[] =
	"usage: mtgate feed [--from POS] [--follow] [--no-ack]\n"
	"\n"
	"Print your change feed (AUD-5): the audit records of your "
	"programs,\n"
	"in order, as CSV with the columns of 'mtgate audit', position first:\n"
	"  position,time,number,program,old_state,new_state,channel,"
	"voided_by,\n"
	"  cause,changed_at,actor,source\n"
	"Pages are read until none is new. Once a page is written, its last\n"
	"position is acknowledged, so the next 'mtgate feed' starts after "
	"it;\n"
	"records read and not acknowledged for 60 minutes are offered "
	"again.\n"
	"\n"
	"Options:\n"
	"  --from POS  read from position POS on (default: where your feed\n"
	"              stands)\n"
	"  --follow    keep reading, every second when nothing is new, until\n"
	"              SIGINT or SIGTERM (exit 0)\n"
	"  --no-ack    acknowledge nothing\n";

static volatile sig_atomic_t feed_stop;

static void feed_on_signal(int sig)
{
	(void)sig;
	feed_stop = 1;
}

/* SIGINT and SIGTERM end --follow after the page in hand; no SA_RESTART,
 * so the wait between polls ends at once. */
static void feed_signals(void)
{
	struct sigaction sa = {0};

	sa.sa_handler = feed_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void feed_wait(void)
{
	struct timespec ts = {FEED_POLL_MS / 1000,
			      (long)(FEED_POLL_MS % 1000) * 1000000L};

	while (!feed_stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One page written, flushed and acknowledged; *n how many records. */
static int feed_page(cli_ctx *cx, cli_labels *lc, mtgate_audit_rec *recs,
		     uint64_t *from, bool ack, size_t *n)
{
	uint64_t next = 0;
	int rc;

	rc = mtgate_c_feed_read(cx->conn, *from, 0, recs, AUDIT_PAGE, n, &next);
	if (rc < 0)
		return cli_fail(cx, rc);
	for (size_t i = 0; i < *n; i++)
		if ((rc = audit_line(cx, lc, &recs[i])) != 0)
			return rc;
	if (*n > 0 && (rc = out_flush()) != 0)
		return rc;
	if (*n > 0 && ack &&
	    (rc = mtgate_c_feed_ack(cx->conn, recs[*n - 1].seq)) < 0)
		return cli_fail(cx, rc);
	*from = next;
	return 0;
}

/* A position: digits only, a u64. */
static int position_parse(const char *s, uint64_t *out)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

int cli_cmd_feed(cli_ctx *cx, int argc, char **argv)
{
	const char *from_s = NULL;
	bool follow = false, no_ack = false;
	const cli_opt opts[] = {{"--from", &from_s, NULL},
				{"--follow", NULL, &follow},
				{"--no-ack", NULL, &no_ack},
				{NULL, NULL, NULL}};
	const cli_spec spec = {"feed", feed_usage, opts, 0, 0, ""};
	mtgate_audit_rec *recs = NULL;
	cli_labels lc = {0};
	uint64_t from = 0;
	size_t n = 0;
	int npos, rc;

	if (!cli_parse(&spec, argc, argv, NULL, &npos, &rc))
		return rc;
	if (from_s != NULL && position_parse(from_s, &from) < 0)
		return cli_usage_error(
			"feed", "bad --from '%s': expected a position", from_s);
	if ((rc = cli_connect(cx, true)) != 0 ||
	    (rc = alloc_page(cx, (void **)&recs, AUDIT_PAGE * sizeof(*recs))) !=
		    0)
		return rc;
	feed_signals();
	fputs(feed_header, stdout);
	rc = out_flush();
	while (rc == 0 && !feed_stop) {
		rc = feed_page(cx, &lc, recs, &from, !no_ack, &n);
		if (rc != 0 || n > 0)
			continue;
		if (!follow)
			break;
		feed_wait();
	}
	cli_labels_free(&lc);
	free(recs);
	return rc;
}

/*
 * Checks the CLI's bulk and audit commands as a person or a script runs
 * them (tools/cli/cmd_bulk.c, cmd_audit.c): the real mtgate binary in a
 * child process against a real mtgated with --test-clock (cliutil.h).
 *
 *   - import: a file with one bad line of every class (bad number,
 *     unknown program, bad channel, bad date, wrong column count, broken
 *     quoting, invalid UTF-8, source too long, a quote never closed) and
 *     rows the server refuses (a date in the future, NUM-3, no POS
 *     opt-in): the exact "line N: ..." reports, the exact counts, exit 1;
 *     imported again, nothing changes (OPTIN-3); --max-errors stops with
 *     the counts and exit 2; --program; a file of many frames, cut by
 *     rows and by bytes, pipelined.
 *   - deactivate-list: the counts of NUM-4 (read, matched, voided,
 *     rejected with their lines), a second run voids nothing (NUM-1),
 *     --archive moves the file (a taken name gets .1), a tenant is
 *     refused (TEN-1) and its file stays.
 *   - NUM-3 through the CLI: a list dated D, then an import of a row
 *     opted in before D (refused, its reason) and one after D (imported).
 *   - audit (AUD-1, AUD-2), export and its round trip through import
 *     (AUD-3), status and summary (AUD-4), feed and its acknowledgement,
 *     --from, --follow until SIGTERM (AUD-5).
 *   - --help of every new command and their usage errors.
 */
#include "cliutil.h"

#include <ctype.h>

static int group_setup(void **state)
{
	return cu_group_setup(state, "srv-bulk-cli");
}

/* A file in the test's working directory (removed after the test). */
static const char *file_at(fx *f, const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", work_dir(f, NULL), name);
	return buf;
}

static const char *file_with(fx *f, const char *name, const char *text,
			     char *buf, size_t cap)
{
	file_at(f, name, buf, cap);
	write_file(buf, text);
	return buf;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* import's stdout: "changed=<c> unchanged=<u>\nimported=<c+u>
 * rejected=<r> rows_per_s=<x.y>\n", exit status, stderr exactly err. */
static void expect_import(fx *f, int status, unsigned changed,
			  unsigned unchanged, unsigned rejected,
			  const char *err, int line)
{
	char want[256];
	const char *p;
	int n = snprintf(want, sizeof(want),
			 "changed=%u unchanged=%u\nimported=%u rejected=%u "
			 "rows_per_s=",
			 changed, unchanged, changed + unchanged, rejected);

	if (f->status != status || strncmp(f->out, want, (size_t)n) != 0 ||
	    strcmp(f->err, err) != 0) {
		char what[1024];
		snprintf(what, sizeof(what),
			 "wanted exit %d, stdout [%s<x.y>], stderr [%s]",
			 status, want, err);
		run_failed(f, line, what);
	}
	p = f->out + n;
	if (!isdigit((unsigned char)*p))
		run_failed(f, line, "rows_per_s is no number");
	while (isdigit((unsigned char)*p))
		p++;
	if (p[0] != '.' || !isdigit((unsigned char)p[1]) ||
	    strcmp(p + 2, "\n") != 0)
		run_failed(f, line, "rows_per_s is not %.1f and last");
}
#define EXPECT_IMPORT(f, st, c, u, r, err)                                     \
	expect_import((f), (st), (c), (u), (r), (err), __LINE__)

/* A program of a tenant, through the CLI with its key. */
static void tenant_program_add(fx *f, const char *key, const char *sc,
			       const char *kw)
{
	char label[64];
	su_texts t;

	texts_for_limit(&t, "Tenant club", "5/month");
	snprintf(label, sizeof(label), "%s:%s", sc, kw);
	CLI_KEY(f, key, "program", "add", "--short-code", sc, "--keyword", kw,
		"--name", "Tenant club", "--limit", "5/month", "--welcome",
		t.welcome, "--help-text", t.help, "--quit-text", t.quit);
	EXPECT_PROGRAM(f, label);
}

/* A new tenant: its key into key, its id returned. */
static unsigned tenant_add(fx *f, const char *name,
			   char key[MTGATE_PROTO_KEY_MAX + 1])
{
	unsigned id = 0;
	int end = 0;

	CLI(f, "tenant", "add", name);
	if (f->status != 0 ||
	    sscanf(f->out, "tenant: %u\nkey: %n", &id, &end) != 1 || end == 0)
		run_failed(f, __LINE__, "tenant add failed");
	snprintf(key, MTGATE_PROTO_KEY_MAX + 1, "%.*s",
		 (int)strcspn(f->out + end, "\n"), f->out + end);
	return id;
}

/* stdout without the first field of every line (seq and position differ
 * with the order the tests run in); the first fields must ascend. */
static char *drop_first_field(fx *f, int line)
{
	char *out = malloc(strlen(f->out) + 1), *o = out;
	unsigned long long prev = 0;
	bool header = true;

	assert_non_null(out);
	for (const char *p = f->out; *p != '\0';) {
		const char *comma = strchr(p, ','), *nl = strchr(p, '\n');
		if (comma == NULL || nl == NULL || comma > nl)
			run_failed(f, line, "a line without a comma");
		if (!header) {
			unsigned long long v = strtoull(p, NULL, 10);
			if (v <= prev)
				run_failed(f, line, "positions do not ascend");
			prev = v;
		}
		header = false;
		/* a quoted source may hold a line break: copy to the LF
		 * that ends the record (quotes balanced) */
		p = comma + 1;
		for (bool q = false; *p != '\0'; p++) {
			*o++ = *p;
			if (*p == '"')
				q = !q;
			if (*p == '\n' && !q) {
				p++;
				break;
			}
		}
	}
	*o = '\0';
	return out;
}

static void expect_text(fx *f, const char *got, const char *want, int line)
{
	if (strcmp(got, want) != 0) {
		char what[4096];
		snprintf(what, sizeof(what), "wanted [%s], got [%s]", want,
			 got);
		run_failed(f, line, what);
	}
}

/* ---- import ------------------------------------------------------------------------ */

#define S256                                                                   \
	"ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"     \
	"ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"     \
	"ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"     \
	"ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"

static const char every_class_file[] =
	"number,program,channel,opted_in_at,source\n"
	"+15561000001,61001:IMP,web,2026-03-01T10:00:00Z,form-1\n"
	"+1556100000x,61001:IMP,web,,x\n"
	"+15561000003,61001:NOPE,web,,x\n"
	"+15561000004,61001:IMP,fax,,x\n"
	"+15561000005,61001:IMP,web,2026-13-01T00:00:00Z,x\n"
	"+15561000006,61001:IMP,web\n"
	"+15561000007,61001:IMP,web,,ab\"c\n"
	"+15561000008,61001:IMP,web,,\xff\n"
	"+15561000009,61001:IMP,web,," S256 "\n"
	"\n"
	"\"+15561000010\",61001:imp,ivr,,\"call, 7\"\r\n"
	"+15561000011,61001:IMP,web,2027-01-01T00:00:00Z,x\n"
	"+15561000012,61001:IMP,web,2026-03-01T00:00:00Z,x\n"
	"+15561000013,61001:IMP,pos,,x\n"
	"+15561000014,61001:IMP,web,,\"never closed\n"
	"+15561000015,61001:IMP,,,\n";

static const char every_class_err[] =
	"line 3: bad number '+1556100000x': number contains a letter or a "
	"character that is not a digit\n"
	"line 4: unknown program '61001:NOPE'\n"
	"line 5: bad channel 'fax': expected mo, web, ivr, pos, import, api, "
	"ussd, wap or mms\n"
	"line 6: bad opted_in_at '2026-13-01T00:00:00Z': expected RFC 3339 "
	"after 1970, e.g. 2026-11-23T13:11:44Z\n"
	"line 7: wrong column count: 3 fields, the header has 5\n"
	"line 8: broken quoting\n"
	"line 9: invalid UTF-8 or a NUL byte in column source\n"
	"line 10: source is longer than 255 bytes (256)\n"
	"line 16: broken quoting: a quote is never closed\n"
	"line 13: date lies in the future\n"
	"line 14: opted in before the number was deactivated (NUM-3)\n"
	"line 15: the program takes no point-of-sale opt-ins\n";

static void test_srv_bulk_cli_import_every_bad_line(void **state)
{
	fx *f = *state;
	char path[800];

	clock_set(f, T0_TEXT);
	program_add(f, "61001", "IMP", "5/month", "UTC");
	CLI(f, "deactivate", "+15561000012", "--reason", "disconnect", "--at",
	    "2026-03-10T00:00:00Z");
	EXPECT(f, 0, "DEACTIVATED 0\n");
	file_with(f, "every.csv", every_class_file, path, sizeof(path));

	/* lines 2, 12 and 17 go in; every other one is reported, the
	 * server's refusals once its answer is back */
	CLI(f, "import", path);
	EXPECT_IMPORT(f, 1, 3, 0, 12, every_class_err);
	CLI(f, "status", "+15561000010", "61001:IMP");
	EXPECT(f, 0,
	       "+15561000010 61001:IMP OPTED_IN channel=ivr changed_at=" T0_TEXT
	       " used=0 limit=5 source=call, 7\n");
	CLI(f, "status", "+15561000001", "61001:IMP");
	EXPECT(f, 0,
	       "+15561000001 61001:IMP OPTED_IN channel=web "
	       "changed_at=2026-03-01T10:00:00Z used=0 limit=5 "
	       "source=form-1\n");
	CLI(f, "status", "+15561000011", "61001:IMP");
	EXPECT(f, 0,
	       "+15561000011 61001:IMP NONE channel=- changed_at=- used=0 "
	       "limit=0 source=\n");
}

/* OPTIN-3: the same file again changes nothing and reports the same. */
static void test_srv_bulk_cli_optin_3_import_again_changes_nothing(void **state)
{
	fx *f = *state;
	char path[800];

	clock_set(f, T0_TEXT);
	program_add(f, "61002", "IMP", "5/month", "UTC");
	file_with(f, "again.csv",
		  "number,program,channel,opted_in_at,source\n"
		  "+15561000101,61002:IMP,web,2026-03-01T10:00:00Z,f\n"
		  "+15561000102,61002:IMP,api,,\n"
		  "bad,61002:IMP,api,,\n",
		  path, sizeof(path));
	CLI(f, "import", path);
	EXPECT_IMPORT(f, 1, 2, 0, 1,
		      "line 4: bad number 'bad': number contains a letter or "
		      "a character that is not a digit\n");
	CLI(f, "import", path);
	EXPECT_IMPORT(f, 1, 0, 2, 1,
		      "line 4: bad number 'bad': number contains a letter or "
		      "a character that is not a digit\n");
}

static void test_srv_bulk_cli_import_max_errors(void **state)
{
	fx *f = *state;
	char path[800];

	clock_set(f, T0_TEXT);
	program_add(f, "61003", "MAXE", "5/month", "UTC");
	file_with(f, "maxe.csv",
		  "number,program\n"
		  "+15561000201,61003:MAXE\n"
		  "x1,61003:MAXE\n"
		  "x2,61003:MAXE\n"
		  "+15561000205,61003:MAXE\n",
		  path, sizeof(path));

	/* the second bad line stops the reading; what was read before it
	 * still goes in, then exit 2 */
	CLI(f, "import", path, "--max-errors", "2");
	EXPECT_IMPORT(f, 2, 1, 0, 2,
		      "line 3: bad number 'x1': number contains a letter or a "
		      "character that is not a digit\n"
		      "line 4: bad number 'x2': number contains a letter or a "
		      "character that is not a digit\n"
		      "error: stopped after 2 bad lines\n");
	CLI(f, "status", "+15561000205", "61003:MAXE");
	EXPECT(f, 0,
	       "+15561000205 61003:MAXE NONE channel=- changed_at=- used=0 "
	       "limit=0 source=\n");

	/* 0: no limit */
	CLI(f, "import", "--max-errors=0", path);
	EXPECT_IMPORT(f, 1, 1, 1, 2,
		      "line 3: bad number 'x1': number contains a letter or a "
		      "character that is not a digit\n"
		      "line 4: bad number 'x2': number contains a letter or a "
		      "character that is not a digit\n");
	CLI(f, "import", path, "--max-errors", "two");
	EXPECT_ERROR(f, "bad --max-errors 'two'");
}

static void test_srv_bulk_cli_import_program_option(void **state)
{
	fx *f = *state;
	char path[800];

	clock_set(f, T0_TEXT);
	program_add(f, "61004", "PA", "5/month", "UTC");
	program_add(f, "61004", "PB", "5/month", "UTC");

	/* no program column: --program's */
	file_with(f, "noprog.csv",
		  "channel,number\nweb,+15561000301\n,+15561000302\n", path,
		  sizeof(path));
	CLI(f, "import", path, "--program", "61004:pa");
	EXPECT_IMPORT(f, 0, 2, 0, 0, "");
	CLI(f, "status", "+15561000302", "61004:PA");
	EXPECT(f, 0,
	       "+15561000302 61004:PA OPTED_IN channel=import "
	       "changed_at=" T0_TEXT " used=0 limit=5 source=\n");
	CLI(f, "import", path);
	EXPECT_ERROR(f, "the header has no column program (or give --program "
			"SC:KW)");
	CLI(f, "import", path, "--program", "61004:NOPE");
	EXPECT_ERROR(f, "unknown program 61004:NOPE");

	/* a program column too: another program is a bad line */
	file_with(
		f, "both.csv",
		"number,program\n+15561000303,61004:PA\n+15561000304,61004:PB\n"
		"+15561000305,\n",
		path, sizeof(path));
	CLI(f, "import", path, "--program", "61004:PA");
	EXPECT_IMPORT(f, 1, 2, 0, 1,
		      "line 3: program '61004:PB' is not --program 61004:PA\n");
	CLI(f, "status", "+15561000304", "61004:PB");
	EXPECT(f, 0,
	       "+15561000304 61004:PB NONE channel=- changed_at=- used=0 "
	       "limit=0 source=\n");
}

/* Rows enough for several frames: some cut by the 4096-row bound, some by
 * the frame's bytes (long sources), more frames than fly at once. */
static void test_srv_bulk_cli_import_many_frames(void **state)
{
	enum { ROWS = 40000, BAD_EVERY = 8000, LONG_FROM = 20000 };
	static const char want_last[] =
		"+15570039999 61005:MANY OPTED_IN channel=import";
	fx *f = *state;
	char path[800], src[251], *err;
	size_t used = 0;
	FILE *fp;

	clock_set(f, T0_TEXT);
	program_add(f, "61005", "MANY", "5/month", "UTC");
	memset(src, 'q', sizeof(src) - 1);
	src[sizeof(src) - 1] = '\0';
	fp = fopen(file_at(f, "many.csv", path, sizeof(path)), "w");
	assert_non_null(fp);
	fputs("number,program,source\n", fp);
	err = calloc(ROWS / BAD_EVERY, 128);
	assert_non_null(err);
	for (int i = 1; i <= ROWS; i++) {
		if (i % BAD_EVERY == 0) {
			fprintf(fp, "+1557000%04dx,61005:MANY,\n", i % 10000);
			used += (size_t)sprintf(
				err + used,
				"line %d: bad number '+1557000%04dx': number "
				"contains a letter or a character that is not "
				"a digit\n",
				i + 1, i % 10000);
		} else {
			fprintf(fp, "+155700%05d,61005:MANY,%s\n", i,
				i > LONG_FROM ? src : "s");
		}
	}
	assert_int_equal(fclose(fp), 0);

	CLI(f, "import", path);
	EXPECT_IMPORT(f, 1, ROWS - ROWS / BAD_EVERY, 0, ROWS / BAD_EVERY, err);
	CLI(f, "status", "+15570039999", "61005:MANY");
	if (f->status != 0 ||
	    strncmp(f->out, want_last, strlen(want_last)) != 0 ||
	    strstr(f->out, " source=qqqq") == NULL)
		run_failed(f, __LINE__, "the last row is not in");
	CLI(f, "import", path);
	EXPECT_IMPORT(f, 1, 0, ROWS - ROWS / BAD_EVERY, ROWS / BAD_EVERY, err);
	free(err);
}

/* ---- deactivate-list -------------------------------------------------------------------- */

static const char ports_file[] = "number,date\n"
				 "+15562000001\n"
				 "\n"
				 "+15562000002,2026-03-15T12:00:00Z\n"
				 "+15562000003\n"
				 "notanumber\n"
				 "+15562000004,tomorrow\n";

static const char ports_err[] =
	"line 6: bad number 'notanumber': number contains a letter or a "
	"character that is not a digit\n"
	"line 7: bad date 'tomorrow': expected RFC 3339 after 1970, e.g. "
	"2026-11-23T13:11:44Z\n";

/* NUM-4: lines read, numbers matched, consents voided, lines rejected
 * with their reasons; NUM-1: a second run voids nothing. */
static void test_srv_bulk_cli_num_4_deactivate_list(void **state)
{
	fx *f = *state;
	char path[800], arch[800], want[2048], moved[900];

	clock_set(f, T0_TEXT);
	program_add(f, "62001", "DL", "5/month", "UTC");
	CLI(f, "optin", "+15562000001", "62001:DL");
	EXPECT(f, 0, "OPTED_IN\n");
	CLI(f, "optin", "+15562000002", "62001:DL");
	EXPECT(f, 0, "OPTED_IN\n");
	file_with(f, "ports-1.csv", ports_file, path, sizeof(path));

	CLI(f, "deactivate-list", path, "--reason", "port");
	if (f->status != 1 ||
	    strcmp(f->out, "read=5 matched=2 voided=2 rejected=2\n") != 0 ||
	    strcmp(f->err, ports_err) != 0)
		run_failed(f, __LINE__, "wanted the NUM-4 counts");
	CLI(f, "status", "+15562000002", "62001:DL");
	EXPECT(f, 0,
	       "+15562000002 62001:DL VOIDED channel=carrier "
	       "changed_at=" T0_TEXT " used=0 limit=5 "
	       "source=ports-1.csv\n");
	CLI(f, "check", "+15562000001", "62001:DL");
	EXPECT(f, 1, "DENY DEACTIVATED\n");

	/* again, and archived: the file moves into a directory made for it */
	file_at(f, "archive/done", arch, sizeof(arch));
	CLI(f, "deactivate-list", path, "--reason", "port", "--archive", arch);
	snprintf(moved, sizeof(moved), "%s/ports-1.csv", arch);
	snprintf(want, sizeof(want),
		 "archived=%s\nread=5 matched=2 voided=0 rejected=2\n", moved);
	if (f->status != 1 || strcmp(f->out, want) != 0 ||
	    strcmp(f->err, ports_err) != 0)
		run_failed(f, __LINE__, "wanted archived= and no more voided");
	assert_false(exists(path));
	assert_true(exists(moved));

	/* a list of the same name: the name taken, it gets .1; no header
	 * line, disconnects */
	file_with(f, "ports-1.csv", "+15562000009\n", path, sizeof(path));
	CLI(f, "deactivate-list", path, "--reason", "disconnect", "--archive",
	    arch);
	snprintf(want, sizeof(want),
		 "archived=%s.1\nread=1 matched=0 voided=0 rejected=0\n",
		 moved);
	EXPECT(f, 0, want);
	assert_false(exists(path));
	assert_true(exists(moved));

	/* usage */
	CLI(f, "deactivate-list", path, "--reason", "port");
	EXPECT_ERROR(f, "cannot open");
	CLI(f, "deactivate-list", moved, "--reason", "lost");
	EXPECT_ERROR(f, "--reason must be disconnect or port");
	CLI(f, "deactivate-list", "--reason", "port");
	EXPECT_ERROR(f, "missing arguments: expected FILE");
}

/* TEN-1: lists are the operator's; a tenant's file is left alone. */
static void test_srv_bulk_cli_ten_1_deactivate_list_operator_only(void **state)
{
	fx *f = *state;
	char key[MTGATE_PROTO_KEY_MAX + 1], path[800], arch[800];

	tenant_add(f, "Lists Inc", key);
	file_with(f, "t.csv", "+15562000101\n", path, sizeof(path));
	file_at(f, "tarch", arch, sizeof(arch));
	CLI_KEY(f, key, "deactivate-list", path, "--reason", "disconnect",
		"--archive", arch);
	EXPECT_ERROR(f, "forbidden: operator only");
	assert_true(exists(path));
	assert_false(exists(arch));
}

/* NUM-3 through the CLI: a list dated D; an import opted in before D is
 * refused with the rule, one after D goes in. */
static void test_srv_bulk_cli_num_3_import_after_list(void **state)
{
	fx *f = *state;
	char path[800];

	clock_set(f, T0_TEXT);
	program_add(f, "62002", "NUM3", "5/month", "UTC");
	file_with(f, "disc.csv", "+15562000201,2026-03-10T00:00:00Z\n", path,
		  sizeof(path));
	CLI(f, "deactivate-list", path, "--reason", "disconnect");
	EXPECT(f, 0, "read=1 matched=0 voided=0 rejected=0\n");

	file_with(f, "old.csv",
		  "number,program,opted_in_at,source\n"
		  "+15562000201,62002:NUM3,2026-03-09T00:00:00Z,old list\n"
		  "+15562000201,62002:NUM3,2026-03-11T00:00:00Z,new list\n",
		  path, sizeof(path));
	CLI(f, "import", path);
	EXPECT_IMPORT(f, 1, 1, 0, 1,
		      "line 2: opted in before the number was deactivated "
		      "(NUM-3)\n");
	CLI(f, "status", "+15562000201", "62002:NUM3");
	EXPECT(f, 0,
	       "+15562000201 62002:NUM3 OPTED_IN channel=import "
	       "changed_at=2026-03-11T00:00:00Z used=0 limit=5 "
	       "source=new list\n");
	CLI(f, "check", "+15562000201", "62002:NUM3");
	EXPECT(f, 0, "ALLOW\n");
}

/* ---- the audit trail ------------------------------------------------------------------- */

/* AUD-1, AUD-2: every change of the number, whatever made it, oldest
 * first, with who asked. */
static void test_srv_bulk_cli_aud_2_audit(void **state)
{
	fx *f = *state;
	char path[800], list[800], *rest;

	clock_set(f, T0_TEXT);
	program_add(f, "63001", "AUD", "5/month", "UTC");
	CLI(f, "audit", "+15563000001");
	EXPECT(f, 0,
	       "seq,time,number,program,old_state,new_state,channel,"
	       "voided_by,cause,changed_at,actor,source\n");
	CLI(f, "optin", "+15563000001", "63001:AUD", "--channel", "web",
	    "--source", "form, 7");
	EXPECT(f, 0, "OPTED_IN\n");
	clock_set(f, "2026-03-15T13:00:00Z");
	CLI(f, "optout", "+15563000001", "63001:AUD", "--source", "STOP");
	EXPECT(f, 0, "OPTED_OUT 1\n");
	clock_set(f, "2026-03-15T14:00:00Z");
	file_with(f, "aud.csv",
		  "number,program,channel,opted_in_at,source\n"
		  "+15563000001,63001:AUD,ivr,2026-03-15T13:30:00Z,list-9\n",
		  path, sizeof(path));
	CLI(f, "import", path);
	EXPECT_IMPORT(f, 0, 1, 0, 0, "");
	file_with(f, "ports-9.csv", "+15563000001\n", list, sizeof(list));
	CLI(f, "deactivate-list", list, "--reason", "port");
	EXPECT(f, 0, "read=1 matched=1 voided=1 rejected=0\n");

	CLI(f, "audit", "+15563000001");
	rest = drop_first_field(f, __LINE__);
	expect_text(f, rest,
		    "time,number,program,old_state,new_state,channel,"
		    "voided_by,cause,changed_at,actor,source\n"
		    "2026-03-15T12:00:00Z,+15563000001,63001:AUD,NONE,"
		    "OPTED_IN,web,,,2026-03-15T12:00:00Z,operator,"
		    "\"form, 7\"\n"
		    "2026-03-15T13:00:00Z,+15563000001,63001:AUD,OPTED_IN,"
		    "OPTED_OUT,api,,,2026-03-15T13:00:00Z,operator,STOP\n"
		    "2026-03-15T14:00:00Z,+15563000001,63001:AUD,OPTED_OUT,"
		    "OPTED_IN,ivr,,,2026-03-15T13:30:00Z,operator,list-9\n"
		    "2026-03-15T14:00:00Z,+15563000001,63001:AUD,OPTED_IN,"
		    "VOIDED,carrier,port,,2026-03-15T14:00:00Z,operator,"
		    "ports-9.csv\n",
		    __LINE__);
	free(rest);
	CLI(f, "audit", "+1556300000z");
	EXPECT_ERROR(f, "bad number '+1556300000z'");
}

/* AUD-3: the export is import's format; it goes back in unchanged, and
 * into another program it makes the same list. */
static void test_srv_bulk_cli_aud_3_export_round_trip(void **state)
{
	static const char want[] =
		"number,program,channel,opted_in_at,source\n"
		"+15564000001,64001:EXA,ivr,2026-03-02T00:00:00Z,\" padded \"\n"
		"+15564000002,64001:EXA,import," T0_TEXT ",\n"
		"+15564000003,64001:EXA,web,2026-03-01T10:00:00.250Z,"
		"\"form, \"\"7\"\"\"\n"
		"+15564000004,64001:EXA,mo,2026-03-03T00:00:00Z,\"line 1\n"
		"line 2\"\n";
	fx *f = *state;
	char path[800], out[800], tmp[820], *text, *p;

	clock_set(f, T0_TEXT);
	program_add(f, "64001", "EXA", "5/month", "UTC");
	program_add(f, "64001", "EXB", "5/month", "UTC");
	file_with(f, "exa.csv",
		  "source,number,channel,opted_in_at,program\n"
		  "\"form, \"\"7\"\"\",+15564000003,web,"
		  "2026-03-01T10:00:00.250Z,64001:EXA\n"
		  "\" padded \",+15564000001,ivr,2026-03-02T00:00:00Z,"
		  "64001:exa\n"
		  ",+15564000002,,,64001:EXA\n"
		  "\"line 1\nline 2\",+15564000004,mo,2026-03-03T00:00:00Z,"
		  "64001:EXA\n",
		  path, sizeof(path));
	CLI(f, "import", path);
	EXPECT_IMPORT(f, 0, 4, 0, 0, "");
	CLI(f, "export", "64001:exa");
	EXPECT(f, 0, want);

	/* to a file: written whole, no .tmp left */
	file_at(f, "exa-out.csv", out, sizeof(out));
	CLI(f, "export", "64001:EXA", "--out", out);
	EXPECT(f, 0, "");
	text = su_read_file(out, NULL);
	assert_non_null(text);
	expect_text(f, text, want, __LINE__);
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	assert_false(exists(tmp));

	/* back in: nothing changes */
	CLI(f, "import", out);
	EXPECT_IMPORT(f, 0, 0, 4, 0, "");
	/* into EXB: the same list */
	while ((p = strstr(text, "64001:EXA")) != NULL)
		p[8] = 'B';
	write_file(out, text);
	CLI(f, "import", out);
	EXPECT_IMPORT(f, 0, 4, 0, 0, "");
	CLI(f, "export", "64001:EXB");
	EXPECT(f, 0, text);
	free(text);

	CLI(f, "export", "64001:NONE");
	EXPECT_ERROR(f, "unknown program 64001:NONE");
	CLI(f, "export", "64001");
	EXPECT_ERROR(f, "expected SHORTCODE:KEYWORD");
}

/* AUD-4: one subscription's state at any time, and the day's summary. */
static void test_srv_bulk_cli_aud_4_status_and_summary(void **state)
{
	static const char header[] =
		"program,opted_in,opted_out,pending,voided,day_optins,"
		"day_optouts,day_other\n";
	fx *f = *state;

	clock_set(f, T0_TEXT);
	program_add(f, "65001", "SUM", "5/month", "UTC");
	CLI(f, "optin", "+15565000001", "65001:SUM", "--channel", "web",
	    "--source", "form\n7");
	EXPECT(f, 0, "OPTED_IN\n");
	CLI(f, "check", "+15565000001", "65001:SUM");
	EXPECT(f, 0, "ALLOW\n");
	CLI(f, "optin", "+15565000002", "65001:SUM");
	EXPECT(f, 0, "OPTED_IN\n");
	CLI(f, "optout", "+15565000002", "65001:SUM");
	EXPECT(f, 0, "OPTED_OUT 1\n");
	CLI(f, "optin", "+15565000003", "65001:SUM");
	EXPECT(f, 0, "OPTED_IN\n");
	CLI(f, "deactivate", "+15565000003", "--reason", "disconnect");
	EXPECT(f, 0, "DEACTIVATED 1\n");

	CLI(f, "status", "+15565000001", "65001:sum");
	EXPECT(f, 0,
	       "+15565000001 65001:SUM OPTED_IN channel=web changed_at=" T0_TEXT
	       " used=1 limit=5 source=form\\n7\n");
	CLI(f, "status", "+15565000002", "65001:SUM");
	EXPECT(f, 0,
	       "+15565000002 65001:SUM OPTED_OUT channel=api "
	       "changed_at=" T0_TEXT " used=0 limit=5 source=\n");
	CLI(f, "status", "5565000003", "65001:SUM");
	EXPECT(f, 0,
	       "+15565000003 65001:SUM VOIDED channel=carrier "
	       "changed_at=" T0_TEXT " used=0 limit=5 source=\n");
	CLI(f, "status", "+15565000004", "65001:SUM");
	EXPECT(f, 0,
	       "+15565000004 65001:SUM NONE channel=- changed_at=- used=0 "
	       "limit=0 source=\n");
	CLI(f, "status", "+15565000004", "65001:NOPE");
	EXPECT_ERROR(f, "unknown program 65001:NOPE");

	CLI(f, "summary");
	if (f->status != 0 || f->err[0] != '\0' ||
	    strncmp(f->out, header, strlen(header)) != 0 ||
	    strstr(f->out, "\n65001:SUM,1,1,0,1,3,2,0\n") == NULL)
		run_failed(f, __LINE__, "wanted 65001:SUM,1,1,0,1,3,2,0");
	/* The day before: the counts as that day ended, before any of it. */
	CLI(f, "summary", "--date", "2026-03-14");
	if (f->status != 0 ||
	    strstr(f->out, "\n65001:SUM,0,0,0,0,0,0,0\n") == NULL)
		run_failed(f, __LINE__, "wanted nothing on 2026-03-14");
	CLI(f, "summary", "--date", "2026-03-15");
	if (f->status != 0 ||
	    strstr(f->out, "\n65001:SUM,1,1,0,1,3,2,0\n") == NULL)
		run_failed(f, __LINE__, "wanted the changes of 2026-03-15");
	CLI(f, "summary", "--date", "15/03/2026");
	EXPECT_ERROR(f, "bad --date '15/03/2026': expected YYYY-MM-DD");
}

/* The lines of out that start with a position, counted. */
static int feed_records(const char *out)
{
	int n = 0;

	for (const char *p = out; *p != '\0'; p = strchr(p, '\n') + 1) {
		n += isdigit((unsigned char)*p) != 0;
		if (strchr(p, '\n') == NULL)
			break;
	}
	return n;
}

/* AUD-5: the tenant's feed, in order, read from where it stands;
 * acknowledged pages are not offered again. */
static void test_srv_bulk_cli_aud_5_feed(void **state)
{
	static const char header[] =
		"position,time,number,program,old_state,new_state,channel,"
		"voided_by,cause,changed_at,actor,source\n";
	fx *f = *state;
	char key[MTGATE_PROTO_KEY_MAX + 1], path[800], want[2048], first[32];
	mtgate_c_import_row row = {.number = 15566000009ULL,
				   .channel = MTGATE_CHANNEL_API,
				   .source = "lib",
				   .source_len = 3};
	unsigned id;
	char *rest;
	int64_t started;

	clock_set(f, T0_TEXT);
	id = tenant_add(f, "Feed Co", key);
	tenant_program_add(f, key, "66001", "FEED");
	CLI_KEY(f, key, "feed");
	EXPECT(f, 0, header);
	file_with(f, "feed.csv",
		  "number,program,source\n"
		  "+15566000001,66001:FEED,a\n"
		  "+15566000002,66001:FEED,b\n"
		  "+15566000003,66001:FEED,c\n",
		  path, sizeof(path));
	CLI_KEY(f, key, "import", path);
	EXPECT_IMPORT(f, 0, 3, 0, 0, "");

	/* one frame's rows are durable together, in any order of
	 * positions: each once */
	CLI_KEY(f, key, "feed");
	rest = drop_first_field(f, __LINE__);
	for (char c = 'a'; c <= 'c'; c++) {
		snprintf(want, sizeof(want),
			 "\n" T0_TEXT ",+1556600000%d,66001:FEED,NONE,OPTED_IN,"
			 "import,,," T0_TEXT ",tenant:%u,%c\n",
			 c - 'a' + 1, id, c);
		if (strstr(rest, want) == NULL)
			run_failed(f, __LINE__, want);
	}
	if (feed_records(f->out) != 3)
		run_failed(f, __LINE__, "wanted three records");
	free(rest);
	snprintf(first, sizeof(first), "%.*s",
		 (int)strcspn(f->out + strlen(header), ","),
		 f->out + strlen(header));

	/* acknowledged: nothing new */
	CLI_KEY(f, key, "feed");
	EXPECT(f, 0, header);
	/* --from reads again, --no-ack moves nothing */
	CLI_KEY(f, key, "feed", "--from", first, "--no-ack");
	if (f->status != 0 || feed_records(f->out) != 3)
		run_failed(f, __LINE__, "wanted the three records again");
	CLI_KEY(f, key, "feed");
	EXPECT(f, 0, header);
	/* the operator's feed is its own */
	CLI_KEY(f, key, "feed", "--from", "x");
	EXPECT_ERROR(f, "bad --from 'x'");

	/* --follow: waits for what comes, ends at SIGTERM with exit 0 */
	started = su_mono_ms();
	cli_spawn(
		f, NULL, NULL,
		ARGV("--server", f->s->addr, "--key", key, "feed", "--follow"));
	{
		mtgate_conn *c = su_connect(f->s, key);
		mtgate_c_program p;
		mtgate_wire_bulk_resp resp;
		uint16_t st = 0xffff;
		assert_int_equal(
			mtgate_c_program_get(c, 0, "66001", "FEED", &p), 0);
		row.program = p.def.id;
		mtgate_c_program_free(&p);
		assert_int_equal(mtgate_c_import(c, &row, 1, &st, &resp), 0);
		assert_int_equal(st, 0);
		assert_int_equal(resp.changed, 1);
		mtgate_c_close(c);
	}
	for (;;) {
		char *out = su_read_file(f->out_path, NULL);
		bool seen = out != NULL && strstr(out, ",lib\n") != NULL;
		free(out);
		if (seen)
			break;
		if (su_mono_ms() - started > CLI_RUN_MS / 2)
			fail_msg("feed --follow printed no new record");
		su_nap_ms(20);
	}
	kill(f->child, SIGTERM);
	cli_wait(f, started);
	if (f->status != 0 || feed_records(f->out) != 1 ||
	    strstr(f->out, ",+15566000009,66001:FEED,NONE,OPTED_IN,api,") ==
		    NULL)
		run_failed(f, __LINE__, "wanted one record, exit 0");
	CLI_KEY(f, key, "feed");
	EXPECT(f, 0, header);
}

/* ---- help and usage ------------------------------------------------------------------------ */

static void test_srv_bulk_cli_help_and_usage(void **state)
{
	static const struct {
		const char *cmd, *usage;
	} helps[] = {
		{"import", "usage: mtgate import FILE [--program SC:KW]"},
		{"deactivate-list", "usage: mtgate deactivate-list FILE"},
		{"audit", "usage: mtgate audit NUMBER\n"},
		{"export", "usage: mtgate export SC:KW [--out FILE]\n"},
		{"summary", "usage: mtgate summary [--date YYYY-MM-DD]\n"},
		{"status", "usage: mtgate status NUMBER SC:KW\n"},
		{"feed",
		 "usage: mtgate feed [--from POS] [--follow] [--no-ack]"},
	};
	fx *f = *state;
	char path[800];

	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
		CLI(f, helps[i].cmd, "--help");
		if (f->status != 0 || f->err[0] != '\0' ||
		    strncmp(f->out, helps[i].usage, strlen(helps[i].usage)) !=
			    0)
			run_failed(f, __LINE__, helps[i].usage);
	}
	CLI(f, "--help");
	if (f->status != 0 || strstr(f->out, "\n  import FILE") == NULL ||
	    strstr(f->out, "\n  deactivate-list FILE") == NULL ||
	    strstr(f->out, "\n  audit NUMBER") == NULL ||
	    strstr(f->out, "\n  export SC:KW") == NULL ||
	    strstr(f->out, "\n  summary ") == NULL ||
	    strstr(f->out, "\n  status NUMBER SC:KW") == NULL ||
	    strstr(f->out, "\n  feed ") == NULL)
		run_failed(f, __LINE__, "--help lacks a command");

	CLI(f, "import");
	EXPECT_ERROR(f, "import: missing arguments: expected FILE");
	CLI(f, "import", "/nonexistent/list.csv");
	EXPECT_ERROR(f, "cannot open '/nonexistent/list.csv'");
	CLI(f, "import",
	    file_with(f, "hdr.csv", "number,phone\n1,2\n", path, sizeof(path)));
	EXPECT_ERROR(f, "line 1: unknown column 'phone' in the header");
	CLI(f, "import", file_with(f, "empty.csv", "\n\n", path, sizeof(path)));
	EXPECT_ERROR(f, "has no header line");
	CLI(f, "import", path, "--program", "nokw");
	EXPECT_ERROR(f, "bad program 'nokw'");
	CLI(f, "audit");
	EXPECT_ERROR(f, "audit: missing arguments: expected NUMBER");
	CLI(f, "status", "+15560000001");
	EXPECT_ERROR(f, "status: missing arguments: expected NUMBER SC:KW");
	CLI(f, "summary", "extra");
	EXPECT_ERROR(f, "unexpected argument 'extra'");
	CLI(f, "feed", "--frm", "1");
	EXPECT_ERROR(f, "unknown option '--frm'");
	CLI(f, "export", "1:X", "--out", "");
	EXPECT_ERROR(f, "--out is empty");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(
			test_srv_bulk_cli_import_every_bad_line, test_teardown),
		cmocka_unit_test_teardown(
			test_srv_bulk_cli_optin_3_import_again_changes_nothing,
			test_teardown),
		cmocka_unit_test_teardown(test_srv_bulk_cli_import_max_errors,
					  test_teardown),
		cmocka_unit_test_teardown(
			test_srv_bulk_cli_import_program_option, test_teardown),
		cmocka_unit_test_teardown(test_srv_bulk_cli_import_many_frames,
					  test_teardown),
		cmocka_unit_test_teardown(
			test_srv_bulk_cli_num_4_deactivate_list, test_teardown),
		cmocka_unit_test_teardown(
			test_srv_bulk_cli_ten_1_deactivate_list_operator_only,
			test_teardown),
		cmocka_unit_test_teardown(
			test_srv_bulk_cli_num_3_import_after_list,
			test_teardown),
		cmocka_unit_test_teardown(test_srv_bulk_cli_aud_2_audit,
					  test_teardown),
		cmocka_unit_test_teardown(
			test_srv_bulk_cli_aud_3_export_round_trip,
			test_teardown),
		cmocka_unit_test_teardown(
			test_srv_bulk_cli_aud_4_status_and_summary,
			test_teardown),
		cmocka_unit_test_teardown(test_srv_bulk_cli_aud_5_feed,
					  test_teardown),
		cmocka_unit_test_teardown(test_srv_bulk_cli_help_and_usage,
					  test_teardown),
	};

	return cmocka_run_group_tests_name("srv_bulk_cli", tests, group_setup,
					   group_teardown);
}

/*
 * Checks the import file's line rules without a server (tools/cli/
 * import_row.c, csvread.c): every class of bad line gets its reason and
 * its physical line number, and never stops the good lines after it.
 *
 *   - import_row: a good line in every shape (columns in any order, names
 *     in any case, national numbers, defaults for empty cells, the
 *     default program); each bad class alone: wrong column count, invalid
 *     UTF-8 or a NUL, bad number, bad or unknown program (a stub resolver
 *     stands for PROGRAM_GET, and is asked once per program), a program
 *     other than --program, bad channel, bad date, source too long; a
 *     resolver failure ends the import. The header: unknown, repeated and
 *     missing columns.
 *   - csvread: line numbers across blank lines, CRLF and quoted line
 *     breaks; broken quoting (libcsv's strict errors, a quote never
 *     closed at the end or past CSVR_RECORD_MAX bytes) reported at the
 *     record's first line with the lines after it read again; lines
 *     longer than CSVR_RECORD_MAX skipped; the same records whatever the
 *     pieces the bytes come in; a byte order mark; a callback that stops.
 *   - a whole file through both: every class on its own line, the good
 *     lines all there.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/csvread.h"
#include "cli/import_row.h"

/* ---- a stub PROGRAM_GET ------------------------------------------------------- */

/* 12345:JOES is 1, 12345:VIP 2, 999:FAIL fails the call, others unknown. */
typedef struct stub {
	int calls;
} stub;

static int stub_resolve(void *ctx, const char *sc, const char *kw, uint32_t *id)
{
	stub *st = ctx;

	st->calls++;
	if (strcmp(sc, "999") == 0 && strcmp(kw, "FAIL") == 0)
		return MTGATE_EDISCONNECTED;
	if (strcmp(sc, "12345") == 0 && strcmp(kw, "JOES") == 0)
		*id = 1;
	else if (strcmp(sc, "12345") == 0 && strcmp(kw, "VIP") == 0)
		*id = 2;
	else
		return MTGATE_ENOPROGRAM;
	return 0;
}

/* ---- fields from text ------------------------------------------------------------- */

/* A line of up to 8 fields, built field by field (fields()). */
typedef struct tline {
	csvr_field f[8];
	size_t n;
	char buf[1024];
} tline;

static tline *fields(tline *l, size_t n, ...)
{
	va_list ap;
	size_t used = 0;

	va_start(ap, n);
	l->n = n;
	for (size_t i = 0; i < n; i++) {
		const char *s = va_arg(ap, const char *);
		size_t len = strlen(s);
		assert_true(used + len + 1 <= sizeof(l->buf));
		memcpy(l->buf + used, s, len + 1);
		l->f[i] = (csvr_field){l->buf + used, len};
		used += len + 1;
	}
	va_end(ap);
	return l;
}

/* ir with the standard header, no default program. */
static void rows_std(import_rows *ir, stub *st, uint32_t program,
		     const char *label)
{
	tline h;
	char why[IMPORT_WHY_MAX];

	import_rows_init(ir, program, label, stub_resolve, st);
	fields(&h, 5, "number", "program", "channel", "opted_in_at", "source");
	assert_int_equal(import_header(ir, h.f, h.n, why), 0);
}

/* Expect a bad line whose reason is exactly want. */
static void expect_bad(import_rows *ir, const tline *l, const char *want)
{
	char why[IMPORT_WHY_MAX] = "";
	mtgate_c_import_row row;
	int rc = import_row(ir, l->f, l->n, &row, why);

	if (rc != IMPORT_ROW_BAD || strcmp(why, want) != 0)
		fail_msg("wanted bad line '%s', got rc %d '%s'", want, rc, why);
}

static mtgate_c_import_row expect_good(import_rows *ir, const tline *l)
{
	char why[IMPORT_WHY_MAX] = "";
	mtgate_c_import_row row;
	int rc = import_row(ir, l->f, l->n, &row, why);

	if (rc != IMPORT_ROW_OK)
		fail_msg("wanted a good line, got rc %d '%s'", rc, why);
	return row;
}

/* ---- good lines ------------------------------------------------------------------- */

static void test_import_row_good_lines(void **state)
{
	import_rows *ir = calloc(1, sizeof(*ir));
	stub st = {0};
	mtgate_c_import_row r;
	tline l;

	(void)state;
	rows_std(ir, &st, 0, NULL);
	r = expect_good(ir,
			fields(&l, 5, "+1 555-123-4567", "12345:JOES", "web",
			       "2026-03-01T10:00:00.250Z", "form-7"));
	assert_int_equal(r.number, 15551234567ULL);
	assert_int_equal(r.program, 1);
	assert_int_equal(r.channel, MTGATE_CHANNEL_WEB);
	assert_int_equal(r.at_ms, 1772359200250LL);
	assert_int_equal(r.source_len, 6);
	assert_memory_equal(r.source, "form-7", 6);

	/* 10 digits are national (+1); keywords in any case; empty cells:
	 * channel import, now, no source. */
	r = expect_good(ir,
			fields(&l, 5, "5551234568", "12345:vip", "", "", ""));
	assert_int_equal(r.number, 15551234568ULL);
	assert_int_equal(r.program, 2);
	assert_int_equal(r.channel, MTGATE_CHANNEL_IMPORT);
	assert_int_equal(r.at_ms, 0);
	assert_int_equal(r.source_len, 0);

	/* every channel IMPORT takes, by cli_channel_name's words */
	const char *names[] = {"mo",  "web",  "ivr", "pos", "import",
			       "api", "ussd", "wap", "mms"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		r = expect_good(ir, fields(&l, 5, "+15550000001", "12345:JOES",
					   names[i], "", ""));
		assert_string_equal(cli_channel_name(r.channel), names[i]);
	}

	/* a source of exactly 255 bytes, UTF-8 */
	char src[MTGATE_SOURCE_MAX + 1];
	memset(src, 'x', sizeof(src) - 1);
	memcpy(src, "\xc3\xa9", 2);
	src[MTGATE_SOURCE_MAX] = '\0';
	r = expect_good(
		ir, fields(&l, 5, "+15550000001", "12345:JOES", "", "", src));
	assert_int_equal(r.source_len, MTGATE_SOURCE_MAX);

	/* PROGRAM_GET once per program, known or not */
	assert_int_equal(st.calls, 2);
	expect_bad(ir, fields(&l, 5, "+15550000001", "1:NOPE", "", "", ""),
		   "unknown program '1:NOPE'");
	expect_bad(ir, fields(&l, 5, "+15550000001", "1:nope", "", "", ""),
		   "unknown program '1:nope'");
	assert_int_equal(st.calls, 3);
	free(ir);
}

static void test_import_row_header_any_order_default_program(void **state)
{
	import_rows *ir = calloc(1, sizeof(*ir));
	char why[IMPORT_WHY_MAX];
	stub st = {0};
	mtgate_c_import_row r;
	tline h, l;

	(void)state;
	/* no program column: --program's; names in any case and order */
	import_rows_init(ir, 1, "12345:JOES", stub_resolve, &st);
	fields(&h, 3, "Source", "NUMBER", "opted_in_at");
	assert_int_equal(import_header(ir, h.f, h.n, why), 0);
	r = expect_good(ir, fields(&l, 3, "ref", "+15550000001",
				   "2026-03-01T00:00:00+02:00"));
	assert_int_equal(r.program, 1);
	assert_int_equal(r.channel, MTGATE_CHANNEL_IMPORT);
	assert_int_equal(r.at_ms, 1772316000000LL);
	assert_int_equal(st.calls, 0);

	/* with --program and a program column: empty is --program's, the
	 * same program is fine, another one is a bad line */
	rows_std(ir, &st, 1, "12345:JOES");
	r = expect_good(ir, fields(&l, 5, "+15550000001", "", "", "", ""));
	assert_int_equal(r.program, 1);
	r = expect_good(
		ir, fields(&l, 5, "+15550000001", "12345:joes", "", "", ""));
	assert_int_equal(r.program, 1);
	expect_bad(ir, fields(&l, 5, "+15550000001", "12345:VIP", "", "", ""),
		   "program '12345:VIP' is not --program 12345:JOES");
	free(ir);
}

/* ---- the header ------------------------------------------------------------------ */

static void expect_header_bad(uint32_t program, const tline *h,
			      const char *want)
{
	import_rows *ir = calloc(1, sizeof(*ir));
	char why[IMPORT_WHY_MAX] = "";
	stub st = {0};

	import_rows_init(ir, program, "12345:JOES", stub_resolve, &st);
	assert_int_equal(import_header(ir, h->f, h->n, why), -1);
	assert_string_equal(why, want);
	free(ir);
}

static void test_import_row_header_errors(void **state)
{
	tline h;

	(void)state;
	expect_header_bad(0, fields(&h, 3, "number", "program", "phone"),
			  "unknown column 'phone' in the header (expected "
			  "number, program, channel, opted_in_at, source)");
	expect_header_bad(0, fields(&h, 3, "number", "program", "Number"),
			  "column 'number' is named twice in the header");
	expect_header_bad(0, fields(&h, 2, "program", "source"),
			  "the header has no column number");
	expect_header_bad(0, fields(&h, 2, "number", "source"),
			  "the header has no column program (or give "
			  "--program SC:KW)");
	expect_header_bad(1, fields(&h, 2, "number", ""),
			  "unknown column '' in the header (expected number, "
			  "program, channel, opted_in_at, source)");
}

/* ---- each bad class ------------------------------------------------------------------ */

static void test_import_row_wrong_column_count(void **state)
{
	import_rows *ir = calloc(1, sizeof(*ir));
	stub st = {0};
	tline l;

	(void)state;
	rows_std(ir, &st, 0, NULL);
	expect_bad(ir, fields(&l, 4, "+15550000001", "12345:JOES", "web", ""),
		   "wrong column count: 4 fields, the header has 5");
	expect_bad(ir,
		   fields(&l, 6, "+15550000001", "12345:JOES", "", "", "", ""),
		   "wrong column count: 6 fields, the header has 5");
	expect_bad(ir, fields(&l, 1, ""),
		   "wrong column count: 1 fields, the header has 5");
	free(ir);
}

static void test_import_row_invalid_utf8(void **state)
{
	import_rows *ir = calloc(1, sizeof(*ir));
	static const char *const bad[] = {
		"\xff",         /* never in UTF-8 */
		"a\x80",        /* a lone continuation byte */
		"\xc3",         /* cut short */
		"\xc0\xaf",     /* overlong '/' */
		"\xed\xa0\x80", /* a surrogate */
	};
	stub st = {0};
	tline l;

	(void)state;
	rows_std(ir, &st, 0, NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_bad(ir,
			   fields(&l, 5, "+15550000001", "12345:JOES", "", "",
				  bad[i]),
			   "invalid UTF-8 or a NUL byte in column source");
		expect_bad(ir, fields(&l, 5, bad[i], "12345:JOES", "", "", ""),
			   "invalid UTF-8 or a NUL byte in column number");
	}
	/* a NUL inside a field (libcsv passes it through) */
	fields(&l, 5, "+15550000001", "12345:JOES", "", "", "abc");
	l.f[4].len = 4; /* "abc\0" */
	expect_bad(ir, &l, "invalid UTF-8 or a NUL byte in column source");
	free(ir);
}

static void test_import_row_bad_number(void **state)
{
	import_rows *ir = calloc(1, sizeof(*ir));
	stub st = {0};
	tline l;

	(void)state;
	rows_std(ir, &st, 0, NULL);
	expect_bad(ir, fields(&l, 5, "+1555abc", "12345:JOES", "", "", ""),
		   "bad number '+1555abc': number contains a letter or a "
		   "character that is not a digit");
	expect_bad(ir, fields(&l, 5, "", "12345:JOES", "", "", ""),
		   "bad number '': number is empty");
	expect_bad(ir,
		   fields(&l, 5, "+1234567890123456", "12345:JOES", "", "", ""),
		   "bad number '+1234567890123456': number has more than 15 "
		   "digits");
	expect_bad(ir, fields(&l, 5, "+0555", "12345:JOES", "", "", ""),
		   "bad number '+0555': number's country code starts with 0");
	/* a long field is quoted cut, on a character boundary */
	expect_bad(ir,
		   fields(&l, 5,
			  "123456789012345678901234567890123456789\xc3\xa9xyz",
			  "12345:JOES", "", "", ""),
		   "bad number '123456789012345678901234567890123456789...': "
		   "number contains a letter or a character that is not a "
		   "digit");
	assert_int_equal(st.calls, 0); /* the number is checked first */
	free(ir);
}

static void test_import_row_unknown_program(void **state)
{
	import_rows *ir = calloc(1, sizeof(*ir));
	char why[IMPORT_WHY_MAX];
	mtgate_c_import_row r;
	stub st = {0};
	tline l;

	(void)state;
	rows_std(ir, &st, 0, NULL);
	expect_bad(ir, fields(&l, 5, "+15550000001", "777:NOPE", "", "", ""),
		   "unknown program '777:NOPE'");
	expect_bad(ir, fields(&l, 5, "+15550000001", "", "", "", ""),
		   "no program");
	expect_bad(ir, fields(&l, 5, "+15550000001", "JOES", "", "", ""),
		   "bad program 'JOES': expected SHORTCODE:KEYWORD");
	expect_bad(ir, fields(&l, 5, "+15550000001", "12-345:JOES", "", "", ""),
		   "bad program '12-345:JOES': expected SHORTCODE:KEYWORD");
	expect_bad(ir, fields(&l, 5, "+15550000001", "12345:", "", "", ""),
		   "bad program '12345:': expected SHORTCODE:KEYWORD");
	assert_int_equal(st.calls, 1);

	/* a failing lookup ends the import: its code, and it is not
	 * remembered as unknown */
	fields(&l, 5, "+15550000001", "999:FAIL", "", "", "");
	assert_int_equal(import_row(ir, l.f, l.n, &r, why),
			 MTGATE_EDISCONNECTED);
	assert_int_equal(import_row(ir, l.f, l.n, &r, why),
			 MTGATE_EDISCONNECTED);
	assert_int_equal(st.calls, 3);
	free(ir);
}

static void test_import_row_bad_channel(void **state)
{
	import_rows *ir = calloc(1, sizeof(*ir));
	stub st = {0};
	tline l;

	(void)state;
	rows_std(ir, &st, 0, NULL);
	/* not a channel; carrier (deactivations) and none are not
	 * IMPORT's; names are lower case */
	static const char *const bad[] = {"fax", "carrier", "-", "WEB", "sms"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[IMPORT_WHY_MAX];
		snprintf(want, sizeof(want),
			 "bad channel '%s': expected mo, web, ivr, pos, "
			 "import, api, ussd, wap or mms",
			 bad[i]);
		expect_bad(ir,
			   fields(&l, 5, "+15550000001", "12345:JOES", bad[i],
				  "", ""),
			   want);
	}
	free(ir);
}

static void test_import_row_bad_date(void **state)
{
	import_rows *ir = calloc(1, sizeof(*ir));
	static const char *const bad[] = {
		"yesterday",
		"2026-02-30T00:00:00Z", /* no such day */
		"2026-03-01",           /* no time */
		"2026-03-01T00:00:00",  /* no offset */
		"1970-01-01T00:00:00Z", /* 0 would mean now */
		"1969-12-31T23:59:59Z",
	};
	stub st = {0};
	tline l;

	(void)state;
	rows_std(ir, &st, 0, NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[IMPORT_WHY_MAX];
		snprintf(want, sizeof(want),
			 "bad opted_in_at '%s': expected RFC 3339 after "
			 "1970, e.g. 2026-11-23T13:11:44Z",
			 bad[i]);
		expect_bad(ir,
			   fields(&l, 5, "+15550000001", "12345:JOES", "web",
				  bad[i], ""),
			   want);
	}
	free(ir);
}

static void test_import_row_source_too_long(void **state)
{
	import_rows *ir = calloc(1, sizeof(*ir));
	char src[MTGATE_SOURCE_MAX + 2];
	stub st = {0};
	tline l;

	(void)state;
	rows_std(ir, &st, 0, NULL);
	memset(src, 's', sizeof(src) - 1);
	src[sizeof(src) - 1] = '\0';
	expect_bad(ir, fields(&l, 5, "+15550000001", "12345:JOES", "", "", src),
		   "source is longer than 255 bytes (256)");
	free(ir);
}

/* ---- csvread ------------------------------------------------------------------------ */

/* What a stream gave: "L<line>:<field>|<field>..." per record, "B<line>:
 * <why>" per bad line, one per text line. */
typedef struct trace {
	char text[16384];
	size_t used;
	int stop_after; /* stop the stream after this many records; 0 never */
	int records;
} trace;

static int trace_row(void *ctx, uint64_t line, const csvr_field *f, size_t n)
{
	trace *t = ctx;

	t->used +=
		(size_t)snprintf(t->text + t->used, sizeof(t->text) - t->used,
				 "L%llu:", (unsigned long long)line);
	for (size_t i = 0; i < n; i++)
		t->used += (size_t)snprintf(
			t->text + t->used, sizeof(t->text) - t->used, "%s%s",
			i ? "|" : "", i < CSVR_FIELDS_MAX ? f[i].s : "+");
	t->used += (size_t)snprintf(t->text + t->used,
				    sizeof(t->text) - t->used, "\n");
	assert_true(t->used < sizeof(t->text));
	t->records++;
	return t->stop_after > 0 && t->records >= t->stop_after ? 7 : 0;
}

static int trace_bad(void *ctx, uint64_t line, const char *why)
{
	trace *t = ctx;

	t->used +=
		(size_t)snprintf(t->text + t->used, sizeof(t->text) - t->used,
				 "B%llu:%s\n", (unsigned long long)line, why);
	assert_true(t->used < sizeof(t->text));
	return 0;
}

/* Feed text in pieces of `piece` bytes (0: at once); the trace. */
static trace *read_text(const char *text, size_t len, size_t piece,
			int stop_after, int *rc_out)
{
	trace *t = calloc(1, sizeof(*t));
	csvr *r = malloc(sizeof(*r));
	int rc = 0;

	assert_non_null(t);
	assert_non_null(r);
	t->stop_after = stop_after;
	assert_int_equal(csvr_init(r, trace_row, trace_bad, t), 0);
	if (piece == 0)
		piece = len > 0 ? len : 1;
	for (size_t off = 0; off < len && rc == 0; off += piece)
		rc = csvr_feed(r, text + off,
			       len - off < piece ? len - off : piece);
	if (rc == 0)
		rc = csvr_finish(r);
	csvr_free(r);
	free(r);
	if (rc_out != NULL)
		*rc_out = rc;
	return t;
}

/* The trace of text must be want, fed at once and byte by byte. */
static void expect_trace(const char *text, const char *want)
{
	size_t pieces[] = {0, 1, 3, 64};

	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		trace *t = read_text(text, strlen(text), pieces[i], 0, NULL);
		if (strcmp(t->text, want) != 0)
			fail_msg("pieces of %zu: wanted\n%s\ngot\n%s",
				 pieces[i], want, t->text);
		free(t);
	}
}

static void test_csvread_line_numbers(void **state)
{
	(void)state;
	/* blank lines, CRLF, spaces around fields, a quoted line break, no
	 * line end at the end */
	expect_trace("a,b\n"
		     "\n"
		     "  c , d \r\n"
		     "\r\n"
		     "\"e\nf\",\"g,\"\"h\"\"\"\n"
		     "i,,\n"
		     "   \n"
		     "j",
		     "L1:a|b\n"
		     "L3:c|d\n"
		     "L5:e\nf|g,\"h\"\n"
		     "L7:i||\n"
		     "L9:j\n");
	/* a byte order mark is no part of the first field */
	expect_trace("\xEF\xBB\xBFnumber,date\nx\n", "L1:number|date\nL2:x\n");
	/* ... while bytes that only begin like one are data */
	expect_trace("\xEF\xBBnumber\n", "L1:\xEF\xBBnumber\n");
	/* more fields than kept are counted */
	expect_trace("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18\n",
		     "L1:1|2|3|4|5|6|7|8|9|10|11|12|13|14|15|16|+|+\n");
}

static void test_csvread_broken_quoting(void **state)
{
	(void)state;
	/* a quote inside an unquoted field, text after a closing quote:
	 * the line is bad, the next ones are read */
	expect_trace("a,b\"c\n"
		     "d,\"e\"f\n"
		     "g,h\n",
		     "B1:broken quoting\n"
		     "B2:broken quoting\n"
		     "L3:g|h\n");
	/* a quote never closed at the end: bad at its first line, and the
	 * lines it swallowed are read again */
	expect_trace("a,b\n"
		     "c,\"d\n"
		     "e,f\n"
		     "g,h\n",
		     "L1:a|b\n"
		     "B2:broken quoting: a quote is never closed\n"
		     "L3:e|f\n"
		     "L4:g|h\n");
	/* the same without a line end at the very end */
	expect_trace("\"a,b\nc,d", "B1:broken quoting: a quote is never "
				   "closed\nL2:c|d\n");
	/* closed on a later line with text after it: both lines bad */
	expect_trace("x,\"y\n"
		     "z\"w,v\n"
		     "ok,1\n",
		     "B1:broken quoting\n"
		     "B2:broken quoting\n"
		     "L3:ok|1\n");
}

static void test_csvread_bounded(void **state)
{
	size_t big = CSVR_RECORD_MAX + 100, off = 0;
	char *text = malloc(3 * big);
	trace *t;
	int n;

	(void)state;
	assert_non_null(text);
	/* a line longer than CSVR_RECORD_MAX: skipped, reported */
	memcpy(text, "a,b\n", 4);
	off = 4;
	memset(text + off, 'x', big);
	off += big;
	memcpy(text + off, "\nc,d\n", 5);
	off += 5;
	for (size_t piece = 0; piece <= 1000; piece += 1000) {
		t = read_text(text, off, piece, 0, NULL);
		assert_string_equal(t->text, "L1:a|b\n"
					     "B2:line longer than 8192 bytes\n"
					     "L3:c|d\n");
		free(t);
	}
	/* a quote that stays open past CSVR_RECORD_MAX bytes of lines: bad
	 * at its first line, every line after it read again */
	off = 0;
	off += (size_t)sprintf(text + off, "\"open,1\n");
	for (n = 0; off < big; n++)
		off += (size_t)sprintf(text + off, "%d,%d\n", n, n);
	t = read_text(text, off, 0, 0, NULL);
	assert_non_null(strstr(t->text, "B1:broken quoting: a quote is never "
					"closed\nL2:0|0\nL3:1|1\n"));
	assert_int_equal(t->records, n);
	free(t);
	free(text);
}

static void test_csvread_callback_stops(void **state)
{
	int rc = 0;
	trace *t;

	(void)state;
	t = read_text("a\nb\nc\nd\n", 8, 0, 2, &rc);
	assert_int_equal(rc, 7);
	assert_string_equal(t->text, "L1:a\nL2:b\n");
	free(t);
}

/* ---- a whole import file ---------------------------------------------------------- */

typedef struct import_trace {
	import_rows ir;
	stub st;
	bool header;
	char text[4096];
	size_t used;
	int good;
} import_trace;

static int it_row(void *ctx, uint64_t line, const csvr_field *f, size_t n)
{
	import_trace *it = ctx;
	char why[IMPORT_WHY_MAX];
	mtgate_c_import_row row;
	int rc;

	if (!it->header) {
		assert_int_equal(import_header(&it->ir, f, n, why), 0);
		it->header = true;
		return 0;
	}
	rc = import_row(&it->ir, f, n, &row, why);
	assert_true(rc >= 0);
	if (rc == IMPORT_ROW_OK) {
		it->good++;
		return 0;
	}
	it->used += (size_t)snprintf(
		it->text + it->used, sizeof(it->text) - it->used,
		"line %llu: %s\n", (unsigned long long)line, why);
	return 0;
}

static int it_bad(void *ctx, uint64_t line, const char *why)
{
	import_trace *it = ctx;

	it->used += (size_t)snprintf(
		it->text + it->used, sizeof(it->text) - it->used,
		"line %llu: %s\n", (unsigned long long)line, why);
	return 0;
}

static void test_import_file_every_class(void **state)
{
	static const char file[] =
		"number,program,channel,opted_in_at,source\n"
		"+15550000001,12345:JOES,web,2026-03-01T00:00:00Z,form-1\n"
		"+1555abc,12345:JOES,web,,x\n"
		"+15550000003,777:NOPE,web,,x\n"
		"\n"
		"+15550000004,12345:JOES,fax,,x\n"
		"+15550000005,12345:JOES,web,yesterday,x\n"
		"+15550000006,12345:JOES,web\n"
		"+15550000007,12345:JOES,web,,ab\"c\n"
		"+15550000008,12345:JOES,web,,\xff\xfe\n"
		"+15550000009,12345:JOES,web,,"
		"ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
		"ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
		"ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
		"ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
		"ssssssssssssssssss\n"
		"\"+15550000010\",12345:JOES,\"ivr\",,\"call, 7\"\r\n"
		"+15550000011,12345:JOES,web,,\"never closed\n"
		"+15550000012,12345:VIP,,,\n";
	import_trace *it = calloc(1, sizeof(*it));
	csvr *r = malloc(sizeof(*r));

	(void)state;
	assert_non_null(it);
	assert_non_null(r);
	import_rows_init(&it->ir, 0, NULL, stub_resolve, &it->st);
	assert_int_equal(csvr_init(r, it_row, it_bad, it), 0);
	assert_int_equal(csvr_feed(r, file, sizeof(file) - 1), 0);
	assert_int_equal(csvr_finish(r), 0);
	csvr_free(r);
	assert_string_equal(
		it->text,
		"line 3: bad number '+1555abc': number contains a letter or "
		"a character that is not a digit\n"
		"line 4: unknown program '777:NOPE'\n"
		"line 6: bad channel 'fax': expected mo, web, ivr, pos, "
		"import, api, ussd, wap or mms\n"
		"line 7: bad opted_in_at 'yesterday': expected RFC 3339 after "
		"1970, e.g. 2026-11-23T13:11:44Z\n"
		"line 8: wrong column count: 3 fields, the header has 5\n"
		"line 9: broken quoting\n"
		"line 10: invalid UTF-8 or a NUL byte in column source\n"
		"line 11: source is longer than 255 bytes (258)\n"
		"line 13: broken quoting: a quote is never closed\n");
	assert_int_equal(it->good, 3); /* lines 2, 12 and 14 */
	free(r);
	free(it);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import_row_good_lines),
		cmocka_unit_test(
			test_import_row_header_any_order_default_program),
		cmocka_unit_test(test_import_row_header_errors),
		cmocka_unit_test(test_import_row_wrong_column_count),
		cmocka_unit_test(test_import_row_invalid_utf8),
		cmocka_unit_test(test_import_row_bad_number),
		cmocka_unit_test(test_import_row_unknown_program),
		cmocka_unit_test(test_import_row_bad_channel),
		cmocka_unit_test(test_import_row_bad_date),
		cmocka_unit_test(test_import_row_source_too_long),
		cmocka_unit_test(test_csvread_line_numbers),
		cmocka_unit_test(test_csvread_broken_quoting),
		cmocka_unit_test(test_csvread_bounded),
		cmocka_unit_test(test_csvread_callback_stops),
		cmocka_unit_test(test_import_file_every_class),
	};

	return cmocka_run_group_tests_name("import_row", tests, NULL, NULL);
}

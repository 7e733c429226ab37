/*
 * Checks program definitions through the public API, on a real engine over a
 * real RocksDB in a temporary directory: define, get, find (keyword in any
 * case, stored upper case), list, update (limit and keyword; the old keyword
 * is no longer found) and persistence across a reopen; every bad definition
 * and every bad consent change is refused with its exact error code and
 * nothing of it is stored; mtgate_strerror names every error code distinctly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mtgate/engine.h"
#include "testutil.h"

/* ---- fixture -------------------------------------------------------------- */

typedef struct fx {
	char *dir;
	tu_clock clk;
	mtgate_engine *eng;
} fx;

static void fx_open(fx *f)
{
	mtgate_options opts;

	mtgate_options_init(&opts);
	opts.path = f->dir;
	opts.shards = 2;
	opts.clock = tu_clock_now;
	opts.clock_ctx = &f->clk;
	assert_int_equal(mtgate_engine_open(&opts, &f->eng), 0);
}

static void fx_reopen(fx *f)
{
	assert_int_equal(mtgate_engine_close(f->eng), 0);
	f->eng = NULL;
	fx_open(f);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tu_tmpdir("program");
	atomic_init(&f->clk.now_ms, tu_utc(2026, 1, 10, 12, 0, 0));
	fx_open(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	if (f->eng != NULL)
		mtgate_engine_close(f->eng);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------ */

#define NUM_A 15551230001ull

/* A valid recurring definition ("Max 4 msgs/mo"). */
static mtgate_program_def base_def(void)
{
	return (mtgate_program_def){
		.tenant = 7,
		.short_code = "12345",
		.keyword = "Join",
		.name = "Weekly deals",
		.kind = MTGATE_KIND_RECURRING,
		.limit = 4,
		.period = MTGATE_PERIOD_MONTH,
		.tz = "America/New_York",
		.double_opt_in = false,
		.welcome_text =
			"Deals: Max 4 msgs/mo. Msg&Data rates may apply. "
			"Reply HELP for help, STOP to cancel.",
		.help_text = "Deals: help at example.com or 1-800-555-0100. "
			     "Max 4 msgs/mo.",
		.quit_text = "You are unsubscribed from Deals.",
		.confirm_text = "Reply YES to join Deals.",
	};
}

static uint32_t define_ok(fx *f, const mtgate_program_def *d)
{
	uint32_t id = 0;

	assert_int_equal(mtgate_program_define(f->eng, d, &id), 0);
	assert_true(id != 0);
	return id;
}

static size_t list_count(fx *f)
{
	size_t n = 0;

	assert_int_equal(mtgate_program_list(f->eng, NULL, 0, &n), 0);
	return n;
}

static int find(fx *f, const char *sc, const char *kw, uint32_t *id)
{
	return mtgate_program_find(f->eng, sc, kw, id);
}

static void expect_found(fx *f, const char *sc, const char *kw, uint32_t want)
{
	uint32_t id = 0;

	assert_int_equal(find(f, sc, kw, &id), 0);
	assert_int_equal(id, want);
}

static void expect_str(const char *got, const char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
}

/* NULL texts are stored as empty ones. */
static void expect_text(const char *got, const char *want)
{
	if (want == NULL)
		assert_true(got == NULL || got[0] == '\0');
	else
		expect_str(got, want);
}

/* get(id) equals d, with the keyword kw_upper. */
static void expect_def(fx *f, uint32_t id, const mtgate_program_def *d,
		       const char *kw_upper)
{
	mtgate_program_def g;

	memset(&g, 0, sizeof(g));
	assert_int_equal(mtgate_program_get(f->eng, id, &g), 0);
	assert_int_equal(g.id, id);
	assert_int_equal(g.tenant, d->tenant);
	expect_str(g.short_code, d->short_code);
	expect_str(g.keyword, kw_upper);
	expect_str(g.name, d->name);
	assert_int_equal(g.kind, d->kind);
	if (d->kind == MTGATE_KIND_RECURRING)
		assert_int_equal(g.limit, d->limit);
	assert_int_equal(g.period, d->period);
	if (d->tz != NULL && d->tz[0] != '\0')
		expect_str(g.tz, d->tz);
	assert_int_equal(g.double_opt_in, d->double_opt_in);
	expect_text(g.welcome_text, d->welcome_text);
	expect_text(g.help_text, d->help_text);
	expect_text(g.quit_text, d->quit_text);
	expect_text(g.confirm_text, d->confirm_text);
}

/* A definition refused with want: nothing stored, nothing findable. */
static void expect_define_refused(fx *f, const mtgate_program_def *d, int want)
{
	size_t before = list_count(f);
	uint32_t id = 0xdeadbeef, found = 0;
	int rc;

	assert_int_equal(mtgate_program_define(f->eng, d, &id), want);
	assert_int_equal(id, 0xdeadbeef);
	assert_int_equal(list_count(f), before);
	rc = find(f, d->short_code, d->keyword, &found);
	if (want == MTGATE_ESHORTCODE || want == MTGATE_EKEYWORD)
		assert_true(rc != 0);
	else
		assert_int_equal(rc, MTGATE_ENOPROGRAM);
}

/* A string of n copies of c, heap allocated. */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* ---- define, get, find, list ---------------------------------------------------- */

static void test_program_define_and_get(void **state)
{
	fx *f = *state;
	mtgate_program_def d = base_def(), o = base_def();
	uint32_t id, id2;

	id = define_ok(f, &d);
	expect_def(f, id, &d, "JOIN");

	o.keyword = "info";
	o.name = "Info line";
	o.kind = MTGATE_KIND_ONE_OFF;
	o.limit = 0;
	o.period = MTGATE_PERIOD_NONE;
	o.tz = NULL;
	o.double_opt_in = true;
	o.help_text = NULL;
	o.confirm_text = NULL;
	id2 = define_ok(f, &o);
	assert_true(id2 != id);
	expect_def(f, id2, &o, "INFO");
	assert_int_equal(mtgate_program_get(f->eng, id2 + 1, &o),
			 MTGATE_ENOPROGRAM);
	assert_int_equal(mtgate_program_get(f->eng, 0, &o), MTGATE_ENOPROGRAM);
}

static void test_program_find_keyword_any_case(void **state)
{
	fx *f = *state;
	mtgate_program_def d = base_def();
	uint32_t id = define_ok(f, &d), got = 0;

	expect_found(f, "12345", "JOIN", id);
	expect_found(f, "12345", "join", id);
	expect_found(f, "12345", "jOiN", id);
	assert_int_equal(find(f, "12345", "JOINX", &got), MTGATE_ENOPROGRAM);
	assert_int_equal(find(f, "54321", "JOIN", &got), MTGATE_ENOPROGRAM);
}

static void test_program_list_ascending(void **state)
{
	fx *f = *state;
	const char *kws[] = {"ONE", "TWO", "THREE"};
	uint32_t want[3], ids[8] = {0};
	size_t n = 0;

	for (int i = 0; i < 3; i++) {
		mtgate_program_def d = base_def();
		d.keyword = kws[i];
		want[i] = define_ok(f, &d);
	}
	assert_true(want[0] < want[1] && want[1] < want[2]);
	assert_int_equal(mtgate_program_list(f->eng, ids, 8, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(ids, want, sizeof(want));
	/* A short array gets the first ids and the total. */
	memset(ids, 0, sizeof(ids));
	assert_int_equal(mtgate_program_list(f->eng, ids, 2, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], want[0]);
	assert_int_equal(ids[1], want[1]);
	assert_int_equal(ids[2], 0);
}

/* base_def of program id with limit 10 and keyword "deals". */
static mtgate_program_def updated_def(uint32_t id)
{
	mtgate_program_def d = base_def();

	d.id = id;
	d.limit = 10;
	d.keyword = "deals";
	d.welcome_text = "Deals: Max 10 msgs/mo. Msg&Data rates may apply. "
			 "Reply HELP for help, STOP to cancel.";
	return d;
}

static void test_program_update_limit_and_keyword(void **state)
{
	fx *f = *state;
	mtgate_program_def d = base_def();
	uint32_t id = define_ok(f, &d), got = 0;
	int64_t t = atomic_load(&f->clk.now_ms);
	mtgate_reason r;

	d = updated_def(id);
	assert_int_equal(mtgate_program_update(f->eng, &d), 0);
	expect_def(f, id, &d, "DEALS");
	expect_found(f, "12345", "Deals", id);
	assert_int_equal(find(f, "12345", "JOIN", &got), MTGATE_ENOPROGRAM);
	assert_int_equal(list_count(f), 1);

	/* The gate uses the new limit. */
	assert_int_equal(
		mtgate_optin(f->eng, NUM_A, id, MTGATE_CHANNEL_WEB, "form", 0),
		0);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(mtgate_gate(f->eng, NUM_A, id,
					     MTGATE_MODE_COUNT, t, &r),
				 0);
		assert_int_equal(r, MTGATE_ALLOW);
	}
	assert_int_equal(
		mtgate_gate(f->eng, NUM_A, id, MTGATE_MODE_COUNT, t, &r), 0);
	assert_int_equal(r, MTGATE_DENY_MSG_LIMIT_EXCEEDED);

	/* The old keyword is free for a new program. */
	d = base_def();
	assert_true(define_ok(f, &d) != id);
	assert_int_equal(list_count(f), 2);

	fx_reopen(f);
	d = updated_def(id);
	expect_def(f, id, &d, "DEALS");
	expect_found(f, "12345", "DEALS", id);
	assert_true(find(f, "12345", "JOIN", &got) == 0 && got != id);
}

static void test_program_persist_across_reopen(void **state)
{
	fx *f = *state;
	mtgate_program_def a = base_def(), b = base_def(), c = base_def();
	uint32_t ia, ib, ic, id_new, ids[4];
	size_t n = 0;

	b.short_code = "777";
	b.keyword = "Info";
	b.kind = MTGATE_KIND_ONE_OFF;
	b.period = MTGATE_PERIOD_NONE;
	b.tz = NULL;
	c.keyword = "vip";
	c.tenant = 9;
	c.period = MTGATE_PERIOD_DAY;
	c.limit = MTGATE_LIMIT_MAX;
	c.tz = "+05:30";
	c.double_opt_in = true;
	ia = define_ok(f, &a);
	ib = define_ok(f, &b);
	ic = define_ok(f, &c);

	fx_reopen(f);
	expect_def(f, ia, &a, "JOIN");
	expect_def(f, ib, &b, "INFO");
	expect_def(f, ic, &c, "VIP");
	expect_found(f, "12345", "join", ia);
	expect_found(f, "777", "INFO", ib);
	expect_found(f, "12345", "Vip", ic);
	assert_int_equal(mtgate_program_list(f->eng, ids, 4, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], ia);
	assert_int_equal(ids[1], ib);
	assert_int_equal(ids[2], ic);
	/* Duplicates are still refused and ids are not reused. */
	assert_int_equal(mtgate_program_define(f->eng, &c, &id_new),
			 MTGATE_EPROGRAM_DUP);
	c.keyword = "vip2";
	id_new = define_ok(f, &c);
	assert_true(id_new > ic);
	assert_int_equal(list_count(f), 4);
}

/* ---- refused definitions --------------------------------------------------------- */

static void test_program_duplicate_refused(void **state)
{
	fx *f = *state;
	mtgate_program_def d = base_def();
	uint32_t id = define_ok(f, &d), other;
	size_t before;

	before = list_count(f);
	d.keyword = "JOIN";
	assert_int_equal(mtgate_program_define(f->eng, &d, &other),
			 MTGATE_EPROGRAM_DUP);
	d.keyword = "join";
	d.name = "Another name";
	d.limit = 9;
	assert_int_equal(mtgate_program_define(f->eng, &d, &other),
			 MTGATE_EPROGRAM_DUP);
	assert_int_equal(list_count(f), before);
	expect_found(f, "12345", "JOIN", id);
	d = base_def();
	expect_def(f, id, &d, "JOIN"); /* the first one is untouched */
	/* The same keyword on another short code is another program. */
	d.short_code = "54321";
	assert_true(define_ok(f, &d) != id);
}

static void test_program_bad_definitions_refused(void **state)
{
	fx *f = *state;
	char *text_long = repeat('a', MTGATE_TEXT_MAX + 1);
	char *sc_long = repeat('1', MTGATE_SHORTCODE_MAX + 1);
	char *kw_long = repeat('K', MTGATE_KEYWORD_MAX + 1);
	char *name_long = repeat('n', MTGATE_NAME_MAX + 1);
	char *tz_long = repeat('Z', MTGATE_TZ_MAX + 1);
	mtgate_program_def d;

	define_ok(f, &(mtgate_program_def){.short_code = "999",
					   .keyword = "OTHER",
					   .name = "Other",
					   .kind = MTGATE_KIND_ONE_OFF});
#define REFUSED(field, value, want)                                            \
	do {                                                                   \
		d = base_def();                                                \
		d.field = value;                                               \
		expect_define_refused(f, &d, want);                            \
	} while (0)
	REFUSED(limit, 0, MTGATE_ELIMIT);
	REFUSED(limit, MTGATE_LIMIT_MAX + 1, MTGATE_ELIMIT);
	REFUSED(period, MTGATE_PERIOD_NONE, MTGATE_EPERIOD);
	REFUSED(period, (mtgate_period)7, MTGATE_EPERIOD);
	REFUSED(kind, (mtgate_kind)9, MTGATE_EKIND);
	REFUSED(kind, (mtgate_kind)0, MTGATE_EKIND);
	REFUSED(tz, "Mars/Olympus", MTGATE_ETZ);
	REFUSED(tz, tz_long, MTGATE_ETZ);
	REFUSED(welcome_text, text_long, MTGATE_ETEXT_LONG);
	REFUSED(help_text, text_long, MTGATE_ETEXT_LONG);
	REFUSED(quit_text, text_long, MTGATE_ETEXT_LONG);
	REFUSED(confirm_text, text_long, MTGATE_ETEXT_LONG);
	REFUSED(short_code, "", MTGATE_ESHORTCODE);
	REFUSED(short_code, NULL, MTGATE_ESHORTCODE);
	REFUSED(short_code, "123-45", MTGATE_ESHORTCODE);
	REFUSED(short_code, "12345!", MTGATE_ESHORTCODE);
	REFUSED(short_code, sc_long, MTGATE_ESHORTCODE);
	REFUSED(keyword, "JO IN", MTGATE_EKEYWORD);
	REFUSED(keyword, "", MTGATE_EKEYWORD);
	REFUSED(keyword, "J\xc3\x96IN", MTGATE_EKEYWORD); /* JÖIN */
	REFUSED(keyword, kw_long, MTGATE_EKEYWORD);
	REFUSED(name, "", MTGATE_ENAME);
	REFUSED(name, NULL, MTGATE_ENAME);
	REFUSED(name, name_long, MTGATE_ENAME);
#undef REFUSED
	/* A one-off program has no period. */
	d = base_def();
	d.kind = MTGATE_KIND_ONE_OFF;
	expect_define_refused(f, &d, MTGATE_EPERIOD);
	assert_int_equal(list_count(f), 1);
	free(text_long);
	free(sc_long);
	free(kw_long);
	free(name_long);
	free(tz_long);
}

/* The largest accepted values are accepted. */
static void test_program_bounds_accepted(void **state)
{
	fx *f = *state;
	char *text = repeat('a', MTGATE_TEXT_MAX);
	char *sc = repeat('1', MTGATE_SHORTCODE_MAX);
	char *kw = repeat('k', MTGATE_KEYWORD_MAX);
	char *name = repeat('n', MTGATE_NAME_MAX);
	char *kw_upper = repeat('K', MTGATE_KEYWORD_MAX);
	mtgate_program_def d = base_def();
	uint32_t id;

	d.short_code = sc;
	d.keyword = kw;
	d.name = name;
	d.welcome_text = text;
	d.limit = MTGATE_LIMIT_MAX;
	d.period = MTGATE_PERIOD_WEEK;
	id = define_ok(f, &d);
	expect_def(f, id, &d, kw_upper);
	d = base_def();
	d.limit = 1;
	d.tz = "UTC-8";
	expect_def(f, define_ok(f, &d), &d, "JOIN");
	free(text);
	free(sc);
	free(kw);
	free(name);
	free(kw_upper);
}

/* An update refused with want leaves the stored version as it was. */
static void expect_update_refused(fx *f, const mtgate_program_def *d, int want,
				  const mtgate_program_def *old,
				  const char *old_kw)
{
	size_t before = list_count(f);

	assert_int_equal(mtgate_program_update(f->eng, d), want);
	assert_int_equal(list_count(f), before);
	if (old != NULL)
		expect_def(f, d->id, old, old_kw);
}

static void test_program_bad_updates_refused(void **state)
{
	fx *f = *state;
	const mtgate_program_def orig = base_def();
	mtgate_program_def d = base_def(), o = base_def();
	uint32_t id = define_ok(f, &d), oid;

	o.keyword = "OTHER";
	oid = define_ok(f, &o);
	d.id = oid + 1;
	expect_update_refused(f, &d, MTGATE_ENOPROGRAM, NULL, NULL);
	d.id = 0;
	expect_update_refused(f, &d, MTGATE_ENOPROGRAM, NULL, NULL);
	assert_int_equal(list_count(f), 2);

	d = orig;
	d.id = id;
	d.limit = 0;
	expect_update_refused(f, &d, MTGATE_ELIMIT, &orig, "JOIN");
	d = orig;
	d.id = id;
	d.period = (mtgate_period)7;
	expect_update_refused(f, &d, MTGATE_EPERIOD, &orig, "JOIN");
	d = orig;
	d.id = id;
	d.tz = "Mars/Olympus";
	expect_update_refused(f, &d, MTGATE_ETZ, &orig, "JOIN");
	/* Taking another program's keyword. */
	d = orig;
	d.id = id;
	d.keyword = "other";
	expect_update_refused(f, &d, MTGATE_EPROGRAM_DUP, &orig, "JOIN");
	expect_found(f, "12345", "JOIN", id);
	expect_found(f, "12345", "OTHER", oid);
}

/* ---- refused changes ------------------------------------------------------------- */

/* A change refused with want stores nothing for the number. */
static void expect_change_refused(fx *f, const mtgate_change *c, int want)
{
	mtgate_consent recs[4];
	size_t n = 99;

	assert_int_equal(mtgate_apply(f->eng, c, NULL), want);
	assert_int_equal(mtgate_query(f->eng, c->number,
				      atomic_load(&f->clk.now_ms), recs, 4, &n,
				      NULL),
			 0);
	assert_int_equal(n, 0);
}

static void test_program_bad_changes_refused(void **state)
{
	fx *f = *state;
	mtgate_program_def d = base_def();
	uint32_t id = define_ok(f, &d);
	char *src_long = repeat('s', MTGATE_SOURCE_MAX + 1);
	mtgate_change c, ok = {.op = MTGATE_OP_OPTIN,
			       .number = NUM_A,
			       .program = id,
			       .channel = MTGATE_CHANNEL_WEB,
			       .source = "form-7"};

	c = ok;
	c.program = id + 1;
	expect_change_refused(f, &c, MTGATE_ENOPROGRAM);
	assert_int_equal(
		mtgate_optin(f->eng, NUM_A, 0, MTGATE_CHANNEL_WEB, NULL, 0),
		MTGATE_ENOPROGRAM);
	c = ok;
	c.source = src_long;
	expect_change_refused(f, &c, MTGATE_ESOURCE_LONG);
	c = ok;
	c.channel = (mtgate_channel)99;
	expect_change_refused(f, &c, MTGATE_ECHANNEL);
	c = ok;
	c.op = (mtgate_op)0;
	expect_change_refused(f, &c, MTGATE_EOP);
	c = ok;
	c.op = MTGATE_OP_MAX;
	expect_change_refused(f, &c, MTGATE_EOP);
	c = ok;
	c.at_ms = atomic_load(&f->clk.now_ms) + 1;
	expect_change_refused(f, &c, MTGATE_EFUTURE);

	/* The limits themselves are fine. */
	src_long[MTGATE_SOURCE_MAX] = '\0';
	c = ok;
	c.source = src_long;
	c.at_ms = atomic_load(&f->clk.now_ms);
	assert_int_equal(mtgate_apply(f->eng, &c, NULL), 0);
	free(src_long);
}

static void test_program_strerror_every_code(void **state)
{
	(void)state;
	for (int e = MTGATE_ERR_FIRST; e < MTGATE_ERR_LAST; e++) {
		const char *m = mtgate_strerror(e);

		assert_non_null(m);
		assert_true(m[0] != '\0');
		if (strcmp(m, "unknown error") == 0)
			fail_msg("code %d has no message", e);
		for (int o = MTGATE_ERR_FIRST; o < e; o++)
			if (strcmp(m, mtgate_strerror(o)) == 0)
				fail_msg("codes %d and %d share \"%s\"", o, e,
					 m);
	}
	assert_non_null(mtgate_strerror(MTGATE_ERR_LAST));
	assert_non_null(mtgate_strerror(MTGATE_ERR_FIRST - 1));
	assert_non_null(mtgate_strerror(12345));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_program_define_and_get),
		T(test_program_find_keyword_any_case),
		T(test_program_list_ascending),
		T(test_program_update_limit_and_keyword),
		T(test_program_persist_across_reopen),
		T(test_program_duplicate_refused),
		T(test_program_bad_definitions_refused),
		T(test_program_bounds_accepted),
		T(test_program_bad_updates_refused),
		T(test_program_bad_changes_refused),
		cmocka_unit_test(test_program_strerror_every_code),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

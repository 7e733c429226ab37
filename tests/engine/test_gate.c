/*
 * Checks the gate (RULES.md GATE-1..GATE-5) through the public API, on a real
 * engine over a real RocksDB in a temporary directory, with the clock
 * injected:
 *   GATE-1  the deny reasons (no opt-in, opted out, pending double opt-in,
 *           unknown program, deactivated), their tokens and carrier statuses;
 *   GATE-2  the limit per day, week and calendar month, in the program's time
 *           zone; a denied MT is not counted; the count survives a restart;
 *   GATE-3  a one-off program grants one MT per accepted request, and unused
 *           credits do not come back after an opt-out;
 *   GATE-4  a dry run answers as the counting gate would and counts nothing;
 *           mtgate_gate_batch answers as sequential mtgate_gate calls would;
 *   GATE-5  the counter starts again at zero in a new period (month rollover,
 *           day rollover in a fixed-offset zone, after a restart).
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
	struct fx *peer; /* a second engine some tests compare against */
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
	assert_non_null(f->eng);
}

static void fx_close(fx *f)
{
	assert_int_equal(mtgate_engine_close(f->eng), 0);
	f->eng = NULL;
}

static void fx_reopen(fx *f)
{
	fx_close(f);
	fx_open(f);
}

static fx *fx_new(const char *tag)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tu_tmpdir(tag);
	atomic_init(&f->clk.now_ms, tu_utc(2026, 1, 10, 12, 0, 0));
	fx_open(f);
	return f;
}

static void fx_free(fx *f)
{
	if (f == NULL)
		return;
	fx_free(f->peer);
	if (f->eng != NULL)
		mtgate_engine_close(f->eng);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
}

static int setup(void **state)
{
	*state = fx_new("gate");
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static void set_now(fx *f, int64_t t)
{
	atomic_store(&f->clk.now_ms, t);
}

/* ---- programs and consents ------------------------------------------------ */

static uint32_t define(fx *f, const char *kw, mtgate_kind kind, uint32_t limit,
		       mtgate_period period, const char *tz, bool doi)
{
	mtgate_program_def d = {
		.tenant = 1,
		.short_code = "12345",
		.keyword = kw,
		.name = kw,
		.kind = kind,
		.limit = limit,
		.period = period,
		.tz = tz,
		.double_opt_in = doi,
		.welcome_text = "Welcome. Max 4 msgs/mo. Msg&Data rates may "
				"apply. Reply HELP for help, STOP to cancel.",
	};
	uint32_t id = 0;

	assert_int_equal(mtgate_program_define(f->eng, &d, &id), 0);
	assert_true(id != 0);
	return id;
}

static uint32_t define_monthly(fx *f, const char *kw, uint32_t limit,
			       const char *tz)
{
	return define(f, kw, MTGATE_KIND_RECURRING, limit, MTGATE_PERIOD_MONTH,
		      tz, false);
}

static uint32_t define_one_off(fx *f, const char *kw)
{
	return define(f, kw, MTGATE_KIND_ONE_OFF, 0, MTGATE_PERIOD_NONE, NULL,
		      false);
}

static void optin(fx *f, uint64_t num, uint32_t pid)
{
	assert_int_equal(
		mtgate_optin(f->eng, num, pid, MTGATE_CHANNEL_WEB, "form-1", 0),
		0);
}

static void optout(fx *f, uint64_t num, uint32_t pid)
{
	assert_int_equal(
		mtgate_optout(f->eng, num, pid, MTGATE_CHANNEL_MO, "STOP"), 0);
}

/* ---- gate helpers ------------------------------------------------------------ */

/* Gate at instant t (the clock is moved there too). */
static mtgate_reason gate_mode(fx *f, uint64_t num, uint32_t pid,
			       mtgate_mode mode, int64_t t)
{
	mtgate_reason r = MTGATE_REASON_MAX;

	set_now(f, t);
	assert_int_equal(mtgate_gate(f->eng, num, pid, mode, t, &r), 0);
	return r;
}

/* Compared as tokens so a failure names both reasons. */
static void expect_reason(mtgate_reason got, mtgate_reason want)
{
	assert_string_equal(mtgate_reason_token(got),
			    mtgate_reason_token(want));
}

static void expect_gate(fx *f, uint64_t num, uint32_t pid, int64_t t,
			mtgate_reason want)
{
	expect_reason(gate_mode(f, num, pid, MTGATE_MODE_COUNT, t), want);
}

static void expect_dry(fx *f, uint64_t num, uint32_t pid, int64_t t,
		       mtgate_reason want)
{
	expect_reason(gate_mode(f, num, pid, MTGATE_MODE_DRY_RUN, t), want);
}

/* Exactly n MTs are allowed at t, then the limit is hit. */
static void expect_allowed_n(fx *f, uint64_t num, uint32_t pid, int64_t t,
			     unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		expect_gate(f, num, pid, t, MTGATE_ALLOW);
	expect_gate(f, num, pid, t, MTGATE_DENY_MSG_LIMIT_EXCEEDED);
}

/* The consent record of (num, pid) as mtgate_query sees it at t; false
 * when the number has none for that program. */
static bool find_record(fx *f, uint64_t num, uint32_t pid, int64_t t,
			mtgate_consent *out)
{
	mtgate_consent recs[8];
	size_t n = 0;

	assert_int_equal(mtgate_query(f->eng, num, t, recs, 8, &n, NULL), 0);
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		if (recs[i].program == pid) {
			*out = recs[i];
			return true;
		}
	}
	return false;
}

static mtgate_consent query_one(fx *f, uint64_t num, uint32_t pid, int64_t t)
{
	mtgate_consent c;

	if (!find_record(f, num, pid, t, &c))
		fail_msg("no consent record for program %u", pid);
	return c;
}

/* MTs counted for (num, pid) in the period of t; 0 without a record. */
static uint32_t used_at(fx *f, uint64_t num, uint32_t pid, int64_t t)
{
	mtgate_consent c;

	return find_record(f, num, pid, t, &c) ? c.used : 0;
}

#define NUM_A 15551230001ull
#define NUM_B 15551230002ull
#define NUM_C 447700900123ull

/* ---- GATE-1 ------------------------------------------------------------------- */

static void test_gate_1_no_optin_denied(void **state)
{
	fx *f = *state;
	uint32_t p = define_monthly(f, "NEWS", 4, NULL);
	int64_t t = atomic_load(&f->clk.now_ms);

	expect_gate(f, NUM_A, p, t, MTGATE_DENY_NO_OPTIN);
	/* An opt-in of another number or program grants nothing here. */
	optin(f, NUM_B, p);
	expect_gate(f, NUM_A, p, t, MTGATE_DENY_NO_OPTIN);
	optin(f, NUM_A, define_monthly(f, "DEALS", 4, NULL));
	expect_gate(f, NUM_A, p, t, MTGATE_DENY_NO_OPTIN);
}

static void test_gate_1_opted_in_allowed(void **state)
{
	fx *f = *state;
	uint32_t p = define_monthly(f, "NEWS", 4, NULL);
	int64_t t = atomic_load(&f->clk.now_ms);

	optin(f, NUM_A, p);
	expect_gate(f, NUM_A, p, t, MTGATE_ALLOW);
	assert_int_equal(query_one(f, NUM_A, p, t).state,
			 MTGATE_STATE_OPTED_IN);
}

static void test_gate_1_opted_out_denied(void **state)
{
	fx *f = *state;
	uint32_t p = define_monthly(f, "NEWS", 4, NULL);
	int64_t t = atomic_load(&f->clk.now_ms);

	optin(f, NUM_A, p);
	expect_gate(f, NUM_A, p, t, MTGATE_ALLOW);
	optout(f, NUM_A, p);
	expect_gate(f, NUM_A, p, t, MTGATE_DENY_OPTED_OUT);
	assert_int_equal(query_one(f, NUM_A, p, t).state,
			 MTGATE_STATE_OPTED_OUT);
}

static void test_gate_1_double_opt_in_pending_until_confirmed(void **state)
{
	fx *f = *state;
	uint32_t p = define(f, "VIP", MTGATE_KIND_RECURRING, 4,
			    MTGATE_PERIOD_MONTH, NULL, true);
	int64_t t = atomic_load(&f->clk.now_ms);
	mtgate_change confirm = {.op = MTGATE_OP_CONFIRM,
				 .number = NUM_A,
				 .program = p,
				 .channel = MTGATE_CHANNEL_MO,
				 .source = "YES"};
	mtgate_outcome oc = 0;

	optin(f, NUM_A, p);
	assert_int_equal(query_one(f, NUM_A, p, t).state, MTGATE_STATE_PENDING);
	expect_gate(f, NUM_A, p, t, MTGATE_DENY_PENDING_CONFIRMATION);
	assert_int_equal(mtgate_apply(f->eng, &confirm, &oc), 0);
	assert_int_equal(oc, MTGATE_CHANGED);
	expect_gate(f, NUM_A, p, t, MTGATE_ALLOW);
	assert_int_equal(query_one(f, NUM_A, p, t).state,
			 MTGATE_STATE_OPTED_IN);
}

static void test_gate_1_unknown_program(void **state)
{
	fx *f = *state;
	uint32_t p = define_monthly(f, "NEWS", 4, NULL);
	int64_t t = atomic_load(&f->clk.now_ms);

	optin(f, NUM_A, p);
	expect_gate(f, NUM_A, p + 1, t, MTGATE_DENY_UNKNOWN_PROGRAM);
	expect_gate(f, NUM_A, 0, t, MTGATE_DENY_UNKNOWN_PROGRAM);
	expect_gate(f, NUM_A, MTGATE_PROGRAMS_MAX, t,
		    MTGATE_DENY_UNKNOWN_PROGRAM);
	expect_gate(f, NUM_A, UINT32_MAX, t, MTGATE_DENY_UNKNOWN_PROGRAM);
}

static void test_gate_1_deactivated(void **state)
{
	fx *f = *state;
	uint32_t p = define_monthly(f, "NEWS", 4, NULL);
	int64_t t = atomic_load(&f->clk.now_ms);

	optin(f, NUM_A, p);
	set_now(f, t + TU_MINUTE_MS);
	assert_int_equal(mtgate_deactivate(f->eng, NUM_A,
					   MTGATE_DEACT_DISCONNECT, 0,
					   "disconnects.csv"),
			 0);
	expect_gate(f, NUM_A, p, t + TU_MINUTE_MS, MTGATE_DENY_DEACTIVATED);
}

static void test_gate_1_reason_tokens_and_carrier_status(void **state)
{
	static const char *const tokens[MTGATE_REASON_MAX] = {
		[MTGATE_ALLOW] = "ALLOW",
		[MTGATE_DENY_NO_OPTIN] = "NO_OPTIN",
		[MTGATE_DENY_OPTED_OUT] = "OPTED_OUT",
		[MTGATE_DENY_PENDING_CONFIRMATION] = "PENDING_CONFIRMATION",
		[MTGATE_DENY_DEACTIVATED] = "DEACTIVATED",
		[MTGATE_DENY_SCOPE_QUESTION_OPEN] = "SCOPE_QUESTION_OPEN",
		[MTGATE_DENY_UNKNOWN_PROGRAM] = "UNKNOWN_PROGRAM",
		[MTGATE_DENY_MSG_LIMIT_EXCEEDED] = "MSG_LIMIT_EXCEEDED",
	};

	(void)state;
	for (int r = 0; r < MTGATE_REASON_MAX; r++) {
		const char *cs = mtgate_reason_carrier_status(r);

		assert_string_equal(mtgate_reason_token(r), tokens[r]);
		if (r == MTGATE_ALLOW)
			assert_null(cs);
		else if (r == MTGATE_DENY_MSG_LIMIT_EXCEEDED)
			assert_string_equal(cs, "Not Sent:Msg Limit Exceeded");
		else
			assert_string_equal(cs, "Not Sent:No Opt-In");
	}
}

/* ---- GATE-2 ------------------------------------------------------------------- */

static void test_gate_2_limit_per_month(void **state)
{
	fx *f = *state;
	uint32_t p = define_monthly(f, "NEWS", 4, NULL); /* Max 4 msgs/mo */
	int64_t t = tu_utc(2026, 1, 10, 12, 0, 0);

	optin(f, NUM_A, p);
	expect_gate(f, NUM_A, p, t, MTGATE_ALLOW);
	expect_gate(f, NUM_A, p, t + TU_DAY_MS, MTGATE_ALLOW);
	expect_gate(f, NUM_A, p, tu_utc(2026, 1, 20, 8, 0, 0), MTGATE_ALLOW);
	expect_gate(f, NUM_A, p, tu_utc(2026, 1, 31, 23, 0, 0), MTGATE_ALLOW);
	expect_gate(f, NUM_A, p, tu_utc(2026, 1, 31, 23, 0, 1),
		    MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	assert_int_equal(used_at(f, NUM_A, p, t), 4);
	assert_int_equal(query_one(f, NUM_A, p, t).limit, 4);
	/* The limit is per number: another number has its own four. */
	optin(f, NUM_B, p);
	expect_allowed_n(f, NUM_B, p, tu_utc(2026, 1, 31, 23, 0, 2), 4);
}

static void test_gate_2_denied_mt_not_counted(void **state)
{
	fx *f = *state;
	uint32_t p = define_monthly(f, "NEWS", 4, NULL);
	int64_t jan = tu_utc(2026, 1, 15, 0, 0, 0);
	int64_t feb = tu_utc(2026, 2, 15, 0, 0, 0);

	optin(f, NUM_A, p);
	expect_allowed_n(f, NUM_A, p, jan, 4);
	for (int i = 0; i < 10; i++)
		expect_gate(f, NUM_A, p, jan, MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	assert_int_equal(used_at(f, NUM_A, p, jan), 4);
	/* Had a denied MT been counted, February would start above zero. */
	expect_allowed_n(f, NUM_A, p, feb, 4);
	assert_int_equal(used_at(f, NUM_A, p, feb), 4);
}

static void test_gate_2_limit_per_day(void **state)
{
	fx *f = *state;
	uint32_t p = define(f, "DAILY", MTGATE_KIND_RECURRING, 3,
			    MTGATE_PERIOD_DAY, NULL, false);

	optin(f, NUM_A, p);
	expect_gate(f, NUM_A, p, tu_utc(2026, 1, 10, 12, 0, 0), MTGATE_ALLOW);
	expect_gate(f, NUM_A, p, tu_utc(2026, 1, 10, 18, 0, 0), MTGATE_ALLOW);
	expect_allowed_n(f, NUM_A, p, tu_utc(2026, 1, 10, 23, 59, 59), 1);
	assert_int_equal(used_at(f, NUM_A, p, tu_utc(2026, 1, 10, 23, 0, 0)),
			 3);
	expect_allowed_n(f, NUM_A, p, tu_utc(2026, 1, 11, 0, 0, 0), 3);
}

static void test_gate_2_limit_per_week(void **state)
{
	fx *f = *state;
	uint32_t p = define(f, "WEEKLY", MTGATE_KIND_RECURRING, 2,
			    MTGATE_PERIOD_WEEK, NULL, false);

	optin(f, NUM_A, p);
	/* 2026-01-12 is a Monday: the week runs to Sunday 01-18 23:59:59. */
	expect_gate(f, NUM_A, p, tu_utc(2026, 1, 12, 0, 0, 0), MTGATE_ALLOW);
	expect_allowed_n(f, NUM_A, p, tu_utc(2026, 1, 18, 23, 59, 59), 1);
	expect_gate(f, NUM_A, p, tu_utc(2026, 1, 15, 9, 0, 0),
		    MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	expect_allowed_n(f, NUM_A, p, tu_utc(2026, 1, 19, 0, 0, 0), 2);
}

/*
 * 2026-03-01T04:30Z is 2026-02-28 23:30 in New York (EST, UTC-5) and
 * 05:30Z is 2026-03-01 00:30 there. In UTC both are in March.
 */
static void test_gate_2_month_in_program_time_zone(void **state)
{
	fx *f = *state;
	int64_t before = tu_utc(2026, 3, 1, 4, 30, 0);
	int64_t after = tu_utc(2026, 3, 1, 5, 30, 0);
	uint32_t ny, utc;

	set_now(f, tu_utc(2026, 2, 1, 12, 0, 0));
	ny = define_monthly(f, "NYC", 1, "America/New_York");
	utc = define_monthly(f, "UTC", 1, NULL);
	optin(f, NUM_A, ny);
	optin(f, NUM_A, utc);

	expect_gate(f, NUM_A, ny, before, MTGATE_ALLOW);
	/* Still February in New York: February's quota is spent. */
	expect_gate(f, NUM_A, ny, tu_utc(2026, 3, 1, 4, 59, 59),
		    MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	assert_int_equal(used_at(f, NUM_A, ny, before), 1);
	assert_int_equal(used_at(f, NUM_A, ny, after), 0);
	expect_gate(f, NUM_A, ny, after, MTGATE_ALLOW);

	expect_gate(f, NUM_A, utc, before, MTGATE_ALLOW);
	expect_gate(f, NUM_A, utc, after, MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	assert_int_equal(used_at(f, NUM_A, utc, after), 1);
}

static void test_gate_2_limit_survives_restart(void **state)
{
	fx *f = *state;
	uint32_t p = define_monthly(f, "NEWS", 4, NULL);
	int64_t t = tu_utc(2026, 1, 20, 12, 0, 0);
	mtgate_program_def d;

	optin(f, NUM_A, p);
	optin(f, NUM_C, p);
	for (int i = 0; i < 3; i++)
		expect_gate(f, NUM_A, p, t, MTGATE_ALLOW);
	expect_allowed_n(f, NUM_C, p, t, 4);
	fx_reopen(f);

	assert_int_equal(mtgate_program_get(f->eng, p, &d), 0);
	assert_int_equal(d.limit, 4);
	assert_int_equal(d.period, MTGATE_PERIOD_MONTH);
	assert_int_equal(used_at(f, NUM_A, p, t), 3);
	assert_int_equal(used_at(f, NUM_C, p, t), 4);
	expect_allowed_n(f, NUM_A, p, t + TU_HOUR_MS, 1);
	expect_gate(f, NUM_C, p, t + TU_HOUR_MS,
		    MTGATE_DENY_MSG_LIMIT_EXCEEDED);
}

/* ---- GATE-3 ------------------------------------------------------------------- */

static void test_gate_3_one_off_one_mt_per_request(void **state)
{
	fx *f = *state;
	uint32_t p = define_one_off(f, "INFO");
	int64_t t = atomic_load(&f->clk.now_ms);
	mtgate_consent c;

	expect_gate(f, NUM_A, p, t, MTGATE_DENY_NO_OPTIN);
	optin(f, NUM_A, p);
	c = query_one(f, NUM_A, p, t);
	assert_int_equal(c.limit, 1);
	assert_int_equal(c.used, 0);
	expect_allowed_n(f, NUM_A, p, t, 1);
	/* A one-off credit does not come back with a new period. */
	expect_gate(f, NUM_A, p, t + 40 * TU_DAY_MS,
		    MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	c = query_one(f, NUM_A, p, t);
	assert_int_equal(c.limit, 1);
	assert_int_equal(c.used, 1);
	/* The next request grants exactly one more. */
	optin(f, NUM_A, p);
	expect_allowed_n(f, NUM_A, p, t + 41 * TU_DAY_MS, 1);
}

static void test_gate_3_one_off_two_requests_two_mts(void **state)
{
	fx *f = *state;
	uint32_t p = define_one_off(f, "INFO");
	int64_t t = atomic_load(&f->clk.now_ms);

	optin(f, NUM_A, p);
	optin(f, NUM_A, p);
	assert_int_equal(query_one(f, NUM_A, p, t).limit, 2);
	expect_allowed_n(f, NUM_A, p, t, 2);
	assert_int_equal(query_one(f, NUM_A, p, t).used, 2);
}

static void test_gate_3_one_off_unused_credits_lost_on_optout(void **state)
{
	fx *f = *state;
	uint32_t p = define_one_off(f, "INFO");
	int64_t t = atomic_load(&f->clk.now_ms);
	mtgate_consent c;

	optin(f, NUM_A, p);
	optin(f, NUM_A, p);
	expect_gate(f, NUM_A, p, t, MTGATE_ALLOW); /* one of two used */
	optout(f, NUM_A, p);
	expect_gate(f, NUM_A, p, t, MTGATE_DENY_OPTED_OUT);
	optin(f, NUM_A, p);
	expect_allowed_n(f, NUM_A, p, t, 1);
	c = query_one(f, NUM_A, p, t);
	assert_int_equal(c.used, 2);
	assert_int_equal(c.limit, 2);
}

/* ---- GATE-4 ------------------------------------------------------------------- */

/* A dry run answers what the counting gate answers next, and leaves the
 * count alone. */
static void expect_dry_then_count(fx *f, uint64_t num, uint32_t pid, int64_t t,
				  mtgate_reason want)
{
	uint32_t before = used_at(f, num, pid, t);

	expect_dry(f, num, pid, t, want);
	expect_dry(f, num, pid, t, want);
	assert_int_equal(used_at(f, num, pid, t), before);
	expect_gate(f, num, pid, t, want);
}

static void test_gate_4_dry_run_counts_nothing(void **state)
{
	fx *f = *state;
	uint32_t p = define_monthly(f, "NEWS", 2, NULL);
	uint32_t q = define_monthly(f, "DEALS", 2, NULL);
	int64_t t = atomic_load(&f->clk.now_ms);

	optin(f, NUM_A, p);
	for (int i = 0; i < 100; i++)
		expect_dry(f, NUM_A, p, t, MTGATE_ALLOW);
	assert_int_equal(used_at(f, NUM_A, p, t), 0);
	expect_dry_then_count(f, NUM_A, p, t, MTGATE_ALLOW);
	expect_dry_then_count(f, NUM_A, p, t, MTGATE_ALLOW);
	/* At the limit the dry run is denied as the count would be. */
	expect_dry_then_count(f, NUM_A, p, t, MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	assert_int_equal(used_at(f, NUM_A, p, t), 2);
	/* The other answers agree too. */
	expect_dry_then_count(f, NUM_B, p, t, MTGATE_DENY_NO_OPTIN);
	expect_dry_then_count(f, NUM_A, q + 1, t, MTGATE_DENY_UNKNOWN_PROGRAM);
	optin(f, NUM_B, q);
	optout(f, NUM_B, q);
	expect_dry_then_count(f, NUM_B, q, t, MTGATE_DENY_OPTED_OUT);
}

static void test_gate_4_dry_run_one_off(void **state)
{
	fx *f = *state;
	uint32_t p = define_one_off(f, "INFO");
	int64_t t = atomic_load(&f->clk.now_ms);
	mtgate_consent c;

	optin(f, NUM_A, p);
	for (int i = 0; i < 10; i++)
		expect_dry(f, NUM_A, p, t, MTGATE_ALLOW);
	c = query_one(f, NUM_A, p, t);
	assert_int_equal(c.used, 0);
	assert_int_equal(c.limit, 1);
	expect_dry_then_count(f, NUM_A, p, t, MTGATE_ALLOW);
	expect_dry_then_count(f, NUM_A, p, t, MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	assert_int_equal(query_one(f, NUM_A, p, t).used, 1);
}

/*
 * Batch versus sequential: the same programs and consents on two engines,
 * the same requests answered by one mtgate_gate_batch on one and by
 * mtgate_gate calls in array order on the other.
 */
enum { BATCH_NUMS = 6 };
static const uint64_t batch_nums[BATCH_NUMS] = {
	15551230001ull,  15551230002ull, 15551230003ull,
	447700900123ull, 27821234567ull, 61412345678ull,
};

typedef struct batch_progs {
	uint32_t monthly2, one_off, daily1, doi;
} batch_progs;

static batch_progs batch_populate(fx *f)
{
	batch_progs bp;

	bp.monthly2 = define_monthly(f, "NEWS", 2, NULL);
	bp.one_off = define_one_off(f, "INFO");
	bp.daily1 = define(f, "DAILY", MTGATE_KIND_RECURRING, 1,
			   MTGATE_PERIOD_DAY, "+05:30", false);
	bp.doi = define(f, "VIP", MTGATE_KIND_RECURRING, 4, MTGATE_PERIOD_WEEK,
			NULL, true);
	for (int i = 0; i < BATCH_NUMS; i++) {
		if (i % 3 != 2)
			optin(f, batch_nums[i], bp.monthly2);
		if (i % 2 == 0)
			optin(f, batch_nums[i], bp.one_off);
		if (i != 1)
			optin(f, batch_nums[i], bp.daily1);
		optin(f, batch_nums[i], bp.doi); /* pending */
	}
	optout(f, batch_nums[4], bp.daily1);
	optin(f, batch_nums[0], bp.one_off); /* two credits */
	return bp;
}

/* A request list with every kind of answer and repeats of one (number,
 * program), spread over both shards. */
static size_t batch_requests(const batch_progs *bp, mtgate_gate_req *reqs,
			     size_t cap)
{
	const uint32_t progs[] = {bp->monthly2, bp->one_off, bp->daily1,
				  bp->doi, bp->doi + 1};
	size_t n = 0;

	for (int round = 0; round < 3; round++)
		for (int i = 0; i < BATCH_NUMS; i++)
			for (size_t k = 0; k < sizeof(progs) / sizeof(progs[0]);
			     k++) {
				assert_true(n < cap);
				reqs[n++] = (mtgate_gate_req){batch_nums[i],
							      progs[k]};
			}
	assert_true(n + 2 <= cap);
	reqs[n++] = (mtgate_gate_req){15559999999ull, bp->monthly2};
	reqs[n++] = (mtgate_gate_req){batch_nums[0], bp->monthly2};
	return n;
}

static void expect_same_records(fx *a, fx *b, uint64_t num, int64_t t)
{
	mtgate_consent ra[8], rb[8];
	size_t na = 0, nb = 0;

	assert_int_equal(mtgate_query(a->eng, num, t, ra, 8, &na, NULL), 0);
	assert_int_equal(mtgate_query(b->eng, num, t, rb, 8, &nb, NULL), 0);
	assert_int_equal(na, nb);
	assert_true(na <= 8);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(ra[i].program, rb[i].program);
		assert_int_equal(ra[i].state, rb[i].state);
		assert_int_equal(ra[i].used, rb[i].used);
		assert_int_equal(ra[i].limit, rb[i].limit);
	}
}

static void test_gate_4_batch_matches_sequential(void **state)
{
	fx *a = *state, *b = a->peer = fx_new("gate-seq");
	mtgate_gate_req reqs[128];
	mtgate_reason got[128];
	batch_progs bp = batch_populate(a), bq = batch_populate(b);
	int64_t t = atomic_load(&a->clk.now_ms);
	size_t n = batch_requests(&bp, reqs, 128);
	bool shard_seen[2] = {false, false};

	assert_memory_equal(&bp, &bq, sizeof(bp));
	for (int i = 0; i < BATCH_NUMS; i++)
		shard_seen[mtgate_shard_of(a->eng, batch_nums[i])] = true;
	assert_true(shard_seen[0] && shard_seen[1]);

	for (int pass = 0; pass < 3; pass++) {
		mtgate_mode mode =
			pass == 0 ? MTGATE_MODE_DRY_RUN : MTGATE_MODE_COUNT;
		memset(got, 0xff, sizeof(got));
		assert_int_equal(
			mtgate_gate_batch(a->eng, reqs, n, mode, t, got), 0);
		for (size_t i = 0; i < n; i++) {
			expect_reason(got[i],
				      gate_mode(b, reqs[i].number,
						reqs[i].program, mode, t));
		}
		if (pass == 1) {
			/* (nums[0], monthly2), limit 2, is asked at 0, 30, 60
			 * and last: the first two in array order get it. */
			expect_reason(got[0], MTGATE_ALLOW);
			expect_reason(got[30], MTGATE_ALLOW);
			expect_reason(got[60], MTGATE_DENY_MSG_LIMIT_EXCEEDED);
			expect_reason(got[n - 1],
				      MTGATE_DENY_MSG_LIMIT_EXCEEDED);
		}
	}
	/* Every record ends with the same state and count on both engines. */
	for (int i = 0; i < BATCH_NUMS; i++)
		expect_same_records(a, b, batch_nums[i], t);
}

/* The first requests of one (number, program) in a batch use the limit up,
 * the later ones in the same array are denied. */
static void test_gate_4_batch_duplicates_in_array_order(void **state)
{
	fx *f = *state;
	uint32_t p = define_monthly(f, "NEWS", 3, NULL);
	uint32_t o = define_one_off(f, "INFO");
	int64_t t = atomic_load(&f->clk.now_ms);
	mtgate_gate_req reqs[10];
	mtgate_reason out[10];

	optin(f, NUM_A, p);
	optin(f, NUM_C, o);
	for (int i = 0; i < 10; i++)
		reqs[i] =
			(mtgate_gate_req){i % 2 ? NUM_C : NUM_A, i % 2 ? o : p};
	assert_int_equal(
		mtgate_gate_batch(f->eng, reqs, 10, MTGATE_MODE_COUNT, t, out),
		0);
	for (int i = 0; i < 10; i++) {
		bool allowed = i % 2 ? i == 1 : i < 6;
		expect_reason(out[i], allowed ? MTGATE_ALLOW
					      : MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	}
	assert_int_equal(used_at(f, NUM_A, p, t), 3);
	assert_int_equal(query_one(f, NUM_C, o, t).used, 1);
}

/* ---- GATE-5 ------------------------------------------------------------------- */

static void test_gate_5_month_rollover(void **state)
{
	fx *f = *state;
	uint32_t p = define_monthly(f, "NEWS", 2, NULL);
	int64_t last = tu_utc(2026, 1, 31, 23, 59, 59);
	int64_t first = tu_utc(2026, 2, 1, 0, 0, 0);

	optin(f, NUM_A, p);
	expect_allowed_n(f, NUM_A, p, last, 2);
	expect_gate(f, NUM_A, p, first - 1, MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	assert_int_equal(used_at(f, NUM_A, p, first), 0);
	expect_allowed_n(f, NUM_A, p, first, 2);
	assert_int_equal(used_at(f, NUM_A, p, first), 2);
}

/* In "+05:30" a day starts at 18:30Z: a new UTC day resets nothing. */
static void test_gate_5_day_rollover_fixed_offset(void **state)
{
	fx *f = *state;
	uint32_t p = define(f, "DAILY", MTGATE_KIND_RECURRING, 1,
			    MTGATE_PERIOD_DAY, "+05:30", false);

	optin(f, NUM_A, p);
	/* 2026-01-10 01:30 local. */
	expect_gate(f, NUM_A, p, tu_utc(2026, 1, 9, 20, 0, 0), MTGATE_ALLOW);
	/* A new UTC day, same local day. */
	expect_gate(f, NUM_A, p, tu_utc(2026, 1, 10, 0, 30, 0),
		    MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	expect_gate(f, NUM_A, p, tu_utc(2026, 1, 10, 18, 29, 59),
		    MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	/* 2026-01-11 00:00 local. */
	expect_allowed_n(f, NUM_A, p, tu_utc(2026, 1, 10, 18, 30, 0), 1);
}

static void test_gate_5_new_period_after_restart(void **state)
{
	fx *f = *state;
	uint32_t p = define_monthly(f, "NEWS", 2, NULL);
	int64_t jan = tu_utc(2026, 1, 31, 22, 0, 0);
	int64_t feb = tu_utc(2026, 2, 1, 1, 0, 0);

	optin(f, NUM_A, p);
	expect_allowed_n(f, NUM_A, p, jan, 2);
	set_now(f, feb);
	fx_reopen(f);
	assert_int_equal(used_at(f, NUM_A, p, feb), 0);
	expect_allowed_n(f, NUM_A, p, feb, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_gate_1_no_optin_denied),
		T(test_gate_1_opted_in_allowed),
		T(test_gate_1_opted_out_denied),
		T(test_gate_1_double_opt_in_pending_until_confirmed),
		T(test_gate_1_unknown_program),
		T(test_gate_1_deactivated),
		cmocka_unit_test(test_gate_1_reason_tokens_and_carrier_status),
		T(test_gate_2_limit_per_month),
		T(test_gate_2_denied_mt_not_counted),
		T(test_gate_2_limit_per_day),
		T(test_gate_2_limit_per_week),
		T(test_gate_2_month_in_program_time_zone),
		T(test_gate_2_limit_survives_restart),
		T(test_gate_3_one_off_one_mt_per_request),
		T(test_gate_3_one_off_two_requests_two_mts),
		T(test_gate_3_one_off_unused_credits_lost_on_optout),
		T(test_gate_4_dry_run_counts_nothing),
		T(test_gate_4_dry_run_one_off),
		T(test_gate_4_batch_matches_sequential),
		T(test_gate_4_batch_duplicates_in_array_order),
		T(test_gate_5_month_rollover),
		T(test_gate_5_day_rollover_fixed_offset),
		T(test_gate_5_new_period_after_restart),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

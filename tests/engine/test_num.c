/*
 * Checks the number lifecycle rules (RULES.md NUM-1..NUM-3) through the
 * public API, on a real engine over a real RocksDB in a temporary directory,
 * with the clock injected:
 *   NUM-1  a carrier disconnect opts the number out of every program of every
 *          tenant with reason DISCONNECT; the records stay, also after a
 *          restart; processing it twice changes nothing more; other numbers
 *          are untouched;
 *   NUM-2  a port does the same with its own reason;
 *   NUM-3  a deactivation has a date: an opt-in dated at or before it is void
 *          even when it arrives later; one dated after it is valid (Customer
 *          B) and starts with a fresh counter, also after a restart; an
 *          opt-in given after the deactivation date but recorded before the
 *          deactivation was processed stays; a deactivation in the future or
 *          with an unknown reason is refused.
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

static void notify_nothing(void *ctx, unsigned shard)
{
	(void)ctx;
	(void)shard;
}

/* external: the test thread owns and polls every shard itself. */
static void fx_open_mode(fx *f, bool external)
{
	mtgate_options opts;

	mtgate_options_init(&opts);
	opts.path = f->dir;
	opts.shards = 2;
	opts.clock = tu_clock_now;
	opts.clock_ctx = &f->clk;
	opts.external_owners = external;
	opts.notify = external ? notify_nothing : NULL;
	assert_int_equal(mtgate_engine_open(&opts, &f->eng), 0);
	for (unsigned i = 0; external && i < mtgate_engine_shards(f->eng); i++)
		assert_int_equal(mtgate_shard_attach(f->eng, i), 0);
}

static void fx_open(fx *f)
{
	fx_open_mode(f, false);
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
	f->dir = tu_tmpdir("num");
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

static int64_t now(fx *f)
{
	return atomic_load(&f->clk.now_ms);
}

static void advance(fx *f, int64_t ms)
{
	atomic_fetch_add(&f->clk.now_ms, ms);
}

/* ---- programs, consents, deactivations -------------------------------------- */

static uint32_t define(fx *f, uint32_t tenant, const char *sc, const char *kw,
		       mtgate_kind kind, bool doi)
{
	bool rec = kind == MTGATE_KIND_RECURRING;
	mtgate_program_def d = {
		.tenant = tenant,
		.short_code = sc,
		.keyword = kw,
		.name = kw,
		.kind = kind,
		.limit = rec ? 4 : 0,
		.period = rec ? MTGATE_PERIOD_MONTH : MTGATE_PERIOD_NONE,
		.double_opt_in = doi,
	};
	uint32_t id = 0;

	assert_int_equal(mtgate_program_define(f->eng, &d, &id), 0);
	return id;
}

static uint32_t define_monthly(fx *f, uint32_t tenant, const char *kw)
{
	return define(f, tenant, tenant == 1 ? "11111" : "22222", kw,
		      MTGATE_KIND_RECURRING, false);
}

static int optin_at(fx *f, uint64_t num, uint32_t pid, int64_t at_ms)
{
	return mtgate_optin(f->eng, num, pid, MTGATE_CHANNEL_IMPORT, "list.csv",
			    at_ms);
}

static void optin(fx *f, uint64_t num, uint32_t pid)
{
	assert_int_equal(optin_at(f, num, pid, 0), 0);
}

static mtgate_change deact_change(uint64_t num, mtgate_deact_reason reason,
				  int64_t at_ms)
{
	return (mtgate_change){.op = MTGATE_OP_DEACTIVATE,
			       .number = num,
			       .channel = MTGATE_CHANNEL_CARRIER,
			       .reason = reason,
			       .at_ms = at_ms,
			       .source = "carrier-list-0110.csv"};
}

/* Apply a deactivation; returns its outcome. */
static mtgate_outcome deactivate(fx *f, uint64_t num,
				 mtgate_deact_reason reason, int64_t at_ms)
{
	mtgate_change c = deact_change(num, reason, at_ms);
	mtgate_outcome oc = 0;

	assert_int_equal(mtgate_apply(f->eng, &c, &oc), 0);
	return oc;
}

/* ---- checks ------------------------------------------------------------------ */

static void expect_reason(mtgate_reason got, mtgate_reason want)
{
	assert_string_equal(mtgate_reason_token(got),
			    mtgate_reason_token(want));
}

static void expect_gate(fx *f, uint64_t num, uint32_t pid, mtgate_reason want)
{
	mtgate_reason r = MTGATE_REASON_MAX;

	assert_int_equal(
		mtgate_gate(f->eng, num, pid, MTGATE_MODE_COUNT, now(f), &r),
		0);
	expect_reason(r, want);
}

/* Exactly n MTs are allowed now, then the limit is hit. */
static void expect_allowed_n(fx *f, uint64_t num, uint32_t pid, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		expect_gate(f, num, pid, MTGATE_ALLOW);
	expect_gate(f, num, pid, MTGATE_DENY_MSG_LIMIT_EXCEEDED);
}

typedef struct snapshot {
	mtgate_consent recs[8];
	size_t n;
	mtgate_deactivation deact;
} snapshot;

static snapshot query(fx *f, uint64_t num)
{
	snapshot s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(
		mtgate_query(f->eng, num, now(f), s.recs, 8, &s.n, &s.deact),
		0);
	assert_true(s.n <= 8);
	return s;
}

static const mtgate_consent *record_of(const snapshot *s, uint32_t pid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->recs[i].program == pid)
			return &s->recs[i];
	fail_msg("no consent record for program %u", pid);
	return NULL;
}

static void expect_record(fx *f, uint64_t num, uint32_t pid, mtgate_state state,
			  mtgate_deact_reason voided_by)
{
	snapshot s = query(f, num);
	const mtgate_consent *c = record_of(&s, pid);

	assert_int_equal(c->state, state);
	assert_int_equal(c->voided_by, voided_by);
}

static uint32_t used_of(fx *f, uint64_t num, uint32_t pid)
{
	snapshot s = query(f, num);

	return record_of(&s, pid)->used;
}

static void expect_same(const snapshot *a, const snapshot *b)
{
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->deact.reason, b->deact.reason);
	assert_int_equal(a->deact.at_ms, b->deact.at_ms);
	for (size_t i = 0; i < a->n; i++) {
		assert_int_equal(a->recs[i].program, b->recs[i].program);
		assert_int_equal(a->recs[i].state, b->recs[i].state);
		assert_int_equal(a->recs[i].voided_by, b->recs[i].voided_by);
		assert_int_equal(a->recs[i].changed_at_ms,
				 b->recs[i].changed_at_ms);
		assert_int_equal(a->recs[i].used, b->recs[i].used);
		assert_int_equal(a->recs[i].limit, b->recs[i].limit);
		assert_string_equal(a->recs[i].source, b->recs[i].source);
	}
}

#define NUM_A 15551230001ull
#define NUM_B 15551230002ull
#define NUM_C 447700900123ull

/* ---- NUM-1, NUM-2 --------------------------------------------------------------- */

/* Two tenants, four programs; NUM_A on all of them (one pending), NUM_B on
 * two. progs[] gets the ids. */
static void two_tenants(fx *f, uint32_t progs[4])
{
	progs[0] = define_monthly(f, 1, "NEWS");
	progs[1] = define(f, 1, "11111", "INFO", MTGATE_KIND_ONE_OFF, false);
	progs[2] = define_monthly(f, 2, "DEALS");
	progs[3] = define(f, 2, "22222", "VIP", MTGATE_KIND_RECURRING, true);
	for (int i = 0; i < 4; i++)
		optin(f, NUM_A, progs[i]);
	optin(f, NUM_B, progs[0]);
	optin(f, NUM_B, progs[2]);
	expect_gate(f, NUM_A, progs[0], MTGATE_ALLOW);
	expect_gate(f, NUM_A, progs[3], MTGATE_DENY_PENDING_CONFIRMATION);
}

static void expect_voided(fx *f, uint64_t num, const uint32_t *progs, int n,
			  mtgate_deact_reason reason, int64_t at_ms)
{
	snapshot s = query(f, num);

	assert_int_equal(s.n, (size_t)n); /* the records stay */
	assert_int_equal(s.deact.reason, reason);
	assert_int_equal(s.deact.at_ms, at_ms);
	for (int i = 0; i < n; i++) {
		const mtgate_consent *c = record_of(&s, progs[i]);
		assert_int_equal(c->state, MTGATE_STATE_OPTED_OUT);
		assert_int_equal(c->voided_by, reason);
		expect_gate(f, num, progs[i], MTGATE_DENY_DEACTIVATED);
	}
}

static void expect_untouched_b(fx *f, const uint32_t progs[4])
{
	snapshot s = query(f, NUM_B);

	assert_int_equal(s.n, 2);
	assert_int_equal(s.deact.reason, MTGATE_DEACT_NONE);
	assert_int_equal(record_of(&s, progs[0])->state, MTGATE_STATE_OPTED_IN);
	assert_int_equal(record_of(&s, progs[2])->voided_by, MTGATE_DEACT_NONE);
	expect_gate(f, NUM_B, progs[0], MTGATE_ALLOW);
	expect_gate(f, NUM_B, progs[2], MTGATE_ALLOW);
}

static void test_num_1_disconnect_opts_out_every_tenant(void **state)
{
	fx *f = *state;
	uint32_t progs[4];
	int64_t at;

	two_tenants(f, progs);
	advance(f, TU_HOUR_MS);
	at = now(f);
	advance(f, TU_HOUR_MS);
	assert_int_equal(deactivate(f, NUM_A, MTGATE_DEACT_DISCONNECT, at),
			 MTGATE_CHANGED);
	expect_voided(f, NUM_A, progs, 4, MTGATE_DEACT_DISCONNECT, at);
	expect_untouched_b(f, progs);
}

static void test_num_1_disconnect_twice_changes_nothing(void **state)
{
	fx *f = *state;
	uint32_t progs[4];
	int64_t at = now(f);
	snapshot first, second;

	two_tenants(f, progs);
	assert_int_equal(deactivate(f, NUM_A, MTGATE_DEACT_DISCONNECT, at),
			 MTGATE_CHANGED);
	first = query(f, NUM_A);
	advance(f, TU_DAY_MS); /* the same list processed again next day */
	assert_int_equal(deactivate(f, NUM_A, MTGATE_DEACT_DISCONNECT, at),
			 MTGATE_UNCHANGED);
	second = query(f, NUM_A);
	expect_same(&first, &second);
	expect_voided(f, NUM_A, progs, 4, MTGATE_DEACT_DISCONNECT, at);
	/* The wrapper agrees. */
	assert_int_equal(mtgate_deactivate(f->eng, NUM_A,
					   MTGATE_DEACT_DISCONNECT, at,
					   "again.csv"),
			 0);
	second = query(f, NUM_A);
	expect_same(&first, &second);
	expect_untouched_b(f, progs);
}

static void test_num_1_disconnect_survives_restart(void **state)
{
	fx *f = *state;
	uint32_t progs[4];
	int64_t at;

	two_tenants(f, progs);
	at = now(f);
	advance(f, TU_MINUTE_MS);
	deactivate(f, NUM_A, MTGATE_DEACT_DISCONNECT, at);
	fx_reopen(f);
	expect_voided(f, NUM_A, progs, 4, MTGATE_DEACT_DISCONNECT, at);
	expect_untouched_b(f, progs);
	assert_int_equal(deactivate(f, NUM_A, MTGATE_DEACT_DISCONNECT, at),
			 MTGATE_UNCHANGED);
}

static void test_num_2_port_voids_with_own_reason(void **state)
{
	fx *f = *state;
	uint32_t progs[4];
	int64_t at;

	two_tenants(f, progs);
	at = now(f);
	advance(f, TU_MINUTE_MS);
	assert_int_equal(deactivate(f, NUM_A, MTGATE_DEACT_PORT, at),
			 MTGATE_CHANGED);
	expect_voided(f, NUM_A, progs, 4, MTGATE_DEACT_PORT, at);
	assert_int_equal(deactivate(f, NUM_A, MTGATE_DEACT_PORT, at),
			 MTGATE_UNCHANGED);
	expect_voided(f, NUM_A, progs, 4, MTGATE_DEACT_PORT, at);
	expect_untouched_b(f, progs);
	fx_reopen(f);
	expect_voided(f, NUM_A, progs, 4, MTGATE_DEACT_PORT, at);
}

/* ---- NUM-3 ---------------------------------------------------------------------- */

/* An old list imported after the disconnect: its opt-ins are void. */
static void test_num_3_optin_dated_before_deactivation_void(void **state)
{
	fx *f = *state;
	uint32_t p = define_monthly(f, 1, "NEWS");
	uint32_t q = define_monthly(f, 2, "DEALS");
	int64_t at;
	snapshot before, after;

	optin(f, NUM_A, p);
	advance(f, TU_HOUR_MS);
	at = now(f);
	deactivate(f, NUM_A, MTGATE_DEACT_DISCONNECT, at);
	advance(f, TU_DAY_MS);
	before = query(f, NUM_A);

	assert_int_equal(optin_at(f, NUM_A, p, at - 30 * TU_DAY_MS),
			 MTGATE_EVOID);
	assert_int_equal(optin_at(f, NUM_A, p, at - 1), MTGATE_EVOID);
	assert_int_equal(optin_at(f, NUM_A, p, at), MTGATE_EVOID);
	/* Also for a program the number never had: no record appears. */
	assert_int_equal(optin_at(f, NUM_A, q, at - TU_HOUR_MS), MTGATE_EVOID);
	expect_gate(f, NUM_A, p, MTGATE_DENY_DEACTIVATED);
	expect_gate(f, NUM_A, q, MTGATE_DENY_NO_OPTIN);
	after = query(f, NUM_A);
	expect_same(&before, &after);
	fx_reopen(f);
	assert_int_equal(optin_at(f, NUM_A, p, at - 1), MTGATE_EVOID);
	expect_gate(f, NUM_A, p, MTGATE_DENY_DEACTIVATED);
}

/* Old owner: 3 of 4 MTs this month, counted and persisted, then the number
 * is disconnected and handed to Customer B. */
static uint32_t old_owner_then_disconnect(fx *f, int64_t *at_out)
{
	uint32_t p = define_monthly(f, 1, "NEWS");

	optin(f, NUM_A, p);
	for (int i = 0; i < 3; i++)
		expect_gate(f, NUM_A, p, MTGATE_ALLOW);
	assert_int_equal(mtgate_flush_counters(f->eng), 0);
	advance(f, TU_HOUR_MS);
	*at_out = now(f);
	deactivate(f, NUM_A, MTGATE_DEACT_DISCONNECT, *at_out);
	advance(f, TU_HOUR_MS);
	return p;
}

static void expect_customer_b(fx *f, uint32_t p, int64_t at)
{
	snapshot s;

	assert_int_equal(optin_at(f, NUM_A, p, at + 1), 0);
	s = query(f, NUM_A);
	assert_int_equal(record_of(&s, p)->state, MTGATE_STATE_OPTED_IN);
	assert_int_equal(record_of(&s, p)->voided_by, MTGATE_DEACT_NONE);
	assert_int_equal(record_of(&s, p)->used, 0);
	expect_gate(f, NUM_A, p, MTGATE_ALLOW);
	fx_reopen(f);
	assert_int_equal(used_of(f, NUM_A, p), 1);
	expect_allowed_n(f, NUM_A, p, 3);
}

static void test_num_3_customer_b_fresh_counter(void **state)
{
	fx *f = *state;
	int64_t at;
	uint32_t p = old_owner_then_disconnect(f, &at);

	assert_int_equal(used_of(f, NUM_A, p), 0);
	expect_customer_b(f, p, at);
}

static void test_num_3_customer_b_fresh_counter_after_reopen(void **state)
{
	fx *f = *state;
	int64_t at;
	uint32_t p = old_owner_then_disconnect(f, &at);

	fx_reopen(f);
	assert_int_equal(used_of(f, NUM_A, p), 0);
	expect_gate(f, NUM_A, p, MTGATE_DENY_DEACTIVATED);
	expect_customer_b(f, p, at);
}

typedef struct done_rec {
	bool called;
	int status;
	mtgate_outcome outcome;
} done_rec;

static void record_done(void *arg, int status, mtgate_outcome outcome,
			uint32_t consents)
{
	(void)consents;
	done_rec *d = arg;

	d->called = true;
	d->status = status;
	d->outcome = outcome;
}

/*
 * The old owner's count is flushed while the deactivation is in flight:
 * the counter batch is written after the deactivation's zero counter. The
 * test thread owns both shards (external owners) so the order is exact.
 * After a restart Customer B must still start from zero.
 */
static void test_num_3_counter_flushed_during_deactivation(void **state)
{
	fx *f = *state;
	uint32_t p;
	int64_t at;
	mtgate_change c;
	done_rec d = {0};
	unsigned sh;

	assert_int_equal(mtgate_engine_close(f->eng), 0);
	fx_open_mode(f, true);
	p = define_monthly(f, 1, "NEWS");
	optin(f, NUM_A, p);
	for (int i = 0; i < 3; i++)
		expect_gate(f, NUM_A, p, MTGATE_ALLOW); /* dirty, unflushed */
	advance(f, TU_HOUR_MS);
	at = now(f);
	c = deact_change(NUM_A, MTGATE_DEACT_DISCONNECT, at);
	assert_int_equal(mtgate_owner_submit(f->eng, &c, record_done, &d), 0);
	assert_int_equal(mtgate_flush_counters(f->eng), 0);
	sh = mtgate_shard_of(f->eng, NUM_A);
	for (int spins = 0; !d.called && spins < 100000000; spins++)
		mtgate_shard_poll(f->eng, sh);
	assert_true(d.called);
	assert_int_equal(d.status, 0);
	assert_int_equal(d.outcome, MTGATE_CHANGED);
	assert_int_equal(used_of(f, NUM_A, p), 0);
	advance(f, TU_HOUR_MS);

	fx_reopen(f); /* engine-run owners from here on */
	expect_record(f, NUM_A, p, MTGATE_STATE_OPTED_OUT,
		      MTGATE_DEACT_DISCONNECT);
	assert_int_equal(used_of(f, NUM_A, p), 0);
	expect_customer_b(f, p, at);
}

/* Given after the deactivation date, recorded before the list was
 * processed: the deactivation voids only what was given at or before it. */
static void test_num_3_later_optin_recorded_first_not_voided(void **state)
{
	fx *f = *state;
	uint32_t p = define_monthly(f, 1, "NEWS");
	uint32_t q = define_monthly(f, 2, "DEALS");
	int64_t t = now(f);

	assert_int_equal(optin_at(f, NUM_A, p, t - TU_HOUR_MS), 0);
	assert_int_equal(optin_at(f, NUM_A, q, t - 3 * TU_HOUR_MS), 0);
	assert_int_equal(
		deactivate(f, NUM_A, MTGATE_DEACT_PORT, t - 2 * TU_HOUR_MS),
		MTGATE_CHANGED);
	expect_gate(f, NUM_A, p, MTGATE_ALLOW);
	expect_gate(f, NUM_A, q, MTGATE_DENY_DEACTIVATED);
	expect_record(f, NUM_A, p, MTGATE_STATE_OPTED_IN, MTGATE_DEACT_NONE);
	expect_record(f, NUM_A, q, MTGATE_STATE_OPTED_OUT, MTGATE_DEACT_PORT);
	fx_reopen(f);
	expect_gate(f, NUM_A, p, MTGATE_ALLOW);
	expect_gate(f, NUM_A, q, MTGATE_DENY_DEACTIVATED);
	expect_record(f, NUM_A, p, MTGATE_STATE_OPTED_IN, MTGATE_DEACT_NONE);
}

/* A refused deactivation changes nothing. */
static void expect_deact_refused(fx *f, uint32_t p, mtgate_deact_reason reason,
				 int64_t at_ms, int want)
{
	mtgate_change c = deact_change(NUM_A, reason, at_ms);
	snapshot before = query(f, NUM_A), after;

	assert_int_equal(mtgate_apply(f->eng, &c, NULL), want);
	assert_int_equal(mtgate_deactivate(f->eng, NUM_A, reason, at_ms, NULL),
			 want);
	after = query(f, NUM_A);
	expect_same(&before, &after);
	assert_int_equal(after.deact.reason, MTGATE_DEACT_NONE);
	expect_gate(f, NUM_A, p, MTGATE_ALLOW);
}

static void test_num_3_future_deactivation_refused(void **state)
{
	fx *f = *state;
	uint32_t p = define_monthly(f, 1, "NEWS");

	optin(f, NUM_A, p);
	expect_deact_refused(f, p, MTGATE_DEACT_DISCONNECT, now(f) + 1,
			     MTGATE_EFUTURE);
	expect_deact_refused(f, p, MTGATE_DEACT_PORT, now(f) + TU_DAY_MS,
			     MTGATE_EFUTURE);
}

static void test_num_3_bad_reason_refused(void **state)
{
	fx *f = *state;
	uint32_t p = define_monthly(f, 1, "NEWS");

	optin(f, NUM_A, p);
	expect_deact_refused(f, p, MTGATE_DEACT_NONE, 0, MTGATE_EREASON);
	expect_deact_refused(f, p, MTGATE_DEACT_MAX, 0, MTGATE_EREASON);
	expect_deact_refused(f, p, (mtgate_deact_reason)99, 0, MTGATE_EREASON);
	/* Another number is not deactivated by a refused list either. */
	optin(f, NUM_C, p);
	expect_gate(f, NUM_C, p, MTGATE_ALLOW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_num_1_disconnect_opts_out_every_tenant),
		T(test_num_1_disconnect_twice_changes_nothing),
		T(test_num_1_disconnect_survives_restart),
		T(test_num_2_port_voids_with_own_reason),
		T(test_num_3_optin_dated_before_deactivation_void),
		T(test_num_3_customer_b_fresh_counter),
		T(test_num_3_customer_b_fresh_counter_after_reopen),
		T(test_num_3_counter_flushed_during_deactivation),
		T(test_num_3_later_optin_recorded_first_not_voided),
		T(test_num_3_future_deactivation_refused),
		T(test_num_3_bad_reason_refused),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Checks the audit trail (RULES.md AUD-1..AUD-5) through the engine's
 * public API, on a real engine over a real RocksDB in a temporary
 * directory, with the clock injected (24 h, 30 min and 60 min pass without
 * sleeping):
 *   AUD-1  every change of a consent's state appends exactly one record,
 *          whatever made it: the API, an MO, a double opt-in and its
 *          confirmation, a deactivation, the expiry of a double opt-in and
 *          of a scope question; with time, number, program, old and new
 *          state, channel, source and actor; a repeat changes nothing; the
 *          trail survives a restart and its sequence goes on;
 *   AUD-2  a number's history, oldest first, per tenant, in pages;
 *   AUD-3  a program's current opt-ins with their evidence, in pages;
 *   AUD-4  per tenant, counts by state and the day's changes;
 *   AUD-5  the feed in order, per tenant; read records not acknowledged
 *          come back after 60 minutes and not before; acknowledging is
 *          durable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtgate/engine.h"
#include "testutil.h"

#define SC  "55123"
#define NUM 15557000001ULL
#define T0  tu_utc(2026, 3, 10, 12, 0, 0)

typedef struct fx {
	char *dir;
	tu_clock clk;
	mtgate_engine *eng;
	mtgate_mo_result r;
	mtgate_audit_rec a[64];
	size_t n;
} fx;

static void fx_open(fx *f)
{
	mtgate_options o;

	mtgate_options_init(&o);
	o.path = f->dir;
	o.shards = 2;
	o.clock = tu_clock_now;
	o.clock_ctx = &f->clk;
	assert_int_equal(mtgate_engine_open(&o, &f->eng), 0);
}

static void fx_reopen(fx *f)
{
	assert_int_equal(mtgate_engine_close(f->eng), 0);
	fx_open(f);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tu_tmpdir("audit");
	atomic_init(&f->clk.now_ms, T0);
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

static uint32_t define(fx *f, uint32_t tenant, const char *sc, const char *kw,
		       bool doi)
{
	mtgate_program_def d = {
		.tenant = tenant,
		.short_code = sc,
		.keyword = kw,
		.name = kw,
		.kind = MTGATE_KIND_RECURRING,
		.limit = 4,
		.period = MTGATE_PERIOD_MONTH,
		.double_opt_in = doi,
		.welcome_text = "welcome",
		.help_text = "help",
		.quit_text = "quit",
		.confirm_text = "confirm",
	};
	uint32_t id = 0;

	assert_int_equal(mtgate_program_define(f->eng, &d, &id), 0);
	return id;
}

static int apply(fx *f, mtgate_op op, uint64_t num, uint32_t pid,
		 uint32_t actor, const char *source, int64_t at_ms)
{
	mtgate_change c = {.op = op,
			   .number = num,
			   .program = pid,
			   .channel = MTGATE_CHANNEL_WEB,
			   .source = source,
			   .at_ms = at_ms,
			   .actor = actor};
	return mtgate_apply(f->eng, &c, NULL);
}

static void mo_as(fx *f, uint32_t tenant, const char *text)
{
	assert_int_equal(
		mtgate_mo(f->eng, tenant, NUM, SC, text, strlen(text), &f->r),
		0);
}

/* The number's whole trail as tenant sees it, into f->a. */
static size_t trail(fx *f, uint32_t tenant, uint64_t num)
{
	bool more = true;

	assert_int_equal(mtgate_audit_list(f->eng, tenant, num, 0, f->a, 64,
					   &f->n, &more),
			 0);
	assert_false(more);
	return f->n;
}

static void expect_rec(const mtgate_audit_rec *a, uint32_t pid,
		       mtgate_audit_state from, mtgate_audit_state to,
		       uint32_t actor)
{
	assert_int_equal(a->program, pid);
	assert_string_equal(mtgate_audit_state_name(a->old_state),
			    mtgate_audit_state_name(from));
	assert_string_equal(mtgate_audit_state_name(a->new_state),
			    mtgate_audit_state_name(to));
	assert_int_equal(a->actor, actor);
}

/* ---- AUD-1 -------------------------------------------------------------------------- */

static void test_aud_1_api_changes_append_one_record_each(void **state)
{
	fx *f = *state;
	uint32_t p = define(f, 3, SC, "NEWS", false);
	int64_t given = T0 - 3600 * 1000;

	assert_int_equal(trail(f, MTGATE_TENANT_ANY, NUM), 0);
	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM, p, 3, "form-17", given),
			 0);
	advance(f, 1000);
	/* A repeat is no change of state: no record. */
	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM, p, 3, "form-18", 0), 0);
	advance(f, 1000);
	assert_int_equal(apply(f, MTGATE_OP_OPTOUT, NUM, p, 0, "desk", 0), 0);

	assert_int_equal(trail(f, MTGATE_TENANT_ANY, NUM), 2);
	expect_rec(&f->a[0], p, MTGATE_AUDIT_NONE, MTGATE_AUDIT_OPTED_IN, 3);
	assert_int_equal(f->a[0].number, NUM);
	assert_int_equal(f->a[0].tenant, 3);
	assert_int_equal(f->a[0].channel, MTGATE_CHANNEL_WEB);
	assert_string_equal(f->a[0].source, "form-17");
	assert_int_equal(f->a[0].at_ms, T0); /* when recorded */
	assert_int_equal(f->a[0].changed_at_ms,
			 given); /* the evidence's time */
	expect_rec(&f->a[1], p, MTGATE_AUDIT_OPTED_IN, MTGATE_AUDIT_OPTED_OUT,
		   0);
	assert_string_equal(f->a[1].source, "desk");
	assert_int_equal(f->a[1].at_ms, T0 + 2000);
	assert_true(f->a[1].seq > f->a[0].seq);
}

static void test_aud_1_mo_and_double_optin_are_recorded(void **state)
{
	fx *f = *state;
	uint32_t p = define(f, 5, SC, "GAME", true);

	mo_as(f, 5, "GAME"); /* asks for confirmation */
	advance(f, 60 * 1000);
	mo_as(f, 5, "YES");
	advance(f, 60 * 1000);
	mo_as(f, 5, "STOP");

	assert_int_equal(trail(f, 5, NUM), 3);
	expect_rec(&f->a[0], p, MTGATE_AUDIT_NONE, MTGATE_AUDIT_PENDING, 5);
	assert_int_equal(f->a[0].channel, MTGATE_CHANNEL_MO);
	expect_rec(&f->a[1], p, MTGATE_AUDIT_PENDING, MTGATE_AUDIT_OPTED_IN, 5);
	assert_string_equal(mtgate_audit_cause_name(f->a[1].cause),
			    "CONFIRMED");
	expect_rec(&f->a[2], p, MTGATE_AUDIT_OPTED_IN, MTGATE_AUDIT_OPTED_OUT,
		   5);
	assert_string_equal(f->a[2].source, "STOP"); /* the MO's text */
}

static void test_aud_1_expiries_are_the_engines(void **state)
{
	fx *f = *state;
	uint32_t d = define(f, 1, "77001", "QUIZ", true);
	uint32_t a = define(f, 1, SC, "ALPHA", false);
	uint32_t b = define(f, 1, SC, "BETA", false);
	mtgate_change req = {.op = MTGATE_OP_DOI_REQUEST,
			     .number = NUM,
			     .program = d,
			     .channel = MTGATE_CHANNEL_WEB,
			     .actor = 1};

	assert_int_equal(mtgate_apply(f->eng, &req, NULL), 0);
	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM, a, 1, NULL, 0), 0);
	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM, b, 1, NULL, 0), 0);
	mo_as(f, 1, "STOP"); /* two programs: the scope question */
	advance(f, 30 * TU_MINUTE_MS);
	assert_int_equal(mtgate_sweep(f->eng), 0);
	advance(f, 24 * 60 * TU_MINUTE_MS);
	assert_int_equal(mtgate_sweep(f->eng), 0);

	assert_int_equal(trail(f, MTGATE_TENANT_ANY, NUM), 6);
	/* The question itself changes no consent; its timeout does. */
	expect_rec(&f->a[3], a, MTGATE_AUDIT_OPTED_IN, MTGATE_AUDIT_OPTED_OUT,
		   MTGATE_ACTOR_ENGINE);
	assert_string_equal(mtgate_audit_cause_name(f->a[3].cause),
			    "SCOPE_TIMEOUT");
	expect_rec(&f->a[4], b, MTGATE_AUDIT_OPTED_IN, MTGATE_AUDIT_OPTED_OUT,
		   MTGATE_ACTOR_ENGINE);
	expect_rec(&f->a[5], d, MTGATE_AUDIT_PENDING, MTGATE_AUDIT_NONE,
		   MTGATE_ACTOR_ENGINE);
	assert_string_equal(mtgate_audit_cause_name(f->a[5].cause), "EXPIRED");
}

/* The timeout applied by the next MO, not the sweep: still the engine's,
 * from the state the question found. */
static void test_aud_1_timeout_applied_by_a_late_mo(void **state)
{
	fx *f = *state;
	uint32_t a = define(f, 4, SC, "ALPHA", false);
	uint32_t b = define(f, 4, SC, "BETA", false);

	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM, a, 4, NULL, 0), 0);
	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM, b, 4, NULL, 0), 0);
	mo_as(f, 4, "STOP");
	advance(f, 31 * TU_MINUTE_MS);
	mo_as(f, 4, "HELP"); /* no sweep ran: this MO ends the question */
	assert_int_equal(trail(f, 4, NUM), 4);
	for (int i = 2; i < 4; i++) {
		expect_rec(&f->a[i], i == 2 ? a : b, MTGATE_AUDIT_OPTED_IN,
			   MTGATE_AUDIT_OPTED_OUT, MTGATE_ACTOR_ENGINE);
		assert_string_equal(mtgate_audit_cause_name(f->a[i].cause),
				    "SCOPE_TIMEOUT");
	}
}

static void test_aud_1_deactivation_voids_every_tenants_consent(void **state)
{
	fx *f = *state;
	uint32_t p1 = define(f, 1, "11111", "ONE", false);
	uint32_t p2 = define(f, 2, "22222", "TWO", false);
	mtgate_change dc = {.op = MTGATE_OP_DEACTIVATE,
			    .number = NUM,
			    .channel = MTGATE_CHANNEL_CARRIER,
			    .reason = MTGATE_DEACT_DISCONNECT,
			    .source = "disconnects-0310.csv"};

	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM, p1, 1, NULL, 0), 0);
	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM, p2, 2, NULL, 0), 0);
	advance(f, 1000);
	assert_int_equal(mtgate_apply(f->eng, &dc, NULL), 0);
	assert_int_equal(mtgate_apply(f->eng, &dc, NULL), 0); /* again */

	assert_int_equal(trail(f, MTGATE_TENANT_ANY, NUM), 4);
	for (int i = 2; i < 4; i++) {
		expect_rec(&f->a[i], i == 2 ? p1 : p2, MTGATE_AUDIT_OPTED_IN,
			   MTGATE_AUDIT_VOIDED, 0);
		assert_int_equal(f->a[i].channel, MTGATE_CHANNEL_CARRIER);
		assert_int_equal(f->a[i].voided_by, MTGATE_DEACT_DISCONNECT);
		assert_string_equal(f->a[i].source, "disconnects-0310.csv");
	}
}

static void test_aud_1_trail_survives_restart_and_goes_on(void **state)
{
	fx *f = *state;
	uint32_t p = define(f, 1, SC, "NEWS", false);
	uint64_t seq;

	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM, p, 1, "a", 0), 0);
	assert_int_equal(trail(f, 1, NUM), 1);
	seq = f->a[0].seq;
	fx_reopen(f);
	assert_int_equal(trail(f, 1, NUM), 1);
	assert_int_equal(f->a[0].seq, seq);
	assert_string_equal(f->a[0].source, "a");
	assert_int_equal(apply(f, MTGATE_OP_OPTOUT, NUM, p, 1, "b", 0), 0);
	assert_int_equal(trail(f, 1, NUM), 2);
	assert_true(f->a[1].seq > seq); /* never reused */
}

/* A file repeating one number: the first row changes it, every other is
 * unchanged, answered in order, and one record is written. (Repeats used
 * to chain in flight and make this quadratic.) */
static void test_aud_1_repeats_in_one_batch_write_one_record(void **state)
{
	fx *f = *state;
	uint32_t p = define(f, 1, SC, "NEWS", false);
	enum { N = 20000 };
	mtgate_change *c = calloc(N, sizeof(*c));
	mtgate_outcome *oc = calloc(N, sizeof(*oc));
	int *res = calloc(N, sizeof(*res));

	assert_non_null(c);
	assert_non_null(oc);
	assert_non_null(res);
	for (int i = 0; i < N; i++)
		c[i] = (mtgate_change){.op = MTGATE_OP_OPTIN,
				       .number = NUM,
				       .program = p,
				       .channel = MTGATE_CHANNEL_IMPORT,
				       .source = "same.csv",
				       .actor = 1};
	c[N / 2].op = MTGATE_OP_OPTOUT; /* one real change in the middle */
	assert_int_equal(mtgate_apply_many(f->eng, c, N, res, oc), 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(res[i], 0);
		assert_int_equal(oc[i], i == 0 || i == N / 2 || i == N / 2 + 1
						? MTGATE_CHANGED
						: MTGATE_UNCHANGED);
	}
	assert_int_equal(trail(f, 1, NUM), 3);
	expect_rec(&f->a[2], p, MTGATE_AUDIT_OPTED_OUT, MTGATE_AUDIT_OPTED_IN,
		   1);
	free(c);
	free(oc);
	free(res);
}

/* ---- AUD-2 -------------------------------------------------------------------------- */

static void test_aud_2_history_per_tenant_in_pages(void **state)
{
	fx *f = *state;
	uint32_t p1 = define(f, 1, "11111", "ONE", false);
	uint32_t p2 = define(f, 2, "22222", "TWO", false);
	mtgate_audit_rec one;
	size_t n = 0;
	bool more = false;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM, p1, 1, NULL, 0),
				 0);
		assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM, p2, 2, NULL, 0),
				 0);
		advance(f, 1000);
		assert_int_equal(
			apply(f, MTGATE_OP_OPTOUT, NUM, p1, 1, NULL, 0), 0);
		assert_int_equal(
			apply(f, MTGATE_OP_OPTOUT, NUM, p2, 2, NULL, 0), 0);
		advance(f, 1000);
	}
	assert_int_equal(trail(f, MTGATE_TENANT_ANY, NUM), 12);
	assert_int_equal(trail(f, 2, NUM), 6);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(f->a[i].program, p2);
		assert_true(i == 0 || f->a[i].at_ms >= f->a[i - 1].at_ms);
	}
	assert_int_equal(trail(f, 9, NUM), 0);
	assert_int_equal(trail(f, 1, NUM + 1), 0);
	/* Pages: one at a time, skipping what was seen. */
	assert_int_equal(
		mtgate_audit_list(f->eng, 1, NUM, 4, &one, 1, &n, &more), 0);
	assert_int_equal(n, 1);
	assert_true(more);
	assert_int_equal(one.new_state, MTGATE_AUDIT_OPTED_IN);
	assert_int_equal(
		mtgate_audit_list(f->eng, 1, NUM, 5, &one, 1, &n, &more), 0);
	assert_int_equal(n, 1);
	assert_false(more);
	assert_int_equal(one.new_state, MTGATE_AUDIT_OPTED_OUT);
}

/* ---- AUD-3 -------------------------------------------------------------------------- */

static void test_aud_3_export_lists_current_optins_with_evidence(void **state)
{
	fx *f = *state;
	uint32_t p = define(f, 1, SC, "NEWS", false);
	uint32_t q = define(f, 1, SC, "OTHER", false);
	mtgate_export_rec e[2];
	size_t n = 0;
	bool more = false;

	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM + 3, p, 1, "c", T0 - 3),
			 0);
	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM + 1, p, 1, "a", T0 - 1),
			 0);
	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM + 2, p, 1, "b", 0), 0);
	assert_int_equal(apply(f, MTGATE_OP_OPTOUT, NUM + 2, p, 1, NULL, 0), 0);
	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM + 2, q, 1, NULL, 0), 0);
	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM + 4, p, 1, "d", 0), 0);

	assert_int_equal(mtgate_export(f->eng, p, 0, e, 2, &n, &more), 0);
	assert_int_equal(n, 2);
	assert_true(more);
	assert_int_equal(e[0].number, NUM + 1);
	assert_string_equal(e[0].source, "a");
	assert_int_equal(e[0].changed_at_ms, T0 - 1);
	assert_int_equal(e[0].channel, MTGATE_CHANNEL_WEB);
	assert_int_equal(e[1].number, NUM + 3); /* +2 opted out */
	assert_int_equal(mtgate_export(f->eng, p, e[1].number, e, 2, &n, &more),
			 0);
	assert_int_equal(n, 1);
	assert_false(more);
	assert_int_equal(e[0].number, NUM + 4);
	assert_int_equal(mtgate_export(f->eng, 999, 0, e, 2, &n, &more),
			 MTGATE_ENOPROGRAM);
}

/* ---- AUD-4 -------------------------------------------------------------------------- */

static void test_aud_4_summary_counts_states_and_the_days_changes(void **state)
{
	fx *f = *state;
	uint32_t p = define(f, 1, SC, "NEWS", false);
	uint32_t d = define(f, 1, "77001", "QUIZ", true);
	uint32_t other = define(f, 2, "22222", "TWO", false);
	int64_t day = T0 - T0 % (24 * 3600 * 1000LL);
	mtgate_change dc = {.op = MTGATE_OP_DEACTIVATE,
			    .number = NUM + 3,
			    .channel = MTGATE_CHANNEL_CARRIER,
			    .reason = MTGATE_DEACT_PORT};
	mtgate_summary_rec s[4];
	size_t n = 0;

	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(
			apply(f, MTGATE_OP_OPTIN, NUM + i, p, 1, NULL, 0), 0);
	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM, d, 1, NULL, 0), 0);
	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM, other, 2, NULL, 0), 0);
	advance(f, 24 * 3600 * 1000LL); /* the next day */
	assert_int_equal(apply(f, MTGATE_OP_OPTOUT, NUM + 1, p, 1, NULL, 0), 0);
	assert_int_equal(mtgate_apply(f->eng, &dc, NULL), 0);

	/* The first day as it ended: four opted in, one pending. */
	assert_int_equal(mtgate_summary(f->eng, 1, day, s, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(s[0].program, p);
	assert_int_equal(s[0].opted_in, 4);
	assert_int_equal(s[0].opted_out, 0);
	assert_int_equal(s[0].voided, 0);
	assert_int_equal(s[0].day_optins, 4);
	assert_int_equal(s[0].day_optouts, 0);
	assert_int_equal(s[1].program, d);
	assert_int_equal(s[1].pending, 1);
	assert_int_equal(s[1].day_other, 1);
	/* Today: two left, one opted out, one voided. */
	assert_int_equal(
		mtgate_summary(f->eng, 1, day + 24 * 3600 * 1000LL, s, 4, &n),
		0);
	assert_int_equal(s[0].opted_in, 2);
	assert_int_equal(s[0].opted_out, 1);
	assert_int_equal(s[0].voided, 1);
	assert_int_equal(s[0].day_optins, 0);
	assert_int_equal(s[0].day_optouts, 2); /* an opt-out, a void */
	/* The day before anything: nothing. */
	assert_int_equal(
		mtgate_summary(f->eng, 1, day - 24 * 3600 * 1000LL, s, 4, &n),
		0);
	assert_int_equal(s[0].opted_in + s[0].opted_out + s[0].voided, 0);
	assert_int_equal(s[1].pending, 0);
	assert_int_equal(mtgate_summary(f->eng, 2, day, s, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(s[0].program, other);
	assert_int_equal(s[0].opted_in, 1);
}

/* ---- AUD-5 -------------------------------------------------------------------------- */

static size_t feed(fx *f, uint32_t tenant, uint64_t from, size_t cap,
		   uint64_t *next)
{
	assert_int_equal(mtgate_feed_read(f->eng, tenant, from, now(f), f->a,
					  cap, &f->n, next),
			 0);
	return f->n;
}

static void test_aud_5_feed_redelivers_after_60_minutes(void **state)
{
	fx *f = *state;
	uint32_t p = define(f, 1, SC, "NEWS", false);
	uint64_t next = 0, first;

	for (uint64_t i = 0; i < 3; i++)
		assert_int_equal(
			apply(f, MTGATE_OP_OPTIN, NUM + i, p, 1, NULL, 0), 0);
	assert_int_equal(feed(f, 1, 0, 2, &next), 2);
	first = f->a[0].seq;
	assert_int_equal(f->a[0].number, NUM);
	assert_int_equal(f->a[1].number, NUM + 1);
	assert_int_equal(next, f->a[1].seq + 1);
	assert_int_equal(feed(f, 1, 0, 8, &next), 1); /* the rest */
	assert_int_equal(f->a[0].number, NUM + 2);
	assert_int_equal(feed(f, 1, 0, 8, &next), 0);
	advance(f, 59 * TU_MINUTE_MS);
	assert_int_equal(feed(f, 1, 0, 8, &next), 0); /* not yet */
	advance(f, TU_MINUTE_MS);
	assert_int_equal(feed(f, 1, 0, 8, &next), 3); /* offered again */
	assert_int_equal(f->a[0].seq, first);
	assert_int_equal(mtgate_feed_ack(f->eng, 1, f->a[1].seq), 0);
	advance(f, 61 * TU_MINUTE_MS);
	assert_int_equal(feed(f, 1, 0, 8, &next), 1); /* only the unacked */
	assert_int_equal(f->a[0].number, NUM + 2);
	assert_int_equal(mtgate_feed_ack(f->eng, 1, f->a[0].seq), 0);
	advance(f, 61 * TU_MINUTE_MS);
	assert_int_equal(feed(f, 1, 0, 8, &next), 0);
	/* An explicit position reads again whatever was acknowledged. */
	assert_int_equal(feed(f, 1, first, 8, &next), 3);
}

static void test_aud_5_ack_is_durable_and_feeds_are_per_tenant(void **state)
{
	fx *f = *state;
	uint32_t p1 = define(f, 1, "11111", "ONE", false);
	uint32_t p2 = define(f, 2, "22222", "TWO", false);
	uint64_t next = 0, acked = 0;

	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM, p1, 1, NULL, 0), 0);
	assert_int_equal(apply(f, MTGATE_OP_OPTIN, NUM, p2, 2, NULL, 0), 0);
	assert_int_equal(apply(f, MTGATE_OP_OPTOUT, NUM, p1, 1, NULL, 0), 0);
	assert_int_equal(feed(f, 2, 0, 8, &next), 1);
	assert_int_equal(f->a[0].program, p2);
	assert_int_equal(feed(f, 1, 0, 8, &next), 2);
	assert_int_equal(f->a[0].program, p1);
	assert_int_equal(f->a[1].new_state, MTGATE_AUDIT_OPTED_OUT);
	assert_int_equal(mtgate_feed_ack(f->eng, 1, f->a[0].seq), 0);
	assert_int_equal(mtgate_feed_ack(f->eng, 1, 1), 0); /* lower: nothing */
	fx_reopen(f);
	assert_int_equal(mtgate_feed_acked(f->eng, 1, &acked), 0);
	assert_true(acked >= 1);
	/* After a restart the unacknowledged one is offered again at once;
	 * the acknowledged one is not. */
	assert_int_equal(feed(f, 1, 0, 8, &next), 1);
	assert_int_equal(f->a[0].new_state, MTGATE_AUDIT_OPTED_OUT);
	assert_int_equal(feed(f, 3, 0, 8, &next), 0);
	/* An acknowledgement past the end stops at the end. */
	assert_int_equal(mtgate_feed_ack(f->eng, 2, UINT64_MAX), 0);
	assert_int_equal(apply(f, MTGATE_OP_OPTOUT, NUM, p2, 2, NULL, 0), 0);
	assert_int_equal(feed(f, 2, 0, 8, &next), 1);
	assert_int_equal(f->a[0].new_state, MTGATE_AUDIT_OPTED_OUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_aud_1_api_changes_append_one_record_each),
		T(test_aud_1_mo_and_double_optin_are_recorded),
		T(test_aud_1_expiries_are_the_engines),
		T(test_aud_1_timeout_applied_by_a_late_mo),
		T(test_aud_1_deactivation_voids_every_tenants_consent),
		T(test_aud_1_trail_survives_restart_and_goes_on),
		T(test_aud_1_repeats_in_one_batch_write_one_record),
		T(test_aud_2_history_per_tenant_in_pages),
		T(test_aud_3_export_lists_current_optins_with_evidence),
		T(test_aud_4_summary_counts_states_and_the_days_changes),
		T(test_aud_5_feed_redelivers_after_60_minutes),
		T(test_aud_5_ack_is_durable_and_feeds_are_per_tenant),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

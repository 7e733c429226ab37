/*
 * Checks that what the engine acknowledges survives: a clean close and
 * reopen keeps every consent change exactly (state, channel, source,
 * changed_at, deactivations) and the gates agree; flushed counters come back
 * not below what was flushed, also when the shard's table was rebuilt after
 * they were counted; a kill -9 of a process writing from several
 * threads loses no acknowledged change (STOP-7: an opt-out is durable before
 * it is acknowledged) and no flushed count; and a storage failure (a full
 * tmpfs) makes the engine read-only without acknowledging anything undurable,
 * while gates keep answering.
 *
 * The crash tests run the writer in a child process: fork() and exec of this
 * same test binary with CRASH_CHILD_ARG. The exec matters: RocksDB keeps
 * process-wide background threads once any DB has been opened, and a plain
 * fork of this (by then multi-threaded) process would give the child an
 * environment whose threads do not exist. The child appends every
 * acknowledged change to an oracle file (one write(2) per fixed-size record,
 * O_APPEND); the parent kills it with SIGKILL, reopens the engine on the same
 * directory and checks every record of the oracle.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mtgate/engine.h"
#include "testutil.h"

/* Mid-month, so every test stays inside one counting period. */
#define T0_MS tu_utc(2024, 3, 10, 12, 0, 0)

/* ---- helpers --------------------------------------------------------------- */

struct crash_oracle;
static void oracle_free(struct crash_oracle *o);

/*
 * Every test runs in a fixture: a temporary directory (with a tmpfs mounted
 * on it for the read-only test) and at most one open engine on dir/db. The
 * teardown closes the engine, unmounts and removes the directory even when
 * the test failed half-way, so a failure leaves no thread, mount or file
 * behind.
 */
typedef struct fixture {
	char *dir;
	char *db; /* dir/db: the engine's directory */
	bool mounted;
	tu_clock clk;
	mtgate_engine *eng;       /* NULL while closed */
	bool quiet;               /* count log lines, do not print them */
	uint64_t counter_log_min; /* engine option; 0 = its default */
	_Atomic int log_lines;
	_Atomic int storage_failures; /* log lines about a failed write */
	void *mem;                    /* a test's own allocation */
	struct crash_oracle *oracle;
} fixture;

static char *path_join(const char *dir, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

static int fx_setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	fx->dir = tu_tmpdir("persist");
	fx->db = path_join(fx->dir, "db");
	atomic_store(&fx->clk.now_ms, T0_MS);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	fixture *fx = *state;
	int rc = 0;

	if (fx->eng != NULL)
		mtgate_engine_close(fx->eng);
	if (fx->oracle != NULL)
		oracle_free(fx->oracle);
	if (fx->mounted && umount2(fx->dir, MNT_DETACH) != 0)
		rc = -1;
	tu_rmrf(fx->dir);
	free(fx->mem);
	free(fx->db);
	free(fx->dir);
	free(fx);
	return rc;
}

static void fx_log(void *ctx, const char *msg)
{
	fixture *fx = ctx;

	atomic_fetch_add(&fx->log_lines, 1);
	if (strstr(msg, "storage failure") != NULL)
		atomic_fetch_add(&fx->storage_failures, 1);
	if (!fx->quiet)
		fprintf(stderr, "%s\n", msg);
}

/* Open the engine on fx->db with the fixture's clock. */
static mtgate_engine *fx_open(fixture *fx, unsigned shards)
{
	mtgate_options o;

	assert_null(fx->eng);
	mtgate_options_init(&o);
	o.path = fx->db;
	o.shards = shards;
	o.clock = tu_clock_now;
	o.clock_ctx = &fx->clk;
	o.log = fx_log;
	o.log_ctx = fx;
	o.counter_log_min = fx->counter_log_min;
	assert_int_equal(mtgate_engine_open(&o, &fx->eng), 0);
	assert_non_null(fx->eng);
	return fx->eng;
}

/* Close the engine; returns what mtgate_engine_close returned. */
static int fx_close(fixture *fx)
{
	mtgate_engine *eng = fx->eng;

	fx->eng = NULL;
	return mtgate_engine_close(eng);
}

static mtgate_engine *fx_reopen(fixture *fx, unsigned shards)
{
	assert_int_equal(fx_close(fx), 0);
	return fx_open(fx, shards);
}

/* A recurring program of limit MTs per calendar month (UTC). */
static uint32_t program_define(mtgate_engine *eng, const char *short_code,
			       const char *keyword, uint32_t limit,
			       bool double_opt_in)
{
	mtgate_program_def d = {
		.short_code = short_code,
		.keyword = keyword,
		.name = keyword,
		.kind = MTGATE_KIND_RECURRING,
		.limit = limit,
		.period = MTGATE_PERIOD_MONTH,
		.double_opt_in = double_opt_in,
		.allow_pos = true,
		.quit_text = "You are unsubscribed.",
	};
	uint32_t id = 0;

	assert_int_equal(mtgate_program_define(eng, &d, &id), 0);
	assert_true(id > 0);
	return id;
}

/* The record of program in a query answer, or NULL. */
static const mtgate_consent *consent_of(const mtgate_consent *recs, size_t n,
					uint32_t program)
{
	for (size_t i = 0; i < n; i++)
		if (recs[i].program == program)
			return &recs[i];
	return NULL;
}

/* What a gate must answer for a consent in state st (voided: opted out by
 * a deactivation), with the limit not reached. */
static mtgate_reason reason_for(mtgate_state st, bool voided)
{
	switch (st) {
	case MTGATE_STATE_OPTED_IN:
		return MTGATE_ALLOW;
	case MTGATE_STATE_OPTED_OUT:
		return voided ? MTGATE_DENY_DEACTIVATED : MTGATE_DENY_OPTED_OUT;
	case MTGATE_STATE_PENDING:
		return MTGATE_DENY_PENDING_CONFIRMATION;
	default:
		return MTGATE_DENY_NO_OPTIN;
	}
}

static mtgate_reason gate_dry(mtgate_engine *eng, uint64_t number,
			      uint32_t program)
{
	mtgate_reason r = MTGATE_REASON_MAX;

	assert_int_equal(mtgate_gate(eng, number, program, MTGATE_MODE_DRY_RUN,
				     mtgate_now(eng), &r),
			 0);
	return r;
}

/* ---- reopen keeps every change -------------------------------------------------- */

enum { P_SINGLE = 0, P_DOI = 1, P_NONE = -1 }; /* program slots of a scenario */

typedef struct scen_step {
	mtgate_op op;
	int prog; /* P_SINGLE, P_DOI; P_NONE for DEACTIVATE */
	mtgate_channel channel;
	bool repeat; /* expected outcome UNCHANGED */
} scen_step;

typedef struct scen_expect {
	mtgate_state state; /* NONE: no record */
	mtgate_deact_reason voided_by;
	int by; /* step whose change is on record */
} scen_expect;

/* A per-number story: its steps, run one per round, and the end state of
 * each program. deact_by: step of the deactivation on record, or -1. */
typedef struct scenario {
	const char *what;
	int n_steps;
	scen_step steps[4];
	scen_expect end[2];
	int deact_by;
	mtgate_deact_reason deact_reason;
} scenario;

#define NONE_END                                                               \
	{                                                                      \
		MTGATE_STATE_NONE, MTGATE_DEACT_NONE, -1                       \
	}
/* The reason of a deactivation step is the scenario's deact_reason. */
#define DEACT_STEP                                                             \
	{                                                                      \
		MTGATE_OP_DEACTIVATE, P_NONE, MTGATE_CHANNEL_CARRIER, false    \
	}

static const scenario scenarios[] = {
	{"opt-in",
	 1,
	 {{MTGATE_OP_OPTIN, P_SINGLE, MTGATE_CHANNEL_MO, false}},
	 {{MTGATE_STATE_OPTED_IN, MTGATE_DEACT_NONE, 0}, NONE_END},
	 -1,
	 MTGATE_DEACT_NONE},
	{"opt-in then opt-out",
	 2,
	 {{MTGATE_OP_OPTIN, P_SINGLE, MTGATE_CHANNEL_WEB, false},
	  {MTGATE_OP_OPTOUT, P_SINGLE, MTGATE_CHANNEL_MO, false}},
	 {{MTGATE_STATE_OPTED_OUT, MTGATE_DEACT_NONE, 1}, NONE_END},
	 -1,
	 MTGATE_DEACT_NONE},
	{"double opt-in asked",
	 1,
	 {{MTGATE_OP_OPTIN, P_DOI, MTGATE_CHANNEL_WEB, false}},
	 {NONE_END, {MTGATE_STATE_PENDING, MTGATE_DEACT_NONE, 0}},
	 -1,
	 MTGATE_DEACT_NONE},
	{"double opt-in confirmed",
	 2,
	 {{MTGATE_OP_OPTIN, P_DOI, MTGATE_CHANNEL_IVR, false},
	  {MTGATE_OP_CONFIRM, P_DOI, MTGATE_CHANNEL_MO, false}},
	 {NONE_END, {MTGATE_STATE_OPTED_IN, MTGATE_DEACT_NONE, 1}},
	 -1,
	 MTGATE_DEACT_NONE},
	{"both programs, then a disconnect",
	 4,
	 {{MTGATE_OP_OPTIN, P_SINGLE, MTGATE_CHANNEL_POS, false},
	  {MTGATE_OP_OPTIN, P_DOI, MTGATE_CHANNEL_WEB, false},
	  {MTGATE_OP_CONFIRM, P_DOI, MTGATE_CHANNEL_MO, false},
	  DEACT_STEP},
	 {{MTGATE_STATE_OPTED_OUT, MTGATE_DEACT_DISCONNECT, 3},
	  {MTGATE_STATE_OPTED_OUT, MTGATE_DEACT_DISCONNECT, 3}},
	 3,
	 MTGATE_DEACT_DISCONNECT},
	{"opt-in after a port",
	 3,
	 {{MTGATE_OP_OPTIN, P_SINGLE, MTGATE_CHANNEL_API, false},
	  DEACT_STEP,
	  {MTGATE_OP_OPTIN, P_SINGLE, MTGATE_CHANNEL_IMPORT, false}},
	 {{MTGATE_STATE_OPTED_IN, MTGATE_DEACT_NONE, 2}, NONE_END},
	 1,
	 MTGATE_DEACT_PORT},
	{"repeat opt-in keeps the first",
	 2,
	 {{MTGATE_OP_OPTIN, P_SINGLE, MTGATE_CHANNEL_MO, false},
	  {MTGATE_OP_OPTIN, P_SINGLE, MTGATE_CHANNEL_WEB, true}},
	 {{MTGATE_STATE_OPTED_IN, MTGATE_DEACT_NONE, 0}, NONE_END},
	 -1,
	 MTGATE_DEACT_NONE},
	{"in to one, out of the other",
	 3,
	 {{MTGATE_OP_OPTIN, P_SINGLE, MTGATE_CHANNEL_MO, false},
	  {MTGATE_OP_OPTIN, P_DOI, MTGATE_CHANNEL_WEB, false},
	  {MTGATE_OP_OPTOUT, P_DOI, MTGATE_CHANNEL_MO, false}},
	 {{MTGATE_STATE_OPTED_IN, MTGATE_DEACT_NONE, 0},
	  {MTGATE_STATE_OPTED_OUT, MTGATE_DEACT_NONE, 2}},
	 -1,
	 MTGATE_DEACT_NONE},
	{"opt-out without an opt-in",
	 1,
	 {{MTGATE_OP_OPTOUT, P_DOI, MTGATE_CHANNEL_API, false}},
	 {NONE_END, {MTGATE_STATE_OPTED_OUT, MTGATE_DEACT_NONE, 0}},
	 -1,
	 MTGATE_DEACT_NONE},
};
#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

#define MIX_NUMBERS  2000
#define MIX_BATCHED  1000 /* numbers [0, MIX_BATCHED) go through apply_many */
#define MIX_BATCH    250
#define MIX_BASE     15551000000ULL
#define MIX_ROUND_MS TU_MINUTE_MS

typedef struct mix {
	mtgate_engine *eng;
	tu_clock *clk;
	uint32_t prog[2];
	char src[MIX_NUMBERS][4][24];
} mix;

static const scenario *mix_scenario(size_t i)
{
	return &scenarios[i % N_SCENARIOS];
}

static int64_t mix_at(int step)
{
	return T0_MS + step * MIX_ROUND_MS;
}

/* The change of number i in round r (at_ms 0: the clock, set per round). */
static mtgate_change mix_change(mix *m, size_t i, int r)
{
	const scen_step *st = &mix_scenario(i)->steps[r];
	mtgate_change c = {.op = st->op,
			   .number = MIX_BASE + i,
			   .channel = st->channel,
			   .source = m->src[i][r]};

	if (st->op == MTGATE_OP_DEACTIVATE)
		c.reason = mix_scenario(i)->deact_reason;
	else
		c.program = m->prog[st->prog];
	return c;
}

static void mix_check_result(size_t i, int r, int rc, mtgate_outcome oc)
{
	const scen_step *st = &mix_scenario(i)->steps[r];

	if (rc != 0)
		fail_msg("number %zu (%s) step %d: %s", i,
			 mix_scenario(i)->what, r, mtgate_strerror(rc));
	assert_int_equal(oc, st->repeat ? MTGATE_UNCHANGED : MTGATE_CHANGED);
}

/* The changes of round r of numbers who[0..n), in one mtgate_apply_many. */
static void mix_apply_many(mix *m, int r, const size_t *who, size_t n)
{
	mtgate_change chgs[MIX_BATCH] = {0};
	int results[MIX_BATCH];
	mtgate_outcome outs[MIX_BATCH];

	for (size_t k = 0; k < n; k++)
		chgs[k] = mix_change(m, who[k], r);
	assert_int_equal(mtgate_apply_many(m->eng, chgs, n, results, outs), 0);
	for (size_t k = 0; k < n; k++)
		mix_check_result(who[k], r, results[k], outs[k]);
}

/* Round r: numbers below MIX_BATCHED in apply_many chunks, the rest one by
 * one with mtgate_apply. */
static void mix_round(mix *m, int r)
{
	size_t who[MIX_BATCH], n = 0;

	atomic_store(&m->clk->now_ms, mix_at(r));
	for (size_t i = 0; i < MIX_NUMBERS; i++) {
		if (r >= mix_scenario(i)->n_steps)
			continue;
		snprintf(m->src[i][r], sizeof(m->src[i][r]), "n%zu-s%d", i, r);
		if (i < MIX_BATCHED) {
			who[n++] = i;
			if (n == MIX_BATCH) {
				mix_apply_many(m, r, who, n);
				n = 0;
			}
		} else {
			mtgate_change c = mix_change(m, i, r);
			mtgate_outcome oc = 0;
			int rc = mtgate_apply(m->eng, &c, &oc);
			mix_check_result(i, r, rc, oc);
		}
	}
	if (n > 0)
		mix_apply_many(m, r, who, n);
}

/* The channel of the change that step `by` of scenario sc made. */
static mtgate_channel mix_channel(const scenario *sc, int by)
{
	return sc->steps[by].channel;
}

static void mix_check_number(mix *m, size_t i)
{
	const scenario *sc = mix_scenario(i);
	uint64_t number = MIX_BASE + i;
	mtgate_consent recs[4];
	mtgate_deactivation d;
	size_t n = 99, want_n = 0;
	char src[24];

	assert_int_equal(mtgate_query(m->eng, number, mtgate_now(m->eng), recs,
				      4, &n, &d),
			 0);
	for (int p = 0; p < 2; p++) {
		const scen_expect *e = &sc->end[p];
		const mtgate_consent *c = consent_of(recs, n, m->prog[p]);
		if (e->state == MTGATE_STATE_NONE) {
			assert_null(c);
			assert_int_equal(gate_dry(m->eng, number, m->prog[p]),
					 MTGATE_DENY_NO_OPTIN);
			continue;
		}
		want_n++;
		if (c == NULL)
			fail_msg("number %zu (%s): no record of program %d", i,
				 sc->what, p);
		snprintf(src, sizeof(src), "n%zu-s%d", i, e->by);
		assert_int_equal(c->state, e->state);
		assert_int_equal(c->voided_by, e->voided_by);
		assert_int_equal(c->channel, mix_channel(sc, e->by));
		assert_string_equal(c->source, src);
		assert_true(c->changed_at_ms == mix_at(e->by));
		assert_int_equal(gate_dry(m->eng, number, m->prog[p]),
				 reason_for(e->state,
					    e->voided_by != MTGATE_DEACT_NONE));
	}
	assert_int_equal(n, want_n);
	if (sc->deact_by < 0) {
		assert_int_equal(d.reason, MTGATE_DEACT_NONE);
	} else {
		assert_int_equal(d.reason, sc->deact_reason);
		assert_true(d.at_ms == mix_at(sc->deact_by));
	}
}

static void mix_check_all(mix *m)
{
	for (size_t i = 0; i < MIX_NUMBERS; i++)
		mix_check_number(m, i);
}

static void test_persist_reopen_keeps_every_change(void **state)
{
	fixture *fx = *state;
	mix *m = fx->mem = calloc(1, sizeof(*m));
	int rounds = 0;

	assert_non_null(m);
	m->clk = &fx->clk;
	m->eng = fx_open(fx, 2);
	m->prog[P_SINGLE] =
		program_define(m->eng, "55501", "NEWS", 1000, false);
	m->prog[P_DOI] = program_define(m->eng, "55501", "DEALS", 1000, true);
	for (size_t k = 0; k < N_SCENARIOS; k++)
		if (scenarios[k].n_steps > rounds)
			rounds = scenarios[k].n_steps;
	for (int r = 0; r < rounds; r++)
		mix_round(m, r);
	atomic_store(&fx->clk.now_ms, mix_at(rounds) + TU_HOUR_MS);
	mix_check_all(m); /* before the restart: the baseline */

	m->eng = fx_reopen(fx, 2);
	mix_check_all(m);
	/* A different shard count rebuilds the same store. */
	m->eng = fx_reopen(fx, 3);
	mix_check_all(m);
	assert_int_equal(fx_close(fx), 0);
}

/* ---- counters ------------------------------------------------------------------- */

#define CTR_NUMBERS 50
#define CTR_BASE    15552000000ULL

static uint32_t query_used(mtgate_engine *eng, uint64_t number,
			   uint32_t program)
{
	mtgate_consent recs[4];
	const mtgate_consent *c;
	size_t n = 0;

	assert_int_equal(
		mtgate_query(eng, number, mtgate_now(eng), recs, 4, &n, NULL),
		0);
	c = consent_of(recs, n, program);
	assert_non_null(c);
	return c->used;
}

/* Number i is gated 1 + i % 37 times (plus DRY_RUNs that must not count). */
static uint32_t ctr_gates(size_t i)
{
	return 1 + (uint32_t)(i % 37);
}

static void gate_counted(mtgate_engine *eng, uint64_t number, uint32_t prog)
{
	mtgate_reason r = MTGATE_REASON_MAX;

	assert_int_equal(
		mtgate_gate(eng, number, prog, MTGATE_MODE_COUNT, T0_MS, &r),
		0);
	assert_int_equal(r, MTGATE_ALLOW);
}

static void optin_web(mtgate_engine *eng, uint64_t number, uint32_t prog)
{
	assert_int_equal(
		mtgate_optin(eng, number, prog, MTGATE_CHANNEL_WEB, "form", 0),
		0);
}

static void test_persist_counters_not_below_persisted(void **state)
{
	fixture *fx = *state;
	mtgate_engine *eng = fx_open(fx, 2);
	uint32_t prog = program_define(eng, "55502", "TIPS", 1000, false);

	for (size_t i = 0; i < CTR_NUMBERS; i++)
		optin_web(eng, CTR_BASE + i, prog);
	for (size_t i = 0; i < CTR_NUMBERS; i++) {
		for (uint32_t k = 0; k < ctr_gates(i); k++) {
			gate_counted(eng, CTR_BASE + i, prog);
			assert_int_equal(gate_dry(eng, CTR_BASE + i, prog),
					 MTGATE_ALLOW);
		}
	}
	assert_int_equal(mtgate_flush_counters(eng), 0);

	atomic_store(&fx->clk.now_ms, T0_MS + TU_HOUR_MS);
	eng = fx_reopen(fx, 2);
	for (size_t i = 0; i < CTR_NUMBERS; i++)
		assert_int_equal(query_used(eng, CTR_BASE + i, prog),
				 ctr_gates(i));
	assert_int_equal(fx_close(fx), 0);
}

/* Counters made dirty before the table grows (new consents of other numbers
 * rebuild it and move every slot) and not touched after: the flush must
 * still find them. */
#define GROW_NUMBERS 400
#define GROW_GATES   5

static void test_persist_counters_flushed_after_table_grows(void **state)
{
	fixture *fx = *state;
	mtgate_engine *eng = fx_open(fx, 1);
	uint32_t prog = program_define(eng, "55502", "TIPS", 1000, false);

	optin_web(eng, CTR_BASE, prog);
	for (int k = 0; k < GROW_GATES; k++)
		gate_counted(eng, CTR_BASE, prog);
	for (size_t i = 1; i <= GROW_NUMBERS; i++)
		optin_web(eng, CTR_BASE + i, prog);
	assert_int_equal(query_used(eng, CTR_BASE, prog), GROW_GATES);
	assert_int_equal(mtgate_flush_counters(eng), 0);

	eng = fx_reopen(fx, 1);
	assert_int_equal(query_used(eng, CTR_BASE, prog), GROW_GATES);
	assert_int_equal(fx_close(fx), 0);
}

/* The counter log is rewritten once it holds more than counter_log_min
 * entries and twice the consents. Counting the same numbers round after
 * round, with a flush each round, grows it past that; after the rewrite the
 * log is smaller and a reopen still gives every counter its count, and a
 * deactivated number's zero (written before the rewrite) still holds. */
#define REWRITE_ROUNDS 40

static void test_persist_counter_log_rewrite_keeps_counts(void **state)
{
	fixture *fx = *state;
	mtgate_engine *eng;
	mtgate_stats st;
	uint32_t prog;
	uint64_t gone = CTR_BASE + CTR_NUMBERS - 1;
	uint64_t before = 0; /* the most the log held */

	fx->counter_log_min = 64;
	eng = fx_open(fx, 2);
	prog = program_define(eng, "55502", "TIPS", 1000, false);
	for (size_t i = 0; i < CTR_NUMBERS; i++)
		optin_web(eng, CTR_BASE + i, prog);
	for (int k = 0; k < 3; k++)
		gate_counted(eng, gone, prog);
	assert_int_equal(mtgate_flush_counters(eng), 0);
	assert_int_equal(mtgate_deactivate(eng, gone, MTGATE_DEACT_DISCONNECT,
					   T0_MS, "list-1"),
			 0);
	for (int r = 0; r < REWRITE_ROUNDS; r++) {
		for (size_t i = 0; i + 1 < CTR_NUMBERS; i++)
			gate_counted(eng, CTR_BASE + i, prog);
		assert_int_equal(mtgate_flush_counters(eng), 0);
		assert_int_equal(mtgate_engine_stats(eng, &st), 0);
		if (st.counter_log_entries > before)
			before = st.counter_log_entries;
	}
	assert_int_equal(mtgate_engine_stats(eng, &st), 0);
	assert_true(st.counter_rewrites >= 1);
	/* Bounded: the trigger (twice the consents) plus a flush or two and a
	 * dump; without rewrites it would hold every round's flush. */
	assert_true(before <= 4 * CTR_NUMBERS);
	assert_true(st.counter_log_entries <= 4 * CTR_NUMBERS);

	eng = fx_reopen(fx, 2);
	for (size_t i = 0; i + 1 < CTR_NUMBERS; i++)
		assert_int_equal(query_used(eng, CTR_BASE + i, prog),
				 REWRITE_ROUNDS);
	assert_int_equal(query_used(eng, gone, prog), 0);
	/* Reopen with another shard count replays the same log. */
	eng = fx_reopen(fx, 3);
	assert_int_equal(query_used(eng, CTR_BASE, prog), REWRITE_ROUNDS);
	assert_int_equal(query_used(eng, gone, prog), 0);
	assert_int_equal(fx_close(fx), 0);
}

/* The memory bar holds after a restart too: RocksDB's key estimate counts
 * a key once per version still on disk, so a store whose consents were
 * changed several times would be sized for more than it holds. */
#define FIT_NUMBERS 20000
#define FIT_BASE    15553000000ULL

static void test_persist_reopen_sizes_store_to_consents(void **state)
{
	fixture *fx = *state;
	mtgate_engine *eng = fx_open(fx, 1);
	uint32_t prog = program_define(eng, "55504", "FIT", 10, false);
	mtgate_change *c = calloc(FIT_NUMBERS, sizeof(*c));
	int *res = calloc(FIT_NUMBERS, sizeof(*res));
	mtgate_stats st;

	assert_non_null(c);
	assert_non_null(res);
	for (int round = 0; round < 4; round++) {
		for (size_t i = 0; i < FIT_NUMBERS; i++)
			c[i] = (mtgate_change){.op = round % 2
							     ? MTGATE_OP_OPTOUT
							     : MTGATE_OP_OPTIN,
					       .number = FIT_BASE + i,
					       .program = prog,
					       .channel = MTGATE_CHANNEL_WEB};
		assert_int_equal(
			mtgate_apply_many(eng, c, FIT_NUMBERS, res, NULL), 0);
		/* Each round lands in its own file: four versions a key. */
		eng = fx_reopen(fx, 1);
	}
	assert_int_equal(mtgate_engine_stats(eng, &st), 0);
	assert_int_equal(st.consents, FIT_NUMBERS);
	assert_int_equal(st.recovered, FIT_NUMBERS);
	if (st.store_bytes > 32 * st.consents)
		fail_msg("%.1f bytes per consent after a restart",
			 (double)st.store_bytes / (double)st.consents);
	free(c);
	free(res);
	assert_int_equal(fx_close(fx), 0);
}

/* ---- kill -9 under write load -------------------------------------------------- */

#define CRASH_CHILD_ARG      "--crash-child"
#define CRASH_WRITERS        3
#define CRASH_STEPS_MAX      6
#define CRASH_BASE           16000000000ULL
#define CRASH_THREAD_SPAN    1000000ULL /* numbers per writer thread */
#define CRASH_CTR_NUMBERS    64
#define CRASH_CTR_BASE       17000000000ULL
#define CRASH_CTR_EVERY      8 /* counter rounds per oracle record */
#define CRASH_TARGET_RECORDS 5000
#define CRASH_WAIT_MS        25000
#define CRASH_DEACT          MTGATE_DEACT_PORT

enum { CP_A = 0, CP_B = 1, CP_CTR = 2, CP_N }; /* crash test programs */
static const char *const crash_kw[CP_N] = {"ALPHA", "BETA", "COUNT"};
#define CRASH_SC "70001"

enum { ORACLE_CHANGE = 1, ORACLE_COUNTED = 2, ORACLE_FAIL = 3 };

/* One acknowledged fact, written by the child after the call returned. */
typedef struct oracle_rec {
	uint64_t number; /* CHANGE, FAIL: the number; COUNTED: unused */
	int64_t value;   /* CHANGE: at_ms; COUNTED: flushed count per counter
			  * number; FAIL: the error code */
	uint32_t kind;   /* ORACLE_* */
	uint32_t step;   /* CHANGE, FAIL: index in the sequence */
} oracle_rec;
_Static_assert(sizeof(oracle_rec) == 24, "oracle records are fixed-size");

typedef struct crash_state {
	mtgate_state state; /* NONE: no record */
	bool voided;        /* opted out by the deactivation */
	int by;             /* step whose change is on record */
} crash_state;

typedef struct crash_step {
	mtgate_op op;
	int prog;             /* CP_A, CP_B; -1 for DEACTIVATE */
	crash_state after[2]; /* of CP_A and CP_B once this step is durable */
} crash_step;

#define CS_NONE                                                                \
	{                                                                      \
		MTGATE_STATE_NONE, false, -1                                   \
	}
#define CS_IN(by)                                                              \
	{                                                                      \
		MTGATE_STATE_OPTED_IN, false, by                               \
	}
#define CS_OUT(by)                                                             \
	{                                                                      \
		MTGATE_STATE_OPTED_OUT, false, by                              \
	}
#define CS_VOID(by)                                                            \
	{                                                                      \
		MTGATE_STATE_OPTED_OUT, true, by                               \
	}

/* STOP-7: most acknowledged records are opt-outs. */
static const crash_step stop7_seq[] = {
	{MTGATE_OP_OPTIN, CP_A, {CS_IN(0), CS_NONE}},
	{MTGATE_OP_OPTOUT, CP_A, {CS_OUT(1), CS_NONE}},
};

/* Every kind of change, each depending on the ones before it. */
static const crash_step load_seq[] = {
	{MTGATE_OP_OPTIN, CP_A, {CS_IN(0), CS_NONE}},
	{MTGATE_OP_OPTIN, CP_B, {CS_IN(0), CS_IN(1)}},
	{MTGATE_OP_OPTOUT, CP_A, {CS_OUT(2), CS_IN(1)}},
	{MTGATE_OP_DEACTIVATE, -1, {CS_OUT(2), CS_VOID(3)}},
	{MTGATE_OP_OPTIN, CP_A, {CS_IN(4), CS_VOID(3)}},
	{MTGATE_OP_OPTOUT, CP_A, {CS_OUT(5), CS_VOID(3)}},
};

typedef struct crash_mode {
	const char *name;
	const crash_step *seq;
	int len;
	bool counters; /* run the counter thread too */
} crash_mode;

static const crash_mode crash_modes[] = {
	{"stop7", stop7_seq, 2, false},
	{"load", load_seq, 6, true},
};

static const crash_mode *crash_mode_find(const char *name)
{
	for (size_t i = 0; i < sizeof(crash_modes) / sizeof(crash_modes[0]);
	     i++)
		if (strcmp(crash_modes[i].name, name) == 0)
			return &crash_modes[i];
	return NULL;
}

static void crash_source(char *buf, size_t len, uint64_t number, int step)
{
	snprintf(buf, len, "%llu/%d", (unsigned long long)number, step);
}

/* ---- the child: runs until killed ---- */

typedef struct crash_child {
	mtgate_engine *eng;
	tu_clock clk;
	const crash_mode *mode;
	uint32_t prog[CP_N];
	int oracle_fd;
} crash_child;

typedef struct crash_writer {
	crash_child *cc;
	unsigned idx;
} crash_writer;

static void oracle_put(crash_child *cc, uint32_t kind, uint64_t number,
		       uint32_t step, int64_t value)
{
	oracle_rec r = {
		.number = number, .value = value, .kind = kind, .step = step};

	if (write(cc->oracle_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(3);
}

/* One step of the sequence on number, dated at a fresh tick of the clock so
 * that each change of a number is later than the one before. */
static int crash_do_step(crash_child *cc, uint64_t number, int step,
			 int64_t *at_out)
{
	const crash_step *st = &cc->mode->seq[step];
	char src[48];
	int64_t at = atomic_fetch_add(&cc->clk.now_ms, 1) + 1;
	mtgate_change c = {.op = st->op,
			   .number = number,
			   .channel = MTGATE_CHANNEL_MO,
			   .at_ms = at,
			   .source = src};

	crash_source(src, sizeof(src), number, step);
	if (st->op == MTGATE_OP_DEACTIVATE) {
		c.channel = MTGATE_CHANNEL_CARRIER;
		c.reason = CRASH_DEACT;
	} else {
		c.program = cc->prog[st->prog];
	}
	*at_out = at;
	return mtgate_apply(cc->eng, &c, NULL);
}

static void *crash_writer_main(void *arg)
{
	crash_writer *w = arg;
	crash_child *cc = w->cc;

	for (uint64_t i = 0; i < CRASH_THREAD_SPAN; i++) {
		uint64_t number = CRASH_BASE + w->idx * CRASH_THREAD_SPAN + i;
		for (int s = 0; s < cc->mode->len; s++) {
			int64_t at;
			int rc = crash_do_step(cc, number, s, &at);
			if (rc != 0) {
				oracle_put(cc, ORACLE_FAIL, number, (uint32_t)s,
					   rc);
				return NULL;
			}
			oracle_put(cc, ORACLE_CHANGE, number, (uint32_t)s, at);
		}
	}
	return NULL;
}

/* Gate every counter number once per round; after each flush the count is
 * on disk, so the oracle may claim it. */
static void *crash_counter_main(void *arg)
{
	crash_child *cc = arg;
	mtgate_gate_req reqs[CRASH_CTR_NUMBERS];
	mtgate_reason out[CRASH_CTR_NUMBERS];

	for (size_t j = 0; j < CRASH_CTR_NUMBERS; j++)
		reqs[j] =
			(mtgate_gate_req){CRASH_CTR_BASE + j, cc->prog[CP_CTR]};
	for (int64_t round = 1; round < MTGATE_LIMIT_MAX; round++) {
		int rc = mtgate_gate_batch(cc->eng, reqs, CRASH_CTR_NUMBERS,
					   MTGATE_MODE_COUNT, T0_MS, out);
		for (size_t j = 0; rc == 0 && j < CRASH_CTR_NUMBERS; j++)
			if (out[j] != MTGATE_ALLOW)
				rc = MTGATE_EINVAL;
		if (rc != 0) {
			oracle_put(cc, ORACLE_FAIL, 0, 0, rc);
			return NULL;
		}
		if (round % CRASH_CTR_EVERY != 0)
			continue;
		if ((rc = mtgate_flush_counters(cc->eng)) != 0) {
			oracle_put(cc, ORACLE_FAIL, 0, 0, rc);
			return NULL;
		}
		oracle_put(cc, ORACLE_COUNTED, 0, 0, round);
	}
	return NULL;
}

static int crash_child_main(const char *mode, const char *dbpath,
			    const char *oracle)
{
	static crash_child cc;
	crash_writer w[CRASH_WRITERS];
	pthread_t th[CRASH_WRITERS + 1];
	mtgate_options o;

	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
	cc.mode = crash_mode_find(mode);
	if (cc.mode == NULL)
		return 2;
	atomic_store(&cc.clk.now_ms, T0_MS);
	cc.oracle_fd = open(oracle, O_WRONLY | O_APPEND | O_CREAT, 0644);
	mtgate_options_init(&o);
	o.path = dbpath;
	o.shards = 2;
	o.clock = tu_clock_now;
	o.clock_ctx = &cc.clk;
	if (cc.oracle_fd < 0 || mtgate_engine_open(&o, &cc.eng) != 0)
		return 2;
	for (int p = 0; p < CP_N; p++)
		if (mtgate_program_find(cc.eng, CRASH_SC, crash_kw[p],
					&cc.prog[p]) != 0)
			return 2;
	for (unsigned t = 0; t < CRASH_WRITERS; t++) {
		w[t] = (crash_writer){&cc, t};
		if (pthread_create(&th[t], NULL, crash_writer_main, &w[t]) != 0)
			return 2;
	}
	if (cc.mode->counters &&
	    pthread_create(&th[CRASH_WRITERS], NULL, crash_counter_main, &cc))
		return 2;
	for (unsigned t = 0; t < CRASH_WRITERS; t++)
		pthread_join(th[t], NULL);
	return 4; /* the parent kills us long before the writers finish */
}

/* ---- the parent ---- */

/* What the oracle says about one writer's number. */
typedef struct crash_seen {
	int last; /* last acknowledged step, -1 none */
	int64_t at_ms[CRASH_STEPS_MAX];
} crash_seen;

struct crash_oracle {
	crash_seen *seen[CRASH_WRITERS];
	uint64_t n[CRASH_WRITERS]; /* numbers touched: highest index + 1 */
	size_t changes;
	int64_t counted; /* highest flushed count */
};
typedef struct crash_oracle crash_oracle;

/* The engine directory with the programs and the counter numbers opted in. */
static void crash_setup(fixture *fx)
{
	mtgate_engine *eng = fx_open(fx, 2);
	uint32_t prog[CP_N];

	prog[CP_A] = program_define(eng, CRASH_SC, crash_kw[CP_A], 1000, false);
	prog[CP_B] = program_define(eng, CRASH_SC, crash_kw[CP_B], 1000, false);
	prog[CP_CTR] = program_define(eng, CRASH_SC, crash_kw[CP_CTR],
				      MTGATE_LIMIT_MAX, false);
	for (size_t j = 0; j < CRASH_CTR_NUMBERS; j++)
		assert_int_equal(mtgate_optin(eng, CRASH_CTR_BASE + j,
					      prog[CP_CTR], MTGATE_CHANNEL_WEB,
					      "setup", 0),
				 0);
	assert_int_equal(fx_close(fx), 0);
}

static pid_t crash_spawn(const char *mode, const char *dbpath,
			 const char *oracle)
{
	char *argv[] = {"test_persist", CRASH_CHILD_ARG, (char *)mode,
			(char *)dbpath, (char *)oracle,  NULL};
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	return pid;
}

static int64_t elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Wait until the oracle holds target records, then SIGKILL the child.
 * Returns the child's wait status: killed by SIGKILL unless it died on its
 * own (the oracle then says why). Fails the test when the wait times out. */
static int crash_wait_and_kill(pid_t pid, const char *oracle, size_t target)
{
	const struct timespec tick = {0, 5 * 1000 * 1000};
	struct timespec t0;
	struct stat st;
	int status = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (stat(oracle, &st) == 0 &&
		    (size_t)st.st_size >= target * sizeof(oracle_rec))
			break;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		if (elapsed_ms(&t0) > CRASH_WAIT_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("crash child wrote %lld of %zu records in %d "
				 "ms",
				 (long long)(st.st_size / sizeof(oracle_rec)),
				 target, CRASH_WAIT_MS);
		}
		nanosleep(&tick, NULL); /* a real process: poll its progress */
	}
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void oracle_add_change(crash_oracle *o, const crash_mode *m,
			      const oracle_rec *r)
{
	uint64_t rel = r->number - CRASH_BASE;
	unsigned t = (unsigned)(rel / CRASH_THREAD_SPAN);
	uint64_t i = rel % CRASH_THREAD_SPAN;
	crash_seen *s;

	assert_true(r->number >= CRASH_BASE && t < CRASH_WRITERS);
	assert_true(r->step < (uint32_t)m->len);
	/* Each thread works through its numbers in order. */
	assert_true(i + 1 >= o->n[t]);
	if (i + 1 > o->n[t]) {
		assert_true(i == o->n[t]);
		o->seen[t] = realloc(o->seen[t], (i + 1) * sizeof(crash_seen));
		assert_non_null(o->seen[t]);
		o->seen[t][i].last = -1;
		o->n[t] = i + 1;
	}
	s = &o->seen[t][i];
	assert_int_equal((int)r->step, s->last + 1); /* steps in order */
	s->last = (int)r->step;
	s->at_ms[r->step] = r->value;
	o->changes++;
}

/* Read the oracle into a new fx->oracle (freed by the teardown). */
static crash_oracle *oracle_read(fixture *fx, const char *path,
				 const crash_mode *m)
{
	crash_oracle *o = fx->oracle = calloc(1, sizeof(*o));
	int fd = open(path, O_RDONLY);
	oracle_rec r;
	ssize_t got;

	assert_non_null(o);
	assert_true(fd >= 0);
	while ((got = read(fd, &r, sizeof(r))) == (ssize_t)sizeof(r)) {
		if (r.kind == ORACLE_FAIL)
			fail_msg("child: step %u of %llu failed: %s", r.step,
				 (unsigned long long)r.number,
				 mtgate_strerror((int)r.value));
		if (r.kind == ORACLE_COUNTED) {
			assert_true(r.value > o->counted);
			o->counted = r.value;
			continue;
		}
		assert_int_equal(r.kind, ORACLE_CHANGE);
		oracle_add_change(o, m, &r);
	}
	close(fd);
	assert_int_equal(got, 0); /* whole records only */
	return o;
}

static void oracle_free(crash_oracle *o)
{
	for (unsigned t = 0; t < CRASH_WRITERS; t++)
		free(o->seen[t]);
	free(o);
}

/* Does the store hold the state after step k? at_ms is checked for the
 * steps the oracle acknowledged (by <= s->last). */
static bool crash_state_is(const mtgate_consent *recs, size_t n,
			   const uint32_t *prog, uint64_t number,
			   const crash_step *st, const crash_seen *s)
{
	char src[48];

	for (int p = 0; p < 2; p++) {
		const crash_state *e = &st->after[p];
		const mtgate_consent *c = consent_of(recs, n, prog[p]);
		if (e->state == MTGATE_STATE_NONE) {
			if (c != NULL)
				return false;
			continue;
		}
		crash_source(src, sizeof(src), number, e->by);
		if (c == NULL || c->state != e->state ||
		    c->voided_by !=
			    (e->voided ? CRASH_DEACT : MTGATE_DEACT_NONE) ||
		    strcmp(c->source, src) != 0)
			return false;
		if (e->by <= s->last && c->changed_at_ms != s->at_ms[e->by])
			return false;
	}
	return true;
}

/* The number's state is the one after its last acknowledged step, or after
 * the next step (in flight when the child died: durable, not yet
 * acknowledged). Gates must agree with it. */
static void crash_check_number(mtgate_engine *eng, const crash_mode *m,
			       const uint32_t *prog, uint64_t number,
			       const crash_seen *s, bool complete)
{
	mtgate_consent recs[4];
	const crash_step *st;
	size_t n = 0;

	if (complete && s->last != m->len - 1)
		fail_msg("%llu: only %d of %d steps acknowledged",
			 (unsigned long long)number, s->last + 1, m->len);
	assert_int_equal(
		mtgate_query(eng, number, mtgate_now(eng), recs, 4, &n, NULL),
		0);
	st = &m->seq[s->last];
	if (!crash_state_is(recs, n, prog, number, st, s)) {
		st = s->last + 1 < m->len ? &m->seq[s->last + 1] : NULL;
		if (st == NULL || !crash_state_is(recs, n, prog, number, st, s))
			fail_msg("%llu: acknowledged step %d (%s) is lost: "
				 "%zu records, first state %d source '%s'",
				 (unsigned long long)number, s->last, m->name,
				 n, n ? (int)recs[0].state : -1,
				 n ? recs[0].source : "");
	}
	for (int p = 0; p < 2; p++)
		assert_int_equal(
			gate_dry(eng, number, prog[p]),
			reason_for(st->after[p].state, st->after[p].voided));
}

static void crash_check_counters(mtgate_engine *eng, uint32_t prog,
				 int64_t counted)
{
	for (size_t j = 0; j < CRASH_CTR_NUMBERS; j++) {
		uint32_t used = query_used(eng, CRASH_CTR_BASE + j, prog);
		if ((int64_t)used < counted)
			fail_msg("counter of %llu: %u after restart, %lld "
				 "flushed",
				 (unsigned long long)(CRASH_CTR_BASE + j), used,
				 (long long)counted);
	}
}

static void crash_check(fixture *fx, const crash_mode *m, const crash_oracle *o)
{
	mtgate_engine *eng;
	uint32_t prog[CP_N];

	atomic_store(&fx->clk.now_ms,
		     T0_MS + TU_HOUR_MS); /* after any change */
	eng = fx_open(fx, 2);
	for (int p = 0; p < CP_N; p++)
		assert_int_equal(mtgate_program_find(eng, CRASH_SC, crash_kw[p],
						     &prog[p]),
				 0);
	for (unsigned t = 0; t < CRASH_WRITERS; t++)
		for (uint64_t i = 0; i < o->n[t]; i++)
			crash_check_number(eng, m, prog,
					   CRASH_BASE + t * CRASH_THREAD_SPAN +
						   i,
					   &o->seen[t][i], i + 1 < o->n[t]);
	if (m->counters) {
		assert_true(o->counted > 0);
		crash_check_counters(eng, prog[CP_CTR], o->counted);
	}
	assert_int_equal(fx_close(fx), 0);
}

static void crash_run(fixture *fx, const char *mode_name)
{
	const crash_mode *m = crash_mode_find(mode_name);
	char oracle[PATH_MAX];
	crash_oracle *o;
	pid_t pid;
	int status;

	assert_non_null(m);
	snprintf(oracle, sizeof(oracle), "%s/oracle", fx->dir);
	crash_setup(fx);
	pid = crash_spawn(mode_name, fx->db, oracle);
	status = crash_wait_and_kill(pid, oracle, CRASH_TARGET_RECORDS);
	o = oracle_read(fx, oracle, m);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("crash child ended on its own (status 0x%x)", status);
	assert_true(o->changes >= CRASH_TARGET_RECORDS / 2);
	crash_check(fx, m, o);
}

/* STOP-7: every opt-out the child was told about is still an opt-out. */
static void test_stop_7_optout_survives_kill9(void **state)
{
	crash_run(*state, "stop7");
}

static void test_persist_kill9_under_write_load(void **state)
{
	crash_run(*state, "load");
}

/* ---- storage failure -------------------------------------------------------------- */

#define RO_BASE      15553000000ULL
#define RO_MAX_TRIES 200000

/* Write zeros to path until the file system is full. */
static void fill_fs(const char *path)
{
	static const char zeros[64 * 1024];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t w;

	assert_true(fd >= 0);
	while ((w = write(fd, zeros, sizeof(zeros))) > 0)
		;
	assert_int_equal(errno, ENOSPC);
	close(fd);
}

/* Opt new numbers in until a write fails; returns how many were
 * acknowledged. The first failure must be the storage error itself. */
static uint64_t optin_until_failure(mtgate_engine *eng, uint32_t prog)
{
	for (uint64_t i = 0; i < RO_MAX_TRIES; i++) {
		int rc =
			mtgate_optin(eng, RO_BASE + i, prog, MTGATE_CHANNEL_WEB,
				     "a long enough source to fill pages", 0);
		if (rc == 0)
			continue;
		assert_int_equal(rc, MTGATE_ESTORAGE);
		return i;
	}
	fail_msg("no write failed on a full file system");
	return 0;
}

static void ro_check_after_failure(mtgate_engine *eng, uint32_t prog,
				   uint64_t acked)
{
	mtgate_stats st;
	mtgate_consent recs[2];
	size_t n = 9;

	/* Read-only for good, and nothing of the failed change is kept. */
	assert_int_equal(mtgate_optin(eng, RO_BASE + acked + 1, prog,
				      MTGATE_CHANNEL_WEB, NULL, 0),
			 MTGATE_EREADONLY);
	assert_int_equal(
		mtgate_optout(eng, RO_BASE, prog, MTGATE_CHANNEL_MO, "STOP"),
		MTGATE_EREADONLY);
	assert_int_equal(mtgate_engine_stats(eng, &st), 0);
	assert_true(st.readonly);
	for (uint64_t i = 0; i < acked; i++)
		assert_int_equal(gate_dry(eng, RO_BASE + i, prog),
				 MTGATE_ALLOW);
	assert_int_equal(gate_dry(eng, RO_BASE + acked, prog),
			 MTGATE_DENY_NO_OPTIN);
	assert_int_equal(mtgate_query(eng, RO_BASE + acked, mtgate_now(eng),
				      recs, 2, &n, NULL),
			 0);
	assert_int_equal(n, 0);
}

/* The fixture with a 4 MB tmpfs mounted on its directory (the teardown
 * unmounts it). Not mounted when the kernel refuses: the test skips. */
static int ro_setup(void **state)
{
	fixture *fx;

	if (fx_setup(state) != 0)
		return -1;
	fx = *state;
	fx->mounted = mount("mtgate-test", fx->dir, "tmpfs", 0, "size=4m") == 0;
	fx->quiet = true; /* the storage failure is logged on purpose */
	return 0;
}

static void test_persist_readonly_after_write_failure(void **state)
{
	fixture *fx = *state;
	char filler[PATH_MAX];
	mtgate_engine *eng;
	mtgate_stats st;
	uint32_t prog;
	uint64_t acked;

	if (!fx->mounted)
		skip(); /* mounting a tmpfs needs CAP_SYS_ADMIN */
	snprintf(filler, sizeof(filler), "%s/filler", fx->dir);
	eng = fx_open(fx, 2);
	prog = program_define(eng, "55503", "ALERTS", 1000, false);
	fill_fs(filler);
	acked = optin_until_failure(eng, prog);
	assert_true(atomic_load(&fx->storage_failures) >= 1);
	ro_check_after_failure(eng, prog, acked);
	assert_int_equal(fx_close(fx), MTGATE_ESTORAGE);

	/* With room again, every acknowledged opt-in is there. */
	assert_int_equal(unlink(filler), 0);
	eng = fx_open(fx, 2);
	assert_int_equal(mtgate_engine_stats(eng, &st), 0);
	assert_false(st.readonly);
	for (uint64_t i = 0; i < acked; i++)
		assert_int_equal(gate_dry(eng, RO_BASE + i, prog),
				 MTGATE_ALLOW);
	assert_int_equal(gate_dry(eng, RO_BASE + acked, prog),
			 MTGATE_DENY_NO_OPTIN);
	assert_int_equal(fx_close(fx), 0);
}

int main(int argc, char **argv)
{
#define FX_TEST(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		FX_TEST(test_persist_reopen_keeps_every_change),
		FX_TEST(test_persist_counters_not_below_persisted),
		FX_TEST(test_persist_counters_flushed_after_table_grows),
		FX_TEST(test_persist_counter_log_rewrite_keeps_counts),
		FX_TEST(test_persist_reopen_sizes_store_to_consents),
		FX_TEST(test_stop_7_optout_survives_kill9),
		FX_TEST(test_persist_kill9_under_write_load),
		cmocka_unit_test_setup_teardown(
			test_persist_readonly_after_write_failure, ro_setup,
			fx_teardown),
	};

	if (argc == 5 && strcmp(argv[1], CRASH_CHILD_ARG) == 0)
		return crash_child_main(argv[2], argv[3], argv[4]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

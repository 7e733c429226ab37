/*
 * Checks the engine under concurrent callers: gates racing on the same
 * limited consents count each allowed MT exactly once (min(attempts, limit)
 * ALLOWs in total, never more), an acknowledged opt-in or opt-out is seen by
 * the very next gate from the same thread while other threads gate and
 * write; external owner threads (attach, poll on notify, owner_submit with
 * its done callback on the owner, owner_gate_batch, MTGATE_ENOTOWNER for the
 * other shard) serve routed calls from a third thread and from each other;
 * and changes submitted faster than the WAL syncs share commits (group
 * commit).
 *
 * Threads other than the test's own never call cmocka asserts: they note
 * their first failure in a thread_report that the test checks after join.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "mtgate/engine.h"
#include "testutil.h"

/* Mid-month, so every test stays inside one counting period. */
#define T0_MS         tu_utc(2024, 5, 14, 9, 30, 0)
#define WAIT_LIMIT_MS 20000 /* a thread that needs longer is stuck */

/* ---- helpers --------------------------------------------------------------- */

typedef struct thread_report {
	int errors;
	char first[200];
} thread_report;

static void report_bad(thread_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report_bad(thread_report *r, const char *fmt, ...)
{
	va_list ap;

	if (r->errors++ > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(r->first, sizeof(r->first), fmt, ap);
	va_end(ap);
}

static void report_check(const thread_report *r, const char *who)
{
	if (r->errors > 0)
		fail_msg("%s: %d failures, first: %s", who, r->errors,
			 r->first);
}

/* Eventfds that the engine's notify callback bumps, one per shard. */
typedef struct notifier {
	int efd[2];
} notifier;

static void notify_eventfd(void *ctx, unsigned shard)
{
	notifier *nt = ctx;
	uint64_t one = 1;

	/* Non-blocking: a full counter already means "has work". */
	if (write(nt->efd[shard], &one, sizeof(one)) < 0 && errno != EAGAIN)
		abort();
}

static void notifier_init(notifier *nt, unsigned shards)
{
	for (unsigned i = 0; i < 2; i++) {
		nt->efd[i] = -1;
		if (i < shards) {
			nt->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
			assert_true(nt->efd[i] >= 0);
		}
	}
}

static void notifier_free(notifier *nt)
{
	for (unsigned i = 0; i < 2; i++)
		if (nt->efd[i] >= 0)
			close(nt->efd[i]);
}

/* Sleep until the shard is notified or timeout_ms passes, then clear it. */
static void notifier_wait(notifier *nt, unsigned shard, int timeout_ms)
{
	struct pollfd p = {.fd = nt->efd[shard], .events = POLLIN};
	uint64_t v;

	if (poll(&p, 1, timeout_ms) > 0 &&
	    read(nt->efd[shard], &v, sizeof(v)) < 0 && errno != EAGAIN)
		abort();
}

/* shards; nt != NULL: external owners notified through nt. */
static mtgate_engine *engine_open(const char *path, tu_clock *clk,
				  unsigned shards, notifier *nt)
{
	mtgate_options o;
	mtgate_engine *eng = NULL;

	mtgate_options_init(&o);
	o.path = path;
	o.shards = shards;
	o.clock = tu_clock_now;
	o.clock_ctx = clk;
	if (nt != NULL) {
		o.external_owners = true;
		o.notify = notify_eventfd;
		o.notify_ctx = nt;
	}
	assert_int_equal(mtgate_engine_open(&o, &eng), 0);
	assert_non_null(eng);
	return eng;
}

/* A recurring program of limit MTs per calendar month (UTC). */
static uint32_t program_define(mtgate_engine *eng, const char *keyword,
			       uint32_t limit)
{
	mtgate_program_def d = {
		.short_code = "66601",
		.keyword = keyword,
		.name = keyword,
		.kind = MTGATE_KIND_RECURRING,
		.limit = limit,
		.period = MTGATE_PERIOD_MONTH,
	};
	uint32_t id = 0;

	assert_int_equal(mtgate_program_define(eng, &d, &id), 0);
	return id;
}

static const mtgate_consent *consent_of(const mtgate_consent *recs, size_t n,
					uint32_t program)
{
	for (size_t i = 0; i < n; i++)
		if (recs[i].program == program)
			return &recs[i];
	return NULL;
}

/* The test thread's view of one consent: its state and count. */
static void expect_consent(mtgate_engine *eng, uint64_t number,
			   uint32_t program, mtgate_state state, uint32_t used)
{
	mtgate_consent recs[4];
	const mtgate_consent *c;
	size_t n = 0;

	assert_int_equal(
		mtgate_query(eng, number, mtgate_now(eng), recs, 4, &n, NULL),
		0);
	c = consent_of(recs, n, program);
	if (c == NULL)
		fail_msg("%llu: no consent for program %u",
			 (unsigned long long)number, program);
	assert_int_equal(c->state, state);
	assert_int_equal(c->used, used);
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

/* count numbers starting at base that live in shard (or in any shard when
 * shard is UINT32_MAX). */
static void numbers_of_shard(mtgate_engine *eng, uint64_t base, unsigned shard,
			     uint64_t *out, size_t count)
{
	size_t k = 0;

	for (uint64_t n = base; k < count; n++)
		if (shard == UINT32_MAX || mtgate_shard_of(eng, n) == shard)
			out[k++] = n;
}

static int64_t elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* ---- gates and writers on engine-run owners ---------------------------------- */

#define GT_NUMBERS       64
#define GT_BASE          18000000000ULL
#define GT_SINGLE_ROUNDS 400 /* gater 0: one mtgate_gate per request */
#define GT_BATCH_ROUNDS  300 /* gater 1: one batch, every request twice */
#define GT_ATTEMPTS      (GT_SINGLE_ROUNDS + 2 * GT_BATCH_ROUNDS)
#define GT_LIMIT_LOW     600  /* reached: no over-count */
#define GT_LIMIT_HIGH    5000 /* not reached: no lost count */
#define WR_NUMBERS       400
#define WR_BASE          18100000000ULL
#define WR_SPAN          100000ULL

enum { GP_LOW = 0, GP_HIGH = 1 };

typedef struct gt_ctx {
	mtgate_engine *eng;
	uint32_t prog[2]; /* GP_LOW, GP_HIGH */
	uint32_t wprog;   /* the writers' program */
	pthread_barrier_t start;
} gt_ctx;

typedef struct gt_thread {
	gt_ctx *cx;
	unsigned idx;
	thread_report rep;
	uint32_t allowed[2][GT_NUMBERS];
} gt_thread;

static void gt_tally(gt_thread *t, int p, size_t j, mtgate_reason r)
{
	if (r == MTGATE_ALLOW)
		t->allowed[p][j]++;
	else if (r != MTGATE_DENY_MSG_LIMIT_EXCEEDED)
		report_bad(&t->rep, "gate of %llu: %s",
			   (unsigned long long)(GT_BASE + j),
			   mtgate_reason_token(r));
}

static void gt_gate_single(gt_thread *t)
{
	gt_ctx *cx = t->cx;

	for (int r = 0; r < GT_SINGLE_ROUNDS; r++)
		for (size_t j = 0; j < GT_NUMBERS; j++)
			for (int p = 0; p < 2; p++) {
				mtgate_reason why = MTGATE_REASON_MAX;
				int rc = mtgate_gate(
					cx->eng, GT_BASE + j, cx->prog[p],
					MTGATE_MODE_COUNT, T0_MS, &why);
				if (rc != 0)
					report_bad(&t->rep, "gate: %s",
						   mtgate_strerror(rc));
				gt_tally(t, p, j, why);
			}
}

/* Each (number, program) twice in one batch: decided in array order. */
#define GT_BATCH (GT_NUMBERS * 2 * 2)

static void gt_gate_batch(gt_thread *t)
{
	gt_ctx *cx = t->cx;
	mtgate_gate_req reqs[GT_BATCH];
	mtgate_reason out[GT_BATCH];

	for (size_t k = 0; k < GT_BATCH; k++)
		reqs[k] = (mtgate_gate_req){GT_BASE + k % GT_NUMBERS,
					    cx->prog[(k / GT_NUMBERS) % 2]};
	for (int r = 0; r < GT_BATCH_ROUNDS; r++) {
		int rc = mtgate_gate_batch(cx->eng, reqs, GT_BATCH,
					   MTGATE_MODE_COUNT, T0_MS, out);
		if (rc != 0) {
			report_bad(&t->rep, "gate_batch: %s",
				   mtgate_strerror(rc));
			continue;
		}
		for (size_t k = 0; k < GT_BATCH; k++)
			gt_tally(t, (int)((k / GT_NUMBERS) % 2), k % GT_NUMBERS,
				 out[k]);
	}
}

/* Apply one change and check that the next gate of this thread sees it. */
static void wr_step(gt_thread *t, uint64_t number, bool in, mtgate_reason want)
{
	gt_ctx *cx = t->cx;
	mtgate_reason why = MTGATE_REASON_MAX;
	int rc = in ? mtgate_optin(cx->eng, number, cx->wprog,
				   MTGATE_CHANNEL_WEB, "form", 0)
		    : mtgate_optout(cx->eng, number, cx->wprog,
				    MTGATE_CHANNEL_MO, "STOP");

	if (rc != 0) {
		report_bad(&t->rep, "%s %llu: %s", in ? "optin" : "optout",
			   (unsigned long long)number, mtgate_strerror(rc));
		return;
	}
	rc = mtgate_gate(cx->eng, number, cx->wprog, MTGATE_MODE_DRY_RUN, T0_MS,
			 &why);
	if (rc != 0 || why != want)
		report_bad(&t->rep, "gate of %llu after %s: %s (rc %d)",
			   (unsigned long long)number, in ? "optin" : "optout",
			   mtgate_reason_token(why), rc);
}

static uint64_t wr_number(unsigned writer, size_t i)
{
	return WR_BASE + writer * WR_SPAN + i;
}

/* In, out, and the odd numbers in again. */
static void wr_run(gt_thread *t, unsigned writer)
{
	for (size_t i = 0; i < WR_NUMBERS; i++) {
		uint64_t number = wr_number(writer, i);
		wr_step(t, number, true, MTGATE_ALLOW);
		wr_step(t, number, false, MTGATE_DENY_OPTED_OUT);
		if (i % 2)
			wr_step(t, number, true, MTGATE_ALLOW);
	}
}

static void *gt_main(void *arg)
{
	gt_thread *t = arg;

	pthread_barrier_wait(&t->cx->start);
	switch (t->idx) {
	case 0:
		gt_gate_single(t);
		break;
	case 1:
		gt_gate_batch(t);
		break;
	default:
		wr_run(t, t->idx - 2);
		break;
	}
	return NULL;
}

static void gt_setup(gt_ctx *cx)
{
	mtgate_change chgs[GT_NUMBERS * 2];
	int results[GT_NUMBERS * 2];

	cx->prog[GP_LOW] = program_define(cx->eng, "LOW", GT_LIMIT_LOW);
	cx->prog[GP_HIGH] = program_define(cx->eng, "HIGH", GT_LIMIT_HIGH);
	cx->wprog = program_define(cx->eng, "WRITE", 1000);
	for (size_t k = 0; k < GT_NUMBERS * 2; k++)
		chgs[k] = (mtgate_change){.op = MTGATE_OP_OPTIN,
					  .number = GT_BASE + k / 2,
					  .program = cx->prog[k % 2],
					  .channel = MTGATE_CHANNEL_WEB};
	assert_int_equal(
		mtgate_apply_many(cx->eng, chgs, GT_NUMBERS * 2, results, NULL),
		0);
	for (size_t k = 0; k < GT_NUMBERS * 2; k++)
		assert_int_equal(results[k], 0);
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static void gt_check(gt_ctx *cx, gt_thread *th, size_t nth)
{
	static const uint32_t limit[2] = {GT_LIMIT_LOW, GT_LIMIT_HIGH};

	for (size_t i = 0; i < nth; i++)
		report_check(&th[i].rep, i < 2 ? "gater" : "writer");
	for (int p = 0; p < 2; p++) {
		uint32_t want = min_u32(GT_ATTEMPTS, limit[p]);
		for (size_t j = 0; j < GT_NUMBERS; j++) {
			uint32_t got =
				th[0].allowed[p][j] + th[1].allowed[p][j];
			if (got != want)
				fail_msg("%llu, limit %u: %u ALLOWs of %u "
					 "attempts, want %u",
					 (unsigned long long)(GT_BASE + j),
					 limit[p], got, GT_ATTEMPTS, want);
			expect_consent(cx->eng, GT_BASE + j, cx->prog[p],
				       MTGATE_STATE_OPTED_IN, want);
		}
	}
	for (size_t j = 0; j < GT_NUMBERS; j++)
		assert_int_equal(
			gate_dry(cx->eng, GT_BASE + j, cx->prog[GP_LOW]),
			MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	for (unsigned w = 0; w < 2; w++)
		for (size_t i = 0; i < WR_NUMBERS; i++)
			assert_int_equal(
				gate_dry(cx->eng, wr_number(w, i), cx->wprog),
				i % 2 ? MTGATE_ALLOW : MTGATE_DENY_OPTED_OUT);
}

static void test_concurrency_gate_and_optin_threads(void **state)
{
	char *dir = tu_tmpdir("conc-gate");
	gt_ctx cx;
	gt_thread th[4];
	pthread_t tid[4];
	tu_clock clk;

	(void)state;
	atomic_store(&clk.now_ms, T0_MS);
	cx.eng = engine_open(dir, &clk, 2, NULL);
	gt_setup(&cx);
	assert_int_equal(pthread_barrier_init(&cx.start, NULL, 4), 0);
	for (unsigned i = 0; i < 4; i++) {
		memset(&th[i], 0, sizeof(th[i]));
		th[i].cx = &cx;
		th[i].idx = i;
		assert_int_equal(pthread_create(&tid[i], NULL, gt_main, &th[i]),
				 0);
	}
	for (unsigned i = 0; i < 4; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&cx.start);
	gt_check(&cx, th, 4);
	assert_int_equal(mtgate_engine_close(cx.eng), 0);
	tu_rmrf(dir);
	free(dir);
}

/* ---- external owners ------------------------------------------------------------ */

#define OWN_SUBMITS        200
#define OWN_BASE           19000000000ULL
#define OWN_CALLER_NUMBERS 100
#define OWN_CALLER_BASE    19100000000ULL

typedef struct own_ctx {
	mtgate_engine *eng;
	notifier nt;
	uint32_t prog;
	uint64_t mine[2][OWN_SUBMITS]; /* numbers of shard 0 and shard 1 */
	_Atomic bool stop;
	pthread_barrier_t attached;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int ready; /* owners done with their own checks */
} own_ctx;

typedef struct own_thread {
	own_ctx *cx;
	unsigned shard;
	pthread_t self;
	int done; /* done callbacks run */
	thread_report rep;
} own_thread;

static void own_done(void *arg, int status, mtgate_outcome outcome,
		     uint32_t consents)
{
	(void)consents;
	own_thread *t = arg;

	if (!pthread_equal(pthread_self(), t->self))
		report_bad(&t->rep, "done callback off the owner thread");
	if (status != 0 || outcome != MTGATE_CHANGED)
		report_bad(&t->rep, "submit finished with %s, outcome %d",
			   mtgate_strerror(status), (int)outcome);
	t->done++;
}

static void own_submit_all(own_thread *t)
{
	own_ctx *cx = t->cx;

	for (size_t k = 0; k < OWN_SUBMITS; k++) {
		mtgate_change c = {.op = MTGATE_OP_OPTIN,
				   .number = cx->mine[t->shard][k],
				   .program = cx->prog,
				   .channel = MTGATE_CHANNEL_API};
		int rc = mtgate_owner_submit(cx->eng, &c, own_done, t);
		if (rc != 0)
			report_bad(&t->rep, "owner_submit: %s",
				   mtgate_strerror(rc));
	}
}

/* Once every submit is durable: gate the own numbers inline, be refused
 * the other shard's, and ask the other owner a question (both owners do
 * it at once: neither may deadlock). */
static void own_checks(own_thread *t)
{
	own_ctx *cx = t->cx;
	const uint64_t *other = cx->mine[1 - t->shard];
	mtgate_gate_req reqs[OWN_SUBMITS];
	mtgate_reason out[OWN_SUBMITS];
	mtgate_change c = {.op = MTGATE_OP_OPTOUT,
			   .number = other[0],
			   .program = cx->prog,
			   .channel = MTGATE_CHANNEL_MO};
	mtgate_consent rec[2];
	size_t n = 0;
	int rc;

	for (size_t k = 0; k < OWN_SUBMITS; k++)
		reqs[k] = (mtgate_gate_req){cx->mine[t->shard][k], cx->prog};
	rc = mtgate_owner_gate_batch(cx->eng, reqs, OWN_SUBMITS,
				     MTGATE_MODE_COUNT, T0_MS, out);
	for (size_t k = 0; rc == 0 && k < OWN_SUBMITS; k++)
		if (out[k] != MTGATE_ALLOW)
			report_bad(&t->rep, "owner gate: %s",
				   mtgate_reason_token(out[k]));
	if (rc != 0)
		report_bad(&t->rep, "owner_gate_batch: %s",
			   mtgate_strerror(rc));
	reqs[1].number = other[0];
	rc = mtgate_owner_gate_batch(cx->eng, reqs, 2, MTGATE_MODE_COUNT, T0_MS,
				     out);
	if (rc != MTGATE_ENOTOWNER)
		report_bad(&t->rep, "owner gate of the other shard: %d", rc);
	rc = mtgate_owner_submit(cx->eng, &c, own_done, t);
	if (rc != MTGATE_ENOTOWNER)
		report_bad(&t->rep, "owner submit to the other shard: %d", rc);
	rc = mtgate_query(cx->eng, other[1], T0_MS, rec, 2, &n, NULL);
	if (rc != 0)
		report_bad(&t->rep, "query of the other shard: %s",
			   mtgate_strerror(rc));
}

static void own_ready(own_ctx *cx)
{
	pthread_mutex_lock(&cx->lock);
	cx->ready++;
	pthread_cond_broadcast(&cx->cond);
	pthread_mutex_unlock(&cx->lock);
}

static void *own_main(void *arg)
{
	own_thread *t = arg;
	own_ctx *cx = t->cx;
	bool checked = false;
	struct timespec t0;

	t->self = pthread_self();
	if (mtgate_shard_attach(cx->eng, t->shard) != 0)
		report_bad(&t->rep, "attach failed");
	pthread_barrier_wait(&cx->attached);
	own_submit_all(t);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!(atomic_load(&cx->stop) && checked)) {
		notifier_wait(&cx->nt, t->shard, 10);
		while (mtgate_shard_poll(cx->eng, t->shard) > 0)
			;
		if (!checked && t->done == OWN_SUBMITS) {
			own_checks(t);
			checked = true;
			own_ready(cx);
		}
		if (!checked && elapsed_ms(&t0) > WAIT_LIMIT_MS) {
			report_bad(&t->rep, "%d of %d submits done", t->done,
				   OWN_SUBMITS);
			checked = true;
			own_ready(cx);
		}
	}
	return NULL;
}

/* The test thread: routed calls to both owners. */
static void own_caller(own_ctx *cx)
{
	uint64_t nums[OWN_CALLER_NUMBERS];
	mtgate_change outs[OWN_CALLER_NUMBERS / 2];
	int results[OWN_CALLER_NUMBERS / 2];

	numbers_of_shard(cx->eng, OWN_CALLER_BASE, UINT32_MAX, nums,
			 OWN_CALLER_NUMBERS);
	for (size_t i = 0; i < OWN_CALLER_NUMBERS; i++) {
		mtgate_reason r;
		assert_int_equal(mtgate_optin(cx->eng, nums[i], cx->prog,
					      MTGATE_CHANNEL_WEB, "form", 0),
				 0);
		assert_int_equal(mtgate_gate(cx->eng, nums[i], cx->prog,
					     MTGATE_MODE_COUNT, T0_MS, &r),
				 0);
		assert_int_equal(r, MTGATE_ALLOW);
		expect_consent(cx->eng, nums[i], cx->prog,
			       MTGATE_STATE_OPTED_IN, 1);
	}
	for (size_t i = 0; i < OWN_CALLER_NUMBERS / 2; i++)
		outs[i] = (mtgate_change){.op = MTGATE_OP_OPTOUT,
					  .number = nums[2 * i],
					  .program = cx->prog,
					  .channel = MTGATE_CHANNEL_MO};
	assert_int_equal(mtgate_apply_many(cx->eng, outs,
					   OWN_CALLER_NUMBERS / 2, results,
					   NULL),
			 0);
	for (size_t i = 0; i < OWN_CALLER_NUMBERS; i++) {
		if (i % 2 == 0)
			assert_int_equal(results[i / 2], 0);
		assert_int_equal(gate_dry(cx->eng, nums[i], cx->prog),
				 i % 2 ? MTGATE_ALLOW : MTGATE_DENY_OPTED_OUT);
	}
	assert_int_equal(mtgate_flush_counters(cx->eng), 0);
}

/* Wait (bounded) until both owners finished their own checks. */
static void own_wait_ready(own_ctx *cx)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_LIMIT_MS / 1000 + 1;
	pthread_mutex_lock(&cx->lock);
	while (cx->ready < 2 &&
	       pthread_cond_timedwait(&cx->cond, &cx->lock, &until) == 0)
		;
	pthread_mutex_unlock(&cx->lock);
	assert_int_equal(cx->ready, 2);
}

static void own_stop(own_ctx *cx, pthread_t *tid)
{
	atomic_store(&cx->stop, true);
	for (unsigned s = 0; s < 2; s++)
		notify_eventfd(&cx->nt, s);
	for (unsigned s = 0; s < 2; s++)
		pthread_join(tid[s], NULL);
}

static void test_concurrency_external_owners(void **state)
{
	char *dir = tu_tmpdir("conc-own");
	own_ctx *cx = calloc(1, sizeof(*cx));
	own_thread th[2];
	pthread_t tid[2];
	tu_clock clk;

	(void)state;
	assert_non_null(cx);
	atomic_store(&clk.now_ms, T0_MS);
	notifier_init(&cx->nt, 2);
	cx->eng = engine_open(dir, &clk, 2, &cx->nt);
	assert_int_equal(mtgate_engine_shards(cx->eng), 2);
	cx->prog = program_define(cx->eng, "OWN", 1000);
	for (unsigned s = 0; s < 2; s++)
		numbers_of_shard(cx->eng, OWN_BASE, s, cx->mine[s],
				 OWN_SUBMITS);
	pthread_mutex_init(&cx->lock, NULL);
	pthread_cond_init(&cx->cond, NULL);
	assert_int_equal(pthread_barrier_init(&cx->attached, NULL, 3), 0);
	for (unsigned s = 0; s < 2; s++) {
		th[s] = (own_thread){.cx = cx, .shard = s};
		assert_int_equal(
			pthread_create(&tid[s], NULL, own_main, &th[s]), 0);
	}
	pthread_barrier_wait(&cx->attached);
	/* Not an owner: the test thread is refused the owner API. */
	assert_int_equal(mtgate_shard_poll(cx->eng, 0), MTGATE_ENOTOWNER);
	own_caller(cx);
	own_wait_ready(cx);
	for (unsigned s = 0; s < 2; s++)
		for (size_t k = 0; k < OWN_SUBMITS; k++)
			expect_consent(cx->eng, cx->mine[s][k], cx->prog,
				       MTGATE_STATE_OPTED_IN, 1);
	own_stop(cx, tid);
	for (unsigned s = 0; s < 2; s++)
		report_check(&th[s].rep, s ? "owner 1" : "owner 0");
	assert_int_equal(mtgate_engine_close(cx->eng), 0);
	pthread_barrier_destroy(&cx->attached);
	pthread_cond_destroy(&cx->cond);
	pthread_mutex_destroy(&cx->lock);
	notifier_free(&cx->nt);
	free(cx);
	tu_rmrf(dir);
	free(dir);
}

/* ---- group commit ----------------------------------------------------------------- */

#define GC_CHANGES 20000
#define GC_BASE    20000000000ULL

typedef struct gc_done {
	int done;
	int failed;
	int first_error;
} gc_done;

static void gc_done_cb(void *arg, int status, mtgate_outcome outcome,
		       uint32_t consents)
{
	(void)consents;
	gc_done *d = arg;

	(void)outcome;
	d->done++;
	if (status != 0 && d->failed++ == 0)
		d->first_error = status;
}

/* The test thread owns the only shard: submit everything, then poll until
 * every done callback ran. */
static void gc_submit_and_wait(mtgate_engine *eng, notifier *nt, uint32_t prog,
			       gc_done *d)
{
	struct timespec t0;

	for (uint64_t i = 0; i < GC_CHANGES; i++) {
		mtgate_change c = {.op = MTGATE_OP_OPTIN,
				   .number = GC_BASE + i,
				   .program = prog,
				   .channel = MTGATE_CHANNEL_IMPORT,
				   .source = "bulk.csv"};
		assert_int_equal(mtgate_owner_submit(eng, &c, gc_done_cb, d),
				 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (d->done < GC_CHANGES) {
		if (elapsed_ms(&t0) > WAIT_LIMIT_MS)
			fail_msg("%d of %d changes done", d->done, GC_CHANGES);
		notifier_wait(nt, 0, 100);
		while (mtgate_shard_poll(eng, 0) > 0)
			;
	}
	if (d->failed)
		fail_msg("%d changes failed, first: %s", d->failed,
			 mtgate_strerror(d->first_error));
}

static void test_concurrency_group_commit(void **state)
{
	char *dir = tu_tmpdir("conc-gc");
	static mtgate_gate_req reqs[GC_CHANGES];
	static mtgate_reason out[GC_CHANGES];
	notifier nt;
	tu_clock clk;
	mtgate_engine *eng;
	mtgate_stats before, after;
	gc_done d = {0};
	uint64_t changes, commits;
	uint32_t prog;

	(void)state;
	atomic_store(&clk.now_ms, T0_MS);
	notifier_init(&nt, 1);
	eng = engine_open(dir, &clk, 1, &nt);
	prog = program_define(eng, "BULK", 1000);
	assert_int_equal(mtgate_shard_attach(eng, 0), 0);
	assert_int_equal(mtgate_engine_stats(eng, &before), 0);
	gc_submit_and_wait(eng, &nt, prog, &d);
	assert_int_equal(mtgate_engine_stats(eng, &after), 0);
	changes = after.changes - before.changes;
	commits = after.commits - before.commits;
	assert_int_equal(changes, GC_CHANGES);
	if (!(commits >= 1 && commits < changes / 4))
		fail_msg("%llu commits for %llu changes: no group commit",
			 (unsigned long long)commits,
			 (unsigned long long)changes);
	for (size_t i = 0; i < GC_CHANGES; i++)
		reqs[i] = (mtgate_gate_req){GC_BASE + i, prog};
	assert_int_equal(mtgate_owner_gate_batch(eng, reqs, GC_CHANGES,
						 MTGATE_MODE_DRY_RUN, T0_MS,
						 out),
			 0);
	for (size_t i = 0; i < GC_CHANGES; i++)
		assert_int_equal(out[i], MTGATE_ALLOW);
	assert_int_equal(mtgate_engine_close(eng), 0);
	notifier_free(&nt);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrency_gate_and_optin_threads),
		cmocka_unit_test(test_concurrency_external_owners),
		cmocka_unit_test(test_concurrency_group_commit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

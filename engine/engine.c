/*
 * The engine: open and recovery, owner threads, routing of any-thread calls
 * to shard owners, close. See include/mtgate/engine.h for the contract and
 * docs/design.md for the model.
 *
 * Routing: a call for a shard the calling thread owns runs inline. Any other
 * call is packed into a task on the caller's stack, pushed onto the owner's
 * mailbox (lock-free stack) and the caller sleeps on a futex until the owner
 * has finished it (for a change: until it is durable).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "util/assert.h"
#include "util/futex.h"

uintptr_t engine_thread_token(void)
{
	static _Thread_local char token;
	return (uintptr_t)&token;
}

int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t realtime_ms(void *ctx)
{
	struct timespec ts;
	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mtgate_now(const mtgate_engine *eng)
{
	return eng->opts.clock(eng->opts.clock_ctx);
}

void engine_log(mtgate_engine *eng, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (eng->opts.log != NULL)
		eng->opts.log(eng->opts.log_ctx, msg);
	else
		fprintf(stderr, "%s\n", msg);
}

int engine_put_durable(mtgate_engine *eng, enum db_cf cf, const void *key,
		       size_t klen, const void *val, size_t vlen)
{
	rocksdb_writebatch_t *wb;
	int rc;

	if (atomic_load(&eng->write_error) != 0)
		return MTGATE_EREADONLY;
	wb = rocksdb_writebatch_create();
	if (wb == NULL)
		return MTGATE_ENOMEM;
	rocksdb_writebatch_put_cf(wb, eng->db.cf[cf], key, klen, val, vlen);
	rc = db_write(&eng->db, wb, eng->opts.durable);
	rocksdb_writebatch_destroy(wb);
	if (rc < 0) {
		int zero = 0;
		atomic_compare_exchange_strong(&eng->write_error, &zero, rc);
	}
	return rc;
}

void shard_wake(shard *s)
{
	atomic_fetch_add_explicit(&s->wake, 1, memory_order_release);
	futex_wake_all(&s->wake);
	if (s->eng->opts.notify != NULL)
		s->eng->opts.notify(s->eng->opts.notify_ctx, s->idx);
}

unsigned mtgate_engine_shards(const mtgate_engine *eng)
{
	return eng->nshards;
}

unsigned mtgate_shard_of(const mtgate_engine *eng, uint64_t number)
{
	return (unsigned)(store_hash(number) % eng->nshards);
}

void mtgate_options_init(mtgate_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->counter_flush_ms = 1000;
	opts->durable = true;
}

/* ---- waiting for an owner ----------------------------------------------------------- */

void waiter_done(waiter *w)
{
	if (atomic_fetch_sub_explicit(&w->pending, 1, memory_order_acq_rel) ==
	    1)
		futex_wake_all(&w->pending);
}

/*
 * Wait for w. A thread that owns shards keeps polling all of them while it
 * waits: its own changes complete only when it applies them, and another
 * owner may be waiting on one of its shards at the same time (two owners
 * asking each other must not deadlock). It sleeps on its first shard's wake
 * word, which the committer and mailbox posts bump; a completion from
 * another shard is noticed within a millisecond.
 */
void waiter_wait(mtgate_engine *eng, waiter *w)
{
	shard *first = NULL;
	uint32_t v;

	for (unsigned i = 0; i < eng->nshards && first == NULL; i++)
		if (shard_owned(&eng->shards[i]))
			first = &eng->shards[i];
	while ((v = atomic_load_explicit(&w->pending, memory_order_acquire))) {
		uint32_t k;
		int n = 0;
		if (first == NULL) {
			futex_wait(&w->pending, v);
			continue;
		}
		k = atomic_load(&first->wake);
		for (unsigned i = 0; i < eng->nshards; i++)
			if (shard_owned(&eng->shards[i]))
				n += shard_poll(&eng->shards[i]);
		if (n == 0 && atomic_load(&w->pending))
			futex_wait_ms(&first->wake, k, 1);
	}
}

/* Run t on s's owner and wait for it, or run it here if we own s. */
void run_on_owner(mtgate_engine *eng, shard *s, task *t, waiter *w)
{
	if (shard_owned(s))
		t->run(s, t);
	else
		shard_post(s, t);
	waiter_wait(eng, w);
}

/* ---- gate --------------------------------------------------------------------------- */

typedef struct gate_call {
	task t;
	waiter *w;
	const mtgate_gate_req *reqs;
	const uint32_t *idx;
	size_t n;
	mtgate_mode mode;
	int64_t now_ms;
	mtgate_reason *out;
} gate_call;

static void gate_run(shard *s, task *t)
{
	gate_call *c = (gate_call *)t;
	shard_gate_batch(s, c->reqs, c->idx, c->n, c->mode, c->now_ms,
			 MTGATE_TENANT_ANY, c->out);
	waiter_done(c->w);
}

static int gate_args_ok(mtgate_engine *eng, mtgate_mode mode)
{
	if (eng == NULL)
		return MTGATE_EINVAL;
	if (mode != MTGATE_MODE_COUNT && mode != MTGATE_MODE_DRY_RUN)
		return MTGATE_EINVAL;
	if (atomic_load_explicit(&eng->closing, memory_order_relaxed))
		return MTGATE_ECLOSED;
	return 0;
}

int mtgate_gate(mtgate_engine *eng, uint64_t number, uint32_t program,
		mtgate_mode mode, int64_t now_ms, mtgate_reason *reason_out)
{
	mtgate_gate_req req = {number, program};
	return mtgate_gate_batch(eng, &req, 1, mode, now_ms, reason_out);
}

/* Split reqs by shard, hand each part to its owner, wait for all. */
int mtgate_gate_batch(mtgate_engine *eng, const mtgate_gate_req *reqs, size_t n,
		      mtgate_mode mode, int64_t now_ms, mtgate_reason *out)
{
	unsigned ns;
	uint32_t *idx, *cnt;
	gate_call *calls;
	waiter w;
	int rc;

	if ((rc = gate_args_ok(eng, mode)) < 0)
		return rc;
	if (n > MTGATE_BATCH_MAX || (n > 0 && (reqs == NULL || out == NULL)))
		return MTGATE_EINVAL;
	if (n == 0)
		return 0;
	ns = eng->nshards;
	idx = malloc(n * sizeof(*idx) + ns * 2 * sizeof(*cnt));
	calls = calloc(ns, sizeof(*calls));
	if (idx == NULL || calls == NULL) {
		free(idx);
		free(calls);
		return MTGATE_ENOMEM;
	}
	cnt = idx + n; /* cnt[0..ns): per shard count, then start offsets */
	memset(cnt, 0, ns * 2 * sizeof(*cnt));
	for (size_t i = 0; i < n; i++)
		cnt[mtgate_shard_of(eng, reqs[i].number)]++;
	for (unsigned s = 1; s < ns; s++)
		cnt[ns + s] = cnt[ns + s - 1] + cnt[s - 1];
	for (size_t i = 0; i < n; i++) {
		unsigned s = mtgate_shard_of(eng, reqs[i].number);
		idx[cnt[ns + s]++] = (uint32_t)i;
	}
	atomic_init(&w.pending, 0);
	for (unsigned s = 0; s < ns; s++)
		if (cnt[s])
			atomic_fetch_add(&w.pending, 1);
	for (unsigned s = 0, off = 0; s < ns; off += cnt[s], s++) {
		gate_call *c = &calls[s];
		if (cnt[s] == 0)
			continue;
		*c = (gate_call){.t.run = gate_run,
				 .w = &w,
				 .reqs = reqs,
				 .idx = idx + off,
				 .n = cnt[s],
				 .mode = mode,
				 .now_ms = now_ms,
				 .out = out};
		if (shard_owned(&eng->shards[s]))
			gate_run(&eng->shards[s], &c->t);
		else
			shard_post(&eng->shards[s], &c->t);
	}
	waiter_wait(eng, &w);
	free(calls);
	free(idx);
	return 0;
}

int mtgate_owner_gate_batch(mtgate_engine *eng, const mtgate_gate_req *reqs,
			    size_t n, mtgate_mode mode, int64_t now_ms,
			    mtgate_reason *out)
{
	return mtgate_owner_gate_batch_as(eng, MTGATE_TENANT_ANY, reqs, n, mode,
					  now_ms, out);
}

int mtgate_owner_gate_batch_as(mtgate_engine *eng, uint32_t tenant,
			       const mtgate_gate_req *reqs, size_t n,
			       mtgate_mode mode, int64_t now_ms,
			       mtgate_reason *out)
{
	int rc;

	if ((rc = gate_args_ok(eng, mode)) < 0)
		return rc;
	if (n > MTGATE_BATCH_MAX || (n > 0 && (reqs == NULL || out == NULL)))
		return MTGATE_EINVAL;
	if (eng->nshards == 1) {
		if (!shard_owned(&eng->shards[0]))
			return MTGATE_ENOTOWNER;
		return shard_gate_batch(&eng->shards[0], reqs, NULL, n, mode,
					now_ms, tenant, out);
	}
	for (size_t i = 0; i < n; i++)
		if (!shard_owned(
			    &eng->shards[mtgate_shard_of(eng, reqs[i].number)]))
			return MTGATE_ENOTOWNER;
	for (size_t i = 0; i < n; i++) {
		uint32_t k = (uint32_t)i;
		shard *s = &eng->shards[mtgate_shard_of(eng, reqs[i].number)];
		shard_gate_batch(s, reqs, &k, 1, mode, now_ms, tenant, out);
	}
	return 0;
}

/* ---- changes -------------------------------------------------------------------------- */

typedef struct apply_call {
	task t;
	waiter *w;
	const mtgate_change *chgs;
	size_t n;
	int *results;
	mtgate_outcome *outcomes;
	const uint32_t *idx;
} apply_call;

typedef struct apply_slot {
	waiter *w;
	int *result;
	mtgate_outcome *outcome;
} apply_slot;

static void apply_done_cb(void *arg, int status, mtgate_outcome outcome,
			  uint32_t consents)
{
	apply_slot *a = arg;

	(void)consents;
	*a->result = status;
	if (a->outcome != NULL)
		*a->outcome = outcome;
	waiter_done(a->w);
}

static void apply_run(shard *s, task *t)
{
	apply_call *c = (apply_call *)t;
	apply_slot *slots = (apply_slot *)(c + 1);

	for (size_t j = 0; j < c->n; j++) {
		size_t i = c->idx[j];
		int rc;
		slots[j] = (apply_slot){c->w, &c->results[i],
					c->outcomes ? &c->outcomes[i] : NULL};
		rc = shard_submit(s, &c->chgs[i], apply_done_cb, &slots[j]);
		if (rc < 0) {
			c->results[i] = rc;
			waiter_done(c->w);
		}
	}
	waiter_done(c->w); /* the task itself */
}

int mtgate_apply_many(mtgate_engine *eng, const mtgate_change *chgs, size_t n,
		      int *results, mtgate_outcome *outcomes)
{
	unsigned ns;
	uint32_t *idx;
	apply_call **calls;
	size_t off = 0;
	waiter w;

	if (eng == NULL || (n > 0 && (chgs == NULL || results == NULL)))
		return MTGATE_EINVAL;
	if (atomic_load(&eng->closing))
		return MTGATE_ECLOSED;
	if (n == 0)
		return 0;
	ns = eng->nshards;
	idx = malloc(n * sizeof(*idx));
	calls = calloc(ns, sizeof(*calls));
	if (idx == NULL || calls == NULL)
		goto nomem;
	atomic_init(&w.pending, (uint32_t)n);
	for (unsigned s = 0; s < ns; s++) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (mtgate_shard_of(eng, chgs[i].number) == s)
				idx[off + k++] = (uint32_t)i;
		if (k == 0)
			continue;
		calls[s] = malloc(sizeof(apply_call) + k * sizeof(apply_slot));
		if (calls[s] == NULL)
			goto nomem_posted;
		*calls[s] = (apply_call){.t.run = apply_run,
					 .w = &w,
					 .chgs = chgs,
					 .n = k,
					 .results = results,
					 .outcomes = outcomes,
					 .idx = idx + off};
		atomic_fetch_add(&w.pending, 1);
		off += k;
	}
	for (unsigned s = 0; s < ns; s++) {
		if (calls[s] == NULL)
			continue;
		if (shard_owned(&eng->shards[s])) {
			apply_run(&eng->shards[s], &calls[s]->t);
		} else {
			shard_post(&eng->shards[s], &calls[s]->t);
		}
	}
	waiter_wait(eng, &w);
	for (unsigned s = 0; s < ns; s++)
		free(calls[s]);
	free(calls);
	free(idx);
	return 0;
nomem_posted:
	for (unsigned s = 0; s < ns; s++)
		free(calls[s]);
nomem:
	free(calls);
	free(idx);
	return MTGATE_ENOMEM;
}

int mtgate_apply(mtgate_engine *eng, const mtgate_change *chg,
		 mtgate_outcome *outcome_out)
{
	mtgate_outcome oc = 0;
	int result = 0, rc;

	if (chg == NULL)
		return MTGATE_EINVAL;
	rc = mtgate_apply_many(eng, chg, 1, &result, &oc);
	if (rc < 0)
		return rc;
	if (outcome_out != NULL)
		*outcome_out = oc;
	return result;
}

int mtgate_optin(mtgate_engine *eng, uint64_t number, uint32_t program,
		 mtgate_channel channel, const char *source, int64_t at_ms)
{
	mtgate_change c = {.op = MTGATE_OP_OPTIN,
			   .number = number,
			   .program = program,
			   .channel = channel,
			   .at_ms = at_ms,
			   .source = source};
	return mtgate_apply(eng, &c, NULL);
}

int mtgate_optout(mtgate_engine *eng, uint64_t number, uint32_t program,
		  mtgate_channel channel, const char *source)
{
	mtgate_change c = {.op = MTGATE_OP_OPTOUT,
			   .number = number,
			   .program = program,
			   .channel = channel,
			   .source = source};
	return mtgate_apply(eng, &c, NULL);
}

int mtgate_deactivate(mtgate_engine *eng, uint64_t number,
		      mtgate_deact_reason reason, int64_t at_ms,
		      const char *source)
{
	mtgate_change c = {.op = MTGATE_OP_DEACTIVATE,
			   .number = number,
			   .channel = MTGATE_CHANNEL_CARRIER,
			   .reason = reason,
			   .at_ms = at_ms,
			   .source = source};
	return mtgate_apply(eng, &c, NULL);
}

int mtgate_owner_submit(mtgate_engine *eng, const mtgate_change *chg,
			mtgate_done_fn done, void *arg)
{
	shard *s;

	if (eng == NULL || chg == NULL)
		return MTGATE_EINVAL;
	if (chg->number == 0)
		return MTGATE_EINVAL;
	s = &eng->shards[mtgate_shard_of(eng, chg->number)];
	if (!shard_owned(s))
		return MTGATE_ENOTOWNER;
	return shard_submit(s, chg, done, arg);
}

/* ---- query, post, flush ------------------------------------------------------------------ */

typedef struct query_call {
	task t;
	waiter w;
	uint64_t number;
	int64_t now_ms;
	mtgate_consent *out;
	size_t cap, *n_out;
	mtgate_deactivation *deact_out;
	int rc;
} query_call;

static void query_run(shard *s, task *t)
{
	query_call *c = (query_call *)t;
	c->rc = shard_query(s, c->number, c->now_ms, c->out, c->cap, c->n_out,
			    c->deact_out);
	waiter_done(&c->w);
}

int mtgate_query(mtgate_engine *eng, uint64_t number, int64_t now_ms,
		 mtgate_consent *out, size_t cap, size_t *n_out,
		 mtgate_deactivation *deact_out)
{
	query_call c = {.t.run = query_run,
			.number = number,
			.now_ms = now_ms,
			.out = out,
			.cap = cap,
			.n_out = n_out,
			.deact_out = deact_out};

	if (eng == NULL || n_out == NULL || (out == NULL && cap > 0) ||
	    number == 0)
		return MTGATE_EINVAL;
	if (atomic_load(&eng->closing))
		return MTGATE_ECLOSED;
	atomic_init(&c.w.pending, 1);
	run_on_owner(eng, &eng->shards[mtgate_shard_of(eng, number)], &c.t,
		     &c.w);
	return c.rc;
}

typedef struct post_task {
	task t;
	mtgate_task_fn fn;
	void *arg;
} post_task;

static void post_run(shard *s, task *t)
{
	post_task *p = (post_task *)t;
	p->fn(s->eng, p->arg);
	free(p);
}

int mtgate_post(mtgate_engine *eng, unsigned shard_idx, mtgate_task_fn fn,
		void *arg)
{
	post_task *p;

	if (eng == NULL || fn == NULL || shard_idx >= eng->nshards)
		return MTGATE_EINVAL;
	p = malloc(sizeof(*p));
	if (p == NULL)
		return MTGATE_ENOMEM;
	*p = (post_task){.t.run = post_run, .fn = fn, .arg = arg};
	shard_post(&eng->shards[shard_idx], &p->t);
	return 0;
}

typedef struct flush_call {
	task t;
	waiter w;
	uint32_t target;
} flush_call;

static void flush_run(shard *s, task *t)
{
	flush_call *c = (flush_call *)t;
	c->target = shard_flush_counters(s, true);
	waiter_done(&c->w);
}

static void wait_counters(shard *s, uint32_t target)
{
	uint32_t v;
	while ((int32_t)((v = atomic_load(&s->ctr_done)) - target) < 0)
		futex_wait_ms(&s->ctr_done, v, 100);
}

int mtgate_flush_counters(mtgate_engine *eng)
{
	if (eng == NULL)
		return MTGATE_EINVAL;
	for (unsigned i = 0; i < eng->nshards; i++) {
		flush_call c = {.t.run = flush_run};
		atomic_init(&c.w.pending, 1);
		run_on_owner(eng, &eng->shards[i], &c.t, &c.w);
		wait_counters(&eng->shards[i], c.target);
	}
	return atomic_load(&eng->write_error);
}

int mtgate_engine_stats(mtgate_engine *eng, mtgate_stats *out)
{
	if (eng == NULL || out == NULL)
		return MTGATE_EINVAL;
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < eng->nshards; i++) {
		shard *s = &eng->shards[i];
		out->consents += atomic_load_explicit(&s->consents,
						      memory_order_relaxed);
		out->store_bytes +=
			atomic_load_explicit(&s->bytes, memory_order_relaxed);
		out->gates +=
			atomic_load_explicit(&s->gates, memory_order_relaxed);
	}
	out->commits = atomic_load(&eng->com.commits);
	out->changes = atomic_load(&eng->com.changes);
	out->counter_flushes = atomic_load(&eng->com.ctr_flushes);
	out->counter_log_entries = atomic_load(&eng->com.log_entries_pub);
	out->counter_rewrites = atomic_load(&eng->com.rewrites);
	out->readonly = atomic_load(&eng->write_error) != 0;
	out->recovered = eng->recovered;
	out->recovery_ms = eng->recovery_ms;
	out->recovery_counters_ms = eng->recovery_counters_ms;
	return 0;
}

/* ---- owners ------------------------------------------------------------------------------ */

int mtgate_shard_attach(mtgate_engine *eng, unsigned shard_idx)
{
	if (eng == NULL || shard_idx >= eng->nshards)
		return MTGATE_EINVAL;
	atomic_store(&eng->shards[shard_idx].owner, engine_thread_token());
	return 0;
}

int mtgate_shard_poll(mtgate_engine *eng, unsigned shard_idx)
{
	shard *s;

	if (eng == NULL || shard_idx >= eng->nshards)
		return MTGATE_EINVAL;
	s = &eng->shards[shard_idx];
	if (!shard_owned(s))
		return MTGATE_ENOTOWNER;
	return shard_poll(s);
}

static void *owner_main(void *arg)
{
	shard *s = arg;
	mtgate_engine *eng = s->eng;

	atomic_store(&s->owner, engine_thread_token());
	for (;;) {
		uint32_t w =
			atomic_load_explicit(&s->wake, memory_order_acquire);
		int64_t wait;
		if (shard_poll(s) > 0)
			continue;
		if (atomic_load(&eng->closing) && shard_idle(s))
			break;
		wait = s->next_flush_mono_ms - mono_ms();
		futex_wait_ms(&s->wake, w, wait < 1 ? 1 : wait);
	}
	return NULL;
}

/* ---- open and close ------------------------------------------------------------------------ */

static void engine_free(mtgate_engine *eng)
{
	if (eng->shards != NULL) {
		for (unsigned i = 0; i < eng->nshards; i++)
			shard_free(&eng->shards[i]);
		free(eng->shards);
	}
	if (eng->progs != NULL)
		programs_free(eng);
	if (eng->scs != NULL)
		shortcodes_free(eng);
	audit_close(eng);
	if (eng->db.rdb != NULL)
		db_close(&eng->db);
	free(eng->path);
	free(eng);
}

static int start_owners(mtgate_engine *eng)
{
	for (unsigned i = 0; i < eng->nshards; i++) {
		shard *s = &eng->shards[i];
		if (pthread_create(&s->thread, NULL, owner_main, s) != 0)
			return MTGATE_ENOMEM;
		s->thread_started = true;
	}
	return 0;
}

static void stop_owners(mtgate_engine *eng)
{
	for (unsigned i = 0; i < eng->nshards; i++) {
		shard *s = &eng->shards[i];
		if (!s->thread_started)
			continue;
		shard_wake(s);
		pthread_join(s->thread, NULL);
		s->thread_started = false;
	}
}

int mtgate_engine_open(const mtgate_options *opts, mtgate_engine **out)
{
	mtgate_engine *eng;
	long cores;
	int rc;

	if (opts == NULL || out == NULL || opts->path == NULL ||
	    opts->path[0] == '\0' || opts->shards > 1024 ||
	    (opts->external_owners && opts->notify == NULL))
		return MTGATE_EINVAL;
	*out = NULL;
	eng = calloc(1, sizeof(*eng));
	if (eng == NULL)
		return MTGATE_ENOMEM;
	eng->opts = *opts;
	if (eng->opts.clock == NULL)
		eng->opts.clock = realtime_ms;
	if (eng->opts.counter_flush_ms == 0)
		eng->opts.counter_flush_ms = 1000;
	cores = sysconf(_SC_NPROCESSORS_ONLN);
	eng->nshards =
		opts->shards ? opts->shards : (unsigned)(cores > 0 ? cores : 1);
	eng->path = strdup(opts->path);
	eng->opts.path = eng->path;
	eng->shards = aligned_alloc(64, sizeof(shard) * eng->nshards);
	if (eng->path == NULL || eng->shards == NULL) {
		rc = MTGATE_ENOMEM;
		goto fail;
	}
	memset(eng->shards, 0, sizeof(shard) * eng->nshards);
	if ((rc = programs_init(eng)) < 0 || (rc = shortcodes_init(eng)) < 0 ||
	    (rc = db_open(&eng->db, eng->path, eng->opts.log,
			  eng->opts.log_ctx)) < 0 ||
	    (rc = audit_open(eng)) < 0 || (rc = engine_recover(eng)) < 0 ||
	    (rc = committer_start(eng)) < 0)
		goto fail;
	if (!opts->external_owners && (rc = start_owners(eng)) < 0)
		goto fail;
	*out = eng;
	return 0;
fail:
	atomic_store(&eng->closing, true);
	stop_owners(eng);
	committer_stop(eng);
	engine_free(eng);
	return rc;
}

/* Finish everything in flight on the closing thread: owners are stopped, so
 * this thread adopts every shard, drains it and flushes its counters. */
static void drain_all(mtgate_engine *eng)
{
	for (unsigned i = 0; i < eng->nshards; i++) {
		shard *s = &eng->shards[i];
		uint32_t target;
		atomic_store(&s->owner, engine_thread_token());
		while (!shard_idle(s)) {
			uint32_t w = atomic_load(&s->wake);
			if (shard_poll(s) == 0 && !shard_idle(s))
				futex_wait_ms(&s->wake, w, 10);
		}
		target = shard_flush_counters(s, true);
		wait_counters(s, target);
	}
}

int mtgate_engine_close(mtgate_engine *eng)
{
	int rc;

	if (eng == NULL)
		return 0;
	atomic_store(&eng->closing, true);
	stop_owners(eng);
	drain_all(eng);
	committer_stop(eng);
	rc = atomic_load(&eng->write_error);
	/* Everything is in the WAL already; writing the memtables out now
	 * spares the next open the WAL replay. */
	if (rc == 0)
		rc = db_flush_all(&eng->db);
	engine_free(eng);
	return rc;
}

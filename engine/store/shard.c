/*
 * A shard: the consent store of the numbers that hash to it, with its
 * counters, its deactivations and its changes in flight. Every function here
 * runs on the shard's owner thread (or on the one thread that opens or closes
 * the engine), except shard_post and shard_wake.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "store/plan.h"
#include "util/assert.h"

int shard_init(shard *s, mtgate_engine *eng, unsigned idx, uint64_t expected)
{
	memset(s, 0, sizeof(*s));
	s->eng = eng;
	s->idx = idx;
	if (table_init(&s->table, expected) < 0 ||
	    u64map_init(&s->deact, 0) < 0 || u64map_init(&s->overlay, 0) < 0 ||
	    doimap_init(&s->doi) < 0)
		return MTGATE_ENOMEM;
	s->next_flush_mono_ms = mono_ms() + eng->opts.counter_flush_ms;
	return 0;
}

void shard_free(shard *s)
{
	while (s->fifo_head != NULL) { /* only after a failed open */
		pend *p = s->fifo_head;
		s->fifo_head = p->next_fifo;
		free(p);
	}
	while (s->pool != NULL) {
		pend *p = s->pool;
		s->pool = p->next_fifo;
		free(p);
	}
	table_free(&s->table);
	u64map_free(&s->deact);
	u64map_free(&s->overlay);
	doimap_free(&s->doi);
	free(s->scopes);
	free(s->pcache);
	free(s->dirty);
}

void shard_post(shard *s, task *t)
{
	task *old = atomic_load_explicit(&s->mailbox, memory_order_relaxed);

	do {
		t->next = old;
	} while (!atomic_compare_exchange_weak_explicit(&s->mailbox, &old, t,
							memory_order_release,
							memory_order_relaxed));
	shard_wake(s);
}

/* ---- periods ---------------------------------------------------------------- */

/* The slow path of shard_period: grow the cache or compute a new span. */
int shard_period_fill(shard *s, const prog_version *p, int64_t now_ms,
		      uint16_t *index)
{
	uint32_t id = p->def.id;
	period_cache *pc;
	int rc;

	if (id >= s->pcache_cap) {
		uint32_t cap = s->pcache_cap ? s->pcache_cap : 64;
		period_cache *n;
		while (cap <= id)
			cap *= 2;
		n = realloc(s->pcache, cap * sizeof(*n));
		if (n == NULL)
			return MTGATE_ENOMEM;
		memset(n + s->pcache_cap, 0,
		       (cap - s->pcache_cap) * sizeof(*n));
		s->pcache = n;
		s->pcache_cap = cap;
	}
	pc = &s->pcache[id];
	pc->prog = NULL;
	rc = period_span_at(p->tz_id, p->def.period, now_ms, &pc->span);
	if (rc < 0)
		return rc;
	pc->prog = p;
	*index = pc->span.index;
	return 0;
}

/* ---- the gate ----------------------------------------------------------------- */

static void mark_dirty(shard *s, store_slot *sl)
{
	if (s->dirty_overflow)
		return;
	if (s->table.grows != s->dirty_grows) {
		s->dirty_overflow = true; /* indexes moved: scan at flush */
		return;
	}
	if (s->n_dirty == s->dirty_cap) {
		uint64_t cap = s->dirty_cap ? s->dirty_cap * 2 : 1024;
		uint64_t *n;
		if (cap > s->table.cap / 16 + 1024 ||
		    (n = realloc(s->dirty, cap * sizeof(*n))) == NULL) {
			s->dirty_overflow = true;
			return;
		}
		s->dirty = n;
		s->dirty_cap = cap;
	}
	s->dirty[s->n_dirty++] = (uint64_t)(sl - s->table.slots);
}

static inline mtgate_reason gate_counted(shard *s, const prog_version *p,
					 store_slot *sl, uint64_t m,
					 mtgate_mode mode, int64_t now_ms)
{
	uint16_t period, count;

	if (p->def.kind == MTGATE_KIND_ONE_OFF) {
		period = slot_period(m); /* credits granted */
		count = slot_count(m);   /* credits used */
		if (count >= period)
			return MTGATE_DENY_MSG_LIMIT_EXCEEDED;
	} else {
		if (shard_period(s, p, now_ms, &period) < 0)
			return MTGATE_DENY_MSG_LIMIT_EXCEEDED; /* fail closed */
		count = slot_period(m) == period ? slot_count(m) : 0;
		if (count >= p->def.limit)
			return MTGATE_DENY_MSG_LIMIT_EXCEEDED;
	}
	if (mode == MTGATE_MODE_COUNT) {
		sl->meta = (m & SLOT_FLAGS) |
			   slot_meta(slot_program(m), STORE_ST_IN, true, period,
				     (uint16_t)(count + 1));
		if (!(m & SLOT_DIRTY))
			mark_dirty(s, sl);
	}
	return MTGATE_ALLOW;
}

/*
 * A consent whose short code has a STOP-4 question open for the number:
 * denied while the question is younger than 30 minutes, and opted out once
 * it is older (the sweep or the next MO writes the opt-out; the gate does
 * not wait for them). A stale flag (the question is answered) lets the
 * gate go on.
 */
static mtgate_reason gate_scope(shard *s, const prog_version *p,
				uint64_t number, uint64_t hash, int64_t now_ms)
{
	store_slot *sc =
		table_find_key(&s->table, hash, number, p->sc_id | SLOT_SC);
	uint32_t opened;

	if (sc == NULL || slot_state(sc->meta) != 1)
		return MTGATE_ALLOW;
	opened = (uint32_t)slot_count(sc->meta) << 16 | slot_period(sc->meta);
	return scope_expired(opened, now_ms) ? MTGATE_DENY_OPTED_OUT
					     : MTGATE_DENY_SCOPE_QUESTION_OPEN;
}

static inline mtgate_reason gate_one(shard *s, uint64_t number, uint32_t pid,
				     uint64_t hash, mtgate_mode mode,
				     int64_t now_ms, uint32_t tenant)
{
	const prog_version *p = prog_get(s->eng, pid);
	store_slot *sl;
	uint64_t m;

	/* Another tenant's program is answered as if it did not exist. */
	if (p == NULL ||
	    (tenant != MTGATE_TENANT_ANY && p->def.tenant != tenant))
		return MTGATE_DENY_UNKNOWN_PROGRAM;
	sl = table_find(&s->table, hash, number, pid);
	if (sl == NULL)
		return MTGATE_DENY_NO_OPTIN;
	m = sl->meta;
	switch (slot_state(m)) {
	case STORE_ST_IN:
		if (__builtin_expect((m & SLOT_SCOPE) != 0, 0)) {
			mtgate_reason r =
				gate_scope(s, p, number, hash, now_ms);
			if (r != MTGATE_ALLOW)
				return r;
		}
		return gate_counted(s, p, sl, m, mode, now_ms);
	case STORE_ST_OUT:
		return MTGATE_DENY_OPTED_OUT;
	case STORE_ST_PENDING:
		return MTGATE_DENY_PENDING_CONFIRMATION;
	case STORE_ST_VOID:
		return MTGATE_DENY_DEACTIVATED;
	default:
		return MTGATE_DENY_NO_OPTIN;
	}
}

/*
 * Decide n requests (all of this shard). idx, when not NULL, selects which
 * entries of reqs/out to use. The hash of request i+GATE_AHEAD is computed
 * and its home line prefetched while request i is decided, so up to
 * GATE_AHEAD DRAM misses are in flight at once.
 */
#define GATE_AHEAD 16

int shard_gate_batch(shard *s, const mtgate_gate_req *reqs, const uint32_t *idx,
		     size_t n, mtgate_mode mode, int64_t now_ms,
		     uint32_t tenant, mtgate_reason *out)
{
	uint64_t ring[GATE_AHEAD];
	size_t ahead = n < GATE_AHEAD ? n : GATE_AHEAD;

	for (size_t i = 0; i < ahead; i++) {
		size_t k = idx ? idx[i] : i;
		ring[i] = store_hash(reqs[k].number);
		table_prefetch(&s->table, ring[i]);
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = idx ? idx[i] : i;
		uint64_t h = ring[i % GATE_AHEAD];
		if (i + GATE_AHEAD < n) {
			size_t j = idx ? idx[i + GATE_AHEAD] : i + GATE_AHEAD;
			uint64_t hj = store_hash(reqs[j].number);
			ring[i % GATE_AHEAD] = hj;
			table_prefetch(&s->table, hj);
		}
		out[k] = gate_one(s, reqs[k].number, reqs[k].program, h, mode,
				  now_ms, tenant);
	}
	atomic_store_explicit(
		&s->gates,
		atomic_load_explicit(&s->gates, memory_order_relaxed) + n,
		memory_order_relaxed);
	return 0;
}

/* ---- counters --------------------------------------------------------------------- */

/* A deactivation in flight will zero the number's counters, and its zero
 * is already queued for the disk: an older count flushed now would land
 * after it and come back on restart. Such counters are not written. */
static bool deact_in_flight(shard *s, uint64_t number)
{
	if (s->overlay.used == 0)
		return false;
	for (pend *p = overlay_newest(s, number); p != NULL; p = p->older)
		if (p->deact != 0)
			return true;
	return false;
}

/* Clear the slot's dirty bit; fill *e and return true if it is to be
 * written. */
static bool ctr_take(shard *s, store_slot *sl, ctr_entry *e)
{
	uint64_t m = sl->meta;

	sl->meta = m & ~SLOT_DIRTY;
	if (deact_in_flight(s, sl->number))
		return false;
	e->number = sl->number;
	e->program = slot_program(m);
	e->period = slot_period(m);
	e->count = slot_count(m);
	return true;
}

static ctr_batch *ctr_batch_new(shard *s, uint64_t n)
{
	ctr_batch *cb = malloc(sizeof(*cb) + n * sizeof(ctr_entry));

	MTG_ASSERT(cb != NULL); /* counters would otherwise stay dirty */
	memset(cb, 0, sizeof(*cb));
	cb->hd.kind = COMMIT_COUNTERS;
	cb->hd.shard = s;
	return cb;
}

/* Hand every dirty counter to the committer (written within this turn).
 * Work is bounded by the dirty list, or one table scan when it overflowed.
 * Returns the ctr_done value that will mark this flush written. */
uint32_t shard_flush_counters(shard *s, bool force)
{
	store_table *t = &s->table;
	uint64_t n = 0, k = 0;
	ctr_batch *cb;

	if (t->grows != s->dirty_grows)
		s->dirty_overflow = true; /* the listed indexes moved */
	if (s->dirty_overflow) {
		for (uint64_t i = 0; i < t->cap; i++)
			n += (t->slots[i].meta & SLOT_DIRTY) != 0;
	} else {
		n = s->n_dirty;
	}
	if (n == 0 && !force)
		return s->ctr_pushed;
	cb = ctr_batch_new(s, n);
	if (s->dirty_overflow) {
		for (uint64_t i = 0; i < t->cap; i++)
			if (t->slots[i].meta & SLOT_DIRTY)
				k += ctr_take(s, &t->slots[i], &cb->ents[k]);
	} else {
		for (uint64_t i = 0; i < s->n_dirty; i++)
			k += ctr_take(s, &t->slots[s->dirty[i]], &cb->ents[k]);
	}
	MTG_ASSERT(k <= n);
	cb->n = k;
	s->n_dirty = 0;
	s->dirty_overflow = false;
	s->dirty_grows = t->grows;
	committer_push(s->eng, &cb->hd);
	return ++s->ctr_pushed;
}

/*
 * Counter log rewrite, the shard's part (the committer starts it and
 * finishes it; see committer.c). The shard writes every counter it holds,
 * dirty or not, DUMP_SLOTS slots per poll, after the rewrite began; once the
 * last part is durable, the log before the rewrite is deleted. A table
 * rebuild moves the slots under the cursor, so it starts the dump again.
 * Numbers with a deactivation in flight are left out, as in a flush: their
 * count is zero once it lands.
 */
#define DUMP_SLOTS (1u << 20)

static void shard_dump_step(shard *s, uint64_t req)
{
	store_table *t = &s->table;
	uint64_t end, k = 0;
	ctr_batch *cb;

	if (s->dump_req != req || s->dump_grows != t->grows) {
		s->dump_req = req;
		s->dump_grows = t->grows;
		s->dump_pos = 0;
	}
	end = s->dump_pos + DUMP_SLOTS < t->cap ? s->dump_pos + DUMP_SLOTS
						: t->cap;
	cb = ctr_batch_new(s, end - s->dump_pos);
	for (uint64_t i = s->dump_pos; i < end; i++) {
		store_slot *sl = &t->slots[i];
		if (sl->number == 0 || (sl->meta & SLOT_SC) ||
		    slot_count(sl->meta) == 0 || deact_in_flight(s, sl->number))
			continue;
		cb->ents[k++] = (ctr_entry){sl->number, slot_program(sl->meta),
					    slot_period(sl->meta),
					    slot_count(sl->meta)};
	}
	cb->n = k;
	s->dump_pos = end;
	if (end == t->cap) {
		cb->dump_of = req; /* the last part */
		s->dump_done = req;
	}
	committer_push(s->eng, &cb->hd);
	s->ctr_pushed++;
}

/* ---- polling ---------------------------------------------------------------------- */

static int run_mailbox(shard *s)
{
	task *t = atomic_exchange_explicit(&s->mailbox, NULL,
					   memory_order_acquire);
	task *fifo = NULL;
	int n = 0;

	while (t != NULL) {
		task *next = t->next;
		t->next = fifo;
		fifo = t;
		t = next;
	}
	while (fifo != NULL) {
		task *next = fifo->next;
		fifo->run(s, fifo); /* may free fifo */
		fifo = next;
		n++;
	}
	return n;
}

void shard_update_stats(shard *s)
{
	size_t bytes = table_bytes(&s->table) + u64map_bytes(&s->deact) +
		       u64map_bytes(&s->overlay) + doimap_bytes(&s->doi) +
		       (s->pcache ? malloc_usable_size(s->pcache) : 0) +
		       (s->dirty ? malloc_usable_size(s->dirty) : 0);
	atomic_store_explicit(&s->consents, s->table.used,
			      memory_order_relaxed);
	atomic_store_explicit(&s->bytes, bytes, memory_order_relaxed);
}

/*
 * At most one periodic counter batch per shard is in flight. When counting
 * dirties counters faster than storage writes them, the next flush waits for
 * the previous one (the slots stay dirty and go in the next batch), so the
 * committer's backlog and the memory it holds stay bounded at one batch per
 * shard; the flush interval stretches to the time a batch takes to write.
 */
#define SWEEP_MS 1000

static bool counters_idle(shard *s)
{
	return atomic_load_explicit(&s->ctr_done, memory_order_acquire) ==
	       s->ctr_pushed;
}

int shard_poll(shard *s)
{
	int n = run_mailbox(s);
	int64_t now;
	uint64_t req;

	if (shard_apply_done(s) > 0) {
		n++;
		shard_update_stats(s);
	}
	now = mono_ms();
	req = atomic_load_explicit(&s->eng->com.rewrite_req,
				   memory_order_acquire);
	if (req != 0 && s->dump_done != req && counters_idle(s)) {
		shard_dump_step(s, req);
		n++;
	}
	if (now >= s->next_sweep_mono_ms) {
		shard_sweep(s, NULL); /* DOI-5, STOP-4: what nobody answered */
		s->next_sweep_mono_ms = now + SWEEP_MS;
	}
	if (now >= s->next_flush_mono_ms && counters_idle(s)) {
		shard_flush_counters(s, false);
		s->next_flush_mono_ms = now + s->eng->opts.counter_flush_ms;
		shard_update_stats(s);
	}
	return n;
}

bool shard_idle(shard *s)
{
	return s->fifo_head == NULL &&
	       atomic_load_explicit(&s->mailbox, memory_order_acquire) == NULL;
}

/* ---- query ------------------------------------------------------------------------ */

static void query_counts(shard *s, mtgate_consent *c, uint64_t hash,
			 int64_t now_ms)
{
	const prog_version *p = prog_get(s->eng, c->program);
	store_slot *sl = table_find(&s->table, hash, c->number, c->program);
	uint16_t period;

	c->used = 0;
	c->limit = 0;
	if (p == NULL || sl == NULL)
		return;
	if (p->def.kind == MTGATE_KIND_ONE_OFF) {
		c->limit = slot_period(sl->meta);
		c->used = slot_count(sl->meta);
		return;
	}
	c->limit = p->def.limit;
	if (shard_period(s, p, now_ms, &period) == 0 &&
	    slot_period(sl->meta) == period)
		c->used = slot_count(sl->meta);
}

int shard_query(shard *s, uint64_t number, int64_t now_ms, mtgate_consent *out,
		size_t cap, size_t *n_out, mtgate_deactivation *deact_out)
{
	unsigned char key[CODEC_KEY_NUMBER];
	uint64_t hash = store_hash(number), *d;
	rocksdb_iterator_t *it;
	size_t n = 0;
	int rc = 0;

	codec_key_number(key, number);
	it = db_iter(&s->eng->db, DB_CF_CONSENTS, key, sizeof(key), false);
	if (it == NULL)
		return MTGATE_ENOMEM;
	for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl);
		const char *v = rocksdb_iter_value(it, &vl);
		codec_consent r;
		uint64_t num;
		uint32_t pid;
		if (kl < CODEC_KEY_NUMBER || memcmp(k, key, sizeof(key)) != 0)
			break;
		if ((rc = codec_key_consent_decode(k, kl, &num, &pid)) < 0 ||
		    (rc = codec_consent_decode(v, vl, &r)) < 0)
			break;
		if (n < cap) {
			mtgate_consent *c = &out[n];
			memset(c, 0, sizeof(*c));
			c->number = number;
			c->program = pid;
			c->state = (mtgate_state)r.state;
			c->channel = (mtgate_channel)r.channel;
			c->voided_by = (mtgate_deact_reason)r.voided_by;
			c->changed_at_ms = r.changed_at_ms;
			memcpy(c->source, r.source, r.source_len + 1u);
			query_counts(s, c, hash, now_ms);
		}
		n++;
	}
	if (rc == 0)
		rc = db_iter_status(&s->eng->db, it);
	rocksdb_iter_destroy(it);
	*n_out = n;
	if (deact_out != NULL) {
		d = u64map_get(&s->deact, number);
		deact_out->reason = d ? (mtgate_deact_reason)(*d & 0xFF)
				      : MTGATE_DEACT_NONE;
		deact_out->at_ms = d ? (int64_t)(*d >> 8) : 0;
	}
	return rc;
}

/* ---- recovery ---------------------------------------------------------------------- */

/* The slot word of a stored consent (recovery). */
uint64_t shard_consent_meta(uint32_t program, const codec_consent *c)
{
	static const unsigned mem[] = {
		[MTGATE_STATE_NONE] = STORE_ST_NONE,
		[MTGATE_STATE_OPTED_IN] = STORE_ST_IN,
		[MTGATE_STATE_OPTED_OUT] = STORE_ST_OUT,
		[MTGATE_STATE_PENDING] = STORE_ST_PENDING,
	};
	unsigned st = mem[c->state];

	if (c->state == MTGATE_STATE_OPTED_OUT && c->voided_by)
		st = STORE_ST_VOID;
	return slot_meta(program, st, false, c->granted, 0);
}

/* Counters, replayed from the counter log in write order: each entry
 * replaces what an earlier one set, so the last one (the newest persisted
 * value, or a deactivation's zero) stands and no counter ends below what was
 * persisted. A count of a past period is kept with its period, which a gate
 * reads as zero (GATE-5). */
void shard_load_counter(shard *s, uint64_t number, uint32_t program,
			uint16_t period, uint16_t count)
{
	store_slot *sl =
		table_find(&s->table, store_hash(number), number, program);
	const prog_version *p = prog_get(s->eng, program);
	uint64_t m;

	if (sl == NULL || p == NULL)
		return;
	m = sl->meta;
	if (p->def.kind == MTGATE_KIND_ONE_OFF)
		period = slot_period(m); /* credits granted: from the consent */
	sl->meta = slot_meta(program, slot_state(m), false, period, count);
}

/* Does the store hold a consent of number, or is a change of it in
 * flight? Owner only. */
bool shard_known(shard *s, uint64_t number)
{
	uint64_t hash = store_hash(number), i;

	if (u64map_get(&s->overlay, number) != NULL)
		return true;
	for (i = table_home(&s->table, hash);;
	     i = i + 1 == s->table.cap ? 0 : i + 1) {
		const store_slot *sl = &s->table.slots[i];
		if (sl->number == 0)
			return false;
		if (sl->number == number && !(sl->meta & SLOT_SC))
			return true;
	}
}

bool mtgate_owner_known(mtgate_engine *eng, uint64_t number)
{
	shard *s = &eng->shards[mtgate_shard_of(eng, number)];

	return number != 0 &&
	       atomic_load_explicit(&s->owner, memory_order_relaxed) ==
		       engine_thread_token() &&
	       shard_known(s, number);
}

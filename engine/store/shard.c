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
#include "util/assert.h"

int shard_init(shard *s, mtgate_engine *eng, unsigned idx, uint64_t expected)
{
	memset(s, 0, sizeof(*s));
	s->eng = eng;
	s->idx = idx;
	if (table_init(&s->table, expected) < 0 ||
	    u64map_init(&s->deact, 0) < 0 || u64map_init(&s->overlay, 0) < 0)
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
	table_free(&s->table);
	u64map_free(&s->deact);
	u64map_free(&s->overlay);
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
		sl->meta = slot_meta(slot_program(m), STORE_ST_IN, true, period,
				     (uint16_t)(count + 1));
		if (!(m & SLOT_DIRTY))
			mark_dirty(s, sl);
	}
	return MTGATE_ALLOW;
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
		     size_t n, mtgate_mode mode, int64_t now_ms, uint32_t tenant,
		     mtgate_reason *out)
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

/* ---- the newest state, durable or in flight ------------------------------------ */

typedef struct cur_consent {
	unsigned mem_state; /* STORE_ST_* */
	uint16_t granted;
	uint16_t used;
} cur_consent;

static pend *overlay_newest(shard *s, uint64_t number)
{
	uint64_t *v = u64map_get(&s->overlay, number);
	return v ? (pend *)(uintptr_t)*v : NULL;
}

static void cur_of(shard *s, uint64_t number, uint64_t hash, uint32_t pid,
		   cur_consent *c)
{
	store_slot *sl = table_find(&s->table, hash, number, pid);

	c->mem_state = sl ? slot_state(sl->meta) : STORE_ST_NONE;
	c->granted = sl ? slot_period(sl->meta) : 0;
	c->used = sl ? slot_count(sl->meta) : 0;
	for (pend *p = overlay_newest(s, number); p != NULL; p = p->older) {
		for (uint32_t i = 0; i < p->n_effects; i++) {
			if (p->effects[i].program == pid) {
				c->mem_state = p->effects[i].mem_state;
				c->granted = p->effects[i].granted;
				return;
			}
		}
	}
}

static uint64_t cur_deact(shard *s, uint64_t number)
{
	uint64_t *v;

	for (pend *p = overlay_newest(s, number); p != NULL; p = p->older)
		if (p->deact != 0)
			return p->deact;
	v = u64map_get(&s->deact, number);
	return v ? *v : 0;
}

/* ---- building a change ---------------------------------------------------------- */

typedef struct change_plan {
	uint32_t n;
	pend_effect eff[PEND_EFFECTS_MAX];
	codec_consent rec[PEND_EFFECTS_MAX];
	uint64_t deact; /* at << 8 | reason, or 0 */
	mtgate_outcome outcome;
} change_plan;

static unsigned api_state(unsigned mem_state)
{
	static const unsigned map[STORE_ST_MAX] = {
		[STORE_ST_NONE] = MTGATE_STATE_NONE,
		[STORE_ST_IN] = MTGATE_STATE_OPTED_IN,
		[STORE_ST_OUT] = MTGATE_STATE_OPTED_OUT,
		[STORE_ST_PENDING] = MTGATE_STATE_PENDING,
		[STORE_ST_VOID] = MTGATE_STATE_OPTED_OUT,
	};
	MTG_ASSERT(mem_state < STORE_ST_MAX);
	return map[mem_state];
}

static void plan_add(change_plan *pl, const mtgate_change *chg, uint32_t pid,
		     unsigned mem_state, uint16_t granted, int64_t at_ms)
{
	pend_effect *e = &pl->eff[pl->n];
	codec_consent *r = &pl->rec[pl->n];
	size_t sl = chg->source ? strlen(chg->source) : 0;

	e->program = pid;
	e->mem_state = (uint8_t)mem_state;
	e->granted = granted;
	e->changed_at_ms = at_ms;
	memset(r, 0, sizeof(*r));
	r->state = (uint8_t)api_state(mem_state);
	r->channel = (uint8_t)chg->channel;
	r->voided_by = mem_state == STORE_ST_VOID ? (uint8_t)chg->reason : 0;
	r->changed_at_ms = at_ms;
	r->granted = granted;
	r->source_len = (uint8_t)sl;
	memcpy(r->source, chg->source ? chg->source : "", sl);
	pl->n++;
	pl->outcome = MTGATE_CHANGED;
}

/* A new credit on a one-off program: unused credits of an opted-out
 * subscription do not come back. */
static int one_off_grant(const cur_consent *c, uint16_t *granted)
{
	uint32_t base = c->mem_state == STORE_ST_IN ? c->granted : c->used;
	if (base >= MTGATE_LIMIT_MAX)
		return MTGATE_ECREDITS;
	*granted = (uint16_t)(base + 1);
	return 0;
}

static int plan_optin(shard *s, const mtgate_change *chg, const prog_version *p,
		      uint64_t hash, int64_t at_ms, change_plan *pl)
{
	uint64_t d = cur_deact(s, chg->number);
	cur_consent c;
	uint16_t granted;
	int rc;

	if (d != 0 && at_ms <= (int64_t)(d >> 8))
		return MTGATE_EVOID; /* NUM-3: dated at or before */
	cur_of(s, chg->number, hash, chg->program, &c);
	if (chg->op == MTGATE_OP_CONFIRM && c.mem_state != STORE_ST_PENDING)
		return MTGATE_ENOTPENDING;
	if (chg->op == MTGATE_OP_OPTIN && p->def.double_opt_in) {
		if (c.mem_state == STORE_ST_PENDING ||
		    c.mem_state == STORE_ST_IN)
			return 0; /* UNCHANGED */
		plan_add(pl, chg, chg->program, STORE_ST_PENDING, c.granted,
			 at_ms);
		return 0;
	}
	if (p->def.kind == MTGATE_KIND_ONE_OFF) {
		rc = one_off_grant(&c, &granted); /* GATE-3: one per request */
		if (rc < 0)
			return rc;
		plan_add(pl, chg, chg->program, STORE_ST_IN, granted, at_ms);
		return 0;
	}
	if (c.mem_state == STORE_ST_IN)
		return 0; /* OPTIN-3: a repeat changes nothing */
	plan_add(pl, chg, chg->program, STORE_ST_IN, c.granted, at_ms);
	return 0;
}

static int plan_optout(shard *s, const mtgate_change *chg, uint64_t hash,
		       int64_t at_ms, change_plan *pl)
{
	cur_consent c;

	cur_of(s, chg->number, hash, chg->program, &c);
	if (c.mem_state == STORE_ST_OUT || c.mem_state == STORE_ST_VOID)
		return 0;
	plan_add(pl, chg, chg->program, STORE_ST_OUT, c.granted, at_ms);
	return 0;
}

/* The newest record of every consent of number: durable ones from RocksDB,
 * then the changes in flight on top, oldest first. */
static int gather_consents(shard *s, uint64_t number, change_plan *all)
{
	unsigned char key[CODEC_KEY_NUMBER];
	rocksdb_iterator_t *it;
	pend *chain[64], *p;
	int rc = 0, nchain = 0;

	all->n = 0;
	codec_key_number(key, number);
	it = db_iter(&s->eng->db, DB_CF_CONSENTS, key, sizeof(key), false);
	if (it == NULL)
		return MTGATE_ENOMEM;
	for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl);
		const char *v = rocksdb_iter_value(it, &vl);
		uint64_t num;
		uint32_t pid;
		codec_consent *r = &all->rec[all->n];
		if (kl < CODEC_KEY_NUMBER || memcmp(k, key, sizeof(key)) != 0)
			break;
		if (all->n == PEND_EFFECTS_MAX) {
			rc = MTGATE_EINVAL;
			break;
		}
		if ((rc = codec_key_consent_decode(k, kl, &num, &pid)) < 0 ||
		    (rc = codec_consent_decode(v, vl, r)) < 0)
			break;
		all->eff[all->n].program = pid;
		all->n++;
	}
	if (rc == 0)
		rc = db_iter_status(&s->eng->db, it);
	rocksdb_iter_destroy(it);
	if (rc < 0)
		return rc;
	for (p = overlay_newest(s, number); p != NULL && nchain < 64;
	     p = p->older)
		chain[nchain++] = p;
	if (p != NULL)
		return MTGATE_EINVAL; /* more in flight than we track */
	while (nchain-- > 0) {
		p = chain[nchain];
		for (uint32_t i = 0; i < p->n_effects; i++) {
			const pend_effect *e = &p->effects[i];
			uint32_t j = 0;
			while (j < all->n && all->eff[j].program != e->program)
				j++;
			if (j == all->n) {
				if (j == PEND_EFFECTS_MAX)
					return MTGATE_EINVAL;
				all->n++;
				all->eff[j].program = e->program;
			}
			all->rec[j].state = (uint8_t)api_state(e->mem_state);
			all->rec[j].voided_by = e->mem_state == STORE_ST_VOID;
			all->rec[j].changed_at_ms = e->changed_at_ms;
			all->rec[j].granted = e->granted;
		}
	}
	return 0;
}

/* NUM-1, NUM-3: opt out every opt-in (or pending request) dated at or
 * before the deactivation, across all programs. A deactivation not newer
 * than the one on record changes nothing (a list processed twice). */
static int plan_deactivate(shard *s, const mtgate_change *chg, int64_t at_ms,
			   change_plan *pl)
{
	static _Thread_local change_plan all;
	uint64_t d = cur_deact(s, chg->number);
	int rc;

	if (d != 0 && (int64_t)(d >> 8) >= at_ms)
		return 0;
	rc = gather_consents(s, chg->number, &all);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < all.n; i++) {
		const codec_consent *r = &all.rec[i];
		bool live = r->state == MTGATE_STATE_OPTED_IN ||
			    r->state == MTGATE_STATE_PENDING;
		if (live && r->changed_at_ms <= at_ms)
			plan_add(pl, chg, all.eff[i].program, STORE_ST_VOID,
				 r->granted, at_ms);
	}
	pl->deact = (uint64_t)at_ms << 8 | chg->reason;
	pl->outcome = MTGATE_CHANGED;
	return 0;
}

static void put_bytes(unsigned char **w, unsigned cf, const void *k,
		      unsigned klen, const void *v, unsigned vlen)
{
	unsigned char *p = *w;
	p[0] = (unsigned char)cf;
	p[1] = (unsigned char)klen;
	p[2] = (unsigned char)vlen;
	p[3] = (unsigned char)(vlen >> 8);
	if (klen > 0) /* a counter reset has no key */
		memcpy(p + 4, k, klen);
	memcpy(p + 4 + klen, v, vlen);
	*w = p + 4 + klen + vlen;
}

static pend *pend_build(const mtgate_change *chg, const change_plan *pl)
{
	size_t sl = chg->source ? strlen(chg->source) : 0;
	size_t eff_bytes = pl->n * sizeof(pend_effect);
	size_t put_bytes_max =
		pl->n * (4 + CODEC_KEY_CONSENT + CODEC_CONSENT_MAX + 4 +
			 CODEC_CTRLOG_ENTRY) +
		(pl->deact ? 4 + CODEC_KEY_NUMBER + CODEC_DEACT_MAX : 0);
	pend *p = malloc(sizeof(pend) + eff_bytes + put_bytes_max);
	unsigned char *w, key[CODEC_KEY_CONSENT], val[CODEC_CONSENT_MAX];
	uint32_t n_puts = 0;

	if (p == NULL)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->hd.kind = COMMIT_CHANGE;
	p->number = chg->number;
	p->deact = pl->deact;
	p->outcome = pl->outcome ? pl->outcome : MTGATE_UNCHANGED;
	p->n_effects = pl->n;
	p->effects = (pend_effect *)p->mem;
	memcpy(p->effects, pl->eff, eff_bytes);
	p->buf = p->mem + eff_bytes;
	w = p->buf;
	for (uint32_t i = 0; i < pl->n; i++) {
		size_t vl = codec_consent_encode(val, &pl->rec[i]);
		codec_key_consent(key, chg->number, pl->eff[i].program);
		put_bytes(&w, DB_CF_CONSENTS, key, CODEC_KEY_CONSENT, val,
			  (unsigned)vl);
		n_puts++;
		if (pl->eff[i].mem_state == STORE_ST_VOID) {
			/* The next owner of the number starts from zero, and
			 * a restart must not bring the old count back: a zero
			 * entry for the counter log (no key; the committer
			 * puts it in the log after every earlier count). */
			codec_ctrlog_entry(val, chg->number, pl->eff[i].program,
					   0, 0);
			put_bytes(&w, DB_CF_COUNTERS, NULL, 0, val,
				  CODEC_CTRLOG_ENTRY);
			n_puts++;
		}
	}
	if (pl->deact) {
		size_t vl = codec_deact_encode(val, (uint8_t)(pl->deact & 0xFF),
					       (int64_t)(pl->deact >> 8),
					       chg->source, sl);
		codec_key_number(key, chg->number);
		put_bytes(&w, DB_CF_DEACT, key, CODEC_KEY_NUMBER, val,
			  (unsigned)vl);
	}
	p->n_puts = n_puts + (pl->deact ? 1 : 0);
	p->buf_len = (uint32_t)(w - p->buf);
	return p;
}

static int change_check(mtgate_engine *eng, const mtgate_change *chg,
			const prog_version **pp)
{
	if (chg->op <= 0 || chg->op >= MTGATE_OP_MAX)
		return MTGATE_EOP;
	if (chg->number == 0 || chg->number > MTGATE_NUMBER_MAX)
		return MTGATE_EINVAL;
	if ((unsigned)chg->channel >= MTGATE_CHANNEL_MAX)
		return MTGATE_ECHANNEL;
	if (chg->source &&
	    strnlen(chg->source, MTGATE_SOURCE_MAX + 1) > MTGATE_SOURCE_MAX)
		return MTGATE_ESOURCE_LONG;
	if (chg->at_ms < 0 || chg->at_ms >= (INT64_C(1) << 55))
		return MTGATE_EINVAL;
	if (chg->op == MTGATE_OP_DEACTIVATE) {
		if (chg->reason <= MTGATE_DEACT_NONE ||
		    chg->reason >= MTGATE_DEACT_MAX)
			return MTGATE_EREASON;
		*pp = NULL;
		return 0;
	}
	*pp = prog_get(eng, chg->program);
	return *pp ? 0 : MTGATE_ENOPROGRAM;
}

int shard_submit(shard *s, const mtgate_change *chg, mtgate_done_fn done,
		 void *arg)
{
	static _Thread_local change_plan pl;
	mtgate_engine *eng = s->eng;
	const prog_version *p;
	uint64_t hash = store_hash(chg->number);
	int64_t now = mtgate_now(eng), at;
	pend *node;
	int rc;

	if ((rc = change_check(eng, chg, &p)) < 0)
		return rc;
	if (atomic_load(&eng->write_error) != 0)
		return MTGATE_EREADONLY;
	at = chg->at_ms ? chg->at_ms : now;
	if (at > now)
		return MTGATE_EFUTURE;
	pl.n = 0;
	pl.deact = 0;
	pl.outcome = 0;
	if (chg->op == MTGATE_OP_OPTOUT)
		rc = plan_optout(s, chg, hash, at, &pl);
	else if (chg->op == MTGATE_OP_DEACTIVATE)
		rc = plan_deactivate(s, chg, at, &pl);
	else
		rc = plan_optin(s, chg, p, hash, at, &pl);
	if (rc < 0)
		return rc;
	node = pend_build(chg, &pl);
	if (node == NULL)
		return MTGATE_ENOMEM;
	node->hd.shard = s;
	node->done = done;
	node->arg = arg;
	node->seq = ++s->next_seq;
	node->older = overlay_newest(s, chg->number);
	if (u64map_put(&s->overlay, chg->number, (uintptr_t)node) < 0) {
		free(node);
		return MTGATE_ENOMEM;
	}
	if (node->older)
		node->older->newer = node;
	if (s->fifo_tail)
		s->fifo_tail->next_fifo = node;
	else
		s->fifo_head = node;
	s->fifo_tail = node;
	committer_push(eng, &node->hd);
	return 0;
}

/* ---- applying durable changes --------------------------------------------------- */

/* Consent records a durable change changed: each effect is one. */
static uint32_t pend_consents(const pend *p)
{
	return p->outcome == MTGATE_CHANGED ? p->n_effects : 0;
}

static void apply_pend(shard *s, const pend *p)
{
	uint64_t hash = store_hash(p->number);

	for (uint32_t i = 0; i < p->n_effects; i++) {
		const pend_effect *e = &p->effects[i];
		const prog_version *prog = prog_get(s->eng, e->program);
		store_slot *sl =
			table_upsert(&s->table, hash, p->number, e->program);
		uint64_t m;
		uint16_t period, count;
		/* A durable change that cannot enter memory would leave the
		 * store behind the disk; restart and recover instead. */
		MTG_ASSERT(sl != NULL);
		m = sl->meta;
		period = slot_period(m);
		count = slot_count(m);
		if (prog && prog->def.kind == MTGATE_KIND_ONE_OFF)
			period = e->granted;
		if (e->mem_state == STORE_ST_VOID)
			period = count = 0; /* persisted with the change */
		sl->meta = slot_meta(e->program, e->mem_state,
				     (m & SLOT_DIRTY) != 0, period, count);
	}
	if (p->deact != 0)
		MTG_ASSERT(u64map_put(&s->deact, p->number, p->deact) == 0);
}

static int apply_done(shard *s)
{
	uint64_t done =
		atomic_load_explicit(&s->done_seq, memory_order_acquire);
	int n = 0;

	while (s->fifo_head != NULL && s->fifo_head->seq <= done) {
		pend *p = s->fifo_head;
		s->fifo_head = p->next_fifo;
		if (s->fifo_head == NULL)
			s->fifo_tail = NULL;
		if (p->hd.status == 0)
			apply_pend(s, p);
		/* p is the oldest change of its number in flight. */
		MTG_ASSERT(p->older == NULL);
		if (p->newer != NULL)
			p->newer->older = NULL;
		else
			u64map_del(&s->overlay, p->number);
		if (p->done != NULL)
			p->done(p->arg, p->hd.status,
				p->hd.status ? 0 : p->outcome,
				p->hd.status ? 0 : pend_consents(p));
		free(p);
		n++;
	}
	return n;
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
		if (sl->number == 0 || slot_count(sl->meta) == 0 ||
		    deact_in_flight(s, sl->number))
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
		       u64map_bytes(&s->overlay) +
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

	if (apply_done(s) > 0) {
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

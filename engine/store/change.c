/*
 * Consent changes on a shard's owner thread: the newest state of a key
 * (durable, or in flight in the overlay), planning a change against it,
 * building the pend node the committer writes, and applying it to memory
 * once it is durable. engine/internal.h has the life of a change;
 * engine/store/plan.h the planning interface the rules share.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "store/plan.h"
#include "util/assert.h"

/* ---- the newest state, durable or in flight ------------------------------------ */

pend *overlay_newest(shard *s, uint64_t number)
{
	uint64_t *v = u64map_get(&s->overlay, number);
	return v ? (pend *)(uintptr_t)*v : NULL;
}

/* The newest effect in flight for key, and separately the newest one that
 * set or cleared the key's double opt-in entry. */
static void overlay_find(const pend *newest, uint32_t key,
			 const pend_effect **state, const pend_effect **doi)
{
	*state = *doi = NULL;
	for (const pend *p = newest; p != NULL; p = p->older) {
		for (uint32_t i = 0; i < p->n_effects; i++) {
			const pend_effect *e = &p->effects[i];
			if (e->key != key)
				continue;
			if (*state == NULL)
				*state = e;
			if (*doi == NULL && e->doi != EFF_DOI_KEEP)
				*doi = e;
		}
		if (*state != NULL && *doi != NULL)
			return;
	}
}

void cur_of(shard *s, uint64_t number, uint64_t hash, uint32_t pid,
	    cur_consent *c)
{
	cur_of_in(s, number, hash, pid,
		  s->overlay.used ? overlay_newest(s, number) : NULL, c);
}

void cur_of_in(shard *s, uint64_t number, uint64_t hash, uint32_t pid,
	       const pend *newest, cur_consent *c)
{
	store_slot *sl = table_find(&s->table, hash, number, pid);
	const pend_effect *e, *d;
	doi_entry *de;

	c->mem_state = sl ? slot_state(sl->meta) : STORE_ST_NONE;
	c->granted = sl ? slot_period(sl->meta) : 0;
	c->used = sl ? slot_count(sl->meta) : 0;
	c->flags =
		sl ? (uint8_t)((sl->meta & SLOT_FLAGS) >> SLOT_FLAG_SHIFT) : 0;
	de = s->doi.used ? doimap_get(&s->doi, number, pid) : NULL;
	c->has_doi = de != NULL;
	if (de != NULL)
		c->doi = *de;
	if (newest == NULL)
		return;
	overlay_find(newest, pid, &e, &d);
	if (e != NULL) {
		c->mem_state = e->mem_state;
		c->granted = e->granted;
		c->flags = e->flags;
	}
	if (d != NULL) {
		c->has_doi = d->doi == EFF_DOI_SET;
		c->doi = d->doi_e;
	}
}

void cur_scope_of(shard *s, uint64_t number, uint64_t hash, uint32_t sc_id,
		  cur_scope *c)
{
	store_slot *sl =
		table_find_key(&s->table, hash, number, sc_id | SLOT_SC);
	const pend_effect *e = NULL, *d;

	c->open = sl && slot_state(sl->meta) == 1;
	c->opened_s = sl ? (uint32_t)slot_count(sl->meta) << 16 |
				      slot_period(sl->meta)
			 : 0;
	if (s->overlay.used != 0)
		overlay_find(overlay_newest(s, number), sc_id | EFF_SC, &e, &d);
	if (e != NULL) {
		c->open = e->mem_state == 1;
		c->opened_s = e->aux;
	}
}

uint64_t cur_deact(shard *s, uint64_t number)
{
	uint64_t *v;

	for (pend *p = overlay_newest(s, number); p != NULL; p = p->older)
		if (p->deact != 0)
			return p->deact;
	v = u64map_get(&s->deact, number);
	return v ? *v : 0;
}

/* ---- planning ------------------------------------------------------------------- */

unsigned plan_api_state(unsigned mem_state)
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

void plan_init(change_plan *pl)
{
	pl->n = 0;
	pl->scope.on = false;
	pl->deact = 0;
	pl->outcome = 0;
	pl->actor = 0;
}

int plan_consent(change_plan *pl, uint32_t pid, const cur_consent *cur,
		 unsigned mem_state, uint8_t flags, int64_t at_ms,
		 mtgate_channel channel, const char *source, bool put)
{
	pend_effect *e;
	codec_consent *r;
	size_t sl = source ? strlen(source) : 0;

	if (pl->n == PEND_EFFECTS_MAX)
		return -1;
	e = &pl->eff[pl->n];
	r = &pl->rec[pl->n];
	memset(e, 0, sizeof(*e));
	e->key = pid;
	e->mem_state = (uint8_t)mem_state;
	e->flags = flags;
	e->granted = cur->granted;
	e->changed_at_ms = at_ms;
	pl->put[pl->n] = put;
	pl->old[pl->n] = (uint8_t)cur->mem_state;
	pl->by_engine[pl->n] = false;
	memset(r, 0, sizeof(*r));
	r->state = (uint8_t)plan_api_state(mem_state);
	r->channel = (uint8_t)channel;
	r->changed_at_ms = at_ms;
	r->granted = cur->granted;
	r->source_len = (uint8_t)sl;
	memcpy(r->source, source ? source : "", sl);
	pl->outcome = MTGATE_CHANGED;
	return (int)pl->n++;
}

int plan_scope(change_plan *pl, uint32_t sc_id, bool open, int64_t at_ms)
{
	pend_effect *e;

	if (pl->n == PEND_EFFECTS_MAX)
		return -1;
	e = &pl->eff[pl->n];
	memset(e, 0, sizeof(*e));
	e->key = sc_id | EFF_SC;
	e->mem_state = open;
	e->aux = open ? scope_second_of(at_ms) : 0;
	e->changed_at_ms = at_ms;
	pl->put[pl->n] = false;
	pl->scope.on = true;
	pl->scope.sc_id = sc_id;
	pl->scope.open = open;
	pl->scope.opened_at_ms = open ? at_ms : 0;
	pl->scope.n_lastout = pl->scope.n_asked = 0;
	pl->outcome = MTGATE_CHANGED;
	return (int)pl->n++;
}

/* ---- the plain changes ------------------------------------------------------------ */

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

/* Any change of a consent's state but an MO opt-out leaves it out of the
 * latest opt-out (OPTIN-4 brings back only what STOP ended). */
static uint8_t flags_after(const cur_consent *c)
{
	return c->flags & (uint8_t) ~(SLOT_LASTOUT >> SLOT_FLAG_SHIFT);
}

/* An opt-in by API (or CONFIRM). A double-opt-in program gets a request,
 * as DOI_REQUEST does (DOI-1); see engine/store/rules_glue.c. */
static int plan_optin(shard *s, const mtgate_change *chg, const prog_version *p,
		      uint64_t hash, int64_t at_ms, change_plan *pl)
{
	uint64_t d = cur_deact(s, chg->number);
	cur_consent c;
	uint16_t granted;
	int i, rc;

	if (d != 0 && at_ms <= (int64_t)(d >> 8))
		return MTGATE_EVOID; /* NUM-3: dated at or before */
	if (chg->channel == MTGATE_CHANNEL_POS && !p->def.allow_pos)
		return MTGATE_ENOPOS; /* OPTIN-1 */
	cur_of(s, chg->number, hash, chg->program, &c);
	if (chg->op == MTGATE_OP_CONFIRM && c.mem_state != STORE_ST_PENDING)
		return MTGATE_ENOTPENDING;
	if (chg->op == MTGATE_OP_OPTIN && p->def.double_opt_in)
		return plan_doi_request(s, chg, p, hash, at_ms, pl);
	if (p->def.kind == MTGATE_KIND_ONE_OFF) {
		rc = one_off_grant(&c, &granted); /* GATE-3: one per request */
		if (rc < 0)
			return rc;
		c.granted = granted;
	} else if (c.mem_state == STORE_ST_IN) {
		return 0; /* OPTIN-3: a repeat changes nothing */
	}
	i = plan_consent(pl, chg->program, &c, STORE_ST_IN, flags_after(&c),
			 at_ms, chg->channel, chg->source, true);
	if (chg->op == MTGATE_OP_CONFIRM && i >= 0) {
		plan_confirm_record(pl, i, &c);
		pl->eff[i].doi = EFF_DOI_DEL;
	}
	return 0;
}

static int plan_optout(shard *s, const mtgate_change *chg, uint64_t hash,
		       int64_t at_ms, change_plan *pl)
{
	cur_consent c;

	cur_of(s, chg->number, hash, chg->program, &c);
	if (c.mem_state == STORE_ST_OUT || c.mem_state == STORE_ST_VOID)
		return 0;
	plan_consent(pl, chg->program, &c, STORE_ST_OUT, flags_after(&c), at_ms,
		     chg->channel, chg->source, true);
	if (c.has_doi)
		pl->eff[pl->n - 1].doi = EFF_DOI_DEL;
	return 0;
}

/* The newest record of every consent of number: durable ones from RocksDB,
 * then the changes in flight on top, oldest first. The store holds a slot
 * for every durable consent, so the records are point reads of the
 * programs found there (an iterator per number cost ~200 us at 10 M
 * consents; a read with the bloom filter a few). */
static int gather_consents(shard *s, uint64_t number, change_plan *all)
{
	unsigned char key[CODEC_KEY_CONSENT], val[CODEC_CONSENT_MAX];
	uint64_t hash = store_hash(number), at;
	pend *chain[64], *p;
	int rc = 0, nchain = 0;

	all->n = 0;
	for (at = table_home(&s->table, hash); rc == 0;
	     at = at + 1 == s->table.cap ? 0 : at + 1) {
		const store_slot *sl = &s->table.slots[at];
		size_t vl = 0;
		if (sl->number == 0)
			break;
		if (sl->number != number || (sl->meta & SLOT_SC))
			continue;
		if (all->n == PEND_EFFECTS_MAX)
			return MTGATE_EINVAL;
		codec_key_consent(key, number, slot_program(sl->meta));
		rc = db_get(&s->eng->db, DB_CF_CONSENTS, key, sizeof(key), val,
			    sizeof(val), &vl);
		if (rc == 1 &&
		    (rc = codec_consent_decode((const char *)val, vl,
					       &all->rec[all->n])) == 0)
			all->eff[all->n++].key = slot_program(sl->meta);
		/* rc 0: a slot with no record (none is made so): nothing
		 * durable to void */
	}
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
			if (e->key & EFF_SC)
				continue;
			while (j < all->n && all->eff[j].key != e->key)
				j++;
			if (j == all->n) {
				if (j == PEND_EFFECTS_MAX)
					return MTGATE_EINVAL;
				all->n++;
				all->eff[j].key = e->key;
			}
			all->rec[j].state =
				(uint8_t)plan_api_state(e->mem_state);
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
	/* A number the store holds nothing of has nothing to void: only the
	 * deactivation is written (most of a carrier's list). */
	all.n = 0;
	rc = shard_known(s, chg->number) ? gather_consents(s, chg->number, &all)
					 : 0;
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < all.n; i++) {
		const codec_consent *r = &all.rec[i];
		bool live = r->state == MTGATE_STATE_OPTED_IN ||
			    r->state == MTGATE_STATE_PENDING;
		cur_consent c = {.granted = r->granted,
				 .mem_state = r->state == MTGATE_STATE_OPTED_IN
						      ? STORE_ST_IN
						      : STORE_ST_PENDING};
		int k;
		if (!live || r->changed_at_ms > at_ms)
			continue;
		k = plan_consent(pl, all.eff[i].key, &c, STORE_ST_VOID, 0,
				 at_ms, chg->channel, chg->source, true);
		if (k < 0)
			return MTGATE_EINVAL;
		pl->rec[k].voided_by = (uint8_t)chg->reason;
		pl->eff[k].reset_count = 1;
		pl->eff[k].doi = EFF_DOI_DEL;
	}
	pl->deact = (uint64_t)at_ms << 8 | chg->reason;
	pl->outcome = MTGATE_CHANGED;
	return 0;
}

/* ---- the pend node ---------------------------------------------------------------- */

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

static size_t pend_bytes_max(const change_plan *pl)
{
	return pl->n * (4 + CODEC_KEY_CONSENT + CODEC_CONSENT_MAX + 4 +
			CODEC_CTRLOG_ENTRY + 4 + CODEC_KEY_AUDIT +
			CODEC_AUDIT_MAX) +
	       (pl->deact ? 4 + CODEC_KEY_NUMBER + CODEC_DEACT_MAX : 0) +
	       (pl->scope.on ? 4 + CODEC_KEY_CONSENT +
				       CODEC_SCOPE_MAX(pl->scope.n_lastout,
						       pl->scope.n_asked)
			     : 0);
}

/* The audit states are the memory states, value for value. */
_Static_assert((int)STORE_ST_NONE == (int)MTGATE_AUDIT_NONE &&
		       (int)STORE_ST_IN == (int)MTGATE_AUDIT_OPTED_IN &&
		       (int)STORE_ST_OUT == (int)MTGATE_AUDIT_OPTED_OUT &&
		       (int)STORE_ST_PENDING == (int)MTGATE_AUDIT_PENDING &&
		       (int)STORE_ST_VOID == (int)MTGATE_AUDIT_VOIDED &&
		       (int)STORE_ST_MAX == (int)MTGATE_AUDIT_STATE_MAX,
	       "audit states are memory states");

/* Effect i's audit record (AUD-1), its seq left for the committer. */
static void put_audit(mtgate_engine *eng, unsigned char **w, uint64_t number,
		      const change_plan *pl, uint32_t i, int64_t now)
{
	static _Thread_local mtgate_audit_rec a;
	unsigned char key[CODEC_KEY_AUDIT], val[CODEC_AUDIT_MAX];
	const codec_consent *r = &pl->rec[i];
	const prog_version *p = prog_get(eng, pl->eff[i].key);

	a.tenant = p ? p->def.tenant : 0;
	a.program = pl->eff[i].key;
	a.old_state = pl->old[i];
	a.new_state = pl->eff[i].mem_state;
	a.channel = r->channel;
	a.voided_by = r->voided_by;
	a.cause = r->cause;
	a.actor = pl->by_engine[i] ? MTGATE_ACTOR_ENGINE : pl->actor;
	a.changed_at_ms = r->changed_at_ms;
	memcpy(a.source, r->source, r->source_len);
	a.source[r->source_len] = '\0';
	codec_key_audit(key, number, now, 0);
	put_bytes(w, DB_CF_AUDIT, key, CODEC_KEY_AUDIT, val,
		  (unsigned)codec_audit_encode(val, &a));
}

static void pend_puts(shard *s, pend *p, uint64_t number, const change_plan *pl,
		      const char *source)
{
	unsigned char *w = p->buf, key[CODEC_KEY_CONSENT],
		      val[CODEC_CONSENT_MAX];
	int64_t now = 0;

	for (uint32_t i = 0; i < pl->n; i++) {
		const pend_effect *e = &pl->eff[i];
		if (!pl->put[i])
			continue;
		codec_key_consent(key, number, e->key);
		put_bytes(&w, DB_CF_CONSENTS, key, CODEC_KEY_CONSENT, val,
			  (unsigned)codec_consent_encode(val, &pl->rec[i]));
		p->n_puts++;
		p->consents++;
		if (pl->old[i] != e->mem_state) {
			if (now == 0)
				now = mtgate_now(s->eng);
			put_audit(s->eng, &w, number, pl, i, now);
			p->n_puts++;
		}
		if (e->reset_count) {
			/* The next owner of the number starts from zero, and
			 * a restart must not bring the old count back: a zero
			 * entry for the counter log (no key; the committer
			 * puts it in the log after every earlier count). */
			codec_ctrlog_entry(val, number, e->key, 0, 0);
			put_bytes(&w, DB_CF_COUNTERS, NULL, 0, val,
				  CODEC_CTRLOG_ENTRY);
			p->n_puts++;
		}
	}
	if (pl->deact) {
		size_t sl = source ? strlen(source) : 0;
		codec_key_number(key, number);
		put_bytes(&w, DB_CF_DEACT, key, CODEC_KEY_NUMBER, val,
			  (unsigned)codec_deact_encode(
				  val, (uint8_t)(pl->deact & 0xFF),
				  (int64_t)(pl->deact >> 8), source, sl));
		p->n_puts++;
	}
	if (pl->scope.on) {
		static _Thread_local unsigned char sv[CODEC_SCOPE_MAX(
			SCOPE_LASTOUT_MAX, SCOPE_LASTOUT_MAX)];
		const scope_put *sp = &pl->scope;
		codec_scope cs = {.open = sp->open,
				  .opened_at_ms = sp->opened_at_ms,
				  .n_lastout = sp->n_lastout,
				  .n_asked = sp->n_asked};
		codec_key_consent(key, number, sp->sc_id);
		put_bytes(&w, DB_CF_SCOPES, key, CODEC_KEY_CONSENT, sv,
			  (unsigned)codec_scope_encode(sv, &cs, sp->lastout,
						       sp->asked));
		p->n_puts++;
	}
	p->buf_len = (uint32_t)(w - p->buf);
}

static pend *pend_alloc(shard *s, size_t bytes)
{
	pend *p;

	if (bytes > PEND_POOL_BLOCK) {
		if ((p = malloc(bytes)) != NULL)
			p->pooled = false;
		return p;
	}
	if ((p = s->pool) != NULL) {
		s->pool = p->next_fifo;
		s->n_pool--;
	} else if ((p = malloc(PEND_POOL_BLOCK)) == NULL) {
		return NULL;
	}
	p->pooled = true;
	return p;
}

void pend_free(shard *s, pend *p)
{
	if (p->pooled && s->n_pool < PEND_POOL_MAX) {
		p->next_fifo = s->pool;
		s->pool = p;
		s->n_pool++;
	} else {
		free(p);
	}
}

static pend *pend_build(shard *s, uint64_t number, const change_plan *pl,
			const char *source)
{
	size_t eff_bytes = pl->n * sizeof(pend_effect);
	pend *p = pend_alloc(s, sizeof(pend) + eff_bytes + pend_bytes_max(pl));
	bool pooled;

	if (p == NULL)
		return NULL;
	pooled = p->pooled;
	memset(p, 0, sizeof(*p));
	p->pooled = pooled;
	p->hd.kind = COMMIT_CHANGE;
	p->number = number;
	p->deact = pl->deact;
	p->outcome = pl->outcome ? pl->outcome : MTGATE_UNCHANGED;
	p->n_effects = pl->n;
	p->effects = (pend_effect *)p->mem;
	memcpy(p->effects, pl->eff, eff_bytes);
	p->buf = p->mem + eff_bytes;
	pend_puts(s, p, number, pl, source);
	return p;
}

int plan_submit(shard *s, uint64_t number, const change_plan *pl,
		const char *source, mtgate_done_fn done, void *arg)
{
	pend *node = pend_build(s, number, pl, source);

	if (node == NULL)
		return MTGATE_ENOMEM;
	node->hd.shard = s;
	node->done = done;
	node->arg = arg;
	node->seq = ++s->next_seq;
	/* A change that changes nothing (a repeat) writes nothing and is in
	 * no number's chain: it only waits in the FIFO for the changes before
	 * it, so that its answer never comes before theirs. Chaining it would
	 * make a file repeating one number quadratic (cur_of walks the chain). */
	node->empty = pl->n == 0 && pl->deact == 0 && !pl->scope.on;
	if (!node->empty) {
		node->older = overlay_newest(s, number);
		if (u64map_put(&s->overlay, number, (uintptr_t)node) < 0) {
			pend_free(s, node);
			return MTGATE_ENOMEM;
		}
		if (node->older)
			node->older->newer = node;
	}
	if (s->fifo_tail)
		s->fifo_tail->next_fifo = node;
	else
		s->fifo_head = node;
	s->fifo_tail = node;
	if (!node->empty)
		committer_push(s->eng, &node->hd);
	else if (s->fifo_head == node)
		shard_wake(s); /* nothing before it: done at the next poll */
	return 0;
}

/* ---- submitting a change ----------------------------------------------------------- */

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

static int plan_change(shard *s, const mtgate_change *chg,
		       const prog_version *p, uint64_t hash, int64_t at,
		       change_plan *pl)
{
	switch (chg->op) {
	case MTGATE_OP_OPTOUT:
		return plan_optout(s, chg, hash, at, pl);
	case MTGATE_OP_DEACTIVATE:
		return plan_deactivate(s, chg, at, pl);
	case MTGATE_OP_DOI_REQUEST:
		return plan_doi_request(s, chg, p, hash, at, pl);
	case MTGATE_OP_DOI_RENOTIFY:
		return plan_doi_renotify(s, chg, hash, at, pl);
	case MTGATE_OP_BILL_RESULT:
		return plan_bill_result(s, chg, p, hash, at, pl);
	default:
		return plan_optin(s, chg, p, hash, at, pl);
	}
}

int shard_submit(shard *s, const mtgate_change *chg, mtgate_done_fn done,
		 void *arg)
{
	static _Thread_local change_plan pl;
	mtgate_engine *eng = s->eng;
	const prog_version *p;
	int64_t now = mtgate_now(eng), at;
	int rc;

	if ((rc = change_check(eng, chg, &p)) < 0)
		return rc;
	if (atomic_load(&eng->write_error) != 0)
		return MTGATE_EREADONLY;
	at = chg->at_ms ? chg->at_ms : now;
	if (at > now)
		return MTGATE_EFUTURE;
	plan_init(&pl);
	pl.actor = chg->actor;
	rc = plan_change(s, chg, p, store_hash(chg->number), at, &pl);
	if (rc < 0)
		return rc;
	return plan_submit(s, chg->number, &pl, chg->source, done, arg);
}

/* ---- applying durable changes --------------------------------------------------- */

static void apply_scope(shard *s, uint64_t number, uint64_t hash,
			const pend_effect *e)
{
	uint32_t sc_id = e->key & ~EFF_SC;
	store_slot *sl =
		table_upsert_key(&s->table, hash, number, sc_id | SLOT_SC);

	MTG_ASSERT(sl != NULL);
	sl->meta = (uint64_t)sc_id | SLOT_SC |
		   (uint64_t)e->mem_state << SLOT_STATE_SHIFT |
		   (uint64_t)(e->aux & 0xFFFF) << SLOT_PERIOD_SHIFT |
		   (uint64_t)(e->aux >> 16) << SLOT_COUNT_SHIFT;
	if (e->mem_state == 1)
		shard_scope_opened(s, number, sc_id, e->aux);
}

static void apply_consent(shard *s, uint64_t number, uint64_t hash,
			  const pend_effect *e)
{
	const prog_version *prog = prog_get(s->eng, e->key);
	store_slot *sl = table_upsert(&s->table, hash, number, e->key);
	uint64_t m;
	uint16_t period, count;

	/* A durable change that cannot enter memory would leave the store
	 * behind the disk; restart and recover instead. */
	MTG_ASSERT(sl != NULL);
	m = sl->meta;
	period = slot_period(m);
	count = slot_count(m);
	if (prog && prog->def.kind == MTGATE_KIND_ONE_OFF)
		period = e->granted;
	if (e->reset_count)
		period = count = 0; /* persisted with the change */
	sl->meta = slot_meta(e->key, e->mem_state, (m & SLOT_DIRTY) != 0,
			     period, count) |
		   (uint64_t)e->flags << SLOT_FLAG_SHIFT;
	if (e->doi == EFF_DOI_SET)
		MTG_ASSERT(doimap_put(&s->doi, number, e->key, &e->doi_e) == 0);
	else if (e->doi == EFF_DOI_DEL)
		doimap_del(&s->doi, number, e->key);
}

static void apply_pend(shard *s, const pend *p)
{
	uint64_t hash = store_hash(p->number);

	for (uint32_t i = 0; i < p->n_effects; i++) {
		if (p->effects[i].key & EFF_SC)
			apply_scope(s, p->number, hash, &p->effects[i]);
		else
			apply_consent(s, p->number, hash, &p->effects[i]);
	}
	if (p->deact != 0)
		MTG_ASSERT(u64map_put(&s->deact, p->number, p->deact) == 0);
}

int shard_apply_done(shard *s)
{
	uint64_t done =
		atomic_load_explicit(&s->done_seq, memory_order_acquire);
	int n = 0;

	while (s->fifo_head != NULL &&
	       (s->fifo_head->seq <= done || s->fifo_head->empty)) {
		pend *p = s->fifo_head;
		s->fifo_head = p->next_fifo;
		if (s->fifo_head == NULL)
			s->fifo_tail = NULL;
		if (p->hd.status == 0 && !p->empty)
			apply_pend(s, p);
		/* p is the oldest change of its number in flight. */
		MTG_ASSERT(p->older == NULL);
		if (p->empty)
			; /* in no chain */
		else if (p->newer != NULL)
			p->newer->older = NULL;
		else
			u64map_del(&s->overlay, p->number);
		if (p->done != NULL)
			p->done(p->arg, p->hd.status,
				p->hd.status ? 0 : p->outcome,
				p->hd.status || p->outcome != MTGATE_CHANGED
					? 0
					: p->consents);
		pend_free(s, p);
		n++;
	}
	return n;
}

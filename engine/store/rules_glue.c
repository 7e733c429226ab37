/*
 * The consent rules on a shard's owner thread: an MO, a double opt-in
 * request or re-notify, a billing result or check, and the sweep that ends
 * double opt-ins and scope questions nobody answered.
 *
 * An MO is decided by the pure rule step (engine/rules/) on what memory
 * holds for the number on one short code: each program's state and flags,
 * the double opt-in entries (doimap) and the number's short-code record
 * (the STOP-4 question, the latest opt-out). No storage is read, so an MO
 * costs a tokenizer pass, a few probes of one run of the table, the step,
 * and, when it changes anything, one pend node: everything it changes for
 * the number is one atomic, durable write.
 *
 * Double opt-in requests, re-notifies and billing results read the
 * consent's record (the newest in flight, else RocksDB): they are API
 * calls, rarer than MOs, and must carry the record's billing fields over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "rules/rules.h"
#include "store/plan.h"
#include "util/assert.h"

#define DAY_MS         (24 * 60 * 60 * 1000LL)
#define DOI_WINDOW_MS  DAY_MS /* DOI-1, DOI-5, DOI-6: 24 hours */
#define BILL_FAILS_MAX 3      /* BILL-2 */

/* ---- the record of a consent, newest first ------------------------------------- */

/* The consent's put in a pend's buffer, if it has one. */
static bool pend_record(const pend *p, const unsigned char *key,
			codec_consent *out)
{
	const unsigned char *b = p->buf;

	for (uint32_t i = 0; i < p->n_puts; i++) {
		unsigned cf = b[0], kl = b[1], vl = b[2] | b[3] << 8;
		if (cf == DB_CF_CONSENTS && kl == CODEC_KEY_CONSENT &&
		    memcmp(b + 4, key, kl) == 0)
			return codec_consent_decode((const char *)b + 4 + kl,
						    vl, out) == 0;
		b += 4 + kl + vl;
	}
	return false;
}

/* 1 and the record, 0 when the consent has none, or an error. */
static int cur_record(shard *s, uint64_t number, uint32_t pid,
		      codec_consent *out)
{
	unsigned char key[CODEC_KEY_CONSENT], val[CODEC_CONSENT_MAX];
	size_t vl = 0;
	int rc;

	codec_key_consent(key, number, pid);
	for (pend *p = overlay_newest(s, number); p != NULL; p = p->older)
		if (pend_record(p, key, out))
			return 1;
	rc = db_get(&s->eng->db, DB_CF_CONSENTS, key, sizeof(key), val,
		    sizeof(val), &vl);
	if (rc <= 0)
		return rc;
	return codec_consent_decode((const char *)val, vl, out) < 0
		       ? MTGATE_ECORRUPT
		       : 1;
}

/* The program's local day of ms (BILL-2 counts failures a day, in the
 * program's time zone as its MT counts are): the number of the day its
 * local midnight falls in, UTC days since 1970 (each local day gets its own;
 * UTC when the zone cannot be read). */
static uint32_t bill_day_of(const prog_version *p, int64_t ms)
{
	period_span sp;

	if (ms <= 0)
		return 0;
	if (period_span_at(p->tz_id, MTGATE_PERIOD_DAY, ms, &sp) < 0)
		return (uint32_t)(ms / DAY_MS);
	return (uint32_t)((sp.start_ms + DAY_MS / 2) / DAY_MS);
}

/* ---- double opt-in ------------------------------------------------------------------- */

static bool doi_pending(const cur_consent *c)
{
	return c->mem_state == STORE_ST_PENDING && c->has_doi &&
	       !(c->doi.flags & DOI_DECLINED);
}

static bool doi_cooling(const cur_consent *c, int64_t now)
{
	return c->has_doi && (c->doi.flags & DOI_DECLINED) &&
	       now - c->doi.at_ms < DOI_WINDOW_MS;
}

/* Terms more than the confirmed ones: a higher price, or a shorter charge
 * interval (DOI-7). */
static bool terms_above(const prog_version *p, const codec_consent *r)
{
	return p->def.price_cents > r->price_cents ||
	       (p->def.interval > r->interval &&
		r->interval != MTGATE_INTERVAL_ONCE);
}

/* A double opt-in request: PENDING for 24 hours, with what it asks. */
static int plan_pending(change_plan *pl, uint32_t pid, const cur_consent *c,
			const prog_version *p, int64_t at,
			mtgate_channel channel, const char *source)
{
	int i = plan_consent(
		pl, pid, c, STORE_ST_PENDING,
		c->flags & (uint8_t) ~(SLOT_LASTOUT >> SLOT_FLAG_SHIFT), at,
		channel, source, true);
	pend_effect *e;
	codec_consent *r;

	if (i < 0)
		return MTGATE_EINVAL;
	e = &pl->eff[i];
	r = &pl->rec[i];
	e->doi = EFF_DOI_SET;
	e->doi_e = (doi_entry){.at_ms = at,
			       .price_cents = p->def.price_cents,
			       .interval = (uint8_t)p->def.interval,
			       .channel = (uint8_t)channel};
	r->doi_channel = (uint8_t)channel;
	r->doi_at_ms = at;
	r->price_cents = p->def.price_cents;
	r->interval = (uint8_t)p->def.interval;
	return 0;
}

int plan_doi_request(shard *s, const mtgate_change *chg, const prog_version *p,
		     uint64_t hash, int64_t at, change_plan *pl)
{
	uint64_t d = cur_deact(s, chg->number);
	codec_consent r;
	cur_consent c;
	int rc;

	if (!p->def.double_opt_in)
		return MTGATE_ENOTDOI;
	if (d != 0 && at <= (int64_t)(d >> 8))
		return MTGATE_EVOID;
	if (chg->channel == MTGATE_CHANNEL_POS && !p->def.allow_pos)
		return MTGATE_ENOPOS;
	cur_of(s, chg->number, hash, chg->program, &c);
	if (doi_pending(&c) && at - c.doi.at_ms < DOI_WINDOW_MS)
		return MTGATE_EDOI_PENDING; /* DOI-2 */
	if (doi_cooling(&c, at))
		return MTGATE_EDOI_COOLDOWN; /* DOI-6 */
	if (c.mem_state == STORE_ST_IN && p->def.kind != MTGATE_KIND_ONE_OFF) {
		/* DOI-8: once, unless the terms went up (DOI-7) */
		if ((rc = cur_record(s, chg->number, chg->program, &r)) < 0)
			return rc;
		if (rc == 0 || !terms_above(p, &r))
			return MTGATE_ESUBSCRIBED;
	}
	return plan_pending(pl, chg->program, &c, p, at, chg->channel,
			    chg->source);
}

int plan_doi_renotify(shard *s, const mtgate_change *chg, uint64_t hash,
		      int64_t at, change_plan *pl)
{
	codec_consent r;
	cur_consent c;
	int i, rc;

	cur_of(s, chg->number, hash, chg->program, &c);
	if (!doi_pending(&c) || at - c.doi.at_ms >= DOI_WINDOW_MS)
		return MTGATE_ENOTPENDING;
	if (c.doi.channel == MTGATE_CHANNEL_WEB ||
	    (c.doi.flags & DOI_RENOTIFIED))
		return MTGATE_ERENOTIFY; /* DOI-3 */
	if ((rc = cur_record(s, chg->number, chg->program, &r)) <= 0)
		return rc < 0 ? rc : MTGATE_ENOTPENDING;
	i = plan_consent(pl, chg->program, &c, c.mem_state, c.flags,
			 r.changed_at_ms, (mtgate_channel)r.channel, NULL,
			 true);
	if (i < 0)
		return MTGATE_EINVAL;
	r.doi_flags |= CODEC_DOI_RENOTIFIED;
	pl->rec[i] = r;
	pl->eff[i].doi = EFF_DOI_SET;
	pl->eff[i].doi_e = c.doi;
	pl->eff[i].doi_e.flags |= DOI_RENOTIFIED;
	return 0;
}

/* PENDING -> OPTED_IN: the record gets the terms the request asked. */
void plan_confirm_record(change_plan *pl, int i, const cur_consent *c)
{
	codec_consent *r = &pl->rec[i];

	r->cause = CODEC_CAUSE_CONFIRMED;
	if (c->has_doi) {
		r->price_cents = c->doi.price_cents;
		r->interval = c->doi.interval;
		r->doi_channel = c->doi.channel;
		r->doi_at_ms = c->doi.at_ms;
	}
}

int plan_bill_result(shard *s, const mtgate_change *chg, const prog_version *p,
		     uint64_t hash, int64_t at, change_plan *pl)
{
	uint32_t today = bill_day_of(p, at);
	codec_consent r;
	cur_consent c;
	int i, rc;

	cur_of(s, chg->number, hash, chg->program, &c);
	if ((rc = cur_record(s, chg->number, chg->program, &r)) <= 0)
		return rc < 0 ? rc : MTGATE_ENOTPENDING;
	if (chg->bill_ok) {
		if (r.bill_credits > 0)
			r.bill_credits--; /* CC-18: one charge per request */
	} else if (r.bill_day == today) {
		if (r.bill_fails < 255)
			r.bill_fails++;
	} else {
		r.bill_day = today;
		r.bill_fails = 1;
	}
	i = plan_consent(pl, chg->program, &c, c.mem_state, c.flags,
			 r.changed_at_ms, (mtgate_channel)r.channel, NULL,
			 true);
	if (i < 0)
		return MTGATE_EINVAL;
	pl->rec[i] = r;
	return 0;
}

/* ---- billing checks ------------------------------------------------------------------ */

int shard_bill_check(shard *s, uint64_t number, uint32_t pid, uint32_t amount,
		     int64_t now, mtgate_bill_reason *out)
{
	const prog_version *p = prog_get(s->eng, pid);
	codec_consent r;
	cur_consent c;
	bool one_off;
	int rc;

	if (p == NULL)
		return MTGATE_ENOPROGRAM;
	one_off = p->def.kind == MTGATE_KIND_ONE_OFF;
	cur_of(s, number, store_hash(number), pid, &c);
	rc = cur_record(s, number, pid, &r);
	if (rc < 0)
		return rc;
	if (rc == 0 || c.mem_state != STORE_ST_IN || !p->def.double_opt_in ||
	    r.price_cents == 0 || (one_off && r.bill_credits == 0))
		*out = MTGATE_BILL_NOT_CONFIRMED; /* BILL-1 */
	else if (amount > r.price_cents || terms_above(p, &r))
		*out = MTGATE_BILL_PRICE_ABOVE_CONFIRMED; /* DOI-7 */
	else if (r.bill_day == bill_day_of(p, now) &&
		 r.bill_fails >= BILL_FAILS_MAX)
		*out = MTGATE_BILL_FAILED_ATTEMPTS_EXCEEDED; /* BILL-2 */
	else
		*out = MTGATE_BILL_ALLOW;
	return 0;
}

/* ---- an MO ---------------------------------------------------------------------------- */

/* Everything an MO decides with, and its plan. Per owner thread. */
typedef struct mo_ctx {
	shard *s;
	uint64_t number, hash;
	int64_t now;
	const sc_version *sc;
	uint32_t n;
	uint32_t pid[RULES_PROGS_MAX];
	cur_consent cur[RULES_PROGS_MAX];
	const prog_version *prog[RULES_PROGS_MAX];
	rules_prog in[RULES_PROGS_MAX];
	rules_words words;
	rules_mo_in rin;
	rules_mo_out rout;
	cur_scope scope;
	char source[MTGATE_SOURCE_MAX + 1];
	change_plan pl;
	bool lastout_changed, scope_timeout;
	uint8_t was[RULES_PROGS_MAX];     /* timed_out: the state before it,
					  * for the audit trail */
	bool by_timeout[RULES_PROGS_MAX]; /* the opt-out is the timeout's,
					   * not the MO's: the engine's */
	bool timed_out[RULES_PROGS_MAX];  /* opted out by the question's
					  * timeout (when scope_timeout) */
	uint32_t n_lastout, lastout[SCOPE_LASTOUT_MAX];
} mo_ctx;

static mtgate_state rules_state(unsigned mem_state)
{
	return (mtgate_state)plan_api_state(mem_state);
}

/* The programs of the short code that tenant may act on, with what
 * memory holds for the number. */
static void mo_gather(mo_ctx *x, uint32_t tenant)
{
	const sc_version *sc = x->sc;
	const pend *newest =
		x->s->overlay.used ? overlay_newest(x->s, x->number) : NULL;

	x->n = 0;
	for (uint32_t i = 0; i < sc->n_progs && x->n < RULES_PROGS_MAX; i++) {
		const prog_version *p = prog_get(x->s->eng, sc->progs[i]);
		cur_consent *c = &x->cur[x->n];
		rules_prog *r = &x->in[x->n];
		if (p == NULL ||
		    (tenant != MTGATE_TENANT_ANY && p->def.tenant != tenant))
			continue;
		cur_of_in(x->s, x->number, x->hash, p->def.id, newest, c);
		x->pid[x->n] = p->def.id;
		x->prog[x->n] = p;
		*r = (rules_prog){
			.id = p->def.id,
			.keyword = p->def.keyword,
			.name = p->def.name,
			.welcome_text = p->def.welcome_text,
			.help_text = p->def.help_text,
			.quit_text = p->def.quit_text,
			.confirm_text = p->def.confirm_text,
			.double_opt_in = p->def.double_opt_in,
			.state = rules_state(c->mem_state),
			.voided = c->mem_state == STORE_ST_VOID,
			.last_optout =
				c->flags & (SLOT_LASTOUT >> SLOT_FLAG_SHIFT),
			.pending_expired =
				doi_pending(c) &&
				x->now - c->doi.at_ms >= DOI_WINDOW_MS,
			.decline_cooldown = doi_cooling(c, x->now),
		};
		x->n++;
	}
}

static bool active(const cur_consent *c)
{
	return c->mem_state == STORE_ST_IN || c->mem_state == STORE_ST_PENDING;
}

static const uint8_t F_LASTOUT = SLOT_LASTOUT >> SLOT_FLAG_SHIFT;
static const uint8_t F_SCOPE = SLOT_SCOPE >> SLOT_FLAG_SHIFT;

/* A question older than 30 minutes has opted the number out of every
 * program of the short code (STOP-4): make it so before the MO is read. */
static void mo_scope_timeout(mo_ctx *x)
{
	if (!x->scope.open || !scope_expired(x->scope.opened_s, x->now))
		return;
	x->scope_timeout = true;
	for (uint32_t i = 0; i < x->n; i++) {
		/* Only what the question covers: not another tenant's
		 * programs, nor one opted in after it was asked. */
		x->timed_out[i] =
			active(&x->cur[i]) && (x->cur[i].flags & F_SCOPE);
		if (x->timed_out[i]) { /* applied by mo_timeout_changes */
			x->was[i] = (uint8_t)x->cur[i].mem_state;
			x->cur[i].mem_state = STORE_ST_OUT;
			x->in[i].state = MTGATE_STATE_OPTED_OUT;
		}
	}
	x->scope.open = false;
}

/* The timeout's opt-outs, but where the MO itself decided (it saw them
 * opted out already). */
static void mo_timeout_changes(mo_ctx *x)
{
	if (!x->scope_timeout)
		return;
	for (uint32_t i = 0; i < x->n; i++) {
		x->by_timeout[i] =
			x->timed_out[i] && x->rout.change[i] == RULES_NONE;
		if (x->by_timeout[i])
			x->rout.change[i] = RULES_OPTOUT;
	}
}

/* No step: nothing but what the timeout does. */
static void mo_no_step(mo_ctx *x)
{
	memset(x->rout.change, 0, x->n * sizeof(x->rout.change[0]));
	memset(x->rout.repeat, 0, x->n * sizeof(x->rout.repeat[0]));
	x->rout.scope_open = x->rout.scope_close = false;
	x->rout.n_replies = x->rout.n_actions = 0;
}

/* ---- the plan of an MO ---------------------------------------------------------------- */

/* OPTIN-3: a repeat opt-in changes nothing but is recorded: the record
 * keeps what it holds (the time consent was given, the confirmed terms
 * and billing counts of a double opt-in) and takes the MO as its latest
 * channel and source. */
static int mo_repeat(mo_ctx *x, uint32_t i)
{
	cur_consent c = x->cur[i];
	codec_consent r;
	int k, rc = cur_record(x->s, x->number, x->pid[i], &r);

	if (rc < 0)
		return rc;
	k = plan_consent(&x->pl, x->pid[i], &c, STORE_ST_IN,
			 c.flags & (uint8_t) ~(F_LASTOUT | F_SCOPE),
			 rc ? r.changed_at_ms : x->now, MTGATE_CHANNEL_MO,
			 x->source, true);
	if (k < 0)
		return MTGATE_EINVAL;
	if (rc == 1) {
		codec_consent *w = &x->pl.rec[k];
		r.channel = w->channel;
		r.source_len = w->source_len;
		memcpy(r.source, w->source, w->source_len);
		*w = r;
	}
	return 0;
}

static int mo_optin(mo_ctx *x, uint32_t i, bool repeat)
{
	const prog_version *p = x->prog[i];
	cur_consent c = x->cur[i];
	uint64_t d = cur_deact(x->s, x->number);
	bool one_off = p->def.kind == MTGATE_KIND_ONE_OFF;
	int k;

	if (d != 0 && x->now <= (int64_t)(d >> 8))
		return 0; /* NUM-3: not after the deactivation */
	/* A one-off program's keyword is a new request, repeat or not
	 * (GATE-3); a double opt-in one asks through DOI_REQUEST. */
	if (repeat && !(one_off && !p->def.double_opt_in))
		return mo_repeat(x, i);
	if (one_off) {
		uint32_t base = c.mem_state == STORE_ST_IN ? c.granted : c.used;
		if (base >= MTGATE_LIMIT_MAX)
			return 0;
		c.granted = (uint16_t)(base + 1); /* GATE-3 */
	}
	k = plan_consent(&x->pl, x->pid[i], &c, STORE_ST_IN,
			 c.flags & (uint8_t) ~(F_LASTOUT | F_SCOPE), x->now,
			 MTGATE_CHANNEL_MO, x->source, true);
	if (k >= 0 && c.has_doi)
		x->pl.eff[k].doi = EFF_DOI_DEL;
	return k < 0 ? MTGATE_EINVAL : 0;
}

static int mo_confirm(mo_ctx *x, uint32_t i)
{
	cur_consent c = x->cur[i];
	int k;

	if (x->prog[i]->def.kind == MTGATE_KIND_ONE_OFF &&
	    c.granted < MTGATE_LIMIT_MAX)
		c.granted++;
	k = plan_consent(&x->pl, x->pid[i], &c, STORE_ST_IN,
			 c.flags & (uint8_t) ~(F_LASTOUT | F_SCOPE), x->now,
			 MTGATE_CHANNEL_MO, x->source, true);
	if (k < 0)
		return MTGATE_EINVAL;
	plan_confirm_record(&x->pl, k, &c);
	x->pl.eff[k].doi = EFF_DOI_DEL;
	if (x->prog[i]->def.kind == MTGATE_KIND_ONE_OFF) {
		codec_consent r;
		if (cur_record(x->s, x->number, x->pid[i], &r) == 1)
			x->pl.rec[k].bill_credits = r.bill_credits;
		x->pl.rec[k].bill_credits++; /* CC-18 */
	}
	return 0;
}

/* PENDING ends: declined (OPTED_OUT, 24 h cooldown) or failed (NONE). */
static int mo_end_pending(mo_ctx *x, uint32_t i, bool declined, uint8_t cause)
{
	cur_consent c = x->cur[i];
	int k = plan_consent(&x->pl, x->pid[i], &c,
			     declined ? STORE_ST_OUT : STORE_ST_NONE,
			     c.flags & (uint8_t)~F_SCOPE, x->now,
			     MTGATE_CHANNEL_MO, x->source, true);

	if (k < 0)
		return MTGATE_EINVAL;
	x->pl.rec[k].cause = cause;
	if (declined) {
		x->pl.rec[k].doi_at_ms = x->now;
		x->pl.eff[k].doi = EFF_DOI_SET;
		x->pl.eff[k].doi_e =
			(doi_entry){.at_ms = x->now, .flags = DOI_DECLINED};
	} else {
		x->pl.eff[k].doi = EFF_DOI_DEL;
	}
	return 0;
}

static int mo_optout(mo_ctx *x, uint32_t i)
{
	cur_consent c = x->cur[i];
	int k = plan_consent(&x->pl, x->pid[i], &c, STORE_ST_OUT,
			     (c.flags & (uint8_t)~F_SCOPE) | F_LASTOUT, x->now,
			     MTGATE_CHANNEL_MO, x->source, true);

	if (k < 0)
		return MTGATE_EINVAL;
	if (x->scope_timeout)
		x->pl.rec[k].cause = CODEC_CAUSE_SCOPE_TIMEOUT;
	if (c.has_doi)
		x->pl.eff[k].doi = EFF_DOI_DEL;
	x->cur[i].flags |= F_LASTOUT;
	x->lastout[x->n_lastout++] = x->pid[i];
	x->lastout_changed = true;
	return 0;
}

static int mo_change(mo_ctx *x, uint32_t i)
{
	switch (x->rout.change[i]) {
	case RULES_OPTIN:
		return mo_optin(x, i, x->rout.repeat[i]);
	case RULES_PENDING:
		return plan_pending(&x->pl, x->pid[i], &x->cur[i], x->prog[i],
				    x->now, MTGATE_CHANNEL_MO, x->source);
	case RULES_CONFIRM:
		return mo_confirm(x, i);
	case RULES_DECLINE:
		return mo_end_pending(x, i, true, CODEC_CAUSE_DECLINED);
	case RULES_FAIL:
		return mo_end_pending(x, i, false,
				      x->in[i].pending_expired
					      ? CODEC_CAUSE_EXPIRED
					      : CODEC_CAUSE_FAILED);
	case RULES_OPTOUT:
		return mo_optout(x, i);
	default:
		return 0;
	}
}

/* Flags only: the latest opt-out moves, the question opens or closes. */
static int mo_flags(mo_ctx *x, bool open, bool close)
{
	for (uint32_t i = 0; i < x->n; i++) {
		cur_consent *c = &x->cur[i];
		uint8_t f = c->flags;
		bool changed = x->rout.change[i] != RULES_NONE;
		if (x->lastout_changed && !changed)
			f &= (uint8_t)~F_LASTOUT;
		if (open && active(c))
			f |= F_SCOPE;
		if (close)
			f &= (uint8_t)~F_SCOPE;
		if (f == c->flags || changed)
			continue;
		if (plan_consent(&x->pl, x->pid[i], c, c->mem_state, f, x->now,
				 MTGATE_CHANNEL_MO, NULL, false) < 0)
			return MTGATE_EINVAL;
	}
	return 0;
}

/* Program i's flags once the plan is applied. */
static uint8_t mo_final_flags(const mo_ctx *x, uint32_t i)
{
	for (uint32_t k = x->pl.n; k-- > 0;)
		if (x->pl.eff[k].key == x->pid[i])
			return x->pl.eff[k].flags;
	return x->cur[i].flags;
}

/* The number's short-code record: written when the question or the
 * latest opt-out changes; while the question is open it lists the
 * programs it covers (F_SCOPE), for recovery. */
static int mo_scope_record(mo_ctx *x)
{
	bool open =
		x->rout.scope_open || (x->scope.open && !x->rout.scope_close);
	bool was = x->scope.open || x->scope_timeout;
	int64_t at =
		x->rout.scope_open ? x->now : (int64_t)x->scope.opened_s * 1000;

	if (!x->lastout_changed && open == was)
		return 0;
	if (plan_scope(&x->pl, x->sc->id, open, at) < 0)
		return MTGATE_EINVAL;
	if (!x->lastout_changed) { /* keep the latest opt-out as it is */
		for (uint32_t i = 0; i < x->n; i++)
			if (x->cur[i].flags & F_LASTOUT)
				x->lastout[x->n_lastout++] = x->pid[i];
	}
	memcpy(x->pl.scope.lastout, x->lastout,
	       x->n_lastout * sizeof(uint32_t));
	x->pl.scope.n_lastout = x->n_lastout;
	x->pl.scope.n_asked = 0;
	for (uint32_t i = 0; open && i < x->n; i++)
		if (mo_final_flags(x, i) & F_SCOPE)
			x->pl.scope.asked[x->pl.scope.n_asked++] = x->pid[i];
	return 0;
}

static int mo_plan(mo_ctx *x)
{
	int rc = 0;

	plan_init(&x->pl);
	x->n_lastout = 0;
	x->lastout_changed = false;
	for (uint32_t i = 0; i < x->n && rc == 0; i++) {
		uint32_t k0 = x->pl.n;
		rc = mo_change(x, i);
		/* A timeout's change starts from the state before it. */
		for (uint32_t k = k0;
		     x->scope_timeout && x->timed_out[i] && k < x->pl.n; k++)
			if (x->pl.eff[k].key == x->pid[i]) {
				x->pl.old[k] = x->was[i];
				x->pl.by_engine[k] = x->by_timeout[i];
			}
	}
	if (rc == 0)
		rc = mo_flags(x, x->rout.scope_open,
			      x->rout.scope_close || x->scope_timeout);
	if (rc == 0)
		rc = mo_scope_record(x);
	return rc;
}

/* ---- the result ------------------------------------------------------------------------ */

static const mtgate_mo_action_kind act_kind[RULES_ACT_MAX] = {
	[RULES_ACT_OPTED_IN] = MTGATE_ACT_OPTED_IN,
	[RULES_ACT_OPTED_OUT] = MTGATE_ACT_OPTED_OUT,
	[RULES_ACT_PENDING] = MTGATE_ACT_PENDING,
	[RULES_ACT_CONFIRMED] = MTGATE_ACT_CONFIRMED,
	[RULES_ACT_DECLINED] = MTGATE_ACT_DECLINED,
	[RULES_ACT_FAILED] = MTGATE_ACT_FAILED,
	[RULES_ACT_SCOPE_QUESTION] = MTGATE_ACT_SCOPE_QUESTION,
	[RULES_ACT_HELP] = MTGATE_ACT_HELP,
};

static void mo_result(const mo_ctx *x, mtgate_mo_result *out)
{
	size_t used = 0;

	out->n_replies = out->n_actions = 0;
	if (x->scope_timeout) /* the question's 30 minutes ran out first */
		for (uint32_t i = 0; i < x->n; i++)
			if (x->rout.change[i] == RULES_OPTOUT &&
			    out->n_actions < MTGATE_MO_ACTIONS_MAX &&
			    x->in[i].state == MTGATE_STATE_OPTED_OUT)
				out->action[out->n_actions++] =
					(mtgate_mo_action){MTGATE_ACT_OPTED_OUT,
							   x->pid[i]};
	for (uint32_t i = 0;
	     i < x->rout.n_replies && out->n_replies < MTGATE_MO_REPLIES_MAX;
	     i++) {
		size_t n = strnlen(x->rout.reply[i], MTGATE_TEXT_MAX);
		memcpy(out->text + used, x->rout.reply[i], n);
		out->text[used + n] = '\0';
		out->reply[out->n_replies++] = out->text + used;
		used += n + 1;
	}
	for (uint32_t i = 0;
	     i < x->rout.n_actions && out->n_actions < MTGATE_MO_ACTIONS_MAX;
	     i++) {
		const rules_action *a = &x->rout.action[i];
		out->action[out->n_actions++] = (mtgate_mo_action){
			act_kind[a->kind],
			a->prog == UINT32_MAX ? 0 : x->pid[a->prog]};
	}
}

static int mo_read(mo_ctx *x, const char *sc, const char *text, size_t len,
		   uint32_t tenant)
{
	uint32_t sc_id;
	size_t n;
	int rc;

	if (len > MTGATE_MO_MAX)
		return MTGATE_EMO_LONG;
	if ((rc = rules_tokenize(text, len, &x->words)) < 0)
		return rc;
	sc_id = shard_sc_find(x->s, sc);
	x->sc = sc_id ? sc_get(x->s->eng, sc_id) : NULL;
	/* The MO text is the source of what it changes, cut to fit at a
	 * character boundary (the text is valid UTF-8 by now). */
	n = len < MTGATE_SOURCE_MAX ? len : MTGATE_SOURCE_MAX;
	while (n < len && n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
		n--;
	memcpy(x->source, text, n);
	x->source[n] = '\0';
	if (x->sc == NULL)
		return 0; /* a short code with nothing on it */
	mo_gather(x, tenant);
	cur_scope_of(x->s, x->number, x->hash, sc_id, &x->scope);
	return 0;
}

int shard_mo(shard *s, uint32_t tenant, uint64_t number, const char *sc,
	     const char *text, size_t len, mtgate_mo_result *out,
	     mtgate_done_fn done, void *arg)
{
	static _Thread_local mo_ctx x;
	int rc;

	x.s = s;
	x.number = number;
	x.hash = store_hash(number);
	x.now = mtgate_now(s->eng);
	x.scope_timeout = false;
	x.n = 0;
	if ((rc = mo_read(&x, sc, text, len, tenant)) < 0)
		return rc;
	if (x.sc != NULL) {
		mo_scope_timeout(&x);
		x.rin = (rules_mo_in){&x.words, x.in, x.n, x.scope.open,
				      x.sc->help};
		rules_mo_step(&x.rin, &x.rout);
		mo_timeout_changes(&x);
	} else {
		mo_no_step(&x);
	}
	rc = mo_plan(&x);
	if (rc < 0)
		return rc;
	x.pl.actor = tenant == MTGATE_TENANT_ANY ? 0 : tenant;
	if (x.pl.n > 0 && atomic_load(&s->eng->write_error) != 0)
		return MTGATE_EREADONLY; /* a HELP is still answered */
	mo_result(&x, out);
	if (x.pl.n == 0) {
		/* Nothing to write (HELP, a question): answered at once. */
		if (done != NULL)
			done(arg, 0, MTGATE_UNCHANGED, 0);
		return 0;
	}
	return plan_submit(s, number, &x.pl, x.source, done, arg);
}

/* ---- the sweep: what nobody answered ----------------------------------------------- */

typedef struct open_scope {
	uint64_t number;
	uint32_t sc_id;
	uint32_t opened_s;
} open_scope;

void shard_scope_opened(shard *s, uint64_t number, uint32_t sc_id,
			uint32_t opened_s)
{
	if (s->n_scopes == s->scopes_cap) {
		uint32_t cap = s->scopes_cap ? 2 * s->scopes_cap : 64;
		open_scope *n = realloc(s->scopes, cap * sizeof(*n));
		if (n == NULL)
			return; /* the gate still denies; the next MO ends it */
		s->scopes = n;
		s->scopes_cap = cap;
	}
	s->scopes[s->n_scopes++] = (open_scope){number, sc_id, opened_s};
}

static void sweep_done(void *arg, int status, mtgate_outcome outcome,
		       uint32_t consents)
{
	(void)status;
	(void)outcome;
	(void)consents;
	waiter_done(arg);
}

/* Submit a sweep's change; w, when given, waits for it to be durable. */
static int sweep_submit(shard *s, uint64_t number, change_plan *pl,
			const char *source, waiter *w)
{
	int rc;

	pl->actor = MTGATE_ACTOR_ENGINE;
	if (w != NULL)
		atomic_fetch_add(&w->pending, 1);
	rc = plan_submit(s, number, pl, source, w ? sweep_done : NULL, w);
	if (rc < 0 && w != NULL)
		waiter_done(w);
	return rc;
}

/* A question 30 minutes old: an MO that changes nothing but lets the
 * timeout act (mo_scope_timeout). */
static bool sweep_scope(shard *s, const open_scope *o, int64_t now, waiter *w)
{
	static _Thread_local mo_ctx x;
	cur_scope cs;

	cur_scope_of(s, o->number, store_hash(o->number), o->sc_id, &cs);
	if (!cs.open || cs.opened_s != o->opened_s)
		return true; /* answered, or a newer question */
	if (!scope_expired(cs.opened_s, now))
		return false;
	x.s = s;
	x.number = o->number;
	x.hash = store_hash(o->number);
	x.now = now;
	x.scope_timeout = false;
	x.sc = sc_get(s->eng, o->sc_id);
	if (x.sc == NULL)
		return true;
	snprintf(x.source, sizeof(x.source), "scope question unanswered");
	mo_gather(&x, MTGATE_TENANT_ANY);
	x.scope = cs;
	mo_scope_timeout(&x);
	mo_no_step(&x);
	mo_timeout_changes(&x);
	return mo_plan(&x) == 0 &&
	       (x.pl.n == 0 ||
		sweep_submit(s, o->number, &x.pl, x.source, w) == 0);
}

/* A request 24 hours old fails (DOI-5); a decline 24 hours old is
 * forgotten (DOI-6). */
static void sweep_doi(shard *s, int64_t now, waiter *w)
{
	static _Thread_local change_plan pl;

	for (size_t i = 0; i < s->doi.cap; i++) {
		doimap_slot *d = &s->doi.slots[i];
		cur_consent c;
		int k;
		if (d->number == 0 || now - d->e.at_ms < DOI_WINDOW_MS)
			continue;
		if (d->e.flags & DOI_DECLINED) {
			doimap_del(&s->doi, d->number, d->program);
			i--; /* the slot was refilled by the shift */
			continue;
		}
		cur_of(s, d->number, store_hash(d->number), d->program, &c);
		if (!doi_pending(&c) || u64map_get(&s->overlay, d->number))
			continue; /* in flight: next sweep */
		plan_init(&pl);
		k = plan_consent(&pl, d->program, &c, STORE_ST_NONE, c.flags,
				 now, (mtgate_channel)c.doi.channel,
				 "double opt-in unanswered", true);
		pl.rec[k].cause = CODEC_CAUSE_EXPIRED;
		pl.eff[k].doi = EFF_DOI_DEL;
		sweep_submit(s, d->number, &pl, NULL, w);
	}
}

void shard_sweep(shard *s, waiter *w)
{
	int64_t now = mtgate_now(s->eng);
	uint32_t k = 0;

	if (atomic_load(&s->eng->write_error) != 0)
		return;
	for (uint32_t i = 0; i < s->n_scopes; i++)
		if (!sweep_scope(s, &s->scopes[i], now, w))
			s->scopes[k++] = s->scopes[i];
	s->n_scopes = k;
	sweep_doi(s, now, w);
}

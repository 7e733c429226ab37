/*
 * The public calls of the consent rules (include/mtgate/engine.h): MOs,
 * billing checks, reminders due and program checks. An MO or a billing
 * check runs on the owner of the number's shard (engine/store/
 * rules_glue.c): from any thread through the owner's mailbox, from the
 * owner itself without waiting. Reminders read storage directly.
 */
#include <string.h>

#include "internal.h"
#include "rules/rules.h"

/* ---- MO ---------------------------------------------------------------------------- */

typedef struct mo_call {
	task t;
	waiter w;
	uint32_t tenant;
	uint64_t number;
	const char *sc, *text;
	size_t len;
	mtgate_mo_result *out;
	int rc;
} mo_call;

static void mo_done(void *arg, int status, mtgate_outcome outcome,
		    uint32_t consents)
{
	mo_call *c = arg;

	(void)outcome;
	(void)consents;
	c->rc = status;
	waiter_done(&c->w);
}

static void mo_run(shard *s, task *t)
{
	mo_call *c = (mo_call *)t;
	int rc = shard_mo(s, c->tenant, c->number, c->sc, c->text, c->len,
			  c->out, mo_done, c);

	if (rc < 0) {
		c->rc = rc;
		waiter_done(&c->w); /* done will not run */
	}
}

static int mo_args(mtgate_engine *eng, uint64_t number, const char *sc,
		   const char *text, size_t len, const mtgate_mo_result *out)
{
	if (eng == NULL || sc == NULL || out == NULL || (text == NULL && len))
		return MTGATE_EINVAL;
	if (number == 0 || number > MTGATE_NUMBER_MAX)
		return MTGATE_EINVAL;
	if (atomic_load(&eng->closing))
		return MTGATE_ECLOSED;
	return len > MTGATE_MO_MAX ? MTGATE_EMO_LONG : 0;
}

int mtgate_mo(mtgate_engine *eng, uint32_t tenant, uint64_t number,
	      const char *short_code, const char *text, size_t len,
	      mtgate_mo_result *out)
{
	mo_call c = {.t.run = mo_run,
		     .tenant = tenant,
		     .number = number,
		     .sc = short_code,
		     .text = text ? text : "",
		     .len = len,
		     .out = out};
	int rc = mo_args(eng, number, short_code, text, len, out);

	if (rc < 0)
		return rc;
	atomic_init(&c.w.pending, 1);
	run_on_owner(eng, &eng->shards[mtgate_shard_of(eng, number)], &c.t,
		     &c.w);
	return c.rc;
}

int mtgate_owner_mo(mtgate_engine *eng, uint32_t tenant, uint64_t number,
		    const char *short_code, const char *text, size_t len,
		    mtgate_mo_result *out, mtgate_done_fn done, void *arg)
{
	int rc = mo_args(eng, number, short_code, text, len, out);
	shard *s;

	if (rc < 0)
		return rc;
	s = &eng->shards[mtgate_shard_of(eng, number)];
	if (!shard_owned(s))
		return MTGATE_ENOTOWNER;
	return shard_mo(s, tenant, number, short_code, text ? text : "", len,
			out, done, arg);
}

/* ---- billing ----------------------------------------------------------------------- */

typedef struct bill_call {
	task t;
	waiter w;
	uint64_t number;
	uint32_t program, amount;
	int64_t now_ms;
	mtgate_bill_reason *out;
	int rc;
} bill_call;

static void bill_run(shard *s, task *t)
{
	bill_call *c = (bill_call *)t;

	c->rc = shard_bill_check(s, c->number, c->program, c->amount, c->now_ms,
				 c->out);
	waiter_done(&c->w);
}

int mtgate_bill_check(mtgate_engine *eng, uint64_t number, uint32_t program,
		      uint32_t amount_cents, int64_t now_ms,
		      mtgate_bill_reason *out)
{
	bill_call c = {.t.run = bill_run,
		       .number = number,
		       .program = program,
		       .amount = amount_cents,
		       .now_ms = now_ms,
		       .out = out};

	if (eng == NULL || out == NULL || number == 0 ||
	    number > MTGATE_NUMBER_MAX)
		return MTGATE_EINVAL;
	if (prog_get(eng, program) == NULL)
		return MTGATE_ENOPROGRAM;
	atomic_init(&c.w.pending, 1);
	run_on_owner(eng, &eng->shards[mtgate_shard_of(eng, number)], &c.t,
		     &c.w);
	return c.rc;
}

/* ---- reminders (DOI-9) ------------------------------------------------------------------- */

#define DAY_MS      (24 * 3600 * 1000LL)
#define REMIND_DAYS 30

/* A confirmed subscription to a double-opt-in program is owed a reminder
 * 30 days after its start and every 30 days after: due on the UTC day of
 * at_ms when that day is such a day. */
static bool reminder_due(const codec_consent *r, int64_t at_ms, int64_t *due_ms)
{
	int64_t start = r->changed_at_ms / DAY_MS, day = at_ms / DAY_MS;
	int64_t age = day - start;

	if (r->state != MTGATE_STATE_OPTED_IN || age < REMIND_DAYS ||
	    age % REMIND_DAYS != 0)
		return false;
	*due_ms = r->changed_at_ms + age * DAY_MS;
	return true;
}

int mtgate_reminders_due(mtgate_engine *eng, int64_t at_ms,
			 mtgate_reminder *out, size_t cap, size_t *n_out)
{
	size_t n = 0;
	db_range r;
	int rc;

	if (eng == NULL || n_out == NULL || (cap > 0 && out == NULL))
		return MTGATE_EINVAL;
	rc = db_range_open(&eng->db, &r, DB_CF_CONSENTS, NULL, 0, NULL, 0);
	for (; rc == 0 && rocksdb_iter_valid(r.it); rocksdb_iter_next(r.it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(r.it, &kl);
		const char *v = rocksdb_iter_value(r.it, &vl);
		const prog_version *p;
		codec_consent c;
		uint64_t number;
		uint32_t pid;
		int64_t due;
		if ((rc = codec_key_consent_decode(k, kl, &number, &pid)) < 0 ||
		    (rc = codec_consent_decode(v, vl, &c)) < 0)
			break;
		p = prog_get(eng, pid);
		if (p == NULL || !p->def.double_opt_in ||
		    !reminder_due(&c, at_ms, &due))
			continue;
		if (n < cap)
			out[n] = (mtgate_reminder){number, pid, c.changed_at_ms,
						   due};
		n++;
	}
	if (rc == 0)
		rc = db_iter_status(&eng->db, r.it);
	db_range_close(&r);
	*n_out = n;
	return rc;
}

/* ---- the sweep now ------------------------------------------------------------------------ */

typedef struct sweep_call {
	task t;
	waiter *w;
} sweep_call;

static void sweep_run(shard *s, task *t)
{
	sweep_call *c = (sweep_call *)t;

	shard_sweep(s, c->w);
	waiter_done(c->w); /* the task itself */
}

int mtgate_sweep(mtgate_engine *eng)
{
	waiter w;

	if (eng == NULL)
		return MTGATE_EINVAL;
	for (unsigned i = 0; i < eng->nshards; i++) {
		sweep_call c = {.t.run = sweep_run, .w = &w};
		atomic_init(&w.pending, 1);
		run_on_owner(eng, &eng->shards[i], &c.t, &w);
	}
	return atomic_load(&eng->write_error);
}

/* ---- program checks --------------------------------------------------------------------- */

int mtgate_program_check(const mtgate_engine *eng,
			 const mtgate_program_def *def, char *why, size_t cap)
{
	uint32_t max = eng && eng->opts.max_charge_cents
			       ? eng->opts.max_charge_cents
			       : MTGATE_MAX_CHARGE_DEFAULT;

	if (def == NULL)
		return MTGATE_EINVAL;
	return rules_check_program(def, max, why, cap);
}

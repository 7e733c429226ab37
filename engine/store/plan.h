/*
 * Planning a consent change on a shard's owner thread (engine/store/
 * change.c), shared by the plain changes (opt-in, opt-out, deactivation)
 * and the rules (engine/store/rules_glue.c: MO, double opt-in, billing).
 *
 * A plan lists effects (pend_effect: the state of one key after the
 * change) and, for each consent effect that writes its record, the record.
 * Planning reads the newest state of each key: the newest effect in flight
 * for it (the overlay), else memory. plan_submit turns the plan into one
 * pend node, so everything an MO does to one number is one atomic, durable
 * write.
 */
#ifndef MTGATE_STORE_PLAN_H
#define MTGATE_STORE_PLAN_H

#include "internal.h"

/* The newest state of a consent. */
typedef struct cur_consent {
	unsigned mem_state; /* STORE_ST_* */
	uint16_t granted;
	uint16_t used;
	uint8_t flags; /* SLOT_FLAGS >> SLOT_FLAG_SHIFT */
	bool has_doi;  /* a double opt-in pending or cooling down */
	doi_entry doi;
} cur_consent;

/* The newest state of the number's record of a short code. */
typedef struct cur_scope {
	bool open;         /* the STOP-4 question is open */
	uint32_t opened_s; /* scope_second_of the time it opened */
} cur_scope;

/* The number's short-code record to write with the change (DB_CF_SCOPES):
 * the question and the programs of the latest opt-out. */
#define SCOPE_LASTOUT_MAX 256
typedef struct scope_put {
	bool on;
	uint32_t sc_id;
	bool open;
	int64_t opened_at_ms;
	uint32_t n_lastout;
	uint32_t lastout[SCOPE_LASTOUT_MAX];
	uint32_t n_asked; /* open: the programs the question covers */
	uint32_t asked[SCOPE_LASTOUT_MAX];
} scope_put;

typedef struct change_plan {
	uint32_t n;
	pend_effect eff[PEND_EFFECTS_MAX];
	codec_consent rec[PEND_EFFECTS_MAX]; /* consent effects */
	bool put[PEND_EFFECTS_MAX];          /* write rec[i] */
	uint8_t old[PEND_EFFECTS_MAX];       /* consent effects: the state
					      * before (STORE_ST_*) */
	bool by_engine[PEND_EFFECTS_MAX];    /* the engine's own change (a
					      * timeout an MO applies): its
					      * audit actor is the engine */
	scope_put scope;
	uint32_t actor; /* who asked (the audit trail); plan_init: 0 */
	uint64_t deact; /* at << 8 | reason, or 0 */
	mtgate_outcome outcome;
} change_plan;

pend *overlay_newest(shard *s, uint64_t number);
void cur_of(shard *s, uint64_t number, uint64_t hash, uint32_t pid,
	    cur_consent *c);
/* cur_of with the number's newest pend in flight given (NULL: none), for
 * a caller looking up several keys of one number. */
void cur_of_in(shard *s, uint64_t number, uint64_t hash, uint32_t pid,
	       const pend *newest, cur_consent *c);
void cur_scope_of(shard *s, uint64_t number, uint64_t hash, uint32_t sc_id,
		  cur_scope *c);
uint64_t cur_deact(shard *s, uint64_t number);

void plan_init(change_plan *pl);
/*
 * An effect on consent pid, starting from its current state cur: the new
 * state and flags, and when put, the record written (channel, time,
 * source; the caller may fill more of plan->rec[] through the returned
 * index). Returns the effect's index, or -1 when the plan is full.
 */
int plan_consent(change_plan *pl, uint32_t pid, const cur_consent *cur,
		 unsigned mem_state, uint8_t flags, int64_t at_ms,
		 mtgate_channel channel, const char *source, bool put);
/* An effect on the number's record of short code sc_id (memory), and the
 * record to write. */
int plan_scope(change_plan *pl, uint32_t sc_id, bool open, int64_t at_ms);

/* Queue the plan as one change of number; done runs when it is durable.
 * Every consent record written whose state changes gets an audit record
 * in the same write (AUD-1). An empty plan (nothing to write) completes
 * at once, UNCHANGED. */
int plan_submit(shard *s, uint64_t number, const change_plan *pl,
		const char *source, mtgate_done_fn done, void *arg);

/* Double opt-in and billing changes (engine/store/rules_glue.c). */
int plan_doi_request(shard *s, const mtgate_change *chg, const prog_version *p,
		     uint64_t hash, int64_t at, change_plan *pl);
int plan_doi_renotify(shard *s, const mtgate_change *chg, uint64_t hash,
		      int64_t at, change_plan *pl);
int plan_bill_result(shard *s, const mtgate_change *chg, const prog_version *p,
		     uint64_t hash, int64_t at, change_plan *pl);
/* A confirmation's record: the terms its request asked (DOI-4). */
void plan_confirm_record(change_plan *pl, int i, const cur_consent *c);

/* The mtgate_state of a memory state. */
unsigned plan_api_state(unsigned mem_state);

/* STOP-4: the question is open for 30 minutes. Its time is kept in whole
 * seconds since 1970 (unsigned 32 bits: until 2106), rounded up, so the
 * window never ends early, and at most a second late. */
#define SCOPE_WINDOW_MS (30 * 60 * 1000LL)

static inline uint32_t scope_second_of(int64_t ms)
{
	return ms <= 0 ? 0 : (uint32_t)((ms + 999) / 1000);
}

/* The question opened at opened_s has had its 30 minutes at now_ms. */
static inline bool scope_expired(uint32_t opened_s, int64_t now_ms)
{
	return now_ms - (int64_t)opened_s * 1000 >= SCOPE_WINDOW_MS;
}

#endif

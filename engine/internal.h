/*
 * Engine internals shared by the engine sources. See docs/design.md for the model.
 *
 * Life of a consent change
 *   1. The owner thread of the number's shard validates it against the
 *      newest state: the overlay of changes not yet durable, else the store.
 *   2. It encodes the RocksDB puts into a pend node, appends the node to the
 *      shard's FIFO and to the overlay, and pushes it to the committer.
 *   3. The committer thread takes everything queued (all shards), writes it
 *      as one WriteBatch with one WAL fsync (group commit), records each
 *      node's status and publishes shard->done_seq.
 *   4. The owner, in shard_poll, applies durable nodes to the store in seq
 *      order, unlinks them from the overlay and runs their done callbacks.
 *   Gates read only the store, so a gate never sees a change that is not
 *   durable, and an acknowledged change is always visible to the next gate.
 *
 * Failure: the first failed write makes the engine read-only for good
 * (eng->write_error); every node queued after it fails without being
 * written; the store is untouched by failed nodes.
 */
#ifndef MTGATE_INTERNAL_H
#define MTGATE_INTERNAL_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mtgate/engine.h"
#include "period.h"
#include "persist/codec.h"
#include "persist/db.h"
#include "store/doimap.h"
#include "store/table.h"
#include "store/u64map.h"

/* ---- programs --------------------------------------------------------------- */

/* An immutable program version. Published with a release store into
 * eng->progs[id]; kept until engine close (eng->prog_versions). */
typedef struct prog_version {
	mtgate_program_def def; /* strings point into strs */
	uint32_t sc_id;         /* its short code (engine/shortcode.c) */
	char tz_id[PERIOD_TZ_ID_MAX];
	struct prog_version *older; /* version chain, freed at close */
	char strs[];
} prog_version;

static inline const prog_version *prog_get(mtgate_engine *eng, uint32_t id);

/* ---- short codes ------------------------------------------------------------ */

/* An immutable version of a short code: its help text and the ids of its
 * programs, ascending. Published like programs (engine/shortcode.c). */
typedef struct sc_version {
	uint32_t id;
	char code[MTGATE_SHORTCODE_MAX + 1];
	char *help;      /* into the allocation */
	uint32_t *progs; /* into the allocation */
	uint32_t n_progs;
	struct sc_version *older;
} sc_version;

/* ---- commit pipeline ------------------------------------------------------------ */

enum commit_kind { COMMIT_CHANGE = 1, COMMIT_COUNTERS = 2 };

/* Common head of everything the committer writes. */
typedef struct commit_item {
	struct commit_item *next; /* committer stack link */
	struct shard *shard;
	uint8_t kind;
	int status; /* written by the committer before its release store */
} commit_item;

/*
 * What a durable change does to memory, for one key of the number: a
 * consent (key = program id) or the number's record of one short code
 * (key = sc id | EFF_SC: the STOP-4 scope question). Values are absolute
 * (the state after the change), so the newest effect of a key in flight is
 * that key's current state (change.c cur_of).
 */
#define EFF_SC 0x80000000u
enum eff_doi { EFF_DOI_KEEP = 0, EFF_DOI_SET, EFF_DOI_DEL };

typedef struct pend_effect {
	uint32_t key;
	uint8_t mem_state;   /* STORE_ST_*; short codes: 1 question open */
	uint8_t flags;       /* slot flags >> SLOT_FLAG_SHIFT, absolute */
	uint8_t doi;         /* eff_doi: the shard's doimap entry */
	uint8_t reset_count; /* the counter starts again (deactivation) */
	uint16_t granted;    /* one-off credits */
	uint32_t aux;        /* short codes: second the question opened,
			      * scope_second_of */
	int64_t changed_at_ms;
	doi_entry doi_e; /* EFF_DOI_SET */
} pend_effect;

/* One RocksDB put, laid out in pend->buf as: u8 cf, u8 klen, u16 vlen,
 * key, value. */
#define PEND_EFFECTS_MAX                                                       \
	256 /* keys one change may touch: a number with more
			      * programs cannot be deactivated */

/* Pend nodes of at most this many bytes (a one-consent MO or change is
 * about 600) come from the owner's free list, not the allocator: with
 * thousands in flight the allocator's per-thread cache would overflow on
 * every reap and refill on every change. */
#define PEND_POOL_BLOCK 1024
#define PEND_POOL_MAX   16384 /* blocks kept free per shard */

typedef struct pend {
	commit_item hd;
	struct pend *next_fifo;
	struct pend *older, *newer; /* same-number changes in flight */
	uint64_t seq;
	uint64_t number;
	uint64_t deact; /* != 0: new deactivation (at << 8 | reason) */
	mtgate_outcome outcome;
	mtgate_done_fn done;
	void *arg;
	uint32_t consents; /* consent records the change writes */
	uint32_t n_effects;
	uint32_t n_puts;
	uint32_t buf_len;
	bool pooled;          /* a PEND_POOL_BLOCK from the shard's pool */
	bool empty;           /* changes nothing: not written, in no chain */
	pend_effect *effects; /* into mem[] */
	unsigned char *buf;   /* into mem[] */
	alignas(8) unsigned char mem[];
} pend;

typedef struct ctr_entry {
	uint64_t number;
	uint32_t program;
	uint16_t period;
	uint16_t count;
} ctr_entry;

/* Counters for the counter log: a periodic flush, or part of a rewrite's
 * dump (dump_of = the rewrite it ends, on its last part). */
typedef struct ctr_batch {
	commit_item hd;
	uint64_t n;
	uint64_t dump_of;
	ctr_entry ents[];
} ctr_batch;

typedef struct committer {
	_Atomic(commit_item *) head; /* Treiber stack, newest first */
	_Atomic uint32_t wake;       /* futex word */
	_Atomic bool stop;
	pthread_t thread;
	bool started;
	rocksdb_writebatch_t *wb;
	struct commit_put *puts; /* this turn's puts, sorted before writing */
	size_t n_puts, puts_cap;
	void *scratch;        /* encoded counter log chunks of this turn,
				* and the arena's blocks */
	unsigned char *arena; /* this turn's feed puts (arena_alloc) */
	size_t arena_left;
	uint64_t audit_seq; /* the newest audit seq assigned (committer
			     * thread; set at open) */
	_Atomic uint64_t audit_seq_pub; /* audit_seq once durable */
	unsigned char *resets; /* this turn's counter resets, not yet a chunk */
	size_t n_resets, resets_cap;

	/* The counter log (committer thread only, but rewrite_req). */
	uint64_t ctr_seq;     /* key of the next chunk */
	uint64_t log_entries; /* entries in the log since its last rewrite */
	uint64_t since_req;   /* entries written since the rewrite began */
	unsigned dumped;      /* shards whose dump is written or in the batch */
	bool rewrite_in_batch; /* the batch deletes the log before the rewrite */
	_Atomic uint64_t rewrite_req; /* 0, or the first seq of a rewrite */
	_Atomic uint64_t commits, changes, ctr_flushes;
	_Atomic uint64_t rewrites, log_entries_pub; /* for stats */
} committer;

/* ---- shards ------------------------------------------------------------------- */

/* A closure run on a shard's owner thread (mailbox item). Its memory is
 * the poster's: run() may free it or wake a waiter that owns it. */
typedef struct task {
	struct task *next;
	void (*run)(struct shard *s, struct task *t);
} task;

typedef struct period_cache {
	const prog_version *prog; /* version the span was computed for */
	period_span span;
} period_cache;

typedef struct shard {
	/* Owner-only state. */
	struct mtgate_engine *eng;
	unsigned idx;
	store_table table;
	u64map deact;              /* number -> at_ms << 8 | reason */
	u64map overlay;            /* number -> newest pend in flight */
	doimap doi;                /* double opt-ins pending or cooling down */
	struct open_scope *scopes; /* STOP-4 questions open (the sweep) */
	uint32_t n_scopes, scopes_cap;
	int64_t next_sweep_mono_ms;
	pend *fifo_head, *fifo_tail;
	uint64_t next_seq;
	period_cache *pcache; /* indexed by program id */
	uint32_t pcache_cap;
	uint64_t *dirty; /* slot indexes with SLOT_DIRTY set */
	uint64_t n_dirty, dirty_cap;
	bool dirty_overflow;  /* list lost track: scan the table */
	uint64_t dirty_grows; /* table->grows when the list was valid */
	int64_t next_flush_mono_ms;
	uint32_t ctr_pushed;
	uint64_t dump_req,
		dump_done; /* counter log rewrite being dumped, done */
	uint64_t dump_pos, dump_grows;
	pend *pool; /* free PEND_POOL_BLOCKs, linked by next_fifo */
	uint32_t n_pool;
	/* short codes the owner has looked up (an id never changes once a
	 * code has it): direct-mapped, id 0 = empty */
	struct {
		uint32_t id;
		char code[MTGATE_SHORTCODE_MAX + 1];
	} sc_cache[8];

	/* Written by other threads. */
	alignas(64) _Atomic(task *) mailbox;
	_Atomic uint64_t done_seq; /* committer: nodes <= seq have status */
	_Atomic uint32_t ctr_done; /* committer: counter batches written */
	_Atomic uint32_t wake;     /* futex word for engine-run owners */
	_Atomic uintptr_t owner;   /* token of the owning thread */
	_Atomic uint64_t gates;
	_Atomic uint64_t consents;
	_Atomic uint64_t bytes;
	pthread_t thread;
	bool thread_started;
} shard;

/* ---- engine ------------------------------------------------------------------- */

struct mtgate_engine {
	mtgate_options opts;
	char *path;
	unsigned nshards;
	shard *shards;
	db db;
	committer com;
	_Atomic int write_error; /* first storage error; sticky */
	uint64_t recovered, recovery_ms, recovery_counters_ms; /* at open */
	_Atomic bool closing;

	pthread_mutex_t prog_lock; /* admin path only: define, update, find */
	_Atomic(prog_version *) *progs; /* MTGATE_PROGRAMS_MAX entries */
	uint32_t next_prog_id;
	prog_version *prog_versions; /* every version ever published */
	u64map prog_index;           /* hash(sc, kw) -> id; see program.c */
	_Atomic(sc_version *) *scs;  /* MTGATE_PROGRAMS_MAX entries */
	uint32_t next_sc_id;
	sc_version *sc_versions;
	u64map sc_index; /* hash(code) -> id */

	/* audit.c: each tenant's feed delivery (feed calls only) */
	pthread_mutex_t feed_lock;
	bool feed_lock_ok;
	struct feed_state *feeds;
	size_t n_feeds, feeds_cap;
};

static inline const sc_version *sc_get(mtgate_engine *eng, uint32_t id)
{
	if (id == 0 || id >= MTGATE_PROGRAMS_MAX)
		return NULL;
	return atomic_load_explicit(&eng->scs[id], memory_order_acquire);
}

static inline const prog_version *prog_get(mtgate_engine *eng, uint32_t id)
{
	if (id == 0 || id >= MTGATE_PROGRAMS_MAX)
		return NULL;
	return atomic_load_explicit(&eng->progs[id], memory_order_acquire);
}

/* engine.c: waiting for an owner thread */
typedef struct waiter waiter;
struct waiter {
	_Atomic uint32_t pending; /* completions still owed */
};
void waiter_done(waiter *w);
/* Wait for w; a thread that owns shards keeps polling them meanwhile. */
void waiter_wait(mtgate_engine *eng, waiter *w);
/* Run t on s's owner and wait for w, or run it here if we own s. */
void run_on_owner(mtgate_engine *eng, shard *s, task *t, waiter *w);

/* engine.c */
uintptr_t engine_thread_token(void);
void engine_log(mtgate_engine *eng, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void shard_wake(shard *s);
/* One put, fsynced before it returns (admin records: programs, tenants).
 * A failure makes the engine read-only, as a failed commit does. */
int engine_put_durable(mtgate_engine *eng, enum db_cf cf, const void *key,
		       size_t klen, const void *val, size_t vlen);
int64_t mono_ms(void);

/* audit.c: the newest audit seq from storage, the feed's lock. */
int audit_open(mtgate_engine *eng);
void audit_close(mtgate_engine *eng);

/* committer.c */
int committer_start(mtgate_engine *eng);
void committer_stop(mtgate_engine *eng);
void committer_push(mtgate_engine *eng, commit_item *it);

/* shard.c */
int shard_init(shard *s, mtgate_engine *eng, unsigned idx, uint64_t expected);
void shard_free(shard *s);
int shard_poll(shard *s);
void shard_post(shard *s, task *t);
bool shard_idle(shard *s);
int shard_gate_batch(shard *s, const mtgate_gate_req *reqs, const uint32_t *idx,
		     size_t n, mtgate_mode mode, int64_t now_ms,
		     uint32_t tenant, mtgate_reason *out);
int shard_submit(shard *s, const mtgate_change *chg, mtgate_done_fn done,
		 void *arg);
int shard_query(shard *s, uint64_t number, int64_t now_ms, mtgate_consent *out,
		size_t cap, size_t *n_out, mtgate_deactivation *deact_out);
/* Apply the changes made durable since the last call, in order, and run
 * their done callbacks (change.c). Returns how many. */
int shard_apply_done(shard *s);
/* Does the store hold a consent of number (or a change in flight)? */
bool shard_known(shard *s, uint64_t number);
/* Give back a pend node (to the pool when it came from there). */
void pend_free(shard *s, pend *p);
/* The rules on the owner (store/rules_glue.c). shard_mo may run done
 * before it returns, when the MO changes nothing. */
int shard_mo(shard *s, uint32_t tenant, uint64_t number, const char *sc,
	     const char *text, size_t len, mtgate_mo_result *out,
	     mtgate_done_fn done, void *arg);
int shard_bill_check(shard *s, uint64_t number, uint32_t pid, uint32_t amount,
		     int64_t now, mtgate_bill_reason *out);
/* End what nobody answered (DOI-5, STOP-4); w, when given, counts the
 * changes it starts so that a caller can wait for them. */
void shard_sweep(shard *s, struct waiter *w);
void shard_scope_opened(shard *s, uint64_t number, uint32_t sc_id,
			uint32_t opened_s);
/* Start a counter flush now; returns the ctr_done value that marks it. */
uint32_t shard_flush_counters(shard *s, bool force);
int shard_period_fill(shard *s, const prog_version *p, int64_t now_ms,
		      uint16_t *index);
void shard_update_stats(shard *s);
/* Recovery (before owners start; engine/recover.c). */
uint64_t shard_consent_meta(uint32_t program, const codec_consent *c);
void shard_load_counter(shard *s, uint64_t number, uint32_t program,
			uint16_t period, uint16_t count);

/* recover.c */
int engine_recover(mtgate_engine *eng);

/* shortcode.c (changes under prog_lock) */
int shortcodes_init(mtgate_engine *eng);
void shortcodes_free(mtgate_engine *eng);
int shortcodes_load(mtgate_engine *eng); /* before the programs */
int shortcodes_link(mtgate_engine *eng); /* after the programs */
int sc_ensure_locked(mtgate_engine *eng, const char *code, uint32_t *id_out);
int sc_programs_changed_locked(mtgate_engine *eng, uint32_t id);
uint32_t sc_find(mtgate_engine *eng, const char *code); /* 0: unknown */
/* sc_find through the owner's cache of s (owner thread only). */
uint32_t shard_sc_find(shard *s, const char *code);

/* program.c */
int programs_init(mtgate_engine *eng);
void programs_free(mtgate_engine *eng);
int programs_load(mtgate_engine *eng);

/* The index of the counting period of p at now_ms, from the shard's cache
 * (inline: every counted gate asks); ICU only when the span has ended or
 * the program changed. */
static inline int shard_period(shard *s, const prog_version *p, int64_t now_ms,
			       uint16_t *index)
{
	uint32_t id = p->def.id;

	if (id < s->pcache_cap) {
		const period_cache *pc = &s->pcache[id];
		if (pc->prog == p && now_ms >= pc->span.start_ms &&
		    now_ms < pc->span.end_ms) {
			*index = pc->span.index;
			return 0;
		}
	}
	return shard_period_fill(s, p, now_ms, index);
}

static inline bool shard_owned(shard *s)
{
	return atomic_load_explicit(&s->owner, memory_order_relaxed) ==
	       engine_thread_token();
}

#endif

/*
 * The committer: one thread per engine that makes changes durable.
 *
 * Owner threads push commit items onto a lock-free stack (one CAS each). The
 * committer swaps the whole stack out, reverses it (restoring per-shard
 * order), writes every put of every item as one WriteBatch and syncs the WAL
 * once when the batch holds a consent change: concurrent changes share one
 * fsync (group commit). Counter batches alone are written without fsync;
 * RocksDB's WAL still keeps them across a process crash.
 *
 * Counters go into the counter log (codec.h): each flush becomes chunks of
 * up to CTRLOG_CHUNK entries under increasing keys, and a deactivation's
 * counter resets become a chunk placed in arrival order among them. The log
 * is rewritten when it grows past twice the consents (rewrite_maybe_start).
 *
 * Bounds: one batch holds at most COMMIT_BATCH_MAX items; the rest wait for
 * the next turn. After the first failed write nothing more is written: each
 * later item fails with MTGATE_EREADONLY, so nothing undurable is ever
 * acknowledged.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util/assert.h"
#include "util/futex.h"

#define COMMIT_BATCH_MAX 65536

void committer_push(mtgate_engine *eng, commit_item *it)
{
	committer *c = &eng->com;
	commit_item *old = atomic_load_explicit(&c->head, memory_order_relaxed);

	do {
		it->next = old;
	} while (!atomic_compare_exchange_weak_explicit(&c->head, &old, it,
							memory_order_release,
							memory_order_relaxed));
	if (old == NULL) {
		atomic_fetch_add_explicit(&c->wake, 1, memory_order_release);
		futex_wake_all(&c->wake);
	}
}

/*
 * One put of a turn. The turn's puts are sorted by (family, key) before they
 * go into the WriteBatch: RocksDB inserts a batch into the memtable's skip
 * list in batch order, and from a sorted batch each insert starts its search
 * at the previous one (the memtable's sequential splice) instead of at the
 * top of a list that no longer fits in cache. That roughly halves the
 * committer's time per change. Equal keys keep their arrival order (ord), so
 * the newest put of a key is still the one that lands.
 */
typedef struct commit_put {
	const unsigned char *key;
	const unsigned char *val;
	uint32_t ord;
	uint8_t cf, klen;
	uint16_t vlen;     /* change puts */
	uint32_t vlen_big; /* counter log chunks (vlen is then 0) */
} commit_put;

static int put_cmp(const void *a, const void *b)
{
	const commit_put *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c;

	if (x->cf != y->cf)
		return x->cf < y->cf ? -1 : 1;
	if ((c = memcmp(x->key, y->key, n)) != 0)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

static int puts_reserve(committer *c, size_t want)
{
	commit_put *np;
	size_t cap;

	if (want <= c->puts_cap)
		return 0;
	cap = c->puts_cap ? c->puts_cap : 4096;
	while (cap < want)
		cap *= 2;
	np = realloc(c->puts, cap * sizeof(*np));
	if (np == NULL)
		return MTGATE_ENOMEM;
	c->puts = np;
	c->puts_cap = cap;
	return 0;
}

/* Room for n more entries in this turn's counter resets. */
static int resets_reserve(committer *c, size_t n)
{
	unsigned char *nr;
	size_t cap;

	if (c->n_resets + n <= c->resets_cap)
		return 0;
	cap = c->resets_cap ? c->resets_cap : 256;
	while (cap < c->n_resets + n)
		cap *= 2;
	nr = realloc(c->resets, cap * CODEC_CTRLOG_ENTRY);
	if (nr == NULL)
		return MTGATE_ENOMEM;
	c->resets = nr;
	c->resets_cap = cap;
	return 0;
}

/* n bytes that live until this turn's write is done (scratch_free). */
#define ARENA_BLOCK (256u << 10)
static unsigned char *arena_alloc(committer *c, size_t n)
{
	unsigned char *m;

	if (n > c->arena_left) {
		size_t sz = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		m = malloc(sizeof(void *) + sz);
		if (m == NULL)
			return NULL;
		*(void **)m = c->scratch;
		c->scratch = m;
		c->arena = m + sizeof(void *);
		c->arena_left = sz;
	}
	m = c->arena;
	c->arena += n;
	c->arena_left -= n;
	return m;
}

/*
 * An audit put of a change (AUD-1): the committer gives it the next seq
 * (in the key, which the owner wrote with seq 0) and adds the same record
 * to the tenant's feed under (tenant, seq). Assigning seqs here, in write
 * order, makes the feed order the order changes became durable: a reader
 * never sees seq n + 1 without n.
 */
static int add_audit(committer *c, commit_put *u, unsigned char *key)
{
	uint64_t seq = ++c->audit_seq;
	commit_put *f;
	unsigned char *m;

	MTG_ASSERT(u->klen == CODEC_KEY_AUDIT && u->vlen >= CODEC_AUDIT_FIXED);
	codec_key_audit_set_seq(key, seq);
	m = arena_alloc(c, CODEC_KEY_FEED + CODEC_KEY_AUDIT + u->vlen);
	if (m == NULL)
		return MTGATE_ENOMEM;
	codec_key_feed(m, codec_audit_tenant(u->val), seq);
	memcpy(m + CODEC_KEY_FEED, key, CODEC_KEY_AUDIT);
	memcpy(m + CODEC_KEY_FEED + CODEC_KEY_AUDIT, u->val, u->vlen);
	f = &c->puts[c->n_puts];
	*f = (commit_put){m,
			  m + CODEC_KEY_FEED,
			  (uint32_t)c->n_puts,
			  DB_CF_FEED,
			  CODEC_KEY_FEED,
			  (uint16_t)(CODEC_KEY_AUDIT + u->vlen),
			  0};
	c->n_puts++;
	return 0;
}

static int add_change(committer *c, pend *p)
{
	unsigned char *b = p->buf;
	int rc = puts_reserve(c, c->n_puts + 2 * (size_t)p->n_puts);

	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < p->n_puts; i++) {
		commit_put *u = &c->puts[c->n_puts];
		u->cf = b[0];
		u->klen = b[1];
		u->vlen = (uint16_t)(b[2] | (b[3] << 8));
		u->key = b + 4;
		u->val = b + 4 + u->klen;
		MTG_ASSERT(u->cf < DB_CF_MAX);
		b += 4 + u->klen + u->vlen;
		if (u->cf == DB_CF_COUNTERS) {
			/* A counter reset: an entry for the log, no key. */
			MTG_ASSERT(u->klen == 0 &&
				   u->vlen == CODEC_CTRLOG_ENTRY);
			if ((rc = resets_reserve(c, 1)) < 0)
				return rc;
			memcpy(c->resets + c->n_resets++ * CODEC_CTRLOG_ENTRY,
			       u->val, CODEC_CTRLOG_ENTRY);
			continue;
		}
		u->ord = (uint32_t)c->n_puts++;
		if (u->cf == DB_CF_AUDIT &&
		    (rc = add_audit(c, u, b - u->klen - u->vlen)) < 0)
			return rc;
	}
	MTG_ASSERT(b == p->buf + p->buf_len);
	return 0;
}

/* A new chunk of n entries: key and head written, entries left to the
 * caller at *entries. The memory lives until the turn's write is done. */
static int chunk_new(committer *c, uint32_t n, unsigned char **entries)
{
	size_t vlen = CODEC_CTRLOG_HEAD + (size_t)n * CODEC_CTRLOG_ENTRY;
	unsigned char *m;
	commit_put *u;
	int rc = puts_reserve(c, c->n_puts + 1);

	if (rc < 0)
		return rc;
	m = malloc(sizeof(void *) + CODEC_KEY_CTRLOG + vlen);
	if (m == NULL)
		return MTGATE_ENOMEM;
	*(void **)m = c->scratch; /* freed after the write */
	c->scratch = m;
	m += sizeof(void *);
	codec_key_ctrlog(m, c->ctr_seq++);
	codec_ctrlog_head(m + CODEC_KEY_CTRLOG, n);
	u = &c->puts[c->n_puts];
	*u = (commit_put){m,
			  m + CODEC_KEY_CTRLOG,
			  (uint32_t)c->n_puts,
			  DB_CF_COUNTERS,
			  CODEC_KEY_CTRLOG,
			  0,
			  (uint32_t)vlen};
	c->n_puts++;
	*entries = m + CODEC_KEY_CTRLOG + CODEC_CTRLOG_HEAD;
	c->since_req += n;
	c->log_entries += n;
	return 0;
}

/* The resets gathered so far become one chunk, so that they land after
 * every count of an earlier item and before any of a later one. */
static int close_resets(committer *c)
{
	unsigned char *e;
	int rc;

	if (c->n_resets == 0)
		return 0;
	if ((rc = chunk_new(c, (uint32_t)c->n_resets, &e)) < 0)
		return rc;
	memcpy(e, c->resets, c->n_resets * CODEC_CTRLOG_ENTRY);
	c->n_resets = 0;
	return 0;
}

#define CTRLOG_CHUNK 65536 /* entries per chunk: 1 MiB values */

static int add_counters(committer *c, const ctr_batch *cb)
{
	int rc = close_resets(c);

	for (uint64_t i = 0; i < cb->n && rc == 0;) {
		uint32_t n = cb->n - i < CTRLOG_CHUNK ? (uint32_t)(cb->n - i)
						      : CTRLOG_CHUNK;
		unsigned char *e;
		if ((rc = chunk_new(c, n, &e)) < 0)
			break;
		for (uint32_t j = 0; j < n; j++, i++, e += CODEC_CTRLOG_ENTRY)
			codec_ctrlog_entry(
				e, cb->ents[i].number, cb->ents[i].program,
				cb->ents[i].period, cb->ents[i].count);
	}
	return rc;
}

static void scratch_free(committer *c)
{
	c->arena = NULL;
	c->arena_left = 0;
	while (c->scratch != NULL) {
		void *next = *(void **)c->scratch;
		free(c->scratch);
		c->scratch = next;
	}
}

/*
 * Counter log rewrite. Every chunk stays in the log until a rewrite: when
 * the log holds more than twice as many entries as there are consents (and
 * at least CTRLOG_REWRITE_MIN), the committer asks every shard to dump all
 * its counters (rewrite_req = the first seq written from now on). When the
 * last shard's dump is in a batch, the same batch deletes every chunk before
 * rewrite_req: each counter they held is in a later dump or a later flush,
 * so replaying what remains still gives every counter its newest value.
 */
#define CTRLOG_REWRITE_MIN (1u << 20)

static void rewrite_maybe_start(mtgate_engine *eng)
{
	committer *c = &eng->com;
	uint64_t consents = 0;
	uint64_t min = eng->opts.counter_log_min ? eng->opts.counter_log_min
						 : CTRLOG_REWRITE_MIN;

	if (atomic_load_explicit(&c->rewrite_req, memory_order_relaxed) != 0)
		return;
	for (unsigned i = 0; i < eng->nshards; i++)
		consents += atomic_load_explicit(&eng->shards[i].consents,
						 memory_order_relaxed);
	if (c->log_entries <= min || c->log_entries <= 2 * consents)
		return;
	c->since_req = 0;
	c->dumped = 0;
	atomic_store_explicit(&c->rewrite_req, c->ctr_seq,
			      memory_order_release);
	for (unsigned i = 0; i < eng->nshards; i++)
		shard_wake(&eng->shards[i]);
}

/* In the batch being built: once every shard's dump is in, delete the log
 * before the rewrite. */
static void rewrite_finish(mtgate_engine *eng)
{
	committer *c = &eng->com;
	uint64_t req =
		atomic_load_explicit(&c->rewrite_req, memory_order_relaxed);
	unsigned char lo[CODEC_KEY_CTRLOG], hi[CODEC_KEY_CTRLOG];

	c->rewrite_in_batch = false;
	if (req == 0 || c->dumped < eng->nshards)
		return;
	codec_key_ctrlog(lo, 0);
	codec_key_ctrlog(hi, req);
	rocksdb_writebatch_delete_range_cf(c->wb, eng->db.cf[DB_CF_COUNTERS],
					   (const char *)lo, sizeof(lo),
					   (const char *)hi, sizeof(hi));
	c->rewrite_in_batch = true;
}

/* After a durable write. */
static void rewrite_written(mtgate_engine *eng)
{
	committer *c = &eng->com;

	if (c->rewrite_in_batch) {
		c->log_entries = c->since_req;
		c->rewrite_in_batch = false;
		atomic_fetch_add(&c->rewrites, 1);
		atomic_store_explicit(&c->rewrite_req, 0, memory_order_release);
	}
	rewrite_maybe_start(eng);
}

/* The newest seq, with the batch that assigned it. */
static int add_audit_seq(committer *c)
{
	static const char key[] = CODEC_META_AUDIT_SEQ;
	unsigned char *m = arena_alloc(c, 8);
	int rc = puts_reserve(c, c->n_puts + 1);

	if (m == NULL || rc < 0)
		return MTGATE_ENOMEM;
	codec_u64_encode(m, c->audit_seq);
	c->puts[c->n_puts] = (commit_put){(const unsigned char *)key,
					  m,
					  (uint32_t)c->n_puts,
					  DB_CF_DEFAULT,
					  sizeof(key) - 1,
					  8,
					  0};
	c->n_puts++;
	return 0;
}

/* Sort the turn's puts and write them as one batch. */
static int write_puts(mtgate_engine *eng, bool sync)
{
	committer *c = &eng->com;

	if (c->n_puts > 1)
		qsort(c->puts, c->n_puts, sizeof(*c->puts), put_cmp);
	rocksdb_writebatch_clear(c->wb);
	for (size_t i = 0; i < c->n_puts; i++) {
		const commit_put *u = &c->puts[i];
		rocksdb_writebatch_put_cf(
			c->wb, eng->db.cf[u->cf], (const char *)u->key, u->klen,
			(const char *)u->val, u->vlen ? u->vlen : u->vlen_big);
	}
	rewrite_finish(eng);
	return db_write(&eng->db, c->wb, sync && eng->opts.durable);
}

/* Swap the whole stack out and reverse it into FIFO order. */
static commit_item *take_batch(committer *c)
{
	commit_item *it =
		atomic_exchange_explicit(&c->head, NULL, memory_order_acquire);
	commit_item *fifo = NULL;

	while (it != NULL) {
		commit_item *next = it->next;
		it->next = fifo;
		fifo = it;
		it = next;
	}
	return fifo;
}

static void finish(commit_item *items, int status)
{
	for (commit_item *it = items, *next; it != NULL; it = next) {
		shard *s = it->shard;
		next = it->next; /* it may be freed once published */
		it->status = status;
		if (it->kind == COMMIT_CHANGE) {
			uint64_t seq = ((pend *)it)->seq;
			atomic_store_explicit(&s->done_seq, seq,
					      memory_order_release);
		} else {
			/* Nobody reads a counter batch after it is written. */
			free(it);
			atomic_fetch_add_explicit(&s->ctr_done, 1,
						  memory_order_release);
			futex_wake_all(&s->ctr_done);
		}
		if (next == NULL || next->shard != s)
			shard_wake(s);
	}
}

static void commit_turn(mtgate_engine *eng, commit_item *fifo)
{
	committer *c = &eng->com;
	bool sync = false;
	uint64_t nchanges = 0, nctr = 0, n = 0;
	int rc = atomic_load(&eng->write_error);
	commit_item *rest = NULL;
	uint64_t audit_seq0 = c->audit_seq;

	for (commit_item *it = fifo; it != NULL; it = it->next) {
		if (++n == COMMIT_BATCH_MAX) {
			rest = it->next;
			it->next = NULL;
			break;
		}
	}
	if (rc == 0) {
		c->n_puts = 0;
		c->n_resets = 0;
		for (commit_item *it = fifo; it != NULL && rc == 0;
		     it = it->next) {
			if (it->kind == COMMIT_CHANGE) {
				rc = add_change(c, (pend *)it);
				sync |= ((pend *)it)->n_puts > 0;
				nchanges++;
			} else {
				ctr_batch *cb = (ctr_batch *)it;
				rc = add_counters(c, cb);
				c->dumped +=
					cb->dump_of != 0 &&
					cb->dump_of ==
						atomic_load(&c->rewrite_req);
				nctr++;
			}
		}
		if (rc == 0)
			rc = close_resets(c);
		if (rc == 0 && c->audit_seq != audit_seq0)
			rc = add_audit_seq(c);
		if (rc == 0)
			rc = write_puts(eng, sync);
		scratch_free(c);
		if (rc < 0) {
			int zero = 0;
			atomic_compare_exchange_strong(&eng->write_error, &zero,
						       rc);
			db_log(&eng->db, "storage failure",
			       "writes are refused from now on");
		} else {
			rewrite_written(eng);
			atomic_store_explicit(&c->audit_seq_pub, c->audit_seq,
					      memory_order_release);
			atomic_fetch_add(&c->commits, 1);
			atomic_fetch_add(&c->changes, nchanges);
			atomic_fetch_add(&c->ctr_flushes, nctr);
			atomic_store(&c->log_entries_pub, c->log_entries);
		}
	} else {
		rc = MTGATE_EREADONLY;
	}
	finish(fifo, rc < 0 ? rc : 0);
	if (rest != NULL) /* the part past COMMIT_BATCH_MAX, still in order */
		commit_turn(eng, rest);
}

static void *committer_main(void *arg)
{
	mtgate_engine *eng = arg;
	committer *c = &eng->com;

	for (;;) {
		uint32_t w =
			atomic_load_explicit(&c->wake, memory_order_acquire);
		commit_item *fifo = take_batch(c);
		if (fifo != NULL) {
			commit_turn(eng, fifo);
			continue;
		}
		if (atomic_load(&c->stop))
			break;
		futex_wait(&c->wake, w);
	}
	return NULL;
}

int committer_start(mtgate_engine *eng)
{
	committer *c = &eng->com;

	c->wb = rocksdb_writebatch_create();
	if (c->wb == NULL)
		return MTGATE_ENOMEM;
	if (pthread_create(&c->thread, NULL, committer_main, eng) != 0)
		return MTGATE_ENOMEM;
	c->started = true;
	return 0;
}

/* Stops after everything pushed before the call is written. */
void committer_stop(mtgate_engine *eng)
{
	committer *c = &eng->com;

	if (c->started) {
		atomic_store(&c->stop, true);
		atomic_fetch_add(&c->wake, 1);
		futex_wake_all(&c->wake);
		pthread_join(c->thread, NULL);
		c->started = false;
	}
	if (c->wb != NULL) {
		rocksdb_writebatch_destroy(c->wb);
		c->wb = NULL;
	}
	free(c->puts);
	c->puts = NULL;
	c->puts_cap = 0;
	free(c->resets);
	c->resets = NULL;
	c->resets_cap = 0;
}

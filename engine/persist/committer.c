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
	} while (!atomic_compare_exchange_weak_explicit(
		&c->head, &old, it, memory_order_release, memory_order_relaxed));
	if (old == NULL) {
		atomic_fetch_add_explicit(&c->wake, 1, memory_order_release);
		futex_wake_all(&c->wake);
	}
}

static void put_change(mtgate_engine *eng, rocksdb_writebatch_t *wb,
		       const pend *p)
{
	const unsigned char *b = p->buf;

	for (uint32_t i = 0; i < p->n_puts; i++) {
		unsigned cf = b[0], klen = b[1];
		unsigned vlen = (unsigned)(b[2] | (b[3] << 8));
		MTG_ASSERT(cf < DB_CF_MAX);
		rocksdb_writebatch_put_cf(wb, eng->db.cf[cf],
					  (const char *)b + 4, klen,
					  (const char *)b + 4 + klen, vlen);
		b += 4 + klen + vlen;
	}
	MTG_ASSERT(b == p->buf + p->buf_len);
}

static void put_counters(mtgate_engine *eng, rocksdb_writebatch_t *wb,
			 const ctr_batch *cb)
{
	unsigned char k[CODEC_KEY_CONSENT], v[CODEC_COUNTER_LEN];

	for (uint64_t i = 0; i < cb->n; i++) {
		codec_key_consent(k, cb->ents[i].number, cb->ents[i].program);
		codec_counter_encode(v, cb->ents[i].period, cb->ents[i].count);
		rocksdb_writebatch_put_cf(wb, eng->db.cf[DB_CF_COUNTERS],
					  (const char *)k, sizeof(k),
					  (const char *)v, sizeof(v));
	}
}

/* Swap the whole stack out and reverse it into FIFO order. */
static commit_item *take_batch(committer *c)
{
	commit_item *it = atomic_exchange_explicit(&c->head, NULL,
						   memory_order_acquire);
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

	for (commit_item *it = fifo; it != NULL; it = it->next) {
		if (++n == COMMIT_BATCH_MAX) {
			rest = it->next;
			it->next = NULL;
			break;
		}
	}
	if (rc == 0) {
		rocksdb_writebatch_clear(c->wb);
		for (commit_item *it = fifo; it != NULL; it = it->next) {
			if (it->kind == COMMIT_CHANGE) {
				put_change(eng, c->wb, (pend *)it);
				sync |= ((pend *)it)->n_puts > 0;
				nchanges++;
			} else {
				put_counters(eng, c->wb, (ctr_batch *)it);
				nctr++;
			}
		}
		rc = db_write(&eng->db, c->wb, sync && eng->opts.durable);
		if (rc < 0) {
			int zero = 0;
			atomic_compare_exchange_strong(&eng->write_error, &zero,
						       rc);
			db_log(&eng->db, "storage failure",
			       "writes are refused from now on");
		} else {
			atomic_fetch_add(&c->commits, 1);
			atomic_fetch_add(&c->changes, nchanges);
			atomic_fetch_add(&c->ctr_flushes, nctr);
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
		uint32_t w = atomic_load_explicit(&c->wake, memory_order_acquire);
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
}

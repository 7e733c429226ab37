/*
 * Recovery: rebuild the in-memory store from RocksDB when the engine opens.
 *
 * Order: programs, deactivations, consents, then the counter log on top
 * (a counter needs its consent's slot). Owners and the committer are not
 * running yet; this file's threads are the only ones touching the shards.
 *
 * Consents are the bulk (one key each), so they are scanned in parallel:
 * the key space is cut into REC_RANGES_PER_THREAD ranges per thread, of
 * about equal size on disk (bisection over RocksDB's size estimates), and
 * each thread takes the next range until none is left. A thread turns each record into its slot word and collects
 * slots per shard; a full buffer of REC_BUF slots goes into the shard's
 * table under the shard's recovery lock (a shard is fed by every thread,
 * but a lock per 4096 slots costs nothing next to the scan).
 *
 * The counter log must be replayed in write order, and only the order of
 * one counter's entries matters: each thread reads the whole log and applies
 * the entries of its own shards (shard % threads), so no two threads touch
 * a shard and no lock is needed.
 *
 * Bounds: threads = min(REC_THREADS_MAX, online cores); memory per thread is
 * shards * REC_BUF slots (64 KiB a shard).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "store/plan.h"
#include "util/assert.h"

#define REC_THREADS_MAX       16
#define REC_RANGES_PER_THREAD 4 /* taken in turn: uneven ranges even out */
#define REC_RANGES_MAX        (REC_THREADS_MAX * REC_RANGES_PER_THREAD)
#define REC_BUF               4096 /* slots per shard buffer */

static unsigned rec_threads(const mtgate_engine *eng)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = cores > 0 ? (unsigned)cores : 1;

	(void)eng;
	return n > REC_THREADS_MAX ? REC_THREADS_MAX : n;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- deactivations ------------------------------------------------------ */

static int load_deactivations(mtgate_engine *eng)
{
	db_range r;
	int rc = db_range_open(&eng->db, &r, DB_CF_DEACT, NULL, 0, NULL, 0);

	for (; rc == 0 && rocksdb_iter_valid(r.it); rocksdb_iter_next(r.it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(r.it, &kl);
		const char *v = rocksdb_iter_value(r.it, &vl);
		uint64_t number;
		uint8_t reason;
		int64_t at;
		shard *s;
		if ((rc = codec_key_number_decode(k, kl, &number)) < 0 ||
		    (rc = codec_deact_decode(v, vl, &reason, &at)) < 0)
			break;
		s = &eng->shards[mtgate_shard_of(eng, number)];
		if (u64map_put(&s->deact, number, (uint64_t)at << 8 | reason) <
		    0)
			rc = MTGATE_ENOMEM;
	}
	if (rc == 0)
		rc = db_iter_status(&eng->db, r.it);
	db_range_close(&r);
	return rc;
}

/* ---- splitting the consents into ranges of about equal size ------------- */

static uint64_t size_below(mtgate_engine *eng, uint64_t lo, uint64_t hi)
{
	unsigned char a[CODEC_KEY_NUMBER], b[CODEC_KEY_NUMBER];

	codec_key_number(a, lo);
	codec_key_number(b, hi);
	return db_approx_size(&eng->db, DB_CF_CONSENTS, a, sizeof(a), b,
			      sizeof(b));
}

static int edge_number(mtgate_engine *eng, bool last, uint64_t *number)
{
	db_range r;
	int rc = db_range_open(&eng->db, &r, DB_CF_CONSENTS, NULL, 0, NULL, 0);
	uint32_t pid;
	size_t kl;

	if (rc < 0)
		return rc;
	if (last)
		rocksdb_iter_seek_to_last(r.it);
	if (!rocksdb_iter_valid(r.it)) {
		rc = 1; /* empty */
	} else {
		const char *k = rocksdb_iter_key(r.it, &kl);
		rc = codec_key_consent_decode(k, kl, number, &pid);
	}
	db_range_close(&r);
	return rc;
}

/*
 * Cut [first number, last number] into at most parts ranges; bounds[i] is
 * the first number of range i and bounds[n] one past the last. *n_out gets
 * the number of ranges (0 when there are no consents).
 */
static int split_ranges(mtgate_engine *eng, unsigned parts, uint64_t *bounds,
			unsigned *n_out)
{
	uint64_t lo, hi, total;
	unsigned n = 0;
	int rc;

	*n_out = 0;
	if ((rc = edge_number(eng, false, &lo)) != 0 ||
	    (rc = edge_number(eng, true, &hi)) != 0)
		return rc < 0 ? rc : 0; /* 1: no consents */
	hi++;
	total = size_below(eng, lo, hi);
	bounds[n++] = lo;
	if (total > 0) {
		for (unsigned k = 1; k < parts; k++) {
			uint64_t want = total / parts * k, a = bounds[n - 1],
				 b = hi;
			while (b - a > 1) { /* size_below(lo, a) < want */
				uint64_t m = a + (b - a) / 2;
				if (size_below(eng, lo, m) < want)
					a = m;
				else
					b = m;
			}
			if (b > bounds[n - 1] && b < hi)
				bounds[n++] = b;
		}
	}
	bounds[n] = hi;
	*n_out = n;
	return 0;
}

/* ---- the consents scan ---------------------------------------------------- */

typedef struct rec_scan rec_scan;

/* What the scan threads share: the ranges, taken in turn. */
typedef struct rec_ranges {
	uint64_t bounds[REC_RANGES_MAX + 1];
	unsigned n;
	_Atomic unsigned next;
	pthread_mutex_t *locks; /* one per shard */
} rec_ranges;

/* A double opt-in pending or cooling down, for the shard's doimap. */
typedef struct rec_doi {
	uint64_t number;
	uint32_t program;
	doi_entry e;
} rec_doi;

struct rec_scan {
	mtgate_engine *eng;
	rec_ranges *rr;
	int64_t now_ms;
	rec_doi *doi; /* found by this thread, inserted after the scan */
	size_t n_doi, doi_cap;
	store_slot *buf; /* nshards * REC_BUF */
	uint32_t *fill;  /* per shard */
	uint64_t records;
	int rc;
};

static int scan_flush(rec_scan *sc, unsigned sh)
{
	shard *s = &sc->eng->shards[sh];
	int rc;

	pthread_mutex_lock(&sc->rr->locks[sh]);
	rc = table_load(&s->table, sc->buf + (size_t)sh * REC_BUF,
			sc->fill[sh]);
	pthread_mutex_unlock(&sc->rr->locks[sh]);
	sc->fill[sh] = 0;
	return rc < 0 ? MTGATE_ENOMEM : 0;
}

#define DOI_WINDOW_MS (24 * 3600 * 1000LL)

/* A pending request, or a decline younger than 24 hours (DOI-6). */
static int scan_doi(rec_scan *sc, uint64_t number, uint32_t pid,
		    const codec_consent *c)
{
	bool pending = c->state == MTGATE_STATE_PENDING;
	bool declined = c->cause == CODEC_CAUSE_DECLINED &&
			sc->now_ms - c->doi_at_ms < DOI_WINDOW_MS;
	rec_doi *d;

	if (!pending && !declined)
		return 0;
	if (sc->n_doi == sc->doi_cap) {
		size_t cap = sc->doi_cap ? 2 * sc->doi_cap : 256;
		rec_doi *n = realloc(sc->doi, cap * sizeof(*n));
		if (n == NULL)
			return MTGATE_ENOMEM;
		sc->doi = n;
		sc->doi_cap = cap;
	}
	d = &sc->doi[sc->n_doi++];
	d->number = number;
	d->program = pid;
	d->e = (doi_entry){
		.at_ms = c->doi_at_ms,
		.price_cents = c->price_cents,
		.interval = c->interval,
		.channel = c->doi_channel,
		.flags = (uint8_t)((pending ? 0 : DOI_DECLINED) |
				   ((c->doi_flags & CODEC_DOI_RENOTIFIED)
					    ? DOI_RENOTIFIED
					    : 0)),
	};
	return 0;
}

static int scan_record(rec_scan *sc, const char *k, size_t kl, const char *v,
		       size_t vl)
{
	codec_consent c;
	uint64_t number;
	uint32_t pid;
	unsigned sh;
	int rc;

	if ((rc = codec_key_consent_decode(k, kl, &number, &pid)) < 0 ||
	    (rc = codec_consent_peek(v, vl, &c)) < 0)
		return rc;
	if (number == 0 || number > MTGATE_NUMBER_MAX || pid == 0 ||
	    pid >= MTGATE_PROGRAMS_MAX)
		return MTGATE_ECORRUPT;
	if ((rc = scan_doi(sc, number, pid, &c)) < 0)
		return rc;
	sh = mtgate_shard_of(sc->eng, number);
	sc->buf[(size_t)sh * REC_BUF + sc->fill[sh]++] =
		(store_slot){number, shard_consent_meta(pid, &c)};
	sc->records++;
	return sc->fill[sh] == REC_BUF ? scan_flush(sc, sh) : 0;
}

static int scan_range(rec_scan *sc, uint64_t from, uint64_t to)
{
	unsigned char lo[CODEC_KEY_NUMBER], hi[CODEC_KEY_NUMBER];
	db_range r;
	int rc;

	codec_key_number(lo, from);
	codec_key_number(hi, to);
	rc = db_range_open(&sc->eng->db, &r, DB_CF_CONSENTS, lo, sizeof(lo), hi,
			   sizeof(hi));
	for (; rc == 0 && rocksdb_iter_valid(r.it); rocksdb_iter_next(r.it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(r.it, &kl);
		const char *v = rocksdb_iter_value(r.it, &vl);
		rc = scan_record(sc, k, kl, v, vl);
	}
	if (rc == 0)
		rc = db_iter_status(&sc->eng->db, r.it);
	db_range_close(&r);
	return rc;
}

static void *scan_main(void *arg)
{
	rec_scan *sc = arg;
	rec_ranges *rr = sc->rr;
	unsigned i;
	int rc = 0;

	while (rc == 0 && (i = atomic_fetch_add(&rr->next, 1)) < rr->n)
		rc = scan_range(sc, rr->bounds[i], rr->bounds[i + 1]);
	for (unsigned sh = 0; rc == 0 && sh < sc->eng->nshards; sh++)
		if (sc->fill[sh] > 0)
			rc = scan_flush(sc, sh);
	sc->rc = rc;
	return NULL;
}

/* Run fn on n workers: n - 1 threads and the calling one. */
static void run_workers(void *(*fn)(void *), void *items, size_t size,
			unsigned n)
{
	pthread_t ths[REC_THREADS_MAX];
	bool started[REC_THREADS_MAX] = {false};

	for (unsigned i = 1; i < n; i++)
		started[i] = pthread_create(&ths[i], NULL, fn,
					    (char *)items + i * size) == 0;
	fn(items);
	for (unsigned i = 1; i < n; i++) {
		if (started[i])
			pthread_join(ths[i], NULL);
		else
			fn((char *)items + i * size); /* no thread: run here */
	}
}

static int load_consents(mtgate_engine *eng, uint64_t *records)
{
	unsigned nth = rec_threads(eng);
	rec_ranges rr = {.n = 0};
	rec_scan sc[REC_THREADS_MAX];
	int rc = split_ranges(eng, nth * REC_RANGES_PER_THREAD, rr.bounds,
			      &rr.n);

	if (rc < 0 || rr.n == 0)
		return rc;
	if (nth > rr.n)
		nth = rr.n;
	rr.locks = calloc(eng->nshards, sizeof(*rr.locks));
	if (rr.locks == NULL)
		return MTGATE_ENOMEM;
	for (unsigned i = 0; i < eng->nshards; i++)
		pthread_mutex_init(&rr.locks[i], NULL);
	for (unsigned i = 0; i < nth; i++) {
		sc[i] = (rec_scan){
			.eng = eng, .rr = &rr, .now_ms = mtgate_now(eng)};
		sc[i].buf = malloc((size_t)eng->nshards * REC_BUF *
				   sizeof(store_slot));
		sc[i].fill = calloc(eng->nshards, sizeof(uint32_t));
		if (sc[i].buf == NULL || sc[i].fill == NULL)
			rc = MTGATE_ENOMEM;
	}
	if (rc == 0)
		run_workers(scan_main, sc, sizeof(sc[0]), nth);
	for (unsigned i = 0; i < nth; i++) {
		if (rc == 0)
			rc = sc[i].rc;
		*records += sc[i].records;
		for (size_t j = 0; rc == 0 && j < sc[i].n_doi; j++) {
			rec_doi *d = &sc[i].doi[j];
			shard *s =
				&eng->shards[mtgate_shard_of(eng, d->number)];
			if (doimap_put(&s->doi, d->number, d->program, &d->e) <
			    0)
				rc = MTGATE_ENOMEM;
		}
		free(sc[i].doi);
		free(sc[i].buf);
		free(sc[i].fill);
	}
	for (unsigned i = 0; i < eng->nshards; i++)
		pthread_mutex_destroy(&rr.locks[i]);
	free(rr.locks);
	return rc;
}

/* ---- the counter log ------------------------------------------------------- */

typedef struct rec_ctr {
	mtgate_engine *eng;
	unsigned part, parts;
	uint64_t seq, entries;
	int rc;
} rec_ctr;

static int ctr_chunk(rec_ctr *rc_, const char *v, size_t vl)
{
	mtgate_engine *eng = rc_->eng;
	const unsigned char *e;
	uint32_t n;
	int rc = codec_ctrlog_decode(v, vl, &n, &e);

	for (uint32_t i = 0; rc == 0 && i < n; i++, e += CODEC_CTRLOG_ENTRY) {
		uint64_t number;
		uint32_t pid;
		uint16_t period, count;
		unsigned sh;
		codec_ctrlog_entry_decode(e, &number, &pid, &period, &count);
		if (number == 0 || number > MTGATE_NUMBER_MAX)
			return MTGATE_ECORRUPT;
		sh = mtgate_shard_of(eng, number);
		if (sh % rc_->parts == rc_->part)
			shard_load_counter(&eng->shards[sh], number, pid,
					   period, count);
	}
	rc_->entries += n;
	return rc;
}

static void *ctr_main(void *arg)
{
	rec_ctr *c = arg;
	db_range r;
	int rc = db_range_open(&c->eng->db, &r, DB_CF_COUNTERS, NULL, 0, NULL,
			       0);

	for (; rc == 0 && rocksdb_iter_valid(r.it); rocksdb_iter_next(r.it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(r.it, &kl);
		const char *v = rocksdb_iter_value(r.it, &vl);
		if ((rc = codec_key_ctrlog_decode(k, kl, &c->seq)) == 0)
			rc = ctr_chunk(c, v, vl);
	}
	if (rc == 0)
		rc = db_iter_status(&c->eng->db, r.it);
	db_range_close(&r);
	c->rc = rc;
	return NULL;
}

/* Replay the counter log; also sets where the log goes on. */
static int load_counters(mtgate_engine *eng)
{
	unsigned n = rec_threads(eng) < eng->nshards ? rec_threads(eng)
						     : eng->nshards;
	rec_ctr c[REC_THREADS_MAX];
	int rc = 0;

	for (unsigned i = 0; i < n; i++)
		c[i] = (rec_ctr){.eng = eng, .part = i, .parts = n};
	run_workers(ctr_main, c, sizeof(c[0]), n);
	for (unsigned i = 0; i < n && rc == 0; i++)
		rc = c[i].rc;
	eng->com.ctr_seq = c[0].seq + 1;
	eng->com.log_entries = c[0].entries;
	atomic_store(&eng->com.log_entries_pub, c[0].entries);
	return rc;
}

/* ---- the numbers' short-code records (STOP-4, OPTIN-4) ----------------------------- */

static void scope_flag(shard *s, uint64_t number, uint64_t hash, uint32_t pid,
		       uint64_t flag, bool active_only)
{
	store_slot *sl = table_find(&s->table, hash, number, pid);
	unsigned st;

	if (sl == NULL)
		return;
	st = slot_state(sl->meta);
	if (!active_only || st == STORE_ST_IN || st == STORE_ST_PENDING)
		sl->meta |= flag;
}

static int scope_load_one(mtgate_engine *eng, const char *k, size_t kl,
			  const char *v, size_t vl)
{
	static uint32_t lastout[SCOPE_LASTOUT_MAX], asked[SCOPE_LASTOUT_MAX];
	uint64_t number, hash;
	uint32_t sc_id, n;
	const sc_version *sc;
	codec_scope cs;
	store_slot *sl;
	shard *s;
	int rc;

	if ((rc = codec_key_consent_decode(k, kl, &number, &sc_id)) < 0 ||
	    (rc = codec_scope_decode(v, vl, &cs, lastout, asked,
				     SCOPE_LASTOUT_MAX)) < 0)
		return rc;
	if (number == 0 || number > MTGATE_NUMBER_MAX ||
	    (sc = sc_get(eng, sc_id)) == NULL)
		return MTGATE_ECORRUPT;
	s = &eng->shards[mtgate_shard_of(eng, number)];
	hash = store_hash(number);
	for (uint32_t i = 0; i < cs.n_lastout; i++)
		scope_flag(s, number, hash, lastout[i], SLOT_LASTOUT, false);
	if (!cs.open)
		return 0;
	sl = table_upsert_key(&s->table, hash, number, sc_id | SLOT_SC);
	if (sl == NULL)
		return MTGATE_ENOMEM;
	n = scope_second_of(cs.opened_at_ms);
	sl->meta = (uint64_t)sc_id | SLOT_SC | 1ULL << SLOT_STATE_SHIFT |
		   (uint64_t)(n & 0xFFFF) << SLOT_PERIOD_SHIFT |
		   (uint64_t)(n >> 16) << SLOT_COUNT_SHIFT;
	/* The programs the question covers, still active. */
	if (cs.has_asked)
		for (uint32_t i = 0; i < cs.n_asked; i++)
			scope_flag(s, number, hash, asked[i], SLOT_SCOPE, true);
	else
		for (uint32_t i = 0; i < sc->n_progs; i++)
			scope_flag(s, number, hash, sc->progs[i], SLOT_SCOPE,
				   true);
	shard_scope_opened(s, number, sc_id, n);
	return 0;
}

/* After the consents: the records of numbers on short codes. */
static int load_scopes(mtgate_engine *eng)
{
	db_range r;
	int rc = db_range_open(&eng->db, &r, DB_CF_SCOPES, NULL, 0, NULL, 0);

	for (; rc == 0 && rocksdb_iter_valid(r.it); rocksdb_iter_next(r.it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(r.it, &kl);
		const char *v = rocksdb_iter_value(r.it, &vl);
		rc = scope_load_one(eng, k, kl, v, vl);
	}
	if (rc == 0)
		rc = db_iter_status(&eng->db, r.it);
	db_range_close(&r);
	return rc;
}

/* ---- the whole ------------------------------------------------------------ */

int engine_recover(mtgate_engine *eng)
{
	uint64_t expected = eng->opts.expected_consents, records = 0;
	uint64_t ondisk = db_estimate_keys(&eng->db, DB_CF_CONSENTS);
	double t0 = now_s(), t1;
	int rc;

	if (ondisk > expected)
		expected = ondisk;
	for (unsigned i = 0; i < eng->nshards; i++) {
		rc = shard_init(&eng->shards[i], eng, i,
				expected / eng->nshards + 1);
		if (rc < 0)
			return rc;
	}
	if ((rc = shortcodes_load(eng)) < 0 || (rc = programs_load(eng)) < 0 ||
	    (rc = shortcodes_link(eng)) < 0 ||
	    (rc = load_deactivations(eng)) < 0 ||
	    (rc = load_consents(eng, &records)) < 0)
		return rc;
	t1 = now_s();
	/* RocksDB's key estimate counts overwritten keys more than once. */
	for (unsigned i = 0; i < eng->nshards; i++)
		if (table_fit(&eng->shards[i].table) < 0)
			return MTGATE_ENOMEM;
	if ((rc = load_scopes(eng)) < 0 || (rc = load_counters(eng)) < 0)
		return rc;
	for (unsigned i = 0; i < eng->nshards; i++)
		shard_update_stats(&eng->shards[i]);
	if ((rc = db_start_compactions(&eng->db)) < 0)
		return rc;
	eng->recovered = records;
	eng->recovery_ms = (uint64_t)((now_s() - t0) * 1000);
	eng->recovery_counters_ms = (uint64_t)((now_s() - t1) * 1000);
	return 0;
}

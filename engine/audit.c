/*
 * Reading the audit trail (AUD-1 .. AUD-5): a number's history, the change
 * feed and its acknowledgements, a program's export, the daily summary.
 *
 * The records themselves are written with the changes (engine/store/
 * change.c puts them in the change's pend node; the committer gives each
 * its seq and its copy in the feed: engine/persist/committer.c), so
 * everything here only reads storage, from any thread. The one piece of
 * state is each tenant's feed delivery (feed_state): what it has
 * acknowledged (durable, in the feed family) and what it has read since
 * (memory: a restart offers it again). It is guarded by feed_lock; feed
 * calls are a client's polling, not a hot path.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- open and close ------------------------------------------------------------- */

/* Delivery marks kept per tenant: reads not yet acknowledged. */
#define FEED_MARKS 64

typedef struct feed_mark {
	uint64_t upto;   /* last seq of a read */
	int64_t read_at; /* when it was read (the oldest read merged in) */
} feed_mark;

struct feed_state {
	uint32_t tenant;
	uint64_t acked;
	uint64_t read_upto; /* >= acked */
	uint32_t n_marks;
	feed_mark marks[FEED_MARKS]; /* upto ascending, all > acked */
};

int audit_open(mtgate_engine *eng)
{
	static const char key[] = CODEC_META_AUDIT_SEQ;
	unsigned char v[8];
	size_t vl = 0;
	int rc = db_get(&eng->db, DB_CF_DEFAULT, key, sizeof(key) - 1, v,
			sizeof(v), &vl);

	if (rc < 0)
		return rc;
	if (rc == 1 &&
	    codec_u64_decode((const char *)v, vl, &eng->com.audit_seq) < 0)
		return MTGATE_ECORRUPT;
	atomic_store(&eng->com.audit_seq_pub, eng->com.audit_seq);
	if (pthread_mutex_init(&eng->feed_lock, NULL) != 0)
		return MTGATE_ENOMEM;
	eng->feed_lock_ok = true;
	return 0;
}

void audit_close(mtgate_engine *eng)
{
	if (eng->feed_lock_ok)
		pthread_mutex_destroy(&eng->feed_lock);
	free(eng->feeds);
	eng->feeds = NULL;
}

/* ---- a number's history (AUD-2) ---------------------------------------------------- */

int mtgate_audit_list(mtgate_engine *eng, uint32_t tenant, uint64_t number,
		      uint32_t skip, mtgate_audit_rec *out, size_t cap,
		      size_t *n_out, bool *more)
{
	unsigned char lo[CODEC_KEY_NUMBER], hi[CODEC_KEY_NUMBER];
	size_t n = 0;
	db_range r;
	int rc;

	*n_out = 0;
	*more = false;
	if (number == 0)
		return MTGATE_EINVAL;
	codec_key_number(lo, number);
	codec_key_number(hi, number + 1);
	rc = db_range_open(&eng->db, &r, DB_CF_AUDIT, lo, sizeof(lo), hi,
			   sizeof(hi));
	for (; rc == 0 && rocksdb_iter_valid(r.it); rocksdb_iter_next(r.it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(r.it, &kl);
		const char *v = rocksdb_iter_value(r.it, &vl);
		mtgate_audit_rec a;
		if ((rc = codec_key_audit_decode(k, kl, &a.number, &a.at_ms,
						 &a.seq)) < 0 ||
		    (rc = codec_audit_decode(v, vl, &a)) < 0)
			break;
		if (tenant != MTGATE_TENANT_ANY && a.tenant != tenant)
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		if (n == cap) {
			*more = true;
			break;
		}
		out[n++] = a;
	}
	if (rc == 0)
		rc = db_iter_status(&eng->db, r.it);
	db_range_close(&r);
	*n_out = n;
	return rc;
}

/* ---- the change feed (AUD-5) --------------------------------------------------------- */

/* The tenant's delivery state, loaded on first use; feed_lock held. */
static int feed_state_of(mtgate_engine *eng, uint32_t tenant,
			 struct feed_state **out)
{
	unsigned char key[CODEC_KEY_FEED], v[8];
	struct feed_state *f;
	size_t vl = 0;
	int rc;

	for (size_t i = 0; i < eng->n_feeds; i++) {
		if (eng->feeds[i].tenant == tenant) {
			*out = &eng->feeds[i];
			return 0;
		}
	}
	if (eng->n_feeds == eng->feeds_cap) {
		size_t cap = eng->feeds_cap ? 2 * eng->feeds_cap : 8;
		struct feed_state *nf = realloc(eng->feeds, cap * sizeof(*nf));
		if (nf == NULL)
			return MTGATE_ENOMEM;
		eng->feeds = nf;
		eng->feeds_cap = cap;
	}
	f = &eng->feeds[eng->n_feeds];
	memset(f, 0, sizeof(*f));
	f->tenant = tenant;
	codec_key_feed(key, tenant, 0);
	rc = db_get(&eng->db, DB_CF_FEED, key, sizeof(key), v, sizeof(v), &vl);
	if (rc < 0)
		return rc;
	if (rc == 1 && codec_u64_decode((const char *)v, vl, &f->acked) < 0)
		return MTGATE_ECORRUPT;
	f->read_upto = f->acked;
	eng->n_feeds++;
	*out = f;
	return 0;
}

/* A read of records up to seq upto at now. */
static void feed_mark_read(struct feed_state *f, uint64_t upto, int64_t now)
{
	if (upto <= f->read_upto)
		return;
	f->read_upto = upto;
	if (f->n_marks == FEED_MARKS) {
		/* Merge the two oldest: the later one may then come back
		 * early, never late (at least once). */
		f->marks[1].read_at = f->marks[0].read_at;
		memmove(&f->marks[0], &f->marks[1],
			(FEED_MARKS - 1) * sizeof(f->marks[0]));
		f->n_marks--;
	}
	f->marks[f->n_marks++] = (feed_mark){upto, now};
}

/* Where a read with from 0 starts at now. */
static uint64_t feed_start(struct feed_state *f, int64_t now)
{
	if (f->n_marks > 0 &&
	    now - f->marks[0].read_at >= MTGATE_FEED_REDELIVER_MS) {
		/* Read an hour ago and never acknowledged: again. */
		f->n_marks = 0;
		f->read_upto = f->acked;
	}
	return f->read_upto + 1;
}

int mtgate_feed_read(mtgate_engine *eng, uint32_t tenant, uint64_t from,
		     int64_t now_ms, mtgate_audit_rec *out, size_t cap,
		     size_t *n_out, uint64_t *next_out)
{
	unsigned char lo[CODEC_KEY_FEED], hi[CODEC_KEY_FEED];
	struct feed_state *f;
	uint64_t start, last = 0;
	size_t n = 0;
	db_range r;
	int rc;

	*n_out = 0;
	*next_out = from;
	if (tenant == MTGATE_TENANT_ANY)
		return MTGATE_EINVAL; /* one feed per tenant */
	pthread_mutex_lock(&eng->feed_lock);
	rc = feed_state_of(eng, tenant, &f);
	start = rc < 0 ? 0 : from != 0 ? from : feed_start(f, now_ms);
	pthread_mutex_unlock(&eng->feed_lock);
	if (rc < 0)
		return rc;
	*next_out = start;
	codec_key_feed(lo, tenant, start);
	codec_key_feed(hi, tenant + 1, 0);
	rc = db_range_open(&eng->db, &r, DB_CF_FEED, lo, sizeof(lo), hi,
			   sizeof(hi));
	for (; rc == 0 && n < cap && rocksdb_iter_valid(r.it);
	     rocksdb_iter_next(r.it)) {
		size_t vl;
		const char *v = rocksdb_iter_value(r.it, &vl);
		if ((rc = codec_feed_decode(v, vl, &out[n])) < 0)
			break;
		last = out[n++].seq;
	}
	if (rc == 0)
		rc = db_iter_status(&eng->db, r.it);
	db_range_close(&r);
	if (rc < 0)
		return rc;
	*n_out = n;
	if (n > 0) {
		*next_out = last + 1;
		pthread_mutex_lock(&eng->feed_lock);
		if (feed_state_of(eng, tenant, &f) == 0)
			feed_mark_read(f, last, now_ms);
		pthread_mutex_unlock(&eng->feed_lock);
	}
	return 0;
}

int mtgate_feed_ack(mtgate_engine *eng, uint32_t tenant, uint64_t position)
{
	unsigned char key[CODEC_KEY_FEED], v[8];
	uint64_t newest = atomic_load_explicit(&eng->com.audit_seq_pub,
					       memory_order_acquire);
	struct feed_state *f;
	uint32_t k = 0;
	int rc;

	if (tenant == MTGATE_TENANT_ANY)
		return MTGATE_EINVAL;
	if (position > newest)
		position = newest; /* never past what exists */
	pthread_mutex_lock(&eng->feed_lock);
	rc = feed_state_of(eng, tenant, &f);
	if (rc == 0 && position > f->acked) {
		codec_key_feed(key, tenant, 0);
		codec_u64_encode(v, position);
		rc = engine_put_durable(eng, DB_CF_FEED, key, sizeof(key), v,
					sizeof(v));
	}
	if (rc == 0 && position > f->acked) {
		f->acked = position;
		if (f->read_upto < position)
			f->read_upto = position;
		for (uint32_t i = 0; i < f->n_marks; i++)
			if (f->marks[i].upto > position)
				f->marks[k++] = f->marks[i];
		f->n_marks = k;
	}
	pthread_mutex_unlock(&eng->feed_lock);
	return rc;
}

int mtgate_feed_acked(mtgate_engine *eng, uint32_t tenant, uint64_t *out)
{
	struct feed_state *f;
	int rc;

	pthread_mutex_lock(&eng->feed_lock);
	rc = feed_state_of(eng, tenant, &f);
	*out = rc == 0 ? f->acked : 0;
	pthread_mutex_unlock(&eng->feed_lock);
	return rc;
}

/* ---- a program's opt-ins (AUD-3) ------------------------------------------------------ */

int mtgate_export(mtgate_engine *eng, uint32_t program, uint64_t after_number,
		  mtgate_export_rec *out, size_t cap, size_t *n_out, bool *more)
{
	unsigned char lo[CODEC_KEY_CONSENT];
	size_t n = 0;
	db_range r;
	int rc;

	*n_out = 0;
	*more = false;
	if (prog_get(eng, program) == NULL)
		return MTGATE_ENOPROGRAM;
	if (after_number == UINT64_MAX)
		return 0;
	codec_key_consent(lo, after_number + 1, 0);
	rc = db_range_open(&eng->db, &r, DB_CF_CONSENTS, lo, sizeof(lo), NULL,
			   0);
	for (; rc == 0 && rocksdb_iter_valid(r.it); rocksdb_iter_next(r.it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(r.it, &kl);
		const char *v;
		static _Thread_local codec_consent c;
		uint64_t num;
		uint32_t pid;
		if ((rc = codec_key_consent_decode(k, kl, &num, &pid)) < 0)
			break;
		if (pid != program)
			continue;
		v = rocksdb_iter_value(r.it, &vl);
		if ((rc = codec_consent_decode(v, vl, &c)) < 0)
			break;
		if (c.state != MTGATE_STATE_OPTED_IN)
			continue;
		if (n == cap) {
			*more = true;
			break;
		}
		out[n].number = num;
		out[n].changed_at_ms = c.changed_at_ms;
		out[n].channel = c.channel;
		memcpy(out[n].source, c.source, c.source_len);
		out[n].source[c.source_len] = '\0';
		n++;
	}
	if (rc == 0)
		rc = db_iter_status(&eng->db, r.it);
	db_range_close(&r);
	*n_out = n;
	return rc;
}

#define SUMMARY_DAY_MS 86400000LL

/* ---- the daily summary (AUD-4) ---------------------------------------------------------- */

static int id_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The tenant's program ids, ascending, malloc'd into *ids. */
static int tenant_programs(mtgate_engine *eng, uint32_t tenant, uint32_t **ids,
			   size_t *n_out)
{
	size_t total = 0, k = 0, n = 0;
	uint32_t *all;
	int rc = mtgate_program_list(eng, NULL, 0, &total);

	if (rc < 0)
		return rc;
	if ((all = malloc((total + 1) * sizeof(*all))) == NULL)
		return MTGATE_ENOMEM;
	if ((rc = mtgate_program_list(eng, all, total, &k)) < 0) {
		free(all);
		return rc;
	}
	for (size_t i = 0; i < k && i < total; i++) {
		const prog_version *p = prog_get(eng, all[i]);
		if (p != NULL &&
		    (tenant == MTGATE_TENANT_ANY || p->def.tenant == tenant))
			all[n++] = all[i];
	}
	*ids = all;
	*n_out = n;
	return 0;
}

/* The summary line of program pid, or NULL when it is not counted. */
static mtgate_summary_rec *summary_row(mtgate_summary_rec *rows, size_t n,
				       uint32_t pid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (rows[mid].program < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && rows[lo].program == pid ? &rows[lo] : NULL;
}

/* Counts of every consent state, from the consents family. */
static int summary_states(mtgate_engine *eng, mtgate_summary_rec *rows,
			  size_t n)
{
	db_range r;
	int rc = db_range_open(&eng->db, &r, DB_CF_CONSENTS, NULL, 0, NULL, 0);

	for (; rc == 0 && rocksdb_iter_valid(r.it); rocksdb_iter_next(r.it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(r.it, &kl);
		const char *v;
		mtgate_summary_rec *row;
		codec_consent c;
		uint64_t num;
		uint32_t pid;
		if ((rc = codec_key_consent_decode(k, kl, &num, &pid)) < 0)
			break;
		if ((row = summary_row(rows, n, pid)) == NULL)
			continue;
		v = rocksdb_iter_value(r.it, &vl);
		if ((rc = codec_consent_peek(v, vl, &c)) < 0)
			break;
		if (c.state == MTGATE_STATE_OPTED_IN)
			row->opted_in++;
		else if (c.state == MTGATE_STATE_PENDING)
			row->pending++;
		else if (c.state == MTGATE_STATE_OPTED_OUT && c.voided_by)
			row->voided++;
		else if (c.state == MTGATE_STATE_OPTED_OUT)
			row->opted_out++;
	}
	if (rc == 0)
		rc = db_iter_status(&eng->db, r.it);
	db_range_close(&r);
	return rc;
}

/* The consent count of row for audit state st, or NULL (NONE). */
static uint32_t *state_count(mtgate_summary_rec *row, unsigned st)
{
	switch (st) {
	case MTGATE_AUDIT_OPTED_IN:
		return &row->opted_in;
	case MTGATE_AUDIT_OPTED_OUT:
		return &row->opted_out;
	case MTGATE_AUDIT_PENDING:
		return &row->pending;
	case MTGATE_AUDIT_VOIDED:
		return &row->voided;
	default:
		return NULL;
	}
}

/*
 * From the tenant's feed: the day's changes, and the counts by state as
 * they stood at the day's end. The counts came from the consents as they
 * are now; every change made after the day is undone on them (its new
 * state one less, its old state one more), in signed sums (undo[], four
 * a row) applied at the end, since the feed's order is not the counts'.
 */
static int summary_changes(mtgate_engine *eng, uint32_t tenant,
			   int64_t day_start, mtgate_summary_rec *rows,
			   size_t n, int64_t *undo)
{
	unsigned char lo[CODEC_KEY_FEED], hi[CODEC_KEY_FEED];
	bool all = tenant == MTGATE_TENANT_ANY;
	db_range r;
	int rc;

	codec_key_feed(lo, all ? 0 : tenant, all ? 0 : 1);
	codec_key_feed(hi, all ? 0 : tenant + 1, 0);
	rc = db_range_open(&eng->db, &r, DB_CF_FEED, lo, sizeof(lo),
			   all ? NULL : hi, all ? 0 : sizeof(hi));
	for (; rc == 0 && rocksdb_iter_valid(r.it); rocksdb_iter_next(r.it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(r.it, &kl);
		const char *v = rocksdb_iter_value(r.it, &vl);
		static _Thread_local mtgate_audit_rec a;
		mtgate_summary_rec *row;
		uint32_t t;
		uint64_t seq;
		if ((rc = codec_key_feed_decode(k, kl, &t, &seq)) < 0)
			break;
		if (seq == 0)
			continue; /* an acknowledged position */
		if ((rc = codec_feed_decode(v, vl, &a)) < 0)
			break;
		if ((row = summary_row(rows, n, a.program)) == NULL ||
		    a.at_ms < day_start)
			continue;
		if (a.at_ms >= day_start + SUMMARY_DAY_MS) {
			int64_t *u = &undo[(size_t)(row - rows) * 5];
			u[a.new_state % 5]--;
			u[a.old_state % 5]++;
			continue;
		}
		if (a.new_state == MTGATE_AUDIT_OPTED_IN)
			row->day_optins++;
		else if (a.new_state == MTGATE_AUDIT_OPTED_OUT ||
			 a.new_state == MTGATE_AUDIT_VOIDED)
			row->day_optouts++;
		else
			row->day_other++;
	}
	if (rc == 0)
		rc = db_iter_status(&eng->db, r.it);
	db_range_close(&r);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		for (unsigned st = 0; st < 5; st++) {
			uint32_t *c = state_count(&rows[i], st);
			int64_t v = c ? (int64_t)*c + undo[i * 5 + st] : 0;
			if (c !=
			    NULL) /* a change racing the scans: never < 0 */
				*c = v < 0 ? 0 : (uint32_t)v;
		}
	}
	return rc;
}

int mtgate_summary(mtgate_engine *eng, uint32_t tenant, int64_t day_start_ms,
		   mtgate_summary_rec *out, size_t cap, size_t *n_out)
{
	mtgate_summary_rec *rows;
	int64_t *undo;
	uint32_t *ids;
	size_t n;
	int rc = tenant_programs(eng, tenant, &ids, &n);

	*n_out = 0;
	if (rc < 0)
		return rc;
	qsort(ids, n, sizeof(*ids), id_cmp);
	rows = calloc(n + 1, sizeof(*rows));
	undo = calloc(5 * (n + 1), sizeof(*undo));
	if (rows == NULL || undo == NULL) {
		free(ids);
		free(rows);
		free(undo);
		return MTGATE_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		rows[i].program = ids[i];
	free(ids);
	rc = summary_states(eng, rows, n);
	if (rc == 0)
		rc = summary_changes(eng, tenant, day_start_ms, rows, n, undo);
	if (rc == 0) {
		memcpy(out, rows, (n < cap ? n : cap) * sizeof(*rows));
		*n_out = n;
	}
	free(rows);
	free(undo);
	return rc;
}

#include "persist/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cf_names[DB_CF_MAX] = {
	"default", "programs", "consents",   "counters", "deactivations",
	"audit",   "tenants",  "shortcodes", "scopes",   "feed",
};

void db_log(db *d, const char *what, const char *detail)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "mtgate: %s: %s", what, detail);
	if (d->log != NULL)
		d->log(d->log_ctx, msg);
	else
		fprintf(stderr, "%s\n", msg);
}

/* The one place a RocksDB error string becomes an mtgate code. */
static int db_err(db *d, const char *what, char *err)
{
	if (err == NULL)
		return 0;
	db_log(d, what, err);
	rocksdb_free(err);
	return MTGATE_ESTORAGE;
}

/*
 * Tuning, measured on the engine benchmark (docs/design.md, Persistence):
 * - 16 MiB memtables: inserting into RocksDB's skip list costs a few
 *   microseconds a key here and grows with the list; smaller lists insert
 *   faster and leave less WAL to replay after a crash.
 * - One writer (the committer), so no concurrent memtable writes: the skip
 *   list then reuses the previous insert's position, and the committer sorts
 *   each batch to make that count.
 * - The counters family is written in bulk and read only by the recovery
 *   scan, so its memtable is a vector (append now, sort at flush), about four
 *   times faster to write than a skip list. So is the audit family: its
 *   keys (number first) land all over the list, and as a skip list it cost
 *   a durable change a quarter of its rate (BM_OptinDurable, 1 M consents:
 *   about 90 k changes/s against 120 k). It is read only by AUDIT, which
 *   then sorts a copy of the memtable (tens of milliseconds at 16 MiB).
 *   The feed family stays a skip list: it is read all the time, and its
 *   keys (tenant, seq) come in order, so inserting is cheap.
 */
static void db_tune(db *d)
{
	d->table_opts = rocksdb_block_based_options_create();
	d->bloom = rocksdb_filterpolicy_create_bloom_full(10);
	rocksdb_block_based_options_set_filter_policy(d->table_opts, d->bloom);
	rocksdb_block_based_options_set_block_size(d->table_opts, 16 * 1024);
	for (int i = 0; i < DB_CF_MAX; i++) {
		rocksdb_options_t *o = rocksdb_options_create();
		rocksdb_options_set_block_based_table_factory(o, d->table_opts);
		rocksdb_options_set_compression(o, rocksdb_lz4_compression);
		rocksdb_options_set_write_buffer_size(o, 16u << 20);
		if (i == DB_CF_COUNTERS || i == DB_CF_AUDIT)
			rocksdb_options_set_memtable_vector_rep(o);
		/* Until recovery is done (db_start_compactions): a
		 * compaction would take a core from the recovery scan. */
		rocksdb_options_set_disable_auto_compactions(o, 1);
		d->cf_opts[i] = o;
	}
	d->opts = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(d->opts, 1);
	rocksdb_options_set_create_missing_column_families(d->opts, 1);
	rocksdb_options_increase_parallelism(d->opts, 2);
	rocksdb_options_set_max_background_jobs(d->opts, 2);
	rocksdb_options_set_max_total_wal_size(d->opts, 256u << 20);
	/* RocksDB's own LOG file only for fatal errors. The distribution's
	 * RocksDB is built with assertions, and its logger asserts (aborting
	 * the process) when it writes after a failed write, as it does on a
	 * full disk; every storage error reaches our log through db_err. */
	rocksdb_options_set_info_log_level(d->opts, 4 /* FATAL_LEVEL */);
	rocksdb_options_set_keep_log_file_num(d->opts, 4);
	rocksdb_options_set_allow_concurrent_memtable_write(d->opts, 0);
}

int db_open(db *d, const char *path, mtgate_log_fn log, void *log_ctx)
{
	const rocksdb_options_t *cfo[DB_CF_MAX];
	char *err = NULL;
	int rc;

	memset(d, 0, sizeof(*d));
	d->log = log;
	d->log_ctx = log_ctx;
	db_tune(d);
	for (int i = 0; i < DB_CF_MAX; i++)
		cfo[i] = d->cf_opts[i];
	d->rdb = rocksdb_open_column_families(d->opts, path, DB_CF_MAX,
					      cf_names, cfo, d->cf, &err);
	rc = db_err(d, "open RocksDB", err);
	if (rc < 0) {
		d->rdb = NULL;
		db_close(d);
		return rc;
	}
	d->wo_sync = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(d->wo_sync, 1);
	d->wo_nosync = rocksdb_writeoptions_create();
	d->ro = rocksdb_readoptions_create();
	d->ro_scan = rocksdb_readoptions_create();
	rocksdb_readoptions_set_fill_cache(d->ro_scan, 0);
	rocksdb_readoptions_set_readahead_size(d->ro_scan, 2u << 20);
	return 0;
}

void db_close(db *d)
{
	if (d->rdb != NULL) {
		for (int i = 0; i < DB_CF_MAX; i++)
			if (d->cf[i] != NULL)
				rocksdb_column_family_handle_destroy(d->cf[i]);
		rocksdb_close(d->rdb);
	}
	if (d->wo_sync)
		rocksdb_writeoptions_destroy(d->wo_sync);
	if (d->wo_nosync)
		rocksdb_writeoptions_destroy(d->wo_nosync);
	if (d->ro)
		rocksdb_readoptions_destroy(d->ro);
	if (d->ro_scan)
		rocksdb_readoptions_destroy(d->ro_scan);
	for (int i = 0; i < DB_CF_MAX; i++)
		if (d->cf_opts[i])
			rocksdb_options_destroy(d->cf_opts[i]);
	if (d->opts)
		rocksdb_options_destroy(d->opts);
	if (d->table_opts) /* also releases the bloom policy */
		rocksdb_block_based_options_destroy(d->table_opts);
	memset(d, 0, sizeof(*d));
}

int db_write(db *d, rocksdb_writebatch_t *wb, bool sync)
{
	char *err = NULL;

	rocksdb_write(d->rdb, sync ? d->wo_sync : d->wo_nosync, wb, &err);
	return db_err(d, "RocksDB write", err);
}

rocksdb_iterator_t *db_iter(db *d, enum db_cf cf, const void *seek,
			    size_t seek_len, bool scan)
{
	rocksdb_iterator_t *it = rocksdb_create_iterator_cf(
		d->rdb, scan ? d->ro_scan : d->ro, d->cf[cf]);
	if (it == NULL)
		return NULL;
	if (seek != NULL)
		rocksdb_iter_seek(it, seek, seek_len);
	else
		rocksdb_iter_seek_to_first(it);
	return it;
}

int db_iter_status(db *d, rocksdb_iterator_t *it)
{
	char *err = NULL;

	rocksdb_iter_get_error(it, &err);
	return db_err(d, "RocksDB read", err);
}

uint64_t db_estimate_keys(db *d, enum db_cf cf)
{
	char *v = rocksdb_property_value_cf(d->rdb, d->cf[cf],
					    "rocksdb.estimate-num-keys");
	uint64_t n = 0;

	if (v != NULL) {
		n = strtoull(v, NULL, 10);
		rocksdb_free(v);
	}
	return n;
}

int db_range_open(db *d, db_range *r, enum db_cf cf, const void *lo,
		  size_t lo_len, const void *hi, size_t hi_len)
{
	memset(r, 0, sizeof(*r));
	if (lo_len > DB_BOUND_MAX || hi_len > DB_BOUND_MAX)
		return MTGATE_EINVAL;
	r->ro = rocksdb_readoptions_create();
	if (r->ro == NULL)
		return MTGATE_ENOMEM;
	rocksdb_readoptions_set_fill_cache(r->ro, 0);
	rocksdb_readoptions_set_readahead_size(r->ro, 2u << 20);
	if (lo_len > 0) {
		memcpy(r->lo, lo, lo_len);
		rocksdb_readoptions_set_iterate_lower_bound(
			r->ro, (const char *)r->lo, lo_len);
	}
	if (hi_len > 0) {
		memcpy(r->hi, hi, hi_len);
		rocksdb_readoptions_set_iterate_upper_bound(
			r->ro, (const char *)r->hi, hi_len);
	}
	r->it = rocksdb_create_iterator_cf(d->rdb, r->ro, d->cf[cf]);
	if (r->it == NULL) {
		db_range_close(r);
		return MTGATE_ENOMEM;
	}
	if (lo_len > 0)
		rocksdb_iter_seek(r->it, (const char *)r->lo, lo_len);
	else
		rocksdb_iter_seek_to_first(r->it);
	return 0;
}

void db_range_close(db_range *r)
{
	if (r->it != NULL)
		rocksdb_iter_destroy(r->it);
	if (r->ro != NULL)
		rocksdb_readoptions_destroy(r->ro);
	r->it = NULL;
	r->ro = NULL;
}

uint64_t db_approx_size(db *d, enum db_cf cf, const void *lo, size_t lo_len,
			const void *hi, size_t hi_len)
{
	const char *los[1] = {lo}, *his[1] = {hi};
	size_t lol[1] = {lo_len}, hil[1] = {hi_len};
	uint64_t size = 0;
	char *err = NULL;

	rocksdb_approximate_sizes_cf(d->rdb, d->cf[cf], 1, los, lol, his, hil,
				     &size, &err);
	return db_err(d, "RocksDB size estimate", err) < 0 ? 0 : size;
}

int db_flush_all(db *d)
{
	rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
	char *err = NULL;
	int rc = 0;

	if (fo == NULL)
		return MTGATE_ENOMEM;
	rocksdb_flushoptions_set_wait(fo, 1);
	for (int i = 0; i < DB_CF_MAX && rc == 0; i++) {
		rocksdb_flush_cf(d->rdb, fo, d->cf[i], &err);
		rc = db_err(d, "RocksDB flush", err);
		err = NULL;
	}
	rocksdb_flushoptions_destroy(fo);
	return rc;
}

int db_start_compactions(db *d)
{
	const char *keys[1] = {"disable_auto_compactions"};
	const char *vals[1] = {"false"};
	char *err = NULL;
	int rc = 0;

	for (int i = 0; i < DB_CF_MAX && rc == 0; i++) {
		rocksdb_set_options_cf(d->rdb, d->cf[i], 1, keys, vals, &err);
		rc = db_err(d, "RocksDB set options", err);
		err = NULL;
	}
	return rc;
}

int db_get(db *d, enum db_cf cf, const void *key, size_t klen, void *val,
	   size_t cap, size_t *len_out)
{
	char *err = NULL;
	size_t vl = 0;
	char *v =
		rocksdb_get_cf(d->rdb, d->ro, d->cf[cf], key, klen, &vl, &err);
	int rc = db_err(d, "RocksDB read", err);

	if (rc < 0)
		return rc;
	if (v == NULL)
		return 0;
	if (vl > cap) {
		rocksdb_free(v);
		return MTGATE_ECORRUPT;
	}
	memcpy(val, v, vl);
	rocksdb_free(v);
	*len_out = vl;
	return 1;
}

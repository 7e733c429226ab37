/*
 * db: the storage boundary. Opens RocksDB with the engine's column families
 * and turns every RocksDB error (char **errptr) into an mtgate error code at
 * once: the text goes to the log, the string is freed, MTGATE_ESTORAGE is
 * returned. Nothing above this file sees a RocksDB error string.
 *
 * Thread-safety: RocksDB's own. Writes and reads may come from any thread.
 */
#ifndef MTGATE_PERSIST_DB_H
#define MTGATE_PERSIST_DB_H

#include <rocksdb/c.h>
#include <stdbool.h>
#include <stddef.h>

#include "mtgate/engine.h"

enum db_cf {
	DB_CF_DEFAULT = 0,
	DB_CF_PROGRAMS,
	DB_CF_CONSENTS,
	DB_CF_COUNTERS,
	DB_CF_DEACT,
	DB_CF_AUDIT, /* the audit trail: number, at, seq (codec.h) */
	DB_CF_TENANTS,
	DB_CF_SHORTCODES, /* short code -> id, help text */
	DB_CF_SCOPES,     /* number, short code id -> scope question, last
			   * opt-out (engine/store/shard.c) */
	DB_CF_FEED,       /* the change feed: tenant, seq (codec.h) */
	DB_CF_MAX
};

typedef struct db {
	rocksdb_t *rdb;
	rocksdb_options_t *opts;
	rocksdb_options_t *cf_opts[DB_CF_MAX];
	rocksdb_block_based_table_options_t *table_opts;
	rocksdb_filterpolicy_t *bloom; /* owned by table_opts */
	rocksdb_column_family_handle_t *cf[DB_CF_MAX];
	rocksdb_writeoptions_t *wo_sync;
	rocksdb_writeoptions_t *wo_nosync;
	rocksdb_readoptions_t *ro;
	rocksdb_readoptions_t *ro_scan; /* bulk scans: no cache fill */
	mtgate_log_fn log;
	void *log_ctx;
} db;

int db_open(db *d, const char *path, mtgate_log_fn log, void *log_ctx);
void db_close(db *d);

/* Write a batch; sync means WAL fsync before return. */
int db_write(db *d, rocksdb_writebatch_t *wb, bool sync);
/* Iterator over cf, positioned at the first key >= (seek, seek_len);
 * seek NULL = first key. Caller destroys it. NULL on out of memory. */
rocksdb_iterator_t *db_iter(db *d, enum db_cf cf, const void *seek,
			    size_t seek_len, bool scan);
/* Error of an iterator after the loop (0 or MTGATE_ESTORAGE). */
int db_iter_status(db *d, rocksdb_iterator_t *it);
/* Estimated number of keys in cf. */
uint64_t db_estimate_keys(db *d, enum db_cf cf);

/* An iterator over the keys of cf in [lo, hi) (either may be empty: no
 * bound), for bulk scans (no cache fill, read-ahead). The bounds are copied
 * into r, which must stay put while the iterator lives. */
#define DB_BOUND_MAX 16
typedef struct db_range {
	rocksdb_readoptions_t *ro;
	rocksdb_iterator_t *it;
	unsigned char lo[DB_BOUND_MAX], hi[DB_BOUND_MAX];
} db_range;
int db_range_open(db *d, db_range *r, enum db_cf cf, const void *lo,
		  size_t lo_len, const void *hi, size_t hi_len);
void db_range_close(db_range *r);

/* Bytes of cf's files in [lo, hi), from RocksDB's index (memtables not
 * counted); 0 on error. */
uint64_t db_approx_size(db *d, enum db_cf cf, const void *lo, size_t lo_len,
			const void *hi, size_t hi_len);

/* Write every family's memtable to its files and wait, so the next open
 * replays no WAL. */
int db_flush_all(db *d);

/* db_open leaves automatic compactions off, so that recovery has every
 * core; this turns them on. */
int db_start_compactions(db *d);

/* Point read: 1 and the value copied into val (cap bytes) when key is
 * there, 0 when it is not, or an error (MTGATE_ECORRUPT when longer than
 * cap). */
int db_get(db *d, enum db_cf cf, const void *key, size_t klen, void *val,
	   size_t cap, size_t *len_out);

/* Log through the engine's log function: "mtgate: <what>: <detail>". */
void db_log(db *d, const char *what, const char *detail);

#endif

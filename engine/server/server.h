/*
 * mtgated internals: an io_uring server, one thread per core, on the
 * embeddable engine. docs/design.md ("The server") has the whole picture;
 * this header states the pieces and who owns what.
 *
 * Threads
 *   - N core threads (srv_thread), N = --threads. Thread i owns engine shard
 *     i (external owners: the engine's shards = threads) and everything of
 *     its own: its ring, its listening socket (SO_REUSEPORT: the kernel
 *     spreads new connections over the threads), its connections, its
 *     provided-buffer ring. Nothing of a thread is touched by another,
 *     except its inbox and its eventfd.
 *   - The main thread parses the configuration, opens the engine, starts the
 *     core threads, waits for SIGTERM/SIGINT and then closes everything.
 *
 * A request about a number in another thread's shard
 *   The thread that read it packs it into an srv_op and posts it to the
 *   owner with mtgate_post (the engine's lock-free mailbox; the owner is
 *   woken through the engine's notify hook, which writes the owner's
 *   eventfd). The owner runs it (a gate at once, a change once durable) and
 *   pushes the finished op onto the reading thread's inbox (lock-free stack)
 *   and writes its eventfd. The reading thread writes the answer. No lock is
 *   taken on the way.
 *
 * Connections
 *   A connection belongs to the thread that accepted it. Input arrives by
 *   multishot recv into the thread's provided buffers; whole frames are
 *   handled straight from them, and only a partial frame is copied into the
 *   connection's rx buffer (at most one frame). Answers are appended to the
 *   connection's pending tx buffer; at the end of each loop turn every
 *   connection with output and no send in flight gets one send (batched
 *   sends). A second buffer holds what is being sent, so the pending one can
 *   grow meanwhile. The thread stops reading a connection while it owes
 *   too much: pending output past SRV_TX_MAX, more than SRV_OPS_MAX
 *   requests in flight, or more than SRV_ROWS_MAX bulk rows in flight
 *   (each row a pending change); it reads again once all are at half.
 *
 * Bounds
 *   connections: --max-connections in all; rx: one frame; tx: SRV_TX_MAX
 *   plus one answer; requests in flight: SRV_OPS_MAX, and SRV_ROWS_MAX
 *   bulk rows, plus what the last buffer read held (changes wait for the
 *   committer, reads for the reader thread: a client that sends faster
 *   than they go is paced, not queued without end).
 */
#ifndef MTGATE_SERVER_H
#define MTGATE_SERVER_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mtgate/engine.h"
#include "mtgate/protocol.h"

#define SRV_TX_MAX       (4u << 20)
#define SRV_OPS_MAX      256         /* requests in flight per connection */
#define SRV_ROWS_MAX     65536       /* IMPORT / DEACT_LIST rows in flight */
#define SRV_BUFS         256         /* provided buffers per thread */
#define SRV_BUF_SIZE     (16u << 10) /* bytes each */
#define SRV_RING_ENTRIES 1024
#define SRV_THREADS_MAX  256
#define SRV_DRAIN_MS     5000 /* longest wait for answers in flight at stop */

/* ---- configuration (config.c) ------------------------------------------------------ */

typedef struct srv_config {
	char listen[128]; /* HOST:PORT */
	char data[512];   /* RocksDB directory */
	unsigned threads; /* 0 = online cores */
	bool test_clock;
	unsigned max_connections;
	char operator_key_file[512]; /* "" = DATA/operator.key */
	uint32_t counter_flush_ms;
	uint32_t max_charge_cents; /* largest charge of a premium program */
	char config_file[512];     /* "" = none */
} srv_config;

/* Fill *c from the command line and the config file it names (the command
 * line wins). Returns 0, 1 after printing the usage (--help), or -1 after
 * printing "mtgated: <problem>" on stderr. */
int srv_config_load(srv_config *c, int argc, char **argv);
/* Split "HOST:PORT" ("[v6]:PORT" too); -1 when it is not that shape. */
int srv_split_addr(const char *a, char *host, size_t hcap, char *port,
		   size_t pcap);

/* ---- credentials (auth.c) --------------------------------------------------------------- */

#define SRV_KEY_LEN 56 /* "mtk_" 8 hex "_" 43 base64url */

typedef struct srv_auth srv_auth;

/* Load or create the operator key and load the tenants. */
int srv_auth_open(srv_auth **out, mtgate_engine *eng, const srv_config *c);
void srv_auth_close(srv_auth *a);
/* The credential a key authenticates: 0 = operator, else the tenant id;
 * -1 for anything else. Constant time in the secret. */
int64_t srv_auth_check(srv_auth *a, const uint8_t *key, size_t len);
/* Create a tenant; key_out gets its key (SRV_KEY_LEN + NUL). Returns the
 * id, or a negative engine error. */
int64_t srv_auth_add_tenant(srv_auth *a, const char *name, size_t name_len,
			    char key_out[SRV_KEY_LEN + 1]);
bool srv_auth_tenant_exists(srv_auth *a, uint32_t id);

/* ---- the server ---------------------------------------------------------------------- */

typedef struct srv srv;
typedef struct srv_thread srv_thread;
typedef struct srv_conn srv_conn;

/* A request handled away from the connection's thread, or asynchronously
 * (a consent change). Owned by the connection's thread except while it is
 * posted to the owner thread, which owns it until it pushes it back. */
typedef struct srv_op srv_op;

struct srv_conn {
	int fd;
	uint32_t idx,
		gen; /* slot in the thread's table; gen tells reuses apart */
	srv_thread *th;
	/* input */
	uint8_t *rx; /* a partial frame: at most header + FRAME_BODY_MAX */
	uint32_t rx_len, rx_cap;
	/* output: tx[cur] is being filled, tx[!cur] is being sent */
	uint8_t *tx[2];
	uint32_t tx_len[2], tx_cap[2], tx_sent;
	int cur;
	bool sending, recv_armed, paused, closing, eof;
	bool in_flush, reaping;
	srv_conn *next_flush, *next_reap;
	uint32_t inflight; /* ops not answered yet */
	uint32_t rows;     /* of which bulk rows (bulk.c) */
	/* authentication */
	bool authed;
	uint32_t tenant; /* MTGATE_TENANT_ANY for the operator */
	uint8_t hello_failures;
};

struct srv_thread {
	srv *s;
	unsigned idx; /* = the shard it owns */
	pthread_t thread;
	struct io_uring ring;
	int listen_fd;
	int event_fd;
	uint64_t event_buf;
	struct io_uring_buf_ring *br;
	uint8_t *bufs;
	srv_conn **conns; /* max_connections slots */
	uint32_t *free_slots, n_free;
	uint32_t nconns;
	uint32_t gen;
	srv_conn *flush_head;
	srv_conn *reap_head;           /* freed at the end of the loop turn */
	mtgate_gate_req *scratch_reqs; /* MTGATE_PROTO_BATCH_MAX */
	mtgate_reason *scratch_out;    /* MTGATE_PROTO_BATCH_MAX */
	uint32_t *scratch_shard;       /* MTGATE_PROTO_BATCH_MAX */
	_Atomic(srv_op *) inbox;
	bool accepting, stopping;
	bool running, ring_ok; /* set up by srv_start / the thread itself */
	/* statistics, read by STATS on any thread (relaxed) */
	_Atomic uint64_t frames_in, frames_out, protocol_errors;
};

typedef struct srv_reader srv_reader;

struct srv {
	srv_config cfg;
	mtgate_engine *eng;
	srv_auth *auth;
	unsigned nthreads;
	srv_thread *threads;
	_Atomic int64_t test_now_ms; /* the test clock, when cfg.test_clock */
	_Atomic uint32_t connections;
	_Atomic bool stop;
	_Atomic unsigned drained; /* threads done answering at stop */
	int64_t started_mono_ms;
	pthread_mutex_t start_lock; /* srv_start waits for the rings */
	pthread_cond_t start_cond;
	unsigned started;
	char bound[128];    /* the address actually listened on */
	srv_reader *reader; /* reader.c */
};

/* io.c */
int srv_start(srv *s); /* open listeners, start the threads */
void srv_stop(srv *s); /* ask every thread to stop; returns at once */
void srv_join(srv *s); /* wait for the threads */
void srv_wake(srv_thread *th);
/* Append an answer to c's pending output: header with opcode, tag and
 * status, and body_len bytes of body written by the caller at the returned
 * pointer (NULL when out of memory: the connection is then closed). */
uint8_t *srv_reply(srv_conn *c, uint8_t opcode, uint64_t tag, uint16_t status,
		   uint32_t body_len);
/* An error answer with its text. fatal: close after it is sent. */
void srv_reply_error(srv_conn *c, uint8_t opcode, uint64_t tag, unsigned status,
		     const char *text);
void srv_conn_release(srv_conn *c); /* an op of c is done */
/* Stop reading c; it is closed once its answers are sent. */
void srv_conn_close(srv_conn *c);
int64_t srv_now_ms(srv *s);
int64_t srv_uptime_ms(srv *s);

/* handle.c: checks shared by the handlers. Each answers the request with
 * the documented status when the check fails. */
bool srv_body_is(srv_conn *c, const mtgate_wire_header *h, uint32_t want,
		 const char *what);
bool srv_body_at_least(srv_conn *c, const mtgate_wire_header *h, uint32_t want,
		       const char *what);
bool srv_number_ok(srv_conn *c, const mtgate_wire_header *h, uint64_t n);
bool srv_operator_only(srv_conn *c, const mtgate_wire_header *h);
/* May c act on program id? 0, or MTGATE_ENOPROGRAM (also for another
 * tenant's program). def may be NULL. */
int srv_program_scope(srv_conn *c, uint32_t id, mtgate_program_def *def);
bool srv_no_nul(const uint8_t *p, size_t n);
/* A source reference: at most MTGATE_SOURCE_MAX bytes, no NUL. */
bool srv_source_ok(srv_conn *c, const mtgate_wire_header *h, const uint8_t *src,
		   size_t len);
void srv_reply_engine(srv_conn *c, uint8_t opcode, uint64_t tag, int err);

/* handle.c: consent changes and MOs for the rules handlers. Each runs on
 * the owner of the number's shard without waiting and answers the request
 * itself, once durable (or failed); c is held until then. Borrowed
 * arguments are copied. */
/* One change (chg->source is ignored: src is the source). Answered with
 * change_resp, or with answer_text (u16 len + text) when it is not NULL;
 * answer_text must live until the engine closes (a program's text). */
void srv_change_submit(srv_conn *c, const mtgate_wire_header *h,
		       const mtgate_change *chg, const uint8_t *src,
		       size_t src_len, const char *answer_text);
/* An MO from number to short code sc (checked: 1..15 letters or digits)
 * with len <= MTGATE_MO_MAX bytes of text, for c's tenant. */
void srv_mo_submit(srv_conn *c, const mtgate_wire_header *h, uint64_t number,
		   const char *sc, const uint8_t *text, size_t len);

/* handle.c: an op for another handler file's own work. run (given to
 * srv_op_post) runs on the owner of shard and ends with srv_op_return;
 * finish then runs on c's thread and frees the op (srv_op_free). When the
 * post fails, finish runs at once with srv_op_status < 0. */
srv_op *srv_op_new(srv_conn *c, unsigned shard, void *arg,
		   void (*finish)(srv_op *op));
void *srv_op_arg(srv_op *op);
int srv_op_status(srv_op *op);
void srv_op_post(srv_conn *c, srv_op *op, mtgate_task_fn run);
void srv_op_return(srv_op *op);
void srv_op_free(srv_op *op);
/* Hand op back to its connection's thread from any thread that is not
 * an owner running it (the reader): always through the inbox. */
void srv_op_send_home(srv_op *op);
/* The credential id of c for the audit trail: 0 the operator. */
uint32_t srv_actor(const srv_conn *c);

/* reader.c: the thread for requests that read storage at length or wait
 * for an fsync. run executes on it and ends with srv_op_send_home; drop
 * frees a job never run (at stop). */
typedef struct srv_job srv_job;
struct srv_job {
	srv_job *next;
	void (*run)(srv_job *j);
	void (*drop)(srv_job *j);
};
int srv_reader_start(srv *s);
void srv_reader_stop(srv *s); /* after the core threads are joined */
void srv_reader_post(srv *s, srv_job *j);

/* bulk.c: IMPORT and DEACT_LIST (spread over the owners, answered once
 * durable); AUDIT, EXPORT, SUMMARY, FEED_READ, FEED_ACK (checked on the
 * connection's thread, run on the reader). */
void srv_do_bulk(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b);
void srv_do_audit(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b);
void srv_do_export(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b);
void srv_do_summary(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b);
void srv_do_feed_read(srv_conn *c, const mtgate_wire_header *h,
		      const uint8_t *b);
void srv_do_feed_ack(srv_conn *c, const mtgate_wire_header *h,
		     const uint8_t *b);

/* admin.c: the handlers of QUERY, PROGRAM_*, TENANT_ADD, STATS, CLOCK. */
void srv_do_query(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b);
void srv_do_program_put(srv_conn *c, const mtgate_wire_header *h,
			const uint8_t *b);
void srv_do_program_get(srv_conn *c, const mtgate_wire_header *h,
			const uint8_t *b);
void srv_do_program_list(srv_conn *c, const mtgate_wire_header *h,
			 const uint8_t *b);
void srv_do_tenant_add(srv_conn *c, const mtgate_wire_header *h,
		       const uint8_t *b);
void srv_do_stats(srv_conn *c, const mtgate_wire_header *h);
void srv_do_clock(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b);

/* rules.c: the handlers of the consent rules' opcodes (0x80 .. 0x86). */
void srv_do_mo(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b);
/* DOI_REQUEST and DOI_RENOTIFY. */
void srv_do_doi(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b);
void srv_do_reminders_due(srv_conn *c, const mtgate_wire_header *h,
			  const uint8_t *b);
void srv_do_bill_check(srv_conn *c, const mtgate_wire_header *h,
		       const uint8_t *b);
void srv_do_bill_result(srv_conn *c, const mtgate_wire_header *h,
			const uint8_t *b);
void srv_do_shortcode_set(srv_conn *c, const mtgate_wire_header *h,
			  const uint8_t *b);

/* handle.c */
/* Handle one whole request frame of c. */
void srv_handle(srv_conn *c, const mtgate_wire_header *h, const uint8_t *body);
/* A finished op pushed back to its connection's thread. */
void srv_op_finish(srv_thread *th, srv_op *op);

#endif

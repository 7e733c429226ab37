/*
 * The core threads' I/O: one io_uring per thread, a listening socket per
 * thread (SO_REUSEPORT), multishot accept, multishot recv into a ring of
 * provided buffers, batched sends, and the loop that also runs the
 * thread's engine shard and its inbox. server.h states the model.
 *
 * user_data packs what a completion needs: the kind (8 bits), the
 * connection's generation (32 bits) and its slot (24 bits). A completion
 * for a slot whose generation has moved on is stale and ignored. Every
 * handler here runs on the thread that owns the ring; none is called
 * synchronously from a submission.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/codec.h"
#include "server/server.h"
#include "util/assert.h"

enum ud_kind { UD_ACCEPT = 1, UD_RECV, UD_SEND, UD_EVENT, UD_CANCEL, UD_MAX };

#define BGID     1
#define SLOT_MAX (1u << 24)

static inline uint64_t ud_pack(enum ud_kind k, uint32_t gen, uint32_t idx)
{
	return (uint64_t)k << 56 | (uint64_t)gen << 24 | idx;
}

static inline enum ud_kind ud_kind(uint64_t ud)
{
	return (enum ud_kind)(ud >> 56);
}

static inline uint32_t ud_gen(uint64_t ud)
{
	return (uint32_t)(ud >> 24);
}

static inline uint32_t ud_idx(uint64_t ud)
{
	return (uint32_t)(ud & (SLOT_MAX - 1));
}

static int64_t mono_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An SQE; when the ring is full, submit what is queued and try again. */
static struct io_uring_sqe *sqe_get(srv_thread *th)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&th->ring);

	if (sqe == NULL) {
		io_uring_submit(&th->ring);
		sqe = io_uring_get_sqe(&th->ring);
	}
	MTG_ASSERT(sqe != NULL);
	return sqe;
}

void srv_wake(srv_thread *th)
{
	uint64_t one = 1;
	ssize_t n = write(th->event_fd, &one, sizeof(one));
	(void)n; /* a full counter already means "wake up" */
}

int64_t srv_now_ms(srv *s)
{
	return mtgate_now(s->eng);
}

int64_t srv_uptime_ms(srv *s)
{
	return mono_now_ms() - s->started_mono_ms;
}

/* ---- connections ------------------------------------------------------------------ */

static void conn_free(srv_conn *c)
{
	srv_thread *th = c->th;

	close(c->fd);
	free(c->rx);
	free(c->tx[0]);
	free(c->tx[1]);
	th->conns[c->idx] = NULL;
	th->free_slots[th->n_free++] = c->idx;
	th->nconns--;
	atomic_fetch_sub(&th->s->connections, 1);
	free(c);
}

/*
 * Free c once nothing refers to it any more. Not at once: the connection
 * goes on the thread's reap list and is freed at the end of the loop turn
 * (reap), so no handler further up the stack can be left holding a freed
 * connection.
 */
static void conn_maybe_free(srv_conn *c)
{
	if (c->closing && !c->sending && !c->recv_armed && c->inflight == 0 &&
	    !c->in_flush && !c->reaping) {
		c->reaping = true;
		c->next_reap = c->th->reap_head;
		c->th->reap_head = c;
	}
}

static void reap(srv_thread *th)
{
	while (th->reap_head != NULL) {
		srv_conn *c = th->reap_head;
		th->reap_head = c->next_reap;
		conn_free(c);
	}
}

static void recv_cancel(srv_conn *c)
{
	struct io_uring_sqe *sqe;

	if (!c->recv_armed)
		return;
	sqe = sqe_get(c->th);
	io_uring_prep_cancel64(sqe, ud_pack(UD_RECV, c->gen, c->idx), 0);
	io_uring_sqe_set_data64(sqe, ud_pack(UD_CANCEL, 0, 0));
}

/* Stop reading c and free it once its answers are out. */
void srv_conn_close(srv_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	recv_cancel(c);
	conn_maybe_free(c);
}

static void recv_arm(srv_conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->recv_armed || c->closing || c->paused || c->eof)
		return;
	sqe = sqe_get(c->th);
	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, ud_pack(UD_RECV, c->gen, c->idx));
	c->recv_armed = true;
}

static void flush_mark(srv_conn *c)
{
	if (!c->in_flush) {
		c->in_flush = true;
		c->next_flush = c->th->flush_head;
		c->th->flush_head = c;
	}
}

static uint32_t tx_pending(const srv_conn *c)
{
	return c->tx_len[0] + c->tx_len[1] - (c->sending ? c->tx_sent : 0);
}

static void send_more(srv_conn *c)
{
	int s = !c->cur;
	struct io_uring_sqe *sqe = sqe_get(c->th);

	io_uring_prep_send(sqe, c->fd, c->tx[s] + c->tx_sent,
			   c->tx_len[s] - c->tx_sent, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, ud_pack(UD_SEND, c->gen, c->idx));
}

/* Start sending the pending buffer unless a send is in flight. */
static void conn_flush(srv_conn *c)
{
	if (c->sending || c->tx_len[c->cur] == 0)
		return;
	MTG_ASSERT(c->tx_len[!c->cur] == 0);
	c->cur = !c->cur; /* the filled buffer is now the one being sent */
	c->sending = true;
	c->tx_sent = 0;
	send_more(c);
}

uint8_t *srv_reply(srv_conn *c, uint8_t opcode, uint64_t tag, uint16_t status,
		   uint32_t body_len)
{
	int b = c->cur;
	uint32_t need = c->tx_len[b] + MTGATE_PROTO_HEADER_LEN + body_len;
	mtgate_wire_header h = {
		.magic = MTGATE_PROTO_MAGIC,
		.version = MTGATE_PROTO_VERSION,
		.opcode = opcode,
		.flags = MTGATE_FLAG_RESPONSE,
		.status = status,
		.tag = tag,
		.body_len = body_len,
	};
	uint8_t *p;

	if (need > c->tx_cap[b]) {
		uint32_t cap = c->tx_cap[b] ? c->tx_cap[b] : 4096;
		while (cap < need)
			cap *= 2;
		p = realloc(c->tx[b], cap);
		if (p == NULL) {
			srv_conn_close(c);
			return NULL;
		}
		c->tx[b] = p;
		c->tx_cap[b] = cap;
	}
	p = c->tx[b] + c->tx_len[b];
	proto_header_enc(p, &h);
	c->tx_len[b] = need;
	atomic_fetch_add_explicit(&c->th->frames_out, 1, memory_order_relaxed);
	flush_mark(c);
	return p + MTGATE_PROTO_HEADER_LEN;
}

void srv_reply_error(srv_conn *c, uint8_t opcode, uint64_t tag, unsigned status,
		     const char *text)
{
	size_t n = strlen(text);
	uint8_t *p =
		srv_reply(c, opcode, tag, (uint16_t)status, (uint32_t)(2 + n));
	proto_wr w;

	atomic_fetch_add_explicit(&c->th->protocol_errors, 1,
				  memory_order_relaxed);
	if (p != NULL) {
		proto_wr_init(&w, p, 2 + n);
		proto_enc_error(&w, text);
	}
	if (proto_status_fatal(status))
		srv_conn_close(c);
}

static void conn_pace(srv_conn *c);

void srv_conn_release(srv_conn *c)
{
	MTG_ASSERT(c->inflight > 0);
	c->inflight--;
	if (!c->closing)
		conn_pace(c);
	conn_maybe_free(c);
}

/* ---- input ---------------------------------------------------------------------------- */

/* A header at p: its whole frame length, or 0 after answering a fatal
 * problem (the connection is closing). */
static uint32_t frame_len(srv_conn *c, const uint8_t *p)
{
	mtgate_wire_header h;
	const char *why;
	unsigned st;

	proto_header_dec(p, &h);
	st = proto_header_check(&h, &why);
	if (proto_status_fatal(st)) {
		srv_reply_error(c, h.opcode,
				st == MTGATE_ST_BAD_MAGIC ? 0 : h.tag, st, why);
		return 0;
	}
	return MTGATE_PROTO_HEADER_LEN + h.body_len;
}

static void frame_handle(srv_conn *c, const uint8_t *p)
{
	mtgate_wire_header h;
	const char *why;
	unsigned st;

	proto_header_dec(p, &h);
	atomic_fetch_add_explicit(&c->th->frames_in, 1, memory_order_relaxed);
	st = proto_header_check(&h, &why);
	if (st != MTGATE_ST_OK) {
		srv_reply_error(c, h.opcode, h.tag, st, why);
		return;
	}
	srv_handle(c, &h, p + MTGATE_PROTO_HEADER_LEN);
}

static bool rx_reserve(srv_conn *c, uint32_t want)
{
	uint8_t *p;

	if (want <= c->rx_cap)
		return true;
	p = realloc(c->rx, want);
	if (p == NULL)
		return false;
	c->rx = p;
	c->rx_cap = want;
	return true;
}

/* Bytes that complete the partial frame in rx. Returns how many of n were
 * used; rx_len is 0 again once the frame was handled. */
static uint32_t rx_fill(srv_conn *c, const uint8_t *d, uint32_t n)
{
	uint32_t used = 0, total;

	if (!rx_reserve(c, MTGATE_PROTO_HEADER_LEN)) {
		srv_conn_close(c);
		return n;
	}
	if (c->rx_len < MTGATE_PROTO_HEADER_LEN) {
		uint32_t k = MTGATE_PROTO_HEADER_LEN - c->rx_len;
		k = k < n ? k : n;
		memcpy(c->rx + c->rx_len, d, k);
		c->rx_len += k;
		used = k;
		if (c->rx_len < MTGATE_PROTO_HEADER_LEN)
			return used;
	}
	if ((total = frame_len(c, c->rx)) == 0)
		return n; /* closing: drop the rest */
	if (!rx_reserve(c, total)) {
		srv_conn_close(c);
		return n;
	}
	if (total - c->rx_len > n - used) {
		memcpy(c->rx + c->rx_len, d + used, n - used);
		c->rx_len += n - used;
		return n;
	}
	memcpy(c->rx + c->rx_len, d + used, total - c->rx_len);
	used += total - c->rx_len;
	c->rx_len = 0;
	frame_handle(c, c->rx);
	return used;
}

/* Received bytes: whole frames are handled where they lie, the tail of a
 * partial one goes into rx. */
static void conn_input(srv_conn *c, const uint8_t *d, uint32_t n)
{
	if (c->rx_len > 0) {
		uint32_t used = rx_fill(c, d, n);
		d += used;
		n -= used;
	}
	while (n > 0 && !c->closing) {
		uint32_t total;
		if (n < MTGATE_PROTO_HEADER_LEN) {
			(void)rx_fill(c, d, n);
			return;
		}
		if ((total = frame_len(c, d)) == 0)
			return;
		if (total > n) {
			(void)rx_fill(c, d, n);
			return;
		}
		frame_handle(c, d);
		d += total;
		n -= total;
	}
}

/* Stop reading a connection that owes too much (answers not yet read,
 * requests or bulk rows in flight); read again once each is at half. */
static void conn_pace(srv_conn *c)
{
	uint32_t pend = tx_pending(c);

	if (!c->paused && (pend > SRV_TX_MAX || c->inflight > SRV_OPS_MAX ||
			   c->rows > SRV_ROWS_MAX)) {
		c->paused = true;
		recv_cancel(c);
	} else if (c->paused && pend <= SRV_TX_MAX / 2 &&
		   c->inflight <= SRV_OPS_MAX / 2 &&
		   c->rows <= SRV_ROWS_MAX / 2) {
		c->paused = false;
		recv_arm(c);
	}
}

static void buf_return(srv_thread *th, unsigned bid)
{
	io_uring_buf_ring_add(th->br, th->bufs + (size_t)bid * SRV_BUF_SIZE,
			      SRV_BUF_SIZE, (unsigned short)bid,
			      io_uring_buf_ring_mask(SRV_BUFS), 0);
	io_uring_buf_ring_advance(th->br, 1);
}

static void on_recv(srv_conn *c, struct io_uring_cqe *cqe)
{
	bool more = cqe->flags & IORING_CQE_F_MORE;

	if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		if (!c->closing)
			conn_input(c, c->th->bufs + (size_t)bid * SRV_BUF_SIZE,
				   (uint32_t)cqe->res);
		buf_return(c->th, bid);
	} else if (cqe->res == 0) {
		c->eof = true;
		if (c->rx_len > 0)
			srv_reply_error(c, 0, 0, MTGATE_ST_TRUNCATED,
					"the connection ended in the middle "
					"of a frame");
		srv_conn_close(c);
	} else if (cqe->res < 0 && cqe->res != -ENOBUFS &&
		   cqe->res != -ECANCELED) {
		srv_conn_close(c);
	}
	if (!more) {
		c->recv_armed = false;
		if (c->eof || c->closing)
			conn_maybe_free(c);
		else if (c->th->stopping)
			; /* no more input at stop */
		else
			recv_arm(c); /* ran out of buffers, or was paused */
	}
	conn_pace(c);
}

static void on_send(srv_conn *c, struct io_uring_cqe *cqe)
{
	int s = !c->cur;

	if (cqe->res <= 0) {
		c->sending = false;
		c->tx_len[s] = 0;
		c->tx_len[c->cur] = 0; /* nobody to send it to */
		srv_conn_close(c);
		conn_maybe_free(c); /* when it was closing already */
		return;
	}
	c->tx_sent += (uint32_t)cqe->res;
	if (c->tx_sent < c->tx_len[s]) {
		send_more(c);
		return;
	}
	c->sending = false;
	c->tx_len[s] = 0;
	if (c->tx_len[c->cur] > 0)
		flush_mark(c);
	conn_pace(c);
	conn_maybe_free(c);
}

/* ---- accept ------------------------------------------------------------------------ */

static void accept_arm(srv_thread *th)
{
	struct io_uring_sqe *sqe = sqe_get(th);

	io_uring_prep_multishot_accept(sqe, th->listen_fd, NULL, NULL,
				       SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, ud_pack(UD_ACCEPT, 0, 0));
}

/* Over the limit: say so and close, without a slot. */
static void refuse(int fd)
{
	uint8_t f[MTGATE_PROTO_HEADER_LEN + 64];
	const char *text = "too many connections";
	mtgate_wire_header h = {
		.magic = MTGATE_PROTO_MAGIC,
		.version = MTGATE_PROTO_VERSION,
		.flags = MTGATE_FLAG_RESPONSE,
		.status = MTGATE_ST_TOO_MANY_CONNECTIONS,
		.body_len = (uint32_t)(2 + strlen(text)),
	};
	proto_wr w;
	ssize_t n;

	proto_header_enc(f, &h);
	proto_wr_init(&w, f + MTGATE_PROTO_HEADER_LEN, h.body_len);
	proto_enc_error(&w, text);
	n = send(fd, f, MTGATE_PROTO_HEADER_LEN + h.body_len,
		 MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)n;
	close(fd);
}

static void on_accept(srv_thread *th, struct io_uring_cqe *cqe)
{
	srv *s = th->s;
	int one = 1, fd = cqe->res;
	srv_conn *c;

	if (!(cqe->flags & IORING_CQE_F_MORE) && th->accepting)
		accept_arm(th);
	if (fd < 0)
		return;
	if (atomic_fetch_add(&s->connections, 1) >= s->cfg.max_connections ||
	    th->n_free == 0 || (c = calloc(1, sizeof(*c))) == NULL) {
		atomic_fetch_sub(&s->connections, 1);
		refuse(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->th = th;
	c->idx = th->free_slots[--th->n_free];
	c->gen = ++th->gen;
	c->tenant = 0;
	th->conns[c->idx] = c;
	th->nconns++;
	recv_arm(c);
}

/* ---- the loop ---------------------------------------------------------------------- */

static void event_arm(srv_thread *th)
{
	struct io_uring_sqe *sqe = sqe_get(th);

	io_uring_prep_read(sqe, th->event_fd, &th->event_buf,
			   sizeof(th->event_buf), 0);
	io_uring_sqe_set_data64(sqe, ud_pack(UD_EVENT, 0, 0));
}

static void on_cqe(srv_thread *th, struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	srv_conn *c;

	switch (ud_kind(ud)) {
	case UD_ACCEPT:
		on_accept(th, cqe);
		return;
	case UD_EVENT:
		event_arm(th);
		return;
	case UD_RECV:
	case UD_SEND:
		c = th->conns[ud_idx(ud)];
		if (c == NULL || c->gen != ud_gen(ud))
			return; /* stale */
		if (ud_kind(ud) == UD_RECV)
			on_recv(c, cqe);
		else
			on_send(c, cqe);
		return;
	default:
		return;
	}
}

static void take_inbox(srv_thread *th)
{
	srv_op *op = atomic_exchange_explicit(&th->inbox, NULL,
					      memory_order_acquire);

	while (op != NULL) {
		srv_op *next = *(srv_op **)op; /* first field: the link */
		srv_op_finish(th, op);
		op = next;
	}
}

static void flush_all(srv_thread *th)
{
	while (th->flush_head != NULL) {
		srv_conn *c = th->flush_head;
		th->flush_head = c->next_flush;
		c->in_flush = false;
		conn_flush(c);
		conn_maybe_free(c);
	}
}

/* At stop: no new connections, no new requests; answers in flight go out. */
static void begin_stop(srv_thread *th)
{
	th->stopping = true;
	th->accepting = false;
	if (th->listen_fd >= 0) {
		close(th->listen_fd);
		th->listen_fd = -1;
	}
	for (uint32_t i = 0; i < th->s->cfg.max_connections; i++)
		if (th->conns[i] != NULL)
			recv_cancel(th->conns[i]);
}

static bool answered_all(srv_thread *th)
{
	for (uint32_t i = 0; i < th->s->cfg.max_connections; i++) {
		srv_conn *c = th->conns[i];
		if (c != NULL &&
		    (c->inflight > 0 || c->sending || c->tx_len[c->cur] > 0))
			return false;
	}
	return true;
}

static void close_all(srv_thread *th)
{
	reap(th);
	for (uint32_t i = 0; i < th->s->cfg.max_connections; i++) {
		srv_conn *c = th->conns[i];
		if (c != NULL) {
			shutdown(c->fd, SHUT_RDWR);
			c->inflight = 0;
			c->sending = false;
			c->recv_armed = false;
			c->in_flush = false;
			c->closing = true;
			conn_free(c);
		}
	}
}

/* One turn: engine work, finished ops, sends, then wait for completions. */
static void loop_turn(srv_thread *th, int wait_ms)
{
	struct __kernel_timespec ts = {0, (long long)wait_ms * 1000000};
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	for (int k = 0; k < 64 && mtgate_shard_poll(th->s->eng, th->idx) > 0;
	     k++)
		;
	take_inbox(th);
	flush_all(th);
	io_uring_submit_and_wait_timeout(&th->ring, &cqe, 1, &ts, NULL);
	io_uring_for_each_cqe(&th->ring, head, cqe)
	{
		on_cqe(th, cqe);
		n++;
	}
	io_uring_cq_advance(&th->ring, n);
	reap(th);
}

static int ring_setup(srv_thread *th);

/* The ring is made by the thread that uses it (single issuer). */
static bool thread_ready(srv_thread *th)
{
	srv *s = th->s;
	int rc = ring_setup(th);

	if (rc < 0)
		fprintf(stderr, "mtgated: io_uring setup failed: %s\n",
			strerror(errno));
	pthread_mutex_lock(&s->start_lock);
	th->ring_ok = rc == 0;
	s->started++;
	pthread_cond_broadcast(&s->start_cond);
	pthread_mutex_unlock(&s->start_lock);
	return rc == 0;
}

static void *thread_main(void *arg)
{
	srv_thread *th = arg;
	srv *s = th->s;
	int64_t stop_at = 0;
	bool drained = false;

	if (!thread_ready(th))
		return NULL;
	mtgate_shard_attach(s->eng, th->idx);
	accept_arm(th);
	event_arm(th);
	for (;;) {
		if (atomic_load(&s->stop) && !th->stopping) {
			begin_stop(th);
			stop_at = mono_now_ms() + SRV_DRAIN_MS;
		}
		if (th->stopping && !drained &&
		    (answered_all(th) || mono_now_ms() > stop_at)) {
			drained = true;
			atomic_fetch_add(&s->drained, 1);
			for (unsigned i = 0; i < s->nthreads; i++)
				srv_wake(&s->threads[i]);
		}
		/* Keep serving the shard until every thread is done: another
		 * thread's answer may still need it. */
		if (drained && atomic_load(&s->drained) == s->nthreads)
			break;
		loop_turn(th, th->stopping ? 5 : 50);
	}
	close_all(th);
	return NULL;
}

/* ---- start and stop ---------------------------------------------------------------- */

/*
 * The core threads share the port with SO_REUSEPORT, which would also let
 * a second mtgated of the same user bind it and take half the clients.
 * So the address is first bound without it: EADDRINUSE there means the
 * port is taken. (For port 0 this picks the port the threads then share.)
 */
static int probe_port(const char *host, char *port, size_t pcap)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct addrinfo *ai;
	int fd, rc = getaddrinfo(host, port, &hints, &ai);

	if (rc != 0) {
		fprintf(stderr, "mtgated: --listen %s:%s: %s\n", host, port,
			gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	rc = fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	     getsockname(fd, (struct sockaddr *)&ss, &sl) < 0;
	if (rc)
		fprintf(stderr, "mtgated: --listen %s:%s: %s\n", host, port,
			strerror(errno));
	else
		getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, port, pcap,
			    NI_NUMERICSERV);
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc ? -1 : 0;
}

static int listen_socket(srv *s, const char *host, const char *port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai;
	int fd, one = 1, rc = getaddrinfo(host, port, &hints, &ai);

	if (rc != 0) {
		fprintf(stderr, "mtgated: --listen %s:%s: %s\n", host, port,
			gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
		fprintf(stderr, "mtgated: --listen %s:%s: %s\n", host, port,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	(void)s;
	return fd;
}

/* The port actually bound (for --listen HOST:0), as the ready address. */
static void bound_name(srv *s, int fd, const char *host)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char p[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, p, sizeof(p),
			NI_NUMERICSERV) == 0)
		snprintf(s->bound, sizeof(s->bound),
			 strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, p);
}

static int ring_setup(srv_thread *th)
{
	struct io_uring_buf_reg reg = {0};
	size_t rlen = SRV_BUFS * sizeof(struct io_uring_buf);

	/* Completions are processed only when this thread enters the kernel
	 * to wait (defer task run), not by interrupting its gate loop; the
	 * ring is used by this thread alone (single issuer). Older kernels
	 * get a plain ring. */
	if (io_uring_queue_init(SRV_RING_ENTRIES, &th->ring,
				IORING_SETUP_SINGLE_ISSUER |
					IORING_SETUP_DEFER_TASKRUN) < 0 &&
	    io_uring_queue_init(SRV_RING_ENTRIES, &th->ring, 0) < 0)
		return -1;
	if (posix_memalign((void **)&th->br, 4096, rlen) != 0 ||
	    (th->bufs = malloc((size_t)SRV_BUFS * SRV_BUF_SIZE)) == NULL)
		return -1;
	io_uring_buf_ring_init(th->br);
	reg.ring_addr = (unsigned long)th->br;
	reg.ring_entries = SRV_BUFS;
	reg.bgid = BGID;
	if (io_uring_register_buf_ring(&th->ring, &reg, 0) < 0)
		return -1;
	for (unsigned i = 0; i < SRV_BUFS; i++)
		io_uring_buf_ring_add(th->br,
				      th->bufs + (size_t)i * SRV_BUF_SIZE,
				      SRV_BUF_SIZE, (unsigned short)i,
				      io_uring_buf_ring_mask(SRV_BUFS), (int)i);
	io_uring_buf_ring_advance(th->br, SRV_BUFS);
	return 0;
}

static int thread_setup(srv *s, srv_thread *th, unsigned i, const char *host,
			const char *port)
{
	uint32_t max = s->cfg.max_connections;

	th->s = s;
	th->idx = i;
	th->listen_fd = -1;
	th->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	th->conns = calloc(max, sizeof(*th->conns));
	th->free_slots = malloc(max * sizeof(*th->free_slots));
	if (th->event_fd < 0 || th->conns == NULL || th->free_slots == NULL) {
		fprintf(stderr, "mtgated: out of memory\n");
		return -1;
	}
	for (uint32_t k = 0; k < max; k++)
		th->free_slots[k] = max - 1 - k;
	th->n_free = max;
	th->scratch_reqs =
		malloc(MTGATE_PROTO_BATCH_MAX * sizeof(*th->scratch_reqs));
	th->scratch_out =
		malloc(MTGATE_PROTO_BATCH_MAX * sizeof(*th->scratch_out));
	th->scratch_shard =
		malloc(MTGATE_PROTO_BATCH_MAX * sizeof(*th->scratch_shard));
	if (th->scratch_reqs == NULL || th->scratch_out == NULL ||
	    th->scratch_shard == NULL) {
		fprintf(stderr, "mtgated: out of memory\n");
		return -1;
	}
	th->listen_fd = listen_socket(s, host, port);
	th->accepting = th->listen_fd >= 0;
	return th->listen_fd >= 0 ? 0 : -1;
}

int srv_start(srv *s)
{
	char host[128], port[16];

	s->started_mono_ms = mono_now_ms();
	if (srv_split_addr(s->cfg.listen, host, sizeof(host), port,
			   sizeof(port)) < 0)
		return -1; /* srv_config_load checked it */
	if (probe_port(host, port, sizeof(port)) < 0)
		return -1;
	s->threads = calloc(s->nthreads, sizeof(*s->threads));
	if (s->threads == NULL || srv_reader_start(s) < 0)
		return -1;
	for (unsigned i = 0; i < s->nthreads; i++) {
		if (thread_setup(s, &s->threads[i], i, host, port) < 0)
			return -1;
		if (i == 0) { /* HOST:0: every thread takes the same port */
			bound_name(s, s->threads[0].listen_fd, host);
			snprintf(port, sizeof(port), "%s",
				 strrchr(s->bound, ':') + 1);
		}
	}
	pthread_mutex_init(&s->start_lock, NULL);
	pthread_cond_init(&s->start_cond, NULL);
	for (unsigned i = 0; i < s->nthreads; i++) {
		if (pthread_create(&s->threads[i].thread, NULL, thread_main,
				   &s->threads[i]) != 0)
			return -1;
		s->threads[i].running = true;
	}
	pthread_mutex_lock(&s->start_lock);
	while (s->started < s->nthreads)
		pthread_cond_wait(&s->start_cond, &s->start_lock);
	pthread_mutex_unlock(&s->start_lock);
	for (unsigned i = 0; i < s->nthreads; i++)
		if (!s->threads[i].ring_ok)
			return -1;
	return 0;
}

void srv_stop(srv *s)
{
	atomic_store(&s->stop, true);
	for (unsigned i = 0; s->threads != NULL && i < s->nthreads; i++)
		srv_wake(&s->threads[i]);
}

void srv_join(srv *s)
{
	for (unsigned i = 0; i < s->nthreads; i++)
		if (s->threads[i].running)
			pthread_join(s->threads[i].thread, NULL);
	/* A job still running sends its op to an inbox nobody takes: the
	 * threads' eventfds must stay open until the reader is joined. */
	srv_reader_stop(s);
	for (unsigned i = 0; i < s->nthreads; i++) {
		srv_thread *th = &s->threads[i];
		if (th->ring_ok)
			io_uring_queue_exit(&th->ring);
		if (th->listen_fd >= 0)
			close(th->listen_fd);
		close(th->event_fd);
		free(th->br);
		free(th->bufs);
		free(th->conns);
		free(th->free_slots);
		free(th->scratch_reqs);
		free(th->scratch_out);
		free(th->scratch_shard);
	}
	free(s->threads);
	s->threads = NULL;
}

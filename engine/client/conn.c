/*
 * libmtgate connections: connect and HELLO, the send and receive buffers,
 * frame reading and checking, and the pipeline entry points (flush, recv,
 * send_raw). Buffer layout and bounds: client/internal.h.
 *
 * Every frame the server sends is checked before its body is looked at:
 * magic, version, the RESPONSE flag and body_len <= MTGATE_FRAME_BODY_MAX.
 * A violation means the framing is lost: MTGATE_EPROTO, connection broken.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/internal.h"

int mtgate_c_status_error(unsigned st)
{
	unsigned k;

	if (st == MTGATE_ST_OK)
		return 0;
	if (st < MTGATE_ST_PROTO_MAX)
		return MTGATE_ESTATUS(st);
	if (st < MTGATE_ST_ENGINE)
		return MTGATE_EPROTO;
	k = st - MTGATE_ST_ENGINE;
	if (k >= (unsigned)(MTGATE_ERR_LAST - MTGATE_ERR_FIRST))
		return MTGATE_EPROTO;
	return MTGATE_ERR_FIRST + (int)k;
}

int cl_fail(mtgate_conn *c, int err)
{
	if (c->broken == 0 && (err == MTGATE_EIO || err == MTGATE_EPROTO ||
			       err == MTGATE_EDISCONNECTED))
		c->broken = err;
	return err;
}

uint64_t cl_tag(mtgate_conn *c)
{
	return ++c->next_tag;
}

/* Every field was there. Bytes after them are ignored: a later protocol
 * version may append fields to an answer (docs/protocol.md, Versioning). */
int cl_done(mtgate_conn *c, const proto_rd *r)
{
	return !r->bad ? 0 : cl_fail(c, MTGATE_EPROTO);
}

int cl_strlen(const char *s, size_t max, size_t *len)
{
	*len = s == NULL ? 0 : strnlen(s, max + 1);
	return *len > max ? MTGATE_ETOOBIG : 0;
}

/* A socket error as a library code: the peer going away is not an I/O
 * fault of ours. */
static int io_error(mtgate_conn *c, int err)
{
	if (err == EPIPE || err == ECONNRESET)
		return cl_fail(c, MTGATE_EDISCONNECTED);
	return cl_fail(c, MTGATE_EIO);
}

/* ---- the receive buffer -------------------------------------------------------- */

/* Forget the frame last handed out. */
static void rbuf_drop_held(mtgate_conn *c)
{
	c->rpos += c->held;
	c->held = 0;
	if (c->rpos == c->rlen)
		c->rpos = c->rlen = 0;
}

/* Make room for want bytes from rpos (want <= CL_RECV_MAX): compact, then
 * grow. Returns false when there is no room past rlen at all. */
static bool rbuf_room(mtgate_conn *c, size_t want)
{
	size_t cap;
	uint8_t *p;

	rbuf_drop_held(c);
	if (c->rpos > 0 && (c->rcap - c->rpos < want || c->rlen == c->rcap)) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	if (c->rcap < want || (c->rlen == c->rcap && c->rcap < CL_RECV_MAX)) {
		cap = c->rcap * 2 > want ? c->rcap * 2 : want;
		cap = cap > CL_RECV_MAX ? CL_RECV_MAX : cap;
		p = realloc(c->rbuf, cap);
		if (p == NULL)
			return false;
		c->rbuf = p;
		c->rcap = cap;
	}
	return c->rlen < c->rcap;
}

/* Read once, without waiting: RD_DATA, RD_NONE (nothing ready), RD_EOF
 * (the server closed its side) or an error. */
enum { RD_DATA = 0, RD_NONE = 1, RD_EOF = 2 };

static int rbuf_read(mtgate_conn *c)
{
	ssize_t n;

	do
		n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen,
			 MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		c->rlen += (size_t)n;
		return RD_DATA;
	}
	if (n == 0)
		return RD_EOF;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return RD_NONE;
	return io_error(c, errno);
}

static int wait_fd(mtgate_conn *c, short events, int64_t deadline,
		   short *revents)
{
	struct pollfd pfd = {.fd = c->fd, .events = events};
	int rc;

	do
		rc = poll(&pfd, 1, cl_remaining(deadline));
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return cl_fail(c, MTGATE_EIO);
	if (rc == 0)
		return MTGATE_ETIMEOUT;
	*revents = pfd.revents;
	return 0;
}

/* Until at least want bytes (<= CL_RECV_MAX) are buffered from rpos. */
static int rbuf_fill(mtgate_conn *c, size_t want, int64_t deadline)
{
	short rev;
	int rc;

	while (c->rlen - c->rpos < want) {
		if (!rbuf_room(c, want))
			return MTGATE_ENOMEM;
		rc = rbuf_read(c);
		if (rc == RD_EOF)
			return cl_fail(c, MTGATE_EDISCONNECTED);
		if (rc == RD_NONE)
			rc = wait_fd(c, POLLIN, deadline, &rev);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- frames in ------------------------------------------------------------------------ */

static int header_check(const mtgate_wire_header *h)
{
	if (h->magic != MTGATE_PROTO_MAGIC ||
	    h->version != MTGATE_PROTO_VERSION ||
	    !(h->flags & MTGATE_FLAG_RESPONSE) ||
	    h->body_len > MTGATE_FRAME_BODY_MAX)
		return MTGATE_EPROTO;
	return 0;
}

/* The next whole frame: header checked, body in the buffer (held). */
static int frame_read(mtgate_conn *c, int64_t deadline, mtgate_wire_header *h,
		      const uint8_t **body)
{
	int rc;

	rbuf_drop_held(c);
	if ((rc = rbuf_fill(c, MTGATE_PROTO_HEADER_LEN, deadline)) < 0)
		return rc;
	proto_header_dec(c->rbuf + c->rpos, h);
	if (header_check(h) < 0)
		return cl_fail(c, MTGATE_EPROTO);
	rc = rbuf_fill(c, MTGATE_PROTO_HEADER_LEN + (size_t)h->body_len,
		       deadline);
	if (rc < 0)
		return rc;
	c->held = MTGATE_PROTO_HEADER_LEN + (size_t)h->body_len;
	*body = c->rbuf + c->rpos + MTGATE_PROTO_HEADER_LEN;
	return 0;
}

/* Keep the text of an error answer (u16 len + text) in c->err. */
static int frame_error_text(mtgate_conn *c, const mtgate_wire_header *h,
			    const uint8_t *body)
{
	proto_rd r;
	const uint8_t *text;
	uint16_t len;

	c->err[0] = '\0';
	if (h->status == MTGATE_ST_OK)
		return 0;
	proto_rd_init(&r, body, h->body_len);
	text = proto_rd_str(&r, &len);
	if (cl_done(c, &r) < 0)
		return MTGATE_EPROTO;
	if (len > CL_ERR_TEXT_MAX)
		len = CL_ERR_TEXT_MAX;
	memcpy(c->err, text, len);
	c->err[len] = '\0';
	return 0;
}

/* ---- frames out ------------------------------------------------------------------------ */

/* While a flush waits for the socket to take more, read what the server
 * sends into the receive buffer: a server whose output is full stops
 * reading, and it must not wait for us while we wait for it. Once the
 * server has closed its side (*eof) only the send can tell what is left. */
static int flush_wait(mtgate_conn *c, int64_t deadline, bool *eof)
{
	short rev = 0, ev = POLLOUT;
	bool room = !*eof && rbuf_room(c, 0);
	int rc;

	if (room)
		ev |= POLLIN;
	if ((rc = wait_fd(c, ev, deadline, &rev)) < 0)
		return rc;
	if (room && (rev & POLLIN) && !(rev & POLLOUT)) {
		rc = rbuf_read(c);
		if (rc == RD_EOF)
			*eof = true;
		else if (rc < 0)
			return rc;
	}
	return 0;
}

static int flush(mtgate_conn *c, int64_t deadline)
{
	bool eof = false;
	ssize_t n;
	int rc;

	while (c->soff < c->slen) {
		n = send(c->fd, c->sbuf + c->soff, c->slen - c->soff,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->soff += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return io_error(c, errno);
		if ((rc = flush_wait(c, deadline, &eof)) < 0)
			return rc;
	}
	c->soff = c->slen = 0;
	return 0;
}

/* Room for need more bytes at slen: grow up to CL_SEND_MAX, else flush. */
static int sbuf_room(mtgate_conn *c, size_t need)
{
	size_t cap;
	uint8_t *p;
	int rc;

	if (c->slen + need <= c->scap)
		return 0;
	if (c->slen + need > CL_SEND_MAX &&
	    (rc = flush(c, cl_deadline(c->timeout_ms))) < 0)
		return rc;
	if (c->slen + need <= c->scap)
		return 0;
	for (cap = c->scap; cap < c->slen + need; cap *= 2)
		;
	cap = cap > CL_SEND_MAX ? CL_SEND_MAX : cap;
	p = realloc(c->sbuf, cap);
	if (p == NULL)
		return MTGATE_ENOMEM;
	c->sbuf = p;
	c->scap = cap;
	return 0;
}

int cl_begin(mtgate_conn *c, uint8_t opcode, uint64_t tag, size_t body_len,
	     proto_wr *w)
{
	mtgate_wire_header h = {0};
	int rc;

	c->err[0] = '\0';
	if (c->broken)
		return c->broken;
	if (body_len > MTGATE_FRAME_BODY_MAX)
		return MTGATE_ETOOBIG;
	if ((rc = sbuf_room(c, MTGATE_PROTO_HEADER_LEN + body_len)) < 0)
		return rc;
	h.magic = MTGATE_PROTO_MAGIC;
	h.version = MTGATE_PROTO_VERSION;
	h.opcode = opcode;
	h.tag = tag;
	h.body_len = (uint32_t)body_len;
	c->frame_start = c->slen;
	proto_header_enc(c->sbuf + c->slen, &h);
	c->slen += MTGATE_PROTO_HEADER_LEN;
	proto_wr_init(w, c->sbuf + c->slen, body_len);
	c->slen += body_len;
	return 0;
}

int cl_commit(mtgate_conn *c, const proto_wr *w)
{
	if (w->bad || w->p != w->end) {
		c->slen = c->frame_start;
		return MTGATE_EINVAL;
	}
	return 0;
}

int cl_wait_answer(mtgate_conn *c, uint64_t tag, uint8_t opcode, proto_rd *r)
{
	int64_t deadline = cl_deadline(c->timeout_ms);
	mtgate_wire_header h;
	const uint8_t *body;
	int rc;

	if ((rc = flush(c, deadline)) < 0)
		return rc;
	for (;;) {
		if ((rc = frame_read(c, deadline, &h, &body)) < 0)
			return rc;
		if (h.tag != tag && !proto_status_fatal(h.status))
			continue; /* an earlier pipelined answer: dropped */
		if (h.tag == tag && h.opcode != opcode)
			return cl_fail(c, MTGATE_EPROTO);
		if ((rc = frame_error_text(c, &h, body)) < 0)
			return rc;
		if (h.status != MTGATE_ST_OK)
			return cl_fail(c, mtgate_c_status_error(h.status));
		proto_rd_init(r, body, h.body_len);
		return 0;
	}
}

/* ---- the pipeline ---------------------------------------------------------------------- */

int mtgate_c_send_raw(mtgate_conn *c, uint64_t tag, uint8_t opcode,
		      const void *body, uint32_t body_len)
{
	proto_wr w;
	int rc;

	if (c == NULL || (body == NULL && body_len > 0))
		return MTGATE_EINVAL;
	if ((rc = cl_begin(c, opcode, tag, body_len, &w)) < 0)
		return rc;
	proto_wr_bytes(&w, body, body_len);
	return cl_commit(c, &w);
}

int mtgate_c_flush(mtgate_conn *c)
{
	if (c == NULL)
		return MTGATE_EINVAL;
	if (c->broken)
		return c->broken;
	return flush(c, cl_deadline(c->timeout_ms));
}

int mtgate_c_recv(mtgate_conn *c, mtgate_wire_header *hdr, const uint8_t **body)
{
	int64_t deadline;
	int rc;

	if (c == NULL || hdr == NULL || body == NULL)
		return MTGATE_EINVAL;
	c->err[0] = '\0';
	if (c->broken)
		return c->broken;
	deadline = cl_deadline(c->timeout_ms);
	if ((rc = flush(c, deadline)) < 0)
		return rc;
	if ((rc = frame_read(c, deadline, hdr, body)) < 0)
		return rc;
	return frame_error_text(c, hdr, *body);
}

/* ---- connecting ------------------------------------------------------------------------- */

static int hello(mtgate_conn *c, const char *key)
{
	mtgate_wire_hello_req req = {.version = MTGATE_PROTO_VERSION};
	uint64_t tag = cl_tag(c);
	size_t key_len;
	proto_wr w;
	proto_rd r;
	int rc;

	if ((rc = cl_strlen(key, UINT16_MAX, &key_len)) < 0)
		return rc;
	req.key_len = (uint16_t)key_len;
	rc = cl_begin(c, MTGATE_OPC_HELLO, tag, sizeof(req) + key_len, &w);
	if (rc < 0)
		return rc;
	proto_enc_hello_req(&w, &req);
	proto_wr_bytes(&w, key, key_len);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	if ((rc = cl_wait_answer(c, tag, MTGATE_OPC_HELLO, &r)) < 0)
		return rc;
	proto_dec_hello_resp(&r, &c->hello);
	return cl_done(c, &r);
}

int mtgate_c_connect(const char *addr, const char *key, int timeout_ms,
		     mtgate_conn **out)
{
	char host[CL_HOST_MAX + 1], port[8];
	mtgate_conn *c = NULL;
	int rc;

	if (out == NULL || timeout_ms < 0)
		return MTGATE_EINVAL;
	*out = NULL;
	if ((rc = cl_addr_parse(addr, host, port)) < 0)
		return rc;
	rc = MTGATE_ENOMEM;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	c->fd = -1;
	c->timeout_ms = timeout_ms;
	c->sbuf = malloc(CL_SEND_INIT);
	c->rbuf = malloc(CL_RECV_INIT);
	if (c->sbuf == NULL || c->rbuf == NULL)
		goto fail;
	c->scap = CL_SEND_INIT;
	c->rcap = CL_RECV_INIT;
	rc = cl_tcp_connect(host, port, cl_deadline(timeout_ms), &c->fd);
	if (rc < 0)
		goto fail;
	if (key != NULL && (rc = hello(c, key)) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	mtgate_c_close(c);
	return rc;
}

void mtgate_c_close(mtgate_conn *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->sbuf);
	free(c->rbuf);
	free(c);
}

const char *mtgate_c_last_error(const mtgate_conn *c)
{
	return c == NULL ? "" : c->err;
}

const mtgate_wire_hello_resp *mtgate_c_hello(const mtgate_conn *c)
{
	return c == NULL ? NULL : &c->hello;
}

int mtgate_c_fd(const mtgate_conn *c)
{
	return c == NULL ? -1 : c->fd;
}

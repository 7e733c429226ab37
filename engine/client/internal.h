/*
 * libmtgate internals: the connection object and the frame layer that the
 * blocking calls (calls.c, programs.c) and the pipeline (conn.c) share.
 * Public contract: include/mtgate/client.h.
 *
 * Design
 *   The socket is non-blocking; every wait is a poll() bounded by the
 *   operation's deadline (timeout_ms from its start, or none). Requests are
 *   encoded with the codec straight into the send buffer (cl_begin, then
 *   proto_enc_*, then cl_commit), so a request is never built twice.
 *   Answers are read into the receive buffer and handed out in place.
 *
 * Buffers and bounds
 *   - send buffer: unsent bytes are [soff, slen). It grows by doubling up to
 *     CL_SEND_MAX; a frame that does not fit flushes what is queued first.
 *     The largest frame (header + MTGATE_FRAME_BODY_MAX) always fits.
 *   - receive buffer: unread bytes are [rpos, rlen). The frame last handed
 *     out is `held` bytes at rpos and is dropped at the next read. It grows
 *     up to CL_RECV_MAX, one largest frame, and is compacted only when the
 *     next frame would not fit, so a run of small answers costs no copying.
 *   - the server's error text is kept up to CL_ERR_TEXT_MAX bytes.
 *
 * Errors
 *   MTGATE_EIO, MTGATE_EDISCONNECTED and MTGATE_EPROTO are sticky: the
 *   connection records the first in `broken` and every later call returns
 *   it. A timeout is not: unsent bytes stay queued and unread answers stay
 *   in the socket, so the stream is still whole.
 */
#ifndef MTGATE_CLIENT_INTERNAL_H
#define MTGATE_CLIENT_INTERNAL_H

#include <stdint.h>

#include "mtgate/client.h"
#include "proto/codec.h"

#define CL_SEND_INIT    (64u << 10)
#define CL_SEND_MAX     (2u << 20)
#define CL_RECV_INIT    (64u << 10)
#define CL_RECV_MAX     (MTGATE_PROTO_HEADER_LEN + MTGATE_FRAME_BODY_MAX)
#define CL_ERR_TEXT_MAX 1024
#define CL_HOST_MAX     255

_Static_assert(CL_SEND_MAX >= MTGATE_PROTO_HEADER_LEN + MTGATE_FRAME_BODY_MAX,
	       "the largest frame fits in the send buffer");

struct mtgate_conn {
	int fd;
	int timeout_ms; /* 0: no limit */
	int broken;     /* 0, or the sticky error (see above) */
	uint64_t next_tag;

	uint8_t *sbuf;
	size_t scap, soff, slen;
	size_t frame_start; /* where the frame being encoded starts */

	uint8_t *rbuf;
	size_t rcap, rpos, rlen;
	size_t held; /* bytes of the frame last handed out, at rpos */

	mtgate_wire_hello_resp hello;
	char err[CL_ERR_TEXT_MAX + 1];
};

/* ---- time (net.c) ------------------------------------------------------------ */

/* Monotonic deadline timeout_ms from now; -1 when timeout_ms is 0. */
int64_t cl_deadline(int timeout_ms);
/* Milliseconds left until deadline for poll(): -1 without one, 0 when past. */
int cl_remaining(int64_t deadline);

/* ---- addresses and sockets (net.c) ------------------------------------------------ */

/* Split "HOST:PORT", "[V6]:PORT" or "HOST" (default port) into host and
 * port. NULL is "127.0.0.1:7411". MTGATE_EADDR when malformed. */
int cl_addr_parse(const char *addr, char host[CL_HOST_MAX + 1], char port[8]);
/* A connected non-blocking TCP socket with TCP_NODELAY in *fd_out, or
 * MTGATE_ECONNECT (unknown host, refused, timed out). */
int cl_tcp_connect(const char *host, const char *port, int64_t deadline,
		   int *fd_out);

/* ---- frames (conn.c) ------------------------------------------------------------------ */

/* Mark c unusable with err when err is EIO, EDISCONNECTED or EPROTO.
 * Returns err. */
int cl_fail(mtgate_conn *c, int err);

/* A fresh tag for a blocking call. */
uint64_t cl_tag(mtgate_conn *c);

/* Start a request frame of body_len bytes in the send buffer (flushing
 * what is queued when it does not fit) and point w at its body. */
int cl_begin(mtgate_conn *c, uint8_t opcode, uint64_t tag, size_t body_len,
	     proto_wr *w);
/* Finish the frame cl_begin started: the body must be exactly filled,
 * else it is dropped and MTGATE_EINVAL returned. */
int cl_commit(mtgate_conn *c, const proto_wr *w);

/* Flush, then read answers until the one tagged `tag` (opcode `opcode`)
 * arrives; answers with other tags are dropped. A fatal status from the
 * server is taken as the answer whatever its tag. OK: *r spans its body.
 * An error status: its code (the text is in c->err). */
int cl_wait_answer(mtgate_conn *c, uint64_t tag, uint8_t opcode, proto_rd *r);

/* The body was decoded exactly; else the connection is marked broken and
 * MTGATE_EPROTO returned. The one place that decides how strictly response
 * lengths are checked. */
int cl_done(mtgate_conn *c, const proto_rd *r);

/* *len = the length of a borrowed string (NULL is ""). MTGATE_ETOOBIG when
 * it is longer than max (it is never read past max + 1 bytes). */
int cl_strlen(const char *s, size_t max, size_t *len);

/* ---- answers shared by the calls (calls.c) ------------------------------------------------ */

/* Wait for the change_resp answering tag; its counts into *out (may be
 * NULL). */
int cl_change_answer(mtgate_conn *c, uint64_t tag, uint8_t opcode,
		     mtgate_c_changes *out);

#endif

/*
 * proto codec: the one place that owns the byte order and layout of the
 * wire protocol (docs/protocol.md, include/mtgate/protocol.h). Server,
 * client library, tools and fuzzers all go through it.
 *
 * Readers and writers are bounds-checked cursors over a body. A read or
 * write past the end sets `bad` and reads as zero (writes nothing), so a
 * decoder reads every field it expects and checks once at the end with
 * proto_rd_done() that the body was exactly that long. Nothing here
 * allocates; decoded strings point into the body they came from.
 */
#ifndef MTGATE_PROTO_CODEC_H
#define MTGATE_PROTO_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtgate/engine.h"
#include "mtgate/protocol.h"

typedef struct proto_rd {
	const uint8_t *p, *end;
	bool bad;
} proto_rd;

typedef struct proto_wr {
	uint8_t *p, *end;
	bool bad;
} proto_wr;

static inline void proto_rd_init(proto_rd *r, const void *p, size_t n)
{
	r->p = p;
	r->end = r->p + n;
	r->bad = false;
}

static inline void proto_wr_init(proto_wr *w, void *p, size_t n)
{
	w->p = p;
	w->end = w->p + n;
	w->bad = false;
}

/* The whole body was read, and nothing past it. */
static inline bool proto_rd_done(const proto_rd *r)
{
	return !r->bad && r->p == r->end;
}

static inline size_t proto_rd_left(const proto_rd *r)
{
	return r->bad ? 0 : (size_t)(r->end - r->p);
}

uint8_t proto_rd_u8(proto_rd *r);
uint16_t proto_rd_u16(proto_rd *r);
uint32_t proto_rd_u32(proto_rd *r);
uint64_t proto_rd_u64(proto_rd *r);
/* n raw bytes; NULL (and bad) when fewer are left. */
const uint8_t *proto_rd_bytes(proto_rd *r, size_t n);
/* A u16 length and that many bytes. */
const uint8_t *proto_rd_str(proto_rd *r, uint16_t *len);

void proto_wr_u8(proto_wr *w, uint8_t v);
void proto_wr_u16(proto_wr *w, uint16_t v);
void proto_wr_u32(proto_wr *w, uint32_t v);
void proto_wr_u64(proto_wr *w, uint64_t v);
void proto_wr_bytes(proto_wr *w, const void *p, size_t n);
/* A u16 length and the bytes (bad when n > 65535). */
void proto_wr_str(proto_wr *w, const void *p, size_t n);

/* ---- the header ------------------------------------------------------------ */

void proto_header_enc(uint8_t out[MTGATE_PROTO_HEADER_LEN],
		      const mtgate_wire_header *h);
void proto_header_dec(const uint8_t in[MTGATE_PROTO_HEADER_LEN],
		      mtgate_wire_header *h);

/*
 * Checks a request header as the server reads it: MTGATE_ST_OK, or the
 * status to answer. Fatal ones (magic, version, length) mean the framing is
 * lost. `why` gets a static text naming the problem.
 */
unsigned proto_header_check(const mtgate_wire_header *h, const char **why);

static inline bool proto_status_fatal(unsigned st)
{
	return st == MTGATE_ST_BAD_MAGIC || st == MTGATE_ST_BAD_VERSION ||
	       st == MTGATE_ST_FRAME_TOO_LARGE || st == MTGATE_ST_TRUNCATED ||
	       st == MTGATE_ST_TOO_MANY_CONNECTIONS ||
	       st == MTGATE_ST_SHUTTING_DOWN;
}

/* ---- fixed parts of bodies --------------------------------------------------- */

#define PROTO_CODEC_DECL(name)                                                 \
	void proto_enc_##name(proto_wr *w, const mtgate_wire_##name *v);       \
	void proto_dec_##name(proto_rd *r, mtgate_wire_##name *v);

PROTO_CODEC_DECL(hello_req)
PROTO_CODEC_DECL(hello_resp)
PROTO_CODEC_DECL(gate_req)
PROTO_CODEC_DECL(gate_resp)
PROTO_CODEC_DECL(batch_req)
PROTO_CODEC_DECL(batch_resp)
PROTO_CODEC_DECL(optin_req)
PROTO_CODEC_DECL(optout_req)
PROTO_CODEC_DECL(deact_req)
PROTO_CODEC_DECL(change_resp)
PROTO_CODEC_DECL(query_req)
PROTO_CODEC_DECL(query_resp)
PROTO_CODEC_DECL(consent_rec)
PROTO_CODEC_DECL(program_rec)
PROTO_CODEC_DECL(program_get_req)
PROTO_CODEC_DECL(program_list_req)
PROTO_CODEC_DECL(program_list_resp)
PROTO_CODEC_DECL(tenant_resp)
PROTO_CODEC_DECL(stats_resp)
PROTO_CODEC_DECL(clock_req)
PROTO_CODEC_DECL(clock_resp)
PROTO_CODEC_DECL(mo_req)
PROTO_CODEC_DECL(mo_resp)
PROTO_CODEC_DECL(mo_action)
PROTO_CODEC_DECL(doi_req)
PROTO_CODEC_DECL(renotify_req)
PROTO_CODEC_DECL(reminders_req)
PROTO_CODEC_DECL(reminders_resp)
PROTO_CODEC_DECL(reminder_rec)
PROTO_CODEC_DECL(bill_check_req)
PROTO_CODEC_DECL(bill_check_resp)
PROTO_CODEC_DECL(bill_result_req)
PROTO_CODEC_DECL(shortcode_req)
PROTO_CODEC_DECL(import_req)
PROTO_CODEC_DECL(import_row)
PROTO_CODEC_DECL(bulk_resp)
PROTO_CODEC_DECL(deact_list_req)
PROTO_CODEC_DECL(deact_entry)
PROTO_CODEC_DECL(audit_req)
PROTO_CODEC_DECL(audit_resp)
PROTO_CODEC_DECL(audit_rec)
PROTO_CODEC_DECL(export_req)
PROTO_CODEC_DECL(export_resp)
PROTO_CODEC_DECL(export_rec)
PROTO_CODEC_DECL(summary_req)
PROTO_CODEC_DECL(summary_resp)
PROTO_CODEC_DECL(summary_rec)
PROTO_CODEC_DECL(feed_read_req)
PROTO_CODEC_DECL(feed_resp)
PROTO_CODEC_DECL(feed_ack_req)

/* GATE_BATCH entries: n packed 12-byte entries to and from requests. The
 * caller has checked the length (n * 12 bytes at p). */
void proto_dec_batch_entries(const uint8_t *p, uint32_t n,
			     mtgate_gate_req *out);
void proto_enc_batch_entries(uint8_t *p, const mtgate_gate_req *in, uint32_t n);

/* ---- programs ------------------------------------------------------------------- */

/* A program record with its 9 strings; decoded strings point into the body
 * (not NUL-terminated). Order: short code, keyword, name, time zone,
 * welcome, help, quit, confirm, currency (PROTO_STR_*). */
enum {
	PROTO_STR_SHORT_CODE,
	PROTO_STR_KEYWORD,
	PROTO_STR_NAME,
	PROTO_STR_TZ,
	PROTO_STR_WELCOME,
	PROTO_STR_HELP,
	PROTO_STR_QUIT,
	PROTO_STR_CONFIRM,
	PROTO_STR_CURRENCY,
	PROTO_STR_MAX
};
_Static_assert(PROTO_STR_MAX == MTGATE_PROGRAM_STRINGS, "program strings");

typedef struct proto_program {
	mtgate_wire_program_rec rec;
	const uint8_t *str[MTGATE_PROGRAM_STRINGS];
	uint16_t len[MTGATE_PROGRAM_STRINGS];
} proto_program;

void proto_enc_program(proto_wr *w, const proto_program *p);
void proto_dec_program(proto_rd *r, proto_program *p);

/* Encoded size of p. */
size_t proto_program_size(const proto_program *p);

/* The wire form of d: strings point into d's (NULL is ""). Enum fields are
 * cut to their wire byte; the receiver checks them. */
void proto_program_of_def(const mtgate_program_def *d, proto_program *p);
/* The fields of p's fixed part into d (strings untouched). */
void proto_program_def_fields(const proto_program *p, mtgate_program_def *d);
/* Where each of the wire strings belongs in d, in wire order. */
void proto_program_def_slots(mtgate_program_def *d,
			     const char **slot[MTGATE_PROGRAM_STRINGS]);

/* ---- error bodies ---------------------------------------------------------- */

/* An error body: u16 length and the text (cut to fit). */
void proto_enc_error(proto_wr *w, const char *text);

/* ---- numbers ------------------------------------------------------------------ */

static inline bool proto_number_ok(uint64_t n)
{
	return n >= 1 && n <= MTGATE_NUMBER_MAX;
}

/* The status for an engine error code (MTGATE_ST_ENGINE + k). */
static inline unsigned proto_status_of_engine(int err)
{
	return MTGATE_ST_ENGINE + (unsigned)(err - MTGATE_ERR_FIRST);
}

#endif

/*
 * The wire codec: every byte of docs/protocol.md is laid out here. See
 * codec.h for the contract.
 *
 * Fixed parts are described once, as field lists (X-macros), and the
 * encoder and decoder of each are generated from its list, so the two can
 * never disagree on an offset. Pad fields are written as zeros and skipped
 * on reading.
 */
#include "proto/codec.h"

#include <string.h>

/* ---- primitive cursors --------------------------------------------------------- */

static inline const uint8_t *rd_take(proto_rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	return p;
}

static inline uint8_t *wr_take(proto_wr *w, size_t n)
{
	uint8_t *p = w->p;

	if (w->bad || (size_t)(w->end - w->p) < n) {
		w->bad = true;
		return NULL;
	}
	w->p += n;
	return p;
}

static inline uint64_t le_load(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline void le_store(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#define RD_INT(bits)                                                           \
	uint##bits##_t proto_rd_u##bits(proto_rd *r)                           \
	{                                                                      \
		const uint8_t *p = rd_take(r, bits / 8);                       \
		return p ? (uint##bits##_t)le_load(p, bits / 8) : 0;           \
	}
#define WR_INT(bits)                                                           \
	void proto_wr_u##bits(proto_wr *w, uint##bits##_t v)                   \
	{                                                                      \
		uint8_t *p = wr_take(w, bits / 8);                             \
		if (p != NULL)                                                 \
			le_store(p, v, bits / 8);                              \
	}
RD_INT(8)
RD_INT(16)
RD_INT(32)
RD_INT(64)
WR_INT(8)
WR_INT(16)
WR_INT(32)
WR_INT(64)

const uint8_t *proto_rd_bytes(proto_rd *r, size_t n)
{
	return rd_take(r, n);
}

const uint8_t *proto_rd_str(proto_rd *r, uint16_t *len)
{
	*len = proto_rd_u16(r);
	return rd_take(r, *len);
}

void proto_wr_bytes(proto_wr *w, const void *p, size_t n)
{
	uint8_t *d = wr_take(w, n);

	if (d != NULL && n > 0)
		memcpy(d, p, n);
}

void proto_wr_str(proto_wr *w, const void *p, size_t n)
{
	if (n > UINT16_MAX) {
		w->bad = true;
		return;
	}
	proto_wr_u16(w, (uint16_t)n);
	proto_wr_bytes(w, p, n);
}

/* ---- fixed parts, from field lists ----------------------------------------------- */

/* Field kinds: U8..U64 unsigned, I64 signed, PAD a zero array. */
#define F_ENC_U8(f)  proto_wr_u8(w, v->f);
#define F_ENC_U16(f) proto_wr_u16(w, v->f);
#define F_ENC_U32(f) proto_wr_u32(w, v->f);
#define F_ENC_U64(f) proto_wr_u64(w, v->f);
#define F_ENC_I64(f) proto_wr_u64(w, (uint64_t)v->f);
#define F_ENC_PAD(f)                                                           \
	{                                                                      \
		uint8_t *z = wr_take(w, sizeof(v->f));                         \
		if (z != NULL)                                                 \
			memset(z, 0, sizeof(v->f));                            \
	}
#define F_DEC_U8(f)  v->f = proto_rd_u8(r);
#define F_DEC_U16(f) v->f = proto_rd_u16(r);
#define F_DEC_U32(f) v->f = proto_rd_u32(r);
#define F_DEC_U64(f) v->f = proto_rd_u64(r);
#define F_DEC_I64(f) v->f = (int64_t)proto_rd_u64(r);
#define F_DEC_PAD(f)                                                           \
	rd_take(r, sizeof(v->f));                                              \
	memset(&v->f, 0, sizeof(v->f));

#define X_ENC(kind, f) F_ENC_##kind(f)
#define X_DEC(kind, f) F_DEC_##kind(f)

#define PROTO_CODEC_DEF(name, FIELDS)                                          \
	void proto_enc_##name(proto_wr *w, const mtgate_wire_##name *v)        \
	{                                                                      \
		FIELDS(X_ENC)                                                  \
	}                                                                      \
	void proto_dec_##name(proto_rd *r, mtgate_wire_##name *v)              \
	{                                                                      \
		FIELDS(X_DEC)                                                  \
	}

/* clang-format 14 reflows these field lists differently on every run, so
 * they are kept as written. */
/* clang-format off */
#define HELLO_REQ(X) X(U16, version) X(U16, key_len)
#define HELLO_RESP(X)                                                          \
	X(U32, credential)                                                     \
	X(U8, role)                                                            \
	X(U8, test_clock) X(U16, threads) X(U32, frame_body_max)               \
		X(U32, batch_max)
#define GATE_REQ(X)   X(U64, number) X(U32, program) X(U8, mode) X(PAD, pad)
#define GATE_RESP(X)  X(U8, reason) X(PAD, pad)
#define BATCH_REQ(X)  X(U32, count) X(U8, mode) X(PAD, pad)
#define BATCH_RESP(X) X(U32, count) X(U32, pad)
#define OPTIN_REQ(X)                                                           \
	X(U64, number)                                                         \
	X(U32, program)                                                        \
	X(U8, channel) X(U8, pad) X(U16, source_len) X(I64, at_ms)
#define OPTOUT_REQ(X)                                                          \
	X(U64, number)                                                         \
	X(U32, program) X(U8, channel) X(U8, sc_len) X(U16, source_len)
#define DEACT_REQ(X)                                                           \
	X(U64, number)                                                         \
	X(U8, reason) X(U8, pad) X(U16, source_len) X(U32, pad2) X(I64, at_ms)
#define CHANGE_RESP(X) X(U32, changed) X(U32, unchanged)
#define QUERY_REQ(X)   X(U64, number)
#define QUERY_RESP(X)                                                          \
	X(U8, deact_reason) X(PAD, pad) X(U32, count) X(I64, deact_at_ms)
#define CONSENT_REC(X)                                                         \
	X(U32, program)                                                        \
	X(U8, state)                                                           \
	X(U8, channel) X(U8, voided_by) X(U8, pad) X(I64, changed_at_ms)       \
		X(U32, used) X(U32, limit) X(U16, source_len) X(U16, pad2)     \
			X(U32, pad3)
#define PROGRAM_REC(X)                                                         \
	X(U32, id)                                                             \
	X(U32, tenant)                                                         \
	X(U8, kind) X(U8, period) X(U8, double_opt_in) X(U8, pad)              \
		X(U32, limit) X(U32, price_cents) X(U8, interval)              \
			X(U8, allow_pos) X(U16, pad2)
#define PROGRAM_GET_REQ(X)   X(U32, id) X(U8, sc_len) X(U8, kw_len) X(U16, pad)
#define PROGRAM_LIST_REQ(X)  X(U32, after_id) X(U32, max)
#define PROGRAM_LIST_RESP(X) X(U32, count) X(U32, more)
#define TENANT_RESP(X)       X(U32, tenant) X(U16, key_len) X(U16, pad)
#define STATS_RESP(X)        X(U32, count) X(U32, pad)
#define CLOCK_REQ(X)         X(U8, op) X(PAD, pad) X(I64, value_ms)
#define CLOCK_RESP(X)        X(I64, now_ms)
#define MO_REQ(X)                                                              \
	X(U64, number) X(U8, sc_len) X(U8, pad) X(U16, text_len) X(U32, pad2)
#define MO_RESP(X)   X(U16, n_replies) X(U16, n_actions) X(U32, pad)
#define MO_ACTION(X) X(U8, kind) X(PAD, pad) X(U32, program)
#define DOI_REQ(X)                                                             \
	X(U64, number)                                                         \
	X(U32, program) X(U8, channel) X(U8, pad) X(U16, source_len)
#define RENOTIFY_REQ(X)   X(U64, number) X(U32, program) X(U32, pad)
#define REMINDERS_REQ(X)  X(I64, at_ms) X(U32, max) X(U32, pad)
#define REMINDERS_RESP(X) X(U32, count) X(U32, more)
#define REMINDER_REC(X)                                                        \
	X(U64, number)                                                         \
	X(U32, program) X(U32, pad) X(I64, since_ms) X(I64, due_ms)
#define BILL_CHECK_REQ(X)  X(U64, number) X(U32, program) X(U32, amount_cents)
#define BILL_CHECK_RESP(X) X(U8, reason) X(PAD, pad)
#define BILL_RESULT_REQ(X) X(U64, number) X(U32, program) X(U8, ok) X(PAD, pad)
#define SHORTCODE_REQ(X)   X(U8, sc_len) X(U8, pad) X(U16, help_len)
#define IMPORT_REQ(X)      X(U32, count) X(U32, pad)
#define IMPORT_ROW(X)                                                          \
	X(U64, number)                                                         \
	X(U32, program)                                                        \
	X(U8, channel) X(U8, pad) X(U16, source_len) X(I64, at_ms)
#define BULK_RESP(X)                                                           \
	X(U32, count) X(U32, changed) X(U32, unchanged) X(U32, rejected)
#define DEACT_LIST_REQ(X)                                                      \
	X(U32, count) X(U8, reason) X(U8, pad) X(U16, source_len)
#define DEACT_ENTRY(X) X(U64, number) X(I64, at_ms)
#define AUDIT_REQ(X)   X(U64, number) X(U32, skip) X(U32, max)
#define AUDIT_RESP(X)  X(U32, count) X(U32, more)
#define AUDIT_REC(X)                                                           \
	X(U64, seq)                                                            \
	X(I64, at_ms)                                                          \
	X(U64, number) X(I64, changed_at_ms) X(U32, program) X(U32, actor)     \
		X(U8, old_state) X(U8, new_state) X(U8, channel)               \
			X(U8, voided_by) X(U8, cause) X(U8, pad)               \
				X(U16, source_len)
#define EXPORT_REQ(X)  X(U32, program) X(U32, max) X(U64, after_number)
#define EXPORT_RESP(X) X(U32, count) X(U32, more) X(U64, next_after)
#define EXPORT_REC(X)                                                          \
	X(U64, number)                                                         \
	X(I64, changed_at_ms)                                                  \
	X(U8, channel) X(U8, pad) X(U16, source_len) X(U32, pad2)
#define SUMMARY_REQ(X)  X(I64, day_ms)
#define SUMMARY_RESP(X) X(U32, count) X(U32, pad) X(I64, day_start_ms)
#define SUMMARY_REC(X)                                                         \
	X(U32, program)                                                        \
	X(U32, opted_in)                                                       \
	X(U32, opted_out) X(U32, pending) X(U32, voided) X(U32, day_optins)    \
		X(U32, day_optouts) X(U32, day_other)
#define FEED_READ_REQ(X) X(U64, from) X(U32, max) X(U32, pad)
#define FEED_RESP(X)     X(U32, count) X(U32, pad) X(U64, next)
#define FEED_ACK_REQ(X)  X(U64, position)
/* clang-format on */

PROTO_CODEC_DEF(hello_req, HELLO_REQ)
PROTO_CODEC_DEF(hello_resp, HELLO_RESP)
PROTO_CODEC_DEF(gate_req, GATE_REQ)
PROTO_CODEC_DEF(gate_resp, GATE_RESP)
PROTO_CODEC_DEF(batch_req, BATCH_REQ)
PROTO_CODEC_DEF(batch_resp, BATCH_RESP)
PROTO_CODEC_DEF(optin_req, OPTIN_REQ)
PROTO_CODEC_DEF(optout_req, OPTOUT_REQ)
PROTO_CODEC_DEF(deact_req, DEACT_REQ)
PROTO_CODEC_DEF(change_resp, CHANGE_RESP)
PROTO_CODEC_DEF(query_req, QUERY_REQ)
PROTO_CODEC_DEF(query_resp, QUERY_RESP)
PROTO_CODEC_DEF(consent_rec, CONSENT_REC)
PROTO_CODEC_DEF(program_rec, PROGRAM_REC)
PROTO_CODEC_DEF(program_get_req, PROGRAM_GET_REQ)
PROTO_CODEC_DEF(program_list_req, PROGRAM_LIST_REQ)
PROTO_CODEC_DEF(program_list_resp, PROGRAM_LIST_RESP)
PROTO_CODEC_DEF(tenant_resp, TENANT_RESP)
PROTO_CODEC_DEF(stats_resp, STATS_RESP)
PROTO_CODEC_DEF(clock_req, CLOCK_REQ)
PROTO_CODEC_DEF(clock_resp, CLOCK_RESP)
PROTO_CODEC_DEF(mo_req, MO_REQ)
PROTO_CODEC_DEF(mo_resp, MO_RESP)
PROTO_CODEC_DEF(mo_action, MO_ACTION)
PROTO_CODEC_DEF(doi_req, DOI_REQ)
PROTO_CODEC_DEF(renotify_req, RENOTIFY_REQ)
PROTO_CODEC_DEF(reminders_req, REMINDERS_REQ)
PROTO_CODEC_DEF(reminders_resp, REMINDERS_RESP)
PROTO_CODEC_DEF(reminder_rec, REMINDER_REC)
PROTO_CODEC_DEF(bill_check_req, BILL_CHECK_REQ)
PROTO_CODEC_DEF(bill_check_resp, BILL_CHECK_RESP)
PROTO_CODEC_DEF(bill_result_req, BILL_RESULT_REQ)
PROTO_CODEC_DEF(shortcode_req, SHORTCODE_REQ)
PROTO_CODEC_DEF(import_req, IMPORT_REQ)
PROTO_CODEC_DEF(import_row, IMPORT_ROW)
PROTO_CODEC_DEF(bulk_resp, BULK_RESP)
PROTO_CODEC_DEF(deact_list_req, DEACT_LIST_REQ)
PROTO_CODEC_DEF(deact_entry, DEACT_ENTRY)
PROTO_CODEC_DEF(audit_req, AUDIT_REQ)
PROTO_CODEC_DEF(audit_resp, AUDIT_RESP)
PROTO_CODEC_DEF(audit_rec, AUDIT_REC)
PROTO_CODEC_DEF(export_req, EXPORT_REQ)
PROTO_CODEC_DEF(export_resp, EXPORT_RESP)
PROTO_CODEC_DEF(export_rec, EXPORT_REC)
PROTO_CODEC_DEF(summary_req, SUMMARY_REQ)
PROTO_CODEC_DEF(summary_resp, SUMMARY_RESP)
PROTO_CODEC_DEF(summary_rec, SUMMARY_REC)
PROTO_CODEC_DEF(feed_read_req, FEED_READ_REQ)
PROTO_CODEC_DEF(feed_resp, FEED_RESP)
PROTO_CODEC_DEF(feed_ack_req, FEED_ACK_REQ)

/* ---- the header ----------------------------------------------------------------- */

/* clang-format off */
#define HEADER(X)                                                              \
	X(U16, magic)                                                          \
	X(U8, version)                                                         \
	X(U8, opcode)                                                          \
	X(U16, flags) X(U16, status) X(U64, tag) X(U32, body_len)              \
		X(U32, reserved)
/* clang-format on */

void proto_header_enc(uint8_t out[MTGATE_PROTO_HEADER_LEN],
		      const mtgate_wire_header *v)
{
	proto_wr ww, *w = &ww;

	proto_wr_init(w, out, MTGATE_PROTO_HEADER_LEN);
	HEADER(X_ENC)
}

void proto_header_dec(const uint8_t in[MTGATE_PROTO_HEADER_LEN],
		      mtgate_wire_header *v)
{
	proto_rd rr, *r = &rr;

	proto_rd_init(r, in, MTGATE_PROTO_HEADER_LEN);
	HEADER(X_DEC)
}

unsigned proto_header_check(const mtgate_wire_header *h, const char **why)
{
	if (h->magic != MTGATE_PROTO_MAGIC) {
		*why = "bad magic: a frame starts with the bytes 4d 47";
		return MTGATE_ST_BAD_MAGIC;
	}
	if (h->version != MTGATE_PROTO_VERSION) {
		*why = "unsupported protocol version (this server speaks 1)";
		return MTGATE_ST_BAD_VERSION;
	}
	if (h->body_len > MTGATE_FRAME_BODY_MAX) {
		*why = "frame body over 1048576 bytes";
		return MTGATE_ST_FRAME_TOO_LARGE;
	}
	if (h->flags != 0 || h->status != 0 || h->reserved != 0) {
		*why = "a request has flags, status and reserved set to 0";
		return MTGATE_ST_BAD_HEADER;
	}
	*why = NULL;
	return MTGATE_ST_OK;
}

/* ---- batch entries ---------------------------------------------------------------- */

void proto_dec_batch_entries(const uint8_t *p, uint32_t n, mtgate_gate_req *out)
{
	for (uint32_t i = 0; i < n; i++, p += sizeof(mtgate_wire_batch_entry)) {
		out[i].number = le_load(p, 8);
		out[i].program = (uint32_t)le_load(p + 8, 4);
	}
}

void proto_enc_batch_entries(uint8_t *p, const mtgate_gate_req *in, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++, p += sizeof(mtgate_wire_batch_entry)) {
		le_store(p, in[i].number, 8);
		le_store(p + 8, in[i].program, 4);
	}
}

/* ---- programs ----------------------------------------------------------------------- */

void proto_enc_program(proto_wr *w, const proto_program *p)
{
	proto_enc_program_rec(w, &p->rec);
	for (int i = 0; i < MTGATE_PROGRAM_STRINGS; i++)
		proto_wr_str(w, p->str[i], p->len[i]);
}

void proto_dec_program(proto_rd *r, proto_program *p)
{
	proto_dec_program_rec(r, &p->rec);
	for (int i = 0; i < MTGATE_PROGRAM_STRINGS; i++)
		p->str[i] = proto_rd_str(r, &p->len[i]);
}

size_t proto_program_size(const proto_program *p)
{
	size_t n = sizeof(mtgate_wire_program_rec);

	for (int i = 0; i < MTGATE_PROGRAM_STRINGS; i++)
		n += 2 + p->len[i];
	return n;
}

void proto_program_def_slots(mtgate_program_def *d,
			     const char **slot[MTGATE_PROGRAM_STRINGS])
{
	slot[PROTO_STR_SHORT_CODE] = &d->short_code;
	slot[PROTO_STR_KEYWORD] = &d->keyword;
	slot[PROTO_STR_NAME] = &d->name;
	slot[PROTO_STR_TZ] = &d->tz;
	slot[PROTO_STR_WELCOME] = &d->welcome_text;
	slot[PROTO_STR_HELP] = &d->help_text;
	slot[PROTO_STR_QUIT] = &d->quit_text;
	slot[PROTO_STR_CONFIRM] = &d->confirm_text;
	slot[PROTO_STR_CURRENCY] = &d->currency;
}

void proto_program_of_def(const mtgate_program_def *d, proto_program *p)
{
	mtgate_program_def copy = *d;
	const char **slot[MTGATE_PROGRAM_STRINGS];

	memset(p, 0, sizeof(*p));
	p->rec = (mtgate_wire_program_rec){
		.id = d->id,
		.tenant = d->tenant,
		.kind = (uint8_t)d->kind,
		.period = (uint8_t)d->period,
		.double_opt_in = d->double_opt_in,
		.limit = d->limit,
		.price_cents = d->price_cents,
		.interval = (uint8_t)d->interval,
		.allow_pos = d->allow_pos,
	};
	proto_program_def_slots(&copy, slot);
	for (int i = 0; i < MTGATE_PROGRAM_STRINGS; i++) {
		const char *s = *slot[i] ? *slot[i] : "";
		size_t n = strlen(s);
		p->str[i] = (const uint8_t *)s;
		p->len[i] = (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n);
	}
}

void proto_program_def_fields(const proto_program *p, mtgate_program_def *d)
{
	d->id = p->rec.id;
	d->tenant = p->rec.tenant;
	d->kind = (mtgate_kind)p->rec.kind;
	d->period = (mtgate_period)p->rec.period;
	d->double_opt_in = p->rec.double_opt_in != 0;
	d->limit = p->rec.limit;
	d->price_cents = p->rec.price_cents;
	d->interval = (mtgate_interval)p->rec.interval;
	d->allow_pos = p->rec.allow_pos != 0;
}

/* ---- errors ------------------------------------------------------------------------ */

void proto_enc_error(proto_wr *w, const char *text)
{
	size_t n = strlen(text), room = w->bad ? 0 : (size_t)(w->end - w->p);

	if (room < 2)
		n = 0;
	else if (n > room - 2)
		n = room - 2;
	proto_wr_str(w, text, n);
}

static const char *const status_names[MTGATE_ST_PROTO_MAX] = {
	[MTGATE_ST_OK] = "OK",
	[MTGATE_ST_BAD_MAGIC] = "BAD_MAGIC",
	[MTGATE_ST_BAD_VERSION] = "BAD_VERSION",
	[MTGATE_ST_FRAME_TOO_LARGE] = "FRAME_TOO_LARGE",
	[MTGATE_ST_TRUNCATED] = "TRUNCATED",
	[MTGATE_ST_BAD_HEADER] = "BAD_HEADER",
	[MTGATE_ST_BAD_OPCODE] = "BAD_OPCODE",
	[MTGATE_ST_BAD_BODY] = "BAD_BODY",
	[MTGATE_ST_BATCH_TOO_LARGE] = "BATCH_TOO_LARGE",
	[MTGATE_ST_BAD_NUMBER] = "BAD_NUMBER",
	[MTGATE_ST_NOT_AUTHENTICATED] = "NOT_AUTHENTICATED",
	[MTGATE_ST_AUTH_FAILED] = "AUTH_FAILED",
	[MTGATE_ST_FORBIDDEN] = "FORBIDDEN",
	[MTGATE_ST_CLOCK_DISABLED] = "CLOCK_DISABLED",
	[MTGATE_ST_TOO_MANY_CONNECTIONS] = "TOO_MANY_CONNECTIONS",
	[MTGATE_ST_SHUTTING_DOWN] = "SHUTTING_DOWN",
	[MTGATE_ST_INTERNAL] = "INTERNAL",
};

const char *mtgate_status_name(unsigned status)
{
	if (status < MTGATE_ST_PROTO_MAX)
		return status_names[status];
	if (status >= MTGATE_ST_ENGINE &&
	    status < MTGATE_ST_ENGINE + (MTGATE_ERR_LAST - MTGATE_ERR_FIRST))
		return "ENGINE_ERROR";
	return "UNKNOWN";
}

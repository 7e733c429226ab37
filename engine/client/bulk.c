/*
 * libmtgate: the bulk paths and the audit trail (docs/protocol.md, 0x90 ..
 * 0x96): IMPORT and DEACT_LIST (blocking and pipelined), AUDIT, EXPORT,
 * SUMMARY, FEED_READ and FEED_ACK.
 *
 * As in calls.c: encode with the codec into the send buffer, wait for the
 * answer by tag, decode with the codec, cl_done deciding how strictly the
 * length is taken. Every value of an answer that the caller gets as an
 * enum or a bound is checked: row statuses inside the status table, bulk
 * counts that add up, audit states, causes, channels and deactivation
 * reasons in range, sources of at most MTGATE_SOURCE_MAX bytes without a
 * NUL, no more records than asked for, numbers and feed positions
 * ascending (so a client that follows next_after or next always ends).
 * Anything else is MTGATE_EPROTO and breaks the connection. Nothing here
 * allocates: records go into the caller's arrays.
 */
#include <string.h>

#include "client/internal.h"

/* ---- IMPORT and DEACT_LIST ------------------------------------------------------ */

/* The body of an IMPORT of rows: its length, or 0 when a row is beyond
 * what the wire holds (*err says why). */
static size_t import_len(const mtgate_c_import_row *rows, uint32_t n, int *err)
{
	size_t len = sizeof(mtgate_wire_import_req);

	for (uint32_t i = 0; i < n; i++) {
		const mtgate_c_import_row *r = &rows[i];

		if ((unsigned)r->channel > UINT8_MAX ||
		    (r->source == NULL && r->source_len > 0)) {
			*err = MTGATE_EINVAL;
			return 0;
		}
		if (r->source_len > UINT16_MAX) {
			*err = MTGATE_ETOOBIG;
			return 0;
		}
		len += sizeof(mtgate_wire_import_row) + r->source_len;
	}
	return len;
}

int mtgate_c_send_import(mtgate_conn *c, uint64_t tag,
			 const mtgate_c_import_row *rows, uint32_t n)
{
	mtgate_wire_import_req req = {.count = n};
	size_t len;
	proto_wr w;
	int rc = 0;

	if (c == NULL || rows == NULL || n == 0)
		return MTGATE_EINVAL;
	if (n > MTGATE_PROTO_BULK_MAX)
		return MTGATE_ETOOBIG;
	if ((len = import_len(rows, n, &rc)) == 0)
		return rc;
	if ((rc = cl_begin(c, MTGATE_OPC_IMPORT, tag, len, &w)) < 0)
		return rc;
	proto_enc_import_req(&w, &req);
	for (uint32_t i = 0; i < n; i++) {
		mtgate_wire_import_row row = {
			.number = rows[i].number,
			.program = rows[i].program,
			.channel = (uint8_t)rows[i].channel,
			.source_len = (uint16_t)rows[i].source_len,
			.at_ms = rows[i].at_ms,
		};
		proto_enc_import_row(&w, &row);
	}
	for (uint32_t i = 0; i < n; i++)
		proto_wr_bytes(&w, rows[i].source, rows[i].source_len);
	return cl_commit(c, &w);
}

int mtgate_c_send_deact_list(mtgate_conn *c, uint64_t tag,
			     mtgate_deact_reason reason, const char *source,
			     size_t source_len,
			     const mtgate_wire_deact_entry *e, uint32_t n)
{
	mtgate_wire_deact_list_req req = {.count = n,
					  .reason = (uint8_t)reason};
	proto_wr w;
	int rc;

	if (c == NULL || e == NULL || n == 0 || (unsigned)reason > UINT8_MAX ||
	    (source == NULL && source_len > 0))
		return MTGATE_EINVAL;
	if (n > MTGATE_PROTO_BULK_MAX || source_len > UINT16_MAX)
		return MTGATE_ETOOBIG;
	req.source_len = (uint16_t)source_len;
	rc = cl_begin(c, MTGATE_OPC_DEACT_LIST, tag,
		      sizeof(req) + source_len + (size_t)n * sizeof(*e), &w);
	if (rc < 0)
		return rc;
	proto_enc_deact_list_req(&w, &req);
	proto_wr_bytes(&w, source, source_len);
	for (uint32_t i = 0; i < n; i++)
		proto_enc_deact_entry(&w, &e[i]);
	return cl_commit(c, &w);
}

/* A bulk_resp and its statuses from r: 0, MTGATE_EINVAL (more than cap,
 * out->count set) or MTGATE_EPROTO. */
static int bulk_dec(proto_rd *r, uint8_t opcode, mtgate_wire_bulk_resp *out,
		    uint16_t *status, uint32_t cap)
{
	mtgate_wire_bulk_resp resp;
	uint32_t bad = 0;

	proto_dec_bulk_resp(r, &resp);
	*out = resp;
	if (r->bad || resp.count == 0 || resp.count > MTGATE_PROTO_BULK_MAX ||
	    proto_rd_left(r) < (size_t)resp.count * 2)
		return MTGATE_EPROTO;
	if (resp.count > cap)
		return MTGATE_EINVAL;
	for (uint32_t i = 0; i < resp.count; i++) {
		uint16_t st = proto_rd_u16(r);
		if (st != MTGATE_ST_OK &&
		    mtgate_c_status_error(st) == MTGATE_EPROTO)
			return MTGATE_EPROTO;
		bad += st != MTGATE_ST_OK;
		if (status != NULL)
			status[i] = st;
	}
	/* IMPORT: every row is changed, unchanged or rejected. DEACT_LIST:
	 * only accepted numbers match; voided consents are not rows. */
	if (resp.rejected != bad ||
	    (opcode == MTGATE_OPC_IMPORT &&
	     (uint64_t)resp.changed + resp.unchanged != resp.count - bad) ||
	    (opcode == MTGATE_OPC_DEACT_LIST &&
	     resp.changed > resp.count - bad))
		return MTGATE_EPROTO;
	return 0;
}

int mtgate_c_decode_bulk(const mtgate_wire_header *hdr, const uint8_t *body,
			 mtgate_wire_bulk_resp *out, uint16_t *status,
			 uint32_t cap)
{
	proto_rd r;

	if (hdr == NULL || out == NULL || (body == NULL && hdr->body_len) ||
	    (status == NULL && cap > 0))
		return MTGATE_EINVAL;
	if (hdr->opcode != MTGATE_OPC_IMPORT &&
	    hdr->opcode != MTGATE_OPC_DEACT_LIST)
		return MTGATE_EINVAL;
	if (hdr->status != MTGATE_ST_OK)
		return mtgate_c_status_error(hdr->status);
	proto_rd_init(&r, body, hdr->body_len);
	return bulk_dec(&r, hdr->opcode, out, status, cap);
}

/* Wait for the bulk answer to tag, which must hold n statuses. */
static int bulk_answer(mtgate_conn *c, uint64_t tag, uint8_t opcode, uint32_t n,
		       uint16_t *status, mtgate_wire_bulk_resp *out)
{
	mtgate_wire_bulk_resp resp;
	proto_rd r;
	int rc;

	if ((rc = cl_wait_answer(c, tag, opcode, &r)) < 0)
		return rc;
	rc = bulk_dec(&r, opcode, &resp, status, n);
	if (rc < 0 || resp.count != n)
		return cl_fail(c, MTGATE_EPROTO);
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	if (out != NULL)
		*out = resp;
	return 0;
}

int mtgate_c_import(mtgate_conn *c, const mtgate_c_import_row *rows, uint32_t n,
		    uint16_t *status, mtgate_wire_bulk_resp *out)
{
	uint64_t tag;
	int rc;

	if (c == NULL)
		return MTGATE_EINVAL;
	tag = cl_tag(c);
	if ((rc = mtgate_c_send_import(c, tag, rows, n)) < 0)
		return rc;
	return bulk_answer(c, tag, MTGATE_OPC_IMPORT, n, status, out);
}

int mtgate_c_deact_list(mtgate_conn *c, mtgate_deact_reason reason,
			const char *source, size_t source_len,
			const mtgate_wire_deact_entry *e, uint32_t n,
			uint16_t *status, mtgate_wire_bulk_resp *out)
{
	uint64_t tag;
	int rc;

	if (c == NULL)
		return MTGATE_EINVAL;
	tag = cl_tag(c);
	rc = mtgate_c_send_deact_list(c, tag, reason, source, source_len, e, n);
	if (rc < 0)
		return rc;
	return bulk_answer(c, tag, MTGATE_OPC_DEACT_LIST, n, status, out);
}

/* ---- records -------------------------------------------------------------------- */

/* The count a request asks for: max (0: any) bounded by cap. */
static uint32_t ask_max(uint32_t max, size_t cap)
{
	if (max == 0 || max > cap)
		return cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
	return max;
}

/* len bytes of source from r into dst (MTGATE_SOURCE_MAX + 1 bytes),
 * NUL-terminated; MTGATE_EPROTO when missing, too long or holding a NUL. */
static int source_dec(proto_rd *r, uint16_t len, char *dst)
{
	const uint8_t *src = proto_rd_bytes(r, len);

	if (src == NULL || len > MTGATE_SOURCE_MAX || memchr(src, 0, len))
		return MTGATE_EPROTO;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

/* One audit record and its source into *out (AUDIT and FEED_READ). */
static int audit_rec_dec(proto_rd *r, mtgate_audit_rec *out)
{
	mtgate_wire_audit_rec w;

	proto_dec_audit_rec(r, &w);
	if (r->bad || !proto_number_ok(w.number) ||
	    w.old_state >= MTGATE_AUDIT_STATE_MAX ||
	    w.new_state >= MTGATE_AUDIT_STATE_MAX ||
	    w.channel >= MTGATE_CHANNEL_MAX ||
	    w.voided_by >= MTGATE_DEACT_MAX || w.cause >= MTGATE_CAUSE_MAX)
		return MTGATE_EPROTO;
	*out = (mtgate_audit_rec){
		.seq = w.seq,
		.at_ms = w.at_ms,
		.number = w.number,
		.program = w.program,
		.tenant = 0, /* not on the wire */
		.old_state = w.old_state,
		.new_state = w.new_state,
		.channel = w.channel,
		.voided_by = w.voided_by,
		.cause = w.cause,
		.changed_at_ms = w.changed_at_ms,
		.actor = w.actor,
	};
	return source_dec(r, w.source_len, out->source);
}

/* Finish a request frame begun with cl_begin(tag) and wait for its
 * answer. */
static int commit_wait(mtgate_conn *c, const proto_wr *w, uint64_t tag,
		       uint8_t opcode, proto_rd *r)
{
	int rc = cl_commit(c, w);

	return rc < 0 ? rc : cl_wait_answer(c, tag, opcode, r);
}

/* A request that is one fixed part: req encoded with enc straight into
 * the send buffer, sent, and its answer awaited into *r. Sets rc. */
#define CALL_FIXED(rc, c, opcode, enc, req, r)                                 \
	do {                                                                   \
		uint64_t tag_ = cl_tag(c);                                     \
		proto_wr w_;                                                   \
		(rc) = cl_begin((c), (opcode), tag_, sizeof(req), &w_);        \
		if ((rc) == 0) {                                               \
			enc(&w_, &(req));                                      \
			(rc) = commit_wait((c), &w_, tag_, (opcode), (r));     \
		}                                                              \
	} while (0)

int mtgate_c_audit(mtgate_conn *c, uint64_t number, uint32_t skip, uint32_t max,
		   mtgate_audit_rec *out, size_t cap, size_t *n_out, bool *more)
{
	mtgate_wire_audit_req req = {.number = number, .skip = skip};
	mtgate_wire_audit_resp resp;
	proto_rd r;
	int rc;

	if (c == NULL || out == NULL || cap == 0 || n_out == NULL ||
	    more == NULL)
		return MTGATE_EINVAL;
	req.max = ask_max(max, cap);
	CALL_FIXED(rc, c, MTGATE_OPC_AUDIT, proto_enc_audit_req, req, &r);
	if (rc < 0)
		return rc;
	proto_dec_audit_resp(&r, &resp);
	if (r.bad || resp.count > req.max || resp.more > 1)
		return cl_fail(c, MTGATE_EPROTO);
	for (uint32_t i = 0; i < resp.count; i++)
		if (audit_rec_dec(&r, &out[i]) < 0 || out[i].number != number)
			return cl_fail(c, MTGATE_EPROTO);
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	*n_out = resp.count;
	*more = resp.more != 0;
	return 0;
}

int mtgate_c_feed_read(mtgate_conn *c, uint64_t from, uint32_t max,
		       mtgate_audit_rec *out, size_t cap, size_t *n_out,
		       uint64_t *next)
{
	mtgate_wire_feed_read_req req = {.from = from};
	mtgate_wire_feed_resp resp;
	uint64_t last = 0;
	proto_rd r;
	int rc;

	if (c == NULL || out == NULL || cap == 0 || n_out == NULL ||
	    next == NULL)
		return MTGATE_EINVAL;
	req.max = ask_max(max, cap);
	CALL_FIXED(rc, c, MTGATE_OPC_FEED_READ, proto_enc_feed_read_req, req,
		   &r);
	if (rc < 0)
		return rc;
	proto_dec_feed_resp(&r, &resp);
	if (r.bad || resp.count > req.max)
		return cl_fail(c, MTGATE_EPROTO);
	/* Positions ascend from `from`, and next lies past the last one. */
	for (uint32_t i = 0; i < resp.count; i++) {
		if (audit_rec_dec(&r, &out[i]) < 0 || out[i].seq == 0 ||
		    (i > 0 && out[i].seq <= last) ||
		    (from != 0 && out[i].seq < from))
			return cl_fail(c, MTGATE_EPROTO);
		last = out[i].seq;
	}
	if (resp.count > 0 && resp.next <= last)
		return cl_fail(c, MTGATE_EPROTO);
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	*n_out = resp.count;
	*next = resp.next;
	return 0;
}

int mtgate_c_feed_ack(mtgate_conn *c, uint64_t position)
{
	mtgate_wire_feed_ack_req req = {.position = position};
	proto_rd r;
	int rc;

	if (c == NULL)
		return MTGATE_EINVAL;
	CALL_FIXED(rc, c, MTGATE_OPC_FEED_ACK, proto_enc_feed_ack_req, req, &r);
	if (rc < 0)
		return rc;
	return cl_done(c, &r);
}

/* One export record into *out: numbers ascend past *after. */
static int export_rec_dec(proto_rd *r, uint64_t *after, mtgate_export_rec *out)
{
	mtgate_wire_export_rec w;

	proto_dec_export_rec(r, &w);
	if (r->bad || !proto_number_ok(w.number) || w.number <= *after ||
	    w.channel >= MTGATE_CHANNEL_MAX)
		return MTGATE_EPROTO;
	*after = w.number;
	out->number = w.number;
	out->changed_at_ms = w.changed_at_ms;
	out->channel = w.channel;
	return source_dec(r, w.source_len, out->source);
}

int mtgate_c_export(mtgate_conn *c, uint32_t program, uint64_t after_number,
		    uint32_t max, mtgate_export_rec *out, size_t cap,
		    size_t *n_out, bool *more, uint64_t *next_after)
{
	mtgate_wire_export_req req = {.program = program,
				      .after_number = after_number};
	mtgate_wire_export_resp resp;
	uint64_t last = after_number;
	proto_rd r;
	int rc;

	if (c == NULL || out == NULL || cap == 0 || n_out == NULL ||
	    more == NULL || next_after == NULL)
		return MTGATE_EINVAL;
	req.max = ask_max(max, cap);
	CALL_FIXED(rc, c, MTGATE_OPC_EXPORT, proto_enc_export_req, req, &r);
	if (rc < 0)
		return rc;
	proto_dec_export_resp(&r, &resp);
	if (r.bad || resp.count > req.max || resp.more > 1)
		return cl_fail(c, MTGATE_EPROTO);
	for (uint32_t i = 0; i < resp.count; i++)
		if (export_rec_dec(&r, &last, &out[i]) < 0)
			return cl_fail(c, MTGATE_EPROTO);
	/* Asking again with next_after must move on. */
	if (resp.more &&
	    (resp.next_after < last || resp.next_after <= after_number))
		return cl_fail(c, MTGATE_EPROTO);
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	*n_out = resp.count;
	*more = resp.more != 0;
	*next_after = resp.next_after;
	return 0;
}

/* ---- SUMMARY ---------------------------------------------------------------------- */

#define DAY_MS (24 * 60 * 60 * 1000LL)

int mtgate_c_summary(mtgate_conn *c, int64_t day_ms, mtgate_summary_rec *out,
		     size_t cap, size_t *n_out, int64_t *day_start)
{
	mtgate_wire_summary_req req = {.day_ms = day_ms};
	mtgate_wire_summary_resp resp;
	uint32_t prev = 0;
	proto_rd r;
	int rc;

	if (c == NULL || n_out == NULL || (out == NULL && cap > 0))
		return MTGATE_EINVAL;
	CALL_FIXED(rc, c, MTGATE_OPC_SUMMARY, proto_enc_summary_req, req, &r);
	if (rc < 0)
		return rc;
	proto_dec_summary_resp(&r, &resp);
	if (r.bad || resp.day_start_ms % DAY_MS != 0 ||
	    proto_rd_left(&r) / sizeof(mtgate_wire_summary_rec) < resp.count)
		return cl_fail(c, MTGATE_EPROTO);
	for (uint32_t i = 0; i < resp.count; i++) {
		mtgate_wire_summary_rec rec;
		proto_dec_summary_rec(&r, &rec);
		if (rec.program <= prev) /* ids ascending, never 0 */
			return cl_fail(c, MTGATE_EPROTO);
		prev = rec.program;
		if (i < cap)
			out[i] = (mtgate_summary_rec){
				rec.program,     rec.opted_in, rec.opted_out,
				rec.pending,     rec.voided,   rec.day_optins,
				rec.day_optouts, rec.day_other};
	}
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	*n_out = resp.count;
	if (day_start != NULL)
		*day_start = resp.day_start_ms;
	return 0;
}

/*
 * libmtgate requests: the gate (blocking and pipelined), consent changes,
 * QUERY, TENANT_ADD, STATS, CLOCK and PING. Programs are in programs.c,
 * the consent rules' requests (MO, double opt-in, billing) in rules.c.
 *
 * Each blocking call encodes its request into the send buffer with the
 * codec (cl_begin .. cl_commit), waits for the answer with its tag
 * (cl_wait_answer) and decodes the body with the codec, checking that it
 * held every field its layout names (cl_done; bytes after them are ignored,
 * as the protocol says of later versions). Values the library hands
 * out as enums (reasons, states, channels) are range-checked: a value out
 * of range is a malformed frame. Nothing here allocates.
 */
#include <string.h>

#include "client/internal.h"

/* Send a request with an empty body and wait for its answer. */
static int call_empty(mtgate_conn *c, uint8_t opcode, proto_rd *r)
{
	uint64_t tag = cl_tag(c);
	proto_wr w;
	int rc;

	if ((rc = cl_begin(c, opcode, tag, 0, &w)) < 0)
		return rc;
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	return cl_wait_answer(c, tag, opcode, r);
}

int mtgate_c_ping(mtgate_conn *c)
{
	proto_rd r;
	int rc;

	if (c == NULL)
		return MTGATE_EINVAL;
	if ((rc = call_empty(c, MTGATE_OPC_PING, &r)) < 0)
		return rc;
	return cl_done(c, &r);
}

/* ---- the gate ---------------------------------------------------------------- */

int mtgate_c_send_gate(mtgate_conn *c, uint64_t tag, uint64_t number,
		       uint32_t program, mtgate_mode mode)
{
	mtgate_wire_gate_req req = {
		.number = number, .program = program, .mode = (uint8_t)mode};
	proto_wr w;
	int rc;

	if (c == NULL)
		return MTGATE_EINVAL;
	rc = cl_begin(c, MTGATE_OPC_GATE, tag, sizeof(req), &w);
	if (rc < 0)
		return rc;
	proto_enc_gate_req(&w, &req);
	return cl_commit(c, &w);
}

int mtgate_c_send_gate_batch(mtgate_conn *c, uint64_t tag,
			     const mtgate_gate_req *reqs, uint32_t n,
			     mtgate_mode mode)
{
	mtgate_wire_batch_req req = {.count = n, .mode = (uint8_t)mode};
	size_t entries = (size_t)n * sizeof(mtgate_wire_batch_entry);
	proto_wr w;
	int rc;

	if (c == NULL || reqs == NULL || n == 0)
		return MTGATE_EINVAL;
	if (n > MTGATE_PROTO_BATCH_MAX)
		return MTGATE_ETOOBIG;
	rc = cl_begin(c, MTGATE_OPC_GATE_BATCH, tag, sizeof(req) + entries, &w);
	if (rc < 0)
		return rc;
	proto_enc_batch_req(&w, &req);
	/* The frame was sized for exactly the entries that follow. */
	if (!w.bad && (size_t)(w.end - w.p) == entries) {
		proto_enc_batch_entries(w.p, reqs, n);
		w.p += entries;
	}
	return cl_commit(c, &w);
}

static int reason_check(uint8_t v, mtgate_reason *out)
{
	if (v >= MTGATE_REASON_MAX)
		return MTGATE_EPROTO;
	*out = (mtgate_reason)v;
	return 0;
}

int mtgate_c_decode_gate(const mtgate_wire_header *hdr, const uint8_t *body,
			 mtgate_reason *reason)
{
	mtgate_wire_gate_resp resp;
	proto_rd r;

	if (hdr == NULL || reason == NULL || (body == NULL && hdr->body_len))
		return MTGATE_EINVAL;
	if (hdr->opcode != MTGATE_OPC_GATE)
		return MTGATE_EINVAL;
	if (hdr->status != MTGATE_ST_OK)
		return mtgate_c_status_error(hdr->status);
	proto_rd_init(&r, body, hdr->body_len);
	proto_dec_gate_resp(&r, &resp);
	if (r.bad)
		return MTGATE_EPROTO;
	return reason_check(resp.reason, reason);
}

int mtgate_c_decode_batch(const mtgate_wire_header *hdr, const uint8_t *body,
			  mtgate_reason *out, uint32_t cap, uint32_t *n_out)
{
	mtgate_wire_batch_resp resp;
	const uint8_t *reasons;
	proto_rd r;

	if (hdr == NULL || n_out == NULL || (body == NULL && hdr->body_len) ||
	    (out == NULL && cap > 0))
		return MTGATE_EINVAL;
	if (hdr->opcode != MTGATE_OPC_GATE_BATCH)
		return MTGATE_EINVAL;
	if (hdr->status != MTGATE_ST_OK)
		return mtgate_c_status_error(hdr->status);
	proto_rd_init(&r, body, hdr->body_len);
	proto_dec_batch_resp(&r, &resp);
	*n_out = resp.count;
	reasons = proto_rd_bytes(&r, resp.count);
	if (r.bad || resp.count > MTGATE_PROTO_BATCH_MAX)
		return MTGATE_EPROTO;
	if (resp.count > cap)
		return MTGATE_EINVAL;
	for (uint32_t i = 0; i < resp.count; i++)
		if (reason_check(reasons[i], &out[i]) < 0)
			return MTGATE_EPROTO;
	return 0;
}

/* Wait for the answer to a gate request sent with tag and decode it with
 * the decoder matching the opcode. */
static int gate_answer(mtgate_conn *c, uint64_t tag, uint8_t opcode,
		       mtgate_reason *out, uint32_t n)
{
	mtgate_wire_header h = {.opcode = opcode,
				.flags = MTGATE_FLAG_RESPONSE};
	uint32_t got;
	proto_rd r;
	int rc;

	if ((rc = cl_wait_answer(c, tag, opcode, &r)) < 0)
		return rc;
	h.body_len = (uint32_t)proto_rd_left(&r);
	if (opcode == MTGATE_OPC_GATE)
		rc = mtgate_c_decode_gate(&h, r.p, out);
	else if ((rc = mtgate_c_decode_batch(&h, r.p, out, n, &got)) == 0 &&
		 got != n)
		rc = MTGATE_EPROTO;
	if (rc == MTGATE_EINVAL) /* more reasons than asked for */
		rc = MTGATE_EPROTO;
	return rc < 0 ? cl_fail(c, rc) : 0;
}

int mtgate_c_gate(mtgate_conn *c, uint64_t number, uint32_t program,
		  mtgate_mode mode, mtgate_reason *reason_out)
{
	uint64_t tag;
	int rc;

	if (c == NULL || reason_out == NULL)
		return MTGATE_EINVAL;
	tag = cl_tag(c);
	if ((rc = mtgate_c_send_gate(c, tag, number, program, mode)) < 0)
		return rc;
	return gate_answer(c, tag, MTGATE_OPC_GATE, reason_out, 1);
}

int mtgate_c_gate_batch(mtgate_conn *c, const mtgate_gate_req *reqs, uint32_t n,
			mtgate_mode mode, mtgate_reason *out)
{
	uint64_t tag;
	int rc;

	if (c == NULL || out == NULL)
		return MTGATE_EINVAL;
	tag = cl_tag(c);
	if ((rc = mtgate_c_send_gate_batch(c, tag, reqs, n, mode)) < 0)
		return rc;
	return gate_answer(c, tag, MTGATE_OPC_GATE_BATCH, out, n);
}

/* ---- consent changes ------------------------------------------------------------ */

int cl_change_answer(mtgate_conn *c, uint64_t tag, uint8_t opcode,
		     mtgate_c_changes *out)
{
	mtgate_wire_change_resp resp;
	proto_rd r;
	int rc;

	if ((rc = cl_wait_answer(c, tag, opcode, &r)) < 0)
		return rc;
	proto_dec_change_resp(&r, &resp);
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	if (out != NULL) {
		out->changed = resp.changed;
		out->unchanged = resp.unchanged;
	}
	return 0;
}

int mtgate_c_optin(mtgate_conn *c, uint64_t number, uint32_t program,
		   mtgate_channel channel, const char *source, int64_t at_ms,
		   mtgate_c_changes *out)
{
	mtgate_wire_optin_req req = {.number = number,
				     .program = program,
				     .channel = (uint8_t)channel,
				     .at_ms = at_ms};
	uint64_t tag;
	size_t src_len;
	proto_wr w;
	int rc;

	if (c == NULL || (unsigned)channel > UINT8_MAX)
		return MTGATE_EINVAL;
	if ((rc = cl_strlen(source, UINT16_MAX, &src_len)) < 0)
		return rc;
	req.source_len = (uint16_t)src_len;
	tag = cl_tag(c);
	rc = cl_begin(c, MTGATE_OPC_OPTIN, tag, sizeof(req) + src_len, &w);
	if (rc < 0)
		return rc;
	proto_enc_optin_req(&w, &req);
	proto_wr_bytes(&w, source, src_len);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	return cl_change_answer(c, tag, MTGATE_OPC_OPTIN, out);
}

int mtgate_c_optout(mtgate_conn *c, uint64_t number, uint32_t program,
		    const char *short_code, mtgate_channel channel,
		    const char *source, mtgate_c_changes *out)
{
	mtgate_wire_optout_req req = {.number = number,
				      .program = program,
				      .channel = (uint8_t)channel};
	size_t sc_len = 0, src_len;
	uint64_t tag;
	proto_wr w;
	int rc;

	if (c == NULL || (unsigned)channel > UINT8_MAX)
		return MTGATE_EINVAL;
	if (program == 0 && cl_strlen(short_code, UINT8_MAX, &sc_len) < 0)
		return MTGATE_ESHORTCODE;
	if ((rc = cl_strlen(source, UINT16_MAX, &src_len)) < 0)
		return rc;
	req.sc_len = (uint8_t)sc_len;
	req.source_len = (uint16_t)src_len;
	tag = cl_tag(c);
	rc = cl_begin(c, MTGATE_OPC_OPTOUT, tag, sizeof(req) + sc_len + src_len,
		      &w);
	if (rc < 0)
		return rc;
	proto_enc_optout_req(&w, &req);
	proto_wr_bytes(&w, short_code, sc_len);
	proto_wr_bytes(&w, source, src_len);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	return cl_change_answer(c, tag, MTGATE_OPC_OPTOUT, out);
}

int mtgate_c_deactivate(mtgate_conn *c, uint64_t number,
			mtgate_deact_reason reason, int64_t at_ms,
			const char *source, mtgate_c_changes *out)
{
	mtgate_wire_deact_req req = {
		.number = number, .reason = (uint8_t)reason, .at_ms = at_ms};
	uint64_t tag;
	size_t src_len;
	proto_wr w;
	int rc;

	if (c == NULL || (unsigned)reason > UINT8_MAX)
		return MTGATE_EINVAL;
	if ((rc = cl_strlen(source, UINT16_MAX, &src_len)) < 0)
		return rc;
	req.source_len = (uint16_t)src_len;
	tag = cl_tag(c);
	rc = cl_begin(c, MTGATE_OPC_DEACTIVATE, tag, sizeof(req) + src_len, &w);
	if (rc < 0)
		return rc;
	proto_enc_deact_req(&w, &req);
	proto_wr_bytes(&w, source, src_len);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	return cl_change_answer(c, tag, MTGATE_OPC_DEACTIVATE, out);
}

/* ---- QUERY ------------------------------------------------------------------------ */

/* One consent record and its source; the copy goes to out when not NULL. */
static int consent_dec(proto_rd *r, uint64_t number, mtgate_consent *out)
{
	mtgate_wire_consent_rec rec;
	const uint8_t *src;

	proto_dec_consent_rec(r, &rec);
	src = proto_rd_bytes(r, rec.source_len);
	if (src == NULL || rec.state > MTGATE_STATE_PENDING ||
	    rec.channel >= MTGATE_CHANNEL_MAX ||
	    rec.voided_by >= MTGATE_DEACT_MAX ||
	    rec.source_len > MTGATE_SOURCE_MAX)
		return MTGATE_EPROTO;
	if (out == NULL)
		return 0;
	*out = (mtgate_consent){.number = number,
				.program = rec.program,
				.state = (mtgate_state)rec.state,
				.channel = (mtgate_channel)rec.channel,
				.voided_by = (mtgate_deact_reason)rec.voided_by,
				.changed_at_ms = rec.changed_at_ms,
				.used = rec.used,
				.limit = rec.limit};
	memcpy(out->source, src, rec.source_len);
	out->source[rec.source_len] = '\0';
	return 0;
}

int mtgate_c_query(mtgate_conn *c, uint64_t number, mtgate_consent *recs,
		   size_t cap, size_t *n_out, mtgate_deactivation *deact)
{
	mtgate_wire_query_req req = {.number = number};
	mtgate_wire_query_resp resp;
	uint64_t tag;
	proto_wr w;
	proto_rd r;
	int rc;

	if (c == NULL || n_out == NULL || (recs == NULL && cap > 0))
		return MTGATE_EINVAL;
	tag = cl_tag(c);
	if ((rc = cl_begin(c, MTGATE_OPC_QUERY, tag, sizeof(req), &w)) < 0)
		return rc;
	proto_enc_query_req(&w, &req);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	if ((rc = cl_wait_answer(c, tag, MTGATE_OPC_QUERY, &r)) < 0)
		return rc;
	proto_dec_query_resp(&r, &resp);
	for (uint32_t i = 0; i < resp.count && !r.bad; i++)
		if (consent_dec(&r, number, i < cap ? &recs[i] : NULL) < 0)
			return cl_fail(c, MTGATE_EPROTO);
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	if (resp.deact_reason >= MTGATE_DEACT_MAX)
		return cl_fail(c, MTGATE_EPROTO);
	*n_out = resp.count;
	if (deact != NULL) {
		deact->reason = (mtgate_deact_reason)resp.deact_reason;
		deact->at_ms = resp.deact_at_ms;
	}
	return 0;
}

/* ---- operator and test calls ---------------------------------------------------------- */

int mtgate_c_tenant_add(mtgate_conn *c, const char *name, uint32_t *id_out,
			char key_out[MTGATE_PROTO_KEY_MAX + 1])
{
	mtgate_wire_tenant_resp resp;
	const uint8_t *key;
	size_t name_len;
	uint64_t tag;
	proto_wr w;
	proto_rd r;
	int rc;

	if (c == NULL || id_out == NULL || key_out == NULL)
		return MTGATE_EINVAL;
	if ((rc = cl_strlen(name, UINT16_MAX, &name_len)) < 0)
		return rc;
	tag = cl_tag(c);
	rc = cl_begin(c, MTGATE_OPC_TENANT_ADD, tag, 2 + name_len, &w);
	if (rc < 0)
		return rc;
	proto_wr_str(&w, name, name_len);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	if ((rc = cl_wait_answer(c, tag, MTGATE_OPC_TENANT_ADD, &r)) < 0)
		return rc;
	proto_dec_tenant_resp(&r, &resp);
	key = proto_rd_bytes(&r, resp.key_len);
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	if (resp.key_len > MTGATE_PROTO_KEY_MAX || memchr(key, 0, resp.key_len))
		return cl_fail(c, MTGATE_EPROTO);
	memcpy(key_out, key, resp.key_len);
	key_out[resp.key_len] = '\0';
	*id_out = resp.tenant;
	return 0;
}

int mtgate_c_stats(mtgate_conn *c, uint64_t vals[MTGATE_STAT_MAX],
		   size_t *n_out)
{
	mtgate_wire_stats_resp resp;
	proto_rd r;
	uint64_t v;
	int rc;

	if (c == NULL || vals == NULL || n_out == NULL)
		return MTGATE_EINVAL;
	if ((rc = call_empty(c, MTGATE_OPC_STATS, &r)) < 0)
		return rc;
	proto_dec_stats_resp(&r, &resp);
	memset(vals, 0, MTGATE_STAT_MAX * sizeof(vals[0]));
	for (uint32_t i = 0; i < resp.count && !r.bad; i++) {
		v = proto_rd_u64(&r);
		if (i < MTGATE_STAT_MAX)
			vals[i] = v;
	}
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	*n_out = resp.count;
	return 0;
}

int mtgate_c_clock(mtgate_conn *c, int op, int64_t value_ms, int64_t *now_out)
{
	mtgate_wire_clock_req req = {.op = (uint8_t)op, .value_ms = value_ms};
	mtgate_wire_clock_resp resp;
	uint64_t tag;
	proto_wr w;
	proto_rd r;
	int rc;

	if (c == NULL || op < MTGATE_CLOCK_READ || op > MTGATE_CLOCK_ADVANCE)
		return MTGATE_EINVAL;
	tag = cl_tag(c);
	if ((rc = cl_begin(c, MTGATE_OPC_CLOCK, tag, sizeof(req), &w)) < 0)
		return rc;
	proto_enc_clock_req(&w, &req);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	if ((rc = cl_wait_answer(c, tag, MTGATE_OPC_CLOCK, &r)) < 0)
		return rc;
	proto_dec_clock_resp(&r, &resp);
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	if (now_out != NULL)
		*now_out = resp.now_ms;
	return 0;
}

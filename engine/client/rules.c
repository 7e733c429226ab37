/*
 * libmtgate: the consent rules' requests (docs/protocol.md, 0x80 .. 0x86):
 * MO, DOI_REQUEST, DOI_RENOTIFY, REMINDERS_DUE, BILL_CHECK, BILL_RESULT and
 * SHORTCODE_SET.
 *
 * As in calls.c: encode with the codec into the send buffer, wait for the
 * answer by tag, decode with the codec. Every count and value of an answer
 * is checked against the bounds the protocol gives (at most 16 replies of
 * at most 1024 bytes, 514 actions, known action kinds and billing
 * reasons); anything else is MTGATE_EPROTO and breaks the connection.
 * Nothing here allocates: an MO's result goes into the caller's
 * mtgate_mo_result, whose own buffer holds the reply texts.
 */
#include <string.h>

#include "client/internal.h"

/* ---- MO -------------------------------------------------------------------- */

/* The replies of an MO answer into out (texts into out->text). */
static int mo_replies(proto_rd *r, uint32_t n, mtgate_mo_result *out)
{
	size_t used = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint16_t len;
		const uint8_t *t = proto_rd_str(r, &len);
		if (t == NULL || len > MTGATE_TEXT_MAX || memchr(t, 0, len))
			return MTGATE_EPROTO;
		memcpy(out->text + used, t, len);
		out->text[used + len] = '\0';
		out->reply[i] = out->text + used;
		used += (size_t)len + 1;
	}
	return 0;
}

static int mo_actions(proto_rd *r, uint32_t n, mtgate_mo_result *out)
{
	for (uint32_t i = 0; i < n; i++) {
		mtgate_wire_mo_action a;
		proto_dec_mo_action(r, &a);
		if (r->bad || a.kind < MTGATE_ACT_OPTED_IN ||
		    a.kind >= MTGATE_ACT_MAX)
			return MTGATE_EPROTO;
		out->action[i] = (mtgate_mo_action){
			(mtgate_mo_action_kind)a.kind, a.program};
	}
	return 0;
}

int mtgate_c_mo(mtgate_conn *c, uint64_t number, const char *short_code,
		const char *text, size_t len, mtgate_mo_result *out)
{
	mtgate_wire_mo_req req = {.number = number};
	mtgate_wire_mo_resp resp;
	size_t sc_len;
	uint64_t tag;
	proto_wr w;
	proto_rd r;
	int rc;

	if (c == NULL || out == NULL || (text == NULL && len > 0))
		return MTGATE_EINVAL;
	if (cl_strlen(short_code, UINT8_MAX, &sc_len) < 0)
		return MTGATE_ESHORTCODE;
	if (len > UINT16_MAX)
		return MTGATE_EMO_LONG; /* the server's word for it too */
	req.sc_len = (uint8_t)sc_len;
	req.text_len = (uint16_t)len;
	tag = cl_tag(c);
	rc = cl_begin(c, MTGATE_OPC_MO, tag, sizeof(req) + sc_len + len, &w);
	if (rc < 0)
		return rc;
	proto_enc_mo_req(&w, &req);
	proto_wr_bytes(&w, short_code, sc_len);
	proto_wr_bytes(&w, text, len);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	if ((rc = cl_wait_answer(c, tag, MTGATE_OPC_MO, &r)) < 0)
		return rc;
	proto_dec_mo_resp(&r, &resp);
	out->n_replies = out->n_actions = 0;
	if (resp.n_replies > MTGATE_MO_REPLIES_MAX ||
	    resp.n_actions > MTGATE_MO_ACTIONS_MAX ||
	    mo_replies(&r, resp.n_replies, out) < 0 ||
	    mo_actions(&r, resp.n_actions, out) < 0)
		return cl_fail(c, MTGATE_EPROTO);
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	out->n_replies = resp.n_replies;
	out->n_actions = resp.n_actions;
	return 0;
}

/* ---- double opt-in ------------------------------------------------------------- */

/* The answer of DOI_REQUEST and DOI_RENOTIFY: u16 len + the confirm text. */
static int doi_answer(mtgate_conn *c, uint64_t tag, uint8_t opcode,
		      char *text_out)
{
	const uint8_t *t;
	uint16_t len;
	proto_rd r;
	int rc;

	if ((rc = cl_wait_answer(c, tag, opcode, &r)) < 0)
		return rc;
	t = proto_rd_str(&r, &len);
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	if (len > MTGATE_TEXT_MAX || memchr(t, 0, len))
		return cl_fail(c, MTGATE_EPROTO);
	if (text_out != NULL) {
		memcpy(text_out, t, len);
		text_out[len] = '\0';
	}
	return 0;
}

int mtgate_c_doi_request(mtgate_conn *c, uint64_t number, uint32_t program,
			 mtgate_channel channel, const char *source,
			 char text_out[MTGATE_TEXT_MAX + 1])
{
	mtgate_wire_doi_req req = {.number = number,
				   .program = program,
				   .channel = (uint8_t)channel};
	size_t src_len;
	uint64_t tag;
	proto_wr w;
	int rc;

	if (c == NULL || (unsigned)channel > UINT8_MAX)
		return MTGATE_EINVAL;
	if ((rc = cl_strlen(source, UINT16_MAX, &src_len)) < 0)
		return rc;
	req.source_len = (uint16_t)src_len;
	tag = cl_tag(c);
	rc = cl_begin(c, MTGATE_OPC_DOI_REQUEST, tag, sizeof(req) + src_len,
		      &w);
	if (rc < 0)
		return rc;
	proto_enc_doi_req(&w, &req);
	proto_wr_bytes(&w, source, src_len);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	return doi_answer(c, tag, MTGATE_OPC_DOI_REQUEST, text_out);
}

int mtgate_c_doi_renotify(mtgate_conn *c, uint64_t number, uint32_t program,
			  char text_out[MTGATE_TEXT_MAX + 1])
{
	mtgate_wire_renotify_req req = {.number = number, .program = program};
	uint64_t tag;
	proto_wr w;
	int rc;

	if (c == NULL)
		return MTGATE_EINVAL;
	tag = cl_tag(c);
	rc = cl_begin(c, MTGATE_OPC_DOI_RENOTIFY, tag, sizeof(req), &w);
	if (rc < 0)
		return rc;
	proto_enc_renotify_req(&w, &req);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	return doi_answer(c, tag, MTGATE_OPC_DOI_RENOTIFY, text_out);
}

/* ---- reminders ------------------------------------------------------------------ */

int mtgate_c_reminders_due(mtgate_conn *c, int64_t at_ms, mtgate_reminder *out,
			   size_t cap, size_t *n_out, bool *more_out)
{
	mtgate_wire_reminders_req req = {.at_ms = at_ms};
	mtgate_wire_reminders_resp resp;
	uint64_t tag;
	proto_wr w;
	proto_rd r;
	int rc;

	if (c == NULL || out == NULL || cap == 0 || n_out == NULL)
		return MTGATE_EINVAL;
	req.max = (uint32_t)(cap < MTGATE_PROTO_REMINDERS_MAX
				     ? cap
				     : MTGATE_PROTO_REMINDERS_MAX);
	tag = cl_tag(c);
	rc = cl_begin(c, MTGATE_OPC_REMINDERS_DUE, tag, sizeof(req), &w);
	if (rc < 0)
		return rc;
	proto_enc_reminders_req(&w, &req);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	if ((rc = cl_wait_answer(c, tag, MTGATE_OPC_REMINDERS_DUE, &r)) < 0)
		return rc;
	proto_dec_reminders_resp(&r, &resp);
	if (resp.count > req.max || resp.more > 1)
		return cl_fail(c, MTGATE_EPROTO);
	for (uint32_t i = 0; i < resp.count; i++) {
		mtgate_wire_reminder_rec rec;
		proto_dec_reminder_rec(&r, &rec);
		out[i] = (mtgate_reminder){rec.number, rec.program,
					   rec.since_ms, rec.due_ms};
	}
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	*n_out = resp.count;
	if (more_out != NULL)
		*more_out = resp.more != 0;
	return 0;
}

/* ---- billing ---------------------------------------------------------------------- */

int mtgate_c_bill_check(mtgate_conn *c, uint64_t number, uint32_t program,
			uint32_t amount_cents, mtgate_bill_reason *reason_out)
{
	mtgate_wire_bill_check_req req = {.number = number,
					  .program = program,
					  .amount_cents = amount_cents};
	mtgate_wire_bill_check_resp resp;
	uint64_t tag;
	proto_wr w;
	proto_rd r;
	int rc;

	if (c == NULL || reason_out == NULL)
		return MTGATE_EINVAL;
	tag = cl_tag(c);
	rc = cl_begin(c, MTGATE_OPC_BILL_CHECK, tag, sizeof(req), &w);
	if (rc < 0)
		return rc;
	proto_enc_bill_check_req(&w, &req);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	if ((rc = cl_wait_answer(c, tag, MTGATE_OPC_BILL_CHECK, &r)) < 0)
		return rc;
	proto_dec_bill_check_resp(&r, &resp);
	if ((rc = cl_done(c, &r)) < 0)
		return rc;
	if (resp.reason >= MTGATE_BILL_REASON_MAX)
		return cl_fail(c, MTGATE_EPROTO);
	*reason_out = (mtgate_bill_reason)resp.reason;
	return 0;
}

int mtgate_c_bill_result(mtgate_conn *c, uint64_t number, uint32_t program,
			 bool ok, mtgate_c_changes *out)
{
	mtgate_wire_bill_result_req req = {
		.number = number, .program = program, .ok = ok ? 1 : 0};
	uint64_t tag;
	proto_wr w;
	int rc;

	if (c == NULL)
		return MTGATE_EINVAL;
	tag = cl_tag(c);
	rc = cl_begin(c, MTGATE_OPC_BILL_RESULT, tag, sizeof(req), &w);
	if (rc < 0)
		return rc;
	proto_enc_bill_result_req(&w, &req);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	return cl_change_answer(c, tag, MTGATE_OPC_BILL_RESULT, out);
}

/* ---- short codes ------------------------------------------------------------------- */

int mtgate_c_shortcode_set(mtgate_conn *c, const char *short_code,
			   const char *help_text)
{
	mtgate_wire_shortcode_req req = {0};
	size_t sc_len, help_len;
	uint64_t tag;
	proto_wr w;
	proto_rd r;
	int rc;

	if (c == NULL)
		return MTGATE_EINVAL;
	if (cl_strlen(short_code, UINT8_MAX, &sc_len) < 0)
		return MTGATE_ESHORTCODE;
	if (cl_strlen(help_text, UINT16_MAX, &help_len) < 0)
		return MTGATE_ETEXT_LONG;
	req.sc_len = (uint8_t)sc_len;
	req.help_len = (uint16_t)help_len;
	tag = cl_tag(c);
	rc = cl_begin(c, MTGATE_OPC_SHORTCODE_SET, tag,
		      sizeof(req) + sc_len + help_len, &w);
	if (rc < 0)
		return rc;
	proto_enc_shortcode_req(&w, &req);
	proto_wr_bytes(&w, short_code, sc_len);
	proto_wr_bytes(&w, help_text, help_len);
	if ((rc = cl_commit(c, &w)) < 0)
		return rc;
	if ((rc = cl_wait_answer(c, tag, MTGATE_OPC_SHORTCODE_SET, &r)) < 0)
		return rc;
	return cl_done(c, &r);
}

/*
 * The consent rules on the wire (docs/protocol.md, opcodes 0x80 .. 0x86):
 * MO, DOI_REQUEST, DOI_RENOTIFY, REMINDERS_DUE, BILL_CHECK, BILL_RESULT and
 * SHORTCODE_SET.
 *
 * Each handler checks the body's exact length and its values, and the
 * scope of TEN-1, before it acts. The ones that change consent (MO, the
 * double opt-in requests, a billing result) are ops on the owner of the
 * number's shard (handle.c: srv_mo_submit, srv_change_submit), answered
 * once durable. The others are rare or read only and use the engine's
 * blocking any-thread calls, as QUERY does (admin.c).
 *
 * Scope: a tenant's MO acts on its own programs of the short code only
 * (the engine's tenant argument); a double opt-in or billing request for
 * another tenant's program is answered ENOPROGRAM, as for an unknown one;
 * REMINDERS_DUE lists a tenant's own programs only; SHORTCODE_SET is the
 * operator's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/codec.h"
#include "server/server.h"

static srv *srv_of(srv_conn *c)
{
	return c->th->s;
}

/* A short code as the engine takes them: 1..MTGATE_SHORTCODE_MAX letters
 * or digits, copied NUL-terminated into out. */
static bool short_code_of(const uint8_t *p, size_t n,
			  char out[MTGATE_SHORTCODE_MAX + 1])
{
	if (n == 0 || n > MTGATE_SHORTCODE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = p[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= 'a' && ch <= 'z')))
			return false;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* ---- MO ------------------------------------------------------------------------------ */

void srv_do_mo(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b)
{
	char sc[MTGATE_SHORTCODE_MAX + 1];
	mtgate_wire_mo_req q;
	const uint8_t *psc, *text;
	proto_rd rd;

	if (!srv_body_at_least(c, h, sizeof(q), "MO"))
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_mo_req(&rd, &q);
	psc = proto_rd_bytes(&rd, q.sc_len);
	text = proto_rd_bytes(&rd, q.text_len);
	if (!srv_body_is(c, h, (uint32_t)sizeof(q) + q.sc_len + q.text_len,
			 "MO") ||
	    !srv_number_ok(c, h, q.number))
		return;
	if (!short_code_of(psc, q.sc_len, sc)) {
		srv_reply_engine(c, h->opcode, h->tag, MTGATE_ESHORTCODE);
		return;
	}
	if (q.text_len > MTGATE_MO_MAX) {
		srv_reply_engine(c, h->opcode, h->tag, MTGATE_EMO_LONG);
		return;
	}
	srv_mo_submit(c, h, q.number, sc, text, q.text_len);
}

/* ---- double opt-in --------------------------------------------------------------------- */

/* The program's confirm text, for the answer ("" when it has none). The
 * definition's strings live until the engine closes. */
static const char *confirm_of(const mtgate_program_def *d)
{
	return d->confirm_text != NULL ? d->confirm_text : "";
}

static void doi_request(srv_conn *c, const mtgate_wire_header *h,
			const uint8_t *b)
{
	mtgate_wire_doi_req q;
	mtgate_program_def d;
	const uint8_t *src;
	proto_rd rd;
	int rc;

	if (!srv_body_at_least(c, h, sizeof(q), "DOI_REQUEST"))
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_doi_req(&rd, &q);
	src = proto_rd_bytes(&rd, q.source_len);
	if (!srv_body_is(c, h, (uint32_t)sizeof(q) + q.source_len,
			 "DOI_REQUEST") ||
	    !srv_number_ok(c, h, q.number) ||
	    !srv_source_ok(c, h, src, q.source_len))
		return;
	if ((rc = srv_program_scope(c, q.program, &d)) < 0) {
		srv_reply_engine(c, h->opcode, h->tag, rc);
		return;
	}
	srv_change_submit(
		c, h,
		&(mtgate_change){.op = MTGATE_OP_DOI_REQUEST,
				 .number = q.number,
				 .program = q.program,
				 .channel = (mtgate_channel)q.channel},
		src, q.source_len, confirm_of(&d));
}

static void doi_renotify(srv_conn *c, const mtgate_wire_header *h,
			 const uint8_t *b)
{
	mtgate_wire_renotify_req q;
	mtgate_program_def d;
	proto_rd rd;
	int rc;

	if (!srv_body_is(c, h, sizeof(q), "DOI_RENOTIFY"))
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_renotify_req(&rd, &q);
	if (!srv_number_ok(c, h, q.number))
		return;
	if ((rc = srv_program_scope(c, q.program, &d)) < 0) {
		srv_reply_engine(c, h->opcode, h->tag, rc);
		return;
	}
	srv_change_submit(c, h,
			  &(mtgate_change){.op = MTGATE_OP_DOI_RENOTIFY,
					   .number = q.number,
					   .program = q.program},
			  NULL, 0, confirm_of(&d));
}

void srv_do_doi(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b)
{
	if (h->opcode == MTGATE_OPC_DOI_REQUEST)
		doi_request(c, h, b);
	else
		doi_renotify(c, h, b);
}

/* ---- reminders (DOI-9) ------------------------------------------------------------------- */

/* REMINDERS_DUE: the engine lists up to MTGATE_PROTO_REMINDERS_MAX (one
 * frame's worth); a tenant's are filtered from those, so for a tenant
 * `more` means there may be more. */
void srv_do_reminders_due(srv_conn *c, const mtgate_wire_header *h,
			  const uint8_t *b)
{
	const size_t cap = MTGATE_PROTO_REMINDERS_MAX;
	mtgate_wire_reminders_req q;
	mtgate_wire_reminders_resp r = {0};
	mtgate_reminder *list = NULL;
	size_t n = 0, kept = 0, count, len;
	proto_rd rd;
	proto_wr w;
	uint8_t *o;
	int rc;

	if (!srv_body_is(c, h, sizeof(q), "REMINDERS_DUE"))
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_reminders_req(&rd, &q);
	if (q.at_ms < 0) {
		srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_BODY,
				"REMINDERS_DUE at_ms must be 0 (now) or a "
				"time");
		return;
	}
	if ((list = malloc(cap * sizeof(*list))) == NULL) {
		srv_reply_engine(c, h->opcode, h->tag, MTGATE_ENOMEM);
		return;
	}
	rc = mtgate_reminders_due(srv_of(c)->eng,
				  q.at_ms ? q.at_ms : srv_now_ms(srv_of(c)),
				  list, cap, &n);
	if (rc < 0) {
		srv_reply_engine(c, h->opcode, h->tag, rc);
		goto out;
	}
	for (size_t i = 0; i < n && i < cap; i++)
		if (srv_program_scope(c, list[i].program, NULL) == 0)
			list[kept++] = list[i];
	count = q.max != 0 && q.max < kept ? q.max : kept;
	r = (mtgate_wire_reminders_resp){.count = (uint32_t)count,
					 .more = kept > count || n > cap};
	len = sizeof(r) + count * sizeof(mtgate_wire_reminder_rec);
	if ((o = srv_reply(c, h->opcode, h->tag, 0, (uint32_t)len)) == NULL)
		goto out;
	proto_wr_init(&w, o, len);
	proto_enc_reminders_resp(&w, &r);
	for (size_t i = 0; i < count; i++)
		proto_enc_reminder_rec(&w, &(mtgate_wire_reminder_rec){
						   .number = list[i].number,
						   .program = list[i].program,
						   .since_ms = list[i].since_ms,
						   .due_ms = list[i].due_ms});
out:
	free(list);
}

/* ---- billing (BILL-1, BILL-2) -------------------------------------------------------------- */

void srv_do_bill_check(srv_conn *c, const mtgate_wire_header *h,
		       const uint8_t *b)
{
	srv *s = srv_of(c);
	mtgate_wire_bill_check_req q;
	mtgate_bill_reason reason = MTGATE_BILL_NOT_CONFIRMED;
	proto_rd rd;
	proto_wr w;
	uint8_t *o;
	int rc;

	if (!srv_body_is(c, h, sizeof(q), "BILL_CHECK"))
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_bill_check_req(&rd, &q);
	if (!srv_number_ok(c, h, q.number))
		return;
	if ((rc = srv_program_scope(c, q.program, NULL)) == 0)
		rc = mtgate_bill_check(s->eng, q.number, q.program,
				       q.amount_cents, srv_now_ms(s), &reason);
	if (rc < 0) {
		srv_reply_engine(c, h->opcode, h->tag, rc);
		return;
	}
	if ((o = srv_reply(c, h->opcode, h->tag, 0,
			   sizeof(mtgate_wire_bill_check_resp)))) {
		proto_wr_init(&w, o, sizeof(mtgate_wire_bill_check_resp));
		proto_enc_bill_check_resp(&w,
					  &(mtgate_wire_bill_check_resp){
						  .reason = (uint8_t)reason});
	}
}

void srv_do_bill_result(srv_conn *c, const mtgate_wire_header *h,
			const uint8_t *b)
{
	mtgate_wire_bill_result_req q;
	proto_rd rd;
	int rc;

	if (!srv_body_is(c, h, sizeof(q), "BILL_RESULT"))
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_bill_result_req(&rd, &q);
	if (!srv_number_ok(c, h, q.number))
		return;
	if (q.ok > 1) {
		srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_BODY,
				"BILL_RESULT ok must be 0 (failed) or 1 "
				"(charged)");
		return;
	}
	if ((rc = srv_program_scope(c, q.program, NULL)) < 0) {
		srv_reply_engine(c, h->opcode, h->tag, rc);
		return;
	}
	srv_change_submit(c, h,
			  &(mtgate_change){.op = MTGATE_OP_BILL_RESULT,
					   .number = q.number,
					   .program = q.program,
					   .bill_ok = q.ok == 1},
			  NULL, 0, NULL);
}

/* ---- short codes (HELP-3) ------------------------------------------------------------------ */

void srv_do_shortcode_set(srv_conn *c, const mtgate_wire_header *h,
			  const uint8_t *b)
{
	char sc[MTGATE_SHORTCODE_MAX + 1], *help = NULL;
	mtgate_wire_shortcode_req q;
	const uint8_t *psc, *ph;
	proto_rd rd;
	int rc;

	if (!srv_operator_only(c, h) ||
	    !srv_body_at_least(c, h, sizeof(q), "SHORTCODE_SET"))
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_shortcode_req(&rd, &q);
	psc = proto_rd_bytes(&rd, q.sc_len);
	ph = proto_rd_bytes(&rd, q.help_len);
	if (!srv_body_is(c, h, (uint32_t)sizeof(q) + q.sc_len + q.help_len,
			 "SHORTCODE_SET"))
		return;
	if (!srv_no_nul(ph, q.help_len)) {
		srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_BODY,
				"SHORTCODE_SET help text must not hold a NUL");
		return;
	}
	if (!short_code_of(psc, q.sc_len, sc))
		rc = MTGATE_ESHORTCODE;
	else if (q.help_len > MTGATE_TEXT_MAX)
		rc = MTGATE_ETEXT_LONG;
	else if ((help = malloc((size_t)q.help_len + 1)) == NULL)
		rc = MTGATE_ENOMEM;
	else {
		if (q.help_len > 0)
			memcpy(help, ph, q.help_len);
		help[q.help_len] = '\0';
		rc = mtgate_shortcode_set_help(srv_of(c)->eng, sc, help);
	}
	free(help);
	if (rc < 0)
		srv_reply_engine(c, h->opcode, h->tag, rc);
	else
		srv_reply(c, h->opcode, h->tag, 0, 0);
}

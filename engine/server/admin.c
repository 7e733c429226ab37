/*
 * The administrative requests: QUERY, PROGRAM_PUT, PROGRAM_GET,
 * PROGRAM_LIST, TENANT_ADD, STATS and CLOCK. PROGRAM_PUT checks the PROG
 * rules first (mtgate_program_check) and answers a broken one with the
 * rule's own text; nothing of such a definition is stored. They are rare next to gates,
 * so they use the engine's blocking any-thread calls (a program change
 * waits for its fsync; a query of another thread's shard waits for that
 * owner, which keeps polling its own shard while it waits). Scope (TEN-1):
 * a tenant sees only its own programs and their consents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/codec.h"
#include "server/server.h"

#define QUERY_MAX 1024 /* records one QUERY answers */

/* ---- QUERY ---------------------------------------------------------------------------- */

static size_t query_keep(srv_conn *c, mtgate_consent *recs, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (srv_program_scope(c, recs[i].program, NULL) == 0)
			recs[k++] = recs[i];
	return k;
}

void srv_do_query(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b)
{
	srv *s = c->th->s;
	mtgate_wire_query_req q;
	mtgate_wire_query_resp r = {0};
	mtgate_consent *recs = malloc(QUERY_MAX * sizeof(*recs));
	mtgate_deactivation d;
	size_t n = 0, len = sizeof(r);
	proto_rd rd;
	proto_wr w;
	uint8_t *p;
	int rc;

	if (recs == NULL) {
		srv_reply_engine(c, h->opcode, h->tag, MTGATE_ENOMEM);
		return;
	}
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_query_req(&rd, &q);
	if (!srv_body_is(c, h, sizeof(q), "QUERY") ||
	    !srv_number_ok(c, h, q.number))
		goto out;
	rc = mtgate_query(s->eng, q.number, srv_now_ms(s), recs, QUERY_MAX, &n,
			  &d);
	if (rc < 0) {
		srv_reply_engine(c, h->opcode, h->tag, rc);
		goto out;
	}
	n = query_keep(c, recs, n < QUERY_MAX ? n : QUERY_MAX);
	for (size_t i = 0; i < n; i++)
		len += sizeof(mtgate_wire_consent_rec) + strlen(recs[i].source);
	r = (mtgate_wire_query_resp){.deact_reason = (uint8_t)d.reason,
				     .count = (uint32_t)n,
				     .deact_at_ms = d.at_ms};
	if ((p = srv_reply(c, h->opcode, h->tag, 0, (uint32_t)len)) == NULL)
		goto out;
	proto_wr_init(&w, p, len);
	proto_enc_query_resp(&w, &r);
	for (size_t i = 0; i < n; i++) {
		const mtgate_consent *x = &recs[i];
		size_t sl = strlen(x->source);
		mtgate_wire_consent_rec cr = {
			.program = x->program,
			.state = (uint8_t)x->state,
			.channel = (uint8_t)x->channel,
			.voided_by = (uint8_t)x->voided_by,
			.changed_at_ms = x->changed_at_ms,
			.used = x->used,
			.limit = x->limit,
			.source_len = (uint16_t)sl,
		};
		proto_enc_consent_rec(&w, &cr);
		proto_wr_bytes(&w, x->source, sl);
	}
out:
	free(recs);
}

/* ---- programs ---------------------------------------------------------------------------- */

static void reply_program(srv_conn *c, const mtgate_wire_header *h,
			  const mtgate_program_def *d)
{
	proto_program p;
	size_t len;
	proto_wr w;
	uint8_t *b;

	proto_program_of_def(d, &p);
	len = proto_program_size(&p);
	if ((b = srv_reply(c, h->opcode, h->tag, 0, (uint32_t)len))) {
		proto_wr_init(&w, b, len);
		proto_enc_program(&w, &p);
	}
}

/* The definition in p as the engine takes it: strings NUL-terminated in
 * buf (at least the body's size plus MTGATE_PROGRAM_STRINGS). */
static bool program_from_wire(const proto_program *p, mtgate_program_def *d,
			      char *buf)
{
	const char **s[MTGATE_PROGRAM_STRINGS];

	*d = (mtgate_program_def){0};
	proto_program_def_fields(p, d);
	proto_program_def_slots(d, s);
	for (int i = 0; i < MTGATE_PROGRAM_STRINGS; i++) {
		if (!srv_no_nul(p->str[i], p->len[i]))
			return false;
		memcpy(buf, p->str[i], p->len[i]);
		buf[p->len[i]] = '\0';
		*s[i] = buf;
		buf += p->len[i] + 1;
	}
	return true;
}

/* Who owns the program being put: a tenant always itself; the operator
 * names a tenant (0: its own), which must exist. */
static int put_owner(srv_conn *c, mtgate_program_def *d)
{
	if (c->tenant != MTGATE_TENANT_ANY) {
		d->tenant = c->tenant;
		return d->id != 0 ? srv_program_scope(c, d->id, NULL) : 0;
	}
	if (d->tenant != 0 &&
	    !srv_auth_tenant_exists(c->th->s->auth, d->tenant))
		return MTGATE_EINVAL;
	return 0;
}

/* The PROG rules (PROG-1..6), checked before anything is stored: a
 * definition that breaks one is answered with the rule's own text. */
static int put_checked(srv_conn *c, const mtgate_wire_header *h,
		       const mtgate_program_def *d)
{
	char why[512];
	int rc = mtgate_program_check(c->th->s->eng, d, why, sizeof(why));

	if (rc == MTGATE_EPROGRAM_RULE)
		srv_reply_error(c, h->opcode, h->tag,
				proto_status_of_engine(rc),
				why[0] ? why : mtgate_strerror(rc));
	else if (rc < 0)
		srv_reply_engine(c, h->opcode, h->tag, rc);
	return rc;
}

void srv_do_program_put(srv_conn *c, const mtgate_wire_header *h,
			const uint8_t *b)
{
	mtgate_engine *eng = c->th->s->eng;
	char *buf = malloc(h->body_len + MTGATE_PROGRAM_STRINGS);
	mtgate_program_def d;
	proto_program p;
	uint32_t id = 0;
	proto_rd rd;
	proto_wr w;
	uint8_t *o;
	int rc;

	proto_rd_init(&rd, b, h->body_len);
	proto_dec_program(&rd, &p);
	if (buf == NULL) {
		srv_reply_engine(c, h->opcode, h->tag, MTGATE_ENOMEM);
		return;
	}
	if (!proto_rd_done(&rd) || !program_from_wire(&p, &d, buf)) {
		srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_BODY,
				"PROGRAM_PUT body is a program record: 24 "
				"bytes and 9 strings, without NUL");
		goto out;
	}
	if ((rc = put_owner(c, &d)) == 0) {
		if (put_checked(c, h, &d) < 0)
			goto out; /* answered */
		rc = d.id == 0 ? mtgate_program_define(eng, &d, &id)
			       : mtgate_program_update(eng, &d);
		id = d.id ? d.id : id;
	}
	if (rc < 0) {
		srv_reply_engine(c, h->opcode, h->tag, rc);
	} else if ((o = srv_reply(c, h->opcode, h->tag, 0, 4))) {
		proto_wr_init(&w, o, 4);
		proto_wr_u32(&w, id);
	}
out:
	free(buf);
}

void srv_do_program_get(srv_conn *c, const mtgate_wire_header *h,
			const uint8_t *b)
{
	mtgate_wire_program_get_req q;
	char sc[MTGATE_SHORTCODE_MAX + 1], kw[MTGATE_KEYWORD_MAX + 1];
	const uint8_t *psc, *pkw;
	mtgate_program_def d;
	uint32_t id;
	proto_rd rd;
	int rc;

	proto_rd_init(&rd, b, h->body_len);
	proto_dec_program_get_req(&rd, &q);
	psc = proto_rd_bytes(&rd, q.sc_len);
	pkw = proto_rd_bytes(&rd, q.kw_len);
	if (!proto_rd_done(&rd) || (q.id != 0 && (q.sc_len || q.kw_len))) {
		srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_BODY,
				"PROGRAM_GET body is u32 id, u8 sc_len, u8 "
				"kw_len, u16 pad, short code, keyword");
		return;
	}
	id = q.id;
	if (id == 0) {
		rc = MTGATE_ENOPROGRAM;
		if (q.sc_len <= MTGATE_SHORTCODE_MAX &&
		    q.kw_len <= MTGATE_KEYWORD_MAX) {
			memcpy(sc, psc, q.sc_len);
			sc[q.sc_len] = '\0';
			memcpy(kw, pkw, q.kw_len);
			kw[q.kw_len] = '\0';
			rc = mtgate_program_find(c->th->s->eng, sc, kw, &id);
		}
		if (rc < 0) {
			srv_reply_engine(c, h->opcode, h->tag,
					 MTGATE_ENOPROGRAM);
			return;
		}
	}
	if ((rc = srv_program_scope(c, id, &d)) < 0)
		srv_reply_engine(c, h->opcode, h->tag, rc);
	else
		reply_program(c, h, &d);
}

/* PROGRAM_LIST: ids above after_id, as many as max and one frame allow. */
void srv_do_program_list(srv_conn *c, const mtgate_wire_header *h,
			 const uint8_t *b)
{
	mtgate_engine *eng = c->th->s->eng;
	mtgate_wire_program_list_req q;
	mtgate_wire_program_list_resp r = {0};
	size_t total = 0, k = 0, len = sizeof(r);
	uint32_t *ids = NULL, *keep = NULL;
	proto_rd rd;
	proto_wr w;
	uint8_t *o;

	proto_rd_init(&rd, b, h->body_len);
	proto_dec_program_list_req(&rd, &q);
	if (!srv_body_is(c, h, sizeof(q), "PROGRAM_LIST"))
		return;
	if (mtgate_program_list(eng, NULL, 0, &total) < 0 ||
	    (ids = malloc((total + 1) * sizeof(*ids))) == NULL ||
	    (keep = malloc((total + 1) * sizeof(*keep))) == NULL) {
		srv_reply_engine(c, h->opcode, h->tag, MTGATE_ENOMEM);
		goto out;
	}
	mtgate_program_list(eng, ids, total, &k);
	for (size_t i = 0; i < k; i++) {
		mtgate_program_def d;
		proto_program p;
		if (ids[i] <= q.after_id || srv_program_scope(c, ids[i], &d))
			continue;
		proto_program_of_def(&d, &p);
		if ((q.max && r.count == q.max) ||
		    len + proto_program_size(&p) > MTGATE_FRAME_BODY_MAX) {
			r.more = 1;
			break;
		}
		len += proto_program_size(&p);
		keep[r.count++] = ids[i];
	}
	if ((o = srv_reply(c, h->opcode, h->tag, 0, (uint32_t)len)) == NULL)
		goto out;
	proto_wr_init(&w, o, len);
	proto_enc_program_list_resp(&w, &r);
	for (uint32_t i = 0; i < r.count; i++) {
		mtgate_program_def d;
		proto_program p;
		mtgate_program_get(eng, keep[i], &d); /* versions outlive us */
		proto_program_of_def(&d, &p);
		proto_enc_program(&w, &p);
	}
out:
	free(ids);
	free(keep);
}

/* ---- tenants, statistics, the clock --------------------------------------------------------- */

void srv_do_tenant_add(srv_conn *c, const mtgate_wire_header *h,
		       const uint8_t *b)
{
	char key[SRV_KEY_LEN + 1];
	const uint8_t *name;
	uint16_t nl = 0;
	int64_t id;
	proto_rd rd;
	proto_wr w;
	uint8_t *o;

	if (!srv_operator_only(c, h))
		return;
	proto_rd_init(&rd, b, h->body_len);
	name = proto_rd_str(&rd, &nl);
	if (!proto_rd_done(&rd) || !srv_no_nul(name, nl)) {
		srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_BODY,
				"TENANT_ADD body is u16 length and a name");
		return;
	}
	id = srv_auth_add_tenant(c->th->s->auth, (const char *)name, nl, key);
	if (id < 0) {
		srv_reply_engine(c, h->opcode, h->tag, (int)id);
		return;
	}
	if ((o = srv_reply(c, h->opcode, h->tag, 0,
			   sizeof(mtgate_wire_tenant_resp) + SRV_KEY_LEN))) {
		mtgate_wire_tenant_resp r = {(uint32_t)id, SRV_KEY_LEN, 0};
		proto_wr_init(&w, o, sizeof(r) + SRV_KEY_LEN);
		proto_enc_tenant_resp(&w, &r);
		proto_wr_bytes(&w, key, SRV_KEY_LEN);
	}
}

void srv_do_stats(srv_conn *c, const mtgate_wire_header *h)
{
	srv *s = c->th->s;
	uint64_t v[MTGATE_STAT_MAX] = {0};
	mtgate_wire_stats_resp r = {.count = MTGATE_STAT_MAX};
	size_t len = sizeof(r) + sizeof(v);
	mtgate_stats st;
	proto_wr w;
	uint8_t *o;

	mtgate_engine_stats(s->eng, &st);
	v[MTGATE_STAT_CONSENTS] = st.consents;
	v[MTGATE_STAT_STORE_BYTES] = st.store_bytes;
	v[MTGATE_STAT_COMMITS] = st.commits;
	v[MTGATE_STAT_CHANGES] = st.changes;
	v[MTGATE_STAT_COUNTER_FLUSHES] = st.counter_flushes;
	v[MTGATE_STAT_GATES] = st.gates;
	v[MTGATE_STAT_CONNECTIONS] = atomic_load(&s->connections);
	for (unsigned i = 0; i < s->nthreads; i++) {
		srv_thread *t = &s->threads[i];
		v[MTGATE_STAT_FRAMES_IN] += atomic_load(&t->frames_in);
		v[MTGATE_STAT_FRAMES_OUT] += atomic_load(&t->frames_out);
		v[MTGATE_STAT_PROTOCOL_ERRORS] +=
			atomic_load(&t->protocol_errors);
	}
	v[MTGATE_STAT_UPTIME_MS] = (uint64_t)srv_uptime_ms(s);
	v[MTGATE_STAT_READONLY] = st.readonly;
	v[MTGATE_STAT_RECOVERED] = st.recovered;
	v[MTGATE_STAT_RECOVERY_MS] = st.recovery_ms;
	if ((o = srv_reply(c, h->opcode, h->tag, 0, (uint32_t)len))) {
		proto_wr_init(&w, o, len);
		proto_enc_stats_resp(&w, &r);
		for (int i = 0; i < MTGATE_STAT_MAX; i++)
			proto_wr_u64(&w, v[i]);
	}
}

void srv_do_clock(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b)
{
	srv *s = c->th->s;
	mtgate_wire_clock_req q;
	mtgate_wire_clock_resp r;
	proto_rd rd;
	proto_wr w;
	uint8_t *o;

	proto_rd_init(&rd, b, h->body_len);
	proto_dec_clock_req(&rd, &q);
	if (!srv_body_is(c, h, sizeof(q), "CLOCK"))
		return;
	if (!s->cfg.test_clock) {
		srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_CLOCK_DISABLED,
				"the server is not running with --test-clock");
		return;
	}
	if (q.op > MTGATE_CLOCK_ADVANCE ||
	    (q.op == MTGATE_CLOCK_SET && q.value_ms < 0) ||
	    (q.op == MTGATE_CLOCK_ADVANCE && q.value_ms < 0)) {
		srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_BODY,
				"CLOCK op is 0 read, 1 set (a time), 2 advance "
				"(by milliseconds >= 0)");
		return;
	}
	if (q.op == MTGATE_CLOCK_SET)
		atomic_store(&s->test_now_ms, q.value_ms);
	else if (q.op == MTGATE_CLOCK_ADVANCE)
		atomic_fetch_add(&s->test_now_ms, q.value_ms);
	r.now_ms = atomic_load(&s->test_now_ms);
	if ((o = srv_reply(c, h->opcode, h->tag, 0, sizeof(r)))) {
		proto_wr_init(&w, o, sizeof(r));
		proto_enc_clock_resp(&w, &r);
	}
}

/*
 * The bulk paths and the audit trail's requests (docs/protocol.md, 0x90 ..
 * 0x96).
 *
 * IMPORT and DEACT_LIST carry up to MTGATE_PROTO_BULK_MAX rows. The
 * connection's thread checks every row, answers a bad one with its own
 * status, and splits the good ones by shard into parts (one srv_op each).
 * Each part runs on its shard's owner: every row becomes one change
 * submitted without waiting (mtgate_owner_submit), so a frame's changes
 * share the committer's group commits. A part returns to the connection's
 * thread once all its rows are durable (or failed); the answer is written
 * when the last part is back, so a row reported is never lost.
 *
 * AUDIT, EXPORT, SUMMARY, FEED_READ and FEED_ACK are checked on the
 * connection's thread and run as jobs on the reader (reader.c): they read
 * storage at length (SUMMARY scans every consent) or wait for an fsync
 * (FEED_ACK), and a core thread must never wait on them. The job encodes
 * the whole answer body; the connection's thread writes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/codec.h"
#include "server/server.h"
#include "util/assert.h"

/* ---- IMPORT and DEACT_LIST -------------------------------------------------------------- */

typedef struct bulk {
	srv_conn *c;
	uint64_t tag;
	uint8_t opcode;
	uint32_t n;
	uint32_t parts_left;
	uint32_t changed, unchanged; /* DEACT_LIST: matched, voided */
	uint16_t *status;            /* n */
} bulk;

typedef struct bulk_part bulk_part;

typedef struct bulk_row {
	bulk_part *part;
	uint32_t pos; /* in the request */
	uint16_t status;
	bool changed, matched;
	uint32_t consents;
} bulk_row;

struct bulk_part {
	bulk *b;
	srv_op *op;
	uint32_t n, n_done;
	mtgate_change *chg; /* n */
	bulk_row *rows;     /* n */
	char *src;          /* the rows' sources, NUL-terminated */
};

static void bulk_reply(bulk *b)
{
	mtgate_wire_bulk_resp r = {.count = b->n,
				   .changed = b->changed,
				   .unchanged = b->unchanged};
	size_t len = sizeof(r) + 2 * (size_t)b->n;
	proto_wr w;
	uint8_t *p;

	for (uint32_t i = 0; i < b->n; i++)
		r.rejected += b->status[i] != 0;
	if ((p = srv_reply(b->c, b->opcode, b->tag, 0, (uint32_t)len))) {
		proto_wr_init(&w, p, len);
		proto_enc_bulk_resp(&w, &r);
		for (uint32_t i = 0; i < b->n; i++)
			proto_wr_u16(&w, b->status[i]);
	}
	b->c->rows -= b->n;
	srv_conn_release(b->c);
	free(b->status);
	free(b);
}

static void bulk_part_free(bulk_part *part)
{
	free(part->chg);
	free(part->rows);
	free(part->src);
	free(part);
}

/* On the connection's thread: a part is back. */
static void bulk_part_finish(srv_op *op)
{
	bulk_part *part = srv_op_arg(op);
	bulk *b = part->b;
	int err = srv_op_status(op);
	bool deact = b->opcode == MTGATE_OPC_DEACT_LIST;

	for (uint32_t i = 0; i < part->n; i++) {
		const bulk_row *r = &part->rows[i];
		uint16_t st = err < 0 ? (uint16_t)proto_status_of_engine(err)
				      : r->status;
		b->status[r->pos] = st;
		if (st != 0)
			continue;
		if (deact) {
			b->changed += r->matched;
			b->unchanged += r->consents;
		} else if (r->changed) {
			b->changed++;
		} else {
			b->unchanged++;
		}
	}
	srv_op_free(op);
	bulk_part_free(part);
	if (--b->parts_left == 0)
		bulk_reply(b);
}

static void bulk_row_done(void *arg, int status, mtgate_outcome outcome,
			  uint32_t consents)
{
	bulk_row *r = arg;
	bulk_part *part = r->part;

	r->status = status < 0 ? (uint16_t)proto_status_of_engine(status) : 0;
	r->changed = status == 0 && outcome == MTGATE_CHANGED;
	r->consents = status == 0 && outcome == MTGATE_CHANGED ? consents : 0;
	if (++part->n_done == part->n)
		srv_op_return(part->op);
}

/* On the owner: submit every row of the part. */
static void bulk_part_run(mtgate_engine *eng, void *arg)
{
	bulk_part *part = srv_op_arg(arg);
	uint32_t n = part->n;

	for (uint32_t i = 0; i < n; i++) {
		bulk_row *r = &part->rows[i];
		int rc;
		if (part->chg[i].op == MTGATE_OP_DEACTIVATE)
			r->matched =
				mtgate_owner_known(eng, part->chg[i].number);
		rc = mtgate_owner_submit(eng, &part->chg[i], bulk_row_done, r);
		if (rc < 0)
			bulk_row_done(r, rc, 0, 0);
	}
}

/* The rows of a request after checking, before splitting. */
typedef struct bulk_in {
	mtgate_change *chg; /* n; number 0 = rejected */
	const uint8_t **src;
	uint16_t *src_len;
	unsigned *shard;
} bulk_in;

static bool channel_importable(uint8_t ch)
{
	return ch != MTGATE_CHANNEL_NONE && ch != MTGATE_CHANNEL_CARRIER &&
	       ch < MTGATE_CHANNEL_MAX;
}

/* IMPORT's rows into in; statuses of bad rows into b->status. Returns
 * false after answering a malformed request. */
static bool import_rows(srv_conn *c, const mtgate_wire_header *h,
			const uint8_t *body, bulk *b, bulk_in *in)
{
	mtgate_wire_import_req q;
	size_t want;
	const uint8_t *src;
	proto_rd rd;

	proto_rd_init(&rd, body, h->body_len);
	proto_dec_import_req(&rd, &q);
	want = sizeof(q) + (size_t)q.count * sizeof(mtgate_wire_import_row);
	if (h->body_len < want)
		return srv_body_at_least(c, h, (uint32_t)want, "IMPORT");
	b->n = q.count;
	src = body + want;
	for (uint32_t i = 0; i < q.count; i++) {
		mtgate_wire_import_row r;
		proto_dec_import_row(&rd, &r);
		want += r.source_len;
		in->src_len[i] = r.source_len;
		in->chg[i] = (mtgate_change){.op = MTGATE_OP_OPTIN,
					     .number = r.number,
					     .program = r.program,
					     .channel = r.channel,
					     .at_ms = r.at_ms,
					     .actor = srv_actor(c)};
	}
	if (!srv_body_is(c, h, (uint32_t)want, "IMPORT"))
		return false;
	for (uint32_t i = 0; i < q.count; i++) {
		mtgate_change *g = &in->chg[i];
		int rc;
		in->src[i] = src;
		src += in->src_len[i];
		if (!proto_number_ok(g->number))
			b->status[i] = MTGATE_ST_BAD_NUMBER;
		else if (!channel_importable((uint8_t)g->channel) ||
			 in->src_len[i] > MTGATE_SOURCE_MAX ||
			 !srv_no_nul(in->src[i], in->src_len[i]))
			b->status[i] = MTGATE_ST_BAD_BODY;
		else if ((rc = srv_program_scope(c, g->program, NULL)) < 0)
			b->status[i] = (uint16_t)proto_status_of_engine(rc);
		if (b->status[i] != 0)
			g->number = 0;
	}
	return true;
}

static bool deact_rows(srv_conn *c, const mtgate_wire_header *h,
		       const uint8_t *body, bulk *b, bulk_in *in)
{
	mtgate_wire_deact_list_req q;
	const uint8_t *src;
	size_t want;
	proto_rd rd;

	proto_rd_init(&rd, body, h->body_len);
	proto_dec_deact_list_req(&rd, &q);
	want = sizeof(q) + q.source_len +
	       (size_t)q.count * sizeof(mtgate_wire_deact_entry);
	if (!srv_body_is(c, h, (uint32_t)want, "DEACT_LIST"))
		return false;
	src = proto_rd_bytes(&rd, q.source_len);
	if (!srv_source_ok(c, h, src, q.source_len))
		return false;
	if (q.reason != MTGATE_DEACT_DISCONNECT &&
	    q.reason != MTGATE_DEACT_PORT) {
		srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_BODY,
				"DEACT_LIST reason must be 1 (disconnect) or 2 "
				"(port)");
		return false;
	}
	b->n = q.count;
	for (uint32_t i = 0; i < q.count; i++) {
		mtgate_wire_deact_entry e;
		proto_dec_deact_entry(&rd, &e);
		in->src[i] = src;
		in->src_len[i] = q.source_len;
		in->chg[i] = (mtgate_change){.op = MTGATE_OP_DEACTIVATE,
					     .number = e.number,
					     .reason = q.reason,
					     .channel = MTGATE_CHANNEL_CARRIER,
					     .at_ms = e.at_ms,
					     .actor = srv_actor(c)};
		if (!proto_number_ok(e.number)) {
			b->status[i] = MTGATE_ST_BAD_NUMBER;
			in->chg[i].number = 0;
		}
	}
	return true;
}

/* A part for shard with the rows of in that belong to it. */
static bulk_part *bulk_part_new(srv_conn *c, bulk *b, const bulk_in *in,
				unsigned shard, uint32_t n)
{
	bulk_part *part = calloc(1, sizeof(*part));
	size_t src_bytes = 0;
	uint32_t k = 0;
	char *w;

	for (uint32_t i = 0; i < b->n; i++)
		if (in->chg[i].number != 0 && in->shard[i] == shard)
			src_bytes += in->src_len[i] + 1u;
	if (part == NULL ||
	    (part->chg = calloc(n, sizeof(*part->chg))) == NULL ||
	    (part->rows = calloc(n, sizeof(*part->rows))) == NULL ||
	    (part->src = malloc(src_bytes)) == NULL ||
	    (part->op = srv_op_new(c, shard, part, bulk_part_finish)) == NULL) {
		if (part != NULL)
			bulk_part_free(part);
		return NULL;
	}
	part->b = b;
	part->n = n;
	w = part->src;
	for (uint32_t i = 0; i < b->n; i++) {
		if (in->chg[i].number == 0 || in->shard[i] != shard)
			continue;
		part->chg[k] = in->chg[i];
		memcpy(w, in->src[i], in->src_len[i]);
		w[in->src_len[i]] = '\0';
		part->chg[k].source = in->src_len[i] ? w : NULL;
		w += in->src_len[i] + 1u;
		part->rows[k] = (bulk_row){.part = part, .pos = i};
		k++;
	}
	MTG_ASSERT(k == n);
	return part;
}

static void bulk_in_free(bulk_in *in)
{
	free(in->chg);
	free(in->src);
	free(in->src_len);
	free(in->shard);
}

void srv_do_bulk(srv_conn *c, const mtgate_wire_header *h, const uint8_t *body)
{
	bool imp = h->opcode == MTGATE_OPC_IMPORT;
	const char *what = imp ? "IMPORT" : "DEACT_LIST";
	mtgate_engine *eng = c->th->s->eng;
	uint32_t *per_shard = NULL, n;
	bulk_in in = {0};
	char msg[64];
	proto_rd rd;
	bulk *b;

	/* Both requests start with the count: checked before anything is
	 * allocated for the rows. */
	if ((!imp && !srv_operator_only(c, h)) ||
	    !srv_body_at_least(c, h, 8, what))
		return;
	proto_rd_init(&rd, body, h->body_len);
	n = proto_rd_u32(&rd);
	if (n == 0 || n > MTGATE_PROTO_BULK_MAX) {
		snprintf(msg, sizeof(msg), "%s count must be 1 to %u", what,
			 MTGATE_PROTO_BULK_MAX);
		srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BATCH_TOO_LARGE,
				msg);
		return;
	}
	b = calloc(1, sizeof(*b));
	in.chg = calloc(n, sizeof(*in.chg));
	in.src = calloc(n, sizeof(*in.src));
	in.src_len = calloc(n, sizeof(*in.src_len));
	in.shard = calloc(n, sizeof(*in.shard));
	per_shard = calloc(c->th->s->nthreads, sizeof(*per_shard));
	if (b == NULL || in.chg == NULL || in.src == NULL ||
	    in.src_len == NULL || in.shard == NULL || per_shard == NULL ||
	    (b->status = calloc(n, sizeof(*b->status))) == NULL) {
		srv_reply_engine(c, h->opcode, h->tag, MTGATE_ENOMEM);
		goto out;
	}
	b->c = c;
	b->tag = h->tag;
	b->opcode = h->opcode;
	if (!(imp ? import_rows(c, h, body, b, &in)
		  : deact_rows(c, h, body, b, &in)))
		goto out;
	for (uint32_t i = 0; i < b->n; i++) {
		if (in.chg[i].number == 0)
			continue;
		in.shard[i] = mtgate_shard_of(eng, in.chg[i].number);
		per_shard[in.shard[i]]++;
	}
	c->inflight++;
	c->rows += b->n;   /* paces the connection (io.c conn_pace) */
	b->parts_left = 1; /* until every part is posted */
	for (unsigned s = 0; s < c->th->s->nthreads; s++) {
		bulk_part *part;
		if (per_shard[s] == 0)
			continue;
		part = bulk_part_new(c, b, &in, s, per_shard[s]);
		if (part == NULL) {
			for (uint32_t i = 0; i < b->n; i++)
				if (in.chg[i].number != 0 && in.shard[i] == s)
					b->status[i] = (uint16_t)
						proto_status_of_engine(
							MTGATE_ENOMEM);
			continue;
		}
		b->parts_left++;
		srv_op_post(c, part->op, bulk_part_run);
	}
	if (--b->parts_left == 0)
		bulk_reply(b);
	b = NULL; /* answered, or owned by its parts */
out:
	if (b != NULL) {
		free(b->status);
		free(b);
	}
	bulk_in_free(&in);
	free(per_shard);
}

/* ---- the reading requests, run on the reader ------------------------------------------ */

/* A request for the reader: what it asks, and then its answer. */
typedef struct rjob {
	srv_job job;
	srv_op *op;
	srv_conn *c; /* touched on the connection's thread only */
	mtgate_engine *eng;
	uint8_t opcode;
	uint64_t tag;
	uint32_t tenant; /* the credential's, when it was asked */
	int64_t now_ms;
	union {
		mtgate_wire_audit_req audit;
		mtgate_wire_export_req exp;
		mtgate_wire_summary_req summary;
		mtgate_wire_feed_read_req feed;
		mtgate_wire_feed_ack_req ack;
	} q;
	int err;       /* the engine's error, or 0 */
	uint8_t *body; /* the answer's body (malloc'd) */
	size_t len;
} rjob;

/* On the connection's thread: write the answer. */
static void rjob_finish(srv_op *op)
{
	rjob *j = srv_op_arg(op);
	int err = j->err < 0 ? j->err : srv_op_status(op);
	uint8_t *p;

	if (err < 0)
		srv_reply_engine(j->c, j->opcode, j->tag, err);
	else if ((p = srv_reply(j->c, j->opcode, j->tag, 0,
				(uint32_t)j->len)) != NULL &&
		 j->len > 0)
		memcpy(p, j->body, j->len);
	srv_conn_release(j->c);
	srv_op_free(op);
	free(j->body);
	free(j);
}

static void rjob_drop(srv_job *job)
{
	rjob *j = (rjob *)job;

	srv_op_free(j->op);
	free(j->body);
	free(j);
}

/* A job for c's request h, to be run by run on the reader; the caller
 * fills j->q. NULL after answering ENOMEM. */
static rjob *rjob_new(srv_conn *c, const mtgate_wire_header *h,
		      void (*run)(srv_job *j))
{
	rjob *j = calloc(1, sizeof(*j));

	if (j == NULL ||
	    (j->op = srv_op_new(c, c->th->idx, j, rjob_finish)) == NULL) {
		free(j);
		srv_reply_engine(c, h->opcode, h->tag, MTGATE_ENOMEM);
		return NULL;
	}
	j->job.run = run;
	j->job.drop = rjob_drop;
	j->c = c;
	j->eng = c->th->s->eng;
	j->opcode = h->opcode;
	j->tag = h->tag;
	j->tenant = c->tenant;
	j->now_ms = srv_now_ms(c->th->s);
	return j;
}

static void rjob_post(srv_conn *c, rjob *j)
{
	c->inflight++;
	srv_reader_post(c->th->s, &j->job);
}

/* The answer body: len bytes, written through *w. NULL when out of
 * memory (j->err is set). */
static uint8_t *rjob_body(rjob *j, size_t len, proto_wr *w)
{
	if ((j->body = malloc(len ? len : 1)) == NULL) {
		j->err = MTGATE_ENOMEM;
		return NULL;
	}
	j->len = len;
	proto_wr_init(w, j->body, len);
	return j->body;
}

/* ---- AUDIT and FEED_READ -------------------------------------------------------------- */

#define AUDIT_RECS_MAX                                                         \
	((MTGATE_FRAME_BODY_MAX - sizeof(mtgate_wire_feed_resp)) /             \
	 (sizeof(mtgate_wire_audit_rec) + MTGATE_SOURCE_MAX))

static uint32_t records_cap(uint32_t max, uint32_t most)
{
	return max == 0 || max > most ? most : max;
}

static size_t audit_recs_len(const mtgate_audit_rec *a, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += sizeof(mtgate_wire_audit_rec) + strlen(a[i].source);
	return len;
}

/* The answer: head (hlen bytes, encoded), then the records. */
static void audit_answer(rjob *j, const uint8_t *head, size_t hlen,
			 const mtgate_audit_rec *a, size_t n)
{
	proto_wr w;

	if (rjob_body(j, hlen + audit_recs_len(a, n), &w) == NULL)
		return;
	proto_wr_bytes(&w, head, hlen);
	for (size_t i = 0; i < n; i++) {
		size_t sl = strlen(a[i].source);
		mtgate_wire_audit_rec r = {.seq = a[i].seq,
					   .at_ms = a[i].at_ms,
					   .number = a[i].number,
					   .changed_at_ms = a[i].changed_at_ms,
					   .program = a[i].program,
					   .actor = a[i].actor,
					   .old_state = a[i].old_state,
					   .new_state = a[i].new_state,
					   .channel = a[i].channel,
					   .voided_by = a[i].voided_by,
					   .cause = a[i].cause,
					   .source_len = (uint16_t)sl};
		proto_enc_audit_rec(&w, &r);
		proto_wr_bytes(&w, a[i].source, sl);
	}
}

static void audit_run(srv_job *job)
{
	rjob *j = (rjob *)job;
	uint8_t head[sizeof(mtgate_wire_audit_resp)];
	uint32_t cap = records_cap(j->q.audit.max, AUDIT_RECS_MAX);
	mtgate_audit_rec *a = malloc(cap * sizeof(*a));
	size_t n = 0;
	bool more = false;
	proto_wr w;

	j->err = a == NULL
			 ? MTGATE_ENOMEM
			 : mtgate_audit_list(j->eng, j->tenant,
					     j->q.audit.number, j->q.audit.skip,
					     a, cap, &n, &more);
	if (j->err == 0) {
		proto_wr_init(&w, head, sizeof(head));
		proto_enc_audit_resp(
			&w, &(mtgate_wire_audit_resp){(uint32_t)n, more});
		audit_answer(j, head, sizeof(head), a, n);
	}
	free(a);
	srv_op_send_home(j->op);
}

void srv_do_audit(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b)
{
	proto_rd rd;
	rjob *j;

	if (!srv_body_is(c, h, sizeof(mtgate_wire_audit_req), "AUDIT") ||
	    (j = rjob_new(c, h, audit_run)) == NULL)
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_audit_req(&rd, &j->q.audit);
	if (!srv_number_ok(c, h, j->q.audit.number)) {
		rjob_drop(&j->job);
		return;
	}
	rjob_post(c, j);
}

/* The feed a credential reads: its tenant's; the operator's is tenant 0's. */
static uint32_t feed_tenant(uint32_t tenant)
{
	return tenant == MTGATE_TENANT_ANY ? 0 : tenant;
}

static void feed_run(srv_job *job)
{
	rjob *j = (rjob *)job;
	uint8_t head[sizeof(mtgate_wire_feed_resp)];
	uint32_t cap = records_cap(j->q.feed.max, AUDIT_RECS_MAX);
	mtgate_audit_rec *a = malloc(cap * sizeof(*a));
	uint64_t next = 0;
	size_t n = 0;
	proto_wr w;

	j->err = a == NULL ? MTGATE_ENOMEM
			   : mtgate_feed_read(j->eng, feed_tenant(j->tenant),
					      j->q.feed.from, j->now_ms, a, cap,
					      &n, &next);
	if (j->err == 0) {
		proto_wr_init(&w, head, sizeof(head));
		proto_enc_feed_resp(
			&w, &(mtgate_wire_feed_resp){.count = (uint32_t)n,
						     .next = next});
		audit_answer(j, head, sizeof(head), a, n);
	}
	free(a);
	srv_op_send_home(j->op);
}

void srv_do_feed_read(srv_conn *c, const mtgate_wire_header *h,
		      const uint8_t *b)
{
	proto_rd rd;
	rjob *j;

	if (!srv_body_is(c, h, sizeof(mtgate_wire_feed_read_req),
			 "FEED_READ") ||
	    (j = rjob_new(c, h, feed_run)) == NULL)
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_feed_read_req(&rd, &j->q.feed);
	rjob_post(c, j);
}

static void ack_run(srv_job *job)
{
	rjob *j = (rjob *)job;

	j->err = mtgate_feed_ack(j->eng, feed_tenant(j->tenant),
				 j->q.ack.position);
	srv_op_send_home(j->op);
}

void srv_do_feed_ack(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b)
{
	proto_rd rd;
	rjob *j;

	if (!srv_body_is(c, h, sizeof(mtgate_wire_feed_ack_req), "FEED_ACK") ||
	    (j = rjob_new(c, h, ack_run)) == NULL)
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_feed_ack_req(&rd, &j->q.ack);
	rjob_post(c, j);
}

/* ---- EXPORT and SUMMARY ---------------------------------------------------------------- */

#define EXPORT_RECS_MAX                                                        \
	((MTGATE_FRAME_BODY_MAX - sizeof(mtgate_wire_export_resp)) /           \
	 (sizeof(mtgate_wire_export_rec) + MTGATE_SOURCE_MAX))

static void export_run(srv_job *job)
{
	rjob *j = (rjob *)job;
	const mtgate_wire_export_req *q = &j->q.exp;
	uint32_t cap = records_cap(q->max, EXPORT_RECS_MAX);
	mtgate_export_rec *e = malloc(cap * sizeof(*e));
	mtgate_wire_export_resp r = {0};
	size_t n = 0, len;
	bool more = false;
	proto_wr w;

	j->err = e == NULL ? MTGATE_ENOMEM
			   : mtgate_export(j->eng, q->program, q->after_number,
					   e, cap, &n, &more);
	if (j->err == 0) {
		r.count = (uint32_t)n;
		r.more = more;
		r.next_after = n > 0 ? e[n - 1].number : q->after_number;
		len = sizeof(r);
		for (size_t i = 0; i < n; i++)
			len += sizeof(mtgate_wire_export_rec) +
			       strlen(e[i].source);
		if (rjob_body(j, len, &w) != NULL) {
			proto_enc_export_resp(&w, &r);
			for (size_t i = 0; i < n; i++) {
				size_t sl = strlen(e[i].source);
				mtgate_wire_export_rec x = {
					.number = e[i].number,
					.changed_at_ms = e[i].changed_at_ms,
					.channel = e[i].channel,
					.source_len = (uint16_t)sl};
				proto_enc_export_rec(&w, &x);
				proto_wr_bytes(&w, e[i].source, sl);
			}
		}
	}
	free(e);
	srv_op_send_home(j->op);
}

void srv_do_export(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b)
{
	proto_rd rd;
	rjob *j;
	int rc;

	if (!srv_body_is(c, h, sizeof(mtgate_wire_export_req), "EXPORT") ||
	    (j = rjob_new(c, h, export_run)) == NULL)
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_export_req(&rd, &j->q.exp);
	if ((rc = srv_program_scope(c, j->q.exp.program, NULL)) < 0) {
		srv_reply_engine(c, h->opcode, h->tag, rc);
		rjob_drop(&j->job);
		return;
	}
	rjob_post(c, j);
}

#define SUMMARY_RECS_MAX                                                       \
	((MTGATE_FRAME_BODY_MAX - sizeof(mtgate_wire_summary_resp)) /          \
	 sizeof(mtgate_wire_summary_rec))
#define DAY_MS 86400000LL

static void summary_run(srv_job *job)
{
	rjob *j = (rjob *)job;
	int64_t day = j->q.summary.day_ms;
	mtgate_summary_rec *s = malloc(SUMMARY_RECS_MAX * sizeof(*s));
	mtgate_wire_summary_resp r = {0};
	size_t n = 0;
	proto_wr w;

	j->err = s == NULL ? MTGATE_ENOMEM
			   : mtgate_summary(j->eng, feed_tenant(j->tenant), day,
					    s, SUMMARY_RECS_MAX, &n);
	if (n > SUMMARY_RECS_MAX)
		n = SUMMARY_RECS_MAX;
	r.count = (uint32_t)n;
	r.day_start_ms = day;
	if (j->err == 0 &&
	    rjob_body(j, sizeof(r) + n * sizeof(mtgate_wire_summary_rec), &w) !=
		    NULL) {
		proto_enc_summary_resp(&w, &r);
		for (size_t i = 0; i < n; i++) {
			mtgate_wire_summary_rec x = {
				.program = s[i].program,
				.opted_in = s[i].opted_in,
				.opted_out = s[i].opted_out,
				.pending = s[i].pending,
				.voided = s[i].voided,
				.day_optins = s[i].day_optins,
				.day_optouts = s[i].day_optouts,
				.day_other = s[i].day_other};
			proto_enc_summary_rec(&w, &x);
		}
	}
	free(s);
	srv_op_send_home(j->op);
}

void srv_do_summary(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b)
{
	proto_rd rd;
	rjob *j;
	int64_t day;

	if (!srv_body_is(c, h, sizeof(mtgate_wire_summary_req), "SUMMARY") ||
	    (j = rjob_new(c, h, summary_run)) == NULL)
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_summary_req(&rd, &j->q.summary);
	day = j->q.summary.day_ms != 0 ? j->q.summary.day_ms : j->now_ms;
	if (day < 0) {
		srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_BODY,
				"SUMMARY day_ms must not be before 1970");
		rjob_drop(&j->job);
		return;
	}
	j->q.summary.day_ms = day - day % DAY_MS;
	rjob_post(c, j);
}

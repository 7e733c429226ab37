/*
 * Requests: one handler per opcode (docs/protocol.md), the scope rules of
 * TEN-1, and the ops that carry a request to the thread owning its shard.
 *
 * Every handler checks the body's exact length and every value before it
 * acts, and answers a bad one with the documented status and a text that
 * names the problem. A handler runs on the connection's thread. Decisions
 * for the thread's own shard are made inline; anything else becomes an
 * srv_op (server.h) answered later from srv_op_finish, on the same thread.
 *
 * Three kinds of op: a part of a gate batch (OP_GATE), consent changes of
 * one number (OP_CHANGE: OPTIN, OPTOUT, DEACTIVATE, and for rules.c
 * DOI_REQUEST, DOI_RENOTIFY, BILL_RESULT) and an MO (OP_MO). Changes and
 * MOs run on the owner of the number's shard without waiting and are
 * answered once durable; an MO that changes nothing is answered at once
 * (the engine then calls its done before mtgate_owner_mo returns).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/codec.h"
#include "server/server.h"
#include "util/assert.h"

/* ---- ops ------------------------------------------------------------------------------ */

enum op_kind { OP_GATE = 1, OP_CHANGE, OP_MO, OP_EXT };

typedef struct srv_batch srv_batch;

struct srv_op {
	srv_op *next; /* inbox link; must stay first */
	enum op_kind kind;
	srv_conn *c;
	srv_thread *home; /* the connection's thread */
	unsigned shard;
	uint32_t tenant;
	/* OP_GATE: a part of a batch for one shard */
	srv_batch *batch;
	mtgate_mode mode;
	int64_t now_ms;
	uint32_t n;
	uint32_t *idx;         /* positions in the batch */
	mtgate_gate_req *reqs; /* n requests */
	mtgate_reason *out;    /* n answers */
	int status;
	/* OP_CHANGE: changes of one number, applied in order */
	uint64_t tag;
	uint8_t opcode;
	uint32_t n_chg, n_done, changed, unchanged;
	int first_err; /* also OP_MO's */
	mtgate_change *chg;
	char source[MTGATE_SOURCE_MAX + 1];
	/* answered with this text (u16 len + text) instead of change_resp
	 * when set: a program's confirm text, which lives until the engine
	 * closes (program versions are kept until then) */
	const char *answer_text;
	/* OP_MO: the message, and its result (allocated with the op) */
	uint64_t number;
	char sc[MTGATE_SHORTCODE_MAX + 1];
	const char *text;
	size_t text_len;
	mtgate_mo_result *mo;
	/* OP_EXT: another handler file's work (srv_op_new) */
	void *arg;
	void (*finish)(srv_op *op);
};

/* A GATE or GATE_BATCH whose parts are spread over threads. */
struct srv_batch {
	srv_conn *c;
	uint64_t tag;
	uint8_t opcode;
	uint32_t n;
	uint32_t parts_left;
	int status;
	mtgate_reason *out;
};

/* The fields every op has: its kind, its connection and shard. */
static void op_init(srv_op *op, enum op_kind kind, srv_conn *c, unsigned shard)
{
	op->kind = kind;
	op->c = c;
	op->home = c->th;
	op->shard = shard;
	op->tenant = c->tenant;
}

static srv_thread *owner_of(srv *s, unsigned shard)
{
	return &s->threads[shard];
}

/* Hand a finished op back to its connection's thread. Runs on the owner. */
static void op_return(srv_thread *owner, srv_op *op)
{
	srv_thread *home = op->home;

	if (home == owner)
		srv_op_finish(home, op);
	else
		srv_op_send_home(op);
}

void srv_reply_engine(srv_conn *c, uint8_t opcode, uint64_t tag, int err)
{
	srv_reply_error(c, opcode, tag, proto_status_of_engine(err),
			mtgate_strerror(err));
}

/* ---- gate ops ------------------------------------------------------------------------- */

static void gate_run(mtgate_engine *eng, void *arg)
{
	srv_op *op = arg;

	op->status =
		mtgate_owner_gate_batch_as(eng, op->tenant, op->reqs, op->n,
					   op->mode, op->now_ms, op->out);
	op_return(owner_of(op->home->s, op->shard), op);
}

static void batch_reply(srv_batch *b)
{
	srv_conn *c = b->c;
	uint8_t *p;

	if (b->status < 0) {
		srv_reply_engine(c, b->opcode, b->tag, b->status);
	} else if (b->opcode == MTGATE_OPC_GATE) {
		mtgate_wire_gate_resp r = {.reason = (uint8_t)b->out[0]};
		proto_wr w;
		if ((p = srv_reply(c, b->opcode, b->tag, 0, sizeof(r)))) {
			proto_wr_init(&w, p, sizeof(r));
			proto_enc_gate_resp(&w, &r);
		}
	} else {
		mtgate_wire_batch_resp r = {.count = b->n};
		proto_wr w;
		if ((p = srv_reply(c, b->opcode, b->tag, 0,
				   (uint32_t)sizeof(r) + b->n))) {
			proto_wr_init(&w, p, sizeof(r) + b->n);
			proto_enc_batch_resp(&w, &r);
			for (uint32_t i = 0; i < b->n; i++)
				proto_wr_u8(&w, (uint8_t)b->out[i]);
		}
	}
	free(b->out);
	free(b);
	srv_conn_release(c);
}

static void gate_part_done(srv_op *op)
{
	srv_batch *b = op->batch;

	if (op->status < 0 && b->status == 0)
		b->status = op->status;
	for (uint32_t i = 0; i < op->n; i++)
		b->out[op->idx[i]] = op->out[i];
	free(op);
	if (--b->parts_left == 0)
		batch_reply(b);
}

/* A part of a batch for another thread's shard: positions and requests
 * copied into one allocation with the op. */
static srv_op *gate_part_new(srv_batch *b, srv_conn *c, unsigned shard,
			     uint32_t n)
{
	srv_op *op = calloc(1, sizeof(*op) + n * (sizeof(uint32_t) +
						  sizeof(mtgate_gate_req) +
						  sizeof(mtgate_reason)));

	if (op == NULL)
		return NULL;
	op_init(op, OP_GATE, c, shard);
	op->batch = b;
	op->reqs = (mtgate_gate_req *)(op + 1);
	op->out = (mtgate_reason *)(op->reqs + n);
	op->idx = (uint32_t *)(op->out + n);
	return op;
}

/* ---- change ops ----------------------------------------------------------------------- */

static void change_reply(srv_op *op)
{
	srv_conn *c = op->c;
	mtgate_wire_change_resp r = {op->changed, op->unchanged};
	size_t tl = op->answer_text ? strlen(op->answer_text) : 0;
	proto_wr w;
	uint8_t *p;

	MTG_ASSERT(tl <= MTGATE_TEXT_MAX);
	if (op->first_err < 0) {
		srv_reply_engine(c, op->opcode, op->tag, op->first_err);
	} else if (op->answer_text != NULL) {
		if ((p = srv_reply(c, op->opcode, op->tag, 0,
				   (uint32_t)(2 + tl)))) {
			proto_wr_init(&w, p, 2 + tl);
			proto_wr_str(&w, op->answer_text, tl);
		}
	} else if ((p = srv_reply(c, op->opcode, op->tag, 0, sizeof(r)))) {
		proto_wr_init(&w, p, sizeof(r));
		proto_enc_change_resp(&w, &r);
	}
	free(op->chg);
	free(op);
	srv_conn_release(c);
}

static void change_done(void *arg, int status, mtgate_outcome outcome,
			uint32_t consents)
{
	srv_op *op = arg;

	if (status < 0 && op->first_err == 0)
		op->first_err = status;
	else if (status == 0 && outcome == MTGATE_CHANGED)
		op->changed += consents; /* a deactivation voids several */
	else if (status == 0)
		op->unchanged++;
	if (++op->n_done == op->n_chg)
		op_return(owner_of(op->home->s, op->shard), op);
}

/* On the owner: start every change of the op; each ends in change_done. */
static void change_run(mtgate_engine *eng, void *arg)
{
	srv_op *op = arg;
	uint32_t n = op->n_chg;

	for (uint32_t i = 0; i < n; i++) {
		int rc = mtgate_owner_submit(eng, &op->chg[i], change_done, op);
		if (rc < 0)
			change_done(op, rc, 0, 0);
	}
}

/* ---- MO ops ------------------------------------------------------------------------- */

/* The answer to an MO: its replies, then its actions (docs/protocol.md). */
static void mo_reply(srv_op *op)
{
	const mtgate_mo_result *m = op->mo;
	srv_conn *c = op->c;
	size_t len = sizeof(mtgate_wire_mo_resp);
	proto_wr w;
	uint8_t *p;

	if (op->first_err < 0) {
		srv_reply_engine(c, op->opcode, op->tag, op->first_err);
		goto out;
	}
	/* The engine's bounds (engine.h), which the wire's u16 counts hold. */
	MTG_ASSERT(m->n_replies <= MTGATE_MO_REPLIES_MAX);
	MTG_ASSERT(m->n_actions <= MTGATE_MO_ACTIONS_MAX);
	for (uint32_t i = 0; i < m->n_replies; i++)
		len += 2 + strnlen(m->reply[i], MTGATE_TEXT_MAX);
	len += (size_t)m->n_actions * sizeof(mtgate_wire_mo_action);
	if ((p = srv_reply(c, op->opcode, op->tag, 0, (uint32_t)len)) == NULL)
		goto out;
	proto_wr_init(&w, p, len);
	proto_enc_mo_resp(&w, &(mtgate_wire_mo_resp){
				      .n_replies = (uint16_t)m->n_replies,
				      .n_actions = (uint16_t)m->n_actions});
	for (uint32_t i = 0; i < m->n_replies; i++)
		proto_wr_str(&w, m->reply[i],
			     strnlen(m->reply[i], MTGATE_TEXT_MAX));
	for (uint32_t i = 0; i < m->n_actions; i++)
		proto_enc_mo_action(&w,
				    &(mtgate_wire_mo_action){
					    .kind = (uint8_t)m->action[i].kind,
					    .program = m->action[i].program});
	MTG_ASSERT(!w.bad && w.p == w.end);
out:
	free(op);
	srv_conn_release(c);
}

/* The MO is durable (or failed). May run inside mtgate_owner_mo, when the
 * MO changed nothing. Runs on the owner. */
static void mo_done(void *arg, int status, mtgate_outcome outcome,
		    uint32_t consents)
{
	srv_op *op = arg;

	(void)outcome;
	(void)consents;
	if (status < 0)
		op->first_err = status;
	op_return(owner_of(op->home->s, op->shard), op);
}

/* On the owner: apply the MO. When it fails at once its done never runs. */
static void mo_run(mtgate_engine *eng, void *arg)
{
	srv_op *op = arg;
	int rc = mtgate_owner_mo(eng, op->tenant, op->number, op->sc, op->text,
				 op->text_len, op->mo, mo_done, op);

	if (rc < 0) {
		op->first_err = rc;
		op_return(owner_of(op->home->s, op->shard), op);
	}
}

void srv_op_finish(srv_thread *th, srv_op *op)
{
	(void)th;
	if (op->kind == OP_GATE)
		gate_part_done(op);
	else if (op->kind == OP_EXT)
		op->finish(op);
	else if (op->kind == OP_MO)
		mo_reply(op);
	else
		change_reply(op);
}

/* Run fn for op on the thread owning its shard: inline on this thread,
 * else through the engine's mailbox. The caller holds c (inflight) until
 * the op's answer is written. */
static void op_dispatch(srv_conn *c, srv_op *op, mtgate_task_fn fn)
{
	mtgate_engine *eng = c->th->s->eng;

	if (op->shard == c->th->idx) {
		fn(eng, op);
		return;
	}
	if (mtgate_post(eng, op->shard, fn, op) < 0) {
		/* Out of memory: answer as the engine would have. */
		if (op->kind == OP_GATE) {
			op->status = MTGATE_ENOMEM;
			gate_part_done(op);
		} else {
			op->first_err = MTGATE_ENOMEM;
			srv_op_finish(c->th, op);
		}
	}
}

/* ---- ops for other handler files ----------------------------------------------------- */

srv_op *srv_op_new(srv_conn *c, unsigned shard, void *arg,
		   void (*finish)(srv_op *op))
{
	srv_op *op = calloc(1, sizeof(*op));

	if (op == NULL)
		return NULL;
	op_init(op, OP_EXT, c, shard);
	op->arg = arg;
	op->finish = finish;
	return op;
}

void *srv_op_arg(srv_op *op)
{
	return op->arg;
}

int srv_op_status(srv_op *op)
{
	return op->first_err;
}

void srv_op_post(srv_conn *c, srv_op *op, mtgate_task_fn run)
{
	op_dispatch(c, op, run);
}

void srv_op_return(srv_op *op)
{
	op_return(owner_of(op->home->s, op->shard), op);
}

void srv_op_send_home(srv_op *op)
{
	srv_thread *home = op->home;
	srv_op *old = atomic_load_explicit(&home->inbox, memory_order_relaxed);

	do {
		op->next = old;
	} while (!atomic_compare_exchange_weak_explicit(&home->inbox, &old, op,
							memory_order_release,
							memory_order_relaxed));
	srv_wake(home);
}

void srv_op_free(srv_op *op)
{
	free(op);
}

/* The credential id of c, for the audit trail: 0 the operator. */
uint32_t srv_actor(const srv_conn *c)
{
	return c->tenant == MTGATE_TENANT_ANY ? 0 : c->tenant;
}

/* ---- small helpers -------------------------------------------------------------------- */

bool srv_body_is(srv_conn *c, const mtgate_wire_header *h, uint32_t want,
		 const char *what)
{
	char msg[96];

	if (h->body_len == want)
		return true;
	snprintf(msg, sizeof(msg), "%s body must be %u bytes, got %u", what,
		 want, h->body_len);
	srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_BODY, msg);
	return false;
}

bool srv_body_at_least(srv_conn *c, const mtgate_wire_header *h, uint32_t want,
		       const char *what)
{
	char msg[96];

	if (h->body_len >= want)
		return true;
	snprintf(msg, sizeof(msg), "%s body must be at least %u bytes, got %u",
		 what, want, h->body_len);
	srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_BODY, msg);
	return false;
}

bool srv_number_ok(srv_conn *c, const mtgate_wire_header *h, uint64_t n)
{
	if (proto_number_ok(n))
		return true;
	srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_NUMBER,
			"number must be 1 to 15 digits (1 to 999999999999999)");
	return false;
}

bool srv_operator_only(srv_conn *c, const mtgate_wire_header *h)
{
	if (c->tenant == MTGATE_TENANT_ANY)
		return true;
	srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_FORBIDDEN,
			"this request needs the operator's key");
	return false;
}

/* May c's credential act on program id? Another tenant's program is
 * answered as unknown, never as forbidden. */
int srv_program_scope(srv_conn *c, uint32_t id, mtgate_program_def *def)
{
	mtgate_program_def d;
	int rc = mtgate_program_get(c->th->s->eng, id, def ? def : &d);

	if (rc < 0)
		return rc;
	if (c->tenant != MTGATE_TENANT_ANY &&
	    (def ? def : &d)->tenant != c->tenant)
		return MTGATE_ENOPROGRAM;
	return 0;
}

/* A string field must not hold a NUL (the engine's strings end at one). */
bool srv_no_nul(const uint8_t *p, size_t n)
{
	return n == 0 || memchr(p, '\0', n) == NULL;
}

/* ---- HELLO and PING ---------------------------------------------------------------- */

static void do_hello(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b)
{
	srv *s = c->th->s;
	mtgate_wire_hello_req q;
	mtgate_wire_hello_resp r;
	const uint8_t *key;
	int64_t id = -1;
	proto_rd rd;
	proto_wr w;
	uint8_t *p;

	proto_rd_init(&rd, b, h->body_len);
	proto_dec_hello_req(&rd, &q);
	key = proto_rd_bytes(&rd, q.key_len);
	if (!proto_rd_done(&rd)) {
		srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_BODY,
				"HELLO body is u16 version, u16 key_len, key");
		return;
	}
	if (q.version != MTGATE_PROTO_VERSION) {
		srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_VERSION,
				"unsupported protocol version (this server "
				"speaks 1)");
		return;
	}
	c->authed = false;
	if (q.key_len <= MTGATE_PROTO_KEY_MAX)
		id = srv_auth_check(s->auth, key, q.key_len);
	if (id < 0) {
		/* One answer for every failure (TEN-2). */
		srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_AUTH_FAILED,
				"authentication failed");
		if (++c->hello_failures >= MTGATE_HELLO_FAILURES_MAX)
			srv_conn_close(c);
		return;
	}
	c->authed = true;
	c->tenant = id == 0 ? MTGATE_TENANT_ANY : (uint32_t)id;
	r = (mtgate_wire_hello_resp){
		.credential = (uint32_t)id,
		.role = id == 0 ? MTGATE_ROLE_OPERATOR : MTGATE_ROLE_TENANT,
		.test_clock = s->cfg.test_clock,
		.threads = (uint16_t)s->nthreads,
		.frame_body_max = MTGATE_FRAME_BODY_MAX,
		.batch_max = MTGATE_PROTO_BATCH_MAX,
	};
	if ((p = srv_reply(c, h->opcode, h->tag, 0, sizeof(r)))) {
		proto_wr_init(&w, p, sizeof(r));
		proto_enc_hello_resp(&w, &r);
	}
}

/* ---- GATE and GATE_BATCH -------------------------------------------------------------- */

/* Decide reqs[0..n) (all valid) and answer: inline when every request is
 * of this thread's shard, else in parts on their owners. */
static void gate_spread(srv_conn *c, const mtgate_wire_header *h,
			const mtgate_gate_req *reqs, uint32_t n,
			mtgate_mode mode)
{
	srv_thread *th = c->th;
	srv *s = th->s;
	uint32_t per[SRV_THREADS_MAX] = {0}, parts = 0;
	srv_op *ops[SRV_THREADS_MAX] = {0};
	srv_batch *b = calloc(1, sizeof(*b));
	int64_t now = srv_now_ms(s);

	if (b == NULL || (b->out = calloc(n, sizeof(*b->out))) == NULL) {
		free(b);
		srv_reply_engine(c, h->opcode, h->tag, MTGATE_ENOMEM);
		return;
	}
	*b = (srv_batch){c, h->tag, h->opcode, n, 0, 0, b->out};
	for (uint32_t i = 0; i < n; i++) {
		th->scratch_shard[i] = mtgate_shard_of(s->eng, reqs[i].number);
		parts += per[th->scratch_shard[i]]++ == 0;
	}
	b->parts_left = parts;
	c->inflight++; /* the batch: released by batch_reply */
	for (unsigned sh = 0; sh < s->nthreads; sh++)
		if (per[sh] > 0 &&
		    (ops[sh] = gate_part_new(b, c, sh, per[sh])) == NULL)
			b->status = MTGATE_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		srv_op *op = ops[th->scratch_shard[i]];
		if (op != NULL) {
			op->idx[op->n] = i;
			op->reqs[op->n++] = reqs[i];
		}
	}
	for (unsigned sh = 0; sh < s->nthreads; sh++) {
		if (per[sh] == 0)
			continue;
		if (ops[sh] == NULL) { /* out of memory: this part fails */
			if (--b->parts_left == 0)
				batch_reply(b);
			continue;
		}
		ops[sh]->mode = mode;
		ops[sh]->now_ms = now;
		op_dispatch(c, ops[sh], gate_run);
	}
}

/* The common case: one thread, or every request of this thread's shard.
 * Answers straight into the output buffer. */
static bool gate_inline(srv_conn *c, const mtgate_wire_header *h,
			const mtgate_gate_req *reqs, uint32_t n,
			mtgate_mode mode)
{
	srv_thread *th = c->th;
	srv *s = th->s;
	mtgate_reason *out = th->scratch_out;
	bool batch = h->opcode == MTGATE_OPC_GATE_BATCH;
	uint32_t len = batch ? (uint32_t)sizeof(mtgate_wire_batch_resp) + n
			     : (uint32_t)sizeof(mtgate_wire_gate_resp);
	proto_wr w;
	uint8_t *p;
	int rc;

	if (s->nthreads > 1)
		for (uint32_t i = 0; i < n; i++)
			if (mtgate_shard_of(s->eng, reqs[i].number) != th->idx)
				return false;
	rc = mtgate_owner_gate_batch_as(s->eng, c->tenant, reqs, n, mode,
					srv_now_ms(s), out);
	if (rc < 0) {
		srv_reply_engine(c, h->opcode, h->tag, rc);
		return true;
	}
	if ((p = srv_reply(c, h->opcode, h->tag, 0, len)) == NULL)
		return true;
	proto_wr_init(&w, p, len);
	if (batch) {
		mtgate_wire_batch_resp r = {.count = n};
		proto_enc_batch_resp(&w, &r);
		for (uint32_t i = 0; i < n; i++)
			p[sizeof(r) + i] = (uint8_t)out[i];
	} else {
		mtgate_wire_gate_resp r = {.reason = (uint8_t)out[0]};
		proto_enc_gate_resp(&w, &r);
	}
	return true;
}

static bool mode_ok(srv_conn *c, const mtgate_wire_header *h, uint8_t mode)
{
	if (mode == MTGATE_MODE_COUNT || mode == MTGATE_MODE_DRY_RUN)
		return true;
	srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_BODY,
			"mode must be 0 (count) or 1 (dry run)");
	return false;
}

static void do_gate(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b)
{
	mtgate_wire_gate_req q;
	mtgate_gate_req r;
	proto_rd rd;

	if (!srv_body_is(c, h, sizeof(q), "GATE"))
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_gate_req(&rd, &q);
	if (!srv_number_ok(c, h, q.number) || !mode_ok(c, h, q.mode))
		return;
	r = (mtgate_gate_req){q.number, q.program};
	if (!gate_inline(c, h, &r, 1, (mtgate_mode)q.mode))
		gate_spread(c, h, &r, 1, (mtgate_mode)q.mode);
}

static void do_gate_batch(srv_conn *c, const mtgate_wire_header *h,
			  const uint8_t *b)
{
	mtgate_gate_req *reqs = c->th->scratch_reqs;
	mtgate_wire_batch_req q;
	char msg[96];
	proto_rd rd;

	if (!srv_body_at_least(c, h, sizeof(q), "GATE_BATCH"))
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_batch_req(&rd, &q);
	if (q.count == 0 || q.count > MTGATE_PROTO_BATCH_MAX) {
		snprintf(msg, sizeof(msg), "batch count %u is not 1 to %u",
			 q.count, MTGATE_PROTO_BATCH_MAX);
		srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BATCH_TOO_LARGE,
				msg);
		return;
	}
	if (!srv_body_is(
		    c, h,
		    (uint32_t)sizeof(q) +
			    q.count * (uint32_t)sizeof(mtgate_wire_batch_entry),
		    "GATE_BATCH") ||
	    !mode_ok(c, h, q.mode))
		return;
	proto_dec_batch_entries(b + sizeof(q), q.count, reqs);
	for (uint32_t i = 0; i < q.count; i++)
		if (!proto_number_ok(reqs[i].number)) {
			snprintf(msg, sizeof(msg),
				 "entry %u: number must be 1 to 15 digits", i);
			srv_reply_error(c, h->opcode, h->tag,
					MTGATE_ST_BAD_NUMBER, msg);
			return;
		}
	if (!gate_inline(c, h, reqs, q.count, (mtgate_mode)q.mode))
		gate_spread(c, h, reqs, q.count, (mtgate_mode)q.mode);
}

/* ---- consent changes -------------------------------------------------------------------- */

static srv_op *change_new(srv_conn *c, const mtgate_wire_header *h,
			  uint64_t number, uint32_t n_chg, const uint8_t *src,
			  size_t src_len)
{
	srv_op *op = calloc(1, sizeof(*op));

	if (op == NULL || (op->chg = calloc(n_chg, sizeof(*op->chg))) == NULL) {
		free(op);
		srv_reply_engine(c, h->opcode, h->tag, MTGATE_ENOMEM);
		return NULL;
	}
	op_init(op, OP_CHANGE, c, mtgate_shard_of(c->th->s->eng, number));
	op->tag = h->tag;
	op->opcode = h->opcode;
	op->n_chg = n_chg;
	if (src_len > 0) /* src may be NULL then */
		memcpy(op->source, src, src_len);
	op->source[src_len] = '\0';
	for (uint32_t i = 0; i < n_chg; i++)
		op->chg[i] =
			(mtgate_change){.number = number,
					.source = src_len ? op->source : NULL,
					.actor = srv_actor(c)};
	return op;
}

bool srv_source_ok(srv_conn *c, const mtgate_wire_header *h, const uint8_t *src,
		   size_t len)
{
	if (len <= MTGATE_SOURCE_MAX && srv_no_nul(src, len))
		return true;
	srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_BODY,
			"source must be at most 255 bytes, without NUL");
	return false;
}

static void do_optin(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b)
{
	mtgate_wire_optin_req q;
	const uint8_t *src;
	proto_rd rd;
	srv_op *op;
	int rc;

	if (!srv_body_at_least(c, h, sizeof(q), "OPTIN"))
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_optin_req(&rd, &q);
	src = proto_rd_bytes(&rd, q.source_len);
	if (!srv_body_is(c, h, (uint32_t)sizeof(q) + q.source_len, "OPTIN") ||
	    !srv_number_ok(c, h, q.number) ||
	    !srv_source_ok(c, h, src, q.source_len))
		return;
	if ((rc = srv_program_scope(c, q.program, NULL)) < 0) {
		srv_reply_engine(c, h->opcode, h->tag, rc);
		return;
	}
	if ((op = change_new(c, h, q.number, 1, src, q.source_len)) == NULL)
		return;
	op->chg[0].op = MTGATE_OP_OPTIN;
	op->chg[0].program = q.program;
	op->chg[0].channel = (mtgate_channel)q.channel;
	op->chg[0].at_ms = q.at_ms;
	c->inflight++;
	op_dispatch(c, op, change_run);
}

/* The programs on short code sc that c may act on, into ids (cap). */
static uint32_t programs_on(srv_conn *c, const uint8_t *sc, size_t sc_len,
			    uint32_t *ids, uint32_t cap)
{
	mtgate_engine *eng = c->th->s->eng;
	size_t total = 0, k = 0;
	uint32_t *all, n = 0;

	if (mtgate_program_list(eng, NULL, 0, &total) < 0 ||
	    (all = malloc((total + 1) * sizeof(*all))) == NULL)
		return 0;
	mtgate_program_list(eng, all, total, &k);
	for (size_t i = 0; i < k && n < cap; i++) {
		mtgate_program_def d;
		if (srv_program_scope(c, all[i], &d) == 0 &&
		    strlen(d.short_code) == sc_len &&
		    memcmp(d.short_code, sc, sc_len) == 0)
			ids[n++] = all[i];
	}
	free(all);
	return n;
}

#define OPTOUT_ALL_MAX 256 /* programs one SC:ALL opt-out may cover */

static void do_optout(srv_conn *c, const mtgate_wire_header *h,
		      const uint8_t *b)
{
	uint32_t ids[OPTOUT_ALL_MAX], n = 1;
	mtgate_wire_optout_req q;
	const uint8_t *sc, *src;
	proto_rd rd;
	srv_op *op;
	int rc = 0;

	if (!srv_body_at_least(c, h, sizeof(q), "OPTOUT"))
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_optout_req(&rd, &q);
	sc = proto_rd_bytes(&rd, q.sc_len);
	src = proto_rd_bytes(&rd, q.source_len);
	if (!srv_body_is(c, h, (uint32_t)sizeof(q) + q.sc_len + q.source_len,
			 "OPTOUT") ||
	    !srv_number_ok(c, h, q.number) ||
	    !srv_source_ok(c, h, src, q.source_len))
		return;
	if ((q.program == 0) == (q.sc_len == 0)) {
		srv_reply_error(c, h->opcode, h->tag, MTGATE_ST_BAD_BODY,
				"OPTOUT names a program, or (program 0) a "
				"short code");
		return;
	}
	ids[0] = q.program;
	if (q.program != 0)
		rc = srv_program_scope(c, q.program, NULL);
	else if ((n = programs_on(c, sc, q.sc_len, ids, OPTOUT_ALL_MAX)) == 0)
		rc = MTGATE_ENOPROGRAM;
	if (rc < 0) {
		srv_reply_engine(c, h->opcode, h->tag, rc);
		return;
	}
	if ((op = change_new(c, h, q.number, n, src, q.source_len)) == NULL)
		return;
	for (uint32_t i = 0; i < n; i++) {
		op->chg[i].op = MTGATE_OP_OPTOUT;
		op->chg[i].program = ids[i];
		op->chg[i].channel = (mtgate_channel)q.channel;
	}
	c->inflight++;
	op_dispatch(c, op, change_run);
}

static void do_deactivate(srv_conn *c, const mtgate_wire_header *h,
			  const uint8_t *b)
{
	mtgate_wire_deact_req q;
	const uint8_t *src;
	proto_rd rd;
	srv_op *op;

	if (!srv_operator_only(c, h) ||
	    !srv_body_at_least(c, h, sizeof(q), "DEACTIVATE"))
		return;
	proto_rd_init(&rd, b, h->body_len);
	proto_dec_deact_req(&rd, &q);
	src = proto_rd_bytes(&rd, q.source_len);
	if (!srv_body_is(c, h, (uint32_t)sizeof(q) + q.source_len,
			 "DEACTIVATE") ||
	    !srv_number_ok(c, h, q.number) ||
	    !srv_source_ok(c, h, src, q.source_len))
		return;
	if ((op = change_new(c, h, q.number, 1, src, q.source_len)) == NULL)
		return;
	op->chg[0].op = MTGATE_OP_DEACTIVATE;
	op->chg[0].reason = (mtgate_deact_reason)q.reason;
	op->chg[0].channel = MTGATE_CHANNEL_CARRIER;
	op->chg[0].at_ms = q.at_ms;
	c->inflight++;
	op_dispatch(c, op, change_run);
}

/* ---- for the rules handlers (rules.c) ------------------------------------------------------ */

void srv_change_submit(srv_conn *c, const mtgate_wire_header *h,
		       const mtgate_change *chg, const uint8_t *src,
		       size_t src_len, const char *answer_text)
{
	srv_op *op;

	MTG_ASSERT(src_len <= MTGATE_SOURCE_MAX);
	if ((op = change_new(c, h, chg->number, 1, src, src_len)) == NULL)
		return;
	op->chg[0] = *chg;
	op->chg[0].source = src_len ? op->source : NULL;
	op->chg[0].actor = srv_actor(c);
	op->answer_text = answer_text;
	c->inflight++;
	op_dispatch(c, op, change_run);
}

void srv_mo_submit(srv_conn *c, const mtgate_wire_header *h, uint64_t number,
		   const char *sc, const uint8_t *text, size_t len)
{
	srv_op *op =
		calloc(1, sizeof(*op) + sizeof(mtgate_mo_result) + len + 1);
	char *copy;

	MTG_ASSERT(strlen(sc) <= MTGATE_SHORTCODE_MAX && len <= MTGATE_MO_MAX);
	if (op == NULL) {
		srv_reply_engine(c, h->opcode, h->tag, MTGATE_ENOMEM);
		return;
	}
	op_init(op, OP_MO, c, mtgate_shard_of(c->th->s->eng, number));
	op->tag = h->tag;
	op->opcode = h->opcode;
	op->number = number;
	memcpy(op->sc, sc, strlen(sc) + 1);
	op->mo = (mtgate_mo_result *)(op + 1);
	copy = (char *)(op->mo + 1);
	if (len > 0)
		memcpy(copy, text, len);
	op->text = copy;
	op->text_len = len;
	c->inflight++;
	op_dispatch(c, op, mo_run);
}

/* ---- dispatch ---------------------------------------------------------------------------- */

void srv_handle(srv_conn *c, const mtgate_wire_header *h, const uint8_t *b)
{
	uint8_t opc = h->opcode;

	if (opc == MTGATE_OPC_HELLO) {
		do_hello(c, h, b);
		return;
	}
	if (opc == MTGATE_OPC_PING) {
		if (srv_body_is(c, h, 0, "PING"))
			srv_reply(c, opc, h->tag, 0, 0);
		return;
	}
	if (!c->authed) {
		srv_reply_error(c, opc, h->tag, MTGATE_ST_NOT_AUTHENTICATED,
				"HELLO first");
		return;
	}
	switch (opc) {
	case MTGATE_OPC_GATE:
		do_gate(c, h, b);
		return;
	case MTGATE_OPC_GATE_BATCH:
		do_gate_batch(c, h, b);
		return;
	case MTGATE_OPC_OPTIN:
		do_optin(c, h, b);
		return;
	case MTGATE_OPC_OPTOUT:
		do_optout(c, h, b);
		return;
	case MTGATE_OPC_DEACTIVATE:
		do_deactivate(c, h, b);
		return;
	case MTGATE_OPC_QUERY:
		srv_do_query(c, h, b);
		return;
	case MTGATE_OPC_PROGRAM_PUT:
		srv_do_program_put(c, h, b);
		return;
	case MTGATE_OPC_PROGRAM_GET:
		srv_do_program_get(c, h, b);
		return;
	case MTGATE_OPC_PROGRAM_LIST:
		srv_do_program_list(c, h, b);
		return;
	case MTGATE_OPC_TENANT_ADD:
		srv_do_tenant_add(c, h, b);
		return;
	case MTGATE_OPC_STATS:
		if (srv_body_is(c, h, 0, "STATS"))
			srv_do_stats(c, h);
		return;
	case MTGATE_OPC_CLOCK:
		srv_do_clock(c, h, b);
		return;
	case MTGATE_OPC_MO:
		srv_do_mo(c, h, b);
		return;
	case MTGATE_OPC_DOI_REQUEST:
	case MTGATE_OPC_DOI_RENOTIFY:
		srv_do_doi(c, h, b);
		return;
	case MTGATE_OPC_REMINDERS_DUE:
		srv_do_reminders_due(c, h, b);
		return;
	case MTGATE_OPC_BILL_CHECK:
		srv_do_bill_check(c, h, b);
		return;
	case MTGATE_OPC_BILL_RESULT:
		srv_do_bill_result(c, h, b);
		return;
	case MTGATE_OPC_SHORTCODE_SET:
		srv_do_shortcode_set(c, h, b);
		return;
	case MTGATE_OPC_IMPORT:
	case MTGATE_OPC_DEACT_LIST:
		srv_do_bulk(c, h, b);
		return;
	case MTGATE_OPC_AUDIT:
		srv_do_audit(c, h, b);
		return;
	case MTGATE_OPC_EXPORT:
		srv_do_export(c, h, b);
		return;
	case MTGATE_OPC_SUMMARY:
		srv_do_summary(c, h, b);
		return;
	case MTGATE_OPC_FEED_READ:
		srv_do_feed_read(c, h, b);
		return;
	case MTGATE_OPC_FEED_ACK:
		srv_do_feed_ack(c, h, b);
		return;
	default:
		srv_reply_error(c, opc, h->tag, MTGATE_ST_BAD_OPCODE,
				"unknown opcode");
	}
}

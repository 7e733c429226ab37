/*
 * Checks the bulk paths and the audit trail on the wire (docs/protocol.md
 * 0x90 .. 0x96) against a real mtgated with --test-clock on a loopback
 * port, with frames encoded here byte by byte:
 *   - IMPORT: every row gets its own status and a bad row never stops the
 *     others (bad number, channel, NUL in the source, unknown or another
 *     tenant's program, NUM-3 EVOID); the same rows again change nothing;
 *     malformed requests are answered with their status and the server
 *     goes on;
 *   - DEACT_LIST (NUM-1, NUM-2, NUM-4): matched, voided, rejected; a list
 *     run again voids nothing more; operator only;
 *   - AUDIT, EXPORT, SUMMARY, FEED_READ and FEED_ACK see only the caller's
 *     programs (tenant isolation), the feed offers unacknowledged records
 *     again after 60 minutes of the server's clock;
 *   - imported rows and their audit records survive kill -9.
 */
#include "srvutil.h"

#define SC_A "71001"
#define SC_B "71002"
#define N0   15553000001ULL
#define HOUR (3600 * 1000LL)

typedef struct fx {
	su_server *s;
	mtgate_conn *op, *a, *b; /* operator, tenants A and B */
	uint32_t ta, tb;         /* their ids */
	uint32_t pa, pb;         /* a program of each */
	uint16_t st[64];         /* statuses of the last bulk answer */
	mtgate_wire_bulk_resp r;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	char ka[MTGATE_PROTO_KEY_MAX + 1], kb[MTGATE_PROTO_KEY_MAX + 1];
	mtgate_program_def da = su_recurring(SC_A, "NEWS", 4,
					     MTGATE_PERIOD_MONTH),
			   db = su_recurring(SC_B, "DEALS", 4,
					     MTGATE_PERIOD_MONTH);

	assert_non_null(f);
	f->s = su_start_clocked("bulk", &f->op);
	assert_int_equal(mtgate_c_tenant_add(f->op, "acme", &f->ta, ka), 0);
	assert_int_equal(mtgate_c_tenant_add(f->op, "beta", &f->tb, kb), 0);
	f->a = su_connect(f->s, ka);
	f->b = su_connect(f->s, kb);
	f->pa = su_program_put(f->a, &da);
	f->pb = su_program_put(f->b, &db);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	mtgate_c_close(f->a);
	mtgate_c_close(f->b);
	su_done(f->s, f->op);
	free(f);
	return 0;
}

/* ---- requests ------------------------------------------------------------------- */

typedef struct row {
	uint64_t number;
	uint32_t program;
	uint8_t channel;
	int64_t at_ms;
	const char *source;
	size_t source_len; /* 0: strlen(source) */
} row;

/* Read a bulk answer of n rows from rb into f. */
static void bulk_answer(fx *f, const mtgate_wire_header *h, const uint8_t *rb,
			uint32_t n)
{
	proto_rd rd;

	assert_int_equal(h->status, 0);
	assert_int_equal(h->body_len, sizeof(f->r) + 2 * n);
	proto_rd_init(&rd, rb, h->body_len);
	proto_dec_bulk_resp(&rd, &f->r);
	assert_int_equal(f->r.count, n);
	for (uint32_t i = 0; i < n; i++)
		f->st[i] = proto_rd_u16(&rd);
}

static void import(fx *f, mtgate_conn *c, const row *rows, uint32_t n)
{
	static uint8_t body[64 * 1024];
	mtgate_wire_header h;
	const uint8_t *rb;
	proto_wr w;

	proto_wr_init(&w, body, sizeof(body));
	proto_enc_import_req(&w, &(mtgate_wire_import_req){.count = n});
	for (uint32_t i = 0; i < n; i++) {
		size_t sl = rows[i].source_len ? rows[i].source_len
			    : rows[i].source   ? strlen(rows[i].source)
					       : 0;
		proto_enc_import_row(&w, &(mtgate_wire_import_row){
						 .number = rows[i].number,
						 .program = rows[i].program,
						 .channel = rows[i].channel,
						 .source_len = (uint16_t)sl,
						 .at_ms = rows[i].at_ms});
	}
	for (uint32_t i = 0; i < n; i++) {
		size_t sl = rows[i].source_len ? rows[i].source_len
			    : rows[i].source   ? strlen(rows[i].source)
					       : 0;
		proto_wr_bytes(&w, rows[i].source, sl);
	}
	assert_false(w.bad);
	su_call_raw(c, MTGATE_OPC_IMPORT, body, (uint32_t)(w.p - body), &h,
		    &rb);
	bulk_answer(f, &h, rb, n);
}

/* DEACT_LIST of numbers at at_ms; returns the status of the answer. */
static unsigned deact_list(fx *f, mtgate_conn *c, uint8_t reason,
			   const uint64_t *nums, uint32_t n, int64_t at_ms)
{
	static uint8_t body[4096];
	static const char src[] = "carrier-0315.csv";
	mtgate_wire_header h;
	const uint8_t *rb;
	proto_wr w;

	proto_wr_init(&w, body, sizeof(body));
	proto_enc_deact_list_req(&w, &(mtgate_wire_deact_list_req){
					     .count = n,
					     .reason = reason,
					     .source_len = sizeof(src) - 1});
	proto_wr_bytes(&w, src, sizeof(src) - 1);
	for (uint32_t i = 0; i < n; i++)
		proto_enc_deact_entry(
			&w, &(mtgate_wire_deact_entry){nums[i], at_ms});
	su_call_raw(c, MTGATE_OPC_DEACT_LIST, body, (uint32_t)(w.p - body), &h,
		    &rb);
	if (h.status == 0)
		bulk_answer(f, &h, rb, n);
	return h.status;
}

/* Any request; returns its status. */
static unsigned call(mtgate_conn *c, uint8_t opc, const void *body,
		     uint32_t len, mtgate_wire_header *h, const uint8_t **rb)
{
	su_call_raw(c, opc, body, len, h, rb);
	return h->status;
}

/* The number's audit records as c sees them: count, and the programs and
 * new states of the first 16. */
typedef struct trail {
	uint32_t n;
	uint32_t program[16];
	uint8_t new_state[16];
	uint32_t actor[16];
	char source[16][64];
} trail;

static trail audit(mtgate_conn *c, uint64_t number)
{
	uint8_t body[16];
	mtgate_wire_audit_resp r;
	mtgate_wire_header h;
	const uint8_t *rb;
	proto_rd rd;
	proto_wr w;
	trail t = {0};

	proto_wr_init(&w, body, sizeof(body));
	proto_enc_audit_req(&w, &(mtgate_wire_audit_req){.number = number});
	assert_int_equal(call(c, MTGATE_OPC_AUDIT, body, 16, &h, &rb), 0);
	proto_rd_init(&rd, rb, h.body_len);
	proto_dec_audit_resp(&rd, &r);
	assert_int_equal(r.more, 0);
	t.n = r.count;
	for (uint32_t i = 0; i < r.count; i++) {
		mtgate_wire_audit_rec a;
		const uint8_t *s;
		proto_dec_audit_rec(&rd, &a);
		s = proto_rd_bytes(&rd, a.source_len);
		if (i < 16) {
			t.program[i] = a.program;
			t.new_state[i] = a.new_state;
			t.actor[i] = a.actor;
			snprintf(t.source[i], sizeof(t.source[i]), "%.*s",
				 (int)a.source_len, (const char *)s);
		}
	}
	assert_false(rd.bad);
	assert_true(rd.p == rd.end);
	return t;
}

/* FEED_READ from `from`; returns the count, the seqs into seqs (cap 16). */
static uint32_t feed(mtgate_conn *c, uint64_t from, uint64_t *seqs,
		     uint64_t *next)
{
	uint8_t body[16];
	mtgate_wire_feed_resp r;
	mtgate_wire_header h;
	const uint8_t *rb;
	proto_rd rd;
	proto_wr w;

	proto_wr_init(&w, body, sizeof(body));
	proto_enc_feed_read_req(&w, &(mtgate_wire_feed_read_req){.from = from});
	assert_int_equal(call(c, MTGATE_OPC_FEED_READ, body, 16, &h, &rb), 0);
	proto_rd_init(&rd, rb, h.body_len);
	proto_dec_feed_resp(&rd, &r);
	for (uint32_t i = 0; i < r.count; i++) {
		mtgate_wire_audit_rec a;
		proto_dec_audit_rec(&rd, &a);
		proto_rd_bytes(&rd, a.source_len);
		if (i < 16)
			seqs[i] = a.seq;
	}
	assert_false(rd.bad);
	*next = r.next;
	return r.count;
}

static void feed_ack(mtgate_conn *c, uint64_t pos)
{
	uint8_t body[8];
	mtgate_wire_header h;
	const uint8_t *rb;
	proto_wr w;

	proto_wr_init(&w, body, sizeof(body));
	proto_enc_feed_ack_req(&w, &(mtgate_wire_feed_ack_req){pos});
	assert_int_equal(call(c, MTGATE_OPC_FEED_ACK, body, 8, &h, &rb), 0);
	assert_int_equal(h.body_len, 0);
}

/* ---- IMPORT ------------------------------------------------------------------------ */

static void test_srv_import_each_row_gets_its_status(void **state)
{
	fx *f = *state;
	uint64_t gone = N0 + 9;
	int64_t t0 = SU_T0;
	row rows[] = {
		{N0 + 1, f->pa, MTGATE_CHANNEL_WEB, t0 - HOUR, "form-1", 0},
		{0, f->pa, MTGATE_CHANNEL_WEB, 0, NULL, 0}, /* bad number */
		{N0 + 2, f->pa, MTGATE_CHANNEL_CARRIER, 0, NULL, 0},
		{N0 + 3, f->pa, MTGATE_CHANNEL_WEB, 0, "a\0b", 3},
		{N0 + 4, 999, MTGATE_CHANNEL_WEB, 0, NULL, 0},
		{N0 + 5, f->pb, MTGATE_CHANNEL_WEB, 0, NULL, 0}, /* B's */
		{gone, f->pa, MTGATE_CHANNEL_IVR, t0 - 2 * HOUR, "old", 0},
		{N0 + 6, f->pa, MTGATE_CHANNEL_POS, t0 + HOUR, NULL, 0},
		{N0 + 7, f->pa, MTGATE_CHANNEL_IMPORT, 0, "list.csv:9", 0},
	};
	uint32_t n = sizeof(rows) / sizeof(rows[0]);

	/* NUM-3: the number went away an hour ago; the row says it opted in
	 * two hours ago, so it stays void. */
	assert_int_equal(deact_list(f, f->op, MTGATE_DEACT_DISCONNECT, &gone, 1,
				    t0 - HOUR),
			 0);
	import(f, f->a, rows, n);
	assert_int_equal(f->st[0], 0);
	assert_int_equal(f->st[1], MTGATE_ST_BAD_NUMBER);
	assert_int_equal(f->st[2], MTGATE_ST_BAD_BODY);
	assert_int_equal(f->st[3], MTGATE_ST_BAD_BODY);
	assert_int_equal(f->st[4], su_engine_status(MTGATE_ENOPROGRAM));
	assert_int_equal(f->st[5], su_engine_status(MTGATE_ENOPROGRAM));
	assert_int_equal(f->st[6], su_engine_status(MTGATE_EVOID));
	assert_int_equal(f->st[7], su_engine_status(MTGATE_EFUTURE));
	assert_int_equal(f->st[8], 0);
	assert_int_equal(f->r.changed, 2);
	assert_int_equal(f->r.unchanged, 0);
	assert_int_equal(f->r.rejected, 7);
	assert_int_equal(su_gate(f->a, N0 + 1, f->pa, MTGATE_MODE_DRY_RUN),
			 MTGATE_ALLOW);
	assert_int_equal(su_gate(f->a, gone, f->pa, MTGATE_MODE_DRY_RUN),
			 MTGATE_DENY_NO_OPTIN);
	/* the same rows again: nothing changes */
	import(f, f->a, rows, n);
	assert_int_equal(f->r.changed, 0);
	assert_int_equal(f->r.unchanged, 2);
	assert_int_equal(f->r.rejected, 7);
	assert_int_equal(audit(f->a, N0 + 1).n, 1);
	/* the evidence is kept */
	assert_string_equal(su_consent(f->a, N0 + 7, f->pa).source,
			    "list.csv:9");
}

static void test_srv_import_malformed_requests(void **state)
{
	fx *f = *state;
	uint8_t body[64] = {0};
	mtgate_wire_header h;
	const uint8_t *rb;
	proto_wr w;

	/* count 0, and over BULK_MAX */
	assert_int_equal(call(f->a, MTGATE_OPC_IMPORT, body, 8, &h, &rb),
			 MTGATE_ST_BATCH_TOO_LARGE);
	proto_wr_init(&w, body, 8);
	proto_enc_import_req(&w, &(mtgate_wire_import_req){.count = 16385});
	assert_int_equal(call(f->a, MTGATE_OPC_IMPORT, body, 8, &h, &rb),
			 MTGATE_ST_BATCH_TOO_LARGE);
	/* two rows announced, one sent */
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_import_req(&w, &(mtgate_wire_import_req){.count = 2});
	proto_enc_import_row(&w, &(mtgate_wire_import_row){.number = N0,
							   .program = f->pa,
							   .channel = 2});
	assert_int_equal(call(f->a, MTGATE_OPC_IMPORT, body, 32, &h, &rb),
			 MTGATE_ST_BAD_BODY);
	/* a source length past the end */
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_import_req(&w, &(mtgate_wire_import_req){.count = 1});
	proto_enc_import_row(&w, &(mtgate_wire_import_row){.number = N0,
							   .program = f->pa,
							   .channel = 2,
							   .source_len = 9});
	assert_int_equal(call(f->a, MTGATE_OPC_IMPORT, body, 36, &h, &rb),
			 MTGATE_ST_BAD_BODY);
	assert_int_equal(call(f->a, MTGATE_OPC_IMPORT, body, 4, &h, &rb),
			 MTGATE_ST_BAD_BODY);
	/* and the connection goes on */
	assert_int_equal(mtgate_c_ping(f->a), 0);
	assert_int_equal(su_gate(f->a, N0, f->pa, MTGATE_MODE_DRY_RUN),
			 MTGATE_DENY_NO_OPTIN);
}

/* Every reading request with a body of the wrong size, and the values
 * they check: answered with the status that names it, and the server
 * goes on. */
static void test_srv_trail_requests_malformed(void **state)
{
	static const struct {
		uint8_t opc;
		uint32_t len;
	} ops[] = {{MTGATE_OPC_AUDIT, 16},   {MTGATE_OPC_EXPORT, 16},
		   {MTGATE_OPC_SUMMARY, 8},  {MTGATE_OPC_FEED_READ, 16},
		   {MTGATE_OPC_FEED_ACK, 8}, {MTGATE_OPC_DEACT_LIST, 8},
		   {MTGATE_OPC_IMPORT, 8}};
	fx *f = *state;
	uint8_t body[64] = {0};
	mtgate_wire_header h;
	const uint8_t *rb;
	proto_wr w;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		assert_int_equal(
			call(f->op, ops[i].opc, body, ops[i].len - 1, &h, &rb),
			MTGATE_ST_BAD_BODY);
		if (ops[i].opc != MTGATE_OPC_DEACT_LIST &&
		    ops[i].opc != MTGATE_OPC_IMPORT)
			assert_int_equal(call(f->op, ops[i].opc, body,
					      ops[i].len + 1, &h, &rb),
					 MTGATE_ST_BAD_BODY);
	}
	/* AUDIT of number 0; SUMMARY of a day before 1970 */
	assert_int_equal(call(f->op, MTGATE_OPC_AUDIT, body, 16, &h, &rb),
			 MTGATE_ST_BAD_NUMBER);
	proto_wr_init(&w, body, 8);
	proto_enc_summary_req(&w, &(mtgate_wire_summary_req){-1});
	assert_int_equal(call(f->op, MTGATE_OPC_SUMMARY, body, 8, &h, &rb),
			 MTGATE_ST_BAD_BODY);
	/* DEACT_LIST: no entries; an entry short; a NUL in the source */
	memset(body, 0, sizeof(body));
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_deact_list_req(&w,
				 &(mtgate_wire_deact_list_req){.reason = 1});
	assert_int_equal(call(f->op, MTGATE_OPC_DEACT_LIST, body, 8, &h, &rb),
			 MTGATE_ST_BATCH_TOO_LARGE);
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_deact_list_req(
		&w, &(mtgate_wire_deact_list_req){.count = 1, .reason = 1});
	assert_int_equal(
		call(f->op, MTGATE_OPC_DEACT_LIST, body, 8 + 15, &h, &rb),
		MTGATE_ST_BAD_BODY);
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_deact_list_req(
		&w, &(mtgate_wire_deact_list_req){
			    .count = 1, .reason = 1, .source_len = 2});
	proto_wr_bytes(&w, "a\0", 2);
	proto_enc_deact_entry(&w, &(mtgate_wire_deact_entry){N0, 0});
	assert_int_equal(
		call(f->op, MTGATE_OPC_DEACT_LIST, body, 8 + 2 + 16, &h, &rb),
		MTGATE_ST_BAD_BODY);
	/* nothing was changed, and everyone is still served */
	assert_int_equal(audit(f->op, N0).n, 0);
	assert_int_equal(mtgate_c_ping(f->op), 0);
	assert_int_equal(mtgate_c_ping(f->a), 0);
}

/* ---- DEACT_LIST ----------------------------------------------------------------------- */

static void test_num_4_deact_list_reports_and_runs_again(void **state)
{
	fx *f = *state;
	uint64_t nums[] = {N0 + 1, N0 + 2, 0, N0 + 3};
	row rows[] = {{N0 + 1, f->pa, MTGATE_CHANNEL_WEB, 0, NULL, 0},
		      {N0 + 3, f->pb, MTGATE_CHANNEL_WEB, 0, NULL, 0}};
	trail t;

	import(f, f->a, rows, 1);
	import(f, f->b, rows + 1, 1);
	su_optout(f->a, N0 + 1, f->pa);
	su_optin(f->a, N0 + 1, f->pa);
	su_clock(f->op, MTGATE_CLOCK_ADVANCE, 1000);
	assert_int_equal(deact_list(f, f->op, MTGATE_DEACT_PORT, nums, 4, 0),
			 0);
	assert_int_equal(f->r.changed, 2);   /* matched: +1 and +3 */
	assert_int_equal(f->r.unchanged, 2); /* voided: one consent each */
	assert_int_equal(f->r.rejected, 1);
	assert_int_equal(f->st[2], MTGATE_ST_BAD_NUMBER);
	assert_int_equal(su_gate(f->b, N0 + 3, f->pb, MTGATE_MODE_DRY_RUN),
			 MTGATE_DENY_DEACTIVATED);
	t = audit(f->op, N0 + 3);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.new_state[1], MTGATE_AUDIT_VOIDED);
	assert_string_equal(t.source[1], "carrier-0315.csv");
	assert_int_equal(t.actor[1], 0); /* the operator */
	/* the same list again: matched again, nothing more voided */
	assert_int_equal(deact_list(f, f->op, MTGATE_DEACT_PORT, nums, 4, 0),
			 0);
	assert_int_equal(f->r.changed, 2);
	assert_int_equal(f->r.unchanged, 0);
	assert_int_equal(audit(f->op, N0 + 3).n, 2);
	/* operator only; the reason must be one of the two */
	assert_int_equal(deact_list(f, f->a, MTGATE_DEACT_PORT, nums, 1, 0),
			 MTGATE_ST_FORBIDDEN);
	assert_int_equal(deact_list(f, f->op, 3, nums, 1, 0),
			 MTGATE_ST_BAD_BODY);
}

/* ---- reading the trail ------------------------------------------------------------------- */

static void test_srv_tenants_see_only_their_own_trail(void **state)
{
	fx *f = *state;
	row ra = {N0, f->pa, MTGATE_CHANNEL_WEB, 0, "a-form", 0},
	    rb_ = {N0, f->pb, MTGATE_CHANNEL_WEB, 0, "b-form", 0};
	uint8_t body[16];
	mtgate_wire_header h;
	const uint8_t *rb;
	mtgate_wire_export_resp er;
	mtgate_wire_summary_resp sr;
	mtgate_wire_summary_rec srec;
	proto_rd rd;
	proto_wr w;
	trail t;

	import(f, f->a, &ra, 1);
	import(f, f->b, &rb_, 1);
	t = audit(f->a, N0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.program[0], f->pa);
	assert_int_equal(t.actor[0], f->ta);
	assert_string_equal(t.source[0], "a-form");
	assert_int_equal(audit(f->b, N0).program[0], f->pb);
	assert_int_equal(audit(f->op, N0).n, 2);

	/* EXPORT: A's program for A; B's program is unknown to A */
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_export_req(&w, &(mtgate_wire_export_req){.program = f->pa});
	assert_int_equal(call(f->a, MTGATE_OPC_EXPORT, body, 16, &h, &rb), 0);
	proto_rd_init(&rd, rb, h.body_len);
	proto_dec_export_resp(&rd, &er);
	assert_int_equal(er.count, 1);
	assert_int_equal(er.next_after, N0);
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_export_req(&w, &(mtgate_wire_export_req){.program = f->pb});
	assert_int_equal(call(f->a, MTGATE_OPC_EXPORT, body, 16, &h, &rb),
			 su_engine_status(MTGATE_ENOPROGRAM));

	/* SUMMARY: one line, A's program */
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_summary_req(&w, &(mtgate_wire_summary_req){0});
	assert_int_equal(call(f->a, MTGATE_OPC_SUMMARY, body, 8, &h, &rb), 0);
	proto_rd_init(&rd, rb, h.body_len);
	proto_dec_summary_resp(&rd, &sr);
	assert_int_equal(sr.count, 1);
	assert_int_equal(sr.day_start_ms, SU_T0 - SU_T0 % (24 * HOUR));
	proto_dec_summary_rec(&rd, &srec);
	assert_int_equal(srec.program, f->pa);
	assert_int_equal(srec.opted_in, 1);
	assert_int_equal(srec.day_optins, 1);
}

static void test_srv_feed_redelivers_after_60_minutes(void **state)
{
	fx *f = *state;
	row rows[] = {{N0 + 1, f->pa, MTGATE_CHANNEL_WEB, 0, NULL, 0},
		      {N0 + 2, f->pa, MTGATE_CHANNEL_WEB, 0, NULL, 0},
		      {N0 + 3, f->pb, MTGATE_CHANNEL_WEB, 0, NULL, 0}};
	uint64_t seqs[16], next = 0;

	import(f, f->a, rows, 2);
	import(f, f->b, rows + 2, 1);
	assert_int_equal(feed(f->a, 0, seqs, &next), 2);
	assert_int_equal(next, seqs[1] + 1);
	assert_int_equal(feed(f->b, 0, seqs, &next), 1); /* B's own */
	assert_int_equal(feed(f->a, 0, seqs, &next), 0);
	su_clock(f->op, MTGATE_CLOCK_ADVANCE, 59 * 60 * 1000);
	assert_int_equal(feed(f->a, 0, seqs, &next), 0);
	su_clock(f->op, MTGATE_CLOCK_ADVANCE, 60 * 1000);
	assert_int_equal(feed(f->a, 0, seqs, &next), 2); /* again */
	feed_ack(f->a, seqs[1]);
	su_clock(f->op, MTGATE_CLOCK_ADVANCE, 2 * HOUR);
	assert_int_equal(feed(f->a, 0, seqs, &next), 0);
	assert_int_equal(feed(f->b, 0, seqs, &next), 1); /* B never acked */
}

/* A client that sends faster than changes become durable is paced (reading
 * pauses past SRV_OPS_MAX requests or SRV_ROWS_MAX rows in flight) and
 * every request is still answered: 600 feed reads and 12 imports of
 * 16 384 rows sent before a single answer is read. */
static void test_srv_pipelined_flood_is_paced_and_answered(void **state)
{
	enum { READS = 600, FRAMES = 12, ROWS = MTGATE_PROTO_BULK_MAX };
	fx *f = *state;
	size_t len = sizeof(mtgate_wire_import_req) +
		     ROWS * sizeof(mtgate_wire_import_row);
	uint8_t *body = malloc(len), rq[16] = {0};
	uint32_t answered = 0, changed = 0;
	proto_wr w;

	assert_non_null(body);
	for (uint32_t k = 0; k < FRAMES; k++) {
		proto_wr_init(&w, body, len);
		proto_enc_import_req(&w,
				     &(mtgate_wire_import_req){.count = ROWS});
		for (uint32_t i = 0; i < ROWS; i++)
			proto_enc_import_row(
				&w,
				&(mtgate_wire_import_row){
					.number = N0 + 1000000 + k * ROWS + i,
					.program = f->pa,
					.channel = MTGATE_CHANNEL_IMPORT});
		assert_false(w.bad);
		assert_int_equal(mtgate_c_send_raw(f->a, 1000 + k,
						   MTGATE_OPC_IMPORT, body,
						   (uint32_t)len),
				 0);
		assert_int_equal(mtgate_c_flush(f->a), 0);
	}
	for (uint32_t k = 0; k < READS; k++) {
		assert_int_equal(mtgate_c_send_raw(f->a, 5000 + k,
						   MTGATE_OPC_FEED_READ, rq,
						   16),
				 0);
		assert_int_equal(mtgate_c_flush(f->a), 0);
	}
	while (answered < FRAMES + READS) {
		mtgate_wire_header h;
		const uint8_t *rb;
		assert_int_equal(mtgate_c_recv(f->a, &h, &rb), 0);
		assert_int_equal(h.status, 0);
		if (h.opcode == MTGATE_OPC_IMPORT) {
			proto_rd rd;
			mtgate_wire_bulk_resp r;
			proto_rd_init(&rd, rb, h.body_len);
			proto_dec_bulk_resp(&rd, &r);
			changed += r.changed;
		}
		answered++;
	}
	assert_int_equal(changed, FRAMES * ROWS);
	assert_int_equal(mtgate_c_ping(f->a), 0);
	free(body);
}

/* ---- durability ------------------------------------------------------------------------ */

static void test_aud_1_import_and_trail_survive_kill9(void **state)
{
	fx *f = *state;
	row rows[40];
	char src[40][16];

	for (uint32_t i = 0; i < 40; i++) {
		snprintf(src[i], sizeof(src[i]), "kill.csv:%u", i + 2);
		rows[i] = (row){N0 + 100 + i, f->pa, MTGATE_CHANNEL_IMPORT, 0,
				src[i],       0};
	}
	import(f, f->a, rows, 40);
	assert_int_equal(f->r.changed, 40);
	mtgate_c_close(f->a);
	mtgate_c_close(f->b);
	mtgate_c_close(f->op);
	su_kill(f->s);
	su_start(f->s);
	f->op = su_operator(f->s);
	f->a = su_operator(f->s);
	f->b = su_operator(f->s);
	for (uint32_t i = 0; i < 40; i++) {
		trail t = audit(f->op, N0 + 100 + i);
		assert_int_equal(t.n, 1);
		assert_string_equal(t.source[0], src[i]);
		assert_int_equal(su_gate(f->op, N0 + 100 + i, f->pa,
					 MTGATE_MODE_DRY_RUN),
				 MTGATE_ALLOW);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_srv_import_each_row_gets_its_status),
		T(test_srv_import_malformed_requests),
		T(test_srv_trail_requests_malformed),
		T(test_num_4_deact_list_reports_and_runs_again),
		T(test_srv_tenants_see_only_their_own_trail),
		T(test_srv_feed_redelivers_after_60_minutes),
		T(test_srv_pipelined_flood_is_paced_and_answered),
		T(test_aud_1_import_and_trail_survive_kill9),
#undef T
	};
	return cmocka_run_group_tests_name("srv_bulk", tests, NULL, NULL);
}

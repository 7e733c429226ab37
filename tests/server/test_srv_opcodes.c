/*
 * Checks every opcode of protocol v1 against a real mtgated (loopback port,
 * RocksDB in a temporary directory, --test-clock), through libmtgate, with
 * real semantics, not just "answered OK":
 *   PING (also before HELLO), HELLO (its answer's fields), GATE (limit per
 *   month: 4 ALLOWs then MSG_LIMIT_EXCEEDED, a new month allows again, dry
 *   run counts nothing, unknown program), GATE_BATCH (array order within a
 *   consent, mixed reasons, spread over shards), OPTIN (repeat is
 *   "unchanged"), OPTOUT (one program, and SC:ALL with program 0 and a
 *   short code), DEACTIVATE (DEACTIVATED, and an opt-in dated at or before
 *   it refused with engine error EVOID on the wire), QUERY, PROGRAM_PUT
 *   (define, update, duplicate), PROGRAM_GET (by id, by short code and
 *   keyword), PROGRAM_LIST (after_id/max paging and `more`), TENANT_ADD,
 *   STATS, CLOCK (read, set, advance) and CLOCK_DISABLED without
 *   --test-clock.
 * The same tests run on a server with --threads 1 and with --threads 2, where
 * requests about numbers of the other thread's shard take the cross-thread
 * path.
 */
#include "srvutil.h"

typedef struct grp {
	su_server *s;
	mtgate_conn *op; /* the operator's connection */
	unsigned threads;
} grp;

static int grp_setup(void **state, unsigned threads, bool test_clock)
{
	grp *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return -1;
	g->threads = threads;
	g->s = su_new("srv-opc", "--threads", threads == 1 ? "1" : "2",
		      test_clock ? "--test-clock" : NULL, NULL);
	su_start(g->s);
	g->op = su_operator(g->s);
	if (test_clock)
		su_clock(g->op, MTGATE_CLOCK_SET, SU_T0);
	*state = g;
	return 0;
}

static int setup_t1(void **state)
{
	return grp_setup(state, 1, true);
}

static int setup_t2(void **state)
{
	return grp_setup(state, 2, true);
}

static int setup_noclock(void **state)
{
	return grp_setup(state, 1, false);
}

static int grp_teardown(void **state)
{
	grp *g = *state;

	if (g == NULL)
		return 0;
	mtgate_c_close(g->op);
	su_free(g->s);
	free(g);
	return 0;
}

/* Numbers of one test: distinct per test and per group. */
static uint64_t num(const grp *g, unsigned test, unsigned i)
{
	return 15550000000ULL + g->threads * 1000000ULL + test * 10000ULL + i;
}

/* ---- PING and HELLO ----------------------------------------------------------- */

static void test_srv_ping_and_hello(void **state)
{
	grp *g = *state;
	const mtgate_wire_hello_resp *h = mtgate_c_hello(g->op);
	mtgate_conn *anon = su_connect(g->s, NULL);
	mtgate_reason r;

	/* PING needs no key; anything else does. */
	assert_int_equal(mtgate_c_ping(anon), 0);
	assert_int_equal(
		mtgate_c_gate(anon, num(g, 1, 0), 1, MTGATE_MODE_COUNT, &r),
		MTGATE_ESTATUS(MTGATE_ST_NOT_AUTHENTICATED));
	assert_int_equal(mtgate_c_ping(anon), 0); /* and it goes on */
	mtgate_c_close(anon);

	assert_int_equal(mtgate_c_ping(g->op), 0);
	assert_non_null(h);
	assert_int_equal(h->credential, 0);
	assert_int_equal(h->role, MTGATE_ROLE_OPERATOR);
	assert_int_equal(h->test_clock, 1);
	assert_int_equal(h->threads, g->threads);
	assert_int_equal(h->frame_body_max, MTGATE_FRAME_BODY_MAX);
	assert_int_equal(h->batch_max, MTGATE_PROTO_BATCH_MAX);
}

/* ---- programs ------------------------------------------------------------------ */

static void check_def(const mtgate_program_def *got,
		      const mtgate_program_def *want, const char *kw_upper)
{
	assert_int_equal(got->tenant, want->tenant);
	assert_string_equal(got->short_code, want->short_code);
	assert_string_equal(got->keyword, kw_upper);
	assert_string_equal(got->name, want->name);
	assert_int_equal(got->kind, want->kind);
	assert_int_equal(got->limit, want->limit);
	assert_int_equal(got->period, want->period);
	assert_int_equal(got->double_opt_in, want->double_opt_in);
	assert_string_equal(got->welcome_text, want->welcome_text);
	assert_string_equal(got->help_text, want->help_text);
	assert_string_equal(got->quit_text, want->quit_text);
}

/* One PROGRAM_LIST page through the raw pipeline: ids into ids[], count
 * returned, *more set. */
static uint32_t list_page(mtgate_conn *c, uint32_t after, uint32_t max,
			  uint32_t *ids, uint32_t cap, uint32_t *more)
{
	mtgate_wire_program_list_req q = {.after_id = after, .max = max};
	mtgate_wire_program_list_resp r;
	uint8_t body[8];
	mtgate_wire_header h;
	const uint8_t *rb;
	proto_wr w;
	proto_rd rd;

	proto_wr_init(&w, body, sizeof(body));
	proto_enc_program_list_req(&w, &q);
	su_call_raw(c, MTGATE_OPC_PROGRAM_LIST, body, sizeof(body), &h, &rb);
	assert_int_equal(h.status, MTGATE_ST_OK);
	proto_rd_init(&rd, rb, h.body_len);
	proto_dec_program_list_resp(&rd, &r);
	assert_true(r.count <= cap);
	for (uint32_t i = 0; i < r.count; i++) {
		proto_program p;
		proto_dec_program(&rd, &p);
		ids[i] = p.rec.id;
		assert_true(p.rec.id > after);
		if (i > 0)
			assert_true(ids[i] > ids[i - 1]); /* ascending */
	}
	assert_true(proto_rd_done(&rd));
	assert_true(r.more == 0 || r.more == 1);
	*more = r.more;
	return r.count;
}

static void test_srv_programs(void **state)
{
	grp *g = *state;
	mtgate_program_def d = su_recurring("30001", "news", 4,
					    MTGATE_PERIOD_MONTH),
			   d2, dup;
	mtgate_c_program got, *all = NULL;
	uint32_t id, id2, ids[64], page[64], n_page = 0, more = 1, after = 0;
	size_t n_all = 0;

	/* define */
	id = su_program_put(g->op, &d);
	assert_int_equal(mtgate_c_program_get(g->op, id, NULL, NULL, &got), 0);
	assert_int_equal(got.def.id, id);
	check_def(&got.def, &d, "NEWS");
	mtgate_c_program_free(&got);

	/* by short code and keyword, any case */
	assert_int_equal(mtgate_c_program_get(g->op, 0, "30001", "nEwS", &got),
			 0);
	assert_int_equal(got.def.id, id);
	mtgate_c_program_free(&got);
	assert_int_equal(mtgate_c_program_get(g->op, 0, "30001", "OTHER", &got),
			 MTGATE_ENOPROGRAM);
	assert_int_equal(mtgate_c_program_get(g->op, 777777, NULL, NULL, &got),
			 MTGATE_ENOPROGRAM);

	/* a duplicate (short code, keyword) is refused by the engine */
	dup = su_recurring("30001", "NEWS", 2, MTGATE_PERIOD_DAY);
	assert_int_equal(mtgate_c_program_put(g->op, &dup, &id2),
			 MTGATE_EPROGRAM_DUP);

	/* update: every field is replaced */
	d2 = su_program("30001", "news", "News, renamed", 6,
			MTGATE_PERIOD_WEEK);
	d2.id = id;
	assert_int_equal(su_program_put(g->op, &d2), id);
	assert_int_equal(mtgate_c_program_get(g->op, id, NULL, NULL, &got), 0);
	check_def(&got.def, &d2, "NEWS");
	mtgate_c_program_free(&got);

	/* more programs, then the list: whole and in pages of 2 */
	for (int i = 0; i < 5; i++) {
		char kw[16];
		mtgate_program_def x;
		snprintf(kw, sizeof(kw), "LIST%d", i);
		x = su_recurring("30002", kw, 10, MTGATE_PERIOD_DAY);
		ids[i] = su_program_put(g->op, &x);
	}
	assert_int_equal(mtgate_c_program_list(g->op, &all, &n_all), 0);
	assert_true(n_all >= 6 && n_all <= 64);
	for (size_t i = 1; i < n_all; i++)
		assert_true(all[i].def.id > all[i - 1].def.id);
	{
		bool seen[6] = {false};
		for (size_t i = 0; i < n_all; i++) {
			if (all[i].def.id == id)
				seen[5] = true;
			for (int k = 0; k < 5; k++)
				seen[k] |= all[i].def.id == ids[k];
		}
		for (int k = 0; k < 6; k++)
			assert_true(seen[k]);
	}

	/* max 0: as many as fit, no more */
	assert_int_equal(list_page(g->op, 0, 0, page, 64, &more), n_all);
	assert_int_equal(more, 0);

	/* pages of 2 walk the same ids, with `more` on all but the last */
	more = 1;
	while (more) {
		uint32_t p[2];
		uint32_t k = list_page(g->op, after, 2, p, 2, &more);
		assert_true(k == 2 || (k <= 2 && !more));
		for (uint32_t i = 0; i < k; i++) {
			assert_true(n_page < n_all);
			assert_int_equal(p[i], all[n_page].def.id);
			n_page++;
		}
		if (k > 0)
			after = p[k - 1];
		if (more)
			assert_int_equal(k, 2);
	}
	assert_int_equal(n_page, n_all);

	/* after the last id: nothing, no more */
	assert_int_equal(
		list_page(g->op, all[n_all - 1].def.id, 0, page, 64, &more), 0);
	assert_int_equal(more, 0);
	mtgate_c_program_list_free(all, n_all);
}

/* ---- the gate -------------------------------------------------------------------- */

static void test_srv_gate_limit_per_month(void **state)
{
	grp *g = *state;
	mtgate_program_def d =
		su_recurring("30003", "LIMIT", 4, MTGATE_PERIOD_MONTH);
	uint32_t p = su_program_put(g->op, &d);
	uint64_t n = num(g, 3, 1);
	mtgate_c_changes ch;
	mtgate_consent k;

	su_clock(g->op, MTGATE_CLOCK_SET, SU_T0);
	assert_int_equal(su_gate(g->op, n, p, MTGATE_MODE_COUNT),
			 MTGATE_DENY_NO_OPTIN);
	assert_int_equal(mtgate_c_optin(g->op, n, p, MTGATE_CHANNEL_WEB,
					"form-7", 0, &ch),
			 0);
	assert_int_equal(ch.changed, 1);
	assert_int_equal(ch.unchanged, 0);
	/* a repeat opt-in changes nothing and is no error */
	assert_int_equal(mtgate_c_optin(g->op, n, p, MTGATE_CHANNEL_WEB,
					"form-7", 0, &ch),
			 0);
	assert_int_equal(ch.changed, 0);
	assert_int_equal(ch.unchanged, 1);

	/* dry runs answer ALLOW and count nothing */
	for (int i = 0; i < 6; i++)
		assert_int_equal(su_gate(g->op, n, p, MTGATE_MODE_DRY_RUN),
				 MTGATE_ALLOW);
	assert_int_equal(su_consent(g->op, n, p).used, 0);

	/* "Max 4 msgs/mo": four, then Msg Limit Exceeded */
	for (int i = 0; i < 4; i++)
		assert_int_equal(su_gate(g->op, n, p, MTGATE_MODE_COUNT),
				 MTGATE_ALLOW);
	assert_int_equal(su_gate(g->op, n, p, MTGATE_MODE_DRY_RUN),
			 MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	assert_int_equal(su_gate(g->op, n, p, MTGATE_MODE_COUNT),
			 MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	k = su_consent(g->op, n, p);
	assert_int_equal(k.state, MTGATE_STATE_OPTED_IN);
	assert_int_equal(k.channel, MTGATE_CHANNEL_WEB);
	assert_string_equal(k.source, "form-7");
	assert_int_equal(k.changed_at_ms, SU_T0);
	assert_int_equal(k.used, 4); /* the denied ones were not counted */
	assert_int_equal(k.limit, 4);

	/* later the same month: still denied; next month: allowed again */
	assert_int_equal(su_clock(g->op, MTGATE_CLOCK_ADVANCE,
				  16 * TU_DAY_MS + 11 * TU_HOUR_MS),
			 tu_utc(2026, 3, 31, 23, 0, 0));
	assert_int_equal(su_gate(g->op, n, p, MTGATE_MODE_COUNT),
			 MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	assert_int_equal(su_clock(g->op, MTGATE_CLOCK_ADVANCE, TU_HOUR_MS),
			 tu_utc(2026, 4, 1, 0, 0, 0));
	assert_int_equal(su_gate(g->op, n, p, MTGATE_MODE_COUNT), MTGATE_ALLOW);
	assert_int_equal(su_consent(g->op, n, p).used, 1);

	/* unknown programs */
	assert_int_equal(su_gate(g->op, n, 777777, MTGATE_MODE_COUNT),
			 MTGATE_DENY_UNKNOWN_PROGRAM);
	assert_int_equal(su_gate(g->op, n, 0, MTGATE_MODE_DRY_RUN),
			 MTGATE_DENY_UNKNOWN_PROGRAM);
	su_clock(g->op, MTGATE_CLOCK_SET, SU_T0);
}

#define BATCH_NUMS 16

static void test_srv_gate_batch(void **state)
{
	grp *g = *state;
	mtgate_program_def d =
		su_recurring("30004", "BATCH", 3, MTGATE_PERIOD_DAY);
	uint32_t p = su_program_put(g->op, &d);
	mtgate_gate_req reqs[128];
	mtgate_reason out[128], want[128];
	unsigned occ[BATCH_NUMS] = {0}, n = 0;
	uint64_t none = num(g, 4, 99);

	su_clock(g->op, MTGATE_CLOCK_SET, SU_T0);
	for (unsigned i = 0; i < BATCH_NUMS; i++)
		su_optin(g->op, num(g, 4, i), p);

	/* dry run over distinct consents: the reasons, nothing counted */
	reqs[0] = (mtgate_gate_req){num(g, 4, 0), p};
	reqs[1] = (mtgate_gate_req){none, p};
	reqs[2] = (mtgate_gate_req){num(g, 4, 1), 777777};
	reqs[3] = (mtgate_gate_req){num(g, 4, 2), p};
	assert_int_equal(
		mtgate_c_gate_batch(g->op, reqs, 4, MTGATE_MODE_DRY_RUN, out),
		0);
	assert_int_equal(out[0], MTGATE_ALLOW);
	assert_int_equal(out[1], MTGATE_DENY_NO_OPTIN);
	assert_int_equal(out[2], MTGATE_DENY_UNKNOWN_PROGRAM);
	assert_int_equal(out[3], MTGATE_ALLOW);
	assert_int_equal(su_consent(g->op, num(g, 4, 0), p).used, 0);

	/* counting: number i appears (i % 5) + 1 times, interleaved; the
	 * first 3 of each are allowed, in array order */
	for (unsigned round = 0; round < 5; round++)
		for (unsigned i = 0; i < BATCH_NUMS; i++)
			if (round < i % 5 + 1) {
				reqs[n] = (mtgate_gate_req){num(g, 4, i), p};
				want[n++] =
					occ[i]++ < 3
						? MTGATE_ALLOW
						: MTGATE_DENY_MSG_LIMIT_EXCEEDED;
			}
	reqs[n] = (mtgate_gate_req){none, p};
	want[n++] = MTGATE_DENY_NO_OPTIN;
	reqs[n] = (mtgate_gate_req){num(g, 4, 0), 777777};
	want[n++] = MTGATE_DENY_UNKNOWN_PROGRAM;
	assert_int_equal(
		mtgate_c_gate_batch(g->op, reqs, n, MTGATE_MODE_COUNT, out), 0);
	for (unsigned i = 0; i < n; i++)
		if (out[i] != want[i])
			fail_msg("batch entry %u (number %llu): %s, want %s", i,
				 (unsigned long long)reqs[i].number,
				 mtgate_reason_token(out[i]),
				 mtgate_reason_token(want[i]));
	for (unsigned i = 0; i < BATCH_NUMS; i++)
		assert_int_equal(su_consent(g->op, num(g, 4, i), p).used,
				 occ[i] < 3 ? occ[i] : 3);

	/* the next day the counters start again */
	su_clock(g->op, MTGATE_CLOCK_ADVANCE, TU_DAY_MS);
	for (unsigned i = 0; i < BATCH_NUMS; i++)
		reqs[i] = (mtgate_gate_req){num(g, 4, i), p};
	assert_int_equal(mtgate_c_gate_batch(g->op, reqs, BATCH_NUMS,
					     MTGATE_MODE_COUNT, out),
			 0);
	for (unsigned i = 0; i < BATCH_NUMS; i++)
		assert_int_equal(out[i], MTGATE_ALLOW);
	su_clock(g->op, MTGATE_CLOCK_SET, SU_T0);
}

/* ---- consent changes -------------------------------------------------------------- */

static void test_srv_optout_one_and_sc_all(void **state)
{
	grp *g = *state;
	mtgate_program_def da = su_recurring("30005", "ALPHA", 10,
					     MTGATE_PERIOD_MONTH),
			   db = su_recurring("30005", "BETA", 10,
					     MTGATE_PERIOD_MONTH),
			   dc = su_recurring("30006", "GAMMA", 10,
					     MTGATE_PERIOD_MONTH);
	uint32_t pa = su_program_put(g->op, &da),
		 pb = su_program_put(g->op, &db),
		 pc = su_program_put(g->op, &dc);
	uint64_t n = num(g, 5, 1);
	mtgate_c_changes ch;
	mtgate_consent k;

	su_clock(g->op, MTGATE_CLOCK_SET, SU_T0);
	su_optin(g->op, n, pa);
	su_optin(g->op, n, pb);
	su_optin(g->op, n, pc);

	/* one program */
	assert_int_equal(mtgate_c_optout(g->op, n, pa, NULL, MTGATE_CHANNEL_MO,
					 "ALPHA STOP", &ch),
			 0);
	assert_int_equal(ch.changed, 1);
	assert_int_equal(ch.unchanged, 0);
	assert_int_equal(su_gate(g->op, n, pa, MTGATE_MODE_COUNT),
			 MTGATE_DENY_OPTED_OUT);
	assert_int_equal(su_gate(g->op, n, pb, MTGATE_MODE_COUNT),
			 MTGATE_ALLOW);
	k = su_consent(g->op, n, pa);
	assert_int_equal(k.state, MTGATE_STATE_OPTED_OUT);
	assert_int_equal(k.channel, MTGATE_CHANNEL_MO);
	assert_string_equal(k.source, "ALPHA STOP");

	/* SC:ALL: program 0 and the short code covers ALPHA and BETA */
	assert_int_equal(mtgate_c_optout(g->op, n, 0, "30005",
					 MTGATE_CHANNEL_MO, "STOP ALL", &ch),
			 0);
	assert_int_equal(ch.changed, 1);   /* BETA */
	assert_int_equal(ch.unchanged, 1); /* ALPHA was out already */
	assert_int_equal(su_gate(g->op, n, pa, MTGATE_MODE_COUNT),
			 MTGATE_DENY_OPTED_OUT);
	assert_int_equal(su_gate(g->op, n, pb, MTGATE_MODE_COUNT),
			 MTGATE_DENY_OPTED_OUT);
	assert_int_equal(su_gate(g->op, n, pc, MTGATE_MODE_COUNT),
			 MTGATE_ALLOW); /* another short code */
	assert_int_equal(su_consent(g->op, n, pb).state,
			 MTGATE_STATE_OPTED_OUT);

	/* a short code without programs */
	assert_int_equal(mtgate_c_optout(g->op, n, 0, "39999",
					 MTGATE_CHANNEL_MO, NULL, &ch),
			 MTGATE_ENOPROGRAM);
	/* an opt-out of an unknown program */
	assert_int_equal(mtgate_c_optout(g->op, n, 777777, NULL,
					 MTGATE_CHANNEL_MO, NULL, &ch),
			 MTGATE_ENOPROGRAM);
	assert_int_equal(mtgate_c_optin(g->op, n, 777777, MTGATE_CHANNEL_WEB,
					NULL, 0, &ch),
			 MTGATE_ENOPROGRAM);

	/* opting in again is allowed */
	su_optin(g->op, n, pa);
	assert_int_equal(su_gate(g->op, n, pa, MTGATE_MODE_COUNT),
			 MTGATE_ALLOW);
}

static void test_srv_deactivate_and_void(void **state)
{
	grp *g = *state;
	mtgate_program_def d =
		su_recurring("30007", "DEACT", 10, MTGATE_PERIOD_MONTH);
	uint32_t p = su_program_put(g->op, &d);
	uint64_t n = num(g, 6, 1), other = num(g, 6, 2);
	int64_t t_deact = SU_T0 + TU_HOUR_MS;
	mtgate_deactivation dz;
	mtgate_consent recs[8];
	mtgate_c_changes ch;
	size_t cnt = 0;

	su_clock(g->op, MTGATE_CLOCK_SET, SU_T0);
	su_optin(g->op, n, p);
	su_optin(g->op, other, p);
	assert_int_equal(su_clock(g->op, MTGATE_CLOCK_ADVANCE, TU_HOUR_MS),
			 t_deact);
	assert_int_equal(mtgate_c_deactivate(g->op, n, MTGATE_DEACT_DISCONNECT,
					     0, "disconnects-0315.csv", &ch),
			 0);
	assert_int_equal(ch.changed, 1);
	assert_int_equal(su_gate(g->op, n, p, MTGATE_MODE_COUNT),
			 MTGATE_DENY_DEACTIVATED);
	assert_int_equal(su_gate(g->op, other, p, MTGATE_MODE_COUNT),
			 MTGATE_ALLOW);

	assert_int_equal(mtgate_c_query(g->op, n, recs, 8, &cnt, &dz), 0);
	assert_int_equal(cnt, 1);
	assert_int_equal(dz.reason, MTGATE_DEACT_DISCONNECT);
	assert_int_equal(dz.at_ms, t_deact);
	assert_int_equal(recs[0].program, p);
	assert_int_equal(recs[0].voided_by, MTGATE_DEACT_DISCONNECT);
	assert_int_equal(recs[0].state, MTGATE_STATE_OPTED_OUT);
	assert_int_equal(recs[0].channel, MTGATE_CHANNEL_CARRIER);

	/* an opt-in dated before the deactivation, arriving later: void */
	assert_int_equal(mtgate_c_optin(g->op, n, p, MTGATE_CHANNEL_IMPORT,
					"old-list.csv", t_deact - 1000, &ch),
			 MTGATE_EVOID);
	assert_string_equal(mtgate_c_last_error(g->op),
			    mtgate_strerror(MTGATE_EVOID));
	/* ... and dated at it ("at or before"): now is the deactivation */
	assert_int_equal(
		mtgate_c_optin(g->op, n, p, MTGATE_CHANNEL_WEB, NULL, 0, &ch),
		MTGATE_EVOID);
	/* the wire status is 256 + (EVOID - MTGATE_ERR_FIRST) */
	{
		uint8_t body[24];
		mtgate_wire_optin_req q = {.number = n,
					   .program = p,
					   .channel = MTGATE_CHANNEL_WEB,
					   .at_ms = t_deact - 5000};
		mtgate_wire_header h;
		const uint8_t *rb;
		proto_wr w;
		proto_rd rd;
		uint16_t len;
		const uint8_t *text;

		proto_wr_init(&w, body, sizeof(body));
		proto_enc_optin_req(&w, &q);
		su_call_raw(g->op, MTGATE_OPC_OPTIN, body, sizeof(body), &h,
			    &rb);
		assert_int_equal(h.status, su_engine_status(MTGATE_EVOID));
		assert_int_equal(h.status,
				 256 + (MTGATE_EVOID - MTGATE_ERR_FIRST));
		proto_rd_init(&rd, rb, h.body_len);
		text = proto_rd_str(&rd, &len);
		assert_true(proto_rd_done(&rd));
		assert_int_equal(len, strlen(mtgate_strerror(MTGATE_EVOID)));
		assert_memory_equal(text, mtgate_strerror(MTGATE_EVOID), len);
	}
	assert_int_equal(su_gate(g->op, n, p, MTGATE_MODE_COUNT),
			 MTGATE_DENY_DEACTIVATED);

	/* an opt-in after the deactivation is valid (the number's new
	 * owner, RSP "Customer B") */
	su_clock(g->op, MTGATE_CLOCK_ADVANCE, 1000);
	assert_int_equal(mtgate_c_optin(g->op, n, p, MTGATE_CHANNEL_WEB,
					"new-owner", 0, &ch),
			 0);
	assert_int_equal(ch.changed, 1);
	assert_int_equal(su_gate(g->op, n, p, MTGATE_MODE_COUNT), MTGATE_ALLOW);
	assert_int_equal(su_consent(g->op, n, p).state, MTGATE_STATE_OPTED_IN);
	/* an opt-in dated in the future is refused */
	assert_int_equal(mtgate_c_optin(g->op, other, p, MTGATE_CHANNEL_WEB,
					NULL, t_deact + TU_HOUR_MS, &ch),
			 MTGATE_EFUTURE);
	su_clock(g->op, MTGATE_CLOCK_SET, SU_T0);
}

/* ---- tenants, statistics, the clock ---------------------------------------------- */

static void test_srv_tenant_add_stats_clock(void **state)
{
	grp *g = *state;
	char key[MTGATE_PROTO_KEY_MAX + 1], key2[MTGATE_PROTO_KEY_MAX + 1],
		prefix[32];
	uint64_t v[MTGATE_STAT_MAX];
	uint32_t id = 0, id2 = 0;
	mtgate_conn *t;
	size_t nv = 0;
	int64_t now;
	char name[32];

	snprintf(name, sizeof(name), "acme-%u", g->threads);
	assert_int_equal(mtgate_c_tenant_add(g->op, name, &id, key), 0);
	assert_true(id >= 1);
	assert_int_equal(strlen(key), 56);
	snprintf(prefix, sizeof(prefix), "mtk_%08x_", id);
	assert_memory_equal(key, prefix, 13);
	assert_int_equal(mtgate_c_tenant_add(g->op, name, &id2, key2),
			 MTGATE_ETENANT_DUP);
	snprintf(name, sizeof(name), "globex-%u", g->threads);
	assert_int_equal(mtgate_c_tenant_add(g->op, name, &id2, key2), 0);
	assert_true(id2 > id);
	assert_string_not_equal(key, key2);

	t = su_connect(g->s, key);
	assert_int_equal(mtgate_c_hello(t)->role, MTGATE_ROLE_TENANT);
	assert_int_equal(mtgate_c_hello(t)->credential, id);
	assert_int_equal(mtgate_c_ping(t), 0);

	/* STATS */
	assert_int_equal(
		su_gate(g->op, num(g, 7, 1), 777777, MTGATE_MODE_COUNT),
		MTGATE_DENY_UNKNOWN_PROGRAM);
	assert_int_equal(mtgate_c_stats(t, v, &nv), 0);
	assert_true(nv >= MTGATE_STAT_MAX);
	assert_true(v[MTGATE_STAT_GATES] >= 1);
	assert_true(v[MTGATE_STAT_CONNECTIONS] >= 2);
	assert_true(v[MTGATE_STAT_FRAMES_IN] >= 3);
	assert_true(v[MTGATE_STAT_FRAMES_OUT] >= 3);
	assert_int_equal(v[MTGATE_STAT_READONLY], 0);

	/* CLOCK: read, set, advance (a tenant may move it too) */
	now = su_clock(g->op, MTGATE_CLOCK_READ, 0);
	assert_int_equal(su_clock(g->op, MTGATE_CLOCK_SET, SU_T0 + 12345),
			 SU_T0 + 12345);
	assert_int_equal(su_clock(g->op, MTGATE_CLOCK_READ, 0), SU_T0 + 12345);
	assert_int_equal(su_clock(t, MTGATE_CLOCK_ADVANCE, 1000),
			 SU_T0 + 13345);
	assert_int_equal(su_clock(g->op, MTGATE_CLOCK_READ, 0), SU_T0 + 13345);
	/* going back is a SET, never a negative advance */
	{
		uint8_t body[16];
		mtgate_wire_clock_req q = {.op = MTGATE_CLOCK_ADVANCE,
					   .value_ms = -1};
		mtgate_wire_header h;
		const uint8_t *rb;
		proto_wr w;

		proto_wr_init(&w, body, sizeof(body));
		proto_enc_clock_req(&w, &q);
		su_call_raw(g->op, MTGATE_OPC_CLOCK, body, sizeof(body), &h,
			    &rb);
		assert_int_equal(h.status, MTGATE_ST_BAD_BODY);
	}
	assert_int_equal(su_clock(g->op, MTGATE_CLOCK_READ, 0), SU_T0 + 13345);
	(void)now;
	su_clock(g->op, MTGATE_CLOCK_SET, SU_T0);
	mtgate_c_close(t);
}

static void test_srv_stops_gracefully(void **state)
{
	grp *g = *state;

	mtgate_c_close(g->op);
	g->op = NULL;
	su_stop(g->s); /* exit status 0 */
}

/* ---- without --test-clock ------------------------------------------------------------ */

static void test_srv_clock_disabled(void **state)
{
	grp *g = *state;
	mtgate_program_def d =
		su_recurring("30008", "REAL", 2, MTGATE_PERIOD_DAY);
	uint32_t p = su_program_put(g->op, &d);
	int64_t now = 0;

	assert_int_equal(mtgate_c_hello(g->op)->test_clock, 0);
	assert_int_equal(mtgate_c_clock(g->op, MTGATE_CLOCK_READ, 0, &now),
			 MTGATE_ESTATUS(MTGATE_ST_CLOCK_DISABLED));
	assert_true(strlen(mtgate_c_last_error(g->op)) > 0);
	assert_int_equal(mtgate_c_clock(g->op, MTGATE_CLOCK_SET, SU_T0, &now),
			 MTGATE_ESTATUS(MTGATE_ST_CLOCK_DISABLED));
	/* the wall clock serves */
	su_optin(g->op, num(g, 8, 1), p);
	assert_int_equal(su_gate(g->op, num(g, 8, 1), p, MTGATE_MODE_COUNT),
			 MTGATE_ALLOW);
	assert_int_equal(mtgate_c_ping(g->op), 0);
}

/* DEACTIVATE with no source reference (source_len 0: "none", as the
 * engine's mtgate_change.source NULL). A regression test: the codec once
 * copied from the NULL source, which a sanitized server died of. It runs on
 * its own server. */
static void test_srv_deactivate_without_source(void **state)
{
	grp *g = *state;
	mtgate_program_def d =
		su_recurring("30009", "NOSRC", 10, MTGATE_PERIOD_MONTH);
	uint32_t p = su_program_put(g->op, &d);
	uint64_t n = num(g, 9, 1);
	mtgate_deactivation dz;
	mtgate_consent recs[4];
	mtgate_c_changes ch;
	size_t cnt = 0;

	su_optin(g->op, n, p);
	su_clock(g->op, MTGATE_CLOCK_ADVANCE, 1000);
	assert_int_equal(mtgate_c_deactivate(g->op, n, MTGATE_DEACT_DISCONNECT,
					     0, NULL, &ch),
			 0);
	assert_int_equal(ch.changed, 1);
	assert_int_equal(su_gate(g->op, n, p, MTGATE_MODE_COUNT),
			 MTGATE_DENY_DEACTIVATED);
	assert_int_equal(mtgate_c_query(g->op, n, recs, 4, &cnt, &dz), 0);
	assert_int_equal(dz.reason, MTGATE_DEACT_DISCONNECT);
	assert_int_equal(cnt, 1);
	assert_string_equal(recs[0].source, "");
	/* a number never seen before, without a source either */
	assert_int_equal(mtgate_c_deactivate(g->op, n + 1, MTGATE_DEACT_PORT, 0,
					     NULL, &ch),
			 0);
	assert_int_equal(mtgate_c_ping(g->op), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srv_ping_and_hello),
		cmocka_unit_test(test_srv_programs),
		cmocka_unit_test(test_srv_gate_limit_per_month),
		cmocka_unit_test(test_srv_gate_batch),
		cmocka_unit_test(test_srv_optout_one_and_sc_all),
		cmocka_unit_test(test_srv_deactivate_and_void),
		cmocka_unit_test(test_srv_tenant_add_stats_clock),
		cmocka_unit_test(test_srv_stops_gracefully),
	};
	const struct CMUnitTest nosource[] = {
		cmocka_unit_test(test_srv_deactivate_without_source),
		cmocka_unit_test(test_srv_stops_gracefully),
	};
	const struct CMUnitTest noclock[] = {
		cmocka_unit_test(test_srv_clock_disabled),
		cmocka_unit_test(test_srv_stops_gracefully),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("srv_opcodes_threads_1", tests,
					      setup_t1, grp_teardown);
	failed += cmocka_run_group_tests_name("srv_opcodes_threads_2", tests,
					      setup_t2, grp_teardown);
	failed +=
		cmocka_run_group_tests_name("srv_opcodes_deactivate_no_source",
					    nosource, setup_t1, grp_teardown);
	failed += cmocka_run_group_tests_name("srv_opcodes_no_test_clock",
					      noclock, setup_noclock,
					      grp_teardown);
	return failed;
}

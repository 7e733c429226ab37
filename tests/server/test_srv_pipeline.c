/*
 * Checks pipelining on one connection of a real mtgated: 1,750 consent
 * changes and then 10,000 GATE frames (and 200 GATE_BATCH frames) are sent
 * without reading a single answer, then every answer is read. Each tag must
 * be answered exactly once, with OK and the reason a model of the rules
 * predicts: opted in (ALLOW until the limit, then MSG_LIMIT_EXCEEDED, the
 * order of requests about one consent being the order sent), opted out,
 * never opted in, unknown program. Answers may come in any order. Runs on
 * --threads 1 and --threads 2 (the cross-thread path).
 */
#include "srvutil.h"

#define NUMS      1000
#define GATES     10000
#define BATCHES   200
#define BATCH_N   50
#define TAG_CHG   0x100000000ULL
#define TAG_GATE  0x200000000ULL
#define TAG_BATCH 0x300000000ULL
#define UNKNOWN   888888u

typedef struct grp {
	su_server *s;
	unsigned threads;
} grp;

static int grp_setup(void **state, const char *threads)
{
	grp *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return -1;
	g->threads = (unsigned)atoi(threads);
	g->s = su_new("srv-pipe", "--threads", threads, "--test-clock", NULL);
	su_start(g->s);
	*state = g;
	return 0;
}

static int setup_t1(void **state)
{
	return grp_setup(state, "1");
}

static int setup_t2(void **state)
{
	return grp_setup(state, "2");
}

static int grp_teardown(void **state)
{
	grp *g = *state;

	if (g != NULL)
		su_free(g->s);
	free(g);
	return 0;
}

/* The model: what each number holds. */
enum { C_BOTH = 0, C_OUT = 1, C_NONE = 2, C_FIRST = 3 };

typedef struct model {
	uint32_t p1, p2; /* limits 4 per month and 1000 per day */
	unsigned used[NUMS][2];
} model;

static uint64_t number_of(unsigned i)
{
	return 14155500000ULL + (uint64_t)i * 7919; /* spread over shards */
}

static mtgate_reason expect(model *m, unsigned i, uint32_t prog)
{
	unsigned cls = i % 4, k, limit;
	bool in;

	if (prog != m->p1 && prog != m->p2)
		return MTGATE_DENY_UNKNOWN_PROGRAM;
	k = prog == m->p1 ? 0 : 1;
	limit = k == 0 ? 4 : 1000;
	in = cls == C_BOTH || (cls == C_FIRST && k == 0);
	if (cls == C_OUT)
		return MTGATE_DENY_OPTED_OUT;
	if (!in)
		return MTGATE_DENY_NO_OPTIN;
	if (m->used[i][k] >= limit)
		return MTGATE_DENY_MSG_LIMIT_EXCEEDED;
	m->used[i][k]++;
	return MTGATE_ALLOW;
}

/* Queue one change frame. */
static void send_change(mtgate_conn *c, uint64_t tag, uint8_t opc,
			uint64_t number, uint32_t prog, const char *sc)
{
	uint8_t body[64];
	proto_wr w;

	proto_wr_init(&w, body, sizeof(body));
	if (opc == MTGATE_OPC_OPTIN) {
		mtgate_wire_optin_req q = {.number = number,
					   .program = prog,
					   .channel = MTGATE_CHANNEL_API,
					   .source_len = 4};
		proto_enc_optin_req(&w, &q);
		proto_wr_bytes(&w, "pipe", 4);
	} else {
		mtgate_wire_optout_req q = {.number = number,
					    .program = prog,
					    .channel = MTGATE_CHANNEL_MO,
					    .sc_len = (uint8_t)strlen(sc)};
		proto_enc_optout_req(&w, &q);
		proto_wr_bytes(&w, sc, strlen(sc));
	}
	assert_false(w.bad);
	assert_int_equal(
		mtgate_c_send_raw(c, tag, opc, body, (uint32_t)(w.p - body)),
		0);
}

static void test_srv_pipeline_10k(void **state)
{
	grp *g = *state;
	mtgate_conn *c = su_operator(g->s);
	mtgate_program_def d1 = su_recurring("40001", "PIPEA", 4,
					     MTGATE_PERIOD_MONTH),
			   d2 = su_recurring("40002", "PIPEB", 1000,
					     MTGATE_PERIOD_DAY);
	model *m = calloc(1, sizeof(*m));
	mtgate_reason *want = calloc(GATES, sizeof(*want));
	mtgate_reason *bwant = calloc(BATCHES * BATCH_N, sizeof(*bwant));
	bool *seen = calloc(GATES + BATCHES, sizeof(*seen));
	mtgate_gate_req breq[BATCH_N];
	unsigned n_chg = 0, out_of_order = 0, answered = 0;
	uint64_t last_tag = 0;
	int64_t t0;

	assert_non_null(m);
	assert_non_null(want);
	assert_non_null(bwant);
	assert_non_null(seen);
	su_clock(c, MTGATE_CLOCK_SET, SU_T0);
	m->p1 = su_program_put(c, &d1);
	m->p2 = su_program_put(c, &d2);

	/* 1. consent changes, pipelined (opt-in then opt-out of one number
	 * in one go: applied in the order sent) */
	for (unsigned i = 0; i < NUMS; i++) {
		uint64_t n = number_of(i);
		switch (i % 4) {
		case C_BOTH:
		case C_OUT:
			send_change(c, TAG_CHG + n_chg++, MTGATE_OPC_OPTIN, n,
				    m->p1, NULL);
			send_change(c, TAG_CHG + n_chg++, MTGATE_OPC_OPTIN, n,
				    m->p2, NULL);
			if (i % 4 == C_OUT) {
				send_change(c, TAG_CHG + n_chg++,
					    MTGATE_OPC_OPTOUT, n, m->p1, "");
				send_change(c, TAG_CHG + n_chg++,
					    MTGATE_OPC_OPTOUT, n, 0, "40002");
			}
			break;
		case C_FIRST:
			send_change(c, TAG_CHG + n_chg++, MTGATE_OPC_OPTIN, n,
				    m->p1, NULL);
			break;
		default:
			break;
		}
	}
	assert_int_equal(n_chg, 1750);
	assert_int_equal(mtgate_c_flush(c), 0);
	{
		bool *cseen = calloc(n_chg, sizeof(*cseen));
		assert_non_null(cseen);
		for (unsigned k = 0; k < n_chg; k++) {
			mtgate_wire_header h;
			const uint8_t *b;
			mtgate_wire_change_resp r;
			proto_rd rd;
			assert_int_equal(mtgate_c_recv(c, &h, &b), 0);
			if (h.status != MTGATE_ST_OK)
				fail_msg("change tag %llx: status %u (%s)",
					 (unsigned long long)h.tag, h.status,
					 mtgate_c_last_error(c));
			assert_true(h.tag >= TAG_CHG &&
				    h.tag < TAG_CHG + n_chg);
			assert_false(cseen[h.tag - TAG_CHG]);
			cseen[h.tag - TAG_CHG] = true;
			proto_rd_init(&rd, b, h.body_len);
			proto_dec_change_resp(&rd, &r);
			assert_true(proto_rd_done(&rd));
			assert_int_equal(r.changed + r.unchanged, 1);
			assert_int_equal(r.changed, 1);
		}
		free(cseen);
	}

	/* 2. 10,000 GATEs and 200 GATE_BATCHes, all sent before any answer
	 * is read */
	t0 = su_mono_ms();
	for (unsigned t = 0; t < GATES; t++) {
		unsigned i = (t * 7) % NUMS;
		uint32_t prog = t % 10 == 9 ? UNKNOWN : t % 2 ? m->p1 : m->p2;
		mtgate_mode mode =
			t % 13 == 5 ? MTGATE_MODE_DRY_RUN : MTGATE_MODE_COUNT;
		if (mode == MTGATE_MODE_DRY_RUN) {
			/* a dry run answers as counting would */
			model save = *m;
			want[t] = expect(m, i, prog);
			*m = save;
		} else {
			want[t] = expect(m, i, prog);
		}
		assert_int_equal(mtgate_c_send_gate(c, TAG_GATE + t,
						    number_of(i), prog, mode),
				 0);
	}
	for (unsigned b = 0; b < BATCHES; b++) {
		for (unsigned e = 0; e < BATCH_N; e++) {
			unsigned i = (b * 31 + e * 17) % NUMS;
			uint32_t prog = e % 9 == 8 ? UNKNOWN
					: e % 2    ? m->p1
						   : m->p2;
			breq[e] = (mtgate_gate_req){number_of(i), prog};
			bwant[b * BATCH_N + e] = expect(m, i, prog);
		}
		assert_int_equal(mtgate_c_send_gate_batch(c, TAG_BATCH + b,
							  breq, BATCH_N,
							  MTGATE_MODE_COUNT),
				 0);
	}
	assert_int_equal(mtgate_c_flush(c), 0);

	for (unsigned k = 0; k < GATES + BATCHES; k++) {
		mtgate_wire_header h;
		const uint8_t *b;
		mtgate_reason r, rs[BATCH_N];
		uint32_t nr = 0;
		int rc = mtgate_c_recv(c, &h, &b);

		if (rc != 0)
			fail_msg("answer %u of %u: %s", k, GATES + BATCHES,
				 mtgate_strerror(rc));
		if (h.status != MTGATE_ST_OK)
			fail_msg("tag %llx: status %u (%s)",
				 (unsigned long long)h.tag, h.status,
				 mtgate_c_last_error(c));
		if (h.tag < last_tag)
			out_of_order++;
		last_tag = h.tag;
		if (h.tag >= TAG_GATE && h.tag < TAG_GATE + GATES) {
			unsigned t = (unsigned)(h.tag - TAG_GATE);
			assert_int_equal(h.opcode, MTGATE_OPC_GATE);
			if (seen[t])
				fail_msg("tag %llx answered twice",
					 (unsigned long long)h.tag);
			seen[t] = true;
			assert_int_equal(mtgate_c_decode_gate(&h, b, &r), 0);
			if (r != want[t])
				fail_msg("GATE %u (number %llu): %s, want %s",
					 t,
					 (unsigned long long)number_of((t * 7) %
								       NUMS),
					 mtgate_reason_token(r),
					 mtgate_reason_token(want[t]));
		} else if (h.tag >= TAG_BATCH && h.tag < TAG_BATCH + BATCHES) {
			unsigned bi = (unsigned)(h.tag - TAG_BATCH);
			assert_int_equal(h.opcode, MTGATE_OPC_GATE_BATCH);
			if (seen[GATES + bi])
				fail_msg("tag %llx answered twice",
					 (unsigned long long)h.tag);
			seen[GATES + bi] = true;
			assert_int_equal(
				mtgate_c_decode_batch(&h, b, rs, BATCH_N, &nr),
				0);
			assert_int_equal(nr, BATCH_N);
			for (unsigned e = 0; e < BATCH_N; e++)
				if (rs[e] != bwant[bi * BATCH_N + e])
					fail_msg("batch %u entry %u: %s, want "
						 "%s",
						 bi, e,
						 mtgate_reason_token(rs[e]),
						 mtgate_reason_token(
							 bwant[bi * BATCH_N +
							       e]));
		} else {
			fail_msg("unexpected tag %llx",
				 (unsigned long long)h.tag);
		}
		answered++;
	}
	assert_int_equal(answered, GATES + BATCHES);
	for (unsigned k = 0; k < GATES + BATCHES; k++)
		assert_true(seen[k]);
	print_message("    %u answers in %lld ms, %u out of order\n", answered,
		      (long long)(su_mono_ms() - t0), out_of_order);

	/* the counters the server kept are the model's */
	for (unsigned i = 0; i < NUMS; i += 37) {
		if (i % 4 != C_BOTH)
			continue;
		assert_int_equal(su_consent(c, number_of(i), m->p1).used,
				 m->used[i][0]);
		assert_int_equal(su_consent(c, number_of(i), m->p2).used,
				 m->used[i][1]);
	}
	mtgate_c_close(c);
	su_stop(g->s);
	free(m);
	free(want);
	free(bwant);
	free(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srv_pipeline_10k),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("srv_pipeline_threads_1", tests,
					      setup_t1, grp_teardown);
	failed += cmocka_run_group_tests_name("srv_pipeline_threads_2", tests,
					      setup_t2, grp_teardown);
	return failed;
}

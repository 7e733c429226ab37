/*
 * Checks that a graceful stop (SIGTERM, exit status 0) and a restart on the
 * same data directory keep everything a real mtgated was told:
 *   - the counters: MTs counted before the stop are still counted after it
 *     (QUERY used/limit) and the gate goes on from there to
 *     MSG_LIMIT_EXCEEDED; the periodic counter flush is set to a minute, so
 *     it is the stop that persists them;
 *   - the consents: opt-ins, opt-outs (one program and SC:ALL) with their
 *     channel, time and source, deactivations (and the refusal of an opt-in
 *     dated before one), programs (defined and updated), tenants and their
 *     keys (still authenticate, still isolated), the operator key; new ids
 *     after the restart do not reuse old ones.
 */
#include "srvutil.h"

typedef struct fx {
	su_server *s;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->s = su_new("srv-restart", "--threads", "2", "--test-clock",
		      "--counter-flush-ms", "60000", NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	if (f != NULL)
		su_free(f->s);
	free(f);
	return 0;
}

#define NUMS 8

static uint64_t cnum(unsigned i)
{
	return 16045550000ULL + (uint64_t)i * 104729;
}

static void test_srv_graceful_stop_keeps_counters(void **state)
{
	fx *f = *state;
	mtgate_program_def dm = su_recurring("70001", "MONTHLY", 4,
					     MTGATE_PERIOD_MONTH),
			   dd = su_recurring("70002", "DAILY", 3,
					     MTGATE_PERIOD_DAY);
	mtgate_gate_req reqs[3 * NUMS];
	mtgate_reason out[3 * NUMS];
	uint64_t v[MTGATE_STAT_MAX];
	uint32_t pm, pd;
	mtgate_conn *op;
	size_t nv;

	su_start(f->s);
	op = su_operator(f->s);
	su_clock(op, MTGATE_CLOCK_SET, SU_T0);
	pm = su_program_put(op, &dm);
	pd = su_program_put(op, &dd);
	for (unsigned i = 0; i < NUMS; i++) {
		su_optin(op, cnum(i), pm);
		su_optin(op, cnum(i), pd);
	}
	/* three counted MTs per number on the monthly program (a batch over
	 * both shards), number i gets i % 4 on the daily one */
	for (unsigned k = 0; k < 3 * NUMS; k++)
		reqs[k] = (mtgate_gate_req){cnum(k % NUMS), pm};
	assert_int_equal(
		mtgate_c_gate_batch(op, reqs, 3 * NUMS, MTGATE_MODE_COUNT, out),
		0);
	for (unsigned k = 0; k < 3 * NUMS; k++)
		assert_int_equal(out[k], MTGATE_ALLOW);
	for (unsigned i = 0; i < NUMS; i++)
		for (unsigned k = 0; k < i % 4; k++)
			assert_int_equal(
				su_gate(op, cnum(i), pd, MTGATE_MODE_COUNT),
				k < 3 ? MTGATE_ALLOW
				      : MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	assert_int_equal(su_consent(op, cnum(0), pm).used, 3);
	mtgate_c_close(op);
	su_stop(f->s);

	su_start(f->s);
	op = su_operator(f->s);
	su_clock(op, MTGATE_CLOCK_SET, SU_T0 + TU_HOUR_MS);
	for (unsigned i = 0; i < NUMS; i++) {
		mtgate_consent k = su_consent(op, cnum(i), pm);
		assert_int_equal(k.state, MTGATE_STATE_OPTED_IN);
		assert_int_equal(k.used, 3);
		assert_int_equal(k.limit, 4);
		k = su_consent(op, cnum(i), pd);
		assert_int_equal(k.used, i % 4 < 3 ? i % 4 : 3);
		assert_int_equal(k.limit, 3);
	}
	/* the count goes on: one more, then the limit */
	for (unsigned i = 0; i < NUMS; i++) {
		assert_int_equal(su_gate(op, cnum(i), pm, MTGATE_MODE_COUNT),
				 MTGATE_ALLOW);
		assert_int_equal(su_gate(op, cnum(i), pm, MTGATE_MODE_COUNT),
				 MTGATE_DENY_MSG_LIMIT_EXCEEDED);
		assert_int_equal(su_gate(op, cnum(i), pd, MTGATE_MODE_DRY_RUN),
				 i % 4 < 3 ? MTGATE_ALLOW
					   : MTGATE_DENY_MSG_LIMIT_EXCEEDED);
	}
	assert_int_equal(mtgate_c_stats(op, v, &nv), 0);
	assert_true(v[MTGATE_STAT_RECOVERED] >= 2 * NUMS);

	/* and once more: a second stop keeps the new counts */
	mtgate_c_close(op);
	su_stop(f->s);
	su_start(f->s);
	op = su_operator(f->s);
	su_clock(op, MTGATE_CLOCK_SET, SU_T0 + 2 * TU_HOUR_MS);
	for (unsigned i = 0; i < NUMS; i++)
		assert_int_equal(su_consent(op, cnum(i), pm).used, 4);
	/* a new month starts again from zero */
	su_clock(op, MTGATE_CLOCK_SET, tu_utc(2026, 4, 2, 0, 0, 0));
	assert_int_equal(su_gate(op, cnum(0), pm, MTGATE_MODE_COUNT),
			 MTGATE_ALLOW);
	mtgate_c_close(op);
	su_stop(f->s);
}

/* Everything QUERY says of a number, as seen by c. */
typedef struct snap {
	size_t n;
	mtgate_consent recs[8];
	mtgate_deactivation d;
} snap;

static void take(mtgate_conn *c, uint64_t number, snap *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(mtgate_c_query(c, number, s->recs, 8, &s->n, &s->d),
			 0);
	assert_true(s->n <= 8);
}

static void same(const snap *a, const snap *b)
{
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->d.reason, b->d.reason);
	assert_int_equal(a->d.at_ms, b->d.at_ms);
	for (size_t i = 0; i < a->n; i++) {
		const mtgate_consent *x = &a->recs[i], *y = &b->recs[i];
		assert_int_equal(x->program, y->program);
		assert_int_equal(x->state, y->state);
		assert_int_equal(x->channel, y->channel);
		assert_int_equal(x->voided_by, y->voided_by);
		assert_int_equal(x->changed_at_ms, y->changed_at_ms);
		assert_int_equal(x->used, y->used);
		assert_int_equal(x->limit, y->limit);
		assert_string_equal(x->source, y->source);
	}
}

#define RNUMS 6

static void test_srv_restart_keeps_consents(void **state)
{
	fx *f = *state;
	char ka[MTGATE_PROTO_KEY_MAX + 1], kb[MTGATE_PROTO_KEY_MAX + 1],
		kc[MTGATE_PROTO_KEY_MAX + 1], opkey[MTGATE_PROTO_KEY_MAX + 1];
	mtgate_program_def
		d1 = su_recurring("71001", "ONE", 5, MTGATE_PERIOD_MONTH),
		d2 = su_recurring("71001", "TWO", 5, MTGATE_PERIOD_WEEK),
		da = su_recurring("71002", "ACME", 8, MTGATE_PERIOD_DAY),
		db = su_recurring("71003", "BETA", 9, MTGATE_PERIOD_MONTH), dn;
	uint32_t ida, idb, idc, p1, p2, pa, pb, pn;
	uint64_t n[RNUMS];
	snap before[RNUMS], after;
	mtgate_c_program *list = NULL, *list2 = NULL;
	size_t cnt = 0, cnt2 = 0;
	mtgate_conn *op, *a, *b;
	mtgate_c_changes ch;
	int64_t t_deact;

	for (unsigned i = 0; i < RNUMS; i++)
		n[i] = 13105550000ULL + i * 7777;
	su_start(f->s);
	op = su_operator(f->s);
	snprintf(opkey, sizeof(opkey), "%s", f->s->key);
	su_clock(op, MTGATE_CLOCK_SET, SU_T0);
	assert_int_equal(mtgate_c_tenant_add(op, "acme", &ida, ka), 0);
	assert_int_equal(mtgate_c_tenant_add(op, "beta", &idb, kb), 0);
	a = su_connect(f->s, ka);
	b = su_connect(f->s, kb);
	p1 = su_program_put(op, &d1);
	p2 = su_program_put(op, &d2);
	pa = su_program_put(a, &da);
	pb = su_program_put(b, &db);
	/* an update: the new version must be the one that comes back */
	da = su_program("71002", "ACME", "Acme, second version", 2,
			MTGATE_PERIOD_DAY);
	da.id = pa;
	assert_int_equal(su_program_put(a, &da), pa);

	/* n0: in to ONE and TWO (WEB, source); n1: in to ONE, out of it; n2:
	 * in to ONE and TWO, out of both by SC:ALL; n3: in, then the number
	 * deactivated; n4: tenant A's and B's programs; n5: nothing */
	su_optin(op, n[0], p1);
	assert_int_equal(mtgate_c_optin(op, n[0], p2, MTGATE_CHANNEL_IVR,
					"call-991", 0, &ch),
			 0);
	su_optin(op, n[1], p1);
	su_optout(op, n[1], p1);
	su_optin(op, n[2], p1);
	su_optin(op, n[2], p2);
	assert_int_equal(mtgate_c_optout(op, n[2], 0, "71001",
					 MTGATE_CHANNEL_MO, "STOP ALL", &ch),
			 0);
	assert_int_equal(ch.changed, 2);
	su_optin(op, n[3], p1);
	t_deact = su_clock(op, MTGATE_CLOCK_ADVANCE, TU_HOUR_MS);
	assert_int_equal(mtgate_c_deactivate(op, n[3], MTGATE_DEACT_PORT, 0,
					     "ports.csv", &ch),
			 0);
	su_optin(a, n[4], pa);
	assert_int_equal(su_gate(a, n[4], pa, MTGATE_MODE_COUNT), MTGATE_ALLOW);
	su_optin(b, n[4], pb);
	for (unsigned i = 0; i < RNUMS; i++)
		take(op, n[i], &before[i]);
	assert_int_equal(before[0].n, 2);
	assert_int_equal(before[3].d.reason, MTGATE_DEACT_PORT);
	assert_int_equal(before[5].n, 0);
	assert_int_equal(mtgate_c_program_list(op, &list, &cnt), 0);
	assert_int_equal(cnt, 4);
	mtgate_c_close(a);
	mtgate_c_close(b);
	mtgate_c_close(op);
	su_stop(f->s);

	su_start(f->s);
	assert_string_equal(f->s->key, opkey); /* the same operator key */
	op = su_operator(f->s);
	su_clock(op, MTGATE_CLOCK_SET, t_deact);
	for (unsigned i = 0; i < RNUMS; i++) {
		take(op, n[i], &after);
		same(&before[i], &after);
	}
	/* programs: the same ids and the newest versions */
	assert_int_equal(mtgate_c_program_list(op, &list2, &cnt2), 0);
	assert_int_equal(cnt2, cnt);
	for (size_t i = 0; i < cnt; i++) {
		const mtgate_program_def *x = &list[i].def, *y = &list2[i].def;
		assert_int_equal(x->id, y->id);
		assert_int_equal(x->tenant, y->tenant);
		assert_string_equal(x->short_code, y->short_code);
		assert_string_equal(x->keyword, y->keyword);
		assert_string_equal(x->name, y->name);
		assert_int_equal(x->limit, y->limit);
		assert_int_equal(x->period, y->period);
		assert_string_equal(x->welcome_text, y->welcome_text);
		if (x->id == pa) {
			assert_string_equal(y->name, "Acme, second version");
			assert_int_equal(y->limit, 2);
			assert_int_equal(y->tenant, ida);
		}
	}
	mtgate_c_program_list_free(list, cnt);
	mtgate_c_program_list_free(list2, cnt2);

	/* the gate answers as before */
	assert_int_equal(su_gate(op, n[0], p1, MTGATE_MODE_DRY_RUN),
			 MTGATE_ALLOW);
	assert_int_equal(su_gate(op, n[0], p2, MTGATE_MODE_DRY_RUN),
			 MTGATE_ALLOW);
	assert_int_equal(su_gate(op, n[1], p1, MTGATE_MODE_DRY_RUN),
			 MTGATE_DENY_OPTED_OUT);
	assert_int_equal(su_gate(op, n[2], p2, MTGATE_MODE_DRY_RUN),
			 MTGATE_DENY_OPTED_OUT);
	assert_int_equal(su_gate(op, n[3], p1, MTGATE_MODE_DRY_RUN),
			 MTGATE_DENY_DEACTIVATED);
	assert_int_equal(su_gate(op, n[5], p1, MTGATE_MODE_DRY_RUN),
			 MTGATE_DENY_NO_OPTIN);
	/* the deactivation still voids older opt-ins */
	assert_int_equal(mtgate_c_optin(op, n[3], p1, MTGATE_CHANNEL_IMPORT,
					"old.csv", t_deact - 1000, &ch),
			 MTGATE_EVOID);

	/* tenants: their keys still authenticate, as themselves, isolated */
	a = su_connect(f->s, ka);
	b = su_connect(f->s, kb);
	assert_int_equal(mtgate_c_hello(a)->role, MTGATE_ROLE_TENANT);
	assert_int_equal(mtgate_c_hello(a)->credential, ida);
	assert_int_equal(mtgate_c_hello(b)->credential, idb);
	assert_int_equal(su_gate(a, n[4], pa, MTGATE_MODE_DRY_RUN),
			 MTGATE_ALLOW);
	assert_int_equal(su_gate(b, n[4], pa, MTGATE_MODE_DRY_RUN),
			 MTGATE_DENY_UNKNOWN_PROGRAM);
	assert_int_equal(mtgate_c_program_list(b, &list, &cnt), 0);
	assert_int_equal(cnt, 1);
	assert_int_equal(list[0].def.id, pb);
	mtgate_c_program_list_free(list, cnt);
	take(a, n[4], &after);
	assert_int_equal(after.n, 1);
	assert_int_equal(after.recs[0].program, pa);
	assert_int_equal(after.recs[0].used, 1);

	/* new ids do not reuse old ones; names stay taken */
	assert_int_equal(mtgate_c_tenant_add(op, "acme", &idc, kc),
			 MTGATE_ETENANT_DUP);
	assert_int_equal(mtgate_c_tenant_add(op, "gamma", &idc, kc), 0);
	assert_true(idc > idb && idc > ida);
	dn = su_recurring("71004", "NEW", 1, MTGATE_PERIOD_DAY);
	pn = su_program_put(op, &dn);
	assert_true(pn > p1 && pn > p2 && pn > pa && pn > pb);
	assert_int_equal(mtgate_c_program_put(op, &d1, &pn),
			 MTGATE_EPROGRAM_DUP);
	mtgate_c_close(a);
	mtgate_c_close(b);
	mtgate_c_close(op);
	su_stop(f->s);

	/* the new tenant survives a restart too */
	su_start(f->s);
	a = su_connect(f->s, kc);
	assert_int_equal(mtgate_c_hello(a)->credential, idc);
	mtgate_c_close(a);
	su_stop(f->s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_srv_graceful_stop_keeps_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srv_restart_keeps_consents,
						setup, teardown),
	};

	return cmocka_run_group_tests_name("srv_restart", tests, NULL, NULL);
}

/*
 * Checks the tenant rules of RULES.md on a real mtgated (--threads 2):
 *   TEN-1  tenants created by the operator (TENANT_ADD gives each a key) see
 *          and change only their own programs and their consents: another
 *          tenant's program is unknown to them (PROGRAM_GET ENOPROGRAM, left
 *          out of PROGRAM_LIST, GATE UNKNOWN_PROGRAM, OPTIN/OPTOUT/update
 *          ENOPROGRAM, SC:ALL does not reach it), QUERY lists only their
 *          own consents, DEACTIVATE and TENANT_ADD are FORBIDDEN; the
 *          operator sees everything.
 *   TEN-2  every failed HELLO (unknown id, wrong secret, malformed, too
 *          long, empty key) gets the same status AUTH_FAILED and the same
 *          text; the third failure on a connection closes it; a correct key
 *          on a new connection still works; no key (nor any part of its
 *          secret) appears in the server's log.
 */
#include "srvutil.h"

typedef struct fx {
	su_server *s;
	mtgate_conn *op;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->s = su_start_clocked("srv-ten", &f->op);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	if (f == NULL)
		return 0;
	su_done(f->s, f->op);
	free(f);
	return 0;
}

static bool has_program(mtgate_c_program *list, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].def.id == id)
			return true;
	return false;
}

/* The programs of a PROGRAM_LIST answer from after_id 0 with max 1: one
 * page at a time, as a client pages. Returns how many; ids into out. */
static size_t list_paged(mtgate_conn *c, uint32_t *out, size_t cap)
{
	uint32_t after = 0, more = 1;
	size_t n = 0;

	while (more) {
		mtgate_wire_program_list_req q = {.after_id = after, .max = 1};
		mtgate_wire_program_list_resp r;
		mtgate_wire_header h;
		const uint8_t *rb;
		uint8_t body[8];
		proto_wr w;
		proto_rd rd;

		proto_wr_init(&w, body, sizeof(body));
		proto_enc_program_list_req(&w, &q);
		su_call_raw(c, MTGATE_OPC_PROGRAM_LIST, body, 8, &h, &rb);
		assert_int_equal(h.status, MTGATE_ST_OK);
		proto_rd_init(&rd, rb, h.body_len);
		proto_dec_program_list_resp(&rd, &r);
		assert_true(r.count <= 1);
		for (uint32_t i = 0; i < r.count; i++) {
			proto_program p;
			proto_dec_program(&rd, &p);
			assert_true(n < cap);
			out[n++] = after = p.rec.id;
		}
		assert_true(proto_rd_done(&rd));
		more = r.more;
		if (r.count == 0)
			assert_int_equal(more, 0);
	}
	return n;
}

static void test_ten_1_tenants_see_only_their_own(void **state)
{
	fx *f = *state;
	char ka[MTGATE_PROTO_KEY_MAX + 1], kb[MTGATE_PROTO_KEY_MAX + 1],
		kx[MTGATE_PROTO_KEY_MAX + 1];
	uint32_t ida = 0, idb = 0, idx = 0, pa, pa2, pb, po, pob, ids[16];
	mtgate_program_def da = su_recurring("60001", "ACME", 10,
					     MTGATE_PERIOD_MONTH),
			   db = su_recurring("60002", "BETA", 10,
					     MTGATE_PERIOD_MONTH),
			   dop = su_recurring("60003", "OPER", 10,
					      MTGATE_PERIOD_MONTH),
			   dob = su_recurring("60004", "FORB", 10,
					      MTGATE_PERIOD_MONTH),
			   upd;
	mtgate_conn *a, *b;
	mtgate_c_program got, *list = NULL;
	mtgate_consent recs[16];
	mtgate_gate_req reqs[3];
	mtgate_reason out[3];
	mtgate_c_changes ch;
	uint64_t n = 15556660001ULL;
	size_t cnt = 0;

	assert_int_equal(mtgate_c_tenant_add(f->op, "acme", &ida, ka), 0);
	assert_int_equal(mtgate_c_tenant_add(f->op, "beta", &idb, kb), 0);
	assert_int_not_equal(ida, idb);
	a = su_connect(f->s, ka);
	b = su_connect(f->s, kb);
	assert_int_equal(mtgate_c_hello(a)->role, MTGATE_ROLE_TENANT);
	assert_int_equal(mtgate_c_hello(a)->credential, ida);
	assert_int_equal(mtgate_c_hello(b)->credential, idb);

	/* A's program belongs to A whatever tenant the record names */
	da.tenant = idb;
	pa = su_program_put(a, &da);
	assert_int_equal(mtgate_c_program_get(a, pa, NULL, NULL, &got), 0);
	assert_int_equal(got.def.tenant, ida);
	mtgate_c_program_free(&got);
	{
		mtgate_program_def d2 =
			su_recurring("60001", "ACME2", 5, MTGATE_PERIOD_DAY);
		pa2 = su_program_put(a, &d2);
	}
	pb = su_program_put(b, &db);
	po = su_program_put(f->op, &dop); /* the operator's own */
	dob.tenant = idb;                 /* the operator, for B */
	pob = su_program_put(f->op, &dob);
	assert_int_equal(mtgate_c_program_get(b, pob, NULL, NULL, &got), 0);
	assert_int_equal(got.def.tenant, idb);
	mtgate_c_program_free(&got);
	/* ... for a tenant that exists */
	dob.tenant = 999;
	dob.keyword = "NOSUCH";
	assert_int_equal(mtgate_c_program_put(f->op, &dob, &idx),
			 MTGATE_EINVAL);

	/* consents: n opted in to A's and B's programs */
	su_optin(a, n, pa);
	su_optin(a, n, pa2);
	su_optin(b, n, pb);

	/* B cannot see A's program */
	assert_int_equal(mtgate_c_program_get(b, pa, NULL, NULL, &got),
			 MTGATE_ENOPROGRAM);
	assert_int_equal(mtgate_c_program_get(b, 0, "60001", "ACME", &got),
			 MTGATE_ENOPROGRAM);
	assert_int_equal(mtgate_c_program_get(b, po, NULL, NULL, &got),
			 MTGATE_ENOPROGRAM);
	assert_int_equal(mtgate_c_program_list(b, &list, &cnt), 0);
	assert_int_equal(cnt, 2);
	assert_true(has_program(list, cnt, pb));
	assert_true(has_program(list, cnt, pob));
	mtgate_c_program_list_free(list, cnt);
	assert_int_equal(list_paged(b, ids, 16), 2);
	assert_int_equal(mtgate_c_program_list(a, &list, &cnt), 0);
	assert_int_equal(cnt, 2);
	assert_true(has_program(list, cnt, pa));
	assert_true(has_program(list, cnt, pa2));
	mtgate_c_program_list_free(list, cnt);

	/* B's gate on it: as for an unknown program; A's: allowed */
	assert_int_equal(su_gate(b, n, pa, MTGATE_MODE_COUNT),
			 MTGATE_DENY_UNKNOWN_PROGRAM);
	assert_int_equal(su_gate(b, n, po, MTGATE_MODE_COUNT),
			 MTGATE_DENY_UNKNOWN_PROGRAM);
	assert_int_equal(su_gate(a, n, pa, MTGATE_MODE_COUNT), MTGATE_ALLOW);
	assert_int_equal(su_gate(a, n, pb, MTGATE_MODE_COUNT),
			 MTGATE_DENY_UNKNOWN_PROGRAM);
	reqs[0] = (mtgate_gate_req){n, pa};
	reqs[1] = (mtgate_gate_req){n, pb};
	reqs[2] = (mtgate_gate_req){n, pa2};
	assert_int_equal(
		mtgate_c_gate_batch(b, reqs, 3, MTGATE_MODE_DRY_RUN, out), 0);
	assert_int_equal(out[0], MTGATE_DENY_UNKNOWN_PROGRAM);
	assert_int_equal(out[1], MTGATE_ALLOW);
	assert_int_equal(out[2], MTGATE_DENY_UNKNOWN_PROGRAM);

	/* B cannot change A's consents or program */
	assert_int_equal(
		mtgate_c_optin(b, n + 1, pa, MTGATE_CHANNEL_WEB, NULL, 0, &ch),
		MTGATE_ENOPROGRAM);
	assert_int_equal(
		mtgate_c_optout(b, n, pa, NULL, MTGATE_CHANNEL_MO, NULL, &ch),
		MTGATE_ENOPROGRAM);
	assert_int_equal(
		mtgate_c_optout(b, n, 0, "60001", MTGATE_CHANNEL_MO, NULL, &ch),
		MTGATE_ENOPROGRAM);
	upd = su_recurring("60001", "ACME", 1, MTGATE_PERIOD_DAY);
	upd.id = pa;
	assert_int_equal(mtgate_c_program_put(b, &upd, &idx),
			 MTGATE_ENOPROGRAM);
	assert_int_equal(mtgate_c_program_get(a, pa, NULL, NULL, &got), 0);
	assert_int_equal(got.def.limit, 10); /* unchanged */
	assert_int_equal(got.def.tenant, ida);
	mtgate_c_program_free(&got);
	assert_int_equal(su_consent(a, n, pa).state, MTGATE_STATE_OPTED_IN);
	assert_int_equal(su_consent(a, n + 1, pa).state, MTGATE_STATE_NONE);

	/* QUERY shows each tenant only its own consents */
	assert_int_equal(mtgate_c_query(b, n, recs, 16, &cnt, NULL), 0);
	assert_int_equal(cnt, 1);
	assert_int_equal(recs[0].program, pb);
	assert_int_equal(mtgate_c_query(a, n, recs, 16, &cnt, NULL), 0);
	assert_int_equal(cnt, 2);
	assert_int_equal(recs[0].program, pa);
	assert_int_equal(recs[1].program, pa2);

	/* operator-only requests */
	assert_int_equal(mtgate_c_deactivate(b, n, MTGATE_DEACT_DISCONNECT, 0,
					     NULL, &ch),
			 MTGATE_ESTATUS(MTGATE_ST_FORBIDDEN));
	assert_int_equal(mtgate_c_tenant_add(b, "gamma", &idx, kx),
			 MTGATE_ESTATUS(MTGATE_ST_FORBIDDEN));
	assert_int_equal(mtgate_c_tenant_add(a, "gamma", &idx, kx),
			 MTGATE_ESTATUS(MTGATE_ST_FORBIDDEN));
	assert_int_equal(su_gate(a, n, pa, MTGATE_MODE_DRY_RUN), MTGATE_ALLOW);

	/* the operator sees everything */
	assert_int_equal(mtgate_c_program_get(f->op, pa, NULL, NULL, &got), 0);
	assert_int_equal(got.def.tenant, ida);
	mtgate_c_program_free(&got);
	assert_int_equal(mtgate_c_program_list(f->op, &list, &cnt), 0);
	assert_int_equal(cnt, 5);
	assert_true(has_program(list, cnt, pa) && has_program(list, cnt, pa2) &&
		    has_program(list, cnt, pb) && has_program(list, cnt, po) &&
		    has_program(list, cnt, pob));
	mtgate_c_program_list_free(list, cnt);
	assert_int_equal(list_paged(f->op, ids, 16), 5);
	assert_int_equal(mtgate_c_query(f->op, n, recs, 16, &cnt, NULL), 0);
	assert_int_equal(cnt, 3);
	assert_int_equal(su_gate(f->op, n, pa, MTGATE_MODE_DRY_RUN),
			 MTGATE_ALLOW);
	assert_int_equal(su_gate(f->op, n, pb, MTGATE_MODE_DRY_RUN),
			 MTGATE_ALLOW);
	/* and may change any tenant's consents */
	su_optout(f->op, n, pb);
	assert_int_equal(su_gate(b, n, pb, MTGATE_MODE_DRY_RUN),
			 MTGATE_DENY_OPTED_OUT);
	assert_int_equal(mtgate_c_deactivate(f->op, n + 7, MTGATE_DEACT_PORT, 0,
					     "ports.csv", &ch),
			 0);

	mtgate_c_close(a);
	mtgate_c_close(b);
}

/* A HELLO with key on a new raw connection: must fail with AUTH_FAILED;
 * the answer's body goes to body (len in *len). Returns the fd. */
static int hello_fails(fx *f, const void *key, size_t key_len, uint64_t tag,
		       uint8_t *body, uint32_t *len)
{
	int fd = su_raw_connect(f->s);
	mtgate_wire_header h;

	assert_int_equal(su_raw_hello(fd, tag, key, key_len, &h, body, 256),
			 MTGATE_ST_AUTH_FAILED);
	assert_string_equal(su_err_text(&h, body), SU_ERRTEXT);
	*len = h.body_len;
	return fd;
}

static void test_ten_2_failed_hello_same_answer(void **state)
{
	fx *f = *state;
	char kt[MTGATE_PROTO_KEY_MAX + 1], bad[512];
	const char *opk = f->s->key;
	uint8_t first[256], body[256];
	uint32_t idt = 0, len0 = 0, len = 0;
	struct {
		const char *what;
		char key[300];
		size_t len;
	} cases[8];
	int nc = 0, fd;
	mtgate_conn *c = NULL;
	struct stat st;
	char path[700];

	assert_int_equal(mtgate_c_tenant_add(f->op, "ten2", &idt, kt), 0);
	assert_int_equal(strlen(kt), 56);

	/* an unknown id with a well-formed secret */
	snprintf(cases[nc].key, 300, "mtk_%08x_%s", idt + 100, kt + 13);
	cases[nc++].what = "unknown id";
	/* a tenant's id with a wrong secret */
	snprintf(cases[nc].key, 300, "%s", kt);
	cases[nc].key[30] = cases[nc].key[30] == 'A' ? 'B' : 'A';
	cases[nc++].what = "wrong tenant secret";
	/* the operator's id with a wrong secret */
	snprintf(cases[nc].key, 300, "%s", opk);
	cases[nc].key[55] = cases[nc].key[55] == 'A' ? 'B' : 'A';
	cases[nc++].what = "wrong operator secret";
	/* malformed */
	snprintf(cases[nc].key, 300, "mtk_zzzzzzzz_%s", kt + 13);
	cases[nc++].what = "malformed id";
	snprintf(cases[nc].key, 300, "not a key");
	cases[nc++].what = "malformed";
	/* the right key with a newline: not the key */
	snprintf(cases[nc].key, 300, "%s\n", kt);
	cases[nc++].what = "key and newline";
	/* too long: over 128 bytes, starting with the right key */
	memset(cases[nc].key, 'k', 299);
	cases[nc].key[299] = '\0';
	memcpy(cases[nc].key, kt, 56);
	cases[nc++].what = "too long";
	/* empty */
	cases[nc].key[0] = '\0';
	cases[nc++].what = "empty";
	for (int i = 0; i < nc; i++)
		cases[i].len = strlen(cases[i].key);
	assert_true(cases[6].len > MTGATE_PROTO_KEY_MAX);

	/* every one: the same status, the same text, byte for byte */
	fd = hello_fails(f, cases[0].key, cases[0].len, 1, first, &len0);
	close(fd);
	for (int i = 1; i < nc; i++) {
		fd = hello_fails(f, cases[i].key, cases[i].len, 1, body, &len);
		if (len != len0 || memcmp(body, first, len) != 0)
			fail_msg("HELLO with %s: a different answer",
				 cases[i].what);
		close(fd);
	}
	/* the library reports it as AUTH_FAILED and keeps nothing open */
	assert_int_equal(
		mtgate_c_connect(f->s->addr, cases[1].key, SU_IO_MS, &c),
		MTGATE_ESTATUS(MTGATE_ST_AUTH_FAILED));
	assert_null(c);

	/* three failures on one connection close it; two do not */
	fd = hello_fails(f, cases[0].key, cases[0].len, 11, body, &len);
	su_raw_ping_ok(fd, 12);
	{
		mtgate_wire_header h;
		assert_int_equal(su_raw_hello(fd, 13, cases[4].key,
					      cases[4].len, &h, body, 256),
				 MTGATE_ST_AUTH_FAILED);
		su_raw_ping_ok(fd, 14);
		assert_int_equal(su_raw_hello(fd, 15, cases[7].key,
					      cases[7].len, &h, body, 256),
				 MTGATE_ST_AUTH_FAILED);
		assert_string_equal(su_err_text(&h, body), SU_ERRTEXT);
	}
	su_raw_expect_closed(fd);
	close(fd);

	/* a failed HELLO on an authenticated connection leaves it
	 * unauthenticated */
	{
		mtgate_wire_header h, q = su_hdr(MTGATE_OPC_STATS, 22, 0);
		fd = su_raw_connect(f->s);
		assert_int_equal(su_raw_hello(fd, 20, kt, 56, &h, body, 256),
				 MTGATE_ST_OK);
		assert_int_equal(su_raw_hello(fd, 21, cases[1].key,
					      cases[1].len, &h, body, 256),
				 MTGATE_ST_AUTH_FAILED);
		su_raw_frame(fd, &q, NULL, 0);
		su_raw_recv(fd, &h, body, 256);
		assert_int_equal(h.tag, 22);
		assert_int_equal(h.status, MTGATE_ST_NOT_AUTHENTICATED);
		close(fd);
	}

	/* the right keys on new connections work */
	c = su_connect(f->s, kt);
	assert_int_equal(mtgate_c_hello(c)->credential, idt);
	assert_int_equal(mtgate_c_ping(c), 0);
	mtgate_c_close(c);
	c = su_connect(f->s, opk);
	assert_int_equal(mtgate_c_hello(c)->role, MTGATE_ROLE_OPERATOR);
	mtgate_c_close(c);

	/* no key and no secret in the log, during the run or after stop */
	su_stop(f->s);
	assert_true(su_log_contains(f->s, SU_READY_LINE));
	for (int i = 0; i < 2; i++) {
		const char *k = i == 0 ? kt : opk;
		assert_false(su_log_contains(f->s, k));
		snprintf(bad, sizeof(bad), "%.20s", k + 13); /* secret part */
		assert_false(su_log_contains(f->s, bad));
	}
	for (int i = 0; i < nc; i++)
		if (cases[i].len >= 20) {
			snprintf(bad, sizeof(bad), "%.20s", cases[i].key + 13);
			assert_false(su_log_contains(f->s, bad));
		}
	assert_false(su_log_contains(f->s, "mtk_"));

	/* the operator key file is for its owner only */
	snprintf(path, sizeof(path), "%s/operator.key", f->s->data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_ten_1_tenants_see_only_their_own, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_ten_2_failed_hello_same_answer, setup, teardown),
	};

	return cmocka_run_group_tests_name("srv_tenants", tests, NULL, NULL);
}

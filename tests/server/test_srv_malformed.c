/*
 * Checks that every class of malformed input gets its documented status
 * (docs/protocol.md, status table) from a real mtgated, sent on raw sockets
 * with frames built by the wire codec:
 *   fatal, then the connection is closed: bad magic (BAD_MAGIC, tag 0),
 *   bad version (BAD_VERSION), body_len over 1 MiB (FRAME_TOO_LARGE), a
 *   frame cut short by the client's end of stream (TRUNCATED);
 *   answered, and the connection goes on: unknown opcode (BAD_OPCODE, its
 *   body skipped), a GATE body too short or too long (BAD_BODY, the text
 *   naming both sizes), a GATE_BATCH count of 0 or over 16384
 *   (BATCH_TOO_LARGE), a request before HELLO (NOT_AUTHENTICATED), a number
 *   0 or of 16 digits in GATE and in a GATE_BATCH entry (BAD_NUMBER, the
 *   text naming the entry, nothing counted), a nonzero flag, status or
 *   reserved field (BAD_HEADER), and bad bodies of the other opcodes
 *   (BAD_BODY; an unknown channel is the engine's ECHANNEL).
 * After each fatal case a second, well-behaved connection is still served.
 */
#include "srvutil.h"

typedef struct grp {
	su_server *s;
	mtgate_conn *good; /* a well-behaved operator connection */
	uint32_t prog;     /* a program; NUM_IN is opted in to it */
} grp;

#define NUM_IN  15557770001ULL
#define NUM_MAX 999999999999999ULL

static int grp_setup(void **state, const char *threads)
{
	grp *g = calloc(1, sizeof(*g));
	mtgate_program_def d =
		su_recurring("50001", "MALF", 100, MTGATE_PERIOD_MONTH);

	if (g == NULL)
		return -1;
	g->s = su_new("srv-malf", "--threads", threads, "--test-clock", NULL);
	su_start(g->s);
	g->good = su_operator(g->s);
	su_clock(g->good, MTGATE_CLOCK_SET, SU_T0);
	g->prog = su_program_put(g->good, &d);
	su_optin(g->good, NUM_IN, g->prog);
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

	if (g == NULL)
		return 0;
	mtgate_c_close(g->good);
	su_free(g->s);
	free(g);
	return 0;
}

/* The well-behaved connection is still served, with real answers. */
static void others_served(grp *g)
{
	assert_int_equal(mtgate_c_ping(g->good), 0);
	assert_int_equal(su_gate(g->good, NUM_IN, g->prog, MTGATE_MODE_DRY_RUN),
			 MTGATE_ALLOW);
}

/* A raw connection authenticated as the operator. */
static int raw_authed(grp *g)
{
	int fd = su_raw_connect(g->s);
	mtgate_wire_header h;
	uint8_t body[256];

	assert_int_equal(su_raw_hello(fd, 1, g->s->key, strlen(g->s->key), &h,
				      body, sizeof(body)),
			 MTGATE_ST_OK);
	return fd;
}

/* Read one answer: it must carry tag, opcode (unless ANY_OPC) and status;
 * its error text must contain `text` when given. */
#define ANY_OPC (-1)
static void expect(int fd, uint64_t tag, int opcode, unsigned status,
		   const char *text)
{
	static uint8_t body[64 * 1024];
	mtgate_wire_header h;

	su_raw_recv(fd, &h, body, sizeof(body));
	if (h.status != status)
		fail_msg("tag %llu: status %u (%s), want %u (%s)",
			 (unsigned long long)h.tag, h.status,
			 mtgate_status_name(h.status), status,
			 mtgate_status_name(status));
	assert_int_equal(h.tag, tag);
	if (opcode != ANY_OPC)
		assert_int_equal(h.opcode, opcode);
	if (status != MTGATE_ST_OK) {
		const char *t = su_err_text(&h, body);
		assert_true(strlen(t) > 0);
		if (text != NULL && strstr(t, text) == NULL)
			fail_msg("error text '%s' does not contain '%s'", t,
				 text);
	}
}

static void send_gate(int fd, uint64_t tag, uint64_t number, uint32_t prog)
{
	mtgate_wire_gate_req q = {.number = number, .program = prog};
	mtgate_wire_header h = su_hdr(MTGATE_OPC_GATE, tag, 16);
	uint8_t body[16];
	proto_wr w;

	proto_wr_init(&w, body, sizeof(body));
	proto_enc_gate_req(&w, &q);
	su_raw_frame(fd, &h, body, sizeof(body));
}

/* ---- fatal ------------------------------------------------------------------------- */

static void test_srv_bad_magic_is_fatal(void **state)
{
	grp *g = *state;
	int fd = raw_authed(g);
	mtgate_wire_header h = su_hdr(MTGATE_OPC_PING, 41, 0);

	h.magic = 0x474E; /* "NG" */
	su_raw_frame(fd, &h, NULL, 0);
	expect(fd, 0, ANY_OPC, MTGATE_ST_BAD_MAGIC, "magic");
	su_raw_expect_closed(fd);
	close(fd);
	others_served(g);
}

static void test_srv_bad_version_is_fatal(void **state)
{
	grp *g = *state;
	int fd = raw_authed(g);
	mtgate_wire_header h = su_hdr(MTGATE_OPC_PING, 42, 0);

	h.version = 2;
	su_raw_frame(fd, &h, NULL, 0);
	expect(fd, 42, MTGATE_OPC_PING, MTGATE_ST_BAD_VERSION, "version");
	su_raw_expect_closed(fd);
	close(fd);
	others_served(g);

	/* before HELLO too */
	fd = su_raw_connect(g->s);
	h.version = 0;
	su_raw_frame(fd, &h, NULL, 0);
	expect(fd, 42, MTGATE_OPC_PING, MTGATE_ST_BAD_VERSION, NULL);
	su_raw_expect_closed(fd);
	close(fd);
}

static void test_srv_frame_too_large_is_fatal(void **state)
{
	grp *g = *state;
	int fd = raw_authed(g);
	mtgate_wire_header h =
		su_hdr(MTGATE_OPC_GATE, 43, MTGATE_FRAME_BODY_MAX + 1);
	uint8_t *big;

	su_raw_frame(fd, &h, NULL, 0); /* the header says it all */
	expect(fd, 43, MTGATE_OPC_GATE, MTGATE_ST_FRAME_TOO_LARGE, NULL);
	su_raw_expect_closed(fd);
	close(fd);
	others_served(g);

	/* exactly FRAME_BODY_MAX is a frame: a PING with that body is a
	 * BAD_BODY answer, and the connection goes on */
	fd = raw_authed(g);
	big = calloc(1, MTGATE_FRAME_BODY_MAX);
	assert_non_null(big);
	h = su_hdr(MTGATE_OPC_PING, 44, MTGATE_FRAME_BODY_MAX);
	su_raw_frame(fd, &h, big, MTGATE_FRAME_BODY_MAX);
	free(big);
	expect(fd, 44, MTGATE_OPC_PING, MTGATE_ST_BAD_BODY,
	       "PING body must be 0 bytes, got 1048576");
	su_raw_ping_ok(fd, 45);
	close(fd);
}

static void test_srv_truncated_is_fatal(void **state)
{
	grp *g = *state;
	mtgate_wire_header h = su_hdr(MTGATE_OPC_GATE, 46, 16);
	uint8_t hb[MTGATE_PROTO_HEADER_LEN], body[16] = {1};
	int fd = raw_authed(g);

	/* half a frame: the header and half the body */
	proto_header_enc(hb, &h);
	su_raw_send(fd, hb, sizeof(hb));
	su_raw_send(fd, body, 8);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	expect(fd, 0, ANY_OPC, MTGATE_ST_TRUNCATED, NULL);
	su_raw_expect_closed(fd);
	close(fd);
	others_served(g);

	/* half a header */
	fd = raw_authed(g);
	su_raw_send(fd, hb, 12);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	expect(fd, 0, ANY_OPC, MTGATE_ST_TRUNCATED, NULL);
	su_raw_expect_closed(fd);
	close(fd);

	/* a whole frame and then the end: no TRUNCATED, just the answer */
	fd = raw_authed(g);
	send_gate(fd, 47, NUM_IN, g->prog);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	expect(fd, 47, MTGATE_OPC_GATE, MTGATE_ST_OK, NULL);
	su_raw_expect_closed(fd);
	close(fd);
	others_served(g);
}

/* ---- answered, the connection goes on ------------------------------------------------ */

static void test_srv_bad_opcode_goes_on(void **state)
{
	grp *g = *state;
	int fd = raw_authed(g);
	mtgate_wire_header h = su_hdr(0x7F, 50, 5);

	su_raw_frame(fd, &h, "abcde", 5); /* the body is skipped */
	expect(fd, 50, 0x7F, MTGATE_ST_BAD_OPCODE, NULL);
	h = su_hdr(0x8F, 51, 0); /* still free among the consent rules' */
	su_raw_frame(fd, &h, NULL, 0);
	expect(fd, 51, 0x8F, MTGATE_ST_BAD_OPCODE, NULL);
	su_raw_ping_ok(fd, 52);
	send_gate(fd, 53, NUM_IN, g->prog);
	expect(fd, 53, MTGATE_OPC_GATE, MTGATE_ST_OK, NULL);
	close(fd);
}

static void test_srv_gate_bad_body_sizes(void **state)
{
	grp *g = *state;
	int fd = raw_authed(g);
	uint8_t body[20] = {0};
	mtgate_wire_header h = su_hdr(MTGATE_OPC_GATE, 60, 12);

	su_raw_frame(fd, &h, body, 12);
	expect(fd, 60, MTGATE_OPC_GATE, MTGATE_ST_BAD_BODY,
	       "GATE body must be 16 bytes, got 12");
	h = su_hdr(MTGATE_OPC_GATE, 61, 20);
	su_raw_frame(fd, &h, body, 20);
	expect(fd, 61, MTGATE_OPC_GATE, MTGATE_ST_BAD_BODY,
	       "GATE body must be 16 bytes, got 20");
	h = su_hdr(MTGATE_OPC_GATE, 62, 0);
	su_raw_frame(fd, &h, NULL, 0);
	expect(fd, 62, MTGATE_OPC_GATE, MTGATE_ST_BAD_BODY,
	       "GATE body must be 16 bytes, got 0");
	send_gate(fd, 63, NUM_IN, g->prog);
	expect(fd, 63, MTGATE_OPC_GATE, MTGATE_ST_OK, NULL);
	close(fd);
}

/* A GATE_BATCH frame of count (as told) and n entries (as sent). */
static void send_batch(int fd, uint64_t tag, uint32_t count,
		       const mtgate_gate_req *reqs, uint32_t n)
{
	size_t len = sizeof(mtgate_wire_batch_req) +
		     (size_t)n * sizeof(mtgate_wire_batch_entry);
	uint8_t *body = malloc(len);
	mtgate_wire_batch_req q = {.count = count};
	mtgate_wire_header h =
		su_hdr(MTGATE_OPC_GATE_BATCH, tag, (uint32_t)len);
	proto_wr w;

	assert_non_null(body);
	proto_wr_init(&w, body, len);
	proto_enc_batch_req(&w, &q);
	proto_enc_batch_entries(body + sizeof(q), reqs, n);
	su_raw_frame(fd, &h, body, len);
	free(body);
}

static void test_srv_batch_count_limits(void **state)
{
	grp *g = *state;
	uint32_t n = MTGATE_PROTO_BATCH_MAX + 1;
	mtgate_gate_req *reqs = calloc(n, sizeof(*reqs));
	int fd = raw_authed(g);
	mtgate_wire_header h;
	static uint8_t body[MTGATE_PROTO_BATCH_MAX + 64];

	assert_non_null(reqs);
	for (uint32_t i = 0; i < n; i++)
		reqs[i] = (mtgate_gate_req){NUM_IN + 1 + i, g->prog};

	send_batch(fd, 70, 0, reqs, 0);
	expect(fd, 70, MTGATE_OPC_GATE_BATCH, MTGATE_ST_BATCH_TOO_LARGE, NULL);
	send_batch(fd, 71, n, reqs, n);
	expect(fd, 71, MTGATE_OPC_GATE_BATCH, MTGATE_ST_BATCH_TOO_LARGE,
	       "16385");
	/* a count that does not match the entries sent */
	send_batch(fd, 72, 3, reqs, 2);
	expect(fd, 72, MTGATE_OPC_GATE_BATCH, MTGATE_ST_BAD_BODY, NULL);
	/* exactly BATCH_MAX is served */
	send_batch(fd, 73, n - 1, reqs, n - 1);
	su_raw_recv(fd, &h, body, sizeof(body));
	assert_int_equal(h.tag, 73);
	assert_int_equal(h.status, MTGATE_ST_OK);
	assert_int_equal(h.body_len, 8 + MTGATE_PROTO_BATCH_MAX);
	for (uint32_t i = 0; i < n - 1; i++)
		assert_int_equal(body[8 + i], MTGATE_DENY_NO_OPTIN);
	su_raw_ping_ok(fd, 74);
	free(reqs);
	close(fd);
}

static void test_srv_before_hello(void **state)
{
	grp *g = *state;
	int fd = su_raw_connect(g->s);
	mtgate_wire_header h = su_hdr(MTGATE_OPC_STATS, 81, 0), r;
	uint8_t body[256];

	send_gate(fd, 80, NUM_IN, g->prog);
	expect(fd, 80, MTGATE_OPC_GATE, MTGATE_ST_NOT_AUTHENTICATED, NULL);
	su_raw_frame(fd, &h, NULL, 0);
	expect(fd, 81, MTGATE_OPC_STATS, MTGATE_ST_NOT_AUTHENTICATED, NULL);
	su_raw_ping_ok(fd, 82); /* PING needs no key */
	assert_int_equal(su_raw_hello(fd, 83, g->s->key, strlen(g->s->key), &r,
				      body, sizeof(body)),
			 MTGATE_ST_OK);
	send_gate(fd, 84, NUM_IN, g->prog);
	expect(fd, 84, MTGATE_OPC_GATE, MTGATE_ST_OK, NULL);
	close(fd);
}

static void test_srv_bad_numbers(void **state)
{
	grp *g = *state;
	int fd = raw_authed(g);
	uint64_t other = NUM_IN + 100;
	mtgate_gate_req reqs[4] = {
		{NUM_IN, g->prog},
		{other, g->prog},
		{0, g->prog},
		{NUM_IN, g->prog},
	};
	uint32_t used = su_consent(g->good, NUM_IN, g->prog).used;

	su_optin(g->good, other, g->prog);
	send_gate(fd, 90, 0, g->prog);
	expect(fd, 90, MTGATE_OPC_GATE, MTGATE_ST_BAD_NUMBER, NULL);
	send_gate(fd, 91, NUM_MAX + 1, g->prog); /* 10^15: 16 digits */
	expect(fd, 91, MTGATE_OPC_GATE, MTGATE_ST_BAD_NUMBER, NULL);
	send_gate(fd, 92, NUM_MAX, g->prog); /* 15 digits: a number */
	expect(fd, 92, MTGATE_OPC_GATE, MTGATE_ST_OK, NULL);

	/* in a batch: the whole frame is refused, naming the entry, and
	 * nothing of it is counted */
	send_batch(fd, 93, 4, reqs, 4);
	expect(fd, 93, MTGATE_OPC_GATE_BATCH, MTGATE_ST_BAD_NUMBER, "entry 2");
	reqs[2].number = NUM_MAX + 1;
	send_batch(fd, 94, 4, reqs, 4);
	expect(fd, 94, MTGATE_OPC_GATE_BATCH, MTGATE_ST_BAD_NUMBER, "entry 2");
	reqs[2].number = NUM_IN;
	reqs[0].number = UINT64_MAX;
	send_batch(fd, 95, 4, reqs, 4);
	expect(fd, 95, MTGATE_OPC_GATE_BATCH, MTGATE_ST_BAD_NUMBER, "entry 0");
	assert_int_equal(su_consent(g->good, NUM_IN, g->prog).used, used);
	assert_int_equal(su_consent(g->good, other, g->prog).used, 0);
	su_raw_ping_ok(fd, 96);
	close(fd);
}

static void test_srv_bad_header_fields(void **state)
{
	grp *g = *state;
	int fd = raw_authed(g);
	mtgate_wire_gate_req q = {.number = NUM_IN, .program = g->prog};
	uint8_t body[16];
	mtgate_wire_header h;
	proto_wr w;

	proto_wr_init(&w, body, sizeof(body));
	proto_enc_gate_req(&w, &q);

	/* each with a whole GATE body, which must be skipped */
	h = su_hdr(MTGATE_OPC_GATE, 100, 16);
	h.flags = MTGATE_FLAG_RESPONSE;
	su_raw_frame(fd, &h, body, 16);
	expect(fd, 100, MTGATE_OPC_GATE, MTGATE_ST_BAD_HEADER, NULL);
	h = su_hdr(MTGATE_OPC_GATE, 101, 16);
	h.flags = 0x8000;
	su_raw_frame(fd, &h, body, 16);
	expect(fd, 101, MTGATE_OPC_GATE, MTGATE_ST_BAD_HEADER, NULL);
	h = su_hdr(MTGATE_OPC_GATE, 102, 16);
	h.reserved = 1;
	su_raw_frame(fd, &h, body, 16);
	expect(fd, 102, MTGATE_OPC_GATE, MTGATE_ST_BAD_HEADER, NULL);
	h = su_hdr(MTGATE_OPC_GATE, 103, 16);
	h.status = MTGATE_ST_INTERNAL;
	su_raw_frame(fd, &h, body, 16);
	expect(fd, 103, MTGATE_OPC_GATE, MTGATE_ST_BAD_HEADER, NULL);
	send_gate(fd, 104, NUM_IN, g->prog);
	expect(fd, 104, MTGATE_OPC_GATE, MTGATE_ST_OK, NULL);
	close(fd);
}

/* Bodies of other opcodes that do not say what they must: BAD_BODY (or
 * the engine's error for a value it refuses), and the connection goes
 * on. */
static void test_srv_other_bad_bodies(void **state)
{
	grp *g = *state;
	int fd = raw_authed(g);
	uint8_t b[128] = {0};
	mtgate_wire_header h;
	proto_wr w;

	/* GATE with mode 2 */
	{
		mtgate_wire_gate_req q = {
			.number = NUM_IN, .program = g->prog, .mode = 2};
		proto_wr_init(&w, b, 16);
		proto_enc_gate_req(&w, &q);
		h = su_hdr(MTGATE_OPC_GATE, 110, 16);
		su_raw_frame(fd, &h, b, 16);
		expect(fd, 110, MTGATE_OPC_GATE, MTGATE_ST_BAD_BODY, "mode");
	}
	/* OPTIN: a source_len past the body; a NUL in the source; an
	 * unknown channel (the engine's ECHANNEL) */
	{
		mtgate_wire_optin_req q = {.number = NUM_IN + 7,
					   .program = g->prog,
					   .channel = MTGATE_CHANNEL_WEB,
					   .source_len = 10};
		proto_wr_init(&w, b, 29);
		proto_enc_optin_req(&w, &q);
		proto_wr_bytes(&w, "abcde", 5);
		h = su_hdr(MTGATE_OPC_OPTIN, 111, 29);
		su_raw_frame(fd, &h, b, 29);
		expect(fd, 111, MTGATE_OPC_OPTIN, MTGATE_ST_BAD_BODY, "OPTIN");
		q.source_len = 5;
		proto_wr_init(&w, b, 29);
		proto_enc_optin_req(&w, &q);
		proto_wr_bytes(&w, "ab\0de", 5);
		h = su_hdr(MTGATE_OPC_OPTIN, 112, 29);
		su_raw_frame(fd, &h, b, 29);
		expect(fd, 112, MTGATE_OPC_OPTIN, MTGATE_ST_BAD_BODY, NULL);
		q.source_len = 0;
		q.channel = 99;
		proto_wr_init(&w, b, 24);
		proto_enc_optin_req(&w, &q);
		h = su_hdr(MTGATE_OPC_OPTIN, 113, 24);
		su_raw_frame(fd, &h, b, 24);
		expect(fd, 113, MTGATE_OPC_OPTIN,
		       su_engine_status(MTGATE_ECHANNEL),
		       mtgate_strerror(MTGATE_ECHANNEL));
	}
	/* OPTOUT naming a program and a short code */
	{
		mtgate_wire_optout_req q = {.number = NUM_IN + 7,
					    .program = g->prog,
					    .channel = MTGATE_CHANNEL_MO,
					    .sc_len = 5};
		proto_wr_init(&w, b, 21);
		proto_enc_optout_req(&w, &q);
		proto_wr_bytes(&w, "50001", 5);
		h = su_hdr(MTGATE_OPC_OPTOUT, 114, 21);
		su_raw_frame(fd, &h, b, 21);
		expect(fd, 114, MTGATE_OPC_OPTOUT, MTGATE_ST_BAD_BODY, NULL);
	}
	/* QUERY of 7 bytes */
	h = su_hdr(MTGATE_OPC_QUERY, 115, 7);
	su_raw_frame(fd, &h, b, 7);
	expect(fd, 115, MTGATE_OPC_QUERY, MTGATE_ST_BAD_BODY,
	       "QUERY body must be 8 bytes, got 7");
	/* CLOCK op 3 */
	{
		mtgate_wire_clock_req q = {.op = 3};
		proto_wr_init(&w, b, 16);
		proto_enc_clock_req(&w, &q);
		h = su_hdr(MTGATE_OPC_CLOCK, 116, 16);
		su_raw_frame(fd, &h, b, 16);
		expect(fd, 116, MTGATE_OPC_CLOCK, MTGATE_ST_BAD_BODY, NULL);
	}
	/* PROGRAM_GET with an id and a short code */
	{
		mtgate_wire_program_get_req q = {.id = g->prog, .sc_len = 5};
		proto_wr_init(&w, b, 13);
		proto_enc_program_get_req(&w, &q);
		proto_wr_bytes(&w, "50001", 5);
		h = su_hdr(MTGATE_OPC_PROGRAM_GET, 117, 13);
		su_raw_frame(fd, &h, b, 13);
		expect(fd, 117, MTGATE_OPC_PROGRAM_GET, MTGATE_ST_BAD_BODY,
		       NULL);
	}
	/* TENANT_ADD whose name length runs past the body */
	proto_wr_init(&w, b, 6);
	proto_wr_u16(&w, 9);
	proto_wr_bytes(&w, "acme", 4);
	h = su_hdr(MTGATE_OPC_TENANT_ADD, 118, 6);
	su_raw_frame(fd, &h, b, 6);
	expect(fd, 118, MTGATE_OPC_TENANT_ADD, MTGATE_ST_BAD_BODY, NULL);
	/* PROGRAM_PUT of a truncated record */
	h = su_hdr(MTGATE_OPC_PROGRAM_PUT, 119, 20);
	su_raw_frame(fd, &h, b, 20);
	expect(fd, 119, MTGATE_OPC_PROGRAM_PUT, MTGATE_ST_BAD_BODY, NULL);

	/* none of it changed anything, and the connection goes on */
	assert_int_equal(su_consent(g->good, NUM_IN + 7, g->prog).state,
			 MTGATE_STATE_NONE);
	send_gate(fd, 120, NUM_IN, g->prog);
	expect(fd, 120, MTGATE_OPC_GATE, MTGATE_ST_OK, NULL);
	close(fd);
}

static void test_srv_protocol_errors_counted(void **state)
{
	grp *g = *state;
	uint64_t v[MTGATE_STAT_MAX];
	size_t n = 0;

	assert_int_equal(mtgate_c_stats(g->good, v, &n), 0);
	assert_true(v[MTGATE_STAT_PROTOCOL_ERRORS] >= 20);
	mtgate_c_close(g->good);
	g->good = NULL;
	su_stop(g->s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srv_bad_magic_is_fatal),
		cmocka_unit_test(test_srv_bad_version_is_fatal),
		cmocka_unit_test(test_srv_frame_too_large_is_fatal),
		cmocka_unit_test(test_srv_truncated_is_fatal),
		cmocka_unit_test(test_srv_bad_opcode_goes_on),
		cmocka_unit_test(test_srv_gate_bad_body_sizes),
		cmocka_unit_test(test_srv_batch_count_limits),
		cmocka_unit_test(test_srv_before_hello),
		cmocka_unit_test(test_srv_bad_numbers),
		cmocka_unit_test(test_srv_bad_header_fields),
		cmocka_unit_test(test_srv_other_bad_bodies),
		cmocka_unit_test(test_srv_protocol_errors_counted),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("srv_malformed_threads_1", tests,
					      setup_t1, grp_teardown);
	failed += cmocka_run_group_tests_name("srv_malformed_threads_2", tests,
					      setup_t2, grp_teardown);
	return failed;
}

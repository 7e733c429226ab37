/*
 * Checks that clients going away, in every way a client can, leave a real
 * mtgated (--threads 2) sound: closing while idle, before HELLO, right
 * after pipelining requests whose answers are not read (gates answered at
 * once, consent changes still in flight), after a half close, with a reset
 * (SO_LINGER 0), and while the server is blocked sending to it (a client
 * holding megabytes of unread answers). After each round the server must
 * still serve a well-behaved connection, count exactly the connections that
 * are open (STATS), accept new ones, and finally stop with exit status 0.
 *
 * Regressions: a connection was used after it was freed at every client
 * disconnect (on_recv), and freed twice when a send to a client that had
 * gone failed (on_send). Connections are now freed at the end of a loop
 * turn, never inside a handler.
 */
#include "srvutil.h"

#include <sys/socket.h>

#define ROUNDS 5
#define NUM0   18885550000ULL

typedef struct fx {
	su_server *s;
	mtgate_conn *good;
	uint32_t prog;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	mtgate_program_def d =
		su_recurring("96001", "BYE", 1000, MTGATE_PERIOD_MONTH);

	if (f == NULL)
		return -1;
	f->s = su_start_clocked("srv-disc", &f->good);
	f->prog = su_program_put(f->good, &d);
	su_optin(f->good, NUM0, f->prog);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	if (f == NULL)
		return 0;
	mtgate_c_close(f->good);
	su_free(f->s);
	free(f);
	return 0;
}

static uint64_t connections(fx *f)
{
	uint64_t v[MTGATE_STAT_MAX];
	size_t n = 0;
	int rc = mtgate_c_stats(f->good, v, &n);

	if (rc != 0)
		fail_msg("STATS on the well-behaved connection: %s",
			 mtgate_strerror(rc));
	return v[MTGATE_STAT_CONNECTIONS];
}

/* The server is sound: it serves, and counts only the good connection
 * once it has seen the others go (within a few seconds). */
static void sound(fx *f, const char *after)
{
	int64_t deadline = su_mono_ms() + 5000;
	uint64_t n;

	while ((n = connections(f)) != 1) {
		if (su_mono_ms() > deadline)
			fail_msg("after %s: STATS counts %llu connections, "
				 "1 is open",
				 after, (unsigned long long)n);
		su_nap_ms(10);
	}
	assert_int_equal(su_gate(f->good, NUM0, f->prog, MTGATE_MODE_DRY_RUN),
			 MTGATE_ALLOW);
	{
		mtgate_conn *c = su_operator(f->s);
		assert_int_equal(mtgate_c_ping(c), 0);
		mtgate_c_close(c);
	}
}

static int authed(fx *f)
{
	int fd = su_raw_connect(f->s);
	mtgate_wire_header h;
	uint8_t body[256];

	assert_int_equal(su_raw_hello(fd, 1, f->s->key, strlen(f->s->key), &h,
				      body, sizeof(body)),
			 MTGATE_ST_OK);
	return fd;
}

/* n GATE and n OPTIN frames (numbers over both shards), not read. */
static void pipeline(fx *f, int fd, unsigned n)
{
	size_t per = 2 * MTGATE_PROTO_HEADER_LEN + 16 + 24;
	uint8_t *buf = malloc(n * per), *p = buf;

	assert_non_null(buf);
	for (unsigned i = 0; i < n; i++) {
		mtgate_wire_header h = su_hdr(MTGATE_OPC_GATE, i, 16);
		mtgate_wire_gate_req g = {.number = NUM0 + i,
					  .program = f->prog};
		mtgate_wire_optin_req o = {.number = NUM0 + 1000 + i,
					   .program = f->prog,
					   .channel = MTGATE_CHANNEL_API};
		proto_wr w;
		proto_header_enc(p, &h);
		proto_wr_init(&w, p + MTGATE_PROTO_HEADER_LEN, 16);
		proto_enc_gate_req(&w, &g);
		p += MTGATE_PROTO_HEADER_LEN + 16;
		h = su_hdr(MTGATE_OPC_OPTIN, n + i, 24);
		proto_header_enc(p, &h);
		proto_wr_init(&w, p + MTGATE_PROTO_HEADER_LEN, 24);
		proto_enc_optin_req(&w, &o);
		p += MTGATE_PROTO_HEADER_LEN + 24;
	}
	su_raw_send(fd, buf, (size_t)(p - buf));
	free(buf);
}

static void reset(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)),
			 0);
	close(fd);
}

static void test_srv_clients_going_away(void **state)
{
	fx *f = *state;

	for (int r = 0; r < ROUNDS; r++) {
		int fd;

		/* idle, after HELLO */
		close(authed(f));
		/* before HELLO */
		close(su_raw_connect(f->s));
		/* with requests in flight and answers unread */
		fd = authed(f);
		pipeline(f, fd, 200);
		close(fd);
		/* half close: the answers still come, then the end */
		fd = authed(f);
		su_raw_ping_ok(fd, 7);
		assert_int_equal(shutdown(fd, SHUT_WR), 0);
		su_raw_expect_closed(fd);
		close(fd);
		/* reset, with answers on their way */
		fd = authed(f);
		pipeline(f, fd, 100);
		reset(fd);
		/* a libmtgate connection that just closes */
		mtgate_c_close(su_operator(f->s));
	}
	sound(f, "clients closing");
	mtgate_c_close(f->good);
	f->good = NULL;
	su_stop(f->s);
}

/* t, then " x" words up to one SMS (SU_SMS_MAX characters) into out. */
static void pad_text(char out[SU_SMS_MAX + 1], const char *t)
{
	size_t n = strlen(t);

	assert_true(n <= SU_SMS_MAX);
	memcpy(out, t, n);
	while (n + 2 <= SU_SMS_MAX) {
		out[n++] = ' ';
		out[n++] = 'x';
	}
	out[n] = '\0';
}

/* A client that holds megabytes of unread answers closes (its unread data
 * makes the close a reset) while the server is blocked sending to it.
 * PROGRAM_LIST makes the answers big: 100 programs whose four texts fill
 * an SMS each (the PROG rules allow no more), about 70 KB for a 32-byte
 * request. */
static void test_srv_client_gone_while_server_sends(void **state)
{
	fx *f = *state;
	static char texts[4][SU_SMS_MAX + 1];
	uint8_t req[200][MTGATE_PROTO_HEADER_LEN + 8];
	su_texts t;

	su_texts_for(&t, "Test alerts", 10, MTGATE_PERIOD_DAY);
	pad_text(texts[0], t.welcome);
	pad_text(texts[1], t.help);
	pad_text(texts[2], t.quit);
	pad_text(texts[3], "");
	for (int i = 0; i < 100; i++) {
		char kw[16];
		mtgate_program_def d =
			su_recurring("96002", "", 10, MTGATE_PERIOD_DAY);
		snprintf(kw, sizeof(kw), "BIG%d", i);
		d.keyword = kw;
		d.welcome_text = texts[0];
		d.help_text = texts[1];
		d.quit_text = texts[2];
		d.confirm_text = texts[3];
		su_program_put(f->good, &d);
	}
	for (int i = 0; i < 200; i++) {
		mtgate_wire_header h =
			su_hdr(MTGATE_OPC_PROGRAM_LIST, (uint64_t)i, 8);
		mtgate_wire_program_list_req q = {0};
		proto_wr w;
		proto_header_enc(req[i], &h);
		proto_wr_init(&w, req[i] + MTGATE_PROTO_HEADER_LEN, 8);
		proto_enc_program_list_req(&w, &q);
	}

	for (int r = 0; r < 3; r++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
		    rcv = 4096;
		struct sockaddr_in sa = {
			.sin_family = AF_INET,
			.sin_port = htons((uint16_t)f->s->port),
			.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		mtgate_wire_header h;
		uint8_t body[256];

		/* a small receive buffer: the server's sends block soon */
		assert_true(fd >= 0);
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv,
					    sizeof(rcv)),
				 0);
		assert_int_equal(
			connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(su_raw_hello(fd, 1, f->s->key,
					      strlen(f->s->key), &h, body,
					      sizeof(body)),
				 MTGATE_ST_OK);
		su_raw_send(fd, req, sizeof(req)); /* ~14 MB of answers */
		su_nap_ms(300);
		assert_int_equal(connections(f), 2);
		close(fd);
		sound(f, "a client with unread answers closing");
	}
	mtgate_c_close(f->good);
	f->good = NULL;
	/* the last connection gone: the count must not wrap around (a
	 * wrapped count would refuse every new connection) */
	su_nap_ms(100);
	{
		mtgate_conn *c = su_operator(f->s);
		assert_int_equal(mtgate_c_ping(c), 0);
		mtgate_c_close(c);
	}
	su_stop(f->s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_srv_clients_going_away,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_srv_client_gone_while_server_sends, setup,
			teardown),
	};

	return cmocka_run_group_tests_name("srv_disconnect", tests, NULL, NULL);
}

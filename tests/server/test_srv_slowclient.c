/*
 * Checks a client that never reads its answers against a real mtgated: it
 * sends GATE_BATCH frames of 16,384 decisions (192 KiB each) without
 * reading, until 200 MB are sent or the server stops taking more (the
 * protocol's bound: at most 4 MiB of unanswered output per connection, then
 * that connection is no longer read). Meanwhile a second, well-behaved
 * connection must get prompt, correct answers, and the server's resident
 * memory (VmRSS of /proc/<pid>/status) must stay bounded.
 *   --threads 1 (both connections on one thread): then the slow client
 *   closes, and the server forgets it (STATS) and goes on.
 *   --threads 2: then the server is stopped (SIGTERM) while the slow client
 *   is still connected and stuck: it gives up on it after its drain time
 *   and exits 0.
 */
#include "srvutil.h"

#define SEND_CAP    (200u << 20) /* bytes the slow client sends at most */
#define STALL_MS    1000 /* no progress this long: the server stopped reading */
#define PROBE_MS    25   /* the good connection asks this often */
#define LATENCY_MAX 1000 /* ms: a good answer later than this is not prompt */
#define RSS_MAX_KB  (64L << 10) /* growth allowed over the baseline */
#define GOOD_NUM    15553330001ULL

typedef struct fx {
	su_server *s;
	mtgate_conn *good;
	uint32_t prog;
	uint8_t *frame; /* one GATE_BATCH frame, encoded */
	size_t flen;
	int slow; /* the slow client's socket */
} fx;

/* One GATE_BATCH frame of BATCH_MAX dry-run decisions. */
static void batch_frame(fx *f)
{
	uint32_t n = MTGATE_PROTO_BATCH_MAX;
	size_t body = sizeof(mtgate_wire_batch_req) +
		      (size_t)n * sizeof(mtgate_wire_batch_entry);
	mtgate_wire_header h = su_hdr(MTGATE_OPC_GATE_BATCH, 7, (uint32_t)body);
	mtgate_wire_batch_req q = {.count = n, .mode = MTGATE_MODE_DRY_RUN};
	mtgate_gate_req *reqs = calloc(n, sizeof(*reqs));
	proto_wr w;

	f->flen = MTGATE_PROTO_HEADER_LEN + body;
	f->frame = malloc(f->flen);
	assert_non_null(reqs);
	assert_non_null(f->frame);
	for (uint32_t i = 0; i < n; i++)
		reqs[i] = (mtgate_gate_req){17005550000ULL + i * 31, f->prog};
	proto_header_enc(f->frame, &h);
	proto_wr_init(&w, f->frame + MTGATE_PROTO_HEADER_LEN, body);
	proto_enc_batch_req(&w, &q);
	proto_enc_batch_entries(f->frame + MTGATE_PROTO_HEADER_LEN + sizeof(q),
				reqs, n);
	free(reqs);
}

static int setup(void **state, const char *threads)
{
	fx *f = calloc(1, sizeof(*f));
	mtgate_program_def d =
		su_recurring("95001", "SLOW", 60000, MTGATE_PERIOD_MONTH);

	if (f == NULL)
		return -1;
	f->slow = -1;
	f->s = su_new("srv-slow", "--threads", threads, "--test-clock", NULL);
	/* ASan keeps up to 256 MB of freed memory in quarantine: that is the
	 * sanitizer's, not the server's, so keep it small here */
	f->s->asan_options = "quarantine_size_mb=8";
	su_start(f->s);
	f->good = su_operator(f->s);
	su_clock(f->good, MTGATE_CLOCK_SET, SU_T0);
	f->prog = su_program_put(f->good, &d);
	su_optin(f->good, GOOD_NUM, f->prog);
	batch_frame(f);
	*state = f;
	return 0;
}

static int setup_t1(void **state)
{
	return setup(state, "1");
}

static int setup_t2(void **state)
{
	return setup(state, "2");
}

static int teardown(void **state)
{
	fx *f = *state;

	if (f == NULL)
		return 0;
	mtgate_c_close(f->good);
	if (f->slow >= 0)
		close(f->slow);
	su_free(f->s);
	free(f->frame);
	free(f);
	return 0;
}

/* An operator connection on a raw socket that will never read again. */
static int slow_client(fx *f)
{
	int fd = su_raw_connect(f->s);
	mtgate_wire_header h;
	uint8_t body[256];

	assert_int_equal(su_raw_hello(fd, 1, f->s->key, strlen(f->s->key), &h,
				      body, sizeof(body)),
			 MTGATE_ST_OK);
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK),
			 0);
	return fd;
}

/* The good connection asks once; returns the answer's latency in ms. */
static int64_t probe(fx *f)
{
	int64_t t = su_mono_ms();

	assert_int_equal(
		su_gate(f->good, GOOD_NUM, f->prog, MTGATE_MODE_DRY_RUN),
		MTGATE_ALLOW);
	return su_mono_ms() - t;
}

static uint64_t stat_of(fx *f, int which)
{
	uint64_t v[MTGATE_STAT_MAX];
	size_t n = 0;
	int rc = mtgate_c_stats(f->good, v, &n);

	if (rc != 0)
		fail_msg("STATS on the well-behaved connection: %s",
			 mtgate_strerror(rc));
	return v[which];
}

/* The slow client floods until the server stops reading it; the good
 * connection is probed all along. Checks promptness and memory. */
static void flood(fx *f)
{
	uint64_t sent = 0, frames_in;
	int64_t last_progress, next_probe = 0, lat, lat_max = 0, t0;
	long base, rss, rss_max;
	unsigned probes = 0;
	size_t off = 0;

	/* the baseline: after start-up and a first round of work */
	for (int i = 0; i < 10; i++)
		probe(f);
	base = rss_max = su_rss_kb(f->s);
	f->slow = slow_client(f);

	t0 = last_progress = su_mono_ms();
	while (sent < SEND_CAP && su_mono_ms() - last_progress < STALL_MS) {
		ssize_t k = send(f->slow, f->frame + off, f->flen - off,
				 MSG_NOSIGNAL);
		if (k > 0) {
			sent += (uint64_t)k;
			off = (off + (size_t)k) % f->flen;
			last_progress = su_mono_ms();
		} else if (k < 0 && errno != EAGAIN && errno != EINTR) {
			fail_msg("the slow client's send failed: %s",
				 strerror(errno));
		} else {
			struct pollfd p = {.fd = f->slow, .events = POLLOUT};
			poll(&p, 1, PROBE_MS);
		}
		if (su_mono_ms() >= next_probe) {
			lat = probe(f);
			lat_max = lat > lat_max ? lat : lat_max;
			probes++;
			rss = su_rss_kb(f->s);
			rss_max = rss > rss_max ? rss : rss_max;
			next_probe = su_mono_ms() + PROBE_MS;
		}
	}
	print_message(
		"    slow client sent %.1f MB in %lld ms (%s); %u "
		"probes, slowest %lld ms; RSS %ld KiB, at most +%ld KiB\n",
		(double)sent / 1e6, (long long)(su_mono_ms() - t0),
		sent >= SEND_CAP ? "cap reached" : "server stopped reading",
		probes, (long long)lat_max, base, rss_max - base);

	/* stalled: the server no longer reads it, but serves the other */
	frames_in = stat_of(f, MTGATE_STAT_FRAMES_IN);
	for (int i = 0; i < 10; i++) {
		lat = probe(f);
		lat_max = lat > lat_max ? lat : lat_max;
	}
	if (sent < SEND_CAP) /* 10 gates and this STATS, nothing more */
		assert_int_equal(stat_of(f, MTGATE_STAT_FRAMES_IN),
				 frames_in + 11);
	rss = su_rss_kb(f->s);
	rss_max = rss > rss_max ? rss : rss_max;
	assert_int_equal(stat_of(f, MTGATE_STAT_CONNECTIONS), 2);
	if (lat_max > LATENCY_MAX)
		fail_msg("a well-behaved connection waited %lld ms",
			 (long long)lat_max);
	if (rss_max - base > RSS_MAX_KB)
		fail_msg("the server grew by %ld KiB for one slow client",
			 rss_max - base);
}

static void test_srv_client_that_never_reads_then_closes(void **state)
{
	fx *f = *state;
	int64_t deadline;
	uint64_t n;

	flood(f);

	/* the slow client goes away (a reset: it leaves answers unread)
	 * while the server is blocked sending to it; the server forgets it
	 * (it once freed such a connection twice). */
	close(f->slow);
	f->slow = -1;
	deadline = su_mono_ms() + 5000;
	while ((n = stat_of(f, MTGATE_STAT_CONNECTIONS)) != 1) {
		if (su_mono_ms() > deadline)
			fail_msg("STATS counts %llu connections after the slow "
				 "client closed, 1 is open",
				 (unsigned long long)n);
		su_nap_ms(10);
	}
	assert_int_equal(mtgate_c_ping(f->good), 0);
	probe(f);
	mtgate_c_close(f->good);
	f->good = NULL;
	su_stop(f->s);
}

static void test_srv_client_that_never_reads_then_stop(void **state)
{
	fx *f = *state;
	int64_t t;

	flood(f);

	/* SIGTERM with the slow client still connected and stuck: the
	 * server gives up on its answers after its drain time, exits 0 */
	t = su_mono_ms();
	su_stop(f->s);
	print_message("    stopped in %lld ms\n",
		      (long long)(su_mono_ms() - t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_srv_client_that_never_reads_then_closes, setup_t1,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_srv_client_that_never_reads_then_stop, setup_t2,
			teardown),
	};

	return cmocka_run_group_tests_name("srv_slowclient", tests, NULL, NULL);
}

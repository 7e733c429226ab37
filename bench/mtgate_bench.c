/*
 * mtgate-bench: the network load generator for mtgated.
 *
 * What it does
 *   1. Connects, authenticates (HELLO) and finds the program to gate on
 *      (--program SC:KW), defining it when missing (recurring, 65535 a
 *      month, named "mtgate-bench").
 *   2. Preloads --numbers consents unless --no-load: a fraction
 *      --optin-ratio opted in (OPTIN), the rest opted out (OPTOUT), so
 *      every number has a consent record. Channel IMPORT, source
 *      "mtgate-bench", LOAD_CONNS connections with LOAD_INFLIGHT changes in
 *      flight each, so the server's group commit has work to batch.
 *   3. Gates: --connections connections spread over --threads threads, each
 *      keeping --inflight frames outstanding; a frame is a GATE_BATCH of
 *      --batch random loaded numbers (one GATE when the batch is 1). After
 *      --warmup seconds it measures for --duration seconds.
 *
 * Numbers are 11-digit 1XXXXXXXXXX, a bijection of the index 0..N-1 keyed
 * by --seed, and whether index i is opted in is a hash of i and the seed:
 * a later run with --no-load and the same flags knows what the server
 * holds. Correctness is checked cheaply: an opted-out number answered ALLOW
 * is an error.
 *
 * Measuring: decisions/s counts the decisions answered inside the window,
 * over the window's length. Latency is per frame, from the write of its
 * request to the read of its answer (matched by tag), CLOCK_MONOTONIC, in a
 * log-linear histogram of nanoseconds (128 sub-buckets per power of two:
 * under 1% error), one per thread, merged at the end. Errors: any answer
 * that is not OK, any protocol violation, any lost connection, any opted-out
 * number allowed.
 *
 * Output: human-readable lines on stdout, then the last line
 *   decisions_per_s=<f> p50_us=<f> p99_us=<f> p999_us=<f> errors=<n>
 * (not printed with --duration 0, which only preloads). Progress and
 * problems go to stderr. Exit 0 for a clean run, 1 when it finished with
 * errors, 2 when it could not run.
 *
 * Design: the hot path is its own pipelined loop over the codec
 * (engine/proto/codec.h), not the client library: nonblocking sockets, one
 * level-triggered epoll per thread, frames encoded straight into each
 * connection's send buffer and answers parsed in place from its receive
 * buffer. A request's tag names its slot (low 32 bits) and a sequence
 * number (high 32 bits), so answers may come in any order. The setup calls
 * (HELLO, PROGRAM_GET, PROGRAM_PUT) use the same sockets, blocking.
 *
 * Bounds: per connection, a send buffer of inflight x the largest frame and
 * a receive buffer of RBUF_CAP (the largest answer accepted); connections *
 * inflight * frame size is capped at MEM_MAX. Every wait has a deadline: no
 * answer for --timeout seconds while frames are outstanding ends the phase
 * with an error, and the gate phase stops sending at the window's end.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mtgate/engine.h"
#include "mtgate/protocol.h"
#include "proto/codec.h"
#include "util/assert.h"

#define HDR_LEN            MTGATE_PROTO_HEADER_LEN
#define BENCH_SOURCE       "mtgate-bench"
#define BENCH_PROGRAM_NAME "mtgate-bench"
#define LOAD_CONNS         4
#define LOAD_INFLIGHT      4096
#define LOAD_PROGRESS_NS   (5 * NS_PER_S)
#define RBUF_CAP           (256u << 10)
#define SYNC_BODY_MAX      (70u << 10)
#define CONNS_MAX          10240
#define INFLIGHT_MAX       65536
#define NUMBERS_MAX        1000000000ull
#define MEM_MAX            (1ull << 30)
#define EPOLL_EVENTS       64
#define EPOLL_WAIT_MAX_MS  50
#define ERR_PRINT_MAX      10
#define NS_PER_S           INT64_C(1000000000)
/* Numbers are NUM_BASE + 0 .. NUM_BASE - 1: 11 digits, 1XXXXXXXXXX. */
#define NUM_BASE 10000000000ull

enum { EXIT_CLEAN = 0, EXIT_ERRORS = 1, EXIT_CANNOT = 2 };

/* ---- options ------------------------------------------------------------- */

typedef struct bench_opts {
	const char *server;
	const char *key_file;
	const char *key;
	char sc[MTGATE_SHORTCODE_MAX + 1];
	char kw[MTGATE_KEYWORD_MAX + 1];
	uint64_t numbers;
	double optin_ratio;
	unsigned batch, connections, threads, inflight;
	double duration_s, warmup_s, timeout_s;
	bool dry_run, no_load;
	uint64_t seed;
} bench_opts;

static const char usage_text[] =
	"usage: mtgate-bench [options]\n"
	"  --server HOST:PORT  mtgated (default 127.0.0.1:7411)\n"
	"  --key-file FILE     the key to authenticate with\n"
	"                      (default ./mtgate-data/operator.key)\n"
	"  --key KEY           the key itself, instead of --key-file\n"
	"  --program SC:KW     program to gate on (default BENCH:GATE;\n"
	"                      defined when missing: recurring, 65535 a\n"
	"                      month)\n"
	"  --numbers N         numbers to preload and gate (default\n"
	"                      1000000)\n"
	"  --optin-ratio R     fraction opted in, the rest opted out\n"
	"                      (default 0.9)\n"
	"  --no-load           skip the preload: an earlier run with the\n"
	"                      same --numbers, --optin-ratio and --seed\n"
	"                      loaded them\n"
	"  --batch B           decisions per frame; 1 sends GATE (256)\n"
	"  --connections C     connections (default 1)\n"
	"  --threads T         client threads (default min(C, usable\n"
	"                      cores))\n"
	"  --inflight K        frames in flight per connection (default 1\n"
	"                      for batch 1, else 4)\n"
	"  --duration S        seconds measured; 0 = preload only (10)\n"
	"  --warmup S          seconds before measuring (default 1)\n"
	"  --dry-run           gate in dry-run mode (nothing is counted)\n"
	"  --seed N            picks the numbers and their states (1)\n"
	"  --timeout S         longest wait for any answer (default 10)\n"
	"The last line of output is\n"
	"  decisions_per_s=<f> p50_us=<f> p99_us=<f> p999_us=<f> "
	"errors=<n>\n";

static atomic_uint g_msgs; /* problems printed so far, all threads */

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("mtgate-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* A problem met while running: the first ERR_PRINT_MAX are shown. */
__attribute__((format(printf, 1, 2))) static void problem(const char *fmt, ...)
{
	unsigned n = atomic_fetch_add(&g_msgs, 1);
	va_list ap;

	if (n > ERR_PRINT_MAX)
		return;
	if (n == ERR_PRINT_MAX) {
		say("further problems are counted, not shown");
		return;
	}
	va_start(ap, fmt);
	fputs("mtgate-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int parse_u64(const char *flag, const char *s, uint64_t min,
		     uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min ||
	    v > max) {
		say("%s wants an integer from %" PRIu64 " to %" PRIu64
		    ", got \"%s\"",
		    flag, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_uint(const char *flag, const char *s, unsigned min,
		      unsigned max, unsigned *out)
{
	uint64_t v;

	if (parse_u64(flag, s, min, max, &v) < 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_double(const char *flag, const char *s, double min, double max,
			double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max)) {
		say("%s wants a number from %g to %g, got \"%s\"", flag, min,
		    max, s);
		return -1;
	}
	*out = v;
	return 0;
}

static bool alnum_str(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= 'a' && ch <= 'z')))
			return false;
	}
	return true;
}

/* "SC:KW": both alphanumeric, within the engine's lengths. */
static int parse_program(const char *s, bench_opts *o)
{
	const char *colon = strchr(s, ':');
	size_t sc_len = colon ? (size_t)(colon - s) : 0;
	size_t kw_len = colon ? strlen(colon + 1) : 0;

	if (colon == NULL || sc_len == 0 || sc_len > MTGATE_SHORTCODE_MAX ||
	    kw_len == 0 || kw_len > MTGATE_KEYWORD_MAX ||
	    !alnum_str(s, sc_len) || !alnum_str(colon + 1, kw_len)) {
		say("--program wants SHORTCODE:KEYWORD (letters and digits, "
		    "at most %d and %d), got \"%s\"",
		    MTGATE_SHORTCODE_MAX, MTGATE_KEYWORD_MAX, s);
		return -1;
	}
	memcpy(o->sc, s, sc_len);
	o->sc[sc_len] = '\0';
	memcpy(o->kw, colon + 1, kw_len);
	o->kw[kw_len] = '\0';
	return 0;
}

enum {
	OPT_SERVER = 256,
	OPT_KEY_FILE,
	OPT_KEY,
	OPT_PROGRAM,
	OPT_NUMBERS,
	OPT_OPTIN_RATIO,
	OPT_NO_LOAD,
	OPT_BATCH,
	OPT_CONNECTIONS,
	OPT_THREADS,
	OPT_INFLIGHT,
	OPT_DURATION,
	OPT_WARMUP,
	OPT_DRY_RUN,
	OPT_SEED,
	OPT_TIMEOUT,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{"server", required_argument, NULL, OPT_SERVER},
	{"key-file", required_argument, NULL, OPT_KEY_FILE},
	{"key", required_argument, NULL, OPT_KEY},
	{"program", required_argument, NULL, OPT_PROGRAM},
	{"numbers", required_argument, NULL, OPT_NUMBERS},
	{"optin-ratio", required_argument, NULL, OPT_OPTIN_RATIO},
	{"no-load", no_argument, NULL, OPT_NO_LOAD},
	{"batch", required_argument, NULL, OPT_BATCH},
	{"connections", required_argument, NULL, OPT_CONNECTIONS},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"inflight", required_argument, NULL, OPT_INFLIGHT},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"warmup", required_argument, NULL, OPT_WARMUP},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"seed", required_argument, NULL, OPT_SEED},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

/* One option; 1 for --help. */
static int parse_one(int opt, const char *arg, bench_opts *o)
{
	switch (opt) {
	case OPT_SERVER:
		o->server = arg;
		return 0;
	case OPT_KEY_FILE:
		o->key_file = arg;
		return 0;
	case OPT_KEY:
		o->key = arg;
		return 0;
	case OPT_PROGRAM:
		return parse_program(arg, o);
	case OPT_NUMBERS:
		return parse_u64("--numbers", arg, 1, NUMBERS_MAX, &o->numbers);
	case OPT_OPTIN_RATIO:
		return parse_double("--optin-ratio", arg, 0, 1,
				    &o->optin_ratio);
	case OPT_NO_LOAD:
		o->no_load = true;
		return 0;
	case OPT_BATCH:
		return parse_uint("--batch", arg, 1, MTGATE_PROTO_BATCH_MAX,
				  &o->batch);
	case OPT_CONNECTIONS:
		return parse_uint("--connections", arg, 1, CONNS_MAX,
				  &o->connections);
	case OPT_THREADS:
		return parse_uint("--threads", arg, 1, 1024, &o->threads);
	case OPT_INFLIGHT:
		return parse_uint("--inflight", arg, 1, INFLIGHT_MAX,
				  &o->inflight);
	case OPT_DURATION:
		return parse_double("--duration", arg, 0, 86400,
				    &o->duration_s);
	case OPT_WARMUP:
		return parse_double("--warmup", arg, 0, 3600, &o->warmup_s);
	case OPT_DRY_RUN:
		o->dry_run = true;
		return 0;
	case OPT_SEED:
		return parse_u64("--seed", arg, 0, UINT64_MAX, &o->seed);
	case OPT_TIMEOUT:
		return parse_double("--timeout", arg, 0.1, 3600, &o->timeout_s);
	case OPT_HELP:
		return 1;
	default:
		return -1;
	}
}

/* The cores this process may run on (taskset narrows them). */
static unsigned usable_cores(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (unsigned)n;
}

/* 0 to run, 1 for --help, -1 on a bad command line. */
static int parse_opts(int argc, char **argv, bench_opts *o)
{
	int opt, rc;

	*o = (bench_opts){.server = "127.0.0.1:7411",
			  .key_file = "./mtgate-data/operator.key",
			  .sc = "BENCH",
			  .kw = "GATE",
			  .numbers = 1000000,
			  .optin_ratio = 0.9,
			  .batch = 256,
			  .connections = 1,
			  .duration_s = 10,
			  .warmup_s = 1,
			  .timeout_s = 10,
			  .seed = 1};
	while ((opt = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if ((rc = parse_one(opt == 'h' ? OPT_HELP : opt, optarg, o)))
			return rc;
	}
	if (optind < argc) {
		say("unexpected argument \"%s\"", argv[optind]);
		return -1;
	}
	if (o->inflight == 0)
		o->inflight = o->batch == 1 ? 1 : 4;
	if (o->threads == 0)
		o->threads = usable_cores();
	if (o->threads > o->connections)
		o->threads = o->connections;
	return 0;
}

/* The key: --key, or the first line of --key-file. */
static int read_key(const bench_opts *o, char out[MTGATE_PROTO_KEY_MAX + 1])
{
	char buf[MTGATE_PROTO_KEY_MAX + 64];
	size_t n;
	FILE *f;

	if (o->key != NULL) {
		n = strnlen(o->key, sizeof(buf) - 1);
		memcpy(buf, o->key, n);
	} else {
		if ((f = fopen(o->key_file, "r")) == NULL) {
			say("cannot read the key file %s: %s (give --key-file "
			    "or --key)",
			    o->key_file, strerror(errno));
			return -1;
		}
		n = fgets(buf, sizeof(buf), f) ? strlen(buf) : 0;
		fclose(f);
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
			 buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	if (n == 0 || n > MTGATE_PROTO_KEY_MAX) {
		say("the key is empty or longer than %d bytes",
		    MTGATE_PROTO_KEY_MAX);
		return -1;
	}
	memcpy(out, buf, n);
	out[n] = '\0';
	return 0;
}

/* ---- numbers ------------------------------------------------------------- */

/* Index i (< NUMBERS_MAX) maps to NUM_BASE + (mul * i + add) % NUM_BASE:
 * mul is odd and not a multiple of 5, so coprime to 10^10 and the map is a
 * bijection; mul < 2^32 and i < 2^30 keep the product in 64 bits. */
typedef struct bench_numbers {
	uint64_t n, mul, add, salt;
	uint64_t optin_cut; /* opted in when hash >> 11 is below it */
} bench_numbers;

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void numbers_init(bench_numbers *nb, const bench_opts *o)
{
	nb->n = o->numbers;
	nb->mul = (mix64(o->seed) & 0xffffffffull) | 1;
	if (nb->mul % 5 == 0)
		nb->mul += 2;
	nb->add = mix64(o->seed ^ 0x5bd1e995ull) % NUM_BASE;
	nb->salt = mix64(o->seed + 0x632be59bd9b4e019ull);
	nb->optin_cut = (uint64_t)(o->optin_ratio * (double)(1ull << 53));
}

static inline uint64_t number_of(const bench_numbers *nb, uint32_t i)
{
	return NUM_BASE + (nb->mul * i + nb->add) % NUM_BASE;
}

static inline bool opted_in(const bench_numbers *nb, uint32_t i)
{
	return (mix64(i ^ nb->salt) >> 11) < nb->optin_cut;
}

/* ---- time and the histogram ---------------------------------------------- */

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

#define HIST_SUB_BITS  7
#define HIST_SUB       (1u << HIST_SUB_BITS)
#define HIST_SHIFT_MAX 40 /* values up to 2^48 ns; beyond, the last bucket */
#define HIST_BUCKETS   ((HIST_SHIFT_MAX + 2) * HIST_SUB)

typedef struct bench_hist {
	uint64_t n, sum_ns, max_ns;
	uint64_t b[HIST_BUCKETS];
} bench_hist;

/* Exact below 2 * HIST_SUB; above, HIST_SUB buckets per power of two. */
static inline unsigned hist_index(uint64_t v)
{
	unsigned shift;

	if (v < 2 * HIST_SUB)
		return (unsigned)v;
	shift = 63u - (unsigned)__builtin_clzll(v) - HIST_SUB_BITS;
	if (shift > HIST_SHIFT_MAX)
		return HIST_BUCKETS - 1;
	return shift * HIST_SUB + (unsigned)(v >> shift);
}

/* The middle of bucket i. */
static double hist_value(unsigned i)
{
	unsigned shift;

	if (i < 2 * HIST_SUB)
		return i;
	shift = i / HIST_SUB - 1;
	return (double)((uint64_t)(i - shift * HIST_SUB) << shift) +
	       (double)((1ull << shift) - 1) / 2;
}

static inline void hist_add(bench_hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->n++;
	h->sum_ns += v;
	if (v > h->max_ns)
		h->max_ns = v;
}

static void hist_merge(bench_hist *to, const bench_hist *from)
{
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		to->b[i] += from->b[i];
	to->n += from->n;
	to->sum_ns += from->sum_ns;
	if (from->max_ns > to->max_ns)
		to->max_ns = from->max_ns;
}

/* The q-quantile in microseconds (0 when empty). */
static double hist_quantile_us(const bench_hist *h, double q)
{
	uint64_t want, seen = 0;
	double v;

	if (h->n == 0)
		return 0;
	want = (uint64_t)ceil(q * (double)h->n);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			v = hist_value(i);
			if (v > (double)h->max_ns)
				v = (double)h->max_ns;
			return v / 1000;
		}
	}
	return (double)h->max_ns / 1000;
}

/* ---- blocking socket calls (setup) --------------------------------------- */

static struct addrinfo *g_addrs; /* the server, resolved once */

static int resolve(const char *addr)
{
	char host[256], port[16];
	const char *colon = strrchr(addr, ':');
	const char *h = addr;
	size_t hl = colon ? (size_t)(colon - addr) : 0;
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM};
	int rc;

	if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
		h++; /* [v6 address]:port */
		hl -= 2;
	}
	if (colon == NULL || hl == 0 || hl >= sizeof(host) ||
	    strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(port)) {
		say("--server wants HOST:PORT, got \"%s\"", addr);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	if ((rc = getaddrinfo(host, port, &hints, &g_addrs)) != 0) {
		say("cannot resolve %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	return 0;
}

/* Wait until fd is ready for ev or the deadline passes: 0 or -1. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int64_t left;
	int rc;

	for (;;) {
		left = (deadline - now_ns()) / 1000000;
		if (left <= 0)
			return -1;
		rc = poll(&p, 1, left > 1000 ? 1000 : (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
	int fd, err = 0, one = 1;
	socklen_t el = sizeof(err);

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) < 0)
			err = errno == EINPROGRESS ? ETIMEDOUT : errno;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
	}
	if (err != 0) {
		close(fd);
		errno = err;
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* A nonblocking TCP connection to the server, or -1 (reported). */
static int sock_connect(const char *addr, int64_t deadline)
{
	int fd = -1;

	for (const struct addrinfo *ai = g_addrs; ai && fd < 0;
	     ai = ai->ai_next)
		fd = connect_one(ai, deadline);
	if (fd < 0)
		say("cannot connect to %s: %s", addr, strerror(errno));
	return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n, int64_t deadline)
{
	ssize_t k;

	while (n > 0) {
		k = send(fd, p, n, MSG_NOSIGNAL);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
		} else if (k < 0 && errno != EAGAIN && errno != EINTR) {
			return -1;
		} else if (wait_fd(fd, POLLOUT, deadline) < 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

static int recv_all(int fd, uint8_t *p, size_t n, int64_t deadline)
{
	ssize_t k;

	while (n > 0) {
		k = recv(fd, p, n, 0);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
		} else if (k == 0) {
			errno = ECONNRESET;
			return -1;
		} else if (errno != EAGAIN && errno != EINTR) {
			return -1;
		} else if (wait_fd(fd, POLLIN, deadline) < 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

static void enc_header(uint8_t *out, uint8_t opcode, uint64_t tag,
		       uint32_t body_len)
{
	mtgate_wire_header h = {.magic = MTGATE_PROTO_MAGIC,
				.version = MTGATE_PROTO_VERSION,
				.opcode = opcode,
				.tag = tag,
				.body_len = body_len};

	proto_header_enc(out, &h);
}

/* An answer's header is well formed: "" or why not. Tag and opcode are
 * checked against the request by the caller. */
static const char *answer_header_problem(const mtgate_wire_header *h,
					 uint32_t body_max)
{
	if (h->magic != MTGATE_PROTO_MAGIC)
		return "bad magic";
	if (h->version != MTGATE_PROTO_VERSION)
		return "bad version";
	if (h->flags != MTGATE_FLAG_RESPONSE || h->reserved != 0)
		return "flags or reserved field wrong for an answer";
	if (h->body_len > body_max)
		return "answer body too large";
	return "";
}

/* The text of an error body, made printable, into out. */
static void error_text(const uint8_t *body, uint32_t len, char *out, size_t cap)
{
	proto_rd r;
	uint16_t n;
	const uint8_t *s;
	size_t i;

	proto_rd_init(&r, body, len);
	s = proto_rd_str(&r, &n);
	for (i = 0; s != NULL && i < n && i + 1 < cap; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	out[i] = '\0';
}

/* "STATUS (text)" of an error answer. */
static void status_text(const mtgate_wire_header *h, const uint8_t *body,
			char *out, size_t cap)
{
	char text[200];

	error_text(body, h->body_len, text, sizeof(text));
	snprintf(out, cap, "%s%s%s%s", mtgate_status_name(h->status),
		 text[0] ? " (" : "", text, text[0] ? ")" : "");
}

static uint8_t g_sync_body[SYNC_BODY_MAX];

/* Send one request and read its answer (the only frame in flight). The
 * body is in g_sync_body until the next call. 0, or -1 (reported). */
static int sync_call(int fd, uint8_t opcode, const uint8_t *body, uint32_t len,
		     int64_t deadline, mtgate_wire_header *h)
{
	static uint64_t tag;
	uint8_t frame[HDR_LEN + 4096];
	const char *why;

	MTG_ASSERT(len <= sizeof(frame) - HDR_LEN);
	enc_header(frame, opcode, ++tag, len);
	memcpy(frame + HDR_LEN, body, len);
	if (send_all(fd, frame, HDR_LEN + len, deadline) < 0 ||
	    recv_all(fd, frame, HDR_LEN, deadline) < 0) {
		say("server: %s", strerror(errno));
		return -1;
	}
	proto_header_dec(frame, h);
	why = answer_header_problem(h, SYNC_BODY_MAX);
	if (why[0] == '\0' &&
	    recv_all(fd, g_sync_body, h->body_len, deadline) < 0) {
		say("server: %s", strerror(errno));
		return -1;
	}
	/* A fatal status may come with tag 0: the caller shows it. */
	if (why[0] == '\0' && !proto_status_fatal(h->status) &&
	    (h->tag != tag || h->opcode != opcode))
		why = "answer with another tag or opcode than its request";
	if (why[0] != '\0') {
		say("protocol violation from the server: %s", why);
		return -1;
	}
	return 0;
}

static int do_hello(int fd, const char *key, int64_t deadline,
		    mtgate_wire_hello_resp *out)
{
	mtgate_wire_hello_req req = {.version = MTGATE_PROTO_VERSION,
				     .key_len = (uint16_t)strlen(key)};
	uint8_t body[sizeof(req) + MTGATE_PROTO_KEY_MAX];
	mtgate_wire_header h;
	char text[256];
	proto_wr w;
	proto_rd r;

	proto_wr_init(&w, body, sizeof(body));
	proto_enc_hello_req(&w, &req);
	proto_wr_bytes(&w, key, req.key_len);
	MTG_ASSERT(!w.bad);
	if (sync_call(fd, MTGATE_OPC_HELLO, body, (uint32_t)(w.p - body),
		      deadline, &h) < 0)
		return -1;
	if (h.status != MTGATE_ST_OK) {
		status_text(&h, g_sync_body, text, sizeof(text));
		say("HELLO refused: %s", text);
		return -1;
	}
	proto_rd_init(&r, g_sync_body, h.body_len);
	proto_dec_hello_resp(&r, out);
	if (r.bad) { /* later versions may append fields */
		say("protocol violation: short HELLO answer");
		return -1;
	}
	return 0;
}

/* A connected, authenticated socket, or -1 (reported). */
static int open_session(const bench_opts *o, const char *key,
			mtgate_wire_hello_resp *hello)
{
	int64_t deadline = now_ns() + (int64_t)(o->timeout_s * 1e9);
	int fd = sock_connect(o->server, deadline);

	if (fd >= 0 && do_hello(fd, key, deadline, hello) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* ---- the program --------------------------------------------------------- */

static const unsigned st_noprogram =
	MTGATE_ST_ENGINE + (unsigned)(MTGATE_ENOPROGRAM - MTGATE_ERR_FIRST);
static const unsigned st_program_dup =
	MTGATE_ST_ENGINE + (unsigned)(MTGATE_EPROGRAM_DUP - MTGATE_ERR_FIRST);

/* PROGRAM_GET by short code and keyword: 0 found, 1 missing, -1 error. */
static int program_find(int fd, const bench_opts *o, int64_t deadline,
			mtgate_wire_program_rec *rec)
{
	mtgate_wire_program_get_req req = {.sc_len = (uint8_t)strlen(o->sc),
					   .kw_len = (uint8_t)strlen(o->kw)};
	uint8_t body[64];
	mtgate_wire_header h;
	proto_program p;
	char text[256];
	proto_wr w;
	proto_rd r;

	proto_wr_init(&w, body, sizeof(body));
	proto_enc_program_get_req(&w, &req);
	proto_wr_bytes(&w, o->sc, req.sc_len);
	proto_wr_bytes(&w, o->kw, req.kw_len);
	MTG_ASSERT(!w.bad);
	if (sync_call(fd, MTGATE_OPC_PROGRAM_GET, body, (uint32_t)(w.p - body),
		      deadline, &h) < 0)
		return -1;
	if (h.status == st_noprogram)
		return 1;
	if (h.status != MTGATE_ST_OK) {
		status_text(&h, g_sync_body, text, sizeof(text));
		say("PROGRAM_GET %s:%s: %s", o->sc, o->kw, text);
		return -1;
	}
	proto_rd_init(&r, g_sync_body, h.body_len);
	proto_dec_program(&r, &p);
	if (r.bad) {
		say("protocol violation: malformed PROGRAM_GET answer");
		return -1;
	}
	*rec = p.rec;
	return 0;
}

/* The bench program's texts keep the PROG rules, which PROGRAM_PUT checks:
 * rates, frequency, STOP and HELP in the welcome; a web address and the
 * frequency in the help; the name and the quit in the quit text. */
#define BENCH_WELCOME                                                          \
	BENCH_PROGRAM_NAME ": Msg&Data rates may apply. Max 65535 msgs/mo. "   \
			   "Reply STOP to cancel, HELP for help."
#define BENCH_HELP BENCH_PROGRAM_NAME ": example.com. Max 65535 msgs/mo."
#define BENCH_QUIT                                                             \
	"You have quit " BENCH_PROGRAM_NAME ". No more messages will be sent."
_Static_assert(MTGATE_LIMIT_MAX == 65535, "the texts state the limit");

/* PROGRAM_PUT of the bench program: 0 defined, 1 already there (someone
 * else defined it meanwhile), -1 error. */
static int program_define(int fd, const bench_opts *o, int64_t deadline)
{
	const mtgate_program_def def = {.short_code = o->sc,
					.keyword = o->kw,
					.name = BENCH_PROGRAM_NAME,
					.kind = MTGATE_KIND_RECURRING,
					.period = MTGATE_PERIOD_MONTH,
					.limit = MTGATE_LIMIT_MAX,
					.welcome_text = BENCH_WELCOME,
					.help_text = BENCH_HELP,
					.quit_text = BENCH_QUIT};
	uint8_t body[512];
	mtgate_wire_header h;
	char text[256];
	proto_program p;
	proto_wr w;

	proto_program_of_def(&def, &p);
	MTG_ASSERT(proto_program_size(&p) <= sizeof(body));
	proto_wr_init(&w, body, sizeof(body));
	proto_enc_program(&w, &p);
	MTG_ASSERT(!w.bad);
	if (sync_call(fd, MTGATE_OPC_PROGRAM_PUT, body, (uint32_t)(w.p - body),
		      deadline, &h) < 0)
		return -1;
	if (h.status == st_program_dup)
		return 1;
	if (h.status != MTGATE_ST_OK) {
		status_text(&h, g_sync_body, text, sizeof(text));
		say("PROGRAM_PUT %s:%s: %s", o->sc, o->kw, text);
		return -1;
	}
	return 0;
}

static const char *period_name(unsigned period)
{
	switch (period) {
	case MTGATE_PERIOD_DAY:
		return "a day";
	case MTGATE_PERIOD_WEEK:
		return "a week";
	case MTGATE_PERIOD_MONTH:
		return "a month";
	default:
		return "in all";
	}
}

/* The program's id, defining the program when missing; 0 on error. */
static uint32_t program_setup(int fd, const bench_opts *o)
{
	int64_t deadline = now_ns() + (int64_t)(o->timeout_s * 1e9);
	mtgate_wire_program_rec rec;
	bool defined = false;
	int rc;

	while ((rc = program_find(fd, o, deadline, &rec)) == 1 && !defined) {
		if ((rc = program_define(fd, o, deadline)) < 0)
			return 0;
		defined = rc == 0;
	}
	if (rc != 0) {
		if (rc == 1)
			say("program %s:%s was defined but is not found", o->sc,
			    o->kw);
		return 0;
	}
	printf("program %s:%s: id %" PRIu32 "%s, %s, limit %" PRIu32 " %s%s\n",
	       o->sc, o->kw, rec.id, defined ? " (defined now)" : "",
	       rec.kind == MTGATE_KIND_ONE_OFF ? "one-off" : "recurring",
	       rec.limit, period_name(rec.period),
	       rec.double_opt_in ? ", double opt-in" : "");
	if (rec.double_opt_in)
		say("warning: %s:%s asks for double opt-in; loaded numbers "
		    "stay pending and are denied",
		    o->sc, o->kw);
	return rec.id;
}

/* ---- pipelined connections ----------------------------------------------- */

typedef struct bench_slot {
	uint64_t tag; /* 0 when free */
	int64_t sent_ns;
	uint8_t opcode;
} bench_slot;

struct bench_worker;

typedef struct bench_conn {
	int fd;
	unsigned id;
	bool dead;
	bool want_out; /* EPOLLOUT registered */
	struct bench_worker *w;
	uint8_t *wbuf; /* requests not yet written: wbuf[woff..wlen) */
	size_t wcap, woff, wlen;
	uint8_t *rbuf; /* answers read, not yet handled: rbuf[0..rlen) */
	size_t rlen;
	bench_slot *slots;
	uint32_t *free_slots; /* a stack of nfree slot numbers */
	uint32_t nslots, nfree;
	uint32_t *idx; /* per slot, the number indexes of its frame */
	uint32_t seq;
} bench_conn;

/* What a phase does, shared read-only by its workers. */
typedef struct bench_job {
	bool load; /* preload consents; else gate */
	const bench_numbers *nums;
	uint32_t program;
	uint32_t batch; /* numbers per frame: 1 when loading */
	uint8_t mode;
	size_t frame_max;         /* bytes of the largest request frame */
	int64_t start_ns, end_ns; /* gate: the measured window */
	int64_t timeout_ns;       /* longest wait for an answer */
} bench_job;

typedef struct bench_worker {
	const bench_job *job;
	bench_conn *conns;
	unsigned nconns, nlive;
	int epfd;
	uint64_t rng;
	mtgate_gate_req *scratch; /* one frame's decisions */
	uint64_t outstanding;     /* frames in flight, all connections */
	int64_t last_answer_ns;
	bool stopping; /* no new frames */
	/* load */
	uint64_t load_next, load_done, load_errors;
	uint64_t load_in; /* of load_done, the opt-ins */
	int64_t load_report_ns;
	/* gate, inside the window */
	uint64_t frames, decisions;
	uint64_t reasons[MTGATE_REASON_MAX];
	/* gate, the whole phase */
	uint64_t errors, wrong_allow, wrong_deny;
	bench_hist hist;
	pthread_t thread;
} bench_worker;

static size_t load_frame_max(void)
{
	size_t in = sizeof(mtgate_wire_optin_req),
	       out = sizeof(mtgate_wire_optout_req);

	return HDR_LEN + (in > out ? in : out) + strlen(BENCH_SOURCE);
}

static size_t gate_frame_max(uint32_t batch)
{
	if (batch == 1)
		return HDR_LEN + sizeof(mtgate_wire_gate_req);
	return HDR_LEN + sizeof(mtgate_wire_batch_req) +
	       (size_t)batch * sizeof(mtgate_wire_batch_entry);
}

static int conn_init(bench_conn *c, int fd, unsigned id, uint32_t nslots,
		     const bench_job *job)
{
	*c = (bench_conn){.fd = fd, .id = id, .nslots = nslots};
	c->wcap = (size_t)nslots * job->frame_max;
	c->wbuf = malloc(c->wcap);
	c->rbuf = malloc(RBUF_CAP);
	c->slots = calloc(nslots, sizeof(*c->slots));
	c->free_slots = malloc(nslots * sizeof(*c->free_slots));
	c->idx = malloc((size_t)nslots * job->batch * sizeof(*c->idx));
	if (!c->wbuf || !c->rbuf || !c->slots || !c->free_slots || !c->idx) {
		say("out of memory");
		return -1;
	}
	for (uint32_t s = 0; s < nslots; s++)
		c->free_slots[c->nfree++] = nslots - 1 - s;
	return 0;
}

static void conn_free(bench_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->wbuf);
	free(c->rbuf);
	free(c->slots);
	free(c->free_slots);
	free(c->idx);
}

static void conn_fail(bench_conn *c, const char *why)
{
	bench_worker *w = c->w;

	if (c->dead)
		return;
	problem("connection %u: %s", c->id, why);
	c->dead = true;
	w->errors++;
	w->load_errors += w->job->load ? 1 : 0;
	w->outstanding -= c->nslots - c->nfree;
	w->nlive--;
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

static void conn_want_out(bench_conn *c, bool on)
{
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0),
				 .data.ptr = c};

	if (c->want_out == on)
		return;
	c->want_out = on;
	if (epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		conn_fail(c, "epoll_ctl failed");
}

/* Write what the send buffer holds, as far as the socket takes it. */
static void conn_flush(bench_conn *c)
{
	ssize_t k;

	while (!c->dead && c->woff < c->wlen) {
		k = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0) {
			c->woff += (size_t)k;
		} else if (k < 0 && errno == EAGAIN) {
			conn_want_out(c, true);
			return;
		} else if (k < 0 && errno != EINTR) {
			conn_fail(c, strerror(errno));
			return;
		}
	}
	c->woff = c->wlen = 0;
	if (!c->dead)
		conn_want_out(c, false);
}

/* ---- frames -------------------------------------------------------------- */

static inline uint32_t rand_index(bench_worker *w)
{
	uint64_t r;

	w->rng += 0x9e3779b97f4a7c15ull;
	r = mix64(w->rng) >> 32;
	return (uint32_t)((r * w->job->nums->n) >> 32);
}

/* An OPTIN or OPTOUT of the next number to load into out; its length. */
static size_t enc_load(bench_worker *w, uint32_t *idx, uint64_t tag,
		       uint8_t *out, uint8_t *opcode)
{
	const bench_job *j = w->job;
	uint32_t i = (uint32_t)w->load_next++;
	uint16_t sl = (uint16_t)strlen(BENCH_SOURCE);
	uint64_t number = number_of(j->nums, i);
	proto_wr wr;

	*idx = i;
	proto_wr_init(&wr, out + HDR_LEN, j->frame_max - HDR_LEN);
	if (opted_in(j->nums, i)) {
		mtgate_wire_optin_req r = {.number = number,
					   .program = j->program,
					   .channel = MTGATE_CHANNEL_IMPORT,
					   .source_len = sl};
		proto_enc_optin_req(&wr, &r);
		*opcode = MTGATE_OPC_OPTIN;
	} else {
		mtgate_wire_optout_req r = {.number = number,
					    .program = j->program,
					    .channel = MTGATE_CHANNEL_IMPORT,
					    .source_len = sl};
		proto_enc_optout_req(&wr, &r);
		*opcode = MTGATE_OPC_OPTOUT;
	}
	proto_wr_bytes(&wr, BENCH_SOURCE, sl);
	MTG_ASSERT(!wr.bad);
	enc_header(out, *opcode, tag, (uint32_t)(wr.p - (out + HDR_LEN)));
	return (size_t)(wr.p - out);
}

/* A GATE (batch 1) or GATE_BATCH of random loaded numbers into out. */
static size_t enc_gate(bench_worker *w, uint32_t *idx, uint64_t tag,
		       uint8_t *out, uint8_t *opcode)
{
	const bench_job *j = w->job;
	uint32_t n = j->batch;
	proto_wr wr;

	for (uint32_t i = 0; i < n; i++)
		idx[i] = rand_index(w);
	proto_wr_init(&wr, out + HDR_LEN, j->frame_max - HDR_LEN);
	if (n == 1) {
		mtgate_wire_gate_req g = {.number = number_of(j->nums, idx[0]),
					  .program = j->program,
					  .mode = j->mode};
		proto_enc_gate_req(&wr, &g);
		*opcode = MTGATE_OPC_GATE;
	} else {
		mtgate_wire_batch_req b = {.count = n, .mode = j->mode};
		for (uint32_t i = 0; i < n; i++)
			w->scratch[i] = (mtgate_gate_req){
				.number = number_of(j->nums, idx[i]),
				.program = j->program};
		proto_enc_batch_req(&wr, &b);
		MTG_ASSERT(!wr.bad &&
			   (size_t)(wr.end - wr.p) >=
				   (size_t)n * sizeof(mtgate_wire_batch_entry));
		proto_enc_batch_entries(wr.p, w->scratch, n);
		wr.p += (size_t)n * sizeof(mtgate_wire_batch_entry);
		*opcode = MTGATE_OPC_GATE_BATCH;
	}
	MTG_ASSERT(!wr.bad);
	enc_header(out, *opcode, tag, (uint32_t)(wr.p - (out + HDR_LEN)));
	return (size_t)(wr.p - out);
}

static bool want_frame(const bench_worker *w)
{
	if (w->stopping)
		return false;
	return !w->job->load || w->load_next < w->job->nums->n;
}

/* Fill every free slot with a new frame, then write. */
static void conn_fill(bench_conn *c)
{
	bench_worker *w = c->w;
	int64_t now = now_ns();

	while (!c->dead && c->nfree > 0 && want_frame(w)) {
		uint32_t s = c->free_slots[--c->nfree];
		uint64_t tag;
		size_t len;

		if (c->wcap - c->wlen < w->job->frame_max) {
			/* Unsent bytes belong to the other slots in flight,
			 * so compacting always leaves a frame's room. */
			memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
			c->wlen -= c->woff;
			c->woff = 0;
			MTG_ASSERT(c->wcap - c->wlen >= w->job->frame_max);
		}
		if (++c->seq == 0)
			c->seq = 1;
		tag = (uint64_t)c->seq << 32 | s;
		len = (w->job->load ? enc_load : enc_gate)(
			w, c->idx + (size_t)s * w->job->batch, tag,
			c->wbuf + c->wlen, &c->slots[s].opcode);
		c->wlen += len;
		c->slots[s].tag = tag;
		c->slots[s].sent_ns = now;
		w->outstanding++;
	}
	conn_flush(c);
}

/* ---- answers ------------------------------------------------------------- */

/* The decisions of a gate answer into reasons; false if malformed. */
static bool dec_gate(const bench_job *j, uint8_t opcode, const uint8_t *body,
		     uint32_t len, const uint8_t **reasons)
{
	proto_rd r;

	proto_rd_init(&r, body, len);
	if (opcode == MTGATE_OPC_GATE) {
		mtgate_wire_gate_resp g;
		*reasons = r.p; /* the first byte is the reason */
		proto_dec_gate_resp(&r, &g);
	} else {
		mtgate_wire_batch_resp b;
		proto_dec_batch_resp(&r, &b);
		if (b.count != j->batch)
			return false;
		*reasons = proto_rd_bytes(&r, j->batch);
	}
	return proto_rd_done(&r); /* later versions may append fields */
}

static void gate_answer(bench_conn *c, const uint32_t *idx, uint8_t opcode,
			const uint8_t *body, uint32_t len, int64_t lat_ns,
			bool counted)
{
	bench_worker *w = c->w;
	const bench_job *j = w->job;
	const uint8_t *reasons = NULL;

	if (!dec_gate(j, opcode, body, len, &reasons)) {
		conn_fail(c, "protocol violation: malformed gate answer");
		return;
	}
	for (uint32_t i = 0; i < j->batch; i++) {
		uint8_t r = reasons[i];
		if (r >= MTGATE_REASON_MAX) {
			conn_fail(c, "protocol violation: unknown reason");
			return;
		}
		if (r == MTGATE_ALLOW && !opted_in(j->nums, idx[i])) {
			w->wrong_allow++;
			w->errors++;
		} else if ((r == MTGATE_DENY_NO_OPTIN ||
			    r == MTGATE_DENY_OPTED_OUT) &&
			   opted_in(j->nums, idx[i])) {
			w->wrong_deny++;
		}
		if (counted)
			w->reasons[r]++;
	}
	if (counted) {
		w->frames++;
		w->decisions += j->batch;
		hist_add(&w->hist, (uint64_t)lat_ns);
	}
}

static void load_answer(bench_conn *c, uint32_t i, const uint8_t *body,
			uint32_t len)
{
	bench_worker *w = c->w;
	mtgate_wire_change_resp cr;
	proto_rd r;

	proto_rd_init(&r, body, len);
	proto_dec_change_resp(&r, &cr);
	if (r.bad) {
		conn_fail(c, "protocol violation: malformed change answer");
		return;
	}
	w->load_done++;
	w->load_in += opted_in(w->job->nums, i) ? 1 : 0;
}

static const char *op_name(uint8_t opcode)
{
	switch (opcode) {
	case MTGATE_OPC_GATE:
		return "GATE";
	case MTGATE_OPC_GATE_BATCH:
		return "GATE_BATCH";
	case MTGATE_OPC_OPTIN:
		return "OPTIN";
	case MTGATE_OPC_OPTOUT:
		return "OPTOUT";
	default:
		return "request";
	}
}

/* An answer other than OK: an error; a fatal one ends the connection. */
static void conn_error_answer(bench_conn *c, const mtgate_wire_header *h,
			      const uint8_t *body, const uint32_t *idx)
{
	bench_worker *w = c->w;
	char text[256], why[320];

	status_text(h, body, text, sizeof(text));
	if (proto_status_fatal(h->status)) {
		snprintf(why, sizeof(why), "server: %s", text);
		conn_fail(c, why); /* counts the error */
		return;
	}
	w->errors++;
	w->load_errors += w->job->load ? 1 : 0;
	problem("connection %u: %s of +%" PRIu64 " (first of the frame): %s",
		c->id, op_name(h->opcode), number_of(w->job->nums, idx[0]),
		text);
}

/* One answer: match its slot by tag, free the slot, account for it. */
static void conn_answer(bench_conn *c, const mtgate_wire_header *h,
			const uint8_t *body, int64_t now)
{
	bench_worker *w = c->w;
	uint32_t s = (uint32_t)h->tag;
	bench_slot *sl = &c->slots[s < c->nslots ? s : 0];
	uint32_t *idx =
		c->idx + (size_t)(s < c->nslots ? s : 0) * w->job->batch;

	if (h->status != MTGATE_ST_OK && proto_status_fatal(h->status)) {
		conn_error_answer(c, h, body, idx); /* may carry tag 0 */
		return;
	}
	if (s >= c->nslots || sl->tag != h->tag || h->tag == 0 ||
	    h->opcode != sl->opcode) {
		conn_fail(c, "protocol violation: answer with an unknown tag "
			     "or another opcode than its request");
		return;
	}
	sl->tag = 0;
	c->free_slots[c->nfree++] = s;
	w->outstanding--;
	w->last_answer_ns = now;
	if (h->status != MTGATE_ST_OK)
		conn_error_answer(c, h, body, idx);
	else if (w->job->load)
		load_answer(c, idx[0], body, h->body_len);
	else
		gate_answer(c, idx, sl->opcode, body, h->body_len,
			    now - sl->sent_ns,
			    now >= w->job->start_ns && now < w->job->end_ns);
}

/* Handle every whole answer in the receive buffer. */
static void conn_parse(bench_conn *c, int64_t now)
{
	size_t off = 0;
	mtgate_wire_header h;
	const char *why;
	char text[96];

	while (!c->dead && c->rlen - off >= HDR_LEN) {
		proto_header_dec(c->rbuf + off, &h);
		why = answer_header_problem(&h, RBUF_CAP - HDR_LEN);
		if (why[0] != '\0') {
			snprintf(text, sizeof(text), "protocol violation: %s",
				 why);
			conn_fail(c, text);
			return;
		}
		if (c->rlen - off < HDR_LEN + h.body_len)
			break;
		conn_answer(c, &h, c->rbuf + off + HDR_LEN, now);
		off += HDR_LEN + h.body_len;
	}
	if (!c->dead && off > 0) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
}

static void conn_read(bench_conn *c)
{
	ssize_t k = recv(c->fd, c->rbuf + c->rlen, RBUF_CAP - c->rlen, 0);

	if (k == 0) {
		conn_fail(c, "the server closed the connection");
	} else if (k < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_fail(c, strerror(errno));
	} else {
		c->rlen += (size_t)k;
		conn_parse(c, now_ns());
		conn_fill(c);
	}
}

/* ---- workers ------------------------------------------------------------- */

static int worker_init(bench_worker *w, const bench_job *job, bench_conn *conns,
		       unsigned n, uint64_t seed)
{
	w->job = job;
	w->conns = conns;
	w->nconns = w->nlive = n;
	w->rng = mix64(seed);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->scratch = malloc((size_t)job->batch * sizeof(*w->scratch));
	if (w->epfd < 0 || w->scratch == NULL) {
		say("cannot set up a worker: %s", strerror(errno));
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		struct epoll_event ev = {.events = EPOLLIN,
					 .data.ptr = &conns[i]};
		conns[i].w = w;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, conns[i].fd, &ev) < 0) {
			say("epoll_ctl: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void worker_free(bench_worker *w)
{
	if (w->epfd >= 0)
		close(w->epfd);
	free(w->scratch);
}

static void load_progress(bench_worker *w, int64_t now)
{
	if (now - w->load_report_ns < LOAD_PROGRESS_NS)
		return;
	w->load_report_ns = now;
	say("loading: %" PRIu64 " of %" PRIu64 " consents", w->load_done,
	    w->job->nums->n);
}

/* Decide whether the phase is over; false to go on. */
static bool worker_done(bench_worker *w, int64_t now)
{
	const bench_job *j = w->job;

	if (w->nlive == 0)
		return true;
	if (!j->load && !w->stopping && now >= j->end_ns)
		w->stopping = true;
	if (w->outstanding == 0)
		return w->stopping || (j->load && !want_frame(w));
	if (now - w->last_answer_ns > j->timeout_ns) {
		for (unsigned i = 0; i < w->nconns; i++)
			conn_fail(&w->conns[i], "no answer in time");
		return true;
	}
	if (j->load)
		load_progress(w, now);
	return false;
}

static int worker_wait_ms(const bench_worker *w, int64_t now)
{
	int64_t ms = EPOLL_WAIT_MAX_MS;

	if (!w->job->load && !w->stopping)
		ms = (w->job->end_ns - now) / 1000000 + 1;
	if (ms < 0)
		return 0;
	return ms > EPOLL_WAIT_MAX_MS ? EPOLL_WAIT_MAX_MS : (int)ms;
}

/* Run the phase on this worker's connections until it is over. */
static void *worker_run(void *arg)
{
	bench_worker *w = arg;
	struct epoll_event evs[EPOLL_EVENTS];
	int64_t now = now_ns();
	int n;

	w->last_answer_ns = w->load_report_ns = now;
	for (unsigned i = 0; i < w->nconns; i++)
		conn_fill(&w->conns[i]);
	while (!worker_done(w, now)) {
		n = epoll_wait(w->epfd, evs, EPOLL_EVENTS,
			       worker_wait_ms(w, now));
		for (int i = 0; i < n; i++) {
			bench_conn *c = evs[i].data.ptr;
			if (!c->dead && (evs[i].events & EPOLLOUT))
				conn_flush(c);
			if (!c->dead &&
			    (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				conn_read(c);
		}
		now = now_ns();
	}
	return NULL;
}

/* ---- phases -------------------------------------------------------------- */

/* n connections with nslots slots each, connected and authenticated. */
static bench_conn *conns_open(const bench_opts *o, const char *key, unsigned n,
			      uint32_t nslots, const bench_job *job)
{
	bench_conn *conns = calloc(n, sizeof(*conns));
	mtgate_wire_hello_resp hello;
	unsigned i;
	int fd;

	if (conns == NULL) {
		say("out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		conns[i].fd = -1;
		if ((fd = open_session(o, key, &hello)) < 0)
			break;
		if (conn_init(&conns[i], fd, i, nslots, job) < 0)
			break;
	}
	if (i == n)
		return conns;
	for (unsigned k = 0; k <= i && k < n; k++)
		conn_free(&conns[k]);
	free(conns);
	return NULL;
}

static void conns_close(bench_conn *conns, unsigned n)
{
	for (unsigned i = 0; conns && i < n; i++)
		conn_free(&conns[i]);
	free(conns);
}

/* Preload every consent on this thread. 0, or -1 (reported). */
static int run_load(const bench_opts *o, const char *key,
		    const bench_numbers *nums, uint32_t program)
{
	bench_job job = {.load = true,
			 .nums = nums,
			 .program = program,
			 .batch = 1,
			 .frame_max = load_frame_max(),
			 .timeout_ns = (int64_t)(o->timeout_s * 1e9)};
	unsigned nc = nums->n < LOAD_CONNS ? (unsigned)nums->n : LOAD_CONNS;
	bench_worker *w = calloc(1, sizeof(*w));
	bench_conn *conns = conns_open(o, key, nc, LOAD_INFLIGHT, &job);
	int64_t t0 = now_ns();
	double s;
	int rc = -1;

	if (w == NULL || conns == NULL ||
	    worker_init(w, &job, conns, nc, o->seed) < 0)
		goto out;
	worker_run(w);
	s = (double)(now_ns() - t0) / 1e9;
	say("loaded %" PRIu64 " consents (%" PRIu64 " opted in, %" PRIu64
	    " opted out) in %.2f s: %.0f consents/s",
	    w->load_done, w->load_in, w->load_done - w->load_in, s,
	    (double)w->load_done / (s > 0 ? s : 1e-9));
	if (w->load_done == nums->n && w->load_errors == 0)
		rc = 0;
	else
		say("the preload failed: %" PRIu64 " errors, %" PRIu64
		    " of %" PRIu64 " consents loaded",
		    w->load_errors, w->load_done, nums->n);
out:
	if (w != NULL)
		worker_free(w);
	free(w);
	conns_close(conns, nc);
	return rc;
}

static const char *const reason_names[MTGATE_REASON_MAX] = {
	"ALLOW",           "NO_OPTIN",
	"OPTED_OUT",       "PENDING_CONFIRMATION",
	"DEACTIVATED",     "SCOPE_QUESTION_OPEN",
	"UNKNOWN_PROGRAM", "MSG_LIMIT_EXCEEDED",
};

/* Merge the workers' results into ws[0] and print them; the exit code. */
static int report(const bench_opts *o, bench_worker *ws, unsigned nw)
{
	bench_worker *t = &ws[0];
	bench_hist *h = &t->hist;
	double el = o->duration_s, dps, mean_us;

	for (unsigned i = 1; i < nw; i++) {
		t->frames += ws[i].frames;
		t->decisions += ws[i].decisions;
		t->errors += ws[i].errors;
		t->wrong_allow += ws[i].wrong_allow;
		t->wrong_deny += ws[i].wrong_deny;
		for (unsigned r = 0; r < MTGATE_REASON_MAX; r++)
			t->reasons[r] += ws[i].reasons[r];
		hist_merge(h, &ws[i].hist);
	}
	dps = (double)t->decisions / el;
	mean_us = h->n ? (double)h->sum_ns / (double)h->n / 1000 : 0;
	printf("measured %.2f s after %.2f s warm-up: %" PRIu64
	       " frames, %" PRIu64 " decisions\n",
	       el, o->warmup_s, t->frames, t->decisions);
	printf("throughput: %.1f decisions/s, %.1f frames/s\n", dps,
	       (double)t->frames / el);
	printf("latency per frame (us): p50 %.1f p90 %.1f p99 %.1f "
	       "p999 %.1f max %.1f mean %.1f\n",
	       hist_quantile_us(h, 0.5), hist_quantile_us(h, 0.9),
	       hist_quantile_us(h, 0.99), hist_quantile_us(h, 0.999),
	       (double)h->max_ns / 1000, mean_us);
	printf("answers:");
	for (unsigned r = 0; r < MTGATE_REASON_MAX; r++)
		if (t->reasons[r] > 0)
			printf(" %s %.1f%%", reason_names[r],
			       100.0 * (double)t->reasons[r] /
				       (double)t->decisions);
	printf("\nerrors: %" PRIu64 " (opted-out numbers allowed: %" PRIu64
	       ")\n",
	       t->errors, t->wrong_allow);
	if (t->wrong_deny > 0)
		say("warning: %" PRIu64 " decisions denied opted-in numbers "
		    "as not opted in (not loaded? run without --no-load)",
		    t->wrong_deny);
	printf("decisions_per_s=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f "
	       "errors=%" PRIu64 "\n",
	       dps, hist_quantile_us(h, 0.5), hist_quantile_us(h, 0.99),
	       hist_quantile_us(h, 0.999), t->errors);
	return t->errors ? EXIT_ERRORS : EXIT_CLEAN;
}

static int start_workers(bench_worker *ws, unsigned nw)
{
	for (unsigned i = 0; i < nw; i++) {
		int rc =
			pthread_create(&ws[i].thread, NULL, worker_run, &ws[i]);
		if (rc != 0) {
			say("cannot start a thread: %s", strerror(rc));
			return -1;
		}
	}
	return 0;
}

/* The gate phase over --connections connections and --threads threads. */
static int run_gate(const bench_opts *o, const char *key,
		    const bench_numbers *nums, uint32_t program)
{
	bench_job job = {.nums = nums,
			 .program = program,
			 .batch = o->batch,
			 .mode = o->dry_run ? MTGATE_MODE_DRY_RUN
					    : MTGATE_MODE_COUNT,
			 .frame_max = gate_frame_max(o->batch),
			 .timeout_ns = (int64_t)(o->timeout_s * 1e9)};
	unsigned nw = o->threads, nc = o->connections, at = 0;
	bench_worker *ws = calloc(nw, sizeof(*ws));
	bench_conn *conns = conns_open(o, key, nc, o->inflight, &job);
	int64_t t0;
	int rc = EXIT_CANNOT;

	if (ws == NULL || conns == NULL)
		goto out;
	for (unsigned i = 0; i < nw; i++)
		ws[i].epfd = -1;
	for (unsigned i = 0; i < nw; i++) {
		unsigned n = nc / nw + (i < nc % nw ? 1 : 0);
		if (worker_init(&ws[i], &job, conns + at, n, o->seed + i + 1))
			goto out;
		at += n;
	}
	printf("gate: %s, batch %u, %u connection%s over %u "
	       "thread%s, %u frame%s in flight each\n",
	       o->dry_run ? "dry run" : "counting", o->batch, nc,
	       nc == 1 ? "" : "s", nw, nw == 1 ? "" : "s", o->inflight,
	       o->inflight == 1 ? "" : "s");
	fflush(stdout);
	t0 = now_ns();
	job.start_ns = t0 + (int64_t)(o->warmup_s * 1e9);
	job.end_ns = job.start_ns + (int64_t)(o->duration_s * 1e9);
	if (start_workers(ws, nw) < 0)
		exit(EXIT_CANNOT); /* threads already run; do not unwind */
	for (unsigned i = 0; i < nw; i++)
		pthread_join(ws[i].thread, NULL);
	rc = report(o, ws, nw);
out:
	for (unsigned i = 0; ws && i < nw; i++)
		worker_free(&ws[i]);
	free(ws);
	conns_close(conns, nc);
	return rc;
}

/* Refuse settings whose buffers would not fit the memory bound or the
 * server's limits. */
static int check_limits(const bench_opts *o,
			const mtgate_wire_hello_resp *hello)
{
	size_t frame = gate_frame_max(o->batch);
	double mem = (double)o->connections * o->inflight * (double)frame;

	if (hello->batch_max != 0 && o->batch > hello->batch_max) {
		say("--batch %u is over the server's %" PRIu32, o->batch,
		    hello->batch_max);
		return -1;
	}
	if (hello->frame_body_max != 0 &&
	    frame - HDR_LEN > hello->frame_body_max) {
		say("a batch of %u is over the server's frame limit", o->batch);
		return -1;
	}
	if (mem > (double)MEM_MAX) {
		say("--connections x --inflight x frame size is %.0f MiB, "
		    "over %llu MiB",
		    mem / (1 << 20), MEM_MAX >> 20);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char key[MTGATE_PROTO_KEY_MAX + 1];
	mtgate_wire_hello_resp hello;
	bench_numbers nums;
	bench_opts o;
	uint32_t program;
	int rc, fd;

	if ((rc = parse_opts(argc, argv, &o)) != 0) {
		if (rc > 0)
			fputs(usage_text, stdout);
		else
			say("see mtgate-bench --help");
		return rc > 0 ? EXIT_CLEAN : EXIT_CANNOT;
	}
	if (read_key(&o, key) < 0 || resolve(o.server) < 0)
		return EXIT_CANNOT;
	numbers_init(&nums, &o);
	if ((fd = open_session(&o, key, &hello)) < 0)
		return EXIT_CANNOT;
	printf("server %s: %s, %u core thread%s\n", o.server,
	       hello.role == MTGATE_ROLE_OPERATOR ? "operator" : "tenant",
	       hello.threads, hello.threads == 1 ? "" : "s");
	program = program_setup(fd, &o);
	close(fd);
	if (program == 0 || check_limits(&o, &hello) < 0)
		return EXIT_CANNOT;
	printf("numbers: %" PRIu64 ", %.1f%% opted in, seed %" PRIu64 "\n",
	       o.numbers, 100 * o.optin_ratio, o.seed);
	fflush(stdout);
	if (!o.no_load && run_load(&o, key, &nums, program) < 0)
		return EXIT_ERRORS;
	if (o.duration_s <= 0) {
		printf("load only (--duration 0): nothing measured\n");
		return EXIT_CLEAN;
	}
	rc = run_gate(&o, key, &nums, program);
	freeaddrinfo(g_addrs);
	return rc;
}

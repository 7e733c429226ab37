/*
 * srvutil: the harness of the server integration tests (tests/server/).
 *
 * What it is
 *   Every server test runs the real mtgated binary (MTGATED_PATH, compiled
 *   in by CMake) on a loopback port the kernel picks (--listen
 *   127.0.0.1:0), over a real RocksDB in a temporary directory, and talks
 *   to it through libmtgate or, for frames the library would never send,
 *   through a raw socket and the wire codec. Nothing is mocked.
 *
 * The server process (su_server)
 *   - su_start() forks and execs mtgated with stdin from /dev/null and
 *     stdout and stderr appended to DIR/mtgated.log, then polls that file
 *     for the "mtgated ready HOST:PORT" line (SU_READY_MS) and takes the
 *     port from it. Output goes to a file, never a pipe, so the server can
 *     never block on a full pipe; a test reads the file whenever it wants
 *     (su_log_contains). The child asks for SIGKILL when the test process
 *     dies (PR_SET_PDEATHSIG), so a crashed or timed-out test leaves no
 *     server behind.
 *   - su_stop() sends SIGTERM and asserts a graceful exit (status 0);
 *     su_kill() sends SIGKILL (crash tests). su_start() again restarts on
 *     the same data directory.
 *   - su_free() (call it from the test's teardown, which cmocka runs even
 *     after a failed assertion) kills a server still running, reaps it and
 *     removes the directory.
 *
 * Time
 *   Tests that need time start the server with --test-clock and move the
 *   clock with CLOCK (su_clock); nothing sleeps for a rule window. The
 *   only waits here are bounded polls for a process or a socket event.
 *
 * Programs
 *   PROGRAM_PUT refuses a definition that breaks a PROG rule, so every
 *   program a test defines takes its texts from su_texts_for (the one
 *   place that knows what a compliant welcome, help and quit text say):
 *   su_program and su_recurring build whole definitions with them.
 *
 * Everything is static inline: CMake compiles each test_*.c with
 * tests/util/testutil.c only, so shared helpers live in this header.
 */
#ifndef MTGATE_SRVUTIL_H
#define MTGATE_SRVUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "mtgate/client.h"
#include "proto/codec.h"
#include "testutil.h"

#ifndef MTGATED_PATH
#error "MTGATED_PATH must name the mtgated binary"
#endif

#define SU_READY_MS 20000 /* longest wait for "mtgated ready" */
#define SU_STOP_MS  30000 /* longest wait for a graceful exit */
#define SU_IO_MS    10000 /* socket timeouts of the tests' connections */
#define SU_ARGS_MAX 24

#define SU_ERRTEXT    "authentication failed"
#define SU_READY_LINE "mtgated ready "

/* A fixed test time: 2026-03-15 12:00:00 UTC (a Sunday, mid-month). */
#define SU_T0 1773576000000LL

/* ---- small things ----------------------------------------------------------- */

static inline int64_t su_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void su_nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The whole file at path, NUL-terminated (malloc'd), or NULL. */
static inline char *su_read_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *p;
			cap = cap ? cap * 2 : 8192;
			p = realloc(buf, cap + 1);
			if (p == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return NULL;
	buf[len] = '\0';
	if (len_out != NULL)
		*len_out = len;
	return buf;
}

/* ---- the server process ------------------------------------------------------- */

typedef struct su_server {
	char *dir;      /* the test's temporary directory */
	char data[600]; /* DIR/data: --data */
	char log[600];  /* DIR/mtgated.log: stdout and stderr, appended */
	const char *args[SU_ARGS_MAX]; /* extra flags (static strings) */
	int nargs;
	const char *asan_options; /* appended to the server's ASAN_OPTIONS */
	pid_t pid;                /* 0 when not running */
	int port;
	char addr[64];                      /* "127.0.0.1:PORT" */
	char key[MTGATE_PROTO_KEY_MAX + 1]; /* the operator key */
} su_server;

/* A server description with its own temporary directory; extra flags
 * (static strings, NULL-terminated list) are passed at every start. */
static inline su_server *su_new(const char *tag, const char *flag, ...)
{
	su_server *s = calloc(1, sizeof(*s));
	va_list ap;

	assert_non_null(s);
	s->dir = tu_tmpdir(tag);
	snprintf(s->data, sizeof(s->data), "%s/data", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/mtgated.log", s->dir);
	va_start(ap, flag);
	for (const char *a = flag; a != NULL; a = va_arg(ap, const char *)) {
		assert_true(s->nargs < SU_ARGS_MAX - 8);
		s->args[s->nargs++] = a;
	}
	va_end(ap);
	return s;
}

static inline long su_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* Print the server's log (for a failing test). */
static inline void su_dump_log(const su_server *s)
{
	char *log = su_read_file(s->log, NULL);

	/* not print_message: cmocka cuts messages at 1 KiB */
	fflush(stdout);
	fprintf(stderr, "---- %s ----\n%s---- end of log ----\n", s->log,
		log ? log : "(none)\n");
	fflush(stderr);
	free(log);
}

/* Reap the child if it has exited: true when it did (*status set). */
static inline bool su_reap(su_server *s, int *status)
{
	pid_t r;

	if (s->pid <= 0)
		return true;
	do
		r = waitpid(s->pid, status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == s->pid || (r < 0 && errno == ECHILD)) {
		s->pid = 0;
		return true;
	}
	return false;
}

/* The server's environment: ours, with s->asan_options appended to
 * ASAN_OPTIONS. A malloc'd array of pointers into ours and into asan (a
 * buffer of the caller), built before fork. */
static inline char **su_env(const su_server *s, char *asan, size_t cap)
{
	extern char **environ;
	const char *old = getenv("ASAN_OPTIONS");
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	env = calloc(n + 2, sizeof(*env));
	assert_non_null(env);
	for (size_t i = 0; i < n; i++)
		if (s->asan_options == NULL ||
		    strncmp(environ[i], "ASAN_OPTIONS=", 13) != 0)
			env[k++] = environ[i];
	if (s->asan_options != NULL) {
		snprintf(asan, cap, "ASAN_OPTIONS=%s%s%s", old ? old : "",
			 old && *old ? ":" : "", s->asan_options);
		env[k++] = asan;
	}
	env[k] = NULL;
	return env;
}

/* Start mtgated and wait for its ready line; fails the test otherwise. */
static inline void su_start(su_server *s)
{
	const char *argv[SU_ARGS_MAX + 8];
	long off = su_file_size(s->log);
	char asan[1024], **env = su_env(s, asan, sizeof(asan));
	int64_t deadline;
	int n = 0, status = 0;
	pid_t pid;

	assert_int_equal(s->pid, 0);
	argv[n++] = MTGATED_PATH;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--data";
	argv[n++] = s->data;
	for (int i = 0; i < s->nargs; i++)
		argv[n++] = s->args[i];
	argv[n] = NULL;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The child: async-signal-safe calls only, then exec. */
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int out = open(s->log,
			       O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(out, 2) < 0)
			_exit(126);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execve(argv[0], (char *const *)argv, env);
		_exit(127);
	}
	free(env);
	s->pid = pid;

	deadline = su_mono_ms() + SU_READY_MS;
	for (;;) {
		char *log = su_read_file(s->log, NULL), *p;
		if (log != NULL && (long)strlen(log) >= off &&
		    (p = strstr(log + off, SU_READY_LINE)) != NULL &&
		    strchr(p, '\n') != NULL) {
			char *colon;
			p += strlen(SU_READY_LINE);
			*strchr(p, '\n') = '\0';
			colon = strrchr(p, ':');
			assert_non_null(colon);
			s->port = atoi(colon + 1);
			free(log);
			break;
		}
		free(log);
		if (su_reap(s, &status)) {
			su_dump_log(s);
			fail_msg("mtgated exited before it was ready "
				 "(status 0x%x)",
				 status);
		}
		if (su_mono_ms() > deadline) {
			su_dump_log(s);
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
			s->pid = 0;
			fail_msg("mtgated printed no ready line in %d ms",
				 SU_READY_MS);
		}
		su_nap_ms(10);
	}
	assert_true(s->port > 0 && s->port < 65536);
	snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%d", s->port);

	/* The operator key, written at first start. */
	{
		char path[700], *k;
		size_t len = 0;
		snprintf(path, sizeof(path), "%s/operator.key", s->data);
		k = su_read_file(path, &len);
		assert_non_null(k);
		while (len > 0 && (k[len - 1] == '\n' || k[len - 1] == '\r'))
			k[--len] = '\0';
		assert_true(len > 0 && len <= MTGATE_PROTO_KEY_MAX);
		memcpy(s->key, k, len + 1);
		free(k);
	}
}

/* Wait up to ms for the process to exit; true with *status when it did. */
static inline bool su_wait_exit(su_server *s, int ms, int *status)
{
	int64_t deadline = su_mono_ms() + ms;

	while (!su_reap(s, status)) {
		if (su_mono_ms() > deadline)
			return false;
		su_nap_ms(5);
	}
	return true;
}

/* SIGTERM; the server must exit 0 (it answers what is in flight, persists
 * the counters and closes RocksDB first). */
static inline void su_stop(su_server *s)
{
	int status = 0;

	assert_true(s->pid > 0);
	assert_int_equal(kill(s->pid, SIGTERM), 0);
	if (!su_wait_exit(s, SU_STOP_MS, &status)) {
		su_dump_log(s);
		kill(s->pid, SIGKILL);
		waitpid(s->pid, &status, 0);
		s->pid = 0;
		fail_msg("mtgated did not stop within %d ms of SIGTERM",
			 SU_STOP_MS);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		su_dump_log(s);
		fail_msg("mtgated did not exit 0 after SIGTERM (status 0x%x)",
			 status);
	}
}

/* SIGKILL: a crash. */
static inline void su_kill(su_server *s)
{
	int status = 0;

	assert_true(s->pid > 0);
	assert_int_equal(kill(s->pid, SIGKILL), 0);
	while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
		;
	s->pid = 0;
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* Teardown: no process left behind, no directory left behind. */
static inline void su_free(su_server *s)
{
	int status;

	if (s == NULL)
		return;
	if (s->pid > 0 && su_reap(s, &status)) {
		/* it died during the test: say how, and show why */
		fprintf(stderr, "mtgated died during the test (status 0x%x)\n",
			status);
		su_dump_log(s);
	}
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	tu_rmrf(s->dir);
	free(s->dir);
	free(s);
}

static inline bool su_log_contains(const su_server *s, const char *needle)
{
	char *log = su_read_file(s->log, NULL);
	bool found = log != NULL && strstr(log, needle) != NULL;

	free(log);
	return found;
}

/* VmRSS of the server in KiB. */
static inline long su_rss_kb(const su_server *s)
{
	char path[64], *st, *p;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
	st = su_read_file(path, NULL);
	assert_non_null(st);
	if ((p = strstr(st, "VmRSS:")) != NULL)
		kb = strtol(p + 6, NULL, 10);
	free(st);
	assert_true(kb > 0);
	return kb;
}

/* ---- libmtgate connections ------------------------------------------------------ */

/* A connection with key (NULL: not authenticated); fails the test if it
 * cannot be made. */
static inline mtgate_conn *su_connect(const su_server *s, const char *key)
{
	mtgate_conn *c = NULL;
	int rc = mtgate_c_connect(s->addr, key, SU_IO_MS, &c);

	if (rc != 0)
		fail_msg("connect %s: %s", s->addr, mtgate_strerror(rc));
	assert_non_null(c);
	return c;
}

static inline mtgate_conn *su_operator(const su_server *s)
{
	return su_connect(s, s->key);
}

/* Set the test clock; returns the server's time after it. */
static inline int64_t su_clock(mtgate_conn *c, int op, int64_t v)
{
	int64_t now = 0;

	assert_int_equal(mtgate_c_clock(c, op, v, &now), 0);
	return now;
}

/* The usual fixture: a server on two threads with the test clock at SU_T0,
 * started, and an operator connection to it (*op_out). su_done undoes it
 * (either may be NULL). */
static inline su_server *su_start_clocked(const char *tag, mtgate_conn **op_out)
{
	su_server *s = su_new(tag, "--threads", "2", "--test-clock", NULL);

	su_start(s);
	*op_out = su_operator(s);
	su_clock(*op_out, MTGATE_CLOCK_SET, SU_T0);
	return s;
}

static inline void su_done(su_server *s, mtgate_conn *op)
{
	mtgate_c_close(op);
	if (s != NULL)
		su_free(s);
}

static inline mtgate_reason su_gate(mtgate_conn *c, uint64_t number,
				    uint32_t program, mtgate_mode mode)
{
	mtgate_reason r = MTGATE_REASON_MAX;
	int rc = mtgate_c_gate(c, number, program, mode, &r);

	if (rc != 0)
		fail_msg("GATE %llu/%u: %s (%s)", (unsigned long long)number,
			 program, mtgate_strerror(rc), mtgate_c_last_error(c));
	return r;
}

static inline void su_optin(mtgate_conn *c, uint64_t number, uint32_t program)
{
	mtgate_c_changes ch;
	int rc = mtgate_c_optin(c, number, program, MTGATE_CHANNEL_WEB,
				"form-7", 0, &ch);

	if (rc != 0)
		fail_msg("OPTIN %llu/%u: %s (%s)", (unsigned long long)number,
			 program, mtgate_strerror(rc), mtgate_c_last_error(c));
}

static inline void su_optout(mtgate_conn *c, uint64_t number, uint32_t program)
{
	mtgate_c_changes ch;
	int rc = mtgate_c_optout(c, number, program, NULL, MTGATE_CHANNEL_MO,
				 "STOP", &ch);

	if (rc != 0)
		fail_msg("OPTOUT %llu/%u: %s (%s)", (unsigned long long)number,
			 program, mtgate_strerror(rc), mtgate_c_last_error(c));
}

/* The consent of number for program from QUERY (state NONE and zero
 * counts when there is none). */
static inline mtgate_consent su_consent(mtgate_conn *c, uint64_t number,
					uint32_t program)
{
	mtgate_consent recs[64], none = {.number = number, .program = program};
	size_t n = 0;
	int rc = mtgate_c_query(c, number, recs, 64, &n, NULL);

	if (rc != 0)
		fail_msg("QUERY %llu: %s (%s)", (unsigned long long)number,
			 mtgate_strerror(rc), mtgate_c_last_error(c));
	for (size_t i = 0; i < n && i < 64; i++)
		if (recs[i].program == program)
			return recs[i];
	return none;
}

/* ---- program definitions that keep the PROG rules ------------------------------- */

#define SU_SMS_MAX 160 /* GSM-7 characters of one SMS (PROG-6) */

/* The three texts every program needs, each one SMS. */
typedef struct su_texts {
	char welcome[SU_SMS_MAX + 1];
	char help[SU_SMS_MAX + 1];
	char quit[SU_SMS_MAX + 1];
} su_texts;

/* "mo", "wk" or "day": how a frequency names the period. */
static inline const char *su_per(mtgate_period p)
{
	return p == MTGATE_PERIOD_DAY    ? "day"
	       : p == MTGATE_PERIOD_WEEK ? "wk"
					 : "mo";
}

/*
 * Texts that keep PROG-1, -2, -3 and -6 for a program called name that
 * sends at most limit MTs per period p (MTGATE_PERIOD_NONE: a one-off
 * program, which states no frequency):
 *   welcome "<name>: Msg&Data rates may apply. Max <limit> msgs/<per>.
 *            Reply STOP to cancel, HELP for help."
 *   help    "<name>: example.com or 1-800-555-0100. Max <limit> msgs/<per>."
 *   quit    "You have quit <name>. No more messages will be sent."
 * name must be plain ASCII (a curly apostrophe makes a text UCS-2, whose
 * limit is 70) and short enough for every text to stay within 160
 * characters, which is asserted.
 */
static inline void su_texts_for(su_texts *t, const char *name, uint32_t limit,
				mtgate_period p)
{
	char freq[48] = "";
	int n[3];

	for (const char *c = name; *c; c++)
		assert_true((unsigned char)*c >= 0x20 &&
			    (unsigned char)*c < 0x7f);
	if (p != MTGATE_PERIOD_NONE)
		snprintf(freq, sizeof(freq), " Max %u msgs/%s.", limit,
			 su_per(p));
	n[0] = snprintf(t->welcome, sizeof(t->welcome),
			"%s: Msg&Data rates may apply.%s Reply %sHELP for "
			"help.",
			name, freq,
			p != MTGATE_PERIOD_NONE ? "STOP to cancel, " : "");
	n[1] = snprintf(t->help, sizeof(t->help),
			"%s: example.com or 1-800-555-0100.%s", name, freq);
	n[2] = snprintf(t->quit, sizeof(t->quit),
			"You have quit %s. No more messages will be sent.",
			name);
	for (int i = 0; i < 3; i++)
		assert_true(n[i] > 0 && n[i] <= SU_SMS_MAX);
}

/* A recurring program on sc with keyword kw called name, "Max <limit>
 * msgs/<per>", with texts from su_texts_for. The texts are one of 8
 * rotating sets: put the definition before asking for 8 more. */
static inline mtgate_program_def su_program(const char *sc, const char *kw,
					    const char *name, uint32_t limit,
					    mtgate_period p)
{
	static su_texts texts[8];
	static int next;
	su_texts *t = &texts[next++ % 8];

	su_texts_for(t, name, limit, p);
	return (mtgate_program_def){
		.short_code = sc,
		.keyword = kw,
		.name = name,
		.kind = MTGATE_KIND_RECURRING,
		.limit = limit,
		.period = p,
		.tz = "UTC",
		.welcome_text = t->welcome,
		.help_text = t->help,
		.quit_text = t->quit,
		.confirm_text = "",
	};
}

/* su_program called "Test alerts". */
static inline mtgate_program_def su_recurring(const char *sc, const char *kw,
					      uint32_t limit, mtgate_period p)
{
	return su_program(sc, kw, "Test alerts", limit, p);
}

static inline uint32_t su_program_put(mtgate_conn *c,
				      const mtgate_program_def *d)
{
	uint32_t id = 0;
	int rc = mtgate_c_program_put(c, d, &id);

	if (rc != 0)
		fail_msg("PROGRAM_PUT %s/%s: %s (%s)", d->short_code,
			 d->keyword, mtgate_strerror(rc),
			 mtgate_c_last_error(c));
	assert_true(id > 0);
	return id;
}

/* Send one frame with an already encoded body on c and read its answer
 * (the only one outstanding). The body points into c's buffer. */
static inline void su_call_raw(mtgate_conn *c, uint8_t opcode, const void *body,
			       uint32_t len, mtgate_wire_header *h,
			       const uint8_t **rb)
{
	static uint64_t tag = 0x5a000000;
	uint64_t t = ++tag;

	assert_int_equal(mtgate_c_send_raw(c, t, opcode, body, len), 0);
	assert_int_equal(mtgate_c_flush(c), 0);
	assert_int_equal(mtgate_c_recv(c, h, rb), 0);
	assert_int_equal(h->tag, t);
	assert_int_equal(h->opcode, opcode);
}

/* ---- raw sockets ------------------------------------------------------------------ */

/* A plain blocking TCP connection to the server, with SU_IO_MS timeouts. */
static inline int su_raw_connect(const su_server *s)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)s->port)};
	struct timeval tv = {SU_IO_MS / 1000, 0};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail_msg("connect 127.0.0.1:%d: %s", s->port, strerror(errno));
	return fd;
}

static inline void su_raw_send(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			fail_msg("send: %s", strerror(errno));
		b += k;
		n -= (size_t)k;
	}
}

/* A request header: the defaults of a valid request, for tests to spoil. */
static inline mtgate_wire_header su_hdr(uint8_t opcode, uint64_t tag,
					uint32_t body_len)
{
	return (mtgate_wire_header){.magic = MTGATE_PROTO_MAGIC,
				    .version = MTGATE_PROTO_VERSION,
				    .opcode = opcode,
				    .tag = tag,
				    .body_len = body_len};
}

/* Send header h followed by n bytes of body (n may differ from
 * h->body_len: that is how a test truncates or spoils a frame). */
static inline void su_raw_frame(int fd, const mtgate_wire_header *h,
				const void *body, size_t n)
{
	uint8_t hb[MTGATE_PROTO_HEADER_LEN];

	proto_header_enc(hb, h);
	su_raw_send(fd, hb, sizeof(hb));
	if (n > 0)
		su_raw_send(fd, body, n);
}

/* Read exactly n bytes: 1, 0 at a clean end of stream before any byte,
 * -1 on an error, a reset, a timeout or an end in the middle. */
static inline int su_raw_read(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	size_t got = 0;

	while (got < n) {
		ssize_t k = recv(fd, b + got, n - got, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0)
			return got == 0 ? 0 : -1;
		if (k < 0)
			return -1;
		got += (size_t)k;
	}
	return 1;
}

/* One answer frame: header into *h, body (at most cap bytes, NUL added)
 * into body. Fails the test unless a whole frame arrives. */
static inline void su_raw_recv(int fd, mtgate_wire_header *h, uint8_t *body,
			       size_t cap)
{
	uint8_t hb[MTGATE_PROTO_HEADER_LEN];

	if (su_raw_read(fd, hb, sizeof(hb)) != 1)
		fail_msg("no answer frame: %s", strerror(errno));
	proto_header_dec(hb, h);
	assert_int_equal(h->magic, MTGATE_PROTO_MAGIC);
	assert_int_equal(h->version, MTGATE_PROTO_VERSION);
	assert_int_equal(h->flags, MTGATE_FLAG_RESPONSE);
	assert_int_equal(h->reserved, 0);
	assert_true(h->body_len < cap);
	if (h->body_len > 0)
		assert_int_equal(su_raw_read(fd, body, h->body_len), 1);
	body[h->body_len] = 0;
}

/* The text of an error body (u16 length + text), checked to fill the body
 * exactly; returns a pointer into body (NUL-terminated by su_raw_recv). */
static inline const char *su_err_text(const mtgate_wire_header *h,
				      uint8_t *body)
{
	proto_rd r;
	uint16_t len = 0;
	const uint8_t *t;

	proto_rd_init(&r, body, h->body_len);
	t = proto_rd_str(&r, &len);
	assert_true(proto_rd_done(&r));
	return (const char *)t;
}

/* The server closed the connection: the next read sees the end of the
 * stream (or a reset), not data and not a timeout. */
static inline void su_raw_expect_closed(int fd)
{
	uint8_t b[64];
	ssize_t k;

	do
		k = recv(fd, b, sizeof(b), 0);
	while (k < 0 && errno == EINTR);
	if (k > 0)
		fail_msg("expected the server to close the connection, got "
			 "%zd more bytes",
			 k);
	if (k < 0 && errno != ECONNRESET)
		fail_msg("expected the server to close the connection: %s",
			 strerror(errno));
}

/* HELLO on a raw socket; returns the answer's status (body in body). */
static inline unsigned su_raw_hello(int fd, uint64_t tag, const void *key,
				    size_t key_len, mtgate_wire_header *h,
				    uint8_t *body, size_t cap)
{
	uint8_t req[4 + 512];
	mtgate_wire_hello_req q = {.version = MTGATE_PROTO_VERSION,
				   .key_len = (uint16_t)key_len};
	mtgate_wire_header rh =
		su_hdr(MTGATE_OPC_HELLO, tag, (uint32_t)(4 + key_len));
	proto_wr w;

	assert_true(key_len <= 512);
	proto_wr_init(&w, req, 4 + key_len);
	proto_enc_hello_req(&w, &q);
	proto_wr_bytes(&w, key, key_len);
	assert_false(w.bad);
	su_raw_frame(fd, &rh, req, 4 + key_len);
	su_raw_recv(fd, h, body, cap);
	assert_int_equal(h->tag, tag);
	assert_int_equal(h->opcode, MTGATE_OPC_HELLO);
	return h->status;
}

/* A PING on a raw socket must be answered OK with its tag. */
static inline void su_raw_ping_ok(int fd, uint64_t tag)
{
	mtgate_wire_header h = su_hdr(MTGATE_OPC_PING, tag, 0), r;
	uint8_t body[256];

	su_raw_frame(fd, &h, NULL, 0);
	su_raw_recv(fd, &r, body, sizeof(body));
	assert_int_equal(r.opcode, MTGATE_OPC_PING);
	assert_int_equal(r.tag, tag);
	assert_int_equal(r.status, MTGATE_ST_OK);
	assert_int_equal(r.body_len, 0);
}

/* The status of an engine error on the wire. */
static inline unsigned su_engine_status(int err)
{
	return MTGATE_ST_ENGINE + (unsigned)(err - MTGATE_ERR_FIRST);
}

#endif

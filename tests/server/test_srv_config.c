/*
 * Checks mtgated's own configuration (tools/mtgated.c,
 * engine/server/config.c, the listen socket and the operator key) by
 * running the real binary (MTGATED_PATH) in a child process and reading
 * its stdout, stderr and exit status:
 *
 *   - --help: exit 0, the usage on stdout naming every option, also when
 *     other flags are bad.
 *   - bad flags (unknown option, a missing value, --threads 0 / 999 / abc,
 *     --max-connections 0, --counter-flush-ms 5, a stray argument, ...):
 *     exit 2, one "mtgated: ..." line on stderr naming the flag and the
 *     value, nothing on stdout, nothing started (no data directory).
 *   - bad --listen (empty, no port, unparseable, port out of range):
 *     exit 2 naming --listen.
 *   - bad config files (missing, unknown setting, bad value, unknown
 *     [section], a line that is not name = value): exit 2 naming the file
 *     and the line.
 *   - a port in use, by a plain socket or by another mtgated: exit 1
 *     naming the address.
 *   - a good config file is honoured (listen, data, threads, test_clock,
 *     max_connections, operator_key_file, max_charge_cents: the largest
 *     price PROGRAM_PUT accepts (PROG-5); counter_flush_ms is accepted),
 *     and the command line wins over it wherever the flags stand.
 *   - --operator-key-file: a malformed or missing file stops the start
 *     (exit 1, named); a valid one is the operator's key.
 *
 * Every run is bounded (CF_RUN_MS); a server that starts when it should
 * not is killed at once; teardown kills and removes whatever is left.
 */
#include "srvutil.h"

#define CF_STARTED 1000  /* cf_run: the server printed its ready line */
#define CF_RUN_MS  20000 /* longest wait for an exit or the ready line */
#define CF_ARGS    24
#define CF_CONNS   8

typedef struct fx {
	su_server *s;  /* the test's directory; its server when one runs */
	su_server *s2; /* a second server (port in use) */
	int hold_fd;   /* a plain socket holding a port */
	mtgate_conn *c[CF_CONNS];
	int status;         /* the last run: exit status, or CF_STARTED */
	char *out, *err;    /* its stdout and stderr */
	char out_path[700]; /* DIR/mtgated.out; stderr goes to s->log */
	char cmd[1024];
} fx;

/* ---- fixtures ---------------------------------------------------------------- */

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->hold_fd = -1;
	f->s = su_new("srv-cfg", NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	if (f == NULL)
		return 0;
	for (int i = 0; i < CF_CONNS; i++)
		mtgate_c_close(f->c[i]);
	if (f->hold_fd >= 0)
		close(f->hold_fd);
	su_free(f->s2);
	su_free(f->s);
	free(f->out);
	free(f->err);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* A well-formed key of credential id (0: the operator's), its secret
 * made from seed: "mtk_%08x_" and 43 base64url characters. */
static void key_make(char out[MTGATE_PROTO_KEY_MAX + 1], unsigned id,
		     unsigned seed)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				  "qrstuvwxyz0123456789-_";
	int n = snprintf(out, MTGATE_PROTO_KEY_MAX + 1, "mtk_%08x_", id);

	for (int i = 0; i < 43; i++)
		out[n + i] = b64[(seed * 7 + (unsigned)i * 13) % 64];
	out[n + 43] = '\0';
}

/* A plain listening socket (no SO_REUSEPORT) on a loopback port the
 * kernel picks, kept in f->hold_fd. Returns the port. */
static int hold_port(fx *f)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->hold_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->hold_fd >= 0);
	assert_int_equal(bind(f->hold_fd, (struct sockaddr *)&sa, sizeof(sa)),
			 0);
	assert_int_equal(listen(f->hold_fd, 8), 0);
	assert_int_equal(getsockname(f->hold_fd, (struct sockaddr *)&sa, &len),
			 0);
	return ntohs(sa.sin_port);
}

/* A loopback port free a moment ago. */
static int free_port(fx *f)
{
	int port = hold_port(f);

	close(f->hold_fd);
	f->hold_fd = -1;
	return port;
}

/* ---- running mtgated ----------------------------------------------------------- */

static void cf_describe(fx *f, const char *const *argv)
{
	size_t at = 0;

	f->cmd[0] = '\0';
	for (int i = 1; argv[i] != NULL && at < sizeof(f->cmd) - 1; i++)
		at += (size_t)snprintf(f->cmd + at, sizeof(f->cmd) - at,
				       "%s'%s'", i > 1 ? " " : "mtgated ",
				       argv[i]);
}

static void cf_exec_child(const char *const *argv, const char *out,
			  const char *err)
{
	/* The child: async-signal-safe calls only, then exec. */
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int o = open(out, O_WRONLY | O_APPEND | O_CLOEXEC);
	int e = open(err, O_WRONLY | O_APPEND | O_CLOEXEC);

	if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 ||
	    dup2(e, 2) < 0)
		_exit(126);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

/* The port of a "mtgated ready HOST:PORT\n" line in text, or 0. */
static int ready_port(const char *text)
{
	const char *p = strstr(text, SU_READY_LINE), *colon, *nl;

	if (p == NULL || (nl = strchr(p, '\n')) == NULL)
		return 0;
	for (colon = nl; colon > p && *colon != ':'; colon--)
		;
	return colon > p ? atoi(colon + 1) : 0;
}

/*
 * Run mtgated with args (NULL-terminated) as server s: stdout to
 * DIR/mtgated.out, stderr to s->log. Returns its exit status once it
 * exits, or CF_STARTED once it prints its ready line (it keeps running
 * as s, with s->port and s->addr). Output read into f->out and f->err.
 */
static int cf_run(fx *f, su_server *s, const char *const *args)
{
	const char *argv[CF_ARGS + 2];
	int64_t deadline;
	int n = 0, st = 0;
	pid_t pid;

	snprintf(f->out_path, sizeof(f->out_path), "%s/mtgated.out", s->dir);
	argv[n++] = MTGATED_PATH;
	for (; args[n - 1] != NULL; n++) {
		assert_true(n <= CF_ARGS);
		argv[n] = args[n - 1];
	}
	argv[n] = NULL;
	cf_describe(f, argv);
	assert_int_equal(s->pid, 0);
	/* Empty before the child starts, so no earlier ready line is read. */
	write_file(f->out_path, "");
	write_file(s->log, "");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		cf_exec_child(argv, f->out_path, s->log);
	s->pid = pid;
	deadline = su_mono_ms() + CF_RUN_MS;
	for (f->status = -1; f->status < 0;) {
		char *log = su_read_file(s->log, NULL);
		if (log != NULL && (s->port = ready_port(log)) > 0)
			f->status = CF_STARTED;
		else if (su_reap(s, &st))
			f->status = WIFEXITED(st) ? WEXITSTATUS(st)
						  : 128 + WTERMSIG(st);
		free(log);
		if (f->status < 0 && su_mono_ms() > deadline)
			fail_msg("%s: neither exited nor got ready in %d ms",
				 f->cmd, CF_RUN_MS); /* teardown kills it */
		if (f->status < 0)
			su_nap_ms(2);
	}
	snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%d", s->port);
	free(f->out);
	free(f->err);
	f->out = su_read_file(f->out_path, NULL);
	f->err = su_read_file(s->log, NULL);
	assert_non_null(f->out);
	assert_non_null(f->err);
	return f->status;
}

/* Run where the server must not start: one that does is killed now. */
static int cf_run_bad(fx *f, const char *const *args)
{
	int st;

	if (cf_run(f, f->s, args) == CF_STARTED) {
		kill(f->s->pid, SIGKILL);
		while (waitpid(f->s->pid, &st, 0) < 0 && errno == EINTR)
			;
		f->s->pid = 0;
	}
	return f->status;
}

static void run_failed(fx *f, int line, const char *what)
{
	fail_msg("line %d: %s\n  ran: %s\n  exit %d%s\n  stdout: [%s]\n"
		 "  stderr: [%s]",
		 line, what, f->cmd, f->status,
		 f->status == CF_STARTED ? " (it started and was killed)" : "",
		 f->out, f->err);
}

/* Exit status status, nothing on stdout, one line "mtgated: ..." on
 * stderr containing needle. Returns false (and says so in why) if not. */
static bool refused_as(fx *f, int status, const char *needle, char *why,
		       size_t cap)
{
	size_t n = strlen(f->err);

	snprintf(why, cap,
		 "wanted exit %d, no stdout, one line 'mtgated: ...%s...' "
		 "on stderr",
		 status, needle);
	return f->status == status && f->out[0] == '\0' && n > 0 &&
	       strncmp(f->err, "mtgated: ", 9) == 0 &&
	       strchr(f->err, '\n') == f->err + n - 1 &&
	       strstr(f->err, needle) != NULL;
}

static void expect_refused(fx *f, int status, const char *needle, int line)
{
	char why[512];

	if (!refused_as(f, status, needle, why, sizeof(why)))
		run_failed(f, line, why);
}
#define EXPECT_REFUSED(f, status, needle)                                      \
	expect_refused((f), (status), (needle), __LINE__)

/* The args, after --data DIR/data and --listen 127.0.0.1:0 (which the
 * args may override: the last flag wins). */
static int cf_run_bad_flags(fx *f, const char *const *args)
{
	const char *argv[CF_ARGS + 1];
	int n = 0;

	argv[n++] = "--data";
	argv[n++] = f->s->data;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	for (int i = 0; args[i] != NULL; i++) {
		assert_true(n < CF_ARGS);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	return cf_run_bad(f, argv);
}

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- --help -------------------------------------------------------------------------- */

static void test_srv_config_help(void **state)
{
	fx *f = *state;
	static const char *const options[] = {
		"--listen HOST:PORT",
		"--data DIR",
		"--threads N",
		"--config FILE",
		"--test-clock",
		"--max-connections N",
		"--operator-key-file FILE",
		"--counter-flush-ms N",
		"--max-charge-cents N",
		"--help",
	};
	static const char *const runs[][4] = {
		{"--help", NULL},
		{"-h", NULL},
		{"--threads", "0", "--help", NULL},
		{"--frob", "-h", NULL},
	};

	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		cf_run_bad_flags(f, runs[i]);
		if (f->status != 0 || f->err[0] != '\0' ||
		    strncmp(f->out, "usage: mtgated [options]\n", 25) != 0)
			run_failed(f, __LINE__, "wanted exit 0, the usage");
		for (size_t k = 0; k < sizeof(options) / sizeof(options[0]);
		     k++)
			if (strstr(f->out, options[k]) == NULL)
				run_failed(f, __LINE__, options[k]);
	}
	assert_false(exists(f->s->data));
}

/* ---- bad flags ---------------------------------------------------------------------------- */

typedef struct bad_case {
	const char *args[6];
	const char *needle;
} bad_case;

static const bad_case bad_flags[] = {
	{{"--frob"}, "unknown option --frob"},
	{{"--frob=1"}, "unknown option --frob"},
	{{"--thread", "2"}, "unknown option --thread"},
	{{"stray"}, "unexpected argument 'stray'"},
	{{"-t", "2"}, "unexpected argument '-t'"},
	{{"--"}, "unexpected argument '--'"},
	{{"--threads"}, "--threads needs a value"},
	{{"--data"}, "--data needs a value"},
	{{"--config"}, "--config needs a value"},
	{{"--threads", "0"}, "--threads: '0' is not a number of threads"},
	{{"--threads", "999"}, "--threads: '999' is not a number of threads"},
	{{"--threads", "257"}, "--threads: '257' is not"},
	{{"--threads", "abc"}, "--threads: 'abc' is not a number of threads"},
	{{"--threads", "-1"}, "--threads: '-1' is not"},
	{{"--threads", "2x"}, "--threads: '2x' is not"},
	{{"--threads="}, "--threads: '' is not"},
	{{"--threads", "99999999999999999999"}, "--threads: '9999"},
	{{"--max-connections", "0"}, "--max-connections: '0' is not a number"},
	{{"--max-connections", "1048577"}, "--max-connections: '1048577'"},
	{{"--counter-flush-ms", "5"},
	 "--counter-flush-ms: '5' is not milliseconds from 10 to 60000"},
	{{"--counter-flush-ms", "60001"}, "--counter-flush-ms: '60001'"},
	{{"--max-charge-cents", "0"},
	 "--max-charge-cents: '0' is not cents from 1 to 10000000"},
	{{"--max-charge-cents", "10000001"}, "--max-charge-cents: '10000001'"},
	{{"--max-charge-cents", "R50"}, "--max-charge-cents: 'R50' is not"},
	{{"--test-clock=maybe"}, "--test-clock: 'maybe' is not true or false"},
	{{"--data="}, "--data: '' is not a directory"},
	{{"--operator-key-file="}, "--operator-key-file: '' is not a file"},
};

static void test_srv_config_bad_flags(void **state)
{
	fx *f = *state;

	for (size_t i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		cf_run_bad_flags(f, bad_flags[i].args);
		EXPECT_REFUSED(f, 2, bad_flags[i].needle);
	}
	/* None of them got as far as the engine. */
	assert_false(exists(f->s->data));
}

/*
 * A --listen that cannot be listened on is a bad argument like any other
 * (tools/mtgated.c: "2 for bad arguments or configuration").
 * Every case is run; a failure lists those that went wrong. (A regression
 * test: these were once found only after the engine had been opened, and
 * exited 1.)
 */
static void test_srv_config_bad_listen(void **state)
{
	fx *f = *state;
	static const char *const listens[] = {
		"",           /* config.c */
		"127.0.0.1",  /* no port */
		"127.0.0.1:", /* empty port */
		"not-an-address",
		"127.0.0.1:http",
		"999.1.1.1:7411",
	};
	char wrong[2048] = "", why[512];
	size_t at = 0;

	for (size_t i = 0; i < sizeof(listens) / sizeof(listens[0]); i++) {
		cf_run_bad_flags(f, ARGV("--listen", listens[i]));
		if (!refused_as(f, 2, "--listen", why, sizeof(why)) ||
		    strstr(f->err, listens[i]) == NULL)
			at += (size_t)snprintf(
				wrong + at, sizeof(wrong) - at,
				"\n  --listen '%s': exit %d%s, stderr [%.*s]",
				listens[i], f->status,
				f->status == CF_STARTED ? " (started)" : "",
				(int)strcspn(f->err, "\n"), f->err);
		assert_true(at < sizeof(wrong));
	}
	if (wrong[0] != '\0')
		fail_msg("wanted exit 2 and a line naming --listen and the "
			 "value:%s",
			 wrong);
}

/*
 * A port out of range must be refused, not bound.
 * (A regression test: the port text once went to getaddrinfo unchecked,
 * which takes it modulo 65536, so 99999 started a server on port 34463.)
 */
static void test_srv_config_listen_port_out_of_range(void **state)
{
	fx *f = *state;
	static const char *const listens[] = {"127.0.0.1:99999",
					      "127.0.0.1:65536"};
	char wrong[1024] = "", why[512];
	size_t at = 0;

	for (size_t i = 0; i < sizeof(listens) / sizeof(listens[0]); i++) {
		cf_run_bad_flags(f, ARGV("--listen", listens[i]));
		if (!refused_as(f, 2, "--listen", why, sizeof(why)))
			at += (size_t)snprintf(
				wrong + at, sizeof(wrong) - at,
				"\n  --listen '%s': exit %d%s, stderr [%.*s]",
				listens[i], f->status,
				f->status == CF_STARTED ? " (started)" : "",
				(int)strcspn(f->err, "\n"), f->err);
	}
	if (wrong[0] != '\0')
		fail_msg("wanted exit 2 naming --listen:%s", wrong);
}

/* ---- config files ---------------------------------------------------------------------- */

typedef struct file_case {
	const char *text;
	const char *needle; /* after "config <path>" */
} file_case;

static const file_case bad_files[] = {
	{"listen = 127.0.0.1:0\nbogus = 3\n",
	 " line 2: unknown setting 'bogus'"},
	{"[mtgated]\nthreads = many\n",
	 " line 2: threads: 'many' is not a number of threads from 1 to 256"},
	{"# comment\n\nthreads = 0\n", " line 3: threads: '0' is not"},
	{"max_connections = 0\n", " line 1: max_connections: '0' is not"},
	{"counter_flush_ms = 5\n", " line 1: counter_flush_ms: '5' is not"},
	{"max_charge_cents = 0\n", " line 1: max_charge_cents: '0' is not"},
	{"test_clock = maybe\n", " line 1: test_clock: 'maybe' is not"},
	{"[server]\nthreads = 1\n", ": unknown section [server]"},
	{"threads = 1\njust a line\n", " line 2: not a setting (name = value)"},
	{"threads = 1\nconfig = other.ini\n",
	 " line 2: unknown setting 'config'"},
};

static void test_srv_config_bad_file(void **state)
{
	fx *f = *state;
	char path[700], want[900];

	snprintf(path, sizeof(path), "%s/mtgated.ini", f->s->dir);
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		write_file(path, bad_files[i].text);
		cf_run_bad_flags(f, ARGV("--config", path));
		snprintf(want, sizeof(want), "config %s", path);
		EXPECT_REFUSED(f, 2, want);
		EXPECT_REFUSED(f, 2, bad_files[i].needle);
	}

	/* A file that is not there. */
	snprintf(path, sizeof(path), "%s/no-such.ini", f->s->dir);
	cf_run_bad_flags(f, ARGV("--config", path));
	snprintf(want, sizeof(want), "config %s: cannot open: ", path);
	EXPECT_REFUSED(f, 2, want);
	assert_false(exists(f->s->data));
}

/* ---- a port in use ------------------------------------------------------------------------- */

static void test_srv_config_port_in_use_by_socket(void **state)
{
	fx *f = *state;
	char listen[64], want[128];

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", hold_port(f));
	cf_run_bad_flags(f, ARGV("--threads", "1", "--listen", listen));
	snprintf(want, sizeof(want), "--listen %s: Address already in use",
		 listen);
	EXPECT_REFUSED(f, 1, want);
}

/*
 * Two servers on one port would split the clients between two databases.
 * (A regression test: the core threads share the port with SO_REUSEPORT,
 * and a second mtgated once joined them on it; the port is now bound once
 * without SO_REUSEPORT first.)
 */
static void test_srv_config_port_in_use_by_mtgated(void **state)
{
	fx *f = *state;
	char want[128];

	f->s2 = su_new("srv-cfg-first", "--threads", "1", NULL);
	su_start(f->s2);
	cf_run_bad(f, ARGV("--threads", "1", "--listen", f->s2->addr, "--data",
			   f->s->data));
	snprintf(want, sizeof(want), "--listen %s: Address already in use",
		 f->s2->addr);
	EXPECT_REFUSED(f, 1, want);
	su_stop(f->s2);
}

/* ---- a good config file ------------------------------------------------------------------------ */

/* The config file of the good-file tests, listening on port. Its
 * operator key file (DIR/op.key) holds a fresh key, put in s->key. */
static void good_file(fx *f, int port, char path[700])
{
	char text[2048], key_path[700], line[MTGATE_PROTO_KEY_MAX + 2];

	snprintf(key_path, sizeof(key_path), "%s/op.key", f->s->dir);
	key_make(f->s->key, 0, 1);
	snprintf(line, sizeof(line), "%s\n", f->s->key);
	write_file(key_path, line);
	snprintf(path, 700, "%s/mtgated.ini", f->s->dir);
	snprintf(text, sizeof(text),
		 "; mtgated for test_srv_config\n"
		 "[mtgated]\n"
		 "listen = 127.0.0.1:%d\n"
		 "data = %s\n"
		 "threads = 2\n"
		 "test_clock = true\n"
		 "max_connections = 3\n"
		 "operator_key_file = %s\n"
		 "counter_flush_ms = 50\n"
		 "max_charge_cents = 2000\n",
		 port, f->s->data, key_path);
	write_file(path, text);
}

/* Connections up to limit with key are served; the next is refused. */
static void expect_connection_limit(fx *f, unsigned limit)
{
	mtgate_conn *extra = NULL;

	assert_true(limit < CF_CONNS);
	for (unsigned i = 0; i < limit; i++)
		if (f->c[i] == NULL)
			f->c[i] = su_operator(f->s);
	assert_int_equal(
		mtgate_c_connect(f->s->addr, f->s->key, SU_IO_MS, &extra),
		MTGATE_ESTATUS(MTGATE_ST_TOO_MANY_CONNECTIONS));
	assert_null(extra);
}

/* PROGRAM_PUT of a premium program charging price_cents: 0, or the
 * engine error (its text in c's last error). */
static int premium_put(mtgate_conn *c, const char *kw, uint32_t price_cents)
{
	char confirm[128];
	mtgate_program_def d =
		su_program("88001", kw, "Gold Club", 4, MTGATE_PERIOD_MONTH);
	uint32_t id;

	snprintf(confirm, sizeof(confirm),
		 "Gold Club costs R%u.%02u per month. Reply YES to join.",
		 price_cents / 100, price_cents % 100);
	d.double_opt_in = true;
	d.price_cents = price_cents;
	d.currency = "ZAR";
	d.interval = MTGATE_INTERVAL_MONTHLY;
	d.confirm_text = confirm;
	return mtgate_c_program_put(c, &d, &id);
}

static void test_srv_config_good_file(void **state)
{
	fx *f = *state;
	const mtgate_wire_hello_resp *hello;
	char path[700], want[64];
	int port = free_port(f);

	good_file(f, port, path);
	if (cf_run(f, f->s, ARGV("--config", path)) != CF_STARTED)
		run_failed(f, __LINE__, "the server did not start");
	snprintf(want, sizeof(want), "mtgated ready 127.0.0.1:%d\n", port);
	if (strstr(f->err, want) == NULL)
		run_failed(f, __LINE__, want);
	assert_int_equal(f->s->port, port);

	/* data, operator_key_file: the key from the file works, and none
	 * was made in the data directory. */
	f->c[0] = su_operator(f->s);
	hello = mtgate_c_hello(f->c[0]);
	assert_int_equal(hello->role, MTGATE_ROLE_OPERATOR);
	assert_true(exists(f->s->data));
	snprintf(path, sizeof(path), "%s/operator.key", f->s->data);
	assert_false(exists(path));
	/* threads, test_clock, max_connections */
	assert_int_equal(hello->threads, 2);
	assert_int_equal(hello->test_clock, 1);
	assert_int_equal(su_clock(f->c[0], MTGATE_CLOCK_SET, SU_T0), SU_T0);
	/* max_charge_cents */
	assert_int_equal(premium_put(f->c[0], "GOLD", 2001),
			 MTGATE_EPROGRAM_RULE);
	assert_string_equal(mtgate_c_last_error(f->c[0]),
			    "PROG-5: price 2001 cents is over the operator "
			    "maximum of 2000");
	assert_int_equal(premium_put(f->c[0], "GOLD", 2000), 0);
	expect_connection_limit(f, 3);
	for (int i = 0; i < CF_CONNS; i++) {
		mtgate_c_close(f->c[i]);
		f->c[i] = NULL;
	}
	su_stop(f->s);
}

/*
 * The same file with every setting also on the command line, --threads
 * before --config: the command line wins. The file's port is held by a
 * plain socket, so a server that took the file's listen would not start.
 */
static void test_srv_config_flags_override_file(void **state)
{
	fx *f = *state;
	char path[700], key2_path[700], key2[MTGATE_PROTO_KEY_MAX + 2];
	char key1[MTGATE_PROTO_KEY_MAX + 1];
	const mtgate_wire_hello_resp *hello;
	mtgate_conn *c = NULL;
	int64_t now = 0;

	good_file(f, hold_port(f), path);
	memcpy(key1, f->s->key, sizeof(key1));
	key_make(f->s->key, 0, 2);
	snprintf(key2_path, sizeof(key2_path), "%s/op2.key", f->s->dir);
	snprintf(key2, sizeof(key2), "%s\n", f->s->key);
	write_file(key2_path, key2);

	if (cf_run(f, f->s,
		   ARGV("--threads", "1", "--config", path, "--listen",
			"127.0.0.1:0", "--test-clock=false",
			"--max-connections", "5", "--operator-key-file",
			key2_path, "--max-charge-cents=3000")) != CF_STARTED)
		run_failed(f, __LINE__, "the server did not start");

	f->c[0] = su_operator(f->s); /* the command line's key */
	hello = mtgate_c_hello(f->c[0]);
	assert_int_equal(hello->threads, 1);
	assert_int_equal(hello->test_clock, 0);
	assert_int_equal(mtgate_c_clock(f->c[0], MTGATE_CLOCK_SET, SU_T0, &now),
			 MTGATE_ESTATUS(MTGATE_ST_CLOCK_DISABLED));
	assert_int_equal(mtgate_c_connect(f->s->addr, key1, SU_IO_MS, &c),
			 MTGATE_ESTATUS(MTGATE_ST_AUTH_FAILED));
	assert_null(c);
	assert_int_equal(premium_put(f->c[0], "GOLD", 3000), 0);
	assert_int_equal(premium_put(f->c[0], "PLATINUM", 3001),
			 MTGATE_EPROGRAM_RULE);
	expect_connection_limit(f, 5);
	for (int i = 0; i < CF_CONNS; i++) {
		mtgate_c_close(f->c[i]);
		f->c[i] = NULL;
	}
	su_stop(f->s);
}

/* ---- --operator-key-file ------------------------------------------------------------------------ */

static void test_srv_config_operator_key_file_bad(void **state)
{
	fx *f = *state;
	char path[700], want[900], key[MTGATE_PROTO_KEY_MAX + 2];
	const char *texts[] = {"garbage\n", NULL, NULL};

	key_make(key, 1, 3); /* a tenant's key is not the operator's */
	texts[1] = key;
	snprintf(path, sizeof(path), "%s/op.key", f->s->dir);
	for (int i = 0; texts[i] != NULL; i++) {
		write_file(path, texts[i]);
		cf_run_bad_flags(
			f, ARGV("--threads", "1", "--operator-key-file", path));
		snprintf(want, sizeof(want),
			 "operator key %s: not an operator key", path);
		EXPECT_REFUSED(f, 1, want);
	}
	snprintf(path, sizeof(path), "%s/no-such.key", f->s->dir);
	cf_run_bad_flags(f,
			 ARGV("--threads", "1", "--operator-key-file", path));
	snprintf(want, sizeof(want), "operator key %s: No such file", path);
	EXPECT_REFUSED(f, 1, want);
}

static void test_srv_config_operator_key_file_good(void **state)
{
	fx *f = *state;
	char path[700], text[MTGATE_PROTO_KEY_MAX + 2];
	char other[MTGATE_PROTO_KEY_MAX + 1];
	mtgate_conn *c = NULL;
	uint32_t id = 0;
	char tkey[MTGATE_PROTO_KEY_MAX + 1];

	key_make(f->s->key, 0, 4);
	key_make(other, 0, 5);
	snprintf(path, sizeof(path), "%s/op.key", f->s->dir);
	snprintf(text, sizeof(text), "%s\n", f->s->key);
	write_file(path, text);
	if (cf_run(f, f->s,
		   ARGV("--listen", "127.0.0.1:0", "--data", f->s->data,
			"--threads", "1", "--operator-key-file", path)) !=
	    CF_STARTED)
		run_failed(f, __LINE__, "the server did not start");

	/* HELLO with it: the operator (TENANT_ADD is operator only). */
	f->c[0] = su_operator(f->s);
	assert_int_equal(mtgate_c_hello(f->c[0])->role, MTGATE_ROLE_OPERATOR);
	assert_int_equal(mtgate_c_tenant_add(f->c[0], "Acme", &id, tkey), 0);
	assert_true(id > 0);
	/* Another well-formed operator key is refused; none was written. */
	assert_int_equal(mtgate_c_connect(f->s->addr, other, SU_IO_MS, &c),
			 MTGATE_ESTATUS(MTGATE_ST_AUTH_FAILED));
	assert_null(c);
	snprintf(path, sizeof(path), "%s/operator.key", f->s->data);
	assert_false(exists(path));
	mtgate_c_close(f->c[0]);
	f->c[0] = NULL;
	su_stop(f->s);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_srv_config_help),
		T(test_srv_config_bad_flags),
		T(test_srv_config_bad_listen),
		T(test_srv_config_listen_port_out_of_range),
		T(test_srv_config_bad_file),
		T(test_srv_config_port_in_use_by_socket),
		T(test_srv_config_port_in_use_by_mtgated),
		T(test_srv_config_good_file),
		T(test_srv_config_flags_override_file),
		T(test_srv_config_operator_key_file_bad),
		T(test_srv_config_operator_key_file_good),
	};
#undef T

	return cmocka_run_group_tests_name("srv_config", tests, NULL, NULL);
}

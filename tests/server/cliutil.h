/*
 * cliutil: the harness of the CLI tests (tests/server/test_srv_*cli.c): the
 * real mtgate binary (MTGATE_CLI_PATH, compiled in by CMake) run in a child
 * process against a real mtgated (srvutil.h), its stdout, stderr and exit
 * status read back and checked against the CLI's output contract.
 *
 * A test file keeps one fx for the whole file (cu_group_setup starts its
 * clocked server; test_teardown, run after every test, kills a CLI still
 * running and removes what the test made; group_teardown stops the
 * server). CLI(f, args...) runs the CLI as the operator of that server;
 * EXPECT and EXPECT_ERROR check a run as the contract has it.
 *
 * Output goes to files, never pipes, so a CLI can never block on them;
 * every run is bounded (CLI_RUN_MS) and every child is reaped.
 *
 * Everything is static inline (see srvutil.h).
 */
#ifndef MTGATE_CLIUTIL_H
#define MTGATE_CLIUTIL_H

#include "srvutil.h"

#ifndef MTGATE_CLI_PATH
#error "MTGATE_CLI_PATH must name the mtgate CLI binary"
#endif

#define CLI_RUN_MS   20000 /* longest one CLI run may take */
#define CLI_ARGS_MAX 40
#define CLI_CMD_MAX  1024

/* Test times, and how the CLI prints them. */
#define T0_TEXT "2026-03-15T12:00:00Z" /* SU_T0 */

/* A NULL-terminated list of strings, for argv and environment lists. */
#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

typedef struct fx {
	su_server *s;     /* --test-clock, for the whole file */
	su_server *other; /* a second server, for one test */
	char *work;       /* a working directory for the CLI, for one test */
	int dead_fd;      /* bound, not listening: connections are refused */
	char dead[64];    /* "127.0.0.1:PORT" of dead_fd */
	char other_listen[64];
	pid_t child;    /* a CLI still running */
	int status;     /* the last run: exit status (128 + signal) */
	char *out;      /* its stdout */
	char *err;      /* its stderr */
	int64_t run_ms; /* its wall time */
	char cmd[CLI_CMD_MAX];
	char out_path[700], err_path[700];
} fx;

/* ---- fixtures ---------------------------------------------------------------- */

static inline int cu_group_setup(void **state, const char *tag)
{
	fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->dead_fd = -1;
	*state = f;
	f->s = su_new(tag, "--threads", "2", "--test-clock", NULL);
	su_start(f->s);
	snprintf(f->out_path, sizeof(f->out_path), "%s/cli.out", f->s->dir);
	snprintf(f->err_path, sizeof(f->err_path), "%s/cli.err", f->s->dir);
	return 0;
}

/* After every test, failed or not: what the test made goes. */
static inline int test_teardown(void **state)
{
	fx *f = *state;
	int st;

	if (f->child > 0) {
		kill(f->child, SIGKILL);
		while (waitpid(f->child, &st, 0) < 0 && errno == EINTR)
			;
		f->child = 0;
	}
	su_free(f->other);
	f->other = NULL;
	if (f->work != NULL) {
		tu_rmrf(f->work);
		free(f->work);
		f->work = NULL;
	}
	if (f->dead_fd >= 0)
		close(f->dead_fd);
	f->dead_fd = -1;
	free(f->out);
	free(f->err);
	f->out = f->err = NULL;
	return 0;
}

static inline int group_teardown(void **state)
{
	fx *f = *state;

	if (f == NULL)
		return 0;
	test_teardown(state);
	su_free(f->s);
	free(f);
	return 0;
}

/* A loopback port where nothing listens (and nothing else may bind while
 * the test runs): connections to f->dead are refused at once. */
static inline void dead_port(fx *f)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->dead_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->dead_fd >= 0);
	assert_int_equal(bind(f->dead_fd, (struct sockaddr *)&sa, sizeof(sa)),
			 0);
	assert_int_equal(getsockname(f->dead_fd, (struct sockaddr *)&sa, &len),
			 0);
	snprintf(f->dead, sizeof(f->dead), "127.0.0.1:%d", ntohs(sa.sin_port));
}

static inline void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* A working directory for the CLI; with key, it holds
 * mtgate-data/operator.key (the default key file) with that text. */
static inline const char *work_dir(fx *f, const char *key)
{
	char path[800];

	if (f->work == NULL)
		f->work = tu_tmpdir("srv-cli-work");
	if (key != NULL) {
		snprintf(path, sizeof(path), "%s/mtgate-data", f->work);
		assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
		snprintf(path, sizeof(path), "%s/mtgate-data/operator.key",
			 f->work);
		write_file(path, key);
	}
	return f->work;
}

/* ---- running the CLI ---------------------------------------------------------- */

/* Our environment without MTGATE_SERVER and MTGATE_KEY (the test decides
 * them), plus add. Pointers into ours and add; free the array only. */
static inline char **cli_env(const char *const *add)
{
	extern char **environ;
	size_t n = 0, m = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	while (add != NULL && add[m] != NULL)
		m++;
	env = calloc(n + m + 1, sizeof(*env));
	assert_non_null(env);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "MTGATE_SERVER=", 14) != 0 &&
		    strncmp(environ[i], "MTGATE_KEY=", 11) != 0)
			env[k++] = environ[i];
	for (size_t i = 0; i < m; i++)
		env[k++] = (char *)add[i];
	env[k] = NULL;
	return env;
}

/* The command line, for failure messages (the keys shortened). */
static inline void cli_describe(fx *f, const char *const *argv)
{
	size_t at = 0;

	f->cmd[0] = '\0';
	for (int i = 1; argv[i] != NULL && at < sizeof(f->cmd) - 1; i++) {
		const char *a = argv[i];
		if (strncmp(a, "mtk_", 4) == 0)
			a = "<key>";
		at += (size_t)snprintf(f->cmd + at, sizeof(f->cmd) - at,
				       "%s'%s'", i > 1 ? " " : "mtgate ", a);
	}
}

/* Start the CLI with args in cwd (NULL: ours) with env added to our
 * environment; stdout and stderr to files. f->child is the process. */
static inline void cli_spawn(fx *f, const char *cwd, const char *const *env,
			     const char *const *args)
{
	const char *argv[CLI_ARGS_MAX + 1];
	char **envp = cli_env(env);
	int n = 0;
	pid_t pid;

	assert_int_equal(f->child, 0);
	argv[n++] = MTGATE_CLI_PATH;
	for (; args[n - 1] != NULL; n++) {
		assert_true(n < CLI_ARGS_MAX);
		argv[n] = args[n - 1];
	}
	argv[n] = NULL;
	cli_describe(f, argv);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The child: async-signal-safe calls only, then exec. */
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int out = open(f->out_path,
			       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int err = open(f->err_path,
			       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 ||
		    dup2(out, 1) < 0 || dup2(err, 2) < 0 ||
		    (cwd != NULL && chdir(cwd) < 0))
			_exit(126);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execve(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	free(envp);
	f->child = pid;
}

/* Wait for the CLI (at most CLI_RUN_MS from started) and read what it
 * wrote. Returns its exit status. */
static inline int cli_wait(fx *f, int64_t started)
{
	int64_t deadline = started + CLI_RUN_MS;
	int st = 0;
	pid_t r;

	for (;;) {
		r = waitpid(f->child, &st, WNOHANG);
		if (r == f->child)
			break;
		if (r < 0 && errno != EINTR)
			fail_msg("waitpid: %s", strerror(errno));
		if (su_mono_ms() > deadline)
			fail_msg("%s did not exit within %d ms", f->cmd,
				 CLI_RUN_MS); /* teardown kills it */
		su_nap_ms(1);
	}
	f->child = 0;
	f->run_ms = su_mono_ms() - started;
	f->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	free(f->out);
	free(f->err);
	f->out = su_read_file(f->out_path, NULL);
	f->err = su_read_file(f->err_path, NULL);
	assert_non_null(f->out);
	assert_non_null(f->err);
	return f->status;
}

static inline int cli_exec(fx *f, const char *cwd, const char *const *env,
			   const char *const *args)
{
	int64_t started = su_mono_ms();

	cli_spawn(f, cwd, env, args);
	return cli_wait(f, started);
}

/* Run with --server and --key of server s before args. */
static inline int cli_as(fx *f, const su_server *s, const char *key,
			 const char *const *args)
{
	const char *argv[CLI_ARGS_MAX];
	int n = 0;

	argv[n++] = "--server";
	argv[n++] = s->addr;
	argv[n++] = "--key";
	argv[n++] = key;
	for (int i = 0; args[i] != NULL; i++) {
		assert_true(n < CLI_ARGS_MAX - 1);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	return cli_exec(f, NULL, NULL, argv);
}

/* The operator on the file's server; args as a list. */
#define CLI(f, ...)        cli_as((f), (f)->s, (f)->s->key, ARGV(__VA_ARGS__))
#define CLI_KEY(f, k, ...) cli_as((f), (f)->s, (k), ARGV(__VA_ARGS__))
/* Exactly these args, in cwd, with env. */
#define CLI_RAW(f, cwd, env, ...) cli_exec((f), (cwd), (env), ARGV(__VA_ARGS__))

/* ---- what a run must have done ------------------------------------------------------ */

static inline void run_failed(fx *f, int line, const char *what)
{
	fail_msg("line %d: %s\n  ran: %s\n  exit %d\n  stdout: [%s]\n"
		 "  stderr: [%s]",
		 line, what, f->cmd, f->status, f->out, f->err);
}

/* Exit status and exactly this stdout; nothing on stderr. */
static inline void expect_run(fx *f, int status, const char *out, int line)
{
	char what[512];

	snprintf(what, sizeof(what),
		 "wanted exit %d, stdout [%.400s], no stderr", status, out);
	if (f->status != status || strcmp(f->out, out) != 0 ||
	    f->err[0] != '\0')
		run_failed(f, line, what);
}
#define EXPECT(f, status, out) expect_run((f), (status), (out), __LINE__)

/* An error as the CLI's contract has it: exit 2, nothing on stdout, one
 * line "error: ..." on stderr that contains needle. */
static inline void expect_error(fx *f, const char *needle, int line)
{
	char what[512];
	size_t n = strlen(f->err);

	snprintf(what, sizeof(what),
		 "wanted exit 2, no stdout, one line 'error: ...%s...' on "
		 "stderr",
		 needle);
	if (f->status != 2 || f->out[0] != '\0' ||
	    strncmp(f->err, "error: ", 7) != 0 || n == 0 ||
	    strchr(f->err, '\n') != f->err + n - 1 ||
	    strstr(f->err, needle) == NULL)
		run_failed(f, line, what);
}
#define EXPECT_ERROR(f, needle) expect_error((f), (needle), __LINE__)

/* stdout is "program <ID> label\n": the id. */
static inline unsigned expect_program_line(fx *f, const char *label, int line)
{
	char want[128];
	unsigned id = 0;
	int end = 0;

	snprintf(want, sizeof(want), " %s\n", label);
	if (f->status != 0 || f->err[0] != '\0' ||
	    sscanf(f->out, "program %u%n", &id, &end) != 1 ||
	    strcmp(f->out + end, want) != 0 || id == 0)
		run_failed(f, line, "wanted 'program <ID> SC:KW'");
	return id;
}
#define EXPECT_PROGRAM(f, label) expect_program_line((f), (label), __LINE__)

/* su_texts_for a program called name with limit "N/day", "N/week" or
 * "N/month" ("one-off": none). */
static inline void texts_for_limit(su_texts *t, const char *name,
				   const char *limit)
{
	mtgate_period p = MTGATE_PERIOD_NONE;
	char per[16] = "";
	unsigned n = 0;

	if (sscanf(limit, "%u/%15s", &n, per) == 2)
		p = strcmp(per, "day") == 0    ? MTGATE_PERIOD_DAY
		    : strcmp(per, "week") == 0 ? MTGATE_PERIOD_WEEK
					       : MTGATE_PERIOD_MONTH;
	su_texts_for(t, name, n, p);
}

/* A recurring program called name as the operator, through the CLI, with
 * texts that keep the PROG rules. */
static inline void program_add_named(fx *f, const char *sc, const char *kw,
				     const char *name, const char *limit,
				     const char *tz)
{
	char label[64];
	su_texts t;

	texts_for_limit(&t, name, limit);
	snprintf(label, sizeof(label), "%s:%s", sc, kw);
	CLI(f, "program", "add", "--short-code", sc, "--keyword", kw, "--name",
	    name, "--limit", limit, "--tz", tz, "--welcome", t.welcome,
	    "--help-text", t.help, "--quit-text", t.quit);
	EXPECT_PROGRAM(f, label);
}

static inline void program_add(fx *f, const char *sc, const char *kw,
			       const char *limit, const char *tz)
{
	program_add_named(f, sc, kw, "CLI test program", limit, tz);
}

static inline void clock_set(fx *f, const char *when)
{
	CLI(f, "clock", "set", when);
	if (f->status != 0 || f->err[0] != '\0')
		run_failed(f, __LINE__, "clock set failed");
}

#endif

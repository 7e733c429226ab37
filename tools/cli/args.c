/*
 * CLI argument parsing: a small long-option parser driven by a table per
 * command (cli_spec), and the subcommand dispatch of command groups.
 *
 * Rules: "--opt VALUE" and "--opt=VALUE"; flags take no value; an option
 * may be given once; "--" ends the options; "-h" is "--help". A value that
 * looks like an option ("--" and a letter) is taken as a missing value, so
 * "--name --tz UTC" is an error, not a program named "--tz"; write
 * "--name=--tz" to mean it. The first problem is kept and reported only if
 * no --help follows, so "--help" always shows the usage.
 */
#include <stdarg.h>
#include <string.h>

#include "cli/cli.h"

#define CLI_MSG_MAX 256

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("error: ", stderr);
	if (cmd != NULL)
		fprintf(stderr, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_ERR;
}

static bool looks_like_option(const char *a)
{
	return a[0] == '-' && a[1] == '-' &&
	       ((a[2] >= 'a' && a[2] <= 'z') || (a[2] >= 'A' && a[2] <= 'Z'));
}

static const cli_opt *opt_find(const cli_opt *opts, const char *name,
			       size_t len)
{
	for (; opts != NULL && opts->name != NULL; opts++)
		if (strlen(opts->name) == len &&
		    strncmp(opts->name, name, len) == 0)
			return opts;
	return NULL;
}

/* Parse state: the first problem, kept until the end. */
typedef struct parse_state {
	char err[CLI_MSG_MAX];
	bool help;
} parse_state;

static void problem(parse_state *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(parse_state *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err, sizeof(ps->err), fmt, ap);
	va_end(ap);
}

/* One "--name[=value]" at argv[*i]; may consume the next argument. */
static void parse_option(const cli_spec *s, int argc, char **argv, int *i,
			 parse_state *ps)
{
	const char *arg = argv[*i], *eq = strchr(arg, '='), *val = NULL;
	size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	const cli_opt *o = opt_find(s->opts, arg, len);

	if (o == NULL) {
		problem(ps, "unknown option '%s'", arg);
		return;
	}
	if (o->flag != NULL) {
		if (eq != NULL)
			problem(ps, "option '%s' takes no value", o->name);
		*o->flag = true;
		return;
	}
	if (eq != NULL)
		val = eq + 1;
	else if (*i + 1 < argc && !looks_like_option(argv[*i + 1]))
		val = argv[++*i];
	if (val == NULL) {
		problem(ps, "option '%s' needs a value", o->name);
		return;
	}
	if (*o->value != NULL)
		problem(ps, "option '%s' is given twice", o->name);
	*o->value = val;
}

static void parse_all(const cli_spec *s, int argc, char **argv,
		      const char **pos, int *npos, parse_state *ps)
{
	bool opts_done = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!opts_done &&
		    (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
			ps->help = true;
		} else if (!opts_done && strcmp(a, "--") == 0) {
			opts_done = true;
		} else if (!opts_done && a[0] == '-' && a[1] != '\0') {
			if (a[1] == '-')
				parse_option(s, argc, argv, &i, ps);
			else
				problem(ps, "unknown option '%s'", a);
		} else if (*npos < s->pos_max) {
			pos[(*npos)++] = a;
		} else {
			problem(ps, "unexpected argument '%s'", a);
		}
	}
}

bool cli_parse(const cli_spec *s, int argc, char **argv, const char **pos,
	       int *npos, int *rc)
{
	parse_state ps = {0};

	*npos = 0;
	parse_all(s, argc, argv, pos, npos, &ps);
	if (ps.help) {
		fputs(s->usage, stdout);
		*rc = CLI_OK;
		return false;
	}
	if (ps.err[0] == '\0' && *npos < s->pos_min)
		problem(&ps, "missing arguments: expected %s", s->pos_names);
	if (ps.err[0] != '\0') {
		*rc = cli_usage_error(s->cmd, "%s", ps.err);
		return false;
	}
	return true;
}

int cli_dispatch(cli_ctx *cx, const char *group, const char *usage,
		 const cli_cmd *cmds, size_t n, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (sub == NULL) {
		fprintf(stderr, "error: %s: missing subcommand (one of", group);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %s", cmds[i].name);
		fputs("; see --help)\n", stderr);
		return CLI_ERR;
	}
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
	    strcmp(sub, "help") == 0) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(cmds[i].name, sub) == 0)
			return cmds[i].run(cx, argc - 1, argv + 1);
	return cli_usage_error(group, "unknown subcommand '%s'", sub);
}

/*
 * The mtgate CLI's shared parts: what tools/mtgate.c (global flags and
 * dispatch) and the command groups in tools/cli/ use.
 *
 * Output contract (scripts depend on it): results go to stdout in the words
 * each command's --help names; every problem goes to stderr as one line
 * "error: <message>" (import and deactivate-list also report each bad
 * line of their file as "line <N>: <reason>"). Exit codes: CLI_OK (0)
 * done, CLI_DENY (1) a check denied, or lines of an import or list
 * rejected, CLI_ERR (2) any error, including bad arguments.
 *
 * Ownership: main owns the one cli_ctx of a run. The connection is opened
 * on first use (cli_connect) and closed by main. Strings in cli_ctx point
 * into argv, the environment or key_buf; nothing here is freed by hand.
 *
 * Modules: args.c (option parsing, usage errors), common.c (connecting,
 * error reporting, numbers, SC:KW, program labels, names of values),
 * timefmt.c (RFC 3339 times and durations), cmd_*.c (one command group
 * each; cmd_rules.c: mo, doi, bill, reminders, shortcode; cmd_bulk.c:
 * import, deactivate-list; cmd_audit.c: audit, export, summary, status,
 * feed), csvread.c (CSV files as records with line numbers, over
 * libcsv), import_row.c (an import line checked, no network).
 */
#ifndef MTGATE_CLI_H
#define MTGATE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mtgate/client.h"

enum { CLI_OK = 0, CLI_DENY = 1, CLI_ERR = 2 };

#define CLI_KEY_FILE_MAX    4096 /* bytes read from a key file */
#define CLI_TIMEOUT_MS      10000
#define CLI_DEFAULT_SERVER  "127.0.0.1:7411"
#define CLI_DEFAULT_KEYFILE "./mtgate-data/operator.key"

typedef struct cli_ctx {
	const char *server;    /* HOST:PORT */
	const char *key;       /* --key or MTGATE_KEY; wins over key_file */
	const char *key_file;  /* --key-file, or the default file */
	bool key_file_default; /* key_file is the default: may be missing */
	int timeout_ms;
	mtgate_conn *conn; /* opened by cli_connect */
	char key_buf[CLI_KEY_FILE_MAX + 1];
} cli_ctx;

/* A command; argv[0] is its name. Returns the exit code. */
typedef int (*cli_run_fn)(cli_ctx *cx, int argc, char **argv);

typedef struct cli_cmd {
	const char *name;
	cli_run_fn run;
} cli_cmd;

/* ---- arguments (args.c) ------------------------------------------------------ */

/* One option: a value (stored in *value) or a flag (sets *flag). */
typedef struct cli_opt {
	const char *name; /* "--limit" */
	const char **value;
	bool *flag;
} cli_opt;

typedef struct cli_spec {
	const char *cmd;     /* "program add": names the command in errors */
	const char *usage;   /* the --help text */
	const cli_opt *opts; /* ends with an entry whose name is NULL */
	int pos_min, pos_max;
	const char *pos_names; /* "NUMBER SC:KW", for "missing" messages */
} cli_spec;

/*
 * Parse argv[1 .. argc) by s: "--opt VALUE", "--opt=VALUE", flags, "--"
 * and up to s->pos_max positionals into pos[]. --help (or -h) anywhere
 * prints s->usage to stdout and wins over every other problem. Returns
 * true to run the command; false with *rc set (CLI_OK after --help,
 * CLI_ERR after an error, printed) to stop.
 */
bool cli_parse(const cli_spec *s, int argc, char **argv, const char **pos,
	       int *npos, int *rc);

/* Run the subcommand of a group ("program add ..."): argv[0] is the group,
 * argv[1] the subcommand. Handles --help, a missing and an unknown one. */
int cli_dispatch(cli_ctx *cx, const char *group, const char *usage,
		 const cli_cmd *cmds, size_t n, int argc, char **argv);

/* Print "error: <cmd>: <message>" (cmd may be NULL). Returns CLI_ERR. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- connecting and errors (common.c) ------------------------------------------ */

/* Open cx->conn if it is not open: with the key when auth, else without
 * (PING only). Prints the problem and returns CLI_ERR, or returns 0. */
int cli_connect(cli_ctx *cx, bool auth);
/* Report a failed mtgate_c_connect (naming the address). Returns CLI_ERR. */
int cli_connect_error(cli_ctx *cx, int err);

/* Print "error: <mtgate_strerror(err)>", with the server's text when it
 * adds something; for MTGATE_EPROGRAM_RULE just "error: <the server's
 * text>" (`PROG-1: welcome text lacks ...`). Returns CLI_ERR. */
int cli_fail(cli_ctx *cx, int err);

/* Write s with control characters and backslashes escaped (\n, \t, \xNN),
 * so that a value stays on its line. */
void cli_put_text(FILE *f, const char *s);

/* fsync the directory that holds path, so that a rename or a new name in
 * it is durable. 0, or -1 with errno. */
int cli_sync_dir_of(const char *path);

/* ---- values (common.c) ------------------------------------------------------------------ */

/* mtgate_number_parse with country code 1; prints the problem. */
int cli_number(const char *cmd, const char *text, uint64_t *out);

/* "SC:KW" into sc and kw, checked as the engine checks them. With
 * allow_all, keyword "ALL" (any case) sets *all instead. Prints the
 * problem. */
#define CLI_SC_SIZE (MTGATE_SHORTCODE_MAX + 1)
#define CLI_KW_SIZE (MTGATE_KEYWORD_MAX + 1)
int cli_sckw(const char *cmd, const char *text, char sc[CLI_SC_SIZE],
	     char kw[CLI_KW_SIZE], bool allow_all, bool *all);

/* s is 1 to max ASCII letters or digits (a short code or keyword). */
bool cli_alnum(const char *s, size_t max);

/* PROGRAM_GET by short code and keyword: the id, or the error unprinted. */
int cli_program_id(cli_ctx *cx, const char *sc, const char *kw,
		   uint32_t *id_out);
/* The same, printing the problem: an unknown program is "unknown program
 * <text>". Returns 0 or CLI_ERR. */
int cli_program_resolve(cli_ctx *cx, const char *text, const char *sc,
			const char *kw, uint32_t *id);

/* Every consent of number (QUERY, asked again while the set grows): a
 * malloc'd array of *n_out into *recs_out (free it), and the
 * deactivation into *deact. 0, or CLI_ERR printed. */
int cli_query(cli_ctx *cx, const char *cmd, uint64_t number,
	      mtgate_consent **recs_out, size_t *n_out,
	      mtgate_deactivation *deact);

/* SC:KW labels of program ids seen in this run, looked up once each with
 * PROGRAM_GET. Zero-initialised; freed with cli_labels_free. */
#define CLI_LABEL_SIZE (CLI_SC_SIZE + CLI_KW_SIZE + 16)
typedef struct cli_labels {
	uint32_t *ids;
	char (*labels)[CLI_LABEL_SIZE];
	size_t n, cap;
} cli_labels;
/* The SC:KW of program id; a program the server no longer knows is
 * program#ID. Owned by lc. NULL after an error (printed, *rc set). */
const char *cli_label_of(cli_ctx *cx, cli_labels *lc, uint32_t id, int *rc);
void cli_labels_free(cli_labels *lc);

/* Lower-case channel names ("mo", "api", ...; "-" for none) and back. */
const char *cli_channel_name(mtgate_channel ch);
int cli_channel_parse(const char *s, mtgate_channel *out);
/* A double opt-in's channel: sms (an MO), web, ivr, pos, ussd, wap, mms. */
int cli_doi_channel_parse(const char *s, mtgate_channel *out);
/* "NONE", "OPTED_IN", "OPTED_OUT", "PENDING". */
const char *cli_state_name(mtgate_state st);
/* "disconnect", "port" ("none" for none) and back. */
const char *cli_deact_name(mtgate_deact_reason r);
int cli_deact_parse(const char *s, mtgate_deact_reason *out);

/* ---- times (timefmt.c) ------------------------------------------------------------------ */

#define CLI_TIME_SIZE 32

/* RFC 3339 ("2026-11-23T13:11:44Z", "...T08:11:44.5-05:00") to ms since
 * the epoch. Returns 0 or -1. */
int cli_time_parse(const char *s, int64_t *ms_out);
/* ms since the epoch as RFC 3339 UTC to the second. Returns buf. */
char *cli_time_format(int64_t ms, char buf[CLI_TIME_SIZE]);
/* The same with the milliseconds (".250") when there are any, so that
 * cli_time_parse gives ms back exactly. */
char *cli_time_format_ms(int64_t ms, char buf[CLI_TIME_SIZE]);
/* "30m", "24h", "31d", "90s", "2w", "500ms", "1h30m" to ms (at most 100
 * years). Returns 0 or -1. */
int cli_duration_parse(const char *s, int64_t *ms_out);

/* ---- command groups (cmd_*.c) ------------------------------------------------------------ */

int cli_cmd_ping(cli_ctx *cx, int argc, char **argv);
int cli_cmd_tenant(cli_ctx *cx, int argc, char **argv);
int cli_cmd_clock(cli_ctx *cx, int argc, char **argv);
int cli_cmd_stats(cli_ctx *cx, int argc, char **argv);
int cli_cmd_program(cli_ctx *cx, int argc, char **argv);
int cli_cmd_check(cli_ctx *cx, int argc, char **argv);
int cli_cmd_optin(cli_ctx *cx, int argc, char **argv);
int cli_cmd_optout(cli_ctx *cx, int argc, char **argv);
int cli_cmd_deactivate(cli_ctx *cx, int argc, char **argv);
int cli_cmd_query(cli_ctx *cx, int argc, char **argv);
int cli_cmd_mo(cli_ctx *cx, int argc, char **argv);
int cli_cmd_doi(cli_ctx *cx, int argc, char **argv);
int cli_cmd_bill(cli_ctx *cx, int argc, char **argv);
int cli_cmd_reminders(cli_ctx *cx, int argc, char **argv);
int cli_cmd_shortcode(cli_ctx *cx, int argc, char **argv);
/* cmd_bulk.c */
int cli_cmd_import(cli_ctx *cx, int argc, char **argv);
int cli_cmd_deactivate_list(cli_ctx *cx, int argc, char **argv);
/* cmd_audit.c */
int cli_cmd_audit(cli_ctx *cx, int argc, char **argv);
int cli_cmd_export(cli_ctx *cx, int argc, char **argv);
int cli_cmd_summary(cli_ctx *cx, int argc, char **argv);
int cli_cmd_status(cli_ctx *cx, int argc, char **argv);
int cli_cmd_feed(cli_ctx *cx, int argc, char **argv);

#endif

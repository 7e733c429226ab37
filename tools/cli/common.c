/*
 * CLI common parts: the key, the connection, error reporting, and the
 * values every command reads or prints (numbers, SC:KW, program labels,
 * channel, state and deactivation names).
 *
 * The key comes from --key, --key-file, MTGATE_KEY or, when none is given,
 * ./mtgate-data/operator.key if it is readable (main decides which). A key
 * file is read once, at most CLI_KEY_FILE_MAX bytes, and trimmed of white
 * space around it. Keys are never printed.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"

void cli_put_text(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '\t')
			fputs("\\t", f);
		else if (ch == '\\')
			fputs("\\\\", f);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
}

int cli_fail(cli_ctx *cx, int err)
{
	const char *msg = mtgate_strerror(err);
	const char *text = cx->conn ? mtgate_c_last_error(cx->conn) : "";

	/* A PROG rule's text is the whole message: "PROG-1: welcome text
	 * lacks ...", without the generic words before it. */
	if (err == MTGATE_EPROGRAM_RULE && text[0] != '\0') {
		fputs("error: ", stderr);
		cli_put_text(stderr, text);
		fputc('\n', stderr);
		return CLI_ERR;
	}
	fprintf(stderr, "error: %s", msg);
	/* The server's text names the problem more closely, unless it only
	 * repeats the code's own words. CLOCK_DISABLED's words are fixed. */
	if (text[0] != '\0' && strcmp(text, msg) != 0 &&
	    err != MTGATE_ESTATUS(MTGATE_ST_CLOCK_DISABLED)) {
		fputs(": ", stderr);
		cli_put_text(stderr, text);
	}
	fputc('\n', stderr);
	return CLI_ERR;
}

int cli_sync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	int fd, rc;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if ((size_t)(slash - path) >= sizeof(dir))
		return -1;
	else
		snprintf(dir, sizeof(dir), "%.*s",
			 slash == path ? 1 : (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* ---- the key ------------------------------------------------------------------ */

/* Up to cap bytes from fd, to its end (a pipe may give them in parts). */
static ssize_t read_all(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap) {
		n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Read and trim the key file into cx->key_buf. 0, 1 (the default file is
 * not there or is empty: no key) or CLI_ERR (printed). */
static int key_file_read(cli_ctx *cx)
{
	char *b = cx->key_buf, *end;
	ssize_t n;
	int fd;

	fd = open(cx->key_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && cx->key_file_default)
		return 1;
	if (fd < 0)
		return cli_usage_error(NULL, "cannot read key file '%s': %s",
				       cx->key_file, strerror(errno));
	n = read_all(fd, b, CLI_KEY_FILE_MAX + 1);
	close(fd);
	if (n < 0 || n > CLI_KEY_FILE_MAX)
		return cli_usage_error(NULL, "cannot read key file '%s': %s",
				       cx->key_file,
				       n < 0 ? strerror(errno) : "too large");
	for (end = b + n; end > b && isspace((unsigned char)end[-1]); end--)
		;
	*end = '\0';
	while (isspace((unsigned char)*b))
		b++;
	if (*b == '\0')
		return cx->key_file_default
			       ? 1
			       : cli_usage_error(NULL, "key file '%s' is empty",
						 cx->key_file);
	memmove(cx->key_buf, b, strlen(b) + 1);
	cx->key = cx->key_buf;
	return 0;
}

int cli_connect_error(cli_ctx *cx, int err)
{
	if (err == MTGATE_ECONNECT)
		return cli_usage_error(NULL, "%s at %s", mtgate_strerror(err),
				       cx->server);
	if (err == MTGATE_EADDR)
		return cli_usage_error(NULL,
				       "bad server address '%s' (expected "
				       "HOST:PORT or [IPV6]:PORT)",
				       cx->server);
	return cli_fail(cx, err);
}

int cli_connect(cli_ctx *cx, bool auth)
{
	int rc;

	if (cx->conn != NULL)
		return 0;
	if (auth && cx->key == NULL) {
		rc = cx->key_file != NULL ? key_file_read(cx) : 1;
		if (rc == CLI_ERR)
			return CLI_ERR;
		if (rc == 1)
			return cli_fail(cx, MTGATE_ENOKEY);
	}
	rc = mtgate_c_connect(cx->server, auth ? cx->key : NULL, cx->timeout_ms,
			      &cx->conn);
	return rc < 0 ? cli_connect_error(cx, rc) : 0;
}

/* ---- values ------------------------------------------------------------------------ */

int cli_number(const char *cmd, const char *text, uint64_t *out)
{
	int rc = mtgate_number_parse(text, strlen(text), 1, out);

	if (rc < 0)
		return cli_usage_error(cmd, "bad number '%s': %s", text,
				       mtgate_strerror(rc));
	return 0;
}

static bool alnum_len(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]))
			return false;
	return true;
}

bool cli_alnum(const char *s, size_t max)
{
	return alnum_len(s, strnlen(s, max + 1), max);
}

int cli_sckw(const char *cmd, const char *text, char sc[CLI_SC_SIZE],
	     char kw[CLI_KW_SIZE], bool allow_all, bool *all)
{
	const char *colon = strchr(text, ':');
	size_t sc_len, kw_len;

	if (colon == NULL || colon == text || colon[1] == '\0')
		return cli_usage_error(cmd,
				       "bad program '%s': expected "
				       "SHORTCODE:KEYWORD",
				       text);
	sc_len = (size_t)(colon - text);
	kw_len = strlen(colon + 1);
	if (!alnum_len(text, sc_len, MTGATE_SHORTCODE_MAX))
		return cli_usage_error(cmd, "bad program '%s': %s", text,
				       mtgate_strerror(MTGATE_ESHORTCODE));
	if (!alnum_len(colon + 1, kw_len, MTGATE_KEYWORD_MAX))
		return cli_usage_error(cmd, "bad program '%s': %s", text,
				       mtgate_strerror(MTGATE_EKEYWORD));
	memcpy(sc, text, sc_len);
	sc[sc_len] = '\0';
	memcpy(kw, colon + 1, kw_len + 1);
	if (all != NULL)
		*all = allow_all && strcasecmp(kw, "ALL") == 0;
	return 0;
}

int cli_program_id(cli_ctx *cx, const char *sc, const char *kw,
		   uint32_t *id_out)
{
	mtgate_c_program p;
	int rc;

	rc = mtgate_c_program_get(cx->conn, 0, sc, kw, &p);
	if (rc < 0)
		return rc;
	*id_out = p.def.id;
	mtgate_c_program_free(&p);
	return 0;
}

int cli_program_resolve(cli_ctx *cx, const char *text, const char *sc,
			const char *kw, uint32_t *id)
{
	int rc = cli_program_id(cx, sc, kw, id);

	if (rc == MTGATE_ENOPROGRAM)
		return cli_usage_error(NULL, "unknown program %s", text);
	return rc < 0 ? cli_fail(cx, rc) : 0;
}

/* ---- a number's consents ------------------------------------------------------------ */

#define QUERY_FIRST_CAP 64
#define QUERY_TRIES     3 /* the set may grow between two QUERYs */

int cli_query(cli_ctx *cx, const char *cmd, uint64_t number,
	      mtgate_consent **recs_out, size_t *n_out,
	      mtgate_deactivation *deact)
{
	size_t cap = QUERY_FIRST_CAP, n = 0;
	mtgate_consent *recs = NULL, *grown;
	int rc = 0;

	for (int tries = 0; tries < QUERY_TRIES; tries++) {
		if ((grown = realloc(recs, cap * sizeof(*recs))) == NULL) {
			rc = MTGATE_ENOMEM;
			break;
		}
		recs = grown;
		rc = mtgate_c_query(cx->conn, number, recs, cap, &n, deact);
		if (rc < 0 || n <= cap)
			break;
		cap = n;
	}
	if (rc < 0 || n > cap) {
		free(recs);
		return rc < 0 ? cli_fail(cx, rc)
			      : cli_usage_error(cmd,
						"the number's consents kept "
						"changing while read; try "
						"again");
	}
	*recs_out = recs;
	*n_out = n;
	return 0;
}

/* ---- program labels ------------------------------------------------------------------ */

#define LABELS_FIRST_CAP 16

const char *cli_label_of(cli_ctx *cx, cli_labels *lc, uint32_t id, int *rc)
{
	mtgate_c_program p;
	int err;

	for (size_t i = 0; i < lc->n; i++)
		if (lc->ids[i] == id)
			return lc->labels[i];
	if (lc->n == lc->cap) {
		size_t cap = lc->cap ? 2 * lc->cap : LABELS_FIRST_CAP;
		uint32_t *ids = realloc(lc->ids, cap * sizeof(*ids));
		char(*labels)[CLI_LABEL_SIZE];
		if (ids != NULL)
			lc->ids = ids;
		labels =
			ids ? realloc(lc->labels, cap * sizeof(*labels)) : NULL;
		if (labels == NULL) {
			*rc = cli_fail(cx, MTGATE_ENOMEM);
			return NULL;
		}
		lc->labels = labels;
		lc->cap = cap;
	}
	err = mtgate_c_program_get(cx->conn, id, NULL, NULL, &p);
	if (err < 0 && err != MTGATE_ENOPROGRAM) {
		*rc = cli_fail(cx, err);
		return NULL;
	}
	if (err == 0)
		snprintf(lc->labels[lc->n], CLI_LABEL_SIZE, "%s:%s",
			 p.def.short_code, p.def.keyword);
	else
		snprintf(lc->labels[lc->n], CLI_LABEL_SIZE, "program#%u", id);
	if (err == 0)
		mtgate_c_program_free(&p);
	lc->ids[lc->n] = id;
	return lc->labels[lc->n++];
}

void cli_labels_free(cli_labels *lc)
{
	free(lc->ids);
	free(lc->labels);
	*lc = (cli_labels){0};
}

/* ---- names --------------------------------------------------------------------------- */

static const char *const channel_names[MTGATE_CHANNEL_MAX] = {
	[MTGATE_CHANNEL_NONE] = "-",    [MTGATE_CHANNEL_MO] = "mo",
	[MTGATE_CHANNEL_WEB] = "web",   [MTGATE_CHANNEL_IVR] = "ivr",
	[MTGATE_CHANNEL_POS] = "pos",   [MTGATE_CHANNEL_IMPORT] = "import",
	[MTGATE_CHANNEL_API] = "api",   [MTGATE_CHANNEL_CARRIER] = "carrier",
	[MTGATE_CHANNEL_USSD] = "ussd", [MTGATE_CHANNEL_WAP] = "wap",
	[MTGATE_CHANNEL_MMS] = "mms",
};

const char *cli_channel_name(mtgate_channel ch)
{
	return (unsigned)ch < MTGATE_CHANNEL_MAX ? channel_names[ch] : "?";
}

/* Channels a person may name: not "none", not "carrier" (deactivations). */
int cli_channel_parse(const char *s, mtgate_channel *out)
{
	for (int ch = MTGATE_CHANNEL_MO; ch < MTGATE_CHANNEL_CARRIER; ch++) {
		if (strcmp(s, channel_names[ch]) == 0) {
			*out = (mtgate_channel)ch;
			return 0;
		}
	}
	return -1;
}

int cli_doi_channel_parse(const char *s, mtgate_channel *out)
{
	static const struct {
		const char *name;
		mtgate_channel ch;
	} names[] = {
		{"sms", MTGATE_CHANNEL_MO},    {"web", MTGATE_CHANNEL_WEB},
		{"ivr", MTGATE_CHANNEL_IVR},   {"pos", MTGATE_CHANNEL_POS},
		{"ussd", MTGATE_CHANNEL_USSD}, {"wap", MTGATE_CHANNEL_WAP},
		{"mms", MTGATE_CHANNEL_MMS},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].ch;
			return 0;
		}
	}
	return -1;
}

const char *cli_state_name(mtgate_state st)
{
	static const char *const names[] = {
		[MTGATE_STATE_NONE] = "NONE",
		[MTGATE_STATE_OPTED_IN] = "OPTED_IN",
		[MTGATE_STATE_OPTED_OUT] = "OPTED_OUT",
		[MTGATE_STATE_PENDING] = "PENDING",
	};

	return (unsigned)st <= MTGATE_STATE_PENDING ? names[st] : "?";
}

static const char *const deact_names[MTGATE_DEACT_MAX] = {
	[MTGATE_DEACT_NONE] = "none",
	[MTGATE_DEACT_DISCONNECT] = "disconnect",
	[MTGATE_DEACT_PORT] = "port",
};

const char *cli_deact_name(mtgate_deact_reason r)
{
	return (unsigned)r < MTGATE_DEACT_MAX ? deact_names[r] : "?";
}

int cli_deact_parse(const char *s, mtgate_deact_reason *out)
{
	for (int r = MTGATE_DEACT_DISCONNECT; r < MTGATE_DEACT_MAX; r++) {
		if (strcmp(s, deact_names[r]) == 0) {
			*out = (mtgate_deact_reason)r;
			return 0;
		}
	}
	return -1;
}

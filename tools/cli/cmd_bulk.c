/*
 * CLI bulk commands: import (opt-ins from a CSV file) and deactivate-list
 * (a carrier's disconnect or port list).
 *
 * Both read their file as a stream (csvread: fixed-size reads, one record
 * at a time), check each line (import_row.c for import), and send the
 * good lines in frames of up to BULK_FRAME_ROWS rows with up to
 * BULK_INFLIGHT frames in flight on one connection. Memory is bounded
 * whatever the file's size: the frame being filled (at most one frame
 * body), the line numbers of the frames in flight, the CSV reader's one
 * record.
 *
 * Output contract (scripts read it):
 *   - a bad line, found here or refused by the server (its row status),
 *     is one stderr line "line <N>: <reason>", N the line of the file
 *     (the header is line 1);
 *   - import's stdout ends "changed=<n> unchanged=<n>" and
 *     "imported=<n> rejected=<n> rows_per_s=<x.y>"; deactivate-list's
 *     with "read=<n> matched=<n> voided=<n> rejected=<n>" (after
 *     "archived=<path>" when --archive moved the file);
 *   - exit 0 nothing rejected, 1 some lines rejected, 2 an error: then
 *     stdout is empty, except when --max-errors stopped the reading or
 *     --archive failed, where the counts are printed (the rows they count
 *     are durable: the server answers only then).
 *
 * Lines are reported as their answers come: a frame's rows the server
 * refused after the bad lines read while it was in flight.
 *
 * A program named in an import line is looked up (PROGRAM_GET) once and
 * cached (import_row.c). A blocking call would drop pipelined answers
 * (client.h), so a lookup first waits for the frames in flight.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/csvread.h"
#include "cli/import_row.h"

#define BULK_FRAME_ROWS    4096 /* rows per IMPORT or DEACT_LIST frame */
#define BULK_INFLIGHT      8    /* frames sent and not yet answered */
#define BULK_PROGRESS_MS   250  /* the progress line, at most this often */
#define IMPORT_MAX_ERRORS  1000 /* --max-errors by default */
#define ARCHIVE_SUFFIX_MAX 1000 /* name.1 .. name.999 */

_Static_assert(BULK_FRAME_ROWS <= MTGATE_PROTO_BULK_MAX, "frame rows");

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the pipeline both commands share ----------------------------------------- */

typedef struct bulk_flight {
	uint64_t tag;
	uint32_t n;
	uint64_t line[BULK_FRAME_ROWS]; /* of each row, to report it */
} bulk_flight;

typedef struct bulk {
	cli_ctx *cx;
	const char *cmd; /* "import", for errors */
	uint8_t opcode;
	bulk_flight fl[BULK_INFLIGHT];
	size_t nfl;
	uint64_t next_tag;
	uint16_t status[BULK_FRAME_ROWS];
	uint64_t rows; /* data lines read */
	uint64_t changed, unchanged, rejected;
	uint64_t max_errors; /* 0: no limit */
	bool stopped;        /* max_errors reached */
	int failed;          /* CLI_ERR once a fatal problem is printed */
	/* the frame being filled: its rows' lines */
	uint32_t n;
	uint64_t line[BULK_FRAME_ROWS];
	/* progress, on a terminal only */
	bool tty, shown;
	int64_t start_ms, shown_ms;
	uint64_t size; /* of the file; 0 unknown */
	const csvr *csv;
} bulk;

static void bulk_init(bulk *b, cli_ctx *cx, const char *cmd, uint8_t opcode,
		      int fd, const csvr *csv)
{
	struct stat st;

	b->cx = cx;
	b->cmd = cmd;
	b->opcode = opcode;
	b->csv = csv;
	b->start_ms = mono_ms();
	b->tty = isatty(STDERR_FILENO) == 1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		b->size = (uint64_t)st.st_size;
}

static void progress_clear(bulk *b)
{
	if (b->shown)
		fputs("\r\033[K", stderr);
	b->shown = false;
}

/* "\r<rows> rows, <r> rows/s, <m>m<ss>s left", at most every
 * BULK_PROGRESS_MS; the time left from the bytes read so far. */
static void progress(bulk *b)
{
	int64_t now, ms;
	double rate, left = -1;

	if (!b->tty || (b->rows & 255) != 0)
		return;
	now = mono_ms();
	if (now - b->shown_ms < BULK_PROGRESS_MS)
		return;
	b->shown_ms = now;
	ms = now - b->start_ms > 0 ? now - b->start_ms : 1;
	rate = (double)b->rows * 1000.0 / (double)ms;
	if (b->size > 0 && b->csv->bytes > 0 && b->csv->bytes <= b->size)
		left = (double)ms / 1000.0 * (double)(b->size - b->csv->bytes) /
		       (double)b->csv->bytes;
	fprintf(stderr, "\r%" PRIu64 " rows, %.0f rows/s, ", b->rows, rate);
	if (left >= 0)
		fprintf(stderr, "%dm%02ds left\033[K", (int)(left / 60),
			(int)left % 60);
	else
		fputs("? left\033[K", stderr);
	b->shown = true;
}

/* A fatal problem: printed once, everything stops. Returns 1. */
static int bulk_fail(bulk *b, int err)
{
	progress_clear(b);
	if (!b->failed)
		b->failed = cli_fail(b->cx, err);
	return 1;
}

/* Report a bad line and count it. 1 when reading must stop. */
static int bulk_bad(bulk *b, uint64_t line, const char *why)
{
	progress_clear(b);
	fprintf(stderr, "line %" PRIu64 ": ", line);
	cli_put_text(stderr, why);
	fputc('\n', stderr);
	b->rejected++;
	if (b->max_errors > 0 && b->rejected >= b->max_errors)
		b->stopped = true;
	return b->stopped || b->failed;
}

/* The reason for a row the server refused with status st. */
static const char *row_status_text(unsigned st)
{
	int err = mtgate_c_status_error(st);

	if (err == MTGATE_EVOID)
		return "opted in before the number was deactivated (NUM-3)";
	return mtgate_strerror(err);
}

/* Read one answer and account for it: 0, or a library error (printed,
 * b->failed set). */
static int bulk_recv(bulk *b)
{
	mtgate_wire_bulk_resp resp;
	mtgate_wire_header h;
	const uint8_t *body;
	bulk_flight *f = NULL;
	int rc;

	if ((rc = mtgate_c_recv(b->cx->conn, &h, &body)) < 0) {
		bulk_fail(b, rc);
		return rc;
	}
	for (size_t i = 0; i < b->nfl && f == NULL; i++)
		if (b->fl[i].tag == h.tag && h.opcode == b->opcode)
			f = &b->fl[i];
	if (h.status != MTGATE_ST_OK)
		rc = mtgate_c_status_error(h.status);
	else if (f == NULL)
		rc = MTGATE_EPROTO; /* an answer to nothing we asked */
	else if ((rc = mtgate_c_decode_bulk(&h, body, &resp, b->status,
					    BULK_FRAME_ROWS)) == 0 &&
		 resp.count != f->n)
		rc = MTGATE_EPROTO;
	if (rc == MTGATE_EINVAL) /* more rows than any frame we send */
		rc = MTGATE_EPROTO;
	if (rc < 0) {
		bulk_fail(b, rc);
		return rc;
	}
	for (uint32_t i = 0; i < f->n; i++)
		if (b->status[i] != MTGATE_ST_OK)
			bulk_bad(b, f->line[i], row_status_text(b->status[i]));
	b->changed += resp.changed;
	b->unchanged += resp.unchanged;
	*f = b->fl[--b->nfl];
	return 0;
}

/* Wait for every frame in flight. */
static int bulk_drain(bulk *b)
{
	int rc = 0;

	while (b->nfl > 0 && !b->failed)
		rc = bulk_recv(b);
	return b->failed ? (rc < 0 ? rc : MTGATE_EIO) : 0;
}

/* Before sending the frame being filled: false when there is nothing to
 * send or all failed; else room in flight is made and next_tag is its
 * tag. Then bulk_sent. */
static bool bulk_ready(bulk *b)
{
	if (b->n == 0 || b->failed)
		return false;
	if (b->nfl == BULK_INFLIGHT && bulk_recv(b) < 0)
		return false;
	b->next_tag++;
	return true;
}

static int bulk_sent(bulk *b, int send_rc)
{
	bulk_flight *f;
	int rc;

	if (send_rc < 0 || (rc = mtgate_c_flush(b->cx->conn)) < 0)
		return bulk_fail(b, send_rc < 0 ? send_rc : rc);
	f = &b->fl[b->nfl++];
	f->tag = b->next_tag;
	f->n = b->n;
	memcpy(f->line, b->line, b->n * sizeof(b->line[0]));
	b->n = 0;
	return 0;
}

/* The exit code once everything is answered. */
static int bulk_exit(bulk *b)
{
	if (b->failed)
		return b->failed;
	if (b->stopped)
		return cli_usage_error(NULL,
				       "stopped after %" PRIu64 " bad lines",
				       b->max_errors);
	return b->rejected > 0 ? CLI_DENY : CLI_OK;
}

/* Open a list file; fd or CLI_ERR printed as -1. */
static int file_open(const char *cmd, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		cli_usage_error(cmd, "cannot open '%s': %s", path,
				strerror(errno));
	return fd;
}

/* Read the whole file through csv; a read error is printed. */
static void bulk_read(bulk *b, csvr *csv, int fd, const char *path)
{
	if (csvr_read_fd(csv, fd) == CSVR_EIO && !b->failed) {
		progress_clear(b);
		b->failed = cli_usage_error(b->cmd, "cannot read '%s': %s",
					    path, strerror(errno));
	}
}

/* ---- import ------------------------------------------------------------------------ */

static const char import_usage[] =
	"usage: mtgate import FILE [--program SC:KW] [--max-errors N]\n"
	"\n"
	"Record the opt-ins listed in FILE, a CSV file whose header line\n"
	"names its columns, in any order:\n"
	"  number,program,channel,opted_in_at,source\n"
	"number      E.164 (+15551234567; 10 digits alone are +1)\n"
	"program     SC:KW (may be left out with --program)\n"
	"channel     mo web ivr pos import api ussd wap mms (empty: import)\n"
	"opted_in_at when the number opted in, RFC 3339 (empty: now)\n"
	"source      the evidence: form id, call id, ... (up to 255 bytes)\n"
	"'mtgate export' writes this format. Each line is applied as "
	"'mtgate\n"
	"optin' would apply it; a line already opted in is unchanged.\n"
	"\n"
	"A bad line does not stop the others: it is reported on stderr as\n"
	"  line <N>: <reason>\n"
	"(a bad number, program, channel or date, a wrong column count,\n"
	"broken quoting, invalid UTF-8, a source too long, or the server's\n"
	"refusal, e.g. an opt-in dated before the number was deactivated).\n"
	"At the end stdout gets\n"
	"  changed=<n> unchanged=<n>\n"
	"  imported=<n> rejected=<n> rows_per_s=<x.y>\n"
	"imported = changed + unchanged; rows_per_s counts the lines read\n"
	"over the command's whole run. Rows are durable once counted. On a\n"
	"terminal, stderr shows the progress. After an error other than\n"
	"--max-errors nothing is printed on stdout (the rows answered before\n"
	"it are durable).\n"
	"\n"
	"Options:\n"
	"  --program SC:KW   the program of every line; a line naming "
	"another\n"
	"                    is bad\n"
	"  --max-errors N    stop reading after N bad lines (default 1000;\n"
	"                    0: no limit): what was read is still sent, "
	"then\n"
	"                    exit 2\n"
	"\n"
	"Exit 0 every line imported, 1 some lines rejected, 2 an error.\n";

typedef struct import_run {
	bulk b;
	import_rows ir;
	csvr csv;
	const char *path;
	bool header;
	/* the frame being filled */
	mtgate_c_import_row row[BULK_FRAME_ROWS];
	size_t body;
	size_t src_used;
	char src[MTGATE_FRAME_BODY_MAX];
} import_run;

static int import_send(import_run *im)
{
	bulk *b = &im->b;

	if (!bulk_ready(b))
		return b->failed;
	bulk_sent(b, mtgate_c_send_import(b->cx->conn, b->next_tag, im->row,
					  b->n));
	im->body = sizeof(mtgate_wire_import_req);
	im->src_used = 0;
	return b->failed;
}

/* The resolver import_row asks: PROGRAM_GET, once nothing is in flight. */
static int import_resolve(void *ctx, const char *sc, const char *kw,
			  uint32_t *id)
{
	import_run *im = ctx;
	int rc = bulk_drain(&im->b);

	if (rc < 0)
		return rc;
	rc = cli_program_id(im->b.cx, sc, kw, id);
	if (rc < 0 && rc != MTGATE_ENOPROGRAM)
		bulk_fail(&im->b, rc);
	return rc;
}

/* A good row into the frame being filled (sent first when it is full). */
static int import_add(import_run *im, uint64_t line,
		      const mtgate_c_import_row *row)
{
	bulk *b = &im->b;
	size_t need = sizeof(mtgate_wire_import_row) + row->source_len;

	if ((b->n == BULK_FRAME_ROWS ||
	     im->body + need > MTGATE_FRAME_BODY_MAX) &&
	    import_send(im) != 0)
		return 1;
	im->row[b->n] = *row;
	if (row->source_len > 0) {
		memcpy(im->src + im->src_used, row->source, row->source_len);
		im->row[b->n].source = im->src + im->src_used;
		im->src_used += row->source_len;
	}
	im->body += need;
	b->line[b->n++] = line;
	return 0;
}

static int import_on_row(void *ctx, uint64_t line, const csvr_field *f,
			 size_t n)
{
	import_run *im = ctx;
	char why[IMPORT_WHY_MAX];
	mtgate_c_import_row row;
	int rc;

	if (!im->header) {
		if (import_header(&im->ir, f, n, why) < 0) {
			im->b.failed = cli_usage_error(
				"import", "%s line %" PRIu64 ": %s", im->path,
				line, why);
			return 1;
		}
		im->header = true;
		return 0;
	}
	im->b.rows++;
	rc = import_row(&im->ir, f, n, &row, why);
	if (rc < 0)
		return 1; /* printed by the resolver */
	if (rc == IMPORT_ROW_BAD)
		return bulk_bad(&im->b, line, why);
	if (import_add(im, line, &row) != 0)
		return 1;
	progress(&im->b);
	return im->b.stopped || im->b.failed;
}

static int import_on_bad(void *ctx, uint64_t line, const char *why)
{
	import_run *im = ctx;

	if (!im->header) {
		im->b.failed =
			cli_usage_error("import", "%s line %" PRIu64 ": %s",
					im->path, line, why);
		return 1;
	}
	im->b.rows++;
	return bulk_bad(&im->b, line, why);
}

/* A count: digits only, below 2^32. */
static int count_parse(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	*out = v;
	return 0;
}

/* The run itself, once the arguments are checked and the file open. */
static int import_run_file(import_run *im, cli_ctx *cx, int fd,
			   const char *program, const char *sc, const char *kw)
{
	uint32_t id = 0;
	double secs;
	int rc;

	if ((rc = cli_connect(cx, true)) != 0)
		return rc;
	if (program != NULL &&
	    (rc = cli_program_resolve(cx, program, sc, kw, &id)) != 0)
		return rc;
	import_rows_init(&im->ir, id, program, import_resolve, im);
	im->body = sizeof(mtgate_wire_import_req);
	bulk_read(&im->b, &im->csv, fd, im->path);
	import_send(im);
	bulk_drain(&im->b);
	progress_clear(&im->b);
	if (!im->header && !im->b.failed)
		im->b.failed = cli_usage_error(
			"import", "%s has no header line", im->path);
	if (im->b.failed)
		return im->b.failed;
	secs = (double)(mono_ms() - im->b.start_ms) / 1000.0;
	printf("changed=%" PRIu64 " unchanged=%" PRIu64 "\n", im->b.changed,
	       im->b.unchanged);
	printf("imported=%" PRIu64 " rejected=%" PRIu64 " rows_per_s=%.1f\n",
	       im->b.changed + im->b.unchanged, im->b.rejected,
	       secs > 0 ? (double)im->b.rows / secs : 0.0);
	return bulk_exit(&im->b);
}

int cli_cmd_import(cli_ctx *cx, int argc, char **argv)
{
	const char *program = NULL, *max_errors = NULL, *pos[1];
	const cli_opt opts[] = {{"--program", &program, NULL},
				{"--max-errors", &max_errors, NULL},
				{NULL, NULL, NULL}};
	const cli_spec spec = {"import", import_usage, opts, 1, 1, "FILE"};
	char sc[CLI_SC_SIZE], kw[CLI_KW_SIZE];
	int64_t started = mono_ms();
	uint64_t max = IMPORT_MAX_ERRORS;
	import_run *im;
	int npos, rc, fd;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (max_errors != NULL && count_parse(max_errors, &max) < 0)
		return cli_usage_error("import",
				       "bad --max-errors '%s': expected a "
				       "count, 0 for no limit",
				       max_errors);
	if (program != NULL &&
	    cli_sckw("import", program, sc, kw, false, NULL) != 0)
		return CLI_ERR;
	if ((fd = file_open("import", pos[0])) < 0)
		return CLI_ERR;
	if ((im = calloc(1, sizeof(*im))) == NULL) {
		close(fd);
		return cli_fail(cx, MTGATE_ENOMEM);
	}
	im->path = pos[0];
	bulk_init(&im->b, cx, "import", MTGATE_OPC_IMPORT, fd, &im->csv);
	im->b.start_ms = started;
	im->b.max_errors = max;
	if (csvr_init(&im->csv, import_on_row, import_on_bad, im) < 0)
		rc = cli_fail(cx, MTGATE_ENOMEM);
	else
		rc = import_run_file(im, cx, fd, program, sc, kw);
	csvr_free(&im->csv);
	free(im);
	close(fd);
	return rc;
}

/* ---- deactivate-list ---------------------------------------------------------------- */

static const char deact_list_usage[] =
	"usage: mtgate deactivate-list FILE --reason disconnect|port\n"
	"                              [--archive DIR]\n"
	"\n"
	"Apply a carrier's disconnect or port list (operator only): each "
	"line of\n"
	"FILE is a number, optionally followed by a comma and the date it "
	"was\n"
	"disconnected or ported (RFC 3339; empty or none: now). Blank lines\n"
	"are skipped, and so is a first line 'number' or 'number,date'. "
	"Every\n"
	"opt-in of a number dated at or before its date stops counting\n"
	"(NUM-1..3); the file's name is recorded as the source.\n"
	"\n"
	"A bad line, or one the server refuses, is reported on stderr as\n"
	"  line <N>: <reason>\n"
	"At the end stdout gets\n"
	"  read=<n> matched=<n> voided=<n> rejected=<n>\n"
	"read: data lines read; matched: numbers mtgate held a consent of;\n"
	"voided: consents this list voided (0 when applied again);\n"
	"rejected: bad or refused lines.\n"
	"\n"
	"Options:\n"
	"  --reason disconnect|port  what the list is\n"
	"  --archive DIR             once the list is applied, move FILE "
	"into\n"
	"                            DIR (made if missing; a name taken "
	"gets\n"
	"                            .1, .2, ...), printing archived=<path>\n"
	"                            before the counts\n"
	"\n"
	"Exit 0 every line applied, 1 some lines rejected, 2 an error.\n";

typedef struct deact_run {
	bulk b;
	csvr csv;
	const char *path;
	const char *source; /* the file's base name */
	mtgate_deact_reason reason;
	bool seen; /* a record was read: a header may come only first */
	mtgate_wire_deact_entry e[BULK_FRAME_ROWS];
} deact_run;

static int deact_send(deact_run *d)
{
	bulk *b = &d->b;

	if (!bulk_ready(b))
		return b->failed;
	bulk_sent(b, mtgate_c_send_deact_list(b->cx->conn, b->next_tag,
					      d->reason, d->source,
					      strlen(d->source), d->e, b->n));
	return b->failed;
}

/* A first line "number" or "number,date". */
static bool deact_header(const csvr_field *f, size_t n)
{
	return (n == 1 || n == 2) && strcasecmp(f[0].s, "number") == 0 &&
	       (n == 1 || strcasecmp(f[1].s, "date") == 0);
}

/* One data line as an entry: 0, or 1 with why. */
static int deact_entry(const csvr_field *f, size_t n,
		       mtgate_wire_deact_entry *e, char why[IMPORT_WHY_MAX])
{
	char q[IMPORT_QUOTE_SIZE];
	int rc;

	if (n != 1 && n != 2) {
		snprintf(why, IMPORT_WHY_MAX,
			 "wrong column count: %zu fields, expected "
			 "number[,date]",
			 n);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!import_text_ok(&f[i])) {
			snprintf(why, IMPORT_WHY_MAX,
				 "invalid UTF-8 or a NUL byte in column %s",
				 i == 0 ? "number" : "date");
			return 1;
		}
	}
	if ((rc = mtgate_number_parse(f[0].s, f[0].len, 1, &e->number)) < 0) {
		snprintf(why, IMPORT_WHY_MAX, "bad number '%s': %s",
			 import_quote(&f[0], q), mtgate_strerror(rc));
		return 1;
	}
	e->at_ms = 0;
	if (n == 2 && f[1].len > 0 &&
	    (cli_time_parse(f[1].s, &e->at_ms) < 0 || e->at_ms <= 0)) {
		snprintf(why, IMPORT_WHY_MAX,
			 "bad date '%s': expected RFC 3339 after 1970, "
			 "e.g. 2026-11-23T13:11:44Z",
			 import_quote(&f[1], q));
		return 1;
	}
	return 0;
}

static int deact_on_row(void *ctx, uint64_t line, const csvr_field *f, size_t n)
{
	deact_run *d = ctx;
	char why[IMPORT_WHY_MAX];
	bulk *b = &d->b;
	bool first = !d->seen;

	d->seen = true;
	if (first && deact_header(f, n))
		return 0;
	b->rows++;
	if (deact_entry(f, n, &d->e[b->n], why) != 0)
		return bulk_bad(b, line, why);
	b->line[b->n++] = line;
	if (b->n == BULK_FRAME_ROWS && deact_send(d) != 0)
		return 1;
	progress(b);
	return b->failed;
}

static int deact_on_bad(void *ctx, uint64_t line, const char *why)
{
	deact_run *d = ctx;

	d->seen = true;
	d->b.rows++;
	return bulk_bad(&d->b, line, why);
}

/* mkdir -p: every missing directory of path. */
static int dir_make(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static int copy_fd(int in, int out)
{
	char buf[CSVR_CHUNK];
	ssize_t n, w;

	for (;;) {
		n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		for (ssize_t off = 0; off < n; off += w) {
			w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				w = 0;
			else if (w < 0)
				return -1;
		}
	}
}

/* Copy src to a new file dst (EEXIST when dst is there), fsync'd, then
 * remove src: a move across file systems. 0, or -1 with errno (and no
 * dst left). */
static int file_copy(const char *src, const char *dst)
{
	int in, out, rc = -1, err;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		err = errno;
		close(in);
		errno = err;
		return -1;
	}
	if (copy_fd(in, out) == 0 && fsync(out) == 0)
		rc = 0;
	err = errno;
	if (close(out) < 0 && rc == 0) {
		rc = -1;
		err = errno;
	}
	close(in);
	if (rc == 0 && unlink(src) < 0) {
		rc = -1;
		err = errno;
	}
	if (rc < 0)
		unlink(dst);
	errno = err;
	return rc;
}

/* Move file into dir under its base name, or name.1, name.2, ... when that
 * is taken; *dest gets the path. 0, or -1 with errno. */
static int archive_move(const char *file, const char *dir, char *dest,
			size_t cap)
{
	const char *slash = strrchr(file, '/'),
		   *base = slash ? slash + 1 : file;
	int rc;

	if (dir_make(dir) < 0)
		return -1;
	for (int k = 0; k < ARCHIVE_SUFFIX_MAX; k++) {
		if (k == 0)
			rc = snprintf(dest, cap, "%s/%s", dir, base);
		else
			rc = snprintf(dest, cap, "%s/%s.%d", dir, base, k);
		if (rc < 0 || (size_t)rc >= cap) {
			errno = ENAMETOOLONG;
			return -1;
		}
		rc = renameat2(AT_FDCWD, file, AT_FDCWD, dest,
			       RENAME_NOREPLACE);
		if (rc < 0 && errno == EINVAL) /* no RENAME_NOREPLACE here */
			rc = access(dest, F_OK) == 0 ? (errno = EEXIST, -1)
						     : rename(file, dest);
		if (rc < 0 && errno == EXDEV)
			rc = file_copy(file, dest);
		if (rc == 0)
			return cli_sync_dir_of(dest);
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

static int deact_run_file(deact_run *d, cli_ctx *cx, int fd,
			  const char *archive)
{
	char dest[4096];
	int rc;

	if ((rc = cli_connect(cx, true)) != 0)
		return rc;
	bulk_read(&d->b, &d->csv, fd, d->path);
	deact_send(d);
	bulk_drain(&d->b);
	progress_clear(&d->b);
	if (d->b.failed)
		return d->b.failed;
	if (archive != NULL) {
		if (archive_move(d->path, archive, dest, sizeof(dest)) < 0)
			d->b.failed = cli_usage_error(
				"deactivate-list",
				"cannot move '%s' into '%s': %s", d->path,
				archive, strerror(errno));
		else
			printf("archived=%s\n", dest);
	}
	printf("read=%" PRIu64 " matched=%" PRIu64 " voided=%" PRIu64
	       " rejected=%" PRIu64 "\n",
	       d->b.rows, d->b.changed, d->b.unchanged, d->b.rejected);
	return bulk_exit(&d->b);
}

int cli_cmd_deactivate_list(cli_ctx *cx, int argc, char **argv)
{
	const char *reason = NULL, *archive = NULL, *pos[1], *slash;
	const cli_opt opts[] = {{"--reason", &reason, NULL},
				{"--archive", &archive, NULL},
				{NULL, NULL, NULL}};
	const cli_spec spec = {
		"deactivate-list", deact_list_usage, opts, 1, 1, "FILE"};
	mtgate_deact_reason why;
	deact_run *d;
	int npos, rc, fd;

	if (!cli_parse(&spec, argc, argv, pos, &npos, &rc))
		return rc;
	if (reason == NULL || cli_deact_parse(reason, &why) < 0)
		return cli_usage_error("deactivate-list",
				       "--reason must be disconnect or port");
	if (archive != NULL && archive[0] == '\0')
		return cli_usage_error("deactivate-list", "--archive is empty");
	if ((fd = file_open("deactivate-list", pos[0])) < 0)
		return CLI_ERR;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		close(fd);
		return cli_fail(cx, MTGATE_ENOMEM);
	}
	d->path = pos[0];
	slash = strrchr(pos[0], '/');
	d->source = slash != NULL ? slash + 1 : pos[0];
	d->reason = why;
	bulk_init(&d->b, cx, "deactivate-list", MTGATE_OPC_DEACT_LIST, fd,
		  &d->csv);
	if (csvr_init(&d->csv, deact_on_row, deact_on_bad, d) < 0)
		rc = cli_fail(cx, MTGATE_ENOMEM);
	else
		rc = deact_run_file(d, cx, fd, archive);
	csvr_free(&d->csv);
	free(d);
	close(fd);
	return rc;
}

/*
 * csvread: CSV records with their line numbers, over libcsv. Contract and
 * bounds: csvread.h.
 *
 * How lines are known
 *   libcsv reports fields and record ends, not where they are. So input is
 *   handed to it one line at a time (a piece ends at an LF, or where the
 *   caller's bytes end), and the line a record starts on is the line of
 *   the first piece fed since the last record ended. The raw pieces of the
 *   record in progress are kept in pend; after a line ending outside any
 *   quote (p.quoted clear once libcsv has seen the LF) no record is in
 *   progress and pend empties.
 *
 * How a broken record is survived
 *   libcsv cannot resume inside a record it refused, so the parser is
 *   started afresh, and the record's lines after its first one (still in
 *   pend) are queued in `again`, to be read before anything else. Each
 *   time this happens the record's first line is dropped, so it ends.
 *   `again` never holds more than CSVR_RECORD_MAX bytes: what it is given
 *   is a record's lines (at most that) plus, when the broken record was
 *   itself being read again, the unread rest of `again`, which together
 *   were one earlier `again`.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli/csvread.h"
#include "util/assert.h"

#define CSVR_OPTS (CSV_STRICT | CSV_STRICT_FINI)

#define STR_(x) #x
#define STR(x)  STR_(x)

static const char bom[3] = {'\xEF', '\xBB', '\xBF'};
static const char why_quote[] = "broken quoting";
static const char why_unclosed[] = "broken quoting: a quote is never closed";
static const char why_long[] =
	"line longer than " STR(CSVR_RECORD_MAX) " bytes";

static void on_field(void *s, size_t len, void *ctx)
{
	csvr *r = ctx;

	if (r->nf < CSVR_FIELDS_MAX) {
		csvr_field *f = &r->f[r->nf];
		/* Fields are never longer than the record's raw bytes. */
		MTG_ASSERT(r->used + len + 1 <= sizeof(r->fbuf));
		if (len > 0)
			memcpy(r->fbuf + r->used, s, len);
		r->fbuf[r->used + len] = '\0';
		*f = (csvr_field){r->fbuf + r->used, len};
		r->used += len + 1;
	}
	r->nf++;
}

static void on_record(int c, void *ctx)
{
	csvr *r = ctx;
	size_t n = r->nf;

	(void)c;
	r->nf = r->used = 0;
	if (r->stop == 0)
		r->stop = r->row(r->ctx, r->first, r->f, n);
}

int csvr_init(csvr *r, csvr_row_fn row, csvr_bad_fn bad, void *ctx)
{
	memset(r, 0, offsetof(csvr, fbuf));
	r->npend = r->again_off = r->again_n = 0;
	r->row = row;
	r->bad = bad;
	r->ctx = ctx;
	r->line = 1;
	return csv_init(&r->p, CSVR_OPTS) == 0 ? 0 : CSVR_ENOMEM;
}

void csvr_free(csvr *r)
{
	csv_free(&r->p);
}

/* The record in progress is bad: report it at its first line, forget it
 * and queue its later lines to be read again, before the rest of again.
 * Without a later line, the rest of the first one is skipped. */
static void record_bad(csvr *r, const char *why)
{
	const char *lf = memchr(r->pend, '\n', r->npend);
	size_t tail = lf ? r->npend - (size_t)(lf + 1 - r->pend) : 0;
	size_t rest = r->again_n - r->again_off;

	if (r->stop == 0)
		r->stop = r->bad(r->ctx, r->first, why);
	MTG_ASSERT(tail + rest <= sizeof(r->again));
	memmove(r->again + tail, r->again + r->again_off, rest);
	if (tail > 0)
		memcpy(r->again, lf + 1, tail);
	r->again_off = 0;
	r->again_n = tail + rest;
	r->line = r->first + (lf != NULL);
	r->skip = lf == NULL;
	r->npend = r->nf = r->used = 0;
	csv_free(&r->p);
	/* csv_init only sets fields: it cannot fail on a parser we own. */
	MTG_ASSERT(csv_init(&r->p, CSVR_OPTS) == 0);
}

enum { SEG_OK, SEG_BROKEN, SEG_LONG };

/* Feed one piece of at most one line (len > 0): SEG_OK (taken),
 * SEG_BROKEN (taken; the record is broken) or SEG_LONG (not taken: the
 * record would grow past CSVR_RECORD_MAX). */
static int segment(csvr *r, const char *s, size_t len)
{
	bool eol = s[len - 1] == '\n';

	if (r->skip) {
		if (eol) {
			r->skip = false;
			r->line++;
		}
		return SEG_OK;
	}
	if (r->npend == 0)
		r->first = r->line;
	if (len > sizeof(r->pend) - r->npend)
		return SEG_LONG;
	memcpy(r->pend + r->npend, s, len);
	r->npend += len;
	if (csv_parse(&r->p, s, len, on_field, on_record, r) < len)
		return SEG_BROKEN;
	if (eol) {
		r->line++;
		if (!r->p.quoted)
			r->npend = 0;
	}
	return SEG_OK;
}

int csvr_feed(csvr *r, const void *data, size_t len)
{
	const char *s = data;

	r->bytes += len;
	/* A byte order mark first, in whatever pieces it comes. */
	while (r->bom < sizeof(bom) && len > 0) {
		size_t k = r->bom;
		if (*s != bom[k]) {
			r->bom = sizeof(bom);
			r->bytes -=
				k; /* not a mark after all: its bytes are data */
			if (k > 0)
				csvr_feed(r, bom, k);
			break;
		}
		r->bom++;
		s++;
		len--;
	}
	while (r->stop == 0 && (r->again_off < r->again_n || len > 0)) {
		bool again = r->again_off < r->again_n;
		const char *p = again ? r->again + r->again_off : s;
		size_t n = again ? r->again_n - r->again_off : len, took;
		const char *lf = memchr(p, '\n', n);
		int rc;

		if (lf != NULL)
			n = (size_t)(lf + 1 - p);
		rc = segment(r, p, n);
		took = rc == SEG_LONG ? 0 : n;
		if (again) {
			r->again_off += took;
		} else {
			s += took;
			len -= took;
		}
		if (rc == SEG_BROKEN)
			record_bad(r, why_quote);
		else if (rc == SEG_LONG)
			record_bad(r, memchr(r->pend, '\n', r->npend)
					      ? why_unclosed
					      : why_long);
	}
	if (r->again_off == r->again_n)
		r->again_off = r->again_n = 0;
	return r->stop;
}

int csvr_finish(csvr *r)
{
	while (r->stop == 0) {
		if (r->again_off < r->again_n) {
			csvr_feed(r, NULL, 0);
			continue;
		}
		if (r->skip || csv_fini(&r->p, on_field, on_record, r) == 0)
			break;
		record_bad(r, why_unclosed);
	}
	r->skip = false;
	return r->stop;
}

int csvr_read_fd(csvr *r, int fd)
{
	char buf[CSVR_CHUNK];
	ssize_t n;
	int rc;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return CSVR_EIO;
		if (n == 0)
			return csvr_finish(r);
		if ((rc = csvr_feed(r, buf, (size_t)n)) != 0)
			return rc;
	}
}

/*
 * csvread: a CSV file as a stream of records, each with the physical line
 * it starts on, over libcsv in strict mode. Used by mtgate import and
 * deactivate-list; no network, so tests drive it directly.
 *
 * What it does
 *   The caller feeds bytes in any pieces (csvr_feed, or csvr_read_fd for a
 *   whole file) and calls csvr_finish at the end. Each complete record goes
 *   to the row callback with its fields (NUL-terminated copies, valid for
 *   the call) and its line number: the 1-based line of the file, counted
 *   by LF (a CRLF file counts the same), where the record begins. Blank
 *   lines are no records. A UTF-8 byte order mark at the start is dropped.
 *
 * Bad input never stops the stream: it goes to the bad callback as one
 * line number and a reason, and reading goes on with the next line:
 *   - "broken quoting": a quote inside an unquoted field or text after a
 *     closing quote (libcsv's CSV_STRICT errors), or a quote never closed
 *     (at the end of the file, or before the record reached
 *     CSVR_RECORD_MAX bytes) -- reported at the record's first line, and
 *     reading starts again on the line after it, so an unclosed quote
 *     costs one line, not the rest of the file;
 *   - "line longer than CSVR_RECORD_MAX bytes": the rest of it is skipped.
 *
 * Bounds: memory is fixed whatever the file's size: one record of at most
 * CSVR_RECORD_MAX bytes (its raw lines are kept until it ends, to read
 * them again after broken quoting), at most CSVR_FIELDS_MAX fields kept
 * per record (more are counted in n), and libcsv's field buffer, which
 * never holds more than one record. A callback that returns non-zero
 * stops the stream: csvr_feed, csvr_finish and csvr_read_fd return that
 * value, and no callback runs after it.
 */
#ifndef MTGATE_CLI_CSVREAD_H
#define MTGATE_CLI_CSVREAD_H

#include <csv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CSVR_RECORD_MAX 8192        /* bytes of one record, all its lines */
#define CSVR_FIELDS_MAX 16          /* fields kept per record */
#define CSVR_CHUNK      (64u << 10) /* bytes per read() of csvr_read_fd */
#define CSVR_ENOMEM     (-1)        /* libcsv could not start */
#define CSVR_EIO        (-2)        /* read() failed: errno says why */

typedef struct csvr_field {
	const char *s; /* NUL-terminated; a NUL inside shows as len > strlen */
	size_t len;
} csvr_field;

/* A record: n fields, the first min(n, CSVR_FIELDS_MAX) of them in f. */
typedef int (*csvr_row_fn)(void *ctx, uint64_t line, const csvr_field *f,
			   size_t n);
/* A line that is no record; why is a static text. */
typedef int (*csvr_bad_fn)(void *ctx, uint64_t line, const char *why);

typedef struct csvr {
	struct csv_parser p;
	csvr_row_fn row;
	csvr_bad_fn bad;
	void *ctx;
	int stop;       /* a callback's non-zero answer */
	uint64_t line;  /* the line of the next byte fed */
	uint64_t first; /* the line pend begins on */
	uint64_t bytes; /* bytes taken from the caller */
	bool skip;      /* dropping bytes up to the end of the line */
	size_t bom;     /* bytes of a byte order mark seen; 3 once decided */
	/* the record being built */
	size_t nf, used;
	csvr_field f[CSVR_FIELDS_MAX];
	char fbuf[CSVR_RECORD_MAX + CSVR_FIELDS_MAX + 1];
	/* raw bytes of the record in progress, from its first line */
	char pend[CSVR_RECORD_MAX];
	size_t npend;
	/* bytes to read again after broken quoting: [off, n) */
	char again[CSVR_RECORD_MAX];
	size_t again_off, again_n;
} csvr;

/* 0 or CSVR_ENOMEM. r is about 33 KiB: put it on the heap. */
int csvr_init(csvr *r, csvr_row_fn row, csvr_bad_fn bad, void *ctx);
void csvr_free(csvr *r);
/* 0, or the non-zero answer of a callback (the stream is stopped). */
int csvr_feed(csvr *r, const void *data, size_t len);
/* The end of the input: the last record without a line end, an unclosed
 * quote. 0 or a callback's answer. */
int csvr_finish(csvr *r);
/* Read fd to its end in CSVR_CHUNK pieces and finish: 0, a callback's
 * answer, or CSVR_EIO. */
int csvr_read_fd(csvr *r, int fd);

#endif

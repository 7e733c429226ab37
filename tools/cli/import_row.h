/*
 * import_row: the lines of an import file (mtgate import) checked and
 * turned into IMPORT rows. Pure: the one thing it asks of the world is a
 * program's id, through a callback (the CLI's is PROGRAM_GET; tests give
 * their own), so every rule about a line is tested without a server.
 *
 * The file
 *   A header line names the columns, in any order: number, program,
 *   channel, opted_in_at, source (IMPORT_COL_*; names in any case). number
 *   is required; program is required unless the import has a default
 *   program (--program). Every data line has as many fields as the header.
 *
 * A data line is bad, with a reason that names the problem, when it has
 * the wrong number of fields, a field that is not UTF-8 or holds a NUL, a
 * number mtgate_number_parse refuses (country code 1 for 10 digits, as
 * cli_number), a program that is not SC:KW, unknown to the server, or
 * another than the default program, a channel that is not one IMPORT
 * takes, an opted_in_at that is not RFC 3339 (or not after 1970), or a
 * source over MTGATE_SOURCE_MAX bytes. Empty channel: import; empty
 * opted_in_at: now (0); empty program: the default program.
 *
 * Program ids are cached by SC:KW (keyword upper case), unknown ones too,
 * in IMPORT_CACHE_SLOTS direct-mapped slots: a file naming few programs
 * asks the server once for each, and one naming millions costs no memory.
 */
#ifndef MTGATE_CLI_IMPORT_ROW_H
#define MTGATE_CLI_IMPORT_ROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"
#include "cli/csvread.h"

enum import_col {
	IMPORT_COL_NUMBER,
	IMPORT_COL_PROGRAM,
	IMPORT_COL_CHANNEL,
	IMPORT_COL_OPTED_IN_AT,
	IMPORT_COL_SOURCE,
	IMPORT_COL_MAX
};

/* "number", "program", "channel", "opted_in_at", "source": the header
 * mtgate export writes, in its order. */
extern const char *const import_col_names[IMPORT_COL_MAX];

#define IMPORT_WHY_MAX     192 /* bytes of a reason, NUL included */
#define IMPORT_CACHE_SLOTS 256

/* The id of program sc:kw: 0 with *id, MTGATE_ENOPROGRAM, or another
 * negative code, which ends the import (printed by the callback). */
typedef int (*import_resolve_fn)(void *ctx, const char *sc, const char *kw,
				 uint32_t *id);

typedef struct import_slot {
	char key[CLI_LABEL_SIZE]; /* "SC:KW", keyword upper case; "" free */
	int rc;                   /* 0 or MTGATE_ENOPROGRAM */
	uint32_t id;
} import_slot;

typedef struct import_rows {
	int col[IMPORT_COL_MAX]; /* field index of each column, -1 absent */
	size_t ncols;            /* fields the header has */
	uint32_t program;        /* the default program; 0 none */
	char program_label[CLI_LABEL_SIZE];
	import_resolve_fn resolve;
	void *resolve_ctx;
	import_slot cache[IMPORT_CACHE_SLOTS];
} import_rows;

/* program 0: no default; else its id and label (SC:KW, for reasons). */
void import_rows_init(import_rows *ir, uint32_t program, const char *label,
		      import_resolve_fn resolve, void *ctx);

/* The header line's n fields: 0, or -1 with why (an unknown or repeated
 * column, number missing, program missing without a default). */
int import_header(import_rows *ir, const csvr_field *f, size_t n,
		  char why[IMPORT_WHY_MAX]);

enum { IMPORT_ROW_OK = 0, IMPORT_ROW_BAD = 1 };

/* One data line: IMPORT_ROW_OK with *row (its source points into f),
 * IMPORT_ROW_BAD with why, or the resolver's failure (negative). */
int import_row(import_rows *ir, const csvr_field *f, size_t n,
	       mtgate_c_import_row *row, char why[IMPORT_WHY_MAX]);

/* The channel names IMPORT takes: mo web ivr pos import api ussd wap mms
 * (cli_channel_name's words). -1 for any other. */
int import_channel_parse(const char *s, mtgate_channel *out);

/* f's text for a reason: cut to IMPORT_QUOTE_MAX bytes at a character
 * boundary, "..." after a cut. Returns out. */
#define IMPORT_QUOTE_MAX  40
#define IMPORT_QUOTE_SIZE (IMPORT_QUOTE_MAX + 4)
const char *import_quote(const csvr_field *f, char out[IMPORT_QUOTE_SIZE]);

/* A field is text the server takes: valid UTF-8 without a NUL. */
bool import_text_ok(const csvr_field *f);

#endif

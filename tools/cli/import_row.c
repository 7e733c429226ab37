/*
 * import_row: one line of an import file checked and made an IMPORT row.
 * Contract: import_row.h. Reasons quote the field they refuse, cut to
 * IMPORT_QUOTE_MAX bytes on a character boundary, so a report stays one short
 * line (the CLI escapes control characters when it prints it).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <utf8proc.h>

#include "cli/import_row.h"

const char *const import_col_names[IMPORT_COL_MAX] = {
	[IMPORT_COL_NUMBER] = "number",
	[IMPORT_COL_PROGRAM] = "program",
	[IMPORT_COL_CHANNEL] = "channel",
	[IMPORT_COL_OPTED_IN_AT] = "opted_in_at",
	[IMPORT_COL_SOURCE] = "source",
};

void import_rows_init(import_rows *ir, uint32_t program, const char *label,
		      import_resolve_fn resolve, void *ctx)
{
	memset(ir, 0, sizeof(*ir));
	for (int i = 0; i < IMPORT_COL_MAX; i++)
		ir->col[i] = -1;
	ir->program = program;
	snprintf(ir->program_label, sizeof(ir->program_label), "%s",
		 label != NULL ? label : "");
	ir->resolve = resolve;
	ir->resolve_ctx = ctx;
}

int import_header(import_rows *ir, const csvr_field *f, size_t n,
		  char why[IMPORT_WHY_MAX])
{
	for (size_t i = 0; i < n; i++) {
		int c = 0;

		if (i >= CSVR_FIELDS_MAX) {
			snprintf(why, IMPORT_WHY_MAX,
				 "the header has %zu columns, at most %d are "
				 "known",
				 n, IMPORT_COL_MAX);
			return -1;
		}
		while (c < IMPORT_COL_MAX &&
		       strcasecmp(f[i].s, import_col_names[c]) != 0)
			c++;
		if (c == IMPORT_COL_MAX || strlen(f[i].s) != f[i].len) {
			snprintf(why, IMPORT_WHY_MAX,
				 "unknown column '%.*s' in the header "
				 "(expected number, program, channel, "
				 "opted_in_at, source)",
				 IMPORT_QUOTE_MAX, f[i].s);
			return -1;
		}
		if (ir->col[c] >= 0) {
			snprintf(why, IMPORT_WHY_MAX,
				 "column '%s' is named twice in the header",
				 import_col_names[c]);
			return -1;
		}
		ir->col[c] = (int)i;
	}
	ir->ncols = n;
	if (ir->col[IMPORT_COL_NUMBER] < 0) {
		snprintf(why, IMPORT_WHY_MAX,
			 "the header has no column number");
		return -1;
	}
	if (ir->col[IMPORT_COL_PROGRAM] < 0 && ir->program == 0) {
		snprintf(why, IMPORT_WHY_MAX,
			 "the header has no column program (or give "
			 "--program SC:KW)");
		return -1;
	}
	return 0;
}

bool import_text_ok(const csvr_field *f)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)f->s;
	size_t left = f->len;
	utf8proc_int32_t cp;

	while (left > 0) {
		utf8proc_ssize_t k =
			utf8proc_iterate(p, (utf8proc_ssize_t)left, &cp);
		if (k <= 0 || cp == 0)
			return false;
		p += k;
		left -= (size_t)k;
	}
	return true;
}

int import_channel_parse(const char *s, mtgate_channel *out)
{
	for (int ch = MTGATE_CHANNEL_MO; ch < MTGATE_CHANNEL_MAX; ch++) {
		if (ch != MTGATE_CHANNEL_CARRIER &&
		    strcmp(s, cli_channel_name((mtgate_channel)ch)) == 0) {
			*out = (mtgate_channel)ch;
			return 0;
		}
	}
	return -1;
}

const char *import_quote(const csvr_field *f, char out[IMPORT_QUOTE_SIZE])
{
	size_t n = f->len;

	if (n > IMPORT_QUOTE_MAX) {
		n = IMPORT_QUOTE_MAX;
		while (n > 0 && ((unsigned char)f->s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, f->s, n);
	strcpy(out + n, n < f->len ? "..." : "");
	return out;
}

/* "SC:KW" as a cache key with the keyword upper case; false when the
 * text is not SC:KW. sc and kw get the parts. */
static bool program_key(const char *text, char key[CLI_LABEL_SIZE],
			char sc[CLI_SC_SIZE], char kw[CLI_KW_SIZE])
{
	const char *colon = strchr(text, ':');
	size_t sc_len;

	if (colon == NULL)
		return false;
	sc_len = (size_t)(colon - text);
	if (sc_len == 0 || sc_len > MTGATE_SHORTCODE_MAX ||
	    !cli_alnum(colon + 1, MTGATE_KEYWORD_MAX))
		return false;
	memcpy(sc, text, sc_len);
	sc[sc_len] = '\0';
	if (!cli_alnum(sc, MTGATE_SHORTCODE_MAX))
		return false;
	strcpy(kw, colon + 1);
	for (char *p = kw; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	snprintf(key, CLI_LABEL_SIZE, "%s:%s", sc, kw);
	return true;
}

/* The id of program text through the cache: 0, MTGATE_ENOPROGRAM (also
 * for text that is not SC:KW: *malformed set), or the resolver's
 * failure. */
static int program_lookup(import_rows *ir, const char *text, uint32_t *id,
			  bool *malformed)
{
	char key[CLI_LABEL_SIZE], sc[CLI_SC_SIZE], kw[CLI_KW_SIZE];
	import_slot *slot;
	uint32_t h = 2166136261u; /* FNV-1a */
	int rc;

	*malformed = !program_key(text, key, sc, kw);
	if (*malformed)
		return MTGATE_ENOPROGRAM;
	for (const char *p = key; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	slot = &ir->cache[h % IMPORT_CACHE_SLOTS];
	if (strcmp(slot->key, key) != 0) {
		rc = ir->resolve(ir->resolve_ctx, sc, kw, &slot->id);
		if (rc < 0 && rc != MTGATE_ENOPROGRAM) {
			slot->key[0] = '\0';
			return rc;
		}
		slot->rc = rc;
		memcpy(slot->key, key, sizeof(key));
	}
	*id = slot->id;
	return slot->rc;
}

/* The program of a line: its column, else the default. */
static int row_program(import_rows *ir, const csvr_field *f, uint32_t *id,
		       char *why)
{
	char q[IMPORT_QUOTE_SIZE];
	bool malformed;
	int rc;

	if (f == NULL || f->len == 0) {
		*id = ir->program;
		if (ir->program != 0)
			return IMPORT_ROW_OK;
		snprintf(why, IMPORT_WHY_MAX, "no program");
		return IMPORT_ROW_BAD;
	}
	rc = program_lookup(ir, f->s, id, &malformed);
	if (rc < 0 && rc != MTGATE_ENOPROGRAM)
		return rc;
	if (malformed)
		snprintf(why, IMPORT_WHY_MAX,
			 "bad program '%s': expected SHORTCODE:KEYWORD",
			 import_quote(f, q));
	else if (rc == MTGATE_ENOPROGRAM)
		snprintf(why, IMPORT_WHY_MAX, "unknown program '%s'",
			 import_quote(f, q));
	else if (ir->program != 0 && *id != ir->program)
		snprintf(why, IMPORT_WHY_MAX,
			 "program '%s' is not --program %s", import_quote(f, q),
			 ir->program_label);
	else
		return IMPORT_ROW_OK;
	return IMPORT_ROW_BAD;
}

/* The line's field of column c, or NULL when the header has none. */
static const csvr_field *col(const import_rows *ir, const csvr_field *f,
			     enum import_col c)
{
	return ir->col[c] >= 0 ? &f[ir->col[c]] : NULL;
}

/* Channel, date and source of a line into *row. */
static int row_rest(import_rows *ir, const csvr_field *f,
		    mtgate_c_import_row *row, char *why)
{
	const csvr_field *ch = col(ir, f, IMPORT_COL_CHANNEL);
	const csvr_field *at = col(ir, f, IMPORT_COL_OPTED_IN_AT);
	const csvr_field *src = col(ir, f, IMPORT_COL_SOURCE);
	char q[IMPORT_QUOTE_SIZE];

	row->channel = MTGATE_CHANNEL_IMPORT;
	if (ch != NULL && ch->len > 0 &&
	    import_channel_parse(ch->s, &row->channel) < 0) {
		snprintf(why, IMPORT_WHY_MAX,
			 "bad channel '%s': expected mo, web, ivr, pos, "
			 "import, api, ussd, wap or mms",
			 import_quote(ch, q));
		return IMPORT_ROW_BAD;
	}
	row->at_ms = 0;
	if (at != NULL && at->len > 0 &&
	    (cli_time_parse(at->s, &row->at_ms) < 0 || row->at_ms <= 0)) {
		snprintf(why, IMPORT_WHY_MAX,
			 "bad opted_in_at '%s': expected RFC 3339 after 1970, "
			 "e.g. 2026-11-23T13:11:44Z",
			 import_quote(at, q));
		return IMPORT_ROW_BAD;
	}
	row->source = src != NULL && src->len > 0 ? src->s : NULL;
	row->source_len = src != NULL ? src->len : 0;
	if (row->source_len > MTGATE_SOURCE_MAX) {
		snprintf(why, IMPORT_WHY_MAX,
			 "source is longer than %d bytes (%zu)",
			 MTGATE_SOURCE_MAX, row->source_len);
		return IMPORT_ROW_BAD;
	}
	return IMPORT_ROW_OK;
}

int import_row(import_rows *ir, const csvr_field *f, size_t n,
	       mtgate_c_import_row *row, char why[IMPORT_WHY_MAX])
{
	const csvr_field *num;
	char q[IMPORT_QUOTE_SIZE];
	int rc;

	if (n != ir->ncols) {
		snprintf(why, IMPORT_WHY_MAX,
			 "wrong column count: %zu fields, the header has %zu",
			 n, ir->ncols);
		return IMPORT_ROW_BAD;
	}
	for (size_t i = 0; i < n; i++) {
		if (!import_text_ok(&f[i])) {
			int c = 0;
			while (ir->col[c] != (int)i)
				c++;
			snprintf(why, IMPORT_WHY_MAX,
				 "invalid UTF-8 or a NUL byte in column %s",
				 import_col_names[c]);
			return IMPORT_ROW_BAD;
		}
	}
	num = col(ir, f, IMPORT_COL_NUMBER);
	rc = mtgate_number_parse(num->s, num->len, 1, &row->number);
	if (rc < 0) {
		snprintf(why, IMPORT_WHY_MAX, "bad number '%s': %s",
			 import_quote(num, q), mtgate_strerror(rc));
		return IMPORT_ROW_BAD;
	}
	rc = row_program(ir, col(ir, f, IMPORT_COL_PROGRAM), &row->program,
			 why);
	if (rc != IMPORT_ROW_OK)
		return rc;
	return row_rest(ir, f, row, why);
}

/*
 * rules_tokenize: an MO text as folded words (STOP-1, HELP-1).
 *
 * Contract (rules.h):
 *  - text is len bytes of UTF-8, not NUL-terminated; text may be NULL when
 *    len is 0. len > RULES_MO_MAX gives MTGATE_EMO_LONG before anything is
 *    read; any invalid UTF-8 (stray or missing continuation byte, overlong
 *    form, surrogate, above U+10FFFF) anywhere gives MTGATE_EMO_UTF8, even
 *    past the RULES_WORDS_MAX'th word. On error out->n is 0.
 *  - Each code point is folded with utf8proc: compatibility decomposition,
 *    case folding, marks stripped (NFKD + casefold + STRIPMARK), so "ARRÊT"
 *    and "ＳＴＯＰ" fold to "arret" and "stop", and "ß" to "ss".
 *  - A word is a maximal run of folded code points of category L* or N*;
 *    everything else (punctuation, spaces, symbols, controls, U+0000)
 *    separates. A stripped mark separates nothing: "E\u0301T" is "et".
 *    Letters and digits run together: "STOP2Quit" is one word "stop2quit".
 *  - out->w[i] is NUL-terminated lower-case UTF-8 of 1..RULES_WORD_MAX
 *    bytes. A longer word is cut at the last whole code point that fits
 *    and out->len[i] is then RULES_WORD_MAX + 1: a cut word never matches a
 *    reserved word or a keyword (rules_mo_step checks the length first).
 *    Otherwise out->len[i] == strlen(out->w[i]).
 *  - At most RULES_WORDS_MAX words are kept; later ones are dropped.
 *    Entries at and past out->n are unspecified.
 *
 * Cost: one pass, no allocation. ASCII bytes are folded and classified by
 * a 128-byte table without calling utf8proc, so a pure-ASCII MO never
 * calls it; a non-ASCII code point costs one utf8proc_decompose_char into
 * a stack buffer and one utf8proc_category per folded code point.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <utf8proc.h>

#include "rules/rules.h"

#define FOLD_OPTS                                                              \
	(UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |               \
	 UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK)

/* Longest folding of one code point is 18 (U+FDFA); leave room. */
#define FOLD_CP_MAX 32

/* ASCII letter or digit -> its lower case; anything else -> 0 (separator). */
#define AL(c) [c] = c
#define UP(c) [c] = (c) + ('a' - 'A')
static const char ascii_fold[128] = {
	AL('0'), AL('1'), AL('2'), AL('3'), AL('4'), AL('5'), AL('6'), AL('7'),
	AL('8'), AL('9'), AL('a'), AL('b'), AL('c'), AL('d'), AL('e'), AL('f'),
	AL('g'), AL('h'), AL('i'), AL('j'), AL('k'), AL('l'), AL('m'), AL('n'),
	AL('o'), AL('p'), AL('q'), AL('r'), AL('s'), AL('t'), AL('u'), AL('v'),
	AL('w'), AL('x'), AL('y'), AL('z'), UP('A'), UP('B'), UP('C'), UP('D'),
	UP('E'), UP('F'), UP('G'), UP('H'), UP('I'), UP('J'), UP('K'), UP('L'),
	UP('M'), UP('N'), UP('O'), UP('P'), UP('Q'), UP('R'), UP('S'), UP('T'),
	UP('U'), UP('V'), UP('W'), UP('X'), UP('Y'), UP('Z'),
};
#undef AL
#undef UP

/* The word being built: its bytes go straight into out->w[out->n]. */
typedef struct tok {
	rules_words *out;
	uint32_t wlen; /* bytes of the open word so far */
	bool open;     /* a word is open */
	bool cut;      /* the open word lost bytes (RULES_WORD_MAX) */
} tok;

static void tok_end(tok *t)
{
	rules_words *o = t->out;

	if (!t->open)
		return;
	if (o->n < RULES_WORDS_MAX) {
		o->w[o->n][t->wlen] = '\0';
		o->len[o->n] = (uint8_t)(t->cut ? RULES_WORD_MAX + 1 : t->wlen);
		o->n++;
	}
	t->open = false;
	t->cut = false;
	t->wlen = 0;
}

/* Append k bytes (one whole code point) to the open word, or open one. A
 * code point that does not fit cuts the word there for good. */
static void tok_put(tok *t, const uint8_t *b, uint32_t k)
{
	rules_words *o = t->out;

	t->open = true;
	if (o->n >= RULES_WORDS_MAX || t->cut)
		return;
	if (t->wlen + k > RULES_WORD_MAX) {
		t->cut = true;
		return;
	}
	for (uint32_t i = 0; i < k; i++)
		o->w[o->n][t->wlen + i] = (char)b[i];
	t->wlen += k;
}

/*
 * Decode one code point of s[0..n) (n >= 1, s[0] >= 0x80) strictly, as in
 * Unicode table 3-7. Returns its byte count, or 0 when it is not valid.
 */
static uint32_t utf8_decode(const uint8_t *s, size_t n, int32_t *cp)
{
	uint8_t b = s[0], lo = 0x80, hi = 0xbf;
	uint32_t k;
	int32_t c;

	if (b >= 0xc2 && b <= 0xdf) {
		k = 2;
		c = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		k = 3;
		c = b & 0x0f;
		lo = b == 0xe0 ? 0xa0 : 0x80;
		hi = b == 0xed ? 0x9f : 0xbf;
	} else if (b >= 0xf0 && b <= 0xf4) {
		k = 4;
		c = b & 0x07;
		lo = b == 0xf0 ? 0x90 : 0x80;
		hi = b == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 0;
	}
	if (n < k || s[1] < lo || s[1] > hi)
		return 0;
	for (uint32_t i = 1; i < k; i++) {
		if (i > 1 && (s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return k;
}

static bool is_word_cp(int32_t cp)
{
	utf8proc_category_t cat = utf8proc_category(cp);

	return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
	       (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

/* Fold one non-ASCII code point and feed what it becomes. */
static void tok_fold_cp(tok *t, int32_t cp)
{
	utf8proc_int32_t buf[FOLD_CP_MAX];
	utf8proc_uint8_t enc[4];
	utf8proc_ssize_t n, k;
	int boundclass = 0;

	n = utf8proc_decompose_char(cp, buf, FOLD_CP_MAX, FOLD_OPTS,
				    &boundclass);
	if (n < 0)
		n = 0; /* cannot happen for a valid code point: a separator */
	if (n > FOLD_CP_MAX)
		n = FOLD_CP_MAX; /* cannot happen either; bounded anyway */
	for (utf8proc_ssize_t i = 0; i < n; i++) {
		if (!is_word_cp(buf[i])) {
			tok_end(t);
			continue;
		}
		k = utf8proc_encode_char(buf[i], enc);
		tok_put(t, enc, (uint32_t)k);
	}
}

int rules_tokenize(const char *text, size_t len, rules_words *out)
{
	const uint8_t *s = (const uint8_t *)text;
	tok t = {.out = out};
	int32_t cp = 0;
	uint32_t k;

	out->n = 0;
	if (len > RULES_MO_MAX)
		return MTGATE_EMO_LONG;
	for (size_t i = 0; i < len;) {
		uint8_t b = s[i];

		if (b < 0x80) {
			char c = ascii_fold[b];

			if (c)
				tok_put(&t, (const uint8_t *)&c, 1);
			else
				tok_end(&t);
			i++;
			continue;
		}
		k = utf8_decode(s + i, len - i, &cp);
		if (!k) {
			out->n = 0;
			return MTGATE_EMO_UTF8;
		}
		tok_fold_cp(&t, cp);
		i += k;
	}
	tok_end(&t);
	return 0;
}

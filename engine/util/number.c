/*
 * E.164 numbers as integers (see "numbers" in mtgate/engine.h).
 *
 * A number is kept as the integer value of its digits, country code first:
 * "+1 555-123-4567" is 15551234567. E.164 allows at most 15 digits and no
 * country code starts with 0, so every valid number is in
 * [1, 999999999999999] and no digit string is lost by the conversion.
 *
 * The parser reads exactly len bytes, never stops at a NUL and never reads
 * beyond len. It scans the whole text before it judges the digits, so a
 * letter anywhere gives MTGATE_ENUMBER_CHAR even in a text that is also too
 * long. The order of the checks is: CHAR, EMPTY, CC0, LONG.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtgate/engine.h"

#define NUMBER_DIGITS_MAX      15
#define NUMBER_NATIONAL_DIGITS 10
#define NUMBER_CC_MAX          999u
#define NUMBER_MAX             MTGATE_NUMBER_MAX /* 15 nines */

/* What a scan of the text found. value holds at most NUMBER_DIGITS_MAX
 * digits; ndigits keeps counting past that so "too long" is known. */
typedef struct number_scan {
	uint64_t value;
	size_t ndigits;
	bool plus;
	bool zero_first;
} number_scan;

static bool number_is_separator(unsigned char c)
{
	return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}

/* Scan text[0..len): leading spaces, one optional '+', then digits and
 * separators only. Returns 0 or MTGATE_ENUMBER_CHAR. */
static int number_scan_text(const char *text, size_t len, number_scan *s)
{
	size_t i = 0;

	while (i < len && text[i] == ' ')
		i++;
	if (i < len && text[i] == '+') {
		s->plus = true;
		i++;
	}
	for (; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c >= '0' && c <= '9') {
			if (s->ndigits == 0)
				s->zero_first = c == '0';
			if (s->ndigits < NUMBER_DIGITS_MAX)
				s->value = s->value * 10 + (c - '0');
			s->ndigits++;
		} else if (!number_is_separator(c)) {
			return MTGATE_ENUMBER_CHAR;
		}
	}
	return 0;
}

/* Number of decimal digits of cc (1..999). */
static size_t number_cc_digits(unsigned cc)
{
	return cc >= 100 ? 3 : cc >= 10 ? 2 : 1;
}

int mtgate_number_parse(const char *text, size_t len, unsigned default_cc,
			uint64_t *number_out)
{
	number_scan s = {0};
	uint64_t scale = 1;
	int err;

	if (number_out == NULL || default_cc > NUMBER_CC_MAX)
		return MTGATE_EINVAL;
	if (text == NULL || len == 0)
		return MTGATE_ENUMBER_EMPTY;
	err = number_scan_text(text, len, &s);
	if (err != 0)
		return err;
	if (s.ndigits == 0)
		return MTGATE_ENUMBER_EMPTY;
	/* Also for a national number: a leading 0 there is a trunk prefix,
	 * and putting the country code in front of it would not give the
	 * E.164 form. */
	if (s.zero_first)
		return MTGATE_ENUMBER_CC0;
	if (!s.plus && s.ndigits == NUMBER_NATIONAL_DIGITS && default_cc != 0) {
		for (size_t i = 0; i < NUMBER_NATIONAL_DIGITS; i++)
			scale *= 10;
		s.value += default_cc * scale;
		s.ndigits += number_cc_digits(default_cc);
	}
	if (s.ndigits > NUMBER_DIGITS_MAX)
		return MTGATE_ENUMBER_LONG;
	*number_out = s.value;
	return 0;
}

/* Writes "+<digits>\0". Only valid numbers (1..15 digits) are written;
 * buflen must hold the sign, the digits and the NUL (17 bytes always do). */
int mtgate_number_format(uint64_t number, char *buf, size_t buflen)
{
	char digits[NUMBER_DIGITS_MAX];
	size_t n = 0;

	if (buf == NULL || number == 0 || number > NUMBER_MAX)
		return MTGATE_EINVAL;
	for (; number != 0; number /= 10)
		digits[n++] = (char)('0' + number % 10);
	if (buflen < n + 2)
		return MTGATE_EINVAL;
	buf[0] = '+';
	for (size_t i = 0; i < n; i++)
		buf[1 + i] = digits[n - 1 - i];
	buf[n + 1] = '\0';
	return (int)(n + 1);
}

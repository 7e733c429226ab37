/*
 * Checks mtgate_number_parse and mtgate_number_format (engine/util/number.c):
 * the accepted E.164 forms and the national form with a default country code,
 * each rejected form with its exact error code, that the parser never reads
 * past len (inputs are copied into exact-size heap buffers so ASan sees an
 * overread), every single byte value, and the format round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "mtgate/engine.h"
#include "store/table.h"

/* Parse len bytes of text from a heap copy with no NUL after it. */
static int parse_n(const char *text, size_t len, unsigned cc, uint64_t *out)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, text, len);
	rc = mtgate_number_parse(copy, len, cc, out);
	free(copy);
	return rc;
}

static int parse(const char *text, unsigned cc, uint64_t *out)
{
	return parse_n(text, strlen(text), cc, out);
}

static void expect_number(const char *text, unsigned cc, uint64_t want)
{
	uint64_t got = 0;

	assert_int_equal(parse(text, cc, &got), 0);
	assert_true(got == want);
}

static void expect_error(const char *text, unsigned cc, int want)
{
	uint64_t got = 42;

	assert_int_equal(parse(text, cc, &got), want);
	assert_true(got == 42); /* untouched on error */
}

static void test_number_international_forms(void **state)
{
	(void)state;
	expect_number("+1 555-123-4567", 0, 15551234567ull);
	expect_number("+1 555-123-4567", 1, 15551234567ull);
	expect_number("15551234567", 1, 15551234567ull);
	expect_number("+15551234567", 1, 15551234567ull);
	expect_number("+1 (555) 123.4567", 1, 15551234567ull);
	expect_number("  +1 555 123 4567", 1, 15551234567ull);
	expect_number("+44 20 7946 0958", 1, 442079460958ull);
	expect_number("+1-555-123-4567-", 1, 15551234567ull);
}

static void test_number_national_forms(void **state)
{
	(void)state;
	expect_number("(555) 123-4567", 1, 15551234567ull);
	expect_number("5551234567", 1, 15551234567ull);
	expect_number("5551234567", 0, 5551234567ull);
	expect_number("5551234567", 44, 445551234567ull);
	expect_number("5551234567", 999, 9995551234567ull);
	/* With '+' the 10 digits already carry their country code. */
	expect_number("+5551234567", 1, 5551234567ull);
	/* Only exactly 10 digits are national. */
	expect_number("555123456", 1, 555123456ull);
}

static void test_number_length_limits(void **state)
{
	(void)state;
	expect_number("+123456789012345", 0, 123456789012345ull);
	expect_number("999 999 999 999 999", 1, 999999999999999ull);
	expect_number("7", 0, 7ull);
	expect_error("+1234567890123456", 0, MTGATE_ENUMBER_LONG);
	expect_error("1234567890123456", 1, MTGATE_ENUMBER_LONG);
	/* A national number plus the longest country code has 13 digits,
	 * so adding the code alone can never make a number too long. */
	expect_error("99999999999999999999999999999999999999999", 1,
		     MTGATE_ENUMBER_LONG);
}

static void test_number_empty(void **state)
{
	uint64_t got = 42;

	(void)state;
	assert_int_equal(mtgate_number_parse(NULL, 0, 1, &got),
			 MTGATE_ENUMBER_EMPTY);
	assert_int_equal(mtgate_number_parse(NULL, 5, 1, &got),
			 MTGATE_ENUMBER_EMPTY);
	assert_int_equal(mtgate_number_parse("15551234567", 0, 1, &got),
			 MTGATE_ENUMBER_EMPTY);
	expect_error("", 1, MTGATE_ENUMBER_EMPTY);
	expect_error("    ", 1, MTGATE_ENUMBER_EMPTY);
	expect_error("+", 1, MTGATE_ENUMBER_EMPTY);
	expect_error("  + ", 1, MTGATE_ENUMBER_EMPTY);
	expect_error("()-. ", 1, MTGATE_ENUMBER_EMPTY);
	assert_true(got == 42);
}

static void test_number_bad_characters(void **state)
{
	(void)state;
	expect_error("+1555CALLNOW", 1, MTGATE_ENUMBER_CHAR);
	expect_error("1-800-FLOWERS", 1, MTGATE_ENUMBER_CHAR);
	expect_error("++1555", 1, MTGATE_ENUMBER_CHAR);
	expect_error("+1+555", 1, MTGATE_ENUMBER_CHAR);
	expect_error("1+555", 1, MTGATE_ENUMBER_CHAR);
	expect_error("-+1555", 1, MTGATE_ENUMBER_CHAR);
	expect_error("\t+15551234567", 1, MTGATE_ENUMBER_CHAR);
	expect_error("+1 555 123 4567 x12", 1, MTGATE_ENUMBER_CHAR);
	expect_error("+1/555/1234567", 1, MTGATE_ENUMBER_CHAR);
	/* A letter wins over "too long": the whole text is checked first. */
	expect_error("12345678901234567A", 1, MTGATE_ENUMBER_CHAR);
}

static void test_number_non_ascii(void **state)
{
	(void)state;
	/* U+00A0 no-break space between the groups. */
	expect_error("+1\xc2\xa0"
		     "5551234567",
		     1, MTGATE_ENUMBER_CHAR);
	/* U+FF11 fullwidth digit one. */
	expect_error("+\xef\xbc\x91"
		     "5551234567",
		     1, MTGATE_ENUMBER_CHAR);
	/* A lone high byte and a stray continuation byte. */
	expect_error("+1555\xff", 1, MTGATE_ENUMBER_CHAR);
	expect_error("\x80"
		     "15551234567",
		     1, MTGATE_ENUMBER_CHAR);
}

static void test_number_embedded_nul(void **state)
{
	static const char text[] = "+1555\0"
				   "1234567";
	uint64_t got = 42;

	(void)state;
	assert_int_equal(parse_n(text, sizeof(text) - 1, 1, &got),
			 MTGATE_ENUMBER_CHAR);
	/* Only len bytes count: the bytes after them are not read. */
	assert_int_equal(parse_n("15551234567XYZ", 11, 1, &got), 0);
	assert_true(got == 15551234567ull);
	assert_int_equal(parse_n("5551234567999", 10, 1, &got), 0);
	assert_true(got == 15551234567ull);
}

static void test_number_cc0(void **state)
{
	(void)state;
	expect_error("+0123", 1, MTGATE_ENUMBER_CC0);
	expect_error("+ 0 44 20 7946 0958", 1, MTGATE_ENUMBER_CC0);
	expect_error("0123456789", 0, MTGATE_ENUMBER_CC0);
	expect_error("00442079460958", 0, MTGATE_ENUMBER_CC0);
	/* A national number with a trunk 0 is not made valid by the code. */
	expect_error("0123456789", 1, MTGATE_ENUMBER_CC0);
}

static void test_number_bad_arguments(void **state)
{
	uint64_t got = 42;

	(void)state;
	assert_int_equal(mtgate_number_parse("15551234567", 11, 1, NULL),
			 MTGATE_EINVAL);
	expect_error("5551234567", 1000, MTGATE_EINVAL);
	expect_error("+15551234567", 1000, MTGATE_EINVAL);
	assert_int_equal(parse("5551234567", 999, &got), 0);
}

/* Every one-byte text: a digit 1-9 parses, 0 is CC0, the separators and
 * '+' and ' ' are empty, everything else is a bad character. */
static void test_number_every_byte(void **state)
{
	(void)state;
	for (int b = 0; b < 256; b++) {
		char c = (char)b;
		uint64_t got = 0;
		int rc = parse_n(&c, 1, 1, &got);

		if (b >= '1' && b <= '9') {
			assert_int_equal(rc, 0);
			assert_true(got == (uint64_t)(b - '0'));
		} else if (b == '0') {
			assert_int_equal(rc, MTGATE_ENUMBER_CC0);
		} else if (strchr(" -.()+", b) != NULL && b != 0) {
			assert_int_equal(rc, MTGATE_ENUMBER_EMPTY);
		} else {
			assert_int_equal(rc, MTGATE_ENUMBER_CHAR);
		}
	}
}

static void test_number_format_round_trip(void **state)
{
	static const uint64_t numbers[] = {
		1ull,          15551234567ull,     442079460958ull,
		5551234567ull, 123456789012345ull, 999999999999999ull,
	};
	char buf[17];

	(void)state;
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		uint64_t back = 0;
		int n = mtgate_number_format(numbers[i], buf, sizeof(buf));

		assert_true(n > 0);
		assert_int_equal((size_t)n, strlen(buf));
		assert_int_equal(buf[0], '+');
		assert_int_equal(parse(buf, 1, &back), 0);
		assert_true(back == numbers[i]);
	}
	assert_int_equal(mtgate_number_format(15551234567ull, buf, sizeof(buf)),
			 12);
	assert_string_equal(buf, "+15551234567");
}

/* The store's hash is xxh64 of the number's 8 little-endian bytes, seed 0,
 * written out for one lane: it must equal the library's XXH64 everywhere,
 * or a number's shard and slot would move between builds. */
static void test_number_hash_is_xxh64(void **state)
{
	uint64_t x = 0x243F6A8885A308D3ULL;

	(void)state;
	for (int i = 0; i < 1000000; i++) {
		unsigned char b[8];
		uint64_t n = i < 64 ? (uint64_t)1 << i : x;
		for (int j = 0; j < 8; j++)
			b[j] = (unsigned char)(n >> (8 * j));
		if (store_hash(n) != XXH64(b, sizeof(b), 0))
			fail_msg("hash of %llu differs", (unsigned long long)n);
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	}
	assert_int_equal(store_hash(0), XXH64("\0\0\0\0\0\0\0\0", 8, 0));
}

static void test_number_format_errors(void **state)
{
	char buf[17];

	(void)state;
	assert_int_equal(mtgate_number_format(0, buf, sizeof(buf)),
			 MTGATE_EINVAL);
	assert_int_equal(mtgate_number_format(1, NULL, sizeof(buf)),
			 MTGATE_EINVAL);
	/* "+15551234567" needs 13 bytes with its NUL. */
	assert_int_equal(mtgate_number_format(15551234567ull, buf, 12),
			 MTGATE_EINVAL);
	assert_int_equal(mtgate_number_format(15551234567ull, buf, 13), 12);
	assert_string_equal(buf, "+15551234567");
	assert_int_equal(mtgate_number_format(15551234567ull, buf, 0),
			 MTGATE_EINVAL);
	/* More than 15 digits is not a number the parser gives. */
	assert_int_equal(
		mtgate_number_format(1000000000000000ull, buf, sizeof(buf)),
		MTGATE_EINVAL);
	assert_int_equal(mtgate_number_format(UINT64_MAX, buf, sizeof(buf)),
			 MTGATE_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_number_international_forms),
		cmocka_unit_test(test_number_national_forms),
		cmocka_unit_test(test_number_length_limits),
		cmocka_unit_test(test_number_empty),
		cmocka_unit_test(test_number_bad_characters),
		cmocka_unit_test(test_number_non_ascii),
		cmocka_unit_test(test_number_embedded_nul),
		cmocka_unit_test(test_number_cc0),
		cmocka_unit_test(test_number_bad_arguments),
		cmocka_unit_test(test_number_every_byte),
		cmocka_unit_test(test_number_format_round_trip),
		cmocka_unit_test(test_number_format_errors),
		cmocka_unit_test(test_number_hash_is_xxh64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

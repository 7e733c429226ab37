/*
 * Checks the storage codec's record of a number on a short code
 * (engine/persist/codec.c, codec_scope_*): the latest opt-out and, while
 * the STOP-4 question is open, the programs it covers, round trip; a
 * record written before the second list existed still decodes (and covers
 * every active program); a record cut short or too long is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "persist/codec.h"

static void test_scope_open_round_trip(void **state)
{
	unsigned char buf[CODEC_SCOPE_MAX(2, 3)];
	uint32_t lastout[2] = {7, 9}, asked[3] = {7, 9, 11}, lo[8], as[8];
	codec_scope in = {.open = true,
			  .opened_at_ms = 1773576000000LL,
			  .n_lastout = 2,
			  .n_asked = 3},
		    out;
	size_t n;

	(void)state;
	n = codec_scope_encode(buf, &in, lastout, asked);
	assert_int_equal(n, sizeof(buf));
	assert_int_equal(codec_scope_decode((char *)buf, n, &out, lo, as, 8),
			 0);
	assert_true(out.open && out.has_asked);
	assert_int_equal(out.opened_at_ms, in.opened_at_ms);
	assert_int_equal(out.n_lastout, 2);
	assert_int_equal(out.n_asked, 3);
	assert_memory_equal(lo, lastout, sizeof(lastout));
	assert_memory_equal(as, asked, sizeof(asked));
	/* Cut short, one byte too many, a cap too small: refused. */
	assert_int_equal(
		codec_scope_decode((char *)buf, n - 1, &out, lo, as, 8),
		MTGATE_ECORRUPT);
	assert_int_equal(
		codec_scope_decode((char *)buf, n + 1, &out, lo, as, 8),
		MTGATE_ECORRUPT);
	assert_int_equal(codec_scope_decode((char *)buf, n, &out, lo, as, 2),
			 MTGATE_ECORRUPT);
}

static void test_scope_closed_has_no_asked_list(void **state)
{
	unsigned char buf[CODEC_SCOPE_MAX(1, 0)];
	uint32_t lastout[1] = {5}, lo[4], as[4];
	codec_scope in = {.open = false, .n_lastout = 1, .n_asked = 3}, out;
	size_t n;

	(void)state;
	n = codec_scope_encode(buf, &in, lastout, NULL);
	assert_int_equal(n, CODEC_SCOPE_FIXED + 4);
	assert_int_equal(codec_scope_decode((char *)buf, n, &out, lo, as, 4),
			 0);
	assert_false(out.open);
	assert_false(out.has_asked);
	assert_int_equal(out.n_lastout, 1);
	assert_int_equal(lo[0], 5);
}

/* A record of the first layout: open, no list of the programs asked. */
static void test_scope_first_layout_still_decodes(void **state)
{
	unsigned char buf[CODEC_SCOPE_FIXED + 4] = {0};
	uint32_t lo[4], as[4];
	codec_scope out;

	(void)state;
	buf[0] = 1;     /* the codec's version */
	buf[1] = 1;     /* open */
	buf[10] = 1;    /* one id in the latest opt-out */
	buf[12] = 0x2a; /* program 42 */
	assert_int_equal(
		codec_scope_decode((char *)buf, sizeof(buf), &out, lo, as, 4),
		0);
	assert_true(out.open);
	assert_false(out.has_asked);
	assert_int_equal(lo[0], 42);
	buf[1] = 2; /* neither open nor closed */
	assert_int_equal(
		codec_scope_decode((char *)buf, sizeof(buf), &out, lo, as, 4),
		MTGATE_ECORRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scope_open_round_trip),
		cmocka_unit_test(test_scope_closed_has_no_asked_list),
		cmocka_unit_test(test_scope_first_layout_still_decodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

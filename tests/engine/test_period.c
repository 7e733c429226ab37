/*
 * Checks engine/period.c: time zone resolution (UTC aliases, fixed offsets,
 * IANA names, every malformed or unknown zone gives MTGATE_ETZ) and period
 * spans: day, week (Monday) and month bounds in UTC, in fixed offsets and in
 * zones with DST, including 23- and 25-hour days, a skipped local midnight,
 * a skipped calendar day, a local date that runs backwards, and that
 * consecutive spans meet with no gap or overlap (end of one == start of the
 * next) and have consecutive indexes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "period.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------- */

static void expect_tz(const char *tz, const char *want)
{
	char id[PERIOD_TZ_ID_MAX];

	assert_int_equal(period_tz_resolve(tz, id, sizeof(id)), 0);
	assert_string_equal(id, want);
}

static void expect_bad_tz(const char *tz)
{
	char id[PERIOD_TZ_ID_MAX];

	assert_int_equal(period_tz_resolve(tz, id, sizeof(id)), MTGATE_ETZ);
}

/* Span of p at now_ms in zone tz (resolved first). */
static period_span span(const char *tz, mtgate_period p, int64_t now_ms)
{
	char id[PERIOD_TZ_ID_MAX];
	period_span s;

	assert_int_equal(period_tz_resolve(tz, id, sizeof(id)), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(period_span_at(id, p, now_ms, &s), 0);
	assert_true(s.start_ms <= now_ms && now_ms < s.end_ms);
	return s;
}

static void expect_span(const char *tz, mtgate_period p, int64_t now_ms,
			int64_t start_ms, int64_t end_ms)
{
	period_span s = span(tz, p, now_ms);

	assert_true(s.start_ms == start_ms);
	assert_true(s.end_ms == end_ms);
}

/* ---- time zone ids ------------------------------------------------------- */

static void test_period_tz_utc_aliases(void **state)
{
	(void)state;
	expect_tz(NULL, "UTC");
	expect_tz("", "UTC");
	expect_tz("UTC", "UTC");
	expect_tz("GMT", "UTC");
	expect_tz("Z", "UTC");
	expect_tz("+00:00", "UTC");
	expect_tz("UTC-0", "UTC");
}

static void test_period_tz_fixed_offsets(void **state)
{
	(void)state;
	expect_tz("+05:30", "GMT+05:30");
	expect_tz("-0800", "GMT-08:00");
	expect_tz("+5", "GMT+05:00");
	expect_tz("+5:45", "GMT+05:45");
	expect_tz("UTC+2", "GMT+02:00");
	expect_tz("UTC-8", "GMT-08:00");
	expect_tz("GMT-03:30", "GMT-03:30");
	expect_tz("UTC-08:00", "GMT-08:00");
	expect_tz("+18:00", "GMT+18:00");
	expect_tz("-18", "GMT-18:00");
}

static void test_period_tz_iana(void **state)
{
	(void)state;
	expect_tz("America/New_York", "America/New_York");
	expect_tz("Europe/London", "Europe/London");
	/* Kept as written, not replaced by CLDR's "Asia/Calcutta". */
	expect_tz("Asia/Kolkata", "Asia/Kolkata");
	expect_tz("US/Eastern", "US/Eastern");
	expect_tz("Etc/UTC", "Etc/UTC");
}

static void test_period_tz_unknown(void **state)
{
	char longname[201];

	(void)state;
	expect_bad_tz("Mars/Olympus");
	expect_bad_tz("America/Nowhere");
	expect_bad_tz("Etc/Unknown");
	expect_bad_tz("america/new_york");
	expect_bad_tz("America/New_York ");
	expect_bad_tz("Zulu/");
	/* ICU looks this up as Africa/Asmara but cannot open it. */
	expect_bad_tz("Africa:Asmara");
	expect_bad_tz("\xff\xfe");
	memset(longname, 'A', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memcpy(longname, "America/", 8);
	expect_bad_tz(longname);
}

static void test_period_tz_bad_offsets(void **state)
{
	static const char *const bad[] = {
		"+25:00", "+18:30",  "+19",       "UTC+",  "GMT-",
		"+",      "-",       "+05:60",    "+5:3",  "+005",
		"+00530", "+05:30x", "+05:30:00", "++5",   "+ 5",
		"UTC+5:", "UTC+2h",  "+-5",       "UTC 2",
	};
	char id[PERIOD_TZ_ID_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(period_tz_resolve(bad[i], id, sizeof(id)),
				 MTGATE_ETZ);
	/* The caller must give room for any id. */
	assert_int_equal(period_tz_resolve("UTC", id, PERIOD_TZ_ID_MAX - 1),
			 MTGATE_EINVAL);
	assert_int_equal(period_tz_resolve("UTC", NULL, PERIOD_TZ_ID_MAX),
			 MTGATE_EINVAL);
}

/* ---- spans --------------------------------------------------------------- */

static void test_period_utc_day(void **state)
{
	int64_t now = tu_utc(2026, 5, 17, 13, 45, 10) + 123;
	int64_t day = tu_utc(2026, 5, 17, 0, 0, 0);
	period_span s = span("UTC", MTGATE_PERIOD_DAY, now);

	(void)state;
	assert_true(s.start_ms == day);
	assert_true(s.end_ms == day + TU_DAY_MS);
	assert_int_equal(s.index, (uint16_t)(day / TU_DAY_MS));
	/* The epoch is day, week and month 0. */
	assert_int_equal(span("UTC", MTGATE_PERIOD_DAY, 0).index, 0);
	assert_int_equal(span("UTC", MTGATE_PERIOD_WEEK, 0).index, 0);
	assert_int_equal(span("UTC", MTGATE_PERIOD_MONTH, 0).index, 0);
	expect_span("UTC", MTGATE_PERIOD_DAY, day + TU_DAY_MS - 1, day,
		    day + TU_DAY_MS);
}

static void test_period_month_rollover(void **state)
{
	int64_t jan = tu_utc(2026, 1, 31, 23, 59, 59);
	int64_t feb = tu_utc(2026, 2, 1, 0, 0, 0);
	period_span a = span("UTC", MTGATE_PERIOD_MONTH, jan);
	period_span b = span("UTC", MTGATE_PERIOD_MONTH, feb);

	(void)state;
	assert_true(a.start_ms == tu_utc(2026, 1, 1, 0, 0, 0));
	assert_true(a.end_ms == feb);
	assert_true(b.start_ms == feb);
	assert_true(b.end_ms == tu_utc(2026, 3, 1, 0, 0, 0));
	assert_int_equal(a.index, (2026 - 1970) * 12 + 0);
	assert_int_equal(b.index, (2026 - 1970) * 12 + 1);
	/* December rolls into the next year. */
	expect_span("UTC", MTGATE_PERIOD_MONTH, tu_utc(2026, 12, 31, 12, 0, 0),
		    tu_utc(2026, 12, 1, 0, 0, 0), tu_utc(2027, 1, 1, 0, 0, 0));
	/* A leap February. */
	expect_span("UTC", MTGATE_PERIOD_MONTH, tu_utc(2028, 2, 29, 12, 0, 0),
		    tu_utc(2028, 2, 1, 0, 0, 0), tu_utc(2028, 3, 1, 0, 0, 0));
}

/* In New York (UTC-5 in winter) March starts at 2026-03-01T05:00Z. */
static void test_period_month_new_york(void **state)
{
	const char *ny = "America/New_York";
	int64_t march = tu_utc(2026, 3, 1, 5, 0, 0);
	period_span a = span(ny, MTGATE_PERIOD_MONTH, march - 1000);
	period_span b = span(ny, MTGATE_PERIOD_MONTH, march);

	(void)state;
	assert_true(a.start_ms == tu_utc(2026, 2, 1, 5, 0, 0));
	assert_true(a.end_ms == march);
	assert_int_equal(a.index, (2026 - 1970) * 12 + 1);
	assert_true(b.start_ms == march);
	/* April starts in daylight time, UTC-4. */
	assert_true(b.end_ms == tu_utc(2026, 4, 1, 4, 0, 0));
	assert_int_equal(b.index, (2026 - 1970) * 12 + 2);
}

static void test_period_dst_days_new_york(void **state)
{
	const char *ny = "America/New_York";
	period_span s;

	(void)state;
	/* 2026-03-08: 02:00 EST jumps to 03:00 EDT, a 23-hour day. */
	s = span(ny, MTGATE_PERIOD_DAY, tu_utc(2026, 3, 8, 12, 0, 0));
	assert_true(s.start_ms == tu_utc(2026, 3, 8, 5, 0, 0));
	assert_true(s.end_ms == tu_utc(2026, 3, 9, 4, 0, 0));
	assert_true(s.end_ms - s.start_ms == 23 * TU_HOUR_MS);
	assert_int_equal(s.index,
			 (uint16_t)(tu_utc(2026, 3, 8, 0, 0, 0) / TU_DAY_MS));
	/* 2026-11-01: 02:00 EDT falls back to 01:00 EST, a 25-hour day. */
	s = span(ny, MTGATE_PERIOD_DAY, tu_utc(2026, 11, 1, 6, 30, 0));
	assert_true(s.start_ms == tu_utc(2026, 11, 1, 4, 0, 0));
	assert_true(s.end_ms - s.start_ms == 25 * TU_HOUR_MS);
}

/* Sao Paulo 2018-11-04: 00:00 -03 jumped to 01:00 -02, so the day starts at
 * 01:00 local; 2019-02-17 00:00 -02 fell back to 2019-02-16 23:00 -03. */
static void test_period_skipped_midnight(void **state)
{
	const char *sp = "America/Sao_Paulo";
	period_span s;

	(void)state;
	expect_span(sp, MTGATE_PERIOD_DAY, tu_utc(2018, 11, 3, 20, 0, 0),
		    tu_utc(2018, 11, 3, 3, 0, 0), tu_utc(2018, 11, 4, 3, 0, 0));
	s = span(sp, MTGATE_PERIOD_DAY, tu_utc(2018, 11, 4, 3, 0, 0));
	assert_true(s.start_ms == tu_utc(2018, 11, 4, 3, 0, 0));
	assert_true(s.end_ms == tu_utc(2018, 11, 5, 2, 0, 0));
	assert_true(s.end_ms - s.start_ms == 23 * TU_HOUR_MS);
	/* The week and the month of that day start at the same instants. */
	expect_span(sp, MTGATE_PERIOD_WEEK, tu_utc(2018, 11, 4, 12, 0, 0),
		    tu_utc(2018, 10, 29, 3, 0, 0),
		    tu_utc(2018, 11, 5, 2, 0, 0));
	s = span(sp, MTGATE_PERIOD_DAY, tu_utc(2019, 2, 17, 1, 0, 0));
	assert_true(s.start_ms == tu_utc(2019, 2, 16, 2, 0, 0));
	assert_true(s.end_ms == tu_utc(2019, 2, 17, 3, 0, 0));
	assert_true(s.end_ms - s.start_ms == 25 * TU_HOUR_MS);
}

/* Samoa skipped 2011-12-30: Dec 29 24:00 (-10) was Dec 31 00:00 (+14). */
static void test_period_skipped_day(void **state)
{
	const char *apia = "Pacific/Apia";
	period_span a, b;

	(void)state;
	a = span(apia, MTGATE_PERIOD_DAY, tu_utc(2011, 12, 29, 22, 0, 0));
	b = span(apia, MTGATE_PERIOD_DAY, a.end_ms);
	assert_true(a.end_ms == tu_utc(2011, 12, 30, 10, 0, 0));
	assert_true(b.start_ms == a.end_ms);
	assert_true(b.end_ms - b.start_ms == TU_DAY_MS);
	assert_int_equal((uint16_t)(b.index - a.index), 2);
}

static void test_period_week_starts_monday(void **state)
{
	int64_t monday = tu_utc(2026, 11, 23, 0, 0, 0);
	int64_t next = monday + 7 * TU_DAY_MS;
	period_span s;

	(void)state;
	expect_span("UTC", MTGATE_PERIOD_WEEK, monday, monday, next);
	expect_span("UTC", MTGATE_PERIOD_WEEK, monday + TU_DAY_MS * 3 + 5,
		    monday, next);
	expect_span("UTC", MTGATE_PERIOD_WEEK, next - 1, monday, next);
	expect_span("UTC", MTGATE_PERIOD_WEEK, monday - 1,
		    monday - 7 * TU_DAY_MS, monday);
	s = span("UTC", MTGATE_PERIOD_WEEK, monday);
	assert_int_equal(s.index, (uint16_t)((monday / TU_DAY_MS + 3) / 7));
	assert_int_equal(span("UTC", MTGATE_PERIOD_WEEK, next).index,
			 (uint16_t)(s.index + 1));
	/* In New York the week starts Monday 00:00 local (05:00Z). */
	expect_span("America/New_York", MTGATE_PERIOD_WEEK,
		    tu_utc(2026, 11, 23, 4, 59, 59),
		    tu_utc(2026, 11, 16, 5, 0, 0),
		    tu_utc(2026, 11, 23, 5, 0, 0));
}

static void test_period_fixed_offset_days(void **state)
{
	int64_t ist_day = tu_utc(2026, 5, 16, 18, 30, 0); /* May 17 00:00 */
	int64_t pst_day = tu_utc(2026, 5, 17, 8, 0, 0);   /* May 17 00:00 */

	(void)state;
	expect_span("+05:30", MTGATE_PERIOD_DAY, ist_day - 1,
		    ist_day - TU_DAY_MS, ist_day);
	expect_span("+05:30", MTGATE_PERIOD_DAY, ist_day, ist_day,
		    ist_day + TU_DAY_MS);
	expect_span("UTC-8", MTGATE_PERIOD_DAY, pst_day - 1,
		    pst_day - TU_DAY_MS, pst_day);
	expect_span("UTC-8", MTGATE_PERIOD_DAY, pst_day, pst_day,
		    pst_day + TU_DAY_MS);
	/* Same local date, same index as in UTC. */
	assert_int_equal(
		span("UTC-8", MTGATE_PERIOD_DAY, pst_day).index,
		span("UTC", MTGATE_PERIOD_DAY, tu_utc(2026, 5, 17, 12, 0, 0))
			.index);
}

/* Walk period after period from year from to year to: each span starts
 * where the last one ended, its index is the next one, and its last
 * millisecond maps to it. */
static void walk(const char *tz, mtgate_period p, int from, int to)
{
	int64_t stop = tu_utc(to, 1, 1, 0, 0, 0);
	period_span prev = span(tz, p, tu_utc(from, 1, 1, 0, 0, 0));

	while (prev.end_ms < stop) {
		period_span s = span(tz, p, prev.end_ms);
		period_span last = span(tz, p, s.end_ms - 1);

		assert_true(s.start_ms == prev.end_ms);
		assert_int_equal(s.index, (uint16_t)(prev.index + 1));
		assert_true(last.start_ms == s.start_ms);
		assert_int_equal(last.index, s.index);
		prev = s;
	}
}

static void test_period_walk_contiguous(void **state)
{
	static const char *const zones[] = {
		"UTC",
		"America/New_York",
		"America/Sao_Paulo",
		"America/Santiago",
		"Australia/Lord_Howe",
		"Asia/Kathmandu",
		"Europe/London",
		"-09:30",
		"+14",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		walk(zones[i], MTGATE_PERIOD_DAY, 2018, 2020);
		walk(zones[i], MTGATE_PERIOD_WEEK, 2018, 2020);
		walk(zones[i], MTGATE_PERIOD_MONTH, 2018, 2020);
	}
	walk("America/Goose_Bay", MTGATE_PERIOD_DAY, 2008, 2010);
}

/* Goose Bay 2009-11-01: 00:01 ADT fell back to 23:01 AST on Oct 31, so the
 * local date ran backwards. The repeated hour stays in Nov 1, the day that
 * had begun, so spans never overlap. */
static void test_period_backward_midnight(void **state)
{
	const char *gb = "America/Goose_Bay";
	int64_t nov1 = tu_utc(2009, 11, 1, 3, 0, 0);
	int64_t nov2 = tu_utc(2009, 11, 2, 4, 0, 0);
	uint16_t index = (uint16_t)(tu_utc(2009, 11, 1, 0, 0, 0) / TU_DAY_MS);
	period_span s;

	(void)state;
	expect_span(gb, MTGATE_PERIOD_DAY, nov1 - 1, nov1 - TU_DAY_MS, nov1);
	expect_span(gb, MTGATE_PERIOD_DAY, nov1, nov1, nov2);
	/* 03:30Z is Oct 31 23:30 AST on the wall clock. */
	s = span(gb, MTGATE_PERIOD_DAY, nov1 + 30 * TU_MINUTE_MS);
	assert_true(s.start_ms == nov1 && s.end_ms == nov2);
	assert_int_equal(s.index, index);
	assert_true(nov2 - nov1 == 25 * TU_HOUR_MS);
	/* October ends at the same instant. */
	expect_span(gb, MTGATE_PERIOD_MONTH, nov1 + 30 * TU_MINUTE_MS, nov1,
		    tu_utc(2009, 12, 1, 4, 0, 0));
}

static void test_period_bad_arguments(void **state)
{
	period_span s;

	(void)state;
	assert_int_equal(period_span_at("UTC", MTGATE_PERIOD_NONE, 0, &s),
			 MTGATE_EPERIOD);
	assert_int_equal(period_span_at("UTC", (mtgate_period)4, 0, &s),
			 MTGATE_EPERIOD);
	assert_int_equal(period_span_at("UTC", (mtgate_period)-1, 0, &s),
			 MTGATE_EPERIOD);
	/* ICU would silently use "Etc/Unknown" (GMT) for these. */
	assert_int_equal(
		period_span_at("Mars/Olympus", MTGATE_PERIOD_DAY, 0, &s),
		MTGATE_ETZ);
	assert_int_equal(period_span_at("", MTGATE_PERIOD_DAY, 0, &s),
			 MTGATE_ETZ);
	assert_int_equal(period_span_at(NULL, MTGATE_PERIOD_DAY, 0, &s),
			 MTGATE_ETZ);
	assert_int_equal(period_span_at("UTC", MTGATE_PERIOD_DAY, 0, NULL),
			 MTGATE_EINVAL);
	assert_int_equal(
		period_span_at("UTC", MTGATE_PERIOD_DAY, INT64_MAX, &s),
		MTGATE_EINVAL);
	assert_int_equal(
		period_span_at("UTC", MTGATE_PERIOD_DAY, INT64_MIN, &s),
		MTGATE_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_period_tz_utc_aliases),
		cmocka_unit_test(test_period_tz_fixed_offsets),
		cmocka_unit_test(test_period_tz_iana),
		cmocka_unit_test(test_period_tz_unknown),
		cmocka_unit_test(test_period_tz_bad_offsets),
		cmocka_unit_test(test_period_utc_day),
		cmocka_unit_test(test_period_month_rollover),
		cmocka_unit_test(test_period_month_new_york),
		cmocka_unit_test(test_period_dst_days_new_york),
		cmocka_unit_test(test_period_skipped_midnight),
		cmocka_unit_test(test_period_skipped_day),
		cmocka_unit_test(test_period_week_starts_monday),
		cmocka_unit_test(test_period_fixed_offset_days),
		cmocka_unit_test(test_period_walk_contiguous),
		cmocka_unit_test(test_period_backward_midnight),
		cmocka_unit_test(test_period_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

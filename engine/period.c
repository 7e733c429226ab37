/*
 * Time zones and counting periods with ICU's C API (design in period.h).
 *
 * A period starts at the first instant of a local date: the day itself, the
 * Monday of its week or the 1st of its month. The end of a period is computed
 * the same way, as the start of the next one, so adjacent spans always meet
 * (end of one == start of the next) even on days where ICU would move a
 * wall-clock time: adding one day to a start that a DST gap pushed to 01:00
 * would give 01:00 of the next day, not its midnight.
 *
 * Wall times that do not exist or exist twice are resolved explicitly:
 * a skipped midnight becomes the first valid instant after it (the instant
 * of the transition), a repeated midnight its first occurrence.
 *
 * Local dates are turned into day numbers with civil_to_days (proleptic
 * Gregorian, day 0 = 1970-01-01, a Thursday). Instants are limited to
 * years 1900..9999 so that ICU's Julian/Gregorian switch (1582) and the
 * double UDate never matter.
 */
#include "period.h"

#include "util/assert.h"
#include "util/civil.h"
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#define PERIOD_OFFSET_HOURS_MAX 18
#define PERIOD_NOW_MIN_MS       (-2208988800000LL) /* 1900-01-01T00:00:00Z */
#define PERIOD_NOW_MAX_MS       253402300799999LL /* 9999-12-31T23:59:59.999Z */

/* ---- time zone ids ------------------------------------------------------- */

static bool period_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Parse a fixed offset s (sign first): "+5", "+05", "-0800", "+05:30",
 * "+5:30". Writes ICU's custom id "GMT+05:30", or "UTC" for a zero offset.
 * At most PERIOD_OFFSET_HOURS_MAX hours in all. Returns 0 or MTGATE_ETZ.
 */
static int period_offset_parse(const char *s, char *id_out, size_t cap)
{
	char sign = s[0];
	const char *p = s + 1;
	int hours = 0, minutes = 0, n = 0;

	while (n < 5 && period_is_digit(p[n]))
		n++;
	if (n == 1 || n == 2) {
		hours = n == 1 ? p[0] - '0' : (p[0] - '0') * 10 + (p[1] - '0');
		p += n;
		if (*p == ':') {
			if (!period_is_digit(p[1]) || !period_is_digit(p[2]))
				return MTGATE_ETZ;
			minutes = (p[1] - '0') * 10 + (p[2] - '0');
			p += 3;
		}
	} else if (n == 4) {
		hours = (p[0] - '0') * 10 + (p[1] - '0');
		minutes = (p[2] - '0') * 10 + (p[3] - '0');
		p += 4;
	} else {
		return MTGATE_ETZ;
	}
	if (*p != '\0' || minutes >= 60 ||
	    hours * 60 + minutes > PERIOD_OFFSET_HOURS_MAX * 60)
		return MTGATE_ETZ;
	if (hours == 0 && minutes == 0) {
		strcpy(id_out, "UTC");
		return 0;
	}
	snprintf(id_out, cap, "GMT%c%02d:%02d", sign, hours, minutes);
	return 0;
}

/* The offset part of tz if tz is a fixed offset ("+..", "-..", "UTC+..",
 * "GMT-.."), else NULL. */
static const char *period_offset_text(const char *tz)
{
	if (tz[0] == '+' || tz[0] == '-')
		return tz;
	if ((strncmp(tz, "UTC", 3) == 0 || strncmp(tz, "GMT", 3) == 0) &&
	    (tz[3] == '+' || tz[3] == '-'))
		return tz + 3;
	return NULL;
}

/* Convert the UTF-8 id (shorter than PERIOD_TZ_ID_MAX) to UTF-16 in
 * buf[PERIOD_TZ_ID_MAX]. Returns its length or -1. */
static int32_t period_id_to_uchar(const char *id, UChar *buf)
{
	UErrorCode status = U_ZERO_ERROR;
	int32_t ulen = 0;

	u_strFromUTF8(buf, PERIOD_TZ_ID_MAX, &ulen, id, -1, &status);
	if (U_FAILURE(status) || ulen >= PERIOD_TZ_ID_MAX)
		return -1;
	return ulen;
}

/* Open a Gregorian calendar in zone tz_id. Returns NULL for an unknown
 * zone: ICU itself falls back to "Etc/Unknown" (GMT) without an error. */
static UCalendar *period_cal_open(const char *tz_id)
{
	UChar id[PERIOD_TZ_ID_MAX], got[PERIOD_TZ_ID_MAX];
	UErrorCode status = U_ZERO_ERROR;
	UCalendar *cal;
	int32_t len = period_id_to_uchar(tz_id, id), got_len;
	char got_utf8[PERIOD_TZ_ID_MAX];

	if (len <= 0)
		return NULL;
	cal = ucal_open(id, len, "en_US_POSIX", UCAL_GREGORIAN, &status);
	if (U_FAILURE(status))
		return NULL;
	got_len = ucal_getTimeZoneID(cal, got, PERIOD_TZ_ID_MAX, &status);
	if (U_FAILURE(status) || got_len >= PERIOD_TZ_ID_MAX)
		goto fail;
	u_austrncpy(got_utf8, got, PERIOD_TZ_ID_MAX - 1);
	got_utf8[got_len] = '\0';
	if (strcmp(got_utf8, "Etc/Unknown") == 0)
		goto fail;
	ucal_setAttribute(cal, UCAL_REPEATED_WALL_TIME, UCAL_WALLTIME_FIRST);
	ucal_setAttribute(cal, UCAL_SKIPPED_WALL_TIME,
			  UCAL_WALLTIME_NEXT_VALID);
	return cal;
fail:
	ucal_close(cal);
	return NULL;
}

/* IANA names use only these; ICU would also take ':' for '/' when it looks
 * up a name but not when it opens a zone. */
static bool period_is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       period_is_digit(c) || c == '/' || c == '_' || c == '-' ||
	       c == '+';
}

/* True if ICU knows name as a system time zone (an IANA id or alias) and
 * period_span_at can open it. */
static bool period_is_system_zone(const char *name)
{
	UChar id[PERIOD_TZ_ID_MAX];
	UChar canon[PERIOD_TZ_ID_MAX];
	UErrorCode status = U_ZERO_ERROR;
	UBool is_system = false;
	UCalendar *cal;
	int32_t len;

	for (const char *c = name; *c != '\0'; c++)
		if (!period_is_name_char(*c))
			return false;
	len = period_id_to_uchar(name, id);
	if (len < 0)
		return false;
	ucal_getCanonicalTimeZoneID(id, len, canon, PERIOD_TZ_ID_MAX,
				    &is_system, &status);
	if (U_FAILURE(status) || !is_system)
		return false;
	cal = period_cal_open(name);
	if (cal == NULL)
		return false;
	ucal_close(cal);
	return true;
}

/*
 * NULL, "", "UTC", "GMT" and "Z" give "UTC"; a fixed offset gives ICU's
 * "GMT+hh:mm"; an IANA name is checked with ICU and copied as given (ICU's
 * canonical ids are CLDR's, e.g. "Asia/Calcutta" for "Asia/Kolkata").
 */
int period_tz_resolve(const char *tz, char *id_out, size_t cap)
{
	const char *offset;
	size_t len;

	if (id_out == NULL || cap < PERIOD_TZ_ID_MAX)
		return MTGATE_EINVAL;
	if (tz == NULL || tz[0] == '\0' || strcmp(tz, "UTC") == 0 ||
	    strcmp(tz, "GMT") == 0 || strcmp(tz, "Z") == 0) {
		strcpy(id_out, "UTC");
		return 0;
	}
	offset = period_offset_text(tz);
	if (offset != NULL)
		return period_offset_parse(offset, id_out, cap);
	len = strnlen(tz, PERIOD_TZ_ID_MAX);
	if (len >= PERIOD_TZ_ID_MAX || !period_is_system_zone(tz))
		return MTGATE_ETZ;
	memcpy(id_out, tz, len + 1);
	return 0;
}

/* ---- local dates --------------------------------------------------------- */

static int64_t period_days_from_civil(int64_t y, int64_t m, int64_t d)
{
	return civil_to_days(y, m, d);
}

static void period_civil_from_days(int64_t z, int32_t *y, int32_t *m,
				   int32_t *d)
{
	int64_t yy;
	int mm, dd;

	civil_from_days(z, &yy, &mm, &dd);
	*y = (int32_t)yy;
	*m = mm;
	*d = dd;
}

/* floor(a / b) for b > 0. */
static int64_t period_floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* The first instant of local day number days (start of the local date).
 * Leaves the calendar set to it. */
static int64_t period_day_start(UCalendar *cal, int64_t days,
				UErrorCode *status)
{
	int32_t y, m, d;

	period_civil_from_days(days, &y, &m, &d);
	ucal_clear(cal);
	ucal_setDateTime(cal, y, m - 1, d, 0, 0, 0, status);
	ucal_set(cal, UCAL_MILLISECOND, 0);
	return (int64_t)ucal_getMillis(cal, status);
}

/* ---- spans --------------------------------------------------------------- */

/* Local day numbers of the first day of the period holding local day number
 * days and of the first day of the next period; index names the period. */
typedef struct period_days {
	int64_t first;
	int64_t next;
	int64_t index;
} period_days;

static period_days period_days_of(mtgate_period p, int64_t days)
{
	period_days r;
	int32_t y, m, d;

	switch (p) {
	case MTGATE_PERIOD_DAY:
		r.first = days;
		r.next = days + 1;
		r.index = days;
		break;
	case MTGATE_PERIOD_WEEK:
		/* Day 0 was a Thursday: (days + 3) % 7 == 0 on Mondays. */
		r.index = period_floor_div(days + 3, 7);
		r.first = r.index * 7 - 3;
		r.next = r.first + 7;
		break;
	default: /* MTGATE_PERIOD_MONTH */
		period_civil_from_days(days, &y, &m, &d);
		r.first = period_days_from_civil(y, m, 1);
		r.next = m == 12 ? period_days_from_civil(y + 1, 1, 1)
				 : period_days_from_civil(y, m + 1, 1);
		r.index = ((int64_t)y - 1970) * 12 + (m - 1);
		break;
	}
	return r;
}

/* The span of period p that holds local day number days. */
static period_span period_span_of(UCalendar *cal, mtgate_period p, int64_t days,
				  UErrorCode *status)
{
	period_days pd = period_days_of(p, days);
	period_span s;

	s.start_ms = period_day_start(cal, pd.first, status);
	s.end_ms = period_day_start(cal, pd.next, status);
	s.index = (uint16_t)pd.index;
	return s;
}

/*
 * Span of period p holding now_ms in tz_id. Errors: MTGATE_EPERIOD for a
 * period other than DAY, WEEK, MONTH; MTGATE_ETZ for an id ICU does not know;
 * MTGATE_EINVAL for out == NULL or now_ms outside years 1900..9999.
 *
 * The spans partition time: period k is [start of k, start of k + 1). That
 * is the period of the local date of now_ms, except where a fall-back just
 * after midnight runs the local date backwards (America/Goose_Bay until
 * 2010 went from 00:01 back to 23:01): the repeated hour belongs to the day
 * that had already begun, so a caller that caches a span stays right.
 */
int period_span_at(const char *tz_id, mtgate_period p, int64_t now_ms,
		   period_span *out)
{
	UErrorCode status = U_ZERO_ERROR;
	UCalendar *cal = NULL;
	period_days pd;
	period_span s;
	int32_t y, m, d;
	int err = MTGATE_ETZ;

	if (p != MTGATE_PERIOD_DAY && p != MTGATE_PERIOD_WEEK &&
	    p != MTGATE_PERIOD_MONTH)
		return MTGATE_EPERIOD;
	if (out == NULL || now_ms < PERIOD_NOW_MIN_MS ||
	    now_ms > PERIOD_NOW_MAX_MS)
		return MTGATE_EINVAL;
	if (tz_id == NULL ||
	    strnlen(tz_id, PERIOD_TZ_ID_MAX) >= PERIOD_TZ_ID_MAX)
		return MTGATE_ETZ;
	cal = period_cal_open(tz_id);
	if (cal == NULL)
		goto fail;
	ucal_setMillis(cal, (UDate)now_ms, &status);
	y = ucal_get(cal, UCAL_EXTENDED_YEAR, &status);
	m = ucal_get(cal, UCAL_MONTH, &status) + 1;
	d = ucal_get(cal, UCAL_DATE, &status);
	if (U_FAILURE(status))
		goto fail;
	pd = period_days_of(p, period_days_from_civil(y, m, d));
	s = period_span_of(cal, p, pd.first, &status);
	/* At most one step: local dates run backwards by less than a day. */
	if (s.end_ms <= now_ms)
		s = period_span_of(cal, p, pd.next, &status);
	else if (s.start_ms > now_ms)
		s = period_span_of(cal, p, pd.first - 1, &status);
	if (U_FAILURE(status))
		goto fail;
	MTG_ASSERT(s.start_ms <= now_ms && now_ms < s.end_ms);
	*out = s;
	err = 0;
fail:
	if (cal != NULL)
		ucal_close(cal);
	return err;
}

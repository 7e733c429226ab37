/*
 * CLI times: RFC 3339 in and out, and durations.
 *
 * Calendar arithmetic is done here on integers (days from the civil date,
 * proleptic Gregorian, H. Hinnant's algorithm), so the CLI needs neither
 * the C library's time zone state nor ICU: every time printed is UTC.
 * Accepted input: "YYYY-MM-DDTHH:MM:SS", an optional fraction (milliseconds
 * kept, finer digits dropped) and "Z" or "+HH:MM" / "-HH:MM"; "t", "z" and
 * a space for "T" as RFC 3339 allows. Second 60 (a leap second) is read as
 * the next second. Years are 0000 to 9999.
 */
#include <inttypes.h>
#include <string.h>

#include "cli/cli.h"
#include "util/civil.h"

#define MS_PER_S        1000LL
#define MS_PER_MIN      (60 * MS_PER_S)
#define MS_PER_H        (60 * MS_PER_MIN)
#define MS_PER_DAY      (24 * MS_PER_H)
#define DURATION_MAX_MS (100LL * 366 * MS_PER_DAY)

static int days_in_month(int64_t y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

char *cli_time_format(int64_t ms, char buf[CLI_TIME_SIZE])
{
	int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY, y;
	int m, d;

	if (rem < 0) {
		rem += MS_PER_DAY;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, CLI_TIME_SIZE, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02dZ",
		 y, m, d, (int)(rem / MS_PER_H), (int)(rem / MS_PER_MIN % 60),
		 (int)(rem / MS_PER_S % 60));
	return buf;
}

char *cli_time_format_ms(int64_t ms, char buf[CLI_TIME_SIZE])
{
	int64_t frac = ms % MS_PER_S;

	cli_time_format(ms, buf);
	if (frac < 0)
		frac += MS_PER_S;
	if (frac != 0) /* "...:44Z" becomes "...:44.250Z" */
		snprintf(buf + strlen(buf) - 1, CLI_TIME_SIZE - strlen(buf) + 1,
			 ".%03dZ", (int)frac);
	return buf;
}

/* Exactly n digits at *p. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char ch = (*p)[i];

		if (ch < '0' || ch > '9')
			return false;
		v = v * 10 + (ch - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool expect(const char **p, const char *set)
{
	if (**p == '\0' || strchr(set, **p) == NULL)
		return false;
	(*p)++;
	return true;
}

/* ".fff..." (optional): milliseconds from the first three digits. */
static bool fraction(const char **p, int *ms)
{
	int scale = 100, n = 0;

	*ms = 0;
	if (**p != '.')
		return true;
	for ((*p)++; **p >= '0' && **p <= '9'; (*p)++, n++) {
		*ms += (**p - '0') * scale;
		scale /= 10;
	}
	return n > 0;
}

/* "Z" or "+HH:MM" / "-HH:MM": the offset east of UTC in minutes. */
static bool offset(const char **p, int *min)
{
	int sign, hh, mm;

	if (expect(p, "Zz")) {
		*min = 0;
		return true;
	}
	if (**p != '+' && **p != '-')
		return false;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (!digits(p, 2, &hh) || !expect(p, ":") || !digits(p, 2, &mm) ||
	    hh > 23 || mm > 59)
		return false;
	*min = sign * (hh * 60 + mm);
	return true;
}

int cli_time_parse(const char *s, int64_t *ms_out)
{
	int y, mo, d, h, mi, sec, ms, off;
	const char *p = s;

	if (!digits(&p, 4, &y) || !expect(&p, "-") || !digits(&p, 2, &mo) ||
	    !expect(&p, "-") || !digits(&p, 2, &d) || !expect(&p, "Tt ") ||
	    !digits(&p, 2, &h) || !expect(&p, ":") || !digits(&p, 2, &mi) ||
	    !expect(&p, ":") || !digits(&p, 2, &sec) || !fraction(&p, &ms) ||
	    !offset(&p, &off) || *p != '\0')
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	*ms_out = civil_to_days(y, mo, d) * MS_PER_DAY + h * MS_PER_H +
		  mi * MS_PER_MIN + sec * MS_PER_S + ms - off * MS_PER_MIN;
	return 0;
}

/* The unit at *p: its length in ms, or 0 when there is none. */
static int64_t unit(const char **p)
{
	static const struct {
		const char *name;
		int64_t ms;
	} units[] = {
		{"ms", 1},       {"s", MS_PER_S},   {"m", MS_PER_MIN},
		{"h", MS_PER_H}, {"d", MS_PER_DAY}, {"w", 7 * MS_PER_DAY},
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t n = strlen(units[i].name);

		if (strncmp(*p, units[i].name, n) == 0) {
			*p += n;
			return units[i].ms;
		}
	}
	return 0;
}

int cli_duration_parse(const char *s, int64_t *ms_out)
{
	int64_t total = 0, v, u;
	const char *p = s;

	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			return -1;
		for (v = 0; *p >= '0' && *p <= '9'; p++) {
			v = v * 10 + (*p - '0');
			if (v > DURATION_MAX_MS)
				return -1;
		}
		if ((u = unit(&p)) == 0 || v > (DURATION_MAX_MS - total) / u)
			return -1;
		total += v * u;
	}
	*ms_out = total;
	return 0;
}

/*
 * Civil dates and day numbers: days since 1970-01-01 of a proleptic
 * Gregorian date and back (H. Hinnant's days_from_civil and
 * civil_from_days), on integers, for every year an int64 day count holds.
 * Shared by the engine's counting periods and the CLI's RFC 3339 times.
 */
#ifndef MTGATE_UTIL_CIVIL_H
#define MTGATE_UTIL_CIVIL_H

#include <stdint.h>

/* month 1..12, day 1..31 */
static inline int64_t civil_to_days(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static inline void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

#endif

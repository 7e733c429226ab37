/*
 * Time zones and counting periods.
 *
 * A recurring program counts MTs per day, week (Monday 00:00) or calendar
 * month in its own time zone. This module turns an instant into the span of
 * the period that holds it: [start_ms, end_ms) in UTC and a 16-bit index that
 * names the period (local days, weeks or months since 1970, modulo 2^16).
 * Two instants are in the same period iff they get the same span.
 *
 * Time zones are resolved with ICU (ucal_*), which carries its own tz data:
 * an IANA name ("America/New_York"), "UTC"/"GMT"/"Z", or a fixed offset
 * ("+05:30", "-0800", "UTC+2", "GMT-03:30"), at most 18 hours.
 *
 * Cost: a span costs one ucal_open (micro-seconds); callers cache the span and
 * ask again only when an instant falls outside it. Thread-safe: no state is
 * shared between calls.
 */
#ifndef MTGATE_PERIOD_H
#define MTGATE_PERIOD_H

#include <stddef.h>
#include <stdint.h>

#include "mtgate/engine.h"

#define PERIOD_TZ_ID_MAX 64

typedef struct period_span {
	int64_t start_ms; /* first instant of the period, UTC */
	int64_t end_ms;   /* first instant of the next period, UTC */
	uint16_t index;   /* local period number since 1970, mod 2^16 */
} period_span;

/*
 * Check a time zone text and write the id to use with period_span_at into
 * id_out (NUL-terminated; cap >= PERIOD_TZ_ID_MAX). NULL or "" means "UTC".
 * Returns 0 or MTGATE_ETZ for an unknown name or a bad offset.
 */
int period_tz_resolve(const char *tz, char *id_out, size_t cap);

/*
 * The span of period p (DAY, WEEK or MONTH) that holds now_ms in zone tz_id
 * (an id from period_tz_resolve). Returns 0, MTGATE_EPERIOD or MTGATE_ETZ.
 */
int period_span_at(const char *tz_id, mtgate_period p, int64_t now_ms,
		   period_span *out);

#endif

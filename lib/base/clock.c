/*
 * lib/base/clock.c — the one clock for intervals: seconds on the monotonic
 * clock, which no change of the date moves.  Timeouts, token lifetimes,
 * backoff and the pace of progress reports all read it.
 */
#include <time.h>

#include "base.h"

double
oci_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

void clock_sleep_until(uint64_t t_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(t_ns / NSEC_PER_SEC),
		.tv_nsec = (long)(t_ns % NSEC_PER_SEC),
	};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

int clock_format_rfc3339(int64_t real_ns, char *buf, size_t len)
{
	time_t sec = (time_t)(real_ns / NSEC_PER_SEC);
	long nsec = (long)(real_ns % NSEC_PER_SEC);
	struct tm tm;

	if (nsec < 0) {
		nsec += NSEC_PER_SEC;
		sec -= 1;
	}
	if (len < 31 || !gmtime_r(&sec, &tm))
		return -EINVAL;
	int n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nsec);
	if (n < 0 || (size_t)n >= len)
		return -EINVAL;
	return n;
}

int duration_parse(const char *s, int64_t *out_ns)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
	};
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -EINVAL;
	double mult = 1e9;
	if (*end) {
		size_t i;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strcmp(end, units[i].unit) == 0)
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		mult = units[i].ns;
	}
	double ns = v * mult;
	if (ns >= 9.2e18)
		return -EINVAL;
	*out_ns = (int64_t)llround(ns);
	return 0;
}

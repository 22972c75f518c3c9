/* Numbers and durations (common/num.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/num.h"

int num_parse_uintn(const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	bool big = false;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';
		if (d > 9)
			return -EINVAL;
		/* keep reading past an overflow: "12x" with many digits is no number at all */
		big |= v > (UINT64_MAX - d) / 10;
		v = v * 10 + d;
	}
	if (big || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int num_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	return num_parse_uintn(s, strlen(s), min, max, out);
}

int num_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	bool neg = s[0] == '-';
	uint64_t v;
	int r = num_parse_uint(s + neg, 0, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &v);

	if (r == 0) {
		int64_t x = neg ? (int64_t)(0 - v) : (int64_t)v;
		if (x < min || x > max)
			return -ERANGE;
		*out = x;
	}
	return r;
}

int num_parse_duration(const char *s, int64_t min_ns, int64_t max_ns, int64_t *out_ns)
{
	int64_t v;

	if (duration_parse(s, &v) < 0)
		return -EINVAL;
	if (v < min_ns || v > max_ns)
		return -ERANGE;
	*out_ns = v;
	return 0;
}

static const char size_units[] = "KMGT";

int num_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	size_t n = strspn(s, "0123456789");
	const char *u = s + n, *unit = *u ? strchr(size_units, *u) : NULL;
	unsigned shift = unit ? 10u * (unsigned)(unit - size_units + 1) : 0;
	uint64_t v;
	int r;

	if (*u && (!unit || (u[1] && strcmp(u + 1, "iB"))))
		return -EINVAL;
	if ((r = num_parse_uintn(s, n, 0, UINT64_MAX >> shift, &v)) < 0)
		return r;
	v <<= shift;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

const char *num_size_text(uint64_t bytes, char *buf, size_t len)
{
	unsigned k = 0;

	while (k < sizeof(size_units) - 1 && bytes && bytes % 1024 == 0) {
		bytes /= 1024;
		k++;
	}
	if (k)
		snprintf(buf, len, "%llu%c", (unsigned long long)bytes, size_units[k - 1]);
	else
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	return buf;
}

const char *num_size_error(char *buf, size_t len, const char *name, const char *text, uint64_t min, uint64_t max)
{
	char lo[32], hi[32];

	snprintf(buf, len, "%s '%.80s': expected a size from %s to %s, like 512M", name, text,
		 num_size_text(min, lo, sizeof(lo)), num_size_text(max, hi, sizeof(hi)));
	return buf;
}

const char *num_uint_error(char *buf, size_t len, const char *name, const char *text, uint64_t min, uint64_t max)
{
	if (max == UINT64_MAX)
		snprintf(buf, len, "%s '%.80s': expected a whole number, at least %llu", name, text,
			 (unsigned long long)min);
	else
		snprintf(buf, len, "%s '%.80s': expected a whole number from %llu to %llu", name, text,
			 (unsigned long long)min, (unsigned long long)max);
	return buf;
}

const char *num_duration_error(char *buf, size_t len, const char *name, const char *text, int64_t min_ns,
			       int64_t max_ns)
{
	char lo[32], hi[32];

	snprintf(buf, len, "%s '%.80s': expected a duration from %s to %s", name, text,
		 num_duration_text(min_ns, lo, sizeof(lo)), num_duration_text(max_ns, hi, sizeof(hi)));
	return buf;
}

const char *num_duration_text(int64_t ns, char *buf, size_t len)
{
	static const struct {
		const char *unit;
		int64_t ns;
	} units[] = {
		{ "h", 3600 * NSEC_PER_SEC }, { "m", 60 * NSEC_PER_SEC }, { "s", NSEC_PER_SEC },
		{ "ms", NSEC_PER_MSEC },      { "us", NSEC_PER_USEC },    { "ns", 1 },
	};
	size_t i = 0;

	if (ns == 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	while (ns % units[i].ns)
		i++;
	snprintf(buf, len, "%lld%s", (long long)(ns / units[i].ns), units[i].unit);
	return buf;
}

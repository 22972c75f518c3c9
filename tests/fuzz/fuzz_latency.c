/* libFuzzer harness for the latency text decoder. The text arrives through
 * Redis from other programs, so besides memory safety it checks the
 * decoder's promise: whatever it accepts, lat_encode writes back byte for
 * byte, and the record answers sanely (quantiles and mean in [min, max], a
 * merge with itself keeps the invariants). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/latency.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lat_minute m, twice;
	static char out[LAT_TEXT_MAX];
	char *s = fuzz_copy(data, size);

	if (!s)
		return 0;
	if (lat_decode(&m, s, size) == 0) {
		int n = lat_encode(out, sizeof(out), &m);
		if (n < 0 || (size_t)n != size || memcmp(out, s, size) != 0)
			abort();
		int64_t p99 = lat_minute_quantile(&m, 0.99), mean = lat_minute_mean(&m);
		if (m.count == 0 ? p99 != -ENODATA || mean != -ENODATA
				 : p99 < m.min_ns || p99 > m.max_ns || mean < m.min_ns || mean > m.max_ns)
			abort();
		twice = m;
		if (lat_minute_merge(&twice, &m) == 0 && lat_encode(out, sizeof(out), &twice) < 0)
			abort();
	}
	free(s);
	return 0;
}

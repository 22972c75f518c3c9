/* libFuzzer harness for the reply parser: the first byte picks the link
 * type, the rest is the frame. The key is fixed, so the fuzzer cannot make
 * a cookie pass except by finding a real one, which is the point: any
 * CAPTURE_PARSE_OK must carry a record that really verifies. */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int linktypes[] = {
	DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP, DLT_RAW, DLT_IPV4, DLT_IPV6, DLT_PPP,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cookie_key key = { { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6 } };
	struct capture_filter f = { .port_lo = 61000, .port_hi = 61999, .max_attempt = 3, .key = &key };
	struct capture_rec rec;

	if (size < 1)
		return 0;
	int lt = linktypes[data[0] % (sizeof(linktypes) / sizeof(linktypes[0]))];
	/* a copy of exactly the frame's size, so that ASan sees any overread */
	size_t n = size - 1;
	uint8_t *frame = malloc(n ? n : 1);
	if (!frame)
		return 0;
	memcpy(frame, data + 1, n);
	if (capture_parse(lt, frame, n, 0, &f, &rec) == CAPTURE_PARSE_OK) {
		uint8_t a;
		uint32_t isn = cookie_isn(&key, &rec.local, &rec.remote, rec.local_port, rec.remote_port, rec.attempt);
		if (!cookie_check(&key, &rec.local, &rec.remote, rec.local_port, rec.remote_port, isn, 3, &a) ||
		    a != rec.attempt || rec.local_port < 61000 || rec.local_port > 61999)
			abort();
	}
	free(frame);
	return 0;
}

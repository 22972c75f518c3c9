/* libFuzzer: the scheduler against its model (tests/fuzz/sched_model.h).
 * A broken invariant prints what broke and aborts, so that the input is
 * kept as a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/sched_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[512];

	if (sched_model_run(data, size, why, sizeof(why)) < 0) {
		fprintf(stderr, "sched model: %s\n", why);
		abort();
	}
	return 0;
}

/* Shared by the libFuzzer harnesses. */
#ifndef SW_TEST_FUZZ_H
#define SW_TEST_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A copy of the input of exactly its size, so that ASan sees any overread
 * (libFuzzer's own buffer may be larger). Free it; NULL without memory. */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1);

	if (s)
		memcpy(s, data, size);
	return s;
}

#endif

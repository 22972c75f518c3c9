/* Shared by the libFuzzer harnesses. */
#ifndef SW_TEST_FUZZ_H
#define SW_TEST_FUZZ_H

#include <errno.h>
#include <stddef.h>
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

/* A file format's parse (common/yconf.h) that failed keeps its promise, or
 * the harness aborts: -EINVAL or -ENOMEM, one line in err naming the file
 * ("fuzz.yaml:..."), and out (size bytes) zeroed. */
static inline void fuzz_check_failure(int r, const char *err, const void *out, size_t size)
{
	const unsigned char *o = out;

	if ((r != -EINVAL && r != -ENOMEM) || strncmp(err, "fuzz.yaml:", 10) != 0 || strchr(err, '\n'))
		abort();
	for (size_t i = 0; i < size; i++)
		if (o[i])
			abort();
}

#endif

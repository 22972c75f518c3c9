/* libFuzzer harness for the labels JSON reader of tools/lib/fleetview.h. The
 * text comes from Redis (a target's labels, a prober's state_counts, the
 * alerter's bookkeeping), written by other programs. Besides memory safety
 * it checks that what the reader accepts survives a round trip: written
 * again with json_put_str and read back, the same labels come out. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "tools/lib/fleetview.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fv_arena a = { 0 };
	struct fv_label l[MAX], again[MAX];
	struct buf b = { 0 };
	char *s = malloc(size + 1);
	int n, m;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	n = fv_labels_parse(s, &a, l, MAX);
	if (n > 0) {
		buf_add(&b, "{", 1);
		for (int i = 0; i < n; i++) {
			if (i)
				buf_add(&b, ",", 1);
			json_put_str(&b, l[i].name);
			buf_add(&b, ":", 1);
			json_put_str(&b, l[i].value);
		}
		buf_add(&b, "}", 1);
		m = fv_labels_parse(b.s, &a, again, MAX);
		/* broken UTF-8 is written as U+FFFD: compare only clean text
		 * (a \u0000 cuts a string the same way both times) */
		bool clean = !strstr(b.s, "\\ufffd");
		if (m != n)
			abort();
		for (int i = 0; clean && i < n; i++)
			if (strcmp(l[i].name, again[i].name) != 0 || strcmp(l[i].value, again[i].value) != 0)
				abort();
	}
	buf_release(&b);
	fv_arena_release(&a);
	free(s);
	return 0;
}

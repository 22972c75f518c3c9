/* libFuzzer harness for runtime-target entries (store/runtime.c): the
 * input is "SPEC\nJSON" (no newline: all JSON, a fixed spec), as anyone
 * with write access to Redis could store it. An entry is either refused
 * with one line, leaving nothing allocated, or parsed into what the table
 * builder expects: terminated strings, label names it accepts, labels
 * sorted and unique, an interval in range. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/table.h"
#include "store/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool label_name_ok(const char *s)
{
	if (!s[0] || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *nl = memchr(text, '\n', size);
	const char *spec = nl ? text : "198.18.0.1:443", *json = nl ? nl + 1 : text;
	size_t spec_len = nl ? (size_t)(nl - text) : strlen(spec), json_len = nl ? size - spec_len - 1 : size;
	/* exact-size copies, so that ASan sees any read past the end */
	char *s = malloc(spec_len ? spec_len : 1), *j = malloc(json_len ? json_len : 1), err[512];
	struct table_runtime e;

	if (!s || !j)
		abort();
	memcpy(s, spec, spec_len);
	memcpy(j, json, json_len);
	err[0] = '\0';
	if (runtime_parse(&e, s, spec_len, j, json_len, err, sizeof(err)) == 0) {
		if (strlen(e.spec) != spec_len || (e.group && !e.group[0]) || (e.name && !e.name[0]) ||
		    e.interval_ns < 0 || (e.n_labels && !e.labels))
			abort();
		for (size_t i = 0; i < e.n_labels; i++)
			if (!label_name_ok(e.labels[i].key) || !e.labels[i].value ||
			    (i && strcmp(e.labels[i - 1].key, e.labels[i].key) >= 0))
				abort();
		table_runtime_release(&e);
	} else if (!err[0] || e.spec || e.labels) {
		abort();
	}
	free(s);
	free(j);
	return 0;
}

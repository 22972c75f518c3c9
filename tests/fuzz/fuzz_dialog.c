/* libFuzzer: every service check's conversation (engine/dialog.h) against
 * an arbitrary server. The first bytes choose the check and its options;
 * the rest arrive in chunks of arbitrary sizes, with TLS coming up, the
 * server closing or the deadline passing at arbitrary points. Checks: no
 * crash or leak, the dialog never uses more than it was given, the output
 * stays in its buffer, a finished dialog stays finished, and the verdict's
 * texts are short, valid UTF-8 without control characters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/utf8.h"
#include "engine/dialog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_clean(const char *s)
{
	size_t n = strlen(s);
	if (n > CHECK_TEXT_MAX)
		abort();
	for (size_t i = 0; i < n;) {
		unsigned cp;
		size_t l = utf8_next(s + i, n - i, &cp);
		if (l == 0 || cp < 0x20 || cp == 0x7f)
			abort();
		i += l;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pcre2_code *re;
	struct check_spec spec = { 0 };
	struct dialog d;
	uint8_t outbuf[DIALOG_OUT_MIN + 64], inbuf[2 * DIALOG_LINE_MAX];
	struct dialog_out out = { .p = outbuf, .cap = sizeof(outbuf) };
	size_t pending = 0, i = 3;
	bool done = false;

	if (size < 3)
		return 0;
	if (!re) {
		int err;
		PCRE2_SIZE off;
		re = pcre2_compile((PCRE2_SPTR) "^(\\+OK|220 ).*$", PCRE2_ZERO_TERMINATED, PCRE2_MULTILINE, &err, &off, NULL);
	}
	spec.kind = (uint8_t)(1 + data[0] % (CHECK_KIND_COUNT - 1));
	spec.starttls = (uint8_t)(data[1] % 3);
	spec.http_classes = (uint8_t)(data[2] & 0x3e);
	if (data[1] & 0x10)
		spec.auth = (char *)"user:pw";
	if (spec.kind == CHECK_GENERIC) {
		spec.send = (uint8_t *)"HELLO\r\n";
		spec.send_len = 7;
		spec.expect = (char *)"^(\\+OK|220 ).*$";
		spec.expect_re = (struct pcre2_real_code_8 *)re;
	}
	enum dialog_next next = dialog_begin(&d, &spec, (data[1] & 0x20) ? "host.example.test" : NULL, &out);
	while (i < size) {
		if (out.len > out.cap)
			abort();
		out.len = 0;
		if (next == DIALOG_DONE)
			done = true;
		uint8_t ctl = data[i++];
		size_t chunk = ctl & 0x3f;
		if (chunk == 0x3f)
			chunk = 1024; /* now and then a large one */
		if (chunk > size - i)
			chunk = size - i;
		if ((ctl & 0xc0) == 0xc0 && next == DIALOG_STARTTLS) {
			pending = 0;
			next = dialog_tls_up(&d, &out);
			continue;
		}
		if (pending + chunk > sizeof(inbuf))
			chunk = sizeof(inbuf) - pending;
		memcpy(inbuf + pending, data + i, chunk);
		pending += chunk;
		i += chunk;
		size_t used = 0;
		next = dialog_data(&d, inbuf, pending, &used, &out);
		if (used > pending || (done && next != DIALOG_DONE))
			abort();
		memmove(inbuf, inbuf + used, pending - used);
		pending -= used;
		if (pending >= sizeof(inbuf) && next == DIALOG_MORE)
			abort(); /* a dialog must fail rather than wait with a full buffer */
	}
	if (data[2] & 1)
		dialog_closed(&d, pending, data[2] & 0x40);
	else
		dialog_timeout(&d, 1500, pending);
	const struct check_verdict *v = dialog_verdict(&d);
	check_clean(v->error);
	check_clean(v->banner);
	if (!v->ok && !v->error[0])
		abort();
	return 0;
}

/* SSH (RFC 4253's identification string), HTTP (a request line, the status
 * line), AMQP 0-9-1 (the protocol header, Connection.Start), VNC (the RFB
 * version) and the generic send/expect check (PCRE2). */
#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "engine/dialog-internal.h"

/* ---- SSH ---- */

/* RFC 4253 4.2: a server may send other lines before its version */
#define SSH_MAX_PRELUDE 8

static enum dialog_next ssh_begin(struct dialog *d, struct dialog_out *out)
{
	(void)d;
	(void)out;
	return DIALOG_MORE;
}

static enum dialog_next ssh_line(struct dialog *d, const uint8_t *in, size_t tl, struct dialog_out *out)
{
	if (tl >= 4 && strncmp((const char *)in, "SSH-", 4) == 0) {
		if (tl < 8 || (strncmp((const char *)in, "SSH-2.0-", 8) != 0 && strncmp((const char *)in, "SSH-1.99-", 9) != 0))
			return dialog_fail_words(d, "SSH version not 2.0", in, tl);
		/* our own identification, so that the server logs a client that
		 * went away rather than one that said nothing */
		dialog_printf(d, out, "SSH-2.0-synwatch_check\r\n");
		d->v.banner[0] = '\0'; /* the version is the banner, not a line before it */
		return dialog_ok(d, in, tl);
	}
	/* other lines may come first (RFC 4253 4.2), but not another
	 * protocol's greeting, and not many */
	if (++d->lines > SSH_MAX_PRELUDE || (d->lines == 1 && (tl == 0 || (in[0] >= '0' && in[0] <= '9') ||
							      in[0] == '+' || in[0] == '*' ||
							      strncmp((const char *)in, "HTTP/", 5) == 0)))
		return dialog_fail_words(d, "not SSH", in, tl);
	/* kept: a server that refuses says why in such a line and closes
	 * (OpenSSH past MaxStartups: "Exceeded MaxStartups") */
	dialog_banner(d, in, tl);
	return DIALOG_MORE;
}

static const char *const ssh_waiting[] = { "SSH identification string", NULL };

static const char *ssh_words(const struct dialog *d)
{
	return d->lines > 0 ? d->v.banner : NULL;
}

const struct dialog_proto dialog_misc_ssh = {
	.begin = ssh_begin, .line = ssh_line, .waiting = ssh_waiting, .words = ssh_words,
};

/* ---- HTTP ---- */

static enum dialog_next http_begin(struct dialog *d, struct dialog_out *out)
{
	const char *req = d->spec->request ? d->spec->request : "HEAD / HTTP/1.1";
	const char *host = d->spec->host_header ? d->spec->host_header : d->spec->sni ? d->spec->sni : d->name;

	if (!dialog_printf(d, out, "%s\r\n", req))
		return DIALOG_DONE;
	if (host && !dialog_printf(d, out, "Host: %s\r\n", host))
		return DIALOG_DONE;
	if (!dialog_printf(d, out, "User-Agent: synwatch-check\r\nAccept: */*\r\nConnection: close\r\n\r\n"))
		return DIALOG_DONE;
	return DIALOG_MORE;
}

static enum dialog_next http_line(struct dialog *d, const uint8_t *in, size_t tl, struct dialog_out *out)
{
	(void)out;
	/* HTTP/1.x NNN reason */
	if (tl < 12 || strncmp((const char *)in, "HTTP/", 5) != 0 || in[8] != ' ' || in[9] < '1' || in[9] > '5' ||
	    in[10] < '0' || in[10] > '9' || in[11] < '0' || in[11] > '9' || (tl > 12 && in[12] != ' '))
		return dialog_fail_words(d, "not HTTP", in, tl);
	unsigned code = (unsigned)((in[9] - '0') * 100 + (in[10] - '0') * 10 + (in[11] - '0'));
	uint8_t classes = d->spec->http_classes ? d->spec->http_classes : CHECK_HTTP_CLASS(2) | CHECK_HTTP_CLASS(3);
	d->v.code = (uint16_t)code;
	if (!(classes & CHECK_HTTP_CLASS(code / 100)))
		return dialog_fail_words(d, NULL, in, tl);
	return dialog_ok(d, in, tl);
}

static const char *const http_waiting[] = { "status line", NULL };

const struct dialog_proto dialog_web_http = { .begin = http_begin, .line = http_line, .waiting = http_waiting };

/* ---- AMQP 0-9-1 ---- */

static enum dialog_next amqp_begin(struct dialog *d, struct dialog_out *out)
{
	static const uint8_t hdr[8] = { 'A', 'M', 'Q', 'P', 0, 0, 9, 1 };
	return dialog_put(d, out, hdr, 8) ? DIALOG_MORE : DIALOG_DONE;
}

static enum dialog_next amqp_data(struct dialog *d, const uint8_t *in, size_t n, size_t *used,
				  struct dialog_out *out)
{
	(void)out;
	if (n >= 4 && memcmp(in, "AMQP", 4) == 0) {
		/* the server refuses our version and names its own */
		if (n < 8)
			return DIALOG_MORE;
		*used = 8;
		return dialog_fail(d, "the server speaks AMQP %u-%u-%u, not 0-9-1", in[5], in[6], in[7]);
	}
	if (n < 7)
		return DIALOG_MORE;
	uint32_t size = (uint32_t)in[3] << 24 | (uint32_t)in[4] << 16 | (uint32_t)in[5] << 8 | in[6];
	if (in[0] != 1 || in[1] != 0 || in[2] != 0 || size < 4 || size > DIALOG_LINE_MAX) {
		char first[CHECK_TEXT_MAX + 1];
		check_text(first, in, n < 40 ? n : 40);
		return dialog_fail(d, "not AMQP: '%s'", first);
	}
	if (n < 7 + (size_t)size + 1)
		return DIALOG_MORE;
	*used = 7 + (size_t)size + 1;
	if (in[7 + size] != 0xce)
		return dialog_fail(d, "a broken AMQP frame (no frame end)");
	unsigned cls = (unsigned)(in[7] << 8 | in[8]), method = (unsigned)(in[9] << 8 | in[10]);
	if (cls != 10 || method != 10)
		return dialog_fail(d, "AMQP method %u.%u where Connection.Start was expected", cls, method);
	char banner[40];
	snprintf(banner, sizeof(banner), "AMQP %u-%u Connection.Start", size > 4 ? in[11] : 0, size > 5 ? in[12] : 0);
	return dialog_ok(d, banner, strlen(banner));
}

static const char *const amqp_waiting[] = { "Connection.Start", NULL };

const struct dialog_proto dialog_misc_amqp = { .begin = amqp_begin, .data = amqp_data, .waiting = amqp_waiting };

/* ---- VNC ---- */

static enum dialog_next vnc_data(struct dialog *d, const uint8_t *in, size_t n, size_t *used, struct dialog_out *out)
{
	(void)out;
	if (n < 12)
		return DIALOG_MORE;
	*used = 12;
	if (memcmp(in, "RFB ", 4) != 0 || in[11] != '\n')
		return dialog_fail_words(d, "not VNC", in, 12);
	return dialog_ok(d, in, 11);
}

static const char *const vnc_waiting[] = { "RFB version string", NULL };

const struct dialog_proto dialog_misc_vnc = { .begin = ssh_begin, .data = vnc_data, .waiting = vnc_waiting };

/* ---- generic: send, expect ---- */

static enum dialog_next generic_begin(struct dialog *d, struct dialog_out *out)
{
	if (d->spec->send_len && !dialog_put(d, out, d->spec->send, d->spec->send_len))
		return DIALOG_DONE;
	if (!d->spec->expect_re)
		return dialog_ok(d, NULL, 0); /* nothing to wait for: connected (and sent) is the verdict */
	return DIALOG_MORE;
}

/* The expression runs over everything the server sent so far (the dialog
 * leaves it unused until it matches), up to DIALOG_LINE_MAX bytes. */
static enum dialog_next generic_data(struct dialog *d, const uint8_t *in, size_t n, size_t *used,
				     struct dialog_out *out)
{
	(void)out;
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	int rc;

	if (!md || !mc) {
		pcre2_match_data_free(md);
		pcre2_match_context_free(mc);
		return dialog_fail(d, "out of memory matching the reply");
	}
	/* a pathological expression fails the check, it does not stall the checker */
	pcre2_set_match_limit(mc, 200000);
	pcre2_set_depth_limit(mc, 2000);
	rc = pcre2_match((const pcre2_code *)d->spec->expect_re, in, n, 0, 0, md, mc);
	pcre2_match_context_free(mc);
	if (rc >= 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		size_t s = ov[0], e = ov[1] > n ? n : ov[1];
		pcre2_match_data_free(md);
		*used = n;
		return dialog_ok(d, in + s, e > s ? e - s : 0);
	}
	pcre2_match_data_free(md);
	if (rc != PCRE2_ERROR_NOMATCH)
		return dialog_fail(d, "cannot match the reply: PCRE2 error %d", rc);
	if (n >= DIALOG_LINE_MAX) {
		char first[CHECK_TEXT_MAX + 1];
		check_text(first, in, 60);
		return dialog_fail(d, "no match for /%s/ in the first %d bytes: '%s...'", d->spec->expect, DIALOG_LINE_MAX,
				   first);
	}
	*used = 0; /* keep it all */
	return DIALOG_MORE;
}

static const char *const generic_waiting[] = { "matching reply", NULL };

const struct dialog_proto dialog_misc_generic = {
	.begin = generic_begin, .data = generic_data, .waiting = generic_waiting,
};

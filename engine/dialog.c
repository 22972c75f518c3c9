/* The conversations' common part (engine/dialog.h): dispatch by kind,
 * lines and replies, verdicts. The protocols are engine/dialog-*.c. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "engine/dialog-internal.h"

static enum dialog_next done_ok(struct dialog *d, struct dialog_out *out)
{
	(void)out;
	return dialog_ok(d, NULL, 0);
}

/* connect and tls: being connected (and through the handshake) is the verdict */
static const struct dialog_proto bare = { .begin = done_ok };

static const struct dialog_proto *proto_of(uint8_t kind)
{
	switch (kind) {
	case CHECK_CONNECT:
	case CHECK_TLS:
		return &bare;
	case CHECK_SSH:
		return &dialog_misc_ssh;
	case CHECK_SMTP:
	case CHECK_SUBMISSION:
	case CHECK_SMTPS:
		return &dialog_mail_smtp;
	case CHECK_IMAP:
	case CHECK_IMAPS:
		return &dialog_mail_imap;
	case CHECK_POP3:
	case CHECK_POP3S:
		return &dialog_mail_pop3;
	case CHECK_FTP:
		return &dialog_mail_ftp;
	case CHECK_REDIS:
		return &dialog_db_redis;
	case CHECK_POSTGRES:
		return &dialog_db_postgres;
	case CHECK_MYSQL:
		return &dialog_db_mysql;
	case CHECK_MONGODB:
		return &dialog_db_mongodb;
	case CHECK_MEMCACHED:
		return &dialog_db_memcached;
	case CHECK_HTTP:
	case CHECK_HTTPS:
		return &dialog_web_http;
	case CHECK_AMQP:
		return &dialog_misc_amqp;
	case CHECK_VNC:
		return &dialog_misc_vnc;
	case CHECK_GENERIC:
		return &dialog_misc_generic;
	}
	return NULL;
}

enum dialog_next dialog_begin(struct dialog *d, const struct check_spec *spec, const char *name,
			      struct dialog_out *out)
{
	memset(d, 0, sizeof(*d));
	d->spec = spec;
	d->name = name;
	d->kind = spec->kind;
	d->tls = check_kind_implicit_tls(spec->kind);
	const struct dialog_proto *p = proto_of(d->kind);
	if (!p)
		return dialog_fail(d, "no conversation for check kind %u", d->kind);
	return p->begin(d, out);
}

/* One line of in: its length with the "\n" (0: not complete yet; -1: no
 * line end in DIALOG_LINE_MAX bytes, and the verdict says so). */
static ssize_t dialog_line(struct dialog *d, const uint8_t *in, size_t n)
{
	const uint8_t *nl = memchr(in, '\n', n < DIALOG_LINE_MAX ? n : DIALOG_LINE_MAX);

	if (nl)
		return nl - in + 1;
	if (n >= DIALOG_LINE_MAX) {
		char first[CHECK_TEXT_MAX + 1];
		check_text(first, in, 48);
		dialog_fail(d, "a line of more than %d bytes: '%s...'", DIALOG_LINE_MAX, first);
		return -1;
	}
	return 0;
}

/* A protocol's line hook fed one whole line of in, consumed. */
static enum dialog_next by_line(const struct dialog_proto *p, struct dialog *d, const uint8_t *in, size_t n,
				size_t *used, struct dialog_out *out)
{
	ssize_t l = dialog_line(d, in, n);

	if (l <= 0)
		return l < 0 ? DIALOG_DONE : DIALOG_MORE;
	*used = (size_t)l;
	return p->line(d, in, dialog_line_text(in, (size_t)l), out);
}

enum dialog_next dialog_data(struct dialog *d, const uint8_t *in, size_t n, size_t *used, struct dialog_out *out)
{
	const struct dialog_proto *p = proto_of(d->kind);
	size_t total = 0;
	enum dialog_next next = DIALOG_MORE;

	*used = 0;
	if (d->done)
		return DIALOG_DONE;
	/* a protocol consumes what it understood; what follows (a second
	 * reply in the same segment) is offered again at once */
	while (!d->done && total < n && (p->data || p->line)) {
		size_t u = 0;
		next = p->line ? by_line(p, d, in + total, n - total, &u, out)
			       : p->data(d, in + total, n - total, &u, out);
		total += u;
		if (u == 0 || next != DIALOG_MORE)
			break;
	}
	*used = total;
	d->seen += (uint32_t)(total > UINT32_MAX - d->seen ? 0 : total);
	return d->done ? DIALOG_DONE : next;
}

enum dialog_next dialog_tls_up(struct dialog *d, struct dialog_out *out)
{
	const struct dialog_proto *p = proto_of(d->kind);

	d->tls = 1;
	if (d->done)
		return DIALOG_DONE;
	if (!p->tls_up)
		return dialog_fail(d, "TLS started where the conversation has no place for it");
	return p->tls_up(d, out);
}

static const char *waiting_for(const struct dialog *d)
{
	const struct dialog_proto *p = proto_of(d->kind);
	const char *const *w = p ? p->waiting : NULL;
	size_t i = 0;

	if (!w || !w[0])
		return "reply";
	while (i < d->step && w[i + 1])
		i++;
	return w[i];
}

/* ": 'words'" to end a failure by close or deadline with, or "" */
static void words_suffix(const struct dialog *d, char *buf, size_t len)
{
	const struct dialog_proto *p = proto_of(d->kind);
	const char *w = p && p->words ? p->words(d) : NULL;

	buf[0] = '\0';
	if (w && w[0])
		snprintf(buf, len, ": '%s'", w);
}

void dialog_closed(struct dialog *d, size_t pending, bool reset)
{
	char w[CHECK_TEXT_MAX + 8];

	if (d->done)
		return;
	d->done = 1;
	words_suffix(d, w, sizeof(w));
	unsigned long bytes = (unsigned long)d->seen + pending;
	if (bytes == 0)
		check_fail(&d->v, "connection %s by the server before the %s%s", reset ? "reset" : "closed",
			   waiting_for(d), w);
	else
		check_fail(&d->v, "connection %s by the server after %lu byte%s, before the %s%s",
			   reset ? "reset" : "closed", bytes, bytes == 1 ? "" : "s", waiting_for(d), w);
}

static void fmt_duration(char *buf, size_t len, int64_t ms)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%lldms", (long long)ms);
}

void dialog_timeout(struct dialog *d, int64_t timeout_ms, size_t pending)
{
	char t[32], w[CHECK_TEXT_MAX + 8];
	unsigned long bytes = (unsigned long)d->seen + pending;

	if (d->done)
		return;
	d->done = 1;
	fmt_duration(t, sizeof(t), timeout_ms);
	words_suffix(d, w, sizeof(w));
	if (bytes == 0)
		check_fail(&d->v, "no %s within %s", waiting_for(d), t);
	else
		check_fail(&d->v, "no %s within %s (after %lu byte%s)%s", waiting_for(d), t, bytes,
			   bytes == 1 ? "" : "s", w);
}

const struct check_verdict *dialog_verdict(const struct dialog *d)
{
	return &d->v;
}

size_t dialog_line_text(const uint8_t *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	return len;
}

void dialog_reply_line(const uint8_t *line, size_t len, unsigned *code, bool *last)
{
	len = dialog_line_text(line, len);
	*code = 0;
	*last = true;
	if (len < 3 || !isdigit(line[0]) || !isdigit(line[1]) || !isdigit(line[2]))
		return;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return;
	*code = (unsigned)((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
	*last = len == 3 || line[3] == ' ';
}

bool dialog_put(struct dialog *d, struct dialog_out *out, const void *p, size_t n)
{
	if (out->cap - out->len < n) {
		dialog_fail(d, "cannot send %zu bytes: the output holds %zu", n, out->cap - out->len);
		return false;
	}
	memcpy(out->p + out->len, p, n);
	out->len += n;
	return true;
}

bool dialog_printf(struct dialog *d, struct dialog_out *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf((char *)out->p + out->len, out->cap - out->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= out->cap - out->len) {
		dialog_fail(d, "cannot send a command of %d bytes", n);
		return false;
	}
	out->len += (size_t)n;
	return true;
}

void dialog_banner(struct dialog *d, const void *text, size_t len)
{
	if (!d->v.banner[0])
		check_text(d->v.banner, text, len);
}

enum dialog_next dialog_ok(struct dialog *d, const void *banner, size_t len)
{
	if (d->done)
		return DIALOG_DONE;
	d->done = 1;
	d->v.ok = true;
	d->v.error[0] = '\0';
	if (banner)
		dialog_banner(d, banner, len);
	return DIALOG_DONE;
}

enum dialog_next dialog_fail_words(struct dialog *d, const char *prefix, const void *words, size_t len)
{
	char w[CHECK_TEXT_MAX + 1];

	if (d->done)
		return DIALOG_DONE;
	d->done = 1;
	check_text(w, words, len);
	if (!w[0])
		check_fail(&d->v, "%s%san empty reply", prefix ? prefix : "", prefix ? ": " : "");
	else if (prefix)
		check_fail(&d->v, "%s: %s", prefix, w);
	else
		check_fail(&d->v, "%s", w);
	return DIALOG_DONE;
}

enum dialog_next dialog_fail(struct dialog *d, const char *fmt, ...)
{
	char buf[4 * CHECK_TEXT_MAX];
	va_list ap;
	int n;

	if (d->done)
		return DIALOG_DONE;
	d->done = 1;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	d->v.ok = false;
	check_text(d->v.error, buf, n < 0 ? 0 : (size_t)n >= sizeof(buf) ? sizeof(buf) - 1 : (size_t)n);
	return DIALOG_DONE;
}

bool dialog_has_word(const uint8_t *text, size_t n, const char *word)
{
	size_t w = strlen(word);

	for (size_t i = 0; i + w <= n; i++) {
		if ((i > 0 && isalnum(text[i - 1])) || (i + w < n && isalnum(text[i + w])))
			continue;
		if (strncasecmp((const char *)text + i, word, w) == 0)
			return true;
	}
	return false;
}

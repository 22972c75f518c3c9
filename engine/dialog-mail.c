/* Mail and file transfer: SMTP (RFC 5321, STARTTLS RFC 3207), IMAP (RFC
 * 9051), POP3 (RFC 1939, STLS RFC 2595), FTP (RFC 959, AUTH TLS RFC 4217).
 * Each reads the greeting, learns whether STARTTLS is offered, upgrades
 * when offered or required, and says goodbye. */
#include <string.h>

#include "engine/dialog-internal.h"

/* STARTTLS wanted: required by the spec (or by the kind's default), or
 * offered and not refused. */
static bool want_tls(const struct dialog *d, bool required_by_default)
{
	uint8_t p = d->spec->starttls;
	if (d->tls || p == CHECK_STARTTLS_NEVER)
		return false;
	return p == CHECK_STARTTLS_REQUIRED || required_by_default || d->offered;
}

static bool must_tls(const struct dialog *d, bool required_by_default)
{
	return !d->tls && d->spec->starttls != CHECK_STARTTLS_NEVER &&
	       (d->spec->starttls == CHECK_STARTTLS_REQUIRED || required_by_default);
}

/* Every one of them starts by waiting for the greeting (step 0). */
static enum dialog_next greeting_first(struct dialog *d, struct dialog_out *out)
{
	(void)out;
	d->step = 0;
	return DIALOG_MORE;
}

/* The protocol's goodbye (IMAP's LOGOUT, the others' QUIT); the server
 * answered all it was asked: up. */
static enum dialog_next goodbye(struct dialog *d, struct dialog_out *out)
{
	dialog_printf(d, out, "%s\r\n", d->kind == CHECK_IMAP || d->kind == CHECK_IMAPS ? "a3 LOGOUT" : "QUIT");
	return dialog_ok(d, NULL, 0);
}

/* IMAP, POP3 and FTP have nothing left to ask once TLS is up (SMTP says
 * EHLO again). */
static enum dialog_next goodbye_tls_up(struct dialog *d, struct dialog_out *out)
{
	return goodbye(d, out);
}

/* The server has said what it offers: the upgrade (the protocol's name
 * for it, its command cmd, then step tls_step) when wanted, else the
 * goodbye. */
static enum dialog_next upgrade_or_quit(struct dialog *d, struct dialog_out *out, bool required_by_default,
					unsigned tls_step, const char *name, const char *cmd)
{
	if (must_tls(d, required_by_default) && !d->offered)
		return dialog_fail(d, "%s required but not offered", name);
	if (want_tls(d, required_by_default)) {
		d->step = tls_step;
		return dialog_printf(d, out, "%s\r\n", cmd) ? DIALOG_MORE : DIALOG_DONE;
	}
	return goodbye(d, out);
}

/* ---- SMTP ---- */

enum { SMTP_GREET, SMTP_EHLO, SMTP_STARTTLS, SMTP_EHLO_TLS };

static const char *helo_name(const struct dialog *d)
{
	return d->spec->helo ? d->spec->helo : "synwatch.invalid";
}

static enum dialog_next smtp_line(struct dialog *d, const uint8_t *in, size_t tl, struct dialog_out *out)
{
	unsigned code;
	bool last;

	dialog_reply_line(in, tl, &code, &last);
	if (code == 0) {
		if (d->step == SMTP_GREET && d->lines == 0)
			return dialog_fail_words(d, "not SMTP", in, tl);
		return dialog_fail_words(d, "not an SMTP reply", in, tl);
	}
	if (d->lines++ == 0 && d->step == SMTP_GREET) {
		d->v.code = (uint16_t)code;
		dialog_banner(d, in + 4 < in + tl ? in + 4 : in + tl, tl > 4 ? tl - 4 : 0);
	}
	if ((d->step == SMTP_EHLO || d->step == SMTP_EHLO_TLS) && tl > 4 && dialog_has_word(in + 4, tl - 4, "STARTTLS"))
		d->offered = 1;
	if (!last)
		return DIALOG_MORE;
	d->lines = 0;
	bool submission = d->kind == CHECK_SUBMISSION && d->spec->starttls == CHECK_STARTTLS_AUTO;
	switch (d->step) {
	case SMTP_GREET:
		if (code != 220)
			return dialog_fail_words(d, NULL, in, tl);
		d->step = SMTP_EHLO;
		return dialog_printf(d, out, "EHLO %s\r\n", helo_name(d)) ? DIALOG_MORE : DIALOG_DONE;
	case SMTP_EHLO:
		if (code != 250)
			return dialog_fail_words(d, "EHLO refused", in, tl);
		return upgrade_or_quit(d, out, submission, SMTP_STARTTLS, "STARTTLS", "STARTTLS");
	case SMTP_STARTTLS:
		if (code != 220)
			return dialog_fail_words(d, "STARTTLS refused", in, tl);
		d->step = SMTP_EHLO_TLS;
		return DIALOG_STARTTLS;
	case SMTP_EHLO_TLS:
		if (code != 250)
			return dialog_fail_words(d, "EHLO refused after STARTTLS", in, tl);
		break;
	}
	return goodbye(d, out);
}

static enum dialog_next smtp_tls_up(struct dialog *d, struct dialog_out *out)
{
	/* RFC 3207: everything learnt before TLS is forgotten, EHLO again */
	d->offered = 0;
	return dialog_printf(d, out, "EHLO %s\r\n", helo_name(d)) ? DIALOG_MORE : DIALOG_DONE;
}

static const char *const smtp_waiting[] = { "greeting", "reply to EHLO", "reply to STARTTLS",
					   "reply to EHLO after STARTTLS", NULL };

const struct dialog_proto dialog_mail_smtp = {
	.begin = greeting_first, .line = smtp_line, .tls_up = smtp_tls_up, .waiting = smtp_waiting,
};

/* ---- IMAP ---- */

enum { IMAP_GREET, IMAP_CAPA, IMAP_STARTTLS };

static enum dialog_next imap_line(struct dialog *d, const uint8_t *in, size_t tl, struct dialog_out *out)
{
	switch (d->step) {
	case IMAP_GREET:
		if (tl >= 4 && strncasecmp((const char *)in, "* OK", 4) == 0) {
			dialog_banner(d, in + 2, tl - 2);
		} else if (tl >= 9 && strncasecmp((const char *)in, "* PREAUTH", 9) == 0) {
			dialog_banner(d, in + 2, tl - 2);
		} else if (tl >= 5 && strncasecmp((const char *)in, "* BYE", 5) == 0) {
			return dialog_fail_words(d, NULL, in + 2, tl - 2);
		} else {
			return dialog_fail_words(d, "not IMAP", in, tl);
		}
		if (d->tls || d->spec->starttls == CHECK_STARTTLS_NEVER)
			return goodbye(d, out);
		/* the greeting may carry [CAPABILITY ...]: ask anyway, it is cheap
		 * and the only way to be sure */
		d->step = IMAP_CAPA;
		return dialog_printf(d, out, "a1 CAPABILITY\r\n") ? DIALOG_MORE : DIALOG_DONE;
	case IMAP_CAPA:
		if (tl >= 12 && strncasecmp((const char *)in, "* CAPABILITY", 12) == 0) {
			if (dialog_has_word(in, tl, "STARTTLS"))
				d->offered = 1;
			return DIALOG_MORE;
		}
		if (tl >= 2 && strncasecmp((const char *)in, "a1", 2) == 0) {
			if (tl >= 5 && strncasecmp((const char *)in, "a1 OK", 5) == 0)
				return upgrade_or_quit(d, out, false, IMAP_STARTTLS, "STARTTLS", "a2 STARTTLS");
			return dialog_fail_words(d, "CAPABILITY refused", in + 3 < in + tl ? in + 3 : in, tl > 3 ? tl - 3 : tl);
		}
		if (tl >= 5 && strncasecmp((const char *)in, "* BYE", 5) == 0)
			return dialog_fail_words(d, NULL, in + 2, tl - 2);
		return DIALOG_MORE; /* other untagged data */
	case IMAP_STARTTLS:
		if (tl >= 2 && strncasecmp((const char *)in, "a2", 2) == 0) {
			if (tl >= 5 && strncasecmp((const char *)in, "a2 OK", 5) == 0)
				return DIALOG_STARTTLS;
			return dialog_fail_words(d, "STARTTLS refused", in + 3 < in + tl ? in + 3 : in, tl > 3 ? tl - 3 : tl);
		}
		return DIALOG_MORE;
	}
	return dialog_fail(d, "IMAP dialog in an unknown step %u", d->step);
}

static const char *const imap_waiting[] = { "greeting", "reply to CAPABILITY", "reply to STARTTLS", NULL };

const struct dialog_proto dialog_mail_imap = {
	.begin = greeting_first, .line = imap_line, .tls_up = goodbye_tls_up, .waiting = imap_waiting,
};

/* ---- POP3 ---- */

enum { POP3_GREET, POP3_CAPA, POP3_CAPA_LIST, POP3_STLS };

static bool pop3_ok(const uint8_t *in, size_t tl)
{
	return tl >= 3 && strncmp((const char *)in, "+OK", 3) == 0;
}

static enum dialog_next pop3_line(struct dialog *d, const uint8_t *in, size_t tl, struct dialog_out *out)
{
	switch (d->step) {
	case POP3_GREET:
		if (tl >= 4 && strncmp((const char *)in, "-ERR", 4) == 0)
			return dialog_fail_words(d, NULL, in, tl);
		if (!pop3_ok(in, tl))
			return dialog_fail_words(d, "not POP3", in, tl);
		dialog_banner(d, in, tl);
		if (d->tls || d->spec->starttls == CHECK_STARTTLS_NEVER)
			return goodbye(d, out);
		d->step = POP3_CAPA;
		return dialog_printf(d, out, "CAPA\r\n") ? DIALOG_MORE : DIALOG_DONE;
	case POP3_CAPA:
		if (!pop3_ok(in, tl))
			/* no CAPA: nothing offered (RFC 2449) */
			return upgrade_or_quit(d, out, false, POP3_STLS, "STLS", "STLS");
		d->step = POP3_CAPA_LIST;
		return DIALOG_MORE;
	case POP3_CAPA_LIST:
		if (tl == 1 && in[0] == '.')
			return upgrade_or_quit(d, out, false, POP3_STLS, "STLS", "STLS");
		if (dialog_has_word(in, tl, "STLS"))
			d->offered = 1;
		return DIALOG_MORE;
	case POP3_STLS:
		if (!pop3_ok(in, tl))
			return dialog_fail_words(d, "STLS refused", in, tl);
		return DIALOG_STARTTLS;
	}
	return dialog_fail(d, "POP3 dialog in an unknown step %u", d->step);
}

static const char *const pop3_waiting[] = { "greeting", "reply to CAPA", "end of the CAPA list", "reply to STLS",
					   NULL };

const struct dialog_proto dialog_mail_pop3 = {
	.begin = greeting_first, .line = pop3_line, .tls_up = goodbye_tls_up, .waiting = pop3_waiting,
};

/* ---- FTP ---- */

enum { FTP_GREET, FTP_FEAT, FTP_AUTH };

static enum dialog_next ftp_line(struct dialog *d, const uint8_t *in, size_t tl, struct dialog_out *out)
{
	unsigned code;
	bool last;

	dialog_reply_line(in, tl, &code, &last);
	if (d->step == FTP_FEAT && d->lines > 0 && code == 0) {
		/* a feature line of a multi-line 211 reply: " AUTH TLS" */
		if (dialog_has_word(in, tl, "AUTH") && dialog_has_word(in, tl, "TLS"))
			d->offered = 1;
		d->lines++;
		return DIALOG_MORE;
	}
	if (code == 0)
		return dialog_fail_words(d, d->step == FTP_GREET ? "not FTP" : "not an FTP reply", in, tl);
	if (d->lines++ == 0 && d->step == FTP_GREET) {
		d->v.code = (uint16_t)code;
		dialog_banner(d, tl > 4 ? in + 4 : in + tl, tl > 4 ? tl - 4 : 0);
	}
	if (!last)
		return DIALOG_MORE;
	d->lines = 0;
	switch (d->step) {
	case FTP_GREET:
		if (code != 220)
			return dialog_fail_words(d, NULL, in, tl);
		if (d->spec->starttls == CHECK_STARTTLS_NEVER)
			return goodbye(d, out);
		d->step = FTP_FEAT;
		return dialog_printf(d, out, "FEAT\r\n") ? DIALOG_MORE : DIALOG_DONE;
	case FTP_FEAT:
		/* 211 with the list, or 500/502 (no FEAT: nothing offered) */
		return upgrade_or_quit(d, out, false, FTP_AUTH, "AUTH TLS", "AUTH TLS");
	case FTP_AUTH:
		if (code != 234)
			return dialog_fail_words(d, "AUTH TLS refused", in, tl);
		return DIALOG_STARTTLS;
	}
	return dialog_fail(d, "FTP dialog in an unknown step %u", d->step);
}

static const char *const ftp_waiting[] = { "greeting", "reply to FEAT", "reply to AUTH TLS", NULL };

const struct dialog_proto dialog_mail_ftp = {
	.begin = greeting_first, .line = ftp_line, .tls_up = goodbye_tls_up, .waiting = ftp_waiting,
};

/* Shared by the conversations of engine/dialog-*.c: the per-protocol
 * table, reading lines and replies, writing to the output, verdicts. */
#ifndef SW_DIALOG_INTERNAL_H
#define SW_DIALOG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>

#include "engine/dialog.h"

struct dialog_proto {
	/* after connect (and TLS for implicit-TLS kinds) */
	enum dialog_next (*begin)(struct dialog *d, struct dialog_out *out);
	enum dialog_next (*data)(struct dialog *d, const uint8_t *in, size_t n, size_t *used,
				 struct dialog_out *out);
	/* instead of data, for a protocol of lines: one whole line at a time,
	 * len bytes of text without its "\r\n" (dialog_line_text); a line
	 * longer than DIALOG_LINE_MAX fails the verdict before */
	enum dialog_next (*line)(struct dialog *d, const uint8_t *line, size_t len, struct dialog_out *out);
	/* after a STARTTLS the dialog asked for; NULL: never asks */
	enum dialog_next (*tls_up)(struct dialog *d, struct dialog_out *out);
	/* what it waits for at each step (d->step), a noun for "no <what>
	 * within 2s" and "before the <what>", NULL-terminated; a step past the
	 * list waits for what its last names (one noun: every step); NULL:
	 * "reply" */
	const char *const *waiting;
	/* the server's words a failure by close or deadline carries: what it
	 * said that the conversation had no use for ("Exceeded MaxStartups"
	 * where SSH's identification string belongs); NULL (or the hook
	 * NULL): none */
	const char *(*words)(const struct dialog *d);
};

extern const struct dialog_proto dialog_mail_smtp, dialog_mail_imap, dialog_mail_pop3, dialog_mail_ftp;
extern const struct dialog_proto dialog_db_redis, dialog_db_postgres, dialog_db_mysql, dialog_db_mongodb,
	dialog_db_memcached;
extern const struct dialog_proto dialog_web_http, dialog_misc_ssh, dialog_misc_amqp, dialog_misc_vnc,
	dialog_misc_generic;

/* The line without its "\r\n" / "\n". */
size_t dialog_line_text(const uint8_t *line, size_t len);

/* A reply of the "NNN text" protocols (SMTP, FTP): one line parsed. *code:
 * its three digits (0: not such a line); *last: it ends the reply ("NNN "
 * or "NNN" rather than "NNN-"). */
void dialog_reply_line(const uint8_t *line, size_t len, unsigned *code, bool *last);

/* Appends to out; false (and the verdict fails) when it does not fit. */
bool dialog_put(struct dialog *d, struct dialog_out *out, const void *p, size_t n);
bool dialog_printf(struct dialog *d, struct dialog_out *out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Verdicts. ok: banner (may be NULL) from len bytes of server text. */
enum dialog_next dialog_ok(struct dialog *d, const void *banner, size_t len);
/* fail: the server's own words (len bytes), after a short prefix of ours
 * (may be NULL): "EHLO refused: 554 ..." */
enum dialog_next dialog_fail_words(struct dialog *d, const char *prefix, const void *words, size_t len);
enum dialog_next dialog_fail(struct dialog *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The banner, once: the first line of the server's text. */
void dialog_banner(struct dialog *d, const void *text, size_t len);

/* Case-insensitive: does the n-byte text hold word (a whole token)? */
bool dialog_has_word(const uint8_t *text, size_t n, const char *word);

#endif

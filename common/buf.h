/* common/buf: a text buffer, the one every module appends text to.
 *
 * Two kinds, one type. Zero-initialized, a buffer grows on the heap (the
 * consumers' JSON, pages, e-mails). Made with buf_init_fixed, it stays in
 * the caller's memory and never allocates (the prober's stdout lines and
 * the keys and labels it formats on the store thread).
 *
 * Appends never fail loudly: when one does not fit (out of memory; out of
 * room in a fixed buffer) nomem is set and every later append is ignored,
 * so the caller checks once at the end. A growable buffer drops the append
 * that failed; a fixed one keeps what fitted of it, cut. s is always
 * NUL-terminated once anything was added (a fixed buffer: from
 * buf_init_fixed on). One thread at a time. */
#ifndef SW_BUF_H
#define SW_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *s;     /* the text; NULL in a growable buffer nothing was added to */
	size_t len;  /* bytes of text, without the NUL */
	size_t cap;  /* bytes at s */
	bool fixed;  /* over the caller's memory: never grows, never freed */
	bool nomem;  /* an append did not fit: the text is incomplete */
};

/* b over the caller's cap bytes at mem, empty. cap 0 leaves no room even
 * for the NUL: b starts with nomem set. */
void buf_init_fixed(struct buf *b, char *mem, size_t cap);
/* Makes room for n more bytes (a size hint). false when they do not fit. */
bool buf_reserve(struct buf *b, size_t n);
void buf_add(struct buf *b, const char *s, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Makes b empty, keeping its memory (and nomem). */
void buf_reset(struct buf *b);
/* Hands a growable buffer's text over: returns it (free it with free())
 * with its length in *len, and leaves b empty. NULL when an append failed
 * (b is released then) or nothing was added. */
char *buf_steal(struct buf *b, size_t *len);
/* Frees a growable buffer's memory; b is empty and usable again. A fixed
 * buffer is only emptied. NULL is a no-op. */
void buf_release(struct buf *b);

#endif

/* Text buffers (common/buf.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

void buf_init_fixed(struct buf *b, char *mem, size_t cap)
{
	*b = (struct buf){ .s = mem, .cap = cap, .fixed = true, .nomem = cap == 0 };
	if (cap)
		mem[0] = '\0';
}

bool buf_reserve(struct buf *b, size_t more)
{
	if (b->nomem)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	if (b->fixed)
		return false;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *s = realloc(b->s, cap);
	if (!s) {
		b->nomem = true;
		return false;
	}
	b->s = s;
	b->cap = cap;
	return true;
}

/* A fixed buffer keeps what fits of an append that does not. */
static void cut(struct buf *b, const char *s, size_t n)
{
	size_t room = b->cap - 1 - b->len;

	memcpy(b->s + b->len, s, n < room ? n : room);
	b->len += n < room ? n : room;
	b->s[b->len] = '\0';
	b->nomem = true;
}

void buf_add(struct buf *b, const char *s, size_t n)
{
	if (!buf_reserve(b, n)) {
		if (b->fixed && !b->nomem)
			cut(b, s, n);
		return;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (b->nomem || (!b->fixed && !buf_reserve(b, 64)))
		return;
	va_copy(ap2, ap);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->s[b->len] = '\0';
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (b->fixed) {
			/* vsnprintf wrote what fits, cut and terminated */
			b->len = b->cap - 1;
			b->nomem = true;
			return;
		}
		if (!buf_reserve(b, (size_t)n)) {
			b->s[b->len] = '\0';
			return;
		}
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->s && b->cap)
		b->s[0] = '\0';
}

char *buf_steal(struct buf *b, size_t *len)
{
	char *s = b->nomem || b->fixed ? NULL : b->s;

	*len = s ? b->len : 0;
	if (s)
		*b = (struct buf){ 0 };
	else
		buf_release(b);
	return s;
}

void buf_release(struct buf *b)
{
	if (!b)
		return;
	if (b->fixed) {
		buf_reset(b);
		return;
	}
	free(b->s);
	*b = (struct buf){ 0 };
}

/* Aligned tables (common/columns.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/columns.h"

/* Characters, not bytes: continuation bytes of UTF-8 take no room. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

int columns_init(struct columns *t, size_t n_cols, const char *const *header)
{
	memset(t, 0, sizeof(*t));
	t->n_cols = n_cols;
	return columns_add(t, header);
}

int columns_add(struct columns *t, const char *const *cells)
{
	if (t->n_rows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **v = realloc(t->cells, cap * t->n_cols * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->cells = v;
		t->cap = cap;
	}
	char **row = t->cells + t->n_rows * t->n_cols;
	for (size_t i = 0; i < t->n_cols; i++) {
		if (!(row[i] = strdup(cells[i] ? cells[i] : "-"))) {
			for (size_t k = 0; k < i; k++)
				free(row[k]);
			return -ENOMEM;
		}
	}
	t->n_rows++;
	return 0;
}

void columns_print(const struct columns *t, FILE *f)
{
	size_t width[32] = { 0 };

	if (t->n_rows < 2 || t->n_cols > sizeof(width) / sizeof(width[0]))
		return;
	for (size_t r = 0; r < t->n_rows; r++)
		for (size_t c = 0; c < t->n_cols; c++) {
			size_t w = text_width(t->cells[r * t->n_cols + c]);
			width[c] = w > width[c] ? w : width[c];
		}
	for (size_t r = 0; r < t->n_rows; r++) {
		for (size_t c = 0; c < t->n_cols; c++) {
			const char *s = t->cells[r * t->n_cols + c];
			if (c + 1 == t->n_cols)
				fprintf(f, "%s\n", s);
			else
				fprintf(f, "%s%*s", s, (int)(width[c] - text_width(s) + 2), "");
		}
	}
}

void columns_release(struct columns *t)
{
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

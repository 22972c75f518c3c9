/* Aligned plain-text tables for the command-line tools: rows of cells,
 * every column as wide as its widest cell (counted in characters, so that
 * UTF-8 names line up), two spaces between columns, the last column not
 * padded. Pure; one thread per table. */
#ifndef SW_COLUMNS_H
#define SW_COLUMNS_H

#include <stddef.h>
#include <stdio.h>

struct columns {
	size_t n_cols;
	char **cells;   /* n_rows * n_cols, malloc'ed copies */
	size_t n_rows, cap;
};

/* An empty table of n_cols columns whose first row is header. Returns 0 or
 * -ENOMEM (release with columns_release either way). */
int columns_init(struct columns *t, size_t n_cols, const char *const *header);
/* Appends a row of n_cols cells (NULL cells print as "-"). 0 or -ENOMEM. */
int columns_add(struct columns *t, const char *const *cells);
/* Prints the table; nothing when it has no rows below the header. */
void columns_print(const struct columns *t, FILE *f);
void columns_release(struct columns *t);

#endif

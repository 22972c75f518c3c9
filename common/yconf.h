/* Reading YAML configuration files with libyaml's document API, table
 * driven: a table of fields says which keys a mapping may have, how each
 * value is read and where it goes, so that unknown keys (with "did you
 * mean"), duplicate keys, wrong types and out-of-range values are handled
 * once for every file format built on it (daemon/config.c for the daemon,
 * tools/alert/alert-config.c for the alerter). Every error is one line
 * "PATH:LINE:COLUMN: what is wrong, what was expected".
 *
 * The document keeps where every node starts, so a check made after the
 * walk can still point at a line: a scope records which fields a mapping
 * gave and where their values start. Main thread; no global state. */
#ifndef SW_YCONF_H
#define SW_YCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

/* How much of a user's value a message quotes. */
#define YCONF_QUOTE "%.80s"
/* Room for a scope's owner in messages ("group 'db'", "channel 'ops'"). */
#define YCONF_OWNER_MAX 128

/* One file being read: the loaded document and where messages go. */
struct yconf {
	yaml_document_t *doc;
	const char *path; /* for messages */
	char *err;	  /* one line; may be NULL */
	size_t errlen;
};

/* What one mapping (and the mappings nested in it) gave. */
struct yconf_scope {
	const char *owner;    /* "group 'db'", "'defaults'": for messages */
	bool defaults;	      /* a shared-defaults mapping: YCONF_GROUP_ONLY keys are refused */
	uint32_t set;	      /* bit b: field b was given (or inherited) */
	yaml_mark_t mark[32]; /* ... and where its value starts */
};

struct yconf_field;

struct yconf_table {
	const struct yconf_field *v;
	size_t n;
};

struct yconf_field {
	const char *key;
	int (*parse)(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
		     struct yconf_scope *s);
	size_t off;	  /* of the value in base */
	size_t off_n;	  /* lists: of their element count (a size_t) */
	uint8_t size;	  /* integers: their size at off */
	uint8_t bit;	  /* in struct yconf_scope, < 32 */
	uint8_t flags;	  /* YCONF_* */
	int64_t min, max; /* numbers and durations (ns) */
	int64_t unit;	  /* durations: stored as ns / unit (0: ns) */
	const struct yconf_table *sub;
	const char *const *choices; /* NULL-terminated */
	int (*check)(const char *s, char *msg, size_t len);
	const char *what; /* what a value looks like, for messages */
};

#define YCONF_GROUP_ONLY 1 /* not in a `defaults:` scope */
#define YCONF_INHERIT 2	   /* a plain value that a defaults scope may give (the caller copies it) */
#define YCONF_REQUIRED 4   /* a top-level key a file must give ("no 'KEY': expected WHAT") */

#define YCONF_BIT(b) (1u << (b))
#define YCONF_AT(type, member) .off = offsetof(type, member), .size = sizeof(((type *)0)->member)
#define YCONF_TABLE(fields)                                                                                  \
	{                                                                                                    \
		fields, sizeof(fields) / sizeof(fields[0])                                                   \
	}

/* ---- messages: each returns -EINVAL (yconf_nomem -ENOMEM) ---- */

/* "PATH:LINE:COL: " and the message into p->err, control characters
 * replaced, so that it stays one line whatever the quoted values hold. */
int yconf_fail(struct yconf *p, yaml_mark_t m, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int yconf_nomem(struct yconf *p);
/* A message without a position, into msg (may be NULL), for checks. */
int yconf_msg(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "KEY: expected WHAT, got 'x'" (or "got a list", "got nothing"...). */
int yconf_wrong_type(struct yconf *p, const yaml_node_t *v, const char *key, const char *what);

/* ---- nodes ---- */

yaml_node_t *yconf_node(struct yconf *p, int index);
const char *yconf_text(const yaml_node_t *v); /* a scalar's text */
/* A plain ~, null or nothing: YAML's null, which no key takes (leave the
 * key out for its default). */
bool yconf_is_null(const yaml_node_t *v);
/* The text of a scalar that says something: not null, not empty, no NUL.
 * Returns 0 and sets *out (owned by the document), or fails naming key. */
int yconf_want_text(struct yconf *p, const yaml_node_t *v, const char *key, const char *what,
		    const char **out);
/* The items of a list, or a lone node as a list of one (*lone receives
 * its index): returns the count and sets *items. */
size_t yconf_items(struct yconf *p, yaml_node_t *v, yaml_node_item_t *lone, yaml_node_item_t **items);
/* Stores v at base + f->off in f->size bytes (1, 2, 4 or 8). */
void yconf_store_int(void *base, const struct yconf_field *f, int64_t v);

/* ---- value readers, for yconf_field.parse ---- */

/* A whole number in [f->min, f->max], stored in f->size bytes. */
int yconf_uint(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
	       struct yconf_scope *s);
/* A size in bytes with an optional unit ("512M", common/num.h), in
 * [f->min, f->max], stored in f->size bytes. */
int yconf_size(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
	       struct yconf_scope *s);
/* A duration (common/clock.h duration_parse) in [f->min, f->max] ns,
 * stored as an int of f->size bytes in units of f->unit ns. */
int yconf_duration(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
		   struct yconf_scope *s);
/* A double in (0, 1]. */
int yconf_share(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
		struct yconf_scope *s);
/* A malloc'ed string (a char * at off, freed first), one of f->choices if
 * set, passing f->check if set. */
int yconf_str(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
	      struct yconf_scope *s);
/* A malloc'ed list of checked strings (char ** at off, size_t at off_n);
 * a lone string is a list of one. Free with yconf_free_strv. */
int yconf_strlist(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
		  struct yconf_scope *s);
/* A nested mapping read with f->sub into the same base and scope. */
int yconf_sub(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
	      struct yconf_scope *s);
/* true or false. */
int yconf_bool(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
	       struct yconf_scope *s);

void yconf_free_strv(char **v, size_t n); /* NULL is fine */

/* ---- mappings and documents ---- */

/* Reads every pair of map with table t into base, recording in s what was
 * given; where ("in group 'db'") goes into messages. Stops at the first
 * error. */
int yconf_map(struct yconf *p, yaml_node_t *map, const struct yconf_table *t, void *base,
	      struct yconf_scope *s, const char *where);
/* The field of t named key, or NULL. */
const struct yconf_field *yconf_find(const struct yconf_table *t, const char *key);

/* Loads len bytes of text (no NUL needed) as exactly one YAML document
 * into *doc and points p->doc at it. Returns 0 (delete the document with
 * yaml_document_delete; its root may be NULL for an empty text), or fails:
 * syntax errors, invalid text, a second document. */
int yconf_open(struct yconf *p, yaml_document_t *doc, const char *text, size_t len);

/* ---- file formats ---- */

/* A file format built on this reader (daemon/config.c, tools/alert/
 * alert-config.c): what its parse from memory and its load from a file
 * share. A parse reads into the format's own state (ctx), which holds the
 * result while it is built, and hands it to out only when all was read. */
struct yconf_format {
	const char *what; /* what a file holds at least: "empty configuration: expected WHAT" */
	size_t max;	  /* the largest file yconf_load reads, in bytes: a wrong path such
			   * as /dev/zero is not read into memory */
	size_t out_size;  /* of the result */
	size_t out_off;	  /* where ctx holds the result while it is built */
	const struct yconf_table *top; /* the fields of the top-level mapping, read into ctx */
	const char *top_what;	       /* what the top level is, for "configuration: expected ..." */
	/* Sets ctx up (its defaults) for the file p->path. Returns 0 or
	 * yconf_nomem(p). */
	int (*begin)(struct yconf *p, void *ctx);
	/* Called once the top level was read (its YCONF_REQUIRED keys given),
	 * with its scope: checks across fields, builds the result. */
	int (*build)(struct yconf *p, yaml_node_t *root, void *ctx, struct yconf_scope *s);
	/* Releases a result (zeroed ones too). */
	void (*release)(void *result);
	/* May be NULL: releases what else ctx holds, once after begin. */
	void (*end)(void *ctx);
};

/* Parses len bytes of text (no NUL needed) as one document of format f,
 * named path in messages (NULL: "<memory>"), with ctx as the format's
 * state (zeroed by the caller). Returns 0 and moves the result into out
 * (free it with f->release), or a negative errno with one line in err,
 * out zeroed and the result released: syntax errors, an empty file
 * ("empty configuration: expected WHAT"), a top level that is no mapping
 * or lacks a required key, what the fields or f->build fail. */
int yconf_parse(const struct yconf_format *f, void *ctx, void *out, const char *text, size_t len,
		const char *path, char *err, size_t errlen);
/* Reads path (at most f->max bytes) and parses it as yconf_parse does.
 * Returns what yconf_parse returns, or the yconf_read_file error. */
int yconf_load(const struct yconf_format *f, void *ctx, void *out, const char *path, char *err, size_t errlen);

/* Reads a whole file of at most max bytes into *text (malloc'ed, free it)
 * and *len. Returns 0, or a negative errno with "cannot open 'PATH': ..."
 * or "cannot read 'PATH': ..." in err. */
int yconf_read_file(const char *path, size_t max, char **text, size_t *len, char *err, size_t errlen);

#endif

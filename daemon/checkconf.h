/* The `check:` of the configuration (docs/checks.md): a kind ("postgres")
 * or a mapping of the kind and its options, read into a struct check_spec
 * (common/check.h) for a group or a named target. Every mistake is one
 * FILE:LINE:COL line: an unknown kind, an option the kind does not take, an
 * expect: PCRE2 cannot compile, a ca_file that does not load. */
#ifndef SW_CHECKCONF_H
#define SW_CHECKCONF_H

#include "common/check.h"
#include "common/yconf.h"

/* A yconf_field.parse: stores a spec (one reference, replacing any) in the
 * struct check_spec * at base + f->off. */
int config_parse_check(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
		       struct yconf_scope *s);

#endif

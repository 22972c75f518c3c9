/* The first target table (daemon/targets.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/log.h"
#include "daemon/config.h"
#include "daemon/options.h"
#include "daemon/targets.h"
#include "scheduler/table.h"
#include "scheduler/targets.h"

static void load_excludes(struct exclude_list *ex, const struct config *c, const struct options *o)
{
	char err[512];
	int r;

	if ((r = exclude_add_builtin(ex)) < 0)
		cli_die_usage("cannot set up the built-in exclude list: %s", strerror(-r));
	if (o->exclude_file && exclude_load_file(ex, o->exclude_file, err, sizeof(err)) < 0)
		cli_die_usage("%s", err);
	for (size_t i = 0; i < c->n_exclude; i++)
		if (exclude_add(ex, c->exclude[i], err, sizeof(err)) < 0)
			cli_die_usage("%s: exclude: %s", c->path, err);
}

/* -E2BIG from a target list: a typo in a prefix is likelier than a wish */
static void die_targets(int r, const char *err, const struct options *o)
{
	if (r == -E2BIG && !o->yes)
		cli_die_usage("%s; or pass --yes to probe them all (at most %u)", err, OPTIONS_HARD_MAX_TARGETS);
	if (r < 0)
		cli_die_usage("%s", err);
}

/* Command-line targets into a list (one-shot and quick monitoring). */
static void load_cli_targets(struct target_list *tl, const struct options *o, const struct exclude_list *ex)
{
	struct portlist ports = { 0 }, *pp = NULL;
	char err[512];

	if (o->ports || o->ping) {
		char list[4096];
		/* --ping adds an echo target to every host, as "icmp" in -p would */
		snprintf(list, sizeof(list), "%s%s%s", o->ports ? o->ports : "", o->ports && o->ping ? "," : "",
			 o->ping ? "icmp" : "");
		if (portlist_parse(&ports, list, err, sizeof(err)) < 0)
			cli_die_usage("-p: %s", err);
		pp = &ports;
	}
	target_list_init(tl, o->yes ? OPTIONS_HARD_MAX_TARGETS : o->max_targets, TARGET_FAMILY_V4 | TARGET_FAMILY_V6);
	for (int i = 0; i < o->n_specs; i++)
		die_targets(target_list_add_spec(tl, o->specs[i], pp, NULL, ex, err, sizeof(err)), err, o);
	if (o->targets_file)
		die_targets(target_list_load_file(tl, o->targets_file, pp, ex, err, sizeof(err)), err, o);
	portlist_release(&ports);
	size_t dups = target_list_dedup(tl);
	if (tl->n == 0)
		cli_die_usage("no endpoints left to probe (%zu excluded by the exclude list, none left)", tl->excluded);
	if (dups)
		log_info("%zu repeated endpoint(s) probed once", dups);
	if (tl->excluded)
		log_info("%zu endpoint(s) skipped: excluded", tl->excluded);
}

static void load_file_targets(struct table **out, const struct exclude_list *ex, const struct config *c,
			      const struct options *o)
{
	char err[1024];

	if (config_build_table(out, c, ex, NULL, NULL, err, sizeof(err)) < 0)
		cli_die_usage("%s: %s", c->path, err);
	if ((*out)->n_live == 0)
		cli_die_usage("%s: no endpoints left to probe (%zu excluded by the exclude list)", c->path,
			      (*out)->tl.excluded);
	if ((*out)->n_live > o->max_targets && !o->yes)
		cli_die_usage("%s: %u endpoints exceed --max-targets %zu: check the prefixes, then raise "
			      "--max-targets or pass --yes",
			      c->path, (*out)->n_live, o->max_targets);
}

void targets_load(struct table **out, struct exclude_list *ex, const struct config *c, const struct options *o)
{
	struct target_list tl = { 0 };
	int r;

	load_excludes(ex, c, o);
	if (o->config) {
		load_file_targets(out, ex, c, o);
		return;
	}
	load_cli_targets(&tl, o, ex);
	/* a single check of each target has no state to keep: no group */
	struct table_group g = config_group_settings(&c->groups[0]);
	r = table_from_list(out, &tl, o->once ? NULL : &g, o->once ? NULL : c->location);
	target_list_release(&tl);
	if (r < 0) {
		log_error("cannot build the target table: %s", strerror(-r));
		exit(1);
	}
}

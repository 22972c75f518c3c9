/* The settings of a run (daemon/settings.h). The command line is read
 * twice when there is a file: first onto the defaults, so that every flag
 * and combination is checked before the file is opened (a usage error
 * says what the user typed, whatever the file holds), then onto the file's
 * configuration, where it wins. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"
#include "daemon/config.h"
#include "daemon/options.h"
#include "daemon/settings.h"
#include "store/redis-url.h"
#include "store/schema.h"
#include "store/store.h"

static char *dup_or_die(const char *s)
{
	char *d = strdup(s);

	if (!d)
		cli_die_usage("out of memory");
	return d;
}

void settings_hostname(char *buf, size_t len)
{
	buf[len - 1] = '\0';
	if (gethostname(buf, len - 1) < 0)
		snprintf(buf, len, "unknown");
}

/* The group the command line describes: its targets are the TARGET
 * arguments and -T, its settings --interval, --timeout and the like. */
static void add_cli_group(struct config *c)
{
	struct config_group *g = calloc(1, sizeof(*g));

	if (!g)
		cli_die_usage("out of memory");
	config_group_init(g);
	c->groups = g;
	c->n_groups = 1;
	g->name = dup_or_die("cli");
}

/* Redis: a bad URL is a usage error now rather than a retry loop later. */
static void settle_redis(struct config *c, const struct options *o)
{
	const char *url = c->redis_url, *id = c->prober_id;
	const char *state_dir = getenv("SYNWATCH_STATE_DIR");
	char err[512], shown[1024], host[256], prober[320];

	if (!url) {
		if (o->spill_given)
			cli_die_usage("--spill '%s': there is no Redis to spill for (give --redis URL)", c->spill);
		c->shard = false; /* no members to share with */
		/* the states for the next start: in the service's state directory */
		if (!c->state_file && state_dir && *state_dir && !o->once) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/synwatch-states-%s.tsv", state_dir, c->location);
			c->state_file = dup_or_die(path);
		}
		return;
	}
	/* Redis keeps the states: no file */
	free(c->state_file);
	c->state_file = NULL;
	if (redis_url_check(url, err, sizeof(err)) < 0) {
		redis_url_redact(url, shown, sizeof(shown));
		if (o->redis_given)
			cli_die_usage("--redis '%s': %s", shown, err);
		cli_die_usage("%s: redis '%s': %s", c->path, shown, err);
	}
	/* the service unit's state directory survives restarts; /var/tmp may not */
	if (!c->spill && state_dir && *state_dir) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/synwatch-spill-%s.log", state_dir, c->location);
		c->spill = dup_or_die(path);
	}
	if (id && (!*id || strlen(id) >= sizeof(prober) || id[strcspn(id, " \t\r\n:")]))
		cli_die_usage("--prober-id '%s': expected a plain id without spaces or ':', like %s/probe-2", id,
			      c->location);
	if (!id) {
		settings_hostname(host, sizeof(host));
		snprintf(prober, sizeof(prober), "%s/%s", c->location, host);
		c->prober_id = dup_or_die(prober);
	}
	/* a single check of each target has no share to keep */
	c->shard = c->shard && !o->once;
}

void settings_load(struct config *c, struct options *o, int argc, char **argv)
{
	char err[1024];

	if (config_init(c) < 0)
		cli_die_usage("out of memory");
	add_cli_group(c);
	options_parse(o, c, &c->groups[0], argc, argv);
	if (o->config) {
		config_release(c);
		if (config_load(c, o->config, err, sizeof(err)) < 0)
			cli_die_usage("%s", err);
		options_apply(c, argc, argv);
	}
	if (c->port_lo <= c->check_port_hi && c->check_port_lo <= c->port_hi)
		cli_die_usage("source ports %u-%u and check source ports %u-%u overlap: the probes and the service "
			      "checks' connections need ranges of their own (--source-ports, --check-ports)",
			      c->port_lo, c->port_hi, c->check_port_lo, c->check_port_hi);
	/* it names keys and files: a config's is checked where it is read */
	if (!schema_location_ok(c->location, strlen(c->location)))
		cli_die_usage(o->location_given ? "--location '%.80s': %s"
						: "the host name '%.80s' is no location: %s; give --location or location:",
			      c->location, SCHEMA_LOCATION_RULE);
	settle_redis(c, o);
	/* with Redis and no output asked for, stdout stays quiet */
	if (!c->output)
		c->output = dup_or_die(c->redis_url ? "none" : "ndjson");
}

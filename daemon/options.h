/* The command line of synwatch. Its settings (--rate, --redis, --interval...)
 * go onto the struct config that daemon/settings.h builds: the file's, or the
 * defaults when there is none. What only the command line says (--once,
 * --dry-run, -q, the targets without -c...) stays here. Main thread, start-up
 * only: a bad flag or combination ends the program (one line, exit 2). */
#ifndef SW_OPTIONS_H
#define SW_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYNWATCH_VERSION "0.2.0"
/* a typo in a prefix (/8 for /24) must not become a flood: more targets
 * than this need --yes; never more than the hard limit */
#define OPTIONS_DEFAULT_MAX_TARGETS (1u << 20)
#define OPTIONS_HARD_MAX_TARGETS (1u << 24)
#define OPTIONS_DEFAULT_PER_HOST_RATE 100

struct config;
struct config_group;

struct options {
	const char *config;         /* -c FILE; NULL: the targets are on the command line */
	bool once;                  /* check every target once and exit (no state, no reload) */
	bool check;                 /* --check: check the settings, print what the run would do, exit */
	bool dry_run;               /* print the packets instead of sending them */
	bool no_reserve;            /* leave net.ipv4.ip_local_reserved_ports alone */
	bool quiet;                 /* no progress line, no summary; errors only */
	int verbose;                /* -v count: 2 and more is debug */
	bool no_latency;            /* no per-minute latency records on stdout */
	bool mem_report;            /* log where the memory goes, at start-up and at exit */
	bool keep_privileges;       /* keep the user and capabilities after start-up */
	bool seccomp;               /* allow only the system calls the running daemon makes */
	const char *user;           /* run as this user after start-up; NULL: PRIVS_DEFAULT_USER if it exists */
	bool yes;                   /* more than max_targets endpoints are meant */
	size_t max_targets;         /* endpoints beyond this need --yes */
	uint32_t per_host_rate;     /* probes per second to one address; 0: no limit */
	unsigned batch;             /* packets per sendmmsg call */
	const char *exclude_file;   /* --exclude FILE, beside the file's exclude: list */
	/* the targets of the command line (without -c) */
	const char *ports;          /* -p LIST, as given */
	bool ping;                  /* --ping: an echo check of every host */
	const char *targets_file;   /* -T FILE */
	int argc;                   /* the command line, for a reload to apply it over the file again */
	char **argv;
	char **specs;               /* TARGET arguments (into argv) */
	int n_specs;
	/* a bad value names where it came from: the flag or the file */
	bool redis_given, spill_given, location_given;
};

/* Reads argv into *o and applies its settings onto c: the top-level ones
 * (--rate, --redis...) onto c itself, the group ones (--interval,
 * --timeout, --retries, --failures, --successes, --warn, --crit) onto g,
 * the group the command line describes. Then checks the combinations.
 * Exits 2 with one line on bad usage, 0 after --help or --version. */
void options_parse(struct options *o, struct config *c, struct config_group *g, int argc, char **argv);

/* The top-level settings of the same argv again, onto c (the file's, with
 * -c): what the command line says wins over the file. Call after
 * options_parse accepted argv; exits 2 only when memory runs out. */
void options_apply(struct config *c, int argc, char **argv);

#endif

/* Command-line helpers (common/cli.h). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/cli.h"
#include "common/log.h"
#include "common/num.h"

void cli_die_usage(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s", msg);
	exit(CLI_EXIT_USAGE);
}

int64_t cli_duration(const char *opt, const char *s, int64_t min_ns, int64_t max_ns)
{
	char msg[256];
	int64_t v;

	if (num_parse_duration(s, min_ns, max_ns, &v) < 0)
		cli_die_usage("%s", num_duration_error(msg, sizeof(msg), opt, s, min_ns, max_ns));
	return v;
}

uint64_t cli_uint(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	char msg[256];
	uint64_t v;

	if (num_parse_uint(s, min, max, &v) < 0)
		cli_die_usage("%s", num_uint_error(msg, sizeof(msg), opt, s, min, max));
	return v;
}

void cli_die_option(int c, char **argv)
{
	if (c == ':')
		cli_die_usage("option '%s' needs a value (see --help)", argv[optind - 1]);
	cli_die_usage("unknown option '%s' (see --help)", argv[optind - 1]);
}

void cli_no_operands(int argc, char **argv)
{
	if (optind < argc)
		cli_die_usage("unexpected argument '%s' (see --help)", argv[optind]);
}

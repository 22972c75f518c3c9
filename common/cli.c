/* Command-line helpers (common/cli.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/cli.h"
#include "common/clock.h"
#include "common/log.h"

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
	int64_t v;

	if (duration_parse(s, &v) < 0 || v < min_ns || v > max_ns)
		cli_die_usage("%s '%s': expected a duration like 500ms or 2s, from %lldms to %llds", opt, s,
			      (long long)(min_ns / NSEC_PER_MSEC), (long long)(max_ns / NSEC_PER_SEC));
	return v;
}

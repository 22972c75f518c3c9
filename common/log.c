#include <stdarg.h>
#include <stdio.h>

#include "common/log.h"

enum log_level log_level_current = LOG_INFO;
static const char *log_program = "synwatch";

void log_set_program(const char *name)
{
	log_program = name;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one call, so lines from several threads do not interleave */
	fprintf(stderr, "%s: %s: %s\n", log_program, names[level], line);
}

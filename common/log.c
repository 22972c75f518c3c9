#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"

enum log_level log_level_current = LOG_INFO;
static const char *log_program = "synwatch";

static pthread_mutex_t problem_lock = PTHREAD_MUTEX_INITIALIZER;
static char problem[300];
static int64_t problem_ns;

int64_t log_last_problem(char *buf, size_t len)
{
	int64_t at;

	pthread_mutex_lock(&problem_lock);
	snprintf(buf, len, "%s", problem);
	at = problem_ns;
	pthread_mutex_unlock(&problem_lock);
	return at;
}

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
	if (level <= LOG_WARN) {
		pthread_mutex_lock(&problem_lock);
		/* cut to the heartbeat's field: the log line keeps it whole */
		size_t n = strlen(names[level]) + 2;
		memcpy(problem, names[level], n - 2);
		memcpy(problem + n - 2, ": ", 2);
		snprintf(problem + n, sizeof(problem) - n, "%.*s", (int)(sizeof(problem) - n - 1), line);
		problem_ns = clock_real_ns();
		pthread_mutex_unlock(&problem_lock);
	}
}

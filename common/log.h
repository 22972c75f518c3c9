/* Logging to stderr. The level is checked before formatting, so a disabled
 * debug line costs one comparison. Messages: lowercase, no trailing period,
 * the subject quoted ("cannot open '%s': %s"). Thread-safe (one fprintf per line). */
#ifndef SW_LOG_H
#define SW_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* The process-wide level, set once by main before threads start. */
extern enum log_level log_level_current;

void log_set_program(const char *name);
/* The last error or warning logged ("error: cannot write ..."), for a
 * heartbeat: copies it into buf and returns when it was logged (Unix ns),
 * or 0 with buf empty when there was none. Any thread. */
int64_t log_last_problem(char *buf, size_t len);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_at(lvl, ...)                                    \
	do {                                                \
		if ((lvl) <= log_level_current)             \
			log_msg((lvl), __VA_ARGS__);        \
	} while (0)
#define log_error(...) log_at(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_at(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)

#endif

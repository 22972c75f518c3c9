/* Command-line helpers for the programs in tools/: one line naming what is
 * wrong and exit status 2, the convention of every synwatch program. For
 * main's option parsing only (they exit). */
#ifndef SW_CLI_H
#define SW_CLI_H

#include <stdint.h>

#define CLI_EXIT_RUNTIME 1
#define CLI_EXIT_USAGE 2

/* Logs fmt as an error (common/log.h) and exits with CLI_EXIT_USAGE. */
__attribute__((format(printf, 1, 2), noreturn)) void cli_die_usage(const char *fmt, ...);

/* The duration s ("500ms", "2s", common/clock.h) for option opt, in ns;
 * exits through cli_die_usage, in common/num.h's words, unless
 * min_ns <= it <= max_ns. */
int64_t cli_duration(const char *opt, const char *s, int64_t min_ns, int64_t max_ns);
/* The whole number s (common/num.h: digits only) for option opt; exits
 * the same way unless min <= it <= max. */
uint64_t cli_uint(const char *opt, const char *s, uint64_t min, uint64_t max);

/* What getopt_long (opterr = 0, optstring starting with ':') refused: c is
 * ':' for an option without its value, anything else for an unknown one;
 * exits through cli_die_usage naming argv[optind - 1]. */
__attribute__((noreturn)) void cli_die_option(int c, char **argv);
/* After the options of a program that takes no operands: exits through
 * cli_die_usage naming the first one left, if any. */
void cli_no_operands(int argc, char **argv);

#endif

/* The settings of a run are one struct config (daemon/config.h): the file
 * of -c, or without one the built-in defaults with one group, "cli", that
 * the command line describes; the command line's flags on top of either.
 * Main thread, start-up only: bad input ends the program (one line, exit 2). */
#ifndef SW_SETTINGS_H
#define SW_SETTINGS_H

#include <stddef.h>

struct config;
struct options;

/* Parses argv into *o and builds *c (release with config_release). On
 * return the settings that depend on others hold the value in effect:
 * output (never NULL), spill and prober_id (with Redis: the default path
 * and id filled in), shard (false unless monitoring with Redis asks for it). */
void settings_load(struct config *c, struct options *o, int argc, char **argv);

/* This machine's name as the prober shows it ("unknown" if there is none). */
void settings_hostname(char *buf, size_t len);

#endif

/* synwatch --check (-t), as sshd -t and nginx -t: the settings and the
 * first target table exactly as a start makes them (daemon/settings.h,
 * daemon/targets.h: the file or the command line's targets, hostnames
 * resolved, the exclude list applied, --max-targets), routed as a start
 * routes them (daemon_route) and with the canaries a start adds; then a
 * summary on stdout of what the run would do. Nothing is opened to probe
 * with, no Redis connection is made, no privilege is needed: the service
 * unit's reload runs it first, so that a typo never reaches SIGHUP. Main
 * thread, instead of the run. */
#ifndef SW_PREFLIGHT_H
#define SW_PREFLIGHT_H

struct daemon;

/* d: program, o and cfg set (settings_load done), nothing opened. Bad
 * settings end the program as a start would (one line, exit 2). Returns
 * the exit status: 0 valid, 1 when the routes cannot be read. Frees what
 * it opened in d (daemon_close), not d->cfg. */
int preflight_run(struct daemon *d);

#endif

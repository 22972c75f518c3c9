/* tools/lib/stopsig: the signals of a consumer daemon that runs until told
 * to stop (synwatch-alert, synwatch-quorum). SIGTERM and SIGINT set
 * stopsig_stop, which its loop and redis_retry() watch; SIGHUP, which none
 * of them takes as a reload, must not end it (an operator's reload, a
 * logrotate postrotate): the loop's next stopsig_hup() logs it; SIGPIPE is
 * ignored (a peer gone is an error of the write, not the end). */
#ifndef SW_TOOLS_STOPSIG_H
#define SW_TOOLS_STOPSIG_H

#include <signal.h>

extern volatile sig_atomic_t stopsig_stop;

/* Installs the handlers; program names the daemon and its unit in the log. */
void stopsig_install(const char *program);

/* Logs a SIGHUP that came since the last call, once. */
void stopsig_hup(void);

#endif

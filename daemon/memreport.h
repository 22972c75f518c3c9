/* --mem-report: where the prober's memory goes. Main thread. */
#ifndef SW_MEMREPORT_H
#define SW_MEMREPORT_H

struct daemon;

/* Logs (info) the allocated size of every per-target array (per target)
 * and of every buffer (in MiB), beside what malloc and the kernel say.
 * when names the moment: "at start-up", "at exit". */
void memreport_log(const struct daemon *d, const char *when);

#endif

/* Starting the prober's threads (the sender, the receiver, the store and
 * the Redis writer), each under a name of its own. */
#ifndef SW_THREAD_H
#define SW_THREAD_H

#include <pthread.h>

/* Runs fn(arg) on a new thread called name (at most 15 characters: what
 * top -H and perf show). Returns 0 and sets *t (join it), or a negative
 * errno. */
int thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *name);

#endif

/* Starting the prober's threads (the sender, the receiver, the store, the
 * checker and the Redis writer), each under a name of its own. */
#ifndef SW_THREAD_H
#define SW_THREAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* Runs fn(arg) on a new thread called name (at most 15 characters: what
 * top -H and perf show). Returns 0 and sets *t (join it), or a negative
 * errno. */
int thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *name);

/* A thread whose loop runs until asked to stop (thread_loop_stopping):
 * the sender's, the receiver's, the store's, the checker's. Zeroed, it is
 * not running; the thread that starts it stops it. */
struct thread_loop {
	pthread_t thread;
	bool running;
	atomic_bool stop;
};

/* Runs fn(arg) as thread_start does. Returns 0, -EALREADY when it runs,
 * or thread_start's error. */
int thread_loop_start(struct thread_loop *l, void *(*fn)(void *), void *arg, const char *name);
/* Asks the loop to stop and joins its thread; nothing when not running. */
void thread_loop_stop(struct thread_loop *l);

/* For the loop: true once asked to stop. Acquire: what the stopping thread
 * did before asking (records pushed to a ring) is seen after this. */
static inline bool thread_loop_stopping(struct thread_loop *l)
{
	return atomic_load_explicit(&l->stop, memory_order_acquire);
}

#endif

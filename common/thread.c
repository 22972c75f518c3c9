#include <errno.h>
#include <pthread.h>

#include "common/thread.h"

int thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *name)
{
	int r = pthread_create(t, NULL, fn, arg);

	if (r)
		return -r;
	pthread_setname_np(*t, name);
	return 0;
}

int thread_loop_start(struct thread_loop *l, void *(*fn)(void *), void *arg, const char *name)
{
	int r;

	if (l->running)
		return -EALREADY;
	atomic_store(&l->stop, false);
	if ((r = thread_start(&l->thread, fn, arg, name)) < 0)
		return r;
	l->running = true;
	return 0;
}

void thread_loop_stop(struct thread_loop *l)
{
	if (!l->running)
		return;
	atomic_store(&l->stop, true);
	pthread_join(l->thread, NULL);
	l->running = false;
}

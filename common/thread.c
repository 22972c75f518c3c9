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

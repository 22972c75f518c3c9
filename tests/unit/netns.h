/* For unit tests that need a network namespace of their own: in_netns(fn)
 * runs fn in a forked child inside a fresh one and fails the test unless fn
 * returns 0. fn returns CHILD_SKIP when its set-up failed (the test then
 * fails too, saying so: a check that did not run must not look passed);
 * NETNS_TEST(test_x, fn) defines a test that does just that. In fn, CHECK
 * fails the child and sh runs a set-up command. Include after <cmocka.h>. */
#ifndef SW_TEST_NETNS_H
#define SW_TEST_NETNS_H

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_SKIP 77

/* In the child: a failed check ends it with status 1, naming the check. */
#define CHECK(cond)                                                                                          \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);             \
			_exit(1);                                                                            \
		}                                                                                            \
	} while (0)

/* Runs cmd (ip, nft...) through the shell, its output discarded; returns
 * system()'s status. */
static inline int sh(const char *cmd)
{
	char line[512];

	snprintf(line, sizeof(line), "%s >/dev/null 2>&1", cmd);
	return system(line);
}

static void in_netns(int (*fn)(void))
{
	if (geteuid() != 0)
		fail_msg("this test needs root to make a network namespace: run it (make test) as root");
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(CHILD_SKIP);
		_exit(fn());
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == CHILD_SKIP)
		fail_msg("the namespace set-up failed (see the message above)");
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Defines the cmocka test `name`, which runs fn with in_netns. */
#define NETNS_TEST(name, fn)                                                                                 \
	static void name(void **state)                                                                       \
	{                                                                                                    \
		(void)state;                                                                                 \
		in_netns(fn);                                                                                \
	}

#endif

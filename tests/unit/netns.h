/* For unit tests that need a network namespace of their own: in_netns(fn)
 * runs fn in a forked child inside a fresh one and fails the test unless fn
 * returns 0. fn returns CHILD_SKIP when its set-up failed (the test then
 * fails too, saying so: a check that did not run must not look passed).
 * Include after <cmocka.h>. */
#ifndef SW_TEST_NETNS_H
#define SW_TEST_NETNS_H

#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_SKIP 77

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

#endif

/* Least privilege (engine/privs.h). */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/privs.h"

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	int e = errno ? -errno : -EPERM;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return e;
}

static int cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int last = 40;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = 40;
		fclose(f);
	}
	return last;
}

/* Empties the effective, permitted and inheritable sets. */
static int caps_clear(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	return syscall(SYS_capset, &hdr, data) == 0 ? 0 : -errno;
}

int privs_drop(const char *user, bool required, const char **switched_to, char *err, size_t errlen)
{
	const char *name = user ? user : PRIVS_DEFAULT_USER;
	struct passwd *pw = NULL;

	*switched_to = NULL;
	if (geteuid() == 0) {
		errno = 0;
		pw = getpwnam(name);
		if (!pw && (user || required))
			return fail(err, errlen, "--user '%s': no such user (create it, or run without --user)", name);
	}
	/* the bounding set, while CAP_SETPCAP is still ours: nothing exec'd
	 * later could get a capability back (EPERM without it: a non-root
	 * run with file capabilities keeps the bounding set, and nothing) */
	for (int c = 0; c <= cap_last(); c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM)
			return fail(err, errlen, "cannot drop capability %d from the bounding set: %s", c,
				    strerror(errno));
	if (pw) {
		/* groups first: after setuid we could no longer change them */
		if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
			return fail(err, errlen, "cannot switch to user '%s': %s", name, strerror(errno));
		/* a switch that can be undone is no switch */
		if (setuid(0) == 0 || seteuid(0) == 0)
			return fail(err, errlen, "could switch back to root after becoming '%s'", name);
		*switched_to = name;
	}
	int r = caps_clear();
	if (r < 0)
		return fail(err, errlen, "cannot drop capabilities: %s", strerror(-r));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail(err, errlen, "cannot clear ambient capabilities: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
	if (!privs_none())
		return fail(err, errlen, "capabilities are still held after dropping them");
	return 0;
}

bool privs_none(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	bool none = f != NULL;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long v;
		if ((sscanf(line, "CapEff: %llx", &v) == 1 || sscanf(line, "CapPrm: %llx", &v) == 1 ||
		     sscanf(line, "CapAmb: %llx", &v) == 1) &&
		    v != 0)
			none = false;
	}
	if (f)
		fclose(f);
	return none;
}

/* What the daemon does once running: its threads wait, sleep, read and
 * write packets, rings and pipes, log, reconnect to Redis (sockets, DNS:
 * /etc/hosts and resolv.conf reads), re-read its config (SIGHUP), write and
 * remove its spill file, read the routing table over netlink. */
static const char *const allowed[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close", "openat", "open", "fstat",
	"newfstatat", "statx", "stat", "lstat", "lseek", "access", "faccessat", "faccessat2", "readlink",
	"getdents64", "unlink", "unlinkat", "rename", "renameat", "renameat2", "fsync", "fdatasync", "ftruncate",
	"fcntl", "dup", "dup2", "dup3", "ioctl", "mmap", "munmap", "mprotect", "madvise", "brk", "mremap",
	"futex", "clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday", "poll", "ppoll", "select",
	"pselect6", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "socket", "connect", "bind",
	"getsockname", "getpeername", "setsockopt", "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg",
	"sendmmsg", "recvmmsg", "shutdown", "getpid", "gettid", "getuid", "geteuid", "getgid", "getegid",
	"tgkill", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall", "exit",
	"exit_group", "getrandom", "uname", "sched_yield", "sched_getaffinity", "set_robust_list", "rseq",
	"clone", "clone3", "prlimit64", "getrusage", "sysinfo", "pipe2", "eventfd2", "fstatfs", "statfs",
	"membarrier",
#if defined(__SANITIZE_ADDRESS__)
	/* the sanitizer runtime of the test build: LeakSanitizer stops the
	 * world with a ptrace helper thread at exit */
	"ptrace", "wait4", "waitpid", "prctl", "sched_setaffinity", "kill", "getppid", "process_vm_readv",
	"setsid", "getpgid", "getsid", "tkill", "getdents",
#endif
};

int privs_seccomp(char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r;

	if (!ctx)
		return fail(err, errlen, "cannot set up the seccomp filter");
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture (open, stat on arm64) */
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) < 0) {
			seccomp_release(ctx);
			errno = -r;
			return fail(err, errlen, "seccomp: cannot allow '%s': %s", allowed[i], strerror(-r));
		}
	}
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		errno = -r;
		return fail(err, errlen, "cannot load the seccomp filter: %s", strerror(-r));
	}
	return 0;
}

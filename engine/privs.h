/* Least privilege: synwatch needs CAP_NET_RAW only to open its raw sockets
 * and capture handles (and CAP_NET_ADMIN to reserve its source ports), all
 * at start-up. After that it parses what the network sends it with no
 * privilege at all: another user, no capabilities in any set, no way to
 * regain them (no_new_privs), and optionally a seccomp filter that allows
 * only the system calls the running daemon makes. Main thread, once, after
 * every socket and handle is open and before the worker threads start
 * (threads inherit the result). */
#ifndef SW_PRIVS_H
#define SW_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

#define PRIVS_DEFAULT_USER "synwatch"

/* Switches to user when running as root (NULL: PRIVS_DEFAULT_USER if that
 * user exists, else stays root, without capabilities), then drops every
 * capability (effective, permitted, inheritable, ambient and, where
 * allowed, bounding) and sets no_new_privs. required: a user that does not
 * exist is an error (it was asked for by name). Returns 0, or a negative
 * errno with one line in err. *switched_to is the user name switched to, or
 * NULL if the uid stayed the same. */
int privs_drop(const char *user, bool required, const char **switched_to, char *err, size_t errlen);

/* True when the process holds no capability in its effective, permitted
 * and ambient sets (read from /proc/self/status). */
bool privs_none(void);

/* Installs the seccomp filter (libseccomp): any system call not on the
 * daemon's list kills the process, so that a bug exploited through a
 * crafted packet cannot open files, exec or ptrace. Returns 0 or a negative
 * errno with one line in err. */
int privs_seccomp(char *err, size_t errlen);

#endif

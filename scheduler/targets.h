/* Target lists: parsing what the user asks to probe (command-line specs,
 * -T files, exclude files) into a flat array of endpoints. Line-at-a-time,
 * so that a fuzzer can drive the parser directly. Main thread only. */
#ifndef SW_TARGETS_H
#define SW_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

/* A sorted, duplicate-free set of ports, each with the service check it
 * asks for (common/check.h; CHECK_NONE for a bare SYN check). */
struct portlist {
	uint16_t *ports;
	size_t n;
	uint8_t *checks;  /* per port: enum check_kind; NULL: none asks for one */
};

/* The port of an ICMP echo ("ping") target: "icmp" in port lists and specs. */
#define TARGET_PORT_ICMP 0

/* Parses "22,80,443,8000-8100" (and "icmp", port TARGET_PORT_ICMP), each
 * item optionally with a service check: "5432/postgres,443/tls,8000-8010/http".
 * Errors (-EINVAL, with a message in err): empty items, port 0, ports above
 * 65535, reversed ranges, an unknown check, two checks for one port, junk. */
int portlist_parse(struct portlist *out, const char *s, char *err, size_t errlen);
void portlist_release(struct portlist *p);

/* Addresses never probed. */
struct exclude_list {
	struct sw_cidr *v;
	size_t n, cap;
};

/* Adds the built-in exclusions: 0.0.0.0/8, 224.0.0.0/4 (multicast),
 * 240.0.0.0/4 (reserved, includes 255.255.255.255), ::/128, ff00::/8. */
int exclude_add_builtin(struct exclude_list *ex);
/* Adds one CIDR or address. */
int exclude_add(struct exclude_list *ex, const char *cidr, char *err, size_t errlen);
/* Reads one CIDR or address per line, '#' comments, blank lines. Errors name
 * "FILE:LINE". */
int exclude_load_file(struct exclude_list *ex, const char *path, char *err, size_t errlen);
bool exclude_match(const struct exclude_list *ex, const struct sw_addr *a);
void exclude_release(struct exclude_list *ex);

#define TARGET_NO_NAME UINT32_MAX

struct target {
	struct sw_addr addr;
	uint16_t port;
	uint8_t check; /* enum check_kind asked for by the spec or the port list (CHECK_NONE: none) */
	uint8_t pad;
	uint32_t name; /* byte offset of a NUL-terminated name in target_list.names, or TARGET_NO_NAME */
};

struct target_list {
	struct target *v;
	size_t n, cap;
	char *names;          /* all names, NUL-separated */
	size_t names_len, names_cap;
	size_t excluded;      /* endpoints skipped because the exclude list matched */
	size_t max_targets;   /* adding beyond this fails with -E2BIG; 0 = no limit */
	uint8_t families;     /* bit 1 << 0: IPv4 allowed, 1 << 1: IPv6 allowed */
	/* Optional: resolves hostnames instead of target_resolve (the daemon
	 * records what each name resolved to, and keeps the last good answer
	 * when DNS fails on a reload). Same contract as target_resolve. */
	int (*resolver)(void *ctx, const char *host, uint8_t families, struct sw_addr **out, size_t *n, char *err,
			size_t errlen);
	void *resolver_ctx;
};

#define TARGET_FAMILY_V4 1
#define TARGET_FAMILY_V6 2

void target_list_init(struct target_list *tl, size_t max_targets, uint8_t families);
void target_list_release(struct target_list *tl);

/* Adds every endpoint of one spec: "IP", "IP:PORT", "CIDR", "CIDR:PORT",
 * "HOSTNAME", "HOSTNAME:PORT", "[IPv6]:PORT", each port optionally with a
 * service check ("IP:5432/postgres"). Specs without a port get every port
 * of `ports` with its check (an error if ports is NULL or empty). Hostnames are
 * resolved now (getaddrinfo; every address of an allowed family). name may
 * be NULL. Returns the number of endpoints added (excluded ones are counted
 * in tl->excluded, not added) or a negative errno with a one-line message
 * in err that names the spec and what would be right. */
int target_list_add_spec(struct target_list *tl, const char *spec, const struct portlist *ports,
			 const char *name, const struct exclude_list *ex, char *err, size_t errlen);

/* One line of a -T file: "SPEC [NAME...]" with '#' comments and blank
 * lines allowed. The name is the rest of the line, trimmed. Returns what
 * target_list_add_spec returns (0 for blank/comment lines). */
int target_list_add_line(struct target_list *tl, const char *line, const struct portlist *ports,
			 const struct exclude_list *ex, char *err, size_t errlen);

/* Reads a whole -T file; errors are "FILE:LINE: message". "-" is stdin. */
int target_list_load_file(struct target_list *tl, const char *path, const struct portlist *ports,
			  const struct exclude_list *ex, char *err, size_t errlen);

/* Resolves host (getaddrinfo) to its addresses of the allowed families, in
 * the resolver's order without repeats. Returns 0 and sets *out (free()) and
 * *n >= 1, or a negative errno with "cannot resolve 'HOST': ..." in err
 * (-EAFNOSUPPORT when it has addresses of other families only). */
int target_resolve(const char *host, uint8_t families, struct sw_addr **out, size_t *n, char *err, size_t errlen);

/* Removes repeated (address, port) pairs, keeping the first (and its name).
 * Order of the survivors is preserved. Returns how many were removed. */
size_t target_list_dedup(struct target_list *tl);

/* The target's name, or NULL. */
const char *target_name(const struct target_list *tl, const struct target *t);

#endif

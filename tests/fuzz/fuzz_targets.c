/* libFuzzer harness for scheduler/targets: every input line goes to
 * target_list_add_line (with a small port list and an exclude list), to
 * portlist_parse and to exclude_add, and the results are checked against
 * the contract, not only for crashes.
 *
 * Memory: max_targets is 4096, so a CIDR cannot expand into gigabytes; the
 * limit is checked before expansion, which is part of what is fuzzed.
 *
 * Hostnames: skipping inputs with letters would leave resolution, family
 * filtering and naming unfuzzed, and would still let "1-2" or "beef" reach
 * DNS. Instead this file defines getaddrinfo and freeaddrinfo: the static
 * link binds the library's calls to them rather than to libc (the
 * sanitizers' interceptors are weak symbols). A name resolves at once, and
 * always the same way, to addresses derived from a hash of it: sometimes an
 * error, sometimes both families, repeats, or excluded addresses. Nothing
 * reaches the network; LLVMFuzzerInitialize checks that the stand-in is the
 * one the library calls. */
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "scheduler/targets.h"

#define MAX_TARGETS 4096

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long fake_lookups;

struct fake_ai {
	struct addrinfo ai;
	struct sockaddr_in6 sa; /* large enough for either family */
};

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
	struct addrinfo *head = NULL, **tail = &head;
	uint32_t h;

	(void)service;
	fake_lookups++;
	*res = NULL;
	if (!node)
		return EAI_NONAME;
	h = name_hash(node);
	switch (h % 8) {
	case 0:
		return EAI_NONAME;
	case 1:
		return EAI_AGAIN;
	case 2:
		errno = EIO;
		return EAI_SYSTEM;
	}
	for (unsigned i = 0, n = 1 + (h >> 3) % 4; i < n; i++) {
		int family = (h >> (5 + i)) & 1 ? AF_INET6 : AF_INET;
		/* repeats and excluded (multicast) addresses, now and then */
		uint32_t low = (h >> 9) & 0x10 ? 7 : (h >> 9) + i;
		bool multicast = (h >> 20) % 5 == 0;

		if (hints && hints->ai_family != AF_UNSPEC && hints->ai_family != family)
			continue;
		struct fake_ai *f = calloc(1, sizeof(*f));
		if (!f)
			break;
		f->ai.ai_family = family;
		f->ai.ai_socktype = SOCK_STREAM;
		f->ai.ai_addr = (struct sockaddr *)&f->sa;
		if (family == AF_INET) {
			struct sockaddr_in sin = { .sin_family = AF_INET };
			sin.sin_addr.s_addr = htonl((multicast ? 0xe0000000u : 0xc6120000u) | (low & 0xffff));
			memcpy(&f->sa, &sin, sizeof(sin));
			f->ai.ai_addrlen = sizeof(sin);
		} else {
			f->sa.sin6_family = AF_INET6;
			f->sa.sin6_addr.s6_addr[0] = multicast ? 0xff : 0x20;
			f->sa.sin6_addr.s6_addr[1] = multicast ? 0x02 : 0x01;
			memcpy(&f->sa.sin6_addr.s6_addr[12], &low, sizeof(low));
			f->ai.ai_addrlen = sizeof(f->sa);
		}
		*tail = &f->ai;
		tail = &f->ai.ai_next;
	}
	*res = head;
	return head ? 0 : EAI_NONAME;
}

void freeaddrinfo(struct addrinfo *ai)
{
	while (ai) {
		struct addrinfo *next = ai->ai_next;
		free(ai); /* ai is the first member of its struct fake_ai */
		ai = next;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct target_list tl;
	struct portlist ports = { 0 };
	char err[256];

	(void)argc;
	(void)argv;
	target_list_init(&tl, MAX_TARGETS, TARGET_FAMILY_V4 | TARGET_FAMILY_V6);
	target_list_add_spec(&tl, "selftest.example:80", &ports, NULL, NULL, err, sizeof(err));
	target_list_release(&tl);
	if (fake_lookups != 1) {
		fprintf(
		    stderr,
		    "fuzz_targets: the library does not call this file's getaddrinfo: it would use DNS\n");
		abort();
	}
	return 0;
}

static void check_portlist(const char *line)
{
	struct portlist p;
	char err[256] = "";

	if (portlist_parse(&p, line, err, sizeof(err)) < 0) {
		if (!err[0] || p.ports || p.n)
			abort();
		return;
	}
	/* port 0 only as "icmp" (a ping target), never from a number */
	if (p.n == 0 || (p.ports[0] == TARGET_PORT_ICMP && !strcasestr(line, "icmp")))
		abort();
	for (size_t i = 1; i < p.n; i++)
		if (p.ports[i - 1] >= p.ports[i])
			abort();
	portlist_release(&p);
}

static void check_exclude(struct exclude_list *scratch, const char *line)
{
	char err[256] = "";
	size_t n = scratch->n;
	int r = exclude_add(scratch, line, err, sizeof(err));

	if (r < 0 ? !err[0] || scratch->n != n : scratch->n != n + 1)
		abort();
	if (r == 0 && !exclude_match(scratch, &scratch->v[n].base))
		abort();
}

static void check_line(struct target_list *tl, const char *line, const struct portlist *ports,
		       const struct exclude_list *ex)
{
	char err[256] = "";
	size_t n = tl->n, names_len = tl->names_len;
	int r = target_list_add_line(tl, line, ports, ex, err, sizeof(err));

	/* errors say something, on one line, and change nothing */
	if (r < 0 && (!err[0] || strchr(err, '\n') || tl->n != n || tl->names_len != names_len))
		abort();
	if (r >= 0 && tl->n != n + (size_t)r)
		abort();
	if (tl->max_targets && tl->n > tl->max_targets)
		abort();
}

static int endpoint_cmp(const void *a, const void *b)
{
	const struct target *x = a, *y = b;
	int c = memcmp(x->addr.u.b, y->addr.u.b, 16);

	if (x->addr.family != y->addr.family)
		return x->addr.family < y->addr.family ? -1 : 1;
	if (c)
		return c;
	return x->port < y->port ? -1 : x->port > y->port;
}

static void check_list(struct target_list *tl, const struct exclude_list *ex)
{
	for (size_t i = 0; i < tl->n; i++) {
		const struct target *t = &tl->v[i];
		int fam = t->addr.family;
		if (exclude_match(ex, &t->addr)) /* port 0 is a ping target: allowed */
			abort();
		if (!(fam == AF_INET && (tl->families & TARGET_FAMILY_V4)) &&
		    !(fam == AF_INET6 && (tl->families & TARGET_FAMILY_V6)))
			abort();
		if (t->name != TARGET_NO_NAME &&
		    (t->name >= tl->names_len || !memchr(tl->names + t->name, '\0', tl->names_len - t->name)))
			abort();
	}
	size_t before = tl->n, removed = target_list_dedup(tl);
	if (tl->n + removed != before)
		abort();
	/* no endpoint twice: sort a copy, compare neighbours */
	struct target *v = malloc(tl->n * sizeof(*v) + 1);
	if (!v)
		abort();
	if (tl->n)
		memcpy(v, tl->v, tl->n * sizeof(*v)); /* tl->v is NULL while empty */
	qsort(v, tl->n, sizeof(*v), endpoint_cmp);
	for (size_t i = 1; i < tl->n; i++)
		if (endpoint_cmp(&v[i - 1], &v[i]) == 0)
			abort();
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct exclude_list ex = { 0 }, scratch = { 0 };
	struct portlist ports;
	struct target_list tl;
	char err[256];

	if (exclude_add_builtin(&ex) < 0 || exclude_add(&ex, "198.18.0.128/25", err, sizeof(err)) < 0 ||
	    portlist_parse(&ports, "22,80,443", err, sizeof(err)) < 0)
		abort();
	/* odd sizes: IPv4 only, so that both family policies are fuzzed */
	target_list_init(&tl, MAX_TARGETS, size & 1 ? TARGET_FAMILY_V4 : TARGET_FAMILY_V4 | TARGET_FAMILY_V6);
	for (size_t start = 0; start < size;) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t len = nl ? (size_t)(nl - data) - start : size - start;
		char *line = malloc(len + 1);
		if (!line)
			break;
		memcpy(line, data + start, len);
		line[len] = '\0';
		check_line(&tl, line, &ports, &ex);
		check_portlist(line);
		check_exclude(&scratch, line);
		free(line);
		start += len + 1;
	}
	check_list(&tl, &ex);
	target_list_release(&tl);
	portlist_release(&ports);
	exclude_release(&scratch);
	exclude_release(&ex);
	return 0;
}

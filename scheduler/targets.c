#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/check.h"
#include "common/num.h"
#include "scheduler/targets.h"

/* DNS names are at most 253 characters (RFC 1035); the longest literal,
 * an IPv6 CIDR, is far shorter. */
#define HOST_MAX 255
/* A -T spec is a host and a port; anything longer is not a target. */
#define SPEC_MAX (HOST_MAX + 8)

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Makes room for `need` elements of `size` bytes in the array *pp points to,
 * doubling, so that n appends cost O(n). pp is a pointer to any object
 * pointer (copied with memcpy, not aliased through void **). */
static int grow(void *pp, size_t *cap, size_t need, size_t size)
{
	void *p, *q;
	size_t c = *cap ? *cap : 16;

	if (need <= *cap)
		return 0;
	while (c < need)
		c = c > SIZE_MAX / 2 ? need : c * 2;
	if (c > SIZE_MAX / size)
		return -ENOMEM;
	memcpy(&p, pp, sizeof(p));
	q = realloc(p, c * size);
	if (!q)
		return -ENOMEM;
	memcpy(pp, &q, sizeof(q));
	*cap = c;
	return 0;
}

/* The C locale's isspace, without its undefined behaviour on negative chars. */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The meaningful part of a line: a '#' at the start or after whitespace
 * begins a comment (so that "web#1" can be a name), then surrounding
 * whitespace, a trailing "\r\n" included, goes. */
static const char *line_content(const char *line, size_t *len)
{
	size_t start = 0, end = 0;

	for (; line[end]; end++)
		if (line[end] == '#' && (end == 0 || is_space(line[end - 1])))
			break;
	while (start < end && is_space(line[start]))
		start++;
	while (end > start && is_space(line[end - 1]))
		end--;
	*len = end - start;
	return line + start;
}

/* Calls fn for every line of path ("-" is stdin when allow_stdin), and
 * prefixes its message with "FILE:LINE: ". */
static int read_lines(const char *path, bool allow_stdin,
		      int (*fn)(void *ctx, char *line, char *err, size_t errlen), void *ctx, char *err,
		      size_t errlen)
{
	bool use_stdin = allow_stdin && strcmp(path, "-") == 0;
	const char *shown = use_stdin ? "stdin" : path;
	FILE *f = use_stdin ? stdin : fopen(path, "re");
	char *line = NULL, msg[512];
	size_t cap = 0, lineno = 0;
	int r = 0;

	if (!f) {
		r = -errno;
		set_err(err, errlen, "cannot open '%s': %s", path, strerror(-r));
		goto out;
	}
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		msg[0] = '\0';
		if ((r = fn(ctx, line, msg, sizeof(msg))) < 0) {
			set_err(err, errlen, "%s:%zu: %s", shown, lineno, msg);
			goto out;
		}
	}
	r = 0;
	if (ferror(f)) {
		r = -EIO;
		set_err(err, errlen, "cannot read '%s': %s", shown, strerror(errno));
	}
out:
	free(line);
	if (f && f != stdin)
		fclose(f);
	return r;
}

/* A decimal port 1-65535 filling exactly [s, s + len). */
static bool parse_port(const char *s, size_t len, uint16_t *out)
{
	uint64_t v;

	if (num_parse_uintn(s, len, 1, 65535, &v) < 0)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* A port, or "icmp" for an echo target (TARGET_PORT_ICMP). */
static bool parse_port_or_icmp(const char *s, size_t len, uint16_t *out)
{
	if (len == 4 && strncasecmp(s, "icmp", 4) == 0) {
		*out = TARGET_PORT_ICMP;
		return true;
	}
	return parse_port(s, len, out);
}

/* "/CHECK" after a port: the check's kind into *kind (CHECK_NONE without). */
static int parse_check_suffix(const char *item, size_t *len, const char *where, uint8_t *kind, char *err,
			      size_t errlen)
{
	const char *slash = memchr(item, '/', *len);

	*kind = CHECK_NONE;
	if (!slash)
		return 0;
	size_t kl = *len - (size_t)(slash - item) - 1;
	int k = check_kind_parse(slash + 1, kl);
	if (k < 0) {
		set_err(err, errlen,
			"check '%.*s' in '%s': expected one of connect, tls, ssh, smtp, submission, smtps, imap, imaps, "
			"pop3, pop3s, ftp, redis, postgres, mysql, http, https, amqp, mongodb, memcached, vnc, generic",
			(int)kl, slash + 1, where);
		return -EINVAL;
	}
	*kind = (uint8_t)k;
	*len = (size_t)(slash - item);
	return 0;
}

/* One item of a port list, "PORT", "LO-HI" or "icmp", into [*lo, *hi]. */
static int parse_port_item(const char *item, size_t len, const char *list, uint16_t *lo, uint16_t *hi,
			   char *err, size_t errlen)
{
	const char *dash = memchr(item, '-', len);

	if (!dash) {
		if (!parse_port_or_icmp(item, len, lo)) {
			set_err(err, errlen, "port '%.*s' in '%s': expected 1-65535 or icmp", (int)len, item, list);
			return -EINVAL;
		}
		*hi = *lo;
		return 0;
	}
	size_t lo_len = (size_t)(dash - item);
	if (!parse_port(item, lo_len, lo) || !parse_port(dash + 1, len - lo_len - 1, hi)) {
		set_err(err, errlen, "range '%.*s' in '%s': expected LO-HI, both 1-65535", (int)len, item,
			list);
		return -EINVAL;
	}
	if (*lo > *hi) {
		set_err(err, errlen, "range '%.*s' in '%s': start above end (did you mean %u-%u?)", (int)len,
			item, list, *hi, *lo);
		return -EINVAL;
	}
	return 0;
}

int portlist_parse(struct portlist *out, const char *s, char *err, size_t errlen)
{
	uint64_t seen[65536 / 64] = { 0 };
	uint8_t *kinds = NULL; /* per port, when some item has a check */
	const char *p = s;
	size_t n = 0;
	int r;

	memset(out, 0, sizeof(*out));
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		uint16_t lo, hi;

		while (len && is_space(*p)) {
			p++;
			len--;
		}
		while (len && is_space(p[len - 1]))
			len--;
		if (len == 0) {
			set_err(err, errlen,
				"empty item in port list '%s': expected PORT or LO-HI between commas, like "
				"22,80,8000-8100",
				s);
			r = -EINVAL;
			goto fail; /* an earlier item's check may have made kinds */
		}
		uint8_t kind;
		if ((r = parse_check_suffix(p, &len, s, &kind, err, errlen)) < 0)
			goto fail;
		if ((r = parse_port_item(p, len, s, &lo, &hi, err, errlen)) < 0)
			goto fail;
		if (kind != CHECK_NONE && lo == TARGET_PORT_ICMP) {
			set_err(err, errlen, "'%.*s' in '%s': a ping has no service to check", (int)len, p, s);
			r = -EINVAL;
			goto fail;
		}
		if (kind != CHECK_NONE && !kinds && !(kinds = calloc(65536, 1))) {
			set_err(err, errlen, "port list '%s': out of memory", s);
			r = -ENOMEM;
			goto fail;
		}
		for (uint32_t port = lo; kinds && port <= hi; port++) {
			bool dup = seen[port / 64] >> (port % 64) & 1;
			if (dup && kinds[port] != kind) {
				set_err(err, errlen, "port %u in '%s': two different checks (%s and %s)", port, s,
					check_kind_name(kinds[port]) ? check_kind_name(kinds[port]) : "none",
					check_kind_name(kind) ? check_kind_name(kind) : "none");
				r = -EINVAL;
				goto fail;
			}
			kinds[port] = kind;
		}
		for (uint32_t port = lo; port <= hi;) {
			if (port % 64 == 0 && hi - port >= 63) {
				seen[port / 64] = UINT64_MAX;
				port += 64;
			} else {
				seen[port / 64] |= (uint64_t)1 << (port % 64);
				port++;
			}
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	for (size_t i = 0; i < 65536 / 64; i++)
		n += (size_t)__builtin_popcountll(seen[i]);
	out->ports = malloc(n * sizeof(*out->ports));
	if (kinds)
		out->checks = malloc(n);
	if (!out->ports || (kinds && !out->checks)) {
		set_err(err, errlen, "port list '%s': out of memory", s);
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < 65536 / 64; i++)
		for (uint64_t bits = seen[i]; bits; bits &= bits - 1) {
			uint16_t port = (uint16_t)(i * 64 + (size_t)__builtin_ctzll(bits));
			if (kinds)
				out->checks[out->n] = kinds[port];
			out->ports[out->n++] = port;
		}
	free(kinds);
	return 0;
fail:
	free(kinds);
	portlist_release(out);
	return r;
}

void portlist_release(struct portlist *p)
{
	free(p->ports);
	free(p->checks);
	memset(p, 0, sizeof(*p));
}

static unsigned family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* Parses an address or CIDR from block; messages quote `quoted`, the text
 * the user wrote, and say what is wrong in it. */
static int parse_block(struct sw_cidr *out, const char *block, const char *quoted, char *err, size_t errlen)
{
	const char *slash = strchr(block, '/');
	size_t alen = slash ? (size_t)(slash - block) : strlen(block);
	char addr_text[HOST_MAX + 1], fixed[ADDR_STRLEN];
	unsigned long prefix = 0;
	struct sw_addr a;
	bool ok = alen < sizeof(addr_text);

	if (ok) {
		memcpy(addr_text, block, alen);
		addr_text[alen] = '\0';
		ok = addr_parse(&a, addr_text) == 0;
	}
	if (!ok && !slash) {
		set_err(err, errlen, "'%s': not an IP address or CIDR (expected e.g. 198.18.0.0/15)", quoted);
		return -EINVAL;
	}
	if (!ok) {
		set_err(err, errlen,
			"'%s': '%.*s' is not an IP address (expected an address or CIDR, like 198.18.0.0/15)",
			quoted, (int)(alen > 64 ? 64 : alen), block);
		return -EINVAL;
	}
	if (slash) {
		unsigned bits = family_bits(a.family);
		uint64_t v;
		if (num_parse_uint(slash + 1, 0, bits, &v) < 0) {
			set_err(err, errlen, "'%s': prefix '%s' must be 0-%u for %s", quoted, slash + 1, bits,
				a.family == AF_INET ? "IPv4" : "IPv6");
			return -EINVAL;
		}
		prefix = (unsigned long)v;
	}
	if (cidr_parse(out, block) == 0)
		return 0;
	for (unsigned i = (unsigned)prefix; i < family_bits(a.family); i++)
		a.u.b[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	set_err(err, errlen, "'%s': host bits set below the prefix (did you mean %s/%lu?)", quoted,
		addr_format(&a, fixed, sizeof(fixed)), prefix);
	return -EINVAL;
}

int exclude_add_builtin(struct exclude_list *ex)
{
	static const char *const builtin[] = {
		"0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4", "::/128", "ff00::/8",
	};

	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		int r = exclude_add(ex, builtin[i], NULL, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

int exclude_add(struct exclude_list *ex, const char *cidr, char *err, size_t errlen)
{
	struct sw_cidr c;
	int r = parse_block(&c, cidr, cidr, err, errlen);

	if (r < 0)
		return r;
	if ((r = grow(&ex->v, &ex->cap, ex->n + 1, sizeof(*ex->v))) < 0) {
		set_err(err, errlen, "'%s': out of memory", cidr);
		return r;
	}
	ex->v[ex->n++] = c;
	return 0;
}

static int exclude_line(void *ctx, char *line, char *err, size_t errlen)
{
	size_t len;
	char *cidr = line + (line_content(line, &len) - line);

	if (len == 0)
		return 0;
	cidr[len] = '\0';
	return exclude_add(ctx, cidr, err, errlen);
}

int exclude_load_file(struct exclude_list *ex, const char *path, char *err, size_t errlen)
{
	size_t n = ex->n;
	int r = read_lines(path, false, exclude_line, ex, err, errlen);

	/* all or nothing, so that a bad reload leaves the old list working */
	if (r < 0)
		ex->n = n;
	return r < 0 ? r : 0;
}

bool exclude_match(const struct exclude_list *ex, const struct sw_addr *a)
{
	for (size_t i = 0; i < ex->n; i++)
		if (cidr_contains(&ex->v[i], a))
			return true;
	return false;
}

void exclude_release(struct exclude_list *ex)
{
	free(ex->v);
	memset(ex, 0, sizeof(*ex));
}

void target_list_init(struct target_list *tl, size_t max_targets, uint8_t families)
{
	memset(tl, 0, sizeof(*tl));
	tl->max_targets = max_targets;
	tl->families = families;
}

void target_list_release(struct target_list *tl)
{
	free(tl->v);
	free(tl->names);
	memset(tl, 0, sizeof(*tl));
}

static bool family_allowed(const struct target_list *tl, int family)
{
	return (family == AF_INET && (tl->families & TARGET_FAMILY_V4)) ||
	       (family == AF_INET6 && (tl->families & TARGET_FAMILY_V6));
}

static int family_refused(const char *spec, int family, char *err, size_t errlen)
{
	if (family == AF_INET6)
		set_err(err, errlen, "IPv6 target '%s': IPv6 is not supported yet", spec);
	else
		set_err(err, errlen, "IPv4 target '%s': IPv4 is not enabled", spec);
	return -EAFNOSUPPORT;
}

/* Splits spec into its host (copied into host) and its port text (NULL if
 * none). An unbracketed IPv6 literal keeps all its colons: the last ':'
 * separates a port only when what is before it is not IPv6. */
static int split_spec(const char *spec, char host[HOST_MAX + 1], const char **port, bool *bracketed,
		      char *err, size_t errlen)
{
	const char *h = spec, *hend;
	struct sw_cidr c;

	*port = NULL;
	*bracketed = spec[0] == '[';
	if (*bracketed) {
		h = spec + 1;
		hend = strchr(h, ']');
		if (!hend) {
			set_err(err, errlen, "'%s': no closing ']' (expected [IPv6] or [IPv6]:PORT)", spec);
			return -EINVAL;
		}
		if (hend[1] == ':')
			*port = hend + 2;
		else if (hend[1]) {
			set_err(err, errlen, "'%s': expected ':PORT' or nothing after ']'", spec);
			return -EINVAL;
		}
	} else if (strchr(spec, ':') && !(cidr_parse(&c, spec) == 0 && c.base.family == AF_INET6)) {
		hend = strrchr(spec, ':');
		*port = hend + 1;
	} else {
		hend = spec + strlen(spec);
	}
	size_t len = (size_t)(hend - h);
	if (len == 0) {
		set_err(err, errlen,
			"'%s': no address or hostname (expected IP, CIDR or HOSTNAME, optionally :PORT)",
			spec);
		return -EINVAL;
	}
	if (len > HOST_MAX) {
		set_err(err, errlen,
			"'%.64s...': too long for an address or hostname (at most %d characters)", spec,
			HOST_MAX);
		return -EINVAL;
	}
	memcpy(host, h, len);
	host[len] = '\0';
	if (*bracketed || !*port || !strchr(host, ':') || strchr(host, '/'))
		return 0;
	if (addr_parse(&c.base, host) == 0)
		set_err(err, errlen, "'%s': an IPv6 address with a port needs brackets, like [%s]:%s", spec,
			host, *port);
	else
		set_err(
		    err, errlen,
		    "'%s': not an IPv6 address (expected e.g. 2001:db8::1, or [2001:db8::1]:80 with a port)",
		    spec);
	return -EINVAL;
}

/* Text that inet_aton would take as IPv4 ("127.1", "0x7f.1"), or with an
 * all-digit last label ("999.1.1.1"), is a mistyped address, not a name to
 * send to DNS: RFC 3696 section 2 rules out an all-numeric top-level domain. */
static bool looks_numeric(const char *host)
{
	struct in_addr ignored;
	size_t end = strlen(host), start;

	if (inet_aton(host, &ignored))
		return true;
	if (end && host[end - 1] == '.') /* the root label of "example.com." */
		end--;
	for (start = end; start > 0 && host[start - 1] != '.'; start--)
		if (!is_digit(host[start - 1]))
			return false;
	return start < end;
}

/* Letters, digits, '-' and '_', in non-empty dot-separated labels, an
 * optional final dot: what may go to the resolver. */
static bool hostname_valid(const char *host)
{
	size_t label = 0;

	for (const char *p = host; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || is_digit(*p) ||
			   *p == '-' || *p == '_') {
			label++;
		} else {
			return false;
		}
	}
	return *host != '\0';
}

static int gai_errno(int gai)
{
	switch (gai) {
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_SYSTEM:
		return errno ? -errno : -EIO;
	default:
		return -ENOENT;
	}
}

int target_resolve(const char *host, uint8_t families, struct sw_addr **out, size_t *n, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
	size_t count = 0, other = 0;
	int r = getaddrinfo(host, NULL, &hints, &res);

	*out = NULL;
	*n = 0;
	if (r != 0) {
		int e = gai_errno(r);
		set_err(err, errlen, "cannot resolve '%s': %s", host,
			r == EAI_SYSTEM ? strerror(-e) : gai_strerror(r));
		return e;
	}
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
		count++;
	*out = calloc(count ? count : 1, sizeof(**out));
	if (!*out) {
		r = -ENOMEM;
		set_err(err, errlen, "'%s': out of memory", host);
		goto out;
	}
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		struct sw_addr a = { 0 };
		if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(struct sockaddr_in)) {
			struct sockaddr_in sin;
			memcpy(&sin, ai->ai_addr, sizeof(sin));
			addr_from_v4(&a, sin.sin_addr.s_addr);
		} else if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(struct sockaddr_in6)) {
			struct sockaddr_in6 sin6;
			memcpy(&sin6, ai->ai_addr, sizeof(sin6));
			a.family = AF_INET6;
			memcpy(a.u.b, &sin6.sin6_addr, 16);
		} else {
			continue;
		}
		if (!(families & (a.family == AF_INET ? TARGET_FAMILY_V4 : TARGET_FAMILY_V6))) {
			other++;
			continue;
		}
		size_t i = 0;
		while (i < *n && !addr_equal(&(*out)[i], &a))
			i++;
		if (i == *n)
			(*out)[(*n)++] = a;
	}
	r = 0;
	if (*n == 0) {
		r = -EAFNOSUPPORT;
		if (other)
			set_err(err, errlen, "'%s' has no %s address (%s)", host,
				families & TARGET_FAMILY_V4 ? "IPv4" : "IPv6",
				families & TARGET_FAMILY_V4 ? "IPv6 is not supported yet" : "IPv4 is not enabled");
		else
			set_err(err, errlen, "cannot resolve '%s': no address", host);
	}
out:
	freeaddrinfo(res);
	if (r < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return r;
}

/* Every address of host, each as a full-length block; *out is to be freed. */
static int resolve(const struct target_list *tl, const char *host, struct sw_cidr **out, size_t *n, char *err,
		   size_t errlen)
{
	struct sw_addr *addrs = NULL;
	int r = tl->resolver ? tl->resolver(tl->resolver_ctx, host, tl->families, &addrs, n, err, errlen)
			     : target_resolve(host, tl->families, &addrs, n, err, errlen);

	*out = NULL;
	if (r < 0)
		return r;
	*out = calloc(*n ? *n : 1, sizeof(**out));
	if (!*out) {
		free(addrs);
		set_err(err, errlen, "'%s': out of memory", host);
		return -ENOMEM;
	}
	for (size_t i = 0; i < *n; i++) {
		(*out)[i].base = addrs[i];
		(*out)[i].prefix = (uint8_t)family_bits(addrs[i].family);
	}
	free(addrs);
	return 0;
}

/* The number of addresses in a block, UINT64_MAX when it does not fit. */
static uint64_t block_size(const struct sw_cidr *c)
{
	unsigned host_bits = family_bits(c->base.family) - c->prefix;

	return host_bits >= 64 ? UINT64_MAX : (uint64_t)1 << host_bits;
}

/* The next address in numeric order (wrapping, which the caller never uses). */
static void addr_next(struct sw_addr *a)
{
	for (int i = a->family == AF_INET ? 3 : 15; i >= 0; i--)
		if (++a->u.b[i] != 0)
			break;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* Refuses a spec that would make too many endpoints, before anything is
 * allocated: 198.18.0.0/15 with 65535 ports is 8.6 billion. The count is
 * before exclusions, an upper bound. */
static int check_count(const struct target_list *tl, const char *spec, uint64_t addrs, size_t nports,
		       char *err, size_t errlen)
{
	uint64_t total = mul_sat(addrs, nports);
	size_t room = tl->max_targets ? (tl->n < tl->max_targets ? tl->max_targets - tl->n : 0) : INT_MAX;

	if (total <= room && total <= INT_MAX)
		return 0;
	if (addrs == UINT64_MAX)
		set_err(err, errlen, "'%s': more than 2^63 addresses, too many to probe (narrow the prefix)",
			spec);
	else if (tl->max_targets && total > room)
		set_err(err, errlen,
			"'%s': %llu endpoints (%llu addresses x %zu ports)%s exceed --max-targets %zu "
			"(narrow the target or raise the limit)",
			spec, (unsigned long long)total, (unsigned long long)addrs, nports,
			tl->n ? " with those already listed" : "", tl->max_targets);
	else
		set_err(err, errlen, "'%s': %llu endpoints, more than one target can add (at most %d)", spec,
			(unsigned long long)total, INT_MAX);
	return -E2BIG;
}

/* Appends the name once for every endpoint of a spec; the offset is only
 * taken if an endpoint uses it. */
static int stage_name(struct target_list *tl, const char *name, size_t len, uint32_t *off)
{
	*off = TARGET_NO_NAME;
	if (len == 0)
		return 0;
	if (tl->names_len + len + 1 >= TARGET_NO_NAME)
		return -E2BIG;
	if (grow(&tl->names, &tl->names_cap, tl->names_len + len + 1, 1) < 0)
		return -ENOMEM;
	memcpy(tl->names + tl->names_len, name, len);
	tl->names[tl->names_len + len] = '\0';
	*off = (uint32_t)tl->names_len;
	return 0;
}

/* Adds every address of blocks with every port; nothing changes on error. */
static int add_blocks(struct target_list *tl, const char *spec, const struct sw_cidr *blocks, size_t nblocks,
		      const uint16_t *ports, const uint8_t *checks, size_t nports, const char *name, size_t name_len,
		      const struct exclude_list *ex, char *err, size_t errlen)
{
	uint64_t addrs = 0;
	uint32_t name_off;
	size_t added = 0;
	int r;

	for (size_t b = 0; b < nblocks; b++) {
		if (!family_allowed(tl, blocks[b].base.family))
			return family_refused(spec, blocks[b].base.family, err, errlen);
		uint64_t size = block_size(&blocks[b]);
		addrs = addrs > UINT64_MAX - size ? UINT64_MAX : addrs + size;
	}
	if ((r = check_count(tl, spec, addrs, nports, err, errlen)) < 0)
		return r;
	if (grow(&tl->v, &tl->cap, tl->n + (size_t)(addrs * nports), sizeof(*tl->v)) < 0) {
		set_err(err, errlen, "'%s': out of memory for %llu endpoints", spec,
			(unsigned long long)(addrs * nports));
		return -ENOMEM;
	}
	if ((r = stage_name(tl, name, name_len, &name_off)) < 0) {
		set_err(err, errlen, "'%s': no room for its name (%s)", spec, strerror(-r));
		return r;
	}
	for (size_t b = 0; b < nblocks; b++) {
		struct sw_addr a = blocks[b].base;
		uint64_t size = block_size(&blocks[b]);

		for (uint64_t i = 0; i < size; i++, addr_next(&a)) {
			if (ex && exclude_match(ex, &a)) {
				tl->excluded += nports;
				continue;
			}
			for (size_t k = 0; k < nports; k++) {
				struct target *t = &tl->v[tl->n++];
				t->addr = a;
				t->port = ports[k];
				t->check = checks ? checks[k] : CHECK_NONE;
				t->pad = 0;
				t->name = name_off;
			}
			added += nports;
		}
	}
	if (added && name_off != TARGET_NO_NAME)
		tl->names_len += name_len + 1;
	return (int)added;
}

/* Checks the host of a spec without asking DNS. Returns 0 with a literal
 * address or CIDR in *block, 1 for a name to resolve, or a negative errno. */
static int classify_host(const char *spec, const char *host, bool bracketed, struct sw_cidr *block, char *err,
			 size_t errlen)
{
	if (strchr(host, '/') || addr_parse(&block->base, host) == 0)
		return parse_block(block, host, spec, err, errlen);
	if (bracketed)
		set_err(err, errlen, "'%s': '%s' is not an IPv6 address", spec, host);
	else if (looks_numeric(host))
		set_err(err, errlen,
			"'%s': not a valid IPv4 address (expected four numbers 0-255, like 198.18.0.1)",
			spec);
	else if (!hostname_valid(host))
		set_err(err, errlen, "'%s': expected IP, CIDR or HOSTNAME, optionally with :PORT", spec);
	else
		return 1;
	return -EINVAL;
}

/* The ports of a spec: its own (parsed into *own) or else the list's. */
static int spec_ports(const char *spec, const char *port_text, const struct portlist *ports, uint16_t *own,
		      uint8_t *own_check, const uint16_t **pv, const uint8_t **cv, size_t *n, char *err, size_t errlen)
{
	if (port_text) {
		size_t len = strlen(port_text);
		int r = parse_check_suffix(port_text, &len, spec, own_check, err, errlen);
		if (r < 0)
			return r;
		if (!parse_port_or_icmp(port_text, len, own)) {
			set_err(err, errlen, "port '%.*s' in '%s': expected 1-65535 or icmp",
				(int)len, port_text, spec);
			return -EINVAL;
		}
		if (*own == TARGET_PORT_ICMP && *own_check != CHECK_NONE) {
			set_err(err, errlen, "'%s': a ping has no service to check", spec);
			return -EINVAL;
		}
		*pv = own;
		*cv = own_check;
		*n = 1;
	} else if (ports && ports->n) {
		*pv = ports->ports;
		*cv = ports->checks;
		*n = ports->n;
	} else {
		set_err(err, errlen, "'%s': no port (give -p or IP:PORT)", spec);
		return -EINVAL;
	}
	return 0;
}

static int add_spec(struct target_list *tl, const char *spec, const struct portlist *ports, const char *name,
		    size_t name_len, const struct exclude_list *ex, char *err, size_t errlen)
{
	char host[HOST_MAX + 1];
	struct sw_cidr one, *resolved = NULL;
	size_t nblocks = 1, nports;
	const uint16_t *pv;
	const uint8_t *cv;
	const char *port_text;
	uint16_t port;
	uint8_t check;
	bool bracketed, is_name;
	int r;

	if ((r = split_spec(spec, host, &port_text, &bracketed, err, errlen)) < 0)
		return r;
	if ((r = classify_host(spec, host, bracketed, &one, err, errlen)) < 0)
		return r;
	is_name = r == 1;
	/* every mistake the user can fix without DNS is reported before it is asked */
	if ((r = spec_ports(spec, port_text, ports, &port, &check, &pv, &cv, &nports, err, errlen)) < 0)
		return r;
	if (is_name && (r = resolve(tl, host, &resolved, &nblocks, err, errlen)) < 0)
		goto out;
	/* a target found through a name is called by it, unless named */
	if (is_name && !name_len) {
		name = host;
		name_len = strlen(host);
	}
	r = add_blocks(tl, spec, is_name ? resolved : &one, nblocks, pv, cv, nports, name, name_len, ex, err,
		       errlen);
out:
	free(resolved);
	return r;
}

int target_list_add_spec(struct target_list *tl, const char *spec, const struct portlist *ports,
			 const char *name, const struct exclude_list *ex, char *err, size_t errlen)
{
	return add_spec(tl, spec, ports, name, name ? strlen(name) : 0, ex, err, errlen);
}

int target_list_add_line(struct target_list *tl, const char *line, const struct portlist *ports,
			 const struct exclude_list *ex, char *err, size_t errlen)
{
	char spec[SPEC_MAX + 1];
	size_t len, spec_len = 0;
	const char *p = line_content(line, &len);

	if (len == 0)
		return 0;
	while (spec_len < len && !is_space(p[spec_len]))
		spec_len++;
	if (spec_len > SPEC_MAX) {
		set_err(err, errlen,
			"'%.64s...': too long for a target (expected IP, CIDR or HOSTNAME[:PORT])", p);
		return -EINVAL;
	}
	memcpy(spec, p, spec_len);
	spec[spec_len] = '\0';
	const char *name = p + spec_len;
	size_t name_len = len - spec_len;
	while (name_len && is_space(*name)) {
		name++;
		name_len--;
	}
	return add_spec(tl, spec, ports, name, name_len, ex, err, errlen);
}

struct load_ctx {
	struct target_list *tl;
	const struct portlist *ports;
	const struct exclude_list *ex;
	size_t added;
};

static int target_line(void *ctx, char *line, char *err, size_t errlen)
{
	struct load_ctx *c = ctx;
	int r = target_list_add_line(c->tl, line, c->ports, c->ex, err, errlen);

	if (r > 0)
		c->added += (size_t)r;
	return r;
}

int target_list_load_file(struct target_list *tl, const char *path, const struct portlist *ports,
			  const struct exclude_list *ex, char *err, size_t errlen)
{
	struct load_ctx c = { .tl = tl, .ports = ports, .ex = ex };
	size_t n = tl->n, names_len = tl->names_len, excluded = tl->excluded;
	int r = read_lines(path, true, target_line, &c, err, errlen);

	/* all or nothing, so that a bad reload leaves the old list working */
	if (r < 0) {
		tl->n = n;
		tl->names_len = names_len;
		tl->excluded = excluded;
		return r;
	}
	return c.added > INT_MAX ? INT_MAX : (int)c.added;
}

size_t target_list_dedup(struct target_list *tl)
{
	size_t cap = 16, kept = 0, removed;
	uint32_t *slots; /* index + 1 into tl->v of a kept target; 0 = empty */

	/* indexes are 32-bit to halve the table: 16M targets take 128 MiB */
	if (tl->n < 2 || tl->n >= UINT32_MAX)
		return 0;
	while (cap < tl->n * 2)
		cap *= 2;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return 0; /* without the memory, a repeated endpoint is only probed twice */
	for (size_t i = 0; i < tl->n; i++) {
		const struct target t = tl->v[i];
		size_t h = (size_t)addr_port_hash(&t.addr, t.port) & (cap - 1);

		for (;; h = (h + 1) & (cap - 1)) {
			if (!slots[h]) {
				slots[h] = (uint32_t)kept + 1;
				tl->v[kept++] = t;
				break;
			}
			const struct target *u = &tl->v[slots[h] - 1];
			if (u->port == t.port && addr_equal(&u->addr, &t.addr))
				break;
		}
	}
	free(slots);
	removed = tl->n - kept;
	tl->n = kept;
	return removed;
}

const char *target_name(const struct target_list *tl, const struct target *t)
{
	return t->name == TARGET_NO_NAME ? NULL : tl->names + t->name;
}

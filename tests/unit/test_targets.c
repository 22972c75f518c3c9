/* scheduler/targets: port lists, exclusions, every spec form, CIDR
 * expansion, limits, names, -T lines and files, deduplication. No network:
 * the only names resolved are "localhost" (from /etc/hosts) and one in
 * .invalid (RFC 6761), which must fail. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "common/check.h"
#include "scheduler/targets.h"

#define V4 TARGET_FAMILY_V4
#define V46 (TARGET_FAMILY_V4 | TARGET_FAMILY_V6)

/* the message of the last call that failed */
static char err[512];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes content to a new temporary file; its path goes into path. */
static void write_temp(char path[64], const char *content)
{
	snprintf(path, 64, "/tmp/test_targets.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static const char *fmt_addr(const struct sw_addr *a)
{
	static char buf[ADDR_STRLEN];
	return addr_format(a, buf, sizeof(buf));
}

static void assert_target(const struct target_list *tl, size_t i, const char *addr, uint16_t port,
			  const char *name)
{
	assert_true(i < tl->n);
	assert_string_equal(fmt_addr(&tl->v[i].addr), addr);
	assert_int_equal(tl->v[i].port, port);
	if (name)
		assert_string_equal(target_name(tl, &tl->v[i]), name);
	else
		assert_null(target_name(tl, &tl->v[i]));
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("'%s' does not contain '%s'", haystack, needle);
}

/* Adds spec without exclusions; the message goes into err. */
static int add(struct target_list *tl, const char *spec, const struct portlist *ports, const char *name)
{
	return target_list_add_spec(tl, spec, ports, name, NULL, err, sizeof(err));
}

static struct portlist ports_of(const char *s)
{
	struct portlist p;
	assert_int_equal(portlist_parse(&p, s, err, sizeof(err)), 0);
	return p;
}

/* The usual setting: ports 80 and 443, the built-in exclusions, an empty
 * list without a limit for both families. */
struct fix {
	struct portlist ports;
	struct exclude_list ex;
	struct target_list tl;
};

static int fix_setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f || portlist_parse(&f->ports, "80,443", err, sizeof(err)) < 0 ||
	    exclude_add_builtin(&f->ex) < 0)
		return -1;
	target_list_init(&f->tl, 0, V46);
	*state = f;
	return 0;
}

static int fix_teardown(void **state)
{
	struct fix *f = *state;

	target_list_release(&f->tl);
	exclude_release(&f->ex);
	portlist_release(&f->ports);
	free(f);
	return 0;
}

/* Adds spec with the fixture's ports and exclusions. */
static int add_excluding(struct fix *f, const char *spec, const char *name)
{
	return target_list_add_spec(&f->tl, spec, &f->ports, name, &f->ex, err, sizeof(err));
}

/* Port lists */

static void test_portlist_ok(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t n;
		uint16_t first, last;
	} cases[] = {
		{ "22", 1, 22, 22 },
		{ "1-65535", 65535, 1, 65535 },
		{ "443,22,22,80-81,81", 4, 22, 443 },
		{ " 80 , 443 ", 2, 80, 443 },
		{ "0080", 1, 80, 80 },
		{ "65535,1", 2, 1, 65535 },
		{ "5-5", 1, 5, 5 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct portlist p = ports_of(cases[i].in);
		assert_int_equal(p.n, cases[i].n);
		assert_int_equal(p.ports[0], cases[i].first);
		assert_int_equal(p.ports[p.n - 1], cases[i].last);
		for (size_t k = 1; k < p.n; k++)
			assert_true(p.ports[k - 1] < p.ports[k]);
		portlist_release(&p);
		assert_null(p.ports);
		assert_int_equal(p.n, 0);
	}
	struct portlist p = ports_of("8000-8002,443,22,80,8001");
	static const uint16_t want[] = { 22, 80, 443, 8000, 8001, 8002 };
	assert_int_equal(p.n, 6);
	assert_memory_equal(p.ports, want, sizeof(want));
	portlist_release(&p);
}

/* Exclusions */

/* Checks that ex matches every address of `in` and none of `out`, a
 * space-separated list each. */
static void assert_matches(const struct exclude_list *ex, const char *in, const char *out)
{
	const char *lists[2] = { in, out };
	char text[ADDR_STRLEN];
	struct sw_addr a;

	for (int k = 0; k < 2; k++) {
		for (const char *p = lists[k]; *p;) {
			size_t len = strcspn(p, " ");
			snprintf(text, sizeof(text), "%.*s", (int)len, p);
			assert_int_equal(addr_parse(&a, text), 0);
			if (exclude_match(ex, &a) != (k == 0))
				fail_msg("%s is %s", text, k == 0 ? "not excluded" : "excluded");
			p += len + (p[len] == ' ');
		}
	}
}

static void test_exclude_builtin(void **state)
{
	(void)state;
	struct exclude_list ex = { 0 };

	assert_int_equal(exclude_add_builtin(&ex), 0);
	assert_int_equal(ex.n, 5);
	assert_matches(&ex,
		       "0.0.0.0 0.255.255.255 224.0.0.1 239.255.255.255 240.0.0.1 255.255.255.255 :: ff02::1",
		       "1.0.0.0 223.255.255.255 8.8.8.8 ::1 2001:db8::1 fe80::1");
	exclude_release(&ex);
	assert_null(ex.v);
	assert_int_equal(ex.n, 0);
}

static void test_exclude_add(void **state)
{
	(void)state;
	struct exclude_list ex = { 0 };

	assert_int_equal(exclude_add(&ex, "10.0.0.0/8", err, sizeof(err)), 0);
	assert_int_equal(exclude_add(&ex, "192.0.2.1", err, sizeof(err)), 0);
	assert_int_equal(exclude_add(&ex, "2001:db8::/32", err, sizeof(err)), 0);
	assert_int_equal(exclude_add(&ex, "10.1.0.0/8", err, sizeof(err)), -EINVAL);
	assert_int_equal(ex.n, 3);
	/* a00:: has the bytes of 10.0.0.0, in the other family */
	assert_matches(&ex, "10.0.0.0 10.255.0.1 192.0.2.1 2001:db8:ffff::1",
		       "11.0.0.0 192.0.2.2 a00:: 2001:db9::");
	/* no message buffer is fine */
	assert_int_equal(exclude_add(&ex, "bogus", NULL, 0), -EINVAL);
	exclude_release(&ex);
}

/* Port lists and exclude entries that must be refused, with -EINVAL, a
 * message saying what is wrong, and nothing kept. */
static int refuse_ports(const char *in)
{
	struct portlist p = { .ports = (uint16_t *)1, .n = 1 };
	int r = portlist_parse(&p, in, err, sizeof(err));

	assert_null(p.ports);
	assert_int_equal(p.n, 0);
	return r;
}

static int refuse_exclude(const char *in)
{
	struct exclude_list ex = { 0 };
	int r = exclude_add(&ex, in, err, sizeof(err));

	assert_int_equal(ex.n, 0);
	exclude_release(&ex);
	return r;
}

static void test_refused(void **state)
{
	(void)state;
	static const struct {
		int (*parse)(const char *in);
		const char *in, *msg;
	} cases[] = {
		{ refuse_ports, "", "empty item in port list ''" },
		{ refuse_ports, " ", "empty item" },
		{ refuse_ports, "80,", "empty item in port list '80,'" },
		/* after an item with a check: nothing of it is kept (ASan would see a leak) */
		{ refuse_ports, "80/vnc,,22", "empty item in port list '80/vnc,,22'" },
		{ refuse_ports, ",80", "empty item" },
		{ refuse_ports, "80,,443", "empty item" },
		{ refuse_ports, "0", "port '0' in '0': expected 1-65535" },
		{ refuse_ports, "65536", "port '65536' in '65536': expected 1-65535" },
		{ refuse_ports, "99999999999999999999", "expected 1-65535" },
		{ refuse_ports, "80,8o", "port '8o' in '80,8o': expected 1-65535" },
		{ refuse_ports, "+80", "port '+80'" },
		{ refuse_ports, "80 443", "port '80 443'" },
		{ refuse_ports, "0x50", "port '0x50'" },
		{ refuse_ports, "-5", "range '-5' in '-5': expected LO-HI, both 1-65535" },
		{ refuse_ports, "5-", "range '5-'" },
		{ refuse_ports, "0-5", "range '0-5'" },
		{ refuse_ports, "1-65536", "range '1-65536'" },
		{ refuse_ports, "1-2-3", "range '1-2-3'" },
		{ refuse_ports, "90-80", "range '90-80' in '90-80': start above end (did you mean 80-90?)" },
		{ refuse_exclude, "not-a-cidr", "'not-a-cidr': not an IP address or CIDR" },
		{ refuse_exclude, "", "not an IP address or CIDR" },
		{ refuse_exclude, "999.0.0.0/8", "'999.0.0.0/8': '999.0.0.0' is not an IP address" },
		{ refuse_exclude, "10.1.0.0/8",
		  "'10.1.0.0/8': host bits set below the prefix (did you mean 10.0.0.0/8?)" },
		{ refuse_exclude, "2001:db8::1/32", "did you mean 2001:db8::/32?" },
		{ refuse_exclude, "10.0.0.0/33", "'10.0.0.0/33': prefix '33' must be 0-32 for IPv4" },
		{ refuse_exclude, "2001:db8::/129", "prefix '129' must be 0-128 for IPv6" },
		{ refuse_exclude, "10.0.0.0/", "prefix '' must be" },
		{ refuse_exclude, "10.0.0.0/ 8", "prefix ' 8'" },
		{ refuse_exclude, "0.0.0.0/-0", "prefix '-0'" },
		{ refuse_exclude, "10.0.0.0/8x", "prefix '8x'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(cases[i].parse(cases[i].in), -EINVAL);
		assert_contains(err, cases[i].msg);
	}
}

static void test_exclude_file(void **state)
{
	(void)state;
	struct exclude_list ex = { 0 };
	char path[64], want[128];

	write_temp(path, "# private nets\n\n10.0.0.0/8   # rfc 1918\r\n"
			 "  192.168.0.0/16\t\n   \n# end\n172.16.0.0/12");
	assert_int_equal(exclude_load_file(&ex, path, err, sizeof(err)), 0);
	assert_int_equal(ex.n, 3);
	assert_matches(&ex, "10.1.2.3 192.168.255.255 172.31.255.255", "172.32.0.0 11.0.0.0");
	unlink(path);

	/* a bad line: FILE:LINE, and nothing of the file is kept */
	write_temp(path, "198.18.0.0/15\n\nnot-a-cidr\n203.0.113.0/24\n");
	assert_int_equal(exclude_load_file(&ex, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: 'not-a-cidr': not an IP address", path);
	assert_contains(err, want);
	assert_int_equal(ex.n, 3);
	unlink(path);

	write_temp(path, "198.18.0.0/15\n198.18.1.0/16\n");
	assert_int_equal(exclude_load_file(&ex, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: '198.18.1.0/16': host bits set", path);
	assert_contains(err, want);
	unlink(path);

	assert_int_equal(exclude_load_file(&ex, path, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "cannot open '%s': No such file or directory", path);
	assert_string_equal(err, want);
	/* "-" is a file name here, not stdin */
	assert_int_equal(exclude_load_file(&ex, "-", err, sizeof(err)), -ENOENT);
	assert_int_equal(ex.n, 3);
	exclude_release(&ex);
}

/* Specs */

/* A spec, what it adds to an empty list (ports 80 and 443 unless it has
 * its own) and up to three of the targets it makes. */
struct spec_case {
	const char *spec;
	int added;
	struct {
		size_t i;
		const char *addr;
		uint16_t port;
	} at[3];
};

static void check_spec_cases(const struct spec_case *cases, size_t n, uint8_t families)
{
	struct portlist ports = ports_of("443,80");
	struct target_list tl;

	for (size_t c = 0; c < n; c++) {
		target_list_init(&tl, 0, families);
		int r = add(&tl, cases[c].spec, &ports, NULL);
		if (r != cases[c].added)
			fail_msg("'%s': returned %d (%s), want %d", cases[c].spec, r, err, cases[c].added);
		assert_int_equal(tl.n, (size_t)r);
		/* a target found through a hostname is named by it */
		const char *name = strncmp(cases[c].spec, "localhost", 9) == 0 ? "localhost" : NULL;
		for (size_t k = 0; k < 3 && cases[c].at[k].addr; k++)
			assert_target(&tl, cases[c].at[k].i, cases[c].at[k].addr, cases[c].at[k].port, name);
		target_list_release(&tl);
		assert_null(tl.v);
		assert_int_equal(tl.n, 0);
	}
	portlist_release(&ports);
}

static void test_spec_forms(void **state)
{
	(void)state;
	static const struct spec_case cases[] = {
		{ "192.0.2.1:8080", 1, { { 0, "192.0.2.1", 8080 } } },
		{ "192.0.2.2", 2, { { 0, "192.0.2.2", 80 }, { 1, "192.0.2.2", 443 } } },
		{ "192.0.2.4/31", 4,
		  { { 0, "192.0.2.4", 80 }, { 1, "192.0.2.4", 443 }, { 3, "192.0.2.5", 443 } } },
		{ "192.0.2.8/30:22", 4, { { 0, "192.0.2.8", 22 }, { 3, "192.0.2.11", 22 } } },
		/* IPv6: bare, bracketed, prefixes; the address's colons are not a port */
		{ "2001:db8::1", 2, { { 0, "2001:db8::1", 80 } } },
		{ "2001:db8::1:80", 2, { { 0, "2001:db8::1:80", 80 } } },
		{ "[2001:db8::2]:22", 1, { { 0, "2001:db8::2", 22 } } },
		{ "[2001:db8::3]", 2, { { 1, "2001:db8::3", 443 } } },
		{ "2001:db8::/127", 4, { { 2, "2001:db8::1", 80 } } },
		{ "[2001:db8:1::/126]:7", 4, { { 0, "2001:db8:1::", 7 }, { 3, "2001:db8:1::3", 7 } } },
		{ "2001:db8:2::/127:9", 2, { { 1, "2001:db8:2::1", 9 } } },
		{ "[192.0.2.1]:5", 1, { { 0, "192.0.2.1", 5 } } },
		/* hostnames, from /etc/hosts; an IPv4-only list would drop ::1 */
		{ "localhost:8080", 1, { { 0, "127.0.0.1", 8080 } } },
	};
	struct target_list tl;

	check_spec_cases(cases, sizeof(cases) / sizeof(cases[0]), V46);
	/* a port of its own needs no port list */
	target_list_init(&tl, 0, V4);
	assert_int_equal(add(&tl, "192.0.2.12:1", NULL, "one"), 1);
	assert_target(&tl, 0, "192.0.2.12", 1, "one");
	assert_int_equal(add(&tl, "localhost", &(struct portlist){ .ports = (uint16_t[]){ 7 }, .n = 1 }, NULL), 1);
	assert_target(&tl, 1, "127.0.0.1", 7, "localhost");
	/* ping targets: "icmp" in a port list or as the port of a spec is port 0 */
	assert_int_equal(add(&tl, "198.18.0.9:icmp", NULL, NULL), 1);
	assert_target(&tl, 2, "198.18.0.9", TARGET_PORT_ICMP, NULL);
	assert_int_equal(add(&tl, "198.18.0.10", &(struct portlist){ .ports = (uint16_t[]){ 0, 22 }, .n = 2 }, NULL), 2);
	assert_target(&tl, 3, "198.18.0.10", TARGET_PORT_ICMP, NULL);
	struct portlist pl;
	assert_int_equal(portlist_parse(&pl, "443,ICMP,22", err, sizeof(err)), 0);
	assert_int_equal(pl.n, 3);
	assert_int_equal(pl.ports[0], TARGET_PORT_ICMP);
	assert_int_equal(pl.ports[1], 22);
	portlist_release(&pl);
	/* service checks: after a port in a list or a spec (docs/checks.md) */
	assert_int_equal(portlist_parse(&pl, "22/ssh,80,5432/postgres,8000-8002/http", err, sizeof(err)), 0);
	assert_int_equal(pl.n, 6);
	assert_int_equal(pl.ports[0], 22);
	assert_int_equal(pl.checks[0], CHECK_SSH);
	assert_int_equal(pl.checks[1], CHECK_NONE);
	assert_int_equal(pl.checks[2], CHECK_POSTGRES);
	assert_int_equal(pl.checks[5], CHECK_HTTP);
	size_t before = tl.n;
	assert_int_equal(add(&tl, "198.18.0.11", &pl, NULL), 6);
	assert_int_equal(tl.v[before].check, CHECK_SSH);
	assert_int_equal(tl.v[before + 1].check, CHECK_NONE);
	assert_int_equal(tl.v[before + 2].check, CHECK_POSTGRES);
	portlist_release(&pl);
	assert_int_equal(add(&tl, "198.18.0.12:443/tls", NULL, NULL), 1);
	assert_int_equal(tl.v[tl.n - 1].port, 443);
	assert_int_equal(tl.v[tl.n - 1].check, CHECK_TLS);
	assert_int_equal(add(&tl, "[2001:db8::5]:443/https", NULL, NULL), -EAFNOSUPPORT);
	assert_int_equal(add(&tl, "198.18.0.13:5432/postgress", NULL, NULL), -EINVAL);
	assert_contains(err, "check 'postgress' in '198.18.0.13:5432/postgress': expected one of connect, tls");
	assert_int_equal(add(&tl, "198.18.0.13:icmp/tls", NULL, NULL), -EINVAL);
	assert_contains(err, "a ping has no service to check");
	assert_int_equal(portlist_parse(&pl, "443/tls,443/https", err, sizeof(err)), -EINVAL);
	assert_contains(err, "port 443 in '443/tls,443/https': two different checks (tls and https)");
	assert_int_equal(portlist_parse(&pl, "443,443/https", err, sizeof(err)), -EINVAL);
	assert_contains(err, "two different checks (none and https)");
	assert_int_equal(portlist_parse(&pl, "22/bogus", err, sizeof(err)), -EINVAL);
	assert_contains(err, "check 'bogus' in '22/bogus'");
	/* a fully qualified name goes to the resolver, which may not know it */
	if (add(&tl, "localhost.:9", NULL, NULL) != 1)
		assert_contains(err, "cannot resolve 'localhost.': ");
	target_list_release(&tl);
}

static void test_spec_errors(void **state)
{
	(void)state;
	static const struct {
		const char *spec;
		uint8_t families;
		int rc;
		const char *msg;
	} cases[] = {
		{ "127.0.0.1:99999", V4, -EINVAL, "port '99999' in '127.0.0.1:99999': expected 1-65535" },
		{ "127.0.0.1:0", V4, -EINVAL, "port '0' in '127.0.0.1:0': expected 1-65535" },
		{ "127.0.0.1:", V4, -EINVAL, "port '' in '127.0.0.1:'" },
		{ "127.0.0.1:8o", V4, -EINVAL, "port '8o'" },
		{ "127.0.0.1:80,443", V4, -EINVAL, "port '80,443'" },
		{ "999.1.1.1", V4, -EINVAL,
		  "'999.1.1.1': not a valid IPv4 address (expected four numbers 0-255" },
		{ "999.1.1.1:80", V4, -EINVAL, "'999.1.1.1:80': not a valid IPv4 address" },
		{ "127.1", V4, -EINVAL, "'127.1': not a valid IPv4 address" },
		{ "0x7f.1", V4, -EINVAL, "'0x7f.1': not a valid IPv4 address" },
		{ "1.2.3.4.", V4, -EINVAL, "not a valid IPv4 address" },
		{ "12345", V4, -EINVAL, "not a valid IPv4 address" },
		{ "198.18.1.0/16", V4, -EINVAL,
		  "'198.18.1.0/16': host bits set below the prefix (did you mean 198.18.0.0/16?)" },
		{ "198.18.1.0/16:80", V4, -EINVAL, "'198.18.1.0/16:80': host bits set" },
		{ "198.18.0.0/33", V4, -EINVAL, "prefix '33' must be 0-32 for IPv4" },
		{ "198.18.0.0/", V4, -EINVAL, "prefix '' must be 0-32" },
		{ "example.com/24", V4, -EINVAL, "'example.com/24': 'example.com' is not an IP address" },
		{ "2001:db8::1", V4, -EAFNOSUPPORT, "IPv6 target '2001:db8::1': IPv6 is not supported yet" },
		{ "[2001:db8::1]:80", V4, -EAFNOSUPPORT,
		  "IPv6 target '[2001:db8::1]:80': IPv6 is not supported yet" },
		{ "2001:db8::/64", V4, -EAFNOSUPPORT, "IPv6 is not supported yet" },
		{ "192.0.2.1", TARGET_FAMILY_V6, -EAFNOSUPPORT,
		  "IPv4 target '192.0.2.1': IPv4 is not enabled" },
		{ "2001:db8::1:99999", V46, -EINVAL, "needs brackets, like [2001:db8::1]:99999" },
		{ "[2001:db8::1", V46, -EINVAL, "'[2001:db8::1': no closing ']'" },
		{ "[2001:db8::1]x", V46, -EINVAL, "expected ':PORT' or nothing after ']'" },
		{ "[2001:db8::1]:", V46, -EINVAL, "port '' in '[2001:db8::1]:'" },
		{ "[example.com]:80", V46, -EINVAL, "'example.com' is not an IPv6 address" },
		{ "[]:80", V46, -EINVAL, "no address or hostname" },
		{ "", V4, -EINVAL, "'': no address or hostname" },
		{ ":80", V4, -EINVAL, "':80': no address or hostname" },
		{ "a:b:80", V4, -EINVAL,
		  "'a:b:80': not an IPv6 address (expected e.g. 2001:db8::1, or [2001:db8::1]:80" },
		{ "bad_host!", V4, -EINVAL, "'bad_host!': expected IP, CIDR or HOSTNAME" },
		{ "a..b", V4, -EINVAL, "expected IP, CIDR or HOSTNAME" },
		{ ".", V4, -EINVAL, "expected IP, CIDR or HOSTNAME" },
		{ "fe80::1%eth0", V46, -EINVAL, "'fe80::1%eth0': not an IPv6 address" },
		{ "[fe80::1%eth0]:80", V46, -EINVAL, "'fe80::1%eth0' is not an IPv6 address" },
		{ "nonexistent.invalid:80", V4, -ENOENT, "cannot resolve 'nonexistent.invalid': " },
	};
	struct portlist ports = ports_of("80");
	struct target_list tl;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		target_list_init(&tl, 0, cases[i].families);
		err[0] = '\0';
		int r = target_list_add_spec(&tl, cases[i].spec, &ports, "name", NULL, err, sizeof(err));
		if (r != cases[i].rc)
			fail_msg("'%s': returned %d (%s), want %d", cases[i].spec, r, err, cases[i].rc);
		assert_contains(err, cases[i].msg);
		assert_null(strchr(err, '\n'));
		assert_int_equal(tl.n, 0);
		assert_int_equal(tl.names_len, 0);
		target_list_release(&tl);
	}

	/* no port anywhere */
	struct portlist none = { 0 };
	target_list_init(&tl, 0, V4);
	assert_int_equal(add(&tl, "127.0.0.1", NULL, NULL), -EINVAL);
	assert_string_equal(err, "'127.0.0.1': no port (give -p or IP:PORT)");
	assert_int_equal(add(&tl, "127.0.0.1", &none, NULL), -EINVAL);
	assert_string_equal(err, "'127.0.0.1': no port (give -p or IP:PORT)");
	/* a bad host is reported before a missing port */
	assert_int_equal(add(&tl, "999.1.1.1", NULL, NULL), -EINVAL);
	assert_contains(err, "not a valid IPv4 address");

	/* too long for a host */
	char longspec[400];
	memset(longspec, 'a', sizeof(longspec) - 1);
	longspec[sizeof(longspec) - 1] = '\0';
	assert_int_equal(add(&tl, longspec, &ports, NULL), -EINVAL);
	assert_contains(err, "too long for an address or hostname");
	/* a tiny or absent message buffer is fine */
	assert_int_equal(target_list_add_spec(&tl, "999.1.1.1", &ports, NULL, NULL, err, 4), -EINVAL);
	assert_string_equal(err, "'99");
	assert_int_equal(target_list_add_spec(&tl, "999.1.1.1", &ports, NULL, NULL, NULL, 0), -EINVAL);
	assert_int_equal(tl.n, 0);
	target_list_release(&tl);
	portlist_release(&ports);
}

static void test_cidr_expansion(void **state)
{
	(void)state;
	static const struct spec_case cases[] = {
		/* network and broadcast addresses included: the user asked for the block */
		{ "10.0.0.0/23:1", 512,
		  { { 0, "10.0.0.0", 1 }, { 256, "10.0.1.0", 1 }, { 511, "10.0.1.255", 1 } } },
		{ "10.1.0.0/31:1", 2, { { 0, "10.1.0.0", 1 }, { 1, "10.1.0.1", 1 } } },
		{ "10.1.0.5/32:1", 1, { { 0, "10.1.0.5", 1 } } },
		/* the top of the address space does not wrap */
		{ "223.255.255.254/31:1", 2, { { 1, "223.255.255.255", 1 } } },
		{ "[2001:db8::fe00/119]:1", 512,
		  { { 0, "2001:db8::fe00", 1 }, { 511, "2001:db8::ffff", 1 } } },
		{ "[2001:db8:0:1:ffff:ffff:ffff:fffe/127]:1", 2,
		  { { 1, "2001:db8:0:1:ffff:ffff:ffff:ffff", 1 } } },
		{ "[2001:db8::/112]:1", 65536,
		  { { 256, "2001:db8::100", 1 }, { 65535, "2001:db8::ffff", 1 } } },
	};
	struct portlist three = ports_of("3,1,2");
	struct target_list tl;

	check_spec_cases(cases, sizeof(cases) / sizeof(cases[0]), V46);
	target_list_init(&tl, 0, V4);
	assert_int_equal(add(&tl, "10.0.0.0/16:80", NULL, NULL), 65536);
	for (size_t i = 1; i < tl.n; i++)
		assert_int_equal(ntohl(tl.v[i].addr.u.v4.s_addr), ntohl(tl.v[i - 1].addr.u.v4.s_addr) + 1);
	target_list_release(&tl);

	/* every port of a host next to each other, hosts in order */
	target_list_init(&tl, 0, V4);
	assert_int_equal(add(&tl, "192.0.2.0/30", &three, NULL), 12);
	for (size_t i = 0; i < 12; i++) {
		assert_int_equal(tl.v[i].port, i % 3 + 1);
		assert_int_equal(tl.v[i].addr.u.b[3], i / 3);
		assert_int_equal(tl.v[i].addr.family, AF_INET);
		assert_int_equal(tl.v[i].name, TARGET_NO_NAME);
	}
	target_list_release(&tl);
	portlist_release(&three);
}

static void test_exclusion_counting(void **state)
{
	struct fix *f = *state;

	assert_int_equal(exclude_add(&f->ex, "10.0.0.0/30", err, sizeof(err)), 0);
	/* 8 addresses, 4 excluded, 2 ports each */
	assert_int_equal(add_excluding(f, "10.0.0.0/29", "x"), 8);
	assert_int_equal(f->tl.excluded, 8);
	assert_target(&f->tl, 0, "10.0.0.4", 80, "x");
	assert_target(&f->tl, 7, "10.0.0.7", 443, "x");
	assert_int_equal(add_excluding(f, "224.0.0.1:80", "mc"), 0);
	assert_int_equal(f->tl.excluded, 9);
	assert_int_equal(add_excluding(f, "ff02::1", NULL), 0);
	assert_int_equal(f->tl.excluded, 11);
	assert_int_equal(add_excluding(f, "255.255.255.255:1", NULL), 0);
	assert_int_equal(f->tl.excluded, 12);
	/* a wholly excluded spec leaves no name behind */
	assert_int_equal(f->tl.names_len, 2);
	/* without an exclude list nothing is skipped */
	assert_int_equal(add(&f->tl, "224.0.0.1:80", &f->ports, NULL), 1);
	assert_int_equal(f->tl.excluded, 12);
	assert_int_equal(f->tl.n, 9);
}

static void test_max_targets(void **state)
{
	(void)state;
	struct portlist all = ports_of("1-65535"), one = ports_of("80");
	struct exclude_list ex = { 0 };
	struct target_list tl;

	/* refused before anything is allocated, so at once */
	target_list_init(&tl, 16777216, V4);
	double t0 = now_s();
	assert_int_equal(add(&tl, "198.18.0.0/15", &all, NULL), -E2BIG);
	assert_true(now_s() - t0 < 0.5);
	assert_string_equal(err, "'198.18.0.0/15': 8589803520 endpoints (131072 addresses x 65535 ports) "
				 "exceed --max-targets 16777216 (narrow the target or raise the limit)");
	assert_null(tl.v);
	assert_int_equal(tl.cap, 0);
	target_list_release(&tl);

	/* the limit counts what is already there; exactly at the limit is fine */
	target_list_init(&tl, 10, V4);
	assert_int_equal(add(&tl, "10.0.0.0/29", &one, NULL), 8);
	assert_int_equal(add(&tl, "10.0.1.0/30", &one, NULL), -E2BIG);
	assert_contains(err, "4 endpoints (4 addresses x 1 ports) with those already listed exceed "
			     "--max-targets 10");
	assert_int_equal(tl.n, 8);
	assert_int_equal(add(&tl, "10.0.1.0/31", &one, NULL), 2);
	assert_int_equal(add(&tl, "10.0.2.1:80", &one, NULL), -E2BIG);
	assert_int_equal(tl.n, 10);
	target_list_release(&tl);

	/* the bound is taken before exclusions */
	assert_int_equal(exclude_add(&ex, "10.0.0.0/8", err, sizeof(err)), 0);
	target_list_init(&tl, 4, V4);
	assert_int_equal(target_list_add_spec(&tl, "10.0.0.0/29", &one, NULL, &ex, err, sizeof(err)), -E2BIG);
	assert_int_equal(tl.excluded, 0);
	target_list_release(&tl);
	exclude_release(&ex);

	/* 0 is no limit, up to what one call can return */
	target_list_init(&tl, 0, V46);
	assert_int_equal(add(&tl, "10.0.0.0/16", &one, NULL), 65536);
	assert_int_equal(add(&tl, "0.0.0.0/0", &one, NULL), -E2BIG);
	assert_contains(err, "'0.0.0.0/0': 4294967296 endpoints, more than one target can add");
	assert_int_equal(add(&tl, "2001:db8::/32", &one, NULL), -E2BIG);
	assert_contains(err, "'2001:db8::/32': more than 2^63 addresses");
	assert_int_equal(add(&tl, "2001:db8::/64", &all, NULL), -E2BIG);
	assert_int_equal(tl.n, 65536);
	target_list_release(&tl);
	portlist_release(&all);
	portlist_release(&one);
}

static void test_names(void **state)
{
	struct fix *f = *state;
	char spec[64], name[64];

	assert_int_equal(add(&f->tl, "192.0.2.1", &f->ports, "web one"), 2);
	assert_int_equal(add(&f->tl, "192.0.2.2", &f->ports, NULL), 2);
	assert_int_equal(add(&f->tl, "192.0.2.3", &f->ports, ""), 2);
	assert_target(&f->tl, 0, "192.0.2.1", 80, "web one");
	assert_target(&f->tl, 1, "192.0.2.1", 443, "web one");
	assert_int_equal(f->tl.v[0].name, f->tl.v[1].name); /* stored once per spec */
	assert_target(&f->tl, 2, "192.0.2.2", 80, NULL);
	assert_target(&f->tl, 4, "192.0.2.3", 80, NULL);
	assert_int_equal(f->tl.names_len, strlen("web one") + 1);

	/* offsets stay valid while the buffer grows */
	for (unsigned i = 0; i < 20000; i++) {
		snprintf(spec, sizeof(spec), "10.%u.%u.1:80", i / 256, i % 256);
		snprintf(name, sizeof(name), "host-%u", i);
		assert_int_equal(add(&f->tl, spec, &f->ports, name), 1);
	}
	for (unsigned i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "host-%u", i);
		assert_string_equal(target_name(&f->tl, &f->tl.v[6 + i]), name);
	}
	assert_string_equal(target_name(&f->tl, &f->tl.v[0]), "web one");
}

/* -T lines and files */

static void test_lines(void **state)
{
	struct fix *f = *state;
	static const struct {
		const char *line;
		int rc;
		const char *addr, *name;
		uint16_t port;
	} cases[] = {
		{ "", 0, NULL, NULL, 0 },
		{ "\r\n", 0, NULL, NULL, 0 },
		{ "   \t \n", 0, NULL, NULL, 0 },
		{ "# a comment", 0, NULL, NULL, 0 },
		{ "   # indented comment 192.0.2.1:80", 0, NULL, NULL, 0 },
		{ "192.0.2.1:80", 1, "192.0.2.1", NULL, 80 },
		{ "  192.0.2.2:80   web server  # main\r\n", 1, "192.0.2.2", "web server", 80 },
		{ "192.0.2.3:80 web#1", 1, "192.0.2.3", "web#1", 80 },
		{ "192.0.2.4:80\tname\twith tabs\t\n", 1, "192.0.2.4", "name\twith tabs", 80 },
		{ "192.0.2.5:80 #just a comment", 1, "192.0.2.5", NULL, 80 },
		{ "192.0.2.6 db", 2, "192.0.2.6", "db", 80 },
		{ "[2001:db8::1]:443 v6 host", 1, "2001:db8::1", "v6 host", 443 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = f->tl.n;
		int r = target_list_add_line(&f->tl, cases[i].line, &f->ports, NULL, err, sizeof(err));
		if (r != cases[i].rc)
			fail_msg("'%s': returned %d (%s), want %d", cases[i].line, r, err, cases[i].rc);
		if (r > 0)
			assert_target(&f->tl, n, cases[i].addr, cases[i].port, cases[i].name);
	}
	/* '#' glued to the spec is part of it, and wrong there */
	assert_int_equal(target_list_add_line(&f->tl, "192.0.2.7:80#x", &f->ports, NULL, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "port '80#x' in '192.0.2.7:80#x': expected 1-65535 or icmp");
	char longline[600];
	memset(longline, '1', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	assert_int_equal(target_list_add_line(&f->tl, longline, &f->ports, NULL, err, sizeof(err)), -EINVAL);
	assert_contains(err, "too long for a target");
}

static void test_load_file(void **state)
{
	struct fix *f = *state;
	char path[64], want[256];

	write_temp(path, "# fleet\r\n"
			 "192.0.2.1:22  bastion\r\n"
			 "\r\n"
			 "192.0.2.8/31  pair   # two hosts\n"
			 "224.0.0.1\n"
			 "192.0.2.9:8080"); /* no final newline */
	assert_int_equal(target_list_load_file(&f->tl, path, &f->ports, &f->ex, err, sizeof(err)), 6);
	assert_int_equal(f->tl.n, 6);
	assert_int_equal(f->tl.excluded, 2);
	assert_target(&f->tl, 0, "192.0.2.1", 22, "bastion");
	assert_target(&f->tl, 1, "192.0.2.8", 80, "pair");
	assert_target(&f->tl, 4, "192.0.2.9", 443, "pair");
	assert_target(&f->tl, 5, "192.0.2.9", 8080, NULL);
	unlink(path);

	/* a bad second line: FILE:2, and the list is as before the file */
	size_t names_len = f->tl.names_len;
	write_temp(path, "127.0.0.1:80 new\n127.0.0.1:99999\n");
	assert_int_equal(target_list_load_file(&f->tl, path, &f->ports, &f->ex, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: port '99999' in '127.0.0.1:99999': expected 1-65535 or icmp", path);
	assert_string_equal(err, want);
	assert_int_equal(f->tl.n, 6);
	assert_int_equal(f->tl.names_len, names_len);
	assert_int_equal(f->tl.excluded, 2);
	unlink(path);

	write_temp(path, "127.0.0.1:80\n\n# c\n127.0.0.1\n");
	assert_int_equal(target_list_load_file(&f->tl, path, NULL, &f->ex, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:4: '127.0.0.1': no port (give -p or IP:PORT)", path);
	assert_string_equal(err, want);
	unlink(path);

	assert_int_equal(target_list_load_file(&f->tl, path, &f->ports, &f->ex, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "cannot open '%s': No such file or directory", path);
	assert_string_equal(err, want);
	assert_int_equal(f->tl.n, 6);
}

/* A file of many lines loads in linear time: quadratic growth or lookups
 * would take minutes here. */
static void test_load_many(void **state)
{
	(void)state;
	enum { LINES = 300000 };
	struct target_list tl;
	char path[64] = "/tmp/test_targets.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	for (unsigned i = 0; i < LINES; i++)
		fprintf(f, "10.%u.%u.%u:%u host %u\n", i >> 16, (i >> 8) & 255, i & 255, 1 + i % 3, i);
	assert_int_equal(fclose(f), 0);

	target_list_init(&tl, 0, V4);
	double t0 = now_s();
	assert_int_equal(target_list_load_file(&tl, path, NULL, NULL, err, sizeof(err)), LINES);
	assert_int_equal(target_list_dedup(&tl), 0);
	double took = now_s() - t0;
	if (took > 10)
		fail_msg("%d lines took %.1f s", LINES, took);
	assert_target(&tl, LINES - 1, "10.4.147.223", 1 + (LINES - 1) % 3, "host 299999");
	target_list_release(&tl);
	unlink(path);
}

/* Deduplication */

static void test_dedup(void **state)
{
	struct fix *f = *state;

	assert_int_equal(target_list_dedup(&f->tl), 0);
	assert_int_equal(add(&f->tl, "192.0.2.1:80", NULL, "first"), 1);
	assert_int_equal(target_list_dedup(&f->tl), 0);
	assert_int_equal(add(&f->tl, "192.0.2.2:80", NULL, "b"), 1);
	assert_int_equal(add(&f->tl, "192.0.2.1:80", NULL, "second"), 1);
	assert_int_equal(add(&f->tl, "192.0.2.1:443", NULL, NULL), 1);
	assert_int_equal(add(&f->tl, "192.0.2.0/30", &f->ports, "block"), 8);
	/* the same 16 bytes in another family are another address */
	assert_int_equal(add(&f->tl, "[c000:201::]:80", NULL, NULL), 1);
	assert_int_equal(add(&f->tl, "[::]:80", NULL, NULL), 1);
	assert_int_equal(add(&f->tl, "0.0.0.0:80", NULL, NULL), 1);
	assert_int_equal(f->tl.n, 15);
	assert_int_equal(target_list_dedup(&f->tl), 4);
	assert_int_equal(f->tl.n, 11);
	assert_target(&f->tl, 0, "192.0.2.1", 80, "first");
	assert_target(&f->tl, 1, "192.0.2.2", 80, "b");
	assert_target(&f->tl, 2, "192.0.2.1", 443, NULL);
	assert_target(&f->tl, 3, "192.0.2.0", 80, "block");
	assert_target(&f->tl, 4, "192.0.2.0", 443, "block");
	assert_target(&f->tl, 5, "192.0.2.2", 443, "block");
	assert_target(&f->tl, 7, "192.0.2.3", 443, "block");
	assert_target(&f->tl, 8, "c000:201::", 80, NULL);
	assert_target(&f->tl, 9, "::", 80, NULL);
	assert_target(&f->tl, 10, "0.0.0.0", 80, NULL);
	assert_int_equal(target_list_dedup(&f->tl), 0);
	target_list_release(&f->tl);

	/* a million repeated: fast, and the first copy's order survives */
	target_list_init(&f->tl, 0, V4);
	assert_int_equal(add(&f->tl, "10.0.0.0/12:80", NULL, "one"), 1 << 20);
	assert_int_equal(add(&f->tl, "10.0.0.0/12:80", NULL, "two"), 1 << 20);
	double t0 = now_s();
	assert_int_equal(target_list_dedup(&f->tl), 1 << 20);
	assert_true(now_s() - t0 < 10);
	assert_int_equal(f->tl.n, 1 << 20);
	for (size_t i = 0; i < f->tl.n; i++) {
		assert_int_equal(ntohl(f->tl.v[i].addr.u.v4.s_addr), 0x0a000000u + i);
		assert_int_equal(f->tl.v[i].name, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_portlist_ok),
		cmocka_unit_test(test_exclude_builtin),
		cmocka_unit_test(test_exclude_add),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_exclude_file),
		cmocka_unit_test(test_spec_forms),
		cmocka_unit_test(test_spec_errors),
		cmocka_unit_test(test_cidr_expansion),
		cmocka_unit_test_setup_teardown(test_exclusion_counting, fix_setup, fix_teardown),
		cmocka_unit_test(test_max_targets),
		cmocka_unit_test_setup_teardown(test_names, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_lines, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_load_file, fix_setup, fix_teardown),
		cmocka_unit_test(test_load_many),
		cmocka_unit_test_setup_teardown(test_dedup, fix_setup, fix_teardown),
	};
	return cmocka_run_group_tests_name("targets", tests, NULL, NULL);
}

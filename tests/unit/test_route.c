/* engine/route and engine/reserve: the host's network configuration.
 * Without root: the real tables of this namespace, loopback only (the one
 * thing every machine has). As root: a throwaway network namespace per test
 * (unshare in a forked child, gone when the child exits) with a veth, several
 * addresses and every kind of route, where each lookup is compared with
 * what we expect and with the kernel's own answer (`ip route get`); and the
 * reserved-ports sysctl, which is per namespace. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/reserve.h"
#include "engine/route.h"
#include "tests/unit/netns.h"


static struct sw_addr ip(const char *s)
{
	struct sw_addr a;
	assert_int_equal(addr_parse(&a, s), 0);
	return a;
}

static bool in_127(const struct sw_addr *a)
{
	return a->family == AF_INET && a->u.b[0] == 127;
}

static void test_loopback(void **state)
{
	(void)state;
	struct route_table *rt = NULL;
	struct route_info ri;
	struct sw_addr a;

	assert_int_equal(route_table_load(&rt), 0);
	assert_non_null(rt);

	a = ip("127.0.0.1");
	assert_int_equal(route_lookup(rt, &a, &ri), 0);
	assert_string_equal(ri.ifname, "lo");
	assert_true(ri.ifindex > 0);
	assert_true(ri.local);
	assert_true(in_127(&ri.src));
	assert_int_equal(ri.gateway.family, 0);

	a = ip("127.1.2.3");
	assert_int_equal(route_lookup(rt, &a, &ri), 0);
	assert_string_equal(ri.ifname, "lo");
	assert_true(ri.local);
	assert_true(in_127(&ri.src));

	assert_int_equal(route_iface(rt, "lo", AF_INET, &ri), 0);
	assert_string_equal(ri.ifname, "lo");
	struct sw_addr lo = ip("127.0.0.1");
	assert_true(addr_equal(&ri.src, &lo));

	assert_int_equal(route_iface(rt, "nonexistent0", AF_INET, &ri), -ENODEV);

	/* IPv6 loopback, where IPv6 is on */
	if (route_iface(rt, "lo", AF_INET6, &ri) == 0) {
		struct sw_addr one = ip("::1");
		assert_true(addr_equal(&ri.src, &one));
		assert_int_equal(route_lookup(rt, &one, &ri), 0);
		assert_true(ri.local);
		assert_string_equal(ri.ifname, "lo");
		assert_true(addr_equal(&ri.src, &one));
	}
	a.family = 0;
	assert_int_equal(route_lookup(rt, &a, &ri), -EAFNOSUPPORT);
	route_table_free(rt);
	route_table_free(NULL);
}

/* ---- root only: a namespace of our own ---- */

/* The kernel's answer for dst: 0 and its source, gateway, device; or
 * -ENETUNREACH when it would not deliver a TCP SYN there. */
static int kernel_route(const char *dst, struct route_info *out)
{
	char cmd[128], line[512];
	int r = -ENETUNREACH;

	memset(out, 0, sizeof(*out));
	snprintf(cmd, sizeof(cmd), "ip -o route get %s 2>/dev/null", dst);
	FILE *p = popen(cmd, "r");
	CHECK(p);
	if (fgets(line, sizeof(line), p)) {
		char *save, *tok = strtok_r(line, " \t\n", &save), *prev = NULL;
		if (tok && (!strcmp(tok, "blackhole") || !strcmp(tok, "unreachable") || !strcmp(tok, "prohibit") ||
			    !strcmp(tok, "broadcast") || !strcmp(tok, "multicast"))) {
			pclose(p);
			return -ENETUNREACH;
		}
		out->local = tok && !strcmp(tok, "local");
		for (; tok; prev = tok, tok = strtok_r(NULL, " \t\n", &save)) {
			if (!prev)
				continue;
			if (!strcmp(prev, "src"))
				CHECK(addr_parse(&out->src, tok) == 0);
			else if (!strcmp(prev, "via"))
				CHECK(addr_parse(&out->gateway, tok) == 0);
			else if (!strcmp(prev, "dev"))
				snprintf(out->ifname, sizeof(out->ifname), "%s", tok);
		}
		r = 0;
	}
	if (pclose(p) != 0)
		r = -ENETUNREACH;
	return r;
}

struct want {
	const char *dst;
	int ret;
	const char *ifname;
	const char *src;
	const char *gw; /* NULL: on-link */
	bool local;
	bool kernel;    /* compare with `ip route get` too (not for multipath) */
};

static void check_lookup(const struct route_table *rt, const struct want *w)
{
	struct route_info ri, k;
	struct sw_addr dst;

	CHECK(addr_parse(&dst, w->dst) == 0);
	int r = route_lookup(rt, &dst, &ri);
	if (r != w->ret) {
		fprintf(stderr, "lookup %s: got %d, want %d\n", w->dst, r, w->ret);
		_exit(1);
	}
	if (r == 0) {
		struct sw_addr src, gw = { 0 };
		CHECK(addr_parse(&src, w->src) == 0);
		if (w->gw)
			CHECK(addr_parse(&gw, w->gw) == 0);
		char got_src[ADDR_STRLEN], got_gw[ADDR_STRLEN];
		if (strcmp(ri.ifname, w->ifname) || !addr_equal(&ri.src, &src) || ri.gateway.family != gw.family ||
		    (gw.family && !addr_equal(&ri.gateway, &gw)) || ri.local != w->local) {
			fprintf(stderr, "lookup %s: dev %s src %s via %s local %d; want dev %s src %s via %s local %d\n",
				w->dst, ri.ifname, addr_format(&ri.src, got_src, sizeof(got_src)),
				addr_format(&ri.gateway, got_gw, sizeof(got_gw)), ri.local, w->ifname, w->src,
				w->gw ? w->gw : "-", w->local);
			_exit(1);
		}
		CHECK(ri.ifindex > 0);
	}
	if (!w->kernel)
		return;
	int kr = kernel_route(w->dst, &k);
	if (kr != r) {
		fprintf(stderr, "lookup %s: we say %d, the kernel %d\n", w->dst, r, kr);
		_exit(1);
	}
	if (r == 0) {
		if (strcmp(k.ifname, ri.ifname) || !addr_equal(&k.src, &ri.src) || k.local != ri.local ||
		    k.gateway.family != ri.gateway.family || (k.gateway.family && !addr_equal(&k.gateway, &ri.gateway))) {
			char a[ADDR_STRLEN], b[ADDR_STRLEN];
			fprintf(stderr, "lookup %s: kernel says dev %s src %s via %s local %d\n", w->dst, k.ifname,
				addr_format(&k.src, a, sizeof(a)), addr_format(&k.gateway, b, sizeof(b)), k.local);
			_exit(1);
		}
	}
}

static int veth_fleet(void)
{
	static const char *const setup[] = {
		"ip link set lo up",
		"ip link add sw0 type veth peer name sw1",
		"ip link set sw0 up",
		"ip link set sw1 up",
		"ip addr add 198.18.0.1/24 dev sw0",
		"ip addr add 198.18.0.9/24 dev sw0",  /* same subnet: secondary */
		"ip addr add 198.18.32.1/24 dev sw0", /* a second primary */
		"ip route add 198.18.64.0/18 via 198.18.0.254 dev sw0 metric 10",
		"ip route add 198.18.64.0/18 via 198.18.0.253 dev sw0 metric 5",
		"ip route add 198.18.64.0/24 via 198.18.0.252 dev sw0 metric 50",
		"ip route add 198.18.33.0/24 via 198.18.32.254 dev sw0",
		"ip route add 198.18.40.0/24 dev sw0 src 198.18.0.9",
		"ip route add blackhole 198.18.128.0/17",
		"ip route add unreachable 198.18.200.0/24",
		"ip route add prohibit 198.18.201.0/24",
		"ip route add 198.18.50.0/24 dev sw1",
		"ip route add 198.19.0.0/16 nexthop via 198.18.0.250 dev sw0 nexthop via 198.18.32.250 dev sw0",
	};
	static const char *const setup6[] = {
		"ip -6 addr add 2001:db8::1/64 dev sw0 nodad",
		"ip -6 route add 2001:db8:1::/48 via 2001:db8::fe dev sw0",
		"ip -6 route add 2001:db8:2::/48 via fe80::1 dev sw0",
	};
	static const struct want wants[] = {
		{ "198.18.0.7", 0, "sw0", "198.18.0.1", NULL, false, true },
		{ "198.18.0.1", 0, "lo", "198.18.0.1", NULL, true, true },
		/* the kernel gives a secondary's local route the primary as prefsrc */
		{ "198.18.0.9", 0, "lo", "198.18.0.1", NULL, true, true },
		{ "127.0.0.5", 0, "lo", "127.0.0.1", NULL, true, true },
		{ "198.18.32.77", 0, "sw0", "198.18.32.1", NULL, false, true },
		{ "198.18.64.5", 0, "sw0", "198.18.0.1", "198.18.0.252", false, true },  /* longest prefix */
		{ "198.18.65.5", 0, "sw0", "198.18.0.1", "198.18.0.253", false, true },  /* lowest metric */
		{ "198.18.33.5", 0, "sw0", "198.18.32.1", "198.18.32.254", false, true }, /* subnet of the gateway */
		{ "198.18.40.5", 0, "sw0", "198.18.0.9", NULL, false, true },            /* prefsrc */
		{ "198.18.130.1", -ENETUNREACH, NULL, NULL, NULL, false, true },         /* blackhole */
		{ "198.18.200.1", -ENETUNREACH, NULL, NULL, NULL, false, true },         /* unreachable */
		{ "198.18.201.1", -ENETUNREACH, NULL, NULL, NULL, false, true },         /* prohibit */
		{ "198.18.0.255", -ENETUNREACH, NULL, NULL, NULL, false, true },         /* broadcast */
		{ "203.0.113.1", -ENETUNREACH, NULL, NULL, NULL, false, true },          /* no default route */
		{ "198.18.50.1", -EADDRNOTAVAIL, NULL, NULL, NULL, false, false },       /* sw1 has no address */
		{ "198.19.1.1", 0, "sw0", "198.18.0.1", "198.18.0.250", false, false },  /* multipath: first */
	};
	static const struct want wants6[] = {
		{ "2001:db8::7", 0, "sw0", "2001:db8::1", NULL, false, true },
		{ "2001:db8::1", 0, "lo", "2001:db8::1", NULL, true, false },
		{ "2001:db8:1::5", 0, "sw0", "2001:db8::1", "2001:db8::fe", false, true },
		{ "2001:db8:2::5", 0, "sw0", "2001:db8::1", "fe80::1", false, true },
		{ "::1", 0, "lo", "::1", NULL, true, false },
	};
	struct route_table *rt;
	struct route_info ri;
	bool v6 = true;

	for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++)
		if (sh(setup[i]) != 0) {
			fprintf(stderr, "skipping: '%s' failed\n", setup[i]);
			return CHILD_SKIP;
		}
	for (size_t i = 0; i < sizeof(setup6) / sizeof(setup6[0]); i++)
		if (sh(setup6[i]) != 0) {
			fprintf(stderr, "IPv6 set-up '%s' failed: IPv6 lookups cannot be checked\n", setup6[i]);
			return 1;
		}
	CHECK(route_table_load(&rt) == 0);
	for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++)
		check_lookup(rt, &wants[i]);
	for (size_t i = 0; v6 && i < sizeof(wants6) / sizeof(wants6[0]); i++)
		check_lookup(rt, &wants6[i]);

	/* a link path needs one gateway on an Ethernet link (veth is one) */
	static const struct {
		const char *dst;
		bool ether_gateway;
	} paths[] = {
		{ "198.18.64.5", true },  /* via 198.18.0.252 on sw0 */
		{ "198.18.33.5", true },
		{ "198.18.0.7", false },  /* on-link: no gateway */
		{ "198.19.1.1", false },  /* multipath: the kernel spreads the flows */
		{ "127.0.0.5", false },   /* local */
		{ "198.18.0.9", false },
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct sw_addr dst = ip(paths[i].dst);
		CHECK(route_lookup(rt, &dst, &ri) == 0);
		if (ri.ether_gateway != paths[i].ether_gateway) {
			fprintf(stderr, "%s: ether_gateway %d, want %d\n", paths[i].dst, ri.ether_gateway,
				paths[i].ether_gateway);
			return 1;
		}
	}

	CHECK(route_iface(rt, "sw0", AF_INET, &ri) == 0);
	CHECK(!ri.ether_gateway); /* --interface: no gateway to send to */
	CHECK(!strcmp(ri.ifname, "sw0"));
	struct sw_addr want = ip("198.18.0.1");
	CHECK(addr_equal(&ri.src, &want));
	/* no address: the interface is still named, for --source-ip */
	CHECK(route_iface(rt, "sw1", AF_INET, &ri) == -EADDRNOTAVAIL);
	CHECK(!strcmp(ri.ifname, "sw1") && ri.ifindex > 0);
	if (v6) {
		CHECK(route_iface(rt, "sw0", AF_INET6, &ri) == 0);
		want = ip("2001:db8::1");
		CHECK(addr_equal(&ri.src, &want));
	}
	route_table_free(rt);
	return 0;
}

NETNS_TEST(test_veth_namespace, veth_fleet)

/* ---- reserved ports, in a namespace of our own (the setting is per namespace) ---- */

static void read_reserved(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_reserved_ports", "r");
	CHECK(f);
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* one write(2) call per remaining piece: the kernel takes a long list a
 * page at a time, each piece ending at a whole number */
static void write_reserved(const char *s)
{
	int fd = open("/proc/sys/net/ipv4/ip_local_reserved_ports", O_WRONLY);
	size_t len = strlen(s);
	CHECK(fd >= 0);
	while (len) {
		ssize_t n = write(fd, s, len);
		CHECK(n > 0);
		s += n;
		len -= (size_t)n;
	}
	CHECK(close(fd) == 0);
}

static int reserve_cases(void)
{
	char buf[4096];

	read_reserved(buf, sizeof(buf));
	if (buf[0]) /* a fresh namespace starts empty; not ours to judge otherwise */
		return CHILD_SKIP;
	CHECK(ports_reserve(61000, 61999) == 1);
	read_reserved(buf, sizeof(buf));
	CHECK(!strcmp(buf, "61000-61999"));
	CHECK(ports_reserve(61000, 61999) == 0);
	CHECK(ports_reserve(61100, 61200) == 0);
	CHECK(ports_reserve(61999, 61999) == 0);
	CHECK(ports_reserve(60000, 61000) == 1);
	read_reserved(buf, sizeof(buf));
	CHECK(!strcmp(buf, "60000-61999"));

	/* what was there before is kept */
	write_reserved("8080,9000-9010");
	CHECK(ports_reserve(61000, 61999) == 1);
	read_reserved(buf, sizeof(buf));
	CHECK(!strcmp(buf, "8080,9000-9010,61000-61999"));
	CHECK(ports_reserve(9005, 9010) == 0);
	CHECK(ports_reserve(9005, 9011) == 1);
	read_reserved(buf, sizeof(buf));
	CHECK(!strcmp(buf, "8080,9000-9011,61000-61999"));
	CHECK(ports_reserve(65535, 65535) == 1);
	CHECK(ports_reserve(65535, 65535) == 0);
	CHECK(ports_reserve(2, 1) == -EINVAL);

	/* a list longer than a page: every other port of 20000..39998 */
	char *big = malloc(80000);
	CHECK(big);
	size_t n = 0;
	for (unsigned p = 20000; p < 40000; p += 2)
		n += (size_t)sprintf(big + n, "%s%u", n ? "," : "", p);
	write_reserved(big); /* replaces the list */
	CHECK(ports_reserve(20000, 20000) == 0);
	CHECK(ports_reserve(39998, 39998) == 0);
	CHECK(ports_reserve(61000, 61999) == 1); /* reads and writes back ~60 KB */
	CHECK(ports_reserve(20000, 20001) == 1);
	read_reserved(buf, sizeof(buf));
	CHECK(!strncmp(buf, "20000-20002,20004,20006,", 24));
	CHECK(ports_reserve(39996, 39996) == 0);
	CHECK(ports_reserve(20003, 20003) == 1);
	CHECK(ports_reserve(61000, 61999) == 0); /* survived the big writes */
	free(big);
	return 0;
}

NETNS_TEST(test_reserve_namespace, reserve_cases)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_veth_namespace),
		cmocka_unit_test(test_reserve_namespace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* scheduler/table: ids stay put across rebuilds, removed ids die and are
 * never reused, groups claim endpoints first-come, hostnames are recorded,
 * and the publish/reader hand-over frees what nobody reads. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/config.h"
#include "scheduler/table.h"

/* config structs hold mutable strings; these literals are never written */
#define W(s) ((char *)(s))

/* A config group by hand: hosts, ports, optional named endpoint. */
static struct config_group group(char *name, char **hosts, size_t n_hosts, uint16_t *ports, size_t n_ports)
{
	struct config_group g = {
		.name = name,
		.hosts = hosts,
		.n_hosts = n_hosts,
		.ports = { .ports = ports, .n = n_ports },
		.interval_ns = 1000000000LL,
		.timeout_ns = 100000000LL,
		.retries = 1,
		.families = TARGET_FAMILY_V4,
	};
	return g;
}

static const struct target *find(const struct table *t, const char *ip, uint16_t port, uint32_t *id)
{
	struct sw_addr a;
	assert_int_equal(addr_parse(&a, ip), 0);
	for (size_t i = 0; i < t->tl.n; i++)
		if (t->tl.v[i].port == port && addr_equal(&t->tl.v[i].addr, &a)) {
			*id = (uint32_t)i;
			return &t->tl.v[i];
		}
	return NULL;
}

struct diff_log {
	uint32_t added[64], removed[64];
	size_t n_added, n_removed;
};

static void on_diff(void *ctx, uint32_t id, bool added)
{
	struct diff_log *d = ctx;
	if (added)
		d->added[d->n_added++] = id;
	else
		d->removed[d->n_removed++] = id;
}

static void test_build_and_rebuild(void **state)
{
	(void)state;
	char *h1[] = { W("198.18.0.0/30") }, *h2[] = { W("198.18.0.2"), W("198.18.1.1:22") };
	uint16_t p1[] = { 80, 443 }, p2[] = { 80 };
	struct table_named named = { .host = W("198.18.0.1"), .port = 443, .name = W("front https") };
	struct config_group g[2] = { group(W("web"), h1, 1, p1, 2), group(W("ssh"), h2, 2, p2, 1) };
	struct config cfg = { .location = W("lab"), .groups = g, .n_groups = 2 };
	struct exclude_list ex = { 0 };
	struct table *t1, *t2;
	char err[256];
	uint32_t id;

	g[0].named = &named;
	g[0].n_named = 1;
	assert_int_equal(config_build_table(&t1, &cfg, &ex, NULL, NULL, err, sizeof(err)), 0);
	/* web: 4 hosts x 2 ports (198.18.0.1:443 named); ssh: 198.18.0.2:80 is web's, plus 198.18.1.1:22 */
	assert_int_equal(t1->tl.n, 9);
	assert_int_equal(t1->n_live, 9);
	assert_int_equal(t1->gen, 1);
	assert_string_equal(t1->location, "lab");
	assert_non_null(find(t1, "198.18.0.1", 443, &id));
	assert_string_equal(target_name(&t1->tl, &t1->tl.v[id]), "front https");
	assert_string_equal(table_group_of(t1, id)->name, "web");
	assert_non_null(find(t1, "198.18.0.2", 80, &id));
	assert_string_equal(table_group_of(t1, id)->name, "web"); /* the first group keeps it */
	assert_non_null(find(t1, "198.18.1.1", 22, &id));
	assert_string_equal(table_group_of(t1, id)->name, "ssh");
	uint32_t ssh_id = id;

	/* drop port 443 from web, add 198.18.2.0/31 to ssh */
	char *h2b[] = { W("198.18.0.2"), W("198.18.1.1:22"), W("198.18.2.0/31") };
	g[0].n_named = 0;
	g[0].ports.n = 1;
	g[1].hosts = h2b;
	g[1].n_hosts = 3;
	assert_int_equal(config_build_table(&t2, &cfg, &ex, t1, NULL, err, sizeof(err)), 0);
	assert_int_equal(t2->gen, 2);
	assert_int_equal(t2->tl.n, 11);   /* 9 old ids kept, 2 new at the end */
	assert_int_equal(t2->n_live, 4 + 1 + 2);
	assert_non_null(find(t2, "198.18.1.1", 22, &id));
	assert_int_equal(id, ssh_id);
	assert_non_null(find(t2, "198.18.0.1", 443, &id));
	assert_int_equal(t2->dead[id], 1);
	assert_non_null(find(t2, "198.18.2.1", 80, &id));
	assert_int_equal(id, 10);
	assert_string_equal(table_group_of(t2, id)->name, "ssh");

	struct diff_log d = { 0 };
	table_diff(t1, t2, on_diff, &d);
	assert_int_equal(d.n_added, 2);
	assert_int_equal(d.n_removed, 4);
	assert_int_equal(d.added[0], 9);

	/* back again: the removed ids come back to life, none is added */
	struct table *t3;
	g[0].ports.n = 2;
	assert_int_equal(config_build_table(&t3, &cfg, &ex, t2, NULL, err, sizeof(err)), 0);
	assert_int_equal(t3->tl.n, 11);
	assert_int_equal(t3->n_live, 11);
	table_free(t3);
	table_free(t2);
	table_free(t1);
}

static void test_errors(void **state)
{
	(void)state;
	char *h[] = { W("198.18.0.1"), W("no-such-host.invalid") }, *bad[] = { W("198.18.1.0/16") };
	uint16_t p[] = { 80 };
	struct config_group g[1] = { group(W("edge"), h, 2, p, 1) };
	struct config cfg = { .groups = g, .n_groups = 1 };
	struct exclude_list ex = { 0 };
	struct table *t = NULL;
	char err[256];

	assert_true(config_build_table(&t, &cfg, &ex, NULL, NULL, err, sizeof(err)) < 0);
	assert_null(t);
	assert_non_null(strstr(err, "group 'edge'"));
	assert_non_null(strstr(err, "no-such-host.invalid"));
	g[0].hosts = bad;
	g[0].n_hosts = 1;
	assert_int_equal(config_build_table(&t, &cfg, &ex, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "198.18.1.0/16"));
}

static void test_exclude_and_hostname(void **state)
{
	(void)state;
	char *h[] = { W("localhost"), W("198.18.0.0/29") };
	uint16_t p[] = { 7 };
	struct config_group g[1] = { group(W("lo"), h, 2, p, 1) };
	struct config cfg = { .groups = g, .n_groups = 1 };
	struct exclude_list ex = { 0 };
	struct table *t;
	char err[256];

	assert_int_equal(exclude_add(&ex, "198.18.0.4/30", err, sizeof(err)), 0);
	assert_int_equal(config_build_table(&t, &cfg, &ex, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(t->n_hostnames, 1);
	assert_string_equal(t->hostnames[0].name, "localhost");
	assert_true(t->hostnames[0].n_addrs >= 1);
	assert_int_equal(t->tl.excluded, 4);
	uint32_t id;
	assert_non_null(find(t, "127.0.0.1", 7, &id));
	table_free(t);
	exclude_release(&ex);
}

static void test_from_list_and_pub(void **state)
{
	(void)state;
	struct target_list tl;
	struct table_group g = { .name = W("cli"), .interval_ns = 1000000000LL };
	struct table_pub pub = { 0 };
	struct table *t1, *t2, *t3;
	char err[256];

	target_list_init(&tl, 0, TARGET_FAMILY_V4);
	assert_int_equal(target_list_add_spec(&tl, "198.18.0.0/31:80", NULL, "x", NULL, err, sizeof(err)), 2);
	assert_int_equal(table_from_list(&t1, &tl, &g, NULL), 0);
	assert_int_equal(tl.n, 0);
	assert_int_equal(t1->n_live, 2);
	assert_string_equal(table_group_of(t1, 1)->name, "cli");

	table_pub_publish(&pub, t1);
	assert_ptr_equal(table_pub_latest(&pub), t1);
	/* two generations published before the reader looks: it adopts the
	 * newest and frees both older ones (LeakSanitizer checks) */
	assert_int_equal(table_from_list(&t2, &tl, NULL, NULL), 0);
	assert_int_equal(table_from_list(&t3, &tl, NULL, NULL), 0);
	table_pub_publish(&pub, t2);
	table_pub_publish(&pub, t3);
	assert_ptr_equal(t3->older, t2);
	assert_ptr_equal(table_pub_latest(&pub), t3);
	assert_null(t3->older);
	table_pub_release(&pub);
	target_list_release(&tl);
}

/* A runtime entry with own_group gets a group of that name with the first
 * group's timing and only its own labels, and stays through a rebuild. */
static void test_runtime_own_group(void **state)
{
	(void)state;
	struct target_list tl;
	struct label base_label = { W("team"), W("net") }, role = { W("role"), W("canary") };
	struct table_group g = { .name = W("cli"), .labels = &base_label, .n_labels = 1,
				 .interval_ns = 2000000000LL, .timeout_ns = 100000000LL, .retries = 1 };
	struct table_runtime e = { .spec = W("198.18.0.9:icmp"), .own_group = W("canary"), .labels = &role,
				   .n_labels = 1, .interval_ns = 500000000LL };
	struct table_extra extra = { .v = &e, .n = 1 };
	struct table *t1, *t2, *t3;
	char err[256];
	uint32_t id, id2;

	target_list_init(&tl, 0, TARGET_FAMILY_V4);
	assert_int_equal(target_list_add_spec(&tl, "198.18.0.1:80", NULL, NULL, NULL, err, sizeof(err)), 1);
	assert_int_equal(table_from_list(&t1, &tl, &g, NULL), 0);
	assert_int_equal(config_build_table(&t2, NULL, NULL, t1, &extra, err, sizeof(err)), 0);
	assert_int_equal(t2->n_live, 2);
	assert_non_null(find(t2, "198.18.0.9", TARGET_PORT_ICMP, &id));
	const struct table_group *cg = table_group_of(t2, id);
	assert_string_equal(cg->name, "canary");
	assert_int_equal(cg->n_labels, 1);
	assert_string_equal(cg->labels[0].key, "role");
	assert_int_equal(cg->interval_ns, 500000000LL);
	assert_int_equal(cg->timeout_ns, 100000000LL);
	assert_string_equal(table_group_of(t2, 0)->name, "cli");
	/* the next generation, with the entry again: same id, same group */
	assert_int_equal(config_build_table(&t3, NULL, NULL, t2, &extra, err, sizeof(err)), 0);
	assert_non_null(find(t3, "198.18.0.9", TARGET_PORT_ICMP, &id2));
	assert_int_equal(id2, id);
	assert_string_equal(table_group_of(t3, id2)->name, "canary");
	assert_int_equal(t3->n_groups, 2);
	table_free(t3);
	table_free(t2);
	table_free(t1);
	target_list_release(&tl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_and_rebuild),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_exclude_and_hostname),
		cmocka_unit_test(test_from_list_and_pub),
		cmocka_unit_test(test_runtime_own_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Events for the alerter's unit tests, built as the alerter reads them
 * from P events: a list of field, value pairs ending in NULL. */
#ifndef SW_TEST_ALERT_FIXTURE_H
#define SW_TEST_ALERT_FIXTURE_H

#include <string.h>

#include "tools/alert/alert-event.h"

/* Parses the pairs into *e (strings in a); fails the test when the event
 * does not parse. */
static inline void fixture_event(struct alert_event *e, struct fv_arena *a, const char *const *kv)
{
	size_t n = 0;

	while (kv[2 * n])
		n++;
	struct fv_record *rec = fv_alloc(a, sizeof(*rec));
	const char **keys = fv_alloc(a, (n + 1) * sizeof(char *)),
		   **vals = fv_alloc(a, (n + 1) * sizeof(char *));
	assert_non_null(rec);
	assert_non_null(keys);
	assert_non_null(vals);
	for (size_t i = 0; i < n; i++) {
		keys[i] = kv[2 * i];
		vals[i] = kv[2 * i + 1];
	}
	*rec = (struct fv_record){ .id = "", .n = n, .keys = keys, .vals = vals };
	assert_int_equal(alert_event_parse(e, rec, "1700000000000-0", a), 0);
}

/* A port of a database host going down from fra1, refused. */
#define FIXTURE_DOWN                                                                                         \
	"kind", "state", "id", "00000000000000aa-7", "ts", "1700000252000000000", "target",                  \
	    "198.18.1.9:5432", "ip", "198.18.1.9", "port", "5432", "name",                                   \
	    "Production DB - PostgreSQL 5432", "group", "db", "labels",                                      \
	    "{\"team\":\"dba\",\"criticality\":\"critical\"}", "from", "up", "to", "down", "reason",         \
	    "refused", "since", "1700000000000000000", "location", "fra1", "prober", "fra1/probe-1"

#endif

/* The global state of a target from the states its locations see
 * (docs/quorum.md): the rule synwatch-quorum applies. Pure; any thread.
 *
 * Each location that has an opinion (up, degraded, flapping or down; not
 * unknown, not absent) votes; severity orders them down > flapping >
 * degraded > up. With k the number of locations needed (the quorum), the
 * global state is the k-th worst vote: the worst state that at least k
 * locations see, or something worse. So with three locations and the
 * default majority (k = 2) one location seeing a target down is a location
 * issue, two are an outage. */
#ifndef SW_QUORUM_H
#define SW_QUORUM_H

#include <stddef.h>

#include "tools/lib/fleetview.h"

#define QUORUM_MAJORITY 0 /* more than half of the locations with an opinion */
#define QUORUM_ALL (-1)   /* every one of them */
#define QUORUM_MAX 64     /* a fixed k above this is not a number of locations */

/* "majority", "all" or a number 1..QUORUM_MAX into *spec. 0 or -EINVAL. */
int quorum_spec_parse(const char *s, int *spec);
/* "majority", "all" or the number. buf of at least 16 bytes. */
const char *quorum_spec_name(int spec, char *buf, size_t len);

/* How many of n voting locations must agree: majority n/2 + 1, all n, a
 * fixed k at most n (so that a target watched from fewer locations than
 * k can still be down). 0 when n is 0. */
unsigned quorum_need(int spec, unsigned n);

/* The global state from votes[s] = locations seeing state s (FV_UNKNOWN
 * ignored). *need (may be NULL) gets k. FV_UNKNOWN when nobody votes. */
enum fv_state quorum_decide(const unsigned votes[FV_NSTATES], int spec, unsigned *need);

#endif

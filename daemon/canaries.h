/* Canaries: targets whose failure tells that this prober's own network
 * went, not the targets' (the monitor then holds down transitions). The
 * file's canaries: list, or else the gateways the targets are routed
 * through, checked by ping. Main thread, start-up only. */
#ifndef SW_CANARIES_H
#define SW_CANARIES_H

struct daemon;

/* Sets d->canaries (and, for gateways, d->gw_canaries, added to d->table
 * and d->rt) from the settings and the routes of d->table. A bad canary in
 * the file ends the program (exit 2); gateways that cannot be added are
 * logged and left out. Monitoring only, before daemon_open. */
void canaries_add(struct daemon *d);

/* Frees the canaries and zeroes them in d (none, as before canaries_add). */
void canaries_release(struct daemon *d);

#endif

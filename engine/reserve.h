/* engine/reserve: net.ipv4.ip_local_reserved_ports. Main thread, start-up. */
#ifndef SW_RESERVE_H
#define SW_RESERVE_H

#include <stdint.h>

/* Adds [lo, hi] to net.ipv4.ip_local_reserved_ports of the current network
 * namespace (also covers IPv6) unless already covered. Returns 1 if it
 * changed the setting, 0 if it was already there, negative errno. */
int ports_reserve(uint16_t lo, uint16_t hi);

#endif

/* --mem-report (daemon/memreport.h). The store thread's own memory (the
 * Redis backlog, the latency minutes) is not itemised: it is in malloc's
 * figures. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "common/log.h"
#include "common/memuse.h"
#include "common/ring.h"
#include "daemon/daemon.h"
#include "daemon/memreport.h"
#include "scheduler/monitor.h"
#include "scheduler/sched.h"

/* One VmRSS-like field of /proc/self/status, in KiB (0 if unknown). */
static unsigned long status_kib(const char *field)
{
	char line[256];
	unsigned long v = 0;
	size_t len = strlen(field);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, len) == 0 && line[len] == ':') {
			v = strtoul(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void memuse_log(const struct memuse *u, bool per_target, size_t n_targets, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < u->n && off < len; i++) {
		const struct memuse_item *it = &u->v[i];
		if (it->per_target != per_target || !it->bytes)
			continue;
		int k = per_target ? snprintf(buf + off, len - off, "%s%s %.1f", off ? ", " : "", it->what,
					      (double)it->bytes / (double)(n_targets ? n_targets : 1))
				   : snprintf(buf + off, len - off, "%s%s %.1f", off ? ", " : "", it->what,
					      (double)it->bytes / 1048576.0);
		off += k > 0 ? (size_t)k : 0;
	}
}

void memreport_log(const struct daemon *d, const char *when)
{
	struct memuse u = { 0 };
	char per[1024], buf[1024];
	size_t n = d->table->n_live;

	table_memuse(d->table, &u);
	memuse_add(&u, "routing.src_of", d->table->tl.n * sizeof(*d->rt.src_of), true);
	if (d->mon)
		monitor_memuse(d->mon, &u);
	if (d->sc)
		sched_memuse(d->sc, &u);
	if (d->cap)
		memuse_add(&u, "capture.pcap", capture_buffer_bytes(d->cap), false);
	memuse_add(&u, "ring.requests", ring_bytes(d->reqs), false);
	memuse_add(&u, "ring.reports", ring_bytes(d->reports), false);
	memuse_add(&u, "ring.captures", ring_bytes(d->caps), false);
	memuse_add(&u, "ring.store", ring_bytes(d->recs), false);
	memuse_log(&u, true, n, per, sizeof(per));
	memuse_log(&u, false, n, buf, sizeof(buf));
	struct mallinfo2 mi = mallinfo2();
	log_info("memory %s: %zu targets: %.1f bytes per target in per-target arrays (%.1f MiB): %s; "
		 "buffers %.1f MiB: %s; malloc: %.1f MiB in use, %.1f MiB free in its heaps, %.1f MiB of it "
		 "mmapped; RSS %.1f MiB (anonymous %.1f, file %.1f, shared %.1f)",
		 when, n, (double)memuse_total(&u, true) / (double)(n ? n : 1),
		 (double)memuse_total(&u, true) / 1048576.0, per, (double)memuse_total(&u, false) / 1048576.0, buf,
		 (double)mi.uordblks / 1048576.0 + (double)mi.hblkhd / 1048576.0, (double)mi.fordblks / 1048576.0,
		 (double)mi.hblkhd / 1048576.0, (double)status_kib("VmRSS") / 1024.0,
		 (double)status_kib("RssAnon") / 1024.0, (double)status_kib("RssFile") / 1024.0,
		 (double)status_kib("RssShmem") / 1024.0);
}

/* synwatch: wires the stages. Start-up happens here in order: the settings
 * (daemon/settings.h), the first target table, its routes and canaries,
 * the stages and their sockets (daemon/daemon.h), then the privileges go.
 * Three threads run (sender, receiver, store) while this one runs the loop
 * (daemon/loop.h) until the checks are done or a signal ends it. */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "daemon/canaries.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/loop.h"
#include "daemon/memreport.h"
#include "daemon/options.h"
#include "daemon/preflight.h"
#include "daemon/settings.h"
#include "daemon/status.h"
#include "daemon/targets.h"

int main(int argc, char **argv)
{
	struct options o;
	struct config cfg;
	struct daemon d = { .program = argv[0], .o = &o, .cfg = &cfg };
	uint64_t elapsed_ns;
	bool interrupted;
	int r, rc = 1;

	log_set_program("synwatch");
	settings_load(&cfg, &o, argc, argv);
	log_level_current = o.verbose >= 2 ? LOG_DEBUG : o.quiet ? LOG_ERROR : LOG_INFO;
	if (o.check) {
		/* the summary says what the log would: warnings and errors only */
		if (!o.verbose && !o.quiet)
			log_level_current = LOG_WARN;
		rc = preflight_run(&d);
		config_release(&cfg);
		return rc;
	}
	targets_load(&d.table, &d.ex, &cfg, &o);
	if (daemon_route(&d) < 0)
		goto out;
	if (!o.once)
		canaries_add(&d);
	if (daemon_open(&d) < 0)
		goto out;
	if (o.mem_report)
		memreport_log(&d, "at start-up");
	if (daemon_drop_privileges(&d) < 0)
		goto out;
	loop_catch_signals();
	if (daemon_start(&d) < 0)
		goto out;

	interrupted = loop_run(&d, &elapsed_ns);
	if (o.mem_report)
		memreport_log(&d, "at exit");
	daemon_stop(&d);
	status_summary(&d, elapsed_ns, interrupted);
	if ((r = store_error(d.st)) && r != EPIPE) {
		log_error("cannot write results: %s", strerror(r));
		goto out;
	}
	rc = 0;
out:
	daemon_close(&d);
	config_release(&cfg);
	return rc;
}

#include "tools/lib/stopsig.h"

#include "common/log.h"

volatile sig_atomic_t stopsig_stop;
static volatile sig_atomic_t hup;
static const char *prog = "";

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		hup = 1;
	else
		stopsig_stop = 1;
}

void stopsig_install(const char *program)
{
	prog = program;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
}

void stopsig_hup(void)
{
	if (!hup)
		return;
	hup = 0;
	log_warn("SIGHUP: %s does not reload; restart it to apply a changed configuration (systemctl restart %s)",
		 prog, prog);
}

/* synwatch-alert's configuration (-c alert.yaml): where to read events,
 * the channels alerts go out on, the routes that pick channels by labels,
 * and the noise controls. Read with common/yconf.h, so every error is one
 * line "FILE:LINE:COL: ...". docs/alerting.md is the user's reference,
 * etc/alert.example.yaml an example. Built once by main; read-only after. */
#ifndef SW_ALERT_CONFIG_H
#define SW_ALERT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/lib/matcher.h"

#define ALERT_DEFAULT_REDIS "unix:///run/synwatch/redis.sock"
#define ALERT_DEFAULT_GROUP "alerters"
#define ALERT_DEFAULT_QUORUM_LOCATION "global"
#define ALERT_DEFAULT_TELEGRAM "https://api.telegram.org"
#define ALERT_DEFAULT_GROUP_WAIT_NS (10LL * 1000000000LL)
#define ALERT_DEFAULT_REMINDER_NS (4LL * 3600 * 1000000000LL)
#define ALERT_DEFAULT_HOST_SETTLE_NS (60LL * 1000000000LL)
#define ALERT_DEFAULT_CLAIM_IDLE_NS (300LL * 1000000000LL)
#define ALERT_DEFAULT_TIMEOUT_NS (10LL * 1000000000LL)
#define ALERT_DEFAULT_RETRIES 5
#define ALERT_DEFAULT_BACKOFF_NS (1000000000LL)
#define ALERT_DEFAULT_MAX_BACKOFF_NS (60LL * 1000000000LL)
#define ALERT_MAX_CHANNELS 64

enum alert_channel_kind {
	ALERT_WEBHOOK,
	ALERT_TELEGRAM,
	ALERT_EMAIL,
};

enum alert_starttls {
	ALERT_STARTTLS_TRY,    /* use it when the server offers it */
	ALERT_STARTTLS_ALWAYS, /* refuse to send without it */
	ALERT_STARTTLS_NEVER,
};

struct alert_header {
	char *name, *value;
};

struct alert_channel {
	char *name;                   /* unique */
	char *type;                   /* "webhook", "telegram", "email" */
	enum alert_channel_kind kind;
	bool send_resolved;           /* also tell when it is over (default true) */
	/* webhook */
	char *url;                    /* http:// or https:// */
	struct alert_header *headers;
	size_t n_headers;
	char *hmac_secret;            /* NULL: unsigned */
	/* telegram */
	char *bot_token, *chat_id;
	char *api_base;               /* default ALERT_DEFAULT_TELEGRAM */
	/* email */
	char *smtp_url;               /* smtp:// (STARTTLS per starttls) or smtps:// */
	char *starttls_text;
	enum alert_starttls starttls;
	char *user, *password;        /* NULL: no AUTH */
	char *from;
	char **to;
	size_t n_to;
};

struct alert_route {
	struct matcher *match;        /* all must hold; none: every event */
	size_t n_match;
	char **channel_names;         /* as written */
	size_t n_channel_names;
	size_t *channels;             /* indexes into alert_config.channels, no repeats */
	size_t n_channels;
	bool cont;                    /* `continue: true`: keep matching the routes below */
};

struct alert_config {
	char *path;
	char *redis_url;              /* default ALERT_DEFAULT_REDIS */
	char *redis_prefix;           /* default "synwatch:" */
	char *consumer_group;         /* default ALERT_DEFAULT_GROUP */
	int64_t group_wait_ns;        /* hold a new alert this long: its host's or other locations'
	                                 events join it */
	int64_t reminder_ns;          /* repeat while it lasts (0: never) */
	int64_t host_settle_ns;       /* port alerts held by a host outage wait this long after the host
	                                 is back before they are told */
	int64_t claim_idle_ns;        /* take over another alerter's entries idle this long */
	bool quorum;                  /* alert on quorum_location's state alone (synwatch-quorum) */
	char *quorum_location;        /* default ALERT_DEFAULT_QUORUM_LOCATION */
	int64_t timeout_ns;           /* per delivery attempt */
	uint32_t retries;             /* attempts after the first */
	int64_t backoff_ns, max_backoff_ns;
	struct alert_channel *channels;
	size_t n_channels;
	struct alert_route *routes;
	size_t n_routes;
};

/* Parses len bytes of YAML (no NUL needed); path names it in messages
 * (NULL: "<memory>"). Returns 0 and fills *out (release with
 * alert_config_release), or -EINVAL / -ENOMEM with one line
 * "PATH:LINE:COL: ..." in err; *out is zeroed then. */
int alert_config_parse(struct alert_config *out, const char *text, size_t len, const char *path, char *err,
		       size_t errlen);
/* Reads the file and parses it ("cannot open 'PATH': ..." on I/O errors). */
int alert_config_load(struct alert_config *out, const char *path, char *err, size_t errlen);
void alert_config_release(struct alert_config *c); /* zeroed or released configs are fine */

/* The index of the channel named name, or -1. */
int alert_config_channel(const struct alert_config *c, const char *name);

#endif

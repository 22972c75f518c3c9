/* synwatch-alert's YAML configuration (tools/alert/alert-config.h), read with the
 * tables of common/yconf.h. A channel is one mapping whatever its type, so
 * that unknown keys get the same "did you mean"; which keys a type needs
 * and which belong to another type is checked once the mapping is read,
 * pointing at the key at fault. Routes name channels that may stand below
 * them in the file: both lists are built once the top level is read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "common/clock.h"
#include "common/yconf.h"
#include "tools/alert/alert-config.h"
#include "tools/lib/fleetview.h"
#include "store/schema.h"

/* A configuration is a few kilobytes. */
#define ALERT_CONFIG_MAX_BYTES (1 << 20)
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
/* RFC 9110 token characters, for header names */
#define TOKEN_CHARS "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define ONE_DAY (24 * 3600 * NSEC_PER_SEC)

#define BIT YCONF_BIT
#define AT YCONF_AT
#define TABLE YCONF_TABLE
#define QUOTE YCONF_QUOTE

enum {
	A_REDIS, A_PREFIX, A_GROUP, A_GROUP_WAIT, A_REMINDER, A_HOST_SETTLE, A_CLAIM_IDLE, A_DELIVERY,
	A_TIMEOUT, A_RETRIES, A_BACKOFF, A_MAX_BACKOFF, A_CHANNELS, A_ROUTES, A_QUORUM, A_QUORUM_LOCATION,
};

enum {
	C_NAME, C_TYPE, C_SEND_RESOLVED, C_URL, C_HEADERS, C_HMAC, C_BOT_TOKEN, C_CHAT_ID, C_API_BASE,
	C_SMTP_URL, C_STARTTLS, C_USER, C_PASSWORD, C_FROM, C_TO,
};

enum { R_MATCH, R_CHANNELS, R_CONTINUE };

/* The top level as it is read: the lists wait for the whole mapping. */
struct top {
	struct alert_config c;
	yaml_node_t *channels, *routes;
	yaml_mark_t channels_mark, routes_mark;
};

/* ---- value checks ---- */

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int check_name(const char *s, char *msg, size_t len)
{
	if (strlen(s) > 64 || s[strspn(s, NAME_CHARS)])
		return yconf_msg(msg, len,
				 "expected letters, digits, '_', '.' or '-' (at most 64), like ops-webhook");
	return 0;
}

static int check_prefix(const char *s, char *msg, size_t len)
{
	return schema_check_prefix(s, msg, len) < 0 ? -EINVAL : 0;
}

static bool starts_with(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static int check_url_scheme(const char *s, const char *a, const char *b, char *msg, size_t len)
{
	if ((!starts_with(s, a) && !starts_with(s, b)) || has_control(s) || strchr(s, ' '))
		return yconf_msg(msg, len, "expected a URL starting with %s or %s, without spaces", a, b);
	return 0;
}

static int check_http_url(const char *s, char *msg, size_t len)
{
	return check_url_scheme(s, "http://", "https://", msg, len);
}

static int check_smtp_url(const char *s, char *msg, size_t len)
{
	return check_url_scheme(s, "smtp://", "smtps://", msg, len);
}

/* Text that goes into a URL path or a header: one line, no spaces. */
static int check_token(const char *s, char *msg, size_t len)
{
	if (has_control(s) || strpbrk(s, " /?#"))
		return yconf_msg(msg, len, "expected one word without spaces, '/', '?' or '#'");
	return 0;
}

static int check_line(const char *s, char *msg, size_t len)
{
	if (has_control(s))
		return yconf_msg(msg, len, "expected one line of text");
	return 0;
}

/* An address as SMTP's MAIL FROM / RCPT TO take it: no angle brackets,
 * spaces or line breaks that would change the command. */
static int check_mailbox(const char *s, char *msg, size_t len)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || !at[1] || strchr(at + 1, '@') || strpbrk(s, "<>\" ,;") || has_control(s))
		return yconf_msg(msg, len, "expected an address like oncall@example.test");
	return 0;
}

static int check_group(const char *s, char *msg, size_t len)
{
	if (strlen(s) > 64 || s[strspn(s, NAME_CHARS ":")])
		return yconf_msg(msg, len, "expected letters, digits, '_', '.', ':' or '-' (at most 64)");
	return 0;
}

static int check_location(const char *s, char *msg, size_t len)
{
	if (!schema_location_ok(s, strlen(s)))
		return yconf_msg(msg, len, "expected a location name (letters, digits, '_', '.', '-')");
	return 0;
}

/* ---- readers of their own ---- */

static void free_headers(struct alert_header *h, size_t n)
{
	for (size_t i = 0; i < n && h; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

static int parse_headers(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
			 struct yconf_scope *s)
{
	struct alert_channel *ch = base;
	size_t cap;

	(void)s;
	if (v->type != YAML_MAPPING_NODE)
		return yconf_wrong_type(p, v, f->key, f->what);
	cap = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
	/* owned by the channel at once, so that any error below frees it */
	if (!(ch->headers = calloc(cap ? cap : 1, sizeof(*ch->headers))))
		return yconf_nomem(p);
	for (size_t i = 0; i < cap; i++) {
		yaml_node_pair_t *pair = &v->data.mapping.pairs.start[i];
		yaml_node_t *k = yconf_node(p, pair->key), *val = yconf_node(p, pair->value);
		const char *name, *value;
		int r;

		if ((r = yconf_want_text(p, k, f->key, "a header name", &name)) < 0)
			return r;
		if (name[strspn(name, TOKEN_CHARS)])
			return yconf_fail(p, k->start_mark, "header name '" QUOTE "': expected %s", name,
					  "letters, digits and - (like X-Team)");
		for (size_t j = 0; j < ch->n_headers; j++)
			if (strcasecmp(ch->headers[j].name, name) == 0)
				return yconf_fail(p, k->start_mark, "duplicate header '" QUOTE "'", name);
		if ((r = yconf_want_text(p, val, name, "a header value", &value)) < 0)
			return r;
		if (has_control(value))
			return yconf_fail(p, val->start_mark, "header '%s': expected one line of text", name);
		ch->headers[i].name = strdup(name);
		ch->headers[i].value = strdup(value);
		ch->n_headers++;
		if (!ch->headers[i].name || !ch->headers[i].value)
			return yconf_nomem(p);
	}
	return 0;
}

/* A list of matcher texts (or one), each parsed where it stands. */
static int parse_match(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
		       struct yconf_scope *s)
{
	struct alert_route *rt = base;
	yaml_node_item_t lone, *items;
	size_t n;

	(void)s;
	if (v->type == YAML_MAPPING_NODE)
		return yconf_wrong_type(p, v, f->key, f->what);
	n = yconf_items(p, v, &lone, &items);
	if (!(rt->match = calloc(n ? n : 1, sizeof(*rt->match))))
		return yconf_nomem(p);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *it = yconf_node(p, items[i]);
		char msg[256];
		const char *t;
		int r;

		if ((r = yconf_want_text(p, it, f->key, f->what, &t)) < 0)
			return r;
		if ((r = matcher_parse(&rt->match[i], t, msg, sizeof(msg))) < 0)
			return r == -ENOMEM ? yconf_nomem(p) : yconf_fail(p, it->start_mark, "%s", msg);
		rt->n_match++;
	}
	return 0;
}

static int parse_list_node(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
			   struct yconf_scope *s)
{
	(void)s;
	if (v->type != YAML_SEQUENCE_NODE)
		return yconf_wrong_type(p, v, f->key, f->what);
	if (v->data.sequence.items.top == v->data.sequence.items.start)
		return yconf_fail(p, v->start_mark, "%s: expected at least one, got an empty list", f->key);
	memcpy((char *)base + f->off, &v, sizeof(v));
	return 0;
}

/* ---- tables ---- */

static const char *const type_names[] = { "webhook", "telegram", "email", NULL };
static const char *const starttls_names[] = { "try", "always", "never", NULL };

#define CH(member) AT(struct alert_channel, member)
static const struct yconf_field channel_fields[] = {
	{ .key = "name", .parse = yconf_str, CH(name), .bit = C_NAME, .check = check_name,
	  .what = "a channel name, like ops-webhook" },
	{ .key = "type", .parse = yconf_str, CH(type), .bit = C_TYPE, .choices = type_names,
	  .what = "webhook, telegram or email" },
	{ .key = "send_resolved", .parse = yconf_bool, CH(send_resolved), .bit = C_SEND_RESOLVED,
	  .what = "true or false" },
	{ .key = "url", .parse = yconf_str, CH(url), .bit = C_URL, .check = check_http_url,
	  .what = "a URL, like https://hooks.example.test/synwatch" },
	{ .key = "headers", .parse = parse_headers, .bit = C_HEADERS,
	  .what = "a mapping of header names to values, like { X-Team: ops }" },
	{ .key = "hmac_secret", .parse = yconf_str, CH(hmac_secret), .bit = C_HMAC, .check = check_line,
	  .what = "a secret shared with the receiver" },
	{ .key = "bot_token", .parse = yconf_str, CH(bot_token), .bit = C_BOT_TOKEN, .check = check_token,
	  .what = "the bot's token, like 123456:ABC-DEF" },
	{ .key = "chat_id", .parse = yconf_str, CH(chat_id), .bit = C_CHAT_ID, .check = check_token,
	  .what = "a chat id, like -1001234567890 or @channel" },
	{ .key = "api_base", .parse = yconf_str, CH(api_base), .bit = C_API_BASE, .check = check_http_url,
	  .what = "the Bot API's URL, like https://api.telegram.org" },
	{ .key = "smtp_url", .parse = yconf_str, CH(smtp_url), .bit = C_SMTP_URL, .check = check_smtp_url,
	  .what = "an SMTP server, like smtp://mail.example.test:587 or smtps://mail.example.test" },
	{ .key = "starttls", .parse = yconf_str, CH(starttls_text), .bit = C_STARTTLS,
	  .choices = starttls_names, .what = "try, always or never" },
	{ .key = "user", .parse = yconf_str, CH(user), .bit = C_USER, .check = check_line,
	  .what = "a user name for SMTP AUTH" },
	{ .key = "password", .parse = yconf_str, CH(password), .bit = C_PASSWORD, .check = check_line,
	  .what = "a password for SMTP AUTH" },
	{ .key = "from", .parse = yconf_str, CH(from), .bit = C_FROM, .check = check_mailbox,
	  .what = "a sender address, like synwatch@alerts.example.test" },
	{ .key = "to", .parse = yconf_strlist, CH(to), .off_n = offsetof(struct alert_channel, n_to),
	  .bit = C_TO, .check = check_mailbox, .what = "a list of addresses, like [oncall@example.test]" },
};
static const struct yconf_table channel_table = TABLE(channel_fields);
#undef CH

/* What each type needs and takes, besides name, type and send_resolved. */
#define WEBHOOK_NEEDS BIT(C_URL)
#define TELEGRAM_NEEDS (BIT(C_BOT_TOKEN) | BIT(C_CHAT_ID))
#define EMAIL_NEEDS (BIT(C_SMTP_URL) | BIT(C_FROM) | BIT(C_TO))
static const struct {
	uint32_t need, take;
} kind_keys[] = {
	[ALERT_WEBHOOK] = { WEBHOOK_NEEDS, WEBHOOK_NEEDS | BIT(C_HEADERS) | BIT(C_HMAC) },
	[ALERT_TELEGRAM] = { TELEGRAM_NEEDS, TELEGRAM_NEEDS | BIT(C_API_BASE) },
	[ALERT_EMAIL] = { EMAIL_NEEDS, EMAIL_NEEDS | BIT(C_STARTTLS) | BIT(C_USER) | BIT(C_PASSWORD) },
};
#define COMMON_KEYS (BIT(C_NAME) | BIT(C_TYPE) | BIT(C_SEND_RESOLVED))

#define RT(member) AT(struct alert_route, member)
static const struct yconf_field route_fields[] = {
	{ .key = "match", .parse = parse_match, .bit = R_MATCH,
	  .what = "a list of matchers, like [team=dba, criticality!=low]" },
	{ .key = "channels", .parse = yconf_strlist, RT(channel_names),
	  .off_n = offsetof(struct alert_route, n_channel_names), .bit = R_CHANNELS, .check = check_name,
	  .what = "a list of channel names" },
	{ .key = "continue", .parse = yconf_bool, RT(cont), .bit = R_CONTINUE, .what = "true or false" },
};
static const struct yconf_table route_table = TABLE(route_fields);
#undef RT

#define TOP(member) AT(struct top, c.member)
static const struct yconf_field delivery_fields[] = {
	{ .key = "timeout", .parse = yconf_duration, TOP(timeout_ns), .bit = A_TIMEOUT,
	  .min = 100 * NSEC_PER_MSEC, .max = 300 * NSEC_PER_SEC, .what = "a duration like 10s" },
	{ .key = "retries", .parse = yconf_uint, TOP(retries), .bit = A_RETRIES, .max = 20,
	  .what = "a number of retries, 0-20" },
	{ .key = "backoff", .parse = yconf_duration, TOP(backoff_ns), .bit = A_BACKOFF,
	  .min = 10 * NSEC_PER_MSEC, .max = 600 * NSEC_PER_SEC,
	  .what = "a duration like 1s: the wait before the first retry, doubled after each" },
	{ .key = "max_backoff", .parse = yconf_duration, TOP(max_backoff_ns), .bit = A_MAX_BACKOFF,
	  .min = 10 * NSEC_PER_MSEC, .max = 3600 * NSEC_PER_SEC, .what = "a duration like 1m" },
};
static const struct yconf_table delivery_table = TABLE(delivery_fields);

static const struct yconf_field top_fields[] = {
	{ .key = "redis", .parse = yconf_str, TOP(redis_url), .bit = A_REDIS, .check = check_line,
	  .what = "a Redis URL, like unix:///run/synwatch/redis.sock" },
	{ .key = "redis_prefix", .parse = yconf_str, TOP(redis_prefix), .bit = A_PREFIX,
	  .check = check_prefix, .what = "a key prefix, like \"synwatch:\"" },
	{ .key = "consumer_group", .parse = yconf_str, TOP(consumer_group), .bit = A_GROUP,
	  .check = check_group, .what = "a consumer group name, like alerters" },
	{ .key = "group_wait", .parse = yconf_duration, TOP(group_wait_ns), .bit = A_GROUP_WAIT,
	  .max = 600 * NSEC_PER_SEC, .what = "a duration like 10s (0: tell at once)" },
	{ .key = "reminder", .parse = yconf_duration, TOP(reminder_ns), .bit = A_REMINDER,
	  .max = 7 * ONE_DAY, .what = "a duration like 4h (0: no reminders)" },
	{ .key = "host_settle", .parse = yconf_duration, TOP(host_settle_ns), .bit = A_HOST_SETTLE,
	  .max = 3600 * NSEC_PER_SEC, .what = "a duration like 1m" },
	{ .key = "claim_idle", .parse = yconf_duration, TOP(claim_idle_ns), .bit = A_CLAIM_IDLE,
	  .min = 10 * NSEC_PER_SEC, .max = ONE_DAY, .what = "a duration like 5m" },
	{ .key = "quorum", .parse = yconf_bool, TOP(quorum), .bit = A_QUORUM,
	  .what = "true or false: alert on the global state synwatch-quorum writes (docs/quorum.md)" },
	{ .key = "quorum_location", .parse = yconf_str, TOP(quorum_location), .bit = A_QUORUM_LOCATION,
	  .check = check_location, .what = "the location name synwatch-quorum writes as, like global" },
	{ .key = "delivery", .parse = yconf_sub, .bit = A_DELIVERY, .sub = &delivery_table,
	  .what = "a mapping like { timeout: 10s, retries: 5, backoff: 1s, max_backoff: 1m }" },
	{ .key = "channels", .parse = parse_list_node, .off = offsetof(struct top, channels),
	  .bit = A_CHANNELS, .flags = YCONF_REQUIRED, .what = "a list of channels, each with a name and a type" },
	{ .key = "routes", .parse = parse_list_node, .off = offsetof(struct top, routes), .bit = A_ROUTES,
	  .flags = YCONF_REQUIRED, .what = "a list of routes, each with match and channels" },
};
static const struct yconf_table top_table = TABLE(top_fields);
#undef TOP

/* ---- building ---- */

static void channel_release(struct alert_channel *ch)
{
	free(ch->name);
	free(ch->type);
	free(ch->url);
	free_headers(ch->headers, ch->n_headers);
	free(ch->hmac_secret);
	free(ch->bot_token);
	free(ch->chat_id);
	free(ch->api_base);
	free(ch->smtp_url);
	free(ch->starttls_text);
	free(ch->user);
	free(ch->password);
	free(ch->from);
	yconf_free_strv(ch->to, ch->n_to);
}

static void route_release(struct alert_route *rt)
{
	matchers_free(rt->match, rt->n_match);
	yconf_free_strv(rt->channel_names, rt->n_channel_names);
	free(rt->channels);
}

static const char *key_list(uint32_t bits, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < channel_table.n; i++)
		if (bits & BIT(channel_fields[i].bit)) {
			int n =
			    snprintf(buf + used, len - used, "%s%s", used ? ", " : "", channel_fields[i].key);
			if (n > 0 && (size_t)n < len - used)
				used += (size_t)n;
		}
	return buf;
}

/* The type's needs, once the mapping is read. */
static int channel_check(struct yconf *p, yaml_node_t *v, struct alert_channel *ch,
			 const struct yconf_scope *s)
{
	char list[256];
	uint32_t need, take;

	if (!(s->set & BIT(C_NAME)))
		return yconf_fail(p, v->start_mark, "%s has no 'name': every channel needs a unique name",
				  s->owner);
	if (!(s->set & BIT(C_TYPE)))
		return yconf_fail(p, v->start_mark, "%s has no 'type': expected webhook, telegram or email",
				  s->owner);
	for (ch->kind = ALERT_WEBHOOK; strcmp(type_names[ch->kind], ch->type) != 0; ch->kind++)
		;
	need = kind_keys[ch->kind].need;
	take = kind_keys[ch->kind].take | COMMON_KEYS;
	for (size_t i = 0; i < channel_table.n; i++) {
		uint8_t b = channel_fields[i].bit;
		if ((s->set & BIT(b)) && !(take & BIT(b)))
			return yconf_fail(p, s->mark[b], "'%s' does not go with a %s channel (%s takes: %s)",
					  channel_fields[i].key, ch->type, s->owner,
					  key_list(take, list, sizeof(list)));
	}
	for (size_t i = 0; i < channel_table.n; i++) {
		uint8_t b = channel_fields[i].bit;
		if ((need & BIT(b)) && !(s->set & BIT(b)))
			return yconf_fail(p, v->start_mark, "%s has no '%s': a %s channel needs %s", s->owner,
					  channel_fields[i].key, ch->type,
					  key_list(need, list, sizeof(list)));
	}
	if (!!(s->set & BIT(C_USER)) != !!(s->set & BIT(C_PASSWORD)))
		return yconf_fail(p, s->mark[s->set & BIT(C_USER) ? C_USER : C_PASSWORD],
				  "%s: 'user' and 'password' go together (SMTP AUTH needs both)", s->owner);
	if (ch->kind == ALERT_TELEGRAM && !ch->api_base && !(ch->api_base = strdup(ALERT_DEFAULT_TELEGRAM)))
		return yconf_nomem(p);
	ch->starttls = ALERT_STARTTLS_TRY;
	for (int i = 0; ch->starttls_text && starttls_names[i]; i++)
		if (strcmp(starttls_names[i], ch->starttls_text) == 0)
			ch->starttls = (enum alert_starttls)i;
	return 0;
}

static int build_channels(struct yconf *p, struct top *t)
{
	yaml_node_t *seq = t->channels;
	size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	struct alert_config *c = &t->c;
	int r;

	if (n > ALERT_MAX_CHANNELS)
		return yconf_fail(p, seq->start_mark, "channels: at most %d", ALERT_MAX_CHANNELS);
	if (!(c->channels = calloc(n, sizeof(*c->channels))))
		return yconf_nomem(p);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *v = yconf_node(p, seq->data.sequence.items.start[i]);
		struct alert_channel *ch = &c->channels[c->n_channels++];
		char owner[YCONF_OWNER_MAX], where[YCONF_OWNER_MAX + 8];
		struct yconf_scope s = { .owner = owner };

		ch->send_resolved = true;
		if (v->type != YAML_MAPPING_NODE)
			return yconf_wrong_type(p, v, "channels",
						"a list of channels, each a mapping with name and type");
		snprintf(owner, sizeof(owner), "channel #%zu", i + 1);
		for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
		     pr++) {
			yaml_node_t *k = yconf_node(p, pr->key), *val = yconf_node(p, pr->value);
			if (k->type == YAML_SCALAR_NODE && strcmp(yconf_text(k), "name") == 0 &&
			    val->type == YAML_SCALAR_NODE && !yconf_is_null(val))
				snprintf(owner, sizeof(owner), "channel '%.64s'", yconf_text(val));
		}
		snprintf(where, sizeof(where), "in %s", owner);
		if ((r = yconf_map(p, v, &channel_table, ch, &s, where)) < 0)
			return r;
		if ((r = channel_check(p, v, ch, &s)) < 0)
			return r;
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->channels[j].name, ch->name) == 0)
				return yconf_fail(p, s.mark[C_NAME], "duplicate channel name '%s'", ch->name);
	}
	return 0;
}

static const char *channel_names(const struct alert_config *c, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < c->n_channels; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", c->channels[i].name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

static int build_route(struct yconf *p, struct alert_config *c, yaml_node_t *v, size_t i)
{
	struct alert_route *rt = &c->routes[i];
	char owner[32], where[48], names[512];
	struct yconf_scope s = { .owner = owner };
	int r;

	snprintf(owner, sizeof(owner), "route #%zu", i + 1);
	snprintf(where, sizeof(where), "in %s", owner);
	if (v->type != YAML_MAPPING_NODE)
		return yconf_wrong_type(p, v, "routes",
					"a list of routes, each a mapping with match and channels");
	if ((r = yconf_map(p, v, &route_table, rt, &s, where)) < 0)
		return r;
	if (rt->n_channel_names == 0)
		return yconf_fail(p, s.set & BIT(R_CHANNELS) ? s.mark[R_CHANNELS] : v->start_mark,
				  "%s has no channels: expected a list of channel names (%s)", owner,
				  channel_names(c, names, sizeof(names)));
	if (!(rt->channels = calloc(rt->n_channel_names, sizeof(*rt->channels))))
		return yconf_nomem(p);
	for (size_t k = 0; k < rt->n_channel_names; k++) {
		int ch = alert_config_channel(c, rt->channel_names[k]);
		if (ch < 0)
			return yconf_fail(p, s.mark[R_CHANNELS], "%s: unknown channel '%s' (channels: %s)",
					  owner, rt->channel_names[k],
					  channel_names(c, names, sizeof(names)));
		bool seen = false;
		for (size_t j = 0; j < rt->n_channels; j++)
			seen |= rt->channels[j] == (size_t)ch;
		if (!seen)
			rt->channels[rt->n_channels++] = (size_t)ch;
	}
	return 0;
}

static int build_routes(struct yconf *p, struct top *t)
{
	yaml_node_t *seq = t->routes;
	size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	int r;

	if (!(t->c.routes = calloc(n, sizeof(*t->c.routes))))
		return yconf_nomem(p);
	t->c.n_routes = n;
	for (size_t i = 0; i < n; i++)
		if ((r = build_route(p, &t->c, yconf_node(p, seq->data.sequence.items.start[i]), i)) < 0)
			return r;
	return 0;
}

static int set_defaults(struct alert_config *c)
{
	*c = (struct alert_config){
		.group_wait_ns = ALERT_DEFAULT_GROUP_WAIT_NS,
		.reminder_ns = ALERT_DEFAULT_REMINDER_NS,
		.host_settle_ns = ALERT_DEFAULT_HOST_SETTLE_NS,
		.claim_idle_ns = ALERT_DEFAULT_CLAIM_IDLE_NS,
		.timeout_ns = ALERT_DEFAULT_TIMEOUT_NS,
		.retries = ALERT_DEFAULT_RETRIES,
		.backoff_ns = ALERT_DEFAULT_BACKOFF_NS,
		.max_backoff_ns = ALERT_DEFAULT_MAX_BACKOFF_NS,
	};
	c->redis_url = strdup(ALERT_DEFAULT_REDIS);
	c->redis_prefix = strdup(SCHEMA_DEFAULT_PREFIX);
	c->consumer_group = strdup(ALERT_DEFAULT_GROUP);
	c->quorum_location = strdup(ALERT_DEFAULT_QUORUM_LOCATION);
	return c->redis_url && c->redis_prefix && c->consumer_group && c->quorum_location ? 0 : -ENOMEM;
}

static int build_top(struct yconf *p, yaml_node_t *root, void *ctx, struct yconf_scope *s)
{
	struct top *t = ctx;
	int r;

	(void)root;
	if (t->c.max_backoff_ns < t->c.backoff_ns)
		return yconf_fail(p, s->mark[s->set & BIT(A_MAX_BACKOFF) ? A_MAX_BACKOFF : A_BACKOFF],
				  "delivery: max_backoff is below backoff: expected backoff <= max_backoff");
	if ((r = build_channels(p, t)) < 0)
		return r;
	return build_routes(p, t);
}

static int begin_top(struct yconf *p, void *ctx)
{
	struct top *t = ctx;

	if (set_defaults(&t->c) < 0 || !(t->c.path = strdup(p->path)))
		return yconf_nomem(p);
	return 0;
}

static void release(void *c)
{
	alert_config_release(c);
}

static const struct yconf_format format = {
	.what = "at least 'channels' and 'routes'",
	.max = ALERT_CONFIG_MAX_BYTES,
	.out_size = sizeof(struct alert_config),
	.out_off = offsetof(struct top, c),
	.top = &top_table,
	.top_what = "a mapping of settings (redis, channels, routes...)",
	.begin = begin_top,
	.build = build_top,
	.release = release,
};

int alert_config_parse(struct alert_config *out, const char *text, size_t len, const char *path, char *err,
		       size_t errlen)
{
	struct top t = { 0 };

	return yconf_parse(&format, &t, out, text, len, path, err, errlen);
}

int alert_config_load(struct alert_config *out, const char *path, char *err, size_t errlen)
{
	struct top t = { 0 };

	return yconf_load(&format, &t, out, path, err, errlen);
}

void alert_config_release(struct alert_config *c)
{
	free(c->path);
	free(c->redis_url);
	free(c->redis_prefix);
	free(c->consumer_group);
	free(c->quorum_location);
	for (size_t i = 0; i < c->n_channels; i++)
		channel_release(&c->channels[i]);
	free(c->channels);
	for (size_t i = 0; i < c->n_routes; i++)
		route_release(&c->routes[i]);
	free(c->routes);
	memset(c, 0, sizeof(*c));
}

int alert_config_channel(const struct alert_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_channels; i++)
		if (strcmp(c->channels[i].name, name) == 0)
			return (int)i;
	return -1;
}

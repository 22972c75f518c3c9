/* Deliveries through libcurl's multi interface (tools/alert/alert-channel.h).
 * Each attempt gets a fresh easy handle: attempts are rare, and nothing of
 * a failed connection is carried into the next one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "common/clock.h"
#include "common/log.h"
#include "tools/alert/alert-channel.h"

#define USER_AGENT "synwatch-alert/1"
#define MAX_CONNECTIONS 16
/* enough of a reply body for an error message */
#define REPLY_MAX 512

struct delivery {
	struct delivery *next;
	struct alert_outbox *o;
	size_t ch;
	char *body;                /* what is sent: JSON or the whole e-mail */
	size_t len, read_at;       /* e-mail upload position */
	uint32_t attempts;         /* made so far */
	uint64_t due_ns;           /* monotonic: when the next attempt may start */
	CURL *easy;                /* the attempt in flight, or NULL */
	struct curl_slist *headers, *rcpt;
	char reply[REPLY_MAX + 1];
	size_t reply_len;
	char errbuf[CURL_ERROR_SIZE];
	alert_done_fn done;
	void *ctx;
};

struct alert_outbox {
	const struct alert_config *c;
	CURLM *multi;
	struct delivery *list;     /* every unfinished delivery */
	size_t n;
	struct alert_channel_stats *stats;
};

int64_t alert_backoff_ns(const struct alert_config *c, uint32_t n)
{
	int64_t b = c->backoff_ns;

	for (uint32_t i = 1; i < n && b < c->max_backoff_ns; i++)
		b *= 2;
	return b < c->max_backoff_ns ? b : c->max_backoff_ns;
}

int alert_outbox_new(struct alert_outbox **out, const struct alert_config *c)
{
	struct alert_outbox *o = calloc(1, sizeof(*o));

	if (!o || !(o->stats = calloc(c->n_channels ? c->n_channels : 1, sizeof(*o->stats))) ||
	    !(o->multi = curl_multi_init())) {
		if (o)
			free(o->stats);
		free(o);
		return -ENOMEM;
	}
	o->c = c;
	curl_multi_setopt(o->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)MAX_CONNECTIONS);
	*out = o;
	return 0;
}

static void attempt_release(struct delivery *d)
{
	if (d->easy) {
		curl_multi_remove_handle(d->o->multi, d->easy);
		curl_easy_cleanup(d->easy);
		d->easy = NULL;
	}
	curl_slist_free_all(d->headers);
	curl_slist_free_all(d->rcpt);
	d->headers = d->rcpt = NULL;
}

static void delivery_free(struct delivery *d)
{
	attempt_release(d);
	free(d->body);
	free(d);
}

void alert_outbox_clear(struct alert_outbox *o)
{
	for (struct delivery *d = o->list, *next; d; d = next) {
		next = d->next;
		delivery_free(d);
	}
	o->list = NULL;
	o->n = 0;
}

void alert_outbox_free(struct alert_outbox *o)
{
	if (!o)
		return;
	alert_outbox_clear(o);
	curl_multi_cleanup(o->multi);
	free(o->stats);
	free(o);
}

int alert_outbox_send(struct alert_outbox *o, size_t ch, const struct alert_letter *l, alert_done_fn done,
		      void *ctx)
{
	const struct alert_channel *c = &o->c->channels[ch];
	struct delivery *d = calloc(1, sizeof(*d));
	struct buf b = { 0 };

	if (!d)
		return -ENOMEM;
	switch (c->kind) {
	case ALERT_WEBHOOK:
		alert_format_webhook(&b, l->m, l->title, l->text);
		break;
	case ALERT_TELEGRAM:
		alert_format_telegram(&b, c->chat_id, l->text);
		break;
	case ALERT_EMAIL:
		alert_format_email(&b, c->from, c->to, c->n_to, l->title, l->text, l->m->now_ns, l->msg_id);
		break;
	}
	if (!(d->body = buf_steal(&b, &d->len))) {
		free(d);
		return -ENOMEM;
	}
	*d = (struct delivery){ .next = o->list, .o = o, .ch = ch, .body = d->body, .len = d->len,
				.due_ns = clock_mono_ns(), .done = done, .ctx = ctx };
	o->list = d;
	o->n++;
	return 0;
}

/* ---- one attempt ---- */

static size_t on_reply(char *p, size_t size, size_t n, void *ud)
{
	struct delivery *d = ud;
	size_t len = size * n, room = REPLY_MAX - d->reply_len;

	memcpy(d->reply + d->reply_len, p, len < room ? len : room);
	d->reply_len += len < room ? len : room;
	d->reply[d->reply_len] = '\0';
	return len;
}

static size_t on_upload(char *p, size_t size, size_t n, void *ud)
{
	struct delivery *d = ud;
	size_t room = size * n, left = d->len - d->read_at, k = left < room ? left : room;

	memcpy(p, d->body + d->read_at, k);
	d->read_at += k;
	return k;
}

/* "sha256=" and the HMAC-SHA256 of the body under the secret, in hex. */
static void signature(const char *secret, const char *body, size_t len, char out[7 + 2 * 32 + 1])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(out, "sha256=", 7);
	sodium_bin2hex(out + 7, 2 * sizeof(mac) + 1, mac, sizeof(mac));
}

static bool add_header(struct curl_slist **list, const char *name, const char *value)
{
	char line[2048];
	struct curl_slist *l;

	snprintf(line, sizeof(line), "%s: %s", name, value);
	if (!(l = curl_slist_append(*list, line)))
		return false;
	*list = l;
	return true;
}

static bool setup_http(struct delivery *d, const struct alert_channel *c)
{
	CURL *e = d->easy;
	char url[2048];
	bool ok = add_header(&d->headers, "Content-Type", "application/json") &&
		  add_header(&d->headers, "Expect", ""); /* no 100-continue round trip */

	if (c->kind == ALERT_TELEGRAM) {
		/* the token is part of the URL: it is never logged */
		snprintf(url, sizeof(url), "%s%sbot%s/sendMessage", c->api_base,
			 c->api_base[strlen(c->api_base) - 1] == '/' ? "" : "/", c->bot_token);
	} else {
		snprintf(url, sizeof(url), "%s", c->url);
		for (size_t i = 0; i < c->n_headers && ok; i++)
			ok = add_header(&d->headers, c->headers[i].name, c->headers[i].value);
		if (c->hmac_secret && ok) {
			char sig[7 + 2 * 32 + 1];
			signature(c->hmac_secret, d->body, d->len, sig);
			ok = add_header(&d->headers, "X-Synwatch-Signature", sig);
		}
	}
	return ok && curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK &&
	       curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
	       curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers) == CURLE_OK &&
	       curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body) == CURLE_OK &&
	       curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->len) == CURLE_OK &&
	       curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT) == CURLE_OK;
}

static bool setup_smtp(struct delivery *d, const struct alert_channel *c)
{
	static const long use_ssl[] = {
		[ALERT_STARTTLS_TRY] = CURLUSESSL_TRY,
		[ALERT_STARTTLS_ALWAYS] = CURLUSESSL_ALL,
		[ALERT_STARTTLS_NEVER] = CURLUSESSL_NONE,
	};
	CURL *e = d->easy;
	char addr[512];

	for (size_t i = 0; i < c->n_to; i++) {
		struct curl_slist *l;
		snprintf(addr, sizeof(addr), "<%s>", c->to[i]);
		if (!(l = curl_slist_append(d->rcpt, addr)))
			return false;
		d->rcpt = l;
	}
	snprintf(addr, sizeof(addr), "<%s>", c->from);
	d->read_at = 0;
	if (c->user && (curl_easy_setopt(e, CURLOPT_USERNAME, c->user) != CURLE_OK ||
			curl_easy_setopt(e, CURLOPT_PASSWORD, c->password) != CURLE_OK))
		return false;
	return curl_easy_setopt(e, CURLOPT_URL, c->smtp_url) == CURLE_OK &&
	       curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps") == CURLE_OK &&
	       curl_easy_setopt(e, CURLOPT_USE_SSL, use_ssl[c->starttls]) == CURLE_OK &&
	       curl_easy_setopt(e, CURLOPT_MAIL_FROM, addr) == CURLE_OK &&
	       curl_easy_setopt(e, CURLOPT_MAIL_RCPT, d->rcpt) == CURLE_OK &&
	       curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) == CURLE_OK &&
	       curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)d->len) == CURLE_OK &&
	       curl_easy_setopt(e, CURLOPT_READFUNCTION, on_upload) == CURLE_OK &&
	       curl_easy_setopt(e, CURLOPT_READDATA, d) == CURLE_OK;
}

static int attempt_start(struct delivery *d)
{
	const struct alert_config *cfg = d->o->c;
	const struct alert_channel *c = &cfg->channels[d->ch];
	long timeout_ms = (long)(cfg->timeout_ns / NSEC_PER_MSEC);
	bool ok;

	if (!(d->easy = curl_easy_init()))
		return -ENOMEM;
	d->reply_len = 0;
	d->reply[0] = d->errbuf[0] = '\0';
	ok = curl_easy_setopt(d->easy, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	     curl_easy_setopt(d->easy, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK &&
	     curl_easy_setopt(d->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) == CURLE_OK &&
	     curl_easy_setopt(d->easy, CURLOPT_ERRORBUFFER, d->errbuf) == CURLE_OK &&
	     curl_easy_setopt(d->easy, CURLOPT_WRITEFUNCTION, on_reply) == CURLE_OK &&
	     curl_easy_setopt(d->easy, CURLOPT_WRITEDATA, d) == CURLE_OK &&
	     curl_easy_setopt(d->easy, CURLOPT_PRIVATE, d) == CURLE_OK &&
	     (c->kind == ALERT_EMAIL ? setup_smtp(d, c) : setup_http(d, c)) &&
	     curl_multi_add_handle(d->o->multi, d->easy) == CURLM_OK;
	d->attempts++;
	if (!ok) {
		attempt_release(d);
		return -ENOMEM;
	}
	return 0;
}

/* ---- outcomes ---- */

enum outcome { DELIVERED, RETRY, GIVE_UP };

/* HTTP statuses worth another try: the receiver may get better. */
static bool http_transient(long code)
{
	return code == 408 || code == 425 || code == 429 || code >= 500;
}

/* Errors that another attempt will not fix. */
static bool curl_permanent(CURLcode rc)
{
	return rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_LOGIN_DENIED ||
	       rc == CURLE_USE_SSL_FAILED || rc == CURLE_NOT_BUILT_IN;
}

static enum outcome judge(struct delivery *d, CURLcode rc, char *why, size_t len)
{
	const struct alert_channel *c = &d->o->c->channels[d->ch];
	long code = 0;

	if (rc != CURLE_OK) {
		snprintf(why, len, "%.150s", d->errbuf[0] ? d->errbuf : curl_easy_strerror(rc));
		return curl_permanent(rc) ? GIVE_UP : RETRY;
	}
	if (c->kind == ALERT_EMAIL)
		return DELIVERED;
	curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300)
		return DELIVERED;
	/* the first line of the reply says why, often ("Bad Request: chat not found") */
	snprintf(why, len, "HTTP %ld%s%.100s", code, d->reply_len ? ": " : "", d->reply);
	for (char *p = why; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	return http_transient(code) ? RETRY : GIVE_UP;
}

static void unlink_delivery(struct alert_outbox *o, struct delivery *d)
{
	for (struct delivery **p = &o->list; *p; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			o->n--;
			return;
		}
}

static void finish(struct delivery *d, bool ok)
{
	struct alert_outbox *o = d->o;
	alert_done_fn done = d->done;
	void *ctx = d->ctx;
	size_t ch = d->ch;

	unlink_delivery(o, d);
	delivery_free(d);
	done(ctx, ch, ok);
}

static void on_finished(struct delivery *d, CURLcode rc)
{
	struct alert_outbox *o = d->o;
	const struct alert_config *cfg = o->c;
	const char *name = cfg->channels[d->ch].name;
	struct alert_channel_stats *st = &o->stats[d->ch];
	char why[sizeof(st->last_error)] = "";
	enum outcome how = judge(d, rc, why, sizeof(why));

	attempt_release(d);
	if (how == DELIVERED) {
		if (st->failing)
			log_info("channel '%s' works again after %u failed attempts", name, st->in_a_row);
		st->failing = false;
		st->in_a_row = 0;
		st->sent++;
		finish(d, true);
		return;
	}
	st->failed++;
	st->in_a_row++;
	snprintf(st->last_error, sizeof(st->last_error), "%s", why);
	if (!st->failing)
		log_warn("channel '%s' is failing: %s", name, why);
	st->failing = true;
	if (how == RETRY && d->attempts <= cfg->retries) {
		/* jitter keeps alerters that failed together from retrying together */
		int64_t wait = alert_backoff_ns(cfg, d->attempts);
		wait += (int64_t)randombytes_uniform(1000) * (wait / 10) / 1000;
		d->due_ns = clock_mono_ns() + (uint64_t)wait;
		log_debug("channel '%s': attempt %u failed (%s), next in %lld ms", name, d->attempts, why,
			  (long long)(wait / NSEC_PER_MSEC));
		return;
	}
	st->given_up++;
	log_error("channel '%s' is broken: gave up on a message after %u attempt%s: %s", name, d->attempts,
		  d->attempts == 1 ? "" : "s", why);
	finish(d, false);
}

/* Starts what is due; returns ms until the next waiting delivery is due
 * (INT32_MAX for none). */
static int start_due(struct alert_outbox *o)
{
	uint64_t now = clock_mono_ns();
	int64_t next = INT32_MAX;

	for (struct delivery *d = o->list, *nd; d; d = nd) {
		nd = d->next;
		if (d->easy)
			continue;
		if (d->due_ns > now) {
			int64_t ms = (int64_t)((d->due_ns - now) / NSEC_PER_MSEC) + 1;
			next = ms < next ? ms : next;
			continue;
		}
		if (attempt_start(d) < 0) {
			log_error("channel '%s': cannot start a delivery: out of memory",
				  o->c->channels[d->ch].name);
			o->stats[d->ch].given_up++;
			finish(d, false);
		}
	}
	return (int)next;
}

int alert_outbox_poll(struct alert_outbox *o, int fd, int timeout_ms)
{
	struct curl_waitfd extra = { .fd = fd, .events = CURL_WAIT_POLLIN };
	int running, numfds, next = start_due(o);
	CURLMsg *msg;

	if (next < timeout_ms)
		timeout_ms = next;
	if (curl_multi_poll(o->multi, fd >= 0 ? &extra : NULL, fd >= 0 ? 1 : 0, timeout_ms, &numfds) !=
		CURLM_OK ||
	    curl_multi_perform(o->multi, &running) != CURLM_OK)
		return -EIO;
	while ((msg = curl_multi_info_read(o->multi, &numfds))) {
		struct delivery *d;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&d);
		on_finished(d, msg->data.result);
	}
	return fd >= 0 && (extra.revents & CURL_WAIT_POLLIN) ? 1 : 0;
}

size_t alert_outbox_pending(const struct alert_outbox *o)
{
	return o->n;
}

const struct alert_channel_stats *alert_outbox_stats(const struct alert_outbox *o, size_t ch)
{
	return &o->stats[ch];
}

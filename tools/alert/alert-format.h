/* The words of an alert, for someone woken at 3 a.m.: what (name,
 * host:port, the service check), what happened ("refused", "timed out",
 * "unreachable (ICMP code 13, admin prohibited)", "p95 812 ms over 500 ms",
 * the check's own words: "FATAL: sorry, too many clients already",
 * "certificate expires in 9 days"), since when (local
 * time and "for 4m12s"), from where, the host rollup, and the all-clear
 * ("RESOLVED ... up again after 12m"). Then the same as a webhook's JSON
 * body and as an e-mail. Pure (the local time zone aside: TZ); any thread. */
#ifndef SW_ALERT_FORMAT_H
#define SW_ALERT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "tools/alert/alert-event.h"
#include "tools/lib/fleetview.h"

enum alert_status {
	ALERT_FIRING,   /* it started */
	ALERT_RESOLVED, /* it is over */
	ALERT_REMINDER, /* it still holds */
};

struct alert_msg {
	enum alert_status status;
	enum alert_class cls;             /* the condition: for RESOLVED, the one that ended */
	const struct alert_event *e;      /* the event that started it (FIRING, REMINDER) or ended it */
	const struct alert_event *first;  /* RESOLVED: the event that started it, or NULL (the end then
	                                     says less: "up again", not "the check passes") */
	int64_t now_ns;                   /* Unix ns: durations up to now, today's date */
	int64_t started_ns;               /* when the condition began (0: unknown) */
	const char *const *locations;     /* where it holds (or held), may be none */
	size_t n_locations;
	const char *host_ports;           /* ALERT_HOST: "22, 80, 5432", or NULL (the host's name is
	                                     the event's name, when its ports share one) */
	const char *note;                 /* one more line ("held while its host was down"), or NULL */
};

/* "4m12s", "12m", "1h4m", "3d2h", "45s": the two largest units, a zero
 * second one left out. Returns buf. */
const char *alert_duration_text(int64_t ns, char *buf, size_t len);

/* The headline, one line: "DOWN Production DB (198.18.1.9:5432): refused". */
void alert_format_title(struct buf *b, const struct alert_msg *m);
/* The headline and the details, lines joined by '\n', no final newline. */
void alert_format_text(struct buf *b, const struct alert_msg *m);
/* The webhook body: a JSON object with every field of the event (labels as
 * an object), status, alert (the class), locations, title and text. */
void alert_format_webhook(struct buf *b, const struct alert_msg *m, const char *title, const char *text);
/* The Telegram Bot API sendMessage body for chat_id. */
void alert_format_telegram(struct buf *b, const char *chat_id, const char *text);
/* An RFC 5322 message (CRLF lines) with Subject title and body text;
 * msg_id is the Message-ID's left part (unique per message). */
void alert_format_email(struct buf *b, const char *from, char *const *to, size_t n_to, const char *title,
			const char *text, int64_t now_ns, const char *msg_id);

#endif

/* A service check's conversation, without sockets, clocks or allocation:
 * what to send, what the server's bytes mean, when to start TLS, and the
 * verdict. The checker (engine/checker.h) owns the connection and feeds the
 * dialog what arrives; a harness can feed it anything (tests/fuzz).
 *
 * The flow, for the checker:
 *   next = dialog_begin(d, spec, out)         after TCP (and, for the
 *                                             implicit-TLS kinds, TLS) is up
 *   loop:
 *     send out->len bytes of out, then out->len = 0
 *     DIALOG_MORE:     read, then next = dialog_data(d, buf, n, &used, out)
 *                      (the unused tail stays for the next call)
 *     DIALOG_STARTTLS: TLS handshake, then next = dialog_tls_up(d, out)
 *     DIALOG_DONE:     the verdict is final; send out (a polite QUIT...),
 *                      then close
 *   the server closed:  dialog_closed(d, pending, reset)
 *   the deadline:       dialog_timeout(d, ms, pending)
 * dialog_verdict(d) holds the verdict once DONE, after dialog_closed or
 * after dialog_timeout. */
#ifndef SW_DIALOG_H
#define SW_DIALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/check.h"

/* Bytes to send, in caller memory. DIALOG_OUT_MIN is enough for every
 * built-in conversation; a generic check's send: needs its own length. */
#define DIALOG_OUT_MIN 512
struct dialog_out {
	uint8_t *p;
	size_t len, cap;
};

enum dialog_next {
	DIALOG_MORE,     /* wait for the server's bytes */
	DIALOG_STARTTLS, /* start TLS on the connection, then dialog_tls_up */
	DIALOG_DONE,     /* the verdict is final */
};

/* One conversation's state: fixed size, no pointers to free. */
struct dialog {
	const struct check_spec *spec;
	const char *name;     /* the target's name or address, for Host: and EHLO (may be NULL) */
	uint8_t kind;         /* enum check_kind */
	uint8_t step;         /* the protocol's own step */
	uint8_t tls;          /* the conversation runs inside TLS now */
	uint8_t offered;      /* the server offered STARTTLS */
	uint8_t done;
	uint32_t seen;        /* bytes the server sent so far */
	uint32_t lines;       /* lines of a multi-line reply so far */
	struct check_verdict v;
};

/* The longest line (or message) a dialog waits for: longer is a failure
 * ("a line of more than 4096 bytes"). The checker's receive buffer must
 * hold at least this much. */
#define DIALOG_LINE_MAX 4096

/* Starts the conversation; name (may be NULL) is the Host: text of the
 * target (its name or address, and the port where not the scheme's),
 * kept by pointer. */
enum dialog_next dialog_begin(struct dialog *d, const struct check_spec *spec, const char *name,
			      struct dialog_out *out);
/* n bytes arrived (with what was left unused before them); *used says how
 * many the dialog consumed. */
enum dialog_next dialog_data(struct dialog *d, const uint8_t *in, size_t n, size_t *used, struct dialog_out *out);
/* TLS is up (after DIALOG_STARTTLS). */
enum dialog_next dialog_tls_up(struct dialog *d, struct dialog_out *out);
/* The server closed the connection (reset: with a RST), `pending` bytes
 * after the last the dialog used. A dialog that is not done fails. */
void dialog_closed(struct dialog *d, size_t pending, bool reset);
/* The check's deadline passed after timeout_ms, with `pending` bytes the
 * dialog has not used. */
void dialog_timeout(struct dialog *d, int64_t timeout_ms, size_t pending);
const struct check_verdict *dialog_verdict(const struct dialog *d);

#endif

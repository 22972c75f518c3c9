/* Databases and caches: Redis (RESP), PostgreSQL (frontend/backend
 * protocol 3.0), MySQL (the initial handshake), MongoDB (OP_MSG hello),
 * memcached (the text protocol). */
#include <stdio.h>
#include <string.h>

#include "engine/dialog-internal.h"

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* ---- Redis ---- */

enum { REDIS_AUTH, REDIS_PING };

/* One RESP command of argc bulk strings. */
static bool resp_cmd(struct dialog *d, struct dialog_out *out, int argc, const char *const *argv, const size_t *lens)
{
	if (!dialog_printf(d, out, "*%d\r\n", argc))
		return false;
	for (int i = 0; i < argc; i++)
		if (!dialog_printf(d, out, "$%zu\r\n", lens[i]) || !dialog_put(d, out, argv[i], lens[i]) ||
		    !dialog_put(d, out, "\r\n", 2))
			return false;
	return true;
}

static bool redis_simple(struct dialog *d, struct dialog_out *out, const char *cmd)
{
	size_t len = strlen(cmd);
	return resp_cmd(d, out, 1, &cmd, &len);
}

static enum dialog_next redis_begin(struct dialog *d, struct dialog_out *out)
{
	const char *auth = d->spec->auth;

	if (auth) {
		/* "user:password" (ACL) or a password alone */
		const char *colon = strchr(auth, ':');
		const char *argv[3] = { "AUTH", auth, NULL };
		size_t lens[3] = { 4, strlen(auth), 0 };
		int argc = 2;
		if (colon) {
			argv[1] = auth;
			lens[1] = (size_t)(colon - auth);
			argv[2] = colon + 1;
			lens[2] = strlen(colon + 1);
			argc = 3;
		}
		d->step = REDIS_AUTH;
		if (!resp_cmd(d, out, argc, argv, lens))
			return DIALOG_DONE;
	} else {
		d->step = REDIS_PING;
	}
	/* pipelined: a server at maxclients answers with its error at once */
	return redis_simple(d, out, "PING") ? DIALOG_MORE : DIALOG_DONE;
}

static enum dialog_next redis_line(struct dialog *d, const uint8_t *in, size_t tl, struct dialog_out *out)
{
	if (tl == 0 || (in[0] != '+' && in[0] != '-' && in[0] != '$' && in[0] != '*' && in[0] != ':'))
		return dialog_fail_words(d, "not Redis", in, tl);
	if (in[0] == '-') {
		/* -NOAUTH without a password configured: the server works, it
		 * only asks for one; any other error is the server's verdict */
		if (!d->spec->auth && tl >= 7 && strncmp((const char *)in, "-NOAUTH", 7) == 0) {
			redis_simple(d, out, "QUIT");
			return dialog_ok(d, in + 1, tl - 1);
		}
		return dialog_fail_words(d, NULL, in + 1, tl - 1);
	}
	if (d->step == REDIS_AUTH) {
		d->step = REDIS_PING;
		return DIALOG_MORE;
	}
	if (tl == 5 && strncmp((const char *)in, "+PONG", 5) == 0) {
		redis_simple(d, out, "QUIT");
		return dialog_ok(d, in + 1, tl - 1);
	}
	return dialog_fail_words(d, "PING answered", in, tl);
}

static const char *const redis_waiting[] = { "reply to AUTH", "reply to PING", NULL };

const struct dialog_proto dialog_db_redis = { .begin = redis_begin, .line = redis_line, .waiting = redis_waiting };

/* ---- PostgreSQL ---- */

enum { PG_SSL, PG_STARTUP };

#define PG_SSLREQUEST 80877103u
#define PG_PROTOCOL_3 196608u

static enum dialog_next pg_startup(struct dialog *d, struct dialog_out *out)
{
	const char *user = d->spec->user ? d->spec->user : "synwatch";
	const char *db = d->spec->database ? d->spec->database : user;
	size_t start = out->len;
	uint8_t hdr[8];

	d->step = PG_STARTUP;
	put_be32(hdr + 4, PG_PROTOCOL_3);
	if (!dialog_put(d, out, hdr, 8) || !dialog_put(d, out, "user", 5) || !dialog_put(d, out, user, strlen(user) + 1) ||
	    !dialog_put(d, out, "database", 9) || !dialog_put(d, out, db, strlen(db) + 1) ||
	    !dialog_put(d, out, "application_name", 17) || !dialog_put(d, out, "synwatch", 9) ||
	    !dialog_put(d, out, "", 1))
		return DIALOG_DONE;
	put_be32(out->p + start, (uint32_t)(out->len - start));
	return DIALOG_MORE;
}

static enum dialog_next pg_begin(struct dialog *d, struct dialog_out *out)
{
	uint8_t req[8];

	if (d->spec->starttls == CHECK_STARTTLS_NEVER)
		return pg_startup(d, out);
	d->step = PG_SSL;
	put_be32(req, 8);
	put_be32(req + 4, PG_SSLREQUEST);
	return dialog_put(d, out, req, 8) ? DIALOG_MORE : DIALOG_DONE;
}

/* The fields of an ErrorResponse body: "FATAL: sorry, too many clients
 * already (53300)"; SQLSTATE into sqlstate (6 bytes). */
static void pg_error_text(const uint8_t *b, size_t n, char *text, size_t len, char *sqlstate)
{
	const char *sev = "ERROR", *msg = "";
	size_t sev_n = 5, msg_n = 0;

	sqlstate[0] = '\0';
	for (size_t i = 0; i < n && b[i];) {
		uint8_t f = b[i++];
		const uint8_t *v = b + i;
		const uint8_t *z = memchr(v, 0, n - i);
		size_t vl = z ? (size_t)(z - v) : n - i;
		if (f == 'S' || f == 'V') {
			sev = (const char *)v;
			sev_n = vl;
		} else if (f == 'M') {
			msg = (const char *)v;
			msg_n = vl;
		} else if (f == 'C' && vl == 5) {
			memcpy(sqlstate, v, 5);
			sqlstate[5] = '\0';
		}
		i += vl + 1;
	}
	snprintf(text, len, "%.*s: %.*s%s%s%s", (int)(sev_n > 16 ? 16 : sev_n), sev, (int)(msg_n > 300 ? 300 : msg_n), msg,
		 sqlstate[0] ? " (" : "", sqlstate, sqlstate[0] ? ")" : "");
}

/* SQLSTATE classes that say the server cannot serve: 53 insufficient
 * resources (too many clients), 57 operator intervention (starting up,
 * shutting down, in recovery: 57P03), 08 connection exception, XX
 * internal; the rest (28 authentication, 3D no such database...) come from
 * a server that works and judged our credentials. */
static bool pg_fatal_class(const char *sqlstate)
{
	return !sqlstate[0] || strncmp(sqlstate, "53", 2) == 0 || strncmp(sqlstate, "57", 2) == 0 ||
	       strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "XX", 2) == 0;
}

static const char *pg_auth_name(uint32_t code)
{
	switch (code) {
	case 0:
		return "authentication: ok (trust)";
	case 2:
		return "authentication: Kerberos V5";
	case 3:
		return "authentication: cleartext password";
	case 5:
		return "authentication: MD5 password";
	case 7:
		return "authentication: GSSAPI";
	case 9:
		return "authentication: SSPI";
	case 10:
		return "authentication: SASL";
	}
	return "authentication request";
}

static enum dialog_next pg_data(struct dialog *d, const uint8_t *in, size_t n, size_t *used, struct dialog_out *out)
{
	if (d->step == PG_SSL) {
		*used = 1;
		if (in[0] == 'S')
			return DIALOG_STARTTLS;
		if (in[0] == 'N') {
			if (d->spec->starttls == CHECK_STARTTLS_REQUIRED)
				return dialog_fail(d, "the server does not offer TLS (SSLRequest answered N)");
			return pg_startup(d, out);
		}
		if (in[0] != 'E') {
			char first[CHECK_TEXT_MAX + 1];
			check_text(first, in, n < 40 ? n : 40);
			return dialog_fail(d, "not PostgreSQL: '%s' in answer to SSLRequest", first);
		}
		*used = 0; /* an ErrorResponse before TLS (too many clients): read it below */
		d->step = PG_STARTUP;
	}
	if (n < 5)
		return DIALOG_MORE;
	uint8_t type = in[0];
	uint32_t len = be32(in + 1);
	if (len < 4 || len > DIALOG_LINE_MAX) {
		if (d->seen == 0 && len > DIALOG_LINE_MAX) {
			char first[CHECK_TEXT_MAX + 1];
			check_text(first, in, n < 40 ? n : 40);
			return dialog_fail(d, "not PostgreSQL: '%s'", first);
		}
		return dialog_fail(d, "a PostgreSQL message of %u bytes", len);
	}
	if (n < (size_t)len + 1)
		return DIALOG_MORE;
	*used = (size_t)len + 1;
	const uint8_t *body = in + 5;
	size_t bl = len - 4;
	switch (type) {
	case 'R': {
		uint32_t code = bl >= 4 ? be32(body) : 0xffffffffu;
		const char *what = pg_auth_name(code);
		/* the server would let us log in: Terminate, politely */
		uint8_t x[5] = { 'X', 0, 0, 0, 4 };
		dialog_put(d, out, x, 5);
		return dialog_ok(d, what, strlen(what));
	}
	case 'E': {
		char text[400], state[6];
		pg_error_text(body, bl, text, sizeof(text), state);
		if (pg_fatal_class(state))
			return dialog_fail_words(d, NULL, text, strlen(text));
		return dialog_ok(d, text, strlen(text));
	}
	case 'N': /* a notice: read on */
		return DIALOG_MORE;
	}
	return dialog_fail(d, "unexpected PostgreSQL message '%c' before authentication",
			   type >= 0x20 && type < 0x7f ? type : '?');
}

static enum dialog_next pg_tls_up(struct dialog *d, struct dialog_out *out)
{
	return pg_startup(d, out);
}

static const char *const pg_waiting[] = { "reply to SSLRequest", "reply to the startup message", NULL };

const struct dialog_proto dialog_db_postgres = {
	.begin = pg_begin, .data = pg_data, .tls_up = pg_tls_up, .waiting = pg_waiting,
};

/* ---- MySQL ---- */

static enum dialog_next mysql_begin(struct dialog *d, struct dialog_out *out)
{
	(void)d;
	(void)out;
	return DIALOG_MORE;
}

static enum dialog_next mysql_data(struct dialog *d, const uint8_t *in, size_t n, size_t *used,
				   struct dialog_out *out)
{
	(void)out;
	if (n < 4)
		return DIALOG_MORE;
	size_t len = (size_t)in[0] | (size_t)in[1] << 8 | (size_t)in[2] << 16;
	if (len == 0 || len > DIALOG_LINE_MAX) {
		char first[CHECK_TEXT_MAX + 1];
		check_text(first, in, n < 40 ? n : 40);
		return dialog_fail(d, "not MySQL: '%s'", first);
	}
	if (n < len + 4)
		return DIALOG_MORE;
	*used = len + 4;
	const uint8_t *p = in + 4;
	if (p[0] == 0xff) {
		/* ERR packet: code, '#' and SQLSTATE (optional), message */
		unsigned code = len >= 3 ? (unsigned)(p[1] | p[2] << 8) : 0;
		size_t off = 3;
		if (len >= 9 && p[3] == '#')
			off = 9;
		char text[320];
		int k = snprintf(text, sizeof(text), "%u: %.*s", code, (int)(len > off ? (len - off > 300 ? 300 : len - off) : 0),
				 (const char *)p + off);
		return dialog_fail_words(d, NULL, text, k < 0 ? 0 : (size_t)k);
	}
	if (p[0] != 10)
		return dialog_fail(d, "not MySQL: a greeting of protocol %u", p[0]);
	const uint8_t *z = memchr(p + 1, 0, len - 1);
	size_t vl = z ? (size_t)(z - p - 1) : len - 1;
	return dialog_ok(d, p + 1, vl);
}

static const char *const mysql_waiting[] = { "greeting", NULL };

const struct dialog_proto dialog_db_mysql = { .begin = mysql_begin, .data = mysql_data, .waiting = mysql_waiting };

/* ---- MongoDB ---- */

#define MONGO_OP_MSG 2013

/* {hello: 1, $db: "admin"} as BSON, in an OP_MSG with one body section */
static enum dialog_next mongo_begin(struct dialog *d, struct dialog_out *out)
{
	static const uint8_t doc[] = {
		/* int32 length, then elements, then 0 */
		0, 0, 0, 0,
		0x10, 'h', 'e', 'l', 'l', 'o', 0, 1, 0, 0, 0,       /* int32 hello: 1 */
		0x02, '$', 'd', 'b', 0, 6, 0, 0, 0, 'a', 'd', 'm', 'i', 'n', 0, /* string $db: "admin" */
		0,
	};
	uint8_t msg[16 + 4 + 1 + sizeof(doc)];

	put_le32(msg, sizeof(msg));
	put_le32(msg + 4, 1);  /* requestID */
	put_le32(msg + 8, 0);  /* responseTo */
	put_le32(msg + 12, MONGO_OP_MSG);
	put_le32(msg + 16, 0); /* flagBits */
	msg[20] = 0;           /* section kind 0: body */
	memcpy(msg + 21, doc, sizeof(doc));
	put_le32(msg + 21, sizeof(doc));
	return dialog_put(d, out, msg, sizeof(msg)) ? DIALOG_MORE : DIALOG_DONE;
}

/* The top-level element named name in a BSON document: its type and value. */
static bool bson_find(const uint8_t *doc, size_t n, const char *name, uint8_t *type, const uint8_t **val, size_t *vlen)
{
	size_t i = 4;

	if (n < 5 || le32(doc) > n)
		return false;
	n = le32(doc);
	while (i < n - 1) {
		uint8_t t = doc[i++];
		const uint8_t *z = memchr(doc + i, 0, n - i);
		if (!z)
			return false;
		const char *key = (const char *)doc + i;
		i = (size_t)(z - doc) + 1;
		size_t sz;
		switch (t) {
		case 0x01: /* double */
		case 0x09: /* datetime */
		case 0x11: /* timestamp */
		case 0x12: /* int64 */
			sz = 8;
			break;
		case 0x10: /* int32 */
			sz = 4;
			break;
		case 0x08: /* bool */
			sz = 1;
			break;
		case 0x0a: /* null */
			sz = 0;
			break;
		case 0x07: /* ObjectId */
			sz = 12;
			break;
		case 0x02: /* string: int32 length with its NUL */
			if (i + 4 > n)
				return false;
			sz = 4 + (size_t)le32(doc + i);
			break;
		case 0x03: /* document */
		case 0x04: /* array */
			if (i + 4 > n)
				return false;
			sz = le32(doc + i);
			break;
		case 0x05: /* binary: int32 length, subtype, bytes */
			if (i + 4 > n)
				return false;
			sz = 5 + (size_t)le32(doc + i);
			break;
		case 0x13: /* decimal128 */
			sz = 16;
			break;
		default:
			return false;
		}
		if (sz > n - i)
			return false;
		if (strcmp(key, name) == 0) {
			*type = t;
			*val = doc + i;
			*vlen = sz;
			return true;
		}
		i += sz;
	}
	return false;
}

static bool bson_truthy(uint8_t t, const uint8_t *v)
{
	switch (t) {
	case 0x01: {
		double x;
		uint64_t u = 0;
		for (int k = 7; k >= 0; k--)
			u = u << 8 | v[k];
		memcpy(&x, &u, 8);
		return x == 1.0;
	}
	case 0x10:
		return le32(v) == 1;
	case 0x12:
		return le32(v) == 1 && le32(v + 4) == 0;
	case 0x08:
		return v[0] == 1;
	}
	return false;
}

static enum dialog_next mongo_data(struct dialog *d, const uint8_t *in, size_t n, size_t *used,
				   struct dialog_out *out)
{
	(void)out;
	if (n < 4)
		return DIALOG_MORE;
	uint32_t len = le32(in);
	if (len < 21 || len > 64 * 1024) {
		char first[CHECK_TEXT_MAX + 1];
		check_text(first, in, n < 40 ? n : 40);
		return dialog_fail(d, "not MongoDB: '%s'", first);
	}
	if (len > DIALOG_LINE_MAX)
		return dialog_fail(d, "a MongoDB reply of %u bytes (more than %d)", len, DIALOG_LINE_MAX);
	if (n < len)
		return DIALOG_MORE;
	*used = len;
	if (le32(in + 12) != MONGO_OP_MSG || in[20] != 0)
		return dialog_fail(d, "not a MongoDB OP_MSG reply (opcode %u)", le32(in + 12));
	const uint8_t *doc = in + 21;
	size_t dn = len - 21;
	uint8_t t;
	const uint8_t *v;
	size_t vl;
	if (bson_find(doc, dn, "ok", &t, &v, &vl) && bson_truthy(t, v)) {
		char banner[64] = "hello: ok";
		if (bson_find(doc, dn, "maxWireVersion", &t, &v, &vl) && t == 0x10)
			snprintf(banner, sizeof(banner), "hello: ok, maxWireVersion %u", le32(v));
		return dialog_ok(d, banner, strlen(banner));
	}
	if (bson_find(doc, dn, "errmsg", &t, &v, &vl) && t == 0x02 && vl > 4)
		return dialog_fail_words(d, "hello failed", v + 4, vl - 5);
	return dialog_fail(d, "hello failed: no ok: 1 in the reply");
}

static const char *const mongo_waiting[] = { "reply to hello", NULL };

const struct dialog_proto dialog_db_mongodb = { .begin = mongo_begin, .data = mongo_data, .waiting = mongo_waiting };

/* ---- memcached ---- */

static enum dialog_next mc_begin(struct dialog *d, struct dialog_out *out)
{
	return dialog_printf(d, out, "version\r\n") ? DIALOG_MORE : DIALOG_DONE;
}

static enum dialog_next mc_line(struct dialog *d, const uint8_t *in, size_t tl, struct dialog_out *out)
{
	if (tl >= 8 && strncmp((const char *)in, "VERSION ", 8) == 0) {
		dialog_printf(d, out, "quit\r\n");
		return dialog_ok(d, in, tl);
	}
	if ((tl >= 12 && strncmp((const char *)in, "SERVER_ERROR", 12) == 0) ||
	    (tl >= 5 && strncmp((const char *)in, "ERROR", 5) == 0))
		return dialog_fail_words(d, NULL, in, tl);
	return dialog_fail_words(d, "not memcached", in, tl);
}

static const char *const mc_waiting[] = { "reply to version", NULL };

const struct dialog_proto dialog_db_memcached = { .begin = mc_begin, .line = mc_line, .waiting = mc_waiting };

/* The local state file (daemon/statefile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/yconf.h"
#include "daemon/statefile.h"
#include "store/redis-fmt.h"

#define STATEFILE_MAGIC "# synwatch states 1 "
/* 80 bytes a target at the most, for a few million targets */
#define STATEFILE_MAX (512u << 20)

int statefile_save(const char *path, const char *location, const struct table *t, const struct state_saved *saved)
{
	char tmp[4096], target[ADDR_STRLEN + 16], ip[ADDR_STRLEN];
	int n = 0, fd;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0 || !(f = fdopen(fd, "w"))) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		log_warn("cannot keep the states for the next start in '%s': %s", tmp, strerror(e));
		return -e;
	}
	fprintf(f, STATEFILE_MAGIC "%s\n", location);
	for (uint32_t id = 0; id < t->tl.n; id++) {
		const struct state_saved *s = &saved[id];
		if (t->dead[id] || s->state == TARGET_UNKNOWN)
			continue;
		rfmt_endpoint(&t->tl.v[id], target, ip, sizeof(ip));
		fprintf(f, "%s\t%s\t%lld\t%s\t%d\t%s\n", target, target_state_name((enum target_state)s->state),
			(long long)s->since_ns, state_reason_name((enum state_reason)s->reason),
			s->fail_streak ? -(int)s->fail_streak : (int)s->ok_streak, table_check_name(t, id));
		n++;
	}
	/* the old file stays whole until the new one is */
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || ferror(f)) {
		int e = errno ? errno : EIO;
		fclose(f);
		unlink(tmp);
		log_warn("cannot keep the states for the next start in '%s': %s", tmp, strerror(e));
		return -e;
	}
	fclose(f);
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		log_warn("cannot keep the states for the next start in '%s': %s", path, strerror(e));
		return -e;
	}
	return n;
}

struct line {
	const char *target;
	char *field[5]; /* state, since, reason, streak, check */
};

static int line_cmp(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->target, ((const struct line *)b)->target);
}

/* Cuts the lines of text (after the header) into lines; returns how many,
 * or -1 at a malformed one (its number in *bad). */
static long split(char *text, struct line *lines, long *bad)
{
	long n = 0, no = 1;

	for (char *p = text, *next; *p; p = next, no++) {
		char *end = strchr(p, '\n');
		next = end ? end + 1 : p + strlen(p);
		if (end)
			*end = '\0';
		if (!*p || *p == '#')
			continue;
		struct line *l = &lines[n];
		l->target = p;
		for (int k = 0; k < 5; k++) {
			char *tab = strchr(p, '\t');
			if (!tab) {
				*bad = no;
				return -1;
			}
			*tab = '\0';
			l->field[k] = p = tab + 1;
		}
		if (strchr(p, '\t')) {
			*bad = no;
			return -1;
		}
		n++;
	}
	return n;
}

int statefile_load(const char *path, const char *location, const struct table *t, struct state_saved *saved)
{
	char err[512], target[ADDR_STRLEN + 16], ip[ADDR_STRLEN], head[256];
	struct line *lines = NULL;
	size_t len, nl = 0;
	char *text;
	long n, bad = 0;
	int found = 0, r;

	if ((r = yconf_read_file(path, STATEFILE_MAX, &text, &len, err, sizeof(err))) < 0) {
		if (r == -ENOENT)
			return 0;
		log_warn("%s: every target starts unknown", err);
		return r;
	}
	char *z = realloc(text, len + 1);
	if (!z) {
		free(text);
		return -ENOMEM;
	}
	text = z;
	text[len] = '\0';
	snprintf(head, sizeof(head), STATEFILE_MAGIC "%s\n", location);
	if (strncmp(text, head, strlen(head)) != 0 || memchr(text, '\0', len)) {
		log_warn("'%s' is not this prober's state file (its first line is not '%.*s'): every target starts "
			 "unknown",
			 path, (int)strlen(head) - 1, head);
		free(text);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		nl += text[i] == '\n';
	if (!(lines = calloc(nl + 1, sizeof(*lines)))) {
		free(text);
		return -ENOMEM;
	}
	if ((n = split(text + strlen(head), lines, &bad)) < 0) {
		log_warn("state file '%s': line %ld is not TARGET, STATE, SINCE, REASON, STREAK, CHECK separated by "
			 "tabs: every target starts unknown",
			 path, bad + 1);
		free(lines);
		free(text);
		return -EINVAL;
	}
	qsort(lines, (size_t)n, sizeof(*lines), line_cmp);
	for (uint32_t id = 0; id < t->tl.n; id++) {
		if (t->dead[id])
			continue;
		struct line key = { .target = target };
		rfmt_endpoint(&t->tl.v[id], target, ip, sizeof(ip));
		const struct line *l = bsearch(&key, lines, (size_t)n, sizeof(*lines), line_cmp);
		/* a port measured with another service check (or none) starts afresh */
		if (l && strcmp(l->field[4], table_check_name(t, id)) == 0 &&
		    state_saved_parse(l->field[0], l->field[1], l->field[2], l->field[3], &saved[id]))
			found++;
	}
	free(lines);
	free(text);
	return found;
}

/* net.ipv4.ip_local_reserved_ports keeps the kernel from handing our source
 * ports to local programs as ephemeral ports (it applies to IPv6 too). The
 * setting is per network namespace and a write replaces the whole list, so
 * the current list is read, checked, and written back with our range added. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/reserve.h"

#define RESERVED_PORTS_PATH "/proc/sys/net/ipv4/ip_local_reserved_ports"
/* The kernel prints merged ranges; the worst case (every other port) is
 * 32768 entries of up to 6 bytes. */
#define RESERVED_MAX_LEN (32768 * 6 + 64)
#define PORT_BITS 65536

static int read_all(int fd, char *buf, size_t cap, size_t *len)
{
	size_t got = 0;

	for (;;) {
		if (got == cap)
			return -EFBIG;
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	/* A sysctl write longer than a page is consumed in parts, each
	 * ending at a whole number; the kernel ORs later parts in. */
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int parse_port(const char **p, unsigned *out)
{
	unsigned v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned)(*s - '0');
		if (v >= PORT_BITS)
			return -EINVAL;
		s++;
	}
	*p = s;
	*out = v;
	return 0;
}

/* "8080,61000-61999" into the bitmap. Anything unexpected is an error: we
 * would rather not reserve than write back a list we misread. */
static int parse_list(const char *s, uint8_t *bits)
{
	while (*s == ' ' || *s == '\t')
		s++;
	while (*s && *s != '\n') {
		unsigned a, b;
		int r = parse_port(&s, &a);
		if (r < 0)
			return r;
		b = a;
		if (*s == '-') {
			s++;
			if ((r = parse_port(&s, &b)) < 0)
				return r;
			if (b < a)
				return -EINVAL;
		}
		for (unsigned i = a; i <= b; i++)
			bits[i / 8] |= (uint8_t)(1u << (i % 8));
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == ',') {
			s++;
			while (*s == ' ' || *s == '\t')
				s++;
			if (!*s || *s == '\n')
				return -EINVAL;
		} else if (*s && *s != '\n') {
			return -EINVAL;
		}
	}
	if (*s == '\n')
		s++;
	return *s ? -EINVAL : 0;
}

int ports_reserve(uint16_t lo, uint16_t hi)
{
	char *old = NULL, *out = NULL;
	uint8_t *bits = NULL;
	size_t len = 0;
	int fd = -1, r;

	if (lo > hi)
		return -EINVAL;
	old = malloc(RESERVED_MAX_LEN + 1);
	out = malloc(RESERVED_MAX_LEN + 32);
	bits = calloc(PORT_BITS / 8, 1);
	if (!old || !out || !bits) {
		r = -ENOMEM;
		goto out;
	}
	fd = open(RESERVED_PORTS_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if ((r = read_all(fd, old, RESERVED_MAX_LEN, &len)) < 0)
		goto out;
	old[len] = '\0';
	close(fd);
	fd = -1;
	if (memchr(old, '\0', len)) {
		r = -EINVAL;
		goto out;
	}
	if ((r = parse_list(old, bits)) < 0)
		goto out;

	unsigned p;
	for (p = lo; p <= hi; p++)
		if (!(bits[p / 8] & (1u << (p % 8))))
			break;
	if (p > hi) {
		r = 0;
		goto out;
	}

	while (len && (old[len - 1] == '\n' || old[len - 1] == ' ' || old[len - 1] == '\t'))
		old[--len] = '\0';
	int n = snprintf(out, RESERVED_MAX_LEN + 32, "%s%s%u-%u\n", old, len ? "," : "", lo, hi);
	if (n < 0 || n >= RESERVED_MAX_LEN + 32) {
		r = -EOVERFLOW;
		goto out;
	}
	fd = open(RESERVED_PORTS_PATH, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if ((r = write_all(fd, out, (size_t)n)) < 0)
		goto out;
	r = 1;
out:
	if (fd >= 0)
		close(fd);
	free(old);
	free(out);
	free(bits);
	return r;
}

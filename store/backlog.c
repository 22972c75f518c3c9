/* The backlog: records formatted as Redis commands, waiting for the Redis
 * writer, in order. The store thread pushes a drained batch at a time and
 * the writer takes a transaction's worth at a time, each under one mutex
 * hold, so neither waits for the other beyond a copy.
 *
 * Memory holds the oldest records, in chunks, up to a limit; past it new
 * records go to the spill file, and keep going there until the writer has
 * drained the file, so that the order is memory, then file. At start the
 * file may hold records a previous run left: they are the oldest, so new
 * records go behind them in the file until it is drained.
 *
 * The file is a header and frames (struct bl_frame + payload), appended
 * without fsync: a crash of synwatch keeps them (the page cache survives a
 * process), a power loss may not. It is only ever written through the
 * descriptor opened at start, never renamed or created again, so that it
 * keeps working after the daemon dropped its privileges. At a stop, what
 * memory still holds is appended at the end although it is older than the
 * file's records: every record carries its sequence number, and a file
 * whose numbers do not ascend is read in their order (an index sorted when
 * it is opened). The header says where the records not yet written start;
 * records written already are sent again only after a crash, and Redis's
 * seq:PROBER tells the writer to skip them. */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "store/backlog.h"

#define CHUNK_SIZE (1u << 20)
#define FILE_HDR_LEN 32
#define FILE_READ_MIN (256u << 10)
#define STAGE_MIN (64u << 10)

/* The spill file's first bytes. */
struct file_hdr {
	char magic[16];  /* FILE_MAGIC */
	uint64_t start;  /* where the records not known to be in Redis begin */
	uint64_t pad;
};

#define FILE_MAGIC "synwatch spill1\n"

struct chunk {
	struct chunk *next;
	size_t cap;  /* bytes of data */
	size_t wpos; /* the producer writes here */
	size_t rpos; /* the consumer reads here */
	char data[];
};

/* A record of a file whose sequence numbers do not ascend. */
struct old_frame {
	uint64_t seq;
	uint64_t off;
	uint32_t len; /* with its header */
};

struct backlog {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool waiting;           /* the consumer sleeps in backlog_take */
	bool woken;
	char *path;
	int fd;
	struct chunk *head, *tail, *spare;
	bool shrunk;             /* chunks were freed since the last trim */
	size_t mem_bytes, mem_limit;
	uint64_t mem_records;
	/* the file: records of [old_pos, n_old) first (in seq order), then [roff, woff) */
	uint64_t start;         /* in the header */
	uint64_t roff, woff;
	struct old_frame *old;
	size_t n_old, old_pos;
	uint64_t file_records;
	uint64_t next_seq, lost, replay;
	uint64_t file_limit, dropped;
	bool write_failed;      /* logged once until a write works again */
	bool at_limit;          /* logged once until the file is drained */
};

/* ---- the producer's staging buffer ---- */

int bl_stage_reserve(struct bl_stage *s, size_t more)
{
	size_t cap = s->cap ? s->cap : STAGE_MIN;
	char *p;

	if (s->cap - s->len >= more)
		return 0;
	while (cap - s->len < more) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	if (!(p = realloc(s->buf, cap)))
		return -ENOMEM;
	s->buf = p;
	s->cap = cap;
	return 0;
}

int bl_stage_begin(struct bl_stage *s)
{
	int r = bl_stage_reserve(s, sizeof(struct bl_frame) + 1024);

	if (r < 0)
		return r;
	s->open = s->len;
	s->opened = true;
	s->len += sizeof(struct bl_frame);
	return 0;
}

void bl_stage_end(struct bl_stage *s, unsigned ncmds, enum bl_kind kind)
{
	struct bl_frame h = {
		.magic = BL_MAGIC,
		.len = (uint32_t)(s->len - s->open - sizeof(h)),
		.ncmds = (uint16_t)ncmds,
		.kind = (uint16_t)kind,
	};

	if (!s->opened)
		return;
	s->opened = false;
	if (ncmds == 0 || s->len - s->open - sizeof(h) > BL_FRAME_MAX) {
		s->len = s->open;
		return;
	}
	memcpy(s->buf + s->open, &h, sizeof(h));
	s->n++;
}

void bl_stage_cancel(struct bl_stage *s)
{
	if (s->opened)
		s->len = s->open;
	s->opened = false;
}

void bl_stage_clear(struct bl_stage *s)
{
	s->len = 0;
	s->n = 0;
	s->opened = false;
}

void bl_stage_release(struct bl_stage *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* ---- the consumer's batch ---- */

void bl_batch_clear(struct bl_batch *b)
{
	b->len = 0;
	b->n = 0;
	b->first = 0;
}

void bl_batch_release(struct bl_batch *b)
{
	free(b->data);
	free(b->items);
	free(b->scratch);
	memset(b, 0, sizeof(*b));
}

void bl_batch_skip_upto(struct bl_batch *b, uint64_t upto)
{
	while (b->first < b->n && b->items[b->first].seq <= upto)
		b->first++;
}

size_t bl_batch_count(const struct bl_batch *b)
{
	return b->n - b->first;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem, size_t min)
{
	size_t c = *cap ? *cap : min;
	void *np;

	if (need <= *cap)
		return 0;
	while (c < need) {
		if (c > SIZE_MAX / 2 / elem)
			return -ENOMEM;
		c *= 2;
	}
	if (!(np = realloc(*p, c * elem)))
		return -ENOMEM;
	*p = np;
	*cap = c;
	return 0;
}

static int batch_add(struct bl_batch *b, const struct bl_frame *h, const char *payload)
{
	if (grow((void **)&b->data, &b->cap, b->len + h->len, 1, STAGE_MIN) < 0 ||
	    grow((void **)&b->items, &b->items_cap, b->n + 1, sizeof(*b->items), 256) < 0)
		return -ENOMEM;
	b->items[b->n++] = (struct bl_item){
		.seq = h->seq, .off = (uint32_t)b->len, .len = h->len, .ncmds = h->ncmds, .kind = h->kind,
	};
	memcpy(b->data + b->len, payload, h->len);
	b->len += h->len;
	return 0;
}

/* ---- opening: what a previous run left ---- */

static bool frame_valid(const struct bl_frame *h)
{
	return h->magic == BL_MAGIC && h->len <= BL_FRAME_MAX && h->ncmds > 0 && h->seq > 0;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (int)(done == len ? 0 : -EIO);
}

static int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

static int write_hdr(struct backlog *bl, uint64_t start)
{
	struct file_hdr h = { .start = start };

	memcpy(h.magic, FILE_MAGIC, sizeof(h.magic));
	bl->start = start;
	return pwrite_full(bl->fd, &h, sizeof(h), 0);
}

/* Frame headers of the file in order, read a buffer at a time. */
struct scan {
	char *buf;
	uint64_t base;
	size_t len;
};

static int scan_hdr(struct backlog *bl, struct scan *sc, uint64_t off, uint64_t size, struct bl_frame *h)
{
	int r;

	if (off < sc->base || off + sizeof(*h) > sc->base + sc->len) {
		sc->base = off;
		sc->len = size - off < FILE_READ_MIN ? (size_t)(size - off) : FILE_READ_MIN;
		if ((r = pread_full(bl->fd, sc->buf, sc->len, off)) < 0)
			return r;
	}
	memcpy(h, sc->buf + (off - sc->base), sizeof(*h));
	return 0;
}

static int old_cmp(const void *a, const void *b)
{
	const struct old_frame *x = a, *y = b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Walks the records from the header's start: counts them, finds the last
 * sequence number, cuts off a record torn at the end (synwatch was killed
 * while writing it), and when the numbers do not ascend (a stop appended
 * what memory held) indexes them in their order. */
static int scan_file(struct backlog *bl, uint64_t size, uint64_t *max_seq)
{
	struct scan sc = { .buf = malloc(FILE_READ_MIN) };
	struct bl_frame h;
	uint64_t off = bl->start, prev = 0;
	bool ascending = true;
	size_t n = 0, cap = 0;
	int r = 0;

	*max_seq = 0;
	if (!sc.buf)
		return -ENOMEM;
	for (; off + sizeof(h) <= size; off += sizeof(h) + h.len) {
		if ((r = scan_hdr(bl, &sc, off, size, &h)) < 0)
			goto out;
		if (!frame_valid(&h) || off + sizeof(h) + h.len > size)
			break;
		if (h.seq <= prev)
			ascending = false;
		prev = h.seq;
		if (h.seq > *max_seq)
			*max_seq = h.seq;
		if (n == cap) {
			struct old_frame *v = realloc(bl->old, (cap = cap ? cap * 2 : 1024) * sizeof(*v));
			if (!v) {
				r = -ENOMEM;
				goto out;
			}
			bl->old = v;
		}
		bl->old[n++] = (struct old_frame){ .seq = h.seq, .off = off, .len = (uint32_t)(sizeof(h) + h.len) };
	}
	if (off != size) {
		log_warn("spill file '%s': cut off %llu bytes of a torn record at the end (synwatch was killed "
			 "while writing it)",
			 bl->path, (unsigned long long)(size - off));
		if (ftruncate(bl->fd, (off_t)off) < 0) {
			r = -errno;
			goto out;
		}
	}
	bl->file_records = bl->replay = n;
	if (ascending) {
		/* read straight through */
		free(bl->old);
		bl->old = NULL;
		bl->roff = bl->start;
	} else {
		qsort(bl->old, n, sizeof(*bl->old), old_cmp);
		bl->n_old = n;
		bl->roff = off;
	}
	bl->woff = off;
out:
	free(sc.buf);
	return r;
}

static int open_file(struct backlog *bl, char *err, size_t errlen)
{
	struct file_hdr hdr;
	struct stat sb;
	uint64_t last = 0;
	int r;

	bl->fd = open(bl->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (bl->fd < 0) {
		r = -errno;
		snprintf(err, errlen,
			 "cannot open the spill file '%s': %s; give a writable path with --spill FILE or 'spill:' "
			 "in the config",
			 bl->path, strerror(-r));
		return r;
	}
	if (flock(bl->fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		snprintf(err, errlen,
			 "spill file '%s' is in use by another synwatch: give each prober its own (--spill FILE)",
			 bl->path);
		return r == -EWOULDBLOCK ? -EBUSY : r;
	}
	if (fstat(bl->fd, &sb) < 0) {
		r = -errno;
		goto io;
	}
	if (sb.st_size == 0) {
		if ((r = write_hdr(bl, FILE_HDR_LEN)) < 0)
			goto io;
		bl->roff = bl->woff = FILE_HDR_LEN;
	} else {
		if ((uint64_t)sb.st_size < FILE_HDR_LEN || pread_full(bl->fd, &hdr, sizeof(hdr), 0) < 0 ||
		    memcmp(hdr.magic, FILE_MAGIC, sizeof(hdr.magic)) != 0) {
			snprintf(err, errlen,
				 "'%s' is not a synwatch spill file: move it away or give another path with "
				 "--spill FILE",
				 bl->path);
			return -EINVAL;
		}
		bl->start = hdr.start >= FILE_HDR_LEN && hdr.start <= (uint64_t)sb.st_size ? hdr.start : FILE_HDR_LEN;
		if ((r = scan_file(bl, (uint64_t)sb.st_size, &last)) < 0)
			goto io;
	}
	if (last >= bl->next_seq)
		bl->next_seq = last + 1;
	return 0;
io:
	snprintf(err, errlen, "cannot use the spill file '%s': %s", bl->path, strerror(-r));
	return r;
}

int backlog_open(struct backlog **out, const char *spill_path, size_t mem_limit, uint64_t now_us, char *err,
		 size_t errlen)
{
	struct backlog *bl;
	pthread_condattr_t ca;
	int r;

	*out = NULL;
	if (!(bl = calloc(1, sizeof(*bl))) || !(bl->path = strdup(spill_path))) {
		free(bl);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	bl->fd = -1;
	bl->mem_limit = mem_limit;
	bl->next_seq = now_us ? now_us : 1;
	pthread_mutex_init(&bl->lock, NULL);
	/* the consumer's waits are timeouts: not moved by a clock step */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&bl->cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((r = open_file(bl, err, errlen)) < 0) {
		backlog_free(bl);
		return r;
	}
	*out = bl;
	return 0;
}

const char *backlog_path(const struct backlog *bl)
{
	return bl->path;
}

/* ---- pushing ---- */

static bool mem_put(struct backlog *bl, const char *frame, size_t len)
{
	struct chunk *c = bl->tail;

	if (!c || c->cap - c->wpos < len) {
		size_t cap = CHUNK_SIZE < bl->mem_limit ? CHUNK_SIZE : bl->mem_limit;
		if (cap < len)
			cap = len;
		if (bl->mem_bytes + cap > bl->mem_limit)
			return false;
		if (bl->spare && bl->spare->cap >= cap) {
			c = bl->spare;
			bl->spare = NULL;
		} else if (!(c = malloc(sizeof(*c) + cap))) {
			return false; /* out of memory: the file takes it */
		} else {
			c->cap = cap;
		}
		c->next = NULL;
		c->wpos = c->rpos = 0;
		if (bl->tail)
			bl->tail->next = c;
		else
			bl->head = c;
		bl->tail = c;
		bl->mem_bytes += c->cap;
	}
	memcpy(c->data + c->wpos, frame, len);
	c->wpos += len;
	bl->mem_records++;
	return true;
}

void backlog_set_file_limit(struct backlog *bl, uint64_t bytes)
{
	pthread_mutex_lock(&bl->lock);
	bl->file_limit = bytes;
	pthread_mutex_unlock(&bl->lock);
}

/* The spill file is at its limit: moves the frames of buf[0, len) to
 * keep to its front, leaving out the droppable ones that would go past
 * the limit. Returns the bytes kept; *n is the frames kept. Under the lock. */
static size_t drop_over_limit(struct backlog *bl, char *buf, size_t len, size_t *n)
{
	struct bl_frame h;
	size_t keep = 0, dropped = 0;

	for (size_t p = 0, sz; p < len; p += sz) {
		memcpy(&h, buf + p, sizeof(h));
		sz = sizeof(h) + h.len;
		if (BL_DROPPABLE(h.kind) && bl->woff + keep + sz > bl->file_limit) {
			dropped++;
			continue;
		}
		memmove(buf + keep, buf + p, sz);
		keep += sz;
	}
	if (dropped && !bl->at_limit)
		log_error("the spill file '%s' is at its limit (spill_max, %llu bytes): results are dropped, and "
			  "counted, until Redis takes the backlog; events and state changes are still kept",
			  bl->path, (unsigned long long)bl->file_limit);
	bl->at_limit |= dropped > 0;
	bl->dropped += dropped;
	*n -= dropped;
	return keep;
}

int backlog_push(struct backlog *bl, struct bl_stage *s)
{
	struct bl_frame h;
	size_t off = 0, n = s->n, kept = 0;
	int r = 0;

	if (n == 0) {
		bl_stage_clear(s);
		return 0;
	}
	pthread_mutex_lock(&bl->lock);
	for (size_t p = 0; p < s->len; p += sizeof(h) + h.len) {
		memcpy(&h, s->buf + p, sizeof(h));
		h.seq = bl->next_seq++;
		memcpy(s->buf + p, &h, sizeof(h));
	}
	/* memory while nothing waits in the file and there is room */
	while (off < s->len && bl->file_records == 0) {
		memcpy(&h, s->buf + off, sizeof(h));
		if (!mem_put(bl, s->buf + off, sizeof(h) + h.len))
			break;
		off += sizeof(h) + h.len;
		kept++;
	}
	if (off < s->len) {
		size_t len = s->len - off, in_file = n - kept;
		if (bl->file_limit && bl->woff + len > bl->file_limit)
			len = drop_over_limit(bl, s->buf + off, len, &in_file);
		r = len ? pwrite_full(bl->fd, s->buf + off, len, bl->woff) : 0;
		if (r < 0) {
			/* a torn write would make every later record unreadable */
			if (ftruncate(bl->fd, (off_t)bl->woff) < 0)
				log_debug("spill file '%s': cannot cut a failed write: %s", bl->path, strerror(errno));
			bl->lost += in_file;
			if (!bl->write_failed)
				log_error("cannot write to the spill file '%s': %s; records are lost until it can be "
					  "written again",
					  bl->path, strerror(-r));
			bl->write_failed = true;
		} else {
			if (bl->write_failed)
				log_info("the spill file '%s' can be written again", bl->path);
			bl->write_failed = false;
			bl->woff += len;
			bl->file_records += in_file;
			kept += in_file;
		}
	}
	if (bl->waiting && !bl->woken) {
		bl->woken = true;
		pthread_cond_signal(&bl->cond);
	}
	pthread_mutex_unlock(&bl->lock);
	bl_stage_clear(s);
	return r < 0 ? r : (int)kept;
}

/* ---- taking ---- */

static void wait_for_records(struct backlog *bl, int64_t wait_ns)
{
	struct timespec ts;
	uint64_t until = clock_mono_ns() + (uint64_t)wait_ns;

	ts.tv_sec = (time_t)(until / NSEC_PER_SEC);
	ts.tv_nsec = (long)(until % NSEC_PER_SEC);
	bl->waiting = true;
	bl->woken = false;
	while (!bl->woken && bl->mem_records + bl->file_records == 0)
		if (pthread_cond_timedwait(&bl->cond, &bl->lock, &ts) != 0)
			break;
	bl->waiting = false;
}

/* From the memory chunks, oldest first; frees drained chunks (one is kept
 * for reuse). Under the lock. */
static size_t take_mem(struct backlog *bl, struct bl_batch *b, uint64_t skip_upto, size_t max_bytes,
		       size_t max_items, size_t start_len, size_t *taken)
{
	struct bl_frame h;
	size_t skipped = 0;

	while (bl->head && *taken < max_items && (b->len - start_len < max_bytes || *taken == 0)) {
		struct chunk *c = bl->head;
		if (c->rpos == c->wpos) {
			if (c == bl->tail) {
				c->rpos = c->wpos = 0;
				break;
			}
			bl->head = c->next;
			bl->mem_bytes -= c->cap;
			if (!bl->spare && c->cap == CHUNK_SIZE) {
				bl->spare = c;
			} else {
				free(c);
				bl->shrunk = true;
			}
			continue;
		}
		memcpy(&h, c->data + c->rpos, sizeof(h));
		if (h.seq > skip_upto) {
			if (batch_add(b, &h, c->data + c->rpos + sizeof(h)) < 0)
				break;
			(*taken)++;
		} else {
			skipped++;
		}
		c->rpos += sizeof(h) + h.len;
		bl->mem_records--;
	}
	if (bl->head && bl->head == bl->tail && bl->head->rpos == bl->head->wpos)
		bl->head->rpos = bl->head->wpos = 0;
	return skipped;
}

/* Appends the records in scratch[0, len) to b. Returns the bytes used
 * (whole records); *damaged when what follows them is not a record. */
static size_t parse_records(struct bl_batch *b, size_t len, uint64_t skip_upto, size_t max_bytes,
			    size_t max_items, size_t *taken, size_t *records, bool *damaged)
{
	struct bl_frame h;
	size_t used = 0;

	while (used + sizeof(h) <= len && *taken < max_items && (used < max_bytes || *taken == 0)) {
		memcpy(&h, b->scratch + used, sizeof(h));
		if (!frame_valid(&h)) {
			*damaged = true;
			break;
		}
		if (used + sizeof(h) + h.len > len)
			break;
		if (h.seq > skip_upto) {
			if (batch_add(b, &h, b->scratch + used + sizeof(h)) < 0)
				break;
			(*taken)++;
		}
		used += sizeof(h) + h.len;
		(*records)++;
	}
	return used;
}

/* The drained file starts over: new records go to memory again. */
static void file_reset(struct backlog *bl)
{
	if (ftruncate(bl->fd, FILE_HDR_LEN) < 0 || write_hdr(bl, FILE_HDR_LEN) < 0)
		log_warn("cannot truncate the spill file '%s': %s", bl->path, strerror(errno));
	free(bl->old);
	bl->old = NULL;
	bl->n_old = bl->old_pos = 0;
	bl->roff = bl->woff = FILE_HDR_LEN;
	bl->file_records = 0;
	if (bl->at_limit)
		log_warn("the spill file '%s' is drained; %llu results were dropped at its limit since start", bl->path,
			 (unsigned long long)bl->dropped);
	bl->at_limit = false;
}

static void file_damaged(struct backlog *bl, uint64_t off)
{
	log_error("spill file '%s' is damaged at offset %llu: the %llu records after it are lost", bl->path,
		  (unsigned long long)off, (unsigned long long)bl->file_records);
	bl->lost += bl->file_records;
	file_reset(bl);
}

/* Records of the out-of-order part, in seq order: runs that lie back to
 * back in the file are read at once. */
static void take_old(struct backlog *bl, struct bl_batch *b, uint64_t skip_upto, size_t max_bytes,
		     size_t max_items, size_t *taken)
{
	size_t pos = bl->old_pos, end = pos + 1, records = 0, used = 0;
	uint64_t off = bl->old[pos].off, len = bl->old[pos].len;
	bool damaged = false;

	while (end < bl->n_old && end - pos < max_items && bl->old[end].off == off + len &&
	       len + bl->old[end].len <= max_bytes) {
		len += bl->old[end].len;
		end++;
	}
	pthread_mutex_unlock(&bl->lock);
	if (grow((void **)&b->scratch, &b->scratch_cap, len, 1, FILE_READ_MIN) < 0)
		used = 0;
	else if (pread_full(bl->fd, b->scratch, len, off) < 0)
		damaged = true;
	else
		used = parse_records(b, len, skip_upto, max_bytes, max_items, taken, &records, &damaged);
	pthread_mutex_lock(&bl->lock);
	bl->old_pos += records;
	bl->file_records -= records;
	if (damaged) {
		file_damaged(bl, off + used);
		return;
	}
	if (bl->old_pos == bl->n_old) {
		free(bl->old);
		bl->old = NULL;
		bl->n_old = bl->old_pos = 0;
	}
}

/* From the file, outside the lock: what we read does not change under us
 * (the producer only appends past woff, and only we move roff). */
static void take_file(struct backlog *bl, struct bl_batch *b, uint64_t skip_upto, size_t max_bytes,
		      size_t max_items, size_t *taken)
{
	struct bl_frame h;
	uint64_t roff = bl->roff, woff = bl->woff;
	size_t want, records = 0, used = 0;
	bool damaged = false;

	if (bl->old) {
		take_old(bl, b, skip_upto, max_bytes, max_items, taken);
	} else if (roff < woff) {
		pthread_mutex_unlock(&bl->lock);
		want = max_bytes < FILE_READ_MIN ? FILE_READ_MIN : max_bytes;
		if (want > woff - roff)
			want = (size_t)(woff - roff);
		for (;;) {
			if (grow((void **)&b->scratch, &b->scratch_cap, want, 1, FILE_READ_MIN) < 0)
				break;
			if (pread_full(bl->fd, b->scratch, want, roff) < 0) {
				damaged = true;
				break;
			}
			/* the first record is larger than what was read: read it whole */
			memcpy(&h, b->scratch, sizeof(h));
			if (want >= sizeof(h) && frame_valid(&h) && sizeof(h) + h.len > want &&
			    roff + sizeof(h) + h.len <= woff) {
				want = sizeof(h) + h.len;
				continue;
			}
			used = parse_records(b, want, skip_upto, max_bytes, max_items, taken, &records, &damaged);
			break;
		}
		pthread_mutex_lock(&bl->lock);
		bl->roff += used;
		bl->file_records -= records;
		if (damaged) {
			file_damaged(bl, bl->roff);
			return;
		}
	}
	if (!bl->old && bl->roff == bl->woff && bl->woff > FILE_HDR_LEN)
		file_reset(bl);
}

size_t backlog_take(struct backlog *bl, struct bl_batch *b, uint64_t skip_upto, size_t max_bytes,
		    size_t max_items, int64_t wait_ns)
{
	size_t start_len = b->len, taken = 0;

	pthread_mutex_lock(&bl->lock);
	if (bl->mem_records + bl->file_records == 0 && wait_ns > 0)
		wait_for_records(bl, wait_ns);
	take_mem(bl, b, skip_upto, max_bytes, max_items, start_len, &taken);
	/* the file holds only records newer than any in memory */
	if (bl->mem_records == 0 && bl->file_records > 0 && taken < max_items && b->len - start_len < max_bytes)
		take_file(bl, b, skip_upto, max_bytes - (b->len - start_len), max_items - taken, &taken);
	/* a backlog that grew while Redis was away and has drained: give the
	 * memory back. glibc raises its mmap threshold after the first large
	 * free, so later chunks come from the heap and would stay in the
	 * process's RSS for good (bench/NOTES.md#the-backlog-gives-memory-back). */
	bool trim = bl->shrunk && bl->mem_records == 0;
	if (trim)
		bl->shrunk = false;
	pthread_mutex_unlock(&bl->lock);
	if (trim)
		malloc_trim(0);
	return taken;
}

void backlog_wake(struct backlog *bl)
{
	pthread_mutex_lock(&bl->lock);
	bl->woken = true;
	pthread_cond_signal(&bl->cond);
	pthread_mutex_unlock(&bl->lock);
}

void backlog_get_stats(struct backlog *bl, struct backlog_stats *out)
{
	pthread_mutex_lock(&bl->lock);
	*out = (struct backlog_stats){
		.records = bl->mem_records + bl->file_records,
		.spilled = bl->file_records,
		.dropped = bl->dropped,
		.file_bytes = bl->woff,
		.file_limit = bl->file_limit,
		.mem_bytes = bl->mem_bytes,
		.lost = bl->lost,
		.last_seq = bl->next_seq - 1,
		.replay = bl->replay,
	};
	pthread_mutex_unlock(&bl->lock);
}

/* ---- shutdown ---- */

/* Appends through a buffer. */
struct appender {
	struct backlog *bl;
	char *buf;
	size_t len;
	int err;
};

static void app_flush(struct appender *a)
{
	if (a->len && !a->err) {
		a->err = pwrite_full(a->bl->fd, a->buf, a->len, a->bl->woff);
		if (!a->err)
			a->bl->woff += a->len;
	}
	a->len = 0;
}

static void app_put(struct appender *a, const void *p, size_t n)
{
	while (n && !a->err) {
		size_t k = FILE_READ_MIN - a->len < n ? FILE_READ_MIN - a->len : n;
		memcpy(a->buf + a->len, p, k);
		a->len += k;
		p = (const char *)p + k;
		n -= k;
		if (a->len == FILE_READ_MIN)
			app_flush(a);
	}
}

int64_t backlog_persist(struct backlog *bl, const struct bl_batch *const *unsent, size_t n_batches)
{
	uint64_t n_unsent = 0, left;
	struct appender a = { .bl = bl };
	int r;

	for (size_t k = 0; k < n_batches; k++)
		n_unsent += bl_batch_count(unsent[k]);
	left = n_unsent + bl->mem_records + bl->file_records;
	pthread_mutex_lock(&bl->lock);
	if (left == 0) {
		file_reset(bl);
		/* may fail once privileges are dropped: an empty file is fine */
		if (unlink(bl->path) < 0 && errno != ENOENT)
			log_debug("cannot remove the spill file '%s': %s", bl->path, strerror(errno));
		r = 0;
		goto out;
	}
	/* older than the file's records, but appended: the next start orders by seq */
	if (n_unsent + bl->mem_records > 0) {
		if (!(a.buf = malloc(FILE_READ_MIN))) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t k = 0; k < n_batches; k++) {
			const struct bl_batch *u = unsent[k];
			for (size_t i = u->first; i < u->n; i++) {
				const struct bl_item *it = &u->items[i];
				struct bl_frame h = { .magic = BL_MAGIC, .len = it->len, .seq = it->seq,
						      .ncmds = it->ncmds, .kind = it->kind };
				app_put(&a, &h, sizeof(h));
				app_put(&a, u->data + it->off, it->len);
			}
		}
		for (struct chunk *c = bl->head; c; c = c->next)
			app_put(&a, c->data + c->rpos, c->wpos - c->rpos);
		app_flush(&a);
		free(a.buf);
		if ((r = a.err) < 0)
			goto out;
	}
	/* the records before roff are in Redis; with an index, some before it may be too */
	if ((r = write_hdr(bl, bl->old ? bl->start : bl->roff)) < 0)
		goto out;
	r = fsync(bl->fd) < 0 ? -errno : 0;
out:
	pthread_mutex_unlock(&bl->lock);
	return r < 0 ? r : (int64_t)left;
}

void backlog_free(struct backlog *bl)
{
	if (!bl)
		return;
	while (bl->head) {
		struct chunk *c = bl->head;
		bl->head = c->next;
		free(c);
	}
	free(bl->spare);
	free(bl->old);
	if (bl->fd >= 0)
		close(bl->fd);
	pthread_cond_destroy(&bl->cond);
	pthread_mutex_destroy(&bl->lock);
	free(bl->path);
	free(bl);
}

/* store/backlog: records on their way to Redis. The store thread pushes
 * formatted records (the producer), the Redis writer takes them (the
 * consumer); they wait in memory up to a limit, then in a spill file that
 * the next start replays first. */
#ifndef SW_BACKLOG_H
#define SW_BACKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BL_MAGIC 0x31575353u /* "SSW1" little-endian */
/* Larger frames are refused: a record is at most a few kilobytes, unless
 * labels are huge, and a corrupt length must not make us allocate gigabytes. */
#define BL_FRAME_MAX (8u << 20)

enum bl_kind {
	BL_RESULT,
	BL_EVENT,
	BL_LATENCY,
	BL_REMOVED,
	BL_SAMPLE,  /* a result that only adds history (the results stream, last_*): may be dropped at the spill limit */
	BL_HISTO,   /* a group's histogram increments (P histo:LOC): nothing makes them good again */
};

/* Records the spill limit may drop: history that the next record of the
 * same target makes good again. Events, state changes, first sightings,
 * removals and histogram increments are never dropped. */
#define BL_DROPPABLE(kind) ((kind) == BL_SAMPLE || (kind) == BL_LATENCY)

/* One record as the backlog keeps it, in memory and in the spill file:
 * this header, then len bytes of Redis commands (RESP), ncmds of them. */
struct bl_frame {
	uint32_t magic;  /* BL_MAGIC */
	uint32_t len;    /* payload bytes */
	uint64_t seq;    /* set by backlog_push: increasing, unique per prober across restarts */
	uint16_t ncmds;  /* commands in the payload */
	uint16_t kind;   /* enum bl_kind */
	uint32_t pad;
};

/* Records being formatted by the producer (the store thread), pushed into
 * the backlog together. */
struct bl_stage {
	char *buf;
	size_t len, cap;
	size_t n;        /* finished frames */
	size_t open;     /* offset of the frame being written, if opened */
	bool opened;
};

/* Makes room for more bytes at buf + len. Returns 0 or -ENOMEM. */
int bl_stage_reserve(struct bl_stage *s, size_t more);
/* Starts a frame: what is appended to buf until bl_stage_end is its payload. */
int bl_stage_begin(struct bl_stage *s);
/* Ends the open frame; an empty one (ncmds 0) is dropped. */
void bl_stage_end(struct bl_stage *s, unsigned ncmds, enum bl_kind kind);
/* Drops the open frame (formatting failed). */
void bl_stage_cancel(struct bl_stage *s);
void bl_stage_clear(struct bl_stage *s);
void bl_stage_release(struct bl_stage *s);

/* One record taken by the consumer: its payload is data[off, off + len). */
struct bl_item {
	uint64_t seq;
	uint32_t off, len;
	uint16_t ncmds, kind;
};

/* What the consumer (the Redis writer) took: payloads back to back, so a
 * batch goes out in one write. Items before `first` are done. */
struct bl_batch {
	char *data;
	size_t len, cap;
	struct bl_item *items;
	size_t n, items_cap, first;
	char *scratch;          /* spill-file reads */
	size_t scratch_cap;
};

void bl_batch_clear(struct bl_batch *b);
void bl_batch_release(struct bl_batch *b);
/* Marks the items with seq <= upto done (they are in Redis already). */
void bl_batch_skip_upto(struct bl_batch *b, uint64_t upto);
/* Records not done, and their commands. */
size_t bl_batch_count(const struct bl_batch *b);

struct backlog;

struct backlog_stats {
	uint64_t records;   /* waiting: in memory and in the spill file */
	uint64_t spilled;   /* ... of which in the spill file */
	uint64_t mem_bytes; /* memory held for records */
	uint64_t lost;      /* records that could not be kept: the spill file could not be written */
	uint64_t dropped;   /* droppable records not kept: the spill file was at its limit */
	uint64_t file_bytes;/* the spill file's size */
	uint64_t file_limit;/* past it droppable records are dropped (0: no limit) */
	uint64_t last_seq;  /* the last sequence number given (0: none yet) */
	uint64_t replay;    /* records found in the spill file when it was opened */
};

/* Opens (creating it) and locks the spill file, takes the records a
 * previous run left in it (they go out first), and sets the first
 * sequence number to max(now_us, the file's last + 1). mem_limit: bytes of
 * records kept in memory before new ones go to the file. Returns 0 and
 * sets *out (free with backlog_free), or a negative errno with one line in
 * err naming the file and what to do. */
int backlog_open(struct backlog **out, const char *spill_path, size_t mem_limit, uint64_t now_us, char *err,
		 size_t errlen);
/* Past bytes of spill file, the records BL_DROPPABLE are dropped (and
 * counted) instead of written; the others are still written. 0: no limit.
 * Any thread. */
void backlog_set_file_limit(struct backlog *bl, uint64_t bytes);
/* Producer (one thread): gives every finished frame of s the next sequence
 * numbers and moves it into the backlog, in memory while there is room,
 * else (and then until the file is drained, to keep the order) into the
 * spill file; s is left empty. Holds the lock for one copy or one write.
 * Returns the number of records kept, or a negative errno when the spill
 * file could not be written (those records are counted as lost). */
int backlog_push(struct backlog *bl, struct bl_stage *s);
/* Consumer (one thread): appends to b the oldest records, in order, up to
 * max_items and about max_bytes (at least one record), discarding those
 * with seq <= skip_upto. Waits up to wait_ns for one if there is none.
 * Returns the number appended. */
size_t backlog_take(struct backlog *bl, struct bl_batch *b, uint64_t skip_upto, size_t max_bytes,
		    size_t max_items, int64_t wait_ns);
/* Wakes a consumer waiting in backlog_take. Any thread. */
void backlog_wake(struct backlog *bl);
void backlog_get_stats(struct backlog *bl, struct backlog_stats *out);
/* At shutdown, producer stopped, consumer done: writes what is left (the
 * items not done of the n batches taken but not written, oldest first,
 * then the rest in order) to the spill file and syncs it, or empties and
 * removes the file when nothing is left. Returns the number of records
 * left in the file, or a negative errno. */
int64_t backlog_persist(struct backlog *bl, const struct bl_batch *const *unsent, size_t n);
const char *backlog_path(const struct backlog *bl);
void backlog_free(struct backlog *bl); /* NULL is a no-op; unlocks the file */

#endif

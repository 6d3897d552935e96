/*
 * joblog.h: the log of one attempt of a job in the blob store, written by
 * the dispatcher as the job prints and read by GET /job/{id}/log (DESIGN
 * "Batches and jobs": logs; "The dispatcher": whole logs, incrementally).
 *
 *   ROOT/logs/ab/<job uuid>.log       attempt 1
 *   ROOT/logs/ab/<job uuid>.<n>.log   attempt n > 1
 *
 * A log is the stream of bytes the attempt wrote (stdout and stderr
 * interleaved as they came), counted by its logical size: every byte the
 * attempt wrote, kept in the database (jobs.log_size for the current
 * attempt, job_attempts.log_size for earlier ones). The file keeps all of
 * it up to a cap (the dispatcher's [dispatcher] log_max); past the cap it
 * keeps the head and the tail:
 *
 *   cap F, head H = F / 2, tail T = F - H. Logical byte o sits at file
 *   offset o when o < H, else at H + ((o - H) mod T). While the logical
 *   size S <= F the file is plain (byte o at offset o); once S > F the
 *   region [H, F) is a ring holding the last T bytes.
 *
 * A reader needs only S and the file's size: S <= file size means a plain
 * file (bytes past S are ignored); S > file size means a wrapped one whose
 * cap is the file's size. The bytes of a logical offset never change, so a
 * writer that resumes after a crash writes the same bytes again.
 *
 * NOTE: unlike shards and models, a log grows in place (it is not written
 * to tmp/ and renamed): its committed length is the database's log_size,
 * updated only after the bytes are synced. A reader of a wrapped log that is
 * still being written may see a few newer tail bytes in place of the oldest
 * ones it was about to send; a finished attempt's log never changes.
 */
#ifndef ST_JOBLOG_H
#define ST_JOBLOG_H

#include <stddef.h>

/* The marker put between head and tail of a wrapped log (%lld: dropped). */
#define JOBLOG_MARKER_FMT	"\n[singularity: %lld bytes of log dropped here]\n"
#define JOBLOG_MARKER_MAX	96

/*
 * Path of the log of attempt (from 1) of job_uuid, in a new string (caller
 * frees), or NULL when job_uuid is not a canonical lowercase UUID or
 * attempt is 0.
 */
char	*joblog_path(const char *root, const char *job_uuid, unsigned attempt);

/*
 * Open (creating it and its directory, mode 0640 in 0750) the log of an
 * attempt for writing. Returns the descriptor, or -1 with errno set.
 */
int	 joblog_open_write(const char *root, const char *job_uuid,
	    unsigned attempt);

/*
 * Write n bytes of logical offset off to the log open on fd whose cap is
 * cap (> 1): the bytes land where the layout above puts them (split in two
 * writes when they wrap). Returns 0, or -1 with errno set.
 */
int	 joblog_write(int fd, long long cap, long long off, const void *p,
	    size_t n);

/*
 * The cap a writer uses for a log of logical size total whose file is
 * file_size bytes now: a wrapped log's (total > file_size) is its file's
 * size, whatever the configuration says now; else the configured cap, or
 * the file's size when that is larger (a log begun under a larger cap keeps
 * it). So the layout never changes under a reader.
 */
long long joblog_cap(long long conf_cap, long long file_size, long long total);

/*
 * The file size a log of logical size total and cap cap has once complete:
 * total when it fits, else cap. A writer truncates a finished log to it
 * (bytes past the committed size that a crash left are dropped).
 */
long long joblog_file_size(long long total, long long cap);

/* Pieces of the file a reader sends, in order; a marker between them. */
struct joblog_piece {
	long long	 off;		/* file offset */
	long long	 len;		/* bytes */
};

struct joblog_plan {
	struct joblog_piece	 piece[3];	/* head, tail (1-2 ring parts) */
	size_t			 npieces;
	size_t			 marker_after;	/* pieces before the marker */
	char			 marker[JOBLOG_MARKER_MAX];	/* "" for none */
	long long		 first;		/* logical offset of the first
						   byte (range plans) */
	long long		 end;		/* logical offset past the last */
	long long		 length;	/* bytes sent, marker included */
};

/*
 * Plan the whole log of logical size total whose file is file_size bytes
 * (a 200 answer): a plain log's bytes [0, total); a wrapped log's head, the
 * marker line naming the bytes dropped, then the tail [total - T, total)
 * in one or two ring pieces. Returns 0, or -1 when the sizes cannot be
 * those of a log (file_size < 2 under a larger total).
 */
int	 joblog_plan_whole(long long total, long long file_size,
	    struct joblog_plan *p);

/*
 * Plan one contiguous range of logical bytes from offset from (a 206
 * answer to "Range: bytes=from-"; no marker): a plain log's [from, total);
 * in a wrapped log, [from, H) when from lies in the head, else
 * [max(from, total - T), total), so that a range starting in the dropped
 * middle begins at the first kept tail byte (p->first says where). A
 * client following the log asks again from p->end. Returns 0, 1 when from
 * >= total (nothing to send: 416 unless from == total), -1 as above.
 */
int	 joblog_plan_range(long long total, long long file_size, long long from,
	    struct joblog_plan *p);

/*
 * Call fn(arg, job_uuid, attempt) for each log file under ROOT/logs whose
 * name is one joblog_path() makes, in the fan-out directory of its UUID
 * ("<uuid>.log" for attempt 1, "<uuid>.<n>.log" for n > 1, n without
 * leading zeros); other names are skipped. A non-zero return of fn stops
 * the walk and is returned; otherwise returns 0, or -1 on a read error
 * (errno set). A missing ROOT/logs is no error.
 */
int	 joblog_list(const char *root,
	    int (*fn)(void *, const char *, unsigned), void *arg);

/*
 * Remove every log of the job job_uuid: attempt 1's and each later
 * attempt's (what removes a job's log removes all of them). Missing files
 * are no error. Returns 0, or -1 with errno set (EINVAL for a UUID that
 * joblog_path() refuses).
 */
int	 joblog_remove(const char *root, const char *job_uuid);

#endif

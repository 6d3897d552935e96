/*
 * store.h: the blob store, a directory tree under conf [store] dir.
 *
 *   ROOT/tmp/st-<what>-<pid>-<16 hex>.tmp   files being written
 *   ROOT/shards/ab/cd/<sha256>.zip          shards, content-addressed
 *
 * A file is written under tmp/, fsynced, then given its final name (a hard
 * link, or rename where links are not supported) and its directory fsynced:
 * a crash never leaves a half file under a final name, only a temporary file
 * that `st-admin gc` removes once it is old. Final names are built from
 * validated lowercase hex SHA-256 strings only, so no caller input can name
 * a path outside the store. Directories are made with mode 0750, files 0640.
 */
#ifndef ST_STORE_H
#define ST_STORE_H

#include <stddef.h>
#include <time.h>

#define STORE_SHA256_HEX	64

enum store_rc {
	STORE_OK = 0,
	STORE_ERROR = -1,	/* I/O failure; errno says which (500) */
	STORE_NOSPACE = -2,	/* ENOSPC or EDQUOT (507 insufficient_storage) */
};

/* A temporary file being written. */
struct store_tmp {
	int			 fd;	/* -1 when closed */
	char			*path;	/* owned */
	unsigned long long	 size;	/* bytes written */
};

/*
 * 1 when s (n bytes) is exactly 64 lowercase hex digits, else 0. The only
 * strings ever turned into a final name.
 */
int	store_sha256_valid(const char *s, size_t n);

/*
 * Create ROOT, ROOT/tmp and ROOT/shards when missing (mode 0750).
 * Returns an enum store_rc.
 */
int	store_init(const char *root);

/*
 * Create a new temporary file ROOT/tmp/st-<what>-<pid>-<random>.tmp
 * (O_CREAT|O_EXCL|O_CLOEXEC|O_NOFOLLOW, mode 0640); what is a short literal
 * of [a-z]. On success t owns the descriptor and path; release it with
 * store_tmp_commit_shard() or store_tmp_discard(). Returns an enum store_rc
 * (t->fd is -1 on failure).
 */
int	store_tmp_open(const char *root, const char *what, struct store_tmp *t);

/* Append n bytes (short writes and EINTR handled). Returns an enum store_rc. */
int	store_tmp_write(struct store_tmp *t, const void *p, size_t n);

/* fsync the temporary file. Returns an enum store_rc. */
int	store_tmp_sync(struct store_tmp *t);

/*
 * Give a synced temporary file its final name shards/ab/cd/<sha256>.zip
 * (directories created and fsynced as needed, then the final directory
 * fsynced). When the final name already exists, the temporary file is
 * discarded and *existed set to 1 (the content is the same by construction);
 * otherwise *existed is 0. In every case t is released. Returns an enum
 * store_rc; on failure the temporary file is removed.
 */
int	store_tmp_commit_shard(struct store_tmp *t, const char *root,
	    const char *sha256, int *existed);

/* Close and remove a temporary file; safe on a released or failed t. */
void	store_tmp_discard(struct store_tmp *t);

/*
 * Final path of a shard in a new string (caller frees), or NULL when sha256
 * is not valid.
 */
char	*store_shard_path(const char *root, const char *sha256);

/* 1 when the shard file exists, 0 when not, -1 on error (errno set). */
int	store_shard_exists(const char *root, const char *sha256);

/*
 * Remove a shard file and fsync its directory; a missing file is success.
 * Returns an enum store_rc.
 */
int	store_shard_remove(const char *root, const char *sha256);

/*
 * Call fn(arg, name, age) for each temporary file (ROOT/tmp/st-*.tmp, a
 * regular file) not modified for at least min_age seconds; name is the file
 * name within tmp/. An active upload keeps touching its file, so its age
 * stays near zero. A non-zero return of fn stops the walk and is returned;
 * otherwise returns 0, or -1 when tmp/ cannot be read (a missing tmp/ is 0).
 */
int	store_tmp_list_old(const char *root, time_t min_age,
	    int (*fn)(void *, const char *, time_t), void *arg);

/*
 * Remove ROOT/tmp/<name>, where name is a file name from
 * store_tmp_list_old() (no '/', starts with "st-"). Returns an enum
 * store_rc; a missing file is success.
 */
int	store_tmp_remove(const char *root, const char *name);

/*
 * Call fn(arg, sha256) for each well-named shard file under ROOT/shards
 * (other names are skipped). A non-zero return of fn stops the walk and is
 * returned; otherwise returns 0, or -1 on a read error.
 */
int	store_shard_list(const char *root,
	    int (*fn)(void *, const char *), void *arg);

/*
 * Files of a job, named by the job's UUID (validated with util_uuid_parse
 * before it reaches here):
 *
 *   ROOT/models/ab/<job uuid>.zip   the model zip the dispatcher collected
 *   ROOT/logs/ab/<job uuid>.log     the log of the job's first attempt
 *                                   (joblog.h: later attempts, the layout)
 *
 * where ab are the UUID's first two characters.
 */
enum store_job_kind { STORE_JOB_MODEL, STORE_JOB_LOG };

/*
 * Final path of a job file in a new string (caller frees), or NULL when
 * job_uuid is not a canonical lowercase UUID.
 */
char	*store_job_path(const char *root, enum store_job_kind kind,
	    const char *job_uuid);

/*
 * Give a synced temporary file the final name of a job file, replacing an
 * older one atomically (rename), and fsync the directory. t is released in
 * every case; on failure the temporary file is removed. Returns an enum
 * store_rc.
 */
int	store_tmp_commit_job(struct store_tmp *t, const char *root,
	    enum store_job_kind kind, const char *job_uuid);

/*
 * Make the directories of a job file (ROOT/<kind>/ab) when missing, each
 * new one made durable. Returns an enum store_rc.
 */
int	store_job_mkdir(const char *root, enum store_job_kind kind,
	    const char *job_uuid);

/* Remove a job file; a missing file is success. Returns an enum store_rc. */
int	store_job_remove(const char *root, enum store_job_kind kind,
	    const char *job_uuid);

#endif

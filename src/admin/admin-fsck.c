/*
 * admin-fsck.c: `st-admin fsck`, the blob store checked against MariaDB:
 * every accepted shard is there with the size and SHA-256 it was accepted
 * under, every collected model matches its job's row, every log the
 * database counts can be the log of that size (joblog.h), and the
 * memberships of sets and pilots agree.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "admin.h"
#include "db.h"
#include "joblog.h"
#include "store.h"
#include "util.h"

#define FSCK_BUF	(64 * 1024)

/* The usage text of `st-admin fsck`, on f. */
void
admin_fsck_usage(FILE *f)
{
	fprintf(f,
"usage: st-admin fsck [--sizes-only] [--verbose]\n"
"\n"
"Check the blob store ([store] dir) against the database; nothing is\n"
"changed:\n"
"  - every shard row: its file shards/ab/cd/<sha256>.zip exists, is a\n"
"    regular file of the recorded size, and its SHA-256 is its name;\n"
"  - every job with a model: models/ab/<job uuid>.zip exists with the\n"
"    job's model_size and model_sha256;\n"
"  - every attempt with a log (log_size): logs/ab/<job uuid>.log for the\n"
"    first attempt, logs/ab/<job uuid>.<n>.log for attempt n, a regular\n"
"    file of at least log_size bytes, or a smaller one of 2 bytes or more\n"
"    (a long log keeps its head and tail: its file is its size cap);\n"
"  - every shard of a set with pilots is in exactly one of its pilots, and\n"
"    every shard of a pilot is in its set.\n"
"Shard files that have no row, and log files of no job or of an attempt\n"
"their job never had, are reported as notes (`st-admin gc' removes them).\n"
"With --sizes-only, files are not hashed. Each problem is printed on\n"
"stdout, then a summary line.\n"
"\n"
"Exit status: 0 when no problem was found, 1 otherwise.\n");
}

struct fsck {
	struct admin	*a;
	const char	*root;
	int		 sizes_only;
	int		 verbose;
	unsigned long	 checked_shards;
	unsigned long	 checked_models;
	unsigned long	 checked_logs;
	unsigned long	 problems;
	unsigned long	 notes;
	unsigned long long bytes;
};

/* Print one problem of what (a shard, a model) and count it. */
static void
problem(struct fsck *f, const char *what, const char *id, const char *msg)
{

	printf("problem: %s %s: %s\n", what, id, msg);
	f->problems++;
}

/*
 * Check the file at path against size and, unless sizes_only, against the
 * lowercase hex SHA-256 want. Prints and counts a problem of what/id when
 * the file is missing, not a regular file, unreadable, of another size or
 * of another digest. Returns 0 (checked, whatever the outcome) or -1 when
 * the digest context cannot be made (out of memory).
 */
static int
check_file(struct fsck *f, const char *what, const char *id,
    const char *path, unsigned long long size, const char *want)
{
	EVP_MD_CTX	*md = NULL;
	unsigned char	*buf = NULL, dig[EVP_MAX_MD_SIZE];
	char		 hex[2 * EVP_MAX_MD_SIZE + 1], msg[256];
	unsigned int	 dlen = 0;
	struct stat	 st;
	ssize_t		 n;
	int		 fd = -1, rc = 0;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(msg, sizeof(msg), "%s: %s",
		    errno == ENOENT ? "file missing" : "cannot open the file",
		    errno == ENOENT ? path : strerror(errno));
		problem(f, what, id, msg);
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		problem(f, what, id, "not a regular file");
		goto out;
	}
	if ((unsigned long long)st.st_size != size) {
		snprintf(msg, sizeof(msg), "size %llu, the database says %llu",
		    (unsigned long long)st.st_size, size);
		problem(f, what, id, msg);
		goto out;
	}
	f->bytes += size;
	if (f->sizes_only)
		goto out;

	buf = xmalloc(FSCK_BUF);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		admin_warnx("fsck: cannot make a SHA-256 context");
		rc = -1;
		goto out;
	}
	for (;;) {
		n = read(fd, buf, FSCK_BUF);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(msg, sizeof(msg), "read error: %s",
			    strerror(errno));
			problem(f, what, id, msg);
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
			admin_warnx("fsck: SHA-256 update failed");
			rc = -1;
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(md, dig, &dlen) != 1) {
		admin_warnx("fsck: SHA-256 final failed");
		rc = -1;
		goto out;
	}
	util_hex(dig, dlen, hex);
	if (strcmp(hex, want) != 0) {
		snprintf(msg, sizeof(msg), "content SHA-256 is %s", hex);
		problem(f, what, id, msg);
	}
out:
	EVP_MD_CTX_free(md);
	free(buf);
	if (fd != -1)
		close(fd);
	return rc;
}

/*
 * Every row of shards against its file. Returns 0, or ADMIN_FAIL after
 * printing a database or internal failure.
 */
static int
check_shards(struct fsck *f)
{
	struct db_res	*r = NULL;
	const char	*sha;
	char		*path = NULL;
	size_t		 i;
	int		 rc = ADMIN_FAIL;

	if (db_query(f->a->db, "SELECT sha256, size FROM shards ORDER BY id",
	    DB_NOARGS, &r) != DB_OK)
		return admin_db_fail(f->a, "listing the shards");
	for (i = 0; i < r->nrows; i++) {
		sha = db_res_str(r, i, 0);
		f->checked_shards++;
		if ((path = store_shard_path(f->root, sha)) == NULL) {
			problem(f, "shard row", sha != NULL ? sha : "NULL",
			    "its sha256 is not 64 lowercase hex digits");
			continue;
		}
		if (f->verbose)
			printf("checking shard %s\n", sha);
		if (check_file(f, "shard", sha, path,
		    (unsigned long long)db_res_int(r, i, 1), sha) != 0)
			goto out;
		free(path);
		path = NULL;
	}
	rc = 0;
out:
	free(path);
	db_res_free(r);
	return rc;
}

/*
 * Every job with model_sha256 set against its model file. Returns 0, or
 * ADMIN_FAIL after printing a database or internal failure.
 */
static int
check_models(struct fsck *f)
{
	struct db_res	*r = NULL;
	const char	*uuid, *sha;
	char		*path = NULL;
	size_t		 i;
	int		 rc = ADMIN_FAIL;

	if (db_query(f->a->db, "SELECT uuid, model_sha256, model_size "
	    "FROM jobs WHERE model_sha256 IS NOT NULL ORDER BY id",
	    DB_NOARGS, &r) != DB_OK)
		return admin_db_fail(f->a, "listing the models");
	for (i = 0; i < r->nrows; i++) {
		uuid = db_res_str(r, i, 0);
		sha = db_res_str(r, i, 1);
		f->checked_models++;
		if (!store_sha256_valid(sha, strlen(sha))) {
			problem(f, "model of job", uuid,
			    "model_sha256 is not 64 lowercase hex digits");
			continue;
		}
		if (db_res_isnull(r, i, 2)) {
			problem(f, "model of job", uuid,
			    "model_sha256 is set but model_size is NULL");
			continue;
		}
		if ((path = store_job_path(f->root, STORE_JOB_MODEL,
		    uuid)) == NULL) {
			problem(f, "model of job", uuid,
			    "the job's uuid is not canonical");
			continue;
		}
		if (f->verbose)
			printf("checking model of job %s\n", uuid);
		if (check_file(f, "model of job", uuid, path,
		    (unsigned long long)db_res_int(r, i, 2), sha) != 0)
			goto out;
		free(path);
		path = NULL;
	}
	rc = 0;
out:
	free(path);
	db_res_free(r);
	return rc;
}

/*
 * One attempt's log against its file: size S (log_size) needs, when S > 0,
 * a regular file of at least S bytes (a plain log: bytes past S are what a
 * crash left before the size was committed) or of fewer but at least 2 (a
 * wrapped log, whose cap is its file's size). Prints and counts a problem
 * otherwise.
 */
static void
check_log(struct fsck *f, const char *uuid, unsigned attempt, long long size)
{
	struct stat	 st;
	char		*path, msg[512];

	f->checked_logs++;
	if ((path = joblog_path(f->root, uuid, attempt)) == NULL) {
		problem(f, "log of job", uuid, "the job's uuid is not canonical");
		return;
	}
	if (f->verbose)
		printf("checking log of job %s attempt %u\n", uuid, attempt);
	if (lstat(path, &st) == -1) {
		if (errno != ENOENT || size > 0) {
			snprintf(msg, sizeof(msg), "attempt %u: %s: %s", attempt,
			    errno == ENOENT ? "file missing" :
			    "cannot stat the file", errno == ENOENT ? path :
			    strerror(errno));
			problem(f, "log of job", uuid, msg);
		}
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(msg, sizeof(msg), "attempt %u: not a regular file",
		    attempt);
		problem(f, "log of job", uuid, msg);
	} else if ((long long)st.st_size < size && st.st_size < 2) {
		snprintf(msg, sizeof(msg), "attempt %u: a file of %lld bytes "
		    "cannot hold a log of %lld", attempt,
		    (long long)st.st_size, size);
		problem(f, "log of job", uuid, msg);
	}
	free(path);
}

/*
 * Every log the database counts: jobs.log_size for the current attempt,
 * job_attempts.log_size for the earlier ones. Returns 0 or ADMIN_FAIL.
 */
static int
check_logs(struct fsck *f)
{
	struct db_res	*r = NULL;
	size_t		 i;

	if (db_query(f->a->db, "SELECT j.uuid, j.attempt, j.log_size "
	    "FROM jobs j WHERE j.log_size IS NOT NULL UNION ALL "
	    "SELECT j.uuid, a.attempt, a.log_size FROM job_attempts a "
	    "JOIN jobs j ON j.id = a.job_id WHERE a.log_size IS NOT NULL "
	    "ORDER BY 1, 2", DB_NOARGS, &r) != DB_OK)
		return admin_db_fail(f->a, "listing the logs");
	for (i = 0; i < r->nrows; i++)
		check_log(f, db_res_str(r, i, 0),
		    (unsigned)db_res_int(r, i, 1), db_res_int(r, i, 2));
	db_res_free(r);
	return 0;
}

/*
 * Memberships: a shard of a set that has pilots is in exactly one of them;
 * a shard of a pilot is in the pilot's set. Returns 0 or ADMIN_FAIL.
 */
static int
check_members(struct fsck *f)
{
	struct db_res	*r = NULL;
	char		 msg[128];
	size_t		 i;

	if (db_query(f->a->db,
	    "SELECT d.uuid, s.sha256, COUNT(pm.dataset_id) "
	    "FROM dataset_shards m "
	    "JOIN datasets d ON d.id = m.dataset_id AND d.parent_id IS NULL "
	    "JOIN shards s ON s.id = m.shard_id "
	    "JOIN datasets p ON p.parent_id = d.id "
	    "LEFT JOIN dataset_shards pm ON pm.dataset_id = p.id "
	    "AND pm.shard_id = m.shard_id "
	    "GROUP BY d.uuid, s.sha256 HAVING COUNT(pm.dataset_id) <> 1",
	    DB_NOARGS, &r) != DB_OK)
		return admin_db_fail(f->a, "checking the pilots' shards");
	for (i = 0; i < r->nrows; i++) {
		snprintf(msg, sizeof(msg), "shard %s is in %s of its pilots"
		    " (want one)", db_res_str(r, i, 1), db_res_str(r, i, 2));
		problem(f, "set", db_res_str(r, i, 0), msg);
	}
	db_res_free(r);
	r = NULL;

	if (db_query(f->a->db,
	    "SELECT p.uuid, s.sha256 FROM dataset_shards pm "
	    "JOIN datasets p ON p.id = pm.dataset_id AND p.parent_id IS NOT NULL "
	    "JOIN shards s ON s.id = pm.shard_id "
	    "LEFT JOIN dataset_shards m ON m.dataset_id = p.parent_id "
	    "AND m.shard_id = pm.shard_id WHERE m.dataset_id IS NULL",
	    DB_NOARGS, &r) != DB_OK)
		return admin_db_fail(f->a, "checking the sets' shards");
	for (i = 0; i < r->nrows; i++) {
		snprintf(msg, sizeof(msg), "shard %s is not in its set",
		    db_res_str(r, i, 1));
		problem(f, "pilot", db_res_str(r, i, 0), msg);
	}
	db_res_free(r);
	return 0;
}

/* store_shard_list() callback: note a shard file that has no row. */
static int
note_orphan(void *arg, const char *sha256)
{
	struct fsck	*f = arg;
	struct db_res	*r = NULL;

	if (db_query(f->a->db, "SELECT 1 FROM shards WHERE sha256 = ?",
	    DB_ARGS(DB_STR(sha256)), &r) != DB_OK)
		return -1;
	if (r->nrows == 0) {
		printf("note: shard file %s has no row (st-admin gc removes"
		    " it)\n", sha256);
		f->notes++;
	}
	db_res_free(r);
	return 0;
}

/*
 * joblog_list() callback: note a log file of no job, or of an attempt its
 * job never had (attempt n > 1 is a legitimate file of its job while the
 * job's attempt is n or more).
 */
static int
note_stray_log(void *arg, const char *uuid, unsigned attempt)
{
	struct fsck	*f = arg;
	struct db_res	*r = NULL;

	if (db_query(f->a->db, "SELECT attempt FROM jobs WHERE uuid = ?",
	    DB_ARGS(DB_STR(uuid)), &r) != DB_OK)
		return -1;
	if (r->nrows == 0) {
		printf("note: log file of job %s attempt %u has no job "
		    "(st-admin gc removes it)\n", uuid, attempt);
		f->notes++;
	} else if ((long long)attempt > db_res_int(r, 0, 0)) {
		printf("note: log file of job %s attempt %u: the job has no "
		    "such attempt (st-admin gc removes it)\n", uuid, attempt);
		f->notes++;
	}
	db_res_free(r);
	return 0;
}

/*
 * st-admin fsck [--sizes-only] [--verbose]: read-only; exit 0 when the
 * store and the database agree, 1 when any problem was found or the check
 * could not run, 2 on a usage error.
 */
int
admin_fsck(struct admin *a, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sizes-only",	no_argument,	NULL, 's' },
		{ "verbose",	no_argument,	NULL, 'v' },
		{ NULL,		0,		NULL, 0 },
	};
	struct fsck	 f;
	int		 ch;

	memset(&f, 0, sizeof(f));
	f.a = a;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			f.sizes_only = 1;
			break;
		case 'v':
			f.verbose = 1;
			break;
		default:
			return admin_usage_error(admin_fsck_usage,
			    "fsck: bad option `%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return admin_usage_error(admin_fsck_usage,
		    "fsck: unexpected argument `%s'", argv[optind]);
	if (admin_open(a) != 0)
		return ADMIN_FAIL;
	f.root = a->conf.store_dir;

	if (check_shards(&f) != 0 || check_models(&f) != 0 ||
	    check_logs(&f) != 0 || check_members(&f) != 0)
		return ADMIN_FAIL;
	errno = 0;
	if (store_shard_list(f.root, note_orphan, &f) != 0) {
		admin_warnx("fsck: cannot list %s/shards: %s", f.root,
		    errno != 0 ? strerror(errno) : db_error(a->db));
		return ADMIN_FAIL;
	}

	errno = 0;
	if (joblog_list(f.root, note_stray_log, &f) != 0) {
		admin_warnx("fsck: cannot list %s/logs: %s", f.root,
		    errno != 0 ? strerror(errno) : db_error(a->db));
		return ADMIN_FAIL;
	}

	printf("fsck: %lu shards, %lu models, %lu logs, %llu bytes %s: %lu "
	    "problems, %lu notes\n", f.checked_shards, f.checked_models,
	    f.checked_logs, f.bytes, f.sizes_only ? "sized" : "hashed",
	    f.problems, f.notes);
	return f.problems > 0 ? ADMIN_FAIL : ADMIN_OK;
}

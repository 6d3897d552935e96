/*
 * store.c: the blob store directory: temporary files, content-addressed
 * shard files, crash-safe commits and the listings `st-admin gc` needs.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "store.h"
#include "util.h"

#define DIR_MODE	0750
#define FILE_MODE	0640

/* STORE_NOSPACE for a full disk or quota, STORE_ERROR for anything else. */
static int
rc_of_errno(int e)
{

	return (e == ENOSPC || e == EDQUOT) ? STORE_NOSPACE : STORE_ERROR;
}

/* 1 when c is a lowercase hex digit. */
static int
is_lhex(char c)
{

	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/*
 * See store.h.
 */
int
store_sha256_valid(const char *s, size_t n)
{
	size_t	 i;

	if (s == NULL || n != STORE_SHA256_HEX)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_lhex(s[i]))
			return 0;
	return 1;
}

/*
 * fsync a directory so that a name made or removed in it is durable.
 * File systems that cannot sync a directory (EINVAL) count as success.
 * Returns an enum store_rc.
 */
static int
fsync_dir(const char *path)
{
	int	 fd, e;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return rc_of_errno(errno);
	if (fsync(fd) == -1 && errno != EINVAL) {
		e = errno;
		close(fd);
		errno = e;
		return rc_of_errno(e);
	}
	close(fd);
	return STORE_OK;
}

/*
 * Make directory path (mode 0750) unless it exists; when it was made, fsync
 * parent so the new entry is durable. Returns an enum store_rc.
 */
static int
mkdir_durable(const char *path, const char *parent)
{
	struct stat	 st;

	if (mkdir(path, DIR_MODE) == 0)
		return parent != NULL ? fsync_dir(parent) : STORE_OK;
	if (errno != EEXIST)
		return rc_of_errno(errno);
	if (stat(path, &st) == -1)
		return rc_of_errno(errno);
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return STORE_ERROR;
	}
	return STORE_OK;
}

/*
 * See store.h.
 */
int
store_init(const char *root)
{
	char	*p = NULL;
	int	 rc;

	if ((rc = mkdir_durable(root, NULL)) != STORE_OK)
		return rc;
	p = xasprintf("%s/tmp", root);
	rc = mkdir_durable(p, root);
	free(p);
	if (rc != STORE_OK)
		return rc;
	p = xasprintf("%s/shards", root);
	rc = mkdir_durable(p, root);
	free(p);
	return rc;
}

/*
 * See store.h. The random part comes from the OpenSSL CSPRNG; a clash
 * (EEXIST) is retried with a new name.
 */
int
store_tmp_open(const char *root, const char *what, struct store_tmp *t)
{
	unsigned char	 rnd[8];
	char		 hex[sizeof(rnd) * 2 + 1];
	int		 tries, rc, e;

	t->fd = -1;
	t->path = NULL;
	t->size = 0;
	if ((rc = store_init(root)) != STORE_OK)
		return rc;
	for (tries = 0; tries < 8; tries++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			errno = EIO;
			return STORE_ERROR;
		}
		util_hex(rnd, sizeof(rnd), hex);
		t->path = xasprintf("%s/tmp/st-%s-%ld-%s.tmp", root, what,
		    (long)getpid(), hex);
		t->fd = open(t->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, FILE_MODE);
		if (t->fd != -1)
			return STORE_OK;
		e = errno;
		free(t->path);
		t->path = NULL;
		if (e != EEXIST) {
			errno = e;
			return rc_of_errno(e);
		}
	}
	errno = EEXIST;
	return STORE_ERROR;
}

/*
 * See store.h.
 */
int
store_tmp_write(struct store_tmp *t, const void *p, size_t n)
{
	const char	*c = p;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(t->fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return rc_of_errno(errno);
		}
		c += w;
		n -= (size_t)w;
		t->size += (unsigned long long)w;
	}
	return STORE_OK;
}

/*
 * See store.h.
 */
int
store_tmp_sync(struct store_tmp *t)
{

	if (fsync(t->fd) == -1)
		return rc_of_errno(errno);
	return STORE_OK;
}

/*
 * See store.h.
 */
void
store_tmp_discard(struct store_tmp *t)
{

	if (t->fd != -1)
		close(t->fd);
	t->fd = -1;
	if (t->path != NULL)
		unlink(t->path);
	free(t->path);
	t->path = NULL;
}

/*
 * See store.h.
 */
char *
store_shard_path(const char *root, const char *sha256)
{

	if (sha256 == NULL || !store_sha256_valid(sha256, strlen(sha256)))
		return NULL;
	return xasprintf("%s/shards/%.2s/%.2s/%s.zip", root, sha256,
	    sha256 + 2, sha256);
}

/*
 * See store.h. A hard link refuses to replace an existing final name
 * (EEXIST), which tells "existed" from "new" even when two writers of the
 * same shard race; where the file system has no hard links, an existence
 * check and rename() do the same (same content, so a lost race is harmless).
 */
int
store_tmp_commit_shard(struct store_tmp *t, const char *root,
    const char *sha256, int *existed)
{
	char		*d1 = NULL, *d2 = NULL, *d3 = NULL, *final = NULL;
	struct stat	 st;
	int		 rc = STORE_ERROR, e;

	*existed = 0;
	if ((final = store_shard_path(root, sha256)) == NULL) {
		errno = EINVAL;
		goto err;
	}
	d1 = xasprintf("%s/shards", root);
	d2 = xasprintf("%s/%.2s", d1, sha256);
	d3 = xasprintf("%s/%.2s", d2, sha256 + 2);
	if ((rc = mkdir_durable(d1, root)) != STORE_OK ||
	    (rc = mkdir_durable(d2, d1)) != STORE_OK ||
	    (rc = mkdir_durable(d3, d2)) != STORE_OK)
		goto err;
	if (close(t->fd) == -1) {
		t->fd = -1;
		rc = rc_of_errno(errno);
		goto err;
	}
	t->fd = -1;

	if (link(t->path, final) == 0) {
		unlink(t->path);
	} else if (errno == EEXIST) {
		*existed = 1;
		unlink(t->path);
	} else if (errno == EPERM || errno == EOPNOTSUPP || errno == EMLINK ||
	    errno == ENOSYS) {
		if (lstat(final, &st) == 0) {
			*existed = 1;
			unlink(t->path);
		} else if (errno != ENOENT || rename(t->path, final) == -1) {
			rc = rc_of_errno(errno);
			goto err;
		}
	} else {
		rc = rc_of_errno(errno);
		goto err;
	}
	free(t->path);
	t->path = NULL;
	if (!*existed && (rc = fsync_dir(d3)) != STORE_OK)
		goto out;
	rc = STORE_OK;
	goto out;
err:
	e = errno;
	store_tmp_discard(t);
	errno = e;
out:
	free(final);
	free(d1);
	free(d2);
	free(d3);
	return rc;
}

/*
 * See store.h.
 */
int
store_shard_exists(const char *root, const char *sha256)
{
	char		*p;
	struct stat	 st;
	int		 rc;

	if ((p = store_shard_path(root, sha256)) == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (stat(p, &st) == 0)
		rc = 1;
	else
		rc = errno == ENOENT ? 0 : -1;
	free(p);
	return rc;
}

/*
 * See store.h.
 */
int
store_shard_remove(const char *root, const char *sha256)
{
	char	*p = NULL, *d = NULL;
	int	 rc = STORE_OK;

	if ((p = store_shard_path(root, sha256)) == NULL) {
		errno = EINVAL;
		return STORE_ERROR;
	}
	d = xasprintf("%s/shards/%.2s/%.2s", root, sha256, sha256 + 2);
	if (unlink(p) == -1) {
		if (errno != ENOENT)
			rc = rc_of_errno(errno);
	} else
		rc = fsync_dir(d);
	free(p);
	free(d);
	return rc;
}

/* 1 when name looks like one of our temporary files, else 0. */
static int
tmp_name_ok(const char *name)
{
	size_t	 n = strlen(name);

	return n > 7 && strncmp(name, "st-", 3) == 0 &&
	    strcmp(name + n - 4, ".tmp") == 0 && strchr(name, '/') == NULL;
}

/*
 * See store.h.
 */
int
store_tmp_list_old(const char *root, time_t min_age,
    int (*fn)(void *, const char *, time_t), void *arg)
{
	char		*p = NULL;
	DIR		*dir = NULL;
	struct dirent	*de;
	struct stat	 st;
	time_t		 now = time(NULL), age;
	int		 rc = 0;

	p = xasprintf("%s/tmp", root);
	if ((dir = opendir(p)) == NULL) {
		rc = errno == ENOENT ? 0 : -1;
		goto out;
	}
	while ((errno = 0, de = readdir(dir)) != NULL) {
		if (!tmp_name_ok(de->d_name))
			continue;
		if (fstatat(dirfd(dir), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode))
			continue;
		age = now - st.st_mtime;
		if (age < min_age)
			continue;
		if ((rc = fn(arg, de->d_name, age)) != 0)
			goto out;
	}
	if (errno != 0)
		rc = -1;
out:
	if (dir != NULL)
		closedir(dir);
	free(p);
	return rc;
}

/*
 * See store.h.
 */
int
store_tmp_remove(const char *root, const char *name)
{
	char	*p;
	int	 rc = STORE_OK;

	if (!tmp_name_ok(name)) {
		errno = EINVAL;
		return STORE_ERROR;
	}
	p = xasprintf("%s/tmp/%s", root, name);
	if (unlink(p) == -1 && errno != ENOENT)
		rc = rc_of_errno(errno);
	free(p);
	return rc;
}

/* 1 when name is two lowercase hex digits. */
static int
is_fanout(const char *name)
{

	return is_lhex(name[0]) && is_lhex(name[1]) && name[2] == '\0';
}

/*
 * See store.h. Walks shards/ab/cd/ and reports "<sha256>.zip" files whose
 * name matches the two directories above them.
 */
int
store_shard_list(const char *root, int (*fn)(void *, const char *), void *arg)
{
	char		*top = NULL, *p1 = NULL, *p2 = NULL;
	DIR		*d0 = NULL, *d1 = NULL, *d2 = NULL;
	struct dirent	*e0, *e1, *e2;
	char		 sha[STORE_SHA256_HEX + 1];
	int		 rc = 0;

	top = xasprintf("%s/shards", root);
	if ((d0 = opendir(top)) == NULL) {
		rc = errno == ENOENT ? 0 : -1;
		goto out;
	}
	while ((e0 = readdir(d0)) != NULL) {
		if (!is_fanout(e0->d_name))
			continue;
		p1 = xasprintf("%s/%s", top, e0->d_name);
		if ((d1 = opendir(p1)) == NULL)
			goto next0;
		while ((e1 = readdir(d1)) != NULL) {
			if (!is_fanout(e1->d_name))
				continue;
			p2 = xasprintf("%s/%s", p1, e1->d_name);
			if ((d2 = opendir(p2)) == NULL)
				goto next1;
			while ((e2 = readdir(d2)) != NULL) {
				size_t n = strlen(e2->d_name);

				if (n != STORE_SHA256_HEX + 4 ||
				    strcmp(e2->d_name + STORE_SHA256_HEX,
				    ".zip") != 0)
					continue;
				memcpy(sha, e2->d_name, STORE_SHA256_HEX);
				sha[STORE_SHA256_HEX] = '\0';
				if (!store_sha256_valid(sha, STORE_SHA256_HEX) ||
				    strncmp(sha, e0->d_name, 2) != 0 ||
				    strncmp(sha + 2, e1->d_name, 2) != 0)
					continue;
				if ((rc = fn(arg, sha)) != 0)
					goto out;
			}
			closedir(d2);
			d2 = NULL;
next1:
			free(p2);
			p2 = NULL;
		}
		closedir(d1);
		d1 = NULL;
next0:
		free(p1);
		p1 = NULL;
	}
out:
	if (d2 != NULL)
		closedir(d2);
	if (d1 != NULL)
		closedir(d1);
	if (d0 != NULL)
		closedir(d0);
	free(p2);
	free(p1);
	free(top);
	return rc;
}

/* --- job files: models and logs ---------------------------------------- */

static const char *const job_dirs[] = { "models", "logs" };
static const char *const job_suffixes[] = { "zip", "log" };

/*
 * 1 when s is a canonical lowercase UUID (36 chars, hyphens at 8, 13, 18,
 * 23, lowercase hex elsewhere): the only job names turned into paths.
 */
static int
job_uuid_ok(const char *s)
{
	size_t	 i;

	if (s == NULL || strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!is_lhex(s[i]))
			return 0;
	}
	return 1;
}

/*
 * See store.h.
 */
char *
store_job_path(const char *root, enum store_job_kind kind,
    const char *job_uuid)
{

	if (!job_uuid_ok(job_uuid) || (kind != STORE_JOB_MODEL &&
	    kind != STORE_JOB_LOG))
		return NULL;
	return xasprintf("%s/%s/%.2s/%s.%s", root, job_dirs[kind], job_uuid,
	    job_uuid, job_suffixes[kind]);
}

/*
 * Give the synced temporary file t the final name final, a job file of
 * kind under root (its directories made first), and fsync the directory.
 * t is released in every case. Returns an enum store_rc.
 */
static int
commit_job_file(struct store_tmp *t, const char *root,
    enum store_job_kind kind, const char *job_uuid, const char *final)
{
	char	*d2 = NULL;
	int	 rc, e;

	d2 = xasprintf("%s/%s/%.2s", root, job_dirs[kind], job_uuid);
	if ((rc = store_job_mkdir(root, kind, job_uuid)) != STORE_OK)
		goto err;
	if (close(t->fd) == -1) {
		t->fd = -1;
		rc = rc_of_errno(errno);
		goto err;
	}
	t->fd = -1;
	if (rename(t->path, final) == -1) {
		rc = rc_of_errno(errno);
		goto err;
	}
	free(t->path);
	t->path = NULL;
	rc = fsync_dir(d2);
	goto out;
err:
	e = errno;
	store_tmp_discard(t);
	errno = e;
out:
	free(d2);
	return rc;
}

/*
 * See store.h.
 */
int
store_tmp_commit_job(struct store_tmp *t, const char *root,
    enum store_job_kind kind, const char *job_uuid)
{
	char	*final;
	int	 rc;

	if ((final = store_job_path(root, kind, job_uuid)) == NULL) {
		store_tmp_discard(t);
		errno = EINVAL;
		return STORE_ERROR;
	}
	rc = commit_job_file(t, root, kind, job_uuid, final);
	free(final);
	return rc;
}

/*
 * See store.h.
 */
int
store_job_mkdir(const char *root, enum store_job_kind kind,
    const char *job_uuid)
{
	char	*d1, *d2;
	int	 rc;

	if (!job_uuid_ok(job_uuid) || (kind != STORE_JOB_MODEL &&
	    kind != STORE_JOB_LOG)) {
		errno = EINVAL;
		return STORE_ERROR;
	}
	d1 = xasprintf("%s/%s", root, job_dirs[kind]);
	d2 = xasprintf("%s/%.2s", d1, job_uuid);
	if ((rc = mkdir_durable(d1, root)) == STORE_OK)
		rc = mkdir_durable(d2, d1);
	free(d1);
	free(d2);
	return rc;
}

/*
 * See store.h.
 */
int
store_job_remove(const char *root, enum store_job_kind kind,
    const char *job_uuid)
{
	char	*path;
	int	 rc = STORE_OK;

	if ((path = store_job_path(root, kind, job_uuid)) == NULL) {
		errno = EINVAL;
		return STORE_ERROR;
	}
	if (unlink(path) == -1 && errno != ENOENT)
		rc = rc_of_errno(errno);
	free(path);
	return rc;
}

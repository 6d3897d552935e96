/*
 * joblog.c: the layout of an attempt's log in the blob store (joblog.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "joblog.h"
#include "store.h"
#include "util.h"

/* See joblog.h. */
char *
joblog_path(const char *root, const char *job_uuid, unsigned attempt)
{
	char	*p, *q;

	if (attempt == 0 ||
	    (p = store_job_path(root, STORE_JOB_LOG, job_uuid)) == NULL)
		return NULL;
	if (attempt == 1)
		return p;
	/* ".../<uuid>.log" -> ".../<uuid>.<n>.log" */
	p[strlen(p) - 4] = '\0';
	q = xasprintf("%s.%u.log", p, attempt);
	free(p);
	return q;
}

/* See joblog.h. */
int
joblog_open_write(const char *root, const char *job_uuid, unsigned attempt)
{
	char	*path;
	int	 fd, e;

	if ((path = joblog_path(root, job_uuid, attempt)) == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (store_job_mkdir(root, STORE_JOB_LOG, job_uuid) != STORE_OK) {
		e = errno;
		free(path);
		errno = e;
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	e = errno;
	free(path);
	errno = e;
	return fd;
}

/* pwrite all of n bytes at off (short writes and EINTR handled). */
static int
pwrite_all(int fd, const char *p, size_t n, long long off)
{
	ssize_t	 w;

	while (n > 0) {
		w = pwrite(fd, p, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* See joblog.h. */
int
joblog_write(int fd, long long cap, long long off, const void *p, size_t n)
{
	const char	*c = p;
	long long	 h = cap / 2, t = cap - h, pos, room;
	size_t		 k;

	if (cap < 2 || off < 0) {
		errno = EINVAL;
		return -1;
	}
	while (n > 0) {
		if (off < h) {
			/* The head, up to its end. */
			k = (long long)n < h - off ? n : (size_t)(h - off);
			if (pwrite_all(fd, c, k, off) != 0)
				return -1;
		} else {
			pos = (off - h) % t;
			room = t - pos;
			k = (long long)n < room ? n : (size_t)room;
			/*
			 * Only the last T bytes of a long run matter: skip
			 * what a later part of this same write overwrites.
			 */
			if ((long long)n - (long long)k >= t) {
				c += k;
				n -= k;
				off += (long long)k;
				continue;
			}
			if (pwrite_all(fd, c, k, h + pos) != 0)
				return -1;
		}
		c += k;
		n -= k;
		off += (long long)k;
	}
	return 0;
}

/* See joblog.h. */
long long
joblog_cap(long long conf_cap, long long file_size, long long total)
{
	if (total > file_size && file_size >= 2)
		return file_size;
	return file_size > conf_cap ? file_size : conf_cap;
}

/* See joblog.h. */
long long
joblog_file_size(long long total, long long cap)
{
	return total <= cap ? total : cap;
}

static void
piece(struct joblog_plan *p, long long off, long long len)
{
	if (len <= 0)
		return;
	p->piece[p->npieces].off = off;
	p->piece[p->npieces].len = len;
	p->npieces++;
	p->length += len;
}

/*
 * The ring pieces of the logical bytes [from, total) of a wrapped log of
 * cap file_size (from >= total - T).
 */
static void
tail_pieces(struct joblog_plan *p, long long total, long long cap,
    long long from)
{
	long long	 h = cap / 2, t = cap - h, pos, len, first;

	len = total - from;
	pos = (from - h) % t;
	first = t - pos < len ? t - pos : len;
	piece(p, h + pos, first);
	piece(p, h, len - first);
}

/* See joblog.h. */
int
joblog_plan_whole(long long total, long long file_size, struct joblog_plan *p)
{
	long long	 h, t;
	int		 n;

	memset(p, 0, sizeof(*p));
	if (total < 0 || file_size < 0)
		return -1;
	p->first = 0;
	p->end = total;
	if (total <= file_size) {
		piece(p, 0, total);
		p->marker_after = p->npieces;
		return 0;
	}
	if (file_size < 2)
		return -1;
	h = file_size / 2;
	t = file_size - h;
	piece(p, 0, h);
	p->marker_after = p->npieces;
	n = snprintf(p->marker, sizeof(p->marker), JOBLOG_MARKER_FMT,
	    total - h - t);
	p->length += n;
	tail_pieces(p, total, file_size, total - t);
	return 0;
}

/* See joblog.h. */
int
joblog_plan_range(long long total, long long file_size, long long from,
    struct joblog_plan *p)
{
	long long	 h, t;

	memset(p, 0, sizeof(*p));
	if (total < 0 || file_size < 0 || from < 0)
		return -1;
	if (total > file_size && file_size < 2)
		return -1;
	p->first = p->end = from;
	if (from >= total)
		return 1;
	p->end = total;
	if (total <= file_size) {
		piece(p, from, total - from);
		p->marker_after = p->npieces;
		return 0;
	}
	h = file_size / 2;
	t = file_size - h;
	if (from < h) {
		p->end = h;
		piece(p, from, h - from);
	} else {
		if (from < total - t)
			from = total - t;
		p->first = from;
		tail_pieces(p, total, file_size, from);
	}
	p->marker_after = p->npieces;
	return 0;
}

/*
 * The job and attempt whose log is the file name in ROOT/logs/<fan>, into
 * uuid (37 bytes) and *attempt. Returns 0, or -1 when name is no log's
 * name there: the path is made again by joblog_path() and compared, so
 * the layout's naming rule stays in one place.
 */
static int
log_name(const char *root, const char *fan, const char *name, char *uuid,
    unsigned *attempt)
{
	const char		*p;
	char			*want, *got;
	unsigned long long	 n = 1;
	int			 ok;

	if (strlen(name) < UUID_STR_LEN + 4)
		return -1;
	memcpy(uuid, name, UUID_STR_LEN);
	uuid[UUID_STR_LEN] = '\0';
	p = name + UUID_STR_LEN;
	if (strcmp(p, ".log") != 0) {
		/* ".<n>.log" */
		if (*p++ != '.')
			return -1;
		for (n = 0; *p >= '0' && *p <= '9'; p++)
			if ((n = n * 10 + (unsigned long long)(*p - '0')) >
			    UINT_MAX)
				return -1;
		if (n < 2)
			return -1;
	}
	if ((want = joblog_path(root, uuid, (unsigned)n)) == NULL)
		return -1;
	got = xasprintf("%s/logs/%s/%s", root, fan, name);
	ok = strcmp(want, got) == 0;
	free(want);
	free(got);
	if (!ok)
		return -1;
	*attempt = (unsigned)n;
	return 0;
}

/* See joblog.h. Walks logs/ab/. */
int
joblog_list(const char *root, int (*fn)(void *, const char *, unsigned),
    void *arg)
{
	char		*top = NULL, *sub = NULL;
	DIR		*d0 = NULL, *d1 = NULL;
	struct dirent	*e0, *e1;
	char		 uuid[UUID_STR_LEN + 1];
	unsigned	 attempt;
	int		 rc = 0;

	top = xasprintf("%s/logs", root);
	if ((d0 = opendir(top)) == NULL) {
		rc = errno == ENOENT ? 0 : -1;
		goto out;
	}
	while ((e0 = readdir(d0)) != NULL) {
		if (strlen(e0->d_name) != 2 || e0->d_name[0] == '.')
			continue;
		sub = xasprintf("%s/%s", top, e0->d_name);
		if ((d1 = opendir(sub)) == NULL) {
			free(sub);
			sub = NULL;
			continue;
		}
		while ((e1 = readdir(d1)) != NULL)
			if (log_name(root, e0->d_name, e1->d_name, uuid,
			    &attempt) == 0 &&
			    (rc = fn(arg, uuid, attempt)) != 0)
				goto out;
		closedir(d1);
		d1 = NULL;
		free(sub);
		sub = NULL;
	}
out:
	if (d1 != NULL)
		closedir(d1);
	if (d0 != NULL)
		closedir(d0);
	free(sub);
	free(top);
	return rc;
}

/* See joblog.h. */
int
joblog_remove(const char *root, const char *job_uuid)
{
	char		*first = NULL, *dir = NULL, *p;
	DIR		*d = NULL;
	struct dirent	*e;
	char		 uuid[UUID_STR_LEN + 1], fan[3];
	unsigned	 attempt;
	int		 rc = -1, u, e2;

	if ((first = joblog_path(root, job_uuid, 1)) == NULL) {
		errno = EINVAL;
		return -1;
	}
	dir = xstrdup(first);
	*strrchr(dir, '/') = '\0';
	memcpy(fan, job_uuid, 2);
	fan[2] = '\0';
	if ((d = opendir(dir)) == NULL) {
		rc = errno == ENOENT ? 0 : -1;
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		if (log_name(root, fan, e->d_name, uuid, &attempt) != 0 ||
		    strcmp(uuid, job_uuid) != 0)
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		u = unlink(p);
		free(p);
		if (u == -1 && errno != ENOENT)
			goto out;
	}
	rc = 0;
out:
	if (d != NULL) {
		e2 = errno;
		closedir(d);
		errno = e2;
	}
	free(dir);
	free(first);
	return rc;
}

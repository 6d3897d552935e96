/*
 * cli-pack.c: a folder cut into zip shards of at most 10 MiB (DESIGN, "Data
 * sets and shards"; issue 6, `dataset add`).
 *
 * The split is repeatable: files are listed in byte order of their relative
 * names, shuffled with a fixed seed (so neighbouring files, often alike,
 * spread over shards and pilots), then cut in order into groups whose worst
 * case zip size stays within the limit. The zips are deterministic: entries
 * in byte order, a fixed DOS time (1980-01-01 00:00), mode 0644, deflate at
 * zlib's default level; so the same files give the same bytes and the same
 * shard id (the SHA-256 of the zip).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zip.h>

#include "cli.h"
#include "util.h"

#define READ_CHUNK	(256 * 1024)

/* Append a copy of the file (name owned by the list afterwards). */
static void
files_add(struct cli_files *f, char *name, const struct stat *st)
{
	struct cli_file	*x;

	f->v = xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
	x = &f->v[f->n++];
	memset(x, 0, sizeof(*x));
	x->name = name;
	x->size = (uint64_t)st->st_size;
	x->mtime_s = (int64_t)st->st_mtim.tv_sec;
	x->mtime_ns = st->st_mtim.tv_nsec;
}

/*
 * Walk dir/rel (rel "" for the top) adding the regular files below it.
 * Returns 0 or -1 (err set).
 */
static int
walk(const char *dir, const char *rel, const char *skip, struct cli_files *out,
    char *err, size_t errsz)
{
	DIR		*d = NULL;
	struct dirent	*e;
	struct stat	 st;
	char		*path, *name = NULL, *tmpskip = NULL;
	int		 ret = -1;

	path = rel[0] == '\0' ? xstrdup(dir) : xasprintf("%s/%s", dir, rel);
	if ((d = opendir(path)) == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (skip != NULL)
		tmpskip = xasprintf("%s.tmp", skip);
	for (;;) {
		errno = 0;
		if ((e = readdir(d)) == NULL) {
			if (errno != 0) {
				snprintf(err, errsz, "%s: %s", path,
				    strerror(errno));
				goto out;
			}
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		name = rel[0] == '\0' ? xstrdup(e->d_name) :
		    xasprintf("%s/%s", rel, e->d_name);
		if (skip != NULL && (strcmp(name, skip) == 0 ||
		    strcmp(name, tmpskip) == 0)) {
			free(name);
			name = NULL;
			continue;
		}
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW)
		    == -1) {
			snprintf(err, errsz, "%s/%s: %s", dir, name,
			    strerror(errno));
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			if (walk(dir, name, skip, out, err, errsz) == -1)
				goto out;
			free(name);
		} else if (S_ISREG(st.st_mode))
			files_add(out, name, &st);
		else
			free(name);	/* links, sockets, devices: not data */
		name = NULL;
	}
	ret = 0;
out:
	free(name);
	free(tmpskip);
	free(path);
	if (d != NULL)
		closedir(d);
	return ret;
}

static int
cmp_file(const void *a, const void *b)
{

	return strcmp(((const struct cli_file *)a)->name,
	    ((const struct cli_file *)b)->name);
}

/* Every regular file under dir, sorted (see cli.h). Returns 0 or -1. */
int
cli_scan(const char *dir, const char *skip, struct cli_files *out, char *err,
    size_t errsz)
{

	memset(out, 0, sizeof(*out));
	if (walk(dir, "", skip, out, err, errsz) == -1) {
		cli_files_free(out);
		return -1;
	}
	if (out->n > 0)
		qsort(out->v, out->n, sizeof(*out->v), cmp_file);
	return 0;
}

void
cli_files_free(struct cli_files *f)
{
	size_t	 i;

	for (i = 0; i < f->n; i++)
		free(f->v[i].name);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

/*
 * Worst case bytes of one entry: local header (30) and central directory
 * entry (46), the name in both, room for extra fields and a data
 * descriptor, and deflate's bound (zlib's deflateBound for raw deflate,
 * rounded up): size + size/4096 + size/16384 + 64.
 */
uint64_t
cli_entry_bound(const char *name, uint64_t size)
{
	uint64_t	 n = strlen(name);

	return 30 + 46 + 2 * n + 2 * 64 + 24 +
	    size + (size >> 12) + (size >> 14) + 64;
}

/* splitmix64: a small, well-mixed generator for the fixed-seed shuffle. */
static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t	 z;

	z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Fisher-Yates with a fixed seed (see cli.h). */
void
cli_shuffle(struct cli_file **v, size_t n, uint64_t seed)
{
	struct cli_file	*t;
	uint64_t	 s = seed;
	size_t		 i, j;

	for (i = n; i > 1; i--) {
		j = (size_t)(splitmix64(&s) % i);
		t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/*
 * Cut v into consecutive groups whose zips fit max (see cli.h). Returns 0,
 * or -1 when one file alone does not fit.
 */
int
cli_plan(struct cli_file *const *v, size_t n, uint64_t max, size_t **starts,
    size_t *ngroups, char *err, size_t errsz)
{
	uint64_t	 cur = 0, b;
	size_t		 i, g = 0;

	*starts = xcalloc(n + 1, sizeof(size_t));
	*ngroups = 0;
	for (i = 0; i < n; i++) {
		b = cli_entry_bound(v[i]->name, v[i]->size);
		if (b + CLI_ZIP_FIXED > max) {
			snprintf(err, errsz, "%s is %llu bytes: every file must "
			    "fit in one shard of %llu bytes (zipped, with its "
			    "name)", v[i]->name, (unsigned long long)v[i]->size,
			    (unsigned long long)max);
			free(*starts);
			*starts = NULL;
			return -1;
		}
		if (i == 0 || cur + b > max) {
			(*starts)[g++] = i;
			cur = CLI_ZIP_FIXED;
		}
		cur += b;
	}
	(*starts)[g] = n;
	*ngroups = g;
	return 0;
}

void
cli_sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char	 md[32];
	unsigned int	 mdlen = 0;

	EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
	util_hex(md, 32, out);
}

/* SHA-256 of dir/name (see cli.h). Returns 0 or -1. */
int
cli_file_sha256(const char *dir, const char *name, char out[65])
{
	EVP_MD_CTX	*md = NULL;
	unsigned char	 buf[READ_CHUNK > 65536 ? 65536 : READ_CHUNK];
	unsigned char	 d[32];
	char		*path;
	ssize_t		 r;
	int		 fd = -1, ret = -1;

	path = xasprintf("%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		goto out;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (;;) {
		r = read(fd, buf, sizeof(buf));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto out;
		if (r == 0)
			break;
		if (EVP_DigestUpdate(md, buf, (size_t)r) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(md, d, NULL) != 1)
		goto out;
	util_hex(d, 32, out);
	ret = 0;
out:
	EVP_MD_CTX_free(md);
	if (fd != -1)
		close(fd);
	free(path);
	return ret;
}

/*
 * Read all of dir/name, at most max bytes (more is an error: the file grew
 * past what its shard was planned for). *p (caller frees) and *n receive
 * the bytes. Returns 0 or -1 (err set).
 */
static int
read_file(const char *dir, const char *name, uint64_t max, unsigned char **p,
    size_t *n, char *err, size_t errsz)
{
	char		*path;
	size_t		 cap = READ_CHUNK, len = 0;
	ssize_t		 r;
	int		 fd = -1, ret = -1;

	*p = NULL;
	path = xasprintf("%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		goto out;
	}
	*p = xmalloc(cap);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			*p = xrealloc(*p, cap);
		}
		r = read(fd, *p + len, cap - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max) {
			snprintf(err, errsz, "%s grew while being packed; run "
			    "the command again", path);
			goto out;
		}
	}
	*n = len;
	ret = 0;
out:
	if (ret == -1) {
		free(*p);
		*p = NULL;
	}
	if (fd != -1)
		close(fd);
	free(path);
	return ret;
}

static int
cmp_ptr_name(const void *a, const void *b)
{

	return strcmp((*(struct cli_file *const *)a)->name,
	    (*(struct cli_file *const *)b)->name);
}

/*
 * Build the deterministic zip of files in memory (see cli.h). Returns 0 or
 * -1 (err set).
 */
int
cli_pack(const char *dir, struct cli_file *const *files, size_t n,
    unsigned char **zip, size_t *ziplen, char sha[65], char *err, size_t errsz)
{
	struct cli_file	**sorted = NULL;
	unsigned char	**data = NULL;
	zip_source_t	 *src = NULL, *s;
	zip_t		 *za = NULL;
	zip_error_t	  ze;
	zip_stat_t	  st;
	zip_int64_t	  idx, got;
	size_t		  i, len;
	int		  opened = 0, ret = -1;

	*zip = NULL;
	*ziplen = 0;
	zip_error_init(&ze);
	sorted = xcalloc(n, sizeof(*sorted));
	data = xcalloc(n, sizeof(*data));
	memcpy(sorted, files, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_ptr_name);

	if ((src = zip_source_buffer_create(NULL, 0, 0, &ze)) == NULL)
		goto zerr;
	zip_source_keep(src);
	if ((za = zip_open_from_source(src, ZIP_TRUNCATE, &ze)) == NULL)
		goto zerr;
	for (i = 0; i < n; i++) {
		if (read_file(dir, sorted[i]->name, CLI_SHARD_MAX, &data[i],
		    &len, err, errsz) == -1)
			goto out;
		cli_sha256_hex(data[i], len, sorted[i]->sha256);
		sorted[i]->size = len;
		if ((s = zip_source_buffer(za, data[i], len, 0)) == NULL)
			goto zaerr;
		if ((idx = zip_file_add(za, sorted[i]->name, s,
		    ZIP_FL_ENC_GUESS)) < 0) {
			zip_source_free(s);
			goto zaerr;
		}
		if (zip_set_file_compression(za, (zip_uint64_t)idx,
		    ZIP_CM_DEFLATE, 0) == -1 ||
		    zip_file_set_dostime(za, (zip_uint64_t)idx, 0,
		    (1 << 5) | 1, 0) == -1 ||
		    zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0,
		    ZIP_OPSYS_UNIX, (zip_uint32_t)0100644 << 16) == -1)
			goto zaerr;
	}
	if (zip_close(za) == -1)
		goto zaerr;
	za = NULL;

	if (zip_source_open(src) == -1)
		goto srcerr;
	opened = 1;
	if (zip_source_stat(src, &st) == -1 || !(st.valid & ZIP_STAT_SIZE))
		goto srcerr;
	if (st.size > CLI_SHARD_MAX) {
		snprintf(err, errsz, "a shard came out at %llu bytes, over the "
		    "limit (files grew while being packed?)",
		    (unsigned long long)st.size);
		goto out;
	}
	*zip = xmalloc(st.size > 0 ? st.size : 1);
	for (len = 0; len < st.size; len += (size_t)got)
		if ((got = zip_source_read(src, *zip + len,
		    st.size - len)) <= 0)
			goto srcerr;
	*ziplen = len;
	cli_sha256_hex(*zip, *ziplen, sha);
	ret = 0;
	goto out;
zerr:
	snprintf(err, errsz, "zip: %s", zip_error_strerror(&ze));
	goto out;
zaerr:
	snprintf(err, errsz, "zip: %s", zip_strerror(za));
	goto out;
srcerr:
	snprintf(err, errsz, "zip: %s",
	    zip_error_strerror(zip_source_error(src)));
out:
	if (ret == -1) {
		free(*zip);
		*zip = NULL;
		*ziplen = 0;
	}
	if (za != NULL)
		zip_discard(za);
	if (opened)
		zip_source_close(src);
	if (src != NULL)
		zip_source_free(src);
	for (i = 0; i < n; i++)
		free(data[i]);
	free(data);
	free(sorted);
	zip_error_fini(&ze);
	return ret;
}

/*
 * cli-imprint.c: the imprint of `dataset add`, a JSON file (by default
 * .singularity-imprint.json in the folder) that remembers which file went
 * into which shard and which shards the server confirmed:
 *
 *   {"version": 1, "set": {"name": N, "uuid": U},
 *    "shards": [{"id": SHA256, "size": BYTES, "uploaded": BOOL,
 *                "files": [{"name", "size", "mtime", "mtime_ns", "sha256"}]}],
 *    "retired": [SHA256, ...]}
 *
 * "retired" lists shards that were uploaded but no longer match the folder:
 * they are deleted from the set once the new shards are in, and stay listed
 * until the server confirms, so an interrupted run finishes the job.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "util.h"

#define IMPRINT_MAX	(256 * 1024 * 1024)

/* Whether s is 64 lowercase hex digits. */
static int
is_sha(const char *s)
{
	size_t	 i;

	for (i = 0; i < 64; i++)
		if (s[i] == '\0' || strchr("0123456789abcdef", s[i]) == NULL)
			return 0;
	return s[64] == '\0';
}

/* A whole number >= 0 that a double holds exactly; -1 otherwise. */
static int
get_u64(const cJSON *o, const char *key, uint64_t *out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	    v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
	    floor(v->valuedouble) != v->valuedouble)
		return -1;
	*out = (uint64_t)v->valuedouble;
	return 0;
}

/* Parse one file entry into f. Returns 0 or -1. */
static int
parse_file(const cJSON *o, struct cli_file *f)
{
	const cJSON	*name, *sha;
	uint64_t	 s, ns;

	memset(f, 0, sizeof(*f));
	name = cJSON_GetObjectItemCaseSensitive(o, "name");
	sha = cJSON_GetObjectItemCaseSensitive(o, "sha256");
	if (!cJSON_IsString(name) || name->valuestring == NULL ||
	    name->valuestring[0] == '\0' ||
	    get_u64(o, "size", &f->size) == -1 ||
	    get_u64(o, "mtime", &s) == -1 ||
	    get_u64(o, "mtime_ns", &ns) == -1 || ns >= 1000000000)
		return -1;
	f->mtime_s = (int64_t)s;
	f->mtime_ns = (long)ns;
	if (cJSON_IsString(sha) && sha->valuestring != NULL &&
	    is_sha(sha->valuestring))
		memcpy(f->sha256, sha->valuestring, 65);
	f->name = xstrdup(name->valuestring);
	return 0;
}

/* Parse imprint text (see cli.h). Returns 0 or -1 (err set). */
int
cli_imprint_parse(struct cli_imprint *imp, const char *text, size_t len,
    char *err, size_t errsz)
{
	cJSON		*root = NULL;
	const cJSON	*set, *v, *shards, *sh, *files, *f, *ret_;
	struct cli_ishard *s;
	int		 ret = -1;

	memset(imp, 0, sizeof(*imp));
	if ((root = cJSON_ParseWithLength(text, len)) == NULL ||
	    !cJSON_IsObject(root)) {
		snprintf(err, errsz, "not a JSON object");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!cJSON_IsNumber(v) || v->valuedouble != 1) {
		snprintf(err, errsz, "unknown version");
		goto out;
	}
	set = cJSON_GetObjectItemCaseSensitive(root, "set");
	if ((v = cJSON_GetObjectItemCaseSensitive(set, "name")) != NULL &&
	    cJSON_IsString(v) && v->valuestring != NULL)
		imp->set_name = xstrdup(v->valuestring);
	if ((v = cJSON_GetObjectItemCaseSensitive(set, "uuid")) != NULL &&
	    cJSON_IsString(v) && v->valuestring != NULL)
		imp->set_uuid = xstrdup(v->valuestring);
	shards = cJSON_GetObjectItemCaseSensitive(root, "shards");
	if (!cJSON_IsArray(shards)) {
		snprintf(err, errsz, "no \"shards\" array");
		goto out;
	}
	cJSON_ArrayForEach(sh, shards) {
		imp->shards = xrealloc(imp->shards,
		    (imp->n + 1) * sizeof(*imp->shards));
		s = &imp->shards[imp->n++];
		memset(s, 0, sizeof(*s));
		v = cJSON_GetObjectItemCaseSensitive(sh, "id");
		if (cJSON_IsString(v) && v->valuestring != NULL &&
		    is_sha(v->valuestring))
			memcpy(s->id, v->valuestring, 65);
		else if (v != NULL && !cJSON_IsNull(v)) {
			snprintf(err, errsz, "a shard id is not a SHA-256");
			goto out;
		}
		if (get_u64(sh, "size", &s->size) == -1)
			s->size = 0;
		s->uploaded = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sh,
		    "uploaded")) && s->id[0] != '\0';
		files = cJSON_GetObjectItemCaseSensitive(sh, "files");
		if (!cJSON_IsArray(files)) {
			snprintf(err, errsz, "a shard without \"files\"");
			goto out;
		}
		cJSON_ArrayForEach(f, files) {
			s->files = xrealloc(s->files,
			    (s->nfiles + 1) * sizeof(*s->files));
			if (parse_file(f, &s->files[s->nfiles]) == -1) {
				snprintf(err, errsz, "a malformed file entry");
				goto out;
			}
			s->nfiles++;
		}
	}
	ret_ = cJSON_GetObjectItemCaseSensitive(root, "retired");
	cJSON_ArrayForEach(v, ret_) {
		if (!cJSON_IsString(v) || v->valuestring == NULL ||
		    !is_sha(v->valuestring)) {
			snprintf(err, errsz, "a retired id is not a SHA-256");
			goto out;
		}
		cli_imprint_retire(imp, v->valuestring);
	}
	ret = 0;
out:
	if (ret == -1)
		cli_imprint_free(imp);
	cJSON_Delete(root);
	return ret;
}

/* The imprint as JSON text (see cli.h). Caller frees; NULL on failure. */
char *
cli_imprint_text(const struct cli_imprint *imp)
{
	cJSON		*root = NULL, *set, *arr, *sh, *files, *f, *ret_;
	const struct cli_ishard *s;
	const struct cli_file *x;
	char		*txt = NULL, *out = NULL;
	size_t		 i, k;

	if ((root = cJSON_CreateObject()) == NULL ||
	    cJSON_AddNumberToObject(root, "version", 1) == NULL ||
	    (set = cJSON_AddObjectToObject(root, "set")) == NULL ||
	    (imp->set_name != NULL && cJSON_AddStringToObject(set, "name",
	    imp->set_name) == NULL) ||
	    (imp->set_uuid != NULL && cJSON_AddStringToObject(set, "uuid",
	    imp->set_uuid) == NULL) ||
	    (arr = cJSON_AddArrayToObject(root, "shards")) == NULL)
		goto out;
	for (i = 0; i < imp->n; i++) {
		s = &imp->shards[i];
		if ((sh = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(arr, sh);
		if ((s->id[0] != '\0' ?
		    cJSON_AddStringToObject(sh, "id", s->id) :
		    cJSON_AddNullToObject(sh, "id")) == NULL ||
		    cJSON_AddNumberToObject(sh, "size", (double)s->size) ==
		    NULL ||
		    cJSON_AddBoolToObject(sh, "uploaded", s->uploaded) ==
		    NULL ||
		    (files = cJSON_AddArrayToObject(sh, "files")) == NULL)
			goto out;
		for (k = 0; k < s->nfiles; k++) {
			x = &s->files[k];
			if ((f = cJSON_CreateObject()) == NULL)
				goto out;
			cJSON_AddItemToArray(files, f);
			if (cJSON_AddStringToObject(f, "name", x->name) ==
			    NULL ||
			    cJSON_AddNumberToObject(f, "size",
			    (double)x->size) == NULL ||
			    cJSON_AddNumberToObject(f, "mtime",
			    (double)x->mtime_s) == NULL ||
			    cJSON_AddNumberToObject(f, "mtime_ns",
			    (double)x->mtime_ns) == NULL ||
			    cJSON_AddStringToObject(f, "sha256",
			    x->sha256) == NULL)
				goto out;
		}
	}
	if ((ret_ = cJSON_AddArrayToObject(root, "retired")) == NULL)
		goto out;
	for (i = 0; i < imp->nretired; i++)
		if (!cJSON_AddItemToArray(ret_,
		    cJSON_CreateString(imp->retired[i])))
			goto out;
	if ((txt = cJSON_Print(root)) == NULL)
		goto out;
	out = xasprintf("%s\n", txt);
out:
	if (txt != NULL)
		cJSON_free(txt);
	cJSON_Delete(root);
	return out;
}

/* Read the imprint at path (see cli.h). Returns 0 or -1 (err set). */
int
cli_imprint_load(struct cli_imprint *imp, const char *path, char *err,
    size_t errsz)
{
	struct stat	 st;
	char		*buf = NULL, perr[128];
	size_t		 len = 0;
	ssize_t		 r;
	int		 fd = -1, ret = -1;

	memset(imp, 0, sizeof(*imp));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || st.st_size > IMPRINT_MAX) {
		snprintf(err, errsz, "%s: unreadable or too large", path);
		goto out;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errsz, "%s: %s", path,
			    r == 0 ? "short read" : strerror(errno));
			goto out;
		}
		len += (size_t)r;
	}
	buf[len] = '\0';
	if (cli_imprint_parse(imp, buf, len, perr, sizeof(perr)) == -1) {
		snprintf(err, errsz, "%s: %s (remove it to start afresh)",
		    path, perr);
		goto out;
	}
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

/* Write the imprint atomically (see cli.h). Returns 0 or -1 (errno). */
int
cli_imprint_save(const struct cli_imprint *imp, const char *path)
{
	char	*txt = NULL, *tmp = NULL;
	size_t	 len, off = 0;
	ssize_t	 w;
	int	 fd = -1, ret = -1, e;

	if ((txt = cli_imprint_text(imp)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	tmp = xasprintf("%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		goto out;
	len = strlen(txt);
	while (off < len) {
		w = write(fd, txt + off, len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			goto out;
		off += (size_t)w;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto out;
	ret = 0;
out:
	e = errno;
	if (fd != -1)
		close(fd);
	if (ret == -1)
		unlink(tmp);
	free(tmp);
	free(txt);
	errno = e;
	return ret;
}

/* Free the shard's files. */
static void
shard_free(struct cli_ishard *s)
{
	size_t	 k;

	for (k = 0; k < s->nfiles; k++)
		free(s->files[k].name);
	free(s->files);
	s->files = NULL;
	s->nfiles = 0;
}

void
cli_imprint_free(struct cli_imprint *imp)
{
	size_t	 i;

	for (i = 0; i < imp->n; i++)
		shard_free(&imp->shards[i]);
	free(imp->shards);
	free(imp->retired);
	free(imp->set_name);
	free(imp->set_uuid);
	memset(imp, 0, sizeof(*imp));
}

/* Append a shard made of copies of files (see cli.h). */
struct cli_ishard *
cli_imprint_add(struct cli_imprint *imp, struct cli_file *const *files,
    size_t n)
{
	struct cli_ishard	*s;
	size_t			 k;

	imp->shards = xrealloc(imp->shards, (imp->n + 1) * sizeof(*s));
	s = &imp->shards[imp->n++];
	memset(s, 0, sizeof(*s));
	s->files = xcalloc(n > 0 ? n : 1, sizeof(*s->files));
	for (k = 0; k < n; k++) {
		s->files[k] = *files[k];
		s->files[k].name = xstrdup(files[k]->name);
		s->files[k].placed = 0;
	}
	s->nfiles = n;
	return s;
}

/* Append id to the retired list once (see cli.h). */
void
cli_imprint_retire(struct cli_imprint *imp, const char *id)
{
	size_t	 i;

	for (i = 0; i < imp->nretired; i++)
		if (strcmp(imp->retired[i], id) == 0)
			return;
	imp->retired = xrealloc(imp->retired,
	    (imp->nretired + 1) * sizeof(*imp->retired));
	memcpy(imp->retired[imp->nretired++], id, 65);
}

static int
cmp_name_key(const void *key, const void *elem)
{

	return strcmp(key, ((const struct cli_file *)elem)->name);
}

/* The file of that name in cur (sorted by name), or NULL. */
static struct cli_file *
find(struct cli_files *cur, const char *name)
{

	if (cur->n == 0)
		return NULL;
	return bsearch(name, cur->v, cur->n, sizeof(*cur->v), cmp_name_key);
}

/*
 * Whether shard s still matches the folder: every file there, not claimed
 * by an earlier shard, same size, and same mtime or same content. Refreshes
 * the mtimes of files whose content is unchanged.
 */
static int
intact(struct cli_ishard *s, const char *dir, struct cli_files *cur)
{
	struct cli_file	*c, *f;
	char		 sha[65];
	size_t		 k;

	if (s->nfiles == 0)
		return 0;
	for (k = 0; k < s->nfiles; k++) {
		f = &s->files[k];
		if ((c = find(cur, f->name)) == NULL || c->placed ||
		    c->size != f->size)
			return 0;
		if (c->mtime_s == f->mtime_s && c->mtime_ns == f->mtime_ns)
			continue;
		if (f->sha256[0] == '\0' ||
		    cli_file_sha256(dir, f->name, sha) == -1 ||
		    strcmp(sha, f->sha256) != 0)
			return 0;
	}
	for (k = 0; k < s->nfiles; k++) {
		f = &s->files[k];
		c = find(cur, f->name);
		c->placed = 1;
		memcpy(c->sha256, f->sha256, sizeof(c->sha256));
		f->mtime_s = c->mtime_s;
		f->mtime_ns = c->mtime_ns;
	}
	return 1;
}

/*
 * Compare the imprint with the folder (see cli.h): keep intact shards, drop
 * the others (retiring uploaded ones), and hand back the files to pack as
 * groups: one per dropped shard (its files still present, old order), then
 * one of the files no shard held, shuffled. Returns 0.
 */
int
cli_imprint_diff(struct cli_imprint *imp, const char *dir,
    struct cli_files *cur, struct cli_file ***loose, size_t *nloose,
    size_t **group_ends, size_t *ngroups, size_t *nbroken)
{
	char		*keep;
	struct cli_file	*c, **l;
	size_t		 i, k, n = 0, g = 0, kept = 0, first_new;

	keep = xcalloc(imp->n > 0 ? imp->n : 1, 1);
	l = xcalloc(cur->n > 0 ? cur->n : 1, sizeof(*l));
	*group_ends = xcalloc(imp->n + 2, sizeof(size_t));
	for (i = 0; i < cur->n; i++)
		cur->v[i].placed = 0;
	for (i = 0; i < imp->n; i++)
		keep[i] = (char)intact(&imp->shards[i], dir, cur);
	*nbroken = 0;
	for (i = 0; i < imp->n; i++) {
		if (keep[i])
			continue;
		(*nbroken)++;
		if (imp->shards[i].uploaded)
			cli_imprint_retire(imp, imp->shards[i].id);
		for (k = 0; k < imp->shards[i].nfiles; k++) {
			c = find(cur, imp->shards[i].files[k].name);
			if (c == NULL || c->placed)
				continue;
			c->placed = 1;
			l[n++] = c;
		}
		if (n > (g > 0 ? (*group_ends)[g - 1] : 0))
			(*group_ends)[g++] = n;
	}
	first_new = n;
	for (i = 0; i < cur->n; i++)
		if (!cur->v[i].placed) {
			cur->v[i].placed = 1;
			l[n++] = &cur->v[i];
		}
	cli_shuffle(l + first_new, n - first_new, CLI_SHUFFLE_SEED);
	if (n > first_new)
		(*group_ends)[g++] = n;
	/* The intact shards stay, in their order. */
	for (i = 0; i < imp->n; i++) {
		if (keep[i])
			imp->shards[kept++] = imp->shards[i];
		else
			shard_free(&imp->shards[i]);
	}
	imp->n = kept;
	/* A retired id that is current again (content back) stays. */
	for (i = 0; i < imp->nretired; ) {
		for (k = 0; k < imp->n; k++)
			if (imp->shards[k].uploaded &&
			    strcmp(imp->shards[k].id, imp->retired[i]) == 0)
				break;
		if (k < imp->n) {
			memmove(&imp->retired[i], &imp->retired[i + 1],
			    (imp->nretired - i - 1) * sizeof(*imp->retired));
			imp->nretired--;
		} else
			i++;
	}
	free(keep);
	*loose = l;
	*nloose = n;
	*ngroups = g;
	return 0;
}

/*
 * collect.c: what a job leaves behind (DESIGN "The dispatcher"): /output,
 * fetched through the archive endpoint into a temporary file (step.c),
 * read here: result.json (a JSON object of at most 64 KiB) made the result
 * and every other regular file zipped into the model in the blob store.
 *
 * Bounded whatever the job wrote: the files of /output together may hold
 * at most [dispatcher] output_max bytes (past it the attempt ends ERRORED
 * "output larger than N bytes"); each file is copied from the tar to a
 * temporary file of the store in small pieces and the zip is built on disk
 * by libzip from those files, so memory does not grow with the output.
 * The reading and zipping run in a child process (collect_spawn()), so a
 * large model never holds the dispatcher's loop.
 *
 * Member names: a name that climbs (".."), or that holds a backslash or a
 * control byte (a zip slip for tools that read "\" as a separator, or a
 * name that rewrites a terminal), is left out of the model and counted in
 * o->skipped.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <zip.h>

#include "dispatch.h"
#include "log.h"
#include "store.h"

#define COPY_CHUNK	(64 * 1024)
#define SUMMARY_MAX	(2 * 1024 * 1024)	/* a child's summary */

/* See dispatch.h. */
void
disp_outputs_free(struct disp_outputs *o)
{
	free(o->result);
	free(o->result_error);
	memset(o, 0, sizeof(*o));
}

/*
 * A member name of /output for the model: the path below "output/",
 * without "." components. NULL for the directory itself or a name that is
 * not below output/; NULL with *unsafe set for a name that climbs ("..")
 * or holds a backslash or a control byte.
 */
static char *
member_name(const char *path, int *unsafe)
{
	char		*s, *p, *tok, *save = NULL, *out;
	const char	*c;
	size_t		 o = 0;

	*unsafe = 0;
	if (strncmp(path, "output/", 7) != 0)
		return NULL;
	for (c = path; *c != '\0'; c++)
		if (*c == '\\' || (unsigned char)*c < 0x20 || *c == 0x7f) {
			*unsafe = 1;
			return NULL;
		}
	s = xstrdup(path + 7);
	out = xcalloc(1, strlen(s) + 1);
	for (p = s; (tok = strtok_r(p, "/", &save)) != NULL; p = NULL) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			free(s);
			free(out);
			*unsafe = 1;
			return NULL;
		}
		o += (size_t)sprintf(out + o, "%s%s", o ? "/" : "", tok);
	}
	free(s);
	if (o == 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* result.json: a JSON object of at most DISP_RESULT_MAX bytes. */
static void
take_result(struct disp_outputs *o, struct archive *a, long long size)
{
	cJSON		*j = NULL;
	char		*buf = NULL;
	la_ssize_t	 got;
	long long	 n = 0;

	if (size < 0 || size > DISP_RESULT_MAX) {
		o->result_error = xasprintf("/output/result.json is larger "
		    "than %d KiB", DISP_RESULT_MAX / 1024);
		return;
	}
	buf = xmalloc((size_t)size + 1);
	while (n < size && (got = archive_read_data(a, buf + n,
	    (size_t)(size - n))) > 0)
		n += got;
	if (n != size) {
		o->result_error = xstrdup("/output/result.json could not be "
		    "read");
		free(buf);
		return;
	}
	if ((j = cJSON_ParseWithLength(buf, (size_t)size)) == NULL ||
	    !cJSON_IsObject(j)) {
		o->result_error = xstrdup("/output/result.json is not a JSON "
		    "object");
	} else if ((o->result = cJSON_PrintUnformatted(j)) == NULL)
		abort();
	cJSON_Delete(j);
	free(buf);
}

/* A file of /output copied out of the tar, waiting for the zip. */
struct member {
	char	*name;
	char	*path;		/* a temporary file of the store */
};

/* Copy the current entry's data to a new temporary file. Returns 0, -1. */
static int
copy_entry(struct disp *d, struct archive *a, long long size,
    struct member *m)
{
	struct store_tmp	 t = { .fd = -1 };
	char			 buf[COPY_CHUNK];
	la_ssize_t		 got;
	long long		 n = 0;

	if (store_tmp_open(d->conf.store_dir, "member", &t) != STORE_OK)
		return -1;
	while (n < size && (got = archive_read_data(a, buf, sizeof(buf))) >
	    0) {
		if (store_tmp_write(&t, buf, (size_t)got) != STORE_OK) {
			store_tmp_discard(&t);
			return -1;
		}
		n += got;
	}
	if (n != size) {
		store_tmp_discard(&t);
		errno = EIO;
		return -1;
	}
	close(t.fd);
	m->path = t.path;	/* kept: the zip reads it, then it goes */
	return 0;
}

/* The SHA-256 of file path in hex (65 bytes), read in pieces. */
static int
file_sha256(const char *path, char *hex, long long *size)
{
	EVP_MD_CTX	*md;
	unsigned char	 dig[EVP_MAX_MD_SIZE], buf[COPY_CHUNK];
	unsigned int	 dlen;
	ssize_t		 got;
	int		 fd, rc = -1;

	*size = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	while ((got = read(fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(md, buf, (size_t)got);
		*size += got;
	}
	if (got < 0 || EVP_DigestFinal_ex(md, dig, &dlen) != 1)
		goto out;
	util_hex(dig, dlen, hex);
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	close(fd);
	return rc;
}

/*
 * Zip the members into a temporary file of the store, then give it the
 * model's name. Returns 0 or -1.
 */
static int
zip_members(struct disp *d, const struct disp_job *j, struct member *m,
    size_t n, struct disp_outputs *o)
{
	struct store_tmp	 t = { .fd = -1 };
	zip_t			*za = NULL;
	zip_source_t		*zs;
	zip_error_t		 ze;
	size_t			 i;
	int			 err = 0, rc = -1;

	if (store_tmp_open(d->conf.store_dir, "model", &t) != STORE_OK) {
		log_error("job %s: a temporary file for its model: %s",
		    j->uuid, strerror(errno));
		return -1;
	}
	if ((za = zip_open(t.path, ZIP_TRUNCATE, &err)) == NULL) {
		zip_error_init_with_code(&ze, err);
		log_error("job %s: libzip: %s", j->uuid,
		    zip_error_strerror(&ze));
		zip_error_fini(&ze);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((zs = zip_source_file(za, m[i].path, 0, -1)) == NULL)
			goto zerr;
		if (zip_file_add(za, m[i].name, zs, ZIP_FL_ENC_UTF_8 |
		    ZIP_FL_OVERWRITE) < 0) {
			zip_source_free(zs);
			goto zerr;
		}
	}
	/* libzip writes the archive next to t.path and renames it there. */
	if (zip_close(za) != 0)
		goto zerr;
	za = NULL;
	close(t.fd);
	if ((t.fd = open(t.path, O_RDWR | O_CLOEXEC)) == -1 ||
	    file_sha256(t.path, o->model_sha256, &o->model_size) != 0 ||
	    store_tmp_sync(&t) != STORE_OK) {
		log_error("job %s: reading its model back: %s", j->uuid,
		    strerror(errno));
		o->model_sha256[0] = '\0';
		goto out;
	}
	if (store_tmp_commit_job(&t, d->conf.store_dir, STORE_JOB_MODEL,
	    j->uuid) != STORE_OK) {
		log_error("job %s: storing its model: %s", j->uuid,
		    strerror(errno));
		o->model_sha256[0] = '\0';
		goto out;
	}
	rc = 0;
	goto out;
zerr:
	log_error("job %s: building the model zip: %s", j->uuid,
	    zip_strerror(za));
out:
	if (za != NULL)
		zip_discard(za);
	store_tmp_discard(&t);
	return rc;
}

/* See dispatch.h. */
int
collect_outputs(struct disp *d, const struct disp_job *j, FILE *f,
    struct disp_outputs *o)
{
	struct archive		*a = NULL;
	struct archive_entry	*e;
	struct member		*m = NULL;
	size_t			 nm = 0, i;
	char			*name;
	long long		 total = 0, size;
	int			 rc = -1, r, seen_result = 0, unsafe;

	memset(o, 0, sizeof(*o));
	if (f == NULL) {
		o->result_error = xstrdup("the job left no /output");
		return 0;
	}
	if ((a = archive_read_new()) == NULL ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open_FILE(a, f) != ARCHIVE_OK) {
		log_error("job %s: reading /output: %s", j->uuid,
		    a ? archive_error_string(a) : "libarchive");
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK ||
	    r == ARCHIVE_WARN) {
		name = member_name(archive_entry_pathname(e), &unsafe);
		if (archive_entry_filetype(e) != AE_IFREG || name == NULL) {
			if (unsafe && archive_entry_filetype(e) == AE_IFREG)
				o->skipped++;
			free(name);
			continue;
		}
		size = archive_entry_size(e);
		if (strcmp(name, "result.json") == 0) {
			seen_result = 1;
			take_result(o, a, size);
			free(name);
			continue;
		}
		if (size < 0 || (total += size) >
		    (long long)d->conf.disp_output_max) {
			o->too_large = 1;
			free(name);
			rc = 0;
			goto out;
		}
		m = xrealloc(m, (nm + 1) * sizeof(*m));
		m[nm].name = name;
		m[nm].path = NULL;
		if (copy_entry(d, a, size, &m[nm++]) != 0) {
			log_error("job %s: copying /output/%s: %s", j->uuid,
			    name, strerror(errno));
			goto out;
		}
	}
	if (r != ARCHIVE_EOF) {
		log_error("job %s: reading /output: %s", j->uuid,
		    archive_error_string(a));
		goto out;
	}
	if (!seen_result && o->result_error == NULL)
		o->result_error = xstrdup("the job wrote no "
		    "/output/result.json");
	o->nfiles = (int)nm;
	if (nm > 0 && zip_members(d, j, m, nm, o) != 0)
		goto out;
	rc = 0;
out:
	for (i = 0; i < nm; i++) {
		if (m[i].path != NULL)
			unlink(m[i].path);
		free(m[i].path);
		free(m[i].name);
	}
	free(m);
	if (a != NULL)
		archive_read_free(a);
	return rc;
}

/* --- in a child process -------------------------------------------------------- */

/* The summary a child writes of what it collected (JSON). */
static char *
summary_json(const struct disp_outputs *o, int ok)
{
	cJSON	*s;
	char	*txt;

	s = cJSON_CreateObject();
	cJSON_AddBoolToObject(s, "ok", ok);
	if (o->result != NULL)
		cJSON_AddStringToObject(s, "result", o->result);
	if (o->result_error != NULL)
		cJSON_AddStringToObject(s, "result_error", o->result_error);
	cJSON_AddStringToObject(s, "model_sha256", o->model_sha256);
	cJSON_AddNumberToObject(s, "model_size", (double)o->model_size);
	cJSON_AddNumberToObject(s, "nfiles", o->nfiles);
	cJSON_AddNumberToObject(s, "skipped", o->skipped);
	cJSON_AddBoolToObject(s, "too_large", o->too_large);
	if ((txt = cJSON_PrintUnformatted(s)) == NULL)
		abort();
	cJSON_Delete(s);
	return txt;
}

/* See dispatch.h. */
int
collect_spawn(struct disp *d, const struct disp_job *j, FILE *tar,
    pid_t *pid, char **sumpath)
{
	struct store_tmp	 t = { .fd = -1 };
	struct disp_outputs	 o;
	FILE			*f;
	char			*txt;
	size_t			 len;
	int			 ok;

	*pid = -1;
	*sumpath = NULL;
	if (store_tmp_open(d->conf.store_dir, "collect", &t) != STORE_OK) {
		log_error("job %s: a temporary file: %s", j->uuid,
		    strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((*pid = fork()) == -1) {
		log_error("job %s: fork: %s", j->uuid, strerror(errno));
		store_tmp_discard(&t);
		return -1;
	}
	if (*pid == 0) {
		/*
		 * The child: its own descriptors only (the tar, the summary,
		 * the log), never the database connection (nor the lock).
		 */
		int	 tfd, sfd;

		/* The log's descriptor is the parent's: let it go first. */
		log_init("st-dispatch", "", d->conf.log_level);
		/* Above 4 first: either may be 3 or 4 already. */
		if ((tfd = fcntl(fileno(tar), F_DUPFD, 10)) == -1 ||
		    (sfd = fcntl(t.fd, F_DUPFD, 10)) == -1 ||
		    dup2(tfd, 3) == -1 || dup2(sfd, 4) == -1)
			_exit(2);
		closefrom(5);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		log_init("st-dispatch", d->conf.log_file, d->conf.log_level);
		if ((f = fdopen(3, "rb")) == NULL || fseeko(f, 0, SEEK_SET))
			_exit(2);
		ok = collect_outputs(d, j, f, &o) == 0;
		txt = summary_json(&o, ok);
		len = strlen(txt);
		if (write(4, txt, len) != (ssize_t)len)
			_exit(2);
		_exit(0);
	}
	close(t.fd);
	t.fd = -1;
	*sumpath = t.path;
	return 0;
}

/* See dispatch.h. */
int
collect_reap(struct disp *d, const struct disp_job *j, pid_t pid,
    const char *sumpath, struct disp_outputs *o)
{
	struct rusage	 ru;
	cJSON		*s = NULL;
	const cJSON	*v;
	FILE		*f = NULL;
	char		*buf = NULL;
	size_t		 n;
	pid_t		 w;
	int		 status, rc = -1;

	memset(o, 0, sizeof(*o));
	if ((w = wait4(pid, &status, WNOHANG, &ru)) == 0)
		return 0;
	if (w != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_error("job %s: collecting /output failed (process %ld: "
		    "%s %d)", j->uuid, (long)pid, w == pid &&
		    WIFSIGNALED(status) ? "signal" : "status", w != pid ? -1 :
		    WIFSIGNALED(status) ? WTERMSIG(status) :
		    WEXITSTATUS(status));
		goto out;
	}
	/* A result of 64 KiB escaped twice at most: far below 2 MiB. */
	if ((f = fopen(sumpath, "rb")) == NULL)
		goto out;
	buf = xmalloc(SUMMARY_MAX);
	n = fread(buf, 1, SUMMARY_MAX, f);
	if ((s = cJSON_ParseWithLength(buf, n)) == NULL ||
	    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "ok")))
		goto out;
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(s, "result")))
		o->result = xstrdup(v->valuestring);
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(s,
	    "result_error")))
		o->result_error = xstrdup(v->valuestring);
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(s,
	    "model_sha256")))
		snprintf(o->model_sha256, sizeof(o->model_sha256), "%s",
		    v->valuestring);
	o->model_size = (long long)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(s, "model_size"));
	o->nfiles = (int)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(s, "nfiles"));
	o->skipped = (int)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(s, "skipped"));
	o->too_large = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s,
	    "too_large"));
	if (o->model_sha256[0] != '\0')
		disp_say(d, "job %s: model of %d file%s, %lld bytes "
		    "(collected with %ld kB of memory at most)", j->uuid,
		    o->nfiles, o->nfiles == 1 ? "" : "s", o->model_size,
		    ru.ru_maxrss);
	rc = 1;
out:
	if (rc < 0)
		disp_outputs_free(o);
	cJSON_Delete(s);
	free(buf);
	if (f != NULL)
		fclose(f);
	unlink(sumpath);
	return rc;
}

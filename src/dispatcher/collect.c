/*
 * collect.c: what a job leaves behind (DESIGN "The dispatcher"): /output,
 * fetched through the archive endpoint (step.c), read here: result.json (a
 * JSON object of at most 64 KiB) made the result and every other file
 * zipped into the model in the blob store.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <zip.h>

#include "dispatch.h"
#include "log.h"
#include "store.h"

/* See dispatch.h. */
void
disp_outputs_free(struct disp_outputs *o)
{
	free(o->result);
	free(o->result_error);
	memset(o, 0, sizeof(*o));
}

/*
 * Write the n bytes of the model zip at p to the store as j's model; sha
 * (65 bytes) receives its SHA-256. Returns 0 or -1.
 */
static int
store_model(struct disp *d, const struct disp_job *j, const void *p,
    size_t n, char *sha)
{
	struct store_tmp	 t = { .fd = -1 };
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	int			 rc = -1;

	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1)
		return -1;
	util_hex(md, mdlen, sha);
	if (store_tmp_open(d->conf.store_dir, "model", &t) != STORE_OK ||
	    store_tmp_write(&t, p, n) != STORE_OK ||
	    store_tmp_sync(&t) != STORE_OK) {
		log_error("job %s: writing to the blob store: %s", j->uuid,
		    strerror(errno));
		goto out;
	}
	if (store_tmp_commit_job(&t, d->conf.store_dir, STORE_JOB_MODEL,
	    j->uuid) != STORE_OK) {
		log_error("job %s: storing its model: %s", j->uuid,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	store_tmp_discard(&t);
	return rc;
}

/*
 * A member name of /output for the model: the path below "output/",
 * without "." components; NULL for the directory itself or a name that
 * climbs ("..") or is not below output/.
 */
static char *
member_name(const char *path)
{
	char	*s, *p, *tok, *save = NULL, *out;
	size_t	 o = 0;

	if (strncmp(path, "output/", 7) != 0)
		return NULL;
	s = xstrdup(path + 7);
	out = xcalloc(1, strlen(s) + 1);
	for (p = s; (tok = strtok_r(p, "/", &save)) != NULL; p = NULL) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			free(s);
			free(out);
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

/* Read the current entry's data (at most max bytes) into *out. */
static int
read_entry(struct archive *a, long long size, long long max, char **out)
{
	char		*buf;
	la_ssize_t	 got;
	long long	 o = 0;

	*out = NULL;
	if (size < 0 || size > max)
		return -1;
	buf = xmalloc((size_t)size + 1);
	while (o < size && (got = archive_read_data(a, buf + o,
	    (size_t)(size - o))) > 0)
		o += got;
	if (o != size) {
		free(buf);
		return -1;
	}
	buf[size] = '\0';
	*out = buf;
	return 0;
}

/* result.json: a JSON object of at most DISP_RESULT_MAX bytes. */
static void
take_result(struct disp_outputs *o, struct archive *a, long long size)
{
	cJSON	*j = NULL;
	char	*buf = NULL;

	if (size > DISP_RESULT_MAX) {
		o->result_error = xasprintf("/output/result.json is larger "
		    "than %d KiB", DISP_RESULT_MAX / 1024);
		return;
	}
	if (read_entry(a, size, DISP_RESULT_MAX, &buf) != 0) {
		o->result_error = xstrdup("/output/result.json could not be "
		    "read");
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

/* See dispatch.h. */
int
collect_outputs(struct disp *d, const struct disp_job *j, FILE *f,
    struct disp_outputs *o)
{
	struct archive		*a = NULL;
	struct archive_entry	*e;
	zip_source_t		*zs = NULL, *fs;
	zip_t			*za = NULL;
	zip_error_t		 ze;
	zip_stat_t		 zst;
	char			*member = NULL, *data = NULL;
	char			*zbuf = NULL;
	long long		 total = 0, size;
	int			 rc = -1, r, seen_result = 0;

	memset(o, 0, sizeof(*o));
	zip_error_init(&ze);
	if (f == NULL) {
		o->result_error = xstrdup("the job left no /output");
		rc = 0;
		goto out;
	}

	if ((zs = zip_source_buffer_create(NULL, 0, 0, &ze)) == NULL ||
	    (za = zip_open_from_source(zs, ZIP_TRUNCATE, &ze)) == NULL) {
		log_error("job %s: libzip: %s", j->uuid, zip_error_strerror(&ze));
		goto out;
	}
	zip_source_keep(zs);

	if ((a = archive_read_new()) == NULL ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open_FILE(a, f) != ARCHIVE_OK) {
		log_error("job %s: reading /output: %s", j->uuid,
		    a ? archive_error_string(a) : "libarchive");
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK ||
	    r == ARCHIVE_WARN) {
		free(member);
		if ((member = member_name(archive_entry_pathname(e))) == NULL ||
		    archive_entry_filetype(e) != AE_IFREG)
			continue;
		size = archive_entry_size(e);
		if (strcmp(member, "result.json") == 0) {
			seen_result = 1;
			take_result(o, a, size);
			continue;
		}
		total += size;
		if (total > DISP_OUTPUT_MAX ||
		    read_entry(a, size, DISP_OUTPUT_MAX, &data) != 0) {
			log_error("job %s: /output/%s cannot be read",
			    j->uuid, member);
			goto out;
		}
		if ((fs = zip_source_buffer(za, data, (zip_uint64_t)size,
		    1)) == NULL) {
			free(data);
			data = NULL;
			goto zerr;
		}
		data = NULL;	/* owned by fs */
		if (zip_file_add(za, member, fs, ZIP_FL_ENC_UTF_8 |
		    ZIP_FL_OVERWRITE) < 0) {
			zip_source_free(fs);
			goto zerr;
		}
		o->nfiles++;
	}
	if (r != ARCHIVE_EOF) {
		log_error("job %s: reading /output: %s", j->uuid,
		    archive_error_string(a));
		goto out;
	}
	if (!seen_result && o->result_error == NULL)
		o->result_error = xstrdup("the job wrote no "
		    "/output/result.json");

	if (zip_close(za) != 0)
		goto zerr;
	za = NULL;
	if (o->nfiles > 0) {
		if (zip_source_stat(zs, &zst) != 0 ||
		    !(zst.valid & ZIP_STAT_SIZE) ||
		    zip_source_open(zs) != 0)
			goto zerr;
		zbuf = xmalloc(zst.size + 1);
		if (zip_source_read(zs, zbuf, zst.size) !=
		    (zip_int64_t)zst.size) {
			zip_source_close(zs);
			goto zerr;
		}
		zip_source_close(zs);
		if (store_model(d, j, zbuf, zst.size, o->model_sha256) != 0) {
			o->model_sha256[0] = '\0';
			goto out;
		}
		o->model_size = (long long)zst.size;
		disp_say(d, "job %s: model of %d file%s, %lld bytes",
		    j->uuid, o->nfiles, o->nfiles == 1 ? "" : "s",
		    o->model_size);
	}
	rc = 0;
	goto out;
zerr:
	log_error("job %s: building the model zip: %s", j->uuid,
	    za ? zip_strerror(za) : zip_error_strerror(&ze));
out:
	if (za != NULL)
		zip_discard(za);
	if (zs != NULL)
		zip_source_free(zs);
	if (a != NULL)
		archive_read_free(a);
	zip_error_fini(&ze);
	free(zbuf);
	free(member);
	free(data);
	return rc;
}

/*
 * launch.c: a placed job's container (DESIGN "The dispatcher": launch):
 * the image (pulled when the host lacks it), the container of the job's
 * attempt (st-job-<uuid>[-<n>]) with its limits, labels and environment, the job's shards and manifest
 * under /data and an empty /output through the archive endpoint, start.
 *
 * Every step may be redone: a container that exists is reused, files put
 * again replace themselves, a started container is left alone.
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

#include "dispatch.h"
#include "log.h"
#include "store.h"

/* A shard of the job's set. */
struct shard {
	char		 sha256[65];
	long long	 size;
};

/* Add a string to an array; aborts on exhaustion. */
static void
arr_str(cJSON *arr, const char *s)
{
	if (!cJSON_AddItemToArray(arr, cJSON_CreateString(s)))
		abort();
}

/* "NAME=value" into the Env array. */
static void
env_add(cJSON *env, const char *name, const char *value)
{
	char	*s;

	s = xasprintf("%s=%s", name, value);
	arr_str(env, s);
	free(s);
}

/*
 * The body of POST /containers/create for j on h (caller frees).
 */
static char *
create_body(const struct disp *d, const struct disp_host *h,
    const struct disp_job *j)
{
	cJSON		*o, *hc, *a, *lab, *env, *dr, *req, *caps;
	cJSON		*uenv, *u;
	char		*ref, *s, *p, *tok, *save = NULL, num[16];
	long long	 mem;

	o = cJSON_CreateObject();
	ref = xasprintf("%s:%s", j->image, j->tag);
	cJSON_AddStringToObject(o, "Image", ref);
	free(ref);
	a = cJSON_AddArrayToObject(o, "Cmd");
	arr_str(a, "/bin/sh");
	arr_str(a, "-c");
	arr_str(a, j->command);
	cJSON_AddBoolToObject(o, "Tty", 0);
	cJSON_AddBoolToObject(o, "OpenStdin", 0);
	cJSON_AddBoolToObject(o, "AttachStdin", 0);
	cJSON_AddBoolToObject(o, "AttachStdout", 0);
	cJSON_AddBoolToObject(o, "AttachStderr", 0);

	env = cJSON_AddArrayToObject(o, "Env");
	env_add(env, "SINGULARITY_JOB_ID", j->uuid);
	env_add(env, "SINGULARITY_BATCH_ID", j->batch_uuid);
	env_add(env, "SINGULARITY_MODE", j->pilot ? "pilot" : "production");
	env_add(env, "SINGULARITY_DATA_DIR", "/data");
	env_add(env, "SINGULARITY_OUTPUT_DIR", "/output");
	snprintf(num, sizeof(num), "%u", j->attempt);
	env_add(env, "SINGULARITY_ATTEMPT", num);
	if (h->env_runtime)
		env_add(env, "CUDA_VISIBLE_DEVICES", j->gpu_devices != NULL ?
		    j->gpu_devices : "");
	if (h->env_runtime && j->gpu_devices != NULL)
		env_add(env, "NVIDIA_VISIBLE_DEVICES", j->gpu_devices);
	/* The job's own variables (checked by POST /batch) after ours. */
	if (j->env != NULL && (uenv = cJSON_Parse(j->env)) != NULL) {
		cJSON_ArrayForEach(u, uenv)
			if (cJSON_IsString(u) && u->string != NULL &&
			    strncmp(u->string, "SINGULARITY_", 12) != 0)
				env_add(env, u->string, u->valuestring);
		cJSON_Delete(uenv);
	}

	lab = cJSON_AddObjectToObject(o, "Labels");
	cJSON_AddStringToObject(lab, "singularity.job", j->uuid);
	cJSON_AddStringToObject(lab, "singularity.batch", j->batch_uuid);
	cJSON_AddStringToObject(lab, "singularity.attempt", num);
	cJSON_AddStringToObject(lab, "singularity.host", h->name);

	hc = cJSON_AddObjectToObject(o, "HostConfig");
	cJSON_AddNumberToObject(hc, "NanoCpus", (double)j->cpu_m * 1e6);
	/* RAM in GiB (ram_m thousandths of a GB). */
	mem = (long long)((double)j->ram_m * 1073741824.0 / 1000.0);
	if (mem > 0) {
		cJSON_AddNumberToObject(hc, "Memory", (double)mem);
		cJSON_AddNumberToObject(hc, "MemorySwap", (double)mem);
	}
	cJSON_AddNumberToObject(hc, "PidsLimit", d->conf.disp_pids_limit);
	a = cJSON_AddArrayToObject(hc, "CapDrop");
	arr_str(a, "ALL");
	a = cJSON_AddArrayToObject(hc, "SecurityOpt");
	arr_str(a, "no-new-privileges");
	cJSON_AddStringToObject(hc, "NetworkMode", d->conf.disp_network_mode);
	cJSON_AddBoolToObject(hc, "Privileged", 0);
	cJSON_AddBoolToObject(hc, "AutoRemove", 0);
	cJSON_AddItemToObject(hc, "Binds", cJSON_CreateArray());
	a = cJSON_AddObjectToObject(hc, "RestartPolicy");
	cJSON_AddStringToObject(a, "Name", "no");
	if (!h->env_runtime && j->gpu_devices != NULL) {
		dr = cJSON_AddArrayToObject(hc, "DeviceRequests");
		req = cJSON_CreateObject();
		cJSON_AddItemToArray(dr, req);
		cJSON_AddStringToObject(req, "Driver", "nvidia");
		a = cJSON_AddArrayToObject(req, "DeviceIDs");
		s = xstrdup(j->gpu_devices);
		for (p = s; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL)
			arr_str(a, tok);
		free(s);
		caps = cJSON_AddArrayToObject(req, "Capabilities");
		a = cJSON_CreateArray();
		arr_str(a, "gpu");
		cJSON_AddItemToArray(caps, a);
	}
	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		abort();
	cJSON_Delete(o);
	return s;
}

/* The shards of the job's set, in *out (caller frees). Returns 0 or -1. */
static int
shards_of(struct disp *d, const struct disp_job *j, struct shard **out,
    size_t *n)
{
	struct db_res	*r = NULL;
	size_t		 i;

	*out = NULL;
	*n = 0;
	if (db_query(d->db, "SELECT s.sha256, s.size FROM dataset_shards ds "
	    "JOIN shards s ON s.id = ds.shard_id WHERE ds.dataset_id = ? "
	    "ORDER BY s.sha256", DB_ARGS(DB_INT(j->dataset_id)), &r) != DB_OK)
		return -1;
	*out = xcalloc(r->nrows + 1, sizeof(**out));
	for (i = 0; i < r->nrows; i++) {
		snprintf((*out)[i].sha256, sizeof((*out)[i].sha256), "%s",
		    db_res_str(r, i, 0));
		(*out)[i].size = db_res_int(r, i, 1);
	}
	*n = r->nrows;
	db_res_free(r);
	return 0;
}

/* /data/manifest.json (caller frees). */
static char *
manifest(const struct disp_job *j, const struct shard *s, size_t n)
{
	cJSON	*o, *a, *e;
	char	*txt, *path;
	size_t	 i;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "job_id", j->uuid);
	cJSON_AddStringToObject(o, "batch_id", j->batch_uuid);
	cJSON_AddStringToObject(o, "mode", j->pilot ? "pilot" : "production");
	cJSON_AddStringToObject(o, "data_set_id", j->dataset_uuid);
	a = cJSON_AddArrayToObject(o, "shards");
	for (i = 0; i < n; i++) {
		e = cJSON_CreateObject();
		cJSON_AddItemToArray(a, e);
		cJSON_AddStringToObject(e, "sha256", s[i].sha256);
		cJSON_AddNumberToObject(e, "size", (double)s[i].size);
		path = xasprintf("/data/%s.zip", s[i].sha256);
		cJSON_AddStringToObject(e, "path", path);
		free(path);
	}
	if ((txt = cJSON_Print(o)) == NULL)
		abort();
	cJSON_Delete(o);
	return txt;
}

/* A directory entry in the tar. Returns 0 or -1. */
static int
tar_dir(struct archive *a, const char *name, int mode)
{
	struct archive_entry	*e;
	int			 rc;

	e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, mode);
	archive_entry_set_mtime(e, time(NULL), 0);
	rc = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -1;
	archive_entry_free(e);
	return rc;
}

/* A file entry from memory. Returns 0 or -1. */
static int
tar_mem(struct archive *a, const char *name, const char *p, size_t n)
{
	struct archive_entry	*e;
	int			 rc = -1;

	e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)n);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (archive_write_header(a, e) == ARCHIVE_OK &&
	    archive_write_data(a, p, n) == (la_ssize_t)n)
		rc = 0;
	archive_entry_free(e);
	return rc;
}

/*
 * A file entry copied from path. Returns 0, 1 when the file is missing or
 * has another size than expected, -1 on a write error.
 */
static int
tar_file(struct archive *a, const char *name, const char *path,
    long long size)
{
	struct archive_entry	*e = NULL;
	FILE			*f = NULL;
	char			 buf[65536];
	size_t			 got;
	long long		 total = 0;
	int			 rc = -1;

	if ((f = fopen(path, "rb")) == NULL)
		return 1;
	if (fseeko(f, 0, SEEK_END) != 0 || ftello(f) != size ||
	    fseeko(f, 0, SEEK_SET) != 0) {
		rc = 1;
		goto out;
	}
	e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0444);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		goto out;
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (archive_write_data(a, buf, got) != (la_ssize_t)got)
			goto out;
		total += (long long)got;
	}
	if (ferror(f) || total != size) {
		rc = 1;
		goto out;
	}
	rc = 0;
out:
	archive_entry_free(e);
	fclose(f);
	return rc;
}

/*
 * Build the tar of /data (every shard, the manifest) and an empty /output
 * into a temporary file. Returns 0 with *out open at offset 0 and *size
 * set; 1 with a reason in why (the job cannot run); -1 on a local failure.
 */
static int
data_tar(struct disp *d, const struct disp_job *j, FILE **out,
    long long *size, char *why, size_t whylen)
{
	struct archive	*a = NULL;
	struct shard	*s = NULL;
	FILE		*f = NULL;
	char		*man = NULL, *path = NULL, *name = NULL;
	size_t		 n = 0, i;
	int		 rc = -1, frc;

	*out = NULL;
	if (j->dataset_id == 0) {
		snprintf(why, whylen, "the job's data set no longer exists");
		return 1;
	}
	if (shards_of(d, j, &s, &n) != 0) {
		log_error("job %s: reading its shards: %s", j->uuid,
		    db_error(d->db));
		return -1;
	}
	if ((f = tmpfile()) == NULL) {
		log_error("job %s: tmpfile: %s", j->uuid, strerror(errno));
		goto out;
	}
	if ((a = archive_write_new()) == NULL ||
	    archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_FILE(a, f) != ARCHIVE_OK)
		goto out;
	if (tar_dir(a, "data", 0755) != 0 || tar_dir(a, "output", 0777) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		free(path);
		free(name);
		name = NULL;
		if ((path = store_shard_path(d->conf.store_dir,
		    s[i].sha256)) == NULL) {
			snprintf(why, whylen, "shard %s has an invalid name",
			    s[i].sha256);
			rc = 1;
			goto out;
		}
		name = xasprintf("data/%s.zip", s[i].sha256);
		if ((frc = tar_file(a, name, path, s[i].size)) != 0) {
			if (frc > 0) {
				snprintf(why, whylen, "shard %s is missing "
				    "from the blob store", s[i].sha256);
				rc = 1;
			}
			goto out;
		}
	}
	man = manifest(j, s, n);
	if (tar_mem(a, "data/manifest.json", man, strlen(man)) != 0)
		goto out;
	if (archive_write_close(a) != ARCHIVE_OK)
		goto out;
	if (fflush(f) != 0 || (*size = ftello(f)) < 0 ||
	    fseeko(f, 0, SEEK_SET) != 0)
		goto out;
	*out = f;
	f = NULL;
	rc = 0;
out:
	if (rc < 0 && a != NULL)
		log_error("job %s: building its data archive: %s", j->uuid,
		    archive_error_string(a) ? archive_error_string(a) :
		    strerror(errno));
	if (a != NULL)
		archive_write_free(a);
	if (f != NULL)
		fclose(f);
	free(man);
	free(path);
	free(name);
	free(s);
	return rc;
}

/* Map a Docker failure: unreachable -1 (retry), else 1 with why. */
static int
docker_fail(struct disp_host *h, const struct disp_job *j, const char *what,
    int drc, char *why, size_t whylen)
{
	if (drc == DOCKER_UNREACHABLE) {
		log_warn("job %s: %s", j->uuid, docker_error(h->dk));
		return -1;
	}
	snprintf(why, whylen, "%s: %s", what, docker_error(h->dk));
	return 1;
}

/* See dispatch.h. */
int
disp_launch(struct disp *d, struct disp_host *h, struct disp_job *j,
    char *why, size_t whylen, const char **cls)
{
	struct docker_state	 st;
	struct db_res		*r = NULL;
	FILE			*tar = NULL;
	char			 name[64], id[129], *ref = NULL, *body = NULL;
	char			 what[512];
	long long		 size = 0;
	int			 drc, rc = -1;

	*cls = NULL;
	disp_container_name(j, name);
	drc = docker_inspect(h->dk, name, &st);
	if (drc == DOCKER_OK && strcmp(st.status, "created") != 0)
		return 0;	/* started already */
	if (drc != DOCKER_OK && drc != DOCKER_NOT_FOUND)
		return docker_fail(h, j, "inspecting the container", drc,
		    why, whylen);

	if (drc == DOCKER_NOT_FOUND) {
		ref = xasprintf("%s:%s", j->image, j->tag);
		drc = docker_image_inspect(h->dk, ref);
		if (drc == DOCKER_NOT_FOUND) {
			disp_say(d, "job %s: pulling %s on host %s", j->uuid,
			    ref, h->name);
			drc = docker_image_pull(h->dk, j->image, j->tag);
			if (drc == DOCKER_OK &&
			    (drc = docker_image_inspect(h->dk, ref)) ==
			    DOCKER_NOT_FOUND)
				drc = DOCKER_ERROR;
		}
		if (drc != DOCKER_OK) {
			snprintf(what, sizeof(what), "image %s cannot be had "
			    "on host %s", ref, h->name);
			rc = docker_fail(h, j, what, drc, why, whylen);
			if (rc > 0)
				*cls = "image_pull";
			goto out;
		}
		body = create_body(d, h, j);
		drc = docker_create(h->dk, name, body, id, sizeof(id));
		if (drc != DOCKER_OK && drc != DOCKER_CONFLICT) {
			snprintf(what, sizeof(what), "host %s refused the "
			    "container", h->name);
			rc = docker_fail(h, j, what, drc, why, whylen);
			goto out;
		}
		if (drc == DOCKER_CONFLICT) {
			/* It exists after all: look at it again. */
			drc = docker_inspect(h->dk, name, &st);
			if (drc != DOCKER_OK)
				goto out;
			if (strcmp(st.status, "created") != 0) {
				rc = 0;
				goto out;
			}
		}
		disp_say(d, "job %s: container %s created on host %s",
		    j->uuid, name, h->name);
	}

	if ((rc = data_tar(d, j, &tar, &size, why, whylen)) != 0)
		goto out;
	rc = -1;
	drc = docker_archive_put(h->dk, name, "/", tar, size);
	if (drc != DOCKER_OK) {
		rc = docker_fail(h, j, "putting the data into the container",
		    drc, why, whylen);
		goto out;
	}

	/* A cancel may have come meanwhile: then never start. */
	if (db_query(d->db, "SELECT status FROM jobs WHERE id = ?",
	    DB_ARGS(DB_INT(j->id)), &r) != DB_OK || r->nrows != 1)
		goto out;
	if (strcmp(db_res_str(r, 0, 0), "PENDING") != 0) {
		disp_say(d, "job %s is %s now: not started", j->uuid,
		    db_res_str(r, 0, 0));
		goto out;
	}
	drc = docker_start(h->dk, name);
	if (drc != DOCKER_OK) {
		snprintf(what, sizeof(what), "host %s could not start the "
		    "container", h->name);
		rc = docker_fail(h, j, what, drc, why, whylen);
		goto out;
	}
	disp_say(d, "job %s: started on host %s (%lld bytes of data)",
	    j->uuid, h->name, size);
	rc = 0;
out:
	db_res_free(r);
	if (tar != NULL)
		fclose(tar);
	free(body);
	free(ref);
	return rc;
}

/*
 * launch.c: the container of a job's attempt (DESIGN "The dispatcher":
 * launch): st-job-<uuid>[-<n>] with its limits, labels and environment,
 * its data set's cache view mounted read-only at /data (cache.c), and an
 * empty /output put in through the archive endpoint before it starts.
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

#include "batch.h"
#include "dispatch.h"
#include "log.h"

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
 * "0,1,...": as many indices from 0 as devices holds (caller frees): how
 * CUDA numbers the GPUs the nvidia runtime gave a container.
 */
static char *
local_indices(const char *devices)
{
	char	*out;
	size_t	 n = 1, i, o = 0;

	for (i = 0; devices[i] != '\0'; i++)
		n += devices[i] == ',';
	out = xmalloc(n * 12 + 1);
	out[0] = '\0';
	for (i = 0; i < n; i++)
		o += (size_t)sprintf(out + o, "%s%zu", i ? "," : "", i);
	return out;
}

/* See dispatch.h. */
char *
launch_create_body(const struct disp *d, const struct disp_host *h,
    const struct disp_job *j)
{
	cJSON		*o, *hc, *a, *lab, *env, *dr, *req, *caps;
	cJSON		*uenv, *u;
	char		*ref, *s, *p, *tok, *save = NULL, num[16], *local;
	char		 logsz[32];
	cJSON		*lc, *lcc;
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
	/*
	 * The job's own variables (checked by POST /batch) after ours; a
	 * reserved name (batch_env_reserved()) stored before the rule was
	 * there is dropped here too.
	 */
	if (j->env != NULL && (uenv = cJSON_Parse(j->env)) != NULL) {
		cJSON_ArrayForEach(u, uenv)
			if (cJSON_IsString(u) && u->string != NULL &&
			    !batch_env_reserved(u->string, strlen(u->string)))
				env_add(env, u->string, u->valuestring);
		cJSON_Delete(uenv);
	}
	/*
	 * Last, so that nothing before can change them (the image's own
	 * NVIDIA_VISIBLE_DEVICES=all of every CUDA base image included): the
	 * GPUs the container sees are exactly the job's, or none ("void").
	 * On an `env` host both name the host's device indices; under the
	 * nvidia runtime NVIDIA_VISIBLE_DEVICES does, and CUDA numbers the
	 * devices the container sees from 0.
	 */
	if (j->gpu_devices == NULL) {
		env_add(env, "NVIDIA_VISIBLE_DEVICES", "void");
		env_add(env, "CUDA_VISIBLE_DEVICES", "");
	} else {
		env_add(env, "NVIDIA_VISIBLE_DEVICES", j->gpu_devices);
		if (h->env_runtime)
			env_add(env, "CUDA_VISIBLE_DEVICES", j->gpu_devices);
		else {
			local = local_indices(j->gpu_devices);
			env_add(env, "CUDA_VISIBLE_DEVICES", local);
			free(local);
		}
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
	/*
	 * What the engine keeps of the container's output on the host:
	 * [dispatcher] container_log_max in two rotated files, so a job that
	 * prints without end cannot fill the host's disk. The log the
	 * dispatcher keeps has its own bound (log_max).
	 */
	lc = cJSON_AddObjectToObject(hc, "LogConfig");
	cJSON_AddStringToObject(lc, "Type", "json-file");
	lcc = cJSON_AddObjectToObject(lc, "Config");
	snprintf(logsz, sizeof(logsz), "%zu", d->conf.disp_container_log_max /
	    2);
	cJSON_AddStringToObject(lcc, "max-size", logsz);
	cJSON_AddStringToObject(lcc, "max-file", "2");
	/*
	 * A job without GPUs on an nvidia host runs with runc: the nvidia
	 * runtime (often the engine's default) would hand it GPUs.
	 */
	if (!h->env_runtime && j->gpu_devices == NULL)
		cJSON_AddStringToObject(hc, "Runtime", "runc");
	cJSON_AddBoolToObject(hc, "AutoRemove", 0);
	cJSON_AddItemToObject(hc, "Binds", cJSON_CreateArray());
	/* The data set's view of the host's cache, read-only (cache.c). */
	if (j->cache_mount != NULL) {
		a = cJSON_AddArrayToObject(hc, "Mounts");
		req = cJSON_CreateObject();
		cJSON_AddItemToArray(a, req);
		cJSON_AddStringToObject(req, "Type", "bind");
		cJSON_AddStringToObject(req, "Source", j->cache_mount);
		cJSON_AddStringToObject(req, "Target", "/data");
		cJSON_AddBoolToObject(req, "ReadOnly", 1);
	}
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

/* See dispatch.h. */
int
launch_output_tar(char **out, size_t *len)
{
	struct archive	*a;
	size_t		 cap = 10240 * 2, used = 0;
	char		*buf;
	int		 rc = -1;

	*out = NULL;
	*len = 0;
	buf = xmalloc(cap);
	if ((a = archive_write_new()) == NULL)
		goto out;
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_memory(a, buf, cap, &used) != ARCHIVE_OK ||
	    tar_dir(a, "output", 0777) != 0 ||
	    archive_write_close(a) != ARCHIVE_OK)
		goto out;
	*out = buf;
	*len = used;
	buf = NULL;
	rc = 0;
out:
	if (a != NULL)
		archive_write_free(a);
	free(buf);
	return rc;
}

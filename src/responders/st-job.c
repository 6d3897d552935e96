/*
 * st-job: the jobs of the caller's batches (API reference "Jobs"; DESIGN
 * "Batches and jobs").
 *
 *   GET    /job            the caller's jobs, newest first (?limit=,
 *                          ?before=, ?status=)
 *   GET    /job/{id}       one job, as an array of one
 *   DELETE /job/{id}       cancel it; {job_id, batch_id, canceled: 1}
 *   GET    /job/{id}/log   its stdout and stderr (the last 1 MiB, as of
 *                          the dispatcher's last pass), text/plain; empty
 *                          before there is any
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "http.h"
#include "job.h"
#include "log.h"
#include "responder.h"
#include "route.h"
#include "store.h"
#include "util.h"

static int
internal(struct http_req *r)
{
	return http_send_error(r, 500, "internal", "internal server error");
}

static int
not_found(struct http_req *r)
{
	return http_send_error(r, 404, "not_found", "no such job");
}

/* The refusals of the reads. */
static const struct responder_refusal no_job[] = {
	{ JOB_NOT_FOUND, 404, "not_found", "no such job" },
};
static const struct responder_refusal bad_before[] = {
	{ JOB_BAD_BEFORE, 400, "invalid_before",
	    "before must be the id of one of your jobs" },
};

/* GET /job: the caller's jobs, newest first. */
static int
job_list_get(struct responder *rs, struct http_req *r)
{
	struct job_page	 page;
	const char	*code = NULL, *msg = NULL;
	cJSON		*arr = NULL;
	int		 rc;

	if (job_page_parse(r->query, job_status_parse, &page, &code,
	    &msg) == -1)
		return http_send_error(r, 400, code, "%s", msg);
	rc = job_list(rs->db, r->account_id, &page, &arr);
	return responder_answer(rs, r, rc, arr, bad_before,
	    NITEMS(bad_before));
}

/* GET /job/{id}: an array of one job. */
static int
job_one_get(struct responder *rs, struct http_req *r)
{
	char	 uuid[UUID_STR_LEN + 1];
	cJSON	*arr = NULL;
	int	 rc;

	if (util_uuid_parse(r->params[0], uuid) == -1)
		return not_found(r);
	rc = job_get(rs->db, r->account_id, uuid, &arr);
	return responder_answer(rs, r, rc, arr, no_job, NITEMS(no_job));
}

/*
 * DELETE /job/{id}: 200 {"job_id", "batch_id", "canceled": 1, "status":
 * "CANCELED"}; 409 job_finishing (PROCESSED, UPLOADING) or job_final
 * (COMPLETED, ERRORED, CANCELED).
 */
static int
job_delete(struct responder *rs, struct http_req *r)
{
	struct job_cancel_out	 c;
	char			 uuid[UUID_STR_LEN + 1];
	cJSON			*obj = NULL;
	int			 rc, ret;

	if (util_uuid_parse(r->params[0], uuid) == -1)
		return not_found(r);
	rc = job_cancel(rs->db, r->account_id, uuid, &c);
	switch (rc) {
	case DB_OK:
		break;
	case JOB_NOT_FOUND:
		return not_found(r);
	case JOB_FINISHING:
		return http_send_error(r, 409, "job_finishing",
		    "the job is %s: it is finishing and cannot be cancelled",
		    job_status_names[c.status]);
	case JOB_FINAL:
		return http_send_error(r, 409, "job_final",
		    "the job is already %s", c.status >= 0 ?
		    job_status_names[c.status] : "final");
	default:
		return responder_db_error(rs, r, rc);
	}
	log_info("job %s cancelled", uuid);
	if ((obj = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(obj, "job_id", uuid) == NULL ||
	    cJSON_AddStringToObject(obj, "batch_id", c.batch_uuid) == NULL ||
	    cJSON_AddNumberToObject(obj, "canceled", 1) == NULL ||
	    cJSON_AddStringToObject(obj, "status", "CANCELED") == NULL)
		ret = internal(r);
	else
		ret = http_send_json(r, 200, obj);
	cJSON_Delete(obj);
	return ret;
}

/*
 * GET /job/{id}/log: the stored log file (logs/ab/<uuid>.log), streamed as
 * text/plain in 64 KiB pieces; an empty 200 when the job has none yet.
 * The dispatcher replaces the file by rename, so the descriptor opened
 * here reads one whole version.
 */
static int
job_log_get(struct responder *rs, struct http_req *r)
{
	struct job_files	 f;
	struct stat		 st;
	char			 uuid[UUID_STR_LEN + 1], len[32];
	char			*path = NULL;
	int			 fd = -1, rc, ret = -1;

	if (util_uuid_parse(r->params[0], uuid) == -1)
		return not_found(r);
	rc = job_files_get(rs->db, r->account_id, NULL, uuid, &f);
	if (rc == JOB_NOT_FOUND)
		return not_found(r);
	if (rc != DB_OK)
		return responder_db_error(rs, r, rc);
	if ((path = store_job_path(rs->conf.store_dir, STORE_JOB_LOG,
	    f.uuid)) == NULL) {
		ret = internal(r);
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno != ENOENT) {
			log_error("log of job %s: %s", f.uuid, strerror(errno));
			ret = internal(r);
		} else
			ret = http_send_text(r, 200, "");
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_error("log of job %s: not a readable file", f.uuid);
		ret = internal(r);
		goto out;
	}
	snprintf(len, sizeof(len), "%llu", (unsigned long long)st.st_size);
	if (http_add_header(r, "Content-Type",
	    "text/plain; charset=utf-8") == -1 ||
	    http_add_header(r, "Content-Length", len) == -1 ||
	    http_add_header(r, "Cache-Control", "no-store") == -1) {
		ret = internal(r);
		goto out;
	}
	http_set_status(r, 200);
	if (http_finish(r) == -1)
		goto out;
	if (http_write_fd(r, fd, (unsigned long long)st.st_size) == -1) {
		/* Headers are out: all we can do is cut it short. */
		log_error("log of job %s: short read or write", f.uuid);
		goto out;
	}
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	free(path);
	return ret;
}

static const struct route routes[] = {
	{ HTTP_GET | HTTP_HEAD, "/job", 1, job_list_get, 0, 0 },
	{ HTTP_GET | HTTP_HEAD, "/job/", 1, job_list_get, 0, 0 },
	{ HTTP_GET | HTTP_HEAD, "/job/{id}", 1, job_one_get, 0, 0 },
	{ HTTP_DELETE, "/job/{id}", 1, job_delete, 0, 0 },
	{ HTTP_GET | HTTP_HEAD, "/job/{id}/log", 1, job_log_get, 0, 0 },
};

int
main(int argc, char **argv)
{
	return responder_main("st-job", routes, NITEMS(routes), argc, argv);
}

/*
 * st-model: the trained model of a job (API reference "Models"; DESIGN
 * "Batches and jobs").
 *
 *   GET|HEAD /model/{job_id}
 *   GET|HEAD /model/{batch_id}/{job_id}   (what the original CLI asks;
 *                                          the job must be of that batch)
 *
 * The zip the dispatcher stored (models/ab/<job uuid>.zip) is streamed in
 * 64 KiB pieces with Content-Length, Content-Disposition: attachment and
 * its SHA-256 as a strong ETag; If-None-Match with that tag is 304. A job
 * not final is 404 model_not_ready ("job is PROCESSING"), a final one
 * without a model 404 no_model.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/*
 * 1 when the If-None-Match value h matches etag (a quoted strong tag):
 * "*", or one of the comma-separated tags, compared weakly (a W/ prefix
 * is ignored) as RFC 9110 13.1.2 asks for this header.
 */
static int
etag_matches(const char *h, const char *etag)
{
	size_t		 elen = strlen(etag), n;
	const char	*p = h, *end;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p != '"')
			return 0;	/* malformed: no match */
		if ((end = strchr(p + 1, '"')) == NULL)
			return 0;
		n = (size_t)(end - p) + 1;
		if (n == elen && memcmp(p, etag, n) == 0)
			return 1;
		p = end + 1;
	}
	return 0;
}

/* GET|HEAD /model/{job_id} and /model/{batch_id}/{job_id}. */
static int
model_get(struct responder *rs, struct http_req *r)
{
	struct job_files	 f;
	struct stat		 st;
	char			 juuid[UUID_STR_LEN + 1], buuid[UUID_STR_LEN + 1];
	char			 etag[80], len[32], disp[128];
	char			*path = NULL;
	const char		*jref = r->params[r->nparams - 1];
	int			 fd = -1, rc, ret = -1;

	if (util_uuid_parse(jref, juuid) == -1 ||
	    (r->nparams == 2 && util_uuid_parse(r->params[0], buuid) == -1))
		return not_found(r);
	rc = job_files_get(rs->db, r->account_id,
	    r->nparams == 2 ? buuid : NULL, juuid, &f);
	if (rc == JOB_NOT_FOUND)
		return not_found(r);
	if (rc != DB_OK)
		return responder_db_error(rs, r, rc);
	if (f.status < 0 || !job_status_final((enum job_status)f.status))
		return http_send_error(r, 404, "model_not_ready",
		    "job is %s", f.status < 0 ? "not final" :
		    job_status_names[f.status]);
	if (!f.has_model)
		return http_send_error(r, 404, "no_model",
		    "job produced no model");

	snprintf(etag, sizeof(etag), "\"%s\"", f.model_sha256);
	if (r->h_if_none_match != NULL &&
	    etag_matches(r->h_if_none_match, etag)) {
		http_add_header(r, "ETag", etag);
		http_set_status(r, 304);
		return http_finish(r);
	}
	if ((path = store_job_path(rs->conf.store_dir, STORE_JOB_MODEL,
	    f.uuid)) == NULL) {
		ret = internal(r);
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
	    fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		/* model_sha256 is set only once the file is in place. */
		log_error("model of job %s: %s", f.uuid,
		    fd == -1 ? strerror(errno) : "not a regular file");
		ret = internal(r);
		goto out;
	}
	snprintf(len, sizeof(len), "%llu", (unsigned long long)st.st_size);
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s.zip\"",
	    f.uuid);
	if (http_add_header(r, "Content-Type", "application/zip") == -1 ||
	    http_add_header(r, "Content-Length", len) == -1 ||
	    http_add_header(r, "Content-Disposition", disp) == -1 ||
	    http_add_header(r, "ETag", etag) == -1) {
		ret = internal(r);
		goto out;
	}
	http_set_status(r, 200);
	if (http_finish(r) == -1)
		goto out;
	if (http_write_fd(r, fd, (unsigned long long)st.st_size) == -1) {
		/* Headers are out: all we can do is cut it short. */
		log_error("model of job %s: short read or write", f.uuid);
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
	{ HTTP_GET | HTTP_HEAD, "/model/{job_id}", 1, model_get, 0, 0 },
	{ HTTP_GET | HTTP_HEAD, "/model/{batch_id}/{job_id}", 1, model_get,
	    0, 0 },
};

int
main(int argc, char **argv)
{
	return responder_main("st-model", routes, NITEMS(routes), argc, argv);
}

/*
 * st-batch: batches of training jobs (API reference "Batch"; DESIGN
 * "Batches and jobs").
 *
 *   POST   /batch        create a batch; 201 {batch_uuid, successful,
 *                        failed, errors}
 *   GET    /batch        the caller's batches, newest first (?limit=,
 *                        ?before=, ?status=)
 *   GET    /batch/{id}   one batch, as an array of one
 *   DELETE /batch/{id}   cancel what is not final; {batch_id, canceled}
 *   GET    /batch/{id}/leaderboard  COMPLETED jobs ranked by the objective
 *                        (?top=, ?metric=, ?direction=)
 *   POST   /batch/{id}/promote  rerun the best pilot configurations on the
 *                        whole data: 201 {batch_uuid, ..., jobs}
 *
 * "/batch/" is the same as "/batch" (the reference's example posts to it).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "batch.h"
#include "conf.h"
#include "db.h"
#include "http.h"
#include "job.h"
#include "log.h"
#include "promote.h"
#include "responder.h"
#include "route.h"
#include "util.h"

/* Answer 500 after a failure the log already explains. */
static int
internal(struct http_req *r)
{
	return http_send_error(r, 500, "internal", "internal server error");
}

/* Answer a {id} segment that is not a UUID: no batch has it (404). */
static int
not_found(struct http_req *r)
{
	return http_send_error(r, 404, "not_found", "no such batch");
}

/*
 * POST /batch: validate (400/422 for the body as a whole), check the hosts
 * (422 no_host_fits), refuse a batch without a valid job (422
 * no_valid_jobs, with the errors), then write it: 201 {"batch_uuid",
 * "successful", "failed", "errors": [{"index", "error"}]}.
 */
static int
batch_post(struct responder *rs, struct http_req *r)
{
	struct batch_limits	 lim;
	struct batch_spec	 spec;
	struct batch_error	 err;
	struct batch_db_ctx	 ctx;
	char			 uuid[UUID_STR_LEN + 1];
	cJSON			*obj = NULL, *errors = NULL;
	int			 rc, ret = -1;

	memset(&spec, 0, sizeof(spec));
	lim.max_jobs = rs->conf.limit_batch_jobs;
	lim.ram_per_cpu_gb = rs->conf.ram_per_cpu_gb;
	lim.ram_per_gpu_gb = rs->conf.ram_per_gpu_gb;
	ctx.db = rs->db;
	ctx.account_id = r->account_id;

	rc = batch_validate(r->body, r->body_len, &lim, batch_db_lookup, &ctx,
	    &spec, &err);
	if (rc == 1) {
		ret = http_send_error(r, err.status, err.code, "%s", err.msg);
		goto out;
	}
	if (rc != 0) {
		ret = responder_db_error(rs, r, rc);
		goto out;
	}
	if ((rc = batch_host_check(rs->db, &spec, &err)) == BATCH_NO_HOST) {
		ret = http_send_error(r, err.status, err.code, "%s", err.msg);
		goto out;
	}
	if (rc != DB_OK) {
		ret = responder_db_error(rs, r, rc);
		goto out;
	}
	if ((errors = batch_errors_json(&spec)) == NULL) {
		ret = internal(r);
		goto out;
	}
	if (spec.nvalid == 0) {
		if ((obj = cJSON_CreateObject()) == NULL ||
		    cJSON_AddStringToObject(obj, "error",
		    "no job of the batch is valid") == NULL ||
		    cJSON_AddStringToObject(obj, "code",
		    "no_valid_jobs") == NULL) {
			ret = internal(r);
			goto out;
		}
		cJSON_AddItemToObject(obj, "errors", errors);
		errors = NULL;
		ret = http_send_json(r, 422, obj);
		goto out;
	}

	rc = batch_create(rs->db, r->account_id, &spec, uuid);
	if (rc == BATCH_SET_GONE) {
		ret = http_send_error(r, 409, "data_set_changed",
		    "a data set of this batch was deleted meanwhile");
		goto out;
	}
	if (rc != DB_OK) {
		ret = responder_db_error(rs, r, rc);
		goto out;
	}
	log_info("batch %s created: %zu jobs, %zu refused, %s", uuid,
	    spec.nvalid, spec.njobs - spec.nvalid,
	    batch_mode_names[spec.mode]);
	if ((obj = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(obj, "batch_uuid", uuid) == NULL ||
	    cJSON_AddNumberToObject(obj, "successful",
	    (double)spec.nvalid) == NULL ||
	    cJSON_AddNumberToObject(obj, "failed",
	    (double)(spec.njobs - spec.nvalid)) == NULL) {
		ret = internal(r);
		goto out;
	}
	cJSON_AddItemToObject(obj, "errors", errors);
	errors = NULL;
	ret = http_send_json(r, 201, obj);
out:
	cJSON_Delete(errors);
	cJSON_Delete(obj);
	batch_spec_free(&spec);
	return ret;
}

/* Parse the status filter of GET /batch (the derived statuses). */
static int
status_parse(const char *s, size_t n)
{
	return batch_status_parse(s, n);
}

/* The refusals of the reads. */
static const struct responder_refusal no_batch[] = {
	{ BATCH_NOT_FOUND, 404, "not_found", "no such batch" },
};
static const struct responder_refusal bad_before[] = {
	{ BATCH_BAD_BEFORE, 400, "invalid_before",
	    "before must be the id of one of your batches" },
};

/* GET /batch: the caller's batches, newest first. */
static int
batch_list_get(struct responder *rs, struct http_req *r)
{
	struct job_page	 page;
	const char	*code = NULL, *msg = NULL;
	cJSON		*arr = NULL;
	int		 rc;

	if (job_page_parse(r->query, status_parse, &page, &code, &msg) == -1)
		return http_send_error(r, 400, code, "%s", msg);
	rc = batch_list(rs->db, r->account_id, &page, &arr);
	return responder_answer(rs, r, rc, arr, bad_before,
	    NITEMS(bad_before));
}

/* GET /batch/{id}: an array of one batch. */
static int
batch_one_get(struct responder *rs, struct http_req *r)
{
	char	 uuid[UUID_STR_LEN + 1];
	cJSON	*arr = NULL;
	int	 rc;

	if (util_uuid_parse(r->params[0], uuid) == -1)
		return not_found(r);
	rc = batch_get(rs->db, r->account_id, uuid, &arr);
	return responder_answer(rs, r, rc, arr, no_batch, NITEMS(no_batch));
}

/*
 * GET /batch/{id}/leaderboard: 200 with the ranking (batch_leaderboard()),
 * 400 invalid_top or invalid_objective for a bad query, 404 for a batch
 * the caller does not have.
 */
static int
batch_board_get(struct responder *rs, struct http_req *r)
{
	struct batch_board_query q;
	char			 uuid[UUID_STR_LEN + 1];
	const char		*code = NULL, *msg = NULL;
	cJSON			*obj = NULL;
	int			 rc;

	if (util_uuid_parse(r->params[0], uuid) == -1)
		return not_found(r);
	if (batch_board_parse(r->query, &q, &code, &msg) == -1)
		return http_send_error(r, 400, code, "%s", msg);
	rc = batch_leaderboard(rs->db, r->account_id, uuid, &q, &obj);
	return responder_answer(rs, r, rc, obj, no_batch, NITEMS(no_batch));
}

/*
 * POST /batch/{id}/promote: 201 with the new production batch
 * (promote_batch()); 400 for a malformed body, 404 for a batch the caller
 * does not have, 409 and 422 as promote.h says; no_valid_jobs carries the
 * errors of the chosen configurations like POST /batch.
 */
static int
batch_promote_post(struct responder *rs, struct http_req *r)
{
	struct promote_req	 req;
	struct batch_error	 err;
	char			 uuid[UUID_STR_LEN + 1];
	cJSON			*out = NULL, *obj = NULL;
	int			 rc, ret;

	if (util_uuid_parse(r->params[0], uuid) == -1)
		return not_found(r);
	if (promote_parse(r->body, r->body_len, &req, &err) != 0)
		return http_send_error(r, err.status, err.code, "%s", err.msg);
	rc = promote_batch(rs->db, r->account_id, uuid, &req, 0, &out, &err);
	if (rc == DB_OK)
		ret = http_send_json(r, 201, out);
	else if (rc == PROMOTE_REFUSED && out != NULL) {
		/* no_valid_jobs: the error shape plus the errors array. */
		if ((obj = cJSON_CreateObject()) == NULL ||
		    cJSON_AddStringToObject(obj, "error", err.msg) == NULL ||
		    cJSON_AddStringToObject(obj, "code", err.code) == NULL)
			ret = internal(r);
		else {
			cJSON_AddItemToObject(obj, "errors", out);
			out = NULL;
			ret = http_send_json(r, err.status, obj);
		}
	} else if (rc == PROMOTE_REFUSED)
		ret = http_send_error(r, err.status, err.code, "%s", err.msg);
	else
		ret = responder_db_error(rs, r, rc);
	cJSON_Delete(obj);
	cJSON_Delete(out);
	return ret;
}

/*
 * DELETE /batch/{id}: 200 {"batch_id", "canceled": N} when this call
 * cancelled N > 0 jobs; 409 batch_finishing when the jobs left are
 * finishing (PROCESSED, UPLOADING), 409 batch_final when all are final.
 */
static int
batch_delete(struct responder *rs, struct http_req *r)
{
	char			 uuid[UUID_STR_LEN + 1];
	unsigned long long	 n = 0;
	cJSON			*obj = NULL;
	int			 rc, ret;

	if (util_uuid_parse(r->params[0], uuid) == -1)
		return not_found(r);
	rc = batch_cancel(rs->db, r->account_id, uuid, &n);
	switch (rc) {
	case DB_OK:
		break;
	case BATCH_NOT_FOUND:
		return not_found(r);
	case BATCH_FINISHING:
		return http_send_error(r, 409, "batch_finishing",
		    "the jobs not yet final are finishing and cannot be "
		    "cancelled");
	case BATCH_FINAL:
		return http_send_error(r, 409, "batch_final",
		    "every job of the batch is already final");
	default:
		return responder_db_error(rs, r, rc);
	}
	log_info("batch %s: %llu jobs cancelled", uuid, n);
	if ((obj = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(obj, "batch_id", uuid) == NULL ||
	    cJSON_AddNumberToObject(obj, "canceled", (double)n) == NULL)
		ret = internal(r);
	else
		ret = http_send_json(r, 200, obj);
	cJSON_Delete(obj);
	return ret;
}

/* The route table; POST's max_body is set in main() from [limits]. */
static struct route routes[] = {
	{ HTTP_POST, "/batch", 1, batch_post, 0, 0 },
	{ HTTP_POST, "/batch/", 1, batch_post, 0, 0 },
	{ HTTP_GET | HTTP_HEAD, "/batch", 1, batch_list_get, 0, 0 },
	{ HTTP_GET | HTTP_HEAD, "/batch/", 1, batch_list_get, 0, 0 },
	{ HTTP_GET | HTTP_HEAD, "/batch/{id}", 1, batch_one_get, 0, 0 },
	{ HTTP_DELETE, "/batch/{id}", 1, batch_delete, 0, 0 },
	{ HTTP_GET | HTTP_HEAD, "/batch/{id}/leaderboard", 1, batch_board_get,
	    0, 0 },
	{ HTTP_POST, "/batch/{id}/promote", 1, batch_promote_post, 0, 0 },
};

/*
 * [limits] batch_body of the configuration responder_main() will load
 * (-c FILE, --config FILE, --config=FILE, else the default); the default
 * when it cannot be loaded (responder_main() then reports why).
 */
static size_t
batch_body_limit(int argc, char **argv)
{
	struct conf	 c;
	const char	*path = NULL;
	char		 err[512];
	size_t		 lim;
	int		 i;

	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 ||
		    strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
		else if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2] != '\0')
			path = argv[i] + 2;
	}
	if (conf_load(path, &c, err, sizeof(err)) == -1)
		conf_defaults(&c);
	lim = c.limit_batch_body;
	conf_free(&c);
	return lim == 0 ? 1 : lim;
}

int
main(int argc, char **argv)
{
	size_t	 i, lim;

	lim = batch_body_limit(argc, argv);
	for (i = 0; i < NITEMS(routes); i++)
		if (routes[i].methods & HTTP_POST)
			routes[i].max_body = lim;
	return responder_main("st-batch", routes, NITEMS(routes), argc, argv);
}

/*
 * promote.c: promotion of a pilot batch to a production batch (see
 * promote.h).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "batch.h"
#include "db.h"
#include "job.h"
#include "json.h"
#include "log.h"
#include "promote.h"
#include "util.h"

/* batch_refuse() answers 1: the refusal outcome of promote_batch() too. */
_Static_assert(PROMOTE_REFUSED == 1, "PROMOTE_REFUSED is batch_refuse()'s 1");

/* See promote.h. */
int
promote_parse(const char *body, size_t len, struct promote_req *req,
    struct batch_error *err)
{
	cJSON		*root = NULL;
	const cJSON	*k, *ds, *partial;
	double		 v;
	size_t		 n;
	int		 rc = 1;

	memset(req, 0, sizeof(*req));
	memset(err, 0, sizeof(*err));
	if ((root = json_parse_strict(body, len)) == NULL ||
	    !cJSON_IsObject(root)) {
		batch_refuse(err, 400, "invalid_json",
		    "the body must be a JSON object in UTF-8");
		goto out;
	}
	k = cJSON_GetObjectItemCaseSensitive(root, "top_k");
	ds = cJSON_GetObjectItemCaseSensitive(root, "data_set_id");
	partial = cJSON_GetObjectItemCaseSensitive(root, "partial");
	if (!cJSON_IsNumber(k)) {
		batch_refuse(err, 400, "invalid_top_k",
		    "top_k is required and must be a number");
		goto out;
	}
	v = k->valuedouble;
	if (!isfinite(v) || v != floor(v) || v < 1 || v > BATCH_TOP_MAX) {
		batch_refuse(err, 422, "invalid_top_k",
		    "top_k must be a whole number from 1 to %d", BATCH_TOP_MAX);
		goto out;
	}
	req->top_k = (unsigned)v;
	if (ds != NULL && !cJSON_IsNull(ds)) {
		if (!cJSON_IsString(ds) ||
		    (n = strlen(ds->valuestring)) == 0 || n > BATCH_REF_MAX) {
			batch_refuse(err, 400, "invalid_data_set", "data_set_id must "
			    "be the name or UUID of one of your data sets");
			goto out;
		}
		memcpy(req->set_ref, ds->valuestring, n + 1);
		req->has_set = 1;
	}
	if (partial != NULL && !cJSON_IsNull(partial)) {
		if (!cJSON_IsBool(partial)) {
			batch_refuse(err, 400, "invalid_partial",
			    "partial must be true or false");
			goto out;
		}
		req->partial = cJSON_IsTrue(partial);
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* The columns of the pilot batch's row, and of its COMPLETED jobs. */
enum { B_ID, B_MODE, B_CPU, B_GPU, B_RAM, B_METRIC, B_DIR, B_AUTO,
	B_ATTEMPTS, B_RETRY_ON };
enum { J_ID, J_UUID, J_IDX, J_IMAGE, J_TAG, J_CMD, J_ENV, J_PT, J_RESULT,
	J_SET, J_PARENT };

/*
 * The data set each chosen job runs on when none is named: the parent of
 * its pilot sub-set (the set itself should a job have run on a set), with
 * at least one shard. Each distinct set is looked up once; a job whose set
 * cannot be used gets its reason in error.
 */
static int
resolve_parents(struct db *db, struct batch_spec *s, const struct db_res *res,
    const struct batch_rank *rows)
{
	struct db_res	*r = NULL;
	struct batch_job *j;
	size_t		 k, p, row;
	int		 rc;

	for (k = 0; k < s->njobs; k++) {
		j = &s->jobs[k];
		row = rows[k].row;
		if (db_res_isnull(res, row, J_SET)) {
			j->error = "the pilot sub-set this job ran on was deleted";
			continue;
		}
		j->dataset_id = db_res_isnull(res, row, J_PARENT) ?
		    db_res_int(res, row, J_SET) : db_res_int(res, row, J_PARENT);
		for (p = 0; p < k; p++)
			if (s->jobs[p].dataset_id == j->dataset_id)
				break;
		if (p < k) {
			j->error = s->jobs[p].error;
			memcpy(j->dataset_uuid, s->jobs[p].dataset_uuid,
			    sizeof(j->dataset_uuid));
			continue;
		}
		rc = db_query(db, "SELECT d.uuid, (SELECT COUNT(*) FROM "
		    "dataset_shards x WHERE x.dataset_id = d.id) FROM "
		    "datasets d WHERE d.id = ?", DB_ARGS(DB_INT(j->dataset_id)),
		    &r);
		if (rc != DB_OK)
			return rc;
		if (r->nrows != 1)
			j->error = "the data set of this job's pilot sub-set "
			    "was deleted";
		else if (db_res_int(r, 0, 1) <= 0)
			j->error = "the data set of this job's pilot sub-set "
			    "has no shards";
		else
			snprintf(j->dataset_uuid, sizeof(j->dataset_uuid),
			    "%s", db_res_str(r, 0, 0));
		db_res_free(r);
		r = NULL;
	}
	return DB_OK;
}

/*
 * The answer of a promotion: the create-batch shape plus promoted_from and
 * the chosen jobs (see promote.h).
 */
static cJSON *
answer(const struct batch_spec *s, const char *uuid, const char *pilot_uuid,
    const struct db_res *res, const struct batch_rank *rows)
{
	cJSON	*o, *errors, *jobs, *e;
	size_t	 k;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	if (cJSON_AddStringToObject(o, "batch_uuid", uuid) == NULL ||
	    cJSON_AddNumberToObject(o, "successful", (double)s->nvalid) == NULL ||
	    cJSON_AddNumberToObject(o, "failed",
	    (double)(s->njobs - s->nvalid)) == NULL ||
	    (errors = batch_errors_json(s)) == NULL)
		goto fail;
	cJSON_AddItemToObject(o, "errors", errors);
	if (cJSON_AddStringToObject(o, "promoted_from", pilot_uuid) == NULL ||
	    (jobs = cJSON_AddArrayToObject(o, "jobs")) == NULL)
		goto fail;
	for (k = 0; k < s->njobs; k++) {
		if (s->jobs[k].error != NULL)
			continue;
		if ((e = cJSON_CreateObject()) == NULL ||
		    !cJSON_AddItemToArray(jobs, e) ||
		    cJSON_AddNumberToObject(e, "index", (double)k) == NULL ||
		    cJSON_AddStringToObject(e, "id", s->jobs[k].uuid) == NULL ||
		    cJSON_AddStringToObject(e, "promoted_from",
		    db_res_str(res, rows[k].row, J_UUID)) == NULL ||
		    cJSON_AddNumberToObject(e, "rank", (double)(k + 1)) == NULL ||
		    cJSON_AddNumberToObject(e, "metric", rows[k].value) == NULL ||
		    cJSON_AddStringToObject(e, "data_set_id",
		    s->jobs[k].dataset_uuid) == NULL)
			goto fail;
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

/*
 * One attempt of promote_batch() inside an open transaction. On DB_OK *out
 * is the answer; on a refusal with code no_valid_jobs, the errors array.
 */
static int
promote_tx(struct db *db, long long account_id, const char *uuid,
    const struct promote_req *req, int automatic, cJSON **out,
    struct batch_error *err, long long *pilot_id)
{
	struct db_res		*b = NULL, *res = NULL, *cnt = NULL;
	struct batch_rank	*rows = NULL;
	struct batch_spec	 spec;
	struct batch_set	 target;
	struct batch_db_ctx	 ctx;
	cJSON			*result;
	char			 nuuid[UUID_STR_LEN + 1];
	char			 metric[BATCH_METRIC_MAX + 1];
	long long		 newid = 0, pending;
	size_t			 i, k, n = 0;
	int			 rc, dir;

	memset(&spec, 0, sizeof(spec));
	memset(&target, 0, sizeof(target));
	rc = db_query(db, "SELECT id, mode, cpu, gpu, ram_gb, "
	    "objective_metric, objective_direction, auto_promote_state, "
	    "retry_attempts, retry_on FROM batches WHERE account_id = ? AND "
	    "uuid = ? FOR UPDATE",
	    DB_ARGS(DB_INT(account_id), DB_STR(uuid)), &b);
	if (rc != DB_OK)
		goto out;
	if (b->nrows != 1) {
		rc = batch_refuse(err, 404, "not_found", "no such batch");
		goto out;
	}
	*pilot_id = db_res_int(b, 0, B_ID);
	if (strcmp(db_res_str(b, 0, B_MODE), "pilot") != 0) {
		rc = batch_refuse(err, 422, "not_pilot", "only a pilot batch can be "
		    "promoted: this one already ran on the whole data");
		goto out;
	}
	if (automatic && (db_res_isnull(b, 0, B_AUTO) ||
	    strcmp(db_res_str(b, 0, B_AUTO), "waiting") != 0)) {
		rc = PROMOTE_SKIPPED;
		goto out;
	}
	snprintf(metric, sizeof(metric), "%s", db_res_str(b, 0, B_METRIC));
	if ((dir = batch_direction_parse(db_res_str(b, 0, B_DIR),
	    db_res_len(b, 0, B_DIR))) < 0)
		dir = BATCH_DIR_MAX;

	rc = db_query(db, "SELECT COUNT(*) FROM jobs WHERE batch_id = ? AND "
	    "status NOT IN ('COMPLETED', 'ERRORED', 'CANCELED')",
	    DB_ARGS(DB_INT(*pilot_id)), &cnt);
	if (rc != DB_OK)
		goto out;
	pending = db_res_int(cnt, 0, 0);
	if (pending > 0 && !req->partial) {
		rc = batch_refuse(err, 409, "batch_not_final", "%lld job%s of the "
		    "batch %s not final yet: wait, or send \"partial\": true "
		    "to promote from the jobs completed so far", pending,
		    pending == 1 ? "" : "s", pending == 1 ? "is" : "are");
		goto out;
	}

	rc = db_query(db, "SELECT j.id, j.uuid, j.idx, j.image, j.image_tag, "
	    "j.command, j.env, " JOB_PT_SQL ", j.result, j.dataset_id, "
	    "d.parent_id FROM jobs j LEFT JOIN datasets d ON "
	    "d.id = j.dataset_id WHERE j.batch_id = ? AND "
	    "j.status = 'COMPLETED'", DB_ARGS(DB_INT(*pilot_id)), &res);
	if (rc != DB_OK)
		goto out;
	rows = xcalloc(res->nrows + 1, sizeof(*rows));
	for (i = 0; i < res->nrows; i++) {
		if ((result = job_result_json(db_res_str(res, i, J_RESULT),
		    db_res_len(res, i, J_RESULT))) == NULL) {
			rc = DB_ERROR;
			goto out;
		}
		rows[n].row = i;
		rows[n].idx = db_res_int(res, i, J_IDX);
		rows[n].pt = db_res_int(res, i, J_PT);
		if (batch_metric_of(result, metric, &rows[n].value))
			n++;
		cJSON_Delete(result);
	}
	if (n == 0) {
		rc = batch_refuse(err, 422, "no_metric", "no COMPLETED job of the "
		    "batch has a numeric %s in its result", metric);
		goto out;
	}
	batch_rank_sort(rows, n, (enum batch_direction)dir);
	if (n > req->top_k)
		n = req->top_k;

	if (req->has_set) {
		ctx.db = db;
		ctx.account_id = account_id;
		if ((rc = batch_db_lookup(&ctx, req->set_ref, &target)) < 0)
			goto out;
		if (rc != 0 || target.is_pilot || target.shard_count <= 0) {
			rc = batch_refuse(err, 422, "invalid_data_set", "%s",
			    rc != 0 ? "no such data set" : target.is_pilot ?
			    "data_set_id names a pilot sub-set: name a data "
			    "set (promotion runs on the whole data)" :
			    "the data set has no shards");
			goto out;
		}
	}

	spec.mode = BATCH_PRODUCTION;
	snprintf(spec.cpu_text, sizeof(spec.cpu_text), "%s",
	    db_res_str(b, 0, B_CPU));
	snprintf(spec.ram_text, sizeof(spec.ram_text), "%s",
	    db_res_str(b, 0, B_RAM));
	spec.cpu = db_res_dbl(b, 0, B_CPU);
	spec.gpu = (unsigned)db_res_int(b, 0, B_GPU);
	spec.ram_gb = db_res_dbl(b, 0, B_RAM);
	memcpy(spec.metric, metric, sizeof(metric));
	spec.direction = (enum batch_direction)dir;
	spec.retry.attempts = (unsigned)db_res_int(b, 0, B_ATTEMPTS);
	snprintf(spec.retry.on, sizeof(spec.retry.on), "%s",
	    db_res_str(b, 0, B_RETRY_ON) == NULL ? "" :
	    db_res_str(b, 0, B_RETRY_ON));
	spec.promoted_from_batch_id = *pilot_id;
	spec.njobs = n;
	spec.jobs = xcalloc(n, sizeof(*spec.jobs));
	for (k = 0; k < n; k++) {
		struct batch_job *j = &spec.jobs[k];
		size_t		 row = rows[k].row;

		j->image = xstrdup(db_res_str(res, row, J_IMAGE));
		j->image_tag = xstrdup(db_res_str(res, row, J_TAG));
		j->command = xstrdup(db_res_str(res, row, J_CMD));
		j->env = db_res_isnull(res, row, J_ENV) ? NULL :
		    xstrdup(db_res_str(res, row, J_ENV));
		j->promoted_from = db_res_int(res, row, J_ID);
		if (req->has_set) {
			j->dataset_id = target.id;
			memcpy(j->dataset_uuid, target.uuid,
			    sizeof(j->dataset_uuid));
		}
	}
	if (!req->has_set &&
	    (rc = resolve_parents(db, &spec, res, rows)) != DB_OK)
		goto out;
	for (k = 0; k < n; k++)
		if (spec.jobs[k].error == NULL)
			spec.nvalid++;
	if (spec.nvalid == 0) {
		rc = batch_refuse(err, 422, "no_valid_jobs",
		    "no chosen configuration can run on the whole data");
		*out = batch_errors_json(&spec);
		goto out;
	}

	util_uuid(nuuid);
	rc = batch_insert(db, account_id, &spec, nuuid, &newid);
	if (rc == BATCH_SET_GONE) {
		rc = batch_refuse(err, 409, "data_set_changed",
		    "a data set of this promotion was deleted meanwhile");
		goto out;
	}
	if (rc != DB_OK)
		goto out;
	rc = db_exec(db, "UPDATE batches SET promoted_batch_id = ?, "
	    "auto_promote_state = IF(auto_promote_state = 'waiting', 'done', "
	    "auto_promote_state) WHERE id = ?",
	    DB_ARGS(DB_INT(newid), DB_INT(*pilot_id)), NULL, NULL);
	if (rc != DB_OK)
		goto out;
	/* Before the commit: an answer that cannot be made undoes it all. */
	if ((*out = answer(&spec, nuuid, uuid, res, rows)) == NULL)
		rc = DB_ERROR;
out:
	free(target.pilots);
	batch_spec_free(&spec);
	free(rows);
	db_res_free(cnt);
	db_res_free(res);
	db_res_free(b);
	return rc;
}

/* The arguments of promote_tx(), for db_transaction(). */
struct promote_args {
	long long		 account_id;
	const char		*uuid;
	const struct promote_req *req;
	int			 automatic;
	cJSON			**out;
	struct batch_error	*err;
	long long		 pilot_id;
};

/* promote_tx() from scratch; a UUID drawn twice is redone like a deadlock. */
static int
promote_once(struct db *db, void *p)
{
	struct promote_args	*a = p;
	int			 rc;

	cJSON_Delete(*a->out);
	*a->out = NULL;
	memset(a->err, 0, sizeof(*a->err));
	rc = promote_tx(db, a->account_id, a->uuid, a->req, a->automatic,
	    a->out, a->err, &a->pilot_id);
	return rc == DB_DUPLICATE ? DB_RETRY : rc;
}

/* See promote.h. */
int
promote_batch(struct db *db, long long account_id, const char *uuid,
    const struct promote_req *req, int automatic, cJSON **out,
    struct batch_error *err)
{
	struct promote_args	 a = { account_id, uuid, req, automatic, out,
	    err, 0 };
	const cJSON		*id;
	int			 rc;

	*out = NULL;
	rc = db_transaction(db, 3, promote_once, &a);
	if (rc == DB_OK) {
		id = cJSON_GetObjectItemCaseSensitive(*out, "batch_uuid");
		log_info("batch %s promoted%s: top %u -> production batch %s",
		    uuid, automatic ? " automatically" : "", req->top_k,
		    cJSON_IsString(id) ? id->valuestring : "?");
		return DB_OK;
	}
	if (rc != PROMOTE_REFUSED) {
		cJSON_Delete(*out);
		*out = NULL;
	}
	/* An automatic promotion that can never happen says why, once. */
	if (automatic && rc == PROMOTE_REFUSED && a.pilot_id > 0 &&
	    strcmp(err->code, "batch_not_final") != 0) {
		if (db_exec(db, "UPDATE batches SET auto_promote_state = "
		    "'failed', auto_promote_error = LEFT(?, 512) WHERE id = ? "
		    "AND auto_promote_state = 'waiting'",
		    DB_ARGS(DB_STR(err->msg), DB_INT(a.pilot_id)), NULL,
		    NULL) != DB_OK)
			return DB_ERROR;
		log_warn("automatic promotion of batch %s failed: %s", uuid,
		    err->msg);
	}
	return rc;
}

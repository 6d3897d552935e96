/*
 * job.c: job statuses, list paging, the job object of the API, job cancel
 * and the lookup of a job's stored files (see job.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "job.h"
#include "log.h"
#include "util.h"

const char *const job_status_names[JOB__MAX] = {
	"QUEUED", "PENDING", "PROCESSING", "PROCESSED",
	"UPLOADING", "COMPLETED", "ERRORED", "CANCELED",
};

const char *const job_count_names[JOB__MAX] = {
	"queued", "pending", "processing", "processed",
	"uploading", "completed", "errored", "canceled",
};

/* The statuses a cancel may leave, as SQL (the jobs contract). */
#define CANCELLABLE	"('QUEUED', 'PENDING', 'PROCESSING')"

/* See job.h. */
int
job_status_final(enum job_status s)
{
	return s == JOB_COMPLETED || s == JOB_ERRORED || s == JOB_CANCELED;
}

/* See job.h. */
int
job_status_parse(const char *s, size_t n)
{
	size_t	 i;

	if (s == NULL)
		return -1;
	for (i = 0; i < JOB__MAX; i++)
		if (strlen(job_status_names[i]) == n &&
		    strncasecmp(job_status_names[i], s, n) == 0)
			return (int)i;
	return -1;
}

/* See job.h. */
int
job_page_parse(const char *query, int (*status_parse)(const char *, size_t),
    struct job_page *out, const char **code, const char **msg)
{
	const char	*p, *amp, *eq;
	char		 num[16], u[UUID_STR_LEN + 1];
	unsigned long long v;
	size_t		 klen, vlen;

	memset(out, 0, sizeof(*out));
	out->limit = JOB_PAGE_DEFAULT;
	out->status = -1;
	for (p = query == NULL ? "" : query; *p != '\0'; p = amp + 1) {
		if ((amp = strchr(p, '&')) == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		klen = eq == NULL ? (size_t)(amp - p) : (size_t)(eq - p);
		vlen = eq == NULL ? 0 : (size_t)(amp - eq - 1);
		if (klen == 5 && strncmp(p, "limit", 5) == 0) {
			if (vlen == 0 || vlen >= sizeof(num)) {
				*code = "invalid_limit";
				*msg = "limit must be a whole number from 1 to 1000";
				return -1;
			}
			memcpy(num, eq + 1, vlen);
			num[vlen] = '\0';
			if (util_parse_u64(num, JOB_PAGE_MAX, &v) == -1 ||
			    v == 0) {
				*code = "invalid_limit";
				*msg = "limit must be a whole number from 1 to 1000";
				return -1;
			}
			out->limit = (unsigned)v;
		} else if (klen == 6 && strncmp(p, "before", 6) == 0) {
			if (vlen != UUID_STR_LEN) {
				*code = "invalid_before";
				*msg = "before must be an id from an earlier page";
				return -1;
			}
			memcpy(u, eq + 1, UUID_STR_LEN);
			u[UUID_STR_LEN] = '\0';
			if (util_uuid_parse(u, out->before) == -1) {
				*code = "invalid_before";
				*msg = "before must be an id from an earlier page";
				return -1;
			}
			out->has_before = 1;
		} else if (klen == 6 && strncmp(p, "status", 6) == 0) {
			if (vlen == 0) {
				out->status = -1;
			} else if ((out->status = status_parse(eq + 1,
			    vlen)) == -1) {
				*code = "invalid_status";
				*msg = "status must be one of the status names";
				return -1;
			}
		}
		if (*amp == '\0')
			break;
	}
	return 0;
}

/* See job.h. */
cJSON *
job_result_json(const char *text, size_t len)
{
	cJSON	*obj;

	if (text != NULL && len > 0 &&
	    (obj = cJSON_ParseWithLength(text, len)) != NULL) {
		if (cJSON_IsObject(obj))
			return obj;
		cJSON_Delete(obj);
	}
	return cJSON_CreateObject();
}

/*
 * The columns job_json() reads, in its order. STRAIGHT_JOIN keeps jobs the
 * first table, so "ORDER BY j.id DESC" reads ix_jobs_account backwards
 * instead of sorting the TEXT columns through a temporary table. The last
 * three: the current attempt, whether it was placed (so it is one of the
 * "attempts"), the row id (to find the earlier attempts).
 */
#define JOB_COLS \
	"STRAIGHT_JOIN j.uuid, b.uuid, j.status, j.command, j.image, j.image_tag, j.mode, " \
	"d.uuid, j.cpu, j.gpu, j.ram_gb, j.result, " JOB_PT_SQL ", " \
	"j.created_at, j.started_at, j.finished_at, j.exit_code, j.error, " \
	"j.pending_reason, h.name, j.env, j.attempt, " \
	"(j.placed_at IS NOT NULL OR j.host_id IS NOT NULL), j.id, pj.uuid, " \
	"j.log_size, j.pull_bytes, j.pull_total"
#define COL_ATTEMPT	21
#define COL_PLACED	22
#define COL_ID		23
#define COL_PROMOTED	24	/* the pilot job's UUID */
#define COL_LOG_SIZE	25	/* the current attempt's log */
#define COL_PULL_BYTES	26	/* the image pull it waits for */
#define COL_PULL_TOTAL	27

/*
 * The columns of the earlier attempts, ordered by job row id then attempt
 * (the primary key's order), in add_attempt()'s order from column 1.
 * They come in results of at most ATTEMPTS_IN_CHUNK jobs each.
 */
#define ATTEMPT_COLS \
	"a.job_id, a.attempt, a.started_at, a.finished_at, a.exit_code, " \
	"a.error, a.host_name, a.log_size"
#define ATTEMPTS_IN_CHUNK	32
#define ATTEMPTS_IN_32 \
	"(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
struct attempts {
	struct db_res	**v;
	size_t		  n;
};

/* A number column, or null. Returns 0 or -1. */
static int
add_num_or_null(cJSON *obj, const char *name, const struct db_res *res,
    size_t i, size_t col)
{
	return (db_res_isnull(res, i, col) ? cJSON_AddNullToObject(obj, name) :
	    cJSON_AddNumberToObject(obj, name, (double)db_res_int(res, i,
	    col))) != NULL ? 0 : -1;
}

/*
 * "pull": {"bytes", "total"} of a job waiting for its image: the bytes
 * the engine reported so far and the size of the layers it knows (null
 * before the engine said). Returns 0 or -1.
 */
static int
add_pull(cJSON *obj, const struct db_res *res, size_t i)
{
	cJSON	*p;

	if ((p = cJSON_AddObjectToObject(obj, "pull")) == NULL ||
	    add_num_or_null(p, "bytes", res, i, COL_PULL_BYTES) == -1 ||
	    add_num_or_null(p, "total", res, i, COL_PULL_TOTAL) == -1)
		return -1;
	return 0;
}

#define JOB_FROM \
	" FROM jobs j JOIN batches b ON b.id = j.batch_id " \
	"LEFT JOIN datasets d ON d.id = j.dataset_id " \
	"LEFT JOIN hosts h ON h.id = j.host_id " \
	"LEFT JOIN jobs pj ON pj.id = j.promoted_from "

/* See job.h. */
int
job_add_str_or_null(cJSON *obj, const char *key, const char *s)
{
	if (s == NULL)
		return cJSON_AddNullToObject(obj, key) == NULL ? -1 : 0;
	return cJSON_AddStringToObject(obj, key, s) == NULL ? -1 : 0;
}

/* Add key: a DATETIME cell in the API's format, or null. */
static int
add_time(cJSON *obj, const char *key, const char *dbtime)
{
	char	 iso[20];

	if (dbtime == NULL || util_db_time_to_iso(dbtime, iso) == -1)
		return cJSON_AddNullToObject(obj, key) == NULL ? -1 : 0;
	return cJSON_AddStringToObject(obj, key, iso) == NULL ? -1 : 0;
}

/* Add key: an INT cell as a number, or null. */
static int
add_int_or_null(cJSON *obj, const char *key, const struct db_res *res,
    size_t i, size_t c)
{
	if (db_res_isnull(res, i, c))
		return cJSON_AddNullToObject(obj, key) == NULL ? -1 : 0;
	return cJSON_AddNumberToObject(obj, key,
	    (double)db_res_int(res, i, c)) == NULL ? -1 : 0;
}

/*
 * Append to arr the attempt {attempt, started_at, finished_at, exit_code,
 * error, host, log_size} from row i of res, its columns from c in that
 * order. Returns 0 or -1.
 */
static int
add_attempt(cJSON *arr, const struct db_res *res, size_t i, size_t c)
{
	cJSON	*o;

	if ((o = cJSON_CreateObject()) == NULL)
		return -1;
	cJSON_AddItemToArray(arr, o);
	if (cJSON_AddNumberToObject(o, "attempt",
	    (double)db_res_int(res, i, c)) == NULL ||
	    add_time(o, "started_at", db_res_str(res, i, c + 1)) == -1 ||
	    add_time(o, "finished_at", db_res_str(res, i, c + 2)) == -1 ||
	    add_int_or_null(o, "exit_code", res, i, c + 3) == -1 ||
	    job_add_str_or_null(o, "error", db_res_str(res, i, c + 4)) == -1 ||
	    job_add_str_or_null(o, "host", db_res_str(res, i, c + 5)) == -1 ||
	    add_int_or_null(o, "log_size", res, i, c + 6) == -1)
		return -1;
	return 0;
}

/*
 * "attempt" and "attempts" of the job of row i of a JOB_COLS result: its
 * earlier attempts among the rows of att then the current one when it was
 * placed. Returns 0 or -1.
 */
static int
add_attempts(cJSON *obj, const struct db_res *res, size_t i,
    const struct attempts *att)
{
	const struct db_res	*r;
	cJSON			*arr, *o;
	long long		 id = db_res_int(res, i, COL_ID);
	size_t			 k, lo, hi, mid;

	if (cJSON_AddNumberToObject(obj, "attempt",
	    (double)db_res_int(res, i, COL_ATTEMPT)) == NULL ||
	    (arr = cJSON_AddArrayToObject(obj, "attempts")) == NULL)
		return -1;
	for (k = 0; k < att->n; k++) {
		/* The job's first row in r, sorted by job_id. */
		r = att->v[k];
		for (lo = 0, hi = r->nrows; lo < hi; ) {
			mid = lo + (hi - lo) / 2;
			if (db_res_int(r, mid, 0) < id)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < r->nrows && db_res_int(r, lo, 0) == id; lo++)
			if (add_attempt(arr, r, lo, 1) == -1)
				return -1;
	}
	if (db_res_int(res, i, COL_PLACED) == 0)
		return 0;
	/* The current attempt, from the jobs row. */
	if ((o = cJSON_CreateObject()) == NULL)
		return -1;
	cJSON_AddItemToArray(arr, o);
	if (cJSON_AddNumberToObject(o, "attempt",
	    (double)db_res_int(res, i, COL_ATTEMPT)) == NULL ||
	    add_time(o, "started_at", db_res_str(res, i, 14)) == -1 ||
	    add_time(o, "finished_at", db_res_str(res, i, 15)) == -1 ||
	    add_int_or_null(o, "exit_code", res, i, 16) == -1 ||
	    job_add_str_or_null(o, "error", db_res_str(res, i, 17)) == -1 ||
	    job_add_str_or_null(o, "host", db_res_str(res, i, 19)) == -1 ||
	    add_int_or_null(o, "log_size", res, i, COL_LOG_SIZE) == -1)
		return -1;
	return 0;
}

/*
 * The API's job object from row i of a JOB_COLS result, with its earlier
 * attempts among the rows of att. Returns a new object or NULL on
 * allocation failure.
 */
static cJSON *
job_json(const struct db_res *res, size_t i, const struct attempts *att)
{
	cJSON	*obj = NULL, *req, *result;
	char	*image = NULL;
	int	 ok;

	image = xasprintf("%s:%s", db_res_str(res, i, 4),
	    db_res_str(res, i, 5));
	if ((obj = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(obj, "id", db_res_str(res, i, 0)) == NULL ||
	    cJSON_AddStringToObject(obj, "batch_id",
	    db_res_str(res, i, 1)) == NULL ||
	    cJSON_AddStringToObject(obj, "status",
	    db_res_str(res, i, 2)) == NULL ||
	    cJSON_AddStringToObject(obj, "command",
	    db_res_str(res, i, 3)) == NULL ||
	    cJSON_AddStringToObject(obj, "image", image) == NULL ||
	    cJSON_AddStringToObject(obj, "mode", db_res_str(res, i, 6)) == NULL ||
	    job_add_str_or_null(obj, "data_set_id", db_res_str(res, i, 7)) == -1 ||
	    (req = cJSON_AddObjectToObject(obj, "requisitions")) == NULL ||
	    cJSON_AddNumberToObject(req, "cpu", db_res_dbl(res, i, 8)) == NULL ||
	    cJSON_AddNumberToObject(req, "gpu", db_res_dbl(res, i, 9)) == NULL ||
	    cJSON_AddNumberToObject(req, "ram", db_res_dbl(res, i, 10)) == NULL)
		goto err;
	if ((result = job_result_json(db_res_str(res, i, 11),
	    db_res_len(res, i, 11))) == NULL)
		goto err;
	cJSON_AddItemToObject(obj, "result", result);
	ok = cJSON_AddNumberToObject(obj, "processing_time",
	    (double)db_res_int(res, i, 12)) != NULL &&
	    add_time(obj, "created_at", db_res_str(res, i, 13)) == 0 &&
	    add_time(obj, "started_at", db_res_str(res, i, 14)) == 0 &&
	    add_time(obj, "finished_at", db_res_str(res, i, 15)) == 0 &&
	    (db_res_isnull(res, i, 16) ?
	    cJSON_AddNullToObject(obj, "exit_code") :
	    cJSON_AddNumberToObject(obj, "exit_code",
	    (double)db_res_int(res, i, 16))) != NULL &&
	    job_add_str_or_null(obj, "error", db_res_str(res, i, 17)) == 0 &&
	    job_add_str_or_null(obj, "pending_reason",
	    db_res_str(res, i, 18)) == 0 &&
	    job_add_str_or_null(obj, "host", db_res_str(res, i, 19)) == 0;
	if (!ok)
		goto err;
	/* The job's environment: {} when it has none. */
	if ((result = job_result_json(db_res_str(res, i, 20),
	    db_res_len(res, i, 20))) == NULL)
		goto err;
	cJSON_AddItemToObject(obj, "env", result);
	/* The image pull a PENDING job waits for, as the engine reports. */
	if (db_res_str(res, i, 18) != NULL &&
	    strcmp(db_res_str(res, i, 18), "pulling_image") == 0 &&
	    add_pull(obj, res, i) == -1)
		goto err;
	/* The pilot job a promoted job reruns. */
	if (job_add_str_or_null(obj, "promoted_from",
	    db_res_str(res, i, COL_PROMOTED)) == -1 ||
	    add_attempts(obj, res, i, att) == -1)
		goto err;
	free(image);
	return obj;
err:
	free(image);
	cJSON_Delete(obj);
	return NULL;
}

static void
attempts_free(struct attempts *att)
{
	size_t	 k;

	for (k = 0; k < att->n; k++)
		db_res_free(att->v[k]);
	free(att->v);
	memset(att, 0, sizeof(*att));
}

/*
 * The earlier attempts of the jobs of a JOB_COLS result that have any
 * (attempt > 1) into *att (attempts_free() it in every case):
 * ATTEMPTS_IN_CHUNK jobs per statement, through the primary key. No
 * statement when no job was retried. Returns DB_OK or a db error.
 */
static int
attempts_of(struct db *db, const struct db_res *res, struct attempts *att)
{
	struct db_param	 p[ATTEMPTS_IN_CHUNK];
	struct db_res	*r = NULL;
	size_t		 i, k = 0;
	int		 rc;

	memset(att, 0, sizeof(*att));
	for (i = 0; i <= res->nrows; i++) {
		if (i < res->nrows) {
			if (db_res_int(res, i, COL_ATTEMPT) <= 1)
				continue;
			p[k++] = DB_INT(db_res_int(res, i, COL_ID));
		}
		if (k == 0 || (k < ATTEMPTS_IN_CHUNK && i < res->nrows))
			continue;
		while (k < ATTEMPTS_IN_CHUNK)
			p[k++] = DB_INT(0);	/* no job has row id 0 */
		k = 0;
		rc = db_query(db, "SELECT " ATTEMPT_COLS " FROM job_attempts a "
		    "WHERE a.job_id IN " ATTEMPTS_IN_32
		    " ORDER BY a.job_id, a.attempt", p, ATTEMPTS_IN_CHUNK, &r);
		if (rc != DB_OK)
			return rc;
		att->v = xrealloc(att->v, (att->n + 1) * sizeof(*att->v));
		att->v[att->n++] = r;
	}
	return DB_OK;
}

/*
 * Every row of a JOB_COLS result as a JSON array in *out, each with its
 * attempts (one more query when some job has earlier ones, per
 * ATTEMPTS_IN_CHUNK of them).
 */
static int
rows_to_array(struct db *db, const struct db_res *res, cJSON **out)
{
	struct attempts	 att;
	cJSON		*arr = NULL, *o;
	size_t		 i;
	int		 rc;

	if ((rc = attempts_of(db, res, &att)) != DB_OK)
		goto out;
	rc = DB_ERROR;
	if ((arr = cJSON_CreateArray()) == NULL)
		goto out;
	for (i = 0; i < res->nrows; i++) {
		if ((o = job_json(res, i, &att)) == NULL)
			goto out;
		cJSON_AddItemToArray(arr, o);
	}
	*out = arr;
	arr = NULL;
	rc = DB_OK;
out:
	cJSON_Delete(arr);
	attempts_free(&att);
	return rc;
}

/* See job.h. */
int
job_get(struct db *db, long long account_id, const char *uuid, cJSON **out)
{
	struct db_res	*res = NULL;
	int		 rc;

	*out = NULL;
	rc = db_query(db, "SELECT " JOB_COLS JOB_FROM
	    "WHERE j.account_id = ? AND j.uuid = ?",
	    DB_ARGS(DB_INT(account_id), DB_STR(uuid)), &res);
	if (rc != DB_OK)
		return rc;
	if (res->nrows == 0)
		rc = JOB_NOT_FOUND;
	else
		rc = rows_to_array(db, res, out);
	db_res_free(res);
	return rc;
}

/*
 * The row id of the account's job uuid into *id. Returns DB_OK,
 * JOB_NOT_FOUND or a db error.
 */
static int
job_id_of(struct db *db, long long account_id, const char *uuid,
    long long *id)
{
	struct db_res	*res = NULL;
	int		 rc;

	rc = db_query(db, "SELECT id FROM jobs WHERE account_id = ? AND "
	    "uuid = ?", DB_ARGS(DB_INT(account_id), DB_STR(uuid)), &res);
	if (rc != DB_OK)
		return rc;
	rc = res->nrows == 1 ? DB_OK : JOB_NOT_FOUND;
	if (rc == DB_OK)
		*id = db_res_int(res, 0, 0);
	db_res_free(res);
	return rc;
}

/*
 * See job.h. The newest first by row id, through ix_jobs_account
 * (account_id, id) or, with a status, ix_jobs_account_status
 * (account_id, status, id): a page costs the same whatever the account
 * holds.
 */
int
job_list(struct db *db, long long account_id, const struct job_page *page,
    cJSON **out)
{
	struct db_res	*res = NULL;
	long long	 before = 0x7fffffffffffffffLL;
	int		 rc;

	*out = NULL;
	if (page->has_before) {
		rc = job_id_of(db, account_id, page->before, &before);
		if (rc == JOB_NOT_FOUND)
			return JOB_BAD_BEFORE;
		if (rc != DB_OK)
			return rc;
	}
	if (page->status >= 0)
		rc = db_query(db, "SELECT " JOB_COLS JOB_FROM
		    "WHERE j.account_id = ? AND j.status = ? AND j.id < ? "
		    "ORDER BY j.id DESC LIMIT ?",
		    DB_ARGS(DB_INT(account_id),
		    DB_STR(job_status_names[page->status]), DB_INT(before),
		    DB_INT(page->limit)), &res);
	else
		rc = db_query(db, "SELECT " JOB_COLS JOB_FROM
		    "WHERE j.account_id = ? AND j.id < ? "
		    "ORDER BY j.id DESC LIMIT ?",
		    DB_ARGS(DB_INT(account_id), DB_INT(before),
		    DB_INT(page->limit)), &res);
	if (rc != DB_OK)
		return rc;
	rc = rows_to_array(db, res, out);
	db_res_free(res);
	return rc;
}

/* See job.h. */
int
job_cancel(struct db *db, long long account_id, const char *uuid,
    struct job_cancel_out *out)
{
	struct db_res		*res = NULL;
	unsigned long long	 n = 0;
	long long		 id;
	int			 rc, st, attempt;

	memset(out, 0, sizeof(*out));
	out->status = -1;
	for (attempt = 0; attempt < 3; attempt++) {
		rc = db_query(db, "SELECT j.id, j.status, b.uuid FROM jobs j "
		    "JOIN batches b ON b.id = j.batch_id "
		    "WHERE j.account_id = ? AND j.uuid = ?",
		    DB_ARGS(DB_INT(account_id), DB_STR(uuid)), &res);
		if (rc != DB_OK)
			return rc;
		if (res->nrows != 1) {
			db_res_free(res);
			return JOB_NOT_FOUND;
		}
		id = db_res_int(res, 0, 0);
		st = job_status_parse(db_res_str(res, 0, 1),
		    db_res_len(res, 0, 1));
		snprintf(out->batch_uuid, sizeof(out->batch_uuid), "%s",
		    db_res_str(res, 0, 2));
		db_res_free(res);
		res = NULL;
		out->status = st;
		if (st == JOB_PROCESSED || st == JOB_UPLOADING)
			return JOB_FINISHING;
		if (st < 0 || job_status_final((enum job_status)st))
			return JOB_FINAL;

		/* The compare-and-set of the jobs contract. */
		rc = db_exec(db, "UPDATE jobs SET status = 'CANCELED', "
		    "cancel_requested = (host_id IS NOT NULL), "
		    "finished_at = COALESCE(finished_at, UTC_TIMESTAMP(3)), "
		    "pending_reason = NULL "
		    "WHERE id = ? AND status IN " CANCELLABLE,
		    DB_ARGS(DB_INT(id)), &n, NULL);
		if (rc == DB_RETRY)
			continue;
		if (rc != DB_OK)
			return rc;
		if (n == 1) {
			out->status = JOB_CANCELED;
			return DB_OK;
		}
		/* It moved on meanwhile: look again. */
	}
	return JOB_FINAL;
}

/* See job.h. */
int
job_files_get(struct db *db, long long account_id, const char *batch_uuid,
    const char *job_uuid, struct job_files *out)
{
	struct db_res	*res = NULL;
	int		 rc;

	memset(out, 0, sizeof(*out));
	if (batch_uuid != NULL)
		rc = db_query(db, "SELECT j.uuid, j.status, j.model_sha256, "
		    "j.model_size, j.log_size FROM jobs j "
		    "JOIN batches b ON b.id = j.batch_id "
		    "WHERE j.account_id = ? AND j.uuid = ? AND b.uuid = ?",
		    DB_ARGS(DB_INT(account_id), DB_STR(job_uuid),
		    DB_STR(batch_uuid)), &res);
	else
		rc = db_query(db, "SELECT j.uuid, j.status, j.model_sha256, "
		    "j.model_size, j.log_size FROM jobs j "
		    "WHERE j.account_id = ? AND j.uuid = ?",
		    DB_ARGS(DB_INT(account_id), DB_STR(job_uuid)), &res);
	if (rc != DB_OK)
		return rc;
	if (res->nrows != 1) {
		db_res_free(res);
		return JOB_NOT_FOUND;
	}
	snprintf(out->uuid, sizeof(out->uuid), "%s", db_res_str(res, 0, 0));
	out->status = job_status_parse(db_res_str(res, 0, 1),
	    db_res_len(res, 0, 1));
	if (!db_res_isnull(res, 0, 2) && db_res_len(res, 0, 2) == 64) {
		out->has_model = 1;
		memcpy(out->model_sha256, db_res_str(res, 0, 2), 64);
		out->model_sha256[64] = '\0';
		out->model_size = (unsigned long long)db_res_int(res, 0, 3);
	}
	out->has_log = !db_res_isnull(res, 0, 4);
	db_res_free(res);
	return DB_OK;
}

/* See job.h. */
int
job_log_info(struct db *db, long long account_id, const char *job_uuid,
    unsigned attempt, struct job_log *out)
{
	struct db_res	*res = NULL;
	size_t		 col;
	int		 rc;

	memset(out, 0, sizeof(*out));
	out->size = -1;
	/* attempt 0 joins no row: attempts number from 1. */
	rc = db_query(db, "SELECT j.uuid, j.status, j.attempt, j.log_size, "
	    "a.log_size FROM jobs j LEFT JOIN job_attempts a "
	    "ON a.job_id = j.id AND a.attempt = ? "
	    "WHERE j.account_id = ? AND j.uuid = ?",
	    DB_ARGS(DB_INT(attempt), DB_INT(account_id), DB_STR(job_uuid)),
	    &res);
	if (rc != DB_OK)
		return rc;
	if (res->nrows != 1) {
		db_res_free(res);
		return JOB_NOT_FOUND;
	}
	snprintf(out->uuid, sizeof(out->uuid), "%s", db_res_str(res, 0, 0));
	out->status = job_status_parse(db_res_str(res, 0, 1),
	    db_res_len(res, 0, 1));
	out->current = (unsigned)db_res_int(res, 0, 2);
	out->attempt = attempt == 0 ? out->current : attempt;
	rc = DB_OK;
	if (out->attempt > out->current)
		rc = JOB_NO_ATTEMPT;
	else {
		col = out->attempt == out->current ? 3 : 4;
		if (!db_res_isnull(res, 0, col) && db_res_int(res, 0, col) >= 0)
			out->size = db_res_int(res, 0, col);
	}
	db_res_free(res);
	return rc;
}

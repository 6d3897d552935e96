/*
 * jobdb.c: a job's state transitions in the database (DESIGN "Batches and
 * jobs": states; "The dispatcher": retries).
 *
 * Every status change is a compare-and-set on the status read (jobs
 * contract), so a cancel and a dispatcher step never both win. A failed
 * attempt whose failure class the batch's retry policy lists (retry.h) is
 * kept in job_attempts and the job queued again as its next attempt, while
 * attempts remain; else the job ends ERRORED.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "log.h"
#include "retry.h"

/* See dispatch.h. */
void
disp_container_name_of(const char *uuid, unsigned attempt, char out[64])
{
	if (attempt > 1)
		snprintf(out, 64, "st-job-%s-%u", uuid, attempt);
	else
		snprintf(out, 64, "st-job-%s", uuid);
}

/* See dispatch.h. */
void
disp_container_name(const struct disp_job *j, char out[64])
{
	disp_container_name_of(j->uuid, j->attempt, out);
}

/* See dispatch.h. */
long long
disp_limit_ms(const struct disp *d, const struct disp_job *j)
{
	return (long long)(j->pilot ? d->conf.time_limit_pilot :
	    d->conf.time_limit_production) * 1000;
}

/*
 * The outcome of a compare-and-set: 1 moved (j->status set to `to`), 0
 * changed meanwhile, -1 database failure.
 */
static int
cas_result(struct disp *d, int dbrc, unsigned long long affected,
    struct disp_job *j, const char *to)
{
	if (dbrc != DB_OK) {
		log_error("job %s: cannot record %s: %s", j->uuid, to,
		    db_error(d->db));
		d->failed = 1;
		return -1;
	}
	if (affected == 0) {
		disp_say(d, "job %s changed meanwhile (not %s any more)",
		    j->uuid, j->status);
		return 0;
	}
	disp_say(d, "job %s: %s -> %s", j->uuid, j->status, to);
	snprintf(j->status, sizeof(j->status), "%s", to);
	return 1;
}

/* See dispatch.h. */
int
jobdb_processing(struct disp *d, struct disp_job *j, long long started_ms)
{
	unsigned long long	 n = 0;
	int			 rc;

	rc = db_exec(d->db, "UPDATE jobs SET status = 'PROCESSING', "
	    "started_at = COALESCE(FROM_UNIXTIME(NULLIF(?, 0) / 1000), "
	    "UTC_TIMESTAMP(3)), pending_reason = NULL, pull_started_at = "
	    "NULL, pull_bytes = NULL, pull_total = NULL "
	    "WHERE id = ? AND status = 'PENDING'",
	    DB_ARGS(DB_INT(started_ms), DB_INT(j->id)), &n, NULL);
	return cas_result(d, rc, n, j, "PROCESSING");
}

/* See dispatch.h. */
int
jobdb_processed(struct disp *d, struct disp_job *j,
    const struct docker_state *st)
{
	unsigned long long	 n = 0;
	long long		 pt = 0;
	int			 rc;

	if (st->started_ms > 0 && st->finished_ms >= st->started_ms)
		pt = st->finished_ms - st->started_ms;
	/* The container's own start time replaces the dispatcher's. */
	rc = db_exec(d->db, "UPDATE jobs SET status = 'PROCESSED', "
	    "exit_code = ?, oom_killed = ?, processing_time_ms = ?, "
	    "started_at = COALESCE(FROM_UNIXTIME(NULLIF(?, 0) / 1000), "
	    "started_at), "
	    "finished_at = COALESCE(FROM_UNIXTIME(NULLIF(?, 0) / 1000), "
	    "UTC_TIMESTAMP(3)) WHERE id = ? AND status = 'PROCESSING'",
	    DB_ARGS(DB_INT(st->exit_code), DB_INT(st->oom_killed ? 1 : 0),
	    DB_INT(pt), DB_INT(st->started_ms), DB_INT(st->finished_ms),
	    DB_INT(j->id)), &n, NULL);
	if (rc == DB_OK && n > 0)
		disp_say(d, "job %s: exit code %d%s after %lld ms", j->uuid,
		    st->exit_code, st->oom_killed ? " (OOM kill)" : "", pt);
	return cas_result(d, rc, n, j, "PROCESSED");
}

/* See dispatch.h. */
int
jobdb_uploading(struct disp *d, struct disp_job *j)
{
	unsigned long long	 n = 0;
	int			 rc;

	rc = db_exec(d->db, "UPDATE jobs SET status = 'UPLOADING' "
	    "WHERE id = ? AND status = 'PROCESSED'",
	    DB_ARGS(DB_INT(j->id)), &n, NULL);
	return cas_result(d, rc, n, j, "UPLOADING");
}

/* See dispatch.h. */
int
jobdb_error(struct disp *d, struct disp_job *j, const char *why)
{
	unsigned long long	 n = 0;
	int			 rc;

	rc = db_exec(d->db, "UPDATE jobs SET status = 'ERRORED', "
	    "error = LEFT(?, 2048), finished_at = COALESCE(finished_at, "
	    "UTC_TIMESTAMP(3)), pending_reason = NULL "
	    "WHERE id = ? AND status = ?",
	    DB_ARGS(DB_STR(why), DB_INT(j->id), DB_STR(j->status)), &n, NULL);
	if (rc == DB_OK && n > 0)
		log_warn("job %s ERRORED: %s", j->uuid, why);
	return cas_result(d, rc, n, j, "ERRORED");
}

/* See dispatch.h. */
int
jobdb_final(struct disp *d, struct disp_job *j, const char *final,
    const char *err, const char *result, const char *model_sha256,
    long long model_size)
{
	unsigned long long	 n = 0;
	int			 rc;

	rc = db_exec(d->db, "UPDATE jobs SET status = ?, error = ?, "
	    "result = ?, model_sha256 = ?, model_size = ? "
	    "WHERE id = ? AND status = 'UPLOADING'",
	    DB_ARGS(DB_STR(final), DB_STR(err != NULL && err[0] != '\0' ?
	    err : NULL), DB_STR(result), DB_STR(model_sha256 != NULL &&
	    model_sha256[0] != '\0' ? model_sha256 : NULL), model_sha256 !=
	    NULL && model_sha256[0] != '\0' ? DB_INT(model_size) : DB_NULL,
	    DB_INT(j->id)), &n, NULL);
	return cas_result(d, rc, n, j, final);
}

/* See dispatch.h. */
const char *
jobdb_why_attempts(const struct disp_job *j, const char *why, char *buf,
    size_t len)
{
	if (j->attempt <= 1)
		return why;
	snprintf(buf, len, "%s (after %u attempts)", why, j->attempt);
	return buf;
}

/* See dispatch.h. */
int
jobdb_fail_attempt(struct disp *d, struct disp_job *j, const char *cls,
    const char *why)
{
	struct db_res	*r = NULL;
	char		 buf[2048];
	int		 rc;

	if (cls == NULL)
		cls = "";
	if (!retry_should(j->retry_on, j->attempts, j->attempt, cls))
		return jobdb_error(d, j, jobdb_why_attempts(j, why, buf,
		    sizeof(buf)));
	if ((rc = db_begin(d->db)) != DB_OK)
		goto fail;
	rc = db_query(d->db, "SELECT status, attempt FROM jobs WHERE id = ? "
	    "FOR UPDATE", DB_ARGS(DB_INT(j->id)), &r);
	if (rc != DB_OK)
		goto fail;
	if (r->nrows != 1 || strcmp(db_res_str(r, 0, 0), j->status) != 0 ||
	    (unsigned)db_res_int(r, 0, 1) != j->attempt) {
		db_res_free(r);
		db_rollback(d->db);
		disp_say(d, "job %s changed meanwhile (not %s any more)",
		    j->uuid, j->status);
		return 0;
	}
	db_res_free(r);
	r = NULL;
	rc = db_exec(d->db, "INSERT INTO job_attempts (job_id, attempt, "
	    "host_id, host_name, started_at, finished_at, exit_code, "
	    "oom_killed, error, failure, log_size) SELECT j.id, j.attempt, "
	    "j.host_id, h.name, j.started_at, COALESCE(j.finished_at, "
	    "UTC_TIMESTAMP(3)), j.exit_code, j.oom_killed, LEFT(?, 2048), ?, "
	    "j.log_size FROM jobs j LEFT JOIN hosts h ON h.id = j.host_id "
	    "WHERE j.id = ?",
	    DB_ARGS(DB_STR(why), DB_STR(cls), DB_INT(j->id)), NULL, NULL);
	if (rc != DB_OK)
		goto fail;
	rc = db_exec(d->db, "UPDATE jobs SET status = 'QUEUED', "
	    "attempt = attempt + 1, requeues = requeues + ?, host_id = NULL, "
	    "gpu_devices = NULL, container_id = NULL, placed_at = NULL, "
	    "started_at = NULL, finished_at = NULL, exit_code = NULL, "
	    "oom_killed = 0, error = NULL, result = NULL, "
	    "model_sha256 = NULL, model_size = NULL, log_size = NULL, "
	    "log_ts_ns = NULL, log_ts_skip = 0, stop_sent_at = NULL, "
	    "pull_started_at = NULL, pull_bytes = NULL, pull_total = NULL, "
	    "cache_volume = NULL, processing_time_ms = NULL, "
	    "pending_reason = 'not_yet_considered' "
	    "WHERE id = ? AND status = ?",
	    DB_ARGS(DB_INT(strcmp(cls, "host_failure") == 0),
	    DB_INT(j->id), DB_STR(j->status)), NULL, NULL);
	if (rc != DB_OK || (rc = db_commit(d->db)) != DB_OK)
		goto fail;
	disp_say(d, "job %s requeued: %s; attempt %u of %u next", j->uuid,
	    why, j->attempt + 1, j->attempts);
	log_info("job %s requeued after attempt %u (%s): %s", j->uuid,
	    j->attempt, cls, why);
	snprintf(j->status, sizeof(j->status), "QUEUED");
	return 1;
fail:
	db_res_free(r);
	if (db_in_transaction(d->db))
		db_rollback(d->db);
	if (rc == DB_RETRY) {
		log_warn("job %s: requeue put off to the next pass: %s",
		    j->uuid, db_error(d->db));
		return 0;
	}
	log_error("job %s: cannot requeue: %s", j->uuid, db_error(d->db));
	d->failed = 1;
	return -1;
}

/* See dispatch.h. */
int
jobdb_pending(struct disp *d, struct disp_job *j, const char *reason,
    long long pull_bytes, long long pull_total)
{
	int	 same;

	same = (reason == NULL && j->pending_reason == NULL) ||
	    (reason != NULL && j->pending_reason != NULL &&
	    strcmp(reason, j->pending_reason) == 0);
	if (same && pull_bytes < 0)
		return 0;
	if (db_exec(d->db, "UPDATE jobs SET pending_reason = ?, "
	    "pull_started_at = IF(? = 'pulling_image', COALESCE("
	    "pull_started_at, UTC_TIMESTAMP(3)), pull_started_at), "
	    "pull_bytes = IF(? >= 0, ?, pull_bytes), "
	    "pull_total = IF(? > 0, ?, pull_total) "
	    "WHERE id = ? AND status = 'PENDING' AND attempt = ?",
	    DB_ARGS(DB_STR(reason), DB_STR(reason != NULL ? reason : ""),
	    DB_INT(pull_bytes), DB_INT(pull_bytes), DB_INT(pull_total),
	    DB_INT(pull_total), DB_INT(j->id), DB_INT(j->attempt)), NULL,
	    NULL) != DB_OK) {
		log_error("job %s: cannot record pending reason %s: %s",
		    j->uuid, reason != NULL ? reason : "(none)",
		    db_error(d->db));
		d->failed = 1;
		return -1;
	}
	if (!same) {
		free(j->pending_reason);
		j->pending_reason = reason != NULL ? xstrdup(reason) : NULL;
		if (reason != NULL && strcmp(reason, "pulling_image") == 0 &&
		    j->pull_age_s < 0)
			j->pull_age_s = 0;
	}
	return 0;
}

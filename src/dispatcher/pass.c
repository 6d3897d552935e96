/*
 * pass.c: one dispatcher pass, in the DESIGN's order: host health;
 * cancelled jobs' containers stopped, collected and removed; placed jobs
 * followed (PENDING -> PROCESSING -> PROCESSED -> UPLOADING -> COMPLETED |
 * ERRORED) with time limits; jobs of hosts lost past the grace period
 * requeued; queued jobs placed and launched; stray containers removed.
 *
 * A failed attempt whose failure class the batch's retry policy lists
 * (retry.h) is kept in job_attempts and the job queued again as its next
 * attempt, while attempts remain; else the job ends ERRORED.
 *
 * Every status change is a compare-and-set on the status read (jobs
 * contract), so a cancel and a dispatcher step never both win. The
 * container name comes from the job and its attempt, so a pass that dies
 * at any point is finished by the next one.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "log.h"
#include "retry.h"
#include "sched.h"
#include "store.h"

#define ACTIVE_STATES	"('PENDING','PROCESSING','PROCESSED','UPLOADING')"
#define QUEUE_MAX	200000		/* queued jobs considered per pass */
#define REASON_CHUNK	50		/* ids per pending_reason update */

/* Containers being stopped in this pass, and why. */
struct stops {
	struct disp_stop	*v;
	struct disp_job		**job;
	size_t			 n;
};

/* --- small helpers -------------------------------------------------------- */

static long long
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The container name of attempt of the job uuid (see dispatch.h). */
static void
container_name(const char *uuid, unsigned attempt, char out[64])
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
	container_name(j->uuid, j->attempt, out);
}

/* See dispatch.h. */
struct disp_host *
disp_host_of(struct disp *d, long long host_id)
{
	size_t	 i;

	for (i = 0; i < d->nhosts; i++)
		if (d->hosts[i].id == host_id)
			return &d->hosts[i];
	return NULL;
}

/* "12.500" thousandths as text "12.5". */
static void
milli_text(long long v, char *out, size_t len)
{
	size_t	 n;

	snprintf(out, len, "%lld.%03lld", v / 1000, v % 1000);
	n = strlen(out);
	while (n > 0 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
}

static void
stops_add(struct stops *s, struct disp_host *h, struct disp_job *j)
{
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->job = xrealloc(s->job, (s->n + 1) * sizeof(*s->job));
	s->v[s->n].h = h;
	disp_container_name(j, s->v[s->n].name);
	s->job[s->n] = j;
	s->n++;
}

static void
stops_free(struct stops *s)
{
	free(s->v);
	free(s->job);
	memset(s, 0, sizeof(*s));
}

/* --- hosts ---------------------------------------------------------------- */

static void
hosts_free(struct disp *d)
{
	size_t	 i;

	for (i = 0; i < d->nhosts; i++) {
		docker_free(d->hosts[i].dk);
		free(d->hosts[i].name);
		free(d->hosts[i].endpoint);
		free(d->hosts[i].tls_ca);
		free(d->hosts[i].tls_cert);
		free(d->hosts[i].tls_key);
	}
	free(d->hosts);
	d->hosts = NULL;
	d->nhosts = 0;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Load every host. Returns 0 or -1 (database). */
static int
hosts_load(struct disp *d)
{
	struct db_res		*r = NULL;
	struct disp_host	*h;
	size_t			 i;

	hosts_free(d);
	if (db_query(d->db, "SELECT id, name, endpoint, tls_ca, tls_cert, "
	    "tls_key, cpus, gpus, ram_gb, gpu_runtime, state, "
	    "TIMESTAMPDIFF(SECOND, unreachable_since, UTC_TIMESTAMP(3)) "
	    "FROM hosts ORDER BY id", DB_NOARGS, &r) != DB_OK)
		return -1;
	d->hosts = xcalloc(r->nrows + 1, sizeof(*d->hosts));
	for (i = 0; i < r->nrows; i++) {
		h = &d->hosts[d->nhosts++];
		h->id = db_res_int(r, i, 0);
		h->name = xstrdup(db_res_str(r, i, 1));
		h->endpoint = xstrdup(db_res_str(r, i, 2));
		h->tls_ca = dup_or_null(db_res_str(r, i, 3));
		h->tls_cert = dup_or_null(db_res_str(r, i, 4));
		h->tls_key = dup_or_null(db_res_str(r, i, 5));
		sched_parse_milli(db_res_str(r, i, 6), &h->cpu_m);
		h->gpus = (unsigned)db_res_int(r, i, 7);
		if (h->gpus > 1024)
			h->gpus = 1024;
		sched_parse_milli(db_res_str(r, i, 8), &h->ram_m);
		h->env_runtime = strcmp(db_res_str(r, i, 9), "env") == 0;
		snprintf(h->state, sizeof(h->state), "%s",
		    db_res_str(r, i, 10));
		h->down_s = db_res_isnull(r, i, 11) ? -1 :
		    db_res_int(r, i, 11);
		h->reachable = h->down_s < 0;
	}
	db_res_free(r);
	return 0;
}

/*
 * Host health: /_ping and the API version of each host; the outcome is
 * recorded (last_seen_at, or unreachable_since and last_error).
 */
static int
hosts_check(struct disp *d)
{
	struct disp_host	*h;
	char			 err[512];
	size_t			 i;
	int			 ok;

	for (i = 0; i < d->nhosts; i++) {
		h = &d->hosts[i];
		err[0] = '\0';
		ok = 0;
		h->dk = docker_new(h->endpoint, h->tls_ca, h->tls_cert,
		    h->tls_key, err, sizeof(err));
		if (h->dk != NULL) {
			docker_set_timeouts(h->dk, 5, 10);
			if (docker_ping(h->dk) == DOCKER_OK &&
			    docker_version(h->dk, NULL, 0) == DOCKER_OK)
				ok = 1;
			else
				snprintf(err, sizeof(err), "%s",
				    docker_error(h->dk));
			docker_set_timeouts(h->dk, 5, 60);
		}
		if (ok) {
			if (!h->reachable)
				disp_say(d, "host %s is reachable again",
				    h->name);
			h->reachable = 1;
			h->down_s = -1;
			if (db_exec(d->db, "UPDATE hosts SET last_seen_at = "
			    "UTC_TIMESTAMP(3), unreachable_since = NULL, "
			    "last_error = NULL WHERE id = ?",
			    DB_ARGS(DB_INT(h->id)), NULL, NULL) != DB_OK)
				return -1;
			continue;
		}
		if (h->reachable)
			disp_say(d, "host %s is unreachable: %s", h->name,
			    err);
		h->reachable = 0;
		if (h->down_s < 0)
			h->down_s = 0;
		if (db_exec(d->db, "UPDATE hosts SET unreachable_since = "
		    "COALESCE(unreachable_since, UTC_TIMESTAMP(3)), "
		    "last_error = LEFT(?, 1024) WHERE id = ?",
		    DB_ARGS(DB_STR(err), DB_INT(h->id)), NULL, NULL) != DB_OK)
			return -1;
	}
	return 0;
}

/* --- jobs ----------------------------------------------------------------- */

static void
jobs_free(struct disp_job *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(v[i].image);
		free(v[i].tag);
		free(v[i].command);
		free(v[i].env);
		free(v[i].gpu_devices);
		free(v[i].retry_on);
	}
	free(v);
}

/*
 * The jobs holding resources of a host: placed and not finished, or
 * cancelled with a container to stop. Returns 0 or -1 (database).
 */
static int
jobs_load(struct disp *d, struct disp_job **out, size_t *n)
{
	struct db_res	*r = NULL;
	struct disp_job	*j;
	size_t		 i;

	*out = NULL;
	*n = 0;
	if (db_query(d->db, "SELECT j.id, j.uuid, b.uuid, j.status, "
	    "j.host_id, j.account_id, j.mode, j.image, j.image_tag, "
	    "j.command, j.cpu, j.gpu, j.ram_gb, j.gpu_devices, j.dataset_id, "
	    "d.uuid, j.cancel_requested, "
	    "TIMESTAMPDIFF(MICROSECOND, j.started_at, UTC_TIMESTAMP(3)) "
	    "DIV 1000, j.requeues, j.env, j.attempt, b.retry_attempts, "
	    "b.retry_on FROM jobs j JOIN batches b ON b.id = j.batch_id "
	    "LEFT JOIN datasets d ON d.id = j.dataset_id "
	    "WHERE j.host_id IS NOT NULL AND (j.status IN " ACTIVE_STATES
	    " OR (j.status = 'CANCELED' AND j.cancel_requested = 1)) "
	    "ORDER BY j.id", DB_NOARGS, &r) != DB_OK)
		return -1;
	*out = xcalloc(r->nrows + 1, sizeof(**out));
	for (i = 0; i < r->nrows; i++) {
		j = &(*out)[i];
		j->id = db_res_int(r, i, 0);
		snprintf(j->uuid, sizeof(j->uuid), "%s", db_res_str(r, i, 1));
		snprintf(j->batch_uuid, sizeof(j->batch_uuid), "%s",
		    db_res_str(r, i, 2));
		snprintf(j->status, sizeof(j->status), "%s",
		    db_res_str(r, i, 3));
		j->host_id = db_res_int(r, i, 4);
		j->account_id = db_res_int(r, i, 5);
		j->pilot = strcmp(db_res_str(r, i, 6), "pilot") == 0;
		j->image = xstrdup(db_res_str(r, i, 7));
		j->tag = xstrdup(db_res_str(r, i, 8));
		j->command = xstrdup(db_res_str(r, i, 9));
		sched_parse_milli(db_res_str(r, i, 10), &j->cpu_m);
		j->gpu = (unsigned)db_res_int(r, i, 11);
		sched_parse_milli(db_res_str(r, i, 12), &j->ram_m);
		j->gpu_devices = dup_or_null(db_res_str(r, i, 13));
		j->dataset_id = db_res_int(r, i, 14);
		if (db_res_str(r, i, 15) != NULL)
			snprintf(j->dataset_uuid, sizeof(j->dataset_uuid),
			    "%s", db_res_str(r, i, 15));
		j->cancel_requested = (int)db_res_int(r, i, 16);
		j->running_ms = db_res_isnull(r, i, 17) ? -1 :
		    db_res_int(r, i, 17);
		j->requeues = (unsigned)db_res_int(r, i, 18);
		j->env = dup_or_null(db_res_str(r, i, 19));
		j->attempt = (unsigned)db_res_int(r, i, 20);
		j->attempts = (unsigned)db_res_int(r, i, 21);
		j->retry_on = dup_or_null(db_res_str(r, i, 22));
	}
	*n = r->nrows;
	db_res_free(r);
	return 0;
}

/*
 * Compare-and-set helpers: each returns 1 when the row moved, 0 when the
 * job was no longer in the expected status (cancelled meanwhile), -1 on a
 * database failure.
 */
static int
cas_result(struct disp *d, int dbrc, unsigned long long affected,
    struct disp_job *j, const char *to)
{
	if (dbrc != DB_OK) {
		log_error("job %s: cannot record %s: %s", j->uuid, to,
		    db_error(d->db));
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

static int
cas_processing(struct disp *d, struct disp_job *j, long long started_ms)
{
	unsigned long long	 n = 0;
	int			 rc;

	rc = db_exec(d->db, "UPDATE jobs SET status = 'PROCESSING', "
	    "started_at = COALESCE(FROM_UNIXTIME(NULLIF(?, 0) / 1000), "
	    "UTC_TIMESTAMP(3)) WHERE id = ? AND status = 'PENDING'",
	    DB_ARGS(DB_INT(started_ms), DB_INT(j->id)), &n, NULL);
	return cas_result(d, rc, n, j, "PROCESSING");
}

static int
cas_processed(struct disp *d, struct disp_job *j,
    const struct docker_state *st)
{
	unsigned long long	 n = 0;
	long long		 pt = 0;
	int			 rc;

	if (st->started_ms > 0 && st->finished_ms >= st->started_ms)
		pt = st->finished_ms - st->started_ms;
	rc = db_exec(d->db, "UPDATE jobs SET status = 'PROCESSED', "
	    "exit_code = ?, oom_killed = ?, processing_time_ms = ?, "
	    "finished_at = COALESCE(FROM_UNIXTIME(NULLIF(?, 0) / 1000), "
	    "UTC_TIMESTAMP(3)) WHERE id = ? AND status = 'PROCESSING'",
	    DB_ARGS(DB_INT(st->exit_code), DB_INT(st->oom_killed ? 1 : 0),
	    DB_INT(pt), DB_INT(st->finished_ms), DB_INT(j->id)), &n, NULL);
	if (rc == DB_OK && n > 0)
		disp_say(d, "job %s: exit code %d%s after %lld ms", j->uuid,
		    st->exit_code, st->oom_killed ? " (OOM kill)" : "", pt);
	return cas_result(d, rc, n, j, "PROCESSED");
}

static int
cas_uploading(struct disp *d, struct disp_job *j)
{
	unsigned long long	 n = 0;
	int			 rc;

	rc = db_exec(d->db, "UPDATE jobs SET status = 'UPLOADING' "
	    "WHERE id = ? AND status = 'PROCESSED'",
	    DB_ARGS(DB_INT(j->id)), &n, NULL);
	return cas_result(d, rc, n, j, "UPLOADING");
}

/* End a job ERRORED with why, from its current status. */
static int
cas_error(struct disp *d, struct disp_job *j, const char *why)
{
	unsigned long long	 n = 0;
	int			 rc;

	rc = db_exec(d->db, "UPDATE jobs SET status = 'ERRORED', "
	    "error = LEFT(?, 2048), finished_at = COALESCE(finished_at, "
	    "UTC_TIMESTAMP(3)) WHERE id = ? AND status = ?",
	    DB_ARGS(DB_STR(why), DB_INT(j->id), DB_STR(j->status)), &n, NULL);
	if (rc == DB_OK && n > 0)
		log_warn("job %s ERRORED: %s", j->uuid, why);
	return cas_result(d, rc, n, j, "ERRORED");
}

/* why, followed by the number of attempts when there was more than one. */
static const char *
why_attempts(const struct disp_job *j, const char *why, char *buf,
    size_t len)
{
	if (j->attempt <= 1)
		return why;
	snprintf(buf, len, "%s (after %u attempts)", why, j->attempt);
	return buf;
}

/*
 * The current attempt of j failed with why, of failure class cls (NULL
 * or "": one no policy retries). When the batch's policy retries cls and
 * attempts remain, in one transaction that locks the job's row first: the
 * attempt is kept in job_attempts (host name, times, exit code, OOM flag,
 * why, cls, its log's size) and the job goes back to QUEUED as attempt +
 * 1, everything of the failed attempt cleared; a job whose status or
 * attempt moved meanwhile (a cancel) is left alone. The attempt's
 * container is then removed when h is reachable (else the sweep removes
 * it once the host is back: its name is not the new attempt's). Otherwise
 * the job ends ERRORED with why. Returns 1 when the job moved, 0 when it
 * changed meanwhile or a deadlock put the move off to the next pass, -1
 * on a database failure.
 */
static int
fail_attempt(struct disp *d, struct disp_host *h, struct disp_job *j,
    const char *cls, const char *why)
{
	struct db_res	*r = NULL;
	char		 buf[2048], name[64];
	int		 rc;

	if (!retry_should(j->retry_on, j->attempts, j->attempt, cls))
		return cas_error(d, j, why_attempts(j, why, buf, sizeof(buf)));
	disp_container_name(j, name);
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
	    "j.host_id, h.name, j.started_at, "
	    "COALESCE(j.finished_at, UTC_TIMESTAMP(3)), "
	    "j.exit_code, j.oom_killed, LEFT(?, 2048), ?, j.log_size FROM jobs j "
	    "LEFT JOIN hosts h ON h.id = j.host_id WHERE j.id = ?",
	    DB_ARGS(DB_STR(why), DB_STR(cls), DB_INT(j->id)), NULL, NULL);
	if (rc != DB_OK)
		goto fail;
	rc = db_exec(d->db, "UPDATE jobs SET status = 'QUEUED', "
	    "attempt = attempt + 1, requeues = requeues + ?, host_id = NULL, "
	    "gpu_devices = NULL, container_id = NULL, placed_at = NULL, "
	    "started_at = NULL, finished_at = NULL, exit_code = NULL, "
	    "oom_killed = 0, error = NULL, result = NULL, "
	    "model_sha256 = NULL, model_size = NULL, log_size = NULL, "
	    "processing_time_ms = NULL, pending_reason = 'not_yet_considered' "
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
	j->attempt++;
	if (h != NULL && h->reachable && docker_remove(h->dk, name) !=
	    DOCKER_OK)
		log_warn("job %s: %s", j->uuid, docker_error(h->dk));
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
	return -1;
}

/* --- following one job ------------------------------------------------------ */

/* The time limit of j's mode, in ms. */
static long long
limit_ms(const struct disp *d, const struct disp_job *j)
{
	return (long long)(j->pilot ? d->conf.time_limit_pilot :
	    d->conf.time_limit_production) * 1000;
}

/*
 * The end of a job whose container exited (status UPLOADING): log and
 * /output collected, the outcome decided and recorded, the container
 * removed.
 */
static int
finish(struct disp *d, struct disp_host *h, struct disp_job *j,
    const struct docker_state *st)
{
	struct disp_outputs	 o;
	unsigned long long	 n = 0;
	const char		*final = "COMPLETED", *result = NULL, *err;
	char			 why[512], ram[32], name[64], buf[600];
	char			 cls[RETRY_CLASS_MAX];
	long long		 pt = 0;
	int			 rc, dbrc;

	memset(&o, 0, sizeof(o));
	why[0] = '\0';
	cls[0] = '\0';
	disp_container_name(j, name);
	if (st->started_ms > 0 && st->finished_ms >= st->started_ms)
		pt = st->finished_ms - st->started_ms;
	/*
	 * NOTE: an OOM kill can reach the engine's state after the limit was
	 * seen running; the container's own run time settles which came first.
	 */
	if (pt >= limit_ms(d, j) || (j->stop_for_limit && !st->oom_killed)) {
		final = "ERRORED";
		snprintf(why, sizeof(why), "time limit exceeded");
	} else if (st->oom_killed) {
		final = "ERRORED";
		milli_text(j->ram_m, ram, sizeof(ram));
		snprintf(why, sizeof(why), "killed: out of memory (limit %s "
		    "GB)", ram);
		snprintf(cls, sizeof(cls), "oom");
	} else if (st->exit_code != 0) {
		final = "ERRORED";
		snprintf(why, sizeof(why), "exited with code %d",
		    st->exit_code);
		retry_exit_class(st->exit_code, cls);
	}
	disp_store_log(d, h, j);
	/* An attempt retried leaves no result nor model: nothing to collect. */
	if (retry_should(j->retry_on, j->attempts, j->attempt, cls)) {
		rc = fail_attempt(d, h, j, cls, why);
		goto out;
	}
	if (disp_collect(d, h, j, &o) != 0) {
		rc = 0;		/* try again next pass */
		goto out;
	}
	if (strcmp(final, "COMPLETED") == 0) {
		result = o.result != NULL ? o.result : "{}";
		if (o.result_error != NULL)
			snprintf(why, sizeof(why), "%s", o.result_error);
		err = why;
	} else
		err = why_attempts(j, why, buf, sizeof(buf));
	dbrc = db_exec(d->db, "UPDATE jobs SET status = ?, error = ?, "
	    "result = ?, model_sha256 = ?, model_size = ? "
	    "WHERE id = ? AND status = 'UPLOADING'",
	    DB_ARGS(DB_STR(final), DB_STR(err[0] != '\0' ? err : NULL),
	    DB_STR(result), DB_STR(o.model_sha256[0] != '\0' ?
	    o.model_sha256 : NULL), o.model_sha256[0] != '\0' ?
	    DB_INT(o.model_size) : DB_NULL, DB_INT(j->id)), &n, NULL);
	if ((rc = cas_result(d, dbrc, n, j, final)) < 0)
		goto out;
	if (err[0] != '\0')
		disp_say(d, "job %s: %s", j->uuid, err);
	if (docker_remove(h->dk, name) != DOCKER_OK)
		log_warn("job %s: %s", j->uuid, docker_error(h->dk));
out:
	disp_outputs_free(&o);
	return rc;
}

/*
 * Move j (not cancelled, on a reachable host) as far as its container
 * allows in this pass. A running job past its time limit is added to
 * stops. Returns 0, or -1 on a database failure.
 */
static int
advance(struct disp *d, struct disp_host *h, struct disp_job *j,
    struct stops *stops)
{
	struct docker_state	 st;
	const char		*cls;
	char			 name[64], why[1024];
	int			 rc, step;

	disp_container_name(j, name);
	for (step = 0; step < 8; step++) {
		rc = docker_inspect(h->dk, name, &st);
		if (rc == DOCKER_NOT_FOUND) {
			if (strcmp(j->status, "PENDING") != 0) {
				snprintf(why, sizeof(why), "the container "
				    "disappeared from host %s", h->name);
				return fail_attempt(d, h, j, "host_failure",
				    why) < 0 ? -1 : 0;
			}
			memset(&st, 0, sizeof(st));
			snprintf(st.status, sizeof(st.status), "missing");
		} else if (rc != DOCKER_OK) {
			log_warn("job %s: %s", j->uuid, docker_error(h->dk));
			return 0;
		}

		if (strcmp(j->status, "PENDING") == 0) {
			if (strcmp(st.status, "missing") == 0 ||
			    strcmp(st.status, "created") == 0) {
				why[0] = '\0';
				rc = disp_launch(d, h, j, why, sizeof(why),
				    &cls);
				if (rc > 0)
					return fail_attempt(d, h, j, cls,
					    why) < 0 ? -1 : 0;
				if (rc < 0)
					return 0;
				continue;	/* inspect the started one */
			}
			if (cas_processing(d, j, st.started_ms) <= 0)
				return 0;
			j->running_ms = st.started_ms > 0 ?
			    (long long)time(NULL) * 1000 - st.started_ms : 0;
			continue;
		}
		if (strcmp(j->status, "PROCESSING") == 0) {
			if (strcmp(st.status, "created") == 0) {
				/* Crash between create and start: start. */
				if (docker_start(h->dk, name) != DOCKER_OK) {
					log_warn("job %s: %s", j->uuid,
					    docker_error(h->dk));
					return 0;
				}
				continue;
			}
			if (strcmp(st.status, "exited") != 0 &&
			    strcmp(st.status, "dead") != 0) {
				if (j->running_ms >= limit_ms(d, j)) {
					disp_say(d, "job %s: time limit of "
					    "%lld s reached: stopping", j->uuid,
					    limit_ms(d, j) / 1000);
					j->stop_for_limit = 1;
					stops_add(stops, h, j);
				} else
					disp_store_log(d, h, j);
				return 0;
			}
			if ((rc = cas_processed(d, j, &st)) <= 0)
				return rc;
			continue;
		}
		if (strcmp(j->status, "PROCESSED") == 0) {
			if ((rc = cas_uploading(d, j)) <= 0)
				return rc;
			continue;
		}
		if (strcmp(j->status, "UPLOADING") == 0)
			return finish(d, h, j, &st) < 0 ? -1 : 0;
		return 0;
	}
	return 0;
}

/*
 * A cancelled job whose container may still exist: collect what /output
 * holds (a partial model) and the log, remove the container, clear
 * cancel_requested.
 */
static int
cancel_done(struct disp *d, struct disp_host *h, struct disp_job *j)
{
	struct disp_outputs	 o;
	struct docker_state	 st;
	unsigned long long	 n = 0;
	char			 name[64];
	int			 rc = 0, irc;

	memset(&o, 0, sizeof(o));
	disp_container_name(j, name);
	irc = docker_inspect(h->dk, name, &st);
	if (irc == DOCKER_OK) {
		if (strcmp(st.status, "created") != 0) {
			disp_store_log(d, h, j);
			if (disp_collect(d, h, j, &o) != 0)
				goto out;
		}
		if (docker_remove(h->dk, name) != DOCKER_OK) {
			log_warn("job %s: %s", j->uuid, docker_error(h->dk));
			goto out;
		}
	} else if (irc != DOCKER_NOT_FOUND) {
		log_warn("job %s: %s", j->uuid, docker_error(h->dk));
		goto out;
	}
	if (db_exec(d->db, "UPDATE jobs SET cancel_requested = 0, "
	    "model_sha256 = COALESCE(?, model_sha256), model_size = "
	    "COALESCE(?, model_size) WHERE id = ? AND status = 'CANCELED' "
	    "AND cancel_requested = 1", DB_ARGS(DB_STR(o.model_sha256[0] ?
	    o.model_sha256 : NULL), o.model_sha256[0] ? DB_INT(o.model_size) :
	    DB_NULL, DB_INT(j->id)), &n, NULL) != DB_OK) {
		rc = -1;
		goto out;
	}
	disp_say(d, "job %s: cancelled; container %s removed", j->uuid,
	    irc == DOCKER_OK ? name : "(none)");
out:
	disp_outputs_free(&o);
	return rc;
}

/*
 * Cancelled jobs: their running containers stopped (TERM, grace, KILL),
 * then collected and removed.
 */
static int
phase_cancels(struct disp *d, struct disp_job *v, size_t n)
{
	struct stops		 stops = { 0 };
	struct disp_host	*h;
	struct docker_state	 st;
	char			 name[64];
	size_t			 i;
	int			 rc = 0;

	for (i = 0; i < n; i++) {
		if (strcmp(v[i].status, "CANCELED") != 0 ||
		    (h = disp_host_of(d, v[i].host_id)) == NULL ||
		    !h->reachable)
			continue;
		disp_container_name(&v[i], name);
		if (docker_inspect(h->dk, name, &st) == DOCKER_OK &&
		    st.running)
			stops_add(&stops, h, &v[i]);
	}
	disp_stop_all(d, stops.v, stops.n);
	for (i = 0; i < n && rc == 0; i++) {
		if (strcmp(v[i].status, "CANCELED") != 0 ||
		    (h = disp_host_of(d, v[i].host_id)) == NULL ||
		    !h->reachable)
			continue;
		rc = cancel_done(d, h, &v[i]);
	}
	stops_free(&stops);
	return rc;
}

/* Placed jobs followed; those past their time limit stopped and ended. */
static int
phase_follow(struct disp *d, struct disp_job *v, size_t n, int pending)
{
	struct stops		 stops = { 0 }, again = { 0 };
	struct disp_host	*h;
	size_t			 i;
	int			 rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		if (strcmp(v[i].status, "CANCELED") == 0 ||
		    (pending && strcmp(v[i].status, "PENDING") != 0) ||
		    (h = disp_host_of(d, v[i].host_id)) == NULL ||
		    !h->reachable)
			continue;
		rc = advance(d, h, &v[i], &stops);
	}
	if (rc == 0 && stops.n > 0) {
		/* Stopped ones are ended now; one that resists waits. */
		disp_stop_all(d, stops.v, stops.n);
		for (i = 0; i < stops.n && rc == 0; i++)
			rc = advance(d, stops.v[i].h, stops.job[i], &again);
	}
	stops_free(&again);
	stops_free(&stops);
	return rc;
}

/*
 * Jobs of hosts unreachable for longer than the grace period: their
 * attempt failed with class host_failure (back to QUEUED when the batch's
 * policy allows, else ERRORED); cancelled ones forget their container.
 */
static int
phase_requeue(struct disp *d, struct disp_job *v, size_t n)
{
	struct disp_host	*h;
	struct disp_job		*j;
	char			 why[512];
	size_t			 i;

	for (i = 0; i < n; i++) {
		j = &v[i];
		if ((h = disp_host_of(d, j->host_id)) == NULL ||
		    h->reachable || h->down_s < (long long)d->conf.disp_host_grace)
			continue;
		if (strcmp(j->status, "CANCELED") == 0) {
			if (db_exec(d->db, "UPDATE jobs SET cancel_requested "
			    "= 0 WHERE id = ? AND status = 'CANCELED'",
			    DB_ARGS(DB_INT(j->id)), NULL, NULL) != DB_OK)
				return -1;
			continue;
		}
		snprintf(why, sizeof(why), "host %s was unreachable for more "
		    "than %u s", h->name, d->conf.disp_host_grace);
		if (fail_attempt(d, h, j, "host_failure", why) < 0)
			return -1;
	}
	return 0;
}

/* --- placement --------------------------------------------------------------- */

/* The queued jobs (with their current pending_reason). */
struct queued {
	struct sched_job	*v;
	char			(*uuid)[UUID_STR_LEN + 1];
	char			**reason;
	size_t			 n;
};

static void
queued_free(struct queued *q)
{
	size_t	 i;

	if (q->v != NULL)
		sched_jobs_clear(q->v, q->n);
	for (i = 0; q->reason != NULL && i < q->n; i++)
		free(q->reason[i]);
	free(q->reason);
	free(q->uuid);
	free(q->v);
	memset(q, 0, sizeof(*q));
}

static int
queued_load(struct disp *d, struct queued *q)
{
	struct db_res	*r = NULL;
	size_t		 i;

	memset(q, 0, sizeof(*q));
	if (db_query(d->db, "SELECT id, uuid, account_id, mode, cpu, gpu, "
	    "ram_gb, pending_reason FROM jobs WHERE status = 'QUEUED' "
	    "ORDER BY mode, id LIMIT ?", DB_ARGS(DB_INT(QUEUE_MAX)), &r) !=
	    DB_OK)
		return -1;
	q->n = r->nrows;
	q->v = xcalloc(q->n + 1, sizeof(*q->v));
	q->uuid = xcalloc(q->n + 1, sizeof(*q->uuid));
	q->reason = xcalloc(q->n + 1, sizeof(*q->reason));
	for (i = 0; i < q->n; i++) {
		q->v[i].id = db_res_int(r, i, 0);
		snprintf(q->uuid[i], sizeof(q->uuid[i]), "%s",
		    db_res_str(r, i, 1));
		q->v[i].account_id = db_res_int(r, i, 2);
		q->v[i].pilot = strcmp(db_res_str(r, i, 3), "pilot") == 0;
		sched_parse_milli(db_res_str(r, i, 4), &q->v[i].cpu_m);
		q->v[i].gpu = (unsigned)db_res_int(r, i, 5);
		sched_parse_milli(db_res_str(r, i, 6), &q->v[i].ram_m);
		q->reason[i] = dup_or_null(db_res_str(r, i, 7));
	}
	db_res_free(r);
	return 0;
}

/* Account usage from the active jobs, for fairness. */
static struct sched_usage *
usage_of(const struct disp_job *v, size_t n, size_t *nu)
{
	struct sched_usage	*u;
	size_t			 i, k;

	u = xcalloc(n + 1, sizeof(*u));
	*nu = 0;
	for (i = 0; i < n; i++) {
		for (k = 0; k < *nu; k++)
			if (u[k].account_id == v[i].account_id)
				break;
		if (k == *nu)
			u[(*nu)++].account_id = v[i].account_id;
		u[k].cpu_m += v[i].cpu_m;
		u[k].ram_m += v[i].ram_m;
		u[k].gpus += v[i].gpu;
	}
	return u;
}

/*
 * Record the pending reasons that changed, REASON_CHUNK ids per statement
 * (padded with id 0, which no job has).
 */
static int
reasons_commit(struct disp *d, const struct queued *q)
{
	static char		*sql;
	struct db_param		 args[REASON_CHUNK + 1];
	const char		*name;
	size_t			 i, k, r;
	int			 rc = 0;

	if (sql == NULL) {
		size_t	 o;

		sql = xmalloc(128 + REASON_CHUNK * 3);
		o = (size_t)sprintf(sql, "UPDATE jobs SET pending_reason = ? "
		    "WHERE status = 'QUEUED' AND id IN (");
		for (i = 0; i < REASON_CHUNK; i++)
			o += (size_t)sprintf(sql + o, "%s?", i ? "," : "");
		sprintf(sql + o, ")");
	}
	for (r = SCHED_NO_HOST_FITS; r < SCHED_REASON__MAX && rc == 0; r++) {
		name = sched_reason_name((enum sched_reason)r);
		args[0] = DB_STR(name);
		k = 0;
		for (i = 0; i <= q->n && rc == 0; i++) {
			if (i < q->n && (q->v[i].reason != r ||
			    (q->reason[i] != NULL &&
			    strcmp(q->reason[i], name) == 0)))
				continue;
			if (i < q->n)
				args[1 + k++] = DB_INT(q->v[i].id);
			if (k == REASON_CHUNK || (i == q->n && k > 0)) {
				for (; k < REASON_CHUNK; k++)
					args[1 + k] = DB_INT(0);
				if (db_exec(d->db, sql, args, REASON_CHUNK + 1,
				    NULL, NULL) != DB_OK)
					rc = -1;
				k = 0;
			}
		}
	}
	return rc;
}

/*
 * Place the queued jobs: run the scheduler over the hosts and what they
 * hold, then (unless a dry run) commit every placement (status PENDING,
 * host, GPU devices) and the pending reasons in one transaction, before
 * any Docker call. Returns 0 or -1.
 */
static int
phase_place(struct disp *d)
{
	struct sched_host	*sh = NULL;
	struct sched_usage	*u = NULL;
	struct disp_job		*act = NULL;
	struct queued		 q;
	struct disp_host	*h;
	unsigned long long	 aff;
	size_t			 nact = 0, nu = 0, i, k, placed = 0, moved = 0;
	long long		 t0 = mono_ms();
	int			 rc = -1, dbrc;

	memset(&q, 0, sizeof(q));
	if (jobs_load(d, &act, &nact) != 0 || queued_load(d, &q) != 0)
		goto out;
	sh = xcalloc(d->nhosts + 1, sizeof(*sh));
	for (i = 0; i < d->nhosts; i++) {
		sh[i].id = d->hosts[i].id;
		sh[i].active = strcmp(d->hosts[i].state, "active") == 0;
		sh[i].reachable = d->hosts[i].reachable;
		sh[i].cpu_m = d->hosts[i].cpu_m;
		sh[i].ram_m = d->hosts[i].ram_m;
		sh[i].gpus = d->hosts[i].gpus;
	}
	for (i = 0; i < nact; i++)
		for (k = 0; k < d->nhosts; k++)
			if (sh[k].id == act[i].host_id) {
				sched_host_take(&sh[k], act[i].cpu_m,
				    act[i].ram_m, act[i].gpu_devices);
				break;
			}
	u = usage_of(act, nact, &nu);
	placed = sched_place(sh, d->nhosts, q.v, q.n, u, nu);

	if (d->dry_run) {
		for (i = 0; i < q.n; i++) {
			if (q.v[i].reason == SCHED_PLACED)
				printf("place job %s on host %s%s%s\n",
				    q.uuid[i], d->hosts[q.v[i].host].name,
				    q.v[i].gpu_devices ? " gpus " : "",
				    q.v[i].gpu_devices ? q.v[i].gpu_devices :
				    "");
			else if (d->verbose)
				printf("job %s stays queued: %s\n", q.uuid[i],
				    sched_reason_name(q.v[i].reason));
		}
		printf("dry run: %zu of %zu queued jobs would be placed on "
		    "%zu hosts (%lld ms)\n", placed, q.n, d->nhosts,
		    mono_ms() - t0);
		rc = 0;
		goto out;
	}

	if (db_begin(d->db) != DB_OK)
		goto out;
	for (i = 0; i < q.n; i++) {
		if (q.v[i].reason != SCHED_PLACED)
			continue;
		h = &d->hosts[q.v[i].host];
		aff = 0;
		dbrc = db_exec(d->db, "UPDATE jobs SET status = 'PENDING', "
		    "host_id = ?, gpu_devices = ?, placed_at = "
		    "UTC_TIMESTAMP(3), pending_reason = NULL "
		    "WHERE id = ? AND status = 'QUEUED'",
		    DB_ARGS(DB_INT(h->id), DB_STR(q.v[i].gpu_devices),
		    DB_INT(q.v[i].id)), &aff, NULL);
		if (dbrc != DB_OK)
			goto out;
		if (aff > 0) {
			moved++;
			disp_say(d, "job %s placed on host %s%s%s", q.uuid[i],
			    h->name, q.v[i].gpu_devices ? " gpus " : "",
			    q.v[i].gpu_devices ? q.v[i].gpu_devices : "");
		}
	}
	if (reasons_commit(d, &q) != 0 || db_commit(d->db) != DB_OK)
		goto out;
	if (q.n > 0)
		disp_say(d, "placed %zu of %zu queued jobs", moved, q.n);
	rc = 0;
out:
	if (rc != 0 && db_in_transaction(d->db))
		db_rollback(d->db);
	if (rc != 0)
		log_error("placement failed: %s", db_error(d->db));
	queued_free(&q);
	jobs_free(act, nact);
	free(sh);
	free(u);
	return rc;
}

/*
 * Containers of this service on a host that no job placed there accounts
 * for (a final job whose removal a crash prevented, a job requeued away
 * from a host that came back, an earlier attempt of a retried job: only
 * the container named for the job's current attempt is kept) are stopped
 * and removed.
 */
static int
phase_sweep(struct disp *d, struct disp_host *h)
{
	struct docker_container	*c = NULL;
	struct db_res		*r = NULL;
	char			 want[64];
	size_t			 n = 0, i;
	int			 keep, rc = 0;

	if (docker_list(h->dk, "singularity.job", &c, &n) != DOCKER_OK) {
		log_warn("host %s: %s", h->name, docker_error(h->dk));
		return 0;
	}
	for (i = 0; i < n; i++) {
		keep = 0;
		if (db_query(d->db, "SELECT attempt FROM jobs WHERE uuid = ? AND "
		    "host_id = ? AND (status IN " ACTIVE_STATES " OR "
		    "(status = 'CANCELED' AND cancel_requested = 1))",
		    DB_ARGS(DB_STR(c[i].job), DB_INT(h->id)), &r) != DB_OK) {
			rc = -1;
			break;
		}
		if ((keep = r->nrows > 0)) {
			container_name(c[i].job, (unsigned)db_res_int(r, 0, 0),
			    want);
			keep = strcmp(c[i].name, want) == 0;
		}
		db_res_free(r);
		r = NULL;
		if (keep)
			continue;
		if (docker_remove(h->dk, c[i].id) != DOCKER_OK)
			log_warn("host %s: %s", h->name, docker_error(h->dk));
		else
			disp_say(d, "host %s: removed stray container %s "
			    "(job %s)", h->name, c[i].name,
			    c[i].job[0] ? c[i].job : "?");
	}
	free(c);
	return rc;
}

/* See dispatch.h. */
int
disp_pass(struct disp *d)
{
	struct disp_job	*v = NULL;
	size_t		 n = 0, i;
	long long	 t0 = mono_ms();
	int		 rc = -1;

	if (hosts_load(d) != 0)
		goto out;
	if (d->dry_run) {
		rc = phase_place(d);
		goto out;
	}
	if (hosts_check(d) != 0)
		goto out;

	if (jobs_load(d, &v, &n) != 0)
		goto out;
	if (phase_cancels(d, v, n) != 0 || phase_follow(d, v, n, 0) != 0 ||
	    phase_requeue(d, v, n) != 0)
		goto out;
	jobs_free(v, n);
	v = NULL;
	n = 0;

	if (phase_place(d) != 0)
		goto out;

	/* Launch what was just placed (and what a crash left PENDING). */
	if (jobs_load(d, &v, &n) != 0 || phase_follow(d, v, n, 1) != 0)
		goto out;

	for (i = 0; i < d->nhosts; i++)
		if (d->hosts[i].reachable && phase_sweep(d, &d->hosts[i]) != 0)
			goto out;
	if (disp_autopromote(d) != 0)
		goto out;
	rc = 0;
	log_debug("pass done in %lld ms", mono_ms() - t0);
out:
	jobs_free(v, n);
	hosts_free(d);
	return rc;
}

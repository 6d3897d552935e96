/*
 * step.c: what a placed job does on its host, as a state machine driven by
 * the calls it makes (DESIGN "The dispatcher": launch, follow, stop, exit,
 * cancel). At most one step of a job is under way; every step can be
 * redone after a crash, because the container's name comes from the job
 * and its attempt and every transition is a compare-and-set:
 *
 *   PENDING:     image (pull.c) -> data view (cache.c) -> create -> put
 *                /output -> the status checked once more -> start ->
 *                inspect -> PROCESSING
 *   PROCESSING:  log followed (logs.c); past the time limit, stopped
 *   exited:      inspect -> PROCESSED -> UPLOADING -> the whole log ->
 *                retried (jobdb_fail_attempt) or /output collected ->
 *                COMPLETED | ERRORED -> container removed
 *   CANCELED:    stopped (SIGTERM, stop_grace, SIGKILL) -> log and what
 *                /output holds kept (a partial model) -> removed
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <signal.h>

#include "dispatch.h"
#include "log.h"
#include "retry.h"

#define STOP_POLL_MS	500		/* a stopping container looked at */
#define KILL_WAIT_MS	15000		/* after SIGKILL, at most */
#define DRAIN_WAIT_MS	10000		/* a follow stream's end awaited */
#define COLLECT_POLL_MS	100		/* a collecting child looked at */

static void	run(struct disp *d, struct disp_job *j, struct ecall *res);
static void	collect_abort(struct disp_job *j);

/* Wall-clock Unix milliseconds. */
static long long
wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
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

/* --- calls and timers ------------------------------------------------------------ */

static void
call_done(struct ecall *c)
{
	struct disp_job	*j = c->arg;

	j->call = NULL;
	run(j->d, j, c);
	ecall_free(c);
}

/* The done() of a call whose job gave it up. */
static void
abandoned(struct ecall *c)
{
	ecall_free(c);
}

/* GET /containers/{name}/json of j's current attempt. */
static struct ecall *
dk_inspect_job(const struct disp_job *j)
{
	char	 name[64];

	disp_container_name(j, name);
	return dk_inspect(name);
}

/* Submit c as j's step call on h. Returns 0 (the step waits). */
static int
job_call(struct disp_host *h, struct disp_job *j, struct ecall *c)
{
	c->done = call_done;
	c->arg = j;
	c->tag = j->id;
	j->call = c;
	engine_submit(h->eng, c);
	return 0;
}

static void
timer_fired(void *arg, long long tag)
{
	struct disp_job	*j = arg;

	(void)tag;
	j->timer = 0;
	run(j->d, j, NULL);
}

/* Go on with j's step after ms. Returns 0 (the step waits). */
static int
job_timer(struct disp *d, struct disp_job *j, long ms)
{
	j->timer = eloop_timer(d->el, ms, timer_fired, j, j->id);
	return 0;
}

/* See dispatch.h. */
void
step_abort(struct disp *d, struct disp_job *j)
{
	if (j->call != NULL) {
		j->call->done = abandoned;
		j->call->arg = NULL;
		ecall_cancel(j->call);
		j->call = NULL;
	}
	if (j->timer != 0) {
		eloop_timer_cancel(d->el, j->timer);
		j->timer = 0;
	}
	collect_abort(j);
	pull_forget(d, j);
	cache_forget(d, j);
	j->waits = 0;
	j->log_wait = 0;
	j->step = S_IDLE;
}

/* The step ends: j is idle. Returns 0. */
static int
idle(struct disp_job *j)
{
	j->step = S_IDLE;
	return 0;
}

/* Go to step s. Returns 1 (run it). */
static int
go(struct disp_job *j, enum step s)
{
	j->step = s;
	return 1;
}

/* --- deciding -------------------------------------------------------------------- */

static int
running_like(const char *state)
{
	return strcmp(state, "running") == 0 ||
	    strcmp(state, "paused") == 0 ||
	    strcmp(state, "restarting") == 0;
}

/* Stop j's container, then go to then. Returns 1. */
static int
stop(struct disp_job *j, enum step then)
{
	j->stop_then = then;
	j->stop_kill_ms = 0;
	return go(j, S_STOP);
}

/*
 * The attempt failed at launch (cls, why): recorded, then its container
 * (if any) removed. Returns 1 or 0.
 */
static int
launch_fail(struct disp *d, struct disp_job *j, const char *cls,
    const char *why)
{
	if (jobdb_fail_attempt(d, j, cls, why) < 0)
		return idle(j);
	return go(j, S_X_REMOVE);
}

/*
 * Decide j's next step from its status and its container's state
 * ("missing" when there is none). fresh: j->st was just inspected.
 * Returns 1 when a step is to run, 0 when j is idle.
 */
static int
decide(struct disp *d, struct disp_host *h, struct disp_job *j,
    const char *state, int fresh)
{
	char	 why[512];

	if (strcmp(j->status, "CANCELED") == 0) {
		if (strcmp(state, "missing") == 0)
			return go(j, S_C_DONE);
		if (running_like(state))
			return stop(j, S_C_LOG);
		if (strcmp(state, "created") == 0)
			return go(j, S_C_REMOVE);
		return go(j, S_C_LOG);
	}
	if (strcmp(j->status, "PENDING") == 0) {
		if (strcmp(state, "missing") == 0 ||
		    strcmp(state, "created") == 0) {
			j->created_now = 0;
			return go(j, S_L_IMAGE);
		}
		if (!fresh)
			return go(j, S_INSPECT);
		if (jobdb_processing(d, j, j->st.started_ms) <= 0)
			return idle(j);
		j->started_ms = j->st.started_ms > 0 ? j->st.started_ms :
		    wall_ms();
		return decide(d, h, j, state, fresh);
	}
	if (strcmp(state, "missing") == 0) {
		snprintf(why, sizeof(why), "the container disappeared from "
		    "host %s", h->name);
		jobdb_fail_attempt(d, j, "host_failure", why);
		return idle(j);
	}
	if (strcmp(j->status, "PROCESSING") == 0) {
		if (strcmp(state, "created") == 0)
			return go(j, S_L_PRESTART);
		if (running_like(state)) {
			if (j->stop_age_ms >= 0 || (j->started_ms > 0 &&
			    wall_ms() - j->started_ms >= disp_limit_ms(d, j))) {
				if (j->stop_age_ms < 0)
					disp_say(d, "job %s: time limit of "
					    "%lld s reached: stopping", j->uuid,
					    disp_limit_ms(d, j) / 1000);
				j->stop_for_limit = 1;
				return stop(j, S_X_STATE);
			}
			if (d->once)
				logs_drain(d, h, j);
			else
				logs_follow(d, h, j);
			return idle(j);
		}
		return go(j, S_X_STATE);
	}
	/* PROCESSED, UPLOADING */
	return go(j, S_X_STATE);
}

/* See dispatch.h. */
void
step_decide(struct disp *d, struct disp_job *j,
    const struct docker_container *c, int listed)
{
	struct disp_host	*h;

	if (j->step != S_IDLE || j->waits || j->log_wait)
		return;
	/* Final, queued again, or a cancel already done: nothing to do. */
	if (strcmp(j->status, "PENDING") != 0 &&
	    strcmp(j->status, "PROCESSING") != 0 &&
	    strcmp(j->status, "PROCESSED") != 0 &&
	    strcmp(j->status, "UPLOADING") != 0 &&
	    !(strcmp(j->status, "CANCELED") == 0 && j->cancel_requested))
		return;
	if ((h = disp_host_of(d, j->host_id)) == NULL || h->eng == NULL ||
	    !h->reachable)
		return;
	if (!listed) {
		j->step = S_INSPECT;
		run(d, j, NULL);
		return;
	}
	if (decide(d, h, j, c != NULL ? c->state : "missing", 0))
		run(d, j, NULL);
}

/* See dispatch.h. */
void
step_run(struct disp *d, struct disp_job *j)
{
	j->waits = 0;
	run(d, j, NULL);
}

/* See dispatch.h. */
void
step_log_ended(struct disp *d, struct disp_job *j)
{
	if (!j->log_wait)
		return;
	j->log_wait = 0;
	run(d, j, NULL);
}

/* --- the steps ------------------------------------------------------------------- */

static int
st_inspect(struct disp *d, struct disp_host *h, struct disp_job *j,
    struct ecall *res)
{
	if (res == NULL)
		return job_call(h, j, dk_inspect_job(j));
	if (res->rc == DOCKER_NOT_FOUND)
		return decide(d, h, j, "missing", 1);
	if (res->rc != DOCKER_OK || docker_parse_inspect(res->in.data,
	    res->in.len, &j->st) != 0) {
		if (res->rc != DOCKER_CANCELLED)
			log_warn("job %s: %s", j->uuid, res->rc != DOCKER_OK ?
			    res->err : "the inspect answer is not a container");
		return idle(j);
	}
	return decide(d, h, j, j->st.status, 1);
}

static int
st_image(struct disp *d, struct disp_host *h, struct disp_job *j)
{
	char	 why[1024];
	int	 r;

	if (j->pull_failed) {
		j->pull_failed = 0;
		return launch_fail(d, j, "image_pull", j->why);
	}
	r = pull_need(d, h, j, why, sizeof(why));
	if (r > 0)
		return go(j, S_L_DATA);
	if (r == 0) {
		j->waits = 1;
		return 0;
	}
	if (r < -1)
		return idle(j);
	return launch_fail(d, j, "image_pull", why);
}

static int
st_data(struct disp *d, struct disp_host *h, struct disp_job *j)
{
	char	 why[1024];
	int	 r, passing = 0;

	if (j->fill_failed) {
		j->fill_failed = 0;
		if (j->fill_passing)
			return idle(j);
		return launch_fail(d, j, j->fill_host_fault ? "host_failure" :
		    NULL, j->why);
	}
	r = cache_need(d, h, j, why, sizeof(why), &passing);
	if (r > 0)
		return go(j, S_L_CREATE);
	if (r == 0) {
		j->waits = 1;
		return 0;
	}
	if (passing) {
		log_warn("job %s: %s", j->uuid, why);
		return idle(j);
	}
	return launch_fail(d, j, NULL, why);
}

static int
st_create(struct disp *d, struct disp_host *h, struct disp_job *j,
    struct ecall *res)
{
	char	 name[64], why[1100], *body;

	disp_container_name(j, name);
	if (res == NULL) {
		/* The volume it mounts is in use from now on (cache.c). */
		if (db_exec(d->db, "UPDATE jobs SET cache_volume = ? "
		    "WHERE id = ?", DB_ARGS(DB_STR(j->cache_vol),
		    DB_INT(j->id)), NULL, NULL) != DB_OK) {
			log_error("job %s: %s", j->uuid, db_error(d->db));
			d->failed = 1;
			return idle(j);
		}
		body = launch_create_body(d, h, j);
		job_call(h, j, dk_create(name, body));
		free(body);
		return 0;
	}
	if (res->rc == DOCKER_OK) {
		disp_say(d, "job %s: container %s created on host %s",
		    j->uuid, name, h->name);
		j->created_now = 1;
		return go(j, S_L_OUTPUT);
	}
	if (res->rc == DOCKER_CONFLICT)
		return go(j, S_L_OUTPUT);	/* it exists already */
	if (res->rc == DOCKER_NOT_FOUND) {
		/* No such image after all (removed meanwhile): again. */
		log_warn("job %s: %s", j->uuid, res->err);
		pull_stale(d, h, j);
		return idle(j);
	}
	if (res->rc == DOCKER_UNREACHABLE || res->rc == DOCKER_CANCELLED) {
		if (res->rc == DOCKER_UNREACHABLE)
			log_warn("job %s: %s", j->uuid, res->err);
		return idle(j);
	}
	snprintf(why, sizeof(why), "host %s refused the container: %s",
	    h->name, res->msg);
	return launch_fail(d, j, NULL, why);
}

/* The source of the /output tar put into a new container. */
static long
output_source(struct ecall *c, char *buf, size_t n)
{
	size_t	 left = c->src_len - c->src_off;

	if (n > left)
		n = left;
	memcpy(buf, c->src + c->src_off, n);
	c->src_off += n;
	return (long)n;
}

static int
st_output(struct disp *d, struct disp_host *h, struct disp_job *j,
    struct ecall *res)
{
	struct ecall	*c;
	char		 name[64], why[1100];

	disp_container_name(j, name);
	if (res == NULL) {
		c = dk_archive_put(name, "/");
		if (launch_output_tar(&c->src, &c->src_len) != 0) {
			ecall_free(c);
			log_error("job %s: cannot make the /output archive",
			    j->uuid);
			return idle(j);
		}
		c->source = output_source;
		c->source_size = (long long)c->src_len;
		return job_call(h, j, c);
	}
	/* Made by this step a moment ago: it never ran. */
	if (res->rc == DOCKER_OK)
		return go(j, j->created_now ? S_L_START : S_L_PRESTART);
	if (res->rc == DOCKER_ERROR) {
		snprintf(why, sizeof(why), "putting /output into the "
		    "container: %s", res->msg);
		return launch_fail(d, j, NULL, why);
	}
	if (res->rc != DOCKER_CANCELLED)
		log_warn("job %s: %s", j->uuid, res->err);
	return idle(j);
}

/*
 * Just before a start: the container must still be one never started.
 * NOTE: the list is a snapshot that can say "created" while a start sent
 * by a dispatcher killed a moment ago is under way; an inspect waits for
 * the container's lock, so it sees that start's outcome, and a container
 * that ran already (exited) is never started again.
 */
static int
st_prestart(struct disp *d, struct disp_host *h, struct disp_job *j,
    struct ecall *res)
{
	if (res == NULL)
		return job_call(h, j, dk_inspect_job(j));
	if (res->rc != DOCKER_OK || docker_parse_inspect(res->in.data,
	    res->in.len, &j->st) != 0) {
		if (res->rc != DOCKER_CANCELLED)
			log_warn("job %s: %s", j->uuid, res->err);
		return idle(j);
	}
	if (strcmp(j->st.status, "created") != 0 || j->st.started_ms > 0)
		return decide(d, h, j, j->st.started_ms > 0 &&
		    strcmp(j->st.status, "created") == 0 ? "exited" :
		    j->st.status, 1);
	return go(j, S_L_START);
}

static int
st_start(struct disp *d, struct disp_host *h, struct disp_job *j,
    struct ecall *res)
{
	struct ecall	*c;
	struct db_res	*r = NULL;
	char		 name[64], why[1100];
	int		 same;

	disp_container_name(j, name);
	if (res == NULL) {
		/* A cancel may have come meanwhile: then never start. */
		if (db_query(d->db, "SELECT status, attempt FROM jobs "
		    "WHERE id = ?", DB_ARGS(DB_INT(j->id)), &r) != DB_OK) {
			log_error("job %s: %s", j->uuid, db_error(d->db));
			d->failed = 1;
			return idle(j);
		}
		same = r->nrows == 1 &&
		    strcmp(db_res_str(r, 0, 0), j->status) == 0 &&
		    (unsigned)db_res_int(r, 0, 1) == j->attempt;
		if (!same)
			disp_say(d, "job %s is %s now: not started", j->uuid,
			    r->nrows == 1 ? db_res_str(r, 0, 0) : "gone");
		db_res_free(r);
		if (!same)
			return idle(j);
		/*
		 * A start goes before the creates and puts queued behind it:
		 * while a host launches many jobs, each starts as soon as
		 * it is ready, not once every other one is.
		 */
		c = dk_start(name);
		c->urgent = 1;
		return job_call(h, j, c);
	}
	if (res->rc == DOCKER_OK) {
		/*
		 * PROCESSING from now, by the dispatcher's clock; the
		 * container's own start time replaces it once it exited
		 * (jobdb_processed()), so no inspect is spent here.
		 */
		if (strcmp(j->status, "PENDING") == 0) {
			disp_say(d, "job %s: started on host %s", j->uuid,
			    h->name);
			if (jobdb_processing(d, j, 0) <= 0)
				return idle(j);
			j->started_ms = wall_ms();
		}
		return decide(d, h, j, "running", 1);
	}
	if (res->rc == DOCKER_UNREACHABLE || res->rc == DOCKER_CANCELLED ||
	    res->rc == DOCKER_NOT_FOUND) {
		if (res->rc != DOCKER_CANCELLED)
			log_warn("job %s: %s", j->uuid, res->err);
		return idle(j);
	}
	snprintf(why, sizeof(why), "host %s could not start the container: "
	    "%s", h->name, res->msg);
	return launch_fail(d, j, NULL, why);
}

static int
st_stop(struct disp *d, struct disp_host *h, struct disp_job *j,
    struct ecall *res)
{
	char	 name[64];

	disp_container_name(j, name);
	if (res == NULL) {
		if (j->stop_age_ms >= 0) {
			/* SIGTERM went before (an earlier pass). */
			j->stop_t0 = eloop_now_ms() - j->stop_age_ms;
			return go(j, S_STOP_WAIT);
		}
		if (db_exec(d->db, "UPDATE jobs SET stop_sent_at = COALESCE("
		    "stop_sent_at, UTC_TIMESTAMP(3)) WHERE id = ?",
		    DB_ARGS(DB_INT(j->id)), NULL, NULL) != DB_OK) {
			log_error("job %s: %s", j->uuid, db_error(d->db));
			d->failed = 1;
			return idle(j);
		}
		j->stop_age_ms = 0;
		j->stop_t0 = eloop_now_ms();
		return job_call(h, j, dk_kill(name, "SIGTERM"));
	}
	if (res->rc == DOCKER_OK)
		disp_say(d, "sent SIGTERM to %s on host %s", name, h->name);
	else if (res->rc == DOCKER_CANCELLED)
		return idle(j);
	return go(j, S_STOP_WAIT);
}

static int
st_stop_wait(struct disp *d, struct disp_host *h, struct disp_job *j,
    struct ecall *res)
{
	long long	 now = eloop_now_ms();

	if (res == NULL)
		return job_call(h, j, dk_inspect_job(j));
	if (res->rc == DOCKER_CANCELLED)
		return idle(j);
	if (res->rc == DOCKER_NOT_FOUND || (res->rc == DOCKER_OK &&
	    docker_parse_inspect(res->in.data, res->in.len, &j->st) == 0 &&
	    !j->st.running))
		return go(j, j->stop_then);
	if (res->rc != DOCKER_OK) {
		log_warn("job %s: %s", j->uuid, res->err);
		return idle(j);
	}
	if (j->stop_kill_ms > 0) {
		if (now - j->stop_kill_ms >= KILL_WAIT_MS) {
			log_warn("job %s: its container still runs %d s after "
			    "SIGKILL", j->uuid, KILL_WAIT_MS / 1000);
			return idle(j);
		}
	} else if (now - j->stop_t0 >= (long long)d->conf.disp_stop_grace *
	    1000) {
		j->stop_kill_ms = now;
		return go(j, S_STOP_KILL);
	}
	return job_timer(d, j, STOP_POLL_MS);
}

static int
st_stop_kill(struct disp *d, struct disp_host *h, struct disp_job *j,
    struct ecall *res)
{
	char	 name[64];

	disp_container_name(j, name);
	if (res == NULL)
		return job_call(h, j, dk_kill(name, "SIGKILL"));
	if (res->rc == DOCKER_OK)
		disp_say(d, "sent SIGKILL to %s on host %s after %u s", name,
		    h->name, d->conf.disp_stop_grace);
	else if (res->rc == DOCKER_CANCELLED)
		return idle(j);
	j->step = S_STOP_WAIT;
	return job_timer(d, j, STOP_POLL_MS);
}

/* The outcome of an attempt whose container ended in j->st. */
static void
outcome(struct disp *d, struct disp_job *j)
{
	const struct docker_state	*st = &j->st;
	char				 ram[32];
	long long			 pt = 0;

	j->final = "COMPLETED";
	j->why[0] = '\0';
	j->cls[0] = '\0';
	if (st->started_ms > 0 && st->finished_ms >= st->started_ms)
		pt = st->finished_ms - st->started_ms;
	/*
	 * NOTE: an OOM kill can reach the engine's state after the limit was
	 * seen running; the container's own run time settles which came first.
	 */
	if (pt >= disp_limit_ms(d, j) || (j->stop_for_limit &&
	    !st->oom_killed)) {
		j->final = "ERRORED";
		snprintf(j->why, sizeof(j->why), "time limit exceeded");
	} else if (st->oom_killed) {
		j->final = "ERRORED";
		milli_text(j->ram_m, ram, sizeof(ram));
		snprintf(j->why, sizeof(j->why), "killed: out of memory "
		    "(limit %s GB)", ram);
		snprintf(j->cls, sizeof(j->cls), "oom");
	} else if (st->exit_code != 0) {
		j->final = "ERRORED";
		snprintf(j->why, sizeof(j->why), "exited with code %d",
		    st->exit_code);
		retry_exit_class(st->exit_code, j->cls);
	}
	j->retrying = retry_should(j->retry_on, j->attempts, j->attempt,
	    j->cls);
}

static int
st_x_state(struct disp *d, struct disp_host *h, struct disp_job *j,
    struct ecall *res)
{
	char	 why[512];

	if (res == NULL)
		return job_call(h, j, dk_inspect_job(j));
	if (res->rc == DOCKER_NOT_FOUND) {
		snprintf(why, sizeof(why), "the container disappeared from "
		    "host %s", h->name);
		jobdb_fail_attempt(d, j, "host_failure", why);
		return idle(j);
	}
	if (res->rc != DOCKER_OK || docker_parse_inspect(res->in.data,
	    res->in.len, &j->st) != 0) {
		if (res->rc != DOCKER_CANCELLED)
			log_warn("job %s: %s", j->uuid, res->err);
		return idle(j);
	}
	if (running_like(j->st.status) || strcmp(j->st.status, "created") ==
	    0)
		return decide(d, h, j, j->st.status, 1);
	if (strcmp(j->status, "PROCESSING") == 0 &&
	    jobdb_processed(d, j, &j->st) <= 0)
		return idle(j);
	if (strcmp(j->status, "PROCESSED") == 0 &&
	    jobdb_uploading(d, j) <= 0)
		return idle(j);
	if (strcmp(j->status, "UPLOADING") != 0)
		return idle(j);
	outcome(d, j);
	j->drain_t0 = 0;
	return go(j, S_X_LOG);
}

/*
 * The whole log of the attempt kept, for an exit (then) or a cancel.
 * Returns 1 (go to then) or 0 (waiting for the log).
 */
static int
whole_log(struct disp *d, struct disp_host *h, struct disp_job *j,
    enum step then)
{
	long long	 now = eloop_now_ms();

	if (j->log.call != NULL && j->log.following) {
		/* A follow stream ends with its container: wait a little. */
		if (j->drain_t0 == 0)
			j->drain_t0 = now;
		if (now - j->drain_t0 < DRAIN_WAIT_MS)
			return job_timer(d, j, 1000);
		logs_stop(d, j);
	}
	if (logs_drain(d, h, j)) {
		j->log_wait = 1;	/* logs.c runs the step at the end */
		return 0;
	}
	if (logs_flush(d, j, 1) != 0)
		log_warn("job %s: its log could not be kept whole", j->uuid);
	return go(j, then);
}

static int
st_x_log(struct disp *d, struct disp_host *h, struct disp_job *j)
{
	if (!whole_log(d, h, j, S_X_COLLECT))
		return 0;
	if (j->retrying) {
		/* An attempt retried leaves no result nor model. */
		if (jobdb_fail_attempt(d, j, j->cls, j->why) < 0)
			return idle(j);
		return go(j, S_X_REMOVE);
	}
	return 1;
}

/* The tar of /output may carry this much besides its files' bytes. */
#define TAR_SLACK	(64LL * 1024 * 1024)

/* Sink of GET /output: the tar into j->out, bounded. */
static int
out_sink(struct ecall *c, const char *p, size_t n)
{
	struct disp_job	*j = c->arg;

	if (j == NULL || j->out == NULL)
		return -1;
	if (c->bytes_in > (long long)j->d->conf.disp_output_max + TAR_SLACK) {
		j->out_too_large = 1;
		snprintf(c->err, sizeof(c->err), "output larger than %zu "
		    "bytes", j->d->conf.disp_output_max);
		return -1;
	}
	if (fwrite(p, 1, n, j->out) != n)
		return -1;
	return 0;
}

/* Give up a collection under way: its child ended, its files removed. */
static void
collect_abort(struct disp_job *j)
{
	if (j->collect_pid > 0) {
		kill(j->collect_pid, SIGKILL);
		waitpid(j->collect_pid, NULL, 0);
		j->collect_pid = 0;
	}
	if (j->collect_sum != NULL) {
		unlink(j->collect_sum);
		free(j->collect_sum);
		j->collect_sum = NULL;
	}
	if (j->out != NULL) {
		fclose(j->out);
		j->out = NULL;
	}
}

/*
 * Fetch /output of j's container, then read it in a child process, into
 * j->outs. Returns 1 when collected (or there was none, or it was too
 * large: j->outs.too_large), 0 while fetching or reading (the step goes on
 * when the call ends, or its timer polls the child), -1 on a failure (try
 * again in a later pass).
 */
static int
fetch_outputs(struct disp *d, struct disp_host *h, struct disp_job *j,
    struct ecall *res)
{
	struct ecall	*c;
	char		 name[64];
	int		 rc;

	if (res == NULL && j->collect_pid > 0) {
		/* The child's timer. */
		rc = collect_reap(d, j, j->collect_pid, j->collect_sum,
		    &j->outs);
		if (rc == 0)
			return job_timer(d, j, COLLECT_POLL_MS);
		j->collect_pid = 0;
		collect_abort(j);
		return rc;
	}
	if (res == NULL) {
		disp_outputs_free(&j->outs);
		j->out_too_large = 0;
		if ((j->out = tmpfile()) == NULL) {
			log_error("job %s: tmpfile: %s", j->uuid,
			    strerror(errno));
			return -1;
		}
		disp_container_name(j, name);
		c = dk_archive_get(name, "/output");
		c->sink = out_sink;
		c->timeout_s = -1;
		c->low_speed_bps = 1024;
		c->low_speed_s = 120;
		job_call(h, j, c);
		return 0;
	}
	if (res->rc == DOCKER_NOT_FOUND) {
		collect_abort(j);
		return collect_outputs(d, j, NULL, &j->outs) == 0 ? 1 : -1;
	}
	if (j->out_too_large) {
		collect_abort(j);
		j->outs.too_large = 1;
		return 1;
	}
	if (res->rc != DOCKER_OK || fflush(j->out) != 0) {
		if (res->rc != DOCKER_CANCELLED)
			log_warn("job %s: %s", j->uuid, res->err);
		collect_abort(j);
		return -1;
	}
	rc = collect_spawn(d, j, j->out, &j->collect_pid, &j->collect_sum);
	fclose(j->out);
	j->out = NULL;
	if (rc != 0)
		return -1;
	return job_timer(d, j, COLLECT_POLL_MS);
}

static int
st_x_collect(struct disp *d, struct disp_host *h, struct disp_job *j,
    struct ecall *res)
{
	const char	*result = NULL, *err;
	char		 buf[1200];
	int		 rc;

	if ((rc = fetch_outputs(d, h, j, res)) <= 0)
		return rc == 0 ? 0 : idle(j);
	if (j->outs.too_large) {
		/* Never retried: the same job would write as much again. */
		j->final = "ERRORED";
		snprintf(j->why, sizeof(j->why), "output larger than %zu "
		    "bytes", d->conf.disp_output_max);
		j->outs.model_sha256[0] = '\0';
	} else if (j->outs.skipped > 0 && strcmp(j->final, "COMPLETED") == 0 &&
	    j->outs.result_error == NULL)
		snprintf(j->why, sizeof(j->why), "%d file%s of /output left "
		    "out of the model: names with a backslash, a control "
		    "character or \"..\"", j->outs.skipped,
		    j->outs.skipped == 1 ? "" : "s");
	if (strcmp(j->final, "COMPLETED") == 0) {
		result = j->outs.result != NULL ? j->outs.result : "{}";
		if (j->outs.result_error != NULL)
			snprintf(j->why, sizeof(j->why), "%s",
			    j->outs.result_error);
		err = j->why;
	} else
		err = jobdb_why_attempts(j, j->why, buf, sizeof(buf));
	rc = jobdb_final(d, j, j->final, err, result, j->outs.model_sha256,
	    j->outs.model_size);
	disp_outputs_free(&j->outs);
	if (rc < 0)
		return idle(j);
	if (rc > 0 && err[0] != '\0')
		disp_say(d, "job %s: %s", j->uuid, err);
	return go(j, S_X_REMOVE);
}

static int
st_remove(struct disp *d, struct disp_host *h, struct disp_job *j,
    struct ecall *res, enum step then)
{
	char	 name[64];

	(void)d;
	disp_container_name(j, name);
	if (res == NULL)
		return job_call(h, j, dk_remove(name));
	if (res->rc != DOCKER_OK) {
		if (res->rc != DOCKER_CANCELLED && res->rc != DOCKER_NOT_FOUND)
			log_warn("job %s: %s", j->uuid, res->err);
		if (res->rc != DOCKER_NOT_FOUND)
			return idle(j);
	}
	return then == S_IDLE ? idle(j) : go(j, then);
}

static int
st_c_collect(struct disp *d, struct disp_host *h, struct disp_job *j,
    struct ecall *res)
{
	int	 rc;

	if ((rc = fetch_outputs(d, h, j, res)) <= 0)
		return rc == 0 ? 0 : idle(j);
	return go(j, S_C_REMOVE);
}

static int
st_c_done(struct disp *d, struct disp_job *j)
{
	char	 name[64];

	disp_container_name(j, name);
	if (db_exec(d->db, "UPDATE jobs SET cancel_requested = 0, "
	    "model_sha256 = COALESCE(?, model_sha256), model_size = "
	    "COALESCE(?, model_size) WHERE id = ? AND status = 'CANCELED' "
	    "AND cancel_requested = 1",
	    DB_ARGS(DB_STR(j->outs.model_sha256[0] ? j->outs.model_sha256 :
	    NULL), j->outs.model_sha256[0] ? DB_INT(j->outs.model_size) :
	    DB_NULL, DB_INT(j->id)), NULL, NULL) != DB_OK) {
		log_error("job %s: %s", j->uuid, db_error(d->db));
		d->failed = 1;
		return idle(j);
	}
	disp_outputs_free(&j->outs);
	j->cancel_requested = 0;
	disp_say(d, "job %s: cancelled; container %s removed", j->uuid, name);
	return idle(j);
}

/* Run j's steps until one waits or j is idle. res: the call that ended. */
static void
run(struct disp *d, struct disp_job *j, struct ecall *res)
{
	struct disp_host	*h;
	int			 more;

	if ((h = disp_host_of(d, j->host_id)) == NULL || h->eng == NULL) {
		idle(j);
		return;
	}
	do {
		switch (j->step) {
		case S_IDLE:
			more = 0;
			break;
		case S_INSPECT:
			more = st_inspect(d, h, j, res);
			break;
		case S_L_IMAGE:
			more = st_image(d, h, j);
			break;
		case S_L_DATA:
			more = st_data(d, h, j);
			break;
		case S_L_CREATE:
			more = st_create(d, h, j, res);
			break;
		case S_L_OUTPUT:
			more = st_output(d, h, j, res);
			break;
		case S_L_PRESTART:
			more = st_prestart(d, h, j, res);
			break;
		case S_L_START:
			more = st_start(d, h, j, res);
			break;
		case S_STOP:
			more = st_stop(d, h, j, res);
			break;
		case S_STOP_WAIT:
			more = st_stop_wait(d, h, j, res);
			break;
		case S_STOP_KILL:
			more = st_stop_kill(d, h, j, res);
			break;
		case S_X_STATE:
			more = st_x_state(d, h, j, res);
			break;
		case S_X_LOG:
			more = st_x_log(d, h, j);
			break;
		case S_X_COLLECT:
			more = st_x_collect(d, h, j, res);
			break;
		case S_X_REMOVE:
			more = st_remove(d, h, j, res, S_IDLE);
			break;
		case S_C_LOG:
			more = whole_log(d, h, j, S_C_COLLECT);
			break;
		case S_C_COLLECT:
			more = st_c_collect(d, h, j, res);
			break;
		case S_C_REMOVE:
			more = st_remove(d, h, j, res, S_C_DONE);
			break;
		case S_C_DONE:
			more = st_c_done(d, j);
			break;
		default:
			more = idle(j);
			break;
		}
		res = NULL;
	} while (more);
}

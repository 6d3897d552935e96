/*
 * iter.c: one iteration of the dispatcher (DESIGN "The dispatcher"), and
 * the hosts' rounds that reconcile their jobs.
 *
 * An iteration, all of it synchronous database work but the rounds:
 *   1. hosts loaded (added, changed, removed) and each host's round
 *      started: GET /_ping, GET /version (at first contact and when the
 *      host is back), then one labelled container list, whose answer
 *      reconciles the host's jobs (step.c decides what each does next)
 *      and removes the containers no job accounts for;
 *   2. the jobs holding resources loaded (placed and not final, or
 *      cancelled with a container to stop);
 *   3. attempts of hosts unreachable past host_grace failed (host_failure);
 *   4. queued jobs placed (sched.c), committed before any Engine call;
 *   5. pilot batches promoted automatically.
 * Rounds run concurrently through the loop; a slow or dead host delays
 * only its own round (and a host whose round still runs from an earlier
 * iteration is not asked again until it ended).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "log.h"
#include "sched.h"
#include "store.h"

#define ACTIVE_STATES	"('PENDING','PROCESSING','PROCESSED','UPLOADING')"
#define QUEUE_MAX	200000		/* queued jobs considered per pass */
#define REASON_CHUNK	50		/* ids per pending_reason update */
#define PING_TIMEOUT_S	10
#define CACHE_SWEEP_MS	60000		/* cache sweep of a host at most */

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* --- lookups ----------------------------------------------------------------- */

/* See dispatch.h. Hosts are loaded by id: a binary search. */
struct disp_host *
disp_host_of(struct disp *d, long long host_id)
{
	size_t	 lo = 0, hi = d->nhosts, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (d->hosts[mid]->id < host_id)
			lo = mid + 1;
		else if (d->hosts[mid]->id > host_id)
			hi = mid;
		else
			return d->hosts[mid];
	}
	return NULL;
}

/* FNV-1a of a UUID, for the table of jobs by UUID. */
static size_t
uuid_hash(const char *s)
{
	size_t	 h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Rebuild the table of jobs by UUID (open addressing, half full at most). */
static void
byuuid_build(struct disp *d)
{
	size_t	 cap = 16, i, k;

	while (cap < d->njobs * 2 + 2)
		cap *= 2;
	free(d->byuuid);
	d->byuuid = xcalloc(cap, sizeof(*d->byuuid));
	d->nbyuuid = cap;
	for (i = 0; i < d->njobs; i++) {
		k = uuid_hash(d->jobs[i]->uuid) & (cap - 1);
		while (d->byuuid[k] != NULL)
			k = (k + 1) & (cap - 1);
		d->byuuid[k] = d->jobs[i];
	}
}

/* Index of job id in d->jobs (sorted by id), or where it would go. */
static size_t
job_index(const struct disp *d, long long id, int *found)
{
	size_t	 lo = 0, hi = d->njobs, mid;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (d->jobs[mid]->id < id)
			lo = mid + 1;
		else if (d->jobs[mid]->id > id)
			hi = mid;
		else {
			*found = 1;
			return mid;
		}
	}
	return lo;
}

/* See dispatch.h. */
struct disp_job *
disp_job_of(struct disp *d, long long id)
{
	size_t	 i;
	int	 found;

	i = job_index(d, id, &found);
	return found ? d->jobs[i] : NULL;
}

/* See dispatch.h. */
struct disp_job *
disp_job_by_uuid(struct disp *d, const char *uuid)
{
	size_t	 k;

	if (d->nbyuuid == 0)
		return NULL;
	k = uuid_hash(uuid) & (d->nbyuuid - 1);
	for (; d->byuuid[k] != NULL; k = (k + 1) & (d->nbyuuid - 1))
		if (strcmp(d->byuuid[k]->uuid, uuid) == 0)
			return d->byuuid[k];
	return NULL;
}

/* See dispatch.h. */
const struct docker_container *
disp_listed(const struct disp_host *h, const char *name)
{
	size_t	 i;

	for (i = 0; i < h->nctr; i++)
		if (strcmp(h->ctr[i].name, name) == 0)
			return &h->ctr[i];
	return NULL;
}

/* --- hosts -------------------------------------------------------------------- */

static void
host_free(struct disp *d, struct disp_host *h)
{
	events_stop(d, h);
	pull_cancel_host(d, h);
	cache_cancel_host(d, h);
	engine_free(h->eng);	/* runs the done() of its calls */
	free(h->name);
	free(h->endpoint);
	free(h->tls_ca);
	free(h->tls_cert);
	free(h->tls_key);
	free(h->ctr);
	docker_buf_free(&h->evline);
	free(h);
}

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* (Re)make h's client for its endpoint. */
static void
host_engine(struct disp *d, struct disp_host *h)
{
	h->bad[0] = '\0';
	h->eng = engine_new(d->el, h->endpoint, h->tls_ca, h->tls_cert,
	    h->tls_key, d->conf.disp_host_calls, h->bad, sizeof(h->bad));
	h->version_ok = 0;
}

/*
 * Load every host: new ones added, changed ones updated (a new endpoint
 * gets a new client: the old one's calls are cancelled), removed ones
 * freed. Returns 0 or -1 (database).
 */
static int
hosts_load(struct disp *d)
{
	struct db_res		*r = NULL;
	struct disp_host	*h, **v;
	size_t			 i, k, n = 0;

	if (db_query(d->db, "SELECT id, name, endpoint, tls_ca, tls_cert, "
	    "tls_key, cpus, gpus, ram_gb, gpu_runtime, state, "
	    "TIMESTAMPDIFF(SECOND, unreachable_since, UTC_TIMESTAMP(3)) "
	    "FROM hosts ORDER BY id", DB_NOARGS, &r) != DB_OK)
		return -1;
	v = xcalloc(r->nrows + 1, sizeof(*v));
	for (i = 0; i < r->nrows; i++) {
		h = disp_host_of(d, db_res_int(r, i, 0));
		if (h == NULL) {
			h = xcalloc(1, sizeof(*h));
			h->d = d;
			h->id = db_res_int(r, i, 0);
			h->reachable = -1;
		} else if (!same(h->endpoint, db_res_str(r, i, 2)) ||
		    !same(h->tls_ca, db_res_str(r, i, 3)) ||
		    !same(h->tls_cert, db_res_str(r, i, 4)) ||
		    !same(h->tls_key, db_res_str(r, i, 5))) {
			events_stop(d, h);
			pull_cancel_host(d, h);
			cache_cancel_host(d, h);
			engine_free(h->eng);
			h->eng = NULL;
		}
		free(h->name);
		free(h->endpoint);
		free(h->tls_ca);
		free(h->tls_cert);
		free(h->tls_key);
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
		/* What the database says counts until the host answers. */
		if (h->reachable < 0)
			h->reachable = h->down_s < 0;
		h->loaded = d->iter;
		if (h->eng == NULL)
			host_engine(d, h);
		v[n++] = h;
	}
	db_res_free(r);
	for (i = 0; i < d->nhosts; i++) {
		for (k = 0; k < n; k++)
			if (v[k] == d->hosts[i])
				break;
		if (k == n) {
			disp_say(d, "host %s is no longer registered",
			    d->hosts[i]->name);
			host_free(d, d->hosts[i]);
		}
	}
	free(d->hosts);
	d->hosts = v;
	d->nhosts = n;
	return 0;
}

/* The host answered: record it. */
static void
host_up(struct disp *d, struct disp_host *h)
{
	if (!h->reachable || h->down_s >= 0)
		disp_say(d, "host %s is reachable%s", h->name,
		    h->down_s >= 0 ? " again" : "");
	h->reachable = 1;
	h->probed = 1;
	h->down_s = -1;
	if (db_exec(d->db, "UPDATE hosts SET last_seen_at = "
	    "UTC_TIMESTAMP(3), unreachable_since = NULL, "
	    "last_error = NULL WHERE id = ?",
	    DB_ARGS(DB_INT(h->id)), NULL, NULL) != DB_OK) {
		log_error("host %s: %s", h->name, db_error(d->db));
		d->failed = 1;
	}
}

/* The host did not answer (err): record it. */
static void
host_down(struct disp *d, struct disp_host *h, const char *err)
{
	if (h->reachable)
		disp_say(d, "host %s is unreachable: %s", h->name, err);
	h->reachable = 0;
	h->probed = 1;
	h->version_ok = 0;
	if (h->down_s < 0)
		h->down_s = 0;
	events_stop(d, h);
	if (db_exec(d->db, "UPDATE hosts SET unreachable_since = "
	    "COALESCE(unreachable_since, UTC_TIMESTAMP(3)), "
	    "last_error = LEFT(?, 1024) WHERE id = ?",
	    DB_ARGS(DB_STR(err), DB_INT(h->id)), NULL, NULL) != DB_OK) {
		log_error("host %s: %s", h->name, db_error(d->db));
		d->failed = 1;
	}
}

static void	round_done(struct ecall *c);

/* Submit the round's next call. */
static void
round_call(struct disp *d, struct disp_host *h, enum round r,
    struct ecall *c)
{
	(void)d;
	h->round = r;
	c->done = round_done;
	c->arg = h;
	if (r == ROUND_PING || r == ROUND_VERSION)
		c->timeout_s = PING_TIMEOUT_S;
	c->fresh = r == ROUND_PING;
	c->urgent = 1;
	h->rcall = c;
	engine_submit(h->eng, c);
}

/* Start h's round of this iteration, unless the last one still runs. */
static void
round_start(struct disp *d, struct disp_host *h)
{
	if (h->round != ROUND_IDLE)
		return;
	if (h->eng == NULL) {
		host_down(d, h, h->bad);
		return;
	}
	h->round_iter = d->iter;
	d->rounds++;
	round_call(d, h, ROUND_PING, dk_ping());
}

/* Remove a stray container (the answer only logged). */
static void
stray_done(struct ecall *c)
{
	if (c->rc != DOCKER_OK && c->rc != DOCKER_CANCELLED)
		log_warn("%s", c->err);
	ecall_free(c);
}

/*
 * Whether container c of host h is one a job or fill under way accounts
 * for: the container of a placed job's current attempt on h, or the filler
 * of a fill in flight on h.
 */
static int
accounted(struct disp *d, struct disp_host *h,
    const struct docker_container *c)
{
	struct disp_job	*j;
	char		 want[64];

	if (c->fill[0] != '\0')
		return cache_filling(d, h, c->fill);
	if (c->job[0] == '\0' ||
	    (j = disp_job_by_uuid(d, c->job)) == NULL || j->host_id != h->id)
		return 0;
	disp_container_name(j, want);
	return strcmp(c->name, want) == 0;
}

/*
 * The list arrived: every idle job of h decides what to do from it, and
 * containers of this service no job accounts for (a final job whose
 * removal a crash prevented, a job requeued away from a host that came
 * back, an earlier attempt of a retried job, a filler left by a crash) are
 * removed.
 */
static void
reconcile(struct disp *d, struct disp_host *h)
{
	const struct docker_container	*c;
	struct disp_job			*j;
	struct ecall			*rm;
	char				 name[64];
	size_t				 i;

	for (i = 0; i < d->njobs; i++) {
		j = d->jobs[i];
		if (j->host_id != h->id || j->step != S_IDLE)
			continue;
		disp_container_name(j, name);
		c = disp_listed(h, name);
		step_decide(d, j, c, 1);
	}
	for (i = 0; i < h->nctr; i++) {
		c = &h->ctr[i];
		if (accounted(d, h, c))
			continue;
		disp_say(d, "host %s: removing stray container %s (job %s)",
		    h->name, c->name, c->job[0] ? c->job : "?");
		rm = dk_remove(c->id);
		rm->done = stray_done;
		engine_submit(h->eng, rm);
	}
}

/* A call of a host's round ended. */
static void
round_done(struct ecall *c)
{
	struct disp_host	*h = c->arg;
	struct disp		*d = h->d;
	struct docker_container	*v = NULL;
	char			 msg[512];
	size_t			 n = 0;
	enum round		 r = h->round;

	h->rcall = NULL;
	h->round = ROUND_IDLE;
	if (c->rc == DOCKER_CANCELLED)
		goto end;
	switch (r) {
	case ROUND_PING:
		if (c->rc != DOCKER_OK || c->in.len != 2 ||
		    memcmp(c->in.data, "OK", 2) != 0) {
			host_down(d, h, c->rc != DOCKER_OK ? c->err :
			    "GET /_ping: the answer is not OK");
			goto end;
		}
		ecall_free(c);
		if (!h->version_ok) {
			round_call(d, h, ROUND_VERSION, dk_version());
			return;
		}
		host_up(d, h);
		round_call(d, h, ROUND_LIST, dk_list(DISP_LABEL));
		return;
	case ROUND_VERSION:
		if (c->rc != DOCKER_OK) {
			host_down(d, h, c->err);
			goto end;
		}
		if (docker_parse_version(c->in.data, c->in.len, msg,
		    sizeof(msg)) != 0) {
			char	 err[700];

			snprintf(err, sizeof(err), "%s %s", h->endpoint, msg);
			host_down(d, h, err);
			goto end;
		}
		h->version_ok = 1;
		ecall_free(c);
		host_up(d, h);
		round_call(d, h, ROUND_LIST, dk_list(DISP_LABEL));
		return;
	case ROUND_LIST:
		if (c->rc != DOCKER_OK) {
			log_warn("host %s: %s", h->name, c->err);
			goto end;
		}
		if (docker_parse_list(c->in.data, c->in.len, &v, &n) != 0) {
			log_warn("host %s: the container list is not a JSON "
			    "array", h->name);
			goto end;
		}
		free(h->ctr);
		h->ctr = v;
		h->nctr = n;
		h->listed = h->round_iter;
		if (!d->once)
			events_keep(d, h);
		reconcile(d, h);
		if (h->volumes_ms == 0 ||
		    eloop_now_ms() - h->volumes_ms >= CACHE_SWEEP_MS) {
			h->volumes_ms = eloop_now_ms();
			cache_sweep(d, h);
		}
		break;
	default:
		break;
	}
end:
	ecall_free(c);
	if (d->rounds > 0)
		d->rounds--;
}

/* --- jobs --------------------------------------------------------------------- */

static void
job_free(struct disp *d, struct disp_job *j)
{
	step_abort(d, j);
	logs_stop(d, j);
	pull_forget(d, j);
	cache_forget(d, j);
	free(j->image);
	free(j->tag);
	free(j->command);
	free(j->env);
	free(j->gpu_devices);
	free(j->retry_on);
	free(j->pending_reason);
	free(j->cache_mount);
	free(j->cache_vol);
	docker_buf_free(&j->log.pend);
	docker_frames_free(&j->log.fr);
	free(j);
}

/* Whether j may be freed: nothing of it under way. */
static int
job_quiet(const struct disp_job *j)
{
	return j->step == S_IDLE && j->call == NULL && j->timer == 0 &&
	    j->log.call == NULL && !j->waits;
}

/* Fill j's database fields from row i of r. */
static void
job_fill(struct disp_job *j, const struct db_res *r, size_t i)
{
	free(j->image);
	free(j->tag);
	free(j->command);
	free(j->env);
	free(j->gpu_devices);
	free(j->retry_on);
	free(j->pending_reason);
	snprintf(j->uuid, sizeof(j->uuid), "%s", db_res_str(r, i, 1));
	snprintf(j->batch_uuid, sizeof(j->batch_uuid), "%s",
	    db_res_str(r, i, 2));
	snprintf(j->status, sizeof(j->status), "%s", db_res_str(r, i, 3));
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
	j->dataset_uuid[0] = '\0';
	if (db_res_str(r, i, 15) != NULL)
		snprintf(j->dataset_uuid, sizeof(j->dataset_uuid), "%s",
		    db_res_str(r, i, 15));
	j->cancel_requested = (int)db_res_int(r, i, 16);
	j->started_ms = db_res_isnull(r, i, 17) ? 0 : db_res_int(r, i, 17);
	j->requeues = (unsigned)db_res_int(r, i, 18);
	j->env = dup_or_null(db_res_str(r, i, 19));
	j->attempt = (unsigned)db_res_int(r, i, 20);
	j->attempts = (unsigned)db_res_int(r, i, 21);
	j->retry_on = dup_or_null(db_res_str(r, i, 22));
	j->log_size = db_res_isnull(r, i, 23) ? 0 : db_res_int(r, i, 23);
	j->log_ts_ns = db_res_isnull(r, i, 24) ? 0 : db_res_int(r, i, 24);
	j->log_ts_skip = db_res_int(r, i, 25);
	j->stop_age_ms = db_res_isnull(r, i, 26) ? -1 : db_res_int(r, i, 26);
	j->pull_age_s = db_res_isnull(r, i, 27) ? -1 : db_res_int(r, i, 27);
	j->pending_reason = dup_or_null(db_res_str(r, i, 28));
	j->stop_for_limit = j->stop_age_ms >= 0 &&
	    strcmp(j->status, "CANCELED") != 0;
}

/*
 * Load the jobs holding resources of a host: placed and not finished, or
 * cancelled with a container to stop. A job with a step under way keeps
 * what it has (its step owns it); an idle one is refreshed; jobs no longer
 * there are freed once quiet. Returns 0 or -1 (database).
 */
static int
jobs_load(struct disp *d)
{
	struct db_res	*r = NULL;
	struct disp_job	*j, **v;
	char		*taken;
	size_t		 i, k, n = 0;
	int		 found;

	if (db_query(d->db, "SELECT j.id, j.uuid, b.uuid, j.status, "
	    "j.host_id, j.account_id, j.mode, j.image, j.image_tag, "
	    "j.command, j.cpu, j.gpu, j.ram_gb, j.gpu_devices, j.dataset_id, "
	    "d.uuid, j.cancel_requested, "
	    "FLOOR(UNIX_TIMESTAMP(j.started_at) * 1000), "
	    "j.requeues, j.env, j.attempt, b.retry_attempts, "
	    "b.retry_on, j.log_size, j.log_ts_ns, j.log_ts_skip, "
	    "TIMESTAMPDIFF(MICROSECOND, j.stop_sent_at, UTC_TIMESTAMP(3)) "
	    "DIV 1000, TIMESTAMPDIFF(SECOND, j.pull_started_at, "
	    "UTC_TIMESTAMP(3)), j.pending_reason "
	    "FROM jobs j JOIN batches b ON b.id = j.batch_id "
	    "LEFT JOIN datasets d ON d.id = j.dataset_id "
	    "WHERE j.host_id IS NOT NULL AND (j.status IN " ACTIVE_STATES
	    " OR (j.status = 'CANCELED' AND j.cancel_requested = 1)) "
	    "ORDER BY j.id", DB_NOARGS, &r) != DB_OK)
		return -1;
	v = xcalloc(r->nrows + d->njobs + 1, sizeof(*v));
	taken = xcalloc(d->njobs + 1, 1);
	for (i = 0; i < r->nrows; i++) {
		k = job_index(d, db_res_int(r, i, 0), &found);
		j = found ? d->jobs[k] : NULL;
		if (j != NULL && j->attempt != (unsigned)db_res_int(r, i, 20) &&
		    job_quiet(j)) {
			/* A new attempt: a new runtime. */
			job_free(d, j);
			taken[k] = 1;
			j = NULL;
		}
		if (j != NULL) {
			taken[k] = 1;
			/*
			 * A job waiting for a pull or a fill that was cancelled
			 * meanwhile stops waiting now: its cancel is done at
			 * once, not when the image or the data arrive.
			 */
			if (j->waits && strcmp(j->status,
			    db_res_str(r, i, 3)) != 0)
				step_abort(d, j);
			if (j->step == S_IDLE && !j->waits) {
				job_fill(j, r, i);
				if (j->log.call == NULL && j->log.pend.len == 0)
					logs_init(d, j);
			}
		} else {
			j = xcalloc(1, sizeof(*j));
			j->d = d;
			j->id = db_res_int(r, i, 0);
			j->log.fd = -1;
			docker_frames_init(&j->log.fr);
			job_fill(j, r, i);
			logs_init(d, j);
		}
		j->loaded = d->iter;
		v[n++] = j;
	}
	db_res_free(r);
	/* Those not loaded: kept while something of them is under way. */
	for (i = 0; i < d->njobs; i++) {
		if (taken[i])
			continue;
		j = d->jobs[i];
		if (job_quiet(j))
			job_free(d, j);
		else
			v[n++] = j;
	}
	free(taken);
	free(d->jobs);
	d->jobs = v;
	d->njobs = n;
	/* By id again (kept ones were appended). */
	for (i = 1; i < n; i++)
		for (k = i; k > 0 && v[k - 1]->id > v[k]->id; k--) {
			j = v[k];
			v[k] = v[k - 1];
			v[k - 1] = j;
		}
	byuuid_build(d);
	return 0;
}

/*
 * Jobs of hosts unreachable for longer than the grace period: their
 * attempt failed with class host_failure (back to QUEUED when the batch's
 * policy allows, else ERRORED); cancelled ones forget their container.
 * Only hosts this process saw down count: the database's word, from
 * before a restart, is not enough (the host may be back).
 */
static int
requeue_lost(struct disp *d)
{
	struct disp_host	*h;
	struct disp_job		*j;
	char			 why[512];
	size_t			 i;

	for (i = 0; i < d->njobs; i++) {
		j = d->jobs[i];
		if (j->loaded != d->iter ||
		    (h = disp_host_of(d, j->host_id)) == NULL || !h->probed ||
		    h->reachable || h->down_s < (long long)d->conf.disp_host_grace)
			continue;
		step_abort(d, j);
		logs_stop(d, j);
		if (strcmp(j->status, "CANCELED") == 0) {
			if (db_exec(d->db, "UPDATE jobs SET cancel_requested "
			    "= 0 WHERE id = ? AND status = 'CANCELED'",
			    DB_ARGS(DB_INT(j->id)), NULL, NULL) != DB_OK)
				return -1;
			continue;
		}
		snprintf(why, sizeof(why), "host %s was unreachable for more "
		    "than %u s", h->name, d->conf.disp_host_grace);
		if (jobdb_fail_attempt(d, j, "host_failure", why) < 0)
			return -1;
	}
	return 0;
}

/* --- placement ------------------------------------------------------------------ */

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

/* Account usage from the loaded jobs, for fairness. */
static struct sched_usage *
usage_of(struct disp *d, size_t *nu)
{
	struct sched_usage	*u;
	struct disp_job		*j;
	size_t			 i, k;

	u = xcalloc(d->njobs + 1, sizeof(*u));
	*nu = 0;
	for (i = 0; i < d->njobs; i++) {
		j = d->jobs[i];
		if (j->loaded != d->iter)
			continue;
		for (k = 0; k < *nu; k++)
			if (u[k].account_id == j->account_id)
				break;
		if (k == *nu)
			u[(*nu)++].account_id = j->account_id;
		u[k].cpu_m += j->cpu_m;
		u[k].ram_m += j->ram_m;
		u[k].gpus += j->gpu;
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
 * Place the queued jobs: run the scheduler over the hosts and what the
 * loaded jobs hold, then (unless a dry run) commit every placement (status
 * PENDING, host, GPU devices) and the pending reasons in one transaction,
 * before any Engine call. Returns 0 or -1.
 */
static int
place(struct disp *d)
{
	struct sched_host	*sh = NULL;
	struct sched_usage	*u = NULL;
	struct queued		 q;
	struct disp_host	*h;
	struct disp_job		*j;
	unsigned long long	 aff;
	size_t			 nu = 0, i, k, placed = 0, moved = 0;
	long long		 t0 = eloop_now_ms();
	int			 rc = -1, dbrc;

	memset(&q, 0, sizeof(q));
	if (queued_load(d, &q) != 0)
		goto out;
	if (q.n == 0) {
		rc = 0;
		goto out;
	}
	sh = xcalloc(d->nhosts + 1, sizeof(*sh));
	for (i = 0; i < d->nhosts; i++) {
		h = d->hosts[i];
		sh[i].id = h->id;
		sh[i].active = strcmp(h->state, "active") == 0;
		sh[i].reachable = h->reachable;
		sh[i].cpu_m = h->cpu_m;
		sh[i].ram_m = h->ram_m;
		sh[i].gpus = h->gpus;
	}
	for (i = 0; i < d->njobs; i++) {
		j = d->jobs[i];
		if (j->loaded != d->iter)
			continue;
		for (k = 0; k < d->nhosts; k++)
			if (sh[k].id == j->host_id) {
				sched_host_take(&sh[k], j->cpu_m, j->ram_m,
				    j->gpu_devices);
				break;
			}
	}
	u = usage_of(d, &nu);
	placed = sched_place(sh, d->nhosts, q.v, q.n, u, nu);

	if (d->dry_run) {
		for (i = 0; i < q.n; i++) {
			if (q.v[i].reason == SCHED_PLACED)
				printf("place job %s on host %s%s%s\n",
				    q.uuid[i], d->hosts[q.v[i].host]->name,
				    q.v[i].gpu_devices ? " gpus " : "",
				    q.v[i].gpu_devices ? q.v[i].gpu_devices :
				    "");
			else if (d->verbose)
				printf("job %s stays queued: %s\n", q.uuid[i],
				    sched_reason_name(q.v[i].reason));
		}
		printf("dry run: %zu of %zu queued jobs would be placed on "
		    "%zu hosts (%lld ms)\n", placed, q.n, d->nhosts,
		    eloop_now_ms() - t0);
		rc = 0;
		goto out;
	}

	if (db_begin(d->db) != DB_OK)
		goto out;
	for (i = 0; i < q.n; i++) {
		if (q.v[i].reason != SCHED_PLACED)
			continue;
		h = d->hosts[q.v[i].host];
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
	disp_say(d, "placed %zu of %zu queued jobs", moved, q.n);
	d->stats.placed += moved;
	rc = moved > 0 ? 1 : 0;
out:
	if (rc < 0 && db_in_transaction(d->db))
		db_rollback(d->db);
	if (rc < 0)
		log_error("placement failed: %s", db_error(d->db));
	queued_free(&q);
	free(sh);
	free(u);
	return rc;
}

/* --- the iteration ------------------------------------------------------------- */

/* See dispatch.h. */
int
disp_iterate(struct disp *d)
{
	size_t	 i;
	int	 prc;

	d->iter_said = 0;
	d->stats.placed = 0;
	if (hosts_load(d) != 0)
		goto fail;
	if (d->dry_run) {
		if (jobs_load(d) != 0 || place(d) < 0)
			goto fail;
		return 0;
	}
	for (i = 0; i < d->nhosts; i++)
		round_start(d, d->hosts[i]);
	if (jobs_load(d) != 0 || requeue_lost(d) != 0)
		goto fail;
	if ((prc = place(d)) < 0)
		goto fail;
	/* The placed jobs join; their host's list of this round decides. */
	if (prc > 0 && jobs_load(d) != 0)
		goto fail;
	if (disp_autopromote(d) != 0)
		goto fail;
	return d->failed ? -1 : 0;
fail:
	log_error("the iteration failed: %s", db_error(d->db));
	d->failed = 1;
	return -1;
}

/* See dispatch.h. */
void
disp_turn(struct disp *d)
{
	struct disp_host	*h;
	struct disp_job		*j;
	size_t			 i, active = 0;
	long long		 now = eloop_now_ms();

	/* Jobs an event asked about, when idle. */
	for (i = 0; i < d->njobs; i++) {
		j = d->jobs[i];
		if (j->kick && j->step == S_IDLE && !j->waits) {
			j->kick = 0;
			step_decide(d, j, NULL, 0);
		}
		if (j->step != S_IDLE || j->log.call != NULL)
			active++;
	}
	if (!d->once)
		for (i = 0; i < d->nhosts; i++) {
			h = d->hosts[i];
			if (h->reachable && h->listed > 0)
				events_keep(d, h);
		}
	if (now - d->flush_ms >= DISP_FLUSH_MS) {
		d->flush_ms = now;
		logs_flush_all(d);
	}
	if (!d->iter_said && d->rounds == 0) {
		d->iter_said = 1;
		if (d->verbose) {
			printf("iteration %lu: %lld ms, %zu hosts, %zu jobs, "
			    "%zu placed, %lu calls, %zu pulls, %zu fills, "
			    "log %lld bytes read for %lld kept\n", d->iter,
			    now - d->iter_t0, d->nhosts, d->njobs,
			    d->stats.placed, eloop_calls(d->el) - d->calls0,
			    pull_count(d),
			    cache_count(d), d->stats.log_wire,
			    d->stats.log_kept);
			fflush(stdout);
		}
		log_debug("iteration %lu: %lld ms, %zu jobs under way",
		    d->iter, now - d->iter_t0, active);
		/* The next line counts from here (dispatch.h). */
		d->calls0 = eloop_calls(d->el);
		d->stats.log_wire = 0;
		d->stats.log_kept = 0;
	}
}

/* See dispatch.h. */
int
disp_busy(const struct disp *d)
{
	size_t	 i;

	if (d->rounds > 0 || pull_count(d) > 0 || cache_count(d) > 0)
		return 1;
	/*
	 * Calls no job owns count too: stray containers being removed, cache
	 * volumes being evicted. Given up at the exit, the engine would
	 * never carry them out (--once has no streams that stay open).
	 */
	if (eloop_pending(d->el) > 0)
		return 1;
	for (i = 0; i < d->njobs; i++)
		if (d->jobs[i]->step != S_IDLE || d->jobs[i]->log.call != NULL)
			return 1;
	return 0;
}

/* See dispatch.h. */
void
disp_pass_end(struct disp *d)
{
	struct disp_host	*h;
	char			 err[1200];
	size_t			 i;

	for (i = 0; i < d->nhosts; i++) {
		h = d->hosts[i];
		if (h->round != ROUND_PING && h->round != ROUND_VERSION)
			continue;
		snprintf(err, sizeof(err), "%.1000s did not answer GET %s "
		    "within the pass (pass_budget %u s)", h->endpoint,
		    h->round == ROUND_PING ? "/_ping" : "/version",
		    d->conf.disp_pass_budget);
		host_down(d, h, err);
	}
	/* The hosts' answers of this pass are in: lost ones' jobs now. */
	if (requeue_lost(d) != 0) {
		log_error("requeueing the jobs of lost hosts: %s",
		    db_error(d->db));
		d->failed = 1;
	}
}

/* See dispatch.h. */
void
disp_shutdown(struct disp *d)
{
	size_t	 i;

	for (i = 0; i < d->njobs; i++) {
		step_abort(d, d->jobs[i]);
		logs_stop(d, d->jobs[i]);
	}
	logs_flush_all(d);
	for (i = 0; i < d->nhosts; i++)
		host_free(d, d->hosts[i]);
	free(d->hosts);
	d->hosts = NULL;
	d->nhosts = 0;
	for (i = 0; i < d->njobs; i++)
		job_free(d, d->jobs[i]);
	free(d->jobs);
	d->jobs = NULL;
	d->njobs = 0;
	free(d->byuuid);
	d->byuuid = NULL;
	d->nbyuuid = 0;
}

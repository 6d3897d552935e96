/*
 * dispatch.h: what the parts of st-dispatch share (private to the program).
 *
 *   st-dispatch.c  options, the named lock, the loop and its iterations
 *   iter.c         one iteration: hosts, jobs loaded, host loss, placement,
 *                  reconciliation and the sweep
 *   jobdb.c        a job's state transitions in the database (compare and
 *                  set), failed attempts and retries
 *   step.c         a job's steps on its host, as a state machine driven by
 *                  the calls it makes (launch, follow, stop, exit, cancel)
 *   launch.c       the container of a job: its create body, /output
 *   collect.c      /output into result and model
 *   logs.c         the log of the current attempt, kept as the job prints
 *   pull.c         image pulls in the background, shared; registry auth
 *   cache.c        the data cache of each host (volumes of shards)
 *   events.c       each host's /events stream
 *   autopromote.c  automatic promotion of finished pilot batches
 *   sched.c        placement (pure)
 *   engine.c       the asynchronous Engine API client (libcurl multi)
 *   docker.c       the Engine API calls; docker-parse.c their parsers
 *
 * One thread runs everything: the database is used synchronously from the
 * loop (a local MariaDB answers in well under a millisecond), every Engine
 * call goes through the loop, and no call of one job or host waits for
 * another's.
 */
#ifndef ST_DISPATCH_H
#define ST_DISPATCH_H

#include <stddef.h>
#include <sys/types.h>

#include "conf.h"
#include "db.h"
#include "docker.h"
#include "engine.h"
#include "seal.h"
#include "util.h"

#define DISP_LOCK_NAME		"singularity-dispatch"
#define DISP_RESULT_MAX		(64 * 1024)	/* /output/result.json */
#define DISP_LABEL		"singularity.job"  /* every container's */
#define DISP_CACHE_LABEL	"singularity.cache" /* every cache volume's */
#define DISP_FLUSH_MS		500	/* logs written and recorded */

/* Exit statuses of st-dispatch. */
enum disp_exit {
	DISP_EXIT_OK = 0,
	DISP_EXIT_FAIL = 1,	/* configuration, database */
	DISP_EXIT_USAGE = 2,
	DISP_EXIT_LOCKED = 3,	/* another dispatcher holds the lock */
};

/* Where a host's round of an iteration stands. */
enum round {
	ROUND_IDLE,		/* nothing in flight */
	ROUND_PING,		/* GET /_ping */
	ROUND_VERSION,		/* GET /version (first contact, or back) */
	ROUND_LIST,		/* GET /containers/json: reconciliation */
	ROUND_VOLUMES,		/* GET /volumes: the cache sweep */
};

struct disp;

struct disp_host {
	struct disp	*d;
	long long	 id;
	char		*name;
	char		*endpoint;
	char		*tls_ca, *tls_cert, *tls_key;
	long long	 cpu_m, ram_m;
	unsigned	 gpus;
	int		 env_runtime;	/* gpu_runtime 'env' (else nvidia) */
	char		 state[16];	/* active draining disabled */
	int		 reachable;	/* as last seen (database at first) */
	int		 probed;	/* this process has seen it answer,
					   or not */
	long long	 down_s;	/* seconds unreachable, -1 when not */
	unsigned long	 loaded;	/* the iteration that loaded it */
	struct engine	*eng;		/* NULL when the endpoint is malformed */
	char		 bad[256];	/* why eng is NULL */

	enum round	 round;
	unsigned long	 round_iter;	/* the iteration of the round */
	int		 version_ok;	/* checked since it answered again */
	struct ecall	*rcall;		/* the round's call in flight */
	struct docker_container *ctr;	/* the latest list */
	size_t		 nctr;
	unsigned long	 listed;	/* the iteration of ctr, 0: none */
	long long	 volumes_ms;	/* last cache sweep (eloop_now_ms) */

	/* The /events stream (--loop): events.c. */
	struct ecall	*ev;
	struct docker_buf evline;
	long long	 ev_since_s;	/* resume point (engine seconds) */
	long long	 ev_retry_ms;	/* not before (eloop_now_ms) */
	int		 ev_live;	/* answered 200: events flowing */
};

/* What /output held. */
struct disp_outputs {
	char		*result;	/* JSON object text, NULL when none */
	char		*result_error;	/* why result.json was refused */
	char		 model_sha256[65];	/* "" when no model */
	long long	 model_size;
	int		 nfiles;	/* files in the model */
	int		 skipped;	/* files left out: unsafe names */
	int		 too_large;	/* past [dispatcher] output_max */
};

/* Steps of a job on its host (step.c). */
enum step {
	S_IDLE = 0,
	S_INSPECT,		/* look at the container, then decide */
	S_L_IMAGE,		/* launch: the image on the host */
	S_L_DATA,		/* launch: the data cache view */
	S_L_CREATE,
	S_L_OUTPUT,		/* launch: /output put in */
	S_L_PRESTART,		/* launch: still never started? */
	S_L_START,
	S_STOP,			/* SIGTERM, grace, SIGKILL */
	S_STOP_WAIT,
	S_STOP_KILL,
	S_X_STATE,		/* exit: the container's end state */
	S_X_LOG,		/* exit: the whole log */
	S_X_COLLECT,		/* exit: /output */
	S_X_REMOVE,
	S_C_LOG,		/* cancel: log and partial /output */
	S_C_COLLECT,
	S_C_REMOVE,
	S_C_DONE,
};

/* The log of a job's current attempt being kept (logs.c). */
struct jlog {
	int		 fd;		/* -1 when closed */
	long long	 cap;
	long long	 size;		/* logical bytes written to the file */
	long long	 synced;	/* of them, synced and recorded */
	long long	 ts_ns;		/* checkpoint of what was received */
	long long	 ts_skip;
	long long	 rec_ts_ns;	/* checkpoint recorded with synced */
	long long	 rec_ts_skip;
	long long	 skip_ts;	/* resume: drop the first skip_left */
	long long	 skip_left;	/* bytes of messages at skip_ts */
	struct docker_buf pend;		/* received, not yet written */
	struct docker_frames fr;
	struct ecall	*call;		/* a follow stream or a read */
	int		 following;	/* call follows the container */
	int		 ended;		/* a read reached the log's end */
	int		 failed;	/* the file cannot be written */
	long long	 retry_ms;	/* follow again not before */
};

struct disp_job {
	struct disp	*d;
	long long	 id;
	char		 uuid[UUID_STR_LEN + 1];
	char		 batch_uuid[UUID_STR_LEN + 1];
	char		 status[16];
	long long	 host_id;
	long long	 account_id;
	int		 pilot;
	char		*image;
	char		*tag;
	char		*command;
	char		*env;		/* JSON object {"NAME": "value"}, NULL */
	long long	 cpu_m, ram_m;
	unsigned	 gpu;
	char		*gpu_devices;	/* NULL when none */
	long long	 dataset_id;	/* 0 when NULL */
	char		 dataset_uuid[UUID_STR_LEN + 1];
	int		 cancel_requested;
	long long	 started_ms;	/* started_at, Unix ms; 0 when NULL */
	unsigned	 requeues;	/* host-loss requeues so far */
	unsigned	 attempt;	/* the current attempt, from 1 */
	unsigned	 attempts;	/* the batch's retry policy (retry.h) */
	char		*retry_on;
	long long	 log_size;	/* recorded logical log size */
	long long	 log_ts_ns;	/* recorded log checkpoint */
	long long	 log_ts_skip;
	long long	 stop_age_ms;	/* since stop_sent_at, -1 when NULL */
	long long	 pull_age_s;	/* since pull_started_at, -1 when NULL */
	char		*pending_reason;

	/* Runtime, kept across iterations in --loop. */
	unsigned long	 loaded;	/* the iteration that loaded it */
	enum step	 step;		/* S_IDLE when no step is under way */
	int		 kick;		/* an event: look again when idle */
	int		 stop_for_limit;/* stopped at its time limit */
	enum step	 stop_then;	/* the step after a stop */
	long long	 stop_kill_ms;	/* SIGKILL sent (eloop_now_ms), 0 */
	struct ecall	*call;		/* the step's call in flight */
	unsigned long	 timer;		/* the step's timer, 0 */
	struct docker_state st;		/* the latest inspect */
	long long	 stop_t0;	/* SIGTERM sent (eloop_now_ms) */
	long long	 drain_t0;	/* began waiting for the log's end */
	struct disp_outputs outs;	/* what /output held */
	struct jlog	 log;
	char		*cache_mount;	/* host path of its /data view */
	char		*cache_vol;	/* volume of that view */
	FILE		*out;		/* /output tar being fetched */
	int		 out_too_large;	/* it passed output_max */
	pid_t		 collect_pid;	/* collect_spawn()'s child, 0 */
	char		*collect_sum;	/* its summary file */
	char		 why[1024];	/* exit: the outcome's reason */
	char		 cls[32];	/* exit: failure class, "" */
	const char	*final;		/* exit: COMPLETED or ERRORED */
	int		 retrying;	/* exit: the attempt is retried */
	int		 waits;		/* waiting for a pull or a fill */
	int		 log_wait;	/* waiting for a log read's end */
	int		 created_now;	/* its container made by this launch */
	int		 pull_failed;	/* its pull failed: why says why */
	int		 fill_failed;	/* its fill failed (fill_passing: the
					   host's fault, try again later) */
	int		 fill_passing;
	int		 fill_host_fault;	/* the host failed: host_failure */
};

struct pull;
struct fill;

/*
 * Counters printed with --verbose on each iteration's line. placed counts
 * the iteration's placements; the others count from the previous line to
 * this one, so that the lines together cover all the time: what the loop
 * did between two iterations (log streams above all) is counted too.
 */
struct disp_stats {
	long long	 log_wire;	/* log stream bytes received */
	long long	 log_kept;	/* log bytes kept */
	size_t		 placed;	/* jobs placed by the iteration */
};

struct disp {
	struct conf		 conf;
	struct db		*db;
	int			 dry_run;
	int			 verbose;
	int			 once;		/* --once: one pass, then exit */
	int			 failed;	/* the database failed */
	struct eloop		*el;
	unsigned long		 iter;		/* the current iteration */
	long long		 iter_t0;	/* its start (eloop_now_ms) */
	int			 iter_said;	/* its time was printed */
	struct disp_stats	 stats;
	unsigned long		 calls0;	/* eloop_calls() at the last line */

	struct disp_host	**hosts;	/* by id; each host stays
						   where it is across
						   iterations */
	size_t			 nhosts;
	struct disp_job		**jobs;		/* by id */
	size_t			 njobs;
	struct disp_job		**byuuid;	/* by UUID (iter.c) */
	size_t			 nbyuuid;
	struct pull		*pulls;
	struct fill		*fills;

	unsigned char		 seal_key[SEAL_KEY_LEN];
	int			 seal_ok;	/* the key file was read */
	unsigned		 rounds;	/* host rounds under way */
	char			 seal_err[256];
	long long		 flush_ms;	/* last log flush */
};

/*
 * Print (with --verbose) and log one line about the pass.
 */
void	disp_say(const struct disp *d, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* --- iter.c ------------------------------------------------------------------ */

/*
 * Start an iteration (DESIGN "The dispatcher"): hosts loaded and each
 * host's round started (ping, version, list; the list reconciles its
 * jobs), jobs loaded, attempts of lost hosts failed, queued jobs placed,
 * automatic promotions. Returns 0, or -1 when the database failed (the
 * iteration stops; the next one finishes the work).
 */
int	disp_iterate(struct disp *d);

/*
 * Work of a loop turn: logs flushed every DISP_FLUSH_MS, event streams
 * kept up, the iteration's time printed once every round ended.
 */
void	disp_turn(struct disp *d);

/*
 * Whether work of this process is still under way (--once waits): a round,
 * a pull, a fill, a job's step or log read, or any other Engine call in
 * flight (a stray container's removal, a cache volume's eviction).
 */
int	disp_busy(const struct disp *d);

/*
 * The end of a --once pass: a host that has not answered its ping (or
 * /version) by now is marked unreachable, as if the call had timed out
 * (pass_budget may be shorter than the ping's own timeout); the attempts
 * of hosts lost past host_grace fail (with the answers of this pass).
 */
void	disp_pass_end(struct disp *d);

/* Free everything (calls cancelled, logs flushed). */
void	disp_shutdown(struct disp *d);

struct disp_host *disp_host_of(struct disp *d, long long host_id);
struct disp_job	*disp_job_of(struct disp *d, long long id);
struct disp_job	*disp_job_by_uuid(struct disp *d, const char *uuid);

/* A container's state of host h's latest list: NULL when not there. */
const struct docker_container *disp_listed(const struct disp_host *h,
	    const char *name);

/* --- jobdb.c ------------------------------------------------------------------ */

/*
 * Compare-and-set moves of j's status: 1 when the row moved (j->status
 * set), 0 when the job was no longer in the expected status (cancelled
 * meanwhile), -1 on a database failure (d->failed set).
 */
int	jobdb_processing(struct disp *d, struct disp_job *j, long long started_ms);
int	jobdb_processed(struct disp *d, struct disp_job *j,
	    const struct docker_state *st);
int	jobdb_uploading(struct disp *d, struct disp_job *j);
int	jobdb_error(struct disp *d, struct disp_job *j, const char *why);
/* UPLOADING -> final with error, result and model. */
int	jobdb_final(struct disp *d, struct disp_job *j, const char *final,
	    const char *err, const char *result, const char *model_sha256,
	    long long model_size);
/* why with "(after N attempts)" when there was more than one. */
const char *jobdb_why_attempts(const struct disp_job *j, const char *why,
	    char *buf, size_t len);

/*
 * The current attempt of j failed with why, of failure class cls (NULL or
 * "": one no policy retries): requeued as its next attempt when the
 * batch's retry policy allows (the attempt kept in job_attempts, with its
 * log size), else ERRORED with why. Returns 1 when it moved, 0 when it
 * changed meanwhile or a deadlock put the move off, -1 on a database
 * failure. The caller removes the attempt's container.
 */
int	jobdb_fail_attempt(struct disp *d, struct disp_job *j, const char *cls,
	    const char *why);

/* The container name of j's current attempt (st-job-<uuid>[-<n>]). */
void	disp_container_name(const struct disp_job *j, char out[64]);
void	disp_container_name_of(const char *uuid, unsigned attempt,
	    char out[64]);
/* The time limit of j's mode, in ms. */
long long disp_limit_ms(const struct disp *d, const struct disp_job *j);

/* Set j's pending_reason (and pull progress) when it changed. */
int	jobdb_pending(struct disp *d, struct disp_job *j, const char *reason,
	    long long pull_bytes, long long pull_total);

/* --- step.c ------------------------------------------------------------------- */

/*
 * Move j as far as it goes now. c is the container of j's attempt as the
 * host's latest list shows it (NULL: not there, or unknown when unlisted).
 * Does nothing while a step of j is under way.
 */
void	step_decide(struct disp *d, struct disp_job *j,
	    const struct docker_container *c, int listed);
/* Go on with j's step (a call, timer, pull, fill or log ended). */
void	step_run(struct disp *d, struct disp_job *j);
/* The log read j's step waited for ended: go on. */
void	step_log_ended(struct disp *d, struct disp_job *j);
/* Abandon j's step: its call cancelled, its timer stopped. */
void	step_abort(struct disp *d, struct disp_job *j);

/* --- launch.c ----------------------------------------------------------------- */

/* The body of POST /containers/create for j on h (caller frees). */
char	*launch_create_body(const struct disp *d, const struct disp_host *h,
	    const struct disp_job *j);
/* The tar of an empty /output (mode 0777) in memory (caller frees). */
int	launch_output_tar(char **out, size_t *len);

/* --- collect.c ---------------------------------------------------------------- */

void	disp_outputs_free(struct disp_outputs *o);

/*
 * Read the /output tar of j from f (at its start): result.json parsed,
 * every other regular file into the model zip, stored as
 * models/ab/<uuid>.zip; o->too_large when the files hold more than
 * output_max bytes (then no model), o->skipped the files of unsafe names
 * left out. A NULL f means the job left no /output. Returns 0, or -1 on a
 * store or archive failure (logged). Memory does not grow with the
 * output: files go through temporary files, the zip is built on disk.
 */
int	collect_outputs(struct disp *d, const struct disp_job *j, FILE *f,
	    struct disp_outputs *o);
/*
 * collect_outputs() of the tar tar in a child process, so the loop never
 * waits for it: *pid and *sumpath (a temporary file of the store the
 * child writes its summary to; caller frees the string) are for
 * collect_reap(). Returns 0 or -1.
 */
int	collect_spawn(struct disp *d, const struct disp_job *j, FILE *tar,
	    pid_t *pid, char **sumpath);
/*
 * Whether the child ended: 0 not yet; 1 ended, *o filled (the summary
 * file removed); -1 it failed (logged; try again later).
 */
int	collect_reap(struct disp *d, const struct disp_job *j, pid_t pid,
	    const char *sumpath, struct disp_outputs *o);

/* --- logs.c ------------------------------------------------------------------- */

/* Start following j's log (--loop), from what is kept. */
void	logs_follow(struct disp *d, struct disp_host *h, struct disp_job *j);
/*
 * Read j's log up to now (a read, not a follow) unless a follow stream is
 * under way; step_run(j) when it ended. Returns 1 when a read started or
 * one is under way, 0 when the log is complete already.
 */
int	logs_drain(struct disp *d, struct disp_host *h, struct disp_job *j);
/* Write what was received and record it (all jobs). */
void	logs_flush_all(struct disp *d);
/*
 * Write, sync and record the log of j now; with final, truncate the file
 * to its size and close it. Returns 0 or -1.
 */
int	logs_flush(struct disp *d, struct disp_job *j, int final);
/* Stop following (the stream cancelled), the file closed. */
void	logs_stop(struct disp *d, struct disp_job *j);
/* Load the recorded log state into j->log (after a job is loaded). */
void	logs_init(struct disp *d, struct disp_job *j);

/* --- pull.c ------------------------------------------------------------------- */

/*
 * Whether j's image is usable on h now: 1 ready; 0 not yet (j waits: a
 * pull or an inspect is under way, step_run(j) when it ends); -1 failed
 * (the reason in why: the attempt fails with class image_pull); -2 a
 * passing failure (the database: try again later).
 */
int	pull_need(struct disp *d, struct disp_host *h, struct disp_job *j,
	    char *why, size_t whylen);
/* What is known of j's image on h is stale (the engine lacks it). */
void	pull_stale(struct disp *d, struct disp_host *h,
	    const struct disp_job *j);
/* j no longer waits for its pull (cancelled, failed, gone). */
void	pull_forget(struct disp *d, struct disp_job *j);
/*
 * --once, at the end of the pass: every pull under way goes on in a
 * detached process of its own until its image is there or its time is up.
 */
void	pull_detach_all(struct disp *d);
/* Pulls of a host (or all, h NULL) cancelled. */
void	pull_cancel_host(struct disp *d, struct disp_host *h);
/* Pulls in flight. */
size_t	pull_count(const struct disp *d);

/* --- cache.c ------------------------------------------------------------------ */

/*
 * Whether j's data view is ready on h: 1 ready (j->cache_mount and
 * j->cache_vol set); 0 not yet (a fill is under way, step_run(j) when it
 * ends); -1 failed (why: the attempt cannot run, no retry class; or a
 * passing failure of the host when *passing is set).
 */
int	cache_need(struct disp *d, struct disp_host *h, struct disp_job *j,
	    char *why, size_t whylen, int *passing);
void	cache_forget(struct disp *d, struct disp_job *j);
/*
 * The cache sweep of h: volumes over host_cache_max evicted least recently
 * used first, volumes of deleted sets and volumes the database does not
 * know removed, when no placed job uses them. Starts the call; returns at
 * once.
 */
void	cache_sweep(struct disp *d, struct disp_host *h);
void	cache_cancel_host(struct disp *d, struct disp_host *h);
/* Whether a fill of volume is under way on h (its filler is kept). */
int	cache_filling(const struct disp *d, const struct disp_host *h,
	    const char *volume);
size_t	cache_count(const struct disp *d);

/* --- events.c ----------------------------------------------------------------- */

/* Keep h's /events stream open (--loop); reconnect after a loss. */
void	events_keep(struct disp *d, struct disp_host *h);
void	events_stop(struct disp *d, struct disp_host *h);

/* --- autopromote.c -------------------------------------------------------------- */

/*
 * Promote the pilot batches whose automatic promotion waits and whose jobs
 * are all final (promote.h). Returns 0, or -1 when the database failed.
 */
int	disp_autopromote(struct disp *d);

#endif

/*
 * dispatch.h: what the parts of st-dispatch share (private to the program).
 *
 *   st-dispatch.c  options, the named lock, the loop
 *   pass.c         one pass in the DESIGN's order, job state transitions
 *   launch.c       a placed job's container: image, create, data, start
 *   collect.c      stopping containers, /output into result and model, logs
 *   autopromote.c  automatic promotion of finished pilot batches
 *   sched.c        placement (pure)
 *   docker.c       the Docker Engine API client
 */
#ifndef ST_DISPATCH_H
#define ST_DISPATCH_H

#include <stddef.h>

#include "conf.h"
#include "db.h"
#include "docker.h"
#include "util.h"

#define DISP_LOCK_NAME		"singularity-dispatch"
#define DISP_LOG_MAX		(1024 * 1024)	/* bytes of log kept */
#define DISP_RESULT_MAX		(64 * 1024)	/* /output/result.json */
#define DISP_OUTPUT_MAX		(2LL * 1024 * 1024 * 1024) /* /output tar */

/* Exit statuses of st-dispatch. */
enum disp_exit {
	DISP_EXIT_OK = 0,
	DISP_EXIT_FAIL = 1,	/* configuration, database */
	DISP_EXIT_USAGE = 2,
	DISP_EXIT_LOCKED = 3,	/* another dispatcher holds the lock */
};

struct disp_host {
	long long	 id;
	char		*name;
	char		*endpoint;
	char		*tls_ca, *tls_cert, *tls_key;
	long long	 cpu_m, ram_m;
	unsigned	 gpus;
	int		 env_runtime;	/* gpu_runtime 'env' (else nvidia) */
	char		 state[16];	/* active draining disabled */
	int		 reachable;	/* answered this pass (or, dry run:
					   not marked unreachable) */
	long long	 down_s;	/* seconds unreachable, -1 when not */
	struct docker	*dk;		/* client, NULL when unusable */
};

struct disp_job {
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
	long long	 running_ms;	/* since started_at, -1 when NULL */
	unsigned	 requeues;	/* host-loss requeues so far */
	unsigned	 attempt;	/* the current attempt, from 1 */
	unsigned	 attempts;	/* the batch's retry policy (retry.h) */
	char		*retry_on;
	/* In-pass flags. */
	int		 stop_for_limit;
};

struct disp {
	struct conf		 conf;
	struct db		*db;
	int			 dry_run;
	int			 verbose;
	struct disp_host	*hosts;
	size_t			 nhosts;
};

/*
 * Print (with --verbose) and log one line about the pass.
 */
void	disp_say(const struct disp *d, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * One pass (DESIGN "The dispatcher"). Returns 0, or -1 when the database
 * failed (the pass stops; the next one finishes the work).
 */
int	disp_pass(struct disp *d);

/*
 * Promote the pilot batches whose automatic promotion waits and whose jobs
 * are all final (promote.h). Returns 0, or -1 when the database failed.
 */
int	disp_autopromote(struct disp *d);

/* The host of a job, or NULL. */
struct disp_host *disp_host_of(struct disp *d, long long host_id);

/*
 * Launch job j (PENDING) on h: image (pulled when missing), container
 * create (an existing one is reused), data and /output through the archive
 * endpoint, start. On success the container runs; the caller moves the
 * job to PROCESSING. Returns 0; 1 when the attempt failed (reason in why,
 * *cls the failure class: "image_pull" when the image cannot be had, NULL
 * for a failure no policy retries); -1 on a passing failure (host
 * unreachable: try again next pass).
 */
int	disp_launch(struct disp *d, struct disp_host *h, struct disp_job *j,
	    char *why, size_t whylen, const char **cls);

/*
 * The container name of a job's current attempt: "st-job-<uuid>" for the
 * first, "st-job-<uuid>-<n>" for attempt n > 1, so that a retried job
 * never takes up a container of an earlier attempt.
 */
void	disp_container_name(const struct disp_job *j, char out[64]);

/* What /output held. */
struct disp_outputs {
	char		*result;	/* JSON object text, NULL when none */
	char		*result_error;	/* why result.json was refused */
	char		 model_sha256[65];	/* "" when no model */
	long long	 model_size;
	int		 nfiles;	/* files in the model */
};

void	disp_outputs_free(struct disp_outputs *o);

/*
 * Collect /output of j's container on h: result.json parsed, every other
 * regular file into the model zip, stored as models/ab/<uuid>.zip.
 * Returns 0 (also when /output is missing or empty), or -1 on a host or
 * store failure (reason logged).
 */
int	disp_collect(struct disp *d, struct disp_host *h,
	    const struct disp_job *j, struct disp_outputs *o);

/*
 * Store the last DISP_LOG_MAX bytes of j's container output as
 * logs/ab/<uuid>.log and set jobs.log_size. Returns 0 or -1.
 */
int	disp_store_log(struct disp *d, struct disp_host *h,
	    const struct disp_job *j);

/* A container to stop. */
struct disp_stop {
	struct disp_host	*h;
	char			 name[64];
};

/*
 * Stop the containers of list: SIGTERM to all, then wait up to the
 * configured stop_grace for them to exit, then SIGKILL to what still runs
 * and wait (at most 15 s) for it to go.
 */
void	disp_stop_all(struct disp *d, struct disp_stop *list, size_t n);

#endif

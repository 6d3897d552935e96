/*
 * batch.h: batches of training jobs (API reference "Batch"; DESIGN
 * "Batches and jobs"; the jobs contract shared with st-dispatch).
 *
 * Creating a batch is three steps, so that the first can be unit tested
 * and fuzzed without a database:
 *
 *   1. batch_validate(): parse and check the body, then check every job on
 *      its own; data sets are looked up through a callback (the database
 *      one is batch_db_lookup()). Pure but for the callback.
 *   2. batch_host_check(): could any registered host ever hold the
 *      requisitions?
 *   3. batch_create(): the batch and its valid jobs in one transaction.
 *
 * Functions that touch the database return an enum db_rc (DB_OK or a
 * negative error) or one of the positive outcomes of enum batch_rc. Every
 * lookup is scoped to the caller's account: another account's batch is
 * BATCH_NOT_FOUND, exactly like a missing one.
 */
#ifndef ST_BATCH_H
#define ST_BATCH_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "job.h"
#include "retry.h"
#include "util.h"

#define BATCH_IMAGE_MAX		255	/* Docker's limit on a repository name */
#define BATCH_TAG_MAX		128
#define BATCH_COMMAND_MAX	4096	/* bytes */
#define BATCH_REF_MAX		128	/* a data set name or UUID */
#define BATCH_CPU_MAX		100000.0
#define BATCH_GPU_MAX		1024
/* A page of GET /batch stops after the batch that reaches this many jobs. */
#define BATCH_PAGE_JOBS_MAX	10000
#define BATCH_METRIC_MAX	128	/* objective metric, bytes */
#define BATCH_ENV_MAX		64	/* variables per job */
#define BATCH_ENV_BYTES		32768	/* names + values per job */
#define BATCH_TOP_MAX		1000	/* ?top= of the leaderboard, top_k */

enum batch_mode { BATCH_PILOT, BATCH_PRODUCTION };

/* The direction of an objective: the best value is the highest or lowest. */
enum batch_direction { BATCH_DIR_MAX, BATCH_DIR_MIN };

/* The derived status of a batch (DESIGN "Batches and jobs"). */
enum batch_status {
	BATCH_QUEUED,		/* every job QUEUED */
	BATCH_PROCESSING,	/* some job not final */
	BATCH_COMPLETED,	/* all final, none ERRORED, not all CANCELED */
	BATCH_ERRORED,		/* all final, some ERRORED */
	BATCH_CANCELED,		/* all CANCELED */
	BATCH__MAX
};

enum batch_rc {
	BATCH_NOT_FOUND = 1,	/* no such batch of the account: 404 */
	BATCH_FINAL,		/* cancel: every job already final: 409 */
	BATCH_FINISHING,	/* cancel: the rest is PROCESSED/UPLOADING: 409 */
	BATCH_BAD_BEFORE,	/* ?before= names no batch of the account: 400 */
	BATCH_SET_GONE,		/* a data set vanished before the insert: 409 */
	BATCH_NO_HOST,		/* no registered host could ever hold it: 422 */
};

extern const char *const batch_status_names[BATCH__MAX];
extern const char *const batch_mode_names[2];	/* "pilot", "production" */
extern const char *const batch_direction_names[2];	/* "max", "min" */

/* A ?status= value of n bytes (either case) into enum batch_status, or -1. */
int	batch_status_parse(const char *s, size_t n);

/* The batch status from its per-state job counts (indexed by job status). */
enum batch_status batch_status_derive(const unsigned long long counts[JOB__MAX]);

/* --- validation (pure) ------------------------------------------------- */

/*
 * 1 when s (n bytes) is a Docker repository name without tag or digest:
 * [domain[:port]/]path, the path of components [a-z0-9]+ joined by one '.',
 * one or two '_' or any number of '-', separated by '/'; the first
 * component is a domain when it holds '.' or ':', is "localhost" or has an
 * upper-case letter. At most BATCH_IMAGE_MAX bytes in all. Else 0.
 */
int	batch_image_valid(const char *s, size_t n);

/* 1 when s (n bytes) is a tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
int	batch_tag_valid(const char *s, size_t n);

/*
 * Check a command of n bytes: not empty nor blank, at most
 * BATCH_COMMAND_MAX bytes, no control byte but TAB, LF and CR. Returns 0,
 * or -1 with *why set to a static sentence.
 */
int	batch_command_check(const char *s, size_t n, const char **why);

/*
 * 1 when s (n bytes) is an objective metric: 1 to BATCH_METRIC_MAX bytes
 * of [A-Za-z0-9_.-], else 0. Dots separate the keys of nested objects.
 */
int	batch_metric_valid(const char *s, size_t n);

/*
 * A direction of n bytes ("max" or "min", either case) into enum
 * batch_direction, or -1.
 */
int	batch_direction_parse(const char *s, size_t n);

/*
 * The value of metric in a job's result (a JSON object): the key of that
 * whole name when the result has one holding a number, else the dotted
 * path walked through nested objects. Returns 1 with *v set when it is a
 * finite number, else 0.
 */
int	batch_metric_of(const cJSON *result, const char *metric, double *v);

/* 1 when s (n bytes) names an environment variable: [A-Z_][A-Z0-9_]*. */
int	batch_env_name_valid(const char *s, size_t n);

/*
 * 1 when a job may not set variable s (n bytes) itself: SINGULARITY_*
 * (the dispatcher's), NVIDIA_* and CUDA_VISIBLE_DEVICES (which GPUs a
 * container sees: only the dispatcher gives them, from the job's
 * allocation), LD_PRELOAD and LD_LIBRARY_PATH (code injected into every
 * program of the image).
 */
int	batch_env_reserved(const char *s, size_t n);

/*
 * Check the "env" item of a job (NULL or JSON null: none): an object of
 * at most BATCH_ENV_MAX string values whose names are valid, are not
 * reserved (batch_env_reserved()) and appear once, at most BATCH_ENV_BYTES
 * of names and values in all. Returns NULL with *json set to the object's
 * unformatted JSON text (malloc'd; NULL when there is no variable), or a
 * static sentence with *json NULL.
 */
const char *batch_env_check(const cJSON *env, char **json);

/*
 * Check the "objective" item of a body (NULL or JSON null: the default,
 * fitness_score and max) into metric and *dir. Returns 0, or 1 with *err
 * filled: 400 invalid_objective when it is not an object or metric or
 * direction is not a string, 422 invalid_objective when metric is not
 * batch_metric_valid() or direction not max|min.
 */
struct batch_error;
int	batch_objective_check(const cJSON *obj,
	    char metric[BATCH_METRIC_MAX + 1], enum batch_direction *dir,
	    struct batch_error *err);

/*
 * A data set or pilot as the lookup callback finds it. For a set, pilots
 * lists the pilots holding at least one shard, by pilot_index (the ones a
 * pilot-mode batch is spread over); npilots_all counts all of them.
 */
struct batch_pilot {
	long long	 id;
	char		 uuid[UUID_STR_LEN + 1];
};
struct batch_set {
	long long		 id;
	char			 uuid[UUID_STR_LEN + 1];
	int			 is_pilot;
	long long		 shard_count;
	size_t			 npilots_all;
	size_t			 npilots;
	struct batch_pilot	*pilots;	/* malloc'd; freed by the validator */
};

#define BATCH_SET_NOT_FOUND	1

/*
 * Look up the data set named ref (a UUID of a set or pilot, or a set name)
 * for the caller, filling *out (pilots malloc'd). Returns 0,
 * BATCH_SET_NOT_FOUND, or a negative enum db_rc that aborts the
 * validation.
 */
typedef int (*batch_lookup_fn)(void *arg, const char *ref,
	    struct batch_set *out);

/* One job of the request, as validated. */
struct batch_job {
	char		*image;		/* owned: repository name */
	char		*image_tag;	/* owned */
	char		*command;	/* owned */
	char		*env;		/* owned JSON object text; NULL: none */
	long long	 dataset_id;	/* the set or pilot it runs on */
	char		 dataset_uuid[UUID_STR_LEN + 1];
	long long	 promoted_from;	/* the pilot job it reruns; 0: none */
	char		 uuid[UUID_STR_LEN + 1];	/* set by batch_insert() */
	const char	*error;		/* static sentence; NULL when valid */
	const char	*error_code;	/* its machine word ("invalid_env"),
					   NULL when there is none */
};

struct batch_spec {
	enum batch_mode	 mode;
	double		 cpu;		/* rounded to 0.001 */
	unsigned	 gpu;
	double		 ram_gb;	/* rounded to 0.001 */
	char		 cpu_text[32];	/* "%.3f", bound as DECIMAL */
	char		 ram_text[32];
	char		 metric[BATCH_METRIC_MAX + 1];	/* objective */
	enum batch_direction direction;
	unsigned	 auto_promote_top_k;	/* 0: no automatic promotion */
	long long	 promoted_from_batch_id;	/* 0: not a promotion */
	struct retry_policy retry;	/* normalized (retry.h) */
	struct batch_job *jobs;		/* owned, njobs entries */
	size_t		 njobs;
	size_t		 nvalid;
};

struct batch_limits {
	unsigned	 max_jobs;	/* [limits] batch_jobs */
	double		 ram_per_cpu_gb;
	double		 ram_per_gpu_gb;
};

/* Why a request is refused as a whole: status, code, sentence. */
struct batch_error {
	int		 status;
	const char	*code;
	char		 msg[256];
};

/*
 * Fill *err with status, code and the formatted sentence; returns 1, the
 * "refused as a whole" outcome of the validators here and in promote.h.
 */
int	batch_refuse(struct batch_error *err, int status, const char *code,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Validate a POST /batch body of len bytes. The body as a whole:
 *   400 invalid_json          not a JSON object that json_parse_strict()
 *                             takes (UTF-8, one value, nothing after it,
 *                             no control byte, no \u0000)
 *   400 invalid_mode          mode missing or not a string
 *   422 invalid_mode          mode not pilot|production (any case)
 *   400 invalid_requisitions  requisitions not an object; cpu missing or not
 *                             a number; gpu present and not a number
 *   422 invalid_requisitions  cpu <= 0 or > BATCH_CPU_MAX (rounded to
 *                             0.001, at least 0.001); gpu not a whole number
 *                             from 0 to BATCH_GPU_MAX
 *   400 invalid_jobs          jobs missing or not an array
 *   422 invalid_jobs          jobs empty
 *   422 too_many_jobs         more than lim->max_jobs
 *   400/422 invalid_objective see batch_objective_check()
 *   400 invalid_auto_promote  auto_promote not an object, top_k not a number
 *   422 invalid_auto_promote  top_k not a whole number from 1 to
 *                             BATCH_TOP_MAX, or auto_promote in production
 *   400/422 invalid_retry     see retry_parse()
 * Then each job on its own (its error in out->jobs[i].error): an object
 * with image (a valid reference; "name:tag" is accepted when image_tag is
 * absent or the same; a digest is not), image_tag (default "latest"),
 * command (batch_command_check()), env (batch_env_check()) and data_set_id (a set, or a pilot in
 * pilot mode, of the caller's with at least one shard). In pilot mode a
 * set spreads its jobs over its pilots that hold shards in turn: the k-th
 * accepted job naming the set (by name or UUID alike) runs on pilot
 * k mod npilots. Each distinct data_set_id is looked up once.
 *
 * Returns 0 with *out filled (out->nvalid may be 0: the caller answers
 * no_valid_jobs), 1 with *err filled, or a negative enum db_rc of the
 * lookup. The caller frees *out with batch_spec_free() in every case.
 */
int	batch_validate(const char *body, size_t len,
	    const struct batch_limits *lim, batch_lookup_fn lookup, void *arg,
	    struct batch_spec *out, struct batch_error *err);

void	batch_spec_free(struct batch_spec *s);

/*
 * The "errors" array of the answer: [{"index", "error"}] for every job
 * that failed, in request order. Returns a new array or NULL.
 */
cJSON	*batch_errors_json(const struct batch_spec *s);

/* --- database ---------------------------------------------------------- */

/* The argument of batch_db_lookup(). */
struct batch_db_ctx {
	struct db	*db;
	long long	 account_id;
};

/* A batch_lookup_fn over the database; arg is a struct batch_db_ctx. */
int	batch_db_lookup(void *arg, const char *ref, struct batch_set *out);

/*
 * Could a registered host (state active or draining) ever hold the
 * requisitions of s? DB_OK when one can, or when no host is registered at
 * all (the jobs wait; the dispatcher says why in pending_reason);
 * BATCH_NO_HOST with err filled (422 no_host_fits, naming the largest
 * host); or a db error.
 */
int	batch_host_check(struct db *db, const struct batch_spec *s,
	    struct batch_error *err);

/*
 * Insert the batch and its valid jobs (QUEUED, pending_reason
 * not_yet_considered, idx = index in the request) in one transaction,
 * redone on a deadlock. The data sets the jobs name are locked in share
 * mode first, so none is deleted under them. uuid receives the batch's.
 * Returns DB_OK, BATCH_SET_GONE or a db error.
 */
int	batch_create(struct db *db, long long account_id,
	    struct batch_spec *s, char uuid[UUID_STR_LEN + 1]);

/*
 * The statements of batch_create() inside the caller's transaction (which
 * the caller rolls back on failure): the data sets locked, the batch
 * inserted under uuid (given), its id in *bid, each valid job's UUID in
 * s->jobs[i].uuid. Returns DB_OK, BATCH_SET_GONE or a db error.
 */
int	batch_insert(struct db *db, long long account_id,
	    struct batch_spec *s, const char *uuid, long long *bid);

/*
 * GET /batch/{id}: a JSON array of one batch object: id, mode, status,
 * created_at, job_count, jobs [{id, status, command, result,
 * pending_reason}] in request order, queued, pending, processing,
 * processed, uploading, canceled, completed, errored, processing_time (ms,
 * running jobs counted so far), requisitions {cpu, gpu, ram}, objective
 * {metric, direction} and retry {attempts, on}.
 * Returns DB_OK, BATCH_NOT_FOUND or a db error.
 */
int	batch_get(struct db *db, long long account_id, const char *uuid,
	    cJSON **out);

/*
 * GET /batch: the account's batches newest first as a JSON array of batch
 * objects, at most page->limit, older than page->before, with the derived
 * status page->status when set. A page also ends after the batch that
 * brings its job total to BATCH_PAGE_JOBS_MAX (page on with ?before=).
 * Returns DB_OK, BATCH_BAD_BEFORE or a db error.
 */
int	batch_list(struct db *db, long long account_id,
	    const struct job_page *page, cJSON **out);

/*
 * DELETE /batch/{id}: every job QUEUED, PENDING or PROCESSING becomes
 * CANCELED in one compare-and-set statement (cancel_requested set on the
 * placed ones). *n receives how many this call cancelled. Returns DB_OK
 * (n > 0), BATCH_NOT_FOUND, BATCH_FINISHING (nothing cancellable, some job
 * PROCESSED or UPLOADING), BATCH_FINAL (every job final) or a db error.
 */
int	batch_cancel(struct db *db, long long account_id, const char *uuid,
	    unsigned long long *n);

/* The query of GET /batch/{id}/leaderboard. */
struct batch_board_query {
	unsigned	 top;		/* 0: every ranked job */
	int		 has_metric;	/* metric overrides the objective's */
	char		 metric[BATCH_METRIC_MAX + 1];
	int		 direction;	/* -1, or overrides the objective's */
};

/*
 * Parse "top=N&metric=M&direction=max|min" (any of them; "" for none)
 * into *q. Unknown parameters are ignored. Returns 0, or -1 with *code
 * ("invalid_top", top not 1..BATCH_TOP_MAX; "invalid_objective", a bad
 * metric or direction) and *msg (static) set for a 400 answer.
 */
int	batch_board_parse(const char *query, struct batch_board_query *q,
	    const char **code, const char **msg);

/* One COMPLETED job being ranked by its metric. */
struct batch_rank {
	size_t		 row;	/* in the caller's query result */
	long long	 idx;	/* in the request */
	long long	 pt;	/* processing time, ms */
	double		 value;	/* of the metric */
};

/*
 * Sort rows[0..n) best first for dir; ties go to the shorter processing
 * time, then to the earlier job of the request. The leaderboard and
 * promotion rank with this one order.
 */
void	batch_rank_sort(struct batch_rank *rows, size_t n,
	    enum batch_direction dir);

/*
 * GET /batch/{id}/leaderboard: the batch's COMPLETED jobs ranked by the
 * objective (or q's overrides), best first, ties by shorter
 * processing_time then request order; at most q->top of them.
 * {"batch_id", "objective": {"metric", "direction"}, "ranked": [{"job_id",
 * "rank", "metric", "command", "image", "data_set_id",
 * "processing_time"}], "unranked": [{"job_id", "reason"}]} in *out, the
 * unranked being the COMPLETED jobs without a numeric metric, in request
 * order. Returns DB_OK, BATCH_NOT_FOUND or a db error.
 */
int	batch_leaderboard(struct db *db, long long account_id,
	    const char *uuid, const struct batch_board_query *q, cJSON **out);

#endif

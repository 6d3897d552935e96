/*
 * job.h: jobs as the API shows them (API reference "Jobs"; DESIGN "Batches
 * and jobs"; the jobs contract shared with st-dispatch).
 *
 * A job is one container run of a batch. Its status moves
 *
 *   QUEUED -> PENDING -> PROCESSING -> PROCESSED -> UPLOADING
 *          -> COMPLETED | ERRORED,    CANCELED from QUEUED, PENDING, PROCESSING
 *
 * and every change is a compare-and-set on the status column, so a cancel
 * and a dispatcher step never both win. Readers here never change a job
 * except to cancel it.
 *
 * Functions that touch the database return an enum db_rc (DB_OK or a
 * negative error) or one of the positive outcomes of enum job_rc. Every
 * lookup is scoped to the caller's account: another account's job is
 * JOB_NOT_FOUND, exactly like a missing one.
 */
#ifndef ST_JOB_H
#define ST_JOB_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "util.h"

enum job_status {
	JOB_QUEUED,
	JOB_PENDING,
	JOB_PROCESSING,
	JOB_PROCESSED,
	JOB_UPLOADING,
	JOB_COMPLETED,
	JOB_ERRORED,
	JOB_CANCELED,
	JOB__MAX
};

enum job_rc {
	JOB_NOT_FOUND = 1,	/* no such job (or batch) of the account: 404 */
	JOB_FINAL,		/* already COMPLETED, ERRORED or CANCELED: 409 */
	JOB_FINISHING,		/* PROCESSED or UPLOADING: 409 */
	JOB_BAD_BEFORE,		/* ?before= names nothing of the account: 400 */
	JOB_NO_ATTEMPT,		/* ?attempt= past the job's current one: 404 */
};

/* Upper-case names as stored and shown ("QUEUED", ...), by enum value. */
extern const char *const job_status_names[JOB__MAX];
/* Lower-case names of the per-state counts of a batch ("queued", ...). */
extern const char *const job_count_names[JOB__MAX];

/* 1 for COMPLETED, ERRORED and CANCELED, else 0. */
int	job_status_final(enum job_status s);

/*
 * A status name of n bytes, either case, into its enum value; -1 when it
 * names none. Also reads the database's values.
 */
int	job_status_parse(const char *s, size_t n);

/*
 * SQL expression of the processing time in ms of the jobs row aliased j:
 * processing_time_ms once the dispatcher recorded it; for a job started and
 * not yet recorded, start to finish (a cancelled one) or start to now (one
 * still running); 0 for a job never started.
 */
#define JOB_PT_SQL \
	"GREATEST(0, COALESCE(j.processing_time_ms, IF(j.started_at IS NULL, 0, " \
	"TIMESTAMPDIFF(MICROSECOND, j.started_at, " \
	"COALESCE(j.finished_at, UTC_TIMESTAMP(3))) DIV 1000)))"

#define JOB_PAGE_MAX		1000	/* ?limit= upper bound */
#define JOB_PAGE_DEFAULT	100

/* Paging and filter of a list (GET /batch, GET /job). */
struct job_page {
	unsigned	 limit;			/* 1..JOB_PAGE_MAX */
	int		 has_before;
	char		 before[UUID_STR_LEN + 1];	/* lowercase */
	int		 status;		/* -1: no filter */
};

/*
 * Parse a query string ("limit=10&before=<uuid>&status=queued"; "" for
 * none) into *out. status_parse reads a ?status= value of n bytes into its
 * enum value or -1 (job_status_parse, or batch_status_parse for batches).
 * Unknown parameters are ignored; a repeated one takes its last value.
 * Values are not percent-decoded (none of them needs it). Returns 0, or -1
 * with *code and *msg (static strings) set for a 400 answer.
 */
int	job_page_parse(const char *query, int (*status_parse)(const char *,
	    size_t), struct job_page *out, const char **code, const char **msg);

/*
 * The result column as the API shows it: the stored JSON object, or {} for
 * NULL or anything that does not parse as an object. Returns a new item or
 * NULL on allocation failure.
 */
cJSON	*job_result_json(const char *text, size_t len);

/*
 * Add key to obj: the string s, or null when s is NULL (an SQL NULL cell).
 * Returns 0 or -1.
 */
int	job_add_str_or_null(cJSON *obj, const char *key, const char *s);

/*
 * GET /job/{id}: the job of account with that UUID as the API's job object
 * (see job_list()), in *out (caller frees with cJSON_Delete()). One query,
 * two when the job has earlier attempts. Returns DB_OK, JOB_NOT_FOUND or a
 * db error.
 */
int	job_get(struct db *db, long long account_id, const char *uuid,
	    cJSON **out);

/*
 * GET /job: a JSON array of the account's jobs, newest first, at most
 * page->limit, older than page->before, with page->status when set. Each
 * element: id, batch_id, status, command, image ("image:tag"), mode,
 * data_set_id (UUID of the set or pilot it runs on, null once deleted),
 * requisitions {cpu, gpu, ram}, result, processing_time, created_at,
 * started_at, finished_at, exit_code, error, pending_reason, host, env
 * (the job's environment {"NAME": "value"}, {} for none), attempt (the
 * current attempt's number, from 1) and attempts [{attempt, started_at,
 * finished_at, exit_code, error, host, log_size}]: the earlier attempts
 * as job_attempts keeps them, then the current one once it was placed
 * (started_at to host and log_size of the job itself); log_size is the
 * logical size of the attempt's log (joblog.h), null before it has one.
 * Returns DB_OK, JOB_BAD_BEFORE or a db error.
 */
int	job_list(struct db *db, long long account_id,
	    const struct job_page *page, cJSON **out);

/* What job_cancel() did. */
struct job_cancel_out {
	char		 batch_uuid[UUID_STR_LEN + 1];
	int		 status;	/* enum job_status found when refused */
};

/*
 * DELETE /job/{id}: QUEUED, PENDING or PROCESSING -> CANCELED by a
 * compare-and-set (cancel_requested set when the job was placed, so the
 * dispatcher stops its container). Returns DB_OK when this call cancelled
 * it, JOB_NOT_FOUND, JOB_FINISHING (PROCESSED, UPLOADING), JOB_FINAL (with
 * out->status) or a db error.
 */
int	job_cancel(struct db *db, long long account_id, const char *uuid,
	    struct job_cancel_out *out);

/* The stored files of a job, for st-model and GET /job/{id}/log. */
struct job_files {
	char		 uuid[UUID_STR_LEN + 1];
	int		 status;		/* enum job_status */
	int		 has_model;
	char		 model_sha256[65];
	unsigned long long model_size;
	int		 has_log;
};

/*
 * The job of account with UUID job_uuid, which must belong to the batch
 * batch_uuid when that is not NULL. Returns DB_OK, JOB_NOT_FOUND or a db
 * error.
 */
int	job_files_get(struct db *db, long long account_id,
	    const char *batch_uuid, const char *job_uuid, struct job_files *out);

/* What GET /job/{id}/log needs of one attempt of a job. */
struct job_log {
	char		 uuid[UUID_STR_LEN + 1];
	int		 status;	/* enum job_status of the job */
	unsigned	 attempt;	/* the attempt asked, or the current one */
	unsigned	 current;	/* the job's current attempt */
	long long	 size;		/* logical size of its log; -1: none yet */
};

/*
 * The log of attempt (0: the current one) of the job of account with UUID
 * job_uuid: its logical size, from jobs.log_size for the current attempt
 * and job_attempts.log_size for an earlier one (NULL, or no row: -1).
 * One query. Returns DB_OK, JOB_NOT_FOUND, JOB_NO_ATTEMPT (attempt past
 * the job's current one; out->current set) or a db error.
 */
int	job_log_info(struct db *db, long long account_id, const char *job_uuid,
	    unsigned attempt, struct job_log *out);

#endif

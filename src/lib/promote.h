/*
 * promote.h: promotion of a pilot batch (issue "From pilot to
 * production"): the best configurations of a pilot batch, by its
 * objective, rerun in a new production batch on the whole data.
 *
 * A promoted job copies its pilot job's image, tag, command and
 * environment, runs with the pilot batch's requisitions, objective and
 * retry policy, on the parent data set of the pilot sub-set its pilot job
 * ran on (or on the one data set the request names), and records the
 * pilot job it reruns (jobs.promoted_from). The new batch records its
 * pilot batch (promoted_from); the pilot batch records the new one
 * (promoted_batch_id, the latest when promoted more than once).
 *
 * The pilot batch's row is locked for the whole transaction, so a user's
 * promotion and the dispatcher's automatic one never both happen: either
 * one settles a waiting automatic promotion (auto_promote_state 'done').
 */
#ifndef ST_PROMOTE_H
#define ST_PROMOTE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "batch.h"
#include "db.h"

/* A promotion as asked for. */
struct promote_req {
	unsigned	 top_k;		/* 1..BATCH_TOP_MAX */
	int		 has_set;	/* set_ref names the target set */
	char		 set_ref[BATCH_REF_MAX + 1];
	int		 partial;	/* promote before every job is final */
};

/* Outcomes of promote_batch() beside DB_OK and db errors. */
enum promote_rc {
	PROMOTE_REFUSED = 1,	/* *err filled: 404, 409 or 422 */
	PROMOTE_SKIPPED,	/* automatic: no longer waiting */
};

/*
 * Parse a POST /batch/{id}/promote body of len bytes:
 * {"top_k": N, "data_set_id": "name or UUID", "partial": bool}, top_k
 * required. Returns 0 with *req filled, or 1 with *err:
 *   400 invalid_json     not a JSON object that json_parse_strict() takes
 *   400 invalid_top_k    top_k missing or not a number
 *   422 invalid_top_k    top_k not a whole number from 1 to BATCH_TOP_MAX
 *   400 invalid_data_set data_set_id present and not a string, or empty or
 *                        longer than BATCH_REF_MAX
 *   400 invalid_partial  partial present and not a boolean
 */
int	promote_parse(const char *body, size_t len, struct promote_req *req,
	    struct batch_error *err);

/*
 * Promote the pilot batch uuid of account_id, in one transaction (redone
 * on a deadlock). Refusals (PROMOTE_REFUSED, *err filled):
 *   404 not_found        no such batch of the account
 *   422 not_pilot        the batch is a production batch
 *   409 batch_not_final  some job is not final and req->partial is 0
 *   422 no_metric        no COMPLETED job has a numeric objective metric
 *   422 invalid_data_set the named set is unknown, a pilot, or has no
 *                        shards
 *   422 no_valid_jobs    no chosen configuration can run (each one's
 *                        reason in the answer's errors)
 *   409 data_set_changed a data set was deleted meanwhile
 * With automatic set (the dispatcher), only a batch whose automatic
 * promotion is still waiting is promoted (else PROMOTE_SKIPPED), and a
 * refusal but batch_not_final marks it failed with the reason.
 *
 * On DB_OK, *out is the answer: {"batch_uuid", "successful", "failed",
 * "errors": [{"index", "error"}], "promoted_from": pilot batch UUID,
 * "jobs": [{"index", "id", "promoted_from", "rank", "metric",
 * "data_set_id"}]}, index counting the chosen configurations best first.
 */
int	promote_batch(struct db *db, long long account_id, const char *uuid,
	    const struct promote_req *req, int automatic, cJSON **out,
	    struct batch_error *err);

#endif

/*
 * autopromote.c: the automatic promotion of pilot batches (issue "From
 * pilot to production"): a pilot batch created with "auto_promote" is
 * promoted as soon as its last job is final, by the pass that sees it so.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "batch.h"
#include "db.h"
#include "dispatch.h"
#include "log.h"
#include "promote.h"

/* Batches promoted per pass at most; the next pass takes the rest. */
#define AUTOPROMOTE_MAX	100

/* See dispatch.h. */
int
disp_autopromote(struct disp *d)
{
	struct promote_req	 req;
	struct batch_error	 err;
	struct db_res		*r = NULL;
	cJSON			*out = NULL, *id;
	size_t			 i;
	int			 rc;

	/*
	 * ix_batches_auto_promote keeps this to the waiting batches; a job
	 * not final, retried ones included (back to QUEUED), keeps a batch
	 * waiting.
	 */
	if (db_query(d->db, "SELECT b.account_id, b.uuid, b.auto_promote_top_k "
	    "FROM batches b WHERE b.auto_promote_state = 'waiting' AND "
	    "NOT EXISTS (SELECT 1 FROM jobs j WHERE j.batch_id = b.id AND "
	    "j.status NOT IN ('COMPLETED', 'ERRORED', 'CANCELED')) "
	    "ORDER BY b.id LIMIT ?", DB_ARGS(DB_INT(AUTOPROMOTE_MAX)), &r) !=
	    DB_OK)
		return -1;
	for (i = 0; i < r->nrows; i++) {
		memset(&req, 0, sizeof(req));
		req.top_k = (unsigned)db_res_int(r, i, 2);
		rc = promote_batch(d->db, db_res_int(r, i, 0),
		    db_res_str(r, i, 1), &req, 1, &out, &err);
		if (rc == DB_OK) {
			id = cJSON_GetObjectItemCaseSensitive(out, "batch_uuid");
			disp_say(d, "batch %s promoted: top %u -> production "
			    "batch %s", db_res_str(r, i, 1), req.top_k,
			    cJSON_IsString(id) ? id->valuestring : "?");
		} else if (rc == PROMOTE_REFUSED)
			disp_say(d, "batch %s: automatic promotion %s: %s",
			    db_res_str(r, i, 1),
			    strcmp(err.code, "batch_not_final") == 0 ?
			    "waits" : "failed", err.msg);
		cJSON_Delete(out);
		out = NULL;
		if (rc < 0) {
			log_error("automatic promotion of batch %s: %s",
			    db_res_str(r, i, 1), db_error(d->db));
			db_res_free(r);
			return -1;
		}
	}
	db_res_free(r);
	return 0;
}

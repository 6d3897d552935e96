/*
 * st-account: GET /account, the caller's own account (DESIGN
 * "Authentication"): the cheapest signed request a client can make to check
 * its credentials.
 */
#include <cjson/cJSON.h>

#include "db.h"
#include "http.h"
#include "log.h"
#include "responder.h"
#include "route.h"
#include "util.h"

/*
 * Answer {"account", "api_key", "created_at"} for the verified caller.
 * Returns 0, or -1 when the answer could not be written.
 */
static int
account_get(struct responder *rs, struct http_req *r)
{
	struct db_res	*res = NULL;
	cJSON		*obj = NULL;
	char		 created[20];
	int		 rc, ret = -1;

	rc = db_query(rs->db, "SELECT created_at FROM accounts WHERE id = ?",
	    DB_ARGS(DB_INT(r->account_id)), &res);
	if (rc != DB_OK) {
		ret = responder_db_error(rs, r, rc);
		goto out;
	}
	if (res->nrows != 1 ||
	    util_db_time_to_iso(db_res_str(res, 0, 0), created) == -1) {
		log_error("account %lld: no readable created_at", r->account_id);
		ret = http_send_error(r, 500, "internal", "internal server error");
		goto out;
	}
	if ((obj = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(obj, "account", r->account_name) == NULL ||
	    cJSON_AddStringToObject(obj, "api_key", r->api_key) == NULL ||
	    cJSON_AddStringToObject(obj, "created_at", created) == NULL) {
		ret = http_send_error(r, 500, "internal", "internal server error");
		goto out;
	}
	ret = http_send_json(r, 200, obj);
out:
	cJSON_Delete(obj);
	db_res_free(res);
	return ret;
}

static const struct route routes[] = {
	{ HTTP_GET, "/account", 1, account_get, 0, 0 },
};

int
main(int argc, char **argv)
{
	return responder_main("st-account", routes, NITEMS(routes), argc, argv);
}

/*
 * st-account: GET /account, the caller's own account (DESIGN
 * "Authentication"): the cheapest signed request a client can make to check
 * its credentials; and /account/registries, the account's private Docker
 * registry credentials (DESIGN "The dispatcher"; registry.h), of which no
 * answer ever carries a password.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

#include "batch.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "registry.h"
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

/* --- /account/registries ---------------------------------------------- */

static int
internal(struct http_req *r)
{

	return http_send_error(r, 500, "internal", "internal server error");
}

/* {"server", "username", "created_at", "updated_at"} of c; NULL on failure. */
static cJSON *
cred_json(const struct registry_cred *c)
{
	cJSON	*o;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	if (cJSON_AddStringToObject(o, "server", c->server) == NULL ||
	    cJSON_AddStringToObject(o, "username", c->username) == NULL ||
	    cJSON_AddStringToObject(o, "created_at", c->created_at) == NULL ||
	    cJSON_AddStringToObject(o, "updated_at", c->updated_at) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/*
 * POST /account/registries {"server", "username", "password"}: store the
 * caller's credentials for server, replacing those it had for it. 201
 * {"server", "username", "created_at", "updated_at", "replaced"}; the
 * refusals of registry_parse() (400, 422); 413 beyond REGISTRY_BODY_MAX
 * (the route's limit). The body and every copy of the password are wiped
 * before returning.
 */
static int
registries_put(struct responder *rs, struct http_req *r)
{
	struct registry_req	 req;
	struct registry_cred	 cred;
	struct batch_error	 err;
	cJSON			*obj = NULL;
	int			 rc, replaced = 0, ret = -1;

	if (registry_parse(r->body, r->body_len, &req, &err) != 0) {
		ret = http_send_error(r, err.status, err.code, "%s", err.msg);
		goto out;
	}
	if (!rs->seal_key_loaded) {
		log_error("registry credentials: the seal key is not loaded");
		ret = internal(r);
		goto out;
	}
	rc = registry_put(rs->db, rs->seal_key, r->account_id, &req, &cred,
	    &replaced);
	if (rc != DB_OK) {
		ret = responder_db_error(rs, r, rc);
		goto out;
	}
	log_info("registry credentials for %s %s", cred.server,
	    replaced ? "replaced" : "added");
	if ((obj = cred_json(&cred)) == NULL ||
	    cJSON_AddBoolToObject(obj, "replaced", replaced) == NULL) {
		ret = internal(r);
		goto out;
	}
	ret = http_send_json(r, 201, obj);
out:
	registry_req_clear(&req);
	if (r->body != NULL)
		OPENSSL_cleanse(r->body, r->body_len);
	cJSON_Delete(obj);
	return ret;
}

/*
 * GET /account/registries: 200 {"registries": [{"server", "username",
 * "created_at", "updated_at"}]}, sorted by server; never a password.
 */
static int
registries_list(struct responder *rs, struct http_req *r)
{
	struct registry_cred	*list = NULL;
	cJSON			*obj = NULL, *arr, *o;
	size_t			 n = 0, i;
	int			 rc, ret = -1;

	if ((rc = registry_list(rs->db, r->account_id, &list, &n)) != DB_OK) {
		ret = responder_db_error(rs, r, rc);
		goto out;
	}
	if ((obj = cJSON_CreateObject()) == NULL ||
	    (arr = cJSON_AddArrayToObject(obj, "registries")) == NULL) {
		ret = internal(r);
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((o = cred_json(&list[i])) == NULL ||
		    !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			ret = internal(r);
			goto out;
		}
	ret = http_send_json(r, 200, obj);
out:
	cJSON_Delete(obj);
	free(list);
	return ret;
}

static const struct responder_refusal no_registry[] = {
	{ REGISTRY_NOT_FOUND, 404, "not_found",
	    "you have no registry credentials for that server" },
};

/*
 * DELETE /account/registries/{server}: 200 {"server", "deleted": true}.
 * The path segment is percent-decoded (an IPv6 server's brackets cannot
 * stand raw in a path) and normalised like a POSTed server: 422
 * invalid_server when it is none, 404 not_found when the caller has no
 * credentials for it (another account's are invisible).
 */
static int
registries_delete(struct responder *rs, struct http_req *r)
{
	char	 server[REGISTRY_SERVER_MAX + 1];
	char	*raw = NULL;
	cJSON	*obj = NULL;
	int	 len = 0, rc, ret = -1;

	if ((raw = curl_easy_unescape(NULL, r->params[0], 0, &len)) == NULL) {
		ret = internal(r);
		goto out;
	}
	if (len <= 0 || memchr(raw, '\0', (size_t)len) != NULL ||
	    !registry_server_valid(raw, (size_t)len, server, sizeof(server))) {
		ret = http_send_error(r, 422, "invalid_server", "the path must "
		    "end with a registry server: host name or address with an "
		    "optional :port");
		goto out;
	}
	rc = registry_delete(rs->db, r->account_id, server);
	if (rc == DB_OK) {
		log_info("registry credentials for %s deleted", server);
		if ((obj = cJSON_CreateObject()) == NULL ||
		    cJSON_AddStringToObject(obj, "server", server) == NULL ||
		    cJSON_AddTrueToObject(obj, "deleted") == NULL) {
			cJSON_Delete(obj);
			ret = internal(r);
			goto out;
		}
	}
	ret = responder_answer(rs, r, rc, obj, no_registry,
	    NITEMS(no_registry));
out:
	curl_free(raw);
	return ret;
}

static const struct route routes[] = {
	{ HTTP_GET, "/account", 1, account_get, 0, 0 },
	{ HTTP_GET, "/account/registries", 1, registries_list, 0, 0 },
	{ HTTP_POST, "/account/registries", 1, registries_put,
	    REGISTRY_BODY_MAX, 0 },
	{ HTTP_DELETE, "/account/registries/{server}", 1, registries_delete,
	    0, 0 },
};

int
main(int argc, char **argv)
{
	return responder_main("st-account", routes, NITEMS(routes), argc, argv);
}

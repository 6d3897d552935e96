/*
 * st-data: data sets and shards (API reference "Data"; DESIGN "Data sets
 * and shards").
 *
 *   POST   /data                          create a set and its pilots
 *   GET    /data                          the caller's sets, newest first
 *   GET    /data/{set}                    a set (UUID or name) or a pilot
 *   DELETE /data/{set}                    delete a set (409 while in use)
 *   POST   /data/{set}/shard              upload a shard, id computed
 *   POST   /data/{set}/shard/{shard_id}   upload a shard, id checked
 *   DELETE /data/{set}/shard/{shard_id}   remove a shard from the set
 *
 * A shard upload is a stream: base64 body -> decoder -> SHA-256 and a
 * temporary file in the blob store, 64 KiB at a time, so memory stays flat
 * whatever the size. Only once the whole body is read and its signature
 * verified is anything checked against the database or committed.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <zip.h>

#include "b64.h"
#include "conf.h"
#include "dataset.h"
#include "db.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "responder.h"
#include "route.h"
#include "store.h"
#include "util.h"

#define READ_CHUNK	(64 * 1024)

/* Answer a domain or database outcome that is not DB_OK. */
static int
answer_rc(struct responder *rs, struct http_req *r, int rc)
{

	switch (rc) {
	case DATASET_NOT_FOUND:
		return http_send_error(r, 404, "not_found",
		    "no such data set");
	case DATASET_NAME_TAKEN:
		return http_send_error(r, 409, "name_taken",
		    "a data set of that name already exists");
	case DATASET_IN_USE:
		return http_send_error(r, 409, "in_use",
		    "a job that is not finished uses this data set");
	case DATASET_IS_PILOT:
		return http_send_error(r, 422, "is_pilot",
		    "this is a pilot sub-set; delete its parent data set");
	default:
		responder_db_error(rs, r, rc);
		return 0;
	}
}

/* Answer 500 after a failure the log already explains. */
static int
internal(struct http_req *r)
{

	return http_send_error(r, 500, "internal", "internal server error");
}

/* Add "pilot_ids": [...] built from the pilots of i to obj. */
static int
add_pilot_ids(cJSON *obj, const struct dataset_info *i)
{
	cJSON	*arr;
	size_t	 k;

	if ((arr = cJSON_AddArrayToObject(obj, "pilot_ids")) == NULL)
		return -1;
	for (k = 0; k < i->npilots; k++)
		if (!cJSON_AddItemToArray(arr,
		    cJSON_CreateString(i->pilots[k].uuid)))
			return -1;
	return 0;
}

/*
 * The JSON of a set: name, dataset_uuid, data_set_uuid (the same, for the
 * original CLI), shard_count, bytes, created_at, pilot_count, pilot_ids and
 * pilots [{id, shard_count, bytes}]. Returns a new object or NULL.
 */
static cJSON *
set_json(const struct dataset_info *i)
{
	cJSON	*obj = NULL, *arr, *p;
	size_t	 k;

	if ((obj = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(obj, "name", i->set.name) == NULL ||
	    cJSON_AddStringToObject(obj, "dataset_uuid", i->set.uuid) == NULL ||
	    cJSON_AddStringToObject(obj, "data_set_uuid", i->set.uuid) == NULL ||
	    cJSON_AddNumberToObject(obj, "shard_count",
	    (double)i->set.shard_count) == NULL ||
	    cJSON_AddNumberToObject(obj, "bytes", (double)i->set.bytes) == NULL ||
	    cJSON_AddStringToObject(obj, "created_at",
	    i->set.created_at) == NULL ||
	    cJSON_AddNumberToObject(obj, "pilot_count",
	    (double)i->npilots) == NULL ||
	    add_pilot_ids(obj, i) == -1 ||
	    (arr = cJSON_AddArrayToObject(obj, "pilots")) == NULL)
		goto err;
	for (k = 0; k < i->npilots; k++) {
		if ((p = cJSON_CreateObject()) == NULL)
			goto err;
		if (!cJSON_AddItemToArray(arr, p) ||
		    cJSON_AddStringToObject(p, "id", i->pilots[k].uuid) == NULL ||
		    cJSON_AddNumberToObject(p, "shard_count",
		    (double)i->pilots[k].shard_count) == NULL ||
		    cJSON_AddNumberToObject(p, "bytes",
		    (double)i->pilots[k].bytes) == NULL)
			goto err;
	}
	return obj;
err:
	cJSON_Delete(obj);
	return NULL;
}

/*
 * The JSON of a pilot: id, pilot_index, shard_count, bytes, created_at and
 * its set as name, dataset_uuid and data_set_uuid, with "pilot": true.
 */
static cJSON *
pilot_json(const struct dataset *d)
{
	cJSON	*obj = NULL;

	if ((obj = cJSON_CreateObject()) == NULL ||
	    cJSON_AddTrueToObject(obj, "pilot") == NULL ||
	    cJSON_AddStringToObject(obj, "id", d->uuid) == NULL ||
	    cJSON_AddNumberToObject(obj, "pilot_index",
	    (double)d->pilot_index) == NULL ||
	    cJSON_AddStringToObject(obj, "name", d->name) == NULL ||
	    cJSON_AddStringToObject(obj, "dataset_uuid", d->parent_uuid) == NULL ||
	    cJSON_AddStringToObject(obj, "data_set_uuid",
	    d->parent_uuid) == NULL ||
	    cJSON_AddNumberToObject(obj, "shard_count",
	    (double)d->shard_count) == NULL ||
	    cJSON_AddNumberToObject(obj, "bytes", (double)d->bytes) == NULL ||
	    cJSON_AddStringToObject(obj, "created_at", d->created_at) == NULL) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

/*
 * POST /data {"name", "pilot_count"}: 201 with name, dataset_uuid,
 * data_set_uuid, pilot_ids (and created_at, pilot_count). A body that is
 * not a JSON object json_parse_strict() takes (nothing after the value, no
 * control byte, no \u0000) is 400 invalid_json; a missing or mistyped field is 400
 * with the field's code; a well-typed but unacceptable value is 422
 * (invalid_name: 1-128 of [A-Za-z0-9_.-]; invalid_pilot_count: a whole
 * number 0..256, 3.0 counting as whole); a taken name is 409 name_taken.
 * Other keys are ignored.
 */
static int
data_create(struct responder *rs, struct http_req *r)
{
	char		 (*pilots)[UUID_STR_LEN + 1] = NULL;
	struct dataset_info info;
	cJSON		*body = NULL, *name, *pc, *obj = NULL;
	unsigned	 count, k;
	double		 v;
	int		 rc, ret = -1;

	memset(&info, 0, sizeof(info));
	body = json_parse_strict(r->body, r->body_len);
	if (body == NULL || !cJSON_IsObject(body)) {
		ret = http_send_error(r, 400, "invalid_json",
		    "the body must be a JSON object");
		goto out;
	}
	name = cJSON_GetObjectItemCaseSensitive(body, "name");
	pc = cJSON_GetObjectItemCaseSensitive(body, "pilot_count");
	if (!cJSON_IsString(name)) {
		ret = http_send_error(r, 400, "invalid_name",
		    "name is required and must be a string");
		goto out;
	}
	if (!dataset_name_valid(name->valuestring, strlen(name->valuestring))) {
		ret = http_send_error(r, 422, "invalid_name", "name must be 1 "
		    "to %d characters of A-Z a-z 0-9 _ . -", DATASET_NAME_MAX);
		goto out;
	}
	if (!cJSON_IsNumber(pc)) {
		ret = http_send_error(r, 400, "invalid_pilot_count",
		    "pilot_count is required and must be a number");
		goto out;
	}
	v = pc->valuedouble;
	if (!isfinite(v) || v != floor(v) || v < 0 ||
	    v > DATASET_PILOTS_MAX) {
		ret = http_send_error(r, 422, "invalid_pilot_count",
		    "pilot_count must be a whole number from 0 to %d",
		    DATASET_PILOTS_MAX);
		goto out;
	}
	count = (unsigned)v;

	rc = dataset_create(rs->db, r->account_id, name->valuestring, count,
	    &info.set, &pilots);
	if (rc != DB_OK) {
		ret = answer_rc(rs, r, rc);
		goto out;
	}
	info.npilots = count;
	info.pilots = xcalloc(count > 0 ? count : 1, sizeof(*info.pilots));
	for (k = 0; k < count; k++)
		memcpy(info.pilots[k].uuid, pilots[k], sizeof(pilots[k]));
	log_info("data set %s created with %u pilots", info.set.uuid, count);
	if ((obj = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(obj, "name", info.set.name) == NULL ||
	    cJSON_AddStringToObject(obj, "dataset_uuid", info.set.uuid) == NULL ||
	    cJSON_AddStringToObject(obj, "data_set_uuid",
	    info.set.uuid) == NULL ||
	    add_pilot_ids(obj, &info) == -1 ||
	    cJSON_AddNumberToObject(obj, "pilot_count", (double)count) == NULL ||
	    cJSON_AddStringToObject(obj, "created_at",
	    info.set.created_at) == NULL) {
		ret = internal(r);
		goto out;
	}
	ret = http_send_json(r, 201, obj);
out:
	cJSON_Delete(obj);
	cJSON_Delete(body);
	dataset_info_free(&info);
	free(pilots);
	return ret;
}

/* GET /data: a JSON array of the caller's sets, newest first. */
static int
data_list(struct responder *rs, struct http_req *r)
{
	struct dataset_info	*list = NULL;
	cJSON			*arr = NULL, *o;
	size_t			 n = 0, i;
	int			 rc, ret = -1;

	if ((rc = dataset_list(rs->db, r->account_id, &list, &n)) != DB_OK) {
		ret = answer_rc(rs, r, rc);
		goto out;
	}
	if ((arr = cJSON_CreateArray()) == NULL) {
		ret = internal(r);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((o = set_json(&list[i])) == NULL ||
		    !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			ret = internal(r);
			goto out;
		}
	}
	ret = http_send_json(r, 200, arr);
out:
	cJSON_Delete(arr);
	dataset_info_list_free(list, n);
	return ret;
}

/*
 * GET /data/{set}: a set by UUID or name, or a pilot by UUID (answered with
 * its set). Another account's set is 404 like a missing one.
 */
static int
data_get(struct responder *rs, struct http_req *r)
{
	struct dataset		 d;
	struct dataset_info	 info;
	cJSON			*obj = NULL;
	int			 rc, ret = -1;

	memset(&info, 0, sizeof(info));
	if ((rc = dataset_resolve(rs->db, r->account_id, r->params[0],
	    &d)) != DB_OK) {
		ret = answer_rc(rs, r, rc);
		goto out;
	}
	if (d.parent_id != 0) {
		if ((rc = dataset_stats(rs->db, &d)) != DB_OK) {
			ret = answer_rc(rs, r, rc);
			goto out;
		}
		obj = pilot_json(&d);
	} else {
		if ((rc = dataset_info(rs->db, &d, &info)) != DB_OK) {
			ret = answer_rc(rs, r, rc);
			goto out;
		}
		obj = set_json(&info);
	}
	ret = obj == NULL ? internal(r) : http_send_json(r, 200, obj);
out:
	cJSON_Delete(obj);
	dataset_info_free(&info);
	return ret;
}

/*
 * DELETE /data/{set}: 200 {"name", "dataset_uuid", "deleted": true}; 409
 * in_use while a job that is not final uses the set or a pilot of it; 422
 * is_pilot for a pilot's UUID. The shard files go with `st-admin gc`.
 */
static int
data_delete(struct responder *rs, struct http_req *r)
{
	struct dataset	 d;
	cJSON		*obj = NULL;
	int		 rc, ret = -1;

	if ((rc = dataset_resolve(rs->db, r->account_id, r->params[0],
	    &d)) != DB_OK || (rc = dataset_delete(rs->db, &d)) != DB_OK) {
		ret = answer_rc(rs, r, rc);
		goto out;
	}
	log_info("data set %s deleted", d.uuid);
	if ((obj = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(obj, "name", d.name) == NULL ||
	    cJSON_AddStringToObject(obj, "dataset_uuid", d.uuid) == NULL ||
	    cJSON_AddStringToObject(obj, "data_set_uuid", d.uuid) == NULL ||
	    cJSON_AddTrueToObject(obj, "deleted") == NULL) {
		ret = internal(r);
		goto out;
	}
	ret = http_send_json(r, 200, obj);
out:
	cJSON_Delete(obj);
	return ret;
}

/*
 * DELETE /data/{set}/shard/{shard_id}: the shard leaves the set and its
 * pilot (a pilot's UUID names its set). 200 {"shard_id", "name",
 * "dataset_uuid", "removed": true}; 400 invalid_shard_id; 404 when the set
 * does not have the shard; 409 in_use while a job that is not final uses
 * the set.
 */
static int
shard_delete(struct responder *rs, struct http_req *r)
{
	char		 sha[DATASET_SHA_HEX + 1];
	struct dataset	 d;
	cJSON		*obj = NULL;
	int		 rc, ret = -1;

	if (dataset_shard_id_parse(r->params[1], strlen(r->params[1]),
	    sha) == -1) {
		ret = http_send_error(r, 400, "invalid_shard_id",
		    "shard_id must be 64 hexadecimal digits (SHA-256)");
		goto out;
	}
	if ((rc = dataset_resolve(rs->db, r->account_id, r->params[0],
	    &d)) != DB_OK) {
		ret = answer_rc(rs, r, rc);
		goto out;
	}
	if ((rc = dataset_remove_shard(rs->db, &d, sha)) != DB_OK) {
		if (rc == DATASET_NOT_FOUND)
			ret = http_send_error(r, 404, "not_found",
			    "the data set has no such shard");
		else
			ret = answer_rc(rs, r, rc);
		goto out;
	}
	log_info("shard %.12s removed from data set %s", sha,
	    d.parent_id != 0 ? d.parent_uuid : d.uuid);
	if ((obj = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(obj, "shard_id", sha) == NULL ||
	    cJSON_AddStringToObject(obj, "name", d.name) == NULL ||
	    cJSON_AddStringToObject(obj, "dataset_uuid",
	    d.parent_id != 0 ? d.parent_uuid : d.uuid) == NULL ||
	    cJSON_AddTrueToObject(obj, "removed") == NULL) {
		ret = internal(r);
		goto out;
	}
	ret = http_send_json(r, 200, obj);
out:
	cJSON_Delete(obj);
	return ret;
}

/* --- shard upload ------------------------------------------------------ */

/* The state of one upload, shared by the decoder's sink and the commit. */
struct upload {
	const char		*root;		/* blob store */
	unsigned long long	 limit;		/* decoded bytes allowed */
	EVP_MD_CTX		*md;
	struct store_tmp	 tmp;
	int			 too_large;	/* decoded size passed limit */
	int			 store_rc;	/* first store failure */
	int			 store_errno;
	char			 sha[DATASET_SHA_HEX + 1];
	int			 committed;	/* the final name exists */
	int			 existed;	/* ... and did before us */
};

/*
 * Decoder sink: count, hash and write decoded bytes. Refuses (stopping the
 * decode) once the size passes the limit or the disk fails.
 */
static int
upload_sink(void *arg, const unsigned char *p, size_t n)
{
	struct upload	*u = arg;
	int		 rc;

	if (u->tmp.size + n > u->limit) {
		u->too_large = 1;
		return -1;
	}
	if (EVP_DigestUpdate(u->md, p, n) != 1) {
		u->store_rc = STORE_ERROR;
		u->store_errno = 0;
		return -1;
	}
	if ((rc = store_tmp_write(&u->tmp, p, n)) != STORE_OK) {
		u->store_rc = rc;
		u->store_errno = errno;
		return -1;
	}
	return 0;
}

/*
 * Commit callback of dataset_add_shard(), run with the shards row locked:
 * give the temporary file its final name. Idempotent across the retries of
 * a deadlocked transaction. Returns 0 or an enum store_rc.
 */
static int
upload_commit(void *arg)
{
	struct upload	*u = arg;
	int		 rc;

	if (u->committed) {
		/* A retry: our file (or an older one) must still be there. */
		if (store_shard_exists(u->root, u->sha) == 1)
			return 0;
		log_error("shard %.12s vanished between two attempts", u->sha);
		return STORE_ERROR;
	}
	rc = store_tmp_commit_shard(&u->tmp, u->root, u->sha, &u->existed);
	if (rc != STORE_OK) {
		u->store_errno = errno;
		return rc;
	}
	u->committed = 1;
	return 0;
}

/*
 * Check that the file at path is a zip archive libzip can open with its
 * consistency checks (ZIP_CHECKCONS: central directory against the local
 * headers). An archive with no entries is valid. Returns 0 or -1 (logged).
 */
static int
zip_valid(const char *path)
{
	zip_t		*za;
	zip_int64_t	 n, k;
	zip_stat_t	 st;
	int		 err = 0;

	if ((za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &err)) == NULL) {
		log_info("shard refused: not a valid zip (libzip error %d)",
		    err);
		return -1;
	}
	n = zip_get_num_entries(za, 0);
	for (k = 0; k < n; k++) {
		if (zip_stat_index(za, (zip_uint64_t)k, 0, &st) != 0) {
			log_info("shard refused: zip entry %lld unreadable",
			    (long long)k);
			zip_discard(za);
			return -1;
		}
	}
	zip_discard(za);
	return n < 0 ? -1 : 0;
}

/* Answer a failure of the blob store: 507 for a full disk, else 500. */
static int
answer_store(struct http_req *r, int rc, int e, const char *what)
{

	if (rc == STORE_NOSPACE) {
		log_error("blob store full while %s: %s", what, strerror(e));
		return http_send_error(r, 507, "insufficient_storage",
		    "the server has no room to store this shard");
	}
	log_error("blob store failure while %s: %s", what, strerror(e));
	return internal(r);
}

/*
 * POST /data/{set}/shard[/{shard_id}]: the body is the base64 text of a zip
 * file (padding optional, CR/LF ignored). Read in 64 KiB chunks through the
 * decoder into SHA-256 and a temporary file; then, in this order: the
 * signature (401), shard_id syntax (400 invalid_shard_id), the set (404),
 * size (413 payload_too_large), base64 (400 invalid_base64), storage (507 /
 * 500), zip (400 invalid_zip; an empty body is not a zip), id (400
 * shard_id_mismatch); then fsync, final name, rows. 201 when the set gains
 * the shard, 200 with "created": false when it had it already.
 */
static int
shard_upload(struct responder *rs, struct http_req *r)
{
	static unsigned char	 buf[READ_CHUNK];
	struct upload		 u;
	struct b64_dec		*dec = NULL;
	struct dataset		 d;
	struct dataset_added	 added;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	char			 want[DATASET_SHA_HEX + 1];
	int			 have_id = r->nparams > 1, bad_id = 0;
	int			 b64_rc = B64_OK, rc, ret = -1;
	ssize_t			 n;
	cJSON			*obj = NULL;

	memset(&u, 0, sizeof(u));
	u.tmp.fd = -1;
	u.root = rs->conf.store_dir;
	u.limit = rs->conf.limit_shard_bytes;
	if (have_id && dataset_shard_id_parse(r->params[1],
	    strlen(r->params[1]), want) == -1)
		bad_id = 1;

	if ((u.md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(u.md, EVP_sha256(), NULL) != 1 ||
	    (dec = b64_dec_new(upload_sink, &u)) == NULL) {
		log_error("cannot start SHA-256 or the base64 decoder");
		u.store_rc = STORE_ERROR;
	} else if (!bad_id &&
	    (rc = store_tmp_open(u.root, "shard", &u.tmp)) != STORE_OK) {
		u.store_rc = rc;
		u.store_errno = errno;
	}

	/*
	 * The stream. Once something failed the rest is still read (the
	 * signature covers it all), but no longer decoded or written.
	 */
	while ((n = http_read(r, buf, sizeof(buf))) > 0) {
		if (bad_id || u.store_rc != STORE_OK || b64_rc != B64_OK)
			continue;
		b64_rc = b64_dec_update(dec, buf, (size_t)n);
	}
	if (n == 0 && !bad_id && u.store_rc == STORE_OK && b64_rc == B64_OK)
		b64_rc = b64_dec_final(dec);
	/* Answers 401, or 400 for a truncated body. */
	if (responder_verify(rs, r) == -1) {
		ret = 0;
		goto out;
	}

	if (bad_id) {
		ret = http_send_error(r, 400, "invalid_shard_id",
		    "shard_id must be 64 hexadecimal digits (SHA-256)");
		goto out;
	}
	if ((rc = dataset_resolve(rs->db, r->account_id, r->params[0],
	    &d)) != DB_OK) {
		ret = answer_rc(rs, r, rc);
		goto out;
	}
	if (u.too_large) {
		ret = http_send_error(r, 413, "payload_too_large",
		    "the decoded shard is larger than %llu bytes", u.limit);
		goto out;
	}
	if (b64_rc == B64_INVALID) {
		ret = http_send_error(r, 400, "invalid_base64",
		    "the body is not base64 (only A-Z a-z 0-9 + / = and line "
		    "breaks are allowed, '=' only at the end)");
		goto out;
	}
	if (u.store_rc != STORE_OK) {
		ret = answer_store(r, u.store_rc, u.store_errno,
		    "writing a shard");
		goto out;
	}
	if (b64_rc != B64_OK) {
		log_error("base64 decoder failure %d", b64_rc);
		ret = internal(r);
		goto out;
	}
	if (u.tmp.size == 0 || zip_valid(u.tmp.path) == -1) {
		ret = http_send_error(r, 400, "invalid_zip",
		    "the decoded body is not a valid zip file");
		goto out;
	}
	if (EVP_DigestFinal_ex(u.md, md, &mdlen) != 1 || mdlen != 32) {
		log_error("SHA-256 failure");
		ret = internal(r);
		goto out;
	}
	util_hex(md, mdlen, u.sha);
	if (have_id && strcmp(want, u.sha) != 0) {
		ret = http_send_error(r, 400, "shard_id_mismatch",
		    "shard_id is not the SHA-256 of the decoded body (%s)",
		    u.sha);
		goto out;
	}
	if ((rc = store_tmp_sync(&u.tmp)) != STORE_OK) {
		ret = answer_store(r, rc, errno, "syncing a shard");
		goto out;
	}

	rc = dataset_add_shard(rs->db, &d, u.sha, u.tmp.size, upload_commit,
	    &u, &added);
	if (rc == DATASET_COMMIT_FAILED) {
		ret = answer_store(r, added.commit_rc, u.store_errno,
		    "committing a shard");
		goto out;
	}
	if (rc != DB_OK) {
		ret = answer_rc(rs, r, rc);
		goto out;
	}
	log_info("shard %.12s (%llu bytes) %s data set %s%s", u.sha,
	    u.tmp.size, added.created ? "added to" : "already in",
	    d.parent_id != 0 ? d.parent_uuid : d.uuid,
	    u.existed ? " (file existed)" : "");
	if ((obj = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(obj, "shard_id", u.sha) == NULL ||
	    cJSON_AddNumberToObject(obj, "size", (double)u.tmp.size) == NULL ||
	    cJSON_AddBoolToObject(obj, "created", added.created) == NULL ||
	    cJSON_AddStringToObject(obj, "name", d.name) == NULL ||
	    cJSON_AddStringToObject(obj, "dataset_uuid",
	    d.parent_id != 0 ? d.parent_uuid : d.uuid) == NULL ||
	    cJSON_AddStringToObject(obj, "data_set_uuid",
	    d.parent_id != 0 ? d.parent_uuid : d.uuid) == NULL ||
	    (added.pilot_uuid[0] != '\0' ?
	    cJSON_AddStringToObject(obj, "pilot_id", added.pilot_uuid) :
	    cJSON_AddNullToObject(obj, "pilot_id")) == NULL) {
		ret = internal(r);
		goto out;
	}
	ret = http_send_json(r, added.created ? 201 : 200, obj);
out:
	cJSON_Delete(obj);
	store_tmp_discard(&u.tmp);
	b64_dec_free(dec);
	EVP_MD_CTX_free(u.md);
	return ret;
}

/*
 * The route table. The shard routes stream their body; their max_body is
 * set by configured() from [limits] shard_bytes.
 */
static struct route routes[] = {
	{ HTTP_POST, "/data/{set}/shard/{shard_id}", 1, shard_upload, 0, 1 },
	{ HTTP_DELETE, "/data/{set}/shard/{shard_id}", 1, shard_delete, 0, 0 },
	{ HTTP_POST, "/data/{set}/shard", 1, shard_upload, 0, 1 },
	{ HTTP_GET | HTTP_HEAD, "/data/{set}", 1, data_get, 0, 0 },
	{ HTTP_DELETE, "/data/{set}", 1, data_delete, 0, 0 },
	{ HTTP_GET | HTTP_HEAD, "/data", 1, data_list, 0, 0 },
	{ HTTP_POST, "/data", 1, data_create, 0, 0 },
};

/*
 * Set the shard routes' body limit once the configuration is loaded: the
 * base64 text of [limits] shard_bytes with a CR LF every 64 characters
 * (B64_ENCODED_MAX). A longer Content-Length proves the decoded shard too
 * large: 413 before reading.
 */
static void
configured(const struct conf *c)
{
	size_t	 i, lim;

	lim = c->limit_shard_bytes > (SIZE_MAX - 8) / 2 ? SIZE_MAX :
	    B64_ENCODED_MAX(c->limit_shard_bytes);
	for (i = 0; i < NITEMS(routes); i++)
		if (routes[i].stream_body)
			routes[i].max_body = lim;
}

int
main(int argc, char **argv)
{
	return responder_main_conf("st-data", routes, NITEMS(routes),
	    configured, argc, argv);
}

/*
 * idem.c: idempotency keys: the key grammar, the request hash and the
 * idempotency_keys table (sql/003_idempotency.sql). The contract is in
 * idem.h; the HTTP side (claim, wait, replay, record) in responder.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "db.h"
#include "idem.h"
#include "util.h"

/* See idem.h. */
int
idem_key_check(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return -1;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= IDEM_KEY_MAX || (unsigned char)s[i] < 0x21 ||
		    (unsigned char)s[i] > 0x7e)
			return -1;
	return i > 0 ? 0 : -1;
}

/* See idem.h. */
int
idem_hash_begin(EVP_MD_CTX **ctx, const char *method, const char *uri)
{
	*ctx = NULL;
	if (method == NULL || uri == NULL)
		return -1;
	if ((*ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(*ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(*ctx, method, strlen(method)) != 1 ||
	    EVP_DigestUpdate(*ctx, "\n", 1) != 1 ||
	    EVP_DigestUpdate(*ctx, uri, strlen(uri)) != 1 ||
	    EVP_DigestUpdate(*ctx, "\n", 1) != 1) {
		EVP_MD_CTX_free(*ctx);
		*ctx = NULL;
		return -1;
	}
	return 0;
}

/* See idem.h. */
int
idem_hash_final(EVP_MD_CTX *ctx, char hex[IDEM_HASH_HEX + 1])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 len = 0;

	if (ctx == NULL || EVP_DigestFinal_ex(ctx, md, &len) != 1 ||
	    len != IDEM_HASH_HEX / 2)
		return -1;
	util_hex(md, len, hex);
	return 0;
}

/* See idem.h. */
int
idem_insert(struct db *db, long long account, const char *key,
    const char *hash, long long *id)
{
	unsigned long long	 insert_id = 0;
	int			 rc;

	rc = db_exec(db, "INSERT INTO idempotency_keys "
	    "(account_id, idem_key, request_hash) VALUES (?, ?, ?)",
	    DB_ARGS(DB_INT(account), DB_STR(key), DB_STR(hash)), NULL,
	    &insert_id);
	if (rc == DB_OK)
		*id = (long long)insert_id;
	return rc;
}

/* See idem.h. */
int
idem_get(struct db *db, long long account, const char *key,
    struct idem_rec *rec, int *found)
{
	struct db_res	*res = NULL;
	const char	*h;
	int		 rc;

	memset(rec, 0, sizeof(*rec));
	*found = 0;
	rc = db_query(db, "SELECT id, state = 'done', status, request_hash, "
	    "TIMESTAMPDIFF(SECOND, created_at, UTC_TIMESTAMP(3)), "
	    "TIMESTAMPDIFF(SECOND, updated_at, UTC_TIMESTAMP(3)), "
	    "headers, body FROM idempotency_keys "
	    "WHERE account_id = ? AND idem_key = ?",
	    DB_ARGS(DB_INT(account), DB_STR(key)), &res);
	if (rc != DB_OK)
		return rc;
	if (res->nrows == 1) {
		*found = 1;
		rec->id = db_res_int(res, 0, 0);
		rec->done = db_res_int(res, 0, 1) != 0;
		rec->status = (int)db_res_int(res, 0, 2);
		h = db_res_str(res, 0, 3);
		snprintf(rec->hash, sizeof(rec->hash), "%s", h == NULL ? "" : h);
		rec->age = db_res_int(res, 0, 4);
		rec->idle = db_res_int(res, 0, 5);
		if (!db_res_isnull(res, 0, 6))
			rec->headers = xstrdup(db_res_str(res, 0, 6));
		rec->body_len = db_res_len(res, 0, 7);
		rec->body = xmalloc(rec->body_len + 1);
		if (rec->body_len > 0)
			memcpy(rec->body, db_res_str(res, 0, 7), rec->body_len);
		rec->body[rec->body_len] = '\0';
	}
	db_res_free(res);
	return DB_OK;
}

/* See idem.h. */
int
idem_remove(struct db *db, long long id)
{
	return db_exec(db, "DELETE FROM idempotency_keys WHERE id = ?",
	    DB_ARGS(DB_INT(id)), NULL, NULL);
}

/* See idem.h. */
int
idem_store(struct db *db, long long id, int status, const char *headers,
    const void *body, size_t len, int *stored)
{
	unsigned long long	 affected = 0;
	int			 rc;

	*stored = 0;
	rc = db_exec(db, "UPDATE idempotency_keys SET state = 'done', "
	    "status = ?, headers = ?, body = ?, updated_at = UTC_TIMESTAMP(3) "
	    "WHERE id = ? AND state = 'pending'",
	    DB_ARGS(DB_INT(status), DB_STR(headers),
	    DB_BLOB(body == NULL ? "" : body, len), DB_INT(id)), &affected,
	    NULL);
	if (rc == DB_OK)
		*stored = affected == 1;
	return rc;
}

/* See idem.h. */
int
idem_gc(struct db *db, unsigned long long window, int dry_run,
    unsigned long long *n)
{
	struct db_res	*res = NULL;
	int		 rc;

	*n = 0;
	if (dry_run) {
		rc = db_query(db, "SELECT COUNT(*) FROM idempotency_keys "
		    "WHERE created_at < UTC_TIMESTAMP(3) - INTERVAL ? SECOND",
		    DB_ARGS(DB_INT(window)), &res);
		if (rc == DB_OK)
			*n = (unsigned long long)db_res_int(res, 0, 0);
		db_res_free(res);
		return rc;
	}
	return db_exec(db, "DELETE FROM idempotency_keys "
	    "WHERE created_at < UTC_TIMESTAMP(3) - INTERVAL ? SECOND",
	    DB_ARGS(DB_INT(window)), n, NULL);
}

/* See idem.h. */
void
idem_rec_free(struct idem_rec *rec)
{
	if (rec == NULL)
		return;
	free(rec->headers);
	free(rec->body);
	memset(rec, 0, sizeof(*rec));
}

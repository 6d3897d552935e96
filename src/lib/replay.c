/*
 * replay.c: the signatures of timestamped writes, remembered for their
 * window (replay.h; sql/007_replay.sql).
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth.h"
#include "db.h"
#include "replay.h"

/* See replay.h. */
int
replay_id(const unsigned char sig[AUTH_DIGEST_LEN],
    unsigned char id[REPLAY_ID_LEN])
{
	unsigned int	 len = 0;

	if (EVP_Digest(sig, AUTH_DIGEST_LEN, id, &len, EVP_sha256(),
	    NULL) != 1 || len != REPLAY_ID_LEN) {
		OPENSSL_cleanse(id, REPLAY_ID_LEN);
		return -1;
	}
	return 0;
}

/* See replay.h. */
int
replay_method_remembered(const char *method)
{
	return method != NULL && strcmp(method, "GET") != 0 &&
	    strcmp(method, "HEAD") != 0;
}

/* See replay.h. */
int
replay_remember(struct db *db, const unsigned char id[REPLAY_ID_LEN],
    unsigned long long expires_at)
{
	return db_exec(db, "INSERT INTO replay_signatures (id, expires_at) "
	    "VALUES (?, ?)", DB_ARGS(DB_BLOB(id, REPLAY_ID_LEN),
	    DB_INT(expires_at)), NULL, NULL);
}

/* See replay.h. */
int
replay_gc(struct db *db, time_t now, int dry_run, unsigned long long *n)
{
	struct db_res	*res = NULL;
	int		 rc;

	*n = 0;
	if (dry_run) {
		rc = db_query(db, "SELECT COUNT(*) FROM replay_signatures "
		    "WHERE expires_at < ?", DB_ARGS(DB_INT(now)), &res);
		if (rc == DB_OK)
			*n = (unsigned long long)db_res_int(res, 0, 0);
		db_res_free(res);
		return rc;
	}
	return db_exec(db, "DELETE FROM replay_signatures "
	    "WHERE expires_at < ?", DB_ARGS(DB_INT(now)), n, NULL);
}

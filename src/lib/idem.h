/*
 * idem.h: idempotent POSTs (the Idempotency-Key header, issue 8).
 *
 * The contract, as the API states it (README "Idempotent POSTs"):
 *
 *   - A POST to a signed route may carry "Idempotency-Key: K", K being 1 to
 *     255 printable ASCII bytes (0x21-0x7E); anything else is 400
 *     invalid_idempotency_key. The header on other methods is ignored.
 *   - Keys are per account. The first request with K is run and its answer
 *     (status < 500) recorded; for 24 hours from that request, a request
 *     with the same K and the same method, URI and body is answered that
 *     answer again, with "Idempotent-Replayed: true", and nothing is run.
 *   - The same K with another request is 409 idempotency_key_reused.
 *   - While the first request runs, a second one waits for its answer up to
 *     [http] idempotency_wait seconds (30), then gets 409
 *     idempotency_in_progress with Retry-After.
 *   - A 5xx answer (or none) is not recorded: the key is released and a
 *     retry runs the request for real.
 *   - An answer larger than IDEM_CAPTURE_MAX is not recorded either (the
 *     key is released): no POST of this API answers that much.
 *   - A key whose first request never finished (its responder died) is
 *     taken over by a retry after [http] idempotency_lease seconds (600).
 *     NOTE: a responder killed (or cut from the database) between its
 *     handler's commit and the recording of the answer leaves such a row,
 *     and the retry after the lease runs the request a second time; the
 *     window is one UPDATE wide.
 *
 * The claim is made in responder_verify(), once the signature over the
 * whole body has been checked, so that streaming handlers (shard uploads)
 * and whole-body handlers share it; the request hash (SHA-256 over METHOD
 * "\n" URI "\n" BODY, URI being REQUEST_URI as signed) is fed by http_read()
 * like the HMAC. This file holds the pure parts and the SQL; responder.c
 * holds the HTTP side.
 */
#ifndef ST_IDEM_H
#define ST_IDEM_H

#include <stddef.h>

#include <openssl/evp.h>

#include "db.h"

#define IDEM_KEY_MAX		255		/* bytes of a key */
#define IDEM_WINDOW		(24 * 3600)	/* seconds a record answers */
#define IDEM_CAPTURE_MAX	(1024 * 1024)	/* largest answer recorded */
#define IDEM_POLL_MS		50		/* a waiting retry looks this often */
#define IDEM_HASH_HEX		64

/*
 * Whether s (NUL-terminated, NULL refused) is a valid key: 1..IDEM_KEY_MAX
 * bytes, each 0x21-0x7E. Returns 0 or -1.
 */
int	idem_key_check(const char *s);

/*
 * Start the request hash: a new SHA-256 context in *ctx fed with method
 * "\n" uri "\n"; the body follows through http_read(). The caller frees
 * *ctx with EVP_MD_CTX_free() (http_req_free() does for r->body_sha).
 * Returns 0 or -1 (*ctx NULL).
 */
int	idem_hash_begin(EVP_MD_CTX **ctx, const char *method, const char *uri);

/* Finish the hash into 64 lowercase hex digits and a NUL. Returns 0 or -1. */
int	idem_hash_final(EVP_MD_CTX *ctx, char hex[IDEM_HASH_HEX + 1]);

/* One record, as idem_get() reads it. */
struct idem_rec {
	long long	 id;
	int		 done;		/* 0: pending */
	int		 status;	/* when done */
	char		 hash[IDEM_HASH_HEX + 1];
	long long	 age;		/* seconds since created_at */
	long long	 idle;		/* seconds since updated_at */
	char		*headers;	/* owned; "Name: value\r\n" lines, or NULL */
	char		*body;		/* owned; NUL-terminated, body_len bytes */
	size_t		 body_len;
};

/*
 * Claim (account, key) for a request of hash: insert a pending record.
 * Returns DB_OK with *id set, DB_DUPLICATE when a record exists, or
 * another enum db_rc.
 */
int	idem_insert(struct db *db, long long account, const char *key,
	    const char *hash, long long *id);

/*
 * Read the record of (account, key) into *rec (free with idem_rec_free());
 * *found is 0 when there is none. Returns an enum db_rc.
 */
int	idem_get(struct db *db, long long account, const char *key,
	    struct idem_rec *rec, int *found);

/*
 * Delete record id (whatever its state: ids are never reused, so a record
 * taken over and claimed again by another request is not touched).
 * Returns an enum db_rc.
 */
int	idem_remove(struct db *db, long long id);

/*
 * Record the answer of pending record id: status, header lines (may be
 * NULL) and body. Returns an enum db_rc; *stored is 0 when the record was
 * no longer pending (taken over after the lease).
 */
int	idem_store(struct db *db, long long id, int status,
	    const char *headers, const void *body, size_t len, int *stored);

/*
 * Delete the records older than window seconds (with dry_run, only count
 * them) into *n. Returns an enum db_rc.
 */
int	idem_gc(struct db *db, unsigned long long window, int dry_run,
	    unsigned long long *n);

void	idem_rec_free(struct idem_rec *rec);

#endif

/*
 * replay.h: a timestamped signed write is accepted once (DESIGN,
 * "Authentication"; README "Authentication").
 *
 * The contract:
 *
 *   - A request signed in the v2 form (with X-singularity-timestamp) whose
 *     method changes something (every method but GET and HEAD: today POST
 *     and DELETE) is remembered, once its signature has been verified, by
 *     the SHA-256 of its 64 signature bytes (so the hex case it was sent in
 *     does not matter) in the replay_signatures table, until its timestamp
 *     leaves the window (expires_at = TIMESTAMP + [auth] timestamp_window,
 *     Unix seconds). The table is in MariaDB, so every responder process
 *     of every web node sees every other's.
 *   - The same signature again, while the timestamp is inside the window,
 *     is 401 "replayed": the handler does not run. A row is never taken to
 *     be stale at insert time: a timestamp that passed the window check
 *     has not expired, whatever a row says (no clock arithmetic races the
 *     insert).
 *   - A GET or HEAD with a timestamp is not remembered: it changes
 *     nothing, so its repetition shows the caller what it may read anyway,
 *     and remembering it would cost a database write per read.
 *   - Requests in the original form (no timestamp) cannot be remembered
 *     (nothing says when they expire); [auth] require_timestamp refuses
 *     them.
 *   - A retry that must run (or be answered from its Idempotency-Key
 *     record, idem.h) is signed again with a new timestamp: a new
 *     signature. NOTE: two identical writes signed in the same second have
 *     the same signature: the second is 401 replayed (singularity-cli
 *     never signs a retry in the second of the attempt it repeats).
 *   - `st-admin gc` deletes the rows whose expires_at has passed.
 *
 * NOTE: expiry is judged with the clock of the machine that runs gc, and
 * the window with each responder's: web nodes and the gc host must keep
 * their clocks in step (NTP), as the timestamp window already requires.
 */
#ifndef ST_REPLAY_H
#define ST_REPLAY_H

#include <time.h>

#include "auth.h"
#include "db.h"

#define REPLAY_ID_LEN	32	/* SHA-256 of the signature bytes */

/*
 * The replay id of a signature: SHA-256 of its AUTH_DIGEST_LEN bytes.
 * Returns 0 or -1.
 */
int	replay_id(const unsigned char sig[AUTH_DIGEST_LEN],
	    unsigned char id[REPLAY_ID_LEN]);

/*
 * Whether a request of this method (as sent, e.g. "POST") is remembered
 * when it carries a timestamp: 1 for every method but GET and HEAD.
 */
int	replay_method_remembered(const char *method);

/*
 * Remember id until expires_at (Unix seconds). Returns DB_OK, DB_DUPLICATE
 * when it is already remembered (the request is a replay), or another
 * enum db_rc.
 */
int	replay_remember(struct db *db, const unsigned char id[REPLAY_ID_LEN],
	    unsigned long long expires_at);

/*
 * Delete the rows that expired before now (with dry_run, only count them)
 * into *n. Returns an enum db_rc.
 */
int	replay_gc(struct db *db, time_t now, int dry_run,
	    unsigned long long *n);

#endif

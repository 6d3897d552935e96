/*
 * responder.h: the request loop every responder binary runs.
 *
 * responder_main() loads the configuration, starts logging and serves
 * requests until the web server closes the FastCGI socket (or once, when
 * started as plain CGI). For each request, in this order:
 *
 *   1. parse the environment                      400 / 414 / 431
 *   2. refuse plain HTTP unless allowed           403 not_https
 *   3. match the route table                      404 / 405 + Allow
 *   4. check CONTENT_LENGTH against the limit     413 (before reading)
 *   5. read the body (unless the route streams it)
 *   6. verify the signature (needs_auth routes)   401 unauthorized
 *   7. call the handler
 *
 * Step 6 is split around step 5: the auth headers are checked and the key
 * looked up before the body is read (a request with missing or malformed
 * headers is answered 401 without reading it), and the HMAC, fed by
 * http_read(), is compared once the whole body went through. An unknown key
 * is carried through with a dummy secret and refused only at the end, so the
 * work done does not tell whether a key exists. Between the two, before
 * reading, a GET, HEAD or DELETE with a body (CONTENT_LENGTH > 0) is 400
 * body_not_allowed.
 *
 * A handler that streams its body must call responder_verify() after reading
 * it and before changing anything; r->account_id, r->account_name and
 * r->api_key are set only by a successful verification.
 *
 * A write signed with a timestamp (replay.h) is remembered by
 * responder_verify() once its signature holds; the same signature again
 * is 401 replayed.
 *
 * A POST to a signed route with an Idempotency-Key header (idem.h) is
 * checked between steps 4 and 5 (400 invalid_idempotency_key), hashed as
 * its body is read, and claimed by responder_verify() once the signature
 * holds: a repeat of a recorded request is answered there (its first
 * answer, or 409), and the handler does not run.
 */
#ifndef ST_RESPONDER_H
#define ST_RESPONDER_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "conf.h"
#include "db.h"
#include "http.h"
#include "route.h"
#include "seal.h"

struct responder {
	const char		*name;		/* program name, e.g. "st-data" */
	struct conf		 conf;
	struct db		*db;		/* connected lazily */
	unsigned char		 seal_key[SEAL_KEY_LEN];
	int			 seal_key_loaded;
	const struct route	*routes;
	size_t			 nroutes;
	/*
	 * Authentication in progress for the current request: the signature
	 * sent, and the account of the key, which becomes r->account_* only
	 * once the signature over the whole body has been verified.
	 */
	unsigned char		 want_sig[64];
	int			 auth_pending;
	int			 auth_key_known;	/* 0: unknown key, dummy secret */
	long long		 auth_account_id;
	char			*auth_account_name;	/* owned */
	/*
	 * The idempotency record (idem.h) the current request holds, claimed
	 * by responder_verify(); 0 when none. Once the handler answered,
	 * responder_handle() records the answer in it or releases it.
	 */
	long long		 idem_id;
};

/*
 * Parse argv (-c CONFIG, --help, --version), then serve until the web server
 * closes the FastCGI socket, or one request as plain CGI. Returns the process
 * exit status.
 */
int	responder_main(const char *name, const struct route *routes,
	    size_t nroutes, int argc, char **argv);

/*
 * responder_main() that calls configured(conf) once the configuration is
 * loaded, before the first request: a responder whose route limits come
 * from the configuration sets them there (its route table is then not
 * const).
 */
int	responder_main_conf(const char *name, const struct route *routes,
	    size_t nroutes, void (*configured)(const struct conf *), int argc,
	    char **argv);

/*
 * Serve one parsed request (steps 2-7 above) with rs's configuration; used by
 * responder_main() and by tests that drive a responder without a server.
 */
void	responder_handle(struct responder *rs, struct http_req *r);

/*
 * Finish authentication of a streamed body: reads whatever of the body the
 * handler left unread, then compares the HMAC, then remembers the
 * signature of a timestamped write (replay.h), then claims the request's
 * Idempotency-Key when it has one. Returns 0 when the signature is good (or
 * the route needs none) and the handler is to run; otherwise it has already
 * answered (401; 401 replayed for a timestamped write whose signature was
 * seen before; 400 for a truncated body; 500 on an internal failure, 503
 * when the database is away; for an idempotency key already used, the
 * recorded answer, or 409 idempotency_key_reused or idempotency_in_progress)
 * and returns -1.
 */
int	responder_verify(struct responder *rs, struct http_req *r);

/*
 * Answer a database failure: 503 with Retry-After for DB_GONE and DB_RETRY,
 * 500 otherwise; the details go to the log only. Returns 0.
 */
int	responder_db_error(struct responder *rs, struct http_req *r, int rc);

/* A positive outcome of a library call and the error it is answered with. */
struct responder_refusal {
	int		 rc;
	int		 status;
	const char	*code;
	const char	*msg;
};

/*
 * Answer the outcome rc of a read that built obj: 200 with obj on DB_OK,
 * the refusal of refusals[0..n) whose rc it is, else responder_db_error().
 * obj (NULL unless DB_OK) is freed here. Returns what the answer returned.
 */
int	responder_answer(struct responder *rs, struct http_req *r, int rc,
	    cJSON *obj, const struct responder_refusal *refusals, size_t n);

#endif

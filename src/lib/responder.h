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
 * A handler that streams its body must call responder_verify() after reading
 * it and before changing anything.
 */
#ifndef ST_RESPONDER_H
#define ST_RESPONDER_H

#include <stddef.h>

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
	/* Authentication in progress for the current request. */
	unsigned char		 want_sig[64];
	int			 auth_pending;
};

/* Serve until end of input. Returns the process exit status. */
int	responder_main(const char *name, const struct route *routes,
	    size_t nroutes, int argc, char **argv);

/*
 * Serve one parsed request (steps 2-7 above) with rs's configuration; used by
 * responder_main() and by tests that drive a responder without a server.
 */
void	responder_handle(struct responder *rs, struct http_req *r);

/*
 * Finish authentication of a streamed body: after the whole body went through
 * http_read(). Returns 0 when the signature is good; otherwise it has already
 * answered 401 and returns -1.
 */
int	responder_verify(struct responder *rs, struct http_req *r);

/*
 * Answer a database failure: 503 with Retry-After for DB_GONE and DB_RETRY,
 * 500 otherwise; the details go to the log only. Returns 0.
 */
int	responder_db_error(struct responder *rs, struct http_req *r, int rc);

#endif

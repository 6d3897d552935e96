/*
 * responder.c: the request loop every responder binary runs (see
 * responder.h for the order of the checks), and request authentication
 * (DESIGN "Authentication").
 *
 * The same binary serves as FastCGI (fd 0 is the listen socket the web
 * server or spawn-fcgi hands over) and as plain CGI (one request from the
 * environment and stdin); libfcgi tells which.
 *
 * NOTE: this file does not include config.h; ST_VERSION comes from the
 * compiler command line.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "auth.h"
#include "conf.h"
#include "db.h"
#include "http.h"
#include "idem.h"
#include "log.h"
#include "replay.h"
#include "responder.h"
#include "route.h"
#include "seal.h"
#include "util.h"

#ifndef ST_VERSION
#define ST_VERSION	"unknown"
#endif

extern char **environ;

/* The one sentence of every 401: it never says which part was wrong. */
#define AUTH_SENTENCE	"missing or invalid API key or signature"

/* A revoked key, a disabled account and an unknown key are one case. */
static const char key_sql[] =
    "SELECT k.secret_enc, a.id, a.name FROM api_keys k "
    "JOIN accounts a ON a.id = k.account_id "
    "WHERE k.api_key = ? AND k.revoked_at IS NULL AND a.disabled = 0";

/* Largest sealed secret we open (api_keys.secret_enc is VARBINARY(255)). */
#define SECRET_MAX	256
/* Body bytes a plain CGI reads and discards after answering early. */
#define CGI_DRAIN_MAX	(64ULL * 1024 * 1024)

/* --- I/O backends ----------------------------------------------------- */

/* Plain CGI: the body on stdin. */
static ssize_t
cgi_read(void *arg, void *buf, size_t n)
{
	ssize_t	 got;

	do
		got = read(STDIN_FILENO, buf, n);
	while (got == -1 && errno == EINTR);
	return got;
}

/* Plain CGI: the response on stdout, all of it. */
static int
cgi_write(void *arg, const void *buf, size_t n)
{
	const char	*p = buf;
	ssize_t		 w;

	while (n > 0) {
		w = write(STDOUT_FILENO, p, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* FastCGI: the request's FCGI_STDIN stream; arg is the FCGX_Request. */
static ssize_t
fcgi_read(void *arg, void *buf, size_t n)
{
	FCGX_Request	*req = arg;
	int		 got;

	if (n > INT_MAX)
		n = INT_MAX;
	got = FCGX_GetStr(buf, (int)n, req->in);
	if (got == 0 && FCGX_GetError(req->in) != 0)
		return -1;
	return got;
}

/* FastCGI: the request's FCGI_STDOUT stream, all of it. */
static int
fcgi_write(void *arg, const void *buf, size_t n)
{
	FCGX_Request	*req = arg;
	const char	*p = buf;
	int		 chunk;

	while (n > 0) {
		chunk = n > INT_MAX ? INT_MAX : (int)n;
		if (FCGX_PutStr(p, chunk, req->out) != chunk)
			return -1;
		p += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

/* --- authentication --------------------------------------------------- */

/* Forget the authentication state of the current request. */
static void
auth_reset(struct responder *rs, struct http_req *r)
{
	auth_hmac_free(r->hmac);
	r->hmac = NULL;
	rs->auth_pending = 0;
	rs->auth_key_known = 0;
	rs->auth_account_id = 0;
	free(rs->auth_account_name);
	rs->auth_account_name = NULL;
	explicit_bzero(rs->want_sig, sizeof(rs->want_sig));
}

/*
 * Refuse the request: log the reason category (never a value) and answer
 * the one generic 401. Returns -1 (the request is answered).
 */
static int
auth_fail(struct responder *rs, struct http_req *r, const char *why)
{
	log_warn("authentication failed: %s", why);
	auth_reset(rs, r);
	http_send_error(r, 401, "unauthorized", "%s", AUTH_SENTENCE);
	return -1;
}

/* Answer 500 after an internal failure of authentication. Returns -1. */
static int
auth_internal(struct responder *rs, struct http_req *r)
{
	auth_reset(rs, r);
	http_send_error(r, 500, "internal", "internal server error");
	return -1;
}

/*
 * Load the key that seals API secrets, once per process (a failure is
 * retried by the next request). Returns 0 or -1 (logged).
 */
static int
seal_key(struct responder *rs)
{
	char	 err[256];

	if (rs->seal_key_loaded)
		return 0;
	if (rs->conf.auth_key_file == NULL || rs->conf.auth_key_file[0] == '\0') {
		log_error("[auth] key_file is not set: cannot open API secrets");
		return -1;
	}
	if (seal_load_key(rs->conf.auth_key_file, rs->seal_key,
	    err, sizeof(err)) == -1) {
		log_error("%s", err);
		return -1;
	}
	rs->seal_key_loaded = 1;
	return 0;
}

/*
 * The part of authentication that precedes the body: the headers must be
 * present and well formed (a ',' means the web server joined a repeated
 * header), the timestamp within the window, then the key is looked up and
 * the HMAC started with its secret, or with a dummy one for an unknown key,
 * so that the work done does not tell whether the key exists.
 * Returns 0 to go on (rs->auth_pending set, r->hmac started), or -1 when
 * the request has been answered (401, 500 or 503).
 */
static int
auth_begin(struct responder *rs, struct http_req *r)
{
	static const char	 dummy[AUTH_SECRET_HEX_LEN] =
	    "0000000000000000000000000000000000000000000000000000000000000000";
	struct db_res		*res = NULL;
	unsigned char		 secret[SECRET_MAX];
	const char		*key = r->h_apikey, *sig = r->h_signature;
	const char		*ts = r->h_timestamp;
	unsigned long		 elen;
	long			 slen;
	int			 rc, ret = -1;

	auth_reset(rs, r);
	if (key == NULL || *key == '\0')
		return auth_fail(rs, r, "no API key header");
	if (sig == NULL || *sig == '\0')
		return auth_fail(rs, r, "no signature header");
	if (strchr(key, ',') != NULL || strchr(sig, ',') != NULL ||
	    (ts != NULL && strchr(ts, ',') != NULL))
		return auth_fail(rs, r, "repeated authentication header");
	if (auth_check_key_syntax(key, strlen(key)) == -1)
		return auth_fail(rs, r, "malformed API key");
	if (auth_parse_signature(sig, strlen(sig), rs->want_sig) == -1)
		return auth_fail(rs, r, "malformed signature");
	if (ts == NULL && rs->conf.auth_require_timestamp)
		return auth_fail(rs, r, "no timestamp header (required)");
	if (ts != NULL && auth_check_timestamp(ts, time(NULL),
	    rs->conf.auth_timestamp_window) == -1)
		return auth_fail(rs, r, "timestamp malformed or outside the window");

	if (seal_key(rs) == -1)
		return auth_internal(rs, r);
	rc = db_query(rs->db, key_sql, DB_ARGS(DB_STR(key)), &res);
	if (rc != DB_OK) {
		auth_reset(rs, r);
		responder_db_error(rs, r, rc);
		goto out;
	}
	if (res->nrows == 1) {
		elen = db_res_len(res, 0, 0);
		if (elen < SEAL_OVERHEAD || elen - SEAL_OVERHEAD > sizeof(secret)) {
			log_error("account %lld: sealed secret of %lu bytes",
			    db_res_int(res, 0, 1), elen);
			auth_internal(rs, r);
			goto out;
		}
		slen = seal_decrypt(rs->seal_key, key, strlen(key),
		    (const unsigned char *)db_res_str(res, 0, 0), elen, secret);
		if (slen < 0) {
			log_error("account %lld: API secret does not open with "
			    "the key file (wrong [auth] key_file?)",
			    db_res_int(res, 0, 1));
			auth_internal(rs, r);
			goto out;
		}
		rs->auth_key_known = 1;
		rs->auth_account_id = db_res_int(res, 0, 1);
		rs->auth_account_name = xstrdup(db_res_str(res, 0, 2) == NULL ?
		    "" : db_res_str(res, 0, 2));
	} else {
		memcpy(secret, dummy, sizeof(dummy));
		slen = sizeof(dummy);
	}
	if ((r->hmac = auth_hmac_begin(secret, (size_t)slen, r->method_str,
	    r->uri, ts)) == NULL) {
		log_error("cannot start the request HMAC");
		auth_internal(rs, r);
		goto out;
	}
	rs->auth_pending = 1;
	ret = 0;
out:
	explicit_bzero(secret, sizeof(secret));
	db_res_free(res);
	return ret;
}

/* --- idempotency (idem.h) --------------------------------------------- */

/* The response headers a recorded answer keeps; the rest is made anew. */
static const char *const idem_kept_headers[] = { "Content-Type", "Location" };

/*
 * Answer the recorded answer rec again: its status, kept headers and body,
 * plus Idempotent-Replayed: true. Returns -1 (the request is answered).
 */
static int
idem_replay(struct http_req *r, const struct idem_rec *rec)
{
	char	*lines = NULL, *line, *next, *colon, *v, len[32];

	if (rec->headers != NULL) {
		lines = xstrdup(rec->headers);
		for (line = lines; *line != '\0'; line = next) {
			if ((next = strchr(line, '\n')) != NULL)
				*next++ = '\0';
			else
				next = line + strlen(line);
			line[strcspn(line, "\r")] = '\0';
			if ((colon = strchr(line, ':')) == NULL)
				continue;
			*colon = '\0';
			v = colon + 1 + strspn(colon + 1, " \t");
			if (http_add_header(r, line, v) == -1)
				log_warn("recorded header %s not replayed", line);
		}
		free(lines);
	}
	snprintf(len, sizeof(len), "%zu", rec->body_len);
	http_add_header(r, "Content-Length", len);
	http_add_header(r, "Idempotent-Replayed", "true");
	http_set_status(r, rec->status);
	log_info("idempotent replay of a %d answer", rec->status);
	if (http_write(r, rec->body, rec->body_len) == -1)
		log_warn("I/O failure while replaying an answer");
	return -1;
}

/* Sleep ms milliseconds (EINTR resumes). */
static void
sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

/*
 * Claim the request's Idempotency-Key for the verified account (idem.h):
 * returns 0 with rs->idem_id set and the answer capture on when the
 * handler is to run; -1 when the request has been answered here (the
 * recorded answer, 409, 500 or 503). The loop either inserts the pending
 * record, or reads the one there and acts on it: expired (older than the
 * 24 h window) or abandoned (pending past the lease) records are deleted
 * by id and the insert tried again; a record of another request is 409
 * idempotency_key_reused; a done one is replayed; a pending one is waited
 * for, IDEM_POLL_MS at a time, up to [http] idempotency_wait seconds, then
 * 409 idempotency_in_progress. A record released meanwhile (its request
 * answered 5xx) is claimed anew.
 */
static int
idem_claim(struct responder *rs, struct http_req *r)
{
	struct idem_rec	 rec;
	struct timespec	 t0, now;
	const char	*key = r->h_idempotency_key;
	char		 hash[IDEM_HASH_HEX + 1];
	long long	 id = 0, waited;
	int		 rc, found, insert = 1, ret = -1;

	memset(&rec, 0, sizeof(rec));
	if (idem_hash_final(r->body_sha, hash) == -1) {
		log_error("cannot finish the request hash");
		http_send_error(r, 500, "internal", "internal server error");
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		idem_rec_free(&rec);
		/* Bounds the wait for a pending record, and any other loop. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (long long)(now.tv_sec - t0.tv_sec) * 1000 +
		    (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (waited >= (long long)rs->conf.http_idempotency_wait * 1000) {
			http_add_header(r, "Retry-After", "1");
			http_send_error(r, 409, "idempotency_in_progress",
			    "a request with this Idempotency-Key is still "
			    "running; retry shortly");
			goto out;
		}
		if (insert) {
			rc = idem_insert(rs->db, r->account_id, key, hash, &id);
			if (rc == DB_OK) {
				rs->idem_id = id;
				http_capture(r, IDEM_CAPTURE_MAX);
				ret = 0;
				goto out;
			}
			if (rc == DB_RETRY) {
				/* A deadlock with a racing claim: again. */
				sleep_ms(IDEM_POLL_MS);
				continue;
			}
			if (rc != DB_DUPLICATE) {
				responder_db_error(rs, r, rc);
				goto out;
			}
		}
		if ((rc = idem_get(rs->db, r->account_id, key, &rec,
		    &found)) != DB_OK) {
			responder_db_error(rs, r, rc);
			goto out;
		}
		insert = 1;
		if (!found)
			continue;
		if (rec.age >= IDEM_WINDOW) {
			if ((rc = idem_remove(rs->db, rec.id)) != DB_OK) {
				responder_db_error(rs, r, rc);
				goto out;
			}
			continue;
		}
		if (strcmp(rec.hash, hash) != 0) {
			http_send_error(r, 409, "idempotency_key_reused",
			    "this Idempotency-Key was used with another request");
			goto out;
		}
		if (rec.done) {
			idem_replay(r, &rec);
			goto out;
		}
		if (rec.idle >= (long long)rs->conf.http_idempotency_lease) {
			log_warn("taking over an idempotency key pending for "
			    "%lld s", rec.idle);
			if ((rc = idem_remove(rs->db, rec.id)) != DB_OK) {
				responder_db_error(rs, r, rc);
				goto out;
			}
			continue;
		}
		sleep_ms(IDEM_POLL_MS);
		insert = 0;
	}
out:
	idem_rec_free(&rec);
	return ret;
}

/*
 * The handler has answered: record the answer in the claimed record, or
 * release the record so that a retry runs the request for real (a 5xx, no
 * answer, or an answer larger than the capture bound). A failure here is
 * logged only: the answer is already out.
 */
static void
idem_finish(struct responder *rs, struct http_req *r)
{
	char	*headers = NULL, *v, *line;
	size_t	 i;
	int	 rc, stored = 0;

	if (rs->idem_id == 0)
		return;
	if (db_in_transaction(rs->db)) {
		log_error("handler left a transaction open");
		db_rollback(rs->db);
	}
	if (r->headers_sent && r->status >= 200 && r->status < 500 &&
	    !r->capture_overflow) {
		for (i = 0; i < NITEMS(idem_kept_headers); i++) {
			if ((v = http_response_header(r,
			    idem_kept_headers[i])) == NULL)
				continue;
			line = xasprintf("%s%s: %s\r\n", headers == NULL ? "" :
			    headers, idem_kept_headers[i], v);
			free(headers);
			free(v);
			headers = line;
		}
		rc = idem_store(rs->db, rs->idem_id, r->status, headers,
		    r->capture, r->capture_len, &stored);
		if (rc != DB_OK)
			log_error("cannot record the answer of an idempotent "
			    "request (%d): %s", rc, db_error(rs->db));
		else if (!stored)
			log_warn("idempotency key taken over before the "
			    "answer was recorded");
	} else {
		if (r->capture_overflow)
			log_warn("answer larger than %d bytes: not recorded "
			    "for idempotency", IDEM_CAPTURE_MAX);
		if ((rc = idem_remove(rs->db, rs->idem_id)) != DB_OK)
			log_error("cannot release an idempotency key (%d): %s",
			    rc, db_error(rs->db));
	}
	free(headers);
	http_capture(r, 0);
	rs->idem_id = 0;
}

/*
 * A timestamped write whose signature holds: remember its signature
 * (replay.h) until its timestamp leaves the window. Returns 0 when it was
 * not seen before; -1 when the request has been answered: 401 replayed
 * (the signature was valid, so a code of its own tells the client what
 * to do: sign again), 500, or 503 when the database is away.
 */
static int
replay_check(struct responder *rs, struct http_req *r)
{
	unsigned char		 id[REPLAY_ID_LEN];
	unsigned long long	 ts;
	int			 rc;

	/* auth_begin() checked the timestamp: digits within the window. */
	if (util_parse_u64(r->h_timestamp, ULLONG_MAX -
	    rs->conf.auth_timestamp_window, &ts) == -1 ||
	    replay_id(rs->want_sig, id) == -1) {
		log_error("cannot derive the replay id of a request");
		return auth_internal(rs, r);
	}
	rc = replay_remember(rs->db, id, ts + rs->conf.auth_timestamp_window);
	if (rc == DB_DUPLICATE) {
		log_warn("authentication failed: a timestamped %s replayed",
		    r->method_str);
		auth_reset(rs, r);
		http_send_error(r, 401, "replayed", "this signed request was "
		    "already received; sign it again, with a new timestamp, "
		    "to repeat it");
		return -1;
	}
	if (rc != DB_OK) {
		auth_reset(rs, r);
		responder_db_error(rs, r, rc);
		return -1;
	}
	return 0;
}

/*
 * See responder.h. Whatever of the body the handler left unread is read
 * now (the signature covers all of it). On success the account becomes
 * r->account_id, r->account_name and r->api_key.
 */
int
responder_verify(struct responder *rs, struct http_req *r)
{
	unsigned char	 got[AUTH_DIGEST_LEN], scratch[4096];
	ssize_t		 n;
	int		 ok;

	if (!rs->auth_pending)
		return 0;
	while ((n = http_read(r, scratch, sizeof(scratch))) > 0)
		continue;
	if (n < 0) {
		log_warn("request body shorter than its Content-Length");
		auth_reset(rs, r);
		http_send_error(r, 400, "bad_request",
		    "the request body is shorter than its Content-Length");
		return -1;
	}
	if (auth_hmac_final(r->hmac, got) == -1) {
		log_error("cannot finish the request HMAC");
		return auth_internal(rs, r);
	}
	ok = auth_digest_equal(got, rs->want_sig);
	explicit_bzero(got, sizeof(got));
	if (!rs->auth_key_known)
		return auth_fail(rs, r, "unknown, revoked or disabled API key");
	if (!ok)
		return auth_fail(rs, r, "signature mismatch");
	if (r->h_timestamp != NULL && replay_method_remembered(r->method_str) &&
	    replay_check(rs, r) == -1)
		return -1;

	r->account_id = rs->auth_account_id;
	r->account_name = rs->auth_account_name;
	rs->auth_account_name = NULL;
	r->api_key = xstrdup(r->h_apikey);
	auth_reset(rs, r);
	if (r->body_sha != NULL)
		return idem_claim(rs, r);
	return 0;
}

/* See responder.h. */
int
responder_db_error(struct responder *rs, struct http_req *r, int rc)
{
	if (rc == DB_GONE || rc == DB_RETRY) {
		log_error("database unavailable (%d): %s", rc, db_error(rs->db));
		http_send_error(r, 503, "unavailable",
		    "the service is temporarily unavailable; retry shortly");
	} else {
		log_error("database error (%d): %s", rc, db_error(rs->db));
		http_send_error(r, 500, "internal", "internal server error");
	}
	return 0;
}

/* See responder.h. */
int
responder_answer(struct responder *rs, struct http_req *r, int rc,
    cJSON *obj, const struct responder_refusal *refusals, size_t n)
{
	size_t	 i;
	int	 ret;

	if (rc == DB_OK)
		ret = http_send_json(r, 200, obj);
	else {
		for (i = 0; i < n && refusals[i].rc != rc; i++)
			continue;
		if (i < n)
			ret = http_send_error(r, refusals[i].status,
			    refusals[i].code, "%s", refusals[i].msg);
		else
			ret = responder_db_error(rs, r, rc);
	}
	cJSON_Delete(obj);
	return ret;
}

/* --- the request ------------------------------------------------------ */

/*
 * Steps 2-7 of responder.h. Authentication is split around the body: the
 * headers and the key are checked before it is read (no body is read for a
 * request that can never pass), the signature after.
 */
void
responder_handle(struct responder *rs, struct http_req *r)
{
	const struct route	*rt;
	size_t			 limit;
	unsigned		 allow;
	int			 status;

	auth_reset(rs, r);
	rs->idem_id = 0;
	if (!r->https && !rs->conf.auth_allow_http) {
		http_send_error(r, 403, "not_https",
		    "this API is served over HTTPS only");
		return;
	}

	if ((rt = route_match(rs->routes, rs->nroutes, r, &status,
	    &allow)) == NULL) {
		if (status == 405) {
			http_add_header(r, "Allow", http_methods_str(allow));
			http_send_error(r, 405, "method_not_allowed",
			    "this method is not allowed on this endpoint");
		} else
			http_send_error(r, 404, "not_found", "no such endpoint");
		return;
	}

	/* Decided from CONTENT_LENGTH alone: nothing of the body is read. */
	limit = rt->max_body != 0 ? rt->max_body : rs->conf.http_max_body;
	if (r->content_length > limit) {
		http_send_error(r, 413, "payload_too_large",
		    "the request body is larger than %zu bytes", limit);
		return;
	}

	if (rt->needs_auth && auth_begin(rs, r) == -1)
		return;
	/*
	 * DESIGN "Authentication": GET, HEAD and DELETE carry no body, so no
	 * signature made for a request with one can be turned into one of
	 * these (and nothing a body says is silently ignored). Decided from
	 * CONTENT_LENGTH, after the auth headers (a request that can never
	 * pass stays 401) and before reading.
	 */
	if ((r->method & (HTTP_GET | HTTP_HEAD | HTTP_DELETE)) != 0 &&
	    r->content_length > 0) {
		auth_reset(rs, r);
		http_send_error(r, 400, "body_not_allowed",
		    "a GET, HEAD or DELETE request carries no body");
		return;
	}
	/* idem.h: only a signed POST has an account to key the record on. */
	if (rt->needs_auth && r->method == HTTP_POST &&
	    r->h_idempotency_key != NULL) {
		if (idem_key_check(r->h_idempotency_key) == -1) {
			auth_reset(rs, r);
			http_send_error(r, 400, "invalid_idempotency_key",
			    "Idempotency-Key must be 1 to %d printable ASCII "
			    "characters without spaces", IDEM_KEY_MAX);
			return;
		}
		if (idem_hash_begin(&r->body_sha, r->method_str,
		    r->uri) == -1) {
			log_error("cannot start the request hash");
			auth_reset(rs, r);
			http_send_error(r, 500, "internal",
			    "internal server error");
			return;
		}
	}
	if (!rt->stream_body) {
		if (http_read_body(r) == -1) {
			log_warn("request body shorter than its Content-Length");
			auth_reset(rs, r);
			http_send_error(r, 400, "bad_request",
			    "the request body is shorter than its Content-Length");
			return;
		}
		if (responder_verify(rs, r) == -1)
			return;
	}

	if (rt->handler(rs, r) == -1)
		log_warn("handler: I/O failure while answering");
	if (rs->auth_pending) {
		/* A streaming handler that never verified: a bug. */
		log_error("handler of %s did not verify the signature",
		    rt->pattern);
		auth_reset(rs, r);
		if (!r->headers_sent)
			http_send_error(r, 500, "internal",
			    "internal server error");
	}
	if (!r->headers_sent) {
		if (r->status == 0) {
			log_error("handler of %s sent no answer", rt->pattern);
			http_send_error(r, 500, "internal",
			    "internal server error");
		} else
			http_finish(r);
	}
	idem_finish(rs, r);
}

/* Milliseconds from a to b. */
static long long
elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return (long long)(b->tv_sec - a->tv_sec) * 1000 +
	    (b->tv_nsec - a->tv_nsec) / 1000000;
}

/*
 * Serve one request from envp through io, then log its access line:
 * method, path (never the query), status, body bytes, duration, account.
 * Everything the request allocated is freed here.
 */
static void
serve(struct responder *rs, char **envp, const struct http_io *io, int drain)
{
	struct http_req	 r;
	struct timespec	 t0, t1;
	char		 acct[32];
	int		 rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = http_parse(&r, envp, rs->conf.http_base_path);
	r.io = *io;
	log_set_request_id(r.request_id);
	switch (rc) {
	case 0:
		responder_handle(rs, &r);
		break;
	case 414:
		http_send_error(&r, 414, "uri_too_long",
		    "the request URI is too long");
		break;
	case 431:
		http_send_error(&r, 431, "header_too_large",
		    "a request header is too large");
		break;
	default:
		http_send_error(&r, 400, "bad_request", "malformed request");
		break;
	}
	http_finish(&r);
	/*
	 * NOTE: under Apache mod_cgid a CGI's stdin is the socket Apache reads
	 * the answer from: exiting with body bytes unread resets it and the
	 * answer is lost. Plain CGI therefore drains what is left of the body
	 * (an answer sent before reading, such as 413), up to a bound past
	 * which the client is not worth waiting for. FastCGI needs none of
	 * this: FCGX_Finish_r() discards the rest of the stream.
	 */
	if (drain && rc == 0) {
		char	 buf[16384];
		unsigned long long left = CGI_DRAIN_MAX;

		while (r.body_read < r.content_length && left > 0) {
			ssize_t n = http_read(&r, buf, sizeof(buf));

			if (n <= 0)
				break;
			left = (unsigned long long)n >= left ? 0 :
			    left - (unsigned long long)n;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r.account_id > 0)
		snprintf(acct, sizeof(acct), "%lld", r.account_id);
	else
		snprintf(acct, sizeof(acct), "-");
	log_info("%s %s %d %llu bytes %lld ms account=%s",
	    r.method_str == NULL ? "-" : r.method_str,
	    r.path == NULL ? "-" : r.path, r.status, r.bytes_sent,
	    elapsed_ms(&t0, &t1), acct);
	log_set_request_id(NULL);
	auth_reset(rs, &r);
	http_req_free(&r);
}

/*
 * The configuration could not be loaded: as CGI the one request still gets
 * a JSON 500, so the client sees the usual error shape.
 */
static void
serve_unconfigured(char **envp, const struct http_io *io)
{
	struct http_req	 r;

	http_parse(&r, envp, NULL);
	r.io = *io;
	log_set_request_id(r.request_id);
	http_send_error(&r, 500, "internal", "internal server error");
	log_set_request_id(NULL);
	http_req_free(&r);
}

static void
usage(FILE *f, const char *name)
{
	fprintf(f, "usage: %s [-c CONFIG]\n"
	    "Singularity API responder, run by the web server as FastCGI or CGI.\n"
	    "  -c, --config FILE  configuration file (default $SINGULARITY_CONF,\n"
	    "                     else %s)\n"
	    "  -h, --help         this text\n"
	    "  -V, --version      print the version\n",
	    name, conf_default_path());
}

/* See responder.h. */
int
responder_main(const char *name, const struct route *routes, size_t nroutes,
    int argc, char **argv)
{
	return responder_main_conf(name, routes, nroutes, NULL, argc, argv);
}

/* See responder.h. */
int
responder_main_conf(const char *name, const struct route *routes,
    size_t nroutes, void (*configured)(const struct conf *), int argc,
    char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 },
	};
	static const struct http_io cgi_io = { cgi_read, cgi_write, NULL };
	struct responder	 rs;
	struct http_io		 io;
	FCGX_Request		 req;
	const char		*cfg = NULL;
	char			 err[512];
	int			 ch, cgi, conf_loaded = 0, req_init = 0, ret = 1;

	memset(&rs, 0, sizeof(rs));
	rs.name = name;
	rs.routes = routes;
	rs.nroutes = nroutes;

	while ((ch = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfg = optarg;
			break;
		case 'h':
			usage(stdout, name);
			return 0;
		case 'V':
			printf("%s (singularity) %s\n", name, ST_VERSION);
			return 0;
		default:
			usage(stderr, name);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr, name);
		return 2;
	}

	/* A client gone mid-answer must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	log_init(name, NULL, CONF_LOG_INFO);
	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		goto out;
	}
	cgi = FCGX_IsCGI();

	if (conf_load(cfg, &rs.conf, err, sizeof(err)) == -1) {
		log_error("%s", err);
		if (cgi)
			serve_unconfigured(environ, &cgi_io);
		goto out;
	}
	conf_loaded = 1;
	log_init(name, rs.conf.log_file, rs.conf.log_level);
	if (configured != NULL)
		configured(&rs.conf);
	if ((rs.db = db_new(&rs.conf)) == NULL) {
		log_error("cannot allocate the database handle");
		goto out;
	}

	if (cgi) {
		serve(&rs, environ, &cgi_io, 1);
		ret = 0;
		goto out;
	}
	if (FCGX_InitRequest(&req, 0, 0) != 0) {
		log_error("FCGX_InitRequest failed");
		goto out;
	}
	req_init = 1;
	while (FCGX_Accept_r(&req) >= 0) {
		io.read = fcgi_read;
		io.write = fcgi_write;
		io.arg = &req;
		serve(&rs, req.envp, &io, 0);
		FCGX_Finish_r(&req);
	}
	ret = 0;
out:
	if (req_init)
		FCGX_Free(&req, 1);
	db_free(rs.db);
	if (conf_loaded)
		conf_free(&rs.conf);
	explicit_bzero(rs.seal_key, sizeof(rs.seal_key));
	return ret;
}

/*
 * auth.h: the request signature scheme of the API contract (DESIGN,
 * "Authentication"), free of any I/O so that it can be unit tested and fuzzed.
 *
 * Two forms of the string to sign, told apart by X-singularity-timestamp:
 *
 *   original (no timestamp header):
 *     METHOD "\n" ENDPOINT "\n" BODY
 *   v2 (with X-singularity-timestamp: TIMESTAMP):
 *     "ST2-HMAC-SHA512" "\n" TIMESTAMP "\n" METHOD "\n" ENDPOINT "\n"
 *     lowercase hex(SHA-256(BODY))
 *
 *   signature = hex(HMAC-SHA512(secret, string to sign))
 *
 * ENDPOINT is REQUEST_URI as sent (path, and "?query" when there is one).
 * The secret is used as the bytes of its printable form.
 *
 * Why v2 looks like this: the body is bound by its fixed-length hash, so
 * no byte can move between the body and the other fields (the original
 * form with a timestamp line appended let a timestamp be dropped from the
 * header and appended to the body, issue 13); and a v2 text starts with
 * "ST2-HMAC-SHA512", never a method, so it can never equal an original one.
 */
#ifndef ST_AUTH_H
#define ST_AUTH_H

#include <stddef.h>
#include <time.h>

#define AUTH_DIGEST_LEN		64	/* SHA-512 */
#define AUTH_HEX_LEN		128
#define AUTH_KEY_HEX_LEN	32	/* API key: 16 random bytes, lowercase hex */
#define AUTH_SECRET_HEX_LEN	64	/* API secret: 32 random bytes, lowercase hex */

#define AUTH_V2_TAG		"ST2-HMAC-SHA512"
#define AUTH_BODY_HASH_HEX_LEN	64	/* SHA-256 of the body, v2 */

/* Incremental HMAC over the string to sign; opaque. */
struct auth_hmac;

/*
 * Start the HMAC of a request. timestamp NULL: the original form (feeds
 * METHOD "\n" ENDPOINT "\n", the body bytes follow as they are); else the
 * v2 form (feeds AUTH_V2_TAG "\n" TIMESTAMP "\n" METHOD "\n" ENDPOINT "\n";
 * the body bytes go to a SHA-256 whose lowercase hex auth_hmac_final()
 * feeds). The timestamp is signed as given: checking it is
 * auth_check_timestamp()'s job. Returns NULL on allocation or OpenSSL
 * failure, or for an empty secret. Free with auth_hmac_free().
 */
struct auth_hmac *auth_hmac_begin(const void *secret, size_t secretlen,
		    const char *method, const char *endpoint,
		    const char *timestamp);

/* Feed body bytes (any number of calls). Returns 0 or -1. */
int		 auth_hmac_update(struct auth_hmac *h, const void *p, size_t n);

/*
 * Finish the string to sign (v2: the body's hash) and write the digest.
 * Returns 0 or -1. The context cannot be used afterwards except to free.
 */
int		 auth_hmac_final(struct auth_hmac *h,
		    unsigned char out[AUTH_DIGEST_LEN]);

void		 auth_hmac_free(struct auth_hmac *h);

/*
 * One-shot signature as 128 lowercase hex chars plus NUL in out: the v2
 * form when timestamp is not NULL, else the original one. Returns 0 or -1.
 */
int		 auth_sign_hex(const void *secret, size_t secretlen,
		    const char *method, const char *endpoint,
		    const void *body, size_t bodylen, const char *timestamp,
		    char out[AUTH_HEX_LEN + 1]);

/*
 * The whole string to sign of a request (the form chosen as for
 * auth_hmac_begin()), in a new buffer of *len bytes plus a NUL, which the
 * caller frees; NULL on failure. The responders never build it (they
 * stream the body through auth_hmac_*); it is the reference the unit
 * tests and the fuzzer hold the incremental HMAC to, and what a client
 * author can print to compare with their own.
 */
char		*auth_string_to_sign(const char *method, const char *endpoint,
		    const void *body, size_t bodylen, const char *timestamp,
		    size_t *len);

/*
 * Decode a signature header value: exactly 128 hex digits, either case.
 * Returns 0, or -1 for any other length or byte.
 */
int		 auth_parse_signature(const char *hex, size_t len,
		    unsigned char out[AUTH_DIGEST_LEN]);

/*
 * Check a timestamp header value: 1..20 decimal digits, |ts - now| <= window.
 * Returns 0 when acceptable, -1 otherwise.
 */
int		 auth_check_timestamp(const char *ts, time_t now, unsigned window);

/*
 * Check an API key header value: exactly AUTH_KEY_HEX_LEN lowercase hex
 * digits. Returns 0 or -1 (a malformed key is never looked up).
 */
int		 auth_check_key_syntax(const char *key, size_t len);

/*
 * Plain HMAC-SHA512(key, msg) into out, nothing of the string to sign added
 * (the RFC 4231 test vectors are checked through it). keylen must be > 0.
 * Returns 0 or -1.
 */
int		 auth_hmac_raw(const void *key, size_t keylen,
		    const void *msg, size_t msglen,
		    unsigned char out[AUTH_DIGEST_LEN]);

/* Constant-time equality of two digests: 1 equal, 0 not. */
int		 auth_digest_equal(const unsigned char a[AUTH_DIGEST_LEN],
		    const unsigned char b[AUTH_DIGEST_LEN]);

/*
 * New credentials from the OS CSPRNG: key AUTH_KEY_HEX_LEN hex chars and
 * secret AUTH_SECRET_HEX_LEN hex chars, NUL-terminated. Returns 0 or -1.
 */
int		 auth_new_credentials(char key[AUTH_KEY_HEX_LEN + 1],
		    char secret[AUTH_SECRET_HEX_LEN + 1]);

#endif

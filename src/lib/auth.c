/*
 * auth.c: the request signature scheme (DESIGN, "Authentication"): the
 * original and v2 strings to sign, HMAC-SHA512 through OpenSSL 3 EVP_MAC
 * and the body's SHA-256 through EVP_Digest, no I/O.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "auth.h"
#include "util.h"

#define TIMESTAMP_MAX_DIGITS	20	/* UINT64_MAX has 20 digits */

struct auth_hmac {
	EVP_MAC_CTX	*ctx;
	EVP_MD_CTX	*body_sha;	/* v2: SHA-256 of the body; NULL: original */
	int		 done;		/* final has run: refuse more input */
};

/*
 * A new HMAC-SHA512 context keyed with key. Returns NULL on failure; the
 * caller frees with EVP_MAC_CTX_free().
 * NOTE: EVP_MAC_init() treats a NULL key as "keep the previous key", so an
 * empty key is refused rather than silently meaning something else.
 * NOTE: fetching HMAC and SHA-512 by name costs more than the HMAC of a
 * request; a template context with the digest set is made once per process
 * and duplicated (its key is never used: every copy is keyed anew).
 */
static EVP_MAC_CTX *
hmac_new(const void *key, size_t keylen)
{
	static EVP_MAC_CTX	*tmpl;
	static const unsigned char none[1];
	EVP_MAC			*mac = NULL;
	EVP_MAC_CTX		*ctx = NULL;
	OSSL_PARAM		 params[2];

	if (key == NULL || keylen == 0)
		return NULL;
	if (tmpl == NULL) {
		if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
		    (ctx = EVP_MAC_CTX_new(mac)) == NULL)
			goto err;
		params[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_MAC_PARAM_DIGEST, (char *)"SHA512", 0);
		params[1] = OSSL_PARAM_construct_end();
		if (!EVP_MAC_init(ctx, none, sizeof(none), params))
			goto err;
		EVP_MAC_free(mac);
		mac = NULL;
		tmpl = ctx;
		ctx = NULL;
	}
	if ((ctx = EVP_MAC_CTX_dup(tmpl)) == NULL ||
	    !EVP_MAC_init(ctx, key, keylen, NULL))
		goto err;
	return ctx;
err:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return NULL;
}

/*
 * Write the digest of ctx into out; 0, or -1 unless exactly
 * AUTH_DIGEST_LEN bytes came out.
 */
static int
hmac_finish(EVP_MAC_CTX *ctx, unsigned char out[AUTH_DIGEST_LEN])
{
	size_t	 outl = 0;

	if (!EVP_MAC_final(ctx, out, &outl, AUTH_DIGEST_LEN) ||
	    outl != AUTH_DIGEST_LEN)
		return -1;
	return 0;
}

/*
 * Plain HMAC-SHA512(key, msg) into out, with nothing of the string to sign
 * added: the RFC 4231 test vectors are checked through this. Returns 0 or -1.
 */
int
auth_hmac_raw(const void *key, size_t keylen, const void *msg, size_t msglen,
    unsigned char out[AUTH_DIGEST_LEN])
{
	EVP_MAC_CTX	*ctx = NULL;
	int		 rc = -1;

	if ((ctx = hmac_new(key, keylen)) == NULL)
		goto out;
	if (msglen > 0 && !EVP_MAC_update(ctx, msg, msglen))
		goto out;
	rc = hmac_finish(ctx, out);
out:
	EVP_MAC_CTX_free(ctx);
	return rc;
}

/* Feed the NUL-terminated s, then "\n", to ctx. Returns 1 or 0. */
static int
mac_line(EVP_MAC_CTX *ctx, const char *s)
{
	return EVP_MAC_update(ctx, (const unsigned char *)s, strlen(s)) &&
	    EVP_MAC_update(ctx, (const unsigned char *)"\n", 1);
}

/*
 * Start the string to sign: the v2 head AUTH_V2_TAG "\n" TIMESTAMP "\n"
 * when timestamp is not NULL (and a SHA-256 for the body), then METHOD
 * "\n" ENDPOINT "\n". Returns a context the caller frees with
 * auth_hmac_free(), or NULL.
 */
struct auth_hmac *
auth_hmac_begin(const void *secret, size_t secretlen, const char *method,
    const char *endpoint, const char *timestamp)
{
	struct auth_hmac	*h = NULL;

	if (method == NULL || endpoint == NULL)
		goto err;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		goto err;
	if ((h->ctx = hmac_new(secret, secretlen)) == NULL)
		goto err;
	if (timestamp != NULL) {
		if ((h->body_sha = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestInit_ex(h->body_sha, EVP_sha256(), NULL) != 1)
			goto err;
		if (!mac_line(h->ctx, AUTH_V2_TAG) ||
		    !mac_line(h->ctx, timestamp))
			goto err;
	}
	if (!mac_line(h->ctx, method) || !mac_line(h->ctx, endpoint))
		goto err;
	return h;
err:
	auth_hmac_free(h);
	return NULL;
}

/*
 * Feed n body bytes: to the HMAC itself (original form) or to the body's
 * SHA-256 (v2). Returns 0, or -1 after final or on OpenSSL failure.
 */
int
auth_hmac_update(struct auth_hmac *h, const void *p, size_t n)
{
	if (h == NULL || h->done)
		return -1;
	if (n == 0)
		return 0;
	if (h->body_sha != NULL)
		return EVP_DigestUpdate(h->body_sha, p, n) == 1 ? 0 : -1;
	return EVP_MAC_update(h->ctx, p, n) ? 0 : -1;
}

/*
 * v2: feed the lowercase hex of the body's SHA-256; then write the digest.
 * Returns 0 or -1; either way the context is spent.
 */
int
auth_hmac_final(struct auth_hmac *h, unsigned char out[AUTH_DIGEST_LEN])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	char		 hex[AUTH_BODY_HASH_HEX_LEN + 1];
	unsigned int	 mdlen = 0;

	if (h == NULL || h->done)
		return -1;
	h->done = 1;
	if (h->body_sha != NULL) {
		if (EVP_DigestFinal_ex(h->body_sha, md, &mdlen) != 1 ||
		    mdlen != AUTH_BODY_HASH_HEX_LEN / 2)
			return -1;
		util_hex(md, mdlen, hex);
		if (!EVP_MAC_update(h->ctx, (const unsigned char *)hex,
		    AUTH_BODY_HASH_HEX_LEN))
			return -1;
	}
	return hmac_finish(h->ctx, out);
}

/* Free a context from auth_hmac_begin(); NULL is a no-op. */
void
auth_hmac_free(struct auth_hmac *h)
{
	if (h == NULL)
		return;
	EVP_MAC_CTX_free(h->ctx);
	EVP_MD_CTX_free(h->body_sha);
	free(h);
}

/*
 * The signature of a whole request as lowercase hex in out.
 * Returns 0, or -1 with out "".
 */
int
auth_sign_hex(const void *secret, size_t secretlen, const char *method,
    const char *endpoint, const void *body, size_t bodylen,
    const char *timestamp, char out[AUTH_HEX_LEN + 1])
{
	struct auth_hmac	*h = NULL;
	unsigned char		 md[AUTH_DIGEST_LEN];
	int			 rc = -1;

	out[0] = '\0';
	if ((h = auth_hmac_begin(secret, secretlen, method, endpoint,
	    timestamp)) == NULL)
		goto out;
	if (auth_hmac_update(h, body, bodylen) == -1)
		goto out;
	if (auth_hmac_final(h, md) == -1)
		goto out;
	util_hex(md, sizeof(md), out);
	rc = 0;
out:
	OPENSSL_cleanse(md, sizeof(md));
	auth_hmac_free(h);
	return rc;
}

/*
 * Built in one piece from the contract's definition (see auth.h), without
 * the incremental code above, so that each checks the other.
 */
char *
auth_string_to_sign(const char *method, const char *endpoint,
    const void *body, size_t bodylen, const char *timestamp, size_t *len)
{
	unsigned char	 md[32];
	char		 hex[AUTH_BODY_HASH_HEX_LEN + 1], *s = NULL;
	size_t		 head, n;

	*len = 0;
	if (method == NULL || endpoint == NULL || (body == NULL && bodylen > 0))
		return NULL;
	if (timestamp == NULL) {
		head = strlen(method) + strlen(endpoint) + 2;
		if (bodylen > SIZE_MAX - head - 1 ||
		    (s = malloc(head + bodylen + 1)) == NULL)
			return NULL;
		n = (size_t)snprintf(s, head + 1, "%s\n%s\n", method, endpoint);
		if (bodylen > 0)
			memcpy(s + n, body, bodylen);
		n += bodylen;
		s[n] = '\0';
	} else {
		if (EVP_Digest(body == NULL ? "" : body, bodylen, md, NULL,
		    EVP_sha256(), NULL) != 1)
			return NULL;
		util_hex(md, sizeof(md), hex);
		n = strlen(AUTH_V2_TAG) + strlen(timestamp) + strlen(method) +
		    strlen(endpoint) + 4 + AUTH_BODY_HASH_HEX_LEN;
		if ((s = malloc(n + 1)) == NULL)
			return NULL;
		snprintf(s, n + 1, "%s\n%s\n%s\n%s\n%s", AUTH_V2_TAG,
		    timestamp, method, endpoint, hex);
	}
	*len = n;
	return s;
}

/*
 * Exactly AUTH_HEX_LEN hex digits of either case (clients differ) into
 * AUTH_DIGEST_LEN bytes. Reads no more than len bytes of hex.
 */
int
auth_parse_signature(const char *hex, size_t len,
    unsigned char out[AUTH_DIGEST_LEN])
{
	size_t	 i;
	int	 hi, lo;

	if (hex == NULL || len != AUTH_HEX_LEN)
		return -1;
	for (i = 0; i < AUTH_DIGEST_LEN; i++) {
		hi = OPENSSL_hexchar2int((unsigned char)hex[2 * i]);
		lo = OPENSSL_hexchar2int((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(out, AUTH_DIGEST_LEN);
			return -1;
		}
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/*
 * The timestamp header: 1 to 20 ASCII digits (no sign, no space), a value
 * that fits in 64 bits, and no further than window seconds from now in
 * either direction. The distance is taken in unsigned arithmetic on the
 * larger minus the smaller, so no value can wrap around.
 */
int
auth_check_timestamp(const char *ts, time_t now, unsigned window)
{
	unsigned long long	 v, n, dist;
	size_t			 len;

	if (ts == NULL || now < 0)
		return -1;
	len = strnlen(ts, TIMESTAMP_MAX_DIGITS + 1);
	if (len == 0 || len > TIMESTAMP_MAX_DIGITS)
		return -1;
	if (util_parse_u64(ts, ULLONG_MAX, &v) == -1)
		return -1;
	n = (unsigned long long)now;
	dist = v > n ? v - n : n - v;
	return dist <= window ? 0 : -1;
}

/* Exactly AUTH_KEY_HEX_LEN lowercase hex digits. */
int
auth_check_key_syntax(const char *key, size_t len)
{
	size_t	 i;

	if (key == NULL || len != AUTH_KEY_HEX_LEN)
		return -1;
	for (i = 0; i < len; i++)
		if (!((key[i] >= '0' && key[i] <= '9') ||
		    (key[i] >= 'a' && key[i] <= 'f')))
			return -1;
	return 0;
}

/* Constant-time comparison of two digests: 1 equal, 0 not. */
int
auth_digest_equal(const unsigned char a[AUTH_DIGEST_LEN],
    const unsigned char b[AUTH_DIGEST_LEN])
{
	return CRYPTO_memcmp(a, b, AUTH_DIGEST_LEN) == 0;
}

/*
 * A new API key (16 random bytes) and secret (32 random bytes) as
 * lowercase hex. Returns 0, or -1 with both outputs "".
 */
int
auth_new_credentials(char key[AUTH_KEY_HEX_LEN + 1],
    char secret[AUTH_SECRET_HEX_LEN + 1])
{
	unsigned char	 k[AUTH_KEY_HEX_LEN / 2], s[AUTH_SECRET_HEX_LEN / 2];
	int		 rc = -1;

	key[0] = secret[0] = '\0';
	if (RAND_bytes(k, sizeof(k)) != 1 || RAND_bytes(s, sizeof(s)) != 1)
		goto out;
	util_hex(k, sizeof(k), key);
	util_hex(s, sizeof(s), secret);
	rc = 0;
out:
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(s, sizeof(s));
	return rc;
}

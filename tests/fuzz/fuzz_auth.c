/*
 * fuzz_auth.c: libFuzzer target for the authentication headers and the
 * strings to sign.
 *
 * The input is split at '\n' into a signature header value, a timestamp,
 * an API key, and the body (the rest). The header checks must agree with
 * their definitions; in both forms (the original, and v2 with the
 * timestamp), the incremental HMAC fed in uneven pieces must equal the
 * one-shot signature and the plain HMAC of auth_string_to_sign(), whose
 * text must have the shape DESIGN gives it; and the two forms of the same
 * request never sign alike.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Next '\n'-terminated part of [*p, end) as a new NUL-terminated string. */
static char *
part(const uint8_t **p, const uint8_t *end, size_t *len)
{
	const uint8_t	*nl;
	char		*s;

	nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL)
		nl = end;
	*len = (size_t)(nl - *p);
	if ((s = malloc(*len + 1)) == NULL)
		abort();
	memcpy(s, *p, *len);
	s[*len] = '\0';
	*p = nl < end ? nl + 1 : end;
	return s;
}

static int
all_of(const char *s, size_t n, const char *set)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return 0;
	return 1;
}

/*
 * Check the text of one form: the original is METHOD "\n" s "\n" BODY;
 * v2 is the tag, the timestamp, METHOD, s and 64 lowercase hex digits,
 * "\n" between them. Traps otherwise.
 */
static void
check_text(const char *text, size_t len, const char *s, const char *ts,
    const uint8_t *body, size_t bodylen)
{
	size_t	 head;

	if (ts == NULL) {
		head = strlen("POST\n") + strlen(s) + 1;
		if (len != head + bodylen || memcmp(text, "POST\n", 5) != 0 ||
		    memcmp(text + 5, s, strlen(s)) != 0 || text[head - 1] !=
		    '\n' || (bodylen > 0 && memcmp(text + head, body,
		    bodylen) != 0))
			__builtin_trap();
		return;
	}
	head = strlen(AUTH_V2_TAG "\n") + strlen(ts) + strlen("\nPOST\n") +
	    strlen(s) + 1;
	if (len != head + AUTH_BODY_HASH_HEX_LEN ||
	    memcmp(text, AUTH_V2_TAG "\n", strlen(AUTH_V2_TAG) + 1) != 0 ||
	    text[head - 1] != '\n' ||
	    !all_of(text + head, AUTH_BODY_HASH_HEX_LEN, "0123456789abcdef"))
		__builtin_trap();
}

/*
 * The HMAC of one request in both forms, three ways each (incremental,
 * one-shot, plain HMAC of the text), all equal; the forms differ. Returns
 * 0, or -1 when the secret is refused (by every way, or it traps).
 */
static int
sign_forms(const char *key, size_t klen, const char *s, const char *ts,
    const uint8_t *body, size_t bodylen,
    const unsigned char sig[AUTH_DIGEST_LEN], int sig_ok)
{
	unsigned char		 d1[AUTH_DIGEST_LEN], d2[AUTH_DIGEST_LEN];
	unsigned char		 d3[AUTH_DIGEST_LEN], v1[AUTH_DIGEST_LEN];
	char			 hex[AUTH_HEX_LEN + 1], *text;
	const char		*form;
	struct auth_hmac	*h;
	size_t			 off, step, len, f;

	for (f = 0; f < 2; f++) {
		/* A timestamp is any C string here: the text holds it as is. */
		form = f == 0 ? NULL : ts;
		if ((h = auth_hmac_begin(key, klen, "POST", s, form)) == NULL) {
			if (klen != 0 || auth_sign_hex(key, klen, "POST", s,
			    body, bodylen, form, hex) != -1)
				__builtin_trap();
			return -1;
		}
		step = 1 + (bodylen % 13);
		for (off = 0; off < bodylen; off += step)
			if (auth_hmac_update(h, body + off,
			    bodylen - off < step ? bodylen - off : step) == -1)
				abort();
		if (auth_hmac_final(h, d1) == -1)
			abort();
		auth_hmac_free(h);
		if (auth_sign_hex(key, klen, "POST", s, body, bodylen, form,
		    hex) == -1)
			abort();
		if (auth_parse_signature(hex, AUTH_HEX_LEN, d2) == -1 ||
		    !auth_digest_equal(d1, d2))
			__builtin_trap();
		if ((text = auth_string_to_sign("POST", s, body, bodylen, form,
		    &len)) == NULL)
			abort();
		check_text(text, len, s, form, body, bodylen);
		if (auth_hmac_raw(key, klen, text, len, d3) == -1)
			abort();
		free(text);
		if (!auth_digest_equal(d1, d3))
			__builtin_trap();
		if (sig_ok && auth_digest_equal(sig, d1) != (memcmp(sig, d1,
		    sizeof(d1)) == 0))
			__builtin_trap();
		if (f == 0)
			memcpy(v1, d1, sizeof(v1));
		else if (auth_digest_equal(v1, d1))
			__builtin_trap();	/* v2 never signs as the original */
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t		*p = data, *end = data + size, *body;
	unsigned char		 sig[AUTH_DIGEST_LEN];
	char			*s, *ts, *key;
	const time_t		 now = 1700000000;
	size_t			 slen, tslen, klen, bodylen;
	int			 sig_ok;

	s = part(&p, end, &slen);
	ts = part(&p, end, &tslen);
	key = part(&p, end, &klen);
	body = p;
	bodylen = (size_t)(end - p);

	/* The signature: exactly 128 hex digits, either case. */
	sig_ok = auth_parse_signature(s, slen, sig) == 0;
	if (sig_ok != (slen == AUTH_HEX_LEN &&
	    all_of(s, slen, "0123456789abcdefABCDEF")))
		__builtin_trap();

	/* The timestamp: 1..20 digits within the window (a C string). */
	tslen = strlen(ts);
	if (auth_check_timestamp(ts, now, 300) == 0 &&
	    (tslen == 0 || tslen > 20 || !all_of(ts, tslen, "0123456789")))
		__builtin_trap();
	(void)auth_check_timestamp(ts, now, 0);

	/* The key: exactly 32 lowercase hex digits. */
	if ((auth_check_key_syntax(key, klen) == 0) !=
	    (klen == AUTH_KEY_HEX_LEN && all_of(key, klen, "0123456789abcdef")))
		__builtin_trap();

	/*
	 * Incremental HMAC (key as secret, s as endpoint) against one-shot
	 * and against the HMAC of the whole text, in both forms. An empty
	 * secret is refused by all.
	 */
	(void)sign_forms(key, klen, s, ts, body, bodylen, sig, sig_ok);
	free(s);
	free(ts);
	free(key);
	return 0;
}

/*
 * fuzz_auth.c: libFuzzer target for the authentication headers.
 *
 * The input is split at '\n' into a signature header value, a timestamp,
 * an API key, and the body (the rest). The header checks must agree with
 * their definitions, and the incremental HMAC fed in uneven pieces must
 * equal the one-shot signature over the same string to sign.
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t		*p = data, *end = data + size, *body;
	unsigned char		 sig[AUTH_DIGEST_LEN], d1[AUTH_DIGEST_LEN];
	unsigned char		 d2[AUTH_DIGEST_LEN];
	char			 hex[AUTH_HEX_LEN + 1];
	char			*s, *ts, *key;
	struct auth_hmac	*h;
	const time_t		 now = 1700000000;
	size_t			 slen, tslen, klen, bodylen, off, step;
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
	 * Incremental HMAC (key as secret, s as endpoint) against one-shot.
	 * An empty secret is refused by both.
	 */
	if ((h = auth_hmac_begin(key, klen, "POST", s)) == NULL) {
		if (klen != 0 || auth_sign_hex(key, klen, "POST", s, body,
		    bodylen, NULL, hex) != -1)
			__builtin_trap();
		goto out;
	}
	step = 1 + (bodylen % 13);
	for (off = 0; off < bodylen; off += step)
		if (auth_hmac_update(h, body + off,
		    bodylen - off < step ? bodylen - off : step) == -1)
			abort();
	if (auth_hmac_final(h, tslen > 0 ? ts : NULL, d1) == -1)
		abort();
	auth_hmac_free(h);
	if (auth_sign_hex(key, klen, "POST", s, body, bodylen,
	    tslen > 0 ? ts : NULL, hex) == -1)
		abort();
	if (auth_parse_signature(hex, AUTH_HEX_LEN, d2) == -1 ||
	    !auth_digest_equal(d1, d2))
		__builtin_trap();
	if (sig_ok && auth_digest_equal(sig, d1) != (memcmp(sig, d1,
	    sizeof(d1)) == 0))
		__builtin_trap();
out:
	free(s);
	free(ts);
	free(key);
	return 0;
}

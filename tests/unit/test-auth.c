/*
 * test-auth.c: the request signature scheme (src/lib/auth.c).
 *
 * HMAC-SHA512 against RFC 4231; the original and the v2 strings to sign,
 * and the replay id of a signature, against digests made with the openssl
 * command; the syntax checks of every auth header.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "auth.h"
#include "replay.h"
#include "util.h"

/*
 * The secret of the fixed signatures below, used as its text, and what
 * the openssl command printed for it:
 *
 * SIG_GET_ACCOUNT, the original form:
 *   printf 'GET\n/account\n' | openssl dgst -sha512 -hmac "$SECRET"
 * SIG_POST_BATCH_V1_RELOCATED, the original form of a body that ends in
 * "\n" and a timestamp (what the first scheme signed for a timestamped
 * POST: the hole of issue 13):
 *   printf 'POST\n/batch?x=1\n{"a":1}\n1700000000' | openssl dgst ...
 * SIG_POST_BATCH_V2, the v2 form (BODY_SHA_A1 = SHA-256 of {"a":1}):
 *   printf '{"a":1}' | openssl dgst -sha256        # BODY_SHA_A1
 *   printf 'ST2-HMAC-SHA512\n1700000000\nPOST\n/batch?x=1\n%s' \
 *       "$BODY_SHA_A1" | openssl dgst -sha512 -hmac "$SECRET"
 * SIG_GET_ACCOUNT_V2, the v2 form of an empty body (BODY_SHA_EMPTY):
 *   printf '' | openssl dgst -sha256                # BODY_SHA_EMPTY
 *   printf 'ST2-HMAC-SHA512\n1700000000\nGET\n/account\n%s' \
 *       "$BODY_SHA_EMPTY" | openssl dgst -sha512 -hmac "$SECRET"
 * REPLAY_ID_POST_BATCH_V2, the replay id of SIG_POST_BATCH_V2:
 *   printf "$(printf %s "$SIG_POST_BATCH_V2" | sed 's/../\\x&/g')" |
 *       openssl dgst -sha256
 */
#define SECRET \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SIG_GET_ACCOUNT \
	"eaf619111bb0793ba999431475979345ed9c8804a8523a2c5cf46863b11aa28c" \
	"a7772e635dd38fbe8c2f5cd3e12ab654531807e4ab97a9350d0b092c14833f79"
#define SIG_POST_BATCH_V1_RELOCATED \
	"dec7cacf715637798546bd8fb70528d5e024b59c0603937a6c8828bb6f5e18db" \
	"5a6577f117a902c2798144c1631835700ad49e17599e9df6ceb2aad116900170"
#define BODY_SHA_A1 \
	"015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
#define BODY_SHA_EMPTY \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIG_POST_BATCH_V2 \
	"70f8fbbc0eabc05a5a079b060a8882e01173331fff0ffd87c5ed8114a574d321" \
	"2bf748ab41e3d626c34fd6f389df205a43f94169f92b2d1ae74aaaf22429e5a3"
#define SIG_GET_ACCOUNT_V2 \
	"473ebeac369bc09c1911403fe2d06fc8850afb6355b84f6cb20eddaa7e6acfb5" \
	"d1d8ed1654504a3057cc95762d98e6577224e86edf30595d89dcee9f48d131b0"
#define REPLAY_ID_POST_BATCH_V2 \
	"eecff7c762bcc2cd0e6d5ff568d045aa6e5f920ffb9ff3a66cde0e192b7611f5"

/*
 * One RFC 4231 test case. A field with a repeat count > 0 is its first byte
 * repeated that many times (the RFC's "0xaa repeated 131 times").
 */
struct vector {
	int		 line;
	const char	*key;
	size_t		 keyrep;
	const char	*msg;
	size_t		 msgrep;
	size_t		 cmplen;	/* hex digits compared */
	const char	*want;
};

/* Expand a vector field into buf (at least 256 bytes); returns its length. */
static size_t
expand(const char *s, size_t rep, unsigned char *buf)
{
	if (rep > 0) {
		memset(buf, (unsigned char)s[0], rep);
		return rep;
	}
	memcpy(buf, s, strlen(s));
	return strlen(s);
}

/* RFC 4231 section 4: all seven HMAC-SHA512 test cases. */
static void
rfc4231_vectors(void **state)
{
	static const struct vector tests[] = {
		{ __LINE__, "\x0b", 20, "Hi There", 0, 128,
		  "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
		  "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854" },
		{ __LINE__, "Jefe", 0, "what do ya want for nothing?", 0, 128,
		  "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
		  "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737" },
		{ __LINE__, "\xaa", 20, "\xdd", 50, 128,
		  "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
		  "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb" },
		{ __LINE__, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"
		  "\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19", 0,
		  "\xcd", 50, 128,
		  "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
		  "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd" },
		/* Test case 5 is truncated to 128 bits: compare the prefix. */
		{ __LINE__, "\x0c", 20, "Test With Truncation", 0, 32,
		  "415fad6271580a531d4179bc891d87a6" },
		{ __LINE__, "\xaa", 131,
		  "Test Using Larger Than Block-Size Key - Hash Key First", 0, 128,
		  "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
		  "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598" },
		{ __LINE__, "\xaa", 131,
		  "This is a test using a larger than block-size key and a larger "
		  "than block-size data. The key needs to be hashed before being "
		  "used by the HMAC algorithm.", 0, 128,
		  "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
		  "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58" },
	};
	unsigned char	 key[256], msg[256], md[AUTH_DIGEST_LEN];
	char		 hex[AUTH_HEX_LEN + 1];
	size_t		 i, keylen, msglen;

	assert_int_equal(NITEMS(tests), 7);
	for (i = 0; i < NITEMS(tests); i++) {
		keylen = expand(tests[i].key, tests[i].keyrep, key);
		msglen = expand(tests[i].msg, tests[i].msgrep, msg);
		if (auth_hmac_raw(key, keylen, msg, msglen, md) != 0)
			fail_msg("test case %zu (line %d): hmac failed",
			    i + 1, tests[i].line);
		util_hex(md, sizeof(md), hex);
		assert_int_equal(strlen(tests[i].want), tests[i].cmplen);
		if (strncmp(hex, tests[i].want, tests[i].cmplen) != 0)
			fail_msg("test case %zu (line %d): got %.*s want %s",
			    i + 1, tests[i].line, (int)tests[i].cmplen, hex,
			    tests[i].want);
	}
}

/* The original string to sign: METHOD "\n" ENDPOINT "\n" BODY. */
static void
string_to_sign(void **state)
{
	static const char	 get[] = "GET\n/account\n";
	static const char	 relocated[] = "{\"a\":1}\n1700000000";
	unsigned char		 md[AUTH_DIGEST_LEN];
	char			 hex[AUTH_HEX_LEN + 1], raw[AUTH_HEX_LEN + 1];
	char			*text;
	size_t			 len;

	/* Against the exact bytes through plain HMAC. */
	assert_int_equal(auth_sign_hex(SECRET, strlen(SECRET), "GET",
	    "/account", NULL, 0, NULL, hex), 0);
	assert_int_equal(auth_hmac_raw(SECRET, strlen(SECRET), get,
	    strlen(get), md), 0);
	util_hex(md, sizeof(md), raw);
	assert_string_equal(hex, raw);
	/* Against the openssl command. */
	assert_string_equal(hex, SIG_GET_ACCOUNT);
	/* The text itself. */
	text = auth_string_to_sign("GET", "/account", NULL, 0, NULL, &len);
	assert_non_null(text);
	assert_int_equal(len, strlen(get));
	assert_memory_equal(text, get, len);
	free(text);

	/* A query and a body, with a NUL byte inside the body. */
	text = auth_string_to_sign("POST", "/batch?x=1", "a\0b", 3, NULL,
	    &len);
	assert_non_null(text);
	assert_int_equal(len, 19);
	assert_memory_equal(text, "POST\n/batch?x=1\na\0b", 19);
	free(text);

	/*
	 * The body "{"a":1}\n1700000000" signs as what the first scheme
	 * signed for {"a":1} with a timestamp 1700000000: nothing told the
	 * timestamp line from the end of the body.
	 */
	assert_int_equal(auth_sign_hex(SECRET, strlen(SECRET), "POST",
	    "/batch?x=1", relocated, strlen(relocated), NULL, hex), 0);
	assert_string_equal(hex, SIG_POST_BATCH_V1_RELOCATED);

	/* An empty key is refused, not treated as "no key". */
	assert_int_equal(auth_sign_hex("", 0, "GET", "/", NULL, 0, NULL,
	    hex), -1);
	assert_string_equal(hex, "");
	assert_int_equal(auth_sign_hex("", 0, "GET", "/", NULL, 0, "1",
	    hex), -1);
}

/*
 * The v2 string to sign: "ST2-HMAC-SHA512" "\n" TIMESTAMP "\n" METHOD "\n"
 * ENDPOINT "\n" lowercase hex(SHA-256(BODY)), against openssl.
 */
static void
string_to_sign_v2(void **state)
{
	static const char	 post[] = "ST2-HMAC-SHA512\n1700000000\nPOST\n"
	    "/batch?x=1\n" BODY_SHA_A1;
	static const char	 get[] = "ST2-HMAC-SHA512\n1700000000\nGET\n"
	    "/account\n" BODY_SHA_EMPTY;
	static const char	 relocated[] = "{\"a\":1}\n1700000000";
	unsigned char		 md[AUTH_DIGEST_LEN];
	char			 hex[AUTH_HEX_LEN + 1], raw[AUTH_HEX_LEN + 1];
	char			 v1[AUTH_HEX_LEN + 1], *text;
	size_t			 len;

	/* The text, byte for byte. */
	text = auth_string_to_sign("POST", "/batch?x=1", "{\"a\":1}", 7,
	    "1700000000", &len);
	assert_non_null(text);
	assert_int_equal(len, strlen(post));
	assert_memory_equal(text, post, len);
	free(text);
	text = auth_string_to_sign("GET", "/account", NULL, 0, "1700000000",
	    &len);
	assert_non_null(text);
	assert_int_equal(len, strlen(get));
	assert_memory_equal(text, get, len);
	free(text);

	/* The signature, through plain HMAC and against openssl. */
	assert_int_equal(auth_sign_hex(SECRET, strlen(SECRET), "POST",
	    "/batch?x=1", "{\"a\":1}", 7, "1700000000", hex), 0);
	assert_int_equal(auth_hmac_raw(SECRET, strlen(SECRET), post,
	    strlen(post), md), 0);
	util_hex(md, sizeof(md), raw);
	assert_string_equal(hex, raw);
	assert_string_equal(hex, SIG_POST_BATCH_V2);
	assert_int_equal(auth_sign_hex(SECRET, strlen(SECRET), "GET",
	    "/account", NULL, 0, "1700000000", hex), 0);
	assert_string_equal(hex, SIG_GET_ACCOUNT_V2);

	/*
	 * The relocation of issue 13 no longer lines up: the timestamp
	 * moved into the body changes the body's hash, and the original
	 * form of the longer body is another text altogether.
	 */
	assert_int_equal(auth_sign_hex(SECRET, strlen(SECRET), "POST",
	    "/batch?x=1", relocated, strlen(relocated), NULL, v1), 0);
	assert_string_not_equal(v1, SIG_POST_BATCH_V2);
	assert_int_equal(auth_sign_hex(SECRET, strlen(SECRET), "POST",
	    "/batch?x=1", relocated, strlen(relocated), "1700000000", hex), 0);
	assert_string_not_equal(hex, SIG_POST_BATCH_V2);
	/* Nor does the same request without its timestamp. */
	assert_int_equal(auth_sign_hex(SECRET, strlen(SECRET), "POST",
	    "/batch?x=1", "{\"a\":1}", 7, NULL, v1), 0);
	assert_string_not_equal(v1, SIG_POST_BATCH_V2);
	/* The timestamp is signed: one second apart is another signature. */
	assert_int_equal(auth_sign_hex(SECRET, strlen(SECRET), "POST",
	    "/batch?x=1", "{\"a\":1}", 7, "1700000001", hex), 0);
	assert_string_not_equal(hex, SIG_POST_BATCH_V2);
	/*
	 * A v2 text never equals an original one: it starts with the tag,
	 * and an original one with its method. Even a "method" named like
	 * the tag signs another text (its ENDPOINT line would have to be a
	 * timestamp and its BODY the rest, hash and all).
	 */
	text = auth_string_to_sign("ST2-HMAC-SHA512", "1700000000",
	    "POST\n/batch?x=1\n" BODY_SHA_A1, strlen("POST\n/batch?x=1\n"
	    BODY_SHA_A1), NULL, &len);
	assert_non_null(text);
	assert_int_equal(len, strlen(post));
	assert_memory_equal(text, post, len);	/* the same bytes, but... */
	free(text);
	/* ...no route has such a method: the server never verifies it. */
}

/* The replay id of a signature: SHA-256 of its 64 bytes, against openssl. */
static void
replay_id_vector(void **state)
{
	unsigned char	 sig[AUTH_DIGEST_LEN], id[REPLAY_ID_LEN];
	unsigned char	 id2[REPLAY_ID_LEN];
	char		 hex[2 * REPLAY_ID_LEN + 1], upper[AUTH_HEX_LEN + 1];
	size_t		 i;

	assert_int_equal(auth_parse_signature(SIG_POST_BATCH_V2,
	    AUTH_HEX_LEN, sig), 0);
	assert_int_equal(replay_id(sig, id), 0);
	util_hex(id, sizeof(id), hex);
	assert_string_equal(hex, REPLAY_ID_POST_BATCH_V2);
	/* The hex case the signature was sent in does not change it. */
	for (i = 0; i < AUTH_HEX_LEN; i++)
		upper[i] = (char)toupper((unsigned char)SIG_POST_BATCH_V2[i]);
	upper[AUTH_HEX_LEN] = '\0';
	assert_int_equal(auth_parse_signature(upper, AUTH_HEX_LEN, sig), 0);
	assert_int_equal(replay_id(sig, id2), 0);
	assert_memory_equal(id, id2, sizeof(id));

	/* Which methods are remembered: all but GET and HEAD. */
	assert_int_equal(replay_method_remembered("POST"), 1);
	assert_int_equal(replay_method_remembered("DELETE"), 1);
	assert_int_equal(replay_method_remembered("PUT"), 1);
	assert_int_equal(replay_method_remembered("GET"), 0);
	assert_int_equal(replay_method_remembered("HEAD"), 0);
	assert_int_equal(replay_method_remembered(NULL), 0);
}

/*
 * A body fed in chunks of every size gives the one-shot digest, in both
 * forms; and the one-shot digest is the HMAC of auth_string_to_sign().
 */
static void
chunked_body(void **state)
{
	struct auth_hmac	*h;
	unsigned char		 body[1000], one[AUTH_DIGEST_LEN];
	unsigned char		 md[AUTH_DIGEST_LEN];
	char			 hex[AUTH_HEX_LEN + 1], want[AUTH_HEX_LEN + 1];
	char			*text;
	size_t			 i, f, chunk, off, n, len;
	static const size_t	 chunks[] = { 1, 3, 64, 127, 128, 999, 1000 };
	static const char *const forms[] = { NULL, "42" };

	for (i = 0; i < sizeof(body); i++)
		body[i] = (unsigned char)(i * 7 + 1);
	for (f = 0; f < NITEMS(forms); f++) {
		assert_int_equal(auth_sign_hex(SECRET, strlen(SECRET), "PUT",
		    "/dataset/x", body, sizeof(body), forms[f], want), 0);
		text = auth_string_to_sign("PUT", "/dataset/x", body,
		    sizeof(body), forms[f], &len);
		assert_non_null(text);
		assert_int_equal(auth_hmac_raw(SECRET, strlen(SECRET), text,
		    len, md), 0);
		free(text);
		util_hex(md, sizeof(md), hex);
		assert_string_equal(hex, want);

		for (i = 0; i < NITEMS(chunks); i++) {
			chunk = chunks[i];
			h = auth_hmac_begin(SECRET, strlen(SECRET), "PUT",
			    "/dataset/x", forms[f]);
			assert_non_null(h);
			for (off = 0; off < sizeof(body); off += n) {
				n = sizeof(body) - off < chunk ?
				    sizeof(body) - off : chunk;
				assert_int_equal(auth_hmac_update(h,
				    body + off, n), 0);
			}
			assert_int_equal(auth_hmac_update(h, body, 0), 0);
			assert_int_equal(auth_hmac_final(h, md), 0);
			/* The context is spent. */
			assert_int_equal(auth_hmac_update(h, body, 1), -1);
			assert_int_equal(auth_hmac_final(h, one), -1);
			auth_hmac_free(h);
			util_hex(md, sizeof(md), hex);
			if (strcmp(hex, want) != 0)
				fail_msg("form %zu, chunk size %zu: digest "
				    "differs", f, chunk);
		}
	}
	auth_hmac_free(NULL);
}

/* Timestamp header: digits only, 1..20 of them, within the window. */
static void
timestamp_window(void **state)
{
	const time_t	 now = 1700000000;
	char		 buf[32];
	size_t		 i;
	struct {
		int		 line;
		const char	*ts;
		int		 want;
	} tests[] = {
		{ __LINE__, "1700000000", 0 },
		{ __LINE__, "1700000300", 0 },		/* now + 300 */
		{ __LINE__, "1699999700", 0 },		/* now - 300 */
		{ __LINE__, "1700000301", -1 },		/* now + 301 */
		{ __LINE__, "1699999699", -1 },		/* now - 301 */
		{ __LINE__, "01700000000", 0 },		/* leading zero */
		{ __LINE__, "", -1 },
		{ __LINE__, "0", -1 },
		{ __LINE__, "17000000x0", -1 },
		{ __LINE__, "1700000000 ", -1 },
		{ __LINE__, " 1700000000", -1 },
		{ __LINE__, "+1700000000", -1 },
		{ __LINE__, "-1700000000", -1 },
		{ __LINE__, "1.7e9", -1 },
		{ __LINE__, "0x6553f100", -1 },
		{ __LINE__, "00000000001700000000", 0 },	/* 20 digits */
		{ __LINE__, "000000000001700000000", -1 },	/* 21 digits */
		{ __LINE__, "18446744073709551615", -1 },	/* UINT64_MAX */
		{ __LINE__, "18446744073709551616", -1 },	/* overflow */
		{ __LINE__, "99999999999999999999", -1 },
	};

	for (i = 0; i < NITEMS(tests); i++)
		if (auth_check_timestamp(tests[i].ts, now, 300) !=
		    tests[i].want)
			fail_msg("line %d: \"%s\": want %d", tests[i].line,
			    tests[i].ts, tests[i].want);

	assert_int_equal(auth_check_timestamp(NULL, now, 300), -1);
	/* Window 0: only the exact second. */
	assert_int_equal(auth_check_timestamp("1700000000", now, 0), 0);
	assert_int_equal(auth_check_timestamp("1700000001", now, 0), -1);
	/* Near 0 and near the top: no wrap-around either way. */
	assert_int_equal(auth_check_timestamp("0", 100, 300), 0);
	assert_int_equal(auth_check_timestamp("18446744073709551615", 100,
	    300), -1);
	assert_int_equal(auth_check_timestamp("400", 100, 300), 0);
	assert_int_equal(auth_check_timestamp("401", 100, 300), -1);
	assert_int_equal(auth_check_timestamp("100", now, ~0u), 0);
	/* The real clock. */
	snprintf(buf, sizeof(buf), "%lld", (long long)time(NULL));
	assert_int_equal(auth_check_timestamp(buf, time(NULL), 300), 0);
}

/* Signature header: exactly 128 hex digits of either case. */
static void
signature_syntax(void **state)
{
	unsigned char	 md[AUTH_DIGEST_LEN], want[AUTH_DIGEST_LEN];
	char		 hex[AUTH_HEX_LEN + 2], upper[AUTH_HEX_LEN + 1];
	size_t		 i;

	assert_int_equal(auth_hmac_raw(SECRET, strlen(SECRET),
	    "GET\n/account\n", 13, want), 0);

	assert_int_equal(auth_parse_signature(SIG_GET_ACCOUNT,
	    AUTH_HEX_LEN, md), 0);
	assert_memory_equal(md, want, sizeof(md));

	for (i = 0; i < AUTH_HEX_LEN; i++)
		upper[i] = (char)(SIG_GET_ACCOUNT[i] >= 'a' ?
		    SIG_GET_ACCOUNT[i] - 'a' + 'A' : SIG_GET_ACCOUNT[i]);
	upper[AUTH_HEX_LEN] = '\0';
	memset(md, 0, sizeof(md));
	assert_int_equal(auth_parse_signature(upper, AUTH_HEX_LEN, md), 0);
	assert_memory_equal(md, want, sizeof(md));

	/* Wrong lengths: the length argument is what counts. */
	assert_int_equal(auth_parse_signature(SIG_GET_ACCOUNT, 127, md), -1);
	assert_int_equal(auth_parse_signature(SIG_GET_ACCOUNT, 0, md), -1);
	snprintf(hex, sizeof(hex), "%s0", SIG_GET_ACCOUNT);
	assert_int_equal(auth_parse_signature(hex, 129, md), -1);
	assert_int_equal(auth_parse_signature(NULL, AUTH_HEX_LEN, md), -1);

	/* One bad byte anywhere. */
	{
		static const char	 bad[] = { 'g', 'G', 'x', ' ', ':',
		    '\0', '\n', '-', '+', '\xc3' };
		size_t			 b, pos;
		static const size_t	 where[] = { 0, 1, 63, 126, 127 };

		for (b = 0; b < sizeof(bad); b++)
			for (pos = 0; pos < NITEMS(where); pos++) {
				memcpy(hex, SIG_GET_ACCOUNT,
				    AUTH_HEX_LEN + 1);
				hex[where[pos]] = bad[b];
				if (auth_parse_signature(hex, AUTH_HEX_LEN,
				    md) != -1)
					fail_msg("byte 0x%02x at %zu accepted",
					    (unsigned char)bad[b],
					    where[pos]);
			}
	}
}

/* Constant-time digest comparison. */
static void
digest_equal(void **state)
{
	unsigned char	 a[AUTH_DIGEST_LEN], b[AUTH_DIGEST_LEN];
	size_t		 i;

	for (i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (unsigned char)i;
	assert_int_equal(auth_digest_equal(a, b), 1);
	for (i = 0; i < sizeof(a); i += 21) {
		b[i] ^= 0x01;
		assert_int_equal(auth_digest_equal(a, b), 0);
		b[i] ^= 0x01;
	}
	b[AUTH_DIGEST_LEN - 1] ^= 0x80;
	assert_int_equal(auth_digest_equal(a, b), 0);
}

/* API key header: exactly 32 lowercase hex digits. */
static void
key_syntax(void **state)
{
	size_t	 i;
	struct {
		int		 line;
		const char	*key;
		int		 want;
	} tests[] = {
		{ __LINE__, "0123456789abcdef0123456789abcdef", 0 },
		{ __LINE__, "ffffffffffffffffffffffffffffffff", 0 },
		{ __LINE__, "0123456789ABCDEF0123456789abcdef", -1 },
		{ __LINE__, "0123456789abcdef0123456789abcde", -1 },
		{ __LINE__, "0123456789abcdef0123456789abcdef0", -1 },
		{ __LINE__, "", -1 },
		{ __LINE__, "0123456789abcdef0123456789abcdeg", -1 },
		{ __LINE__, " 123456789abcdef0123456789abcdef", -1 },
		{ __LINE__, "0123456789abcdef-123456789abcdef", -1 },
	};

	for (i = 0; i < NITEMS(tests); i++)
		if (auth_check_key_syntax(tests[i].key,
		    strlen(tests[i].key)) != tests[i].want)
			fail_msg("line %d: \"%s\": want %d", tests[i].line,
			    tests[i].key, tests[i].want);
	assert_int_equal(auth_check_key_syntax(NULL, 32), -1);
	/* An embedded NUL inside the given length. */
	assert_int_equal(auth_check_key_syntax(
	    "0123456789abcdef\0" "123456789abcdef", 32), -1);
}

/* New credentials: lowercase hex of the right lengths, never repeated. */
static void
new_credentials(void **state)
{
	char	 k1[AUTH_KEY_HEX_LEN + 1], s1[AUTH_SECRET_HEX_LEN + 1];
	char	 k2[AUTH_KEY_HEX_LEN + 1], s2[AUTH_SECRET_HEX_LEN + 1];

	assert_int_equal(auth_new_credentials(k1, s1), 0);
	assert_int_equal(auth_new_credentials(k2, s2), 0);
	assert_int_equal(strlen(k1), AUTH_KEY_HEX_LEN);
	assert_int_equal(strlen(s1), AUTH_SECRET_HEX_LEN);
	assert_int_equal(strspn(k1, "0123456789abcdef"), AUTH_KEY_HEX_LEN);
	assert_int_equal(strspn(s1, "0123456789abcdef"), AUTH_SECRET_HEX_LEN);
	assert_int_equal(auth_check_key_syntax(k1, strlen(k1)), 0);
	assert_string_not_equal(k1, k2);
	assert_string_not_equal(s1, s2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc4231_vectors),
		cmocka_unit_test(string_to_sign),
		cmocka_unit_test(string_to_sign_v2),
		cmocka_unit_test(replay_id_vector),
		cmocka_unit_test(chunked_body),
		cmocka_unit_test(timestamp_window),
		cmocka_unit_test(signature_syntax),
		cmocka_unit_test(digest_equal),
		cmocka_unit_test(key_syntax),
		cmocka_unit_test(new_credentials),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

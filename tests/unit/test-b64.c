/*
 * test-b64.c: the streaming base64 decoder (src/lib/b64.c).
 *
 * RFC 4648 vectors, padding optional, line breaks anywhere, a table of
 * refused inputs, and random data decoded in pieces split at every position
 * against the one-shot decode of the same bytes.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "b64.h"

static uint64_t	 rng_state = 0x9e3779b97f4a7c15ULL;

/* Deterministic xorshift64*, so a failure reproduces. */
static uint64_t
rng(void)
{

	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void
fill_random(unsigned char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(rng() >> 56);
}

/* Encode n bytes with EVP_EncodeBlock (no line breaks); caller frees. */
static char *
encode(const unsigned char *p, size_t n, size_t *len)
{
	char	*s;

	s = malloc(4 * ((n + 2) / 3) + 1);
	assert_non_null(s);
	*len = (size_t)EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

/* Decode s (len bytes) in one call; returns the rc, output in out/outlen. */
static int
dec(const char *s, size_t len, unsigned char *out, size_t cap, size_t *outlen)
{

	return b64_decode(s, len, out, cap, outlen);
}

struct acc {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
	size_t		 refuse_after;	/* refuse once len would pass this */
};

static int
acc_sink(void *arg, const unsigned char *p, size_t n)
{
	struct acc	*a = arg;

	if (a->len + n > a->refuse_after)
		return -1;
	assert_true(a->len + n <= a->cap);
	memcpy(a->p + a->len, p, n);
	a->len += n;
	return 0;
}

/* Decode s through the streaming API in pieces at the given cut points. */
static int
dec_pieces(const char *s, size_t len, const size_t *cuts, size_t ncuts,
    struct acc *a)
{
	struct b64_dec	*d;
	size_t		 i, from = 0;
	int		 rc = B64_OK;

	d = b64_dec_new(acc_sink, a);
	assert_non_null(d);
	for (i = 0; i <= ncuts && rc == B64_OK; i++) {
		size_t to = i < ncuts ? cuts[i] : len;

		rc = b64_dec_update(d, s + from, to - from);
		from = to;
	}
	if (rc == B64_OK)
		rc = b64_dec_final(d);
	b64_dec_free(d);
	return rc;
}

static void
test_rfc4648_vectors(void **state)
{
	static const struct { const char *plain, *enc; } v[] = {
		{ "", "" },
		{ "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
		/* unpadded */
		{ "f", "Zg" }, { "fo", "Zm8" }, { "foob", "Zm9vYg" },
		{ "fooba", "Zm9vYmE" },
		/* half padded */
		{ "f", "Zg=" }, { "foob", "Zm9vYg=" },
		/* line breaks anywhere, also inside the padding */
		{ "foobar", "Zm9v\r\nYmFy\r\n" }, { "foobar", "\nZ\nm\n9\rvYmFy" },
		{ "f", "Zg=\r\n=" }, { "fo", "Zm8\n=\n" }, { "", "\r\n\r\n" },
		{ "\xfb\xff", "+/8=" }, { "\xfb\xff", "+/8" },
	};
	unsigned char	 out[64];
	size_t		 i, outlen;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int rc = dec(v[i].enc, strlen(v[i].enc), out, sizeof(out),
		    &outlen);

		if (rc != B64_OK || outlen != strlen(v[i].plain) ||
		    memcmp(out, v[i].plain, outlen) != 0)
			fail_msg("vector %zu \"%s\": rc %d len %zu", i,
			    v[i].enc, rc, outlen);
	}
}

static void
test_refused(void **state)
{
	static const struct { const char *enc; size_t len; } v[] = {
#define S(x) { x, sizeof(x) - 1 }
		S("Zm9v YmFy"), S("Zm9v\tYmFy"), S("Zm9v-YmFy"), S("Zm9v_YmFy"),
		S("Zm9v\0YmFy"), S("Zm9v.YmFy"), S("Zm9v\x80YmFy"),
		S("Zm9v\x0bYmFy"), S("Zm9v\fYmFy"), S(" Zm9v"), S("Zm9v "),
		S("Zg=a"), S("Zg==Zg=="), S("Zm8=Zm8="), S("Zg==="),
		S("Zm8=="), S("Zm9v="), S("="), S("=="), S("Z"), S("Zm9vY"),
		S("Zm=9v"), S("Zm9vY="), S("Zg==\n\nZ"), S("%%%%"),
		S("Zm9v\x7f"), S("QQ==\0"),
#undef S
	};
	unsigned char	 out[64];
	size_t		 i, outlen;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int rc = dec(v[i].enc, v[i].len, out, sizeof(out), &outlen);

		if (rc != B64_INVALID)
			fail_msg("refused input %zu: rc %d", i, rc);
	}
}

/* Every input byte value: alphabet, CR, LF accepted; the rest refused. */
static void
test_every_byte(void **state)
{
	unsigned char	 in[5], out[8];
	size_t		 outlen;
	int		 c, rc;

	(void)state;
	for (c = 0; c < 256; c++) {
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/' ||
		    c == '\r' || c == '\n';

		/* "QUJD" with c in the middle */
		memcpy(in, "QU", 2);
		in[2] = (unsigned char)c;
		memcpy(in + 3, "JD", 2);
		rc = dec((char *)in, 5, out, sizeof(out), &outlen);
		if (c == '=')
			assert_int_equal(rc, B64_INVALID);
		else if (ok && (c == '\r' || c == '\n'))
			assert_int_equal(rc, B64_OK);
		else if (ok)
			/* 5 alphabet chars: a lone trailing char is refused */
			assert_int_equal(rc, B64_INVALID);
		else if (rc != B64_INVALID)
			fail_msg("byte 0x%02x accepted", c);
	}
}

/* Random data of many sizes, with and without padding and line breaks. */
static void
test_random_sizes(void **state)
{
	unsigned char	 plain[700], out[800];
	char		*enc, *lines;
	size_t		 n, len, outlen, i, j;

	(void)state;
	for (n = 0; n < sizeof(plain); n++) {
		fill_random(plain, n);
		enc = encode(plain, n, &len);
		assert_int_equal(dec(enc, len, out, sizeof(out), &outlen),
		    B64_OK);
		assert_int_equal(outlen, n);
		assert_memory_equal(out, plain, n);

		/* strip the padding */
		while (len > 0 && enc[len - 1] == '=')
			len--;
		assert_int_equal(dec(enc, len, out, sizeof(out), &outlen),
		    B64_OK);
		assert_int_equal(outlen, n);
		assert_memory_equal(out, plain, n);

		/* CR LF after every 7 chars */
		lines = malloc(len * 2 + 4);
		assert_non_null(lines);
		for (i = j = 0; i < len; i++) {
			lines[j++] = enc[i];
			if (i % 7 == 6) {
				lines[j++] = '\r';
				lines[j++] = '\n';
			}
		}
		assert_int_equal(dec(lines, j, out, sizeof(out), &outlen),
		    B64_OK);
		assert_int_equal(outlen, n);
		assert_memory_equal(out, plain, n);
		free(lines);
		free(enc);
	}
}

/*
 * Split the encoding of random data at every position (two pieces), then at
 * random positions (many pieces), then one byte at a time: the output is
 * always the one-shot decode.
 */
static void
test_split_every_position(void **state)
{
	unsigned char	 plain[1000], once[1100], buf[1100];
	struct acc	 a = { buf, 0, sizeof(buf), SIZE_MAX };
	char		*enc;
	size_t		 len, oncelen, cut, i, cuts[40];
	int		 variant;

	(void)state;
	fill_random(plain, sizeof(plain));
	for (variant = 0; variant < 3; variant++) {
		size_t n = sizeof(plain) - (size_t)variant; /* 0, 2, 1 pad */

		enc = encode(plain, n, &len);
		assert_int_equal(dec(enc, len, once, sizeof(once), &oncelen),
		    B64_OK);
		assert_int_equal(oncelen, n);
		assert_memory_equal(once, plain, n);
		for (cut = 0; cut <= len; cut++) {
			a.len = 0;
			assert_int_equal(dec_pieces(enc, len, &cut, 1, &a),
			    B64_OK);
			assert_int_equal(a.len, oncelen);
			assert_memory_equal(buf, once, oncelen);
		}
		for (i = 0; i < 200; i++) {
			size_t k, ncuts = (size_t)(rng() % 40);

			for (k = 0; k < ncuts; k++)
				cuts[k] = (size_t)(rng() % (len + 1));
			/* sort the cut points */
			for (k = 1; k < ncuts; k++) {
				size_t m = k, t = cuts[k];

				while (m > 0 && cuts[m - 1] > t) {
					cuts[m] = cuts[m - 1];
					m--;
				}
				cuts[m] = t;
			}
			a.len = 0;
			assert_int_equal(dec_pieces(enc, len, cuts, ncuts, &a),
			    B64_OK);
			assert_int_equal(a.len, oncelen);
			assert_memory_equal(buf, once, oncelen);
		}
		free(enc);
	}
}

/* A large input crosses the internal 4 KiB filter buffer many times. */
static void
test_large_stream(void **state)
{
	size_t		 n = 300000, len, i, cut;
	unsigned char	*plain, *buf;
	struct acc	 a;
	char		*enc;
	size_t		 cuts[64];

	(void)state;
	plain = malloc(n);
	buf = malloc(n);
	assert_non_null(plain);
	assert_non_null(buf);
	fill_random(plain, n);
	enc = encode(plain, n, &len);
	for (i = 0; i < 64; i++) {
		cut = (i + 1) * (len / 65) + (size_t)(rng() % 97);
		cuts[i] = cut > len ? len : cut;
	}
	a = (struct acc){ buf, 0, n, SIZE_MAX };
	assert_int_equal(dec_pieces(enc, len, cuts, 64, &a), B64_OK);
	assert_int_equal(a.len, n);
	assert_memory_equal(buf, plain, n);
	free(enc);
	free(plain);
	free(buf);
}

/* Errors in a later piece are caught, and the decoder stays failed. */
static void
test_error_is_sticky(void **state)
{
	unsigned char	 buf[64];
	struct acc	 a = { buf, 0, sizeof(buf), SIZE_MAX };
	struct b64_dec	*d;

	(void)state;
	d = b64_dec_new(acc_sink, &a);
	assert_non_null(d);
	assert_int_equal(b64_dec_update(d, "Zm9v", 4), B64_OK);
	assert_int_equal(b64_dec_update(d, "Zg=", 3), B64_OK);
	assert_int_equal(b64_dec_update(d, "Zg", 2), B64_INVALID);
	assert_int_equal(b64_dec_in_total(d), 7);
	assert_int_equal(b64_dec_update(d, "Zm9v", 4), B64_INVALID);
	assert_int_equal(b64_dec_final(d), B64_INVALID);
	b64_dec_free(d);

	/* padding split from its data by a call boundary and a line break */
	a.len = 0;
	d = b64_dec_new(acc_sink, &a);
	assert_non_null(d);
	assert_int_equal(b64_dec_update(d, "Zm8", 3), B64_OK);
	assert_int_equal(b64_dec_update(d, "\r\n", 2), B64_OK);
	assert_int_equal(b64_dec_update(d, "=", 1), B64_OK);
	assert_int_equal(b64_dec_update(d, "=", 1), B64_INVALID);
	b64_dec_free(d);
}

/* The sink can stop the decode (size limit), and b64_decode's cap holds. */
static void
test_sink_refuses(void **state)
{
	unsigned char	 plain[10000], buf[10000], small[10];
	struct acc	 a = { buf, 0, sizeof(buf), 5000 };
	size_t		 len, outlen;
	char		*enc;

	(void)state;
	fill_random(plain, sizeof(plain));
	enc = encode(plain, sizeof(plain), &len);
	assert_int_equal(dec_pieces(enc, len, NULL, 0, &a), B64_SINK);
	assert_true(a.len <= 5000);
	assert_int_equal(dec(enc, len, small, sizeof(small), &outlen),
	    B64_SINK);
	assert_int_equal(dec("Zm9vYmFy", 8, small, 6, &outlen), B64_OK);
	assert_int_equal(outlen, 6);
	assert_int_equal(dec("Zm9vYmFy", 8, small, 5, &outlen), B64_SINK);
	free(enc);
}

/* The encoded-size bound covers PEM-style and MIME-style line breaks. */
static void
test_encoded_bound(void **state)
{
	size_t	 sizes[] = { 0, 1, 2, 3, 47, 48, 49, 1000, 10 * 1024 * 1024 };
	size_t	 i, n, enc, pem;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		n = sizes[i];
		enc = 4 * ((n + 2) / 3);
		pem = enc + 2 * ((enc + 63) / 64);	/* CRLF per 64 */
		assert_true(pem <= B64_ENCODED_MAX(n));
		assert_true(enc + 2 * ((enc + 75) / 76) <= B64_ENCODED_MAX(n));
		assert_true(B64_DECODED_MAX(enc) >= n);
	}
	assert_int_equal(B64_ENCODED_MAX((size_t)10 * 1024 * 1024), 14417926);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_random_sizes),
		cmocka_unit_test(test_split_every_position),
		cmocka_unit_test(test_large_stream),
		cmocka_unit_test(test_error_is_sticky),
		cmocka_unit_test(test_sink_refuses),
		cmocka_unit_test(test_encoded_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

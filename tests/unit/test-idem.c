/*
 * test-idem.c: the pure parts of idempotent POSTs (idem.h): the key
 * grammar, the request hash fed by http_read(), the answer capture of
 * http_write() and the response header lookup that records an answer.
 * The claim, wait and replay run against MariaDB in t0220-idempotency.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "http.h"
#include "idem.h"
#include "util.h"

/* --- a memory http_io backend ------------------------------------------ */

struct mem {
	const char	*in;
	size_t		 inlen, inpos;
	size_t		 chunk;		/* largest read answered */
	char		*out;
	size_t		 outlen;
};

static ssize_t
mem_read(void *arg, void *buf, size_t n)
{
	struct mem	*m = arg;

	if (m->chunk != 0 && n > m->chunk)
		n = m->chunk;
	if (n > m->inlen - m->inpos)
		n = m->inlen - m->inpos;
	memcpy(buf, m->in + m->inpos, n);
	m->inpos += n;
	return (ssize_t)n;
}

static int
mem_write(void *arg, const void *buf, size_t n)
{
	struct mem	*m = arg;

	m->out = realloc(m->out, m->outlen + n + 1);
	assert_non_null(m->out);
	memcpy(m->out + m->outlen, buf, n);
	m->outlen += n;
	m->out[m->outlen] = '\0';
	return 0;
}

/* A POST to uri with body, parsed, attached to m. */
static void
req_post(struct http_req *r, struct mem *m, const char *uri, const char *body)
{
	static char	 env_uri[256], env_cl[64];
	static char	*envp[] = { "REQUEST_METHOD=POST", env_uri, env_cl, NULL };

	snprintf(env_uri, sizeof(env_uri), "REQUEST_URI=%s", uri);
	snprintf(env_cl, sizeof(env_cl), "CONTENT_LENGTH=%zu", strlen(body));
	memset(m, 0, sizeof(*m));
	m->in = body;
	m->inlen = strlen(body);
	assert_int_equal(http_parse(r, envp, NULL), 0);
	r->io.read = mem_read;
	r->io.write = mem_write;
	r->io.arg = m;
}

/* --- the key grammar: a table ------------------------------------------ */

static void
test_key_table(void **state)
{
	static char	 max[IDEM_KEY_MAX + 1], over[IDEM_KEY_MAX + 2];
	static const struct {
		int		 line;
		const char	*key;
		int		 want;
	} cases[] = {
		{ __LINE__, "a", 0 },
		{ __LINE__, "550e8400-e29b-41d4-a716-446655440000", 0 },
		{ __LINE__, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", 0 },
		{ __LINE__, max, 0 },
		{ __LINE__, NULL, -1 },
		{ __LINE__, "", -1 },
		{ __LINE__, over, -1 },
		{ __LINE__, "a b", -1 },		/* space */
		{ __LINE__, " a", -1 },
		{ __LINE__, "a\tb", -1 },
		{ __LINE__, "a\r\nb", -1 },
		{ __LINE__, "a\x7f", -1 },		/* DEL */
		{ __LINE__, "a\x01", -1 },
		{ __LINE__, "caf\xc3\xa9", -1 },	/* UTF-8 */
		{ __LINE__, "\xff", -1 },
		{ __LINE__, "k1, k2", -1 },		/* a header sent twice */
	};
	size_t	 i;
	int	 got;

	memset(max, 'k', IDEM_KEY_MAX);
	memset(over, 'k', IDEM_KEY_MAX + 1);
	for (i = 0; i < NITEMS(cases); i++)
		if ((got = idem_key_check(cases[i].key)) != cases[i].want)
			fail_msg("line %d: idem_key_check gave %d, want %d",
			    cases[i].line, got, cases[i].want);
}

/* --- the request hash -------------------------------------------------- */

/*
 * SHA-256 over "POST\n/batch\n" and the body, fed through http_read() in
 * 3-byte reads. The digest is that of
 * printf 'POST\n/batch\n{"a": 1}' | sha256sum.
 */
static void
test_hash_fed_by_read(void **state)
{
	static const char	 want[] =
	    "2a99e277d49d0cd3017c2ce43368e8b1f43b5640d007d842bbc1bd5021fdd994";
	struct http_req		 r;
	struct mem		 m;
	char			 hex[IDEM_HASH_HEX + 1], buf[5];
	ssize_t			 n;

	req_post(&r, &m, "/batch", "{\"a\": 1}");
	m.chunk = 3;
	assert_int_equal(idem_hash_begin(&r.body_sha, r.method_str, r.uri), 0);
	while ((n = http_read(&r, buf, sizeof(buf))) > 0)
		continue;
	assert_int_equal(n, 0);
	assert_int_equal(idem_hash_final(r.body_sha, hex), 0);
	assert_string_equal(hex, want);
	http_req_free(&r);	/* frees r.body_sha */

	/* http_read_body feeds it the same way; another URI differs. */
	req_post(&r, &m, "/batch", "{\"a\": 1}");
	assert_int_equal(idem_hash_begin(&r.body_sha, r.method_str, r.uri), 0);
	assert_int_equal(http_read_body(&r), 0);
	assert_int_equal(idem_hash_final(r.body_sha, hex), 0);
	assert_string_equal(hex, want);
	http_req_free(&r);
	req_post(&r, &m, "/batch/", "{\"a\": 1}");
	assert_int_equal(idem_hash_begin(&r.body_sha, r.method_str, r.uri), 0);
	assert_int_equal(http_read_body(&r), 0);
	assert_int_equal(idem_hash_final(r.body_sha, hex), 0);
	assert_string_not_equal(hex, want);
	http_req_free(&r);
	free(m.out);
}

/*
 * The request hash leaves out the timestamp and the signature: a retry
 * signed afresh (a new timestamp, so a new v2 signature, as singularity-cli
 * and any client must send it) is the same request. Two copies with their
 * own authentication headers, each with the v2 HMAC fed beside the hash,
 * hash alike, to the digest of test_hash_fed_by_read.
 */
static void
test_hash_ignores_signature(void **state)
{
	static const char	 want[] =
	    "2a99e277d49d0cd3017c2ce43368e8b1f43b5640d007d842bbc1bd5021fdd994";
	static const char	 body[] = "{\"a\": 1}";
	static const char *const ts[] = { "1700000000", "1700000007" };
	static const char	 secret[] = "0123456789abcdef";
	unsigned char		 md[2][AUTH_DIGEST_LEN];
	char			 env_cl[64], env_ts[64], env_sig[200];
	char			*envp[] = { "REQUEST_METHOD=POST",
	    "REQUEST_URI=/batch", env_cl, env_ts, env_sig,
	    "HTTP_IDEMPOTENCY_KEY=k1", NULL };
	char			 hex[IDEM_HASH_HEX + 1];
	struct http_req		 r;
	struct mem		 m;
	size_t			 i;

	(void)state;
	for (i = 0; i < NITEMS(ts); i++) {
		snprintf(env_cl, sizeof(env_cl), "CONTENT_LENGTH=%zu",
		    strlen(body));
		snprintf(env_ts, sizeof(env_ts),
		    "HTTP_X_SINGULARITY_TIMESTAMP=%s", ts[i]);
		snprintf(env_sig, sizeof(env_sig),
		    "HTTP_X_SINGULARITY_SIGNATURE=%0128zu", i);
		memset(&m, 0, sizeof(m));
		m.in = body;
		m.inlen = strlen(body);
		assert_int_equal(http_parse(&r, envp, NULL), 0);
		r.io.read = mem_read;
		r.io.write = mem_write;
		r.io.arg = &m;
		assert_string_equal(r.h_timestamp, ts[i]);
		r.hmac = auth_hmac_begin(secret, strlen(secret), r.method_str,
		    r.uri, r.h_timestamp);
		assert_non_null(r.hmac);
		assert_int_equal(idem_hash_begin(&r.body_sha, r.method_str,
		    r.uri), 0);
		assert_int_equal(http_read_body(&r), 0);
		assert_int_equal(auth_hmac_final(r.hmac, md[i]), 0);
		assert_int_equal(idem_hash_final(r.body_sha, hex), 0);
		assert_string_equal(hex, want);
		http_req_free(&r);
		free(m.out);
	}
	/* The two copies were signed differently all the same. */
	assert_int_equal(auth_digest_equal(md[0], md[1]), 0);
}

/* --- the answer capture and the header lookup --------------------------- */

static void
test_capture(void **state)
{
	struct http_req	 r;
	struct mem	 m;
	char		*v;

	req_post(&r, &m, "/batch", "");
	http_capture(&r, 10);
	assert_int_equal(http_add_header(&r, "Content-Type",
	    "application/json"), 0);
	assert_int_equal(http_add_header(&r, "location", "/batch/x"), 0);
	http_set_status(&r, 201);
	assert_int_equal(http_write(&r, "hello", 5), 0);
	assert_int_equal(r.capture_len, 5);
	assert_memory_equal(r.capture, "hello", 5);
	assert_int_equal(http_write(&r, "12345", 5), 0);
	assert_int_equal(r.capture_len, 10);
	assert_false(r.capture_overflow);
	/* One byte past the bound: no copy at all, the answer still whole. */
	assert_int_equal(http_write(&r, "!", 1), 0);
	assert_true(r.capture_overflow);
	assert_null(r.capture);
	assert_int_equal(http_write(&r, "more", 4), 0);
	assert_null(r.capture);
	assert_non_null(strstr(m.out, "\r\n\r\nhello12345!more"));

	v = http_response_header(&r, "content-type");
	assert_non_null(v);
	assert_string_equal(v, "application/json");
	free(v);
	v = http_response_header(&r, "Location");
	assert_non_null(v);
	assert_string_equal(v, "/batch/x");
	free(v);
	assert_null(http_response_header(&r, "Locatio"));
	assert_null(http_response_header(&r, "Retry-After"));
	http_capture(&r, 0);
	assert_int_equal(r.capture_max, 0);
	http_req_free(&r);
	free(m.out);

	/* No capture asked: nothing kept. */
	req_post(&r, &m, "/batch", "");
	assert_int_equal(http_write(&r, "hello", 5), 0);
	assert_null(r.capture);
	http_req_free(&r);
	free(m.out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_table),
		cmocka_unit_test(test_hash_fed_by_read),
		cmocka_unit_test(test_hash_ignores_signature),
		cmocka_unit_test(test_capture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test-http.c: request parsing from the CGI environment, and the response
 * writer, driven through a memory I/O backend.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "auth.h"
#include "conf.h"
#include "http.h"
#include "log.h"
#include "responder.h"
#include "route.h"
#include "util.h"

/* --- a memory http_io backend ------------------------------------------ */

struct mem {
	const char	*in;		/* what the "client" sends */
	size_t		 inlen, inpos;
	size_t		 chunk;		/* largest read answered (0: any) */
	int		 fail_read;
	char		*out;		/* what the responder wrote */
	size_t		 outlen;
};

static ssize_t
mem_read(void *arg, void *buf, size_t n)
{
	struct mem	*m = arg;

	if (m->fail_read)
		return -1;
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

static void
mem_attach(struct http_req *r, struct mem *m)
{
	r->io.read = mem_read;
	r->io.write = mem_write;
	r->io.arg = m;
}

/* Body of a captured response (after the blank line), or NULL. */
static const char *
resp_body(const struct mem *m)
{
	const char	*p;

	if (m->out == NULL || (p = strstr(m->out, "\r\n\r\n")) == NULL)
		return NULL;
	return p + 4;
}

/*
 * Value of header name in a captured response, copied into buf (size n);
 * NULL when absent. Fails the test when the header appears twice.
 */
static const char *
resp_header(const struct mem *m, const char *name, char *buf, size_t n)
{
	const char	*p, *end, *hit = NULL, *eol;
	size_t		 nlen = strlen(name);

	assert_non_null(m->out);
	end = strstr(m->out, "\r\n\r\n");
	assert_non_null(end);
	for (p = m->out; p < end; p = eol + 2) {
		eol = strstr(p, "\r\n");
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			if (hit != NULL)
				fail_msg("header %s sent twice", name);
			hit = p + nlen + 2;
			snprintf(buf, n, "%.*s", (int)(eol - hit), hit);
		}
	}
	return hit == NULL ? NULL : buf;
}

/* --- http_parse: a table of environments ------------------------------- */

static char uri_max[HTTP_MAX_URI + 64];	/* REQUEST_URI=/aaa... of HTTP_MAX_URI */
static char uri_over[HTTP_MAX_URI + 64];	/* one byte more */
static char hdr_max[HTTP_MAX_HEADER + 64];	/* NAME= + HTTP_MAX_HEADER */
static char hdr_over[HTTP_MAX_HEADER + 64];
static char sn_over[HTTP_MAX_URI + 64];		/* SCRIPT_NAME too long */

static int
make_long(void **state)
{
	size_t	 off;

	off = (size_t)snprintf(uri_max, sizeof(uri_max), "REQUEST_URI=/");
	memset(uri_max + off, 'a', HTTP_MAX_URI - 1);
	uri_max[off + HTTP_MAX_URI - 1] = '\0';
	off = (size_t)snprintf(uri_over, sizeof(uri_over), "REQUEST_URI=/");
	memset(uri_over + off, 'a', HTTP_MAX_URI);
	uri_over[off + HTTP_MAX_URI] = '\0';
	off = (size_t)snprintf(hdr_max, sizeof(hdr_max), "HTTP_X_SINGULARITY_APIKEY=");
	memset(hdr_max + off, 'k', HTTP_MAX_HEADER);
	hdr_max[off + HTTP_MAX_HEADER] = '\0';
	off = (size_t)snprintf(hdr_over, sizeof(hdr_over), "HTTP_IF_NONE_MATCH=");
	memset(hdr_over + off, 'k', HTTP_MAX_HEADER + 1);
	hdr_over[off + HTTP_MAX_HEADER + 1] = '\0';
	off = (size_t)snprintf(sn_over, sizeof(sn_over), "SCRIPT_NAME=/");
	memset(sn_over + off, 's', HTTP_MAX_URI);
	sn_over[off + HTTP_MAX_URI] = '\0';
	return 0;
}

struct parse_case {
	int		 line;
	const char	*env[8];
	int		 status;
};

#define GET	"REQUEST_METHOD=GET"
#define PING	"REQUEST_URI=/ping"

static const struct parse_case parse_cases[] = {
	/* good */
	{ __LINE__, { GET, PING }, 0 },
	{ __LINE__, { GET, "REQUEST_URI=/ping?a=1&b=2" }, 0 },
	{ __LINE__, { "REQUEST_METHOD=HEAD", PING }, 0 },
	{ __LINE__, { "REQUEST_METHOD=BREW", PING }, 0 },	/* 405 later */
	{ __LINE__, { GET, "REQUEST_URI=/", "HTTPS=on" }, 0 },
	{ __LINE__, { GET, "REQUEST_URI=/caf\xc3\xa9" }, 0 },
	{ __LINE__, { GET, uri_max }, 0 },
	{ __LINE__, { GET, PING, hdr_max }, 0 },
	{ __LINE__, { GET, "SCRIPT_NAME=/cgi-bin/st-ping", "PATH_INFO=/ping" }, 0 },
	{ __LINE__, { GET, "PATH_INFO=/ping", "QUERY_STRING=x=1" }, 0 },
	/* method */
	{ __LINE__, { PING }, 400 },
	{ __LINE__, { "REQUEST_METHOD=", PING }, 400 },
	{ __LINE__, { "REQUEST_METHOD=GE T", PING }, 400 },
	{ __LINE__, { "REQUEST_METHOD=GET\x01", PING }, 400 },
	{ __LINE__, { "REQUEST_METHOD=GET\r\nX: y", PING }, 400 },
	/* URI */
	{ __LINE__, { GET }, 400 },
	{ __LINE__, { GET, "QUERY_STRING=a=1" }, 400 },
	{ __LINE__, { GET, "REQUEST_URI=" }, 400 },
	{ __LINE__, { GET, "REQUEST_URI=ping" }, 400 },
	{ __LINE__, { GET, "REQUEST_URI=http://example.org/ping" }, 400 },
	{ __LINE__, { GET, "REQUEST_URI=*" }, 400 },
	{ __LINE__, { GET, "REQUEST_URI=/pi\tng" }, 400 },
	{ __LINE__, { GET, "REQUEST_URI=/ping\x7f" }, 400 },
	{ __LINE__, { GET, "REQUEST_URI=/ping\r\nX-Evil: 1" }, 400 },
	{ __LINE__, { GET, "REQUEST_URI=/ping?q=\x1b[31m" }, 400 },
	{ __LINE__, { GET, uri_over }, 414 },
	{ __LINE__, { GET, sn_over, "PATH_INFO=/x" }, 414 },
	/* headers */
	{ __LINE__, { GET, PING, hdr_over }, 431 },
	{ __LINE__, { GET, PING, "HTTP_X_SINGULARITY_APIKEY=abc\x01" }, 400 },
	{ __LINE__, { GET, PING, "HTTP_X_SINGULARITY_SIGNATURE=ab\ncd" }, 400 },
	{ __LINE__, { GET, PING, "HTTP_X_SINGULARITY_TIMESTAMP=1\r" }, 400 },
	{ __LINE__, { GET, PING, "HTTP_IF_NONE_MATCH=\"x\x7f\"" }, 400 },
	{ __LINE__, { GET, PING, "HTTP_IDEMPOTENCY_KEY=\x02" }, 400 },
	{ __LINE__, { GET, PING, "REMOTE_ADDR=127.0.0.1\n" }, 400 },
	{ __LINE__, { GET, PING, "HTTP_X_SINGULARITY_SIGNATURE=ab\tcd" }, 400 },
	{ __LINE__, { GET, PING, "HTTP_X_OTHER=\x01" }, 0 },	/* not ours */
	{ __LINE__, { GET, PING, "HTTP_RANGE=bytes=0-\r\nX: y" }, 400 },
	{ __LINE__, { GET, PING, "HTTP_IF_RANGE=\"x\"\x01" }, 400 },
	{ __LINE__, { GET, PING, "HTTP_RANGE=anything at all" }, 0 },
	/* CONTENT_LENGTH */
	{ __LINE__, { GET, PING, "CONTENT_LENGTH=" }, 0 },
	{ __LINE__, { GET, PING, "CONTENT_LENGTH=0" }, 0 },
	{ __LINE__, { GET, PING, "CONTENT_LENGTH=007" }, 0 },
	{ __LINE__, { GET, PING, "CONTENT_LENGTH=18446744073709551615" }, 0 },
	{ __LINE__, { GET, PING, "CONTENT_LENGTH=18446744073709551616" }, 400 },
	{ __LINE__, { GET, PING, "CONTENT_LENGTH=99999999999999999999999" }, 400 },
	{ __LINE__, { GET, PING, "CONTENT_LENGTH=-1" }, 400 },
	{ __LINE__, { GET, PING, "CONTENT_LENGTH=+5" }, 400 },
	{ __LINE__, { GET, PING, "CONTENT_LENGTH= 5" }, 400 },
	{ __LINE__, { GET, PING, "CONTENT_LENGTH=5 " }, 400 },
	{ __LINE__, { GET, PING, "CONTENT_LENGTH=5x" }, 400 },
	{ __LINE__, { GET, PING, "CONTENT_LENGTH=0x10" }, 400 },
	{ __LINE__, { GET, PING, "CONTENT_LENGTH=1e3" }, 400 },
};

/* --- Range (RFC 9110 14) ------------------------------------------------ */

#define BIG	18446744073709551615ULL	/* ULLONG_MAX: saturated */

struct range_case {
	int		 line;
	const char	*in;
	enum http_range_kind kind;
	int		 suffix, has_last;
	unsigned long long first, last, len;
};

static const struct range_case range_cases[] = {
	/* one range */
	{ __LINE__, "bytes=0-", HTTP_RANGE_ONE, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=100-", HTTP_RANGE_ONE, 0, 0, 100, 0, 0 },
	{ __LINE__, "bytes=100-199", HTTP_RANGE_ONE, 0, 1, 100, 199, 0 },
	{ __LINE__, "bytes=5-5", HTTP_RANGE_ONE, 0, 1, 5, 5, 0 },
	{ __LINE__, "bytes=-500", HTTP_RANGE_ONE, 1, 0, 0, 0, 500 },
	{ __LINE__, "bytes=-0", HTTP_RANGE_ONE, 1, 0, 0, 0, 0 },
	{ __LINE__, "BYTES=7-", HTTP_RANGE_ONE, 0, 0, 7, 0, 0 },
	{ __LINE__, "Bytes=007-010", HTTP_RANGE_ONE, 0, 1, 7, 10, 0 },
	{ __LINE__, "  bytes=1-2  ", HTTP_RANGE_ONE, 0, 1, 1, 2, 0 },
	{ __LINE__, "bytes=1-2,", HTTP_RANGE_ONE, 0, 1, 1, 2, 0 },
	{ __LINE__, "bytes=, ,1-2 ,\t", HTTP_RANGE_ONE, 0, 1, 1, 2, 0 },
	{ __LINE__, "bytes=99999999999999999999999-", HTTP_RANGE_ONE, 0, 0,
	    BIG, 0, 0 },
	{ __LINE__, "bytes=18446744073709551615-", HTTP_RANGE_ONE, 0, 0,
	    BIG, 0, 0 },
	{ __LINE__, "bytes=18446744073709551614-18446744073709551616",
	    HTTP_RANGE_ONE, 0, 1, BIG - 1, BIG, 0 },
	{ __LINE__, "bytes=-99999999999999999999999", HTTP_RANGE_ONE, 1, 0, 0,
	    0, BIG },
	/* several: the first is kept, the kind says MANY */
	{ __LINE__, "bytes=0-1,5-", HTTP_RANGE_MANY, 0, 1, 0, 1, 0 },
	{ __LINE__, "bytes=-5, 0-", HTTP_RANGE_MANY, 1, 0, 0, 0, 5 },
	{ __LINE__, "bytes=0-0,0-0,0-0", HTTP_RANGE_MANY, 0, 1, 0, 0, 0 },
	/* ignored (none or another unit), or malformed (all zero) */
	{ __LINE__, "", HTTP_RANGE_NONE, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes", HTTP_RANGE_NONE, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes= ,, ", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes =0-", HTTP_RANGE_NONE, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes= 0 -", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=0 -1", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=0- 1", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "items=0-5", HTTP_RANGE_NONE, 0, 0, 0, 0, 0 },
	{ __LINE__, "byte=0-5", HTTP_RANGE_NONE, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytesx=0-5", HTTP_RANGE_NONE, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=5-4", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=0-1,5-4", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=-", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=--5", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=-5-", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=-5-6", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=+5-", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=5", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=0x10-", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=1e3-", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=0-1;2-3", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=0-1 2-3", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=a-b", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=0-\xff", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "bytes=\xd9\xa0-", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, "BYTES=x", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
	{ __LINE__, " \tbytes=", HTTP_RANGE_BAD, 0, 0, 0, 0, 0 },
};

static void
test_range_parse(void **state)
{
	const struct range_case	*c;
	struct http_range	 rg;
	char			*copy;
	size_t			 i, n;
	int			 bad = 0;

	for (i = 0; i < NITEMS(range_cases); i++) {
		c = &range_cases[i];
		/* Not NUL-terminated: the parser must stop at n. */
		n = strlen(c->in);
		copy = malloc(n + 1);
		assert_non_null(copy);
		memcpy(copy, c->in, n);
		copy[n] = '5';
		if (http_range_parse(copy, n, &rg) != c->kind ||
		    rg.kind != c->kind || rg.suffix != c->suffix ||
		    rg.has_last != c->has_last || rg.first != c->first ||
		    rg.last != c->last || rg.len != c->len) {
			print_error("range case line %d \"%s\": got kind %d "
			    "suffix %d has_last %d %llu %llu %llu\n", c->line,
			    c->in, rg.kind, rg.suffix, rg.has_last, rg.first,
			    rg.last, rg.len);
			bad++;
		}
		free(copy);
	}
	assert_int_equal(http_range_parse(NULL, 0, &rg), HTTP_RANGE_NONE);
	/* The same text cut short is never read past its end. */
	assert_int_equal(http_range_parse("bytes=0-9", 8, &rg), HTTP_RANGE_ONE);
	assert_false(rg.has_last);
	assert_int_equal(http_range_parse("bytes=0-9", 5, &rg), HTTP_RANGE_NONE);
	assert_int_equal(bad, 0);
}

struct resolve_case {
	int		 line;
	const char	*in;
	unsigned long long total;
	int		 rc;
	unsigned long long first, last;
};

static const struct resolve_case resolve_cases[] = {
	{ __LINE__, "bytes=0-", 1000, 0, 0, 999 },
	{ __LINE__, "bytes=999-", 1000, 0, 999, 999 },
	{ __LINE__, "bytes=1000-", 1000, -1, 0, 0 },	/* nothing new yet */
	{ __LINE__, "bytes=1001-", 1000, -1, 0, 0 },
	{ __LINE__, "bytes=0-", 0, -1, 0, 0 },
	{ __LINE__, "bytes=10-19", 1000, 0, 10, 19 },
	{ __LINE__, "bytes=10-5000", 1000, 0, 10, 999 },
	{ __LINE__, "bytes=10-18446744073709551616", 1000, 0, 10, 999 },
	{ __LINE__, "bytes=999-999", 1000, 0, 999, 999 },
	{ __LINE__, "bytes=-1", 1000, 0, 999, 999 },
	{ __LINE__, "bytes=-300", 1000, 0, 700, 999 },
	{ __LINE__, "bytes=-1000", 1000, 0, 0, 999 },
	{ __LINE__, "bytes=-5000", 1000, 0, 0, 999 },
	{ __LINE__, "bytes=-0", 1000, -1, 0, 0 },
	{ __LINE__, "bytes=-5", 0, -1, 0, 0 },
	{ __LINE__, "bytes=99999999999999999999-", 9223372036854775807ULL,
	    -1, 0, 0 },
	{ __LINE__, "bytes=0-1,5-", 1000, -1, 0, 0 },	/* MANY */
	{ __LINE__, "items=0-", 1000, -1, 0, 0 },	/* NONE */
	{ __LINE__, "bytes=5-1", 1000, -1, 0, 0 },	/* BAD */
};

static void
test_range_resolve(void **state)
{
	const struct resolve_case	*c;
	struct http_range		 rg;
	unsigned long long		 first, last;
	size_t				 i;
	int				 rc, bad = 0;

	for (i = 0; i < NITEMS(resolve_cases); i++) {
		c = &resolve_cases[i];
		first = last = 12345;
		(void)http_range_parse(c->in, strlen(c->in), &rg);
		rc = http_range_resolve(&rg, c->total, &first, &last);
		if (rc != c->rc || (rc == 0 && (first != c->first ||
		    last != c->last))) {
			print_error("resolve case line %d \"%s\" of %llu: got "
			    "%d %llu-%llu\n", c->line, c->in, c->total, rc,
			    first, last);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void
test_parse_table(void **state)
{
	struct http_req	 r;
	size_t		 i;
	int		 rc, bad = 0;

	for (i = 0; i < NITEMS(parse_cases); i++) {
		rc = http_parse(&r, (char **)parse_cases[i].env, "");
		if (rc != parse_cases[i].status) {
			print_error("parse case %zu (line %d): got %d, want %d\n",
			    i, parse_cases[i].line, rc, parse_cases[i].status);
			bad++;
		}
		/* A request id is set even on failure. */
		if (strlen(r.request_id) != UUID_STR_LEN) {
			print_error("parse case %zu (line %d): no request id\n",
			    i, parse_cases[i].line);
			bad++;
		}
		http_req_free(&r);
	}
	assert_int_equal(bad, 0);
}

static void
test_parse_fields(void **state)
{
	const char	*env[] = {
		"REQUEST_METHOD=POST",
		"REQUEST_URI=/batch/abc?limit=5",
		"HTTPS=on",
		"CONTENT_LENGTH=42",
		"HTTP_X_SINGULARITY_APIKEY=k",
		"HTTP_X_SINGULARITY_SIGNATURE=s",
		"HTTP_X_SINGULARITY_TIMESTAMP=t",
		"HTTP_IF_NONE_MATCH=\"e\"",
		"HTTP_IDEMPOTENCY_KEY=i",
		"REMOTE_ADDR=127.0.0.1",
		"HTTP_RANGE=bytes=5-",
		"HTTP_IF_RANGE=\"r\"",
		NULL,
	};
	struct http_req	 r;
	char		 canon[UUID_STR_LEN + 1];

	assert_int_equal(http_parse(&r, (char **)env, NULL), 0);
	assert_int_equal(r.method, HTTP_POST);
	assert_string_equal(r.method_str, "POST");
	assert_string_equal(r.uri, "/batch/abc?limit=5");
	assert_string_equal(r.path, "/batch/abc");
	assert_string_equal(r.query, "limit=5");
	assert_int_equal(r.https, 1);
	assert_true(r.content_length == 42);
	assert_string_equal(r.h_apikey, "k");
	assert_string_equal(r.h_signature, "s");
	assert_string_equal(r.h_timestamp, "t");
	assert_string_equal(r.h_if_none_match, "\"e\"");
	assert_string_equal(r.h_idempotency_key, "i");
	assert_string_equal(r.remote_addr, "127.0.0.1");
	assert_string_equal(r.h_range, "bytes=5-");
	assert_string_equal(r.h_if_range, "\"r\"");
	assert_int_equal(r.head_only, 0);
	assert_int_equal(util_uuid_parse(r.request_id, canon), 0);
	assert_string_equal(canon, r.request_id);
	assert_null(r.body);
	http_req_free(&r);

	/* Absent: NULL headers, empty query, no TLS, no body. */
	env[1] = "REQUEST_URI=/ping";
	env[2] = NULL;
	assert_int_equal(http_parse(&r, (char **)env, NULL), 0);
	assert_string_equal(r.query, "");
	assert_int_equal(r.https, 0);
	assert_true(r.content_length == 0);
	assert_null(r.h_apikey);
	assert_null(r.remote_addr);
	http_req_free(&r);
}

static void
test_parse_rebuilt_uri(void **state)
{
	const char	*env[] = { GET, "SCRIPT_NAME=/cgi-bin/st-ping",
	    "PATH_INFO=/ping", "QUERY_STRING=a=1", NULL };
	struct http_req	 r;

	assert_int_equal(http_parse(&r, (char **)env, "/cgi-bin/st-ping"), 0);
	assert_string_equal(r.uri, "/cgi-bin/st-ping/ping?a=1");
	assert_string_equal(r.path, "/ping");
	assert_string_equal(r.query, "a=1");
	http_req_free(&r);

	/* REQUEST_URI wins when both are there. */
	env[3] = "REQUEST_URI=/ping";
	assert_int_equal(http_parse(&r, (char **)env, NULL), 0);
	assert_string_equal(r.uri, "/ping");
	http_req_free(&r);
}

static void
test_parse_https(void **state)
{
	static const struct {
		const char	*v;
		int		 https;
	} cases[] = {
		{ "HTTPS=on", 1 }, { "HTTPS=ON", 1 }, { "HTTPS=On", 1 },
		{ "HTTPS=1", 1 }, { "HTTPS=off", 0 }, { "HTTPS=0", 0 },
		{ "HTTPS=", 0 }, { "HTTPS=yes", 0 }, { "HTTPSX=on", 0 },
	};
	const char	*env[] = { GET, PING, NULL, NULL };
	struct http_req	 r;
	size_t		 i;

	for (i = 0; i < NITEMS(cases); i++) {
		env[2] = cases[i].v;
		assert_int_equal(http_parse(&r, (char **)env, NULL), 0);
		if (r.https != cases[i].https)
			fail_msg("https case %zu (%s): got %d", i, cases[i].v,
			    r.https);
		http_req_free(&r);
	}
}

static void
test_parse_base_path(void **state)
{
	static const struct {
		int		 line;
		const char	*base, *uri, *path;
	} cases[] = {
		{ __LINE__, NULL, "/ping", "/ping" },
		{ __LINE__, "", "/ping", "/ping" },
		{ __LINE__, "/", "/ping", "/ping" },
		{ __LINE__, "/api", "/api/ping", "/ping" },
		{ __LINE__, "/api/", "/api/ping", "/ping" },
		{ __LINE__, "/api", "/api", "/" },
		{ __LINE__, "/api", "/api/", "/" },
		{ __LINE__, "/api", "/api?x=1", "/" },
		{ __LINE__, "/api", "/api/ping?x=/api", "/ping" },
		{ __LINE__, "/api", "/apiary/ping", "/apiary/ping" },
		{ __LINE__, "/api", "/ap", "/ap" },
		{ __LINE__, "/api", "/ping", "/ping" },
		{ __LINE__, "/api", "/API/ping", "/API/ping" },
		{ __LINE__, "/a/b", "/a/b/c/d", "/c/d" },
		{ __LINE__, "/a/b", "/a/bc", "/a/bc" },
		{ __LINE__, "/api", "/api/api/ping", "/api/ping" },
	};
	const char	*env[] = { GET, NULL, NULL };
	struct http_req	 r;
	char		 uri[128];
	size_t		 i;

	for (i = 0; i < NITEMS(cases); i++) {
		snprintf(uri, sizeof(uri), "REQUEST_URI=%s", cases[i].uri);
		env[1] = uri;
		assert_int_equal(http_parse(&r, (char **)env, cases[i].base), 0);
		if (strcmp(r.path, cases[i].path) != 0)
			fail_msg("base case %zu (line %d): got %s, want %s",
			    i, cases[i].line, r.path, cases[i].path);
		/* The signed URI is never changed. */
		assert_string_equal(r.uri, cases[i].uri);
		http_req_free(&r);
	}
}

static void
test_methods(void **state)
{
	assert_int_equal(http_method_from_str("GET"), HTTP_GET);
	assert_int_equal(http_method_from_str("HEAD"), HTTP_HEAD);
	assert_int_equal(http_method_from_str("DELETE"), HTTP_DELETE);
	assert_int_equal(http_method_from_str("get"), HTTP_OTHER);
	assert_int_equal(http_method_from_str("GETS"), HTTP_OTHER);
	assert_int_equal(http_method_from_str(NULL), HTTP_OTHER);
	assert_string_equal(http_methods_str(HTTP_GET | HTTP_HEAD), "GET, HEAD");
	assert_string_equal(http_methods_str(HTTP_DELETE | HTTP_GET | HTTP_POST),
	    "GET, POST, DELETE");
	assert_string_equal(http_methods_str(0), "");
	assert_string_equal(http_methods_str(0xff),
	    "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
	assert_string_equal(http_reason(404), "Not Found");
	assert_string_equal(http_reason(413), "Payload Too Large");
	assert_string_equal(http_reason(431), "Request Header Fields Too Large");
	assert_string_equal(http_reason(299), "Unknown");
}

static void
test_getenv(void **state)
{
	const char	*env[] = { "A=1", "AB=2", "B", "A=3", "C=", NULL };

	assert_string_equal(http_getenv((char **)env, "A"), "1");
	assert_string_equal(http_getenv((char **)env, "AB"), "2");
	assert_null(http_getenv((char **)env, "B"));
	assert_string_equal(http_getenv((char **)env, "C"), "");
	assert_null(http_getenv((char **)env, "D"));
	assert_null(http_getenv(NULL, "A"));
}

/* --- responses ---------------------------------------------------------- */

/* Parse a GET (or method) /x request attached to m. */
static void
req_new(struct http_req *r, struct mem *m, const char *method_env)
{
	const char	*env[] = { method_env, "REQUEST_URI=/x", NULL };

	memset(m, 0, sizeof(*m));
	assert_int_equal(http_parse(r, (char **)env, NULL), 0);
	mem_attach(r, m);
}

static void
test_error_response(void **state)
{
	struct http_req	 r;
	struct mem	 m;
	cJSON		*obj;
	char		 id[64], trace[64], buf[64];
	const char	*body;

	req_new(&r, &m, GET);
	assert_int_equal(http_send_error(&r, 404, "not_found",
	    "no such \"%s\"\n", "thing"), 0);
	assert_non_null(m.out);
	assert_true(strncmp(m.out, "Status: 404 Not Found\r\n", 23) == 0);
	assert_non_null(resp_header(&m, "X-Request-Id", id, sizeof(id)));
	assert_non_null(resp_header(&m, "X-atlas-trace", trace, sizeof(trace)));
	assert_string_equal(id, r.request_id);
	assert_string_equal(trace, r.request_id);
	assert_string_equal(resp_header(&m, "Content-Type", buf, sizeof(buf)),
	    "application/json");
	assert_null(resp_header(&m, "Retry-After", buf, sizeof(buf)));
	body = resp_body(&m);
	assert_non_null(body);
	snprintf(id, sizeof(id), "%zu", strlen(body));
	assert_string_equal(resp_header(&m, "Content-Length", buf, sizeof(buf)), id);
	assert_true(r.bytes_sent == strlen(body));

	obj = cJSON_Parse(body);
	assert_non_null(obj);
	assert_string_equal(cJSON_GetObjectItem(obj, "error")->valuestring,
	    "no such \"thing\"\n");
	assert_string_equal(cJSON_GetObjectItem(obj, "code")->valuestring,
	    "not_found");
	assert_int_equal(cJSON_GetArraySize(obj), 2);
	cJSON_Delete(obj);

	/* Nothing more can be sent once the answer is out. */
	assert_int_equal(http_send_error(&r, 500, "internal", "x"), -1);
	assert_int_equal(http_add_header(&r, "X-Late", "1"), -1);
	free(m.out);
	http_req_free(&r);
}

static void
test_unavailable_retry_after(void **state)
{
	struct http_req	 r;
	struct mem	 m;
	char		 buf[64];

	req_new(&r, &m, GET);
	assert_int_equal(http_send_error(&r, 503, "unavailable", "later"), 0);
	assert_true(strncmp(m.out, "Status: 503 Service Unavailable\r\n", 33) == 0);
	assert_string_equal(resp_header(&m, "Retry-After", buf, sizeof(buf)), "5");
	free(m.out);
	http_req_free(&r);
}

static void
test_head_has_no_body(void **state)
{
	struct http_req	 r;
	struct mem	 m;
	char		 buf[64];
	cJSON		*obj;

	req_new(&r, &m, "REQUEST_METHOD=HEAD");
	assert_int_equal(r.head_only, 1);
	assert_int_equal(http_send_text(&r, 200, "pong"), 0);
	assert_string_equal(resp_header(&m, "Content-Length", buf, sizeof(buf)), "4");
	assert_string_equal(resp_header(&m, "Content-Type", buf, sizeof(buf)),
	    "text/plain");
	assert_string_equal(resp_body(&m), "");
	assert_true(r.bytes_sent == 0);
	free(m.out);
	http_req_free(&r);

	req_new(&r, &m, "REQUEST_METHOD=HEAD");
	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "a", "b");
	assert_int_equal(http_send_json(&r, 200, obj), 0);
	cJSON_Delete(obj);
	assert_string_equal(resp_header(&m, "Content-Length", buf, sizeof(buf)), "9");
	assert_string_equal(resp_body(&m), "");
	free(m.out);
	http_req_free(&r);
}

static void
test_headers(void **state)
{
	struct http_req	 r;
	struct mem	 m;
	char		 buf[64];

	req_new(&r, &m, GET);
	assert_int_equal(http_add_header(&r, "X-Ok", "a\tb"), 0);
	assert_int_equal(http_add_header(&r, "X-Bad", "a\r\nX-Evil: 1"), -1);
	assert_int_equal(http_add_header(&r, "X-Bad", "a\nb"), -1);
	assert_int_equal(http_add_header(&r, "X-Bad", "a\rb"), -1);
	assert_int_equal(http_add_header(&r, "X-Bad", "a\x7f"), -1);
	assert_int_equal(http_add_header(&r, "X-Evil\r\nY", "1"), -1);
	assert_int_equal(http_add_header(&r, "X Bad", "1"), -1);
	assert_int_equal(http_add_header(&r, "X:Bad", "1"), -1);
	assert_int_equal(http_add_header(&r, "", "1"), -1);
	assert_int_equal(http_add_header(&r, NULL, "1"), -1);
	assert_int_equal(http_add_header(&r, "X-Null", NULL), -1);
	/* An earlier Content-Type is replaced, not repeated. */
	assert_int_equal(http_add_header(&r, "content-type", "text/html"), 0);
	assert_int_equal(http_send_text(&r, 201, "made"), 0);
	assert_true(strncmp(m.out, "Status: 201 Created\r\n", 21) == 0);
	assert_string_equal(resp_header(&m, "X-Ok", buf, sizeof(buf)), "a\tb");
	assert_string_equal(resp_header(&m, "Content-Type", buf, sizeof(buf)),
	    "text/plain");
	assert_null(resp_header(&m, "X-Bad", buf, sizeof(buf)));
	assert_null(strstr(m.out, "Evil"));
	assert_string_equal(resp_body(&m), "made");
	free(m.out);
	http_req_free(&r);
}

static void
test_write_and_finish(void **state)
{
	struct http_req	 r;
	struct mem	 m;

	/* Default status 200; headers go out once, before the first byte. */
	req_new(&r, &m, GET);
	assert_int_equal(http_add_header(&r, "Content-Type", "application/zip"), 0);
	assert_int_equal(http_write(&r, "ab", 2), 0);
	assert_int_equal(http_write(&r, "cd", 2), 0);
	assert_int_equal(http_finish(&r), 0);
	assert_true(strncmp(m.out, "Status: 200 OK\r\n", 16) == 0);
	assert_string_equal(resp_body(&m), "abcd");
	assert_non_null(strstr(m.out, "Content-Type: application/zip\r\n"));
	assert_null(strstr(resp_body(&m), "Status"));
	free(m.out);
	http_req_free(&r);

	/* An empty answer. */
	req_new(&r, &m, GET);
	http_set_status(&r, 204);
	assert_int_equal(http_finish(&r), 0);
	assert_int_equal(http_finish(&r), 0);
	assert_true(strncmp(m.out, "Status: 204 No Content\r\n", 24) == 0);
	assert_string_equal(resp_body(&m), "");
	free(m.out);
	http_req_free(&r);

	/* A nonsense status becomes 500. */
	req_new(&r, &m, GET);
	http_set_status(&r, 42);
	assert_int_equal(http_finish(&r), 0);
	assert_true(strncmp(m.out, "Status: 500 ", 12) == 0);
	free(m.out);
	http_req_free(&r);

	/* No backend: a failure, not a crash. */
	req_new(&r, &m, GET);
	r.io.write = NULL;
	assert_int_equal(http_send_text(&r, 200, "x"), -1);
	http_req_free(&r);
}

/* --- the body ------------------------------------------------------------ */

static void
req_body(struct http_req *r, struct mem *m, const char *cl, const char *in)
{
	char		 clenv[64];
	const char	*env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x?y=1",
	    clenv, NULL };

	snprintf(clenv, sizeof(clenv), "CONTENT_LENGTH=%s", cl);
	memset(m, 0, sizeof(*m));
	m->in = in;
	m->inlen = strlen(in);
	assert_int_equal(http_parse(r, (char **)env, NULL), 0);
	mem_attach(r, m);
}

static void
test_read_body_bounded(void **state)
{
	struct http_req	 r;
	struct mem	 m;
	char		 buf[16];

	/* The input holds more than CONTENT_LENGTH: the rest is not read. */
	req_body(&r, &m, "5", "hello, world");
	m.chunk = 2;
	assert_int_equal(http_read_body(&r), 0);
	assert_string_equal(r.body, "hello");
	assert_int_equal(r.body_len, 5);
	assert_int_equal(m.inpos, 5);
	assert_int_equal(http_read(&r, buf, sizeof(buf)), 0);
	assert_int_equal(m.inpos, 5);
	http_req_free(&r);

	/* Empty body: an empty string, nothing read. */
	req_body(&r, &m, "0", "junk");
	assert_int_equal(http_read_body(&r), 0);
	assert_string_equal(r.body, "");
	assert_int_equal(m.inpos, 0);
	http_req_free(&r);

	/* Truncated: the input ends before CONTENT_LENGTH. */
	req_body(&r, &m, "10", "abcd");
	assert_int_equal(http_read_body(&r), -1);
	assert_null(r.body);
	http_req_free(&r);

	req_body(&r, &m, "10", "abcd");
	assert_int_equal(http_read(&r, buf, sizeof(buf)), 4);
	assert_int_equal(http_read(&r, buf, sizeof(buf)), -1);
	http_req_free(&r);

	/* I/O error. */
	req_body(&r, &m, "3", "abc");
	m.fail_read = 1;
	assert_int_equal(http_read_body(&r), -1);
	http_req_free(&r);

	/* Too large to hold is refused, not attempted. */
	req_body(&r, &m, "18446744073709551615", "abc");
	assert_int_equal(http_read_body(&r), -1);
	assert_int_equal(m.inpos, 0);
	http_req_free(&r);
}

static void
test_read_feeds_hmac(void **state)
{
	static const char	 secret[] = "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef";
	static const char	 body[] = "{\"name\": \"set-1\", \"pilot_count\": 3}";
	struct http_req		 r;
	struct mem		 m;
	unsigned char		 got[AUTH_DIGEST_LEN], want[AUTH_DIGEST_LEN];
	char			 hex[AUTH_HEX_LEN + 1], cl[32], buf[7];
	ssize_t			 n;

	assert_int_equal(auth_sign_hex(secret, strlen(secret), "POST",
	    "/x?y=1", body, strlen(body), "1700000000", hex), 0);
	assert_int_equal(auth_parse_signature(hex, strlen(hex), want), 0);

	snprintf(cl, sizeof(cl), "%zu", strlen(body));
	req_body(&r, &m, cl, body);
	m.chunk = 3;
	r.hmac = auth_hmac_begin(secret, strlen(secret), r.method_str, r.uri,
	    "1700000000");
	assert_non_null(r.hmac);
	while ((n = http_read(&r, buf, sizeof(buf))) > 0)
		continue;
	assert_int_equal(n, 0);
	assert_true(r.body_read == strlen(body));
	assert_int_equal(auth_hmac_final(r.hmac, got), 0);
	assert_int_equal(auth_digest_equal(got, want), 1);
	http_req_free(&r);		/* frees r.hmac */

	/* http_read_body feeds it the same way. */
	req_body(&r, &m, cl, body);
	r.hmac = auth_hmac_begin(secret, strlen(secret), r.method_str, r.uri,
	    "1700000000");
	assert_int_equal(http_read_body(&r), 0);
	assert_int_equal(auth_hmac_final(r.hmac, got), 0);
	assert_int_equal(auth_digest_equal(got, want), 1);
	http_req_free(&r);
}

/* --- the order of the responder's checks (no server, no database) ------ */

static int
answer_ok(struct responder *rs, struct http_req *r)
{
	return http_send_text(r, 200, r->body == NULL ? "(not read)" : r->body);
}

static const struct route order_routes[] = {
	{ HTTP_GET | HTTP_POST, "/x", 0, answer_ok, 16, 0 },
	{ HTTP_GET, "/signed", 1, answer_ok, 0, 0 },
	{ HTTP_HEAD | HTTP_DELETE, "/y", 0, answer_ok, 16, 0 },
};

struct order_case {
	int		 line;
	const char	*env[6];
	const char	*in;
	int		 status;
	size_t		 read;		/* body bytes consumed */
	const char	*body;		/* expected response body, or NULL */
};

#define HTTPS_ON	"HTTPS=on"
#define KEY	"HTTP_X_SINGULARITY_APIKEY=0123456789abcdef0123456789abcdef"

static const struct order_case order_cases[] = {
	{ __LINE__, { GET, "REQUEST_URI=/x", HTTPS_ON }, "", 200, 0, "" },
	{ __LINE__, { "REQUEST_METHOD=POST", "REQUEST_URI=/x", HTTPS_ON,
	    "CONTENT_LENGTH=5" }, "hello, world", 200, 5, "hello" },
	{ __LINE__, { GET, "REQUEST_URI=/x" }, "", 403, 0, NULL },
	{ __LINE__, { GET, "REQUEST_URI=/x", "HTTPS=off" }, "", 403, 0, NULL },
	/* 403 comes before 404 */
	{ __LINE__, { GET, "REQUEST_URI=/nope" }, "", 403, 0, NULL },
	{ __LINE__, { GET, "REQUEST_URI=/nope", HTTPS_ON }, "", 404, 0, NULL },
	{ __LINE__, { "REQUEST_METHOD=PUT", "REQUEST_URI=/x", HTTPS_ON,
	    "CONTENT_LENGTH=500" }, "", 405, 0, NULL },
	/* 413 from CONTENT_LENGTH alone: nothing is read */
	{ __LINE__, { "REQUEST_METHOD=POST", "REQUEST_URI=/x", HTTPS_ON,
	    "CONTENT_LENGTH=17" }, "0123456789abcdefgh", 413, 0, NULL },
	{ __LINE__, { "REQUEST_METHOD=POST", "REQUEST_URI=/x", HTTPS_ON,
	    "CONTENT_LENGTH=10" }, "short", 400, 5, NULL },
	/* 413 before 401 */
	{ __LINE__, { GET, "REQUEST_URI=/signed", HTTPS_ON,
	    "CONTENT_LENGTH=99999999999" }, "", 413, 0, NULL },
	/* malformed auth headers: 401 without reading the body */
	{ __LINE__, { GET, "REQUEST_URI=/signed", HTTPS_ON, "CONTENT_LENGTH=3" },
	    "abc", 401, 0, NULL },
	{ __LINE__, { GET, "REQUEST_URI=/signed", HTTPS_ON, KEY },
	    "", 401, 0, NULL },
	{ __LINE__, { GET, "REQUEST_URI=/signed", HTTPS_ON, KEY,
	    "HTTP_X_SINGULARITY_SIGNATURE=abc" }, "", 401, 0, NULL },
	{ __LINE__, { GET, "REQUEST_URI=/signed", HTTPS_ON,
	    "HTTP_X_SINGULARITY_APIKEY=0123456789ABCDEF0123456789ABCDEF",
	    "HTTP_X_SINGULARITY_SIGNATURE=00" }, "", 401, 0, NULL },
	{ __LINE__, { GET, "REQUEST_URI=/signed", HTTPS_ON,
	    "HTTP_X_SINGULARITY_APIKEY=0123456789abcdef0123456789abcdef, "
	    "0123456789abcdef0123456789abcdef",
	    "HTTP_X_SINGULARITY_SIGNATURE=00" }, "", 401, 0, NULL },
	/* GET, HEAD and DELETE carry no body: 400 without reading it */
	{ __LINE__, { GET, "REQUEST_URI=/x", HTTPS_ON, "CONTENT_LENGTH=3" },
	    "abc", 400, 0, NULL },
	{ __LINE__, { "REQUEST_METHOD=HEAD", "REQUEST_URI=/y", HTTPS_ON,
	    "CONTENT_LENGTH=1" }, "a", 400, 0, NULL },
	{ __LINE__, { "REQUEST_METHOD=DELETE", "REQUEST_URI=/y", HTTPS_ON,
	    "CONTENT_LENGTH=1" }, "a", 400, 0, NULL },
	{ __LINE__, { "REQUEST_METHOD=DELETE", "REQUEST_URI=/y", HTTPS_ON,
	    "CONTENT_LENGTH=0" }, "", 200, 0, "" },
	{ __LINE__, { "REQUEST_METHOD=DELETE", "REQUEST_URI=/y", HTTPS_ON },
	    "", 200, 0, "" },
	/* 413 before 400 */
	{ __LINE__, { GET, "REQUEST_URI=/x", HTTPS_ON, "CONTENT_LENGTH=17" },
	    "0123456789abcdefgh", 413, 0, NULL },
};

static void
test_responder_order(void **state)
{
	struct responder	 rs;
	struct http_req		 r;
	struct mem		 m;
	char			 buf[64];
	cJSON			*obj;
	size_t			 i;
	int			 bad = 0;

	memset(&rs, 0, sizeof(rs));
	conf_defaults(&rs.conf);
	rs.name = "test-http";
	rs.routes = order_routes;
	rs.nroutes = NITEMS(order_routes);
	log_init("test-http", "/dev/null", CONF_LOG_ERROR);

	for (i = 0; i < NITEMS(order_cases); i++) {
		const struct order_case *c = &order_cases[i];

		memset(&m, 0, sizeof(m));
		m.in = c->in;
		m.inlen = strlen(c->in);
		assert_int_equal(http_parse(&r, (char **)c->env, NULL), 0);
		mem_attach(&r, &m);
		responder_handle(&rs, &r);
		if (r.status != c->status || m.inpos != c->read ||
		    (c->body != NULL && strcmp(resp_body(&m), c->body) != 0)) {
			print_error("order case %zu (line %d): got %d, read %zu, "
			    "want %d, read %zu\n", i, c->line, r.status, m.inpos,
			    c->status, c->read);
			bad++;
		}
		if (c->status == 405 && strcmp(resp_header(&m, "Allow", buf,
		    sizeof(buf)), "GET, POST") != 0)
			bad++;
		if (c->status >= 400 && r.method != HTTP_HEAD) {
			/* Every error is the one JSON shape (none on HEAD). */
			obj = cJSON_Parse(resp_body(&m));
			if (obj == NULL ||
			    !cJSON_IsString(cJSON_GetObjectItem(obj, "error")) ||
			    !cJSON_IsString(cJSON_GetObjectItem(obj, "code"))) {
				print_error("order case %zu: bad error body\n", i);
				bad++;
			}
			cJSON_Delete(obj);
		}
		assert_int_equal(rs.auth_pending, 0);
		assert_null(r.hmac);
		free(m.out);
		http_req_free(&r);
	}
	conf_free(&rs.conf);
	log_init("test-http", NULL, CONF_LOG_INFO);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_range_parse),
		cmocka_unit_test(test_range_resolve),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_rebuilt_uri),
		cmocka_unit_test(test_parse_https),
		cmocka_unit_test(test_parse_base_path),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_getenv),
		cmocka_unit_test(test_error_response),
		cmocka_unit_test(test_unavailable_retry_after),
		cmocka_unit_test(test_head_has_no_body),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_write_and_finish),
		cmocka_unit_test(test_read_body_bounded),
		cmocka_unit_test(test_read_feeds_hmac),
		cmocka_unit_test(test_responder_order),
	};

	return cmocka_run_group_tests(tests, make_long, NULL);
}

/*
 * test-route.c: the route table: literal segments, captures, the trailing
 * slash policy ("/ping/" is not "/ping"), 404 against 405 and its Allow
 * mask, HEAD only where listed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"
#include "route.h"
#include "util.h"

static int
h(struct responder *rs, struct http_req *r)
{
	return 0;
}

static const struct route table[] = {
	/* 0 */ { HTTP_GET | HTTP_HEAD, "/ping", 0, h, 0, 0 },
	/* 1 */ { HTTP_GET, "/batch", 1, h, 0, 0 },
	/* 2 */ { HTTP_POST, "/batch", 1, h, 0, 0 },
	/* 3 */ { HTTP_GET | HTTP_DELETE, "/batch/{id}", 1, h, 0, 0 },
	/* 4 */ { HTTP_GET, "/job/{id}/log", 1, h, 0, 0 },
	/* 5 */ { HTTP_POST, "/data/{set}/shard/{shard_id}", 1, h, 0, 1 },
	/* 6 */ { HTTP_POST, "/data/{set}/shard", 1, h, 0, 1 },
	/* 7 */ { HTTP_GET, "/model/{job}", 1, h, 0, 0 },
	/* 8 */ { HTTP_GET, "/model/{batch}/{job}", 1, h, 0, 0 },
	/* 9 */ { HTTP_GET, "/a/{1}/{2}/{3}/{4}/{5}", 0, h, 0, 0 },
	/* 10 */ { HTTP_GET, "/{x}/literal", 0, h, 0, 0 },
};

struct match_case {
	int		 line;
	const char	*method, *uri;
	int		 status;	/* 0 match, 404, 405 */
	int		 route;		/* index when matched */
	unsigned	 allow;		/* when 405 */
	const char	*params[HTTP_MAX_PARAMS];
};

static const struct match_case cases[] = {
	{ __LINE__, "GET", "/ping", 0, 0, 0, { NULL } },
	{ __LINE__, "HEAD", "/ping", 0, 0, 0, { NULL } },
	{ __LINE__, "GET", "/ping?x=/batch", 0, 0, 0, { NULL } },
	{ __LINE__, "POST", "/ping", 405, 0, HTTP_GET | HTTP_HEAD, { NULL } },
	{ __LINE__, "BREW", "/ping", 405, 0, HTTP_GET | HTTP_HEAD, { NULL } },
	{ __LINE__, "GET", "/ping/", 404, 0, 0, { NULL } },
	{ __LINE__, "GET", "//ping", 404, 0, 0, { NULL } },
	{ __LINE__, "GET", "/Ping", 404, 0, 0, { NULL } },
	{ __LINE__, "GET", "/pingx", 404, 0, 0, { NULL } },
	{ __LINE__, "GET", "/pin", 404, 0, 0, { NULL } },
	{ __LINE__, "GET", "/", 404, 0, 0, { NULL } },
	{ __LINE__, "GET", "/nowhere/at/all", 404, 0, 0, { NULL } },
	{ __LINE__, "GET", "/batch", 0, 1, 0, { NULL } },
	{ __LINE__, "POST", "/batch", 0, 2, 0, { NULL } },
	{ __LINE__, "DELETE", "/batch", 405, 0, HTTP_GET | HTTP_POST, { NULL } },
	{ __LINE__, "HEAD", "/batch", 405, 0, HTTP_GET | HTTP_POST, { NULL } },
	{ __LINE__, "GET", "/batch/", 404, 0, 0, { NULL } },
	{ __LINE__, "GET", "/batch/abc", 0, 3, 0, { "abc" } },
	{ __LINE__, "DELETE", "/batch/abc?x=1", 0, 3, 0, { "abc" } },
	{ __LINE__, "PUT", "/batch/abc", 405, 0, HTTP_GET | HTTP_DELETE, { NULL } },
	{ __LINE__, "GET", "/batch/abc/", 404, 0, 0, { NULL } },
	{ __LINE__, "GET", "/batch/abc/def", 404, 0, 0, { NULL } },
	{ __LINE__, "GET", "/batch/%2F", 0, 3, 0, { "%2F" } },
	{ __LINE__, "GET", "/job/j1/log", 0, 4, 0, { "j1" } },
	{ __LINE__, "GET", "/job//log", 404, 0, 0, { NULL } },
	{ __LINE__, "GET", "/job/j1/logs", 404, 0, 0, { NULL } },
	{ __LINE__, "POST", "/data/s1/shard/abcd", 0, 5, 0, { "s1", "abcd" } },
	{ __LINE__, "POST", "/data/s1/shard", 0, 6, 0, { "s1" } },
	{ __LINE__, "POST", "/data/s1/shard/", 404, 0, 0, { NULL } },
	{ __LINE__, "GET", "/data/s1/shard", 405, 0, HTTP_POST, { NULL } },
	{ __LINE__, "POST", "/data//shard", 404, 0, 0, { NULL } },
	{ __LINE__, "GET", "/model/j", 0, 7, 0, { "j" } },
	{ __LINE__, "GET", "/model/b/j", 0, 8, 0, { "b", "j" } },
	{ __LINE__, "HEAD", "/model/b/j", 405, 0, HTTP_GET, { NULL } },
	{ __LINE__, "GET", "/model/b/j/x", 404, 0, 0, { NULL } },
	/* Five captures exceed HTTP_MAX_PARAMS: the route never matches. */
	{ __LINE__, "GET", "/a/1/2/3/4/5", 404, 0, 0, { NULL } },
	{ __LINE__, "GET", "/zz/literal", 0, 10, 0, { "zz" } },
	{ __LINE__, "GET", "//literal", 404, 0, 0, { NULL } },
	{ __LINE__, "GET", "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18", 404,
	    0, 0, { NULL } },
};

static void
test_match_table(void **state)
{
	const struct route	*rt;
	struct http_req		 r;
	char			 m[64], u[128];
	const char		*env[] = { m, u, NULL };
	size_t			 i, j, want_np;
	unsigned		 allow;
	int			 status, bad = 0;

	for (i = 0; i < NITEMS(cases); i++) {
		const struct match_case *c = &cases[i];

		snprintf(m, sizeof(m), "REQUEST_METHOD=%s", c->method);
		snprintf(u, sizeof(u), "REQUEST_URI=%s", c->uri);
		assert_int_equal(http_parse(&r, (char **)env, NULL), 0);
		rt = route_match(table, NITEMS(table), &r, &status, &allow);
		if (c->status == 0) {
			if (rt != &table[c->route] || status != 0) {
				print_error("case %zu (line %d) %s %s: got "
				    "route %td status %d, want route %d\n", i,
				    c->line, c->method, c->uri,
				    rt == NULL ? (ptrdiff_t)-1 : rt - table,
				    status, c->route);
				bad++;
				http_req_free(&r);
				continue;
			}
			for (want_np = 0; want_np < HTTP_MAX_PARAMS &&
			    c->params[want_np] != NULL; want_np++)
				continue;
			if (r.nparams != want_np) {
				print_error("case %zu (line %d): %zu params, "
				    "want %zu\n", i, c->line, r.nparams, want_np);
				bad++;
			} else
				for (j = 0; j < want_np; j++)
					if (strcmp(r.params[j], c->params[j])) {
						print_error("case %zu (line %d): "
						    "param %zu is %s, want %s\n",
						    i, c->line, j, r.params[j],
						    c->params[j]);
						bad++;
					}
		} else if (rt != NULL || status != c->status ||
		    (status == 405 && allow != c->allow)) {
			print_error("case %zu (line %d) %s %s: got status %d "
			    "allow %#x, want %d allow %#x\n", i, c->line,
			    c->method, c->uri, status, allow, c->status,
			    c->allow);
			bad++;
		}
		http_req_free(&r);
	}
	assert_int_equal(bad, 0);
}

static void
test_rematch_and_empty(void **state)
{
	const char	*env[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/model/b/j", NULL };
	struct http_req	 r;
	unsigned	 allow;
	int		 status;

	/* Matching twice on one request frees the first captures. */
	assert_int_equal(http_parse(&r, (char **)env, NULL), 0);
	assert_ptr_equal(route_match(table, NITEMS(table), &r, &status,
	    &allow), &table[8]);
	assert_ptr_equal(route_match(table, NITEMS(table), &r, &status,
	    &allow), &table[8]);
	assert_string_equal(r.params[0], "b");
	assert_string_equal(r.params[1], "j");

	/* A failed match leaves no stale captures. */
	assert_null(route_match(table, 0, &r, &status, &allow));
	assert_int_equal(status, 404);
	assert_int_equal(r.nparams, 0);
	assert_null(r.params[0]);
	http_req_free(&r);

	/* No path (a request that failed to parse): 404. */
	memset(&r, 0, sizeof(r));
	r.method = HTTP_GET;
	assert_null(route_match(table, NITEMS(table), &r, &status, &allow));
	assert_int_equal(status, 404);
	http_req_free(&r);
}

static void
test_base_path_then_route(void **state)
{
	const char	*env[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/api/v1/batch/xyz", NULL };
	struct http_req	 r;
	unsigned	 allow;
	int		 status;

	assert_int_equal(http_parse(&r, (char **)env, "/api/v1"), 0);
	assert_ptr_equal(route_match(table, NITEMS(table), &r, &status,
	    &allow), &table[3]);
	assert_string_equal(r.params[0], "xyz");
	http_req_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_table),
		cmocka_unit_test(test_rematch_and_empty),
		cmocka_unit_test(test_base_path_then_route),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

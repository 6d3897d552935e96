/*
 * test-promote.c: the promotion requests without a database: the body of
 * POST /batch/{id}/promote (promote_parse()), the "auto_promote" field of
 * a batch body, and the ranking order promotion shares with the
 * leaderboard (batch_rank_sort()).
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

#include "batch.h"
#include "promote.h"

/* A set "set" with one pilot holding shards; anything else is missing. */
static int
fake_lookup(void *arg, const char *ref, struct batch_set *out)
{
	(void)arg;
	memset(out, 0, sizeof(*out));
	if (strcmp(ref, "set") != 0)
		return BATCH_SET_NOT_FOUND;
	out->id = 10;
	out->shard_count = 5;
	out->npilots_all = 1;
	out->npilots = 1;
	out->pilots = calloc(1, sizeof(*out->pilots));
	assert_non_null(out->pilots);
	out->pilots[0].id = 11;
	return 0;
}

static const struct batch_limits lim = { 8, 4.0, 28.0 };

static void
test_parse_accepts(void **state)
{
	struct promote_req	 q;
	struct batch_error	 e;
	const char		*b;

	(void)state;
	b = "{\"top_k\": 3}";
	assert_int_equal(promote_parse(b, strlen(b), &q, &e), 0);
	assert_int_equal(q.top_k, 3);
	assert_int_equal(q.has_set, 0);
	assert_int_equal(q.partial, 0);

	b = "{\"top_k\": 1000.0, \"data_set_id\": \"mnist\", \"partial\": true,"
	    " \"unknown\": [1]}";
	assert_int_equal(promote_parse(b, strlen(b), &q, &e), 0);
	assert_int_equal(q.top_k, 1000);
	assert_int_equal(q.has_set, 1);
	assert_string_equal(q.set_ref, "mnist");
	assert_int_equal(q.partial, 1);

	b = "{\"top_k\": 1, \"data_set_id\": null, \"partial\": null}";
	assert_int_equal(promote_parse(b, strlen(b), &q, &e), 0);
	assert_int_equal(q.has_set, 0);
	assert_int_equal(q.partial, 0);
}

static void
test_parse_refuses(void **state)
{
	static const struct {
		const char	*body;
		int		 status;
		const char	*code;
	} cases[] = {
		{ "", 400, "invalid_json" },
		{ "{\"top_k\": 3", 400, "invalid_json" },
		{ "[3]", 400, "invalid_json" },
		{ "\"top_k\"", 400, "invalid_json" },
		{ "{\"top_k\": 3}\xff", 400, "invalid_json" },
		{ "{\"top_k\": 3} x", 400, "invalid_json" },
		{ "{\"top_k\": 3}\n1700000000", 400, "invalid_json" },
		{ "{\"top_k\": 3}{}", 400, "invalid_json" },
		{ "{\"top_k\": 3}\x0c", 400, "invalid_json" },
		{ "{\"top_k\": 3, \"data_set_id\": \"a\tb\"}", 400,
		    "invalid_json" },
		{ "{}", 400, "invalid_top_k" },
		{ "{\"top_k\": \"3\"}", 400, "invalid_top_k" },
		{ "{\"top_k\": null}", 400, "invalid_top_k" },
		{ "{\"top_k\": 0}", 422, "invalid_top_k" },
		{ "{\"top_k\": -1}", 422, "invalid_top_k" },
		{ "{\"top_k\": 2.5}", 422, "invalid_top_k" },
		{ "{\"top_k\": 1001}", 422, "invalid_top_k" },
		{ "{\"top_k\": 1e300}", 422, "invalid_top_k" },
		{ "{\"top_k\": 1, \"data_set_id\": 5}", 400, "invalid_data_set" },
		{ "{\"top_k\": 1, \"data_set_id\": \"\"}", 400,
		    "invalid_data_set" },
		{ "{\"top_k\": 1, \"partial\": 1}", 400, "invalid_partial" },
		{ "{\"top_k\": 1, \"partial\": \"true\"}", 400,
		    "invalid_partial" },
	};
	struct promote_req	 q;
	struct batch_error	 e;
	char			 big[BATCH_REF_MAX + 64];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(promote_parse(cases[i].body,
		    strlen(cases[i].body), &q, &e), 1);
		assert_int_equal(e.status, cases[i].status);
		assert_string_equal(e.code, cases[i].code);
		assert_true(e.msg[0] != '\0');
	}
	/* A reference longer than any name or UUID. */
	snprintf(big, sizeof(big), "{\"top_k\": 1, \"data_set_id\": \"%0*d\"}",
	    BATCH_REF_MAX + 1, 0);
	assert_int_equal(promote_parse(big, strlen(big), &q, &e), 1);
	assert_string_equal(e.code, "invalid_data_set");
	/* A NUL inside the body. */
	assert_int_equal(promote_parse("{\"top_k\": 1}\0", 13, &q, &e), 1);
	assert_string_equal(e.code, "invalid_json");
	/* Blanks after the value are not "after the value". */
	assert_int_equal(promote_parse("{\"top_k\": 1} \r\n\t", 16, &q, &e),
	    0);
	assert_int_equal(q.top_k, 1);
}

/* Validate a pilot or production body with auto_promote text ap. */
static int
validate(const char *mode, const char *ap, struct batch_spec *s,
    struct batch_error *e)
{
	char	 body[512];

	snprintf(body, sizeof(body), "{\"mode\": \"%s\", \"requisitions\": "
	    "{\"cpu\": 1}, \"jobs\": [{\"image\": \"img\", \"command\": \"run\","
	    " \"data_set_id\": \"set\"}]%s%s}", mode, ap[0] ? ", " : "", ap);
	return batch_validate(body, strlen(body), &lim, fake_lookup, NULL, s,
	    e);
}

static void
test_auto_promote_field(void **state)
{
	static const struct {
		const char	*mode;
		const char	*field;
		int		 status;	/* 0: accepted */
		unsigned	 top_k;
	} cases[] = {
		{ "pilot", "", 0, 0 },
		{ "pilot", "\"auto_promote\": null", 0, 0 },
		{ "pilot", "\"auto_promote\": {\"top_k\": 3}", 0, 3 },
		{ "pilot", "\"auto_promote\": {\"top_k\": 1000}", 0, 1000 },
		{ "pilot", "\"auto_promote\": 3", 400, 0 },
		{ "pilot", "\"auto_promote\": {}", 400, 0 },
		{ "pilot", "\"auto_promote\": {\"top_k\": true}", 400, 0 },
		{ "pilot", "\"auto_promote\": {\"top_k\": 0}", 422, 0 },
		{ "pilot", "\"auto_promote\": {\"top_k\": 1.5}", 422, 0 },
		{ "pilot", "\"auto_promote\": {\"top_k\": 1001}", 422, 0 },
		{ "production", "\"auto_promote\": {\"top_k\": 1}", 422, 0 },
		{ "production", "\"auto_promote\": null", 0, 0 },
	};
	struct batch_spec	 s;
	struct batch_error	 e;
	size_t			 i;
	int			 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = validate(cases[i].mode, cases[i].field, &s, &e);
		if (cases[i].status == 0) {
			assert_int_equal(rc, 0);
			assert_int_equal(s.auto_promote_top_k, cases[i].top_k);
			assert_int_equal(s.nvalid, 1);
		} else {
			assert_int_equal(rc, 1);
			assert_int_equal(e.status, cases[i].status);
			assert_string_equal(e.code, "invalid_auto_promote");
		}
		batch_spec_free(&s);
	}
}

static void
test_rank_order(void **state)
{
	struct batch_rank	 r[5] = {
		{ 0, 0, 900, 0.5 },
		{ 1, 1, 300, 0.9 },
		{ 2, 2, 100, 0.9 },
		{ 3, 3, 100, 0.9 },
		{ 4, 4, 50, 0.1 },
	};
	static const size_t	 want_max[5] = { 2, 3, 1, 0, 4 };
	static const size_t	 want_min[5] = { 4, 0, 2, 3, 1 };
	size_t			 i;

	(void)state;
	batch_rank_sort(r, 5, BATCH_DIR_MAX);
	for (i = 0; i < 5; i++)
		assert_int_equal(r[i].row, want_max[i]);
	batch_rank_sort(r, 5, BATCH_DIR_MIN);
	for (i = 0; i < 5; i++)
		assert_int_equal(r[i].row, want_min[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_accepts),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_auto_promote_field),
		cmocka_unit_test(test_rank_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

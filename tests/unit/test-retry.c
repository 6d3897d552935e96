/*
 * test-retry.c: the retry policy of a batch (src/lib/retry.c) without a
 * database: the "retry" item of POST /batch (types 400, values 422,
 * defaults, normalization and folding), the class grammar, the decision
 * to retry a failed attempt, exit code classes, the policy as GET /batch
 * shows it, and the policy as batch_validate() stores it.
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
#include "retry.h"

struct parse_case {
	int		 line;
	const char	*json;		/* the "retry" item; NULL: absent */
	int		 status;	/* 0, 400 or 422 */
	unsigned	 attempts;	/* when 0 */
	const char	*on;		/* when 0 */
};

static const struct parse_case parse_cases[] = {
	/* Defaults. */
	{ __LINE__, NULL, 0, 3, "host_failure" },
	{ __LINE__, "null", 0, 3, "host_failure" },
	{ __LINE__, "{}", 0, 3, "host_failure" },
	{ __LINE__, "{\"attempts\": null, \"on\": null}", 0, 3,
	    "host_failure" },
	{ __LINE__, "{\"attempts\": 5}", 0, 5, "host_failure" },
	{ __LINE__, "{\"on\": [\"oom\"]}", 0, 3, "oom" },
	/* Normalized: canonical order, exit codes ascending, folded. */
	{ __LINE__, "{\"attempts\": 1, \"on\": []}", 0, 1, "" },
	{ __LINE__, "{\"attempts\": 10.0, \"on\": [\"exit:7\", \"oom\", "
	    "\"exit:7\", \"exit:255\", \"exit:1\", \"image_pull\", "
	    "\"host_failure\", \"oom\"]}", 0, 10,
	    "host_failure,oom,image_pull,exit:1,exit:7,exit:255" },
	{ __LINE__, "{\"attempts\": 2, \"on\": [\"exit:42\"], \"x\": 1}", 0, 2,
	    "exit:42" },
	/* Wrong types: 400. */
	{ __LINE__, "3", 400, 0, NULL },
	{ __LINE__, "\"host_failure\"", 400, 0, NULL },
	{ __LINE__, "[\"oom\"]", 400, 0, NULL },
	{ __LINE__, "{\"attempts\": \"3\"}", 400, 0, NULL },
	{ __LINE__, "{\"attempts\": true}", 400, 0, NULL },
	{ __LINE__, "{\"on\": \"oom\"}", 400, 0, NULL },
	{ __LINE__, "{\"on\": {\"oom\": 1}}", 400, 0, NULL },
	{ __LINE__, "{\"on\": [\"oom\", 7]}", 400, 0, NULL },
	{ __LINE__, "{\"on\": [null]}", 400, 0, NULL },
	/* A bad type is 400 even next to a bad value. */
	{ __LINE__, "{\"attempts\": 0, \"on\": [1]}", 400, 0, NULL },
	/* Unacceptable values: 422. */
	{ __LINE__, "{\"attempts\": 0}", 422, 0, NULL },
	{ __LINE__, "{\"attempts\": 11}", 422, 0, NULL },
	{ __LINE__, "{\"attempts\": -1}", 422, 0, NULL },
	{ __LINE__, "{\"attempts\": 2.5}", 422, 0, NULL },
	{ __LINE__, "{\"attempts\": 1e300}", 422, 0, NULL },
	{ __LINE__, "{\"on\": [\"timeout\"]}", 422, 0, NULL },
	{ __LINE__, "{\"on\": [\"OOM\"]}", 422, 0, NULL },
	{ __LINE__, "{\"on\": [\"\"]}", 422, 0, NULL },
	{ __LINE__, "{\"on\": [\"exit\"]}", 422, 0, NULL },
	{ __LINE__, "{\"on\": [\"exit:\"]}", 422, 0, NULL },
	{ __LINE__, "{\"on\": [\"exit:0\"]}", 422, 0, NULL },
	{ __LINE__, "{\"on\": [\"exit:256\"]}", 422, 0, NULL },
	{ __LINE__, "{\"on\": [\"exit:007\"]}", 422, 0, NULL },
	{ __LINE__, "{\"on\": [\"exit:-1\"]}", 422, 0, NULL },
	{ __LINE__, "{\"on\": [\"exit:+7\"]}", 422, 0, NULL },
	{ __LINE__, "{\"on\": [\"exit: 7\"]}", 422, 0, NULL },
	{ __LINE__, "{\"on\": [\"exit:7 \"]}", 422, 0, NULL },
	{ __LINE__, "{\"on\": [\"exit:1000\"]}", 422, 0, NULL },
	{ __LINE__, "{\"on\": [\"host_failure,oom\"]}", 422, 0, NULL },
};

static void
test_parse(void **state)
{
	struct retry_policy	 p;
	cJSON			*item;
	char			 msg[256];
	size_t			 i;
	int			 st;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];

		item = NULL;
		if (c->json != NULL && (item = cJSON_Parse(c->json)) == NULL)
			fail_msg("line %d: bad test JSON", c->line);
		msg[0] = '\0';
		st = retry_parse(item, &p, msg, sizeof(msg));
		if (st != c->status)
			fail_msg("line %d: status %d, want %d (%s)", c->line,
			    st, c->status, msg);
		if (st != 0 && msg[0] == '\0')
			fail_msg("line %d: no sentence", c->line);
		if (st == 0 && (p.attempts != c->attempts ||
		    strcmp(p.on, c->on) != 0))
			fail_msg("line %d: %u \"%s\", want %u \"%s\"", c->line,
			    p.attempts, p.on, c->attempts, c->on);
		cJSON_Delete(item);
	}
}

/* Every class at once: the longest list fits, and reads back the same. */
static void
test_parse_all(void **state)
{
	struct retry_policy	 p;
	cJSON			*o, *on, *back;
	char			 msg[256], cls[RETRY_CLASS_MAX];
	int			 k;

	(void)state;
	o = cJSON_CreateObject();
	on = cJSON_AddArrayToObject(o, "on");
	for (k = 255; k >= 1; k--) {
		retry_exit_class(k, cls);
		cJSON_AddItemToArray(on, cJSON_CreateString(cls));
	}
	cJSON_AddItemToArray(on, cJSON_CreateString("image_pull"));
	cJSON_AddItemToArray(on, cJSON_CreateString("oom"));
	cJSON_AddItemToArray(on, cJSON_CreateString("host_failure"));
	assert_int_equal(retry_parse(o, &p, msg, sizeof(msg)), 0);
	assert_true(strlen(p.on) < RETRY_ON_MAX);
	assert_true(strncmp(p.on, "host_failure,oom,image_pull,exit:1,exit:2,",
	    42) == 0);
	assert_true(strlen(p.on) > 9 &&
	    strcmp(p.on + strlen(p.on) - 9, ",exit:255") == 0);
	back = retry_json(p.attempts, p.on);
	assert_non_null(back);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(back, "on")),
	    258);
	cJSON_Delete(back);
	cJSON_Delete(o);
}

static void
test_class(void **state)
{
	(void)state;
	assert_true(retry_class_valid("host_failure", 12));
	assert_true(retry_class_valid("oom", 3));
	assert_true(retry_class_valid("image_pull", 10));
	assert_true(retry_class_valid("exit:1", 6));
	assert_true(retry_class_valid("exit:255", 8));
	assert_false(retry_class_valid("exit:256", 8));
	assert_false(retry_class_valid("exit:0", 6));
	assert_false(retry_class_valid("oo", 2));
	assert_false(retry_class_valid("oomx", 4));
	assert_false(retry_class_valid("oom", 2));	/* n counts */
	assert_false(retry_class_valid(NULL, 0));
}

/* The dispatcher's decision: class listed and an attempt left. */
static void
test_should(void **state)
{
	const char	*on = "host_failure,oom,exit:7,exit:70";

	(void)state;
	assert_true(retry_on_has(on, "host_failure"));
	assert_true(retry_on_has(on, "oom"));
	assert_true(retry_on_has(on, "exit:7"));
	assert_true(retry_on_has(on, "exit:70"));
	assert_false(retry_on_has(on, "exit:77"));
	assert_false(retry_on_has(on, "exit:"));
	assert_false(retry_on_has(on, "image_pull"));
	assert_false(retry_on_has(on, ""));
	assert_false(retry_on_has(on, NULL));
	assert_false(retry_on_has("", "oom"));
	assert_false(retry_on_has(NULL, "oom"));

	/* exit:7 listed, 3 attempts: after the 1st and 2nd, not the 3rd. */
	assert_true(retry_should(on, 3, 1, "exit:7"));
	assert_true(retry_should(on, 3, 2, "exit:7"));
	assert_false(retry_should(on, 3, 3, "exit:7"));
	assert_false(retry_should(on, 3, 4, "exit:7"));
	/* Not listed: never; no class (a time limit): never. */
	assert_false(retry_should("host_failure", 3, 1, "exit:7"));
	assert_false(retry_should("host_failure", 3, 1, "oom"));
	assert_true(retry_should("oom", 2, 1, "oom"));
	assert_false(retry_should("oom", 2, 2, "oom"));
	assert_false(retry_should(on, 3, 1, NULL));
	assert_false(retry_should(on, 3, 1, ""));
	/* One attempt in all: nothing is retried. */
	assert_false(retry_should(on, 1, 1, "host_failure"));
}

static void
test_exit_class(void **state)
{
	char	 cls[RETRY_CLASS_MAX];

	(void)state;
	retry_exit_class(7, cls);
	assert_string_equal(cls, "exit:7");
	retry_exit_class(255, cls);
	assert_string_equal(cls, "exit:255");
	retry_exit_class(0, cls);
	assert_string_equal(cls, "");
	retry_exit_class(-1, cls);
	assert_string_equal(cls, "");
	retry_exit_class(256, cls);
	assert_string_equal(cls, "");
}

static void
test_json(void **state)
{
	cJSON	*o;
	char	*s;

	(void)state;
	o = retry_json(3, "host_failure,exit:7");
	assert_non_null(o);
	s = cJSON_PrintUnformatted(o);
	assert_string_equal(s, "{\"attempts\":3,\"on\":[\"host_failure\","
	    "\"exit:7\"]}");
	free(s);
	cJSON_Delete(o);
	o = retry_json(1, "");
	s = cJSON_PrintUnformatted(o);
	assert_string_equal(s, "{\"attempts\":1,\"on\":[]}");
	free(s);
	cJSON_Delete(o);
}

/* --- through batch_validate() --------------------------------------------- */

static int
fake_lookup(void *arg, const char *ref, struct batch_set *out)
{
	(void)arg;
	memset(out, 0, sizeof(*out));
	if (strcmp(ref, "set") != 0)
		return BATCH_SET_NOT_FOUND;
	out->id = 10;
	out->shard_count = 5;
	return 0;
}

static const struct batch_limits lim = { 8, 4.0, 28.0 };

#define BODY(retry) "{\"mode\": \"production\", \"requisitions\": " \
	"{\"cpu\": 1}, \"jobs\": [{\"command\": \"x\", \"image\": \"a\", " \
	"\"data_set_id\": \"set\"}]" retry "}"

static void
test_batch(void **state)
{
	struct batch_spec	 s;
	struct batch_error	 e;
	int			 rc;

	(void)state;
	rc = batch_validate(BODY(""), strlen(BODY("")), &lim, fake_lookup,
	    NULL, &s, &e);
	assert_int_equal(rc, 0);
	assert_int_equal(s.retry.attempts, 3);
	assert_string_equal(s.retry.on, "host_failure");
	batch_spec_free(&s);

	rc = batch_validate(BODY(", \"retry\": {\"attempts\": 3, \"on\": "
	    "[\"exit:7\"]}"), strlen(BODY(", \"retry\": {\"attempts\": 3, "
	    "\"on\": [\"exit:7\"]}")), &lim, fake_lookup, NULL, &s, &e);
	assert_int_equal(rc, 0);
	assert_int_equal(s.retry.attempts, 3);
	assert_string_equal(s.retry.on, "exit:7");
	batch_spec_free(&s);

	rc = batch_validate(BODY(", \"retry\": {\"on\": [\"exit:0\"]}"),
	    strlen(BODY(", \"retry\": {\"on\": [\"exit:0\"]}")), &lim,
	    fake_lookup, NULL, &s, &e);
	assert_int_equal(rc, 1);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.code, "invalid_retry");
	batch_spec_free(&s);

	rc = batch_validate(BODY(", \"retry\": [3]"),
	    strlen(BODY(", \"retry\": [3]")), &lim, fake_lookup, NULL, &s, &e);
	assert_int_equal(rc, 1);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "invalid_retry");
	batch_spec_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_all),
		cmocka_unit_test(test_class),
		cmocka_unit_test(test_should),
		cmocka_unit_test(test_exit_class),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test-objective.c: the objective and job environment checks of a batch
 * body (src/lib/batch.c) without a database: metric grammar, direction,
 * metric lookup in a result (dotted paths), environment names, limits and
 * the per-job errors, the body-level invalid_objective refusals, and the
 * query of GET /batch/{id}/leaderboard.
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
#include "db.h"
#include "job.h"

#define UUID_SET	"00000000-0000-4000-8000-000000000010"

/* One production set "set" with shards; anything else is missing. */
static int
fake_lookup(void *arg, const char *ref, struct batch_set *out)
{
	(void)arg;
	memset(out, 0, sizeof(*out));
	if (strcmp(ref, "set") != 0)
		return BATCH_SET_NOT_FOUND;
	out->id = 10;
	snprintf(out->uuid, sizeof(out->uuid), "%s", UUID_SET);
	out->shard_count = 5;
	return 0;
}

static const struct batch_limits lim = { 8, 4.0, 28.0 };

/* Validate body; returns batch_validate()'s value with *s and *e filled. */
static int
validate(const char *body, struct batch_spec *s, struct batch_error *e)
{
	return batch_validate(body, strlen(body), &lim, fake_lookup, NULL, s,
	    e);
}

static void
test_metric_grammar(void **state)
{
	char	 big[BATCH_METRIC_MAX + 2];

	(void)state;
	assert_true(batch_metric_valid("fitness_score", 13));
	assert_true(batch_metric_valid("val.loss", 8));
	assert_true(batch_metric_valid("a-b.C_9", 7));
	assert_false(batch_metric_valid("", 0));
	assert_false(batch_metric_valid("a b", 3));
	assert_false(batch_metric_valid("a/b", 3));
	assert_false(batch_metric_valid("a%2e", 4));
	memset(big, 'a', sizeof(big));
	assert_true(batch_metric_valid(big, BATCH_METRIC_MAX));
	assert_false(batch_metric_valid(big, BATCH_METRIC_MAX + 1));
	assert_int_equal(batch_direction_parse("max", 3), BATCH_DIR_MAX);
	assert_int_equal(batch_direction_parse("MIN", 3), BATCH_DIR_MIN);
	assert_int_equal(batch_direction_parse("mi", 2), -1);
	assert_int_equal(batch_direction_parse("maximum", 7), -1);
}

static void
test_metric_of(void **state)
{
	cJSON	*r;
	double	 v = 0;

	(void)state;
	r = cJSON_Parse("{\"fitness_score\": 0.5, \"val\": {\"loss\": 2, "
	    "\"deep\": {\"x\": -1.5}}, \"s\": \"7\", \"b\": true, "
	    "\"a.b\": 3, \"n\": null}");
	assert_non_null(r);
	assert_int_equal(batch_metric_of(r, "fitness_score", &v), 1);
	assert_true(v == 0.5);
	assert_int_equal(batch_metric_of(r, "val.loss", &v), 1);
	assert_true(v == 2);
	assert_int_equal(batch_metric_of(r, "val.deep.x", &v), 1);
	assert_true(v == -1.5);
	assert_int_equal(batch_metric_of(r, "a.b", &v), 1);	/* whole key */
	assert_true(v == 3);
	assert_int_equal(batch_metric_of(r, "s", &v), 0);	/* a string */
	assert_int_equal(batch_metric_of(r, "b", &v), 0);
	assert_int_equal(batch_metric_of(r, "n", &v), 0);
	assert_int_equal(batch_metric_of(r, "val", &v), 0);	/* an object */
	assert_int_equal(batch_metric_of(r, "val.missing", &v), 0);
	assert_int_equal(batch_metric_of(r, "fitness_score.x", &v), 0);
	assert_int_equal(batch_metric_of(r, "nothing", &v), 0);
	cJSON_Delete(r);
}

/* batch_env_check() on JSON text; returns its sentence, *json its text. */
static const char *
env_of(const char *text, char **json)
{
	cJSON		*e = cJSON_Parse(text);
	const char	*why;

	assert_non_null(e);
	why = batch_env_check(e, json);
	cJSON_Delete(e);
	return why;
}

static void
test_env(void **state)
{
	char		*json = NULL, *big, *txt;
	const char	*why;
	size_t		 i, off;

	(void)state;
	assert_true(batch_env_name_valid("A", 1));
	assert_true(batch_env_name_valid("_X9", 3));
	assert_true(batch_env_name_valid("ALPHA_2", 7));
	assert_false(batch_env_name_valid("", 0));
	assert_false(batch_env_name_valid("9A", 2));
	assert_false(batch_env_name_valid("alpha", 5));
	assert_false(batch_env_name_valid("A-B", 3));
	assert_false(batch_env_name_valid("A B", 3));

	assert_null(batch_env_check(NULL, &json));
	assert_null(json);
	assert_null(env_of("null", &json));
	assert_null(json);
	assert_null(env_of("{}", &json));
	assert_null(json);
	assert_null(env_of("{\"ALPHA\": \"1\", \"BETA\": \"two words\", "
	    "\"EMPTY\": \"\"}", &json));
	assert_string_equal(json,
	    "{\"ALPHA\":\"1\",\"BETA\":\"two words\",\"EMPTY\":\"\"}");
	free(json);
	json = NULL;

	assert_non_null(why = env_of("[]", &json));
	assert_null(json);
	assert_non_null(strstr(why, "object"));
	assert_non_null(strstr(env_of("{\"lower\": \"x\"}", &json), "names"));
	assert_non_null(strstr(env_of("{\"SINGULARITY_X\": \"x\"}", &json),
	    "SINGULARITY_"));
	assert_null(env_of("{\"SINGULARITY\": \"x\"}", &json));	/* no _ */
	free(json);
	json = NULL;
	assert_non_null(strstr(env_of("{\"A\": 1}", &json), "strings"));
	assert_non_null(strstr(env_of("{\"A\": null}", &json), "strings"));
	assert_non_null(strstr(env_of("{\"A\": \"1\", \"A\": \"2\"}", &json),
	    "twice"));

	/* 64 variables pass, 65 do not. */
	big = malloc(65 * 16 + 16);
	assert_non_null(big);
	for (off = 0, i = 0; i < 65; i++)
		off += (size_t)sprintf(big + off, "%s\"V%zu\": \"x\"",
		    i == 0 ? "{" : ", ", i);
	strcpy(big + off, "}");
	assert_non_null(strstr(env_of(big, &json), "64"));
	assert_null(json);
	txt = strstr(big, ", \"V64\"");
	strcpy(txt, "}");
	assert_null(env_of(big, &json));
	assert_non_null(json);
	free(json);
	json = NULL;
	free(big);

	/* 32 KiB of names and values pass; one byte more does not. */
	big = malloc(40000);
	assert_non_null(big);
	/* "{\"A\": \"" + value + "\"}": name 1 byte, value 32767. */
	strcpy(big, "{\"A\": \"");
	memset(big + 7, 'v', BATCH_ENV_BYTES - 1);
	strcpy(big + 7 + BATCH_ENV_BYTES - 1, "\"}");
	assert_null(env_of(big, &json));
	free(json);
	json = NULL;
	strcpy(big, "{\"AB\": \"");
	memset(big + 8, 'v', BATCH_ENV_BYTES - 1);
	strcpy(big + 8 + BATCH_ENV_BYTES - 1, "\"}");
	assert_non_null(strstr(env_of(big, &json), "32 KiB"));
	assert_null(json);
	free(big);
}

struct body_case {
	int		 line;
	const char	*objective;	/* text of "objective", NULL: absent */
	int		 rc;
	int		 status;
	const char	*metric;
	int		 dir;
};

static const struct body_case obj_cases[] = {
	{ __LINE__, NULL, 0, 0, "fitness_score", BATCH_DIR_MAX },
	{ __LINE__, "null", 0, 0, "fitness_score", BATCH_DIR_MAX },
	{ __LINE__, "{}", 0, 0, "fitness_score", BATCH_DIR_MAX },
	{ __LINE__, "{\"metric\": \"val.loss\", \"direction\": \"min\"}", 0, 0,
	    "val.loss", BATCH_DIR_MIN },
	{ __LINE__, "{\"direction\": \"MAX\"}", 0, 0, "fitness_score",
	    BATCH_DIR_MAX },
	{ __LINE__, "{\"metric\": \"acc\"}", 0, 0, "acc", BATCH_DIR_MAX },
	{ __LINE__, "\"fitness_score\"", 1, 400, NULL, 0 },
	{ __LINE__, "[]", 1, 400, NULL, 0 },
	{ __LINE__, "{\"metric\": 5}", 1, 400, NULL, 0 },
	{ __LINE__, "{\"direction\": true}", 1, 400, NULL, 0 },
	{ __LINE__, "{\"metric\": \"\"}", 1, 422, NULL, 0 },
	{ __LINE__, "{\"metric\": \"a b\"}", 1, 422, NULL, 0 },
	{ __LINE__, "{\"metric\": \"x/y\"}", 1, 422, NULL, 0 },
	{ __LINE__, "{\"direction\": \"up\"}", 1, 422, NULL, 0 },
};

static void
test_objective_body(void **state)
{
	struct batch_spec	 s;
	struct batch_error	 e;
	char			*body;
	size_t			 i;
	int			 rc;

	(void)state;
	for (i = 0; i < sizeof(obj_cases) / sizeof(obj_cases[0]); i++) {
		const struct body_case *c = &obj_cases[i];

		body = c->objective == NULL ?
		    strdup("{\"mode\": \"production\", \"requisitions\": "
		    "{\"cpu\": 1}, \"jobs\": [{\"image\": \"x\", \"command\": "
		    "\"c\", \"data_set_id\": \"set\"}]}") :
		    NULL;
		if (body == NULL) {
			size_t n = strlen(c->objective) + 256;

			body = malloc(n);
			assert_non_null(body);
			snprintf(body, n, "{\"mode\": \"production\", "
			    "\"requisitions\": {\"cpu\": 1}, \"objective\": %s, "
			    "\"jobs\": [{\"image\": \"x\", \"command\": \"c\", "
			    "\"data_set_id\": \"set\"}]}", c->objective);
		}
		rc = validate(body, &s, &e);
		if (rc != c->rc)
			fail_msg("line %d: rc %d", c->line, rc);
		if (rc == 1) {
			if (e.status != c->status ||
			    strcmp(e.code, "invalid_objective") != 0)
				fail_msg("line %d: %d %s", c->line, e.status,
				    e.code);
		} else {
			if (strcmp(s.metric, c->metric) != 0 ||
			    (int)s.direction != c->dir)
				fail_msg("line %d: %s %d", c->line, s.metric,
				    (int)s.direction);
			assert_int_equal(s.nvalid, 1);
		}
		batch_spec_free(&s);
		free(body);
	}
}

static void
test_env_jobs(void **state)
{
	struct batch_spec	 s;
	struct batch_error	 e;
	cJSON			*errs;
	char			*txt;
	const char		*body =
	    "{\"mode\": \"production\", \"requisitions\": {\"cpu\": 1}, "
	    "\"jobs\": ["
	    "{\"image\": \"x\", \"command\": \"c\", \"data_set_id\": \"set\", "
	    "\"env\": {\"ALPHA\": \"1\", \"BETA\": \"two words\"}},"
	    "{\"image\": \"x\", \"command\": \"c\", \"data_set_id\": \"set\", "
	    "\"env\": {\"bad\": \"1\"}},"
	    "{\"image\": \"x\", \"command\": \"c\", \"data_set_id\": \"set\", "
	    "\"env\": \"A=1\"},"
	    "{\"image\": \"x\", \"command\": \"c\", \"data_set_id\": \"set\"}"
	    "]}";

	(void)state;
	assert_int_equal(validate(body, &s, &e), 0);
	assert_int_equal(s.njobs, 4);
	assert_int_equal(s.nvalid, 2);
	assert_null(s.jobs[0].error);
	assert_string_equal(s.jobs[0].env,
	    "{\"ALPHA\":\"1\",\"BETA\":\"two words\"}");
	assert_non_null(s.jobs[1].error);
	assert_null(s.jobs[1].env);
	assert_non_null(s.jobs[2].error);
	assert_null(s.jobs[3].error);
	assert_null(s.jobs[3].env);
	errs = batch_errors_json(&s);
	assert_non_null(errs);
	txt = cJSON_PrintUnformatted(errs);
	assert_non_null(strstr(txt, "\"index\":1"));
	assert_non_null(strstr(txt, "\"index\":2"));
	cJSON_free(txt);
	cJSON_Delete(errs);
	batch_spec_free(&s);
}

static void
test_board_query(void **state)
{
	struct batch_board_query q;
	const char	*code = NULL, *msg = NULL;

	(void)state;
	assert_int_equal(batch_board_parse("", &q, &code, &msg), 0);
	assert_int_equal(q.top, 0);
	assert_int_equal(q.has_metric, 0);
	assert_int_equal(q.direction, -1);
	assert_int_equal(batch_board_parse(NULL, &q, &code, &msg), 0);
	assert_int_equal(batch_board_parse("top=3&metric=val.loss&"
	    "direction=min&x=y", &q, &code, &msg), 0);
	assert_int_equal(q.top, 3);
	assert_int_equal(q.has_metric, 1);
	assert_string_equal(q.metric, "val.loss");
	assert_int_equal(q.direction, BATCH_DIR_MIN);
	assert_int_equal(batch_board_parse("top=1000", &q, &code, &msg), 0);
	assert_int_equal(q.top, 1000);
	assert_int_equal(batch_board_parse("top=0", &q, &code, &msg), -1);
	assert_string_equal(code, "invalid_top");
	assert_int_equal(batch_board_parse("top=1001", &q, &code, &msg), -1);
	assert_string_equal(code, "invalid_top");
	assert_int_equal(batch_board_parse("top=", &q, &code, &msg), -1);
	assert_int_equal(batch_board_parse("top=-1", &q, &code, &msg), -1);
	assert_int_equal(batch_board_parse("top=1x", &q, &code, &msg), -1);
	assert_int_equal(batch_board_parse("metric=", &q, &code, &msg), -1);
	assert_string_equal(code, "invalid_objective");
	assert_int_equal(batch_board_parse("metric=a%20b", &q, &code, &msg),
	    -1);
	assert_string_equal(code, "invalid_objective");
	assert_int_equal(batch_board_parse("direction=up", &q, &code, &msg),
	    -1);
	assert_string_equal(code, "invalid_objective");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metric_grammar),
		cmocka_unit_test(test_metric_of),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_objective_body),
		cmocka_unit_test(test_env_jobs),
		cmocka_unit_test(test_board_query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

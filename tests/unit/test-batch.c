/*
 * test-batch.c: the batch body validator (src/lib/batch.c) without a
 * database: the Docker image and tag grammar, UTF-8, commands, the
 * requisitions and the RAM rule, the body-level refusals (status and code),
 * per-job errors, the pilot/production rules and the round-robin spread of
 * a set's pilots (data sets come from a fake lookup), the derived batch
 * status and the list paging parameters (src/lib/job.c).
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
#include "json.h"

/* --- grammar ---------------------------------------------------------------- */

struct str_case {
	int		 line;
	const char	*s;
	int		 want;
};

static const struct str_case image_cases[] = {
	{ __LINE__, "ubuntu", 1 },
	{ __LINE__, "singularitytechnologies/testai", 1 },
	{ __LINE__, "library/ubuntu", 1 },
	{ __LINE__, "a", 1 },
	{ __LINE__, "0", 1 },
	{ __LINE__, "repo_name__x-y--z/a.b_c", 1 },
	{ __LINE__, "my.repo_name/x", 0 },	/* "my.repo_name" is a domain */
	{ __LINE__, "184762988669.dkr.ecr.eu-west-1.amazonaws.com/testai", 1 },
	{ __LINE__, "localhost/foo", 1 },
	{ __LINE__, "localhost:5000/foo/bar", 1 },
	{ __LINE__, "registry.example.org:443/team/model", 1 },
	{ __LINE__, "Registry.Example.org/x", 1 },
	{ __LINE__, "[::1]:5000/foo", 1 },
	{ __LINE__, "[fe80::1]/foo", 1 },
	{ __LINE__, "localhost", 1 },
	{ __LINE__, "", 0 },
	{ __LINE__, "Ubuntu", 0 },
	{ __LINE__, "library/Ubuntu", 0 },
	{ __LINE__, "-ubuntu", 0 },
	{ __LINE__, "ubuntu-", 0 },
	{ __LINE__, "ubu..ntu", 0 },
	{ __LINE__, "ubu___ntu", 0 },
	{ __LINE__, "ubu._ntu", 0 },
	{ __LINE__, "/ubuntu", 0 },
	{ __LINE__, "ubuntu/", 0 },
	{ __LINE__, "a//b", 0 },
	{ __LINE__, "a b", 0 },
	{ __LINE__, "a\tb", 0 },
	{ __LINE__, "caf\xc3\xa9", 0 },
	{ __LINE__, "host:port/x", 0 },
	{ __LINE__, "host:99999/x", 0 },
	{ __LINE__, "host:/x", 0 },
	{ __LINE__, "-host.org/x", 0 },
	{ __LINE__, "host-.org/x", 0 },
	{ __LINE__, "host..org/x", 0 },
	{ __LINE__, "[::1/x", 0 },
	{ __LINE__, "[]/x", 0 },
	{ __LINE__, "[zz]/x", 0 },
	{ __LINE__, "ubuntu:latest", 0 },	/* a tag is split off first */
	{ __LINE__, "ubuntu@sha256:00", 0 },
	{ __LINE__, "../etc/passwd", 0 },
};

static void
test_image(void **state)
{
	char	 longname[300];
	size_t	 i;

	for (i = 0; i < sizeof(image_cases) / sizeof(image_cases[0]); i++) {
		const struct str_case *c = &image_cases[i];

		if (batch_image_valid(c->s, strlen(c->s)) != c->want)
			fail_msg("line %d: image '%s' valid %d, want %d",
			    c->line, c->s, !c->want, c->want);
	}
	/* 255 bytes in all is the limit. */
	memset(longname, 'a', sizeof(longname));
	assert_int_equal(batch_image_valid(longname, 255), 1);
	assert_int_equal(batch_image_valid(longname, 256), 0);
	longname[0] = 'x';
	longname[1] = '.';
	longname[2] = 'y';
	longname[3] = '/';
	assert_int_equal(batch_image_valid(longname, 255), 1);
	assert_int_equal(batch_image_valid(longname, 256), 0);
}

static const struct str_case tag_cases[] = {
	{ __LINE__, "latest", 1 },
	{ __LINE__, "1.0", 1 },
	{ __LINE__, "_x", 1 },
	{ __LINE__, "V1.2-rc_3", 1 },
	{ __LINE__, "9", 1 },
	{ __LINE__, "", 0 },
	{ __LINE__, ".x", 0 },
	{ __LINE__, "-x", 0 },
	{ __LINE__, "a:b", 0 },
	{ __LINE__, "a/b", 0 },
	{ __LINE__, "a b", 0 },
	{ __LINE__, "a@b", 0 },
};

static void
test_tag(void **state)
{
	char	 t[200];
	size_t	 i;

	for (i = 0; i < sizeof(tag_cases) / sizeof(tag_cases[0]); i++) {
		const struct str_case *c = &tag_cases[i];

		if (batch_tag_valid(c->s, strlen(c->s)) != c->want)
			fail_msg("line %d: tag '%s' valid %d, want %d",
			    c->line, c->s, !c->want, c->want);
	}
	memset(t, 'a', sizeof(t));
	assert_int_equal(batch_tag_valid(t, 128), 1);
	assert_int_equal(batch_tag_valid(t, 129), 0);
}

static void
test_utf8(void **state)
{
	static const struct {
		int		 line;
		const char	*s;
		int		 want;
	} cases[] = {
		{ __LINE__, "plain", 1 },
		{ __LINE__, "caf\xc3\xa9", 1 },
		{ __LINE__, "\xe2\x82\xac", 1 },
		{ __LINE__, "\xf0\x9f\x98\x80", 1 },
		{ __LINE__, "\xf4\x8f\xbf\xbf", 1 },
		{ __LINE__, "\xef\xbf\xbd", 1 },
		{ __LINE__, "\xff", 0 },
		{ __LINE__, "\xc3", 0 },
		{ __LINE__, "\xc0\xaf", 0 },		/* overlong '/' */
		{ __LINE__, "\xc1\xbf", 0 },
		{ __LINE__, "\xe0\x80\xaf", 0 },	/* overlong */
		{ __LINE__, "\xed\xa0\x80", 0 },	/* surrogate */
		{ __LINE__, "\xf4\x90\x80\x80", 0 },	/* > U+10FFFF */
		{ __LINE__, "\xf5\x80\x80\x80", 0 },
		{ __LINE__, "\x80", 0 },
		{ __LINE__, "a\xe2\x82", 0 },		/* truncated */
		{ __LINE__, "\xe2\x28\xa1", 0 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (json_utf8_valid(cases[i].s, strlen(cases[i].s)) !=
		    cases[i].want)
			fail_msg("line %d: utf8 valid, want %d", cases[i].line,
			    cases[i].want);
}

static void
test_command(void **state)
{
	const char	*why = NULL;
	char		 big[5000];

	assert_int_equal(batch_command_check("python train.py", 15, &why), 0);
	assert_int_equal(batch_command_check("a\tb\nc\r\n", 7, &why), 0);
	assert_int_equal(batch_command_check("", 0, &why), -1);
	assert_int_equal(batch_command_check("  \n\t", 4, &why), -1);
	assert_int_equal(batch_command_check("a\x01", 2, &why), -1);
	assert_int_equal(batch_command_check("a\x1b[0m", 5, &why), -1);
	assert_int_equal(batch_command_check("a\x7f", 2, &why), -1);
	memset(big, 'x', sizeof(big));
	assert_int_equal(batch_command_check(big, 4096, &why), 0);
	assert_int_equal(batch_command_check(big, 4097, &why), -1);
}

/* --- validation with a fake lookup ------------------------------------------ */

#define UUID_SET	"11111111-1111-4111-8111-111111111111"
#define UUID_PILOT	"22222222-2222-4222-8222-222222222222"
#define UUID_EPILOT	"33333333-3333-4333-8333-333333333333"

static int	lookups;

/*
 * "set" (id 10) has shards and four pilots, the third empty: ids 11, 12,
 * 14 take part in the spread. "empty" has no shard; "nopilots" has shards
 * but no pilot; "allempty" has shards and two pilots without any. UUID_PILOT
 * is a pilot with shards (id 20), UUID_EPILOT one without. "gone" fails
 * like a lost database.
 */
static int
fake_lookup(void *arg, const char *ref, struct batch_set *out)
{
	static const long long ids[] = { 11, 12, 13, 14 };
	static const int shards[] = { 5, 5, 0, 5 };
	size_t	 i;

	lookups++;
	memset(out, 0, sizeof(*out));
	if (strcmp(ref, "gone") == 0)
		return DB_GONE;
	if (strcmp(ref, "set") == 0 || strcmp(ref, UUID_SET) == 0) {
		out->id = 10;
		snprintf(out->uuid, sizeof(out->uuid), "%s", UUID_SET);
		out->shard_count = 15;
		out->npilots_all = 4;
		out->pilots = calloc(4, sizeof(*out->pilots));
		for (i = 0; i < 4; i++) {
			if (shards[i] == 0)
				continue;
			out->pilots[out->npilots].id = ids[i];
			snprintf(out->pilots[out->npilots].uuid,
			    sizeof(out->pilots[0].uuid),
			    "00000000-0000-4000-8000-0000000000%02lld", ids[i]);
			out->npilots++;
		}
		return 0;
	}
	if (strcmp(ref, "empty") == 0) {
		out->id = 30;
		return 0;
	}
	if (strcmp(ref, "nopilots") == 0) {
		out->id = 31;
		out->shard_count = 3;
		return 0;
	}
	if (strcmp(ref, "allempty") == 0) {
		out->id = 32;
		out->shard_count = 3;
		out->npilots_all = 2;
		out->pilots = calloc(2, sizeof(*out->pilots));
		return 0;
	}
	if (strcmp(ref, UUID_PILOT) == 0) {
		out->id = 20;
		out->is_pilot = 1;
		out->shard_count = 2;
		return 0;
	}
	if (strcmp(ref, UUID_EPILOT) == 0) {
		out->id = 21;
		out->is_pilot = 1;
		return 0;
	}
	return BATCH_SET_NOT_FOUND;
}

static const struct batch_limits lim = { 8, 4.0, 28.0 };

#define JOB(ds)	"{\"command\": \"python train.py\", \"image\": " \
	"\"singularitytechnologies/testai\", \"data_set_id\": \"" ds "\"}"

struct body_case {
	int		 line;
	const char	*body;
	int		 status;	/* 0: accepted as a whole */
	const char	*code;
};

static const struct body_case body_cases[] = {
	{ __LINE__, "", 400, "invalid_json" },
	{ __LINE__, "not json", 400, "invalid_json" },
	{ __LINE__, "[]", 400, "invalid_json" },
	{ __LINE__, "null", 400, "invalid_json" },
	{ __LINE__, "{\"mode\": \"pilot\"", 400, "invalid_json" },
	{ __LINE__, "{\"mode\": \"pi\xfflot\"}", 400, "invalid_json" },
	{ __LINE__, "{\"mode\": \"pilot\\u0000\"}", 400, "invalid_json" },
	/* The strict gate (json.h): nothing after the value but blanks. */
#define GOOD "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], " \
	"\"requisitions\": {\"cpu\": 1}}"
	{ __LINE__, GOOD " x", 400, "invalid_json" },
	{ __LINE__, GOOD "\n1700000000", 400, "invalid_json" },
	{ __LINE__, GOOD "{}", 400, "invalid_json" },
	{ __LINE__, GOOD ",", 400, "invalid_json" },
	{ __LINE__, GOOD "\x01", 400, "invalid_json" },
	{ __LINE__, GOOD "\x0b", 400, "invalid_json" },
	{ __LINE__, "\xef\xbb\xbf" GOOD, 400, "invalid_json" },
	{ __LINE__, "{\"mode\": \"pi\tlot\"}", 400, "invalid_json" },
	{ __LINE__, "{\"mode\": \"pilot\x7f\"}", 400, "invalid_json" },
	{ __LINE__, GOOD " \t\r\n", 0, NULL },
	{ __LINE__, "\n " GOOD, 0, NULL },
#undef GOOD
	{ __LINE__, "{}", 400, "invalid_mode" },
	{ __LINE__, "{\"mode\": 1}", 400, "invalid_mode" },
	{ __LINE__, "{\"mode\": \"test\", \"jobs\": [], "
	    "\"requisitions\": {\"cpu\": 1}}", 422, "invalid_mode" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "]}",
	    400, "invalid_requisitions" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": [1]}", 400, "invalid_requisitions" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"gpu\": 1}}", 400, "invalid_requisitions" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": \"8\"}}", 400, "invalid_requisitions" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": 8, \"gpu\": \"1\"}}", 400,
	    "invalid_requisitions" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": 0}}", 422, "invalid_requisitions" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": -1}}", 422, "invalid_requisitions" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": 0.0004}}", 422,
	    "invalid_requisitions" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": 1e300}}", 422, "invalid_requisitions" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": 1, \"gpu\": 1.5}}", 422,
	    "invalid_requisitions" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": 1, \"gpu\": -1}}", 422,
	    "invalid_requisitions" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": 1, \"gpu\": 2000}}", 422,
	    "invalid_requisitions" },
	{ __LINE__, "{\"mode\": \"pilot\", \"requisitions\": {\"cpu\": 1}}",
	    400, "invalid_jobs" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": {}, "
	    "\"requisitions\": {\"cpu\": 1}}", 400, "invalid_jobs" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [], "
	    "\"requisitions\": {\"cpu\": 1}}", 422, "invalid_jobs" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [1,2,3,4,5,6,7,8,9], "
	    "\"requisitions\": {\"cpu\": 1}}", 422, "too_many_jobs" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": 1}, \"retry\": 3}", 400,
	    "invalid_retry" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": 1}, \"retry\": {\"on\": "
	    "[\"exit:7\", 7]}}", 400, "invalid_retry" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": 1}, \"retry\": {\"attempts\": "
	    "11}}", 422, "invalid_retry" },
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": 1}, \"retry\": {\"on\": "
	    "[\"segfault\"]}}", 422, "invalid_retry" },
	/* Accepted as a whole (jobs may still fail one by one). */
	{ __LINE__, "{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": 1}, \"retry\": {\"attempts\": 2, "
	    "\"on\": [\"oom\", \"exit:7\", \"oom\"]}}", 0, NULL },
	{ __LINE__, "{\"mode\": \"PiLoT\", \"jobs\": [1,2,3,4,5,6,7,8], "
	    "\"requisitions\": {\"cpu\": 1, \"gpu\": null}}", 0, NULL },
	{ __LINE__, "{\"mode\": \"production\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": 0.001, \"gpu\": 1.0}}", 0, NULL },
};

static void
test_body(void **state)
{
	struct batch_spec	 s;
	struct batch_error	 e;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
		const struct body_case *c = &body_cases[i];

		rc = batch_validate(c->body, strlen(c->body), &lim,
		    fake_lookup, NULL, &s, &e);
		if (c->status == 0 && rc != 0)
			fail_msg("line %d: refused %d %s (%s)", c->line,
			    e.status, e.code, e.msg);
		if (c->status != 0 && (rc != 1 || e.status != c->status ||
		    strcmp(e.code, c->code) != 0))
			fail_msg("line %d: rc %d status %d code %s, want %d %s",
			    c->line, rc, e.status, e.code ? e.code : "-",
			    c->status, c->code);
		if (rc == 1 && (e.msg[0] == '\0'))
			fail_msg("line %d: no sentence", c->line);
		batch_spec_free(&s);
	}
}

/* Validate body, expecting acceptance as a whole. */
static void
accept_body(const char *body, struct batch_spec *s)
{
	struct batch_error	 e;
	int			 rc;

	rc = batch_validate(body, strlen(body), &lim, fake_lookup, NULL, s,
	    &e);
	if (rc != 0)
		fail_msg("refused: rc %d %d %s %s", rc, e.status,
		    e.code ? e.code : "-", e.msg);
}

static void
test_requisitions(void **state)
{
	struct batch_spec	 s;

	/* The reference's 8 CPU + 1 GPU = 60 GB; gpu 1.0 is whole. */
	accept_body("{\"mode\": \"pilot\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": 8.0, \"gpu\": 1.0}}", &s);
	assert_true(s.cpu == 8.0);
	assert_int_equal(s.gpu, 1);
	assert_true(s.ram_gb == 60.0);
	assert_string_equal(s.cpu_text, "8.000");
	assert_string_equal(s.ram_text, "60.000");
	assert_int_equal(s.mode, BATCH_PILOT);
	batch_spec_free(&s);

	/* Fractional CPU, rounded to 0.001; gpu absent is 0. */
	accept_body("{\"mode\": \"Production\", \"jobs\": [" JOB("set") "], "
	    "\"requisitions\": {\"cpu\": 0.5004}}", &s);
	assert_string_equal(s.cpu_text, "0.500");
	assert_string_equal(s.ram_text, "2.000");
	assert_int_equal(s.gpu, 0);
	assert_int_equal(s.mode, BATCH_PRODUCTION);
	batch_spec_free(&s);
}

struct job_case {
	int		 line;
	const char	*job;
	const char	*mode;
	long long	 dataset_id;	/* 0: refused */
	const char	*image, *tag;
};

static const struct job_case job_cases[] = {
	{ __LINE__, JOB("set"), "production", 10, "singularitytechnologies/testai", "latest" },
	{ __LINE__, JOB(UUID_SET), "production", 10, NULL, NULL },
	{ __LINE__, JOB(UUID_PILOT), "production", 0, NULL, NULL },
	{ __LINE__, JOB(UUID_PILOT), "pilot", 20, NULL, NULL },
	{ __LINE__, JOB(UUID_EPILOT), "pilot", 0, NULL, NULL },
	{ __LINE__, JOB("empty"), "production", 0, NULL, NULL },
	{ __LINE__, JOB("nopilots"), "production", 31, NULL, NULL },
	{ __LINE__, JOB("nopilots"), "pilot", 0, NULL, NULL },
	{ __LINE__, JOB("allempty"), "pilot", 0, NULL, NULL },
	{ __LINE__, JOB("nosuch"), "production", 0, NULL, NULL },
	{ __LINE__, JOB(""), "production", 0, NULL, NULL },
	{ __LINE__, "1", "production", 0, NULL, NULL },
	{ __LINE__, "[]", "production", 0, NULL, NULL },
	{ __LINE__, "{}", "production", 0, NULL, NULL },
	{ __LINE__, "{\"command\": \"x\", \"data_set_id\": \"set\"}", "production", 0, NULL, NULL },
	{ __LINE__, "{\"command\": \"x\", \"image\": 5, \"data_set_id\": \"set\"}", "production", 0, NULL, NULL },
	{ __LINE__, "{\"command\": \"x\", \"image\": \"Bad\", \"data_set_id\": \"set\"}", "production", 0, NULL, NULL },
	{ __LINE__, "{\"command\": \"x\", \"image\": \"a\", \"image_tag\": \"-x\", \"data_set_id\": \"set\"}", "production", 0, NULL, NULL },
	{ __LINE__, "{\"command\": \"x\", \"image\": \"a\", \"image_tag\": 1, \"data_set_id\": \"set\"}", "production", 0, NULL, NULL },
	{ __LINE__, "{\"command\": \"x\", \"image\": \"a\", \"image_tag\": null, \"data_set_id\": \"set\"}", "production", 10, "a", "latest" },
	{ __LINE__, "{\"command\": \"x\", \"image\": \"a:1.2\", \"data_set_id\": \"set\"}", "production", 10, "a", "1.2" },
	{ __LINE__, "{\"command\": \"x\", \"image\": \"a:1.2\", \"image_tag\": \"1.2\", \"data_set_id\": \"set\"}", "production", 10, "a", "1.2" },
	{ __LINE__, "{\"command\": \"x\", \"image\": \"a:1.2\", \"image_tag\": \"1.3\", \"data_set_id\": \"set\"}", "production", 0, NULL, NULL },
	{ __LINE__, "{\"command\": \"x\", \"image\": \"localhost:5000/a/b:v2\", \"data_set_id\": \"set\"}", "production", 10, "localhost:5000/a/b", "v2" },
	{ __LINE__, "{\"command\": \"x\", \"image\": \"localhost:5000/a/b\", \"image_tag\": \"v3\", \"data_set_id\": \"set\"}", "production", 10, "localhost:5000/a/b", "v3" },
	{ __LINE__, "{\"command\": \"x\", \"image\": \"a:\", \"data_set_id\": \"set\"}", "production", 0, NULL, NULL },
	{ __LINE__, "{\"command\": \"x\", \"image\": \"a@sha256:0123\", \"data_set_id\": \"set\"}", "production", 0, NULL, NULL },
	{ __LINE__, "{\"command\": \"\", \"image\": \"a\", \"data_set_id\": \"set\"}", "production", 0, NULL, NULL },
	{ __LINE__, "{\"command\": [\"a\"], \"image\": \"a\", \"data_set_id\": \"set\"}", "production", 0, NULL, NULL },
	{ __LINE__, "{\"command\": \"a\\u0007\", \"image\": \"a\", \"data_set_id\": \"set\"}", "production", 0, NULL, NULL },
	{ __LINE__, "{\"command\": \"a\", \"image\": \"a\"}", "production", 0, NULL, NULL },
	{ __LINE__, "{\"command\": \"a\", \"image\": \"a\", \"data_set_id\": 10}", "production", 0, NULL, NULL },
	{ __LINE__, "{\"command\": \"caf\\u00e9 \\u2603\", \"image\": \"a\", \"data_set_id\": \"set\", \"extra\": 1}", "production", 10, "a", "latest" },
};

static void
test_jobs(void **state)
{
	struct batch_spec	 s;
	char			 body[2048];
	size_t			 i;

	for (i = 0; i < sizeof(job_cases) / sizeof(job_cases[0]); i++) {
		const struct job_case *c = &job_cases[i];

		snprintf(body, sizeof(body), "{\"mode\": \"%s\", \"jobs\": "
		    "[%s], \"requisitions\": {\"cpu\": 1}}", c->mode, c->job);
		accept_body(body, &s);
		assert_int_equal(s.njobs, 1);
		if (c->dataset_id == 0) {
			if (s.nvalid != 0 || s.jobs[0].error == NULL)
				fail_msg("line %d: accepted", c->line);
		} else {
			if (s.nvalid != 1 || s.jobs[0].error != NULL)
				fail_msg("line %d: refused: %s", c->line,
				    s.jobs[0].error);
			if (s.jobs[0].dataset_id != c->dataset_id)
				fail_msg("line %d: data set %lld", c->line,
				    s.jobs[0].dataset_id);
			if (c->image != NULL &&
			    (strcmp(s.jobs[0].image, c->image) != 0 ||
			    strcmp(s.jobs[0].image_tag, c->tag) != 0))
				fail_msg("line %d: image %s:%s", c->line,
				    s.jobs[0].image, s.jobs[0].image_tag);
		}
		batch_spec_free(&s);
	}
}

static void
test_long_command(void **state)
{
	static const char	 pre[] = "{\"mode\": \"pilot\", "
	    "\"requisitions\": {\"cpu\": 1}, \"jobs\": [{\"image\": \"a\", "
	    "\"data_set_id\": \"set\", \"command\": \"";
	struct batch_spec	 s;
	char			*body;
	size_t			 n;

	/* 4096 bytes of command pass, 4097 do not. */
	for (n = 4096; n <= 4097; n++) {
		body = malloc(n + strlen(pre) + 8);
		assert_non_null(body);
		memcpy(body, pre, strlen(pre));
		memset(body + strlen(pre), 'x', n);
		strcpy(body + strlen(pre) + n, "\"}]}");
		accept_body(body, &s);
		assert_int_equal(s.nvalid, n == 4096 ? 1 : 0);
		batch_spec_free(&s);
		free(body);
	}
}

static void
test_spread(void **state)
{
	struct batch_spec	 s;
	static const long long	 want[] = { 11, 0, 12, 14, 20, 11, 12 };
	size_t			 i;

	/*
	 * Jobs naming the set spread over its pilots with shards (11, 12,
	 * 14) in turn, counted over the accepted jobs naming it: job 1 fails
	 * on its image and does not take a turn; a pilot UUID (job 4) runs
	 * on that pilot and takes none either.
	 */
	lookups = 0;
	accept_body("{\"mode\": \"pilot\", \"requisitions\": {\"cpu\": 2}, "
	    "\"jobs\": [" JOB("set") ", "
	    "{\"command\": \"x\", \"image\": \"BAD\", \"data_set_id\": \"set\"}, "
	    JOB("set") ", " JOB(UUID_SET) ", " JOB(UUID_PILOT) ", "
	    JOB("set") ", " JOB("set") "]}", &s);
	assert_int_equal(s.njobs, 7);
	assert_int_equal(s.nvalid, 6);
	for (i = 0; i < 7; i++) {
		if (want[i] == 0)
			assert_non_null(s.jobs[i].error);
		else if (s.jobs[i].dataset_id != want[i])
			fail_msg("job %zu on %lld, want %lld", i,
			    s.jobs[i].dataset_id, want[i]);
	}
	assert_string_equal(s.jobs[0].dataset_uuid,
	    "00000000-0000-4000-8000-000000000011");
	/*
	 * The set by name and by UUID are two references: looked up once
	 * each, whatever the number of jobs.
	 */
	assert_int_equal(lookups, 3);
	batch_spec_free(&s);
}

static void
test_lookup_failure(void **state)
{
	struct batch_spec	 s;
	struct batch_error	 e;
	const char		*b = "{\"mode\": \"pilot\", \"requisitions\": "
	    "{\"cpu\": 2}, \"jobs\": [" JOB("gone") "]}";

	assert_int_equal(batch_validate(b, strlen(b), &lim, fake_lookup, NULL,
	    &s, &e), DB_GONE);
	batch_spec_free(&s);
}

static void
test_errors_json(void **state)
{
	struct batch_spec	 s;
	cJSON			*arr;
	char			*txt;

	accept_body("{\"mode\": \"production\", \"requisitions\": {\"cpu\": 2},"
	    " \"jobs\": [" JOB("set") ", 5, " JOB("nosuch") "]}", &s);
	arr = batch_errors_json(&s);
	assert_non_null(arr);
	txt = cJSON_PrintUnformatted(arr);
	assert_string_equal(txt, "[{\"index\":1,\"error\":\"job must be a "
	    "JSON object\"},{\"index\":2,\"error\":\"no such data set\"}]");
	cJSON_free(txt);
	cJSON_Delete(arr);
	batch_spec_free(&s);
}

/* --- derived status and paging ---------------------------------------------- */

static void
test_derive(void **state)
{
	static const struct {
		int			 line;
		unsigned long long	 c[JOB__MAX];
		enum batch_status	 want;
	} cases[] = {
		/* Q  Pe Pr Pd U  Co E  Ca */
		{ __LINE__, { 2, 0, 0, 0, 0, 0, 0, 0 }, BATCH_QUEUED },
		{ __LINE__, { 1, 1, 0, 0, 0, 0, 0, 0 }, BATCH_PROCESSING },
		{ __LINE__, { 1, 0, 0, 0, 0, 0, 0, 1 }, BATCH_PROCESSING },
		{ __LINE__, { 0, 0, 0, 1, 0, 1, 0, 0 }, BATCH_PROCESSING },
		{ __LINE__, { 0, 0, 0, 0, 1, 0, 1, 0 }, BATCH_PROCESSING },
		{ __LINE__, { 0, 0, 0, 0, 0, 2, 0, 0 }, BATCH_COMPLETED },
		{ __LINE__, { 0, 0, 0, 0, 0, 1, 0, 1 }, BATCH_COMPLETED },
		{ __LINE__, { 0, 0, 0, 0, 0, 1, 1, 0 }, BATCH_ERRORED },
		{ __LINE__, { 0, 0, 0, 0, 0, 0, 1, 1 }, BATCH_ERRORED },
		{ __LINE__, { 0, 0, 0, 0, 0, 0, 0, 3 }, BATCH_CANCELED },
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (batch_status_derive(cases[i].c) != cases[i].want)
			fail_msg("line %d: %s, want %s", cases[i].line,
			    batch_status_names[batch_status_derive(cases[i].c)],
			    batch_status_names[cases[i].want]);
	assert_int_equal(batch_status_parse("processing", 10),
	    BATCH_PROCESSING);
	assert_int_equal(batch_status_parse("PENDING", 7), -1);
	assert_int_equal(job_status_parse("pending", 7), JOB_PENDING);
	assert_int_equal(job_status_parse("pend", 4), -1);
}

static int
jstatus(const char *s, size_t n)
{
	return job_status_parse(s, n);
}

static void
test_page(void **state)
{
	struct job_page	 p;
	const char	*code, *msg;

	assert_int_equal(job_page_parse("", jstatus, &p, &code, &msg), 0);
	assert_int_equal(p.limit, 100);
	assert_int_equal(p.has_before, 0);
	assert_int_equal(p.status, -1);
	assert_int_equal(job_page_parse("limit=1000&status=Queued&before="
	    "AAAAAAAA-1111-4111-8111-111111111111&x=y&flag", jstatus, &p,
	    &code, &msg), 0);
	assert_int_equal(p.limit, 1000);
	assert_int_equal(p.status, JOB_QUEUED);
	assert_int_equal(p.has_before, 1);
	assert_string_equal(p.before, "aaaaaaaa-1111-4111-8111-111111111111");
	assert_int_equal(job_page_parse("limit=1", jstatus, &p, &code, &msg),
	    0);
	assert_int_equal(p.limit, 1);

	assert_int_equal(job_page_parse("limit=0", jstatus, &p, &code, &msg),
	    -1);
	assert_string_equal(code, "invalid_limit");
	assert_int_equal(job_page_parse("limit=1001", jstatus, &p, &code,
	    &msg), -1);
	assert_int_equal(job_page_parse("limit=", jstatus, &p, &code, &msg),
	    -1);
	assert_int_equal(job_page_parse("limit=-1", jstatus, &p, &code, &msg),
	    -1);
	assert_int_equal(job_page_parse("limit=1e2", jstatus, &p, &code,
	    &msg), -1);
	assert_int_equal(job_page_parse("limit=99999999999999999999999",
	    jstatus, &p, &code, &msg), -1);
	assert_int_equal(job_page_parse("before=xyz", jstatus, &p, &code,
	    &msg), -1);
	assert_string_equal(code, "invalid_before");
	assert_int_equal(job_page_parse("status=RUNNING", jstatus, &p, &code,
	    &msg), -1);
	assert_string_equal(code, "invalid_status");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image),
		cmocka_unit_test(test_tag),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_requisitions),
		cmocka_unit_test(test_jobs),
		cmocka_unit_test(test_long_command),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_lookup_failure),
		cmocka_unit_test(test_errors_json),
		cmocka_unit_test(test_derive),
		cmocka_unit_test(test_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

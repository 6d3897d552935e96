/*
 * test-docker-parse.c: the parsers of the Docker Engine's answers
 * (src/dispatcher/docker.h): container inspect JSON, RFC 3339 times, the
 * multiplexed log stream fed in pieces, the pull progress stream, and the
 * client's refusal of malformed endpoints.
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

#include "docker.h"

/* A trimmed answer of dockerd 20.10 for an exited container. */
static const char inspect_exited[] =
"{\"Id\":\"7a7e1a1e927792e2a389e52de1de232df419734b5a2f6b7182f41fc3eb5f863c\","
"\"Created\":\"2026-11-27T00:31:33.1Z\",\"Path\":\"/bin/sh\","
"\"State\":{\"Status\":\"exited\",\"Running\":false,\"Paused\":false,"
"\"Restarting\":false,\"OOMKilled\":false,\"Dead\":false,\"Pid\":0,"
"\"ExitCode\":3,\"Error\":\"\",\"StartedAt\":\"2026-11-27T00:31:33.37472105Z\","
"\"FinishedAt\":\"2026-11-27T00:31:33.582784686Z\"},"
"\"Name\":\"/st-job-x\",\"Config\":{\"Labels\":{\"singularity.job\":\"x\"}}}";

static const char inspect_created[] =
"{\"Id\":\"abc\",\"State\":{\"Status\":\"created\",\"Running\":false,"
"\"OOMKilled\":false,\"ExitCode\":0,\"Error\":\"\","
"\"StartedAt\":\"0001-01-01T00:00:00Z\",\"FinishedAt\":\"0001-01-01T00:00:00Z\"}}";

static const char inspect_oom[] =
"{\"Id\":\"def\",\"State\":{\"Status\":\"exited\",\"Running\":false,"
"\"OOMKilled\":true,\"ExitCode\":137,\"Error\":\"\","
"\"StartedAt\":\"2026-11-27T00:21:15.574525669Z\","
"\"FinishedAt\":\"2026-11-27T00:21:15.863057864Z\"}}";

static void
test_inspect_exited(void **state)
{
	struct docker_state	 st;

	(void)state;
	assert_int_equal(docker_parse_inspect(inspect_exited,
	    strlen(inspect_exited), &st), 0);
	assert_string_equal(st.id, "7a7e1a1e927792e2a389e52de1de232df419734b"
	    "5a2f6b7182f41fc3eb5f863c");
	assert_string_equal(st.status, "exited");
	assert_int_equal(st.running, 0);
	assert_int_equal(st.exit_code, 3);
	assert_int_equal(st.oom_killed, 0);
	/* 2026-11-27T00:31:33Z is 1795739493. */
	assert_int_equal(st.started_ms, 1795739493374LL);
	assert_int_equal(st.finished_ms, 1795739493582LL);
}

static void
test_inspect_created_oom(void **state)
{
	struct docker_state	 st;

	(void)state;
	assert_int_equal(docker_parse_inspect(inspect_created,
	    strlen(inspect_created), &st), 0);
	assert_string_equal(st.status, "created");
	assert_int_equal(st.started_ms, 0);
	assert_int_equal(st.finished_ms, 0);
	assert_int_equal(docker_parse_inspect(inspect_oom,
	    strlen(inspect_oom), &st), 0);
	assert_int_equal(st.oom_killed, 1);
	assert_int_equal(st.exit_code, 137);
	assert_int_equal(st.finished_ms - st.started_ms, 289);
}

/* Answers that are not a container. */
static void
test_inspect_bad(void **state)
{
	static const struct { int line; const char *json; } t[] = {
		{ __LINE__, "" },
		{ __LINE__, "[]" },
		{ __LINE__, "{\"message\":\"No such container: x\"}" },
		{ __LINE__, "{\"Id\":\"a\"}" },
		{ __LINE__, "{\"Id\":\"\",\"State\":{\"Status\":\"exited\"}}" },
		{ __LINE__, "{\"Id\":1,\"State\":{\"Status\":\"exited\"}}" },
		{ __LINE__, "{\"Id\":\"a\",\"State\":{\"Status\":7}}" },
		{ __LINE__, "{\"Id\":\"a\",\"State\":{\"Status\":\"a-very-long-status-word\"}}" },
		{ __LINE__, "{\"Id\":\"a\",\"State\":[]}" },
		{ __LINE__, "{\"Id\":\"a\",\"State\":{\"Status\":\"exited\"" },
	};
	struct docker_state	 st;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (docker_parse_inspect(t[i].json, strlen(t[i].json), &st)
		    != -1)
			fail_msg("line %d: accepted", t[i].line);
}

static void
test_time(void **state)
{
	static const struct {
		int		 line;
		const char	*s;
		int		 rc;
		long long	 ms;
	} t[] = {
		{ __LINE__, "1970-01-01T00:00:00Z", 0, 0 },
		{ __LINE__, "1970-01-01T00:00:01.5Z", 0, 1500 },
		{ __LINE__, "2026-11-27T00:31:33.37472105Z", 0, 1795739493374LL },
		{ __LINE__, "2026-11-27T01:31:33+01:00", 0, 1795739493000LL },
		{ __LINE__, "2026-11-26T23:31:33.1-01:00", 0, 1795739493100LL },
		{ __LINE__, "0001-01-01T00:00:00Z", 0, 0 },
		{ __LINE__, "2026-11-27 00:31:33Z", -1, 0 },
		{ __LINE__, "2026-13-27T00:31:33Z", -1, 0 },
		{ __LINE__, "2026-11-27T24:31:33Z", -1, 0 },
		{ __LINE__, "2026-11-27T00:31:33", -1, 0 },
		{ __LINE__, "2026-11-27T00:31:33.Z", -1, 0 },
		{ __LINE__, "2026-11-27T00:31:33Zjunk", -1, 0 },
		{ __LINE__, "2026-11-27T00:31:33+0100", -1, 0 },
		{ __LINE__, "", -1, 0 },
	};
	long long	 ms;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (docker_parse_time(t[i].s, &ms) != t[i].rc)
			fail_msg("line %d: rc", t[i].line);
		if (t[i].rc == 0 && ms != t[i].ms)
			fail_msg("line %d: %lld ms, want %lld", t[i].line, ms,
			    t[i].ms);
	}
}

/* Two frames (stdout, stderr) as dockerd sends them. */
static const unsigned char two_frames[] = {
	1, 0, 0, 0, 0, 0, 0, 4, 'o', 'u', 't', '\n',
	2, 0, 0, 0, 0, 0, 0, 4, 'e', 'r', 'r', '\n',
};

static void
test_demux_pieces(void **state)
{
	struct docker_buf	 out = { 0 };
	struct docker_demux	 dm;
	size_t			 step, i;

	(void)state;
	/* Every piece size gives the same text. */
	for (step = 1; step <= sizeof(two_frames); step++) {
		out.len = 0;
		docker_demux_init(&dm, 1024, &out);
		for (i = 0; i < sizeof(two_frames); i += step)
			assert_int_equal(docker_demux_feed(&dm, two_frames + i,
			    i + step > sizeof(two_frames) ?
			    sizeof(two_frames) - i : step), 0);
		assert_int_equal(docker_demux_end(&dm), 0);
		assert_int_equal(out.len, 8);
		assert_memory_equal(out.data, "out\nerr\n", 8);
	}
	docker_buf_free(&out);
}

static void
test_demux_tail_and_errors(void **state)
{
	struct docker_buf	 out = { 0 };
	struct docker_demux	 dm;
	unsigned char		 frame[8 + 100];
	unsigned char		 bad[] = { 7, 0, 0, 0, 0, 0, 0, 1, 'x' };
	int			 i;

	(void)state;
	/* Only the last max bytes are kept, across frames. */
	memset(frame, 0, 8);
	frame[0] = 1;
	frame[7] = 100;
	docker_demux_init(&dm, 150, &out);
	for (i = 0; i < 10; i++) {
		memset(frame + 8, 'a' + i, 100);
		assert_int_equal(docker_demux_feed(&dm, frame, sizeof(frame)),
		    0);
	}
	assert_int_equal(out.len, 150);
	assert_int_equal(out.data[0], 'i');
	assert_int_equal(out.data[49], 'i');
	assert_int_equal(out.data[50], 'j');
	assert_int_equal(out.data[149], 'j');

	/* A truncated frame and a header with an unknown stream. */
	out.len = 0;
	docker_demux_init(&dm, 150, &out);
	assert_int_equal(docker_demux_feed(&dm, frame, 20), 0);
	assert_int_equal(docker_demux_end(&dm), -1);
	out.len = 0;
	docker_demux_init(&dm, 150, &out);
	assert_int_equal(docker_demux_feed(&dm, bad, sizeof(bad)), -1);
	assert_int_equal(docker_demux_end(&dm), -1);
	assert_int_equal(out.len, 0);
	docker_buf_free(&out);
}

static void
test_pull(void **state)
{
	static const char ok[] =
	    "{\"status\":\"Pulling from library/busybox\",\"id\":\"1.36\"}\r\n"
	    "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,"
	    "\"total\":2},\"id\":\"a\"}\r\n"
	    "{\"status\":\"Status: Downloaded newer image\"}\r\n";
	static const char bad[] =
	    "{\"status\":\"Pulling from x/y\"}\r\n"
	    "{\"errorDetail\":{\"message\":\"manifest unknown\"},"
	    "\"error\":\"manifest unknown\"}\r\n";
	static const char bad2[] = "{\"error\":\"denied\"}";
	char	 msg[256];

	(void)state;
	assert_int_equal(docker_parse_pull(ok, strlen(ok), msg, sizeof(msg)),
	    0);
	assert_int_equal(docker_parse_pull(bad, strlen(bad), msg,
	    sizeof(msg)), -1);
	assert_string_equal(msg, "manifest unknown");
	assert_int_equal(docker_parse_pull(bad2, strlen(bad2), msg,
	    sizeof(msg)), -1);
	assert_string_equal(msg, "denied");
	assert_int_equal(docker_parse_pull("garbage\n{}", 10, msg,
	    sizeof(msg)), 0);
}

static void
test_endpoints(void **state)
{
	static const struct {
		int		 line;
		const char	*ep, *ca, *cert, *key;
		int		 ok;
	} t[] = {
		{ __LINE__, "unix:///run/docker.sock", NULL, NULL, NULL, 1 },
		{ __LINE__, "tcp://127.0.0.1:2376", "a", "b", "c", 1 },
		{ __LINE__, "tcp://127.0.0.1:2375", NULL, NULL, NULL, 1 },
		{ __LINE__, "tcp://127.0.0.1:2376", "a", NULL, "c", 0 },
		{ __LINE__, "unix:///run/docker.sock", "a", "b", "c", 0 },
		{ __LINE__, "unix://relative", NULL, NULL, NULL, 0 },
		{ __LINE__, "http://127.0.0.1:2375", NULL, NULL, NULL, 0 },
		{ __LINE__, "tcp://host:1/path", NULL, NULL, NULL, 0 },
		{ __LINE__, "tcp://", NULL, NULL, NULL, 0 },
	};
	struct docker	*d;
	char		 err[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err[0] = '\0';
		d = docker_new(t[i].ep, t[i].ca, t[i].cert, t[i].key, err,
		    sizeof(err));
		if ((d != NULL) != t[i].ok)
			fail_msg("line %d: %s", t[i].line, err);
		if (d == NULL && err[0] == '\0')
			fail_msg("line %d: no reason", t[i].line);
		docker_free(d);
	}
}

/* A refused connection is DOCKER_UNREACHABLE with a sentence naming it. */
static void
test_unreachable(void **state)
{
	struct docker	*d;
	char		 err[256];

	(void)state;
	d = docker_new("unix:///nonexistent/st-test.sock", NULL, NULL, NULL,
	    err, sizeof(err));
	assert_non_null(d);
	docker_set_timeouts(d, 1, 2);
	assert_int_equal(docker_ping(d), DOCKER_UNREACHABLE);
	assert_non_null(strstr(docker_error(d),
	    "unix:///nonexistent/st-test.sock"));
	docker_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inspect_exited),
		cmocka_unit_test(test_inspect_created_oom),
		cmocka_unit_test(test_inspect_bad),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_demux_pieces),
		cmocka_unit_test(test_demux_tail_and_errors),
		cmocka_unit_test(test_pull),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_unreachable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

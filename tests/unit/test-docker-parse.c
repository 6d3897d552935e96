/*
 * test-docker-parse.c: the parsers of the Docker Engine's answers
 * (src/dispatcher/docker.h): container inspect JSON, RFC 3339 times, the
 * multiplexed log stream fed in pieces, the pull progress stream, and the
 * client's refusal of malformed endpoints; the answers the fleet loop reads:
 * /version, the labelled container list, /events lines, whole log frames
 * with their timestamps, pull progress per layer, volumes.
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

/* GET /version: 1.41 accepted, older and newer-only engines refused. */
static void
test_version(void **state)
{
	static const struct {
		int		 line;
		const char	*json;
		int		 ok;
		const char	*says;
	} t[] = {
		{ __LINE__, "{\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}", 1, "" },
		{ __LINE__, "{\"ApiVersion\":\"1.45\",\"MinAPIVersion\":\"1.24\"}", 1, "" },
		{ __LINE__, "{\"ApiVersion\":\"1.40\"}", 0, "1.40" },
		{ __LINE__, "{\"ApiVersion\":\"1.50\",\"MinAPIVersion\":\"1.44\"}", 0, "minimum 1.44" },
		{ __LINE__, "{\"Version\":\"28\"}", 0, "(unknown)" },
		{ __LINE__, "[1]", 0, "" },
		{ __LINE__, "not json", 0, "not JSON" },
	};
	char	 msg[256];
	size_t	 i;
	int	 rc;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rc = docker_parse_version(t[i].json, strlen(t[i].json), msg,
		    sizeof(msg));
		if ((rc == 0) != t[i].ok || strstr(msg, t[i].says) == NULL)
			fail_msg("line %d: rc %d msg '%s'", t[i].line, rc, msg);
	}
}

/* A container list: names without '/', labels, entries without Id skipped. */
static void
test_list(void **state)
{
	static const char list[] =
	    "[{\"Id\":\"aa\",\"Names\":[\"/st-job-1\"],\"State\":\"exited\","
	    "\"Status\":\"Exited (3) 1 second ago\",\"Labels\":{"
	    "\"singularity.job\":\"1\"}},"
	    "{\"Names\":[\"/no-id\"],\"State\":\"running\"},"
	    "{\"Id\":\"bb\",\"Names\":[\"/st-fill-v\"],\"State\":\"created\","
	    "\"Labels\":{\"singularity.job\":\"\",\"singularity.fill\":\"v\"}},"
	    "7]";
	struct docker_container	*c = NULL;
	size_t			 n = 0;

	(void)state;
	assert_int_equal(docker_parse_list(list, strlen(list), &c, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(c[0].name, "st-job-1");
	assert_string_equal(c[0].state, "exited");
	assert_string_equal(c[0].job, "1");
	assert_string_equal(c[0].fill, "");
	assert_string_equal(c[1].name, "st-fill-v");
	assert_string_equal(c[1].fill, "v");
	free(c);
	assert_int_equal(docker_parse_list("{}", 2, &c, &n), -1);
	assert_null(c);
}

/* /events lines as dockerd 20.10 sends them. */
static void
test_event(void **state)
{
	static const char die[] =
	    "{\"status\":\"die\",\"id\":\"aa\",\"Type\":\"container\","
	    "\"Action\":\"die\",\"Actor\":{\"ID\":\"aa\",\"Attributes\":{"
	    "\"exitCode\":\"137\",\"name\":\"st-job-u\","
	    "\"singularity.job\":\"u\"}},\"scope\":\"local\","
	    "\"time\":1795739493,\"timeNano\":1795739493374721050}";
	static const char old[] =
	    "{\"status\":\"oom\",\"id\":\"aa\",\"time\":1795739493}";
	struct docker_event	 ev;

	(void)state;
	assert_int_equal(docker_parse_event(die, strlen(die), &ev), 0);
	assert_string_equal(ev.type, "container");
	assert_string_equal(ev.action, "die");
	assert_string_equal(ev.name, "st-job-u");
	assert_string_equal(ev.job, "u");
	assert_int_equal(ev.exit_code, 137);
	assert_true(ev.time_ns > 1795739493374000000LL &&
	    ev.time_ns < 1795739493375000000LL);
	assert_int_equal(docker_parse_event(old, strlen(old), &ev), 0);
	assert_string_equal(ev.action, "oom");
	assert_int_equal(ev.exit_code, -1);
	assert_int_equal(ev.time_ns, 1795739493000000000LL);
	assert_int_equal(docker_parse_event("[]", 2, &ev), -1);
	assert_int_equal(docker_parse_event("{", 1, &ev), -1);
}

struct frames_seen {
	char	 text[256];
	int	 nframes;
	int	 streams;
};

static int
frame_cb(void *arg, int stream, const char *p, size_t n)
{
	struct frames_seen	*f = arg;
	size_t			 len = strlen(f->text);

	if (len + n < sizeof(f->text)) {
		memcpy(f->text + len, p, n);
		f->text[len + n] = '\0';
	}
	f->nframes++;
	f->streams |= 1 << stream;
	return 0;
}

/* Whole frames, whatever the pieces; a bad header stops the feed. */
static void
test_frames(void **state)
{
	static const unsigned char s[] = {
		1, 0, 0, 0, 0, 0, 0, 4, 'a', 'b', 'c', '\n',
		2, 0, 0, 0, 0, 0, 0, 3, 'e', 'r', '\n',
		1, 0, 0, 0, 0, 0, 0, 0,
	};
	struct docker_frames	 f;
	struct frames_seen	 seen;
	size_t			 step, i, n;

	(void)state;
	for (step = 1; step <= sizeof(s); step++) {
		memset(&seen, 0, sizeof(seen));
		docker_frames_init(&f);
		for (i = 0; i < sizeof(s); i += n) {
			n = sizeof(s) - i < step ? sizeof(s) - i : step;
			assert_int_equal(docker_frames_feed(&f, s + i, n,
			    frame_cb, &seen), 0);
		}
		assert_int_equal(docker_frames_end(&f), 0);
		assert_string_equal(seen.text, "abc\ner\n");
		assert_int_equal(seen.nframes, 3);
		assert_int_equal(seen.streams, (1 << 1) | (1 << 2));
		docker_frames_free(&f);
	}
	/* Cut inside a frame: not ended. */
	docker_frames_init(&f);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(docker_frames_feed(&f, s, 10, frame_cb, &seen), 0);
	assert_int_equal(docker_frames_end(&f), -1);
	assert_int_equal(seen.nframes, 0);
	docker_frames_free(&f);
	/* A header of stream 3, or a frame over the limit: refused. */
	docker_frames_init(&f);
	assert_int_equal(docker_frames_feed(&f, "\3\0\0\0\0\0\0\1x", 9,
	    frame_cb, &seen), -1);
	docker_frames_free(&f);
	docker_frames_init(&f);
	assert_int_equal(docker_frames_feed(&f, "\1\0\0\0\x7f\0\0\0", 8,
	    frame_cb, &seen), -1);
	docker_frames_free(&f);
}

/* The timestamp of a log frame with timestamps=1, to the nanosecond. */
static void
test_log_ts(void **state)
{
	static const struct {
		int		 line;
		const char	*p;
		long long	 ns;
		size_t		 skip;
	} t[] = {
		{ __LINE__, "2026-11-27T00:31:33.374721050Z hello\n",
		    1795739493374721050LL, 31 },
		{ __LINE__, "2026-11-27T00:31:33.000000001Z x",
		    1795739493000000001LL, 31 },
		{ __LINE__, "2026-11-27T00:31:33.5Z y", 1795739493500000000LL,
		    23 },
		{ __LINE__, "2026-11-27T00:31:33Z z", 1795739493000000000LL,
		    21 },
		{ __LINE__, "2026-11-27T00:31:33.1234567891Z w", -1, 0 },
		{ __LINE__, "hello world", -1, 0 },
		{ __LINE__, "2026-11-27T00:31:33.374721050Z", -1, 0 },
	};
	long long	 ns;
	size_t		 i, skip;
	int		 rc;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rc = docker_log_ts(t[i].p, strlen(t[i].p), &ns, &skip);
		if (t[i].ns < 0 ? rc != -1 : (rc != 0 || ns != t[i].ns ||
		    skip != t[i].skip))
			fail_msg("line %d: rc %d ns %lld skip %zu", t[i].line,
			    rc, ns, skip);
	}
}

/* Pull progress summed over layers; an error line fails the pull. */
static void
test_pull_progress(void **state)
{
	static const char *const lines[] = {
		"{\"status\":\"Pulling from st/a\",\"id\":\"1\"}",
		"{\"status\":\"Pulling fs layer\",\"id\":\"l1\"}",
		"{\"status\":\"Downloading\",\"progressDetail\":{\"current\":100,"
		    "\"total\":1000},\"id\":\"l1\"}",
		"{\"status\":\"Downloading\",\"progressDetail\":{\"current\":50,"
		    "\"total\":500},\"id\":\"l2\"}",
		"{\"status\":\"Downloading\",\"progressDetail\":{\"current\":700,"
		    "\"total\":1000},\"id\":\"l1\"}",
		"{\"status\":\"Download complete\",\"id\":\"l2\"}",
	};
	struct docker_pull_progress	 pp;
	size_t				 i;

	(void)state;
	memset(&pp, 0, sizeof(pp));
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		assert_int_equal(docker_pull_line(&pp, lines[i],
		    strlen(lines[i])), 0);
	assert_int_equal(pp.current, 1200);
	assert_int_equal(pp.total, 1500);
	assert_int_equal(pp.failed, 0);
	assert_int_equal(docker_pull_line(&pp, "{\"errorDetail\":{\"message\":"
	    "\"unauthorized: authentication required\"},\"error\":\"x\"}", 84),
	    0);
	assert_int_equal(pp.failed, 1);
	assert_string_equal(pp.msg, "unauthorized: authentication required");
	assert_int_equal(docker_pull_line(&pp, "garbage", 7), -1);
	docker_pull_progress_free(&pp);
}

/* Volumes: a create answer's Mountpoint, a list's names. */
static void
test_volumes(void **state)
{
	static const char vol[] = "{\"CreatedAt\":\"2026-12-01T00:00:00Z\","
	    "\"Driver\":\"local\",\"Labels\":{},\"Mountpoint\":"
	    "\"/var/lib/docker/volumes/st-data-x/_data\",\"Name\":\"st-data-x\"}";
	static const char list[] = "{\"Volumes\":[{\"Name\":\"a\"},"
	    "{\"Name\":\"\"},{\"Driver\":\"local\"},{\"Name\":\"b\"}],"
	    "\"Warnings\":null}";
	char	 mp[256], **names = NULL;
	size_t	 n = 0;

	(void)state;
	assert_int_equal(docker_parse_volume(vol, strlen(vol), mp, sizeof(mp)),
	    0);
	assert_string_equal(mp, "/var/lib/docker/volumes/st-data-x/_data");
	assert_int_equal(docker_parse_volume("{\"Mountpoint\":\"rel\"}", 22,
	    mp, sizeof(mp)), -1);
	assert_int_equal(docker_parse_volumes(list, strlen(list), &names, &n),
	    0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "b");
	free(names[0]);
	free(names[1]);
	free(names);
	assert_int_equal(docker_parse_volumes("{\"Volumes\":null}", 16,
	    &names, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(docker_parse_volumes("[]", 2, &names, &n), -1);
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
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_event),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_log_ts),
		cmocka_unit_test(test_pull_progress),
		cmocka_unit_test(test_volumes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

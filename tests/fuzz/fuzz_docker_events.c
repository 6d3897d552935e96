/*
 * fuzz_docker_events.c: the parsers of what the fleet loop reads from an
 * engine (src/dispatcher/docker-parse.c): /events lines, the labelled
 * container list, /version, volumes, pull progress lines, and the log
 * stream split into whole frames whose timestamps are read. The first byte
 * picks the piece size of the frame feed; whole and in pieces must agree.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../dispatcher/docker.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sum {
	unsigned long long	 bytes;
	unsigned long long	 frames;
	long long		 ts;
};

static int
on_frame(void *arg, int stream, const char *p, size_t n)
{
	struct sum	*s = arg;
	long long	 ns;
	size_t		 skip;

	if (stream < 0 || stream > 2)
		abort();
	if (docker_log_ts(p, n, &ns, &skip) == 0) {
		if (skip > n || ns < 0)
			abort();
		s->ts += ns & 0xffff;
	}
	s->bytes += n;
	s->frames++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct docker_event		 ev;
	struct docker_container		*c = NULL;
	struct docker_pull_progress	 pp;
	struct docker_frames		 fa, fb;
	struct sum			 sa, sb;
	char				 msg[256], mp[256], **names = NULL;
	const char			*p;
	size_t				 n, i, k, step;
	int				 ra, rb;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	p = (const char *)data + 1;
	n = size - 1;

	if (docker_parse_event(p, n, &ev) == 0 && (ev.exit_code < -1 ||
	    ev.exit_code > 255 || strlen(ev.job) >= sizeof(ev.job)))
		abort();
	if (docker_parse_list(p, n, &c, &k) == 0)
		for (i = 0; i < k; i++)
			if (c[i].id[0] == '\0')
				abort();
	free(c);
	docker_parse_version(p, n, msg, sizeof(msg));
	if (docker_parse_volume(p, n, mp, sizeof(mp)) == 0 && mp[0] != '/')
		abort();
	if (docker_parse_volumes(p, n, &names, &k) == 0) {
		for (i = 0; i < k; i++)
			free(names[i]);
		free(names);
	}
	memset(&pp, 0, sizeof(pp));
	docker_pull_line(&pp, p, n);
	if (pp.current < 0 || pp.total < 0)
		abort();
	docker_pull_progress_free(&pp);

	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	docker_frames_init(&fa);
	docker_frames_init(&fb);
	for (i = 0; i < n; i += k) {
		k = n - i < step ? n - i : step;
		docker_frames_feed(&fa, p + i, k, on_frame, &sa);
	}
	docker_frames_feed(&fb, p, n, on_frame, &sb);
	ra = docker_frames_end(&fa);
	rb = docker_frames_end(&fb);
	if (ra != rb || sa.bytes != sb.bytes || sa.frames != sb.frames ||
	    sa.ts != sb.ts)
		abort();
	docker_frames_free(&fa);
	docker_frames_free(&fb);
	return 0;
}

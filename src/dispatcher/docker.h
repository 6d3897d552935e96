/*
 * docker.h: a Docker Engine API client on libcurl (API v1.41).
 *
 * An endpoint is "unix:///path/to/docker.sock" or "tcp://HOST:PORT"; a tcp
 * endpoint with TLS files is reached over https with the client certificate
 * (CA, cert, key), without them over plain http. Every request goes to
 * /v1.41/...; docker_version() checks that the engine speaks that version.
 * Every call has a timeout. JSON goes through cJSON, tar streams through
 * libarchive (in collect.c / launch.c), and the multiplexed log stream is
 * decoded here.
 *
 * Every call returns an enum docker_rc; on failure docker_error() holds a
 * sentence for people ("HTTP 404 from POST /containers/create: No such
 * image: x:y" or "cannot reach unix:///x.sock: Couldn't connect to server").
 */
#ifndef ST_DOCKER_H
#define ST_DOCKER_H

#include <stddef.h>
#include <stdio.h>

#define DOCKER_API_VERSION	"1.41"

enum docker_rc {
	DOCKER_OK = 0,
	DOCKER_ERROR = -1,	/* the engine answered with an error */
	DOCKER_UNREACHABLE = -2,/* transport: no connection, TLS, timeout */
	DOCKER_NOT_FOUND = -3,	/* 404: no such container, image or path */
	DOCKER_CONFLICT = -4,	/* 409: name in use, container not running */
	DOCKER_CANCELLED = -5,	/* the dispatcher gave the call up */
};

/* A growing byte buffer; data is NUL-terminated (not counted in len). */
struct docker_buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

void	docker_buf_free(struct docker_buf *b);
/* Append n bytes; aborts on exhaustion. */
void	docker_buf_add(struct docker_buf *b, const void *p, size_t n);
/* Drop the first n bytes (all of them when n >= len). */
void	docker_buf_drop(struct docker_buf *b, size_t n);
/*
 * A stream of lines (events, pull progress) fed in pieces: n bytes of p
 * are added to b and fn(arg, line, len) is called for each whole line,
 * its '\n' included; an unfinished line longer than max is dropped.
 */
void	docker_lines_feed(struct docker_buf *b, const char *p, size_t n,
	    size_t max, void (*fn)(void *, const char *, size_t), void *arg);

/* What docker_parse_inspect() reads from GET /containers/{id}/json. */
struct docker_state {
	char		 id[129];
	char		 status[16];	/* created running paused restarting
					   removing exited dead */
	int		 running;
	int		 exit_code;
	int		 oom_killed;
	long long	 started_ms;	/* Unix ms, 0 when never started */
	long long	 finished_ms;	/* Unix ms, 0 when not finished */
	char		 error[256];	/* State.Error, "" when none */
};

/* A container of a list answer (docker_parse_list()). */
struct docker_container {
	char	 id[129];
	char	 name[256];		/* without the leading '/' */
	char	 state[16];		/* created running exited dead ... */
	char	 job[40];		/* label singularity.job, "" when none */
	char	 fill[129];		/* label singularity.fill, "" when none */
};

/*
 * Calls of the Engine API, built for engine.h's loop: each returns a new
 * struct ecall (path escaped, body set) that the caller completes (done,
 * arg, sink or source) and submits. Names and references are escaped here.
 */
struct ecall;

struct ecall	*dk_ping(void);				/* GET /_ping */
struct ecall	*dk_version(void);			/* GET /version */
/* GET /containers/json?all=1&filters={"label":[label]} */
struct ecall	*dk_list(const char *label);
struct ecall	*dk_inspect(const char *name);		/* GET .../json */
/* POST /containers/create?name=name with the JSON body */
struct ecall	*dk_create(const char *name, const char *body);
struct ecall	*dk_start(const char *name);
struct ecall	*dk_kill(const char *name, const char *sig);
struct ecall	*dk_remove(const char *name);		/* force=1&v=1 */
/* PUT/GET /containers/{name}/archive?path=path */
struct ecall	*dk_archive_put(const char *name, const char *path);
struct ecall	*dk_archive_get(const char *name, const char *path);
/*
 * GET /containers/{name}/logs?stdout=1&stderr=1&timestamps=1, from
 * since_ns (Unix ns; 0 for the start), following when follow is set.
 */
struct ecall	*dk_logs(const char *name, long long since_ns, int follow);
/*
 * GET /events of containers with label, actions die and oom, from
 * since_s (Unix seconds; 0: from now).
 */
struct ecall	*dk_events(const char *label, long long since_s);
struct ecall	*dk_image_inspect(const char *ref);	/* GET /images/{ref}/json */
/* POST /images/create?fromImage=image&tag=tag */
struct ecall	*dk_pull(const char *image, const char *tag);
/* POST /volumes/create {"Name", "Labels"} (labels: JSON object text) */
struct ecall	*dk_volume_create(const char *name, const char *labels);
struct ecall	*dk_volume_remove(const char *name);
/* GET /volumes?filters={"label":[label]} */
struct ecall	*dk_volume_list(const char *label);

/*
 * A synchronous client of one endpoint, for tools and tests (never the
 * dispatcher's loop, which uses engine.h): TLS files apply to tcp
 * endpoints, all three or none. Returns NULL with a reason in err when the
 * endpoint is malformed. Freed with docker_free().
 */
struct docker;
struct docker	*docker_new(const char *endpoint, const char *tls_ca,
		    const char *tls_cert, const char *tls_key,
		    char *err, size_t errlen);
void		 docker_free(struct docker *d);
/* The last failure's sentence ("" after success). Owned by d. */
const char	*docker_error(const struct docker *d);
/* Connection timeout and the default whole-call timeout, in seconds. */
void		 docker_set_timeouts(struct docker *d, long connect_s,
		    long call_s);
/* GET /_ping: "OK". */
int		 docker_ping(struct docker *d);

/*
 * POST /images/create?fromImage=image&tag=tag with X-Registry-Auth auth
 * (NULL: none), read to its end within timeout_s; first(arg) is called
 * once, when the engine's first bytes arrive (the pull is under way). An
 * error in the stream fails the call with the registry's message.
 */
int		 docker_pull(struct docker *d, const char *image,
		    const char *tag, const char *auth, long timeout_s,
		    void (*first)(void *), void *arg);

/* --- parsers of the engine's answers (docker-parse.c: pure, fuzzed) ---- */

/*
 * Parse an inspect answer (n bytes of JSON) into *st. Returns 0, or -1 when
 * it is not an object with Id and State.
 */
int		 docker_parse_inspect(const char *p, size_t n,
		    struct docker_state *st);

/*
 * An RFC 3339 time with optional fraction and Z or +hh:mm offset into Unix
 * milliseconds. Docker's zero time (year 1) yields 0. Returns 0 or -1.
 */
int		 docker_parse_time(const char *s, long long *ms);

/*
 * The decoder of the multiplexed stream: 8-byte frame headers {stream, 0,
 * 0, 0, size (big endian 32)} followed by size bytes. Fed in pieces of any
 * size; keeps the last max bytes of payload in out.
 */
struct docker_demux {
	unsigned char	 hdr[8];
	size_t		 hdrlen;
	size_t		 remain;	/* payload bytes left in this frame */
	size_t		 max;
	int		 bad;		/* a header with an unknown stream */
	struct docker_buf *out;
};

void		 docker_demux_init(struct docker_demux *dm, size_t max,
		    struct docker_buf *out);
/* Returns 0, or -1 once a header is malformed (the rest is ignored). */
int		 docker_demux_feed(struct docker_demux *dm, const void *p,
		    size_t n);
/* 0 when the stream ended on a frame boundary, else -1 (truncated). */
int		 docker_demux_end(const struct docker_demux *dm);

/*
 * Read a pull progress stream (JSON objects one after the other): 0 when
 * no object carries an error, else -1 with the first error message in msg.
 */
int		 docker_parse_pull(const char *p, size_t n, char *msg,
		    size_t msglen);

/*
 * Check a GET /version answer: ApiVersion >= 1.41 and MinAPIVersion <=
 * 1.41. Returns 0, or -1 with a sentence in msg ("speaks Docker API 1.40;
 * 1.41 or newer is needed").
 */
int		 docker_parse_version(const char *p, size_t n, char *msg,
		    size_t msglen);

/*
 * Parse a container list answer: *out (caller frees) receives *nout
 * containers (those without an Id are skipped). Returns 0, or -1 when it is
 * not a JSON array.
 */
int		 docker_parse_list(const char *p, size_t n,
		    struct docker_container **out, size_t *nout);

/* One event of the /events stream. */
struct docker_event {
	char		 type[16];	/* "container", "volume", ... */
	char		 action[32];	/* start, die, oom, ... */
	char		 name[256];	/* Actor.Attributes.name */
	char		 job[40];	/* label singularity.job */
	int		 exit_code;	/* die: exitCode, else -1 */
	long long	 time_ns;	/* timeNano, else time * 1e9 */
};

/* Parse one JSON event (one line of the stream). Returns 0 or -1. */
int		 docker_parse_event(const char *p, size_t n,
		    struct docker_event *ev);

/*
 * A splitter of the multiplexed log stream into whole frames: fed in
 * pieces of any size, it calls fn(arg, stream, payload, len) once per
 * complete frame (stream 1 stdout, 2 stderr). Payload bytes of one frame
 * are held until it is whole (at most DOCKER_FRAME_MAX; Docker's frames are
 * one message of at most 16 KiB, plus the timestamp).
 */
#define DOCKER_FRAME_MAX	(1024 * 1024)
struct docker_frames {
	unsigned char	 hdr[8];
	size_t		 hdrlen;
	size_t		 want;		/* payload bytes of this frame */
	int		 stream;
	struct docker_buf pay;
	int		 bad;
};

void		 docker_frames_init(struct docker_frames *f);
void		 docker_frames_free(struct docker_frames *f);
/*
 * Returns 0, or -1 once a header is malformed or a frame is larger than
 * DOCKER_FRAME_MAX (the rest is ignored). fn returning non-zero stops the
 * feed with -1 as well.
 */
int		 docker_frames_feed(struct docker_frames *f, const void *p,
		    size_t n, int (*fn)(void *, int, const char *, size_t),
		    void *arg);
/* 0 when the stream ended on a frame boundary, else -1. */
int		 docker_frames_end(const struct docker_frames *f);

/*
 * The timestamp a log frame's payload starts with (timestamps=1: an RFC
 * 3339 time with up to 9 fraction digits, then one space): *ns receives
 * Unix nanoseconds and *skip the bytes of the timestamp and its space.
 * Returns 0, or -1 when the payload does not start with one.
 */
int		 docker_log_ts(const char *p, size_t n, long long *ns,
		    size_t *skip);

/* The progress of a pull, summed over the layers of its stream. */
struct docker_pull_progress {
	long long	 current;	/* bytes of the layers so far */
	long long	 total;		/* of the layers whose size is known */
	int		 failed;
	char		 msg[512];	/* the first error's message */
	/* Layers seen: id, current, total (internal). */
	struct {
		char		 id[72];
		long long	 cur, tot;
	}		*layer;
	size_t		 nlayers;
};

/*
 * Read one line of a pull stream into *pp: an error (errorDetail or error)
 * sets failed and msg; a progress line updates its layer's current and
 * total ("Download complete"/"Already exists"/"Pull complete" make the
 * layer whole). Returns 0, or -1 when the line is not a JSON object.
 */
int		 docker_pull_line(struct docker_pull_progress *pp,
		    const char *p, size_t n);
void		 docker_pull_progress_free(struct docker_pull_progress *pp);

/*
 * The Mountpoint of a volume answer (POST /volumes/create or GET
 * /volumes/{name}) into out. Returns 0, or -1 when there is none.
 */
int		 docker_parse_volume(const char *p, size_t n, char *out,
		    size_t outlen);

/*
 * The names of the volumes of a GET /volumes answer: *out (caller frees
 * each and the array) receives *nout names. Returns 0 or -1.
 */
int		 docker_parse_volumes(const char *p, size_t n, char ***out,
		    size_t *nout);

#endif

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

/* A container of docker_list(). */
struct docker_container {
	char	 id[129];
	char	 name[256];		/* without the leading '/' */
	char	 state[16];
	char	 job[40];		/* label singularity.job, "" when none */
};

struct docker;

/*
 * A client for one endpoint. TLS files apply to tcp endpoints: all three
 * or none. Returns NULL with a reason in err when the endpoint is malformed
 * or libcurl cannot start. The caller frees it with docker_free().
 */
struct docker	*docker_new(const char *endpoint, const char *tls_ca,
		    const char *tls_cert, const char *tls_key,
		    char *err, size_t errlen);
void		 docker_free(struct docker *d);

/* The last failure's sentence ("" after success). Owned by d. */
const char	*docker_error(const struct docker *d);

/* Connection timeout and the default whole-call timeout, in seconds. */
void		 docker_set_timeouts(struct docker *d, long connect_s, long call_s);

/* GET /_ping: "OK". */
int		 docker_ping(struct docker *d);

/*
 * GET /version (unversioned): checks ApiVersion >= 1.41 and MinAPIVersion
 * <= 1.41; an engine outside that is DOCKER_ERROR with a sentence saying
 * so. version (may be NULL) receives the engine's Version.
 */
int		 docker_version(struct docker *d, char *version, size_t len);

/* GET /info: *out receives the parsed object (caller cJSON_Delete()s). */
struct cJSON;
int		 docker_info(struct docker *d, struct cJSON **out);

/* GET /images/{ref}/json: DOCKER_OK when present, DOCKER_NOT_FOUND when not. */
int		 docker_image_inspect(struct docker *d, const char *ref);

/*
 * POST /images/create?fromImage=image&tag=tag: the progress stream is read
 * to its end; an errorDetail (or error) in it fails the call with the
 * registry's message.
 */
int		 docker_image_pull(struct docker *d, const char *image,
		    const char *tag);

/*
 * POST /containers/create?name=name with the JSON body: id (at least 65
 * bytes) receives the new container's id. DOCKER_CONFLICT when the name is
 * taken.
 */
int		 docker_create(struct docker *d, const char *name,
		    const char *body, char *id, size_t idlen);

/*
 * PUT /containers/{id}/archive?path=path: the tar stream read from f
 * (size bytes, from its current offset).
 */
int		 docker_archive_put(struct docker *d, const char *id,
		    const char *path, FILE *f, long long size);

/*
 * GET /containers/{id}/archive?path=path: the tar stream written to f,
 * at most max bytes (more fails). DOCKER_NOT_FOUND when path is missing.
 */
int		 docker_archive_get(struct docker *d, const char *id,
		    const char *path, FILE *f, long long max);

/* POST /containers/{id}/start; an already started container is DOCKER_OK. */
int		 docker_start(struct docker *d, const char *id);

/* GET /containers/{id}/json into *st. */
int		 docker_inspect(struct docker *d, const char *id,
		    struct docker_state *st);

/*
 * GET /containers/{id}/logs?stdout=1&stderr=1 (no TTY): the stream
 * decoded, and the last max bytes of stdout and stderr (interleaved as
 * they came) in out (reset first).
 */
int		 docker_logs(struct docker *d, const char *id, size_t max,
		    struct docker_buf *out);

/*
 * POST /containers/{id}/kill?signal=sig. A container that is not running
 * is DOCKER_CONFLICT.
 */
int		 docker_kill(struct docker *d, const char *id, const char *sig);

/* DELETE /containers/{id}?force=1&v=1; a missing one is DOCKER_OK. */
int		 docker_remove(struct docker *d, const char *id);

/*
 * GET /containers/json?all=1&filters={"label":[label]}: *out (caller
 * frees) receives *n containers.
 */
int		 docker_list(struct docker *d, const char *label,
		    struct docker_container **out, size_t *n);

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

#endif

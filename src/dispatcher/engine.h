/*
 * engine.h: the dispatcher's Docker Engine API client, asynchronous, on
 * libcurl's multi interface (DESIGN "The dispatcher": no Engine call holds
 * the loop).
 *
 * One event loop (struct eloop) runs every transfer of every host at once
 * in one thread, with timers beside them. A host is a struct engine: its
 * endpoint ("unix:///path" or "tcp://HOST:PORT", https with the client
 * certificate when TLS files are given), its timeouts and its limit of
 * calls in flight; calls beyond the limit wait in the host's queue, in
 * order, but `urgent` ones before the others. Long streams (events, log follows, pulls) are marked `stream` and
 * do not count against the limit, so they never starve the short calls.
 *
 * A call (struct ecall) is made with ecall_new(), given its body or upload
 * source, sink and done callback, and handed to engine_submit(). The loop
 * calls done() exactly once, outside any libcurl callback, when the call
 * ended: answered, failed, timed out or cancelled. done() owns the call
 * (it frees it with ecall_free(), or keeps it). A sink or source runs
 * inside libcurl: it may read and write memory and the database, but never
 * submits, cancels or frees a call itself (engine_submit() and
 * ecall_cancel() from there are deferred to the loop, which is safe).
 *
 * Results follow docker.h's enum docker_rc: 1xx-3xx DOCKER_OK, 404
 * DOCKER_NOT_FOUND, 409 DOCKER_CONFLICT, other >= 400 DOCKER_ERROR with the
 * engine's message, transport failures DOCKER_UNREACHABLE, and
 * DOCKER_CANCELLED for a cancelled call; err holds a sentence for the
 * operator's log (the call and the endpoint), msg one for a job's error.
 */
#ifndef ST_ENGINE_H
#define ST_ENGINE_H

#include <stddef.h>

#include "docker.h"

struct eloop;
struct engine;
struct ecall;

typedef void	(*ecall_done_fn)(struct ecall *c);
/* A 2xx answer's body, in pieces. Non-zero stops the transfer (an error). */
typedef int	(*ecall_sink_fn)(struct ecall *c, const char *p, size_t n);
/*
 * The upload body: at most n bytes into buf. Returns the bytes, 0 at the
 * end, -1 on a failure (the call ends DOCKER_ERROR with c->err set).
 */
typedef long	(*ecall_source_fn)(struct ecall *c, char *buf, size_t n);

struct ecall {
	/* Request: set before engine_submit(). */
	char		 method[8];
	char		*path;		/* "/v1.41/...", query included */
	char		*body;		/* owned; sent as application/json */
	size_t		 bodylen;
	const char	*ctype;		/* Content-Type of body or source */
	ecall_source_fn	 source;	/* upload (PUT), chunked when
					   source_size < 0 */
	long long	 source_size;
	char		*src;		/* an owned buffer a source may
					   read from (freed with the call) */
	size_t		 src_len, src_off;
	ecall_sink_fn	 sink;		/* else the body is kept in `in` */
	size_t		 max_in;	/* bytes kept in `in` (default 32 MiB) */
	char		*registry_auth;	/* X-Registry-Auth value, owned,
					   wiped when freed */
	long		 timeout_s;	/* whole call; 0: the host's default,
					   -1: none (streams) */
	long		 low_speed_bps;	/* fail below this many bytes per */
	long		 low_speed_s;	/* second for this long (0: never) */
	int		 stream;	/* does not count against the limit */
	int		 fresh;		/* on a new connection (health checks:
					   an engine that stopped accepting
					   connections is down, whatever open
					   ones still answer) */
	int		 urgent;	/* queued before the calls that are
					   not (a host's round: its health
					   check and list do not wait for a
					   backlog of launches) */
	ecall_done_fn	 done;
	void		*arg;		/* the caller's */
	long long	 tag;		/* the caller's */

	/* Result: valid in done(). */
	int		 rc;		/* enum docker_rc */
	long		 status;	/* HTTP status, 0 when none */
	struct docker_buf in;		/* answer body (or error body) */
	long long	 bytes_in;	/* body bytes received */
	int		 timed_out;	/* libcurl gave it up for time
					   (CURLE_OPERATION_TIMEDOUT): its
					   timeout_s, the connect timeout or
					   the low-speed limit */
	char		 err[1024];	/* for the logs: the call, endpoint */
	char		 msg[700];	/* for users (a job's error): what
					   went wrong, never an endpoint or
					   address: the engine's own message,
					   or "the host could not be
					   reached" */

	/* Private to engine.c. */
	struct engine	*eng;
	void		*easy;
	struct curl_slist *hdrs;
	char		 cerr[256];
	int		 sinking;	/* -1 unknown, 0 no, 1 yes */
	int		 sink_failed;
	int		 source_failed;
	int		 cancelled;
	int		 state;		/* queued, running, finished */
	int		*sync_over;	/* engine_call_sync()'s flag */
	struct ecall	*next, *prev;
};

/* A new loop. Aborts when libcurl cannot start. */
struct eloop	*eloop_new(void);
/* Free the loop; every engine must be freed first. */
void		 eloop_free(struct eloop *el);

/*
 * Run the loop once: wait at most max_ms (less when a timer is due) for
 * transfers, then end finished calls (their done()), fire due timers and
 * start queued calls. Returns the number of done() and timer callbacks run.
 */
int		 eloop_run(struct eloop *el, long max_ms);

/* Calls in flight or queued over all engines (streams included). */
size_t		 eloop_pending(const struct eloop *el);

/* Calls ended since the loop began (statistics). */
unsigned long	 eloop_calls(const struct eloop *el);

/* Monotonic milliseconds. */
long long	 eloop_now_ms(void);

typedef void	(*etimer_fn)(void *arg, long long tag);
/*
 * Call fn(arg, tag) from the loop after delay_ms. Returns a timer id for
 * eloop_timer_cancel() (ids are never 0).
 */
unsigned long	 eloop_timer(struct eloop *el, long delay_ms, etimer_fn fn,
		    void *arg, long long tag);
void		 eloop_timer_cancel(struct eloop *el, unsigned long id);

/*
 * A host's client on el: limit calls in flight (>= 1). Returns NULL with a
 * reason in err when the endpoint is malformed or the TLS files do not go
 * together (all three or none, tcp only).
 */
struct engine	*engine_new(struct eloop *el, const char *endpoint,
		    const char *tls_ca, const char *tls_cert,
		    const char *tls_key, unsigned limit, char *err,
		    size_t errlen);
/*
 * Cancel every call of the host (each gets its done() with
 * DOCKER_CANCELLED, now) and free it.
 */
void		 engine_free(struct engine *e);
const char	*engine_endpoint(const struct engine *e);
void		 engine_set_timeouts(struct engine *e, long connect_s,
		    long call_s);
/* Calls of the host in flight (not counting streams) and queued. */
unsigned	 engine_inflight(const struct engine *e);
size_t		 engine_queued(const struct engine *e);

/* A new call of method on path (printf format; the caller escapes). */
struct ecall	*ecall_new(const char *method, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* Set a JSON body (copied). */
void		 ecall_json(struct ecall *c, const char *json);
void		 ecall_free(struct ecall *c);

/* Queue c on e (started as soon as the limit allows). */
void		 engine_submit(struct engine *e, struct ecall *c);

/*
 * Cancel c: it ends DOCKER_CANCELLED (done() runs from the loop, or now
 * when called outside libcurl's callbacks and the call is only queued).
 */
void		 ecall_cancel(struct ecall *c);

/*
 * Run c on its own, blocking until it ends (tools and tests; never the
 * dispatcher's loop). Returns c->rc; done is not called.
 */
int		 engine_call_sync(struct engine *e, struct ecall *c);

/* Escape s for a URL path segment or query value (new string). */
char		*engine_escape(const char *s);

#endif

/*
 * engine-sim.c: a Docker Engine API SIMULATOR, for the dispatcher's scale
 * benchmarks only (`make bench`, tests/bench/bench-dispatch-scale.sh).
 *
 *   engine-sim --dir DIR --hosts N [--latency-ms MS] [--log-rate BYTES_PER_S]
 *              [--image REF ...] [--pull-seconds S] [--stats FILE]
 *
 * What it simulates: N Docker Engines at once, engine i (1..N) answering on
 * the unix socket DIR/h<iiii>.sock, each with its own images, containers,
 * volumes, event history (the last 1,000 events) and statistics. It speaks
 * HTTP/1.1 with keep-alive (chunked transfer for streams) and answers the
 * part of Engine API v1.41 the dispatcher uses, in the shapes a real
 * dockerd 20.10 answers (checked by tests/bench/engine-sim-check.sh):
 * /_ping, /version (also unversioned), /info, image inspect and pull,
 * container create, inspect, list, start, kill, delete, logs, archive get
 * and put, /events, and volume create, inspect, list and delete. Every
 * answer goes out --latency-ms after its request was read whole, through a
 * timer: thousands of calls are in flight at once, and nothing ever sleeps.
 *
 * What it does NOT do: run anything. There are no processes, cgroups, file
 * systems, networks or registries. A started container "runs" for the
 * number after `--sleep` or after the word `sleep` in its command (else
 * 1 s; `sleep infinity` until killed), then exits 0 (`--exit N`: N; `--oom`, or `--mem MB` at or above its
 * HostConfig.Memory: OOM-killed, 137). While it runs it "prints" one log
 * line of 100 bytes every 100/--log-rate seconds (0: only a start and an
 * end line); the lines are a function of the time, never stored.
 *
 * Where it answers differently from a real dockerd 20.10, on purpose:
 *  - Only /v1.41/... is served, and /version also without a version; a
 *    real engine takes any version from 1.12 and none ("page not found"
 *    here, counted as unknown, so a benchmark shows such a call).
 *  - Signals: any signal that ends a process ends the container with
 *    128 + signal (TERM: 143); a real PID 1 that ignores TERM keeps running.
 *  - Logs: every line is on stdout; stderr=1 alone yields nothing.
 *  - GET (and HEAD) archive know only /output: output/result.json
 *    ({"fitness": index + 0.5}, index being the container's creation
 *    number on its engine) and a 1 KiB output/model.bin once the container
 *    exited 0, an empty output/ before; other paths are 404. PUT archive
 *    counts and discards the stream (it is not read as tar); the
 *    directories that exist are /, /bin, /tmp, /data, /output, /dev, /etc,
 *    /proc, /sys and the mount targets with what lies below them.
 *  - Pulls take --pull-seconds and emit one 50 MB layer; an image whose
 *    name holds "denied" fails half-way in the stream (errorDetail), one
 *    holding "missing" fails with 404 at once; importing (fromSrc) is a
 *    400, counted as unknown. Image ids are random per engine.
 *  - Events: the last 1,000 per engine are kept (dockerd 20.10 keeps 256);
 *    no network events; event filters type, event, label, container,
 *    image, volume and scope. Container list filters label, name (a
 *    substring, dockerd a regexp), id and status; the other valid ones are
 *    a 400 "not simulated", counted as unknown.
 *  - A create body without Image, and bodies or filters that are not JSON,
 *    are refused with 400 and a message of the simulator.
 *  - Inspect and list carry the fields the dispatcher may read (State,
 *    Config, HostConfig as given over a few defaults, Mounts, Labels), not
 *    every field of dockerd; /info has NCPU 64 and MemTotal 512 GiB.
 *  - A client that disconnects while its call waits for the latency has
 *    the call dropped (dockerd would still carry it out).
 *
 * Libraries: cJSON for JSON, libarchive for the tar of GET archive, and
 * OpenSSL's libcrypto for random ids and the base64 of the path stat.
 *
 * It exists for `make bench` alone: `make check` always drives real
 * engines (tests/lib/docker.sh). Its answers say so: Server
 * "Docker/20.10.24-engine-sim (linux)", Version "20.10.24-engine-sim",
 * Name and OperatingSystem "engine-sim".
 *
 * Statistics (calls per method and route, calls it does not know, log
 * stream bytes, events sent, per engine and in total) are written as JSON
 * to --stats FILE on SIGUSR1 and at exit (SIGTERM, SIGINT).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define SIM_VERSION	"20.10.24-engine-sim"
#define SIM_API		"1.41"
#define SIM_NAME	"engine-sim"
#define EVENTS_KEEP	1000		/* events kept per engine, as dockerd */
#define HEAD_MAX	(64 * 1024)	/* request line and headers */
#define BODY_MAX	(16 * 1024 * 1024) /* a JSON request body */
#define OUT_HIGH	(256 * 1024)	/* a stream pauses above this */
#define LINE_BYTES	100		/* one simulated log line */
#define UNKNOWN_KEYS	100		/* distinct unknown calls counted */
#define MAX_EVENTS	1024		/* epoll_wait batch */

/* --- small helpers ---------------------------------------------------------- */

static void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL) {
		fprintf(stderr, SIM_NAME ": out of memory\n");
		exit(2);
	}
	return p;
}

static void *
xcalloc(size_t n, size_t sz)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, sz == 0 ? 1 : sz)) == NULL) {
		fprintf(stderr, SIM_NAME ": out of memory\n");
		exit(2);
	}
	return p;
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL) {
		fprintf(stderr, SIM_NAME ": out of memory\n");
		exit(2);
	}
	return p;
}

static char *
xstrdup(const char *s)
{
	size_t	 n = strlen(s) + 1;
	char	*p = xmalloc(n);

	memcpy(p, s, n);
	return p;
}

/* A growing byte buffer; p is NUL-terminated (not counted in len). */
struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
buf_reserve(struct buf *b, size_t more)
{
	size_t	 cap;

	if (b->len + more + 1 <= b->cap)
		return;
	cap = b->cap < 256 ? 256 : b->cap;
	while (cap < b->len + more + 1)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Drop the first n bytes. */
static void
buf_drop(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->p, b->p + n, b->len - n);
		b->len -= n;
	}
	if (b->p != NULL)
		b->p[b->len] = '\0';
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* --- time ------------------------------------------------------------------- */

static long long
mono_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long
real_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

enum tfmt {
	TF_SECONDS,	/* 2006-01-02T15:04:05Z (time.RFC3339) */
	TF_NANO,	/* RFC3339Nano: fraction without trailing zeros */
	TF_NANO_FIXED,	/* always 9 digits: the log timestamps of dockerd */
};

/*
 * ns (Unix nanoseconds, UTC) in the form f into out (at least 40 bytes).
 * 0 is Go's zero time, as dockerd writes a time that never happened.
 */
static void
fmt_time(long long ns, enum tfmt f, char *out, size_t len)
{
	struct tm	 tm;
	time_t		 s;
	long long	 frac;
	char		 d[16];
	int		 n;

	if (ns == 0) {
		snprintf(out, len, "0001-01-01T00:00:00Z");
		return;
	}
	s = (time_t)(ns / 1000000000LL);
	frac = ns % 1000000000LL;
	gmtime_r(&s, &tm);
	n = (int)strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (f == TF_NANO_FIXED || (f == TF_NANO && frac != 0)) {
		snprintf(d, sizeof(d), "%09lld", frac);
		if (f == TF_NANO) {
			size_t	 k = strlen(d);

			while (k > 0 && d[k - 1] == '0')
				d[--k] = '\0';
		}
		snprintf(out + n, len - (size_t)n, ".%sZ", d);
	} else
		snprintf(out + n, len - (size_t)n, "Z");
}

/* "1.5h", "10m", "300ms": a Go duration into ns. Returns 0 or -1. */
static int
parse_duration(const char *s, long long *out)
{
	static const struct { const char *u; double ns; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
		{ "m", 60e9 }, { "h", 3600e9 },
	};
	double	 total = 0, v;
	char	*end;
	size_t	 i, best;
	int	 neg = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		if (!isdigit((unsigned char)*s) && *s != '.')
			return -1;
		errno = 0;
		v = strtod(s, &end);
		if (errno != 0 || end == s)
			return -1;
		s = end;
		best = sizeof(units) / sizeof(units[0]);
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strncmp(s, units[i].u, strlen(units[i].u)) == 0 &&
			    (best == sizeof(units) / sizeof(units[0]) ||
			    strlen(units[i].u) > strlen(units[best].u)))
				best = i;
		if (best == sizeof(units) / sizeof(units[0]))
			return -1;
		total += v * units[best].ns;
		s += strlen(units[best].u);
	}
	*out = (long long)(neg ? -total : total);
	return 0;
}

/*
 * A time parameter of dockerd (since, until): Unix seconds with an optional
 * fraction of up to 9 digits, an RFC 3339 time (with a Z or +hh:mm offset;
 * UTC without), or a Go duration before now. *out receives Unix ns.
 * Returns 0 or -1.
 */
static int
parse_time_param(const char *s, long long *out)
{
	struct tm	 tm;
	long long	 sec = 0, frac = 0, d;
	int		 digits = 0, off_h = 0, off_m = 0, n = 0;
	const char	*p = s;
	char		 sign = 0;

	if (*p != '\0' && strspn(p, "0123456789") > 0 &&
	    p[strspn(p, "0123456789")] != '-') {
		while (isdigit((unsigned char)*p)) {
			if (sec > LLONG_MAX / 10 / 1000000000LL)
				return -1;
			sec = sec * 10 + (*p++ - '0');
		}
		if (*p == '.') {
			p++;
			while (isdigit((unsigned char)*p)) {
				if (digits < 9) {
					frac = frac * 10 + (*p - '0');
					digits++;
				}
				p++;
			}
			while (digits++ < 9)
				frac *= 10;
		}
		if (*p == '\0') {
			*out = sec * 1000000000LL + frac;
			return 0;
		}
		if (parse_duration(s, &d) != 0)
			return -1;
		*out = real_ns() - d;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) == 6) {
		p = s + n;
		if (*p == '.') {
			p++;
			while (isdigit((unsigned char)*p)) {
				if (digits < 9) {
					frac = frac * 10 + (*p - '0');
					digits++;
				}
				p++;
			}
			while (digits++ < 9)
				frac *= 10;
		}
		if (*p == 'Z')
			p++;
		else if (*p == '+' || *p == '-') {
			sign = *p;
			if (sscanf(p + 1, "%2d:%2d%n", &off_h, &off_m, &n) != 2)
				return -1;
			p += 1 + n;
		}
		if (*p != '\0')
			return -1;
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		sec = (long long)timegm(&tm);
		if (sign == '+')
			sec -= off_h * 3600 + off_m * 60;
		else if (sign == '-')
			sec += off_h * 3600 + off_m * 60;
		*out = sec * 1000000000LL + frac;
		return 0;
	}
	if (parse_duration(s, &d) != 0)
		return -1;
	*out = real_ns() - d;
	return 0;
}

/* Go's units.HumanDuration, as `docker ps` shows ages. */
static void
human_duration(long long ns, char *out, size_t len)
{
	long long	 s = ns / 1000000000LL, m = s / 60, h = m / 60;

	if (s < 1)
		snprintf(out, len, "Less than a second");
	else if (s == 1)
		snprintf(out, len, "1 second");
	else if (s < 60)
		snprintf(out, len, "%lld seconds", s);
	else if (m == 1)
		snprintf(out, len, "About a minute");
	else if (m < 60)
		snprintf(out, len, "%lld minutes", m);
	else if (h == 1)
		snprintf(out, len, "About an hour");
	else if (h < 48)
		snprintf(out, len, "%lld hours", h);
	else if (h < 24 * 7 * 2)
		snprintf(out, len, "%lld days", h / 24);
	else if (h < 24 * 30 * 2)
		snprintf(out, len, "%lld weeks", h / 24 / 7);
	else if (h < 24 * 365 * 2)
		snprintf(out, len, "%lld months", h / 24 / 30);
	else
		snprintf(out, len, "%lld years", h / 24 / 365);
}

/* --- timers: a binary heap on the monotonic clock ---------------------------- */

struct timer {
	long long	  when;		/* mono_ns() */
	long		  idx;		/* place in the heap, -1 when idle */
	void		(*fire)(struct timer *);
};

static struct {
	struct timer	**v;
	size_t		  n;
	size_t		  cap;
} heap;

/* A new timer (fresh memory): idle, firing fire once armed. */
static void
timer_init(struct timer *t, void (*fire)(struct timer *))
{
	t->idx = -1;
	t->when = 0;
	t->fire = fire;
}

static void
heap_swap(size_t a, size_t b)
{
	struct timer	*t = heap.v[a];

	heap.v[a] = heap.v[b];
	heap.v[b] = t;
	heap.v[a]->idx = (long)a;
	heap.v[b]->idx = (long)b;
}

static void
heap_up(size_t i)
{
	while (i > 0 && heap.v[(i - 1) / 2]->when > heap.v[i]->when) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(size_t i)
{
	size_t	 l, r, m;

	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < heap.n && heap.v[l]->when < heap.v[m]->when)
			m = l;
		if (r < heap.n && heap.v[r]->when < heap.v[m]->when)
			m = r;
		if (m == i)
			return;
		heap_swap(i, m);
		i = m;
	}
}

/* Stop t if it is armed. */
static void
timer_cancel(struct timer *t)
{
	struct timer	*m;
	size_t		 i;

	if (t->idx < 0)
		return;
	i = (size_t)t->idx;
	t->idx = -1;
	heap.n--;
	if (i == heap.n)
		return;
	m = heap.v[heap.n];
	heap.v[i] = m;
	m->idx = (long)i;
	heap_up(i);
	heap_down((size_t)m->idx);
}

/* Arm (or re-arm) t to fire at mono_ns() time when. */
static void
timer_at(struct timer *t, long long when)
{
	timer_cancel(t);
	if (heap.n == heap.cap) {
		heap.cap = heap.cap == 0 ? 1024 : heap.cap * 2;
		heap.v = xrealloc(heap.v, heap.cap * sizeof(*heap.v));
	}
	t->when = when;
	t->idx = (long)heap.n;
	heap.v[heap.n++] = t;
	heap_up((size_t)t->idx);
}

/* Stop t if armed, and make it fire fire from now on. */
static void
timer_use(struct timer *t, void (*fire)(struct timer *))
{
	timer_cancel(t);
	t->fire = fire;
}

/* Arm t for the real (wall clock) time real (Unix ns). */
static void
timer_at_real(struct timer *t, long long real)
{
	timer_at(t, mono_ns() + (real - real_ns()));
}

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

/* --- the simulated engines ---------------------------------------------------- */

enum route_id {
	R_PING, R_PING_HEAD, R_VERSION, R_INFO, R_IMAGE_INSPECT, R_IMAGE_CREATE,
	R_CTR_CREATE, R_CTR_LIST, R_CTR_INSPECT, R_CTR_START, R_CTR_KILL,
	R_CTR_DELETE, R_ARCHIVE_PUT, R_ARCHIVE_GET, R_ARCHIVE_HEAD, R_LOGS,
	R_EVENTS, R_VOL_CREATE, R_VOL_LIST, R_VOL_INSPECT, R_VOL_DELETE,
	R__MAX
};

struct stats {
	unsigned long long	 calls[R__MAX];
	unsigned long long	 unknown;	/* calls answered "page not found" */
	unsigned long long	 log_bytes;	/* bytes of log streams sent */
	unsigned long long	 events_sent;	/* event lines sent to streams */
	unsigned long long	 archive_put_bytes;
	unsigned long long	 archive_get_bytes;
	unsigned long long	 registry_auth;	/* requests with X-Registry-Auth */
	unsigned long long	 pulls;		/* pull streams begun */
};

struct image {
	char		*ref;		/* normalized: repo:tag */
	char		 id[72];	/* sha256:<64 hex> */
	long long	 created_ns;
};

struct volume {
	char		*name;
	cJSON		*labels;	/* object, or NULL */
	cJSON		*opts;		/* object, or NULL */
	long long	 created_ns;
};

struct mount {
	char		*type;		/* volume | bind | tmpfs */
	char		*source;	/* volume name or host path */
	char		*dest;
	char		*mode;		/* as dockerd shows it */
	int		 rw;
};

/* One run of a container: lines are a function of start, end and time. */
struct run {
	long long	 start_ns;
	long long	 end_ns;	/* 0 while running */
	int		 exit_code;
	int		 signal;	/* that ended it, 0 when none */
	int		 oom;
};

struct conn;

struct container {
	struct engine	*e;
	char		 id[65];
	char		*name;		/* without '/' */
	char		*image;		/* as given in the create body */
	char		 image_id[72];
	cJSON		*body;		/* the create body, kept whole */
	cJSON		*cmd;		/* Cmd array (in body), or NULL */
	cJSON		*entrypoint;	/* Entrypoint array (in body), or NULL */
	unsigned long	 index;		/* creation number on its engine */
	long long	 created_ns;
	long long	 duration_ns;	/* of a run; -1: until killed */
	int		 exit_planned;
	int		 oom_planned;
	long long	 oom_after_ns;
	struct run	*runs;
	size_t		 nruns;
	int		 running;
	struct mount	*mounts;
	size_t		 nmounts;
	struct timer	 exit_tm;
	struct conn	*followers;	/* log streams that follow it */
};

struct event {
	long long	 ns;
	char		*json;		/* one line, no newline */
};

struct engine {
	int		 kind;		/* POLL_LISTENER: first member */
	int		 fd;
	unsigned	 idx;		/* 1..N */
	char		 name[16];	/* h0001 */
	char		*sockpath;
	struct image	*images;
	size_t		 nimages;
	struct container **ctrs;	/* in creation order */
	size_t		 nctrs;
	struct volume	**vols;
	size_t		 nvols;
	struct event	 ring[EVENTS_KEEP];
	size_t		 ev_first;
	size_t		 ev_n;
	struct conn	*subs;		/* /events streams */
	unsigned long	 next_index;
	struct stats	 st;
	struct timer	 accept_tm;	/* accepting again after EMFILE */
};

enum { POLL_LISTENER = 1, POLL_CONN, POLL_SIGNAL };

/* --- connections --------------------------------------------------------------- */

enum cstate {
	C_HEAD,		/* reading a request line and headers */
	C_BODY,		/* reading its body */
	C_WAIT,		/* read whole: the answer waits for the latency */
	C_STREAM,	/* answering with a stream */
	C_DONE,		/* the answer is queued: next request once it is out */
	C_CLOSE,	/* close once the output is out */
};

enum skind { S_NONE, S_EVENTS, S_LOGS, S_PULL };

struct qparam {
	char	*k;
	char	*v;
};

struct conn {
	int		 kind;		/* POLL_CONN: first member */
	int		 fd;
	int		 dead;		/* closed: freed after this round */
	struct conn	*dnext;		/* the list of dead ones */
	struct engine	*e;
	enum cstate	 st;
	unsigned	 events;	/* epoll interest now */
	struct buf	 in;
	struct buf	 out;
	size_t		 outoff;
	struct timer	 tm;

	/* the request */
	char		 method[16];
	char		*path;		/* without query, version stripped */
	char		*rawpath;	/* as sent, without query */
	struct qparam	*q;
	size_t		 nq;
	int		 keepalive;
	int		 route;		/* enum route_id, -1 when unknown */
	char		*arg;		/* the {} of the route, decoded */
	int		 chunked;
	long long	 clen;		/* -1 when chunked or none */
	int		 discard;	/* body counted, not kept */
	unsigned long long body_bytes;
	struct buf	 body;
	int		 ck_state;	/* chunked request decoding */
	unsigned long long ck_left;
	int		 regauth;
	int		 too_large;

	/* a stream */
	enum skind	 sk;
	struct conn	*snext;
	struct conn	*sprev;
	cJSON		*filters;	/* events: normalized filters */
	long long	 until_ns;	/* events, logs: 0 when none */
	long long	 since_ns;	/* logs */
	struct container *c;		/* logs */
	size_t		 run;		/* logs cursor: run and line */
	unsigned long long line;
	int		 follow;
	int		 paused;	/* a logs stream waits for the client */
	int		 timestamps;
	int		 want_stdout;
	int		 pull_step;
	int		 pull_denied;
	long long	 pull_t0;
	char		*pull_ref;
	char		*pull_repo;
	char		*pull_tag;
	char		 layer[16];
};

/* --- global state -------------------------------------------------------------- */

static struct {
	const char	*dir;
	unsigned	 nhosts;
	long long	 latency_ns;
	double		 log_rate;
	long long	 line_ns;	/* between log lines, 0 when none */
	double		 pull_s;
	const char	*stats_file;
	char		**images;
	size_t		 nimages;
	int		 ep;
	struct engine	*engines;
	unsigned long long open_conns;
	unsigned long long max_conns;
	unsigned long long accepted;
	unsigned long long stats_seq;
	long long	 started_ns;
	struct {
		char			*key;
		unsigned long long	 n;
	} unknown[UNKNOWN_KEYS + 1];
	size_t		 nunknown;
	char		 kernel[64];
	struct conn	*dead;		/* closed connections, freed later */
} g;

static void	conn_close(struct conn *c);
static void	conn_flush(struct conn *c);
static void	conn_events(struct conn *c);
static void	logs_pump(struct conn *c);
static void	logs_fire(struct timer *t);
static void	stream_end(struct conn *c);

/* --- ids ------------------------------------------------------------------------ */

/* 64 lowercase hex characters from OpenSSL's generator into out[65]. */
static void
random_id(char out[65])
{
	unsigned char	 b[32];
	size_t		 i;

	if (RAND_bytes(b, sizeof(b)) != 1) {
		fprintf(stderr, SIM_NAME ": RAND_bytes failed\n");
		exit(2);
	}
	for (i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* --- image references ------------------------------------------------------------ */

/*
 * The reference as dockerd names it: without "docker.io/" or "library/",
 * with ":latest" when it has neither tag nor digest. Caller frees.
 */
static char *
ref_normalize(const char *in)
{
	const char	*s = in, *slash;
	struct buf	 b = { 0 };

	if (strncmp(s, "docker.io/", 10) == 0)
		s += 10;
	if (strncmp(s, "index.docker.io/", 16) == 0)
		s += 16;
	if (strncmp(s, "library/", 8) == 0 && strchr(s + 8, '/') == NULL)
		s += 8;
	buf_str(&b, s);
	slash = strrchr(s, '/');
	if (strchr(slash != NULL ? slash : s, ':') == NULL &&
	    strchr(s, '@') == NULL)
		buf_str(&b, ":latest");
	return b.p;
}

/* "Pulling from X": the repository path without its registry host. */
static char *
ref_repo_path(const char *repo)
{
	const char	*slash = strchr(repo, '/');
	struct buf	 b = { 0 };

	if (slash != NULL && (memchr(repo, '.', (size_t)(slash - repo)) !=
	    NULL || memchr(repo, ':', (size_t)(slash - repo)) != NULL ||
	    strncmp(repo, "localhost/", 10) == 0)) {
		buf_str(&b, slash + 1);
		return b.p;
	}
	if (slash == NULL)
		buf_str(&b, "library/");
	buf_str(&b, repo);
	return b.p;
}

static struct image *
image_find(struct engine *e, const char *name)
{
	char	*ref;
	size_t	 i, n = strlen(name);

	ref = ref_normalize(name);
	for (i = 0; i < e->nimages; i++)
		if (strcmp(e->images[i].ref, ref) == 0)
			break;
	free(ref);
	if (i < e->nimages)
		return &e->images[i];
	/* Else an id, whole or a prefix of at least 4 hex digits. */
	for (i = 0; i < e->nimages; i++)
		if (strcmp(e->images[i].id, name) == 0 ||
		    (n >= 4 && strspn(name, "0123456789abcdef") == n &&
		    strncmp(e->images[i].id + 7, name, n) == 0))
			return &e->images[i];
	return NULL;
}

static struct image *
image_add(struct engine *e, const char *name)
{
	struct image	*im;
	char		 hex[65];

	if ((im = image_find(e, name)) != NULL)
		return im;
	e->images = xrealloc(e->images, (e->nimages + 1) * sizeof(*e->images));
	im = &e->images[e->nimages++];
	im->ref = ref_normalize(name);
	random_id(hex);
	snprintf(im->id, sizeof(im->id), "sha256:%s", hex);
	im->created_ns = real_ns();
	return im;
}

/* --- statistics -------------------------------------------------------------------- */

static const char *const route_stat[R__MAX] = {
	[R_PING] = "GET /_ping",
	[R_PING_HEAD] = "HEAD /_ping",
	[R_VERSION] = "GET /version",
	[R_INFO] = "GET /info",
	[R_IMAGE_INSPECT] = "GET /images/{name}/json",
	[R_IMAGE_CREATE] = "POST /images/create",
	[R_CTR_CREATE] = "POST /containers/create",
	[R_CTR_LIST] = "GET /containers/json",
	[R_CTR_INSPECT] = "GET /containers/{id}/json",
	[R_CTR_START] = "POST /containers/{id}/start",
	[R_CTR_KILL] = "POST /containers/{id}/kill",
	[R_CTR_DELETE] = "DELETE /containers/{id}",
	[R_ARCHIVE_PUT] = "PUT /containers/{id}/archive",
	[R_ARCHIVE_GET] = "GET /containers/{id}/archive",
	[R_ARCHIVE_HEAD] = "HEAD /containers/{id}/archive",
	[R_LOGS] = "GET /containers/{id}/logs",
	[R_EVENTS] = "GET /events",
	[R_VOL_CREATE] = "POST /volumes/create",
	[R_VOL_LIST] = "GET /volumes",
	[R_VOL_INSPECT] = "GET /volumes/{name}",
	[R_VOL_DELETE] = "DELETE /volumes/{name}",
};

/* Whether the path segment from seg to end is word. */
static int
seg_is(const char *seg, const char *end, const char *word)
{
	return (size_t)(end - seg) == strlen(word) &&
	    strncmp(seg, word, strlen(word)) == 0;
}

/*
 * Count a call the simulator does not know, under "METHOD /path" with the
 * object segment of /containers/X, /volumes/X, ... made "{}", so the stats
 * show each kind of unknown call once.
 */
static void
stats_unknown(struct engine *e, const char *method, const char *path,
    const char *what)
{
	static const char *const objs[] = { "/containers/", "/volumes/",
	    "/images/", "/networks/", "/exec/", "/plugins/" };
	struct buf	 k = { 0 };
	const char	*p = path, *seg, *end;
	size_t		 i;

	e->st.unknown++;
	buf_printf(&k, "%s ", method);
	if (what != NULL)
		buf_str(&k, what);
	else {
		for (i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
			if ((seg = strstr(p, objs[i])) == NULL)
				continue;
			seg += strlen(objs[i]);
			end = strchr(seg, '/');
			if (end == NULL)
				end = seg + strlen(seg);
			/* The literal segments of the API stay. */
			if (seg_is(seg, end, "create") ||
			    seg_is(seg, end, "json") ||
			    seg_is(seg, end, "prune"))
				break;
			buf_add(&k, p, (size_t)(seg - p));
			buf_str(&k, "{}");
			p = end;
			break;
		}
		buf_str(&k, p);
	}
	for (i = 0; i < g.nunknown; i++)
		if (strcmp(g.unknown[i].key, k.p) == 0)
			break;
	if (i == g.nunknown) {
		if (g.nunknown == UNKNOWN_KEYS) {
			i = UNKNOWN_KEYS;
			if (g.unknown[i].key == NULL)
				g.unknown[i].key = xstrdup("(other)");
		} else
			g.unknown[g.nunknown++].key = xstrdup(k.p);
	}
	g.unknown[i].n++;
	buf_free(&k);
}

static void
stats_add(struct stats *sum, const struct stats *s)
{
	size_t	 i;

	for (i = 0; i < R__MAX; i++)
		sum->calls[i] += s->calls[i];
	sum->unknown += s->unknown;
	sum->log_bytes += s->log_bytes;
	sum->events_sent += s->events_sent;
	sum->archive_put_bytes += s->archive_put_bytes;
	sum->archive_get_bytes += s->archive_get_bytes;
	sum->registry_auth += s->registry_auth;
	sum->pulls += s->pulls;
}

/* The JSON of s (calls with a count of 0 left out). */
static cJSON *
stats_json(const struct stats *s)
{
	cJSON			*o, *calls;
	unsigned long long	 total = 0;
	size_t			 i;

	o = cJSON_CreateObject();
	calls = cJSON_CreateObject();
	for (i = 0; i < R__MAX; i++) {
		total += s->calls[i];
		if (s->calls[i] != 0)
			cJSON_AddNumberToObject(calls, route_stat[i],
			    (double)s->calls[i]);
	}
	cJSON_AddNumberToObject(o, "calls_total", (double)total);
	cJSON_AddItemToObject(o, "calls", calls);
	cJSON_AddNumberToObject(o, "unknown_calls", (double)s->unknown);
	cJSON_AddNumberToObject(o, "log_bytes", (double)s->log_bytes);
	cJSON_AddNumberToObject(o, "events_sent", (double)s->events_sent);
	cJSON_AddNumberToObject(o, "archive_put_bytes",
	    (double)s->archive_put_bytes);
	cJSON_AddNumberToObject(o, "archive_get_bytes",
	    (double)s->archive_get_bytes);
	cJSON_AddNumberToObject(o, "registry_auth", (double)s->registry_auth);
	cJSON_AddNumberToObject(o, "pulls", (double)s->pulls);
	return o;
}

/*
 * Write the statistics to --stats FILE (a temporary name, then renamed, so
 * a reader never sees half a file). "seq" counts the writes.
 */
static void
stats_write(void)
{
	struct stats	 total;
	cJSON		*o, *t, *eng, *unk, *x;
	char		*text = NULL, *tmp = NULL;
	size_t		 i, nc, nr;
	FILE		*f = NULL;
	unsigned	 k;

	if (g.stats_file == NULL)
		return;
	memset(&total, 0, sizeof(total));
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "simulator",
	    SIM_NAME " (Docker Engine API simulator)");
	cJSON_AddNumberToObject(o, "seq", (double)++g.stats_seq);
	cJSON_AddNumberToObject(o, "time", (double)real_ns() / 1e9);
	cJSON_AddNumberToObject(o, "uptime_s",
	    (double)(real_ns() - g.started_ns) / 1e9);
	cJSON_AddNumberToObject(o, "hosts", g.nhosts);
	cJSON_AddNumberToObject(o, "latency_ms", (double)g.latency_ns / 1e6);
	x = cJSON_AddObjectToObject(o, "connections");
	cJSON_AddNumberToObject(x, "open", (double)g.open_conns);
	cJSON_AddNumberToObject(x, "max_open", (double)g.max_conns);
	cJSON_AddNumberToObject(x, "accepted", (double)g.accepted);
	eng = cJSON_CreateObject();
	nc = nr = 0;
	for (k = 0; k < g.nhosts; k++) {
		struct engine	*e = &g.engines[k];

		stats_add(&total, &e->st);
		x = stats_json(&e->st);
		cJSON_AddNumberToObject(x, "containers", (double)e->nctrs);
		for (i = 0; i < e->nctrs; i++)
			nr += e->ctrs[i]->running;
		nc += e->nctrs;
		cJSON_AddItemToObject(eng, e->name, x);
	}
	t = stats_json(&total);
	cJSON_AddNumberToObject(t, "containers", (double)nc);
	cJSON_AddNumberToObject(t, "running", (double)nr);
	unk = cJSON_AddObjectToObject(t, "unknown");
	for (i = 0; i <= UNKNOWN_KEYS; i++)
		if (g.unknown[i].key != NULL)
			cJSON_AddNumberToObject(unk, g.unknown[i].key,
			    (double)g.unknown[i].n);
	cJSON_AddItemToObject(o, "total", t);
	cJSON_AddItemToObject(o, "engines", eng);
	if ((text = cJSON_Print(o)) == NULL)
		goto out;
	tmp = xmalloc(strlen(g.stats_file) + 8);
	snprintf(tmp, strlen(g.stats_file) + 8, "%s.tmp", g.stats_file);
	if ((f = fopen(tmp, "w")) == NULL ||
	    fputs(text, f) == EOF || fputc('\n', f) == EOF) {
		fprintf(stderr, SIM_NAME ": %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		fprintf(stderr, SIM_NAME ": %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, g.stats_file) != 0)
		fprintf(stderr, SIM_NAME ": %s: %s\n", g.stats_file,
		    strerror(errno));
out:
	if (f != NULL)
		fclose(f);
	free(tmp);
	free(text);
	cJSON_Delete(o);
}

/* --- writing answers ------------------------------------------------------------------ */

static const char *
reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 409: return "Conflict";
	case 413: return "Request Entity Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	default:  return "Unknown";
	}
}

/* Queue bytes for the client (sent by conn_flush()). */
static void
out_add(struct conn *c, const void *p, size_t n)
{
	if (c->outoff > 0 && c->outoff == c->out.len) {
		c->out.len = 0;
		c->outoff = 0;
	}
	buf_add(&c->out, p, n);
}

enum blen {
	BODY_CHUNKED = -1,	/* Transfer-Encoding: chunked follows */
	BODY_NONE = -2,		/* no body and no length (204, 304, HEAD) */
};

/*
 * The status line and headers of an answer: those of dockerd 20.10 (Api-
 * Version, Docker-Experimental, Ostype, Server, Date) plus ctype (may be
 * NULL), extra header lines (may be NULL, each ending in CRLF), and
 * Content-Length len, or chunked, or nothing (enum blen).
 */
static void
resp_head(struct conn *c, int status, const char *ctype, const char *extra,
    long long len)
{
	static time_t	 cached;
	static char	 date[64];
	struct buf	 h = { 0 };
	struct tm	 tm;
	time_t		 now = time(NULL);

	if (now != cached) {
		gmtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		cached = now;
	}
	buf_printf(&h, "HTTP/1.1 %d %s\r\nApi-Version: " SIM_API "\r\n",
	    status, reason(status));
	if (ctype != NULL)
		buf_printf(&h, "Content-Type: %s\r\n", ctype);
	buf_str(&h, "Docker-Experimental: false\r\nOstype: linux\r\n"
	    "Server: Docker/" SIM_VERSION " (linux)\r\n");
	if (extra != NULL)
		buf_str(&h, extra);
	buf_printf(&h, "Date: %s\r\n", date);
	if (!c->keepalive)
		buf_str(&h, "Connection: close\r\n");
	if (len >= 0)
		buf_printf(&h, "Content-Length: %lld\r\n", len);
	else if (len == BODY_CHUNKED)
		buf_str(&h, "Transfer-Encoding: chunked\r\n");
	buf_str(&h, "\r\n");
	out_add(c, h.p, h.len);
	buf_free(&h);
}

/* The whole answer is queued: the next request (or close) once it is out. */
static void
resp_done(struct conn *c)
{
	c->st = c->keepalive ? C_DONE : C_CLOSE;
}

static void
resp_body(struct conn *c, int status, const char *ctype, const char *body,
    size_t n)
{
	resp_head(c, status, ctype, NULL, (long long)n);
	if (strcmp(c->method, "HEAD") != 0)
		out_add(c, body, n);
	resp_done(c);
}

/* An answer with a JSON body; takes o. */
static void
resp_json(struct conn *c, int status, cJSON *o)
{
	char	*t = cJSON_PrintUnformatted(o);
	size_t	 n = t != NULL ? strlen(t) : 0;

	/* NOTE: Go's json.Encoder ends the document with a newline. */
	if (t != NULL) {
		t = xrealloc(t, n + 2);
		t[n++] = '\n';
		t[n] = '\0';
	}
	resp_body(c, status, "application/json", t != NULL ? t : "", n);
	free(t);
	cJSON_Delete(o);
}

/* dockerd's error answer: {"message": "..."}. */
static void __attribute__((format(printf, 3, 4)))
resp_error(struct conn *c, int status, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[2048];
	cJSON	*o = cJSON_CreateObject();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(o, "message", msg);
	resp_json(c, status, o);
}

static void
resp_empty(struct conn *c, int status)
{
	resp_head(c, status, NULL, NULL, status == 200 ? 0 : BODY_NONE);
	resp_done(c);
}

/* One chunk of a chunked answer (nothing for n == 0: that would end it). */
static void
chunk(struct conn *c, const void *p, size_t n)
{
	char	 h[32];
	int	 k;

	if (n == 0)
		return;
	k = snprintf(h, sizeof(h), "%zx\r\n", n);
	out_add(c, h, (size_t)k);
	out_add(c, p, n);
	out_add(c, "\r\n", 2);
}

/* Begin a stream: chunked headers now, chunks later; st = C_STREAM. */
static void
stream_begin(struct conn *c, enum skind k, const char *ctype)
{
	resp_head(c, 200, ctype, NULL, BODY_CHUNKED);
	c->sk = k;
	c->st = C_STREAM;
}

/* --- request parameters -------------------------------------------------------------- */

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decode n bytes of s ('+' is a space when plus); caller frees. */
static char *
url_decode(const char *s, size_t n, int plus)
{
	char	*o = xmalloc(n + 1), *p = o;
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			*p++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else if (plus && s[i] == '+')
			*p++ = ' ';
		else
			*p++ = s[i];
	}
	*p = '\0';
	return o;
}

static void
query_parse(struct conn *c, const char *q)
{
	const char	*amp, *eq;
	size_t		 n;

	while (q != NULL && *q != '\0') {
		amp = strchr(q, '&');
		n = amp != NULL ? (size_t)(amp - q) : strlen(q);
		if (n > 0) {
			eq = memchr(q, '=', n);
			c->q = xrealloc(c->q, (c->nq + 1) * sizeof(*c->q));
			if (eq != NULL) {
				c->q[c->nq].k = url_decode(q, (size_t)(eq - q), 1);
				c->q[c->nq].v = url_decode(eq + 1,
				    n - (size_t)(eq - q) - 1, 1);
			} else {
				c->q[c->nq].k = url_decode(q, n, 1);
				c->q[c->nq].v = xstrdup("");
			}
			c->nq++;
		}
		q = amp != NULL ? amp + 1 : NULL;
	}
}

/* The first value of query parameter k, or NULL. */
static const char *
qget(const struct conn *c, const char *k)
{
	size_t	 i;

	for (i = 0; i < c->nq; i++)
		if (strcmp(c->q[i].k, k) == 0)
			return c->q[i].v;
	return NULL;
}

/* dockerd's httputils.BoolValue: set and not "", 0, no, false, none. */
static int
qbool(const struct conn *c, const char *k)
{
	const char	*v = qget(c, k);

	return v != NULL && *v != '\0' && strcmp(v, "0") != 0 &&
	    strcasecmp(v, "no") != 0 && strcasecmp(v, "false") != 0 &&
	    strcasecmp(v, "none") != 0;
}

/*
 * The filters parameter (JSON: {"key": ["v", ...]} or the older
 * {"key": {"v": true}}) as {"key": ["v", ...]} in *out (caller deletes;
 * NULL when there is none). Returns 0, or -1 when it is not such JSON.
 */
static int
filters_parse(const struct conn *c, cJSON **out)
{
	const char	*s = qget(c, "filters");
	cJSON		*in, *o, *kv, *v, *arr;

	*out = NULL;
	if (s == NULL || *s == '\0')
		return 0;
	if ((in = cJSON_Parse(s)) == NULL || !cJSON_IsObject(in)) {
		cJSON_Delete(in);
		return -1;
	}
	o = cJSON_CreateObject();
	cJSON_ArrayForEach(kv, in) {
		arr = cJSON_AddArrayToObject(o, kv->string);
		if (cJSON_IsArray(kv)) {
			cJSON_ArrayForEach(v, kv) {
				if (!cJSON_IsString(v))
					goto bad;
				cJSON_AddItemToArray(arr,
				    cJSON_CreateString(v->valuestring));
			}
		} else if (cJSON_IsObject(kv)) {
			cJSON_ArrayForEach(v, kv)
				if (cJSON_IsTrue(v))
					cJSON_AddItemToArray(arr,
					    cJSON_CreateString(v->string));
		} else
			goto bad;
	}
	cJSON_Delete(in);
	*out = o;
	return 0;
bad:
	cJSON_Delete(in);
	cJSON_Delete(o);
	return -1;
}

/* The first filter key of f not in the NULL-terminated list, or NULL. */
static const char *
filters_unknown(const cJSON *f, const char *const *known)
{
	const cJSON	*kv;
	size_t		 i;

	cJSON_ArrayForEach(kv, f) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(kv->string, known[i]) == 0)
				break;
		if (known[i] == NULL)
			return kv->string;
	}
	return NULL;
}

/* Whether labels (an object or NULL) hold every "k" / "k=v" of vals. */
static int
labels_match(const cJSON *labels, const cJSON *vals)
{
	const cJSON	*v, *l;
	const char	*eq;
	char		*k;
	int		 ok;

	cJSON_ArrayForEach(v, vals) {
		eq = strchr(v->valuestring, '=');
		k = eq != NULL ? strndup(v->valuestring,
		    (size_t)(eq - v->valuestring)) : xstrdup(v->valuestring);
		if (k == NULL)
			exit(2);
		l = labels != NULL ? cJSON_GetObjectItemCaseSensitive(labels, k)
		    : NULL;
		ok = l != NULL && cJSON_IsString(l) && (eq == NULL ||
		    strcmp(l->valuestring, eq + 1) == 0);
		free(k);
		if (!ok)
			return 0;
	}
	return 1;
}

/* Whether s equals one of the strings of vals (or vals is empty). */
static int
one_of(const cJSON *vals, const char *s)
{
	const cJSON	*v;

	if (cJSON_GetArraySize(vals) == 0)
		return 1;
	cJSON_ArrayForEach(v, vals)
		if (s != NULL && strcmp(v->valuestring, s) == 0)
			return 1;
	return 0;
}

/* --- events -------------------------------------------------------------------------- */

/* Whether event ev (parsed) passes the normalized filters f (may be NULL). */
static int
event_match(const cJSON *ev, const cJSON *f)
{
	const cJSON	*kv, *actor, *attrs, *v;
	const char	*type, *action, *id, *name;
	int		 ok;

	if (f == NULL)
		return 1;
	type = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "Type"));
	action = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "Action"));
	actor = cJSON_GetObjectItem(ev, "Actor");
	id = cJSON_GetStringValue(cJSON_GetObjectItem(actor, "ID"));
	attrs = cJSON_GetObjectItem(actor, "Attributes");
	name = cJSON_GetStringValue(cJSON_GetObjectItem(attrs, "name"));
	cJSON_ArrayForEach(kv, f) {
		if (cJSON_GetArraySize(kv) == 0)
			continue;
		if (strcmp(kv->string, "type") == 0)
			ok = one_of(kv, type);
		else if (strcmp(kv->string, "event") == 0)
			ok = one_of(kv, action);
		else if (strcmp(kv->string, "label") == 0)
			ok = labels_match(attrs, kv);
		else if (strcmp(kv->string, "container") == 0) {
			ok = 0;
			if (type != NULL && strcmp(type, "container") == 0)
				cJSON_ArrayForEach(v, kv)
					if ((id != NULL && strncmp(id,
					    v->valuestring,
					    strlen(v->valuestring)) == 0) ||
					    (name != NULL && strcmp(name,
					    v->valuestring) == 0))
						ok = 1;
		} else if (strcmp(kv->string, "image") == 0) {
			ok = one_of(kv, cJSON_GetStringValue(
			    cJSON_GetObjectItem(attrs, "image"))) ||
			    (type != NULL && strcmp(type, "image") == 0 &&
			    one_of(kv, id));
		} else if (strcmp(kv->string, "volume") == 0)
			ok = type != NULL && strcmp(type, "volume") == 0 &&
			    one_of(kv, id);
		else if (strcmp(kv->string, "scope") == 0)
			ok = one_of(kv, "local");
		else
			ok = 0;	/* networks, daemons, plugins: none here */
		if (!ok)
			return 0;
	}
	return 1;
}

/* Send one event line to an /events stream; counts it. */
static void
event_send(struct conn *s, const char *json)
{
	size_t	 n = strlen(json);
	char	*line = xmalloc(n + 2);

	memcpy(line, json, n);
	line[n] = '\n';
	chunk(s, line, n + 1);
	free(line);
	s->e->st.events_sent++;
	conn_flush(s);
}

/*
 * Record event ev (takes it) on engine e: "scope", "time" and "timeNano"
 * added, kept in the ring of the last EVENTS_KEEP, and sent to every
 * /events stream whose filters it passes.
 */
static void
event_emit(struct engine *e, cJSON *ev)
{
	struct conn	*s, *next;
	struct event	*slot;
	long long	 ns = real_ns();
	char		*json, num[32];

	cJSON_AddStringToObject(ev, "scope", "local");
	cJSON_AddNumberToObject(ev, "time", (double)(ns / 1000000000LL));
	/* NOTE: a double holds integers up to 2^53 only: timeNano goes raw. */
	snprintf(num, sizeof(num), "%lld", ns);
	cJSON_AddRawToObject(ev, "timeNano", num);
	json = cJSON_PrintUnformatted(ev);
	if (json == NULL) {
		cJSON_Delete(ev);
		return;
	}
	if (e->ev_n == EVENTS_KEEP) {
		slot = &e->ring[e->ev_first];
		free(slot->json);
		e->ev_first = (e->ev_first + 1) % EVENTS_KEEP;
		e->ev_n--;
	}
	slot = &e->ring[(e->ev_first + e->ev_n) % EVENTS_KEEP];
	slot->ns = ns;
	slot->json = json;
	e->ev_n++;
	for (s = e->subs; s != NULL; s = next) {
		next = s->snext;
		if (event_match(ev, s->filters) &&
		    (s->until_ns == 0 || ns <= s->until_ns))
			event_send(s, json);
	}
	cJSON_Delete(ev);
}

/* A container event as dockerd writes it; attrs (taken) may be NULL. */
static void
event_container(struct container *c, const char *action, cJSON *attrs)
{
	cJSON		*ev, *actor, *a, *labels, *l;

	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "status", action);
	cJSON_AddStringToObject(ev, "id", c->id);
	cJSON_AddStringToObject(ev, "from", c->image);
	cJSON_AddStringToObject(ev, "Type", "container");
	cJSON_AddStringToObject(ev, "Action", action);
	actor = cJSON_AddObjectToObject(ev, "Actor");
	cJSON_AddStringToObject(actor, "ID", c->id);
	a = attrs != NULL ? attrs : cJSON_CreateObject();
	cJSON_AddStringToObject(a, "image", c->image);
	cJSON_AddStringToObject(a, "name", c->name);
	labels = cJSON_GetObjectItem(c->body, "Labels");
	cJSON_ArrayForEach(l, labels)
		if (cJSON_IsString(l) &&
		    cJSON_GetObjectItem(a, l->string) == NULL)
			cJSON_AddStringToObject(a, l->string, l->valuestring);
	cJSON_AddItemToObject(actor, "Attributes", a);
	event_emit(c->e, ev);
}

/* A volume (or image) event: {"Type", "Action", "Actor"}; takes attrs. */
static void
event_object(struct engine *e, const char *type, const char *action,
    const char *id, cJSON *attrs, int legacy)
{
	cJSON	*ev = cJSON_CreateObject(), *actor;

	if (legacy) {
		cJSON_AddStringToObject(ev, "status", action);
		cJSON_AddStringToObject(ev, "id", id);
	}
	cJSON_AddStringToObject(ev, "Type", type);
	cJSON_AddStringToObject(ev, "Action", action);
	actor = cJSON_AddObjectToObject(ev, "Actor");
	cJSON_AddStringToObject(actor, "ID", id);
	cJSON_AddItemToObject(actor, "Attributes", attrs != NULL ? attrs :
	    cJSON_CreateObject());
	event_emit(e, ev);
}

static void
event_volume(struct engine *e, const char *action, const char *name,
    cJSON *attrs)
{
	if (attrs == NULL)
		attrs = cJSON_CreateObject();
	if (cJSON_GetObjectItem(attrs, "driver") == NULL)
		cJSON_AddStringToObject(attrs, "driver", "local");
	event_object(e, "volume", action, name, attrs, 0);
}

/* --- containers -------------------------------------------------------------------- */

static struct container *
ctr_find(struct engine *e, const char *ref)
{
	struct container	*hit = NULL;
	size_t			 i, n = strlen(ref);

	if (*ref == '/')
		ref++, n--;
	if (n == 0)
		return NULL;
	for (i = 0; i < e->nctrs; i++)
		if (strcmp(e->ctrs[i]->name, ref) == 0 ||
		    strcmp(e->ctrs[i]->id, ref) == 0)
			return e->ctrs[i];
	for (i = 0; i < e->nctrs; i++)
		if (strncmp(e->ctrs[i]->id, ref, n) == 0) {
			if (hit != NULL)
				return NULL;	/* ambiguous */
			hit = e->ctrs[i];
		}
	return hit;
}

static struct container *
ctr_by_name(struct engine *e, const char *name)
{
	size_t	 i;

	for (i = 0; i < e->nctrs; i++)
		if (strcmp(e->ctrs[i]->name, name) == 0)
			return e->ctrs[i];
	return NULL;
}

static const char *
ctr_status(const struct container *c)
{
	if (c->running)
		return "running";
	return c->nruns > 0 ? "exited" : "created";
}

static struct run *
ctr_last(struct container *c)
{
	return c->nruns > 0 ? &c->runs[c->nruns - 1] : NULL;
}

/* The words of the container's Entrypoint and Cmd, split on blanks. */
static char **
ctr_words(const struct container *c, size_t *n)
{
	const cJSON	*lists[2] = { c->entrypoint, c->cmd }, *v;
	char		**w = NULL, *s, *tok, *save;
	size_t		 i;

	*n = 0;
	for (i = 0; i < 2; i++)
		cJSON_ArrayForEach(v, lists[i]) {
			if (!cJSON_IsString(v))
				continue;
			s = xstrdup(v->valuestring);
			for (tok = strtok_r(s, " \t\n;&|", &save); tok != NULL;
			    tok = strtok_r(NULL, " \t\n;&|", &save)) {
				w = xrealloc(w, (*n + 1) * sizeof(*w));
				w[(*n)++] = xstrdup(tok);
			}
			free(s);
		}
	return w;
}

/*
 * What a run of c does, from its command: duration after `--sleep` or the
 * word `sleep` (else 1 s), exit code after `--exit`, an OOM kill for
 * `--oom` or for `--mem MB` at or above HostConfig.Memory.
 */
static void
ctr_plan(struct container *c)
{
	char		**w, *end;
	size_t		 n, i;
	double		 v, mem_mb = -1;
	cJSON		*hc = cJSON_GetObjectItem(c->body, "HostConfig");
	double		 limit = cJSON_GetNumberValue(
			    cJSON_GetObjectItem(hc, "Memory"));

	c->duration_ns = 1000000000LL;
	c->exit_planned = 0;
	c->oom_planned = 0;
	w = ctr_words(c, &n);
	for (i = 0; i < n; i++) {
		if ((strcmp(w[i], "--sleep") == 0 || strcmp(w[i], "sleep") ==
		    0) && i + 1 < n) {
			v = strtod(w[i + 1], &end);
			if (end != w[i + 1] && *end == '\0' && isinf(v) &&
			    v > 0)
				c->duration_ns = -1;	/* sleep infinity */
			else if (end != w[i + 1] && *end == '\0' && v >= 0 &&
			    v <= 1e9)
				c->duration_ns = (long long)(v * 1e9);
		} else if (strcmp(w[i], "--exit") == 0 && i + 1 < n)
			c->exit_planned = (int)strtol(w[i + 1], NULL, 10) & 255;
		else if (strcmp(w[i], "--oom") == 0)
			c->oom_planned = 1;
		else if (strcmp(w[i], "--mem") == 0 && i + 1 < n)
			mem_mb = strtod(w[i + 1], NULL);
	}
	if (mem_mb >= 0 && !isnan(limit) && limit > 0 &&
	    mem_mb * 1048576.0 >= limit)
		c->oom_planned = 1;
	c->oom_after_ns = c->duration_ns >= 0 && c->duration_ns < 200000000LL ?
	    c->duration_ns : 200000000LL;
	for (i = 0; i < n; i++)
		free(w[i]);
	free(w);
}

/* The volume mounts of c: unmount events (a run ended). */
static void
ctr_unmount(struct container *c)
{
	cJSON	*a;
	size_t	 i;

	for (i = 0; i < c->nmounts; i++) {
		if (strcmp(c->mounts[i].type, "volume") != 0)
			continue;
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "container", c->id);
		event_volume(c->e, "unmount", c->mounts[i].source, a);
	}
}

/*
 * The current run of c ends now with code (oom: OOM-killed; sig: the
 * signal that ended it): state, events (oom, die, volume unmounts) and the
 * log streams that follow it.
 */
static void
ctr_exit(struct container *c, int code, int oom, int sig)
{
	struct run	*r = ctr_last(c);
	struct conn	*s, *next;
	cJSON		*a;
	char		 num[16];

	if (!c->running || r == NULL)
		return;
	timer_cancel(&c->exit_tm);
	c->running = 0;
	r->end_ns = real_ns();
	r->exit_code = code;
	r->oom = oom;
	r->signal = sig;
	if (oom)
		event_container(c, "oom", NULL);
	a = cJSON_CreateObject();
	snprintf(num, sizeof(num), "%d", code);
	cJSON_AddStringToObject(a, "exitCode", num);
	event_container(c, "die", a);
	ctr_unmount(c);
	for (s = c->followers; s != NULL; s = next) {
		next = s->snext;
		logs_pump(s);
	}
}

static void
ctr_exit_fire(struct timer *t)
{
	struct container	*c = container_of(t, struct container, exit_tm);

	if (c->oom_planned)
		ctr_exit(c, 137, 1, 0);
	else
		ctr_exit(c, c->exit_planned, 0, 0);
}

/* Start a new run of c now. */
static void
ctr_run(struct container *c)
{
	struct run	*r;
	cJSON		*a;
	size_t		 i;

	for (i = 0; i < c->nmounts; i++) {
		if (strcmp(c->mounts[i].type, "volume") != 0)
			continue;
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "container", c->id);
		cJSON_AddStringToObject(a, "destination", c->mounts[i].dest);
		cJSON_AddStringToObject(a, "driver", "local");
		cJSON_AddStringToObject(a, "propagation", "");
		cJSON_AddStringToObject(a, "read/write",
		    c->mounts[i].rw ? "true" : "false");
		event_volume(c->e, "mount", c->mounts[i].source, a);
	}
	c->runs = xrealloc(c->runs, (c->nruns + 1) * sizeof(*c->runs));
	r = &c->runs[c->nruns++];
	memset(r, 0, sizeof(*r));
	r->start_ns = real_ns();
	c->running = 1;
	if (c->oom_planned)
		timer_at(&c->exit_tm, mono_ns() + c->oom_after_ns);
	else if (c->duration_ns >= 0)
		timer_at(&c->exit_tm, mono_ns() + c->duration_ns);
	event_container(c, "start", NULL);
}

/* Remove c from its engine and free it; its log streams end. */
static void
ctr_free(struct container *c)
{
	struct engine	*e = c->e;
	struct conn	*s, *next;
	size_t		 i;

	timer_cancel(&c->exit_tm);
	for (s = c->followers; s != NULL; s = next) {
		next = s->snext;
		stream_end(s);
	}
	for (i = 0; i < e->nctrs; i++)
		if (e->ctrs[i] == c) {
			memmove(&e->ctrs[i], &e->ctrs[i + 1],
			    (e->nctrs - i - 1) * sizeof(*e->ctrs));
			e->nctrs--;
			break;
		}
	for (i = 0; i < c->nmounts; i++) {
		free(c->mounts[i].type);
		free(c->mounts[i].source);
		free(c->mounts[i].dest);
		free(c->mounts[i].mode);
	}
	free(c->mounts);
	free(c->runs);
	free(c->name);
	free(c->image);
	cJSON_Delete(c->body);
	free(c);
}

/* --- log lines: a function of a run and the time ------------------------------------- */

/* How many lines run r of c holds at real time now. */
static unsigned long long
run_lines(const struct run *r, long long now)
{
	unsigned long long	 steps = 0;
	long long		 span;

	if (g.line_ns > 0) {
		if (r->end_ns != 0)
			span = r->end_ns - r->start_ns - 1;
		else
			span = now - r->start_ns;
		if (span > 0)
			steps = (unsigned long long)(span / g.line_ns);
	}
	return 1 + steps + (r->end_ns != 0 ? 1 : 0);
}

/* The time of line k of run r. */
static long long
line_time(const struct run *r, unsigned long long k, unsigned long long n)
{
	if (k == 0)
		return r->start_ns;
	if (r->end_ns != 0 && k == n - 1)
		return r->end_ns;
	return r->start_ns + (long long)k * g.line_ns;
}

/* Line k of run r of c (with its newline) into out. */
static void
line_text(const struct container *c, const struct run *r,
    unsigned long long k, unsigned long long n, struct buf *out)
{
	char		 line[256];
	double		 loss;

	if (k == 0) {
		buf_printf(out, "engine-sim: container %s started on %s\n",
		    c->name, c->e->name);
	} else if (r->end_ns != 0 && k == n - 1) {
		if (r->oom)
			buf_printf(out, "engine-sim: out of memory: killed "
			    "(exit code %d)\n", r->exit_code);
		else if (r->signal != 0)
			buf_printf(out, "engine-sim: killed by signal %d "
			    "(exit code %d)\n", r->signal, r->exit_code);
		else
			buf_printf(out, "engine-sim: exit code %d\n",
			    r->exit_code);
	} else {
		loss = 2.5 * exp(-(double)k / 400.0) + 0.05 *
		    (double)((k * 7919 + c->index * 104729) % 1000) / 1000.0;
		snprintf(line, sizeof(line), "step %llu loss %.4f acc %.4f "
		    "lr 0.000300 epoch %llu batch %llu job %lu host %s", k,
		    loss, 1.0 - loss / 3.0, k / 500, k % 500, c->index,
		    c->e->name);
		buf_printf(out, "%-*.*s\n", LINE_BYTES - 1, LINE_BYTES - 1,
		    line);
	}
}

/* --- connections: streams ----------------------------------------------------------- */

static void
stream_unlink(struct conn *s)
{
	struct conn	**head = NULL;

	if (s->sk == S_EVENTS)
		head = &s->e->subs;
	else if (s->sk == S_LOGS && s->c != NULL)
		head = &s->c->followers;
	if (head != NULL) {
		if (s->sprev != NULL)
			s->sprev->snext = s->snext;
		else if (*head == s)
			*head = s->snext;
		if (s->snext != NULL)
			s->snext->sprev = s->sprev;
	}
	s->snext = s->sprev = NULL;
	s->c = NULL;
}

static void
stream_link(struct conn *s, struct conn **head)
{
	s->sprev = NULL;
	s->snext = *head;
	if (*head != NULL)
		(*head)->sprev = s;
	*head = s;
}

/* End the stream of s: the last chunk, then the next request. */
static void
stream_end(struct conn *s)
{
	if (s->dead || s->st != C_STREAM)
		return;
	stream_unlink(s);
	timer_cancel(&s->tm);
	out_add(s, "0\r\n\r\n", 5);
	s->sk = S_NONE;
	resp_done(s);
	conn_flush(s);
}

/*
 * Send what a logs stream may send now: lines not yet sent, within its
 * since/until, up to OUT_HIGH queued (the rest once the client read it);
 * then wait for the next line of a followed running container, or end.
 */
static void
logs_pump(struct conn *s)
{
	struct container	*c = s->c;
	struct buf		 frames = { 0 }, text = { 0 };
	const struct run	*r;
	unsigned long long	 n;
	long long		 now = real_ns(), ts;
	unsigned char		 hdr[8];
	char			 tsbuf[48];
	size_t			 plen;

	if (s->dead)
		return;
	timer_cancel(&s->tm);
	if (c == NULL) {
		stream_end(s);
		return;
	}
	while (s->out.len - s->outoff + frames.len < OUT_HIGH) {
		if (s->run >= c->nruns)
			break;
		r = &c->runs[s->run];
		n = run_lines(r, now);
		if (s->line >= n) {
			if (r->end_ns == 0)
				break;		/* running: more later */
			s->run++;
			s->line = 0;
			continue;
		}
		ts = line_time(r, s->line, n);
		if (s->until_ns != 0 && ts > s->until_ns) {
			s->run = c->nruns;	/* nothing more to send */
			break;
		}
		if (ts >= s->since_ns && s->want_stdout) {
			text.len = 0;
			if (s->timestamps) {
				fmt_time(ts, TF_NANO_FIXED, tsbuf,
				    sizeof(tsbuf));
				buf_printf(&text, "%s ", tsbuf);
			}
			line_text(c, r, s->line, n, &text);
			plen = text.len;
			hdr[0] = 1;	/* stdout */
			hdr[1] = hdr[2] = hdr[3] = 0;
			hdr[4] = (unsigned char)(plen >> 24);
			hdr[5] = (unsigned char)(plen >> 16);
			hdr[6] = (unsigned char)(plen >> 8);
			hdr[7] = (unsigned char)plen;
			buf_add(&frames, hdr, 8);
			buf_add(&frames, text.p, plen);
		}
		s->line++;
	}
	if (frames.len > 0) {
		chunk(s, frames.p, frames.len);
		c->e->st.log_bytes += frames.len;
	}
	buf_free(&frames);
	buf_free(&text);
	if (s->out.len - s->outoff >= OUT_HIGH) {
		s->paused = 1;	/* conn_flush() resumes once drained */
		conn_flush(s);
		return;
	}
	if (s->run < c->nruns && s->follow && c->running) {
		r = &c->runs[s->run];
		if (g.line_ns > 0) {
			ts = r->start_ns + (long long)s->line * g.line_ns;
			timer_at_real(&s->tm, ts);
		}
		/* else the exit of the run pumps again (ctr_exit) */
		conn_flush(s);
		return;
	}
	stream_end(s);
}

/* Pull progress: the steps of one simulated layer. */
#define PULL_STEPS	16

static void
pull_line(struct conn *s, cJSON *o)
{
	char	*t = cJSON_PrintUnformatted(o);
	size_t	 n = strlen(t);

	/* NOTE: dockerd's stream formatter ends each object with CRLF. */
	t = xrealloc(t, n + 3);
	memcpy(t + n, "\r\n", 3);
	chunk(s, t, n + 2);
	free(t);
	cJSON_Delete(o);
}

static void
pull_status(struct conn *s, const char *status, const char *id, int detail,
    long long cur, long long total)
{
	cJSON	*o = cJSON_CreateObject(), *d;
	char	 bar[64], prog[128];
	int	 w, i;

	cJSON_AddStringToObject(o, "status", status);
	if (detail) {
		d = cJSON_AddObjectToObject(o, "progressDetail");
		if (total > 0) {
			cJSON_AddNumberToObject(d, "current", (double)cur);
			cJSON_AddNumberToObject(d, "total", (double)total);
			w = (int)(50 * cur / total);
			for (i = 0; i < 50; i++)
				bar[i] = i < w ? '=' : (i == w ? '>' : ' ');
			bar[50] = '\0';
			snprintf(prog, sizeof(prog), "[%s]  %.4gMB/%.4gMB", bar,
			    (double)cur / 1e6, (double)total / 1e6);
			cJSON_AddStringToObject(o, "progress", prog);
		}
	}
	if (id != NULL)
		cJSON_AddStringToObject(o, "id", id);
	pull_line(s, o);
}

/*
 * One step of a pull stream: "Pulling from", "Pulling fs layer",
 * Downloading over --pull-seconds, "Download complete", "Extracting",
 * "Pull complete", "Digest", "Status: Downloaded newer image"; the image
 * is present from then on. A "denied" image fails with errorDetail half-way.
 */
static void
pull_fire(struct timer *t)
{
	struct conn	*s = container_of(t, struct conn, tm);
	const long long	 total = 52428800;	/* 50 MB of layer */
	long long	 cur;
	char		 msg[1024], hex[65];
	cJSON		*o, *d, *a;
	int		 k = s->pull_step++;

	if (k == 0) {
		snprintf(msg, sizeof(msg), "Pulling from %s", s->pull_repo);
		pull_status(s, msg, s->pull_tag, 0, 0, 0);
		pull_status(s, "Pulling fs layer", s->layer, 1, 0, 0);
	} else if (k < PULL_STEPS - 2) {
		cur = total * k / (PULL_STEPS - 3);
		if (s->pull_denied && k >= PULL_STEPS / 2) {
			snprintf(msg, sizeof(msg), "pull access denied for %s, "
			    "repository does not exist or may require 'docker "
			    "login': denied: requested access to the resource "
			    "is denied", s->pull_repo);
			o = cJSON_CreateObject();
			d = cJSON_AddObjectToObject(o, "errorDetail");
			cJSON_AddStringToObject(d, "message", msg);
			cJSON_AddStringToObject(o, "error", msg);
			pull_line(s, o);
			stream_end(s);
			return;
		}
		pull_status(s, "Downloading", s->layer, 1, cur, total);
	} else if (k == PULL_STEPS - 2) {
		pull_status(s, "Verifying Checksum", s->layer, 1, 0, 0);
		pull_status(s, "Download complete", s->layer, 1, 0, 0);
		pull_status(s, "Extracting", s->layer, 1, total / 2, total);
	} else {
		pull_status(s, "Extracting", s->layer, 1, total, total);
		pull_status(s, "Pull complete", s->layer, 1, 0, 0);
		random_id(hex);
		snprintf(msg, sizeof(msg), "Digest: sha256:%s", hex);
		pull_status(s, msg, NULL, 0, 0, 0);
		image_add(s->e, s->pull_ref);
		snprintf(msg, sizeof(msg), "Status: Downloaded newer image for "
		    "%s", s->pull_ref);
		pull_status(s, msg, NULL, 0, 0, 0);
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "name", s->pull_ref);
		*strrchr(cJSON_GetObjectItem(a, "name")->valuestring, ':') =
		    '\0';
		event_object(s->e, "image", "pull", s->pull_ref, a, 1);
		stream_end(s);
		return;
	}
	conn_flush(s);
	timer_at(&s->tm, s->pull_t0 + (long long)(g.pull_s * 1e9 *
	    s->pull_step / (PULL_STEPS - 1)));
}

/* --- handlers ------------------------------------------------------------------------ */

static void
h_ping(struct conn *c)
{
	static const char extra[] = "Cache-Control: no-cache, no-store, "
	    "must-revalidate\r\nPragma: no-cache\r\n";

	resp_head(c, 200, "text/plain; charset=utf-8", extra, 2);
	if (strcmp(c->method, "HEAD") != 0)
		out_add(c, "OK", 2);
	resp_done(c);
}

static const char *
go_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#else
	return "unknown";
#endif
}

static void
h_version(struct conn *c)
{
	cJSON	*o = cJSON_CreateObject(), *p, *comps, *eng, *d;

	p = cJSON_AddObjectToObject(o, "Platform");
	cJSON_AddStringToObject(p, "Name", SIM_NAME
	    " (Docker Engine API simulator)");
	comps = cJSON_AddArrayToObject(o, "Components");
	eng = cJSON_CreateObject();
	cJSON_AddStringToObject(eng, "Name", "Engine");
	cJSON_AddStringToObject(eng, "Version", SIM_VERSION);
	d = cJSON_AddObjectToObject(eng, "Details");
	cJSON_AddStringToObject(d, "ApiVersion", SIM_API);
	cJSON_AddStringToObject(d, "Arch", go_arch());
	cJSON_AddStringToObject(d, "MinAPIVersion", "1.12");
	cJSON_AddStringToObject(d, "Os", "linux");
	cJSON_AddItemToArray(comps, eng);
	cJSON_AddStringToObject(o, "Version", SIM_VERSION);
	cJSON_AddStringToObject(o, "ApiVersion", SIM_API);
	cJSON_AddStringToObject(o, "MinAPIVersion", "1.12");
	cJSON_AddStringToObject(o, "GitCommit", SIM_NAME);
	cJSON_AddStringToObject(o, "GoVersion", "none (" SIM_NAME ")");
	cJSON_AddStringToObject(o, "Os", "linux");
	cJSON_AddStringToObject(o, "Arch", go_arch());
	cJSON_AddStringToObject(o, "KernelVersion", g.kernel);
	resp_json(c, 200, o);
}

static void
h_info(struct conn *c)
{
	struct engine	*e = c->e;
	cJSON		*o = cJSON_CreateObject(), *rt;
	char		 t[48], name[64];
	size_t		 i, run = 0, stop = 0;

	for (i = 0; i < e->nctrs; i++) {
		if (e->ctrs[i]->running)
			run++;
		else
			stop++;
	}
	snprintf(name, sizeof(name), SIM_NAME "-%s", e->name);
	cJSON_AddStringToObject(o, "ID", name);
	cJSON_AddNumberToObject(o, "Containers", (double)e->nctrs);
	cJSON_AddNumberToObject(o, "ContainersRunning", (double)run);
	cJSON_AddNumberToObject(o, "ContainersPaused", 0);
	cJSON_AddNumberToObject(o, "ContainersStopped", (double)stop);
	cJSON_AddNumberToObject(o, "Images", (double)e->nimages);
	cJSON_AddStringToObject(o, "Driver", "sim");
	fmt_time(real_ns(), TF_NANO, t, sizeof(t));
	cJSON_AddStringToObject(o, "SystemTime", t);
	cJSON_AddStringToObject(o, "KernelVersion", g.kernel);
	cJSON_AddStringToObject(o, "OperatingSystem", SIM_NAME
	    " (Docker Engine API simulator)");
	cJSON_AddStringToObject(o, "OSType", "linux");
	cJSON_AddStringToObject(o, "Architecture", go_arch());
	cJSON_AddNumberToObject(o, "NCPU", 64);
	cJSON_AddNumberToObject(o, "MemTotal", 549755813888.0);
	cJSON_AddStringToObject(o, "DockerRootDir", "/sim");
	cJSON_AddStringToObject(o, "Name", name);
	cJSON_AddStringToObject(o, "ServerVersion", SIM_VERSION);
	rt = cJSON_AddObjectToObject(o, "Runtimes");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(rt, "runc"), "path",
	    "runc");
	cJSON_AddStringToObject(o, "DefaultRuntime", "runc");
	resp_json(c, 200, o);
}

static void
h_image_inspect(struct conn *c)
{
	struct image	*im = image_find(c->e, c->arg);
	cJSON		*o, *cfg, *rootfs;
	char		 t[48];

	if (im == NULL) {
		resp_error(c, 404, "no such image: %s: No such image: %s",
		    c->arg, c->arg);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "Id", im->id);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "RepoTags"),
	    cJSON_CreateString(im->ref));
	cJSON_AddArrayToObject(o, "RepoDigests");
	cJSON_AddStringToObject(o, "Parent", "");
	cJSON_AddStringToObject(o, "Comment", SIM_NAME);
	fmt_time(im->created_ns, TF_NANO, t, sizeof(t));
	cJSON_AddStringToObject(o, "Created", t);
	cJSON_AddStringToObject(o, "Container", "");
	cJSON_AddStringToObject(o, "DockerVersion", SIM_VERSION);
	cJSON_AddStringToObject(o, "Author", "");
	cfg = cJSON_AddObjectToObject(o, "Config");
	cJSON_AddNullToObject(cfg, "Env");
	cJSON_AddNullToObject(cfg, "Cmd");
	cJSON_AddStringToObject(cfg, "Image", "");
	cJSON_AddNullToObject(cfg, "Entrypoint");
	cJSON_AddNullToObject(cfg, "Labels");
	cJSON_AddStringToObject(o, "Architecture", go_arch());
	cJSON_AddStringToObject(o, "Os", "linux");
	cJSON_AddNumberToObject(o, "Size", 1986114);
	cJSON_AddNumberToObject(o, "VirtualSize", 1986114);
	rootfs = cJSON_AddObjectToObject(o, "RootFS");
	cJSON_AddStringToObject(rootfs, "Type", "layers");
	cJSON_AddArrayToObject(rootfs, "Layers");
	resp_json(c, 200, o);
}

static void
h_image_create(struct conn *c)
{
	const char	*from = qget(c, "fromImage"), *tag = qget(c, "tag");
	struct buf	 ref = { 0 };
	char		*norm, *colon, *slash;
	char		 hex[65], msg[1024];

	if (c->regauth)
		c->e->st.registry_auth++;
	if (qget(c, "fromSrc") != NULL) {
		stats_unknown(c->e, c->method, c->path, "/images/create?fromSrc"
		    " (import)");
		resp_error(c, 400, SIM_NAME ": importing an image is not "
		    "simulated (start it with --image REF)");
		return;
	}
	if (from == NULL || *from == '\0') {
		resp_error(c, 400, "bad parameter: fromImage or fromSrc is "
		    "required");
		return;
	}
	buf_str(&ref, from);
	if (tag != NULL && *tag != '\0')
		buf_printf(&ref, "%s%s", strchr(tag, ':') != NULL ? "@" : ":",
		    tag);
	norm = ref_normalize(ref.p);
	buf_free(&ref);
	if (strstr(norm, "missing") != NULL) {
		resp_error(c, 404, "manifest for %s not found: manifest "
		    "unknown: manifest unknown", norm);
		free(norm);
		return;
	}
	c->e->st.pulls++;
	c->pull_ref = norm;
	slash = strrchr(norm, '/');
	colon = strrchr(slash != NULL ? slash : norm, ':');
	c->pull_tag = xstrdup(colon != NULL ? colon + 1 : "latest");
	if (colon != NULL)
		*colon = '\0';
	c->pull_repo = ref_repo_path(norm);
	if (colon != NULL)
		*colon = ':';
	c->pull_denied = strstr(norm, "denied") != NULL;
	random_id(hex);
	snprintf(c->layer, sizeof(c->layer), "%.12s", hex);
	stream_begin(c, S_PULL, "application/json");
	if (!c->pull_denied && image_find(c->e, norm) != NULL) {
		snprintf(msg, sizeof(msg), "Pulling from %s", c->pull_repo);
		pull_status(c, msg, c->pull_tag, 0, 0, 0);
		snprintf(msg, sizeof(msg), "Digest: sha256:%s", hex);
		pull_status(c, msg, NULL, 0, 0, 0);
		snprintf(msg, sizeof(msg), "Status: Image is up to date for "
		    "%s", norm);
		pull_status(c, msg, NULL, 0, 0, 0);
		stream_end(c);
		return;
	}
	c->pull_t0 = mono_ns();
	c->pull_step = 0;
	timer_use(&c->tm, pull_fire);
	pull_fire(&c->tm);
}

/* Whether name is a valid container name ([a-zA-Z0-9][a-zA-Z0-9_.-]+). */
static int
valid_name(const char *s, int allow_slash)
{
	size_t	 i;

	if (allow_slash && *s == '/')
		s++;
	if (!isalnum((unsigned char)s[0]) || s[1] == '\0')
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

static struct volume *
vol_find(struct engine *e, const char *name)
{
	size_t	 i;

	for (i = 0; i < e->nvols; i++)
		if (strcmp(e->vols[i]->name, name) == 0)
			return e->vols[i];
	return NULL;
}

static struct volume *
vol_add(struct engine *e, const char *name, const cJSON *labels,
    const cJSON *opts)
{
	struct volume	*v = xcalloc(1, sizeof(*v));

	v->name = xstrdup(name);
	v->labels = labels != NULL && cJSON_IsObject(labels) ?
	    cJSON_Duplicate(labels, 1) : NULL;
	v->opts = opts != NULL && cJSON_IsObject(opts) ?
	    cJSON_Duplicate(opts, 1) : NULL;
	v->created_ns = real_ns();
	e->vols = xrealloc(e->vols, (e->nvols + 1) * sizeof(*e->vols));
	e->vols[e->nvols++] = v;
	return v;
}

static void
ctr_add_mount(struct container *c, const char *type, const char *source,
    const char *dest, const char *mode, int rw)
{
	struct mount	*m;

	c->mounts = xrealloc(c->mounts, (c->nmounts + 1) * sizeof(*c->mounts));
	m = &c->mounts[c->nmounts++];
	m->type = xstrdup(type);
	m->source = xstrdup(source);
	m->dest = xstrdup(dest);
	m->mode = xstrdup(mode);
	m->rw = rw;
}

/*
 * The mounts of the create body (HostConfig.Binds "src:dst[:opts]" and
 * HostConfig.Mounts); a named volume that does not exist is made, as
 * dockerd does. Returns 0, or -1 with a message in err (400).
 */
static int
ctr_mounts(struct container *c, char *err, size_t errlen)
{
	cJSON		*hc = cJSON_GetObjectItem(c->body, "HostConfig");
	cJSON		*m, *v;
	const char	*type, *src, *dst;
	char		*s, *p1, *p2, vname[65];
	int		 ro;

	cJSON_ArrayForEach(v, cJSON_GetObjectItem(hc, "Binds")) {
		if (!cJSON_IsString(v))
			continue;
		s = xstrdup(v->valuestring);
		p1 = strchr(s, ':');
		p2 = p1 != NULL ? strchr(p1 + 1, ':') : NULL;
		if (p1 == NULL || p1[1] != '/') {
			snprintf(err, errlen, "invalid volume specification: "
			    "'%s'", v->valuestring);
			free(s);
			return -1;
		}
		*p1++ = '\0';
		if (p2 != NULL)
			*p2++ = '\0';
		ro = p2 != NULL && strstr(p2, "ro") != NULL;
		if (*s == '/')
			ctr_add_mount(c, "bind", s, p1, p2 != NULL ? p2 : "",
			    !ro);
		else {
			if (vol_find(c->e, s) == NULL) {
				vol_add(c->e, s, NULL, NULL);
				event_volume(c->e, "create", s, NULL);
			}
			ctr_add_mount(c, "volume", s, p1, p2 != NULL ? p2 : "",
			    !ro);
		}
		free(s);
	}
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(hc, "Mounts")) {
		type = cJSON_GetStringValue(cJSON_GetObjectItem(m, "Type"));
		src = cJSON_GetStringValue(cJSON_GetObjectItem(m, "Source"));
		dst = cJSON_GetStringValue(cJSON_GetObjectItem(m, "Target"));
		ro = cJSON_IsTrue(cJSON_GetObjectItem(m, "ReadOnly"));
		if (type == NULL || dst == NULL || *dst != '/') {
			snprintf(err, errlen, "invalid mount config: Target "
			    "must be an absolute path");
			return -1;
		}
		if (strcmp(type, "volume") == 0) {
			if (src == NULL || *src == '\0') {
				random_id(vname);
				src = vname;
			}
			if (vol_find(c->e, src) == NULL) {
				vol_add(c->e, src, NULL, NULL);
				event_volume(c->e, "create", src, NULL);
			}
			ctr_add_mount(c, "volume", src, dst, "z", !ro);
		} else if (strcmp(type, "bind") == 0) {
			if (src == NULL || *src != '/') {
				snprintf(err, errlen, "invalid mount config "
				    "for type \"bind\": invalid mount path");
				return -1;
			}
			ctr_add_mount(c, "bind", src, dst, "", !ro);
		} else if (strcmp(type, "tmpfs") == 0)
			ctr_add_mount(c, "tmpfs", "", dst, "", 1);
		else {
			snprintf(err, errlen, "invalid mount config: mount "
			    "type unknown: \"%s\"", type);
			return -1;
		}
	}
	return 0;
}

static void
h_ctr_create(struct conn *c)
{
	struct engine		*e = c->e;
	struct container	*x = NULL, *other;
	struct image		*im;
	const char		*name = qget(c, "name");
	const char		*img;
	cJSON			*body = NULL, *o, *cmd, *ep;
	char			 err[512], gen[65], *norm;

	if (name != NULL && *name != '\0' && !valid_name(name, 1)) {
		resp_error(c, 400, "Invalid container name (%s), only "
		    "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
		return;
	}
	body = cJSON_ParseWithLength(c->body.p != NULL ? c->body.p : "",
	    c->body.len);
	if (body == NULL || !cJSON_IsObject(body)) {
		resp_error(c, 400, "invalid JSON in the create body");
		goto out;
	}
	img = cJSON_GetStringValue(cJSON_GetObjectItem(body, "Image"));
	if (img == NULL || *img == '\0') {
		/* NOTE: dockerd 20.10 makes a container without an image;
		 * one that could never start is refused here. */
		resp_error(c, 400, SIM_NAME ": a container without Image is "
		    "not simulated");
		goto out;
	}
	cmd = cJSON_GetObjectItem(body, "Cmd");
	ep = cJSON_GetObjectItem(body, "Entrypoint");
	if (cJSON_GetArraySize(cmd) == 0 && cJSON_GetArraySize(ep) == 0) {
		resp_error(c, 400, "No command specified");
		goto out;
	}
	if ((im = image_find(e, img)) == NULL) {
		norm = ref_normalize(img);
		resp_error(c, 404, "No such image: %s", norm);
		free(norm);
		goto out;
	}
	if (name != NULL && *name == '/')
		name++;
	if (name != NULL && *name != '\0' &&
	    (other = ctr_by_name(e, name)) != NULL) {
		resp_error(c, 409, "Conflict. The container name \"/%s\" is "
		    "already in use by container \"%s\". You have to remove "
		    "(or rename) that container to be able to reuse that "
		    "name.", name, other->id);
		goto out;
	}
	x = xcalloc(1, sizeof(*x));
	x->e = e;
	random_id(x->id);
	if (name == NULL || *name == '\0') {
		snprintf(gen, sizeof(gen), "sim_%.12s", x->id);
		name = gen;
	}
	x->name = xstrdup(name);
	x->image = xstrdup(img);
	snprintf(x->image_id, sizeof(x->image_id), "%s", im->id);
	x->body = body;
	body = NULL;
	x->cmd = cJSON_IsArray(cmd) ? cmd : NULL;
	x->entrypoint = cJSON_IsArray(ep) ? ep : NULL;
	x->index = ++e->next_index;
	x->created_ns = real_ns();
	timer_init(&x->exit_tm, ctr_exit_fire);
	ctr_plan(x);
	e->ctrs = xrealloc(e->ctrs, (e->nctrs + 1) * sizeof(*e->ctrs));
	e->ctrs[e->nctrs++] = x;
	if (ctr_mounts(x, err, sizeof(err)) != 0) {
		ctr_free(x);
		resp_error(c, 400, "%s", err);
		goto out;
	}
	event_container(x, "create", NULL);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "Id", x->id);
	cJSON_AddArrayToObject(o, "Warnings");
	resp_json(c, 201, o);
out:
	cJSON_Delete(body);
}

static cJSON *
mounts_json(const struct container *x)
{
	cJSON		*arr = cJSON_CreateArray(), *m;
	char		 mp[1024];
	size_t		 i;

	for (i = 0; i < x->nmounts; i++) {
		m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "Type", x->mounts[i].type);
		if (strcmp(x->mounts[i].type, "volume") == 0) {
			cJSON_AddStringToObject(m, "Name", x->mounts[i].source);
			snprintf(mp, sizeof(mp), "/sim/%s/volumes/%s/_data",
			    x->e->name, x->mounts[i].source);
			cJSON_AddStringToObject(m, "Source", mp);
		} else
			cJSON_AddStringToObject(m, "Source",
			    x->mounts[i].source);
		cJSON_AddStringToObject(m, "Destination", x->mounts[i].dest);
		if (strcmp(x->mounts[i].type, "volume") == 0)
			cJSON_AddStringToObject(m, "Driver", "local");
		cJSON_AddStringToObject(m, "Mode", x->mounts[i].mode);
		cJSON_AddBoolToObject(m, "RW", x->mounts[i].rw);
		cJSON_AddStringToObject(m, "Propagation",
		    strcmp(x->mounts[i].type, "bind") == 0 ? "rprivate" : "");
		cJSON_AddItemToArray(arr, m);
	}
	return arr;
}

/* A copy of item k of the create body, or null. */
static cJSON *
body_item(const struct container *x, const char *k)
{
	cJSON	*v = cJSON_GetObjectItem(x->body, k);

	return v != NULL ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

static void
h_ctr_inspect(struct conn *c)
{
	struct container	*x = ctr_find(c->e, c->arg);
	struct run		*r;
	cJSON			*o, *st, *args, *hc, *given, *kv, *cfg, *ns;
	const cJSON		*v, *argv0;
	char			 t[48], host[13], slashed[300];
	const char		*nm;
	int			 first = 1;

	if (x == NULL) {
		resp_error(c, 404, "No such container: %s", c->arg);
		return;
	}
	r = ctr_last(x);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "Id", x->id);
	fmt_time(x->created_ns, TF_NANO, t, sizeof(t));
	cJSON_AddStringToObject(o, "Created", t);
	args = cJSON_CreateArray();
	nm = "";
	argv0 = x->entrypoint != NULL ? x->entrypoint : x->cmd;
	cJSON_ArrayForEach(v, argv0) {
		if (first && cJSON_IsString(v))
			nm = v->valuestring;
		else if (!first)
			cJSON_AddItemToArray(args, cJSON_Duplicate(v, 1));
		first = 0;
	}
	if (x->entrypoint != NULL)
		cJSON_ArrayForEach(v, x->cmd)
			cJSON_AddItemToArray(args, cJSON_Duplicate(v, 1));
	cJSON_AddStringToObject(o, "Path", nm);
	cJSON_AddItemToObject(o, "Args", args);
	st = cJSON_AddObjectToObject(o, "State");
	cJSON_AddStringToObject(st, "Status", ctr_status(x));
	cJSON_AddBoolToObject(st, "Running", x->running);
	cJSON_AddBoolToObject(st, "Paused", 0);
	cJSON_AddBoolToObject(st, "Restarting", 0);
	cJSON_AddBoolToObject(st, "OOMKilled", r != NULL && r->oom);
	cJSON_AddBoolToObject(st, "Dead", 0);
	cJSON_AddNumberToObject(st, "Pid", x->running ?
	    (double)(100000 + x->e->idx * 1000 + x->index % 1000) : 0);
	cJSON_AddNumberToObject(st, "ExitCode", r != NULL && !x->running ?
	    r->exit_code : 0);
	cJSON_AddStringToObject(st, "Error", "");
	fmt_time(r != NULL ? r->start_ns : 0, TF_NANO, t, sizeof(t));
	cJSON_AddStringToObject(st, "StartedAt", t);
	fmt_time(r != NULL ? r->end_ns : 0, TF_NANO, t, sizeof(t));
	cJSON_AddStringToObject(st, "FinishedAt", t);
	cJSON_AddStringToObject(o, "Image", x->image_id);
	cJSON_AddStringToObject(o, "LogPath", "");
	snprintf(slashed, sizeof(slashed), "/%s", x->name);
	cJSON_AddStringToObject(o, "Name", slashed);
	cJSON_AddNumberToObject(o, "RestartCount", 0);
	cJSON_AddStringToObject(o, "Driver", "sim");
	cJSON_AddStringToObject(o, "Platform", "linux");
	hc = cJSON_AddObjectToObject(o, "HostConfig");
	cJSON_AddNullToObject(hc, "Binds");
	kv = cJSON_AddObjectToObject(hc, "LogConfig");
	cJSON_AddStringToObject(kv, "Type", "json-file");
	cJSON_AddObjectToObject(kv, "Config");
	cJSON_AddStringToObject(hc, "NetworkMode", "default");
	cJSON_AddStringToObject(hc, "Runtime", "runc");
	cJSON_AddBoolToObject(hc, "Privileged", 0);
	cJSON_AddNumberToObject(hc, "Memory", 0);
	cJSON_AddNumberToObject(hc, "NanoCpus", 0);
	cJSON_AddNullToObject(hc, "PidsLimit");
	cJSON_AddNullToObject(hc, "CapDrop");
	cJSON_AddNullToObject(hc, "DeviceRequests");
	given = cJSON_GetObjectItem(x->body, "HostConfig");
	cJSON_ArrayForEach(v, given) {
		if (cJSON_GetObjectItem(hc, v->string) != NULL)
			cJSON_ReplaceItemInObject(hc, v->string,
			    cJSON_Duplicate(v, 1));
		else
			cJSON_AddItemToObject(hc, v->string,
			    cJSON_Duplicate(v, 1));
	}
	kv = cJSON_AddObjectToObject(o, "GraphDriver");
	cJSON_AddNullToObject(kv, "Data");
	cJSON_AddStringToObject(kv, "Name", "sim");
	cJSON_AddItemToObject(o, "Mounts", mounts_json(x));
	cfg = cJSON_AddObjectToObject(o, "Config");
	snprintf(host, sizeof(host), "%.12s", x->id);
	cJSON_AddStringToObject(cfg, "Hostname", host);
	cJSON_AddStringToObject(cfg, "Domainname", "");
	cJSON_AddStringToObject(cfg, "User", "");
	cJSON_AddBoolToObject(cfg, "Tty", 0);
	cJSON_AddItemToObject(cfg, "Env", body_item(x, "Env"));
	cJSON_AddItemToObject(cfg, "Cmd", body_item(x, "Cmd"));
	cJSON_AddStringToObject(cfg, "Image", x->image);
	cJSON_AddStringToObject(cfg, "WorkingDir", "");
	cJSON_AddItemToObject(cfg, "Entrypoint", body_item(x, "Entrypoint"));
	v = cJSON_GetObjectItem(x->body, "Labels");
	cJSON_AddItemToObject(cfg, "Labels", cJSON_IsObject(v) ?
	    cJSON_Duplicate(v, 1) : cJSON_CreateObject());
	ns = cJSON_AddObjectToObject(o, "NetworkSettings");
	cJSON_AddObjectToObject(cJSON_AddObjectToObject(ns, "Networks"),
	    cJSON_GetStringValue(cJSON_GetObjectItem(hc, "NetworkMode")) !=
	    NULL ? cJSON_GetStringValue(cJSON_GetObjectItem(hc,
	    "NetworkMode")) : "default");
	resp_json(c, 200, o);
}

/* Docker's `docker ps` status text. */
static void
ctr_status_text(const struct container *x, char *out, size_t len)
{
	const struct run	*r = x->nruns > 0 ? &x->runs[x->nruns - 1] :
				    NULL;
	char			 h[64];

	if (x->running) {
		human_duration(real_ns() - r->start_ns, h, sizeof(h));
		snprintf(out, len, "Up %s", h);
	} else if (r != NULL) {
		human_duration(real_ns() - r->end_ns, h, sizeof(h));
		snprintf(out, len, "Exited (%d) %s ago", r->exit_code, h);
	} else
		snprintf(out, len, "Created");
}

static void
h_ctr_list(struct conn *c)
{
	static const char *const known[] = { "ancestor", "before", "expose",
	    "exited", "health", "id", "isolation", "is-task", "label", "name",
	    "network", "publish", "since", "status", "volume", NULL };
	static const char *const statuses[] = { "created", "restarting",
	    "running", "removing", "paused", "exited", "dead", NULL };
	struct engine	*e = c->e;
	struct container *x;
	cJSON		*f = NULL, *arr, *o, *kv, *v, *labels, *hc;
	const char	*bad;
	struct buf	 cmd = { 0 };
	char		 st[96], n[300];
	size_t		 i, k;
	int		 all = qbool(c, "all"), ok;

	if (filters_parse(c, &f) != 0) {
		resp_error(c, 400, "invalid filter: the filters parameter is "
		    "not JSON of lists");
		return;
	}
	if (f != NULL && (bad = filters_unknown(f, known)) != NULL) {
		resp_error(c, 400, "Invalid filter '%s'", bad);
		goto out;
	}
	cJSON_ArrayForEach(kv, f) {
		if (strcmp(kv->string, "label") != 0 &&
		    strcmp(kv->string, "name") != 0 &&
		    strcmp(kv->string, "id") != 0 &&
		    strcmp(kv->string, "status") != 0) {
			stats_unknown(e, c->method, c->path,
			    "/containers/json filter (not simulated)");
			resp_error(c, 400, SIM_NAME ": filter '%s' is not "
			    "simulated", kv->string);
			goto out;
		}
		if (strcmp(kv->string, "status") == 0)
			cJSON_ArrayForEach(v, kv) {
				for (k = 0; statuses[k] != NULL; k++)
					if (strcmp(statuses[k],
					    v->valuestring) == 0)
						break;
				if (statuses[k] == NULL) {
					resp_error(c, 400, "Invalid filter "
					    "'status=%s'", v->valuestring);
					goto out;
				}
				all = 1;
			}
	}
	arr = cJSON_CreateArray();
	for (i = e->nctrs; i-- > 0; ) {
		x = e->ctrs[i];
		labels = cJSON_GetObjectItem(x->body, "Labels");
		if (!all && !x->running)
			continue;
		ok = 1;
		cJSON_ArrayForEach(kv, f) {
			if (cJSON_GetArraySize(kv) == 0)
				continue;
			if (strcmp(kv->string, "label") == 0)
				ok = ok && labels_match(labels, kv);
			else if (strcmp(kv->string, "status") == 0)
				ok = ok && one_of(kv, ctr_status(x));
			else if (strcmp(kv->string, "name") == 0) {
				int	 any = 0;

				/* NOTE: dockerd matches names as regexps; a
				 * substring covers the common use. */
				cJSON_ArrayForEach(v, kv)
					any |= strstr(x->name, *v->valuestring
					    == '/' ? v->valuestring + 1 :
					    v->valuestring) != NULL;
				ok = ok && any;
			} else if (strcmp(kv->string, "id") == 0) {
				int	 any = 0;

				cJSON_ArrayForEach(v, kv)
					any |= strncmp(x->id, v->valuestring,
					    strlen(v->valuestring)) == 0;
				ok = ok && any;
			}
		}
		if (!ok)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "Id", x->id);
		snprintf(n, sizeof(n), "/%s", x->name);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "Names"),
		    cJSON_CreateString(n));
		cJSON_AddStringToObject(o, "Image", x->image);
		cJSON_AddStringToObject(o, "ImageID", x->image_id);
		cmd.len = 0;
		cJSON_ArrayForEach(v, x->entrypoint)
			buf_printf(&cmd, "%s%s", cmd.len > 0 ? " " : "",
			    v->valuestring);
		cJSON_ArrayForEach(v, x->cmd)
			buf_printf(&cmd, "%s%s", cmd.len > 0 ? " " : "",
			    v->valuestring);
		cJSON_AddStringToObject(o, "Command", cmd.p != NULL ? cmd.p :
		    "");
		cJSON_AddNumberToObject(o, "Created",
		    (double)(x->created_ns / 1000000000LL));
		cJSON_AddArrayToObject(o, "Ports");
		cJSON_AddItemToObject(o, "Labels", cJSON_IsObject(labels) ?
		    cJSON_Duplicate(labels, 1) : cJSON_CreateObject());
		cJSON_AddStringToObject(o, "State", ctr_status(x));
		ctr_status_text(x, st, sizeof(st));
		cJSON_AddStringToObject(o, "Status", st);
		hc = cJSON_AddObjectToObject(o, "HostConfig");
		v = cJSON_GetObjectItem(cJSON_GetObjectItem(x->body,
		    "HostConfig"), "NetworkMode");
		cJSON_AddStringToObject(hc, "NetworkMode", cJSON_IsString(v) ?
		    v->valuestring : "default");
		cJSON_AddObjectToObject(cJSON_AddObjectToObject(o,
		    "NetworkSettings"), "Networks");
		cJSON_AddItemToObject(o, "Mounts", mounts_json(x));
		cJSON_AddItemToArray(arr, o);
	}
	resp_json(c, 200, arr);
out:
	buf_free(&cmd);
	cJSON_Delete(f);
}

static void
h_ctr_start(struct conn *c)
{
	struct container	*x = ctr_find(c->e, c->arg);

	if (x == NULL) {
		resp_error(c, 404, "No such container: %s", c->arg);
		return;
	}
	if (x->running) {
		resp_empty(c, 304);
		return;
	}
	ctr_run(x);
	resp_empty(c, 204);
}

/* A signal name or number as dockerd parses it; -1 when invalid. */
static int
parse_signal(const char *s)
{
	static const char *const names[] = { NULL, "HUP", "INT", "QUIT",
	    "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
	    "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP",
	    "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF",
	    "WINCH", "IO", "PWR", "SYS" };
	char		*end;
	long		 n;
	size_t		 i;

	if (s == NULL || *s == '\0')
		return 9;
	if (isdigit((unsigned char)*s)) {
		n = strtol(s, &end, 10);
		return *end == '\0' && n > 0 && n <= 64 ? (int)n : -1;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

/* Whether signal n ends a process that does not handle it. */
static int
signal_ends(int n)
{
	return n != 17 && n != 18 && n != 19 && n != 20 && n != 21 &&
	    n != 22 && n != 23 && n != 28;
}

/* Send signal sig to running x: a kill event; it exits with 128 + sig. */
static void
ctr_signal(struct container *x, int sig)
{
	cJSON	*a = cJSON_CreateObject();
	char	 num[16];

	snprintf(num, sizeof(num), "%d", sig);
	cJSON_AddStringToObject(a, "signal", num);
	event_container(x, "kill", a);
	if (signal_ends(sig))
		ctr_exit(x, 128 + sig, 0, sig);
}

static void
h_ctr_kill(struct conn *c)
{
	struct container	*x = ctr_find(c->e, c->arg);
	const char		*s = qget(c, "signal");
	int			 sig;

	if (x == NULL) {
		resp_error(c, 404, "Cannot kill container: %s: No such "
		    "container: %s", c->arg, c->arg);
		return;
	}
	if ((sig = parse_signal(s)) < 0) {
		resp_error(c, 400, "Invalid signal: %s", s);
		return;
	}
	if (!x->running) {
		resp_error(c, 409, "Cannot kill container: %s: Container %s "
		    "is not running", c->arg, x->id);
		return;
	}
	ctr_signal(x, sig);
	resp_empty(c, 204);
}

static void
h_ctr_delete(struct conn *c)
{
	struct container	*x = ctr_find(c->e, c->arg);

	if (x == NULL) {
		resp_error(c, 404, "No such container: %s", c->arg);
		return;
	}
	if (x->running) {
		if (!qbool(c, "force")) {
			resp_error(c, 409, "You cannot remove a running "
			    "container %s. Stop the container before "
			    "attempting removal or force remove", x->id);
			return;
		}
		ctr_signal(x, 9);
	}
	event_container(x, "destroy", NULL);
	ctr_free(x);
	resp_empty(c, 204);
}

/* path made clean: no "//", no "/." parts, no trailing '/'; caller frees. */
static char *
path_clean(const char *in)
{
	struct buf	 b = { 0 };
	const char	*p = in, *end;
	size_t		 n;

	while (*p != '\0') {
		while (*p == '/')
			p++;
		end = strchr(p, '/');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n == 0)
			break;
		if (!(n == 1 && p[0] == '.')) {
			if (n == 2 && p[0] == '.' && p[1] == '.') {
				char	*slash = b.p != NULL ?
				    strrchr(b.p, '/') : NULL;

				if (slash != NULL) {
					b.len = (size_t)(slash - b.p);
					b.p[b.len] = '\0';
				}
			} else {
				buf_str(&b, "/");
				buf_add(&b, p, n);
			}
		}
		p += n;
	}
	if (b.len == 0)
		buf_str(&b, "/");
	return b.p;
}

/* The mount of x that holds path, or NULL. */
static const struct mount *
mount_of(const struct container *x, const char *path)
{
	const struct mount	*best = NULL;
	size_t			 i, n;

	for (i = 0; i < x->nmounts; i++) {
		n = strlen(x->mounts[i].dest);
		if (strncmp(path, x->mounts[i].dest, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/') &&
		    (best == NULL || n > strlen(best->dest)))
			best = &x->mounts[i];
	}
	return best;
}

/*
 * Whether path is a directory of x: those of the test image (/, /bin,
 * /tmp, /data, /output), those dockerd adds (/dev, /etc, /proc, /sys),
 * mount targets and anything below a mount (a volume's contents are
 * unknown here).
 */
static int
ctr_has_dir(const struct container *x, const char *path)
{
	static const char *const dirs[] = { "/", "/bin", "/tmp", "/data",
	    "/output", "/dev", "/etc", "/proc", "/sys", NULL };
	size_t	 i;

	for (i = 0; dirs[i] != NULL; i++)
		if (strcmp(path, dirs[i]) == 0)
			return 1;
	return mount_of(x, path) != NULL;
}

static void
h_archive_put(struct conn *c)
{
	struct container	*x = ctr_find(c->e, c->arg);
	const struct mount	*m;
	const char		*p = qget(c, "path");
	char			*path;

	c->e->st.archive_put_bytes += c->body_bytes;
	if (x == NULL) {
		resp_error(c, 404, "No such container: %s", c->arg);
		return;
	}
	if (p == NULL || *p == '\0') {
		resp_error(c, 400, "bad parameter: pathcannot be empty");
		return;
	}
	path = path_clean(p);
	if (!ctr_has_dir(x, path)) {
		resp_error(c, 404, "Could not find the file %s in container %s",
		    p, c->arg);
	} else if ((m = mount_of(x, path)) != NULL && !m->rw) {
		resp_error(c, 500, "mounted volume is marked read-only");
	} else {
		event_container(x, "extract-to-dir", NULL);
		resp_empty(c, 200);
	}
	free(path);
}

/* libarchive's write callback: append to a struct buf. */
static la_ssize_t
tar_write(struct archive *a, void *arg, const void *p, size_t n)
{
	(void)a;
	buf_add(arg, p, n);
	return (la_ssize_t)n;
}

static int
tar_entry(struct archive *a, const char *name, mode_t type, int perm,
    time_t mtime, const void *data, size_t n)
{
	struct archive_entry	*en = archive_entry_new();
	int			 rc = 0;

	if (en == NULL)
		return -1;
	archive_entry_set_pathname(en, name);
	archive_entry_set_filetype(en, type);
	archive_entry_set_perm(en, perm);
	archive_entry_set_size(en, (la_int64_t)n);
	archive_entry_set_mtime(en, mtime, 0);
	archive_entry_set_uname(en, "root");
	archive_entry_set_gname(en, "root");
	if (archive_write_header(a, en) != ARCHIVE_OK ||
	    (n > 0 && archive_write_data(a, data, n) != (la_ssize_t)n))
		rc = -1;
	archive_entry_free(en);
	return rc;
}

/*
 * The tar of x's /output (libarchive): output/, and once the container
 * exited 0, output/result.json {"fitness": index + 0.5} and a 1 KiB
 * output/model.bin. Returns 0 or -1.
 */
static int
output_tar(const struct container *x, struct buf *out, time_t mtime)
{
	struct archive	*a = archive_write_new();
	const struct run *r = x->nruns > 0 ? &x->runs[x->nruns - 1] : NULL;
	unsigned char	 model[1024];
	char		 json[64];
	size_t		 i;
	int		 rc = -1;

	if (a == NULL)
		return -1;
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, out, NULL, tar_write, NULL) != ARCHIVE_OK)
		goto out;
	if (tar_entry(a, "output/", AE_IFDIR, 0755, mtime, NULL, 0) != 0)
		goto out;
	if (r != NULL && !x->running && r->exit_code == 0) {
		snprintf(json, sizeof(json), "{\"fitness\": %.1f}\n",
		    (double)x->index + 0.5);
		for (i = 0; i < sizeof(model); i++)
			model[i] = (unsigned char)((i * 31 + x->index) & 0xff);
		if (tar_entry(a, "output/result.json", AE_IFREG, 0644, mtime,
		    json, strlen(json)) != 0 ||
		    tar_entry(a, "output/model.bin", AE_IFREG, 0644, mtime,
		    model, sizeof(model)) != 0)
			goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		goto out;
	rc = 0;
out:
	archive_write_free(a);
	return rc;
}

/* The X-Docker-Container-Path-Stat header line (base64 of the stat). */
static void
path_stat_header(const char *name, long long mtime_ns, char *out, size_t len)
{
	cJSON		*o = cJSON_CreateObject();
	char		*json, t[48];
	unsigned char	*b64;
	size_t		 n;

	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddNumberToObject(o, "size", 4096);
	cJSON_AddNumberToObject(o, "mode", 2147484141.0);	/* dir|0755 */
	fmt_time(mtime_ns, TF_NANO, t, sizeof(t));
	cJSON_AddStringToObject(o, "mtime", t);
	cJSON_AddStringToObject(o, "linkTarget", "");
	json = cJSON_PrintUnformatted(o);
	n = strlen(json);
	b64 = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock(b64, (const unsigned char *)json, (int)n);
	snprintf(out, len, "X-Docker-Container-Path-Stat: %s\r\n", b64);
	free(b64);
	free(json);
	cJSON_Delete(o);
}

static void
h_archive_get(struct conn *c)
{
	struct container	*x = ctr_find(c->e, c->arg);
	const char		*p = qget(c, "path");
	const struct run	*r;
	struct buf		 tar = { 0 };
	char			*path, hdr[1024];
	long long		 mt;
	int			 head = strcmp(c->method, "HEAD") == 0;

	if (x == NULL) {
		resp_error(c, 404, "No such container: %s", c->arg);
		return;
	}
	if (p == NULL || *p == '\0') {
		resp_error(c, 400, "bad parameter: pathcannot be empty");
		return;
	}
	path = path_clean(p);
	if (strcmp(path, "/output") != 0) {
		resp_error(c, 404, "Could not find the file %s in container %s",
		    p, c->arg);
		free(path);
		return;
	}
	free(path);
	r = ctr_last(x);
	mt = r != NULL && r->end_ns != 0 ? r->end_ns : x->created_ns;
	path_stat_header("output", mt, hdr, sizeof(hdr));
	if (head) {
		resp_head(c, 200, NULL, hdr, BODY_NONE);
		resp_done(c);
		return;
	}
	if (output_tar(x, &tar, (time_t)(mt / 1000000000LL)) != 0) {
		resp_error(c, 500, SIM_NAME ": libarchive could not write the "
		    "tar");
		buf_free(&tar);
		return;
	}
	event_container(x, "archive-path", NULL);
	c->e->st.archive_get_bytes += tar.len;
	resp_head(c, 200, "application/x-tar", hdr, (long long)tar.len);
	out_add(c, tar.p, tar.len);
	resp_done(c);
	buf_free(&tar);
}

static void
h_logs(struct conn *c)
{
	struct container	*x = ctr_find(c->e, c->arg);
	const char		*since = qget(c, "since"), *until;
	const char		*tail = qget(c, "tail");
	unsigned long long	 total = 0, skip, n;
	long long		 now = real_ns(), ntail = -1;
	char			*end;
	size_t			 i;

	if (x == NULL) {
		resp_error(c, 404, "No such container: %s", c->arg);
		return;
	}
	if (!qbool(c, "stdout") && !qbool(c, "stderr")) {
		resp_error(c, 400, "Bad parameters: you must choose at least "
		    "one stream");
		return;
	}
	c->since_ns = 0;
	if (since != NULL && *since != '\0' &&
	    parse_time_param(since, &c->since_ns) != 0) {
		resp_error(c, 400, "failed to parse value %s as a time", since);
		return;
	}
	until = qget(c, "until");
	c->until_ns = 0;
	if (until != NULL && *until != '\0' &&
	    parse_time_param(until, &c->until_ns) != 0) {
		resp_error(c, 400, "failed to parse value %s as a time", until);
		return;
	}
	if (tail != NULL && strcmp(tail, "all") != 0) {
		errno = 0;
		ntail = strtoll(tail, &end, 10);
		if (errno != 0 || end == tail || *end != '\0' || ntail < 0)
			ntail = -1;	/* dockerd: not a number is all */
	}
	c->want_stdout = qbool(c, "stdout");
	c->timestamps = qbool(c, "timestamps");
	/* NOTE: like dockerd, only a running container is followed. */
	c->follow = qbool(c, "follow") && x->running;
	c->c = x;
	c->run = 0;
	c->line = 0;
	if (ntail >= 0) {
		for (i = 0; i < x->nruns; i++)
			total += run_lines(&x->runs[i], now);
		skip = total > (unsigned long long)ntail ?
		    total - (unsigned long long)ntail : 0;
		for (i = 0; i < x->nruns && skip > 0; i++) {
			n = run_lines(&x->runs[i], now);
			if (skip >= n) {
				skip -= n;
				c->run = i + 1;
			} else {
				c->line = skip;
				skip = 0;
			}
		}
	}
	stream_begin(c, S_LOGS, NULL);
	stream_link(c, &x->followers);
	timer_use(&c->tm, logs_fire);
	logs_pump(c);
}

static void
logs_fire(struct timer *t)
{
	logs_pump(container_of(t, struct conn, tm));
}

static void
events_until_fire(struct timer *t)
{
	stream_end(container_of(t, struct conn, tm));
}

static void
h_events(struct conn *c)
{
	struct engine	*e = c->e;
	const char	*since = qget(c, "since"), *until = qget(c, "until");
	long long	 since_ns = -1, now = real_ns();
	struct event	*ev;
	cJSON		*o;
	size_t		 i;

	if (filters_parse(c, &c->filters) != 0) {
		resp_error(c, 400, "invalid filter: the filters parameter is "
		    "not JSON of lists");
		return;
	}
	if (since != NULL && *since != '\0' &&
	    parse_time_param(since, &since_ns) != 0) {
		resp_error(c, 400, "failed to parse value %s as a time", since);
		return;
	}
	c->until_ns = 0;
	if (until != NULL && *until != '\0' &&
	    parse_time_param(until, &c->until_ns) != 0) {
		resp_error(c, 400, "failed to parse value %s as a time", until);
		return;
	}
	if (until != NULL && *until != '\0' && c->until_ns == 0)
		c->until_ns = 1;	/* until=0: nothing after the epoch */
	stream_begin(c, S_EVENTS, "application/json");
	if (since_ns >= 0) {
		for (i = 0; i < e->ev_n; i++) {
			ev = &e->ring[(e->ev_first + i) % EVENTS_KEEP];
			if (ev->ns < since_ns ||
			    (c->until_ns != 0 && ev->ns > c->until_ns))
				continue;
			if ((o = cJSON_Parse(ev->json)) == NULL)
				continue;
			if (event_match(o, c->filters))
				event_send(c, ev->json);
			cJSON_Delete(o);
		}
	}
	if (c->until_ns != 0 && c->until_ns <= now) {
		stream_end(c);
		return;
	}
	stream_link(c, &e->subs);
	timer_use(&c->tm, events_until_fire);
	if (c->until_ns != 0)
		timer_at_real(&c->tm, c->until_ns);
	conn_flush(c);
}

static cJSON *
vol_json(const struct engine *e, const struct volume *v)
{
	cJSON	*o = cJSON_CreateObject();
	char	 t[48], mp[1024];

	fmt_time(v->created_ns, TF_SECONDS, t, sizeof(t));
	cJSON_AddStringToObject(o, "CreatedAt", t);
	cJSON_AddStringToObject(o, "Driver", "local");
	cJSON_AddItemToObject(o, "Labels", v->labels != NULL ?
	    cJSON_Duplicate(v->labels, 1) : cJSON_CreateNull());
	snprintf(mp, sizeof(mp), "/sim/%s/volumes/%s/_data", e->name, v->name);
	cJSON_AddStringToObject(o, "Mountpoint", mp);
	cJSON_AddStringToObject(o, "Name", v->name);
	cJSON_AddItemToObject(o, "Options", v->opts != NULL ?
	    cJSON_Duplicate(v->opts, 1) : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "Scope", "local");
	return o;
}

static void
h_vol_create(struct conn *c)
{
	struct volume	*v;
	cJSON		*body;
	const char	*name, *driver;
	char		 gen[65];

	body = cJSON_ParseWithLength(c->body.p != NULL ? c->body.p : "",
	    c->body.len);
	if (body == NULL || !cJSON_IsObject(body)) {
		resp_error(c, 400, "invalid JSON in the volume create body");
		goto out;
	}
	name = cJSON_GetStringValue(cJSON_GetObjectItem(body, "Name"));
	driver = cJSON_GetStringValue(cJSON_GetObjectItem(body, "Driver"));
	if (name == NULL || *name == '\0') {
		random_id(gen);
		name = gen;
	}
	if (!valid_name(name, 0)) {
		resp_error(c, 400, "create %s: \"%s\" includes invalid "
		    "characters for a local volume name, only "
		    "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended "
		    "to pass a host directory, use absolute path", name, name);
		goto out;
	}
	if (driver != NULL && *driver != '\0' && strcmp(driver, "local") != 0) {
		resp_error(c, 404, "create %s: error looking up volume plugin "
		    "%s: plugin \"%s\" not found", name, driver, driver);
		goto out;
	}
	if ((v = vol_find(c->e, name)) == NULL)
		v = vol_add(c->e, name, cJSON_GetObjectItem(body, "Labels"),
		    cJSON_GetObjectItem(body, "DriverOpts"));
	event_volume(c->e, "create", name, NULL);
	resp_json(c, 201, vol_json(c->e, v));
out:
	cJSON_Delete(body);
}

static void
h_vol_inspect(struct conn *c)
{
	struct volume	*v = vol_find(c->e, c->arg);

	if (v == NULL) {
		resp_error(c, 404, "get %s: no such volume", c->arg);
		return;
	}
	resp_json(c, 200, vol_json(c->e, v));
}

/* The ids of the containers that mount volume name, space separated. */
static void
vol_users(const struct engine *e, const char *name, struct buf *out)
{
	size_t	 i, k;

	for (i = 0; i < e->nctrs; i++)
		for (k = 0; k < e->ctrs[i]->nmounts; k++)
			if (strcmp(e->ctrs[i]->mounts[k].type, "volume") == 0 &&
			    strcmp(e->ctrs[i]->mounts[k].source, name) == 0) {
				buf_printf(out, "%s%s", out->len > 0 ? " " : "",
				    e->ctrs[i]->id);
				break;
			}
}

static void
h_vol_list(struct conn *c)
{
	static const char *const known[] = { "dangling", "driver", "label",
	    "name", NULL };
	struct engine	*e = c->e;
	struct volume	*v;
	struct buf	 users = { 0 };
	cJSON		*f = NULL, *o, *arr, *kv, *x;
	const char	*bad;
	size_t		 i;
	int		 ok, any;

	if (filters_parse(c, &f) != 0) {
		resp_error(c, 400, "invalid filter: the filters parameter is "
		    "not JSON of lists");
		return;
	}
	if (f != NULL && (bad = filters_unknown(f, known)) != NULL) {
		resp_error(c, 400, "Invalid filter '%s'", bad);
		goto out;
	}
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "Volumes");
	for (i = 0; i < e->nvols; i++) {
		v = e->vols[i];
		ok = 1;
		cJSON_ArrayForEach(kv, f) {
			if (cJSON_GetArraySize(kv) == 0)
				continue;
			if (strcmp(kv->string, "label") == 0)
				ok = ok && labels_match(v->labels, kv);
			else if (strcmp(kv->string, "driver") == 0)
				ok = ok && one_of(kv, "local");
			else if (strcmp(kv->string, "name") == 0) {
				any = 0;
				cJSON_ArrayForEach(x, kv)
					any |= strstr(v->name, x->valuestring)
					    != NULL;
				ok = ok && any;
			} else if (strcmp(kv->string, "dangling") == 0) {
				users.len = 0;
				vol_users(e, v->name, &users);
				any = 0;
				cJSON_ArrayForEach(x, kv) {
					int	 want = strcmp(x->valuestring,
					    "true") == 0 ||
					    strcmp(x->valuestring, "1") == 0;

					any |= want == (users.len == 0);
				}
				ok = ok && any;
			}
		}
		if (ok)
			cJSON_AddItemToArray(arr, vol_json(e, v));
	}
	cJSON_AddNullToObject(o, "Warnings");
	resp_json(c, 200, o);
out:
	buf_free(&users);
	cJSON_Delete(f);
}

static void
h_vol_delete(struct conn *c)
{
	struct engine	*e = c->e;
	struct volume	*v = vol_find(e, c->arg);
	struct buf	 users = { 0 };
	size_t		 i;

	if (v == NULL) {
		if (qbool(c, "force"))
			resp_empty(c, 204);
		else
			resp_error(c, 404, "get %s: no such volume", c->arg);
		return;
	}
	vol_users(e, v->name, &users);
	if (users.len > 0) {
		resp_error(c, 409, "remove %s: volume is in use - [%s]",
		    v->name, users.p);
		buf_free(&users);
		return;
	}
	event_volume(e, "destroy", v->name, NULL);
	for (i = 0; i < e->nvols; i++)
		if (e->vols[i] == v) {
			memmove(&e->vols[i], &e->vols[i + 1],
			    (e->nvols - i - 1) * sizeof(*e->vols));
			e->nvols--;
			break;
		}
	free(v->name);
	cJSON_Delete(v->labels);
	cJSON_Delete(v->opts);
	free(v);
	resp_empty(c, 204);
}

/* --- routing ---------------------------------------------------------------------------- */

/*
 * The routes, after the version prefix. "{}" is one path segment (the
 * container or volume), "*" one or more (an image name holds '/').
 */
static const struct route {
	enum route_id	 id;
	const char	*method;
	const char	*pattern;
	void		(*handler)(struct conn *);
} routes[] = {
	{ R_PING,	   "GET",    "/_ping",			h_ping },
	{ R_PING_HEAD,	   "HEAD",   "/_ping",			h_ping },
	{ R_VERSION,	   "GET",    "/version",		h_version },
	{ R_INFO,	   "GET",    "/info",			h_info },
	{ R_IMAGE_INSPECT, "GET",    "/images/*/json",		h_image_inspect },
	{ R_IMAGE_CREATE,  "POST",   "/images/create",		h_image_create },
	{ R_CTR_CREATE,	   "POST",   "/containers/create",	h_ctr_create },
	{ R_CTR_LIST,	   "GET",    "/containers/json",	h_ctr_list },
	{ R_CTR_INSPECT,   "GET",    "/containers/{}/json",	h_ctr_inspect },
	{ R_CTR_START,	   "POST",   "/containers/{}/start",	h_ctr_start },
	{ R_CTR_KILL,	   "POST",   "/containers/{}/kill",	h_ctr_kill },
	{ R_CTR_DELETE,	   "DELETE", "/containers/{}",		h_ctr_delete },
	{ R_ARCHIVE_PUT,   "PUT",    "/containers/{}/archive",	h_archive_put },
	{ R_ARCHIVE_GET,   "GET",    "/containers/{}/archive",	h_archive_get },
	{ R_ARCHIVE_HEAD,  "HEAD",   "/containers/{}/archive",	h_archive_get },
	{ R_LOGS,	   "GET",    "/containers/{}/logs",	h_logs },
	{ R_EVENTS,	   "GET",    "/events",			h_events },
	{ R_VOL_CREATE,	   "POST",   "/volumes/create",		h_vol_create },
	{ R_VOL_LIST,	   "GET",    "/volumes",		h_vol_list },
	{ R_VOL_INSPECT,   "GET",    "/volumes/{}",		h_vol_inspect },
	{ R_VOL_DELETE,	   "DELETE", "/volumes/{}",		h_vol_delete },
};

/*
 * Whether path matches pattern; *arg (caller frees) receives the decoded
 * {} or * part.
 */
static int
route_match(const char *pattern, const char *path, char **arg)
{
	const char	*star = strchr(pattern, '*'), *brace;
	const char	*tail, *seg_end;
	size_t		 pre, suf, plen = strlen(path);

	*arg = NULL;
	if (star != NULL) {
		pre = (size_t)(star - pattern);
		suf = strlen(star + 1);
		if (plen <= pre + suf || strncmp(path, pattern, pre) != 0 ||
		    strcmp(path + plen - suf, star + 1) != 0)
			return 0;
		*arg = url_decode(path + pre, plen - pre - suf, 0);
		return 1;
	}
	if ((brace = strstr(pattern, "{}")) == NULL)
		return strcmp(pattern, path) == 0;
	pre = (size_t)(brace - pattern);
	if (strncmp(path, pattern, pre) != 0)
		return 0;
	seg_end = strchr(path + pre, '/');
	if (seg_end == NULL)
		seg_end = path + plen;
	if (seg_end == path + pre)
		return 0;
	tail = brace + 2;
	if (strcmp(seg_end, tail) != 0)
		return 0;
	*arg = url_decode(path + pre, (size_t)(seg_end - path - pre), 0);
	return 1;
}

/*
 * Route the request of c (method and rawpath known): "/v1.41" + a route,
 * or "/version" without a version. Sets c->route (-1: unknown) and c->arg.
 */
static void
route_find(struct conn *c)
{
	const char	*p = c->rawpath;
	size_t		 i;

	c->route = -1;
	if (strncmp(p, "/v" SIM_API "/", strlen(SIM_API) + 3) == 0)
		p += strlen(SIM_API) + 2;
	else if (strcmp(p, "/version") != 0)
		return;
	free(c->path);
	c->path = xstrdup(p);
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].method, c->method) != 0)
			continue;
		if (route_match(routes[i].pattern, p, &c->arg)) {
			c->route = (int)i;
			return;
		}
	}
}

/* The latency passed: answer the request of c. */
static void
conn_answer(struct timer *t)
{
	struct conn	*c = container_of(t, struct conn, tm);
	const struct route *r;

	if (c->route < 0) {
		stats_unknown(c->e, c->method, c->rawpath, NULL);
		resp_error(c, 404, "page not found");
	} else if (c->too_large) {
		resp_error(c, 413, SIM_NAME ": request body over %d bytes",
		    BODY_MAX);
	} else {
		r = &routes[c->route];
		c->e->st.calls[r->id]++;
		r->handler(c);
	}
	conn_flush(c);
}

/* --- connections: reading requests ---------------------------------------------------- */

static void
conn_reset_request(struct conn *c)
{
	size_t	 i;

	for (i = 0; i < c->nq; i++) {
		free(c->q[i].k);
		free(c->q[i].v);
	}
	free(c->q);
	c->q = NULL;
	c->nq = 0;
	free(c->path);
	free(c->rawpath);
	free(c->arg);
	c->path = c->rawpath = c->arg = NULL;
	c->route = -1;
	c->chunked = 0;
	c->clen = -1;
	c->discard = 0;
	c->body_bytes = 0;
	c->body.len = 0;
	c->ck_state = 0;
	c->ck_left = 0;
	c->regauth = 0;
	c->too_large = 0;
	cJSON_Delete(c->filters);
	c->filters = NULL;
	free(c->pull_ref);
	free(c->pull_repo);
	free(c->pull_tag);
	c->pull_ref = c->pull_repo = c->pull_tag = NULL;
	c->until_ns = c->since_ns = 0;
	c->sk = S_NONE;
	c->c = NULL;
}

/* Whether header line h (n bytes) is name: ...; *val points past ':'. */
static int
header_is(const char *h, size_t n, const char *name, const char **val)
{
	size_t	 k = strlen(name);

	if (n <= k || h[k] != ':' || strncasecmp(h, name, k) != 0)
		return 0;
	*val = h + k + 1;
	while (*val < h + n && (**val == ' ' || **val == '\t'))
		(*val)++;
	return 1;
}

/* A bad request: 400 and close. */
static void
conn_bad(struct conn *c, int status, const char *why)
{
	c->keepalive = 0;
	c->route = -2;
	resp_error(c, status, "%s", why);
	conn_flush(c);
}

/*
 * Parse the request head of c (n bytes up to and with the blank line).
 * Returns 0, or -1 after a 400 answer.
 */
static int
head_parse(struct conn *c, const char *p, size_t n)
{
	const char	*eol, *sp1, *sp2, *val, *q, *end = p + n;
	size_t		 ll;
	char		*e;
	unsigned long long v;

	eol = memmem(p, n, "\r\n", 2);
	sp1 = memchr(p, ' ', (size_t)(eol - p));
	sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) :
	    NULL;
	if (sp1 == NULL || sp2 == NULL || (size_t)(sp1 - p) >=
	    sizeof(c->method) || sp2[1] != 'H') {
		conn_bad(c, 400, "malformed request line");
		return -1;
	}
	memcpy(c->method, p, (size_t)(sp1 - p));
	c->method[sp1 - p] = '\0';
	c->keepalive = strncmp(sp2 + 1, "HTTP/1.1", 8) == 0;
	q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	c->rawpath = strndup(sp1 + 1, (size_t)((q != NULL ? q : sp2) - sp1 -
	    1));
	if (c->rawpath == NULL)
		exit(2);
	if (q != NULL) {
		char	*qs = strndup(q + 1, (size_t)(sp2 - q - 1));

		if (qs == NULL)
			exit(2);
		query_parse(c, qs);
		free(qs);
	}
	for (p = eol + 2; p < end; p = eol + 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (eol == NULL || eol == p)
			break;
		ll = (size_t)(eol - p);
		if (header_is(p, ll, "Content-Length", &val)) {
			errno = 0;
			v = strtoull(val, &e, 10);
			if (errno != 0 || e == val || (e != eol && *e != ' ')) {
				conn_bad(c, 400, "bad Content-Length");
				return -1;
			}
			c->clen = (long long)v;
		} else if (header_is(p, ll, "Transfer-Encoding", &val)) {
			c->chunked = strncasecmp(val, "chunked", 7) == 0;
		} else if (header_is(p, ll, "Connection", &val)) {
			if (strncasecmp(val, "close", 5) == 0)
				c->keepalive = 0;
			else if (strncasecmp(val, "keep-alive", 10) == 0)
				c->keepalive = 1;
		} else if (header_is(p, ll, "X-Registry-Auth", &val)) {
			c->regauth = 1;
		} else if (header_is(p, ll, "Expect", &val) &&
		    strncasecmp(val, "100-continue", 12) == 0) {
			out_add(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		}
	}
	if (c->chunked)
		c->clen = -1;
	route_find(c);
	/* NOTE: an archive stream is counted, never kept. */
	c->discard = c->route >= 0 && routes[c->route].id == R_ARCHIVE_PUT;
	return 0;
}

/* Take n body bytes of p. */
static void
body_take(struct conn *c, const char *p, size_t n)
{
	c->body_bytes += n;
	if (c->discard)
		return;
	if (c->body.len + n > BODY_MAX) {
		c->too_large = 1;
		return;
	}
	buf_add(&c->body, p, n);
}

/*
 * Move body bytes from c->in: Content-Length or chunked. Returns 1 when
 * the body is whole, 0 when more is needed, -1 after a 400 answer.
 */
static int
body_read(struct conn *c)
{
	size_t		 n, used = 0;
	const char	*p = c->in.p, *eol;
	char		*e;
	int		 done = 0;

	if (!c->chunked) {
		if (c->clen <= 0)
			return 1;
		n = c->in.len;
		if ((unsigned long long)n > (unsigned long long)c->clen -
		    c->body_bytes)
			n = (size_t)((unsigned long long)c->clen -
			    c->body_bytes);
		body_take(c, p, n);
		buf_drop(&c->in, n);
		return c->body_bytes == (unsigned long long)c->clen;
	}
	while (!done && used < c->in.len) {
		switch (c->ck_state) {
		case 0:		/* size line */
			eol = memmem(p + used, c->in.len - used, "\r\n", 2);
			if (eol == NULL) {
				if (c->in.len - used > 1024) {
					conn_bad(c, 400, "bad chunk size");
					return -1;
				}
				goto more;
			}
			errno = 0;
			c->ck_left = strtoull(p + used, &e, 16);
			if (errno != 0 || e == p + used) {
				conn_bad(c, 400, "bad chunk size");
				return -1;
			}
			used = (size_t)(eol - p) + 2;
			c->ck_state = c->ck_left == 0 ? 3 : 1;
			break;
		case 1:		/* data */
			n = c->in.len - used;
			if (n > c->ck_left)
				n = (size_t)c->ck_left;
			body_take(c, p + used, n);
			used += n;
			c->ck_left -= n;
			if (c->ck_left == 0)
				c->ck_state = 2;
			break;
		case 2:		/* CRLF after data */
			if (c->in.len - used < 2)
				goto more;
			used += 2;
			c->ck_state = 0;
			break;
		case 3:		/* trailers up to a blank line */
			eol = memmem(p + used, c->in.len - used, "\r\n", 2);
			if (eol == NULL)
				goto more;
			if (eol == p + used)
				done = 1;
			used = (size_t)(eol - p) + 2;
			break;
		}
	}
more:
	buf_drop(&c->in, used);
	return done;
}

/*
 * Parse what c->in holds: a head, then a body; once whole, the answer is
 * timed for the latency (C_WAIT).
 */
static void
conn_parse(struct conn *c)
{
	const char	*end;
	size_t		 n;
	int		 rc;

	for (;;) {
		if (c->dead)
			return;
		if (c->st == C_HEAD) {
			if (c->in.len == 0)
				break;
			end = memmem(c->in.p, c->in.len, "\r\n\r\n", 4);
			if (end == NULL) {
				if (c->in.len > HEAD_MAX)
					conn_bad(c, 431, "request head too "
					    "large");
				break;
			}
			n = (size_t)(end - c->in.p) + 4;
			conn_reset_request(c);
			if (head_parse(c, c->in.p, n) != 0)
				break;
			buf_drop(&c->in, n);
			c->st = C_BODY;
		}
		if (c->st == C_BODY) {
			if ((rc = body_read(c)) < 0)
				break;
			if (rc == 0)
				break;
			c->st = C_WAIT;
			timer_use(&c->tm, conn_answer);
			timer_at(&c->tm, mono_ns() + g.latency_ns);
		}
		break;
	}
	conn_events(c);
}

/* --- connections: epoll, writing, closing --------------------------------------------- */

static void
conn_events(struct conn *c)
{
	struct epoll_event	 ev;
	unsigned		 want = 0;

	if (c->dead)
		return;
	if (c->st == C_HEAD || c->st == C_BODY || c->st == C_STREAM)
		want |= EPOLLIN;
	if (c->out.len > c->outoff)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
}

/*
 * Close c: out of every stream list and the timer heap now, its memory
 * freed by conn_reap() once the round of events that may still name it
 * is over.
 */
static void
conn_close(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	stream_unlink(c);
	timer_cancel(&c->tm);
	epoll_ctl(g.ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->dnext = g.dead;
	g.dead = c;
	g.open_conns--;
}

/* Free the connections closed in this round. */
static void
conn_reap(void)
{
	struct conn	*c;

	while ((c = g.dead) != NULL) {
		g.dead = c->dnext;
		conn_reset_request(c);
		buf_free(&c->in);
		buf_free(&c->out);
		buf_free(&c->body);
		free(c);
	}
}

/*
 * The client went away (or broke the protocol): c closed. A request that
 * waited for the latency is dropped with it.
 */
static void
conn_gone(struct conn *c)
{
	conn_close(c);
}

/*
 * Send what is queued. Once an answer is out: the next request (keep-
 * alive) or close; a paused log stream resumes.
 */
static void
conn_flush(struct conn *c)
{
	ssize_t	 n;

	if (c->dead)
		return;
	while (c->out.len > c->outoff) {
		n = send(c->fd, c->out.p + c->outoff, c->out.len - c->outoff,
		    MSG_NOSIGNAL);
		if (n > 0) {
			c->outoff += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		conn_gone(c);
		return;
	}
	if (c->outoff == c->out.len) {
		c->out.len = 0;
		c->outoff = 0;
		if (c->st == C_CLOSE) {
			conn_close(c);
			return;
		}
		if (c->st == C_DONE) {
			c->st = C_HEAD;
			conn_events(c);
			conn_parse(c);
			return;
		}
		if (c->st == C_STREAM && c->sk == S_LOGS && c->paused) {
			/* Paused at OUT_HIGH: go on from the cursor. */
			c->paused = 0;
			timer_use(&c->tm, logs_fire);
			timer_at(&c->tm, mono_ns());
		}
	}
	conn_events(c);
}

static void
conn_readable(struct conn *c)
{
	char	 tmp[65536];
	ssize_t	 n;

	for (;;) {
		n = recv(c->fd, tmp, sizeof(tmp), 0);
		if (n > 0) {
			if (c->st == C_HEAD || c->st == C_BODY)
				buf_add(&c->in, tmp, (size_t)n);
			/* else: a stream's client says nothing; dropped */
			if (c->in.len > HEAD_MAX + 4 * 1024 * 1024)
				break;	/* parse some before reading more */
			continue;
		}
		if (n == 0) {
			conn_gone(c);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		conn_gone(c);
		return;
	}
	if (c->st == C_HEAD || c->st == C_BODY)
		conn_parse(c);
}

/* Listen again after EMFILE (see engine_accept()). */
static void
accept_again(struct timer *t)
{
	struct engine		*e = container_of(t, struct engine, accept_tm);
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = e;
	epoll_ctl(g.ep, EPOLL_CTL_MOD, e->fd, &ev);
}

static void
engine_accept(struct engine *e)
{
	struct epoll_event	 ev;
	struct conn		*c;
	int			 fd;

	for (;;) {
		fd = accept4(e->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				/*
				 * NOTE: the pending connection keeps the
				 * socket readable: stop listening a while
				 * rather than spin.
				 */
				fprintf(stderr, SIM_NAME ": %s: accept: %s "
				    "(%llu connections open)\n", e->name,
				    strerror(errno), g.open_conns);
				memset(&ev, 0, sizeof(ev));
				ev.data.ptr = e;
				epoll_ctl(g.ep, EPOLL_CTL_MOD, e->fd, &ev);
				timer_at(&e->accept_tm, mono_ns() + 100000000LL);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK)
				fprintf(stderr, SIM_NAME ": %s: accept: %s\n",
				    e->name, strerror(errno));
			return;
		}
		c = xcalloc(1, sizeof(*c));
		c->kind = POLL_CONN;
		c->fd = fd;
		c->e = e;
		c->st = C_HEAD;
		c->route = -1;
		c->clen = -1;
		timer_init(&c->tm, conn_answer);
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(g.ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			fprintf(stderr, SIM_NAME ": epoll_ctl: %s\n",
			    strerror(errno));
			close(fd);
			free(c);
			continue;
		}
		c->events = EPOLLIN;
		g.accepted++;
		if (++g.open_conns > g.max_conns)
			g.max_conns = g.open_conns;
	}
}

/* --- start-up ----------------------------------------------------------------------------- */

static void
usage(FILE *f)
{
	fputs("usage: engine-sim --dir DIR --hosts N [--latency-ms MS] "
	    "[--log-rate BYTES_PER_S]\n"
	    "                  [--image REF ...] [--pull-seconds S] "
	    "[--stats FILE]\n"
	    "A Docker Engine API simulator for benchmarks (never a real "
	    "engine).\n", f);
}

static int
parse_num(const char *s, double lo, double hi, double *out)
{
	char	*end;

	errno = 0;
	*out = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && *out >= lo &&
	    *out <= hi ? 0 : -1;
}

/* The listening socket of e. Returns 0 or -1 (said on stderr). */
static int
engine_listen(struct engine *e)
{
	struct sockaddr_un	 sa;
	struct epoll_event	 ev;
	size_t			 n = strlen(g.dir) + 16;

	e->sockpath = xmalloc(n);
	snprintf(e->sockpath, n, "%s/%s.sock", g.dir, e->name);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(e->sockpath) >= sizeof(sa.sun_path)) {
		fprintf(stderr, SIM_NAME ": %s: a unix socket path has at most "
		    "%zu bytes: use a shorter --dir\n", e->sockpath,
		    sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, e->sockpath, strlen(e->sockpath) + 1);
	unlink(e->sockpath);
	e->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (e->fd < 0 || bind(e->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(e->fd, 4096) != 0) {
		fprintf(stderr, SIM_NAME ": %s: %s\n", e->sockpath,
		    strerror(errno));
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = e;
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, e->fd, &ev) != 0) {
		fprintf(stderr, SIM_NAME ": epoll_ctl: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * RLIMIT_NOFILE raised to its hard limit: each engine holds a listening
 * socket, and a fleet dispatcher thousands of connections.
 */
static void
raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		fprintf(stderr, SIM_NAME ": cannot raise RLIMIT_NOFILE: %s\n",
		    strerror(errno));
}

static void
kernel_version(void)
{
	FILE	*f = fopen("/proc/sys/kernel/osrelease", "r");
	size_t	 n;

	snprintf(g.kernel, sizeof(g.kernel), "unknown");
	if (f == NULL)
		return;
	if (fgets(g.kernel, sizeof(g.kernel), f) != NULL) {
		n = strlen(g.kernel);
		if (n > 0 && g.kernel[n - 1] == '\n')
			g.kernel[n - 1] = '\0';
	}
	fclose(f);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "dir",	  required_argument, NULL, 'd' },
		{ "hosts",	  required_argument, NULL, 'n' },
		{ "latency-ms",	  required_argument, NULL, 'l' },
		{ "log-rate",	  required_argument, NULL, 'r' },
		{ "image",	  required_argument, NULL, 'i' },
		{ "pull-seconds", required_argument, NULL, 'p' },
		{ "stats",	  required_argument, NULL, 's' },
		{ "help",	  no_argument,	     NULL, 'h' },
		{ NULL,		  0,		     NULL, 0 },
	};
	static int		 sigkind = POLL_SIGNAL;
	struct epoll_event	 evs[MAX_EVENTS], ev;
	struct signalfd_siginfo	 si;
	sigset_t		 mask;
	struct timer		*t;
	double			 v;
	long long		 now, wait;
	unsigned		 i, k;
	int			 ch, n, sfd, timeout, rc = 1;

	g.latency_ns = 5000000LL;
	g.pull_s = 2;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			g.dir = optarg;
			break;
		case 'n':
			if (parse_num(optarg, 1, 100000, &v) != 0 ||
			    v != (unsigned)v)
				goto bad;
			g.nhosts = (unsigned)v;
			break;
		case 'l':
			if (parse_num(optarg, 0, 600000, &v) != 0)
				goto bad;
			g.latency_ns = (long long)(v * 1e6);
			break;
		case 'r':
			if (parse_num(optarg, 0, 1e9, &v) != 0)
				goto bad;
			g.log_rate = v;
			break;
		case 'i':
			g.images = xrealloc(g.images, (g.nimages + 1) *
			    sizeof(*g.images));
			g.images[g.nimages++] = optarg;
			break;
		case 'p':
			if (parse_num(optarg, 0, 3600, &v) != 0)
				goto bad;
			g.pull_s = v;
			break;
		case 's':
			g.stats_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (optind != argc || g.dir == NULL || g.nhosts == 0) {
		usage(stderr);
		return 64;
	}
	g.line_ns = g.log_rate > 0 ? (long long)(LINE_BYTES * 1e9 /
	    g.log_rate) : 0;
	if (g.log_rate > 0 && g.line_ns == 0)
		g.line_ns = 1;
	g.started_ns = real_ns();
	kernel_version();
	raise_nofile();
	if (mkdir(g.dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, SIM_NAME ": %s: %s\n", g.dir, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
	    (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    (g.ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		fprintf(stderr, SIM_NAME ": %s\n", strerror(errno));
		return 1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &sigkind;
	epoll_ctl(g.ep, EPOLL_CTL_ADD, sfd, &ev);
	g.engines = xcalloc(g.nhosts, sizeof(*g.engines));
	for (i = 0; i < g.nhosts; i++) {
		struct engine	*e = &g.engines[i];

		e->kind = POLL_LISTENER;
		e->idx = i + 1;
		e->fd = -1;
		timer_init(&e->accept_tm, accept_again);
		snprintf(e->name, sizeof(e->name), "h%04u", i + 1);
		for (k = 0; k < g.nimages; k++)
			image_add(e, g.images[k]);
		if (engine_listen(e) != 0)
			goto out;
	}
	fprintf(stderr, SIM_NAME ": simulating %u Docker Engines (API "
	    SIM_API ") in %s, latency %.1f ms, log rate %.0f B/s\n",
	    g.nhosts, g.dir, (double)g.latency_ns / 1e6, g.log_rate);

	for (;;) {
		timeout = -1;
		if (heap.n > 0) {
			wait = heap.v[0]->when - mono_ns();
			timeout = wait <= 0 ? 0 : (int)((wait + 999999) /
			    1000000);
		}
		n = epoll_wait(g.ep, evs, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, SIM_NAME ": epoll_wait: %s\n",
			    strerror(errno));
			goto out;
		}
		for (k = 0; n > 0 && k < (unsigned)n; k++) {
			int	 kind = *(int *)evs[k].data.ptr;

			if (kind == POLL_SIGNAL) {
				while (read(sfd, &si, sizeof(si)) ==
				    (ssize_t)sizeof(si)) {
					if (si.ssi_signo == SIGUSR1) {
						stats_write();
						continue;
					}
					rc = 0;
					goto out;
				}
			} else if (kind == POLL_LISTENER) {
				engine_accept(evs[k].data.ptr);
			} else {
				struct conn	*c = evs[k].data.ptr;

				/* Closed earlier in this round: skipped. */
				if (c->dead)
					continue;
				if (evs[k].events & (EPOLLERR | EPOLLHUP) &&
				    !(evs[k].events & EPOLLIN)) {
					conn_gone(c);
					continue;
				}
				if (evs[k].events & EPOLLIN)
					conn_readable(c);
				if (!c->dead && evs[k].events & EPOLLOUT)
					conn_flush(c);
			}
		}
		now = mono_ns();
		while (heap.n > 0 && heap.v[0]->when <= now) {
			t = heap.v[0];
			timer_cancel(t);
			t->fire(t);
		}
		conn_reap();
	}
out:
	stats_write();
	for (i = 0; g.engines != NULL && i < g.nhosts; i++)
		if (g.engines[i].sockpath != NULL)
			unlink(g.engines[i].sockpath);
	return rc;
	/* NOTE: the process ends here; the kernel takes back the rest. */
bad:
	fprintf(stderr, SIM_NAME ": bad value `%s' for --%s\n", optarg,
	    longopts[ch == 'n' ? 1 : ch == 'l' ? 2 : ch == 'r' ? 3 : 5].name);
	return 64;
}

/*
 * engine.c: the asynchronous Docker Engine API client (engine.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "engine.h"
#include "util.h"

#define ERRBODY_MAX	(64 * 1024)		/* error bodies kept */
#define IN_MAX		(32 * 1024 * 1024)	/* answers kept whole */

enum { CALL_NEW, CALL_QUEUED, CALL_RUNNING, CALL_DONE };

struct etimer {
	unsigned long	 id;
	long long	 due;		/* eloop_now_ms() */
	etimer_fn	 fn;
	void		*arg;
	long long	 tag;
	struct etimer	*next;
};

/*
 * The loop: libcurl's multi interface driven by its socket API over epoll,
 * so a turn costs what is active, not every connection (thousands of log
 * follows and event streams stay open and quiet).
 */
struct eloop {
	CURLM		*multi;
	int		 epfd;
	long long	 curl_due;	/* libcurl's timeout (eloop_now_ms()),
					   -1 when none */
	struct etimer	*timers;	/* by due time */
	unsigned long	 timer_ids;
	size_t		 pending;	/* calls queued or running */
	unsigned long	 ended;		/* calls ended */
	struct ecall	*finished;	/* ended, done() not yet run */
	struct ecall	**cancelled;	/* running calls given up */
	size_t		 ncancelled;
	struct engine	*engines;	/* every engine */
	size_t		 queued;	/* calls waiting in all queues */
};

struct engine {
	struct eloop	*el;
	char		*endpoint;	/* as registered, for messages */
	char		*base;		/* "http://localhost", "https://h:p" */
	char		*sock;		/* unix socket path or NULL */
	char		*ca, *cert, *key;
	long		 connect_s;
	long		 call_s;
	unsigned	 limit;
	unsigned	 inflight;	/* running, not streams */
	struct ecall	*queue, *queue_tail;	/* waiting, in order */
	size_t		 nqueued;
	struct ecall	*running;	/* running calls (streams too) */
	struct engine	*next;
};

/* --- time and timers ---------------------------------------------------------- */

/* See engine.h. */
long long
eloop_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* See engine.h. */
unsigned long
eloop_timer(struct eloop *el, long delay_ms, etimer_fn fn, void *arg,
    long long tag)
{
	struct etimer	*t, **pp;

	t = xcalloc(1, sizeof(*t));
	t->id = ++el->timer_ids;
	t->due = eloop_now_ms() + (delay_ms > 0 ? delay_ms : 0);
	t->fn = fn;
	t->arg = arg;
	t->tag = tag;
	for (pp = &el->timers; *pp != NULL && (*pp)->due <= t->due;
	    pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	return t->id;
}

/* See engine.h. */
void
eloop_timer_cancel(struct eloop *el, unsigned long id)
{
	struct etimer	*t, **pp;

	for (pp = &el->timers; (t = *pp) != NULL; pp = &t->next)
		if (t->id == id) {
			*pp = t->next;
			free(t);
			return;
		}
}

/* Fire the timers that are due. Returns how many. */
static int
timers_fire(struct eloop *el)
{
	struct etimer	*t;
	long long	 now = eloop_now_ms();
	int		 n = 0;

	while ((t = el->timers) != NULL && t->due <= now) {
		el->timers = t->next;
		t->fn(t->arg, t->tag);
		free(t);
		n++;
	}
	return n;
}

/* --- the loop ----------------------------------------------------------------- */

/* libcurl: watch socket s for what (or no more). */
static int
on_socket(CURL *easy, curl_socket_t s, int what, void *arg, void *sockp)
{
	struct eloop		*el = arg;
	struct epoll_event	 ev;

	(void)easy;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(el->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) |
	    ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
	ev.data.fd = s;
	if (epoll_ctl(el->epfd, EPOLL_CTL_MOD, s, &ev) == -1 &&
	    (errno != ENOENT || epoll_ctl(el->epfd, EPOLL_CTL_ADD, s,
	    &ev) == -1))
		return -1;
	return 0;
}

/* libcurl: call back in timeout_ms (-1: no timer). */
static int
on_timer(CURLM *multi, long timeout_ms, void *arg)
{
	struct eloop	*el = arg;

	(void)multi;
	el->curl_due = timeout_ms < 0 ? -1 : eloop_now_ms() + timeout_ms;
	return 0;
}

/* See engine.h. */
struct eloop *
eloop_new(void)
{
	struct eloop	*el;

	el = xcalloc(1, sizeof(*el));
	el->curl_due = -1;
	if ((el->multi = curl_multi_init()) == NULL ||
	    (el->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		abort();
	curl_multi_setopt(el->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(el->multi, CURLMOPT_SOCKETDATA, el);
	curl_multi_setopt(el->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(el->multi, CURLMOPT_TIMERDATA, el);
	return el;
}

/* See engine.h. */
void
eloop_free(struct eloop *el)
{
	struct etimer	*t;

	if (el == NULL)
		return;
	while ((t = el->timers) != NULL) {
		el->timers = t->next;
		free(t);
	}
	curl_multi_cleanup(el->multi);
	close(el->epfd);
	free(el->cancelled);
	free(el);
}

/* See engine.h. */
unsigned long
eloop_calls(const struct eloop *el)
{
	return el->ended;
}

/* See engine.h. */
size_t
eloop_pending(const struct eloop *el)
{
	return el->pending;
}

static void	 call_start(struct engine *e, struct ecall *c);
static void	 call_end(struct ecall *c, CURLcode cc);

/* Start what the limits allow, host by host. */
static void
pump(struct eloop *el)
{
	struct engine	*e;
	struct ecall	*c;

	if (el->queued == 0)
		return;
	for (e = el->engines; e != NULL; e = e->next) {
		while ((c = e->queue) != NULL &&
		    (c->stream || e->inflight < e->limit)) {
			e->queue = c->next;
			if (e->queue == NULL)
				e->queue_tail = NULL;
			e->nqueued--;
			el->queued--;
			c->next = NULL;
			call_start(e, c);
		}
	}
}

/* Run done() of every finished call. Returns how many. */
static int
finished_run(struct eloop *el)
{
	struct ecall	*c;
	int		 n = 0;

	while ((c = el->finished) != NULL) {
		el->finished = c->next;
		c->next = NULL;
		n++;
		if (c->done != NULL)
			c->done(c);
	}
	return n;
}

/* Queue c to have its done() run (its transfer is over). */
static void
finish_later(struct ecall *c)
{
	struct eloop	*el = c->eng->el;
	struct ecall	**pp;

	c->state = CALL_DONE;
	el->pending--;
	el->ended++;
	for (pp = &el->finished; *pp != NULL; pp = &(*pp)->next)
		;
	c->next = NULL;
	*pp = c;
}

/* Unlink a running call from its engine's running list. */
static void
running_unlink(struct ecall *c)
{
	struct engine	*e = c->eng;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		e->running = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	if (!c->stream)
		e->inflight--;
}

/* Cancelled running calls are removed from the multi here. */
static void
cancelled_reap(struct eloop *el)
{
	/* call_end() takes each out of the list. */
	while (el->ncancelled > 0)
		call_end(el->cancelled[el->ncancelled - 1],
		    CURLE_ABORTED_BY_CALLBACK);
}

/* Read what libcurl finished. */
static void
info_read(struct eloop *el)
{
	CURLMsg		*m;
	struct ecall	*c;
	int		 left;

	while ((m = curl_multi_info_read(el->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		c = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
		if (c != NULL)
			call_end(c, m->data.result);
	}
}

/* See engine.h. */
int
eloop_run(struct eloop *el, long max_ms)
{
	struct epoll_event	 ev[256];
	long long		 now;
	long			 wait = max_ms;
	int			 running, i, k, n = 0;

	pump(el);
	now = eloop_now_ms();
	if (el->finished != NULL)
		wait = 0;
	if (el->timers != NULL && el->timers->due - now < wait)
		wait = (long)(el->timers->due - now);
	if (el->curl_due >= 0 && el->curl_due - now < wait)
		wait = (long)(el->curl_due - now);
	if (wait < 0)
		wait = 0;
	k = epoll_wait(el->epfd, ev, (int)(sizeof(ev) / sizeof(ev[0])),
	    (int)wait);
	for (i = 0; i < k; i++)
		curl_multi_socket_action(el->multi, ev[i].data.fd,
		    ((ev[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
		    ((ev[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
		    ((ev[i].events & (EPOLLERR | EPOLLHUP)) ?
		    CURL_CSELECT_ERR : 0), &running);
	if (el->curl_due >= 0 && eloop_now_ms() >= el->curl_due) {
		el->curl_due = -1;
		curl_multi_socket_action(el->multi, CURL_SOCKET_TIMEOUT, 0,
		    &running);
	}
	info_read(el);
	cancelled_reap(el);
	n += finished_run(el);
	n += timers_fire(el);
	n += finished_run(el);
	pump(el);
	return n;
}

/* --- engines ------------------------------------------------------------------ */

static unsigned long	 engine_names;	/* engines made (their host names) */

/* See engine.h. */
struct engine *
engine_new(struct eloop *el, const char *endpoint, const char *tls_ca,
    const char *tls_cert, const char *tls_key, unsigned limit, char *err,
    size_t errlen)
{
	struct engine	*e;
	int		 ntls;

	ntls = (tls_ca != NULL && *tls_ca != '\0') +
	    (tls_cert != NULL && *tls_cert != '\0') +
	    (tls_key != NULL && *tls_key != '\0');
	e = xcalloc(1, sizeof(*e));
	e->el = el;
	e->endpoint = xstrdup(endpoint);
	e->connect_s = 5;
	e->call_s = 60;
	e->limit = limit > 0 ? limit : 1;
	if (strncmp(endpoint, "unix://", 7) == 0 && endpoint[7] == '/') {
		if (ntls != 0) {
			snprintf(err, errlen, "%s: TLS files apply to tcp:// "
			    "endpoints only", endpoint);
			goto err;
		}
		e->sock = xstrdup(endpoint + 7);
		/*
		 * NOTE: libcurl keeps its connections by host name, so every
		 * unix socket under "localhost" would share one bundle that
		 * each new request walks (and polls): a name of its own per
		 * engine keeps that to the engine's own connections. The
		 * engine never resolves it nor looks at it.
		 */
		e->base = xasprintf("http://engine-%lu.localhost",
		    ++engine_names);
	} else if (strncmp(endpoint, "tcp://", 6) == 0 &&
	    endpoint[6] != '\0' && strchr(endpoint + 6, '/') == NULL) {
		if (ntls != 0 && ntls != 3) {
			snprintf(err, errlen, "%s: the TLS CA, certificate "
			    "and key go together", endpoint);
			goto err;
		}
		if (ntls == 3) {
			e->ca = xstrdup(tls_ca);
			e->cert = xstrdup(tls_cert);
			e->key = xstrdup(tls_key);
		}
		e->base = xasprintf("%s://%s", ntls ? "https" : "http",
		    endpoint + 6);
	} else {
		snprintf(err, errlen, "%s: not a Docker endpoint "
		    "(unix:///PATH or tcp://HOST:PORT)", endpoint);
		goto err;
	}
	e->next = el->engines;
	el->engines = e;
	return e;
err:
	free(e->endpoint);
	free(e->sock);
	free(e->base);
	free(e->ca);
	free(e->cert);
	free(e->key);
	free(e);
	return NULL;
}

/* See engine.h. */
void
engine_free(struct engine *e)
{
	struct engine	**pp;
	struct ecall	*c;

	if (e == NULL)
		return;
	/* Every call ends now, cancelled; their done() run here. */
	while ((c = e->queue) != NULL) {
		e->queue = c->next;
		e->nqueued--;
		e->el->queued--;
		c->next = NULL;
		c->cancelled = 1;
		c->rc = DOCKER_CANCELLED;
		snprintf(c->err, sizeof(c->err), "%s: cancelled", e->endpoint);
		finish_later(c);
	}
	e->queue_tail = NULL;
	while ((c = e->running) != NULL) {
		c->cancelled = 1;	/* not the host's failure */
		call_end(c, CURLE_ABORTED_BY_CALLBACK);
	}
	/* The finished list may hold calls of other engines: run them all. */
	finished_run(e->el);
	for (pp = &e->el->engines; *pp != NULL; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	free(e->endpoint);
	free(e->base);
	free(e->sock);
	free(e->ca);
	free(e->cert);
	free(e->key);
	free(e);
}

/* See engine.h. */
const char *
engine_endpoint(const struct engine *e)
{
	return e->endpoint;
}

/* See engine.h. */
void
engine_set_timeouts(struct engine *e, long connect_s, long call_s)
{
	e->connect_s = connect_s;
	e->call_s = call_s;
}

/* See engine.h. */
unsigned
engine_inflight(const struct engine *e)
{
	return e->inflight;
}

/* See engine.h. */
size_t
engine_queued(const struct engine *e)
{
	return e->nqueued;
}

/* --- calls -------------------------------------------------------------------- */

/* See engine.h. */
struct ecall *
ecall_new(const char *method, const char *fmt, ...)
{
	struct ecall	*c;
	va_list		 ap;
	char		*path;

	c = xcalloc(1, sizeof(*c));
	snprintf(c->method, sizeof(c->method), "%s", method);
	va_start(ap, fmt);
	if (vasprintf(&path, fmt, ap) == -1)
		abort();
	va_end(ap);
	c->path = path;
	c->source_size = -1;
	c->sinking = -1;
	return c;
}

/* See engine.h. */
void
ecall_json(struct ecall *c, const char *json)
{
	free(c->body);
	c->body = xstrdup(json);
	c->bodylen = strlen(json);
	c->ctype = "application/json";
}

/* See engine.h. */
void
ecall_free(struct ecall *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->body);
	free(c->src);
	if (c->registry_auth != NULL) {
		explicit_bzero(c->registry_auth, strlen(c->registry_auth));
		free(c->registry_auth);
	}
	docker_buf_free(&c->in);
	free(c);
}

/* See engine.h. */
char *
engine_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char	*out, *o;

	out = o = xmalloc(strlen(s) * 3 + 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~')
			*o++ = (char)c;
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/* curl write callback: the body goes to the sink (2xx) or into c->in. */
static size_t
on_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct ecall	*c = arg;
	size_t		 n = size * nmemb, max;
	long		 code = 0;

	if (c->cancelled)
		return 0;
	if (c->sinking < 0) {
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
		c->sinking = c->sink != NULL && code >= 200 && code < 300;
		c->status = code;
	}
	c->bytes_in += (long long)n;
	if (c->sinking) {
		if (c->sink(c, p, n) != 0) {
			c->sink_failed = 1;
			return 0;
		}
		return n;
	}
	max = c->status >= 400 || c->status < 200 ? ERRBODY_MAX :
	    (c->max_in > 0 ? c->max_in : IN_MAX);
	if (c->in.len + n > max) {
		if (max == ERRBODY_MAX)
			return n;	/* keep the head of an error body */
		c->sink_failed = 1;
		return 0;
	}
	docker_buf_add(&c->in, p, n);
	return n;
}

/* curl read callback: the upload body from the source. */
static size_t
on_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct ecall	*c = arg;
	long		 got;

	if (c->cancelled)
		return CURL_READFUNC_ABORT;
	got = c->source(c, buf, size * nitems);
	if (got < 0) {
		c->source_failed = 1;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)got;
}

/* Configure an easy handle for c on e and add it to the multi. */
static void
call_start(struct engine *e, struct ecall *c)
{
	CURL	*h;
	char	*url, *hv;
	long	 timeout;

	if ((h = curl_easy_init()) == NULL)
		abort();
	c->easy = h;
	c->state = CALL_RUNNING;
	c->next = e->running;
	c->prev = NULL;
	if (e->running != NULL)
		e->running->prev = c;
	e->running = c;
	if (!c->stream)
		e->inflight++;

	url = xasprintf("%s%s", e->base, c->path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)c);
	if (e->sock != NULL)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, e->sock);
	if (e->ca != NULL) {
		curl_easy_setopt(h, CURLOPT_CAINFO, e->ca);
		curl_easy_setopt(h, CURLOPT_SSLCERT, e->cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, e->key);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, e->connect_s);
	timeout = c->timeout_s > 0 ? c->timeout_s : c->timeout_s < 0 ? 0 :
	    e->call_s;
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	if (c->low_speed_s > 0) {
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, c->low_speed_bps);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->low_speed_s);
	}
	if (c->fresh) {
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	}
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->cerr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	c->hdrs = curl_slist_append(c->hdrs, "Expect:");
	if (c->ctype != NULL) {
		hv = xasprintf("Content-Type: %s", c->ctype);
		c->hdrs = curl_slist_append(c->hdrs, hv);
		free(hv);
	}
	if (c->registry_auth != NULL) {
		hv = xasprintf("X-Registry-Auth: %s", c->registry_auth);
		c->hdrs = curl_slist_append(c->hdrs, hv);
		explicit_bzero(hv, strlen(hv));
		free(hv);
	}
	if (c->source != NULL) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, c);
		if (c->source_size >= 0)
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
			    (curl_off_t)c->source_size);
		else
			c->hdrs = curl_slist_append(c->hdrs,
			    "Transfer-Encoding: chunked");
	} else if (strcmp(c->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS,
		    c->body != NULL ? c->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(c->body != NULL ? c->bodylen : 0));
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->hdrs);
	if (strcmp(c->method, "GET") != 0 && strcmp(c->method, "POST") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
	if (curl_multi_add_handle(e->el->multi, h) != CURLM_OK)
		abort();
}

/*
 * The "message" of an engine's error body, else the body itself when it
 * is short printable text, else "".
 */
static void
error_message(const struct docker_buf *b, char *out, size_t outlen)
{
	cJSON		*j = NULL;
	const cJSON	*m;
	size_t		 i;

	out[0] = '\0';
	if (b->len == 0)
		return;
	if ((j = cJSON_ParseWithLength(b->data, b->len)) != NULL &&
	    cJSON_IsString(m = cJSON_GetObjectItemCaseSensitive(j,
	    "message")) && m->valuestring != NULL) {
		snprintf(out, outlen, "%s", m->valuestring);
		cJSON_Delete(j);
	} else {
		cJSON_Delete(j);
		snprintf(out, outlen, "%.*s", (int)(b->len > 300 ? 300 :
		    b->len), b->data);
	}
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	i = strlen(out);
	while (i > 0 && out[i - 1] == ' ')
		out[--i] = '\0';
}

/*
 * The transfer of running call c ended with cc: remove it from the multi,
 * set its result, and queue its done().
 */
static void
call_end(struct ecall *c, CURLcode cc)
{
	struct engine	*e = c->eng;
	char		 msg[700], what[300];
	long		 code = 0;
	size_t		 i;

	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
	if (c->cancelled) {
		/* Out of the list of calls to reap: it ends now. */
		for (i = 0; i < e->el->ncancelled; i++)
			if (e->el->cancelled[i] == c) {
				e->el->cancelled[i] =
				    e->el->cancelled[--e->el->ncancelled];
				break;
			}
	}
	curl_multi_remove_handle(e->el->multi, c->easy);
	curl_easy_cleanup(c->easy);
	c->easy = NULL;
	curl_slist_free_all(c->hdrs);
	c->hdrs = NULL;
	running_unlink(c);
	c->status = code;
	c->timed_out = cc == CURLE_OPERATION_TIMEDOUT;
	snprintf(what, sizeof(what), "%s %.200s", c->method, c->path);
	c->msg[0] = '\0';
	if (c->cancelled) {
		c->rc = DOCKER_CANCELLED;
		snprintf(c->err, sizeof(c->err), "%s on %s: cancelled", what,
		    e->endpoint);
		snprintf(c->msg, sizeof(c->msg), "cancelled");
	} else if (c->source_failed) {
		/* A source's own reason (a shard missing) is for users. */
		c->rc = DOCKER_ERROR;
		snprintf(c->msg, sizeof(c->msg), "%.690s", c->err[0] != '\0' ?
		    c->err : "the upload could not be read");
		if (c->err[0] == '\0')
			snprintf(c->err, sizeof(c->err), "%s on %s: the "
			    "upload could not be read", what, e->endpoint);
	} else if (cc != CURLE_OK && !(c->sink_failed && code >= 200)) {
		snprintf(c->err, sizeof(c->err), "cannot reach %s (%s): %s",
		    e->endpoint, what, c->cerr[0] != '\0' ? c->cerr :
		    curl_easy_strerror(cc));
		snprintf(c->msg, sizeof(c->msg), "%s",
		    cc == CURLE_OPERATION_TIMEDOUT ? "the host did not answer "
		    "in time" : "the host could not be reached");
		c->rc = DOCKER_UNREACHABLE;
	} else if (c->sink_failed) {
		snprintf(c->msg, sizeof(c->msg), "%.690s", c->err[0] != '\0' ?
		    c->err : "the answer was too large or unreadable");
		if (c->err[0] == '\0')
			snprintf(c->err, sizeof(c->err), "%s on %s: the "
			    "answer was refused (too large or unreadable)",
			    what, e->endpoint);
		c->rc = DOCKER_ERROR;
	} else if (code >= 400) {
		error_message(&c->in, msg, sizeof(msg));
		snprintf(c->err, sizeof(c->err), "HTTP %ld from %s on %s%s%s",
		    code, what, e->endpoint, msg[0] != '\0' ? ": " : "", msg);
		if (msg[0] != '\0')
			snprintf(c->msg, sizeof(c->msg), "%s", msg);
		else
			snprintf(c->msg, sizeof(c->msg), "the host answered "
			    "HTTP %ld", code);
		c->rc = code == 404 ? DOCKER_NOT_FOUND :
		    code == 409 ? DOCKER_CONFLICT : DOCKER_ERROR;
	} else
		c->rc = DOCKER_OK;
	finish_later(c);
}

/* See engine.h. */
void
engine_submit(struct engine *e, struct ecall *c)
{
	struct ecall	**pp;

	c->eng = e;
	c->state = CALL_QUEUED;
	c->rc = DOCKER_OK;
	c->timed_out = 0;
	c->err[0] = '\0';
	c->next = NULL;
	if (c->urgent) {
		/* After the urgent calls queued already, before the rest. */
		for (pp = &e->queue; *pp != NULL && (*pp)->urgent;
		    pp = &(*pp)->next)
			;
		c->next = *pp;
		*pp = c;
		if (c->next == NULL)
			e->queue_tail = c;
	} else {
		if (e->queue_tail != NULL)
			e->queue_tail->next = c;
		else
			e->queue = c;
		e->queue_tail = c;
	}
	e->nqueued++;
	e->el->queued++;
	e->el->pending++;
}

/* See engine.h. */
void
ecall_cancel(struct ecall *c)
{
	struct engine	*e = c->eng;
	struct ecall	**pp, *prev = NULL;

	if (c->cancelled || c->state == CALL_DONE)
		return;
	c->cancelled = 1;
	if (c->state != CALL_QUEUED) {
		/* Running: reaped by the loop, outside libcurl's callbacks. */
		e->el->cancelled = xrealloc(e->el->cancelled,
		    (e->el->ncancelled + 1) * sizeof(*e->el->cancelled));
		e->el->cancelled[e->el->ncancelled++] = c;
		return;
	}
	for (pp = &e->queue; *pp != NULL; prev = *pp, pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			if (e->queue_tail == c)
				e->queue_tail = prev;
			e->nqueued--;
			e->el->queued--;
			break;
		}
	c->rc = DOCKER_CANCELLED;
	snprintf(c->err, sizeof(c->err), "%s %.200s on %s: cancelled",
	    c->method, c->path, e->endpoint);
	finish_later(c);
}

/* The done() of a synchronous call: mark it. */
static void
sync_done(struct ecall *c)
{
	*c->sync_over = 1;
}

/* See engine.h. */
int
engine_call_sync(struct engine *e, struct ecall *c)
{
	ecall_done_fn	 done = c->done;
	int		 over = 0;

	c->done = sync_done;
	c->sync_over = &over;
	engine_submit(e, c);
	while (!over)
		eloop_run(e->el, 1000);
	c->done = done;
	c->sync_over = NULL;
	return c->rc;
}

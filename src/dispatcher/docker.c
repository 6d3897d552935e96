/*
 * docker.c: the calls of the Docker Engine API (v1.41) the dispatcher
 * makes, as requests for engine.h's loop, and a small synchronous client
 * on the same code for tools and tests.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "docker.h"
#include "engine.h"
#include "util.h"

#define API		"/v" DOCKER_API_VERSION

/* A filters={"KEY":[VALUE]} query value, escaped (new string). */
static char *
filter(const char *key, const char *value)
{
	cJSON	*f, *a;
	char	*s, *e;

	f = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(f, key);
	cJSON_AddItemToArray(a, cJSON_CreateString(value));
	if ((s = cJSON_PrintUnformatted(f)) == NULL)
		abort();
	cJSON_Delete(f);
	e = engine_escape(s);
	free(s);
	return e;
}

/* A call on /containers/{name}SUFFIX. */
static struct ecall *
on_container(const char *method, const char *name, const char *suffix)
{
	struct ecall	*c;
	char		*e;

	e = engine_escape(name);
	c = ecall_new(method, API "/containers/%s%s", e, suffix);
	free(e);
	return c;
}

/* See docker.h. */
struct ecall *
dk_ping(void)
{
	return ecall_new("GET", API "/_ping");
}

/* See docker.h. */
struct ecall *
dk_version(void)
{
	return ecall_new("GET", "/version");
}

/* See docker.h. */
struct ecall *
dk_list(const char *label)
{
	struct ecall	*c;
	char		*f;

	f = filter("label", label);
	c = ecall_new("GET", API "/containers/json?all=1&filters=%s", f);
	free(f);
	return c;
}

/* See docker.h. */
struct ecall *
dk_inspect(const char *name)
{
	return on_container("GET", name, "/json");
}

/* See docker.h. */
struct ecall *
dk_create(const char *name, const char *body)
{
	struct ecall	*c;
	char		*e;

	e = engine_escape(name);
	c = ecall_new("POST", API "/containers/create?name=%s", e);
	free(e);
	ecall_json(c, body);
	return c;
}

/* See docker.h. */
struct ecall *
dk_start(const char *name)
{
	return on_container("POST", name, "/start");
}

/* See docker.h. */
struct ecall *
dk_kill(const char *name, const char *sig)
{
	struct ecall	*c;
	char		*q, *es;

	es = engine_escape(sig);
	q = xasprintf("/kill?signal=%s", es);
	c = on_container("POST", name, q);
	free(q);
	free(es);
	return c;
}

/* See docker.h. */
struct ecall *
dk_remove(const char *name)
{
	return on_container("DELETE", name, "?force=1&v=1");
}

/* An archive call of name at path. */
static struct ecall *
archive(const char *method, const char *name, const char *path)
{
	struct ecall	*c;
	char		*q, *ep;

	ep = engine_escape(path);
	q = xasprintf("/archive?path=%s", ep);
	c = on_container(method, name, q);
	free(q);
	free(ep);
	return c;
}

/* See docker.h. */
struct ecall *
dk_archive_put(const char *name, const char *path)
{
	struct ecall	*c;

	c = archive("PUT", name, path);
	c->ctype = "application/x-tar";
	return c;
}

/* See docker.h. */
struct ecall *
dk_archive_get(const char *name, const char *path)
{
	return archive("GET", name, path);
}

/* See docker.h. */
struct ecall *
dk_logs(const char *name, long long since_ns, int follow)
{
	struct ecall	*c;
	char		*q;

	if (since_ns < 0)
		since_ns = 0;
	q = xasprintf("/logs?stdout=1&stderr=1&timestamps=1&follow=%d"
	    "&since=%lld.%09lld", follow ? 1 : 0, since_ns / 1000000000LL,
	    since_ns % 1000000000LL);
	c = on_container("GET", name, q);
	free(q);
	return c;
}

/* See docker.h. */
struct ecall *
dk_events(const char *label, long long since_s)
{
	static const char *const actions[] = { "die", "oom" };
	struct ecall	*c;
	cJSON		*f, *a;
	char		*s, *e;
	size_t		 i;

	f = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(f, "type");
	cJSON_AddItemToArray(a, cJSON_CreateString("container"));
	a = cJSON_AddArrayToObject(f, "label");
	cJSON_AddItemToArray(a, cJSON_CreateString(label));
	a = cJSON_AddArrayToObject(f, "event");
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(actions[i]));
	if ((s = cJSON_PrintUnformatted(f)) == NULL)
		abort();
	cJSON_Delete(f);
	e = engine_escape(s);
	free(s);
	if (since_s > 0)
		c = ecall_new("GET", API "/events?filters=%s&since=%lld", e,
		    since_s);
	else
		c = ecall_new("GET", API "/events?filters=%s", e);
	free(e);
	c->stream = 1;
	c->timeout_s = -1;
	return c;
}

/* See docker.h. */
struct ecall *
dk_image_inspect(const char *ref)
{
	struct ecall	*c;
	char		*e;

	e = engine_escape(ref);
	c = ecall_new("GET", API "/images/%s/json", e);
	free(e);
	return c;
}

/* See docker.h. */
struct ecall *
dk_pull(const char *image, const char *tag)
{
	struct ecall	*c;
	char		*ei, *et;

	ei = engine_escape(image);
	et = engine_escape(tag);
	c = ecall_new("POST", API "/images/create?fromImage=%s&tag=%s", ei,
	    et);
	free(ei);
	free(et);
	c->stream = 1;
	return c;
}

/* See docker.h. */
struct ecall *
dk_volume_create(const char *name, const char *labels)
{
	struct ecall	*c;
	cJSON		*o, *l;
	char		*s;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "Name", name);
	cJSON_AddStringToObject(o, "Driver", "local");
	if (labels != NULL && (l = cJSON_Parse(labels)) != NULL)
		cJSON_AddItemToObject(o, "Labels", l);
	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		abort();
	cJSON_Delete(o);
	c = ecall_new("POST", API "/volumes/create");
	ecall_json(c, s);
	free(s);
	return c;
}

/* See docker.h. */
struct ecall *
dk_volume_remove(const char *name)
{
	struct ecall	*c;
	char		*e;

	e = engine_escape(name);
	c = ecall_new("DELETE", API "/volumes/%s", e);
	free(e);
	return c;
}

/* See docker.h. */
struct ecall *
dk_volume_list(const char *label)
{
	struct ecall	*c;
	char		*f;

	f = filter("label", label);
	c = ecall_new("GET", API "/volumes?filters=%s", f);
	free(f);
	return c;
}

/* --- the synchronous client --------------------------------------------------- */

struct docker {
	struct eloop	*el;
	struct engine	*eng;
	char		 err[1024];
};

/* See docker.h. */
struct docker *
docker_new(const char *endpoint, const char *tls_ca, const char *tls_cert,
    const char *tls_key, char *err, size_t errlen)
{
	struct docker	*d;

	d = xcalloc(1, sizeof(*d));
	d->el = eloop_new();
	if ((d->eng = engine_new(d->el, endpoint, tls_ca, tls_cert, tls_key,
	    1, err, errlen)) == NULL) {
		eloop_free(d->el);
		free(d);
		return NULL;
	}
	return d;
}

/* See docker.h. */
void
docker_free(struct docker *d)
{
	if (d == NULL)
		return;
	engine_free(d->eng);
	eloop_free(d->el);
	free(d);
}

/* See docker.h. */
const char *
docker_error(const struct docker *d)
{
	return d->err;
}

/* See docker.h. */
void
docker_set_timeouts(struct docker *d, long connect_s, long call_s)
{
	engine_set_timeouts(d->eng, connect_s, call_s);
}

/* See docker.h. */
int
docker_ping(struct docker *d)
{
	struct ecall	*c = dk_ping();
	int		 rc;

	rc = engine_call_sync(d->eng, c);
	snprintf(d->err, sizeof(d->err), "%s", c->err);
	if (rc == DOCKER_OK && (c->in.len != 2 ||
	    memcmp(c->in.data, "OK", 2) != 0)) {
		snprintf(d->err, sizeof(d->err), "GET /_ping on %s: the "
		    "answer is not OK", engine_endpoint(d->eng));
		rc = DOCKER_ERROR;
	}
	ecall_free(c);
	return rc;
}

/* The state of a synchronous pull's stream. */
struct spull {
	struct docker_pull_progress	 pp;
	struct docker_buf		 line;
	void				(*first)(void *);
	void				*arg;
};

static void
spull_line(void *arg, const char *p, size_t n)
{
	docker_pull_line(arg, p, n);
}

static int
spull_sink(struct ecall *c, const char *p, size_t n)
{
	struct spull	*sp = c->arg;

	if (sp->first != NULL) {
		sp->first(sp->arg);
		sp->first = NULL;
	}
	docker_lines_feed(&sp->line, p, n, 1024 * 1024, spull_line, &sp->pp);
	return 0;
}

/* See docker.h. */
int
docker_pull(struct docker *d, const char *image, const char *tag,
    const char *auth, long timeout_s, void (*first)(void *), void *arg)
{
	struct ecall	*c;
	struct spull	 sp;
	int		 rc;

	memset(&sp, 0, sizeof(sp));
	sp.first = first;
	sp.arg = arg;
	c = dk_pull(image, tag);
	c->sink = spull_sink;
	c->arg = &sp;
	c->timeout_s = timeout_s;
	if (auth != NULL)
		c->registry_auth = xstrdup(auth);
	rc = engine_call_sync(d->eng, c);
	if (sp.line.len > 0)
		docker_pull_line(&sp.pp, sp.line.data, sp.line.len);
	snprintf(d->err, sizeof(d->err), "%s", c->err);
	if (rc == DOCKER_OK && sp.pp.failed) {
		snprintf(d->err, sizeof(d->err), "pulling %s:%s: %s", image,
		    tag, sp.pp.msg);
		rc = DOCKER_ERROR;
	}
	docker_pull_progress_free(&sp.pp);
	docker_buf_free(&sp.line);
	ecall_free(c);
	return rc;
}

/*
 * docker.c: the Docker Engine API client (API v1.41) on libcurl, and the
 * parsers of the engine's answers.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "docker.h"
#include "util.h"

#define API		"/v" DOCKER_API_VERSION
#define ERRBODY_MAX	(64 * 1024)		/* error bodies kept */
#define JSON_MAX	(32 * 1024 * 1024)	/* answers parsed whole */
#define PULL_LINE_MAX	(1024 * 1024)
#define TIMEOUT_PULL	900L
#define TIMEOUT_ARCHIVE	600L

struct docker {
	CURL	*curl;
	char	*endpoint;	/* as registered, for messages */
	char	*base;		/* "http://localhost", "https://h:p" */
	char	*sock;		/* unix socket path or NULL */
	char	*ca, *cert, *key;
	long	 connect_s;
	long	 call_s;
	char	 err[1024];
};

/* One request; what is not set is not used. */
struct req {
	const char	*method;
	const char	*path;		/* with the query string */
	const char	*body;		/* request body (POST) */
	size_t		 bodylen;
	const char	*ctype;		/* its Content-Type */
	FILE		*in;		/* PUT body read from here */
	long long	 insize;
	long		 timeout;	/* 0: the client's default */
	/* Response body of a 2xx answer, when set; else kept in resp. */
	int		(*sink)(void *arg, const char *p, size_t n);
	void		*sinkarg;
};

/* The state of one transfer seen by the write callback. */
struct xfer {
	struct docker		*d;
	const struct req	*r;
	struct docker_buf	*resp;
	int			 sinking;	/* -1 unknown, 0 no, 1 yes */
	int			 sink_failed;
	size_t			 max;
};

/* See docker.h. */
struct docker *
docker_new(const char *endpoint, const char *tls_ca, const char *tls_cert,
    const char *tls_key, char *err, size_t errlen)
{
	struct docker	*d = NULL;
	int		 ntls;

	ntls = (tls_ca != NULL && *tls_ca != '\0') +
	    (tls_cert != NULL && *tls_cert != '\0') +
	    (tls_key != NULL && *tls_key != '\0');
	d = xcalloc(1, sizeof(*d));
	d->endpoint = xstrdup(endpoint);
	d->connect_s = 5;
	d->call_s = 30;
	if (strncmp(endpoint, "unix://", 7) == 0 && endpoint[7] == '/') {
		if (ntls != 0) {
			snprintf(err, errlen, "%s: TLS files apply to tcp:// "
			    "endpoints only", endpoint);
			goto err;
		}
		d->sock = xstrdup(endpoint + 7);
		d->base = xstrdup("http://localhost");
	} else if (strncmp(endpoint, "tcp://", 6) == 0 &&
	    endpoint[6] != '\0' && strchr(endpoint + 6, '/') == NULL) {
		if (ntls != 0 && ntls != 3) {
			snprintf(err, errlen, "%s: the TLS CA, certificate "
			    "and key go together", endpoint);
			goto err;
		}
		if (ntls == 3) {
			d->ca = xstrdup(tls_ca);
			d->cert = xstrdup(tls_cert);
			d->key = xstrdup(tls_key);
		}
		d->base = xasprintf("%s://%s", ntls ? "https" : "http",
		    endpoint + 6);
	} else {
		snprintf(err, errlen, "%s: not a Docker endpoint "
		    "(unix:///PATH or tcp://HOST:PORT)", endpoint);
		goto err;
	}
	if ((d->curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "%s: libcurl cannot start", endpoint);
		goto err;
	}
	return d;
err:
	docker_free(d);
	return NULL;
}

/* See docker.h. */
void
docker_free(struct docker *d)
{
	if (d == NULL)
		return;
	if (d->curl != NULL)
		curl_easy_cleanup(d->curl);
	free(d->endpoint);
	free(d->base);
	free(d->sock);
	free(d->ca);
	free(d->cert);
	free(d->key);
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
	d->connect_s = connect_s;
	d->call_s = call_s;
}

/*
 * Escape s for a URL path or query value: everything but unreserved
 * characters and those of keep is %-encoded. Returns a new string.
 */
static char *
url_escape(const char *s, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";
	char	*out, *o;

	out = o = xmalloc(strlen(s) * 3 + 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~' || (keep != NULL && strchr(keep, c) != NULL))
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

/* curl write callback: the body goes to the sink (2xx) or into resp. */
static size_t
on_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nmemb;
	long		 code = 0;

	if (x->sinking < 0) {
		curl_easy_getinfo(x->d->curl, CURLINFO_RESPONSE_CODE, &code);
		x->sinking = x->r->sink != NULL && code >= 200 && code < 300;
	}
	if (x->sinking) {
		if (x->r->sink(x->r->sinkarg, p, n) != 0) {
			x->sink_failed = 1;
			return 0;
		}
		return n;
	}
	if (x->resp->len + n > x->max) {
		if (x->max == ERRBODY_MAX)
			return n;	/* keep the head of an error body */
		x->sink_failed = 1;
		return 0;
	}
	docker_buf_add(x->resp, p, n);
	return n;
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
 * Perform one request. On success *status is the HTTP status and resp
 * (when the sink is not used) holds the body, at most max bytes. Returns
 * DOCKER_OK for 1xx-3xx answers; 404 NOT_FOUND, 409 CONFLICT, other >= 400
 * ERROR, transport failures UNREACHABLE, with d->err set.
 */
static int
request(struct docker *d, const struct req *r, long *status,
    struct docker_buf *resp, size_t max)
{
	struct curl_slist	*hdrs = NULL;
	struct xfer		 x;
	char			*url = NULL, msg[700];
	char			 cerr[CURL_ERROR_SIZE];
	CURLcode		 cc;
	long			 code = 0;
	int			 rc = DOCKER_ERROR;

	d->err[0] = '\0';
	*status = 0;
	memset(&x, 0, sizeof(x));
	x.d = d;
	x.r = r;
	x.resp = resp;
	x.sinking = -1;
	x.max = max;
	cerr[0] = '\0';

	curl_easy_reset(d->curl);
	url = xasprintf("%s%s", d->base, r->path);
	curl_easy_setopt(d->curl, CURLOPT_URL, url);
	if (d->sock != NULL)
		curl_easy_setopt(d->curl, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	if (d->ca != NULL) {
		curl_easy_setopt(d->curl, CURLOPT_CAINFO, d->ca);
		curl_easy_setopt(d->curl, CURLOPT_SSLCERT, d->cert);
		curl_easy_setopt(d->curl, CURLOPT_SSLKEY, d->key);
		curl_easy_setopt(d->curl, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(d->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	curl_easy_setopt(d->curl, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(d->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(d->curl, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(d->curl, CURLOPT_CONNECTTIMEOUT, d->connect_s);
	curl_easy_setopt(d->curl, CURLOPT_TIMEOUT,
	    r->timeout > 0 ? r->timeout : d->call_s);
	curl_easy_setopt(d->curl, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, &x);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (r->ctype != NULL) {
		char *h = xasprintf("Content-Type: %s", r->ctype);

		hdrs = curl_slist_append(hdrs, h);
		free(h);
	}
	curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, hdrs);

	if (r->in != NULL) {
		curl_easy_setopt(d->curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(d->curl, CURLOPT_READDATA, r->in);
		curl_easy_setopt(d->curl, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)r->insize);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(d->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(d->curl, CURLOPT_POSTFIELDS,
		    r->body != NULL ? r->body : "");
		curl_easy_setopt(d->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(r->body != NULL ? r->bodylen : 0));
	}
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "POST") != 0)
		curl_easy_setopt(d->curl, CURLOPT_CUSTOMREQUEST, r->method);

	cc = curl_easy_perform(d->curl);
	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &code);
	*status = code;
	if (cc != CURLE_OK && !(x.sink_failed && code >= 200)) {
		snprintf(d->err, sizeof(d->err), "cannot reach %s (%s %s): %s",
		    d->endpoint, r->method, r->path,
		    cerr[0] != '\0' ? cerr : curl_easy_strerror(cc));
		rc = DOCKER_UNREACHABLE;
		goto out;
	}
	if (x.sink_failed) {
		snprintf(d->err, sizeof(d->err), "%s %s on %s: the answer "
		    "was refused (too large or unreadable)", r->method,
		    r->path, d->endpoint);
		rc = DOCKER_ERROR;
		goto out;
	}
	if (code >= 400) {
		error_message(resp, msg, sizeof(msg));
		snprintf(d->err, sizeof(d->err), "HTTP %ld from %s %s on %s%s%s",
		    code, r->method, r->path, d->endpoint,
		    msg[0] != '\0' ? ": " : "", msg);
		rc = code == 404 ? DOCKER_NOT_FOUND :
		    code == 409 ? DOCKER_CONFLICT : DOCKER_ERROR;
		goto out;
	}
	rc = DOCKER_OK;
out:
	curl_slist_free_all(hdrs);
	free(url);
	return rc;
}

/*
 * A request whose answer is small: the body is kept in resp (caller
 * frees it). Returns an enum docker_rc.
 */
static int
simple(struct docker *d, const char *method, const char *path,
    const char *body, struct docker_buf *resp)
{
	struct req	 r;
	long		 status;

	memset(&r, 0, sizeof(r));
	r.method = method;
	r.path = path;
	if (body != NULL) {
		r.body = body;
		r.bodylen = strlen(body);
		r.ctype = "application/json";
	}
	return request(d, &r, &status, resp, JSON_MAX);
}

/* Parse resp as JSON into *out; a parse failure is DOCKER_ERROR. */
static int
parse_json(struct docker *d, const char *what, const struct docker_buf *b,
    cJSON **out)
{
	*out = NULL;
	if (b->len == 0 ||
	    (*out = cJSON_ParseWithLength(b->data, b->len)) == NULL) {
		snprintf(d->err, sizeof(d->err), "%s on %s: the answer is not "
		    "JSON", what, d->endpoint);
		return DOCKER_ERROR;
	}
	return DOCKER_OK;
}

/* See docker.h. */
int
docker_ping(struct docker *d)
{
	struct docker_buf	 b = { 0 };
	int			 rc;

	if ((rc = simple(d, "GET", API "/_ping", NULL, &b)) == DOCKER_OK &&
	    (b.len != 2 || memcmp(b.data, "OK", 2) != 0)) {
		snprintf(d->err, sizeof(d->err), "GET /_ping on %s: the "
		    "answer is not OK", d->endpoint);
		rc = DOCKER_ERROR;
	}
	docker_buf_free(&b);
	return rc;
}

/* "1.41" -> 1041; -1 when malformed. */
static long
api_number(const char *s)
{
	unsigned long long	 maj, min;
	const char		*dot;
	char			 tmp[16];

	if (s == NULL || (dot = strchr(s, '.')) == NULL ||
	    (size_t)(dot - s) >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, (size_t)(dot - s));
	tmp[dot - s] = '\0';
	if (util_parse_u64(tmp, 1000, &maj) != 0 ||
	    util_parse_u64(dot + 1, 999, &min) != 0)
		return -1;
	return (long)(maj * 1000 + min);
}

/* See docker.h. */
int
docker_version(struct docker *d, char *version, size_t len)
{
	struct docker_buf	 b = { 0 };
	cJSON			*j = NULL;
	const cJSON		*api, *minapi, *ver;
	long			 want = api_number(DOCKER_API_VERSION);
	int			 rc;

	if (version != NULL && len > 0)
		version[0] = '\0';
	if ((rc = simple(d, "GET", "/version", NULL, &b)) != DOCKER_OK)
		goto out;
	if ((rc = parse_json(d, "GET /version", &b, &j)) != DOCKER_OK)
		goto out;
	api = cJSON_GetObjectItemCaseSensitive(j, "ApiVersion");
	minapi = cJSON_GetObjectItemCaseSensitive(j, "MinAPIVersion");
	ver = cJSON_GetObjectItemCaseSensitive(j, "Version");
	if (version != NULL && cJSON_IsString(ver))
		snprintf(version, len, "%s", ver->valuestring);
	if (!cJSON_IsString(api) || api_number(api->valuestring) < want) {
		snprintf(d->err, sizeof(d->err), "%s speaks Docker API %s; "
		    "%s or newer is needed", d->endpoint, cJSON_IsString(api) ?
		    api->valuestring : "(unknown)", DOCKER_API_VERSION);
		rc = DOCKER_ERROR;
		goto out;
	}
	if (cJSON_IsString(minapi) && (api_number(minapi->valuestring) < 0 ||
	    api_number(minapi->valuestring) > want)) {
		snprintf(d->err, sizeof(d->err), "%s no longer speaks Docker "
		    "API %s (minimum %s)", d->endpoint, DOCKER_API_VERSION,
		    minapi->valuestring);
		rc = DOCKER_ERROR;
		goto out;
	}
out:
	cJSON_Delete(j);
	docker_buf_free(&b);
	return rc;
}

/* See docker.h. */
int
docker_info(struct docker *d, cJSON **out)
{
	struct docker_buf	 b = { 0 };
	int			 rc;

	*out = NULL;
	if ((rc = simple(d, "GET", API "/info", NULL, &b)) == DOCKER_OK)
		rc = parse_json(d, "GET /info", &b, out);
	docker_buf_free(&b);
	return rc;
}

/* See docker.h. */
int
docker_image_inspect(struct docker *d, const char *ref)
{
	struct docker_buf	 b = { 0 };
	char			*e, *path;
	int			 rc;

	e = url_escape(ref, "/:@");
	path = xasprintf(API "/images/%s/json", e);
	rc = simple(d, "GET", path, NULL, &b);
	free(path);
	free(e);
	docker_buf_free(&b);
	return rc;
}

/* The state of a pull stream being read line by line. */
struct pull {
	struct docker_buf	 line;
	char			 msg[512];
	int			 failed;
};

/* Pull sink: complete lines are checked for an error. */
static int
pull_sink(void *arg, const char *p, size_t n)
{
	struct pull	*pl = arg;
	char		*nl;
	size_t		 used;

	docker_buf_add(&pl->line, p, n);
	while ((nl = memchr(pl->line.data, '\n', pl->line.len)) != NULL) {
		used = (size_t)(nl - pl->line.data) + 1;
		if (!pl->failed && docker_parse_pull(pl->line.data, used,
		    pl->msg, sizeof(pl->msg)) != 0)
			pl->failed = 1;
		docker_buf_drop(&pl->line, used);
	}
	if (pl->line.len > PULL_LINE_MAX)
		docker_buf_drop(&pl->line, pl->line.len);
	return 0;
}

/* See docker.h. */
int
docker_image_pull(struct docker *d, const char *image, const char *tag)
{
	struct docker_buf	 b = { 0 };
	struct pull		 pl;
	struct req		 r;
	char			*ei = NULL, *et = NULL, *path = NULL;
	long			 status;
	int			 rc;

	memset(&pl, 0, sizeof(pl));
	ei = url_escape(image, NULL);
	et = url_escape(tag, NULL);
	path = xasprintf(API "/images/create?fromImage=%s&tag=%s", ei, et);
	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.path = path;
	r.timeout = TIMEOUT_PULL;
	r.sink = pull_sink;
	r.sinkarg = &pl;
	rc = request(d, &r, &status, &b, ERRBODY_MAX);
	if (rc == DOCKER_OK && !pl.failed && pl.line.len > 0 &&
	    docker_parse_pull(pl.line.data, pl.line.len, pl.msg,
	    sizeof(pl.msg)) != 0)
		pl.failed = 1;
	if (rc == DOCKER_OK && pl.failed) {
		snprintf(d->err, sizeof(d->err), "pulling %s:%s on %s: %s",
		    image, tag, d->endpoint, pl.msg);
		rc = DOCKER_ERROR;
	}
	docker_buf_free(&pl.line);
	docker_buf_free(&b);
	free(path);
	free(et);
	free(ei);
	return rc;
}

/* See docker.h. */
int
docker_create(struct docker *d, const char *name, const char *body,
    char *id, size_t idlen)
{
	struct docker_buf	 b = { 0 };
	cJSON			*j = NULL;
	const cJSON		*jid;
	char			*e, *path;
	int			 rc;

	id[0] = '\0';
	e = url_escape(name, NULL);
	path = xasprintf(API "/containers/create?name=%s", e);
	if ((rc = simple(d, "POST", path, body, &b)) != DOCKER_OK)
		goto out;
	if ((rc = parse_json(d, "POST /containers/create", &b, &j)) !=
	    DOCKER_OK)
		goto out;
	jid = cJSON_GetObjectItemCaseSensitive(j, "Id");
	if (!cJSON_IsString(jid) || strlen(jid->valuestring) >= idlen ||
	    jid->valuestring[0] == '\0') {
		snprintf(d->err, sizeof(d->err), "POST /containers/create on "
		    "%s: the answer has no Id", d->endpoint);
		rc = DOCKER_ERROR;
		goto out;
	}
	snprintf(id, idlen, "%s", jid->valuestring);
out:
	cJSON_Delete(j);
	free(path);
	free(e);
	docker_buf_free(&b);
	return rc;
}

/* The archive endpoint of container id at path (malloc'd). */
static char *
archive_url(const char *id, const char *path)
{
	char	*ei, *ep, *url;

	ei = url_escape(id, NULL);
	ep = url_escape(path, NULL);
	url = xasprintf(API "/containers/%s/archive?path=%s", ei, ep);
	free(ep);
	free(ei);
	return url;
}

/* See docker.h. */
int
docker_archive_put(struct docker *d, const char *id, const char *path,
    FILE *f, long long size)
{
	struct docker_buf	 b = { 0 };
	struct req		 r;
	char			*url;
	long			 status;
	int			 rc;

	url = archive_url(id, path);
	memset(&r, 0, sizeof(r));
	r.method = "PUT";
	r.path = url;
	r.in = f;
	r.insize = size;
	r.ctype = "application/x-tar";
	r.timeout = TIMEOUT_ARCHIVE;
	rc = request(d, &r, &status, &b, ERRBODY_MAX);
	free(url);
	docker_buf_free(&b);
	return rc;
}

/* Where an archive being fetched goes. */
struct fsink {
	FILE		*f;
	long long	 n;
	long long	 max;
};

static int
file_sink(void *arg, const char *p, size_t n)
{
	struct fsink	*fs = arg;

	if (fs->n + (long long)n > fs->max)
		return -1;
	if (n > 0 && fwrite(p, 1, n, fs->f) != n)
		return -1;
	fs->n += (long long)n;
	return 0;
}

/* See docker.h. */
int
docker_archive_get(struct docker *d, const char *id, const char *path,
    FILE *f, long long max)
{
	struct docker_buf	 b = { 0 };
	struct fsink		 fs = { f, 0, max };
	struct req		 r;
	char			*url;
	long			 status;
	int			 rc;

	url = archive_url(id, path);
	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.path = url;
	r.timeout = TIMEOUT_ARCHIVE;
	r.sink = file_sink;
	r.sinkarg = &fs;
	rc = request(d, &r, &status, &b, ERRBODY_MAX);
	if (rc == DOCKER_OK && fflush(f) != 0) {
		snprintf(d->err, sizeof(d->err), "GET %s on %s: cannot write "
		    "the archive: %s", url, d->endpoint, strerror(errno));
		rc = DOCKER_ERROR;
	}
	free(url);
	docker_buf_free(&b);
	return rc;
}

/* POST path with an empty body; 304 (nothing to do) is success. */
static int
post_empty(struct docker *d, const char *path)
{
	struct docker_buf	 b = { 0 };
	int			 rc;

	rc = simple(d, "POST", path, NULL, &b);
	docker_buf_free(&b);
	return rc;
}

/* See docker.h. */
int
docker_start(struct docker *d, const char *id)
{
	char	*e, *path;
	int	 rc;

	e = url_escape(id, NULL);
	path = xasprintf(API "/containers/%s/start", e);
	rc = post_empty(d, path);
	free(path);
	free(e);
	return rc;
}

/* See docker.h. */
int
docker_inspect(struct docker *d, const char *id, struct docker_state *st)
{
	struct docker_buf	 b = { 0 };
	char			*e, *path;
	int			 rc;

	e = url_escape(id, NULL);
	path = xasprintf(API "/containers/%s/json", e);
	if ((rc = simple(d, "GET", path, NULL, &b)) == DOCKER_OK &&
	    docker_parse_inspect(b.data, b.len, st) != 0) {
		snprintf(d->err, sizeof(d->err), "GET %s on %s: the answer "
		    "is not a container", path, d->endpoint);
		rc = DOCKER_ERROR;
	}
	free(path);
	free(e);
	docker_buf_free(&b);
	return rc;
}

static int
demux_sink(void *arg, const char *p, size_t n)
{
	docker_demux_feed(arg, p, n);
	return 0;
}

/* See docker.h. */
int
docker_logs(struct docker *d, const char *id, size_t max,
    struct docker_buf *out)
{
	struct docker_buf	 b = { 0 };
	struct docker_demux	 dm;
	struct req		 r;
	char			*e, *path;
	long			 status;
	int			 rc;

	out->len = 0;
	docker_buf_add(out, "", 0);
	docker_demux_init(&dm, max, out);
	e = url_escape(id, NULL);
	path = xasprintf(API "/containers/%s/logs?stdout=1&stderr=1", e);
	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.path = path;
	r.timeout = 120;
	r.sink = demux_sink;
	r.sinkarg = &dm;
	rc = request(d, &r, &status, &b, ERRBODY_MAX);
	free(path);
	free(e);
	docker_buf_free(&b);
	return rc;
}

/* See docker.h. */
int
docker_kill(struct docker *d, const char *id, const char *sig)
{
	char	*e, *es, *path;
	int	 rc;

	e = url_escape(id, NULL);
	es = url_escape(sig, NULL);
	path = xasprintf(API "/containers/%s/kill?signal=%s", e, es);
	rc = post_empty(d, path);
	free(path);
	free(es);
	free(e);
	return rc;
}

/* See docker.h. */
int
docker_remove(struct docker *d, const char *id)
{
	struct docker_buf	 b = { 0 };
	char			*e, *path;
	int			 rc;

	e = url_escape(id, NULL);
	path = xasprintf(API "/containers/%s?force=1&v=1", e);
	rc = simple(d, "DELETE", path, NULL, &b);
	if (rc == DOCKER_NOT_FOUND) {
		rc = DOCKER_OK;
		d->err[0] = '\0';
	}
	free(path);
	free(e);
	docker_buf_free(&b);
	return rc;
}

/* See docker.h. */
int
docker_list(struct docker *d, const char *label,
    struct docker_container **out, size_t *n)
{
	struct docker_buf	 b = { 0 };
	cJSON			*j = NULL, *filt = NULL, *arr;
	const cJSON		*c, *f, *names, *labels;
	char			*fs = NULL, *e = NULL, *path = NULL;
	size_t			 i = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	filt = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(filt, "label");
	cJSON_AddItemToArray(arr, cJSON_CreateString(label));
	if ((fs = cJSON_PrintUnformatted(filt)) == NULL)
		abort();
	e = url_escape(fs, NULL);
	path = xasprintf(API "/containers/json?all=1&filters=%s", e);
	if ((rc = simple(d, "GET", path, NULL, &b)) != DOCKER_OK)
		goto out;
	if ((rc = parse_json(d, "GET /containers/json", &b, &j)) != DOCKER_OK)
		goto out;
	if (!cJSON_IsArray(j)) {
		snprintf(d->err, sizeof(d->err), "GET /containers/json on %s: "
		    "the answer is not an array", d->endpoint);
		rc = DOCKER_ERROR;
		goto out;
	}
	*out = xcalloc((size_t)cJSON_GetArraySize(j) + 1, sizeof(**out));
	cJSON_ArrayForEach(c, j) {
		struct docker_container *dc = &(*out)[i];

		if (cJSON_IsString(f = cJSON_GetObjectItemCaseSensitive(c,
		    "Id")))
			snprintf(dc->id, sizeof(dc->id), "%s", f->valuestring);
		if (cJSON_IsString(f = cJSON_GetObjectItemCaseSensitive(c,
		    "State")))
			snprintf(dc->state, sizeof(dc->state), "%s",
			    f->valuestring);
		names = cJSON_GetObjectItemCaseSensitive(c, "Names");
		if (cJSON_IsArray(names) && cJSON_IsString(f =
		    cJSON_GetArrayItem(names, 0)))
			snprintf(dc->name, sizeof(dc->name), "%s",
			    f->valuestring[0] == '/' ? f->valuestring + 1 :
			    f->valuestring);
		labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
		if (cJSON_IsString(f = cJSON_GetObjectItemCaseSensitive(labels,
		    "singularity.job")))
			snprintf(dc->job, sizeof(dc->job), "%s",
			    f->valuestring);
		if (dc->id[0] != '\0')
			i++;
	}
	*n = i;
out:
	cJSON_Delete(j);
	cJSON_Delete(filt);
	free(fs);
	free(e);
	free(path);
	docker_buf_free(&b);
	return rc;
}


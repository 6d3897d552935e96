/*
 * http.c: one request parsed from the CGI environment, and its response.
 *
 * Parsing is a pure function of the environment (the FastCGI params carry the
 * same variables as CGI, RFC 3875), so it is unit tested and fuzzed without a
 * server. Every value that comes from the client is length-checked before it
 * is looked at and refused when it holds a control byte. The response goes out
 * CGI style: a "Status:" line, header lines, a blank line, the body; the web
 * server turns that into the HTTP status line.
 *
 * NOTE: this file does not include config.h, so that the fuzz targets can
 * compile it with clang alone.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "auth.h"
#include "http.h"
#include "util.h"

/* Methods by bit, in the order http_methods_str() lists them. */
static const struct {
	enum http_method	 bit;
	const char		*name;
} methods[] = {
	{ HTTP_GET,	"GET" },
	{ HTTP_HEAD,	"HEAD" },
	{ HTTP_POST,	"POST" },
	{ HTTP_PUT,	"PUT" },
	{ HTTP_DELETE,	"DELETE" },
	{ HTTP_PATCH,	"PATCH" },
	{ HTTP_OPTIONS,	"OPTIONS" },
};

/* A control byte: C0 or DEL. Bytes >= 0x80 are left to the router. */
static int
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Whether n bytes of s hold a control byte. */
static int
has_ctl(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (is_ctl((unsigned char)s[i]))
			return 1;
	return 0;
}

/* RFC 9110 5.6.2 tchar: the bytes a method or header name may hold. */
static int
is_tchar(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Whether s is a non-empty token of at most max bytes. */
static int
is_token(const char *s, size_t max)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || !is_tchar((unsigned char)s[i]))
			return 0;
	return i > 0;
}

/*
 * Value of name in the NULL-terminated "NAME=VALUE" array envp, or NULL.
 * The first occurrence wins.
 */
const char *
http_getenv(char **envp, const char *name)
{
	size_t	 n;

	if (envp == NULL || name == NULL)
		return NULL;
	n = strlen(name);
	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* The variables http_parse() reads, gathered in one pass over envp. */
enum env_var {
	V_METHOD, V_URI, V_SCRIPT_NAME, V_PATH_INFO, V_QUERY, V_HTTPS,
	V_CONTENT_LENGTH, V_APIKEY, V_SIGNATURE, V_TIMESTAMP, V_IF_NONE_MATCH,
	V_IDEMPOTENCY_KEY, V_RANGE, V_IF_RANGE, V_REMOTE_ADDR, V__MAX
};

static const struct {
	const char	*name;
	size_t		 len;
} env_vars[V__MAX] = {
#define ENV_VAR(s)	{ s, sizeof(s) - 1 }
	[V_METHOD] =		ENV_VAR("REQUEST_METHOD"),
	[V_URI] =		ENV_VAR("REQUEST_URI"),
	[V_SCRIPT_NAME] =	ENV_VAR("SCRIPT_NAME"),
	[V_PATH_INFO] =		ENV_VAR("PATH_INFO"),
	[V_QUERY] =		ENV_VAR("QUERY_STRING"),
	[V_HTTPS] =		ENV_VAR("HTTPS"),
	[V_CONTENT_LENGTH] =	ENV_VAR("CONTENT_LENGTH"),
	[V_APIKEY] =		ENV_VAR("HTTP_X_SINGULARITY_APIKEY"),
	[V_SIGNATURE] =		ENV_VAR("HTTP_X_SINGULARITY_SIGNATURE"),
	[V_TIMESTAMP] =		ENV_VAR("HTTP_X_SINGULARITY_TIMESTAMP"),
	[V_IF_NONE_MATCH] =	ENV_VAR("HTTP_IF_NONE_MATCH"),
	[V_IDEMPOTENCY_KEY] =	ENV_VAR("HTTP_IDEMPOTENCY_KEY"),
	[V_RANGE] =		ENV_VAR("HTTP_RANGE"),
	[V_IF_RANGE] =		ENV_VAR("HTTP_IF_RANGE"),
	[V_REMOTE_ADDR] =	ENV_VAR("REMOTE_ADDR"),
#undef ENV_VAR
};

/*
 * Fill v[] with the values of env_vars[] in envp (NULL when absent), the
 * first occurrence winning as in http_getenv(). NOTE: one pass with a length
 * check before any compare: a per-name http_getenv() walk was a fifth of the
 * cost of answering /ping.
 */
static void
gather_env(char **envp, const char *v[V__MAX])
{
	const char	*eq;
	size_t		 i, n;

	for (i = 0; i < V__MAX; i++)
		v[i] = NULL;
	for (; envp != NULL && *envp != NULL; envp++) {
		if ((eq = strchr(*envp, '=')) == NULL)
			continue;
		n = (size_t)(eq - *envp);
		for (i = 0; i < V__MAX; i++)
			if (n == env_vars[i].len && v[i] == NULL &&
			    memcmp(*envp, env_vars[i].name, n) == 0) {
				v[i] = eq + 1;
				break;
			}
	}
}

/* Method bit of s (case-sensitive, RFC 9110 9.1); HTTP_OTHER otherwise. */
enum http_method
http_method_from_str(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return HTTP_OTHER;
	for (i = 0; i < NITEMS(methods); i++)
		if (strcmp(s, methods[i].name) == 0)
			return methods[i].bit;
	return HTTP_OTHER;
}

/*
 * Comma-separated method names of mask for an Allow header, "" for none.
 * Returns a static buffer overwritten by the next call.
 */
const char *
http_methods_str(unsigned mask)
{
	static char	 buf[64];
	size_t		 i, len = 0;
	int		 n;

	buf[0] = '\0';
	for (i = 0; i < NITEMS(methods); i++) {
		if (!(mask & methods[i].bit))
			continue;
		n = snprintf(buf + len, sizeof(buf) - len, "%s%s",
		    len > 0 ? ", " : "", methods[i].name);
		if (n < 0 || (size_t)n >= sizeof(buf) - len)
			break;
		len += (size_t)n;
	}
	return buf;
}

/*
 * Check a header value v: absent (NULL) leaves *out NULL and returns 0; a
 * value longer than HTTP_MAX_HEADER is 431, one with a control byte 400.
 */
static int
parse_header(const char *v, const char **out)
{
	size_t		 len;

	*out = NULL;
	if (v == NULL)
		return 0;
	len = strnlen(v, HTTP_MAX_HEADER + 1);
	if (len > HTTP_MAX_HEADER)
		return 431;
	if (has_ctl(v, len))
		return 400;
	*out = v;
	return 0;
}

/*
 * The path of uri (plen bytes before any '?') with base_path removed when it
 * is a prefix ending at a segment boundary: base "/api" strips "/api/ping"
 * and "/api", not "/apiary". A trailing '/' of base_path is ignored. The
 * result is never empty ("/" at least). Returns a new string.
 */
static char *
strip_base(const char *uri, size_t plen, const char *base_path)
{
	size_t	 blen;

	blen = base_path == NULL ? 0 : strlen(base_path);
	while (blen > 0 && base_path[blen - 1] == '/')
		blen--;
	if (blen > 0 && plen >= blen && memcmp(uri, base_path, blen) == 0 &&
	    (plen == blen || uri[blen] == '/')) {
		uri += blen;
		plen -= blen;
	}
	if (plen == 0)
		return xstrdup("/");
	return xasprintf("%.*s", (int)plen, uri);
}

/*
 * REQUEST_URI is what the client sent and signed. A CGI server that does not
 * pass it (it is not in RFC 3875) gets it rebuilt from SCRIPT_NAME, PATH_INFO
 * and QUERY_STRING; NOTE: those are decoded by the server, so a client that
 * percent-encoded its path will not match its signature there.
 * Sets *out (owned by the environment or r->uri_buf) and returns 0, or returns 400 when
 * there is nothing to build it from, 414 when the parts are too long.
 */
static int
request_uri(struct http_req *r, const char *v[V__MAX], const char **out)
{
	const char	*sn, *pi, *qs;

	if ((*out = v[V_URI]) != NULL)
		return 0;
	sn = v[V_SCRIPT_NAME];
	pi = v[V_PATH_INFO];
	qs = v[V_QUERY];
	if (sn == NULL && pi == NULL)
		return 400;
	if (sn == NULL)
		sn = "";
	if (pi == NULL)
		pi = "";
	if (qs == NULL)
		qs = "";
	/* Bounded before anything is allocated. */
	if (strnlen(sn, HTTP_MAX_URI + 1) + strnlen(pi, HTTP_MAX_URI + 1) +
	    strnlen(qs, HTTP_MAX_URI + 1) + 1 > HTTP_MAX_URI)
		return 414;
	r->uri_buf = xasprintf("%s%s%s%s", sn, pi, *qs != '\0' ? "?" : "", qs);
	*out = r->uri_buf;
	return 0;
}

/*
 * Parse the request environment into *r; see http.h. The checks run in a
 * fixed order (method, URI, headers, CONTENT_LENGTH) and the first failure
 * is returned; the fields parsed before it stay set for the error answer and
 * the access log, and none holds a control byte.
 */
int
http_parse(struct http_req *r, char **envp, const char *base_path)
{
	static const enum env_var hdrs[] = {
		V_APIKEY, V_SIGNATURE, V_TIMESTAMP, V_IF_NONE_MATCH,
		V_IDEMPOTENCY_KEY, V_RANGE, V_IF_RANGE, V_REMOTE_ADDR,
	};
	const char	**slots[NITEMS(hdrs)];
	const char	 *v[V__MAX];
	const char	 *method, *uri, *q, *https, *cl;
	size_t		  i, len, plen;
	int		  rc;

	memset(r, 0, sizeof(*r));
	r->envp = envp;
	r->query = "";
	util_uuid(r->request_id);
	gather_env(envp, v);

	/* Method: a token (RFC 9110 9.1). */
	method = v[V_METHOD];
	if (method == NULL || !is_token(method, 32))
		return 400;
	r->method_str = method;
	r->method = http_method_from_str(method);
	r->head_only = r->method == HTTP_HEAD;

	/* URI: origin form only ("/path[?query]"). */
	if ((rc = request_uri(r, v, &uri)) != 0)
		return rc;
	len = strnlen(uri, HTTP_MAX_URI + 1);
	if (len > HTTP_MAX_URI)
		return 414;
	if (len == 0 || uri[0] != '/' || has_ctl(uri, len))
		return 400;
	r->uri = uri;
	if ((q = strchr(uri, '?')) != NULL) {
		plen = (size_t)(q - uri);
		r->query = q + 1;
	} else
		plen = len;
	r->path = strip_base(uri, plen, base_path);

	/* HTTPS: set by the server, "on" (RFC 3875 practice) or "1". */
	https = v[V_HTTPS];
	r->https = https != NULL &&
	    (strcasecmp(https, "on") == 0 || strcmp(https, "1") == 0);

	slots[0] = &r->h_apikey;
	slots[1] = &r->h_signature;
	slots[2] = &r->h_timestamp;
	slots[3] = &r->h_if_none_match;
	slots[4] = &r->h_idempotency_key;
	slots[5] = &r->h_range;
	slots[6] = &r->h_if_range;
	slots[7] = &r->remote_addr;
	for (i = 0; i < NITEMS(hdrs); i++)
		if ((rc = parse_header(v[hdrs[i]], slots[i])) != 0)
			return rc;

	/*
	 * CONTENT_LENGTH: digits only. Absent or empty (nginx passes an
	 * empty value for a request without body) means no body.
	 */
	cl = v[V_CONTENT_LENGTH];
	if (cl != NULL && *cl != '\0' &&
	    util_parse_u64(cl, ULLONG_MAX, &r->content_length) == -1)
		return 400;
	return 0;
}

/* Free everything *r owns and leave it zeroed (envp is not owned). */
void
http_req_free(struct http_req *r)
{
	if (r == NULL)
		return;
	free(r->uri_buf);
	free(r->path);
	free(r->param_buf);
	free(r->body);
	free(r->account_name);
	free(r->api_key);
	free(r->headers);
	free(r->capture);
	auth_hmac_free(r->hmac);
	EVP_MD_CTX_free(r->body_sha);
	memset(r, 0, sizeof(*r));
}

/*
 * Read from the backend, bounded by what CONTENT_LENGTH leaves, and feed the
 * bytes to r->hmac and r->body_sha. A backend reporting end of input early
 * is a truncated body: -1, so that a streaming handler never takes it for
 * the whole body.
 */
ssize_t
http_read(struct http_req *r, void *buf, size_t n)
{
	unsigned long long	 left;
	ssize_t			 got;

	if (r->body_read >= r->content_length || n == 0)
		return 0;
	left = r->content_length - r->body_read;
	if (n > left)
		n = (size_t)left;
	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	if (r->io.read == NULL)
		return -1;
	got = r->io.read(r->io.arg, buf, n);
	if (got <= 0 || (size_t)got > n)
		return -1;
	if (r->hmac != NULL && auth_hmac_update(r->hmac, buf, (size_t)got) == -1)
		return -1;
	if (r->body_sha != NULL &&
	    EVP_DigestUpdate(r->body_sha, buf, (size_t)got) != 1)
		return -1;
	r->body_read += (unsigned long long)got;
	return got;
}

/*
 * Read the rest of the body into r->body (owned, NUL-terminated, body_len
 * bytes). Returns 0, or -1 when it is too large to allocate, truncated or
 * the read failed.
 */
int
http_read_body(struct http_req *r)
{
	size_t	 len;
	ssize_t	 got;

	if (r->body != NULL)
		return 0;
	if (r->content_length >= SIZE_MAX || r->body_read != 0)
		return -1;
	len = (size_t)r->content_length;
	r->body = xmalloc(len + 1);
	r->body_len = 0;
	while (r->body_len < len) {
		got = http_read(r, r->body + r->body_len, len - r->body_len);
		if (got <= 0) {
			free(r->body);
			r->body = NULL;
			r->body_len = 0;
			return -1;
		}
		r->body_len += (size_t)got;
	}
	r->body[len] = '\0';
	return 0;
}

/* See http.h. */
void
http_capture(struct http_req *r, size_t max)
{
	if (max == 0) {
		free(r->capture);
		r->capture = NULL;
	}
	r->capture_len = 0;
	r->capture_max = max;
	r->capture_overflow = 0;
}

/* Append n body bytes to the capture, or mark it overflowed. */
static void
capture_append(struct http_req *r, const void *p, size_t n)
{
	if (r->capture_max == 0 || r->capture_overflow || n == 0)
		return;
	if (n > r->capture_max - r->capture_len) {
		r->capture_overflow = 1;
		free(r->capture);
		r->capture = NULL;
		r->capture_len = 0;
		return;
	}
	r->capture = xrealloc(r->capture, r->capture_len + n + 1);
	memcpy(r->capture + r->capture_len, p, n);
	r->capture_len += n;
	r->capture[r->capture_len] = '\0';
}

/*
 * See http.h. The extra headers are "Name: value\r\n" lines built by
 * http_add_header(), so a line is split at its first ':'.
 */
char *
http_response_header(const struct http_req *r, const char *name)
{
	size_t		 off = 0, nlen = strlen(name), llen;
	const char	*line, *eol, *v;

	while (off < r->headers_len) {
		line = r->headers + off;
		eol = memchr(line, '\n', r->headers_len - off);
		llen = eol == NULL ? r->headers_len - off :
		    (size_t)(eol - line) + 1;
		if (llen > nlen && line[nlen] == ':' &&
		    strncasecmp(line, name, nlen) == 0) {
			v = line + nlen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			llen -= (size_t)(v - line);
			while (llen > 0 && (v[llen - 1] == '\n' ||
			    v[llen - 1] == '\r'))
				llen--;
			return xasprintf("%.*s", (int)llen, v);
		}
		off += llen;
	}
	return NULL;
}

/* Set the status of the response; it goes out with the headers. */
void
http_set_status(struct http_req *r, int status)
{
	r->status = status;
}

/* Remove every extra header line called name (case-insensitive). */
static void
remove_header(struct http_req *r, const char *name)
{
	size_t	 off = 0, nlen = strlen(name), llen;
	char	*eol;

	while (off < r->headers_len) {
		eol = memchr(r->headers + off, '\n', r->headers_len - off);
		llen = eol == NULL ? r->headers_len - off :
		    (size_t)(eol - (r->headers + off)) + 1;
		if (llen > nlen && r->headers[off + nlen] == ':' &&
		    strncasecmp(r->headers + off, name, nlen) == 0) {
			memmove(r->headers + off, r->headers + off + llen,
			    r->headers_len - off - llen + 1);
			r->headers_len -= llen;
		} else
			off += llen;
	}
}

/*
 * Append "name: value" to the response headers. name must be a token and
 * value free of control bytes other than TAB, so no header can be split or
 * injected (RFC 9110 5.5). Returns 0, or -1 for a bad name or value, or
 * when the headers are already out.
 */
int
http_add_header(struct http_req *r, const char *name, const char *value)
{
	const char	*p;
	char		*line;
	size_t		 len;

	if (r->headers_sent || name == NULL || value == NULL ||
	    !is_token(name, 256))
		return -1;
	for (p = value; *p != '\0'; p++)
		if (*p != '\t' && is_ctl((unsigned char)*p))
			return -1;
	line = xasprintf("%s: %s\r\n", name, value);
	len = strlen(line);
	r->headers = xrealloc(r->headers, r->headers_len + len + 1);
	memcpy(r->headers + r->headers_len, line, len + 1);
	r->headers_len += len;
	free(line);
	return 0;
}

/* Replace any earlier header of that name. */
static int
set_header(struct http_req *r, const char *name, const char *value)
{
	if (r->headers_sent)
		return -1;
	if (r->headers != NULL)
		remove_header(r, name);
	return http_add_header(r, name, value);
}

/* Hand n bytes to the backend; -1 when there is none or it fails. */
static int
io_write(struct http_req *r, const void *p, size_t n)
{
	if (r->io.write == NULL)
		return -1;
	return r->io.write(r->io.arg, p, n);
}

/*
 * Send the status line (CGI "Status:" form), the request id twice, the
 * extra headers and the blank line. An unset status is 200, one outside
 * 100-599 is 500. Marks the headers sent even when the write fails, so that
 * nothing is sent twice.
 */
static int
send_headers(struct http_req *r)
{
	char	 stackbuf[1024], *buf = stackbuf;
	int	 status, rc, n;

	status = r->status == 0 ? 200 : r->status;
	if (status < 100 || status > 599)
		status = 500;
	r->status = status;
	r->headers_sent = 1;
#define HEADER_FMT	"Status: %d %s\r\nX-Request-Id: %s\r\nX-atlas-trace: %s\r\n%s\r\n"
#define HEADER_ARGS	status, http_reason(status), r->request_id, \
			r->request_id, r->headers == NULL ? "" : r->headers
	n = snprintf(stackbuf, sizeof(stackbuf), HEADER_FMT, HEADER_ARGS);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(stackbuf))
		buf = xasprintf(HEADER_FMT, HEADER_ARGS);
#undef HEADER_FMT
#undef HEADER_ARGS
	rc = io_write(r, buf, (size_t)n);
	if (buf != stackbuf)
		free(buf);
	return rc;
}

/*
 * Write body bytes, sending the headers first when they are not out yet.
 * A HEAD answer drops the body. Returns 0 or -1.
 */
int
http_write(struct http_req *r, const void *p, size_t n)
{
	if (!r->headers_sent && send_headers(r) == -1)
		return -1;
	if (r->head_only || n == 0)
		return 0;
	/* Copied before the write: a client gone does not cut the record. */
	capture_append(r, p, n);
	if (io_write(r, p, n) == -1)
		return -1;
	r->bytes_sent += n;
	return 0;
}

/* See http.h. */
int
http_write_fd(struct http_req *r, int fd, unsigned long long n)
{
	static char	 buf[64 * 1024];
	ssize_t		 got;

	if (!r->headers_sent && send_headers(r) == -1)
		return -1;
	while (n > 0 && !r->head_only) {
		got = read(fd, buf, n < sizeof(buf) ? (size_t)n : sizeof(buf));
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0 || http_write(r, buf, (size_t)got) == -1)
			return -1;
		n -= (unsigned long long)got;
	}
	return 0;
}

/* Send the headers if they are not out yet. Returns 0 or -1. */
int
http_finish(struct http_req *r)
{
	if (r->headers_sent)
		return 0;
	return send_headers(r);
}

/*
 * Answer status with n bytes of body of type ctype, with Content-Length
 * (also on HEAD, RFC 9110 9.3.2). Returns 0 or -1.
 */
static int
send_body(struct http_req *r, int status, const char *ctype,
    const void *p, size_t n)
{
	char	 len[32];

	if (r->headers_sent)
		return -1;
	snprintf(len, sizeof(len), "%zu", n);
	if (set_header(r, "Content-Type", ctype) == -1 ||
	    set_header(r, "Content-Length", len) == -1)
		return -1;
	http_set_status(r, status);
	return http_write(r, p, n);
}

/* Answer status with obj rendered compactly as application/json. */
int
http_send_json(struct http_req *r, int status, const cJSON *obj)
{
	char	*s;
	int	 rc;

	if ((s = cJSON_PrintUnformatted(obj)) == NULL)
		return -1;
	rc = send_body(r, status, "application/json", s, strlen(s));
	cJSON_free(s);
	return rc;
}

/* Answer status with text as text/plain. */
int
http_send_text(struct http_req *r, int status, const char *text)
{
	return send_body(r, status, "text/plain", text, strlen(text));
}

/*
 * The API's one error body (DESIGN "Responses"). The sentence is built with
 * cJSON, so any byte in it is escaped; callers never put client input,
 * secrets or internals in it. 503 adds Retry-After. Returns 0 or -1.
 */
int
http_send_error(struct http_req *r, int status, const char *code,
    const char *fmt, ...)
{
	cJSON	*obj = NULL;
	char	 msg[512];
	va_list	 ap;
	int	 rc = -1;

	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);

	if ((obj = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(obj, "error", msg) == NULL ||
	    cJSON_AddStringToObject(obj, "code", code) == NULL)
		goto out;
	if (status == 503 && set_header(r, "Retry-After", "5") == -1)
		goto out;
	rc = http_send_json(r, status, obj);
out:
	cJSON_Delete(obj);
	return rc;
}

/* --- Range requests (RFC 9110 14) ---------------------------------------- */

/* OWS of RFC 9110 5.6.3. */
static int
is_ows(char c)
{

	return c == ' ' || c == '\t';
}

/*
 * 1*DIGIT at p[*i..n) into *v, saturating at ULLONG_MAX; *i moves past
 * the digits. Returns 0, or -1 when there is no digit there.
 */
static int
range_num(const char *p, size_t n, size_t *i, unsigned long long *v)
{
	size_t		 start = *i;
	unsigned	 d;

	*v = 0;
	while (*i < n && p[*i] >= '0' && p[*i] <= '9') {
		d = (unsigned)(p[*i] - '0');
		if (*v > (ULLONG_MAX - d) / 10)
			*v = ULLONG_MAX;
		else
			*v = *v * 10 + d;
		(*i)++;
	}
	return *i > start ? 0 : -1;
}

/*
 * See http.h. The grammar of RFC 9110 14.1.1-14.2:
 *
 *   Range = "bytes" "=" 1#range-spec
 *   range-spec = first-pos "-" [ last-pos ] / "-" suffix-length
 *
 * where 1# is a comma list with OWS around the commas and empty elements
 * allowed (5.6.1). An int-range whose last-pos is below its first-pos is
 * invalid (14.1.1), and so is then the whole header (HTTP_RANGE_BAD).
 */
enum http_range_kind
http_range_parse(const char *p, size_t n, struct http_range *out)
{
	struct http_range	 first, one;
	size_t			 i = 0, count = 0;

	memset(out, 0, sizeof(*out));
	memset(&first, 0, sizeof(first));
	if (p == NULL)
		return HTTP_RANGE_NONE;
	while (i < n && is_ows(p[i]))
		i++;
	if (n - i < 6 || strncasecmp(p + i, "bytes=", 6) != 0)
		return HTTP_RANGE_NONE;		/* another unit: ignored */
	for (i += 6;;) {
		while (i < n && is_ows(p[i]))
			i++;
		if (i == n)
			break;
		if (p[i] == ',') {
			i++;
			continue;
		}
		memset(&one, 0, sizeof(one));
		if (p[i] == '-') {
			i++;
			if (range_num(p, n, &i, &one.len) == -1)
				return (out->kind = HTTP_RANGE_BAD);
			one.suffix = 1;
		} else {
			if (range_num(p, n, &i, &one.first) == -1 ||
			    i == n || p[i] != '-')
				return (out->kind = HTTP_RANGE_BAD);
			i++;
			if (i < n && p[i] >= '0' && p[i] <= '9') {
				(void)range_num(p, n, &i, &one.last);
				one.has_last = 1;
				if (one.last < one.first)
					return (out->kind = HTTP_RANGE_BAD);
			}
		}
		while (i < n && is_ows(p[i]))
			i++;
		if (i < n && p[i] != ',')
			return (out->kind = HTTP_RANGE_BAD);
		if (count++ == 0)
			first = one;
	}
	if (count == 0)
		return (out->kind = HTTP_RANGE_BAD);	/* 1# needs one */
	*out = first;
	out->kind = count == 1 ? HTTP_RANGE_ONE : HTTP_RANGE_MANY;
	return out->kind;
}

/* See http.h. */
int
http_range_resolve(const struct http_range *rg, unsigned long long total,
    unsigned long long *first, unsigned long long *last)
{

	if (rg->kind != HTTP_RANGE_ONE || total == 0)
		return -1;
	if (rg->suffix) {
		if (rg->len == 0)
			return -1;
		*first = rg->len >= total ? 0 : total - rg->len;
		*last = total - 1;
		return 0;
	}
	if (rg->first >= total)
		return -1;
	*first = rg->first;
	*last = rg->has_last && rg->last < total - 1 ? rg->last : total - 1;
	return 0;
}

/* Reason phrases of RFC 9110 15 for the statuses this service answers. */
const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 422: return "Unprocessable Entity";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

/*
 * cli-http.c: signed requests on libcurl (DESIGN, "Authentication"), the
 * answers, and the exit code each outcome maps to.
 *
 * Every request but GET /ping carries X-singularity-apikey,
 * X-singularity-timestamp (Unix seconds, now) and X-singularity-signature
 * in the v2 form (auth.h): hex HMAC-SHA512(secret, "ST2-HMAC-SHA512" "\n"
 * TIMESTAMP "\n" METHOD "\n" PATH "\n" hex(SHA-256(BODY))), PATH being the
 * request target exactly as sent (the URL's prefix included).
 *
 * Every POST also carries "Idempotency-Key: <random UUID v4>" (README,
 * "Idempotent POSTs"). When a request fails without an answer (connection
 * refused or reset, timeout, empty reply) or is answered 503, it is sent
 * again with the same key, a fresh timestamp and signature, up to
 * CLI_RETRIES times after 0.5, 1 and 2 s (or up to the next second of the
 * clock, see cli_backoff()): the server runs a POST once however many of
 * its copies arrive, and answers the copies with the first answer.
 *
 * The server accepts a timestamped write's signature once, and the same
 * write signed in the same second has the same signature: a request of
 * any method answered 401 replayed (nothing was run) is signed again in
 * a later second and sent again, within the same bound.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "auth.h"
#include "cli.h"
#include "util.h"

/* Overlay the flags given on the command line over the file's values. */
static void
apply_flags(struct cli_conf *c, const struct cli_conf *f)
{

	if (f->api_key != NULL) {
		free(c->api_key);
		c->api_key = xstrdup(f->api_key);
	}
	if (f->secret != NULL) {
		free(c->secret);
		c->secret = xstrdup(f->secret);
	}
	if (f->api_url != NULL) {
		free(c->api_url);
		c->api_url = xstrdup(f->api_url);
	}
	if (f->ca_file != NULL) {
		free(c->ca_file);
		c->ca_file = xstrdup(f->ca_file);
	}
}

/*
 * Load and check the configuration (see cli.h). Returns CLI_OK, or
 * CLI_USAGE after printing what is missing or wrong.
 */
int
cli_ready(struct cli *cli, int need_auth)
{
	char	 err[512];
	char	*path = NULL;
	int	 rc;

	if (cli->ready)
		goto check;
	path = cli_conf_path(getenv("SINGULARITY_CONFIG_PATH"),
	    getenv("HOME"));
	if (path != NULL &&
	    (rc = cli_conf_load(&cli->conf, path, err, sizeof(err))) == -1) {
		cli_warn("configuration: %s", err);
		free(path);
		return CLI_USAGE;
	}
	apply_flags(&cli->conf, &cli->flags);
	if (cli->conf.api_url == NULL)
		cli->conf.api_url = xstrdup(CLI_DEFAULT_URL);
	if (cli_url_split(cli->conf.api_url, &cli->origin,
	    &cli->prefix) == -1) {
		cli_warn("configuration: api_url must look like "
		    "https://host[:port][/prefix], not \"%s\"",
		    cli->conf.api_url);
		free(path);
		return CLI_USAGE;
	}
	if ((cli->share = curl_share_init()) != NULL) {
		curl_share_setopt(cli->share, CURLSHOPT_SHARE,
		    CURL_LOCK_DATA_CONNECT);
		curl_share_setopt(cli->share, CURLSHOPT_SHARE,
		    CURL_LOCK_DATA_SSL_SESSION);
		curl_share_setopt(cli->share, CURLSHOPT_SHARE,
		    CURL_LOCK_DATA_DNS);
	}
	cli->ready = 1;
check:
	if (cli_conf_check(&cli->conf, need_auth, err, sizeof(err)) == -1) {
		if (cli->conf.path == NULL &&
		    (cli->conf.api_key == NULL || cli->conf.secret == NULL))
			cli_warn("no configuration: write api_key and secret "
			    "to %s (or set SINGULARITY_CONFIG_PATH), or pass "
			    "--api-key and --secret",
			    path != NULL ? path : "~/.singularity/config.json");
		else
			cli_warn("configuration%s%s: %s",
			    cli->conf.path != NULL ? " " : "",
			    cli->conf.path != NULL ? cli->conf.path : "", err);
		free(path);
		return CLI_USAGE;
	}
	free(path);
	return CLI_OK;
}

void
cli_free(struct cli *cli)
{

	cli_conf_free(&cli->conf);
	cli_conf_free(&cli->flags);
	free(cli->origin);
	free(cli->prefix);
	if (cli->share != NULL)
		curl_share_cleanup(cli->share);
	memset(cli, 0, sizeof(*cli));
}

/*
 * Append the signature headers of one request to *h (see cli.h). The
 * secret is used as the bytes of its text. Returns 0 or -1.
 */
int
cli_sign(const struct cli *cli, const char *method, const char *path,
    const void *body, size_t len, struct curl_slist **h)
{
	char		 ts[32], sig[AUTH_HEX_LEN + 1], *full = NULL, *line = NULL;
	struct curl_slist *n;
	int		 ret = -1;

	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	full = xasprintf("%s%s", cli->prefix, path);
	if (auth_sign_hex(cli->conf.secret, strlen(cli->conf.secret), method,
	    full, body == NULL ? "" : body, body == NULL ? 0 : len, ts,
	    sig) == -1)
		goto out;
	line = xasprintf("X-singularity-apikey: %s", cli->conf.api_key);
	if ((n = curl_slist_append(*h, line)) == NULL)
		goto out;
	*h = n;
	free(line);
	line = xasprintf("X-singularity-timestamp: %s", ts);
	if ((n = curl_slist_append(*h, line)) == NULL)
		goto out;
	*h = n;
	free(line);
	line = xasprintf("X-singularity-signature: %s", sig);
	if ((n = curl_slist_append(*h, line)) == NULL)
		goto out;
	*h = n;
	ret = 0;
out:
	explicit_bzero(sig, sizeof(sig));
	free(line);
	free(full);
	return ret;
}

/* Append one header line to *h. Returns 0 or -1. */
static int
add_header(struct curl_slist **h, const char *line)
{
	struct curl_slist	*n;

	if ((n = curl_slist_append(*h, line)) == NULL)
		return -1;
	*h = n;
	return 0;
}

/*
 * A configured easy handle for one request (see cli.h). Returns NULL on
 * failure (nothing to free then: *h is freed and reset).
 */
CURL *
cli_easy(const struct cli *cli, const char *method, const char *path,
    const void *body, size_t len, const char *ctype, int sign,
    const char *idem_key, struct curl_slist **h)
{
	CURL	*c = NULL;
	char	*url = NULL, *line = NULL;

	*h = NULL;
	if ((c = curl_easy_init()) == NULL)
		goto err;
	url = xasprintf("%s%s%s", cli->origin, cli->prefix, path);
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK)
		goto err;
	free(url);
	url = NULL;
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "singularity-cli/" ST_VERSION);
	/*
	 * HTTP/1.1: parallel uploads go over connections of their own (the
	 * web servers read a body whole before the responder sees it), and
	 * every deployment (lighttpd, Apache, plain CGI) speaks it.
	 */
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (cli->share != NULL)
		curl_easy_setopt(c, CURLOPT_SHARE, cli->share);
	if (cli->conf.ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, cli->conf.ca_file);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	else if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(body == NULL ? 0 : len));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS,
		    body == NULL ? "" : (const char *)body);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		if (body != NULL) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)len);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		}
	}
	/* No 100-continue round trip; no form Content-Type by default. */
	if (add_header(h, "Expect:") == -1)
		goto err;
	if (ctype != NULL) {
		line = xasprintf("Content-Type: %s", ctype);
		if (add_header(h, line) == -1)
			goto err;
	} else if (add_header(h, "Content-Type:") == -1)
		goto err;
	if (idem_key != NULL) {
		free(line);
		line = xasprintf("Idempotency-Key: %s", idem_key);
		if (add_header(h, line) == -1)
			goto err;
	}
	if (sign && cli_sign(cli, method, path, body, len, h) == -1)
		goto err;
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *h);
	free(line);
	return c;
err:
	free(line);
	free(url);
	curl_slist_free_all(*h);
	*h = NULL;
	if (c != NULL)
		curl_easy_cleanup(c);
	return NULL;
}

/* Write callback: append to the struct cli_resp's body. */
size_t
cli_resp_write(char *p, size_t size, size_t n, void *arg)
{
	struct cli_resp	*r = arg;
	size_t		 len = size * n;

	r->body = xrealloc(r->body, r->len + len + 1);
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

/* Header callback: keep X-Request-Id (printable bytes only). */
size_t
cli_resp_header(char *p, size_t size, size_t n, void *arg)
{
	struct cli_resp	*r = arg;
	size_t		 len = size * n, k = 0;
	static const char name[] = "x-request-id:";

	if (len > sizeof(name) - 1 &&
	    strncasecmp(p, name, sizeof(name) - 1) == 0) {
		p += sizeof(name) - 1;
		len -= sizeof(name) - 1;
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (k < len && k + 1 < sizeof(r->request_id) &&
		    (unsigned char)p[k] > 0x20 && p[k] != 0x7f) {
			r->request_id[k] = p[k];
			k++;
		}
		r->request_id[k] = '\0';
	}
	return size * n;
}

/* The exit code of an answer (see cli.h). */
int
cli_resp_exit(const struct cli_resp *r)
{

	if (r->status == 0 || r->status >= 500)
		return CLI_SERVER;
	if (r->status >= 200 && r->status < 300)
		return CLI_OK;
	if (r->status == 401)
		return CLI_AUTH;
	if (r->status == 404)
		return CLI_NOTFOUND;
	return CLI_OTHER;
}

/* See cli.h. */
int
cli_replayed(const struct cli_resp *r)
{
	cJSON		*obj;
	const cJSON	*code;
	int		 yes;

	if (r->status != 401 || r->body == NULL)
		return 0;
	obj = cJSON_ParseWithLength(r->body, r->len);
	code = cJSON_GetObjectItemCaseSensitive(obj, "code");
	yes = cJSON_IsString(code) && code->valuestring != NULL &&
	    strcmp(code->valuestring, "replayed") == 0;
	cJSON_Delete(obj);
	return yes;
}

/* See cli.h. */
int
cli_retryable(const struct cli_resp *r)
{

	if (r->status == 503 || cli_replayed(r))
		return 1;
	if (r->status != 0)
		return 0;
	switch (r->curl_rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:	/* a reset during the handshake */
		return 1;
	default:
		return 0;
	}
}

/* See cli.h. */
void
cli_backoff(int attempt)
{
	struct timespec	 ts, now;
	time_t		 called = time(NULL);
	long		 ms = 500L << (attempt < 4 ? attempt : 4);

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
	/*
	 * The rest of the second of the call, if the backoff was shorter.
	 * NOTE: time() (which cli_sign() uses) may read a coarse clock a few
	 * ms behind CLOCK_REALTIME: it is what decides, in short steps once
	 * the fine clock has passed the second.
	 */
	while (time(NULL) <= called) {
		if (clock_gettime(CLOCK_REALTIME, &now) == -1)
			break;
		ts.tv_sec = 0;
		ts.tv_nsec = now.tv_sec > called ? 5000000L :
		    1000000000L - now.tv_nsec;
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			continue;
	}
}

/* One attempt of cli_request(): the answer (or its absence) in *r. */
static void
request_once(struct cli *cli, const char *method, const char *path,
    const void *body, size_t len, const char *idem_key, struct cli_resp *r)
{
	CURL			*c;
	struct curl_slist	*h = NULL;

	memset(r, 0, sizeof(*r));
	if ((c = cli_easy(cli, method, path, body, len,
	    body != NULL ? "application/json" : NULL,
	    strcmp(path, "/ping") != 0, idem_key, &h)) == NULL) {
		r->curl_rc = CURLE_OUT_OF_MEMORY;
		snprintf(r->errbuf, sizeof(r->errbuf), "cannot set up libcurl");
		r->body = xstrdup("");
		return;
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, cli_resp_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, cli_resp_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
	r->curl_rc = curl_easy_perform(c);
	if (r->curl_rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	else
		r->status = 0;
	if (r->body == NULL) {
		r->body = xstrdup("");
		r->len = 0;
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
}

/*
 * One request with a JSON body (or none); see cli.h. A POST gets a new
 * Idempotency-Key, kept for its retries. Returns CLI_OK for 2xx, else the
 * failure's exit code.
 */
int
cli_request(struct cli *cli, const char *method, const char *path,
    const void *body, size_t len, struct cli_resp *r)
{
	char	 key[UUID_STR_LEN + 1];
	int	 post = strcmp(method, "POST") == 0, attempt;

	if (post)
		util_uuid(key);
	for (attempt = 0;; attempt++) {
		request_once(cli, method, path, body, len, post ? key : NULL,
		    r);
		if (cli->verbose && r->request_id[0] != '\0')
			fprintf(stderr, "singularity-cli: %s %s: %ld, request "
			    "%s\n", method, path, r->status, r->request_id);
		if (attempt >= CLI_RETRIES || !cli_retryable(r) ||
		    (!post && !cli_replayed(r)))
			break;
		if (cli->verbose)
			fprintf(stderr, "singularity-cli: %s %s: %s; retrying%s"
			    "\n", method, path, r->status == 401 ?
			    "401 replayed" : r->status != 0 ? "503" :
			    r->errbuf[0] != '\0' ? r->errbuf :
			    curl_easy_strerror((CURLcode)r->curl_rc),
			    post ? " with the same Idempotency-Key" :
			    ", signed again");
		cli_resp_free(r);
		cli_backoff(attempt);
	}
	return cli_resp_exit(r);
}

/*
 * Explain a failed answer on stderr (see cli.h). Returns its exit code.
 */
int
cli_report(const struct cli *cli, const char *what, const struct cli_resp *r)
{
	cJSON		*obj = NULL;
	const cJSON	*e, *code;
	const char	*msg;
	int		 rc = cli_resp_exit(r);

	if (r->status == 0) {
		msg = r->errbuf[0] != '\0' ? r->errbuf :
		    curl_easy_strerror((CURLcode)r->curl_rc);
		switch (r->curl_rc) {
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
			cli_warn("%s: cannot reach %s: %s (is the server's CA "
			    "in ca_file or --cacert?)", what, cli->origin, msg);
			break;
		case CURLE_COULDNT_CONNECT:
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_OPERATION_TIMEDOUT:
			cli_warn("%s: cannot reach %s: %s (is the server "
			    "running, and api_url right?)", what, cli->origin,
			    msg);
			break;
		default:
			cli_warn("%s: cannot reach %s: %s", what, cli->origin,
			    msg);
		}
		return rc;
	}
	if (r->body != NULL)
		obj = cJSON_ParseWithLength(r->body, r->len);
	e = cJSON_GetObjectItemCaseSensitive(obj, "error");
	code = cJSON_GetObjectItemCaseSensitive(obj, "code");
	if (cJSON_IsString(e) && e->valuestring != NULL)
		cli_warn("%s: %s (%ld %s)%s%s", what, e->valuestring,
		    r->status, cJSON_IsString(code) && code->valuestring !=
		    NULL ? code->valuestring : "",
		    r->status >= 500 && r->request_id[0] != '\0' ?
		    ", request " : "", r->status >= 500 ?
		    r->request_id : "");
	else
		cli_warn("%s: the server answered HTTP %ld%s%s", what,
		    r->status, r->request_id[0] != '\0' ? ", request " : "",
		    r->request_id);
	if (rc == CLI_AUTH && !cli_replayed(r))
		cli_warn("check api_key and secret (%s), and this machine's "
		    "clock", cli->conf.path != NULL ? cli->conf.path :
		    "--api-key, --secret");
	cJSON_Delete(obj);
	return rc;
}

void
cli_resp_free(struct cli_resp *r)
{

	free(r->body);
	r->body = NULL;
	r->len = 0;
}

/* Parse the answer as JSON; NULL (message printed) when it is not. */
cJSON *
cli_resp_json(const struct cli_resp *r, const char *what)
{
	cJSON	*obj;

	if ((obj = cJSON_ParseWithLength(r->body, r->len)) == NULL)
		cli_warn("%s: the answer is not JSON", what);
	return obj;
}

/* Digits at p[*i..n) into *v (a long long). Returns 0 or -1. */
static int
cr_num(const char *p, size_t n, size_t *i, long long *v)
{
	size_t	 start = *i;

	*v = 0;
	while (*i < n && p[*i] >= '0' && p[*i] <= '9') {
		if (*v > (LLONG_MAX - (p[*i] - '0')) / 10)
			return -1;
		*v = *v * 10 + (p[*i] - '0');
		(*i)++;
	}
	return *i > start ? 0 : -1;
}

/* See cli.h (RFC 9110 14.4). */
int
cli_content_range(const char *p, size_t n, long long *first, long long *last,
    long long *total)
{
	size_t	 i = 0;
	int	 star = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	while (n > i && (p[n - 1] == ' ' || p[n - 1] == '\t' ||
	    p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	if (n - i < 6 || strncasecmp(p + i, "bytes ", 6) != 0)
		return -1;
	i += 6;
	if (i < n && p[i] == '*') {
		star = 1;
		i++;
	} else if (cr_num(p, n, &i, first) == -1 || i >= n || p[i++] != '-' ||
	    cr_num(p, n, &i, last) == -1 || *last < *first)
		return -1;
	if (i >= n || p[i++] != '/' || cr_num(p, n, &i, total) == -1 ||
	    i != n || (!star && *last >= *total))
		return -1;
	return star;
}

/* Print the answer's body unchanged, ending with a newline. */
void
cli_print_raw(const struct cli_resp *r)
{

	fwrite(r->body, 1, r->len, stdout);
	if (r->len == 0 || r->body[r->len - 1] != '\n')
		putchar('\n');
}

void
cli_warn(const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
	fputs("singularity-cli: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * A path component escaped for a URL (everything but unreserved bytes as
 * %XX). Caller frees.
 */
char *
cli_escape(const char *s)
{
	char	*e, *ret;

	if ((e = curl_easy_escape(NULL, s, 0)) == NULL) {
		fprintf(stderr, "singularity-cli: out of memory\n");
		exit(CLI_OTHER);
	}
	ret = xstrdup(e);
	curl_free(e);
	return ret;
}

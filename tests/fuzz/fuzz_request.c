/*
 * fuzz_request.c: libFuzzer target for request parsing and routing.
 *
 * The input is "NAME=VALUE" environment lines separated by '\n'; an empty
 * line ends them and what follows is the request body. Each request is
 * parsed (with and without a base path), routed against a small table,
 * its body read when CONTENT_LENGTH allows, and answered into a memory
 * buffer. The invariants the responder relies on are checked, so a
 * violation crashes the target even when no sanitizer fires.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "route.h"
#include "util.h"

#define MAX_ENV	64

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	const uint8_t	*in;
	size_t		 inlen, inpos;
	size_t		 outlen;
	int		 began;		/* output starts with "Status: " */
};

static ssize_t
sink_read(void *arg, void *buf, size_t n)
{
	struct sink	*s = arg;

	if (n > s->inlen - s->inpos)
		n = s->inlen - s->inpos;
	if (n > 7)
		n = 7;		/* short reads, as from a socket */
	memcpy(buf, s->in + s->inpos, n);
	s->inpos += n;
	return (ssize_t)n;
}

static int
sink_write(void *arg, const void *buf, size_t n)
{
	struct sink	*s = arg;

	if (s->outlen == 0 && (n < 8 || memcmp(buf, "Status: ", 8) != 0))
		__builtin_trap();
	s->outlen += n;
	return 0;
}

static int
h(struct responder *rs, struct http_req *r)
{
	return 0;
}

static const struct route table[] = {
	{ HTTP_GET | HTTP_HEAD, "/ping", 0, h, 0, 0 },
	{ HTTP_GET, "/account", 1, h, 0, 0 },
	{ HTTP_GET | HTTP_DELETE, "/batch/{id}", 1, h, 0, 0 },
	{ HTTP_POST, "/batch", 1, h, 0, 0 },
	{ HTTP_POST, "/data/{set}/shard/{shard_id}", 1, h, 0, 1 },
	{ HTTP_GET, "/model/{batch}/{job}", 1, h, 0, 0 },
};

/* Whether s holds a control byte. */
static int
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static void
one(char **envp, const char *base, const uint8_t *body, size_t bodylen)
{
	struct http_req		 r;
	struct sink		 s;
	const struct route	*rt;
	unsigned		 allow;
	size_t			 i;
	int			 rc, status;

	memset(&s, 0, sizeof(s));
	s.in = body;
	s.inlen = bodylen;
	rc = http_parse(&r, envp, base);
	r.io.read = sink_read;
	r.io.write = sink_write;
	r.io.arg = &s;
	if (strlen(r.request_id) != UUID_STR_LEN)
		__builtin_trap();
	if (rc != 0 && rc != 400 && rc != 414 && rc != 431)
		__builtin_trap();
	if (rc == 0) {
		if (r.path == NULL || r.path[0] != '/' || has_ctl(r.path) ||
		    has_ctl(r.uri) || strlen(r.uri) > HTTP_MAX_URI ||
		    r.method_str == NULL || has_ctl(r.method_str))
			__builtin_trap();
		rt = route_match(table, sizeof(table) / sizeof(table[0]), &r,
		    &status, &allow);
		if (rt != NULL) {
			if (r.nparams > HTTP_MAX_PARAMS)
				__builtin_trap();
			for (i = 0; i < r.nparams; i++)
				if (r.params[i][0] == '\0' ||
				    strchr(r.params[i], '/') != NULL)
					__builtin_trap();
			if (r.content_length <= 4096 && http_read_body(&r) == 0 &&
			    (r.body_len != r.content_length ||
			    s.inpos != r.body_len))
				__builtin_trap();
			http_send_text(&r, 200, "ok");
		} else if (status == 405) {
			if (allow == 0 ||
			    http_add_header(&r, "Allow", http_methods_str(allow)))
				__builtin_trap();
			http_send_error(&r, 405, "method_not_allowed", "no");
		} else if (status == 404)
			http_send_error(&r, 404, "not_found", "no");
		else
			__builtin_trap();
	} else
		http_send_error(&r, rc, "bad_request", "%d", rc);
	if (!r.headers_sent || s.outlen == 0)
		__builtin_trap();
	http_req_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*envp[MAX_ENV + 1];
	const uint8_t	*p = data, *end = data + size, *nl;
	size_t		 n = 0, i;

	while (p < end && n < MAX_ENV) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (nl == p) {		/* blank line: the body follows */
			p++;
			break;
		}
		envp[n] = malloc((size_t)(nl - p) + 1);
		if (envp[n] == NULL)
			abort();
		memcpy(envp[n], p, (size_t)(nl - p));
		envp[n][nl - p] = '\0';
		n++;
		p = nl < end ? nl + 1 : end;
	}
	envp[n] = NULL;

	one(envp, NULL, p, (size_t)(end - p));
	one(envp, "/api/", p, (size_t)(end - p));

	for (i = 0; i < n; i++)
		free(envp[i]);
	return 0;
}

/*
 * route.c: match a request path against a responder's route table.
 *
 * The path is split at '/' once; each pattern is then compared segment by
 * segment: a literal segment must be equal byte for byte, a {name} capture
 * takes one non-empty segment. The path is matched as sent (no percent
 * decoding, no dot-segment or slash folding): "/ping/" is not "/ping", and
 * "//x" has an empty first segment that no capture takes.
 *
 * NOTE: this file does not include config.h, so that the fuzz targets can
 * compile it with clang alone.
 */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "route.h"
#include "util.h"

#define ROUTE_MAX_SEGS	16	/* longer paths match no route: 404 */

/*
 * Compare pattern with the nseg segments of seg. On a match, fill params
 * (HTTP_MAX_PARAMS) and *nparams and return 1; otherwise return 0. A pattern
 * with more captures than HTTP_MAX_PARAMS never matches.
 */
static int
match_pattern(const char *pattern, char **seg, size_t nseg,
    const char **params, size_t *nparams)
{
	const char	*p, *end;
	size_t		 i, len, np = 0;

	if (pattern == NULL || pattern[0] != '/')
		return 0;
	p = pattern + 1;
	for (i = 0; ; i++) {
		end = strchr(p, '/');
		len = end == NULL ? strlen(p) : (size_t)(end - p);
		if (i >= nseg)
			return 0;
		if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
			if (seg[i][0] == '\0' || np == HTTP_MAX_PARAMS)
				return 0;
			params[np++] = seg[i];
		} else if (strlen(seg[i]) != len || memcmp(seg[i], p, len) != 0)
			return 0;
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (i + 1 != nseg)
		return 0;
	*nparams = np;
	return 1;
}

/*
 * See route.h. The first route whose pattern and method match wins. The
 * segments live in r->param_buf (owned by r), the path split at each '/',
 * so that the captures in r->params are NUL-terminated strings.
 */
const struct route *
route_match(const struct route *table, size_t n, struct http_req *r,
    int *status, unsigned *allow)
{
	const char	*params[HTTP_MAX_PARAMS];
	char		*seg[ROUTE_MAX_SEGS], *p;
	size_t		 i, nseg = 0, np = 0;

	*status = 404;
	*allow = 0;
	free(r->param_buf);
	r->param_buf = NULL;
	memset(r->params, 0, sizeof(r->params));
	r->nparams = 0;
	if (r->path == NULL || r->path[0] != '/')
		return NULL;

	r->param_buf = xstrdup(r->path + 1);
	for (p = r->param_buf; ; ) {
		if (nseg == ROUTE_MAX_SEGS)
			return NULL;
		seg[nseg++] = p;
		if ((p = strchr(p, '/')) == NULL)
			break;
		*p++ = '\0';
	}

	for (i = 0; i < n; i++) {
		if (!match_pattern(table[i].pattern, seg, nseg, params, &np))
			continue;
		if (!(table[i].methods & (unsigned)r->method)) {
			*allow |= table[i].methods;
			continue;
		}
		memcpy(r->params, params, np * sizeof(params[0]));
		r->nparams = np;
		*status = 0;
		return &table[i];
	}
	if (*allow != 0)
		*status = 405;
	return NULL;
}

/*
 * route.h: the dispatch table of a responder.
 *
 * Patterns are literal segments and {name} captures separated by '/', e.g.
 * "/data/{set}/shard/{shard_id}". A capture matches one non-empty segment.
 * No match at all is 404; a path that matches with other methods only is 405
 * with Allow listing them.
 */
#ifndef ST_ROUTE_H
#define ST_ROUTE_H

#include <stddef.h>

#include "http.h"

struct responder;

/* A handler answers the request itself and returns 0, or -1 on an I/O failure. */
typedef int (*route_handler)(struct responder *, struct http_req *);

struct route {
	unsigned	 methods;	/* mask of enum http_method */
	const char	*pattern;
	int		 needs_auth;	/* signed request required */
	route_handler	 handler;
	size_t		 max_body;	/* 0: conf http max_body */
	int		 stream_body;	/* handler reads the body itself with http_read() */
};

/*
 * Find the route for method and path. On a match returns it and fills
 * r->params; otherwise returns NULL with *status set to 404, or to 405 with
 * *allow the mask of the methods the path accepts.
 */
const struct route *route_match(const struct route *table, size_t n,
		    struct http_req *r, int *status, unsigned *allow);

#endif

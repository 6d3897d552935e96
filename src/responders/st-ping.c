/*
 * st-ping: GET|HEAD /ping, the one unsigned endpoint (API reference "Ping").
 *
 * The web server also sends it every path that no other route group owns, so
 * that an unknown path is answered by the route table: a JSON 404 (or 405),
 * never the web server's own HTML page.
 */
#include "http.h"
#include "responder.h"
#include "route.h"
#include "util.h"

/* Answer "pong" as text/plain (headers only for HEAD). */
static int
ping(struct responder *rs, struct http_req *r)
{
	return http_send_text(r, 200, "pong");
}

static const struct route routes[] = {
	{ HTTP_GET | HTTP_HEAD, "/ping", 0, ping, 0, 0 },
};

int
main(int argc, char **argv)
{
	return responder_main("st-ping", routes, NITEMS(routes), argc, argv);
}

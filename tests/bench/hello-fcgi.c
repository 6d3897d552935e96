/*
 * hello-fcgi.c: the smallest libfcgi responder, the baseline of bench-ping.sh.
 * Answers every request with "pong" as text/plain; what st-ping costs beyond
 * this is the price of the project's request handling.
 */
#include <fcgiapp.h>

int
main(void)
{
	FCGX_Request	 req;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutS("Status: 200 OK\r\n"
		    "Content-Type: text/plain\r\n"
		    "Content-Length: 4\r\n\r\npong", req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}

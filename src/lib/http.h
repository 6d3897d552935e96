/*
 * http.h: one request and its response, as a FastCGI or CGI responder sees them.
 *
 * The request is parsed from the CGI environment (FastCGI params are the same
 * variables): REQUEST_METHOD, REQUEST_URI, CONTENT_LENGTH, HTTPS and the
 * HTTP_* headers. Parsing is a pure function of the environment so that it is
 * unit tested and fuzzed without a server. Body and response go through an
 * I/O backend: libfcgi's FCGX streams, or stdin/stdout for plain CGI.
 *
 * Every response carries X-Request-Id and X-atlas-trace with the same id.
 */
#ifndef ST_HTTP_H
#define ST_HTTP_H

#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

struct auth_hmac;

enum http_method {
	HTTP_GET	= 1 << 0,
	HTTP_HEAD	= 1 << 1,
	HTTP_POST	= 1 << 2,
	HTTP_PUT	= 1 << 3,
	HTTP_DELETE	= 1 << 4,
	HTTP_PATCH	= 1 << 5,
	HTTP_OPTIONS	= 1 << 6,
	HTTP_OTHER	= 1 << 7,
};

#define HTTP_MAX_PARAMS		4	/* {captures} in one route pattern */
#define HTTP_MAX_URI		4096	/* longer REQUEST_URI: 414 */
#define HTTP_MAX_HEADER		8192	/* longer header value: 431 */

/* Where the body comes from and the response goes to. */
struct http_io {
	/* Read up to n bytes; 0 at end of input, -1 on error. */
	ssize_t	(*read)(void *arg, void *buf, size_t n);
	/* Write all n bytes; 0 or -1. */
	int	(*write)(void *arg, const void *buf, size_t n);
	void	 *arg;
};

struct http_req {
	/* Parsed by http_parse(); pointers into the environment or owned. */
	enum http_method method;
	const char	*method_str;	/* as sent, e.g. "GET" */
	const char	*uri;		/* REQUEST_URI as sent: what the client signed */
	char		*uri_buf;	/* owned: uri rebuilt from SCRIPT_NAME/PATH_INFO */
	char		*path;		/* uri before '?', base path removed (owned) */
	const char	*query;		/* after '?', "" when none */
	int		 https;		/* request arrived over TLS */
	unsigned long long content_length; /* 0 when absent */
	const char	*h_apikey;	/* X-singularity-apikey, or NULL */
	const char	*h_signature;	/* X-singularity-signature, or NULL */
	const char	*h_timestamp;	/* X-singularity-timestamp, or NULL */
	const char	*h_if_none_match;
	const char	*h_idempotency_key;
	const char	*h_range;	/* Range, or NULL (see http_range_parse) */
	const char	*h_if_range;	/* If-Range, or NULL */
	const char	*remote_addr;
	char		**envp;

	char		 request_id[37];	/* UUID, set by http_parse() */

	/* Route captures, filled by route_match(). */
	const char	*params[HTTP_MAX_PARAMS];	/* point into param_buf */
	size_t		 nparams;
	char		*param_buf;	/* owned copy of path split at '/' */

	/* Body: read whole by the responder loop, unless the route streams it. */
	char		*body;		/* owned, NUL-terminated; NULL when not read */
	size_t		 body_len;
	unsigned long long body_read;	/* bytes consumed so far */
	struct auth_hmac *hmac;		/* when set, every body byte read is fed to it */
	EVP_MD_CTX	*body_sha;	/* idem.h: the same, for the request hash (owned) */

	/* After authentication. */
	long long	 account_id;
	char		*account_name;	/* owned */
	char		*api_key;	/* owned */

	/* Response state. */
	struct http_io	 io;
	int		 status;	/* 0 until a status is set */
	char		*headers;	/* extra header lines, owned */
	size_t		 headers_len;
	int		 headers_sent;
	unsigned long long bytes_sent;	/* body bytes written (for the access log) */
	int		 head_only;	/* HEAD: headers, no body */

	/*
	 * Answer capture (idempotency, see idem.h): while capture_max > 0,
	 * the body bytes written are also appended to capture, up to
	 * capture_max bytes; past that capture_overflow is set and the copy
	 * stops (the answer itself goes out whole).
	 */
	char		*capture;	/* owned */
	size_t		 capture_len;
	size_t		 capture_max;
	int		 capture_overflow;
};

/*
 * Parse the environment of one request into *r (zeroed first; base_path is
 * stripped from the front of the path when it matches). Returns 0, or the
 * HTTP status to answer: 400 for a malformed CONTENT_LENGTH, a control byte
 * in the URI or a header, a missing method or URI; 414 for an over-long URI;
 * 431 for an over-long header. The request id is set even on failure, so the
 * error can be answered. The caller releases *r with http_req_free().
 */
int		 http_parse(struct http_req *r, char **envp, const char *base_path);
/* Free what *r owns (r->hmac included); *r may then be parsed again. */
void		 http_req_free(struct http_req *r);

/* Value of environment variable name in envp, or NULL. */
const char	*http_getenv(char **envp, const char *name);

/* "GET" -> HTTP_GET, anything unknown -> HTTP_OTHER. */
enum http_method http_method_from_str(const char *s);
/* Comma-separated names of the bits in mask, e.g. "GET, HEAD" (static buffer). */
const char	*http_methods_str(unsigned mask);

/*
 * Read up to n body bytes (never past CONTENT_LENGTH), feeding them to r->hmac
 * and r->body_sha when set. Returns the count, 0 at the end of the body, -1 on I/O error or
 * when the input ends before CONTENT_LENGTH bytes (a truncated body).
 */
ssize_t		 http_read(struct http_req *r, void *buf, size_t n);

/*
 * Read the whole body into r->body (NUL-terminated). The caller has already
 * checked content_length against its limit. Returns 0 or -1 (short body or
 * I/O error).
 */
int		 http_read_body(struct http_req *r);

/*
 * Keep a copy of the body bytes written from now on, up to max bytes (see
 * capture_max above); 0 stops and frees the copy.
 */
void		 http_capture(struct http_req *r, size_t max);

/*
 * The value of the extra response header name (case-insensitive) set so
 * far, in a new string the caller frees; NULL when there is none.
 */
char		*http_response_header(const struct http_req *r, const char *name);

/* Set the status (default 200). */
void		 http_set_status(struct http_req *r, int status);
/*
 * Add a response header. Refuses (returns -1) a name or value holding CR, LF
 * or NUL, and any header once the headers were sent.
 */
int		 http_add_header(struct http_req *r, const char *name, const char *value);
/* Write body bytes; the first call sends the status line and headers. */
int		 http_write(struct http_req *r, const void *p, size_t n);
/*
 * Write n body bytes read from fd, in 64 KiB pieces (nothing on HEAD).
 * Returns 0, or -1 when fd ends early or fails, or the write fails: the
 * headers are out by then, so the answer is cut short.
 */
int		 http_write_fd(struct http_req *r, int fd, unsigned long long n);
/* Send the headers now if not yet sent (an empty body, or a HEAD answer). */
int		 http_finish(struct http_req *r);

/* Answer status with the JSON rendering of obj (not freed). */
int		 http_send_json(struct http_req *r, int status, const cJSON *obj);
/* Answer status with text/plain. */
int		 http_send_text(struct http_req *r, int status, const char *text);
/*
 * The one error answer of the API: {"error": "<sentence>", "code": "<word>"}
 * with status. 503 answers also carry Retry-After.
 */
int		 http_send_error(struct http_req *r, int status, const char *code,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * A Range request header (RFC 9110 14.1-14.2) as http_range_parse() reads
 * it. Only the unit "bytes" and one range are served. An absent header or
 * another unit (which RFC 9110 14.2 says MUST be ignored) is
 * HTTP_RANGE_NONE: the whole representation (200). A malformed "bytes="
 * value is HTTP_RANGE_BAD and a valid set of several ranges
 * HTTP_RANGE_MANY: both refused with 416, as 14.2 allows ("MAY ignore or
 * reject"). NOTE: refusing rather than ignoring keeps the answer the same
 * behind every web server: lighttpd and Apache apply a Range themselves to
 * a 200 from a backend (lighttpd when the answer is small enough to be
 * buffered whole), and a 416 or 206 from us is left as it is.
 */
enum http_range_kind {
	HTTP_RANGE_NONE,	/* answer the whole representation */
	HTTP_RANGE_ONE,		/* one range: first..last or a suffix */
	HTTP_RANGE_MANY,	/* several ranges: refused (416) */
	HTTP_RANGE_BAD,		/* "bytes=" then no valid range set: 416 */
};

struct http_range {
	enum http_range_kind kind;
	int		 suffix;	/* "-N": the last len bytes */
	int		 has_last;	/* "N-M" (else "N-": to the end) */
	unsigned long long first;	/* first-pos */
	unsigned long long last;	/* last-pos, when has_last */
	unsigned long long len;		/* suffix-length, when suffix */
};

/*
 * Parse the n bytes of a Range header value at p (untrusted: not
 * NUL-terminated, any bytes) into *out: "bytes" (any case) "=" a
 * comma-separated list of int-range ("N-" or "N-M" with M >= N) or
 * suffix-range ("-N") elements, with optional blanks around the commas
 * and empty elements skipped (RFC 9110 5.6.1); numbers past ULLONG_MAX
 * saturate. The fields of *out describe the first range of ONE and MANY
 * and are all zero for NONE and BAD. Never fails; returns out->kind.
 */
enum http_range_kind http_range_parse(const char *p, size_t n,
		    struct http_range *out);

/*
 * The bytes of an HTTP_RANGE_ONE range within a representation of total
 * bytes (RFC 9110 14.1.2): *first and *last (inclusive), a last-pos past
 * the end clamped to total - 1, a suffix longer than total taken as all
 * of it. Returns 0, or -1 when the range is not satisfiable (416): a
 * first-pos at or past total, a suffix of length 0, an empty
 * representation, or a kind other than HTTP_RANGE_ONE.
 */
int		 http_range_resolve(const struct http_range *rg,
		    unsigned long long total, unsigned long long *first,
		    unsigned long long *last);

/* Reason phrase for a status code ("Not Found"); "Unknown" otherwise. */
const char	*http_reason(int status);

#endif

/*
 * util.c: UUIDs, hex, number parsing, API time format, allocation wrappers.
 */
#include "config.h"

#include <sys/random.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "util.h"

/*
 * Report exhaustion and abort: no caller can do anything better, and a
 * half-built response is worse than a dead responder the web server restarts.
 */
static void __attribute__((noreturn))
oom(size_t n)
{
	char	 buf[96];
	int	 len;

	len = snprintf(buf, sizeof(buf), "out of memory (%zu bytes)\n", n);
	if (len > 0)
		(void)!write(STDERR_FILENO, buf, (size_t)len);
	abort();
}

/* A random (version 4) UUID, lowercase; see util.h. */
void
util_uuid(char out[UUID_STR_LEN + 1])
{
	static unsigned char	 pool[4096];
	static size_t		 used = sizeof(pool);
	static pid_t		 owner;
	uuid_t			 u;
	pid_t			 pid;

	/*
	 * NOTE: every request needs an id, and libuuid's generator (which
	 * reseeds random(3) on each call) cost more than the rest of a /ping,
	 * while OpenSSL's RAND_bytes() costs milliseconds of set-up in every
	 * plain CGI process. Ids come from a pool filled by the kernel's CSPRNG
	 * (getrandom(2)), refilled when empty or when the process is not the
	 * one that filled it (a fork must never hand out its parent's ids).
	 */
	pid = getpid();
	if (used + sizeof(u) > sizeof(pool) || pid != owner) {
		if (getrandom(pool, sizeof(pool), 0) != (ssize_t)sizeof(pool)) {
			uuid_generate_random(u);
			uuid_unparse_lower(u, out);
			return;
		}
		used = 0;
		owner = pid;
	}
	memcpy(u, pool + used, sizeof(u));
	explicit_bzero(pool + used, sizeof(u));
	used += sizeof(u);
	u[6] = (u[6] & 0x0f) | 0x40;	/* version 4 (RFC 9562 5.4) */
	u[8] = (u[8] & 0x3f) | 0x80;	/* variant 10 */
	uuid_unparse_lower(u, out);
}

/*
 * Check the canonical 8-4-4-4-12 shape byte by byte before anything else
 * (uuid_parse alone is laxer about what follows the 36th byte), then emit the
 * lowercase form. Returns 0, or -1 leaving out as "".
 */
int
util_uuid_parse(const char *s, char out[UUID_STR_LEN + 1])
{
	size_t	 i;

	out[0] = '\0';
	if (s == NULL || strnlen(s, UUID_STR_LEN + 1) != UUID_STR_LEN)
		return -1;
	for (i = 0; i < UUID_STR_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
		} else if (!isxdigit((unsigned char)s[i]))
			return -1;
	}
	for (i = 0; i < UUID_STR_LEN; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[UUID_STR_LEN] = '\0';
	return 0;
}

/* Lowercase hex of n bytes; out holds 2n + 1 bytes. */
void
util_hex(const void *p, size_t n, char *out)
{
	static const char	 digits[] = "0123456789abcdef";
	const unsigned char	*b = p;
	size_t			 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/*
 * A whole decimal number: digits only (strtoull alone would accept
 * leading space, '+' and '-'), no overflow, at most max.
 */
int
util_parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long	 v;
	const char		*p;
	char			*end = NULL;

	if (s == NULL || *s == '\0')
		return -1;
	for (p = s; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

/* t as "YYYY-MM-DDTHH:MM:SS" UTC; "" when t is out of gmtime's range. */
void
util_time_iso(time_t t, char out[20])
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 20, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		out[0] = '\0';
}

/*
 * "YYYY-MM-DD HH:MM:SS" optionally followed by "." and 1 to 6 digits (the
 * fractional seconds are dropped). Returns 0, or -1 with out "".
 */
int
util_db_time_to_iso(const char *db, char out[20])
{
	static const char	 shape[] = "dddd-dd-dd dd:dd:dd";
	size_t			 i, frac;

	out[0] = '\0';
	if (db == NULL)
		return -1;
	for (i = 0; i < 19; i++) {
		if (shape[i] == 'd') {
			if (db[i] < '0' || db[i] > '9')
				return -1;
		} else if (db[i] != shape[i])
			return -1;
	}
	if (db[19] == '.') {
		for (frac = 0; db[20 + frac] >= '0' && db[20 + frac] <= '9'; frac++)
			if (frac == 6)
				return -1;
		if (frac == 0 || db[20 + frac] != '\0')
			return -1;
	} else if (db[19] != '\0')
		return -1;
	memcpy(out, db, 19);
	out[10] = 'T';
	out[19] = '\0';
	return 0;
}

/* malloc that never returns NULL (0 bytes yields a unique pointer). */
void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		oom(n);
	return p;
}

/* calloc that never returns NULL. */
void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((p = calloc(n, size)) == NULL)
		oom(n * size);
	return p;
}

/* realloc that never returns NULL; p is consumed. */
void *
xrealloc(void *p, size_t n)
{
	void	*q;

	if ((q = realloc(p, n == 0 ? 1 : n)) == NULL)
		oom(n);
	return q;
}

/* strdup that never returns NULL; the caller frees. */
char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		oom(strlen(s) + 1);
	return p;
}

/* Formatted string in a new allocation the caller frees. */
char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*p = NULL;
	int	 rc;

	va_start(ap, fmt);
	rc = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (rc < 0)
		oom(0);
	return p;
}

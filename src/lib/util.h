/*
 * util.h: small helpers shared by every module.
 */
#ifndef ST_UTIL_H
#define ST_UTIL_H

#include <stddef.h>
#include <time.h>

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
/*
 * NOTE: <uuid/uuid.h> defines UUID_STR_LEN as 37 (NUL included) without a
 * guard; here it is 36 (NUL excluded). Only util.c includes libuuid's header,
 * before this one; other modules use util_uuid() and util_uuid_parse().
 */
#ifdef UUID_STR_LEN
#undef UUID_STR_LEN
#endif
#define UUID_STR_LEN	36

/* New random (v4) UUID, lowercase, NUL-terminated. */
void	util_uuid(char out[UUID_STR_LEN + 1]);

/*
 * Check and normalise a UUID given by a client: 36 chars in the canonical
 * 8-4-4-4-12 form, either case; out receives it lowercase. Returns 0 or -1.
 */
int	util_uuid_parse(const char *s, char out[UUID_STR_LEN + 1]);

/* Lowercase hex of n bytes into out (2n + 1 bytes). */
void	util_hex(const void *p, size_t n, char *out);

/*
 * Parse a whole unsigned decimal number (no sign, no space, no suffix) with
 * strtoull and errno checks. Returns 0, or -1 when s is empty, malformed or
 * greater than max.
 */
int	util_parse_u64(const char *s, unsigned long long max, unsigned long long *out);

/* "YYYY-MM-DDTHH:MM:SS" in UTC, the API's time format. */
void	util_time_iso(time_t t, char out[20]);

/*
 * Convert a MariaDB DATETIME text ("YYYY-MM-DD HH:MM:SS[.fff]") into the API
 * format in out; NULL or malformed input yields "" and -1.
 */
int	util_db_time_to_iso(const char *db, char out[20]);

/* malloc/calloc/strdup that abort the process on exhaustion. */
void	*xmalloc(size_t n);
void	*xcalloc(size_t n, size_t size);
void	*xrealloc(void *p, size_t n);
char	*xstrdup(const char *s);
/* Formatted string in a new allocation; aborts on exhaustion. */
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

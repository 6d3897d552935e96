/*
 * conf.c: the INI configuration file, driven by one table of keys.
 *
 * Grammar, one construct per line (at most CONF_LINE_MAX bytes, UTF-8, no
 * control byte but tab):
 *
 *	# comment			; comment
 *	[section]			optionally followed by a # comment
 *	key = value			an unquoted value ends at the first '#'
 *	key = "value"			quotes keep spaces and '#'; \" and \\
 *					are the only escapes
 *
 * Blanks around keys and values are dropped. Repeated section headers are
 * allowed; a key given twice is an error, as is anything the table does not
 * know. Every error names the file and line, and the section and key when
 * there is one: "FILE:LINE: [section] key: reason".
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "util.h"

#ifndef ST_SYSCONFDIR
#define ST_SYSCONFDIR		"/etc"
#endif
#ifndef ST_LOCALSTATEDIR
#define ST_LOCALSTATEDIR	"/var"
#endif

#define CONF_DEFAULT_PATH	ST_SYSCONFDIR "/singularity/singularity.conf"
#define CONF_LINE_MAX		4096	/* bytes, newline excluded */

#define KIB			1024ULL
#define MIB			(1024ULL * KIB)
#define GIB			(1024ULL * MIB)

enum conf_type {
	CONF_STRING,	/* char *, always allocated */
	CONF_BOOL,	/* int 0/1 */
	CONF_UINT,	/* unsigned within [min, max] */
	CONF_SIZE,	/* size_t with K/M/G suffix, within [min, max] */
	CONF_DOUBLE,	/* double within [dmin, dmax] */
	CONF_LEVEL,	/* enum conf_log_level */
	CONF__MAX
};

struct conf_key {
	const char		*section;
	const char		*key;
	enum conf_type		 type;
	size_t			 offset;	/* into struct conf */
	const char		*def;		/* default, in file syntax */
	unsigned long long	 min, max;	/* CONF_UINT, CONF_SIZE */
	double			 dmin, dmax;	/* CONF_DOUBLE */
};

#define STR(s, k, f, d) \
	{ s, k, CONF_STRING, offsetof(struct conf, f), d, 0, 0, 0, 0 }
#define BOOL(s, k, f, d) \
	{ s, k, CONF_BOOL, offsetof(struct conf, f), d, 0, 0, 0, 0 }
#define UINT(s, k, f, d, lo, hi) \
	{ s, k, CONF_UINT, offsetof(struct conf, f), d, lo, hi, 0, 0 }
#define SIZE(s, k, f, d, lo, hi) \
	{ s, k, CONF_SIZE, offsetof(struct conf, f), d, lo, hi, 0, 0 }
#define DBL(s, k, f, d, lo, hi) \
	{ s, k, CONF_DOUBLE, offsetof(struct conf, f), d, 0, 0, lo, hi }
#define LEVEL(s, k, f, d) \
	{ s, k, CONF_LEVEL, offsetof(struct conf, f), d, 0, 0, 0, 0 }

/*
 * Every key of the file. The defaults go through the same parser as the
 * file's values, so a default outside its own bounds cannot go unnoticed
 * (conf_defaults() aborts, and the unit test calls it).
 */
static const struct conf_key keys[] = {
	STR("database", "host", db_host, "localhost"),
	UINT("database", "port", db_port, "3306", 1, 65535),
	STR("database", "socket", db_socket, ""),
	STR("database", "user", db_user, "singularity"),
	STR("database", "password", db_password, ""),
	STR("database", "name", db_name, "singularity"),
	UINT("database", "connect_timeout", db_connect_timeout, "5", 1, 3600),

	STR("store", "dir", store_dir, ST_LOCALSTATEDIR "/lib/singularity"),

	STR("auth", "key_file", auth_key_file,
	    ST_SYSCONFDIR "/singularity/secret.key"),
	BOOL("auth", "allow_http", auth_allow_http, "false"),
	BOOL("auth", "require_timestamp", auth_require_timestamp, "false"),
	UINT("auth", "timestamp_window", auth_timestamp_window, "300",
	    1, 86400),

	STR("http", "base_path", http_base_path, ""),
	SIZE("http", "max_body", http_max_body, "1M", 1, GIB),
	UINT("http", "idempotency_wait", http_idempotency_wait, "30", 1, 3600),
	UINT("http", "idempotency_lease", http_idempotency_lease, "600",
	    1, 86400),

	STR("log", "file", log_file, ""),
	LEVEL("log", "level", log_level, "info"),

	SIZE("limits", "shard_bytes", limit_shard_bytes, "10M", 1, GIB),
	UINT("limits", "batch_jobs", limit_batch_jobs, "1000", 1, 1000000),
	SIZE("limits", "batch_body", limit_batch_body, "1M", 1, GIB),

	DBL("resources", "ram_per_cpu_gb", ram_per_cpu_gb, "4", 0, 4096),
	DBL("resources", "ram_per_gpu_gb", ram_per_gpu_gb, "28", 0, 4096),

	UINT("time_limits", "pilot", time_limit_pilot, "3600", 1, 31536000),
	UINT("time_limits", "production", time_limit_production, "86400",
	    1, 31536000),

	UINT("dispatcher", "host_grace", disp_host_grace, "120", 1, 604800),
	UINT("dispatcher", "stop_grace", disp_stop_grace, "30", 0, 3600),
	STR("dispatcher", "network_mode", disp_network_mode, "none"),
	UINT("dispatcher", "pids_limit", disp_pids_limit, "1024", 1, 4194304),
	UINT("dispatcher", "host_calls", disp_host_calls, "8", 1, 1024),
	UINT("dispatcher", "pull_timeout", disp_pull_timeout, "1800", 1,
	    604800),
	SIZE("dispatcher", "host_cache_max", disp_host_cache_max, "100G", 0,
	    1024ULL * 1024 * GIB),
	SIZE("dispatcher", "log_max", disp_log_max, "64M", 2, 64ULL * GIB),
	UINT("dispatcher", "pass_budget", disp_pass_budget, "50", 1, 86400),
	SIZE("dispatcher", "output_max", disp_output_max, "2G", 1,
	    1024ULL * GIB),
	SIZE("dispatcher", "container_log_max", disp_container_log_max, "1G",
	    2 * MIB, 1024ULL * GIB),
};

static const char *const level_names[] = {
	"debug",	/* CONF_LOG_DEBUG */
	"info",		/* CONF_LOG_INFO */
	"warn",		/* CONF_LOG_WARN */
	"error",	/* CONF_LOG_ERROR */
};

/* State of one conf_load() pass. */
struct parser {
	const char	*path;
	size_t		 line;
	const char	*section;		/* from keys[], NULL before any */
	size_t		 seen[NITEMS(keys)];	/* line that set each key, 0 */
	struct conf	*c;
	char		*err;
	size_t		 errlen;
};

/*
 * Write "PATH:LINE: [section] key: reason" into p->err, leaving out the
 * parts that are NULL. Returns -1 for the caller to pass on.
 */
static int __attribute__((format(printf, 4, 5)))
perr(struct parser *p, const char *section, const char *key,
    const char *fmt, ...)
{
	va_list	 ap;
	int	 n;
	size_t	 used;

	if (section != NULL && key != NULL)
		n = snprintf(p->err, p->errlen, "%s:%zu: [%s] %s: ",
		    p->path, p->line, section, key);
	else if (section != NULL)
		n = snprintf(p->err, p->errlen, "%s:%zu: [%s]: ",
		    p->path, p->line, section);
	else if (key != NULL)
		n = snprintf(p->err, p->errlen, "%s:%zu: %s: ",
		    p->path, p->line, key);
	else
		n = snprintf(p->err, p->errlen, "%s:%zu: ", p->path, p->line);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	used = (size_t)n;
	va_start(ap, fmt);
	vsnprintf(p->err + used, p->errlen - used, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Parse a size: decimal digits and an optional K, M or G (either case,
 * powers of 1024). Returns 0, or -1 for anything else or overflow.
 */
int
conf_parse_size(const char *s, size_t *out)
{
	char			 digits[21];
	unsigned long long	 v, mult = 1;
	size_t			 len;

	if (s == NULL)
		return -1;
	len = strlen(s);
	if (len == 0)
		return -1;
	switch (s[len - 1]) {
	case 'K': case 'k':
		mult = KIB;
		len--;
		break;
	case 'M': case 'm':
		mult = MIB;
		len--;
		break;
	case 'G': case 'g':
		mult = GIB;
		len--;
		break;
	default:
		break;
	}
	if (len == 0 || len >= sizeof(digits))
		return -1;
	memcpy(digits, s, len);
	digits[len] = '\0';
	if (util_parse_u64(digits, ULLONG_MAX, &v) == -1)
		return -1;
	if (v > SIZE_MAX / mult)
		return -1;
	*out = (size_t)(v * mult);
	return 0;
}

/*
 * A decimal number "DIGITS[.DIGITS]" (no sign, exponent, hex, inf or nan).
 * Returns 0 or -1.
 */
static int
parse_double(const char *s, double *out)
{
	const char	*q = s;
	char		*end = NULL;
	double		 d;

	if (*q < '0' || *q > '9')
		return -1;
	while (*q >= '0' && *q <= '9')
		q++;
	if (*q == '.') {
		q++;
		if (*q < '0' || *q > '9')
			return -1;
		while (*q >= '0' && *q <= '9')
			q++;
	}
	if (*q != '\0')
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(d))
		return -1;
	*out = d;
	return 0;
}

/* true/false, yes/no, on/off, 1/0 in any case. Returns 0 or -1. */
static int
parse_bool(const char *s, int *out)
{
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 ||
	    strcasecmp(s, "on") == 0 || strcmp(s, "1") == 0)
		*out = 1;
	else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0 ||
	    strcasecmp(s, "off") == 0 || strcmp(s, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* True when s is one or more ASCII digits. */
static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/*
 * True when s looks like a size (digits and an optional suffix), so that a
 * failed conf_parse_size() on it means overflow rather than bad syntax.
 */
static int
size_shaped(const char *s)
{
	size_t	 n = strspn(s, "0123456789");

	return n > 0 && (s[n] == '\0' ||
	    (strchr("KkMmGg", s[n]) != NULL && s[n + 1] == '\0'));
}

/*
 * Store value v for key k in c, checked against the key's type and bounds.
 * Returns 0, or -1 with the reason in why.
 */
static int
set_value(struct conf *c, const struct conf_key *k, const char *v,
    char *why, size_t whylen)
{
	char			*field = (char *)c + k->offset;
	unsigned long long	 u;
	size_t			 sz;
	double			 d;
	int			 b;
	size_t			 i;

	if (k->type != CONF_STRING && *v == '\0') {
		snprintf(why, whylen, "empty value");
		return -1;
	}
	switch (k->type) {
	case CONF_STRING:
		free(*(char **)field);
		*(char **)field = xstrdup(v);
		return 0;
	case CONF_BOOL:
		if (parse_bool(v, &b) == -1) {
			snprintf(why, whylen, "not a boolean "
			    "(true/false, yes/no, on/off, 1/0)");
			return -1;
		}
		*(int *)field = b;
		return 0;
	case CONF_UINT:
		if (!all_digits(v)) {
			snprintf(why, whylen, "not a whole number");
			return -1;
		}
		if (util_parse_u64(v, k->max, &u) == -1 || u < k->min) {
			snprintf(why, whylen, "value out of range (%llu..%llu)",
			    k->min, k->max);
			return -1;
		}
		*(unsigned *)field = (unsigned)u;
		return 0;
	case CONF_SIZE:
		if (conf_parse_size(v, &sz) == -1) {
			if (size_shaped(v))
				snprintf(why, whylen, "value out of range "
				    "(%llu..%llu bytes)", k->min, k->max);
			else
				snprintf(why, whylen, "not a size (whole "
				    "number with optional K, M or G suffix)");
			return -1;
		}
		if (sz < k->min || sz > k->max) {
			snprintf(why, whylen, "value out of range "
			    "(%llu..%llu bytes)", k->min, k->max);
			return -1;
		}
		*(size_t *)field = sz;
		return 0;
	case CONF_DOUBLE:
		if (parse_double(v, &d) == -1) {
			snprintf(why, whylen, "not a decimal number");
			return -1;
		}
		if (d < k->dmin || d > k->dmax) {
			snprintf(why, whylen, "value out of range (%g..%g)",
			    k->dmin, k->dmax);
			return -1;
		}
		*(double *)field = d;
		return 0;
	case CONF_LEVEL:
		for (i = 0; i < NITEMS(level_names); i++)
			if (strcmp(v, level_names[i]) == 0) {
				*(enum conf_log_level *)field =
				    (enum conf_log_level)i;
				return 0;
			}
		snprintf(why, whylen, "not a log level "
		    "(debug, info, warn, error)");
		return -1;
	default:
		break;
	}
	snprintf(why, whylen, "internal error: unknown type");
	return -1;
}

/*
 * Reset c to the defaults of the table. Every string field is allocated.
 * NOTE: aborts when a default does not pass its own checks, a bug that the
 * unit tests catch before any release.
 */
void
conf_defaults(struct conf *c)
{
	char	 why[128];
	size_t	 i;

	memset(c, 0, sizeof(*c));
	c->path = xstrdup("");
	for (i = 0; i < NITEMS(keys); i++)
		if (set_value(c, &keys[i], keys[i].def, why,
		    sizeof(why)) == -1) {
			fprintf(stderr, "conf: bad default for [%s] %s: %s\n",
			    keys[i].section, keys[i].key, why);
			abort();
		}
}

/* Free every string of c and reset it to zero. NULL is a no-op. */
void
conf_free(struct conf *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	free(c->path);
	for (i = 0; i < NITEMS(keys); i++)
		if (keys[i].type == CONF_STRING)
			free(*(char **)((char *)c + keys[i].offset));
	memset(c, 0, sizeof(*c));
}

/* $SINGULARITY_CONF when set and not empty, else the compiled-in path. */
const char *
conf_default_path(void)
{
	const char	*env;

	env = getenv("SINGULARITY_CONF");
	if (env != NULL && *env != '\0')
		return env;
	return CONF_DEFAULT_PATH;
}

/*
 * Check that the n bytes of s are well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF) without a control byte other
 * than tab. Returns 0, or -1 with the reason in why.
 */
static int
check_bytes(const unsigned char *s, size_t n, char *why, size_t whylen)
{
	size_t		 i = 0, need, j;
	unsigned	 cp, min;

	while (i < n) {
		if (s[i] < 0x80) {
			if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f) {
				snprintf(why, whylen, "control byte 0x%02x",
				    s[i]);
				return -1;
			}
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			need = 1; cp = s[i] & 0x1f; min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			need = 2; cp = s[i] & 0x0f; min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			need = 3; cp = s[i] & 0x07; min = 0x10000;
		} else
			goto bad;
		if (n - i - 1 < need)
			goto bad;
		for (j = 1; j <= need; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		/* C1 controls are control bytes too. */
		if (cp >= 0x80 && cp <= 0x9f) {
			snprintf(why, whylen, "control character U+%04X", cp);
			return -1;
		}
		i += need + 1;
	}
	return 0;
bad:
	snprintf(why, whylen, "invalid UTF-8 at byte %zu", i + 1);
	return -1;
}

/* Pointer past leading blanks. */
static char *
skip_blank(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Cut trailing blanks of s in place. */
static void
trim_end(char *s)
{
	size_t	 n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* The table's spelling of a known section, or NULL. */
static const char *
find_section(const char *name)
{
	size_t	 i;

	for (i = 0; i < NITEMS(keys); i++)
		if (strcmp(keys[i].section, name) == 0)
			return keys[i].section;
	return NULL;
}

/* Index of key in section in keys[], or -1. */
static int
find_key(const char *section, const char *key)
{
	size_t	 i;

	for (i = 0; i < NITEMS(keys); i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].key, key) == 0)
			return (int)i;
	return -1;
}

/*
 * "[name]" with an optional trailing comment. s starts at '['.
 * Returns 0, or -1 with p->err set.
 */
static int
parse_section(struct parser *p, char *s)
{
	char		*name, *close, *rest;
	const char	*known;

	if ((close = strchr(s, ']')) == NULL)
		return perr(p, NULL, NULL, "missing ']' in section header");
	*close = '\0';
	rest = skip_blank(close + 1);
	name = skip_blank(s + 1);
	trim_end(name);
	if (*name == '\0')
		return perr(p, NULL, NULL, "empty section name");
	if (*rest != '\0' && *rest != '#')
		return perr(p, name, NULL, "trailing junk after section header");
	if ((known = find_section(name)) == NULL)
		return perr(p, name, NULL, "unknown section");
	p->section = known;
	return 0;
}

/*
 * A double-quoted value starting at s (on the opening quote), unescaped in
 * place into *out. Only blanks or a '#' comment may follow the closing quote.
 * Returns 0, or -1 with the reason in why.
 */
static int
unquote(char *s, char **out, char *why, size_t whylen)
{
	char	*r = s + 1, *w = s + 1;

	for (;;) {
		if (*r == '\0') {
			snprintf(why, whylen, "unterminated quoted value");
			return -1;
		}
		if (*r == '"')
			break;
		if (*r == '\\') {
			if (r[1] != '"' && r[1] != '\\') {
				snprintf(why, whylen, "unknown escape in "
				    "quoted value (only \\\" and \\\\)");
				return -1;
			}
			r++;
		}
		*w++ = *r++;
	}
	*w = '\0';
	r = skip_blank(r + 1);
	if (*r != '\0' && *r != '#') {
		snprintf(why, whylen, "trailing junk after quoted value");
		return -1;
	}
	*out = s + 1;
	return 0;
}

/*
 * One "key = value" line (blanks already trimmed at both ends).
 * Returns 0, or -1 with p->err set.
 */
static int
parse_pair(struct parser *p, char *s)
{
	char		*eq, *key, *val, *hash, why[128];
	int		 idx;

	if ((eq = strchr(s, '=')) == NULL)
		return perr(p, NULL, NULL,
		    "missing '=' (expected key = value)");
	*eq = '\0';
	key = s;
	trim_end(key);
	if (*key == '\0')
		return perr(p, NULL, NULL, "missing key before '='");
	if (p->section == NULL)
		return perr(p, NULL, key, "key outside any [section]");
	if ((idx = find_key(p->section, key)) == -1)
		return perr(p, p->section, key, "unknown key");
	if (p->seen[idx] != 0)
		return perr(p, p->section, key,
		    "duplicate key (first set on line %zu)", p->seen[idx]);

	val = skip_blank(eq + 1);
	if (*val == '"') {
		if (unquote(val, &val, why, sizeof(why)) == -1)
			return perr(p, p->section, key, "%s", why);
	} else {
		if ((hash = strchr(val, '#')) != NULL)
			*hash = '\0';
		trim_end(val);
	}
	if (set_value(p->c, &keys[idx], val, why, sizeof(why)) == -1)
		return perr(p, p->section, key, "%s", why);
	p->seen[idx] = p->line;
	return 0;
}

/* One line of n bytes (newline removed). Returns 0 or -1 with p->err set. */
static int
parse_line(struct parser *p, char *line, size_t n)
{
	char	*s, why[64];

	if (check_bytes((unsigned char *)line, n, why, sizeof(why)) == -1)
		return perr(p, NULL, NULL, "%s", why);
	s = skip_blank(line);
	trim_end(s);
	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;
	if (*s == '[')
		return parse_section(p, s);
	return parse_pair(p, s);
}

/*
 * Read one line of f into buf (CONF_LINE_MAX + 1 bytes), without its
 * newline, NUL bytes kept and counted in *n. Returns 1 for a line, 0 at end
 * of file, -1 for an overlong line, -2 for a read error.
 */
static int
read_line(FILE *f, char *buf, size_t *n)
{
	int	 ch;

	*n = 0;
	while ((ch = getc(f)) != EOF) {
		if (ch == '\n')
			break;
		if (*n == CONF_LINE_MAX)
			return -1;
		buf[(*n)++] = (char)ch;
	}
	buf[*n] = '\0';
	if (ch == EOF) {
		if (ferror(f))
			return -2;
		if (*n == 0)
			return 0;
	}
	return 1;
}

/*
 * Defaults, then the file at path (NULL: conf_default_path()). Returns 0,
 * or -1 with a message in err and *c emptied. The caller frees a loaded c
 * with conf_free().
 */
int
conf_load(const char *path, struct conf *c, char *err, size_t errlen)
{
	struct parser	 p;
	char		 buf[CONF_LINE_MAX + 1];
	FILE		*f = NULL;
	size_t		 n;
	int		 rc;

	if (path == NULL)
		path = conf_default_path();
	conf_defaults(c);
	free(c->path);
	c->path = xstrdup(path);

	memset(&p, 0, sizeof(p));
	p.path = path;
	p.c = c;
	p.err = err;
	p.errlen = errlen;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto err;
	}
	for (;;) {
		p.line++;
		rc = read_line(f, buf, &n);
		if (rc == 0)
			break;
		if (rc == -1) {
			perr(&p, NULL, NULL, "line longer than %d bytes",
			    CONF_LINE_MAX);
			goto err;
		}
		if (rc == -2) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto err;
		}
		if (parse_line(&p, buf, n) == -1)
			goto err;
	}
	fclose(f);
	return 0;
err:
	if (f != NULL)
		fclose(f);
	conf_free(c);
	return -1;
}

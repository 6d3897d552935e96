/*
 * retry.c: the retry policy of a batch and its failure classes (see
 * retry.h).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "retry.h"

/* The named classes, in the canonical order of a stored list. */
static const char *const named[] = { "host_failure", "oom", "image_pull" };
#define NNAMED	(sizeof(named) / sizeof(named[0]))

/* A set of classes while a list is parsed. */
struct classes {
	unsigned char	 named[NNAMED];
	unsigned char	 exit[256];
};

/*
 * The exit code of "exit:N" (n bytes), or -1 when it is not one with N a
 * decimal 1..255 without sign or leading zero.
 */
static int
exit_code_of(const char *s, size_t n)
{
	size_t	 i;
	int	 v = 0;

	if (n < 6 || n > 8 || memcmp(s, "exit:", 5) != 0 || s[5] == '0')
		return -1;
	for (i = 5; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 255 ? v : -1;
}

/* The index of a named class of n bytes, or -1. */
static int
named_of(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < NNAMED; i++)
		if (strlen(named[i]) == n && memcmp(named[i], s, n) == 0)
			return (int)i;
	return -1;
}

/* See retry.h. */
int
retry_class_valid(const char *s, size_t n)
{
	return s != NULL && (named_of(s, n) >= 0 || exit_code_of(s, n) > 0);
}

/* Add class s (n bytes) to c. Returns 0, or -1 when it is none. */
static int
classes_add(struct classes *c, const char *s, size_t n)
{
	int	 k;

	if ((k = named_of(s, n)) >= 0)
		c->named[k] = 1;
	else if ((k = exit_code_of(s, n)) > 0)
		c->exit[k] = 1;
	else
		return -1;
	return 0;
}

/* The normalized list of c into on (RETRY_ON_MAX bytes, always enough). */
static void
classes_text(const struct classes *c, char on[RETRY_ON_MAX])
{
	size_t	 i, o = 0;

	on[0] = '\0';
	for (i = 0; i < NNAMED; i++)
		if (c->named[i])
			o += (size_t)snprintf(on + o, RETRY_ON_MAX - o, "%s%s",
			    o ? "," : "", named[i]);
	for (i = 1; i < 256; i++)
		if (c->exit[i])
			o += (size_t)snprintf(on + o, RETRY_ON_MAX - o,
			    "%sexit:%zu", o ? "," : "", i);
}

/* See retry.h. */
int
retry_parse(const cJSON *item, struct retry_policy *out, char *msg,
    size_t msglen)
{
	struct classes	 c;
	const cJSON	*a, *on, *e;
	double		 v;

	out->attempts = RETRY_ATTEMPTS_DEFAULT;
	snprintf(out->on, sizeof(out->on), "%s", RETRY_ON_DEFAULT);
	if (item == NULL || cJSON_IsNull(item))
		return 0;
	if (!cJSON_IsObject(item)) {
		snprintf(msg, msglen, "retry must be an object "
		    "{\"attempts\", \"on\"}");
		return 400;
	}
	a = cJSON_GetObjectItemCaseSensitive(item, "attempts");
	on = cJSON_GetObjectItemCaseSensitive(item, "on");
	if (a != NULL && !cJSON_IsNull(a) && !cJSON_IsNumber(a)) {
		snprintf(msg, msglen, "retry.attempts must be a number");
		return 400;
	}
	if (on != NULL && !cJSON_IsNull(on) && !cJSON_IsArray(on)) {
		snprintf(msg, msglen, "retry.on must be an array of "
		    "failure classes");
		return 400;
	}
	if (cJSON_IsArray(on))
		cJSON_ArrayForEach(e, on)
			if (!cJSON_IsString(e)) {
				snprintf(msg, msglen, "retry.on must hold "
				    "strings");
				return 400;
			}
	if (cJSON_IsNumber(a)) {
		v = a->valuedouble;
		if (!isfinite(v) || v != floor(v) || v < 1 ||
		    v > RETRY_ATTEMPTS_MAX) {
			snprintf(msg, msglen, "retry.attempts must be a whole "
			    "number from 1 to %d", RETRY_ATTEMPTS_MAX);
			return 422;
		}
		out->attempts = (unsigned)v;
	}
	if (!cJSON_IsArray(on))
		return 0;
	memset(&c, 0, sizeof(c));
	cJSON_ArrayForEach(e, on)
		if (classes_add(&c, e->valuestring,
		    strlen(e->valuestring)) == -1) {
			snprintf(msg, msglen, "retry.on: unknown failure class "
			    "(host_failure, oom, image_pull or exit:N with N "
			    "from 1 to 255)");
			return 422;
		}
	classes_text(&c, out->on);
	return 0;
}

/* See retry.h. */
int
retry_on_has(const char *on, const char *cls)
{
	const char	*p, *comma;
	size_t		 n, len;

	if (on == NULL || cls == NULL || (len = strlen(cls)) == 0)
		return 0;
	for (p = on; *p != '\0'; p = comma + 1) {
		if ((comma = strchr(p, ',')) == NULL)
			comma = p + strlen(p);
		n = (size_t)(comma - p);
		if (n == len && memcmp(p, cls, n) == 0)
			return 1;
		if (*comma == '\0')
			break;
	}
	return 0;
}

/* See retry.h. */
int
retry_should(const char *on, unsigned attempts, unsigned attempt,
    const char *cls)
{
	return attempt < attempts && retry_on_has(on, cls);
}

/* See retry.h. */
void
retry_exit_class(int code, char cls[RETRY_CLASS_MAX])
{
	if (code >= 1 && code <= 255)
		snprintf(cls, RETRY_CLASS_MAX, "exit:%d", code);
	else
		cls[0] = '\0';
}

/* See retry.h. */
cJSON *
retry_json(unsigned attempts, const char *on)
{
	cJSON		*o, *arr, *s;
	const char	*p, *comma;
	char		 cls[RETRY_CLASS_MAX];
	size_t		 n;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	if (cJSON_AddNumberToObject(o, "attempts", attempts) == NULL ||
	    (arr = cJSON_AddArrayToObject(o, "on")) == NULL)
		goto err;
	for (p = on != NULL ? on : ""; *p != '\0'; p = comma + 1) {
		if ((comma = strchr(p, ',')) == NULL)
			comma = p + strlen(p);
		n = (size_t)(comma - p);
		/* Skip what cannot be a class (never written by us). */
		if (n > 0 && n < sizeof(cls)) {
			memcpy(cls, p, n);
			cls[n] = '\0';
			if ((s = cJSON_CreateString(cls)) == NULL ||
			    !cJSON_AddItemToArray(arr, s)) {
				cJSON_Delete(s);
				goto err;
			}
		}
		if (*comma == '\0')
			break;
	}
	return o;
err:
	cJSON_Delete(o);
	return NULL;
}

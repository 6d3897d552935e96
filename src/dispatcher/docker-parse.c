/*
 * docker-parse.c: the parsers of the Docker Engine's answers (container
 * inspect JSON, RFC 3339 times, the multiplexed log stream, the pull
 * progress stream) and the byte buffer they fill. Pure: no I/O, so they
 * are unit tested and fuzzed on their own (tests/fuzz/fuzz_docker_*.c).
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "docker.h"
#include "util.h"

/* See docker.h. */
void
docker_buf_free(struct docker_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* See docker.h. */
void
docker_buf_add(struct docker_buf *b, const void *p, size_t n)
{
	size_t	 need;

	need = b->len + n + 1;
	if (need > b->cap) {
		b->cap = b->cap ? b->cap : 256;
		while (b->cap < need)
			b->cap *= 2;
		b->data = xrealloc(b->data, b->cap);
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* See docker.h. */
void
docker_buf_drop(struct docker_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		if (b->data != NULL)
			b->data[0] = '\0';
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

/* --- parsers --------------------------------------------------------------- */

/* n decimal digits at s into *v; returns 0 or -1. */
static int
digits(const char *s, int n, int *v)
{
	int	 i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* See docker.h. */
int
docker_parse_time(const char *s, long long *ms)
{
	struct tm	 tm;
	int		 y, mo, d, h, mi, se, frac = 0, nfrac = 0, oh, om;
	long long	 off = 0;
	time_t		 t;
	size_t		 i;

	*ms = 0;
	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' ||
	    digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &se))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60)
		return -1;
	i = 19;
	if (s[i] == '.') {
		for (i++; s[i] >= '0' && s[i] <= '9'; i++, nfrac++)
			if (nfrac < 3)
				frac = frac * 10 + (s[i] - '0');
		if (nfrac == 0)
			return -1;
		for (; nfrac < 3; nfrac++)
			frac *= 10;
	}
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		if (digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
		    digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		off = (oh * 3600LL + om * 60LL) * (s[i] == '+' ? 1 : -1);
		i += 6;
	} else
		return -1;
	if (s[i] != '\0')
		return -1;
	if (y <= 1)
		return 0;	/* Go's zero time: never */
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*ms = ((long long)t - off) * 1000 + frac;
	if (*ms < 0)
		*ms = 0;
	return 0;
}

/* See docker.h. */
int
docker_parse_inspect(const char *p, size_t n, struct docker_state *st)
{
	cJSON		*j = NULL;
	const cJSON	*s, *f;
	int		 rc = -1;

	memset(st, 0, sizeof(*st));
	if ((j = cJSON_ParseWithLength(p, n)) == NULL || !cJSON_IsObject(j))
		goto out;
	f = cJSON_GetObjectItemCaseSensitive(j, "Id");
	if (!cJSON_IsString(f) || f->valuestring[0] == '\0' ||
	    strlen(f->valuestring) >= sizeof(st->id))
		goto out;
	snprintf(st->id, sizeof(st->id), "%s", f->valuestring);
	if (!cJSON_IsObject(s = cJSON_GetObjectItemCaseSensitive(j, "State")))
		goto out;
	f = cJSON_GetObjectItemCaseSensitive(s, "Status");
	if (!cJSON_IsString(f) || strlen(f->valuestring) >= sizeof(st->status))
		goto out;
	snprintf(st->status, sizeof(st->status), "%s", f->valuestring);
	st->running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s,
	    "Running"));
	st->oom_killed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s,
	    "OOMKilled"));
	f = cJSON_GetObjectItemCaseSensitive(s, "ExitCode");
	if (cJSON_IsNumber(f) && f->valuedouble >= INT_MIN &&
	    f->valuedouble <= INT_MAX)
		st->exit_code = (int)f->valuedouble;
	f = cJSON_GetObjectItemCaseSensitive(s, "StartedAt");
	if (cJSON_IsString(f) && docker_parse_time(f->valuestring,
	    &st->started_ms) != 0)
		st->started_ms = 0;
	f = cJSON_GetObjectItemCaseSensitive(s, "FinishedAt");
	if (cJSON_IsString(f) && docker_parse_time(f->valuestring,
	    &st->finished_ms) != 0)
		st->finished_ms = 0;
	f = cJSON_GetObjectItemCaseSensitive(s, "Error");
	if (cJSON_IsString(f))
		snprintf(st->error, sizeof(st->error), "%s", f->valuestring);
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}

/* See docker.h. */
void
docker_demux_init(struct docker_demux *dm, size_t max, struct docker_buf *out)
{
	memset(dm, 0, sizeof(*dm));
	dm->max = max;
	dm->out = out;
}

/* Append payload, keeping the last dm->max bytes. */
static void
demux_keep(struct docker_demux *dm, const unsigned char *p, size_t n)
{
	struct docker_buf	*b = dm->out;

	if (n >= dm->max) {
		p += n - dm->max;
		n = dm->max;
		b->len = 0;
	}
	docker_buf_add(b, p, n);
	/* Compact lazily: up to twice max is held meanwhile. */
	if (b->len > 2 * dm->max)
		docker_buf_drop(b, b->len - dm->max);
}

/* See docker.h. */
int
docker_demux_feed(struct docker_demux *dm, const void *vp, size_t n)
{
	const unsigned char	*p = vp;
	size_t			 take;

	while (n > 0 && !dm->bad) {
		if (dm->remain > 0) {
			take = n < dm->remain ? n : dm->remain;
			demux_keep(dm, p, take);
			dm->remain -= take;
			p += take;
			n -= take;
			continue;
		}
		take = 8 - dm->hdrlen;
		if (take > n)
			take = n;
		memcpy(dm->hdr + dm->hdrlen, p, take);
		dm->hdrlen += take;
		p += take;
		n -= take;
		if (dm->hdrlen < 8)
			break;
		dm->hdrlen = 0;
		if (dm->hdr[0] > 2 || dm->hdr[1] != 0 || dm->hdr[2] != 0 ||
		    dm->hdr[3] != 0) {
			dm->bad = 1;
			break;
		}
		dm->remain = (size_t)dm->hdr[4] << 24 |
		    (size_t)dm->hdr[5] << 16 | (size_t)dm->hdr[6] << 8 |
		    (size_t)dm->hdr[7];
	}
	if (dm->out->len > dm->max)
		docker_buf_drop(dm->out, dm->out->len - dm->max);
	return dm->bad ? -1 : 0;
}

/* See docker.h. */
int
docker_demux_end(const struct docker_demux *dm)
{
	return dm->bad || dm->hdrlen != 0 || dm->remain != 0 ? -1 : 0;
}

/* See docker.h. */
int
docker_parse_pull(const char *p, size_t n, char *msg, size_t msglen)
{
	const char	*end = p + n, *next;
	cJSON		*j;
	const cJSON	*e, *m;
	int		 rc = 0;

	msg[0] = '\0';
	while (p < end && rc == 0) {
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p == end)
			break;
		next = NULL;
		if ((j = cJSON_ParseWithLengthOpts(p, (size_t)(end - p), &next,
		    0)) == NULL) {
			/* Not JSON: skip the line. */
			if ((next = memchr(p, '\n', (size_t)(end - p))) == NULL)
				break;
			p = next + 1;
			continue;
		}
		e = cJSON_GetObjectItemCaseSensitive(j, "errorDetail");
		m = cJSON_GetObjectItemCaseSensitive(e, "message");
		if (!cJSON_IsString(m))
			m = cJSON_GetObjectItemCaseSensitive(j, "error");
		if (cJSON_IsString(m) && m->valuestring != NULL) {
			snprintf(msg, msglen, "%s", m->valuestring);
			rc = -1;
		} else if (e != NULL) {
			snprintf(msg, msglen, "the registry reported an error");
			rc = -1;
		}
		cJSON_Delete(j);
		if (next == NULL || next <= p)
			break;
		p = next;
	}
	return rc;
}

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

/* See docker.h. */
void
docker_lines_feed(struct docker_buf *b, const char *p, size_t n, size_t max,
    void (*fn)(void *, const char *, size_t), void *arg)
{
	char	*nl;
	size_t	 used;

	docker_buf_add(b, p, n);
	while ((nl = memchr(b->data, '\n', b->len)) != NULL) {
		used = (size_t)(nl - b->data) + 1;
		fn(arg, b->data, used);
		docker_buf_drop(b, used);
	}
	if (b->len > max)
		docker_buf_drop(b, b->len);
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

/* "1.41" -> 1041; -1 when malformed. */
static long
api_number(const char *s)
{
	unsigned long long	 maj, min;
	const char		*dot;
	char			 tmp[16];

	if (s == NULL || (dot = strchr(s, '.')) == NULL ||
	    (size_t)(dot - s) >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, (size_t)(dot - s));
	tmp[dot - s] = '\0';
	if (util_parse_u64(tmp, 1000, &maj) != 0 ||
	    util_parse_u64(dot + 1, 999, &min) != 0)
		return -1;
	return (long)(maj * 1000 + min);
}

/* See docker.h. */
int
docker_parse_version(const char *p, size_t n, char *msg, size_t msglen)
{
	cJSON		*j;
	const cJSON	*api, *minapi;
	long		 want = api_number(DOCKER_API_VERSION);
	int		 rc = -1;

	msg[0] = '\0';
	if ((j = cJSON_ParseWithLength(p, n)) == NULL || !cJSON_IsObject(j)) {
		snprintf(msg, msglen, "the answer to GET /version is not "
		    "JSON");
		goto out;
	}
	api = cJSON_GetObjectItemCaseSensitive(j, "ApiVersion");
	minapi = cJSON_GetObjectItemCaseSensitive(j, "MinAPIVersion");
	if (!cJSON_IsString(api) || api_number(api->valuestring) < want) {
		snprintf(msg, msglen, "speaks Docker API %s; %s or newer is "
		    "needed", cJSON_IsString(api) ? api->valuestring :
		    "(unknown)", DOCKER_API_VERSION);
		goto out;
	}
	if (cJSON_IsString(minapi) && (api_number(minapi->valuestring) < 0 ||
	    api_number(minapi->valuestring) > want)) {
		snprintf(msg, msglen, "no longer speaks Docker API %s "
		    "(minimum %s)", DOCKER_API_VERSION, minapi->valuestring);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}

/* A string member of o into out (truncated), "" when absent. */
static void
str_of(const cJSON *o, const char *key, char *out, size_t outlen)
{
	const cJSON	*f = cJSON_GetObjectItemCaseSensitive(o, key);

	if (cJSON_IsString(f) && f->valuestring != NULL)
		snprintf(out, outlen, "%s", f->valuestring);
	else
		out[0] = '\0';
}

/* See docker.h. */
int
docker_parse_list(const char *p, size_t n, struct docker_container **out,
    size_t *nout)
{
	cJSON		*j;
	const cJSON	*c, *f, *names, *labels;
	size_t		 i = 0;

	*out = NULL;
	*nout = 0;
	if ((j = cJSON_ParseWithLength(p, n)) == NULL || !cJSON_IsArray(j)) {
		cJSON_Delete(j);
		return -1;
	}
	*out = xcalloc((size_t)cJSON_GetArraySize(j) + 1, sizeof(**out));
	cJSON_ArrayForEach(c, j) {
		struct docker_container *dc = &(*out)[i];

		if (!cJSON_IsObject(c))
			continue;
		str_of(c, "Id", dc->id, sizeof(dc->id));
		str_of(c, "State", dc->state, sizeof(dc->state));
		names = cJSON_GetObjectItemCaseSensitive(c, "Names");
		if (cJSON_IsArray(names) && cJSON_IsString(f =
		    cJSON_GetArrayItem(names, 0)) && f->valuestring != NULL)
			snprintf(dc->name, sizeof(dc->name), "%s",
			    f->valuestring[0] == '/' ? f->valuestring + 1 :
			    f->valuestring);
		labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
		str_of(labels, "singularity.job", dc->job, sizeof(dc->job));
		str_of(labels, "singularity.fill", dc->fill, sizeof(dc->fill));
		if (dc->id[0] != '\0')
			i++;
		else
			memset(dc, 0, sizeof(*dc));
	}
	*nout = i;
	cJSON_Delete(j);
	return 0;
}

/* See docker.h. */
int
docker_parse_event(const char *p, size_t n, struct docker_event *ev)
{
	cJSON		*j;
	const cJSON	*actor, *attr, *f;
	char		 code[16];
	unsigned long long v;

	memset(ev, 0, sizeof(*ev));
	ev->exit_code = -1;
	if ((j = cJSON_ParseWithLength(p, n)) == NULL || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return -1;
	}
	str_of(j, "Type", ev->type, sizeof(ev->type));
	str_of(j, "Action", ev->action, sizeof(ev->action));
	if (ev->action[0] == '\0')
		str_of(j, "status", ev->action, sizeof(ev->action));
	actor = cJSON_GetObjectItemCaseSensitive(j, "Actor");
	attr = cJSON_GetObjectItemCaseSensitive(actor, "Attributes");
	str_of(attr, "name", ev->name, sizeof(ev->name));
	str_of(attr, "singularity.job", ev->job, sizeof(ev->job));
	str_of(attr, "exitCode", code, sizeof(code));
	if (code[0] != '\0' && util_parse_u64(code, 255, &v) == 0)
		ev->exit_code = (int)v;
	f = cJSON_GetObjectItemCaseSensitive(j, "timeNano");
	if (cJSON_IsNumber(f) && f->valuedouble > 0 &&
	    f->valuedouble < 9.2e18)
		ev->time_ns = (long long)f->valuedouble;
	else if (cJSON_IsNumber(f = cJSON_GetObjectItemCaseSensitive(j,
	    "time")) && f->valuedouble > 0 && f->valuedouble < 9.2e9)
		ev->time_ns = (long long)f->valuedouble * 1000000000LL;
	cJSON_Delete(j);
	return 0;
}

/* See docker.h. */
void
docker_frames_init(struct docker_frames *f)
{
	memset(f, 0, sizeof(*f));
}

/* See docker.h. */
void
docker_frames_free(struct docker_frames *f)
{
	docker_buf_free(&f->pay);
	memset(f, 0, sizeof(*f));
}

/* See docker.h. */
int
docker_frames_feed(struct docker_frames *f, const void *vp, size_t n,
    int (*fn)(void *, int, const char *, size_t), void *arg)
{
	const unsigned char	*p = vp;
	size_t			 take;

	while (n > 0 && !f->bad) {
		if (f->hdrlen < 8) {
			take = 8 - f->hdrlen;
			if (take > n)
				take = n;
			memcpy(f->hdr + f->hdrlen, p, take);
			f->hdrlen += take;
			p += take;
			n -= take;
			if (f->hdrlen < 8)
				break;
			if (f->hdr[0] > 2 || f->hdr[1] != 0 ||
			    f->hdr[2] != 0 || f->hdr[3] != 0) {
				f->bad = 1;
				break;
			}
			f->stream = f->hdr[0];
			f->want = (size_t)f->hdr[4] << 24 |
			    (size_t)f->hdr[5] << 16 | (size_t)f->hdr[6] << 8 |
			    (size_t)f->hdr[7];
			if (f->want > DOCKER_FRAME_MAX) {
				f->bad = 1;
				break;
			}
			f->pay.len = 0;
		}
		take = f->want - f->pay.len;
		if (take > n)
			take = n;
		docker_buf_add(&f->pay, p, take);
		p += take;
		n -= take;
		if (f->pay.len == f->want) {
			f->hdrlen = 0;
			if (fn(arg, f->stream, f->pay.data, f->pay.len) != 0) {
				f->bad = 1;
				break;
			}
			f->pay.len = 0;
		}
	}
	return f->bad ? -1 : 0;
}

/* See docker.h. */
int
docker_frames_end(const struct docker_frames *f)
{
	return f->bad || f->hdrlen != 0 ? -1 : 0;
}

/* See docker.h. */
int
docker_log_ts(const char *p, size_t n, long long *ns, size_t *skip)
{
	char		 ts[40];
	const char	*sp, *dot;
	long long	 ms, frac = 0;
	size_t		 len, i, nd = 0;

	*ns = 0;
	*skip = 0;
	if ((sp = memchr(p, ' ', n < sizeof(ts) ? n : sizeof(ts))) == NULL)
		return -1;
	len = (size_t)(sp - p);
	memcpy(ts, p, len);
	ts[len] = '\0';
	/* Nanoseconds fit a long long until 2262. */
	if (docker_parse_time(ts, &ms) != 0 || ms <= 0 ||
	    ms > LLONG_MAX / 1000000 - 1)
		return -1;
	/* docker_parse_time() keeps milliseconds: the rest of the fraction. */
	if ((dot = memchr(ts, '.', len)) != NULL) {
		for (i = (size_t)(dot - ts) + 1; i < len && ts[i] >= '0' &&
		    ts[i] <= '9'; i++, nd++)
			if (nd >= 3 && nd < 9)
				frac = frac * 10 + (ts[i] - '0');
		for (i = nd < 3 ? 3 : nd; i < 9; i++)
			frac *= 10;
		if (nd > 9)
			return -1;
	}
	*ns = ms * 1000000LL + frac;
	*skip = len + 1;
	return 0;
}

/* See docker.h. */
void
docker_pull_progress_free(struct docker_pull_progress *pp)
{
	free(pp->layer);
	pp->layer = NULL;
	pp->nlayers = 0;
}

/* See docker.h. */
int
docker_pull_line(struct docker_pull_progress *pp, const char *p, size_t n)
{
	cJSON		*j;
	const cJSON	*e, *m, *det, *cur, *tot;
	char		 id[72], status[64];
	size_t		 i;

	if ((j = cJSON_ParseWithLength(p, n)) == NULL || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return -1;
	}
	e = cJSON_GetObjectItemCaseSensitive(j, "errorDetail");
	m = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (!cJSON_IsString(m))
		m = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (cJSON_IsString(m) || e != NULL) {
		if (!pp->failed)
			snprintf(pp->msg, sizeof(pp->msg), "%s",
			    cJSON_IsString(m) && m->valuestring != NULL ?
			    m->valuestring : "the registry reported an error");
		pp->failed = 1;
		cJSON_Delete(j);
		return 0;
	}
	str_of(j, "id", id, sizeof(id));
	str_of(j, "status", status, sizeof(status));
	det = cJSON_GetObjectItemCaseSensitive(j, "progressDetail");
	cur = cJSON_GetObjectItemCaseSensitive(det, "current");
	tot = cJSON_GetObjectItemCaseSensitive(det, "total");
	if (id[0] != '\0' && strncmp(status, "Downloading", 11) == 0 &&
	    cJSON_IsNumber(cur)) {
		for (i = 0; i < pp->nlayers; i++)
			if (strcmp(pp->layer[i].id, id) == 0)
				break;
		if (i == pp->nlayers) {
			pp->layer = xrealloc(pp->layer, (pp->nlayers + 1) *
			    sizeof(*pp->layer));
			memset(&pp->layer[i], 0, sizeof(pp->layer[i]));
			snprintf(pp->layer[i].id, sizeof(pp->layer[i].id),
			    "%s", id);
			pp->nlayers++;
		}
		if (cur->valuedouble >= 0 && cur->valuedouble < 1e15)
			pp->layer[i].cur = (long long)cur->valuedouble;
		if (cJSON_IsNumber(tot) && tot->valuedouble > 0 &&
		    tot->valuedouble < 1e15)
			pp->layer[i].tot = (long long)tot->valuedouble;
	} else if (id[0] != '\0' && (strcmp(status, "Download complete") == 0 ||
	    strcmp(status, "Pull complete") == 0)) {
		for (i = 0; i < pp->nlayers; i++)
			if (strcmp(pp->layer[i].id, id) == 0 &&
			    pp->layer[i].tot > 0)
				pp->layer[i].cur = pp->layer[i].tot;
	}
	pp->current = pp->total = 0;
	for (i = 0; i < pp->nlayers; i++) {
		pp->current += pp->layer[i].cur;
		pp->total += pp->layer[i].tot;
	}
	cJSON_Delete(j);
	return 0;
}

/* See docker.h. */
int
docker_parse_volume(const char *p, size_t n, char *out, size_t outlen)
{
	cJSON	*j;
	int	 rc = -1;

	out[0] = '\0';
	if ((j = cJSON_ParseWithLength(p, n)) != NULL && cJSON_IsObject(j)) {
		str_of(j, "Mountpoint", out, outlen);
		rc = out[0] == '/' ? 0 : -1;
	}
	cJSON_Delete(j);
	return rc;
}

/* See docker.h. */
int
docker_parse_volumes(const char *p, size_t n, char ***out, size_t *nout)
{
	cJSON		*j;
	const cJSON	*v, *name;
	size_t		 i = 0;

	*out = NULL;
	*nout = 0;
	if ((j = cJSON_ParseWithLength(p, n)) == NULL || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return -1;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "Volumes");
	if (!cJSON_IsArray(v)) {
		/* null (no volume) is an empty list, anything else not. */
		int	 rc = v == NULL || cJSON_IsNull(v) ? 0 : -1;

		cJSON_Delete(j);
		return rc;
	}
	*out = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(**out));
	cJSON_ArrayForEach(name, v) {
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(name, "Name");

		if (cJSON_IsString(nm) && nm->valuestring != NULL &&
		    nm->valuestring[0] != '\0')
			(*out)[i++] = xstrdup(nm->valuestring);
	}
	*nout = i;
	cJSON_Delete(j);
	return 0;
}

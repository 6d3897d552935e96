/*
 * batch.c: validation of a batch body, its creation in one transaction,
 * batches as the API shows them, and batch cancel (see batch.h).
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "batch.h"
#include "dataset.h"
#include "db.h"
#include "job.h"
#include "json.h"
#include "log.h"
#include "util.h"

const char *const batch_status_names[BATCH__MAX] = {
	"QUEUED", "PROCESSING", "COMPLETED", "ERRORED", "CANCELED",
};

const char *const batch_mode_names[2] = { "pilot", "production" };

const char *const batch_direction_names[2] = { "max", "min" };

/* The statuses a cancel may leave, as SQL (the jobs contract). */
#define CANCELLABLE	"('QUEUED', 'PENDING', 'PROCESSING')"
/* Hosts that count for "could ever hold" (disabled ones do not). */
#define HOST_USABLE	"state IN ('active', 'draining')"
/* Batch ids per "IN (...)" statement of a list; padded with 0 (no id). */
#define IN_CHUNK	32
#define IN_32 \
	"(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"

/* See batch.h. */
int
batch_status_parse(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < BATCH__MAX; i++)
		if (strlen(batch_status_names[i]) == n &&
		    strncasecmp(batch_status_names[i], s, n) == 0)
			return (int)i;
	return -1;
}

/*
 * See batch.h. QUEUED while all are queued, PROCESSING while any is not
 * final, then ERRORED when some errored, CANCELED when all were
 * cancelled, else COMPLETED. A batch always has a job; none counts as
 * QUEUED.
 */
enum batch_status
batch_status_derive(const unsigned long long counts[JOB__MAX])
{
	unsigned long long	 total = 0, notfinal = 0;
	size_t			 i;

	for (i = 0; i < JOB__MAX; i++) {
		total += counts[i];
		if (!job_status_final((enum job_status)i))
			notfinal += counts[i];
	}
	if (counts[JOB_QUEUED] == total)
		return BATCH_QUEUED;
	if (notfinal > 0)
		return BATCH_PROCESSING;
	if (counts[JOB_ERRORED] > 0)
		return BATCH_ERRORED;
	if (counts[JOB_CANCELED] == total)
		return BATCH_CANCELED;
	return BATCH_COMPLETED;
}

/* --- grammar ------------------------------------------------------------ */

static int
is_lower_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
is_alnum(unsigned char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/*
 * One path component of a repository name:
 * [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
 */
static int
path_component_valid(const char *s, size_t n)
{
	size_t	 i = 0;

	if (n == 0 || !is_lower_alnum((unsigned char)s[0]))
		return 0;
	while (i < n) {
		if (is_lower_alnum((unsigned char)s[i])) {
			i++;
			continue;
		}
		if (s[i] == '.')
			i++;
		else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else
			return 0;
		if (i >= n || !is_lower_alnum((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* A port: 1 to 5 digits, at most 65535. */
static int
port_valid(const char *s, size_t n)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (n == 0 || n > 5)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v <= 65535;
}

/*
 * A registry: host[:port], host a DNS name of components
 * [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])? joined by '.', or an IPv6
 * address in brackets.
 */
static int
domain_valid(const char *s, size_t n)
{
	const char	*close, *colon;
	size_t		 hlen, i, start;

	if (n > 0 && s[0] == '[') {
		if ((close = memchr(s, ']', n)) == NULL || close == s + 1)
			return 0;
		for (i = 1; s + i < close; i++)
			if (!(s[i] == ':' || s[i] == '.' ||
			    (s[i] >= '0' && s[i] <= '9') ||
			    (s[i] >= 'a' && s[i] <= 'f') ||
			    (s[i] >= 'A' && s[i] <= 'F')))
				return 0;
		hlen = (size_t)(close - s) + 1;
		if (hlen == n)
			return 1;
		return s[hlen] == ':' && port_valid(s + hlen + 1, n - hlen - 1);
	}
	if ((colon = memchr(s, ':', n)) != NULL) {
		hlen = (size_t)(colon - s);
		if (!port_valid(colon + 1, n - hlen - 1))
			return 0;
	} else
		hlen = n;
	if (hlen == 0)
		return 0;
	for (start = 0, i = 0; i <= hlen; i++) {
		if (i < hlen && s[i] != '.')
			continue;
		/* Component s[start..i). */
		if (i == start || !is_alnum((unsigned char)s[start]) ||
		    !is_alnum((unsigned char)s[i - 1]))
			return 0;
		for (; start < i; start++)
			if (!is_alnum((unsigned char)s[start]) &&
			    s[start] != '-')
				return 0;
		start = i + 1;
	}
	return 1;
}

/* See batch.h. */
int
batch_image_valid(const char *s, size_t n)
{
	const char	*slash, *p, *end;
	size_t		 flen, i;
	int		 domain = 0;

	if (n == 0 || n > BATCH_IMAGE_MAX)
		return 0;
	p = s;
	end = s + n;
	if ((slash = memchr(s, '/', n)) != NULL) {
		flen = (size_t)(slash - s);
		if (memchr(s, '.', flen) != NULL || memchr(s, ':', flen) != NULL ||
		    (flen == 9 && memcmp(s, "localhost", 9) == 0))
			domain = 1;
		for (i = 0; i < flen && !domain; i++)
			if (s[i] >= 'A' && s[i] <= 'Z')
				domain = 1;
		if (domain) {
			if (!domain_valid(s, flen))
				return 0;
			p = slash + 1;
		}
	}
	for (;;) {
		slash = memchr(p, '/', (size_t)(end - p));
		if (!path_component_valid(p, slash == NULL ?
		    (size_t)(end - p) : (size_t)(slash - p)))
			return 0;
		if (slash == NULL)
			return 1;
		p = slash + 1;
	}
}

/* See batch.h. */
int
batch_tag_valid(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > BATCH_TAG_MAX)
		return 0;
	if (!is_alnum((unsigned char)s[0]) && s[0] != '_')
		return 0;
	for (i = 1; i < n; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

/* See batch.h. */
int
batch_command_check(const char *s, size_t n, const char **why)
{
	size_t	 i;
	int	 blank = 1;

	if (n == 0) {
		*why = "command must not be empty";
		return -1;
	}
	if (n > BATCH_COMMAND_MAX) {
		*why = "command is longer than 4096 bytes";
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
		    c == 0x7f) {
			*why = "command must not hold control characters "
			    "other than tab and line breaks";
			return -1;
		}
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			blank = 0;
	}
	if (blank) {
		*why = "command must not be blank";
		return -1;
	}
	return 0;
}

/* See batch.h. */
int
batch_metric_valid(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > BATCH_METRIC_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

/* See batch.h. */
int
batch_direction_parse(const char *s, size_t n)
{
	if (n == 3 && strncasecmp(s, "max", 3) == 0)
		return BATCH_DIR_MAX;
	if (n == 3 && strncasecmp(s, "min", 3) == 0)
		return BATCH_DIR_MIN;
	return -1;
}

/* See batch.h. */
int
batch_metric_of(const cJSON *result, const char *metric, double *v)
{
	const cJSON	*c;
	const char	*p = metric, *dot;
	char		 key[BATCH_METRIC_MAX + 1];
	size_t		 n;

	if (!cJSON_IsObject(result))
		return 0;
	c = cJSON_GetObjectItemCaseSensitive(result, metric);
	if (!cJSON_IsNumber(c)) {
		c = result;
		for (;;) {
			dot = strchr(p, '.');
			n = dot != NULL ? (size_t)(dot - p) : strlen(p);
			if (n >= sizeof(key) || !cJSON_IsObject(c))
				return 0;
			memcpy(key, p, n);
			key[n] = '\0';
			c = cJSON_GetObjectItemCaseSensitive(c, key);
			if (dot == NULL)
				break;
			p = dot + 1;
		}
	}
	if (!cJSON_IsNumber(c) || !isfinite(c->valuedouble))
		return 0;
	*v = c->valuedouble;
	return 1;
}

/* See batch.h. */
int
batch_env_name_valid(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || !((s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* See batch.h. */
int
batch_env_reserved(const char *s, size_t n)
{
	static const char *const prefix[] = { "SINGULARITY_", "NVIDIA_" };
	static const char *const name[] = { "CUDA_VISIBLE_DEVICES",
	    "LD_PRELOAD", "LD_LIBRARY_PATH" };
	size_t	 i, k;

	for (i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
		if (n >= (k = strlen(prefix[i])) &&
		    memcmp(s, prefix[i], k) == 0)
			return 1;
	for (i = 0; i < sizeof(name) / sizeof(name[0]); i++)
		if (n == strlen(name[i]) && memcmp(s, name[i], n) == 0)
			return 1;
	return 0;
}

/* See batch.h. */
const char *
batch_env_check(const cJSON *env, char **json)
{
	const cJSON	*v, *w;
	size_t		 count = 0, bytes = 0, n;

	*json = NULL;
	if (env == NULL || cJSON_IsNull(env))
		return NULL;
	if (!cJSON_IsObject(env))
		return "env must be an object of \"NAME\": \"value\" strings";
	cJSON_ArrayForEach(v, env) {
		n = strlen(v->string);
		if (!batch_env_name_valid(v->string, n))
			return "env names must be [A-Z_][A-Z0-9_]*";
		if (batch_env_reserved(v->string, n))
			return "env must not set SINGULARITY_*, NVIDIA_*, "
			    "CUDA_VISIBLE_DEVICES, LD_PRELOAD or "
			    "LD_LIBRARY_PATH (reserved: the dispatcher gives "
			    "a job its GPUs)";
		if (!cJSON_IsString(v))
			return "env values must be strings";
		for (w = env->child; w != v; w = w->next)
			if (strcmp(w->string, v->string) == 0)
				return "env names a variable twice";
		if (++count > BATCH_ENV_MAX)
			return "env holds more than 64 variables";
		bytes += n + strlen(v->valuestring);
		if (bytes > BATCH_ENV_BYTES)
			return "env is larger than 32 KiB (names and values)";
	}
	if (count == 0)
		return NULL;
	if ((*json = cJSON_PrintUnformatted(env)) == NULL)
		return "env could not be stored";
	return NULL;
}

/* --- validation ------------------------------------------------------------ */

/* See batch.h. */
int
batch_refuse(struct batch_error *err, int status, const char *code,
    const char *fmt, ...)
{
	va_list	 ap;

	err->status = status;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return 1;
}

/* See batch.h. */
int
batch_objective_check(const cJSON *obj, char metric[BATCH_METRIC_MAX + 1],
    enum batch_direction *dir, struct batch_error *err)
{
	const cJSON	*m, *d;
	int		 k;

	snprintf(metric, BATCH_METRIC_MAX + 1, "fitness_score");
	*dir = BATCH_DIR_MAX;
	if (obj == NULL || cJSON_IsNull(obj))
		return 0;
	if (!cJSON_IsObject(obj))
		return batch_refuse(err, 400, "invalid_objective", "objective must "
		    "be an object {\"metric\", \"direction\"}");
	m = cJSON_GetObjectItemCaseSensitive(obj, "metric");
	d = cJSON_GetObjectItemCaseSensitive(obj, "direction");
	if (m != NULL && !cJSON_IsNull(m) && !cJSON_IsString(m))
		return batch_refuse(err, 400, "invalid_objective",
		    "objective.metric must be a string");
	if (d != NULL && !cJSON_IsNull(d) && !cJSON_IsString(d))
		return batch_refuse(err, 400, "invalid_objective",
		    "objective.direction must be a string");
	if (cJSON_IsString(m)) {
		if (!batch_metric_valid(m->valuestring,
		    strlen(m->valuestring)))
			return batch_refuse(err, 422, "invalid_objective",
			    "objective.metric must be 1 to 128 characters of "
			    "A-Z a-z 0-9 _ . -");
		snprintf(metric, BATCH_METRIC_MAX + 1, "%s", m->valuestring);
	}
	if (cJSON_IsString(d)) {
		if ((k = batch_direction_parse(d->valuestring,
		    strlen(d->valuestring))) < 0)
			return batch_refuse(err, 422, "invalid_objective",
			    "objective.direction must be max or min");
		*dir = (enum batch_direction)k;
	}
	return 0;
}

/* A data set looked up once per distinct reference of the request. */
struct set_cache {
	const char		*ref;	/* points into the cJSON tree */
	int			 rc;	/* 0 or BATCH_SET_NOT_FOUND */
	struct batch_set	 set;
	size_t			 next;	/* round-robin turn over pilots */
	size_t			 turn;	/* the entry whose next counts: the
					   first of the same set (a set named
					   by name and by UUID) */
};

/*
 * Split the image field of one job into name and tag, applying image_tag
 * (NULL when absent or null). Returns NULL with job->image and
 * job->image_tag set (owned), or the sentence of the failure.
 */
static const char *
job_image(struct batch_job *job, const char *image, const cJSON *tag)
{
	const char	*slash, *colon, *name_end, *t = NULL;
	size_t		 n = strlen(image), nlen, tlen = 0;

	if (memchr(image, '@', n) != NULL)
		return "image digests (@sha256:...) are not supported: "
		    "give a tag";
	slash = strrchr(image, '/');
	colon = strchr(slash == NULL ? image : slash, ':');
	name_end = colon == NULL ? image + n : colon;
	nlen = (size_t)(name_end - image);
	if (!batch_image_valid(image, nlen))
		return "image is not a valid Docker image reference "
		    "([registry[:port]/]lowercase path, at most 255 characters)";
	if (colon != NULL) {
		t = colon + 1;
		tlen = strlen(t);
		if (!batch_tag_valid(t, tlen))
			return "the tag in image is not a valid tag";
	}
	if (tag != NULL && !cJSON_IsNull(tag)) {
		if (!cJSON_IsString(tag))
			return "image_tag must be a string";
		if (!batch_tag_valid(tag->valuestring,
		    strlen(tag->valuestring)))
			return "image_tag must be 1 to 128 characters of "
			    "A-Z a-z 0-9 _ . - not starting with . or -";
		if (t != NULL && (tlen != strlen(tag->valuestring) ||
		    memcmp(t, tag->valuestring, tlen) != 0))
			return "image carries a tag different from image_tag";
		t = tag->valuestring;
		tlen = strlen(t);
	}
	if (t == NULL) {
		t = "latest";
		tlen = 6;
	}
	job->image = xmalloc(nlen + 1);
	memcpy(job->image, image, nlen);
	job->image[nlen] = '\0';
	job->image_tag = xmalloc(tlen + 1);
	memcpy(job->image_tag, t, tlen);
	job->image_tag[tlen] = '\0';
	return NULL;
}

/*
 * Check one job but for its data set. Returns NULL, or the sentence of
 * the failure; *ref receives data_set_id.
 */
static const char *
job_check(struct batch_job *job, const cJSON *j, const char **ref)
{
	const cJSON	*image, *cmd, *ds;
	const char	*why;
	size_t		 n;

	if (!cJSON_IsObject(j))
		return "job must be a JSON object";
	image = cJSON_GetObjectItemCaseSensitive(j, "image");
	cmd = cJSON_GetObjectItemCaseSensitive(j, "command");
	ds = cJSON_GetObjectItemCaseSensitive(j, "data_set_id");
	if (!cJSON_IsString(image))
		return "image is required and must be a string";
	if ((why = job_image(job, image->valuestring,
	    cJSON_GetObjectItemCaseSensitive(j, "image_tag"))) != NULL)
		return why;
	if (!cJSON_IsString(cmd))
		return "command is required and must be a string";
	n = strlen(cmd->valuestring);
	if (batch_command_check(cmd->valuestring, n, &why) == -1)
		return why;
	if (!cJSON_IsString(ds))
		return "data_set_id is required and must be a string";
	n = strlen(ds->valuestring);
	if (n == 0 || n > BATCH_REF_MAX)
		return "no such data set";
	if ((why = batch_env_check(cJSON_GetObjectItemCaseSensitive(j, "env"),
	    &job->env)) != NULL) {
		job->error_code = "invalid_env";
		return why;
	}
	job->command = xstrdup(cmd->valuestring);
	*ref = ds->valuestring;
	return NULL;
}

/*
 * Place a job on the data set of c (looked up): the pilot/production
 * rules and the round-robin spread of a set's pilots, *next being the
 * set's turn. Returns NULL or the sentence of the failure.
 */
static const char *
job_place(struct batch_job *job, enum batch_mode mode,
    const struct set_cache *c, size_t *next)
{
	const struct batch_pilot *p;

	if (c->rc == BATCH_SET_NOT_FOUND)
		return "no such data set";
	if (mode == BATCH_PRODUCTION) {
		if (c->set.is_pilot)
			return "a pilot sub-set cannot be used in production "
			    "mode: name its data set";
		if (c->set.shard_count <= 0)
			return "the data set has no shards";
		job->dataset_id = c->set.id;
		memcpy(job->dataset_uuid, c->set.uuid, sizeof(c->set.uuid));
		return NULL;
	}
	if (c->set.is_pilot) {
		if (c->set.shard_count <= 0)
			return "the pilot sub-set has no shards";
		job->dataset_id = c->set.id;
		memcpy(job->dataset_uuid, c->set.uuid, sizeof(c->set.uuid));
		return NULL;
	}
	if (c->set.npilots_all == 0)
		return "the data set has no pilot sub-sets (pilot mode runs "
		    "on them)";
	if (c->set.npilots == 0 || c->set.pilots == NULL)
		return "no pilot sub-set of the data set holds a shard";
	p = &c->set.pilots[*next % c->set.npilots];
	(*next)++;
	job->dataset_id = p->id;
	memcpy(job->dataset_uuid, p->uuid, sizeof(p->uuid));
	return NULL;
}

/* Round x to 0.001 and print it as "%.3f" into text. */
static double
milli(double x, char text[32])
{
	double	 r = round(x * 1000.0) / 1000.0;

	snprintf(text, 32, "%.3f", r);
	return r;
}

/* The "retry" item into *p (retry_parse()): 400/422 invalid_retry. */
static int
retry_check(const cJSON *root, struct retry_policy *p,
    struct batch_error *err)
{
	int	 st;

	st = retry_parse(cJSON_GetObjectItemCaseSensitive(root, "retry"), p,
	    err->msg, sizeof(err->msg));
	if (st == 0)
		return 0;
	err->status = st;
	err->code = "invalid_retry";
	return 1;
}

/*
 * The "auto_promote" item of a body (NULL or JSON null: none):
 * {"top_k": N}, N from 1 to BATCH_TOP_MAX, in a pilot batch only (the
 * promotion reruns pilot configurations on the whole data). Returns 0
 * with out->auto_promote_top_k set, or 1 with *err.
 */
static int
auto_promote_check(const cJSON *ap, struct batch_spec *out,
    struct batch_error *err)
{
	const cJSON	*k;
	double		 v;

	if (ap == NULL || cJSON_IsNull(ap))
		return 0;
	if (!cJSON_IsObject(ap))
		return batch_refuse(err, 400, "invalid_auto_promote",
		    "auto_promote must be an object {\"top_k\": N}");
	k = cJSON_GetObjectItemCaseSensitive(ap, "top_k");
	if (!cJSON_IsNumber(k))
		return batch_refuse(err, 400, "invalid_auto_promote",
		    "auto_promote.top_k is required and must be a number");
	v = k->valuedouble;
	if (!isfinite(v) || v != floor(v) || v < 1 || v > BATCH_TOP_MAX)
		return batch_refuse(err, 422, "invalid_auto_promote",
		    "auto_promote.top_k must be a whole number from 1 to %d",
		    BATCH_TOP_MAX);
	if (out->mode != BATCH_PILOT)
		return batch_refuse(err, 422, "invalid_auto_promote",
		    "auto_promote is for pilot batches: a production batch "
		    "already runs on the whole data");
	out->auto_promote_top_k = (unsigned)v;
	return 0;
}

/*
 * The top-level fields: mode, requisitions, jobs. Returns 0 with
 * out->mode, cpu, gpu, ram set and *jobs the array, or 1 with *err.
 */
static int
check_top(const cJSON *root, const struct batch_limits *lim,
    struct batch_spec *out, const cJSON **jobs, struct batch_error *err)
{
	const cJSON	*mode, *req, *cpu, *gpu, *arr;
	double		 g;
	int		 n;

	mode = cJSON_GetObjectItemCaseSensitive(root, "mode");
	req = cJSON_GetObjectItemCaseSensitive(root, "requisitions");
	arr = cJSON_GetObjectItemCaseSensitive(root, "jobs");

	if (!cJSON_IsString(mode))
		return batch_refuse(err, 400, "invalid_mode",
		    "mode is required and must be a string");
	if (strcasecmp(mode->valuestring, "pilot") == 0)
		out->mode = BATCH_PILOT;
	else if (strcasecmp(mode->valuestring, "production") == 0)
		out->mode = BATCH_PRODUCTION;
	else
		return batch_refuse(err, 422, "invalid_mode",
		    "mode must be pilot or production");

	if (!cJSON_IsObject(req))
		return batch_refuse(err, 400, "invalid_requisitions",
		    "requisitions is required and must be an object "
		    "{\"cpu\", \"gpu\"}");
	cpu = cJSON_GetObjectItemCaseSensitive(req, "cpu");
	gpu = cJSON_GetObjectItemCaseSensitive(req, "gpu");
	if (!cJSON_IsNumber(cpu))
		return batch_refuse(err, 400, "invalid_requisitions",
		    "requisitions.cpu is required and must be a number");
	if (gpu != NULL && !cJSON_IsNull(gpu) && !cJSON_IsNumber(gpu))
		return batch_refuse(err, 400, "invalid_requisitions",
		    "requisitions.gpu must be a number");
	if (!isfinite(cpu->valuedouble) || cpu->valuedouble <= 0 ||
	    cpu->valuedouble > BATCH_CPU_MAX ||
	    round(cpu->valuedouble * 1000.0) < 1.0)
		return batch_refuse(err, 422, "invalid_requisitions",
		    "requisitions.cpu must be from 0.001 to %.0f",
		    BATCH_CPU_MAX);
	g = cJSON_IsNumber(gpu) ? gpu->valuedouble : 0;
	if (!isfinite(g) || g != floor(g) || g < 0 || g > BATCH_GPU_MAX)
		return batch_refuse(err, 422, "invalid_requisitions",
		    "requisitions.gpu must be a whole number from 0 to %d",
		    BATCH_GPU_MAX);
	out->cpu = milli(cpu->valuedouble, out->cpu_text);
	out->gpu = (unsigned)g;
	out->ram_gb = milli(out->cpu * lim->ram_per_cpu_gb +
	    (double)out->gpu * lim->ram_per_gpu_gb, out->ram_text);

	if (!cJSON_IsArray(arr))
		return batch_refuse(err, 400, "invalid_jobs",
		    "jobs is required and must be an array");
	n = cJSON_GetArraySize(arr);
	if (n == 0)
		return batch_refuse(err, 422, "invalid_jobs",
		    "jobs must hold at least one job");
	if ((unsigned)n > lim->max_jobs)
		return batch_refuse(err, 422, "too_many_jobs",
		    "a batch holds at most %u jobs", lim->max_jobs);
	if (batch_objective_check(cJSON_GetObjectItemCaseSensitive(root,
	    "objective"), out->metric, &out->direction, err) != 0)
		return 1;
	if (auto_promote_check(cJSON_GetObjectItemCaseSensitive(root,
	    "auto_promote"), out, err) != 0)
		return 1;
	if (retry_check(root, &out->retry, err) != 0)
		return 1;
	*jobs = arr;
	return 0;
}

/* See batch.h. */
int
batch_validate(const char *body, size_t len, const struct batch_limits *lim,
    batch_lookup_fn lookup, void *arg, struct batch_spec *out,
    struct batch_error *err)
{
	struct set_cache	*cache = NULL;
	const cJSON		*jobs = NULL, *j;
	cJSON			*root = NULL;
	const char		*ref;
	size_t			 ncache = 0, i, k, t;
	int			 rc = 0;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	if ((root = json_parse_strict(body, len)) == NULL ||
	    !cJSON_IsObject(root)) {
		rc = batch_refuse(err, 400, "invalid_json",
		    "the body must be a JSON object in UTF-8");
		goto out;
	}
	if ((rc = check_top(root, lim, out, &jobs, err)) != 0)
		goto out;

	out->njobs = (size_t)cJSON_GetArraySize(jobs);
	out->jobs = xcalloc(out->njobs, sizeof(*out->jobs));
	cache = xcalloc(out->njobs, sizeof(*cache));
	i = 0;
	cJSON_ArrayForEach(j, jobs) {
		struct batch_job *job = &out->jobs[i++];

		ref = NULL;
		if ((job->error = job_check(job, j, &ref)) != NULL)
			continue;
		for (k = 0; k < ncache; k++)
			if (strcmp(cache[k].ref, ref) == 0)
				break;
		if (k == ncache) {
			cache[k].ref = ref;
			cache[k].rc = lookup(arg, ref, &cache[k].set);
			ncache++;
			if (cache[k].rc < 0) {
				rc = cache[k].rc;
				goto out;
			}
			if (cache[k].rc != 0)
				cache[k].rc = BATCH_SET_NOT_FOUND;
			for (t = 0; t < k; t++)
				if (cache[t].rc == 0 && cache[k].rc == 0 &&
				    cache[t].set.id == cache[k].set.id)
					break;
			cache[k].turn = t;
		}
		if ((job->error = job_place(job, out->mode, &cache[k],
		    &cache[cache[k].turn].next)) != NULL)
			continue;
		out->nvalid++;
	}
out:
	for (k = 0; k < ncache; k++)
		free(cache[k].set.pilots);
	free(cache);
	cJSON_Delete(root);
	return rc;
}

/* See batch.h. */
void
batch_spec_free(struct batch_spec *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	for (i = 0; i < s->njobs; i++) {
		free(s->jobs[i].image);
		free(s->jobs[i].image_tag);
		free(s->jobs[i].command);
		free(s->jobs[i].env);
	}
	free(s->jobs);
	memset(s, 0, sizeof(*s));
}

/* See batch.h. */
cJSON *
batch_errors_json(const struct batch_spec *s)
{
	cJSON	*arr, *o;
	size_t	 i;

	if ((arr = cJSON_CreateArray()) == NULL)
		return NULL;
	for (i = 0; i < s->njobs; i++) {
		if (s->jobs[i].error == NULL)
			continue;
		if ((o = cJSON_CreateObject()) == NULL ||
		    !cJSON_AddItemToArray(arr, o) ||
		    cJSON_AddNumberToObject(o, "index", (double)i) == NULL ||
		    cJSON_AddStringToObject(o, "error",
		    s->jobs[i].error) == NULL || (s->jobs[i].error_code !=
		    NULL && cJSON_AddStringToObject(o, "code",
		    s->jobs[i].error_code) == NULL)) {
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}

/* --- database: creation ------------------------------------------------ */

/* See batch.h. */
int
batch_db_lookup(void *arg, const char *ref, struct batch_set *out)
{
	struct batch_db_ctx	*c = arg;
	struct dataset		 d;
	struct db_res		*res = NULL;
	size_t			 i;
	int			 rc;

	memset(out, 0, sizeof(*out));
	rc = dataset_resolve(c->db, c->account_id, ref, &d);
	if (rc == DATASET_NOT_FOUND)
		return BATCH_SET_NOT_FOUND;
	if (rc != DB_OK)
		return rc < 0 ? rc : DB_ERROR;
	if ((rc = dataset_stats(c->db, &d)) != DB_OK)
		return rc;
	out->id = d.id;
	memcpy(out->uuid, d.uuid, sizeof(out->uuid));
	out->is_pilot = d.parent_id != 0;
	out->shard_count = d.shard_count;
	if (out->is_pilot)
		return 0;
	rc = db_query(c->db, "SELECT p.id, p.uuid, (SELECT COUNT(*) FROM "
	    "dataset_shards s WHERE s.dataset_id = p.id) FROM datasets p "
	    "WHERE p.parent_id = ? ORDER BY p.pilot_index",
	    DB_ARGS(DB_INT(d.id)), &res);
	if (rc != DB_OK)
		return rc;
	out->npilots_all = res->nrows;
	out->pilots = xcalloc(res->nrows > 0 ? res->nrows : 1,
	    sizeof(*out->pilots));
	for (i = 0; i < res->nrows; i++) {
		if (db_res_int(res, i, 2) <= 0)
			continue;
		out->pilots[out->npilots].id = db_res_int(res, i, 0);
		snprintf(out->pilots[out->npilots].uuid,
		    sizeof(out->pilots[0].uuid), "%s", db_res_str(res, i, 1));
		out->npilots++;
	}
	db_res_free(res);
	return 0;
}

/* See batch.h. */
int
batch_host_check(struct db *db, const struct batch_spec *s,
    struct batch_error *err)
{
	struct db_res	*res = NULL;
	int		 rc;

	rc = db_query(db, "SELECT COUNT(*), COALESCE(SUM(cpus >= CAST(? AS "
	    "DECIMAL(10,3)) AND gpus >= ? AND ram_gb >= CAST(? AS "
	    "DECIMAL(12,3))), 0) FROM hosts WHERE " HOST_USABLE,
	    DB_ARGS(DB_STR(s->cpu_text), DB_INT(s->gpu),
	    DB_STR(s->ram_text)), &res);
	if (rc != DB_OK)
		return rc;
	if (res->nrows != 1 || db_res_int(res, 0, 0) == 0 ||
	    db_res_int(res, 0, 1) > 0) {
		db_res_free(res);
		return DB_OK;
	}
	db_res_free(res);
	res = NULL;
	rc = db_query(db, "SELECT name, cpus, gpus, ram_gb FROM hosts WHERE "
	    HOST_USABLE " ORDER BY gpus DESC, cpus DESC, ram_gb DESC, id "
	    "LIMIT 1", DB_NOARGS, &res);
	if (rc != DB_OK)
		return rc;
	if (res->nrows != 1) {
		db_res_free(res);
		return DB_OK;
	}
	batch_refuse(err, 422, "no_host_fits", "no registered host can hold cpu "
	    "%g, gpu %u and %g GB of RAM; the largest is %s (cpu %g, gpu %lld, "
	    "%g GB of RAM)", s->cpu, s->gpu, s->ram_gb, db_res_str(res, 0, 0),
	    db_res_dbl(res, 0, 1), db_res_int(res, 0, 2),
	    db_res_dbl(res, 0, 3));
	db_res_free(res);
	return BATCH_NO_HOST;
}

/* The job insert: JOB_PARAMS placeholders a row. */
#define JOB_PARAMS	14
#define INSERT_ROWS	16
#define INSERT_JOBS \
	"INSERT INTO jobs (uuid, batch_id, account_id, idx, dataset_id, mode, " \
	"image, image_tag, command, cpu, gpu, ram_gb, env, promoted_from, " \
	"status, pending_reason) VALUES "
#define INSERT_ROW \
	"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'QUEUED', " \
	"'not_yet_considered')"
#define INSERT_ROW4 INSERT_ROW ", " INSERT_ROW ", " INSERT_ROW ", " INSERT_ROW
#define INSERT_VALUES_16 \
	INSERT_ROW4 ", " INSERT_ROW4 ", " INSERT_ROW4 ", " INSERT_ROW4

/* Insert n job rows of params one statement each. Returns an enum db_rc. */
static int
insert_singly(struct db *db, const struct db_param *params, size_t n)
{
	size_t	 r;
	int	 rc;

	for (r = 0; r < n; r++)
		if ((rc = db_exec(db, INSERT_JOBS INSERT_ROW,
		    params + r * JOB_PARAMS, JOB_PARAMS, NULL, NULL)) != DB_OK)
			return rc;
	return DB_OK;
}

/* See batch.h. */
int
batch_insert(struct db *db, long long account_id, struct batch_spec *s,
    const char *uuid, long long *bid)
{
	struct db_param		 params[INSERT_ROWS * JOB_PARAMS];
	struct db_res		*res = NULL;
	unsigned long long	 id = 0;
	size_t			 i, k, nrow, added = 0;
	int			 rc, seen;

	/* Lock each data set used (once), so none is deleted under us. */
	for (i = 0; i < s->njobs; i++) {
		if (s->jobs[i].error != NULL)
			continue;
		for (seen = 0, k = 0; k < i && !seen; k++)
			seen = s->jobs[k].error == NULL &&
			    s->jobs[k].dataset_id == s->jobs[i].dataset_id;
		if (seen)
			continue;
		rc = db_query(db, "SELECT id FROM datasets WHERE id = ? "
		    "LOCK IN SHARE MODE",
		    DB_ARGS(DB_INT(s->jobs[i].dataset_id)), &res);
		if (rc != DB_OK)
			return rc;
		k = res->nrows;
		db_res_free(res);
		res = NULL;
		if (k != 1)
			return BATCH_SET_GONE;
	}
	rc = db_exec(db, "INSERT INTO batches (uuid, account_id, mode, cpu, "
	    "gpu, ram_gb, objective_metric, objective_direction, "
	    "retry_attempts, retry_on, auto_promote_top_k, auto_promote_state, "
	    "promoted_from_batch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, ?)",
	    DB_ARGS(DB_STR(uuid), DB_INT(account_id),
	    DB_STR(batch_mode_names[s->mode]), DB_STR(s->cpu_text),
	    DB_INT(s->gpu), DB_STR(s->ram_text), DB_STR(s->metric),
	    DB_STR(batch_direction_names[s->direction]),
	    DB_INT(s->retry.attempts), DB_STR(s->retry.on),
	    s->auto_promote_top_k > 0 ? DB_INT(s->auto_promote_top_k) : DB_NULL,
	    DB_STR(s->auto_promote_top_k > 0 ? "waiting" : NULL),
	    s->promoted_from_batch_id > 0 ? DB_INT(s->promoted_from_batch_id) :
	    DB_NULL), NULL, &id);
	if (rc != DB_OK)
		return rc;
	*bid = (long long)id;
	/*
	 * INSERT_ROWS jobs per statement while there are enough, the rest one
	 * by one: two statement texts, each prepared once per connection.
	 */
	for (i = 0, nrow = 0; i < s->njobs; i++) {
		struct batch_job *j = &s->jobs[i];
		struct db_param *p = &params[nrow * JOB_PARAMS];

		if (j->error != NULL)
			continue;
		util_uuid(j->uuid);
		p[0] = DB_STR(j->uuid);
		p[1] = DB_INT(id);
		p[2] = DB_INT(account_id);
		p[3] = DB_INT(i);
		p[4] = DB_INT(j->dataset_id);
		p[5] = DB_STR(batch_mode_names[s->mode]);
		p[6] = DB_STR(j->image);
		p[7] = DB_STR(j->image_tag);
		p[8] = DB_STR(j->command);
		p[9] = DB_STR(s->cpu_text);
		p[10] = DB_INT(s->gpu);
		p[11] = DB_STR(s->ram_text);
		p[12] = DB_STR(j->env);
		p[13] = j->promoted_from > 0 ? DB_INT(j->promoted_from) : DB_NULL;
		nrow++;
		added++;
		/* Wait for a full statement when enough rows are left. */
		if (nrow < INSERT_ROWS && s->nvalid - added >= INSERT_ROWS - nrow)
			continue;
		if (nrow == INSERT_ROWS)
			rc = db_exec(db, INSERT_JOBS INSERT_VALUES_16, params,
			    nrow * JOB_PARAMS, NULL, NULL);
		else
			rc = insert_singly(db, params, nrow);
		if (rc != DB_OK)
			return rc;
		nrow = 0;
	}
	return DB_OK;
}

/* The work of batch_create(), for db_transaction(). */
struct create_args {
	long long		 account_id;
	struct batch_spec	*s;
	char			*uuid;
};

/*
 * One attempt of batch_create() inside an open transaction. A UUID drawn
 * twice (the batch's or a job's) is redone with new ones, like a deadlock.
 */
static int
create_tx(struct db *db, void *p)
{
	struct create_args	*a = p;
	long long		 bid;
	int			 rc;

	util_uuid(a->uuid);
	rc = batch_insert(db, a->account_id, a->s, a->uuid, &bid);
	return rc == DB_DUPLICATE ? DB_RETRY : rc;
}

/* See batch.h. */
int
batch_create(struct db *db, long long account_id, struct batch_spec *s,
    char uuid[UUID_STR_LEN + 1])
{
	struct create_args	 a = { account_id, s, uuid };

	return db_transaction(db, 3, create_tx, &a);
}

/* --- database: reading ------------------------------------------------------ */

/* One batch being rendered. */
struct bacc {
	long long		 id;
	cJSON			*obj;	/* the batch object (in the answer) */
	cJSON			*jobs;	/* its "jobs" array */
	unsigned long long	 counts[JOB__MAX];
	unsigned long long	 njobs;	/* from the batches query */
	long long		 pt;
};

/* The columns of a batch row, in bacc_start()'s order. */
#define BATCH_COLS \
	"b.id, b.uuid, b.mode, b.created_at, b.cpu, b.gpu, b.ram_gb, " \
	"(SELECT COUNT(*) FROM jobs j WHERE j.batch_id = b.id), " \
	"b.objective_metric, b.objective_direction, b.retry_attempts, " \
	"b.retry_on"

/*
 * The promotion columns, after the retry policy's two, and the joins they
 * need: auto_promote top_k, state and error, the UUIDs of the batch it
 * was promoted to and of the pilot batch it was promoted from.
 */
#define BATCH_PROMO_COLS \
	"b.auto_promote_top_k, b.auto_promote_state, b.auto_promote_error, " \
	"pb.uuid, fb.uuid"
#define BATCH_PROMO_JOINS \
	" LEFT JOIN batches pb ON pb.id = b.promoted_batch_id " \
	"LEFT JOIN batches fb ON fb.id = b.promoted_from_batch_id "

/*
 * The promotion fields of a batch object from BATCH_PROMO_COLS at column
 * c: "auto_promote" ({"top_k", "state", "error"} or null),
 * "promoted_batch_id" and "promoted_from" (UUIDs or null).
 */
static int
add_promotion(cJSON *o, const struct db_res *res, size_t i, size_t c)
{
	cJSON	*ap;

	if (db_res_isnull(res, i, c)) {
		if (cJSON_AddNullToObject(o, "auto_promote") == NULL)
			return -1;
	} else if ((ap = cJSON_AddObjectToObject(o, "auto_promote")) == NULL ||
	    cJSON_AddNumberToObject(ap, "top_k",
	    (double)db_res_int(res, i, c)) == NULL ||
	    job_add_str_or_null(ap, "state", db_res_str(res, i, c + 1)) == -1 ||
	    job_add_str_or_null(ap, "error", db_res_str(res, i, c + 2)) == -1)
		return -1;
	if (job_add_str_or_null(o, "promoted_batch_id", db_res_str(res, i, c + 3)) == -1 ||
	    job_add_str_or_null(o, "promoted_from", db_res_str(res, i, c + 4)) == -1)
		return -1;
	return 0;
}

/* The columns of a job row of a batch, in bacc_add_jobs()'s order. */
#define BJOB_COLS \
	"j.batch_id, j.uuid, j.status, j.command, j.result, " \
	"j.pending_reason, " JOB_PT_SQL

/*
 * Start the object of batch row i: every field but the counted ones; the
 * objective's metric and direction are columns oc and oc + 1, the retry
 * policy's attempts and classes oc + 2 and oc + 3, then BATCH_PROMO_COLS.
 */
static int
bacc_start(struct bacc *a, const struct db_res *res, size_t i, size_t oc)
{
	cJSON	*req, *obj, *retry;
	char	 iso[20];

	memset(a, 0, sizeof(*a));
	a->id = db_res_int(res, i, 0);
	a->njobs = (unsigned long long)db_res_int(res, i, 7);
	util_db_time_to_iso(db_res_str(res, i, 3), iso);
	if ((a->obj = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(a->obj, "id", db_res_str(res, i, 1)) == NULL ||
	    cJSON_AddStringToObject(a->obj, "mode",
	    db_res_str(res, i, 2)) == NULL ||
	    cJSON_AddStringToObject(a->obj, "created_at", iso) == NULL ||
	    (req = cJSON_AddObjectToObject(a->obj, "requisitions")) == NULL ||
	    cJSON_AddNumberToObject(req, "cpu", db_res_dbl(res, i, 4)) == NULL ||
	    cJSON_AddNumberToObject(req, "gpu", db_res_dbl(res, i, 5)) == NULL ||
	    cJSON_AddNumberToObject(req, "ram", db_res_dbl(res, i, 6)) == NULL ||
	    (obj = cJSON_AddObjectToObject(a->obj, "objective")) == NULL ||
	    cJSON_AddStringToObject(obj, "metric",
	    db_res_str(res, i, oc)) == NULL ||
	    cJSON_AddStringToObject(obj, "direction",
	    db_res_str(res, i, oc + 1)) == NULL ||
	    (retry = retry_json((unsigned)db_res_int(res, i, oc + 2),
	    db_res_str(res, i, oc + 3))) == NULL)
		return -1;
	cJSON_AddItemToObject(a->obj, "retry", retry);
	if (add_promotion(a->obj, res, i, oc + 4) == -1 ||
	    (a->jobs = cJSON_CreateArray()) == NULL)
		return -1;
	return 0;
}

/* Find the bacc of batch id among n sorted by id, descending. */
static struct bacc *
bacc_find(struct bacc *a, size_t n, long long id)
{
	size_t	 lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (a[mid].id == id)
			return &a[mid];
		if (a[mid].id > id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * Add job row i of res (BJOB_COLS from column c) to its batch among
 * a[0..n); a row without a job (NULL batch_id) is skipped. Returns 0 or -1.
 */
static int
bacc_add_job(struct bacc *a, size_t n, const struct db_res *res, size_t i,
    size_t c)
{
	struct bacc	*b;
	cJSON		*o, *result;
	int		 st;

	if (db_res_isnull(res, i, c) ||
	    (b = bacc_find(a, n, db_res_int(res, i, c))) == NULL)
		return 0;
	st = job_status_parse(db_res_str(res, i, c + 2),
	    db_res_len(res, i, c + 2));
	if (st >= 0)
		b->counts[st]++;
	b->pt += db_res_int(res, i, c + 6);
	if ((o = cJSON_CreateObject()) == NULL)
		return -1;
	cJSON_AddItemToArray(b->jobs, o);
	if (cJSON_AddStringToObject(o, "id", db_res_str(res, i, c + 1)) == NULL ||
	    cJSON_AddStringToObject(o, "status",
	    db_res_str(res, i, c + 2)) == NULL ||
	    cJSON_AddStringToObject(o, "command",
	    db_res_str(res, i, c + 3)) == NULL ||
	    (result = job_result_json(db_res_str(res, i, c + 4),
	    db_res_len(res, i, c + 4))) == NULL)
		return -1;
	cJSON_AddItemToObject(o, "result", result);
	if ((db_res_isnull(res, i, c + 5) ?
	    cJSON_AddNullToObject(o, "pending_reason") :
	    cJSON_AddStringToObject(o, "pending_reason",
	    db_res_str(res, i, c + 5))) == NULL)
		return -1;
	return 0;
}

/* Every job row of res, in order (see bacc_add_job()). */
static int
bacc_add_jobs(struct bacc *a, size_t n, const struct db_res *res, size_t c)
{
	size_t	 i;

	for (i = 0; i < res->nrows; i++)
		if (bacc_add_job(a, n, res, i, c) == -1)
			return -1;
	return 0;
}

/*
 * Finish a batch object: status, job_count, jobs, the eight counts and
 * processing_time, in the reference's order after its first fields.
 */
static int
bacc_finish(struct bacc *a)
{
	unsigned long long	 total = 0;
	size_t			 i;
	cJSON			*jobs = a->jobs;

	for (i = 0; i < JOB__MAX; i++)
		total += a->counts[i];
	a->jobs = NULL;
	if (cJSON_AddStringToObject(a->obj, "status",
	    batch_status_names[batch_status_derive(a->counts)]) == NULL ||
	    cJSON_AddNumberToObject(a->obj, "job_count", (double)total) == NULL) {
		cJSON_Delete(jobs);
		return -1;
	}
	cJSON_AddItemToObject(a->obj, "jobs", jobs);
	for (i = 0; i < JOB__MAX; i++)
		if (cJSON_AddNumberToObject(a->obj, job_count_names[i],
		    (double)a->counts[i]) == NULL)
			return -1;
	if (cJSON_AddNumberToObject(a->obj, "processing_time",
	    (double)a->pt) == NULL)
		return -1;
	return 0;
}

/* Free what a[0..n) still own (objects not yet handed to the answer). */
static void
bacc_free(struct bacc *a, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		cJSON_Delete(a[i].obj);
		cJSON_Delete(a[i].jobs);
	}
	free(a);
}

/* A row of batch_get()'s join and its job's idx, to put rows in order. */
struct row_idx {
	size_t		 row;
	long long	 idx;
};

static int
row_idx_cmp(const void *a, const void *b)
{
	const struct row_idx *x = a, *y = b;

	return (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * See batch.h. One round trip: the batch joined with its jobs, columns
 * 0-7 as BATCH_COLS (without the count), 8 the job's idx, BJOB_COLS from 9.
 * NOTE: no ORDER BY: sorting the TEXT columns of a join makes MariaDB go
 * through a temporary table on disk, ten times slower than the statement
 * itself; the rows are put in idx order here instead. A batch always has a
 * job (both are written in one transaction and jobs are never deleted).
 */
int
batch_get(struct db *db, long long account_id, const char *uuid,
    cJSON **out)
{
	struct db_res	*res = NULL;
	struct bacc	*a = NULL;
	struct row_idx	*order = NULL;
	cJSON		*arr = NULL;
	size_t		 i;
	int		 rc;

	*out = NULL;
	rc = db_query(db, "SELECT b.id, b.uuid, b.mode, b.created_at, b.cpu, "
	    "b.gpu, b.ram_gb, 0, j.idx, " BJOB_COLS ", b.objective_metric, "
	    "b.objective_direction, b.retry_attempts, b.retry_on, "
	    BATCH_PROMO_COLS " FROM batches b "
	    "JOIN jobs j ON j.batch_id = b.id" BATCH_PROMO_JOINS
	    "WHERE b.account_id = ? AND b.uuid = ?",
	    DB_ARGS(DB_INT(account_id), DB_STR(uuid)), &res);
	if (rc != DB_OK)
		goto out;
	if (res->nrows == 0) {
		rc = BATCH_NOT_FOUND;
		goto out;
	}
	order = xcalloc(res->nrows, sizeof(*order));
	for (i = 0; i < res->nrows; i++) {
		order[i].row = i;
		order[i].idx = db_res_int(res, i, 8);
	}
	qsort(order, res->nrows, sizeof(*order), row_idx_cmp);
	a = xcalloc(1, sizeof(*a));
	rc = DB_ERROR;
	if (bacc_start(a, res, 0, 16) == -1)
		goto out;
	for (i = 0; i < res->nrows; i++)
		if (bacc_add_job(a, 1, res, order[i].row, 9) == -1)
			goto out;
	if (bacc_finish(a) == -1 || (arr = cJSON_CreateArray()) == NULL)
		goto out;
	cJSON_AddItemToArray(arr, a->obj);
	a->obj = NULL;
	*out = arr;
	rc = DB_OK;
out:
	free(order);
	bacc_free(a, a == NULL ? 0 : 1);
	db_res_free(res);
	return rc;
}

/* Bind the ids of a[from..from+IN_CHUNK) as the IN_32 list (0 past n). */
static void
bind_ids(struct db_param *p, const struct bacc *a, size_t n, size_t from)
{
	size_t	 k;

	for (k = 0; k < IN_CHUNK; k++)
		p[k] = DB_INT(from + k < n ? a[from + k].id : 0);
}

/*
 * The per-state counts of a[0..n) only (for the ?status= filter), without
 * the job rows.
 */
static int
bacc_count(struct db *db, struct bacc *a, size_t n)
{
	struct db_param	 p[IN_CHUNK];
	struct db_res	*res = NULL;
	struct bacc	*b;
	size_t		 from, i;
	int		 rc, st;

	for (from = 0; from < n; from += IN_CHUNK) {
		bind_ids(p, a, n, from);
		rc = db_query(db, "SELECT j.batch_id, j.status, COUNT(*) "
		    "FROM jobs j WHERE j.batch_id IN " IN_32
		    " GROUP BY j.batch_id, j.status", p, IN_CHUNK, &res);
		if (rc != DB_OK)
			return rc;
		for (i = 0; i < res->nrows; i++) {
			if ((b = bacc_find(a, n, db_res_int(res, i, 0))) == NULL)
				continue;
			st = job_status_parse(db_res_str(res, i, 1),
			    db_res_len(res, i, 1));
			if (st >= 0)
				b->counts[st] = (unsigned long long)
				    db_res_int(res, i, 2);
		}
		db_res_free(res);
		res = NULL;
	}
	return DB_OK;
}

/*
 * See batch.h. Batches come newest first through ix_batches_account
 * (account_id, id), in chunks; their jobs through uq_jobs_batch_idx
 * (batch_id, idx), IN_CHUNK batches per statement. With a status filter
 * the counts are read first and the chunks go on until the page is full
 * or the account has no older batch.
 */
int
batch_list(struct db *db, long long account_id, const struct job_page *page,
    cJSON **out)
{
	struct db_param	 p[IN_CHUNK];
	struct db_res	*res = NULL;
	struct bacc	*kept = NULL, *cand = NULL;
	cJSON		*arr = NULL;
	long long	 before = 0x7fffffffffffffffLL;
	unsigned long long jobs_total = 0;
	size_t		 nkept = 0, ncand = 0, i, chunk, from;
	int		 rc, full = 0;

	*out = NULL;
	if (page->has_before) {
		rc = db_query(db, "SELECT id FROM batches WHERE account_id = ? "
		    "AND uuid = ?", DB_ARGS(DB_INT(account_id),
		    DB_STR(page->before)), &res);
		if (rc != DB_OK)
			goto out;
		if (res->nrows != 1) {
			rc = BATCH_BAD_BEFORE;
			goto out;
		}
		before = db_res_int(res, 0, 0);
		db_res_free(res);
		res = NULL;
	}
	kept = xcalloc(page->limit, sizeof(*kept));
	chunk = page->status >= 0 ? 500 : page->limit;
	while (!full) {
		rc = db_query(db, "SELECT " BATCH_COLS ", " BATCH_PROMO_COLS
		    " FROM batches b" BATCH_PROMO_JOINS
		    "WHERE b.account_id = ? AND b.id < ? "
		    "ORDER BY b.id DESC LIMIT ?", DB_ARGS(DB_INT(account_id),
		    DB_INT(before), DB_INT(chunk)), &res);
		if (rc != DB_OK)
			goto out;
		ncand = res->nrows;
		cand = xcalloc(ncand > 0 ? ncand : 1, sizeof(*cand));
		for (i = 0; i < ncand; i++)
			if (bacc_start(&cand[i], res, i, 8) == -1) {
				rc = DB_ERROR;
				goto out;
			}
		if (ncand > 0)
			before = cand[ncand - 1].id;
		full = ncand < chunk;
		db_res_free(res);
		res = NULL;
		if (page->status >= 0 &&
		    (rc = bacc_count(db, cand, ncand)) != DB_OK)
			goto out;
		for (i = 0; i < ncand; i++) {
			if (nkept == page->limit ||
			    (nkept > 0 && jobs_total >= BATCH_PAGE_JOBS_MAX)) {
				full = 1;
				break;
			}
			if (page->status >= 0 && (int)batch_status_derive(
			    cand[i].counts) != page->status)
				continue;
			/* Counted again with the job rows below. */
			kept[nkept] = cand[i];
			memset(kept[nkept].counts, 0, sizeof(kept[0].counts));
			cand[i].obj = NULL;
			cand[i].jobs = NULL;
			jobs_total += kept[nkept].njobs;
			nkept++;
		}
		if (nkept == page->limit)
			full = 1;
		bacc_free(cand, ncand);
		cand = NULL;
		ncand = 0;
	}

	for (from = 0; from < nkept; from += IN_CHUNK) {
		bind_ids(p, kept, nkept, from);
		rc = db_query(db, "SELECT " BJOB_COLS " FROM jobs j "
		    "WHERE j.batch_id IN " IN_32 " ORDER BY j.batch_id, j.idx",
		    p, IN_CHUNK, &res);
		if (rc != DB_OK)
			goto out;
		if (bacc_add_jobs(kept, nkept, res, 0) == -1) {
			rc = DB_ERROR;
			goto out;
		}
		db_res_free(res);
		res = NULL;
	}
	if ((arr = cJSON_CreateArray()) == NULL) {
		rc = DB_ERROR;
		goto out;
	}
	for (i = 0; i < nkept; i++) {
		if (bacc_finish(&kept[i]) == -1) {
			rc = DB_ERROR;
			goto out;
		}
		cJSON_AddItemToArray(arr, kept[i].obj);
		kept[i].obj = NULL;
	}
	*out = arr;
	arr = NULL;
	rc = DB_OK;
out:
	cJSON_Delete(arr);
	bacc_free(cand, ncand);
	bacc_free(kept, nkept);
	db_res_free(res);
	return rc;
}

/* See batch.h. */
int
batch_cancel(struct db *db, long long account_id, const char *uuid,
    unsigned long long *n)
{
	struct db_res	*res = NULL;
	long long	 id;
	int		 rc, attempt;

	*n = 0;
	rc = db_query(db, "SELECT id FROM batches WHERE account_id = ? AND "
	    "uuid = ?", DB_ARGS(DB_INT(account_id), DB_STR(uuid)), &res);
	if (rc != DB_OK)
		return rc;
	if (res->nrows != 1) {
		db_res_free(res);
		return BATCH_NOT_FOUND;
	}
	id = db_res_int(res, 0, 0);
	db_res_free(res);
	res = NULL;

	/* One statement: a compare-and-set per row, atomic as a whole. */
	for (attempt = 0; attempt < 3; attempt++) {
		rc = db_exec(db, "UPDATE jobs SET status = 'CANCELED', "
		    "cancel_requested = (host_id IS NOT NULL), "
		    "finished_at = COALESCE(finished_at, UTC_TIMESTAMP(3)), "
		    "pending_reason = NULL "
		    "WHERE batch_id = ? AND status IN " CANCELLABLE,
		    DB_ARGS(DB_INT(id)), n, NULL);
		if (rc != DB_RETRY)
			break;
	}
	if (rc != DB_OK)
		return rc;
	if (*n > 0)
		return DB_OK;
	rc = db_query(db, "SELECT COUNT(*) FROM jobs WHERE batch_id = ? AND "
	    "status IN ('PROCESSED', 'UPLOADING')", DB_ARGS(DB_INT(id)), &res);
	if (rc != DB_OK)
		return rc;
	rc = db_res_int(res, 0, 0) > 0 ? BATCH_FINISHING : BATCH_FINAL;
	db_res_free(res);
	return rc;
}

/* --- leaderboard ------------------------------------------------------------ */

/* See batch.h. */
int
batch_board_parse(const char *query, struct batch_board_query *q,
    const char **code, const char **msg)
{
	const char		*p, *amp, *eq, *val;
	char			 num[16];
	unsigned long long	 v;
	size_t			 klen, vlen;
	int			 d;

	memset(q, 0, sizeof(*q));
	q->direction = -1;
	for (p = query == NULL ? "" : query; *p != '\0'; p = amp + 1) {
		if ((amp = strchr(p, '&')) == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		klen = eq == NULL ? (size_t)(amp - p) : (size_t)(eq - p);
		vlen = eq == NULL ? 0 : (size_t)(amp - eq - 1);
		val = eq == NULL ? amp : eq + 1;
		if (klen == 3 && strncmp(p, "top", 3) == 0) {
			*code = "invalid_top";
			*msg = "top must be a whole number from 1 to 1000";
			if (vlen == 0 || vlen >= sizeof(num))
				return -1;
			memcpy(num, val, vlen);
			num[vlen] = '\0';
			if (util_parse_u64(num, BATCH_TOP_MAX, &v) == -1 ||
			    v == 0)
				return -1;
			q->top = (unsigned)v;
		} else if (klen == 6 && strncmp(p, "metric", 6) == 0) {
			*code = "invalid_objective";
			*msg = "metric must be 1 to 128 characters of "
			    "A-Z a-z 0-9 _ . -";
			if (!batch_metric_valid(val, vlen))
				return -1;
			memcpy(q->metric, val, vlen);
			q->metric[vlen] = '\0';
			q->has_metric = 1;
		} else if (klen == 9 && strncmp(p, "direction", 9) == 0) {
			*code = "invalid_objective";
			*msg = "direction must be max or min";
			if ((d = batch_direction_parse(val, vlen)) < 0)
				return -1;
			q->direction = d;
		}
		if (*amp == '\0')
			break;
	}
	*code = NULL;
	*msg = NULL;
	return 0;
}

/* Sort order of board_cmp(): 1 when the best value is the lowest. */
static int board_min;

/* Best value first, then shorter processing time, then request order. */
static int
board_cmp(const void *a, const void *b)
{
	const struct batch_rank	*x = a, *y = b;

	if (x->value != y->value)
		return ((x->value < y->value) == board_min) ? -1 : 1;
	if (x->pt != y->pt)
		return x->pt < y->pt ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* See batch.h. */
void
batch_rank_sort(struct batch_rank *rows, size_t n, enum batch_direction dir)
{
	board_min = dir == BATCH_DIR_MIN;
	if (n > 1)
		qsort(rows, n, sizeof(*rows), board_cmp);
}

/* Request order only (the unranked). */
static int
row_board_idx_cmp(const void *a, const void *b)
{
	const struct batch_rank	*x = a, *y = b;

	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* The ranked entry of row r of res (columns of batch_leaderboard()). */
static cJSON *
board_entry(const struct db_res *res, const struct batch_rank *r, size_t rank)
{
	cJSON	*o;
	char	*image;
	int	 ok;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	image = xasprintf("%s:%s", db_res_str(res, r->row, 3),
	    db_res_str(res, r->row, 4));
	ok = cJSON_AddStringToObject(o, "job_id",
	    db_res_str(res, r->row, 0)) != NULL &&
	    cJSON_AddNumberToObject(o, "rank", (double)rank) != NULL &&
	    cJSON_AddNumberToObject(o, "metric", r->value) != NULL &&
	    cJSON_AddStringToObject(o, "command",
	    db_res_str(res, r->row, 2)) != NULL &&
	    cJSON_AddStringToObject(o, "image", image) != NULL &&
	    (db_res_isnull(res, r->row, 5) ?
	    cJSON_AddNullToObject(o, "data_set_id") :
	    cJSON_AddStringToObject(o, "data_set_id",
	    db_res_str(res, r->row, 5))) != NULL &&
	    cJSON_AddNumberToObject(o, "processing_time", (double)r->pt) != NULL;
	free(image);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/*
 * See batch.h. The batch's objective first (which also scopes it to the
 * account), then its COMPLETED jobs; results are parsed and sorted here.
 */
int
batch_leaderboard(struct db *db, long long account_id, const char *uuid,
    const struct batch_board_query *q, cJSON **out)
{
	struct db_res		*res = NULL;
	struct batch_rank	*rows = NULL;
	cJSON			*o = NULL, *obj, *ranked, *unranked, *e, *result;
	char			 metric[BATCH_METRIC_MAX + 1], *why;
	long long		 bid;
	size_t			 i, n = 0, nbad = 0, *bad = NULL;
	int			 rc, dir;

	*out = NULL;
	rc = db_query(db, "SELECT id, objective_metric, objective_direction "
	    "FROM batches WHERE account_id = ? AND uuid = ?",
	    DB_ARGS(DB_INT(account_id), DB_STR(uuid)), &res);
	if (rc != DB_OK)
		return rc;
	if (res->nrows != 1) {
		db_res_free(res);
		return BATCH_NOT_FOUND;
	}
	bid = db_res_int(res, 0, 0);
	snprintf(metric, sizeof(metric), "%s", q->has_metric ? q->metric :
	    db_res_str(res, 0, 1));
	dir = q->direction >= 0 ? q->direction :
	    batch_direction_parse(db_res_str(res, 0, 2), db_res_len(res, 0, 2));
	if (dir < 0)
		dir = BATCH_DIR_MAX;
	db_res_free(res);
	res = NULL;

	rc = db_query(db, "SELECT j.uuid, j.idx, j.command, j.image, "
	    "j.image_tag, d.uuid, " JOB_PT_SQL ", j.result FROM jobs j "
	    "LEFT JOIN datasets d ON d.id = j.dataset_id "
	    "WHERE j.batch_id = ? AND j.status = 'COMPLETED'",
	    DB_ARGS(DB_INT(bid)), &res);
	if (rc != DB_OK)
		return rc;
	rc = DB_ERROR;
	rows = xcalloc(res->nrows + 1, sizeof(*rows));
	bad = xcalloc(res->nrows + 1, sizeof(*bad));
	for (i = 0; i < res->nrows; i++) {
		if ((result = job_result_json(db_res_str(res, i, 7),
		    db_res_len(res, i, 7))) == NULL)
			goto out;
		rows[n].row = i;
		rows[n].idx = db_res_int(res, i, 1);
		rows[n].pt = db_res_int(res, i, 6);
		if (batch_metric_of(result, metric, &rows[n].value))
			n++;
		else
			bad[nbad++] = i;
		cJSON_Delete(result);
	}
	batch_rank_sort(rows, n, (enum batch_direction)dir);
	if (q->top > 0 && n > q->top)
		n = q->top;

	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(o, "batch_id", uuid) == NULL ||
	    (obj = cJSON_AddObjectToObject(o, "objective")) == NULL ||
	    cJSON_AddStringToObject(obj, "metric", metric) == NULL ||
	    cJSON_AddStringToObject(obj, "direction",
	    batch_direction_names[dir]) == NULL ||
	    (ranked = cJSON_AddArrayToObject(o, "ranked")) == NULL ||
	    (unranked = cJSON_AddArrayToObject(o, "unranked")) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if ((e = board_entry(res, &rows[i], i + 1)) == NULL)
			goto out;
		cJSON_AddItemToArray(ranked, e);
	}
	/* The unranked in request order. */
	for (i = 0; i < nbad; i++)
		rows[i] = (struct batch_rank){ bad[i], db_res_int(res, bad[i], 1),
		    0, 0 };
	if (nbad > 0)
		qsort(rows, nbad, sizeof(*rows), row_board_idx_cmp);
	why = xasprintf("result has no numeric %s", metric);
	for (i = 0; i < nbad; i++) {
		if ((e = cJSON_CreateObject()) == NULL ||
		    !cJSON_AddItemToArray(unranked, e) ||
		    cJSON_AddStringToObject(e, "job_id",
		    db_res_str(res, rows[i].row, 0)) == NULL ||
		    cJSON_AddStringToObject(e, "reason", why) == NULL) {
			free(why);
			goto out;
		}
	}
	free(why);
	*out = o;
	o = NULL;
	rc = DB_OK;
out:
	cJSON_Delete(o);
	free(rows);
	free(bad);
	db_res_free(res);
	return rc;
}

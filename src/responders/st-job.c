/*
 * st-job: the jobs of the caller's batches (API reference "Jobs"; DESIGN
 * "Batches and jobs").
 *
 *   GET    /job            the caller's jobs, newest first (?limit=,
 *                          ?before=, ?status=)
 *   GET    /job/{id}       one job, as an array of one
 *   DELETE /job/{id}       cancel it; {job_id, batch_id, canceled: 1}
 *   GET    /job/{id}/log   the log of an attempt (?attempt=N, default
 *                          the current one), whole or by Range
 *                          (job_log_get() below), text/plain
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "http.h"
#include "job.h"
#include "joblog.h"
#include "log.h"
#include "responder.h"
#include "route.h"
#include "store.h"
#include "util.h"

static int
internal(struct http_req *r)
{
	return http_send_error(r, 500, "internal", "internal server error");
}

static int
not_found(struct http_req *r)
{
	return http_send_error(r, 404, "not_found", "no such job");
}

/* The refusals of the reads. */
static const struct responder_refusal no_job[] = {
	{ JOB_NOT_FOUND, 404, "not_found", "no such job" },
};
static const struct responder_refusal bad_before[] = {
	{ JOB_BAD_BEFORE, 400, "invalid_before",
	    "before must be the id of one of your jobs" },
};

/* GET /job: the caller's jobs, newest first. */
static int
job_list_get(struct responder *rs, struct http_req *r)
{
	struct job_page	 page;
	const char	*code = NULL, *msg = NULL;
	cJSON		*arr = NULL;
	int		 rc;

	if (job_page_parse(r->query, job_status_parse, &page, &code,
	    &msg) == -1)
		return http_send_error(r, 400, code, "%s", msg);
	rc = job_list(rs->db, r->account_id, &page, &arr);
	return responder_answer(rs, r, rc, arr, bad_before,
	    NITEMS(bad_before));
}

/* GET /job/{id}: an array of one job. */
static int
job_one_get(struct responder *rs, struct http_req *r)
{
	char	 uuid[UUID_STR_LEN + 1];
	cJSON	*arr = NULL;
	int	 rc;

	if (util_uuid_parse(r->params[0], uuid) == -1)
		return not_found(r);
	rc = job_get(rs->db, r->account_id, uuid, &arr);
	return responder_answer(rs, r, rc, arr, no_job, NITEMS(no_job));
}

/*
 * DELETE /job/{id}: 200 {"job_id", "batch_id", "canceled": 1, "status":
 * "CANCELED"}; 409 job_finishing (PROCESSED, UPLOADING) or job_final
 * (COMPLETED, ERRORED, CANCELED).
 */
static int
job_delete(struct responder *rs, struct http_req *r)
{
	struct job_cancel_out	 c;
	char			 uuid[UUID_STR_LEN + 1];
	cJSON			*obj = NULL;
	int			 rc, ret;

	if (util_uuid_parse(r->params[0], uuid) == -1)
		return not_found(r);
	rc = job_cancel(rs->db, r->account_id, uuid, &c);
	switch (rc) {
	case DB_OK:
		break;
	case JOB_NOT_FOUND:
		return not_found(r);
	case JOB_FINISHING:
		return http_send_error(r, 409, "job_finishing",
		    "the job is %s: it is finishing and cannot be cancelled",
		    job_status_names[c.status]);
	case JOB_FINAL:
		return http_send_error(r, 409, "job_final",
		    "the job is already %s", c.status >= 0 ?
		    job_status_names[c.status] : "final");
	default:
		return responder_db_error(rs, r, rc);
	}
	log_info("job %s cancelled", uuid);
	if ((obj = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(obj, "job_id", uuid) == NULL ||
	    cJSON_AddStringToObject(obj, "batch_id", c.batch_uuid) == NULL ||
	    cJSON_AddNumberToObject(obj, "canceled", 1) == NULL ||
	    cJSON_AddStringToObject(obj, "status", "CANCELED") == NULL)
		ret = internal(r);
	else
		ret = http_send_json(r, 200, obj);
	cJSON_Delete(obj);
	return ret;
}

/* The headers of every log answer but the errors before the lookup. */
#define LOG_SIZE_HEADER		"X-Singularity-Log-Size"
#define LOG_ATTEMPT_HEADER	"X-Singularity-Attempt"
#define ATTEMPT_MAX		4294967295ULL	/* jobs.attempt INT UNSIGNED */

/*
 * ?attempt=N of GET /job/{id}/log into *attempt (0 when absent: the
 * current attempt). Other parameters are ignored and a repeated one takes
 * its last value, as in every list's query (job_page_parse()). Returns 0,
 * or -1 when N is not a whole number from 1 (400 invalid_attempt).
 */
static int
attempt_parse(const char *query, unsigned *attempt)
{
	const char		*p, *amp, *eq;
	char			 num[16];
	unsigned long long	 v;
	size_t			 klen, vlen;

	*attempt = 0;
	for (p = query == NULL ? "" : query; *p != '\0'; p = amp + 1) {
		if ((amp = strchr(p, '&')) == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		klen = eq == NULL ? (size_t)(amp - p) : (size_t)(eq - p);
		vlen = eq == NULL ? 0 : (size_t)(amp - eq - 1);
		if (klen == 7 && strncmp(p, "attempt", 7) == 0) {
			if (vlen == 0 || vlen >= sizeof(num))
				return -1;
			memcpy(num, eq + 1, vlen);
			num[vlen] = '\0';
			if (util_parse_u64(num, ATTEMPT_MAX, &v) == -1 ||
			    v == 0)
				return -1;
			*attempt = (unsigned)v;
		}
		if (*amp == '\0')
			break;
	}
	return 0;
}

/*
 * Cut the range plan p to end at logical offset end (p->first < end <=
 * p->end): an int-range's last-pos within what the plan would send.
 */
static void
plan_cut(struct joblog_plan *p, long long end)
{
	long long	 keep = end - p->first;
	size_t		 i;

	for (i = 0; i < p->npieces; i++) {
		if (p->piece[i].len >= keep) {
			p->piece[i].len = keep;
			p->npieces = i + 1;
			break;
		}
		keep -= p->piece[i].len;
	}
	if (p->marker_after > p->npieces)
		p->marker_after = p->npieces;
	p->end = end;
	p->length = end - p->first;
}

/*
 * Send the body of plan p from the log open on fd: its pieces in order,
 * the marker line after the first marker_after of them (nothing on HEAD).
 * The headers go out first. Returns 0 or -1 (the answer is cut short).
 */
static int
send_plan(struct http_req *r, int fd, const struct joblog_plan *p)
{
	size_t	 i;

	if (http_finish(r) == -1)
		return -1;
	for (i = 0; i <= p->npieces; i++) {
		if (i == p->marker_after && p->marker[0] != '\0' &&
		    http_write(r, p->marker, strlen(p->marker)) == -1)
			return -1;
		if (i == p->npieces)
			break;
		if (r->head_only)
			continue;
		if (lseek(fd, (off_t)p->piece[i].off, SEEK_SET) == -1 ||
		    http_write_fd(r, fd,
		    (unsigned long long)p->piece[i].len) == -1)
			return -1;
	}
	return 0;
}

/*
 * 416 for a Range that asks nothing the log holds, with "Content-Range:
 * bytes * / total" (RFC 9110 15.5.17): a first-pos at or past the end is
 * how a follower learns that nothing is new yet.
 */
static int unsatisfiable(struct http_req *, long long, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static int
unsatisfiable(struct http_req *r, long long total, const char *fmt, ...)
{
	va_list	 ap;
	char	 cr[64], msg[256];

	snprintf(cr, sizeof(cr), "bytes */%lld", total);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (http_add_header(r, "Content-Range", cr) == -1)
		return internal(r);
	return http_send_error(r, 416, "range_not_satisfiable", "%s", msg);
}

/*
 * GET|HEAD /job/{id}/log[?attempt=N]: the log of one attempt (joblog.h),
 * the current one by default, as text/plain.
 *
 * Without Range, 200 with the whole plan: a log within its cap whole; a
 * longer one as its head, the marker line naming the bytes dropped, and
 * its tail. With "Range: bytes=N-", "bytes=N-M" or "bytes=-N" (offsets
 * are logical: every byte the attempt wrote counts), 206 with
 * Content-Range first-last/total and exactly those bytes, no marker; a
 * range starting in the dropped middle of a long log starts at the first
 * kept byte after it (Content-Range says where), one in the head ends at
 * the head's end. A first-pos at or past the size, several ranges, or a
 * malformed "bytes=" value (http.h: why refused rather than ignored) are
 * 416 with "Content-Range: bytes * / total", answered from the database
 * row without opening the file. Another unit is ignored (200), and so is
 * a Range with If-Range: the log has no validator an If-Range could match
 * (RFC 9110 13.1.5).
 *
 * Every answer of a job found carries the logical size and the attempt
 * (X-Singularity-Log-Size, X-Singularity-Attempt), Accept-Ranges: bytes
 * and Cache-Control: no-store. An attempt without a log yet (log_size
 * NULL) is an empty 200. 400 invalid_attempt, 404 for another account's
 * job or an attempt the job never had.
 */
static int
job_log_get(struct responder *rs, struct http_req *r)
{
	struct job_log		 jl;
	struct joblog_plan	 plan;
	struct http_range	 rg;
	struct stat		 st;
	unsigned long long	 first = 0, last = 0;
	char			 uuid[UUID_STR_LEN + 1], num[32], cr[96];
	char			*path = NULL;
	unsigned		 attempt;
	long long		 total;
	int			 fd = -1, rc, ret = -1;

	if (util_uuid_parse(r->params[0], uuid) == -1)
		return not_found(r);
	if (attempt_parse(r->query, &attempt) == -1)
		return http_send_error(r, 400, "invalid_attempt",
		    "attempt must be a whole number from 1");
	rc = job_log_info(rs->db, r->account_id, uuid, attempt, &jl);
	if (rc == JOB_NOT_FOUND)
		return not_found(r);
	if (rc == JOB_NO_ATTEMPT)
		return http_send_error(r, 404, "not_found",
		    "the job has no attempt %u: its attempts are 1 to %u",
		    attempt, jl.current);
	if (rc != DB_OK)
		return responder_db_error(rs, r, rc);
	total = jl.size < 0 ? 0 : jl.size;

	(void)http_range_parse(r->h_range, r->h_range == NULL ? 0 :
	    strlen(r->h_range), &rg);
	if (r->h_if_range != NULL)
		rg.kind = HTTP_RANGE_NONE;
	snprintf(num, sizeof(num), "%lld", total);
	snprintf(cr, sizeof(cr), "%u", jl.attempt);
	if (http_add_header(r, LOG_SIZE_HEADER, num) == -1 ||
	    http_add_header(r, LOG_ATTEMPT_HEADER, cr) == -1 ||
	    http_add_header(r, "Accept-Ranges", "bytes") == -1 ||
	    http_add_header(r, "Cache-Control", "no-store") == -1)
		return internal(r);
	if (rg.kind == HTTP_RANGE_MANY)
		return unsatisfiable(r, total, "one range at a time, please "
		    "(the log has %lld bytes)", total);
	if (rg.kind == HTTP_RANGE_BAD)
		return unsatisfiable(r, total, "the Range header is not one "
		    "of bytes=N-, bytes=N-M, bytes=-N (the log has %lld bytes)",
		    total);
	if (rg.kind == HTTP_RANGE_ONE &&
	    http_range_resolve(&rg, (unsigned long long)total, &first,
	    &last) == -1)
		return unsatisfiable(r, total, "the log has %lld bytes",
		    total);
	if (total == 0) {
		/* No log yet: nothing to open (t0202). */
		if (http_add_header(r, "Content-Type",
		    "text/plain; charset=utf-8") == -1 ||
		    http_add_header(r, "Content-Length", "0") == -1)
			return internal(r);
		http_set_status(r, 200);
		return http_finish(r);
	}

	if ((path = joblog_path(rs->conf.store_dir, jl.uuid,
	    jl.attempt)) == NULL) {
		ret = internal(r);
		goto out;
	}
	/* log_size is set only once its bytes are in the file. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
	    fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_error("log of job %s attempt %u: %s", jl.uuid, jl.attempt,
		    fd == -1 ? strerror(errno) : "not a regular file");
		ret = internal(r);
		goto out;
	}
	if (rg.kind == HTTP_RANGE_ONE)
		rc = joblog_plan_range(total, (long long)st.st_size,
		    (long long)first, &plan);
	else
		rc = joblog_plan_whole(total, (long long)st.st_size, &plan);
	if (rc != 0) {
		log_error("log of job %s attempt %u: a file of %lld bytes "
		    "cannot hold a log of %lld", jl.uuid, jl.attempt,
		    (long long)st.st_size, total);
		ret = internal(r);
		goto out;
	}
	if (rg.kind == HTTP_RANGE_ONE) {
		if (plan.first > (long long)last) {
			/* Wholly in the dropped middle of a long log. */
			ret = unsatisfiable(r, total, "those bytes of the log "
			    "were dropped: it keeps its first %lld and its "
			    "last %lld", (long long)st.st_size / 2,
			    (long long)st.st_size - (long long)st.st_size / 2);
			goto out;
		}
		if ((long long)last + 1 < plan.end)
			plan_cut(&plan, (long long)last + 1);
		snprintf(cr, sizeof(cr), "bytes %lld-%lld/%lld", plan.first,
		    plan.end - 1, total);
		if (http_add_header(r, "Content-Range", cr) == -1) {
			ret = internal(r);
			goto out;
		}
		http_set_status(r, 206);
	} else
		http_set_status(r, 200);
	snprintf(num, sizeof(num), "%lld", plan.length);
	if (http_add_header(r, "Content-Type",
	    "text/plain; charset=utf-8") == -1 ||
	    http_add_header(r, "Content-Length", num) == -1) {
		ret = internal(r);
		goto out;
	}
	if (send_plan(r, fd, &plan) == -1) {
		/* Headers are out: all we can do is cut it short. */
		log_error("log of job %s attempt %u: short read or write",
		    jl.uuid, jl.attempt);
		goto out;
	}
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	free(path);
	return ret;
}

static const struct route routes[] = {
	{ HTTP_GET | HTTP_HEAD, "/job", 1, job_list_get, 0, 0 },
	{ HTTP_GET | HTTP_HEAD, "/job/", 1, job_list_get, 0, 0 },
	{ HTTP_GET | HTTP_HEAD, "/job/{id}", 1, job_one_get, 0, 0 },
	{ HTTP_DELETE, "/job/{id}", 1, job_delete, 0, 0 },
	{ HTTP_GET | HTTP_HEAD, "/job/{id}/log", 1, job_log_get, 0, 0 },
};

int
main(int argc, char **argv)
{
	return responder_main("st-job", routes, NITEMS(routes), argc, argv);
}

/*
 * cli-batch.c: `batch create|status|summary|cancel|wait`, `job
 * status|cancel|log` and `leaderboard` (API reference "Batch" and "Jobs";
 * DESIGN "Batches and jobs").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "util.h"

#define FILE_MAX	(16 * 1024 * 1024)	/* a batch file */
#define PAGE		1000			/* ?limit= of listings */

/* The eight per-state counts of a batch, in the reference's order. */
static const char *const states[] = { "queued", "pending", "processing",
    "processed", "uploading", "completed", "errored", "canceled" };

/* Whether a job status is final. */
static int
is_final(const char *s)
{

	return s != NULL && (strcmp(s, "COMPLETED") == 0 ||
	    strcmp(s, "ERRORED") == 0 || strcmp(s, "CANCELED") == 0);
}

/* Sleep for s seconds (fractions allowed). */
static void
nap(double s)
{
	struct timespec	 ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

/* Parse a positive number of seconds. Returns 0 or -1. */
static int
parse_seconds(const char *v, double *out)
{
	char	*end;

	errno = 0;
	*out = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || !isfinite(*out) ||
	    *out <= 0 || *out > 1e9)
		return -1;
	return 0;
}

/* "/batch/ID" (ID escaped) or "/batch". Caller frees. */
static char *
id_path(const char *base, const char *id, const char *suffix)
{
	char	*esc, *p;

	if (id == NULL)
		return xasprintf("%s%s", base, suffix);
	esc = cli_escape(id);
	p = xasprintf("%s/%s%s", base, esc, suffix);
	free(esc);
	return p;
}

/*
 * GET path into *r and its JSON into *json; what names it in messages.
 * Returns an exit code (reported).
 */
static int
get_json(struct cli *cli, const char *path, const char *what,
    struct cli_resp *r, cJSON **json)
{
	int	 rc;

	*json = NULL;
	if ((rc = cli_request(cli, "GET", path, NULL, 0, r)) != CLI_OK)
		return cli_report(cli, what, r);
	if ((*json = cli_resp_json(r, what)) == NULL)
		return CLI_OTHER;
	return CLI_OK;
}

/* The first element of a one-element answer array (or the object itself). */
static const cJSON *
first_of(const cJSON *v)
{

	if (cJSON_IsArray(v))
		return cJSON_GetArrayItem(v, 0);
	return v;
}

static int
no_take(void *arg, int c, const char *v)
{

	return CLI_USAGE;
}

/* --- batch create ----------------------------------------------------------- */

struct create_opts {
	const char	*file;
	double		 cpus;
	long long	 gpus;
	const char	*mode;
	unsigned	 auto_promote;	/* top_k; 0: none */
};

/* The batch fields a file object may carry beside its jobs, passed on. */
static const char *const passed_fields[] = { "objective", "retry",
    "auto_promote" };

static int
create_take(void *arg, int c, const char *v)
{
	struct create_opts	*o = arg;
	unsigned long long	 n;

	switch (c) {
	case 'f':
		o->file = v;
		return 0;
	case 'c':
		if (parse_seconds(v, &o->cpus) == -1)
			return cli_usage_error("batch create",
			    "--cpus must be a number above 0 (fractions allowed)");
		return 0;
	case 'g':
		if (util_parse_u64(v, 1024, &n) == -1)
			return cli_usage_error("batch create",
			    "--gpus must be a whole number");
		o->gpus = (long long)n;
		return 0;
	case 'm':
		if (strcasecmp(v, "pilot") != 0 &&
		    strcasecmp(v, "production") != 0)
			return cli_usage_error("batch create",
			    "--mode must be pilot or production");
		o->mode = v;
		return 0;
	case 'a':
		if (util_parse_u64(v, 1000, &n) == -1 || n == 0)
			return cli_usage_error("batch create",
			    "--auto-promote must be a whole number from 1 to "
			    "1000");
		o->auto_promote = (unsigned)n;
		return 0;
	}
	return CLI_USAGE;
}

/* Read a whole small file into a new NUL-terminated buffer. */
static char *
slurp(const char *path, size_t *len, char *err, size_t errsz)
{
	struct stat	 st;
	char		*buf = NULL;
	ssize_t		 r;
	int		 fd;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > FILE_MAX) {
		snprintf(err, errsz, "%s: not a regular file of at most %d "
		    "bytes", path, FILE_MAX);
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (*len < (size_t)st.st_size) {
		r = read(fd, buf + *len, (size_t)st.st_size - *len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		*len += (size_t)r;
	}
	buf[*len] = '\0';
	close(fd);
	return buf;
}

/* Print the "errors": [{"index", "error"}] of a batch answer on stderr. */
static void
print_job_errors(const cJSON *obj)
{
	const cJSON	*errs, *e;

	errs = cJSON_GetObjectItemCaseSensitive(obj, "errors");
	cJSON_ArrayForEach(e, errs) {
		fprintf(stderr, "  job %.0f: %s\n", cli_jnum(e, "index", -1),
		    cli_jstr(e, "error") != NULL ? cli_jstr(e, "error") : "?");
	}
}

/*
 * batch create --from-file F --cpus N [--gpus N] --mode M [--auto-promote
 * K]: F holds a JSON array of jobs ({command, image, image_tag,
 * data_set_id, env}), as the original CLI takes, or an object with "jobs"
 * and any of "objective", "retry" and "auto_promote", which are passed on.
 * Exit 0 when every job was accepted, 1 when the batch was made without
 * some of them.
 */
int
cli_cmd_batch_create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from-file", required_argument, NULL, 'f' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "gpus", required_argument, NULL, 'g' },
		{ "mode", required_argument, NULL, 'm' },
		{ "auto-promote", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct create_opts o = { NULL, 0, 0, NULL, 0 };
	cJSON		*ap;
	struct cli_resp	 r;
	cJSON		*in = NULL, *body = NULL, *jobs, *req, *ans = NULL;
	char		*text = NULL, *txt = NULL, err[512], *mode = NULL;
	size_t		 len, i;
	int		 first, rc = CLI_OTHER;

	memset(&r, 0, sizeof(r));
	if ((first = cli_getopt("batch create", argc, argv, opts, create_take,
	    &o)) < 0)
		return CLI_USAGE;
	if (argc - first != 0)
		return cli_usage_error("batch create", "no operand expected");
	if (o.file == NULL || o.cpus <= 0 || o.mode == NULL)
		return cli_usage_error("batch create",
		    "--from-file, --cpus and --mode are required");
	if ((text = slurp(o.file, &len, err, sizeof(err))) == NULL) {
		cli_warn("%s", err);
		return CLI_OTHER;
	}
	if ((in = cJSON_ParseWithLength(text, len)) == NULL) {
		cli_warn("%s: not valid JSON", o.file);
		goto out;
	}
	if (cJSON_IsObject(in) &&
	    cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(in, "jobs")))
		jobs = cJSON_DetachItemFromObjectCaseSensitive(in, "jobs");
	else if (cJSON_IsArray(in)) {
		jobs = in;
		in = NULL;
	} else {
		cli_warn("%s: expected a JSON array of jobs", o.file);
		goto out;
	}
	if ((rc = cli_ready(cli, 1)) != CLI_OK) {
		cJSON_Delete(jobs);
		goto out;
	}
	rc = CLI_OTHER;
	mode = xstrdup(o.mode);
	for (i = 0; mode[i] != '\0'; i++)
		mode[i] = (char)(mode[i] >= 'A' && mode[i] <= 'Z' ?
		    mode[i] + 32 : mode[i]);
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "mode", mode);
	cJSON_AddItemToObject(body, "jobs", jobs);
	req = cJSON_AddObjectToObject(body, "requisitions");
	cJSON_AddNumberToObject(req, "cpu", o.cpus);
	cJSON_AddNumberToObject(req, "gpu", (double)o.gpus);
	for (i = 0; in != NULL && i < NITEMS(passed_fields); i++)
		if (cJSON_HasObjectItem(in, passed_fields[i]))
			cJSON_AddItemToObject(body, passed_fields[i],
			    cJSON_DetachItemFromObjectCaseSensitive(in,
			    passed_fields[i]));
	if (o.auto_promote > 0) {
		cJSON_DeleteItemFromObjectCaseSensitive(body, "auto_promote");
		ap = cJSON_AddObjectToObject(body, "auto_promote");
		cJSON_AddNumberToObject(ap, "top_k", (double)o.auto_promote);
	}
	if ((txt = cJSON_PrintUnformatted(body)) == NULL)
		goto out;
	if ((rc = cli_request(cli, "POST", "/batch", txt, strlen(txt), &r)) !=
	    CLI_OK) {
		rc = cli_report(cli, "POST /batch", &r);
		if ((ans = cJSON_ParseWithLength(r.body, r.len)) != NULL)
			print_job_errors(ans);
		goto out;
	}
	if (cli->json)
		cli_print_raw(&r);
	if ((ans = cli_resp_json(&r, "POST /batch")) == NULL) {
		rc = CLI_OTHER;
		goto out;
	}
	if (!cli->json)
		printf("batch %s: %.0f jobs accepted, %.0f refused\n",
		    cli_jstr(ans, "batch_uuid") != NULL ?
		    cli_jstr(ans, "batch_uuid") : "?",
		    cli_jnum(ans, "successful", 0), cli_jnum(ans, "failed", 0));
	print_job_errors(ans);
	rc = cli_jnum(ans, "failed", 0) > 0 ? CLI_OTHER : CLI_OK;
out:
	cJSON_Delete(ans);
	cJSON_Delete(in);
	cJSON_Delete(body);
	if (txt != NULL)
		cJSON_free(txt);
	cli_resp_free(&r);
	free(text);
	free(mode);
	return rc;
}

/* --- batch status, summary ------------------------------------------------ */

/* The number of jobs of a batch in a final state. */
static double
final_count(const cJSON *b)
{

	return cli_jnum(b, "completed", 0) + cli_jnum(b, "errored", 0) +
	    cli_jnum(b, "canceled", 0);
}

/* Print one batch in detail: its fields, counts and jobs. */
static void
print_batch(const cJSON *b)
{
	static const char *const hdr[] = { "JOB", "STATUS", "COMMAND",
	    "RESULT" };
	struct cli_table *t;
	const cJSON	*jobs, *j, *ap;
	const char	*cells[4];
	char		 tm[32], *res;
	size_t		 i;

	printf("batch       %s\n", cli_jstr(b, "id") ? cli_jstr(b, "id") : "-");
	printf("mode        %s\n", cli_jstr(b, "mode") ? cli_jstr(b, "mode") :
	    "-");
	printf("status      %s\n", cli_jstr(b, "status") ?
	    cli_jstr(b, "status") : "-");
	printf("created_at  %s\n", cli_jstr(b, "created_at") ?
	    cli_jstr(b, "created_at") : "-");
	cli_human_ms(cli_jnum(b, "processing_time", 0), tm);
	printf("time        %s\n", tm);
	/* Promotion: where it came from, where it went, what waits. */
	if (cli_jstr(b, "promoted_from") != NULL)
		printf("promoted    from pilot batch %s\n",
		    cli_jstr(b, "promoted_from"));
	ap = cJSON_GetObjectItemCaseSensitive(b, "auto_promote");
	if (cJSON_IsObject(ap))
		printf("auto        promote top %.0f: %s%s%s\n",
		    cli_jnum(ap, "top_k", 0), cli_jstr(ap, "state") ?
		    cli_jstr(ap, "state") : "?", cli_jstr(ap, "error") ?
		    ": " : "", cli_jstr(ap, "error") ? cli_jstr(ap, "error") : "");
	if (cli_jstr(b, "promoted_batch_id") != NULL)
		printf("promoted    to production batch %s\n",
		    cli_jstr(b, "promoted_batch_id"));
	printf("jobs        %.0f:", cli_jnum(b, "job_count", 0));
	for (i = 0; i < NITEMS(states); i++)
		if (cli_jnum(b, states[i], 0) > 0)
			printf(" %s %.0f", states[i], cli_jnum(b, states[i], 0));
	printf("\n\n");
	t = cli_table_new(4, (const char *const *)hdr);
	cli_table_limit(t, 2, 50);
	cli_table_limit(t, 3, 60);
	jobs = cJSON_GetObjectItemCaseSensitive(b, "jobs");
	cJSON_ArrayForEach(j, jobs) {
		res = cli_json_text(cJSON_GetObjectItemCaseSensitive(j,
		    "result"));
		cells[0] = cli_jstr(j, "id");
		cells[1] = cli_jstr(j, "status");
		cells[2] = cli_jstr(j, "command");
		cells[3] = res;
		cli_table_add(t, cells);
		free(res);
	}
	cli_table_print(t, stdout);
	cli_table_free(t);
}

/* A table of batches with their counts. */
static struct cli_table *
batch_table(void)
{
	static const char *const hdr[] = { "BATCH", "MODE", "STATUS", "JOBS",
	    "QUEUED", "RUNNING", "COMPLETED", "ERRORED", "CANCELED", "TIME",
	    "CREATED" };
	struct cli_table *t;
	size_t		 i;

	t = cli_table_new(NITEMS(hdr), (const char *const *)hdr);
	for (i = 3; i <= 9; i++)
		cli_table_align(t, i, CLI_RIGHT);
	return t;
}

/* Add batch b to a batch_table(). */
static void
batch_row(struct cli_table *t, const cJSON *b)
{
	char		 n[6][32], tm[32];
	const char	*cells[11];

	snprintf(n[0], 32, "%.0f", cli_jnum(b, "job_count", 0));
	snprintf(n[1], 32, "%.0f", cli_jnum(b, "queued", 0));
	snprintf(n[2], 32, "%.0f", cli_jnum(b, "pending", 0) +
	    cli_jnum(b, "processing", 0) + cli_jnum(b, "processed", 0) +
	    cli_jnum(b, "uploading", 0));
	snprintf(n[3], 32, "%.0f", cli_jnum(b, "completed", 0));
	snprintf(n[4], 32, "%.0f", cli_jnum(b, "errored", 0));
	snprintf(n[5], 32, "%.0f", cli_jnum(b, "canceled", 0));
	cli_human_ms(cli_jnum(b, "processing_time", 0), tm);
	cells[0] = cli_jstr(b, "id");
	cells[1] = cli_jstr(b, "mode");
	cells[2] = cli_jstr(b, "status");
	cells[3] = n[0];
	cells[4] = n[1];
	cells[5] = n[2];
	cells[6] = n[3];
	cells[7] = n[4];
	cells[8] = n[5];
	cells[9] = tm;
	cells[10] = cli_jstr(b, "created_at");
	cli_table_add(t, cells);
}

struct list_opts {
	unsigned long long	 limit;
	const char		*since;
	const char		*cmd;
};

static int
list_take(void *arg, int c, const char *v)
{
	struct list_opts	*o = arg;
	unsigned int		 y, m, d;
	char			 tail;

	switch (c) {
	case 'l':
		if (util_parse_u64(v, 1000, &o->limit) == -1 || o->limit == 0)
			return cli_usage_error(o->cmd,
			    "--limit must be 1..1000");
		return 0;
	case 's':
		if (strlen(v) != 10 || sscanf(v, "%4u-%2u-%2u%c", &y, &m, &d,
		    &tail) != 3 || v[4] != '-' || v[7] != '-' || m < 1 ||
		    m > 12 || d < 1 || d > 31)
			return cli_usage_error(o->cmd,
			    "--since takes a date YYYY-MM-DD");
		o->since = v;
		return 0;
	}
	return CLI_USAGE;
}

/* What `batch status` and `job status` differ in. */
struct status_kind {
	const char	*cmd;		/* "batch status" */
	const char	*noun;		/* "batch" */
	const char	*base;		/* "/batch" */
	void		(*print_one)(const cJSON *);
	/* Print the objects of arr as a table; 0 when there was none. */
	size_t		(*print_list)(const cJSON *arr);
};

/*
 * KIND status [ID] [--limit N]: GET /KIND/ID and one object in detail, or
 * GET /KIND[?limit=N] and a table; --json prints the answer as it came.
 */
static int
status_cmd(struct cli *cli, int argc, char **argv,
    const struct status_kind *k)
{
	static const struct option opts[] = {
		{ "limit", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct list_opts o = { 0, NULL, k->cmd };
	struct cli_resp	 r;
	cJSON		*arr = NULL;
	const cJSON	*one;
	char		*path, *what, q[64] = "";
	int		 first, rc;

	memset(&r, 0, sizeof(r));
	if ((first = cli_getopt(k->cmd, argc, argv, opts, list_take,
	    &o)) < 0)
		return CLI_USAGE;
	if (argc - first > 1)
		return cli_usage_error(k->cmd, "at most one %s ID", k->noun);
	if ((rc = cli_ready(cli, 1)) != CLI_OK)
		return rc;
	if (o.limit > 0 && argc == first)
		snprintf(q, sizeof(q), "?limit=%llu", o.limit);
	path = id_path(k->base, argc > first ? argv[first] : NULL, q);
	what = xasprintf("GET %s%s", k->base, argc > first ? "/{id}" : "");
	if ((rc = get_json(cli, path, what, &r, &arr)) != CLI_OK)
		goto out;
	if (cli->json)
		cli_print_raw(&r);
	else if (argc > first) {
		if ((one = first_of(arr)) == NULL) {
			cli_warn("no such %s", k->noun);
			rc = CLI_NOTFOUND;
			goto out;
		}
		k->print_one(one);
	} else if (k->print_list(arr) == 0)
		printf("no %s yet\n", strcmp(k->noun, "batch") == 0 ?
		    "batches" : "jobs");
out:
	cJSON_Delete(arr);
	cli_resp_free(&r);
	free(what);
	free(path);
	return rc;
}

/* The batches of arr as a batch_table(). */
static size_t
print_batch_list(const cJSON *arr)
{
	struct cli_table *t = batch_table();
	const cJSON	*b;
	size_t		 n;

	cJSON_ArrayForEach(b, arr)
		batch_row(t, b);
	if ((n = cli_table_rows(t)) > 0)
		cli_table_print(t, stdout);
	cli_table_free(t);
	return n;
}

/* batch status [ID] [--limit N]: one batch in detail, or a table. */
int
cli_cmd_batch_status(struct cli *cli, int argc, char **argv)
{
	static const struct status_kind k = { "batch status", "batch",
	    "/batch", print_batch, print_batch_list };

	return status_cmd(cli, argc, argv, &k);
}

/*
 * batch summary [--since YYYY-MM-DD]: every batch (paged through with
 * ?limit= and ?before=), those created on or after the date, and the
 * totals. --json prints the kept batches as the server gave them.
 */
int
cli_cmd_batch_summary(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct list_opts o = { 0, NULL, "batch summary" };
	struct cli_resp	 r;
	struct cli_table *t = NULL;
	cJSON		*page = NULL, *kept = NULL, *b, *next;
	const char	*id, *created;
	char		*before = NULL, *path = NULL, *txt, tm[32];
	double		 tot[NITEMS(states)], jobs = 0, ms = 0;
	size_t		 i, nb = 0;
	int		 first, rc, n, stop = 0;

	memset(&r, 0, sizeof(r));
	memset(tot, 0, sizeof(tot));
	if ((first = cli_getopt("batch summary", argc, argv, opts, list_take,
	    &o)) < 0)
		return CLI_USAGE;
	if (argc - first != 0)
		return cli_usage_error("batch summary", "no operand expected");
	if ((rc = cli_ready(cli, 1)) != CLI_OK)
		return rc;
	kept = cJSON_CreateArray();
	t = batch_table();
	while (!stop) {
		free(path);
		path = before == NULL ? xasprintf("/batch?limit=%d", PAGE) :
		    xasprintf("/batch?limit=%d&before=%s", PAGE, before);
		cli_resp_free(&r);
		cJSON_Delete(page);
		if ((rc = get_json(cli, path, "GET /batch", &r, &page)) !=
		    CLI_OK)
			goto out;
		n = cJSON_GetArraySize(page);
		if (n < PAGE)
			stop = 1;
		for (b = page != NULL ? page->child : NULL; b != NULL;
		    b = next) {
			next = b->next;
			id = cli_jstr(b, "id");
			created = cli_jstr(b, "created_at");
			if (id != NULL) {
				free(before);
				before = cli_escape(id);
			}
			if (o.since != NULL && (created == NULL ||
			    strncmp(created, o.since, 10) < 0)) {
				/* Newest first: the rest is older still. */
				stop = 1;
				break;
			}
			batch_row(t, b);
			for (i = 0; i < NITEMS(states); i++)
				tot[i] += cli_jnum(b, states[i], 0);
			jobs += cli_jnum(b, "job_count", 0);
			ms += cli_jnum(b, "processing_time", 0);
			nb++;
			cJSON_AddItemToArray(kept,
			    cJSON_DetachItemViaPointer(page, b));
		}
		if (n == 0 || before == NULL)
			stop = 1;
	}
	if (cli->json) {
		if ((txt = cJSON_Print(kept)) != NULL) {
			printf("%s\n", txt);
			cJSON_free(txt);
		}
		goto out;
	}
	if (nb == 0) {
		printf("no batches%s%s\n", o.since != NULL ? " since " : "",
		    o.since != NULL ? o.since : "");
		goto out;
	}
	cli_table_print(t, stdout);
	cli_human_ms(ms, tm);
	printf("\n%zu batches%s%s, %.0f jobs:", nb,
	    o.since != NULL ? " since " : "", o.since != NULL ? o.since : "",
	    jobs);
	for (i = 0; i < NITEMS(states); i++)
		if (tot[i] > 0)
			printf(" %s %.0f", states[i], tot[i]);
	printf("; processing time %s\n", tm);
out:
	cli_table_free(t);
	cJSON_Delete(page);
	cJSON_Delete(kept);
	cli_resp_free(&r);
	free(before);
	free(path);
	return rc;
}

/* --- cancel ------------------------------------------------------------------ */

/* DELETE /KIND/ID and say what the server did. */
static int
cancel(struct cli *cli, const char *cmd, const char *kind, int argc,
    char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	struct cli_resp	 r;
	cJSON		*obj = NULL;
	const cJSON	*v;
	char		*path, *what, *base;
	int		 first, rc, shown = 0;

	if ((first = cli_getopt(cmd, argc, argv, opts, no_take, NULL)) < 0)
		return CLI_USAGE;
	if (argc - first != 1)
		return cli_usage_error(cmd, "give one %s ID", kind);
	if ((rc = cli_ready(cli, 1)) != CLI_OK)
		return rc;
	base = xasprintf("/%s", kind);
	path = id_path(base, argv[first], "");
	what = xasprintf("DELETE /%s/{id}", kind);
	if ((rc = cli_request(cli, "DELETE", path, NULL, 0, &r)) != CLI_OK) {
		rc = cli_report(cli, what, &r);
		goto out;
	}
	if (cli->json) {
		cli_print_raw(&r);
		goto out;
	}
	obj = cJSON_ParseWithLength(r.body, r.len);
	printf("%s %s:", kind, argv[first]);
	/* Whatever counts the server gives ("canceled": 3, ...). */
	cJSON_ArrayForEach(v, first_of(obj)) {
		if (v->string != NULL && cJSON_IsNumber(v)) {
			printf(" %s %.0f", v->string, v->valuedouble);
			shown = 1;
		} else if (v->string != NULL &&
		    strcmp(v->string, "status") == 0 && cJSON_IsString(v)) {
			printf(" %s", v->valuestring);
			shown = 1;
		}
	}
	printf("%s\n", shown ? "" : " cancel requested");
out:
	cJSON_Delete(obj);
	cli_resp_free(&r);
	free(what);
	free(path);
	free(base);
	return rc;
}

int
cli_cmd_batch_cancel(struct cli *cli, int argc, char **argv)
{

	return cancel(cli, "batch cancel", "batch", argc, argv);
}

int
cli_cmd_job_cancel(struct cli *cli, int argc, char **argv)
{

	return cancel(cli, "job cancel", "job", argc, argv);
}

/* --- batch wait ----------------------------------------------------------- */

struct wait_opts {
	double		 timeout;	/* 0: none */
	double		 interval;
	const char	*cmd;
	int		 follow;
};

static int
wait_take(void *arg, int c, const char *v)
{
	struct wait_opts	*o = arg;

	switch (c) {
	case 't':
		if (parse_seconds(v, &o->timeout) == -1)
			return cli_usage_error(o->cmd,
			    "--timeout takes seconds above 0");
		return 0;
	case 'i':
		if (parse_seconds(v, &o->interval) == -1)
			return cli_usage_error(o->cmd,
			    "--interval takes seconds above 0");
		return 0;
	case 'f':
		o->follow = 1;
		return 0;
	}
	return CLI_USAGE;
}

/* One line of counts of batch b into out. */
static void
counts_line(const cJSON *b, char *out, size_t sz)
{
	size_t	 i, off;

	off = (size_t)snprintf(out, sz, "%.0f/%.0f final", final_count(b),
	    cli_jnum(b, "job_count", 0));
	for (i = 0; i < NITEMS(states) && off < sz; i++)
		if (cli_jnum(b, states[i], 0) > 0)
			off += (size_t)snprintf(out + off, sz - off,
			    ", %s %.0f", states[i], cli_jnum(b, states[i], 0));
}

/*
 * batch wait ID [--timeout S] [--interval S]: poll until every job is
 * final. Exit 0 when all COMPLETED, 1 otherwise (or on timeout). Up to 10
 * failed polls in a row (server restarting) are waited out.
 */
int
cli_cmd_batch_wait(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	struct wait_opts o = { 0, 2, "batch wait", 0 };
	struct cli_resp	 r;
	struct cli_progress pg;
	cJSON		*arr = NULL;
	const cJSON	*b;
	char		*path, line[512], last[512] = "";
	double		 start, total;
	int		 first, rc, fails = 0, started = 0;

	memset(&r, 0, sizeof(r));
	if ((first = cli_getopt("batch wait", argc, argv, opts, wait_take,
	    &o)) < 0)
		return CLI_USAGE;
	if (argc - first != 1)
		return cli_usage_error("batch wait", "give one batch ID");
	if ((rc = cli_ready(cli, 1)) != CLI_OK)
		return rc;
	path = id_path("/batch", argv[first], "");
	start = cli_now();
	for (;;) {
		cli_resp_free(&r);
		cJSON_Delete(arr);
		arr = NULL;
		rc = cli_request(cli, "GET", path, NULL, 0, &r);
		if (rc == CLI_SERVER && ++fails < 10) {
			if (o.timeout > 0 && cli_now() - start > o.timeout)
				goto timeout;
			nap(o.interval);
			continue;
		}
		if (rc != CLI_OK) {
			if (started && cli->tty)
				fputc('\n', stderr);
			rc = cli_report(cli, "GET /batch/{id}", &r);
			goto out;
		}
		fails = 0;
		if ((arr = cli_resp_json(&r, "GET /batch/{id}")) == NULL ||
		    (b = first_of(arr)) == NULL) {
			rc = CLI_OTHER;
			goto out;
		}
		total = cli_jnum(b, "job_count", 0);
		if (!started) {
			cli_progress_start(&pg, "waiting", cli->tty, total,
			    "jobs final");
			started = 1;
		}
		cli_progress_update(&pg, final_count(b));
		counts_line(b, line, sizeof(line));
		if (!cli->tty && strcmp(line, last) != 0) {
			fprintf(stderr, "batch %s: %s\n", argv[first], line);
			snprintf(last, sizeof(last), "%s", line);
		}
		if (final_count(b) >= total)
			break;
		if (o.timeout > 0 && cli_now() - start > o.timeout)
			goto timeout;
		nap(o.interval);
	}
	cli_progress_end(&pg);
	if (cli->json)
		cli_print_raw(&r);
	else
		printf("batch %s %s: %s\n", argv[first],
		    cli_jstr(b, "status") != NULL ? cli_jstr(b, "status") : "",
		    line);
	rc = cli_jnum(b, "completed", 0) >= total ? CLI_OK : CLI_OTHER;
	goto out;
timeout:
	if (started)
		cli_progress_end(&pg);
	cli_warn("batch %s: timed out after %.0f s%s%s", argv[first],
	    o.timeout, last[0] != '\0' ? ": " : "", last);
	rc = CLI_OTHER;
out:
	cJSON_Delete(arr);
	cli_resp_free(&r);
	free(path);
	return rc;
}

/* --- job status ------------------------------------------------------------ */

/* Print one job in detail. */
static void
print_job(const cJSON *j)
{
	static const char *const keys[] = { "id", "batch_id", "status", "mode",
	    "command", "image", "data_set_id", "host", "pending_reason",
	    "created_at", "started_at", "finished_at", "exit_code", "error",
	    "result" };
	const cJSON	*req;
	char		*v, tm[32];
	size_t		 i;

	for (i = 0; i < NITEMS(keys); i++) {
		if (cJSON_GetObjectItemCaseSensitive(j, keys[i]) == NULL)
			continue;
		v = cli_json_text(cJSON_GetObjectItemCaseSensitive(j, keys[i]));
		printf("%-16s%s\n", keys[i], v);
		free(v);
	}
	cli_human_ms(cli_jnum(j, "processing_time", 0), tm);
	printf("%-16s%s (%.0f ms)\n", "processing_time", tm,
	    cli_jnum(j, "processing_time", 0));
	if ((req = cJSON_GetObjectItemCaseSensitive(j, "requisitions")) !=
	    NULL)
		printf("%-16scpu %g, gpu %g, ram %g GB\n", "requisitions",
		    cli_jnum(req, "cpu", 0), cli_jnum(req, "gpu", 0),
		    cli_jnum(req, "ram", 0));
}

/* The jobs of arr as a table. */
static size_t
print_job_list(const cJSON *arr)
{
	static const char *const hdr[] = { "JOB", "BATCH", "STATUS", "MODE",
	    "TIME", "HOST", "COMMAND" };
	struct cli_table *t;
	const cJSON	*j;
	const char	*cells[7];
	char		 tm[32];
	size_t		 n;

	t = cli_table_new(7, (const char *const *)hdr);
	cli_table_align(t, 4, CLI_RIGHT);
	cli_table_limit(t, 6, 60);
	cJSON_ArrayForEach(j, arr) {
		cli_human_ms(cli_jnum(j, "processing_time", 0), tm);
		cells[0] = cli_jstr(j, "id");
		cells[1] = cli_jstr(j, "batch_id");
		cells[2] = cli_jstr(j, "status");
		cells[3] = cli_jstr(j, "mode");
		cells[4] = tm;
		cells[5] = cli_jstr(j, "host");
		cells[6] = cli_jstr(j, "command");
		cli_table_add(t, cells);
	}
	if ((n = cli_table_rows(t)) > 0)
		cli_table_print(t, stdout);
	cli_table_free(t);
	return n;
}

/* job status [ID] [--limit N]: one job in detail, or a table. */
int
cli_cmd_job_status(struct cli *cli, int argc, char **argv)
{
	static const struct status_kind k = { "job status", "job", "/job",
	    print_job, print_job_list };

	return status_cmd(cli, argc, argv, &k);
}

/* --- job log -------------------------------------------------------------- */

#define LOG_STATUS_EVERY	3.0	/* seconds between status checks */
#define LOG_FAILS		10	/* failed polls in a row waited out */

/* One answer of GET /job/{id}/log; its body goes to stdout when 2xx. */
struct logget {
	CURL		*c;
	struct cli_resp	 r;		/* status, request id, error bodies */
	long long	 from;		/* the Range asked; -1: none */
	long long	 skip;		/* body bytes not to print */
	long long	 printed;	/* body bytes printed */
	long long	 size;		/* X-Singularity-Log-Size; -1: none */
	unsigned	 attempt;	/* X-Singularity-Attempt; 0: none */
	int		 range;		/* Content-Range: 0 a-b/t, 1 * /t, -1 */
	long long	 first, last, total;	/* of Content-Range */
	int		 started;	/* the body began */
	int		 bad;		/* a 206 without a usable Content-Range */
	int		 failed;	/* errno writing stdout */
};

/*
 * Write callback: a 2xx body to stdout, anything else to r. Bytes already
 * printed are left out: those before the offset asked in a 206 that starts
 * earlier, and in a 200 to a Range (a server or proxy that ignored it)
 * the first from bytes.
 */
static size_t
log_write(char *p, size_t size, size_t n, void *arg)
{
	struct logget	*g = arg;
	size_t		 len = size * n, k = 0;
	long		 status = 0;

	curl_easy_getinfo(g->c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299)
		return cli_resp_write(p, size, n, &g->r);
	if (!g->started) {
		g->started = 1;
		if (status == 206) {
			if (g->range != 0) {
				g->bad = 1;
				return 0;
			}
			g->skip = g->first < g->from ? g->from - g->first : 0;
		} else if (g->from > 0)
			g->skip = g->from;
	}
	if (g->skip > 0) {
		k = (long long)len < g->skip ? len : (size_t)g->skip;
		g->skip -= (long long)k;
	}
	if (k < len && fwrite(p + k, 1, len - k, stdout) != len - k) {
		g->failed = errno != 0 ? errno : EIO;
		return 0;
	}
	g->printed += (long long)(len - k);
	return len;
}

/* The value of header name in the header line p (len bytes), or NULL. */
static const char *
header_value(const char *p, size_t len, const char *name, size_t *vlen)
{
	size_t	 nlen = strlen(name);

	if (len <= nlen || strncasecmp(p, name, nlen) != 0)
		return NULL;
	p += nlen;
	len -= nlen;
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n' ||
	    p[len - 1] == ' '))
		len--;
	*vlen = len;
	return p;
}

/* A decimal number of n bytes at p (at most max). Returns 0 or -1. */
static int
header_num(const char *p, size_t n, unsigned long long max,
    unsigned long long *v)
{
	char	 buf[24];

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return util_parse_u64(buf, max, v);
}

/* Header callback: request id, log size, attempt, Content-Range. */
static size_t
log_header(char *p, size_t size, size_t n, void *arg)
{
	struct logget		*g = arg;
	const char		*v;
	unsigned long long	 u;
	size_t			 len = size * n, vlen;

	if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new answer's headers: forget an earlier one's. */
		g->size = -1;
		g->attempt = 0;
		g->range = -1;
	}
	cli_resp_header(p, size, n, &g->r);
	if ((v = header_value(p, len, "x-singularity-log-size:",
	    &vlen)) != NULL && header_num(v, vlen, LLONG_MAX, &u) == 0)
		g->size = (long long)u;
	else if ((v = header_value(p, len, "x-singularity-attempt:",
	    &vlen)) != NULL && header_num(v, vlen, UINT_MAX, &u) == 0)
		g->attempt = (unsigned)u;
	else if ((v = header_value(p, len, "content-range:", &vlen)) != NULL)
		g->range = cli_content_range(v, vlen, &g->first, &g->last,
		    &g->total);
	return len;
}

/*
 * GET path, with "Range: bytes=from-" when from >= 0, its 2xx body
 * printed as it comes (see log_write()) into *g (free g->r with
 * cli_resp_free). Returns the answer's exit code, CLI_OK for 2xx and 416
 * (nothing new), or CLI_OTHER (printed) when stdout fails or a 206 has no
 * usable Content-Range.
 */
static int
log_get(struct cli *cli, const char *path, long long from, struct logget *g)
{
	struct curl_slist	*h = NULL;
	char			 range[48];
	int			 rc;

	cli_resp_free(&g->r);
	memset(g, 0, sizeof(*g));
	g->size = -1;
	g->range = -1;
	g->from = from;
	if ((g->c = cli_easy(cli, "GET", path, NULL, 0, NULL, 1, NULL,
	    &h)) == NULL) {
		cli_warn("cannot set up libcurl");
		return CLI_OTHER;
	}
	if (from >= 0) {
		snprintf(range, sizeof(range), "Range: bytes=%lld-", from);
		if ((h = curl_slist_append(h, range)) == NULL) {
			curl_easy_cleanup(g->c);
			cli_warn("out of memory");
			return CLI_OTHER;
		}
		curl_easy_setopt(g->c, CURLOPT_HTTPHEADER, h);
	}
	curl_easy_setopt(g->c, CURLOPT_WRITEFUNCTION, log_write);
	curl_easy_setopt(g->c, CURLOPT_WRITEDATA, g);
	curl_easy_setopt(g->c, CURLOPT_HEADERFUNCTION, log_header);
	curl_easy_setopt(g->c, CURLOPT_HEADERDATA, g);
	curl_easy_setopt(g->c, CURLOPT_ERRORBUFFER, g->r.errbuf);
	curl_easy_setopt(g->c, CURLOPT_TIMEOUT, 300L);
	g->r.curl_rc = curl_easy_perform(g->c);
	if (g->r.curl_rc == CURLE_OK)
		curl_easy_getinfo(g->c, CURLINFO_RESPONSE_CODE, &g->r.status);
	curl_easy_cleanup(g->c);
	g->c = NULL;
	curl_slist_free_all(h);
	if (g->r.body == NULL)
		g->r.body = xstrdup("");
	fflush(stdout);
	if (g->bad) {
		cli_warn("GET %s: a 206 answer without a valid Content-Range",
		    path);
		return CLI_OTHER;
	}
	if (g->failed != 0) {
		cli_warn("writing the log: %s", strerror(g->failed));
		return CLI_OTHER;
	}
	if (cli->verbose && g->r.request_id[0] != '\0')
		fprintf(stderr, "singularity-cli: GET %s: %ld, request %s\n",
		    path, g->r.status, g->r.request_id);
	if (g->r.status == 416)
		return CLI_OK;
	rc = cli_resp_exit(&g->r);
	return rc;
}

struct log_opts {
	double		 interval;
	unsigned	 attempt;	/* 0: the current one */
	int		 follow;
};

static int
log_take(void *arg, int c, const char *v)
{
	struct log_opts		*o = arg;
	unsigned long long	 n;

	switch (c) {
	case 'i':
		if (parse_seconds(v, &o->interval) == -1)
			return cli_usage_error("job log",
			    "--interval takes seconds above 0");
		return 0;
	case 'a':
		if (util_parse_u64(v, UINT_MAX, &n) == -1 || n == 0)
			return cli_usage_error("job log",
			    "--attempt takes a whole number from 1");
		o->attempt = (unsigned)n;
		return 0;
	case 'f':
		o->follow = 1;
		return 0;
	}
	return CLI_USAGE;
}

/* "/job/ID/log?attempt=N" (ID escaped). Caller frees. */
static char *
log_path(const char *id, unsigned attempt)
{
	char	*base, *p;

	base = id_path("/job", id, "/log");
	p = xasprintf("%s?attempt=%u", base, attempt);
	free(base);
	return p;
}

/*
 * job log ID [--attempt N] [--follow] [--interval S]: the log of the
 * job's current attempt, or of attempt N: as the server keeps it (a long
 * log as its head, a marker line and its tail).
 *
 * With --follow, then new bytes as they come: "Range: bytes=NEXT-" about
 * every interval (at once while the answer ends before the log's size,
 * as after a wrapped log's head), a 416 meaning nothing new yet. When an
 * answer starts past NEXT (the dropped middle of a long log), a one-line
 * note on stderr says how many bytes were skipped. Only after a poll that
 * brought nothing is the job's status asked (GET /job/{id}, at most every
 * LOG_STATUS_EVERY seconds); once the followed attempt is over (the job
 * final, or a later attempt begun) and one more poll brings nothing, the
 * next attempt is followed in turn (without --attempt), or the command
 * ends with 0. Up to LOG_FAILS failed polls in a row are waited out.
 */
int
cli_cmd_job_log(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "interval", required_argument, NULL, 'i' },
		{ "attempt", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct log_opts	 o = { 1, 0, 0 };
	struct logget	 g;
	struct cli_resp	 s;
	cJSON		*arr = NULL;
	const cJSON	*job;
	char		*path = NULL, *jpath = NULL;
	const char	*id;
	long long	 next;
	double		 checked = -1e9;
	unsigned	 followed, current = 0;
	int		 first, rc, fails = 0, final = 0, got;

	memset(&g, 0, sizeof(g));
	memset(&s, 0, sizeof(s));
	if ((first = cli_getopt("job log", argc, argv, opts, log_take,
	    &o)) < 0)
		return CLI_USAGE;
	if (argc - first != 1)
		return cli_usage_error("job log", "give one job ID");
	if ((rc = cli_ready(cli, 1)) != CLI_OK)
		return rc;
	id = argv[first];
	path = o.attempt != 0 ? log_path(id, o.attempt) :
	    id_path("/job", id, "/log");
	jpath = id_path("/job", id, "");

	/* The log so far, whole. */
	if ((rc = log_get(cli, path, -1, &g)) != CLI_OK ||
	    g.r.status == 416) {
		if (rc != CLI_OTHER)
			rc = cli_report(cli, "GET /job/{id}/log", &g.r);
		goto out;
	}
	if (!o.follow)
		goto out;
	/* Follow that attempt from its logical size on. */
	followed = o.attempt != 0 ? o.attempt : g.attempt != 0 ? g.attempt : 1;
	next = g.size >= 0 ? g.size : g.printed;
	free(path);
	path = log_path(id, followed);
	for (;;) {
		rc = log_get(cli, path, next, &g);
		if (rc == CLI_SERVER && ++fails < LOG_FAILS) {
			nap(o.interval);
			continue;
		}
		if (rc != CLI_OK) {
			if (rc != CLI_OTHER)
				rc = cli_report(cli, "GET /job/{id}/log", &g.r);
			goto out;
		}
		fails = 0;
		got = 0;
		if (g.r.status == 206) {
			if (g.first > next)
				cli_warn("job %s: %lld bytes of the log skipped "
				    "here (the server keeps the head and the "
				    "tail of a long log)", id, g.first - next);
			got = g.last + 1 > next;
			if (got)
				next = g.last + 1;
			if (got && next < g.total)
				continue;	/* more at once (a head's end) */
		} else if (g.r.status == 200) {
			/* The Range ignored: the bytes past next, printed. */
			got = g.printed > 0;
			next += g.printed;
		}
		if (got) {
			nap(o.interval);
			continue;
		}
		/* Nothing new: is the attempt over? */
		if (final || current > followed) {
			if (o.attempt != 0 || current <= followed)
				break;
			cli_warn("job %s: attempt %u ended, attempt %u follows",
			    id, followed, followed + 1);
			followed++;
			next = 0;
			free(path);
			path = log_path(id, followed);
			continue;
		}
		if (cli_now() - checked >= LOG_STATUS_EVERY) {
			checked = cli_now();
			cli_resp_free(&s);
			cJSON_Delete(arr);
			if ((rc = get_json(cli, jpath, "GET /job/{id}", &s,
			    &arr)) != CLI_OK)
				goto out;
			job = first_of(arr);
			final = is_final(cli_jstr(job, "status"));
			current = (unsigned)cli_jnum(job, "attempt", followed);
			if (final || current > followed)
				continue;	/* one more poll, then done */
		}
		nap(o.interval);
	}
	rc = CLI_OK;
out:
	cJSON_Delete(arr);
	cli_resp_free(&g.r);
	cli_resp_free(&s);
	free(path);
	free(jpath);
	return rc;
}

/* --- leaderboard -------------------------------------------------------------- */

#define BOARD_TOP_MAX		1000	/* the server's ?top= bound */
#define BOARD_METRIC_MAX	128

/* 1 when s is a metric the server takes: 1..128 of [A-Za-z0-9_.-]. */
static int
metric_ok(const char *s)
{
	size_t	 n = strlen(s);

	return n > 0 && n <= BOARD_METRIC_MAX &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") == n;
}

struct board_opts {
	const char		*metric;	/* NULL: the batch's objective */
	unsigned long long	 top;
	int			 ascending;
};

static int
board_take(void *arg, int c, const char *v)
{
	struct board_opts	*o = arg;

	switch (c) {
	case 'm':
		if (!metric_ok(v))
			return cli_usage_error("leaderboard",
			    "--metric needs a key of the results (1 to 128 "
			    "characters of A-Z a-z 0-9 _ . -)");
		o->metric = v;
		return 0;
	case 'n':
		if (util_parse_u64(v, BOARD_TOP_MAX, &o->top) == -1 ||
		    o->top == 0)
			return cli_usage_error("leaderboard",
			    "--top must be a whole number from 1 to 1000");
		return 0;
	case 'a':
		o->ascending = 1;
		return 0;
	}
	return CLI_USAGE;
}

/*
 * leaderboard BATCH [--metric KEY] [--top N] [--ascending]: GET
 * /batch/{id}/leaderboard, the batch's COMPLETED jobs ranked by its
 * objective (or KEY, lowest first with --ascending); jobs without the
 * metric are counted on standard error, not ranked. --json prints the
 * server's answer.
 */
int
cli_cmd_leaderboard(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "metric", required_argument, NULL, 'm' },
		{ "top", required_argument, NULL, 'n' },
		{ "ascending", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct board_opts o = { NULL, 0, 0 };
	struct cli_resp	 r;
	struct cli_table *t = NULL;
	cJSON		*ans = NULL;
	const cJSON	*j, *m, *ranked, *unranked;
	const char	*hdr[5] = { "RANK", "JOB", "STATUS", NULL, "COMMAND" };
	const char	*cells[5], *metric;
	char		*path = NULL, q[256], rank[32], score[64], *txt;
	size_t		 n = 0, nun;
	int		 first, rc, k;

	memset(&r, 0, sizeof(r));
	if ((first = cli_getopt("leaderboard", argc, argv, opts, board_take,
	    &o)) < 0)
		return CLI_USAGE;
	if (argc - first != 1)
		return cli_usage_error("leaderboard", "give one batch ID");
	if ((rc = cli_ready(cli, 1)) != CLI_OK)
		return rc;
	/* metric is checked to [A-Za-z0-9_.-]: nothing to escape. */
	k = snprintf(q, sizeof(q), "/leaderboard");
	if (o.metric != NULL)
		k += snprintf(q + k, sizeof(q) - (size_t)k, "%cmetric=%s",
		    k == 12 ? '?' : '&', o.metric);
	if (o.ascending)
		k += snprintf(q + k, sizeof(q) - (size_t)k, "%cdirection=min",
		    k == 12 ? '?' : '&');
	if (o.top > 0)
		snprintf(q + k, sizeof(q) - (size_t)k, "%ctop=%llu",
		    k == 12 ? '?' : '&', o.top);
	path = id_path("/batch", argv[first], q);
	if ((rc = get_json(cli, path, "GET /batch/{id}/leaderboard", &r,
	    &ans)) != CLI_OK)
		goto out;
	if (cli->json) {
		if ((txt = cJSON_Print(ans)) != NULL) {
			printf("%s\n", txt);
			cJSON_free(txt);
		}
		goto out;
	}
	metric = cli_jstr(cJSON_GetObjectItemCaseSensitive(ans, "objective"),
	    "metric");
	ranked = cJSON_GetObjectItemCaseSensitive(ans, "ranked");
	unranked = cJSON_GetObjectItemCaseSensitive(ans, "unranked");
	nun = (size_t)cJSON_GetArraySize(unranked);
	hdr[3] = metric;
	t = cli_table_new(5, hdr);
	cli_table_align(t, 0, CLI_RIGHT);
	cli_table_align(t, 3, CLI_RIGHT);
	cli_table_limit(t, 4, 60);
	cJSON_ArrayForEach(j, ranked) {
		m = cJSON_GetObjectItemCaseSensitive(j, "metric");
		snprintf(rank, sizeof(rank), "%zu", ++n);
		snprintf(score, sizeof(score), "%.6g",
		    cJSON_IsNumber(m) ? m->valuedouble : 0.0);
		cells[0] = rank;
		cells[1] = cli_jstr(j, "job_id");
		cells[2] = "COMPLETED";
		cells[3] = score;
		cells[4] = cli_jstr(j, "command");
		cli_table_add(t, cells);
	}
	if (n == 0)
		printf("no job of batch %s has a numeric \"%s\" in its result "
		    "yet\n", argv[first], metric);
	else
		cli_table_print(t, stdout);
	if (nun > 0 && n > 0)
		fprintf(stderr, "(%zu job%s without \"%s\" not ranked)\n",
		    nun, nun == 1 ? "" : "s", metric);
out:
	cli_table_free(t);
	cJSON_Delete(ans);
	cli_resp_free(&r);
	free(path);
	return rc;
}

/* --- batch promote --------------------------------------------------------- */

struct promote_opts {
	unsigned	 top;
	const char	*set;
	int		 partial;
};

static int
promote_take(void *arg, int c, const char *v)
{
	struct promote_opts	*o = arg;
	unsigned long long	 n;

	switch (c) {
	case 't':
		if (util_parse_u64(v, 1000, &n) == -1 || n == 0)
			return cli_usage_error("batch promote",
			    "--top must be a whole number from 1 to 1000");
		o->top = (unsigned)n;
		return 0;
	case 'd':
		o->set = v;
		return 0;
	case 'p':
		o->partial = 1;
		return 0;
	}
	return CLI_USAGE;
}

/*
 * batch promote ID --top N [--data-set SET] [--partial]: POST
 * /batch/ID/promote. Prints the production batch and, per job, the pilot
 * job it reruns. Exit 0 when every chosen configuration was promoted, 1
 * when some could not be (each one's reason on stderr).
 */
int
cli_cmd_batch_promote(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "top", required_argument, NULL, 't' },
		{ "data-set", required_argument, NULL, 'd' },
		{ "partial", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct promote_opts o = { 0, NULL, 0 };
	struct cli_resp	 r;
	const cJSON	*j;
	cJSON		*body = NULL, *ans = NULL;
	char		*path = NULL, *txt = NULL;
	int		 first, rc;

	memset(&r, 0, sizeof(r));
	if ((first = cli_getopt("batch promote", argc, argv, opts,
	    promote_take, &o)) < 0)
		return CLI_USAGE;
	if (argc - first != 1)
		return cli_usage_error("batch promote", "give one batch ID");
	if (o.top == 0)
		return cli_usage_error("batch promote", "--top is required");
	if ((rc = cli_ready(cli, 1)) != CLI_OK)
		return rc;
	body = cJSON_CreateObject();
	cJSON_AddNumberToObject(body, "top_k", (double)o.top);
	if (o.set != NULL)
		cJSON_AddStringToObject(body, "data_set_id", o.set);
	if (o.partial)
		cJSON_AddTrueToObject(body, "partial");
	path = id_path("/batch", argv[first], "/promote");
	rc = CLI_OTHER;
	if ((txt = cJSON_PrintUnformatted(body)) == NULL)
		goto out;
	if ((rc = cli_request(cli, "POST", path, txt, strlen(txt), &r)) !=
	    CLI_OK) {
		rc = cli_report(cli, "POST /batch/{id}/promote", &r);
		if ((ans = cJSON_ParseWithLength(r.body, r.len)) != NULL)
			print_job_errors(ans);
		goto out;
	}
	if (cli->json)
		cli_print_raw(&r);
	if ((ans = cli_resp_json(&r, "POST /batch/{id}/promote")) == NULL) {
		rc = CLI_OTHER;
		goto out;
	}
	if (!cli->json) {
		printf("batch %s: %.0f jobs promoted from batch %s, %.0f "
		    "refused\n", cli_jstr(ans, "batch_uuid") != NULL ?
		    cli_jstr(ans, "batch_uuid") : "?",
		    cli_jnum(ans, "successful", 0), argv[first],
		    cli_jnum(ans, "failed", 0));
		cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(ans,
		    "jobs"))
			printf("  %.0f  %s  <- %s  %.15g\n",
			    cli_jnum(j, "rank", 0),
			    cli_jstr(j, "id") ? cli_jstr(j, "id") : "?",
			    cli_jstr(j, "promoted_from") ?
			    cli_jstr(j, "promoted_from") : "?",
			    cli_jnum(j, "metric", 0));
	}
	print_job_errors(ans);
	rc = cli_jnum(ans, "failed", 0) > 0 ? CLI_OTHER : CLI_OK;
out:
	cJSON_Delete(ans);
	cJSON_Delete(body);
	if (txt != NULL)
		cJSON_free(txt);
	cli_resp_free(&r);
	free(path);
	return rc;
}

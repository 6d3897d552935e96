/*
 * cli-data.c: `dataset add`, `dataset summary`, `dataset list` (API
 * reference "Data"; DESIGN "Data sets and shards").
 *
 * `dataset add NAME DIR` is incremental: the imprint remembers which file
 * went into which shard, so a second run packs and uploads only shards whose
 * files changed (and the new files), deletes the shards that no longer
 * match, and an interrupted run resumes where the server stopped confirming.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "cli.h"
#include "util.h"

/* --- dataset add ---------------------------------------------------------- */

struct add_opts {
	long long	 pilots;	/* -1: not given */
	const char	*imprint;
	long		 parallel;
	unsigned long long rate;	/* bytes/s per upload, 0: any */
};

static int
add_take(void *arg, int c, const char *v)
{
	struct add_opts		*o = arg;
	unsigned long long	 n;

	switch (c) {
	case 'p':
		if (util_parse_u64(v, 256, &n) == -1)
			return cli_usage_error("dataset add",
			    "--pilot-count must be a whole number 0..256");
		o->pilots = (long long)n;
		return 0;
	case 'i':
		o->imprint = v;
		return 0;
	case 'j':
		if (util_parse_u64(v, 16, &n) == -1 || n == 0)
			return cli_usage_error("dataset add",
			    "--parallel must be 1..16");
		o->parallel = (long)n;
		return 0;
	case 'r':
		if (util_parse_u64(v, 1ULL << 40, &n) == -1 || n < 1024)
			return cli_usage_error("dataset add",
			    "--limit-rate takes bytes per second, at least 1024");
		o->rate = n;
		return 0;
	}
	return CLI_USAGE;
}

/*
 * The imprint's name relative to dir when it lies inside dir (so the scan
 * skips it), else NULL. Caller frees.
 */
static char *
imprint_inside(const char *dir, const char *imprint)
{
	char	 rd[PATH_MAX], rp[PATH_MAX], *copy, *parent, *base, *ret = NULL;
	size_t	 n;

	if (realpath(dir, rd) == NULL)
		return NULL;
	copy = xstrdup(imprint);
	parent = dirname(copy);
	if (realpath(parent, rp) != NULL) {
		free(copy);
		copy = xstrdup(imprint);
		base = basename(copy);
		n = strlen(rd);
		if (strcmp(rp, rd) == 0)
			ret = xstrdup(base);
		else if (strncmp(rp, rd, n) == 0 && rp[n] == '/')
			ret = xasprintf("%s/%s", rp + n + 1, base);
	}
	free(copy);
	return ret;
}

/* The uuid of the set from a POST /data or GET /data answer; NULL if none. */
static char *
set_uuid_of(const struct cli_resp *r, long long *pilots)
{
	cJSON		*obj;
	const cJSON	*v;
	char		*ret = NULL;

	if ((obj = cJSON_ParseWithLength(r->body, r->len)) == NULL)
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(obj, "dataset_uuid");
	if (cJSON_IsString(v) && v->valuestring != NULL)
		ret = xstrdup(v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(obj, "pilot_count");
	if (pilots != NULL)
		*pilots = cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
	cJSON_Delete(obj);
	return ret;
}

/*
 * Find or create the set NAME: POST /data when a pilot count is given (409
 * name_taken: it exists, look it up), else GET /data/NAME. *uuid (caller
 * frees) receives its UUID. Returns an exit code.
 */
static int
ensure_set(struct cli *cli, const char *name, long long pilots, char **uuid,
    int *created)
{
	struct cli_resp	 r;
	cJSON		*body = NULL;
	char		*txt = NULL, *path = NULL, *what = NULL, *esc;
	long long	 have = -1;
	int		 rc;

	*uuid = NULL;
	*created = 0;
	esc = cli_escape(name);
	path = xasprintf("/data/%s", esc);
	free(esc);
	if (pilots >= 0) {
		body = cJSON_CreateObject();
		cJSON_AddStringToObject(body, "name", name);
		cJSON_AddNumberToObject(body, "pilot_count", (double)pilots);
		txt = cJSON_PrintUnformatted(body);
		rc = cli_request(cli, "POST", "/data", txt, strlen(txt), &r);
		if (rc == CLI_OK) {
			*created = 1;
			goto found;
		}
		if (r.status != 409 || strstr(r.body, "name_taken") == NULL) {
			rc = cli_report(cli, "POST /data", &r);
			goto out;
		}
		cli_resp_free(&r);
	}
	what = xasprintf("GET %s", path);
	if ((rc = cli_request(cli, "GET", path, NULL, 0, &r)) != CLI_OK) {
		if (rc == CLI_NOTFOUND && pilots < 0) {
			cli_warn("data set %s does not exist yet: give "
			    "--pilot-count N to create it", name);
			rc = CLI_USAGE;
		} else
			rc = cli_report(cli, what, &r);
		goto out;
	}
found:
	if ((*uuid = set_uuid_of(&r, &have)) == NULL) {
		cli_warn("the server's answer names no dataset_uuid");
		rc = CLI_OTHER;
		goto out;
	}
	if (!*created && pilots >= 0 && have >= 0 && have != pilots)
		cli_warn("data set %s exists with %lld pilots (not %lld): "
		    "adding to it as it is", name, have, pilots);
	rc = CLI_OK;
out:
	cli_resp_free(&r);
	if (txt != NULL)
		cJSON_free(txt);
	cJSON_Delete(body);
	free(what);
	free(path);
	return rc;
}

/* One upload in flight. */
struct upload {
	size_t			 shard;		/* index in imprint */
	CURL			*c;
	struct curl_slist	*h;
	char			*path;		/* owned */
	char			*b64;
	size_t			 b64len;
	char			 key[UUID_STR_LEN + 1];	/* Idempotency-Key */
	int			 attempt;	/* retries made */
	struct cli_resp		 r;
	double			 sent;
};

/* Upload progress callback: remember how much of the body went out. */
static int
up_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct upload	*u = arg;

	u->sent = (double)ulnow;
	return 0;
}

struct add_run {
	struct cli		*cli;
	struct cli_imprint	*imp;
	const char		*dir;
	const char		*imprint_path;
	const char		*uuid;
	unsigned long long	 rate;
	size_t			 uploaded, created, already, deleted;
	uint64_t		 bytes;
};

/* Save the imprint; a failure is reported and returned as -1. */
static int
save(struct add_run *a)
{

	if (cli_imprint_save(a->imp, a->imprint_path) == -1) {
		cli_warn("cannot write the imprint %s: %s", a->imprint_path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Make the transfer of upload u (its body, path and Idempotency-Key set,
 * freshly signed) and add it to m. Returns 0, or -1 (printed; u->c NULL).
 */
static int
arm_upload(struct add_run *a, struct upload *u, CURLM *m)
{
	u->c = cli_easy(a->cli, "POST", u->path, u->b64, u->b64len, NULL, 1,
	    u->key, &u->h);
	if (u->c == NULL) {
		cli_warn("cannot set up libcurl");
		return -1;
	}
	memset(&u->r, 0, sizeof(u->r));
	u->sent = 0;
	curl_easy_setopt(u->c, CURLOPT_WRITEFUNCTION, cli_resp_write);
	curl_easy_setopt(u->c, CURLOPT_WRITEDATA, &u->r);
	curl_easy_setopt(u->c, CURLOPT_HEADERFUNCTION, cli_resp_header);
	curl_easy_setopt(u->c, CURLOPT_HEADERDATA, &u->r);
	curl_easy_setopt(u->c, CURLOPT_ERRORBUFFER, u->r.errbuf);
	curl_easy_setopt(u->c, CURLOPT_PRIVATE, u);
	curl_easy_setopt(u->c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(u->c, CURLOPT_XFERINFOFUNCTION, up_progress);
	curl_easy_setopt(u->c, CURLOPT_XFERINFODATA, u);
	if (a->rate > 0)
		curl_easy_setopt(u->c, CURLOPT_MAX_SEND_SPEED_LARGE,
		    (curl_off_t)a->rate);
	if (curl_multi_add_handle(m, u->c) != CURLM_OK) {
		cli_warn("cannot start an upload");
		curl_easy_cleanup(u->c);
		curl_slist_free_all(u->h);
		u->c = NULL;
		u->h = NULL;
		return -1;
	}
	return 0;
}

/*
 * Pack shard si and start its upload in slot u. Returns CLI_OK, 1 when
 * nothing needs sending (same content already confirmed), or an exit code.
 */
static int
start_upload(struct add_run *a, size_t si, struct upload *u, CURLM *m)
{
	struct cli_ishard	*s = &a->imp->shards[si];
	struct cli_file		**fp;
	unsigned char		*zip = NULL;
	size_t			 ziplen, k;
	char			 sha[65], err[512];
	int			 rc = CLI_OTHER;

	fp = xcalloc(s->nfiles, sizeof(*fp));
	for (k = 0; k < s->nfiles; k++)
		fp[k] = &s->files[k];
	if (cli_pack(a->dir, fp, s->nfiles, &zip, &ziplen, sha, err,
	    sizeof(err)) == -1) {
		cli_warn("packing a shard: %s", err);
		goto out;
	}
	memcpy(s->id, sha, sizeof(s->id));
	s->size = ziplen;
	for (k = 0; k < a->imp->n; k++)
		if (k != si && a->imp->shards[k].uploaded &&
		    strcmp(a->imp->shards[k].id, sha) == 0) {
			s->uploaded = 1;
			rc = 1;
			goto out;
		}
	memset(u, 0, sizeof(*u));
	u->shard = si;
	u->b64 = xmalloc(4 * ((ziplen + 2) / 3) + 1);
	u->b64len = (size_t)EVP_EncodeBlock((unsigned char *)u->b64, zip,
	    (int)ziplen);
	u->path = xasprintf("/data/%s/shard/%s", a->uuid, sha);
	util_uuid(u->key);
	if (arm_upload(a, u, m) == -1) {
		free(u->b64);
		free(u->path);
		u->b64 = NULL;
		u->path = NULL;
		goto out;
	}
	rc = CLI_OK;
out:
	free(zip);
	free(fp);
	return rc;
}

/* Free what an upload slot holds. */
static void
upload_free(struct upload *u, CURLM *m)
{

	if (u->c != NULL) {
		curl_multi_remove_handle(m, u->c);
		curl_easy_cleanup(u->c);
	}
	curl_slist_free_all(u->h);
	free(u->b64);
	free(u->path);
	cli_resp_free(&u->r);
	u->c = NULL;
	u->h = NULL;
	u->b64 = NULL;
	u->path = NULL;
}

/*
 * Send upload u again after a network failure, a 503 or a 401 replayed
 * (cli_retryable): the same body and Idempotency-Key, a new signature,
 * after the backoff.
 * Returns 0, or -1 when it could not be restarted (u then holds the
 * failed answer).
 */
static int
retry_upload(struct add_run *a, struct upload *u, CURLM *m)
{
	if (a->cli->verbose)
		fprintf(stderr, "singularity-cli: uploading shard %.12s: %s; "
		    "retrying with the same Idempotency-Key\n",
		    a->imp->shards[u->shard].id, u->r.status == 401 ?
		    "401 replayed" : u->r.status != 0 ? "503" :
		    curl_easy_strerror((CURLcode)u->r.curl_rc));
	curl_multi_remove_handle(m, u->c);
	curl_easy_cleanup(u->c);
	curl_slist_free_all(u->h);
	u->c = NULL;
	u->h = NULL;
	cli_backoff(u->attempt);
	u->attempt++;
	cli_resp_free(&u->r);
	return arm_upload(a, u, m);
}

/*
 * Upload every shard of the imprint the server has not confirmed, up to
 * parallel at once (curl multi). The imprint is saved after each
 * confirmation. Returns CLI_OK or the exit code of the first failure.
 */
static int
upload_all(struct add_run *a, long parallel)
{
	struct upload		*slots = NULL, *u;
	struct cli_progress	 pg;
	CURLM			*m = NULL;
	CURLMsg			*msg;
	size_t			*pending = NULL, npending = 0, next = 0, i;
	size_t			 done = 0, active = 0;
	double			 frac;
	char			 what[128], size[32];
	int			 running, left, rc = CLI_OK, r, stop = 0;

	for (i = 0; i < a->imp->n; i++)
		if (!a->imp->shards[i].uploaded) {
			pending = xrealloc(pending,
			    (npending + 1) * sizeof(*pending));
			pending[npending++] = i;
		}
	if (npending == 0)
		goto out;
	if ((m = curl_multi_init()) == NULL) {
		cli_warn("cannot set up libcurl");
		rc = CLI_OTHER;
		goto out;
	}
	slots = xcalloc((size_t)parallel, sizeof(*slots));
	cli_progress_start(&pg, "uploading shards", a->cli->tty,
	    (double)npending, "shards");
	while (next < npending || active > 0) {
		for (i = 0; i < (size_t)parallel && next < npending && !stop;
		    i++) {
			if (slots[i].c != NULL)
				continue;
			r = start_upload(a, pending[next], &slots[i], m);
			next++;
			if (r == 1) {
				done++;
				continue;
			}
			if (r != CLI_OK) {
				rc = rc == CLI_OK ? r : rc;
				stop = 1;
				break;
			}
			active++;
		}
		if (active == 0)
			break;
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			cli_warn("libcurl multi interface failed");
			rc = CLI_OTHER;
			break;
		}
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			    (char **)&u);
			u->r.curl_rc = msg->data.result;
			if (u->r.curl_rc == CURLE_OK)
				curl_easy_getinfo(u->c,
				    CURLINFO_RESPONSE_CODE, &u->r.status);
			if (u->r.body == NULL)
				u->r.body = xstrdup("");
			r = cli_resp_exit(&u->r);
			if (r != CLI_OK && u->attempt < CLI_RETRIES &&
			    cli_retryable(&u->r)) {
				if (retry_upload(a, u, m) == 0)
					continue;
				r = CLI_OTHER;
				if (u->r.body == NULL)
					u->r.body = xstrdup("");
			}
			if (r == CLI_OK) {
				struct cli_ishard *s = &a->imp->shards[u->shard];

				s->uploaded = 1;
				a->uploaded++;
				a->bytes += s->size;
				if (u->r.status == 201)
					a->created++;
				else
					a->already++;
				if (!a->cli->tty) {
					cli_human_bytes(s->size, size);
					fprintf(stderr, "uploaded shard %.12s "
					    "(%s, %s) %zu/%zu\n", s->id, size,
					    u->r.status == 201 ? "new" :
					    "already there", done + 1,
					    npending);
				}
				if (save(a) == -1 && rc == CLI_OK) {
					rc = CLI_OTHER;
					stop = 1;
				}
			} else {
				snprintf(what, sizeof(what),
				    "uploading shard %.12s",
				    a->imp->shards[u->shard].id);
				if (a->cli->tty)
					fputc('\n', stderr);
				cli_report(a->cli, what, &u->r);
				if (rc == CLI_OK)
					rc = r;
				/* Credentials or the set gone: stop. */
				if (r == CLI_AUTH || r == CLI_NOTFOUND ||
				    r == CLI_SERVER)
					stop = 1;
			}
			done++;
			active--;
			upload_free(u, m);
		}
		frac = (double)done;
		for (i = 0; i < (size_t)parallel; i++)
			if (slots[i].c != NULL && slots[i].b64len > 0)
				frac += slots[i].sent / (double)slots[i].b64len;
		cli_progress_update(&pg, frac);
		if (active > 0 && curl_multi_wait(m, NULL, 0, 500, NULL) !=
		    CURLM_OK) {
			cli_warn("libcurl multi interface failed");
			rc = CLI_OTHER;
			break;
		}
	}
	cli_progress_end(&pg);
out:
	if (slots != NULL)
		for (i = 0; i < (size_t)parallel; i++)
			upload_free(&slots[i], m);
	if (m != NULL)
		curl_multi_cleanup(m);
	free(slots);
	free(pending);
	return rc;
}

/*
 * Delete the retired shards from the set (a 404 means already gone), each
 * removed from the imprint once confirmed. Returns an exit code.
 */
static int
delete_retired(struct add_run *a)
{
	struct cli_resp	 r;
	char		*path, what[128];
	size_t		 i, k;
	int		 rc = CLI_OK, x;

	for (i = 0; i < a->imp->nretired; ) {
		for (k = 0; k < a->imp->n; k++)
			if (strcmp(a->imp->shards[k].id,
			    a->imp->retired[i]) == 0)
				break;
		if (k == a->imp->n) {
			path = xasprintf("/data/%s/shard/%s", a->uuid,
			    a->imp->retired[i]);
			x = cli_request(a->cli, "DELETE", path, NULL, 0, &r);
			free(path);
			if (x != CLI_OK && x != CLI_NOTFOUND) {
				snprintf(what, sizeof(what),
				    "deleting shard %.12s", a->imp->retired[i]);
				cli_report(a->cli, what, &r);
				cli_resp_free(&r);
				if (rc == CLI_OK)
					rc = x;
				if (x == CLI_AUTH || x == CLI_SERVER)
					break;
				i++;
				continue;
			}
			cli_resp_free(&r);
			if (x == CLI_OK)
				a->deleted++;
			if (!a->cli->tty)
				fprintf(stderr, "deleted shard %.12s\n",
				    a->imp->retired[i]);
		}
		memmove(&a->imp->retired[i], &a->imp->retired[i + 1],
		    (a->imp->nretired - i - 1) * sizeof(*a->imp->retired));
		a->imp->nretired--;
		if (save(a) == -1)
			return CLI_OTHER;
	}
	return rc;
}

/* Print a set's answer (GET /data/{set}) for humans. */
static void
print_set(const cJSON *obj)
{
	const cJSON	*v, *p;
	struct cli_table *t;
	const char	*hdr[] = { "PILOT", "SHARDS", "SIZE" };
	const char	*cells[3];
	char		 size[32], cnt[32];
	size_t		 i = 0;

	v = cJSON_GetObjectItemCaseSensitive(obj, "name");
	printf("name        %s\n", cJSON_IsString(v) ? v->valuestring : "-");
	v = cJSON_GetObjectItemCaseSensitive(obj, "dataset_uuid");
	printf("uuid        %s\n", cJSON_IsString(v) ? v->valuestring : "-");
	v = cJSON_GetObjectItemCaseSensitive(obj, "shard_count");
	printf("shards      %.0f\n", cJSON_IsNumber(v) ? v->valuedouble : 0);
	v = cJSON_GetObjectItemCaseSensitive(obj, "bytes");
	cli_human_bytes(cJSON_IsNumber(v) ? (uint64_t)v->valuedouble : 0, size);
	printf("size        %s\n", size);
	v = cJSON_GetObjectItemCaseSensitive(obj, "created_at");
	printf("created_at  %s\n", cJSON_IsString(v) ? v->valuestring : "-");
	v = cJSON_GetObjectItemCaseSensitive(obj, "pilots");
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) {
		printf("pilots      0\n");
		return;
	}
	printf("pilots      %d\n\n", cJSON_GetArraySize(v));
	t = cli_table_new(3, hdr);
	cli_table_align(t, 1, CLI_RIGHT);
	cli_table_align(t, 2, CLI_RIGHT);
	cJSON_ArrayForEach(p, v) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "id");
		const cJSON *sc = cJSON_GetObjectItemCaseSensitive(p,
		    "shard_count");
		const cJSON *by = cJSON_GetObjectItemCaseSensitive(p, "bytes");

		snprintf(cnt, sizeof(cnt), "%.0f", cJSON_IsNumber(sc) ?
		    sc->valuedouble : 0);
		cli_human_bytes(cJSON_IsNumber(by) ? (uint64_t)by->valuedouble :
		    0, size);
		cells[0] = cJSON_IsString(id) ? id->valuestring : "-";
		cells[1] = cnt;
		cells[2] = size;
		cli_table_add(t, cells);
		i++;
	}
	cli_table_print(t, stdout);
	cli_table_free(t);
}

/*
 * dataset add NAME DIR [--pilot-count N] [--imprint PATH] [--parallel N]:
 * see the file's comment. Returns an exit code.
 */
int
cli_cmd_dataset_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pilot-count", required_argument, NULL, 'p' },
		{ "imprint", required_argument, NULL, 'i' },
		{ "parallel", required_argument, NULL, 'j' },
		{ "limit-rate", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct add_opts	 o = { -1, NULL, CLI_UPLOADS, 0 };
	struct add_run	 a;
	struct cli_imprint imp;
	struct cli_files cur;
	struct cli_file	**loose = NULL;
	struct cli_resp	 r;
	cJSON		*obj = NULL;
	const cJSON	*v;
	size_t		*ends = NULL, nloose = 0, ngroups = 0, nbroken = 0;
	size_t		*starts = NULL, nst, g, k, from, kept, nshards;
	char		 err[1024], *skip = NULL, *ipath = NULL, *uuid = NULL;
	char		*path = NULL, size[32];
	const char	*name, *dir;
	struct stat	 st;
	int		 first, rc = CLI_OTHER, created, x;

	memset(&imp, 0, sizeof(imp));
	memset(&cur, 0, sizeof(cur));
	memset(&r, 0, sizeof(r));
	if ((first = cli_getopt("dataset add", argc, argv, opts, add_take,
	    &o)) < 0)
		return CLI_USAGE;
	if (argc - first != 2)
		return cli_usage_error("dataset add",
		    "give a data set NAME and a folder DIR");
	name = argv[first];
	dir = argv[first + 1];
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		return cli_usage_error("dataset add", "%s is not a folder",
		    dir);
	if ((rc = cli_ready(cli, 1)) != CLI_OK)
		return rc;
	rc = CLI_OTHER;

	/* What the folder holds against what the imprint remembers. */
	ipath = o.imprint != NULL ? xstrdup(o.imprint) :
	    xasprintf("%s/%s", dir, CLI_IMPRINT_NAME);
	skip = imprint_inside(dir, ipath);
	if (cli_imprint_load(&imp, ipath, err, sizeof(err)) == -1) {
		cli_warn("%s", err);
		goto out;
	}
	if (cli_scan(dir, skip, &cur, err, sizeof(err)) == -1) {
		cli_warn("%s", err);
		goto out;
	}
	cli_imprint_diff(&imp, dir, &cur, &loose, &nloose, &ends, &ngroups,
	    &nbroken);
	kept = imp.n;

	/* Every file must fit a shard: checked before anything is sent. */
	for (g = 0, from = 0; g < ngroups; from = ends[g++]) {
		if (cli_plan(loose + from, ends[g] - from, CLI_SHARD_MAX,
		    &starts, &nst, err, sizeof(err)) == -1) {
			cli_warn("%s", err);
			goto out;
		}
		for (k = 0; k < nst; k++)
			cli_imprint_add(&imp, loose + from + starts[k],
			    starts[k + 1] - starts[k]);
		free(starts);
		starts = NULL;
	}

	if ((rc = ensure_set(cli, name, o.pilots, &uuid, &created)) != CLI_OK)
		goto out;
	rc = CLI_OTHER;
	if (imp.set_uuid != NULL && strcmp(imp.set_uuid, uuid) != 0) {
		cli_warn("the imprint %s was made for another data set: "
		    "every shard is sent again", ipath);
		for (k = 0; k < imp.n; k++)
			imp.shards[k].uploaded = 0;
		imp.nretired = 0;
	}
	if (created) {
		for (k = 0; k < imp.n; k++)
			imp.shards[k].uploaded = 0;
		imp.nretired = 0;
	}
	free(imp.set_uuid);
	free(imp.set_name);
	imp.set_uuid = xstrdup(uuid);
	imp.set_name = xstrdup(name);

	memset(&a, 0, sizeof(a));
	a.cli = cli;
	a.imp = &imp;
	a.dir = dir;
	a.imprint_path = ipath;
	a.uuid = uuid;
	a.rate = o.rate;
	if (save(&a) == -1)
		goto out;
	if ((rc = upload_all(&a, o.parallel)) != CLI_OK) {
		cli_warn("some shards were not uploaded: run the same command "
		    "again to resume");
		goto out;
	}
	if ((rc = delete_retired(&a)) != CLI_OK)
		goto out;

	path = xasprintf("/data/%s", uuid);
	if ((x = cli_request(cli, "GET", path, NULL, 0, &r)) != CLI_OK) {
		rc = cli_report(cli, "GET /data/{set}", &r);
		goto out;
	}
	if ((obj = cli_resp_json(&r, "GET /data/{set}")) == NULL)
		goto out;
	nshards = imp.n;
	v = cJSON_GetObjectItemCaseSensitive(obj, "shard_count");
	if (cJSON_IsNumber(v) && (size_t)v->valuedouble != nshards)
		cli_warn("the set holds %.0f shards, this folder's imprint %zu "
		    "(shards added from elsewhere?)", v->valuedouble, nshards);
	if (cli->json)
		cli_print_raw(&r);
	else {
		cli_human_bytes(a.bytes, size);
		printf("%s data set %s from %s: %zu shards, %zu uploaded "
		    "(%s; %zu new), %zu kept, %zu deleted\n",
		    created ? "created" : "updated", name, dir, nshards,
		    a.uploaded, size, a.created, kept, a.deleted);
		print_set(obj);
	}
	rc = CLI_OK;
out:
	cJSON_Delete(obj);
	cli_resp_free(&r);
	cli_imprint_free(&imp);
	cli_files_free(&cur);
	free(loose);
	free(ends);
	free(starts);
	free(skip);
	free(ipath);
	free(uuid);
	free(path);
	return rc;
}

/* --- dataset summary, dataset list ---------------------------------------- */

static int
no_take(void *arg, int c, const char *v)
{

	return CLI_USAGE;
}

/* dataset summary NAME: GET /data/NAME. */
int
cli_cmd_dataset_summary(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	struct cli_resp	 r;
	cJSON		*obj = NULL;
	char		*path, *esc;
	int		 first, rc;

	if ((first = cli_getopt("dataset summary", argc, argv, opts, no_take,
	    NULL)) < 0)
		return CLI_USAGE;
	if (argc - first != 1)
		return cli_usage_error("dataset summary",
		    "give one data set NAME (or UUID)");
	if ((rc = cli_ready(cli, 1)) != CLI_OK)
		return rc;
	esc = cli_escape(argv[first]);
	path = xasprintf("/data/%s", esc);
	free(esc);
	if ((rc = cli_request(cli, "GET", path, NULL, 0, &r)) != CLI_OK) {
		rc = cli_report(cli, "GET /data/{set}", &r);
		goto out;
	}
	if (cli->json) {
		cli_print_raw(&r);
		goto out;
	}
	if ((obj = cli_resp_json(&r, "GET /data/{set}")) == NULL) {
		rc = CLI_OTHER;
		goto out;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, "pilot"))) {
		const cJSON *v;

		printf("pilot of    %s\n", cJSON_IsString(v =
		    cJSON_GetObjectItemCaseSensitive(obj, "name")) ?
		    v->valuestring : "-");
		printf("pilot uuid  %s\n", cJSON_IsString(v =
		    cJSON_GetObjectItemCaseSensitive(obj, "id")) ?
		    v->valuestring : "-");
		printf("set uuid    %s\n", cJSON_IsString(v =
		    cJSON_GetObjectItemCaseSensitive(obj, "dataset_uuid")) ?
		    v->valuestring : "-");
		printf("shards      %.0f\n", cJSON_IsNumber(v =
		    cJSON_GetObjectItemCaseSensitive(obj, "shard_count")) ?
		    v->valuedouble : 0);
	} else
		print_set(obj);
out:
	cJSON_Delete(obj);
	cli_resp_free(&r);
	free(path);
	return rc;
}

/* dataset list: GET /data as a table. */
int
cli_cmd_dataset_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	static const char *const hdr[] = { "NAME", "UUID", "SHARDS", "SIZE",
	    "PILOTS", "CREATED" };
	struct cli_resp	 r;
	struct cli_table *t = NULL;
	cJSON		*arr = NULL;
	const cJSON	*o;
	const char	*cells[6];
	char		 sc[32], size[32], pc[32];
	int		 first, rc;

	if ((first = cli_getopt("dataset list", argc, argv, opts, no_take,
	    NULL)) < 0)
		return CLI_USAGE;
	if (argc - first != 0)
		return cli_usage_error("dataset list", "no operand expected");
	if ((rc = cli_ready(cli, 1)) != CLI_OK)
		return rc;
	if ((rc = cli_request(cli, "GET", "/data", NULL, 0, &r)) != CLI_OK) {
		rc = cli_report(cli, "GET /data", &r);
		goto out;
	}
	if (cli->json) {
		cli_print_raw(&r);
		goto out;
	}
	if ((arr = cli_resp_json(&r, "GET /data")) == NULL) {
		rc = CLI_OTHER;
		goto out;
	}
	t = cli_table_new(6, (const char *const *)hdr);
	cli_table_align(t, 2, CLI_RIGHT);
	cli_table_align(t, 3, CLI_RIGHT);
	cli_table_align(t, 4, CLI_RIGHT);
	cJSON_ArrayForEach(o, arr) {
		const cJSON *v;

		v = cJSON_GetObjectItemCaseSensitive(o, "name");
		cells[0] = cJSON_IsString(v) ? v->valuestring : NULL;
		v = cJSON_GetObjectItemCaseSensitive(o, "dataset_uuid");
		cells[1] = cJSON_IsString(v) ? v->valuestring : NULL;
		v = cJSON_GetObjectItemCaseSensitive(o, "shard_count");
		snprintf(sc, sizeof(sc), "%.0f",
		    cJSON_IsNumber(v) ? v->valuedouble : 0);
		cells[2] = sc;
		v = cJSON_GetObjectItemCaseSensitive(o, "bytes");
		cli_human_bytes(cJSON_IsNumber(v) ? (uint64_t)v->valuedouble :
		    0, size);
		cells[3] = size;
		v = cJSON_GetObjectItemCaseSensitive(o, "pilot_count");
		snprintf(pc, sizeof(pc), "%.0f",
		    cJSON_IsNumber(v) ? v->valuedouble : 0);
		cells[4] = pc;
		v = cJSON_GetObjectItemCaseSensitive(o, "created_at");
		cells[5] = cJSON_IsString(v) ? v->valuestring : NULL;
		cli_table_add(t, cells);
	}
	if (cli_table_rows(t) == 0)
		printf("no data sets yet: singularity-cli dataset add NAME "
		    "DIR --pilot-count N\n");
	else
		cli_table_print(t, stdout);
out:
	cli_table_free(t);
	cJSON_Delete(arr);
	cli_resp_free(&r);
	return rc;
}

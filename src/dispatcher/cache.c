/*
 * cache.c: the data cache of each host (DESIGN "The dispatcher": data sets
 * reach each host once).
 *
 * A data set's shards reach a host once, into a Docker volume of the set
 * (the root set: pilots share their parent's volume) and its version (the
 * SHA-256 of the shard list with each shard's pilot), named
 * st-data-<root uuid>-<version, 16 hex digits>:
 *
 *   s/<sha256>.zip                every shard once
 *   v/all/<sha256>.zip            hard links to s/, the whole set's view
 *   v/all/manifest.json
 *   v/p<index>/<sha256>.zip       a pilot's view
 *   v/p<index>/manifest.json
 *
 * A job mounts its view read-only at /data (launch.c). A view is filled
 * through the archive endpoint of a "filler" container that mounts the
 * volume and never runs (a tar streamed from the blob store: the shards the
 * volume lacks, then the view's links and manifest), one fill at a time per
 * volume. Only once the tar is in is the view recorded (host_cache_views):
 * a fill cut short by a crash leaves no record and is simply done again, so
 * a half-filled volume is never mounted.
 *
 * The sweep (every CACHE_SWEEP_MS per host, after its list) removes volumes
 * no placed job uses: those of deleted sets, those the database does not
 * know, and the least recently used ones while the host's cache is larger
 * than [dispatcher] host_cache_max.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "dispatch.h"
#include "log.h"
#include "store.h"

#define READ_CHUNK	(256 * 1024)

/* A shard of a set's version. */
struct cshard {
	char		 sha[65];
	long long	 size;
	int		 pilot;		/* its pilot's index, -1 for none */
};

/* A root set as it is now (read once per iteration). */
struct cset {
	long long	 root_id;
	char		 root_uuid[UUID_STR_LEN + 1];
	char		 version[65];
	struct cshard	*s;
	size_t		 n;
	unsigned long	 iter;
	struct cset	*next;
};

/* One entry of the tar being streamed. */
enum tkind { T_DIR, T_FILE, T_LINK, T_MEM };
struct tentry {
	enum tkind	 kind;
	char		*name;
	char		*arg;		/* path (file), target (link), text */
	long long	 size;
};

/* A tar made as it is read (the fill's upload). */
struct tarsrc {
	struct archive	*a;
	struct tentry	*e;
	size_t		 n, i;
	int		 head;		/* the entry's header is out */
	FILE		*f;
	long long	 left;
	struct docker_buf out;
	size_t		 off;
	int		 closed;
	char		 err[600];
	long long	 bytes;		/* shard bytes put */
};

enum fill_state { F_VOLUME, F_FILLER, F_PUT, F_REMOVE };

struct fill {
	struct disp_host	*h;
	char			*volume;
	char			 view[16];
	char			 view_uuid[UUID_STR_LEN + 1];
	long long		 root_id;
	char			 root_uuid[UUID_STR_LEN + 1];
	char			 version[65];
	struct cshard		*s;
	size_t			 n;
	char			*image;		/* the filler's */
	char			 mountpoint[1024];
	enum fill_state		 state;
	struct ecall		*call;
	struct tarsrc		*src;
	long long		 t0_ms;
	long long		*waiter;
	size_t			 nwaiters;
	int			 failed;
	int			 passing;	/* try again later, no change */
	int			 host_fault;	/* the host's: host_failure */
	char			 filler[64];	/* the filler's name */
	char			 err[1600];
	struct fill		*next;
};

static struct cset	*sets;		/* per iteration */

/* --- sets --------------------------------------------------------------------- */

/* The root set root as it is now, read once per iteration (NULL: db). */
static struct cset *
cset_get(struct disp *d, long long root)
{
	struct cset	*c, **pp;
	struct db_res	*r = NULL;
	EVP_MD_CTX	*md;
	unsigned char	 dig[EVP_MAX_MD_SIZE];
	unsigned int	 dlen;
	char		 line[128];
	size_t		 i;

	for (pp = &sets; (c = *pp) != NULL; ) {
		if (c->iter != d->iter) {	/* an earlier iteration's */
			*pp = c->next;
			free(c->s);
			free(c);
			continue;
		}
		if (c->root_id == root)
			return c;
		pp = &c->next;
	}
	if (db_query(d->db, "SELECT uuid FROM datasets WHERE id = ?",
	    DB_ARGS(DB_INT(root)), &r) != DB_OK)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->root_id = root;
	c->iter = d->iter;
	if (r->nrows == 1)
		snprintf(c->root_uuid, sizeof(c->root_uuid), "%s",
		    db_res_str(r, 0, 0));
	db_res_free(r);
	r = NULL;
	if (db_query(d->db, "SELECT s.sha256, s.size, MIN(p.pilot_index) "
	    "FROM dataset_shards ds JOIN shards s ON s.id = ds.shard_id "
	    "LEFT JOIN dataset_shards ps ON ps.shard_id = ds.shard_id AND "
	    "ps.dataset_id IN (SELECT id FROM datasets WHERE parent_id = ?) "
	    "LEFT JOIN datasets p ON p.id = ps.dataset_id "
	    "WHERE ds.dataset_id = ? GROUP BY s.sha256, s.size "
	    "ORDER BY s.sha256", DB_ARGS(DB_INT(root), DB_INT(root)), &r) !=
	    DB_OK) {
		free(c);
		return NULL;
	}
	c->s = xcalloc(r->nrows + 1, sizeof(*c->s));
	c->n = r->nrows;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		abort();
	for (i = 0; i < r->nrows; i++) {
		snprintf(c->s[i].sha, sizeof(c->s[i].sha), "%s",
		    db_res_str(r, i, 0));
		c->s[i].size = db_res_int(r, i, 1);
		c->s[i].pilot = db_res_isnull(r, i, 2) ? -1 :
		    (int)db_res_int(r, i, 2);
		snprintf(line, sizeof(line), "%s %lld %d\n", c->s[i].sha,
		    c->s[i].size, c->s[i].pilot);
		EVP_DigestUpdate(md, line, strlen(line));
	}
	EVP_DigestFinal_ex(md, dig, &dlen);
	EVP_MD_CTX_free(md);
	util_hex(dig, dlen, c->version);
	db_res_free(r);
	c->next = sets;
	sets = c;
	return c;
}

/* Whether shard s belongs to view ("all" or "p<index>"). */
static int
in_view(const struct cshard *s, const char *view)
{
	return strcmp(view, "all") == 0 ||
	    (view[0] == 'p' && s->pilot == atoi(view + 1));
}

/* --- the tar source ---------------------------------------------------------- */

static la_ssize_t
tw_write(struct archive *a, void *arg, const void *buf, size_t n)
{
	struct tarsrc	*t = arg;

	(void)a;
	docker_buf_add(&t->out, buf, n);
	return (la_ssize_t)n;
}

static void
tarsrc_free(struct tarsrc *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	if (t->a != NULL)
		archive_write_free(t->a);
	if (t->f != NULL)
		fclose(t->f);
	for (i = 0; i < t->n; i++) {
		free(t->e[i].name);
		free(t->e[i].arg);
	}
	free(t->e);
	docker_buf_free(&t->out);
	free(t);
}

static void
tadd(struct tarsrc *t, enum tkind kind, char *name, char *arg, long long size)
{
	t->e = xrealloc(t->e, (t->n + 1) * sizeof(*t->e));
	t->e[t->n].kind = kind;
	t->e[t->n].name = name;
	t->e[t->n].arg = arg;
	t->e[t->n].size = size;
	t->n++;
}

/* Produce the next piece of the tar. Returns 0, or -1 (t->err). */
static int
produce(struct tarsrc *t)
{
	struct archive_entry	*ae;
	struct tentry		*e;
	struct stat		 st;
	char			 buf[READ_CHUNK];
	size_t			 want, got;
	int			 rc;

	if (t->i == t->n) {
		if (archive_write_close(t->a) != ARCHIVE_OK)
			goto aerr;
		t->closed = 1;
		return 0;
	}
	e = &t->e[t->i];
	if (!t->head) {
		if (e->kind == T_FILE) {
			if ((t->f = fopen(e->arg, "rb")) == NULL ||
			    fstat(fileno(t->f), &st) == -1 ||
			    st.st_size != e->size) {
				snprintf(t->err, sizeof(t->err), "shard %.64s "
				    "is missing from the blob store",
				    strrchr(e->name, '/') + 1);
				return -1;
			}
			t->left = e->size;
		}
		ae = archive_entry_new();
		archive_entry_set_pathname(ae, e->name);
		archive_entry_set_mtime(ae, time(NULL), 0);
		switch (e->kind) {
		case T_DIR:
			archive_entry_set_filetype(ae, AE_IFDIR);
			archive_entry_set_perm(ae, 0755);
			break;
		case T_LINK:
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0444);
			archive_entry_set_hardlink(ae, e->arg);
			archive_entry_set_size(ae, 0);
			break;
		case T_FILE:
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0444);
			archive_entry_set_size(ae, e->size);
			break;
		case T_MEM:
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0444);
			archive_entry_set_size(ae, (la_int64_t)strlen(e->arg));
			break;
		}
		rc = archive_write_header(t->a, ae);
		archive_entry_free(ae);
		if (rc != ARCHIVE_OK)
			goto aerr;
		t->head = 1;
		if (e->kind == T_FILE && e->size > 0)
			return 0;
	}
	if (e->kind == T_MEM && archive_write_data(t->a, e->arg,
	    strlen(e->arg)) != (la_ssize_t)strlen(e->arg))
		goto aerr;
	if (e->kind == T_FILE && t->left > 0) {
		want = t->left < (long long)sizeof(buf) ? (size_t)t->left :
		    sizeof(buf);
		got = fread(buf, 1, want, t->f);
		if (got == 0) {
			snprintf(t->err, sizeof(t->err), "reading %s: %s",
			    e->arg, ferror(t->f) ? strerror(errno) :
			    "it is shorter than its size");
			return -1;
		}
		if (archive_write_data(t->a, buf, got) != (la_ssize_t)got)
			goto aerr;
		t->left -= (long long)got;
		t->bytes += (long long)got;
		if (t->left > 0)
			return 0;
	}
	if (t->f != NULL) {
		fclose(t->f);
		t->f = NULL;
	}
	t->head = 0;
	t->i++;
	return 0;
aerr:
	snprintf(t->err, sizeof(t->err), "making the data archive: %s",
	    archive_error_string(t->a) ? archive_error_string(t->a) :
	    "libarchive failed");
	return -1;
}

/* The fill's upload source. */
static long
fill_source(struct ecall *c, char *buf, size_t n)
{
	struct fill	*f = c->arg;
	struct tarsrc	*t;
	size_t		 avail;

	if (f == NULL || (t = f->src) == NULL)
		return -1;
	while (t->out.len - t->off == 0 && !t->closed) {
		t->out.len = 0;
		t->off = 0;
		if (produce(t) != 0) {
			snprintf(c->err, sizeof(c->err), "%s", t->err);
			return -1;
		}
	}
	avail = t->out.len - t->off;
	if (n > avail)
		n = avail;
	memcpy(buf, t->out.data + t->off, n);
	t->off += n;
	return (long)n;
}

/* The view's manifest.json (caller frees). */
static char *
manifest(const struct fill *f)
{
	cJSON	*o, *a, *e;
	char	*txt, *path;
	size_t	 i;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "data_set_id", f->view_uuid);
	a = cJSON_AddArrayToObject(o, "shards");
	for (i = 0; i < f->n; i++) {
		if (!in_view(&f->s[i], f->view))
			continue;
		e = cJSON_CreateObject();
		cJSON_AddItemToArray(a, e);
		cJSON_AddStringToObject(e, "sha256", f->s[i].sha);
		cJSON_AddNumberToObject(e, "size", (double)f->s[i].size);
		path = xasprintf("/data/%s.zip", f->s[i].sha);
		cJSON_AddStringToObject(e, "path", path);
		free(path);
	}
	if ((txt = cJSON_Print(o)) == NULL)
		abort();
	cJSON_Delete(o);
	return txt;
}

/*
 * The tar of f's view: the shards the volume lacks (present: those of the
 * views filled before), the view's links and manifest. NULL on failure
 * (f->err).
 */
static struct tarsrc *
tar_for(struct disp *d, struct fill *f, const char **ready, size_t nready)
{
	struct tarsrc	*t;
	char		*path;
	size_t		 i, k;
	int		 present;

	t = xcalloc(1, sizeof(*t));
	if ((t->a = archive_write_new()) == NULL ||
	    archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(t->a, 0) != ARCHIVE_OK ||
	    archive_write_open(t->a, t, NULL, tw_write, NULL) != ARCHIVE_OK) {
		snprintf(f->err, sizeof(f->err), "libarchive cannot start");
		tarsrc_free(t);
		return NULL;
	}
	tadd(t, T_DIR, xstrdup("s"), NULL, 0);
	tadd(t, T_DIR, xstrdup("v"), NULL, 0);
	tadd(t, T_DIR, xasprintf("v/%s", f->view), NULL, 0);
	for (i = 0; i < f->n; i++) {
		if (!in_view(&f->s[i], f->view))
			continue;
		for (present = 0, k = 0; k < nready && !present; k++)
			present = in_view(&f->s[i], ready[k]);
		if (present)
			continue;
		if ((path = store_shard_path(d->conf.store_dir,
		    f->s[i].sha)) == NULL) {
			snprintf(f->err, sizeof(f->err), "shard %s has an "
			    "invalid name", f->s[i].sha);
			tarsrc_free(t);
			return NULL;
		}
		tadd(t, T_FILE, xasprintf("s/%s.zip", f->s[i].sha), path,
		    f->s[i].size);
	}
	for (i = 0; i < f->n; i++)
		if (in_view(&f->s[i], f->view))
			tadd(t, T_LINK, xasprintf("v/%s/%s.zip", f->view,
			    f->s[i].sha), xasprintf("s/%s.zip", f->s[i].sha),
			    0);
	tadd(t, T_MEM, xasprintf("v/%s/manifest.json", f->view), manifest(f),
	    0);
	return t;
}

/* --- fills ---------------------------------------------------------------------- */

/* See dispatch.h. */
size_t
cache_count(const struct disp *d)
{
	const struct fill	*f;
	size_t			 n = 0;

	for (f = d->fills; f != NULL; f = f->next)
		n++;
	return n;
}

/* See dispatch.h. */
int
cache_filling(const struct disp *d, const struct disp_host *h,
    const char *volume)
{
	const struct fill	*f;

	for (f = d->fills; f != NULL; f = f->next)
		if (f->h == h && strcmp(f->volume, volume) == 0)
			return 1;
	return 0;
}

static void
fill_free(struct fill *f)
{
	free(f->volume);
	free(f->s);
	free(f->image);
	free(f->waiter);
	tarsrc_free(f->src);
	free(f);
}

/* Unlink f, give its call up, wake its waiters, free it. */
static void
fill_end(struct disp *d, struct fill *f)
{
	struct fill	**pp;
	struct disp_job	*j;
	size_t		 i;

	for (pp = &d->fills; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	if (f->call != NULL) {
		f->call->arg = NULL;
		ecall_cancel(f->call);
		f->call = NULL;
	}
	if (f->failed)
		log_warn("host %s: filling %s (%s): %s", f->h->name,
		    f->volume, f->view, f->err);
	else
		disp_say(d, "host %s: data view %s of %s ready (%lld bytes "
		    "put, %lld ms)", f->h->name, f->view, f->volume,
		    f->src != NULL ? f->src->bytes : 0,
		    eloop_now_ms() - f->t0_ms);
	for (i = 0; i < f->nwaiters; i++) {
		if ((j = disp_job_of(d, f->waiter[i])) == NULL || !j->waits ||
		    j->step != S_L_DATA)
			continue;
		if (f->failed) {
			j->fill_failed = 1;
			j->fill_passing = f->passing;
			j->fill_host_fault = f->host_fault;
			snprintf(j->why, sizeof(j->why), "%.1000s", f->err);
		}
		step_run(d, j);
	}
	fill_free(f);
}

static void	fill_step(struct disp *d, struct fill *f, struct ecall *res);

static void
fill_done(struct ecall *c)
{
	struct fill	*f = c->arg;

	if (f == NULL) {
		ecall_free(c);
		return;
	}
	f->call = NULL;
	fill_step(f->h->d, f, c);
	ecall_free(c);
}

static void
fill_call(struct fill *f, struct ecall *c)
{
	c->done = fill_done;
	c->arg = f;
	f->call = c;
	engine_submit(f->h->eng, c);
}


/* The body of the filler's create: the volume at /cache, never run. */
static char *
filler_body(const struct fill *f)
{
	cJSON	*o, *a, *m, *hc, *lab;
	char	*s;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "Image", f->image);
	a = cJSON_AddArrayToObject(o, "Cmd");
	cJSON_AddItemToArray(a, cJSON_CreateString("true"));
	cJSON_AddBoolToObject(o, "NetworkDisabled", 1);
	lab = cJSON_AddObjectToObject(o, "Labels");
	cJSON_AddStringToObject(lab, DISP_LABEL, "");
	cJSON_AddStringToObject(lab, "singularity.fill", f->volume);
	hc = cJSON_AddObjectToObject(o, "HostConfig");
	cJSON_AddStringToObject(hc, "NetworkMode", "none");
	a = cJSON_AddArrayToObject(hc, "CapDrop");
	cJSON_AddItemToArray(a, cJSON_CreateString("ALL"));
	a = cJSON_AddArrayToObject(hc, "Mounts");
	m = cJSON_CreateObject();
	cJSON_AddItemToArray(a, m);
	cJSON_AddStringToObject(m, "Type", "volume");
	cJSON_AddStringToObject(m, "Source", f->volume);
	cJSON_AddStringToObject(m, "Target", "/cache");
	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		abort();
	cJSON_Delete(o);
	return s;
}

/* The views of f's volume filled already (caller frees the strings). */
static int
ready_views(struct disp *d, const struct fill *f, char ***out, size_t *n)
{
	struct db_res	*r = NULL;
	size_t		 i;

	*out = NULL;
	*n = 0;
	if (db_query(d->db, "SELECT view FROM host_cache_views WHERE "
	    "host_id = ? AND volume = ?", DB_ARGS(DB_INT(f->h->id),
	    DB_STR(f->volume)), &r) != DB_OK)
		return -1;
	*out = xcalloc(r->nrows + 1, sizeof(**out));
	for (i = 0; i < r->nrows; i++)
		(*out)[i] = xstrdup(db_res_str(r, i, 0));
	*n = r->nrows;
	db_res_free(r);
	return 0;
}

static void
strs_free(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * The fill failed with res: passing (the host unreachable, the database)
 * leaves the jobs to try again; else the host failed to take the data:
 * the attempt fails with class host_failure (retried elsewhere by the
 * batch's policy).
 */
static void
fill_fail(struct disp *d, struct fill *f, const char *what,
    const struct ecall *res, int passing)
{
	f->failed = 1;
	f->passing = passing;
	f->host_fault = !passing;
	snprintf(f->err, sizeof(f->err), "host %s could not take the job's "
	    "data (%s): %s", f->h->name, what, res != NULL ? res->msg :
	    "failed");
	fill_end(d, f);
}

/* Record the view filled; the bytes of the volume. Returns 0 or -1. */
static int
fill_record(struct disp *d, struct fill *f)
{
	char		**ready = NULL;
	size_t		 nready = 0, i, k;
	long long	 bytes = 0;
	int		 in;

	if (db_exec(d->db, "INSERT IGNORE INTO host_cache_views (host_id, "
	    "volume, view) VALUES (?, ?, ?)", DB_ARGS(DB_INT(f->h->id),
	    DB_STR(f->volume), DB_STR(f->view)), NULL, NULL) != DB_OK ||
	    ready_views(d, f, &ready, &nready) != 0)
		return -1;
	for (i = 0; i < f->n; i++) {
		for (in = 0, k = 0; k < nready && !in; k++)
			in = in_view(&f->s[i], ready[k]);
		if (in)
			bytes += f->s[i].size;
	}
	strs_free(ready, nready);
	return db_exec(d->db, "UPDATE host_cache SET bytes = ?, last_used_at "
	    "= UTC_TIMESTAMP(3) WHERE host_id = ? AND volume = ?",
	    DB_ARGS(DB_INT(bytes), DB_INT(f->h->id), DB_STR(f->volume)),
	    NULL, NULL) == DB_OK ? 0 : -1;
}

/* The fill's steps: volume, filler, the tar put, the filler removed. */
static void
fill_step(struct disp *d, struct fill *f, struct ecall *res)
{
	struct ecall	*c;
	char		*body, *labels, **ready = NULL;
	size_t		 nready = 0;

	if (res != NULL && res->rc == DOCKER_CANCELLED) {
		fill_fail(d, f, "cancelled", res, 1);
		return;
	}
	switch (f->state) {
	case F_VOLUME:
		if (res == NULL) {
			labels = xasprintf("{\"%s\": \"%s\", "
			    "\"singularity.version\": \"%s\"}",
			    DISP_CACHE_LABEL, f->root_uuid, f->version);
			fill_call(f, dk_volume_create(f->volume, labels));
			free(labels);
			return;
		}
		if (res->rc != DOCKER_OK || docker_parse_volume(res->in.data,
		    res->in.len, f->mountpoint, sizeof(f->mountpoint)) != 0) {
			fill_fail(d, f, "creating its volume", res,
			    res->rc == DOCKER_UNREACHABLE);
			return;
		}
		if (db_exec(d->db, "INSERT INTO host_cache (host_id, volume, "
		    "dataset_id, version, mountpoint) VALUES (?, ?, ?, ?, ?) "
		    "ON DUPLICATE KEY UPDATE mountpoint = VALUES(mountpoint)",
		    DB_ARGS(DB_INT(f->h->id), DB_STR(f->volume),
		    DB_INT(f->root_id), DB_STR(f->version),
		    DB_STR(f->mountpoint)), NULL, NULL) != DB_OK) {
			log_error("host %s: %s", f->h->name, db_error(d->db));
			d->failed = 1;
			fill_fail(d, f, "the database failed", NULL, 1);
			return;
		}
		f->state = F_FILLER;
		res = NULL;
		/* FALLTHROUGH */
	case F_FILLER:
		if (res == NULL) {
			/*
			 * A name of its own: a filler a crash left behind
			 * may be being removed by the sweep right now.
			 */
			body = filler_body(f);
			fill_call(f, dk_create(f->filler, body));
			free(body);
			return;
		}
		if (res->rc != DOCKER_OK) {
			fill_fail(d, f, "creating its filler container", res,
			    res->rc == DOCKER_UNREACHABLE);
			return;
		}
		f->state = F_PUT;
		res = NULL;
		/* FALLTHROUGH */
	case F_PUT:
		if (res == NULL) {
			if (ready_views(d, f, &ready, &nready) != 0) {
				d->failed = 1;
				fill_fail(d, f, "the database failed", NULL, 1);
				return;
			}
			f->src = tar_for(d, f, (const char **)ready, nready);
			strs_free(ready, nready);
			if (f->src == NULL) {
				f->failed = 1;
				fill_end(d, f);
				return;
			}
			c = dk_archive_put(f->filler, "/cache");
			c->source = fill_source;
			c->source_size = -1;
			c->timeout_s = -1;
			c->low_speed_bps = 1024;
			c->low_speed_s = 120;
			fill_call(f, c);
			return;
		}
		if (res->rc != DOCKER_OK) {
			/* A shard missing from the store is the job's end. */
			if (f->src != NULL && f->src->err[0] != '\0' &&
			    strstr(f->src->err, "missing") != NULL) {
				f->failed = 1;
				snprintf(f->err, sizeof(f->err), "%s",
				    f->src->err);
				fill_end(d, f);
				return;
			}
			fill_fail(d, f, "putting its data in", res,
			    res->rc == DOCKER_UNREACHABLE);
			return;
		}
		if (fill_record(d, f) != 0) {
			log_error("host %s: %s", f->h->name, db_error(d->db));
			d->failed = 1;
			fill_fail(d, f, "the database failed", NULL, 1);
			return;
		}
		f->state = F_REMOVE;
		fill_call(f, dk_remove(f->filler));
		return;
	case F_REMOVE:
		if (res->rc != DOCKER_OK)
			log_warn("host %s: %s", f->h->name, res->err);
		fill_end(d, f);
		return;
	}
}

/* See dispatch.h. */
int
cache_need(struct disp *d, struct disp_host *h, struct disp_job *j,
    char *why, size_t whylen, int *passing)
{
	struct db_res	*r = NULL;
	struct cset	*set;
	struct fill	*f;
	char		 view[16], *vol = NULL, uuid[UUID_STR_LEN + 1];
	long long	 root;
	size_t		 i;
	int		 rc = -1;

	*passing = 0;
	if (j->dataset_id == 0) {
		snprintf(why, whylen, "the job's data set no longer exists");
		return -1;
	}
	if (db_query(d->db, "SELECT parent_id, pilot_index FROM datasets "
	    "WHERE id = ?", DB_ARGS(DB_INT(j->dataset_id)), &r) != DB_OK)
		goto dberr;
	if (r->nrows != 1) {
		snprintf(why, whylen, "the job's data set no longer exists");
		goto out;
	}
	if (db_res_isnull(r, 0, 0)) {
		root = j->dataset_id;
		snprintf(view, sizeof(view), "all");
	} else {
		root = db_res_int(r, 0, 0);
		snprintf(view, sizeof(view), "p%lld", db_res_int(r, 0, 1));
	}
	db_res_free(r);
	r = NULL;
	if ((set = cset_get(d, root)) == NULL)
		goto dberr;
	vol = xasprintf("st-data-%s-%.16s", set->root_uuid, set->version);

	if (db_query(d->db, "SELECT c.mountpoint FROM host_cache c JOIN "
	    "host_cache_views v ON v.host_id = c.host_id AND v.volume = "
	    "c.volume WHERE c.host_id = ? AND c.volume = ? AND v.view = ? "
	    "AND c.mountpoint IS NOT NULL", DB_ARGS(DB_INT(h->id),
	    DB_STR(vol), DB_STR(view)), &r) != DB_OK)
		goto dberr;
	if (r->nrows == 1) {
		free(j->cache_mount);
		free(j->cache_vol);
		j->cache_mount = xasprintf("%s/v/%s", db_res_str(r, 0, 0),
		    view);
		j->cache_vol = vol;
		vol = NULL;
		if (db_exec(d->db, "UPDATE host_cache SET last_used_at = "
		    "UTC_TIMESTAMP(3) WHERE host_id = ? AND volume = ?",
		    DB_ARGS(DB_INT(h->id), DB_STR(j->cache_vol)), NULL, NULL) !=
		    DB_OK)
			goto dberr;
		rc = 1;
		goto out;
	}
	/* One fill at a time per volume: wait for the one under way. */
	for (f = d->fills; f != NULL; f = f->next)
		if (f->h == h && strcmp(f->volume, vol) == 0)
			break;
	if (f == NULL) {
		f = xcalloc(1, sizeof(*f));
		f->h = h;
		f->volume = vol;
		vol = NULL;
		snprintf(f->view, sizeof(f->view), "%s", view);
		snprintf(f->view_uuid, sizeof(f->view_uuid), "%s",
		    j->dataset_uuid);
		f->root_id = root;
		snprintf(f->root_uuid, sizeof(f->root_uuid), "%s",
		    set->root_uuid);
		snprintf(f->version, sizeof(f->version), "%s", set->version);
		f->s = xcalloc(set->n + 1, sizeof(*f->s));
		memcpy(f->s, set->s, set->n * sizeof(*f->s));
		f->n = set->n;
		f->image = xasprintf("%s:%s", j->image, j->tag);
		f->t0_ms = eloop_now_ms();
		util_uuid(uuid);
		snprintf(f->filler, sizeof(f->filler), "st-fill-%s", uuid);
		f->state = F_VOLUME;
		f->next = d->fills;
		d->fills = f;
		disp_say(d, "host %s: filling data view %s of %s for job %s",
		    h->name, view, f->volume, j->uuid);
		fill_step(d, f, NULL);	/* submits the volume's create */
	}
	for (i = 0; i < f->nwaiters; i++)
		if (f->waiter[i] == j->id)
			break;
	if (i == f->nwaiters) {
		f->waiter = xrealloc(f->waiter, (f->nwaiters + 1) *
		    sizeof(*f->waiter));
		f->waiter[f->nwaiters++] = j->id;
	}
	jobdb_pending(d, j, "caching_data", -1, 0);
	rc = 0;
	goto out;
dberr:
	log_error("job %s: %s", j->uuid, db_error(d->db));
	d->failed = 1;
	snprintf(why, whylen, "the database failed");
	*passing = 1;
out:
	db_res_free(r);
	free(vol);
	return rc;
}

/* See dispatch.h. */
void
cache_forget(struct disp *d, struct disp_job *j)
{
	struct fill	*f;
	size_t		 i;

	for (f = d->fills; f != NULL; f = f->next)
		for (i = 0; i < f->nwaiters; i++)
			if (f->waiter[i] == j->id) {
				f->waiter[i] = f->waiter[--f->nwaiters];
				break;
			}
}

/* See dispatch.h. */
void
cache_cancel_host(struct disp *d, struct disp_host *h)
{
	struct fill	*f, *next;

	for (f = d->fills; f != NULL; f = next) {
		next = f->next;
		if (f->h == h) {
			f->failed = 1;
			f->passing = 1;
			snprintf(f->err, sizeof(f->err), "host %s: given up",
			    h->name);
			fill_end(d, f);
		}
	}
}

/* --- the sweep ------------------------------------------------------------------ */

/* A volume being removed by the sweep. */
struct evict {
	struct disp_host	*h;
	char			*volume;
	const char		*why;
};

static void
evict_done(struct ecall *c)
{
	struct evict	*e = c->arg;
	struct disp	*d = e->h->d;

	if (c->rc == DOCKER_CANCELLED)
		goto out;
	if (c->rc == DOCKER_OK || c->rc == DOCKER_NOT_FOUND) {
		if (db_exec(d->db, "DELETE FROM host_cache WHERE host_id = ? "
		    "AND volume = ?", DB_ARGS(DB_INT(e->h->id),
		    DB_STR(e->volume)), NULL, NULL) != DB_OK) {
			log_error("host %s: %s", e->h->name, db_error(d->db));
			d->failed = 1;
		} else
			disp_say(d, "host %s: cache volume %s removed (%s)",
			    e->h->name, e->volume, e->why);
	} else
		log_warn("host %s: removing cache volume %s: %s", e->h->name,
		    e->volume, c->err);
out:
	free(e->volume);
	free(e);
	ecall_free(c);
}

static void
evict(struct disp_host *h, const char *volume, const char *why)
{
	struct evict	*e;
	struct ecall	*c;

	e = xcalloc(1, sizeof(*e));
	e->h = h;
	e->volume = xstrdup(volume);
	e->why = why;
	c = dk_volume_remove(volume);
	c->done = evict_done;
	c->arg = e;
	engine_submit(h->eng, c);
}

/* Whether volume is used: by a placed job, a launch or a fill. */
static int
in_use(struct disp *d, struct disp_host *h, const char *volume,
    const struct db_res *used)
{
	struct disp_job	*j;
	size_t		 i;

	if (cache_filling(d, h, volume))
		return 1;
	for (i = 0; i < used->nrows; i++)
		if (strcmp(db_res_str(used, i, 0), volume) == 0)
			return 1;
	for (i = 0; i < d->njobs; i++) {
		j = d->jobs[i];
		if (j->host_id == h->id && j->cache_vol != NULL &&
		    strcmp(j->cache_vol, volume) == 0)
			return 1;
	}
	return 0;
}

/* The volume list of a host arrived: decide what goes. */
static void
sweep_listed(struct ecall *c)
{
	struct disp_host	*h = c->arg;
	struct disp		*d;
	struct db_res		*rows = NULL, *used = NULL;
	char			**names = NULL;
	size_t			 n = 0, i, k;
	long long		 total = 0, max;
	int			 on;

	d = h->d;
	if (c->rc != DOCKER_OK) {
		if (c->rc != DOCKER_CANCELLED)
			log_warn("host %s: %s", h->name, c->err);
		ecall_free(c);
		return;
	}
	max = (long long)d->conf.disp_host_cache_max;
	if (docker_parse_volumes(c->in.data, c->in.len, &names, &n) != 0) {
		log_warn("host %s: the volume list is not JSON", h->name);
		goto out;
	}
	if (db_query(d->db, "SELECT volume, dataset_id IS NULL, bytes FROM "
	    "host_cache WHERE host_id = ? ORDER BY last_used_at, volume",
	    DB_ARGS(DB_INT(h->id)), &rows) != DB_OK ||
	    db_query(d->db, "SELECT DISTINCT cache_volume FROM jobs WHERE "
	    "host_id = ? AND cache_volume IS NOT NULL AND (status IN "
	    "('PENDING','PROCESSING','PROCESSED','UPLOADING') OR "
	    "(status = 'CANCELED' AND cancel_requested = 1))",
	    DB_ARGS(DB_INT(h->id)), &used) != DB_OK) {
		log_error("host %s: %s", h->name, db_error(d->db));
		d->failed = 1;
		goto out;
	}
	/* Volumes the database does not know. */
	for (i = 0; i < n; i++) {
		for (k = 0; k < rows->nrows; k++)
			if (strcmp(db_res_str(rows, k, 0), names[i]) == 0)
				break;
		if (k == rows->nrows && !in_use(d, h, names[i], used))
			evict(h, names[i], "not known");
	}
	for (k = 0; k < rows->nrows; k++) {
		for (on = 0, i = 0; i < n && !on; i++)
			on = strcmp(db_res_str(rows, k, 0), names[i]) == 0;
		if (!on && !cache_filling(d, h, db_res_str(rows, k, 0))) {
			/* The engine lost it: forget it. */
			if (db_exec(d->db, "DELETE FROM host_cache WHERE "
			    "host_id = ? AND volume = ?", DB_ARGS(DB_INT(h->id),
			    DB_STR(db_res_str(rows, k, 0))), NULL, NULL) !=
			    DB_OK)
				d->failed = 1;
			continue;
		}
		if (db_res_int(rows, k, 1) && !in_use(d, h,
		    db_res_str(rows, k, 0), used)) {
			evict(h, db_res_str(rows, k, 0), "its data set was "
			    "deleted");
			continue;
		}
		total += db_res_int(rows, k, 2);
	}
	/* Least recently used first, while over the limit. */
	for (k = 0; k < rows->nrows && total > max; k++) {
		if (db_res_int(rows, k, 1) ||
		    in_use(d, h, db_res_str(rows, k, 0), used))
			continue;
		for (on = 0, i = 0; i < n && !on; i++)
			on = strcmp(db_res_str(rows, k, 0), names[i]) == 0;
		if (!on)
			continue;
		evict(h, db_res_str(rows, k, 0), "least recently used, over "
		    "host_cache_max");
		total -= db_res_int(rows, k, 2);
	}
out:
	db_res_free(rows);
	db_res_free(used);
	strs_free(names, n);
	ecall_free(c);
}

/* See dispatch.h. */
void
cache_sweep(struct disp *d, struct disp_host *h)
{
	struct ecall	*c;

	c = dk_volume_list(DISP_CACHE_LABEL);
	c->done = sweep_listed;
	c->arg = h;
	engine_submit(h->eng, c);
}

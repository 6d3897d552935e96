/*
 * admin-gc.c: `st-admin gc`, the blob store's garbage collector: temporary
 * files left by crashed uploads, shard files and rows no set references,
 * log files of no job; idempotency records past their 24 h window
 * (idem.h) and remembered signatures past their timestamp window
 * (replay.h).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "dataset.h"
#include "db.h"
#include "idem.h"
#include "joblog.h"
#include "replay.h"
#include "store.h"
#include "util.h"

#define GC_TMP_AGE	3600	/* seconds a temporary file must be idle */

/* The usage text of `st-admin gc`, on f. */
void
admin_gc_usage(FILE *f)
{
	fprintf(f,
"usage: st-admin gc [--tmp-age SECONDS] [--dry-run]\n"
"\n"
"Clean the blob store ([store] dir):\n"
"  - temporary files (tmp/st-*.tmp) not written to for SECONDS (default %d):\n"
"    what an upload that crashed or was killed left behind;\n"
"  - shards no data set or pilot references any more: the file and its row\n"
"    (a shard of a set that a job not yet final uses is always referenced);\n"
"  - shard files that have no row at all;\n"
"  - log files of no job (all of its attempts' logs go together), and of\n"
"    an attempt its job never had (logs/ab/<uuid>.<n>.log past the job's\n"
"    attempt);\n"
"  - idempotency records older than 24 hours (they answer nothing any more);\n"
"  - remembered signatures of timestamped writes whose timestamp has left\n"
"    the window (a replay of them is refused by the window itself).\n"
"Each removal is printed on stdout, then a summary line. With --dry-run,\n"
"print what would be removed and remove nothing.\n", GC_TMP_AGE);
}

struct gc {
	struct admin	*a;
	const char	*root;
	int		 dry_run;
	char		**names;	/* collected by a listing */
	size_t		 nnames;
	unsigned long	 tmp_removed;
	unsigned long	 shards_removed;
	unsigned long	 files_removed;
	unsigned long	 logs_removed;
	unsigned long long idem_removed;
	unsigned long long replay_removed;
	int		 failed;
};

/* store_tmp_list_old() callback: remember the name. */
static int
collect_tmp(void *arg, const char *name, time_t age)
{
	struct gc	*g = arg;

	g->names = xrealloc(g->names, (g->nnames + 1) * sizeof(*g->names));
	g->names[g->nnames++] = xstrdup(name);
	return 0;
}

/* store_shard_list() callback: remember the SHA-256. */
static int
collect_shard(void *arg, const char *sha256)
{

	return collect_tmp(arg, sha256, 0);
}

/* Forget the names collected by the last listing. */
static void
names_free(struct gc *g)
{
	size_t	 i;

	for (i = 0; i < g->nnames; i++)
		free(g->names[i]);
	free(g->names);
	g->names = NULL;
	g->nnames = 0;
}

/*
 * dataset_gc_shard() callback, run with the shard's row (or its gap)
 * locked: remove the file. Returns 0 or -1 (printed).
 */
static int
remove_shard_file(void *arg, const char *sha256)
{
	struct gc	*g = arg;

	if (g->dry_run)
		return 0;
	if (store_shard_remove(g->root, sha256) != STORE_OK) {
		admin_warnx("cannot remove shard %s: %s", sha256,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Remove one shard if still unreferenced. Returns 0, or -1 (printed). */
static int
gc_one_shard(struct gc *g, const char *sha256, const char *what,
    unsigned long *count)
{
	int	 removed = 0, rc;

	if (g->dry_run) {
		printf("would remove %s %s\n", what, sha256);
		(*count)++;
		return 0;
	}
	rc = dataset_gc_shard(g->a->db, sha256, remove_shard_file, g,
	    &removed);
	if (rc == DATASET_COMMIT_FAILED)
		return -1;
	if (rc != DB_OK) {
		admin_db_fail(g->a, "removing a shard");
		return -1;
	}
	if (removed) {
		printf("removed %s %s\n", what, sha256);
		(*count)++;
	}
	return 0;
}

/* joblog_list() callback: remember "<uuid> <attempt>". */
static int
collect_log(void *arg, const char *uuid, unsigned attempt)
{
	char	*s = xasprintf("%s %u", uuid, attempt);

	collect_tmp(arg, s, 0);
	free(s);
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{

	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Remove the log files of no job (every attempt's, with joblog_remove())
 * and those of an attempt past their job's: nothing else writes them, as
 * the dispatcher opens attempt n's log only after committing the job's
 * attempt n, and jobs rows are never reused. Returns 0, -1 when a file
 * could not be removed (printed), or ADMIN_FAIL on a database failure.
 */
static int
gc_logs(struct gc *g)
{
	struct db_res	*r = NULL;
	char		 uuid[UUID_STR_LEN + 1], *path;
	unsigned	 attempt;
	size_t		 i, k;
	int		 failed = 0;

	if (joblog_list(g->root, collect_log, g) != 0) {
		admin_warnx("cannot list %s/logs: %s", g->root,
		    strerror(errno));
		failed = 1;
	}
	if (g->nnames > 0)
		qsort(g->names, g->nnames, sizeof(*g->names), cmp_str);
	for (i = 0; i < g->nnames; i = k) {
		if (sscanf(g->names[i], "%36s %u", uuid, &attempt) != 2)
			return -1;
		/* The names of one job are next to each other. */
		for (k = i + 1; k < g->nnames &&
		    strncmp(g->names[k], uuid, UUID_STR_LEN) == 0; k++)
			continue;
		if (db_query(g->a->db, "SELECT attempt FROM jobs WHERE "
		    "uuid = ?", DB_ARGS(DB_STR(uuid)), &r) != DB_OK)
			return admin_db_fail(g->a, "looking up a job");
		if (r->nrows == 0) {
			if (g->dry_run)
				printf("would remove the %zu log files of job "
				    "%s (no such job)\n", k - i, uuid);
			else if (joblog_remove(g->root, uuid) != 0) {
				admin_warnx("cannot remove the logs of job %s: "
				    "%s", uuid, strerror(errno));
				failed = 1;
			} else
				printf("removed the %zu log files of job %s "
				    "(no such job)\n", k - i, uuid);
			g->logs_removed += k - i;
		} else {
			for (; i < k; i++) {
				sscanf(g->names[i], "%*36s %u", &attempt);
				if ((long long)attempt <= db_res_int(r, 0, 0))
					continue;
				path = joblog_path(g->root, uuid, attempt);
				if (!g->dry_run && path != NULL &&
				    unlink(path) == -1 && errno != ENOENT) {
					admin_warnx("cannot remove %s: %s", path,
					    strerror(errno));
					failed = 1;
				} else {
					printf("%s the log of job %s attempt %u "
					    "(no such attempt)\n", g->dry_run ?
					    "would remove" : "removed", uuid,
					    attempt);
					g->logs_removed++;
				}
				free(path);
			}
		}
		db_res_free(r);
		r = NULL;
	}
	return failed ? -1 : 0;
}

/* Parse the options into *age and *dry_run. Returns 0 or ADMIN_USAGE. */
static int
parse_args(int argc, char **argv, unsigned long long *age, int *dry_run)
{
	static const struct option longopts[] = {
		{ "tmp-age",	required_argument,	NULL, 'a' },
		{ "dry-run",	no_argument,		NULL, 'n' },
		{ NULL,		0,			NULL, 0 },
	};
	int	 ch;

	*age = GC_TMP_AGE;
	*dry_run = 0;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			if (util_parse_u64(optarg, 10ULL * 365 * 86400,
			    age) == -1) {
				admin_warnx("gc: --tmp-age wants a whole number"
				    " of seconds, not `%s'", optarg);
				admin_gc_usage(stderr);
				return ADMIN_USAGE;
			}
			break;
		case 'n':
			*dry_run = 1;
			break;
		default:
			admin_warnx("gc: bad option `%s'", argv[optind - 1]);
			admin_gc_usage(stderr);
			return ADMIN_USAGE;
		}
	}
	if (optind != argc) {
		admin_warnx("gc: unexpected argument `%s'", argv[optind]);
		admin_gc_usage(stderr);
		return ADMIN_USAGE;
	}
	return 0;
}

/*
 * st-admin gc [--tmp-age SECONDS] [--dry-run]. Every shard removal runs in
 * its own transaction with the shard's row locked (dataset_gc_shard()), so
 * an upload of the same shard at the same moment either waits and writes
 * the file anew, or makes gc keep it.
 */
int
admin_gc(struct admin *a, int argc, char **argv)
{
	struct gc		 g;
	char			 (*unref)[DATASET_SHA_HEX + 1] = NULL;
	unsigned long long	 age;
	size_t			 i, nunref = 0;
	int			 rc, known;

	memset(&g, 0, sizeof(g));
	g.a = a;
	if ((rc = parse_args(argc, argv, &age, &g.dry_run)) != 0)
		return rc;
	if (admin_open(a) != 0)
		return ADMIN_FAIL;
	g.root = a->conf.store_dir;

	/* 1. Temporary files idle for at least age seconds. */
	if (store_tmp_list_old(g.root, (time_t)age, collect_tmp, &g) != 0) {
		admin_warnx("cannot list %s/tmp: %s", g.root, strerror(errno));
		g.failed = 1;
	}
	for (i = 0; i < g.nnames; i++) {
		if (g.dry_run) {
			printf("would remove temporary file tmp/%s\n",
			    g.names[i]);
			g.tmp_removed++;
		} else if (store_tmp_remove(g.root, g.names[i]) != STORE_OK) {
			admin_warnx("cannot remove tmp/%s: %s", g.names[i],
			    strerror(errno));
			g.failed = 1;
		} else {
			printf("removed temporary file tmp/%s\n", g.names[i]);
			g.tmp_removed++;
		}
	}
	names_free(&g);

	/* 2. Shards rows (and their files) that no set references. */
	if (dataset_gc_unreferenced(a->db, &unref, &nunref) != DB_OK) {
		free(unref);
		names_free(&g);
		return admin_db_fail(a, "listing unreferenced shards");
	}
	for (i = 0; i < nunref; i++)
		if (gc_one_shard(&g, unref[i], "shard", &g.shards_removed))
			g.failed = 1;
	free(unref);

	/* 3. Shard files without any row (a commit that was rolled back). */
	if (store_shard_list(g.root, collect_shard, &g) != 0) {
		admin_warnx("cannot list %s/shards: %s", g.root,
		    strerror(errno));
		g.failed = 1;
	}
	for (i = 0; i < g.nnames; i++) {
		if (dataset_shard_known(a->db, g.names[i], &known) != DB_OK) {
			names_free(&g);
			return admin_db_fail(a, "looking up a shard");
		}
		if (!known && gc_one_shard(&g, g.names[i], "orphan shard file",
		    &g.files_removed))
			g.failed = 1;
	}
	names_free(&g);

	/* 4. Log files of no job, or of an attempt the job never had. */
	rc = gc_logs(&g);
	names_free(&g);
	if (rc == ADMIN_FAIL)
		return ADMIN_FAIL;
	if (rc != 0)
		g.failed = 1;

	/* 5. Idempotency records past their window: one statement. */
	if (idem_gc(a->db, IDEM_WINDOW, g.dry_run, &g.idem_removed) != DB_OK)
		return admin_db_fail(a, "removing old idempotency records");

	/* 6. Remembered signatures past their window: one statement. */
	if (replay_gc(a->db, time(NULL), g.dry_run,
	    &g.replay_removed) != DB_OK)
		return admin_db_fail(a, "removing expired replay records");

	printf("gc: %s %lu temporary files, %lu shards, %lu orphan shard "
	    "files, %lu stray log files, %llu replay records, %llu "
	    "idempotency records\n",
	    g.dry_run ? "would remove" : "removed", g.tmp_removed,
	    g.shards_removed, g.files_removed, g.logs_removed,
	    g.replay_removed, g.idem_removed);
	return g.failed ? ADMIN_FAIL : ADMIN_OK;
}

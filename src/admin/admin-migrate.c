/*
 * admin-migrate.c: `st-admin migrate` (apply sql/NNN_name.sql in order and
 * record them in schema_migrations) and `st-admin status`.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "db.h"
#include "util.h"

#define MIGRATE_LOCK		"singularity.migrate"
#define MIGRATE_LOCK_WAIT	30	/* seconds */

/* One migration file found in the SQL directory. */
struct mig {
	unsigned long long	 version;
	char			*file;		/* "001_init.sql" */
};

struct migs {
	struct mig		*v;
	size_t			 n;
};

/* The job states, in the order of the schema's ENUM. */
static const char *const job_states[] = {
	"QUEUED", "PENDING", "PROCESSING", "PROCESSED", "UPLOADING",
	"COMPLETED", "ERRORED", "CANCELED",
};

/* See admin.h. */
void
admin_migrate_usage(FILE *f)
{
	fprintf(f,
"usage: st-admin migrate [--sql-dir DIR]\n"
"\n"
"Apply, in numeric order, every DIR/NNN_name.sql file not yet recorded in\n"
"the schema_migrations table (default DIR: %s).\n", ST_SQLDIR);
}

/* See admin.h. */
void
admin_status_usage(FILE *f)
{
	fprintf(f,
"usage: st-admin status [--sql-dir DIR]\n"
"\n"
"Check that the database answers; show the schema version applied and the\n"
"one available in DIR (default %s), and counts of accounts, API keys,\n"
"hosts and jobs by status. Exits 1 when the database cannot be reached or\n"
"holds no schema.\n", ST_SQLDIR);
}

/* Free the file list and empty it. */
static void
migs_free(struct migs *m)
{
	size_t	 i;

	for (i = 0; i < m->n; i++)
		free(m->v[i].file);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

/* qsort(3) order of migrations: by version. */
static int
mig_cmp(const void *a, const void *b)
{
	const struct mig *x = a, *y = b;

	return x->version < y->version ? -1 : x->version > y->version;
}

/*
 * The version of a migration file name "NNN_name.sql" (digits, underscore,
 * [A-Za-z0-9_-]+, ".sql"), or -1 when the name is not one.
 */
static int
mig_parse_name(const char *name, unsigned long long *version)
{
	char		 digits[21];
	size_t		 nd, len, i;

	len = strlen(name);
	nd = strspn(name, "0123456789");
	if (nd == 0 || nd >= sizeof(digits) || name[nd] != '_' ||
	    len < nd + 1 + 1 + 4 || strcmp(name + len - 4, ".sql") != 0)
		return -1;
	for (i = nd + 1; i < len - 4; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789_-", name[i]) == NULL)
			return -1;
	memcpy(digits, name, nd);
	digits[nd] = '\0';
	return util_parse_u64(digits, 4294967295ULL, version);
}

/*
 * Find the migration files of dir, sorted by version. Two files with the
 * same version are an error. Returns 0, or -1 after printing the reason.
 */
static int
mig_scan(const char *dir, struct migs *out)
{
	DIR		*d = NULL;
	struct dirent	*de;
	struct migs	 m = { NULL, 0 };
	unsigned long long v;
	size_t		 i;
	int		 rc = -1;

	if ((d = opendir(dir)) == NULL) {
		admin_warnx("%s: %s", dir, strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (mig_parse_name(de->d_name, &v) != 0)
			continue;
		m.v = xrealloc(m.v, (m.n + 1) * sizeof(*m.v));
		m.v[m.n].version = v;
		m.v[m.n].file = xstrdup(de->d_name);
		m.n++;
	}
	if (m.n > 0)
		qsort(m.v, m.n, sizeof(*m.v), mig_cmp);
	for (i = 1; i < m.n; i++)
		if (m.v[i].version == m.v[i - 1].version) {
			admin_warnx("%s: %s and %s have the same version", dir,
			    m.v[i - 1].file, m.v[i].file);
			goto out;
		}
	*out = m;
	m.v = NULL;
	m.n = 0;
	rc = 0;
out:
	migs_free(&m);
	if (d != NULL)
		closedir(d);
	return rc;
}

/*
 * The applied migrations: *res gets (version, name) rows in order, or
 * NULL when schema_migrations does not exist yet. Returns an enum db_rc.
 */
static int
mig_applied(struct admin *a, struct db_res **res)
{
	struct db_res	*r = NULL;
	int		 rc;

	*res = NULL;
	rc = db_query(a->db, "SELECT COUNT(*) FROM information_schema.tables "
	    "WHERE table_schema = DATABASE() AND table_name = ?",
	    DB_ARGS(DB_STR("schema_migrations")), &r);
	if (rc != DB_OK)
		return rc;
	if (db_res_int(r, 0, 0) == 0) {
		db_res_free(r);
		return DB_OK;
	}
	db_res_free(r);
	return db_query(a->db, "SELECT version, name FROM schema_migrations "
	    "ORDER BY version", DB_NOARGS, res);
}

/* Whether version appears in the applied rows (NULL: none applied). */
static int
mig_is_applied(const struct db_res *r, unsigned long long version)
{
	size_t	 i;

	if (r == NULL)
		return 0;
	for (i = 0; i < r->nrows; i++)
		if ((unsigned long long)db_res_int(r, i, 0) == version)
			return 1;
	return 0;
}

/*
 * Run one statement of a migration file; empty statements are skipped.
 * Returns 0 or -1 after printing the reason.
 */
static int
mig_run_stmt(struct admin *a, const char *file, size_t lineno, char *sql,
    size_t *count)
{
	size_t	 n = strlen(sql);

	while (n > 0 && strchr(" \t\r\n", sql[n - 1]) != NULL)
		sql[--n] = '\0';
	if (n == 0)
		return 0;
	if (db_exec(a->db, sql, DB_NOARGS, NULL, NULL) != DB_OK) {
		admin_warnx("%s: statement ending at line %zu failed: %s",
		    file, lineno, db_error(a->db));
		return -1;
	}
	(*count)++;
	return 0;
}

/*
 * Apply one migration file: its statements end with ';' at the end of a
 * line; lines starting with "--" and blank lines are skipped. Then record
 * the file. Returns 0, or -1 after printing the reason.
 * NOTE: MariaDB commits DDL implicitly, so a failed file may be half
 * applied; its later statements are then fixed by hand or by a new file.
 */
static int
mig_apply(struct admin *a, const char *dir, const struct mig *m)
{
	FILE	*f = NULL;
	char	*path = NULL, *line = NULL, *stmt = NULL, *t;
	size_t	 linecap = 0, stmtlen = 0, lineno = 0, count = 0, len;
	ssize_t	 got;
	int	 rc = -1;

	path = xasprintf("%s/%s", dir, m->file);
	if ((f = fopen(path, "r")) == NULL) {
		admin_warnx("%s: %s", path, strerror(errno));
		goto out;
	}
	stmt = xstrdup("");
	while ((got = getline(&line, &linecap, f)) != -1) {
		lineno++;
		len = (size_t)got;
		while (len > 0 && strchr(" \t\r\n", line[len - 1]) != NULL)
			line[--len] = '\0';
		t = line + strspn(line, " \t");
		if (*t == '\0' || strncmp(t, "--", 2) == 0)
			continue;
		stmt = xrealloc(stmt, stmtlen + len + 2);
		memcpy(stmt + stmtlen, line, len);
		stmtlen += len;
		if (line[len - 1] == ';') {
			stmt[stmtlen - 1] = '\0';
			if (mig_run_stmt(a, path, lineno, stmt, &count) != 0)
				goto out;
			stmtlen = 0;
			stmt[0] = '\0';
		} else {
			stmt[stmtlen++] = '\n';
			stmt[stmtlen] = '\0';
		}
	}
	if (ferror(f)) {
		admin_warnx("%s: read error", path);
		goto out;
	}
	/* A last statement without its semicolon. */
	if (mig_run_stmt(a, path, lineno, stmt, &count) != 0)
		goto out;

	if (db_exec(a->db, "INSERT INTO schema_migrations (version, name) "
	    "VALUES (?, ?)", DB_ARGS(DB_INT(m->version), DB_STR(m->file)),
	    NULL, NULL) != DB_OK) {
		admin_db_fail(a, "recording the migration");
		goto out;
	}
	printf("applied %s (%zu statement%s)\n", m->file, count,
	    count == 1 ? "" : "s");
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	free(path);
	free(line);
	free(stmt);
	return rc;
}

/*
 * Parse the --sql-dir option shared by migrate and status into *dir.
 * Returns 0 or ADMIN_USAGE.
 */
static int
parse_sql_dir(int argc, char **argv, const char **dir, void (*use)(FILE *))
{
	static const struct option longopts[] = {
		{ "sql-dir",	required_argument,	NULL, 'd' },
		{ NULL,		0,			NULL, 0 },
	};
	int	 ch;

	*dir = ST_SQLDIR;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			*dir = optarg;
			break;
		default:
			admin_warnx("%s: bad option `%s'", argv[0],
			    argv[optind - 1]);
			use(stderr);
			return ADMIN_USAGE;
		}
	}
	if (optind != argc) {
		admin_warnx("%s: unexpected argument `%s'", argv[0],
		    argv[optind]);
		use(stderr);
		return ADMIN_USAGE;
	}
	return 0;
}

/*
 * st-admin migrate [--sql-dir DIR]. A named lock keeps two concurrent runs
 * from applying the same file twice.
 */
int
admin_migrate(struct admin *a, int argc, char **argv)
{
	struct migs	 m = { NULL, 0 };
	struct db_res	*applied = NULL, *r = NULL;
	const char	*dir;
	unsigned long long top = 0;
	size_t		 i, done = 0;
	int		 rc, locked = 0;

	if ((rc = parse_sql_dir(argc, argv, &dir, admin_migrate_usage)) != 0)
		return rc;
	rc = ADMIN_FAIL;
	if (mig_scan(dir, &m) != 0)
		goto out;
	if (m.n == 0) {
		admin_warnx("%s: no migration files (NNN_name.sql)", dir);
		goto out;
	}
	if (admin_open(a) != 0)
		goto out;

	if (db_query(a->db, "SELECT GET_LOCK(?, ?)", DB_ARGS(
	    DB_STR(MIGRATE_LOCK), DB_INT(MIGRATE_LOCK_WAIT)), &r) != DB_OK) {
		admin_db_fail(a, "taking the migration lock");
		goto out;
	}
	if (db_res_int(r, 0, 0) != 1) {
		admin_warnx("another migration is running (lock %s held)",
		    MIGRATE_LOCK);
		goto out;
	}
	locked = 1;

	if (mig_applied(a, &applied) != DB_OK) {
		admin_db_fail(a, "reading the applied migrations");
		goto out;
	}
	for (i = 0; i < m.n; i++) {
		if (mig_is_applied(applied, m.v[i].version))
			continue;
		if (mig_apply(a, dir, &m.v[i]) != 0)
			goto out;
		done++;
	}
	if (applied != NULL && applied->nrows > 0)
		top = (unsigned long long)db_res_int(applied,
		    applied->nrows - 1, 0);
	if (done == 0)
		printf("schema is up to date (version %llu)\n", top);
	if (top > m.v[m.n - 1].version)
		admin_warnx("the database holds schema version %llu, newer "
		    "than the newest file in %s (%llu)", top, dir,
		    m.v[m.n - 1].version);
	rc = ADMIN_OK;
out:
	if (locked)
		(void)db_exec(a->db, "DO RELEASE_LOCK(?)",
		    DB_ARGS(DB_STR(MIGRATE_LOCK)), NULL, NULL);
	db_res_free(r);
	db_res_free(applied);
	migs_free(&m);
	return rc;
}

/* One count query; returns -1 on a database error (already reported). */
static long long
count_of(struct admin *a, const char *sql)
{
	struct db_res	*r = NULL;
	long long	 n;

	if (db_query(a->db, sql, DB_NOARGS, &r) != DB_OK) {
		admin_db_fail(a, "counting");
		return -1;
	}
	n = r->nrows > 0 ? db_res_int(r, 0, 0) : 0;
	db_res_free(r);
	return n;
}

/*
 * st-admin status [--sql-dir DIR].
 */
int
admin_status(struct admin *a, int argc, char **argv)
{
	struct migs	 m = { NULL, 0 };
	struct db_res	*applied = NULL, *r = NULL;
	const char	*dir, *state;
	unsigned long long top = 0, avail = 0;
	long long	 n1, n2, n3, counts[NITEMS(job_states)];
	size_t		 i, j, pending = 0;
	int		 rc, have_files;

	if ((rc = parse_sql_dir(argc, argv, &dir, admin_status_usage)) != 0)
		return rc;
	rc = ADMIN_FAIL;
	have_files = mig_scan(dir, &m) == 0;

	if (admin_open(a) != 0) {
		printf("database:  unreachable\n");
		goto out;
	}
	if (db_query(a->db, "SELECT VERSION(), DATABASE()", DB_NOARGS, &r)
	    != DB_OK) {
		admin_db_fail(a, "asking the server version");
		goto out;
	}
	printf("database:  reachable (server %s, database %s)\n",
	    db_res_str(r, 0, 0), db_res_str(r, 0, 1) != NULL ?
	    db_res_str(r, 0, 1) : "-");

	if (mig_applied(a, &applied) != DB_OK) {
		admin_db_fail(a, "reading the applied migrations");
		goto out;
	}
	if (applied == NULL) {
		printf("schema:    not initialised (run `st-admin migrate')\n");
		goto out;
	}
	if (applied->nrows > 0)
		top = (unsigned long long)db_res_int(applied,
		    applied->nrows - 1, 0);
	if (have_files) {
		for (i = 0; i < m.n; i++)
			if (!mig_is_applied(applied, m.v[i].version))
				pending++;
		avail = m.n > 0 ? m.v[m.n - 1].version : 0;
		printf("schema:    version %llu applied, %llu available", top,
		    avail);
		if (pending > 0)
			printf(", %zu pending (run `st-admin migrate')\n",
			    pending);
		else
			printf(", up to date\n");
	} else
		printf("schema:    version %llu applied, available unknown\n",
		    top);

	if ((n1 = count_of(a, "SELECT COUNT(*) FROM accounts")) < 0 ||
	    (n2 = count_of(a, "SELECT COUNT(*) FROM accounts "
	    "WHERE disabled <> 0")) < 0)
		goto out;
	printf("accounts:  %lld (%lld disabled)\n", n1, n2);

	if ((n1 = count_of(a, "SELECT COUNT(*) FROM api_keys "
	    "WHERE revoked_at IS NULL")) < 0 ||
	    (n2 = count_of(a, "SELECT COUNT(*) FROM api_keys "
	    "WHERE revoked_at IS NOT NULL")) < 0)
		goto out;
	printf("api keys:  %lld active, %lld revoked\n", n1, n2);

	if ((n1 = count_of(a, "SELECT COUNT(*) FROM hosts "
	    "WHERE state = 'active'")) < 0 ||
	    (n2 = count_of(a, "SELECT COUNT(*) FROM hosts "
	    "WHERE state = 'draining'")) < 0 ||
	    (n3 = count_of(a, "SELECT COUNT(*) FROM hosts "
	    "WHERE state = 'disabled'")) < 0)
		goto out;
	printf("hosts:     %lld active, %lld draining, %lld disabled\n",
	    n1, n2, n3);

	db_res_free(r);
	r = NULL;
	if (db_query(a->db, "SELECT status, COUNT(*) FROM jobs "
	    "GROUP BY status", DB_NOARGS, &r) != DB_OK) {
		admin_db_fail(a, "counting jobs");
		goto out;
	}
	for (j = 0; j < NITEMS(job_states); j++)
		counts[j] = 0;
	for (i = 0; i < r->nrows; i++) {
		state = db_res_str(r, i, 0);
		for (j = 0; j < NITEMS(job_states); j++)
			if (state != NULL && strcmp(state, job_states[j]) == 0)
				counts[j] = db_res_int(r, i, 1);
	}
	printf("jobs:     ");
	for (j = 0; j < NITEMS(job_states); j++)
		printf(" %s %lld%s", job_states[j], counts[j],
		    j + 1 < NITEMS(job_states) ? "," : "\n");
	rc = ADMIN_OK;
out:
	db_res_free(r);
	db_res_free(applied);
	migs_free(&m);
	return rc;
}

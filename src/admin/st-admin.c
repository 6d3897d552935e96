/*
 * st-admin.c: the administration program: global options, command table,
 * and the helpers the command files share (configuration, database,
 * messages, aligned tables).
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "util.h"

static const struct cmd {
	const char	 *name;
	int		(*run)(struct admin *, int, char **);
	void		(*usage)(FILE *);
} cmds[] = {
	{ "migrate",	admin_migrate,	admin_migrate_usage },
	{ "status",	admin_status,	admin_status_usage },
	{ "account",	admin_account,	admin_account_usage },
	{ "key",	admin_key,	admin_key_usage },
	{ "host",	admin_host,	admin_host_usage },
	{ "gc",		admin_gc,	admin_gc_usage },
	{ "fsck",	admin_fsck,	admin_fsck_usage },
};

/* The program's whole usage text, on stream f. */
static void
usage(FILE *f)
{
	fprintf(f,
"usage: st-admin [-c FILE] COMMAND [ARGUMENTS]\n"
"       st-admin -h | --help | --version\n"
"\n"
"Commands:\n"
"  migrate [--sql-dir DIR]      apply the schema migrations not yet applied\n"
"  status [--sql-dir DIR]       database, schema version and object counts\n"
"  account add NAME             create an account\n"
"  account list                 list the accounts\n"
"  account disable NAME         refuse every request of the account\n"
"  account enable NAME          accept the account's requests again\n"
"  key create ACCOUNT           new API key and secret (the secret is shown once)\n"
"  key list [ACCOUNT]           list API keys (never their secrets)\n"
"  key revoke KEY               revoke an API key\n"
"  host add NAME --endpoint URL --cpus N --ram-gb N [--gpus N]\n"
"           [--gpu-runtime nvidia|env] [--tls-ca F --tls-cert F --tls-key F]\n"
"                               register a Docker host\n"
"  host list                    list the hosts\n"
"  host drain NAME              place no new job on the host\n"
"  host enable NAME             place jobs on the host again\n"
"  host remove NAME             forget a host that runs no job\n"
"  gc [--tmp-age SECONDS] [--dry-run]\n"
"                               clean the blob store of unreferenced files\n"
"  fsck [--sizes-only] [--verbose]\n"
"                               check every shard and model file against the database\n"
"\n"
"Options:\n"
"  -c, --config FILE  configuration file (default: $SINGULARITY_CONF, else\n"
"                     %s/singularity/singularity.conf)\n"
"  -h, --help         show this help; `st-admin COMMAND --help' for one command\n"
"      --version      show the version\n"
"\n"
"Exit status: 0 success, 1 failure, 2 usage error.\n", ST_SYSCONFDIR);
}

/*
 * See admin.h.
 */
void
admin_warnx(const char *fmt, ...)
{
	va_list	 ap;

	fputs("st-admin: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * See admin.h.
 */
int
admin_usage_error(void (*use)(FILE *), const char *fmt, ...)
{
	va_list	 ap;

	fputs("st-admin: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	use(stderr);
	return ADMIN_USAGE;
}

/*
 * See admin.h. The connection is opened eagerly so that an unreachable
 * server is reported once, before the command starts.
 */
int
admin_open(struct admin *a)
{
	char	 err[512];

	if (!a->conf_loaded) {
		if (conf_load(a->config_path, &a->conf, err, sizeof(err)) != 0) {
			admin_warnx("configuration: %s", err);
			return -1;
		}
		a->conf_loaded = 1;
	}
	if (a->db == NULL && (a->db = db_new(&a->conf)) == NULL) {
		admin_warnx("out of memory");
		return -1;
	}
	if (db_connect(a->db) != DB_OK) {
		admin_warnx("cannot connect to the database: %s",
		    db_error(a->db));
		return -1;
	}
	return 0;
}

/*
 * See admin.h.
 */
int
admin_db_fail(struct admin *a, const char *what)
{
	admin_warnx("database error while %s: %s", what,
	    a->db != NULL ? db_error(a->db) : "not connected");
	return ADMIN_FAIL;
}

/*
 * See admin.h.
 */
int
admin_check_name(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > ADMIN_NAME_MAX)
		return -1;
	for (i = 0; i < n; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789_.-", s[i]) == NULL)
			return -1;
	return 0;
}

/*
 * Start a table with the given column headers (NULL-terminated list).
 */
void
admin_table_init(struct admin_table *t, const char *header, ...)
{
	va_list		 ap;
	const char	*h;
	size_t		 n = 0;

	va_start(ap, header);
	for (h = header; h != NULL; h = va_arg(ap, const char *))
		n++;
	va_end(ap);

	memset(t, 0, sizeof(*t));
	t->ncols = n;
	t->cells = xcalloc(n, sizeof(*t->cells));
	t->widths = xcalloc(n, sizeof(*t->widths));
	n = 0;
	va_start(ap, header);
	for (h = header; h != NULL; h = va_arg(ap, const char *)) {
		t->cells[n] = xstrdup(h);
		t->widths[n] = strlen(h);
		n++;
	}
	va_end(ap);
}

/*
 * Append a row of exactly t->ncols strings; NULL shows as "-". The strings
 * are copied.
 */
void
admin_table_add(struct admin_table *t, ...)
{
	va_list		 ap;
	const char	*s;
	size_t		 i, base, len;

	base = (t->nrows + 1) * t->ncols;
	t->cells = xrealloc(t->cells, (base + t->ncols) * sizeof(*t->cells));
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++) {
		s = va_arg(ap, const char *);
		if (s == NULL)
			s = "-";
		t->cells[base + i] = xstrdup(s);
		if ((len = strlen(s)) > t->widths[i])
			t->widths[i] = len;
	}
	va_end(ap);
	t->nrows++;
}

/*
 * Print the headers and rows, columns separated by two spaces, the last
 * column unpadded.
 */
void
admin_table_print(const struct admin_table *t)
{
	size_t	 r, c;

	for (r = 0; r <= t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];

			if (c + 1 < t->ncols)
				printf("%-*s  ", (int)t->widths[c], s);
			else
				printf("%s\n", s);
		}
	}
}

/* Free the cells of t; t may be initialised again. */
void
admin_table_free(struct admin_table *t)
{
	size_t	 i;

	if (t->cells != NULL)
		for (i = 0; i < (t->nrows + 1) * t->ncols; i++)
			free(t->cells[i]);
	free(t->cells);
	free(t->widths);
	memset(t, 0, sizeof(*t));
}

/* Global options, then the command's function. Exit: 0, 1 failure, 2 usage. */
int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 },
	};
	struct admin	 a;
	const struct cmd *cmd = NULL;
	size_t		 i;
	int		 ch, rc;

	memset(&a, 0, sizeof(a));

	/* "+": stop at the command word; its options are its own. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			a.config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return ADMIN_OK;
		case 'V':
			printf("st-admin %s\n", ST_VERSION);
			return ADMIN_OK;
		default:
			if (optopt == 'c')
				admin_warnx("option -c needs a file name");
			else
				admin_warnx("unknown option `%s'",
				    argv[optind - 1]);
			usage(stderr);
			return ADMIN_USAGE;
		}
	}
	argc -= optind;
	argv += optind;

	if (argc == 0) {
		admin_warnx("no command given");
		usage(stderr);
		return ADMIN_USAGE;
	}
	for (i = 0; i < NITEMS(cmds); i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			cmd = &cmds[i];
	if (cmd == NULL) {
		admin_warnx("unknown command `%s'", argv[0]);
		usage(stderr);
		return ADMIN_USAGE;
	}
	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			cmd->usage(stdout);
			return ADMIN_OK;
		}
		if (strcmp(argv[i], "--") == 0)
			break;
	}

	/* Library messages (db reconnects) only when they are errors. */
	log_init("st-admin", NULL, CONF_LOG_ERROR);

	rc = cmd->run(&a, argc, argv);

	fflush(stdout);
	if (ferror(stdout)) {
		admin_warnx("error writing to standard output");
		rc = ADMIN_FAIL;
	}
	db_free(a.db);
	if (a.conf_loaded)
		conf_free(&a.conf);
	return rc;
}

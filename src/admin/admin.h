/*
 * admin.h: what the st-admin command files share.
 *
 * Each command is a function taking its own argc/argv (argv[0] is the
 * command word) and returning the process exit status: ADMIN_OK,
 * ADMIN_FAIL (runtime failure, message printed on stderr) or ADMIN_USAGE
 * (bad arguments, usage printed on stderr).
 */
#ifndef ST_ADMIN_H
#define ST_ADMIN_H

#include <stddef.h>
#include <stdio.h>

#include "conf.h"
#include "db.h"

#define ADMIN_OK	0
#define ADMIN_FAIL	1
#define ADMIN_USAGE	2

#define ADMIN_NAME_MAX	64

struct admin {
	const char	*config_path;	/* -c, or NULL for the default */
	struct conf	 conf;
	int		 conf_loaded;
	struct db	*db;
};

/* A table printed with aligned columns on stdout. */
struct admin_table {
	size_t		  ncols;
	size_t		  nrows;
	char		**cells;	/* (nrows + 1) * ncols */
	size_t		 *widths;
};

/*
 * Load the configuration (once) and open the database connection.
 * Returns 0, or -1 after printing the reason on stderr.
 */
int	admin_open(struct admin *a);

/* Print "st-admin: " and the formatted message on stderr. */
void	admin_warnx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/*
 * Print "st-admin: " and the message, then the usage use() on stderr.
 * Returns ADMIN_USAGE.
 */
int	admin_usage_error(void (*use)(FILE *), const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Print a database failure of what ("adding the account") on stderr with
 * the library's reason. Returns ADMIN_FAIL.
 */
int	admin_db_fail(struct admin *a, const char *what);

/*
 * Names of accounts and hosts: 1-ADMIN_NAME_MAX of [A-Za-z0-9_.-].
 * Returns 0 or -1.
 */
int	admin_check_name(const char *s);

/* Table helpers: headers given as a NULL-terminated list. */
void	admin_table_init(struct admin_table *t, const char *header, ...);
/* Add a row of t->ncols cells (NULL prints as "-"). */
void	admin_table_add(struct admin_table *t, ...);
void	admin_table_print(const struct admin_table *t);
void	admin_table_free(struct admin_table *t);

/*
 * Commands. Each usage function prints the command's usage on f (stdout
 * for --help, stderr for a usage error).
 */

/* admin-migrate.c */
int	admin_migrate(struct admin *a, int argc, char **argv);
int	admin_status(struct admin *a, int argc, char **argv);
void	admin_migrate_usage(FILE *f);
void	admin_status_usage(FILE *f);

/* admin-account.c */
int	admin_account(struct admin *a, int argc, char **argv);
int	admin_key(struct admin *a, int argc, char **argv);
void	admin_account_usage(FILE *f);
void	admin_key_usage(FILE *f);

/* admin-host.c */
int	admin_host(struct admin *a, int argc, char **argv);
void	admin_host_usage(FILE *f);

/* admin-gc.c */
int	admin_gc(struct admin *a, int argc, char **argv);
void	admin_gc_usage(FILE *f);

/* admin-fsck.c */
int	admin_fsck(struct admin *a, int argc, char **argv);
void	admin_fsck_usage(FILE *f);

#endif

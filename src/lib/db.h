/*
 * db.h: the MariaDB connection of a process, prepared statements only.
 *
 * One connection per process, opened lazily by the first statement. Every
 * statement is a server-side prepared statement with ? placeholders (cached
 * per SQL text for the life of the connection); no SQL is ever built from
 * strings. When the server went away between two requests (restart, idle
 * timeout), the next statement outside a transaction reconnects once and
 * retries transparently; inside a transaction it fails with DB_GONE and the
 * caller answers 503.
 */
#ifndef ST_DB_H
#define ST_DB_H

#include <stddef.h>
#include <string.h>

#include "conf.h"

enum db_rc {
	DB_OK = 0,
	DB_ERROR = -1,		/* anything else: a bug or a schema problem (500) */
	DB_GONE = -2,		/* server unreachable or lost (503, Retry-After) */
	DB_DUPLICATE = -3,	/* unique key violated (ER_DUP_ENTRY) */
	DB_RETRY = -4,		/* deadlock or lock wait timeout: redo the transaction */
};

enum db_type { DB_T_NULL, DB_T_INT, DB_T_DOUBLE, DB_T_TEXT, DB_T_BLOB };

/* One statement parameter; build with the macros below. */
struct db_param {
	enum db_type	 type;
	long long	 i;
	double		 d;
	const void	*p;
	size_t		 n;
};

#define DB_NULL		((struct db_param){ .type = DB_T_NULL })
#define DB_INT(v)	((struct db_param){ .type = DB_T_INT, .i = (long long)(v) })
#define DB_DBL(v)	((struct db_param){ .type = DB_T_DOUBLE, .d = (v) })
/* NUL-terminated text; a NULL pointer binds SQL NULL. */
#define DB_STR(v)	db_param_str(v)
#define DB_TEXT(v, len)	((struct db_param){ .type = DB_T_TEXT, .p = (v), .n = (len) })
#define DB_BLOB(v, len)	((struct db_param){ .type = DB_T_BLOB, .p = (v), .n = (len) })

/* Pass a parameter list: db_exec(db, sql, DB_ARGS(DB_INT(1), DB_STR(s)), ...). */
#define DB_ARGS(...)	(const struct db_param[]){ __VA_ARGS__ }, \
	(sizeof((const struct db_param[]){ __VA_ARGS__ }) / sizeof(struct db_param))
#define DB_NOARGS	NULL, 0

static inline struct db_param
db_param_str(const char *s)
{
	struct db_param p = { .type = DB_T_NULL };

	if (s != NULL) {
		p.type = DB_T_TEXT;
		p.p = s;
		p.n = strlen(s);
	}
	return p;
}

/* A fully fetched result: every cell copied and NUL-terminated. */
struct db_res {
	size_t		  nrows;
	size_t		  ncols;
	char		**cells;	/* nrows * ncols; NULL for SQL NULL */
	unsigned long	 *lens;		/* byte length of each cell */
	char		 *arena;	/* every cell, NUL-terminated, one block */
};

struct db;

/*
 * A handle for conf's database; no connection is made until the first
 * statement (db_connect() forces one). Returns NULL on allocation failure.
 * The handle keeps a pointer to c, which must outlive it.
 */
struct db	*db_new(const struct conf *c);
void		 db_free(struct db *db);

/* Connect now if not connected. Returns DB_OK or DB_GONE. */
int		 db_connect(struct db *db);

/*
 * Run a statement that returns no rows. *affected and *insert_id are set
 * when not NULL. Returns an enum db_rc.
 */
int		 db_exec(struct db *db, const char *sql,
		    const struct db_param *args, size_t nargs,
		    unsigned long long *affected, unsigned long long *insert_id);

/*
 * Run a statement that returns rows; *out receives the whole result (free
 * with db_res_free()), or NULL on error. Returns an enum db_rc.
 */
int		 db_query(struct db *db, const char *sql,
		    const struct db_param *args, size_t nargs,
		    struct db_res **out);

int		 db_begin(struct db *db);
int		 db_commit(struct db *db);
/* Roll back; safe to call when no transaction is open or the link is gone. */
void		 db_rollback(struct db *db);
int		 db_in_transaction(const struct db *db);

/*
 * Run fn(db, arg) inside a transaction: committed when fn returns DB_OK,
 * rolled back when it returns anything else. The whole is run again, up to
 * attempts times in all, while fn or the commit meet a deadlock or a lock
 * wait timeout (DB_RETRY): fn must start from scratch on each call (reset
 * what it fills, draw new UUIDs). Returns DB_OK, fn's outcome, or a db
 * error of begin or commit.
 */
int		 db_transaction(struct db *db, int attempts,
		    int (*fn)(struct db *, void *), void *arg);

/* Last error text of the server or client library, for the log only. */
const char	*db_error(const struct db *db);

/* Cell accessors: NULL / 0 for SQL NULL; row and col must be in range. */
const char	*db_res_str(const struct db_res *r, size_t row, size_t col);
unsigned long	 db_res_len(const struct db_res *r, size_t row, size_t col);
long long	 db_res_int(const struct db_res *r, size_t row, size_t col);
double		 db_res_dbl(const struct db_res *r, size_t row, size_t col);
int		 db_res_isnull(const struct db_res *r, size_t row, size_t col);
void		 db_res_free(struct db_res *r);

#endif

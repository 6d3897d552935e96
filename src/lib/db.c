/*
 * db.c: the MariaDB connection of a process, prepared statements only
 * (MariaDB Connector/C binary protocol).
 *
 * One connection per handle, opened by the first statement. Statements are
 * prepared once per SQL text and kept in a small LRU cache for the life of
 * the connection. Every result is fetched whole with every column converted
 * to text by the client library, and copied into a struct db_res, so a
 * caller never holds library memory.
 *
 * Reconnection is ours, never the library's (MYSQL_OPT_RECONNECT stays off:
 * a silent reconnect would lose the session settings and any transaction).
 * When a statement fails because the server went away and no transaction is
 * open, the connection is closed, made again once and the statement retried
 * once. Most often the loss is seen before anything is sent: an idle
 * connection whose socket turned readable was closed (or killed) by the
 * server, and is replaced before the statement goes out. NOTE: a statement
 * whose reply was lost after the server executed it
 * (crash in the middle of a write) may thus run twice; callers write
 * statements that are idempotent or guarded by unique keys where that
 * matters, and a lost transaction is never retried here.
 *
 * Parameters are never logged nor copied into error texts: they may be
 * secrets.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "util.h"

#define STMT_CACHE_SIZE		64
#define READ_TIMEOUT_SEC	60
#define WRITE_TIMEOUT_SEC	60
/*
 * NOTE: the library converts a DOUBLE to text with as many digits as the
 * buffer holds (no truncation reported), so no column buffer is smaller.
 */
#define MIN_COLUMN_BUF		64

struct stmt_slot {
	char			*sql;		/* NULL: slot free */
	MYSQL_STMT		*stmt;
	unsigned long long	 used;		/* LRU clock value */
};

struct db {
	const struct conf	*conf;
	MYSQL			*my;		/* NULL: not connected */
	int			 in_tx;
	unsigned long long	 clock;
	struct stmt_slot	 cache[STMT_CACHE_SIZE];
	char			 err[512];
};

/*
 * Map a client or server error number to an enum db_rc. Connection
 * trouble of any kind (refused, lost, killed, server shutting down, too
 * many connections) is DB_GONE: the caller answers 503 and the client
 * retries later.
 */
static int
map_errno(unsigned int no)
{
	switch (no) {
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_UNKNOWN_HOST:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case CR_IPSOCK_ERROR:
	case CR_SERVER_HANDSHAKE_ERR:
	case CR_SSL_CONNECTION_ERROR:
	case ER_CON_COUNT_ERROR:
	case ER_SERVER_SHUTDOWN:
	case ER_CONNECTION_KILLED:
	case ER_NET_READ_ERROR:
	case ER_NET_READ_INTERRUPTED:
	case ER_NET_ERROR_ON_WRITE:
	case ER_NET_WRITE_INTERRUPTED:
	case ER_NET_PACKETS_OUT_OF_ORDER:
		return DB_GONE;
	case ER_DUP_ENTRY:
		return DB_DUPLICATE;
	case ER_LOCK_DEADLOCK:
	case ER_LOCK_WAIT_TIMEOUT:
		return DB_RETRY;
	default:
		return DB_ERROR;
	}
}

/* Remember an error text for db_error(); never holds parameters. */
static void
set_err(struct db *db, const char *what, unsigned int no, const char *msg)
{
	snprintf(db->err, sizeof(db->err), "%s: %s (%u)", what,
	    (msg != NULL && msg[0] != '\0') ? msg : "unknown error", no);
}

/* Record the error of stmt and return its enum db_rc. */
static int
stmt_fail(struct db *db, MYSQL_STMT *stmt, const char *what)
{
	unsigned int no = mysql_stmt_errno(stmt);

	set_err(db, what, no, mysql_stmt_error(stmt));
	return map_errno(no);
}

/* Close every cached statement. */
static void
cache_clear(struct db *db)
{
	size_t i;

	for (i = 0; i < STMT_CACHE_SIZE; i++) {
		if (db->cache[i].stmt != NULL)
			mysql_stmt_close(db->cache[i].stmt);
		free(db->cache[i].sql);
		db->cache[i].stmt = NULL;
		db->cache[i].sql = NULL;
		db->cache[i].used = 0;
	}
}

/*
 * Drop the connection and its statements. A transaction that was open is
 * lost with it; in_tx stays set until the caller rolls back, so that the
 * following statements of that transaction fail instead of running on a
 * new connection outside of it.
 */
static void
disconnect(struct db *db)
{
	cache_clear(db);
	if (db->my != NULL)
		mysql_close(db->my);
	db->my = NULL;
}

/*
 * Run one statement without parameters or cache on a fresh connection
 * (session settings). Returns an enum db_rc.
 */
static int
session_exec(struct db *db, const char *sql)
{
	MYSQL_STMT	*stmt = NULL;
	int		 rc = DB_ERROR;

	if ((stmt = mysql_stmt_init(db->my)) == NULL) {
		set_err(db, "statement", 0, "out of memory");
		goto out;
	}
	if (mysql_stmt_prepare(stmt, sql, strlen(sql)) != 0 ||
	    mysql_stmt_execute(stmt) != 0) {
		rc = stmt_fail(db, stmt, "session setup");
		goto out;
	}
	rc = DB_OK;
out:
	if (stmt != NULL)
		mysql_stmt_close(stmt);
	return rc;
}

/*
 * Allocate a handle; see db.h. The configuration is borrowed.
 */
struct db *
db_new(const struct conf *c)
{
	struct db *db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->conf = c;
	return db;
}

/*
 * Close the connection (rolling back nothing explicitly: the server rolls
 * back an open transaction of a closed connection) and free the handle.
 */
void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	disconnect(db);
	free(db);
}

/*
 * Connect now unless connected: TCP to host:port, or the unix socket when
 * the configuration names one; utf8mb4; UTC session time zone and a strict
 * sql_mode. Returns DB_OK, or DB_GONE with the reason in db_error().
 */
int
db_connect(struct db *db)
{
	const struct conf	*c = db->conf;
	unsigned int		 timeout, rtimeout, wtimeout, proto;
	int			 use_socket;
	unsigned int		 no;

	if (db->my != NULL)
		return DB_OK;

	if ((db->my = mysql_init(NULL)) == NULL) {
		set_err(db, "connect", 0, "out of memory");
		return DB_GONE;
	}

	use_socket = c->db_socket != NULL && c->db_socket[0] != '\0';
	timeout = c->db_connect_timeout > 0 ? c->db_connect_timeout : 5;
	rtimeout = READ_TIMEOUT_SEC;
	wtimeout = WRITE_TIMEOUT_SEC;
	proto = use_socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;

	/* NOTE: MYSQL_OPT_RECONNECT is deliberately left off; see above. */
	if (mysql_options(db->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout) != 0 ||
	    mysql_options(db->my, MYSQL_OPT_READ_TIMEOUT, &rtimeout) != 0 ||
	    mysql_options(db->my, MYSQL_OPT_WRITE_TIMEOUT, &wtimeout) != 0 ||
	    mysql_options(db->my, MYSQL_OPT_PROTOCOL, &proto) != 0 ||
	    mysql_options(db->my, MYSQL_SET_CHARSET_NAME, "utf8mb4") != 0) {
		set_err(db, "connect", mysql_errno(db->my), mysql_error(db->my));
		goto err;
	}

	if (mysql_real_connect(db->my,
	    use_socket ? "localhost" : c->db_host,
	    c->db_user, c->db_password, c->db_name,
	    use_socket ? 0 : c->db_port,
	    use_socket ? c->db_socket : NULL, 0) == NULL) {
		no = mysql_errno(db->my);
		set_err(db, "connect", no, mysql_error(db->my));
		log_warn("database connection failed: %s", db->err);
		goto err;
	}

	if (session_exec(db, "SET time_zone = '+00:00'") != DB_OK ||
	    session_exec(db, "SET SESSION sql_mode = "
	    "'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'") != DB_OK) {
		log_warn("database session setup failed: %s", db->err);
		goto err;
	}
	return DB_OK;
err:
	disconnect(db);
	return DB_GONE;
}

/*
 * The prepared statement for sql on the current connection, from the cache
 * or prepared now (evicting the least recently used one when full).
 * Returns an enum db_rc; *out is set on DB_OK and owned by the cache.
 */
static int
prepare(struct db *db, const char *sql, MYSQL_STMT **out)
{
	struct stmt_slot	*slot = NULL;
	MYSQL_STMT		*stmt = NULL;
	my_bool			 on = 1;
	size_t			 i;
	int			 rc;

	for (i = 0; i < STMT_CACHE_SIZE; i++) {
		if (db->cache[i].sql != NULL &&
		    strcmp(db->cache[i].sql, sql) == 0) {
			db->cache[i].used = ++db->clock;
			*out = db->cache[i].stmt;
			return DB_OK;
		}
		if (slot == NULL || db->cache[i].used < slot->used)
			slot = &db->cache[i];
	}

	if ((stmt = mysql_stmt_init(db->my)) == NULL) {
		set_err(db, "prepare", 0, "out of memory");
		return DB_ERROR;
	}
	if (mysql_stmt_prepare(stmt, sql, strlen(sql)) != 0) {
		rc = stmt_fail(db, stmt, "prepare");
		mysql_stmt_close(stmt);
		return rc;
	}
	if (mysql_stmt_attr_set(stmt, STMT_ATTR_UPDATE_MAX_LENGTH, &on) != 0) {
		rc = stmt_fail(db, stmt, "prepare");
		mysql_stmt_close(stmt);
		return rc;
	}

	/* Evict the least recently used (or a free) slot. */
	if (slot->stmt != NULL)
		mysql_stmt_close(slot->stmt);
	free(slot->sql);
	slot->sql = xstrdup(sql);
	slot->stmt = stmt;
	slot->used = ++db->clock;
	*out = stmt;
	return DB_OK;
}

/*
 * Bind and execute stmt with args. Returns an enum db_rc.
 */
static int
execute(struct db *db, MYSQL_STMT *stmt, const struct db_param *args,
    size_t nargs)
{
	MYSQL_BIND		*bind = NULL;
	unsigned long		*lens = NULL;
	long long		*ints = NULL;
	double			*dbls = NULL;
	unsigned long		 want;
	size_t			 i;
	int			 rc = DB_ERROR;

	want = mysql_stmt_param_count(stmt);
	if (want != nargs) {
		snprintf(db->err, sizeof(db->err), "statement expects %lu "
		    "parameters, %zu given", want, nargs);
		return DB_ERROR;
	}

	if (nargs > 0) {
		bind = xcalloc(nargs, sizeof(*bind));
		lens = xcalloc(nargs, sizeof(*lens));
		ints = xcalloc(nargs, sizeof(*ints));
		dbls = xcalloc(nargs, sizeof(*dbls));
		for (i = 0; i < nargs; i++) {
			switch (args[i].type) {
			case DB_T_NULL:
				bind[i].buffer_type = MYSQL_TYPE_NULL;
				break;
			case DB_T_INT:
				ints[i] = args[i].i;
				bind[i].buffer_type = MYSQL_TYPE_LONGLONG;
				bind[i].buffer = &ints[i];
				break;
			case DB_T_DOUBLE:
				dbls[i] = args[i].d;
				bind[i].buffer_type = MYSQL_TYPE_DOUBLE;
				bind[i].buffer = &dbls[i];
				break;
			case DB_T_TEXT:
			case DB_T_BLOB:
				if (args[i].n > ULONG_MAX) {
					snprintf(db->err, sizeof(db->err),
					    "parameter %zu too long", i + 1);
					goto out;
				}
				bind[i].buffer_type = args[i].type == DB_T_TEXT ?
				    MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
				/* The library only reads input buffers. */
				bind[i].buffer = (void *)(args[i].p != NULL ?
				    args[i].p : "");
				lens[i] = args[i].n;
				bind[i].buffer_length = lens[i];
				bind[i].length = &lens[i];
				break;
			default:
				snprintf(db->err, sizeof(db->err),
				    "parameter %zu has an unknown type", i + 1);
				goto out;
			}
		}
		if (mysql_stmt_bind_param(stmt, bind) != 0) {
			rc = stmt_fail(db, stmt, "bind");
			goto out;
		}
	}

	if (mysql_stmt_execute(stmt) != 0) {
		rc = stmt_fail(db, stmt, "execute");
		goto out;
	}
	rc = DB_OK;
out:
	free(bind);
	free(lens);
	free(ints);
	free(dbls);
	return rc;
}

/*
 * A column that did not fit its buffer, fetched again whole as text. For
 * strings, hint is its full length; for numbers converted to text the
 * library reports only what it copied, hence the loop. Returns the new
 * NUL-terminated cell (length in *len), or NULL on a library error.
 */
static char *
refetch(struct db *db, MYSQL_STMT *stmt, size_t col, unsigned long hint,
    unsigned long *len)
{
	MYSQL_BIND	 one;
	my_bool		 trunc;
	char		*cell = NULL;
	unsigned long	 cap = hint < 255 ? 256 : hint + 1;

	for (;;) {
		cell = xrealloc(cell, cap);
		memset(&one, 0, sizeof(one));
		trunc = 0;
		*len = 0;
		one.buffer_type = MYSQL_TYPE_STRING;
		one.buffer = cell;
		one.buffer_length = cap;
		one.length = len;
		one.error = &trunc;
		if (mysql_stmt_fetch_column(stmt, &one, (unsigned int)col,
		    0) != 0) {
			free(cell);
			return NULL;
		}
		if (!trunc && *len < cap)
			break;
		if (cap > ULONG_MAX / 4) {
			free(cell);
			snprintf(db->err, sizeof(db->err), "column too large");
			return NULL;
		}
		cap = *len >= cap ? *len + 1 : cap * 2;
	}
	cell[*len] = '\0';
	return cell;
}

/* The cells of a result being fetched: one growing block, offsets. */
struct arena {
	char		*p;
	size_t		 len, cap;
};

/*
 * Append n bytes and a NUL to a; returns the offset of the copy.
 * NOTE: one block per result instead of one allocation per cell: a page of
 * rows is hundreds of cells, and their malloc and free were the largest
 * cost of a read in the responders after the database itself.
 */
static size_t
arena_add(struct arena *a, const char *s, size_t n)
{
	size_t	 at = a->len;

	if (a->cap - a->len < n + 1) {
		while (a->cap - a->len < n + 1)
			a->cap = a->cap == 0 ? 4096 : a->cap * 2;
		a->p = xrealloc(a->p, a->cap);
	}
	memcpy(a->p + at, s, n);
	a->p[at + n] = '\0';
	a->len += n + 1;
	return at;
}

/*
 * Fetch the whole stored result of stmt into a new struct db_res, every
 * column as text, the cells in one block (res->arena). Returns an enum
 * db_rc; *out is set on DB_OK.
 */
static int
fetch(struct db *db, MYSQL_STMT *stmt, struct db_res **out)
{
	struct db_res	*res = NULL;
	MYSQL_RES	*meta = NULL;
	MYSQL_FIELD	*fields;
	MYSQL_BIND	*bind = NULL;
	unsigned long	*lens = NULL;
	my_bool		*nulls = NULL, *errs = NULL;
	char		**bufs = NULL;
	struct arena	 arena = { NULL, 0, 0 };
	size_t		*offs = NULL;
	size_t		 ncols = 0, nrows, row, col, cap, at;
	int		 rc = DB_ERROR, frc;

	res = xcalloc(1, sizeof(*res));
	if ((meta = mysql_stmt_result_metadata(stmt)) == NULL) {
		/* A statement without a result set: an empty result. */
		*out = res;
		return DB_OK;
	}

	if (mysql_stmt_store_result(stmt) != 0) {
		rc = stmt_fail(db, stmt, "store result");
		goto out;
	}

	ncols = mysql_num_fields(meta);
	fields = mysql_fetch_fields(meta);
	nrows = (size_t)mysql_stmt_num_rows(stmt);
	res->ncols = ncols;

	bind = xcalloc(ncols, sizeof(*bind));
	lens = xcalloc(ncols, sizeof(*lens));
	nulls = xcalloc(ncols, sizeof(*nulls));
	errs = xcalloc(ncols, sizeof(*errs));
	bufs = xcalloc(ncols, sizeof(*bufs));
	for (col = 0; col < ncols; col++) {
		cap = fields[col].max_length;
		if (cap < MIN_COLUMN_BUF)
			cap = MIN_COLUMN_BUF;
		bufs[col] = xmalloc(cap + 1);
		bind[col].buffer_type = MYSQL_TYPE_STRING;
		bind[col].buffer = bufs[col];
		bind[col].buffer_length = cap + 1;
		bind[col].length = &lens[col];
		bind[col].is_null = &nulls[col];
		bind[col].error = &errs[col];
	}
	if (ncols > 0 && mysql_stmt_bind_result(stmt, bind) != 0) {
		rc = stmt_fail(db, stmt, "bind result");
		goto out;
	}

	if (nrows > 0 && ncols > 0) {
		res->cells = xcalloc(nrows * ncols, sizeof(*res->cells));
		res->lens = xcalloc(nrows * ncols, sizeof(*res->lens));
		offs = xcalloc(nrows * ncols, sizeof(*offs));
	}
	res->nrows = nrows;

	for (row = 0; ; row++) {
		frc = mysql_stmt_fetch(stmt);
		if (frc == MYSQL_NO_DATA)
			break;
		if (frc == 1) {
			rc = stmt_fail(db, stmt, "fetch");
			goto out;
		}
		if (row >= nrows) {
			snprintf(db->err, sizeof(db->err),
			    "fetch: more rows than stored");
			goto out;
		}
		for (col = 0; col < ncols; col++) {
			char	*cell;

			at = row * ncols + col;
			offs[at] = SIZE_MAX;	/* NULL */
			if (nulls[col])
				continue;
			if (!errs[col] && lens[col] < bind[col].buffer_length)
				offs[at] = arena_add(&arena, bufs[col],
				    lens[col]);
			else {
				if ((cell = refetch(db, stmt, col, lens[col],
				    &lens[col])) == NULL) {
					rc = stmt_fail(db, stmt,
					    "fetch column");
					goto out;
				}
				offs[at] = arena_add(&arena, cell, lens[col]);
				free(cell);
			}
			res->lens[at] = lens[col];
		}
	}
	if (row != nrows) {
		snprintf(db->err, sizeof(db->err),
		    "fetch: fewer rows than stored");
		goto out;
	}
	/* The block is final: offsets become pointers. */
	for (at = 0; at < nrows * ncols; at++)
		res->cells[at] = offs[at] == SIZE_MAX ? NULL :
		    arena.p + offs[at];
	res->arena = arena.p;
	arena.p = NULL;

	*out = res;
	res = NULL;
	rc = DB_OK;
out:
	if (bufs != NULL)
		for (col = 0; col < ncols; col++)
			free(bufs[col]);
	free(bufs);
	free(arena.p);
	free(offs);
	free(bind);
	free(lens);
	free(nulls);
	free(errs);
	if (meta != NULL)
		mysql_free_result(meta);
	mysql_stmt_free_result(stmt);
	db_res_free(res);
	return rc;
}

/*
 * Whether the idle connection was closed by the server: between two
 * statements nothing is due from it, so a readable socket means a close
 * or a final error packet (shutdown, KILL). One poll(2), no round trip.
 */
static int
stale(struct db *db)
{
	struct pollfd	 pfd;

	pfd.fd = (int)mysql_get_socket(db->my);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (pfd.fd < 0)
		return 1;
	return poll(&pfd, 1, 0) > 0;
}

/*
 * One attempt at a statement: connect if needed, prepare (cached), execute,
 * and either fetch the rows (out != NULL) or discard any. A DB_GONE failure
 * drops the connection. *was_open tells whether the connection existed
 * before this attempt (only then is a retry worth it).
 */
static int
attempt(struct db *db, const char *sql, const struct db_param *args,
    size_t nargs, struct db_res **out, unsigned long long *affected,
    unsigned long long *insert_id, int *was_open)
{
	MYSQL_STMT	*stmt = NULL;
	struct db_res	*res = NULL;
	int		 rc;

	if (db->my != NULL && !db->in_tx && stale(db)) {
		log_warn("database connection closed by the server, "
		    "reconnecting");
		disconnect(db);
	}
	*was_open = db->my != NULL;
	if (db->my == NULL) {
		if (db->in_tx) {
			/* The transaction died with its connection. */
			snprintf(db->err, sizeof(db->err), "connection lost "
			    "inside a transaction");
			return DB_GONE;
		}
		if ((rc = db_connect(db)) != DB_OK)
			return rc;
	}

	if ((rc = prepare(db, sql, &stmt)) != DB_OK)
		goto out;
	/*
	 * NOTE: a write lost during execute may have been applied by the
	 * server: only a statement that returns rows (a read) is worth a
	 * retry from here on.
	 */
	if (out == NULL)
		*was_open = 0;
	if ((rc = execute(db, stmt, args, nargs)) != DB_OK)
		goto out;
	if (affected != NULL)
		*affected = mysql_stmt_affected_rows(stmt);
	if (insert_id != NULL)
		*insert_id = mysql_stmt_insert_id(stmt);
	if ((rc = fetch(db, stmt, &res)) != DB_OK)
		goto out;
	if (out != NULL) {
		*out = res;
		res = NULL;
	}
out:
	db_res_free(res);
	if (rc == DB_GONE)
		disconnect(db);
	return rc;
}

/*
 * Run a statement with the transparent retry: a statement that found the
 * server gone on a connection made earlier, outside a transaction, is run
 * once more on a new connection, unless it is a write that may already
 * have reached the server (see attempt()).
 */
static int
run(struct db *db, const char *sql, const struct db_param *args,
    size_t nargs, struct db_res **out, unsigned long long *affected,
    unsigned long long *insert_id)
{
	int	 rc, was_open;

	if (out != NULL)
		*out = NULL;
	rc = attempt(db, sql, args, nargs, out, affected, insert_id,
	    &was_open);
	if (rc == DB_GONE && was_open && !db->in_tx) {
		log_warn("database connection lost (%s), reconnecting",
		    db->err);
		rc = attempt(db, sql, args, nargs, out, affected, insert_id,
		    &was_open);
	}
	return rc;
}

/*
 * See db.h.
 */
int
db_exec(struct db *db, const char *sql, const struct db_param *args,
    size_t nargs, unsigned long long *affected, unsigned long long *insert_id)
{
	return run(db, sql, args, nargs, NULL, affected, insert_id);
}

/*
 * See db.h. *out is NULL unless DB_OK is returned.
 */
int
db_query(struct db *db, const char *sql, const struct db_param *args,
    size_t nargs, struct db_res **out)
{
	return run(db, sql, args, nargs, out, NULL, NULL);
}

/*
 * Open a transaction. Starting one may reconnect (nothing is lost yet).
 * Returns an enum db_rc; nested transactions are a bug (DB_ERROR).
 */
int
db_begin(struct db *db)
{
	int	 rc;

	if (db->in_tx) {
		snprintf(db->err, sizeof(db->err), "transaction already open");
		return DB_ERROR;
	}
	if ((rc = run(db, "START TRANSACTION", DB_NOARGS, NULL, NULL, NULL))
	    == DB_OK)
		db->in_tx = 1;
	return rc;
}

/*
 * Commit the open transaction. On failure the transaction is rolled back
 * (or was lost with the connection); either way it is over. Returns an
 * enum db_rc: DB_RETRY means redo the whole transaction.
 */
int
db_commit(struct db *db)
{
	int	 rc;

	if (!db->in_tx) {
		snprintf(db->err, sizeof(db->err), "no transaction open");
		return DB_ERROR;
	}
	rc = run(db, "COMMIT", DB_NOARGS, NULL, NULL, NULL);
	if (rc != DB_OK)
		db_rollback(db);
	db->in_tx = 0;
	return rc;
}

/* See db.h. */
int
db_transaction(struct db *db, int attempts, int (*fn)(struct db *, void *),
    void *arg)
{
	int	 rc = DB_ERROR, attempt;

	for (attempt = 1; attempt <= attempts; attempt++) {
		if ((rc = db_begin(db)) != DB_OK)
			return rc;
		if ((rc = fn(db, arg)) == DB_OK)
			rc = db_commit(db);	/* rolls back when it fails */
		else
			db_rollback(db);
		if (rc != DB_RETRY)
			break;
		log_warn("transaction met a deadlock (attempt %d of %d)%s",
		    attempt, attempts, attempt < attempts ? ": redone" : "");
	}
	return rc;
}

/*
 * See db.h. Errors are ignored: a rollback that cannot reach the server
 * has nothing left to undo (the server drops the transaction with the
 * connection).
 */
void
db_rollback(struct db *db)
{
	char	 saved[sizeof(db->err)];

	if (db->in_tx && db->my != NULL) {
		/* Keep the error that made the caller roll back. */
		memcpy(saved, db->err, sizeof(saved));
		(void)run(db, "ROLLBACK", DB_NOARGS, NULL, NULL, NULL);
		memcpy(db->err, saved, sizeof(saved));
	}
	db->in_tx = 0;
}

/* Whether a transaction is open (also after its connection was lost). */
int
db_in_transaction(const struct db *db)
{
	return db->in_tx;
}

/*
 * See db.h. The text is owned by the handle and valid until the next call.
 */
const char *
db_error(const struct db *db)
{
	return db->err[0] != '\0' ? db->err : "no error";
}

/* The cell's text, NUL-terminated; NULL for SQL NULL. Owned by r. */
const char *
db_res_str(const struct db_res *r, size_t row, size_t col)
{
	return r->cells[row * r->ncols + col];
}

/* The cell's length in bytes; 0 for SQL NULL. */
unsigned long
db_res_len(const struct db_res *r, size_t row, size_t col)
{
	return r->cells[row * r->ncols + col] == NULL ? 0 :
	    r->lens[row * r->ncols + col];
}

/*
 * The cell as a whole decimal number; SQL NULL and text that is not one
 * (a bug in the query) give 0.
 */
long long
db_res_int(const struct db_res *r, size_t row, size_t col)
{
	const char	*s = db_res_str(r, row, col);
	char		*end;
	long long	 v;

	if (s == NULL)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s)
		return 0;
	return v;
}

/* The cell as a number; SQL NULL and malformed text give 0. */
double
db_res_dbl(const struct db_res *r, size_t row, size_t col)
{
	const char	*s = db_res_str(r, row, col);
	char		*end;
	double		 v;

	if (s == NULL)
		return 0;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s)
		return 0;
	return v;
}

/* Whether the cell is SQL NULL. */
int
db_res_isnull(const struct db_res *r, size_t row, size_t col)
{
	return db_res_str(r, row, col) == NULL;
}

/* Free a result and every cell; NULL is allowed. */
void
db_res_free(struct db_res *r)
{
	if (r == NULL)
		return;
	free(r->arena);
	free(r->cells);
	free(r->lens);
	free(r);
}

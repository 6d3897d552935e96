/*
 * dataset.c: data sets, pilots and shard membership (DESIGN "Data sets and
 * shards"); prepared statements through db.h only.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "dataset.h"
#include "db.h"
#include "log.h"
#include "util.h"

/* Transactions redone at most this often after a deadlock. */
#define TX_ATTEMPTS	5

/* Job states after which a job needs its data no more. */
#define NOT_FINAL	"status NOT IN ('COMPLETED', 'ERRORED', 'CANCELED')"

/*
 * See dataset.h.
 */
int
dataset_name_valid(const char *s, size_t n)
{
	size_t	 i, dots = 0;

	if (s == NULL || n == 0 || n > DATASET_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		    c == '-'))
			return 0;
		dots += c == '.';
	}
	/*
	 * NOTE: "." and ".." fit the grammar but no URL can name them: clients
	 * and web servers remove dot segments from paths.
	 */
	return dots < n;
}

/*
 * See dataset.h.
 */
int
dataset_ref_parse(const char *s, size_t n, char uuid[UUID_STR_LEN + 1])
{
	char	 buf[UUID_STR_LEN + 1];
	int	 kind = 0;

	uuid[0] = '\0';
	if (n == UUID_STR_LEN) {
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (util_uuid_parse(buf, uuid) == 0)
			kind |= DATASET_REF_UUID;
	}
	if (dataset_name_valid(s, n))
		kind |= DATASET_REF_NAME;
	return kind;
}

/*
 * See dataset.h.
 */
int
dataset_shard_id_parse(const char *s, size_t n, char out[DATASET_SHA_HEX + 1])
{
	size_t	 i;

	out[0] = '\0';
	if (s == NULL || n != DATASET_SHA_HEX)
		return -1;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			out[0] = '\0';
			return -1;
		}
		out[i] = c;
	}
	out[n] = '\0';
	return 0;
}

/* Copy at most cap - 1 bytes of a cell (NULL: "") and terminate. */
static void
cell_copy(char *dst, size_t cap, const struct db_res *r, size_t row,
    size_t col)
{
	const char	*s = db_res_str(r, row, col);
	size_t		 n = s != NULL ? db_res_len(r, row, col) : 0;

	if (n >= cap)
		n = cap - 1;
	if (n > 0)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

/* The work of dataset_create(), for db_transaction(). */
struct create_args {
	long long	 account_id;
	const char	*name;
	unsigned	 pilot_count;
	struct dataset	*out;
	char		(*ids)[UUID_STR_LEN + 1];
	unsigned long long set_id;
	struct db_res	*res;		/* created_at */
};

/* One attempt of dataset_create() inside an open transaction. */
static int
create_tx(struct db *db, void *p)
{
	struct create_args	*a = p;
	unsigned		 i;
	int			 rc;

	db_res_free(a->res);
	a->res = NULL;
	util_uuid(a->out->uuid);
	rc = db_exec(db, "INSERT INTO datasets (uuid, account_id, name) "
	    "VALUES (?, ?, ?)", DB_ARGS(DB_STR(a->out->uuid),
	    DB_INT(a->account_id), DB_STR(a->name)), NULL, &a->set_id);
	for (i = 0; rc == DB_OK && i < a->pilot_count; i++) {
		util_uuid(a->ids[i]);
		rc = db_exec(db, "INSERT INTO datasets (uuid, account_id, "
		    "parent_id, pilot_index) VALUES (?, ?, ?, ?)",
		    DB_ARGS(DB_STR(a->ids[i]), DB_INT(a->account_id),
		    DB_INT(a->set_id), DB_INT(i)), NULL, NULL);
	}
	if (rc == DB_OK)
		rc = db_query(db, "SELECT created_at FROM datasets WHERE id = ?",
		    DB_ARGS(DB_INT(a->set_id)), &a->res);
	return rc;
}

/*
 * See dataset.h. The pilots are numbered 0..pilot_count-1 in pilot_index,
 * which fixes the order of pilot_ids in every answer.
 */
int
dataset_create(struct db *db, long long account_id, const char *name,
    unsigned pilot_count, struct dataset *out,
    char (**pilots)[UUID_STR_LEN + 1])
{
	struct create_args	 a;
	int			 rc;

	*pilots = NULL;
	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	a.account_id = account_id;
	a.name = name;
	a.pilot_count = pilot_count;
	a.out = out;
	a.ids = xcalloc(pilot_count > 0 ? pilot_count : 1, sizeof(*a.ids));
	rc = db_transaction(db, TX_ATTEMPTS, create_tx, &a);
	if (rc == DB_DUPLICATE)
		rc = DATASET_NAME_TAKEN;
	if (rc != DB_OK) {
		db_res_free(a.res);
		free(a.ids);
		return rc;
	}
	out->id = (long long)a.set_id;
	snprintf(out->name, sizeof(out->name), "%s", name);
	if (a.res != NULL && a.res->nrows == 1)
		util_db_time_to_iso(db_res_str(a.res, 0, 0), out->created_at);
	db_res_free(a.res);
	*pilots = a.ids;
	return DB_OK;
}

/* Columns of a dataset row, for fill_dataset(). */
#define DATASET_COLS \
	"d.id, d.parent_id, d.uuid, p.uuid, COALESCE(d.name, p.name), " \
	"d.created_at, d.pilot_index"

/* Fill *d from row of a DATASET_COLS result. */
static void
fill_dataset(struct dataset *d, const struct db_res *r, size_t row)
{

	memset(d, 0, sizeof(*d));
	d->id = db_res_int(r, row, 0);
	d->parent_id = db_res_int(r, row, 1);
	cell_copy(d->uuid, sizeof(d->uuid), r, row, 2);
	cell_copy(d->parent_uuid, sizeof(d->parent_uuid), r, row, 3);
	cell_copy(d->name, sizeof(d->name), r, row, 4);
	util_db_time_to_iso(db_res_str(r, row, 5), d->created_at);
	d->pilot_index = (unsigned)db_res_int(r, row, 6);
}

/*
 * See dataset.h. A UUID-shaped reference is looked up as a UUID first and
 * then as a name (a name may look like a UUID).
 */
int
dataset_resolve(struct db *db, long long account_id, const char *ref,
    struct dataset *out)
{
	char		 uuid[UUID_STR_LEN + 1];
	struct db_res	*res = NULL;
	int		 kind, rc;

	memset(out, 0, sizeof(*out));
	kind = dataset_ref_parse(ref, strlen(ref), uuid);
	if (kind & DATASET_REF_UUID) {
		rc = db_query(db, "SELECT " DATASET_COLS " FROM datasets d "
		    "LEFT JOIN datasets p ON p.id = d.parent_id "
		    "WHERE d.account_id = ? AND d.uuid = ?",
		    DB_ARGS(DB_INT(account_id), DB_STR(uuid)), &res);
		if (rc != DB_OK)
			return rc;
		if (res->nrows == 1) {
			fill_dataset(out, res, 0);
			db_res_free(res);
			return DB_OK;
		}
		db_res_free(res);
		res = NULL;
	}
	if (!(kind & DATASET_REF_NAME))
		return DATASET_NOT_FOUND;
	rc = db_query(db, "SELECT " DATASET_COLS " FROM datasets d "
	    "LEFT JOIN datasets p ON p.id = d.parent_id "
	    "WHERE d.account_id = ? AND d.name = ? AND d.parent_id IS NULL",
	    DB_ARGS(DB_INT(account_id), DB_STR(ref)), &res);
	if (rc != DB_OK)
		return rc;
	rc = DATASET_NOT_FOUND;
	if (res->nrows == 1) {
		fill_dataset(out, res, 0);
		rc = DB_OK;
	}
	db_res_free(res);
	return rc;
}

/*
 * See dataset.h.
 */
int
dataset_stats(struct db *db, struct dataset *d)
{
	struct db_res	*res = NULL;
	int		 rc;

	rc = db_query(db, "SELECT COUNT(*), COALESCE(SUM(s.size), 0) "
	    "FROM dataset_shards ds JOIN shards s ON s.id = ds.shard_id "
	    "WHERE ds.dataset_id = ?", DB_ARGS(DB_INT(d->id)), &res);
	if (rc != DB_OK)
		return rc;
	d->shard_count = res->nrows == 1 ? db_res_int(res, 0, 0) : 0;
	d->bytes = res->nrows == 1 ? db_res_int(res, 0, 1) : 0;
	db_res_free(res);
	return DB_OK;
}

/* Per-pilot statistics, selected by the caller's WHERE clause. */
#define PILOT_STATS(where) \
	"SELECT d.parent_id, d.uuid, COUNT(s.id), COALESCE(SUM(s.size), 0) " \
	"FROM datasets d " \
	"LEFT JOIN dataset_shards ds ON ds.dataset_id = d.id " \
	"LEFT JOIN shards s ON s.id = ds.shard_id " \
	"WHERE " where " " \
	"GROUP BY d.id, d.parent_id, d.uuid, d.pilot_index " \
	"ORDER BY d.parent_id, d.pilot_index"

/* Fill pilot rows [from, to) of res into i->pilots. */
static void
fill_pilots(struct dataset_info *i, const struct db_res *res, size_t from,
    size_t to)
{
	size_t	 k;

	i->npilots = to - from;
	i->pilots = xcalloc(i->npilots > 0 ? i->npilots : 1,
	    sizeof(*i->pilots));
	for (k = from; k < to; k++) {
		struct dataset_pilot *p = &i->pilots[k - from];

		cell_copy(p->uuid, sizeof(p->uuid), res, k, 1);
		p->shard_count = db_res_int(res, k, 2);
		p->bytes = db_res_int(res, k, 3);
	}
}

/*
 * See dataset.h.
 */
int
dataset_info(struct db *db, const struct dataset *set,
    struct dataset_info *out)
{
	struct db_res	*res = NULL;
	int		 rc;

	memset(out, 0, sizeof(*out));
	out->set = *set;
	if ((rc = dataset_stats(db, &out->set)) != DB_OK)
		return rc;
	rc = db_query(db, PILOT_STATS("d.parent_id = ?"),
	    DB_ARGS(DB_INT(set->id)), &res);
	if (rc != DB_OK)
		return rc;
	fill_pilots(out, res, 0, res->nrows);
	db_res_free(res);
	return DB_OK;
}

/*
 * See dataset.h. Two statements whatever the number of sets: the sets with
 * their statistics, then every pilot of the account ordered by set.
 */
int
dataset_list(struct db *db, long long account_id, struct dataset_info **out,
    size_t *n)
{
	struct db_res		*sets = NULL, *pil = NULL;
	struct dataset_info	*list = NULL;
	size_t			 i, k, from;
	int			 rc;

	*out = NULL;
	*n = 0;
	rc = db_query(db, "SELECT " DATASET_COLS ", COUNT(s.id), "
	    "COALESCE(SUM(s.size), 0) FROM datasets d "
	    "LEFT JOIN datasets p ON p.id = d.parent_id "
	    "LEFT JOIN dataset_shards ds ON ds.dataset_id = d.id "
	    "LEFT JOIN shards s ON s.id = ds.shard_id "
	    "WHERE d.account_id = ? AND d.parent_id IS NULL "
	    "GROUP BY d.id ORDER BY d.id DESC",
	    DB_ARGS(DB_INT(account_id)), &sets);
	if (rc != DB_OK)
		goto out;
	rc = db_query(db, PILOT_STATS("d.account_id = ? AND "
	    "d.parent_id IS NOT NULL"), DB_ARGS(DB_INT(account_id)), &pil);
	if (rc != DB_OK)
		goto out;
	list = xcalloc(sets->nrows > 0 ? sets->nrows : 1, sizeof(*list));
	for (i = 0; i < sets->nrows; i++) {
		fill_dataset(&list[i].set, sets, i);
		list[i].set.shard_count = db_res_int(sets, i, 7);
		list[i].set.bytes = db_res_int(sets, i, 8);
		/* pilots are ordered by parent id: find this set's run */
		for (from = 0; from < pil->nrows &&
		    db_res_int(pil, from, 0) != list[i].set.id; from++)
			continue;
		for (k = from; k < pil->nrows &&
		    db_res_int(pil, k, 0) == list[i].set.id; k++)
			continue;
		fill_pilots(&list[i], pil, from, k);
	}
	*out = list;
	*n = sets->nrows;
out:
	db_res_free(sets);
	db_res_free(pil);
	return rc;
}

/*
 * See dataset.h.
 */
void
dataset_info_free(struct dataset_info *i)
{

	if (i == NULL)
		return;
	free(i->pilots);
	i->pilots = NULL;
	i->npilots = 0;
}

/*
 * See dataset.h.
 */
void
dataset_info_list_free(struct dataset_info *list, size_t n)
{
	size_t	 i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		dataset_info_free(&list[i]);
	free(list);
}

/* A uniformly chosen index below n (n > 0) from the OpenSSL CSPRNG. */
static size_t
random_below(size_t n)
{
	uint32_t	 v = 0;

	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		v = (uint32_t)rand();
	return (size_t)(v % (uint32_t)n);
}

/*
 * Lock the rows of a set and all its pilots (in id order, the set first)
 * for the rest of the transaction. Returns DB_OK, DATASET_NOT_FOUND when the
 * set is gone, or a db error.
 */
static int
lock_set(struct db *db, long long set_id)
{
	struct db_res	*res = NULL;
	int		 rc;

	rc = db_query(db, "SELECT id FROM datasets WHERE id = ? OR "
	    "parent_id = ? ORDER BY id FOR UPDATE",
	    DB_ARGS(DB_INT(set_id), DB_INT(set_id)), &res);
	if (rc != DB_OK)
		return rc;
	rc = res->nrows > 0 && db_res_int(res, 0, 0) == set_id ?
	    DB_OK : DATASET_NOT_FOUND;
	db_res_free(res);
	return rc;
}

/*
 * One attempt of dataset_add_shard() inside an open transaction; the
 * caller commits or rolls back.
 */
static int
add_shard_tx(struct db *db, const struct dataset *target, const char *sha256,
    unsigned long long size, int (*commit)(void *), void *arg,
    struct dataset_added *out)
{
	struct db_res	*res = NULL;
	long long	 set_id, shard_id, pilot_id = 0;
	long long	 min = -1;
	size_t		 i, nmin = 0, pick;
	int		 rc;

	set_id = target->parent_id != 0 ? target->parent_id : target->id;
	if ((rc = lock_set(db, set_id)) != DB_OK)
		return rc;

	/* The shards row: inserted, or the existing one locked. */
	rc = db_exec(db, "INSERT INTO shards (sha256, size) VALUES (?, ?) "
	    "ON DUPLICATE KEY UPDATE size = size",
	    DB_ARGS(DB_STR(sha256), DB_INT(size)), NULL, NULL);
	if (rc != DB_OK)
		return rc;
	rc = db_query(db, "SELECT id FROM shards WHERE sha256 = ? FOR UPDATE",
	    DB_ARGS(DB_STR(sha256)), &res);
	if (rc != DB_OK)
		return rc;
	if (res->nrows != 1) {
		db_res_free(res);
		return DB_ERROR;
	}
	shard_id = db_res_int(res, 0, 0);
	db_res_free(res);
	res = NULL;

	if ((out->commit_rc = commit(arg)) != 0)
		return DATASET_COMMIT_FAILED;

	/* Already a member: say so, and which pilot holds it. */
	rc = db_query(db, "SELECT d.id, d.parent_id, d.uuid "
	    "FROM dataset_shards ds JOIN datasets d ON d.id = ds.dataset_id "
	    "WHERE ds.shard_id = ? AND (d.id = ? OR d.parent_id = ?)",
	    DB_ARGS(DB_INT(shard_id), DB_INT(set_id), DB_INT(set_id)), &res);
	if (rc != DB_OK)
		return rc;
	for (i = 0; i < res->nrows; i++) {
		if (db_res_int(res, i, 0) == set_id)
			out->created = -1;	/* the set has it */
		else
			cell_copy(out->pilot_uuid, sizeof(out->pilot_uuid),
			    res, i, 2);
	}
	db_res_free(res);
	res = NULL;
	if (out->created == -1) {
		out->created = 0;
		return DB_OK;
	}
	out->pilot_uuid[0] = '\0';

	/* Choose the pilot: the given one, or one of the least filled. */
	if (target->parent_id != 0) {
		pilot_id = target->id;
		snprintf(out->pilot_uuid, sizeof(out->pilot_uuid), "%s",
		    target->uuid);
	} else {
		rc = db_query(db, "SELECT d.id, d.uuid, COUNT(ds.shard_id) "
		    "FROM datasets d LEFT JOIN dataset_shards ds "
		    "ON ds.dataset_id = d.id WHERE d.parent_id = ? "
		    "GROUP BY d.id, d.uuid", DB_ARGS(DB_INT(set_id)), &res);
		if (rc != DB_OK)
			return rc;
		for (i = 0; i < res->nrows; i++) {
			long long c = db_res_int(res, i, 2);

			if (min < 0 || c < min) {
				min = c;
				nmin = 0;
			}
			if (c == min)
				nmin++;
		}
		if (nmin > 0) {
			pick = random_below(nmin);
			for (i = 0; i < res->nrows; i++) {
				if (db_res_int(res, i, 2) != min)
					continue;
				if (pick-- == 0) {
					pilot_id = db_res_int(res, i, 0);
					cell_copy(out->pilot_uuid,
					    sizeof(out->pilot_uuid), res, i, 1);
					break;
				}
			}
		}
		db_res_free(res);
		res = NULL;
	}

	rc = db_exec(db, "INSERT INTO dataset_shards (dataset_id, shard_id) "
	    "VALUES (?, ?)", DB_ARGS(DB_INT(set_id), DB_INT(shard_id)),
	    NULL, NULL);
	if (rc == DB_OK && pilot_id != 0)
		rc = db_exec(db, "INSERT INTO dataset_shards (dataset_id, "
		    "shard_id) VALUES (?, ?)",
		    DB_ARGS(DB_INT(pilot_id), DB_INT(shard_id)), NULL, NULL);
	if (rc == DB_OK)
		out->created = 1;
	return rc;
}

/* The arguments of add_shard_tx(), for db_transaction(). */
struct add_shard_args {
	const struct dataset	*target;
	const char		*sha256;
	unsigned long long	 size;
	int			(*commit)(void *);
	void			*arg;
	struct dataset_added	*out;
};

static int
add_shard_once(struct db *db, void *p)
{
	struct add_shard_args	*a = p;

	memset(a->out, 0, sizeof(*a->out));
	return add_shard_tx(db, a->target, a->sha256, a->size, a->commit,
	    a->arg, a->out);
}

/*
 * See dataset.h.
 */
int
dataset_add_shard(struct db *db, const struct dataset *target,
    const char *sha256, unsigned long long size, int (*commit)(void *),
    void *arg, struct dataset_added *out)
{
	struct add_shard_args	 a = { target, sha256, size, commit, arg, out };

	return db_transaction(db, TX_ATTEMPTS, add_shard_once, &a);
}

/*
 * DB_OK when no job that is not final uses set_id or one of its pilots,
 * DATASET_IN_USE when one does, or a db error. Run with the set locked.
 */
static int
check_unused(struct db *db, long long set_id)
{
	struct db_res	*res = NULL;
	int		 rc;

	rc = db_query(db, "SELECT COUNT(*) FROM jobs WHERE " NOT_FINAL " AND "
	    "dataset_id IN (SELECT id FROM datasets WHERE id = ? OR "
	    "parent_id = ?) LOCK IN SHARE MODE",
	    DB_ARGS(DB_INT(set_id), DB_INT(set_id)), &res);
	if (rc != DB_OK)
		return rc;
	rc = db_res_int(res, 0, 0) > 0 ? DATASET_IN_USE : DB_OK;
	db_res_free(res);
	return rc;
}

/* The arguments of remove_shard_tx(), for db_transaction(). */
struct remove_shard_args {
	long long	 set_id;
	const char	*sha256;
};

/* One attempt of dataset_remove_shard() inside an open transaction. */
static int
remove_shard_tx(struct db *db, void *p)
{
	const struct remove_shard_args *a = p;
	long long		 set_id = a->set_id;
	const char		*sha256 = a->sha256;
	unsigned long long	 affected = 0;
	int			 rc;

	if ((rc = lock_set(db, set_id)) != DB_OK)
		return rc;
	if ((rc = check_unused(db, set_id)) != DB_OK)
		return rc;
	rc = db_exec(db, "DELETE ds FROM dataset_shards ds "
	    "JOIN datasets d ON d.id = ds.dataset_id "
	    "JOIN shards s ON s.id = ds.shard_id "
	    "WHERE s.sha256 = ? AND (d.id = ? OR d.parent_id = ?)",
	    DB_ARGS(DB_STR(sha256), DB_INT(set_id), DB_INT(set_id)),
	    &affected, NULL);
	if (rc != DB_OK)
		return rc;
	return affected > 0 ? DB_OK : DATASET_NOT_FOUND;
}

/*
 * See dataset.h.
 */
int
dataset_remove_shard(struct db *db, const struct dataset *target,
    const char *sha256)
{
	struct remove_shard_args a;

	a.set_id = target->parent_id != 0 ? target->parent_id : target->id;
	a.sha256 = sha256;
	return db_transaction(db, TX_ATTEMPTS, remove_shard_tx, &a);
}

/* One attempt of dataset_delete() inside an open transaction; p is the
 * set's id (long long). */
static int
delete_tx(struct db *db, void *p)
{
	long long	 set_id = *(const long long *)p;
	int		 rc;

	if ((rc = lock_set(db, set_id)) != DB_OK)
		return rc;
	if ((rc = check_unused(db, set_id)) != DB_OK)
		return rc;
	/* Pilots and memberships go with it (ON DELETE CASCADE). */
	return db_exec(db, "DELETE FROM datasets WHERE id = ?",
	    DB_ARGS(DB_INT(set_id)), NULL, NULL);
}

/*
 * See dataset.h.
 */
int
dataset_delete(struct db *db, const struct dataset *set)
{
	long long	 id = set->id;

	if (set->parent_id != 0)
		return DATASET_IS_PILOT;
	return db_transaction(db, TX_ATTEMPTS, delete_tx, &id);
}

/*
 * See dataset.h.
 */
int
dataset_gc_unreferenced(struct db *db, char (**out)[DATASET_SHA_HEX + 1],
    size_t *n)
{
	struct db_res	*res = NULL;
	size_t		 i;
	int		 rc;

	*out = NULL;
	*n = 0;
	rc = db_query(db, "SELECT s.sha256 FROM shards s WHERE NOT EXISTS "
	    "(SELECT 1 FROM dataset_shards ds WHERE ds.shard_id = s.id) "
	    "ORDER BY s.id", DB_NOARGS, &res);
	if (rc != DB_OK)
		return rc;
	*out = xcalloc(res->nrows > 0 ? res->nrows : 1, sizeof(**out));
	for (i = 0; i < res->nrows; i++)
		cell_copy((*out)[i], sizeof((*out)[i]), res, i, 0);
	*n = res->nrows;
	db_res_free(res);
	return DB_OK;
}

/*
 * See dataset.h.
 */
int
dataset_shard_known(struct db *db, const char *sha256, int *known)
{
	struct db_res	*res = NULL;
	int		 rc;

	*known = 0;
	rc = db_query(db, "SELECT 1 FROM shards WHERE sha256 = ?",
	    DB_ARGS(DB_STR(sha256)), &res);
	if (rc != DB_OK)
		return rc;
	*known = res->nrows > 0;
	db_res_free(res);
	return DB_OK;
}

/* One attempt of dataset_gc_shard() inside an open transaction. */
static int
gc_shard_tx(struct db *db, const char *sha256,
    int (*remove)(void *, const char *), void *arg, int *removed)
{
	struct db_res	*res = NULL;
	long long	 shard_id = 0, members = 0;
	int		 rc;

	rc = db_query(db, "SELECT id FROM shards WHERE sha256 = ? FOR UPDATE",
	    DB_ARGS(DB_STR(sha256)), &res);
	if (rc != DB_OK)
		return rc;
	if (res->nrows == 1)
		shard_id = db_res_int(res, 0, 0);
	db_res_free(res);
	res = NULL;
	if (shard_id != 0) {
		rc = db_query(db, "SELECT COUNT(*) FROM dataset_shards "
		    "WHERE shard_id = ? LOCK IN SHARE MODE",
		    DB_ARGS(DB_INT(shard_id)), &res);
		if (rc != DB_OK)
			return rc;
		members = db_res_int(res, 0, 0);
		db_res_free(res);
		if (members > 0)
			return DB_OK;
	}
	if (remove(arg, sha256) != 0)
		return DATASET_COMMIT_FAILED;
	if (shard_id != 0 && (rc = db_exec(db, "DELETE FROM shards "
	    "WHERE id = ?", DB_ARGS(DB_INT(shard_id)), NULL, NULL)) != DB_OK)
		return rc;
	*removed = 1;
	return DB_OK;
}

/* The arguments of gc_shard_tx(), for db_transaction(). */
struct gc_shard_args {
	const char	*sha256;
	int		(*remove)(void *, const char *);
	void		*arg;
	int		*removed;
};

static int
gc_shard_once(struct db *db, void *p)
{
	struct gc_shard_args	*a = p;

	*a->removed = 0;
	return gc_shard_tx(db, a->sha256, a->remove, a->arg, a->removed);
}

/*
 * See dataset.h.
 */
int
dataset_gc_shard(struct db *db, const char *sha256,
    int (*remove)(void *, const char *), void *arg, int *removed)
{
	struct gc_shard_args	 a = { sha256, remove, arg, removed };

	return db_transaction(db, TX_ATTEMPTS, gc_shard_once, &a);
}

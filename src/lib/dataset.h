/*
 * dataset.h: data sets, their pilot sub-sets and shard membership
 * (DESIGN "Data sets and shards"), on the tables of sql/001_init.sql.
 *
 * A set has a name (1-128 of [A-Za-z0-9_.-], unique per account) and
 * pilot_count pilots (0..256), each with its own UUID and no name. A shard
 * of a set is a member of the set and of exactly one of its pilots (when it
 * has any), chosen at random among the pilots holding the fewest shards.
 *
 * Functions that touch the database return an enum db_rc (DB_OK or a
 * negative error) or one of the positive outcomes of enum dataset_rc.
 * Every lookup is scoped to the caller's account: another account's set is
 * DATASET_NOT_FOUND, exactly like a missing one.
 */
#ifndef ST_DATASET_H
#define ST_DATASET_H

#include <stddef.h>

#include "db.h"
#include "util.h"

#define DATASET_NAME_MAX	128
#define DATASET_PILOTS_MAX	256
#define DATASET_SHA_HEX		64

enum dataset_rc {
	DATASET_NOT_FOUND = 1,	/* no such set, shard or membership (404) */
	DATASET_NAME_TAKEN,	/* the account already has a set of that name */
	DATASET_IN_USE,		/* a job not yet final uses the set (409) */
	DATASET_IS_PILOT,	/* the operation needs a set, not a pilot */
	DATASET_COMMIT_FAILED,	/* the caller's commit callback failed */
};

/* What a {set} path segment may be; a bit mask. */
#define DATASET_REF_UUID	0x1	/* canonical UUID, either case */
#define DATASET_REF_NAME	0x2	/* valid set name */

struct dataset {
	long long	 id;
	long long	 parent_id;	/* 0 for a set, else the set of this pilot */
	char		 uuid[UUID_STR_LEN + 1];
	char		 parent_uuid[UUID_STR_LEN + 1];	/* pilots only */
	char		 name[DATASET_NAME_MAX + 1];	/* a pilot: its set's */
	char		 created_at[20];	/* API time format */
	unsigned	 pilot_index;	/* pilots: 0..pilot_count-1 */
	long long	 shard_count;	/* filled by dataset_stats() */
	long long	 bytes;
};

struct dataset_pilot {
	char		 uuid[UUID_STR_LEN + 1];
	long long	 shard_count;
	long long	 bytes;
};

/* A set with its statistics and pilots, as GET /data answers it. */
struct dataset_info {
	struct dataset		 set;
	struct dataset_pilot	*pilots;	/* owned */
	size_t			 npilots;
};

/* What dataset_add_shard() did. */
struct dataset_added {
	int		 created;	/* 1: the set did not have the shard */
	char		 pilot_uuid[UUID_STR_LEN + 1];	/* "" when none */
	int		 commit_rc;	/* the callback's code when it failed */
};

/*
 * 1 when s (n bytes) is a valid set name (1-128 of [A-Za-z0-9_.-], not
 * made only of dots, which no URL can name), else 0.
 */
int	dataset_name_valid(const char *s, size_t n);

/*
 * Classify a {set} path segment: a mask of DATASET_REF_UUID and
 * DATASET_REF_NAME (a UUID is also a valid name), 0 when it can be neither.
 * uuid receives the lowercase UUID when the UUID bit is set.
 */
int	dataset_ref_parse(const char *s, size_t n, char uuid[UUID_STR_LEN + 1]);

/*
 * Parse a {shard_id} path segment: 64 hex digits, either case; out receives
 * them lowercase. Returns 0, or -1 for anything else.
 */
int	dataset_shard_id_parse(const char *s, size_t n,
	    char out[DATASET_SHA_HEX + 1]);

/*
 * Create set name with pilot_count pilots for account, in one transaction.
 * On DB_OK *out is the new set and *pilots (caller frees) the pilots' UUIDs
 * in order. Returns DB_OK, DATASET_NAME_TAKEN or a db error.
 */
int	dataset_create(struct db *db, long long account_id, const char *name,
	    unsigned pilot_count, struct dataset *out,
	    char (**pilots)[UUID_STR_LEN + 1]);

/*
 * Resolve a {set} segment within account: a set or pilot by UUID, else a set
 * by name. Returns DB_OK (with *out filled), DATASET_NOT_FOUND or a db error.
 */
int	dataset_resolve(struct db *db, long long account_id, const char *ref,
	    struct dataset *out);

/*
 * Fill d->shard_count and d->bytes (a set or a pilot). Returns an enum db_rc.
 */
int	dataset_stats(struct db *db, struct dataset *d);

/*
 * A set's statistics and its pilots. set must be a set (not a pilot).
 * Release with dataset_info_free(). Returns an enum db_rc.
 */
int	dataset_info(struct db *db, const struct dataset *set,
	    struct dataset_info *out);

/*
 * All sets of account, newest first, each with its statistics and pilots.
 * *out (caller frees with dataset_info_list_free()) has *n entries.
 * Returns an enum db_rc.
 */
int	dataset_list(struct db *db, long long account_id,
	    struct dataset_info **out, size_t *n);

void	dataset_info_free(struct dataset_info *i);
void	dataset_info_list_free(struct dataset_info *list, size_t n);

/*
 * Add the shard sha256 (size bytes) to target: a set (the shard joins the
 * set and one of its pilots with the fewest shards, at random) or a pilot
 * (the shard joins that pilot and its set). One transaction, redone on a
 * deadlock:
 *
 *   1. lock the set's row (uploads to one set are serialised, so the pilots
 *      stay balanced);
 *   2. insert or lock the shards row of sha256;
 *   3. call commit(arg), which gives the shard file its final name: the
 *      locked row keeps `st-admin gc` from removing it meanwhile;
 *   4. add the memberships unless the set already has the shard.
 *
 * commit is called on every attempt and must be idempotent; it returns 0,
 * or a code of its own that is stored in out->commit_rc while this returns
 * DATASET_COMMIT_FAILED (nothing is changed in the database). Returns DB_OK,
 * DATASET_NOT_FOUND (the set vanished), DATASET_COMMIT_FAILED or a db error.
 */
int	dataset_add_shard(struct db *db, const struct dataset *target,
	    const char *sha256, unsigned long long size,
	    int (*commit)(void *), void *arg, struct dataset_added *out);

/*
 * Remove shard sha256 from a set (or a pilot's set) and from its pilot.
 * The file stays until `st-admin gc`. Returns DB_OK, DATASET_NOT_FOUND (the
 * set does not have it), DATASET_IN_USE (a job not yet final uses the set
 * or one of its pilots) or a db error.
 */
int	dataset_remove_shard(struct db *db, const struct dataset *target,
	    const char *sha256);

/*
 * Delete a set, its pilots and memberships (shard files stay until gc).
 * Returns DB_OK, DATASET_IS_PILOT, DATASET_NOT_FOUND (vanished meanwhile),
 * DATASET_IN_USE or a db error.
 */
int	dataset_delete(struct db *db, const struct dataset *set);

/*
 * Garbage collection (`st-admin gc`): the SHA-256 of every shards row no
 * set or pilot references, in *out (caller frees), *n entries. A job only
 * ever uses the shards of its set or pilot, and neither a set nor a shard of
 * it can be removed while a job that is not final uses the set, so a shard
 * without members is needed by no job. Returns an enum db_rc.
 */
int	dataset_gc_unreferenced(struct db *db,
	    char (**out)[DATASET_SHA_HEX + 1], size_t *n);

/*
 * 1 in *known when a shards row exists for sha256, else 0 (a plain read:
 * a hint for gc, rechecked under lock by dataset_gc_shard()).
 * Returns an enum db_rc.
 */
int	dataset_shard_known(struct db *db, const char *sha256, int *known);

/*
 * Remove shard sha256 if nothing references it, in one transaction: lock
 * its shards row (or, when there is none, the gap where an upload would
 * insert it), check that no set has it, call remove(arg, sha256) to delete
 * the file, then delete the row. An upload of the same shard waits for the
 * lock and then writes the file anew, so gc never removes a file a set
 * gains meanwhile. *removed is 1 when the shard was removed, 0 when kept.
 * Returns DB_OK, DATASET_COMMIT_FAILED (remove() failed; nothing changed)
 * or a db error.
 */
int	dataset_gc_shard(struct db *db, const char *sha256,
	    int (*remove)(void *, const char *), void *arg, int *removed);

#endif

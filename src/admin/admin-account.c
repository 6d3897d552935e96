/*
 * admin-account.c: `st-admin account ...` and `st-admin key ...`: accounts
 * and their API keys (secrets sealed with the configured key file).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "auth.h"
#include "db.h"
#include "seal.h"
#include "util.h"

/* See admin.h. */
void
admin_account_usage(FILE *f)
{
	fputs(
"usage: st-admin account add NAME\n"
"       st-admin account list\n"
"       st-admin account disable NAME\n"
"       st-admin account enable NAME\n"
"\n"
"NAME: 1 to 64 of A-Z a-z 0-9 _ . -. A disabled account's requests are\n"
"refused (401) until it is enabled again.\n", f);
}

/* See admin.h. */
void
admin_key_usage(FILE *f)
{
	fputs(
"usage: st-admin key create ACCOUNT\n"
"       st-admin key list [ACCOUNT]\n"
"       st-admin key revoke KEY\n"
"\n"
"`key create' prints two lines on standard output, \"api_key: KEY\" and\n"
"\"secret: SECRET\"; the secret is stored sealed and never shown again.\n", f);
}

/*
 * The id and disabled flag of account name. Returns 1 found, 0 not found,
 * -1 on a database error (reported).
 */
static int
account_find(struct admin *a, const char *name, long long *id, int *disabled)
{
	struct db_res	*r = NULL;
	int		 rc;

	if (db_query(a->db, "SELECT id, disabled FROM accounts WHERE name = ?",
	    DB_ARGS(DB_STR(name)), &r) != DB_OK) {
		admin_db_fail(a, "looking up the account");
		return -1;
	}
	rc = r->nrows > 0;
	if (rc) {
		*id = db_res_int(r, 0, 0);
		*disabled = db_res_int(r, 0, 1) != 0;
	}
	db_res_free(r);
	return rc;
}

/* account add NAME. A taken name is a failure (1), not a usage error. */
static int
account_add(struct admin *a, const char *name)
{
	int	 rc;

	if (admin_check_name(name) != 0)
		return admin_usage_error(admin_account_usage,
		    "invalid account name "
		    "`%s' (1-64 of A-Z a-z 0-9 _ . -)", name);
	if (admin_open(a) != 0)
		return ADMIN_FAIL;
	rc = db_exec(a->db, "INSERT INTO accounts (name) VALUES (?)",
	    DB_ARGS(DB_STR(name)), NULL, NULL);
	if (rc == DB_DUPLICATE) {
		admin_warnx("account `%s' already exists", name);
		return ADMIN_FAIL;
	}
	if (rc != DB_OK)
		return admin_db_fail(a, "adding the account");
	printf("account %s added\n", name);
	return ADMIN_OK;
}

/* account list: one aligned row per account, by name. */
static int
account_list(struct admin *a)
{
	struct admin_table	 t;
	struct db_res		*r = NULL;
	char			 created[20];
	size_t			 i;

	if (admin_open(a) != 0)
		return ADMIN_FAIL;
	if (db_query(a->db, "SELECT a.name, a.disabled, a.created_at, "
	    "(SELECT COUNT(*) FROM api_keys k WHERE k.account_id = a.id "
	    "AND k.revoked_at IS NULL) FROM accounts a ORDER BY a.name",
	    DB_NOARGS, &r) != DB_OK)
		return admin_db_fail(a, "listing the accounts");
	admin_table_init(&t, "NAME", "STATE", "KEYS", "CREATED", NULL);
	for (i = 0; i < r->nrows; i++) {
		util_db_time_to_iso(db_res_str(r, i, 2), created);
		admin_table_add(&t, db_res_str(r, i, 0),
		    db_res_int(r, i, 1) ? "disabled" : "active",
		    db_res_str(r, i, 3), created);
	}
	admin_table_print(&t);
	admin_table_free(&t);
	db_res_free(r);
	return ADMIN_OK;
}

/* account disable|enable NAME: set the disabled flag to off. */
static int
account_set_disabled(struct admin *a, const char *name, int off)
{
	long long	 id;
	int		 disabled, found;

	if (admin_check_name(name) != 0)
		return admin_usage_error(admin_account_usage,
		    "invalid account name "
		    "`%s'", name);
	if (admin_open(a) != 0)
		return ADMIN_FAIL;
	if ((found = account_find(a, name, &id, &disabled)) < 0)
		return ADMIN_FAIL;
	if (!found) {
		admin_warnx("no account named `%s'", name);
		return ADMIN_FAIL;
	}
	if (disabled == off) {
		printf("account %s is already %s\n", name,
		    off ? "disabled" : "enabled");
		return ADMIN_OK;
	}
	if (db_exec(a->db, "UPDATE accounts SET disabled = ? WHERE id = ?",
	    DB_ARGS(DB_INT(off), DB_INT(id)), NULL, NULL) != DB_OK)
		return admin_db_fail(a, "updating the account");
	printf("account %s %s\n", name, off ? "disabled" : "enabled");
	return ADMIN_OK;
}

/*
 * st-admin account add|list|disable|enable.
 */
int
admin_account(struct admin *a, int argc, char **argv)
{
	if (argc < 2)
		return admin_usage_error(admin_account_usage,
		    "%s: missing subcommand",
		    argv[0]);
	if (strcmp(argv[1], "list") == 0) {
		if (argc != 2)
			return admin_usage_error(admin_account_usage,
			    "unexpected argument `%s'", argv[2]);
		return account_list(a);
	}
	if (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "disable") != 0 &&
	    strcmp(argv[1], "enable") != 0)
		return admin_usage_error(admin_account_usage,
		    "unknown account subcommand `%s'", argv[1]);
	if (argc != 3)
		return admin_usage_error(admin_account_usage,
		    "account %s needs "
		    "exactly one NAME", argv[1]);
	if (strcmp(argv[1], "add") == 0)
		return account_add(a, argv[2]);
	return account_set_disabled(a, argv[2],
	    strcmp(argv[1], "disable") == 0);
}

/*
 * key create ACCOUNT: new credentials, the secret sealed with the key file
 * and bound to the API key. The secret leaves this process only on stdout.
 */
static int
key_create(struct admin *a, const char *account)
{
	unsigned char	 key[SEAL_KEY_LEN];
	unsigned char	 sealed[AUTH_SECRET_HEX_LEN + SEAL_OVERHEAD];
	char		 apikey[AUTH_KEY_HEX_LEN + 1];
	char		 secret[AUTH_SECRET_HEX_LEN + 1];
	char		 err[256];
	long long	 id;
	int		 disabled, found, rc = ADMIN_FAIL, dbrc, tries;

	if (admin_check_name(account) != 0)
		return admin_usage_error(admin_key_usage,
		    "invalid account name `%s'",
		    account);
	if (admin_open(a) != 0)
		return ADMIN_FAIL;
	if (seal_load_key(a->conf.auth_key_file, key, err, sizeof(err)) != 0) {
		admin_warnx("key file: %s", err);
		goto out;
	}
	if ((found = account_find(a, account, &id, &disabled)) < 0)
		goto out;
	if (!found) {
		admin_warnx("no account named `%s'", account);
		goto out;
	}
	if (disabled) {
		admin_warnx("account `%s' is disabled", account);
		goto out;
	}

	/* A key collision is next to impossible; draw again if it happens. */
	for (tries = 0; tries < 3; tries++) {
		if (auth_new_credentials(apikey, secret) != 0 ||
		    seal_encrypt(key, apikey, AUTH_KEY_HEX_LEN, secret,
		    AUTH_SECRET_HEX_LEN, sealed) != 0) {
			admin_warnx("cannot generate credentials");
			goto out;
		}
		dbrc = db_exec(a->db, "INSERT INTO api_keys "
		    "(account_id, api_key, secret_enc) VALUES (?, ?, ?)",
		    DB_ARGS(DB_INT(id), DB_STR(apikey),
		    DB_BLOB(sealed, sizeof(sealed))), NULL, NULL);
		if (dbrc == DB_OK)
			break;
		if (dbrc != DB_DUPLICATE) {
			admin_db_fail(a, "storing the key");
			goto out;
		}
	}
	if (tries == 3) {
		admin_warnx("cannot store a unique key");
		goto out;
	}
	printf("api_key: %s\nsecret: %s\n", apikey, secret);
	fflush(stdout);
	fprintf(stderr, "st-admin: note: store the secret now, it is not "
	    "shown again\n");
	rc = ADMIN_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

/* key list [ACCOUNT]: keys with their state; never a secret. */
static int
key_list(struct admin *a, const char *account)
{
	struct admin_table	 t;
	struct db_res		*r = NULL;
	char			 created[20], revoked[20];
	long long		 id;
	int			 disabled, found, rc;
	size_t			 i;

	if (account != NULL && admin_check_name(account) != 0)
		return admin_usage_error(admin_key_usage,
		    "invalid account name `%s'",
		    account);
	if (admin_open(a) != 0)
		return ADMIN_FAIL;
	if (account != NULL) {
		if ((found = account_find(a, account, &id, &disabled)) < 0)
			return ADMIN_FAIL;
		if (!found) {
			admin_warnx("no account named `%s'", account);
			return ADMIN_FAIL;
		}
		rc = db_query(a->db, "SELECT k.api_key, a.name, k.created_at, "
		    "k.revoked_at FROM api_keys k JOIN accounts a "
		    "ON a.id = k.account_id WHERE a.id = ? ORDER BY k.id",
		    DB_ARGS(DB_INT(id)), &r);
	} else
		rc = db_query(a->db, "SELECT k.api_key, a.name, k.created_at, "
		    "k.revoked_at FROM api_keys k JOIN accounts a "
		    "ON a.id = k.account_id ORDER BY a.name, k.id",
		    DB_NOARGS, &r);
	if (rc != DB_OK)
		return admin_db_fail(a, "listing the keys");

	admin_table_init(&t, "API_KEY", "ACCOUNT", "CREATED", "STATE", NULL);
	for (i = 0; i < r->nrows; i++) {
		char state[40];

		util_db_time_to_iso(db_res_str(r, i, 2), created);
		if (db_res_isnull(r, i, 3))
			snprintf(state, sizeof(state), "active");
		else {
			util_db_time_to_iso(db_res_str(r, i, 3), revoked);
			snprintf(state, sizeof(state), "revoked %s", revoked);
		}
		admin_table_add(&t, db_res_str(r, i, 0), db_res_str(r, i, 1),
		    created, state);
	}
	admin_table_print(&t);
	admin_table_free(&t);
	db_res_free(r);
	return ADMIN_OK;
}

/* key revoke KEY: set revoked_at once; revoking again is not an error. */
static int
key_revoke(struct admin *a, const char *apikey)
{
	struct db_res		*r = NULL;
	unsigned long long	 changed = 0;
	int			 rc = ADMIN_FAIL;

	if (auth_check_key_syntax(apikey, strlen(apikey)) != 0)
		return admin_usage_error(admin_key_usage,
		    "`%s' is not an API key "
		    "(32 lowercase hex digits)", apikey);
	if (admin_open(a) != 0)
		return ADMIN_FAIL;
	if (db_exec(a->db, "UPDATE api_keys SET revoked_at = UTC_TIMESTAMP(3) "
	    "WHERE api_key = ? AND revoked_at IS NULL",
	    DB_ARGS(DB_STR(apikey)), &changed, NULL) != DB_OK)
		return admin_db_fail(a, "revoking the key");
	if (changed > 0) {
		printf("key %s revoked\n", apikey);
		return ADMIN_OK;
	}
	if (db_query(a->db, "SELECT revoked_at FROM api_keys WHERE api_key = ?",
	    DB_ARGS(DB_STR(apikey)), &r) != DB_OK)
		return admin_db_fail(a, "looking up the key");
	if (r->nrows == 0)
		admin_warnx("no API key %s", apikey);
	else {
		printf("key %s was already revoked\n", apikey);
		rc = ADMIN_OK;
	}
	db_res_free(r);
	return rc;
}

/*
 * st-admin key create|list|revoke.
 */
int
admin_key(struct admin *a, int argc, char **argv)
{
	if (argc < 2)
		return admin_usage_error(admin_key_usage,
		    "%s: missing subcommand",
		    argv[0]);
	if (strcmp(argv[1], "list") == 0) {
		if (argc > 3)
			return admin_usage_error(admin_key_usage,
			    "unexpected argument `%s'", argv[3]);
		return key_list(a, argc == 3 ? argv[2] : NULL);
	}
	if (strcmp(argv[1], "create") == 0) {
		if (argc != 3)
			return admin_usage_error(admin_key_usage,
			    "key %s needs exactly "
			    "one ACCOUNT", argv[1]);
		return key_create(a, argv[2]);
	}
	if (strcmp(argv[1], "revoke") == 0) {
		if (argc != 3)
			return admin_usage_error(admin_key_usage,
			    "key %s needs exactly "
			    "one KEY", argv[1]);
		return key_revoke(a, argv[2]);
	}
	return admin_usage_error(admin_key_usage, "unknown key subcommand `%s'",
	    argv[1]);
}

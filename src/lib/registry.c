/*
 * registry.c: private Docker registry credentials of an account (see
 * registry.h): server names, the POST body, sealing, X-Registry-Auth, and
 * the registry_credentials table.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "batch.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "registry.h"
#include "seal.h"
#include "util.h"

#define TX_ATTEMPTS	5
/* "registry\n" <account id> "\n" <server>: the sealed password's AAD. */
#define AAD_PREFIX	"registry\n"
#define AAD_MAX		(sizeof(AAD_PREFIX) - 1 + 20 + 1 + REGISTRY_SERVER_MAX)
#define LABEL_MAX	63	/* RFC 1035 */

/* Other names of Docker Hub, as Docker's reference normalisation knows them. */
static const char *const hub_aliases[] = {
	"index.docker.io",
	"registry-1.docker.io",
};

static int
is_digit(int c)
{

	return c >= '0' && c <= '9';
}

static int
is_alnum(int c)
{

	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_xdigit(int c)
{

	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
to_lower(int c)
{

	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * Copy host[:port] (n bytes, already checked) into out lower-cased, Docker
 * Hub's other names replaced by REGISTRY_DOCKER_HUB. Returns 0, or -1 when
 * it does not fit in outlen bytes.
 */
static int
normalise(const char *s, size_t n, char *out, size_t outlen)
{
	size_t	 i;

	if (outlen == 0 || n > outlen - 1)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (char)to_lower((unsigned char)s[i]);
	out[n] = '\0';
	for (i = 0; i < NITEMS(hub_aliases); i++)
		if (strcmp(out, hub_aliases[i]) == 0) {
			/* Every alias is longer than the name it stands for. */
			memcpy(out, REGISTRY_DOCKER_HUB,
			    sizeof(REGISTRY_DOCKER_HUB));
			break;
		}
	return 0;
}

/* 1 when s (n bytes) is a port 1-65535 in decimal without a leading zero. */
static int
port_ok(const char *s, size_t n)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (n == 0 || n > 5 || s[0] == '0')
		return 0;
	for (i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v <= 65535;
}

/*
 * 1 when s (n bytes) is a host name of labels [A-Za-z0-9-]{1,63} (not
 * starting or ending with '-') joined by '.', or an IPv4 address. A name
 * of digits and dots only must be an IPv4 address (inet_pton: four
 * decimal parts 0-255, no leading zero), so "300.1.1.1" is refused rather
 * than taken for a name no resolver would look up.
 */
static int
host_ok(const char *s, size_t n)
{
	char	 buf[INET_ADDRSTRLEN];
	struct in_addr a4;
	size_t	 i, start = 0;
	int	 numeric = 1;

	if (n == 0)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!is_alnum((unsigned char)s[i]) && s[i] != '-')
				return 0;
			if (!is_digit((unsigned char)s[i]))
				numeric = 0;
			continue;
		}
		/* The label s[start..i). */
		if (i == start || i - start > LABEL_MAX || s[start] == '-' ||
		    s[i - 1] == '-')
			return 0;
		start = i + 1;
	}
	if (!numeric)
		return 1;
	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, &a4) == 1;
}

/* See registry.h. */
int
registry_server_valid(const char *s, size_t n, char *out, size_t outlen)
{
	char		 buf[INET6_ADDRSTRLEN];
	struct in6_addr	 a6;
	const char	*close, *colon, *rest;
	size_t		 hlen, i;

	if (outlen > 0)
		out[0] = '\0';
	if (s == NULL || n == 0 || n > REGISTRY_SERVER_MAX)
		return 0;
	if (s[0] == '[') {
		if ((close = memchr(s, ']', n)) == NULL)
			return 0;
		hlen = (size_t)(close - s) - 1;
		if (hlen == 0 || hlen >= sizeof(buf))
			return 0;
		/* inet_pton() would stop at a NUL: every byte is checked. */
		for (i = 1; i <= hlen; i++)
			if (!is_xdigit((unsigned char)s[i]) && s[i] != ':' &&
			    s[i] != '.')
				return 0;
		memcpy(buf, s + 1, hlen);
		buf[hlen] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return 0;
		rest = close + 1;
	} else {
		colon = memchr(s, ':', n);
		hlen = colon == NULL ? n : (size_t)(colon - s);
		if (!host_ok(s, hlen))
			return 0;
		rest = s + hlen;
	}
	if (rest < s + n && (rest[0] != ':' ||
	    !port_ok(rest + 1, (size_t)(s + n - rest) - 1)))
		return 0;
	if (normalise(s, n, out, outlen) == -1) {
		if (outlen > 0)
			out[0] = '\0';
		return 0;
	}
	return 1;
}

/*
 * 1 when the first component of an image name (s, n bytes) is a registry
 * rather than a path component: Docker's rule (splitDockerDomain), the
 * one batch_image_valid() applies too.
 */
static int
is_domain(const char *s, size_t n)
{
	size_t	 i;

	if (memchr(s, '.', n) != NULL || memchr(s, ':', n) != NULL ||
	    (n == 9 && memcmp(s, "localhost", 9) == 0))
		return 1;
	for (i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return 1;
	return 0;
}

/*
 * 1 when s (n bytes) is a digest ALGORITHM:ENCODED of the OCI image spec:
 * ALGORITHM components [a-z0-9]+ joined by one of "+._-", ENCODED
 * [A-Za-z0-9=_-]+; a sha256 digest is 64 lower-case hex digits.
 */
static int
digest_ok(const char *s, size_t n)
{
	const char	*colon;
	size_t		 alen, i;

	if ((colon = memchr(s, ':', n)) == NULL)
		return 0;
	alen = (size_t)(colon - s);
	if (alen == 0 || alen == n - 1)
		return 0;
	for (i = 0; i < alen; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || is_digit((unsigned char)s[i]))
			continue;
		if (strchr("+._-", s[i]) == NULL || i == 0 || i + 1 == alen ||
		    strchr("+._-", s[i - 1]) != NULL)
			return 0;
	}
	for (i = alen + 1; i < n; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '=' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	if (alen == 6 && memcmp(s, "sha256", 6) == 0) {
		if (n - alen - 1 != 64)
			return 0;
		for (i = alen + 1; i < n; i++)
			if (!is_xdigit((unsigned char)s[i]) ||
			    (s[i] >= 'A' && s[i] <= 'F'))
				return 0;
	}
	return 1;
}

/* See registry.h. */
int
registry_server_of(const char *image, char *out, size_t outlen)
{
	const char	*at, *p, *colon, *slash;
	size_t		 n, end, nlen;

	if (outlen > 0)
		out[0] = '\0';
	if (image == NULL || (n = strlen(image)) == 0)
		return -1;
	end = n;
	if ((at = memchr(image, '@', n)) != NULL) {
		if (!digest_ok(at + 1, n - (size_t)(at - image) - 1))
			return -1;
		end = (size_t)(at - image);
	}
	/* A tag follows the last '/'; a ':' before it is a port. */
	for (p = image + end, slash = NULL; p > image; p--)
		if (p[-1] == '/') {
			slash = p - 1;
			break;
		}
	p = slash == NULL ? image : slash + 1;
	colon = memchr(p, ':', (size_t)(image + end - p));
	nlen = colon == NULL ? end : (size_t)(colon - image);
	if (colon != NULL && !batch_tag_valid(colon + 1, end - nlen - 1))
		return -1;
	if (!batch_image_valid(image, nlen))
		return -1;
	slash = memchr(image, '/', nlen);
	if (slash == NULL || !is_domain(image, (size_t)(slash - image))) {
		if (outlen < sizeof(REGISTRY_DOCKER_HUB))
			return -1;
		memcpy(out, REGISTRY_DOCKER_HUB, sizeof(REGISTRY_DOCKER_HUB));
		return 0;
	}
	return normalise(image, (size_t)(slash - image), out, outlen);
}

/* --- the POST body -------------------------------------------------------- */

/* 1 when s is a user name registry_parse() accepts (see registry.h). */
static int
username_ok(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > REGISTRY_USERNAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e ||
		    s[i] == ':')
			return 0;
	return 1;
}

/*
 * Wipe every string of the tree v (OPENSSL_cleanse): a parsed body holds
 * copies of the password, perhaps under a misspelt key or twice.
 */
static void
wipe_strings(cJSON *v)
{
	cJSON	*c;

	if (v == NULL)
		return;
	if (cJSON_IsString(v) && v->valuestring != NULL)
		OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
	for (c = v->child; c != NULL; c = c->next)
		wipe_strings(c);
}

/* 1 when a key of n bytes can be named in an error sentence. */
static int
nameable(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* See registry.h. */
int
registry_parse(const char *body, size_t len, struct registry_req *req,
    struct batch_error *err)
{
	static const char *const keys[] = { "server", "username", "password" };
	const cJSON	*item[NITEMS(keys)] = { NULL, NULL, NULL }, *it;
	cJSON		*root = NULL;
	const char	*s;
	size_t		 k, n;
	int		 rc = 1;

	memset(req, 0, sizeof(*req));
	memset(err, 0, sizeof(*err));
	if ((root = json_parse_strict(body, len)) == NULL ||
	    !cJSON_IsObject(root)) {
		batch_refuse(err, 400, "invalid_json", "the body must be one "
		    "JSON object in UTF-8, without control characters");
		goto out;
	}
	cJSON_ArrayForEach(it, root) {
		for (k = 0; k < NITEMS(keys); k++)
			if (strcmp(it->string, keys[k]) == 0)
				break;
		if (k == NITEMS(keys)) {
			n = strlen(it->string);
			if (nameable(it->string, n))
				batch_refuse(err, 400, "unknown_field",
				    "unknown field \"%s\": the body holds "
				    "server, username and password only",
				    it->string);
			else
				batch_refuse(err, 400, "unknown_field",
				    "unknown field: the body holds server, "
				    "username and password only");
			goto out;
		}
		if (item[k] != NULL) {
			batch_refuse(err, 400, "invalid_json",
			    "%s appears twice in the body", keys[k]);
			goto out;
		}
		item[k] = it;
	}

	if (!cJSON_IsString(item[0])) {
		batch_refuse(err, 400, "invalid_server",
		    "server is required and must be a string");
		goto out;
	}
	s = item[0]->valuestring;
	if (!registry_server_valid(s, strlen(s), req->server,
	    sizeof(req->server))) {
		batch_refuse(err, 422, "invalid_server", "server must be a "
		    "registry's host name, IPv4 address or [IPv6] address "
		    "with an optional :port, without scheme or path, at most "
		    "%d characters (e.g. registry.example.com:5000)",
		    REGISTRY_SERVER_MAX);
		goto out;
	}
	if (!cJSON_IsString(item[1])) {
		batch_refuse(err, 400, "invalid_username",
		    "username is required and must be a string");
		goto out;
	}
	if (!username_ok(item[1]->valuestring)) {
		batch_refuse(err, 422, "invalid_username", "username must be 1 "
		    "to %d printable ASCII characters, without space or ':'",
		    REGISTRY_USERNAME_MAX);
		goto out;
	}
	if (!cJSON_IsString(item[2])) {
		batch_refuse(err, 400, "invalid_password",
		    "password is required and must be a string");
		goto out;
	}
	n = strlen(item[2]->valuestring);
	if (n == 0 || n > REGISTRY_PASSWORD_MAX) {
		batch_refuse(err, 422, "invalid_password",
		    "password must be 1 to %d bytes", REGISTRY_PASSWORD_MAX);
		goto out;
	}
	memcpy(req->username, item[1]->valuestring,
	    strlen(item[1]->valuestring) + 1);
	memcpy(req->password, item[2]->valuestring, n + 1);
	req->password_len = n;
	rc = 0;
out:
	wipe_strings(root);
	cJSON_Delete(root);
	if (rc != 0)
		registry_req_clear(req);
	return rc;
}

/* See registry.h. */
void
registry_req_clear(struct registry_req *req)
{

	if (req != NULL)
		OPENSSL_cleanse(req, sizeof(*req));
}

/* --- sealing ---------------------------------------------------------------- */

/*
 * The AAD of a sealed password: "registry\n" <account id> "\n" <server>,
 * into buf (AAD_MAX + 1 bytes). Returns its length, or 0 when server is
 * too long.
 */
static size_t
aad_of(long long account_id, const char *server, char buf[AAD_MAX + 1])
{
	int	 k;

	k = snprintf(buf, AAD_MAX + 1, AAD_PREFIX "%lld\n%s", account_id,
	    server);
	if (k < 0 || (size_t)k > AAD_MAX)
		return 0;
	return (size_t)k;
}

/* See registry.h. */
int
registry_seal(const unsigned char key[SEAL_KEY_LEN], long long account_id,
    const char *server, const void *password, size_t n, unsigned char *out)
{
	char	 aad[AAD_MAX + 1];
	size_t	 alen;

	if (server == NULL || password == NULL || n == 0 ||
	    n > REGISTRY_PASSWORD_MAX ||
	    (alen = aad_of(account_id, server, aad)) == 0)
		return -1;
	return seal_encrypt(key, aad, alen, password, n, out);
}

/* See registry.h. */
long
registry_unseal(const unsigned char key[SEAL_KEY_LEN], long long account_id,
    const char *server, const unsigned char *sealed, size_t n,
    char *password)
{
	char	 aad[AAD_MAX + 1];
	size_t	 alen;
	long	 got;

	if (server == NULL || sealed == NULL || n < SEAL_OVERHEAD ||
	    n - SEAL_OVERHEAD > REGISTRY_PASSWORD_MAX ||
	    (alen = aad_of(account_id, server, aad)) == 0)
		return -1;
	if ((got = seal_decrypt(key, aad, alen, sealed, n, password)) < 0)
		return -1;
	password[got] = '\0';
	return got;
}

/* See registry.h. */
char *
registry_auth_header(const char *username, const char *password,
    const char *server)
{
	cJSON		*o = NULL, *pw = NULL;
	char		*json = NULL, *out = NULL, *p;
	size_t		 jlen = 0;

	if (username == NULL || password == NULL || server == NULL)
		return NULL;
	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(o, "username", username) == NULL ||
	    (pw = cJSON_AddStringToObject(o, "password", password)) == NULL ||
	    cJSON_AddStringToObject(o, "serveraddress", server) == NULL ||
	    (json = cJSON_PrintUnformatted(o)) == NULL)
		goto out;
	jlen = strlen(json);
	if (jlen > (size_t)INT_MAX / 4 * 3 - 3)
		goto out;
	out = xmalloc(4 * ((jlen + 2) / 3) + 1);
	/* RFC 4648 section 4, padded and without line breaks... */
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)json,
	    (int)jlen);
	/* ...then section 5's alphabet, which the engine decodes. */
	for (p = out; *p != '\0'; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
out:
	if (json != NULL) {
		OPENSSL_cleanse(json, jlen);
		cJSON_free(json);
	}
	if (pw != NULL && pw->valuestring != NULL)
		OPENSSL_cleanse(pw->valuestring, strlen(pw->valuestring));
	cJSON_Delete(o);
	return out;
}

/* --- the table -------------------------------------------------------------- */

#define CRED_COLS	"server, username, created_at, updated_at"

/* Row row of a result of CRED_COLS into *c. Returns 0, or -1 (logged). */
static int
cred_of(const struct db_res *res, size_t row, struct registry_cred *c)
{
	const char	*server = db_res_str(res, row, 0);
	const char	*user = db_res_str(res, row, 1);

	memset(c, 0, sizeof(*c));
	if (server == NULL || user == NULL ||
	    strlen(server) > REGISTRY_SERVER_MAX ||
	    strlen(user) > REGISTRY_USERNAME_MAX ||
	    util_db_time_to_iso(db_res_str(res, row, 2), c->created_at) == -1 ||
	    util_db_time_to_iso(db_res_str(res, row, 3), c->updated_at) == -1) {
		log_error("registry_credentials: unreadable row");
		return -1;
	}
	memcpy(c->server, server, strlen(server) + 1);
	memcpy(c->username, user, strlen(user) + 1);
	return 0;
}

/* The arguments of put_tx(), for db_transaction(). */
struct put_args {
	long long			 account_id;
	const struct registry_req	*req;
	const unsigned char		*sealed;
	size_t				 sealed_len;
	struct registry_cred		*out;
	int				 replaced;
};

/*
 * The work of registry_put(): the row of (account, server) locked, then
 * updated or inserted, then read back. A concurrent insert of the same
 * pair ends in a deadlock or a duplicate, both redone (DB_RETRY).
 */
static int
put_tx(struct db *db, void *arg)
{
	struct put_args		*a = arg;
	struct db_res		*res = NULL;
	unsigned long long	 id = 0;
	int			 rc;

	a->replaced = 0;
	rc = db_query(db, "SELECT id FROM registry_credentials "
	    "WHERE account_id = ? AND server = ? FOR UPDATE",
	    DB_ARGS(DB_INT(a->account_id), DB_STR(a->req->server)), &res);
	if (rc != DB_OK)
		goto out;
	if (res->nrows == 1) {
		id = (unsigned long long)db_res_int(res, 0, 0);
		rc = db_exec(db, "UPDATE registry_credentials SET username = ?, "
		    "password_enc = ?, updated_at = UTC_TIMESTAMP(3) "
		    "WHERE id = ?", DB_ARGS(DB_STR(a->req->username),
		    DB_BLOB(a->sealed, a->sealed_len), DB_INT(id)), NULL, NULL);
		a->replaced = 1;
	} else {
		rc = db_exec(db, "INSERT INTO registry_credentials "
		    "(account_id, server, username, password_enc) "
		    "VALUES (?, ?, ?, ?)", DB_ARGS(DB_INT(a->account_id),
		    DB_STR(a->req->server), DB_STR(a->req->username),
		    DB_BLOB(a->sealed, a->sealed_len)), NULL, &id);
		if (rc == DB_DUPLICATE)
			rc = DB_RETRY;
	}
	if (rc != DB_OK)
		goto out;
	db_res_free(res);
	res = NULL;
	rc = db_query(db, "SELECT " CRED_COLS " FROM registry_credentials "
	    "WHERE id = ?", DB_ARGS(DB_INT(id)), &res);
	if (rc != DB_OK)
		goto out;
	if (res->nrows != 1 || cred_of(res, 0, a->out) == -1)
		rc = DB_ERROR;
out:
	db_res_free(res);
	return rc;
}

/* See registry.h. */
int
registry_put(struct db *db, const unsigned char key[SEAL_KEY_LEN],
    long long account_id, const struct registry_req *req,
    struct registry_cred *out, int *replaced)
{
	unsigned char	 sealed[REGISTRY_SEALED_MAX];
	struct put_args	 a;
	int		 rc;

	*replaced = 0;
	memset(out, 0, sizeof(*out));
	if (registry_seal(key, account_id, req->server, req->password,
	    req->password_len, sealed) == -1) {
		log_error("account %lld: cannot seal a registry password",
		    account_id);
		return DB_ERROR;
	}
	memset(&a, 0, sizeof(a));
	a.account_id = account_id;
	a.req = req;
	a.sealed = sealed;
	a.sealed_len = req->password_len + SEAL_OVERHEAD;
	a.out = out;
	rc = db_transaction(db, TX_ATTEMPTS, put_tx, &a);
	if (rc == DB_OK)
		*replaced = a.replaced;
	return rc;
}

/* See registry.h. */
int
registry_list(struct db *db, long long account_id,
    struct registry_cred **out, size_t *n)
{
	struct db_res	*res = NULL;
	size_t		 i;
	int		 rc;

	*out = NULL;
	*n = 0;
	rc = db_query(db, "SELECT " CRED_COLS " FROM registry_credentials "
	    "WHERE account_id = ? ORDER BY server",
	    DB_ARGS(DB_INT(account_id)), &res);
	if (rc != DB_OK)
		goto out;
	if (res->nrows == 0)
		goto out;
	*out = xcalloc(res->nrows, sizeof(**out));
	for (i = 0; i < res->nrows; i++)
		if (cred_of(res, i, &(*out)[i]) == -1) {
			free(*out);
			*out = NULL;
			rc = DB_ERROR;
			goto out;
		}
	*n = res->nrows;
out:
	db_res_free(res);
	return rc;
}

/* See registry.h. */
int
registry_delete(struct db *db, long long account_id, const char *server)
{
	unsigned long long	 affected = 0;
	int			 rc;

	rc = db_exec(db, "DELETE FROM registry_credentials "
	    "WHERE account_id = ? AND server = ?",
	    DB_ARGS(DB_INT(account_id), DB_STR(server)), &affected, NULL);
	if (rc != DB_OK)
		return rc;
	return affected == 0 ? REGISTRY_NOT_FOUND : DB_OK;
}

/* See registry.h. */
int
registry_auth_for(struct db *db, const unsigned char key[SEAL_KEY_LEN],
    long long account_id, const char *image, char **header)
{
	char		 server[REGISTRY_SERVER_MAX + 1];
	char		 password[REGISTRY_PASSWORD_MAX + 1];
	struct db_res	*res = NULL;
	long		 plen = -1;
	int		 rc, ret = -1;

	*header = NULL;
	if (registry_server_of(image, server, sizeof(server)) == -1) {
		log_warn("account %lld: no registry in a malformed image "
		    "reference", account_id);
		return -1;
	}
	rc = db_query(db, "SELECT username, password_enc "
	    "FROM registry_credentials WHERE account_id = ? AND server = ?",
	    DB_ARGS(DB_INT(account_id), DB_STR(server)), &res);
	if (rc != DB_OK) {
		log_error("account %lld: registry credentials for %s: %s",
		    account_id, server, db_error(db));
		goto out;
	}
	if (res->nrows == 0) {
		ret = 0;
		goto out;
	}
	plen = registry_unseal(key, account_id, server,
	    (const unsigned char *)db_res_str(res, 0, 1),
	    db_res_len(res, 0, 1), password);
	if (plen < 0) {
		log_error("account %lld: the registry password for %s does "
		    "not open with the key file (wrong [auth] key_file?)",
		    account_id, server);
		goto out;
	}
	if ((*header = registry_auth_header(db_res_str(res, 0, 0), password,
	    server)) == NULL) {
		log_error("account %lld: cannot encode X-Registry-Auth",
		    account_id);
		goto out;
	}
	ret = 1;
out:
	if (plen >= 0)
		OPENSSL_cleanse(password, (size_t)plen);
	db_res_free(res);
	return ret;
}

/* See registry.h. */
int
registry_server_guarded(struct db *db, const char *server)
{
	struct db_res	*res = NULL;
	int		 rc, ret;

	rc = db_query(db, "SELECT 1 FROM registry_credentials "
	    "WHERE server = ? LIMIT 1", DB_ARGS(DB_STR(server)), &res);
	if (rc != DB_OK) {
		log_error("registry credentials for %s: %s", server,
		    db_error(db));
		return -1;
	}
	ret = res->nrows > 0 ? 1 : 0;
	db_res_free(res);
	return ret;
}

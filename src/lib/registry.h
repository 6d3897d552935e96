/*
 * registry.h: private Docker registry credentials of an account (DESIGN
 * "The dispatcher": per-account registry credentials, sealed at rest, sent
 * as X-Registry-Auth for that account's jobs only).
 *
 * An account keeps one username and password per registry server
 * (POST /account/registries; table registry_credentials of
 * sql/006_fleet.sql). The password is sealed with the key of [auth]
 * key_file (seal.h), bound to "registry\n" <account id> "\n" <server>, so a
 * sealed password copied to another account's row or another server's no
 * longer opens. It is never answered, never logged, and the clear text
 * lives only in buffers wiped with OPENSSL_cleanse() after use.
 *
 * Servers are compared in the form Docker gives an image reference's
 * registry (registry_server_of()): lower-case host, optional ":port", and
 * "docker.io" for Docker Hub under any of its names.
 */
#ifndef ST_REGISTRY_H
#define ST_REGISTRY_H

#include <stddef.h>

#include "batch.h"
#include "db.h"
#include "seal.h"

#define REGISTRY_SERVER_MAX	255	/* bytes of a server (VARCHAR(255)) */
#define REGISTRY_USERNAME_MAX	255
#define REGISTRY_PASSWORD_MAX	1024
/* Largest sealed password: fits registry_credentials.password_enc. */
#define REGISTRY_SEALED_MAX	(REGISTRY_PASSWORD_MAX + SEAL_OVERHEAD)
/*
 * Largest POST /account/registries body: every byte of the three fields
 * written as a \uXXXX escape (6 bytes each), with room for the framing.
 * Beyond it the responder answers 413 from Content-Length.
 */
#define REGISTRY_BODY_MAX	16384
/* The name every spelling of Docker Hub is normalised to. */
#define REGISTRY_DOCKER_HUB	"docker.io"

/* Outcomes beside DB_OK and the db errors (enum db_rc). */
enum registry_rc {
	REGISTRY_NOT_FOUND = 1,	/* no credentials of the account for it: 404 */
};

/* --- names (pure) ------------------------------------------------------ */

/*
 * The registry server of a Docker image reference (NUL-terminated), as
 * Docker normalises it, into out (outlen bytes, REGISTRY_SERVER_MAX + 1 is
 * always enough). The reference is NAME[:TAG][@DIGEST], NAME as
 * batch_image_valid() accepts it, TAG as batch_tag_valid(), DIGEST
 * ALGORITHM:ENCODED. The first component of NAME is the registry when it
 * holds '.' or ':', is "localhost" or has an upper-case letter (Docker's
 * splitDockerDomain); otherwise the image is on Docker Hub. The host is
 * lower-cased; "index.docker.io" and "registry-1.docker.io" (without a
 * port) become "docker.io". Returns 0, or -1 for a malformed reference or
 * a server that does not fit out.
 */
int	registry_server_of(const char *image, char *out, size_t outlen);

/*
 * What POST /account/registries accepts as a server (s, n bytes): a host
 * name (labels of 1-63 [A-Za-z0-9-], not starting or ending with '-',
 * joined by '.'; all digits and dots only as an IPv4 address), an IPv4
 * address, or an IPv6 address in brackets; then optionally ':' and a port
 * 1-65535 without leading zeros. No scheme, no path, no user, at most
 * REGISTRY_SERVER_MAX bytes. Returns 1 with the normalised server in out
 * (as registry_server_of() normalises), or 0 (out then holds "").
 */
int	registry_server_valid(const char *s, size_t n, char *out,
	    size_t outlen);

/* --- the POST body (pure) ---------------------------------------------- */

/* A POST /account/registries body, checked. */
struct registry_req {
	char	 server[REGISTRY_SERVER_MAX + 1];	/* normalised */
	char	 username[REGISTRY_USERNAME_MAX + 1];
	char	 password[REGISTRY_PASSWORD_MAX + 1];	/* clear: wipe */
	size_t	 password_len;
};

/*
 * Parse a POST /account/registries body of len bytes:
 * {"server", "username", "password"}, all three required strings, no
 * other key. Strict JSON (json_parse_strict(): UTF-8, no byte below 0x20
 * but JSON's blanks HT, LF and CR between tokens, no DEL, no \u0000, no
 * byte order mark, nothing but blanks after the value), and no key twice.
 * Returns 0 with *req
 * filled, or 1 with *err (req then holds no password):
 *   400 invalid_json      the body is not such a JSON object
 *   400 unknown_field     a key other than the three
 *   400 invalid_server    server missing or not a string
 *   422 invalid_server    not a server by registry_server_valid()
 *   400 invalid_username  username missing or not a string
 *   422 invalid_username  not 1-255 bytes of 0x21-0x7E but ':' (Basic
 *                         authentication cannot carry a ':' in a user name)
 *   400 invalid_password  password missing or not a string
 *   422 invalid_password  not 1-1024 bytes (any UTF-8 but NUL)
 * The caller wipes *req with registry_req_clear() in every case.
 */
int	registry_parse(const char *body, size_t len, struct registry_req *req,
	    struct batch_error *err);

/* Wipe *req (OPENSSL_cleanse), the password above all. */
void	registry_req_clear(struct registry_req *req);

/* --- sealing (pure) ---------------------------------------------------- */

/*
 * Seal the n-byte password (1..REGISTRY_PASSWORD_MAX) of account_id for
 * server into out (n + SEAL_OVERHEAD bytes, REGISTRY_SEALED_MAX is always
 * enough), with the additional authenticated data "registry\n" <account
 * id in decimal> "\n" <server>. Returns 0 or -1.
 */
int	registry_seal(const unsigned char key[SEAL_KEY_LEN],
	    long long account_id, const char *server, const void *password,
	    size_t n, unsigned char *out);

/*
 * Open a sealed password (n bytes) of account_id for server into password
 * (REGISTRY_PASSWORD_MAX + 1 bytes), NUL-terminated. Returns its length,
 * or -1 when it does not open (another key, another account or server,
 * tampered with, too long). The caller wipes password after use.
 */
long	registry_unseal(const unsigned char key[SEAL_KEY_LEN],
	    long long account_id, const char *server,
	    const unsigned char *sealed, size_t n, char *password);

/*
 * The X-Registry-Auth value of the Docker Engine API for a pull: the JSON
 * {"username", "password", "serveraddress"} (cJSON) in URL-safe base64
 * with padding (RFC 4648 section 5: OpenSSL's EVP_EncodeBlock(), then
 * '+' -> '-' and '/' -> '_'). Returns a new string the caller wipes
 * (OPENSSL_cleanse over strlen) and frees, or NULL on failure. The clear
 * JSON text is wiped before returning.
 *
 * NOTE: serveraddress is the server as stored ("docker.io" for Docker
 * Hub). The engine uses the username and password for the registry of the
 * image it pulls, whatever serveraddress says.
 */
char	*registry_auth_header(const char *username, const char *password,
	    const char *server);

/* --- the table --------------------------------------------------------- */

/* One account's credentials for one server, as answered (no password). */
struct registry_cred {
	char	 server[REGISTRY_SERVER_MAX + 1];
	char	 username[REGISTRY_USERNAME_MAX + 1];
	char	 created_at[20];	/* YYYY-MM-DDTHH:MM:SS, UTC */
	char	 updated_at[20];
};

/*
 * Store req's credentials for account_id, sealing the password with key:
 * a new row, or, when the account has credentials for req->server
 * already, their username and password replaced (updated_at moves,
 * created_at stays). One transaction, redone on a deadlock. *out receives
 * the row, *replaced 1 when it replaced one, else 0. Returns DB_OK or a
 * db error.
 */
int	registry_put(struct db *db, const unsigned char key[SEAL_KEY_LEN],
	    long long account_id, const struct registry_req *req,
	    struct registry_cred *out, int *replaced);

/*
 * The credentials of account_id, sorted by server (byte order), without
 * passwords. *out (caller frees; NULL when *n is 0) and *n receive them.
 * Returns DB_OK or a db error.
 */
int	registry_list(struct db *db, long long account_id,
	    struct registry_cred **out, size_t *n);

/*
 * Delete the credentials of account_id for server (normalised). Returns
 * DB_OK, REGISTRY_NOT_FOUND when the account has none for it (another
 * account's are never touched), or a db error.
 */
int	registry_delete(struct db *db, long long account_id,
	    const char *server);

/*
 * For the dispatcher: the X-Registry-Auth value to pull image (a reference
 * as registry_server_of() takes it) for a job of account_id. Returns 1
 * with *header a new string (see registry_auth_header(): the caller wipes
 * and frees it) when the account has credentials for the image's server;
 * 0 with *header NULL when it has none; -1 with *header NULL on failure (a
 * malformed reference, a database error, a password that does not open
 * with key: logged, without any secret).
 */
int	registry_auth_for(struct db *db, const unsigned char key[SEAL_KEY_LEN],
	    long long account_id, const char *image, char **header);

/*
 * For the dispatcher: 1 when any account has credentials for server (as
 * registry_server_of() gives it), 0 when none has, -1 on a database
 * failure (logged). Images of a guarded server are private: each job pulls
 * them with its own account's credentials, even when the host has them.
 */
int	registry_server_guarded(struct db *db, const char *server);

#endif

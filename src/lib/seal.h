/*
 * seal.h: API secrets at rest, AES-256-GCM.
 *
 * HMAC verification needs the secret in clear, so the database keeps it sealed
 * with a key that lives in a file of its own (conf [auth] key_file: 64 hex
 * chars, readable only by the account the responders run as). A sealed value
 * is: version byte 0x01 || 12-byte random nonce || ciphertext || 16-byte tag,
 * with the API key as additional authenticated data, so a sealed secret moved
 * to another key's row no longer opens.
 */
#ifndef ST_SEAL_H
#define ST_SEAL_H

#include <stddef.h>

#define SEAL_KEY_LEN		32
#define SEAL_OVERHEAD		(1 + 12 + 16)

/*
 * Read the key file: 64 hex digits, optional trailing newline, nothing else.
 * Refuses a file readable or writable by "other" (mode & 007).
 * Returns 0, or -1 with a reason in err.
 */
int	seal_load_key(const char *path, unsigned char key[SEAL_KEY_LEN],
	    char *err, size_t errlen);

/*
 * Seal n bytes of plain into out (n + SEAL_OVERHEAD bytes, caller's buffer),
 * bound to aad (may be NULL with aadlen 0). Returns 0 or -1.
 */
int	seal_encrypt(const unsigned char key[SEAL_KEY_LEN],
	    const void *aad, size_t aadlen, const void *plain, size_t n,
	    unsigned char *out);

/*
 * Open a sealed value of n bytes into plain (n - SEAL_OVERHEAD bytes, caller's
 * buffer). Returns the plain length, or -1 when the value is malformed,
 * sealed with another key, tampered with or bound to another aad.
 */
long	seal_decrypt(const unsigned char key[SEAL_KEY_LEN],
	    const void *aad, size_t aadlen, const unsigned char *sealed,
	    size_t n, void *plain);

#endif

/*
 * seal.c: API secrets at rest, AES-256-GCM through OpenSSL EVP.
 *
 * Sealed value: 0x01 || nonce (12) || ciphertext (n) || tag (16), the API
 * key as additional authenticated data (see seal.h).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "seal.h"

#define SEAL_VERSION	0x01
#define NONCE_LEN	12
#define TAG_LEN		16
#define KEY_HEX_LEN	(2 * SEAL_KEY_LEN)
#define KEY_FILE_MAX	128	/* more than this is not a key file */

/*
 * Read the key file at path into key. The file must be a regular file, not
 * a symbolic link, with no permission for "other", holding exactly
 * KEY_HEX_LEN hex digits and at most one trailing newline.
 * Returns 0, or -1 with a reason in err (never any of the file's content).
 */
int
seal_load_key(const char *path, unsigned char key[SEAL_KEY_LEN],
    char *err, size_t errlen)
{
	char		 buf[KEY_FILE_MAX + 1];
	struct stat	 st;
	size_t		 len = 0, i;
	ssize_t		 r;
	int		 fd = -1, rc = -1, hi, lo;

	/* O_NONBLOCK: a FIFO planted at path must not hang the open. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & 007) {
		snprintf(err, errlen, "%s: key file is accessible by other "
		    "users (mode %04o); chmod o= it", path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (len < sizeof(buf)) {
		r = read(fd, buf + len, sizeof(buf) - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > KEY_FILE_MAX) {
		snprintf(err, errlen, "%s: key file too long", path);
		goto out;
	}
	if (len == KEY_HEX_LEN + 1 && buf[KEY_HEX_LEN] == '\n')
		len--;
	if (len != KEY_HEX_LEN) {
		snprintf(err, errlen, "%s: key must be %d hex digits and an "
		    "optional newline", path, KEY_HEX_LEN);
		goto out;
	}
	for (i = 0; i < SEAL_KEY_LEN; i++) {
		hi = OPENSSL_hexchar2int((unsigned char)buf[2 * i]);
		lo = OPENSSL_hexchar2int((unsigned char)buf[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			snprintf(err, errlen, "%s: key must be %d hex digits "
			    "and an optional newline", path, KEY_HEX_LEN);
			OPENSSL_cleanse(key, SEAL_KEY_LEN);
			goto out;
		}
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (fd != -1)
		close(fd);
	return rc;
}

/*
 * AES-256-GCM, fetched once per process: an implicit fetch at every
 * EVP_*Init_ex() cost more than the decryption of a secret.
 */
static const EVP_CIPHER *
gcm(void)
{
	static EVP_CIPHER	*c;

	if (c == NULL)
		c = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	return c;
}

/*
 * Seal n bytes of plain into out (n + SEAL_OVERHEAD bytes) with a fresh
 * random nonce, bound to aad. Returns 0 or -1 (out then holds nothing
 * useful).
 */
int
seal_encrypt(const unsigned char key[SEAL_KEY_LEN], const void *aad,
    size_t aadlen, const void *plain, size_t n, unsigned char *out)
{
	EVP_CIPHER_CTX	*ctx = NULL;
	unsigned char	*nonce = out + 1, *ct = out + 1 + NONCE_LEN;
	int		 len, rc = -1;

	if (n > INT_MAX - SEAL_OVERHEAD || aadlen > INT_MAX)
		goto out;
	out[0] = SEAL_VERSION;
	if (RAND_bytes(nonce, NONCE_LEN) != 1)
		goto out;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (gcm() == NULL ||
	    EVP_EncryptInit_ex(ctx, gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN,
	    NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) != 1)
		goto out;
	if (aadlen > 0 &&
	    EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aadlen) != 1)
		goto out;
	if (n > 0 && (EVP_EncryptUpdate(ctx, ct, &len, plain, (int)n) != 1 ||
	    (size_t)len != n))
		goto out;
	if (EVP_EncryptFinal_ex(ctx, ct + n, &len) != 1 || len != 0)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
	    ct + n) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/*
 * Open n sealed bytes into plain (n - SEAL_OVERHEAD bytes). Returns the
 * plain length, or -1 for a short value, an unknown version, another key,
 * another aad or any change to the bytes; plain is then wiped.
 */
long
seal_decrypt(const unsigned char key[SEAL_KEY_LEN], const void *aad,
    size_t aadlen, const unsigned char *sealed, size_t n, void *plain)
{
	EVP_CIPHER_CTX		*ctx = NULL;
	const unsigned char	*nonce, *ct, *tag;
	unsigned char		 tagbuf[TAG_LEN], last[TAG_LEN];
	size_t			 ctlen;
	long			 rc = -1;
	int			 len;

	if (sealed == NULL || n < SEAL_OVERHEAD || n > INT_MAX ||
	    aadlen > INT_MAX)
		return -1;
	if (sealed[0] != SEAL_VERSION)
		return -1;
	ctlen = n - SEAL_OVERHEAD;
	nonce = sealed + 1;
	ct = nonce + NONCE_LEN;
	tag = ct + ctlen;
	/* The tag control takes a non-const pointer. */
	memcpy(tagbuf, tag, TAG_LEN);

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (gcm() == NULL ||
	    EVP_DecryptInit_ex(ctx, gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN,
	    NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) != 1)
		goto out;
	if (aadlen > 0 &&
	    EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aadlen) != 1)
		goto out;
	if (ctlen > 0 && (EVP_DecryptUpdate(ctx, plain, &len, ct,
	    (int)ctlen) != 1 || (size_t)len != ctlen))
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
	    tagbuf) != 1)
		goto out;
	/* NOTE: only a successful final proves the plain text authentic. */
	if (EVP_DecryptFinal_ex(ctx, last, &len) != 1 || len != 0)
		goto out;
	rc = (long)ctlen;
out:
	if (rc == -1 && ctlen > 0)
		OPENSSL_cleanse(plain, ctlen);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/*
 * test-seal.c: API secrets at rest (src/lib/seal.c): AES-256-GCM round
 * trip, every kind of tampering, and the key file checks.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "seal.h"
#include "util.h"

#define KEY_HEX \
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define AAD		"0123456789abcdef0123456789abcdef"
#define PLAIN \
	"fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define PLAIN_LEN	(sizeof(PLAIN) - 1)
#define SEALED_LEN	(PLAIN_LEN + SEAL_OVERHEAD)

static const unsigned char key[SEAL_KEY_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

/* Seal PLAIN under key and AAD into out (SEALED_LEN bytes). */
static void
seal_plain(unsigned char *out)
{
	assert_int_equal(seal_encrypt(key, AAD, strlen(AAD), PLAIN, PLAIN_LEN,
	    out), 0);
}

/* Encrypt then decrypt gives the plain text back; nonces differ. */
static void
round_trip(void **state)
{
	unsigned char	 a[SEALED_LEN], b[SEALED_LEN];
	char		 plain[PLAIN_LEN + 1];
	long		 n;

	seal_plain(a);
	seal_plain(b);
	assert_int_equal(a[0], 0x01);
	assert_memory_not_equal(a + 1, b + 1, 12);
	assert_memory_not_equal(a + 13, PLAIN, PLAIN_LEN);

	n = seal_decrypt(key, AAD, strlen(AAD), a, sizeof(a), plain);
	assert_int_equal(n, PLAIN_LEN);
	plain[n] = '\0';
	assert_string_equal(plain, PLAIN);

	/* Empty plain text and empty aad. */
	assert_int_equal(seal_encrypt(key, NULL, 0, "", 0, a), 0);
	assert_int_equal(seal_decrypt(key, NULL, 0, a, SEAL_OVERHEAD, plain),
	    0);
	assert_int_equal(seal_decrypt(key, AAD, 1, a, SEAL_OVERHEAD, plain),
	    -1);
}

/* One flipped bit in any region of the value: refused. */
static void
tamper(void **state)
{
	unsigned char	 good[SEALED_LEN], bad[SEALED_LEN];
	char		 plain[PLAIN_LEN];
	size_t		 i;
	struct {
		int		 line;
		const char	*region;
		size_t		 off;
	} tests[] = {
		{ __LINE__, "version", 0 },
		{ __LINE__, "nonce first", 1 },
		{ __LINE__, "nonce last", 12 },
		{ __LINE__, "ciphertext first", 13 },
		{ __LINE__, "ciphertext last", 13 + PLAIN_LEN - 1 },
		{ __LINE__, "tag first", 13 + PLAIN_LEN },
		{ __LINE__, "tag last", SEALED_LEN - 1 },
	};

	seal_plain(good);
	for (i = 0; i < NITEMS(tests); i++) {
		memcpy(bad, good, sizeof(bad));
		bad[tests[i].off] ^= 0x01;
		if (seal_decrypt(key, AAD, strlen(AAD), bad, sizeof(bad),
		    plain) != -1)
			fail_msg("line %d: tampered %s opened", tests[i].line,
			    tests[i].region);
	}
	/* Version 0x02 with a correct remainder is still refused. */
	memcpy(bad, good, sizeof(bad));
	bad[0] = 0x02;
	assert_int_equal(seal_decrypt(key, AAD, strlen(AAD), bad, sizeof(bad),
	    plain), -1);
	/* A truncated value; the untouched one still opens. */
	assert_int_equal(seal_decrypt(key, AAD, strlen(AAD), good,
	    sizeof(good) - 1, plain), -1);
	assert_int_equal(seal_decrypt(key, AAD, strlen(AAD), good,
	    sizeof(good), plain), PLAIN_LEN);
}

/* Bound to the API key: another aad does not open it. */
static void
wrong_aad(void **state)
{
	unsigned char	 sealed[SEALED_LEN];
	char		 plain[PLAIN_LEN];
	const char	*other = "0123456789abcdef0123456789abcdee";

	seal_plain(sealed);
	assert_int_equal(seal_decrypt(key, other, strlen(other), sealed,
	    sizeof(sealed), plain), -1);
	assert_int_equal(seal_decrypt(key, NULL, 0, sealed, sizeof(sealed),
	    plain), -1);
	assert_int_equal(seal_decrypt(key, AAD, strlen(AAD) - 1, sealed,
	    sizeof(sealed), plain), -1);
}

/* Another key does not open it. */
static void
wrong_key(void **state)
{
	unsigned char	 sealed[SEALED_LEN], other[SEAL_KEY_LEN];
	char		 plain[PLAIN_LEN];

	seal_plain(sealed);
	memcpy(other, key, sizeof(other));
	other[SEAL_KEY_LEN - 1] ^= 0x80;
	assert_int_equal(seal_decrypt(other, AAD, strlen(AAD), sealed,
	    sizeof(sealed), plain), -1);
}

/* Anything shorter than the overhead is malformed. */
static void
short_input(void **state)
{
	unsigned char	 sealed[SEALED_LEN];
	char		 plain[PLAIN_LEN];
	size_t		 n;

	seal_plain(sealed);
	for (n = 0; n < SEAL_OVERHEAD; n++)
		if (seal_decrypt(key, AAD, strlen(AAD), sealed, n,
		    plain) != -1)
			fail_msg("%zu bytes accepted", n);
	assert_int_equal(seal_decrypt(key, AAD, strlen(AAD), NULL, 0, plain),
	    -1);
}

/*
 * Write content (len bytes) to a new temporary file with the given mode;
 * returns its path in path (PATH_MAX bytes).
 */
static void
write_key_file(char *path, size_t pathlen, const char *content, size_t len,
    mode_t mode)
{
	const char	*dir = getenv("TMPDIR");
	int		 fd;

	snprintf(path, pathlen, "%s/test-seal.XXXXXX",
	    dir != NULL && *dir != '\0' ? dir : "/tmp");
	fd = mkstemp(path);
	assert_int_not_equal(fd, -1);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* The key file: 64 hex digits, optional newline, no access for others. */
static void
key_file(void **state)
{
	unsigned char	 k[SEAL_KEY_LEN];
	char		 path[4096], link[4200], err[512];
	size_t		 i;
	int		 rc;
	struct {
		int		 line;
		const char	*content;
		mode_t		 mode;
		int		 want;
		const char	*why;		/* substring of err */
	} tests[] = {
		{ __LINE__, KEY_HEX, 0600, 0, NULL },
		{ __LINE__, KEY_HEX "\n", 0600, 0, NULL },
		{ __LINE__, KEY_HEX "\n", 0640, 0, NULL },
		{ __LINE__, KEY_HEX "\n", 0400, 0, NULL },
		{ __LINE__, "000102030405060708090A0B0C0D0E0F"
		    "101112131415161718191A1B1C1D1E1F", 0600, 0, NULL },
		{ __LINE__, KEY_HEX "\n", 0644, -1, "other users" },
		{ __LINE__, KEY_HEX "\n", 0602, -1, "other users" },
		{ __LINE__, KEY_HEX "\n", 0601, -1, "other users" },
		{ __LINE__, KEY_HEX "\n\n", 0600, -1, "64 hex digits" },
		{ __LINE__, KEY_HEX "0", 0600, -1, "64 hex digits" },
		{ __LINE__, KEY_HEX " ", 0600, -1, "64 hex digits" },
		{ __LINE__, KEY_HEX "\r\n", 0600, -1, "64 hex digits" },
		{ __LINE__, "00" KEY_HEX, 0600, -1, "64 hex digits" },
		{ __LINE__, "000102030405060708090a0b0c0d0e0f"
		    "101112131415161718191a1b1c1d1e1", 0600, -1,
		    "64 hex digits" },
		{ __LINE__, "000102030405060708090a0b0c0d0e0f"
		    "101112131415161718191a1b1c1d1e1g", 0600, -1,
		    "64 hex digits" },
		{ __LINE__, " 00102030405060708090a0b0c0d0e0f"
		    "101112131415161718191a1b1c1d1e1f", 0600, -1,
		    "64 hex digits" },
		{ __LINE__, "", 0600, -1, "64 hex digits" },
		{ __LINE__, KEY_HEX KEY_HEX KEY_HEX, 0600, -1, "too long" },
	};

	for (i = 0; i < NITEMS(tests); i++) {
		write_key_file(path, sizeof(path), tests[i].content,
		    strlen(tests[i].content), tests[i].mode);
		memset(k, 0xff, sizeof(k));
		err[0] = '\0';
		rc = seal_load_key(path, k, err, sizeof(err));
		unlink(path);
		if (rc != tests[i].want)
			fail_msg("line %d: rc %d, want %d (%s)", tests[i].line,
			    rc, tests[i].want, err);
		if (rc == 0 && memcmp(k, key, sizeof(k)) != 0)
			fail_msg("line %d: wrong key bytes", tests[i].line);
		if (rc == -1 && (strstr(err, tests[i].why) == NULL ||
		    strstr(err, path) == NULL))
			fail_msg("line %d: error \"%s\" lacks \"%s\" or the "
			    "path", tests[i].line, err, tests[i].why);
	}

	/* Missing file: the path and the errno text. */
	write_key_file(path, sizeof(path), KEY_HEX, 64, 0600);
	unlink(path);
	assert_int_equal(seal_load_key(path, k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file or directory"));

	/* A symbolic link is not followed, even to a good key file. */
	write_key_file(path, sizeof(path), KEY_HEX, 64, 0600);
	snprintf(link, sizeof(link), "%s.link", path);
	assert_int_equal(symlink(path, link), 0);
	rc = seal_load_key(link, k, err, sizeof(err));
	unlink(link);
	unlink(path);
	assert_int_equal(rc, -1);

	/* A directory is not a key file. */
	assert_int_equal(seal_load_key("/", k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(tamper),
		cmocka_unit_test(wrong_aad),
		cmocka_unit_test(wrong_key),
		cmocka_unit_test(short_input),
		cmocka_unit_test(key_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

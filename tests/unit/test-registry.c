/*
 * test-registry.c: private registry credentials without a database
 * (src/lib/registry.c): the registry of an image reference as Docker
 * normalises it, the servers POST /account/registries accepts, its body,
 * the X-Registry-Auth encoding (against vectors made with Python's
 * base64.urlsafe_b64encode, and decoded back), and the sealed password
 * bound to its account and server.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "batch.h"
#include "registry.h"
#include "seal.h"
#include "util.h"

static const unsigned char key[SEAL_KEY_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

#define SHA	"sha256:" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* An image reference and its registry; NULL: malformed (-1). */
static const struct {
	int		 line;
	const char	*image;
	const char	*server;
} server_of_cases[] = {
	{ __LINE__, "ubuntu", "docker.io" },
	{ __LINE__, "ubuntu:22.04", "docker.io" },
	{ __LINE__, "library/ubuntu", "docker.io" },
	{ __LINE__, "singularitytechnologies/testai:latest", "docker.io" },
	{ __LINE__, "docker.io/library/ubuntu", "docker.io" },
	{ __LINE__, "index.docker.io/library/ubuntu", "docker.io" },
	{ __LINE__, "registry-1.docker.io/team/model:v1", "docker.io" },
	{ __LINE__, "Index.Docker.IO/team/model", "docker.io" },
	{ __LINE__, "index.docker.io:443/team/model", "index.docker.io:443" },
	{ __LINE__, "docker.io:5000/x", "docker.io:5000" },
	{ __LINE__, "registry.example.com/team/model", "registry.example.com" },
	{ __LINE__, "Registry.Example.COM:5000/team/model:1.0",
	    "registry.example.com:5000" },
	{ __LINE__, "registry.example.com:5000/a/b/c@" SHA,
	    "registry.example.com:5000" },
	{ __LINE__, "registry.example.com/a:tag@" SHA,
	    "registry.example.com" },
	{ __LINE__, "localhost/model", "localhost" },
	{ __LINE__, "localhost:5000/model:tag", "localhost:5000" },
	{ __LINE__, "localhost", "docker.io" },	/* docker.io/library/localhost */
	{ __LINE__, "localhost:5000", "docker.io" },	/* a tag, no slash */
	{ __LINE__, "127.0.0.1:5000/x", "127.0.0.1:5000" },
	{ __LINE__, "[::1]:5000/x", "[::1]:5000" },
	{ __LINE__, "[FE80::1]/x:t", "[fe80::1]" },
	{ __LINE__, "Myhost/x", "myhost" },	/* upper case: a host */
	{ __LINE__, "184762988669.dkr.ecr.eu-west-1.amazonaws.com/testai",
	    "184762988669.dkr.ecr.eu-west-1.amazonaws.com" },
	{ __LINE__, "gcr.io/project/image:tag", "gcr.io" },
	{ __LINE__, "ubuntu@" SHA, "docker.io" },
	{ __LINE__, "ubuntu@sha512:abcd", "docker.io" },
	{ __LINE__, "", NULL },
	{ __LINE__, "Ubuntu", NULL },
	{ __LINE__, "/ubuntu", NULL },
	{ __LINE__, "ubuntu/", NULL },
	{ __LINE__, "a//b", NULL },
	{ __LINE__, "ubuntu:", NULL },
	{ __LINE__, "ubuntu:-x", NULL },
	{ __LINE__, "ubuntu:a:b", NULL },
	{ __LINE__, "ubuntu@", NULL },
	{ __LINE__, "ubuntu@sha256:00", NULL },
	{ __LINE__, "ubuntu@sha256:" "0123456789ABCDEF0123456789abcdef"
	    "0123456789abcdef0123456789abcdef", NULL },
	{ __LINE__, "ubuntu@:abc", NULL },
	{ __LINE__, "ubuntu@sha256", NULL },
	{ __LINE__, "ubuntu@sha--256:abc", NULL },
	{ __LINE__, "ubuntu@sha256:" SHA, NULL },
	{ __LINE__, "https://registry.example.com/x", NULL },
	{ __LINE__, "host:99999/x", NULL },
	{ __LINE__, "-host.org/x", NULL },
	{ __LINE__, "[zz]/x", NULL },
	{ __LINE__, "a b", NULL },
	{ __LINE__, "caf\xc3\xa9", NULL },
	{ __LINE__, "../etc/passwd", NULL },
};

static void
test_server_of(void **state)
{
	char	 out[REGISTRY_SERVER_MAX + 1];
	size_t	 i;
	int	 rc;

	(void)state;
	for (i = 0; i < NITEMS(server_of_cases); i++) {
		rc = registry_server_of(server_of_cases[i].image, out,
		    sizeof(out));
		if (server_of_cases[i].server == NULL) {
			if (rc != -1 || out[0] != '\0')
				fail_msg("line %d: \"%s\" gave %d \"%s\", want -1",
				    server_of_cases[i].line,
				    server_of_cases[i].image, rc, out);
			continue;
		}
		if (rc != 0 || strcmp(out, server_of_cases[i].server) != 0)
			fail_msg("line %d: \"%s\" gave %d \"%s\", want \"%s\"",
			    server_of_cases[i].line, server_of_cases[i].image,
			    rc, out, server_of_cases[i].server);
	}
	/* NULL, and an output too small for the server. */
	assert_int_equal(registry_server_of(NULL, out, sizeof(out)), -1);
	assert_int_equal(registry_server_of("registry.example.com/x", out,
	    5), -1);
	assert_int_equal(registry_server_of("ubuntu", out, 5), -1);
	assert_int_equal(registry_server_of("ubuntu", out, 10), 0);
	assert_string_equal(out, "docker.io");
}

/* A server as POSTed and its normal form; NULL: refused. */
static const struct {
	int		 line;
	const char	*in;
	const char	*want;
} server_valid_cases[] = {
	{ __LINE__, "registry.example.com", "registry.example.com" },
	{ __LINE__, "Registry.Example.COM:5000", "registry.example.com:5000" },
	{ __LINE__, "localhost", "localhost" },
	{ __LINE__, "localhost:5000", "localhost:5000" },
	{ __LINE__, "docker.io", "docker.io" },
	{ __LINE__, "index.docker.io", "docker.io" },
	{ __LINE__, "INDEX.docker.io", "docker.io" },
	{ __LINE__, "registry-1.docker.io", "docker.io" },
	{ __LINE__, "index.docker.io:443", "index.docker.io:443" },
	{ __LINE__, "ghcr.io", "ghcr.io" },
	{ __LINE__, "myhost", "myhost" },
	{ __LINE__, "a-b.c-d.example", "a-b.c-d.example" },
	{ __LINE__, "127.0.0.1", "127.0.0.1" },
	{ __LINE__, "10.0.0.1:65535", "10.0.0.1:65535" },
	{ __LINE__, "[::1]", "[::1]" },
	{ __LINE__, "[::1]:5000", "[::1]:5000" },
	{ __LINE__, "[FE80::AB:1]:443", "[fe80::ab:1]:443" },
	{ __LINE__, "[::ffff:10.0.0.1]", "[::ffff:10.0.0.1]" },
	{ __LINE__, "x1.example:1", "x1.example:1" },
	{ __LINE__, "184762988669.dkr.ecr.eu-west-1.amazonaws.com",
	    "184762988669.dkr.ecr.eu-west-1.amazonaws.com" },
	{ __LINE__, "", NULL },
	{ __LINE__, "https://registry.example.com", NULL },
	{ __LINE__, "http://registry.example.com", NULL },
	{ __LINE__, "registry.example.com/", NULL },
	{ __LINE__, "registry.example.com/team", NULL },
	{ __LINE__, "user@registry.example.com", NULL },
	{ __LINE__, "registry.example.com:", NULL },
	{ __LINE__, "registry.example.com:0", NULL },
	{ __LINE__, "registry.example.com:05000", NULL },
	{ __LINE__, "registry.example.com:65536", NULL },
	{ __LINE__, "registry.example.com:5000:1", NULL },
	{ __LINE__, "registry.example.com:http", NULL },
	{ __LINE__, "registry.example.com.", NULL },
	{ __LINE__, ".example.com", NULL },
	{ __LINE__, "a..example.com", NULL },
	{ __LINE__, "-a.example.com", NULL },
	{ __LINE__, "a-.example.com", NULL },
	{ __LINE__, "a_b.example.com", NULL },
	{ __LINE__, "reg istry.example.com", NULL },
	{ __LINE__, " registry.example.com", NULL },
	{ __LINE__, "registry.example.com\n", NULL },
	{ __LINE__, "caf\xc3\xa9.example", NULL },
	{ __LINE__, "300.1.1.1", NULL },
	{ __LINE__, "1.2.3", NULL },
	{ __LINE__, "01.2.3.4", NULL },
	{ __LINE__, "::1", NULL },
	{ __LINE__, "[::1", NULL },
	{ __LINE__, "[]", NULL },
	{ __LINE__, "[::1]]", NULL },
	{ __LINE__, "[::1]5000", NULL },
	{ __LINE__, "[::1]:", NULL },
	{ __LINE__, "[zz::1]", NULL },
	{ __LINE__, "[fe80::1%eth0]", NULL },
	{ __LINE__, "[1.2.3.4]", NULL },
};

static void
test_server_valid(void **state)
{
	char	 out[REGISTRY_SERVER_MAX + 1], big[REGISTRY_SERVER_MAX + 2];
	size_t	 i;
	int	 ok;

	(void)state;
	for (i = 0; i < NITEMS(server_valid_cases); i++) {
		const char *in = server_valid_cases[i].in;

		ok = registry_server_valid(in, strlen(in), out, sizeof(out));
		if (server_valid_cases[i].want == NULL) {
			if (ok != 0 || out[0] != '\0')
				fail_msg("line %d: \"%s\" accepted as \"%s\"",
				    server_valid_cases[i].line, in, out);
			continue;
		}
		if (ok != 1 || strcmp(out, server_valid_cases[i].want) != 0)
			fail_msg("line %d: \"%s\" gave %d \"%s\", want \"%s\"",
			    server_valid_cases[i].line, in, ok, out,
			    server_valid_cases[i].want);
	}

	/* 255 bytes pass, 256 do not; a 64-byte label does not either. */
	memset(big, 'a', sizeof(big));
	for (i = 63; i < sizeof(big); i += 64)
		big[i] = '.';
	big[REGISTRY_SERVER_MAX - 1] = 'a';
	assert_int_equal(registry_server_valid(big, REGISTRY_SERVER_MAX, out,
	    sizeof(out)), 1);
	assert_int_equal(strlen(out), REGISTRY_SERVER_MAX);
	assert_int_equal(registry_server_valid(big, REGISTRY_SERVER_MAX + 1,
	    out, sizeof(out)), 0);
	memset(big, 'a', 64);
	assert_int_equal(registry_server_valid(big, 64, out, sizeof(out)), 0);
	assert_int_equal(registry_server_valid(big, 63, out, sizeof(out)), 1);
	/* A NUL inside, and an output too small. */
	assert_int_equal(registry_server_valid("a\0b", 3, out, sizeof(out)), 0);
	assert_int_equal(registry_server_valid("[::\0\0001]", 7, out,
	    sizeof(out)), 0);
	assert_int_equal(registry_server_valid("[::1]\0", 6, out, sizeof(out)),
	    0);
	assert_int_equal(registry_server_valid("localhost", 9, out, 9), 0);
	assert_int_equal(registry_server_valid("localhost", 9, out, 10), 1);
	assert_int_equal(registry_server_valid(NULL, 0, out, sizeof(out)), 0);
}

/* A POST body that parses, and what it gives. */
static void
test_parse_accepts(void **state)
{
	static const struct {
		int		 line;
		const char	*body;
		const char	*server;
		const char	*username;
		const char	*password;
	} cases[] = {
		{ __LINE__, "{\"server\": \"registry.example.com:5000\", "
		    "\"username\": \"robot$ci\", \"password\": \"s3cr3t\"}",
		    "registry.example.com:5000", "robot$ci", "s3cr3t" },
		{ __LINE__, " \t\r\n{\"password\":\"p\",\"username\":\"u\","
		    "\"server\":\"Index.Docker.IO\"} \r\n\t ",
		    "docker.io", "u", "p" },
		{ __LINE__, "{\"server\": \"[::1]:5000\", \"username\": "
		    "\"user@example.com\", \"password\": \"a \\\"b\\\" "
		    "\\\\ \\u00e9 \\n \\ud83d\\ude00\"}",
		    "[::1]:5000", "user@example.com",
		    "a \"b\" \\ \xc3\xa9 \n \xf0\x9f\x98\x80" },
		{ __LINE__, "{\"server\": \"ghcr.io\", \"username\": \"~!x\", "
		    "\"password\": \"caf\xc3\xa9\"}", "ghcr.io", "~!x",
		    "caf\xc3\xa9" },
	};
	struct registry_req	 q;
	struct batch_error	 e;
	size_t			 i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		if (registry_parse(cases[i].body, strlen(cases[i].body), &q,
		    &e) != 0)
			fail_msg("line %d: refused %d %s: %s", cases[i].line,
			    e.status, e.code, e.msg);
		assert_string_equal(q.server, cases[i].server);
		assert_string_equal(q.username, cases[i].username);
		assert_string_equal(q.password, cases[i].password);
		assert_int_equal(q.password_len, strlen(cases[i].password));
		registry_req_clear(&q);
		assert_int_equal(q.password[0], '\0');
		assert_int_equal(q.password_len, 0);
	}
}

/* A POST body that is refused, with its status and code. */
static const struct {
	int		 line;
	const char	*body;
	size_t		 len;	/* 0: strlen(body) */
	int		 status;
	const char	*code;
} refuse_cases[] = {
#define OK_S	"\"server\": \"r.example\""
#define OK_U	"\"username\": \"u\""
#define OK_P	"\"password\": \"p\""
	{ __LINE__, "", 0, 400, "invalid_json" },
	{ __LINE__, "   ", 0, 400, "invalid_json" },
	{ __LINE__, "null", 0, 400, "invalid_json" },
	{ __LINE__, "[]", 0, 400, "invalid_json" },
	{ __LINE__, "\"x\"", 0, 400, "invalid_json" },
	{ __LINE__, "{" OK_S ", " OK_U ", " OK_P, 0, 400, "invalid_json" },
	{ __LINE__, "{" OK_S ", " OK_U ", " OK_P "} x", 0, 400,
	    "invalid_json" },
	{ __LINE__, "{" OK_S ", " OK_U ", " OK_P "}{}", 0, 400,
	    "invalid_json" },
	{ __LINE__, "{" OK_S ", " OK_U ", " OK_P "},", 0, 400,
	    "invalid_json" },
	{ __LINE__, "\xef\xbb\xbf{" OK_S ", " OK_U ", " OK_P "}", 0, 400,
	    "invalid_json" },
	{ __LINE__, "{" OK_S ", " OK_U ", \"password\": \"a\tb\"}", 0, 400,
	    "invalid_json" },
	{ __LINE__, "{" OK_S ", " OK_U ", \"password\": \"a\x01" "b\"}", 0,
	    400, "invalid_json" },
	{ __LINE__, "{" OK_S ", " OK_U ", \"password\": \"a\x7f" "b\"}", 0,
	    400, "invalid_json" },
	{ __LINE__, "{" OK_S ", " OK_U ", \"password\": \"a\\u0000b\"}", 0,
	    400, "invalid_json" },
	{ __LINE__, "{" OK_S ", " OK_U ", \"password\": \"\xff\"}", 0, 400,
	    "invalid_json" },
	{ __LINE__, "{" OK_S ", " OK_U ", \"password\": \"\\ud800\"}", 0,
	    400, "invalid_json" },
#define WITH_NUL	"{" OK_S ", " OK_U ", " OK_P "}\0"
	{ __LINE__, WITH_NUL, sizeof(WITH_NUL) - 1, 400, "invalid_json" },
#undef WITH_NUL
	{ __LINE__, "{" OK_S ", " OK_U ", " OK_P ", " OK_P "}", 0, 400,
	    "invalid_json" },
	{ __LINE__, "{" OK_S ", " OK_S ", " OK_U ", " OK_P "}", 0, 400,
	    "invalid_json" },
	{ __LINE__, "{" OK_S ", " OK_U ", " OK_P ", \"email\": \"x\"}", 0,
	    400, "unknown_field" },
	{ __LINE__, "{" OK_S ", " OK_U ", \"Password\": \"p\"}", 0, 400,
	    "unknown_field" },
	{ __LINE__, "{\"\": 1}", 0, 400, "unknown_field" },
	{ __LINE__, "{" OK_U ", " OK_P "}", 0, 400, "invalid_server" },
	{ __LINE__, "{\"server\": 5, " OK_U ", " OK_P "}", 0, 400,
	    "invalid_server" },
	{ __LINE__, "{\"server\": null, " OK_U ", " OK_P "}", 0, 400,
	    "invalid_server" },
	{ __LINE__, "{\"server\": \"\", " OK_U ", " OK_P "}", 0, 422,
	    "invalid_server" },
	{ __LINE__, "{\"server\": \"https://r.example\", " OK_U ", " OK_P
	    "}", 0, 422, "invalid_server" },
	{ __LINE__, "{\"server\": \"r.example/team\", " OK_U ", " OK_P "}",
	    0, 422, "invalid_server" },
	{ __LINE__, "{\"server\": \"r.example:99999\", " OK_U ", " OK_P "}",
	    0, 422, "invalid_server" },
	{ __LINE__, "{" OK_S ", " OK_P "}", 0, 400, "invalid_username" },
	{ __LINE__, "{" OK_S ", \"username\": [], " OK_P "}", 0, 400,
	    "invalid_username" },
	{ __LINE__, "{" OK_S ", \"username\": \"\", " OK_P "}", 0, 422,
	    "invalid_username" },
	{ __LINE__, "{" OK_S ", \"username\": \"a b\", " OK_P "}", 0, 422,
	    "invalid_username" },
	{ __LINE__, "{" OK_S ", \"username\": \"a:b\", " OK_P "}", 0, 422,
	    "invalid_username" },
	{ __LINE__, "{" OK_S ", \"username\": \"a\\nb\", " OK_P "}", 0, 422,
	    "invalid_username" },
	{ __LINE__, "{" OK_S ", \"username\": \"caf\xc3\xa9\", " OK_P "}", 0,
	    422, "invalid_username" },
	{ __LINE__, "{" OK_S ", " OK_U "}", 0, 400, "invalid_password" },
	{ __LINE__, "{" OK_S ", " OK_U ", \"password\": true}", 0, 400,
	    "invalid_password" },
	{ __LINE__, "{" OK_S ", " OK_U ", \"password\": \"\"}", 0, 422,
	    "invalid_password" },
#undef OK_S
#undef OK_U
#undef OK_P
};

static void
test_parse_refuses(void **state)
{
	struct registry_req	 q;
	struct batch_error	 e;
	char			 body[8192];
	size_t			 i, len;
	int			 k;

	(void)state;
	for (i = 0; i < NITEMS(refuse_cases); i++) {
		len = refuse_cases[i].len != 0 ? refuse_cases[i].len :
		    strlen(refuse_cases[i].body);
		if (registry_parse(refuse_cases[i].body, len, &q, &e) != 1)
			fail_msg("line %d: accepted", refuse_cases[i].line);
		if (e.status != refuse_cases[i].status ||
		    strcmp(e.code, refuse_cases[i].code) != 0 ||
		    e.msg[0] == '\0')
			fail_msg("line %d: %d %s, want %d %s",
			    refuse_cases[i].line, e.status, e.code,
			    refuse_cases[i].status, refuse_cases[i].code);
		/* Refused, the request holds no password. */
		assert_int_equal(q.password[0], '\0');
	}
	assert_int_equal(registry_parse(NULL, 0, &q, &e), 1);
	assert_string_equal(e.code, "invalid_json");

	/* An unknown key is named when it is short and printable. */
	k = snprintf(body, sizeof(body), "{\"passwd\": \"x\"}");
	assert_int_equal(registry_parse(body, (size_t)k, &q, &e), 1);
	assert_non_null(strstr(e.msg, "\"passwd\""));

	/* Lengths: 255 and 1024 pass, 256 and 1025 do not. */
	k = snprintf(body, sizeof(body), "{\"server\": \"r.example\", "
	    "\"username\": \"%0*d\", \"password\": \"%0*d\"}",
	    REGISTRY_USERNAME_MAX, 0, REGISTRY_PASSWORD_MAX, 0);
	assert_int_equal(registry_parse(body, (size_t)k, &q, &e), 0);
	assert_int_equal(q.password_len, REGISTRY_PASSWORD_MAX);
	registry_req_clear(&q);
	k = snprintf(body, sizeof(body), "{\"server\": \"r.example\", "
	    "\"username\": \"%0*d\", \"password\": \"p\"}",
	    REGISTRY_USERNAME_MAX + 1, 0);
	assert_int_equal(registry_parse(body, (size_t)k, &q, &e), 1);
	assert_string_equal(e.code, "invalid_username");
	assert_int_equal(e.status, 422);
	k = snprintf(body, sizeof(body), "{\"server\": \"r.example\", "
	    "\"username\": \"u\", \"password\": \"%0*d\"}",
	    REGISTRY_PASSWORD_MAX + 1, 0);
	assert_int_equal(registry_parse(body, (size_t)k, &q, &e), 1);
	assert_string_equal(e.code, "invalid_password");
	assert_int_equal(e.status, 422);
	/* 1024 bytes as 512 two-byte characters: bytes are counted. */
	len = (size_t)snprintf(body, sizeof(body), "{\"server\": \"r.example\""
	    ", \"username\": \"u\", \"password\": \"");
	for (i = 0; i < REGISTRY_PASSWORD_MAX / 2; i++) {
		memcpy(body + len, "\xc3\xa9", 2);
		len += 2;
	}
	memcpy(body + len, "\"}", 3);
	assert_int_equal(registry_parse(body, len + 2, &q, &e), 0);
	assert_int_equal(q.password_len, REGISTRY_PASSWORD_MAX);
	registry_req_clear(&q);
	memcpy(body + len, "x\"}", 4);
	assert_int_equal(registry_parse(body, len + 3, &q, &e), 1);
	assert_string_equal(e.code, "invalid_password");
}

/*
 * Base64 with the URL-safe alphabet back to bytes (the test's own decoder:
 * the alphabet swapped back, then OpenSSL's block decoder, the padding
 * taken off). Returns the length, or -1.
 */
static int
urlsafe_decode(const char *s, unsigned char *out, size_t cap)
{
	char	*std;
	size_t	 n = strlen(s), i;
	int	 got;

	if (n % 4 != 0 || n / 4 * 3 > cap)
		return -1;
	std = strdup(s);
	assert_non_null(std);
	for (i = 0; i < n; i++) {
		if (std[i] == '+' || std[i] == '/') {
			free(std);
			return -1;	/* not the URL-safe alphabet */
		}
		if (std[i] == '-')
			std[i] = '+';
		else if (std[i] == '_')
			std[i] = '/';
	}
	got = EVP_DecodeBlock(out, (unsigned char *)std, (int)n);
	if (got >= 0 && n >= 1 && std[n - 1] == '=')
		got--;
	if (got >= 0 && n >= 2 && std[n - 2] == '=')
		got--;
	free(std);
	return got;
}

static void
test_auth_header(void **state)
{
	/* Made with base64.urlsafe_b64encode() of the compact JSON. */
	static const struct {
		int		 line;
		const char	*password;
		const char	*want;
	} vectors[] = {
		{ __LINE__, "s3cr3t?>~",
		    "eyJ1c2VybmFtZSI6InJvYm90JGNpIiwicGFzc3dvcmQiOiJzM2NyM3Q_"
		    "Pn4iLCJzZXJ2ZXJhZGRyZXNzIjoicmVnaXN0cnkuZXhhbXBsZS5jb206"
		    "NTAwMCJ9" },
		{ __LINE__, "p>?~\"\\\xc3\xa9 x",
		    "eyJ1c2VybmFtZSI6InJvYm90JGNpIiwicGFzc3dvcmQiOiJwPj9-XCJc"
		    "XMOpIHgiLCJzZXJ2ZXJhZGRyZXNzIjoicmVnaXN0cnkuZXhhbXBsZS5j"
		    "b206NTAwMCJ9" },
		{ __LINE__, "hunter2",
		    "eyJ1c2VybmFtZSI6InJvYm90JGNpIiwicGFzc3dvcmQiOiJodW50ZXIy"
		    "Iiwic2VydmVyYWRkcmVzcyI6InJlZ2lzdHJ5LmV4YW1wbGUuY29tOjUw"
		    "MDAifQ==" },
	};
	static const char *const passwords[] = { "p", "pa", "pas", "pass",
	    "\xf0\x9f\x98\x80\"\\/\n\t", "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~",
	    "?>?>?>?>?>?>?>?>?>?>>>" };
	unsigned char	 dec[4096];
	cJSON		*j;
	char		*h;
	size_t		 i;
	int		 n;

	(void)state;
	for (i = 0; i < NITEMS(vectors); i++) {
		h = registry_auth_header("robot$ci", vectors[i].password,
		    "registry.example.com:5000");
		assert_non_null(h);
		if (strcmp(h, vectors[i].want) != 0)
			fail_msg("line %d: %s", vectors[i].line, h);
		free(h);
	}
	/* Decoded back: the three fields, exactly, and nothing else. */
	for (i = 0; i < NITEMS(passwords); i++) {
		h = registry_auth_header("user", passwords[i], "docker.io");
		assert_non_null(h);
		assert_null(strpbrk(h, "+/\n\r "));
		n = urlsafe_decode(h, dec, sizeof(dec) - 1);
		assert_true(n > 0);
		dec[n] = '\0';
		j = cJSON_ParseWithLength((const char *)dec, (size_t)n);
		assert_non_null(j);
		assert_int_equal(cJSON_GetArraySize(j), 3);
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(j,
		    "username")->valuestring, "user");
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(j,
		    "password")->valuestring, passwords[i]);
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(j,
		    "serveraddress")->valuestring, "docker.io");
		cJSON_Delete(j);
		free(h);
	}
	assert_null(registry_auth_header(NULL, "p", "s"));
	assert_null(registry_auth_header("u", NULL, "s"));
	assert_null(registry_auth_header("u", "p", NULL));
}

static void
test_seal(void **state)
{
	static const char	 pw[] = "s3cr3t \xc3\xa9";
	static const char	 aad[] = "registry\n42\nregistry.example.com:5000";
	unsigned char		 sealed[REGISTRY_SEALED_MAX];
	unsigned char		 other[REGISTRY_SEALED_MAX];
	char			 plain[REGISTRY_PASSWORD_MAX + 1];
	size_t			 n = sizeof(pw) - 1, slen = n + SEAL_OVERHEAD;
	long			 got;

	(void)state;
	assert_int_equal(registry_seal(key, 42, "registry.example.com:5000",
	    pw, n, sealed), 0);
	assert_null(memmem(sealed, slen, pw, n));

	/* Round trip. */
	got = registry_unseal(key, 42, "registry.example.com:5000", sealed,
	    slen, plain);
	assert_int_equal(got, (long)n);
	assert_string_equal(plain, pw);

	/* The AAD is exactly "registry\n" <id> "\n" <server>. */
	memset(plain, 0, sizeof(plain));
	assert_int_equal(seal_decrypt(key, aad, sizeof(aad) - 1, sealed, slen,
	    plain), (long)n);
	assert_memory_equal(plain, pw, n);
	assert_int_equal(seal_decrypt(key, aad, sizeof(aad) - 2, sealed, slen,
	    plain), -1);
	assert_int_equal(seal_decrypt(key, "registry\n42\n", 12, sealed, slen,
	    plain), -1);
	assert_int_equal(seal_decrypt(key, NULL, 0, sealed, slen, plain), -1);
	/* Sealed by hand with that AAD, it opens through registry_unseal. */
	assert_int_equal(seal_encrypt(key, aad, sizeof(aad) - 1, pw, n, other),
	    0);
	assert_int_equal(registry_unseal(key, 42, "registry.example.com:5000",
	    other, slen, plain), (long)n);

	/* Another account, another server, a tampered byte: no. */
	assert_int_equal(registry_unseal(key, 43, "registry.example.com:5000",
	    sealed, slen, plain), -1);
	assert_int_equal(registry_unseal(key, 4, "registry.example.com:5000",
	    sealed, slen, plain), -1);
	assert_int_equal(registry_unseal(key, 42, "registry.example.com",
	    sealed, slen, plain), -1);
	assert_int_equal(registry_unseal(key, 42, "docker.io", sealed, slen,
	    plain), -1);
	memcpy(other, sealed, slen);
	other[slen / 2] ^= 0x01;
	assert_int_equal(registry_unseal(key, 42, "registry.example.com:5000",
	    other, slen, plain), -1);
	assert_int_equal(registry_unseal(key, 42, "registry.example.com:5000",
	    sealed, slen - 1, plain), -1);
	assert_int_equal(registry_unseal(key, 42, "registry.example.com:5000",
	    sealed, SEAL_OVERHEAD - 1, plain), -1);

	/* Passwords the table cannot hold are not sealed. */
	assert_int_equal(registry_seal(key, 42, "r.example", pw, 0, sealed),
	    -1);
	assert_int_equal(registry_seal(key, 42, "r.example", pw,
	    REGISTRY_PASSWORD_MAX + 1, sealed), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_of),
		cmocka_unit_test(test_server_valid),
		cmocka_unit_test(test_parse_accepts),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_auth_header),
		cmocka_unit_test(test_seal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

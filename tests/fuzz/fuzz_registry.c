/*
 * fuzz_registry.c: libFuzzer target for the POST /account/registries body
 * parser (registry_parse()), the registry of an image reference
 * (registry_server_of()) and the servers the API accepts
 * (registry_server_valid()), in src/lib/registry.c. Every input goes
 * through all three: as a body, as a reference (cut at its first NUL) and
 * as a server.
 *
 * Invariants checked on every input:
 *   - the parser returns 0 or 1; refused, a 400 or 422 status, a code, a
 *     sentence, and no password left in the request; accepted, a server
 *     registry_server_valid() gives back unchanged, a username of 1-255
 *     bytes 0x21-0x7E but ':', a password of 1-1024 bytes without NUL, and
 *     an X-Registry-Auth value in the URL-safe alphabet, padded;
 *   - a registry found in a reference is 1-255 bytes, lower-case, holds no
 *     '/' or '@' and is no Docker Hub alias; on -1 the output is empty;
 *   - an accepted server is normalised (lower-case, the same again) and,
 *     when it holds '.' or ':' or is localhost, is the registry of
 *     SERVER/x.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "registry.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
has_upper(const char *s)
{

	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			return 1;
	return 0;
}

static void
check_parse(const uint8_t *data, size_t size)
{
	struct registry_req	 q;
	struct batch_error	 e;
	char			 again[REGISTRY_SERVER_MAX + 1], *h;
	size_t			 i, n;
	int			 rc;

	rc = registry_parse((const char *)data, size, &q, &e);
	if (rc == 1) {
		if ((e.status != 400 && e.status != 422) || e.code == NULL ||
		    e.msg[0] == '\0' || q.password[0] != '\0' ||
		    q.password_len != 0)
			abort();
		return;
	}
	if (rc != 0)
		abort();
	if (registry_server_valid(q.server, strlen(q.server), again,
	    sizeof(again)) != 1 || strcmp(again, q.server) != 0)
		abort();
	n = strlen(q.username);
	if (n == 0 || n > REGISTRY_USERNAME_MAX)
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)q.username[i] < 0x21 ||
		    (unsigned char)q.username[i] > 0x7e || q.username[i] == ':')
			abort();
	if (q.password_len == 0 || q.password_len > REGISTRY_PASSWORD_MAX ||
	    strlen(q.password) != q.password_len)
		abort();
	if ((h = registry_auth_header(q.username, q.password,
	    q.server)) == NULL)
		abort();
	n = strlen(h);
	if (n == 0 || n % 4 != 0 || strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_=") != n)
		abort();
	free(h);
	registry_req_clear(&q);
}

static void
check_server_of(const char *image)
{
	char	 out[REGISTRY_SERVER_MAX + 1];
	size_t	 n;

	if (registry_server_of(image, out, sizeof(out)) == -1) {
		if (out[0] != '\0')
			abort();
		return;
	}
	n = strlen(out);
	if (n == 0 || n > REGISTRY_SERVER_MAX || has_upper(out) ||
	    strchr(out, '/') != NULL || strchr(out, '@') != NULL ||
	    strcmp(out, "index.docker.io") == 0 ||
	    strcmp(out, "registry-1.docker.io") == 0)
		abort();
}

static void
check_server_valid(const uint8_t *data, size_t size)
{
	char	 out[REGISTRY_SERVER_MAX + 1], again[REGISTRY_SERVER_MAX + 1];
	char	 image[REGISTRY_SERVER_MAX + 3];
	size_t	 n;

	if (registry_server_valid((const char *)data, size, out,
	    sizeof(out)) != 1) {
		if (out[0] != '\0')
			abort();
		return;
	}
	n = strlen(out);
	if (n == 0 || n > REGISTRY_SERVER_MAX || has_upper(out) ||
	    registry_server_valid(out, n, again, sizeof(again)) != 1 ||
	    strcmp(out, again) != 0)
		abort();
	/* SERVER/x must fit the 255 bytes of a repository name. */
	if (n + 2 > BATCH_IMAGE_MAX || (strchr(out, '.') == NULL &&
	    strchr(out, ':') == NULL && strcmp(out, "localhost") != 0))
		return;
	memcpy(image, out, n);
	memcpy(image + n, "/x", 3);
	if (registry_server_of(image, again, sizeof(again)) != 0 ||
	    strcmp(again, out) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	check_parse(data, size);
	check_server_valid(data, size);
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_server_of(s);
	free(s);
	return 0;
}

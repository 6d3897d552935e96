/*
 * fuzz_shard_path.c: libFuzzer target for the path handling of st-data:
 * routing against the data routes, the {set} reference parser, the
 * {shard_id} parser and the blob store path built from a shard id.
 *
 * The first input byte picks the method; the rest is the path. Invariants:
 * a parsed shard id is exactly 64 lowercase hex digits that the store
 * accepts, and its store path lies under ROOT/shards/ with no "..", no
 * other '/' than the fan-out ones; a {set} classified as a name holds only
 * [A-Za-z0-9_.-], as a UUID the canonical lowercase form.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "http.h"
#include "route.h"
#include "store.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
h(struct responder *rs, struct http_req *r)
{
	return 0;
}

/* The patterns and methods of st-data's table (src/responders/st-data.c). */
static const struct route routes[] = {
	{ HTTP_POST, "/data/{set}/shard/{shard_id}", 1, h, 0, 1 },
	{ HTTP_DELETE, "/data/{set}/shard/{shard_id}", 1, h, 0, 0 },
	{ HTTP_POST, "/data/{set}/shard", 1, h, 0, 1 },
	{ HTTP_GET | HTTP_HEAD, "/data/{set}", 1, h, 0, 0 },
	{ HTTP_DELETE, "/data/{set}", 1, h, 0, 0 },
	{ HTTP_GET | HTTP_HEAD, "/data", 1, h, 0, 0 },
	{ HTTP_POST, "/data", 1, h, 0, 0 },
};

static const enum http_method methods[] = {
	HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_DELETE, HTTP_PUT, HTTP_OTHER,
};

#define ROOT	"/srv/store"

static void
check_shard_id(const char *s)
{
	char	 sha[DATASET_SHA_HEX + 1], *p;
	size_t	 i;

	if (dataset_shard_id_parse(s, strlen(s), sha) == -1) {
		if (sha[0] != '\0')
			__builtin_trap();
		return;
	}
	if (strlen(sha) != 64 || !store_sha256_valid(sha, 64))
		__builtin_trap();
	for (i = 0; i < 64; i++)
		if ((s[i] | 0x20) != sha[i])
			__builtin_trap();
	if ((p = store_shard_path(ROOT, sha)) == NULL)
		__builtin_trap();
	if (strncmp(p, ROOT "/shards/", sizeof(ROOT "/shards/") - 1) != 0 ||
	    strstr(p, "..") != NULL ||
	    strlen(p) != sizeof(ROOT "/shards/ab/cd/.zip") - 1 + 64 ||
	    strchr(p + sizeof(ROOT "/shards/ab/cd/") - 1, '/') != NULL)
		__builtin_trap();
	free(p);
}

static void
check_set_ref(const char *s)
{
	char	 uuid[UUID_STR_LEN + 1];
	size_t	 i, n = strlen(s);
	int	 kind;

	kind = dataset_ref_parse(s, n, uuid);
	if (kind & DATASET_REF_NAME) {
		if (n == 0 || n > DATASET_NAME_MAX)
			__builtin_trap();
		for (i = 0; i < n; i++)
			if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
			    "qrstuvwxyz0123456789_.-", s[i]) == NULL)
				__builtin_trap();
	}
	if (kind & DATASET_REF_UUID) {
		if (strlen(uuid) != UUID_STR_LEN)
			__builtin_trap();
		for (i = 0; i < UUID_STR_LEN; i++)
			if (uuid[i] != (char)(s[i] >= 'A' && s[i] <= 'F' ?
			    s[i] + 32 : s[i]))
				__builtin_trap();
	} else if (uuid[0] != '\0')
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req		 r;
	const struct route	*rt;
	unsigned		 allow;
	int			 status;

	if (size < 1 || size > 8192)
		return 0;
	memset(&r, 0, sizeof(r));
	r.method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
	r.path = malloc(size);
	if (r.path == NULL)
		return 0;
	memcpy(r.path, data + 1, size - 1);
	r.path[size - 1] = '\0';

	/* Every segment of the path, alone, through both parsers. */
	check_shard_id(r.path);
	check_set_ref(r.path);

	rt = route_match(routes, sizeof(routes) / sizeof(routes[0]), &r,
	    &status, &allow);
	if (rt == NULL) {
		if (status != 404 && status != 405)
			__builtin_trap();
		if ((status == 405) != (allow != 0))
			__builtin_trap();
	} else {
		if (strncmp(r.path, "/data", 5) != 0 ||
		    r.nparams != (size_t)(strchr(rt->pattern, '{') == NULL ?
		    0 : strstr(rt->pattern, "{shard_id}") != NULL ? 2 : 1))
			__builtin_trap();
		if (r.nparams >= 1)
			check_set_ref(r.params[0]);
		if (r.nparams >= 2)
			check_shard_id(r.params[1]);
	}
	free(r.param_buf);
	free(r.path);
	return 0;
}

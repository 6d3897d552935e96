/*
 * test-cli-pack.c: folder scan, shard plan and deterministic zips
 * (src/cli/cli-pack.c): the same files give the same bytes whatever their
 * mtimes or order; no zip exceeds 10 MiB, even for incompressible files at
 * the very edge of the bound; a file that cannot fit is refused by name;
 * the fixed-seed shuffle is repeatable.
 */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zip.h>

#include "cli.h"

static char	 dir[64];
static uint64_t	 rng_state = 0x2545f4914f6cdd1dULL;

/* Deterministic xorshift64*, so a failure reproduces. */
static uint64_t
rng(void)
{

	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* Write n bytes (random, or text when text) to dir/name. */
static void
put(const char *name, size_t n, int text)
{
	char		 path[512];
	unsigned char	*buf;
	FILE		*f;
	size_t		 i;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(buf = malloc(n + 8));
	for (i = 0; i < n; i += 8) {
		uint64_t r = rng();

		memcpy(buf + i, &r, 8);
	}
	if (text)
		for (i = 0; i < n; i++)
			buf[i] = (unsigned char)('a' + i % 7);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
	free(buf);
}

static int
setup(void **state)
{

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test-cli-pack.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static int
teardown(void **state)
{
	char	 cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_scan(void **state)
{
	struct cli_files f;
	char		 path[512], err[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/scan", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/scan/sub", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/scan/sub/.hidden", dir);
	mkdir(path, 0755);
	put("scan/b.txt", 3, 1);
	put("scan/a.txt", 5, 1);
	put("scan/sub/c.bin", 0, 1);
	put("scan/sub/.hidden/d", 1, 1);
	put("scan/.singularity-imprint.json", 2, 1);
	put("scan/.singularity-imprint.json.tmp", 2, 1);
	snprintf(path, sizeof(path), "%s/scan/link", dir);
	assert_int_equal(symlink("a.txt", path), 0);
	snprintf(path, sizeof(path), "%s/scan", dir);
	assert_int_equal(cli_scan(path, ".singularity-imprint.json", &f, err,
	    sizeof(err)), 0);
	assert_int_equal(f.n, 4);
	assert_string_equal(f.v[0].name, "a.txt");
	assert_int_equal(f.v[0].size, 5);
	assert_string_equal(f.v[1].name, "b.txt");
	assert_string_equal(f.v[2].name, "sub/.hidden/d");
	assert_string_equal(f.v[3].name, "sub/c.bin");
	assert_int_equal(f.v[3].size, 0);
	assert_true(f.v[0].mtime_s > 0);
	cli_files_free(&f);
	snprintf(path, sizeof(path), "%s/nonexistent", dir);
	assert_int_equal(cli_scan(path, NULL, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nonexistent"));
}

static void
test_shuffle(void **state)
{
	struct cli_file	 v[100], *a[100], *b[100];
	size_t		 i, k, moved = 0;

	(void)state;
	for (i = 0; i < 100; i++)
		a[i] = b[i] = &v[i];
	cli_shuffle(a, 100, CLI_SHUFFLE_SEED);
	cli_shuffle(b, 100, CLI_SHUFFLE_SEED);
	for (i = 0; i < 100; i++) {
		assert_ptr_equal(a[i], b[i]);
		moved += a[i] != &v[i];
		for (k = 0; k < i; k++)
			assert_ptr_not_equal(a[i], a[k]);	/* a permutation */
	}
	assert_true(moved > 90);
	cli_shuffle(b, 100, CLI_SHUFFLE_SEED + 1);
	assert_memory_not_equal(a, b, sizeof(a));
	cli_shuffle(a, 0, CLI_SHUFFLE_SEED);
	cli_shuffle(a, 1, CLI_SHUFFLE_SEED);
}

/* A cli_file of that name and size (name borrowed). */
static struct cli_file
file(const char *name, uint64_t size)
{
	struct cli_file	 f;

	memset(&f, 0, sizeof(f));
	f.name = (char *)(uintptr_t)name;
	f.size = size;
	return f;
}

static void
test_plan(void **state)
{
	struct cli_file	 v[5], *p[5];
	size_t		*starts, n, i;
	uint64_t	 b;
	char		 err[256];

	(void)state;
	b = cli_entry_bound("x", 100);
	for (i = 0; i < 5; i++) {
		v[i] = file("x", 100);
		p[i] = &v[i];
	}
	/* Exactly two entries fit: groups of 2, 2, 1. */
	assert_int_equal(cli_plan(p, 5, CLI_ZIP_FIXED + 2 * b, &starts, &n,
	    err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_int_equal(starts[0], 0);
	assert_int_equal(starts[1], 2);
	assert_int_equal(starts[2], 4);
	assert_int_equal(starts[3], 5);
	free(starts);
	/* One byte less: one per group. */
	assert_int_equal(cli_plan(p, 5, CLI_ZIP_FIXED + 2 * b - 1, &starts,
	    &n, err, sizeof(err)), 0);
	assert_int_equal(n, 5);
	free(starts);
	/* No file: no group. */
	assert_int_equal(cli_plan(p, 0, CLI_SHARD_MAX, &starts, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 0);
	free(starts);
	/* A file that cannot fit alone is named. */
	v[3] = file("big/one.bin", CLI_SHARD_MAX);
	assert_int_equal(cli_plan(p, 5, CLI_SHARD_MAX, &starts, &n, err,
	    sizeof(err)), -1);
	assert_null(starts);
	assert_non_null(strstr(err, "big/one.bin is 10485760 bytes"));
}

/* Pack the named files of dir; returns the zip, sets its length and sha. */
static unsigned char *
pack(const char *const *names, size_t n, size_t *len, char sha[65])
{
	struct cli_file	*v, **p;
	unsigned char	*zip;
	char		 err[512];
	size_t		 i;

	v = calloc(n, sizeof(*v));
	p = calloc(n, sizeof(*p));
	for (i = 0; i < n; i++) {
		v[i] = file(names[i], 0);
		p[i] = &v[i];
	}
	if (cli_pack(dir, p, n, &zip, len, sha, err, sizeof(err)) != 0)
		fail_msg("cli_pack: %s", err);
	for (i = 0; i < n; i++)
		assert_int_equal(strlen(v[i].sha256), 64);
	free(v);
	free(p);
	return zip;
}

static void
test_deterministic(void **state)
{
	const char	*names[] = { "d1.txt", "d2.bin", "sub-d3.txt" };
	const char	*other[] = { "sub-d3.txt", "d1.txt", "d2.bin" };
	unsigned char	*z1, *z2, *z3;
	size_t		 l1, l2, l3;
	char		 s1[65], s2[65], s3[65], path[512];
	struct timespec	 ts[2] = { { 1000000, 0 }, { 1000000, 0 } };
	zip_source_t	*src;
	zip_t		*za;
	zip_stat_t	 st;
	zip_error_t	 ze;

	(void)state;
	put("d1.txt", 5000, 1);
	put("d2.bin", 70000, 0);
	put("sub-d3.txt", 1, 1);
	z1 = pack(names, 3, &l1, s1);
	/* Other mtimes, another order: the same bytes. */
	snprintf(path, sizeof(path), "%s/d1.txt", dir);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	z2 = pack(other, 3, &l2, s2);
	assert_int_equal(l1, l2);
	assert_memory_equal(z1, z2, l1);
	assert_string_equal(s1, s2);
	cli_sha256_hex(z1, l1, s3);
	assert_string_equal(s1, s3);
	/* One byte more in a file: other bytes. */
	put("sub-d3.txt", 2, 1);
	z3 = pack(names, 3, &l3, s3);
	assert_string_not_equal(s1, s3);

	/* A valid zip: names in order, the fixed date, the content. */
	zip_error_init(&ze);
	assert_non_null(src = zip_source_buffer_create(z1, l1, 0, &ze));
	assert_non_null(za = zip_open_from_source(src, ZIP_RDONLY |
	    ZIP_CHECKCONS, &ze));
	assert_int_equal(zip_get_num_entries(za, 0), 3);
	assert_string_equal(zip_get_name(za, 0, 0), "d1.txt");
	assert_string_equal(zip_get_name(za, 1, 0), "d2.bin");
	assert_string_equal(zip_get_name(za, 2, 0), "sub-d3.txt");
	assert_int_equal(zip_stat_index(za, 1, 0, &st), 0);
	assert_int_equal(st.size, 70000);
	assert_int_equal(st.mtime, 315532800);	/* 1980-01-01 00:00 UTC */
	assert_int_equal(st.comp_method, ZIP_CM_DEFLATE);
	zip_discard(za);
	zip_error_fini(&ze);
	free(z1);
	free(z2);
	free(z3);
}

/*
 * The 10 MiB bound: random (incompressible) files cut by the plan never
 * make a zip over the limit, not even one file at the largest size the
 * plan accepts.
 */
static void
test_bound(void **state)
{
	struct cli_files f;
	struct cli_file	**p;
	unsigned char	*zip;
	size_t		*starts, n, g, i, len, edge;
	uint64_t	 total = 0;
	char		 name[64], err[512], sha[65], path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/bound", dir);
	mkdir(path, 0755);
	for (i = 0; i < 24; i++) {
		snprintf(name, sizeof(name), "bound/f%02zu.bin", i);
		put(name, 100000 + (size_t)(rng() % 1900000), 0);
	}
	assert_int_equal(cli_scan(path, NULL, &f, err, sizeof(err)), 0);
	p = calloc(f.n, sizeof(*p));
	for (i = 0; i < f.n; i++) {
		p[i] = &f.v[i];
		total += f.v[i].size;
	}
	cli_shuffle(p, f.n, CLI_SHUFFLE_SEED);
	assert_int_equal(cli_plan(p, f.n, CLI_SHARD_MAX, &starts, &n, err,
	    sizeof(err)), 0);
	assert_true(n >= (total + CLI_SHARD_MAX - 1) / CLI_SHARD_MAX);
	assert_true(n <= (total + CLI_SHARD_MAX - 1) / CLI_SHARD_MAX + 1);
	for (g = 0; g < n; g++) {
		if (cli_pack(path, p + starts[g], starts[g + 1] - starts[g],
		    &zip, &len, sha, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_true(len <= CLI_SHARD_MAX);
		free(zip);
	}
	free(starts);
	free(p);
	cli_files_free(&f);

	/* The largest file the plan takes, incompressible: still fits. */
	for (edge = CLI_SHARD_MAX; cli_entry_bound("edge.bin", edge) +
	    CLI_ZIP_FIXED > CLI_SHARD_MAX; edge--)
		continue;
	put("edge.bin", edge, 0);
	{
		const char *names[] = { "edge.bin" };
		struct cli_file e = file("edge.bin", edge), e1 = file("edge.bin",
		    edge + 1), *pe = &e, *pe1 = &e1;

		assert_int_equal(cli_plan(&pe, 1, CLI_SHARD_MAX, &starts, &n,
		    err, sizeof(err)), 0);
		free(starts);
		assert_int_equal(cli_plan(&pe1, 1, CLI_SHARD_MAX, &starts, &n,
		    err, sizeof(err)), -1);
		zip = pack(names, 1, &len, sha);
		assert_true(len <= CLI_SHARD_MAX);
		assert_true(len > edge);
		free(zip);
	}
}

static void
test_pack_missing(void **state)
{
	struct cli_file	 v = file("no/such/file", 1), *p = &v;
	unsigned char	*zip;
	size_t		 len;
	char		 sha[65], err[512];

	(void)state;
	assert_int_equal(cli_pack(dir, &p, 1, &zip, &len, sha, err,
	    sizeof(err)), -1);
	assert_null(zip);
	assert_non_null(strstr(err, "no/such/file"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_shuffle),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_pack_missing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

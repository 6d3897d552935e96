/*
 * test-cli-imprint.c: the imprint of `dataset add` (src/cli/cli-imprint.c):
 * its JSON round trip and refusals, an atomic save, and the diff against
 * the folder: unchanged and merely touched files keep their shard; a changed
 * or removed file breaks its shard (retired when it was uploaded) and hands
 * its other files back in their old order; new files come last, shuffled.
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

#include "cli.h"

static char	 dir[64];

static void
put(const char *name, const char *text)
{
	char	 path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* Set dir/name's mtime to t seconds. */
static void
mtime(const char *name, time_t t)
{
	struct timespec	 ts[2];
	char		 path[512];

	ts[0].tv_sec = ts[1].tv_sec = t;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static int
setup(void **state)
{

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test-cli-imprint.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	 cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Fake shard id i. */
static void
fake_id(char id[65], int i)
{

	snprintf(id, 65, "%064x", i);
}

static void
test_round_trip(void **state)
{
	struct cli_imprint a, b;
	struct cli_file	 f[2], *p[2];
	struct cli_ishard *s;
	char		*t1, *t2, err[256], id[65];

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(f, 0, sizeof(f));
	a.set_name = strdup("digits");
	a.set_uuid = strdup("47c07222-d400-4970-9831-0abdfe24ff2a");
	f[0].name = (char *)"a/b.txt";
	f[0].size = 12;
	f[0].mtime_s = 1700000000;
	f[0].mtime_ns = 123456789;
	strcpy(f[0].sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	f[1].name = (char *)"caf\xc3\xa9.txt";
	f[1].size = 4294967297ULL;		/* over 32 bits */
	p[0] = &f[0];
	p[1] = &f[1];
	s = cli_imprint_add(&a, p, 2);
	fake_id(s->id, 1);
	s->size = 777;
	s->uploaded = 1;
	cli_imprint_add(&a, p, 1);		/* not packed yet: id null */
	fake_id(id, 9);
	cli_imprint_retire(&a, id);
	cli_imprint_retire(&a, id);		/* once */
	assert_int_equal(a.nretired, 1);
	assert_non_null(t1 = cli_imprint_text(&a));
	assert_int_equal(cli_imprint_parse(&b, t1, strlen(t1), err,
	    sizeof(err)), 0);
	assert_non_null(t2 = cli_imprint_text(&b));
	assert_string_equal(t1, t2);
	assert_int_equal(b.n, 2);
	assert_string_equal(b.shards[0].files[1].name, "caf\xc3\xa9.txt");
	assert_int_equal(b.shards[0].files[0].mtime_ns, 123456789);
	assert_int_equal(b.shards[0].files[1].size, 4294967297ULL);
	assert_true(b.shards[0].uploaded);
	assert_string_equal(b.shards[1].id, "");
	assert_false(b.shards[1].uploaded);
	assert_string_equal(b.set_name, "digits");
	free(t1);
	free(t2);
	cli_imprint_free(&a);
	cli_imprint_free(&b);
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"", "[]", "{}",
		"{\"version\": 2, \"shards\": []}",
		"{\"version\": 1}",
		"{\"version\": 1, \"shards\": [{\"id\": \"xyz\", \"files\": []}]}",
		"{\"version\": 1, \"shards\": [{\"id\": null}]}",
		"{\"version\": 1, \"shards\": [{\"id\": null, \"files\": [{\"name\": \"a\"}]}]}",
		"{\"version\": 1, \"shards\": [{\"id\": null, \"files\": [{\"name\": \"a\", \"size\": -1, \"mtime\": 0, \"mtime_ns\": 0}]}]}",
		"{\"version\": 1, \"shards\": [{\"id\": null, \"files\": [{\"name\": \"a\", \"size\": 1.5, \"mtime\": 0, \"mtime_ns\": 0}]}]}",
		"{\"version\": 1, \"shards\": [{\"id\": null, \"files\": [{\"name\": \"a\", \"size\": 1, \"mtime\": 0, \"mtime_ns\": 1000000000}]}]}",
		"{\"version\": 1, \"shards\": [], \"retired\": [\"abc\"]}",
	};
	struct cli_imprint imp;
	char		 err[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cli_imprint_parse(&imp, bad[i], strlen(bad[i]), err,
		    sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i]);
}

static void
test_save_load(void **state)
{
	struct cli_imprint a, b;
	char		 path[512], err[512], *t1, *t2;
	struct stat	 st;

	(void)state;
	memset(&a, 0, sizeof(a));
	snprintf(path, sizeof(path), "%s/imprint.json", dir);
	assert_int_equal(cli_imprint_load(&b, path, err, sizeof(err)), 0);
	assert_int_equal(b.n, 0);			/* none yet: empty */
	a.set_name = strdup("x");
	assert_int_equal(cli_imprint_save(&a, path), 0);
	strcat(path, ".tmp");
	assert_int_equal(stat(path, &st), -1);		/* renamed away */
	path[strlen(path) - 4] = '\0';
	assert_int_equal(cli_imprint_load(&b, path, err, sizeof(err)), 0);
	t1 = cli_imprint_text(&a);
	t2 = cli_imprint_text(&b);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	cli_imprint_free(&a);
	cli_imprint_free(&b);
	put("imprint.json", "{broken");
	assert_int_equal(cli_imprint_load(&b, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "remove it to start afresh"));
}

/*
 * An imprint of the folder as it is: shard 1 {a, b}, shard 2 {c, d},
 * shard 3 {e} (not uploaded yet).
 */
static void
make(struct cli_imprint *imp, struct cli_files *cur)
{
	struct cli_file	*p[2];
	struct cli_ishard *s;
	char		 err[256];
	size_t		 i;
	static const int groups[3][2] = { { 0, 1 }, { 2, 3 }, { 4, -1 } };

	memset(imp, 0, sizeof(*imp));
	assert_int_equal(cli_scan(dir, "imprint.json", cur, err,
	    sizeof(err)), 0);
	assert_int_equal(cur->n, 5);
	for (i = 0; i < cur->n; i++)
		assert_int_equal(cli_file_sha256(dir, cur->v[i].name,
		    cur->v[i].sha256), 0);
	for (i = 0; i < 3; i++) {
		p[0] = &cur->v[groups[i][0]];
		p[1] = groups[i][1] >= 0 ? &cur->v[groups[i][1]] : NULL;
		s = cli_imprint_add(imp, p, p[1] != NULL ? 2 : 1);
		fake_id(s->id, (int)i + 1);
		s->uploaded = i < 2;
	}
}

static void
reset_folder(void)
{
	char	 path[512];

	put("a", "alpha\n");
	put("b", "bravo\n");
	put("c", "charlie\n");
	put("d", "delta\n");
	put("e", "echo\n");
	mtime("a", 1000);
	mtime("b", 1000);
	mtime("c", 1000);
	mtime("d", 1000);
	mtime("e", 1000);
	snprintf(path, sizeof(path), "%s/new", dir);
	unlink(path);
}

static void
test_diff(void **state)
{
	struct cli_imprint imp;
	struct cli_files cur, now;
	struct cli_file	**loose;
	size_t		*ends, nloose, ngroups, nbroken;
	char		 err[256], path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/new", dir);

	/* Nothing changed; then a touch: every shard stays. */
	reset_folder();
	make(&imp, &cur);
	mtime("c", 2000);
	assert_int_equal(cli_scan(dir, "imprint.json", &now, err,
	    sizeof(err)), 0);
	cli_imprint_diff(&imp, dir, &now, &loose, &nloose, &ends, &ngroups,
	    &nbroken);
	assert_int_equal(imp.n, 3);
	assert_int_equal(nloose, 0);
	assert_int_equal(ngroups, 0);
	assert_int_equal(nbroken, 0);
	assert_int_equal(imp.nretired, 0);
	assert_int_equal(imp.shards[1].files[0].mtime_s, 2000);	/* refreshed */
	free(loose);
	free(ends);
	cli_files_free(&now);
	cli_files_free(&cur);
	cli_imprint_free(&imp);

	/* c changed (same size), b removed, a new file: two shards break. */
	reset_folder();
	make(&imp, &cur);
	put("c", "CHARLIE\n");
	mtime("c", 3000);
	snprintf(path, sizeof(path), "%s/b", dir);
	unlink(path);
	put("new", "november\n");
	assert_int_equal(cli_scan(dir, "imprint.json", &now, err,
	    sizeof(err)), 0);
	cli_imprint_diff(&imp, dir, &now, &loose, &nloose, &ends, &ngroups,
	    &nbroken);
	assert_int_equal(nbroken, 2);
	assert_int_equal(imp.n, 1);			/* only {e} stays */
	assert_string_equal(imp.shards[0].files[0].name, "e");
	assert_int_equal(imp.nretired, 2);		/* both were uploaded */
	assert_int_equal(ngroups, 3);			/* {a}, {c, d}, {new} */
	assert_int_equal(nloose, 4);
	assert_int_equal(ends[0], 1);
	assert_string_equal(loose[0]->name, "a");
	assert_int_equal(ends[1], 3);
	assert_string_equal(loose[1]->name, "c");
	assert_string_equal(loose[2]->name, "d");
	assert_int_equal(ends[2], 4);
	assert_string_equal(loose[3]->name, "new");
	free(loose);
	free(ends);
	cli_files_free(&now);
	cli_files_free(&cur);
	cli_imprint_free(&imp);

	/* e (never uploaded) grows: its shard breaks, nothing retired. */
	reset_folder();
	make(&imp, &cur);
	put("e", "echo echo\n");
	assert_int_equal(cli_scan(dir, "imprint.json", &now, err,
	    sizeof(err)), 0);
	cli_imprint_diff(&imp, dir, &now, &loose, &nloose, &ends, &ngroups,
	    &nbroken);
	assert_int_equal(nbroken, 1);
	assert_int_equal(imp.nretired, 0);
	assert_int_equal(imp.n, 2);
	assert_int_equal(nloose, 1);
	free(loose);
	free(ends);
	cli_files_free(&now);
	cli_files_free(&cur);
	cli_imprint_free(&imp);

	/* A retired id that is current again stays in the set. */
	reset_folder();
	make(&imp, &cur);
	cli_imprint_retire(&imp, imp.shards[0].id);
	assert_int_equal(cli_scan(dir, "imprint.json", &now, err,
	    sizeof(err)), 0);
	cli_imprint_diff(&imp, dir, &now, &loose, &nloose, &ends, &ngroups,
	    &nbroken);
	assert_int_equal(imp.nretired, 0);
	free(loose);
	free(ends);
	cli_files_free(&now);
	cli_files_free(&cur);
	cli_imprint_free(&imp);

	/* New files only: one shuffled group, the same order every time. */
	{
		struct cli_imprint empty;
		char		 first[3][16];
		int		 run, i;

		for (run = 0; run < 2; run++) {
			memset(&empty, 0, sizeof(empty));
			assert_int_equal(cli_scan(dir, "imprint.json", &now,
			    err, sizeof(err)), 0);
			cli_imprint_diff(&empty, dir, &now, &loose, &nloose,
			    &ends, &ngroups, &nbroken);
			assert_int_equal(ngroups, 1);
			assert_int_equal(nloose, now.n);
			for (i = 0; i < 3; i++) {
				if (run == 0)
					snprintf(first[i], 16, "%s",
					    loose[i]->name);
				else
					assert_string_equal(first[i],
					    loose[i]->name);
			}
			free(loose);
			free(ends);
			cli_files_free(&now);
			cli_imprint_free(&empty);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_diff),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test-store.c: the blob store (src/lib/store.c) in a temporary directory:
 * temporary files, commit of a new and of an existing shard, name checks,
 * the gc listings, and ENOSPC reported as its own code.
 */
#include "config.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"
#include "util.h"

#define SHA_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define SHA_B "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

static char	 root[64];

static int
setup(void **state)
{

	(void)state;
	snprintf(root, sizeof(root), "test-store.XXXXXX");
	if (mkdtemp(root) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char	 cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* Count the entries of ROOT/sub other than "." and "..". */
static int
count_dir(const char *sub)
{
	char	 cmd[256];
	FILE	*f;
	int	 n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s/%s' | wc -l", root, sub);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &n), 1);
	pclose(f);
	return n;
}

static void
test_sha256_valid(void **state)
{

	(void)state;
	assert_true(store_sha256_valid(SHA_A, 64));
	assert_false(store_sha256_valid(SHA_A, 63));
	assert_false(store_sha256_valid(NULL, 64));
	assert_false(store_sha256_valid(
	    "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
	    64));
	assert_false(store_sha256_valid(
	    "../../../../etc/passwd/../../../../../../../../../../../../../xx",
	    64));
	assert_false(store_sha256_valid(
	    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0g",
	    64));
	assert_null(store_shard_path(root, "../x"));
	assert_null(store_shard_path(root, NULL));
}

static void
test_tmp_open_and_commit(void **state)
{
	struct store_tmp	 t;
	struct stat		 st;
	char			*final, buf[16];
	int			 existed = -1, fd;
	const char		*base;

	(void)state;
	umask(022);
	assert_int_equal(store_tmp_open(root, "shard", &t), STORE_OK);
	assert_true(t.fd >= 0);
	base = strrchr(t.path, '/') + 1;
	assert_int_equal(strncmp(base, "st-shard-", 9), 0);
	assert_non_null(strstr(base, ".tmp"));
	assert_int_equal(stat(t.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(store_tmp_write(&t, "hello", 5), STORE_OK);
	assert_int_equal(store_tmp_write(&t, " world", 6), STORE_OK);
	assert_int_equal(t.size, 11);
	assert_int_equal(store_tmp_sync(&t), STORE_OK);
	assert_int_equal(count_dir("tmp"), 1);

	assert_int_equal(store_tmp_commit_shard(&t, root, SHA_A, &existed),
	    STORE_OK);
	assert_int_equal(existed, 0);
	assert_int_equal(t.fd, -1);
	assert_null(t.path);
	assert_int_equal(count_dir("tmp"), 0);
	final = store_shard_path(root, SHA_A);
	assert_non_null(final);
	assert_non_null(strstr(final, "/shards/9f/86/" SHA_A ".zip"));
	assert_int_equal(stat(final, &st), 0);
	assert_int_equal(st.st_size, 11);
	assert_int_equal(store_shard_exists(root, SHA_A), 1);
	assert_int_equal(store_shard_exists(root, SHA_B), 0);

	/* the same shard again: the temporary file goes, the final stays */
	assert_int_equal(store_tmp_open(root, "shard", &t), STORE_OK);
	assert_int_equal(store_tmp_write(&t, "hello world", 11), STORE_OK);
	assert_int_equal(store_tmp_sync(&t), STORE_OK);
	assert_int_equal(store_tmp_commit_shard(&t, root, SHA_A, &existed),
	    STORE_OK);
	assert_int_equal(existed, 1);
	assert_int_equal(count_dir("tmp"), 0);
	fd = open(final, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 11);
	assert_memory_equal(buf, "hello world", 11);
	close(fd);

	/* a bad name is refused and the temporary file removed */
	assert_int_equal(store_tmp_open(root, "shard", &t), STORE_OK);
	assert_int_equal(store_tmp_commit_shard(&t, root, "../../etc",
	    &existed), STORE_ERROR);
	assert_int_equal(t.fd, -1);
	assert_int_equal(count_dir("tmp"), 0);

	/* discard */
	assert_int_equal(store_tmp_open(root, "shard", &t), STORE_OK);
	store_tmp_discard(&t);
	store_tmp_discard(&t);
	assert_int_equal(count_dir("tmp"), 0);

	assert_int_equal(store_shard_remove(root, SHA_A), STORE_OK);
	assert_int_equal(store_shard_exists(root, SHA_A), 0);
	assert_int_equal(store_shard_remove(root, SHA_A), STORE_OK);
	assert_int_equal(store_shard_remove(root, "nope"), STORE_ERROR);
	free(final);
}

struct seen {
	int	 n;
	char	 names[8][128];
};

static int
collect_tmp(void *arg, const char *name, time_t age)
{
	struct seen	*s = arg;

	assert_true(age >= 0);
	assert_true(s->n < 8);
	snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", name);
	return 0;
}

static int
collect_shard(void *arg, const char *sha)
{
	struct seen	*s = arg;

	assert_true(s->n < 8);
	snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", sha);
	return 0;
}

static void
test_gc_listings(void **state)
{
	struct store_tmp	 t1, t2;
	struct timespec		 old[2];
	struct seen		 s;
	char			 path[256];
	int			 existed, fd;

	(void)state;
	assert_int_equal(store_tmp_open(root, "shard", &t1), STORE_OK);
	assert_int_equal(store_tmp_open(root, "model", &t2), STORE_OK);
	/* a foreign file in tmp/ is never listed */
	snprintf(path, sizeof(path), "%s/tmp/keep-me", root);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	/* t1 is two hours old */
	old[0].tv_sec = old[1].tv_sec = time(NULL) - 7200;
	old[0].tv_nsec = old[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, t1.path, old, 0), 0);

	memset(&s, 0, sizeof(s));
	assert_int_equal(store_tmp_list_old(root, 3600, collect_tmp, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], strrchr(t1.path, '/') + 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_tmp_list_old(root, 0, collect_tmp, &s), 0);
	assert_int_equal(s.n, 2);

	assert_int_equal(store_tmp_remove(root, strrchr(t1.path, '/') + 1),
	    STORE_OK);
	assert_int_equal(store_tmp_remove(root, "keep-me"), STORE_ERROR);
	assert_int_equal(store_tmp_remove(root, "st-../../x.tmp"),
	    STORE_ERROR);
	assert_int_equal(count_dir("tmp"), 2);
	store_tmp_discard(&t1);
	store_tmp_discard(&t2);

	/* shard listing: well-named files only */
	assert_int_equal(store_tmp_open(root, "shard", &t1), STORE_OK);
	assert_int_equal(store_tmp_commit_shard(&t1, root, SHA_B, &existed),
	    STORE_OK);
	snprintf(path, sizeof(path), "%s/shards/60/30/junk.zip", root);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	/* a shard name under the wrong fan-out directories is skipped */
	snprintf(path, sizeof(path), "%s/shards/61", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/shards/61/30", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/shards/61/30/" SHA_B ".zip", root);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_shard_list(root, collect_shard, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], SHA_B);
}

/* A full disk is STORE_NOSPACE, not a generic error. */
static void
test_nospace(void **state)
{
	struct store_tmp	 t = { -1, NULL, 0 };

	(void)state;
	if ((t.fd = open("/dev/full", O_WRONLY | O_CLOEXEC)) == -1)
		skip();
	assert_int_equal(store_tmp_write(&t, "x", 1), STORE_NOSPACE);
	close(t.fd);
}

/* A root that cannot be created is an error with errno set. */
static void
test_bad_root(void **state)
{
	struct store_tmp	 t;

	(void)state;
	assert_int_equal(store_tmp_open("/proc/nonexistent/store", "shard",
	    &t), STORE_ERROR);
	assert_int_equal(t.fd, -1);
	assert_null(t.path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sha256_valid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tmp_open_and_commit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gc_listings, setup,
		    teardown),
		cmocka_unit_test(test_nospace),
		cmocka_unit_test(test_bad_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

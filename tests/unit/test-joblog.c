/*
 * test-joblog.c: the layout of an attempt's log (src/lib/joblog.c) through
 * real files in a temporary directory: the paths of attempts 1 and n and
 * the names refused; plain and wrapped logs written in random chunk sizes
 * and read back through joblog_plan_whole() (head + marker + last T bytes
 * of what was written) and joblog_plan_range() from many offsets (the
 * right logical bytes); a resumed writer leaves the file identical; the cap
 * and the final file size; the listing and removal of a job's logs.
 */
#include "config.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "joblog.h"
#include "util.h"

#define JOB	"0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
#define JOB2	"0fabcdef-0000-4000-8000-000000000001"

static char	 root[64];

static int
setup(void **state)
{

	(void)state;
	snprintf(root, sizeof(root), "test-joblog.XXXXXX");
	return mkdtemp(root) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	 cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* A fixed-seed generator: the same cases on every run (xorshift64*). */
static uint64_t	 rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{

	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

/* A uniform number in [lo, hi]. */
static long long
between(long long lo, long long hi)
{

	return lo + (long long)(rnd() % (uint64_t)(hi - lo + 1));
}

/* n bytes of text that never repeats quickly (so a misplaced byte shows). */
static char *
stream(long long n)
{
	char		*s = malloc((size_t)n + 1);
	long long	 i;

	assert_non_null(s);
	for (i = 0; i < n; i++)
		s[i] = (char)(i % 61 == 60 ? '\n' : 'A' + (int)(rnd() % 58));
	return s;
}

/* The whole file at path into a new buffer; *n its size. */
static char *
slurp(const char *path, long long *n)
{
	struct stat	 st;
	char		*b;
	int		 fd;

	assert_int_not_equal(fd = open(path, O_RDONLY), -1);
	assert_int_equal(fstat(fd, &st), 0);
	b = malloc((size_t)st.st_size + 1);
	assert_non_null(b);
	assert_int_equal(pread(fd, b, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*n = (long long)st.st_size;
	return b;
}

/*
 * What a reader sends for plan p from the file bytes f: the pieces, the
 * marker after the first marker_after. A new buffer of p->length bytes.
 */
static char *
render(const struct joblog_plan *p, const char *f, long long fsize)
{
	char		*out = malloc((size_t)p->length + 1);
	long long	 o = 0;
	size_t		 i, mlen = strlen(p->marker);

	assert_non_null(out);
	for (i = 0; i <= p->npieces; i++) {
		if (i == p->marker_after && mlen > 0) {
			memcpy(out + o, p->marker, mlen);
			o += (long long)mlen;
		}
		if (i == p->npieces)
			break;
		assert_true(p->piece[i].off >= 0 && p->piece[i].len > 0 &&
		    p->piece[i].off + p->piece[i].len <= fsize);
		memcpy(out + o, f + p->piece[i].off, (size_t)p->piece[i].len);
		o += p->piece[i].len;
	}
	assert_true(o == p->length);
	return out;
}

/* --- paths ---------------------------------------------------------------- */

struct path_case {
	int		 line;
	const char	*uuid;
	unsigned	 attempt;
	const char	*want;		/* after "R", or NULL: refused */
};

static const struct path_case path_cases[] = {
	{ __LINE__, JOB, 1, "R/logs/0f/" JOB ".log" },
	{ __LINE__, JOB, 2, "R/logs/0f/" JOB ".2.log" },
	{ __LINE__, JOB, 10, "R/logs/0f/" JOB ".10.log" },
	{ __LINE__, JOB, 4294967295u, "R/logs/0f/" JOB ".4294967295.log" },
	{ __LINE__, JOB, 0, NULL },
	{ __LINE__, "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9", 1, NULL },
	{ __LINE__, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f", 1, NULL },
	{ __LINE__, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f90", 2, NULL },
	{ __LINE__, "0f1e2d3c4b5a497886 95a4b3c2d1e0f9xxxx", 1, NULL },
	{ __LINE__, "../../../../../../../../../../etc/pas", 1, NULL },
	{ __LINE__, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0/9", 1, NULL },
	{ __LINE__, "{f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f}", 1, NULL },
	{ __LINE__, "", 1, NULL },
	{ __LINE__, NULL, 1, NULL },
};

static void
test_path(void **state)
{
	const struct path_case	*c;
	char			*p;
	size_t			 i;
	int			 bad = 0;

	(void)state;
	for (i = 0; i < NITEMS(path_cases); i++) {
		c = &path_cases[i];
		p = joblog_path("R", c->uuid, c->attempt);
		if ((p == NULL) != (c->want == NULL) ||
		    (p != NULL && strcmp(p, c->want) != 0)) {
			print_error("path case line %d: got %s, want %s\n",
			    c->line, p != NULL ? p : "NULL",
			    c->want != NULL ? c->want : "NULL");
			bad++;
		}
		free(p);
	}
	assert_int_equal(bad, 0);
	errno = 0;
	assert_int_equal(joblog_open_write(root, "not-a-uuid", 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(joblog_open_write(root, JOB, 0), -1);
	assert_int_equal(errno, EINVAL);
}

/* --- cap and final size ------------------------------------------------------ */

struct size_case {
	int		 line;
	long long	 a, b;
	long long	 cap;		/* joblog_cap(a, b, total) */
	long long	 file;		/* joblog_file_size(a, b) */
	long long	 total;		/* logical size (0: a plain log) */
};

static const struct size_case size_cases[] = {
	/* a: configured cap or total; b: file size or cap */
	{ __LINE__, 1000, 0, 1000, 0, 0 },
	{ __LINE__, 1000, 999, 1000, 999, 0 },
	{ __LINE__, 1000, 1000, 1000, 1000, 0 },
	{ __LINE__, 1000, 1001, 1001, 1000, 0 },
	{ __LINE__, 1000, 4096, 4096, 1000, 0 },
	{ __LINE__, 0, 0, 0, 0, 0 },
	{ __LINE__, 5000, 1000, 5000, 1000, 0 },
	/* Wrapped under a cap of 1000, the configured cap raised since. */
	{ __LINE__, 5000, 1000, 1000, 1000, 3000 },
	{ __LINE__, 500, 1000, 1000, 500, 3000 },
	/* Plain with total == file size: the configuration's. */
	{ __LINE__, 5000, 1000, 5000, 1000, 1000 },
};

static void
test_cap_and_file_size(void **state)
{
	const struct size_case	*c;
	size_t			 i;
	int			 bad = 0;

	(void)state;
	for (i = 0; i < NITEMS(size_cases); i++) {
		c = &size_cases[i];
		if (joblog_cap(c->a, c->b, c->total) != c->cap ||
		    joblog_file_size(c->a, c->b) != c->file) {
			print_error("size case line %d: cap %lld file %lld\n",
			    c->line, joblog_cap(c->a, c->b, c->total),
			    joblog_file_size(c->a, c->b));
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	/* A cap below 2 or a negative offset is refused. */
	errno = 0;
	assert_int_equal(joblog_write(-1, 1, 0, "x", 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(joblog_write(-1, 10, -1, "x", 1), -1);
	assert_int_equal(errno, EINVAL);
}

/* --- writing and reading back ---------------------------------------------- */

/*
 * Write s[from, to) as logical bytes [from, to) in random chunks of 1 to
 * maxchunk bytes to the log on fd of cap cap.
 */
static void
write_chunks(int fd, long long cap, const char *s, long long from,
    long long to, long long maxchunk)
{
	long long	 k;

	while (from < to) {
		k = between(1, maxchunk);
		if (k > to - from)
			k = to - from;
		assert_int_equal(joblog_write(fd, cap, from, s + from,
		    (size_t)k), 0);
		from += k;
	}
}

/*
 * The range plan from offset from against the written stream s of total
 * bytes in a file f of fsize bytes (cap fsize when wrapped): the logical
 * bytes it says, and where it starts and ends.
 */
static void
check_range(int line, const char *s, long long total, const char *f,
    long long fsize, long long from)
{
	struct joblog_plan	 p;
	long long		 h = fsize / 2, t = fsize - h;
	long long		 want_first = from, want_end = total;
	char			*got;
	int			 rc;

	rc = joblog_plan_range(total, fsize, from, &p);
	if (from >= total) {
		if (rc != 1)
			fail_msg("line %d: range from %lld of %lld: rc %d",
			    line, from, total, rc);
		return;
	}
	if (total > fsize) {
		if (from < h)
			want_end = h;
		else if (from < total - t)
			want_first = total - t;
	}
	if (rc != 0 || p.first != want_first || p.end != want_end ||
	    p.marker[0] != '\0' || p.length != p.end - p.first)
		fail_msg("line %d: range from %lld of %lld (file %lld): rc %d, "
		    "%lld-%lld, length %lld; want %lld-%lld", line, from,
		    total, fsize, rc, p.first, p.end, p.length, want_first,
		    want_end);
	got = render(&p, f, fsize);
	if (memcmp(got, s + p.first, (size_t)p.length) != 0)
		fail_msg("line %d: range from %lld of %lld (file %lld): "
		    "wrong bytes", line, from, total, fsize);
	free(got);
}

struct wrap_case {
	int		 line;
	long long	 cap;
	long long	 total;		/* bytes written */
	long long	 maxchunk;	/* largest write */
};

static const struct wrap_case wrap_cases[] = {
	/* plain: within the cap */
	{ __LINE__, 1000, 0, 1 },
	{ __LINE__, 1000, 1, 1 },
	{ __LINE__, 1000, 999, 7 },
	{ __LINE__, 1000, 1000, 300 },
	{ __LINE__, 4096, 3000, 5000 },
	/* wrapped: head H = cap / 2, a ring of T = cap - H */
	{ __LINE__, 1000, 1001, 1 },
	{ __LINE__, 1000, 1500, 13 },
	{ __LINE__, 1000, 5000, 97 },
	{ __LINE__, 1000, 5000, 5000 },		/* one write of it all */
	{ __LINE__, 1000, 5000, 1200 },		/* writes longer than T */
	{ __LINE__, 1001, 7777, 333 },		/* odd cap: T = H + 1 */
	{ __LINE__, 1001, 1501, 501 },		/* exactly one ring */
	{ __LINE__, 2, 100, 3 },		/* the smallest cap */
	{ __LINE__, 3, 100, 5 },
	{ __LINE__, 64, 100000, 1000 },
	{ __LINE__, 65536, 1000000, 70000 },
};

static void
test_write_and_read(void **state)
{
	const struct wrap_case	*c;
	struct joblog_plan	 p;
	char			*path, *s, *f, *got, *want, marker[128];
	long long		 fsize, h, t, from, wantsize;
	size_t			 i;
	int			 fd, k, mlen;

	(void)state;
	for (i = 0; i < NITEMS(wrap_cases); i++) {
		c = &wrap_cases[i];
		s = stream(c->total);
		path = joblog_path(root, JOB, (unsigned)(i + 1));
		assert_non_null(path);
		fd = joblog_open_write(root, JOB, (unsigned)(i + 1));
		assert_int_not_equal(fd, -1);
		write_chunks(fd, c->cap, s, 0, c->total, c->maxchunk);
		close(fd);
		f = slurp(path, &fsize);

		/* The file: all of it within the cap, else the cap. */
		wantsize = joblog_file_size(c->total, c->cap);
		if (fsize != wantsize)
			fail_msg("line %d: file of %lld bytes, want %lld",
			    c->line, fsize, wantsize);

		/* Whole: the stream, or head + marker + last T bytes. */
		assert_int_equal(joblog_plan_whole(c->total, fsize, &p), 0);
		got = render(&p, f, fsize);
		if (c->total <= c->cap) {
			if (p.length != c->total || p.marker[0] != '\0' ||
			    memcmp(got, s, (size_t)c->total) != 0)
				fail_msg("line %d: plain whole differs",
				    c->line);
		} else {
			h = c->cap / 2;
			t = c->cap - h;
			mlen = snprintf(marker, sizeof(marker),
			    JOBLOG_MARKER_FMT, c->total - h - t);
			want = malloc((size_t)(h + mlen + t));
			assert_non_null(want);
			memcpy(want, s, (size_t)h);
			memcpy(want + h, marker, (size_t)mlen);
			memcpy(want + h + mlen, s + c->total - t, (size_t)t);
			if (p.length != h + mlen + t || p.first != 0 ||
			    p.end != c->total ||
			    memcmp(got, want, (size_t)p.length) != 0)
				fail_msg("line %d: wrapped whole differs "
				    "(length %lld, want %lld)", c->line,
				    p.length, h + mlen + t);
			free(want);
		}
		free(got);

		/* Ranges: the edges of head, dropped middle and tail. */
		h = fsize / 2;
		t = fsize - h;
		{
			long long	 edges[] = { 0, 1, h - 1, h, h + 1,
			    c->total - t - 1, c->total - t, c->total - t + 1,
			    c->total - 1, c->total, c->total + 1 };

			for (k = 0; k < (int)NITEMS(edges); k++)
				if (edges[k] >= 0)
					check_range(c->line, s, c->total, f,
					    fsize, edges[k]);
		}
		for (k = 0; k < 50 && c->total > 0; k++) {
			from = between(0, c->total - 1);
			check_range(c->line, s, c->total, f, fsize, from);
		}
		free(f);
		free(s);
		free(path);
	}
}

/*
 * A writer that resumes after a crash writes the same logical bytes again
 * from its last committed size: the file ends up identical to one written
 * in one go, whether the crash was in the head, in the ring, or left bytes
 * past the committed size.
 */
struct resume_case {
	int		 line;
	long long	 cap, total;
	long long	 crash;		/* bytes written before the crash */
	long long	 committed;	/* the log_size the database had */
};

static const struct resume_case resume_cases[] = {
	{ __LINE__, 1000, 800, 600, 400 },	/* plain */
	{ __LINE__, 1000, 5000, 300, 100 },	/* crash in the head */
	{ __LINE__, 1000, 5000, 1700, 1200 },	/* crash in the first ring */
	{ __LINE__, 1000, 5000, 4321, 2222 },	/* over a whole ring back */
	{ __LINE__, 1001, 9000, 8999, 0 },	/* everything again */
	{ __LINE__, 1000, 5000, 5000, 5000 },	/* nothing again */
};

static void
test_resume_identical(void **state)
{
	const struct resume_case *c;
	struct stat		 st;
	char			*s, *a, *b, *pa, *pb;
	long long		 na, nb;
	size_t			 i;
	int			 fd;

	(void)state;
	for (i = 0; i < NITEMS(resume_cases); i++) {
		c = &resume_cases[i];
		s = stream(c->total);
		pa = joblog_path(root, JOB2, 1);
		pb = joblog_path(root, JOB2, 2);
		unlink(pa);
		unlink(pb);

		/* A: in one go. */
		fd = joblog_open_write(root, JOB2, 1);
		assert_int_not_equal(fd, -1);
		write_chunks(fd, c->cap, s, 0, c->total, 257);
		close(fd);

		/* B: crash after c->crash bytes, resume from committed. */
		fd = joblog_open_write(root, JOB2, 2);
		assert_int_not_equal(fd, -1);
		write_chunks(fd, c->cap, s, 0, c->crash, 100);
		close(fd);
		/* The cap a resuming writer takes: the file's when larger. */
		assert_int_equal(stat(pb, &st), 0);
		fd = joblog_open_write(root, JOB2, 2);
		assert_int_not_equal(fd, -1);
		write_chunks(fd, joblog_cap(c->cap, (long long)st.st_size,
		    c->committed), s,
		    c->committed, c->total, 300);
		close(fd);

		a = slurp(pa, &na);
		b = slurp(pb, &nb);
		if (na != nb || memcmp(a, b, (size_t)na) != 0)
			fail_msg("line %d: the resumed log differs (%lld and "
			    "%lld bytes)", c->line, na, nb);
		free(b);

		/* A again: the same bytes rewritten change nothing. */
		fd = joblog_open_write(root, JOB2, 1);
		assert_int_not_equal(fd, -1);
		write_chunks(fd, c->cap, s, c->committed, c->total, 1000);
		close(fd);
		b = slurp(pa, &nb);
		if (na != nb || memcmp(a, b, (size_t)na) != 0)
			fail_msg("line %d: rewriting the same bytes changed "
			    "the file", c->line);
		free(a);
		free(b);
		free(pa);
		free(pb);
		free(s);
	}
}

/* A plain log whose file holds bytes past log_size (a crash): ignored. */
static void
test_bytes_past_size(void **state)
{
	struct joblog_plan	 p;

	(void)state;
	assert_int_equal(joblog_plan_whole(100, 150, &p), 0);
	assert_int_equal(p.npieces, 1);
	assert_true(p.piece[0].off == 0 && p.piece[0].len == 100);
	assert_true(p.length == 100 && p.marker[0] == '\0');
	assert_int_equal(joblog_plan_range(100, 150, 40, &p), 0);
	assert_true(p.first == 40 && p.end == 100 && p.length == 60);
	assert_int_equal(joblog_plan_range(100, 150, 100, &p), 1);
	assert_true(p.first == 100 && p.end == 100);
	/* Sizes that cannot be a log's. */
	assert_int_equal(joblog_plan_whole(100, 1, &p), -1);
	assert_int_equal(joblog_plan_whole(100, 0, &p), -1);
	assert_int_equal(joblog_plan_whole(-1, 10, &p), -1);
	assert_int_equal(joblog_plan_range(100, 1, 0, &p), -1);
	assert_int_equal(joblog_plan_range(100, 200, -1, &p), -1);
	/* An empty log: nothing. */
	assert_int_equal(joblog_plan_whole(0, 0, &p), 0);
	assert_true(p.npieces == 0 && p.length == 0);
	assert_int_equal(joblog_plan_range(0, 0, 0, &p), 1);
}

/* --- listing and removal ------------------------------------------------------ */

struct seen {
	char		 names[16][48];
	size_t		 n;
};

static int
collect(void *arg, const char *uuid, unsigned attempt)
{
	struct seen	*s = arg;

	assert_true(s->n < 16);
	snprintf(s->names[s->n++], sizeof(s->names[0]), "%s#%u", uuid,
	    attempt);
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{

	return strcmp(a, b);
}

/* Create ROOT/logs/<sub>. */
static void
touch(const char *sub)
{
	char	*p = NULL;
	int	 fd;

	assert_true(asprintf(&p, "%s/logs/%s", root, sub) > 0);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	assert_int_not_equal(fd, -1);
	close(fd);
	free(p);
}

static void
test_list_and_remove(void **state)
{
	struct seen	 s;
	char		*p;
	int		 fd;

	(void)state;
	/* Another root, so that the write tests leave nothing here. */
	assert_int_equal(joblog_remove(root, JOB), 0);
	assert_int_equal(joblog_remove(root, JOB2), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(joblog_list(root, collect, &s), 0);
	assert_int_equal(s.n, 0);

	fd = joblog_open_write(root, JOB, 1);
	assert_int_not_equal(fd, -1);
	close(fd);
	fd = joblog_open_write(root, JOB, 3);
	assert_int_not_equal(fd, -1);
	close(fd);
	fd = joblog_open_write(root, JOB2, 2);
	assert_int_not_equal(fd, -1);
	close(fd);
	/* Names that are no log's: skipped by the listing, kept by remove. */
	touch("0f/" JOB ".1.log");
	touch("0f/" JOB ".03.log");
	touch("0f/" JOB ".0.log");
	touch("0f/" JOB ".4294967296.log");
	touch("0f/" JOB ".log.tmp");
	touch("0f/" JOB "..log");
	touch("0f/" JOB ".2.log.x");
	touch("0f/0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9.log");
	p = NULL;
	assert_true(asprintf(&p, "%s/logs/ab", root) > 0);
	assert_int_equal(mkdir(p, 0750), 0);
	free(p);
	touch("ab/" JOB ".log");		/* in another fan-out */

	memset(&s, 0, sizeof(s));
	assert_int_equal(joblog_list(root, collect, &s), 0);
	qsort(s.names, s.n, sizeof(s.names[0]), cmp_names);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.names[0], JOB "#1");
	assert_string_equal(s.names[1], JOB "#3");
	assert_string_equal(s.names[2], JOB2 "#2");

	/* Removing a job's log removes every attempt's, and only those. */
	assert_int_equal(joblog_remove(root, JOB), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(joblog_list(root, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], JOB2 "#2");
	p = NULL;
	assert_true(asprintf(&p, "%s/logs/0f/%s.03.log", root, JOB) > 0);
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	assert_int_equal(joblog_remove(root, JOB2), 0);
	errno = 0;
	assert_int_equal(joblog_remove(root, "../0f"), -1);
	assert_int_equal(errno, EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_cap_and_file_size),
		cmocka_unit_test(test_write_and_read),
		cmocka_unit_test(test_resume_identical),
		cmocka_unit_test(test_bytes_past_size),
		cmocka_unit_test(test_list_and_remove),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

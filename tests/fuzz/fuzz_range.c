/*
 * fuzz_range.c: libFuzzer target for the Range header of GET
 * /job/{id}/log: http_range_parse(), http_range_resolve() and the plans of
 * joblog.h that the answer is cut from.
 *
 * Input: 4 bytes of logical size, 4 bytes of file size (little endian,
 * small enough to reach the edges), then the header value. Invariants: the
 * parser reads only the n bytes given (ASan: they are copied to a buffer
 * of exactly n); only a value starting "bytes=" (any case, after blanks)
 * is ever anything but ignored; a range it accepts has last >= first, and
 * a refused or ignored one no fields; a resolved range
 * lies within the size; a range plan starts at or after the offset asked,
 * ends at or before the logical size, and its pieces cover exactly its
 * bytes, inside the file; a whole plan's pieces lie inside the file and,
 * with the marker, make its length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "joblog.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long long
le32(const uint8_t *p)
{

	return (long long)((uint32_t)p[0] | (uint32_t)p[1] << 8 |
	    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

/* The pieces of p lie in a file of file_size bytes and add up to len. */
static void
check_pieces(const struct joblog_plan *p, long long file_size, long long len)
{
	long long	 sum = 0;
	size_t		 i;

	if (p->npieces > 3 || p->marker_after > p->npieces)
		__builtin_trap();
	for (i = 0; i < p->npieces; i++) {
		if (p->piece[i].len <= 0 || p->piece[i].off < 0 ||
		    p->piece[i].off + p->piece[i].len > file_size)
			__builtin_trap();
		sum += p->piece[i].len;
	}
	if (sum != len)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_range	 rg;
	struct joblog_plan	 p;
	unsigned long long	 first = 0, last = 0;
	long long		 total, file_size;
	char			*h;
	size_t			 n;
	int			 rc;

	if (size < 8 || size > 4096)
		return 0;
	total = le32(data) % 100000;
	file_size = le32(data + 4) % 100000;
	n = size - 8;
	if ((h = malloc(n == 0 ? 1 : n)) == NULL)
		return 0;
	memcpy(h, data + 8, n);

	switch (http_range_parse(h, n, &rg)) {
	case HTTP_RANGE_NONE:
	case HTTP_RANGE_BAD:
		if (rg.suffix || rg.has_last || rg.first != 0 || rg.last != 0 ||
		    rg.len != 0)
			__builtin_trap();
		break;
	case HTTP_RANGE_ONE:
	case HTTP_RANGE_MANY:
		if (rg.has_last && (rg.suffix || rg.last < rg.first))
			__builtin_trap();
		break;
	}
	if (rg.kind != HTTP_RANGE_NONE) {
		size_t	 i = 0;

		while (i < n && (h[i] == ' ' || h[i] == '\t'))
			i++;
		if (n - i < 6 || strncasecmp(h + i, "bytes=", 6) != 0)
			__builtin_trap();
	}
	if (rg.kind != http_range_parse(h, n, &rg))
		__builtin_trap();
	rc = http_range_resolve(&rg, (unsigned long long)total, &first, &last);
	if (rc == 0 && (rg.kind != HTTP_RANGE_ONE || first > last ||
	    last >= (unsigned long long)total))
		__builtin_trap();

	if (rc == 0) {
		rc = joblog_plan_range(total, file_size, (long long)first, &p);
		if (rc == 1)
			__builtin_trap();	/* first < total */
		if (rc == 0) {
			if (p.first < (long long)first || p.end > total ||
			    p.first >= p.end || p.marker[0] != '\0' ||
			    (total <= file_size && p.first != (long long)first))
				__builtin_trap();
			check_pieces(&p, file_size, p.end - p.first);
			if (p.length != p.end - p.first)
				__builtin_trap();
		} else if (total <= file_size || file_size >= 2)
			__builtin_trap();
	}
	if (joblog_plan_whole(total, file_size, &p) == 0) {
		check_pieces(&p, file_size, p.length -
		    (long long)strlen(p.marker));
		if ((total <= file_size) != (p.marker[0] == '\0') ||
		    (total <= file_size && p.length != total) ||
		    (total > file_size && p.length - (long long)strlen(p.marker)
		    != file_size))
			__builtin_trap();
	} else if (total <= file_size || file_size >= 2)
		__builtin_trap();
	free(h);
	return 0;
}

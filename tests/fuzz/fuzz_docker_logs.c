/*
 * fuzz_docker_logs.c: the decoder of Docker's multiplexed log stream
 * (src/dispatcher/docker-parse.c). The input is fed in pieces whose sizes
 * come from its first byte; the text kept never exceeds the limit, and
 * decoding the same stream whole gives the same text.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../dispatcher/docker.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct docker_buf	 a = { 0 }, b = { 0 };
	struct docker_demux	 da, db;
	size_t			 step, i, n, max;
	int			 ra, rb;

	if (size < 2)
		return 0;
	step = (size_t)data[0] % 13 + 1;
	max = (size_t)data[1] * 4;
	data += 2;
	size -= 2;
	docker_buf_add(&a, "", 0);
	docker_buf_add(&b, "", 0);
	docker_demux_init(&da, max, &a);
	docker_demux_init(&db, max, &b);
	for (i = 0; i < size; i += n) {
		n = size - i < step ? size - i : step;
		docker_demux_feed(&da, data + i, n);
	}
	docker_demux_feed(&db, data, size);
	ra = docker_demux_end(&da);
	rb = docker_demux_end(&db);
	if (ra != rb || a.len > max || a.len != b.len ||
	    memcmp(a.data, b.data, a.len) != 0)
		abort();
	docker_buf_free(&a);
	docker_buf_free(&b);
	return 0;
}

/*
 * fuzz_promote.c: libFuzzer target for the POST /batch/{id}/promote body
 * parser (promote_parse() in src/lib/promote.c).
 *
 * Invariants checked on every input: the parser returns 0 or 1, nothing
 * else; refused, it gives a 400 or 422 status, a code and a sentence;
 * accepted, top_k is 1..BATCH_TOP_MAX, partial is 0 or 1, and a named data
 * set is 1..BATCH_REF_MAX bytes, NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "promote.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct promote_req	 req;
	struct batch_error	 err;
	int			 rc;

	rc = promote_parse((const char *)data, size, &req, &err);
	if (rc == 1) {
		if ((err.status != 400 && err.status != 422) ||
		    err.code == NULL || err.msg[0] == '\0')
			abort();
		return 0;
	}
	if (rc != 0 || req.top_k < 1 || req.top_k > BATCH_TOP_MAX ||
	    (req.partial != 0 && req.partial != 1))
		abort();
	if (req.has_set && (req.set_ref[0] == '\0' ||
	    strlen(req.set_ref) > BATCH_REF_MAX))
		abort();
	return 0;
}

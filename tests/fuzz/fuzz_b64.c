/*
 * fuzz_b64.c: libFuzzer target for the streaming base64 decoder
 * (src/lib/b64.c).
 *
 * The first input byte chooses where the rest is cut into pieces; the rest
 * is decoded once in one call and once in pieces. Both must agree on the
 * verdict and, when accepted, on every output byte; the output never
 * exceeds B64_DECODED_MAX(n). An accepted input, stripped of its line
 * breaks and padding, must also decode to the same bytes (padding is
 * optional), and the encoding of the output must decode back to it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "b64.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct buf {
	unsigned char	*p;
	size_t		 len, cap;
};

static int
sink(void *arg, const unsigned char *p, size_t n)
{
	struct buf	*b = arg;

	if (n > b->cap - b->len)
		__builtin_trap();
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* Decode in pieces of `step` bytes (the last one shorter). */
static int
pieces(const uint8_t *in, size_t n, size_t step, struct buf *b)
{
	struct b64_dec	*d;
	size_t		 off, k;
	int		 rc = B64_OK;

	if ((d = b64_dec_new(sink, b)) == NULL)
		__builtin_trap();
	for (off = 0; off < n && rc == B64_OK; off += k) {
		k = n - off < step ? n - off : step;
		rc = b64_dec_update(d, in + off, k);
	}
	if (rc == B64_OK)
		rc = b64_dec_final(d);
	if (rc == B64_OK && b64_dec_out_total(d) != b->len)
		__builtin_trap();
	b64_dec_free(d);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	 a = { NULL, 0, 0 }, b = { NULL, 0, 0 };
	unsigned char	*strip = NULL, *enc = NULL, *back = NULL;
	size_t		 step, n, i, sn = 0, blen = 0;
	int		 ra, rb;

	if (size < 1 || size > 1 << 16)
		return 0;
	step = (size_t)data[0] % 97 + 1;
	data++;
	n = size - 1;
	a.cap = b.cap = B64_DECODED_MAX(n);
	a.p = malloc(a.cap + 1);
	b.p = malloc(b.cap + 1);
	if (a.p == NULL || b.p == NULL)
		goto out;
	ra = b64_decode(data, n, a.p, a.cap, &a.len);
	rb = pieces(data, n, step, &b);
	if (ra != rb || (ra != B64_OK && ra != B64_INVALID))
		__builtin_trap();
	if (ra != B64_OK)
		goto out;
	if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
		__builtin_trap();

	/* The same without line breaks and padding. */
	if ((strip = malloc(n + 1)) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (data[i] != '\r' && data[i] != '\n' && data[i] != '=')
			strip[sn++] = data[i];
	b.len = 0;
	if (pieces(strip, sn, step, &b) != B64_OK || b.len != a.len ||
	    memcmp(a.p, b.p, a.len) != 0)
		__builtin_trap();

	/* Canonical encoding of the output decodes back to it. */
	if ((enc = malloc(4 * ((a.len + 2) / 3) + 1)) == NULL ||
	    (back = malloc(a.len + 3)) == NULL)
		goto out;
	i = (size_t)EVP_EncodeBlock(enc, a.p, (int)a.len);
	if (b64_decode(enc, i, back, a.len + 3, &blen) != B64_OK ||
	    blen != a.len || memcmp(back, a.p, a.len) != 0)
		__builtin_trap();
out:
	free(a.p);
	free(b.p);
	free(strip);
	free(enc);
	free(back);
	return 0;
}

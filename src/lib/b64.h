/*
 * b64.h: streaming base64 decoder (RFC 4648 standard alphabet) on OpenSSL's
 * EVP_DecodeBlock().
 *
 * The shard upload body is decoded as it arrives, in pieces of any size, so
 * the decoder keeps its state between calls. What it accepts:
 *
 *   - the alphabet [A-Za-z0-9+/];
 *   - CR and LF anywhere (skipped: MIME and PEM style line breaks);
 *   - '=' padding only at the very end, exactly as many as the length needs;
 *   - no padding at all (the missing '=' are supplied by b64_dec_final()).
 *
 * Every other byte (space, tab, '-', NUL, '=' in the middle, data after
 * padding, a lone trailing character) makes the input invalid. OpenSSL alone
 * would silently skip blanks and stop at '-', hence the filter in front of it.
 *
 * NOTE: the decoding itself is EVP_DecodeBlock() on runs of whole 4-char
 * quanta taken straight from the caller's buffer (at most 3 chars are
 * carried between calls). EVP_DecodeUpdate() was the first choice, but it
 * copies every char through a 64-char line buffer: 75 ms for 10 MiB against
 * 10 ms here, which decides whether shard ingest keeps up with
 * `openssl base64 -d` (tests/bench/bench-ingest.sh).
 */
#ifndef ST_B64_H
#define ST_B64_H

#include <stddef.h>

enum b64_rc {
	B64_OK = 0,
	B64_INVALID = -1,	/* the input is not base64 by the rules above */
	B64_SINK = -2,		/* the sink refused the output; see its own state */
	B64_NOMEM = -3,		/* OpenSSL context could not be allocated */
};

/*
 * Receives decoded bytes in order, in pieces of at most a few KiB.
 * Returns 0 to go on, anything else to stop decoding (B64_SINK).
 */
typedef int (*b64_sink)(void *arg, const unsigned char *p, size_t n);

struct b64_dec;

/* New decoder writing to sink(arg, ...). NULL on allocation failure. */
struct b64_dec	*b64_dec_new(b64_sink sink, void *arg);
void		 b64_dec_free(struct b64_dec *d);

/*
 * Decode n more input bytes (n may be 0). Returns an enum b64_rc; after an
 * error the decoder refuses everything until freed.
 */
int		 b64_dec_update(struct b64_dec *d, const void *in, size_t n);

/*
 * End of input: supply missing padding, flush the last bytes to the sink and
 * check the total length. Returns an enum b64_rc. Empty input is valid and
 * decodes to nothing.
 */
int		 b64_dec_final(struct b64_dec *d);

/* Input bytes consumed and bytes handed to the sink so far. */
unsigned long long b64_dec_in_total(const struct b64_dec *d);
unsigned long long b64_dec_out_total(const struct b64_dec *d);

/*
 * One-shot decode of n bytes into out (capacity cap; B64_DECODED_MAX(n) is
 * always enough). *outlen receives the decoded length. Returns an enum
 * b64_rc; B64_SINK when cap is too small.
 */
int		 b64_decode(const void *in, size_t n, unsigned char *out,
		    size_t cap, size_t *outlen);

/* Upper bound of the decoded size of n input bytes. */
#define B64_DECODED_MAX(n)	(((n) / 4 + 1) * 3)

/*
 * Upper bound of the encoded size of n decoded bytes, padded, with a CR LF
 * after every 64 characters and at the end (the PEM line length, shorter
 * than MIME's 76): the largest body the shard limit lets through.
 */
#define B64_ENCODED_MAX(n)	(4 * (((n) + 2) / 3) + \
	2 * ((4 * (((n) + 2) / 3) + 63) / 64) + 2)

#endif

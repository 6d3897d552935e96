/*
 * b64.c: streaming base64 decoder; a strict filter in front of OpenSSL's
 * EVP_DecodeBlock() (see b64.h for what is accepted and why).
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "b64.h"

#define RUN_MAX		16384			/* chars per EVP_DecodeBlock */
#define OUT_MAX		(RUN_MAX / 4 * 3)

enum { C_BAD, C_ALPHA, C_EOL, C_PAD };

struct b64_dec {
	b64_sink		 sink;
	void			*arg;
	unsigned long long	 in_total;
	unsigned long long	 out_total;
	unsigned long long	 nchars;	/* alphabet chars (padding excluded) */
	unsigned		 pad;		/* '=' seen so far */
	int			 failed;	/* sticky error code */
	unsigned		 ncarry;	/* chars of an unfinished quantum */
	unsigned char		 carry[4];
	unsigned char		 out[OUT_MAX];
};

static unsigned char	 cls[256];	/* byte -> C_* */

/* Fill the class table once (idempotent; the values never change). */
static void
cls_init(void)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char	*p;

	if (cls['A'] == C_ALPHA)
		return;
	for (p = alpha; *p != '\0'; p++)
		cls[(unsigned char)*p] = C_ALPHA;
	cls['\r'] = cls['\n'] = C_EOL;
	cls['='] = C_PAD;
}

/*
 * Create a decoder. Returns NULL on allocation failure. The caller frees
 * with b64_dec_free().
 */
struct b64_dec *
b64_dec_new(b64_sink sink, void *arg)
{
	struct b64_dec	*d = NULL;

	cls_init();
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->sink = sink;
	d->arg = arg;
	return d;
}

/* Release the decoder; NULL is allowed. */
void
b64_dec_free(struct b64_dec *d)
{

	free(d);
}

/*
 * Decode n chars (a multiple of 4, alphabet only, or a last quantum with
 * its padding) with EVP_DecodeBlock and hand the bytes to the sink, less
 * the pad zero bytes of a padded quantum. Returns an enum b64_rc.
 */
static int
decode_emit(struct b64_dec *d, const unsigned char *p, size_t n, unsigned pad)
{
	int	 got;

	got = EVP_DecodeBlock(d->out, p, (int)n);
	if (got < 0 || (size_t)got != n / 4 * 3)
		return B64_INVALID;
	got -= (int)pad;
	if (got <= 0)
		return B64_OK;
	d->out_total += (unsigned long long)got;
	if (d->sink(d->arg, d->out, (size_t)got) != 0)
		return B64_SINK;
	return B64_OK;
}

/*
 * Decode a run of n alphabet chars: complete the carried quantum first, then
 * whole quanta straight from p, and carry the 0-3 chars left over.
 * Returns an enum b64_rc.
 */
static int
run(struct b64_dec *d, const unsigned char *p, size_t n)
{
	size_t	 take, bulk;
	int	 rc;

	if (n == 0)
		return B64_OK;
	if (d->pad > 0)
		return B64_INVALID;	/* data after padding */
	d->nchars += n;
	if (d->ncarry > 0) {
		take = 4 - d->ncarry;
		if (take > n)
			take = n;
		memcpy(d->carry + d->ncarry, p, take);
		d->ncarry += (unsigned)take;
		p += take;
		n -= take;
		if (d->ncarry < 4)
			return B64_OK;
		d->ncarry = 0;
		if ((rc = decode_emit(d, d->carry, 4, 0)) != B64_OK)
			return rc;
	}
	while (n >= 4) {
		bulk = n / 4 * 4;
		if (bulk > RUN_MAX)
			bulk = RUN_MAX;
		if ((rc = decode_emit(d, p, bulk, 0)) != B64_OK)
			return rc;
		p += bulk;
		n -= bulk;
	}
	memcpy(d->carry, p, n);
	d->ncarry = (unsigned)n;
	return B64_OK;
}

/*
 * Classify n input bytes (CR/LF dropped, padding position checked, anything
 * else refused) and decode the runs of alphabet chars in place. Returns an
 * enum b64_rc; errors are sticky.
 */
int
b64_dec_update(struct b64_dec *d, const void *in, size_t n)
{
	const unsigned char	*p = in;
	size_t			 i = 0, start;
	unsigned		 rem;
	int			 rc = B64_OK;

	if (d->failed)
		return d->failed;
	while (i < n) {
		start = i;
		while (i < n && cls[p[i]] == C_ALPHA)
			i++;
		if ((rc = run(d, p + start, i - start)) != B64_OK) {
			i = start;	/* report the run's start */
			goto err;
		}
		if (i == n)
			break;
		switch (cls[p[i]]) {
		case C_EOL:
			break;
		case C_PAD:
			/*
			 * "xx==" or "xxx=": the chars of the last quantum say
			 * how many '=' may follow.
			 */
			rem = (unsigned)(d->nchars % 4);
			if (rem < 2 || d->pad >= 4 - rem) {
				rc = B64_INVALID;
				goto err;
			}
			d->pad++;
			break;
		default:
			rc = B64_INVALID;
			goto err;
		}
		i++;
	}
	d->in_total += n;
	return B64_OK;
err:
	d->in_total += i;
	d->failed = rc;
	return rc;
}

/*
 * End of input: complete the last quantum with its padding ("xx" -> "xx==",
 * "xxx" -> "xxx="; any '=' already sent count) and emit its bytes. A last
 * quantum of one character cannot be base64. Returns an enum b64_rc.
 */
int
b64_dec_final(struct b64_dec *d)
{
	unsigned	 rem;
	int		 rc = B64_OK;

	if (d->failed)
		return d->failed;
	rem = d->ncarry;
	if (rem == 1)
		rc = B64_INVALID;
	else if (rem > 1) {
		memset(d->carry + rem, '=', 4 - rem);
		rc = decode_emit(d, d->carry, 4, 4 - rem);
		d->ncarry = 0;
	}
	if (rc != B64_OK)
		d->failed = rc;
	return rc;
}

/* Input bytes accepted so far (up to the first invalid byte). */
unsigned long long
b64_dec_in_total(const struct b64_dec *d)
{

	return d->in_total;
}

/* Decoded bytes handed to the sink so far. */
unsigned long long
b64_dec_out_total(const struct b64_dec *d)
{

	return d->out_total;
}

struct membuf {
	unsigned char	*p;
	size_t		 cap;
	size_t		 len;
};

/* Sink of b64_decode(): append to the caller's buffer, refuse overflow. */
static int
membuf_sink(void *arg, const unsigned char *p, size_t n)
{
	struct membuf	*m = arg;

	if (n > m->cap - m->len)
		return -1;
	memcpy(m->p + m->len, p, n);
	m->len += n;
	return 0;
}

/*
 * One-shot decode into the caller's buffer. *outlen is set on success (and
 * holds the bytes written so far on failure). Returns an enum b64_rc.
 */
int
b64_decode(const void *in, size_t n, unsigned char *out, size_t cap,
    size_t *outlen)
{
	struct membuf	 m = { out, cap, 0 };
	struct b64_dec	*d = NULL;
	int		 rc;

	*outlen = 0;
	if ((d = b64_dec_new(membuf_sink, &m)) == NULL)
		return B64_NOMEM;
	if ((rc = b64_dec_update(d, in, n)) == B64_OK)
		rc = b64_dec_final(d);
	*outlen = m.len;
	b64_dec_free(d);
	return rc;
}

/*
 * json.c: the strict gate of JSON request bodies (json.h).
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"

/* See json.h. */
int
json_utf8_valid(const void *p, size_t n)
{
	const unsigned char	*s = p;
	size_t			 i = 0, need, k;
	unsigned char		 c, lo, hi;

	while (i < n) {
		c = s[i];
		lo = 0x80;
		hi = 0xbf;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c == 0xe0) {
			need = 2;
			lo = 0xa0;
		} else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
			need = 2;
		else if (c == 0xed) {
			need = 2;
			hi = 0x9f;	/* no surrogates */
		} else if (c == 0xf0) {
			need = 3;
			lo = 0x90;
		} else if (c >= 0xf1 && c <= 0xf3)
			need = 3;
		else if (c == 0xf4) {
			need = 3;
			hi = 0x8f;	/* nothing past U+10FFFF */
		} else
			return 0;
		if (n - i <= need)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (k = 2; k <= need; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return 0;
		i += need + 1;
	}
	return 1;
}

/*
 * The byte scan of json_parse_strict(): no byte below 0x20 but HT, LF and
 * CR outside strings, none at all inside them, no DEL, no \u0000 escape.
 * Strings are followed by their quotes, an escaped character skipped so
 * that \" ends no string and \\u0000 (a backslash, then the text u0000)
 * is no match. Returns 1 when the bytes pass, else 0.
 */
static int
bytes_ok(const char *body, size_t len)
{
	size_t		 i;
	unsigned char	 c;
	int		 in_str = 0;

	for (i = 0; i < len; i++) {
		c = (unsigned char)body[i];
		if ((c < 0x20 && (in_str || (c != '\t' && c != '\n' &&
		    c != '\r'))) || c == 0x7f)
			return 0;
		if (c == '"')
			in_str = !in_str;
		if (c != '\\' || !in_str || i + 1 == len)
			continue;
		if (body[i + 1] == 'u' && len - i >= 6 &&
		    memcmp(body + i + 2, "0000", 4) == 0)
			return 0;
		i++;	/* the escaped character */
	}
	return 1;
}

/* See json.h. */
cJSON *
json_parse_strict(const char *body, size_t len)
{
	const char	*end = NULL;
	cJSON		*root;
	size_t		 i;

	if (body == NULL || len == 0 || !json_utf8_valid(body, len) ||
	    (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0) ||
	    !bytes_ok(body, len))
		return NULL;
	if ((root = cJSON_ParseWithLengthOpts(body, len, &end, 0)) == NULL)
		return NULL;
	/* cJSON stops after the value: only blanks may follow it. */
	for (i = (size_t)(end - body); i < len; i++)
		if (body[i] != ' ' && body[i] != '\t' && body[i] != '\n' &&
		    body[i] != '\r') {
			cJSON_Delete(root);
			return NULL;
		}
	return root;
}

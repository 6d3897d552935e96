/*
 * json.h: the one gate every JSON request body goes through (DESIGN,
 * "Authentication": JSON bodies are parsed strictly).
 *
 * cJSON is lenient where a signed body must not be: it stops after the
 * first value and ignores what follows (so bytes could be appended to a
 * body and still mean the same request), skips any byte up to 0x20 as
 * blank, takes raw control bytes inside strings, skips a byte order mark,
 * and cuts a string at \u0000 without a word. json_parse_strict() refuses
 * all of that before and after cJSON_ParseWithLengthOpts(), so every route
 * that takes a JSON body reads it the same way (POST /data, POST /batch,
 * POST /batch/{id}/promote, POST /account/registries).
 */
#ifndef ST_JSON_H
#define ST_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

/*
 * 1 when p (n bytes) is well-formed UTF-8 (RFC 3629: no overlong form, no
 * surrogate, nothing past U+10FFFF), else 0.
 */
int	 json_utf8_valid(const void *p, size_t n);

/*
 * Parse body (len bytes, untrusted, not NUL-terminated) as exactly one
 * JSON value (RFC 8259) and nothing after it but blanks (SP, HT, LF, CR).
 * Refused as well: an empty or NULL body, bytes that are not UTF-8, a byte
 * order mark, a NUL or any other byte below 0x20 (HT, LF and CR only
 * between tokens, never raw inside a string), DEL, and the escape \u0000.
 * Returns the parsed value (the caller frees it with cJSON_Delete()), or
 * NULL: the route answers 400 invalid_json. Whether the value is an object
 * is the route's check.
 */
cJSON	*json_parse_strict(const char *body, size_t len);

#endif

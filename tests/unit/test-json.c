/*
 * test-json.c: the strict gate of JSON request bodies (src/lib/json.c):
 * one value, nothing after it but blanks, no control byte, no DEL, no
 * \u0000, no byte order mark, UTF-8 only. The routes' own checks are in
 * test-batch, test-promote and test-registry; t9011-auth-v2 sends every
 * JSON route a body with bytes after its value.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "json.h"
#include "util.h"

struct gate_case {
	int		 line;
	const char	*body;
	size_t		 len;	/* 0: strlen(body) */
	int		 ok;	/* 1: parsed */
};

#define OBJ	"{\"name\": \"a\", \"n\": [1, 2.5, true, null]}"
#define WITH_NUL_AFTER	OBJ "\0"
#define WITH_NUL_INSIDE	"{\"name\": \"a\0b\"}"

static const struct gate_case gate_cases[] = {
	/* Accepted: one value, blanks around it. */
	{ __LINE__, OBJ, 0, 1 },
	{ __LINE__, " \t\r\n" OBJ " \t\r\n", 0, 1 },
	{ __LINE__, "[]", 0, 1 },
	{ __LINE__, "null", 0, 1 },
	{ __LINE__, "\"x\"", 0, 1 },
	{ __LINE__, "{\"a\": \"\\\\u0000\"}", 0, 1 },	/* the text \u0000 */
	{ __LINE__, "{\"a\": \"\\u0001\\t\\n\"}", 0, 1 },	/* escaped */
	{ __LINE__, "{\"a\": \"\\\"}\"}", 0, 1 },	/* escaped quote */
	{ __LINE__, "{\"a\": \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", 0, 1 },
	{ __LINE__, "{\"a\": \"\\u00e9\"}", 0, 1 },
	/* Bytes after the value: the relocation of issue 13 and kin. */
	{ __LINE__, OBJ "\n1700000000", 0, 0 },
	{ __LINE__, OBJ " x", 0, 0 },
	{ __LINE__, OBJ "{}", 0, 0 },
	{ __LINE__, OBJ ",", 0, 0 },
	{ __LINE__, OBJ "}", 0, 0 },
	{ __LINE__, OBJ "//", 0, 0 },
	{ __LINE__, "1 2", 0, 0 },
	{ __LINE__, "\"a\"\"b\"", 0, 0 },
	{ __LINE__, WITH_NUL_AFTER, sizeof(WITH_NUL_AFTER) - 1, 0 },
	/* Blanks are SP, HT, LF, CR only (cJSON skips any byte <= 0x20). */
	{ __LINE__, OBJ "\x0b", 0, 0 },
	{ __LINE__, OBJ "\x0c", 0, 0 },
	{ __LINE__, "\x01" OBJ, 0, 0 },
	{ __LINE__, "{\"a\":\x1f" "1}", 0, 0 },
	/* Raw control bytes inside strings, DEL anywhere, NUL. */
	{ __LINE__, "{\"a\": \"x\ty\"}", 0, 0 },
	{ __LINE__, "{\"a\": \"x\ny\"}", 0, 0 },
	{ __LINE__, "{\"a\": \"x\x1by\"}", 0, 0 },
	{ __LINE__, "{\"a\": \"x\x7fy\"}", 0, 0 },
	{ __LINE__, OBJ "\x7f", 0, 0 },
	{ __LINE__, WITH_NUL_INSIDE, sizeof(WITH_NUL_INSIDE) - 1, 0 },
	/* \u0000 would end the string silently in cJSON. */
	{ __LINE__, "{\"a\": \"x\\u0000y\"}", 0, 0 },
	{ __LINE__, "{\"a\\u0000\": 1}", 0, 0 },
	{ __LINE__, "{\"a\": \"\\\\\\u0000\"}", 0, 0 },	/* \\ then \u0000 */
	/* Not UTF-8; a byte order mark. */
	{ __LINE__, "{\"a\": \"\xff\"}", 0, 0 },
	{ __LINE__, "{\"a\": \"\xc0\xaf\"}", 0, 0 },
	{ __LINE__, "{\"a\": \"\xed\xa0\x80\"}", 0, 0 },
	{ __LINE__, "\xef\xbb\xbf" OBJ, 0, 0 },
	/* Not JSON at all. */
	{ __LINE__, "", 0, 0 },
	{ __LINE__, "   ", 0, 0 },
	{ __LINE__, "{", 0, 0 },
	{ __LINE__, "{\"a\": 1", 0, 0 },
	{ __LINE__, "nul", 0, 0 },
	{ __LINE__, "{'a': 1}", 0, 0 },
};

static void
test_gate_table(void **state)
{
	const struct gate_case	*c;
	cJSON			*v;
	size_t			 i, len;

	(void)state;
	for (i = 0; i < NITEMS(gate_cases); i++) {
		c = &gate_cases[i];
		len = c->len != 0 ? c->len : strlen(c->body);
		v = json_parse_strict(c->body, len);
		if ((v != NULL) != c->ok)
			fail_msg("line %d: %s, want %s", c->line,
			    v != NULL ? "parsed" : "refused",
			    c->ok ? "parsed" : "refused");
		cJSON_Delete(v);
	}
	assert_null(json_parse_strict(NULL, 0));
	assert_null(json_parse_strict(NULL, 5));
}

/* The length is what counts: no byte past it is read. */
static void
test_gate_length(void **state)
{
	static const char	 text[] = OBJ "garbage";
	cJSON			*v;

	(void)state;
	v = json_parse_strict(text, strlen(OBJ));
	assert_non_null(v);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(v,
	    "name")->valuestring, "a");
	cJSON_Delete(v);
	assert_null(json_parse_strict(text, strlen(OBJ) + 1));
	assert_null(json_parse_strict(text, strlen(OBJ) - 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gate_table),
		cmocka_unit_test(test_gate_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

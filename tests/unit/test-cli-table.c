/*
 * test-cli-table.c: the client's tables and human units
 * (src/cli/cli-table.c): alignment by characters of UTF-8, right-aligned
 * numbers, cut cells, control bytes never printed, no trailing blanks.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

static void
test_render(void **state)
{
	static const char *const hdr[] = { "NAME", "SHARDS", "NOTE" };
	const char	*r1[] = { "digits", "12", "first" };
	const char	*r2[] = { "caf\xc3\xa9-set", "3", NULL };
	const char	*r3[] = { "x", "1024", "" };
	struct cli_table *t;
	char		*s;

	(void)state;
	t = cli_table_new(3, hdr);
	cli_table_align(t, 1, CLI_RIGHT);
	cli_table_add(t, r1);
	cli_table_add(t, r2);
	cli_table_add(t, r3);
	assert_int_equal(cli_table_rows(t), 3);
	s = cli_table_render(t);
	assert_string_equal(s,
	    "NAME      SHARDS  NOTE\n"
	    "digits        12  first\n"
	    "caf\xc3\xa9-set       3  -\n"
	    "x           1024\n");
	free(s);
	cli_table_free(t);
}

static void
test_limit_and_control(void **state)
{
	static const char *const hdr[] = { "A", "B" };
	const char	*r1[] = { "0123456789abcdef", "ok" };
	const char	*r2[] = { "bell\a\x1b[31m", "\xff\xfe" };
	struct cli_table *t;
	char		*s;

	(void)state;
	t = cli_table_new(2, hdr);
	cli_table_limit(t, 0, 10);
	cli_table_add(t, r1);
	cli_table_add(t, r2);
	s = cli_table_render(t);
	assert_string_equal(s,
	    "A           B\n"
	    "0123456...  ok\n"
	    "bell??[31m  ??\n");
	assert_null(strchr(s, '\a'));
	assert_null(strchr(s, 0x1b));
	free(s);
	cli_table_free(t);
}

static void
test_empty(void **state)
{
	static const char *const hdr[] = { "ONLY" };
	struct cli_table *t;
	char		*s;

	(void)state;
	t = cli_table_new(1, hdr);
	s = cli_table_render(t);
	assert_string_equal(s, "ONLY\n");
	free(s);
	cli_table_free(t);
	cli_table_free(NULL);
}

static void
test_width(void **state)
{

	(void)state;
	assert_int_equal(cli_text_width(""), 0);
	assert_int_equal(cli_text_width("abc"), 3);
	assert_int_equal(cli_text_width("\xc3\xa9t\xc3\xa9"), 3);
	assert_int_equal(cli_text_width("\xe2\x82\xac"), 1);		/* euro */
	assert_int_equal(cli_text_width("\xf0\x9f\x98\x80"), 1);	/* emoji */
	assert_int_equal(cli_text_width("\xff\xc3"), 2);		/* invalid */
	assert_int_equal(cli_text_width("\xc0\x80"), 2);		/* overlong */
}

static void
test_human(void **state)
{
	char	 b[32];

	(void)state;
	cli_human_bytes(0, b);
	assert_string_equal(b, "0 B");
	cli_human_bytes(1023, b);
	assert_string_equal(b, "1023 B");
	cli_human_bytes(1536, b);
	assert_string_equal(b, "1.5 KiB");
	cli_human_bytes(10 * 1024 * 1024, b);
	assert_string_equal(b, "10 MiB");
	cli_human_bytes(3ULL << 40, b);
	assert_string_equal(b, "3.0 TiB");
	cli_human_ms(0, b);
	assert_string_equal(b, "0ms");
	cli_human_ms(120, b);
	assert_string_equal(b, "120ms");
	cli_human_ms(4200, b);
	assert_string_equal(b, "4.2s");
	cli_human_ms(185000, b);
	assert_string_equal(b, "3m05s");
	cli_human_ms(3720000, b);
	assert_string_equal(b, "1h02m");
	cli_human_ms(-5, b);
	assert_string_equal(b, "0ms");
}

static void
test_json_text(void **state)
{
	cJSON	*o;
	char	*s;

	(void)state;
	o = cJSON_Parse("{\"a\": {\"fitness_score\": 0.43}, \"s\": \"x\", \"n\": null}");
	s = cli_json_text(cJSON_GetObjectItem(o, "a"));
	assert_string_equal(s, "{\"fitness_score\":0.43}");
	free(s);
	s = cli_json_text(cJSON_GetObjectItem(o, "s"));
	assert_string_equal(s, "x");
	free(s);
	s = cli_json_text(cJSON_GetObjectItem(o, "n"));
	assert_string_equal(s, "-");
	free(s);
	s = cli_json_text(NULL);
	assert_string_equal(s, "-");
	free(s);
	assert_string_equal(cli_jstr(o, "s"), "x");
	assert_null(cli_jstr(o, "a"));
	assert_true(cli_jnum(o, "missing", 7) == 7);
	cJSON_Delete(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_limit_and_control),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_human),
		cmocka_unit_test(test_json_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test-cli-conf.c: the client's configuration (src/cli/cli-conf.c):
 * config.json parsing, where it is looked for, what a signed request
 * needs, and the API URL split into origin and prefix; and the
 * Content-Range of an answer (cli-http.c), which `job log --follow` reads.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"

#define KEY	"0123456789abcdef0123456789ABCDEF"

static void
test_parse(void **state)
{
	struct cli_conf	 c;
	char		 err[256];
	const char	*t = "{\"api_key\": \"" KEY "\", \"secret\": \"s3cr3t\","
	    " \"api_url\": \"https://h:1/p\", \"ca_file\": \"/x\", \"other\": 1}";

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(cli_conf_parse(&c, t, strlen(t), err, sizeof(err)), 0);
	assert_string_equal(c.api_key, KEY);
	assert_string_equal(c.secret, "s3cr3t");
	assert_string_equal(c.api_url, "https://h:1/p");
	assert_string_equal(c.ca_file, "/x");
	/* A second file's keys replace, absent keys stay. */
	t = "{\"secret\": \"new\", \"ca_file\": null}";
	assert_int_equal(cli_conf_parse(&c, t, strlen(t), err, sizeof(err)), 0);
	assert_string_equal(c.secret, "new");
	assert_string_equal(c.api_key, KEY);
	assert_string_equal(c.ca_file, "/x");
	cli_conf_free(&c);
}

static void
test_parse_refused(void **state)
{
	static const struct {
		const char	*text;
		const char	*err;
		int		 line;
	} bad[] = {
		{ "", "not valid JSON", __LINE__ },
		{ "{", "not valid JSON", __LINE__ },
		{ "[]", "not a JSON object", __LINE__ },
		{ "\"x\"", "not a JSON object", __LINE__ },
		{ "{\"api_key\": 5}", "\"api_key\" must be a string", __LINE__ },
		{ "{\"secret\": true}", "\"secret\" must be a string", __LINE__ },
		{ "{\"api_url\": []}", "\"api_url\" must be a string", __LINE__ },
		{ "{\"ca_file\": {}}", "\"ca_file\" must be a string", __LINE__ },
	};
	struct cli_conf	 c;
	char		 err[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&c, 0, sizeof(c));
		if (cli_conf_parse(&c, bad[i].text, strlen(bad[i].text), err,
		    sizeof(err)) != -1 || strcmp(err, bad[i].err) != 0)
			fail_msg("line %d: accepted or wrong error '%s'",
			    bad[i].line, err);
		cli_conf_free(&c);
	}
}

static void
test_path(void **state)
{
	char	*p;

	(void)state;
	p = cli_conf_path("/etc/sg", "/home/u");
	assert_string_equal(p, "/etc/sg/config.json");
	free(p);
	p = cli_conf_path("", "/home/u");
	assert_string_equal(p, "/home/u/.singularity/config.json");
	free(p);
	p = cli_conf_path(NULL, "/home/u");
	assert_string_equal(p, "/home/u/.singularity/config.json");
	free(p);
	assert_null(cli_conf_path(NULL, NULL));
	assert_null(cli_conf_path("", ""));
}

static void
test_load(void **state)
{
	struct cli_conf	 c;
	char		 dir[] = "/tmp/test-cli-conf.XXXXXX", path[256], err[512];
	FILE		*f;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	assert_int_equal(cli_conf_load(&c, path, err, sizeof(err)), 1);
	assert_null(c.path);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "{\"api_key\": \"%s\", \"secret\": \"x\"}\n", KEY);
	fclose(f);
	assert_int_equal(cli_conf_load(&c, path, err, sizeof(err)), 0);
	assert_string_equal(c.path, path);
	assert_string_equal(c.secret, "x");
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "{\"api_key\": ");
	fclose(f);
	assert_int_equal(cli_conf_load(&c, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "config.json: not valid JSON"));
	unlink(path);
	rmdir(dir);
	cli_conf_free(&c);
}

static void
test_check(void **state)
{
	struct cli_conf	 c;
	char		 err[256];

	(void)state;
	memset(&c, 0, sizeof(c));
	/* ping needs no credentials. */
	assert_int_equal(cli_conf_check(&c, 0, err, sizeof(err)), 0);
	assert_int_equal(cli_conf_check(&c, 1, err, sizeof(err)), -1);
	assert_string_equal(err, "no api_key");
	c.api_key = strdup(KEY);
	assert_int_equal(cli_conf_check(&c, 1, err, sizeof(err)), -1);
	assert_string_equal(err, "no secret");
	c.secret = strdup("s");
	assert_int_equal(cli_conf_check(&c, 1, err, sizeof(err)), 0);
	free(c.api_key);
	c.api_key = strdup("0123456789abcdef0123456789abcdeX");
	assert_int_equal(cli_conf_check(&c, 1, err, sizeof(err)), -1);
	free(c.api_key);
	c.api_key = strdup("0123");
	assert_int_equal(cli_conf_check(&c, 1, err, sizeof(err)), -1);
	free(c.api_key);
	c.api_key = strdup(KEY);
	free(c.secret);
	c.secret = strdup("a\nb");
	assert_int_equal(cli_conf_check(&c, 1, err, sizeof(err)), -1);
	free(c.secret);
	c.secret = strdup("ok");
	c.api_url = strdup("ftp://x");
	assert_int_equal(cli_conf_check(&c, 1, err, sizeof(err)), -1);
	free(c.api_url);
	c.api_url = strdup("https://x/\r");
	assert_int_equal(cli_conf_check(&c, 1, err, sizeof(err)), -1);
	free(c.api_url);
	c.api_url = strdup("https://x");
	c.ca_file = strdup("/nonexistent/ca.pem");
	assert_int_equal(cli_conf_check(&c, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/ca.pem"));
	cli_conf_free(&c);
}

static void
test_url_split(void **state)
{
	static const struct {
		const char	*url, *origin, *prefix;
		int		 line;
	} ok[] = {
		{ "https://h", "https://h", "", __LINE__ },
		{ "https://h/", "https://h", "", __LINE__ },
		{ "https://127.0.0.1:8443", "https://127.0.0.1:8443", "", __LINE__ },
		{ "http://h:80/api", "http://h:80", "/api", __LINE__ },
		{ "HTTPS://h/api/v1//", "HTTPS://h", "/api/v1", __LINE__ },
		{ "https://[::1]:9/x", "https://[::1]:9", "/x", __LINE__ },
	};
	static const char *const bad[] = { "", "h", "ftp://h", "https://",
	    "https:///x", "https://h/?q", "https://h/#f", "https://h/a b",
	    "//h" };
	char	*o, *p;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (cli_url_split(ok[i].url, &o, &p) != 0)
			fail_msg("line %d: refused", ok[i].line);
		if (strcmp(o, ok[i].origin) != 0 || strcmp(p, ok[i].prefix) != 0)
			fail_msg("line %d: '%s' '%s'", ok[i].line, o, p);
		free(o);
		free(p);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cli_url_split(bad[i], &o, &p) != -1)
			fail_msg("accepted '%s'", bad[i]);
}

struct cr_case {
	int		 line;
	const char	*in;
	int		 rc;
	long long	 first, last, total;
};

static const struct cr_case cr_cases[] = {
	{ __LINE__, "bytes 0-99/3000", 0, 0, 99, 3000 },
	{ __LINE__, "bytes 4821-5320/5321\r\n", 0, 4821, 5320, 5321 },
	{ __LINE__, "  Bytes 7-7/8 ", 0, 7, 7, 8 },
	{ __LINE__, "bytes */3000", 1, 0, 0, 3000 },
	{ __LINE__, "bytes */0", 1, 0, 0, 0 },
	{ __LINE__, "bytes 9223372036854775806-9223372036854775806/"
	    "9223372036854775807", 0, 9223372036854775806LL,
	    9223372036854775806LL, 9223372036854775807LL },
	{ __LINE__, "", -1, 0, 0, 0 },
	{ __LINE__, "bytes", -1, 0, 0, 0 },
	{ __LINE__, "bytes 5-4/10", -1, 0, 0, 0 },	/* last < first */
	{ __LINE__, "bytes 0-10/10", -1, 0, 0, 0 },	/* last >= total */
	{ __LINE__, "bytes 0-9/*", -1, 0, 0, 0 },
	{ __LINE__, "bytes 0-9", -1, 0, 0, 0 },
	{ __LINE__, "bytes -1-9/10", -1, 0, 0, 0 },
	{ __LINE__, "bytes 0-9/10x", -1, 0, 0, 0 },
	{ __LINE__, "bytes 0 -9/10", -1, 0, 0, 0 },
	{ __LINE__, "bytes=0-9/10", -1, 0, 0, 0 },
	{ __LINE__, "items 0-9/10", -1, 0, 0, 0 },
	{ __LINE__, "bytes */", -1, 0, 0, 0 },
	{ __LINE__, "bytes 0-1/9223372036854775808", -1, 0, 0, 0 },
	{ __LINE__, "bytes 99999999999999999999-1/2", -1, 0, 0, 0 },
};

static void
test_content_range(void **state)
{
	const struct cr_case	*c;
	long long		 first, last, total;
	size_t			 i;
	int			 rc, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(cr_cases) / sizeof(cr_cases[0]); i++) {
		c = &cr_cases[i];
		first = last = total = 0;
		rc = cli_content_range(c->in, strlen(c->in), &first, &last,
		    &total);
		if (rc != c->rc || (rc == 0 && (first != c->first ||
		    last != c->last)) || (rc >= 0 && total != c->total)) {
			print_error("content-range line %d \"%s\": rc %d "
			    "%lld-%lld/%lld\n", c->line, c->in, rc, first,
			    last, total);
			bad++;
		}
	}
	/* Never read past n. */
	assert_int_equal(cli_content_range("bytes 0-9/100", 12, &first, &last,
	    &total), 0);
	assert_true(total == 10);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_url_split),
		cmocka_unit_test(test_content_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

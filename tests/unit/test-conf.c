/*
 * test-conf.c: the configuration file (src/lib/conf.c): every key read
 * back, the defaults, value syntax, the environment override, and a table of
 * bad files each with the error it must produce.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"
#include "util.h"

#ifndef ST_SYSCONFDIR
#define ST_SYSCONFDIR		"/etc"
#endif
#ifndef ST_LOCALSTATEDIR
#define ST_LOCALSTATEDIR	"/var"
#endif

/*
 * Write len bytes of text to a new temporary file; its name goes to path
 * (pathlen bytes). The caller unlinks it.
 */
static void
write_file(char *path, size_t pathlen, const char *text, size_t len)
{
	const char	*dir = getenv("TMPDIR");
	int		 fd;

	snprintf(path, pathlen, "%s/test-conf.XXXXXX",
	    dir != NULL && *dir != '\0' ? dir : "/tmp");
	fd = mkstemp(path);
	assert_int_not_equal(fd, -1);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Check every field of c against the defaults documented in conf.h. */
static void
assert_defaults(const struct conf *c)
{
	assert_string_equal(c->db_host, "localhost");
	assert_int_equal(c->db_port, 3306);
	assert_string_equal(c->db_socket, "");
	assert_string_equal(c->db_user, "singularity");
	assert_string_equal(c->db_password, "");
	assert_string_equal(c->db_name, "singularity");
	assert_int_equal(c->db_connect_timeout, 5);
	assert_string_equal(c->store_dir, ST_LOCALSTATEDIR "/lib/singularity");
	assert_string_equal(c->auth_key_file,
	    ST_SYSCONFDIR "/singularity/secret.key");
	assert_int_equal(c->auth_allow_http, 0);
	assert_int_equal(c->auth_require_timestamp, 0);
	assert_int_equal(c->auth_timestamp_window, 300);
	assert_string_equal(c->http_base_path, "");
	assert_int_equal(c->http_max_body, 1024 * 1024);
	assert_int_equal(c->http_idempotency_wait, 30);
	assert_int_equal(c->http_idempotency_lease, 600);
	assert_string_equal(c->log_file, "");
	assert_int_equal(c->log_level, CONF_LOG_INFO);
	assert_int_equal(c->limit_shard_bytes, 10 * 1024 * 1024);
	assert_int_equal(c->limit_batch_jobs, 1000);
	assert_int_equal(c->limit_batch_body, 1024 * 1024);
	assert_true(c->ram_per_cpu_gb == 4.0);
	assert_true(c->ram_per_gpu_gb == 28.0);
	assert_int_equal(c->time_limit_pilot, 3600);
	assert_int_equal(c->time_limit_production, 86400);
	assert_int_equal(c->disp_host_grace, 120);
	assert_int_equal(c->disp_stop_grace, 30);
	assert_string_equal(c->disp_network_mode, "none");
	assert_int_equal(c->disp_pids_limit, 1024);
	assert_int_equal(c->disp_host_calls, 8);
	assert_int_equal(c->disp_pull_timeout, 1800);
	assert_true(c->disp_host_cache_max == 100ULL * 1024 * 1024 * 1024);
	assert_int_equal(c->disp_log_max, 64 * 1024 * 1024);
	assert_int_equal(c->disp_pass_budget, 50);
	assert_true(c->disp_output_max == 2ULL * 1024 * 1024 * 1024);
	assert_true(c->disp_container_log_max == 1024ULL * 1024 * 1024);
}

/* conf_defaults(): every documented default, every string allocated. */
static void
defaults(void **state)
{
	struct conf	 c;

	conf_defaults(&c);
	assert_non_null(c.path);
	assert_defaults(&c);
	conf_free(&c);
	assert_null(c.db_host);
	conf_free(&c);		/* twice is harmless */
}

/* An empty file and a file of comments give the defaults. */
static void
empty_file(void **state)
{
	static const char	 text[] =
	    "# nothing but comments\n"
	    "; and blank lines\n"
	    "\n"
	    "   \t  \n"
	    "[database]\n"
	    "  # indented comment\n";
	struct conf		 c;
	char			 path[4096], err[512];

	write_file(path, sizeof(path), "", 0);
	assert_int_equal(conf_load(path, &c, err, sizeof(err)), 0);
	assert_string_equal(c.path, path);
	assert_defaults(&c);
	conf_free(&c);
	unlink(path);

	write_file(path, sizeof(path), text, strlen(text));
	assert_int_equal(conf_load(path, &c, err, sizeof(err)), 0);
	assert_defaults(&c);
	conf_free(&c);
	unlink(path);
}

/* Every section and key set to a non-default value and read back. */
static void
good_file(void **state)
{
	static const char	 text[] =
	    "# every key\n"
	    "[database]\n"
	    "host = db.example.org\n"
	    "port=3307\n"
	    "socket = /run/mysqld/mysqld.sock\n"
	    "\tuser\t=\tst_user\t\n"
	    "password = \"p@ss word # not a comment\"  # a comment\n"
	    "name = st_db\n"
	    "connect_timeout = 10\n"
	    "\n"
	    "[store]\n"
	    "dir = /srv/singularity/store\n"
	    "[auth]\n"
	    "key_file = /etc/st/secret.key\n"
	    "allow_http = yes\n"
	    "require_timestamp = On\n"
	    "timestamp_window = 60\n"
	    "[http]\n"
	    "base_path = /api\n"
	    "max_body = 16M\n"
	    "[log]\n"
	    "file = /var/log/singularity.log\n"
	    "level = debug\n"
	    "[limits]\n"
	    "shard_bytes = 20m\n"
	    "batch_jobs = 50\n"
	    "batch_body = 512K\n"
	    "[resources]\n"
	    "ram_per_cpu_gb = 3.5\n"
	    "ram_per_gpu_gb = 40\n"
	    "[time_limits]\n"
	    "pilot = 600\n"
	    "production = 7200\n"
	    "[dispatcher]\n"
	    "host_grace = 300\n"
	    "stop_grace = 5\n"
	    "network_mode = bridge # inline comment\n"
	    "pids_limit = 256\n"
	    "; a repeated section header is fine\n"
	    "[database]\n"
	    "; the last line has no newline\n"
	    "[log]";
	struct conf		 c;
	char			 path[4096], err[512];

	write_file(path, sizeof(path), text, strlen(text));
	if (conf_load(path, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	unlink(path);
	assert_string_equal(c.path, path);
	assert_string_equal(c.db_host, "db.example.org");
	assert_int_equal(c.db_port, 3307);
	assert_string_equal(c.db_socket, "/run/mysqld/mysqld.sock");
	assert_string_equal(c.db_user, "st_user");
	assert_string_equal(c.db_password, "p@ss word # not a comment");
	assert_string_equal(c.db_name, "st_db");
	assert_int_equal(c.db_connect_timeout, 10);
	assert_string_equal(c.store_dir, "/srv/singularity/store");
	assert_string_equal(c.auth_key_file, "/etc/st/secret.key");
	assert_int_equal(c.auth_allow_http, 1);
	assert_int_equal(c.auth_require_timestamp, 1);
	assert_int_equal(c.auth_timestamp_window, 60);
	assert_string_equal(c.http_base_path, "/api");
	assert_int_equal(c.http_max_body, 16 * 1024 * 1024);
	assert_string_equal(c.log_file, "/var/log/singularity.log");
	assert_int_equal(c.log_level, CONF_LOG_DEBUG);
	assert_int_equal(c.limit_shard_bytes, 20 * 1024 * 1024);
	assert_int_equal(c.limit_batch_jobs, 50);
	assert_int_equal(c.limit_batch_body, 512 * 1024);
	assert_true(c.ram_per_cpu_gb == 3.5);
	assert_true(c.ram_per_gpu_gb == 40.0);
	assert_int_equal(c.time_limit_pilot, 600);
	assert_int_equal(c.time_limit_production, 7200);
	assert_int_equal(c.disp_host_grace, 300);
	assert_int_equal(c.disp_stop_grace, 5);
	assert_string_equal(c.disp_network_mode, "bridge");
	assert_int_equal(c.disp_pids_limit, 256);
	conf_free(&c);
}

/* conf_parse_size(): suffixes K, M, G in either case, overflow refused. */
static void
size_suffixes(void **state)
{
	size_t	 i, v;
	struct {
		int		 line;
		const char	*s;
		int		 rc;
		size_t		 want;
	} tests[] = {
		{ __LINE__, "0", 0, 0 },
		{ __LINE__, "1", 0, 1 },
		{ __LINE__, "1024", 0, 1024 },
		{ __LINE__, "1K", 0, 1024 },
		{ __LINE__, "1k", 0, 1024 },
		{ __LINE__, "3M", 0, 3 * 1024 * 1024 },
		{ __LINE__, "3m", 0, 3 * 1024 * 1024 },
		{ __LINE__, "2G", 0, (size_t)2 * 1024 * 1024 * 1024 },
		{ __LINE__, "2g", 0, (size_t)2 * 1024 * 1024 * 1024 },
		{ __LINE__, "007K", 0, 7 * 1024 },
		{ __LINE__, "18446744073709551615", 0, SIZE_MAX },
		{ __LINE__, "18446744073709551616", -1, 0 },
		{ __LINE__, "17179869184G", -1, 0 },
		{ __LINE__, "", -1, 0 },
		{ __LINE__, "K", -1, 0 },
		{ __LINE__, "1KB", -1, 0 },
		{ __LINE__, "1T", -1, 0 },
		{ __LINE__, "1.5M", -1, 0 },
		{ __LINE__, "-1", -1, 0 },
		{ __LINE__, "+1", -1, 0 },
		{ __LINE__, " 1", -1, 0 },
		{ __LINE__, "1 K", -1, 0 },
		{ __LINE__, "0x10", -1, 0 },
	};

	for (i = 0; i < NITEMS(tests); i++) {
		v = 12345;
		if (conf_parse_size(tests[i].s, &v) != tests[i].rc)
			fail_msg("line %d: \"%s\": want rc %d", tests[i].line,
			    tests[i].s, tests[i].rc);
		if (tests[i].rc == 0 && v != tests[i].want)
			fail_msg("line %d: \"%s\": got %zu want %zu",
			    tests[i].line, tests[i].s, v, tests[i].want);
	}
	assert_int_equal(conf_parse_size(NULL, &v), -1);
}

/* Booleans: true/false, yes/no, on/off, 1/0 in any case. */
static void
booleans(void **state)
{
	struct conf	 c;
	char		 path[4096], err[512], text[128];
	size_t		 i;
	struct {
		int		 line;
		const char	*v;
		int		 want;	/* -1: error */
	} tests[] = {
		{ __LINE__, "true", 1 }, { __LINE__, "TRUE", 1 },
		{ __LINE__, "yes", 1 }, { __LINE__, "Yes", 1 },
		{ __LINE__, "on", 1 }, { __LINE__, "1", 1 },
		{ __LINE__, "false", 0 }, { __LINE__, "False", 0 },
		{ __LINE__, "no", 0 }, { __LINE__, "off", 0 },
		{ __LINE__, "OFF", 0 }, { __LINE__, "0", 0 },
		{ __LINE__, "\"yes\"", 1 },
		{ __LINE__, "2", -1 }, { __LINE__, "y", -1 },
		{ __LINE__, "truee", -1 }, { __LINE__, "\"\"", -1 },
		{ __LINE__, "", -1 }, { __LINE__, "enabled", -1 },
	};

	for (i = 0; i < NITEMS(tests); i++) {
		snprintf(text, sizeof(text), "[auth]\nallow_http = %s\n",
		    tests[i].v);
		write_file(path, sizeof(path), text, strlen(text));
		err[0] = '\0';
		if (conf_load(path, &c, err, sizeof(err)) == 0) {
			if (tests[i].want != c.auth_allow_http)
				fail_msg("line %d: \"%s\": got %d",
				    tests[i].line, tests[i].v,
				    c.auth_allow_http);
			conf_free(&c);
		} else if (tests[i].want != -1 ||
		    strstr(err, ":2: [auth] allow_http: ") == NULL)
			fail_msg("line %d: \"%s\": %s", tests[i].line,
			    tests[i].v, err);
		unlink(path);
	}
}

/* Quoted values keep blanks and '#'; \" and \\ are the escapes. */
static void
quoted_values(void **state)
{
	struct conf	 c;
	char		 path[4096], err[512], text[256];
	size_t		 i;
	struct {
		int		 line;
		const char	*v;
		const char	*want;
	} tests[] = {
		{ __LINE__, "\"\"", "" },
		{ __LINE__, "", "" },
		{ __LINE__, "\"  two  spaces  \"", "  two  spaces  " },
		{ __LINE__, "\"a#b;c\"", "a#b;c" },
		{ __LINE__, "\"a\\\"b\"", "a\"b" },
		{ __LINE__, "\"a\\\\b\"", "a\\b" },
		{ __LINE__, "\"x\"   # comment", "x" },
		{ __LINE__, "\"x\"\t", "x" },
		{ __LINE__, "a b  c", "a b  c" },
		{ __LINE__, "a;b", "a;b" },
		{ __LINE__, "a#b", "a" },
		{ __LINE__, "a\"b", "a\"b" },
		{ __LINE__, "\"=\"", "=" },
		{ __LINE__, "x = y", "x = y" },
		{ __LINE__, "\"caf\xc3\xa9\"", "caf\xc3\xa9" },
	};

	for (i = 0; i < NITEMS(tests); i++) {
		snprintf(text, sizeof(text), "[database]\npassword = %s\n",
		    tests[i].v);
		write_file(path, sizeof(path), text, strlen(text));
		if (conf_load(path, &c, err, sizeof(err)) != 0)
			fail_msg("line %d: %s", tests[i].line, err);
		unlink(path);
		if (strcmp(c.db_password, tests[i].want) != 0)
			fail_msg("line %d: got \"%s\" want \"%s\"",
			    tests[i].line, c.db_password, tests[i].want);
		conf_free(&c);
	}
}

/* $SINGULARITY_CONF names the file conf_load(NULL) reads. */
static void
env_override(void **state)
{
	static const char	 text[] = "[database]\nname = from_env\n";
	struct conf		 c;
	char			 path[4096], err[512];

	assert_int_equal(unsetenv("SINGULARITY_CONF"), 0);
	assert_string_equal(conf_default_path(),
	    ST_SYSCONFDIR "/singularity/singularity.conf");
	assert_int_equal(setenv("SINGULARITY_CONF", "", 1), 0);
	assert_string_equal(conf_default_path(),
	    ST_SYSCONFDIR "/singularity/singularity.conf");

	write_file(path, sizeof(path), text, strlen(text));
	assert_int_equal(setenv("SINGULARITY_CONF", path, 1), 0);
	assert_string_equal(conf_default_path(), path);
	if (conf_load(NULL, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(c.path, path);
	assert_string_equal(c.db_name, "from_env");
	conf_free(&c);

	/* An explicit path wins over the environment. */
	assert_int_equal(setenv("SINGULARITY_CONF", "/nonexistent/x.conf", 1),
	    0);
	assert_int_equal(conf_load(path, &c, err, sizeof(err)), 0);
	assert_string_equal(c.db_name, "from_env");
	conf_free(&c);
	assert_int_equal(conf_load(NULL, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/x.conf"));
	assert_int_equal(unsetenv("SINGULARITY_CONF"), 0);
	unlink(path);
}

/* A missing file names the file and the errno text; *c is left empty. */
static void
missing_file(void **state)
{
	struct conf	 c;
	char		 path[4096], err[512];

	write_file(path, sizeof(path), "", 0);
	unlink(path);
	assert_int_equal(conf_load(path, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_null(c.path);
	assert_null(c.db_host);
	conf_free(&c);

	/* A directory cannot be read as a file either. */
	assert_int_equal(conf_load("/", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/: "));
}

/*
 * The documented example (src/singularity.conf.example.in) loads, sets
 * every key once and shows the defaults; only its install paths are still
 * placeholders. Needs $top_srcdir, which "make check" exports.
 */
static void
example_file(void **state)
{
	struct conf	 c;
	char		 path[4096], err[512], line[4200];
	const char	*top = getenv("top_srcdir");
	FILE		*f;
	size_t		 keys = 0;

	if (top == NULL || *top == '\0')
		skip();
	snprintf(path, sizeof(path), "%s/src/singularity.conf.example.in",
	    top);
	if (conf_load(path, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(c.store_dir, "@localstatedir@/lib/singularity");
	assert_string_equal(c.auth_key_file,
	    "@sysconfdir@/singularity/secret.key");
	free(c.store_dir);
	c.store_dir = xstrdup(ST_LOCALSTATEDIR "/lib/singularity");
	free(c.auth_key_file);
	c.auth_key_file = xstrdup(ST_SYSCONFDIR "/singularity/secret.key");
	assert_defaults(&c);
	conf_free(&c);

	/* Every key of struct conf is shown (duplicates would not load). */
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (line[0] >= 'a' && line[0] <= 'z' &&
		    strstr(line, " =") != NULL)
			keys++;
	fclose(f);
	assert_int_equal(keys, 36);
}

/*
 * Each bad file and the part of the error that must follow its path:
 * ":LINE: [section] key: reason" (or ":LINE: reason" without a key).
 */
static void
bad_files(void **state)
{
	struct conf	 c;
	char		 path[4096], err[8192], *text, *p;
	size_t		 i, len;
	struct {
		int		 line;
		const char	*text;
		const char	*want;
	} tests[] = {
		{ __LINE__, "[nosuch]\nx = 1\n",
		    ":1: [nosuch]: unknown section" },
		{ __LINE__, "[database]\nhots = x\n",
		    ":2: [database] hots: unknown key" },
		{ __LINE__, "[database]\nhost = a\n\nhost = b\n",
		    ":4: [database] host: duplicate key (first set on line 2)" },
		{ __LINE__, "[database]\nhost = a\n[auth]\n[database]\n"
		    "host = b\n",
		    ":5: [database] host: duplicate key (first set on line 2)" },
		{ __LINE__, "[database]\nhost\n", ":2: missing '='" },
		{ __LINE__, "[database]\n= x\n", ":2: missing key before '='" },
		{ __LINE__, "host = x\n",
		    ":1: host: key outside any [section]" },
		{ __LINE__, "[database]\nport = 0\n",
		    ":2: [database] port: value out of range (1..65535)" },
		{ __LINE__, "[database]\nport = 65536\n",
		    ":2: [database] port: value out of range (1..65535)" },
		{ __LINE__, "[database]\nport = 99999999999999999999999\n",
		    ":2: [database] port: value out of range" },
		{ __LINE__, "[database]\nport = 33o6\n",
		    ":2: [database] port: not a whole number" },
		{ __LINE__, "[database]\nport = -1\n",
		    ":2: [database] port: not a whole number" },
		{ __LINE__, "[database]\nport =\n",
		    ":2: [database] port: empty value" },
		{ __LINE__, "[database]\nport = 3306 abc\n",
		    ":2: [database] port: not a whole number" },
		{ __LINE__, "[database]\nhost = \"abc\" junk\n",
		    ":2: [database] host: trailing junk after quoted value" },
		{ __LINE__, "[database]\nhost = \"abc\n",
		    ":2: [database] host: unterminated quoted value" },
		{ __LINE__, "[database]\nhost = \"a\\nb\"\n",
		    ":2: [database] host: unknown escape" },
		{ __LINE__, "[database] junk\n",
		    ":1: [database]: trailing junk after section header" },
		{ __LINE__, "[database\n", ":1: missing ']'" },
		{ __LINE__, "[]\n", ":1: empty section name" },
		{ __LINE__, "[http]\nmax_body = 2G\n",
		    ":2: [http] max_body: value out of range "
		    "(1..1073741824 bytes)" },
		{ __LINE__, "[http]\nmax_body = 0\n",
		    ":2: [http] max_body: value out of range" },
		{ __LINE__, "[http]\nmax_body = 99999999999999999999K\n",
		    ":2: [http] max_body: value out of range" },
		{ __LINE__, "[http]\nmax_body = 1MB\n",
		    ":2: [http] max_body: not a size" },
		{ __LINE__, "[resources]\nram_per_cpu_gb = -1\n",
		    ":2: [resources] ram_per_cpu_gb: not a decimal number" },
		{ __LINE__, "[resources]\nram_per_cpu_gb = nan\n",
		    ":2: [resources] ram_per_cpu_gb: not a decimal number" },
		{ __LINE__, "[resources]\nram_per_cpu_gb = 1e3\n",
		    ":2: [resources] ram_per_cpu_gb: not a decimal number" },
		{ __LINE__, "[resources]\nram_per_gpu_gb = 5000\n",
		    ":2: [resources] ram_per_gpu_gb: value out of range "
		    "(0..4096)" },
		{ __LINE__, "[log]\nlevel = verbose\n",
		    ":2: [log] level: not a log level" },
		{ __LINE__, "[auth]\nallow_http = maybe\n",
		    ":2: [auth] allow_http: not a boolean" },
		{ __LINE__, "[auth]\ntimestamp_window = 0\n",
		    ":2: [auth] timestamp_window: value out of range" },
		{ __LINE__, "[time_limits]\npilot = 31536001\n",
		    ":2: [time_limits] pilot: value out of range" },
		/* Gone: retries are each batch's policy now. */
		{ __LINE__, "[dispatcher]\nretry_limit = 3\n",
		    ":2: [dispatcher] retry_limit: unknown key" },
		{ __LINE__, "[database]\nHost = x\n",
		    ":2: [database] Host: unknown key" },
		{ __LINE__, "[Database]\n", ":1: [Database]: unknown section" },
		/* Bytes: control, NUL, CR, DEL, C1, bad UTF-8. */
		{ __LINE__, "[database]\nhost = a\x01" "b\n",
		    ":2: control byte 0x01" },
		{ __LINE__, "[database]\r\n", ":1: control byte 0x0d" },
		{ __LINE__, "[database]\nhost = a\x7f\n",
		    ":2: control byte 0x7f" },
		{ __LINE__, "[database]\nhost = a\xc2\x85\n",
		    ":2: control character U+0085" },
		{ __LINE__, "[database]\nhost = \xff\n",
		    ":2: invalid UTF-8" },
		{ __LINE__, "[database]\nhost = \xc0\xaf\n",
		    ":2: invalid UTF-8" },		/* overlong '/' */
		{ __LINE__, "[database]\nhost = \xed\xa0\x80\n",
		    ":2: invalid UTF-8" },		/* surrogate */
		{ __LINE__, "[database]\nhost = \xf4\x90\x80\x80\n",
		    ":2: invalid UTF-8" },		/* > U+10FFFF */
		{ __LINE__, "[database]\nhost = \xe2\x82\n",
		    ":2: invalid UTF-8" },		/* truncated */
		{ __LINE__, "[database]\n\nhost = \xe2\x82\xac\n"
		    "port = x\n",
		    ":4: [database] port: not a whole number" },
	};

	for (i = 0; i < NITEMS(tests); i++) {
		write_file(path, sizeof(path), tests[i].text,
		    strlen(tests[i].text));
		err[0] = '\0';
		if (conf_load(path, &c, err, sizeof(err)) == 0) {
			conf_free(&c);
			fail_msg("line %d: loaded, want \"%s\"", tests[i].line,
			    tests[i].want);
		}
		unlink(path);
		if (strncmp(err, path, strlen(path)) != 0 ||
		    strstr(err + strlen(path), tests[i].want) !=
		    err + strlen(path))
			fail_msg("line %d: got \"%s\", want \"%s%s\"",
			    tests[i].line, err, path, tests[i].want);
		assert_null(c.db_host);
	}

	/* A NUL byte inside a line (strlen would not see it). */
	write_file(path, sizeof(path), "[database]\nhost = a\0b\n", 22);
	assert_int_equal(conf_load(path, &c, err, sizeof(err)), -1);
	unlink(path);
	assert_non_null(strstr(err, ":2: control byte 0x00"));

	/* 4096 bytes on a line are fine, 4097 are not. */
	len = 4096 + 64;
	text = malloc(len);
	assert_non_null(text);
	p = text + snprintf(text, len, "[database]\nhost = ");
	memset(p, 'x', 4096 - strlen("host = "));
	p += 4096 - strlen("host = ");
	*p++ = '\n';
	write_file(path, sizeof(path), text, (size_t)(p - text));
	if (conf_load(path, &c, err, sizeof(err)) != 0)
		fail_msg("4096-byte line: %s", err);
	assert_int_equal(strlen(c.db_host), 4096 - strlen("host = "));
	conf_free(&c);
	unlink(path);
	p[-1] = 'x';
	*p++ = '\n';
	write_file(path, sizeof(path), text, (size_t)(p - text));
	assert_int_equal(conf_load(path, &c, err, sizeof(err)), -1);
	unlink(path);
	free(text);
	assert_non_null(strstr(err, ":2: line longer than 4096 bytes"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(empty_file),
		cmocka_unit_test(good_file),
		cmocka_unit_test(size_suffixes),
		cmocka_unit_test(booleans),
		cmocka_unit_test(quoted_values),
		cmocka_unit_test(env_override),
		cmocka_unit_test(missing_file),
		cmocka_unit_test(example_file),
		cmocka_unit_test(bad_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

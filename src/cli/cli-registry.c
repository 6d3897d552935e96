/*
 * cli-registry.c: `registry add|list|remove`, the account's private Docker
 * registry credentials (POST and GET /account/registries, DELETE
 * /account/registries/SERVER). The password is read from standard input
 * only, never from the command line (where ps and shell histories would
 * show it), and wiped from memory once sent.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "util.h"

/* What the server accepts (registry.h, REGISTRY_PASSWORD_MAX). */
#define PASSWORD_MAX	1024

static int
no_take(void *arg, int c, const char *v)
{

	return CLI_USAGE;
}

/* --- registry add ------------------------------------------------------------ */

struct add_opts {
	const char	*username;
	int		 password_stdin;
};

static int
add_take(void *arg, int c, const char *v)
{
	struct add_opts	*o = arg;

	switch (c) {
	case 'u':
		o->username = v;
		return 0;
	case 'p':
		o->password_stdin = 1;
		return 0;
	}
	return CLI_USAGE;
}

/*
 * Read the password from f into pw (cap bytes, PASSWORD_MAX + 3: room for
 * a CR LF and one byte too many): everything up to the end of input, one
 * final LF or CR LF taken off (what `echo` and a typed line add). Returns
 * its length, 0 when empty, or -1 with a usage error printed (too long, a
 * NUL byte, a read error).
 */
static long
read_password(FILE *f, char *pw, size_t cap)
{
	size_t	 n = 0, got;

	while (n < cap && (got = fread(pw + n, 1, cap - n, f)) > 0)
		n += got;
	if (ferror(f)) {
		cli_usage_error("registry add", "cannot read the password "
		    "from standard input");
		return -1;
	}
	if (n > 0 && pw[n - 1] == '\n')
		n--;
	if (n > 0 && pw[n - 1] == '\r')
		n--;
	if (n > PASSWORD_MAX) {
		cli_usage_error("registry add", "the password is longer than "
		    "%d bytes", PASSWORD_MAX);
		return -1;
	}
	if (memchr(pw, '\0', n) != NULL) {
		cli_usage_error("registry add", "the password holds a NUL "
		    "byte");
		return -1;
	}
	pw[n] = '\0';
	return (long)n;
}

/*
 * registry add SERVER --username U --password-stdin: POST
 * /account/registries; says whether the server's credentials were added or
 * replaced.
 */
int
cli_cmd_registry_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "username", required_argument, NULL, 'u' },
		{ "password-stdin", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct add_opts	 o;
	struct cli_resp	 r;
	cJSON		*req = NULL, *pwi = NULL, *obj = NULL;
	char		 pw[PASSWORD_MAX + 3], *body = NULL;
	size_t		 blen = 0;
	long		 n = 0;
	int		 first, rc;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	if ((first = cli_getopt("registry add", argc, argv, opts, add_take,
	    &o)) < 0)
		return CLI_USAGE;
	if (argc - first != 1)
		return cli_usage_error("registry add", "give one SERVER");
	if (o.username == NULL)
		return cli_usage_error("registry add", "--username is needed");
	if (!o.password_stdin)
		return cli_usage_error("registry add", "--password-stdin is "
		    "needed: the password is read from standard input, never "
		    "from the command line");
	if ((rc = cli_ready(cli, 1)) != CLI_OK)
		return rc;
	if ((n = read_password(stdin, pw, sizeof(pw))) <= 0) {
		if (n == 0)
			cli_usage_error("registry add", "no password on "
			    "standard input");
		rc = CLI_USAGE;
		goto out;
	}
	if ((req = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(req, "server", argv[first]) == NULL ||
	    cJSON_AddStringToObject(req, "username", o.username) == NULL ||
	    (pwi = cJSON_AddStringToObject(req, "password", pw)) == NULL ||
	    (body = cJSON_PrintUnformatted(req)) == NULL) {
		cli_warn("registry add: out of memory");
		rc = CLI_OTHER;
		goto out;
	}
	blen = strlen(body);
	if ((rc = cli_request(cli, "POST", "/account/registries", body, blen,
	    &r)) != CLI_OK) {
		rc = cli_report(cli, "POST /account/registries", &r);
		goto out;
	}
	if (cli->json) {
		cli_print_raw(&r);
		goto out;
	}
	if ((obj = cli_resp_json(&r, "POST /account/registries")) == NULL) {
		rc = CLI_OTHER;
		goto out;
	}
	printf("registry %s: credentials of %s %s\n",
	    cli_jstr(obj, "server") != NULL ? cli_jstr(obj, "server") :
	    argv[first], cli_jstr(obj, "username") != NULL ?
	    cli_jstr(obj, "username") : o.username,
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, "replaced")) ?
	    "replaced" : "added");
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	if (body != NULL) {
		OPENSSL_cleanse(body, blen);
		cJSON_free(body);
	}
	if (pwi != NULL && pwi->valuestring != NULL)
		OPENSSL_cleanse(pwi->valuestring, strlen(pwi->valuestring));
	cJSON_Delete(req);
	cJSON_Delete(obj);
	cli_resp_free(&r);
	return rc;
}

/* --- registry list ----------------------------------------------------------- */

/* registry list: GET /account/registries as a table (never a password). */
int
cli_cmd_registry_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	static const char *const hdr[] = { "SERVER", "USERNAME", "CREATED",
	    "UPDATED" };
	static const char *const keys[] = { "server", "username",
	    "created_at", "updated_at" };
	struct cli_resp	 r;
	struct cli_table *t = NULL;
	cJSON		*obj = NULL;
	const cJSON	*o;
	const char	*cells[4];
	size_t		 k;
	int		 first, rc;

	if ((first = cli_getopt("registry list", argc, argv, opts, no_take,
	    NULL)) < 0)
		return CLI_USAGE;
	if (argc - first != 0)
		return cli_usage_error("registry list", "no operand expected");
	if ((rc = cli_ready(cli, 1)) != CLI_OK)
		return rc;
	if ((rc = cli_request(cli, "GET", "/account/registries", NULL, 0,
	    &r)) != CLI_OK) {
		rc = cli_report(cli, "GET /account/registries", &r);
		goto out;
	}
	if (cli->json) {
		cli_print_raw(&r);
		goto out;
	}
	if ((obj = cli_resp_json(&r, "GET /account/registries")) == NULL) {
		rc = CLI_OTHER;
		goto out;
	}
	t = cli_table_new(NITEMS(hdr), (const char *const *)hdr);
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(obj,
	    "registries")) {
		for (k = 0; k < NITEMS(keys); k++)
			cells[k] = cli_jstr(o, keys[k]);
		cli_table_add(t, cells);
	}
	if (cli_table_rows(t) == 0)
		printf("no registry credentials: singularity-cli registry add "
		    "SERVER --username U --password-stdin\n");
	else
		cli_table_print(t, stdout);
out:
	cli_table_free(t);
	cJSON_Delete(obj);
	cli_resp_free(&r);
	return rc;
}

/* --- registry remove --------------------------------------------------------- */

/* registry remove SERVER: DELETE /account/registries/SERVER. */
int
cli_cmd_registry_remove(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	struct cli_resp	 r;
	cJSON		*obj = NULL;
	char		*path = NULL, *esc;
	int		 first, rc;

	memset(&r, 0, sizeof(r));
	if ((first = cli_getopt("registry remove", argc, argv, opts, no_take,
	    NULL)) < 0)
		return CLI_USAGE;
	if (argc - first != 1)
		return cli_usage_error("registry remove", "give one SERVER");
	if ((rc = cli_ready(cli, 1)) != CLI_OK)
		return rc;
	/* Escaped: an IPv6 server's brackets cannot stand raw in a path. */
	esc = cli_escape(argv[first]);
	path = xasprintf("/account/registries/%s", esc);
	free(esc);
	if ((rc = cli_request(cli, "DELETE", path, NULL, 0, &r)) != CLI_OK) {
		rc = cli_report(cli, "DELETE /account/registries/{server}",
		    &r);
		goto out;
	}
	if (cli->json) {
		cli_print_raw(&r);
		goto out;
	}
	obj = cJSON_ParseWithLength(r.body, r.len);
	printf("registry %s: credentials removed\n",
	    cli_jstr(obj, "server") != NULL ? cli_jstr(obj, "server") :
	    argv[first]);
out:
	cJSON_Delete(obj);
	cli_resp_free(&r);
	free(path);
	return rc;
}

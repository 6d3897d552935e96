/*
 * cli-misc.c: `ping` (API reference "Ping"), `whoami` (GET /account, DESIGN
 * "Authentication") and `model download` (API reference "Models").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "cli.h"
#include "util.h"

static int
no_take(void *arg, int c, const char *v)
{

	return CLI_USAGE;
}

/* ping: GET /ping, unsigned; needs no credentials, only the URL. */
int
cli_cmd_ping(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	struct cli_resp	 r;
	double		 t0;
	int		 first, rc;

	if ((first = cli_getopt("ping", argc, argv, opts, no_take, NULL)) < 0)
		return CLI_USAGE;
	if (argc - first != 0)
		return cli_usage_error("ping", "no operand expected");
	if ((rc = cli_ready(cli, 0)) != CLI_OK)
		return rc;
	t0 = cli_now();
	if ((rc = cli_request(cli, "GET", "/ping", NULL, 0, &r)) != CLI_OK) {
		rc = cli_report(cli, "GET /ping", &r);
		goto out;
	}
	if (cli->json)
		cli_print_raw(&r);
	else
		printf("%.*s from %s%s in %.0f ms\n", (int)strcspn(r.body,
		    "\r\n"), r.body, cli->origin, cli->prefix,
		    (cli_now() - t0) * 1000);
out:
	cli_resp_free(&r);
	return rc;
}

/* whoami: GET /account, the cheapest check of the credentials. */
int
cli_cmd_whoami(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	struct cli_resp	 r;
	cJSON		*obj = NULL;
	int		 first, rc;

	if ((first = cli_getopt("whoami", argc, argv, opts, no_take,
	    NULL)) < 0)
		return CLI_USAGE;
	if (argc - first != 0)
		return cli_usage_error("whoami", "no operand expected");
	if ((rc = cli_ready(cli, 1)) != CLI_OK)
		return rc;
	if ((rc = cli_request(cli, "GET", "/account", NULL, 0, &r)) !=
	    CLI_OK) {
		rc = cli_report(cli, "GET /account", &r);
		goto out;
	}
	if (cli->json) {
		cli_print_raw(&r);
		goto out;
	}
	if ((obj = cli_resp_json(&r, "GET /account")) == NULL) {
		rc = CLI_OTHER;
		goto out;
	}
	printf("account     %s\n", cli_jstr(obj, "account") != NULL ?
	    cli_jstr(obj, "account") : "-");
	printf("api_key     %s\n", cli_jstr(obj, "api_key") != NULL ?
	    cli_jstr(obj, "api_key") : "-");
	printf("created_at  %s\n", cli_jstr(obj, "created_at") != NULL ?
	    cli_jstr(obj, "created_at") : "-");
	printf("api_url     %s%s\n", cli->origin, cli->prefix);
out:
	cJSON_Delete(obj);
	cli_resp_free(&r);
	return rc;
}

/* --- model download ------------------------------------------------------- */

struct download {
	CURL			*c;
	const char		*tmp;
	int			 fd;
	EVP_MD_CTX		*md;
	uint64_t		 size;
	int			 failed;	/* writing the file failed */
	struct cli_resp		 r;		/* error answers */
	char			 etag[80];
	struct cli_progress	 pg;
};

/* Write callback: a 200 answer goes to the file, anything else to r. */
static size_t
dl_write(char *p, size_t size, size_t n, void *arg)
{
	struct download	*d = arg;
	size_t		 len = size * n, off = 0;
	ssize_t		 w;
	long		 status = 0;

	curl_easy_getinfo(d->c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return cli_resp_write(p, size, n, &d->r);
	if (d->fd == -1 && (d->fd = open(d->tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0644)) == -1) {
		d->failed = errno;
		return 0;
	}
	while (off < len) {
		w = write(d->fd, p + off, len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1) {
			d->failed = errno;
			return 0;
		}
		off += (size_t)w;
	}
	EVP_DigestUpdate(d->md, p, len);
	d->size += len;
	return len;
}

/* Header callback: the request id and the ETag (the zip's SHA-256). */
static size_t
dl_header(char *p, size_t size, size_t n, void *arg)
{
	struct download	*d = arg;
	size_t		 len = size * n, k = 0;

	cli_resp_header(p, size, n, &d->r);
	if (len > 5 && strncasecmp(p, "etag:", 5) == 0) {
		p += 5;
		len -= 5;
		while (len > 0 && (*p == ' ' || *p == '\t' || *p == '"' ||
		    *p == 'W' || *p == '/')) {
			p++;
			len--;
		}
		while (k < len && k + 1 < sizeof(d->etag) &&
		    strchr("0123456789abcdefABCDEF", p[k]) != NULL &&
		    p[k] != '\0') {
			d->etag[k] = p[k];
			k++;
		}
		d->etag[k] = '\0';
	}
	return size * n;
}

/* Progress callback: the bar, from Content-Length. */
static int
dl_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct download	*d = arg;

	if (dltotal > 0)
		d->pg.total = (double)dltotal;
	cli_progress_update(&d->pg, (double)dlnow);
	return 0;
}

struct model_opts {
	const char	*dest;
};

static int
model_take(void *arg, int c, const char *v)
{
	struct model_opts	*o = arg;

	if (c == 'd') {
		o->dest = v;
		return 0;
	}
	return CLI_USAGE;
}

/*
 * model download [BATCH] JOB --download-path P: GET /model/JOB (or
 * /model/BATCH/JOB) streamed into P (P/JOB.zip when P is a folder), through
 * P.part renamed at the end, its SHA-256 checked against the ETag.
 */
int
cli_cmd_model_download(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "download-path", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct model_opts o = { NULL };
	struct download	 d;
	struct curl_slist *h = NULL;
	struct stat	 st;
	unsigned char	 md[32];
	char		*path = NULL, *dest = NULL, *tmp = NULL, *e1, *e2;
	char		 sha[65], size[32];
	const char	*job;
	int		 first, rc;

	memset(&d, 0, sizeof(d));
	d.fd = -1;
	if ((first = cli_getopt("model download", argc, argv, opts, model_take,
	    &o)) < 0)
		return CLI_USAGE;
	if (argc - first != 1 && argc - first != 2)
		return cli_usage_error("model download",
		    "give a JOB ID (and before it, optionally, its BATCH ID)");
	if (o.dest == NULL)
		return cli_usage_error("model download",
		    "--download-path is required");
	if ((rc = cli_ready(cli, 1)) != CLI_OK)
		return rc;
	job = argv[argc - 1];
	e1 = cli_escape(argv[first]);
	if (argc - first == 2) {
		e2 = cli_escape(job);
		path = xasprintf("/model/%s/%s", e1, e2);
		free(e2);
	} else
		path = xasprintf("/model/%s", e1);
	free(e1);
	if (stat(o.dest, &st) == 0 && S_ISDIR(st.st_mode)) {
		e1 = cli_escape(job);
		dest = xasprintf("%s/%s.zip", o.dest, e1);
		free(e1);
	} else
		dest = xstrdup(o.dest);
	tmp = xasprintf("%s.part", dest);
	d.tmp = tmp;
	if ((d.md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(d.md, EVP_sha256(), NULL) != 1 ||
	    (d.c = cli_easy(cli, "GET", path, NULL, 0, NULL, 1, NULL,
	    &h)) == NULL) {
		cli_warn("cannot set up the download");
		rc = CLI_OTHER;
		goto out;
	}
	cli_progress_start(&d.pg, "downloading model", cli->tty, 0, "bytes");
	curl_easy_setopt(d.c, CURLOPT_WRITEFUNCTION, dl_write);
	curl_easy_setopt(d.c, CURLOPT_WRITEDATA, &d);
	curl_easy_setopt(d.c, CURLOPT_HEADERFUNCTION, dl_header);
	curl_easy_setopt(d.c, CURLOPT_HEADERDATA, &d);
	curl_easy_setopt(d.c, CURLOPT_ERRORBUFFER, d.r.errbuf);
	curl_easy_setopt(d.c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(d.c, CURLOPT_XFERINFOFUNCTION, dl_progress);
	curl_easy_setopt(d.c, CURLOPT_XFERINFODATA, &d);
	d.r.curl_rc = curl_easy_perform(d.c);
	if (d.r.curl_rc == CURLE_OK)
		curl_easy_getinfo(d.c, CURLINFO_RESPONSE_CODE, &d.r.status);
	if (d.r.body == NULL)
		d.r.body = xstrdup("");
	if (d.pg.drawn)
		cli_progress_end(&d.pg);
	if (d.failed != 0) {
		cli_warn("%s: %s", tmp, strerror(d.failed));
		rc = CLI_OTHER;
		goto out;
	}
	if ((rc = cli_resp_exit(&d.r)) != CLI_OK || d.r.status != 200) {
		rc = cli_report(cli, "GET /model", &d.r);
		if (rc == CLI_OK)
			rc = CLI_OTHER;
		goto out;
	}
	/* An empty model still makes a file. */
	if (d.fd == -1 && (d.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0644)) == -1) {
		cli_warn("%s: %s", tmp, strerror(errno));
		rc = CLI_OTHER;
		goto out;
	}
	EVP_DigestFinal_ex(d.md, md, NULL);
	util_hex(md, 32, sha);
	if (d.etag[0] != '\0' && strlen(d.etag) == 64 &&
	    strcasecmp(d.etag, sha) != 0) {
		cli_warn("the model's SHA-256 %s does not match the server's "
		    "ETag %s: download damaged, not kept", sha, d.etag);
		rc = CLI_OTHER;
		goto out;
	}
	if (fsync(d.fd) == -1 || close(d.fd) == -1) {
		d.fd = -1;
		cli_warn("%s: %s", tmp, strerror(errno));
		rc = CLI_OTHER;
		goto out;
	}
	d.fd = -1;
	if (rename(tmp, dest) == -1) {
		cli_warn("%s: %s", dest, strerror(errno));
		rc = CLI_OTHER;
		goto out;
	}
	if (cli->json) {
		cJSON	*obj = cJSON_CreateObject();
		char	*txt;

		cJSON_AddStringToObject(obj, "job", job);
		cJSON_AddStringToObject(obj, "path", dest);
		cJSON_AddNumberToObject(obj, "size", (double)d.size);
		cJSON_AddStringToObject(obj, "sha256", sha);
		if ((txt = cJSON_Print(obj)) != NULL) {
			printf("%s\n", txt);
			cJSON_free(txt);
		}
		cJSON_Delete(obj);
	} else {
		cli_human_bytes(d.size, size);
		printf("model of job %s: %s (%s, sha256 %s)\n", job, dest,
		    size, sha);
	}
	rc = CLI_OK;
out:
	if (d.fd != -1)
		close(d.fd);
	if (rc != CLI_OK && tmp != NULL)
		unlink(tmp);
	if (d.c != NULL)
		curl_easy_cleanup(d.c);
	curl_slist_free_all(h);
	EVP_MD_CTX_free(d.md);
	cli_resp_free(&d.r);
	free(path);
	free(dest);
	free(tmp);
	return rc;
}

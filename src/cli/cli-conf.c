/*
 * cli-conf.c: the client's configuration (DESIGN, "Command-line client"):
 * $SINGULARITY_CONFIG_PATH/config.json or ~/.singularity/config.json, the
 * original CLI's format (api_key, secret) plus api_url and ca_file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "util.h"

#define CONF_MAX	(64 * 1024)	/* a config file is small */

/* Replace *dst with a copy of the string item v (when v is a string). */
static int
take_string(const cJSON *obj, const char *key, char **dst, char *err,
    size_t errsz)
{
	const cJSON	*v;

	if ((v = cJSON_GetObjectItemCaseSensitive(obj, key)) == NULL ||
	    cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || v->valuestring == NULL) {
		snprintf(err, errsz, "\"%s\" must be a string", key);
		return -1;
	}
	free(*dst);
	*dst = xstrdup(v->valuestring);
	return 0;
}

/*
 * Parse config.json text into c (see cli.h). Keys absent keep what c
 * holds. Returns 0, or -1 with a sentence in err.
 */
int
cli_conf_parse(struct cli_conf *c, const char *text, size_t len, char *err,
    size_t errsz)
{
	cJSON	*obj = NULL;
	int	 ret = -1;

	if ((obj = cJSON_ParseWithLength(text, len)) == NULL) {
		snprintf(err, errsz, "not valid JSON");
		goto out;
	}
	if (!cJSON_IsObject(obj)) {
		snprintf(err, errsz, "not a JSON object");
		goto out;
	}
	if (take_string(obj, "api_key", &c->api_key, err, errsz) == -1 ||
	    take_string(obj, "secret", &c->secret, err, errsz) == -1 ||
	    take_string(obj, "api_url", &c->api_url, err, errsz) == -1 ||
	    take_string(obj, "ca_file", &c->ca_file, err, errsz) == -1)
		goto out;
	ret = 0;
out:
	cJSON_Delete(obj);
	return ret;
}

/*
 * The config file's path (see cli.h). Caller frees; NULL when neither
 * variable helps.
 */
char *
cli_conf_path(const char *config_path_env, const char *home_env)
{

	if (config_path_env != NULL && config_path_env[0] != '\0')
		return xasprintf("%s/%s", config_path_env, CLI_CONFIG_NAME);
	if (home_env != NULL && home_env[0] != '\0')
		return xasprintf("%s/.singularity/%s", home_env,
		    CLI_CONFIG_NAME);
	return NULL;
}

/*
 * Read and parse the config file at path into c. Returns 1 when there is
 * no such file, 0 when read, -1 (err set) when it cannot be read or parsed.
 */
int
cli_conf_load(struct cli_conf *c, const char *path, char *err, size_t errsz)
{
	char		 buf[CONF_MAX + 1], perr[160];
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd = -1, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len >= CONF_MAX) {
			snprintf(err, errsz, "%s: larger than %d bytes", path,
			    CONF_MAX);
			goto out;
		}
	}
	buf[len] = '\0';
	if (cli_conf_parse(c, buf, len, perr, sizeof(perr)) == -1) {
		snprintf(err, errsz, "%s: %s", path, perr);
		goto out;
	}
	free(c->path);
	c->path = xstrdup(path);
	ret = 0;
out:
	close(fd);
	return ret;
}

/* Whether s holds a control byte (never sent in a header or URL). */
static int
has_control(const char *s)
{

	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/*
 * Check the configuration a request needs (see cli.h). Returns 0, or -1
 * with a sentence in err.
 */
int
cli_conf_check(const struct cli_conf *c, int need_auth, char *err,
    size_t errsz)
{
	char	*o = NULL, *p = NULL;
	size_t	 i;

	if (c->api_url != NULL &&
	    (has_control(c->api_url) || cli_url_split(c->api_url, &o, &p) == -1)) {
		snprintf(err, errsz, "api_url must look like "
		    "https://host[:port][/prefix]");
		return -1;
	}
	free(o);
	free(p);
	if (c->ca_file != NULL && access(c->ca_file, R_OK) == -1) {
		snprintf(err, errsz, "ca_file %s: %s", c->ca_file,
		    strerror(errno));
		return -1;
	}
	if (!need_auth)
		return 0;
	if (c->api_key == NULL || c->secret == NULL) {
		snprintf(err, errsz, "no %s", c->api_key == NULL ?
		    "api_key" : "secret");
		return -1;
	}
	if (strlen(c->api_key) != 32) {
		snprintf(err, errsz, "api_key must be 32 hexadecimal digits");
		return -1;
	}
	for (i = 0; i < 32; i++)
		if (strchr("0123456789abcdefABCDEF", c->api_key[i]) == NULL) {
			snprintf(err, errsz,
			    "api_key must be 32 hexadecimal digits");
			return -1;
		}
	if (c->secret[0] == '\0' || has_control(c->secret)) {
		snprintf(err, errsz, "secret must be printable text");
		return -1;
	}
	return 0;
}

void
cli_conf_free(struct cli_conf *c)
{

	free(c->api_key);
	free(c->secret);
	free(c->api_url);
	free(c->ca_file);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

/*
 * Split "scheme://authority[/prefix]" (scheme http or https, either case)
 * into its origin and path prefix without trailing slashes. Returns 0 (two
 * new strings) or -1.
 */
int
cli_url_split(const char *url, char **origin, char **prefix)
{
	const char	*auth, *slash;
	size_t		 plen;

	*origin = *prefix = NULL;
	if (strncasecmp(url, "https://", 8) == 0)
		auth = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		auth = url + 7;
	else
		return -1;
	if (strpbrk(url, "?# ") != NULL)
		return -1;
	slash = strchr(auth, '/');
	if ((slash == NULL ? strlen(auth) : (size_t)(slash - auth)) == 0)
		return -1;
	if (slash == NULL) {
		*origin = xstrdup(url);
		*prefix = xstrdup("");
		return 0;
	}
	plen = strlen(slash);
	while (plen > 0 && slash[plen - 1] == '/')
		plen--;
	*origin = xmalloc((size_t)(slash - url) + 1);
	memcpy(*origin, url, (size_t)(slash - url));
	(*origin)[slash - url] = '\0';
	*prefix = xmalloc(plen + 1);
	memcpy(*prefix, slash, plen);
	(*prefix)[plen] = '\0';
	return 0;
}

/*
 * conf.h: the one INI configuration file shared by every program.
 *
 * Location: $SINGULARITY_CONF when set, else $sysconfdir/singularity/singularity.conf.
 * Every key is declared in one table in conf.c (section, key, type, default,
 * bounds). An unknown section or key, a malformed line or a value out of range
 * is an error that names file, line and key; no key is silently ignored.
 */
#ifndef ST_CONF_H
#define ST_CONF_H

#include <stddef.h>

enum conf_log_level { CONF_LOG_DEBUG, CONF_LOG_INFO, CONF_LOG_WARN, CONF_LOG_ERROR };

struct conf {
	char		*path;			/* file the values came from */

	/* [database] */
	char		*db_host;		/* default "localhost" */
	unsigned	 db_port;		/* default 3306 */
	char		*db_socket;		/* "" = TCP, else unix socket path */
	char		*db_user;		/* default "singularity" */
	char		*db_password;		/* default "" */
	char		*db_name;		/* default "singularity" */
	unsigned	 db_connect_timeout;	/* seconds, default 5 */

	/* [store] */
	char		*store_dir;		/* blob store root, default $localstatedir/lib/singularity */

	/* [auth] */
	char		*auth_key_file;		/* 64 hex chars: AES-256 key sealing API secrets */
	int		 auth_allow_http;	/* default 0: requests without TLS are 403 */
	int		 auth_require_timestamp;/* default 0 */
	unsigned	 auth_timestamp_window;	/* seconds, default 300 */

	/* [http] */
	char		*http_base_path;	/* prefix stripped before routing, default "" */
	size_t		 http_max_body;		/* default 1 MiB; size suffixes K, M, G */
	unsigned	 http_idempotency_wait;	/* seconds a retry waits for the first, default 30 */
	unsigned	 http_idempotency_lease;/* seconds before a pending key is taken over, default 600 */

	/* [log] */
	char		*log_file;		/* "" = stderr */
	enum conf_log_level log_level;		/* debug|info|warn|error, default info */

	/* [limits] */
	size_t		 limit_shard_bytes;	/* decoded shard, default 10 MiB */
	unsigned	 limit_batch_jobs;	/* default 1000 */
	size_t		 limit_batch_body;	/* default 1 MiB */

	/* [resources] */
	double		 ram_per_cpu_gb;	/* default 4 */
	double		 ram_per_gpu_gb;	/* default 28 */

	/* [time_limits] seconds */
	unsigned	 time_limit_pilot;	/* default 3600 */
	unsigned	 time_limit_production;	/* default 86400 */

	/* [dispatcher] */
	unsigned	 disp_host_grace;	/* seconds a host may be unreachable, default 120 */
	unsigned	 disp_stop_grace;	/* SIGTERM to SIGKILL, default 30 */
	char		*disp_network_mode;	/* container network, default "none" */
	unsigned	 disp_pids_limit;	/* default 1024 */
	unsigned	 disp_host_calls;	/* Engine calls in flight per host, default 8 */
	unsigned	 disp_pull_timeout;	/* seconds an attempt may wait for its image, default 1800 */
	size_t		 disp_host_cache_max;	/* data cache bytes per host, default 100G */
	size_t		 disp_log_max;		/* log bytes kept per attempt, default 64M */
	unsigned	 disp_pass_budget;	/* seconds of a --once pass, default 50 */
	size_t		 disp_output_max;	/* bytes of /output files per attempt, default 2G */
	size_t		 disp_container_log_max;/* bytes of log the engine keeps per container, default 1G */
};

/*
 * Path used when conf_load() is given NULL: $SINGULARITY_CONF, else the
 * compiled-in default. The string is static; do not free it.
 */
const char	*conf_default_path(void);

/*
 * Fill *c with the defaults, then with the values of the file at path
 * (NULL: conf_default_path()). Returns 0, or -1 with a message in err
 * ("FILE:LINE: [section] key: reason"). On error *c holds nothing to free.
 * The caller frees a loaded *c with conf_free().
 */
int		 conf_load(const char *path, struct conf *c, char *err, size_t errlen);

/* Fill *c with the defaults only (tests, tools that run without a file). */
void		 conf_defaults(struct conf *c);

void		 conf_free(struct conf *c);

/*
 * Parse a size with an optional K, M or G suffix (powers of 1024) into *out.
 * Returns 0, or -1 when s is not a whole number or overflows.
 */
int		 conf_parse_size(const char *s, size_t *out);

#endif

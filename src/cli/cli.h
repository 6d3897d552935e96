/*
 * cli.h: singularity-cli, the command-line client of the API (DESIGN,
 * "Command-line client"). Private to src/cli; the unit tests include it.
 *
 *   cli-conf.c      config.json, flags, the API URL
 *   cli-http.c      signed requests on libcurl, answers, exit codes
 *   cli-table.c     aligned tables, sizes and durations for humans
 *   cli-progress.c  progress bars on a terminal, plain lines elsewhere
 *   cli-pack.c      folder scan, shard plan, deterministic zip shards
 *   cli-imprint.c   the imprint file: which file went into which shard
 *   cli-data.c      dataset add|summary|list
 *   cli-batch.c     batch, job, leaderboard
 *   cli-misc.c      ping, whoami, model download
 *   cli-registry.c  registry add|list|remove
 *   singularity-cli.c  argument parsing and the command table
 */
#ifndef ST_CLI_H
#define ST_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

/* Exit codes a script can trust (also in singularity-cli.1). */
enum cli_exit {
	CLI_OK = 0,
	CLI_OTHER = 1,		/* refused (400, 409, 413, 422), or a local failure */
	CLI_USAGE = 2,		/* bad arguments, no or bad configuration */
	CLI_AUTH = 3,		/* 401 */
	CLI_NOTFOUND = 4,	/* 404 */
	CLI_SERVER = 5,		/* 5xx, or the server cannot be reached */
};

#define CLI_DEFAULT_URL		"https://127.0.0.1:8443"
#define CLI_CONFIG_NAME		"config.json"
#define CLI_IMPRINT_NAME	".singularity-imprint.json"
#define CLI_SHARD_MAX		(10u * 1024 * 1024)	/* bytes of one zip */
#define CLI_UPLOADS		4	/* shards sent at once */

/* --- configuration (cli-conf.c) ------------------------------------------ */

struct cli_conf {
	char	*api_key;
	char	*secret;
	char	*api_url;	/* NULL: CLI_DEFAULT_URL */
	char	*ca_file;	/* NULL: the system's CA store */
	char	*path;		/* the config file read, NULL when none */
};

/*
 * Parse the text of a config.json (a JSON object; the keys api_key, secret,
 * api_url, ca_file, each a string when present; other keys ignored) into c,
 * replacing what c holds for the keys present. Returns 0, or -1 with a
 * sentence in err.
 */
int	 cli_conf_parse(struct cli_conf *c, const char *text, size_t len,
	    char *err, size_t errsz);

/*
 * The config file's path: $SINGULARITY_CONFIG_PATH/config.json when the
 * variable is set and not empty, else $HOME/.singularity/config.json; NULL
 * when neither is set. The caller frees.
 */
char	*cli_conf_path(const char *config_path_env, const char *home_env);

/*
 * Read the config file at path into c (c->path set). A missing file is not
 * an error (returns 1); 0 read; -1 unreadable or malformed, err says why.
 */
int	 cli_conf_load(struct cli_conf *c, const char *path, char *err,
	    size_t errsz);

/*
 * Check what a signed request needs: api_key (32 hex digits), secret (not
 * empty), api_url ("https://" or "http://" then a host). Returns 0, or -1
 * with a sentence in err.
 */
int	 cli_conf_check(const struct cli_conf *c, int need_auth, char *err,
	    size_t errsz);

void	 cli_conf_free(struct cli_conf *c);

/*
 * Split an API URL into origin ("https://host:port") and path prefix (""
 * or "/prefix", no trailing slash). Query or fragment are refused. Returns
 * 0 (both new strings, caller frees) or -1.
 */
int	 cli_url_split(const char *url, char **origin, char **prefix);

/* --- the run's context and requests (cli-http.c) ------------------------- */

struct cli {
	struct cli_conf	 conf;		/* the file's, flags applied over */
	struct cli_conf	 flags;		/* --api-key, --secret, --api-url, --cacert */
	int		 ready;
	int		 json;		/* --json: the server's answer as is */
	int		 tty;		/* stderr is a terminal */
	int		 verbose;	/* --verbose: request ids on stderr */
	char		*origin;	/* from conf.api_url */
	char		*prefix;
	CURLSH		*share;		/* one connection cache for every handle */
};

struct cli_resp {
	long		 status;	/* 0: no answer (see curl_rc) */
	int		 curl_rc;
	char		*body;		/* NUL-terminated, len bytes */
	size_t		 len;
	char		 request_id[64];
	char		 errbuf[CURL_ERROR_SIZE];
};

/*
 * Make cli ready for requests: load the config (unless loaded), apply the
 * flags already in cli->conf over it, check it (credentials only when
 * need_auth), split the URL. Returns CLI_OK or an exit code (message
 * printed).
 */
int	 cli_ready(struct cli *cli, int need_auth);

/* Free what cli holds. */
void	 cli_free(struct cli *cli);

/*
 * The signature headers of a request (api key, timestamp now, signature
 * in the v2 form over the timestamp, method, the full path sent (prefix +
 * path) and the body's SHA-256), appended to *h. Returns 0 or -1.
 */
int	 cli_sign(const struct cli *cli, const char *method, const char *path,
	    const void *body, size_t len, struct curl_slist **h);

/*
 * A new easy handle for METHOD prefix+path with the TLS settings, the
 * signature headers (unless sign is 0), the body (borrowed: it must live
 * until the transfer ends; NULL for none), its Content-Type (NULL: no
 * such header) and an Idempotency-Key header (NULL: none; every POST has
 * one, the same for its retries). *h receives the header list the caller
 * frees after the transfer. Returns NULL on failure.
 */
CURL	*cli_easy(const struct cli *cli, const char *method, const char *path,
	    const void *body, size_t len, const char *ctype, int sign,
	    const char *idem_key, struct curl_slist **h);

/* Times a failed POST is sent again (see cli_retryable). */
#define CLI_RETRIES	3

/*
 * Whether a failed request may be sent again with the same Idempotency-Key:
 * no answer because of the network (connection refused or reset, timeout,
 * empty or cut reply), a 503, or a 401 replayed (cli_replayed()). Returns
 * 1 or 0.
 */
int	 cli_retryable(const struct cli_resp *r);

/*
 * Whether the answer is 401 replayed: the server saw this very signature
 * before (the same write signed in the same second, by this command or an
 * earlier one) and ran nothing, so the request, signed again in another
 * second, is sent again whatever its method. Returns 1 or 0.
 */
int	 cli_replayed(const struct cli_resp *r);

/*
 * Sleep before retry number attempt (0, 1, 2...): 0.5 s, 1 s, 2 s..., and
 * on until the clock's second differs from the one of the call. Called
 * once the failed attempt ended, so the retry's timestamp, hence its
 * signature, differs from the attempt's: the server remembers the
 * signature of a timestamped write and refuses it again (401 replayed).
 */
void	 cli_backoff(int attempt);

/* Write callback collecting an answer into a struct cli_resp. */
size_t	 cli_resp_write(char *p, size_t size, size_t n, void *arg);
/* Header callback taking X-Request-Id into a struct cli_resp. */
size_t	 cli_resp_header(char *p, size_t size, size_t n, void *arg);

/*
 * One request, answer in *r (free with cli_resp_free). A POST carries a new
 * Idempotency-Key and is retried with it (CLI_RETRIES, cli_retryable); a
 * request of any method answered 401 replayed is signed again and resent.
 * Returns CLI_OK for a 2xx answer, else the exit code of the failure
 * (nothing printed: see cli_report).
 */
int	 cli_request(struct cli *cli, const char *method, const char *path,
	    const void *body, size_t len, struct cli_resp *r);

/* The exit code of an answer: 2xx 0, 401 3, 404 4, 5xx or none 5, else 1. */
int	 cli_resp_exit(const struct cli_resp *r);

/*
 * Print on stderr why r failed: the server's "error" sentence and code, or
 * the transport failure in words. what names the attempt ("GET /batch").
 * Returns cli_resp_exit(r).
 */
int	 cli_report(const struct cli *cli, const char *what,
	    const struct cli_resp *r);

void	 cli_resp_free(struct cli_resp *r);

/* Parse r's body as JSON; NULL (message printed) when it is not. */
cJSON	*cli_resp_json(const struct cli_resp *r, const char *what);

/*
 * A Content-Range value of n bytes at p (an answer's, untrusted):
 * "bytes FIRST-LAST/TOTAL" into *first, *last and *total (returns 0), or
 * "bytes * / TOTAL" (without the blanks) into *total (returns 1). Numbers
 * are decimal digits within a long long, FIRST <= LAST < TOTAL; blanks
 * around the value are allowed. Returns -1 for anything else.
 */
int	 cli_content_range(const char *p, size_t n, long long *first,
	    long long *last, long long *total);

/* Print r's body unchanged on stdout, with a final newline. */
void	 cli_print_raw(const struct cli_resp *r);

/* Print a usage error for command (its usage line) and return CLI_USAGE. */
int	 cli_usage_error(const char *cmd, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* A path component %-escaped for a URL (unreserved bytes kept). Caller frees. */
char	*cli_escape(const char *s);

/* Print "singularity-cli: message" on stderr. */
void	 cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- tables and human units (cli-table.c) -------------------------------- */

enum cli_align { CLI_LEFT, CLI_RIGHT };

struct cli_table;

/* A table of ncols columns with these headers. Never NULL (aborts). */
struct cli_table *cli_table_new(size_t ncols, const char *const *headers);
/* Right-align column col (numbers). */
void	 cli_table_align(struct cli_table *t, size_t col, enum cli_align a);
/* Cut cells of column col longer than width characters ("..." appended). */
void	 cli_table_limit(struct cli_table *t, size_t col, size_t width);
/* Append a row of ncols cells (copied; NULL prints as "-"). */
void	 cli_table_add(struct cli_table *t, const char *const *cells);
size_t	 cli_table_rows(const struct cli_table *t);
/*
 * The table as text: a header line, then one line per row, columns
 * separated by two spaces, padded to the widest cell (in characters of
 * UTF-8; control bytes shown as '?'), no trailing blanks. Caller frees.
 */
char	*cli_table_render(const struct cli_table *t);
void	 cli_table_print(const struct cli_table *t, FILE *f);
void	 cli_table_free(struct cli_table *t);

/* Number of characters of UTF-8 text s (invalid bytes count one each). */
size_t	 cli_text_width(const char *s);

/* "1.5 MiB", "312 B": sizes for humans. */
void	 cli_human_bytes(uint64_t n, char out[32]);
/* "1h02m", "3m05s", "4.2s", "120ms": durations in milliseconds for humans. */
void	 cli_human_ms(double ms, char out[32]);
/* A JSON value as compact text; NULL or missing prints "-". Caller frees. */
char	*cli_json_text(const cJSON *v);
/* The string member key of o, or NULL when absent or not a string. */
const char *cli_jstr(const cJSON *o, const char *key);
/* The number member key of o, or def when absent or not a number. */
double	 cli_jnum(const cJSON *o, const char *key, double def);

/* --- progress (cli-progress.c) -------------------------------------------- */

struct cli_progress {
	const char	*label;
	int		 tty;		/* draw a bar; otherwise stay silent */
	double		 total;
	double		 done;
	const char	*unit;		/* "bytes" shows sizes, else counts */
	double		 last;		/* monotonic seconds of the last draw */
	int		 drawn;
};

void	 cli_progress_start(struct cli_progress *p, const char *label, int tty,
	    double total, const char *unit);
/* Set the amount done and redraw (at most 10 times a second). */
void	 cli_progress_update(struct cli_progress *p, double done);
/* Draw the final state and end the line (tty only). */
void	 cli_progress_end(struct cli_progress *p);
/* Monotonic seconds. */
double	 cli_now(void);

/* --- shards (cli-pack.c) ------------------------------------------------- */

struct cli_file {
	char		*name;		/* relative, '/'-separated */
	uint64_t	 size;
	int64_t		 mtime_s;
	long		 mtime_ns;
	char		 sha256[65];	/* "" while unknown */
	int		 placed;	/* used while planning */
};

struct cli_files {
	struct cli_file	*v;
	size_t		 n;
};

/*
 * Every regular file under dir (recursively; symbolic links and special
 * files are skipped, '.' directories are not), as names relative to dir,
 * sorted in byte order. skip (a name relative to dir, or NULL) and its
 * ".tmp" sibling are left out. Returns 0, or -1 with err set.
 */
int	 cli_scan(const char *dir, const char *skip, struct cli_files *out,
	    char *err, size_t errsz);
void	 cli_files_free(struct cli_files *f);

/*
 * The most bytes a file of this name and size can take in a shard zip:
 * local header, deflate's worst case, central directory entry.
 */
uint64_t cli_entry_bound(const char *name, uint64_t size);
/* The fixed part of every zip (end of central directory record). */
#define CLI_ZIP_FIXED	22

/*
 * Shuffle v (n pointers) with a fixed seed: the same input order always
 * gives the same output order.
 */
void	 cli_shuffle(struct cli_file **v, size_t n, uint64_t seed);
#define CLI_SHUFFLE_SEED	0x5eed5eed5eedULL

/*
 * Cut v (n files, in order) into consecutive groups whose zips stay within
 * max bytes (by cli_entry_bound): group g is v[start[g] .. start[g+1]-1].
 * *starts (caller frees) receives ngroups + 1 offsets. A file that alone
 * exceeds max is an error: returns -1 with its name in err. Returns 0.
 */
int	 cli_plan(struct cli_file *const *v, size_t n, uint64_t max,
	    size_t **starts, size_t *ngroups, char *err, size_t errsz);

/*
 * Build the zip of the files (names relative to dir) in memory: entries in
 * byte order of name, DOS time 1980-01-01 00:00, mode 0644, deflate; the
 * same files always give the same bytes. Each file's sha256 and size are
 * set from the bytes read. *zip (caller frees) and *ziplen receive the
 * archive, sha its lowercase hex SHA-256. Returns 0, or -1 with err set.
 */
int	 cli_pack(const char *dir, struct cli_file *const *files, size_t n,
	    unsigned char **zip, size_t *ziplen, char sha[65], char *err,
	    size_t errsz);

/* SHA-256 of the file dir/name in lowercase hex. Returns 0 or -1. */
int	 cli_file_sha256(const char *dir, const char *name, char out[65]);
/* SHA-256 of n bytes in lowercase hex. */
void	 cli_sha256_hex(const void *p, size_t n, char out[65]);

/* --- imprint (cli-imprint.c) ---------------------------------------------- */

struct cli_ishard {
	char		 id[65];	/* "" until packed */
	uint64_t	 size;
	int		 uploaded;	/* the server confirmed it */
	struct cli_file	*files;
	size_t		 nfiles;
};

struct cli_imprint {
	char		*set_name;
	char		*set_uuid;
	struct cli_ishard *shards;
	size_t		 n;
	char		(*retired)[65];	/* uploaded shards to delete */
	size_t		 nretired;
};

/* Parse imprint JSON text. Returns 0, or -1 with err set. */
int	 cli_imprint_parse(struct cli_imprint *imp, const char *text,
	    size_t len, char *err, size_t errsz);
/* The imprint as JSON text (caller frees); NULL on failure. */
char	*cli_imprint_text(const struct cli_imprint *imp);
/* Read path (a missing file gives an empty imprint). Returns 0 or -1. */
int	 cli_imprint_load(struct cli_imprint *imp, const char *path, char *err,
	    size_t errsz);
/* Write path atomically (path.tmp, fsync, rename). Returns 0 or -1. */
int	 cli_imprint_save(const struct cli_imprint *imp, const char *path);
void	 cli_imprint_free(struct cli_imprint *imp);
/* Append a shard (files copied, id "" and not uploaded); returns it. */
struct cli_ishard *cli_imprint_add(struct cli_imprint *imp,
	    struct cli_file *const *files, size_t n);
/* Append id to the retired list unless it is there already. */
void	 cli_imprint_retire(struct cli_imprint *imp, const char *id);

/*
 * Compare the imprint with the folder's files now (cur, from cli_scan of
 * dir). A shard is intact when each of its files still exists with the same
 * size and either the same mtime or the same SHA-256 (then its mtime is
 * refreshed). Intact shards stay; every other shard leaves the imprint (its
 * id retired when it was uploaded), and its files that still exist, in
 * their old order, then the files no shard held (shuffled with the fixed
 * seed), form *loose (n_loose pointers into cur; caller frees the array).
 * *nbroken receives the number of shards removed. Returns 0 or -1.
 */
int	 cli_imprint_diff(struct cli_imprint *imp, const char *dir,
	    struct cli_files *cur, struct cli_file ***loose, size_t *nloose,
	    size_t **group_ends, size_t *ngroups, size_t *nbroken);

/* --- commands ------------------------------------------------------------ */

int	 cli_cmd_ping(struct cli *, int, char **);
int	 cli_cmd_whoami(struct cli *, int, char **);
int	 cli_cmd_model_download(struct cli *, int, char **);
int	 cli_cmd_batch_create(struct cli *, int, char **);
int	 cli_cmd_batch_status(struct cli *, int, char **);
int	 cli_cmd_batch_summary(struct cli *, int, char **);
int	 cli_cmd_batch_cancel(struct cli *, int, char **);
int	 cli_cmd_batch_promote(struct cli *, int, char **);
int	 cli_cmd_batch_wait(struct cli *, int, char **);
int	 cli_cmd_job_status(struct cli *, int, char **);
int	 cli_cmd_job_cancel(struct cli *, int, char **);
int	 cli_cmd_job_log(struct cli *, int, char **);
int	 cli_cmd_leaderboard(struct cli *, int, char **);
int	 cli_cmd_dataset_add(struct cli *, int, char **);
int	 cli_cmd_dataset_summary(struct cli *, int, char **);
int	 cli_cmd_dataset_list(struct cli *, int, char **);
int	 cli_cmd_registry_add(struct cli *, int, char **);
int	 cli_cmd_registry_list(struct cli *, int, char **);
int	 cli_cmd_registry_remove(struct cli *, int, char **);

/*
 * Parse a command's options with getopt_long (options may follow the
 * operands); returns the index of the first operand after permutation, or
 * -1 after printing a usage error. Used by every command.
 */
struct option;
int	 cli_getopt(const char *cmd, int argc, char **argv,
	    const struct option *opts, int (*take)(void *, int, const char *),
	    void *arg);

#endif

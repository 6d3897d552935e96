/*
 * retry.h: the retry policy of a batch (issue 8, part) and the failure
 * classes it names, shared by POST /batch, GET /batch, GET /job and
 * st-dispatch.
 *
 * A policy is {"attempts": 1..RETRY_ATTEMPTS_MAX, "on": [class, ...]};
 * a class is one of
 *
 *   host_failure   the host was lost past the grace period, or the
 *                  container vanished from it
 *   oom            the container was killed for lack of memory
 *   image_pull     the image could not be had on the host
 *   exit:N         the job exited with code N (1..255)
 *
 * Anything else (a time limit, a container the host refuses, a shard
 * missing from the store) has no class and is never retried. The policy
 * is stored normalized on the batches row: retry_attempts, and retry_on
 * as the classes joined by commas in the canonical order (host_failure,
 * oom, image_pull, then exit codes ascending), each once: "" for none.
 *
 * Everything here is pure; the database columns are read and written by
 * the callers.
 */
#ifndef ST_RETRY_H
#define ST_RETRY_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define RETRY_ATTEMPTS_MAX	10
#define RETRY_ATTEMPTS_DEFAULT	3
#define RETRY_ON_DEFAULT	"host_failure"
/* The longest normalized list: every class once, plus the NUL. */
#define RETRY_ON_MAX		2400
#define RETRY_CLASS_MAX		16	/* "host_failure", "exit:255", NUL */

struct retry_policy {
	unsigned	 attempts;		/* 1..RETRY_ATTEMPTS_MAX */
	char		 on[RETRY_ON_MAX];	/* normalized, "" for none */
};

/*
 * Check the "retry" item of a POST /batch body (NULL or JSON null: the
 * default, RETRY_ATTEMPTS_DEFAULT attempts on host_failure) into *out.
 * "attempts" and "on" may each be left out (their default). Returns 0; or
 * 400 (retry not an object, attempts not a number, on not an array of
 * strings) or 422 (attempts not a whole number 1..RETRY_ATTEMPTS_MAX, a
 * class that is none of the above) with a sentence in msg. Duplicate
 * classes are folded.
 */
int	retry_parse(const cJSON *item, struct retry_policy *out, char *msg,
	    size_t msglen);

/*
 * 1 when s (n bytes) is a class: host_failure, oom, image_pull or exit:N
 * with N a decimal 1..255 without sign or leading zero; else 0.
 */
int	retry_class_valid(const char *s, size_t n);

/* 1 when the class cls is one of the normalized list on, else 0. */
int	retry_on_has(const char *on, const char *cls);

/*
 * Should a job whose attempt number attempt (1 for the first) failed with
 * class cls (NULL: no class) run again under the policy (attempts, on)?
 * 1 when cls is listed and attempt < attempts, else 0.
 */
int	retry_should(const char *on, unsigned attempts, unsigned attempt,
	    const char *cls);

/* The class of an exit code into cls: "exit:N", or "" when not 1..255. */
void	retry_exit_class(int code, char cls[RETRY_CLASS_MAX]);

/*
 * The policy as the API shows it, {"attempts": N, "on": [...]}, from the
 * stored columns. Returns a new object or NULL on allocation failure.
 */
cJSON	*retry_json(unsigned attempts, const char *on);

#endif

/*
 * fuzz_batch.c: libFuzzer target for the POST /batch body validator
 * (batch_validate() in src/lib/batch.c), with a fake data-set lookup.
 *
 * Invariants checked on every input: the validator returns 0 (accepted as
 * a whole) or 1 (refused with a 400 or 422 status, a code and a
 * sentence), never anything else; an accepted body has 1..max_jobs jobs,
 * nvalid of them without an error; every valid job has an image and a tag
 * that the grammar accepts, a command that passes batch_command_check()
 * and a data set the lookup knows; the errors array has one entry per
 * failed job; cpu > 0, gpu whole, RAM by the configured rule; the retry
 * policy has 1..RETRY_ATTEMPTS_MAX attempts and a normalized list of
 * valid classes.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "batch.h"
#include "db.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "set" and one UUID are sets with pilots, "p" a pilot; nothing else. */
static int
lookup(void *arg, const char *ref, struct batch_set *out)
{
	memset(out, 0, sizeof(*out));
	if (strcmp(ref, "set") == 0 ||
	    strcmp(ref, "11111111-1111-4111-8111-111111111111") == 0) {
		out->id = 1;
		out->shard_count = 4;
		out->npilots_all = 3;
		out->npilots = 2;
		out->pilots = calloc(3, sizeof(*out->pilots));
		if (out->pilots == NULL)
			abort();
		out->pilots[0].id = 2;
		out->pilots[1].id = 3;
		return 0;
	}
	if (strcmp(ref, "p") == 0) {
		out->id = 4;
		out->is_pilot = 1;
		out->shard_count = 1;
		return 0;
	}
	if (strcmp(ref, "err") == 0)
		return DB_ERROR;
	return BATCH_SET_NOT_FOUND;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct batch_limits lim = { 50, 4.0, 28.0 };
	struct batch_spec	 s;
	struct batch_error	 e;
	const char		*why;
	cJSON			*errs;
	size_t			 i, nvalid = 0;
	int			 rc;

	rc = batch_validate((const char *)data, size, &lim, lookup, NULL, &s,
	    &e);
	if (rc == DB_ERROR)
		goto out;
	if (rc == 1) {
		if ((e.status != 400 && e.status != 422) || e.code == NULL ||
		    e.msg[0] == '\0')
			abort();
		goto out;
	}
	if (rc != 0 || s.njobs == 0 || s.njobs > lim.max_jobs)
		abort();
	if (!(s.cpu > 0) || s.gpu > BATCH_GPU_MAX ||
	    fabs(s.ram_gb - (s.cpu * 4.0 + s.gpu * 28.0)) > 0.002)
		abort();
	for (i = 0; i < s.njobs; i++) {
		const struct batch_job *j = &s.jobs[i];

		if (j->error != NULL)
			continue;
		nvalid++;
		if (j->image == NULL || j->image_tag == NULL ||
		    j->command == NULL ||
		    !batch_image_valid(j->image, strlen(j->image)) ||
		    !batch_tag_valid(j->image_tag, strlen(j->image_tag)) ||
		    batch_command_check(j->command, strlen(j->command),
		    &why) != 0 ||
		    j->dataset_id < 1 || j->dataset_id > 4 ||
		    (s.mode == BATCH_PRODUCTION && j->dataset_id != 1) ||
		    (s.mode == BATCH_PILOT && j->dataset_id == 1))
			abort();
	}
	if (nvalid != s.nvalid)
		abort();
	if (s.retry.attempts < 1 || s.retry.attempts > RETRY_ATTEMPTS_MAX ||
	    strlen(s.retry.on) >= RETRY_ON_MAX)
		abort();
	for (why = s.retry.on; *why != '\0'; why += strcspn(why, ",") +
	    (why[strcspn(why, ",")] == ',')) {
		if (!retry_class_valid(why, strcspn(why, ",")))
			abort();
	}
	if ((errs = batch_errors_json(&s)) == NULL ||
	    (size_t)cJSON_GetArraySize(errs) != s.njobs - s.nvalid)
		abort();
	cJSON_Delete(errs);
out:
	batch_spec_free(&s);
	return 0;
}

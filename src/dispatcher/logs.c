/*
 * logs.c: the log of a job's current attempt, kept whole as the job prints
 * (DESIGN "The dispatcher": whole logs, incrementally; joblog.h: layout).
 *
 * In --loop a running job's log is followed: one GET /containers/{name}/
 * logs?follow=1&timestamps=1 stream per job, never read again from the
 * start. In --once each pass reads what came since the last one. Either
 * way a read starts at the checkpoint kept in the database (the engine
 * timestamp of the last message kept and the payload bytes of messages
 * with exactly that timestamp), so a dispatcher that restarts, or a stream
 * that breaks, resumes where the kept log ends: no byte twice, none lost.
 *
 * Received bytes are written to the file every DISP_FLUSH_MS (or once 1 MiB
 * waits), synced, and then recorded (jobs.log_size and the checkpoint), all
 * jobs' records in one transaction: a line the job prints is visible through
 * the API within about a second. The files of a turn are synced together,
 * with one syncfs(2) of the blob store's file system rather than one
 * fdatasync(2) per log: a fleet has thousands of logs growing at once.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dispatch.h"
#include "joblog.h"
#include "log.h"

#define PEND_MAX	(1024 * 1024)	/* received bytes held at most */
#define RETRY_MS	1000		/* a broken follow, again after */

/* Open the attempt's log file for writing. Returns 0 or -1. */
static int
log_open(struct disp *d, struct disp_job *j)
{
	struct stat	 st;

	if (j->log.fd >= 0)
		return 0;
	if ((j->log.fd = joblog_open_write(d->conf.store_dir, j->uuid,
	    j->attempt)) == -1 || fstat(j->log.fd, &st) == -1) {
		log_error("job %s: its log cannot be written: %s", j->uuid,
		    strerror(errno));
		if (j->log.fd >= 0)
			close(j->log.fd);
		j->log.fd = -1;
		j->log.failed = 1;
		return -1;
	}
	j->log.cap = joblog_cap((long long)d->conf.disp_log_max,
	    (long long)st.st_size, j->log.size);
	return 0;
}

/* Write what was received to the file (not synced). Returns 0 or -1. */
static int
write_pend(struct disp *d, struct disp_job *j)
{
	if (j->log.pend.len == 0)
		return 0;
	if (j->log.failed || log_open(d, j) != 0)
		goto drop;
	if (joblog_write(j->log.fd, j->log.cap, j->log.size,
	    j->log.pend.data, j->log.pend.len) != 0) {
		log_error("job %s: writing its log: %s", j->uuid,
		    strerror(errno));
		j->log.failed = 1;
		goto drop;
	}
	j->log.size += (long long)j->log.pend.len;
	j->log.pend.len = 0;
	return 0;
drop:
	j->log.pend.len = 0;
	return -1;
}

/* See dispatch.h. */
void
logs_init(struct disp *d, struct disp_job *j)
{
	(void)d;
	j->log.size = j->log.synced = j->log_size;
	j->log.ts_ns = j->log.rec_ts_ns = j->log_ts_ns;
	j->log.ts_skip = j->log.rec_ts_skip = j->log_ts_skip;
	j->log.pend.len = 0;
	j->log.ended = 0;
	j->log.failed = 0;
}

/* One whole frame of the stream: kept unless kept already. */
static int
on_frame(void *arg, int stream, const char *p, size_t n)
{
	struct disp_job	*j = arg;
	long long	 ns;
	size_t		 skip;

	(void)stream;
	if (docker_log_ts(p, n, &ns, &skip) != 0) {
		/* No timestamp (not asked for?): keep it as it is. */
		ns = j->log.ts_ns;
		skip = 0;
	}
	p += skip;
	n -= skip;
	if (ns < j->log.skip_ts)
		return 0;		/* before the checkpoint: kept */
	if (ns == j->log.skip_ts && j->log.skip_left > 0) {
		if ((long long)n <= j->log.skip_left) {
			j->log.skip_left -= (long long)n;
			return 0;	/* at the checkpoint: kept */
		}
		j->log.skip_left = 0;
	}
	docker_buf_add(&j->log.pend, p, n);
	if (ns == j->log.ts_ns)
		j->log.ts_skip += (long long)n;
	else {
		j->log.ts_ns = ns;
		j->log.ts_skip = (long long)n;
	}
	j->d->stats.log_kept += (long long)n;
	return 0;
}

/* Sink of a log stream. */
static int
log_sink(struct ecall *c, const char *p, size_t n)
{
	struct disp_job	*j = c->arg;

	if (j == NULL)
		return -1;
	j->d->stats.log_wire += (long long)n;
	if (docker_frames_feed(&j->log.fr, p, n, on_frame, j) != 0) {
		snprintf(c->err, sizeof(c->err), "the log stream of job %s is "
		    "not Docker's multiplexed stream", j->uuid);
		return -1;
	}
	if (j->log.pend.len >= PEND_MAX)
		write_pend(j->d, j);
	return 0;
}

/* A log read or follow ended. */
static void
log_done(struct ecall *c)
{
	struct disp_job	*j = c->arg;

	if (j == NULL) {
		ecall_free(c);
		return;
	}
	j->log.call = NULL;
	if (c->rc == DOCKER_OK && docker_frames_end(&j->log.fr) == 0)
		j->log.ended = 1;
	else if (c->rc != DOCKER_CANCELLED) {
		log_warn("job %s: reading its log: %s", j->uuid, c->err);
		j->log.retry_ms = eloop_now_ms() + RETRY_MS;
	}
	j->log.following = 0;
	ecall_free(c);
	step_log_ended(j->d, j);
}

/* Start a read (follow: a follow stream) from the checkpoint. */
static void
log_start(struct disp *d, struct disp_host *h, struct disp_job *j,
    int follow)
{
	struct ecall	*c;
	char		 name[64];

	(void)d;
	docker_frames_free(&j->log.fr);
	docker_frames_init(&j->log.fr);
	j->log.skip_ts = j->log.ts_ns;
	j->log.skip_left = j->log.ts_skip;
	disp_container_name(j, name);
	c = dk_logs(name, j->log.ts_ns, follow);
	c->sink = log_sink;
	c->done = log_done;
	c->arg = j;
	c->stream = follow;
	c->timeout_s = follow ? -1 : 300;
	j->log.call = c;
	j->log.following = follow;
	j->log.ended = 0;
	engine_submit(h->eng, c);
}

/* See dispatch.h. */
void
logs_follow(struct disp *d, struct disp_host *h, struct disp_job *j)
{
	if (j->log.call != NULL || j->log.failed ||
	    eloop_now_ms() < j->log.retry_ms)
		return;
	log_start(d, h, j, 1);
}

/* See dispatch.h. */
int
logs_drain(struct disp *d, struct disp_host *h, struct disp_job *j)
{
	if (j->log.call != NULL)
		return 1;
	if (j->log.ended || j->log.failed)
		return 0;
	log_start(d, h, j, 0);
	return 1;
}

/* Record j's synced log in the database. Returns 0 or -1. */
static int
record(struct disp *d, struct disp_job *j)
{
	if (db_exec(d->db, "UPDATE jobs SET log_size = ?, log_ts_ns = ?, "
	    "log_ts_skip = ? WHERE id = ? AND attempt = ?",
	    DB_ARGS(DB_INT(j->log.size), j->log.ts_ns > 0 ?
	    DB_INT(j->log.ts_ns) : DB_NULL, DB_INT(j->log.ts_skip),
	    DB_INT(j->id), DB_INT(j->attempt)), NULL, NULL) != DB_OK) {
		log_error("job %s: recording its log: %s", j->uuid,
		    db_error(d->db));
		d->failed = 1;
		return -1;
	}
	j->log.synced = j->log.size;
	j->log.rec_ts_ns = j->log.ts_ns;
	j->log.rec_ts_skip = j->log.ts_skip;
	return 0;
}

/* Whether j has log bytes or a checkpoint not yet recorded. */
static int
unrecorded(const struct disp_job *j)
{
	return j->log.pend.len > 0 || j->log.size != j->log.synced ||
	    j->log.ts_ns != j->log.rec_ts_ns ||
	    j->log.ts_skip != j->log.rec_ts_skip;
}

/* Write and sync j's log. Returns 0 or -1. */
static int
sync_log(struct disp *d, struct disp_job *j)
{
	if (write_pend(d, j) != 0)
		return -1;
	if (j->log.fd >= 0 && j->log.size != j->log.synced &&
	    fdatasync(j->log.fd) == -1) {
		log_error("job %s: syncing its log: %s", j->uuid,
		    strerror(errno));
		j->log.failed = 1;
		return -1;
	}
	return 0;
}

/* See dispatch.h. */
int
logs_flush(struct disp *d, struct disp_job *j, int final)
{
	int	 rc = 0;

	if (sync_log(d, j) != 0)
		rc = -1;
	if (final && rc == 0 && !j->log.failed && log_open(d, j) == 0) {
		if (ftruncate(j->log.fd, (off_t)joblog_file_size(j->log.size,
		    j->log.cap)) == -1 || fsync(j->log.fd) == -1) {
			log_error("job %s: finishing its log: %s", j->uuid,
			    strerror(errno));
			rc = -1;
		}
	}
	if (rc == 0 && (final || unrecorded(j)) && record(d, j) != 0)
		rc = -1;
	if (final && j->log.fd >= 0) {
		close(j->log.fd);
		j->log.fd = -1;
	}
	return rc;
}

/* See dispatch.h. */
void
logs_flush_all(struct disp *d)
{
	struct disp_job	*j;
	size_t		 i, n = 0;
	int		 fd = -1;

	for (i = 0; i < d->njobs; i++) {
		j = d->jobs[i];
		if (unrecorded(j) && write_pend(d, j) == 0) {
			n++;
			if (j->log.fd >= 0)
				fd = j->log.fd;
		}
	}
	if (n == 0)
		return;
	/* Every log of the turn synced at once, before any is recorded. */
	if (fd >= 0 && syncfs(fd) == -1) {
		log_error("syncing the logs: %s", strerror(errno));
		return;
	}
	/* One transaction for every record of the turn. */
	if (n > 1 && db_begin(d->db) != DB_OK) {
		log_error("recording logs: %s", db_error(d->db));
		d->failed = 1;
		return;
	}
	for (i = 0; i < d->njobs; i++) {
		j = d->jobs[i];
		if (!j->log.failed && unrecorded(j) && record(d, j) != 0)
			break;
	}
	if (n > 1) {
		if (i < d->njobs || db_commit(d->db) != DB_OK) {
			if (db_in_transaction(d->db))
				db_rollback(d->db);
			log_error("recording logs: %s", db_error(d->db));
			d->failed = 1;
			/* Not recorded: recorded at the next flush. */
			for (i = 0; i < d->njobs; i++)
				d->jobs[i]->log.synced = -1;
		}
	}
}

/* See dispatch.h. */
void
logs_stop(struct disp *d, struct disp_job *j)
{
	if (j->log.call != NULL) {
		j->log.call->arg = NULL;
		ecall_cancel(j->log.call);
		j->log.call = NULL;
	}
	j->log.following = 0;
	if (unrecorded(j) && !j->log.failed)
		logs_flush(d, j, 0);
	if (j->log.fd >= 0) {
		close(j->log.fd);
		j->log.fd = -1;
	}
}

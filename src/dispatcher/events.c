/*
 * events.c: each host's /events stream in --loop (DESIGN "The dispatcher":
 * the loop is event-driven). The engine reports a job container's exit
 * (die) and OOM kill as they happen; the job is then looked at at once (the
 * next loop turn), so a container that exits is collected within a second
 * or two, not at the next iteration. A stream that breaks is opened again
 * (from the time of the last event, so the engine replays what was missed)
 * and the host reconciled by its next round.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "log.h"

#define RETRY_MS	1000
#define LINE_MAX_EV	(256 * 1024)

/* One event: the job whose container it is looks again when idle. */
static void
on_event(void *arg, const char *p, size_t n)
{
	struct disp_host	*h = arg;
	struct disp		*d = h->d;
	struct docker_event	 ev;
	struct disp_job		*j;
	char			 want[64];

	if (docker_parse_event(p, n, &ev) != 0)
		return;
	if (ev.time_ns > 0)
		h->ev_since_s = ev.time_ns / 1000000000LL;
	if (ev.job[0] == '\0' || (j = disp_job_by_uuid(d, ev.job)) == NULL ||
	    j->host_id != h->id)
		return;
	disp_container_name(j, want);
	if (strcmp(ev.name, want) != 0)
		return;
	log_debug("host %s: %s of %s", h->name, ev.action, ev.name);
	j->kick = 1;
}

/* Sink of the stream: one JSON object per line. */
static int
ev_sink(struct ecall *c, const char *p, size_t n)
{
	struct disp_host	*h = c->arg;

	if (h == NULL)
		return -1;
	h->ev_live = 1;
	docker_lines_feed(&h->evline, p, n, LINE_MAX_EV, on_event, h);
	return 0;
}

static void
ev_done(struct ecall *c)
{
	struct disp_host	*h = c->arg;

	if (h != NULL) {
		h->ev = NULL;
		h->ev_live = 0;
		h->evline.len = 0;
		h->ev_retry_ms = eloop_now_ms() + RETRY_MS;
		if (c->rc != DOCKER_CANCELLED)
			log_warn("host %s: its event stream ended: %s",
			    h->name, c->rc == DOCKER_OK ? "closed" : c->err);
		/* What the stream missed, its next round reconciles. */
	}
	ecall_free(c);
}

/* See dispatch.h. */
void
events_keep(struct disp *d, struct disp_host *h)
{
	struct ecall	*c;

	(void)d;
	if (h->ev != NULL || h->eng == NULL || !h->reachable ||
	    eloop_now_ms() < h->ev_retry_ms)
		return;
	c = dk_events(DISP_LABEL, h->ev_since_s);
	c->sink = ev_sink;
	c->done = ev_done;
	c->arg = h;
	h->ev = c;
	engine_submit(h->eng, c);
}

/* See dispatch.h. */
void
events_stop(struct disp *d, struct disp_host *h)
{
	(void)d;
	if (h->ev == NULL)
		return;
	h->ev->arg = NULL;
	ecall_cancel(h->ev);
	h->ev = NULL;
	h->ev_live = 0;
}

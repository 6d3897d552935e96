/*
 * cli-progress.c: a one-line progress bar on stderr for uploads, downloads
 * and waits, drawn only when stderr is a terminal. Elsewhere (logs, CI) the
 * commands print plain lines of their own instead.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define BAR_WIDTH	30

double
cli_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Draw the bar now. */
static void
draw(struct cli_progress *p)
{
	char	 bar[BAR_WIDTH + 1], a[32], b[32];
	double	 f;
	size_t	 i, full;

	f = p->total > 0 ? p->done / p->total : 0;
	if (f < 0)
		f = 0;
	if (f > 1)
		f = 1;
	full = (size_t)(f * BAR_WIDTH);
	for (i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < full ? '#' : '-';
	bar[BAR_WIDTH] = '\0';
	if (p->unit != NULL && strcmp(p->unit, "bytes") == 0) {
		cli_human_bytes((uint64_t)p->done, a);
		cli_human_bytes((uint64_t)p->total, b);
		fprintf(stderr, "\r%s [%s] %3.0f%% %s / %s\033[K", p->label,
		    bar, f * 100, a, b);
	} else
		fprintf(stderr, "\r%s [%s] %.0f/%.0f %s\033[K", p->label, bar,
		    floor(p->done), p->total, p->unit != NULL ? p->unit : "");
	fflush(stderr);
	p->drawn = 1;
	p->last = cli_now();
}

void
cli_progress_start(struct cli_progress *p, const char *label, int tty,
    double total, const char *unit)
{

	memset(p, 0, sizeof(*p));
	p->label = label;
	p->tty = tty;
	p->total = total;
	p->unit = unit;
	if (p->tty)
		draw(p);
}

void
cli_progress_update(struct cli_progress *p, double done)
{

	p->done = done;
	if (p->tty && cli_now() - p->last >= 0.1)
		draw(p);
}

void
cli_progress_end(struct cli_progress *p)
{

	if (!p->tty)
		return;
	draw(p);
	fputc('\n', stderr);
	p->drawn = 0;
}

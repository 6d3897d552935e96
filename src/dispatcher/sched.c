/*
 * sched.c: placement of queued jobs on hosts (see sched.h for the rules).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"
#include "util.h"

#define SHAPE_CACHE	64

static const char *const reason_names[SCHED_REASON__MAX] = {
	NULL,
	"no_host_fits",
	"insufficient_gpu",
	"insufficient_cpu",
	"insufficient_ram",
	"hosts_unreachable",
	"fair_share",
	"not_yet_considered",
};

/* One account in a pass. */
struct acct {
	long long	 id;
	long long	 cpu_m, ram_m, gpus;	/* held, grows as jobs are placed */
	size_t		*q[2];			/* job indices: [0] pilot, [1] prod */
	size_t		 nq[2], pos[2];
	size_t		 placed;		/* placed by it in this pass */
};

/* A requisition shape that did not fit in this pass. */
struct shape {
	long long		 cpu_m, ram_m;
	unsigned		 gpu;
	enum sched_reason	 base;		/* reason without fairness */
	int			 fitted_before;	/* fitted at the pass start */
};

/* What the pass knows besides hosts and jobs. */
struct pass {
	struct sched_host	*hosts;
	size_t			 nhosts;
	long long		*init_cpu, *init_ram;	/* used at start */
	unsigned		*init_gpus;
	struct shape		 cache[SHAPE_CACHE];
	size_t			 ncache;
	size_t			 placed;
};

/* See sched.h. */
const char *
sched_reason_name(enum sched_reason r)
{
	return (unsigned)r < SCHED_REASON__MAX ? reason_names[r] : NULL;
}

/* See sched.h. */
int
sched_parse_milli(const char *s, long long *out)
{
	long long	 v = 0;
	int		 nf = 0, nd = 0;

	*out = 0;
	if (s == NULL)
		return -1;
	for (; *s >= '0' && *s <= '9'; s++, nd++) {
		if (v > (long long)1e14)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (nd == 0)
		return -1;
	v *= 1000;
	if (*s == '.') {
		long long	 f = 0;

		for (s++; *s >= '0' && *s <= '9'; s++, nf++) {
			if (nf >= 3) {
				if (*s != '0')
					return -1;
				continue;
			}
			f = f * 10 + (*s - '0');
		}
		if (nf == 0)
			return -1;
		for (; nf < 3; nf++)
			f *= 10;
		v += f;
	}
	if (*s != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
gpu_isset(const struct sched_host *h, unsigned i)
{
	return (h->gpu_used[i / 64] >> (i % 64)) & 1;
}

static void
gpu_set(struct sched_host *h, unsigned i)
{
	h->gpu_used[i / 64] |= (uint64_t)1 << (i % 64);
}

/* See sched.h. */
int
sched_host_take(struct sched_host *h, long long cpu_m, long long ram_m,
    const char *gpu_devices)
{
	unsigned long long	 v;
	const char		*p;
	char			 num[16];
	size_t			 n;
	int			 rc = 0;

	h->used_cpu_m += cpu_m;
	h->used_ram_m += ram_m;
	if (gpu_devices == NULL || *gpu_devices == '\0')
		return 0;
	for (p = gpu_devices; ; p += n + 1) {
		n = strcspn(p, ",");
		h->used_gpus++;
		if (n == 0 || n >= sizeof(num)) {
			rc = -1;
		} else {
			memcpy(num, p, n);
			num[n] = '\0';
			if (util_parse_u64(num, SCHED_GPU_MAX - 1, &v) != 0)
				rc = -1;
			else if (v < h->gpus && !gpu_isset(h, (unsigned)v))
				gpu_set(h, (unsigned)v);
		}
		if (p[n] == '\0')
			break;
	}
	return rc;
}

/* Free GPUs of h (by count; the bitmap is checked when assigning). */
static unsigned
free_gpus(const struct sched_host *h)
{
	return h->used_gpus >= h->gpus ? 0 : h->gpus - h->used_gpus;
}

/* Whether a job of this shape fits h's whole capacity. */
static int
capable(const struct sched_host *h, const struct sched_job *j)
{
	return j->cpu_m <= h->cpu_m && j->ram_m <= h->ram_m &&
	    j->gpu <= h->gpus;
}

/*
 * Assign the lowest free GPU indices of h to j (j->gpu of them) and write
 * them to out. Returns 0, or -1 when the bitmap has too few free devices.
 */
static int
take_gpus(struct sched_host *h, const struct sched_job *j, char *out,
    size_t outlen)
{
	unsigned	 idx[SCHED_GPU_MAX], i, k = 0;
	size_t		 o = 0;

	out[0] = '\0';
	for (i = 0; i < h->gpus && k < j->gpu; i++)
		if (!gpu_isset(h, i))
			idx[k++] = i;
	if (k < j->gpu)
		return -1;
	for (i = 0; i < k; i++) {
		gpu_set(h, idx[i]);
		o += (size_t)snprintf(out + o, outlen - o, "%s%u",
		    i ? "," : "", idx[i]);
	}
	h->used_gpus += k;
	return 0;
}

/*
 * Best fit for j among the usable hosts: the index of the host leaving
 * the least (CPU, RAM and GPU fractions summed), or nhosts when none fits.
 */
static size_t
best_host(const struct pass *ps, const struct sched_job *j)
{
	const struct sched_host	*h;
	double			 score, best = 0;
	size_t			 i, pick = ps->nhosts;

	for (i = 0; i < ps->nhosts; i++) {
		h = &ps->hosts[i];
		if (!h->active || !h->reachable)
			continue;
		if (j->cpu_m > h->cpu_m - h->used_cpu_m ||
		    j->ram_m > h->ram_m - h->used_ram_m ||
		    j->gpu > free_gpus(h))
			continue;
		score = (double)(h->cpu_m - h->used_cpu_m - j->cpu_m) /
		    (double)(h->cpu_m > 0 ? h->cpu_m : 1) +
		    (double)(h->ram_m - h->used_ram_m - j->ram_m) /
		    (double)(h->ram_m > 0 ? h->ram_m : 1);
		if (h->gpus > 0)
			score += (double)(free_gpus(h) - j->gpu) /
			    (double)h->gpus;
		if (pick == ps->nhosts || score < best) {
			best = score;
			pick = i;
		}
	}
	return pick;
}

/*
 * Why j fits nowhere now, fairness aside; *fitted_before is set when it
 * would have fitted a usable host as the pass began.
 */
static enum sched_reason
why_not(const struct pass *ps, const struct sched_job *j, int *fitted_before)
{
	const struct sched_host	*h;
	enum sched_reason	 r = SCHED_NO_HOST_FITS, hr;
	int			 any_capable = 0, lack, best_lack = 4;
	size_t			 i;

	*fitted_before = 0;
	for (i = 0; i < ps->nhosts; i++) {
		h = &ps->hosts[i];
		if (!h->active || !capable(h, j))
			continue;
		any_capable = 1;
		if (!h->reachable)
			continue;
		if (j->cpu_m <= h->cpu_m - ps->init_cpu[i] &&
		    j->ram_m <= h->ram_m - ps->init_ram[i] &&
		    j->gpu <= (ps->init_gpus[i] >= h->gpus ? 0 :
		    h->gpus - ps->init_gpus[i]))
			*fitted_before = 1;
		lack = 0;
		hr = SCHED_PLACED;
		if (j->ram_m > h->ram_m - h->used_ram_m) {
			lack++;
			hr = SCHED_INSUFFICIENT_RAM;
		}
		if (j->cpu_m > h->cpu_m - h->used_cpu_m) {
			lack++;
			hr = SCHED_INSUFFICIENT_CPU;
		}
		if (j->gpu > free_gpus(h)) {
			lack++;
			hr = SCHED_INSUFFICIENT_GPU;
		}
		if (lack == 0)	/* free by count, not by bitmap */
			hr = SCHED_INSUFFICIENT_GPU, lack = 1;
		if (lack < best_lack) {
			best_lack = lack;
			r = hr;
		}
	}
	if (!any_capable)
		return SCHED_NO_HOST_FITS;
	if (best_lack == 4)
		return SCHED_HOSTS_UNREACHABLE;
	return r;
}

/* Try to place job j of account a. */
static void
place_one(struct pass *ps, struct sched_job *j, struct acct *a)
{
	struct sched_host	*h;
	struct shape		*c = NULL;
	char			 gpus[SCHED_GPU_STR];
	size_t			 i, hi;
	int			 fitted_before = 0;
	enum sched_reason	 base;

	for (i = 0; i < ps->ncache; i++)
		if (ps->cache[i].cpu_m == j->cpu_m &&
		    ps->cache[i].ram_m == j->ram_m &&
		    ps->cache[i].gpu == j->gpu) {
			c = &ps->cache[i];
			break;
		}
	if (c == NULL) {
		hi = best_host(ps, j);
		if (hi < ps->nhosts) {
			h = &ps->hosts[hi];
			if (take_gpus(h, j, gpus, sizeof(gpus)) == 0) {
				h->used_cpu_m += j->cpu_m;
				h->used_ram_m += j->ram_m;
				j->reason = SCHED_PLACED;
				j->host = hi;
				j->gpu_devices = j->gpu > 0 ? xstrdup(gpus) :
				    NULL;
				a->cpu_m += j->cpu_m;
				a->ram_m += j->ram_m;
				a->gpus += j->gpu;
				a->placed++;
				ps->placed++;
				return;
			}
		}
		base = why_not(ps, j, &fitted_before);
		if (ps->ncache < SHAPE_CACHE) {
			c = &ps->cache[ps->ncache++];
			c->cpu_m = j->cpu_m;
			c->ram_m = j->ram_m;
			c->gpu = j->gpu;
			c->base = base;
			c->fitted_before = fitted_before;
		}
	} else {
		base = c->base;
		fitted_before = c->fitted_before;
	}
	j->reason = fitted_before && ps->placed > a->placed ?
	    SCHED_FAIR_SHARE : base;
}

/* qsort order of accounts by id. */
static int
acct_cmp(const void *x, const void *y)
{
	const struct acct	*a = x, *b = y;

	return a->id < b->id ? -1 : a->id > b->id;
}

/* The account of id in the sorted table (present by construction). */
static struct acct *
acct_find(struct acct *t, size_t n, long long id)
{
	struct acct	 key;

	key.id = id;
	return bsearch(&key, t, n, sizeof(*t), acct_cmp);
}

/* The dominant share of a: its largest fraction of the totals. */
static double
dominant(const struct acct *a, const long long tot[3])
{
	double	 s = 0, f;

	if (tot[0] > 0 && (f = (double)a->cpu_m / (double)tot[0]) > s)
		s = f;
	if (tot[1] > 0 && (f = (double)a->ram_m / (double)tot[1]) > s)
		s = f;
	if (tot[2] > 0 && (f = (double)a->gpus / (double)tot[2]) > s)
		s = f;
	return s;
}

/* See sched.h. */
size_t
sched_place(struct sched_host *hosts, size_t nhosts, struct sched_job *jobs,
    size_t njobs, const struct sched_usage *usage, size_t nusage)
{
	struct pass	 ps;
	struct acct	*ac = NULL, *a, *pick;
	long long	 tot[3] = { 0, 0, 0 };
	size_t		 na = 0, i, k, cls;
	double		 s, best;

	memset(&ps, 0, sizeof(ps));
	ps.hosts = hosts;
	ps.nhosts = nhosts;
	ps.init_cpu = xcalloc(nhosts + 1, sizeof(*ps.init_cpu));
	ps.init_ram = xcalloc(nhosts + 1, sizeof(*ps.init_ram));
	ps.init_gpus = xcalloc(nhosts + 1, sizeof(*ps.init_gpus));
	for (i = 0; i < nhosts; i++) {
		ps.init_cpu[i] = hosts[i].used_cpu_m;
		ps.init_ram[i] = hosts[i].used_ram_m;
		ps.init_gpus[i] = hosts[i].used_gpus;
		if (hosts[i].active) {
			tot[0] += hosts[i].cpu_m;
			tot[1] += hosts[i].ram_m;
			tot[2] += hosts[i].gpus;
		}
	}

	/* The accounts: every job's and every holder's, sorted by id. */
	ac = xcalloc(njobs + nusage + 1, sizeof(*ac));
	for (i = 0; i < njobs; i++)
		ac[na++].id = jobs[i].account_id;
	for (i = 0; i < nusage; i++)
		ac[na++].id = usage[i].account_id;
	qsort(ac, na, sizeof(*ac), acct_cmp);
	for (i = k = 0; i < na; i++)
		if (k == 0 || ac[k - 1].id != ac[i].id)
			ac[k++].id = ac[i].id;
	na = k;
	for (i = 0; i < nusage; i++) {
		a = acct_find(ac, na, usage[i].account_id);
		a->cpu_m += usage[i].cpu_m;
		a->ram_m += usage[i].ram_m;
		a->gpus += usage[i].gpus;
	}
	for (i = 0; i < njobs; i++)
		acct_find(ac, na, jobs[i].account_id)->nq[jobs[i].pilot ? 0 : 1]++;
	for (i = 0; i < na; i++) {
		ac[i].q[0] = xcalloc(ac[i].nq[0] + 1, sizeof(size_t));
		ac[i].q[1] = xcalloc(ac[i].nq[1] + 1, sizeof(size_t));
		ac[i].nq[0] = ac[i].nq[1] = 0;
	}
	for (i = 0; i < njobs; i++) {
		jobs[i].reason = SCHED_NOT_YET_CONSIDERED;
		jobs[i].host = nhosts;
		jobs[i].gpu_devices = NULL;
		a = acct_find(ac, na, jobs[i].account_id);
		cls = jobs[i].pilot ? 0 : 1;
		a->q[cls][a->nq[cls]++] = i;
	}

	/* Pilot jobs first, then production; smallest dominant share next. */
	for (cls = 0; cls < 2; cls++) {
		for (;;) {
			pick = NULL;
			best = 0;
			for (i = 0; i < na; i++) {
				if (ac[i].pos[cls] >= ac[i].nq[cls])
					continue;
				s = dominant(&ac[i], tot);
				if (pick == NULL || s < best) {
					pick = &ac[i];
					best = s;
				}
			}
			if (pick == NULL)
				break;
			place_one(&ps, &jobs[pick->q[cls][pick->pos[cls]++]],
			    pick);
		}
	}

	for (i = 0; i < na; i++) {
		free(ac[i].q[0]);
		free(ac[i].q[1]);
	}
	free(ac);
	free(ps.init_cpu);
	free(ps.init_ram);
	free(ps.init_gpus);
	return ps.placed;
}

/* See sched.h. */
void
sched_jobs_clear(struct sched_job *jobs, size_t njobs)
{
	size_t	 i;

	for (i = 0; i < njobs; i++) {
		free(jobs[i].gpu_devices);
		jobs[i].gpu_devices = NULL;
	}
}

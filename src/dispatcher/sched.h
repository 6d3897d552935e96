/*
 * sched.h: placement of queued jobs on hosts, a pure function over memory
 * (DESIGN "The dispatcher": placement), so it is unit tested and
 * benchmarked without Docker or MariaDB.
 *
 * Quantities are whole thousandths: cpu_m = CPUs * 1000, ram_m = GB * 1000
 * (the DECIMAL(..,3) columns exactly), GPUs whole devices numbered from 0.
 *
 * Rules:
 *   - a host's free CPU, RAM and GPU devices are its capacity minus what
 *     the jobs placed there hold (sched_host_take());
 *   - only active, reachable hosts get new jobs;
 *   - pilot jobs go before production jobs;
 *   - between accounts, the account with the smallest dominant share of
 *     what is running (its largest fraction of the active hosts' total CPU,
 *     GPU or RAM) goes next; within an account, jobs go in queue order;
 *   - a job goes to the host where it fits with the least left over (best
 *     fit), ties to the earlier host;
 *   - GPUs are whole devices, the lowest free indices first, never shared.
 */
#ifndef ST_SCHED_H
#define ST_SCHED_H

#include <stddef.h>
#include <stdint.h>

#define SCHED_GPU_MAX		1024
#define SCHED_GPU_WORDS		(SCHED_GPU_MAX / 64)
/* "0,1,...": enough for every index of SCHED_GPU_MAX devices. */
#define SCHED_GPU_STR		(SCHED_GPU_MAX * 5)

/* Why a job stays queued; the names are the API's pending_reason. */
enum sched_reason {
	SCHED_PLACED,
	SCHED_NO_HOST_FITS,	/* no active host could ever hold it */
	SCHED_INSUFFICIENT_GPU,	/* binding resource right now */
	SCHED_INSUFFICIENT_CPU,
	SCHED_INSUFFICIENT_RAM,
	SCHED_HOSTS_UNREACHABLE,/* only unreachable hosts could hold it */
	SCHED_FAIR_SHARE,	/* it fitted, but another account went first */
	SCHED_NOT_YET_CONSIDERED,
	SCHED_REASON__MAX
};

struct sched_host {
	long long	 id;
	int		 active;	/* state 'active' (not draining/disabled) */
	int		 reachable;	/* answered the last health check */
	long long	 cpu_m;		/* capacity */
	long long	 ram_m;
	unsigned	 gpus;
	/* What is held, filled by sched_host_take(). */
	long long	 used_cpu_m;
	long long	 used_ram_m;
	unsigned	 used_gpus;
	uint64_t	 gpu_used[SCHED_GPU_WORDS];
};

struct sched_job {
	long long	 id;
	long long	 account_id;
	int		 pilot;		/* 1 pilot, 0 production */
	long long	 cpu_m;
	long long	 ram_m;
	unsigned	 gpu;
	/* Results of sched_place(). */
	enum sched_reason reason;
	size_t		 host;		/* index into hosts when PLACED */
	char		*gpu_devices;	/* "0,1" when PLACED with GPUs (owned) */
};

/* What an account holds now (jobs placed and not finished), for fairness. */
struct sched_usage {
	long long	 account_id;
	long long	 cpu_m;
	long long	 ram_m;
	long long	 gpus;
};

/* The API name of a reason ("no_host_fits", ...); NULL for PLACED. */
const char	*sched_reason_name(enum sched_reason r);

/*
 * Parse a DECIMAL text ("8", "0.5", "12.250") into thousandths. Returns 0,
 * or -1 when it is not a non-negative number with at most 3 decimals.
 */
int		 sched_parse_milli(const char *s, long long *out);

/*
 * Record on h a job holding cpu_m, ram_m and the GPU devices listed in
 * gpu_devices ("0,2"; NULL or "" for none). An index outside the host or
 * already held is ignored for the bitmap but still counted, so a host
 * whose GPU count shrank is never over-committed. Returns 0, or -1 when
 * gpu_devices is malformed (the resources are counted anyway).
 */
int		 sched_host_take(struct sched_host *h, long long cpu_m,
		    long long ram_m, const char *gpu_devices);

/*
 * Place jobs (in queue order: id ascending within each mode; the order
 * given is kept within an account) on hosts. usage lists what each
 * account holds now (accounts absent hold nothing). Fills every job's
 * reason, host and gpu_devices, and takes the placed jobs' resources on
 * hosts. Returns the number of jobs placed. Cost: O(jobs * (hosts +
 * accounts)) at worst; jobs of a shape that already failed in the pass
 * skip the host scan.
 */
size_t		 sched_place(struct sched_host *hosts, size_t nhosts,
		    struct sched_job *jobs, size_t njobs,
		    const struct sched_usage *usage, size_t nusage);

/* Free the gpu_devices strings of jobs. */
void		 sched_jobs_clear(struct sched_job *jobs, size_t njobs);

#endif

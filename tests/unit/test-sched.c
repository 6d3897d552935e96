/*
 * test-sched.c: placement (src/dispatcher/sched.h) without Docker or
 * MariaDB: best fit, GPU device indices, pilot before production,
 * dominant resource fairness, host states and every pending reason.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sched.h"

/* A host: cpus and ram in whole units, active and reachable. */
static struct sched_host
host(long long id, long long cpus, long long ram, unsigned gpus)
{
	struct sched_host	 h;

	memset(&h, 0, sizeof(h));
	h.id = id;
	h.active = 1;
	h.reachable = 1;
	h.cpu_m = cpus * 1000;
	h.ram_m = ram * 1000;
	h.gpus = gpus;
	return h;
}

static struct sched_job
job(long long id, long long account, int pilot, long long cpu_m,
    long long ram, unsigned gpu)
{
	struct sched_job	 j;

	memset(&j, 0, sizeof(j));
	j.id = id;
	j.account_id = account;
	j.pilot = pilot;
	j.cpu_m = cpu_m;
	j.ram_m = ram * 1000;
	j.gpu = gpu;
	return j;
}

static void
test_parse_milli(void **state)
{
	static const struct {
		int		 line;
		const char	*s;
		int		 rc;
		long long	 v;
	} t[] = {
		{ __LINE__, "8", 0, 8000 },
		{ __LINE__, "0.5", 0, 500 },
		{ __LINE__, "12.250", 0, 12250 },
		{ __LINE__, "0.001", 0, 1 },
		{ __LINE__, "1.2500", 0, 1250 },
		{ __LINE__, "1.2501", -1, 0 },
		{ __LINE__, "", -1, 0 },
		{ __LINE__, ".5", -1, 0 },
		{ __LINE__, "1.", -1, 0 },
		{ __LINE__, "-1", -1, 0 },
		{ __LINE__, "1e3", -1, 0 },
		{ __LINE__, "99999999999999999999", -1, 0 },
	};
	long long	 v;
	size_t		 i;

	(void)state;
	assert_int_equal(sched_parse_milli(NULL, &v), -1);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (sched_parse_milli(t[i].s, &v) != t[i].rc)
			fail_msg("line %d: rc", t[i].line);
		if (t[i].rc == 0 && v != t[i].v)
			fail_msg("line %d: %lld", t[i].line, v);
	}
}

/* The job goes where it leaves the least; ties to the earlier host. */
static void
test_best_fit(void **state)
{
	struct sched_host	 h[3] = { host(1, 8, 32, 0), host(2, 4, 16, 0),
	    host(3, 4, 16, 0) };
	struct sched_job	 j[2] = { job(1, 1, 0, 4000, 16, 0),
	    job(2, 1, 0, 4000, 16, 0) };

	(void)state;
	assert_int_equal(sched_place(h, 3, j, 2, NULL, 0), 2);
	assert_int_equal(j[0].reason, SCHED_PLACED);
	assert_int_equal(j[0].host, 1);
	assert_int_equal(j[1].host, 2);
	assert_int_equal(h[1].used_cpu_m, 4000);
	assert_null(j[0].gpu_devices);
	sched_jobs_clear(j, 2);
}

/* GPU jobs get the lowest free devices; a CPU job avoids a GPU host. */
static void
test_gpu_indices(void **state)
{
	struct sched_host	 h[2] = { host(1, 16, 128, 4), host(2, 16, 128, 0) };
	struct sched_job	 j[4] = { job(1, 1, 0, 1000, 1, 1),
	    job(2, 1, 0, 1000, 1, 2), job(3, 1, 0, 1000, 1, 1),
	    job(4, 1, 0, 1000, 1, 0) };

	(void)state;
	assert_int_equal(sched_host_take(&h[0], 1000, 1000, "1"), 0);
	assert_int_equal(sched_place(h, 2, j, 4, NULL, 0), 3);
	assert_string_equal(j[0].gpu_devices, "0");
	assert_string_equal(j[1].gpu_devices, "2,3");
	assert_int_equal(j[2].reason, SCHED_INSUFFICIENT_GPU);
	assert_null(j[2].gpu_devices);
	assert_int_equal(j[3].reason, SCHED_PLACED);
	sched_jobs_clear(j, 4);

	/* While the GPU host has free GPUs, a CPU job goes elsewhere. */
	h[0] = host(1, 16, 128, 4);
	h[1] = host(2, 16, 128, 0);
	j[0] = job(5, 1, 0, 1000, 1, 0);
	assert_int_equal(sched_place(h, 2, j, 1, NULL, 0), 1);
	assert_int_equal(j[0].host, 1);
	sched_jobs_clear(j, 1);
}

/* Two GPUs: five one-GPU jobs, two placed with distinct devices. */
static void
test_gpu_never_shared(void **state)
{
	struct sched_host	 h = host(1, 64, 512, 2);
	struct sched_job	 j[5];
	size_t			 i;

	(void)state;
	for (i = 0; i < 5; i++)
		j[i] = job((long long)i + 1, 1, 1, 1000, 1, 1);
	assert_int_equal(sched_place(&h, 1, j, 5, NULL, 0), 2);
	assert_string_equal(j[0].gpu_devices, "0");
	assert_string_equal(j[1].gpu_devices, "1");
	for (i = 2; i < 5; i++)
		assert_int_equal(j[i].reason, SCHED_INSUFFICIENT_GPU);
	sched_jobs_clear(j, 5);

	/* The held devices come from what runs, whatever the order. */
	h = host(1, 64, 512, 2);
	sched_host_take(&h, 1000, 1000, "1");
	j[0] = job(9, 1, 1, 1000, 1, 1);
	assert_int_equal(sched_place(&h, 1, j, 1, NULL, 0), 1);
	assert_string_equal(j[0].gpu_devices, "0");
	sched_jobs_clear(j, 1);
}

static void
test_host_take_malformed(void **state)
{
	struct sched_host	 h = host(1, 8, 8, 2);

	(void)state;
	assert_int_equal(sched_host_take(&h, 0, 0, "0,x"), -1);
	assert_int_equal(h.used_gpus, 2);
	assert_int_equal(sched_host_take(&h, 0, 0, ",,"), -1);
	assert_int_equal(sched_host_take(&h, 0, 0, "7"), 0);
	assert_int_equal(sched_host_take(&h, 0, 0, NULL), 0);
	assert_int_equal(sched_host_take(&h, 0, 0, ""), 0);
}

/* One slot: a pilot job goes before an older production job. */
static void
test_pilot_first(void **state)
{
	struct sched_host	 h = host(1, 1, 4, 0);
	struct sched_job	 j[2] = { job(1, 1, 0, 1000, 1, 0),
	    job(2, 1, 1, 1000, 1, 0) };

	(void)state;
	assert_int_equal(sched_place(&h, 1, j, 2, NULL, 0), 1);
	assert_int_equal(j[1].reason, SCHED_PLACED);
	assert_int_equal(j[0].reason, SCHED_INSUFFICIENT_CPU);
	sched_jobs_clear(j, 2);
}

/*
 * Dominant resource fairness: account 1 already holds half the GPUs,
 * account 2 nothing: account 2 goes first even though its jobs are newer,
 * and account 1's job that would have fitted waits for fair_share.
 */
static void
test_drf(void **state)
{
	struct sched_host	 h = host(1, 100, 1000, 2);
	struct sched_usage	 u = { 1, 1000, 1000, 1 };
	struct sched_job	 j[2] = { job(1, 1, 0, 1000, 1, 1),
	    job(2, 2, 0, 1000, 1, 1) };

	(void)state;
	sched_host_take(&h, 1000, 1000, "0");
	assert_int_equal(sched_place(&h, 1, j, 2, &u, 1), 1);
	assert_int_equal(j[1].reason, SCHED_PLACED);
	assert_string_equal(j[1].gpu_devices, "1");
	assert_int_equal(j[0].reason, SCHED_FAIR_SHARE);
	sched_jobs_clear(j, 2);
}

/* Accounts take turns as their dominant shares grow. */
static void
test_drf_turns(void **state)
{
	struct sched_host	 h = host(1, 4, 1000, 0);
	struct sched_job	 j[6];
	size_t			 i, a1 = 0, a2 = 0;

	(void)state;
	for (i = 0; i < 4; i++)
		j[i] = job((long long)i + 1, 1, 0, 1000, 1, 0);
	j[4] = job(5, 2, 0, 1000, 1, 0);
	j[5] = job(6, 2, 0, 1000, 1, 0);
	assert_int_equal(sched_place(&h, 1, j, 6, NULL, 0), 4);
	for (i = 0; i < 6; i++)
		if (j[i].reason == SCHED_PLACED)
			*(j[i].account_id == 1 ? &a1 : &a2) += 1;
	assert_int_equal(a1, 2);
	assert_int_equal(a2, 2);
	assert_int_equal(j[2].reason, SCHED_FAIR_SHARE);
	sched_jobs_clear(j, 6);
}

/* Every reason a job can stay queued for. */
static void
test_reasons(void **state)
{
	struct sched_host	 h[3] = { host(1, 4, 8, 1), host(2, 16, 64, 0),
	    host(3, 64, 512, 8) };
	struct sched_job	 j[6] = {
		job(1, 1, 0, 128000, 1, 0),	/* no host has 128 CPUs */
		job(2, 1, 0, 32000, 1, 0),	/* only host 3: unreachable */
		job(3, 1, 0, 1000, 1, 1),	/* host 1's GPU is held */
		job(4, 1, 0, 8000, 1, 0),	/* host 2's CPUs are held */
		job(5, 1, 0, 1000, 60, 0),	/* host 2's RAM is held */
		job(6, 1, 0, 1000, 1, 4),	/* host 3 draining: never */
	};

	(void)state;
	h[2].reachable = 0;
	sched_host_take(&h[0], 0, 0, "0");
	sched_host_take(&h[1], 12000, 16000, NULL);
	assert_int_equal(sched_place(h, 3, j, 6, NULL, 0), 0);
	assert_int_equal(j[0].reason, SCHED_NO_HOST_FITS);
	assert_int_equal(j[1].reason, SCHED_HOSTS_UNREACHABLE);
	assert_int_equal(j[2].reason, SCHED_INSUFFICIENT_GPU);
	assert_int_equal(j[3].reason, SCHED_INSUFFICIENT_CPU);
	assert_int_equal(j[4].reason, SCHED_INSUFFICIENT_RAM);
	assert_int_equal(j[5].reason, SCHED_HOSTS_UNREACHABLE);
	h[2].active = 0;
	assert_int_equal(sched_place(h, 3, j + 5, 1, NULL, 0), 0);
	assert_int_equal(j[5].reason, SCHED_NO_HOST_FITS);
	assert_string_equal(sched_reason_name(SCHED_FAIR_SHARE), "fair_share");
	assert_string_equal(sched_reason_name(SCHED_NOT_YET_CONSIDERED),
	    "not_yet_considered");
	assert_null(sched_reason_name(SCHED_PLACED));
	sched_jobs_clear(j, 6);
}

/* A draining or disabled host gets nothing new. */
static void
test_inactive_hosts(void **state)
{
	struct sched_host	 h[2] = { host(1, 8, 8, 0), host(2, 8, 8, 0) };
	struct sched_job	 j = job(1, 1, 1, 1000, 1, 0);

	(void)state;
	h[0].active = 0;
	assert_int_equal(sched_place(h, 2, &j, 1, NULL, 0), 1);
	assert_int_equal(j.host, 1);
	sched_jobs_clear(&j, 1);
	h[1].active = 0;
	assert_int_equal(sched_place(h, 2, &j, 1, NULL, 0), 0);
	assert_int_equal(j.reason, SCHED_NO_HOST_FITS);
}

/* Many jobs and hosts: every host filled exactly, the rest queued. */
static void
test_many(void **state)
{
	struct sched_host	*h;
	struct sched_job	*j;
	size_t			 i, placed;

	(void)state;
	h = calloc(100, sizeof(*h));
	j = calloc(10000, sizeof(*j));
	assert_non_null(h);
	assert_non_null(j);
	for (i = 0; i < 100; i++)
		h[i] = host((long long)i + 1, 8, 64, 2);
	for (i = 0; i < 10000; i++)
		j[i] = job((long long)i + 1, (long long)(i % 7) + 1, i % 3 == 0,
		    1000, 4, i % 5 == 0);
	placed = sched_place(h, 100, j, 10000, NULL, 0);
	assert_int_equal(placed, 800);
	for (i = 0; i < 100; i++) {
		assert_int_equal(h[i].used_cpu_m, 8000);
		assert_true(h[i].used_gpus <= 2);
	}
	sched_jobs_clear(j, 10000);
	free(j);
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_milli),
		cmocka_unit_test(test_best_fit),
		cmocka_unit_test(test_gpu_indices),
		cmocka_unit_test(test_gpu_never_shared),
		cmocka_unit_test(test_host_take_malformed),
		cmocka_unit_test(test_pilot_first),
		cmocka_unit_test(test_drf),
		cmocka_unit_test(test_drf_turns),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_inactive_hosts),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

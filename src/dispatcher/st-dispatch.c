/*
 * st-dispatch.c: the dispatcher's command line, named lock and loop
 * (DESIGN "The dispatcher"; st-dispatch(8)).
 *
 *   st-dispatch --once | --loop SECONDS [--dry-run] [--verbose] [-c CONFIG]
 *
 * --loop: an iteration every SECONDS (iter.c), and between them the event
 * loop runs every Engine call, event stream, log follow, pull and fill as
 * they progress. --once: one iteration, then the loop until what it
 * started ended or [dispatcher] pass_budget seconds passed; what is left
 * is given up and finished by the next pass.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/resource.h>

#include <curl/curl.h>

#include "conf.h"
#include "db.h"
#include "dispatch.h"
#include "log.h"
#include "store.h"
#include "util.h"

#include <openssl/crypto.h>

static volatile sig_atomic_t stop_requested;

static void
usage(FILE *f)
{
	fputs("usage: st-dispatch --once | --loop SECONDS [--dry-run] "
	    "[--verbose] [-c CONFIG]\n", f);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* See dispatch.h. */
void
disp_say(const struct disp *d, const char *fmt, ...)
{
	va_list	 ap;
	char	 line[2048];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_info("%s", line);
	if (d->verbose) {
		printf("%s\n", line);
		fflush(stdout);
	}
}

/*
 * Take the named lock (or check that this connection still holds it: a
 * reconnect loses it). Returns 0 when held, 1 when another session holds
 * it (its connection id in *holder), -1 on a database failure.
 */
static int
take_lock(struct disp *d, long long *holder)
{
	struct db_res	*r = NULL;
	int		 rc = -1;

	*holder = 0;
	if (db_query(d->db, "SELECT IS_USED_LOCK(?) = CONNECTION_ID(), "
	    "IS_USED_LOCK(?)", DB_ARGS(DB_STR(DISP_LOCK_NAME),
	    DB_STR(DISP_LOCK_NAME)), &r) != DB_OK)
		goto out;
	if (r->nrows == 1 && db_res_int(r, 0, 0) == 1) {
		rc = 0;
		goto out;
	}
	db_res_free(r);
	r = NULL;
	if (db_query(d->db, "SELECT GET_LOCK(?, 0), IS_USED_LOCK(?)",
	    DB_ARGS(DB_STR(DISP_LOCK_NAME), DB_STR(DISP_LOCK_NAME)), &r) !=
	    DB_OK || r->nrows != 1)
		goto out;
	if (db_res_int(r, 0, 0) == 1) {
		rc = 0;
		goto out;
	}
	*holder = db_res_int(r, 0, 1);
	rc = 1;
out:
	db_res_free(r);
	return rc;
}

/*
 * Run the loop until deadline_ms (eloop_now_ms()), a stop signal, or (when
 * until_idle) nothing of this process is under way any more.
 */
static void
run_until(struct disp *d, long long deadline_ms, int until_idle)
{
	long long	 now;

	while (!stop_requested) {
		now = eloop_now_ms();
		if (now >= deadline_ms || (until_idle && !disp_busy(d)))
			return;
		eloop_run(d->el, deadline_ms - now < 100 ?
		    (long)(deadline_ms - now) : 100);
		disp_turn(d);
	}
}

/* As many open files as allowed: a stream per running job and host. */
static void
raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The seal key, for private registry credentials (pull.c). */
static void
load_seal_key(struct disp *d)
{
	d->seal_ok = seal_load_key(d->conf.auth_key_file, d->seal_key,
	    d->seal_err, sizeof(d->seal_err)) == 0;
	if (!d->seal_ok)
		log_warn("private registry credentials cannot be used: %s",
		    d->seal_err);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "once",	no_argument,	   NULL, 'o' },
		{ "loop",	required_argument, NULL, 'l' },
		{ "dry-run",	no_argument,	   NULL, 'n' },
		{ "verbose",	no_argument,	   NULL, 'v' },
		{ "config",	required_argument, NULL, 'c' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL,		0,		   NULL, 0 },
	};
	struct disp		 d;
	struct sigaction	 sa;
	const char		*cfg = NULL;
	char			 err[1024];
	unsigned long long	 loop_s = 0;
	long long		 holder, t0;
	int			 ch, once = 0, loop = 0, rc = DISP_EXIT_FAIL;
	int			 conf_loaded = 0, lrc;

	memset(&d, 0, sizeof(d));
	while ((ch = getopt_long(argc, argv, "c:hnov", longopts, NULL))
	    != -1) {
		switch (ch) {
		case 'o':
			once = 1;
			break;
		case 'l':
			if (util_parse_u64(optarg, 86400, &loop_s) != 0 ||
			    loop_s == 0) {
				fprintf(stderr, "st-dispatch: --loop needs "
				    "whole seconds from 1 to 86400, not `%s'\n",
				    optarg);
				return DISP_EXIT_USAGE;
			}
			loop = 1;
			break;
		case 'n':
			d.dry_run = 1;
			break;
		case 'v':
			d.verbose = 1;
			break;
		case 'c':
			cfg = optarg;
			break;
		case 'h':
			usage(stdout);
			return DISP_EXIT_OK;
		default:
			usage(stderr);
			return DISP_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "st-dispatch: unexpected argument `%s'\n",
		    argv[optind]);
		usage(stderr);
		return DISP_EXIT_USAGE;
	}
	if (once + loop != 1 && !(d.dry_run && !loop)) {
		fprintf(stderr, "st-dispatch: give exactly one of --once and "
		    "--loop SECONDS\n");
		usage(stderr);
		return DISP_EXIT_USAGE;
	}
	if (conf_load(cfg, &d.conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "st-dispatch: %s\n", err);
		return DISP_EXIT_FAIL;
	}
	conf_loaded = 1;
	log_init("st-dispatch", d.conf.log_file, d.verbose ? CONF_LOG_DEBUG :
	    d.conf.log_level);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "st-dispatch: libcurl cannot start\n");
		goto out;
	}
	if (!d.dry_run && store_init(d.conf.store_dir) != STORE_OK) {
		fprintf(stderr, "st-dispatch: blob store %s: %s\n",
		    d.conf.store_dir, strerror(errno));
		goto out;
	}
	raise_nofile();
	d.once = !loop;
	d.el = eloop_new();
	if (!d.dry_run)
		load_seal_key(&d);
	if ((d.db = db_new(&d.conf)) == NULL || db_connect(d.db) != DB_OK) {
		fprintf(stderr, "st-dispatch: cannot connect to the database: "
		    "%s\n", d.db != NULL ? db_error(d.db) : "out of memory");
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	for (;;) {
		t0 = eloop_now_ms();
		/* A dry run changes nothing and needs no lock. */
		if (!d.dry_run) {
			lrc = take_lock(&d, &holder);
			if (lrc < 0) {
				fprintf(stderr, "st-dispatch: the database "
				    "failed: %s\n", db_error(d.db));
				if (!loop)
					goto out;
				log_error("taking the lock: %s",
				    db_error(d.db));
				goto next;
			}
			if (lrc > 0) {
				fprintf(stderr, "st-dispatch: another "
				    "dispatcher is running (MariaDB lock `%s' "
				    "held by connection %lld); exiting\n",
				    DISP_LOCK_NAME, holder);
				log_warn("lock %s held by connection %lld; "
				    "exiting", DISP_LOCK_NAME, holder);
				rc = DISP_EXIT_LOCKED;
				goto out;
			}
		}
		d.iter++;
		d.iter_t0 = t0;
		d.failed = 0;
		if (disp_iterate(&d) != 0 && !loop) {
			fprintf(stderr, "st-dispatch: the pass failed: %s\n",
			    db_error(d.db));
			goto out;
		}
		if (d.dry_run)
			break;
		if (!loop) {
			/* --once: finish what the pass started, in budget. */
			run_until(&d, t0 + (long long)d.conf.disp_pass_budget *
			    1000, 1);
			if (!stop_requested)
				disp_pass_end(&d);
			pull_detach_all(&d);
			logs_flush_all(&d);
			if (d.failed) {
				fprintf(stderr, "st-dispatch: the pass failed: "
				    "%s\n", db_error(d.db));
				goto out;
			}
			break;
		}
next:
		if (!loop || stop_requested)
			break;
		run_until(&d, t0 + (long long)loop_s * 1000, 0);
		if (stop_requested)
			break;
	}
	rc = DISP_EXIT_OK;
out:
	if (d.el != NULL) {
		disp_shutdown(&d);
		eloop_free(d.el);
	}
	OPENSSL_cleanse(d.seal_key, sizeof(d.seal_key));
	db_free(d.db);
	curl_global_cleanup();
	if (conf_loaded)
		conf_free(&d.conf);
	return rc;
}

/*
 * admin-host.c: `st-admin host ...`: the Docker hosts the dispatcher places
 * jobs on (DESIGN, "The dispatcher").
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "db.h"
#include "util.h"

#define HOST_MAX_CPUS		"1000000"
#define HOST_MAX_RAM_GB		"100000000"
#define HOST_MAX_GPUS		1024
#define ENDPOINT_MAX		1024

/* Jobs that hold resources of their host (the host cannot be removed). */
#define ACTIVE_STATES \
	"('PENDING', 'PROCESSING', 'PROCESSED', 'UPLOADING')"

/* See admin.h. */
void
admin_host_usage(FILE *f)
{
	fputs(
"usage: st-admin host add NAME --endpoint URL --cpus N --ram-gb N [--gpus N]\n"
"           [--gpu-runtime nvidia|env] [--tls-ca FILE --tls-cert FILE\n"
"           --tls-key FILE]\n"
"       st-admin host list\n"
"       st-admin host drain NAME\n"
"       st-admin host enable NAME\n"
"       st-admin host remove NAME\n"
"\n"
"URL is unix:///path/to/docker.sock or tcp://HOST:PORT; a tcp endpoint\n"
"takes the three TLS files together (or none). --cpus and --ram-gb are\n"
"positive numbers with at most 3 decimals; --gpus is a whole number\n"
"(default 0); --gpu-runtime is nvidia (default) or env. A draining host\n"
"gets no new job; a host is removed only when no job is placed on it.\n", f);
}

/*
 * Check a positive decimal "D+[.D{1,3}]" not above max (a decimal
 * string). Returns 0 or -1.
 */
static int
check_decimal(const char *s, const char *max)
{
	size_t	 nd, nf = 0;
	char	*end;
	double	 v;

	nd = strspn(s, "0123456789");
	if (nd == 0)
		return -1;
	if (s[nd] == '.') {
		nf = strspn(s + nd + 1, "0123456789");
		if (nf == 0 || nf > 3)
			return -1;
		nd += 1 + nf;
	}
	if (s[nd] != '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v > 0) || v > strtod(max, NULL))
		return -1;
	return 0;
}

/*
 * Check a Docker endpoint: "unix://" and an absolute path, or "tcp://"
 * HOST ":" PORT (HOST a name, IPv4 address or [IPv6]). *is_tcp is set.
 * Returns 0 or -1.
 */
static int
check_endpoint(const char *s, int *is_tcp)
{
	const char		*host, *colon;
	unsigned long long	 port;
	size_t			 i, hostlen;

	if (strlen(s) > ENDPOINT_MAX)
		return -1;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return -1;
	if (strncmp(s, "unix://", 7) == 0) {
		*is_tcp = 0;
		return s[7] == '/' && s[8] != '\0' ? 0 : -1;
	}
	if (strncmp(s, "tcp://", 6) != 0)
		return -1;
	*is_tcp = 1;
	host = s + 6;
	if ((colon = strrchr(host, ':')) == NULL)
		return -1;
	hostlen = (size_t)(colon - host);
	if (hostlen == 0)
		return -1;
	if (host[0] == '[') {
		if (hostlen < 3 || host[hostlen - 1] != ']')
			return -1;
		for (i = 1; i + 1 < hostlen; i++)
			if (strchr("0123456789abcdefABCDEF:.", host[i]) == NULL)
				return -1;
	} else {
		for (i = 0; i < hostlen; i++)
			if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789.-",
			    host[i]) == NULL)
				return -1;
	}
	if (util_parse_u64(colon + 1, 65535, &port) != 0 || port == 0)
		return -1;
	return 0;
}

/* "8.000" -> "8", "0.500" -> "0.5" (a DECIMAL column for display). */
static void
trim_decimal(const char *s, char *out, size_t outlen)
{
	size_t	 n;

	snprintf(out, outlen, "%s", s != NULL ? s : "-");
	if (strchr(out, '.') == NULL)
		return;
	n = strlen(out);
	while (n > 0 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
}

/*
 * host add: parse and check every option, then insert. TLS file names are
 * stored as absolute paths (the dispatcher runs from another directory).
 */
static int
host_add(struct admin *a, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "endpoint",	 required_argument, NULL, 'e' },
		{ "cpus",	 required_argument, NULL, 'c' },
		{ "ram-gb",	 required_argument, NULL, 'r' },
		{ "gpus",	 required_argument, NULL, 'g' },
		{ "gpu-runtime", required_argument, NULL, 'R' },
		{ "tls-ca",	 required_argument, NULL, 'A' },
		{ "tls-cert",	 required_argument, NULL, 'C' },
		{ "tls-key",	 required_argument, NULL, 'K' },
		{ NULL,		 0,		    NULL, 0 },
	};
	const char	*endpoint = NULL, *cpus = NULL, *ram = NULL;
	const char	*gpus = "0", *runtime = "nvidia", *name;
	const char	*tls[3] = { NULL, NULL, NULL };
	static const char *const tlsopt[3] = { "--tls-ca", "--tls-cert",
	    "--tls-key" };
	char		*tlsabs[3] = { NULL, NULL, NULL };
	unsigned long long ngpus;
	int		 ch, is_tcp = 0, ntls = 0, i, rc = ADMIN_FAIL, dbrc;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e': endpoint = optarg; break;
		case 'c': cpus = optarg; break;
		case 'r': ram = optarg; break;
		case 'g': gpus = optarg; break;
		case 'R': runtime = optarg; break;
		case 'A': tls[0] = optarg; break;
		case 'C': tls[1] = optarg; break;
		case 'K': tls[2] = optarg; break;
		default:
			if (optopt != 0 && strchr("ecrgRACK", optopt) != NULL)
				return admin_usage_error(admin_host_usage,
				    "host add: option `%s' needs a value",
				    argv[optind - 1]);
			return admin_usage_error(admin_host_usage,
			    "host add: unknown option `%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return admin_usage_error(admin_host_usage,
		    "host add needs exactly one NAME");
	name = argv[optind];

	if (admin_check_name(name) != 0)
		return admin_usage_error(admin_host_usage, "invalid host name "
		    "`%s' (1-64 of A-Z a-z 0-9 _ . -)", name);
	if (endpoint == NULL)
		return admin_usage_error(admin_host_usage,
		    "host add: --endpoint is required");
	if (check_endpoint(endpoint, &is_tcp) != 0)
		return admin_usage_error(admin_host_usage, "invalid endpoint "
		    "`%s' (unix:///PATH or tcp://HOST:PORT)", endpoint);
	if (cpus == NULL || check_decimal(cpus, HOST_MAX_CPUS) != 0)
		return admin_usage_error(admin_host_usage, "--cpus needs a "
		    "number > 0 with at most 3 decimals");
	if (ram == NULL || check_decimal(ram, HOST_MAX_RAM_GB) != 0)
		return admin_usage_error(admin_host_usage, "--ram-gb needs a "
		    "number > 0 with at most 3 decimals");
	if (util_parse_u64(gpus, HOST_MAX_GPUS, &ngpus) != 0)
		return admin_usage_error(admin_host_usage, "--gpus needs a "
		    "whole number from 0 to %d", HOST_MAX_GPUS);
	if (strcmp(runtime, "nvidia") != 0 && strcmp(runtime, "env") != 0)
		return admin_usage_error(admin_host_usage, "--gpu-runtime is "
		    "nvidia or env, not `%s'", runtime);
	for (i = 0; i < 3; i++)
		ntls += tls[i] != NULL;
	if (ntls > 0 && !is_tcp)
		return admin_usage_error(admin_host_usage, "TLS files apply "
		    "to tcp:// endpoints only");
	if (ntls > 0 && ntls < 3) {
		for (i = 0; tls[i] != NULL; i++)
			continue;
		return admin_usage_error(admin_host_usage, "--tls-ca, "
		    "--tls-cert and --tls-key go together (%s is missing)",
		    tlsopt[i]);
	}
	for (i = 0; i < ntls; i++)
		if ((tlsabs[i] = realpath(tls[i], NULL)) == NULL) {
			admin_warnx("%s %s: %s", tlsopt[i], tls[i],
			    strerror(errno));
			goto out;
		}
	if (is_tcp && ntls == 0)
		admin_warnx("warning: %s is reached without TLS", endpoint);

	if (admin_open(a) != 0)
		goto out;
	dbrc = db_exec(a->db, "INSERT INTO hosts (name, endpoint, tls_ca, "
	    "tls_cert, tls_key, cpus, gpus, ram_gb, gpu_runtime) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    DB_ARGS(DB_STR(name), DB_STR(endpoint), DB_STR(tlsabs[0]),
	    DB_STR(tlsabs[1]), DB_STR(tlsabs[2]), DB_STR(cpus),
	    DB_INT(ngpus), DB_STR(ram), DB_STR(runtime)), NULL, NULL);
	if (dbrc == DB_DUPLICATE) {
		admin_warnx("host `%s' already exists", name);
		goto out;
	}
	if (dbrc != DB_OK) {
		admin_db_fail(a, "adding the host");
		goto out;
	}
	printf("host %s added\n", name);
	rc = ADMIN_OK;
out:
	for (i = 0; i < 3; i++)
		free(tlsabs[i]);
	return rc;
}

/* host list: one aligned row per host, by name, with its active jobs. */
static int
host_list(struct admin *a)
{
	struct admin_table	 t;
	struct db_res		*r = NULL;
	char			 cpus[32], ram[32], seen[20];
	size_t			 i;

	if (admin_open(a) != 0)
		return ADMIN_FAIL;
	if (db_query(a->db, "SELECT h.name, h.state, h.cpus, h.gpus, "
	    "h.ram_gb, h.gpu_runtime, (SELECT COUNT(*) FROM jobs j "
	    "WHERE j.host_id = h.id AND j.status IN " ACTIVE_STATES "), "
	    "h.last_seen_at, h.endpoint FROM hosts h ORDER BY h.name",
	    DB_NOARGS, &r) != DB_OK)
		return admin_db_fail(a, "listing the hosts");
	admin_table_init(&t, "NAME", "STATE", "CPUS", "GPUS", "RAM_GB",
	    "RUNTIME", "JOBS", "LAST_SEEN", "ENDPOINT", NULL);
	for (i = 0; i < r->nrows; i++) {
		trim_decimal(db_res_str(r, i, 2), cpus, sizeof(cpus));
		trim_decimal(db_res_str(r, i, 4), ram, sizeof(ram));
		if (util_db_time_to_iso(db_res_str(r, i, 7), seen) != 0)
			snprintf(seen, sizeof(seen), "never");
		admin_table_add(&t, db_res_str(r, i, 0), db_res_str(r, i, 1),
		    cpus, db_res_str(r, i, 3), ram, db_res_str(r, i, 5),
		    db_res_str(r, i, 6), seen, db_res_str(r, i, 8));
	}
	admin_table_print(&t);
	admin_table_free(&t);
	db_res_free(r);
	return ADMIN_OK;
}

/* host drain|enable NAME: set the state. */
static int
host_set_state(struct admin *a, const char *name, const char *state)
{
	struct db_res	*r = NULL;
	int		 rc = ADMIN_FAIL;

	if (admin_open(a) != 0)
		return ADMIN_FAIL;
	if (db_query(a->db, "SELECT state FROM hosts WHERE name = ?",
	    DB_ARGS(DB_STR(name)), &r) != DB_OK)
		return admin_db_fail(a, "looking up the host");
	if (r->nrows == 0) {
		admin_warnx("no host named `%s'", name);
		goto out;
	}
	if (strcmp(db_res_str(r, 0, 0), state) == 0) {
		printf("host %s is already %s\n", name, state);
		rc = ADMIN_OK;
		goto out;
	}
	if (db_exec(a->db, "UPDATE hosts SET state = ? WHERE name = ?",
	    DB_ARGS(DB_STR(state), DB_STR(name)), NULL, NULL) != DB_OK) {
		admin_db_fail(a, "updating the host");
		goto out;
	}
	printf("host %s is now %s\n", name, state);
	rc = ADMIN_OK;
out:
	db_res_free(r);
	return rc;
}

/*
 * host remove NAME: refused while a job holds resources on the host. The
 * finished jobs that ran there keep their results and lose the link to the
 * host. One transaction, the host row locked, so the dispatcher cannot
 * place a job on it meanwhile.
 */
static int
host_remove(struct admin *a, const char *name)
{
	struct db_res	*r = NULL;
	long long	 id, busy;
	int		 rc = ADMIN_FAIL;

	if (admin_open(a) != 0)
		return ADMIN_FAIL;
	if (db_begin(a->db) != DB_OK)
		return admin_db_fail(a, "starting a transaction");
	if (db_query(a->db, "SELECT id FROM hosts WHERE name = ? FOR UPDATE",
	    DB_ARGS(DB_STR(name)), &r) != DB_OK) {
		admin_db_fail(a, "looking up the host");
		goto out;
	}
	if (r->nrows == 0) {
		admin_warnx("no host named `%s'", name);
		goto out;
	}
	id = db_res_int(r, 0, 0);
	db_res_free(r);
	r = NULL;
	if (db_query(a->db, "SELECT COUNT(*) FROM jobs WHERE host_id = ? "
	    "AND status IN " ACTIVE_STATES, DB_ARGS(DB_INT(id)), &r)
	    != DB_OK) {
		admin_db_fail(a, "counting the host's jobs");
		goto out;
	}
	if ((busy = db_res_int(r, 0, 0)) > 0) {
		admin_warnx("host `%s' still has %lld job%s placed on it; "
		    "drain it and wait until they finish", name, busy,
		    busy == 1 ? "" : "s");
		goto out;
	}
	if (db_exec(a->db, "UPDATE jobs SET host_id = NULL WHERE host_id = ?",
	    DB_ARGS(DB_INT(id)), NULL, NULL) != DB_OK ||
	    db_exec(a->db, "DELETE FROM hosts WHERE id = ?",
	    DB_ARGS(DB_INT(id)), NULL, NULL) != DB_OK) {
		admin_db_fail(a, "removing the host");
		goto out;
	}
	if (db_commit(a->db) != DB_OK) {
		admin_db_fail(a, "removing the host");
		goto out;
	}
	printf("host %s removed\n", name);
	rc = ADMIN_OK;
out:
	if (db_in_transaction(a->db))
		db_rollback(a->db);
	db_res_free(r);
	return rc;
}

/*
 * st-admin host add|list|drain|enable|remove.
 */
int
admin_host(struct admin *a, int argc, char **argv)
{
	if (argc < 2)
		return admin_usage_error(admin_host_usage,
		    "%s: missing subcommand", argv[0]);
	if (strcmp(argv[1], "add") == 0)
		return host_add(a, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0) {
		if (argc != 2)
			return admin_usage_error(admin_host_usage,
			    "unexpected argument `%s'", argv[2]);
		return host_list(a);
	}
	if (strcmp(argv[1], "drain") != 0 && strcmp(argv[1], "enable") != 0 &&
	    strcmp(argv[1], "remove") != 0)
		return admin_usage_error(admin_host_usage,
		    "unknown host subcommand `%s'", argv[1]);
	if (argc != 3)
		return admin_usage_error(admin_host_usage,
		    "host %s needs exactly one NAME", argv[1]);
	if (admin_check_name(argv[2]) != 0)
		return admin_usage_error(admin_host_usage,
		    "invalid host name `%s'", argv[2]);
	if (strcmp(argv[1], "remove") == 0)
		return host_remove(a, argv[2]);
	return host_set_state(a, argv[2],
	    strcmp(argv[1], "drain") == 0 ? "draining" : "active");
}

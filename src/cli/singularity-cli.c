/*
 * singularity-cli: the command-line client of the Singularity API (DESIGN,
 * "Command-line client"; man page singularity-cli.1).
 *
 *   singularity-cli [global options] COMMAND [SUBCOMMAND] [options] [operands]
 *
 * Global options may stand anywhere; each command parses its own with
 * getopt_long (options may follow operands). The command table below is
 * also the source of every --help text.
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"
#include "util.h"

struct cmd {
	const char	*name;		/* "batch create" */
	int		(*fn)(struct cli *, int, char **);
	const char	*usage;		/* after the name */
	const char	*help;		/* what it does, its options */
};

static const struct cmd cmds[] = {
	{ "ping", cli_cmd_ping, "",
	  "Check that the API answers (GET /ping). Needs no credentials, only\n"
	  "api_url (and ca_file for a private CA).\n" },
	{ "whoami", cli_cmd_whoami, "",
	  "Show the account the credentials belong to (GET /account): the\n"
	  "cheapest check of api_key and secret.\n" },
	{ "batch create", cli_cmd_batch_create,
	  "--from-file F --cpus N [--gpus N] --mode pilot|production\n"
	  "    [--auto-promote K]",
	  "Submit a batch of training jobs (POST /batch). F is a JSON array of\n"
	  "jobs, each {\"command\", \"image\", \"image_tag\", \"data_set_id\",\n"
	  "\"env\"}; data_set_id is a data set's name or UUID, or a pilot's\n"
	  "UUID. F may also be an object {\"jobs\": [...]} with \"objective\",\n"
	  "\"retry\" and \"auto_promote\", which are sent as they are.\n"
	  "  --from-file F   the jobs\n"
	  "  --cpus N        CPUs per job, above 0, fractions allowed\n"
	  "  --gpus N        whole GPUs per job (default 0)\n"
	  "  --mode M        pilot (each job on a pilot sub-set) or production\n"
	  "  --auto-promote K  (pilot) rerun the K best configurations on the\n"
	  "                  whole data once every job is final\n"
	  "Prints the batch id. Exit 1 when some jobs were refused (the batch\n"
	  "holds the others), with the reason of each.\n" },
	{ "batch status", cli_cmd_batch_status, "[ID] [--limit N]",
	  "One batch with its jobs and their results, or a table of your\n"
	  "batches, newest first (GET /batch[/ID]).\n"
	  "  --limit N       at most N batches in the table (1..1000)\n" },
	{ "batch summary", cli_cmd_batch_summary, "[--since YYYY-MM-DD]",
	  "Every batch (created on or after the date) with its job counts,\n"
	  "and the totals. --json prints those batches as the server gave\n"
	  "them.\n" },
	{ "batch cancel", cli_cmd_batch_cancel, "ID",
	  "Cancel every job of the batch not yet finished (DELETE /batch/ID);\n"
	  "running containers are stopped by the dispatcher's next pass.\n" },
	{ "batch promote", cli_cmd_batch_promote,
	  "ID --top N [--data-set SET] [--partial]",
	  "Rerun the N best configurations of a pilot batch, by its objective,\n"
	  "in a new production batch on the whole data (POST\n"
	  "/batch/ID/promote): each job on the parent data set of its pilot\n"
	  "sub-set, or on SET (a data set's name or UUID).\n"
	  "  --top N         how many configurations (1..1000)\n"
	  "  --data-set SET  run them all on this data set\n"
	  "  --partial       promote before every pilot job is final\n"
	  "Prints the new batch and, per job, the pilot job it reruns.\n" },
	{ "batch wait", cli_cmd_batch_wait,
	  "ID [--timeout S] [--interval S]",
	  "Wait until every job of the batch is final (COMPLETED, ERRORED or\n"
	  "CANCELED), polling every --interval seconds (default 2). Exit 0\n"
	  "when all COMPLETED, 1 otherwise or after --timeout seconds.\n" },
	{ "job status", cli_cmd_job_status, "[ID] [--limit N]",
	  "One job in detail, or a table of your jobs (GET /job[/ID]).\n"
	  "  --limit N       at most N jobs in the table (1..1000)\n" },
	{ "job cancel", cli_cmd_job_cancel, "ID",
	  "Cancel one job that is not finished (DELETE /job/ID).\n" },
	{ "job log", cli_cmd_job_log, "ID [--attempt N] [--follow] [--interval S]",
	  "The log (stdout and stderr) of the job's current attempt, or of\n"
	  "attempt N, as the server keeps it: whole up to its size limit, then\n"
	  "its head, a marker line and its tail (GET /job/ID/log).\n"
	  "  --attempt N     the log of attempt N (1 is the first)\n"
	  "  --follow        then print new bytes as they come (Range requests)\n"
	  "                  until the job is final, following its later\n"
	  "                  attempts too; a note on stderr tells the bytes a\n"
	  "                  long log dropped\n"
	  "  --interval S    seconds between polls with --follow (default 1)\n" },
	{ "dataset add", cli_cmd_dataset_add,
	  "NAME DIR [--pilot-count N] [--imprint PATH] [--parallel N]\n"
	  "    [--limit-rate BYTES]",
	  "Pack the regular files under DIR into zip shards of at most 10 MiB\n"
	  "and upload them to the data set NAME, creating it (with N pilot\n"
	  "sub-sets) when it does not exist. An imprint file remembers which\n"
	  "file went into which shard: run again after changing the folder and\n"
	  "only the shards whose files changed (and new files) are sent, the\n"
	  "shards that no longer match are deleted; an interrupted run resumes.\n"
	  "  --pilot-count N  pilots to create with the set (0..256); needed\n"
	  "                   when the set does not exist yet\n"
	  "  --imprint PATH   the imprint file (default DIR/"
	  CLI_IMPRINT_NAME ")\n"
	  "  --parallel N     uploads at once (default 4)\n"
	  "  --limit-rate B   at most B bytes per second per upload\n" },
	{ "dataset summary", cli_cmd_dataset_summary, "NAME",
	  "A data set (by name or UUID) with its shards and pilots.\n" },
	{ "dataset list", cli_cmd_dataset_list, "",
	  "Your data sets.\n" },
	{ "model download", cli_cmd_model_download,
	  "[BATCH] JOB --download-path P",
	  "Download the model zip a job wrote (GET /model/[BATCH/]JOB) to P,\n"
	  "or to P/JOB.zip when P is a folder. The file appears only complete,\n"
	  "its SHA-256 checked against the server's.\n" },
	{ "registry add", cli_cmd_registry_add,
	  "SERVER --username U --password-stdin",
	  "Keep your credentials for a private Docker registry (POST\n"
	  "/account/registries): the dispatcher pulls your jobs' images from\n"
	  "SERVER with them. SERVER is the registry's host name or address with\n"
	  "an optional :port, as in the image reference (registry.example.com,\n"
	  "localhost:5000; docker.io for Docker Hub). Adding SERVER again\n"
	  "replaces its username and password.\n"
	  "  --username U      the registry account\n"
	  "  --password-stdin  read the password (or token) from standard\n"
	  "                    input, one final newline taken off; it is never\n"
	  "                    taken from the command line\n"
	  "The server keeps the password sealed and never shows it again.\n" },
	{ "registry list", cli_cmd_registry_list, "",
	  "The registries you keep credentials for, with their usernames\n"
	  "(GET /account/registries); passwords are never shown.\n" },
	{ "registry remove", cli_cmd_registry_remove, "SERVER",
	  "Forget your credentials for SERVER (DELETE\n"
	  "/account/registries/SERVER).\n" },
	{ "leaderboard", cli_cmd_leaderboard,
	  "BATCH [--metric KEY] [--top N] [--ascending]",
	  "The batch's jobs ranked by a number in their result, best first.\n"
	  "  --metric KEY    the result's key (default fitness_score; a.b for\n"
	  "                  nested objects)\n"
	  "  --top N         only the first N\n"
	  "  --ascending     lowest first (for a loss)\n"
	  "--json prints the ranked jobs as the server gave them.\n" },
};

static const char global_help[] =
    "Global options (anywhere on the line):\n"
    "  --api-key KEY    override api_key of the config file\n"
    "  --secret SECRET  override secret\n"
    "  --api-url URL    override api_url (default " CLI_DEFAULT_URL ")\n"
    "  --cacert FILE    trust this CA for the API's certificate (ca_file)\n"
    "  --json           print the server's JSON answer unchanged\n"
    "  --verbose        name each request and its request id on stderr\n"
    "  --help           help of the command\n"
    "Configuration: $SINGULARITY_CONFIG_PATH/config.json or\n"
    "~/.singularity/config.json: {\"api_key\", \"secret\", \"api_url\", \"ca_file\"}.\n"
    "Exit: 0 ok, 1 refused or failed, 2 usage or configuration, 3 not\n"
    "authorised (401), 4 not found (404), 5 server error or unreachable.\n";

static const struct cmd *
find_cmd(const char *name)
{
	size_t	 i;

	for (i = 0; i < NITEMS(cmds); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

/* The command list, for the overview and a group's help. */
static void
list_cmds(FILE *f, const char *group)
{
	size_t	 i, n = group != NULL ? strlen(group) : 0;

	for (i = 0; i < NITEMS(cmds); i++)
		if (group == NULL || (strncmp(cmds[i].name, group, n) == 0 &&
		    cmds[i].name[n] == ' '))
			fprintf(f, "  singularity-cli %s%s%s\n", cmds[i].name,
			    cmds[i].usage[0] != '\0' ? " " : "", cmds[i].usage);
}

static void
overview(FILE *f)
{

	fprintf(f, "usage: singularity-cli [global options] COMMAND ...\n\n");
	list_cmds(f, NULL);
	fprintf(f, "\n%s\nsingularity-cli COMMAND --help tells more; "
	    "man singularity-cli.\n", global_help);
}

static void
cmd_help(const struct cmd *c)
{

	printf("usage: singularity-cli %s%s%s\n\n%s\n%s", c->name,
	    c->usage[0] != '\0' ? " " : "", c->usage, c->help, global_help);
}

/* Print a usage error for cmd and return CLI_USAGE (see cli.h). */
int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	const struct cmd	*c = find_cmd(cmd);
	va_list			 ap;

	fprintf(stderr, "singularity-cli %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c != NULL)
		fprintf(stderr, "usage: singularity-cli %s%s%s\n", c->name,
		    c->usage[0] != '\0' ? " " : "", c->usage);
	fprintf(stderr, "(singularity-cli %s --help)\n", cmd);
	return CLI_USAGE;
}

/*
 * Parse the command's options (see cli.h): long options only; take()
 * receives each one's val and argument. Returns the index of the first
 * operand, or -1 after a usage error.
 */
int
cli_getopt(const char *cmd, int argc, char **argv, const struct option *opts,
    int (*take)(void *, int, const char *), void *arg)
{
	int	 c;

	optind = 0;	/* GNU: start afresh */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (c == '?') {
			cli_usage_error(cmd, "unknown option %s",
			    argv[optind - 1]);
			return -1;
		}
		if (c == ':') {
			cli_usage_error(cmd, "%s needs a value",
			    argv[optind - 1]);
			return -1;
		}
		if (take(arg, c, optarg) != 0)
			return -1;
	}
	return optind;
}

/*
 * Take the global options out of argv (anywhere before a "--"), leaving
 * the rest in order in *rest. Returns 0, or CLI_USAGE (printed).
 */
static int
globals(struct cli *cli, int argc, char **argv, int *help, int *version,
    char ***rest, int *nrest)
{
	static const struct {
		const char	*name;
		size_t		 field;	/* offset in struct cli_conf */
	} valued[] = {
		{ "--api-key", offsetof(struct cli_conf, api_key) },
		{ "--secret", offsetof(struct cli_conf, secret) },
		{ "--api-url", offsetof(struct cli_conf, api_url) },
		{ "--cacert", offsetof(struct cli_conf, ca_file) },
	};
	char	**out, **field;
	const char *a, *eq, *v;
	size_t	 k, n;
	int	 i, m = 0, dashdash = 0;

	out = xcalloc((size_t)argc + 1, sizeof(char *));
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (dashdash || a[0] != '-') {
			out[m++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = 1;
			out[m++] = argv[i];
			continue;
		}
		if (strcmp(a, "--json") == 0) {
			cli->json = 1;
			continue;
		}
		if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
			cli->verbose = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			*help = 1;
			continue;
		}
		if (strcmp(a, "--version") == 0) {
			*version = 1;
			continue;
		}
		for (k = 0; k < NITEMS(valued); k++) {
			n = strlen(valued[k].name);
			if (strncmp(a, valued[k].name, n) != 0 ||
			    (a[n] != '\0' && a[n] != '='))
				continue;
			eq = a[n] == '=' ? a + n + 1 : NULL;
			if (eq == NULL && i + 1 >= argc) {
				fprintf(stderr, "singularity-cli: %s needs a "
				    "value\n", valued[k].name);
				free(out);
				return CLI_USAGE;
			}
			v = eq != NULL ? eq : argv[++i];
			field = (char **)((char *)&cli->flags + valued[k].field);
			free(*field);
			*field = xstrdup(v);
			break;
		}
		if (k == NITEMS(valued))
			out[m++] = argv[i];
	}
	*rest = out;
	*nrest = m;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct cli		 cli;
	const struct cmd	*c = NULL;
	char			**rest = NULL, *name = NULL, **cargv = NULL;
	int			 help = 0, version = 0, nrest = 0, used, rc, i;
	static const char *const groups[] = { "batch", "job", "dataset",
	    "model", "registry" };
	size_t			 g;

	memset(&cli, 0, sizeof(cli));
	cli.tty = isatty(STDERR_FILENO);
	if (globals(&cli, argc, argv, &help, &version, &rest, &nrest) != 0) {
		cli_free(&cli);
		return CLI_USAGE;
	}
	if (version) {
		printf("singularity-cli %s\n", ST_VERSION);
		rc = CLI_OK;
		goto out;
	}
	if (nrest == 0) {
		overview(help ? stdout : stderr);
		rc = help ? CLI_OK : CLI_USAGE;
		goto out;
	}
	if (strcmp(rest[0], "help") == 0) {
		overview(stdout);
		rc = CLI_OK;
		goto out;
	}
	for (g = 0; g < NITEMS(groups); g++)
		if (strcmp(rest[0], groups[g]) == 0)
			break;
	if (g < NITEMS(groups)) {
		if (nrest < 2 || rest[1][0] == '-') {
			if (!help)
				fprintf(stderr, "singularity-cli %s: which "
				    "one?\n", rest[0]);
			fprintf(help ? stdout : stderr, "usage:\n");
			list_cmds(help ? stdout : stderr, rest[0]);
			rc = help ? CLI_OK : CLI_USAGE;
			goto out;
		}
		name = xasprintf("%s %s", rest[0], rest[1]);
		used = 2;
	} else {
		name = xstrdup(rest[0]);
		used = 1;
	}
	if ((c = find_cmd(name)) == NULL) {
		fprintf(stderr, "singularity-cli: unknown command \"%s\"\n\n",
		    name);
		overview(stderr);
		rc = CLI_USAGE;
		goto out;
	}
	if (help) {
		cmd_help(c);
		rc = CLI_OK;
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* The command's own argv: its name, then what follows it. */
	cargv = xcalloc((size_t)(nrest - used) + 2, sizeof(char *));
	cargv[0] = name;
	for (i = used; i < nrest; i++)
		cargv[i - used + 1] = rest[i];
	rc = c->fn(&cli, nrest - used + 1, cargv);
	curl_global_cleanup();
out:
	fflush(stdout);
	if (ferror(stdout) && rc == CLI_OK) {
		fprintf(stderr, "singularity-cli: cannot write the output\n");
		rc = CLI_OTHER;
	}
	free(cargv);
	free(name);
	free(rest);
	cli_free(&cli);
	return rc;
}

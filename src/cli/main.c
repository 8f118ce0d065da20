/*
 * main.c - the sealroom command: dispatch to the commands in src/cli/.
 *
 * Git's habits (DESIGN §12): global options (--home, --node, --token,
 * --json, --quiet) work before the command as after it, by moving them
 * behind the command's own arguments, where its parser takes them; and
 * --help on any subcommand prints that subcommand's help from the
 * command table (cli/help.h) before its parser sees the arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/db.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/help.h"
#include "crypto/crypto.h"
#include "net/http.h"
#include "base/banned.h"

static const char main_usage[] =
	"usage: sealroom <command> [options]\n"
	"\n"
	"sealroom lets several organizations compute on their combined data while\n"
	"each keeps its raw data and its keys inside its own network.\n"
	"\n"
	"commands:\n"
	"  init       create a node home: master key, identity, dataset store\n"
	"  id         print this node's organization id and public keys\n"
	"  coordinator  run the coordinator (signed project event logs)\n"
	"  node         run this organization's node (follows projects, runs jobs)\n"
	"  executor     run an attested TEE executor (a node that runs tee jobs)\n"
	"  project    create, join and inspect projects (through the node)\n"
	"  dataset    import, list, show, export, verify, remove and publish datasets\n"
	"  policy     write a starter policy for a data file (policy init)\n"
	"  job        propose, approve, follow jobs and read their results\n"
	"  ledger     verify and read a project's signed event log\n"
	"  model      list and show the model parts kept here (train jobs)\n"
	"  demo       run the whole story in a temporary directory\n"
	"  psi        private set intersection with another organization\n"
	"  query      propose a federated SQL query job (see also job explain)\n"
	"  token      API tokens with roles (admin, steward, analyst)\n"
	"  completion print a shell completion script (bash)\n"
	"  version    print the version\n"
	"\n"
	"global options, before or after the command: --home DIR, --node URL,\n"
	"--token T, --json, --quiet.\n"
	"Run 'sealroom <command> --help' or 'sealroom <command> <subcommand> --help'\n"
	"for the options of a command.\n"
	"Environment: SEALROOM_HOME (node home), SEALROOM_PASSPHRASE,\n"
	"SEALROOM_NODE (node URL), SEALROOM_TOKEN (API token),\n"
	"SEALROOM_LOG (error|warn|info|debug), SEALROOM_PROGRESS=0.\n";

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
	{ "init", sr_cmd_init },
	{ "id", sr_cmd_id },
	{ "dataset", sr_cmd_dataset },
	{ "policy", sr_cmd_policy },
	{ "demo", sr_cmd_demo },
	{ "psi", sr_cmd_psi },
	{ "query", sr_cmd_query },
	{ "token", sr_cmd_token },
	{ "coordinator", sr_cmd_coordinator },
	{ "node", sr_cmd_node },
	{ "executor", sr_cmd_executor },
	{ "project", sr_cmd_project },
	{ "job", sr_cmd_job },
	{ "ledger", sr_cmd_ledger },
	{ "model", sr_cmd_model },
	{ "completion", sr_cmd_completion },
};

/* A global option at argv[i] ("--home X", "--home=X", "--json"): its
 * entry and how many words it takes, or NULL. */
static const struct sr_help_global *global_at(char **argv, int argc, int i,
					      int *words)
{
	const char *a = argv[i], *eq;
	const struct sr_help_global *g;

	if (strcmp(a, "-q") == 0)
		a = "--quiet";
	if (strncmp(a, "--", 2) != 0)
		return NULL;
	eq = strchr(a, '=');
	g = sr_help_global(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
	if (!g || (eq && !g->has_value))
		return NULL;
	*words = g->has_value && !eq ? 2 : 1;
	return *words <= argc - i ? g : NULL;
}

/*
 * --help anywhere after a subcommand (and not as an option's value):
 * print its entry.  Returns 1 when printed.
 */
static int subcommand_help(int argc, char **argv)
{
	const struct sr_help_entry *e;
	const char *verb = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;

	if (!sr_help_has_verbs(argv[0]) || !verb)
		return 0;
	e = sr_help_find(argv[0], verb);
	if (!e)
		return 0;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		int words;

		if (strcmp(a, "--") == 0)
			return 0;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			sr_help_print(e);
			return 1;
		}
		/* Skip the value of an option that takes one. */
		if (global_at(argv, argc, i, &words)) {
			i += words - 1;
		} else if (strncmp(a, "--", 2) == 0 && !strchr(a, '=')) {
			const char *p = strstr(e->options, a);
			size_t n = strlen(a);
			if (p && p[n] == '=')
				i++;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	char **args = NULL;
	int first = 1, cmd, nglobal = 0, code;

	sr_log_init_from_env();
	sr_alloc_setup_json();
#ifdef SR_TEST_BUILD
	/* sealroom-test only: SQLite writes fail as the file says (base/db.h). */
	sr_db_fault_file(getenv("SEALROOM_TEST_DB_FAULT"));
#endif
	if (sr_crypto_init() != SR_OK || sr_http_global_init() != SR_OK) {
		fprintf(stderr, "sealroom: cannot initialize libsodium or libcurl\n");
		return SR_EXIT_INTERNAL;
	}
	/* Global options before the command. */
	while (first < argc) {
		int words;
		const struct sr_help_global *g = global_at(argv, argc, first, &words);
		if (!g)
			break;
		nglobal += words;
		first += words;
	}
	if (first >= argc) {
		fputs(main_usage, stderr);
		return SR_EXIT_USAGE;
	}
	cmd = first;
	if (strcmp(argv[cmd], "--help") == 0 || strcmp(argv[cmd], "-h") == 0 ||
	    strcmp(argv[cmd], "help") == 0) {
		fputs(main_usage, stdout);
		return SR_EXIT_OK;
	}
	if (strcmp(argv[cmd], "version") == 0 ||
	    strcmp(argv[cmd], "--version") == 0) {
		printf("sealroom %s\n", SR_VERSION);
		return SR_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++) {
		int n = 0, dashdash;

		if (strcmp(argv[cmd], commands[i].name) != 0)
			continue;
		if (subcommand_help(argc - cmd, argv + cmd))
			return SR_EXIT_OK;
		if (!nglobal)
			return commands[i].fn(argc - cmd, argv + cmd);
		/* What the command accepts: the union over its entries. */
		{
			size_t count;
			unsigned accepted = 0;
			const struct sr_help_entry *all = sr_help_entries(&count);
			for (size_t k = 0; k < count; k++)
				if (strcmp(all[k].noun, argv[cmd]) == 0)
					accepted |= all[k].globals;
			for (int k = 1; k < cmd; k++) {
				int words;
				const struct sr_help_global *g = global_at(argv, argc, k, &words);
				if (g && !(g->bit & accepted)) {
					fprintf(stderr, "sealroom: --%s does not apply to '%s'\n"
						"see 'sealroom %s --help'\n", g->name,
						argv[cmd], argv[cmd]);
					return SR_EXIT_USAGE;
				}
				k += g ? words - 1 : 0;
			}
		}
		/* command, its arguments, then the global options (before a
		 * "--", after which everything is an operand). */
		args = sr_calloc((size_t)argc + 1, sizeof(*args));
		if (!args) {
			fprintf(stderr, "sealroom: out of memory\n");
			return SR_EXIT_INTERNAL;
		}
		for (dashdash = cmd + 1; dashdash < argc; dashdash++)
			if (strcmp(argv[dashdash], "--") == 0)
				break;
		for (int k = cmd; k < dashdash; k++)
			args[n++] = argv[k];
		for (int k = 1; k < cmd; k++)
			args[n++] = argv[k];
		for (int k = dashdash; k < argc; k++)
			args[n++] = argv[k];
		args[n] = NULL;
		code = commands[i].fn(n, args);
		sr_free(args);
		return code;
	}
	fprintf(stderr, "sealroom: unknown command '%s'\nsee 'sealroom --help'\n",
		argv[cmd]);
	return SR_EXIT_USAGE;
}

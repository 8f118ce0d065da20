/*
 * main.c - the sealroom command: dispatch to the commands in src/cli/.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "cli/cli.h"
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
	"  coordinator  run the coordinator (signed project event logs)\n"
	"  node         run this organization's node (follows projects, runs jobs)\n"
	"  project    create, join and inspect projects (through the node)\n"
	"  dataset    import, list, show, export, verify, remove and publish datasets\n"
	"  policy     write a starter policy for a data file (policy init)\n"
	"  job        propose, approve, follow jobs and read their results\n"
	"  ledger     verify and read a project's signed event log\n"
	"  demo       run the whole story in a temporary directory\n"
	"  psi        private set intersection with another organization\n"
	"  token      API tokens with roles (admin, steward, analyst)\n"
	"  version    print the version\n"
	"\n"
	"Run 'sealroom <command> --help' for the options of a command.\n"
	"Environment: SEALROOM_HOME (node home), SEALROOM_PASSPHRASE,\n"
	"SEALROOM_NODE (node URL), SEALROOM_TOKEN (API token),\n"
	"SEALROOM_LOG (error|warn|info|debug), SEALROOM_PROGRESS=0.\n";

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {
		{ "init", sr_cmd_init },
		{ "dataset", sr_cmd_dataset },
		{ "demo", sr_cmd_demo },
		{ "psi", sr_cmd_psi },
		{ "token", sr_cmd_token },
		{ "coordinator", sr_cmd_coordinator },
		{ "node", sr_cmd_node },
		{ "project", sr_cmd_project },
		{ "job", sr_cmd_job },
		{ "ledger", sr_cmd_ledger },
		{ "policy", sr_cmd_policy },
	};

	sr_log_init_from_env();
	sr_alloc_setup_json();
	if (sr_crypto_init() != SR_OK || sr_http_global_init() != SR_OK) {
		fprintf(stderr, "sealroom: cannot initialize libsodium or libcurl\n");
		return SR_EXIT_INTERNAL;
	}
	if (argc < 2) {
		fputs(main_usage, stderr);
		return SR_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(main_usage, stdout);
		return SR_EXIT_OK;
	}
	if (strcmp(argv[1], "version") == 0 ||
	    strcmp(argv[1], "--version") == 0) {
		printf("sealroom %s\n", SR_VERSION);
		return SR_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "sealroom: unknown command '%s'\nsee 'sealroom --help'\n",
		argv[1]);
	return SR_EXIT_USAGE;
}

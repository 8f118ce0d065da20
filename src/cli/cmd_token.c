/*
 * cmd_token.c - `sealroom token create|list|revoke`: API tokens of this
 * node, each with a role (admin, steward, analyst).
 */
#include <getopt.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "cli/cli.h"
#include "node/token.h"
#include "base/banned.h"

static const char token_usage[] =
	"usage: sealroom token <command> [options]\n"
	"\n"
	"API tokens people use to reach this node, each with a role:\n"
	"admin (runs the node), steward (owns data: policies, approvals),\n"
	"analyst (proposes jobs, receives results).\n"
	"\n"
	"commands:\n"
	"  create NAME --role ROLE [--json]   create a token; it is shown once\n"
	"  list [--json]                      list tokens (never their secrets)\n"
	"  revoke NAME|ID                     revoke a token\n"
	"\n"
	"options:\n"
	"  --home DIR    node home (default: $SEALROOM_HOME, then ~/.sealroom)\n";

int sr_cmd_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' },
		{ "role", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sr_cli cli = { 0 };
	struct sr_tokens *tokens = NULL;
	struct sr_token_info info, *list = NULL;
	struct sr_err err;
	const char *verb, *role_name = NULL;
	char token[SR_TOKEN_LEN + 1];
	enum sr_role role = SR_ROLE_ANALYST;
	size_t n = 0;
	int c, rc, npos;
	char **pos;

	sr_err_clear(&err);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(token_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? SR_EXIT_USAGE : SR_EXIT_OK;
	}
	verb = argv[1];
	optind = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': cli.home = optarg; break;
		case 'r': role_name = optarg; break;
		case 'j': cli.json = 1; break;
		case 'h': fputs(token_usage, stdout); return SR_EXIT_OK;
		default: return sr_cli_usage_error("token", "bad option");
		}
	}
	pos = argv + 1 + optind;
	npos = argc - 1 - optind;
	if (strcmp(verb, "create") == 0) {
		if (npos != 1)
			return sr_cli_usage_error("token", "create: expected NAME");
		if (!role_name)
			return sr_cli_usage_error("token", "create: --role is required (admin, steward or analyst)");
		if (sr_role_parse(role_name, &role) != SR_OK)
			return sr_cli_usage_error("token",
				"unknown role '%s' (expected admin, steward or analyst)",
				role_name);
	} else if (strcmp(verb, "list") == 0) {
		if (npos != 0)
			return sr_cli_usage_error("token", "list: unexpected argument '%s'", pos[0]);
	} else if (strcmp(verb, "revoke") == 0) {
		if (npos != 1)
			return sr_cli_usage_error("token", "revoke: expected NAME or ID");
	} else {
		return sr_cli_usage_error("token", "unknown command '%s'", verb);
	}
	rc = sr_cli_open_key(&cli, &err);
	if (rc == SR_OK)
		rc = sr_tokens_open(cli.home, &cli.mk, &tokens, &err);
	if (rc)
		goto out;
	if (strcmp(verb, "create") == 0) {
		rc = sr_tokens_create(tokens, pos[0], role, token, &info, &err);
		if (rc)
			goto out;
		if (cli.json)
			rc = sr_cli_print_json(json_pack("{s:s,s:s,s:s,s:s}",
				"name", info.name, "id", info.id, "role",
				sr_role_name(info.role), "token", token), &err);
		else
			printf("%s\n(token %s, role %s, id %s: shown once, store it safely)\n",
			       token, info.name, sr_role_name(info.role), info.id);
		sodium_memzero(token, sizeof(token));
	} else if (strcmp(verb, "list") == 0) {
		rc = sr_tokens_list(tokens, &list, &n, &err);
		if (rc)
			goto out;
		if (cli.json) {
			json_t *arr = json_array();
			for (size_t i = 0; arr && i < n; i++)
				if (json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:I,s:b}",
						"id", list[i].id, "name", list[i].name,
						"role", sr_role_name(list[i].role),
						"created", (json_int_t)list[i].created,
						"revoked", list[i].revoked))) {
					json_decref(arr);
					arr = NULL;
				}
			rc = sr_cli_print_json(arr, &err);
		} else {
			printf("%-16s  %-24s %-8s %s\n", "ID", "NAME", "ROLE", "STATE");
			for (size_t i = 0; i < n; i++)
				printf("%-16s  %-24s %-8s %s\n", list[i].id, list[i].name,
				       sr_role_name(list[i].role),
				       list[i].revoked ? "revoked" : "live");
		}
	} else {
		rc = sr_tokens_revoke(tokens, pos[0], &err);
		if (rc == SR_OK)
			printf("revoked %s\n", pos[0]);
	}
out:
	sr_free(list);
	sr_tokens_free(tokens);
	sr_cli_release(&cli);
	return rc ? sr_cli_report(&err) : SR_EXIT_OK;
}

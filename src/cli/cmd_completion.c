/*
 * cmd_completion.c - `sealroom completion bash`: a bash completion script
 * generated from the command table (help.h), so it knows every command,
 * subcommand and option the help knows.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/help.h"
#include "base/banned.h"

/* The options of e, global ones included, as completion words. */
static void print_options(const struct sr_help_entry *e)
{
	static const char *const global_names[] = {
		"--home", "--node", "--token", "--json", "--quiet",
	};
	const char *p = e->options;

	printf("--help");
	for (size_t i = 0; i < sizeof(global_names) / sizeof(*global_names); i++)
		if (e->globals & (1u << i))
			printf(" %s", global_names[i]);
	while (*p) {
		size_t n = strcspn(p, " =");
		if (n)
			printf(" %.*s", (int)n, p);
		p += n;
		p += strspn(p, " =");
	}
}

static void print_bash(void)
{
	const struct sr_help_entry *e;
	size_t n;

	e = sr_help_entries(&n);
	printf("# bash completion for sealroom (sealroom completion bash)\n"
	       "_sealroom() {\n"
	       "\tlocal cur=${COMP_WORDS[COMP_CWORD]} noun= verb= i w words level=opt\n"
	       "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	       "\t\tw=${COMP_WORDS[i]}\n"
	       "\t\tcase $w in\n"
	       "\t\t--home|--node|--token) ((i++)); continue ;;\n"
	       "\t\t-*) continue ;;\n"
	       "\t\tesac\n"
	       "\t\tif [ -z \"$noun\" ]; then noun=$w; elif [ -z \"$verb\" ]; then verb=$w; fi\n"
	       "\tdone\n"
	       "\tcase \"$noun\" in\n");
	printf("\t\"\")\n\t\tlevel=cmd; words=\"");
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(e[i].noun, e[i - 1].noun) != 0)
			printf("%s%s", i ? " " : "", e[i].noun);
	printf(" help --home --node --token --json --quiet --help --version\" ;;\n");
	for (size_t i = 0; i < n; i++) {
		if (i && strcmp(e[i].noun, e[i - 1].noun) == 0)
			continue;
		printf("\t%s)\n", e[i].noun);
		if (!e[i].verb) {
			printf("\t\twords=\"");
			print_options(&e[i]);
			printf("\" ;;\n");
			continue;
		}
		printf("\t\tcase \"$verb\" in\n\t\t\"\") level=cmd; words=\"");
		for (size_t k = i; k < n && strcmp(e[k].noun, e[i].noun) == 0; k++)
			printf("%s%s", k > i ? " " : "", e[k].verb);
		printf(" --help\" ;;\n");
		for (size_t k = i; k < n && strcmp(e[k].noun, e[i].noun) == 0; k++) {
			printf("\t\t%s) words=\"", e[k].verb);
			print_options(&e[k]);
			printf("\" ;;\n");
		}
		printf("\t\t*) words= ;;\n\t\tesac ;;\n");
	}
	printf("\t*) words= ;;\n"
	       "\tesac\n"
	       "\tif [ \"$level\" = cmd ] || [[ $cur == -* ]]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
	       "\telse\n"
	       "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	       "\tfi\n"
	       "}\n"
	       "complete -o filenames -F _sealroom sealroom\n");
}

/* Every entry and its options, one line each ("noun verb --a --b=";
 * "-" for no verb): for scripts and the CLI tests. */
static void print_list(void)
{
	const struct sr_help_entry *e;
	size_t n;

	e = sr_help_entries(&n);
	for (size_t i = 0; i < n; i++)
		printf("%s %s %s\n", e[i].noun, e[i].verb ? e[i].verb : "-",
		       e[i].options);
}

int sr_cmd_completion(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		print_list();
		return fflush(stdout) == 0 ? SR_EXIT_OK : SR_EXIT_USER;
	}
	if (argc == 2 && strcmp(argv[1], "bash") == 0) {
		print_bash();
		return fflush(stdout) == 0 ? SR_EXIT_OK : SR_EXIT_USER;
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		sr_help_print(sr_help_find("completion", "bash"));
		return SR_EXIT_OK;
	}
	return sr_cli_usage_error("completion", "expected 'bash' (the only shell supported)");
}

/*
 * help.h - the table of every command and subcommand of `sealroom`: the
 * global options each accepts, its own options, the token role it needs
 * and its help text (usage, options, an example).  One table serves
 * `--help` on every subcommand, global options given before the command,
 * and `sealroom completion bash`, so the three cannot disagree.
 *
 * The commands' own parsers remain the authority on what they accept;
 * tests/integration/test_cli_habits.sh runs every option of the table
 * through them.
 */
#ifndef SR_HELP_H
#define SR_HELP_H

#include <stddef.h>

/* Global options (DESIGN §12): work before or after the command. */
enum {
	SR_GLOBAL_HOME = 1u << 0,    /* --home DIR */
	SR_GLOBAL_NODE = 1u << 1,    /* --node URL */
	SR_GLOBAL_TOKEN = 1u << 2,   /* --token T */
	SR_GLOBAL_JSON = 1u << 3,    /* --json */
	SR_GLOBAL_QUIET = 1u << 4,   /* --quiet */
	SR_GLOBAL_ALL = (1u << 5) - 1,
};

struct sr_help_entry {
	const char *noun;        /* "dataset" */
	const char *verb;        /* "import", or NULL for a command without verbs */
	unsigned globals;        /* SR_GLOBAL_* it accepts */
	/* Its own options, space-separated; a trailing '=' marks one that
	 * takes a value ("--policy= --classify-by-name"). */
	const char *options;
	const char *role;        /* token role needed, or NULL (no token) */
	const char *text;        /* usage, what it does, options, example */
};

/* Every entry, nouns in the order of `sealroom --help`. */
const struct sr_help_entry *sr_help_entries(size_t *count);

/* The entry for noun and verb (verb NULL: the command itself), or NULL. */
const struct sr_help_entry *sr_help_find(const char *noun, const char *verb);

/* Whether noun has verbs in the table. */
int sr_help_has_verbs(const char *noun);

/* Global options: name without "--", its bit, and whether it takes a
 * value.  sr_help_global returns NULL for anything else. */
struct sr_help_global {
	const char *name;
	unsigned bit;
	int has_value;
};
const struct sr_help_global *sr_help_global(const char *name, size_t len);

/* Print the help of an entry: its text, then the global options it
 * accepts, then the role. */
void sr_help_print(const struct sr_help_entry *e);

#endif

/*
 * cli.h - shared plumbing of the sealroom command: option parsing, the node
 * home, opening keys and the store, output and exit codes (DESIGN §12).
 *
 * Exit codes: 0 success, 1 user error (one-line reason on stderr), 2 usage
 * error, 3 internal error.
 */
#ifndef SR_CLI_H
#define SR_CLI_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "crypto/masterkey.h"
#include "store/store.h"

#define SR_EXIT_OK 0
#define SR_EXIT_USER 1
#define SR_EXIT_USAGE 2
#define SR_EXIT_INTERNAL 3

struct sr_cli {
	const char *home;     /* --home, SEALROOM_HOME or ~/.sealroom */
	int json;             /* --json */
	int quiet;            /* --quiet: no progress */
	struct sr_masterkey mk;
	int mk_open;
	struct sr_store *store;
};

/* Map a status to an exit code. */
int sr_cli_exit_code(int status);

/* Print "sealroom: MESSAGE" for err and return the exit code. */
int sr_cli_report(const struct sr_err *err);

/* Print a usage error for cmd ("sealroom: CMD: MESSAGE; see 'sealroom CMD
 * --help'") and return SR_EXIT_USAGE. */
int sr_cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Parse a decimal count from 0 to max (no sign, no spaces); SR_EINVAL
 * otherwise. */
int sr_cli_parse_count(const char *text, unsigned long long max,
		       uint64_t *out) SR_WUR;

/* Resolve the home directory (flag, env, default). */
int sr_cli_resolve_home(struct sr_cli *cli, struct sr_err *err) SR_WUR;

/*
 * Get the passphrase: SEALROOM_PASSPHRASE, else a prompt on the terminal
 * (twice when confirm is set).  The result is in sodium_malloc memory, freed
 * with sr_cli_passphrase_free.
 */
int sr_cli_passphrase(const char *prompt, int confirm, char **out,
		      struct sr_err *err) SR_WUR;
void sr_cli_passphrase_free(char *pass);

/* Open the master key of cli->home (prompting if needed). */
int sr_cli_open_key(struct sr_cli *cli, struct sr_err *err) SR_WUR;
/* Open the store; with_key opens the master key first. */
int sr_cli_open_store(struct sr_cli *cli, int with_key,
		      struct sr_err *err) SR_WUR;
void sr_cli_release(struct sr_cli *cli);

/* Progress on stderr for work that lasts over a second (off with --quiet
 * or SEALROOM_PROGRESS=0). */
struct sr_progress {
	const char *what;
	double started;
	double last;
	int shown;
	int enabled;
	int tty;
};
void sr_progress_init(struct sr_progress *p, const char *what, int quiet);
void sr_progress_update(struct sr_progress *p, double fraction,
			const char *detail);
void sr_progress_done(struct sr_progress *p);

double sr_now_seconds(void);

/* Print a JSON value (pretty) on stdout and drop the reference; NULL
 * (failed construction) is reported as out of memory. */
int sr_cli_print_json(json_t *value, struct sr_err *err) SR_WUR;

/* Human-readable byte size into buf. */
const char *sr_cli_bytes(char buf[32], unsigned long long bytes);

/* For long-running commands: catch SIGINT and SIGTERM (and ignore
 * SIGPIPE) before announcing readiness, then wait until one arrives. */
void sr_cli_catch_stop(void);
void sr_cli_wait_stop(void);

/* Commands. argv[0] is the command word. */
int sr_cmd_init(int argc, char **argv);
int sr_cmd_dataset(int argc, char **argv);
int sr_cmd_demo(int argc, char **argv);
int sr_cmd_psi(int argc, char **argv);
int sr_cmd_query(int argc, char **argv);

/* ---- shared by job and query (cmd_job.c, cmd_query.c) ---- */
struct sr_nodeclient_args;
struct sr_nodeclient;
/* A job spec from FILE ('-' for stdin): a JSON object. */
int sr_cli_read_spec(const char *file, json_t **out, struct sr_err *err) SR_WUR;
/* Propose spec (borrowed) in a->project; print the job id and verdict
 * (or the node's JSON with --json).  SR_EPOLICY when refused. */
int sr_cli_job_propose(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		       const json_t *spec, struct sr_err *err) SR_WUR;
/* `job explain`: the plan of a query job (cmd_query.c). */
int sr_cli_job_explain(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		       struct sr_err *err);
/* The release part of a result's meta (suppressed groups, clamping, DP
 * noise, budget) as lines for people; nothing for other kinds. */
void sr_cli_print_release_meta(FILE *f, const json_t *meta);
int sr_cmd_token(int argc, char **argv);
int sr_cmd_coordinator(int argc, char **argv);
int sr_cmd_node(int argc, char **argv);
int sr_cmd_executor(int argc, char **argv);
/* `sealroom executor`'s part of the node command (cmd_executor.c). */
struct sr_tee_executor;
struct sr_tee_executor_config;
struct sr_cli_executor {
	const char *usage;
	int (*measure)(uint32_t pcr);          /* --measure: print, exit status */
	int (*open)(struct sr_tee_executor_config *cfg, const char *chain_path,
		    struct sr_tee_executor **out, struct sr_err *err);
};
/* `sealroom node`, or with exe `sealroom executor`. */
int sr_cli_node_main(int argc, char **argv, const struct sr_cli_executor *exe);
int sr_cmd_project(int argc, char **argv);
int sr_cmd_job(int argc, char **argv);
int sr_cmd_ledger(int argc, char **argv);
int sr_cmd_model(int argc, char **argv);
int sr_cmd_policy(int argc, char **argv);
int sr_cmd_id(int argc, char **argv);
int sr_cmd_completion(int argc, char **argv);

#endif

/*
 * nodeclient.h - the client side of the node API (docs/api.md) for the
 * workflow commands (`sealroom project|job|ledger`, `dataset publish`):
 * finding the node and the token, calling the node, and turning its error
 * answers into one-line errors with the exit codes of cli.h.
 *
 * These commands never open the store or the master key: the node does
 * all the work and they only show its answers.
 *
 * Finding the node: --node URL, else $SEALROOM_NODE, else the file
 * HOME/node.url that a running `sealroom node` writes (HOME from --home,
 * $SEALROOM_HOME or ~/.sealroom).  The token: --token, else
 * $SEALROOM_TOKEN.
 */
#ifndef SR_NODECLIENT_H
#define SR_NODECLIENT_H

#include <jansson.h>
#include <stdio.h>

#include "base/err.h"
#include "cli/cli.h"

/* One call to the node may take a while: a join fetches and verifies the
 * whole history from the coordinator first. */
#define SR_NODECLIENT_TIMEOUT_MS 120000L

/* Longest node.url file, and longest base URL. */
#define SR_NODECLIENT_URL_MAX 1024

struct sr_nodeclient {
	char *url;        /* base URL without a trailing '/'; heap */
	char *token;      /* bearer token; heap, wiped at release */
	long timeout_ms;  /* per call */
	size_t max_answer; /* bytes of one answer; 0 = SR_HTTP_BODY_MAX */
};

/* Empty client (no allocation). */
void sr_nodeclient_init(struct sr_nodeclient *nc);
/* Free the URL, wipe and free the token; nc is left as after init. */
void sr_nodeclient_release(struct sr_nodeclient *nc);

/*
 * Find the node and the token (see above).  node_flag and token_flag may
 * be NULL; cli->home is resolved only when the URL comes from node.url.
 * Errors (SR_EINVAL unless said): no node URL anywhere, a node.url that
 * cannot be read (SR_EIO), a URL that is not http:// (the node API is
 * plain HTTP on loopback), no token.  The strings are copied.
 */
int sr_nodeclient_open(struct sr_nodeclient *nc, struct sr_cli *cli,
		       const char *node_flag, const char *token_flag,
		       struct sr_err *err) SR_WUR;

/*
 * Call METHOD base-URL + path with body (NULL: none) and the bearer token.
 * SR_OK only for a 2xx answer; *answer then holds the parsed JSON (a new
 * reference, or NULL for an empty body).
 *
 * An error answer becomes err with the node's "error" text (control
 * characters replaced) and a code by status: 400 SR_EINVAL, 401/403
 * SR_EPERM, 404 SR_ENOTFOUND, 409 SR_EEXIST, 413 SR_ELIMIT, other 4xx
 * SR_EINVAL, 5xx SR_EINTERNAL (exit codes 1 and 3); *answer still holds
 * the error answer, for the callers that show more of it (the checker's
 * violations of a refused approval).  A node that cannot be reached:
 * SR_EIO, "cannot reach the node at URL: is 'sealroom node' running?".
 * *status (may be NULL) gets the HTTP status, 0 when nothing answered.
 * The caller drops *answer in every case.
 */
int sr_nodeclient_call(struct sr_nodeclient *nc, const char *method,
		       const char *path, const json_t *body, int *status,
		       json_t **answer, struct sr_err *err) SR_WUR;

/*
 * Check a project id given on the command line (1 to 64 of A-Z a-z 0-9
 * _ - .), so that it can go into a path as it is.  SR_EUSAGE otherwise.
 */
int sr_nodeclient_check_project(const char *project, struct sr_err *err) SR_WUR;

/*
 * Check a job id or a prefix of one (8 to 64 hex digits) and copy it,
 * lowercased, into out.  SR_EUSAGE otherwise.
 */
int sr_nodeclient_job_id(const char *arg, char out[65], struct sr_err *err) SR_WUR;

/* Options shared by the workflow commands and their own extras. */
enum {
	SR_NCOPT_PROJECT = 1 << 0,   /* --project P */
	SR_NCOPT_SPEC = 1 << 1,      /* --spec FILE */
	SR_NCOPT_REASON = 1 << 2,    /* --reason TEXT */
	SR_NCOPT_OUTPUT = 1 << 3,    /* --output FILE */
	SR_NCOPT_TIMEOUT = 1 << 4,   /* --timeout SECONDS */
	SR_NCOPT_FROM = 1 << 5,      /* --from SEQ */
	SR_NCOPT_QUERY = 1 << 6,     /* --receiver ORG --epsilon E --delta D */
	SR_NCOPT_CSV = 1 << 7,       /* --csv */
	SR_NCOPT_PLOT = 1 << 8,      /* --plot roc|lift|gains|importance */
};

struct sr_nodeclient_args {
	struct sr_cli cli;        /* home, json, quiet */
	const char *node;         /* --node */
	const char *token;        /* --token */
	const char *project;      /* --project */
	const char *spec;         /* --spec */
	const char *reason;       /* --reason */
	const char *output;       /* --output */
	double timeout_s;         /* --timeout; 0 = none */
	long long from;           /* --from; 0 by default */
	const char *receiver;     /* --receiver */
	const char *epsilon;      /* --epsilon, as written */
	const char *delta;        /* --delta, as written */
	int csv;                  /* --csv */
	const char *plot;         /* --plot */
	char **pos;               /* positional arguments (into argv) */
	int npos;
};

/*
 * Parse the options of `sealroom NOUN VERB` (argv[0] is VERB) into a:
 * --home, --node, --token, --json, --quiet, --help always, and the extras
 * in allowed.  Returns 0 to go on, or 1 with *exit_code set when the
 * command is over: --help printed usage (exit 0) or a usage error was
 * reported for cmd (exit 2).  Pointers in a point into argv.
 */
int sr_nodeclient_parse(const char *cmd, const char *usage, unsigned allowed,
			int argc, char **argv, struct sr_nodeclient_args *a,
			int *exit_code);

/*
 * Run one verb of a workflow command: parse, call fn, report.  Shared by
 * project, job and ledger so they map errors to exit codes alike.
 */
struct sr_nodeclient_verb {
	const char *name;
	unsigned allowed;          /* SR_NCOPT_* */
	int (*fn)(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
		  struct sr_err *err);
};
/* Parse a command without verbs (argv[0] is the command) and run fn, as
 * dispatch runs a verb. */
int sr_nodeclient_run(const char *cmd, const char *usage, unsigned allowed,
		      int (*fn)(struct sr_nodeclient_args *a, struct sr_nodeclient *nc,
				struct sr_err *err),
		      int argc, char **argv);
int sr_nodeclient_dispatch(const char *noun, const char *usage,
			   const struct sr_nodeclient_verb *verbs,
			   size_t nverbs, int argc, char **argv);

/* ---- output helpers ---- */

/* Borrowed string at key, or dflt when missing or not a string. */
const char *sr_nodeclient_str(const json_t *obj, const char *key,
			      const char *dflt);
/* Integer at key, or dflt when missing or not an integer. */
long long sr_nodeclient_int(const json_t *obj, const char *key,
			    long long dflt);
/* Count at key: an integer, or the size of an array or object; -1 if
 * neither. */
long long sr_nodeclient_count(const json_t *obj, const char *key);

/*
 * Copy s into buf (size > 0) for a terminal: control characters (C0, DEL
 * and C1) become '?', so nothing from the network can move the cursor or
 * rewrite what is shown; longer text is cut (at a character boundary) and
 * ends in "...".  Returns buf.  s NULL gives "".
 */
const char *sr_nodeclient_clean(char *buf, size_t size, const char *s);

/* The first n (<= 64) characters of a hex id, then "…" when cut; "?" for
 * NULL. */
const char *sr_nodeclient_short(char buf[80], const char *hex, size_t n);
/* The first n (<= 64) characters of a hex id, cut without a mark (for
 * columns of ids); "?" for NULL. */
const char *sr_nodeclient_prefix(char buf[80], const char *hex, size_t n);

/*
 * The state of project (GET /v1/projects/P) for showing member names, or
 * NULL when it cannot be had (names are a nicety: no error is reported).
 * A new reference.
 */
json_t *sr_nodeclient_project_state(struct sr_nodeclient *nc,
				    const char *project);

/* The name of member org_id in a project state (GET /v1/projects/P), or
 * org_id itself when it has none (yet); "?" for NULL.  Borrowed. */
const char *sr_nodeclient_member_name(const json_t *project,
				      const char *org_id);

/* Unix seconds as UTC ISO 8601, "2024-05-01T12:00:00Z". */
const char *sr_nodeclient_time(char buf[32], long long unix_seconds);

/*
 * Print a checker verdict ({"accept", "violations"}) to f: "accepted by the
 * security checker", or "refused by the security checker:" and each
 * violation as "  - [rule] dataset.column (usage): message".
 */
void sr_nodeclient_print_verdict(FILE *f, const json_t *verdict);
/* Only the violation lines. */
void sr_nodeclient_print_violations(FILE *f, const json_t *violations);

#endif

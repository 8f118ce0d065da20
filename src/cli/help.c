/*
 * help.c - every command and subcommand, its options and its help (help.h).
 */
#include "cli/help.h"

#include <stdio.h>
#include <string.h>

#include "base/banned.h"

#define NODE_GLOBALS SR_GLOBAL_ALL
#define DATA_OPTS "--null= --skip-lines= --header= --delimiter= --quote= --encoding="

static const struct sr_help_entry entries[] = {
	{ "init", NULL, SR_GLOBAL_HOME | SR_GLOBAL_JSON,
	  "--key-provider= --kdf= --tpm-pcrs= --recovery-passphrase", NULL,
	  "usage: sealroom init [--home DIR] [--key-provider passphrase|tpm2|file] [--kdf moderate|sensitive]\n"
	  "                     [--tpm-pcrs LIST] [--recovery-passphrase] [--json]\n"
	  "\n"
	  "Create a node home: the master key, this organization's identity keys\n"
	  "and an empty encrypted dataset store.  Prints the organization id.\n"
	  "\n"
	  "example:\n"
	  "  sealroom init --home ~/sr/bank\n" },
	{ "id", NULL, SR_GLOBAL_HOME | SR_GLOBAL_JSON, "", NULL,
	  "usage: sealroom id [--home DIR] [--json]\n"
	  "\n"
	  "Print this node's organization id, its Ed25519 signing public key and\n"
	  "its X25519 key-agreement public key, from HOME/identity.pub (no\n"
	  "passphrase needed).  Give the organization id to whoever invites you.\n"
	  "\n"
	  "example:\n"
	  "  sealroom id --json\n" },
	{ "coordinator", NULL, 0, "--listen= --data= --threads= --mailbox-bytes= --mailbox-msgs="
	  " --mailbox-retention= --org-mailbox-bytes= --org-open-jobs= --org-projects="
	  " --org-events-per-min= --disk-floor= --fault=", NULL,
	  "usage: sealroom coordinator --listen ADDR --data DIR [--threads N]\n"
	  "\n"
	  "Run the coordinator (signed project event logs, job mailboxes).\n"
	  "\n"
	  "example:\n"
	  "  sealroom coordinator --listen 127.0.0.1:7443 --data ~/sr/coordinator\n" },
	{ "node", NULL, SR_GLOBAL_HOME,
	  "--coordinator= --pin= --listen= --name= --job-timeout= --append-deadline=", NULL,
	  "usage: sealroom node --coordinator URL --pin PIN [--listen ADDR] [--name NAME]\n"
	  "\n"
	  "Run this organization's node: it follows its projects, verifies every\n"
	  "event, serves the local API and runs the jobs every owner approved.\n"
	  "\n"
	  "example:\n"
	  "  sealroom node --coordinator https://127.0.0.1:7443 --pin \"$PIN\" --listen 127.0.0.1:7701 --name bank\n" },
	{ "executor", NULL, SR_GLOBAL_HOME,
	  "--coordinator= --pin= --listen= --name= --job-timeout= --append-deadline="
	  " --tcti= --pcr= --ek-chain= --measure", NULL,
	  "usage: sealroom executor --coordinator URL --pin PIN [--tcti TCTI] [--pcr 16|23]\n"
	  "                         [--ek-chain PEM] [node options]\n"
	  "       sealroom executor --measure [--pcr 16|23]\n"
	  "\n"
	  "Run an attested TEE executor: a node that measures itself into a TPM\n"
	  "PCR and runs the jobs whose spec names it in \"tee\" (docs/tee.md).\n"
	  "\n"
	  "example:\n"
	  "  sealroom executor --coordinator https://127.0.0.1:7443 --pin \"$PIN\" --name enclave --tcti swtpm:host=127.0.0.1,port=2321\n" },
	{ "token", "create", SR_GLOBAL_HOME | SR_GLOBAL_JSON, "--role=", NULL,
	  "usage: sealroom token create NAME --role admin|steward|analyst [--json]\n"
	  "\n"
	  "Create an API token for a person; it is shown once.  admin runs the\n"
	  "node and its memberships, steward owns data (publishes, approves),\n"
	  "analyst proposes jobs and reads results.  Works on the node home.\n"
	  "\n"
	  "example:\n"
	  "  sealroom token create bob --role steward\n" },
	{ "token", "list", SR_GLOBAL_HOME | SR_GLOBAL_JSON, "", NULL,
	  "usage: sealroom token list [--json]\n"
	  "\n"
	  "List tokens: name, role, id and creation time (never the secret).\n"
	  "\n"
	  "example:\n"
	  "  sealroom token list\n" },
	{ "token", "revoke", SR_GLOBAL_HOME | SR_GLOBAL_JSON, "", NULL,
	  "usage: sealroom token revoke NAME|ID\n"
	  "\n"
	  "Revoke a token: the node refuses it from the next request on.\n"
	  "\n"
	  "example:\n"
	  "  sealroom token revoke bob\n" },
	{ "dataset", "import", NODE_GLOBALS,
	  "--policy= --classify-by-name --clamp --hierarchy= --from= --from-env= --from-file= --query= --table= "
	  DATA_OPTS, NULL,
	  "usage: sealroom dataset import NAME FILE.csv [--policy P.json | --classify-by-name] [options]\n"
	  "       sealroom dataset import NAME --from postgresql://... --query SQL | --table T [options]\n"
	  "\n"
	  "Import a CSV file as a new version of dataset NAME, encrypted in this\n"
	  "node's store.  Every column must be classified (id, qi, sa, public) by\n"
	  "the policy; every value must parse as its column's type and lie within\n"
	  "its bounds and domain.  Nothing is imported unless all of it is.\n"
	  "\n"
	  "options:\n"
	  "  --policy P.json      the policy (docs/policy.md); 'sealroom policy init' drafts one\n"
	  "  --classify-by-name   classify columns from their names instead (a first look)\n"
	  "  --null TOKEN         a field text that means missing, e.g. NA (repeatable);\n"
	  "                       the empty unquoted field always does\n"
	  "  --clamp              clamp numbers outside their bounds instead of failing\n"
	  "  --hierarchy COL=H.csv  an explicit generalization hierarchy for qi column COL\n"
	  "                       (header, then value,label1,...); stored in the policy\n"
	  "  --skip-lines N       skip N lines before the header (a metadata line)\n"
	  "  --header A,B,...     column names, for a file without a header line\n"
	  "  --delimiter C        field separator (default ','; 'tab' for a tab)\n"
	  "  --quote C            quote character (default '\"')\n"
	  "  --encoding E         utf8 (default) or latin1 (converted to UTF-8)\n"
	  "  --from URL           read a PostgreSQL query instead of a file, streamed\n"
	  "                       (types from PostgreSQL's, SQL NULL as NULL; docs/data.md)\n"
	  "  --from-env VAR       the connection string from $VAR (out of shell history)\n"
	  "  --from-file FILE     the connection string from FILE (mode 0600)\n"
	  "  --query SQL          the query (read in a read-only transaction)\n"
	  "  --table T            all of table T (or SCHEMA.T)\n"
	  "\n"
	  "example:\n"
	  "  sealroom dataset import customers customers.csv --policy customers.policy.json --null NA\n"
	  "  sealroom dataset import sales --from-env SALES_DB --query 'SELECT * FROM sales' --policy s.json\n" },
	{ "dataset", "list", NODE_GLOBALS, "", NULL,
	  "usage: sealroom dataset list [--json]\n"
	  "\n"
	  "List this node's datasets: rows, columns, size, creation, version.\n"
	  "\n"
	  "example:\n"
	  "  sealroom dataset list\n" },
	{ "dataset", "show", NODE_GLOBALS, "", NULL,
	  "usage: sealroom dataset show NAME [--json]\n"
	  "\n"
	  "Schema, classes, allowed usages, bounds, domains, masks, null tokens,\n"
	  "min_group_size, differential privacy (with the budget left), row\n"
	  "filter, rows, sizes and version id of NAME.\n"
	  "\n"
	  "example:\n"
	  "  sealroom dataset show customers\n" },
	{ "dataset", "export", NODE_GLOBALS, "--columns= --output=", NULL,
	  "usage: sealroom dataset export NAME [--columns A,B] [--output FILE]\n"
	  "\n"
	  "Decrypt NAME to CSV (stdout by default).  Only on the owner's node.\n"
	  "\n"
	  "example:\n"
	  "  sealroom dataset export customers --columns customer_id,age --output c.csv\n" },
	{ "dataset", "verify", NODE_GLOBALS, "", NULL,
	  "usage: sealroom dataset verify NAME\n"
	  "\n"
	  "Decrypt and check every chunk of every version of NAME.\n"
	  "\n"
	  "example:\n"
	  "  sealroom dataset verify customers\n" },
	{ "dataset", "rm", NODE_GLOBALS, "", NULL,
	  "usage: sealroom dataset rm NAME\n"
	  "\n"
	  "Delete NAME and all its versions: shred the keys, then the files.\n"
	  "\n"
	  "example:\n"
	  "  sealroom dataset rm customers\n" },
	{ "dataset", "publish", NODE_GLOBALS, "--project=", "steward",
	  "usage: sealroom dataset publish NAME --project P\n"
	  "\n"
	  "Publish NAME's metadata (schema, classes, policy, version id, row\n"
	  "count; never rows) to project P, through the running node.\n"
	  "\n"
	  "example:\n"
	  "  sealroom dataset publish customers --project \"$PROJECT\"\n" },
	{ "policy", "init", SR_GLOBAL_HOME | SR_GLOBAL_JSON | SR_GLOBAL_QUIET,
	  "--output= " DATA_OPTS, NULL,
	  "usage: sealroom policy init FILE.csv [--null TOKEN]... [--output P.json] [shape options]\n"
	  "\n"
	  "Write a draft policy for FILE.csv: each column's type, a suggested\n"
	  "class and why, bounds rounded outward, domains of few-valued strings.\n"
	  "Its \"_review\" key makes import refuse it until a person has checked\n"
	  "it and deleted the key.  The shape options are those of dataset import.\n"
	  "\n"
	  "example:\n"
	  "  sealroom policy init customers.csv --null NA > customers.policy.json\n" },
	{ "project", "create", NODE_GLOBALS, "", "admin",
	  "usage: sealroom project create NAME\n"
	  "\n"
	  "Create a project; this organization is its first member.  Prints the\n"
	  "project id.\n"
	  "\n"
	  "example:\n"
	  "  sealroom project create customer-overlap\n" },
	{ "project", "invite", NODE_GLOBALS, "", "admin",
	  "usage: sealroom project invite PROJECT ORG_ID\n"
	  "\n"
	  "Invite an organization (its id from 'sealroom id') to PROJECT.\n"
	  "\n"
	  "example:\n"
	  "  sealroom project invite \"$PROJECT\" \"$SHOP\"\n" },
	{ "project", "join", NODE_GLOBALS, "", "admin",
	  "usage: sealroom project join PROJECT\n"
	  "\n"
	  "Join a project this organization is invited to; the node fetches and\n"
	  "verifies the whole history first.\n"
	  "\n"
	  "example:\n"
	  "  sealroom project join \"$PROJECT\"\n" },
	{ "project", "list", NODE_GLOBALS, "", "any",
	  "usage: sealroom project list [--json]\n"
	  "\n"
	  "Projects this organization is in, and pending invitations.\n"
	  "\n"
	  "example:\n"
	  "  sealroom project list\n" },
	{ "project", "show", NODE_GLOBALS, "", "any",
	  "usage: sealroom project show PROJECT [--json]\n"
	  "\n"
	  "Members, published datasets and jobs of PROJECT.\n"
	  "\n"
	  "example:\n"
	  "  sealroom project show \"$PROJECT\"\n" },
	{ "job", "propose", NODE_GLOBALS, "--project= --spec=", "analyst",
	  "usage: sealroom job propose --project P --spec FILE.json\n"
	  "\n"
	  "Propose a job ('-' reads the spec from stdin).  Prints the job id and\n"
	  "the security checker's verdict; every owner must approve it.\n"
	  "\n"
	  "example:\n"
	  "  sealroom job propose --project \"$PROJECT\" --spec psi.json\n" },
	{ "job", "list", NODE_GLOBALS, "--project=", "any",
	  "usage: sealroom job list --project P [--json]\n"
	  "\n"
	  "Jobs of a project with their state.\n"
	  "\n"
	  "example:\n"
	  "  sealroom job list --project \"$PROJECT\"\n" },
	{ "job", "show", NODE_GLOBALS, "", "any",
	  "usage: sealroom job show JOB [--json]\n"
	  "\n"
	  "Spec, approvals, verdict, progress and receipt of JOB (an id or a\n"
	  "unique prefix of at least 8 hex digits).\n"
	  "\n"
	  "example:\n"
	  "  sealroom job show 635effc9\n" },
	{ "job", "approve", NODE_GLOBALS, "", "steward",
	  "usage: sealroom job approve JOB\n"
	  "\n"
	  "Approve a job that reads your data; your node re-checks it against\n"
	  "your policy first.\n"
	  "\n"
	  "example:\n"
	  "  sealroom job approve 635effc9\n" },
	{ "job", "reject", NODE_GLOBALS, "--reason=", "steward",
	  "usage: sealroom job reject JOB [--reason TEXT]\n"
	  "\n"
	  "Reject a job: it will never run.\n"
	  "\n"
	  "example:\n"
	  "  sealroom job reject 635effc9 --reason 'receivers too broad'\n" },
	{ "job", "cancel", NODE_GLOBALS, "--reason=", "analyst",
	  "usage: sealroom job cancel JOB [--reason TEXT]\n"
	  "\n"
	  "Withdraw your own proposal.\n"
	  "\n"
	  "example:\n"
	  "  sealroom job cancel 635effc9\n" },
	{ "job", "result", NODE_GLOBALS, "--output= --csv", "analyst",
	  "usage: sealroom job result JOB [--output FILE.csv | --csv] [--json]\n"
	  "\n"
	  "Show the result of a finished job this organization receives, or\n"
	  "write it as CSV (--csv: to stdout).  A query's table is followed by\n"
	  "its release: groups suppressed, values clamped, DP noise scales.\n"
	  "\n"
	  "example:\n"
	  "  sealroom job result 635effc9 --output common.csv\n" },
	{ "job", "explain", NODE_GLOBALS, "--project= --spec= --receiver= --epsilon= --delta=", "any",
	  "usage: sealroom job explain --project P (--spec FILE.json | \"SELECT ...\") [--receiver ORG] [--json]\n"
	  "\n"
	  "Print the plan of a query job before anything is proposed: what each\n"
	  "party computes over its rows (WHERE pushed down, accumulators clamped\n"
	  "to its bounds), the public group domain, how the vectors are combined\n"
	  "(secure aggregation), what is revealed to whom, and the release\n"
	  "(threshold, HAVING, ORDER BY, LIMIT).  Computed from the project's\n"
	  "published schemas and policies.\n"
	  "\n"
	  "example:\n"
	  "  sealroom job explain --project \"$PROJECT\" \"SELECT ward, COUNT(*) FROM a.visits UNION ALL b.visits GROUP BY ward\"\n" },
	{ "job", "wait", NODE_GLOBALS, "--timeout=", "any",
	  "usage: sealroom job wait JOB [--timeout SECONDS]\n"
	  "\n"
	  "Wait until JOB ends; exit 0 if it finished, 1 if it failed or was\n"
	  "rejected or cancelled.\n"
	  "\n"
	  "example:\n"
	  "  sealroom job wait 635effc9 --timeout 300\n" },
	{ "ledger", "verify", NODE_GLOBALS, "", "any",
	  "usage: sealroom ledger verify PROJECT\n"
	  "\n"
	  "Re-verify every event of PROJECT from the first and compare the head\n"
	  "with the coordinator's.\n"
	  "\n"
	  "example:\n"
	  "  sealroom ledger verify \"$PROJECT\"\n" },
	{ "ledger", "log", NODE_GLOBALS, "--from=", "any",
	  "usage: sealroom ledger log PROJECT [--from SEQ]\n"
	  "\n"
	  "One line per event: seq, time, type, author and what it does.\n"
	  "\n"
	  "example:\n"
	  "  sealroom ledger log \"$PROJECT\" --from 5\n" },
	{ "model", "list", NODE_GLOBALS, "", "analyst",
	  "usage: sealroom model list [--json]\n"
	  "\n"
	  "The model parts this organization keeps from finished training jobs.\n"
	  "\n"
	  "example:\n"
	  "  sealroom model list\n" },
	{ "model", "show", NODE_GLOBALS, "", "analyst",
	  "usage: sealroom model show JOB [--json]\n"
	  "\n"
	  "Print this organization's parts of JOB's model: the label holder's\n"
	  "trees with its own thresholds and \"party P split #k\" elsewhere, or\n"
	  "a passive party's split thresholds.\n"
	  "\n"
	  "example:\n"
	  "  sealroom model show 635effc9\n" },
	{ "query", NULL, NODE_GLOBALS, "--project= --receiver= --epsilon= --delta=", "analyst",
	  "usage: sealroom query --project P \"SELECT ...\" [--receiver ORG] [--epsilon E] [--delta D]\n"
	  "\n"
	  "Propose a query job built from the SQL text: its inputs are the\n"
	  "datasets of FROM, its receiver this organization unless --receiver\n"
	  "names another; --epsilon and --delta ask for differential privacy.\n"
	  "See the plan first with 'sealroom job explain'.\n"
	  "\n"
	  "example:\n"
	  "  sealroom query --project \"$PROJECT\" \"SELECT ward, COUNT(*) FROM a.visits UNION ALL b.visits GROUP BY ward\"\n" },
	{ "psi", "serve", SR_GLOBAL_HOME | SR_GLOBAL_JSON | SR_GLOBAL_QUIET,
	  "--listen= --input= --column= --peer= --mode= --result-to= --normalize= --output= --timeout=", NULL,
	  "usage: sealroom psi serve --listen ADDR --input FILE.csv --column COL --peer KEY [options]\n"
	  "\n"
	  "Private set intersection with one other organization, directly (no\n"
	  "project); this side waits for the receiver.  See 'sealroom psi --help'.\n"
	  "\n"
	  "example:\n"
	  "  sealroom psi serve --listen 127.0.0.1:0 --input b.csv --column email --peer a.pub\n" },
	{ "psi", "connect", SR_GLOBAL_HOME | SR_GLOBAL_JSON | SR_GLOBAL_QUIET,
	  "--input= --column= --peer= --mode= --result-to= --normalize= --output= --timeout=", NULL,
	  "usage: sealroom psi connect ADDR --input FILE.csv --column COL --peer KEY [--output OUT.csv]\n"
	  "\n"
	  "The receiving side of a direct private set intersection.  See\n"
	  "'sealroom psi --help'.\n"
	  "\n"
	  "example:\n"
	  "  sealroom psi connect 127.0.0.1:7800 --input a.csv --column email --peer b.pub --output common.csv\n" },
	{ "demo", NULL, 0, "--rows= --keep", NULL,
	  "usage: sealroom demo [--rows N] [--keep]\n"
	  "\n"
	  "The whole story on loopback in a temporary directory.\n"
	  "\n"
	  "example:\n"
	  "  sealroom demo --rows 5000\n" },
	{ "completion", "bash", 0, "", NULL,
	  "usage: sealroom completion bash\n"
	  "\n"
	  "Print a bash completion script for sealroom.\n"
	  "\n"
	  "example:\n"
	  "  source <(sealroom completion bash)\n" },
	{ "version", NULL, 0, "", NULL,
	  "usage: sealroom version\n\nPrint the version.\n\nexample:\n  sealroom version\n" },
};

static const struct sr_help_global globals[] = {
	{ "home", SR_GLOBAL_HOME, 1 },
	{ "node", SR_GLOBAL_NODE, 1 },
	{ "token", SR_GLOBAL_TOKEN, 1 },
	{ "json", SR_GLOBAL_JSON, 0 },
	{ "quiet", SR_GLOBAL_QUIET, 0 },
};

const struct sr_help_entry *sr_help_entries(size_t *count)
{
	*count = sizeof(entries) / sizeof(*entries);
	return entries;
}

const struct sr_help_entry *sr_help_find(const char *noun, const char *verb)
{
	for (size_t i = 0; i < sizeof(entries) / sizeof(*entries); i++) {
		const struct sr_help_entry *e = &entries[i];
		if (strcmp(e->noun, noun) != 0)
			continue;
		if ((!verb && !e->verb) || (verb && e->verb && strcmp(verb, e->verb) == 0))
			return e;
	}
	return NULL;
}

int sr_help_has_verbs(const char *noun)
{
	for (size_t i = 0; i < sizeof(entries) / sizeof(*entries); i++)
		if (strcmp(entries[i].noun, noun) == 0 && entries[i].verb)
			return 1;
	return 0;
}

const struct sr_help_global *sr_help_global(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(globals) / sizeof(*globals); i++)
		if (strlen(globals[i].name) == len &&
		    memcmp(globals[i].name, name, len) == 0)
			return &globals[i];
	return NULL;
}

void sr_help_print(const struct sr_help_entry *e)
{
	static const char *const global_text[] = {
		"--home DIR    node home (default: $SEALROOM_HOME, then ~/.sealroom)",
		"--node URL    the node (default: $SEALROOM_NODE, then HOME/node.url)",
		"--token T     API token (default: $SEALROOM_TOKEN)",
		"--json        machine-readable output",
		"--quiet       no progress on stderr",
	};
	int any = 0;

	fputs(e->text, stdout);
	for (size_t i = 0; i < sizeof(globals) / sizeof(*globals); i++) {
		if (!(e->globals & globals[i].bit))
			continue;
		if (!any++)
			printf("\nglobal options (before or after the command):\n");
		printf("  %s\n", global_text[i]);
	}
	if (e->role && strcmp(e->role, "any") == 0)
		printf("\ntoken: any role (admin, steward or analyst), through the running node\n");
	else if (e->role)
		printf("\ntoken: %s role, through the running node\n", e->role);
}

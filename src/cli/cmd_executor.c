/*
 * cmd_executor.c - `sealroom executor`: the TEE executor (DESIGN §9,
 * docs/tee.md).  A node (its own home made by 'sealroom init', its own
 * identity, registered with the coordinator and joined to projects like
 * any organization) with a TPM attached: at start it measures its binary
 * and configuration into a resettable PCR, and it runs the TEE-mode jobs
 * that name it (node_tee.c), proving itself to every participant first.
 * The option parsing and the node's life are cmd_node.c's.
 */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/limits.h"
#include "cli/cli.h"
#include "policy/policy.h"
#include "tee/tee.h"
#include "base/banned.h"

static const char executor_usage[] =
	"usage: sealroom executor --coordinator URL [--pin PIN] [--listen ADDR]\n"
	"                         [--home DIR] [--name NAME] [--tcti TCTI]\n"
	"                         [--pcr 16|23] [--ek-chain PEM] [node options]\n"
	"       sealroom executor --measure [--pcr 16|23]\n"
	"\n"
	"Run an attested TEE executor: a node of its own (a home made by\n"
	"'sealroom init', joined to projects like any organization) that runs the\n"
	"jobs whose spec names it in \"tee\": {\"executor\": ...}.  At start it\n"
	"resets the PCR, extends into it the SHA-256 of its own binary and of its\n"
	"configuration, and keeps the event log; before a job's data reaches it,\n"
	"every owner and receiver checks its TPM quote (docs/tee.md).\n"
	"\n"
	"  --tcti TCTI     the TPM (or SEALROOM_TPM_TCTI; default device:/dev/tpmrm0;\n"
	"                  swtpm:host=127.0.0.1,port=P for a software TPM)\n"
	"  --pcr N         the PCR it measures into: 23 (default; application\n"
	"                  support) or 16 (debug, used by the tests); both are\n"
	"                  resettable, so each start measures from zero\n"
	"  --ek-chain PEM  the intermediate certificates between the EK certificate\n"
	"                  and the manufacturer's CA, sent to verifiers\n"
	"  --measure       print the two measurements (binary, config) owners list\n"
	"                  in their policies' tee.measurements, and exit (no TPM)\n"
	"\n"
	"Other options are 'sealroom node''s (--coordinator, --pin, --listen,\n"
	"--name, --job-timeout, --data-listen, ...).\n";

static int executor_measure(uint32_t pcr)
{
	uint8_t m[SR_TEE_EXECUTOR_MEASUREMENTS][SR_TEE_DIGEST_BYTES];
	char text[SR_POLICY_MEASUREMENT_TEXT_MAX + 1];
	struct sr_err err;

	sr_err_clear(&err);
	if (sr_tee_executor_measure(pcr, m, &err) != SR_OK)
		return sr_cli_report(&err);
	sr_policy_measurement_format(m[0], text);
	printf("%s  binary\n", text);
	sr_policy_measurement_format(m[1], text);
	printf("%s  config (pcr %u)\n", text, pcr);
	return SR_EXIT_OK;
}

static int executor_open(struct sr_tee_executor_config *cfg, const char *chain_path,
			 struct sr_tee_executor **out, struct sr_err *err)
{
	struct sr_buf chain;
	int rc = SR_OK;

	sr_buf_init(&chain, SR_SMALL_FILE_MAX);
	if (chain_path) {
		rc = sr_file_read_all(chain_path, SR_SMALL_FILE_MAX, &chain, err);
		if (rc)
			sr_err_prefix(err, "--ek-chain");
		cfg->chain_pem = chain.data;
		cfg->chain_pem_len = chain.len;
	}
	if (rc == SR_OK) {
		rc = sr_tee_executor_open(cfg, out, err);
		if (rc)
			sr_err_prefix(err, "executor");
	}
	if (rc == SR_OK) {
		const uint8_t (*m)[SR_TEE_DIGEST_BYTES] = sr_tee_executor_measurements(*out);
		char a[SR_POLICY_MEASUREMENT_TEXT_MAX + 1], b[SR_POLICY_MEASUREMENT_TEXT_MAX + 1];
		sr_policy_measurement_format(m[0], a);
		sr_policy_measurement_format(m[1], b);
		printf("executor measured into PCR %u: binary %s, config %s\n", cfg->pcr, a, b);
	}
	cfg->chain_pem = NULL;
	sr_buf_release(&chain);
	return rc;
}

int sr_cmd_executor(int argc, char **argv)
{
	static const struct sr_cli_executor exe = {
		executor_usage, executor_measure, executor_open,
	};

	return sr_cli_node_main(argc, argv, &exe);
}

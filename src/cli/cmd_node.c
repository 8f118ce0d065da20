/*
 * cmd_node.c - `sealroom node`: run an organization's node until SIGINT
 * or SIGTERM.  `sealroom executor` (cmd_executor.c) runs the same node
 * with a TEE executor attached, through sr_cli_node_main.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/limits.h"
#include "cli/cli.h"
#include "net/http.h"
#include "node/node.h"
#include "tee/tee.h"
#include "base/banned.h"

static const char node_usage[] =
	"usage: sealroom node --coordinator URL [--pin PIN] [--listen ADDR]\n"
	"                     [--home DIR] [--name NAME] [--job-timeout S]\n"
	"                     [--append-deadline S]\n"
	"                     [--data-listen ADDR [--data-advertise ADDR]]\n"
	"\n"
	"Run this organization's node: it registers with the coordinator,\n"
	"follows every project it belongs to (verifying every event itself),\n"
	"serves the local API the sealroom command uses, and runs the jobs\n"
	"its own ledger says every owner approved.  Stops on SIGINT or SIGTERM.\n"
	"\n"
	"  --coordinator URL  the coordinator, https://HOST:PORT (or\n"
	"                     SEALROOM_COORDINATOR)\n"
	"  --pin PIN          the coordinator's key pin, sha256//... as\n"
	"                     'sealroom coordinator' prints it (or SEALROOM_PIN)\n"
	"  --listen ADDR      local API, HOST:PORT (default 127.0.0.1:7701;\n"
	"                     port 0 picks a free port); the URL is written to\n"
	"                     HOME/node.url for the sealroom command\n"
	"  --home DIR         the node home made by 'sealroom init'\n"
	"  --name NAME        the organization's name ([a-z][a-z0-9_-]*), needed\n"
	"                     at the first start; datasets are published as\n"
	"                     NAME.dataset\n"
	"  --job-timeout S    longest wait for one message of a job (default 60)\n"
	"  --append-deadline S  how long an event (a proposal, an approval...)\n"
	"                     keeps being retried while other events get in\n"
	"                     first (default 30, at most 600)\n"
	"  --data-listen ADDR HOST:PORT where the other participants of a job may\n"
	"                     connect to send it their (sealed) messages directly\n"
	"                     instead of through the coordinator; the address goes\n"
	"                     into the node's signed job-channel hellos.  Without\n"
	"                     it, or where it cannot be reached, the coordinator\n"
	"                     relays.  The node always sends directly to peers that\n"
	"                     listen and can be reached\n"
	"  --data-advertise ADDR  the address to advertise instead (e.g. behind a\n"
	"                     NAT); default: the one --data-listen bound\n"
	"\n"
	"The master key is opened as for every command (SEALROOM_PASSPHRASE or\n"
	"a prompt).\n";

int sr_cmd_node(int argc, char **argv)
{
	return sr_cli_node_main(argc, argv, NULL);
}

int sr_cli_node_main(int argc, char **argv, const struct sr_cli_executor *exe)
{
	static const struct option opts[] = {
		{ "coordinator", required_argument, NULL, 'c' },
		{ "pin", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "home", required_argument, NULL, 'H' },
		{ "name", required_argument, NULL, 'n' },
		{ "job-timeout", required_argument, NULL, 't' },
		{ "append-deadline", required_argument, NULL, 'a' },
		{ "data-listen", required_argument, NULL, 'D' },
		{ "data-advertise", required_argument, NULL, 'A' },
		{ "tcti", required_argument, NULL, 'T' },
		{ "pcr", required_argument, NULL, 'P' },
		{ "ek-chain", required_argument, NULL, 'C' },
		{ "measure", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sr_node_config cfg;
	struct sr_cli cli;
	struct sr_node *node = NULL;
	struct sr_buf url, path;
	struct sr_err err;
	const char *listen_addr = "127.0.0.1:7701";
	const char *cmd = exe ? "executor" : "node", *chain_path = NULL;
	struct sr_tee_executor_config tcfg;
	struct sr_tee_executor *ex = NULL;
	int c, rc, measure = 0;

	memset(&cli, 0, sizeof(cli));
	memset(&cfg, 0, sizeof(cfg));
	memset(&tcfg, 0, sizeof(tcfg));
	tcfg.pcr = SR_TEE_EXECUTOR_PCR;
	sr_err_clear(&err);
	cfg.coordinator = getenv("SEALROOM_COORDINATOR");
	cfg.pin = getenv("SEALROOM_PIN");
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cfg.coordinator = optarg; break;
		case 'p': cfg.pin = optarg; break;
		case 'l': listen_addr = optarg; break;
		case 'H': cli.home = optarg; break;
		case 'n': cfg.name = optarg; break;
		case 't': {
			char *end;
			long s = strtol(optarg, &end, 10);
			if (*end || s < 1 || s > 3600)
				return sr_cli_usage_error(cmd, "--job-timeout must be 1 to 3600 seconds");
			cfg.job_timeout_ms = (int)s * 1000;
			break;
		}
		case 'a': {
			char *end;
			long s = strtol(optarg, &end, 10);
			if (*end || s < 1 || s > SR_APPEND_DEADLINE_MAX_MS / 1000)
				return sr_cli_usage_error(cmd,
					"--append-deadline must be 1 to %d seconds",
					SR_APPEND_DEADLINE_MAX_MS / 1000);
			cfg.append_deadline_ms = (int)s * 1000;
			break;
		}
		case 'D': cfg.data_listen = optarg; break;
		case 'A': cfg.data_advertise = optarg; break;
		case 'T': case 'P': case 'C': case 'M':
			if (!exe)
				return sr_cli_usage_error(cmd, "--%s is an option of 'sealroom executor'",
							  c == 'T' ? "tcti" : c == 'P' ? "pcr" :
							  c == 'C' ? "ek-chain" : "measure");
			if (c == 'T')
				tcfg.tcti = optarg;
			else if (c == 'C')
				chain_path = optarg;
			else if (c == 'M')
				measure = 1;
			else if (strcmp(optarg, "16") == 0 || strcmp(optarg, "23") == 0)
				tcfg.pcr = optarg[0] == '1' ? 16 : 23;
			else
				return sr_cli_usage_error(cmd, "--pcr must be 16 or 23 (the resettable PCRs)");
			break;
		case 'h': fputs(exe ? exe->usage : node_usage, stdout); return SR_EXIT_OK;
		default: return sr_cli_usage_error(cmd, "bad option");
		}
	}
	if (optind != argc)
		return sr_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (measure)
		return exe->measure(tcfg.pcr);
	if (!cfg.coordinator)
		return sr_cli_usage_error(cmd, "--coordinator URL is required");
	if (cfg.data_advertise && !cfg.data_listen)
		return sr_cli_usage_error(cmd, "--data-advertise needs --data-listen");
	if (strncmp(cfg.coordinator, "https://", 8) != 0 &&
	    strncmp(cfg.coordinator, "http://", 7) != 0)
		return sr_cli_usage_error(cmd, "--coordinator: expected https://HOST:PORT");
	rc = sr_cli_resolve_home(&cli, &err);
	if (rc == SR_OK)
		rc = sr_cli_open_key(&cli, &err);
	if (rc) {
		sr_cli_release(&cli);
		return sr_cli_report(&err);
	}
	cfg.home = cli.home;
	cfg.listen = listen_addr;
	if (exe) {
		rc = exe->open(&tcfg, chain_path, &ex, &err);
		cfg.executor = ex;
	}
	if (rc == SR_OK)
		rc = sr_node_start(&cfg, &cli.mk, &node, &err);
	if (rc) {
		sr_tee_executor_free(ex);
		sr_cli_release(&cli);
		return sr_cli_report(&err);
	}
	sr_buf_init(&url, 0);
	sr_buf_init(&path, 0);
	if (sr_buf_addf(&url, "http://%.*s:%u\n",
			(int)(strrchr(listen_addr, ':') - listen_addr), listen_addr,
			(unsigned)sr_node_port(node)) != SR_OK ||
	    sr_path_join(&path, cli.home, "node.url") != SR_OK ||
	    sr_file_write_atomic(path.data, url.data, url.len, 0600, &err) != SR_OK) {
		sr_buf_release(&url);
		sr_buf_release(&path);
		sr_node_stop(node);
		sr_tee_executor_free(ex);
		sr_cli_release(&cli);
		return sr_cli_report(&err);
	}
	sr_cli_catch_stop();
	printf("%s %s (%s) listening on %.*s, coordinator %s%s%s\n", cmd,
	       sr_node_name(node), sr_node_org_id(node), (int)url.len - 1, url.data,
	       cfg.coordinator, sr_node_data_addr(node) ? ", direct path on " : "",
	       sr_node_data_addr(node) ? sr_node_data_addr(node) : "");
	fflush(stdout);
	sr_cli_wait_stop();
	sr_node_stop(node);
	sr_tee_executor_free(ex);
	(void)unlink(path.data);
	sr_buf_release(&url);
	sr_buf_release(&path);
	sr_cli_release(&cli);
	fprintf(stderr, "%s stopped\n", cmd);
	return SR_EXIT_OK;
}

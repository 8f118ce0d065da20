/*
 * cmd_node.c - `sealroom node`: run an organization's node until SIGINT
 * or SIGTERM.
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sr_node_config cfg;
	struct sr_cli cli;
	struct sr_node *node = NULL;
	struct sr_buf url, path;
	struct sr_err err;
	const char *listen_addr = "127.0.0.1:7701";
	int c, rc;

	memset(&cli, 0, sizeof(cli));
	memset(&cfg, 0, sizeof(cfg));
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
				return sr_cli_usage_error("node", "--job-timeout must be 1 to 3600 seconds");
			cfg.job_timeout_ms = (int)s * 1000;
			break;
		}
		case 'a': {
			char *end;
			long s = strtol(optarg, &end, 10);
			if (*end || s < 1 || s > SR_APPEND_DEADLINE_MAX_MS / 1000)
				return sr_cli_usage_error("node",
					"--append-deadline must be 1 to %d seconds",
					SR_APPEND_DEADLINE_MAX_MS / 1000);
			cfg.append_deadline_ms = (int)s * 1000;
			break;
		}
		case 'D': cfg.data_listen = optarg; break;
		case 'A': cfg.data_advertise = optarg; break;
		case 'h': fputs(node_usage, stdout); return SR_EXIT_OK;
		default: return sr_cli_usage_error("node", "bad option");
		}
	}
	if (optind != argc)
		return sr_cli_usage_error("node", "unexpected argument '%s'", argv[optind]);
	if (!cfg.coordinator)
		return sr_cli_usage_error("node", "--coordinator URL is required");
	if (cfg.data_advertise && !cfg.data_listen)
		return sr_cli_usage_error("node", "--data-advertise needs --data-listen");
	if (strncmp(cfg.coordinator, "https://", 8) != 0 &&
	    strncmp(cfg.coordinator, "http://", 7) != 0)
		return sr_cli_usage_error("node", "--coordinator: expected https://HOST:PORT");
	rc = sr_cli_resolve_home(&cli, &err);
	if (rc == SR_OK)
		rc = sr_cli_open_key(&cli, &err);
	if (rc) {
		sr_cli_release(&cli);
		return sr_cli_report(&err);
	}
	cfg.home = cli.home;
	cfg.listen = listen_addr;
	rc = sr_node_start(&cfg, &cli.mk, &node, &err);
	if (rc) {
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
		sr_cli_release(&cli);
		return sr_cli_report(&err);
	}
	sr_cli_catch_stop();
	printf("node %s (%s) listening on %.*s, coordinator %s%s%s\n",
	       sr_node_name(node), sr_node_org_id(node), (int)url.len - 1, url.data,
	       cfg.coordinator, sr_node_data_addr(node) ? ", direct path on " : "",
	       sr_node_data_addr(node) ? sr_node_data_addr(node) : "");
	fflush(stdout);
	sr_cli_wait_stop();
	sr_node_stop(node);
	(void)unlink(path.data);
	sr_buf_release(&url);
	sr_buf_release(&path);
	sr_cli_release(&cli);
	fprintf(stderr, "node stopped\n");
	return SR_EXIT_OK;
}

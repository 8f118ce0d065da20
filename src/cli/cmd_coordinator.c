/*
 * cmd_coordinator.c - `sealroom coordinator`: run the coordinator's HTTP
 * API until SIGINT or SIGTERM.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "coord/coord.h"
#include "base/buf.h"
#include "base/file.h"
#include "net/http.h"
#include "net/tls.h"
#include "base/banned.h"

static const char coordinator_usage[] =
	"usage: sealroom coordinator --listen ADDR --data DIR [--threads N] [--fault F]\n"
	"\n"
	"Run the coordinator: it keeps each project's signed event log and\n"
	"appends an event only if it extends the head, its signature verifies\n"
	"and its author may emit it.  It never holds a data key or row data.\n"
	"It serves HTTPS with a key it generates at the first start (kept in\n"
	"DIR/tls-key.pem); nodes pin that key by the hash printed at start.\n"
	"Stops on SIGINT or SIGTERM.\n"
	"\n"
	"  --listen ADDR   HOST:PORT to listen on (default 127.0.0.1:7700;\n"
	"                  port 0 picks a free port, printed at start)\n"
	"  --data DIR      where coord.db lives (created if missing)\n"
	"  --threads N     request threads (default 16; mailbox fetches wait\n"
	"                  up to 2 s each)\n"
	"  --fault F       TESTING ONLY: misbehave on purpose, to show that\n"
	"                  nodes catch it (docs/threat-model.md): drop:SEQ,\n"
	"                  alter:SEQ, forge:SEQ, reorder:SEQ (events served),\n"
	"                  replay-mail, drop-mail (job mailboxes)\n";

int sr_cmd_coordinator(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "data", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "fault", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_addr = "127.0.0.1:7700", *data = NULL;
	struct sr_http_server *server = NULL;
	struct sr_coord *coord = NULL;
	struct sr_err err;
	struct sr_coord_fault fault = { SR_FAULT_NONE, 0 };
	struct sr_http_server_opts sopts;
	struct sr_buf cert, key;
	char pin[SR_TLS_PIN_MAX];
	unsigned threads = 16;
	int c, rc;

	sr_err_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen_addr = optarg; break;
		case 'd': data = optarg; break;
		case 't': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			if (*end || n == 0 || n > 64)
				return sr_cli_usage_error("coordinator",
					"--threads must be 1 to 64");
			threads = (unsigned)n;
			break;
		}
		case 'f':
			if (sr_coord_fault_parse(optarg, &fault, &err) != SR_OK)
				return sr_cli_usage_error("coordinator", "%s", err.msg);
			break;
		case 'h': fputs(coordinator_usage, stdout); return SR_EXIT_OK;
		default: return sr_cli_usage_error("coordinator", "bad option");
		}
	}
	if (optind != argc)
		return sr_cli_usage_error("coordinator", "unexpected argument '%s'",
					  argv[optind]);
	if (!data)
		return sr_cli_usage_error("coordinator", "--data DIR is required");
	sr_buf_init(&cert, 0);
	sr_buf_init(&key, 0);
	rc = sr_coord_open(data, &coord, &err);
	if (rc == SR_OK)
		rc = sr_tls_ensure_cert(data, pin, &err);
	if (rc == SR_OK && (sr_path_join(&cert, data, SR_TLS_CERT_FILE) != SR_OK ||
			    sr_path_join(&key, data, SR_TLS_KEY_FILE) != SR_OK))
		rc = sr_fail(&err, SR_ENOMEM, "out of memory");
	if (rc == SR_OK && fault.kind != SR_FAULT_NONE) {
		sr_coord_set_fault(coord, &fault);
		fprintf(stderr, "coordinator: WARNING: --fault is set: this coordinator misbehaves on purpose (testing only)\n");
	}
	if (rc == SR_OK) {
		memset(&sopts, 0, sizeof(sopts));
		sopts.threads = threads;
		sopts.tls_cert_file = cert.data;
		sopts.tls_key_file = key.data;
		rc = sr_http_server_start_opts(listen_addr, &sopts, sr_coord_http,
					       coord, &server, &err);
	}
	sr_buf_release(&cert);
	sr_buf_release(&key);
	if (rc) {
		sr_coord_free(coord);
		return sr_cli_report(&err);
	}
	sr_cli_catch_stop();
	printf("coordinator listening on https://%.*s:%u (pin %s)\n",
	       (int)(strrchr(listen_addr, ':') - listen_addr), listen_addr,
	       (unsigned)sr_http_server_port(server), pin);
	printf("data in %s; give nodes the URL and: --pin %s\n", data, pin);
	fflush(stdout);
	sr_cli_wait_stop();
	sr_http_server_stop(server);
	sr_coord_free(coord);
	fprintf(stderr, "coordinator stopped\n");
	return SR_EXIT_OK;
}

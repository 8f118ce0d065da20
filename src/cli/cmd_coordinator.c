/*
 * cmd_coordinator.c - `sealroom coordinator`: run the coordinator's HTTP
 * API until SIGINT or SIGTERM.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "coord/coord.h"
#include "net/http.h"
#include "base/banned.h"

static const char coordinator_usage[] =
	"usage: sealroom coordinator --listen ADDR --data DIR [--threads N]\n"
	"\n"
	"Run the coordinator: it keeps each project's signed event log and\n"
	"appends an event only if it extends the head, its signature verifies\n"
	"and its author may emit it.  It never holds a data key or row data.\n"
	"Stops on SIGINT or SIGTERM.\n"
	"\n"
	"  --listen ADDR   HOST:PORT to listen on (default 127.0.0.1:7700;\n"
	"                  port 0 picks a free port, printed at start)\n"
	"  --data DIR      where coord.db lives (created if missing)\n"
	"  --threads N     request threads (default 2)\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

int sr_cmd_coordinator(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "data", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_addr = "127.0.0.1:7700", *data = NULL;
	struct sr_http_server *server = NULL;
	struct sr_coord *coord = NULL;
	struct sigaction sa;
	struct sr_err err;
	unsigned threads = 2;
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
		case 'h': fputs(coordinator_usage, stdout); return SR_EXIT_OK;
		default: return sr_cli_usage_error("coordinator", "bad option");
		}
	}
	if (optind != argc)
		return sr_cli_usage_error("coordinator", "unexpected argument '%s'",
					  argv[optind]);
	if (!data)
		return sr_cli_usage_error("coordinator", "--data DIR is required");
	rc = sr_coord_open(data, &coord, &err);
	if (rc == SR_OK)
		rc = sr_http_server_start(listen_addr, threads, sr_coord_http,
					  coord, &server, &err);
	if (rc) {
		sr_coord_free(coord);
		return sr_cli_report(&err);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	printf("coordinator listening on http://%.*s:%u (data %s)\n",
	       (int)(strrchr(listen_addr, ':') - listen_addr), listen_addr,
	       (unsigned)sr_http_server_port(server), data);
	fflush(stdout);
	while (!stop_requested)
		pause();
	sr_http_server_stop(server);
	sr_coord_free(coord);
	fprintf(stderr, "coordinator stopped\n");
	return SR_EXIT_OK;
}

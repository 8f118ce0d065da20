/*
 * cmd_coordinator.c - `sealroom coordinator`: run the coordinator's HTTP
 * API until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "coord/coord.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/limits.h"
#include "net/http.h"
#include "net/tls.h"
#include "base/banned.h"

static const char coordinator_usage[] =
	"usage: sealroom coordinator --listen ADDR --data DIR [--threads N]\n"
	"                            [--mailbox-bytes N] [--mailbox-msgs N]\n"
	"                            [--mailbox-retention S] [--org-mailbox-bytes N]\n"
	"                            [--org-open-jobs N] [--org-projects N]\n"
	"                            [--org-events-per-min N] [--disk-floor N]\n"
	"                            [--max-connections N]\n"
	"                            [--max-connections-per-address N] [--fault F]\n"
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
	"  --data DIR      where coord.db lives (created if missing); job\n"
	"                  mailboxes spool to DIR/mail, emptied at every start\n"
	"                  (a job cannot resume after a restart)\n"
	"  --threads N     request threads (default 16), each serving many\n"
	"                  connections; long-polls are parked, holding none\n"
	"  --max-connections N   connections held at a time (default 16384,\n"
	"                  at most 1048576; also bounded by `ulimit -n`)\n"
	"  --max-connections-per-address N   from one address at a time\n"
	"                  (default 1024; a node keeps one or two open, and two\n"
	"                  per peer while a job runs)\n"
	"  --mailbox-bytes N   bytes one job's mailboxes may hold at a time\n"
	"                  (default 256M; suffixes K, M, G; at most 64G)\n"
	"  --mailbox-msgs N    messages one job's mailboxes may hold at a time\n"
	"                  (default 4096, at most 1048576)\n"
	"  --mailbox-retention S   seconds a message waits to be fetched before\n"
	"                  it is deleted (default 3600, at most 604800)\n"
	"Quotas per organization (docs/operations.md, \"Quotas\"):\n"
	"  --org-mailbox-bytes N   bytes it may have in mailboxes, not yet\n"
	"                  fetched, over all its jobs (default 1G; at least 4M,\n"
	"                  at most 1024G)\n"
	"  --org-open-jobs N   its proposals not yet ended (default 64)\n"
	"  --org-projects N    projects it may create (default 100)\n"
	"  --org-events-per-min N  events it may append in one minute\n"
	"                  (default 3000; then 429)\n"
	"For the whole coordinator:\n"
	"  --disk-floor N  free bytes on the --data file system below which\n"
	"                  mailbox deposits are refused with 507 while ledger\n"
	"                  events are still taken (default 256M; 0: none)\n"
	"  --fault F       TESTING ONLY: misbehave on purpose, to show that\n"
	"                  nodes catch it (docs/threat-model.md): drop:SEQ,\n"
	"                  alter:SEQ, forge:SEQ, reorder:SEQ (events served),\n"
	"                  replay-mail, drop-mail (job mailboxes)\n";

/* A positive count, with a K, M or G suffix (powers of 1024) when
 * suffixes; 0 if it is not one. */
static int parse_count(const char *text, int suffixes, uint64_t *out)
{
	unsigned long long n;
	char *end;
	int shift = 0;

	if (!text[0] || text[0] < '0' || text[0] > '9')
		return 0;
	errno = 0;
	n = strtoull(text, &end, 10);
	if (errno || n == 0)
		return 0;
	if (suffixes && *end) {
		switch (*end) {
		case 'K': case 'k': shift = 10; break;
		case 'M': case 'm': shift = 20; break;
		case 'G': case 'g': shift = 30; break;
		default: return 0;
		}
		end++;
	}
	if (*end || n > (UINT64_MAX >> shift))
		return 0;
	*out = (uint64_t)n << shift;
	return 1;
}

int sr_cmd_coordinator(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "data", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "fault", required_argument, NULL, 'f' },
		{ "mailbox-bytes", required_argument, NULL, 'B' },
		{ "mailbox-msgs", required_argument, NULL, 'M' },
		{ "mailbox-retention", required_argument, NULL, 'R' },
		{ "org-mailbox-bytes", required_argument, NULL, 'O' },
		{ "org-open-jobs", required_argument, NULL, 'J' },
		{ "org-projects", required_argument, NULL, 'P' },
		{ "org-events-per-min", required_argument, NULL, 'E' },
		{ "disk-floor", required_argument, NULL, 'D' },
		{ "max-connections", required_argument, NULL, 'x' },
		{ "max-connections-per-address", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_addr = "127.0.0.1:7700", *data = NULL;
	struct sr_http_server *server = NULL;
	struct sr_coord *coord = NULL;
	struct sr_err err;
	struct sr_coord_fault fault = { SR_FAULT_NONE, 0 };
	struct sr_http_server_opts sopts;
	struct sr_coord_opts copts;
	struct sr_buf cert, key;
	char pin[SR_TLS_PIN_MAX];
	unsigned threads = 16;
	uint64_t max_conns = SR_HTTP_CONNECTIONS_DEFAULT, per_address = SR_HTTP_PER_ADDRESS_DEFAULT;
	int c, rc;

	sr_err_clear(&err);
	sr_coord_opts_init(&copts);
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
		case 'B':
			if (!parse_count(optarg, 1, &copts.mail_job_bytes) ||
			    copts.mail_job_bytes > SR_MAILBOX_JOB_BYTES_MAX)
				return sr_cli_usage_error("coordinator",
					"--mailbox-bytes must be 1 to 64G (a number, K, M or G)");
			break;
		case 'M':
			if (!parse_count(optarg, 0, &copts.mail_job_msgs) ||
			    copts.mail_job_msgs > SR_MAILBOX_JOB_MSGS_MAX)
				return sr_cli_usage_error("coordinator",
					"--mailbox-msgs must be 1 to %u", SR_MAILBOX_JOB_MSGS_MAX);
			break;
		case 'R': {
			uint64_t sec;
			if (!parse_count(optarg, 0, &sec) || sec > SR_MAILBOX_RETENTION_MAX_S)
				return sr_cli_usage_error("coordinator",
					"--mailbox-retention must be 1 to %d seconds",
					SR_MAILBOX_RETENTION_MAX_S);
			copts.mail_retention_s = (int64_t)sec;
			break;
		}
		case 'O':
			if (!parse_count(optarg, 1, &copts.org_mail_bytes) ||
			    copts.org_mail_bytes < SR_MAILBOX_MSG_MAX ||
			    copts.org_mail_bytes > SR_QUOTA_ORG_MAIL_BYTES_MAX)
				return sr_cli_usage_error("coordinator",
					"--org-mailbox-bytes must be 4M to 1024G (a number, K, M or G)");
			break;
		case 'J':
			if (!parse_count(optarg, 0, &copts.org_open_jobs) ||
			    copts.org_open_jobs > SR_QUOTA_ORG_OPEN_JOBS_MAX)
				return sr_cli_usage_error("coordinator",
					"--org-open-jobs must be 1 to %d", SR_QUOTA_ORG_OPEN_JOBS_MAX);
			break;
		case 'P':
			if (!parse_count(optarg, 0, &copts.org_projects) ||
			    copts.org_projects > SR_QUOTA_ORG_PROJECTS_MAX)
				return sr_cli_usage_error("coordinator",
					"--org-projects must be 1 to %d", SR_QUOTA_ORG_PROJECTS_MAX);
			break;
		case 'E':
			if (!parse_count(optarg, 0, &copts.org_events_per_min) ||
			    copts.org_events_per_min > SR_QUOTA_ORG_EVENTS_PER_MIN_MAX)
				return sr_cli_usage_error("coordinator",
					"--org-events-per-min must be 1 to %d",
					SR_QUOTA_ORG_EVENTS_PER_MIN_MAX);
			break;
		case 'D':
			if (strcmp(optarg, "0") == 0)
				copts.disk_floor_bytes = 0;
			else if (!parse_count(optarg, 1, &copts.disk_floor_bytes) ||
				 copts.disk_floor_bytes > SR_DISK_FLOOR_MAX)
				return sr_cli_usage_error("coordinator",
					"--disk-floor must be 0 to 1048576G (a number, K, M or G)");
			break;
		case 'x':
			if (!parse_count(optarg, 0, &max_conns) ||
			    max_conns > SR_HTTP_CONNECTIONS_MAX)
				return sr_cli_usage_error("coordinator",
					"--max-connections must be 1 to %u", SR_HTTP_CONNECTIONS_MAX);
			break;
		case 'p':
			if (!parse_count(optarg, 0, &per_address) ||
			    per_address > SR_HTTP_CONNECTIONS_MAX)
				return sr_cli_usage_error("coordinator",
					"--max-connections-per-address must be 1 to %u",
					SR_HTTP_CONNECTIONS_MAX);
			break;
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
	rc = sr_coord_open_opts(data, &copts, &coord, &err);
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
		sopts.max_connections = (unsigned)max_conns;
		sopts.max_per_address = (unsigned)per_address;
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
	sr_coord_attach_server(coord, server);
	sr_cli_catch_stop();
	printf("coordinator listening on https://%.*s:%u (pin %s)\n",
	       (int)(strrchr(listen_addr, ':') - listen_addr), listen_addr,
	       (unsigned)sr_http_server_port(server), pin);
	printf("data in %s; give nodes the URL and: --pin %s\n", data, pin);
	fflush(stdout);
	sr_cli_wait_stop();
	sr_coord_stop_waits(coord);   /* long-polls would hold up the stop */
	sr_coord_attach_server(coord, NULL);
	sr_http_server_stop(server);
	sr_coord_free(coord);
	fprintf(stderr, "coordinator stopped\n");
	return SR_EXIT_OK;
}

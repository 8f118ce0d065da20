/*
 * bench_dataplane.c - the bulk data plane benchmark (driven by
 * bench/dataplane; not a timed test).
 *
 *   bench_dataplane relay [BYTES [MSG]]
 *       a coordinator as a real process over HTTPS (sealroom coordinator)
 *       and two parties as real processes, each with the real job
 *       channel (sr_jobchan) over the HTTP mailbox client
 *       (net/mailclient.h), in a job the bench builds on the coordinator
 *       by signed events (tests/support/world.h): A sends BYTES (default
 *       1 GiB) in messages of MSG bytes (default 4 MiB) to B, then 1,000
 *       round trips of 64 bytes.  Prints the throughput, the round trip
 *       (median, p90, p99), the coordinator's CPU seconds per GiB
 *       relayed and the peak RSS of the three processes.
 *   bench_dataplane idle [SECONDS]
 *       a real `sealroom node` following one project with a real
 *       coordinator: its CPU over SECONDS (default 30) of idling, then
 *       the latency from an event appended (by another organization,
 *       through the library) to the node having it, over 20 events.
 *
 * The sealroom binary is $SEALROOM, or `sealroom` beside this program.
 * Output: one line per figure, "bench NAME key=value ...".
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/json.h"
#include "base/limits.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "net/coordconn.h"
#include "net/http.h"
#include "net/jobchan.h"
#include "net/mailclient.h"
#include "world.h"
#include "base/banned.h"

#define MIB (1024.0 * 1024.0)
#define RTT_ROUNDS 1000
#define RTT_BYTES 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const struct sr_err *err)
{
	fprintf(stderr, "bench_dataplane: %s%s%s\n", what, err ? ": " : "",
		err ? err->msg : "");
	exit(1);
}

/* user + system CPU seconds of a process, from /proc. */
static double proc_cpu_s(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');   /* the name may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Peak resident set of a running process (VmHWM), MiB. */
static double proc_peak_rss_mib(pid_t pid)
{
	char path[64], line[256];
	double kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %lf kB", &kib) == 1)
			break;
	fclose(f);
	return kib / 1024.0;
}

static const char *sealroom_bin(char *buf, size_t len, const char *argv0)
{
	const char *env = getenv("SEALROOM");
	const char *slash = strrchr(argv0, '/');

	if (env)
		return env;
	if (slash)
		snprintf(buf, len, "%.*s/sealroom", (int)(slash - argv0), argv0);
	else
		snprintf(buf, len, "./sealroom");
	return buf;
}

static char *make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path = malloc(600);

	if (!path)
		exit(1);
	snprintf(path, 600, "%s/sr-bench-dataplane-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(path))
		die("mkdtemp", NULL);
	return path;
}

/* ---- relay ------------------------------------------------------------------ */

struct relay {
	struct sr_world_coord coord;
	struct sr_world w;
	struct sr_identity ids[2];
	uint64_t bytes;
	size_t msg;
};

/* What a party process reports to the parent (over a pipe). */
struct report {
	int rc;
	struct sr_err err;
	double bulk_s;                 /* A: first send to B's ack */
	double rtt_us[RTT_ROUNDS];     /* A */
	double cpu_s;
	long rss_kib;
};

static int open_channel(struct relay *r, int who, struct sr_mailclient **mc,
			struct sr_mailbox_ops *ops, struct sr_jobchan **ch,
			struct sr_err *err)
{
	struct sr_mailclient_params mp = {
		.url = r->coord.url, .pin = r->coord.pin, .self = &r->ids[who],
		.project = r->w.project, .job_hex = r->w.job_hex,
	};
	struct sr_jobchan_params prm;
	int rc = sr_mailclient_new(&mp, mc, err);

	if (rc)
		return rc;
	sr_mailclient_ops(*mc, ops);
	memset(&prm, 0, sizeof(prm));
	prm.project = r->w.project;
	prm.job_id = r->w.job_id;
	prm.head = r->w.head;
	prm.self = &r->ids[who];
	prm.parties = r->w.parties;
	prm.nparties = r->w.nparties;
	prm.ops = ops;
	prm.timeout_ms = 120000;
	return sr_jobchan_open(&prm, ch, err);
}

static void party(struct relay *r, int who, int fd)
{
	const char *peer = r->ids[1 - who].org_id;
	struct sr_mailclient *mc = NULL;
	struct sr_mailbox_ops ops;
	struct sr_jobchan *ch = NULL;
	struct report rep;
	struct sr_buf msg;
	struct rusage ru;
	uint8_t *buf = NULL;
	uint64_t left;
	int rc;

	memset(&rep, 0, sizeof(rep));
	sr_err_clear(&rep.err);
	sr_buf_init(&msg, SR_FRAME_MAX);
	rc = sr_http_global_init();
	if (rc == SR_OK)
		rc = open_channel(r, who, &mc, &ops, &ch, &rep.err);
	if (rc == SR_OK && !(buf = malloc(r->msg)))
		rc = SR_ENOMEM;
	if (rc == SR_OK) {
		/* Not all zeros: the sealed bytes look random anyway. */
		for (size_t i = 0; i < r->msg; i++)
			buf[i] = (uint8_t)(i * 7 + 3);
	}
	/* Bulk: A -> B, then B's ack. */
	if (rc == SR_OK && who == 0) {
		double t0 = now();
		for (left = r->bytes; rc == SR_OK && left > 0;) {
			size_t n = left < r->msg ? (size_t)left : r->msg;
			rc = sr_jobchan_send(ch, peer, 1, buf, n, &rep.err);
			left -= n;
		}
		if (rc == SR_OK)
			rc = sr_jobchan_recv(ch, peer, 2, &msg, 16, &rep.err);
		rep.bulk_s = now() - t0;
	} else if (rc == SR_OK) {
		for (left = r->bytes; rc == SR_OK && left > 0;) {
			rc = sr_jobchan_recv(ch, peer, 1, &msg, SR_FRAME_MAX, &rep.err);
			if (rc == SR_OK && (msg.len == 0 || msg.len > left))
				rc = sr_fail(&rep.err, SR_EPROTO, "bulk: got %zu bytes",
					     msg.len);
			if (rc == SR_OK)
				left -= msg.len;
		}
		if (rc == SR_OK)
			rc = sr_jobchan_send(ch, peer, 2, (const uint8_t *)"ack", 3,
					     &rep.err);
	}
	/* Round trips of 64 bytes. */
	for (int i = 0; rc == SR_OK && i < RTT_ROUNDS; i++) {
		if (who == 0) {
			double t0 = now();
			rc = sr_jobchan_send(ch, peer, 3, buf, RTT_BYTES, &rep.err);
			if (rc == SR_OK)
				rc = sr_jobchan_recv(ch, peer, 4, &msg, RTT_BYTES,
						     &rep.err);
			rep.rtt_us[i] = (now() - t0) * 1e6;
		} else {
			rc = sr_jobchan_recv(ch, peer, 3, &msg, RTT_BYTES, &rep.err);
			if (rc == SR_OK)
				rc = sr_jobchan_send(ch, peer, 4, (const uint8_t *)msg.data, msg.len,
						     &rep.err);
		}
	}
	sr_jobchan_free(ch);
	sr_mailclient_free(mc);
	free(buf);
	sr_buf_release(&msg);
	getrusage(RUSAGE_SELF, &ru);
	rep.rc = rc;
	rep.cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	rep.rss_kib = ru.ru_maxrss;
	if (sr_write_all(fd, &rep, sizeof(rep), "report", NULL) != SR_OK)
		_exit(2);
	_exit(rc ? 1 : 0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int read_report(int fd, struct report *rep)
{
	size_t got = 0;

	while (got < sizeof(*rep)) {
		ssize_t n = read(fd, (char *)rep + got, sizeof(*rep) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int relay_main(const char *bin, uint64_t bytes, size_t msg_size)
{
	static struct relay r;
	struct report reps[2];
	struct sr_err err;
	char *tmp = make_tmpdir(), dir[700];
	pid_t pids[2];
	int fds[2][2];
	double cpu0, cpu1, rss_coord;

	sr_err_clear(&err);
	r.bytes = bytes;
	r.msg = msg_size;
	for (int i = 0; i < 2; i++) {
		sr_identity_init(&r.ids[i]);
		if (sr_identity_generate(&r.ids[i], &err) != SR_OK)
			die("identity", &err);
	}
	snprintf(dir, sizeof(dir), "%s/coord", tmp);
	if (sr_world_coord_start(bin, dir, NULL, &r.coord, &err) != SR_OK)
		die("coordinator", &err);
	if (sr_http_global_init() != SR_OK ||
	    sr_world_build(r.coord.url, r.coord.pin, r.ids, 2, &r.w, &err) != SR_OK)
		die("world", &err);
	cpu0 = proc_cpu_s(r.coord.pid);
	for (int i = 0; i < 2; i++) {
		if (pipe(fds[i]) != 0)
			die("pipe", NULL);
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork", NULL);
		if (pids[i] == 0) {
			close(fds[i][0]);
			party(&r, i, fds[i][1]);
		}
		close(fds[i][1]);
	}
	for (int i = 0; i < 2; i++) {
		int status;
		if (read_report(fds[i][0], &reps[i]) != 0)
			die("a party died without a report", NULL);
		close(fds[i][0]);
		waitpid(pids[i], &status, 0);
	}
	cpu1 = proc_cpu_s(r.coord.pid);
	rss_coord = proc_peak_rss_mib(r.coord.pid);
	sr_world_coord_stop(&r.coord);
	for (int i = 0; i < 2; i++)
		if (reps[i].rc)
			fprintf(stderr, "bench_dataplane: party %c: %s\n", 'A' + i, reps[i].err.msg);
	if (reps[0].rc || reps[1].rc)
		exit(1);
	qsort(reps[0].rtt_us, RTT_ROUNDS, sizeof(double), cmp_double);
	printf("bench relay bytes=%" PRIu64 " msg=%zu wall_s=%.3f mib_s=%.1f\n", bytes, msg_size,
	       reps[0].bulk_s, (double)bytes / MIB / reps[0].bulk_s);
	printf("bench rtt bytes=%d rounds=%d median_ms=%.3f p90_ms=%.3f p99_ms=%.3f\n", RTT_BYTES,
	       RTT_ROUNDS, reps[0].rtt_us[RTT_ROUNDS / 2] / 1000,
	       reps[0].rtt_us[RTT_ROUNDS * 9 / 10] / 1000,
	       reps[0].rtt_us[RTT_ROUNDS * 99 / 100] / 1000);
	printf("bench coordinator cpu_s=%.2f cpu_s_per_gib=%.2f\n", cpu1 - cpu0,
	       (cpu1 - cpu0) / ((double)bytes / (MIB * 1024)));
	printf("bench rss coordinator_mib=%.1f sender_mib=%.1f receiver_mib=%.1f sender_cpu_s=%.2f receiver_cpu_s=%.2f\n",
	       rss_coord, reps[0].rss_kib / 1024.0, reps[1].rss_kib / 1024.0, reps[0].cpu_s,
	       reps[1].cpu_s);
	{
		struct sr_err ignored;
		if (sr_rm_rf(tmp, &ignored) != SR_OK)
			fprintf(stderr, "bench_dataplane: could not remove %s\n", tmp);
	}
	free(tmp);
	return 0;
}

int main(int argc, char **argv)
{
	char binbuf[600];
	const char *bin = sealroom_bin(binbuf, sizeof(binbuf), argv[0]);

	sr_alloc_setup_json();
	if (sr_crypto_init() != SR_OK)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "relay") == 0) {
		uint64_t bytes = argc >= 3 ? strtoull(argv[2], NULL, 10) : (1ull << 30);
		size_t msg = argc >= 4 ? (size_t)strtoull(argv[3], NULL, 10) : (4u << 20);
		if (bytes == 0 || msg == 0 || msg > SR_FRAME_MAX)
			die("relay: BYTES and MSG must be positive, MSG at most 16 MiB", NULL);
		return relay_main(bin, bytes, msg);
	}
	fprintf(stderr, "usage: bench_dataplane relay [BYTES [MSG]] | idle [SECONDS]\n");
	return 2;
}

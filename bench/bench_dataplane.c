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
 *   bench_dataplane direct [BYTES [MSG]]
 *       the same, with both parties listening for each other (the direct
 *       path, net/direct.h): the coordinator relays the hellos and the
 *       PATH messages, the payload goes over loopback TCP between them.
 *   bench_dataplane idle [SECONDS]
 *       a real `sealroom node` following one project with a real
 *       coordinator: its CPU over SECONDS (default 30) of idling, then
 *       the latency from an event appended (by another organization,
 *       through the library) to the node having it, over 20 events.
 *
 * The sealroom binary is $SEALROOM, or `sealroom` beside this program.
 * Output: one line per figure, "bench NAME key=value ...".
 */
#include <dirent.h>
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
#include "net/direct.h"
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

/* CPU seconds of every thread of a process, to the nanosecond (the sum of
 * /proc/PID/task/TID/schedstat), where clock ticks are too coarse for an
 * idle process; threads that ended are not counted, so for the idle
 * measure only. */
static double proc_cpu_ns_s(pid_t pid)
{
	char path[96], line[128];
	unsigned long long ns, total = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		FILE *f;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.20s/schedstat", (int)pid, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(line, sizeof(line), f) && sscanf(line, "%llu", &ns) == 1)
			total += ns;
		fclose(f);
	}
	closedir(d);
	return (double)total / 1e9;
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
	int direct;                    /* parties listen: the direct path */
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
	double coord_cpu_s;            /* A: the coordinator's CPU over the bulk */
	double rtt_us[RTT_ROUNDS];     /* A */
	double cpu_s;
	long rss_kib;
};

static int open_channel(struct relay *r, int who, struct sr_mailclient **mc,
			struct sr_mailbox_ops *ops, struct sr_direct **direct,
			struct sr_jobchan **ch, struct sr_err *err)
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
	if (r->direct) {
		rc = sr_direct_new("127.0.0.1:0", NULL, direct, err);
		if (rc)
			return rc;
		ops->direct = *direct;
	}
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
	struct sr_direct *direct = NULL;
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
		rc = open_channel(r, who, &mc, &ops, &direct, &ch, &rep.err);
	if (rc == SR_OK && !(buf = malloc(r->msg)))
		rc = SR_ENOMEM;
	if (rc == SR_OK) {
		/* Not all zeros: the sealed bytes look random anyway. */
		for (size_t i = 0; i < r->msg; i++)
			buf[i] = (uint8_t)(i * 7 + 3);
	}
	/* Bulk: A -> B, then B's ack. */
	if (rc == SR_OK && who == 0) {
		double c0 = proc_cpu_s(r->coord.pid), t0 = now();
		for (left = r->bytes; rc == SR_OK && left > 0;) {
			size_t n = left < r->msg ? (size_t)left : r->msg;
			rc = sr_jobchan_send(ch, peer, 1, buf, n, &rep.err);
			left -= n;
		}
		if (rc == SR_OK)
			rc = sr_jobchan_recv(ch, peer, 2, &msg, 16, &rep.err);
		rep.bulk_s = now() - t0;
		rep.coord_cpu_s = proc_cpu_s(r->coord.pid) - c0;
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
	sr_direct_free(direct);
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

static int relay_main(const char *bin, uint64_t bytes, size_t msg_size, int direct)
{
	static struct relay r;
	const char *name = direct ? "direct" : "relay";
	struct report reps[2];
	struct sr_err err;
	char *tmp = make_tmpdir(), dir[700];
	pid_t pids[2];
	int fds[2][2];
	double cpu0, cpu1, rss_coord;

	sr_err_clear(&err);
	r.bytes = bytes;
	r.msg = msg_size;
	r.direct = direct;
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
	/* What a new connection costs (a TLS handshake, no CA bundle), and a
	 * call on a kept one. */
	if (!direct) {
		double first[5], again[5];
		for (int k = 0; k < 5; k++) {
			struct sr_coordconn *cc = NULL;
			int status;
			double t0 = now();
			if (sr_coordconn_new(r.coord.url, r.coord.pin, &r.ids[0], &cc, &err) != SR_OK ||
			    sr_coordconn_json(cc, "GET", "/v1/invitations", NULL, 5000, &status, NULL,
					      &err) != SR_OK)
				die("connect", &err);
			first[k] = (now() - t0) * 1000;
			t0 = now();
			if (sr_coordconn_json(cc, "GET", "/v1/invitations", NULL, 5000, &status, NULL,
					      &err) != SR_OK)
				die("call", &err);
			again[k] = (now() - t0) * 1000;
			sr_coordconn_free(cc);
		}
		qsort(first, 5, sizeof(double), cmp_double);
		qsort(again, 5, sizeof(double), cmp_double);
		printf("bench connect new_connection_call_ms=%.2f kept_connection_call_ms=%.2f\n",
		       first[2], again[2]);
	}
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
	printf("bench %s bytes=%" PRIu64 " msg=%zu wall_s=%.3f mib_s=%.1f\n", name, bytes,
	       msg_size, reps[0].bulk_s, (double)bytes / MIB / reps[0].bulk_s);
	printf("bench %s rounds=%d bytes=%d median_ms=%.3f p90_ms=%.3f p99_ms=%.3f\n",
	       direct ? "direct_rtt" : "rtt", RTT_ROUNDS, RTT_BYTES,
	       reps[0].rtt_us[RTT_ROUNDS / 2] / 1000,
	       reps[0].rtt_us[RTT_ROUNDS * 9 / 10] / 1000,
	       reps[0].rtt_us[RTT_ROUNDS * 99 / 100] / 1000);
	printf("bench %s bulk_cpu_s=%.2f cpu_s_per_gib=%.2f total_cpu_s=%.2f\n",
	       direct ? "direct_coordinator" : "coordinator", reps[0].coord_cpu_s, reps[0].coord_cpu_s / ((double)bytes / (MIB * 1024)),
	       cpu1 - cpu0);
	printf("bench %s coordinator_mib=%.1f sender_mib=%.1f receiver_mib=%.1f sender_cpu_s=%.2f receiver_cpu_s=%.2f\n",
	       direct ? "direct_rss" : "rss", rss_coord, reps[0].rss_kib / 1024.0,
	       reps[1].rss_kib / 1024.0, reps[0].cpu_s, reps[1].cpu_s);
	{
		struct sr_err ignored;
		if (sr_rm_rf(tmp, &ignored) != SR_OK)
			fprintf(stderr, "bench_dataplane: could not remove %s\n", tmp);
	}
	free(tmp);
	return 0;
}

/* ---- idle ----------------------------------------------------------------------- */

/* Run a command, its stdout (at most cap bytes) into out. */
static int run_capture(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	if (!p)
		return -1;
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	return pclose(p) == 0 ? 0 : -1;
}

/* A string field of a JSON text, into out. */
static int json_field(const char *text, const char *key, char *out, size_t cap)
{
	json_t *doc = NULL;
	struct sr_err err;
	const char *v;
	int rc = -1;

	if (sr_json_parse(text, strlen(text), "output", &doc, &err) == SR_OK &&
	    (v = json_string_value(json_object_get(doc, key))) && strlen(v) < cap) {
		memcpy(out, v, strlen(v) + 1);
		rc = 0;
	}
	json_decref(doc);
	return rc;
}

static pid_t start_node(const char *bin, const char *home, const struct sr_world_coord *c)
{
	char out[800], errf[800];
	pid_t pid;

	snprintf(out, sizeof(out), "%s.out", home);
	snprintf(errf, sizeof(errf), "%s.err", home);
	pid = fork();
	if (pid == 0) {
		FILE *o = freopen(out, "w", stdout), *e = freopen(errf, "w", stderr);
		(void)o;
		(void)e;
		execl(bin, bin, "node", "--home", home, "--coordinator", c->url, "--pin", c->pin,
		      "--listen", "127.0.0.1:0", "--name", "bank", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* The node API: method path body (may be NULL) -> answer. */
static json_t *node_call(const char *base, const char *token, const char *method,
			 const char *path, json_t *body)
{
	char url[300];
	struct sr_err err;
	json_t *ans = NULL;
	int status;

	sr_err_clear(&err);
	snprintf(url, sizeof(url), "%s%s", base, path);
	if (sr_http_call(method, url, body, token, 10000, &status, &ans, &err) != SR_OK ||
	    status >= 300) {
		fprintf(stderr, "bench_dataplane: %s %s: %d %s\n", method, path, status, err.msg);
		exit(1);
	}
	json_decref(body);
	return ans;
}

static uint64_t node_next_seq(struct sr_http_client *c, const char *token, const char *path)
{
	char auth[200];
	struct sr_http_req rq;
	struct sr_http_answer ans;
	struct sr_buf out;
	struct sr_err err;
	json_t *doc = NULL;
	uint64_t n = 0;

	sr_err_clear(&err);
	sr_buf_init(&out, 4 << 20);
	snprintf(auth, sizeof(auth), "Bearer %s", token);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.path = path;
	rq.authorization = auth;
	rq.timeout_ms = 5000;
	memset(&ans, 0, sizeof(ans));
	ans.body = &out;
	if (sr_http_client_call(c, &rq, &ans, &err) == SR_OK && ans.status == 200 &&
	    sr_json_parse(out.data, out.len, "answer", &doc, &err) == SR_OK)
		n = (uint64_t)json_integer_value(json_object_get(json_object_get(doc, "sync"),
								 "next_seq"));
	json_decref(doc);
	sr_buf_release(&out);
	return n;
}

#define LATENCY_EVENTS 20

static int idle_main(const char *bin, int seconds)
{
	struct sr_world_coord coord;
	struct sr_identity other;
	struct sr_world w;
	struct sr_err err;
	struct sr_http_client *poll = NULL;
	char *tmp = make_tmpdir(), dir[700], home[640], cmd[2000], out[8192], token[200];
	char url_path[800], base[200], project[SR_PROJECT_ID_MAX + 1], path[300];
	double cpu0, cpu1, lat[LATENCY_EVENTS];
	pid_t node;
	json_t *ans;

	sr_err_clear(&err);
	sr_identity_init(&other);
	if (sr_identity_generate(&other, &err) != SR_OK)
		die("identity", &err);
	snprintf(dir, sizeof(dir), "%s/coord", tmp);
	if (sr_world_coord_start(bin, dir, NULL, &coord, &err) != SR_OK)
		die("coordinator", &err);
	if (sr_http_global_init() != SR_OK)
		die("curl", NULL);
	/* A real node home, with a token for its admin. */
	snprintf(home, sizeof(home), "%s/bank", tmp);
	snprintf(cmd, sizeof(cmd), "'%s' init --home '%s' --key-provider file --json 2>/dev/null",
		 bin, home);
	if (run_capture(cmd, out, sizeof(out)) != 0)
		die("sealroom init", NULL);
	snprintf(cmd, sizeof(cmd), "'%s' token create bench --role admin --home '%s' --json 2>/dev/null",
		 bin, home);
	if (run_capture(cmd, out, sizeof(out)) != 0 || json_field(out, "token", token, sizeof(token)))
		die("sealroom token create", NULL);
	node = start_node(bin, home, &coord);
	snprintf(url_path, sizeof(url_path), "%s/node.url", home);
	for (int i = 0; i < 1000; i++) {
		struct sr_buf u;
		sr_buf_init(&u, 256);
		if (sr_file_read_all(url_path, 256, &u, &err) == SR_OK && u.len > 8) {
			snprintf(base, sizeof(base), "%.*s", (int)strcspn(u.data, "\n"), u.data);
			sr_buf_release(&u);
			break;
		}
		sr_buf_release(&u);
		sr_err_clear(&err);
		usleep(10000);
		if (i == 999)
			die("the node did not start", NULL);
	}
	/* One project, with another organization (this program) in it. */
	ans = node_call(base, token, "POST", "/v1/projects", json_pack("{s:s}", "name", "bench"));
	{
		const char *p = json_string_value(json_object_get(ans, "project"));
		if (!p || strlen(p) > SR_PROJECT_ID_MAX)
			die("project create: no project id", NULL);
		memcpy(project, p, strlen(p) + 1);
	}
	json_decref(ans);
	snprintf(path, sizeof(path), "/v1/projects/%s/invite", project);
	json_decref(node_call(base, token, "POST", path, json_pack("{s:s}", "org_id", other.org_id)));
	if (sr_world_join(coord.url, coord.pin, &other, project, &w, &err) != SR_OK)
		die("join", &err);
	sleep(2);   /* let the node see the join and settle into its long-poll */

	/* Idle: the node's CPU over the window. */
	cpu0 = proc_cpu_ns_s(node);
	sleep((unsigned)seconds);
	cpu1 = proc_cpu_ns_s(node);
	printf("bench idle seconds=%d node_cpu_ms=%.2f core_pct=%.4f\n", seconds,
	       (cpu1 - cpu0) * 1000, (cpu1 - cpu0) / seconds * 100);

	/* Latency: an event appended by the other organization until the
	 * node has folded it (asked every 2 ms). */
	if (sr_http_client_new(base, NULL, &poll, &err) != SR_OK)
		die("client", &err);
	snprintf(path, sizeof(path), "/v1/projects/%s", project);
	for (int i = 0; i < LATENCY_EVENTS; i++) {
		char name[32];
		json_t *ds = NULL;
		double t0;
		uint64_t want;

		snprintf(name, sizeof(name), "d%d", i);
		if (sr_world_dataset_body(name, &ds, &err) != SR_OK)
			die("dataset", &err);
		want = w.next_seq + 1;
		if (sr_world_event(coord.url, coord.pin, &w, &other, SR_EVENT_DATASET_PUBLISH, ds,
				   &err) != SR_OK)
			die("event", &err);
		t0 = now();
		while (node_next_seq(poll, token, path) < want) {
			if (now() - t0 > 10)
				die("the node did not see an event within 10 s", NULL);
			usleep(2000);
		}
		lat[i] = (now() - t0) * 1000;
		usleep(200 * 1000);
	}
	qsort(lat, LATENCY_EVENTS, sizeof(double), cmp_double);
	printf("bench event_latency events=%d median_ms=%.1f max_ms=%.1f\n", LATENCY_EVENTS,
	       lat[LATENCY_EVENTS / 2], lat[LATENCY_EVENTS - 1]);
	sr_http_client_free(poll);
	kill(node, SIGTERM);
	waitpid(node, NULL, 0);
	sr_world_coord_stop(&coord);
	sr_identity_release(&other);
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
	if (argc >= 2 && (strcmp(argv[1], "relay") == 0 || strcmp(argv[1], "direct") == 0)) {
		uint64_t bytes = argc >= 3 ? strtoull(argv[2], NULL, 10) : (1ull << 30);
		size_t msg = argc >= 4 ? (size_t)strtoull(argv[3], NULL, 10) : (4u << 20);
		if (bytes == 0 || msg == 0 || msg > SR_FRAME_MAX)
			die("relay: BYTES and MSG must be positive, MSG at most 16 MiB", NULL);
		return relay_main(bin, bytes, msg, strcmp(argv[1], "direct") == 0);
	}
	if (argc >= 2 && strcmp(argv[1], "idle") == 0) {
		int seconds = argc >= 3 ? (int)strtol(argv[2], NULL, 10) : 30;
		if (seconds < 1 || seconds > 3600)
			die("idle: SECONDS must be 1 to 3600", NULL);
		return idle_main(bin, seconds);
	}
	fprintf(stderr, "usage: bench_dataplane relay|direct [BYTES [MSG]] | idle [SECONDS]\n");
	return 2;
}

/*
 * bench_load.c - connections under attack (issue 16, docs/operations.md
 * "Connections"), used by bench/load for the figures and by tests/load/
 * for the checks.  All on loopback, real processes.
 *
 *   coord  starts a real coordinator (tests/support/world.h) and builds a
 *          project of two organizations; an attacker holds CONNS idle TCP
 *          connections (reopening whatever the server closes, from source
 *          addresses 127.0.0.2 and up, PER_ADDR each) and SLOW clients
 *          that send a TLS ClientHello one byte a second; meanwhile a
 *          member sends a signed GET of the project's head every 50 ms,
 *          each on a new connection (a TLS handshake each: the hard case).
 *   node   the same attack on a node's local API (plain HTTP; slow
 *          clients send a header line a second), while a client with a
 *          valid token asks GET /v1/status every 50 ms on new connections.
 *   fire   many requests at once, a thread each (see fire_main).
 *   sybil  two self-registered organizations with projects of their own
 *          (a coordinator started with --org-mailbox-bytes QUOTA) flood
 *          the mailboxes of JOBS approved jobs each way with 4 MiB
 *          messages nobody fetches, until the coordinator refuses; then
 *          the bytes it holds and the size of its data directory against
 *          the bound the quotas set (2 x QUOTA), and the time it took.
 *
 * Prints one line of figures: connections held (sampled each second),
 * what the server closed, the longest a slow client lived, and the member
 * requests: how many, % answered, p50/p99/max latency.  --check makes the
 * exit status say whether the targets were met: 100% answered, p99 within
 * --p99 ms, no slow client alive past --slow-max seconds (default: the
 * header deadline + 2.5 s, for the timer's tick and a loaded machine), and
 * at least 90% of the connections held.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <ftw.h>
#include <inttypes.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/limits.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "net/coordconn.h"
#include "net/http.h"
#include "net/jobchan.h"
#include "net/mailclient.h"
#include "world.h"

static void die(const char *what, const struct sr_err *err)
{
	fprintf(stderr, "bench_load: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the attacker ------------------------------------------------------------- */

/* The first bytes a TLS client sends: a ClientHello record header and the
 * start of its body, sent a byte a second by a slow client. */
static const unsigned char slow_tls[] = {
	0x16, 0x03, 0x01, 0x00, 0x4f, 0x01, 0x00, 0x00, 0x4b, 0x03, 0x03,
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};
static const char slow_http[] = "GET /v1/status HTTP/1.1\r\nHost: x\r\n"
	"X-1: a\r\nX-2: a\r\nX-3: a\r\nX-4: a\r\nX-5: a\r\nX-6: a\r\nX-7: a\r\n"
	"X-8: a\r\nX-9: a\r\nX-10: a\r\nX-11: a\r\nX-12: a\r\nX-13: a\r\n"
	"X-14: a\r\nX-15: a\r\nX-16: a\r\nX-17: a\r\nX-18: a\r\nX-19: a\r\n";

struct slot {
	int fd;             /* -1: closed, to reopen at reopen_at */
	int slow;
	size_t sent;        /* slow: how far into its bytes */
	double opened, reopen_at;
};

struct attack {
	struct sockaddr_in target;
	int tls;            /* slow clients speak TLS (else HTTP header lines) */
	size_t conns, slow, per_addr;
	struct slot *slots;
	int ep;
	atomic_int stop;
	/* Figures. */
	uint64_t opened, closed_by_server, connect_failed;
	double slow_longest_s;
	uint64_t held_sum, held_samples, held_min;
};

static void slot_open(struct attack *a, size_t i)
{
	struct slot *s = &a->slots[i];
	struct sockaddr_in src;
	struct epoll_event ev;
	int fd, one = 1;

	s->fd = -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		a->connect_failed++;
		s->reopen_at = now_s() + 0.5;
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	/* 127.0.0.2 and up: PER_ADDR connections from each address. */
	src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(i / a->per_addr));
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
	    (connect(fd, (struct sockaddr *)&a->target, sizeof(a->target)) != 0 &&
	     errno != EINPROGRESS)) {
		close(fd);
		a->connect_failed++;
		s->reopen_at = now_s() + 0.5;
		return;
	}
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.u64 = i;
	if (epoll_ctl(a->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		close(fd);
		a->connect_failed++;
		s->reopen_at = now_s() + 0.5;
		return;
	}
	s->fd = fd;
	s->sent = 0;
	s->opened = now_s();
	a->opened++;
}

static void slot_closed(struct attack *a, size_t i)
{
	struct slot *s = &a->slots[i];
	double life = now_s() - s->opened;

	epoll_ctl(a->ep, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	s->reopen_at = now_s() + 0.1;   /* and again, as the attacker does */
	a->closed_by_server++;
	if (s->slow && life > a->slow_longest_s)
		a->slow_longest_s = life;
}

static void *attack_main(void *arg)
{
	struct attack *a = arg;
	struct epoll_event evs[256];
	double next_drip = now_s() + 1, next_sample = now_s() + 1, next_reopen = 0;
	char buf[4096];

	for (size_t i = 0; i < a->conns + a->slow; i++)
		slot_open(a, i);
	while (!atomic_load(&a->stop)) {
		int n = epoll_wait(a->ep, evs, 256, 50);
		double t = now_s();

		for (int k = 0; k < n; k++) {
			size_t i = (size_t)evs[k].data.u64;
			struct slot *s = &a->slots[i];
			ssize_t got;

			if (s->fd < 0)
				continue;
			got = recv(s->fd, buf, sizeof(buf), 0);
			if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR) ||
			    (evs[k].events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)))
				slot_closed(a, i);
		}
		if (t >= next_reopen) {
			for (size_t i = 0; i < a->conns + a->slow; i++)
				if (a->slots[i].fd < 0 && a->slots[i].reopen_at <= t)
					slot_open(a, i);
			next_reopen = t + 0.1;
		}
		if (t >= next_drip) {
			/* Each slow client sends its next byte (TLS) or line (HTTP). */
			for (size_t i = a->conns; i < a->conns + a->slow; i++) {
				struct slot *s = &a->slots[i];
				const char *bytes = a->tls ? (const char *)slow_tls : slow_http;
				size_t total = a->tls ? sizeof(slow_tls) : sizeof(slow_http) - 1;
				size_t len = 1;

				if (s->fd < 0 || s->sent >= total)
					continue;
				if (!a->tls)
					len = (size_t)(strchr(bytes + s->sent, '\n') - (bytes + s->sent)) + 1;
				if (send(s->fd, bytes + s->sent, len, MSG_NOSIGNAL) > 0)
					s->sent += len;
			}
			next_drip = t + 1;
		}
		if (t >= next_sample) {
			uint64_t held = 0;
			for (size_t i = 0; i < a->conns; i++)
				held += a->slots[i].fd >= 0;
			a->held_sum += held;
			if (!a->held_samples || held < a->held_min)
				a->held_min = held;
			a->held_samples++;
			next_sample = t + 1;
		}
	}
	for (size_t i = 0; i < a->conns + a->slow; i++)
		if (a->slots[i].fd >= 0) {
			double life = now_s() - a->slots[i].opened;
			if (a->slots[i].slow && life > a->slow_longest_s)
				a->slow_longest_s = life;
			close(a->slots[i].fd);
		}
	return NULL;
}

static void attack_init(struct attack *a, const char *hostport, int tls,
			size_t conns, size_t slow, size_t per_addr)
{
	const char *colon = strrchr(hostport, ':');
	char host[64];

	memset(a, 0, sizeof(*a));
	if (!colon || (size_t)(colon - hostport) >= sizeof(host))
		die("target: expected HOST:PORT", NULL);
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	a->target.sin_family = AF_INET;
	a->target.sin_port = htons((uint16_t)strtoul(colon + 1, NULL, 10));
	if (inet_pton(AF_INET, host, &a->target.sin_addr) != 1)
		die("target: expected an IPv4 address", NULL);
	a->tls = tls;
	a->conns = conns;
	a->slow = slow;
	a->per_addr = per_addr;
	a->slots = calloc(conns + slow + 1, sizeof(*a->slots));
	a->ep = epoll_create1(EPOLL_CLOEXEC);
	if (!a->slots || a->ep < 0)
		die("attacker: out of memory", NULL);
	for (size_t i = 0; i < conns + slow; i++) {
		a->slots[i].fd = -1;
		a->slots[i].slow = i >= conns;
	}
}

/* ---- the member's requests ------------------------------------------------------ */

struct member {
	/* coord: signed GETs as id; node: GETs with a token. */
	const char *url, *pin, *path, *token;
	const struct sr_identity *id;
	double *lat_ms;
	size_t max, n, answered;
	char last_err[SR_ERR_MSG_MAX + 32];
};

/* One request on a new connection; 1 if answered 200. */
static int member_call(struct member *m)
{
	struct sr_err err;
	json_t *ans = NULL;
	int status = 0, rc;

	sr_err_clear(&err);
	if (m->id) {
		struct sr_coordconn *cc = NULL;
		rc = sr_coordconn_new(m->url, m->pin, m->id, &cc, &err);
		if (rc == SR_OK)
			rc = sr_coordconn_json(cc, "GET", m->path, NULL, 5000, &status,
					       &ans, &err);
		sr_coordconn_free(cc);
	} else {
		char url[512];
		snprintf(url, sizeof(url), "%s%s", m->url, m->path);
		rc = sr_http_call("GET", url, NULL, m->token, 5000, &status, &ans, &err);
	}
	json_decref(ans);
	if (rc != SR_OK || status != 200) {
		snprintf(m->last_err, sizeof(m->last_err), "%s (HTTP %d)",
			 rc ? err.msg : "refused", status);
		return 0;
	}
	return 1;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/* Run the attack for seconds while the member asks every 50 ms; print
 * the figures; with check, 0 only if the targets were met. */
static int run(const char *name, struct attack *a, struct member *m, int seconds,
	       int check, double p99_limit_ms, double slow_max_s)
{
	pthread_t t;
	double end, p50 = 0, p99 = 0, max = 0, held_avg;
	int ok;

	if (pthread_create(&t, NULL, attack_main, a) != 0)
		die("attacker thread", NULL);
	sleep(2);   /* the attack is in place before the first request */
	m->max = (size_t)seconds * 20 + 16;
	m->lat_ms = calloc(m->max, sizeof(double));
	if (!m->lat_ms)
		die("out of memory", NULL);
	end = now_s() + seconds;
	while (now_s() < end && m->n < m->max) {
		double t0 = now_s();
		if (member_call(m)) {
			m->lat_ms[m->answered++] = (now_s() - t0) * 1000;
		}
		m->n++;
		if (now_s() - t0 < 0.05)
			usleep((useconds_t)((0.05 - (now_s() - t0)) * 1e6));
	}
	atomic_store(&a->stop, 1);
	pthread_join(t, NULL);
	if (m->answered) {
		qsort(m->lat_ms, m->answered, sizeof(double), cmp_double);
		p50 = m->lat_ms[m->answered / 2];
		p99 = m->lat_ms[(m->answered * 99) / 100 < m->answered ?
				(m->answered * 99) / 100 : m->answered - 1];
		max = m->lat_ms[m->answered - 1];
	}
	held_avg = a->held_samples ? (double)a->held_sum / (double)a->held_samples : 0;
	printf("bench %s idle_target=%zu held_avg=%.0f held_min=%llu opened=%llu closed_by_server=%llu "
	       "connect_failed=%llu slow=%zu slow_longest_s=%.1f requests=%zu answered=%.1f%% "
	       "p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
	       name, a->conns, held_avg, (unsigned long long)a->held_min,
	       (unsigned long long)a->opened, (unsigned long long)a->closed_by_server,
	       (unsigned long long)a->connect_failed, a->slow, a->slow_longest_s, m->n,
	       m->n ? 100.0 * (double)m->answered / (double)m->n : 0.0, p50, p99, max);
	if (m->answered < m->n)
		printf("bench %s last_failure=\"%s\"\n", name, m->last_err);
	fflush(stdout);
	ok = m->n > 0 && m->answered == m->n && p99 <= p99_limit_ms &&
		a->slow_longest_s <= slow_max_s &&
		held_avg >= 0.9 * (double)a->conns;
	if (check && !ok)
		fprintf(stderr, "bench_load: %s: a target was missed (100%% answered, p99 <= %.0f ms, "
			"slow clients closed by %.1f s, >= 90%% of the connections held)\n",
			name, p99_limit_ms, slow_max_s);
	free(m->lat_ms);
	free(a->slots);
	close(a->ep);
	return check && !ok ? 1 : 0;
}

/* ---- modes ---------------------------------------------------------------------- */

struct args {
	size_t conns, slow, per_addr;
	int seconds, check;
	double p99_ms, slow_max_s;
	const char *url, *token;
};

static void parse_args(int argc, char **argv, struct args *o)
{
	o->conns = 2000;
	o->slow = 50;
	o->per_addr = 500;
	o->seconds = 10;
	o->check = 0;
	o->p99_ms = 500;
	o->slow_max_s = SR_HTTP_HEADER_MS / 1000.0 + 2.5;
	o->url = o->token = NULL;
	for (int i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--check") == 0) {
			o->check = 1;
			continue;
		}
		if (!v)
			die("an option needs a value", NULL);
		if (strcmp(argv[i], "--conns") == 0)
			o->conns = strtoul(v, NULL, 10);
		else if (strcmp(argv[i], "--slow") == 0)
			o->slow = strtoul(v, NULL, 10);
		else if (strcmp(argv[i], "--per-addr") == 0)
			o->per_addr = strtoul(v, NULL, 10);
		else if (strcmp(argv[i], "--seconds") == 0)
			o->seconds = (int)strtol(v, NULL, 10);
		else if (strcmp(argv[i], "--p99") == 0)
			o->p99_ms = strtod(v, NULL);
		else if (strcmp(argv[i], "--slow-max") == 0)
			o->slow_max_s = strtod(v, NULL);
		else if (strcmp(argv[i], "--url") == 0)
			o->url = v;
		else if (strcmp(argv[i], "--token") == 0)
			o->token = v;
		else
			die("unknown option", NULL);
		i++;
	}
	if (o->seconds < 1 || o->per_addr < 1 || (o->conns + o->slow) / o->per_addr > 250)
		die("--seconds and --per-addr must be positive, (--conns + --slow) / --per-addr "
		    "at most 250", NULL);
}

/* The host:port of an http(s)://HOST:PORT URL. */
static void hostport_of(const char *url, char *out, size_t len)
{
	const char *p = strstr(url, "://");

	snprintf(out, len, "%s", p ? p + 3 : url);
	out[strcspn(out, "/")] = '\0';
}

static int coord_main(const char *bin, const struct args *o)
{
	static struct sr_identity ids[2];
	static struct sr_world w;
	struct sr_world_coord coord;
	struct attack a;
	struct member m;
	struct sr_err err;
	char tmp[] = "/tmp/sr-bench-load-XXXXXX", dir[600], target[128], path[300];
	int rc;

	sr_err_clear(&err);
	if (!mkdtemp(tmp))
		die("mkdtemp", NULL);
	for (int i = 0; i < 2; i++) {
		sr_identity_init(&ids[i]);
		if (sr_identity_generate(&ids[i], &err) != SR_OK)
			die("identity", &err);
	}
	snprintf(dir, sizeof(dir), "%s/coord", tmp);
	if (sr_world_coord_start(bin, dir, NULL, &coord, &err) != SR_OK)
		die("coordinator", &err);
	if (sr_world_build(coord.url, coord.pin, ids, 2, &w, &err) != SR_OK)
		die("world", &err);
	hostport_of(coord.url, target, sizeof(target));
	attack_init(&a, target, 1, o->conns, o->slow, o->per_addr);
	memset(&m, 0, sizeof(m));
	m.url = coord.url;
	m.pin = coord.pin;
	snprintf(path, sizeof(path), "/v1/projects/%s/head", w.project);
	m.path = path;
	m.id = &ids[0];
	rc = run("load_coord", &a, &m, o->seconds, o->check, o->p99_ms,
		 o->slow_max_s);
	sr_world_coord_stop(&coord);
	return rc;
}

static int node_main(const struct args *o)
{
	struct attack a;
	struct member m;
	char target[128];

	if (!o->url || !o->token)
		die("node: --url URL and --token TOKEN are required", NULL);
	hostport_of(o->url, target, sizeof(target));
	attack_init(&a, target, 0, o->conns, o->slow, o->per_addr);
	memset(&m, 0, sizeof(m));
	m.url = o->url;
	m.path = "/v1/status";
	m.token = o->token;
	return run("load_node", &a, &m, o->seconds, o->check, o->p99_ms,
		 o->slow_max_s);
}

/* ---- fire: many requests at once ------------------------------------------------ */

/*
 * bench_load fire --name NAME --list FILE --out FILE: every line of the list is a
 * request, "URL<TAB>TOKEN<TAB>METHOD<TAB>PATH<TAB>BODY" (BODY JSON or
 * empty); one thread each, all released at once by a barrier.  --out gets
 * a line per request: the status (0 for a transport failure) and the
 * answer or the error.  Prints the counts: answered 2xx, transport
 * failures (resets, refusals), 409 "gave up" answers, other statuses.
 */
struct shot {
	char *url, *token, *method, *path, *body;
	int rc, status;
	double ms;
	char answer[512];
};

static pthread_barrier_t fire_barrier;

static void *shot_main(void *arg)
{
	struct shot *s = arg;
	struct sr_err err;
	json_t *body = NULL, *ans = NULL;
	char url[1024];
	double t0;

	sr_err_clear(&err);
	if (s->body[0]) {
		json_error_t je;
		body = json_loads(s->body, 0, &je);
	}
	snprintf(url, sizeof(url), "%s%s", s->url, s->path);
	pthread_barrier_wait(&fire_barrier);
	t0 = now_s();
	s->rc = sr_http_call(s->method, url, body, s->token, 120000, &s->status, &ans, &err);
	s->ms = (now_s() - t0) * 1000;
	if (s->rc) {
		snprintf(s->answer, sizeof(s->answer), "%s", err.msg);
	} else {
		char *text = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
		snprintf(s->answer, sizeof(s->answer), "%s", text ? text : "");
		free(text);
	}
	json_decref(ans);
	json_decref(body);
	return NULL;
}

static int fire_main(const char *name, const char *list, const char *out_path)
{
	size_t n = 0, cap = 0, ok = 0, resets = 0, gave_up = 0, other = 0;
	struct shot *shots = NULL;
	pthread_attr_t attr;
	pthread_t *threads;
	char line[8192];
	double *lat;
	FILE *in = fopen(list, "r"), *out;

	if (!in)
		die("fire: cannot open --list", NULL);
	while (fgets(line, sizeof(line), in)) {
		char *f[5], *p = line;
		line[strcspn(line, "\n")] = '\0';
		for (int k = 0; k < 5; k++) {
			f[k] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = '\0';
			else
				p = f[k] + strlen(f[k]);
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			shots = realloc(shots, cap * sizeof(*shots));
			if (!shots)
				die("out of memory", NULL);
		}
		memset(&shots[n], 0, sizeof(shots[n]));
		shots[n].url = strdup(f[0]);
		shots[n].token = strdup(f[1]);
		shots[n].method = strdup(f[2]);
		shots[n].path = strdup(f[3]);
		shots[n].body = strdup(f[4]);
		n++;
	}
	fclose(in);
	if (!n)
		die("fire: an empty --list", NULL);
	threads = calloc(n, sizeof(*threads));
	lat = calloc(n, sizeof(*lat));
	if (!threads || !lat)
		die("out of memory", NULL);
	pthread_barrier_init(&fire_barrier, NULL, (unsigned)n + 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	for (size_t i = 0; i < n; i++)
		if (pthread_create(&threads[i], &attr, shot_main, &shots[i]) != 0)
			die("fire: cannot start a thread", NULL);
	pthread_barrier_wait(&fire_barrier);
	for (size_t i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	out = fopen(out_path, "w");
	if (!out)
		die("fire: cannot write --out", NULL);
	for (size_t i = 0; i < n; i++) {
		struct shot *s = &shots[i];
		lat[i] = s->ms;
		if (s->rc) {
			if (!resets++)
				printf("bench %s first_reset=\"%s\"\n", name, s->answer);
		} else if (s->status >= 200 && s->status < 300) {
			ok++;
		} else if (s->status == 409 && strstr(s->answer, "gave up")) {
			if (!gave_up++)
				printf("bench %s first_give_up=%s\n", name, s->answer);
		} else if (!other++) {
			printf("bench %s first_other=%d %s\n", name, s->status, s->answer);
		}
		fprintf(out, "%d\t%s\n", s->rc ? 0 : s->status, s->answer);
	}
	fclose(out);
	qsort(lat, n, sizeof(double), cmp_double);
	printf("bench %s requests=%zu answered_2xx=%zu resets=%zu gave_up=%zu other=%zu "
	       "p50_ms=%.0f p99_ms=%.0f max_ms=%.0f\n", name, n, ok, resets, gave_up, other,
	       lat[n / 2], lat[(n * 99) / 100], lat[n - 1]);
	return 0;
}

/* ---- sybil: mailbox floods bounded by the quotas ------------------------------- */

static uint64_t du_total;

static int du_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)path;
	(void)flag;
	(void)f;
	du_total += (uint64_t)sb->st_blocks * 512;
	return 0;
}

/* Bytes on disk under dir (like du -s). */
static uint64_t disk_use(const char *dir)
{
	du_total = 0;
	if (nftw(dir, du_one, 16, FTW_PHYS) != 0)
		die("sybil: cannot walk the coordinator's directory", NULL);
	return du_total;
}

static int sybil_main(const char *bin, int jobs, uint64_t quota)
{
	static struct sr_identity ids[2];
	static struct sr_world w;
	struct sr_world_coord coord;
	struct sr_err err;
	char tmp[] = "/tmp/sr-bench-sybil-XXXXXX", dir[600], qarg[32];
	const char *args[] = { "--org-mailbox-bytes", qarg, NULL };
	uint64_t before, after, accepted = 0, sent = 0;
	uint8_t *msg;
	double t0;

	sr_err_clear(&err);
	if (!mkdtemp(tmp))
		die("mkdtemp", NULL);
	snprintf(qarg, sizeof(qarg), "%llu", (unsigned long long)quota);
	for (int i = 0; i < 2; i++) {
		sr_identity_init(&ids[i]);
		if (sr_identity_generate(&ids[i], &err) != SR_OK)
			die("identity", &err);
	}
	snprintf(dir, sizeof(dir), "%s/coord", tmp);
	if (sr_world_coord_start(bin, dir, args, &coord, &err) != SR_OK)
		die("coordinator", &err);
	msg = malloc(SR_MAILBOX_MSG_MAX);
	if (!msg)
		die("out of memory", NULL);
	sr_random_buf(msg, SR_MAILBOX_MSG_MAX);
	before = disk_use(dir);
	t0 = now_s();
	for (int j = 0; j < jobs; j++) {
		if (sr_world_build(coord.url, coord.pin, ids, 2, &w, &err) != SR_OK)
			die("world", &err);
		for (int who = 0; who < 2; who++) {
			struct sr_mailclient_params mp = {
				.url = coord.url, .pin = coord.pin, .self = &ids[who],
				.project = w.project, .job_hex = w.job_hex,
				.retry_ms = 500,   /* a refusal is the figure, not a fault */
			};
			struct sr_mailclient *mc = NULL;
			struct sr_mailbox_ops ops;

			if (sr_mailclient_new(&mp, &mc, &err) != SR_OK)
				die("mail client", &err);
			sr_mailclient_ops(mc, &ops);
			/* Until refused: the per-job cap (256 MiB) or the
			 * sender's quota over all its jobs, whichever first. */
			for (uint64_t seq = 0;; seq++) {
				sent++;
				if (ops.post(ops.ctx, ids[1 - who].org_id, seq, msg,
					     SR_MAILBOX_MSG_MAX, &err) != SR_OK) {
					if (j == jobs - 1 && who == 1)
						printf("bench sybil last_refusal=\"%s\"\n", err.msg);
					sr_err_clear(&err);
					break;
				}
				accepted++;
			}
			sr_mailclient_free(mc);
		}
	}
	after = disk_use(dir);
	printf("bench sybil orgs=2 jobs=%d quota_mib=%.0f posts=%" PRIu64 " accepted=%" PRIu64
	       " held_mib=%.1f disk_growth_mib=%.1f bound_mib=%.0f seconds=%.1f "
	       "without_quotas_mib=%.0f\n",
	       jobs, (double)quota / 1048576.0, sent, accepted,
	       (double)accepted * SR_MAILBOX_MSG_MAX / 1048576.0,
	       (double)(after - before) / 1048576.0, 2.0 * (double)quota / 1048576.0,
	       now_s() - t0, 2.0 * jobs * (double)SR_MAILBOX_JOB_BYTES_DEFAULT / 1048576.0);
	free(msg);
	sr_world_coord_stop(&coord);
	return after - before <= 2 * quota + (16u << 20) ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *bin = getenv("SEALROOM");
	struct rlimit rl;
	struct args o;

	sr_alloc_setup_json();
	if (sr_crypto_init() != SR_OK || sr_http_global_init() != SR_OK)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (argc == 8 && strcmp(argv[1], "fire") == 0 && strcmp(argv[2], "--name") == 0 &&
	    strcmp(argv[4], "--list") == 0 && strcmp(argv[6], "--out") == 0)
		return fire_main(argv[3], argv[5], argv[7]);
	if (argc == 6 && strcmp(argv[1], "sybil") == 0 && strcmp(argv[2], "--jobs") == 0 &&
	    strcmp(argv[4], "--quota-mib") == 0)
		return sybil_main(bin, (int)strtol(argv[3], NULL, 10),
				  (uint64_t)strtoull(argv[5], NULL, 10) << 20);
	if (argc < 2) {
		fprintf(stderr, "usage: bench_load coord|node [--conns N] [--slow N] [--per-addr N]\n"
			"         [--seconds S] [--p99 MS] [--slow-max S] [--check]\n"
			"         [--url URL --token T (node)]\n"
			"       bench_load fire --name NAME --list FILE --out FILE\n"
			"       bench_load sybil --jobs J --quota-mib Q\n");
		return 2;
	}
	parse_args(argc, argv, &o);
	if (strcmp(argv[1], "coord") == 0)
		return coord_main(bin, &o);
	if (strcmp(argv[1], "node") == 0)
		return node_main(&o);
	die("expected coord or node", NULL);
	return 2;
}

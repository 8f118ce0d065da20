/*
 * bench_import.c - import and scan throughput of the dataset store, peak
 * memory, and the sqlite3 shell's .import on the same file as the peer.
 *
 * One run: generate an N-row x 8-column CSV (ints, floats, strings), import
 * it in a child process (so the child's peak RSS is the import's alone),
 * scan every column in another child, then time `sqlite3 DB .import`.
 * Prints one machine-readable line per figure.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/pool.h"
#include "crypto/crypto.h"
#include "crypto/masterkey.h"
#include "store/store.h"

static const char *const cities[] = {
	"Amsterdam", "Berlin", "Copenhagen", "Dublin", "Edinburgh", "Florence",
	"Geneva", "Helsinki", "Istanbul", "Jena", "Krakow", "Lisbon", "Madrid",
	"Naples", "Oslo", "Prague", "Quimper", "Riga", "Stockholm", "Tallinn",
};
static const char *const words[] = {
	"stable", "chronic", "acute", "follow-up", "referred", "mild",
	"severe", "observed", "cleared", "pending",
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void die(const char *what)
{
	fprintf(stderr, "bench_import: %s\n", what);
	exit(1);
}

static uint64_t generate(const char *path, uint64_t rows)
{
	FILE *f = fopen(path, "w");
	uint64_t s = 1;
	struct stat st;

	if (!f)
		die("cannot create the CSV");
	fputs("customer_id,account,age,amount,score,city,diagnosis,purchases\n", f);
	for (uint64_t i = 0; i < rows; i++) {
		uint64_t r = rnd(&s), r2 = rnd(&s);
		int nwords = 1 + (int)(r2 % 5);
		fprintf(f, "%" PRIu64 ",C%07" PRIu64 ",%d,%d.%02d,%.4f,%s,",
			i, (r >> 8) % 10000000, 18 + (int)(r % 70),
			(int)((r >> 20) % 100000), (int)((r >> 40) % 100),
			(double)((r >> 30) % 1000000) / 10000.0,
			cities[(r >> 50) % 20]);
		for (int w = 0; w < nwords; w++)
			fprintf(f, "%s%s", w ? " " : "", words[(r2 >> (8 + 4 * w)) % 10]);
		fprintf(f, ",%d\n", (int)((r2 >> 40) % 500));
	}
	if (fclose(f) != 0 || stat(path, &st) != 0)
		die("cannot write the CSV");
	return (uint64_t)st.st_size;
}

struct child_result {
	double wall_s;
	double cpu_s;
	double rss_mb;
	int status;
};

/* Run fn in a child; measure wall time, CPU time and peak RSS. */
static struct child_result in_child(int (*fn)(void *), void *arg)
{
	struct child_result r = { 0 };
	struct rusage ru;
	double t0 = now();
	int status = 0;
	pid_t pid = fork();

	if (pid < 0)
		die("fork failed");
	if (pid == 0)
		_exit(fn(arg));
	if (wait4(pid, &status, 0, &ru) < 0)
		die("wait4 failed");
	r.wall_s = now() - t0;
	r.cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	r.rss_mb = (double)ru.ru_maxrss / 1024.0;
	r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	return r;
}

struct job {
	const char *home;
	const char *csv;
	const char *db;
	int scan_fd;    /* the scan child writes its byte count here */
};

static int open_store(const struct job *j, struct sr_masterkey *mk,
		      struct sr_store **store, struct sr_err *err)
{
	int rc;

	sr_alloc_setup_json();
	if (sr_crypto_init() != SR_OK)
		return 1;
	sr_masterkey_init(mk);
	rc = sr_masterkey_open(mk, j->home, "bench passphrase", err);
	if (rc == SR_OK)
		rc = sr_store_open(j->home, mk, store, err);
	return rc;
}

static int do_import(void *arg)
{
	const struct job *j = arg;
	struct sr_import_options opts = { 0 };
	struct sr_masterkey mk;
	struct sr_store *store = NULL;
	struct sr_err err;
	int rc;

	sr_err_clear(&err);
	opts.classify_by_name = 1;
	rc = open_store(j, &mk, &store, &err);
	if (rc == SR_OK)
		rc = sr_store_import(store, "bench", j->csv, &opts, NULL, &err);
	if (rc)
		fprintf(stderr, "bench_import: import: %s\n", err.msg);
	sr_store_free(store);
	sr_masterkey_release(&mk);
	return rc ? 1 : 0;
}

static int do_scan(void *arg)
{
	const struct job *j = arg;
	struct sr_masterkey mk;
	struct sr_store *store = NULL;
	struct sr_scan *scan = NULL;
	const struct sr_vec *cols;
	struct sr_err err;
	uint64_t bytes = 0, rows_seen = 0;
	size_t rows;
	int eof = 0, rc;
	char line[64];

	sr_err_clear(&err);
	rc = open_store(j, &mk, &store, &err);
	if (rc == SR_OK)
		rc = sr_scan_open(store, "bench", NULL, 0, &scan, &err);
	while (rc == SR_OK) {
		rc = sr_scan_next(scan, &cols, &rows, &eof, &err);
		if (rc || eof)
			break;
		rows_seen += rows;
		for (size_t c = 0; c < sr_scan_columns(scan); c++)
			bytes += sr_vec_plain_bytes(&cols[c]);
	}
	if (rc)
		fprintf(stderr, "bench_import: scan: %s\n", err.msg);
	snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu64 "\n", bytes, rows_seen);
	if (write(j->scan_fd, line, strlen(line)) < 0)
		rc = SR_EIO;
	sr_scan_free(scan);
	sr_store_free(store);
	sr_masterkey_release(&mk);
	return rc ? 1 : 0;
}

static int do_sqlite(void *arg)
{
	const struct job *j = arg;
	char import_cmd[1200];

	snprintf(import_cmd, sizeof(import_cmd), ".import %s t", j->csv);
	execlp("sqlite3", "sqlite3", j->db, ".mode csv", import_cmd, (char *)NULL);
	fprintf(stderr, "bench_import: cannot run sqlite3: %s\n", strerror(errno));
	return 127;
}

int main(int argc, char **argv)
{
	uint64_t rows = 1000000, csv_bytes, scan_bytes = 0, scan_rows = 0;
	const char *dir_arg = NULL;
	int keep = 0, pipefd[2];
	char dir[512], home[600], csv[600], db[600];
	struct sr_masterkey mk;
	struct sr_err err;
	struct child_result imp, scan, sql;
	struct job job;
	size_t threads = sr_cpu_count();
	double csv_mb, plain_mb, ratio;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
			rows = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir_arg = argv[++i];
		else if (strcmp(argv[i], "--keep") == 0)
			keep = 1;
		else {
			fprintf(stderr, "usage: bench_import [--rows N] [--dir DIR] [--keep]\n");
			return 2;
		}
	}
	if (dir_arg) {
		snprintf(dir, sizeof(dir), "%s", dir_arg);
		mkdir(dir, 0700);
	} else {
		snprintf(dir, sizeof(dir), "%s/sr-bench-XXXXXX",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (!mkdtemp(dir))
			die("cannot create a temporary directory");
	}
	snprintf(home, sizeof(home), "%s/home", dir);
	snprintf(csv, sizeof(csv), "%s/input.csv", dir);
	snprintf(db, sizeof(db), "%s/peer.sqlite", dir);
	mkdir(home, 0700);
	sr_alloc_setup_json();
	if (sr_crypto_init() != SR_OK)
		die("libsodium");
	sr_err_clear(&err);
	sr_masterkey_init(&mk);
	if (sr_masterkey_create(&mk, home, SR_KEY_PASSPHRASE, "bench passphrase",
				"test", &err) != SR_OK)
		die(err.msg);
	sr_masterkey_release(&mk);

	fprintf(stderr, "bench_import: generating %" PRIu64 " rows x 8 columns...\n", rows);
	csv_bytes = generate(csv, rows);
	csv_mb = (double)csv_bytes / 1e6;
	job.home = home;
	job.csv = csv;
	job.db = db;

	/* Warm the page cache for both contenders alike. */
	{
		struct sr_buf b;
		sr_buf_init(&b, 0);
		if (sr_file_read_all(csv, 0, &b, &err) != SR_OK)
			die(err.msg);
		sr_buf_release(&b);
	}

	fprintf(stderr, "bench_import: importing...\n");
	imp = in_child(do_import, &job);
	if (imp.status)
		die("import failed");

	fprintf(stderr, "bench_import: scanning...\n");
	if (pipe(pipefd) != 0)
		die("pipe");
	job.scan_fd = pipefd[1];
	scan = in_child(do_scan, &job);
	close(pipefd[1]);
	{
		char line[64] = { 0 };
		if (read(pipefd[0], line, sizeof(line) - 1) <= 0 ||
		    sscanf(line, "%" SCNu64 " %" SCNu64, &scan_bytes, &scan_rows) != 2)
			die("scan child reported nothing");
		close(pipefd[0]);
	}
	if (scan.status || scan_rows != rows)
		die("scan failed or saw the wrong number of rows");

	fprintf(stderr, "bench_import: sqlite3 .import (peer)...\n");
	sql = in_child(do_sqlite, &job);
	if (sql.status)
		die("sqlite3 .import failed");

	plain_mb = (double)scan_bytes / 1e6;
	ratio = sql.wall_s / imp.wall_s;
	printf("bench import rows=%" PRIu64 " cols=8 csv_mb=%.1f import_s=%.3f import_mb_s=%.1f import_cpu_s=%.3f import_rss_mb=%.1f threads=%zu\n",
	       rows, csv_mb, imp.wall_s, csv_mb / imp.wall_s, imp.cpu_s,
	       imp.rss_mb, threads);
	printf("bench scan plain_mb=%.1f scan_s=%.3f scan_mb_s=%.1f scan_cpu_s=%.3f scan_mb_s_per_core=%.1f scan_rss_mb=%.1f\n",
	       plain_mb, scan.wall_s, plain_mb / scan.wall_s, scan.cpu_s,
	       plain_mb / scan.cpu_s, scan.rss_mb);
	printf("bench peer sqlite3_import_s=%.3f sqlite3_rss_mb=%.1f ratio_vs_sqlite=%.2f\n",
	       sql.wall_s, sql.rss_mb, ratio);
	printf("bench targets import_vs_sqlite>=1.5:%s scan_per_core>=300MB/s:%s import_rss<200MB:%s scan_rss<200MB:%s\n",
	       ratio >= 1.5 ? "PASS" : "FAIL",
	       plain_mb / scan.cpu_s >= 300 ? "PASS" : "FAIL",
	       imp.rss_mb < 200 ? "PASS" : "FAIL",
	       scan.rss_mb < 200 ? "PASS" : "FAIL");
	if (!keep) {
		if (sr_rm_rf(dir, &err) != SR_OK)
			fprintf(stderr, "bench_import: %s\n", err.msg);
	} else {
		fprintf(stderr, "bench_import: kept %s\n", dir);
	}
	return 0;
}

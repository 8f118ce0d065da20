/*
 * bench_import.c - import and scan throughput of the dataset store, peak
 * memory, and the sqlite3 shell's .import of the same file as the peer.
 *
 * One run:
 *   1. generate a deterministic N-row x 8-column CSV (ints, floats,
 *      strings) and fsync it, so no contender competes with its writeback;
 *   2. import it into a fresh node home in a child process, so that the
 *      child's peak RSS (wait4's ru_maxrss) is the import's alone;
 *   3. scan every column in another child and check the decoded values
 *      against checksums taken while generating;
 *   4. time `sqlite3 DB .import` of the same file into a fresh database;
 *   5. print one machine-readable line per figure and the targets.
 *
 * With --pg URL (a PostgreSQL server the caller started; bench/import
 * starts one), also: load the CSV into table bench (untimed), then time
 * our import straight from PostgreSQL (COPY streamed into the chunk
 * writer) against the two-step path, `psql \copy bench TO file CSV` and
 * our CSV import of that file, and the import's peak RSS.
 *
 * This is a measurement, not a test: it exits 0 whether the targets are
 * met or not, and non-zero only when something did not run.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
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
#include "base/err.h"
#include "base/file.h"
#include "base/log.h"
#include "base/pool.h"
#include "crypto/crypto.h"
#include "crypto/masterkey.h"
#include "store/store.h"
#include "base/banned.h"

#define BENCH_COLUMNS 8
#define DATASET "bench"

/* Targets of the foundation issue. */
#define TARGET_RATIO_VS_SQLITE 1.5
#define TARGET_SCAN_MB_S_PER_CORE 300.0
#define TARGET_RSS_MB 200.0
/* Targets of the data-sources issue: faster than psql \copy + CSV import. */
#define TARGET_PG_RATIO 1.0

/* The bench table in PostgreSQL: the CSV's columns with database types. */
static const char pg_table_sql[] =
	"SET client_min_messages = warning; DROP TABLE IF EXISTS bench; CREATE TABLE bench (id bigint, "
	"customer_id text, age integer, amount numeric(12,2), score double precision, "
	"city text, diagnosis text, purchases integer)";

/* Names chosen so that --classify-by-name classifies every column:
 * id, customer_id -> id; age, city -> qi; amount, score, diagnosis,
 * purchases -> sa. */
static const char header[] =
	"id,customer_id,age,amount,score,city,diagnosis,purchases\n";

static const char *const cities[] = {
	"Amsterdam", "Berlin", "Copenhagen", "Dublin", "Edinburgh", "Florence",
	"Geneva", "Helsinki", "Istanbul", "Jena", "Krakow", "Lisbon", "Madrid",
	"Naples", "Oslo", "Prague", "Quimper", "Riga", "Stockholm", "Tallinn",
};

/* Text for the free-form column: a window of 5-40 characters. */
static const char note_text[] =
	"stable chronic acute follow-up referred mild severe observed "
	"cleared pending review discharged outpatient";

/* What the generator wrote, so the scan can be checked. */
struct expect {
	int64_t int_sum;        /* id + age + purchases over all rows */
	int64_t cents_sum;      /* amount in cents */
	uint64_t string_bytes;  /* customer_id + city + diagnosis */
};

struct child_result {
	double wall_s;
	double cpu_s;
	double rss_mb;
	int status;
};

struct job {
	const char *home;
	const char *csv;
	const char *db;
	const char *pg_url;   /* --pg, or NULL */
	const char *pg_csv;   /* where psql \copy writes */
	int report_fd;   /* children write their counts here */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: deterministic data without the banned rand(). */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench_import: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Write the CSV, fsync it and return its size. */
static uint64_t generate(const char *path, uint64_t rows, struct expect *exp)
{
	FILE *f = fopen(path, "w");
	uint64_t state = 1;
	struct stat st;

	if (!f)
		die("%s: cannot create", path);
	memset(exp, 0, sizeof(*exp));
	fputs(header, f);
	for (uint64_t i = 0; i < rows; i++) {
		uint64_t r = next_random(&state), r2 = next_random(&state);
		uint64_t customer = (r >> 8) % 10000000;
		int age = 18 + (int)(r % 70);
		int64_t cents = (int64_t)((r >> 20) % 10000000);
		int score_permyriad = (int)((r >> 30) % 1000000);
		const char *city = cities[(r >> 50) % 20];
		size_t note_len = 5 + (size_t)(r2 % 36);
		size_t note_at = (size_t)((r2 >> 8) % (sizeof(note_text) - 1 - note_len));
		int purchases = (int)((r2 >> 40) % 500);

		fprintf(f, "%" PRIu64 ",C%07" PRIu64 ",%d,%" PRId64 ".%02d,%.4f,%s,%.*s,%d\n",
			i, customer, age, cents / 100, (int)(cents % 100),
			(double)score_permyriad / 10000.0, city,
			(int)note_len, note_text + note_at, purchases);
		exp->int_sum += (int64_t)i + age + purchases;
		exp->cents_sum += cents;
		exp->string_bytes += 8 + strlen(city) + note_len;
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 ||
	    stat(path, &st) != 0)
		die("%s: cannot write", path);
	return (uint64_t)st.st_size;
}

/* Read the file once so both contenders start from a warm page cache. */
static void warm_cache(const char *path)
{
	static char block[1 << 20];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die("%s: cannot open", path);
	while (read(fd, block, sizeof(block)) > 0)
		;
	close(fd);
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Run fn in a child; measure wall time, CPU time and peak RSS. */
static struct child_result in_child(int (*fn)(const struct job *),
				    const struct job *job)
{
	struct child_result r = { 0 };
	struct rusage ru;
	int status = 0;
	double t0;
	pid_t pid;

	fflush(NULL);
	t0 = now_s();
	pid = fork();
	if (pid < 0)
		die("fork failed: %s", strerror(errno));
	if (pid == 0)
		_exit(fn(job));
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			die("wait4 failed: %s", strerror(errno));
	r.wall_s = now_s() - t0;
	r.cpu_s = tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
	r.rss_mb = (double)ru.ru_maxrss * 1024.0 / 1e6;   /* KiB on Linux */
	r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	return r;
}

static int open_store(const struct job *job, struct sr_masterkey *mk,
		      struct sr_store **store, struct sr_err *err)
{
	int rc;

	/* The file key provider warns on every open; that is for people
	 * running a node, not for a benchmark. */
	sr_log_set_level(SR_LOG_ERROR);
	sr_alloc_setup_json();
	sr_masterkey_init(mk);
	rc = sr_crypto_init();
	if (rc == SR_OK)
		rc = sr_masterkey_open(mk, job->home, NULL, err);
	if (rc == SR_OK)
		rc = sr_store_open(job->home, mk, store, err);
	return rc;
}

static int report(const struct job *job, const char *line)
{
	size_t len = strlen(line);

	return write(job->report_fd, line, len) == (ssize_t)len ? 0 : 1;
}

static int do_import(const struct job *job)
{
	struct sr_import_options opts = { 0 };
	struct sr_dataset_info info;
	struct sr_masterkey mk;
	struct sr_store *store = NULL;
	struct sr_err err;
	char line[128];
	int rc;

	sr_err_clear(&err);
	sr_dataset_info_init(&info);
	opts.classify_by_name = 1;
	rc = open_store(job, &mk, &store, &err);
	if (rc == SR_OK)
		rc = sr_store_import(store, DATASET, job->csv, &opts, &info, &err);
	if (rc)
		fprintf(stderr, "bench_import: import: %s\n", err.msg);
	snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
		 info.rows, info.plain_bytes, info.stored_bytes);
	if (rc == SR_OK)
		rc = report(job, line);
	sr_dataset_info_release(&info);
	sr_store_free(store);
	sr_masterkey_release(&mk);
	return rc ? 1 : 0;
}

/* Import straight from PostgreSQL (classified by name, as the CSV). */
static int do_pg_import(const struct job *job)
{
	struct sr_import_options opts = { 0 };
	struct sr_dataset_info info;
	struct sr_masterkey mk;
	struct sr_store *store = NULL;
	struct sr_err err;
	char line[128];
	int rc;

	sr_err_clear(&err);
	sr_dataset_info_init(&info);
	opts.classify_by_name = 1;
	opts.pg_conninfo = job->pg_url;
	opts.pg_table = "bench";
	rc = open_store(job, &mk, &store, &err);
	if (rc == SR_OK)
		rc = sr_store_import(store, DATASET, NULL, &opts, &info, &err);
	if (rc)
		fprintf(stderr, "bench_import: pg import: %s\n", err.msg);
	snprintf(line, sizeof(line), "%" PRIu64 "\n", info.rows);
	if (rc == SR_OK)
		rc = report(job, line);
	sr_dataset_info_release(&info);
	sr_store_free(store);
	sr_masterkey_release(&mk);
	return rc ? 1 : 0;
}

/* The first step of the peer path: psql's \copy of the table to CSV. */
static int do_psql_copy(const struct job *job)
{
	char cmd[PATH_MAX + 64];

	snprintf(cmd, sizeof(cmd), "\\copy bench TO '%s' CSV HEADER", job->pg_csv);
	execlp("psql", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
	       job->pg_url, "-c", cmd, (char *)NULL);
	fprintf(stderr, "bench_import: cannot run psql: %s\n", strerror(errno));
	return 127;
}

/* The second step: our CSV import of what psql wrote. */
static int do_csv_import_of_copy(const struct job *job)
{
	struct job j = *job;

	j.csv = job->pg_csv;
	return do_import(&j);
}

/* Load the generated CSV into PostgreSQL (not timed). */
static int do_pg_load(const struct job *job)
{
	char cmd[PATH_MAX + 64];

	snprintf(cmd, sizeof(cmd), "\\copy bench FROM '%s' CSV HEADER", job->csv);
	execlp("psql", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
	       job->pg_url, "-c", pg_table_sql, "-c", cmd, "-c", "VACUUM ANALYZE bench",
	       (char *)NULL);
	fprintf(stderr, "bench_import: cannot run psql: %s\n", strerror(errno));
	return 127;
}

static int do_scan(const struct job *job)
{
	struct sr_masterkey mk;
	struct sr_store *store = NULL;
	struct sr_scan *scan = NULL;
	const struct sr_vec *cols;
	struct sr_err err;
	uint64_t plain_bytes = 0, rows_seen = 0, string_bytes = 0;
	int64_t int_sum = 0, cents_sum = 0;
	size_t rows;
	int eof = 0, rc;
	char line[160];

	sr_err_clear(&err);
	rc = open_store(job, &mk, &store, &err);
	if (rc == SR_OK)
		rc = sr_scan_open(store, DATASET, NULL, 0, &scan, &err);
	while (rc == SR_OK) {
		rc = sr_scan_next(scan, &cols, &rows, &eof, &err);
		if (rc || eof)
			break;
		rows_seen += rows;
		for (size_t c = 0; c < sr_scan_columns(scan); c++) {
			const struct sr_vec *v = &cols[c];
			plain_bytes += sr_vec_plain_bytes(v);
			/* The checksums touch every value, as a query would. */
			if (v->type == SR_TYPE_INT64)
				for (size_t i = 0; i < v->rows; i++)
					int_sum += v->v.i64[i];
			else if (v->type == SR_TYPE_STRING)
				string_bytes += v->bytes.len;
			else if (v->type == SR_TYPE_FLOAT64 &&
				 strcmp(sr_scan_column(scan, c)->name, "amount") == 0)
				for (size_t i = 0; i < v->rows; i++)
					cents_sum += (int64_t)(v->v.f64[i] * 100.0 + 0.5);
		}
	}
	if (rc)
		fprintf(stderr, "bench_import: scan: %s\n", err.msg);
	snprintf(line, sizeof(line),
		 "%" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 " %" PRIu64 "\n",
		 plain_bytes, rows_seen, int_sum, cents_sum, string_bytes);
	if (rc == SR_OK)
		rc = report(job, line);
	sr_scan_free(scan);
	sr_store_free(store);
	sr_masterkey_release(&mk);
	return rc ? 1 : 0;
}

static int do_sqlite_import(const struct job *job)
{
	char import_cmd[PATH_MAX + 32];

	snprintf(import_cmd, sizeof(import_cmd), ".import \"%s\" t", job->csv);
	execlp("sqlite3", "sqlite3", "-batch", "-bail", "-cmd", ".mode csv",
	       job->db, import_cmd, (char *)NULL);
	fprintf(stderr, "bench_import: cannot run sqlite3: %s\n", strerror(errno));
	return 127;
}

static int do_sqlite_count(const struct job *job)
{
	if (dup2(job->report_fd, STDOUT_FILENO) < 0)
		return 1;
	execlp("sqlite3", "sqlite3", "-batch", job->db,
	       "SELECT count(*) FROM t;", (char *)NULL);
	return 127;
}

/* Run fn in a child that reports one line through a pipe. */
static struct child_result run_reporting(int (*fn)(const struct job *),
					 struct job *job, char *line,
					 size_t line_size)
{
	struct child_result r;
	size_t got = 0;
	ssize_t n;
	int fds[2];

	if (pipe(fds) != 0)
		die("pipe: %s", strerror(errno));
	job->report_fd = fds[1];
	r = in_child(fn, job);
	close(fds[1]);
	job->report_fd = -1;
	while (got + 1 < line_size &&
	       (n = read(fds[0], line + got, line_size - 1 - got)) > 0)
		got += (size_t)n;
	line[got] = '\0';
	close(fds[0]);
	return r;
}

static int parse_count(const char *text, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v == 0)
		return SR_EINVAL;
	*out = v;
	return SR_OK;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_import [--rows N] [--repeat N] [--dir DIR] [--keep]\n"
		"  --rows N     rows to generate (default 1000000)\n"
		"  --repeat N   run each contender N times, interleaved, and keep\n"
		"               the best time (default 3)\n"
		"  --dir DIR    work in DIR (created; must be new or empty)\n"
		"               instead of a fresh directory under $TMPDIR\n"
		"  --keep       keep the working directory (CSV, node home, database)\n"
		"  --pg URL     also import from this PostgreSQL server (a table bench\n"
		"               is created there) against psql \\copy + CSV import\n"
		"  --pg-only    only the PostgreSQL figures\n");
}

static const char *verdict(int pass)
{
	return pass ? "PASS" : "FAIL";
}

/* Best wall time, least CPU time and highest peak RSS over the rounds. */
static void keep_best(struct child_result *best, const struct child_result *r,
		      int first)
{
	if (first) {
		*best = *r;
		return;
	}
	if (r->wall_s < best->wall_s)
		best->wall_s = r->wall_s;
	if (r->cpu_s < best->cpu_s)
		best->cpu_s = r->cpu_s;
	if (r->rss_mb > best->rss_mb)
		best->rss_mb = r->rss_mb;
}

static double load_average(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double load = -1;

	if (f) {
		if (fscanf(f, "%lf", &load) != 1)
			load = -1;
		fclose(f);
	}
	return load;
}

/* A fresh node home with a file master key (created outside the timing). */
static void make_home(const char *home)
{
	struct sr_masterkey mk;
	struct sr_err err;

	sr_err_clear(&err);
	if (sr_rm_rf(home, &err) != SR_OK)
		die("%s", err.msg);
	if (mkdir(home, 0700) != 0)
		die("%s: cannot create: %s", home, strerror(errno));
	sr_masterkey_init(&mk);
	if (sr_masterkey_create(&mk, home, SR_KEY_FILE, NULL, NULL, &err) != SR_OK)
		die("%s", err.msg);
	sr_masterkey_release(&mk);
}

/* One PostgreSQL round: import from the server, then psql \copy + CSV
 * import; out[0] is ours, out[1] and out[2] the two steps. */
static void run_pg_round(struct job *job, uint64_t rows,
			 struct child_result out[3])
{
	uint64_t got = 0;
	char line[64];

	make_home(job->home);
	out[0] = run_reporting(do_pg_import, job, line, sizeof(line));
	if (out[0].status || sscanf(line, "%" SCNu64, &got) != 1 || got != rows)
		die("import from PostgreSQL failed or stored %" PRIu64 " rows", got);
	make_home(job->home);
	if (unlink(job->pg_csv) != 0 && errno != ENOENT)
		die("%s: cannot remove: %s", job->pg_csv, strerror(errno));
	out[1] = in_child(do_psql_copy, job);
	if (out[1].status)
		die("%s", "psql \\copy failed");
	out[2] = run_reporting(do_csv_import_of_copy, job, line, sizeof(line));
	if (out[2].status || sscanf(line, "%" SCNu64, &got) != 1 || got != rows)
		die("%s", "CSV import of the psql copy failed");
}

/* One round: import, scan (checked against exp), sqlite3 .import. */
static void run_round(struct job *job, uint64_t rows, const struct expect *exp,
		      struct child_result out[3], uint64_t *scan_bytes,
		      uint64_t *stored_bytes)
{
	uint64_t imp_rows = 0, imp_plain = 0, scan_rows = 0, scan_strings = 0;
	uint64_t sqlite_rows = 0;
	int64_t scan_ints = 0, scan_cents = 0;
	struct child_result count;
	char line[256];

	make_home(job->home);
	if (unlink(job->db) != 0 && errno != ENOENT)
		die("%s: cannot remove: %s", job->db, strerror(errno));

	out[0] = run_reporting(do_import, job, line, sizeof(line));
	if (out[0].status || sscanf(line, "%" SCNu64 " %" SCNu64 " %" SCNu64,
				    &imp_rows, &imp_plain, stored_bytes) != 3)
		die("%s", "import failed");
	if (imp_rows != rows)
		die("import stored %" PRIu64 " rows, expected %" PRIu64,
		    imp_rows, rows);

	out[1] = run_reporting(do_scan, job, line, sizeof(line));
	if (out[1].status ||
	    sscanf(line, "%" SCNu64 " %" SCNu64 " %" SCNd64 " %" SCNd64 " %" SCNu64,
		   scan_bytes, &scan_rows, &scan_ints, &scan_cents,
		   &scan_strings) != 5)
		die("%s", "scan failed");
	if (scan_rows != rows || scan_ints != exp->int_sum ||
	    scan_cents != exp->cents_sum || scan_strings != exp->string_bytes)
		die("%s", "scan returned values that differ from the generated CSV");

	out[2] = in_child(do_sqlite_import, job);
	if (out[2].status)
		die("%s", "sqlite3 .import failed");
	count = run_reporting(do_sqlite_count, job, line, sizeof(line));
	if (count.status || sscanf(line, "%" SCNu64, &sqlite_rows) != 1 ||
	    sqlite_rows != rows)
		die("sqlite3 imported %" PRIu64 " rows, expected %" PRIu64,
		    sqlite_rows, rows);
}

int main(int argc, char **argv)
{
	uint64_t rows = 1000000, repeat = 3, csv_bytes, scan_bytes = 0;
	uint64_t stored_bytes = 0;
	const char *dir_arg = NULL, *tmp = getenv("TMPDIR"), *pg_url = NULL;
	int keep = 0, pg_only = 0;
	char pg_csv[PATH_MAX + 16];
	struct child_result pg = { 0 }, pcopy = { 0 }, pcsv = { 0 };
	char dir[PATH_MAX], home[PATH_MAX + 16], csv[PATH_MAX + 16];
	char db[PATH_MAX + 16];
	struct sr_err err;
	struct child_result imp = { 0 }, scan = { 0 }, sql = { 0 }, round[3];
	struct expect exp;
	struct job job;
	size_t threads = sr_cpu_count();
	double csv_mb, plain_mb, ratio, ratio_cpu, per_core, rss_max, load;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
			if (parse_count(argv[++i], &rows) != SR_OK)
				die("--rows %s: expected a positive number", argv[i]);
		} else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
			if (parse_count(argv[++i], &repeat) != SR_OK || repeat > 100)
				die("--repeat %s: expected a number from 1 to 100", argv[i]);
		} else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			dir_arg = argv[++i];
		} else if (strcmp(argv[i], "--keep") == 0) {
			keep = 1;
		} else if (strcmp(argv[i], "--pg") == 0 && i + 1 < argc) {
			pg_url = argv[++i];
		} else if (strcmp(argv[i], "--pg-only") == 0) {
			pg_only = 1;
		} else {
			usage();
			return 2;
		}
	}
#ifndef __OPTIMIZE__
	fprintf(stderr, "bench_import: warning: built without optimization; figures are not representative\n");
#endif
	sr_err_clear(&err);
	if (dir_arg) {
		if (strlen(dir_arg) >= sizeof(dir))
			die("--dir %s: path too long", dir_arg);
		snprintf(dir, sizeof(dir), "%s", dir_arg);
		/* rmdir succeeds only on an empty directory: never delete
		 * anything the user had there. */
		if (rmdir(dir) != 0 && errno != ENOENT)
			die("--dir %s: must not exist or be empty", dir);
		if (sr_mkdir_p(dir, 0700, &err) != SR_OK)
			die("%s", err.msg);
	} else {
		snprintf(dir, sizeof(dir), "%s/sr-bench-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir))
			die("cannot create a temporary directory: %s", strerror(errno));
	}
	snprintf(home, sizeof(home), "%s/home", dir);
	snprintf(csv, sizeof(csv), "%s/input.csv", dir);
	snprintf(db, sizeof(db), "%s/peer.sqlite", dir);
	snprintf(pg_csv, sizeof(pg_csv), "%s/psql-copy.csv", dir);
	if (pg_only && !pg_url)
		die("%s", "--pg-only needs --pg URL");
	sr_alloc_setup_json();
	sr_log_set_level(SR_LOG_ERROR);
	if (sr_crypto_init() != SR_OK)
		die("%s", "libsodium failed to initialize");

	fprintf(stderr, "bench_import: generating %" PRIu64 " rows x %d columns in %s\n",
		rows, BENCH_COLUMNS, dir);
	csv_bytes = generate(csv, rows, &exp);
	csv_mb = (double)csv_bytes / 1e6;
	fprintf(stderr, "bench_import: input.csv is %.1f MB\n", csv_mb);
	warm_cache(csv);
	job.home = home;
	job.csv = csv;
	job.db = db;
	job.pg_url = pg_url;
	job.pg_csv = pg_csv;
	job.report_fd = -1;

	load = load_average();
	if (pg_url) {
		struct child_result loaded;
		fprintf(stderr, "bench_import: loading %" PRIu64 " rows into PostgreSQL\n", rows);
		loaded = in_child(do_pg_load, &job);
		if (loaded.status)
			die("%s", "loading the table into PostgreSQL failed");
		for (uint64_t r = 0; r < repeat; r++) {
			fprintf(stderr, "bench_import: round %" PRIu64 "/%" PRIu64
				": import from PostgreSQL, psql \\copy + CSV import\n",
				r + 1, repeat);
			run_pg_round(&job, rows, round);
			keep_best(&pg, &round[0], r == 0);
			keep_best(&pcopy, &round[1], r == 0);
			keep_best(&pcsv, &round[2], r == 0);
		}
		{
			double two_step = pcopy.wall_s + pcsv.wall_s;
			double peer_rss = pcsv.rss_mb;
			printf("bench env cpus=%zu repeat=%" PRIu64 " load1_before=%.2f load1_after_pg=%.2f\n",
			       threads, repeat, load, load_average());
			printf("bench pg_import rows=%" PRIu64 " cols=%d pg_import_s=%.3f pg_import_cpu_s=%.3f pg_import_rss_mb=%.1f rows_per_s=%.0f\n",
			       rows, BENCH_COLUMNS, pg.wall_s, pg.cpu_s, pg.rss_mb,
			       (double)rows / pg.wall_s);
			printf("bench pg_peer psql_copy_s=%.3f csv_import_s=%.3f two_step_s=%.3f csv_import_rss_mb=%.1f ratio_vs_two_step=%.2f\n",
			       pcopy.wall_s, pcsv.wall_s, two_step, peer_rss,
			       two_step / pg.wall_s);
			printf("bench pg_targets faster_than_two_step:%s rss<%.0fMB:%s\n",
			       verdict(two_step / pg.wall_s > TARGET_PG_RATIO),
			       TARGET_RSS_MB, verdict(pg.rss_mb < TARGET_RSS_MB));
			fflush(stdout);
		}
	}
	for (uint64_t r = 0; !pg_only && r < repeat; r++) {
		fprintf(stderr, "bench_import: round %" PRIu64 "/%" PRIu64
			": import, scan, sqlite3 .import\n", r + 1, repeat);
		run_round(&job, rows, &exp, round, &scan_bytes, &stored_bytes);
		keep_best(&imp, &round[0], r == 0);
		keep_best(&scan, &round[1], r == 0);
		keep_best(&sql, &round[2], r == 0);
	}

	if (pg_only)
		goto done;
	plain_mb = (double)scan_bytes / 1e6;
	ratio = sql.wall_s / imp.wall_s;
	ratio_cpu = sql.cpu_s / imp.cpu_s;
	per_core = plain_mb / scan.cpu_s;
	rss_max = imp.rss_mb > scan.rss_mb ? imp.rss_mb : scan.rss_mb;
	printf("bench env cpus=%zu repeat=%" PRIu64 " load1_before=%.2f\n",
	       threads, repeat, load);
	printf("bench import rows=%" PRIu64 " cols=%d csv_mb=%.1f import_s=%.3f import_mb_s=%.1f import_cpu_s=%.3f import_rss_mb=%.1f stored_mb=%.1f threads=%zu\n",
	       rows, BENCH_COLUMNS, csv_mb, imp.wall_s, csv_mb / imp.wall_s,
	       imp.cpu_s, imp.rss_mb, (double)stored_bytes / 1e6, threads);
	printf("bench scan plain_mb=%.1f scan_s=%.3f scan_mb_s=%.1f scan_cpu_s=%.3f scan_mb_s_per_core=%.1f scan_mb_s_per_thread=%.1f scan_rss_mb=%.1f\n",
	       plain_mb, scan.wall_s, plain_mb / scan.wall_s, scan.cpu_s,
	       per_core, plain_mb / scan.wall_s / (double)threads, scan.rss_mb);
	printf("bench peer sqlite3_import_s=%.3f sqlite3_cpu_s=%.3f sqlite3_rss_mb=%.1f ratio_vs_sqlite=%.2f cpu_ratio_vs_sqlite=%.2f\n",
	       sql.wall_s, sql.cpu_s, sql.rss_mb, ratio, ratio_cpu);
	printf("bench targets import_vs_sqlite>=%.1f:%s scan_per_core>=%.0f:%s rss<%.0fMB:%s\n",
	       TARGET_RATIO_VS_SQLITE, verdict(ratio >= TARGET_RATIO_VS_SQLITE),
	       TARGET_SCAN_MB_S_PER_CORE,
	       verdict(per_core >= TARGET_SCAN_MB_S_PER_CORE),
	       TARGET_RSS_MB, verdict(rss_max < TARGET_RSS_MB));
	fflush(stdout);
done:
	if (keep) {
		fprintf(stderr, "bench_import: kept %s\n", dir);
	} else if (sr_rm_rf(dir, &err) != SR_OK) {
		fprintf(stderr, "bench_import: %s\n", err.msg);
		return 1;
	}
	return 0;
}

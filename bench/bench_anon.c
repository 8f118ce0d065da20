/*
 * bench_anon.c - anonymization benchmark (driven by bench/anon; not a
 * timed test).
 *
 *   bench_anon ROWS [ROUNDS] [--brute]
 *
 * Generates the Adult-shaped table (tests/anon_adult.h: 8 QIs, occupation
 * as the SA, hierarchies of heights 5 2 2 3 4 3 3 2) with ROWS rows and
 * runs sr_anon_run() — hierarchy binding, search, release — for the four
 * criteria of issue 13, best wall time of ROUNDS (default 3):
 *   k5_s0       k = 5, no suppression
 *   k5_s5       k = 5, 5% suppression
 *   k5_rl43_s5  k = 5 + recursive (4,3)-diversity of occupation, 5%
 *   k5_t02_s5   k = 5 + 0.2-closeness of occupation (equal distance), 5%
 * With --brute, k5_s5 also by the brute force (every lattice node from the
 * rows), and whether both chose the same node.  Last, Mondrian (local
 * recoding) at k = 5, one round, with its NCP.
 *
 * Output: one line per figure, "anon key=value ...", and a last line with
 * the process's peak RSS (the generated input table included).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "anon/anon.h"
#include "base/alloc.h"
#include "../tests/anon_adult.h"
#include "base/banned.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct criterion {
	const char *name;
	double supp;
	struct sr_anon_sa_model model;
};

static int run_one(const struct adult *a, const struct criterion *cr, int brute,
		   struct sr_anon_release *rel, struct sr_err *err)
{
	struct sr_anon_column cols[ADULT_COLUMNS];
	struct sr_anon_params params = { .k = 5, .max_suppression = cr->supp,
					 .metric = SR_ANON_METRIC_LOSS, .brute_force = brute };

	memset(cols, 0, sizeof(cols));
	for (size_t c = 0; c < ADULT_COLUMNS; c++) {
		cols[c].name = adult_names[c];
		cols[c].values = &a->cols[c];
		cols[c].role = c == ADULT_OCCUPATION ? SR_ANON_SA : SR_ANON_QI;
		cols[c].hier = a->hier[c];
		cols[c].model = cr->model;
	}
	sr_anon_release_init(rel);
	sr_err_clear(err);
	return sr_anon_run(cols, ADULT_COLUMNS, &params, rel, err);
}

static void levels_text(const struct sr_anon_report *r, char *out, size_t len)
{
	size_t at = 0;

	out[0] = '\0';
	for (size_t q = 0; q < r->qis && at + 8 < len; q++)
		at += (size_t)snprintf(out + at, len - at, "%s%zu", q ? "," : "", r->levels[q]);
}

int main(int argc, char **argv)
{
	static const struct criterion criteria[] = {
		{ "k5_s0", 0, { SR_ANON_LDIV_NONE, 0, 0, 0, SR_ANON_EMD_AUTO } },
		{ "k5_s5", 0.05, { SR_ANON_LDIV_NONE, 0, 0, 0, SR_ANON_EMD_AUTO } },
		{ "k5_rl43_s5", 0.05, { SR_ANON_LDIV_RECURSIVE, 3, 4, 0, SR_ANON_EMD_AUTO } },
		{ "k5_t02_s5", 0.05, { SR_ANON_LDIV_NONE, 0, 0, 0.2, SR_ANON_EMD_EQUAL } },
	};
	size_t rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 30000;
	int rounds = argc > 2 && argv[2][0] != '-' ? (int)strtol(argv[2], NULL, 10) : 3;
	int brute = argc > 1 && strcmp(argv[argc - 1], "--brute") == 0;
	struct sr_err err;
	struct adult a;
	struct rusage ru;
	double t0;

	sr_alloc_setup_json();
	t0 = now_s();
	if (rows == 0 || adult_make(&a, rows, 20261202, &err) != SR_OK) {
		fprintf(stderr, "bench_anon: generating %zu rows: %s\n", rows, err.msg);
		return 1;
	}
	printf("anon_data rows=%zu qis=8 sa=occupation lattice_nodes=4320 gen_s=%.3f\n",
	       rows, now_s() - t0);
	for (size_t i = 0; i < sizeof(criteria) / sizeof(criteria[0]); i++) {
		const struct criterion *cr = &criteria[i];
		double best = 1e30, best_cpu = 1e30;
		struct sr_anon_release rel;
		char levels[128];

		for (int r = 0; r < rounds; r++) {
			double w = now_s(), c = cpu_s();

			if (run_one(&a, cr, 0, &rel, &err) != SR_OK) {
				fprintf(stderr, "bench_anon: %s: %s\n", cr->name, err.msg);
				return 1;
			}
			w = now_s() - w;
			c = cpu_s() - c;
			if (w < best)
				best = w;
			if (c < best_cpu)
				best_cpu = c;
			if (r + 1 < rounds)
				sr_anon_release_release(&rel);
		}
		levels_text(&rel.report, levels, sizeof(levels));
		printf("anon rows=%zu criterion=%s wall_ms=%.1f cpu_ms=%.1f levels=%s classes=%" PRIu64
		       " class_min=%" PRIu64 " suppressed=%" PRIu64 " loss=%.4f discernibility=%.0f"
		       " risk_max=%.4f risk_avg=%.4f evaluated=%" PRIu64 "\n",
		       rows, cr->name, best * 1e3, best_cpu * 1e3, levels, rel.report.classes,
		       rel.report.class_min, rel.report.suppressed, rel.report.loss,
		       rel.report.discernibility, rel.report.risk_max, rel.report.risk_avg,
		       rel.report.nodes_evaluated);
		if (brute && strcmp(cr->name, "k5_s5") == 0) {
			struct sr_anon_release br;
			char blevels[128];
			double w = now_s();

			if (run_one(&a, cr, 1, &br, &err) != SR_OK) {
				fprintf(stderr, "bench_anon: brute force: %s\n", err.msg);
				return 1;
			}
			w = now_s() - w;
			levels_text(&br.report, blevels, sizeof(blevels));
			printf("anon_brute rows=%zu criterion=%s wall_s=%.2f levels=%s loss=%.4f same_optimum=%d\n",
			       rows, cr->name, w, blevels, br.report.loss,
			       strcmp(levels, blevels) == 0 && br.report.loss == rel.report.loss);
			sr_anon_release_release(&br);
		}
		sr_anon_release_release(&rel);
	}
	{
		/* Mondrian on the same table, k = 5: the local-recoding figure. */
		struct sr_anon_column cols[ADULT_COLUMNS];
		struct sr_anon_params params = { .k = 5, .algorithm = SR_ANON_MONDRIAN };
		struct sr_anon_release rel;
		double w = now_s(), c = cpu_s();

		memset(cols, 0, sizeof(cols));
		for (size_t i = 0; i < ADULT_COLUMNS; i++) {
			cols[i].name = adult_names[i];
			cols[i].values = &a.cols[i];
			cols[i].role = i == ADULT_OCCUPATION ? SR_ANON_KEEP : SR_ANON_QI;
			cols[i].hier = a.hier[i];
		}
		sr_anon_release_init(&rel);
		sr_err_clear(&err);
		if (sr_anon_run(cols, ADULT_COLUMNS, &params, &rel, &err) != SR_OK) {
			fprintf(stderr, "bench_anon: mondrian: %s\n", err.msg);
			return 1;
		}
		printf("anon_mondrian rows=%zu criterion=k5 wall_ms=%.1f cpu_ms=%.1f classes=%" PRIu64
		       " class_min=%" PRIu64 " ncp=%.4f loss=%.4f\n", rows, (now_s() - w) * 1e3,
		       (cpu_s() - c) * 1e3, rel.report.classes, rel.report.class_min,
		       rel.report.ncp, rel.report.loss);
		sr_anon_release_release(&rel);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("anon_rss rows=%zu rss_mb=%.1f\n", rows, ru.ru_maxrss / 1024.0);
	adult_free(&a);
	return 0;
}

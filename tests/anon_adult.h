/*
 * anon_adult.h - generated data shaped like the Adult benchmark (UCI census,
 * the table ARX and the literature use): 8 quasi-identifiers (age, sex,
 * race, marital status, education, native country, workclass, salary
 * class) and occupation as the sensitive attribute, with the marginals of
 * the real table and a few of its correlations (occupation with sex and
 * education, salary with education and age), and hierarchies of the usual
 * heights: age 5 levels, education 4, marital 3, country 3, workclass 3,
 * occupation 3, race 2, sex 2, salary 2.
 *
 * Shared by tests/unit/test_anon.c and bench/bench_anon.c (static
 * functions, test and bench code only).  Deterministic for a seed.
 */
#ifndef SR_ANON_ADULT_H
#define SR_ANON_ADULT_H

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "anon/anon.h"
#include "anon/hier.h"
#include "base/alloc.h"
#include "store/vec.h"

#define ADULT_COLUMNS 9
#define ADULT_OCCUPATION 8   /* index of the SA */

struct adult_value {
	const char *name;
	double weight;
	const char *path;        /* JSON array of the levels above the value */
};

static const struct adult_value adult_sex[] = {
	{ "Male", 67.5, "[\"*\"]" }, { "Female", 32.5, "[\"*\"]" }, { 0, 0, 0 } };
static const struct adult_value adult_race[] = {
	{ "White", 86, "[\"*\"]" }, { "Black", 9.3, "[\"*\"]" },
	{ "Asian-Pac-Islander", 3, "[\"*\"]" }, { "Amer-Indian-Eskimo", 1, "[\"*\"]" },
	{ "Other", 0.8, "[\"*\"]" }, { 0, 0, 0 } };
static const struct adult_value adult_marital[] = {
	{ "Married-civ-spouse", 46, "[\"spouse present\", \"*\"]" },
	{ "Never-married", 32, "[\"spouse not present\", \"*\"]" },
	{ "Divorced", 14, "[\"spouse not present\", \"*\"]" },
	{ "Separated", 3, "[\"spouse not present\", \"*\"]" },
	{ "Widowed", 3, "[\"spouse not present\", \"*\"]" },
	{ "Married-spouse-absent", 1.3, "[\"spouse not present\", \"*\"]" },
	{ "Married-AF-spouse", 0.1, "[\"spouse present\", \"*\"]" }, { 0, 0, 0 } };
static const struct adult_value adult_education[] = {
	{ "Preschool", 0.15, "[\"Primary\", \"Lower\", \"*\"]" },
	{ "1st-4th", 0.5, "[\"Primary\", \"Lower\", \"*\"]" },
	{ "5th-6th", 1, "[\"Primary\", \"Lower\", \"*\"]" },
	{ "7th-8th", 1.9, "[\"Primary\", \"Lower\", \"*\"]" },
	{ "9th", 1.5, "[\"Secondary\", \"Lower\", \"*\"]" },
	{ "10th", 2.7, "[\"Secondary\", \"Lower\", \"*\"]" },
	{ "11th", 3.6, "[\"Secondary\", \"Lower\", \"*\"]" },
	{ "12th", 1.3, "[\"Secondary\", \"Lower\", \"*\"]" },
	{ "HS-grad", 32, "[\"Secondary\", \"Lower\", \"*\"]" },
	{ "Some-college", 22, "[\"College\", \"Higher\", \"*\"]" },
	{ "Assoc-voc", 4, "[\"College\", \"Higher\", \"*\"]" },
	{ "Assoc-acdm", 3.3, "[\"College\", \"Higher\", \"*\"]" },
	{ "Bachelors", 16, "[\"University\", \"Higher\", \"*\"]" },
	{ "Masters", 5, "[\"University\", \"Higher\", \"*\"]" },
	{ "Prof-school", 1.8, "[\"University\", \"Higher\", \"*\"]" },
	{ "Doctorate", 1.2, "[\"University\", \"Higher\", \"*\"]" }, { 0, 0, 0 } };
#define NA "[\"North America\", \"*\"]"
#define CA "[\"Central America\", \"*\"]"
#define SA "[\"South America\", \"*\"]"
#define AS "[\"Asia\", \"*\"]"
#define EU "[\"Europe\", \"*\"]"
static const struct adult_value adult_country[] = {
	{ "United-States", 91, NA }, { "Mexico", 2, NA }, { "Philippines", 0.6, AS },
	{ "Germany", 0.4, EU }, { "Puerto-Rico", 0.35, CA }, { "Canada", 0.35, NA },
	{ "India", 0.3, AS }, { "El-Salvador", 0.3, CA }, { "Cuba", 0.3, CA },
	{ "England", 0.3, EU }, { "Jamaica", 0.25, CA }, { "South", 0.25, AS },
	{ "China", 0.2, AS }, { "Italy", 0.2, EU }, { "Dominican-Republic", 0.2, CA },
	{ "Vietnam", 0.2, AS }, { "Guatemala", 0.2, CA }, { "Japan", 0.2, AS },
	{ "Poland", 0.2, EU }, { "Columbia", 0.2, SA }, { "Taiwan", 0.15, AS },
	{ "Haiti", 0.15, CA }, { "Iran", 0.15, AS }, { "Portugal", 0.1, EU },
	{ "Nicaragua", 0.1, CA }, { "Peru", 0.1, SA }, { "Greece", 0.1, EU },
	{ "France", 0.1, EU }, { "Ecuador", 0.1, SA }, { "Ireland", 0.08, EU },
	{ "Hong", 0.06, AS }, { "Cambodia", 0.06, AS }, { "Trinadad&Tobago", 0.06, CA },
	{ "Thailand", 0.05, AS }, { "Laos", 0.05, AS }, { "Yugoslavia", 0.05, EU },
	{ "Outlying-US", 0.05, NA }, { "Hungary", 0.04, EU }, { "Honduras", 0.04, CA },
	{ "Scotland", 0.03, EU }, { "Holand-Netherlands", 0.01, EU }, { 0, 0, 0 } };
#undef NA
#undef CA
#undef SA
#undef AS
#undef EU
static const struct adult_value adult_workclass[] = {
	{ "Private", 74, "[\"Non-Government\", \"*\"]" },
	{ "Self-emp-not-inc", 8, "[\"Non-Government\", \"*\"]" },
	{ "Local-gov", 7, "[\"Government\", \"*\"]" },
	{ "State-gov", 4, "[\"Government\", \"*\"]" },
	{ "Self-emp-inc", 3.5, "[\"Non-Government\", \"*\"]" },
	{ "Federal-gov", 3, "[\"Government\", \"*\"]" },
	{ "Without-pay", 0.5, "[\"Unemployed\", \"*\"]" }, { 0, 0, 0 } };
static const struct adult_value adult_salary[] = {
	{ "<=50K", 75, "[\"*\"]" }, { ">50K", 25, "[\"*\"]" }, { 0, 0, 0 } };
static const struct adult_value adult_occupation[] = {
	{ "Prof-specialty", 13.4, "[\"White-collar\", \"*\"]" },
	{ "Craft-repair", 13.3, "[\"Blue-collar\", \"*\"]" },
	{ "Exec-managerial", 13.2, "[\"White-collar\", \"*\"]" },
	{ "Adm-clerical", 12.3, "[\"White-collar\", \"*\"]" },
	{ "Sales", 11.9, "[\"White-collar\", \"*\"]" },
	{ "Other-service", 10.6, "[\"Service\", \"*\"]" },
	{ "Machine-op-inspct", 6.5, "[\"Blue-collar\", \"*\"]" },
	{ "Transport-moving", 5.2, "[\"Blue-collar\", \"*\"]" },
	{ "Handlers-cleaners", 4.5, "[\"Blue-collar\", \"*\"]" },
	{ "Farming-fishing", 3.3, "[\"Blue-collar\", \"*\"]" },
	{ "Tech-support", 3.0, "[\"White-collar\", \"*\"]" },
	{ "Protective-serv", 2.1, "[\"Service\", \"*\"]" },
	{ "Priv-house-serv", 0.5, "[\"Service\", \"*\"]" },
	{ "Armed-Forces", 0.03, "[\"Other\", \"*\"]" }, { 0, 0, 0 } };

static const char *const adult_names[ADULT_COLUMNS] = {
	"age", "sex", "race", "marital", "education", "country", "workclass",
	"salary", "occupation" };
static const struct adult_value *const adult_tables[ADULT_COLUMNS] = {
	NULL, adult_sex, adult_race, adult_marital, adult_education, adult_country,
	adult_workclass, adult_salary, adult_occupation };

struct adult {
	size_t rows;
	struct sr_vec cols[ADULT_COLUMNS];
	struct sr_anon_hier *hier[ADULT_COLUMNS];
	char *hier_json[ADULT_COLUMNS];      /* the descriptions, for verifiers */
};

static uint64_t adult_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static double adult_uniform(uint64_t *state)
{
	return (double)(adult_next(state) >> 11) / 9007199254740992.0;
}

/* Index drawn from table with weights scaled by boost (NULL = 1). */
static size_t adult_pick(uint64_t *state, const struct adult_value *t,
			 const double *boost)
{
	double total = 0, u;
	size_t n = 0;

	for (; t[n].name; n++)
		total += t[n].weight * (boost ? boost[n] : 1);
	u = adult_uniform(state) * total;
	for (size_t i = 0; i < n; i++) {
		u -= t[i].weight * (boost ? boost[i] : 1);
		if (u < 0)
			return i;
	}
	return n - 1;
}

/* The JSON description of column c's hierarchy (malloc'ed). */
static char *adult_hier_json(size_t c)
{
	struct sr_buf b;
	const struct adult_value *t = adult_tables[c];

	sr_buf_init(&b, 0);
	if (c == 0) {
		if (sr_buf_addstr(&b, "{\"intervals\": [5, 10, 20]}") != SR_OK)
			return NULL;
		return sr_buf_detach(&b, NULL);
	}
	if (sr_buf_addstr(&b, "{\"hierarchy\": {") != SR_OK)
		return NULL;
	for (size_t i = 0; t[i].name; i++)
		if (sr_buf_addf(&b, "%s\"%s\": %s", i ? ", " : "", t[i].name, t[i].path) != SR_OK)
			return NULL;
	if (sr_buf_addstr(&b, "}}") != SR_OK)
		return NULL;
	return sr_buf_detach(&b, NULL);
}

static void adult_free(struct adult *a)
{
	for (size_t c = 0; c < ADULT_COLUMNS; c++) {
		sr_vec_release(&a->cols[c]);
		sr_anon_hier_free(a->hier[c]);
		sr_free(a->hier_json[c]);
	}
	memset(a, 0, sizeof(*a));
}

/* rows people from seed; SR_OK or the first failure. */
static int adult_make(struct adult *a, size_t rows, uint64_t seed, struct sr_err *err)
{
	uint64_t state = seed;
	int rc = SR_OK;

	memset(a, 0, sizeof(*a));
	a->rows = rows;
	for (size_t c = 0; c < ADULT_COLUMNS; c++) {
		sr_vec_init(&a->cols[c], c == 0 ? SR_TYPE_INT64 : SR_TYPE_STRING);
		if (sr_vec_reserve(&a->cols[c], rows) != SR_OK)
			return SR_ENOMEM;
		a->hier_json[c] = adult_hier_json(c);
		if (!a->hier_json[c])
			return SR_ENOMEM;
		rc = sr_anon_hier_parse_text(a->hier_json[c], strlen(a->hier_json[c]),
					     adult_names[c], a->cols[c].type, &a->hier[c], err);
		if (rc != SR_OK)
			return rc;
	}
	for (size_t row = 0; row < rows && rc == SR_OK; row++) {
		double x = (adult_uniform(&state) + adult_uniform(&state) + adult_uniform(&state)) / 3;
		int64_t age = 17 + (int64_t)floor(73.0 * pow(x, 1.7));
		size_t pick[ADULT_COLUMNS];
		double occ_boost[14], sal_boost[2] = { 1, 1 };

		for (size_t c = 1; c < ADULT_OCCUPATION; c++)
			pick[c] = c == 7 ? 0 : adult_pick(&state, adult_tables[c], NULL);
		/* Salary with education and age; occupation with sex and education. */
		if (pick[4] >= 12)
			sal_boost[1] = 3;
		if (age < 25)
			sal_boost[1] *= 0.1;
		pick[7] = adult_pick(&state, adult_salary, sal_boost);
		for (size_t i = 0; i < 14; i++)
			occ_boost[i] = 1;
		if (pick[4] >= 12) {
			occ_boost[0] = 4;
			occ_boost[2] = 3;
		}
		if (pick[1] == 1) {
			occ_boost[3] = 2.5;
			occ_boost[1] = 0.15;
		}
		pick[8] = adult_pick(&state, adult_occupation, occ_boost);
		{
			char text[24];
			int n = snprintf(text, sizeof(text), "%lld", (long long)age);

			rc = sr_vec_append_text(&a->cols[0], text, (size_t)n);
		}
		for (size_t c = 1; c < ADULT_COLUMNS && rc == SR_OK; c++) {
			const char *name = adult_tables[c][pick[c]].name;

			rc = sr_vec_append_text(&a->cols[c], name, strlen(name));
		}
	}
	return rc;
}

#endif

#include "cli/demo_data.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/file.h"
#include "store/value.h"
#include "base/banned.h"

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const char *const first_names[] = {
	"Anna", "Björn", "Chloé", "Dmitri", "Émile", "Fatima", "Giulia",
	"Hiroshi", "Ingrid", "José", "Kateřina", "Liam", "Mei", "Nuno",
	"Olivia", "Paweł", "Quentin", "Rania", "Søren", "Tomás", "Ursula",
	"Wei", "Xavier", "Yasmin", "Zoë",
};
static const char *const last_names[] = {
	"Andersson", "O'Brien", "Müller", "García", "Nakamura", "Dubois",
	"Kowalski", "Rossi", "Novák", "Jensen", "Silva", "Chen", "Haddad",
	"van der Berg", "Smith, Jr.", "\"Ace\" Baker",
};
static const char *const regions[] = { "north", "south", "east", "west" };

static int csv_field(struct sr_buf *b, const char *s)
{
	int quote = s[0] == '\0' || strpbrk(s, ",\"\r\n") != NULL;
	int rc;

	if (!quote)
		return sr_buf_addstr(b, s);
	rc = sr_buf_addch(b, '"');
	for (; rc == SR_OK && *s; s++) {
		if (*s == '"')
			rc = sr_buf_addch(b, '"');
		if (rc == SR_OK)
			rc = sr_buf_addch(b, *s);
	}
	return rc ? rc : sr_buf_addch(b, '"');
}

static const char policy_text[] =
	"{\n"
	"  \"columns\": {\n"
	"    \"customer_id\": {\"class\": \"id\", \"allow\": [\"join\"]},\n"
	"    \"name\":        {\"class\": \"id\", \"allow\": []},\n"
	"    \"email\":       {\"class\": \"id\", \"allow\": [\"join\"], \"mask\": \"hash\"},\n"
	"    \"age\":         {\"class\": \"qi\", \"bounds\": [18, 100]},\n"
	"    \"region\":      {\"class\": \"qi\", \"domain\": [\"north\", \"south\", \"east\", \"west\"]},\n"
	"    \"opened\":      {\"class\": \"qi\"},\n"
	"    \"balance\":     {\"class\": \"sa\", \"bounds\": [-5000, 250000]},\n"
	"    \"premium\":     {\"class\": \"public\"},\n"
	"    \"note\":        {\"class\": \"sa\", \"allow\": []}\n"
	"  },\n"
	"  \"min_group_size\": 10,\n"
	"  \"dp\": {\"epsilon_total\": 4, \"epsilon_max_per_job\": 1, \"delta\": 1e-6},\n"
	"  \"jobs\": [\"psi\", \"query\", \"train\", \"predict\"]\n"
	"}\n";

int sr_demo_write_bank(const char *path, const char *policy_path,
		       size_t rows, unsigned long long seed,
		       struct sr_err *err)
{
	struct sr_buf csv, name, tmp;
	uint64_t s = seed;
	int rc;

	sr_buf_init(&csv, 0);
	sr_buf_init(&name, 0);
	sr_buf_init(&tmp, 0);
	rc = sr_buf_addstr(&csv, "customer_id,name,email,age,region,opened,"
			   "balance,premium,note\n");
	for (size_t i = 0; rc == SR_OK && i < rows; i++) {
		uint64_t r = next(&s);
		const char *first = first_names[r % 25];
		const char *last = last_names[(r >> 8) % 16];
		int64_t cents = (int64_t)((r >> 16) % 25000000) - 500000;
		int32_t opened;

		sr_buf_reset(&name);
		rc = sr_buf_addf(&csv, "C%07zu,", 1000000 + i * 7 % 999983);
		if (rc == SR_OK)
			rc = sr_buf_addf(&name, "%s %s", first, last);
		if (rc == SR_OK)
			rc = csv_field(&csv, name.data);
		/* Every 50th customer has no e-mail on file (NULL). */
		if (rc == SR_OK && i % 50 != 0)
			rc = sr_buf_addf(&csv, ",c%zu@example.org,", i);
		else if (rc == SR_OK)
			rc = sr_buf_addstr(&csv, ",,");
		if (rc == SR_OK)
			rc = sr_buf_addf(&csv, "%d,%s,", 18 + (int)((r >> 40) % 70),
					 regions[(r >> 48) % 4]);
		if (rc == SR_OK) {
			/* Accounts opened between 1995 and 2025. */
			opened = 9131 + (int32_t)((r >> 20) % 10957);
			sr_buf_reset(&tmp);
			rc = sr_value_format_date(&tmp, opened);
		}
		if (rc == SR_OK)
			rc = sr_buf_addf(&csv, "%s,", tmp.data);
		if (rc == SR_OK) {
			sr_buf_reset(&tmp);
			rc = sr_value_format_float64(&tmp, (double)cents / 100.0);
		}
		if (rc == SR_OK)
			rc = sr_buf_addf(&csv, "%s,%s,", tmp.data,
					 (r >> 60) & 1 ? "true" : "false");
		/* Notes: mostly NULL, sometimes empty, sometimes multi-line. */
		if (rc == SR_OK && i % 97 == 3)
			rc = csv_field(&csv, "call before visiting,\nprefers \"paper\" mail");
		else if (rc == SR_OK && i % 89 == 5)
			rc = csv_field(&csv, "");
		if (rc == SR_OK)
			rc = sr_buf_addch(&csv, '\n');
	}
	if (rc)
		rc = sr_fail(err, rc, "generating demo data: %s", sr_strerror(rc));
	if (rc == SR_OK)
		rc = sr_file_write_atomic(path, csv.data, csv.len, 0600, err);
	if (rc == SR_OK)
		rc = sr_file_write_atomic(policy_path, policy_text,
					  sizeof(policy_text) - 1, 0600, err);
	sr_buf_release(&csv);
	sr_buf_release(&name);
	sr_buf_release(&tmp);
	return rc;
}

uint64_t sr_demo_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

void sr_demo_customer_id(char out[16], size_t index)
{
	snprintf(out, 16, "C%07zu", 1000000 + index * 7 % 999983);
}

/* Partner policies name the receivers they allow (org ids). */
static int partner_policy(const char *path, const char *columns,
			  const char *const *receivers, size_t nreceivers,
			  struct sr_err *err)
{
	struct sr_buf p;
	int rc;

	sr_buf_init(&p, 0);
	rc = sr_buf_addf(&p, "{\n  \"columns\": {\n%s  },\n"
			 "  \"min_group_size\": 10,\n"
			 "  \"jobs\": [\"psi\", \"query\"],\n  \"receivers\": [", columns);
	for (size_t i = 0; rc == SR_OK && i < nreceivers; i++)
		rc = sr_buf_addf(&p, "%s\"%s\"", i ? ", " : "", receivers[i]);
	if (rc == SR_OK)
		rc = sr_buf_addstr(&p, "]\n}\n");
	if (rc)
		rc = sr_fail(err, rc, "generating demo policy: %s", sr_strerror(rc));
	if (rc == SR_OK)
		rc = sr_file_write_atomic(path, p.data, p.len, 0600, err);
	sr_buf_release(&p);
	return rc;
}

int sr_demo_write_shop(const char *path, const char *policy_path,
		       size_t first, size_t rows, unsigned long long seed,
		       const char *const *receivers, size_t nreceivers,
		       struct sr_err *err)
{
	struct sr_buf csv, tmp;
	uint64_t s = seed;
	int rc;

	sr_buf_init(&csv, 0);
	sr_buf_init(&tmp, 0);
	rc = sr_buf_addstr(&csv, "customer_id,region,visits,basket_total,last_visit\n");
	for (size_t i = first; rc == SR_OK && i < first + rows; i++) {
		uint64_t r = next(&s);
		char id[16];

		sr_demo_customer_id(id, i);
		sr_buf_reset(&tmp);
		rc = sr_value_format_date(&tmp, 19723 + (int32_t)((r >> 20) % 1000));
		if (rc == SR_OK)
			rc = sr_buf_addf(&csv, "%s,%s,%d,%d.%02d,%s\n", id,
					 regions[(r >> 48) % 4], 1 + (int)(r % 60),
					 (int)((r >> 8) % 5000), (int)((r >> 30) % 100),
					 tmp.data);
	}
	if (rc)
		rc = sr_fail(err, rc, "generating demo data: %s", sr_strerror(rc));
	if (rc == SR_OK)
		rc = sr_file_write_atomic(path, csv.data, csv.len, 0600, err);
	if (rc == SR_OK)
		rc = partner_policy(policy_path,
			"    \"customer_id\":  {\"class\": \"id\", \"allow\": [\"join\"]},\n"
			"    \"region\":       {\"class\": \"qi\", \"domain\": [\"north\", \"south\", \"east\", \"west\"]},\n"
			"    \"visits\":       {\"class\": \"sa\", \"bounds\": [0, 1000]},\n"
			"    \"basket_total\": {\"class\": \"sa\", \"bounds\": [0, 100000]},\n"
			"    \"last_visit\":   {\"class\": \"qi\"}\n",
			receivers, nreceivers, err);
	sr_buf_release(&csv);
	sr_buf_release(&tmp);
	return rc;
}

int sr_demo_write_insurer(const char *path, const char *policy_path,
			  size_t first, size_t rows, unsigned long long seed,
			  const char *const *receivers, size_t nreceivers,
			  struct sr_err *err)
{
	static const char *const products[] = { "car", "home", "life", "travel" };
	struct sr_buf csv;
	uint64_t s = seed;
	int rc;

	sr_buf_init(&csv, 0);
	rc = sr_buf_addstr(&csv, "customer_id,product,premium,claims\n");
	for (size_t i = first; rc == SR_OK && i < first + rows; i++) {
		uint64_t r = next(&s);
		char id[16];

		sr_demo_customer_id(id, i);
		rc = sr_buf_addf(&csv, "%s,%s,%d,%d\n", id, products[r % 4],
				 120 + (int)((r >> 8) % 3000), (int)((r >> 40) % 4));
	}
	if (rc)
		rc = sr_fail(err, rc, "generating demo data: %s", sr_strerror(rc));
	if (rc == SR_OK)
		rc = sr_file_write_atomic(path, csv.data, csv.len, 0600, err);
	if (rc == SR_OK)
		rc = partner_policy(policy_path,
			"    \"customer_id\": {\"class\": \"id\", \"allow\": [\"join\"]},\n"
			"    \"product\":     {\"class\": \"qi\", \"domain\": [\"car\", \"home\", \"life\", \"travel\"]},\n"
			"    \"premium\":     {\"class\": \"sa\", \"bounds\": [0, 10000]},\n"
			"    \"claims\":      {\"class\": \"sa\", \"bounds\": [0, 100]}\n",
			receivers, nreceivers, err);
	sr_buf_release(&csv);
	return rc;
}

int sr_demo_write_with(const char *path, const char *tmpl, const char *receiver,
		       struct sr_err *err)
{
	const char *at = strstr(tmpl, "%s");
	struct sr_buf p;
	int rc;

	if (!at)
		return sr_fail(err, SR_EINTERNAL, "demo: a template without %%s");
	sr_buf_init(&p, 0);
	rc = sr_buf_add(&p, tmpl, (size_t)(at - tmpl)) || sr_buf_addstr(&p, receiver) ||
	     sr_buf_addstr(&p, at + 2) ? sr_fail(err, SR_ENOMEM, "demo: out of memory") :
	     sr_file_write_atomic(path, p.data, p.len, 0600, err);
	sr_buf_release(&p);
	return rc;
}

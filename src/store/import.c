/*
 * import.c - import into a new dataset version (DESIGN §5), from any
 * source (source.h): a CSV file in two passes as below, or a PostgreSQL
 * query, whose types are declared, in the second pass alone.
 *
 * Pass 1 reads the whole file once: CSV structure, UTF-8, field counts,
 * declared types and type inference, so that every error is found before
 * anything is written.  Null tokens are declared, never guessed: a field is
 * NULL when it is empty and unquoted, or unquoted and equal to one of the
 * column's null tokens (its own "nulls", else the dataset's and --null).
 * The usual tokens of exports (NA, NULL, -, ?) that were not declared are
 * only counted, so that a column they turned into a string is named in a
 * warning that says how to declare them.
 *
 * Bounds and domains need the final types, so pass 2 checks them as it
 * parses each value (colcheck.h); a value outside them fails the import,
 * whose output is then removed, or with --clamp is clamped to the bounds.  Pass 2 reads it again and encodes row groups of
 * SR_CHUNK_ROWS rows: while the calling thread parses group g+1, the pool
 * compresses and seals the columns of group g.  Memory is bounded by two
 * row groups whatever the file size.
 */
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/db.h"
#include "base/file.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/log.h"
#include "crypto/crypto.h"
#include "anon/hier.h"
#include "store/colcheck.h"
#include "store/csv.h"
#include "store/source.h"
#include "base/banned.h"

struct encode_task {
	struct import *imp;
	size_t column;
	uint32_t chunk;
	struct sr_vec *vec;
	struct sr_buf out;
	size_t plain_len;
	uint8_t digest[SR_HASH_BYTES];
};

struct row_group {
	struct sr_vec *vecs;            /* ncols */
	struct encode_task *tasks;      /* ncols */
	struct sr_pool_group group;
	size_t rows;
	uint64_t index;                 /* chunk index */
	int submitted;
};

/* Texts that exports write for a missing value (R and pandas NA, SQL NULL
 * and \N, weka ?, spreadsheets #N/A).  Counted, never taken as NULL
 * unless declared. */
static const char *const usual_nulls[] = {
	"NA", "N/A", "n/a", "NULL", "null", "NaN", "None", "-", "?", "\\N",
	"#N/A",
};
#define NUSUAL (sizeof(usual_nulls) / sizeof(*usual_nulls))

/* The null tokens of one column (borrowed from the policy). */
struct col_nulls {
	char *const *tokens;
	size_t count;
};

struct import {
	struct sr_store *store;
	const struct sr_import_options *opts;
	struct sr_csv_options csv_opts;
	struct sr_source *src;
	int one_pass;                   /* the source declares its types */
	struct col_nulls *nulls;        /* ncols */
	struct sr_colcheck *checks;     /* ncols, once the policy is bound */
	struct sr_anon_hier **hiers;    /* ncols: qi hierarchies, or NULL */
	uint64_t *usual;                /* ncols * NUSUAL counts */
	const char *csv_path;
	const char *name;
	size_t ncols;
	enum sr_type *types;
	struct sr_policy policy;
	uint64_t rows;

	uint8_t uid[SR_DATASET_UID_BYTES];
	uint8_t *key;                   /* sodium_malloc(32) */
	char *tmp_dir;                  /* tmp/import-UID */
	char **seg_paths;               /* ncols */
	uint64_t *seg_sizes;            /* ncols */
	struct row_group groups[2];
	json_t *chunk_rows;             /* array */
	json_t **chunk_tables;          /* ncols arrays */
	uint64_t plain_bytes;
	uint64_t stored_bytes;
	uint64_t nchunks;
};

static void progress(struct import *imp, int pass)
{
	uint64_t done, total;

	if (!imp->opts || !imp->opts->progress)
		return;
	imp->src->ops->progress(imp->src, &done, &total);
	imp->opts->progress(imp->opts->progress_ctx, pass, done, total);
}

static const char *src_name(const struct import *imp)
{
	return imp->src->name;
}

static const char *col_name(const struct import *imp, size_t col)
{
	return imp->src->names[col];
}

static int field_error(struct import *imp, size_t col, const char *what,
		       struct sr_err *err)
{
	return sr_fail(err, SR_EINVAL, "%s: %s %llu, column %zu (%s): %s",
		       src_name(imp), imp->src->unit,
		       (unsigned long long)imp->src->ops->position(imp->src),
		       col + 1, col_name(imp, col), what);
}

/* Whether field f of column col is NULL. */
static inline int field_is_null(const struct import *imp, size_t col,
				const struct sr_csv_field *f)
{
	const struct col_nulls *n = &imp->nulls[col];

	if (f->is_null)
		return 1;
	if (f->quoted)
		return 0;
	for (size_t k = 0; k < n->count; k++)
		if (f->len == strlen(n->tokens[k]) &&
		    memcmp(f->data, n->tokens[k], f->len) == 0)
			return 1;
	return 0;
}

/* Index of f in usual_nulls, or -1 (quoted fields are values). */
static int usual_null(const struct sr_csv_field *f)
{
	if (f->quoted || f->len > 4)
		return -1;
	for (size_t k = 0; k < NUSUAL; k++)
		if (f->len == strlen(usual_nulls[k]) &&
		    memcmp(f->data, usual_nulls[k], f->len) == 0)
			return (int)k;
	return -1;
}

/* "value 'x' does not parse as T, ...": the value is shown (cut, with
 * control bytes replaced) because the steward needs it to find the row. */
static int type_error(struct import *imp, size_t col,
		      const struct sr_csv_field *f, struct sr_err *err)
{
	char msg[SR_ERR_MSG_MAX], shown[SR_VALUE_SHOWN_SIZE];
	const char *type = sr_type_name(imp->types[col]);

	sr_value_shown(f->data, f->len, shown);
	if (imp->one_pass)
		snprintf(msg, sizeof(msg),
			 "value '%s' does not fit %s, the type this column is imported as (docs/data.md)",
			 shown, type);
	else if (usual_null(f) >= 0)
		snprintf(msg, sizeof(msg),
			 "value '%s' does not parse as %s, the type the policy declares; if it means missing, declare it: --null '%s', or \"nulls\" in the policy",
			 shown, type, shown);
	else
		snprintf(msg, sizeof(msg),
			 "value '%s' does not parse as %s, the type the policy declares",
			 shown, type);
	return field_error(imp, col, msg, err);
}

/* Warn about a column that undeclared usual null tokens made a string
 * although its other values are all of type would_be. */
static void warn_usual(struct import *imp, size_t col, enum sr_type would_be)
{
	const uint64_t *counts = &imp->usual[col * NUSUAL];
	struct sr_buf what, flags;
	int rc;

	if (!imp->opts || !imp->opts->warn)
		return;
	sr_buf_init(&what, SR_ERR_MSG_MAX);
	sr_buf_init(&flags, SR_ERR_MSG_MAX);
	rc = sr_buf_addf(&what, "%s: column %s: read as string, not %s, because of",
			 src_name(imp), col_name(imp, col),
			 sr_type_name(would_be));
	for (size_t k = 0; rc == SR_OK && k < NUSUAL; k++) {
		if (!counts[k])
			continue;
		rc = sr_buf_addf(&what, "%s %llu value%s '%s'",
				 flags.len ? "," : "",
				 (unsigned long long)counts[k],
				 counts[k] == 1 ? "" : "s", usual_nulls[k]);
		if (rc == SR_OK)
			rc = sr_buf_addf(&flags, "%s--null '%s'",
					 flags.len ? " " : "", usual_nulls[k]);
	}
	if (rc == SR_OK)
		rc = sr_buf_addf(&what, "; if they mean missing, declare them: %s, or \"nulls\" in the policy",
				 flags.data);
	/* A warning cut short by the cap is still worth showing. */
	(void)rc;
	imp->opts->warn(imp->opts->warn_ctx, what.data);
	sr_buf_release(&what);
	sr_buf_release(&flags);
}

/* Pass 1: validate every record, infer or check types, count rows. */
static int first_pass(struct import *imp, struct sr_err *err)
{
	struct sr_infer *infer;
	int *declared;
	const struct sr_csv_field *f;
	int eof = 0, rc = SR_OK;

	infer = sr_calloc(imp->ncols, sizeof(*infer));
	declared = sr_calloc(imp->ncols, sizeof(*declared));
	if (!infer || !declared) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t j = 0; j < imp->ncols; j++) {
		sr_infer_init(&infer[j]);
		declared[j] = sr_policy_type_override(&imp->policy,
			col_name(imp, j), &imp->types[j]);
	}
	for (;;) {
		rc = imp->src->ops->next(imp->src, &f, &eof, err);
		if (rc || eof)
			break;
		if (++imp->rows > SR_DATASET_ROWS_MAX) {
			rc = sr_fail(err, SR_ELIMIT,
				     "%s: more rows than the limit of %llu",
				     src_name(imp),
				     (unsigned long long)SR_DATASET_ROWS_MAX);
			break;
		}
		for (size_t j = 0; j < imp->ncols; j++) {
			if (field_is_null(imp, j, &f[j]))
				continue;
			if (!declared[j]) {
				int k = usual_null(&f[j]);
				/* The usual tokens parse as no type but
				 * string: count them instead of feeding. */
				if (k >= 0)
					imp->usual[j * NUSUAL + (size_t)k]++;
				else
					sr_infer_feed(&infer[j], f[j].data, f[j].len);
				continue;
			}
			if (imp->types[j] == SR_TYPE_STRING)
				continue;
			{
				union { int64_t i; double d; int b; int32_t t; } v;
				switch (imp->types[j]) {
				case SR_TYPE_INT64:
					rc = sr_value_parse_int64(f[j].data, f[j].len, &v.i);
					break;
				case SR_TYPE_FLOAT64:
					rc = sr_value_parse_float64(f[j].data, f[j].len, &v.d);
					break;
				case SR_TYPE_BOOL:
					rc = sr_value_parse_bool(f[j].data, f[j].len, &v.b);
					break;
				case SR_TYPE_DATE:
					rc = sr_value_parse_date(f[j].data, f[j].len, &v.t);
					break;
				case SR_TYPE_STRING:
					break;
				}
			}
			if (rc) {
				rc = type_error(imp, j, &f[j], err);
				goto out;
			}
		}
		if ((imp->rows & 0xffff) == 0)
			progress(imp, 1);
	}
	if (rc)
		goto out;
	for (size_t j = 0; j < imp->ncols; j++) {
		uint64_t usual = 0;

		if (declared[j])
			continue;
		for (size_t k = 0; k < NUSUAL; k++)
			usual += imp->usual[j * NUSUAL + k];
		imp->types[j] = sr_infer_result(&infer[j]);
		if (usual && infer[j].values && imp->types[j] != SR_TYPE_STRING)
			warn_usual(imp, j, imp->types[j]);
		if (usual)
			imp->types[j] = SR_TYPE_STRING;
	}
	progress(imp, 1);
out:
	sr_free(infer);
	sr_free(declared);
	return rc;
}

/* The --null tokens join the dataset's list, so that the stored policy
 * records how the data was read. */
static int add_cli_nulls(struct import *imp, struct sr_err *err)
{
	const struct sr_import_options *o = imp->opts;

	if (!o || !o->nnulls)
		return SR_OK;
	return sr_policy_add_nulls(&imp->policy, "--null", o->nulls,
				   o->nnulls, err);
}

/* --hierarchy COL=FILE.csv: explicit hierarchies from files, stored in
 * the policy (and so in the manifest) as the column's "generalize". */
static int add_cli_hierarchies(struct import *imp, struct sr_err *err)
{
	const struct sr_import_options *o = imp->opts;
	int rc = SR_OK;

	if (o && o->nhierarchies && !o->policy_path)
		return sr_fail(err, SR_EINVAL,
			       "--hierarchy: needs a policy file (--policy) that classifies the column as qi");
	for (size_t i = 0; o && rc == SR_OK && i < o->nhierarchies; i++) {
		const char *arg = o->hierarchies[i], *eq = strchr(arg, '=');
		char column[SR_COLUMN_NAME_MAX + 1];
		struct sr_buf text;

		if (!eq || eq == arg || !eq[1] || (size_t)(eq - arg) > SR_COLUMN_NAME_MAX)
			return sr_fail(err, SR_EINVAL,
				       "--hierarchy: expected COLUMN=FILE.csv, got '%.64s'", arg);
		memcpy(column, arg, (size_t)(eq - arg));
		column[eq - arg] = '\0';
		sr_buf_init(&text, SR_POLICY_BYTES_MAX);
		rc = sr_file_read_all(eq + 1, SR_POLICY_BYTES_MAX, &text, err);
		if (rc == SR_OK)
			rc = sr_policy_set_hierarchy_csv(&imp->policy, column, text.data,
							 text.len, eq + 1, err);
		sr_buf_release(&text);
	}
	return rc;
}

static int load_policy(struct import *imp, struct sr_err *err)
{
	const struct sr_import_options *o = imp->opts;
	struct sr_buf text;
	int rc;

	if (o && o->policy_path) {
		sr_buf_init(&text, SR_POLICY_BYTES_MAX);
		rc = sr_file_read_all(o->policy_path, SR_POLICY_BYTES_MAX,
				      &text, err);
		if (rc == SR_OK)
			rc = sr_policy_parse(text.data, text.len,
					     o->policy_path, &imp->policy, err);
		sr_buf_release(&text);
		if (rc)
			return rc;
	}
	rc = add_cli_hierarchies(imp, err);
	if (rc)
		return rc;
	return add_cli_nulls(imp, err);
}

/* A token holding the delimiter or the quote could never be a whole
 * unquoted field: a mistake to report, not to ignore. */
static int check_tokens(const struct import *imp, char *const *tokens,
			size_t count, const char *where, struct sr_err *err)
{
	char shown[SR_VALUE_SHOWN_SIZE];

	for (size_t k = 0; k < count; k++) {
		if ((!imp->src->delimiter ||
		     !strchr(tokens[k], imp->src->delimiter)) &&
		    (!imp->src->quote || !strchr(tokens[k], imp->src->quote)))
			continue;
		return sr_fail(err, SR_EINVAL,
			       "%s: null token '%s' holds the delimiter '%c' or the quote '%c', so no unquoted field can be it",
			       where, sr_value_shown(tokens[k], strlen(tokens[k]), shown),
			       imp->src->delimiter, imp->src->quote);
	}
	return SR_OK;
}

/* Point every column at its null tokens (again after the policy was
 * rebuilt or bound). */
static int setup_nulls(struct import *imp, struct sr_err *err)
{
	int rc = check_tokens(imp, imp->policy.nulls, imp->policy.nnulls,
			      imp->opts && imp->opts->nnulls ? "--null" : "nulls",
			      err);

	for (size_t j = 0; rc == SR_OK && j < imp->ncols; j++) {
		sr_policy_column_nulls(&imp->policy,
				       col_name(imp, j),
				       &imp->nulls[j].tokens, &imp->nulls[j].count);
		if (imp->nulls[j].tokens != imp->policy.nulls)
			rc = check_tokens(imp, imp->nulls[j].tokens,
					  imp->nulls[j].count,
					  col_name(imp, j), err);
	}
	return rc;
}

/* --classify-by-name: every column no word classifies is listed through
 * the callback (one message could not hold them all), then one error. */
static int check_names(struct import *imp, const char *const *names,
		       struct sr_err *err)
{
	size_t missing = 0;
	const char *first = NULL;

	for (size_t j = 0; j < imp->ncols; j++) {
		if (sr_policy_classify_by_name(names[j]) != SR_CLASS_NONE)
			continue;
		if (!missing++)
			first = names[j];
		if (imp->opts->unclassified)
			imp->opts->unclassified(imp->opts->warn_ctx, names[j]);
	}
	if (missing == 1)
		return sr_fail(err, SR_EPOLICY,
			       "%s: column '%.64s' is not classified by name: classify it in a policy file; 'sealroom policy init' writes one to start from",
			       src_name(imp), first);
	if (missing)
		return sr_fail(err, SR_EPOLICY,
			       "%s: %zu columns are not classified by name: classify them in a policy file; 'sealroom policy init' writes one to start from",
			       src_name(imp), missing);
	return SR_OK;
}

/* The stored policy must read back where policies are read (publish, the
 * ledger): a hierarchy file can make it larger than the file was. */
static int check_policy_size(struct import *imp, struct sr_err *err)
{
	struct sr_buf text;
	json_t *doc = NULL;
	int rc;

	sr_buf_init(&text, SR_BUF_UNBOUNDED);
	rc = sr_policy_to_json(&imp->policy, &doc, err);
	if (rc == SR_OK && sr_json_canonical(doc, &text, err) != SR_OK)
		rc = err->code ? err->code : SR_ENOMEM;
	if (rc == SR_OK && text.len > SR_POLICY_BYTES_MAX)
		rc = sr_fail(err, SR_ELIMIT,
			     "--hierarchy: the stored policy would be %zu bytes, more than the limit of %u for a policy",
			     text.len, SR_POLICY_BYTES_MAX);
	json_decref(doc);
	sr_buf_release(&text);
	return rc;
}

static int bind_policy(struct import *imp, struct sr_err *err)
{
	const char **names;
	int rc;

	names = sr_calloc(imp->ncols, sizeof(*names));
	if (!names)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t j = 0; j < imp->ncols; j++)
		names[j] = col_name(imp, j);
	if (imp->opts && imp->opts->policy_path) {
		rc = sr_policy_bind(&imp->policy, names, imp->types,
				    imp->ncols, err);
		if (rc == SR_OK && imp->opts->nhierarchies)
			rc = check_policy_size(imp, err);
	} else if (imp->opts && imp->opts->classify_by_name) {
		rc = check_names(imp, names, err);
		if (rc == SR_OK)
			rc = sr_policy_from_names(names, imp->ncols, &imp->policy, err);
		if (rc == SR_OK)
			rc = add_cli_nulls(imp, err);
		if (rc == SR_OK)
			rc = sr_policy_bind(&imp->policy, names, imp->types,
					    imp->ncols, err);
	} else {
		rc = sr_fail(err, SR_EPOLICY,
			     "%s: columns are not classified: give a policy file (--policy) or --classify-by-name",
			     src_name(imp));
	}
	sr_free(names);
	if (rc == SR_OK)
		rc = setup_nulls(imp, err);
	return rc;
}

static int setup_output(struct import *imp, struct sr_err *err)
{
	struct sr_buf b;
	char uid_hex[2 * SR_DATASET_UID_BYTES + 1];
	int rc;

	sr_random_buf(imp->uid, sizeof(imp->uid));
	sr_hex(uid_hex, imp->uid, sizeof(imp->uid));
	imp->key = sodium_malloc(32);
	imp->seg_paths = sr_calloc(imp->ncols, sizeof(char *));
	imp->seg_sizes = sr_calloc(imp->ncols, sizeof(uint64_t));
	imp->chunk_tables = sr_calloc(imp->ncols, sizeof(json_t *));
	imp->chunk_rows = json_array();
	if (!imp->key || !imp->seg_paths || !imp->seg_sizes ||
	    !imp->chunk_tables || !imp->chunk_rows)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	crypto_aead_xchacha20poly1305_ietf_keygen(imp->key);
	sr_buf_init(&b, 0);
	if (sr_buf_addf(&b, "%s/import-%s", imp->store->tmp_dir, uid_hex)) {
		sr_buf_release(&b);
		return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	imp->tmp_dir = sr_buf_detach(&b, NULL);
	if (!imp->tmp_dir)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	rc = sr_mkdir_p(imp->tmp_dir, 0700, err);
	for (size_t j = 0; rc == SR_OK && j < imp->ncols; j++) {
		int fd;
		sr_buf_init(&b, 0);
		if (sr_buf_addf(&b, "%s/col-%04zu.seg", imp->tmp_dir, j)) {
			sr_buf_release(&b);
			return sr_fail(err, SR_ENOMEM, "out of memory");
		}
		imp->seg_paths[j] = sr_buf_detach(&b, NULL);
		imp->chunk_tables[j] = json_array();
		if (!imp->seg_paths[j] || !imp->chunk_tables[j])
			return sr_fail(err, SR_ENOMEM, "out of memory");
		fd = open(imp->seg_paths[j],
			  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return sr_fail(err, SR_EIO, "%s: cannot create: %s",
				       imp->seg_paths[j], strerror(errno));
		close(fd);
	}
	for (int g = 0; rc == SR_OK && g < 2; g++) {
		struct row_group *grp = &imp->groups[g];
		grp->vecs = sr_calloc(imp->ncols, sizeof(*grp->vecs));
		grp->tasks = sr_calloc(imp->ncols, sizeof(*grp->tasks));
		if (!grp->vecs || !grp->tasks)
			return sr_fail(err, SR_ENOMEM, "out of memory");
		for (size_t j = 0; j < imp->ncols; j++) {
			sr_vec_init(&grp->vecs[j], imp->types[j]);
			sr_buf_init(&grp->tasks[j].out, 0);
			grp->tasks[j].imp = imp;
			grp->tasks[j].column = j;
			grp->tasks[j].vec = &grp->vecs[j];
		}
	}
	return rc;
}

static int encode_column(void *arg, struct sr_err *err)
{
	struct encode_task *t = arg;
	struct import *imp = t->imp;
	struct sr_chunk_ref ref;
	int rc;

	memcpy(ref.uid, imp->uid, sizeof(ref.uid));
	ref.column = (uint32_t)t->column;
	ref.chunk = t->chunk;
	rc = sr_chunk_seal(imp->store->codec, t->vec, imp->key, &ref, &t->out,
			   &t->plain_len, err);
	if (rc == SR_OK)
		sr_hash(t->digest, "sealroom.chunk.digest.v1", t->out.data,
			t->out.len);
	return rc;
}

static int submit_group(struct import *imp, struct row_group *grp,
			struct sr_err *err)
{
	sr_pool_group_init(&grp->group);
	grp->submitted = 1;
	for (size_t j = 0; j < imp->ncols; j++) {
		grp->tasks[j].chunk = (uint32_t)grp->index;
		if (sr_pool_submit(imp->store->pool, &grp->group,
				   encode_column, &grp->tasks[j]) != SR_OK)
			return sr_fail(err, SR_ENOMEM, "out of memory");
	}
	return SR_OK;
}

/* Wait for a submitted group and append its chunks to the segments. */
static int finish_group(struct import *imp, struct row_group *grp,
			struct sr_err *err)
{
	char hex[2 * SR_HASH_BYTES + 1];
	int rc;

	if (!grp->submitted)
		return SR_OK;
	rc = sr_pool_group_wait(&grp->group, err);
	sr_pool_group_release(&grp->group);
	grp->submitted = 0;
	if (rc)
		return rc;
	if (json_array_append_new(imp->chunk_rows,
				  json_integer((json_int_t)grp->rows)))
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t j = 0; j < imp->ncols; j++) {
		struct encode_task *t = &grp->tasks[j];
		int fd = open(imp->seg_paths[j],
			      O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd < 0)
			return sr_fail(err, SR_EIO, "%s: cannot open: %s",
				       imp->seg_paths[j], strerror(errno));
		rc = sr_write_all(fd, t->out.data, t->out.len,
				  imp->seg_paths[j], err);
		/* Start writeback now, so the fsync at commit finds most of
		 * the data already on disk instead of waiting for all of it. */
		if (rc == SR_OK)
			(void)!sync_file_range(fd, (off_t)imp->seg_sizes[j],
					       (off_t)t->out.len,
					       SYNC_FILE_RANGE_WRITE);
		close(fd);
		if (rc)
			return rc;
		sr_hex(hex, t->digest, sizeof(t->digest));
		if (json_array_append_new(imp->chunk_tables[j],
			json_pack("[I,I,s]", (json_int_t)imp->seg_sizes[j],
				  (json_int_t)t->out.len, hex)))
			return sr_fail(err, SR_ENOMEM, "out of memory");
		imp->seg_sizes[j] += t->out.len;
		imp->stored_bytes += t->out.len;
		imp->plain_bytes += t->plain_len;
		sr_buf_release(&t->out);
	}
	imp->nchunks++;
	return SR_OK;
}

/* Checks of every column, from the bound policy. */
static int setup_checks(struct import *imp, struct sr_err *err)
{
	imp->checks = sr_calloc(imp->ncols, sizeof(*imp->checks));
	if (!imp->checks)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t j = 0; j < imp->ncols; j++) {
		int rc = sr_colcheck_init(&imp->checks[j], &imp->policy.columns[j],
					  imp->types[j], err);
		if (rc)
			return rc;
	}
	imp->hiers = sr_calloc(imp->ncols, sizeof(*imp->hiers));
	if (!imp->hiers)
		return sr_fail(err, SR_ENOMEM, "out of memory");
	for (size_t j = 0; j < imp->ncols; j++) {
		int rc = sr_policy_hierarchy(&imp->policy.columns[j], imp->types[j],
					     &imp->hiers[j], err);
		if (rc)
			return rc;
	}
	return SR_OK;
}

/* Every value of a row group covered by its column's hierarchy, and the
 * levels nesting on them (the policy's "generalize", DESIGN §18). */
static int check_hierarchies(struct import *imp, struct row_group *grp,
			     uint64_t first_row, struct sr_err *err)
{
	for (size_t j = 0; j < imp->ncols; j++) {
		int rc;

		if (!imp->hiers[j] || !grp->rows)
			continue;
		rc = sr_anon_hier_check(imp->hiers[j], &grp->vecs[j], err);
		if (rc) {
			sr_err_prefix(err, "%s: rows %llu to %llu", src_name(imp),
				      (unsigned long long)first_row + 1,
				      (unsigned long long)(first_row + grp->rows));
			return rc;
		}
	}
	return SR_OK;
}

static int check_error(struct import *imp, size_t col,
		       const struct sr_csv_field *f, int kind,
		       struct sr_err *err)
{
	char msg[SR_ERR_MSG_MAX], shown[SR_VALUE_SHOWN_SIZE], what[128];

	sr_colcheck_describe(&imp->checks[col], kind, what, sizeof(what));
	snprintf(msg, sizeof(msg), "value '%s' is %s %s of the policy%s",
		 sr_value_shown(f->data, f->len, shown),
		 kind == SR_COLCHECK_BOUNDS ? "outside" : "not in", what,
		 kind == SR_COLCHECK_BOUNDS ?
		 " (--clamp clamps such values to the bounds)" : "");
	return field_error(imp, col, msg, err);
}

/* Notes for the values clamped, after a successful import. */
static void note_clamped(struct import *imp)
{
	char msg[SR_ERR_MSG_MAX], what[128];

	if (!imp->opts || !imp->opts->note)
		return;
	for (size_t j = 0; j < imp->ncols; j++) {
		const struct sr_colcheck *c = &imp->checks[j];
		if (!c->clamped)
			continue;
		snprintf(msg, sizeof(msg), "column %s: %llu value%s clamped to %s",
			 col_name(imp, j),
			 (unsigned long long)c->clamped, c->clamped == 1 ? "" : "s",
			 sr_colcheck_describe(c, SR_COLCHECK_BOUNDS, what, sizeof(what)));
		imp->opts->note(imp->opts->warn_ctx, msg);
	}
}

/* Pass 2: parse row groups and seal them in parallel. */
static int second_pass(struct import *imp, struct sr_err *err)
{
	const struct sr_csv_field *f;
	const int clamp = imp->opts && imp->opts->clamp;
	uint64_t rows = 0;
	int cur = 0, eof = 0, rc;

	/* A source read once is still at its first record. */
	rc = imp->one_pass ? SR_OK : imp->src->ops->rewind(imp->src, err);
	if (rc)
		return rc;
	while (!eof) {
		struct row_group *grp = &imp->groups[cur];

		for (size_t j = 0; j < imp->ncols; j++)
			sr_vec_reset(&grp->vecs[j]);
		grp->rows = 0;
		while (grp->rows < SR_CHUNK_ROWS) {
			rc = imp->src->ops->next(imp->src, &f, &eof, err);
			if (rc)
				return rc;
			if (eof)
				break;
			for (size_t j = 0; j < imp->ncols; j++) {
				rc = field_is_null(imp, j, &f[j]) ?
					sr_vec_append_null(&grp->vecs[j]) :
					sr_vec_append_text(&grp->vecs[j],
							   f[j].data, f[j].len);
				if (rc == SR_ENOMEM)
					return sr_fail(err, rc, "out of memory");
				if (rc && imp->one_pass)
					return type_error(imp, j, &f[j], err);
				if (rc)
					return field_error(imp, j,
						"value changed since the first pass (was the file modified during import?)",
						err);
				if (sr_colcheck_active(&imp->checks[j]) &&
				    !sr_vec_is_null(&grp->vecs[j], grp->vecs[j].rows - 1)) {
					int kind = sr_colcheck_value(&imp->checks[j],
						&grp->vecs[j], grp->vecs[j].rows - 1, clamp);
					if (kind)
						return check_error(imp, j, &f[j], kind, err);
				}
			}
			grp->rows++;
		}
		rc = check_hierarchies(imp, grp, rows, err);
		if (rc)
			return rc;
		rows += grp->rows;
		if (rows > SR_DATASET_ROWS_MAX)
			return sr_fail(err, SR_ELIMIT,
				       "%s: more rows than the limit of %llu",
				       src_name(imp),
				       (unsigned long long)SR_DATASET_ROWS_MAX);
		rc = finish_group(imp, &imp->groups[1 - cur], err);
		if (rc)
			return rc;
		if (grp->rows) {
			/* The other group is finished, so nchunks counts
			 * every chunk before this one. */
			grp->index = imp->nchunks;
			rc = submit_group(imp, grp, err);
			if (rc)
				return rc;
		}
		progress(imp, 2);
		cur = 1 - cur;
	}
	rc = finish_group(imp, &imp->groups[1 - cur], err);
	if (imp->one_pass)
		imp->rows = rows;
	if (rc == SR_OK && rows != imp->rows)
		rc = sr_fail(err, SR_EINVAL,
			     "%s: file changed during import (%llu rows, then %llu)",
			     src_name(imp),
			     (unsigned long long)imp->rows,
			     (unsigned long long)rows);
	return rc;
}

static int build_manifest(struct import *imp, json_t **out,
			  struct sr_err *err)
{
	char uid_hex[2 * SR_DATASET_UID_BYTES + 1];
	char vid[65];
	json_t *m = NULL, *cols, *segs, *pol = NULL;
	int rc;

	*out = NULL;
	rc = sr_policy_to_json(&imp->policy, &pol, err);
	if (rc)
		return rc;
	cols = json_array();
	segs = json_array();
	for (size_t j = 0; cols && segs && j < imp->ncols; j++) {
		const struct sr_policy_column *pc = &imp->policy.columns[j];
		char file[32];
		if (json_array_append_new(cols, json_pack("{s:s,s:s,s:s}",
				"name", col_name(imp, j),
				"type", sr_type_name(imp->types[j]),
				"class", sr_class_name(pc->cls))))
			goto nomem;
		snprintf(file, sizeof(file), "col-%04zu.seg", j);
		if (json_array_append_new(segs, json_pack("{s:s,s:O}",
				"file", file, "chunks", imp->chunk_tables[j])))
			goto nomem;
	}
	if (!cols || !segs)
		goto nomem;
	sr_hex(uid_hex, imp->uid, sizeof(imp->uid));
	m = json_pack("{s:i,s:s,s:s,s:I,s:I,s:i,s:s,s:O,s:o,s:o,s:o,s:I,s:I}",
		      "format", 1, "name", imp->name, "uid", uid_hex,
		      "created", (json_int_t)time(NULL),
		      "rows", (json_int_t)imp->rows,
		      "chunk_size", SR_CHUNK_ROWS,
		      "codec", "typed1+zstd+xchacha20poly1305",
		      "chunk_rows", imp->chunk_rows,
		      "columns", cols, "segments", segs, "policy", pol,
		      "plain_bytes", (json_int_t)imp->plain_bytes,
		      "stored_bytes", (json_int_t)imp->stored_bytes);
	cols = segs = pol = NULL;   /* stolen by "o", even on failure */
	if (!m)
		goto nomem;
	rc = sr_manifest_version_id(m, vid, err);
	if (rc) {
		json_decref(m);
		return rc;
	}
	if (json_object_set_new(m, "version_id", json_string(vid))) {
		json_decref(m);
		goto nomem;
	}
	*out = m;
	return SR_OK;
nomem:
	json_decref(cols);
	json_decref(segs);
	json_decref(pol);
	return sr_fail(err, SR_ENOMEM, "out of memory");
}

static int sync_segments(struct import *imp, struct sr_err *err)
{
	for (size_t j = 0; j < imp->ncols; j++) {
		int fd = open(imp->seg_paths[j], O_RDONLY | O_CLOEXEC);
		int rc;
		if (fd < 0)
			return sr_fail(err, SR_EIO, "%s: cannot open: %s",
				       imp->seg_paths[j], strerror(errno));
		rc = sr_fd_fsync(fd, imp->seg_paths[j], err);
		close(fd);
		if (rc)
			return rc;
	}
	return SR_OK;
}

static int catalog_insert(struct import *imp, const char *vid,
			  const uint8_t *wrapped, const uint8_t *mac,
			  struct sr_err *err)
{
	sqlite3 *db = imp->store->db;
	sqlite3_stmt *st = NULL;
	int64_t now = (int64_t)time(NULL);
	int rc;

	rc = sr_db_begin(db, err);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(db,
		"INSERT INTO versions(version_id, dataset, created, rows, columns,"
		" plain_bytes, stored_bytes, wrapped_key, manifest_mac)"
		" VALUES (?,?,?,?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK) {
		rc = sr_db_fail(db, "catalog: version", err);
	} else {
		sqlite3_bind_text(st, 1, vid, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, imp->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)imp->rows);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)imp->ncols);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)imp->plain_bytes);
		sqlite3_bind_int64(st, 7, (sqlite3_int64)imp->stored_bytes);
		sqlite3_bind_blob(st, 8, wrapped, SR_WRAPPED_KEY_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(st, 9, mac, 32, SQLITE_STATIC);
		rc = sr_db_step_done(st, "catalog: version", err);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SR_OK && sqlite3_prepare_v2(db,
			"INSERT INTO datasets(name, version_id, created) VALUES (?,?,?)"
			" ON CONFLICT(name) DO UPDATE SET version_id = excluded.version_id",
			-1, &st, NULL) != SQLITE_OK) {
		rc = sr_db_fail(db, "catalog: dataset", err);
	} else if (rc == SR_OK) {
		sqlite3_bind_text(st, 1, imp->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, vid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
		rc = sr_db_step_done(st, "catalog: dataset", err);
	}
	sqlite3_finalize(st);
	if (rc == SR_OK)
		rc = sr_db_commit(db, err);
	if (rc)
		sr_db_rollback(db);
	return rc;
}

/* Move the finished version into place and record it in the catalog. */
static int commit(struct import *imp, struct sr_dataset_info *info,
		  struct sr_err *err)
{
	uint8_t wrapped[SR_WRAPPED_KEY_BYTES], mac[32], ad[SR_KEY_AD_BYTES];
	struct sr_buf text, path, final_dir;
	json_t *manifest = NULL;
	const char *vid;
	int rc, moved = 0;

	sr_buf_init(&text, 0);
	sr_buf_init(&path, 0);
	sr_buf_init(&final_dir, 0);
	rc = build_manifest(imp, &manifest, err);
	if (rc == SR_OK)
		rc = sr_json_canonical(manifest, &text, err);
	if (rc)
		goto out;
	vid = json_string_value(json_object_get(manifest, "version_id"));
	if (sr_path_join(&path, imp->tmp_dir, "manifest.json") ||
	    sr_path_join(&final_dir, imp->store->datasets_dir, vid)) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	rc = sync_segments(imp, err);
	if (rc == SR_OK)
		rc = sr_file_write_atomic(path.data, text.data, text.len, 0600,
					  err);
	if (rc == SR_OK)
		rc = sr_dir_fsync(imp->tmp_dir, err);
	if (rc)
		goto out;
	if (rename(imp->tmp_dir, final_dir.data) != 0) {
		rc = sr_fail(err, SR_EIO, "%s: cannot move into place: %s",
			     final_dir.data, strerror(errno));
		goto out;
	}
	moved = 1;
	rc = sr_dir_fsync(imp->store->datasets_dir, err);
	if (rc)
		goto out;
	sr_store_key_ad(imp->uid, ad);
	sr_key_wrap(wrapped, imp->key, imp->store->wrap_key, ad, sizeof(ad));
	sr_manifest_mac(imp->store, text.data, text.len, mac);
	rc = catalog_insert(imp, vid, wrapped, mac, err);
	if (rc)
		goto out;
	if (info) {
		struct sr_manifest m;
		sr_manifest_init(&m);
		rc = sr_manifest_parse(manifest, &m, err);
		if (rc == SR_OK) {
			*info = m.info;
			sr_dataset_info_init(&m.info);
		}
		sr_manifest_release(&m);
		/* The version is committed: a failure to describe it must
		 * not undo it. */
		rc = SR_OK;
	}
	moved = 0;
out:
	if (rc && moved) {
		struct sr_err ignored;
		if (sr_rm_rf(final_dir.data, &ignored) != SR_OK)
			sr_log_warn("store: could not remove %s after a failed import; it will be removed at next open",
				    final_dir.data);
	}
	json_decref(manifest);
	sr_buf_release(&text);
	sr_buf_release(&path);
	sr_buf_release(&final_dir);
	return rc;
}

static void import_release(struct import *imp)
{
	for (int g = 0; g < 2; g++) {
		struct row_group *grp = &imp->groups[g];
		if (grp->submitted) {
			if (sr_pool_group_wait(&grp->group, NULL) != SR_OK)
				sr_log_debug("store: encode task failed during cleanup");
			sr_pool_group_release(&grp->group);
		}
		for (size_t j = 0; grp->vecs && j < imp->ncols; j++)
			sr_vec_release(&grp->vecs[j]);
		for (size_t j = 0; grp->tasks && j < imp->ncols; j++)
			sr_buf_release(&grp->tasks[j].out);
		sr_free(grp->vecs);
		sr_free(grp->tasks);
	}
	if (imp->tmp_dir) {
		struct sr_err ignored;
		if (sr_rm_rf(imp->tmp_dir, &ignored) != SR_OK)
			sr_log_warn("store: could not remove %s", imp->tmp_dir);
	}
	for (size_t j = 0; imp->seg_paths && j < imp->ncols; j++)
		sr_free(imp->seg_paths[j]);
	for (size_t j = 0; imp->chunk_tables && j < imp->ncols; j++)
		json_decref(imp->chunk_tables[j]);
	sr_free(imp->seg_paths);
	sr_free(imp->seg_sizes);
	sr_free(imp->chunk_tables);
	json_decref(imp->chunk_rows);
	sr_free(imp->tmp_dir);
	if (imp->key)
		sodium_free(imp->key);
	sr_free(imp->types);
	sr_free(imp->nulls);
	sr_free(imp->usual);
	for (size_t j = 0; imp->checks && j < imp->ncols; j++)
		sr_colcheck_release(&imp->checks[j]);
	sr_free(imp->checks);
	for (size_t j = 0; imp->hiers && j < imp->ncols; j++)
		sr_anon_hier_free(imp->hiers[j]);
	sr_free(imp->hiers);
	sr_policy_release(&imp->policy);
	sr_source_free(imp->src);
}

int sr_store_import(struct sr_store *store, const char *name,
		    const char *csv_path, const struct sr_import_options *opts,
		    struct sr_dataset_info *info, struct sr_err *err)
{
	struct import imp;
	int rc, lock_fd = -1;

	memset(&imp, 0, sizeof(imp));
	imp.store = store;
	imp.opts = opts;
	imp.csv_path = csv_path;
	imp.name = name;
	sr_csv_options_init(&imp.csv_opts);
	if (opts && opts->csv.delimiter)
		imp.csv_opts = opts->csv;
	if (!imp.csv_opts.quote)
		imp.csv_opts.quote = '"';
	sr_policy_init(&imp.policy);
	rc = sr_store_need_key(store, "import", err);
	if (rc == SR_OK)
		rc = sr_dataset_name_check(name, err);
	if (rc == SR_OK)
		rc = load_policy(&imp, err);
	if (rc == SR_OK && opts && opts->pg_conninfo)
		rc = sr_source_pg(opts->pg_conninfo, opts->pg_query,
				  opts->pg_table, &imp.src, err);
	else if (rc == SR_OK)
		rc = sr_source_csv(csv_path, &imp.csv_opts, &imp.src, err);
	if (rc)
		goto out;
	imp.ncols = imp.src->ncols;
	imp.one_pass = imp.src->types != NULL;
	imp.types = sr_calloc(imp.ncols, sizeof(*imp.types));
	imp.nulls = sr_calloc(imp.ncols, sizeof(*imp.nulls));
	imp.usual = sr_calloc(imp.ncols * NUSUAL, sizeof(*imp.usual));
	if (!imp.types || !imp.nulls || !imp.usual) {
		rc = sr_fail(err, SR_ENOMEM, "out of memory");
		goto out;
	}
	rc = setup_nulls(&imp, err);
	if (rc == SR_OK && imp.one_pass)
		memcpy(imp.types, imp.src->types, imp.ncols * sizeof(*imp.types));
	else if (rc == SR_OK)
		rc = first_pass(&imp, err);
	if (rc == SR_OK)
		rc = bind_policy(&imp, err);
	if (rc == SR_OK)
		rc = setup_checks(&imp, err);
	if (rc == SR_OK)
		rc = sr_store_lock(store, 1, &lock_fd, err);
	if (rc == SR_OK)
		rc = setup_output(&imp, err);
	if (rc == SR_OK)
		rc = second_pass(&imp, err);
	if (rc == SR_OK)
		rc = commit(&imp, info, err);
	if (rc == SR_OK)
		note_clamped(&imp);
out:
	import_release(&imp);
	sr_store_unlock(lock_fd);
	return rc;
}

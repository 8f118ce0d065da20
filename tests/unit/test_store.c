/*
 * test_store.c - the encrypted dataset store: import, scan, verify, remove,
 * versions, damage detection and all-or-nothing imports.
 */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/db.h"
#include "base/err.h"
#include "base/file.h"
#include "crypto/crypto.h"
#include "crypto/masterkey.h"
#include "store/store.h"

struct fixture {
	char *dir;
	char home[512];
	struct sr_masterkey mk;
	struct sr_store *store;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sr_err err;

	assert_non_null(f);
	sr_err_clear(&err);
	f->dir = sr_test_tmpdir();
	snprintf(f->home, sizeof(f->home), "%s/home", f->dir);
	assert_int_equal(mkdir(f->home, 0700), 0);
	sr_masterkey_init(&f->mk);
	assert_int_equal(sr_masterkey_create(&f->mk, f->home, SR_KEY_PASSPHRASE,
					     "correct horse", "test", &err), SR_OK);
	assert_int_equal(sr_store_open(f->home, &f->mk, &f->store, &err), SR_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sr_store_free(f->store);
	sr_masterkey_release(&f->mk);
	sr_test_tmpdir_free(f->dir);
	free(f);
	return 0;
}

static void path_in(struct fixture *f, char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", f->dir, name);
}

static void write_text(struct fixture *f, const char *name, const char *text)
{
	char p[600];

	path_in(f, p, sizeof(p), name);
	sr_test_write_file(p, text, strlen(text));
}

static const char basic_policy[] =
	"{\"columns\": {"
	"\"id\": {\"class\": \"id\"},"
	"\"name\": {\"class\": \"id\"},"
	"\"age\": {\"class\": \"qi\"},"
	"\"score\": {\"class\": \"sa\"},"
	"\"joined\": {\"class\": \"qi\"},"
	"\"vip\": {\"class\": \"public\"}}}";

/* Deterministic table of rows rows: id int, name string (with commas,
 * quotes, unicode, empty and NULL), age int (NULL sometimes), score float,
 * joined date, vip bool. */
static char *make_csv(size_t rows, uint64_t seed)
{
	struct sr_buf b;
	uint64_t s = seed;

	sr_buf_init(&b, 0);
	assert_int_equal(sr_buf_addstr(&b, "id,name,age,score,joined,vip\n"), SR_OK);
	for (size_t i = 0; i < rows; i++) {
		uint64_t r = sr_test_rand(&s);
		const char *name;
		switch (r % 6) {
		case 0: name = "\"Smith, John\""; break;
		case 1: name = "\"say \"\"hi\"\"\""; break;
		case 2: name = "Zoë Ünal"; break;
		case 3: name = "\"\""; break;          /* empty string */
		case 4: name = ""; break;              /* NULL */
		default: name = "plain"; break;
		}
		assert_int_equal(sr_buf_addf(&b, "%zu,%s,", i, name), SR_OK);
		if ((r >> 8) % 10 != 0)
			assert_int_equal(sr_buf_addf(&b, "%d", (int)((r >> 16) % 90)), SR_OK);
		assert_int_equal(sr_buf_addf(&b, ",%d.%02d,20%02d-%02d-%02d,%s\n",
					     (int)((r >> 24) % 1000), (int)((r >> 34) % 100),
					     (int)((r >> 40) % 30), (int)((r >> 44) % 12) + 1,
					     (int)((r >> 48) % 28) + 1,
					     (r >> 56) & 1 ? "true" : "false"), SR_OK);
	}
	return sr_buf_detach(&b, NULL);
}

static int do_import(struct fixture *f, const char *name, const char *csv_text,
		     const char *policy_text, struct sr_err *err)
{
	struct sr_import_options opts = { 0 };
	char csv[600], pol[600];

	write_text(f, "in.csv", csv_text);
	path_in(f, csv, sizeof(csv), "in.csv");
	if (policy_text) {
		write_text(f, "policy.json", policy_text);
		path_in(f, pol, sizeof(pol), "policy.json");
		opts.policy_path = pol;
	}
	return sr_store_import(f->store, name, csv, &opts, NULL, err);
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void assert_store_empty(struct fixture *f)
{
	struct sr_dataset_info *list;
	size_t n;
	char p[600];
	struct sr_err err;

	sr_err_clear(&err);
	assert_int_equal(sr_store_list(f->store, &list, &n, &err), SR_OK);
	assert_int_equal(n, 0);
	sr_dataset_info_list_free(list, n);
	snprintf(p, sizeof(p), "%s/datasets", f->home);
	assert_int_equal(count_entries(p), 0);
	snprintf(p, sizeof(p), "%s/tmp", f->home);
	assert_int_equal(count_entries(p), 0);
}

/* Export via scan into CSV text the way the CLI does (minimal quoting). */
static char *scan_to_text(struct fixture *f, const char *name)
{
	struct sr_scan *scan;
	const struct sr_vec *cols;
	struct sr_buf out, val;
	struct sr_err err;
	size_t rows;
	int eof = 0;

	sr_err_clear(&err);
	sr_buf_init(&out, 0);
	sr_buf_init(&val, 0);
	assert_int_equal(sr_scan_open(f->store, name, NULL, 0, &scan, &err), SR_OK);
	for (;;) {
		assert_int_equal(sr_scan_next(scan, &cols, &rows, &eof, &err), SR_OK);
		if (eof)
			break;
		for (size_t r = 0; r < rows; r++) {
			for (size_t j = 0; j < sr_scan_columns(scan); j++) {
				if (j)
					assert_int_equal(sr_buf_addch(&out, ','), SR_OK);
				if (sr_vec_is_null(&cols[j], r)) {
					assert_int_equal(sr_buf_addstr(&out, "<null>"), SR_OK);
					continue;
				}
				sr_buf_reset(&val);
				assert_int_equal(sr_vec_format(&cols[j], r, &val), SR_OK);
				assert_int_equal(sr_buf_addf(&out, "[%s]", val.data), SR_OK);
			}
			assert_int_equal(sr_buf_addch(&out, '\n'), SR_OK);
		}
	}
	sr_scan_free(scan);
	sr_buf_release(&val);
	return sr_buf_detach(&out, NULL);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct sr_dataset_info info;
	struct sr_err err;
	char *csv = make_csv(150000, 7);   /* three chunks */
	char *text;
	uint64_t checked = 0;
	uint64_t s = 7;

	sr_err_clear(&err);
	assert_int_equal(do_import(f, "people", csv, basic_policy, &err), SR_OK);
	sr_dataset_info_init(&info);
	assert_int_equal(sr_store_info(f->store, "people", &info, &err), SR_OK);
	assert_int_equal(info.rows, 150000);
	assert_int_equal(info.ncolumns, 6);
	assert_int_equal(info.chunks, 3);
	assert_int_equal(info.columns[0].type, SR_TYPE_INT64);
	assert_int_equal(info.columns[1].type, SR_TYPE_STRING);
	assert_int_equal(info.columns[2].type, SR_TYPE_INT64);
	assert_int_equal(info.columns[3].type, SR_TYPE_FLOAT64);
	assert_int_equal(info.columns[4].type, SR_TYPE_DATE);
	assert_int_equal(info.columns[5].type, SR_TYPE_BOOL);
	assert_int_equal(info.columns[0].cls, SR_CLASS_ID);
	assert_int_equal(info.columns[3].cls, SR_CLASS_SA);
	assert_int_equal(strlen(info.version_id), 64);
	assert_true(json_is_object(info.policy));
	sr_dataset_info_release(&info);

	/* Every value comes back, NULL and "" kept apart. */
	text = scan_to_text(f, "people");
	{
		char *line = text;
		for (size_t i = 0; i < 150000; i++) {
			uint64_t r = sr_test_rand(&s);
			char want[256], *nl = strchr(line, '\n');
			const char *name;
			char age[16];
			assert_non_null(nl);
			switch (r % 6) {
			case 0: name = "[Smith, John]"; break;
			case 1: name = "[say \"hi\"]"; break;
			case 2: name = "[Zoë Ünal]"; break;
			case 3: name = "[]"; break;
			case 4: name = "<null>"; break;
			default: name = "[plain]"; break;
			}
			if ((r >> 8) % 10 != 0)
				snprintf(age, sizeof(age), "[%d]", (int)((r >> 16) % 90));
			else
				snprintf(age, sizeof(age), "<null>");
			{
				char score[32];
				struct sr_buf fb;
				double v = (double)((r >> 24) % 1000) +
					(double)((r >> 34) % 100) / 100.0;
				/* the CSV text d.dd parses to the nearest double */
				snprintf(score, sizeof(score), "%d.%02d",
					 (int)((r >> 24) % 1000), (int)((r >> 34) % 100));
				v = strtod(score, NULL);
				sr_buf_init(&fb, 0);
				assert_int_equal(sr_value_format_float64(&fb, v), SR_OK);
				snprintf(want, sizeof(want), "[%zu],%s,%s,[%s],[20%02d-%02d-%02d],[%s]",
					 i, name, age, fb.data, (int)((r >> 40) % 30),
					 (int)((r >> 44) % 12) + 1, (int)((r >> 48) % 28) + 1,
					 (r >> 56) & 1 ? "true" : "false");
				sr_buf_release(&fb);
			}
			*nl = '\0';
			assert_string_equal(line, want);
			line = nl + 1;
		}
		assert_int_equal(*line, '\0');
	}
	free(text);
	assert_int_equal(sr_store_verify(f->store, "people", &checked, &err), SR_OK);
	assert_int_equal(checked, 3 * 6);
	free(csv);
}

static void test_column_selection_and_errors(void **state)
{
	struct fixture *f = *state;
	struct sr_err err;
	struct sr_scan *scan = NULL;
	const char *cols[] = { "vip", "id" };
	const char *bad[] = { "nope" };
	const struct sr_vec *v;
	size_t rows;
	int eof;
	char *csv = make_csv(10, 1);

	sr_err_clear(&err);
	assert_int_equal(do_import(f, "t", csv, basic_policy, &err), SR_OK);
	assert_int_equal(sr_scan_open(f->store, "t", cols, 2, &scan, &err), SR_OK);
	assert_int_equal(sr_scan_columns(scan), 2);
	assert_string_equal(sr_scan_column(scan, 0)->name, "vip");
	assert_int_equal(sr_scan_next(scan, &v, &rows, &eof, &err), SR_OK);
	assert_int_equal(rows, 10);
	assert_int_equal(v[0].type, SR_TYPE_BOOL);
	assert_int_equal(v[1].v.i64[9], 9);
	assert_int_equal(sr_scan_next(scan, &v, &rows, &eof, &err), SR_OK);
	assert_int_equal(eof, 1);
	sr_scan_free(scan);
	assert_int_equal(sr_scan_open(f->store, "t", bad, 1, &scan, &err), SR_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no column 'nope'"));
	sr_err_clear(&err);
	assert_int_equal(sr_scan_open(f->store, "missing", NULL, 0, &scan, &err),
			 SR_ENOTFOUND);
	assert_non_null(strstr(err.msg, "'missing' does not exist"));
	free(csv);
}

static void test_versions_and_remove(void **state)
{
	struct fixture *f = *state;
	struct sr_dataset_info *list, info1, info2;
	struct sr_err err;
	size_t n;
	char p[600];
	char *a = make_csv(100, 1), *b = make_csv(200, 2);

	sr_err_clear(&err);
	sr_dataset_info_init(&info1);
	sr_dataset_info_init(&info2);
	assert_int_equal(do_import(f, "d", a, basic_policy, &err), SR_OK);
	assert_int_equal(sr_store_info(f->store, "d", &info1, &err), SR_OK);
	/* Same bytes imported again still give a new, distinct version. */
	assert_int_equal(do_import(f, "d", b, basic_policy, &err), SR_OK);
	assert_int_equal(sr_store_info(f->store, "d", &info2, &err), SR_OK);
	assert_string_not_equal(info1.version_id, info2.version_id);
	assert_int_equal(info2.rows, 200);
	assert_int_equal(sr_store_list(f->store, &list, &n, &err), SR_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].version_id, info2.version_id);
	sr_dataset_info_list_free(list, n);
	snprintf(p, sizeof(p), "%s/datasets", f->home);
	assert_int_equal(count_entries(p), 2);
	assert_int_equal(sr_store_remove(f->store, "d", &err), SR_OK);
	assert_store_empty(f);
	assert_int_equal(sr_store_remove(f->store, "d", &err), SR_ENOTFOUND);
	sr_dataset_info_release(&info1);
	sr_dataset_info_release(&info2);
	free(a);
	free(b);
}

struct bad_case {
	const char *csv;
	const char *policy;
	int code;
	const char *message;
};

static void test_bad_input_changes_nothing(void **state)
{
	static const struct bad_case cases[] = {
		{ "id,name\n1,a\n2\n", "{\"columns\":{\"id\":{\"class\":\"id\"},\"name\":{\"class\":\"id\"}}}",
		  SR_EINVAL, "line 3" },
		{ "id,name\n1,\"open\n", "{\"columns\":{\"id\":{\"class\":\"id\"},\"name\":{\"class\":\"id\"}}}",
		  SR_EINVAL, "line 2" },
		{ "id,name\n1,a\nx,b\n", "{\"columns\":{\"id\":{\"class\":\"id\",\"type\":\"int64\"},\"name\":{\"class\":\"id\"}}}",
		  SR_EINVAL, "line 3, column 1 (id): value 'x' does not parse as int64, the type the policy declares" },
		{ "id,name\n1,\xff\n", "{\"columns\":{\"id\":{\"class\":\"id\"},\"name\":{\"class\":\"id\"}}}",
		  SR_EINVAL, "column 2 (name)" },
		{ "id,colour\n1,a\n", "{\"columns\":{\"id\":{\"class\":\"id\"}}}",
		  SR_EPOLICY, "colour" },
		{ "id,name\n1,a\n", "{\"columns\":{\"id\":{\"class\":\"id\"},\"name\":{\"class\":\"id\"},\"ghost\":{\"class\":\"qi\"}}}",
		  SR_EINVAL, "ghost" },
		{ "id,name\n1,a\n", "{\"columns\":{\"id\":{\"class\":\"secret\"}}}",
		  SR_EINVAL, "columns.id.class" },
		{ "id,name\n1,a\n", "{\"columns\":{\"id\":{\"class\":\"id\"},\"name\":{\"class\":\"sa\",\"bounds\":[0,1]}}}",
		  SR_EINVAL, "bounds" },
		{ "", "{\"columns\":{}}", SR_EINVAL, "in.csv" },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct sr_err err;
		int rc;

		sr_err_clear(&err);
		rc = do_import(f, "bad", cases[i].csv, cases[i].policy, &err);
		if (rc != cases[i].code || !strstr(err.msg, cases[i].message))
			fail_msg("case %zu: got %d '%s', want %d containing '%s'", i,
				 rc, err.msg, cases[i].code, cases[i].message);
		assert_store_empty(f);
	}
}

static void test_unclassified_without_policy(void **state)
{
	struct fixture *f = *state;
	struct sr_import_options opts = { 0 };
	struct sr_err err;
	char csv[600];

	sr_err_clear(&err);
	write_text(f, "c.csv", "customer_id,age,favourite_colour\n1,30,blue\n");
	path_in(f, csv, sizeof(csv), "c.csv");
	assert_int_equal(sr_store_import(f->store, "c", csv, &opts, NULL, &err),
			 SR_EPOLICY);
	assert_non_null(strstr(err.msg, "not classified"));
	assert_store_empty(f);
	opts.classify_by_name = 1;
	sr_err_clear(&err);
	assert_int_equal(sr_store_import(f->store, "c", csv, &opts, NULL, &err),
			 SR_EPOLICY);
	assert_non_null(strstr(err.msg, "favourite_colour"));
	assert_store_empty(f);
	write_text(f, "c.csv", "customer_id,age,salary\n1,30,100.5\n");
	sr_err_clear(&err);
	assert_int_equal(sr_store_import(f->store, "c", csv, &opts, NULL, &err),
			 SR_OK);
}

/* Path of column col's segment of the current version of name. */
static void segment_path(struct fixture *f, const char *name, int col,
			 char *out, size_t len)
{
	struct sr_dataset_info info;
	struct sr_err err;

	sr_err_clear(&err);
	sr_dataset_info_init(&info);
	assert_int_equal(sr_store_info(f->store, name, &info, &err), SR_OK);
	snprintf(out, len, "%s/datasets/%s/col-%04d.seg", f->home,
		 info.version_id, col);
	sr_dataset_info_release(&info);
}

static void flip_byte(const char *path, long offset)
{
	int fd = open(path, O_RDWR);
	unsigned char c;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, offset), 1);
	c ^= 0x40;
	assert_int_equal(pwrite(fd, &c, 1, offset), 1);
	close(fd);
}

static long file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (long)st.st_size;
}

static void expect_damage(struct fixture *f, const char *name,
			  const char *needle)
{
	struct sr_err err;

	sr_err_clear(&err);
	assert_int_equal(sr_store_verify(f->store, name, NULL, &err), SR_ECORRUPT);
	if (!strstr(err.msg, needle))
		fail_msg("verify said '%s', expected it to mention '%s'", err.msg, needle);
}

static void test_damage_is_detected(void **state)
{
	struct fixture *f = *state;
	char *csv = make_csv(140000, 3);  /* chunks 0, 1, 2 */
	char seg[700], seg2[700], other[700];
	struct sr_err err;
	struct sr_scan *scan;
	const struct sr_vec *v;
	size_t rows;
	int eof;
	char *copy;
	size_t copy_len;

	sr_err_clear(&err);
	assert_int_equal(do_import(f, "d", csv, basic_policy, &err), SR_OK);
	assert_int_equal(do_import(f, "e", csv, basic_policy, &err), SR_OK);

	/* An edited byte in the last chunk of column 3 (score). */
	segment_path(f, "d", 3, seg, sizeof(seg));
	flip_byte(seg, file_size(seg) - 100);
	expect_damage(f, "d", "dataset 'd', column 'score', chunk 2");
	/* Scans fail too, at that chunk, after delivering the good ones. */
	assert_int_equal(sr_scan_open(f->store, "d", NULL, 0, &scan, &err), SR_OK);
	assert_int_equal(sr_scan_next(scan, &v, &rows, &eof, &err), SR_OK);
	assert_int_equal(sr_scan_next(scan, &v, &rows, &eof, &err), SR_OK);
	assert_int_equal(sr_scan_next(scan, &v, &rows, &eof, &err), SR_ECORRUPT);
	assert_non_null(strstr(err.msg, "column 'score', chunk 2"));
	sr_scan_free(scan);
	flip_byte(seg, file_size(seg) - 100);   /* repair */
	assert_int_equal(sr_store_verify(f->store, "d", NULL, &err), SR_OK);

	/* Truncated segment. */
	copy = sr_test_read_file(seg, &copy_len);
	assert_int_equal(truncate(seg, (off_t)copy_len - 10), 0);
	expect_damage(f, "d", "column 'score'");
	sr_test_write_file(seg, copy, copy_len);
	assert_int_equal(sr_store_verify(f->store, "d", NULL, &err), SR_OK);

	/* Another dataset's segment swapped in (same data, other key). */
	segment_path(f, "e", 3, other, sizeof(other));
	{
		size_t olen;
		char *odata = sr_test_read_file(other, &olen);
		sr_test_write_file(seg, odata, olen);
		free(odata);
	}
	expect_damage(f, "d", "column 'score'");
	sr_test_write_file(seg, copy, copy_len);

	/* Two columns' segment files swapped. */
	segment_path(f, "d", 0, seg2, sizeof(seg2));
	{
		size_t len2;
		char *data2 = sr_test_read_file(seg2, &len2);
		sr_test_write_file(seg2, copy, copy_len);
		sr_test_write_file(seg, data2, len2);
		expect_damage(f, "d", "dataset 'd', column 'id'");
		sr_test_write_file(seg, copy, copy_len);
		sr_test_write_file(seg2, data2, len2);
		free(data2);
	}
	assert_int_equal(sr_store_verify(f->store, "d", NULL, &err), SR_OK);

	/* Chunks 0 and 1 of a column swapped inside the file: with the
	 * manifest's offsets unchanged, the AD check fails. */
	{
		struct sr_dataset_info info;
		char mpath[700];
		char *m;
		sr_dataset_info_init(&info);
		assert_int_equal(sr_store_info(f->store, "d", &info, &err), SR_OK);
		snprintf(mpath, sizeof(mpath), "%s/datasets/%s/manifest.json",
			 f->home, info.version_id);
		sr_dataset_info_release(&info);
		/* An edited manifest is caught by its MAC. */
		m = sr_test_read_file(mpath, NULL);
		{
			char *p = strstr(m, "\"rows\":140000");
			char saved;
			assert_non_null(p);
			saved = p[8];
			p[8] = '2';
			sr_test_write_file(mpath, m, strlen(m));
			expect_damage(f, "d", "manifest");
			p[8] = saved;
			sr_test_write_file(mpath, m, strlen(m));
		}
		free(m);
	}
	assert_int_equal(sr_store_verify(f->store, "d", NULL, &err), SR_OK);
	free(copy);
	free(csv);
}

static void test_wrong_master_key(void **state)
{
	struct fixture *f = *state;
	struct sr_masterkey other;
	struct sr_store *store;
	struct sr_scan *scan;
	struct sr_err err;
	char home2[600];
	char *csv = make_csv(10, 1);

	sr_err_clear(&err);
	assert_int_equal(do_import(f, "d", csv, basic_policy, &err), SR_OK);
	/* A different node's key on this home's files. */
	snprintf(home2, sizeof(home2), "%s/other", f->dir);
	assert_int_equal(mkdir(home2, 0700), 0);
	sr_masterkey_init(&other);
	assert_int_equal(sr_masterkey_create(&other, home2, SR_KEY_PASSPHRASE,
					     "x", "test", &err), SR_OK);
	assert_int_equal(sr_store_open(f->home, &other, &store, &err), SR_OK);
	assert_int_not_equal(sr_scan_open(store, "d", NULL, 0, &scan, &err), SR_OK);
	sr_store_free(store);
	sr_masterkey_release(&other);
	free(csv);
}

static void test_allocation_failures(void **state)
{
	struct fixture *f = *state;
	char *csv = make_csv(300, 5);
	int succeeded = 0;

	for (unsigned long n = 1; !succeeded && n < 100000; n++) {
		struct sr_err err;
		int rc;

		sr_err_clear(&err);
		write_text(f, "in.csv", csv);
		write_text(f, "policy.json", basic_policy);
		sr_alloc_fail_at(n, 0);
		{
			struct sr_import_options opts = { 0 };
			char p1[600], p2[600];
			path_in(f, p1, sizeof(p1), "in.csv");
			path_in(f, p2, sizeof(p2), "policy.json");
			opts.policy_path = p2;
			rc = sr_store_import(f->store, "alloc", p1, &opts, NULL, &err);
		}
		sr_alloc_fail_at(0, 0);
		if (rc == SR_OK) {
			succeeded = 1;
			break;
		}
		if (rc != SR_ENOMEM)
			fail_msg("allocation %lu failed: got %d (%s), want SR_ENOMEM",
				 n, rc, err.msg);
		assert_store_empty(f);
	}
	assert_true(succeeded);
	free(csv);
}


struct warnings {
	char text[4][SR_ERR_MSG_MAX];
	int count;
};

static void collect_warning(void *ctx, const char *text)
{
	struct warnings *w = ctx;

	if (w->count < 4)
		snprintf(w->text[w->count], sizeof(w->text[0]), "%s", text);
	w->count++;
}

/* Null tokens are declared (policy, per column, --null), never guessed;
 * the usual ones that were not declared are named in a warning. */
static void test_null_tokens(void **state)
{
	static const char *const cli[] = { "-" };
	struct fixture *f = *state;
	struct sr_import_options opts = { 0 };
	struct sr_dataset_info info;
	struct warnings w = { .count = 0 };
	struct sr_err err;
	char csv[600], pol[600], *text;
	json_t *nulls;

	write_text(f, "n.csv",
		   "id,age,score,note\n"
		   "1,NA,-,NA\n"
		   "2,40,1.5,\"NA\"\n"
		   "3,,2.5,x\n");
	path_in(f, csv, sizeof(csv), "n.csv");
	/* Undeclared: age and score become strings, with a warning each. */
	opts.classify_by_name = 0;
	write_text(f, "p.json",
		   "{\"columns\":{\"id\":{\"class\":\"id\"},\"age\":{\"class\":\"qi\"},"
		   "\"score\":{\"class\":\"sa\"},\"note\":{\"class\":\"sa\"}}}");
	path_in(f, pol, sizeof(pol), "p.json");
	opts.policy_path = pol;
	opts.warn = collect_warning;
	opts.warn_ctx = &w;
	sr_err_clear(&err);
	assert_int_equal(sr_store_import(f->store, "n", csv, &opts, NULL, &err), SR_OK);
	assert_int_equal(w.count, 2);
	assert_non_null(strstr(w.text[0], "n.csv: column age: read as string, not int64, because of 1 value 'NA'; if they mean missing, declare them: --null 'NA', or \"nulls\" in the policy"));
	assert_non_null(strstr(w.text[1], "n.csv: column score: read as string, not float64, because of 1 value '-'"));

	/* Declared: "NA" in the policy for every column, "-" on the command
	 * line; note keeps NA as a value through its own (empty) list; a
	 * quoted "NA" is always a value. */
	write_text(f, "p.json",
		   "{\"nulls\":[\"NA\"],\"columns\":{\"id\":{\"class\":\"id\"},\"age\":{\"class\":\"qi\"},"
		   "\"score\":{\"class\":\"sa\"},\"note\":{\"class\":\"sa\",\"nulls\":[]}}}");
	opts.nulls = cli;
	opts.nnulls = 1;
	w.count = 0;
	sr_dataset_info_init(&info);
	assert_int_equal(sr_store_import(f->store, "n", csv, &opts, &info, &err), SR_OK);
	assert_int_equal(w.count, 0);
	assert_int_equal(info.columns[1].type, SR_TYPE_INT64);
	assert_int_equal(info.columns[2].type, SR_TYPE_FLOAT64);
	assert_int_equal(info.columns[3].type, SR_TYPE_STRING);
	sr_dataset_info_release(&info);
	text = scan_to_text(f, "n");
	assert_string_equal(text,
			    "[1],<null>,<null>,[NA]\n"
			    "[2],[40],[1.5],[NA]\n"
			    "[3],<null>,[2.5],[x]\n");
	free(text);
	/* The stored policy records the tokens, --null ones included. */
	sr_dataset_info_init(&info);
	assert_int_equal(sr_store_info(f->store, "n", &info, &err), SR_OK);
	nulls = json_object_get(info.policy, "nulls");
	assert_int_equal(json_array_size(nulls), 2);
	assert_string_equal(json_string_value(json_array_get(nulls, 0)), "NA");
	assert_string_equal(json_string_value(json_array_get(nulls, 1)), "-");
	assert_int_equal(json_array_size(json_object_get(json_object_get(
		json_object_get(info.policy, "columns"), "note"), "nulls")), 0);
	sr_dataset_info_release(&info);

	/* A token holding the delimiter can match no field: refused. */
	{
		static const char *const bad[] = { "a,b" };
		opts.nulls = bad;
		sr_err_clear(&err);
		assert_int_equal(sr_store_import(f->store, "m", csv, &opts, NULL, &err), SR_EINVAL);
		assert_string_equal(err.msg, "--null: null token 'a,b' holds the delimiter ',' or the quote '\"', so no unquoted field can be it");
		static const char *const empty[] = { "" };
		opts.nulls = empty;
		sr_err_clear(&err);
		assert_int_equal(sr_store_import(f->store, "m", csv, &opts, NULL, &err), SR_EINVAL);
		assert_string_equal(err.msg, "--null: a null token cannot be empty (the empty unquoted field is always NULL)");
	}
}

/* A value that does not parse as the declared type is shown, cut. */
static void test_type_error_shows_value(void **state)
{
	struct fixture *f = *state;
	struct sr_err err;
	const char *policy =
		"{\"columns\":{\"id\":{\"class\":\"id\",\"type\":\"int64\"},\"age\":{\"class\":\"qi\",\"type\":\"int64\"}}}";

	sr_err_clear(&err);
	assert_int_equal(do_import(f, "t", "id,age\n1,2\n2,NA\n", policy, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "in.csv: line 3, column 2 (age): value 'NA' does not parse as int64, the type the policy declares; if it means missing, declare it: --null 'NA', or \"nulls\" in the policy"));
	sr_err_clear(&err);
	assert_int_equal(do_import(f, "t", "id,age\n1,2\n2,\"0123456789012345678901234567890123456789\x01tail\"\n",
				   policy, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "value '0123456789012345678901234567890123456789...' does not parse as int64"));
	assert_store_empty(f);
}

/* Bounds and domains hold at import: an error naming line, column, value
 * and bound, nothing imported; --clamp clamps to the bounds and says how
 * many; a domain is never clamped. */
static void test_bounds_and_domains(void **state)
{
	struct fixture *f = *state;
	struct sr_import_options opts = { 0 };
	struct warnings notes = { .count = 0 };
	struct sr_err err;
	char csv[600], pol[600], *text;

	write_text(f, "b.csv",
		   "id,age,score,cut,day,ok\n"
		   "1,15,0.5,Good,2020-01-01,true\n"
		   "2,131,2.5,Fair,2020-01-02,true\n"
		   "3,-4,-1,Good,2020-01-01,true\n");
	path_in(f, csv, sizeof(csv), "b.csv");
	path_in(f, pol, sizeof(pol), "p.json");
	opts.policy_path = pol;
	opts.note = collect_warning;
	opts.warn_ctx = &notes;
	write_text(f, "p.json",
		   "{\"columns\":{\"id\":{\"class\":\"id\"},\"age\":{\"class\":\"qi\",\"bounds\":[0,\"30.5\"]},"
		   "\"score\":{\"class\":\"sa\",\"bounds\":[0,1]},\"cut\":{\"class\":\"qi\",\"domain\":[\"Fair\",\"Good\"]},"
		   "\"day\":{\"class\":\"qi\",\"domain\":[\"2020-01-01\",\"2020-01-02\"]},"
		   "\"ok\":{\"class\":\"public\",\"domain\":[true]}}}");
	sr_err_clear(&err);
	assert_int_equal(sr_store_import(f->store, "b", csv, &opts, NULL, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "b.csv: line 3, column 2 (age): value '131' is outside the bounds [0, 30.5] of the policy (--clamp clamps such values to the bounds)"));
	assert_store_empty(f);
	opts.clamp = 1;
	sr_err_clear(&err);
	assert_int_equal(sr_store_import(f->store, "b", csv, &opts, NULL, &err), SR_OK);
	text = scan_to_text(f, "b");
	assert_string_equal(text,
			    "[1],[15],[0.5],[Good],[2020-01-01],[true]\n"
			    "[2],[30],[1],[Fair],[2020-01-02],[true]\n"
			    "[3],[0],[0],[Good],[2020-01-01],[true]\n");
	free(text);
	assert_int_equal(notes.count, 2);
	assert_string_equal(notes.text[0], "column age: 2 values clamped to the bounds [0, 30.5]");
	assert_string_equal(notes.text[1], "column score: 2 values clamped to the bounds [0, 1]");

	/* Domains of every type. */
	write_text(f, "b.csv", "id,age,score,cut,day,ok\n1,15,0.5,Ideal,2020-01-01,true\n");
	sr_err_clear(&err);
	assert_int_equal(sr_store_import(f->store, "c", csv, &opts, NULL, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "b.csv: line 2, column 4 (cut): value 'Ideal' is not in the domain (2 values: 'Fair', 'Good') of the policy"));
	write_text(f, "b.csv", "id,age,score,cut,day,ok\n1,15,0.5,Fair,2020-01-03,true\n");
	assert_int_equal(sr_store_import(f->store, "c", csv, &opts, NULL, &err), SR_EINVAL);
	write_text(f, "b.csv", "id,age,score,cut,day,ok\n1,15,0.5,Fair,2020-01-01,false\n");
	sr_err_clear(&err);
	assert_int_equal(sr_store_import(f->store, "c", csv, &opts, NULL, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "value 'false' is not in the domain (1 value: true)"));
	/* NULLs are not values: no bound or domain applies. */
	write_text(f, "b.csv", "id,age,score,cut,day,ok\n1,,,,,\n2,3,0.5,Fair,2020-01-01,true\n");
	sr_err_clear(&err);
	assert_int_equal(sr_store_import(f->store, "c", csv, &opts, NULL, &err), SR_OK);
	/* An int64 column whose bounds hold no whole number. */
	write_text(f, "p.json",
		   "{\"columns\":{\"id\":{\"class\":\"id\",\"bounds\":[\"0.2\",\"0.8\"]},\"age\":{\"class\":\"qi\"},"
		   "\"score\":{\"class\":\"sa\"},\"cut\":{\"class\":\"qi\"},\"day\":{\"class\":\"qi\"},\"ok\":{\"class\":\"qi\"}}}");
	sr_err_clear(&err);
	assert_int_equal(sr_store_import(f->store, "d", csv, &opts, NULL, &err), SR_EINVAL);
	assert_string_equal(err.msg, "policy: columns.id.bounds: no whole number lies within them, and 'id' is int64");
}

/* Every file under dir is its owner's only (no group or other bits). */
static void assert_private_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char p[1200];
		struct stat sb;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		assert_int_equal(lstat(p, &sb), 0);
		if (sb.st_mode & 077)
			fail_msg("%s is mode %o", p, (unsigned)(sb.st_mode & 0777));
		if (S_ISDIR(sb.st_mode))
			assert_private_tree(p);
	}
	closedir(d);
}

/*
 * Durability (issue 16): each catalog write of an import, then of a
 * remove, fails in turn as on a full disk.  Each failure names node.db and
 * the cause, and leaves the store as it was (an import: no dataset, no
 * files; a remove: the dataset still whole) - except a failed checkpoint
 * after the remove's COMMIT, which is reported although the dataset is
 * gone.  Everything the store writes is 0600 (0700 directories) whatever
 * the umask.
 */
static void test_write_failures(void **state)
{
	struct fixture *f = *state;
	char *csv = make_csv(50, 7), datasets[600];
	struct sr_dataset_info *list;
	struct sr_err err;
	size_t n;
	int k, rc;
	mode_t old = umask(0);

	snprintf(datasets, sizeof(datasets), "%s/datasets", f->home);
	for (k = 1;; k++) {
		sr_err_clear(&err);
		sr_db_fault_at(k, 0);
		rc = do_import(f, "c", csv, basic_policy, &err);
		sr_db_fault_at(0, 0);
		if (rc == SR_OK)
			break;
		assert_int_equal(rc, SR_EIO);
		assert_non_null(strstr(err.msg, "node.db"));
		assert_non_null(strstr(err.msg, "disk full"));
		assert_store_empty(f);
	}
	assert_true(k > 3);   /* begin, two inserts, commit */
	assert_int_equal(sr_store_list(f->store, &list, &n, &err), SR_OK);
	assert_int_equal(n, 1);
	sr_dataset_info_list_free(list, n);
	assert_private_tree(f->home);
	for (k = 1;; k++) {
		sr_err_clear(&err);
		sr_db_fault_at(k, 0);
		rc = sr_store_remove(f->store, "c", &err);
		sr_db_fault_at(0, 0);
		if (rc == SR_OK || strstr(err.msg, "checkpoint"))
			break;
		assert_non_null(strstr(err.msg, "disk full"));
		assert_int_equal(sr_store_verify(f->store, "c", NULL, &err), SR_OK);
	}
	assert_true(k > 3);
	assert_store_empty(f);
	assert_int_equal(count_entries(datasets), 0);
	umask(old);
	free(csv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_column_selection_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_versions_and_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unclassified_without_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage_is_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_master_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allocation_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_error_shows_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds_and_domains, setup, teardown),
	};

	sr_alloc_setup_json();
	if (sr_crypto_init() != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

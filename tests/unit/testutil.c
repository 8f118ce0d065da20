#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/file.h"
#include "net/tcp.h"

char *sr_test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path;
	size_t n;

	if (!base || !*base)
		base = "/tmp";
	n = strlen(base) + 32;
	path = malloc(n);
	assert_non_null(path);
	snprintf(path, n, "%s/sr-test-XXXXXX", base);
	assert_non_null(mkdtemp(path));
	return path;
}

void sr_test_tmpdir_free(char *dir)
{
	struct sr_err err;

	if (!dir)
		return;
	sr_err_clear(&err);
	assert_int_equal(sr_rm_rf(dir, &err), SR_OK);
	free(dir);
}

void sr_test_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

char *sr_test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long size;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	data = malloc((size_t)size + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
	data[size] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)size;
	return data;
}

char *sr_test_source_path(const char *rel)
{
	const char *root = getenv("SR_SOURCE_DIR");
	char *path;
	size_t n;

	if (!root)
		root = ".";
	n = strlen(root) + strlen(rel) + 2;
	path = malloc(n);
	assert_non_null(path);
	snprintf(path, n, "%s/%s", root, rel);
	return path;
}

uint64_t sr_test_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void sr_test_breast_cancer(double **x, double **y)
{
	const char *path = "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv";
	FILE *f = fopen(path, "r");
	char line[4096];
	size_t r = 0;

	if (!f) {
		print_message("skipped: %s is missing (python3-sklearn)\n", path);
		skip();
	}
	assert_non_null(fgets(line, sizeof(line), f)); /* 569,30,malignant,benign */
	*x = calloc(SR_TEST_BC_ROWS * SR_TEST_BC_COLS, sizeof(double));
	*y = calloc(SR_TEST_BC_ROWS, sizeof(double));
	assert_true(*x && *y);
	while (r < SR_TEST_BC_ROWS && fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		for (size_t c = 0; c <= SR_TEST_BC_COLS; c++) {
			double v = strtod(p, &end);
			assert_true(end != p);
			if (c < SR_TEST_BC_COLS)
				(*x)[c * SR_TEST_BC_ROWS + r] = v;
			else
				(*y)[r] = v;
			p = end + (*end == ',');
		}
		r++;
	}
	fclose(f);
	assert_int_equal(r, SR_TEST_BC_ROWS);
}

void sr_test_table_alloc(struct sr_test_table *t, size_t rows, size_t cols)
{
	t->rows = rows;
	t->cols = cols;
	t->x = calloc(rows * cols + 1, sizeof(double));
	t->y = calloc(rows + 1, sizeof(double));
	assert_non_null(t->x);
	assert_non_null(t->y);
}

void sr_test_table_free(struct sr_test_table *t)
{
	free(t->x);
	free(t->y);
	memset(t, 0, sizeof(*t));
}

void sr_test_table_columns(const struct sr_test_table *t, size_t c0, size_t c1,
			   struct sr_test_table *out)
{
	sr_test_table_alloc(out, t->rows, c1 - c0);
	memcpy(out->x, t->x + c0 * t->rows, (c1 - c0) * t->rows * sizeof(double));
	memcpy(out->y, t->y, t->rows * sizeof(double));
}

void sr_test_table_split(const struct sr_test_table *all, size_t k,
			 struct sr_test_table *first, struct sr_test_table *second)
{
	size_t n2 = (all->rows + k - 1) / k, i = 0, j = 0;

	sr_test_table_alloc(first, all->rows - n2, all->cols);
	sr_test_table_alloc(second, n2, all->cols);
	for (size_t r = 0; r < all->rows; r++) {
		struct sr_test_table *t = r % k == 0 ? second : first;
		size_t *at = r % k == 0 ? &j : &i;
		for (size_t c = 0; c < all->cols; c++)
			t->x[c * t->rows + *at] = all->x[c * all->rows + r];
		t->y[(*at)++] = all->y[r];
	}
}

void sr_test_table_breast_cancer(struct sr_test_table *t)
{
	t->rows = SR_TEST_BC_ROWS;
	t->cols = SR_TEST_BC_COLS;
	sr_test_breast_cancer(&t->x, &t->y);
}

static void *closer_main(void *arg)
{
	struct sr_test_closer *c = arg;
	struct sr_err err;
	int fd;

	while (sr_tcp_accept(c->fd, 3000, &fd, &err) == SR_OK)
		close(fd);
	return NULL;
}

void sr_test_closer_start(struct sr_test_closer *c)
{
	struct sr_err err;

	sr_err_clear(&err);
	assert_int_equal(sr_tcp_listen("127.0.0.1:0", &c->fd, &err), SR_OK);
	assert_int_equal(sr_tcp_local_addr(c->fd, c->addr, &err), SR_OK);
	assert_int_equal(pthread_create(&c->thread, NULL, closer_main, c), 0);
}

void sr_test_closer_stop(struct sr_test_closer *c)
{
	shutdown(c->fd, SHUT_RDWR);
	close(c->fd);
	pthread_join(c->thread, NULL);
}

int sr_test_file_mode(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		fail_msg("%s: cannot stat", path);
	return (int)(sb.st_mode & 0777);
}

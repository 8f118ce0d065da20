/*
 * test_base.c - src/base: errors, buffers, the allocation wrapper, files,
 * JSON helpers and the thread pool; and src/store/value.c: strict value
 * parsing, canonical formatting, UTF-8 and type inference.
 */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/file.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/pool.h"
#include "base/text.h"
#include "store/value.h"
#include "base/banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- errors ------------------------------------------------------------ */

static void test_err_first_failure_wins(void **state)
{
	struct sr_err err;

	(void)state;
	sr_err_clear(&err);
	assert_int_equal(err.code, SR_OK);
	assert_string_equal(err.msg, "");
	assert_int_equal(sr_fail(&err, SR_EINVAL, "line %d: expected %d fields", 3, 4),
			 SR_EINVAL);
	assert_int_equal(err.code, SR_EINVAL);
	assert_string_equal(err.msg, "line 3: expected 4 fields");
	/* An outer caller adding its own failure keeps the inner reason (code
	 * and message in err) but gets back the code it asked for. */
	assert_int_equal(sr_fail(&err, SR_EIO, "outer"), SR_EIO);
	assert_int_equal(err.code, SR_EINVAL);
	assert_string_equal(err.msg, "line 3: expected 4 fields");
	/* sr_failx overwrites both. */
	assert_int_equal(sr_failx(&err, SR_EIO, "replaced %s", "here"), SR_EIO);
	assert_int_equal(err.code, SR_EIO);
	assert_string_equal(err.msg, "replaced here");
	/* A code without a message does not block the next failure. */
	err.code = SR_EIO;
	err.msg[0] = '\0';
	assert_int_equal(sr_fail(&err, SR_ECRYPTO, "bad tag"), SR_ECRYPTO);
	assert_string_equal(err.msg, "bad tag");
	/* No buffer: only the code. */
	assert_int_equal(sr_fail(NULL, SR_ENOMEM, "x"), SR_ENOMEM);
	assert_int_equal(sr_failx(NULL, SR_EIO, "x"), SR_EIO);
	sr_err_clear(NULL);
	sr_err_clear(&err);
	assert_int_equal(err.code, SR_OK);
	assert_string_equal(err.msg, "");
}

static void test_err_prefix(void **state)
{
	struct sr_err err;

	(void)state;
	sr_err_clear(&err);
	assert_int_equal(sr_fail(&err, SR_ENOTFOUND, "no such column"), SR_ENOTFOUND);
	assert_int_equal(sr_err_prefix(&err, "dataset %s", "sales"), SR_ENOTFOUND);
	assert_int_equal(err.code, SR_ENOTFOUND);
	assert_string_equal(err.msg, "dataset sales: no such column");
	assert_int_equal(sr_err_prefix(&err, "node %d", 2), SR_ENOTFOUND);
	assert_string_equal(err.msg, "node 2: dataset sales: no such column");
	/* Prefixing a cleared error is a bug somewhere: it reports one. */
	sr_err_clear(&err);
	assert_int_equal(sr_err_prefix(&err, "where"), SR_EINTERNAL);
	assert_int_equal(err.code, SR_EINTERNAL);
	assert_string_equal(err.msg, "where: ");
	assert_int_equal(sr_err_prefix(NULL, "where"), SR_EINTERNAL);
}

static void test_err_truncation(void **state)
{
	struct sr_err err;
	char longtext[3 * SR_ERR_MSG_MAX];

	(void)state;
	memset(longtext, 'a', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';

	/* A message longer than the buffer is cut, still terminated. */
	sr_err_clear(&err);
	assert_int_equal(sr_fail(&err, SR_EINVAL, "%s", longtext), SR_EINVAL);
	assert_int_equal(strlen(err.msg), SR_ERR_MSG_MAX - 1);

	/* A full message with a long prefix. */
	assert_int_equal(sr_err_prefix(&err, "%s", longtext), SR_EINVAL);
	assert_int_equal(strlen(err.msg), SR_ERR_MSG_MAX - 1);
	assert_int_equal(err.msg[0], 'a');

	/* A short prefix on a full message keeps the prefix and cuts the end. */
	sr_err_clear(&err);
	assert_int_equal(sr_fail(&err, SR_EIO, "%s", longtext), SR_EIO);
	assert_int_equal(sr_err_prefix(&err, "file"), SR_EIO);
	assert_int_equal(strlen(err.msg), SR_ERR_MSG_MAX - 1);
	assert_int_equal(strncmp(err.msg, "file: aaa", 9), 0);

	/* A long prefix on a short message. */
	sr_err_clear(&err);
	assert_int_equal(sr_fail(&err, SR_EIO, "short"), SR_EIO);
	assert_int_equal(sr_err_prefix(&err, "%s", longtext), SR_EIO);
	assert_true(strlen(err.msg) < SR_ERR_MSG_MAX);
	assert_int_equal(err.code, SR_EIO);
}

static void test_strerror(void **state)
{
	static const struct {
		int code;
		const char *text;
	} codes[] = {
		{ SR_OK, "success" },
		{ SR_EINVAL, "invalid input" },
		{ SR_ENOMEM, "out of memory" },
		{ SR_EIO, "i/o error" },
		{ SR_ECRYPTO, "cryptographic check failed" },
		{ SR_EPOLICY, "refused by policy" },
		{ SR_ENOTFOUND, "not found" },
		{ SR_EEXIST, "already exists" },
		{ SR_ELIMIT, "limit exceeded" },
		{ SR_ECORRUPT, "stored data is corrupt" },
		{ SR_EPROTO, "protocol violation" },
		{ SR_EPERM, "permission denied" },
		{ SR_EBUSY, "resource busy" },
		{ SR_EINTERNAL, "internal error" },
		{ SR_EUSAGE, "usage error" },
		{ SR_ETIMEOUT, "timed out" },
		{ SR_ECANCELED, "canceled" },
		{ SR_ENOSPC, "no space left" },
		{ SR_ERATE, "rate limited" },
	};

	(void)state;
	/* The enum is never renumbered. */
	assert_int_equal(SR_EINVAL, -1);
	assert_int_equal(SR_ETIMEOUT, -15);
	assert_int_equal(SR_ECANCELED, -16);
	assert_int_equal(SR_ENOSPC, -17);
	assert_int_equal(SR_ERATE, -18);
	assert_int_equal(ARRAY_SIZE(codes), 19);
	for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
		assert_int_equal(codes[i].code, -(int)i);
		assert_string_equal(sr_strerror(codes[i].code), codes[i].text);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(sr_strerror(codes[i].code),
						sr_strerror(codes[j].code));
	}
	assert_string_equal(sr_strerror(SR_ERATE - 1), "unknown status");
	assert_string_equal(sr_strerror(1), "unknown status");
	assert_string_equal(sr_strerror(-999), "unknown status");
}

/* ---- buffers ----------------------------------------------------------- */

static void test_buf_growth(void **state)
{
	struct sr_buf b;
	char expect[16];
	size_t last_cap = 0;

	(void)state;
	sr_buf_init(&b, 0);
	assert_non_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_string_equal(b.data, "");
	/* Reset and release of a never-grown buffer are harmless. */
	sr_buf_reset(&b);
	sr_buf_release(&b);
	assert_non_null(b.data);

	for (int i = 0; i < 100000; i++) {
		assert_int_equal(sr_buf_addch(&b, (char)('a' + i % 26)), SR_OK);
		assert_int_equal(b.len, (size_t)i + 1);
		assert_true(b.cap > b.len);
		assert_int_equal(b.data[b.len], '\0');
		if (b.cap != last_cap) {
			/* Geometric growth: few reallocations. */
			assert_true(b.cap >= 2 * last_cap);
			last_cap = b.cap;
		}
	}
	for (int i = 0; i < 100000; i++)
		assert_int_equal(b.data[i], 'a' + i % 26);

	/* One large append. */
	{
		size_t big = 3u << 20;
		char *chunk = malloc(big);
		assert_non_null(chunk);
		memset(chunk, 'z', big);
		assert_int_equal(sr_buf_add(&b, chunk, big), SR_OK);
		assert_int_equal(b.len, 100000 + big);
		assert_int_equal(b.data[b.len - 1], 'z');
		assert_int_equal(b.data[b.len], '\0');
		free(chunk);
	}
	sr_buf_release(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_string_equal(b.data, "");

	/* addf: short and longer than the first allocation. */
	sr_buf_init(&b, 0);
	assert_int_equal(sr_buf_addf(&b, "%d-%s", 42, "x"), SR_OK);
	assert_string_equal(b.data, "42-x");
	assert_int_equal(sr_buf_addf(&b, "%0200d", 7), SR_OK);
	assert_int_equal(b.len, 4 + 200);
	assert_int_equal(b.data[b.len - 1], '7');
	assert_int_equal(sr_buf_addstr(&b, ""), SR_OK);
	assert_int_equal(b.len, 204);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(sr_buf_addf(&b, "%d,", i), SR_OK);
	snprintf(expect, sizeof(expect), "%d,", 999);
	assert_memory_equal(b.data + b.len - strlen(expect), expect, strlen(expect));

	/* setlen shrinks and re-terminates. */
	sr_buf_setlen(&b, 2);
	assert_string_equal(b.data, "42");
	sr_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_true(b.cap > 0);   /* reset keeps the memory */
	sr_buf_release(&b);
}

static void test_buf_cap(void **state)
{
	struct sr_buf b;

	(void)state;
	sr_buf_init(&b, 10);
	assert_int_equal(b.max, 10);
	assert_int_equal(sr_buf_addstr(&b, "0123456789"), SR_OK);   /* exactly max */
	assert_true(b.cap <= 11);   /* never allocates past max + NUL */
	assert_int_equal(sr_buf_addch(&b, 'x'), SR_ELIMIT);
	assert_string_equal(b.data, "0123456789");
	assert_int_equal(b.len, 10);
	assert_int_equal(sr_buf_addf(&b, "%s", "more"), SR_ELIMIT);
	assert_string_equal(b.data, "0123456789");
	assert_int_equal(sr_buf_add_u32le(&b, 1), SR_ELIMIT);
	assert_int_equal(sr_buf_grow(&b, 1), SR_ELIMIT);
	assert_int_equal(sr_buf_grow(&b, 0), SR_OK);
	assert_int_equal(b.len, 10);
	/* A huge request fails cleanly instead of overflowing. */
	assert_int_equal(sr_buf_grow(&b, SIZE_MAX), SR_ELIMIT);
	assert_string_equal(b.data, "0123456789");

	/* An append that does not fit is refused whole, not cut. */
	sr_buf_reset(&b);
	assert_int_equal(sr_buf_addstr(&b, "01234"), SR_OK);
	assert_int_equal(sr_buf_addstr(&b, "567890"), SR_ELIMIT);
	assert_string_equal(b.data, "01234");
	assert_int_equal(sr_buf_addstr(&b, "56789"), SR_OK);
	assert_string_equal(b.data, "0123456789");
	sr_buf_release(&b);
	assert_int_equal(b.max, 10);   /* release keeps the cap */

	/* Unbounded buffers reject SIZE_MAX too. */
	sr_buf_init(&b, 0);
	assert_int_equal(sr_buf_addch(&b, 'a'), SR_OK);
	assert_int_equal(sr_buf_grow(&b, SIZE_MAX), SR_ELIMIT);
	assert_string_equal(b.data, "a");
	sr_buf_release(&b);
}

static void test_buf_nomem(void **state)
{
	static char block[1 << 16];
	struct sr_buf b;

	(void)state;
	sr_buf_init(&b, 0);
	assert_int_equal(sr_buf_addstr(&b, "keep"), SR_OK);
	sr_alloc_fail_at(1, 1);
	assert_int_equal(sr_buf_add(&b, block, sizeof(block)), SR_ENOMEM);
	assert_int_equal(sr_buf_addf(&b, "%0500d", 1), SR_ENOMEM);
	sr_alloc_fail_at(0, 0);
	assert_string_equal(b.data, "keep");
	assert_int_equal(b.len, 4);
	sr_buf_release(&b);
}

static void test_buf_detach_wipe(void **state)
{
	struct sr_buf b;
	char *out;
	size_t len = 99;

	(void)state;
	/* Empty buffer: a fresh empty string the caller frees. */
	sr_buf_init(&b, 7);
	out = sr_buf_detach(&b, &len);
	assert_non_null(out);
	assert_string_equal(out, "");
	assert_int_equal(len, 0);
	assert_true(out != b.data);
	sr_free(out);
	/* ... and NULL when that allocation fails. */
	sr_alloc_fail_at(1, 0);
	assert_null(sr_buf_detach(&b, &len));
	sr_alloc_fail_at(0, 0);

	assert_int_equal(sr_buf_addstr(&b, "hello"), SR_OK);
	out = sr_buf_detach(&b, NULL);
	assert_string_equal(out, "hello");
	/* The buffer is empty and usable again, with its cap. */
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 7);
	assert_string_equal(b.data, "");
	assert_int_equal(sr_buf_addstr(&b, "again"), SR_OK);
	assert_string_equal(b.data, "again");
	sr_free(out);

	sr_buf_wipe(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 7);
	assert_string_equal(b.data, "");
	sr_buf_wipe(&b);   /* wiping an empty buffer is fine */
	sr_buf_release(&b);
}

static void test_buf_le(void **state)
{
	static const unsigned char le32[] = { 0x04, 0x03, 0x02, 0x01 };
	static const unsigned char le64[] = { 0x08, 0x07, 0x06, 0x05,
					      0x04, 0x03, 0x02, 0x01 };
	unsigned char raw[8];
	struct sr_buf b;

	(void)state;
	sr_buf_init(&b, 0);
	assert_int_equal(sr_buf_add_u32le(&b, 0x01020304u), SR_OK);
	assert_int_equal(sr_buf_add_u64le(&b, 0x0102030405060708ull), SR_OK);
	assert_int_equal(sr_buf_add_u32le(&b, 0xffffffffu), SR_OK);
	assert_int_equal(sr_buf_add_u64le(&b, 0), SR_OK);
	assert_int_equal(b.len, 24);
	assert_memory_equal(b.data, le32, 4);
	assert_memory_equal(b.data + 4, le64, 8);
	assert_int_equal(sr_load_u32le(b.data), 0x01020304u);
	assert_true(sr_load_u64le(b.data + 4) == 0x0102030405060708ull);
	assert_int_equal(sr_load_u32le(b.data + 12), 0xffffffffu);
	assert_true(sr_load_u64le(b.data + 16) == 0);
	sr_store_u64le(raw, 0xfedcba9876543210ull);
	assert_int_equal(raw[0], 0x10);
	assert_int_equal(raw[7], 0xfe);
	assert_true(sr_load_u64le(raw) == 0xfedcba9876543210ull);
	sr_store_u32le(raw, 0x80000001u);
	assert_int_equal(raw[0], 0x01);
	assert_int_equal(raw[3], 0x80);
	sr_buf_release(&b);
}

/* ---- allocation wrapper ------------------------------------------------ */

static void test_alloc_fail_at(void **state)
{
	void *p[5];
	unsigned long before;

	(void)state;
	/* The third allocation from now fails, only that one. */
	sr_alloc_fail_at(3, 0);
	assert_false(sr_alloc_failed());
	p[0] = sr_malloc(8);
	p[1] = sr_calloc(2, 8);
	assert_non_null(p[0]);
	assert_non_null(p[1]);
	assert_false(sr_alloc_failed());
	assert_null(sr_realloc(p[0], 64));   /* p[0] is still valid */
	assert_true(sr_alloc_failed());
	p[2] = sr_malloc(8);
	p[3] = sr_strdup("abc");
	assert_non_null(p[2]);
	assert_non_null(p[3]);
	assert_string_equal(p[3], "abc");
	assert_true(sr_alloc_failed());   /* stays set until re-armed */
	for (int i = 0; i < 4; i++)
		sr_free(p[i]);

	/* Sticky: the n-th and every later one. */
	sr_alloc_fail_at(2, 1);
	assert_false(sr_alloc_failed());
	p[0] = sr_malloc(1);
	assert_non_null(p[0]);
	assert_null(sr_malloc(1));
	assert_null(sr_calloc(1, 1));
	assert_null(sr_realloc(NULL, 1));
	assert_null(sr_strdup("x"));
	assert_null(sr_strndup("xyz", 2));
	assert_true(sr_alloc_failed());
	sr_free(p[0]);

	/* Disarmed. */
	sr_alloc_fail_at(0, 0);
	assert_false(sr_alloc_failed());
	for (int i = 0; i < 5; i++) {
		p[i] = sr_malloc(16);
		assert_non_null(p[i]);
	}
	for (int i = 0; i < 5; i++)
		sr_free(p[i]);
	assert_false(sr_alloc_failed());

	/* Failures are counted per thread, injected or not. */
	before = sr_alloc_thread_failures();
	sr_alloc_fail_at(1, 0);
	assert_null(sr_malloc(1));
	assert_int_equal(sr_alloc_thread_failures(), before + 1);
	sr_alloc_fail_at(0, 0);
}

static void test_alloc_count(void **state)
{
	unsigned long n;
	void *p, *q;
	char *s;

	(void)state;
	sr_alloc_count_reset();
	assert_int_equal(sr_alloc_count(), 0);
	p = sr_malloc(0);      /* size 0 still gives a pointer to free */
	q = sr_calloc(0, 4);
	assert_non_null(p);
	assert_non_null(q);
	assert_int_equal(sr_alloc_count(), 2);
	p = sr_realloc(p, 100);
	assert_non_null(p);
	s = sr_strndup("abcdef", 3);
	assert_string_equal(s, "abc");
	n = sr_alloc_count();
	assert_int_equal(n, 4);
	sr_free(p);
	sr_free(q);
	sr_free(s);
	sr_free(NULL);
	assert_int_equal(sr_alloc_count(), n);   /* frees are not counted */
	/* Failing calls are counted too, so fail_at(k) walks every site. */
	sr_alloc_fail_at(1, 0);
	assert_null(sr_malloc(1));
	assert_int_equal(sr_alloc_count(), n + 1);
	/* Reset also disarms a pending failure. */
	sr_alloc_fail_at(2, 1);
	sr_alloc_count_reset();
	p = sr_malloc(1);
	q = sr_malloc(1);
	assert_non_null(p);
	assert_non_null(q);
	sr_free(p);
	sr_free(q);
	sr_alloc_fail_at(0, 0);
}

/* ---- files ------------------------------------------------------------- */

/* Number of entries of dir whose name contains part. */
static int count_entries(const char *dir, const char *part)
{
	DIR *d = opendir(dir);
	struct dirent *ent;
	int n = 0;

	assert_non_null(d);
	while ((ent = readdir(d)) != NULL)
		if (strstr(ent->d_name, part))
			n++;
	closedir(d);
	return n;
}

static void test_file_write_atomic(void **state)
{
	char *dir = sr_test_tmpdir();
	char path[512], nested[512], subdir[512], old_text[8] = { 0 };
	struct sr_buf b;
	struct sr_err err;
	struct stat st, st2;
	int old_fd;
	mode_t old_umask = umask(022);

	(void)state;
	sr_buf_init(&b, 0);
	sr_err_clear(&err);
	snprintf(path, sizeof(path), "%s/f.txt", dir);
	assert_int_equal(sr_file_write_atomic(path, "one", 3, 0600, &err), SR_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 3);
	assert_int_equal(sr_file_read_all(path, 0, &b, &err), SR_OK);
	assert_string_equal(b.data, "one");

	/* Replacing swaps in a new file: a reader holding the old one still
	 * reads the old content, never a half-written mix. */
	old_fd = open(path, O_RDONLY);
	assert_true(old_fd >= 0);
	assert_int_equal(sr_file_write_atomic(path, "two!", 4, 0640, &err), SR_OK);
	assert_int_equal(stat(path, &st2), 0);
	assert_true(st2.st_ino != st.st_ino);
	assert_int_equal(st2.st_mode & 0777, 0640);
	assert_int_equal(read(old_fd, old_text, sizeof(old_text) - 1), 3);
	assert_string_equal(old_text, "one");
	close(old_fd);
	sr_buf_reset(&b);
	assert_int_equal(sr_file_read_all(path, 0, &b, &err), SR_OK);
	assert_string_equal(b.data, "two!");
	assert_int_equal(count_entries(dir, ".tmp-"), 0);

	/* Empty content. */
	snprintf(nested, sizeof(nested), "%s/empty", dir);
	assert_int_equal(sr_file_write_atomic(nested, "", 0, 0600, &err), SR_OK);
	assert_int_equal(stat(nested, &st), 0);
	assert_int_equal(st.st_size, 0);

	/* Failure: the directory does not exist. */
	snprintf(nested, sizeof(nested), "%s/missing/f.txt", dir);
	assert_int_equal(sr_file_write_atomic(nested, "x", 1, 0600, &err), SR_EIO);
	assert_non_null(strstr(err.msg, "missing/f.txt"));
	assert_false(sr_path_exists(nested));

	/* Failure at the rename (the target is a non-empty directory): the
	 * target is untouched and the temp file is gone. */
	sr_err_clear(&err);
	snprintf(subdir, sizeof(subdir), "%s/sub", dir);
	assert_int_equal(mkdir(subdir, 0700), 0);
	snprintf(nested, sizeof(nested), "%s/sub/inner", dir);
	sr_test_write_file(nested, "in", 2);
	assert_int_equal(sr_file_write_atomic(subdir, "x", 1, 0600, &err), SR_EIO);
	assert_non_null(strstr(err.msg, "rename failed"));
	assert_int_equal(stat(subdir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(count_entries(dir, ".tmp-"), 0);

	/* Failure before anything is written (out of memory): the original
	 * stays. */
	sr_err_clear(&err);
	sr_alloc_fail_at(1, 1);
	assert_int_equal(sr_file_write_atomic(path, "three", 5, 0600, &err), SR_ENOMEM);
	sr_alloc_fail_at(0, 0);
	sr_buf_reset(&b);
	assert_int_equal(sr_file_read_all(path, 0, &b, &err), SR_OK);
	assert_string_equal(b.data, "two!");
	assert_int_equal(count_entries(dir, ".tmp-"), 0);

	sr_buf_release(&b);
	sr_test_tmpdir_free(dir);
	umask(old_umask);
}

static void test_file_read_all(void **state)
{
	char *dir = sr_test_tmpdir();
	char path[512], missing[512];
	struct sr_buf b;
	struct sr_err err;
	char *big;
	size_t big_len = 200000;

	(void)state;
	sr_err_clear(&err);
	sr_buf_init(&b, 0);
	snprintf(path, sizeof(path), "%s/data", dir);
	big = malloc(big_len);
	assert_non_null(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)(i * 7);
	sr_test_write_file(path, big, big_len);

	/* Appends to what is there; bigger than the read block. */
	assert_int_equal(sr_buf_addstr(&b, "head"), SR_OK);
	assert_int_equal(sr_file_read_all(path, 0, &b, &err), SR_OK);
	assert_int_equal(b.len, 4 + big_len);
	assert_memory_equal(b.data, "head", 4);
	assert_memory_equal(b.data + 4, big, big_len);
	assert_int_equal(b.data[b.len], '\0');

	/* Exactly at the limit is fine; one byte over is not. */
	sr_buf_reset(&b);
	assert_int_equal(sr_file_read_all(path, big_len, &b, &err), SR_OK);
	sr_buf_reset(&b);
	assert_int_equal(sr_file_read_all(path, big_len - 1, &b, &err), SR_ELIMIT);
	assert_non_null(strstr(err.msg, "larger than the limit of 199999 bytes"));
	assert_non_null(strstr(err.msg, path));

	/* The buffer's own cap applies too. */
	sr_err_clear(&err);
	sr_buf_release(&b);
	sr_buf_init(&b, 100);
	assert_int_equal(sr_file_read_all(path, 0, &b, &err), SR_ELIMIT);
	sr_buf_release(&b);
	sr_buf_init(&b, 0);

	/* Missing file. */
	sr_err_clear(&err);
	snprintf(missing, sizeof(missing), "%s/nope", dir);
	assert_int_equal(sr_file_read_all(missing, 0, &b, &err), SR_ENOTFOUND);
	assert_non_null(strstr(err.msg, "nope"));
	assert_int_equal(b.len, 0);

	/* Empty file. */
	sr_err_clear(&err);
	sr_test_write_file(path, "", 0);
	assert_int_equal(sr_file_read_all(path, 1, &b, &err), SR_OK);
	assert_int_equal(b.len, 0);

	free(big);
	sr_buf_release(&b);
	sr_test_tmpdir_free(dir);
}

static void test_file_dirs(void **state)
{
	char *dir = sr_test_tmpdir();
	char path[512], file[512], outside[512], link[512];
	struct sr_buf b;
	struct sr_err err;
	struct stat st;
	int fds[2];
	char got[16] = { 0 };
	void (*old_pipe)(int);

	(void)state;
	sr_err_clear(&err);
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	assert_int_equal(sr_mkdir_p(path, 0700, &err), SR_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(sr_mkdir_p(path, 0700, &err), SR_OK);   /* exists: fine */
	snprintf(path, sizeof(path), "%s/a/b/c/", dir);            /* trailing slash */
	assert_int_equal(sr_mkdir_p(path, 0700, &err), SR_OK);

	/* A file in the way. */
	snprintf(file, sizeof(file), "%s/a/file", dir);
	sr_test_write_file(file, "x", 1);
	snprintf(path, sizeof(path), "%s/a/file/d", dir);
	assert_int_equal(sr_mkdir_p(path, 0700, &err), SR_EIO);
	assert_non_null(strstr(err.msg, "cannot create directory"));
	sr_err_clear(&err);

	/* rm -rf removes the tree but does not follow symbolic links. */
	snprintf(outside, sizeof(outside), "%s/outside", dir);
	assert_int_equal(mkdir(outside, 0700), 0);
	snprintf(file, sizeof(file), "%s/outside/keep", dir);
	sr_test_write_file(file, "k", 1);
	snprintf(link, sizeof(link), "%s/a/b/link", dir);
	assert_int_equal(symlink(outside, link), 0);
	snprintf(path, sizeof(path), "%s/a", dir);
	assert_int_equal(sr_rm_rf(path, &err), SR_OK);
	assert_false(sr_path_exists(path));
	assert_true(sr_path_exists(file));
	assert_int_equal(sr_rm_rf(path, &err), SR_OK);   /* missing: fine */
	assert_int_equal(sr_rm_rf(file, &err), SR_OK);   /* a plain file */
	assert_false(sr_path_exists(file));
	assert_true(sr_path_exists(outside));

	/* Path helpers. */
	sr_buf_init(&b, 0);
	assert_int_equal(sr_buf_addstr(&b, "old"), SR_OK);
	assert_int_equal(sr_path_join(&b, "/x/y", "z.txt"), SR_OK);
	assert_string_equal(b.data, "/x/y/z.txt");
	sr_buf_release(&b);

	/* sr_write_all to a pipe, then to one nobody reads. */
	old_pipe = signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(sr_write_all(fds[1], "payload", 7, "pipe", &err), SR_OK);
	assert_int_equal(read(fds[0], got, sizeof(got) - 1), 7);
	assert_string_equal(got, "payload");
	close(fds[0]);
	assert_int_equal(sr_write_all(fds[1], "x", 1, "closed pipe", &err), SR_EIO);
	assert_non_null(strstr(err.msg, "closed pipe: write failed"));
	close(fds[1]);
	signal(SIGPIPE, old_pipe);
	sr_err_clear(&err);
	assert_int_equal(sr_dir_fsync(dir, &err), SR_OK);
	assert_int_equal(sr_dir_fsync(outside, &err), SR_OK);
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(sr_dir_fsync(path, &err), SR_EIO);
	sr_test_tmpdir_free(dir);
}

/* ---- JSON -------------------------------------------------------------- */

static int parse(const char *text, json_t **out, struct sr_err *err)
{
	sr_err_clear(err);
	return sr_json_parse(text, strlen(text), "doc.json", out, err);
}

static void test_json_parse(void **state)
{
	struct sr_err err;
	json_t *v;
	char deep[2 * (SR_JSON_DEPTH_MAX + 1) + 1];
	char objs[16 * (SR_JSON_DEPTH_MAX + 1)];
	size_t n = 0;

	(void)state;
	assert_int_equal(parse("{\"a\": [1, 2, {\"b\": null}]}", &v, &err), SR_OK);
	assert_non_null(v);
	assert_int_equal(sr_json_depth(v), 4);
	assert_int_equal(sr_json_depth(json_object_get(v, "a")), 3);
	json_decref(v);

	/* Duplicate keys, at any level. */
	assert_int_equal(parse("{\"a\":1,\"a\":2}", &v, &err), SR_EINVAL);
	assert_null(v);
	assert_non_null(strstr(err.msg, "doc.json: line 1"));
	assert_non_null(strstr(err.msg, "duplicate"));
	assert_int_equal(parse("{\"x\": {\"k\": 1, \"k\": 1}}", &v, &err), SR_EINVAL);

	/* Syntax errors name the source, line and column. */
	assert_int_equal(parse("{\n  \"a\": tru\n}", &v, &err), SR_EINVAL);
	assert_null(v);
	assert_int_equal(strncmp(err.msg, "doc.json: line 2 column ", 24), 0);
	assert_int_equal(parse("", &v, &err), SR_EINVAL);
	assert_int_equal(parse("[1,]", &v, &err), SR_EINVAL);
	assert_int_equal(parse("{} x", &v, &err), SR_EINVAL);
	assert_int_equal(strncmp(err.msg, "doc.json: line 1 column ", 24), 0);
	/* Invalid UTF-8. */
	assert_int_equal(parse("[\"\xc0\xaf\"]", &v, &err), SR_EINVAL);
	assert_int_equal(parse("[\"\xed\xa0\x80\"]", &v, &err), SR_EINVAL);

	/* Depth: SR_JSON_DEPTH_MAX is allowed, one more is not. */
	memset(deep, '[', SR_JSON_DEPTH_MAX + 1);
	memset(deep + SR_JSON_DEPTH_MAX + 1, ']', SR_JSON_DEPTH_MAX + 1);
	deep[2 * (SR_JSON_DEPTH_MAX + 1)] = '\0';
	assert_int_equal(parse(deep, &v, &err), SR_ELIMIT);
	assert_null(v);
	assert_non_null(strstr(err.msg, "doc.json: nesting deeper than the limit of 32"));
	assert_int_equal(parse(deep + 1, &v, &err), SR_EINVAL);   /* unbalanced */
	sr_err_clear(&err);
	assert_int_equal(sr_json_parse(deep + 1, 2 * SR_JSON_DEPTH_MAX, "ok", &v, &err),
			 SR_OK);
	assert_int_equal(sr_json_depth(v), SR_JSON_DEPTH_MAX);
	json_decref(v);
	/* Objects count too. */
	for (int i = 0; i <= SR_JSON_DEPTH_MAX; i++)
		n += (size_t)snprintf(objs + n, sizeof(objs) - n, "{\"k\":");
	n += (size_t)snprintf(objs + n, sizeof(objs) - n, "1");
	for (int i = 0; i <= SR_JSON_DEPTH_MAX; i++)
		objs[n++] = '}';
	objs[n] = '\0';
	assert_int_equal(parse(objs, &v, &err), SR_ELIMIT);
}

static void test_json_keys_and_getters(void **state)
{
	static const char *const allowed[] = { "name", "rows", "ok", "nested", NULL };
	static const char *const only_name[] = { "name", NULL };
	static const char doc[] =
		"{\"name\": \"sales\", \"rows\": 12, \"ok\": true, \"nested\": {\"x\": 1}}";
	struct sr_err err;
	json_t *v;
	const char *s = "untouched";
	int64_t i = -5;
	int flag = 7;

	(void)state;
	assert_int_equal(parse(doc, &v, &err), SR_OK);
	assert_int_equal(sr_json_check_keys(v, "policy", allowed, &err), SR_OK);
	assert_int_equal(sr_json_check_keys(v, "policy", only_name, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "policy."));
	assert_non_null(strstr(err.msg, ": unknown key"));
	sr_err_clear(&err);
	assert_int_equal(sr_json_check_keys(json_object_get(v, "nested"), "", only_name,
					    &err), SR_EINVAL);
	assert_string_equal(err.msg, "x: unknown key");

	/* Present and of the right type. */
	sr_err_clear(&err);
	assert_int_equal(sr_json_get_string(v, "policy", "name", 1, &s, &err), SR_OK);
	assert_string_equal(s, "sales");
	assert_int_equal(sr_json_get_int(v, "policy", "rows", 1, &i, &err), SR_OK);
	assert_int_equal(i, 12);
	assert_int_equal(sr_json_get_bool(v, "policy", "ok", 1, &flag, &err), SR_OK);
	assert_int_equal(flag, 1);

	/* Missing: required fails naming path.key, optional leaves *out. */
	assert_int_equal(sr_json_get_string(v, "policy", "owner", 1, &s, &err), SR_EINVAL);
	assert_string_equal(err.msg, "policy.owner: required key is missing");
	sr_err_clear(&err);
	assert_int_equal(sr_json_get_int(v, "", "limit", 1, &i, &err), SR_EINVAL);
	assert_string_equal(err.msg, "limit: required key is missing");
	sr_err_clear(&err);
	s = "untouched";
	i = -5;
	flag = 7;
	assert_int_equal(sr_json_get_string(v, "policy", "owner", 0, &s, &err), SR_OK);
	assert_int_equal(sr_json_get_int(v, "policy", "limit", 0, &i, &err), SR_OK);
	assert_int_equal(sr_json_get_bool(v, "policy", "flag", 0, &flag, &err), SR_OK);
	assert_string_equal(s, "untouched");
	assert_int_equal(i, -5);
	assert_int_equal(flag, 7);
	assert_int_equal(err.code, SR_OK);

	/* Wrong type fails, required or not, naming path.key. */
	assert_int_equal(sr_json_get_int(v, "policy", "name", 0, &i, &err), SR_EINVAL);
	assert_string_equal(err.msg, "policy.name: expected an integer");
	sr_err_clear(&err);
	assert_int_equal(sr_json_get_string(v, "policy", "rows", 1, &s, &err), SR_EINVAL);
	assert_string_equal(err.msg, "policy.rows: expected a string");
	sr_err_clear(&err);
	assert_int_equal(sr_json_get_bool(json_object_get(v, "nested"), "policy.nested",
					  "x", 0, &flag, &err), SR_EINVAL);
	assert_string_equal(err.msg, "policy.nested.x: expected true or false");
	sr_err_clear(&err);
	assert_int_equal(sr_json_get_bool(v, "policy", "rows", 1, &flag, &err), SR_EINVAL);
	assert_string_equal(err.msg, "policy.rows: expected true or false");
	assert_string_equal(s, "untouched");
	assert_int_equal(i, -5);
	assert_int_equal(flag, 7);
	json_decref(v);

	/* A real is not an integer. */
	assert_int_equal(parse("{\"n\": 1.5}", &v, &err), SR_OK);
	assert_int_equal(sr_json_get_int(v, "p", "n", 1, &i, &err), SR_EINVAL);
	assert_string_equal(err.msg, "p.n: expected an integer");
	json_decref(v);
}

/* ---- sr_json_dump against jansson's own compact writer ---- */

static uint64_t rnd_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	/* xorshift64*: a fixed sequence, so a failure reproduces */
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 2685821657736338717u;
}

/* Text drawn from pieces that stress the escaper: ASCII, each control
 * byte, quote, backslash, slash, DEL, 2-, 3- and 4-byte UTF-8, NUL. */
static size_t rnd_text(char *out, size_t cap)
{
	static const char *const pieces[] = {
		"a", "Z", " ", "\"", "\\", "/", "\x7f", "\xc3\xa9", "\xe2\x82\xac",
		"\xf0\x9f\x98\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "key", "0",
	};
	size_t len = 0, n = rnd() % 12;

	for (size_t i = 0; i < n; i++) {
		char ctl[2] = { (char)(rnd() % 32), 0 };
		const char *p = rnd() % 5 == 0 ? ctl : pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))];
		size_t pl = ctl[0] == 0 && p == ctl ? 1 : strlen(p);
		if (len + pl >= cap)
			break;
		memcpy(out + len, p, pl);
		len += pl;
	}
	return len;
}

static json_t *rnd_value(int depth)
{
	static const double reals[] = { 0.0, -0.0, 1.0, -1.5, 0.1, 1e-5, 1e20, 1e300,
					 -2.2250738585072014e-308, 123456789.125, 3.0e-320,
					 1.7976931348623157e308, 5e-324, 100.0, 1e16 };
	char text[64];
	size_t len;
	json_t *v;

	switch (depth > 4 ? rnd() % 6 : rnd() % 8) {
	case 0: return json_null();
	case 1: return json_boolean(rnd() % 2);
	case 2: {
		int64_t picks[] = { 0, -1, INT64_MIN, INT64_MAX, (int64_t)(rnd() % 100000) };
		return json_integer(picks[rnd() % 5]);
	}
	case 3:
		return json_real(rnd() % 2 ? reals[rnd() % (sizeof(reals) / sizeof(reals[0]))] :
				 (double)(int64_t)rnd() / (double)(rnd() | 1));
	case 4:
	case 5:
		len = rnd_text(text, sizeof(text));
		return json_stringn(text, len);
	case 6:
		v = json_array();
		for (size_t n = rnd() % 6; n > 0; n--)
			json_array_append_new(v, rnd_value(depth + 1));
		return v;
	default:
		v = json_object();
		for (size_t n = rnd() % 6; n > 0; n--) {
			len = rnd_text(text, sizeof(text));
			json_object_setn_new(v, text, len, rnd_value(depth + 1));
		}
		return v;
	}
}

static int jansson_cb(const char *buffer, size_t size, void *data)
{
	return sr_buf_add(data, buffer, size) == SR_OK ? 0 : -1;
}

static void test_json_dump_is_janssons(void **state)
{
	struct sr_buf ours, theirs;
	json_t *v;

	(void)state;
	sr_buf_init(&ours, 0);
	sr_buf_init(&theirs, 0);
	for (int i = 0; i < 5000; i++) {
		v = rnd_value(0);
		assert_non_null(v);
		sr_buf_reset(&ours);
		sr_buf_reset(&theirs);
		assert_int_equal(sr_json_dump(v, 0, &ours), SR_OK);
		assert_int_equal(json_dump_callback(v, jansson_cb, &theirs, JSON_COMPACT |
						    JSON_SORT_KEYS | JSON_ENCODE_ANY), 0);
		if (ours.len != theirs.len || memcmp(ours.data, theirs.data, ours.len) != 0)
			fail_msg("document %d:\n ours   %s\n theirs %s", i, ours.data, theirs.data);
		json_decref(v);
	}
	/* Keys that are prefixes of one another, and embedded NULs. */
	v = json_object();
	json_object_setn_new(v, "ab", 2, json_integer(1));
	json_object_setn_new(v, "a", 1, json_integer(2));
	json_object_setn_new(v, "a\0b", 3, json_integer(3));
	json_object_setn_new(v, "", 0, json_integer(4));
	sr_buf_reset(&ours);
	assert_int_equal(sr_json_dump(v, 0, &ours), SR_OK);
	assert_string_equal(ours.data, "{\"\":4,\"a\":2,\"a\\u0000b\":3,\"ab\":1}");
	json_decref(v);
	/* Invalid UTF-8 (only json_stringn_nocheck makes it) fails, as in
	 * jansson, and leaves the buffer as it was. */
	{
		static const char *const bad[] = { "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
						   "\x80", "\xe2\x82", "ok\xff" };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			v = json_pack("[s,o]", "x", json_stringn_nocheck(bad[i], strlen(bad[i])));
			sr_buf_reset(&ours);
			assert_int_equal(sr_buf_addstr(&ours, "keep"), SR_OK);
			assert_int_equal(sr_json_dump(v, 0, &ours), SR_ENOMEM);
			assert_string_equal(ours.data, "keep");
			sr_buf_reset(&theirs);
			assert_int_not_equal(json_dump_callback(v, jansson_cb, &theirs,
								JSON_COMPACT | JSON_ENCODE_ANY), 0);
			json_decref(v);
		}
	}
	/* A buffer at its cap fails without writing past it. */
	{
		struct sr_buf small;
		v = json_pack("{s:[i,i,i]}", "abc", 1, 2, 3);
		sr_buf_init(&small, 8);
		assert_int_not_equal(sr_json_dump(v, 0, &small), SR_OK);
		assert_true(small.len <= 8);
		sr_buf_release(&small);
		json_decref(v);
	}
	sr_buf_release(&ours);
	sr_buf_release(&theirs);
}

static void test_json_canonical(void **state)
{
	struct sr_buf b;
	struct sr_err err;
	json_t *v;

	(void)state;
	sr_buf_init(&b, 0);
	assert_int_equal(parse("{ \"b\" : 1,\n \"a\" : { \"z\": [true, null, \"s\"], \"y\": -3 },"
			       " \"A\": \"\\u00e9\" }", &v, &err), SR_OK);
	assert_int_equal(sr_json_canonical(v, &b, &err), SR_OK);
	assert_string_equal(b.data,
			    "{\"A\":\"\xc3\xa9\",\"a\":{\"y\":-3,\"z\":[true,null,\"s\"]},\"b\":1}");
	/* Appends, and the same document always gives the same bytes. */
	assert_int_equal(sr_json_canonical(v, &b, &err), SR_OK);
	assert_int_equal(b.len % 2, 0);
	assert_memory_equal(b.data, b.data + b.len / 2, b.len / 2);
	json_decref(v);

	/* Reals are refused anywhere in the document. */
	sr_buf_reset(&b);
	assert_int_equal(parse("{\"a\": [1, {\"b\": 0.5}]}", &v, &err), SR_OK);
	assert_int_equal(sr_json_canonical(v, &b, &err), SR_EINVAL);
	assert_non_null(strstr(err.msg, "real numbers are not allowed"));
	json_decref(v);
	assert_int_equal(parse("[1.0]", &v, &err), SR_OK);
	assert_int_equal(sr_json_canonical(v, &b, &err), SR_EINVAL);
	json_decref(v);

	/* Pretty dump: sorted, indented. */
	sr_buf_reset(&b);
	assert_int_equal(parse("{\"b\":1,\"a\":2}", &v, &err), SR_OK);
	assert_int_equal(sr_json_dump(v, 1, &b), SR_OK);
	assert_string_equal(b.data, "{\n  \"a\": 2,\n  \"b\": 1\n}");
	json_decref(v);
	sr_buf_release(&b);
}

/* ---- thread pool ------------------------------------------------------- */

static atomic_long pool_sum;
static atomic_int pool_failures;

static int add_task(void *arg, struct sr_err *err)
{
	long v = (long)(intptr_t)arg;

	if (v < 0) {
		atomic_fetch_add(&pool_failures, 1);
		return sr_fail(err, v == -1 ? SR_EIO : SR_EINVAL, "task %ld failed", v);
	}
	atomic_fetch_add(&pool_sum, v);
	return SR_OK;
}

static void test_pool_groups(void **state)
{
	struct sr_pool *pool;
	struct sr_pool_group group, other;
	struct sr_err err;

	(void)state;
	assert_int_equal(sr_pool_new(4, &pool), SR_OK);
	assert_int_equal(sr_pool_threads(pool), 4);
	assert_int_equal(sr_pool_threads(NULL), 0);
	assert_true(sr_cpu_count() >= 1);

	/* Many tasks, all run before wait returns. */
	sr_pool_group_init(&group);
	atomic_store(&pool_sum, 0);
	for (long i = 1; i <= 20000; i++)
		assert_int_equal(sr_pool_submit(pool, &group, add_task,
						(void *)(intptr_t)i), SR_OK);
	sr_err_clear(&err);
	assert_int_equal(sr_pool_group_wait(&group, &err), SR_OK);
	assert_int_equal(atomic_load(&pool_sum), 20000L * 20001 / 2);
	assert_int_equal(err.code, SR_OK);
	/* Waiting on a finished group returns at once. */
	assert_int_equal(sr_pool_group_wait(&group, &err), SR_OK);
	sr_pool_group_release(&group);

	/* A failure among many: reported with its message, and every other
	 * task still ran. */
	sr_pool_group_init(&group);
	atomic_store(&pool_sum, 0);
	atomic_store(&pool_failures, 0);
	for (long i = 1; i <= 1000; i++)
		assert_int_equal(sr_pool_submit(pool, &group, add_task,
			(void *)(intptr_t)(i == 500 ? -1 : i)), SR_OK);
	assert_int_equal(sr_pool_group_wait(&group, &err), SR_EIO);
	assert_int_equal(err.code, SR_EIO);
	assert_string_equal(err.msg, "task -1 failed");
	assert_int_equal(atomic_load(&pool_sum), 1000L * 1001 / 2 - 500);
	assert_int_equal(atomic_load(&pool_failures), 1);
	sr_pool_group_release(&group);

	/* Several failures: one of them is reported, the first to finish. */
	sr_pool_group_init(&group);
	sr_err_clear(&err);
	for (long i = 1; i <= 100; i++)
		assert_int_equal(sr_pool_submit(pool, &group, add_task,
			(void *)(intptr_t)(i % 10 == 0 ? -2 : i)), SR_OK);
	assert_int_equal(sr_pool_group_wait(&group, &err), SR_EINVAL);
	assert_string_equal(err.msg, "task -2 failed");
	sr_pool_group_release(&group);

	/* Two groups on one pool do not mix. */
	sr_pool_group_init(&group);
	sr_pool_group_init(&other);
	assert_int_equal(sr_pool_submit(pool, &group, add_task, (void *)(intptr_t)-1),
			 SR_OK);
	assert_int_equal(sr_pool_submit(pool, &other, add_task, (void *)(intptr_t)1),
			 SR_OK);
	sr_err_clear(&err);
	assert_int_equal(sr_pool_group_wait(&other, &err), SR_OK);
	assert_int_equal(sr_pool_group_wait(&group, &err), SR_EIO);
	sr_pool_group_release(&group);
	sr_pool_group_release(&other);

	/* Out of memory at submit: not queued, not run, group not stuck. */
	sr_pool_group_init(&group);
	atomic_store(&pool_sum, 0);
	sr_alloc_fail_at(1, 0);
	assert_int_equal(sr_pool_submit(pool, &group, add_task, (void *)(intptr_t)5),
			 SR_ENOMEM);
	sr_alloc_fail_at(0, 0);
	assert_int_equal(sr_pool_group_wait(&group, NULL), SR_OK);
	assert_int_equal(atomic_load(&pool_sum), 0);
	sr_pool_group_release(&group);

	/* Freeing waits for queued tasks. */
	sr_pool_group_init(&group);
	atomic_store(&pool_sum, 0);
	for (long i = 1; i <= 100; i++)
		assert_int_equal(sr_pool_submit(pool, &group, add_task,
						(void *)(intptr_t)i), SR_OK);
	sr_pool_free(pool);
	assert_int_equal(atomic_load(&pool_sum), 5050);
	assert_int_equal(sr_pool_group_wait(&group, NULL), SR_OK);
	sr_pool_group_release(&group);
	sr_pool_free(NULL);
}

struct inline_probe {
	pthread_t submitter;
	int ran;
	int same_thread;
};

static int probe_task(void *arg, struct sr_err *err)
{
	struct inline_probe *p = arg;

	p->ran++;
	p->same_thread = pthread_equal(p->submitter, pthread_self());
	return p->ran == 2 ? sr_fail(err, SR_EPERM, "second run refused") : SR_OK;
}

static void test_pool_inline(void **state)
{
	struct sr_pool_group group;
	struct inline_probe probe = { pthread_self(), 0, 0 };
	struct sr_err err;

	(void)state;
	/* Without worker threads a task runs inside sr_pool_submit(), on the
	 * caller's thread, and its failure still reaches the group. */
	sr_pool_group_init(&group);
	assert_int_equal(sr_pool_submit(NULL, &group, probe_task, &probe), SR_OK);
	assert_int_equal(probe.ran, 1);
	assert_true(probe.same_thread);
	assert_int_equal(sr_pool_submit(NULL, &group, probe_task, &probe), SR_OK);
	assert_int_equal(probe.ran, 2);
	sr_err_clear(&err);
	assert_int_equal(sr_pool_group_wait(&group, &err), SR_EPERM);
	assert_string_equal(err.msg, "second run refused");
	sr_pool_group_release(&group);
}

struct for_ctx {
	atomic_int *visits;
	long *values;
	size_t fail_every;   /* 0 = never */
	size_t fail_from;
};

static int for_body(void *arg, size_t i, struct sr_err *err)
{
	struct for_ctx *ctx = arg;

	atomic_fetch_add(&ctx->visits[i], 1);
	if (ctx->fail_every && i >= ctx->fail_from && i % ctx->fail_every == 0)
		return sr_fail(err, SR_EINVAL, "index %zu failed", i);
	ctx->values[i] = (long)i * 3;
	return SR_OK;
}

static void test_pool_run(void **state)
{
	enum { COUNT = 10000 };
	struct sr_pool *pool;
	struct for_ctx ctx;
	struct sr_err err;
	long total = 0;

	(void)state;
	ctx.visits = calloc(COUNT, sizeof(*ctx.visits));
	ctx.values = calloc(COUNT, sizeof(*ctx.values));
	assert_non_null(ctx.visits);
	assert_non_null(ctx.values);
	ctx.fail_every = 0;
	ctx.fail_from = 0;
	assert_int_equal(sr_pool_new(3, &pool), SR_OK);

	sr_err_clear(&err);
	assert_int_equal(sr_pool_run(pool, COUNT, for_body, &ctx, &err), SR_OK);
	for (size_t i = 0; i < COUNT; i++) {
		assert_int_equal(atomic_load(&ctx.visits[i]), 1);
		total += ctx.values[i];
	}
	assert_int_equal(total, 3L * COUNT * (COUNT - 1) / 2);

	/* Zero iterations, and serial runs without a pool. */
	assert_int_equal(sr_pool_run(pool, 0, for_body, &ctx, &err), SR_OK);
	memset(ctx.values, 0, COUNT * sizeof(*ctx.values));
	assert_int_equal(sr_pool_run(NULL, COUNT, for_body, &ctx, &err), SR_OK);
	assert_int_equal(ctx.values[COUNT - 1], 3L * (COUNT - 1));
	assert_int_equal(atomic_load(&ctx.visits[0]), 2);

	/* Many failing indices: the lowest is reported whatever the timing,
	 * and the other indices still run. */
	ctx.fail_every = 997;
	ctx.fail_from = 1;
	for (int round = 0; round < 50; round++) {
		sr_err_clear(&err);
		assert_int_equal(sr_pool_run(pool, COUNT, for_body, &ctx, &err), SR_EINVAL);
		assert_int_equal(err.code, SR_EINVAL);
		assert_string_equal(err.msg, "index 997 failed");
	}
	/* Only the last index fails. */
	ctx.fail_every = COUNT - 1;
	ctx.fail_from = COUNT - 1;
	sr_err_clear(&err);
	assert_int_equal(sr_pool_run(pool, COUNT, for_body, &ctx, &err), SR_EINVAL);
	assert_string_equal(err.msg, "index 9999 failed");
	/* Serial runs report the same index. */
	ctx.fail_every = 997;
	ctx.fail_from = 1;
	sr_err_clear(&err);
	assert_int_equal(sr_pool_run(NULL, COUNT, for_body, &ctx, &err), SR_EINVAL);
	assert_string_equal(err.msg, "index 997 failed");
	/* err may be NULL. */
	assert_int_equal(sr_pool_run(pool, COUNT, for_body, &ctx, NULL), SR_EINVAL);

	sr_pool_free(pool);
	free(ctx.visits);
	free(ctx.values);
}

/* ---- values ------------------------------------------------------------ */

static int p_int(const char *s, int64_t *out)
{
	return sr_value_parse_int64(s, strlen(s), out);
}

static int p_float(const char *s, double *out)
{
	return sr_value_parse_float64(s, strlen(s), out);
}

static void test_value_int64(void **state)
{
	static const char *const bad[] = {
		"", "+", "-", " 1", "1 ", "1.0", "1e3", "0x10", "--1", "+-1",
		"9223372036854775808", "-9223372036854775809",
		"99999999999999999999", "18446744073709551616",
		"00000000000000000001",   /* more than 19 digits */
		"1_000", "١", "12a", "a12",
	};
	int64_t v = 0;

	(void)state;
	assert_int_equal(p_int("9223372036854775807", &v), SR_OK);
	assert_true(v == INT64_MAX);
	assert_int_equal(p_int("-9223372036854775808", &v), SR_OK);
	assert_true(v == INT64_MIN);
	assert_int_equal(p_int("+9223372036854775807", &v), SR_OK);
	assert_true(v == INT64_MAX);
	assert_int_equal(p_int("0", &v), SR_OK);
	assert_int_equal(v, 0);
	assert_int_equal(p_int("-0", &v), SR_OK);
	assert_int_equal(v, 0);
	assert_int_equal(p_int("+5", &v), SR_OK);
	assert_int_equal(v, 5);
	assert_int_equal(p_int("-42", &v), SR_OK);
	assert_true(v == -42);
	assert_int_equal(p_int("007", &v), SR_OK);
	assert_int_equal(v, 7);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = 12345;
		if (p_int(bad[i], &v) != SR_EINVAL)
			fail_msg("int64 \"%s\" should be rejected", bad[i]);
		assert_int_equal(v, 12345);   /* untouched on failure */
	}
	/* The length bounds the value: no NUL needed, none read past. */
	assert_int_equal(sr_value_parse_int64("123456", 3, &v), SR_OK);
	assert_int_equal(v, 123);
}

static void test_value_float64(void **state)
{
	static const struct {
		const char *text;
		double v;
	} good[] = {
		{ "1e-6", 1e-6 }, { "-0.5", -0.5 }, { "0", 0 }, { "3", 3 },
		{ "+1.25", 1.25 }, { ".5", 0.5 }, { "5.", 5 }, { "1.5e+3", 1500 },
		{ "1E2", 100 }, { "2.5e-3", 0.0025 }, { "123456789.125", 123456789.125 },
		{ "0.1", 0.1 }, { "1e308", 1e308 }, { "4.9e-324", 4.9e-324 },
		{ "1e-400", 0 },   /* underflow to zero is finite */
		{ "12345678901234567890", 12345678901234567890.0 },
		{ "0.000000000000000000000000001", 1e-27 },
	};
	static const char *const bad[] = {
		"", " 1", "1 ", "inf", "-inf", "Infinity", "nan", "NaN", "0x10",
		"0x1p3", "1e999", "-1e999", ".", "-", "+", "e5", "1e", "1e+",
		"1,5", "1.2.3", "--1", "1..2", "١",
	};
	double v;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		v = -123;
		if (p_float(good[i].text, &v) != SR_OK)
			fail_msg("float64 \"%s\" should parse", good[i].text);
		if (v != good[i].v)
			fail_msg("float64 \"%s\" parsed as %.17g", good[i].text, v);
	}
	assert_int_equal(p_float("-0.0", &v), SR_OK);
	assert_true(v == 0 && signbit(v));
	assert_int_equal(p_float("-0", &v), SR_OK);
	assert_true(v == 0 && signbit(v));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = -123;
		if (p_float(bad[i], &v) != SR_EINVAL)
			fail_msg("float64 \"%s\" should be rejected", bad[i]);
		assert_true(v == -123);
	}
	assert_int_equal(sr_value_parse_float64("2.5xyz", 3, &v), SR_OK);
	assert_true(v == 2.5);
}

static void test_value_bool_type(void **state)
{
	static const char *const yes[] = { "true", "TRUE", "True", "tRuE" };
	static const char *const no[] = { "false", "FALSE", "False" };
	static const char *const bad[] = {
		"", "1", "0", "t", "f", "yes", "no", " true", "true ", "truee", "fals",
	};
	enum sr_type t;
	int b;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		b = 5;
		assert_int_equal(sr_value_parse_bool(yes[i], strlen(yes[i]), &b), SR_OK);
		assert_int_equal(b, 1);
	}
	for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
		b = 5;
		assert_int_equal(sr_value_parse_bool(no[i], strlen(no[i]), &b), SR_OK);
		assert_int_equal(b, 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (sr_value_parse_bool(bad[i], strlen(bad[i]), &b) != SR_EINVAL)
			fail_msg("bool \"%s\" should be rejected", bad[i]);

	for (int k = SR_TYPE_INT64; k <= SR_TYPE_DATE; k++) {
		assert_int_equal(sr_type_parse(sr_type_name((enum sr_type)k), &t), SR_OK);
		assert_int_equal(t, k);
	}
	assert_string_equal(sr_type_name(SR_TYPE_FLOAT64), "float64");
	assert_string_equal(sr_type_name((enum sr_type)0), "unknown");
	assert_string_equal(sr_type_name((enum sr_type)99), "unknown");
	assert_int_equal(sr_type_parse("double", &t), SR_EINVAL);
	assert_int_equal(sr_type_parse("INT64", &t), SR_EINVAL);
	assert_int_equal(sr_type_parse("", &t), SR_EINVAL);

	{
		struct sr_buf out;
		sr_buf_init(&out, 0);
		assert_int_equal(sr_value_format_bool(&out, 1), SR_OK);
		assert_int_equal(sr_value_format_bool(&out, 0), SR_OK);
		assert_int_equal(sr_value_format_int64(&out, INT64_MIN), SR_OK);
		assert_string_equal(out.data, "truefalse-9223372036854775808");
		sr_buf_release(&out);
	}
}

static int p_date(const char *s, int32_t *out)
{
	return sr_value_parse_date(s, strlen(s), out);
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static void test_value_date(void **state)
{
	static const struct {
		const char *text;
		int32_t days;
	} known[] = {
		{ "1970-01-01", 0 }, { "1970-01-02", 1 }, { "1969-12-31", -1 },
		{ "2000-03-01", 11017 }, { "2024-02-29", 19782 },
		{ "0001-01-01", -719162 }, { "9999-12-31", 2932896 },
	};
	static const char *const bad[] = {
		"2023-02-29", "1900-02-29", "2100-02-29", "0000-01-01", "0000-12-31",
		"2020-13-01", "2020-00-10", "2020-01-00", "2020-01-32", "2020-04-31",
		"2020-06-31", "2020-09-31", "2020-11-31", "2020-1-01", "2020-01-1",
		"2020/01/01", "20200101", "2020-01-01 ", " 2020-01-01", "+020-01-01",
		"-020-01-01", "2020-0a-01", "", "10000-01-01", "2020-01-01T00",
	};
	static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
					  31, 30, 31 };
	struct sr_buf out;
	int32_t d = 0, prev = 0;
	int prev_year = -1;
	char text[48];

	(void)state;
	sr_buf_init(&out, 0);
	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		assert_int_equal(p_date(known[i].text, &d), SR_OK);
		assert_int_equal(d, known[i].days);
		sr_buf_reset(&out);
		assert_int_equal(sr_value_format_date(&out, known[i].days), SR_OK);
		assert_string_equal(out.data, known[i].text);
	}
	assert_int_equal(p_date("2000-02-29", &d), SR_OK);
	assert_int_equal(p_date("2400-02-29", &d), SR_OK);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		d = 77;
		if (p_date(bad[i], &d) != SR_EINVAL)
			fail_msg("date \"%s\" should be rejected", bad[i]);
		assert_int_equal(d, 77);
	}

	/* Every day of a sample of years from 0001 to 9999 (leap and
	 * century years included): days are consecutive and
	 * format(parse(x)) == x. */
	for (int y = 1; y <= 9999; y += (y < 2100 && y > 1890) ? 1 : 97) {
		for (unsigned m = 1; m <= 12; m++) {
			unsigned dim = mdays[m - 1] + (m == 2 && is_leap(y));
			for (unsigned day = 1; day <= dim; day++) {
				snprintf(text, sizeof(text), "%04d-%02u-%02u", y, m, day);
				assert_int_equal(p_date(text, &d), SR_OK);
				if (!(m == 1 && day == 1) || prev_year == y - 1)
					assert_int_equal(d, prev + 1);
				prev = d;
				sr_buf_reset(&out);
				assert_int_equal(sr_value_format_date(&out, d), SR_OK);
				assert_string_equal(out.data, text);
			}
			snprintf(text, sizeof(text), "%04d-%02u-%02u", y, m, dim + 1);
			assert_int_equal(p_date(text, &d), SR_EINVAL);
		}
		prev_year = y;
	}
	/* And every day number from 0001-01-01 to 9999-12-31 in steps:
	 * parse(format(d)) == d. */
	for (int32_t dd = -719162; dd <= 2932896; dd += 13) {
		int32_t back;
		sr_buf_reset(&out);
		assert_int_equal(sr_value_format_date(&out, dd), SR_OK);
		assert_int_equal(out.len, 10);
		assert_int_equal(sr_value_parse_date(out.data, out.len, &back), SR_OK);
		assert_int_equal(back, dd);
	}
	sr_buf_release(&out);
}

static void test_value_float_format(void **state)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 0.1, "0.1" }, { 1e-6, "1e-06" }, { 123456789.125, "123456789.125" },
		{ -0.0, "-0" }, { 0.0, "0" }, { -2.5, "-2.5" }, { 100, "100" },
		{ 1e16, "10000000000000000" }, { 1e300, "1e+300" }, { 1e21, "1e+21" },
		{ 0.3, "0.3" }, { 0.1 + 0.2, "0.30000000000000004" },
		{ 1.0 / 3, "0.3333333333333333" }, { 2.0 / 3, "0.6666666666666666" },
		{ 5e-324, "5e-324" }, { DBL_MAX, "1.7976931348623157e+308" },
		{ -DBL_MIN, "-2.2250738585072014e-308" }, { 123.456, "123.456" },
		{ 9007199254740993.0, "9007199254740992" },
	};
	struct sr_buf out;
	uint64_t seed = 20261123;
	int tested = 0;

	(void)state;
	sr_buf_init(&out, 0);
	for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
		sr_buf_reset(&out);
		assert_int_equal(sr_value_format_float64(&out, cases[k].v), SR_OK);
		if (strcmp(out.data, cases[k].text) != 0)
			fail_msg("%.17g formats as \"%s\", expected \"%s\"",
				 cases[k].v, out.data, cases[k].text);
	}

	/* Random bit patterns: strtod(format(x)) == x exactly (sign of zero
	 * included), our own parser agrees, and the text is the shortest:
	 * one digit fewer does not read back. */
	while (tested < 10000) {
		uint64_t r = sr_test_rand(&seed);
		double v, back;
		char *end;
		memcpy(&v, &r, sizeof(v));
		if (!isfinite(v))
			continue;
		tested++;
		sr_buf_reset(&out);
		assert_int_equal(sr_value_format_float64(&out, v), SR_OK);
		back = strtod(out.data, &end);
		assert_true(*end == '\0');
		assert_memory_equal(&back, &v, sizeof(v));
		assert_int_equal(sr_value_parse_float64(out.data, out.len, &back), SR_OK);
		assert_memory_equal(&back, &v, sizeof(v));
		if (v != floor(v) || fabs(v) >= 1e17) {
			int digits = 0;
			char shorter[400];
			for (const char *p = out.data; *p && *p != 'e'; p++)
				if (*p >= '0' && *p <= '9')
					digits++;
			/* Leading zeros of 0.000123 are not significant. */
			for (const char *p = out.data; *p && (*p < '1' || *p > '9'); p++)
				if (*p == '0')
					digits--;
			if (digits > 1) {
				snprintf(shorter, sizeof(shorter), "%.*g", digits - 1, v);
				assert_true(strtod(shorter, NULL) != v);
			}
		}
	}
	/* Random "human" decimals: the parser agrees with strtod to the bit
	 * (the fast path for plain decimals must be exact). */
	for (int k = 0; k < 100000; k++) {
		uint64_t r = sr_test_rand(&seed);
		double back, ref;
		char text[64];
		int digits = 1 + (int)(r % 19), dot = (int)((r >> 8) % (uint64_t)(digits + 1));
		int n = 0;
		if ((r >> 20) & 1)
			text[n++] = '-';
		for (int d = 0; d < digits; d++) {
			if (d == dot && d)
				text[n++] = '.';
			text[n++] = (char)('0' + sr_test_rand(&seed) % 10);
		}
		if ((r >> 21) % 8 == 0)
			n += snprintf(text + n, sizeof(text) - (size_t)n, "e%d",
				      (int)((r >> 24) % 40) - 20);
		text[n] = '\0';
		ref = strtod(text, NULL);
		assert_int_equal(sr_value_parse_float64(text, (size_t)n, &back), SR_OK);
		if (memcmp(&back, &ref, sizeof(ref)) != 0)
			fail_msg("\"%s\": parsed %.17g, strtod %.17g", text, back, ref);
	}
	sr_buf_release(&out);
}

static void test_utf8(void **state)
{
	static const struct {
		const char *s;
		size_t len;   /* 0: strlen */
		int valid;
	} cases[] = {
		{ "", 0, 1 }, { "plain ascii", 0, 1 },
		{ "a\0b", 3, 1 },                   /* NUL is a character */
		{ "Zo\xc3\xab", 0, 1 },             /* U+00EB */
		{ "\xc2\x80", 0, 1 },               /* U+0080, smallest 2-byte */
		{ "\xdf\xbf", 0, 1 },               /* U+07FF */
		{ "\xe0\xa0\x80", 0, 1 },           /* U+0800, smallest 3-byte */
		{ "\xe6\x97\xa5\xe6\x9c\xac", 0, 1 },
		{ "\xed\x9f\xbf", 0, 1 },           /* U+D7FF, below surrogates */
		{ "\xee\x80\x80", 0, 1 },           /* U+E000, above surrogates */
		{ "\xef\xbf\xbf", 0, 1 },           /* U+FFFF */
		{ "\xf0\x90\x80\x80", 0, 1 },       /* U+10000, smallest 4-byte */
		{ "\xf0\x9f\x98\x80", 0, 1 },       /* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", 0, 1 },       /* U+10FFFF, the maximum */
		{ "\xf4\x90\x80\x80", 0, 0 },       /* U+110000 */
		{ "\xf5\x80\x80\x80", 0, 0 },
		{ "\xf7\xbf\xbf\xbf", 0, 0 },
		{ "\xf8\x88\x80\x80\x80", 0, 0 },   /* old 5-byte form */
		{ "\xc0\xaf", 0, 0 },               /* overlong '/' */
		{ "\xc1\xbf", 0, 0 },               /* overlong */
		{ "\xc0\x80", 0, 0 },               /* overlong NUL */
		{ "\xe0\x80\xaf", 0, 0 },           /* overlong 3-byte */
		{ "\xe0\x9f\xbf", 0, 0 },           /* overlong U+07FF */
		{ "\xf0\x80\x80\xaf", 0, 0 },       /* overlong 4-byte */
		{ "\xf0\x8f\xbf\xbf", 0, 0 },       /* overlong U+FFFF */
		{ "\xed\xa0\x80", 0, 0 },           /* U+D800 */
		{ "\xed\xbf\xbf", 0, 0 },           /* U+DFFF */
		{ "\xed\xa0\xbd\xed\xb8\x80", 0, 0 }, /* CESU-8 pair */
		{ "\xc3", 0, 0 },                   /* truncated 2-byte */
		{ "\xe2\x82", 0, 0 },               /* truncated 3-byte */
		{ "\xf0\x9f\x98", 0, 0 },           /* truncated 4-byte */
		{ "\xf0\x9f", 0, 0 },
		{ "ok\xc3", 0, 0 },                 /* truncated at the end */
		{ "\xc3\xa9", 1, 0 },               /* len cuts a sequence */
		{ "\xc3\x28", 0, 0 },               /* bad continuation */
		{ "\xe2\x28\xa1", 0, 0 },
		{ "\xf0\x9f\x28\x80", 0, 0 },
		{ "\x80", 0, 0 }, { "\xbf", 0, 0 }, /* lone continuation */
		{ "\xfe", 0, 0 }, { "\xff", 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].s);
		if (sr_utf8_valid(cases[i].s, len) != cases[i].valid)
			fail_msg("utf8 case %zu should be %s", i,
				 cases[i].valid ? "valid" : "invalid");
	}
	/* Every code point encodes to something valid; every surrogate
	 * does not. */
	for (unsigned cp = 0x80; cp <= 0x10ffff; cp += (cp < 0x10000 ? 1 : 61)) {
		unsigned char s[4];
		size_t n;
		if (cp < 0x800) {
			s[0] = (unsigned char)(0xc0 | cp >> 6);
			s[1] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 2;
		} else if (cp < 0x10000) {
			s[0] = (unsigned char)(0xe0 | cp >> 12);
			s[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			s[2] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 3;
		} else {
			s[0] = (unsigned char)(0xf0 | cp >> 18);
			s[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
			s[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			s[3] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 4;
		}
		if (sr_utf8_valid((const char *)s, n) != !(cp >= 0xd800 && cp <= 0xdfff))
			fail_msg("code point U+%04X", cp);
	}
}

static enum sr_type infer(const char *const *values, size_t n)
{
	struct sr_infer inf;

	sr_infer_init(&inf);
	for (size_t i = 0; i < n; i++)
		sr_infer_feed(&inf, values[i], strlen(values[i]));
	return sr_infer_result(&inf);
}

static void test_infer(void **state)
{
	static const char *const ints[] = { "1", "-20", "300", "+4", "0" };
	static const char *const zero_one[] = { "0", "1", "1" };
	static const char *const floats[] = { "1", "2.5", "-3" };
	static const char *const float_first[] = { "2.5", "1", "7" };
	static const char *const exps[] = { "1e3", "2" };
	static const char *const bools[] = { "true", "FALSE", "True" };
	static const char *const dates[] = { "2020-01-01", "1999-12-31" };
	static const char *const bad_date[] = { "2020-01-01", "2023-02-29" };
	static const char *const date_int[] = { "2020-01-01", "5" };
	static const char *const bool_int[] = { "true", "1" };
	static const char *const one_bad[] = { "1", "2", "3", "x", "5" };
	static const char *const bad_float[] = { "1.5", "2.5", "inf" };
	static const char *const big[] = { "99999999999999999999", "1" };
	static const char *const spaced[] = { "1", " 2" };
	static const char *const text[] = { "hello" };

	(void)state;
	assert_int_equal(infer(ints, ARRAY_SIZE(ints)), SR_TYPE_INT64);
	assert_int_equal(infer(zero_one, ARRAY_SIZE(zero_one)), SR_TYPE_INT64);
	assert_int_equal(infer(floats, ARRAY_SIZE(floats)), SR_TYPE_FLOAT64);
	assert_int_equal(infer(float_first, ARRAY_SIZE(float_first)), SR_TYPE_FLOAT64);
	assert_int_equal(infer(exps, ARRAY_SIZE(exps)), SR_TYPE_FLOAT64);
	assert_int_equal(infer(bools, ARRAY_SIZE(bools)), SR_TYPE_BOOL);
	assert_int_equal(infer(dates, ARRAY_SIZE(dates)), SR_TYPE_DATE);
	assert_int_equal(infer(bad_date, ARRAY_SIZE(bad_date)), SR_TYPE_STRING);
	assert_int_equal(infer(date_int, ARRAY_SIZE(date_int)), SR_TYPE_STRING);
	assert_int_equal(infer(bool_int, ARRAY_SIZE(bool_int)), SR_TYPE_STRING);
	assert_int_equal(infer(one_bad, ARRAY_SIZE(one_bad)), SR_TYPE_STRING);
	assert_int_equal(infer(bad_float, ARRAY_SIZE(bad_float)), SR_TYPE_STRING);
	assert_int_equal(infer(big, ARRAY_SIZE(big)), SR_TYPE_FLOAT64);
	assert_int_equal(infer(spaced, ARRAY_SIZE(spaced)), SR_TYPE_STRING);
	assert_int_equal(infer(text, ARRAY_SIZE(text)), SR_TYPE_STRING);
	/* No non-NULL value (all NULL, or an empty column): string. */
	assert_int_equal(infer(NULL, 0), SR_TYPE_STRING);
	/* Once string, always string; the count keeps going. */
	{
		struct sr_infer inf;
		sr_infer_init(&inf);
		sr_infer_feed(&inf, "x", 1);
		for (int i = 0; i < 100; i++)
			sr_infer_feed(&inf, "1", 1);
		assert_int_equal(sr_infer_result(&inf), SR_TYPE_STRING);
		assert_int_equal(inf.values, 101);
	}
}


/* sr_text_clean: invalid UTF-8 and control characters become '?', the cut
 * never splits a character. */
static void test_text_clean(void **state)
{
	char s[64];

	(void)state;
	snprintf(s, sizeof(s), "%s", "plain text");
	assert_int_equal(sr_text_clean(s, 63), 10);
	assert_string_equal(s, "plain text");
	snprintf(s, sizeof(s), "%s", "a\x1b[2Jb\nc\x7f");
	sr_text_clean(s, 63);
	assert_string_equal(s, "a?[2Jb?c?");
	snprintf(s, sizeof(s), "%s", "/\x81v1/\xff\xfe");
	sr_text_clean(s, 63);
	assert_string_equal(s, "/?v1/??");
	snprintf(s, sizeof(s), "%s", "\xc3\xa9t\xc3\xa9");      /* "été" */
	sr_text_clean(s, 63);
	assert_string_equal(s, "\xc3\xa9t\xc3\xa9");
	assert_int_equal(sr_text_clean(s, 4), 3);   /* would split the last é */
	assert_string_equal(s, "\xc3\xa9t");
	snprintf(s, sizeof(s), "%s", "\xed\xa0\x80 \xc0\xaf \xf4\x90\x80\x80");   /* surrogate, overlong, > U+10FFFF */
	sr_text_clean(s, 63);
	assert_string_equal(s, "??? ?? ????");
	snprintf(s, sizeof(s), "%s", "ab\xe2\x82");   /* truncated sequence at the end */
	sr_text_clean(s, 63);
	assert_string_equal(s, "ab??");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_first_failure_wins),
		cmocka_unit_test(test_err_prefix),
		cmocka_unit_test(test_err_truncation),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_buf_growth),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_buf_nomem),
		cmocka_unit_test(test_buf_detach_wipe),
		cmocka_unit_test(test_buf_le),
		cmocka_unit_test(test_alloc_fail_at),
		cmocka_unit_test(test_alloc_count),
		cmocka_unit_test(test_file_write_atomic),
		cmocka_unit_test(test_file_read_all),
		cmocka_unit_test(test_file_dirs),
		cmocka_unit_test(test_json_parse),
		cmocka_unit_test(test_json_keys_and_getters),
		cmocka_unit_test(test_json_canonical),
		cmocka_unit_test(test_json_dump_is_janssons),
		cmocka_unit_test(test_pool_groups),
		cmocka_unit_test(test_pool_inline),
		cmocka_unit_test(test_pool_run),
		cmocka_unit_test(test_value_int64),
		cmocka_unit_test(test_value_float64),
		cmocka_unit_test(test_value_bool_type),
		cmocka_unit_test(test_value_date),
		cmocka_unit_test(test_value_float_format),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_infer),
		cmocka_unit_test(test_text_clean),
	};

	sr_alloc_setup_json();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * fuzz_anon_hier.c - libFuzzer target for the hierarchy parser and its
 * binding (src/anon/hier.c): the first byte picks the column type, the rest
 * is the `generalize` JSON.  Any input must parse or fail with a status and
 * a message; a parsed hierarchy is bound to a small column of that type
 * (checked, every row labelled at every level) and, when it binds, a
 * 2-anonymous release is searched on it.  Never a crash, hang or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anon/anon.h"
#include "anon/hier.h"
#include "base/alloc.h"
#include "base/err.h"
#include "store/vec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const samples[][6] = {
	[SR_TYPE_INT64] = { "37", "-3", "0", "9223372036854775807", "41", NULL },
	[SR_TYPE_FLOAT64] = { "3.5", "-0.25", "1e300", "0", "7", NULL },
	[SR_TYPE_STRING] = { "Hangzhou", "Ningbo", "", "\xe6\x9d\xad\xe5\xb7\x9e", "Hz", NULL },
	[SR_TYPE_BOOL] = { "true", "false", "true", "false", "true", NULL },
	[SR_TYPE_DATE] = { "2020-03-17", "0001-01-01", "9999-12-31", "1970-01-01", "2020-04-01", NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sr_anon_hier *h = NULL;
	struct sr_err err;
	struct sr_vec vec;
	enum sr_type type;
	int rc;

	if (size < 1)
		return 0;
	type = (enum sr_type)(1 + data[0] % 5);
	sr_err_clear(&err);
	rc = sr_anon_hier_parse_text((const char *)data + 1, size - 1, "col", type, &h, &err);
	if (rc != SR_OK) {
		if (h || err.msg[0] == '\0')
			abort();
		return 0;
	}
	sr_vec_init(&vec, type);
	for (size_t i = 0; i < 6; i++) {
		const char *s = samples[type][i];

		if ((s ? sr_vec_append_text(&vec, s, strlen(s)) : sr_vec_append_null(&vec)) != SR_OK)
			abort();
	}
	sr_err_clear(&err);
	rc = sr_anon_hier_check(h, &vec, &err);
	if (rc != SR_OK && err.msg[0] == '\0')
		abort();
	if (rc == SR_OK) {
		struct sr_anon_column col = { "col", SR_ANON_QI, &vec, h,
					      { SR_ANON_LDIV_NONE, 0, 0, 0, SR_ANON_EMD_AUTO } };
		struct sr_anon_params params = { .k = 2, .max_suppression = 0.5 };
		struct sr_anon_release rel;
		struct sr_buf out;
		int is_null;

		sr_buf_init(&out, 0);
		for (size_t row = 0; row < vec.rows; row++)
			for (size_t l = 0; l < sr_anon_hier_levels(h); l++) {
				sr_buf_reset(&out);
				if (sr_anon_hier_label(h, &vec, row, l, &out, &is_null, &err) != SR_OK)
					abort();   /* a checked hierarchy labels every row */
			}
		sr_buf_release(&out);
		sr_anon_release_init(&rel);
		sr_err_clear(&err);
		rc = sr_anon_run(&col, 1, &params, &rel, &err);
		if (rc != SR_OK && err.msg[0] == '\0')
			abort();
		sr_anon_release_release(&rel);
	}
	sr_vec_release(&vec);
	sr_anon_hier_free(h);
	return 0;
}

/*
 * demo_data.h - deterministic sample data for the demo: customers of a
 * bank, with the awkward cases real exports have (quoted commas and quotes,
 * non-ASCII names, NULLs, empty strings, dates, booleans).
 */
#ifndef SR_DEMO_DATA_H
#define SR_DEMO_DATA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct demo;

/* What cmd_demo.c lends a chapter (demo_anon.c, demo_query.c): its
 * story's state and its helpers, which print each command as they run it. */
struct sr_demo_ops {
	struct demo *d;
	void (*say)(struct demo *d, const char *what);
	void (*note)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
	int (*run)(struct demo *d, const char *out_path, const char *token,
		   const char *const *args);
	json_t *(*run_json)(struct demo *d, const char *out_path, const char *token,
			    const char *const *args);
};

/* Write tmpl with its one "%s" replaced by receiver to path (0600). */
int sr_demo_write_with(const char *path, const char *tmpl, const char *receiver,
		       struct sr_err *err) SR_WUR;

/*
 * Write rows bank customers to path as canonical CSV (LF line ends, minimal
 * quoting, values in sealroom's canonical text form), so that an export of
 * the imported dataset is byte-identical.  Also write the matching policy
 * file to policy_path.  Same seed, same bytes.
 */
int sr_demo_write_bank(const char *path, const char *policy_path,
		       size_t rows, unsigned long long seed,
		       struct sr_err *err) SR_WUR;

/* The demo's customer id of index (all three organizations use it, so
 * their customer lists overlap on known index ranges). */
void sr_demo_customer_id(char out[16], size_t index);
/* A well-mixed 64-bit value of x (splitmix64's finalizer): the demo's
 * deterministic per-row choices. */
uint64_t sr_demo_mix(uint64_t x);

/*
 * A shop's purchase summary and an insurer's policies for the customers of
 * indexes [first, first + rows), with policies that allow the org ids in
 * receivers to receive outputs.
 */
int sr_demo_write_shop(const char *path, const char *policy_path,
		       size_t first, size_t rows, unsigned long long seed,
		       const char *const *receivers, size_t nreceivers,
		       struct sr_err *err) SR_WUR;
int sr_demo_write_insurer(const char *path, const char *policy_path,
			  size_t first, size_t rows, unsigned long long seed,
			  const char *const *receivers, size_t nreceivers,
			  struct sr_err *err) SR_WUR;

#endif

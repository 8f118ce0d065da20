/*
 * threshold.h - threshold suppression of small groups (DESIGN §16): a
 * group counted by fewer distinct identities than the strictest input's
 * min_group_size is suppressed, never merged into another, and the
 * output says how many were.
 *
 * With DP on, suppress on the noised count (post-processing, so the
 * decision costs no extra budget); suppressing on the exact count makes
 * the presence of a group depend on one identity and is not DP
 * (docs/internals/privacy.md, "Thresholds").  Nothing here allocates.
 */
#ifndef SR_THRESHOLD_H
#define SR_THRESHOLD_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/*
 * For each group i < count: suppress[i] = 1 if distinct_ids[i] <
 * min_group_size, else 0; *suppressed is the number of 1s.  A
 * min_group_size of 0 suppresses nothing; 1 suppresses the empty groups
 * of a public domain.  Arrays are the caller's (suppress has count
 * bytes).
 */
int sr_threshold_suppress(const uint64_t *distinct_ids, size_t count,
			  uint64_t min_group_size, uint8_t *suppress,
			  size_t *suppressed, struct sr_err *err) SR_WUR;

/* The same on noised counts, which may be negative. */
int sr_threshold_suppress_noisy(const int64_t *noisy_counts, size_t count,
				uint64_t min_group_size, uint8_t *suppress,
				size_t *suppressed, struct sr_err *err) SR_WUR;

#endif

/*
 * threshold.c - which groups are suppressed for having too few identities.
 */
#include "privacy/threshold.h"
#include "base/banned.h"

int sr_threshold_suppress(const uint64_t *distinct_ids, size_t count,
			  uint64_t min_group_size, uint8_t *suppress,
			  size_t *suppressed, struct sr_err *err)
{
	size_t n = 0;

	*suppressed = 0;
	if (count && (!distinct_ids || !suppress))
		return sr_fail(err, SR_EINVAL, "threshold: %zu groups but no arrays", count);
	for (size_t i = 0; i < count; i++) {
		suppress[i] = distinct_ids[i] < min_group_size;
		n += suppress[i];
	}
	*suppressed = n;
	return SR_OK;
}

int sr_threshold_suppress_noisy(const int64_t *noisy_counts, size_t count,
				uint64_t min_group_size, uint8_t *suppress,
				size_t *suppressed, struct sr_err *err)
{
	size_t n = 0;

	*suppressed = 0;
	if (count && (!noisy_counts || !suppress))
		return sr_fail(err, SR_EINVAL, "threshold: %zu groups but no arrays", count);
	for (size_t i = 0; i < count; i++) {
		suppress[i] = noisy_counts[i] < 0 ||
			      (uint64_t)noisy_counts[i] < min_group_size;
		if (min_group_size == 0)
			suppress[i] = 0;
		n += suppress[i];
	}
	*suppressed = n;
	return SR_OK;
}

/*
 * demo_query.h - the demo's federated-SQL chapter (`sealroom demo`), seed
 * 002's medical case: the bank, the shop and the insurer act as three
 * clinics with tables of the same schema (visits: patient, region, age,
 * cost) and a policy with a threshold (min_group_size 5) and a
 * differential-privacy budget; the bank's analyst asks for the visits and
 * the average cost per region over the three, with epsilon 1; every
 * clinic approves; the bank prints the answer (noise scales, 95%
 * intervals, the plaintext beside it, checked to be near) and the budget
 * spent and left; and the checker refuses a query that groups by a column
 * the policy allows only in filters.
 *
 * cmd_demo.c owns the processes and passes its helpers (they print each
 * command as they run it) and the people's homes and tokens (borrowed).
 */
#ifndef SR_DEMO_QUERY_H
#define SR_DEMO_QUERY_H

#include <jansson.h>

#include "cli/demo_data.h"


#define SR_DEMO_CLINICS 3

struct sr_demo_query_env {
	struct sr_demo_ops o;
	const char *dir;
	const char *project;
	const char *names[SR_DEMO_CLINICS];     /* organization names */
	const char *homes[SR_DEMO_CLINICS];
	const char *stewards[SR_DEMO_CLINICS];  /* tokens */
	const char *analyst;                    /* of clinic 0, the receiver */
	const char *receiver_id;                /* clinic 0's org id */
};

/* Run the chapter; 1 when every step did what it should, else 0. */
int sr_demo_query(const struct sr_demo_query_env *env);

#endif

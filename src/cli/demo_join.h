/*
 * demo_join.h - the demo's vertical-query chapter (`sealroom demo`): the
 * bank publishes its customers' risk bands, the shop its baskets with a
 * policy that lets a join reveal per-group match counts to the bank; the
 * bank asks for the average basket of its customers per risk band (a
 * JOIN executed with blinded keys and Paillier sums,
 * docs/protocols/query-join.md), both stewards approve, the bank reads
 * the answer; then the checker refuses a version that outputs a shop
 * column the shop's policy keeps hidden.
 *
 * cmd_demo.c owns the processes; it passes its helpers and the people's
 * homes and tokens (borrowed for the call).
 */
#ifndef SR_DEMO_JOIN_H
#define SR_DEMO_JOIN_H

#include "cli/demo_data.h"

struct sr_demo_join_env {
	struct sr_demo_ops o;
	const char *dir;              /* the demo's directory */
	const char *project;
	const char *bank_home, *bank_steward, *bank_analyst, *bank_id;
	const char *shop_home, *shop_steward, *shop_analyst;
};

/* Run the chapter; 1 when every step did what it should, else 0. */
int sr_demo_join(const struct sr_demo_join_env *env);

#endif

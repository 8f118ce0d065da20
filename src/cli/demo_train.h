/*
 * demo_train.h - the demo's training chapter (`sealroom demo`): the bank
 * (loans: income, debt and whether the loan defaulted) and the shop
 * (habits: spend, visits) train a SecureBoost model on the customers
 * they share, aligned by PSI inside the job (docs/protocols/train.md);
 * the bank reads AUC and KS and writes the ROC plot; then a `predict` job
 * (docs/protocols/predict.md) scores the bank's new applicants with the
 * model's parts, each party evaluating its own splits.
 *
 * cmd_demo.c owns the processes; it passes its helpers and the people's
 * homes and tokens (borrowed for the call).
 */
#ifndef SR_DEMO_TRAIN_H
#define SR_DEMO_TRAIN_H

#include "cli/demo_data.h"

struct sr_demo_train_env {
	struct sr_demo_ops o;
	const char *dir;              /* the demo's directory */
	const char *project;
	const char *bank_home, *bank_steward, *bank_analyst, *bank_id;
	const char *shop_home, *shop_steward, *shop_id;
};

/* Run the chapter; 1 when every step did what it should, else 0. */
int sr_demo_train(const struct sr_demo_train_env *env);

#endif

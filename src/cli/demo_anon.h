/*
 * demo_anon.h - the demo's anonymized-release chapter (`sealroom demo`):
 * the insurer republishes its policies table with its holders' ages, sex
 * and postcodes and a policy with generalization hierarchies, the bank's
 * analyst proposes a 5-anonymous, 2-diverse release of it to the bank, the
 * insurer's steward approves, and the bank reads the release and its
 * report, which the chapter prints.
 *
 * cmd_demo.c owns the processes and the story; it passes its own helpers
 * (they print each command as they run it) and the people's homes and
 * tokens (borrowed for the call).
 */
#ifndef SR_DEMO_ANON_H
#define SR_DEMO_ANON_H

#include <jansson.h>

#include "cli/demo_data.h"
#include <stddef.h>


struct sr_demo_anon_env {
	struct sr_demo_ops o;
	const char *dir;              /* the demo's directory */
	const char *project;
	const char *insurer_home, *insurer_steward;
	const char *bank_home, *bank_analyst, *bank_id;
	const char *shop_home, *shop_analyst;
};

/* Run the chapter; 1 when every step did what it should, else 0 (the
 * failing step's output has been printed). */
int sr_demo_anon(const struct sr_demo_anon_env *env);

#endif

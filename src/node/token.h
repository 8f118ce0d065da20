/*
 * token.h - API tokens of a node (DESIGN §2): people authenticate to their
 * own node with a bearer token that carries a role.
 *
 *   admin    runs the node
 *   steward  owns data: policies, publication, approvals
 *   analyst  proposes jobs, receives results
 *
 * A token is "srt_" followed by 64 hex digits (32 random bytes), shown once
 * at creation.  The node keeps only a keyed BLAKE2b hash of it (key: the
 * master key's token sub-key) in HOME/node.db, so a copy of the database
 * does not yield usable tokens.
 */
#ifndef SR_TOKEN_H
#define SR_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "crypto/masterkey.h"

#define SR_TOKEN_LEN 68          /* "srt_" + 64 hex digits */
#define SR_TOKEN_NAME_MAX 64

enum sr_role {
	SR_ROLE_ADMIN = 1,
	SR_ROLE_STEWARD = 2,
	SR_ROLE_ANALYST = 3,
};

const char *sr_role_name(enum sr_role role);
int sr_role_parse(const char *name, enum sr_role *out) SR_WUR;

struct sr_token_info {
	char id[17];              /* first 16 hex digits of the hash: a handle */
	char name[SR_TOKEN_NAME_MAX + 1];
	enum sr_role role;
	int64_t created;
	int revoked;
};

struct sr_tokens;

/* Open the token table in home/node.db (created if missing). mk borrowed. */
int sr_tokens_open(const char *home, const struct sr_masterkey *mk,
		   struct sr_tokens **out, struct sr_err *err) SR_WUR;
void sr_tokens_free(struct sr_tokens *tokens);

/*
 * Create a token named name (1..SR_TOKEN_NAME_MAX of [A-Za-z0-9_.@-],
 * unique among live tokens) with role.  token receives the secret
 * (SR_TOKEN_LEN + 1 bytes, NUL-terminated): show it once, never log it.
 */
int sr_tokens_create(struct sr_tokens *tokens, const char *name,
		     enum sr_role role, char token[SR_TOKEN_LEN + 1],
		     struct sr_token_info *info, struct sr_err *err) SR_WUR;

/* Check a presented token: SR_OK with its info, or SR_EPERM ("unknown or
 * revoked token") whatever the reason, so callers leak nothing. */
int sr_tokens_check(struct sr_tokens *tokens, const char *token,
		    struct sr_token_info *info, struct sr_err *err) SR_WUR;

/* All tokens (live and revoked), oldest first; free with sr_free. */
int sr_tokens_list(struct sr_tokens *tokens, struct sr_token_info **out,
		   size_t *count, struct sr_err *err) SR_WUR;

/* Revoke by name or id; SR_ENOTFOUND if no live token matches. */
int sr_tokens_revoke(struct sr_tokens *tokens, const char *name_or_id,
		     struct sr_err *err) SR_WUR;

#endif

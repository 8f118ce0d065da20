/*
 * test_token.c - node API tokens: create, check, revoke, roles, and that a
 * token is worthless against another node's key.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/db.h"
#include "base/err.h"
#include "crypto/crypto.h"
#include "crypto/masterkey.h"
#include "node/token.h"

static void test_tokens(void **state)
{
	char *dir = sr_test_tmpdir();
	char home[512], home2[512];
	char tok[SR_TOKEN_LEN + 1], tok2[SR_TOKEN_LEN + 1];
	struct sr_masterkey mk, mk2;
	struct sr_tokens *t, *t2;
	struct sr_token_info info, *list;
	struct sr_err err;
	size_t n;
	enum sr_role role;

	(void)state;
	sr_err_clear(&err);
	snprintf(home, sizeof(home), "%s/a", dir);
	snprintf(home2, sizeof(home2), "%s/b", dir);
	assert_int_equal(mkdir(home, 0700), 0);
	assert_int_equal(mkdir(home2, 0700), 0);
	sr_masterkey_init(&mk);
	sr_masterkey_init(&mk2);
	assert_int_equal(sr_masterkey_create(&mk, home, SR_KEY_PASSPHRASE, "p", "test", &err), SR_OK);
	assert_int_equal(sr_masterkey_create(&mk2, home2, SR_KEY_PASSPHRASE, "q", "test", &err), SR_OK);
	assert_int_equal(sr_tokens_open(home, &mk, &t, &err), SR_OK);
	assert_int_equal(sr_tokens_create(t, "alice", SR_ROLE_STEWARD, tok, &info, &err), SR_OK);
	assert_int_equal(strlen(tok), SR_TOKEN_LEN);
	assert_int_equal(strncmp(tok, "srt_", 4), 0);
	assert_int_equal(sr_tokens_create(t, "bob", SR_ROLE_ANALYST, tok2, NULL, &err), SR_OK);
	assert_string_not_equal(tok, tok2);
	memset(&info, 0, sizeof(info));
	assert_int_equal(sr_tokens_check(t, tok, &info, &err), SR_OK);
	assert_string_equal(info.name, "alice");
	assert_int_equal(info.role, SR_ROLE_STEWARD);
	assert_int_equal(sr_tokens_check(t, tok2, &info, &err), SR_OK);
	assert_int_equal(info.role, SR_ROLE_ANALYST);
	/* Wrong, altered, truncated tokens: one answer. */
	{
		char bad[SR_TOKEN_LEN + 1];
		memcpy(bad, tok, sizeof(bad));
		bad[10] = bad[10] == 'a' ? 'b' : 'a';
		sr_err_clear(&err);
		assert_int_equal(sr_tokens_check(t, bad, NULL, &err), SR_EPERM);
		assert_string_equal(err.msg, "unknown or revoked token");
		assert_int_equal(sr_tokens_check(t, "srt_123", NULL, &err), SR_EPERM);
		assert_int_equal(sr_tokens_check(t, "", NULL, &err), SR_EPERM);
		assert_int_equal(sr_tokens_check(t, NULL, NULL, &err), SR_EPERM);
	}
	/* Another node's key cannot use this node's token table. */
	assert_int_equal(sr_tokens_open(home, &mk2, &t2, &err), SR_OK);
	assert_int_equal(sr_tokens_check(t2, tok, NULL, &err), SR_EPERM);
	sr_tokens_free(t2);
	/* Duplicate live name, bad name, list, revoke. */
	sr_err_clear(&err);
	assert_int_equal(sr_tokens_create(t, "alice", SR_ROLE_ADMIN, tok2, NULL, &err), SR_EEXIST);
	sr_err_clear(&err);
	assert_int_equal(sr_tokens_create(t, "a b", SR_ROLE_ADMIN, tok2, NULL, &err), SR_EINVAL);
	assert_int_equal(sr_tokens_list(t, &list, &n, &err), SR_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "alice");
	sr_free(list);
	assert_int_equal(sr_tokens_revoke(t, "alice", &err), SR_OK);
	assert_int_equal(sr_tokens_check(t, tok, NULL, &err), SR_EPERM);
	sr_err_clear(&err);
	assert_int_equal(sr_tokens_revoke(t, "alice", &err), SR_ENOTFOUND);
	assert_int_equal(sr_tokens_create(t, "alice", SR_ROLE_ADMIN, tok, NULL, &err), SR_OK);
	/* A write that fails (disk full) says so and changes nothing: no
	 * token made, none revoked. */
	sr_err_clear(&err);
	sr_db_fault_at(1, 0);
	assert_int_equal(sr_tokens_create(t, "carol", SR_ROLE_ADMIN, tok2, NULL, &err), SR_EIO);
	assert_non_null(strstr(err.msg, "node.db: insert token: disk full"));
	assert_int_equal(sr_tokens_check(t, tok2, NULL, &err), SR_EPERM);
	sr_err_clear(&err);
	sr_db_fault_at(1, 0);
	assert_int_equal(sr_tokens_revoke(t, "alice", &err), SR_EIO);
	assert_non_null(strstr(err.msg, "revoke token: disk full"));
	assert_int_equal(sr_tokens_check(t, tok, NULL, &err), SR_OK);
	assert_int_equal(sr_role_parse("steward", &role), SR_OK);
	assert_int_equal(role, SR_ROLE_STEWARD);
	assert_int_equal(sr_role_parse("root", &role), SR_EINVAL);
	sr_tokens_free(t);
	sr_masterkey_release(&mk);
	sr_masterkey_release(&mk2);
	sr_test_tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
	};

	sr_alloc_setup_json();
	if (sr_crypto_init() != SR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

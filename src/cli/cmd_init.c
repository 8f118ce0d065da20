/*
 * cmd_init.c - `sealroom init`: create a node home with its master key,
 * organization identity and empty store.
 */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file.h"
#include "cli/cli.h"
#include "crypto/identity.h"
#include "tee/tee.h"
#include "base/banned.h"

static const char init_usage[] =
	"usage: sealroom init [--home DIR] [--key-provider passphrase|tpm2|file]\n"
	"                     [--kdf moderate|sensitive] [--tpm-pcrs LIST]\n"
	"                     [--recovery-passphrase] [--json]\n"
	"\n"
	"Create a node home: the master key, the organization's identity keys\n"
	"(Ed25519 for signing, X25519 for key agreement) and an empty dataset\n"
	"store.  Prints the organization id, which other parties use to invite\n"
	"this organization.\n"
	"\n"
	"  --home DIR            node home (default: $SEALROOM_HOME, then ~/.sealroom)\n"
	"  --key-provider NAME   passphrase (default): the master key is derived\n"
	"                        with Argon2id from a passphrase read from\n"
	"                        $SEALROOM_PASSPHRASE or the terminal;\n"
	"                        tpm2: a random key sealed to this machine's TPM\n"
	"                        ($SEALROOM_TPM_TCTI, default device:/dev/tpmrm0)\n"
	"                        under a policy on PCR values: the home opens\n"
	"                        only on this TPM with these PCR values;\n"
	"                        file: a random key stored in HOME/master.key,\n"
	"                        for development only\n"
	"  --tpm-pcrs LIST       tpm2: the PCRs the key is sealed to, e.g. 0,7 or\n"
	"                        sha256:0,2,4,7 (default sha256:0,7: firmware and\n"
	"                        Secure Boot state; see docs/tee.md)\n"
	"  --recovery-passphrase tpm2: also keep a copy of the key wrapped under a\n"
	"                        passphrase ($SEALROOM_PASSPHRASE or the terminal),\n"
	"                        opened with SEALROOM_KEY_RECOVERY=1 when the TPM\n"
	"                        is lost.  Anyone with the home and the passphrase\n"
	"                        then opens it anywhere: the hardware binding\n"
	"                        is only as strong as that passphrase\n"
	"  --kdf PROFILE         Argon2id cost (passphrase, recovery copy):\n"
	"                        moderate (default, 64 MiB) or sensitive (1 GiB)\n"
	"  --json                print the identity as JSON\n";

int sr_cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' },
		{ "key-provider", required_argument, NULL, 'k' },
		{ "kdf", required_argument, NULL, 'K' },
		{ "json", no_argument, NULL, 'j' },
		{ "tpm-pcrs", required_argument, NULL, 'P' },
		{ "recovery-passphrase", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sr_cli cli = { 0 };
	struct sr_identity id;
	struct sr_masterkey mk;
	enum sr_key_provider provider = SR_KEY_PASSPHRASE;
	const char *kdf = NULL, *pcrs = NULL;
	int recovery = 0;
	char *pass = NULL;
	uint8_t key_enc[32];
	struct sr_err err;
	struct sr_store *store = NULL;
	int c, rc, created_home = 0, mk_created = 0;

	sr_err_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': cli.home = optarg; break;
		case 'k':
			if (sr_key_provider_parse(optarg, &provider) != SR_OK)
				return sr_cli_usage_error("init",
					"unknown key provider '%s' (expected passphrase, tpm2 or file)",
					optarg);
			break;
		case 'K':
			if (strcmp(optarg, "test") != 0 &&
			    strcmp(optarg, "moderate") != 0 &&
			    strcmp(optarg, "sensitive") != 0)
				return sr_cli_usage_error("init",
					"unknown kdf profile '%s' (expected moderate or sensitive)",
					optarg);
			kdf = optarg;
			break;
		case 'j': cli.json = 1; break;
		case 'P': {
			uint32_t mask;
			if (sr_tpm_pcrs_parse(optarg, &mask, &err) != SR_OK)
				return sr_cli_usage_error("init", "--tpm-pcrs: %s",
							  err.msg);
			pcrs = optarg;
			break;
		}
		case 'R': recovery = 1; break;
		case 'h': fputs(init_usage, stdout); return SR_EXIT_OK;
		default: return sr_cli_usage_error("init", "bad option");
		}
	}
	if (optind != argc)
		return sr_cli_usage_error("init", "unexpected argument '%s'",
					  argv[optind]);
	if ((pcrs || recovery) && provider != SR_KEY_TPM2)
		return sr_cli_usage_error("init",
			"%s is for --key-provider tpm2",
			pcrs ? "--tpm-pcrs" : "--recovery-passphrase");
	sr_identity_init(&id);
	sr_masterkey_init(&mk);
	rc = sr_cli_resolve_home(&cli, &err);
	if (rc)
		goto out;
	{
		enum sr_key_provider existing;
		if (sr_masterkey_provider(cli.home, &existing, NULL) == SR_OK) {
			rc = sr_fail(&err, SR_EEXIST,
				     "%s is already a node home", cli.home);
			goto out;
		}
	}
	if (!sr_path_exists(cli.home))
		created_home = 1;
	rc = sr_mkdir_p(cli.home, 0700, &err);
	if (rc)
		goto out;
	if (provider == SR_KEY_PASSPHRASE || recovery) {
		rc = sr_cli_passphrase(recovery ? "new recovery passphrase: "
						: "new passphrase: ", 1, &pass,
				       &err);
		if (rc)
			goto out;
	}
	if (provider == SR_KEY_TPM2) {
		struct sr_masterkey_tpm2 tpm_opts = {
			.pcrs = pcrs, .recovery_passphrase = pass,
			.kdf_profile = kdf,
		};
		rc = sr_masterkey_create_tpm2(&mk, cli.home, &tpm_opts, &err);
	} else {
		rc = sr_masterkey_create(&mk, cli.home, provider, pass, kdf,
					 &err);
	}
	if (rc)
		goto out;
	mk_created = 1;
	rc = sr_identity_generate(&id, &err);
	if (rc)
		goto out;
	sr_masterkey_subkey(&mk, SR_SUBKEY_IDENTITY, key_enc);
	rc = sr_identity_save(&id, cli.home, key_enc, &err);
	sodium_memzero(key_enc, sizeof(key_enc));
	if (rc)
		goto out;
	rc = sr_store_open(cli.home, &mk, &store, &err);
	if (rc)
		goto out;
	if (cli.json) {
		char pk[2 * SR_SIGN_PUBLICKEYBYTES + 1];
		char kx[2 * SR_BOX_PUBLICKEYBYTES + 1];
		sr_hex(pk, id.sign_pk, sizeof(id.sign_pk));
		sr_hex(kx, id.kx_pk, sizeof(id.kx_pk));
		rc = sr_cli_print_json(json_pack("{s:s,s:s,s:s,s:s,s:s}",
			"home", cli.home, "org_id", id.org_id, "sign_pk", pk,
			"kx_pk", kx, "key_provider",
			sr_key_provider_name(provider)), &err);
	} else {
		printf("initialized node home %s\n", cli.home);
		printf("organization id: %s\n", id.org_id);
		printf("master key: %s\n", sr_key_provider_name(provider));
	}
out:
	sr_store_free(store);
	sr_cli_passphrase_free(pass);
	sr_identity_release(&id);
	sr_masterkey_release(&mk);
	if (rc) {
		/* Leave nothing half-made behind. */
		struct sr_err ignored;
		if (created_home) {
			if (sr_rm_rf(cli.home, &ignored) != SR_OK)
				fprintf(stderr, "sealroom: could not remove %s\n", cli.home);
		}
		else if (mk_created) {
			static const char *const files[] = {
				"master.json", "master.key", "identity.key",
				"identity.pub", "node.db", "node.db-wal",
				"node.db-shm", "datasets", "tmp", "store.lock",
			};
			struct sr_buf p;
			sr_buf_init(&p, 0);
			for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++)
				if (sr_path_join(&p, cli.home, files[i]) == SR_OK &&
				    sr_rm_rf(p.data, &ignored) != SR_OK)
					fprintf(stderr, "sealroom: could not remove %s\n", p.data);
			sr_buf_release(&p);
		}
		return sr_cli_report(&err);
	}
	return SR_EXIT_OK;
}

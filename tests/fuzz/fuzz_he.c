/*
 * fuzz_he.c - libFuzzer target for src/he's decoders: the first byte picks
 * the public-key (0), secret-key (1), ciphertext (2) or batch (3) decoder;
 * the rest is its input.  Whatever arrives must end in an error or a value
 * that the library then uses (encrypt under a decoded key, decrypt a
 * decoded ciphertext), never a crash, hang or leak.  Ciphertexts are
 * decoded under the fixed 2048-bit key of tests/kat/paillier.kat, so the
 * seed corpus (tests/fuzz/corpus/fuzz_he/) holds valid ones.
 */
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "crypto/crypto.h"
#include "he/he.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The KAT's 2048-bit test key (public in the repository; never a real key). */
static const char KAT_P[] =
	"c2b41fa0ee5abc7f0f16566bf2f1d066dd7b5b1f2de25b2bb3710503f7350619"
	"5b79b6e6c62890883412beb3daaf90e1cc33598481b92ebd6686f0fe85aa283a"
	"28fa84607e87dd4179ba4284889379701745cad5869609053b1bd80417d2458e"
	"2a9c24ef840ceced3b2036c33bc24d0301b8bff7c20cb7247c7e0479fc15e8c1";
static const char KAT_Q[] =
	"e8ba5a006f303ad3f1616c5d9f1de9c986a2333d3471ea1125e73d1972a11632"
	"22ba2dc7a4469435f3efda3fc50f1f746234f293eefe0d1e9424d5e1f8c92db1"
	"701c8d764a494082dae8bc70f3720bc213c14b63593327ddeed7e9bb79407f34"
	"67ecf10a7a5dc6253d8f8c9582ad531db0476de68643956fa6ed0c8e846fcb19";
static const char KAT_X[] =
	"6f09004feda99501e9a07a677c62d96e98fb261022dfa386f737ab665c19389f"
	"804732bf27817e88b818fa8c1972f6e509b405378a7be70f1f28b7d1a081773c"
	"2521cbdea38d8ae83361fd6ce6820057217983796c57e3771c145be00fca2d04"
	"94df15b02edc8a9c502eb1282debbdc599d9ee270041a4420379cae0e3a9a654"
	"e82e5f5fce11cbfd825fbf8295bd3750f81a998127807d14865d0191daf03fde"
	"8c8fe4a3d127339d29649e15b5e6a424535612ed7f5cfdd75defa890f67a1722"
	"0cae6f78c48d8050e461cbb187f0021ed9955815aec62fb5d12f889300cd5be5"
	"b248fcdf1b5a3a39c8fddeeedaada847da9034abd9c77cd04ab2c6fc25173beb";

#define FUZZ_BATCH_MAX 64

static struct sr_he_sk *fuzz_key(void)
{
	static struct sr_he_sk *sk;
	struct sr_err err = { 0 };
	mpz_t p, q, x;

	if (sk)
		return sk;
	if (sr_crypto_init() != SR_OK)
		return NULL;
	mpz_init_set_str(p, KAT_P, 16);
	mpz_init_set_str(q, KAT_Q, 16);
	mpz_init_set_str(x, KAT_X, 16);
	if (sr_he_keygen_from(2048, p, q, x, NULL, NULL, &sk, &err) != SR_OK)
		sk = NULL;
	mpz_clears(p, q, x, NULL);
	return sk;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sr_he_sk *sk = fuzz_key(), *other = NULL;
	struct sr_he_pk *pk, *decoded = NULL;
	struct sr_err err = { 0 };
	mpz_t c, m, *cts = NULL;
	size_t count = 0;

	if (!sk || size < 1)
		return 0;
	pk = sr_he_sk_pk(sk);
	mpz_inits(c, m, NULL);
	switch (data[0] & 3) {
	case 0:
		if (sr_he_pk_decode(data + 1, size - 1, NULL, &decoded, &err) == SR_OK) {
			mpz_set_ui(m, 7);
			if (sr_he_encrypt(decoded, m, c, &err) != SR_OK)
				__builtin_trap();
		}
		break;
	case 1:
		if (sr_he_sk_decode(data + 1, size - 1, NULL, &other, &err) == SR_OK) {
			mpz_set_ui(m, 7);
			if (sr_he_encrypt(sr_he_sk_pk(other), m, c, &err) != SR_OK ||
			    sr_he_decrypt(other, c, m, &err) != SR_OK ||
			    mpz_cmp_ui(m, 7) != 0)
				__builtin_trap();
		}
		break;
	case 2:
		if (sr_he_ct_decode(pk, data + 1, size - 1, c, &err) == SR_OK) {
			if (sr_he_decrypt(sk, c, m, &err) != SR_OK)
				__builtin_trap();
			sr_he_add(pk, c, c, c);
		}
		break;
	default:
		if (sr_he_batch_decode(pk, data + 1, size - 1, FUZZ_BATCH_MAX, &cts,
				       &count, &err) == SR_OK) {
			for (size_t i = 0; i < count; i++)
				if (sr_he_decrypt(sk, cts[i], m, &err) != SR_OK)
					__builtin_trap();
			sr_he_cts_free(cts, count);
		}
		break;
	}
	sr_he_pk_free(decoded);
	sr_he_sk_free(other);
	mpz_clears(c, m, NULL);
	return 0;
}

#!/usr/bin/env bash
# git's habits: global options before or after the command, --help on
# every subcommand with its own usage and an example, every option the
# help and completion know accepted by the command's parser, sealroom id,
# and a bash completion script that completes.
. "$(dirname "$0")/lib.sh"

H="$WORK/home"
run_expect 0 sr init --home "$H" --kdf test --json
ORG=$(sed -n 's/.*"org_id": "\(org_[0-9a-f]*\)".*/\1/p' "$WORK/out")
printf 'customer_id,age\n1,30\n2,40\n' >"$WORK/c.csv"

# Global options before the command, after it, and mixed.
run_expect 0 sr --home "$H" dataset import c "$WORK/c.csv" --classify-by-name
run_expect 0 sr --home "$H" --json dataset list
contains "$OUT" '"rows": 2'
run_expect 0 sr dataset list --home "$H" --json
contains "$OUT" '"rows": 2'
run_expect 0 sr --json dataset show c --home "$H"
contains "$OUT" '"version_id"'
run_expect 0 sr --home="$H" token list
run_expect 0 sr --quiet --home "$H" dataset verify c
# Global options before "--" stay options; what follows it is an operand.
run_expect 1 sr --home "$H" dataset show -- --json
contains "$ERR" "dataset name '--json'"
run_expect 2 sr --node http://127.0.0.1:1 init --home "$WORK/h2"
contains "$ERR" "sealroom: --node does not apply to 'init'"
# The node commands take them too (here: no node is running).
run_expect 1 sr --home "$H" --token srt_x project list
contains "$ERR" "node"

# sealroom id, plain and JSON, with no passphrase.
SEALROOM_PASSPHRASE= run_expect 0 sr id --home "$H"
contains "$OUT" "organization id:          $ORG"
contains "$OUT" "signing key (Ed25519):"
contains "$OUT" "key agreement (X25519):"
run_expect 0 sr --home "$H" --json id
contains "$OUT" "\"org_id\": \"$ORG\""
contains "$OUT" '"kx_pk": "'
run_expect 1 sr id --home "$WORK/nohome"
contains "$ERR" "is not a node home"
sed -i 's/"org_id": *"org_[0-9a-f]*"/"org_id": "org_00000000000000000000000000000000"/' "$H/identity.pub"
run_expect 1 sr id --home "$H"
contains "$ERR" "identity.pub: org_id does not match sign_pk"

# --help on every command and subcommand of the table: its own usage,
# an example, exit 0; and every option of the table is one the command's
# parser knows (getopt names an unknown one).
sr completion list >"$WORK/list"
while read -r noun verb opts; do
	[ "$verb" = - ] && verb=
	run_expect 0 sr $noun $verb --help
	case "$noun" in
	init | coordinator | node | demo | version) ;;   # their own long help
	*) contains "$OUT" "usage: sealroom $noun${verb:+ $verb}" ;;
	esac
	if [ -n "$verb" ]; then
		contains "$OUT" "example:"
	fi
	for o in $opts; do
		name=${o%=}
		arg=
		[ "$name" != "$o" ] && arg="=x"
		set +e
		"$SEALROOM" $noun $verb "$name$arg" --zz-not-an-option --home "$WORK/none" \
			</dev/null >"$WORK/o.out" 2>"$WORK/o.err"
		set -e
		if grep -q "unrecognized option '$name" "$WORK/o.err"; then
			fail "sealroom $noun $verb does not accept $name: $(cat "$WORK/o.err")"
		fi
		ok
	done
done <"$WORK/list"
run_expect 0 sr dataset import --help
contains "$OUT" "--skip-lines N"
contains "$OUT" "sealroom dataset import customers customers.csv --policy"
run_expect 0 sr job approve 635effc9 --help
contains "$OUT" "token: steward role"
run_expect 0 sr project create --help
contains "$OUT" "token: admin role"
run_expect 0 sr job wait --help
contains "$OUT" "token: any role"
# An option's value that looks like --help is a value.
run_expect 2 sr job reject nothex --reason --help
contains "$ERR" "is not a job id"

# Completion: valid bash that completes commands, subcommands, options.
sr completion bash >"$WORK/comp.bash"
bash -n "$WORK/comp.bash" || fail "completion script is not valid bash"
ok
complete_words() {   # complete_words WORD... : COMPREPLY for the last word
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _sealroom; echo "${COMPREPLY[*]}"' \
		_ "$WORK/comp.bash" "$@"
}
contains "$(complete_words sealroom dat)" "dataset"
contains "$(complete_words sealroom dataset im)" "import"
contains "$(complete_words sealroom dataset import --sk)" "--skip-lines"
contains "$(complete_words sealroom --home x job ap)" "approve"
contains "$(complete_words sealroom policy init --nu)" "--null"
run_expect 2 sr completion zsh
contains "$ERR" "expected 'bash'"

finish

#!/usr/bin/env bash
# SIGKILL during an import leaves the catalog and the store exactly as they
# were: the earlier dataset is intact and nothing of the killed import
# remains after the next open.
. "$(dirname "$0")/lib.sh"

H="$WORK/home"
run_expect 0 sr init --home "$H" --kdf test
printf 'customer_id,age\nC1,30\nC2,40\n' >"$WORK/small.csv"
run_expect 0 sr dataset import keep "$WORK/small.csv" --classify-by-name --home "$H"
before=$(sr dataset list --json --home "$H")
versions_before=$(ls "$H/datasets")

# A CSV large enough that the import takes a while.
awk 'BEGIN { print "customer_id,age,balance,city"; for (i = 0; i < 1500000; i++) printf "C%d,%d,%d.%02d,city%d\n", i, 18 + i % 70, i % 100000, i % 100, i % 500 }' >"$WORK/big.csv"

for delay in 0.05 0.2 0.4 0.7 1.0 1.5; do
	"$SEALROOM" dataset import big "$WORK/big.csv" --classify-by-name --home "$H" >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	after=$(sr dataset list --json --home "$H")
	if [ "$after" != "$before" ]; then
		# The import may have finished before the kill: then it must be
		# whole, verified, and we remove it for the next round.
		case "$after" in
		*'"big"'*) sr dataset verify big --home "$H" >/dev/null || fail "completed import does not verify"
			   sr dataset rm big --home "$H" >/dev/null ;;
		*) fail "catalog changed after kill at ${delay}s: $after" ;;
		esac
	fi
	ok
	# The next open removed the killed import's files.
	[ "$(ls "$H/datasets")" = "$versions_before" ] || fail "leftover version directories after kill at ${delay}s: $(ls "$H/datasets")"
	[ -z "$(ls "$H/tmp")" ] || fail "leftover temp files after kill at ${delay}s"
	ok
	run_expect 0 sr dataset verify keep --home "$H"
done

finish

#!/usr/bin/env bash
# `sealroom psi serve|connect` end to end on 127.0.0.1: intersection to
# both sides checked against comm(1) of the plain key lists and for
# alignment, normalization, cardinality, a wrong peer refused on both
# sides, mismatched parameters, usage errors.
. "$(dirname "$0")/lib.sh"
export LC_ALL=C

for org in a b c; do
	run_expect 0 sr init --home "$WORK/$org" --kdf test
done
PUB_A="$WORK/a/identity.pub"
PUB_B="$WORK/b/identity.pub"
PUB_C="$WORK/c/identity.pub"
HEX_B=$(sed -n 's/.*"sign_pk": *"\([0-9a-f]*\)".*/\1/p' "$PUB_B")
[ ${#HEX_B} -eq 64 ] || fail "no sign_pk in $PUB_B"

# Two inputs: 1500 and 1200 keys, 600 in common (some UTF-8), plus a
# duplicate and an empty key on each side.
awk 'BEGIN {
	print "id,email,city"
	for (i = 0; i < 1500; i++) {
		k = (i < 600) ? sprintf("c%05d@example.org", i * 7) : sprintf("a%05d@example.org", i)
		if (i % 100 == 3) k = "zoë" k
		printf "%d,%s,x\n", i, k
	}
	print "9998,c00000@example.org,dup"
	print "9999,,empty"
}' >"$WORK/a.csv"
awk 'BEGIN {
	print "email,score"
	for (i = 1199; i >= 0; i--) {
		k = (i < 600) ? sprintf("c%05d@example.org", i * 7) : sprintf("b%05d@example.org", i)
		if (i % 100 == 3) k = "zoë" k
		printf "%s,%d\n", k, i
	}
	print "b00700@example.org,dup"
	print ",empty"
}' >"$WORK/b.csv"
tail -n +2 "$WORK/a.csv" | cut -d, -f2 | grep . | sort -u >"$WORK/a.keys"
tail -n +2 "$WORK/b.csv" | cut -d, -f1 | grep . | sort -u >"$WORK/b.keys"
comm -12 "$WORK/a.keys" "$WORK/b.keys" >"$WORK/expect.keys"
[ "$(wc -l <"$WORK/expect.keys")" -eq 600 ] || fail "test data: expected 600 common keys"

# start_server ARGS...: run `psi serve` on a free port in the background;
# sets SERVER (pid) and PORT.
start_server() {
	# Empty the last server's output first: the shell truncates it in
	# the child, and the loop below could read the old port before that.
	: >"$WORK/serve.err"
	"$SEALROOM" psi serve --listen 127.0.0.1:0 --home "$WORK/b" \
		--input "$WORK/b.csv" --column email "$@" \
		>"$WORK/serve.out" 2>"$WORK/serve.err" &
	SERVER=$!
	PORT=
	for _ in $(seq 1 600); do   # the key derivation of a loaded machine may take seconds
		PORT=$(sed -n 's/^psi: listening on 127\.0\.0\.1:\([0-9][0-9]*\) .*/\1/p' "$WORK/serve.err")
		[ -n "$PORT" ] && return 0
		kill -0 "$SERVER" 2>/dev/null || break
		sleep 0.1
	done
	cat "$WORK/serve.err" >&2
	fail "the server did not start"
}

# server_expect CODE: wait for the server and check its exit code.
server_expect() {
	local got=0
	wait "$SERVER" || got=$?
	SOUT=$(cat "$WORK/serve.out")
	SERR=$(cat "$WORK/serve.err")
	if [ "$got" -ne "$1" ]; then
		echo "server stdout: $SOUT" >&2
		echo "server stderr: $SERR" >&2
		fail "server exit code $got, expected $1"
	fi
	ok
}

# 1. Intersection to both, the peer given as identity.pub / as hex.
start_server --peer "$PUB_A" --result-to both --output "$WORK/b.out"
run_expect 0 sr psi connect "127.0.0.1:$PORT" --home "$WORK/a" \
	--input "$WORK/a.csv" --column email --peer "$HEX_B" \
	--result-to both --output "$WORK/a.out"
contains "$OUT" "intersection: 600 keys"
contains "$OUT" "1502 rows, 1500 distinct keys (1 empty, 1 duplicate)"
server_expect 0
contains "$SOUT" "intersection: 600 keys"
contains "$SOUT" "1202 rows, 1200 distinct keys (1 empty, 1 duplicate)"
contains "$SERR" "listening on 127.0.0.1:"
[ "$(head -1 "$WORK/a.out")" = "row,email" ] || fail "a.out header"
tail -n +2 "$WORK/a.out" | cut -d, -f2 | sort >"$WORK/a.got"
tail -n +2 "$WORK/b.out" | cut -d, -f2 | sort >"$WORK/b.got"
cmp -s "$WORK/a.got" "$WORK/expect.keys" || fail "receiver's intersection differs from comm"
ok
cmp -s "$WORK/b.got" "$WORK/expect.keys" || fail "sender's intersection differs from comm"
ok
# Same order on both sides, row by row.
cmp -s <(tail -n +2 "$WORK/a.out" | cut -d, -f2) <(tail -n +2 "$WORK/b.out" | cut -d, -f2) ||
	fail "the two outputs are not in the same order"
ok
# The row column points at the input row holding that key.
awk -F, 'NR == FNR { if (FNR > 1) key[FNR - 2] = $2; next }
	FNR > 1 && key[$1] != $2 { bad++ } END { exit bad ? 1 : 0 }' \
	"$WORK/a.csv" "$WORK/a.out" || fail "receiver's row numbers do not match its input"
ok
# The sorted order is not the row order (rows are aligned by the agreed order).
[ "$(tail -n +2 "$WORK/a.out" | cut -d, -f1)" != "$(tail -n +2 "$WORK/a.out" | cut -d, -f1 | sort -n)" ] ||
	fail "output is in row order: expected the agreed (random) order"
ok

# 2. Result to the receiver only: the server learns nothing.
start_server --peer "$PUB_A" --json
run_expect 0 sr psi connect "127.0.0.1:$PORT" --home "$WORK/a" \
	--input "$WORK/a.csv" --column email --peer "$PUB_B" --output "$WORK/a2.out"
server_expect 0
contains "$SOUT" '"role": "sender"'
case "$SOUT" in *intersection_size*) fail "the sender learned the size" ;; esac
ok
cmp -s <(tail -n +2 "$WORK/a2.out" | cut -d, -f2 | sort) "$WORK/expect.keys" || fail "receiver-only result"
ok

# 2b. The protocol: the default ran kkrt; --protocol ecdh gives the same
# keys; the two sides on different protocols are refused at the hello.
contains "$SOUT" '"protocol": "kkrt"'
start_server --peer "$PUB_A" --protocol ecdh --json
run_expect 0 sr psi connect "127.0.0.1:$PORT" --home "$WORK/a" --protocol ecdh \
	--input "$WORK/a.csv" --column email --peer "$PUB_B" --output "$WORK/a3.out" --json
contains "$OUT" '"protocol": "ecdh"'
server_expect 0
cmp -s <(tail -n +2 "$WORK/a3.out" | cut -d, -f2 | sort) "$WORK/expect.keys" || fail "ecdh result"
ok
start_server --peer "$PUB_A" --protocol ecdh
run_expect 1 sr psi connect "127.0.0.1:$PORT" --home "$WORK/a" --protocol kkrt \
	--input "$WORK/a.csv" --column email --peer "$PUB_B" --output "$WORK/bad-p.out"
server_expect 1
contains "$SERR" "protocol kkrt, we run ecdh"
[ ! -e "$WORK/bad-p.out" ] || fail "output written after a protocol mismatch"
ok
run_expect 2 sr psi connect "127.0.0.1:1" --home "$WORK/a" --protocol rr22 \
	--input "$WORK/a.csv" --column email --peer "$PUB_B"
contains "$ERR" "unknown psi protocol 'rr22'"
run_expect 2 sr psi connect "127.0.0.1:1" --home "$WORK/a" --protocol kkrt --mode cardinality \
	--input "$WORK/a.csv" --column email --peer "$PUB_B"
contains "$ERR" "kkrt"

# 3. Normalization: case and spacing variants match only when declared.
printf 'name\n Alice \nBOB\ncarol\n+33 6 12 34 56 78\n' >"$WORK/n1.csv"
printf 'name\nalice\nbob\n Carol\n33-612-345-678\n' >"$WORK/n2.csv"
run_norm() {
	: >"$WORK/serve.err"   # see start_server
	"$SEALROOM" psi serve --listen 127.0.0.1:0 --home "$WORK/b" --input "$WORK/n2.csv" \
		--column name --peer "$PUB_A" "$@" >"$WORK/serve.out" 2>"$WORK/serve.err" &
	SERVER=$!
	for _ in $(seq 1 600); do   # the key derivation of a loaded machine may take seconds
		PORT=$(sed -n 's/^psi: listening on 127\.0\.0\.1:\([0-9][0-9]*\) .*/\1/p' "$WORK/serve.err")
		[ -n "$PORT" ] && break
		sleep 0.1
	done
	run_expect 0 sr psi connect "127.0.0.1:$PORT" --home "$WORK/a" --input "$WORK/n1.csv" \
		--column name --peer "$PUB_B" --mode cardinality "$@"
	server_expect 0
}
run_norm --mode cardinality
contains "$OUT" "intersection: 0 keys"
run_norm --mode cardinality --normalize trim,lower
contains "$OUT" "intersection: 3 keys"
run_norm --mode cardinality --normalize digits
contains "$OUT" "intersection: 1 keys"     # the phone number only

# 4. Cardinality: only the size, no output file.
start_server --peer "$PUB_A" --mode cardinality
run_expect 0 sr psi connect "127.0.0.1:$PORT" --home "$WORK/a" \
	--input "$WORK/a.csv" --column email --peer "$PUB_B" --mode cardinality --json
contains "$OUT" '"intersection_size": 600'
server_expect 0

# 5. A wrong peer is refused on both sides, and nothing is written.
start_server --peer "$PUB_C" --result-to both --output "$WORK/bad-b.out"
run_expect 1 sr psi connect "127.0.0.1:$PORT" --home "$WORK/a" \
	--input "$WORK/a.csv" --column email --peer "$PUB_B" \
	--result-to both --output "$WORK/bad-a.out"
contains "$ERR" "refused the connection"
server_expect 1
contains "$SERR" "refused a connection from org_"
[ ! -e "$WORK/bad-a.out" ] && [ ! -e "$WORK/bad-b.out" ] || fail "output written after a refusal"
ok
# ... and a client expecting another server refuses it.
start_server --peer "$PUB_A"
run_expect 1 sr psi connect "127.0.0.1:$PORT" --home "$WORK/a" \
	--input "$WORK/a.csv" --column email --peer "$PUB_C" --output "$WORK/bad-a.out"
contains "$ERR" "not the configured peer"
server_expect 1
contains "$SERR" "does not accept our identity"

# 6. Parameters that differ are refused with a reason.
start_server --peer "$PUB_A" --mode cardinality
run_expect 1 sr psi connect "127.0.0.1:$PORT" --home "$WORK/a" \
	--input "$WORK/a.csv" --column email --peer "$PUB_B" --output "$WORK/bad-a.out"
contains "$ERR" "parameters differ"
server_expect 1
contains "$SERR" "mode"
[ ! -e "$WORK/bad-a.out" ] || fail "output written after a failure"
ok

# 7. Usage.
run_expect 0 sr psi --help
contains "$OUT" "sealroom psi serve --listen ADDR"
run_expect 2 sr psi serve --input "$WORK/a.csv"
contains "$ERR" "--listen"
run_expect 2 sr psi connect 127.0.0.1:1 --input "$WORK/a.csv" --column email --peer "$PUB_B"
contains "$ERR" "--output"
run_expect 2 sr psi connect 127.0.0.1:1 --input x --column y --peer z --normalize upper --output o
contains "$ERR" "unknown normalization"
# A timeout past int range must not wrap into range (4294967306 = 2^32 + 10).
for t in 4294967306 86401 -1 10x ""; do
	run_expect 2 sr psi connect 127.0.0.1:1 --input x --column y --peer z --output o --timeout "$t"
	contains "$ERR" "bad value"
done
run_expect 1 sr psi connect 127.0.0.1:1 --home "$WORK/a" --input "$WORK/a.csv" \
	--column nope --peer "$PUB_B" --output "$WORK/x.out"
contains "$ERR" "no column 'nope'"
run_expect 1 sr psi connect 127.0.0.1:1 --home "$WORK/a" --input "$WORK/a.csv" \
	--column email --peer 1234 --output "$WORK/x.out"
contains "$ERR" "--peer"

finish

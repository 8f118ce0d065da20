#!/usr/bin/env bash
# sealroom token: create with a role (shown once), list without secrets,
# revoke; bad roles and names refused with clear errors.
. "$(dirname "$0")/lib.sh"

H="$WORK/home"
run_expect 0 sr init --home "$H" --kdf test
run_expect 0 sr token create alice --role steward --home "$H"
tok=$(echo "$OUT" | head -n 1)
case "$tok" in srt_????????????????????????????????????????????????????????????????) ok ;; *) fail "token format: $tok" ;; esac
contains "$OUT" "role steward"
run_expect 0 sr token create bob --role analyst --json --home "$H"
contains "$OUT" '"role": "analyst"'
run_expect 1 sr token create alice --role admin --home "$H"
contains "$ERR" "a live token named 'alice' exists"
run_expect 2 sr token create carol --role boss --home "$H"
contains "$ERR" "unknown role 'boss'"
run_expect 2 sr token create carol --home "$H"
contains "$ERR" "--role is required"
run_expect 1 sr token create "bad name" --role admin --home "$H"
contains "$ERR" "token name"
run_expect 0 sr token list --home "$H"
contains "$OUT" "alice"
contains "$OUT" "live"
case "$OUT" in *"$tok"*) fail "list shows a secret" ;; esac
ok
# The database holds no token in clear.
if grep -q "${tok#srt_}" "$H/node.db" "$H"/node.db-wal 2>/dev/null; then fail "token stored in clear"; fi
ok
run_expect 0 sr token revoke alice --home "$H"
run_expect 0 sr token list --json --home "$H"
contains "$OUT" '"revoked": true'
run_expect 1 sr token revoke alice --home "$H"
contains "$ERR" "no live token named 'alice'"
run_expect 0 sr token create alice --role admin --home "$H"
run_expect 0 sr token --help
finish

#!/bin/sh
# server_damaged.sh -- a store row that cannot be read costs its own
# answer, nothing else: a decision whose compressed explanation
# (decisions.why) was damaged on disk is a 500 naming it when read back
# (GET /v1/leads/ID, or the same lead posted again), the server keeps
# running and routing, and other leads read as before.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_server.sh"

# 30 agents in one pool: each explanation lists 30 candidates, enough for
# the store to keep it compressed.
{
    echo "agents:"
    i=0
    while [ $i -lt 30 ]; do echo "  - {id: a$i}"; i=$((i + 1)); done
    printf 'pools:\n  all: ['
    i=0
    while [ $i -lt 30 ]; do printf '%sa%d' "$( [ $i -gt 0 ] && echo ', ')" $i; i=$((i + 1)); done
    printf ']\nrules:\n  - {name: all, pool: all, strategy: round_robin}\n'
} >"$SRV/big.yaml"

damaged_why_is_a_500_for_its_lead_only() {
    KEY=$(mkkey "$T/s.db" admin)
    srv_start dmg "$T/s.db" "$SRV/big.yaml" || { fail "$srv_error"; return; }
    api POST /v1/leads '{"id":"D1"}'
    expect_code 201
    cp "$RB" "$T/first.json"
    api POST /v1/leads '{"id":"D2"}'
    expect_code 201
    srv_term dmg
    python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("SELECT count(*) FROM decisions WHERE lead = ? AND why IS NOT NULL", ("D1",)).fetchone()[0]
if n != 1: sys.exit("D1 explanation not stored compressed: %d" % n)
db.execute("UPDATE decisions SET why = substr(why, 1, length(why) - 9) WHERE lead = ?", ("D1",))
db.commit()' "$T/s.db" || { fail "could not damage the row"; return; }

    srv_start dmg "$T/s.db" "$SRV/big.yaml" || { fail "$srv_error"; return; }
    api GET /v1/leads/D1
    expect_error 500 internal
    api POST /v1/leads '{"id":"D1"}'              # the idempotent replay reads it too
    expect_error 500 internal
    expect_body_has "cannot be read"
    api GET /v1/leads/D2                          # the others read as before
    expect_code 200
    expect_jq '.decisions[0].why.candidates | length' 30
    api POST /v1/leads '{"id":"D3"}'              # and routing goes on
    expect_code 201
    expect_jq '.decisions[0].agent' '"a2"'
    srv_term dmg
    [ "$srv_rc" = 0 ] || fail "server exit status $srv_rc after SIGTERM"
}

tcase damaged_why_is_a_500_for_its_lead_only
finish

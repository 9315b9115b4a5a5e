#!/bin/sh
# server_damaged.sh -- a store row that cannot be read costs its own
# answer, nothing else: a decision whose compressed explanation
# (decisions.why) was damaged on disk is a 500 naming it when read back
# (GET /v1/leads/ID, or the same lead posted again), the server keeps
# running and routing, and other leads read as before. Another process
# that holds the store's lock longer than the busy timeout makes requests
# wait, not the server stop.
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

# A sqlite3 client holds the store's write lock past the 5 s busy timeout
# (until the test lets go, once the server has said it waits): the lead
# posted meanwhile is answered once the lock is free, and the server says
# why it waited.
a_store_locked_by_another_process_makes_requests_wait() {
    KEY=$(mkkey "$SRV/lk.db" admin)
    srv_start L "$SRV/lk.db" "$SRV/big.yaml" || { fail "$srv_error"; return; }
    hold_lock "$SRV/lk.db" || fail "the lock was not taken"
    curl -s -o "$SRV/lk1.body" -w '%{http_code}' --max-time 150 -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' --data-binary '{"id":"LK1"}' "$URL/v1/leads" \
        >"$SRV/lk1.code" &
    _c=$!
    # the writer gives up on SQLite's busy timeout (5 s), then says it waits
    _i=0
    while [ $_i -lt 600 ] && ! grep -q 'the store is locked by another process: waiting' "$SRV/L.err"; do
        sleep 0.1; _i=$((_i + 1))
    done
    grep -q 'the store is locked by another process: waiting' "$SRV/L.err" ||
        { fail "no word of the wait within 60 s"; show stderr "$SRV/L.err"; }
    [ -s "$SRV/lk1.code" ] && fail "LK1 was answered while the store was locked: $(cat "$SRV/lk1.code")"
    release_lock
    wait $_c
    [ "$(cat "$SRV/lk1.code")" = 201 ] ||
        { fail "HTTP status $(cat "$SRV/lk1.code") for the lead posted while the store was locked, expected 201"; show body "$SRV/lk1.body"; }
    api GET /v1/leads/LK1
    expect_code 200 "the lead posted while the store was locked"
    grep -q 'the store is free again' "$SRV/L.err" || fail "no word of the lock's end"
    api POST /v1/leads '{"id":"LK2"}'
    expect_code 201 "the next lead"
    srv_term L
    [ "$srv_rc" = 0 ] || fail "serve exited $srv_rc"
}

# A journaled config that no longer loads (damaged in the store) is
# named by its journal entry, not by the --config file of this start.
a_damaged_journaled_config_is_named_by_its_entry() {
    KEY=$(mkkey "$SRV/jc.db" admin)
    srv_start J "$SRV/jc.db" "$SRV/big.yaml" || { fail "$srv_error"; return; }
    api POST /v1/leads '{"id":"J1"}'
    expect_code 201
    srv_term J
    /usr/bin/python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n = c.execute("UPDATE events SET body = ? WHERE type = ?", ("agents: [\n", "config")).rowcount
c.commit()
print(n)
' "$SRV/jc.db" >"$SRV/jc.n"
    [ "$(cat "$SRV/jc.n")" = 1 ] || { fail "no config entry in the journal"; return; }
    timeout 60 "$BIN" serve --db "$SRV/jc.db" --config "$SRV/big.yaml" --listen 127.0.0.1:0 \
        >/dev/null 2>"$SRV/jc.err"
    rc=$?
    expect_status 2
    grep -q 'journal entry 1 (config):2:1: YAML syntax error' "$SRV/jc.err" ||
        { fail "the damaged config is not named by its entry"; show stderr "$SRV/jc.err"; }
    grep -q 'big.yaml:' "$SRV/jc.err" && fail "the message names the --config file"
}

tcase damaged_why_is_a_500_for_its_lead_only
tcase a_store_locked_by_another_process_makes_requests_wait
tcase a_damaged_journaled_config_is_named_by_its_entry
finish

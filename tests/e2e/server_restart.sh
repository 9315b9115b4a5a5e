#!/bin/sh
# server_restart.sh -- `leadrouter serve` keeps its state across a stop:
#
#   - two servers, A (fsync on its flush thread) and B (--inline-fsync),
#     get the same requests (round robin, weighted
#     round robin credits, a seeded random strategy, a broadcast offer left
#     pending, a pull queue, a lead waiting for capacity, progress, a
#     status change, a PUT /v1/config); A is stopped with SIGTERM (exit 0)
#     and started again on its store; what a client sees of A (agents,
#     stats, config, every lead) is identical before and after, and from
#     then on A decides exactly as B, which never stopped;
#   - a --config equal to the stored config changes nothing; a different
#     one is a config change;
#   - SIGTERM while a batch of posts is in flight: every lead that got a
#     2xx is there after the restart, and none that got 503;
#   - under concurrent posts, a commit waits for the running flush: one
#     flush per commit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_server.sh"

cat >"$SRV/c1.yaml" <<'EOF'
agents:
  - {id: ann, capacity: 6, weight: 3, caps: {week: 50}}
  - {id: ben, capacity: 6, weight: 2}
  - {id: cat, weight: 1, caps: {day: 3}}
  - {id: dan}
  - {id: eve}
  - {id: sdr}
  - {id: tia, capacity: 1}
pools:
  turn: [ann, ben, cat]
  wrr: [ann, ben, cat]
  rnd: [dan, eve, ann]
  hot: [dan, eve]
  pull: [sdr, dan]
  solo: [tia]
rules:
  - {name: hot, when: 'score >= 90', pool: hot, strategy: broadcast}
  - {name: pull, when: 'source == "list"', pool: pull, strategy: queue}
  - {name: solo, when: 'source == "solo"', pool: solo, strategy: round_robin, fallback: queue}
  - {name: weighted, when: 'source == "ads"', pool: wrr, strategy: weighted_round_robin}
  - {name: random, when: 'source == "rnd"', pool: rnd, strategy: random}
  - {name: turn, pool: turn, strategy: round_robin, fallback: queue}
EOF
sed 's/{id: cat, weight: 1, caps: {day: 3}}/{id: cat, weight: 2, caps: {day: 4}}/' "$SRV/c1.yaml" >"$SRV/c2.yaml"

ADB="$SRV/a.db"
BDB="$SRV/b.db"
KA=$(mkkey "$ADB" admin)
KB=$(mkkey "$BDB" admin)
NODATE='[.decisions[]? | del(.at)]'
NOSINCE='del(.agents[].status_since)'    # each server's own clock

# both METHOD PATH [JSON]: the request to A then to B; A's reply in
# $SRV/last.a, B's in $SRV/last.b. The two must agree on the status and on
# the decisions (but their times).
both() {
    srv_use A; KEY=$KA; api "$@"; _ca=$code; cp "$RB" "$SRV/last.a"
    srv_use B; KEY=$KB; api "$@"; _cb=$code; cp "$RB" "$SRV/last.b"
    srv_use A; KEY=$KA
    if [ "$_ca" != "$_cb" ]; then
        fail "$1 $2: A says $_ca, B says $_cb"
        show A "$SRV/last.a"; show B "$SRV/last.b"
    fi
    if [ "$(jq -c "$NODATE" "$SRV/last.a")" != "$(jq -c "$NODATE" "$SRV/last.b")" ]; then
        fail "$1 $2: A and B decide differently"
        show A "$SRV/last.a"; show B "$SRV/last.b"
    fi
}

# lead_both ID JSON [EXPECTED-ACTION EXPECTED-AGENT]: a new lead to both
# (AGENT: "-" for none, "a,b" for an offer).
lead_both() {
    both POST /v1/leads "$2"
    [ "$_ca" = 201 ] || fail "lead $1: HTTP $_ca"
    if [ $# -ge 4 ]; then
        _got=$(jq -r '.decisions[0] | "\(.action) \(.agent // .agents // "-")"' "$SRV/last.a" | tr -d '[]"')
        [ "$_got" = "$3 $4" ] || fail "lead $1: $_got, expected $3 $4"
    fi
    echo "$1" >>"$SRV/ids"
}

# snapshot NAME: what a client can see of A, into $SRV/NAME.*
snapshot() {
    srv_use A; KEY=$KA
    api GET /v1/agents; cp "$RB" "$SRV/$1.agents"
    # the age of the oldest waiting lead moves with the clock: left out
    api GET /v1/stats;  jq -c 'del(.queues[].oldest_ms)' "$RB" >"$SRV/$1.stats"
    api GET /v1/config; cp "$RB" "$SRV/$1.config"
    list_all "" "$SRV/$1.leads"
    get_each "$SRV/ids" "$SRV/$1.each"
}

twins_start() {
    # the hour, day and week windows (GET /v1/agents shows them) must not
    # roll over during the file
    clear_of_boundary 3 1
    : >"$SRV/ids"
    srv_start A "$ADB" "$SRV/c1.yaml" --seed 7 --rate-limit 0 || { fail "$srv_error"; show stderr "$SRV/A.err"; }
    # B fsyncs inside each commit; A on its flush thread: same answers
    srv_start B "$BDB" "$SRV/c1.yaml" --seed 7 --rate-limit 0 --inline-fsync \
        || { fail "$srv_error"; show stderr "$SRV/B.err"; }
}

# A flushes on its own thread and says so in /metrics; B, --inline-fsync, not.
the_flush_thread_is_in_the_metrics() {
    srv_use A; KEY=$KA; api GET /metrics
    expect_code 200
    _n=$(sed -n 's/^leadrouter_fsync_seconds_count \([0-9]*\)$/\1/p' "$RB")
    _c=$(sed -n 's/^leadrouter_commit_seconds_count \([0-9]*\)$/\1/p' "$RB")
    [ "${_n:-0}" -ge 1 ] || fail "A: leadrouter_fsync_seconds_count is '$_n'"
    [ "${_n:-0}" -le "${_c:-0}" ] || fail "A: $_n fsyncs for $_c commits"
    _inf=$(sed -n 's/^leadrouter_fsync_seconds_bucket{le="+Inf"} \([0-9]*\)$/\1/p' "$RB")
    [ "$_inf" = "$_n" ] || fail "A: fsync +Inf bucket '$_inf' != count '$_n'"
    srv_use B; KEY=$KB; api GET /metrics
    expect_code 200
    ! grep -q '^leadrouter_fsync_seconds' "$RB" || fail "B (--inline-fsync) has a flush thread"
    grep -q '^leadrouter_commit_seconds_count [1-9]' "$RB" || fail "B: no commits counted"
    srv_use A; KEY=$KA
}

twins_get_the_same_requests() {
    # round robin over ann, ben, cat
    lead_both R1 '{"id":"R1"}' assigned ann
    lead_both R2 '{"id":"R2"}' assigned ben
    lead_both R3 '{"id":"R3"}' assigned cat
    lead_both R4 '{"id":"R4"}' assigned ann
    # smooth weighted round robin 3:2:1
    lead_both W1 '{"id":"W1","source":"ads"}' assigned ann
    lead_both W2 '{"id":"W2","source":"ads"}' assigned ben
    lead_both W3 '{"id":"W3","source":"ads"}' assigned ann
    lead_both W4 '{"id":"W4","source":"ads"}' assigned cat
    lead_both W5 '{"id":"W5","source":"ads"}' assigned ben
    # the seeded random strategy
    for _i in 1 2 3 4; do lead_both "X$_i" "{\"id\":\"X$_i\",\"source\":\"rnd\"}"; done
    # offers: H1 stays pending, H2 is claimed
    lead_both H1 '{"id":"H1","score":95}' offered dan,eve
    lead_both H2 '{"id":"H2","score":99}' offered dan,eve
    both POST /v1/leads/H2/claim '{"agent":"eve"}'
    expect_jq '[.decisions[] | {lead, action, agent}]' '[{"lead":"H2","action":"claimed","agent":"eve"}]'
    # a pull queue: Q1 taken, Q2 and Q3 wait
    lead_both Q1 '{"id":"Q1","source":"list"}' queued -
    lead_both Q2 '{"id":"Q2","source":"list"}' queued -
    lead_both Q3 '{"id":"Q3","source":"list"}' queued -
    both POST /v1/agents/sdr/next
    expect_jq '[.decisions[] | {lead, action, agent}]' '[{"lead":"Q1","action":"claimed","agent":"sdr"}]'
    # tia has room for one: S2 waits for capacity
    lead_both S1 '{"id":"S1","source":"solo"}' assigned tia
    lead_both S2 '{"id":"S2","source":"solo"}' queued -
    # progress; R4 qualified goes round again
    both POST /v1/leads/R1/progress '{"status":"won","value":1000}'
    both POST /v1/leads/R2/progress '{"status":"contacted"}'
    both POST /v1/leads/R4/progress '{"status":"qualified"}'
    both POST /v1/agents/ben/status '{"status":"away"}'
    # a config change (rotations go on where they were); then more of each
    for _s in A B; do
        srv_use $_s; eval "KEY=\$K$_s"
        req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
            --data-binary @"$SRV/c2.yaml"
        expect_code 200 "PUT /v1/config on $_s"
        jq -c "$NODATE" "$RB" >"$SRV/put.$_s"
    done
    srv_use A; KEY=$KA
    same "$SRV/put.A" "$SRV/put.B" "PUT /v1/config decisions"
    lead_both R5 '{"id":"R5"}' assigned cat
    lead_both R6 '{"id":"R6"}' assigned ann
    lead_both W6 '{"id":"W6","source":"ads"}'
    lead_both X5 '{"id":"X5","source":"rnd"}'
    api GET /v1/stats
    expect_jq '.queues.pull.waiting' 2
    expect_jq '.queues.hot.waiting' 1
    expect_jq '.queues.solo.waiting' 1
}

sigterm_then_restart_restores_everything() {
    snapshot before
    srv_term A
    [ "$srv_rc" -eq 0 ] || { fail "exit status $srv_rc after SIGTERM"; show stderr "$SRV/A.err"; }
    grep -q '^leadrouter: stopped$' "$SRV/A.err" || fail "no 'stopped' line"
    : >"$SRV/A.err"
    srv_start A "$ADB" "" --seed 7 --rate-limit 0 || { fail "$srv_error"; show stderr "$SRV/A.err"; return; }
    snapshot after
    same "$SRV/before.agents" "$SRV/after.agents" "GET /v1/agents"
    same "$SRV/before.stats" "$SRV/after.stats" "GET /v1/stats"
    same "$SRV/before.config" "$SRV/after.config" "GET /v1/config"
    same "$SRV/before.leads" "$SRV/after.leads" "GET /v1/leads"
    same "$SRV/before.each" "$SRV/after.each" "GET /v1/leads/{id} of every lead"
    # and B, which never stopped, has the same agents (when each status
    # was set is each server's own clock)
    srv_use B; KEY=$KB
    api GET /v1/agents
    jq -c "$NOSINCE" "$SRV/after.agents" >"$SRV/after.a"
    jq -c "$NOSINCE" "$RB" >"$SRV/after.b"
    same "$SRV/after.a" "$SRV/after.b" "GET /v1/agents of A (restarted) and B"
    srv_use A; KEY=$KA
}

after_the_restart_a_decides_as_b() {
    # rotation positions and credits, the generator; the turn after ann
    # is cat's (ben is away), where a fresh rotation would start at ann
    lead_both R7 '{"id":"R7"}' assigned cat
    for _i in 8 9 10; do lead_both "R$_i" "{\"id\":\"R$_i\"}"; done
    for _i in 7 8 9; do lead_both "W$_i" "{\"id\":\"W$_i\",\"source\":\"ads\"}"; done
    for _i in 6 7 8 9; do lead_both "X$_i" "{\"id\":\"X$_i\",\"source\":\"rnd\"}"; done
    # the lead waiting for capacity, the pending offer, the queue
    both POST /v1/leads/S1/progress '{"status":"won"}'
    expect_jq '[.decisions[] | {lead, action, agent, reason: .why.reason}]' \
        '[{"lead":"S1","action":"closed","agent":"tia","reason":null},{"lead":"S2","action":"assigned","agent":"tia","reason":"capacity_freed"}]'
    both POST /v1/leads/H1/claim '{"agent":"dan"}'
    expect_jq '[.decisions[] | {lead, action, agent}]' '[{"lead":"H1","action":"claimed","agent":"dan"}]'
    both POST /v1/agents/sdr/next
    expect_jq '[.decisions[] | {lead, action, agent}]' '[{"lead":"Q2","action":"claimed","agent":"sdr"}]'
    both POST /v1/agents/ben/status '{"status":"available"}'
    both POST /v1/leads/R4/progress '{"status":"lost"}'
    lead_both R11 '{"id":"R11"}'
    # at the end both have the same agents and the same leads
    srv_use B; KEY=$KB
    api GET /v1/agents; jq -c "$NOSINCE" "$RB" >"$SRV/b.agents"
    list_all "" "$SRV/b.leads"
    srv_use A; KEY=$KA
    api GET /v1/agents; jq -c "$NOSINCE" "$RB" >"$SRV/a.agents"
    same "$SRV/b.agents" "$SRV/a.agents" "GET /v1/agents of A and B"
    list_all "" "$SRV/a.leads"
    jq -c '[.[] | del(.received_at)]' "$SRV/a.leads" >"$SRV/a.l"
    jq -c '[.[] | del(.received_at)]' "$SRV/b.leads" >"$SRV/b.l"
    same "$SRV/b.l" "$SRV/a.l" "GET /v1/leads of A and B (but times)"
}

restart_with_the_stored_config_changes_nothing() {
    api GET /v1/config; cp "$RB" "$SRV/cfg.before"
    api GET /v1/agents; cp "$RB" "$SRV/ag.before"
    srv_term A
    [ "$srv_rc" -eq 0 ] || fail "exit status $srv_rc after SIGTERM"
    : >"$SRV/A.err"
    srv_start A "$ADB" "$SRV/c2.yaml" --seed 7 --rate-limit 0 || { fail "$srv_error"; show stderr "$SRV/A.err"; return; }
    ! grep -q "differs from the config stored" "$SRV/A.err" || fail "an unchanged --config said it differs"
    api GET /v1/config
    same "$SRV/cfg.before" "$RB" "GET /v1/config"
    api GET /v1/agents
    same "$SRV/ag.before" "$RB" "GET /v1/agents"
}

restart_with_another_config_is_a_config_change() {
    _v=$(jq .version "$SRV/cfg.before")
    srv_term A
    [ "$srv_rc" -eq 0 ] || fail "exit status $srv_rc after SIGTERM"
    : >"$SRV/A.err"
    srv_start A "$ADB" "$SRV/c1.yaml" --seed 7 --rate-limit 0 || { fail "$srv_error"; show stderr "$SRV/A.err"; return; }
    # the operator is told that the file replaced the stored config
    grep -q "^leadrouter: $SRV/c1.yaml differs from the config stored in $ADB: applied as a config change" \
        "$SRV/A.err" || { fail "no word that the file replaced the stored config"; show stderr "$SRV/A.err"; }
    api GET /v1/config
    expect_jq .config "$(jq -Rs -c . "$SRV/c1.yaml")"
    expect_jq ".version > $_v" true
    api GET /v1/agents/cat
    expect_jq '{weight, cap: .window.day.cap}' '{"weight":1,"cap":3}'
    # and it is journaled: a plain restart keeps it
    cp "$RB" "$SRV/cat.before"
    api GET /v1/config; cp "$RB" "$SRV/cfg.c1"
    srv_term A
    srv_start A "$ADB" "" --seed 7 --rate-limit 0 || { fail "$srv_error"; return; }
    api GET /v1/config
    same "$SRV/cfg.c1" "$RB" "GET /v1/config after a plain restart"
    api GET /v1/agents/cat
    same "$SRV/cat.before" "$RB" "GET /v1/agents/cat after a plain restart"
}

twins_stop_with_exit_0() {
    srv_term A
    [ "$srv_rc" -eq 0 ] || { fail "A: exit status $srv_rc"; show stderr "$SRV/A.err"; }
    srv_term B
    [ "$srv_rc" -eq 0 ] || { fail "B: exit status $srv_rc"; show stderr "$SRV/B.err"; }
}

# ---- SIGTERM under load ---------------------------------------------------

# posts_cfg PREFIX N: a curl config (-K) posting N leads PREFIX1..PREFIXN
# to $URL with $KEY, each writing one line "ID STATUS".
posts_cfg() {
    echo 'silent'
    echo "max-time = $CURL_MAX"
    echo "header = \"Authorization: Bearer $KEY\""
    echo 'header = "Content-Type: application/json"'
    _i=0
    while [ $_i -lt "$2" ]; do
        _i=$((_i + 1))
        [ $_i -gt 1 ] && echo 'next'
        echo "url = \"$URL/v1/leads\""
        echo "data-binary = \"{\\\"id\\\":\\\"$1$_i\\\",\\\"source\\\":\\\"rnd\\\"}\""
        echo 'output = "/dev/null"'
        printf 'write-out = "%s%d %%{http_code}\\n"\n' "$1" $_i
        [ $_i -gt 1 ] && echo 'silent' && echo "max-time = $CURL_MAX" \
            && echo "header = \"Authorization: Bearer $KEY\"" && echo 'header = "Content-Type: application/json"'
    done
}

# A config this version refuses (a rule name with a tab, accepted before
# such names were) loads from the journal as it was accepted; a PUT of the
# same text is no change, and another such text is refused with its errors.
a_put_of_the_config_in_use_that_this_version_refuses_is_no_change() {
    _db="$SRV/j.db"
    KEY=$(mkkey "$_db" admin)
    printf 'agents: [{id: a}]\npools: {p: [a]}\nrules:\n  - {name: r, pool: p, strategy: top_down}\n' >"$SRV/j1.yaml"
    srv_start J "$_db" "$SRV/j1.yaml" --rate-limit 0 || { fail "$srv_error"; show stderr "$SRV/J.err"; return; }
    srv_term J
    # the journal's config as an older version stored it
    printf 'agents: [{id: a}]\npools: {p: [a]}\nrules:\n  - {name: "r\\tx", pool: p, strategy: top_down}\n' >"$SRV/j2.yaml"
    python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE events SET body = ? WHERE type = ?", (open(sys.argv[2]).read(), "config"))
c.commit()' "$_db" "$SRV/j2.yaml" || { fail "could not rewrite the journal"; return; }
    srv_start J "$_db" "" --rate-limit 0 || { fail "$srv_error"; show stderr "$SRV/J.err"; return; }
    api GET /v1/config
    expect_jq '.config' "$(jq -Rs -c . "$SRV/j2.yaml")"
    _v=$(jq .version "$RB")
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
        --data-binary @"$SRV/j2.yaml"
    expect_code 200
    expect_jq . "{\"version\":$_v,\"unchanged\":true}"
    sed 's/r\\tx/q\\tx/' "$SRV/j2.yaml" >"$SRV/j3.yaml"
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
        --data-binary @"$SRV/j3.yaml"
    expect_error 422 invalid_config
    expect_jq '.error.details[0]' '"config:4:13: rule #1: '"'name'"' must be a string of 1 to 256 bytes without a control character, got the string \"q?x\""'
    api GET /v1/config
    expect_jq '.version' "$_v"
    srv_term J
    [ "$srv_rc" -eq 0 ] || fail "exit status $srv_rc after SIGTERM"
}

# While a stopping server drains (a request half sent holds it), a new
# connection is refused at once rather than left in the kernel's queue
# until the drain ends; the request in flight then gets its answer.
a_stopping_server_refuses_new_connections() {
    _db="$SRV/q.db"
    KEY=$(mkkey "$_db" admin)
    srv_start Q "$_db" "$SRV/c1.yaml" --rate-limit 0 || { fail "$srv_error"; show stderr "$SRV/Q.err"; return; }
    python3 - "$URL" "$KEY" "$Q_PID" >"$SRV/q.out" 2>&1 <<'PY'
import os, signal, socket, sys, time
url, key, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = url.split("//")[1].split(":")
body = b'{"id":"QD1","source":"rnd"}'
a = socket.create_connection((host, int(port)), timeout=20)
a.sendall(b"POST /v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key.encode() +
          b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10])
time.sleep(0.3)
os.kill(pid, signal.SIGTERM)
time.sleep(0.5)
t = time.monotonic()
try:
    b = socket.create_connection((host, int(port)), timeout=10)
    b.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    got = b.recv(100)
    print("new connection: answered %r" % got[:12] if got else "new connection: closed")
except OSError as e:
    print("new connection: refused" if isinstance(e, (ConnectionRefusedError, ConnectionResetError))
          else "new connection: %s" % type(e).__name__)
print("after %.1f s" % (time.monotonic() - t))
a.sendall(body[10:])
reply = b""
while b"\r\n\r\n" not in reply:
    d = a.recv(65536)
    if not d:
        break
    reply += d
print("in flight: " + reply.split(b"\r\n")[0].decode())
PY
    srv_wait_exit "$Q_PID" 60
    [ "$srv_rc" -eq 0 ] || { fail "exit status $srv_rc after SIGTERM"; show stderr "$SRV/Q.err"; }
    grep -qx 'new connection: refused' "$SRV/q.out" || { fail "a new connection was not refused"; show output "$SRV/q.out"; }
    grep -q '^after 0\.' "$SRV/q.out" || { fail "the refusal took a second or more"; show output "$SRV/q.out"; }
    grep -qx 'in flight: HTTP/1.1 201 Created' "$SRV/q.out" || { fail "the request in flight got no 201"; show output "$SRV/q.out"; }
}

sigterm_in_flight_keeps_every_2xx() {
    _db="$SRV/g.db"
    KEY=$(mkkey "$_db" admin)
    srv_start G "$_db" "$SRV/c1.yaml" --rate-limit 0 || { fail "$srv_error"; show stderr "$SRV/G.err"; return; }
    # 3000 leads, 8 at a time, one reply line each: "ID STATUS"
    posts_cfg G 3000 >"$SRV/load.cfg"
    : >"$SRV/load.out"          # there before the loop reads it, however late curl starts
    curl --parallel --parallel-max 8 -K "$SRV/load.cfg" >>"$SRV/load.out" 2>/dev/null &
    _cpid=$!
    # stop it once some leads are in
    _i=0
    while [ $_i -lt 200 ] && [ "$(grep -c ' 201$' "$SRV/load.out" 2>/dev/null)" -lt 100 ]; do
        sleep 0.05; _i=$((_i + 1))
    done
    srv_term G
    [ "$srv_rc" -eq 0 ] || { fail "exit status $srv_rc after SIGTERM under load"; show stderr "$SRV/G.err"; }
    srv_wait_exit "$_cpid" 120 || { kill "$_cpid" 2>/dev/null; fail "curl did not finish"; }
    _ok=$(grep -c ' 2[0-9][0-9]$' "$SRV/load.out")
    _n=$(wc -l <"$SRV/load.out")
    [ "$_ok" -ge 100 ] || fail "only $_ok leads got a 2xx before the stop"
    [ "$_n" -eq 3000 ] || fail "$_n replies for 3000 requests"
    _bad=$(grep -v ' \(2[0-9][0-9]\|503\|000\)$' "$SRV/load.out" | head -5)
    [ -z "$_bad" ] || fail "answers other than 2xx, 503 or none: $_bad"
    echo "  ($_ok of 3000 got a 2xx, $(grep -c ' 503$' "$SRV/load.out") a 503, $(grep -c ' 000$' "$SRV/load.out") nothing)"
    srv_start G "$_db" "" --rate-limit 0 || { fail "$srv_error"; show stderr "$SRV/G.err"; return; }
    list_all "" "$SRV/g.leads" || return
    jq -r '.[].id' "$SRV/g.leads" | sort >"$SRV/g.present"
    sed -n 's/^\(G[0-9]*\) 2[0-9][0-9]$/\1/p' "$SRV/load.out" | sort >"$SRV/g.ok"
    sed -n 's/^\(G[0-9]*\) 503$/\1/p' "$SRV/load.out" | sort >"$SRV/g.503"
    _missing=$(comm -23 "$SRV/g.ok" "$SRV/g.present" | head -5)
    [ -z "$_missing" ] || fail "got a 2xx but are gone after the restart: $_missing"
    _extra=$(comm -12 "$SRV/g.503" "$SRV/g.present" | head -5)
    [ -z "$_extra" ] || fail "got a 503 but were stored: $_extra"
    [ "$(jq '[.[].id] | length == (unique | length)' "$SRV/g.leads")" = true ] || fail "a lead is listed twice"
    # each with its decision
    get_each "$SRV/g.ok" "$SRV/g.each" || return
    _nodec=$(jq -r '.[] | select((.decisions | length) == 0 or .state == "new") | .id' "$SRV/g.each" | head -5)
    [ -z "$_nodec" ] || fail "leads without a decision: $_nodec"
    srv_term G
    [ "$srv_rc" -eq 0 ] || fail "exit status $srv_rc after the second SIGTERM"
}

# ---- one commit per flush ---------------------------------------------------

# While the flush thread syncs a commit, the writer keeps what arrives in
# one open transaction and commits it when that flush returns: under
# concurrent posts each commit has a flush of its own (the counts of
# /metrics differ by one at most: the flush of the last commit may still
# run while /metrics is answered), and posts share commits.
a_commit_waits_for_the_running_flush() {
    _db="$SRV/h.db"
    KEY=$(mkkey "$_db" admin)
    srv_start H "$_db" "$SRV/c1.yaml" --rate-limit 0 || { fail "$srv_error"; show stderr "$SRV/H.err"; return; }
    posts_cfg H 400 >"$SRV/h.cfg"
    curl --parallel --parallel-max 8 -K "$SRV/h.cfg" >"$SRV/h.out" 2>/dev/null
    _ok=$(grep -c ' 201$' "$SRV/h.out")
    [ "$_ok" -eq 400 ] || fail "$_ok of 400 posts got a 201"
    api GET /metrics
    expect_code 200
    _f=$(sed -n 's/^leadrouter_fsync_seconds_count \([0-9]*\)$/\1/p' "$RB")
    _c=$(sed -n 's/^leadrouter_commit_seconds_count \([0-9]*\)$/\1/p' "$RB")
    [ -n "$_f" ] && [ -n "$_c" ] || { fail "no commit or fsync count in /metrics"; return; }
    [ "$_c" -ge "$_f" ] && [ "$_c" -le $((_f + 1)) ] || fail "$_c commits for $_f flushes"
    [ "$_c" -lt 400 ] || fail "$_c commits for 400 concurrent posts: none shared"
    echo "  (400 posts, 8 at a time: $_c commits, $_f flushes)"
    srv_term H
    [ "$srv_rc" -eq 0 ] || fail "exit status $srv_rc after SIGTERM"
}

# A preview changes nothing, not even what a restart rebuilds: a preview
# of a lead for a pool nobody had routed to yet once made that pool's
# queue first in line for a freed slot, and only until the next restart
# (the preview is not in the journal): the slot then went to another lead,
# and the lead it had gone to was given to a second agent.
a_preview_changes_nothing_after_a_restart() {
    cat >"$T/c.yaml" <<'YAML'
agents: [{id: ann, capacity: 1}, {id: bob, status: away}]
pools:
  P: {agents: [ann], order: priority}
  F: {agents: [ann, bob]}
rules:
  - {name: rp, when: 'source == "p"', pool: P, strategy: top_down, fallback: queue}
  - {name: rf, when: 'source == "f"', pool: F, strategy: top_down, fallback: queue}
YAML
    srv_start V "$T/v.db" "$T/c.yaml" --rate-limit 0 || { fail "$srv_error"; return; }
    KEY=$(mkkey "$T/v.db" admin)
    api POST /v1/route/preview '{"id":"X","source":"f"}'
    expect_jq '[.decisions[] | {action, agent, pool}]' '[{"action":"assigned","agent":"ann","pool":"F"}]'
    api POST /v1/leads '{"id":"A0","source":"p"}'
    expect_jq '[.decisions[] | {action, agent}]' '[{"action":"assigned","agent":"ann"}]'
    api POST /v1/leads '{"id":"F1","source":"f"}'
    expect_jq '[.decisions[] | .action]' '["queued"]'
    api POST /v1/leads '{"id":"P1","source":"p","score":10}'
    expect_jq '[.decisions[] | .action]' '["queued"]'
    # the freed slot goes to the queue of the pool routed to first (P),
    # as it would have without the preview
    api POST /v1/leads/A0/progress '{"status":"won"}'
    expect_jq '[.decisions[] | {lead, action, agent}]' \
        '[{"lead":"A0","action":"closed","agent":"ann"},{"lead":"P1","action":"assigned","agent":"ann"}]'
    api GET /v1/agents; cp "$RB" "$T/agents.before"
    api GET /v1/leads/F1; cp "$RB" "$T/f1.before"
    srv_term V
    srv_start V "$T/v.db" "" --rate-limit 0 || { fail "$srv_error"; return; }
    api GET /v1/agents
    same "$T/agents.before" "$RB" "GET /v1/agents"
    api GET /v1/leads/F1
    same "$T/f1.before" "$RB" "GET /v1/leads/F1"
    # bob comes back: F1, still waiting, goes to him; P1 stays ann's
    api POST /v1/agents/bob/status '{"status":"available"}'
    expect_jq '[.decisions[] | {lead, action, agent}]' '[{"lead":"F1","action":"assigned","agent":"bob"}]'
    api GET /v1/leads/P1
    expect_jq '[.decisions[] | select(.action == "assigned") | .agent]' '["ann"]'
    srv_term V
}

# leads_go_to ID:AGENT...: posts each lead ID, which must go to AGENT.
leads_go_to() {
    for _kv in "$@"; do
        api POST /v1/leads "{\"id\":\"${_kv%%:*}\"}"
        expect_jq '.decisions[0].agent' "\"${_kv#*:}\""
    done
}

# put_config FILE: PUT /v1/config with FILE, which must be taken.
put_config() {
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
        --data-binary @"$1"
    expect_code 200 "the config change"
}

# A config change keeps the round robin's place, and so does a restart
# that replays it: ann, ben, (change), cat, (restart), ann.
a_config_change_keeps_the_rotation() {
    printf 'agents:\n  - {id: ann}\n  - {id: ben}\n  - {id: cat}\npools:\n  turn: [ann, ben, cat]\nrules:\n  - {name: turn, pool: turn, strategy: round_robin}\n' >"$SRV/k1.yaml"
    sed 's/{id: cat}/{id: cat, weight: 2}/' "$SRV/k1.yaml" >"$SRV/k2.yaml"
    KEY=$(mkkey "$SRV/k.db" admin)
    srv_start K "$SRV/k.db" "$SRV/k1.yaml" || { fail "$srv_error"; return; }
    leads_go_to K1:ann K2:ben
    put_config "$SRV/k2.yaml"
    api POST /v1/leads '{"id":"K3"}'
    expect_jq '.decisions[0].agent' '"cat"'
    srv_term K
    srv_start K "$SRV/k.db" "" || { fail "$srv_error"; return; }
    api GET /v1/agents
    expect_jq '[.agents[] | [.id, .open]]' '[["ann",1],["ben",1],["cat",1]]'
    api POST /v1/leads '{"id":"K4"}'
    expect_jq '.decisions[0].agent' '"ann"'
    srv_term K
}

# A rep moved to another time zone keeps the leads of her month, and so
# does a restart that replays the change: ann (one lead a month, UTC) took
# Z1; after she moves to Los Angeles, and after a restart, she is still at
# her cap, and the leads go to ben (the month's start read in Los Angeles
# time once ended her window at the change: Z3 went to her).
a_new_time_zone_keeps_the_cap_windows() {
    printf 'agents:\n  - {id: ann, caps: {month: 1}}\n  - {id: ben}\npools:\n  p: [ann, ben]\nrules:\n  - {name: r, pool: p, strategy: top_down}\n' >"$SRV/z1.yaml"
    sed 's|{id: ann, caps: {month: 1}}|{id: ann, caps: {month: 1}, schedule: {timezone: America/Los_Angeles}}|' \
        "$SRV/z1.yaml" >"$SRV/z2.yaml"
    clear_of_boundary 1 0       # Z1 and the change in the same UTC day (and month)
    KEY=$(mkkey "$SRV/z.db" admin)
    srv_start Z "$SRV/z.db" "$SRV/z1.yaml" || { fail "$srv_error"; return; }
    # and the server says which zone data it computes with (Debian 12's ICU: 2022e)
    grep -q "^leadrouter: note: local times come from ICU's zone data 2022e, older than the system's tz database (20" \
        "$SRV/Z.err" || { fail "no note of the zone data"; show stderr "$SRV/Z.err"; }
    leads_go_to Z1:ann Z2:ben
    put_config "$SRV/z2.yaml"
    api GET /v1/agents/ann
    expect_jq '.window.month' '{"count":1,"cap":1}'
    api POST /v1/leads '{"id":"Z3"}'
    expect_jq '.decisions[0].agent' '"ben"'
    srv_term Z
    srv_start Z "$SRV/z.db" "" || { fail "$srv_error"; return; }
    api GET /v1/agents/ann
    expect_jq '.window.month' '{"count":1,"cap":1}'
    api POST /v1/leads '{"id":"Z4"}'
    expect_jq '.decisions[0].agent' '"ben"'
    srv_term Z
}

# With an owner rule, removing ann, who holds O1 (same email as cat's O2):
# the change gives O1 to its owner cat and the server goes on; after a
# SIGKILL it starts again from its journal (the owner lookup read old
# agent numbers: out of bounds, the server crashed on the change or on
# every start after it), and a returning lead still goes to cat.
removing_an_owner_survives_the_change_and_a_restart() {
    printf 'agents: [{id: ann}, {id: ben}, {id: cat}]\npools: {team: [ann, ben, cat]}\nrules:\n  - {name: own, pool: team, strategy: owner}\n  - {name: rr, pool: team, strategy: round_robin}\n' >"$SRV/o1.yaml"
    printf 'agents: [{id: ben}, {id: cat}]\npools: {team: [ben, cat]}\nrules:\n  - {name: own, pool: team, strategy: owner}\n  - {name: rr, pool: team, strategy: round_robin}\n' >"$SRV/o2.yaml"
    KEY=$(mkkey "$SRV/o.db" admin)
    srv_start O "$SRV/o.db" "$SRV/o1.yaml" || { fail "$srv_error"; return; }
    api POST /v1/leads '{"id":"O1","email":"x@example.org"}'
    expect_jq '.decisions[0].agent' '"ann"'
    api POST /v1/leads '{"id":"O2","email":"x@example.org"}'
    api POST /v1/events '{"type":"assign","lead":"O2","agent":"cat"}'
    expect_code 200
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
        --data-binary @"$SRV/o2.yaml"
    expect_code 200 "the config change"
    expect_jq '[.decisions[] | [.lead, .action, .agent, .rule, .why.reason]]' \
        '[["O1","assigned","cat","own","agent_removed"]]'
    srv_kill O
    srv_start O "$SRV/o.db" "" || { fail "$srv_error"; show stderr "$SRV/O.err"; return; }
    api GET /v1/agents
    expect_jq '[.agents[] | [.id, .open]]' '[["ben",0],["cat",2]]'
    api POST /v1/leads '{"id":"O3","email":"x@example.org"}'
    expect_jq '.decisions[0] | [.agent, .rule]' '["cat","own"]'
    srv_term O
}

# cat (one lead a day) wins G1 and declines G2 (it waits: ann is away);
# a config without her, then one with her again: she comes back as she
# left (her counters, her day's lead, her decline), and so after a SIGKILL
# that replays both changes. G3 waits for her cap, G2 is not hers again.
an_agent_added_back_comes_back_as_it_left() {
    printf 'agents:\n  - {id: ann, status: away}\n  - {id: cat, caps: {day: 1}}\npools:\n  p: [cat, ann]\nrules:\n  - {name: r, pool: p, strategy: top_down, fallback: queue}\n' >"$SRV/g1.yaml"
    printf 'agents:\n  - {id: ann, status: away}\npools:\n  p: [ann]\nrules:\n  - {name: r, pool: p, strategy: top_down, fallback: queue}\n' >"$SRV/g2.yaml"
    clear_of_boundary 1 0       # the day's cap: no midnight within the case
    KEY=$(mkkey "$SRV/x.db" admin)
    srv_start X "$SRV/x.db" "$SRV/g1.yaml" || { fail "$srv_error"; return; }
    leads_go_to G1:cat
    api POST /v1/leads/G1/progress '{"status":"won"}'
    expect_code 200 "G1 won"
    api POST /v1/leads '{"id":"G2"}'
    expect_jq '.decisions[0].action' '"queued"'
    api POST /v1/events '{"type":"assign","lead":"G2","agent":"cat"}'
    expect_code 200 "G2 to cat"
    api POST /v1/events '{"type":"decline","lead":"G2","agent":"cat"}'
    expect_code 200 "G2 declined"
    put_config "$SRV/g2.yaml"
    put_config "$SRV/g1.yaml"
    expect_jq '.decisions' '[]'
    _state='[.id, .open, .assigned, .won, .closed, .window.day.count]'
    api GET /v1/agents/cat
    expect_jq "$_state" '["cat",0,2,1,1,2]'
    api POST /v1/leads '{"id":"G3"}'
    expect_jq '.decisions[0] | [.action, .why.reason]' '["queued","no_eligible_agent"]'
    srv_kill X
    srv_start X "$SRV/x.db" "" || { fail "$srv_error"; show stderr "$SRV/X.err"; return; }
    api GET /v1/agents/cat
    expect_jq "$_state" '["cat",0,2,1,1,2]'
    api GET /v1/leads/G2
    expect_jq '[.state, .agent]' '["waiting",null]'
    srv_term X
}

# An Idempotency-Key is remembered for --idempotency-keep, then forgotten,
# by an idle server too: a web form posted again with its key within it is
# the same lead, after it a new one. A bad duration is a usage error.
an_idempotency_key_is_forgotten_after_its_keep() {
    printf 'agents: [{id: ann}]\npools: {p: [ann]}\nrules: [{name: r, pool: p, strategy: round_robin}]\n' >"$SRV/i.yaml"
    KEY=$(mkkey "$SRV/i.db" admin)
    "$BIN" serve --config "$SRV/i.yaml" --db "$SRV/i.db" --idempotency-keep 2x >/dev/null 2>"$SRV/i.usage"
    _rc=$?
    [ "$_rc" -eq 2 ] || fail "--idempotency-keep 2x: exit $_rc, not 2"
    grep -q "^leadrouter serve: --idempotency-keep must be 0 or a duration from 1s to 3650d" "$SRV/i.usage" ||
        { fail "no usage error for --idempotency-keep 2x"; show stderr "$SRV/i.usage"; }
    srv_start I "$SRV/i.db" "$SRV/i.yaml" --idempotency-keep 2s || { fail "$srv_error"; return; }
    req POST /v1/forms/web -H "Authorization: Bearer $KEY" -H 'Idempotency-Key: f1' --data-binary 'name=Zed'
    expect_code 201
    _first=$(jq -r .lead "$RB")
    req POST /v1/forms/web -H "Authorization: Bearer $KEY" -H 'Idempotency-Key: f1' --data-binary 'name=Zed'
    expect_code 200
    expect_jq .lead "\"$_first\""
    sleep 3
    # gone from the store with the server idle, before any other request
    _left=$(python3 -c 'import sqlite3, sys; c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True); print(c.execute("SELECT count(*) FROM idem").fetchone()[0])' "$SRV/i.db")
    [ "$_left" = 0 ] || fail "$_left idempotency keys left in the store 3 s after a keep of 2 s"
    req POST /v1/forms/web -H "Authorization: Bearer $KEY" -H 'Idempotency-Key: f1' --data-binary 'name=Zed'
    expect_code 201
    [ "$(jq -r .lead "$RB")" != "$_first" ] || fail "the key was still remembered after its keep"
    srv_term I
}

tcase twins_start
if [ -n "$A_URL" ] && [ -n "$B_URL" ]; then
    tcase twins_get_the_same_requests
    tcase the_flush_thread_is_in_the_metrics
    tcase sigterm_then_restart_restores_everything
    tcase after_the_restart_a_decides_as_b
    tcase restart_with_the_stored_config_changes_nothing
    tcase restart_with_another_config_is_a_config_change
    tcase twins_stop_with_exit_0
fi
tcase sigterm_in_flight_keeps_every_2xx
tcase a_stopping_server_refuses_new_connections
tcase a_put_of_the_config_in_use_that_this_version_refuses_is_no_change
tcase a_commit_waits_for_the_running_flush
tcase a_preview_changes_nothing_after_a_restart
tcase a_config_change_keeps_the_rotation
tcase a_new_time_zone_keeps_the_cap_windows
tcase an_idempotency_key_is_forgotten_after_its_keep
tcase removing_an_owner_survives_the_change_and_a_restart
tcase an_agent_added_back_comes_back_as_it_left
finish

#!/bin/sh
# server_crash.sh -- `leadrouter serve` killed with SIGKILL under load.
#
# Each cycle starts the server on the same store and sends it a batch of
# requests, 8 at a time (curl --parallel): new leads (a few of them twice at
# once: concurrent duplicates), the leads whose request got no answer in an
# earlier cycle (a client's retry), progress that closes leads, releases,
# and agents pulling their next lead. At a random moment 0.2 to 1 s into
# the batch the server gets SIGKILL. Every reply is recorded. After the
# last cycle the server is started once more and the test checks, through
# the API (and with the sqlite3 tool, read-only, when it is installed):
#
#   - every lead that got a 2xx is there, once, and its first decisions are
#     the ones its reply gave; no lead was created twice (at most one 201
#     per id, whatever the retries and duplicates);
#   - no lead is assigned twice: walking its decisions, an assigned or
#     claimed decision never comes while another agent still holds it, and
#     the holder at the end is the lead's agent in GET /v1/leads/{id};
#   - the counters equal what the assignments say: for each agent, open in
#     GET /v1/agents/{id} == the leads GET /v1/leads?agent=ID&status=assigned
#     lists == the leads its decisions leave with it (and <= its capacity);
#     assigned == its assigned + claimed decisions; the hour and day cap
#     windows == those decisions in the current hour and day; /v1/stats
#     agrees on open leads and on the decision counts.
#
# It uses $LEADROUTER_BIN (the ASan build in `make test`): it is as fast as
# the release build here, since the fsync of each commit is what limits
# the rate. LR_CRASH_CYCLES (default 20, at least 20) and LR_CRASH_SEED
# (default: from the clock; printed, to replay a run) tune it. Everything
# is bounded: curl --max-time, a fixed batch per cycle, bounded waits.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_server.sh"

CYCLES=${LR_CRASH_CYCLES:-20}
[ "$CYCLES" -ge 20 ] 2>/dev/null || CYCLES=20
SEED=${LR_CRASH_SEED:-$(date +%s)}
NEW=1500                        # new leads per cycle: more than a second's worth
C="$SRV/crash"
DB="$C/crash.db"
mkdir -p "$C/b"
: >"$C/results"                 # KIND ID SEQ CYCLE CODE EXIT, one line per request sent

# Capacities fill up in the first cycle, caps a few cycles later; from
# then on leads go out as others are closed or released.
cat >"$C/crash.yaml" <<'EOF'
agents:
  - {id: a1, capacity: 25, caps: {hour: 40}}
  - {id: a2, capacity: 25, caps: {hour: 40}}
  - {id: a3, capacity: 15, weight: 2}
  - {id: a4, capacity: 30, caps: {day: 50}}
  - {id: q1, capacity: 10}
  - {id: q2, capacity: 10, caps: {hour: 15}}
pools:
  team: [a1, a2, a3, a4]
  pull: [q1, q2]
rules:
  - {name: pull, when: 'source == "list"', pool: pull, strategy: queue}
  - {name: wrr, when: 'source == "ads"', pool: team, strategy: weighted_round_robin, fallback: queue}
  - {name: rr, pool: team, strategy: round_robin, fallback: queue}
EOF
AGENTS="a1 a2 a3 a4 q1 q2"
KEY=$(mkkey "$DB" admin)

# batch CYCLE: the requests of one cycle, shuffled, one per line:
# KIND<TAB>ID<TAB>PATH<TAB>BODY. A lead's body follows from its id, so a
# retry sends the same lead. $C/assigned lists the leads assigned when the
# cycle starts: most of them are closed, some released.
batch() {
    awk -F ' ' -v cycle="$1" -v new=$NEW -v seed="$SEED" -v assigned="$C/assigned" '
        function lead_body(id, n) {
            n = substr(id, index(id, "-") + 1) + 0
            src = (n % 10 < 6) ? "web" : (n % 10 < 8) ? "ads" : "list"
            return "{\"id\":\"" id "\",\"source\":\"" src "\",\"n\":" n "}"
        }
        function h(s,   i, x) { x = 7; for (i = 1; i <= length(s); i++) x = (x * 31 + index("0123456789abcdefghijklmnopqrstuvwxyz-c", substr(s, i, 1))) % 1000003; return x }
        # A request without an answer (000) was cut by the kill when it
        # came at most 16 places after the last answered one of its cycle
        # (8 in flight, and curl retries a dead keep-alive connection once);
        # later ones were never sent. A lead cut off is retried.
        {
            n++; key[n] = $1 " " $2; seq[n] = $3; cyc[n] = $4; code[n] = $5
            if ($5 != "000" && $3 > last[$4]) last[$4] = $3
            if ($5 ~ /^2/) ok[key[n]] = 1
            if ($5 != "000") done[key[n]] = 1
            sent[key[n]] = 1
        }
        END {
            srand(seed % 100000 + cycle)
            while ((getline id < assigned) > 0) {
                r = rand()
                if (r < 0.6)
                    print "P\t" id "\t/v1/leads/" id "/progress\t{\"status\":\"" (r < 0.4 ? "won" : "lost") "\"}"
                else if (r < 0.7)
                    print "R\t" id "\t/v1/events\t{\"type\":\"release\",\"lead\":\"" id "\"}"
            }
            for (i = 1; i <= new; i++) {
                id = "c" cycle "-" i
                print "L\t" id "\t/v1/leads\t" lead_body(id)
                if (i % 20 == 7) print "L\t" id "\t/v1/leads\t" lead_body(id)
            }
            for (i = 1; i <= n; i++)
                if (code[i] == "000" && seq[i] <= last[cyc[i]] + 16) cut[key[i]] = 1
            for (k in sent) {
                split(k, p, " ")
                if (p[1] == "L" && cut[k] && !done[k])        # cut off: retry
                    print "L\t" p[2] "\t/v1/leads\t" lead_body(p[2])
                if (p[1] == "L" && ok[k]) {
                    hv = h(p[2])
                    if (hv % 5 == 0 && !done["P " p[2]])      # close a fifth, waiting or not
                        print "P\t" p[2] "\t/v1/leads/" p[2] "/progress\t{\"status\":\"" (hv % 2 ? "won" : "lost") "\"}"
                }
            }
            for (i = 1; i <= 60; i++)
                print "N\tq" (i % 2 + 1) "\t/v1/agents/q" (i % 2 + 1) "/next\t{}"
        }' "$C/results" |
    awk -v seed="$SEED" -v cycle="$1" 'BEGIN { srand(seed % 100000 * 3 + cycle) } { printf "%.9f\t%s\n", rand(), $0 }' |
    sort -n | cut -f 2-
}

# curl_config CYCLE < BATCH: the batch as a curl config; a lead's reply
# body goes to $C/b/CYCLE-SEQ, and each reply prints "KIND ID SEQ CYCLE
# CODE EXIT" (CODE 000: no answer; EXIT: curl's exit code for it).
curl_config() {
    awk -F '\t' -v url="$URL" -v key="$KEY" -v dir="$C/b" -v cycle="$1" '
        {
            if (NR > 1) print "next"
            body = $4; gsub(/"/, "\\\"", body)
            print "url = \"" url $3 "\""
            print "data-binary = \"" body "\""
            print "output = \"" ($1 == "L" ? dir "/" cycle "-" NR : "/dev/null") "\""
            print "write-out = \"" $1 " " $2 " " NR " " cycle " %{http_code} %{exitcode}\\n\""
            print "silent"
            print "max-time = 20"
            print "header = \"Authorization: Bearer " key "\""
            print "header = \"Content-Type: application/json\""
        }'
}

# rand_ms LO HI: a random whole number of milliseconds in [LO, HI].
rand_ms() {
    awk -v lo="$1" -v hi="$2" -v s="$SEED" -v c="$cycle" 'BEGIN { srand(s % 100000 * 7 + c); printf "%d\n", lo + rand() * (hi - lo) }'
}

crash_cycles_under_load() {
    _t0=$(date +%s)
    echo "  seed $SEED, $CYCLES cycles (LR_CRASH_SEED=$SEED to replay the same batches and kill times)"
    cycle=0
    while [ $cycle -lt "$CYCLES" ]; do
        cycle=$((cycle + 1))
        if ! srv_start S "$DB" "$( [ $cycle -eq 1 ] && echo "$C/crash.yaml")" --rate-limit 0; then
            fail "cycle $cycle: $srv_error"
            show stderr "$SRV/S.err"
            return
        fi
        list_all "status=assigned" "$C/assigned.json" || return
        jq -r '.[].id' "$C/assigned.json" >"$C/assigned"
        batch $cycle | curl_config $cycle >"$C/cfg"
        curl --parallel --parallel-max 8 -K "$C/cfg" >"$C/out.$cycle" 2>/dev/null &
        _cpid=$!
        _ms=$(rand_ms 200 1000)
        sleep "$(awk -v m="$_ms" 'BEGIN { printf "%.3f", m / 1000 }')"
        srv_kill S
        if ! srv_wait_exit "$_cpid" 60; then
            kill "$_cpid" 2>/dev/null
            fail "cycle $cycle: curl did not finish"
        fi
        # keep the requests answered or cut by the kill, not those never sent
        awk '{ n++; l[n] = $0; s[n] = $3; r[n] = $5; if ($5 != "000" && $3 > m) m = $3 }
             END { for (i = 1; i <= n; i++) if (r[i] != "000" || s[i] <= m + 16) print l[i] }' \
            "$C/out.$cycle" >>"$C/results"
        _n2=$(awk '$5 ~ /^2/' "$C/out.$cycle" | wc -l)
        _bad=$(awk '$5 !~ /^(2..|000|404|409)$/ || ($1 == "L" && $5 !~ /^(201|200|000)$/)' "$C/out.$cycle" | head -3)
        if [ -n "$_bad" ] || grep -q 'FATAL\|ERROR: AddressSanitizer\|runtime error' "$SRV/S.err"; then
            fail "cycle $cycle: unexpected answers or errors: $_bad"
            show stderr "$SRV/S.err"
        fi
        echo "  cycle $cycle: killed after $_ms ms, $_n2 of $(wc -l <"$C/out.$cycle") requests answered 2xx"
        : >"$SRV/S.err"
        rm -f "$C/out.$cycle"
    done
    _total=$(awk '$1 == "L" && $5 ~ /^2/' "$C/results" | wc -l)
    _lost=$(awk '{ n++; k[n] = $1; s[n] = $3; c[n] = $4; r[n] = $5; if ($5 != "000" && $3 > m[$4]) m[$4] = $3 }
                 END { for (i = 1; i <= n; i++) if (k[i] == "L" && r[i] == "000" && s[i] <= m[c[i]] + 16) x++; print x + 0 }' \
            "$C/results")
    echo "  $_total lead replies 2xx, $_lost lead requests cut by a kill (and retried)"
    [ "$_total" -ge 1000 ] || fail "only $_total leads got a 2xx: the load is too light to mean much"
    [ "$_lost" -ge 20 ] || fail "only $_lost lead requests were cut by a kill: the kills missed the load"
    echo "  ($(($(date +%s) - _t0)) s)"
}

after_the_crashes_the_state_is_consistent() {
    # the hour cap windows must not roll over while they are compared
    clear_of_boundary 2 1
    _t0=$(date +%s)
    srv_start S "$DB" "" --rate-limit 0 || { fail "$srv_error"; show stderr "$SRV/S.err"; return; }
    # a last lead moves the engine's clock to now: the cap windows are
    # those of its time
    api POST /v1/leads '{"id":"probe","source":"web"}'
    expect_code 201
    NOW=$(jq -r '.decisions[0].at' "$RB")
    # the windows right after it (reading every lead below takes a while)
    api GET /v1/agents; cp "$RB" "$C/agents.json"
    api GET /v1/stats;  cp "$RB" "$C/stats.json"
    list_all "" "$C/all.json" || return
    jq -r '.[].id' "$C/all.json" >"$C/all.ids"
    get_each "$C/all.ids" "$C/each.json" || return
    for _a in $AGENTS; do
        list_all "agent=$_a&status=assigned" "$C/open.$_a" || return
    done
    echo "  $(jq length "$C/all.json") leads stored"

    # the 2xx replies to leads: "id code" and their bodies
    awk '$1 == "L" && $5 ~ /^2/ { print $2, $5 }' "$C/results" | sort -u >"$C/ok.codes"
    awk -v d="$C/b" '$1 == "L" && $5 ~ /^2/ { print d "/" $4 "-" $3 }' "$C/results" |
        xargs jq -c . >"$C/replies.jsonl"

    _ids=$(jq -r '[.[].id] | (length - (unique | length))' "$C/all.json")
    [ "$_ids" = 0 ] || fail "$_ids lead ids are listed more than once"
    sort "$C/all.ids" >"$C/all.ids.sorted"
    _missing=$(cut -d ' ' -f 1 "$C/ok.codes" | sort -u | comm -23 - "$C/all.ids.sorted" | head -5)
    [ -z "$_missing" ] || fail "got a 2xx but are not stored: $_missing"
    _twice=$(awk '$1 == "L" && $5 == 201 { n[$2]++ } END { for (i in n) if (n[i] > 1) print i }' "$C/results" | head -5)
    [ -z "$_twice" ] || fail "created twice (two 201s): $_twice"

    # each 2xx reply gave the lead's first decisions, as stored
    _wrong=$(jq -n -r --slurpfile each "$C/each.json" '
        ($each[0] | map({key: .id, value: .decisions}) | from_entries) as $d
        | inputs | select(.decisions != $d[.lead][0:(.decisions | length)]) | .lead' "$C/replies.jsonl" | head -5)
    [ -z "$_wrong" ] || fail "a reply's decisions are not the stored ones: $_wrong"
    [ "$(wc -l <"$C/replies.jsonl")" -ge 1000 ] || fail "only $(wc -l <"$C/replies.jsonl") replies kept"

    # walk each lead's decisions: who holds it
    jq -c '.[] | . as $l | reduce .decisions[] as $x ({holder: null, bad: null};
            if ($x.action == "assigned" or $x.action == "claimed") then
                (if .holder != null and .bad == null then .bad = "\($x.action) to \($x.agent) while \(.holder) holds it" else . end)
                | .holder = $x.agent
            elif ($x.action == "released" or $x.action == "closed") then .holder = null
            else . end)
        | {id: $l.id, state: $l.state, agent: $l.agent, holder, bad, n: ($l.decisions | length)}' \
        "$C/each.json" >"$C/walk.jsonl"
    _bad=$(jq -r 'select(.bad != null) | "\(.id): \(.bad)"' "$C/walk.jsonl" | head -5)
    [ -z "$_bad" ] || fail "assigned twice: $_bad"
    _bad=$(jq -r 'select(.n == 0 or .state == "new") | .id' "$C/walk.jsonl" | head -5)
    [ -z "$_bad" ] || fail "leads without a decision: $_bad"
    _bad=$(jq -r 'select((.state == "assigned") != (.holder != null) or (.state == "assigned" and .agent != .holder))
                  | "\(.id): state \(.state), agent \(.agent), decisions leave it with \(.holder)"' "$C/walk.jsonl" | head -5)
    [ -z "$_bad" ] || fail "state and decisions disagree: $_bad"

    # counters against assignments: per agent, from the decisions, the
    # leads ever assigned and those in the current hour and day, and the
    # leads the decisions leave with it
    jq -c -n --arg now "$NOW" --slurpfile each "$C/each.json" '
        [$each[0][].decisions[] | select(.action == "assigned" or .action == "claimed")]
        | group_by(.agent)
        | map({key: .[0].agent,
               value: {assigned: length,
                       hour: ([.[] | select(.at[0:13] == $now[0:13])] | length),
                       day: ([.[] | select(.at[0:10] == $now[0:10])] | length)}})
        | from_entries' >"$C/counted.json"
    jq -s -c 'map(select(.holder != null)) | group_by(.holder)
              | map({key: .[0].holder, value: length}) | from_entries' "$C/walk.jsonl" >"$C/held.json"
    for _a in $AGENTS; do
        _ag=$(jq -c ".agents[] | select(.id == \"$_a\")" "$C/agents.json")
        _open=$(echo "$_ag" | jq .open)
        _listed=$(jq length "$C/open.$_a")
        _held=$(jq ".\"$_a\" // 0" "$C/held.json")
        _cap=$(echo "$_ag" | jq '.capacity // 1000000')
        [ "$_open" = "$_listed" ] && [ "$_open" = "$_held" ] ||
            fail "$_a: open $_open, listed assigned $_listed, held by the decisions $_held"
        [ "$_open" -le "$_cap" ] || fail "$_a: $_open open over its capacity $_cap"
        _sopen=$(jq ".by_agent.\"$_a\".open // 0" "$C/stats.json")
        [ "$_sopen" = "$_open" ] || fail "$_a: /v1/stats says $_sopen open, /v1/agents $_open"
        # the windows are counted for the caps an agent has
        _got=$(echo "$_ag" | jq -c '[.assigned, (.window.hour | if .cap then .count else null end),
                                     (.window.day | if .cap then .count else null end)]')
        _want=$(echo "$_ag" | jq -c --slurpfile c "$C/counted.json" '
            ($c[0][.id] // {assigned: 0, hour: 0, day: 0}) as $n
            | [$n.assigned, (if .window.hour.cap then $n.hour else null end),
               (if .window.day.cap then $n.day else null end)]')
        [ "$_got" = "$_want" ] ||
            fail "$_a: [assigned, hour, day] $_got in /v1/agents, $_want from the decisions"
        echo "  $_a: $(echo "$_ag" | jq -r '"open \(.open)/\(.capacity // "-"), assigned \(.assigned), hour \(.window.hour.count)/\(.window.hour.cap // "-"), day \(.window.day.count)/\(.window.day.cap // "-")"')"
    done
    _want=$(jq -S -c '[.[].decisions[]] | group_by(.action) | map({key: .[0].action, value: length})
                      | from_entries | del(.claim_refused)' "$C/each.json")
    _got=$(jq -S -c '.decisions | del(.claim_refused)' "$C/stats.json")
    [ "$_got" = "$_want" ] || fail "/v1/stats decisions $_got, the leads' decisions $_want"
    [ "$(jq .leads "$C/stats.json")" = "$(jq length "$C/all.json")" ] || fail "/v1/stats leads != listed leads"

    srv_term S
    [ "$srv_rc" -eq 0 ] || { fail "exit status $srv_rc after SIGTERM"; show stderr "$SRV/S.err"; }
    echo "  ($(($(date +%s) - _t0)) s)"
}

store_is_sound_by_sqlite3() {
    if ! command -v sqlite3 >/dev/null 2>&1; then
        echo "  (no sqlite3 tool: checked through the API only)"
        return
    fi
    _q() { sqlite3 -readonly "$DB" "$1" 2>&1; }
    _r=$(_q 'PRAGMA integrity_check;')
    [ "$_r" = ok ] || fail "integrity_check: $_r"
    _r=$(_q 'SELECT count(*) = max(seq) AND min(seq) = 1 FROM events;')
    [ "$_r" = 1 ] || fail "the journal has gaps: $(_q 'SELECT count(*), min(seq), max(seq) FROM events;')"
    _r=$(_q "SELECT count(*) FROM leads WHERE state = 'new';")
    [ "$_r" = 0 ] || fail "$_r leads without a decision"
    _r=$(_q "SELECT count(*) FROM leads l WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.seq = l.seq AND e.type = 'lead');")
    [ "$_r" = 0 ] || fail "$_r leads without their journal entry"
    _r=$(_q 'SELECT count(*) FROM decisions d WHERE d.seq > (SELECT max(seq) FROM events);')
    [ "$_r" = 0 ] || fail "$_r decisions of events not in the journal"
    # an agent's leads are found through its blocks (src/store/agent_lists.c):
    # every lead with an agent has its agent's block, and every list
    # written (not NULL: left open by a killed writer, or the newest) holds
    # as many leads as the block has of that agent
    _r=$(_q 'SELECT count(*) FROM leads l WHERE agent IS NOT NULL AND NOT EXISTS
             (SELECT 1 FROM lead_agent_blocks b WHERE b.agent = l.agent AND b.block = l.seq >> 12);')
    [ "$_r" = 0 ] || fail "$_r leads missing from their agent's blocks"
    _r=$(_q 'SELECT count(*) FROM lead_agent_blocks b WHERE seqs IS NOT NULL AND length(seqs) / 2 <>
             (SELECT count(*) FROM leads l WHERE l.agent = b.agent AND l.seq >> 12 = b.block);')
    [ "$_r" = 0 ] || fail "$_r agents' lists that miscount their leads"
    echo "  $(_q 'SELECT count(*), count(seqs) FROM lead_agent_blocks;' | tr '|' ' ' |
              awk '{ print $1 " agent blocks, " $2 " with their lists written" }')"
}

tcase crash_cycles_under_load
tcase after_the_crashes_the_state_is_consistent
tcase store_is_sound_by_sqlite3
finish

#!/bin/sh
# cli_route_db.sh -- `leadrouter route --db FILE`: the decisions on stdout
# are those of `route` without a store, byte for byte; every lead and
# decision is in the store when the command returns (--sync full: its
# commits are fsynced by a flush thread, the last before the exit); the
# server started on that store shows each lead with the decision route
# printed, long explanations included (stored compressed); a second run
# over the same leads routes none of them again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_server.sh"

# A pool of 40 agents, two states: an explanation lists 40 candidates,
# well over the size the store compresses.
big_config() {
    {
        echo "agents:"
        i=0
        while [ $i -lt 40 ]; do
            if [ $((i % 2)) -eq 0 ]; then st=CA; else st=NV; fi
            echo "  - {id: a$i, attributes: {territories: [$st]}}"
            i=$((i + 1))
        done
        echo "pools:"
        printf '  all: ['
        i=0
        while [ $i -lt 40 ]; do printf '%sa%d' "$( [ $i -gt 0 ] && echo ', ')" $i; i=$((i + 1)); done
        echo ']'
        echo "rules:"
        echo "  - {name: geo, pool: all, strategy: round_robin, match: {territories: state}}"
    } >"$T/c.yaml"
}

# N leads (half CA, half NV) then a progress event that closes L1.
leads() {
    i=1
    while [ $i -le "$1" ]; do
        if [ $((i % 2)) -eq 0 ]; then st=CA; else st=NV; fi
        echo "{\"id\":\"L$i\",\"state\":\"$st\",\"received_at\":\"2026-11-02T10:00:00Z\"}"
        i=$((i + 1))
    done >"$T/e.jsonl"
    echo '{"type":"progress","lead":"L1","status":"won","at":"2026-11-02T10:05:00Z"}' >>"$T/e.jsonl"
}

# count DB SQL: one number from the store, read with Python's sqlite3.
count() {
    python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$1" "$2"
}

# A lead queued when its offers ran out goes at once to a member it was
# not offered to (cat); a second run replays the journal to that same
# state (cat's offer expires at 09:06). A journal written before that
# behaviour (its engine mark past these events) replays as it was made:
# the lead waited, so no offer of cat expires.
route_db_replays_a_queued_lead_as_it_went_out() {
    cat >"$T/q.yaml" <<'EOF'
agents: [{id: ann}, {id: ben}, {id: cat}]
pools: {team: [ann, ben, cat]}
rules: [{name: r, pool: team, strategy: top_down, offer: {timeout: 2m, attempts: 2}, fallback: queue}]
EOF
    printf '%s\n' '{"id":"L1","at":"2026-11-02T09:00:00Z"}' '{"type":"tick","at":"2026-11-02T09:05:00Z"}' >"$T/q1.jsonl"
    printf '%s\n' '{"type":"tick","at":"2026-11-02T09:10:00Z"}' >"$T/q2.jsonl"
    lr route --no-explain --config "$T/q.yaml" --db "$T/q.db" "$T/q1.jsonl"
    expect_status 0
    jq -r '[.lead, .action, .agent // "-", .at[11:16]] | join(" ")' "$T/out" | tr '\n' ';' >"$T/got"
    [ "$(cat "$T/got")" = "L1 offered ann 09:00;L1 expired ann 09:02;L1 offered ben 09:02;L1 expired ben 09:04;L1 queued - 09:04;L1 offered cat 09:04;" ] ||
        fail "first run: $(cat "$T/got")"
    cp "$T/q.db" "$T/q-old.db"
    lr route --no-explain --config "$T/q.yaml" --db "$T/q.db" "$T/q2.jsonl"
    expect_status 0
    jq -r '[.lead, .action, .agent // "-", .at[11:16]] | join(" ")' "$T/out" | tr '\n' ';' >"$T/got"
    [ "$(cat "$T/got")" = "L1 expired cat 09:06;L1 queued - 09:06;" ] || fail "after the replay: $(cat "$T/got")"
    python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE engine_marks SET seq = 100 WHERE name = ?", ("queue_dispatch_from",)); c.commit()' "$T/q-old.db"
    lr route --no-explain --config "$T/q.yaml" --db "$T/q-old.db" "$T/q2.jsonl"
    expect_status 0
    [ -s "$T/out" ] && { fail "a journal of the old behaviour replayed with the new one"; show out "$T/out"; }
}

# The store keeps the seed of its first run: a second run without --seed
# (or with another) replays the random choices as they were made, and
# goes on as one run over both files would.
route_db_keeps_the_seed_it_was_made_with() {
    cat >"$T/s.yaml" <<'EOF'
agents: [{id: r1, capacity: 3}, {id: r2, capacity: 3}, {id: r3, capacity: 3}]
pools: {p: [r1, r2, r3]}
rules: [{name: rand, pool: p, strategy: random, fallback: queue}]
EOF
    i=0
    while [ $i -lt 6 ]; do echo "{\"id\":\"L$i\",\"at\":\"2026-11-02T09:0$i:00Z\"}"; i=$((i + 1)); done >"$T/s1.jsonl"
    { echo '{"type":"progress","lead":"L0","status":"won","at":"2026-11-02T09:10:00Z"}'
      echo '{"type":"progress","lead":"L1","status":"won","at":"2026-11-02T09:11:00Z"}'
      i=6
      while [ $i -lt 12 ]; do echo "{\"id\":\"L$i\",\"at\":\"2026-11-02T09:2$((i - 6)):00Z\"}"; i=$((i + 1)); done
    } >"$T/s2.jsonl"
    cat "$T/s1.jsonl" "$T/s2.jsonl" >"$T/s12.jsonl"
    lr route --no-explain --seed 7 --config "$T/s.yaml" "$T/s12.jsonl"
    expect_status 0
    cp "$T/out" "$T/whole.jsonl"
    lr route --no-explain --seed 7 --config "$T/s.yaml" --db "$T/s.db" "$T/s1.jsonl"
    expect_status 0
    cp "$T/out" "$T/parts.jsonl"
    lr route --no-explain --config "$T/s.yaml" --db "$T/s.db" "$T/s2.jsonl"
    expect_status 0
    expect_err_empty
    cat "$T/out" >>"$T/parts.jsonl"
    same "$T/whole.jsonl" "$T/parts.jsonl" "two runs on one store against one run over both files"
    lr route --no-explain --seed 3 --config "$T/s.yaml" --db "$T/s.db" "$T/s2.jsonl"
    grep -q "keeps the seed of its first run (7): --seed 3 is not used" "$T/err" ||
        { fail "no notice of the seed kept"; show stderr "$T/err"; }
    # a store made before stores kept their seed (no mark): this run's is
    # recorded, and the run says so
    python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("DELETE FROM engine_marks WHERE name = ?", ("seed",)); c.commit()' "$T/s.db"
    # (a start that fails records nothing)
    echo 'agents: [{id: r1}]' >"$T/bad.yaml"
    lr serve --seed 5 --config "$T/bad.yaml" --db "$T/s.db" --listen 127.0.0.1:0
    expect_status 2
    [ "$(count "$T/s.db" "SELECT count(*) FROM engine_marks WHERE name = 'seed'")" = 0 ] ||
        fail "a failed start recorded its seed"
    lr route --no-explain --seed 7 --config "$T/s.yaml" --db "$T/s.db" "$T/s2.jsonl"
    grep -q "s.db now keeps the seed its journal replays with: 7" "$T/err" ||
        { fail "no notice of the seed recorded"; show stderr "$T/err"; }
    [ "$(count "$T/s.db" "SELECT seq FROM engine_marks WHERE name = 'seed'")" = 7 ] || fail "seed not recorded"
    # a first start that fails (a new store and no config) keeps no seed:
    # it makes no store at all
    lr serve --seed 5 --db "$T/n.db" --listen 127.0.0.1:0
    expect_status 2
    grep -q "n.db does not exist: give a config with --config" "$T/err" ||
        { fail "serve without a config"; show stderr "$T/err"; }
    [ -e "$T/n.db" ] && fail "serve without a config made a store"
    lr route --no-explain --seed 9 --config "$T/s.yaml" --db "$T/n.db" "$T/s1.jsonl"
    expect_status 0
    [ "$(count "$T/n.db" "SELECT seq FROM engine_marks WHERE name = 'seed'")" = 9 ] ||
        fail "seed of the store's first good run: $(count "$T/n.db" "SELECT seq FROM engine_marks WHERE name = 'seed'")"
}

route_db_prints_what_route_prints_and_stores_it_all() {
    big_config
    leads 2500
    lr route --config "$T/c.yaml" "$T/e.jsonl"
    expect_status 0
    cp "$T/out" "$T/plain.jsonl"
    lr route --config "$T/c.yaml" --db "$T/r.db" --batch 100 "$T/e.jsonl"
    expect_status 0
    expect_err_empty
    same "$T/plain.jsonl" "$T/out" "route --db's decisions against route's"
    [ "$(count "$T/r.db" 'SELECT count(*) FROM leads')" = 2500 ] || fail "leads stored: $(count "$T/r.db" 'SELECT count(*) FROM leads')"
    [ "$(count "$T/r.db" 'SELECT count(*) FROM decisions')" = 2501 ] || fail "decisions stored"
    [ "$(count "$T/r.db" "SELECT count(*) FROM leads WHERE state = 'closed'")" = 1 ] || fail "L1 not closed"
    [ "$(count "$T/r.db" 'SELECT count(*) FROM decisions WHERE why IS NOT NULL')" = 2500 ] ||
        fail "explanations not stored compressed"
    # nothing was left in the WAL unsynced: a copy of the files opens whole
    [ "$(count "$T/r.db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"

    # the server on that store shows what route printed, explanation and all
    KEY=$(mkkey "$T/r.db" admin)
    srv_start rdb "$T/r.db" "" || { fail "$srv_error"; return; }
    for id in L2 L1999; do
        api GET "/v1/leads/$id"
        expect_code 200
        jq -c '.decisions[0]' "$RB" >"$T/got"
        grep "\"lead\":\"$id\"" "$T/plain.jsonl" | head -n 1 | jq -c . >"$T/want"
        same "$T/want" "$T/got" "lead $id's decision"
    done
    api GET /v1/leads/L1
    expect_jq '[.state, (.decisions | length), .decisions[1].action]' '["closed",2,"closed"]'
    srv_term rdb
}

# A line in the event form {"type":"lead","lead":{...}} stores its lead,
# not the line, as the server does with such a body.
route_db_stores_a_wrapped_lead_as_the_lead() {
    big_config
    # (a wrapper takes only type, lead and at: the fourth line, with a
    # "lead" nested in another member, is refused and stores nothing)
    printf '%s\n' '{"at":"2026-11-02T10:00:00Z","lead":{"id":"W1", "source":"web"},"type":"lead"}' \
        '{"id":"B1","source":"web"}' '{"type":"\u006cead","le\u0061d":{"id":"E5","source":"x"}}' \
        '{"type":"lead","lead":{"id":"W9"},"x":[{"lead":{}}]}' >"$T/w.jsonl"
    lr route --config "$T/c.yaml" --db "$T/w.db" "$T/w.jsonl"
    expect_status 1
    expect_err_line "w.jsonl:4: invalid event: unknown member 'x' in a lead event"
    [ "$(count "$T/w.db" "SELECT count(*) FROM leads WHERE id = 'W9'")" = 0 ] || fail "W9 was stored"
    [ "$(count "$T/w.db" "SELECT body FROM leads WHERE id = 'W1'")" = '{"id":"W1", "source":"web"}' ] ||
        fail "W1 stored as: $(count "$T/w.db" "SELECT body FROM leads WHERE id = 'W1'")"
    [ "$(count "$T/w.db" "SELECT body FROM leads WHERE id = 'B1'")" = '{"id":"B1","source":"web"}' ] ||
        fail "B1 stored as: $(count "$T/w.db" "SELECT body FROM leads WHERE id = 'B1'")"
    [ "$(count "$T/w.db" "SELECT body FROM leads WHERE id = 'E5'")" = '{"id":"E5","source":"x"}' ] ||
        fail "E5 (its keys escaped) stored as: $(count "$T/w.db" "SELECT body FROM leads WHERE id = 'E5'")"
}

route_db_a_second_run_routes_no_lead_again() {
    big_config
    leads 300
    lr route --config "$T/c.yaml" --db "$T/r.db" "$T/e.jsonl"
    expect_status 0
    lr route --config "$T/c.yaml" --db "$T/r.db" "$T/e.jsonl"
    expect_status 0
    [ "$(count "$T/r.db" 'SELECT count(*) FROM leads')" = 300 ] || fail "leads stored twice"
    grep -q '"action":"assigned"' "$T/out" && fail "a lead was routed again"
    return 0
}

# An input that cannot be read (a directory opens, then fails to read)
# is refused before the store is touched: no store made, no config
# change journaled in an existing one.
route_db_an_unreadable_input_changes_no_store() {
    big_config
    mkdir -p "$T/dir"
    lr route --config "$T/c.yaml" --db "$T/none.db" "$T/dir"
    expect_status 2
    expect_err_has "cannot open '$T/dir': Is a directory"
    [ -e "$T/none.db" ] && fail "a store was made"
    leads 3
    lr route --config "$T/c.yaml" --db "$T/r.db" "$T/e.jsonl"
    expect_status 0
    _before=$(count "$T/r.db" "SELECT count(*) FROM events")
    sed 's/name: geo/name: geo2/' "$T/c.yaml" >"$T/c2.yaml"
    lr route --config "$T/c2.yaml" --db "$T/r.db" - <"$T/dir"
    expect_status 2
    [ "$(count "$T/r.db" "SELECT count(*) FROM events")" = "$_before" ] || fail "the store changed"
}

# --start past an existing store's clock moves it there (the store's
# clock was 09:00): ann's offer of L1 runs out at 09:02, ben's at 09:04,
# and L2, with no time of its own, is decided at 09:30; a third run
# replays that journal and routes L3 as if never stopped (ann, 09:30).
route_db_start_moves_an_existing_stores_clock() {
    printf 'agents: [{id: ann}, {id: ben}]\npools: {team: [ann, ben]}\nrules: [{name: r, pool: team, strategy: top_down, offer: {timeout: 2m}, fallback: hold}]\n' >"$T/s.yaml"
    echo '{"id":"L1"}' >"$T/e.jsonl"
    lr route --config "$T/s.yaml" --db "$T/s.db" --start 2026-11-02T09:00:00Z --no-explain "$T/e.jsonl"
    expect_status 0
    echo '{"id":"L2"}' >"$T/e.jsonl"
    lr route --config "$T/s.yaml" --db "$T/s.db" --start 2026-11-02T09:30:00Z --no-explain "$T/e.jsonl"
    expect_status 0
    [ "$(wc -l <"$T/out")" -eq 5 ] || { fail "not 5 decisions"; show stdout "$T/out"; }
    grep -q '^{"at":"2026-11-02T09:04:00Z","lead":"L1","action":"held"' "$T/out" || fail "L1's offers did not run out"
    grep -q '^{"at":"2026-11-02T09:30:00Z","lead":"L2","action":"offered","agent":"ann"' "$T/out" ||
        fail "L2 not decided at --start"
    echo '{"id":"L3"}' >"$T/e.jsonl"
    lr route --config "$T/s.yaml" --db "$T/s.db" --no-explain "$T/e.jsonl"
    expect_status 0
    [ "$(wc -l <"$T/out")" -eq 1 ] || { fail "not 1 decision"; show stdout "$T/out"; }
    grep -q '^{"at":"2026-11-02T09:30:00Z","lead":"L3","action":"offered","agent":"ann"' "$T/out" ||
        fail "L3 not decided as the store's clock says"
    # a --start the store's clock has passed is not used, and stderr says so
    echo '{"id":"L4"}' >"$T/e.jsonl"
    lr route --config "$T/s.yaml" --db "$T/s.db" --start 2026-11-02T09:00:00Z --no-explain "$T/e.jsonl"
    expect_status 0
    grep -q '^{"at":"2026-11-02T09:30:00Z","lead":"L4"' "$T/out" || fail "L4 not decided at the store's clock"
    expect_err_line "^leadrouter route: $T/s.db's clock is at 2026-11-02T09:30:00Z, past --start 2026-11-02T09:00:00Z: --start is not used \\(a store's clock never goes back\\)$"
}

# A --config that differs from the store's is a config change: its
# decisions (leads of agents that left, routed again) come first on
# stdout, and stderr says so.
route_db_prints_the_decisions_of_a_config_change() {
    printf 'agents: [{id: ann}, {id: ben}]\npools: {sales: [ann, ben]}\nrules: [{name: r, pool: sales, strategy: round_robin}]\n' >"$T/c1.yaml"
    printf 'agents: [{id: cat}]\npools: {sales: [cat]}\nrules: [{name: r2, pool: sales, strategy: top_down}]\n' >"$T/c2.yaml"
    printf '{"id":"L1"}\n{"id":"L2"}\n' >"$T/e1.jsonl"
    printf '{"id":"L3"}\n' >"$T/e2.jsonl"
    lr route --config "$T/c1.yaml" --db "$T/r.db" --no-explain "$T/e1.jsonl"
    expect_status 0
    lr route --config "$T/c2.yaml" --db "$T/r.db" --no-explain "$T/e2.jsonl"
    expect_status 0
    _got=$(jq -c '[.lead, .action, .agent, .why.reason]' "$T/out" | tr '\n' ' ')
    [ "$_got" = '["L1","assigned","cat","agent_removed"] ["L2","assigned","cat","agent_removed"] ["L3","assigned","cat",null] ' ] ||
        { fail "decisions: $_got"; show out "$T/out"; }
    grep -q 'differs from the config stored in .*: applied as a config change' "$T/err" ||
        { fail "stderr does not say so"; show stderr "$T/err"; }
}

# --config is read once, by the store's side (as `serve` reads it): a
# config from a pipe makes a new store; a store whose config an earlier
# version accepted and this one would refuse (offer.attempts on a
# broadcast rule) goes on with that same file; a config that does not
# load makes no store.
route_db_reads_its_config_once() {
    printf 'agents: [{id: ann}, {id: ben}]\npools: {sales: [ann, ben]}\nrules: [{name: r, pool: sales, strategy: round_robin}]\n' >"$T/c1.yaml"
    printf '{"id":"L1"}\n{"id":"L2"}\n' >"$T/e1.jsonl"
    cat "$T/c1.yaml" | timeout "$TIMEOUT" "$BIN" route --config /dev/stdin --db "$T/p.db" --no-explain "$T/e1.jsonl" >"$T/out" 2>"$T/err"
    rc=$?
    expect_status 0
    [ "$(jq -r '.agent' "$T/out" | tr '\n' ' ')" = "ann ben " ] || { fail "piped config: decisions"; show out "$T/out"; }
    [ "$(count "$T/p.db" "SELECT count(*) FROM events WHERE type = 'config' AND length(body) > 0")" = 1 ] ||
        fail "the piped config is not in the store"

    older_config "$T"
    lr check --config "$T/old.yaml"
    expect_status 2
    printf '{"id":"B1","at":"2026-11-02T09:00:00Z"}\n' >"$T/b1.jsonl"
    printf '{"id":"B2","at":"2026-11-02T09:00:30Z"}\n' >"$T/b2.jsonl"
    lr route --config "$T/bc.yaml" --db "$T/bc.db" --no-explain "$T/b1.jsonl"
    expect_status 0
    set_stored_config "$T/bc.db" "$T/old.yaml" >"$T/n"
    [ "$(cat "$T/n")" = 1 ] || { fail "no config entry"; return; }
    lr route --config "$T/old.yaml" --db "$T/bc.db" --no-explain "$T/b2.jsonl"
    expect_status 0
    [ "$(jq -r '[.lead, .action] | join(" ")' "$T/out" | sort -u | tr '\n' ' ')" = "B2 offered " ] ||
        { fail "the store made with the older config: decisions"; show out "$T/out"; }
    [ "$(count "$T/bc.db" 'SELECT count(*) FROM leads')" = 2 ] || fail "B2 is not stored"

    printf 'agents: [\n' >"$T/bad.yaml"
    lr route --config "$T/bad.yaml" --db "$T/new.db" "$T/e1.jsonl"
    expect_status 2
    grep -q "^$T/bad.yaml:2:1: YAML syntax error" "$T/err" || { fail "no error for the bad config"; show stderr "$T/err"; }
    [ -e "$T/new.db" ] && fail "a config that does not load made a store"
    # 600 errors: whole lines, as many as fit, then how many more
    { echo "agents:"; i=0; while [ $i -lt 300 ]; do echo "  - {id: a$i, weight: -1, status: bogus$i}"; i=$((i + 1)); done
      echo "pools: {p: [a0]}"; echo "rules: [{name: r, pool: p, strategy: round_robin}]"; } >"$T/many.yaml"
    lr route --config "$T/many.yaml" --db "$T/new.db" "$T/e1.jsonl"
    expect_status 2
    [ "$(grep -c "^$T/many.yaml:[0-9]*:[0-9]*: agent 'a[0-9]*': " "$T/err")" = "$(($(wc -l <"$T/err") - 1))" ] &&
        tail -n 1 "$T/err" | grep -q "^$T/many.yaml: [0-9]* more errors not shown here: leadrouter check --config lists them all$" ||
        { fail "a long list of config errors"; show stderr "$T/err"; }
    mkdir "$T/dir.yaml"
    lr route --config "$T/dir.yaml" --db "$T/new.db" "$T/e1.jsonl"
    expect_status 2
    grep -q 'dir.yaml: cannot read: Is a directory' "$T/err" || { fail "a directory as --config"; show stderr "$T/err"; }

    # the notes about the config's time zones (where ICU's zone data and
    # the system's disagree now: docs/configuration.md) as without --db
    printf "agents: [{id: ann, schedule: {timezone: America/Mexico_City, hours: {mon-fri: '09:00-17:00'}}}]\npools: {sales: [ann]}\nrules: [{name: r, pool: sales, strategy: round_robin}]\n" >"$T/tz.yaml"
    lr route --config "$T/tz.yaml" --no-explain "$T/e1.jsonl"
    expect_status 0
    grep ': note: time zone' "$T/err" >"$T/notes"
    lr route --config "$T/tz.yaml" --db "$T/tz.db" --no-explain "$T/e1.jsonl"
    expect_status 0
    grep ': note: time zone' "$T/err" | cmp -s - "$T/notes" ||
        { fail "route --db's zone notes differ"; show without "$T/notes"; show with "$T/err"; }
    return 0
}

route_db_repeats_and_deliveries_while_the_store_catches_up() {
    big_config
    {
        echo 'channels:'
        echo '  crm: {webhook: "https://crm.example.com/hooks/leads"}'
        echo 'notify:'
        echo '  - {on: [assigned], to: crm}'
    } >>"$T/c.yaml"
    leads 50
    # L50 again at once (its row may still wait in the store's queue), the
    # same content: not routed again; L8 with other content: refused
    grep '"L50"' "$T/e.jsonl" >"$T/again"
    cat "$T/again" >>"$T/e.jsonl"
    echo '{"id":"L8","state":"CA","score":5,"received_at":"2026-11-02T10:00:00Z"}' >>"$T/e.jsonl"
    echo '{"id":"L51","state":"CA","received_at":"2026-11-02T10:06:00Z"}' >>"$T/e.jsonl"
    lr route --config "$T/c.yaml" --db "$T/r.db" --batch 7 "$T/e.jsonl"
    expect_status 1
    grep -q "e.jsonl:53: lead 'L8' is in the store with other content: not routed" "$T/err" ||
        fail "no refusal of L8: $(cat "$T/err")"
    [ "$(grep -c '"action":"assigned"' "$T/out")" = 51 ] ||
        fail "assigned: $(grep -c '"action":"assigned"' "$T/out")"
    [ "$(count "$T/r.db" 'SELECT count(*) FROM leads')" = 51 ] || fail "leads stored"
    [ "$(count "$T/r.db" 'SELECT count(*) FROM decisions')" = 52 ] || fail "decisions stored"
    # one delivery per assignment, each pointing at its own decision
    n=$(count "$T/r.db" "SELECT count(*) FROM deliveries d JOIN decisions c ON c.id = d.decision
        WHERE c.action = 'assigned' AND c.lead = d.lead AND c.agent = d.agent AND d.status = 'pending'")
    [ "$n" = 51 ] || fail "deliveries that match their decision: $n"
    [ "$(count "$T/r.db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
}

# SIGKILL while the checkpoint thread copies the WAL into the database
# file: what was committed opens whole, each stored lead with its decision,
# and a second run routes exactly the leads the first one did not store.
route_db_killed_midway_keeps_a_whole_store_and_resumes() {
    big_config
    n=60000
    awk -v n=$n 'BEGIN { for (i = 1; i <= n; i++)
        printf "{\"id\":\"L%d\",\"state\":\"%s\",\"received_at\":\"2026-11-02T10:00:00Z\"}\n",
               i, i % 2 ? "NV" : "CA" }' >"$T/e.jsonl"
    "$BIN" route --config "$T/c.yaml" --db "$T/r.db" --batch 50 "$T/e.jsonl" >/dev/null 2>"$T/err1" &
    pid=$!
    # the database file grows only by checkpoints: kill once it has
    i=0
    while [ $i -lt 1500 ] && kill -0 $pid 2>/dev/null; do
        [ "$(stat -c %s "$T/r.db" 2>/dev/null || echo 0)" -gt 2000000 ] && break
        sleep 0.01
        i=$((i + 1))
    done
    kill -KILL $pid 2>/dev/null
    { wait $pid; } 2>/dev/null
    [ $? -eq 137 ] || { fail "route ended before the kill: $(cat "$T/err1")"; return; }
    [ "$(count "$T/r.db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check after the kill"
    stored=$(count "$T/r.db" 'SELECT count(*) FROM leads')
    [ "$stored" -gt 0 ] && [ "$stored" -lt $n ] || fail "leads stored before the kill: $stored"
    [ "$(count "$T/r.db" "SELECT count(*) FROM decisions WHERE action = 'assigned'")" = "$stored" ] ||
        fail "stored leads without their decision"
    lr route --config "$T/c.yaml" --db "$T/r.db" --batch 50 "$T/e.jsonl"
    expect_status 0
    [ "$(count "$T/r.db" 'SELECT count(*) FROM leads')" = $n ] || fail "leads after the second run"
    [ "$(grep -c '"action":"assigned"' "$T/out")" = $((n - stored)) ] ||
        fail "routed again: $(grep -c '"action":"assigned"' "$T/out") for $((n - stored)) not stored"
    [ "$(count "$T/r.db" "SELECT count(DISTINCT lead) FROM decisions WHERE action = 'assigned'")" = $n ] ||
        fail "a lead assigned twice or not at all"
}

# Another process holds a read transaction for the whole run (a sqlite3
# shell, a report): its snapshot pins the WAL, which grows past the point
# where the checkpoint thread would restart it; the run must neither stall
# on nor give up because of it (it once died with "database is locked").
route_db_while_a_reader_holds_a_snapshot() {
    big_config
    echo '{"id":"R0","state":"CA","received_at":"2026-11-02T10:00:00Z"}' >"$T/first.jsonl"
    lr route --config "$T/c.yaml" --db "$T/r.db" "$T/first.jsonl"
    expect_status 0
    n=60000
    awk -v n=$n 'BEGIN { for (i = 1; i <= n; i++)
        printf "{\"id\":\"R%d\",\"state\":\"%s\",\"source\":\"s%d\",\"received_at\":\"2026-11-02T10:00:00Z\"}\n",
               i, i % 2 ? "NV" : "CA", i % 7 }' >"$T/e.jsonl"
    python3 -c '
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN")
print(db.execute("SELECT count(*) FROM leads").fetchone()[0], flush=True)
time.sleep(120)' "$T/r.db" >"$T/reader.out" 2>&1 &
    rpid=$!
    i=0
    while [ $i -lt 200 ] && ! [ -s "$T/reader.out" ]; do sleep 0.05; i=$((i + 1)); done
    [ "$(cat "$T/reader.out")" = 1 ] || fail "the reader did not start: $(cat "$T/reader.out")"
    lr route --config "$T/c.yaml" --db "$T/r.db" --batch 50 "$T/e.jsonl"
    expect_status 0
    expect_err_empty
    kill $rpid 2>/dev/null
    { wait $rpid; } 2>/dev/null
    [ "$(count "$T/r.db" 'SELECT count(*) FROM leads')" = $((n + 1)) ] || fail "leads stored"
    [ "$(count "$T/r.db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
}

# A lead sent while the run waits for the next one (a producer that
# sends leads as they come) gets its decision printed before the next
# arrives, and that decision is in the store by then, killed at once or
# not; also when the lead ended a batch (--batch 1: its commit was made
# before the wait).
route_db_prints_a_decision_once_stored() {
    big_config
    for _b in 10000 1; do
        for _kill in no yes; do
            # the last run's output too: the job below opens "$T/out" on its
            # own time, and the loop must not find that run's S1 in it
            rm -f "$T/r.db" "$T/r.db-wal" "$T/r.db-shm" "$T/out"
            ( echo '{"id":"S1","state":"CA","received_at":"2026-11-02T10:00:00Z"}'
              sleep 3
              echo '{"id":"S2","state":"NV","received_at":"2026-11-02T10:00:00Z"}' ) |
                "$BIN" route --config "$T/c.yaml" --db "$T/r.db" --batch $_b >"$T/out" 2>"$T/err" &
            pid=$!
            i=0
            while [ $i -lt 2000 ] && ! grep -q '"lead":"S1"' "$T/out" 2>/dev/null; do i=$((i + 1)); done
            [ $_kill = yes ] && kill -KILL $pid 2>/dev/null
            grep -q '"lead":"S1"' "$T/out" ||
                { fail "--batch $_b: S1's decision was not printed while the run waited"; continue; }
            _n=$(count "$T/r.db" "SELECT count(*) FROM decisions WHERE lead = 'S1'")
            [ "$_n" = 1 ] || fail "--batch $_b, killed $_kill: S1's decision was printed, $_n in the store"
            { wait $pid; } 2>/dev/null
            _rc=$?
            [ $_kill = yes ] && continue
            [ $_rc -eq 0 ] || fail "--batch $_b: route exited $_rc: $(cat "$T/err")"
            [ "$(grep -c '"action":"assigned"' "$T/out")" = 2 ] ||
                fail "--batch $_b: decisions printed: $(cat "$T/out")"
        done
    done
}

# A full disk stops the run (FATAL naming the file system, no exit 0) with
# a whole store; once it has room, a second run over the same input routes
# the leads not stored and only those: every lead is then stored and
# assigned once (a 3 MiB tmpfs; skipped where this user cannot mount one).
route_db_on_a_full_disk_stops_and_a_second_run_completes() {
    mkdir -p "$T/small"
    if ! mount -t tmpfs -o size=3m tmpfs "$T/small" 2>/dev/null; then
        echo "  (skipped: cannot mount a tmpfs here)"
        return
    fi
    big_config
    python3 -c '
import os, base64
for i in range(1, 4001):
    pad = base64.b64encode(os.urandom(900)).decode()
    print("{\"id\":\"F%d\",\"state\":\"%s\",\"received_at\":\"2026-11-02T10:00:00Z\",\"fields\":{\"note\":\"%s\"}}" % (i, "CA" if i % 2 else "NV", pad))
' >"$T/e.jsonl"
    lr route --config "$T/c.yaml" --db "$T/small/r.db" --batch 20 "$T/e.jsonl"
    [ "$rc" -eq 0 ] && fail "route --db went through a full disk"
    grep -q "FATAL: .*no space left on the file system of $T/small/r.db" "$T/err" ||
        { fail "no FATAL naming the full file system"; show stderr "$T/err"; }
    cp "$T/small/"r.db* "$T/" 2>/dev/null
    umount "$T/small"
    [ "$(count "$T/r.db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check after the full disk"
    stored=$(count "$T/r.db" 'SELECT count(*) FROM leads')
    [ "$stored" -gt 0 ] && [ "$stored" -lt 4000 ] || fail "leads stored before the disk was full: $stored"
    lr route --config "$T/c.yaml" --db "$T/r.db" --batch 20 "$T/e.jsonl"
    expect_status 0
    [ "$(grep -c '"action":"assigned"' "$T/out")" = $((4000 - stored)) ] ||
        fail "the second run assigned $(grep -c '"action":"assigned"' "$T/out") for $((4000 - stored)) not stored"
    [ "$(count "$T/r.db" "SELECT count(DISTINCT lead) || '/' || count(*) FROM decisions WHERE action = 'assigned'")" = 4000/4000 ] ||
        fail "a lead assigned twice or not at all"
}

# `route --summary`'s time to assign is GET /v1/stats's time_to_assign_ms
# on the same history (random configs and histories: summary_history.py),
# the server run on the store `route --db` made of it.
route_summary_time_to_assign_is_the_servers() {
    for seed in 1 2 3 4 5 6 7 8 9 10; do
        rm -rf "$T/h"; mkdir -p "$T/h"
        python3 "$(dirname "$0")/summary_history.py" $seed "$T/h" || { fail "summary_history.py $seed"; return; }
        lr route --config "$T/h/c.yaml" --summary "$T/h/e.jsonl"
        _cli=$(sed -n 's/^  time to assign  //p' "$T/err")
        lr route --config "$T/h/c.yaml" --db "$T/h/s.db" "$T/h/e.jsonl"
        KEY=$(mkkey "$T/h/s.db" admin)
        srv_start S "$T/h/s.db" "$T/h/c.yaml" || { fail "$srv_error"; return; }
        req GET /v1/stats -H "Authorization: Bearer $KEY"
        _srv=$(jq -r '.time_to_assign_ms | if .count == 0 then "- (no lead was assigned or claimed)"
            else "median \(.median) ms, p90 \(.p90) ms (\(.count) lead\(if .count == 1 then "" else "s" end))" end' "$RB")
        srv_term S
        [ -n "$_cli" ] && [ "$_cli" = "$_srv" ] ||
            fail "seed $seed: route --summary says '$_cli', GET /v1/stats '$_srv'"
    done
}

tcase route_db_prints_what_route_prints_and_stores_it_all
tcase route_db_prints_a_decision_once_stored
tcase route_db_on_a_full_disk_stops_and_a_second_run_completes
tcase route_db_while_a_reader_holds_a_snapshot
tcase route_db_killed_midway_keeps_a_whole_store_and_resumes
tcase route_db_stores_a_wrapped_lead_as_the_lead
tcase route_db_a_second_run_routes_no_lead_again
tcase route_db_repeats_and_deliveries_while_the_store_catches_up
tcase route_db_prints_the_decisions_of_a_config_change
tcase route_db_reads_its_config_once
tcase route_db_replays_a_queued_lead_as_it_went_out
tcase route_db_keeps_the_seed_it_was_made_with
tcase route_summary_time_to_assign_is_the_servers
tcase route_db_start_moves_an_existing_stores_clock
tcase route_db_an_unreadable_input_changes_no_store
finish

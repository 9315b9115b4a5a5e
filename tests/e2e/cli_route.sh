#!/bin/sh
# cli_route.sh -- `leadrouter route` end to end: decisions on stdout,
# rejected lines on stderr with their numbers, exit codes, determinism,
# stdin, --start, --seed, --no-explain, --summary, long lines, big inputs.
. "$(dirname "$0")/lib.sh"

# rr_config: three agents in one pool, round robin, into $T/c.yaml.
rr_config() {
    cat >"$T/c.yaml" <<'EOF'
agents:
  - id: alice
  - id: bob
  - id: carol
pools:
  team: [alice, bob, carol]
rules:
  - name: all
    pool: team
    strategy: round_robin
EOF
}

# rr_line AT LEAD AGENT: the decision round robin gives LEAD.
rr_line() {
    _c=""
    for _a in alice bob carol; do
        if [ "$_a" = "$3" ]; then _s='"chosen":true'; else _s='"eligible":true'; fi
        _c="$_c${_c:+,}{\"agent\":\"$_a\",$_s}"
    done
    printf '{"at":"%s","lead":"%s","action":"assigned","agent":"%s","rule":"all","pool":"team","strategy":"round_robin","why":{"candidates":[%s]}}\n' \
        "$1" "$2" "$3" "$_c"
}

EPOCH=1970-01-01T00:00:00Z

route_round_robin_gives_alice_bob_carol_alice() {
    rr_config
    printf '%s\n' '{"id":"L1"}' '{"id":"L2"}' '{"id":"L3"}' '{"id":"L4"}' >"$T/e.jsonl"
    lr route --config "$T/c.yaml" "$T/e.jsonl"
    expect_status 0
    expect_err_empty
    { rr_line $EPOCH L1 alice; rr_line $EPOCH L2 bob; rr_line $EPOCH L3 carol
      rr_line $EPOCH L4 alice; } | expect_out
}

route_bad_json_line_is_reported_the_rest_routed_exit_1() {
    rr_config
    printf '%s\n' '{"id":"L1"}' '{"id":"L2"}' '{"id":"L3", oops}' '{"id":"L4"}' '{"id":"L5"}' \
        >"$T/events.jsonl"
    lr route --config "$T/c.yaml" "$T/events.jsonl"
    expect_status 1
    expect_err_has "events.jsonl:3: invalid JSON"
    expect_err_line '^.*events\.jsonl:3: invalid JSON at column [0-9]+: '
    expect_lines 1 "$T/err"
    { rr_line $EPOCH L1 alice; rr_line $EPOCH L2 bob; rr_line $EPOCH L4 carol
      rr_line $EPOCH L5 alice; } | expect_out
}

route_invalid_event_names_line_and_field() {
    rr_config
    printf '%s\n' '{"id":"L1"}' '{"type":"agent","status":"away"}' '{"id":"L2","score":"high"}' \
        '{"type":"teleport"}' '{"id":"L3"}' '{"id":"L\u00014"}' >"$T/events.jsonl"
    lr route --config "$T/c.yaml" "$T/events.jsonl"
    expect_status 1
    expect_err_has "events.jsonl:2: invalid event: 'agent' is required"
    expect_err_has "events.jsonl:3: invalid event: 'score' must be a number"
    expect_err_has "events.jsonl:4: invalid event: unknown event type 'teleport'"
    # as the server refuses it: no path could name the lead
    expect_err_has "events.jsonl:6: invalid event: 'id' must not contain a control character"
    expect_lines 4 "$T/err"
    { rr_line $EPOCH L1 alice; rr_line $EPOCH L3 bob; } | expect_out
}

route_bad_config_exits_2_before_reading_events() {
    cat >"$T/bad.yaml" <<'EOF'
agents:
  - id: alice
pools:
  team: [alice, zoe]
rules:
  - name: all
    pool: team
    strategy: round_robbin
EOF
    # The events file does not exist: the config is rejected first.
    lr route --config "$T/bad.yaml" "$T/missing.jsonl"
    expect_status 2
    expect_out_empty
    expect_err_line "bad\.yaml:4:17: pool 'team': unknown agent 'zoe'$"
    expect_err_line "bad\.yaml:8:15: rule 'all': unknown strategy 'round_robbin'"
    expect_lines 2 "$T/err"
}

route_same_seed_twice_gives_identical_bytes() {
    cat >"$T/c.yaml" <<'EOF'
agents: [{id: a}, {id: b}, {id: c}, {id: d}]
pools: {all: [a, b, c, d]}
rules: [{name: lottery, pool: all, strategy: random}]
EOF
    i=1
    while [ $i -le 60 ]; do echo "{\"id\":\"L$i\"}"; i=$((i + 1)); done >"$T/e.jsonl"
    lr route --config "$T/c.yaml" --seed 7 "$T/e.jsonl"
    expect_status 0
    cp "$T/out" "$T/first"
    lr route --config "$T/c.yaml" --seed 7 "$T/e.jsonl"
    expect_out_file "$T/first"
    expect_lines 60 "$T/first"
    lr route --config "$T/c.yaml" --seed 8 "$T/e.jsonl"
    cmp -s "$T/out" "$T/first" && fail "--seed 8 gave the same 60 random picks as --seed 7"
}

route_reads_stdin_without_file_or_with_dash() {
    rr_config
    printf '%s\n' '{"id":"L1"}' 'nope' '{"id":"L2"}' >"$T/e.jsonl"
    lr_in "$T/e.jsonl" route --config "$T/c.yaml"
    expect_status 1
    expect_err_line '^<stdin>:2: invalid JSON'
    { rr_line $EPOCH L1 alice; rr_line $EPOCH L2 bob; } | expect_out
    lr_in "$T/e.jsonl" route --config "$T/c.yaml" -
    expect_status 1
    { rr_line $EPOCH L1 alice; rr_line $EPOCH L2 bob; } | expect_out
}

route_start_is_the_clock_until_an_event_gives_a_time() {
    rr_config
    printf '%s\n' '{"id":"L1"}' '{"id":"L2","received_at":"2026-11-02T09:30:00Z"}' '{"id":"L3"}' \
        >"$T/e.jsonl"
    lr route --config "$T/c.yaml" --start 2026-11-02T09:00:00Z "$T/e.jsonl"
    expect_status 0
    { rr_line 2026-11-02T09:00:00Z L1 alice; rr_line 2026-11-02T09:30:00Z L2 bob
      rr_line 2026-11-02T09:30:00Z L3 carol; } | expect_out
}

route_options_may_follow_the_file() {
    rr_config
    printf '%s\n' '{"id":"L1"}' >"$T/e.jsonl"
    lr route "$T/e.jsonl" --start 2026-01-01T00:00:00Z --config "$T/c.yaml"
    expect_status 0
    rr_line 2026-01-01T00:00:00Z L1 alice | expect_out
}

# Three seeds of a random day (ranking.py): every ranking strategy's
# chosen agent ranks first by the figures its candidates show.
route_ranking_figures_agree_with_every_choice() {
    for seed in 1 2 3; do
        python3 "$(dirname "$0")/ranking.py" gen $seed "$T" || fail "ranking.py gen $seed"
        lr route --config "$T/c.yaml" "$T/e.jsonl"
        expect_status 0
        if ! python3 "$(dirname "$0")/ranking.py" check <"$T/out" >"$T/check"; then
            fail "seed $seed: figures disagree with the choices"
            show check "$T/check"
        fi
    done
}

route_no_explain_leaves_out_candidates() {
    rr_config
    printf '%s\n' '{"id":"L1"}' '{"id":"L2"}' >"$T/e.jsonl"
    lr route --no-explain --config "$T/c.yaml" "$T/e.jsonl"
    expect_status 0
    expect_out <<'EOF'
{"at":"1970-01-01T00:00:00Z","lead":"L1","action":"assigned","agent":"alice","rule":"all","pool":"team","strategy":"round_robin"}
{"at":"1970-01-01T00:00:00Z","lead":"L2","action":"assigned","agent":"bob","rule":"all","pool":"team","strategy":"round_robin"}
EOF
}

route_summary_counts_leads_per_agent_on_stderr() {
    rr_config
    printf '%s\n' '{"id":"L1"}' '{"id":"L2"}' '{"id":"L3"}' '{"id":"L4"}' \
        '{"type":"progress","lead":"L1","status":"won"}' '{"id":"L1"}' >"$T/e.jsonl"
    lr route --config "$T/c.yaml" "$T/e.jsonl"
    cp "$T/out" "$T/plain"
    lr route --config "$T/c.yaml" --summary "$T/e.jsonl"
    expect_status 0
    expect_out_file "$T/plain"
    expect_err_line '^  events applied +6$'
    expect_err_line '^  lines rejected +0$'
    expect_err_line '^  leads in +4$'
    expect_err_line '^  decisions +6$'
    expect_err_line '^  assigned +4$'
    expect_err_line '^  closed +1$'
    expect_err_line '^  rejected +1$'
    expect_err_line '^  agent +status +assigned +open +won +closed$'
    expect_err_line '^  alice +available +2 +1 +1 +1$'
    expect_err_line '^  bob +available +1 +1 +0 +0$'
    expect_err_line '^  carol +available +1 +1 +0 +0$'
    expect_err_line '^  all +team +round_robin +5 +4 +0 +0 +0 +0 +0$'
    expect_err_line '^  \(no rule\) +- +- +1 '
    # columns line up: "assigned" and alice's count end in the same column
    h=$(grep -E '^  agent ' "$T/err" | awk '{ print index($0, "assigned") + 7 }')
    a=$(grep -E '^  alice ' "$T/err" | awk '{ print index($0, " 2 ") + 1 }')
    [ "$h" = "$a" ] || fail "agent table not aligned (header ends at $h, count at $a)"
}

# The time from a lead's arrival (its received_at, else its event's time)
# to its first assignment, as GET /v1/stats measures it: L1 0, L2 4 min
# (queued until L1 closed), L3 10 min (received at 9:00, sent at 9:06);
# L4 still waits and is not counted. Nearest rank: the median of three is
# the second, p90 the third.
route_summary_times_the_first_assignment() {
    printf 'agents: [{id: ann, capacity: 1}]\npools: {team: [ann]}\nrules:\n  - {name: r, pool: team, strategy: round_robin, fallback: queue}\n' >"$T/c.yaml"
    printf '%s\n' '{"id":"L1","at":"2026-11-02T09:00:00Z"}' '{"id":"L2","at":"2026-11-02T09:01:00Z"}' \
        '{"type":"progress","lead":"L1","status":"won","at":"2026-11-02T09:05:00Z"}' \
        '{"id":"L3","received_at":"2026-11-02T09:00:00Z","at":"2026-11-02T09:06:00Z"}' \
        '{"type":"progress","lead":"L2","status":"lost","at":"2026-11-02T09:10:00Z"}' \
        '{"id":"L4","at":"2026-11-02T09:11:00Z"}' >"$T/e.jsonl"
    lr route --config "$T/c.yaml" --summary "$T/e.jsonl"
    expect_status 0
    expect_err_line '^  time to assign  median 240000 ms, p90 600000 ms \(3 leads\)$'
    # an offer counts when it is accepted
    printf 'agents: [{id: ann}]\npools: {team: [ann]}\nrules:\n  - {name: o, pool: team, strategy: top_down, offer: {timeout: 1h}}\n' >"$T/c.yaml"
    printf '%s\n' '{"id":"O1","at":"2026-11-02T09:00:00Z"}' \
        '{"type":"accept","lead":"O1","agent":"ann","at":"2026-11-02T09:01:30Z"}' >"$T/e.jsonl"
    lr route --config "$T/c.yaml" --summary "$T/e.jsonl"
    expect_err_line '^  time to assign  median 90000 ms, p90 90000 ms \(1 lead\)$'
    printf '%s\n' '{"id":"O1","at":"2026-11-02T09:00:00Z"}' >"$T/e.jsonl"
    lr route --config "$T/c.yaml" --summary "$T/e.jsonl"
    expect_err_line '^  time to assign  - \(no lead was assigned or claimed\)$'
}

# A lead without received_at arrives at its event's time, not at the time
# of another lead's deadline that fires before it in the same event (as
# GET /v1/stats: the offer of L1 expires at 9:01, L2 comes at 9:10).
route_summary_arrival_is_the_leads_own_event_time() {
    printf 'agents: [{id: ann}, {id: ben}]\npools: {team: [ann, ben]}\nrules:\n  - {name: o, pool: team, strategy: least_busy, offer: {timeout: 1m}}\n' >"$T/c.yaml"
    printf '%s\n' '{"id":"L1","at":"2026-11-02T09:00:00Z"}' '{"id":"L2","at":"2026-11-02T09:10:00Z"}' \
        '{"type":"accept","lead":"L2","agent":"ann","at":"2026-11-02T09:10:00Z"}' >"$T/e.jsonl"
    lr route --config "$T/c.yaml" --summary "$T/e.jsonl"
    expect_status 0
    expect_err_line '^  time to assign  median 0 ms, p90 0 ms \(1 lead\)$'
}

# A lead id received before (duplicate_lead) does not arrive again: L1's
# reassignment after a release is not a second first assignment (as
# GET /v1/stats, which counts a lead once).
route_summary_duplicate_lead_is_timed_once() {
    printf 'agents: [{id: ann}, {id: ben}]\npools: {team: [ann, ben]}\nrules:\n  - {name: r, pool: team, strategy: round_robin}\n' >"$T/c.yaml"
    printf '%s\n' '{"id":"L1","at":"2026-11-02T09:00:00Z"}' '{"id":"L1","at":"2026-11-02T09:05:00Z"}' \
        '{"type":"release","lead":"L1","agent":"ann","at":"2026-11-02T09:20:00Z"}' >"$T/e.jsonl"
    lr route --config "$T/c.yaml" --summary "$T/e.jsonl"
    expect_status 0
    expect_err_line '^  time to assign  median 0 ms, p90 0 ms \(1 lead\)$'
}

# "waiting now" counts the leads that wait under a rule (queued, held,
# offered), as the server's queues do; a lead no rule took is "unrouted
# now" (it was counted as waiting).
route_summary_tells_waiting_from_unrouted() {
    printf 'agents: [{id: ann, capacity: 1}]\npools: {team: [ann]}\nrules:\n  - {name: web, when: '"'"'source == "web"'"'"', pool: team, strategy: round_robin, fallback: queue}\n' >"$T/c.yaml"
    printf '%s\n' '{"id":"W1","source":"web"}' '{"id":"W2","source":"web"}' '{"id":"X1","source":"fax"}' \
        '{"id":"X2"}' >"$T/e.jsonl"
    lr route --config "$T/c.yaml" --summary "$T/e.jsonl"
    expect_status 0
    expect_err_line '^  open now +1$'
    expect_err_line '^  waiting now +1$'
    expect_err_line '^  unrouted now +2$'
    # a rule's claims and expired offers have columns of their own
    expect_err_line '^  rule +pool +strategy +decisions +assigned +offered +claimed +expired +queued +held$'
}

# A lead offered to one agent holds its slot: the agent's assigned and
# open count it while the offer runs, the totals count it as waiting, and
# the summary says so under the agents' table.
route_summary_says_how_offers_count() {
    printf 'agents: [{id: ann}, {id: ben}]\npools: {team: [ann, ben]}\nrules:\n  - {name: o, pool: team, strategy: top_down, offer: {timeout: 1h}}\n' >"$T/c.yaml"
    printf '%s\n' '{"id":"O1","at":"2026-11-02T09:00:00Z"}' >"$T/e.jsonl"
    lr route --config "$T/c.yaml" --summary "$T/e.jsonl"
    expect_status 0
    expect_err_line '^  open now +0$'
    expect_err_line '^  waiting now +1$'
    expect_err_line '^  ann +available +1 +1 +0 +0$'
    expect_err_line '^   the offer runs; the totals above count the 1 offered so as waiting\)$'
    printf '%s\n' '{"id":"O1","at":"2026-11-02T09:00:00Z"}' \
        '{"type":"accept","lead":"O1","agent":"ann","at":"2026-11-02T09:01:00Z"}' >"$T/e.jsonl"
    lr route --config "$T/c.yaml" --summary "$T/e.jsonl"
    expect_err_line '^  open now +1$'
    grep -q 'offered so as waiting' "$T/err" && fail "the note printed with no offer running"
    # a broadcast's offers are in no agent's counts: nothing to explain
    printf 'agents: [{id: ann}, {id: ben}]\npools: {team: [ann, ben]}\nrules:\n  - {name: b, pool: team, strategy: broadcast, offer: {timeout: 1h}}\n' >"$T/c.yaml"
    printf '%s\n' '{"id":"B1","at":"2026-11-02T09:00:00Z"}' >"$T/e.jsonl"
    lr route --config "$T/c.yaml" --summary "$T/e.jsonl"
    expect_err_line '^  waiting now +1$'
    grep -q 'offered so as waiting' "$T/err" && fail "the note printed for a broadcast's offers"
}

route_every_action_hand_derived() {
    cat >"$T/c.yaml" <<'EOF'
agents:
  - {id: alice, capacity: 1}
  - {id: bob, capacity: 1}
  - {id: carol}
pools:
  team: [alice, bob]
  pull: [carol]
rules:
  - {name: hot, when: 'score >= 90', pool: team, strategy: broadcast}
  - {name: desk, when: 'product == "commercial"', pool: team, strategy: manual}
  - {name: pull, when: 'source == "list"', pool: pull, strategy: queue}
  - {name: rr, when: 'state == "CA"', pool: team, strategy: round_robin, fallback: queue}
EOF
    cat >"$T/e.jsonl" <<'EOF'
{"id":"H1","score":95}
{"type":"claim","agent":"bob","lead":"H1"}
{"type":"claim","agent":"alice","lead":"H1"}
{"id":"C1","state":"CA"}
{"id":"C2","state":"CA"}
{"type":"progress","lead":"H1","status":"won"}
{"id":"M1","product":"commercial"}
{"type":"assign","lead":"M1","agent":"carol"}
{"id":"P1","source":"list"}
{"type":"claim","agent":"carol"}
{"type":"release","lead":"C1"}
{"id":"Z1"}
{"id":"Z1"}
{"type":"progress","lead":"NOPE","status":"won"}
EOF
    lr route --config "$T/c.yaml" "$T/e.jsonl"
    expect_status 0
    expect_err_empty
    expect_fields '[.lead, .action, (.agent // .agents), .rule, .why.reason]' <<'EOF'
["H1","offered",["alice","bob"],"hot",null]
["H1","claimed","bob","hot",null]
["H1","claim_refused","alice","hot","already_claimed"]
["C1","assigned","alice","rr",null]
["C2","queued",null,"rr","no_eligible_agent"]
["H1","closed","bob","hot",null]
["C2","assigned","bob","rr","capacity_freed"]
["M1","held",null,"desk",null]
["M1","assigned","carol","desk","manual"]
["P1","queued",null,"pull",null]
["P1","claimed","carol","pull",null]
["C1","released","alice","rr","released"]
["C1","queued",null,"rr","no_eligible_agent"]
["Z1","unrouted",null,null,"no_rule_matched"]
["Z1","rejected",null,null,"duplicate_lead"]
["NOPE","rejected",null,null,"unknown_lead"]
EOF
    # the skipped candidates say why
    expect_out_has '"lead":"C1","action":"assigned","agent":"alice","rule":"rr","pool":"team","strategy":"round_robin","why":{"candidates":[{"agent":"alice","chosen":true},{"agent":"bob","skipped":"at_capacity"}]}}'
    expect_out_has '"lead":"H1","action":"closed","agent":"bob","rule":"hot","pool":"team","strategy":"broadcast","status":"won"}'
}

route_blank_and_crlf_lines_keep_line_numbers() {
    rr_config
    printf '{"id":"L1"}\r\n\r\n   \n\t\n{"id":"L2"}\r\nbad\r\n{"id":"L3"}' >"$T/e.jsonl"
    lr route --config "$T/c.yaml" "$T/e.jsonl"
    expect_status 1
    expect_err_line 'e\.jsonl:6: invalid JSON'
    expect_lines 1 "$T/err"
    { rr_line $EPOCH L1 alice; rr_line $EPOCH L2 bob; rr_line $EPOCH L3 carol; } | expect_out
    # a file that starts with a UTF-8 byte order mark (Windows tools write
    # one): its first line is read without it; one later is an error
    printf '\357\273\277{"id":"L1"}\r\n\357\273\277{"id":"L2"}\r\n' >"$T/bom.jsonl"
    lr route --config "$T/c.yaml" "$T/bom.jsonl"
    expect_status 1
    expect_err_line 'bom\.jsonl:2: invalid JSON'
    rr_line $EPOCH L1 alice | expect_out
}

route_line_over_1MiB_is_rejected_long_valid_lines_pass() {
    rr_config
    {
        printf '{"id":"L1","note":"'; head -c 1200000 /dev/zero | tr '\0' a; printf '"}\n'
        echo '{"id":"L2"}'
        # 1,000,000 bytes of spaces: longer than one read block, valid JSON
        printf '{"id":"L3"'; head -c 1000000 /dev/zero | tr '\0' ' '; printf '}\n'
        echo '{"id":"L4"}'
    } >"$T/e.jsonl"
    lr route --config "$T/c.yaml" "$T/e.jsonl"
    expect_status 1
    expect_err_line 'e\.jsonl:1: line too long \(more than 1048576 bytes\)$'
    expect_lines 1 "$T/err"
    { rr_line $EPOCH L2 alice; rr_line $EPOCH L3 bob; rr_line $EPOCH L4 carol; } | expect_out
}

route_twenty_thousand_leads_through_a_pipe() {
    rr_config
    awk 'BEGIN { for (i = 1; i <= 20000; i++) printf "{\"id\":\"L%d\",\"state\":\"CA\"}\n", i }' \
        >"$T/e.jsonl"
    cat "$T/e.jsonl" | timeout "$TIMEOUT" "$BIN" route --config "$T/c.yaml" >"$T/out" 2>"$T/err"
    rc=$?
    expect_status 0
    expect_lines 20000 "$T/out"
    for a in alice:6667 bob:6667 carol:6666; do
        n=$(grep -c "\"agent\":\"${a%:*}\",\"rule\"" "$T/out")
        [ "$n" = "${a#*:}" ] || fail "${a%:*} got $n leads, expected ${a#*:}"
    done
    last=$(tail -n 1 "$T/out")
    case $last in
    '{"at":"1970-01-01T00:00:00Z","lead":"L20000","action":"assigned","agent":"bob",'*) ;;
    *) fail "last decision: $last" ;;
    esac
}

route_bad_usage_exits_2_with_a_hint() {
    rr_config
    echo '{"id":"L1"}' >"$T/e.jsonl"
    lr route "$T/e.jsonl"
    expect_status 2
    expect_err_has "leadrouter route: --config FILE is required (see leadrouter route --help)"
    lr route --config "$T/c.yaml" --bogus "$T/e.jsonl"
    expect_status 2
    expect_err_has "leadrouter route: unknown option '--bogus' (see leadrouter route --help)"
    lr route --config "$T/c.yaml" --seed nine "$T/e.jsonl"
    expect_status 2
    expect_err_has "--seed wants a number"
    lr route --config "$T/c.yaml" --seed -1 "$T/e.jsonl"
    expect_status 2
    lr route --config "$T/c.yaml" --start yesterday "$T/e.jsonl"
    expect_status 2
    expect_err_has "--start wants an RFC 3339 time"
    lr route --config "$T/c.yaml" "$T/e.jsonl" "$T/e.jsonl"
    expect_status 2
    expect_err_has "one events file at most"
    lr route --config "$T/c.yaml" --sync full "$T/e.jsonl"
    expect_status 2
    expect_err_has "--sync goes with --db"
    lr route --config
    expect_status 2
    expect_err_has "option '--config' needs a value"
    expect_out_empty
}

route_missing_events_file_exits_2() {
    rr_config
    lr route --config "$T/c.yaml" "$T/nope.jsonl"
    expect_status 2
    expect_err_has "cannot open '$T/nope.jsonl'"
    expect_out_empty
}

tcase route_round_robin_gives_alice_bob_carol_alice
tcase route_bad_json_line_is_reported_the_rest_routed_exit_1
tcase route_invalid_event_names_line_and_field
tcase route_bad_config_exits_2_before_reading_events
tcase route_same_seed_twice_gives_identical_bytes
tcase route_reads_stdin_without_file_or_with_dash
tcase route_start_is_the_clock_until_an_event_gives_a_time
tcase route_options_may_follow_the_file
tcase route_no_explain_leaves_out_candidates
tcase route_ranking_figures_agree_with_every_choice
tcase route_summary_counts_leads_per_agent_on_stderr
tcase route_summary_tells_waiting_from_unrouted
tcase route_summary_times_the_first_assignment
tcase route_summary_arrival_is_the_leads_own_event_time
tcase route_summary_duplicate_lead_is_timed_once
tcase route_summary_says_how_offers_count
tcase route_every_action_hand_derived
tcase route_blank_and_crlf_lines_keep_line_numbers
tcase route_line_over_1MiB_is_rejected_long_valid_lines_pass
tcase route_twenty_thousand_leads_through_a_pipe
tcase route_bad_usage_exits_2_with_a_hint
tcase route_missing_events_file_exits_2
finish

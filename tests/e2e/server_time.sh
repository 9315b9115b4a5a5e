#!/bin/sh
# server_time.sh -- the server watches leads over real time:
#
#   - an offer that nobody accepts expires after offer.timeout and moves on
#     to the next agent, visible over HTTP (GET /v1/leads/{id});
#   - accepting an offer over HTTP assigns the lead;
#   - a pending offer and a pending SLA survive a SIGKILL: after the
#     restart, deadlines that passed while the server was down fire at once,
#     at the restart, and an offer made then runs its whole timeout;
#   - a preview routes at the time it is asked;
#   - decisions never go back in time as they are made, even when the
#     wall clock steps back and the server restarts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_server.sh"

cat >"$SRV/t.yaml" <<'YAML'
agents: [{id: ann}, {id: ben}, {id: cat}]
pools: {team: [ann, ben, cat]}
rules:
  - {name: sla, when: 'source == "sla"', pool: team, strategy: round_robin,
     sla: {contact_within: 1m}}
  - {name: offer, pool: team, strategy: round_robin, offer: {timeout: 2s, attempts: 3},
     fallback: hold}
YAML
DB="$SRV/t.db"
KEY=$(mkkey "$DB" admin)

# actions NAME: the lead's decisions as "action:agent ..." from GET /v1/leads/NAME
actions() {
    api GET "/v1/leads/$1"
    jq -r '[.decisions[] | .action + ":" + (.agent // ((.agents // []) | join(",")))] | join(" ")' "$RB"
}

offer_expires_and_moves_on_over_http() {
    api POST /v1/leads '{"id":"O1"}'
    expect_code 201
    expect_jq '.decisions[0].action + ":" + .decisions[0].agent' '"offered:ann"'
    # ann's offer expires 2 s after it was made; ben's then runs 2 s: accept
    # as soon as it is there (a fixed sleep left a slow machine too little)
    _i=0
    while :; do
        got=$(actions O1)
        case $got in "offered:ann expired:ann offered:ben"*) break ;; esac
        [ $_i -lt 150 ] || break
        sleep 0.1; _i=$((_i + 1))
    done
    case $got in
        "offered:ann expired:ann offered:ben"*) ;;
        *) fail "decisions of O1: $got (want offered:ann expired:ann offered:ben ...)"; return ;;
    esac
    _o=$(date -d "$(jq -r '.decisions[0].at' "$RB")" +%s%3N)
    _e=$(date -d "$(jq -r '.decisions[1].at' "$RB")" +%s%3N)
    [ $((_e - _o)) = 2000 ] || fail "ann's offer expired $((_e - _o)) ms after it was made, not 2000"
    api POST /v1/events '{"type":"accept","agent":"ben","lead":"O1"}'
    expect_code 200
    expect_jq '.decisions[0].action + ":" + .decisions[0].agent' '"assigned:ben"'
    api GET /v1/leads/O1
    expect_jq '.state + ":" + .agent' '"assigned:ben"'
}

pending_offer_and_sla_survive_a_crash() {
    api POST /v1/leads '{"id":"K1"}'                  # offered to cat (round robin goes on)
    expect_code 201
    first=$(jq -r '.decisions[0].agent' "$RB")
    api POST /v1/leads '{"id":"S1","source":"sla"}'   # assigned, SLA in 1 minute
    expect_code 201
    sla_agent=$(jq -r '.decisions[0].agent' "$RB")
    srv_kill main
    sleep 3                                           # the offer's 2 s pass while down
    _t=$(date +%s%3N)
    srv_start main "$DB" "" || { fail "restart: $srv_error"; return; }
    # the expiry fires at the restart, and the next agent's offer runs its
    # whole 2 s from then: it has not expired too in the past
    got=$(actions K1)
    case $got in
        "offered:$first expired:$first offered:"*) ;;
        *) fail "K1 after the restart: $got (want offered:$first expired:$first offered:...)" ;;
    esac
    _at=$(jq -r '.decisions[1].at' "$RB")
    _ms=$(date -d "$_at" +%s%3N) || { fail "no time in K1's expiry: $_at"; return; }
    [ "$_ms" -ge "$_t" ] || fail "K1's expiry is dated $_at, before the restart"
    # the next offer was made at the restart too; if a slow start let it
    # expire already, that was 2 s later, not while the server was down
    _at2=$(jq -r '.decisions[2].at' "$RB")
    [ "$_at2" = "$_at" ] || fail "K1's expiry at $_at, the next offer at $_at2"
    _at3=$(jq -r '.decisions[3].at // empty' "$RB")
    if [ -n "$_at3" ]; then
        _ms3=$(date -d "$_at3" +%s%3N)
        [ $((_ms3 - _ms)) = 2000 ] ||
            fail "K1 moved on more than once while the server was down: $got ($_at, $_at3)"
    fi
    got=$(actions S1)
    [ "$got" = "assigned:$sla_agent" ] || fail "S1 changed before its SLA: $got"
}

# A preview is the decision a lead would get now, not at the last event's
# time: its `at` is no earlier than when it was asked (the engine's clock
# is moved on first, as for the live counts of GET /v1/agents).
preview_routes_at_the_time_it_is_asked() {
    api POST /v1/leads '{"id":"PV1","source":"sla"}'
    expect_code 201
    sleep 1.5
    _t=$(date +%s%3N)
    api POST /v1/route/preview '{"id":"PV2","source":"sla"}'
    expect_code 200
    _at=$(jq -r '.decisions[0].at' "$RB")
    _ms=$(date -d "$_at" +%s%3N) || { fail "no time in the preview: $_at"; return; }
    [ "$_ms" -ge "$_t" ] || fail "the preview is at $_at, asked at $(date -u -d "@$((_t / 1000))" +%T).$((_t % 1000))"
}

srv_start main "$DB" "$SRV/t.yaml" || { echo "FAIL server_time: $srv_error"; exit 1; }
# ---- the wall clock stepping back ------------------------------------------

# at_of ID: the time of lead ID's first decision (RFC 3339, UTC, ms)
at_of() {
    api GET "/v1/leads/$1"
    jq -r '.decisions[0].at' "$RB"
}

# A read (GET /v1/stats) moves the engine's clock to the wall clock without
# a journal entry; then the wall clock steps back 100 s (clockshift.c, an
# LD_PRELOAD shim) and the server restarts. The decisions' times still
# never go back as they are made (a stats window finds its decisions by a
# search over their ids), and a window counts every decision in it.
a_clock_step_back_keeps_decisions_in_time_order() {
    cc -shared -fPIC -O1 -o "$SRV/clockshift.so" "$(dirname "$0")/clockshift.c" -ldl \
        2>"$SRV/cc.err" || { fail "building clockshift.so: $(cat "$SRV/cc.err")"; return; }
    cat >"$SRV/k.yaml" <<'KYAML'
agents: [{id: ann}]
pools: {team: [ann]}
rules: [{name: all, pool: team, strategy: round_robin}]
KYAML
    _db="$SRV/k.db"
    KEY=$(mkkey "$_db" admin)
    echo 100000 >"$SRV/shift"
    _asan=$ASAN_OPTIONS
    export LR_TEST_CLOCK_SHIFT="$SRV/shift" LD_PRELOAD="$SRV/clockshift.so"
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
    if srv_start K "$_db" "$SRV/k.yaml"; then
        api POST /v1/leads '{"id":"K1"}'
        expect_code 201
        sleep 0.1
        api GET /v1/stats
        expect_code 200
        echo 0 >"$SRV/shift"                # the wall clock steps back 100 s
        api POST /v1/leads '{"id":"K2"}'
        expect_code 201
        srv_term K
        if srv_start K "$_db" ""; then
            api POST /v1/leads '{"id":"K3"}'
            expect_code 201
        else
            fail "$srv_error"
        fi
    else
        fail "$srv_error"
    fi
    unset LR_TEST_CLOCK_SHIFT LD_PRELOAD
    export ASAN_OPTIONS="$_asan"
    [ -n "$K_URL" ] || return
    _t1=$(at_of K1); _t2=$(at_of K2); _t3=$(at_of K3)
    [ "$(jq -n --arg a "$_t1" --arg b "$_t2" --arg c "$_t3" '$a <= $b and $b <= $c')" = true ] ||
        fail "decisions went back in time: K1 $_t1, K2 $_t2, K3 $_t3"
    # the window before K2's decision: what was decided before it
    _want=$(jq -n --arg a "$_t1" --arg b "$_t2" --arg c "$_t3" '[$a, $c] | map(select(. < $b)) | length')
    api GET "/v1/stats?until=$_t2"
    expect_code 200
    [ "$(jq '.decisions.assigned // 0' "$RB")" = "$_want" ] ||
        fail "stats until $_t2: $(jq -c .decisions "$RB"), expected $_want assigned (K1 $_t1, K3 $_t3)"
    srv_term K
}

tcase offer_expires_and_moves_on_over_http
tcase pending_offer_and_sla_survive_a_crash
tcase preview_routes_at_the_time_it_is_asked
tcase a_clock_step_back_keeps_decisions_in_time_order
srv_term main
finish

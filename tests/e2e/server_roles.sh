#!/bin/sh
# server_roles.sh -- API keys and roles of `leadrouter serve` end to end:
# 401 without a valid key, what an ingest key and an agent key may do
# (403 for routes of another role, 404 for another agent's lead, 403 for
# acting as another agent), an Idempotency-Key remembered per API key,
# admin everything, keys created while the server runs, and the per-key
# rate limit (429 with Retry-After), and the limit per client address on
# requests with a key the server does not know (429).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_server.sh"

DB="$SRV/roles.db"
cat >"$SRV/roles.yaml" <<'EOF'
agents:
  - {id: ann}
  - {id: ben}
  - {id: sam}
pools:
  team: [ann, ben]
  hot: [ann, ben]
  pull: [ann, sam]
rules:
  - {name: hot, when: 'score >= 90', pool: hot, strategy: broadcast}
  - {name: pull, when: 'source == "list"', pool: pull, strategy: queue}
  - {name: rr, pool: team, strategy: round_robin}
EOF

KEY=$(mkkey "$DB" admin)
INGEST=$(mkkey "$DB" ingest)
ANN=$(mkkey "$DB" agent ann)
BEN=$(mkkey "$DB" agent ben)

# expect_forbidden: 403 with the error body.
expect_forbidden() { expect_error 403 forbidden; }

server_starts_with_keys_made_before() {
    for _k in "$KEY" "$INGEST" "$ANN" "$BEN"; do
        case $_k in lr_????????????????????????????????) ;; *) fail "not a key: '$_k'" ;; esac
    done
    srv_start S "$DB" "$SRV/roles.yaml" || { fail "$srv_error"; show stderr "$SRV/S.err"; return; }
    # L1 -> ann, L2 -> ben (round robin)
    api POST /v1/leads '[{"id":"L1"},{"id":"L2"}]'
    expect_code 201
    expect_jq '[.results[].decisions[0].agent]' '["ann","ben"]'
}

missing_or_wrong_key_is_401() {
    req GET /v1/leads
    expect_error 401 unauthorized
    expect_header '^www-authenticate: Bearer'
    req GET /v1/leads -H 'Authorization: Bearer lr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
    expect_error 401 unauthorized
    expect_header '^www-authenticate: Bearer'
    req GET /v1/leads -H 'Authorization: Bearer not-a-key'
    expect_error 401 unauthorized
    req GET /v1/leads -H "Authorization: Basic $KEY"
    expect_error 401 unauthorized
    req GET /v1/leads -H "Authorization: Bearer ${KEY}x"
    expect_error 401 unauthorized
    req POST /v1/leads -H 'Content-Type: application/json' --data-binary '{"id":"X1"}'
    expect_error 401 unauthorized
    req GET /metrics
    expect_error 401 unauthorized
    # two keys: which one is meant? Neither is taken
    req GET /v1/leads -H "Authorization: Bearer $KEY" -H "Authorization: Bearer $ANN"
    expect_error 401 unauthorized
    expect_jq .error.message '"Authorization is given 2 times: send one, Bearer KEY"'
    api GET /v1/leads/X1
    expect_code 404
}

ingest_key_posts_leads_and_forms_only() {
    as "$INGEST" POST /v1/leads '{"id":"I1"}'
    expect_code 201
    expect_jq '.decisions[0] | {lead, action, agent}' '{"lead":"I1","action":"assigned","agent":"ann"}'
    req POST /v1/forms/web -H "Authorization: Bearer $INGEST" --data-binary 'id=I2&name=Ivy'
    expect_code 201
    expect_jq '.decisions[0] | {lead, action, agent}' '{"lead":"I2","action":"assigned","agent":"ben"}'
    as "$INGEST" GET /v1/leads;                 expect_forbidden
    as "$INGEST" GET /v1/leads/I1;              expect_forbidden
    as "$INGEST" GET /v1/leads/2026%2F11;       expect_forbidden
    expect_jq .error.message '"an ingest key may not call GET /v1/leads/2026%2F11"'
    as "$INGEST" GET /v1/agents;                expect_forbidden
    as "$INGEST" GET /v1/agents/ann;            expect_forbidden
    as "$INGEST" GET /v1/config;                expect_forbidden
    req PUT /v1/config -H "Authorization: Bearer $INGEST" -H 'Content-Type: application/yaml' \
        --data-binary @"$SRV/roles.yaml"
    expect_forbidden
    as "$INGEST" POST /v1/events '{"type":"agent","agent":"ann","status":"away"}'; expect_forbidden
    as "$INGEST" POST /v1/leads/I1/progress '{"status":"won"}'; expect_forbidden
    as "$INGEST" POST /v1/leads/I1/claim '{"agent":"ann"}';     expect_forbidden
    as "$INGEST" POST /v1/agents/ann/next '{}';                 expect_forbidden
    as "$INGEST" POST /v1/route/preview '{"id":"PX"}';          expect_forbidden
    as "$INGEST" GET /v1/stats;                 expect_forbidden
    as "$INGEST" GET /metrics;                  expect_forbidden
    api GET /v1/agents/ann
    expect_jq '{status, open}' '{"status":"available","open":2}'
    api GET /v1/leads/I1
    expect_jq '{state, agent}' '{"state":"assigned","agent":"ann"}'
}

agent_key_sees_its_own_leads_and_not_the_others() {
    as "$ANN" GET /v1/leads/L1
    expect_code 200
    expect_jq '{id, agent}' '{"id":"L1","agent":"ann"}'
    as "$ANN" GET /v1/leads/L2
    expect_error 404 not_found
    as "$BEN" GET /v1/leads/L2
    expect_code 200
    as "$BEN" GET /v1/leads/L1
    expect_error 404 not_found
    as "$ANN" GET /v1/leads/NOPE
    expect_error 404 not_found
    # listing: only its own, whatever it asks
    as "$ANN" GET /v1/leads
    expect_code 200
    expect_jq '[.leads[].id]' '["L1","I1"]'
    as "$ANN" GET '/v1/leads?agent=ann&status=assigned'
    expect_jq '[.leads[].id]' '["L1","I1"]'
    as "$ANN" GET '/v1/leads?agent=ben'
    expect_forbidden
    # each one given is checked, not only the last
    as "$ANN" GET '/v1/leads?agent=ben&agent=ann'
    expect_forbidden
    as "$ANN" GET '/v1/leads?agent=ann&agent=ben'
    expect_forbidden
    as "$ANN" GET /v1/agents/ann
    expect_code 200
    expect_jq '{id, open}' '{"id":"ann","open":2}'
    as "$ANN" GET /v1/agents/ben
    expect_forbidden
}

agent_key_posts_progress_on_its_own_lead_only() {
    as "$ANN" POST /v1/leads/L1/progress '{"status":"contacted"}'
    expect_code 200
    expect_jq . '{"decisions":[]}'
    as "$ANN" POST /v1/leads/L2/progress '{"status":"won"}'
    expect_error 404 not_found
    # where it looked, the same words for ben's lead and for no lead at all
    _want="\"no such lead assigned to this agent (one offered to it is its own once it accepts; one it closed is no longer)\""
    expect_jq .error.message "$_want"
    as "$ANN" POST /v1/leads/NOPE/progress '{"status":"won"}'
    expect_error 404 not_found
    expect_jq .error.message "$_want"
    as "$ANN" POST /v1/events '{"type":"progress","lead":"L2","status":"won"}'
    expect_error 404 not_found
    api GET /v1/leads/L2
    expect_jq '{state, agent, progress}' '{"state":"assigned","agent":"ben","progress":[]}'
    api GET /v1/leads/L1
    expect_jq '[.progress[].status]' '["contacted"]'
    as "$ANN" POST /v1/events '{"type":"progress","lead":"L1","status":"won"}'
    expect_code 200
    expect_jq '[.decisions[] | {lead, action, agent, status}]' \
        '[{"lead":"L1","action":"closed","agent":"ann","status":"won"}]'
    # a closed lead stays with the agent who had it
    as "$ANN" GET /v1/leads/L1
    expect_code 200
    expect_jq '{state, agent}' '{"state":"closed","agent":"ann"}'
    as "$BEN" GET /v1/leads/L1
    expect_error 404 not_found
    # a lead waiting in its pool's queue, or offered to it, is not its own:
    # it may claim or accept it, not close it or hand it back
    api POST /v1/leads '[{"id":"Q9","source":"list"},{"id":"B9","score":99}]'
    expect_jq '[.results[].decisions[0].action]' '["queued","offered"]'
    as "$ANN" POST /v1/leads/Q9/progress '{"status":"won","value":100}'
    expect_error 404 not_found
    as "$BEN" POST /v1/leads/B9/progress '{"status":"lost"}'
    expect_error 404 not_found
    as "$BEN" POST /v1/events '{"type":"release","lead":"B9","agent":"ben"}'
    expect_error 404 not_found
    api GET /v1/leads/Q9
    expect_jq '{state, progress}' '{"state":"waiting","progress":[]}'
    api GET /v1/leads/B9
    expect_jq '{state, progress}' '{"state":"offered","progress":[]}'
    for _l in Q9 B9; do          # out of the way of the cases after this one
        api POST "/v1/leads/$_l/progress" '{"status":"lost"}'
        expect_code 200 "closing $_l"
    done
}

# An Idempotency-Key is remembered per API key: another agent's key with
# the same key and body runs its own request (404: not its lead) instead of
# reading the first one's answer, and two clients that chose the same key
# for different leads both get theirs.
an_idempotency_key_belongs_to_its_api_key() {
    _ev='{"type":"progress","lead":"L2","status":"contacted"}'
    as "$BEN" POST /v1/events "$_ev" -H 'Idempotency-Key: shared-1'
    expect_code 200
    expect_jq . '{"decisions":[]}'
    as "$ANN" POST /v1/events "$_ev" -H 'Idempotency-Key: shared-1'
    expect_error 404 not_found
    as "$BEN" POST /v1/events "$_ev" -H 'Idempotency-Key: shared-1'
    expect_code 200 "ben's repeat"
    api GET /v1/leads/L2
    expect_jq '[.progress[].status]' '["contacted"]'
    as "$INGEST" POST /v1/leads '{"id":"IK1"}' -H 'Idempotency-Key: shared-2'
    expect_code 201
    api POST /v1/leads '{"id":"IK2"}' -H 'Idempotency-Key: shared-2'
    expect_code 201 "the same key from another API key"
    expect_jq .lead '"IK2"'
    as "$INGEST" POST /v1/leads '{"id":"IK1"}' -H 'Idempotency-Key: shared-2'
    expect_code 200 "the ingest key's repeat"
}

agent_key_claims_takes_next_and_sets_status_for_itself() {
    api POST /v1/leads '{"id":"H1","score":95}'
    expect_jq '.decisions[0] | {action, agents}' '{"action":"offered","agents":["ann","ben"]}'
    # GET shows an agent the leads it holds, not its offers (docs/api.md)
    as "$ANN" GET /v1/leads/H1
    expect_error 404 not_found
    # an admin's claim must name the agent
    api POST /v1/leads/H1/claim
    expect_error 400 invalid_event
    as "$BEN" POST /v1/leads/H1/claim '{"agent":"ann"}'
    expect_forbidden
    as "$BEN" POST /v1/leads/H1/claim
    expect_code 200
    expect_jq '[.decisions[] | {lead, action, agent}]' '[{"lead":"H1","action":"claimed","agent":"ben"}]'
    as "$BEN" GET /v1/leads/H1
    expect_code 200
    # ann lost it: it is ben's now, so to ann it does not exist
    as "$ANN" POST /v1/leads/H1/claim
    expect_error 404 not_found
    api POST /v1/leads '[{"id":"Q1","source":"list"},{"id":"Q2","source":"list"}]'
    expect_jq '[.results[].decisions[0].action]' '["queued","queued"]'
    as "$ANN" POST /v1/agents/ann/next
    expect_code 200
    expect_jq '[.decisions[] | {lead, action, agent}]' '[{"lead":"Q1","action":"claimed","agent":"ann"}]'
    as "$ANN" POST /v1/agents/sam/next
    expect_forbidden
    as "$ANN" POST /v1/events '{"type":"claim","agent":"sam"}'
    expect_forbidden
    # an accept without an agent is "whoever it is offered to": an admin's
    # (a replay of history); an agent key names its own
    as "$ANN" POST /v1/events '{"type":"accept","lead":"Q2"}'
    expect_error 400 invalid_event
    expect_jq .error.message '"'"'agent'"' is required for an accept sent with an agent key: its own agent"'
    api GET /v1/leads/Q2
    expect_jq .state '"waiting"'
    as "$ANN" POST /v1/agents/ann/status '{"status":"away"}'
    expect_code 200
    as "$ANN" POST /v1/agents/ben/status '{"status":"away"}'
    expect_forbidden
    as "$ANN" POST /v1/events '{"type":"agent","agent":"ben","status":"away"}'
    expect_forbidden
    api GET /v1/agents
    expect_jq '[.agents[] | {id, status}]' \
        '[{"id":"ann","status":"away"},{"id":"ben","status":"available"},{"id":"sam","status":"available"}]'
    as "$ANN" POST /v1/events '{"type":"agent","agent":"ann","status":"available"}'
    expect_code 200
}

agent_key_gets_403_on_admin_and_ingest_routes() {
    as "$ANN" POST /v1/leads '{"id":"X2"}';              expect_forbidden
    req POST /v1/forms/web -H "Authorization: Bearer $ANN" --data-binary 'id=X3'
    expect_forbidden
    as "$ANN" GET /v1/agents;                            expect_forbidden
    as "$ANN" GET /v1/config;                            expect_forbidden
    req PUT /v1/config -H "Authorization: Bearer $ANN" -H 'Content-Type: application/yaml' \
        --data-binary @"$SRV/roles.yaml"
    expect_forbidden
    as "$ANN" POST /v1/route/preview '{"id":"PX"}';      expect_forbidden
    as "$ANN" GET /v1/stats;                             expect_forbidden
    as "$ANN" GET /metrics;                              expect_forbidden
    as "$ANN" POST /v1/events '{"type":"assign","lead":"Q2","agent":"ann"}'
    expect_forbidden
    as "$ANN" POST /v1/events '{"id":"X4"}'
    expect_forbidden
    api GET /v1/leads/X2
    expect_code 404
    api GET /v1/leads/Q2
    expect_jq .state '"waiting"'
}

admin_key_may_do_everything() {
    for _p in /v1/leads /v1/leads/L2 /v1/agents /v1/agents/sam /v1/config /v1/stats /metrics /healthz; do
        api GET "$_p"
        expect_code 200 "GET $_p"
    done
    api POST /v1/route/preview '{"id":"PX"}'
    expect_code 200
    api POST /v1/events '{"type":"assign","lead":"Q2","agent":"sam"}'
    expect_code 200
    expect_jq '[.decisions[] | {lead, action, agent}]' '[{"lead":"Q2","action":"assigned","agent":"sam"}]'
    api POST /v1/agents/sam/status '{"status":"away"}'
    expect_code 200
    api POST /v1/leads/Q2/progress '{"status":"lost"}'
    expect_code 200
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
        --data-binary @"$SRV/roles.yaml"
    expect_code 200
}

a_key_created_while_the_server_runs_works_at_once() {
    _k=$(mkkey "$DB" agent sam)
    [ -n "$_k" ] || { fail "keys create failed"; return; }
    as "$_k" GET /v1/agents/sam
    expect_code 200
    expect_jq .id '"sam"'
    as "$_k" GET /v1/leads
    expect_jq '[.leads[] | {id, state}]' '[{"id":"Q2","state":"closed"}]'
    _i=$(mkkey "$DB" ingest)
    as "$_i" POST /v1/leads '{"id":"I3"}'
    expect_code 201
}

# `keys revoke` while the server runs: the key is refused within a second
# or so; the others go on; a second revoke finds nothing.
a_key_revoked_while_the_server_runs_is_refused() {
    _k=$(mkkey "$DB" agent sam)
    [ -n "$_k" ] || { fail "keys create failed"; return; }
    as "$_k" GET /v1/agents/sam
    expect_code 200 "the new key"
    _id=$(printf '%s' "$_k" | cut -c4-11)
    "$BIN" keys revoke --db "$DB" "$_id" 2>"$SRV/revoke.err"
    rc=$?
    expect_status 0
    grep -q "key id: $_id revoked" "$SRV/revoke.err" || { fail "no word of the revocation"; show stderr "$SRV/revoke.err"; }
    "$BIN" keys list --db "$DB" | grep -q "^$_id " && fail "keys list still shows $_id"
    _i=0
    while [ $_i -lt 100 ]; do
        as "$_k" GET /v1/agents/sam
        [ "$code" = 401 ] && break
        sleep 0.1; _i=$((_i + 1))
    done
    expect_error 401 unauthorized
    as "$ANN" GET /v1/agents/ann
    expect_code 200 "another agent's key"
    "$BIN" keys revoke --db "$DB" "$_id" 2>"$SRV/revoke.err"
    rc=$?
    expect_status 2
    grep -q "no key '$_id'" "$SRV/revoke.err" || { fail "no message for a key revoked twice"; show stderr "$SRV/revoke.err"; }
}

sigterm_stops_the_server_with_exit_0() {
    srv_term S
    [ "$srv_rc" -eq 0 ] || { fail "exit status $srv_rc after SIGTERM"; show stderr "$SRV/S.err"; }
}

# ---- rate limit: a second server, 5 requests a second, bursts of 10 ----

rate_limit_answers_429_with_retry_after() {
    _db="$SRV/rate.db"
    KEY=$(mkkey "$_db" admin)
    _key2=$(mkkey "$_db" admin)
    srv_start R "$_db" "$SRV/roles.yaml" --rate-limit 5 || { fail "$srv_error"; show stderr "$SRV/R.err"; return; }
    # 40 requests on one connection, as fast as they go
    {
        echo 'silent'
        echo "max-time = $CURL_MAX"
        echo "header = \"Authorization: Bearer $KEY\""
        printf '%s\n' 'write-out = "\nSTATUS %{http_code}\n"'
        _n=0
        while [ $_n -lt 40 ]; do
            _n=$((_n + 1))
            echo "url = \"$URL/v1/agents/ann\""
        done
    } >"$SRV/rate.cfg"
    _t0=$(date +%s%3N)
    curl -K "$SRV/rate.cfg" -D "$SRV/rate.hdr" 2>/dev/null | sed -n 's/^STATUS //p' >"$SRV/rate.codes"
    _ms=$(( $(date +%s%3N) - _t0 ))
    _ok=$(awk '$1 == 429 { exit } $1 == 200 { n++ } END { print n + 0 }' "$SRV/rate.codes")
    _limited=$(grep -c '^429$' "$SRV/rate.codes")
    _other=$(grep -vc '^\(200\|429\)$' "$SRV/rate.codes")
    # the bucket: a burst of 10, then 5 a second; in _ms at most this many
    _most=$(( 10 + 5 * _ms / 1000 + 1 ))
    [ "$_limited" -ge 1 ] || [ "$_most" -ge 40 ] ||
        fail "no 429 in 40 requests in $_ms ms at 5 a second: $(tr '\n' ' ' <"$SRV/rate.codes")"
    [ "$_other" -eq 0 ] || fail "statuses other than 200 and 429: $(tr '\n' ' ' <"$SRV/rate.codes")"
    [ "$_ok" -ge 10 ] || fail "only $_ok requests before the first 429 (burst 10)"
    [ "$_ok" -le "$_most" ] || fail "$_ok requests before the first 429 in $_ms ms (at most $_most)"
    grep -qi '^retry-after: 1' "$SRV/rate.hdr" || { fail "no Retry-After: 1"; show headers "$SRV/rate.hdr"; }
    grep -qi '^HTTP/1.1 429 ' "$SRV/rate.hdr" || fail "no 429 status line"
    # keep it exhausted, then look at one 429 as a client sees it
    _n=0
    while [ $_n -lt 50 ]; do
        _n=$((_n + 1))
        api GET /v1/agents/ann
        [ "$code" = 429 ] && break
    done
    expect_error 429 rate_limited
    expect_header '^retry-after: [1-9]'
    # the limit is per key; /healthz has no key and no limit
    as "$_key2" GET /v1/agents/ann
    expect_code 200 "another key"
    req GET /healthz
    expect_code 200 "/healthz"
    # after Retry-After the key works again
    sleep 1.2
    api GET /v1/agents/ann
    expect_code 200 "after Retry-After"
    srv_term R
    [ "$srv_rc" -eq 0 ] || { fail "exit status $srv_rc after SIGTERM"; show stderr "$SRV/R.err"; }
}

# ---- what a rep may claim: open pool and shark tank, a server of its own ----

an_agent_lists_the_leads_it_may_claim() {
    _db="$SRV/claim.db"
    cat >"$SRV/claim.yaml" <<'EOF'
agents: [{id: ann}, {id: ben}, {id: cat}]
pools:
  floor: [ann, ben]
  tank: [ann, cat]
rules:
  - {name: hot, when: 'score >= 90', pool: tank, strategy: broadcast}
  - {name: pick, pool: floor, strategy: open_pool}
EOF
    KEY=$(mkkey "$_db" admin)
    _ann=$(mkkey "$_db" agent ann)
    _cat=$(mkkey "$_db" agent cat)
    srv_start O "$_db" "$SRV/claim.yaml" || { fail "$srv_error"; show stderr "$SRV/O.err"; return; }
    api POST /v1/leads '[{"id":"P1","state":"CA"},{"id":"H1","score":95},{"id":"P2","product":"refi"}]'
    expect_jq '[.results[].decisions[0].action]' '["queued","offered","queued"]'
    as "$_ann" GET /v1/agents/ann/claimable
    expect_code 200
    expect_jq '{total, ids: [.leads[].id], states: [.leads[].state]}' \
        '{"total":3,"ids":["P1","H1","P2"],"states":["waiting","offered","waiting"]}'
    expect_jq '.leads[2].lead' '{"id":"P2","product":"refi"}'
    as "$_cat" GET /v1/agents/cat/claimable
    expect_jq '{total, ids: [.leads[].id]}' '{"total":1,"ids":["H1"]}'
    as "$_cat" GET /v1/agents/ann/claimable
    expect_error 403 forbidden
    # ann takes P2 and cat H1: they leave the lists
    as "$_ann" POST /v1/leads/P2/claim '{}'
    expect_jq '.decisions[0].action' '"claimed"'
    as "$_cat" POST /v1/leads/H1/claim '{}'
    expect_jq '.decisions[0].action' '"claimed"'
    as "$_ann" GET /v1/agents/ann/claimable
    expect_jq '{total, ids: [.leads[].id]}' '{"total":1,"ids":["P1"]}'
    api GET /v1/agents/ben/claimable
    expect_jq '{total, ids: [.leads[].id]}' '{"total":1,"ids":["P1"]}'
    # ann hands P2 back: it waits again, for ben and not for her
    as "$_ann" POST /v1/events '{"type":"release","lead":"P2","agent":"ann"}'
    expect_code 200
    as "$_ann" GET /v1/agents/ann/claimable
    expect_jq '{total, ids: [.leads[].id]}' '{"total":1,"ids":["P1"]}'
    api GET /v1/agents/ben/claimable
    expect_jq '{total, ids: [.leads[].id]}' '{"total":2,"ids":["P1","P2"]}'
    api GET /v1/agents/zed/claimable
    expect_error 404 not_found
    # next takes open pool leads too; sent again with its Idempotency-Key,
    # no body and "{}" are the same request
    req POST /v1/agents/ann/next -H "Authorization: Bearer $_ann" -H 'Idempotency-Key: n-1'
    expect_code 200
    expect_jq '.decisions[0] | {lead, action, agent}' '{"lead":"P1","action":"claimed","agent":"ann"}'
    as "$_ann" POST /v1/agents/ann/next '{}' -H 'Idempotency-Key: n-1'
    expect_code 200
    expect_jq '.decisions[0] | {lead, action, agent}' '{"lead":"P1","action":"claimed","agent":"ann"}'
    req POST /v1/agents/ann/next -H "Authorization: Bearer $_ann" -H 'Idempotency-Key: n-1'
    expect_code 200
    as "$_ann" POST /v1/agents/ann/status '{"status":"away"}' -H 'Idempotency-Key: n-1'
    expect_error 409 idempotency_key_reused
    srv_term O
    [ "$srv_rc" -eq 0 ] || { fail "exit status $srv_rc after SIGTERM"; show stderr "$SRV/O.err"; }
}

# ---- unknown keys per address: a third server, 0.1 a second, bursts of 1 ----

an_address_that_tries_unknown_keys_gets_429() {
    _db="$SRV/unknown.db"
    KEY=$(mkkey "$_db" admin)
    _fresh=$(mkkey "$_db" admin)
    srv_start U "$_db" "$SRV/roles.yaml" --unknown-key-limit 0.1 ||
        { fail "$srv_error"; show stderr "$SRV/U.err"; return; }
    api GET /v1/agents/ann
    expect_code 200 "the admin key, first used: the address's one token"
    as lr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA GET /v1/agents/ann
    expect_error 429 rate_limited
    expect_jq '.error.message | test("^too many requests with a missing or unknown API key; retry in (9|10) s$")' true
    expect_header '^retry-after: (9|10)$'
    req GET /v1/agents/ann
    expect_error 429 rate_limited
    as "$_fresh" GET /v1/agents/ann
    expect_error 429 rate_limited      # a key not used yet waits for a token too
    # a key in use goes on; /healthz has no key
    api GET /v1/agents/ann
    expect_code 200 "the admin key, known"
    req GET /healthz
    expect_code 200 "/healthz"
    srv_term U
    [ "$srv_rc" -eq 0 ] || { fail "exit status $srv_rc after SIGTERM"; show stderr "$SRV/U.err"; }
    srv_start U "$_db" "" --unknown-key-limit 0 || { fail "$srv_error"; show stderr "$SRV/U.err"; return; }
    _n=0
    while [ $_n -lt 20 ]; do
        _n=$((_n + 1))
        req GET /v1/agents/ann
        [ "$code" = 401 ] || break
    done
    expect_error 401 unauthorized      # 20 requests without a key, no limit
    as "$_fresh" GET /v1/agents/ann
    expect_code 200 "the fresh key"
    srv_term U
    [ "$srv_rc" -eq 0 ] || { fail "exit status $srv_rc after SIGTERM"; show stderr "$SRV/U.err"; }
}

tcase server_starts_with_keys_made_before
if [ -n "$URL" ]; then
    tcase missing_or_wrong_key_is_401
    tcase ingest_key_posts_leads_and_forms_only
    tcase agent_key_sees_its_own_leads_and_not_the_others
    tcase agent_key_posts_progress_on_its_own_lead_only
    tcase an_idempotency_key_belongs_to_its_api_key
    tcase agent_key_claims_takes_next_and_sets_status_for_itself
    tcase agent_key_gets_403_on_admin_and_ingest_routes
    tcase admin_key_may_do_everything
    tcase a_key_created_while_the_server_runs_works_at_once
    tcase a_key_revoked_while_the_server_runs_is_refused
    tcase sigterm_stops_the_server_with_exit_0
fi
tcase rate_limit_answers_429_with_retry_after
tcase an_address_that_tries_unknown_keys_gets_429
tcase an_agent_lists_the_leads_it_may_claim
finish

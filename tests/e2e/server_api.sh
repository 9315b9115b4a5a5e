#!/bin/sh
# server_api.sh -- every endpoint of `leadrouter serve` end to end, with a
# real server on a free loopback port and curl, asserting what a client
# sees: statuses, exact JSON fields (jq), headers.
#
# One server runs for the whole file and the cases build on each other's
# state (the order below is the story of one small sales team). The config
# is deterministic (round robin, broadcast, pull queue, manual desk), so
# every decision is exact; times are the server's clock, so they are
# compared only with each other.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_server.sh"

DB="$SRV/api.db"
IDS="$SRV/ids"              # every lead id created, in order of arrival
: >"$IDS"

cat >"$SRV/api.yaml" <<'EOF'
agents:
  - {id: ann, capacity: 2}
  - {id: ben, capacity: 2}
  - {id: cat}
  - {id: dan}
  - {id: hot1}
  - {id: hot2}
  - {id: sdr}
pools:
  team: [ann, ben]
  hot: [hot1, hot2]
  pull: [sdr]
  desk: [cat, dan]
rules:
  - {name: hot, when: 'score >= 90', pool: hot, strategy: broadcast}
  - {name: pull, when: 'source == "list"', pool: pull, strategy: queue}
  - {name: desk, when: 'product == "commercial"', pool: desk, strategy: manual}
  - {name: rr, pool: team, strategy: round_robin, fallback: queue}
EOF

# The same, with a VIP desk in front.
cat >"$SRV/api2.yaml" <<'EOF'
agents:
  - {id: ann, capacity: 2}
  - {id: ben, capacity: 2}
  - {id: cat}
  - {id: dan}
  - {id: hot1}
  - {id: hot2}
  - {id: sdr}
  - {id: eve}
pools:
  team: [ann, ben]
  hot: [hot1, hot2]
  pull: [sdr]
  desk: [cat, dan]
  vip: [eve]
rules:
  - {name: vip, when: 'source == "vip"', pool: vip, strategy: top_down}
  - {name: hot, when: 'score >= 90', pool: hot, strategy: broadcast}
  - {name: pull, when: 'source == "list"', pool: pull, strategy: queue}
  - {name: desk, when: 'product == "commercial"', pool: desk, strategy: manual}
  - {name: rr, pool: team, strategy: round_robin, fallback: queue}
EOF

# Six mistakes (docs/configuration.md, Errors).
cat >"$SRV/bad.yaml" <<'EOF'
agents:
  - id: ann
    capacity: -1
  - id: ben
    wieght: 2
pools:
  sales: [ann, ben, zed]
rules:
  - name: hot
    when: 'score >= 70 and state = "CA"'
    pool: sales
    strategy: round_robbin
  - name: rest
    pool: sales
    strategy: top_down
    window: 2h
    fallback: hot
EOF

# D FILTER: the decisions of the last reply without their times.
D='[.decisions[] | {lead, action, agent, agents, rule, pool, strategy, status, reason: .why.reason}]'
# dec LEAD ACTION AGENT RULE POOL STRATEGY [REASON]: one expected element of $D.
dec() {
    _ag=null; [ "$3" = null ] || _ag="\"$3\""
    _r=null; [ -z "$7" ] || _r="\"$7\""
    _ru=null; [ "$4" = null ] || _ru="\"$4\""
    _po=null; [ "$5" = null ] || _po="\"$5\""
    _st=null; [ "$6" = null ] || _st="\"$6\""
    printf '{"lead":"%s","action":"%s","agent":%s,"agents":null,"rule":%s,"pool":%s,"strategy":%s,"status":null,"reason":%s}' \
        "$1" "$2" "$_ag" "$_ru" "$_po" "$_st" "$_r"
}
rr() { dec "$1" assigned "$2" rr team round_robin "$3"; }

KEY=$(mkkey "$DB" admin)

server_starts_and_prints_its_port() {
    [ -n "$KEY" ] || fail "keys create gave no key"
    srv_start S "$DB" "$SRV/api.yaml" --form-redirect thanks=https://example.com/thanks \
        || { fail "$srv_error"; show stderr "$SRV/S.err"; }
}

healthz_needs_no_key() {
    req GET /healthz
    expect_code 200
    expect_jq . '{"status":"ok"}'
    expect_header '^content-type: application/json'
}

post_one_lead_is_201_with_the_lead_id_and_its_decision() {
    api POST /v1/leads '{"id":"A1","source":"web"}'
    expect_code 201
    expect_jq .lead '"A1"'
    expect_jq "$D" "[$(rr A1 ann)]"
    expect_jq '.decisions[0].at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{3})?Z$")' true
    expect_jq '.decisions[0].why.candidates' '[{"agent":"ann","chosen":true},{"agent":"ben","eligible":true}]'
    cp "$RB" "$SRV/A1.first"
    echo A1 >>"$IDS"
}

repeating_a_lead_is_200_with_the_original_reply() {
    api POST /v1/leads '{"id":"A1","source":"web"}'
    expect_code 200
    same "$SRV/A1.first" "$RB" "the reply to the repeat"
    # the same lead written differently is the same lead
    api POST /v1/leads '{ "source" : "web",
                          "id" : "A1" }'
    expect_code 200
    same "$SRV/A1.first" "$RB" "the reply to the reformatted repeat"
    api GET /v1/leads
    expect_jq '[.leads[].id]' '["A1"]'
}

same_id_with_another_body_is_409_and_keeps_the_first() {
    api POST /v1/leads '{"id":"A1","source":"ads"}'
    expect_error 409 conflict
    api GET /v1/leads/A1
    expect_jq .lead '{"id":"A1","source":"web"}'
    expect_jq '.decisions | length' 1
}

array_of_leads_is_processed_in_order_each_with_its_result() {
    api POST /v1/leads '[{"id":"A2"},{"id":"A1","source":"web"},{"id":"A1","source":"ads"},
                         {"source":"web"},{"id":"A3","score":95},{"id":"A4"}]'
    expect_code 201
    expect_jq '[.results[].status]' '[201,200,409,400,201,201]'
    expect_jq '[.results[].lead]' '["A2","A1",null,null,"A3","A4"]'
    expect_jq '.results[0] | '"$D" "[$(rr A2 ben)]"
    expect_jq '.results[1].decisions' "$(jq -c .decisions "$SRV/A1.first")"
    expect_jq '.results[2].error.code' '"conflict"'
    expect_jq '.results[3].error' '{"code":"invalid_event","message":"'"'id'"' is required"}'
    expect_jq '.results[4].decisions | map({action, agents, rule, strategy})' \
        '[{"action":"offered","agents":["hot1","hot2"],"rule":"hot","strategy":"broadcast"}]'
    expect_jq '.results[5] | '"$D" "[$(rr A4 ann)]"
    printf '%s\n' A2 A3 A4 >>"$IDS"
    # only repeats: 200; only bad items: the first item's status
    api POST /v1/leads '[{"id":"A2"},{"id":"A4"}]'
    expect_code 200
    expect_jq '[.results[].status]' '[200,200]'
    api POST /v1/leads '[{"id":5},{"id":"A1","source":"ads"}]'
    expect_code 400
    expect_jq '[.results[].status]' '[400,409]'
}

form_maps_known_fields_and_keeps_the_rest_in_fields() {
    req POST /v1/forms/website -H "Authorization: Bearer $KEY" \
        --data-binary 'E-mail=jo%40example.com&first_name=Jo&last_name=Doe&tel=555-0100&zip=94110&score=12&utm_source=fb&color=red&color=blue&comment=call+me'
    expect_code 201
    FORM=$(jq -r .lead "$RB")
    # form-<16 hex: a stamp of the time><8 hex>: ids that grow with time
    printf '%s\n' "$FORM" | grep -Eq '^form-[0-9a-f]{24}$' \
        || fail "generated id '$FORM' is not form-<24 hex>"
    now_ms=$(($(date +%s) * 1000))
    at_ms=$(printf '%d' "0x$(printf '%s' "$FORM" | cut -c6-17)")
    [ $((at_ms - now_ms)) -le 5000 ] && [ $((now_ms - at_ms)) -le 60000 ] \
        || fail "generated id '$FORM' does not carry the time ($at_ms ms, now $now_ms)"
    expect_jq "$D" "[$(rr "$FORM" ben)]"
    echo "$FORM" >>"$IDS"
    api GET "/v1/leads/$FORM"
    expect_code 200
    expect_jq '.source' '"website"'
    expect_jq '.lead | to_entries | sort_by(.key) | from_entries' \
        '{"email":"jo@example.com","fields":{"color":["red","blue"],"comment":"call me","utm_source":"fb"},"id":"'"$FORM"'","name":"Jo Doe","phone":"555-0100","postal_code":"94110","score":12,"source":"website"}'
}

form_with_a_thank_you_page_is_303_to_it() {
    req POST /v1/forms/thanks -H "Authorization: Bearer $KEY" --data-binary 'name=Kim&id=T1'
    expect_code 303
    expect_header '^location: https://example\.com/thanks'
    # ann and ben are full (2 each): it waits in the team queue
    api GET /v1/leads/T1
    expect_code 200
    expect_jq '{state, agent, source}' '{"state":"waiting","agent":null,"source":"thanks"}'
    expect_jq "$D" "[$(dec T1 queued null rr team round_robin no_eligible_agent)]"
    echo T1 >>"$IDS"
}

events_array_gives_each_event_its_result() {
    api POST /v1/events '[{"type":"accept","agent":"hot1","lead":"A3"},
                          {"type":"progress","lead":"A1","status":"contacted"},
                          {"type":"agent","agent":"ben","status":"away"},
                          {"type":"bogus"}]'
    expect_code 200
    expect_jq '[.results[].status]' '[200,200,200,400]'
    expect_jq '.results[0] | '"$D" "[$(dec A3 claimed hot1 hot hot broadcast)]"
    expect_jq '.results[1].decisions' '[]'
    expect_jq '.results[2].decisions' '[]'
    expect_jq '.results[3].error' '{"code":"invalid_event","message":"unknown event type '"'bogus'"'"}'
    api GET /v1/agents/ben
    expect_jq .status '"away"'
}

progress_won_closes_the_lead_and_frees_a_slot() {
    api POST /v1/leads/A1/progress '{"status":"won","value":500}'
    expect_code 200
    expect_jq '[.decisions[] | {lead, action, agent, status, reason: .why.reason}]' \
        '[{"lead":"A1","action":"closed","agent":"ann","status":"won","reason":null},{"lead":"T1","action":"assigned","agent":"ann","status":null,"reason":"capacity_freed"}]'
    api GET /v1/agents/ann
    expect_jq '{open, assigned, won, closed}' '{"open":2,"assigned":3,"won":1,"closed":1}'
}

agent_status_endpoint_sets_the_status() {
    api POST /v1/agents/ben/status '{"status":"available"}'
    expect_code 200
    expect_jq . '{"decisions":[]}'
    api GET /v1/agents/ben
    expect_code 200
    expect_jq '{id, status, open, capacity, weight, assigned, status_reason}' \
        '{"id":"ben","status":"available","open":2,"capacity":2,"weight":1,"assigned":2,"status_reason":"set"}'
    # set just now, by the wall clock
    expect_jq '(.status_since | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) > (now - 60)' true
}

next_takes_the_oldest_lead_of_a_pull_queue() {
    api POST /v1/leads '{"id":"Q1","source":"list"}'
    expect_code 201
    expect_jq "$D" "[$(dec Q1 queued null pull pull queue)]"
    api POST /v1/leads '{"id":"Q2","source":"list"}'
    expect_code 201
    printf '%s\n' Q1 Q2 >>"$IDS"
    # no body: a Content-Type sent with none is not looked at
    req POST /v1/agents/sdr/next -H "Authorization: Bearer $KEY" -H 'Content-Type: text/plain'
    expect_code 200
    expect_jq "$D" "[$(dec Q1 claimed sdr pull pull queue)]"
    # the same as an event
    api POST /v1/events '{"type":"claim","agent":"sdr"}'
    expect_code 200
    expect_jq "$D" "[$(dec Q2 claimed sdr pull pull queue)]"
    api POST /v1/agents/sdr/next '{}'
    expect_error 404 queue_empty
    expect_jq '[.decisions[] | {action, agent, reason: .why.reason}]' \
        '[{"action":"claim_refused","agent":"sdr","reason":"queue_empty"}]'
}

claim_endpoint_takes_an_offer_and_the_loser_gets_409() {
    api POST /v1/leads '{"id":"H1","score":99}'
    expect_jq '.decisions[0] | {action, agents}' '{"action":"offered","agents":["hot1","hot2"]}'
    echo H1 >>"$IDS"
    api POST /v1/leads/H1/claim '{"agent":"hot2"}'
    expect_code 200
    expect_jq "$D" "[$(dec H1 claimed hot2 hot hot broadcast)]"
    api POST /v1/leads/H1/claim '{"agent":"hot1"}'
    expect_error 409 already_claimed
    api GET /v1/leads/H1
    expect_jq '{state, agent}' '{"state":"assigned","agent":"hot2"}'
}

declined_by_everyone_an_offer_is_routed_again() {
    api POST /v1/leads '{"id":"H2","score":99}'
    echo H2 >>"$IDS"
    api POST /v1/events '{"type":"decline","agent":"hot1","lead":"H2"}'
    expect_code 200
    expect_jq . '{"decisions":[]}'
    api POST /v1/events '{"type":"decline","agent":"hot2","lead":"H2"}'
    expect_code 200
    # nobody left on the hot desk; ann and ben are full: it waits for the team
    expect_jq "$D" "[$(dec H2 queued null rr team round_robin no_eligible_agent)]"
    expect_jq '.decisions[0].why.candidates' \
        '[{"agent":"ann","skipped":"at_capacity"},{"agent":"ben","skipped":"at_capacity"}]'
    api GET /v1/leads/H2
    expect_jq '[.decisions[] | {action, agents}]' \
        '[{"action":"offered","agents":["hot1","hot2"]},{"action":"queued","agents":null}]'
    expect_jq '{state, agent}' '{"state":"waiting","agent":null}'
}

assign_and_release_by_an_admin() {
    api POST /v1/leads '{"id":"M1","product":"commercial"}'
    expect_code 201
    expect_jq "$D" "[$(dec M1 held null desk desk manual)]"
    echo M1 >>"$IDS"
    api POST /v1/events '{"type":"assign","lead":"M1","agent":"cat"}'
    expect_code 200
    expect_jq "$D" "[$(dec M1 assigned cat desk desk manual manual)]"
    api POST /v1/events '{"type":"release","lead":"M1","agent":"cat"}'
    expect_code 200
    expect_jq "$D" "[$(dec M1 released cat desk desk manual released),$(dec M1 held null desk desk manual released)]"
    api POST /v1/events '{"type":"assign","lead":"M1","agent":"dan"}'
    expect_code 200
    expect_jq "$D" "[$(dec M1 assigned dan desk desk manual manual)]"
}

get_lead_gives_the_lead_its_decisions_and_progress() {
    api GET /v1/leads/A1
    expect_code 200
    # a closed lead keeps the agent who had it
    expect_jq '{id, state, agent, source}' '{"id":"A1","state":"closed","agent":"ann","source":"web"}'
    expect_jq .lead '{"id":"A1","source":"web"}'
    expect_jq '.received_at == .decisions[0].at' true
    expect_jq '[.decisions[] | {action, agent, status}]' \
        '[{"action":"assigned","agent":"ann","status":null},{"action":"closed","agent":"ann","status":"won"}]'
    expect_jq '[.progress[] | {type, lead, status, value}]' \
        '[{"type":"progress","lead":"A1","status":"contacted","value":null},{"type":"progress","lead":"A1","status":"won","value":500}]'
    api GET /v1/leads/M1
    expect_jq '[.decisions[].action]' '["held","assigned","released","held","assigned"]'
    expect_jq '{state, agent}' '{"state":"assigned","agent":"dan"}'
    api GET /v1/leads/NOPE
    expect_error 404 not_found
}

list_leads_in_order_of_arrival() {
    list_all "" "$SRV/all.json" || return
    expect_ids=$(jq -R . "$IDS" | jq -s -c .)
    _got=$(jq -c '[.[].id]' "$SRV/all.json")
    [ "$_got" = "$expect_ids" ] || fail "ids: got $_got, expected $expect_ids"
    api GET /v1/leads
    expect_jq '.next_cursor' null
    expect_jq '.leads[0] | keys_unsorted' '["id","state","agent","source","received_at"]'
    expect_jq '.leads[] | select(.id == "H1") | {state, agent, source}' \
        '{"state":"assigned","agent":"hot2","source":null}'
}

# filter_is QUERY JQ-SELECT EXPECTED-IDS: ?QUERY lists exactly the leads of
# the full list that JQ-SELECT keeps, and they are EXPECTED-IDS.
filter_is() {
    api GET "/v1/leads?$1"
    expect_code 200
    expect_jq '[.leads[].id]' "$3"
    _want=$(jq -c "[.[] | select($2)]" "$SRV/all.json")
    expect_jq '.leads' "$_want"
}

list_leads_filters_by_agent_status_source() {
    list_all "" "$SRV/all.json" || return
    filter_is 'agent=ann' '.agent == "ann"' '["A1","A4","T1"]'
    filter_is 'agent=hot2' '.agent == "hot2"' '["H1"]'
    filter_is 'status=assigned' '.state == "assigned"' "[\"A2\",\"A3\",\"A4\",\"$FORM\",\"T1\",\"Q1\",\"Q2\",\"H1\",\"M1\"]"
    filter_is 'status=waiting' '.state == "waiting"' '["H2"]'
    filter_is 'status=closed' '.state == "closed"' '["A1"]'
    filter_is 'status=held' '.state == "held"' '[]'
    filter_is 'source=website' '.source == "website"' "[\"$FORM\"]"
    filter_is 'source=list&status=assigned' '.source == "list" and .state == "assigned"' '["Q1","Q2"]'
    filter_is 'agent=sdr&status=assigned&source=list' '.agent == "sdr"' '["Q1","Q2"]'
    filter_is 'agent=ann&status=closed' '.agent == "ann" and .state == "closed"' '["A1"]'
    filter_is 'agent=ben&status=closed' 'false' '[]'
}

# bad_windows PATH T: times that are not RFC 3339, and a window that ends
# where it starts (at T), are 400s that name the argument
bad_windows() {
    for _a in since until; do
        api GET "$1?$_a=yesterday"
        expect_error 400 invalid_request
        expect_jq .error.message "\"'$_a' must be an RFC 3339 time, got 'yesterday'\""
    done
    # an offset's '+' sent as is arrives as a space: the message says what to write
    api GET "$1?since=2026-11-30T10:00:00+01:00"
    expect_error 400 invalid_request
    expect_jq .error.message "\"'since' must be an RFC 3339 time, got '2026-11-30T10:00:00 01:00' (a '+' in a query is a space: write it %2B)\""
    api GET "$1?since=$2&until=$2"
    expect_error 400 invalid_request
    expect_jq .error.message '"'"'until' must be after 'since'"'"'
}

list_leads_since_a_time() {
    list_all "" "$SRV/all.json" || return
    _t=$(jq -r '.[] | select(.id == "Q1") | .received_at' "$SRV/all.json")
    api GET "/v1/leads?since=$_t"
    expect_code 200
    expect_jq '.leads' "$(jq -c "$JQ_DEFS"' ("'"$_t"'" | ms) as $t | [.[] | select((.received_at | ms) >= $t)]' "$SRV/all.json")"
    expect_jq '[.leads[].id] | index("Q1") != null and index("A1") == null' true
    api GET '/v1/leads?since=2000-01-01T00:00:00Z'
    expect_jq '.leads | length' "$(jq length "$SRV/all.json")"
    api GET '/v1/leads?since=2999-01-01T00:00:00Z'
    expect_jq . '{"leads":[],"next_cursor":null,"end_cursor":null}'
    api GET '/v1/leads?since=2000-01-01T01:00:00%2B01:00&source=website'
    expect_jq '[.leads[].id]' "[\"$FORM\"]"
    # until: received before it; with since, a window; the others are the
    # rest of the list
    api GET "/v1/leads?until=$_t&limit=1000"
    expect_code 200
    expect_jq '.leads' "$(jq -c "$JQ_DEFS"' ("'"$_t"'" | ms) as $t | [.[] | select((.received_at | ms) < $t)]' "$SRV/all.json")"
    expect_jq '[.leads[].id] | index("Q1") == null and index("A1") != null' true
    api GET "/v1/leads?since=2000-01-01T00:00:00Z&until=$_t&status=closed"
    expect_jq '[.leads[].id]' '["A1"]'
    bad_windows /v1/leads "$_t"
}

list_leads_pages_with_limit_and_cursor() {
    list_all "" "$SRV/all.json" || return
    _n=$(jq length "$SRV/all.json")
    : >"$SRV/paged"
    _cur=; _pages=0
    while [ $_pages -lt 50 ]; do
        _pages=$((_pages + 1))
        api GET "/v1/leads?limit=3${_cur:+&cursor=$_cur}"
        expect_code 200
        _len=$(jq '.leads | length' "$RB")
        jq -c '.leads[]' "$RB" >>"$SRV/paged"
        _cur=$(jq -r '.next_cursor // empty' "$RB")
        if [ -n "$_cur" ]; then
            [ "$_len" -eq 3 ] || fail "page $_pages has $_len leads and a next cursor"
        else
            break
        fi
    done
    [ $_pages -eq $(((_n + 2) / 3)) ] || fail "$_pages pages for $_n leads at 3 a page"
    _got=$(jq -s -c . "$SRV/paged")
    [ "$_got" = "$(cat "$SRV/all.json")" ] || fail "the pages do not add up to the whole list"
    # a filtered listing pages too
    api GET '/v1/leads?status=assigned&limit=4'
    expect_jq '[.leads[].id]' "[\"A2\",\"A3\",\"A4\",\"$FORM\"]"
    _c=$(jq -r .next_cursor "$RB")
    api GET "/v1/leads?status=assigned&limit=4&cursor=$_c"
    expect_jq '[.leads[].id]' '["T1","Q1","Q2","H1"]'
    _c=$(jq -r .next_cursor "$RB")
    api GET "/v1/leads?status=assigned&limit=4&cursor=$_c"
    expect_jq '.leads' '[{"id":"M1","state":"assigned","agent":"dan","source":null,"received_at":'"$(jq -c '.[] | select(.id == "M1") | .received_at' "$SRV/all.json")"'}]'
    expect_jq .next_cursor null
    # the last page still says where it ends: asked again from there, an
    # empty page that says the same (a_wrapped_lead_is_kept_as_the_lead
    # reads the leads that come after it)
    _end=$(jq -r .end_cursor "$RB")
    [ "$_end" != null ] && [ "$(echo "$_end" | tr -d 0-9)" = "" ] || fail "end_cursor '$_end' on the last page"
    api GET "/v1/leads?status=assigned&limit=4&cursor=$_end"
    expect_jq . '{"leads":[],"next_cursor":null,"end_cursor":"'"$_end"'"}'
    api GET '/v1/leads?limit=2'
    expect_jq '.end_cursor == .next_cursor and .end_cursor != null' true
}

get_agents_lists_every_agent_in_config_order() {
    api GET /v1/agents
    expect_code 200
    expect_jq '[.agents[].id]' '["ann","ben","cat","dan","hot1","hot2","sdr"]'
    expect_jq '[.agents[] | {id, open}]' \
        '[{"id":"ann","open":2},{"id":"ben","open":2},{"id":"cat","open":0},{"id":"dan","open":1},{"id":"hot1","open":1},{"id":"hot2","open":1},{"id":"sdr","open":2}]'
    expect_jq '.agents[0] | keys_unsorted' '["id","name","status","status_reason","status_since","availability","open","capacity","weight","assigned","won","closed","window"]'
    cp "$RB" "$SRV/agents.json"
    for _a in ann cat sdr; do
        api GET "/v1/agents/$_a"
        expect_code 200
        expect_jq . "$(jq -c ".agents[] | select(.id == \"$_a\")" "$SRV/agents.json")"
    done
    api GET /v1/agents/nobody
    expect_error 404 not_found
}

get_config_returns_the_text_and_its_version() {
    api GET /v1/config
    expect_code 200
    expect_jq '.config' "$(jq -Rs -c . "$SRV/api.yaml")"
    expect_jq '.version' 1
}

# snapshot NAME: stats, agents and the lead list into $SRV/NAME.*
snapshot() {
    api GET /v1/stats; cp "$RB" "$SRV/$1.stats"
    api GET /v1/agents; cp "$RB" "$SRV/$1.agents"
    list_all "" "$SRV/$1.leads"
}

preview_shows_the_decision_and_changes_nothing() {
    # make room in the team: ben wins one, so ben is not full
    api POST "/v1/leads/A2/progress" '{"status":"lost"}'
    expect_code 200
    expect_jq '[.decisions[] | {lead, action, agent}]' \
        '[{"lead":"A2","action":"closed","agent":"ben"},{"lead":"H2","action":"assigned","agent":"ben"}]'
    api POST "/v1/leads/$FORM/progress" '{"status":"won"}'
    expect_code 200
    clear_of_boundary 1 1   # the agents' hour windows must not turn between the snapshots
    snapshot before
    api POST /v1/route/preview '{"id":"P1","source":"web"}'
    expect_code 200
    expect_jq "$D" "[$(rr P1 ben preview)]"
    cp "$RB" "$SRV/preview"
    api POST /v1/route/preview '{"id":"P1","source":"web"}'
    expect_jq "$D" "[$(rr P1 ben preview)]"
    api GET /v1/leads/P1
    expect_code 404
    snapshot after
    same "$SRV/before.stats" "$SRV/after.stats" "GET /v1/stats"
    same "$SRV/before.agents" "$SRV/after.agents" "GET /v1/agents"
    same "$SRV/before.leads" "$SRV/after.leads" "GET /v1/leads"
    # the real lead gets what the preview said
    api POST /v1/leads '{"id":"P1","source":"web"}'
    expect_code 201
    expect_jq "$D" "[$(rr P1 ben)]"
    echo P1 >>"$IDS"
    # P1 now exists: a POST of it would be a repeat, so would get nothing new
    api POST /v1/route/preview '{"id":"P1","source":"web"}'
    expect_code 200
    expect_jq '.' '{"decisions":[],"received_before":true}'
}

put_config_swaps_it_and_routing_follows() {
    # what `leadrouter check` warns of comes with the answer (it was said
    # nowhere): here an agent in no pool
    sed 's/^agents:$/agents:\n  - id: idle/' "$SRV/api2.yaml" >"$SRV/api2w.yaml"
    grep -q '^  - id: idle$' "$SRV/api2w.yaml" || fail "no agent added to api2.yaml"
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
        --data-binary @"$SRV/api2w.yaml"
    expect_code 200
    expect_jq '.warnings' '["config:2:5: warning: agent '"'idle'"' is in no pool: no rule gives it a lead"]'
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
        --data-binary @"$SRV/api2.yaml"
    expect_code 200
    expect_jq '.version | type' '"number"'
    expect_jq '.decisions' '[]'
    expect_jq '.warnings' '[]'
    _v=$(jq .version "$RB")
    [ "$_v" -gt 1 ] 2>/dev/null || fail "version $_v after a change of version 1"
    api GET /v1/config
    expect_jq '.config' "$(jq -Rs -c . "$SRV/api2.yaml")"
    expect_jq '.version' "$_v"
    api POST /v1/leads '{"id":"V1","source":"vip"}'
    expect_code 201
    expect_jq "$D" "[$(dec V1 assigned eve vip vip top_down)]"
    echo V1 >>"$IDS"
    api GET /v1/agents/eve
    expect_jq '{id, open}' '{"id":"eve","open":1}'
    echo "$_v" >"$SRV/version"
    # the same text again (a PUT sent twice) changes nothing
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
        --data-binary @"$SRV/api2.yaml"
    expect_code 200
    expect_jq . "{\"version\":$_v,\"unchanged\":true}"
    api GET /v1/config
    expect_jq '.version' "$_v"
}

put_invalid_config_is_422_with_every_error_and_the_old_one_stays() {
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
        --data-binary @"$SRV/bad.yaml"
    expect_error 422 invalid_config
    # every error, with its position (the lists of known names left out)
    expect_jq '[.error.details[] | split(" (known: ")[0]]' '["config:3:15: agent '"'ann'"': '"'capacity'"' must be an integer from 0 to 9223372036854775807, got '"'-1'"'","config:5:5: unknown key '"'wieght'"' in agent '"'ben'"'","config:7:21: pool '"'sales'"': unknown agent '"'zed'"'","config:10:34: rule '"'hot'"': when: column 23: unexpected '"'='"'; equality is written '"'=='"'","config:12:15: rule '"'hot'"': unknown strategy '"'round_robbin'"'","config:16:13: rule '"'rest'"': '"'window'"' applies only to strategies fewest_assigned and top_producer"]'
    api GET /v1/config
    expect_jq '.config' "$(jq -Rs -c . "$SRV/api2.yaml")"
    expect_jq '.version' "$(cat "$SRV/version" 2>/dev/null)"
    api POST /v1/leads '{"id":"V2","source":"vip"}'
    expect_code 201
    expect_jq "$D" "[$(dec V2 assigned eve vip vip top_down)]"
    echo V2 >>"$IDS"
}

idempotency_key_replays_the_reply_and_refuses_another_body() {
    api POST /v1/leads '{"id":"K1"}' -H 'Idempotency-Key: order-1'
    expect_code 201
    expect_jq .lead '"K1"'
    cp "$RB" "$SRV/K1.first"
    api POST /v1/leads '{"id":"K1"}' -H 'Idempotency-Key: order-1'
    expect_code 200
    same "$SRV/K1.first" "$RB" "the reply to the same key and body"
    api POST /v1/leads '{"id":"K2"}' -H 'Idempotency-Key: order-1'
    expect_error 409 idempotency_key_reused
    api GET /v1/leads/K2
    expect_code 404
    # on an event: the second try replays the first answer, and the
    # progress is applied once
    api POST /v1/leads/K1/progress '{"status":"won"}' -H 'Idempotency-Key: close-K1'
    expect_code 200
    expect_jq '[.decisions[] | {lead, action, status}]' '[{"lead":"K1","action":"closed","status":"won"}]'
    cp "$RB" "$SRV/close.first"
    api POST /v1/leads/K1/progress '{"status":"won"}' -H 'Idempotency-Key: close-K1'
    expect_code 200
    same "$SRV/close.first" "$RB" "the reply to the repeated progress"
    api GET /v1/leads/K1
    expect_jq '[.progress[].status]' '["won"]'
    expect_jq '[.decisions[].action]' '["queued","closed"]'
    # the same key and body on another path is another request
    api POST /v1/leads/A4/progress '{"status":"won"}' -H 'Idempotency-Key: close-K1'
    expect_error 409 idempotency_key_reused
    expect_jq .error.message '"this Idempotency-Key was used with a different request (path or body)"'
    api GET /v1/leads/A4
    expect_jq .state '"assigned"'
    # without the key, the repeat is a conflict with the closed lead, and
    # the lead's progress shows only what was applied
    api POST /v1/leads/K1/progress '{"status":"won"}'
    expect_error 409 lead_closed
    api POST /v1/leads/K1/progress '{"status":"lost"}'
    expect_error 409 lead_closed
    api GET /v1/leads/K1
    expect_jq '[.progress[].status]' '["won"]'
    # progress sent before its lead existed is no part of it either
    api POST /v1/events '{"type":"progress","lead":"K9","status":"contacted"}'
    expect_code 404
    api POST /v1/leads '{"id":"K9"}'
    expect_code 201
    api GET /v1/leads/K9
    expect_jq .progress '[]'
    # a web form posted twice (a double click) with its key: one lead
    req POST /v1/forms/website -H "Authorization: Bearer $KEY" -H 'Idempotency-Key: form-zed' \
        --data-binary 'name=Zed'
    expect_code 201
    _f=$(jq -r .lead "$RB")
    req POST /v1/forms/website -H "Authorization: Bearer $KEY" -H 'Idempotency-Key: form-zed' \
        --data-binary 'name=Zed'
    expect_code 200
    expect_jq .lead "\"$_f\""
    api GET '/v1/leads?source=website'
    expect_jq '[.leads[].id]' "[\"$FORM\",\"$_f\"]"
}

# want_tta [SINCE]: time_to_assign_ms as $SRV/each.json (the leads with
# their decisions) has it, over the leads received at or after SINCE (an
# RFC 3339 time; all without it): first assigned or claimed decision minus
# arrival, nearest-rank median and p90.
want_tta() {
    jq -c --arg s "${1:-}" "$JQ_DEFS"'(if $s == "" then null else ($s | ms) end) as $s
        | [.[] | (.received_at | ms) as $r | select($s == null or $r >= $s)
             | ([.decisions[] | select(.action == "assigned" or .action == "claimed")][0]) as $d
             | select($d != null) | ($d.at | ms) - $r] | sort
        | {median: (if length > 0 then .[((length + 1) / 2 | floor) - 1] else null end),
           p90: (if length > 0 then .[((9 * length + 9) / 10 | floor) - 1] else null end),
           count: length}' "$SRV/each.json"
}

stats_count_leads_and_decisions_as_the_leads_show_them() {
    list_all "" "$SRV/all.json" || return
    jq -r '.[].id' "$SRV/all.json" >"$SRV/all.ids"
    get_each "$SRV/all.ids" "$SRV/each.json" || return
    api GET /v1/stats
    expect_code 200
    expect_jq 'keys_unsorted' '["leads","decisions","by_agent","by_rule","by_pool","by_source","time_to_assign_ms","deliveries","queues"]'
    expect_jq .leads "$(jq length "$SRV/all.json")"
    # every decision belongs to a lead, but the one refused `next` (no lead)
    _want=$(jq -c '[.[].decisions[]] + [{"action":"claim_refused"}] | group_by(.action)
                   | map({key: .[0].action, value: length}) | from_entries' "$SRV/each.json")
    expect_jq .decisions "$_want"
    expect_jq .by_source '{"list":{"leads":2,"assigned":2},"thanks":{"leads":1,"assigned":1},"vip":{"leads":2,"assigned":2},"web":{"leads":2,"assigned":2},"website":{"leads":1,"assigned":1}}'
    expect_jq '.by_rule.vip' '{"assigned":2}'
    expect_jq '.by_pool.pull' '{"claimed":2,"queued":2}'
    expect_jq '.by_rule.pull' '{"claimed":2,"queued":2}'
    expect_jq '.by_agent.ann' '{"assigned":3,"closed":1,"open":2,"won":1,"lost":0}'
    expect_jq '.by_agent.sdr' '{"claim_refused":1,"claimed":2,"open":2,"won":0,"lost":0}'
    expect_jq '.queues.team' '{"waiting":0,"oldest_ms":null}'
    # time to assign: first assigned or claimed decision minus arrival,
    # nearest-rank median and p90
    expect_jq .time_to_assign_ms "$(want_tta)"
    expect_jq '.time_to_assign_ms.count' 14
    expect_jq '.time_to_assign_ms.p90 > 0' true
    cp "$RB" "$SRV/stats.json"
    api GET /v1/agents
    _open=$(jq -S -c '[.agents[] | {key: .id, value: .open} | select(.value > 0)] | from_entries' "$RB")
    _sopen=$(jq -S -c '[.by_agent | to_entries[] | {key, value: .value.open} | select(.value > 0)] | from_entries' "$SRV/stats.json")
    [ "$_open" = "$_sopen" ] || fail "open leads per agent: /v1/agents $_open, /v1/stats $_sopen"
}

stats_over_a_window_count_what_happened_in_it() {
    [ -s "$SRV/each.json" ] || { fail "no leads from the case before"; return; }
    # since the received time of the middle lead (in order of arrival
    # time), open at the end: the leads received since, the decisions
    # made since, as the leads show them
    _since=$(jq -r '[.[].received_at] | sort | .[length / 2 | floor]' "$SRV/each.json")
    api GET "/v1/stats?since=$_since"
    expect_code 200
    expect_jq 'keys_unsorted' '["leads","decisions","by_agent","by_rule","by_pool","by_source","time_to_assign_ms","deliveries","queues"]'
    _n=$(jq --arg s "$_since" "$JQ_DEFS"'($s | ms) as $s | [.[] | select((.received_at | ms) >= $s)] | length' "$SRV/each.json")
    [ "$_n" -gt 0 ] && [ "$_n" -lt "$(jq length "$SRV/each.json")" ] || fail "the window takes $_n leads: not a part of them"
    expect_jq .leads "$_n"
    # (a refused claim of no lead is in no lead's decisions)
    _want=$(jq -c --arg s "$_since" "$JQ_DEFS"'($s | ms) as $s | [.[].decisions[]
                   | select((.at | ms) >= $s and .action != "claim_refused")]
                   | group_by(.action) | map({key: .[0].action, value: length}) | from_entries' "$SRV/each.json")
    expect_jq '.decisions | del(.claim_refused)' "$_want"
    expect_jq .time_to_assign_ms "$(want_tta "$_since")"
    # the same window closed before it starts again: nothing in it; the
    # queues are the pools' now, whatever the window
    api GET "/v1/stats?since=2001-01-01T00:00:00Z&until=2001-01-02T00:00:00Z"
    expect_code 200
    expect_jq '[.leads, .decisions, .by_agent, .by_source, .time_to_assign_ms.count]' '[0,{},{},{},0]'
    expect_jq .queues "$(jq -c .queues "$SRV/stats.json")"
    # until the middle lead: the others (an RFC 3339 time with an offset)
    _until=$(jq -r --arg s "$_since" '$s | sub("Z$"; "+00:00")' -n)
    api GET "/v1/stats?until=$(printf %s "$_until" | sed 's/+/%2B/')"
    expect_code 200
    expect_jq ".leads + $_n" "$(jq length "$SRV/each.json")"
    bad_windows /v1/stats "$_since"
    # given twice, the last one counts, as everywhere
    api GET "/v1/stats?since=2001-01-01T00:00:00Z&since=$_since"
    expect_code 200
    expect_jq .leads "$_n"
    api GET '/v1/stats?from=2026-01-01T00:00:00Z'
    expect_error 400 invalid_request
    expect_jq .error.message '"unknown query argument '"'"'from'"'"' (since, until)"'
}

# Reads whose clients hung up while they waited are not run: 200 clients
# each send GET /v1/stats and close at once (the statistics run one at a
# time), the reads behind are dropped and counted, and a client that waits
# gets its answer.
reads_of_clients_gone_are_not_run() {
    python3 - "$URL" "$KEY" <<'PY' || fail "the hang-ups could not be sent"
import socket, sys
url, key = sys.argv[1], sys.argv[2]
host, port = url.split("//")[1].split(":")
socks = []
for i in range(200):
    x = socket.create_connection((host, int(port)), timeout=20)
    x.sendall(("GET /v1/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % key).encode())
    socks.append(x)
for x in socks:
    x.close()
PY
    api GET /v1/stats
    expect_code 200
    api GET /metrics
    _gone=$(sed -n 's/^leadrouter_reads_dropped_total \([0-9]*\)$/\1/p' "$RB")
    [ "${_gone:-0}" -gt 0 ] || fail "leadrouter_reads_dropped_total is '$_gone' after 200 hang-ups"
    grep -q '^# TYPE leadrouter_reads_dropped_total counter$' "$RB" || fail "no TYPE line for reads_dropped_total"
}

# A client that sends part of a request and closes at once (its bytes and
# its close arriving together) frees its connection at once: with MHD's
# epoll such connections stayed in CLOSE-WAIT until the 60 s idle
# timeout, and 1,024 of them took every slot from everyone else.
an_unfinished_request_closed_at_once_frees_its_slot() {
    # (the 20 unfinished bodies carry the key: without one, each would
    # count against the address's budget of unknown keys; the unfinished
    # heads are never looked at)
    python3 - "$URL" "$KEY" <<'PY' || fail "connections still held by clients that left"
import socket, sys, time
url, key = sys.argv[1], sys.argv[2]
host, port = url.split("//")[1].split(":")
for i in range(200):
    x = socket.create_connection((host, int(port)), timeout=20)
    x.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" if i % 10 else
              ("POST /v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"id\"" % key).encode())
    x.close()
def held():                         # the server's side in CLOSE-WAIT (state 08)
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(path).read().splitlines()[1:]
        except OSError:
            continue
        for r in rows:
            f = r.split()
            if f[3] == "08" and int(f[1].split(":")[1], 16) == int(port):
                n += 1
    return n
for _ in range(50):
    n = held()
    if n == 0:
        sys.exit(0)
    time.sleep(0.1)
print("  %d connections in CLOSE-WAIT 5 s after their clients left" % n)
sys.exit(1)
PY
    req GET /healthz
    expect_code 200
}

metrics_are_prometheus_text() {
    req GET /metrics
    expect_error 401 unauthorized
    api GET /v1/stats
    cp "$RB" "$SRV/stats.json"
    api GET /metrics
    expect_code 200
    expect_header '^content-type: text/plain; version=0\.0\.4'
    M="$RB"
    _v() { sed -n "s/^$1 \\([0-9.e+]*\\)\$/\\1/p" "$M"; }
    [ "$(_v leadrouter_leads_total)" = "$(jq .leads "$SRV/stats.json")" ] \
        || fail "leadrouter_leads_total $(_v leadrouter_leads_total)"
    grep -q '^# TYPE leadrouter_leads_total counter$' "$M" || fail "no TYPE line for leads_total"
    grep -q '^# TYPE leadrouter_decisions_total counter$' "$M" || fail "no TYPE line for decisions_total"
    for _a in assigned offered queued held claimed claim_refused released closed unrouted rejected; do
        _want=$(jq ".decisions.$_a // 0" "$SRV/stats.json")
        _got=$(_v "leadrouter_decisions_total{action=\"$_a\"}")
        [ "$_got" = "$_want" ] || fail "decisions_total{action=\"$_a\"} is '$_got', /v1/stats says $_want"
    done
    grep -q '^# TYPE leadrouter_commit_seconds histogram$' "$M" || fail "no histogram TYPE line"
    _prev=0; _nb=0
    for _b in $(sed -n 's/^leadrouter_commit_seconds_bucket{le="[^"]*"} \([0-9]*\)$/\1/p' "$M"); do
        [ "$_b" -ge "$_prev" ] || fail "commit buckets are not cumulative ($_b after $_prev)"
        _prev=$_b; _nb=$((_nb + 1))
    done
    [ "$_nb" -ge 2 ] || fail "only $_nb commit buckets"
    _inf=$(_v 'leadrouter_commit_seconds_bucket{le="+Inf"}')
    _cnt=$(_v leadrouter_commit_seconds_count)
    [ -n "$_inf" ] && [ "$_inf" = "$_cnt" ] || fail "+Inf bucket '$_inf' != count '$_cnt'"
    [ "${_cnt:-0}" -gt 20 ] || fail "only '$_cnt' commits after all these requests"
    grep -qE '^leadrouter_commit_seconds_sum [0-9]+(\.[0-9]+)?$' "$M" || fail "no commit sum"
    grep -qE '^leadrouter_writer_queue [0-9]+$' "$M" || fail "no writer queue gauge"
    for _p in team hot pull desk vip; do
        _want=$(jq ".queues.$_p.waiting" "$SRV/stats.json")
        _got=$(_v "leadrouter_queue_depth{pool=\"$_p\"}")
        [ "$_got" = "$_want" ] || fail "queue_depth{pool=\"$_p\"} is '$_got', /v1/stats says $_want"
    done
}

# /metrics times every answered request, head read to answer sent, in a
# histogram per route (its pattern, {id} for the path segment, {source} for a form's), one more
# for requests no route took; only the routes that answered are listed.
metrics_time_each_request_by_route() {
    api GET /metrics
    cp "$RB" "$SRV/m0.txt"
    _c() { sed -n "s|^leadrouter_http_request_seconds_count{method=\"$2\",route=\"$3\"} \([0-9]*\)\$|\1|p" "$1"; }
    _p0=$(_c "$SRV/m0.txt" POST /v1/leads); _g0=$(_c "$SRV/m0.txt" GET '/v1/leads/{id}')
    _u0=$(_c "$SRV/m0.txt" any unrouted); _me0=$(_c "$SRV/m0.txt" GET /metrics)
    _f0=$(_c "$SRV/m0.txt" POST '/v1/forms/{source}')
    req POST /v1/forms/web -H "Authorization: Bearer $KEY" --data-binary 'id=HTF1&name=x'
    expect_code 201
    api POST /v1/leads '{"id":"HT1","source":"web"}'
    expect_code 201
    api POST /v1/leads '{"id":"HT2","source":"web"}'
    expect_code 201
    api POST /v1/leads '{"id":5}'
    expect_code 400
    api GET /v1/leads/HT1
    expect_code 200
    api GET /v1/nothing-here
    expect_code 404
    api GET /metrics
    M="$RB"
    grep -q '^# TYPE leadrouter_http_request_seconds histogram$' "$M" || fail "no TYPE line for the request histogram"
    [ "$(_c "$M" POST /v1/leads)" = "$(( ${_p0:-0} + 3 ))" ] || fail "POST /v1/leads counted $(_c "$M" POST /v1/leads), before ${_p0:-0}"
    [ "$(_c "$M" GET '/v1/leads/{id}')" = "$(( ${_g0:-0} + 1 ))" ] || fail "GET /v1/leads/{id} not counted once more"
    # a form's segment is named as the docs name it
    [ "$(_c "$M" POST '/v1/forms/{source}')" = "$(( ${_f0:-0} + 1 ))" ] || fail "POST /v1/forms/{source} not counted once more"
    [ "$(_c "$M" any unrouted)" = "$(( ${_u0:-0} + 1 ))" ] || fail "the unknown path not counted as unrouted"
    # the /metrics request before this one is counted; this one is not yet
    [ "$(_c "$M" GET /metrics)" = "$(( ${_me0:-0} + 1 ))" ] || fail "GET /metrics counted $(_c "$M" GET /metrics)"
    _prev=0
    for _b in $(sed -n 's|^leadrouter_http_request_seconds_bucket{method="POST",route="/v1/leads",le="[^"]*"} \([0-9]*\)$|\1|p' "$M"); do
        [ "$_b" -ge "$_prev" ] || fail "request buckets are not cumulative ($_b after $_prev)"
        _prev=$_b
    done
    [ "$_prev" = "$(_c "$M" POST /v1/leads)" ] || fail "+Inf bucket $_prev is not the count"
    grep -qE '^leadrouter_http_request_seconds_sum\{method="POST",route="/v1/leads"\} [0-9]+\.[0-9]*[1-9]' "$M" \
        || fail "POST /v1/leads took no time at all"
    grep -q 'route="/v1/deliveries' "$M" && fail "a route never called is listed"
    return 0
}

# A lead sent in its event form, {"type":"lead","lead":{...}}, is kept as
# the lead it wraps, byte for byte, as a bare one is (the whole event was
# stored: GET /v1/leads/{id} and webhooks showed the wrapper as the lead).
# An array's answer given again for its Idempotency-Key says 200 for each
# lead it created, as the whole answer does.
# raw_http FILE: sends FILE's bytes as they are (a request curl would not
# write) to the server, then sets code, $RH and $RB from its answer.
raw_http() {
    python3 - "$URL" "$1" "$RH" "$RB" <<'PY' || code=000
import socket, sys
url, src, rh, rb = sys.argv[1:]
host, port = url.split("//")[1].split(":")
s = socket.create_connection((host, int(port)), timeout=20)
s.sendall(open(src, "rb").read())
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
head, _, body = out.partition(b"\r\n\r\n")
open(rh, "wb").write(head + b"\r\n")
open(rb, "wb").write(body)
print(head.split(b" ")[1].decode(), file=open(rh + ".code", "w"))
PY
    code=$(cat "$RH.code" 2>/dev/null || echo 000)
}

# A header folded onto a second line (obsolete since RFC 7230) is refused
# (docs/api.md, "Folded headers"): the HTTP library joins the continuation
# to the header's name, which may then spell any header (a folded key, an
# Idempotency-Key, a Content-Length built of two lines): 400, closed.
folded_headers_are_refused() {
    printf 'GET /v1/config HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n %s\r\nConnection: close\r\n\r\n' \
        "$KEY" >"$SRV/fold1.http"
    raw_http "$SRV/fold1.http"
    expect_error 400 invalid_request
    _b='{"id":"FD1","state":"TX"}'
    printf 'POST /v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nIdempotency-Key: fold\r\n -1\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
        "$KEY" ${#_b} "$_b" >"$SRV/fold2.http"
    raw_http "$SRV/fold2.http"
    expect_error 400 invalid_request
    # a length spelt across two lines would have framed the next request
    printf 'GET /healthz HTTP/1.1\r\nHost: x\r\ncontent-lengt: 34\r\n H\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >"$SRV/fold3.http"
    raw_http "$SRV/fold3.http"
    expect_error 400 invalid_request
    grep -qi '^connection: close' "$RH" || fail "no Connection: close after a folded header"
    api GET /v1/leads/FD1
    expect_error 404 not_found
}

# Two Content-Lengths: where the request ends is a guess, and the bytes
# after the first guess must not run as a request of their own (request
# smuggling behind a proxy that guessed the other way): 400, the
# connection closed, nothing stored, nothing else answered.
two_content_lengths_are_refused_and_close() {
    _b='{"id":"CL1","state":"TX"}'
    _h='{"id":"SMUG1","state":"TX"}'
    _s=$(printf 'POST /v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' "$KEY" ${#_h} "$_h")
    printf 'POST /v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nContent-Length: %d\r\n\r\n%s%s' \
        "$KEY" ${#_b} $((${#_b} + ${#_s})) "$_b" "$_s" >"$SRV/cl2.http"
    raw_http "$SRV/cl2.http"
    expect_error 400 invalid_request
    expect_jq .error.message '"Content-Length is given 2 times: send one"'
    grep -qi '^connection: close' "$RH" || fail "no Connection: close"
    [ "$(grep -c 'HTTP/1.1' "$RB")" = 0 ] || { fail "a second answer came"; show body "$RB"; }
    # the same behind headers too large for a 431: still 400 and closed
    _pad=$(head -c 15100 /dev/zero | tr '\0' a)
    printf 'POST /v1/leads HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nContent-Length: %d\r\n\r\n%s%s' \
        "$_pad" "$KEY" ${#_b} $((${#_b} + ${#_s})) "$_b" "$_s" >"$SRV/cl3.http"
    raw_http "$SRV/cl3.http"
    expect_error 400 invalid_request
    [ "$(grep -c 'HTTP/1.1' "$RB")" = 0 ] || { fail "a second answer came after the 431-sized head"; show body "$RB"; }
    for _l in CL1 SMUG1; do
        api GET /v1/leads/$_l
        expect_error 404 not_found
    done
    # a Content-Length beside chunked coding: read as chunked, answered,
    # then closed (what follows is not run)
    _c=$(printf '%x' ${#_b})
    printf 'POST /v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\n%s\r\n0\r\n\r\n%s' \
        "$KEY" "$_c" "$_b" "$_s" >"$SRV/clte.http"
    raw_http "$SRV/clte.http"
    expect_code 201
    grep -qi '^connection: close' "$RH" || fail "no Connection: close after Content-Length with chunked"
    [ "$(grep -c 'HTTP/1.1' "$RB")" = 0 ] || { fail "the request after the chunked body ran"; show body "$RB"; }
    api GET /v1/leads/SMUG1
    expect_error 404 not_found
    printf '%s\n' CL1 >>"$IDS"
    # a coding other than chunked cannot be framed: 501 and closed (MHD
    # alone waited for the idle timeout)
    printf 'POST /v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n%s\r\n%s\r\n0\r\n\r\n' \
        "$KEY" "$_c" "$_h" >"$SRV/te.http"
    raw_http "$SRV/te.http"
    expect_error 501 not_implemented
    expect_jq .error.message "\"Transfer-Encoding 'gzip, chunked' is not supported: send the body as it is, or chunked\""
    grep -qi '^connection: close' "$RH" || fail "no Connection: close after a 501"
    # framing headers the library would keep under another name (a space
    # before the colon, a folded line) or give once (two codings), and a
    # coding in HTTP/1.0: 400 or an answer, then closed, never the request
    # hidden in the body (SMUG1, as a proxy reading the coding would pass it)
    _n=0
    for _h in 'Content-Length: 5\r\nTransfer-Encoding : chunked' 'Content-Length: 5\r\nTransfer-Encoding:\r\n chunked' \
              'Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip'; do
        _n=$((_n + 1))
        printf "POST /v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n$_h\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" \
            "$KEY" ${#_s} "$_s" >"$SRV/fr$_n.http"
        raw_http "$SRV/fr$_n.http"
        expect_error 400 invalid_request
        grep -qi '^connection: close' "$RH" || fail "framing $_n: no Connection: close"
        [ "$(grep -c 'HTTP/1.1' "$RB")" = 0 ] || { fail "framing $_n: a second answer came"; show body "$RB"; }
    done
    _b10='{"id":"H10","state":"TX"}'
    printf 'POST /v1/leads HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n%s' \
        "$KEY" ${#_b10} "$_b10" "$_s" >"$SRV/fr10.http"
    raw_http "$SRV/fr10.http"
    expect_code 201
    grep -qi '^connection: close' "$RH" || fail "HTTP/1.0 with a coding: no Connection: close"
    [ "$(grep -c 'HTTP/1' "$RB")" = 0 ] || { fail "HTTP/1.0 with a coding: the request after it ran"; show body "$RB"; }
    api GET /v1/leads/SMUG1
    expect_error 404 not_found
    printf '%s\n' H10 >>"$IDS"
}

a_wrapped_lead_is_kept_as_the_lead() {
    # a reader that has caught up keeps end_cursor and gets what came since
    api GET '/v1/leads?limit=1000'
    expect_jq .next_cursor null
    _end=$(jq -r .end_cursor "$RB")
    api POST /v1/leads '{"type":"lead", "at":"2020-01-01T00:00:00Z", "lead": {"id":"W1",  "source":"web", "tags":["a","}]"]} }'
    expect_code 201
    api GET /v1/leads/W1
    expect_code 200
    expect_body_has '"lead":{"id":"W1",  "source":"web", "tags":["a","}]"]}'
    api POST /v1/events '[{"type":"lead","lead":{"id":"W2","name":"}{\"lead\":"},"at":null}]'
    expect_code 200
    api GET /v1/leads/W2
    expect_jq .lead '{"id":"W2","name":"}{\"lead\":"}'
    # a lead's field beside "lead" was dropped with a 201: now it is named
    api POST /v1/leads '{"type":"lead","lead":{"id":"W3"},"source":"fb","email":"a@b.c"}'
    expect_error 400 invalid_event
    expect_jq .error.message '"unknown member '"'source'"' in a lead event (its members: lead, at; the lead'"'"'s own fields go inside '"'lead'"')"'
    api GET /v1/leads/W3
    expect_code 404
    # an integer past 64 bits is JSON: an ad platform's id is kept as sent
    api POST /v1/leads '{"id":"BIG1","ad_id":9223372036854775808,"n":-18446744073709551616}'
    expect_code 201
    api GET /v1/leads/BIG1
    expect_body_has '"lead":{"id":"BIG1","ad_id":9223372036854775808,"n":-18446744073709551616}'
    # beside one in an array, -0 is still 0: the lead alone again is a repeat
    api POST /v1/leads '[{"id":"BIG3","fb":123456789012345678901234},{"id":"Z0","score":-0}]'
    expect_jq '[.results[].status]' '[201,201]'
    api POST /v1/leads '{"id":"Z0","score":-0}'
    expect_code 200
    api POST /v1/leads '{"id":"BIG2","n":1e400}'
    expect_error 400 invalid_json
    expect_jq .error.message '"the number ending at byte 21 is beyond the range of a double (about 1.8e308)"'
    api POST /v1/leads '[{"id":"AR1"},{"id":5}]' -H 'Idempotency-Key: ar-1'
    expect_code 201
    expect_jq '[.results[].status]' '[201,400]'
    api POST /v1/leads '[{"id":"AR1"},{"id":5}]' -H 'Idempotency-Key: ar-1'
    expect_code 200
    expect_jq '[.results[].status]' '[200,400]'
    # an events array answers 200 as a whole: its leads' 201s are 200 again too
    api POST /v1/events '[{"type":"lead","lead":{"id":"EV1"}},{"id":"EV2"},{"type":"agent","agent":"zed","status":"away"}]' \
        -H 'Idempotency-Key: ev-1'
    expect_code 200
    expect_jq '[.results[].status]' '[201,201,404]'
    api POST /v1/events '[{"type":"lead","lead":{"id":"EV1"}},{"id":"EV2"},{"type":"agent","agent":"zed","status":"away"}]' \
        -H 'Idempotency-Key: ev-1'
    expect_code 200
    expect_jq '[.results[].status]' '[200,200,404]'
    api GET "/v1/leads?cursor=$_end"
    expect_jq '[.leads[].id]' '["W1","W2","BIG1","BIG3","Z0","AR1","EV1","EV2"]'
}

# Pool names may hold any character but control ones: /metrics escapes them
# in its labels (a quote, a backslash: 'nl\nx' is a backslash and an n,
# not a line feed; other text as it is; a line feed, which a pool name
# journaled before such names were refused may hold, becomes \n) and gives each
# pool its own depth and age, the numbers /v1/stats has (a pool "a" got
# the depth of the pool 'x"a', whose escaped name ends the same way; the
# others read 0). A received_at ahead of the clock is age 0, not negative,
# and so is its time to assignment.
metrics_name_every_pool_as_stats_does() {
    cat >"$SRV/m.yaml" <<'EOF2'
agents: [{id: ann, capacity: 1}, {id: ben, capacity: 1}]
pools:
  'we"st': [ann]
  'back\slash': [ben]
  'nl\nx': [ann, ben]
  "ünï€": [ann, ben]
  'x"a': [ann]
  a: [ben]
rules:
  - {name: q1, when: 'state == "Q"', pool: 'we"st', strategy: queue}
  - {name: q2, when: 'state == "B"', pool: 'back\slash', strategy: queue}
  - {name: q3, when: 'state == "N"', pool: 'nl\nx', strategy: queue}
  - {name: q4, when: 'state == "U"', pool: "ünï€", strategy: open_pool}
  - {name: q5, when: 'state == "X"', pool: 'x"a', strategy: queue}
  - {name: q6, when: 'state == "A"', pool: a, strategy: queue}
  - {name: rest, pool: a, strategy: round_robin}
EOF2
    _admin_key=$KEY
    KEY=$(mkkey "$SRV/m.db" admin)
    srv_start M "$SRV/m.db" "$SRV/m.yaml" --rate-limit 0 || { fail "$srv_error"; show stderr "$SRV/M.err"; KEY=$_admin_key; return; }
    _i=0
    for _s in Q Q Q B B N N N N U X A A; do
        _i=$((_i + 1))
        api POST /v1/leads "{\"id\":\"M$_i\",\"state\":\"$_s\"}"
        expect_code 201 "lead M$_i"
    done
    api POST /v1/leads '{"id":"M99","state":"Q","received_at":"2099-01-01T00:00:00Z"}'
    api POST /v1/leads '{"id":"F1","state":"Z","received_at":"2099-01-01T00:00:00Z"}'
    expect_jq '.decisions[0].action' '"assigned"'
    api GET /v1/stats
    cp "$RB" "$SRV/mstats.json"
    api GET /metrics
    expect_code 200
    cp "$RB" "$SRV/metrics.txt"
    # every sample line is NAME{pool="ESCAPED"} VALUE: nothing breaks a line
    _bad=$(grep -c '^leadrouter_queue' "$SRV/metrics.txt" | tr -d ' ')
    [ "$_bad" = 12 ] || fail "$_bad queue sample lines, expected 12 (6 pools, 2 metrics)"
    grep -v '^#' "$SRV/metrics.txt" | grep -vE '^[a-z_]+(\{[a-z]+="([^"\\]|\\["\\n])*"(,[a-z]+="([^"\\]|\\["\\n])*")*\})? [-0-9.e+]+$' >"$SRV/badlines" \
        && { fail "lines that are not Prometheus samples"; show lines "$SRV/badlines"; }
    grep -qF 'leadrouter_queue_depth{pool="we\"st"} 4' "$SRV/metrics.txt" || fail 'we"st: depth 4 escaped'
    grep -qF 'leadrouter_queue_depth{pool="back\\slash"} 2' "$SRV/metrics.txt" || fail 'back\slash: depth 2 escaped'
    grep -qF 'leadrouter_queue_depth{pool="nl\\nx"} 4' "$SRV/metrics.txt" || fail 'nl\nx: depth 4 escaped'
    grep -qF 'leadrouter_queue_depth{pool="ünï€"} 1' "$SRV/metrics.txt" || fail 'ünï€: depth 1'
    grep -qF 'leadrouter_queue_depth{pool="x\"a"} 1' "$SRV/metrics.txt" || fail 'x"a: depth 1'
    grep -qF 'leadrouter_queue_depth{pool="a"} 2' "$SRV/metrics.txt" || fail 'a: depth 2, not x"a'"'"'s'
    # the same numbers as /v1/stats, pool by pool
    _want=$(jq -r '.queues | to_entries[] | "\(.value.waiting)"' "$SRV/mstats.json" | tr '\n' ' ')
    _got=$(sed -n 's/^leadrouter_queue_depth{.*} \([0-9]*\)$/\1/p' "$SRV/metrics.txt" | tr '\n' ' ')
    [ "$_got" = "$_want" ] || fail "queue depths '$_got', /v1/stats '$_want'"
    # the future lead waits in we"st: its age is 0, the pool's age the others'
    expect_ok=$(jq '[.queues[] | .oldest_ms // 0 | . >= 0] | all' "$SRV/mstats.json")
    [ "$expect_ok" = true ] || fail "a negative oldest_ms: $(jq -c .queues "$SRV/mstats.json")"
    grep -q '^leadrouter_queue_oldest_seconds{.*} -' "$SRV/metrics.txt" && fail "a negative queue age"
    [ "$(jq .time_to_assign_ms.median "$SRV/mstats.json")" -ge 0 ] || fail "a negative time to assignment"
    srv_term M
    KEY=$_admin_key
    srv_use S
}

# An id with a '/' (a lead "2026/11/0042") is named in a path with %2F;
# an unescaped '/' splits the path, as anywhere.
a_lead_id_with_a_slash_is_named_with_2F() {
    api POST /v1/leads '{"id":"2026/11/0042","source":"web/form"}'
    expect_code 201
    api GET /v1/leads/2026%2F11%2F0042
    expect_code 200
    expect_jq '{id, source}' '{"id":"2026/11/0042","source":"web/form"}'
    api GET '/v1/leads?source=web%2Fform'
    expect_jq '[.leads[].id]' '["2026/11/0042"]'
    api POST /v1/leads/2026%2f11%2f0042/progress '{"status":"won"}'
    expect_code 200
    expect_jq '[.decisions[] | {lead, action}]' '[{"lead":"2026/11/0042","action":"closed"}]'
    api GET /v1/leads/2026/11/0042
    expect_error 404 not_found
    expect_jq .error.message '"no route for /v1/leads/2026/11/0042"'
    api GET /v1/leads/2026%2F11/progress/x
    expect_error 404 not_found
    expect_jq .error.message '"no route for /v1/leads/2026%2F11/progress/x"'
    # the byte 0xFE (what the server turns %2F into), raw or escaped, is no
    # slash: it is not UTF-8
    api GET "/v1/leads/2026$(printf '\376')11"
    expect_error 400 invalid_request
    api GET /v1/leads/2026%FE11%fe0042
    expect_error 400 invalid_request
    api GET '/v1/leads?source=web%FEform'
    expect_error 400 invalid_request
}

# A source is any string a lead may carry (not a 256-byte name): a lead
# with a long one is found by it.
list_leads_by_a_long_source() {
    _src=$(printf 's%.0s' $(seq 300))
    api POST /v1/leads "{\"id\":\"LS1\",\"source\":\"$_src\"}"
    expect_code 201
    api GET "/v1/leads?source=$_src"
    expect_code 200
    expect_jq '[.leads[].id]' '["LS1"]'
    api GET '/v1/leads?status=bogus'
    expect_error 400 invalid_request
    expect_jq .error.message "\"'status' must be one of new, assigned, offered, waiting, held, unrouted, closed\""
}

sigterm_stops_the_server_with_exit_0() {
    srv_term S
    [ "$srv_rc" -eq 0 ] || { fail "exit status $srv_rc after SIGTERM"; show stderr "$SRV/S.err"; }
    grep -q '^leadrouter: stopped$' "$SRV/S.err" || { fail "no 'stopped' line"; show stderr "$SRV/S.err"; }
}

tcase server_starts_and_prints_its_port
if [ -z "$URL" ]; then finish; fi
tcase healthz_needs_no_key
tcase post_one_lead_is_201_with_the_lead_id_and_its_decision
tcase repeating_a_lead_is_200_with_the_original_reply
tcase same_id_with_another_body_is_409_and_keeps_the_first
tcase array_of_leads_is_processed_in_order_each_with_its_result
tcase form_maps_known_fields_and_keeps_the_rest_in_fields
tcase form_with_a_thank_you_page_is_303_to_it
tcase events_array_gives_each_event_its_result
tcase progress_won_closes_the_lead_and_frees_a_slot
tcase agent_status_endpoint_sets_the_status
tcase next_takes_the_oldest_lead_of_a_pull_queue
tcase claim_endpoint_takes_an_offer_and_the_loser_gets_409
tcase declined_by_everyone_an_offer_is_routed_again
tcase assign_and_release_by_an_admin
tcase get_lead_gives_the_lead_its_decisions_and_progress
tcase list_leads_in_order_of_arrival
tcase list_leads_filters_by_agent_status_source
tcase list_leads_since_a_time
tcase list_leads_pages_with_limit_and_cursor
tcase get_agents_lists_every_agent_in_config_order
tcase get_config_returns_the_text_and_its_version
tcase preview_shows_the_decision_and_changes_nothing
tcase put_config_swaps_it_and_routing_follows
tcase put_invalid_config_is_422_with_every_error_and_the_old_one_stays
tcase stats_count_leads_and_decisions_as_the_leads_show_them
tcase stats_over_a_window_count_what_happened_in_it
tcase reads_of_clients_gone_are_not_run
tcase an_unfinished_request_closed_at_once_frees_its_slot
tcase metrics_are_prometheus_text
tcase metrics_name_every_pool_as_stats_does
tcase metrics_time_each_request_by_route
tcase idempotency_key_replays_the_reply_and_refuses_another_body
tcase folded_headers_are_refused
tcase two_content_lengths_are_refused_and_close
tcase a_wrapped_lead_is_kept_as_the_lead
tcase a_lead_id_with_a_slash_is_named_with_2F
tcase list_leads_by_a_long_source
tcase sigterm_stops_the_server_with_exit_0
finish

#!/bin/sh
# server_errors.sh -- bad input to `leadrouter serve` end to end: each kind
# of bad request gets its status and {"error":{"code","message"}} (400 with
# the byte offset, invalid UTF-8, wrong types, unknown event types; 404;
# 405 with Allow; 409; 413; 415; 422), and after all of them the server is
# still up and its state is what it was (GET /v1/stats, /v1/agents,
# /v1/config and every lead before == after). Under the ASan build the
# SIGTERM at the end exits 0 only when nothing leaked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_server.sh"

DB="$SRV/err.db"
cat >"$SRV/err.yaml" <<'EOF'
agents:
  - {id: ann, capacity: 1}
  - {id: ben}
  - {id: hot1}
  - {id: hot2}
pools:
  team: [ann, ben]
  hot: [hot1, hot2]
rules:
  - {name: hot, when: 'score >= 90', pool: hot, strategy: broadcast}
  - {name: rr, pool: team, strategy: round_robin}
EOF
KEY=$(mkkey "$DB" admin)
J='Content-Type: application/json'

# post PATH BODY-FILE [CURL ARGS...]: the file as an application/json body.
post() {
    _p=$1; _f=$2; shift 2
    req POST "$_p" -H "Authorization: Bearer $KEY" -H "$J" --data-binary @"$_f" "$@"
}

# expect_message_starts TEXT
expect_message_starts() {
    _m=$(jq -r '.error.message' "$RB" 2>/dev/null)
    case $_m in
        "$1"*) ;;
        *) fail "message '$_m' does not start with '$1'" ;;
    esac
}

# snapshot NAME: what a client can see of the state, into $SRV/NAME.*
snapshot() {
    # the age of the oldest waiting lead moves with the clock: left out
    api GET /v1/stats;  jq -c 'del(.queues[].oldest_ms)' "$RB" >"$SRV/$1.stats"
    api GET /v1/agents; cp "$RB" "$SRV/$1.agents"
    api GET /v1/config; cp "$RB" "$SRV/$1.config"
    list_all "" "$SRV/$1.leads"
    jq -r '.[].id' "$SRV/$1.leads" >"$SRV/$1.ids"
    get_each "$SRV/$1.ids" "$SRV/$1.each"
}

server_starts_with_some_state() {
    # GET /v1/agents shows each agent's hour window: it must not turn
    # between the snapshots this file compares (~20 s apart)
    clear_of_boundary 1 1
    srv_start S "$DB" "$SRV/err.yaml" --rate-limit 0 || { fail "$srv_error"; show stderr "$SRV/S.err"; return; }
    api POST /v1/leads '[{"id":"L1","source":"web"},{"id":"L2"},{"id":"L3"},{"id":"H1","score":95}]'
    expect_code 201
    expect_jq '[.results[].decisions[0] | {action, agent}]' \
        '[{"action":"assigned","agent":"ann"},{"action":"assigned","agent":"ben"},{"action":"assigned","agent":"ben"},{"action":"offered","agent":null}]'
    api POST /v1/leads/L2/progress '{"status":"won"}'
    expect_code 200
    api POST /v1/leads/L3/progress '{"status":"contacted"}'
    expect_code 200
    # ann is full (capacity 1): the next lead would go to ben
    api POST /v1/route/preview '{"id":"N1"}'
    expect_jq '.decisions[0] | {action, agent}' '{"action":"assigned","agent":"ben"}'
    jq -c '[.decisions[] | del(.at, .why)]' "$RB" >"$SRV/preview.N1"
    snapshot before
}

invalid_json_is_400_with_the_byte_offset() {
    api POST /v1/leads '{"id": x}'
    expect_error 400 invalid_json
    expect_message_starts "invalid JSON at byte 7: "
    api POST /v1/leads '[{"id":"A"} {"id":"B"}]'
    expect_error 400 invalid_json
    expect_message_starts "invalid JSON at byte 12: "
    api POST /v1/leads "$(printf '{\n "id": "A",\n "x": @\n}')"
    expect_error 400 invalid_json
    expect_message_starts "invalid JSON at byte 20: "
    api POST /v1/leads '{"id":"E1"} x'
    expect_error 400 invalid_json
    expect_message_starts "invalid JSON at byte 12: "
    # a lone surrogate: at its escape, not at the end of its long string
    api POST /v1/leads '{"id":"E1","note":"\ud800'"$(printf '%0500d' 0)"'"}'
    expect_error 400 invalid_json
    expect_message_starts "invalid JSON at byte 19: invalid Unicode '\\uD800'"
    api POST /v1/leads '{"id":"E1",'
    expect_error 400 invalid_json
    expect_message_starts "invalid JSON at byte "
    api POST /v1/leads '{"id":"E1","id":"E2"}'
    expect_error 400 invalid_json
    expect_message_starts "duplicate key at byte "
    req POST /v1/leads -H "Authorization: Bearer $KEY" -H "$J"
    expect_error 400 invalid_json
    expect_jq .error.message '"the body is empty: a JSON value is required"'
    printf '\357\273\277{"id":"BOM1"}' >"$SRV/bom.json"
    post /v1/leads "$SRV/bom.json"
    expect_error 400 invalid_json
    expect_jq .error.message '"the body starts with a byte order mark (EF BB BF at byte 0): JSON is sent without one (RFC 8259, 8.1)"'
    # 33 levels of nesting: refused at the 33rd opening bracket
    _deep=$(printf '%33s' '' | tr ' ' '['; printf '%33s' '' | tr ' ' ']')
    api POST /v1/leads "$_deep"
    expect_error 400 invalid_json
    expect_jq .error.message '"JSON nested deeper than 32 levels at byte 32"'
    # the other JSON endpoints use the same decoder
    api POST /v1/events '{"type": x}'
    expect_error 400 invalid_json
    expect_message_starts "invalid JSON at byte 9: "
    api POST /v1/leads/L1/progress '{"status": x}'
    expect_error 400 invalid_json
    expect_message_starts "invalid JSON at byte 11: "
    api POST /v1/route/preview '{"id" 5}'
    expect_error 400 invalid_json
    expect_message_starts "invalid JSON at byte 6: "
    # a control byte or a line feed in a string: its own offset (jansson
    # stops before it, one byte short of where it stops otherwise)
    printf '{"id":"\001"}' >"$SRV/ctl.json"
    post /v1/leads "$SRV/ctl.json"
    expect_error 400 invalid_json
    expect_message_starts "invalid JSON at byte 7: control character 0x1"
    printf '{"id":"ab\ncd"}' >"$SRV/nl.json"
    post /v1/leads "$SRV/nl.json"
    expect_message_starts "invalid JSON at byte 9: unexpected newline"
    api POST /v1/leads '{"id":"\q"}'
    expect_message_starts "invalid JSON at byte 8: invalid escape"
    api POST /v1/leads '{"id":"\u0000"}'
    expect_error 400 invalid_json
    expect_jq .error.message '"invalid JSON at byte 13: a string may not hold \\u0000"'
}

# A compressed body is refused as a media type the server does not take,
# not read as garbage JSON (nor a plain body labelled gzip taken as if).
a_content_encoding_is_415() {
    printf '{"id":"GZ1"}' | gzip -c >"$SRV/gz.json.gz"
    post /v1/leads "$SRV/gz.json.gz" -H 'Content-Encoding: gzip'
    expect_error 415 unsupported_media_type
    expect_jq .error.message '"Content-Encoding '"'"'gzip'"'"' is not supported: send the body as it is (identity)"'
    api POST /v1/leads '{"id":"GZ2"}' -H 'Content-Encoding: br'
    expect_error 415 unsupported_media_type
    # every Content-Encoding header counts, not only the first
    post /v1/leads "$SRV/gz.json.gz" -H 'Content-Encoding: identity' -H 'Content-Encoding: gzip'
    expect_error 415 unsupported_media_type
    api GET /v1/leads/GZ2
    expect_error 404 not_found
    api POST /v1/route/preview '{"id":"GZ3"}' -H 'Content-Encoding: identity'
    expect_code 200
}

# Request headers past 15,000 bytes are refused with 431 before anything
# runs: with ~15.8 KB a lead was committed and its client got no answer
# (no room left for the reply's header). Under it, a request runs.
long_headers_are_431_before_anything_runs() {
    _pad=$(head -c 15200 /dev/zero | tr '\0' p)
    api POST /v1/leads '{"id":"HD1"}' -H "X-Pad: $_pad"
    expect_error 431 headers_too_large
    expect_message_starts "the request line and headers are about "
    api GET /v1/leads/HD1
    expect_error 404 not_found
    _pad=$(head -c 14000 /dev/zero | tr '\0' p)
    api POST /v1/route/preview '{"id":"HD2"}' -H "X-Pad: $_pad"
    expect_code 200
    # counted as the HTTP library holds them: 230 headers of a few bytes
    # (each a record of its own) fill its memory as much as 15 KB of one
    _i=0; set --
    while [ $_i -lt 230 ]; do set -- "$@" -H "X$_i: a"; _i=$((_i + 1)); done
    api POST /v1/leads '{"id":"HD3"}' "$@"
    expect_error 431 headers_too_large
    api GET /v1/leads/HD3
    expect_error 404 not_found
}

invalid_utf8_is_400() {
    printf '{"id":"E\377x"}' >"$SRV/bad8.json"
    post /v1/leads "$SRV/bad8.json"
    expect_error 400 invalid_json
    expect_jq .error.message '"invalid UTF-8 at byte 8"'
    printf '[{"type":"agent","agent":"ann\300\257","status":"away"}]' >"$SRV/bad8e.json"
    post /v1/events "$SRV/bad8e.json"
    expect_error 400 invalid_json
    expect_message_starts "invalid UTF-8 at byte "
    req POST /v1/forms/web -H "Authorization: Bearer $KEY" --data-binary 'name=%FF'
    expect_error 400 invalid_form
    printf 'name=a\377b' >"$SRV/bad8.form"
    req POST /v1/forms/web -H "Authorization: Bearer $KEY" --data-binary @"$SRV/bad8.form"
    expect_error 400 invalid_form
    api GET /v1/leads/%FF
    expect_error 400 invalid_request
    api GET '/v1/leads?source=%C0%AF'
    expect_error 400 invalid_request
}

# %00 in a path or an argument is refused, not read as the end of it.
a_nul_in_the_path_or_query_is_400() {
    api GET /v1/leads/L1%00x
    expect_error 400 invalid_request
    expect_jq .error.message '"the id in the path has a %00 or a byte that is never UTF-8"'
    api GET '/v1/leads?agent=%00'
    expect_error 400 invalid_request
    expect_jq .error.message "\"'agent' has a %00 or a byte that is never UTF-8\""
    api GET '/v1/leads?cursor='
    expect_error 400 invalid_request
    expect_jq .error.message "\"'cursor' is empty\""
    api POST /v1/leads/L1%00x/progress '{"status":"contacted"}'
    expect_error 400 invalid_request
    req POST /v1/forms/web%00evil -H "Authorization: Bearer $KEY" --data-binary 'name=z'
    expect_error 400 invalid_request
    expect_jq .error.message '"the source in the path has a %00 or a byte that is never UTF-8"'
    api GET '/v1/leads?source=web%00zzz'
    expect_error 400 invalid_request
    api GET '/v1/leads?since=2026-11-01T00:00:00Z%00garbage'
    expect_error 400 invalid_request
}

# An error the headers decide (401, 403, 404, 405) keeps the connection
# open for the client's next request, as any other answer.
errors_keep_the_connection_open() {
    curl -sv --max-time "$CURL_MAX" -o /dev/null -H "Authorization: Bearer $KEY" \
        "$URL/nope" "$URL/v1/leads/L1" "$URL/healthz" -X DELETE >"$SRV/ka.out" 2>&1
    curl -sv --max-time "$CURL_MAX" -o /dev/null "$URL/v1/leads" "$URL/v1/agents" \
        >>"$SRV/ka.out" 2>&1
    _n=$(grep -c '^\* Connected to' "$SRV/ka.out")
    _codes=$(sed -n 's/^< HTTP\/1.1 \([0-9]*\).*/\1/p' "$SRV/ka.out" | tr '\n' ' ')
    [ "$_n" = 2 ] || { fail "$_n connections for two curl runs of 3 and 2 requests (answers: $_codes)"; show curl "$SRV/ka.out"; }
    [ "$_codes" = "404 405 405 401 401 " ] || fail "answers: $_codes"
}

# A lead whose id has a control character could never be named in a path
# (GET /v1/leads/{id} refuses them): it is refused when it comes.
a_lead_id_with_a_control_character_is_400() {
    api POST /v1/leads '{"id":"\u0001ctl"}'
    expect_error 400 invalid_event
    expect_message_starts "'id' must not contain a control character"
    api POST /v1/events '{"type":"lead","lead":{"id":"a\u007fb"}}'
    expect_error 400 invalid_event
    expect_message_starts "'id' must not contain a control character"
    req POST /v1/forms/web -H "Authorization: Bearer $KEY" --data-binary 'id=%0Aabc&name=x'
    expect_error 400 invalid_form
}

wrong_types_are_400_invalid_event() {
    api POST /v1/leads '{"id":"E2","score":"high"}'
    expect_error 400 invalid_event
    expect_jq .error.message "\"'score' must be a number\""
    api POST /v1/leads '{"id":5}'
    expect_error 400 invalid_event
    expect_jq .error.message "\"'id' must be a string\""
    api POST /v1/leads '{"source":"web"}'
    expect_error 400 invalid_event
    expect_jq .error.message "\"'id' is required\""
    api POST /v1/leads '"L9"'
    expect_error 400 invalid_json
    api POST /v1/leads '[]'
    expect_error 400 invalid_json
    api POST /v1/events '{"type":"agent","agent":"ann","status":5}'
    expect_error 400 invalid_event
    api POST /v1/events '{"type":"progress","lead":"L1","status":"maybe"}'
    expect_error 400 invalid_event
    api POST /v1/leads '{"type":"agent","agent":"ann","status":"away"}'
    expect_error 400 invalid_event
    expect_jq .error.message "\"this endpoint takes leads; send 'agent' events to POST /v1/events\""
    api POST /v1/leads/L1/progress '{"lead":"L3","status":"won"}'
    expect_error 400 invalid_event
    expect_jq .error.message "\"'lead' comes from the path\""
    api POST /v1/agents/ann/status '{"type":"agent","status":"away"}'
    expect_error 400 invalid_event
    api POST /v1/agents/ann/status '[{"status":"away"}]'
    expect_error 400 invalid_event
    api POST /v1/agents/ann/next '{"lead":"L1"}'
    expect_error 400 invalid_event
    # a misspelt member is named, not dropped (the lead stays open: see
    # state_is_unchanged_after_all_bad_requests)
    api POST /v1/leads/L1/progress '{"status":"won","valeu":1200}'
    expect_error 400 invalid_event
    expect_jq .error.message "\"unknown member 'valeu' in a progress event (its members: lead, status, value, at)\""
    api POST /v1/agents/ann/status '{"status":"away","until":"2026-12-01T00:00:00Z"}'
    expect_error 400 invalid_event
    expect_jq .error.message "\"unknown member 'until' in an agent event (its members: agent, status, at)\""
    api POST /v1/route/preview '[{"id":"P1"}]'
    expect_error 400 invalid_json
    req POST /v1/forms/web -H "Authorization: Bearer $KEY" --data-binary 'id=F1&score=lots'
    expect_error 400 invalid_form
    req POST /v1/forms/web -H "Authorization: Bearer $KEY" --data-binary 'email=a%40b.c&email=d%40e.f'
    expect_error 400 invalid_form
}

unknown_event_type_is_400() {
    api POST /v1/events '{"type":"bogus","lead":"L1"}'
    expect_error 400 invalid_event
    expect_jq .error.message "\"unknown event type 'bogus'\""
    api POST /v1/events '{"lead":"L1","status":"won"}'
    expect_error 400 invalid_event
    api POST /v1/events '[{"type":"bogus"},{"type":"nope"}]'
    expect_code 200
    expect_jq '[.results[] | {status, code: .error.code}]' \
        '[{"status":400,"code":"invalid_event"},{"status":400,"code":"invalid_event"}]'
}

unknown_route_or_object_is_404() {
    for _p in /v1/nothing /v1 / /v1/leads/L1/nothing /v1/agents/ann/nothing /v1/leads//progress /healthz/x; do
        api GET "$_p"
        expect_error 404 not_found
    done
    api GET /v1/leads/NOPE
    expect_error 404 not_found
    api GET /v1/agents/nobody
    expect_error 404 not_found
}

wrong_method_is_405_with_allow() {
    req DELETE /v1/leads/L1 -H "Authorization: Bearer $KEY"
    expect_error 405 method_not_allowed
    expect_header '^allow: GET, HEAD$'
    req PUT /v1/leads -H "Authorization: Bearer $KEY"
    expect_error 405 method_not_allowed
    expect_header '^allow: GET, HEAD, POST$'
    req GET /v1/events -H "Authorization: Bearer $KEY"
    expect_error 405 method_not_allowed
    expect_header '^allow: POST$'
    req POST /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' --data-binary 'x: 1'
    expect_error 405 method_not_allowed
    expect_header '^allow: GET, HEAD, PUT$'
    req BREW /healthz
    expect_error 405 method_not_allowed
    expect_header '^allow: GET, HEAD$'
    # HEAD is answered as GET
    req HEAD /v1/leads/L1 -H "Authorization: Bearer $KEY" -I
    expect_code 200
    expect_header '^content-type: application/json'
}

conflicts_are_409() {
    api POST /v1/leads '{"id":"L1","source":"ads"}'
    expect_error 409 conflict
    api POST /v1/leads '{"type":"lead","lead":{"id":"L1"}}'
    expect_error 409 conflict
    api POST /v1/events '{"type":"lead","lead":{"id":"L1","source":"web"}}'
    expect_code 200
    expect_jq .lead '"L1"'
    api POST /v1/leads '{"id":"L1","source":"web"}' -H 'Idempotency-Key: same-key'
    expect_code 200
    api POST /v1/leads '{"id":"L2"}' -H 'Idempotency-Key: same-key'
    expect_error 409 idempotency_key_reused
}

body_over_1_mib_is_413() {
    # exactly 1 MiB is fine (a preview changes nothing)
    { printf '{"id":"P1"}'; head -c $((1048576 - 11)) /dev/zero | tr '\0' ' '; } >"$SRV/exact.json"
    post /v1/route/preview "$SRV/exact.json"
    expect_code 200 "a body of exactly 1 MiB"
    { cat "$SRV/exact.json"; printf ' '; } >"$SRV/over.json"
    post /v1/leads "$SRV/over.json"
    expect_error 413 payload_too_large
    expect_jq .error.message '"the body is 1048577 bytes; at most 1048576"'
    # without waiting for 100-continue: the body is read and dropped
    post /v1/leads "$SRV/over.json" -H 'Expect:'
    expect_error 413 payload_too_large
    # chunked: no length announced
    post /v1/leads "$SRV/over.json" -H 'Transfer-Encoding: chunked'
    expect_error 413 payload_too_large
    req POST /v1/forms/web -H "Authorization: Bearer $KEY" --data-binary @"$SRV/over.json"
    expect_error 413 payload_too_large
    # an array of 1,001 leads
    { printf '['; _i=0; while [ $_i -lt 1000 ]; do _i=$((_i + 1)); printf '{"id":"X%d"},' $_i; done
      printf '{"id":"X1001"}]'; } >"$SRV/many.json"
    post /v1/leads "$SRV/many.json"
    expect_error 413 payload_too_large
    expect_jq .error.message '"an array holds at most 1000 items (this one 1001)"'
    # past 8 MiB a chunked body has its connection closed, without an answer
    head -c $((9 * 1048576)) /dev/zero | tr '\0' ' ' >"$SRV/huge.json"
    curl -s --max-time "$CURL_MAX" -o /dev/null -H "Authorization: Bearer $KEY" -H "$J" \
        -H 'Transfer-Encoding: chunked' --data-binary @"$SRV/huge.json" "$URL/v1/leads"
    _rc=$?
    [ "$_rc" -ne 0 ] || fail "a 9 MiB chunked body got an answer"
    rm -f "$SRV/huge.json"
    req GET /healthz
    expect_code 200 "healthz after the 9 MiB body"
}

wrong_content_type_is_415() {
    # an optional body, when sent, must be JSON
    req POST /v1/agents/ann/next -H "Authorization: Bearer $KEY" -H 'Content-Type: text/plain' \
        --data-binary '{}'
    expect_error 415 unsupported_media_type
    req POST /v1/leads -H "Authorization: Bearer $KEY" -H 'Content-Type: text/plain' --data-binary '{"id":"C1"}'
    expect_error 415 unsupported_media_type
    expect_jq .error.message '"Content-Type must be application/json"'
    req POST /v1/leads -H "Authorization: Bearer $KEY" --data-binary '{"id":"C1"}'
    expect_error 415 unsupported_media_type
    req POST /v1/leads -H "Authorization: Bearer $KEY" -H 'Content-Type:' --data-binary '{"id":"C1"}'
    expect_error 415 unsupported_media_type
    req POST /v1/leads -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json; charset=latin1' \
        --data-binary '{"id":"C1"}'
    expect_error 415 unsupported_media_type
    expect_jq .error.message '"Content-Type must be application/json, with no charset but UTF-8"'
    req POST /v1/forms/web -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/x-www-form-urlencoded; charset=ISO-8859-1' --data-binary 'name=%E9'
    expect_error 415 unsupported_media_type
    expect_jq .error.message '"Content-Type must be application/x-www-form-urlencoded, with no charset but UTF-8"'
    req POST /v1/events -H "Authorization: Bearer $KEY" -H 'Content-Type: application/x-www-form-urlencoded' \
        --data-binary 'type=agent'
    expect_error 415 unsupported_media_type
    req POST /v1/forms/web -H "Authorization: Bearer $KEY" -H "$J" --data-binary '{"id":"C1"}'
    expect_error 415 unsupported_media_type
    expect_jq .error.message '"Content-Type must be application/x-www-form-urlencoded"'
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: text/plain' --data-binary @"$SRV/err.yaml"
    expect_error 415 unsupported_media_type
    # the right type with parameters is fine (a preview changes nothing)
    req POST /v1/route/preview -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: Application/JSON; charset="UTF-8"' --data-binary '{"id":"C1"}'
    expect_code 200
}

invalid_config_is_422_with_every_error() {
    printf 'agents:\n  - {id: ann, capacity: x}\npools:\n  team: [ann, zed]\nrules:\n  - {name: r, pool: nope, strategy: round_robin}\n' \
        >"$SRV/bad.yaml"
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' --data-binary @"$SRV/bad.yaml"
    expect_error 422 invalid_config
    expect_jq '.error.details | length' 3
    expect_jq '[.error.details[] | test("^config:[0-9]+:[0-9]+: ")] | all' true
    expect_jq '.error.details[1]' "\"config:4:15: pool 'team': unknown agent 'zed'\""
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H "$J" --data-binary '{"agents":[]}'
    expect_error 422 invalid_config
    expect_jq '.error.details' "[\"config:1:1: missing required key 'pools'\",\"config:1:1: missing required key 'rules'\",\"config:1:11: 'agents' must not be empty\"]"
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml'
    expect_error 422 invalid_config
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' --data-binary ': : :'
    expect_error 422 invalid_config
    api GET /v1/config
    same "$SRV/before.config" "$RB" "GET /v1/config after refused configs"
}

bad_query_arguments_are_400() {
    for _q in limit=0 limit=1001 limit=x limit= limit=%2B5 limit=%205 limit=5%20 status=bogus foo=1 since=yesterday agent= \
              'a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&m=13&n=14&o=15&p=16&q=17'; do
        api GET "/v1/leads?$_q"
        expect_error 400 invalid_request
    done
    for _c in abc 0 -1 01 1234567890123456789; do
        api GET "/v1/leads?cursor=$_c"
        expect_error 400 invalid_cursor
    done
    api POST /v1/leads '{"id":"I1"}' -H "Idempotency-Key: $(printf '%201s' '' | tr ' ' k)"
    expect_error 400 invalid_request
    api GET /v1/leads/I1
    expect_code 404
    # two keys: which one would a retry send? Nothing is made.
    api POST /v1/leads '{"id":"I2"}' -H 'Idempotency-Key: k-one' -H 'idempotency-key: k-two'
    expect_error 400 invalid_request
    expect_jq .error.message '"Idempotency-Key is given 2 times: send it once"'
    # a route that takes no Idempotency-Key ignores them, one or two
    req GET /v1/leads/I2 -H "Authorization: Bearer $KEY" -H 'Idempotency-Key: k-one' -H 'Idempotency-Key: k-two'
    expect_code 404
}

garbage_requests_do_not_stop_the_server() {
    req GET /healthz -H "X-Big: $(head -c 100000 /dev/zero | tr '\0' a)"
    case $code in 4??) ;; *) fail "a 100 KB header got $code" ;; esac
    # requests cut off halfway
    _i=0
    while [ $_i -lt 5 ]; do
        _i=$((_i + 1))
        curl -s --max-time 1 -o /dev/null -H "Authorization: Bearer $KEY" -H "$J" \
            -H 'Content-Length: 1000' --data-binary '{"id":"' "$URL/v1/leads" 2>/dev/null
    done
    req GET /healthz
    expect_code 200
}

state_is_unchanged_after_all_bad_requests() {
    req GET /healthz
    expect_code 200
    # byte for byte: even the age of the oldest waiting lead, which moves
    # with the engine's clock, that is with any event applied
    snapshot after
    same "$SRV/before.stats" "$SRV/after.stats" "GET /v1/stats"
    same "$SRV/before.agents" "$SRV/after.agents" "GET /v1/agents"
    same "$SRV/before.config" "$SRV/after.config" "GET /v1/config"
    same "$SRV/before.leads" "$SRV/after.leads" "GET /v1/leads"
    same "$SRV/before.each" "$SRV/after.each" "GET /v1/leads/{id} of every lead"
}

refused_events_record_only_their_refusal() {
    # docs/api.md: a 4xx changes nothing, except that an event the engine
    # refused is recorded as a decision
    api POST /v1/leads/NOPE/progress '{"status":"won"}'
    expect_error 404 unknown_lead
    expect_jq '[.decisions[] | {lead, action, reason: .why.reason}]' \
        '[{"lead":"NOPE","action":"rejected","reason":"unknown_lead"}]'
    api POST /v1/agents/nobody/status '{"status":"away"}'
    expect_error 404 unknown_agent
    api POST /v1/leads/L2/progress '{"status":"lost"}'
    expect_error 409 lead_closed
    api POST /v1/leads/H1/claim '{"agent":"ann"}'
    expect_error 409 not_offered
    api GET /v1/stats
    _want=$(jq -S -c '.decisions | .rejected += 3 | .claim_refused += 1' "$SRV/before.stats")
    expect_jq .decisions "$_want"
    api GET /v1/leads/NOPE
    expect_code 404
    snapshot refused
    # (the refusals are events: the clock moved, and the age of the oldest
    # waiting lead with it)
    _del='del(.decisions, .by_agent, .by_rule, .by_pool, .queues[].oldest_ms)'
    jq -c "$_del" "$SRV/before.stats" >"$SRV/b.s"
    jq -c "$_del" "$SRV/refused.stats" >"$SRV/a.s"
    same "$SRV/b.s" "$SRV/a.s" "GET /v1/stats (but the decision counts)"
    same "$SRV/before.agents" "$SRV/refused.agents" "GET /v1/agents"
    same "$SRV/before.leads" "$SRV/refused.leads" "GET /v1/leads"
    jq -c '[.[] | {id, state, agent, lead}]' "$SRV/before.each" >"$SRV/b.e"
    jq -c '[.[] | {id, state, agent, lead}]' "$SRV/refused.each" >"$SRV/a.e"
    same "$SRV/b.e" "$SRV/a.e" "the leads"
    # and it still routes as it would have before them
    api POST /v1/leads '{"id":"N1"}'
    expect_code 201
    expect_jq '[.decisions[] | del(.at, .why)]' "$(cat "$SRV/preview.N1")"
}

sigterm_exits_0_after_all_that() {
    srv_term S
    [ "$srv_rc" -eq 0 ] || { fail "exit status $srv_rc after SIGTERM"; show stderr "$SRV/S.err"; }
    if grep -q 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error:' "$SRV/S.err"; then
        fail "sanitizer report"
        show stderr "$SRV/S.err"
    fi
}

tcase server_starts_with_some_state
if [ -n "$URL" ]; then
    tcase invalid_json_is_400_with_the_byte_offset
    tcase a_content_encoding_is_415
    tcase long_headers_are_431_before_anything_runs
    tcase invalid_utf8_is_400
    tcase a_nul_in_the_path_or_query_is_400
tcase a_lead_id_with_a_control_character_is_400
tcase errors_keep_the_connection_open
tcase wrong_types_are_400_invalid_event
    tcase unknown_event_type_is_400
    tcase unknown_route_or_object_is_404
    tcase wrong_method_is_405_with_allow
    tcase conflicts_are_409
    tcase body_over_1_mib_is_413
    tcase wrong_content_type_is_415
    tcase invalid_config_is_422_with_every_error
    tcase bad_query_arguments_are_400
    tcase garbage_requests_do_not_stop_the_server
    tcase state_is_unchanged_after_all_bad_requests
    tcase refused_events_record_only_their_refusal
    tcase sigterm_exits_0_after_all_that
fi
finish

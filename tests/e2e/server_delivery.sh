#!/bin/sh
# server_delivery.sh -- decisions reach webhooks and email (issue 6), with
# a real receiver (tests/e2e/receiver.py, which checks signatures as the
# docs tell receivers to) and a real SMTP server (aiosmtpd, from Debian's
# python3-aiosmtpd) on loopback:
#
#   - every assigned lead is posted once, signed, with a delivery id and
#     the decision without its candidates (`why: full`: with them, also
#     when a replay reads it from the store; a delivery keeps the form it
#     was made with across a config change); the agent with an email gets
#     a readable message; the one without has a dead delivery that says why
#   - a receiver that is down, answers 500 or hangs is retried until it
#     takes everything; a 410 is dead at once with the answer kept, and a
#     replay (API and CLI) sends it again with the same id
#   - a private target not allowed is refused without connecting, also on
#     a connection another channel left open; an SMTP login needs TLS
#   - a notice delayed by `after` goes out only when its lead still waits
#   - SIGKILL with deliveries committed but not sent loses none and sends
#     none for a lead that was not committed; nor with some in flight
#     after the channel's mark was stored
#   - a channel with `batch` sends arrays of deliveries, each retried on
#     its own and taken once; its probe after failures carries one
#   - a restart without the webhook secret refuses to start, naming it
#   - channels that do not validate are config errors with file:line
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_server.sh"
. "$(dirname "$0")/lib_peers.sh"

export LR_TEST_HOOK_SECRET=whsec_e2e_0123456789

# mode NAME: switches the receiver's answer (ok, fail, gone, hang, ...).
mode() {
    curl -s --max-time 5 -X PUT -o /dev/null "http://127.0.0.1:$RECV_PORT/_mode/$1"
}

# release: the receiver answers every held request (hang: 503, hold_gone: 410).
release() {
    curl -s --max-time 5 -X PUT -o /dev/null "http://127.0.0.1:$RECV_PORT/_release"
}

# first_request WHAT: waits (20 s at most) for the receiver's first request.
first_request() {
    _i=0
    while [ $_i -lt 400 ] && [ ! -s "$T/hooks.jsonl" ]; do sleep 0.05; _i=$((_i + 1)); done
    [ -s "$T/hooks.jsonl" ] || { fail "$1 did not arrive"; return 1; }
}

# wait_for SECONDS JQ-FILTER: polls GET /v1/deliveries?limit=1000 until the
# filter (on the reply) prints true.
wait_for() {
    _i=0; _lim=$(($1 * 10))
    while [ $_i -lt $_lim ]; do
        api GET '/v1/deliveries?limit=1000'
        [ "$(jq -r "$2" "$RB" 2>/dev/null)" = true ] && return 0
        sleep 0.1; _i=$((_i + 1))
    done
    fail "waited ${1}s for: $2"
    show deliveries "$RB"
    return 1
}

# config FILE RECV_PORT SMTP_PORT [EXTRA CHANNEL OPTIONS]
config() {
    cat >"$1" <<EOF
agents:
  - {id: alice, name: Alice Ng, email: alice@example.com}
  - {id: bob}
pools:
  team: [alice, bob]
channels:
  crm: {webhook: "http://127.0.0.1:$2/hooks/leads", secret_env: LR_TEST_HOOK_SECRET,
        backoff: 1s, backoff_max: 2s, timeout: 2s $4}
  mail: {smtp: "smtp://127.0.0.1:$3", from: "leads@example.com", public_url: "https://leads.example.com"}
allow_private_targets: [crm, mail]
notify:
  - {on: [assigned], to: crm}
rules:
  - name: team
    pool: team
    strategy: round_robin
    notify: [{on: [assigned], to: mail, recipient: agent}]
EOF
}

# leads FROM TO: posts leads L<FROM>..L<TO>, each must get a 201.
leads() {
    _i=$1
    while [ "$_i" -le "$2" ]; do
        api POST /v1/leads "{\"id\":\"L$_i\",\"name\":\"Lead $_i\",\"email\":\"l$_i@buyer.test\"}"
        expect_code 201 "lead L$_i"
        _i=$((_i + 1))
    done
}

# put_config FILE: PUT /v1/config of FILE with the admin key $KEY.
put_config() {
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
        --data-binary @"$1"
}

# login_server SMTP_URL: server S on $T/c.yaml whose mail channel goes to
# SMTP_URL and logs in (LR_TEST_SMTP_USER, LR_TEST_SMTP_PASS); KEY an
# admin key.
login_server() {
    config "$T/c.yaml" 9 2525
    sed -i 's|"smtp://127.0.0.1:2525", from: "leads@example.com", public_url: "https://leads.example.com"}|"'"$1"'", from: "leads@example.com", public_url: "https://leads.example.com", username_env: LR_TEST_SMTP_USER, password_env: LR_TEST_SMTP_PASS}|' "$T/c.yaml"
    grep -F "$1" "$T/c.yaml" | grep -q LR_TEST_SMTP_PASS || { fail "the config has no login to $1"; return 1; }
    export LR_TEST_SMTP_USER=relayuser LR_TEST_SMTP_PASS=s3cretpass
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; return 1; }
    KEY=$(mkkey "$T/s.db" admin)
}

# ---- cases ------------------------------------------------------------------------

signed_once_and_emailed() {
    peer_start RECV "$HERE/receiver.py" --port 0 --log "$T/hooks.jsonl" \
        --secret "$LR_TEST_HOOK_SECRET" --control || return
    peer_start SMTP "$HERE/smtp_sink.py" --port 0 --dir "$T/mail" || return
    config "$T/c.yaml" "$RECV_PORT" "$SMTP_PORT"
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; show err "$SRV/S.err"; return; }
    KEY=$(mkkey "$T/s.db" admin)
    leads 1 6
    wait_for 20 '[.deliveries[] | select(.status == "pending" or .status == "retrying")] | length == 0' || return
    api GET '/v1/deliveries?channel=crm'
    expect_jq '[.deliveries[] | [.lead, .status, .attempts, .last_status]]' \
        '[["L1","delivered",1,200],["L2","delivered",1,200],["L3","delivered",1,200],["L4","delivered",1,200],["L5","delivered",1,200],["L6","delivered",1,200]]'
    _got=$(jq -s -c '[.[] | {d: .delivery, v: .valid, l: .body.lead.id, a: .body.decision.agent, t: .body.type, id: .body.id}] | sort_by(.l)' "$T/hooks.jsonl")
    _want=$(jq -c '[.deliveries[] | {d: .id, v: true, l: .lead, a: .agent, t: "decision.assigned", id: .id}] | sort_by(.l)' "$RB")
    [ "$_got" = "$_want" ] || fail "webhooks received: $_got, expected $_want"
    # the default `why: brief`: the decision as the API shows it, without
    # the candidates, the pool's size in their place
    api GET /v1/leads/L1
    _api=$(jq -c '.decisions[0] | .why = {pool_size: (.why.candidates | length)}' "$RB")
    _hook=$(jq -s -c 'map(select(.body.lead.id == "L1"))[0].body.decision' "$T/hooks.jsonl")
    [ "$_hook" = "$_api" ] || fail "L1's webhook decision: $_hook, expected $_api"
    jq -s -e 'all(.[]; .body.decision.why == {"pool_size":2})' "$T/hooks.jsonl" >/dev/null ||
        fail "a brief webhook carried more than the pool's size in why"
    # alice (email) got 3 messages; bob (no email) has 3 dead deliveries
    api GET '/v1/deliveries?channel=mail&status=dead'
    expect_jq '[.deliveries[] | [.lead, .agent, .last_error]]' \
        '[["L2","bob","agent '"'"'bob'"'"' has no email in the config"],["L4","bob","agent '"'"'bob'"'"' has no email in the config"],["L6","bob","agent '"'"'bob'"'"' has no email in the config"]]'
    _n=$(jq -s -c '[.[] | select(.rcpt_tos == ["alice@example.com"] and .mail_from == "leads@example.com") | .subject] | sort' "$T/mail/index.jsonl")
    [ "$_n" = '["New lead L1 for you (assigned)","New lead L3 for you (assigned)","New lead L5 for you (assigned)"]' ] ||
        fail "emails: $_n"
    _m=$(grep -l 'Lead L3 was assigned to you' "$T/mail/"*.eml | head -1)
    if [ -z "$_m" ]; then
        fail "no message says: Lead L3 was assigned to you"
    else
        grep -q 'POST https://leads.example.com/v1/leads/L3/progress' "$_m" ||
            { fail "the message does not say how to report progress"; show msg "$_m"; }
        grep -q 'Email: l3@buyer.test' "$_m" || { fail "the message does not name the lead"; show msg "$_m"; }
        grep -q 'Alice Ng' "$_m" || { fail "the message does not greet the agent by name"; show msg "$_m"; }
    fi
    req GET /metrics -H "Authorization: Bearer $KEY"
    expect_body_has 'leadrouter_deliveries{status="delivered"} 9'
    expect_body_has 'leadrouter_deliveries{status="dead"} 3'
    api GET /v1/stats
    expect_jq '.deliveries.by_channel' '{"crm":{"delivered":6},"mail":{"dead":3,"delivered":3}}'
    expect_jq '.deliveries.latency_ms.count' '9'
    srv_term S
    [ "$srv_rc" = 0 ] || fail "serve exited $srv_rc after SIGTERM"
    peer_stop RECV; peer_stop SMTP
}

down_then_back() {
    # the receiver's port is taken, then freed: nothing listens for a while
    peer_start RECV "$HERE/receiver.py" --port 0 --log "$T/hooks.jsonl" \
        --secret "$LR_TEST_HOOK_SECRET" --control || return
    _port=$RECV_PORT
    peer_stop RECV
    config "$T/c.yaml" "$_port" 9
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; return; }
    KEY=$(mkkey "$T/s.db" admin)
    leads 1 5
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .status == "retrying" and .attempts >= 2)] | length == 5' || return
    jq -e '[.deliveries[] | select(.channel == "crm") | .last_error | test("onnect")] | all' "$RB" >/dev/null ||
        { fail "retrying deliveries do not say the connection failed"; show deliveries "$RB"; }
    # listed by status (from the channel's mark and the due index): the
    # same five, two a page, and none of them pending
    _want=$(jq -c '[.deliveries[] | select(.channel == "crm") | .id]' "$RB")
    api GET '/v1/deliveries?status=retrying&channel=crm&limit=2'
    _got=$(jq -c '[.deliveries[].id]' "$RB")
    _cur=$(jq -r '.next_cursor' "$RB")
    while [ "$_cur" != null ] && [ -n "$_cur" ]; do
        api GET "/v1/deliveries?status=retrying&channel=crm&limit=2&cursor=$_cur"
        _got=$(jq -c --argjson a "$_got" '$a + [.deliveries[].id]' "$RB")
        _cur=$(jq -r '.next_cursor' "$RB")
    done
    [ "$_got" = "$_want" ] || fail "retrying, by pages: got $_got, expected $_want"
    api GET '/v1/deliveries?status=pending&channel=crm'
    [ "$(jq -c '.deliveries' "$RB")" = "[]" ] || fail "pending while all are retrying: $(cat "$RB")"
    # back, answering 500, then resetting the connection, then 429, then
    # hanging (timeout), then fine
    peer_start RECV "$HERE/receiver.py" --port "$_port" --log "$T/hooks.jsonl" \
        --secret "$LR_TEST_HOOK_SECRET" --control --mode fail || return
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .last_status == 500)] | length == 5' || return
    mode reset
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .status == "retrying" and (.last_error // "" | test("eset|Recv failure|Empty reply")))] | length >= 1' || return
    mode throttle
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .status == "retrying" and .last_status == 429)] | length >= 1' || return
    mode hang
    wait_for 30 '[.deliveries[] | select(.channel == "crm" and (.last_error // "" | test("imeout|timed out")))] | length >= 1' || return
    mode ok
    wait_for 30 '[.deliveries[] | select(.channel == "crm" and .status == "delivered")] | length == 5' || return
    _ids=$(jq -s -c '[.[] | select(.mode == "ok") | .delivery] | sort' "$T/hooks.jsonl")
    _want=$(jq -c '[.deliveries[] | select(.channel == "crm") | .id] | sort' "$RB")
    [ "$_ids" = "$_want" ] || fail "delivered once each: got $_ids, expected $_want"
    jq -s -e 'all(.[]; .valid == true)' "$T/hooks.jsonl" >/dev/null || fail "an attempt was not validly signed"
    # every attempt of one delivery carried the same id and body
    jq -s -e 'group_by(.delivery) | all(.[]; (map(.body) | unique | length) == 1)' "$T/hooks.jsonl" >/dev/null ||
        fail "retries of one delivery differ in body"
    srv_term S
    peer_stop RECV
}

gone_is_dead_then_replayed() {
    peer_start RECV "$HERE/receiver.py" --port 0 --log "$T/hooks.jsonl" \
        --secret "$LR_TEST_HOOK_SECRET" --control --mode gone || return
    config "$T/c.yaml" "$RECV_PORT" 9
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; return; }
    KEY=$(mkkey "$T/s.db" admin)
    leads 1 2
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .status == "dead")] | length == 2' || return
    expect_jq '[.deliveries[] | select(.channel == "crm") | [.attempts, .last_status, .last_error]]' \
        '[[1,410,"answered 410: {\"ok\":false}"],[1,410,"answered 410: {\"ok\":false}"]]'
    _id=$(jq -r '[.deliveries[] | select(.channel == "crm")][0].id' "$RB")
    _id2=$(jq -r '[.deliveries[] | select(.channel == "crm")][1].id' "$RB")
    mode ok
    api POST "/v1/deliveries/$_id/retry"
    expect_code 200 "retry $_id"
    expect_jq '[.id, .status]' "[\"$_id\",\"pending\"]"
    wait_for 20 "[.deliveries[] | select(.id == \"$_id\" and .status == \"delivered\" and .attempts == 2)] | length == 1" || return
    # the CLI replays into the store of a running server
    lr deliveries retry --db "$T/s.db" "$_id2"
    expect_status 0
    wait_for 20 "[.deliveries[] | select(.id == \"$_id2\" and .status == \"delivered\")] | length == 1" || return
    # the gauges see the CLI's replay (another process's commit): none below
    # zero, dead as many as the store has
    api GET /metrics
    grep -q '^leadrouter_deliveries{status="[a-z]*"} -' "$RB" && { fail "a delivery gauge below zero"; show metrics "$RB"; }
    _dead=$(sed -n 's/^leadrouter_deliveries{status="dead"} \([0-9]*\)$/\1/p' "$RB")
    api GET '/v1/deliveries?status=dead&limit=1000'
    [ "$_dead" = "$(jq '.deliveries | length' "$RB")" ] || fail "dead gauge '$_dead', the store $(jq '.deliveries | length' "$RB")"
    api GET '/v1/deliveries?limit=1000'
    _got=$(jq -s -c '[.[] | select(.mode == "ok") | .delivery] | sort' "$T/hooks.jsonl")
    [ "$_got" = "$(printf '["%s","%s"]' "$_id" "$_id2" | jq -c sort)" ] || fail "replayed: $_got"
    lr deliveries list --db "$T/s.db" --status delivered
    expect_status 0
    grep -q "$_id2" "$T/out" || { fail "deliveries list lacks $_id2"; show out "$T/out"; }
    api POST /v1/deliveries/dlv_999999/retry
    expect_error 404 not_found
    api GET /v1/deliveries?status=lost
    expect_error 400 invalid_request
    api GET '/v1/deliveries?cursor=x'
    expect_error 400 invalid_cursor
    _ak=$(mkkey "$T/s.db" agent alice)
    as "$_ak" GET /v1/deliveries
    expect_error 403 forbidden
    as "$_ak" POST "/v1/deliveries/$_id/retry"
    expect_error 403 forbidden
    api POST "/v1/deliveries/$_id/retry" '{bad'
    expect_error 400 invalid_json
    api POST "/v1/deliveries/$_id/retry" '{}'
    expect_code 200 "retry with an empty object"
    # a status past 599 is no HTTP status: dead at once, as any answer
    # that is not 408, 429 or 5xx (it was once retried as a 5xx)
    mode past599
    leads 3 3
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .lead == "L3" and .status == "dead")] | length == 1' || return
    expect_jq '[.deliveries[] | select(.channel == "crm" and .lead == "L3") | [.attempts, .last_status, .last_error]]' \
        '[[1,600,"answered 600: {\"ok\":false}"]]'
    srv_term S
    peer_stop RECV
}

private_target_refused() {
    peer_start RECV "$HERE/receiver.py" --port 0 --log "$T/hooks.jsonl" --control || return
    config "$T/c.yaml" "$RECV_PORT" 9
    sed -i 's/^allow_private_targets: \[crm, mail\]/allow_private_targets: [mail]/' "$T/c.yaml"
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; return; }
    KEY=$(mkkey "$T/s.db" admin)
    leads 1 1
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .status == "dead")] | length == 1' || return
    expect_jq '[.deliveries[] | select(.channel == "crm") | .last_error]' \
        "[\"refused: 127.0.0.1 is a private or loopback address (list channel 'crm' in allow_private_targets to allow it)\"]"
    [ -s "$T/hooks.jsonl" ] && fail "the receiver was reached"
    srv_term S
    peer_stop RECV
}

# A channel not allowed private targets is refused on a connection that
# another channel (allowed) left open to the same receiver, and on one
# opened before a config change took its allowance away.
private_target_refused_on_a_reused_connection() {
    peer_start RECV "$HERE/receiver.py" --port 0 --log "$T/hooks.jsonl" --control || return
    cat >"$T/c.yaml" <<EOF
agents:
  - {id: alice}
pools:
  team: [alice]
channels:
  crm: {webhook: "http://127.0.0.1:$RECV_PORT/crm", backoff: 1s, backoff_max: 2s}
  pub: {webhook: "http://127.0.0.1:$RECV_PORT/pub", backoff: 1s, backoff_max: 2s}
allow_private_targets: [crm]
notify:
  - {on: [assigned], to: crm}
  - {on: [closed], to: pub}
rules:
  - {name: team, pool: team, strategy: round_robin}
EOF
    sed 's/^allow_private_targets: \[crm\]/allow_private_targets: []/' "$T/c.yaml" >"$T/none.yaml"
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; return; }
    KEY=$(mkkey "$T/s.db" admin)
    leads 1 1
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .status == "delivered")] | length == 1' || return
    api POST /v1/leads/L1/progress '{"status":"won"}'
    expect_code 200 "L1 won"
    wait_for 20 '[.deliveries[] | select(.channel == "pub" and .status == "dead")] | length == 1' || return
    expect_jq '[.deliveries[] | select(.channel == "pub") | .last_error]' \
        "[\"refused: 127.0.0.1 is a private or loopback address (list channel 'pub' in allow_private_targets to allow it)\"]"
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
        --data-binary @"$T/none.yaml"
    expect_code 200 "taking crm's allowance away"
    leads 2 2
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .status == "dead")] | length == 1' || return
    _got=$(jq -s -c '[.[] | .delivery]' "$T/hooks.jsonl")
    [ "$_got" = '["dlv_1"]' ] || fail "the receiver got $_got (only dlv_1, crm's first, expected)"
    srv_term S
    peer_stop RECV
}

# An SMTP server's refusal is kept in last_error, its reply text included:
# a 5xx (dead), and a 4xx (retried).
smtp_refusal_keeps_the_reply() {
    peer_start SMTP "$HERE/smtp_sink.py" --port 0 --dir "$T/mail" --refuse alice@example.com || return
    config "$T/c.yaml" 9 "$SMTP_PORT"
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; return; }
    KEY=$(mkkey "$T/s.db" admin)
    leads 1 1
    wait_for 20 '[.deliveries[] | select(.channel == "mail" and .status == "dead")] | length == 1' || return
    expect_jq '[.deliveries[] | select(.channel == "mail") | [.last_status, (.last_error | test("^SMTP 550 .*: 550 5.1.1 no such user here$"))]]' \
        '[[550,true]]'
    srv_term S
    peer_stop SMTP
    peer_start SMTP "$HERE/smtp_sink.py" --port 0 --dir "$T/mail2" --busy alice@example.com || return
    config "$T/c2.yaml" 9 "$SMTP_PORT"
    srv_start S "$T/s2.db" "$T/c2.yaml" || { fail "$srv_error"; return; }
    KEY=$(mkkey "$T/s2.db" admin)
    leads 1 1
    wait_for 20 '[.deliveries[] | select(.channel == "mail" and .attempts >= 1)] | length == 1' || return
    expect_jq '[.deliveries[] | select(.channel == "mail") | [.status, .last_status, (.last_error | test("^SMTP 450 .*: 450 4.2.1 mailbox busy, try later$"))]]' \
        '[["retrying",450,true]]'
    srv_term S
    peer_stop SMTP
}

# A channel that logs in never sends its password without TLS: a relay
# that offers AUTH but not STARTTLS gets no login and no message.
smtp_login_needs_tls() {
    peer_start SMTP "$HERE/smtp_sink.py" --port 0 --dir "$T/mail" --auth-in-clear || return
    config "$T/c.yaml" 9 "$SMTP_PORT"
    sed -i 's|public_url: "https://leads.example.com"}|public_url: "https://leads.example.com", username_env: LR_TEST_SMTP_USER, password_env: LR_TEST_SMTP_PASS}|' "$T/c.yaml"
    grep -q LR_TEST_SMTP_PASS "$T/c.yaml" || { fail "the config has no login"; return; }
    export LR_TEST_SMTP_USER=relayuser LR_TEST_SMTP_PASS=s3cretpass
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; return; }
    KEY=$(mkkey "$T/s.db" admin)
    leads 1 1
    wait_for 20 '[.deliveries[] | select(.channel == "mail" and .attempts >= 1)] | length == 1' || return
    # no reply to the message came (250 was EHLO's): no last_status
    expect_jq '[.deliveries[] | select(.channel == "mail") | [.status, (.last_error | test("TLS|SSL")), .last_status]]' \
        '[["retrying",true,null]]'
    [ -e "$T/mail/logins.jsonl" ] && { fail "the relay saw a login in clear"; show logins "$T/mail/logins.jsonl"; }
    [ -s "$T/mail/index.jsonl" ] && fail "a message went out"
    srv_term S
    peer_stop SMTP
}

# Over the API an admin key cannot point a channel that logs in at another
# mail server: the login's variables go with the server the operator's
# config sent them to (another host, another port); another setting of
# the channel changes as any, and a channel without a login goes anywhere.
a_login_goes_only_to_its_mail_server() {
    login_server smtp://127.0.0.1:2525 || return
    sed 's|smtp://127.0.0.1:2525|smtp://127.0.0.2:2525|' "$T/c.yaml" >"$T/elsewhere.yaml"
    put_config "$T/elsewhere.yaml"
    expect_error 422 invalid_config
    expect_jq '.error.message | startswith("channel '"'mail'"': username_env=LR_TEST_SMTP_USER for smtp://127.0.0.2:2525: a config sent over the API may name only")' true
    sed 's|smtp://127.0.0.1:2525|smtp://127.0.0.1:2526|' "$T/c.yaml" >"$T/port.yaml"
    put_config "$T/port.yaml"
    expect_error 422 invalid_config
    # the config in use is untouched
    req GET /v1/config -H "Authorization: Bearer $KEY"
    grep -q 'smtp://127.0.0.1:2525' "$RB" || fail "the config in use changed"
    sed 's|backoff: 1s,|backoff: 3s,|' "$T/c.yaml" >"$T/same.yaml"
    put_config "$T/same.yaml"
    expect_code 200 "another setting, the same mail server"
    # a channel without a login may go anywhere
    sed 's|, username_env: LR_TEST_SMTP_USER, password_env: LR_TEST_SMTP_PASS||; s|smtp://127.0.0.1:2525|smtp://127.0.0.2:2525|' \
        "$T/c.yaml" >"$T/nologin.yaml"
    put_config "$T/nologin.yaml"
    expect_code 200 "no login, another server"
    srv_term S
}

# An IPv6 link-local relay's zone id is part of the server a login goes
# to: fe80::1 on another interface is another host.
a_login_keeps_its_zone() {
    login_server 'smtp://[fe80::1%25eth0]:2525' || return
    sed 's|%25eth0|%25eth1|' "$T/c.yaml" >"$T/zone.yaml"
    put_config "$T/zone.yaml"
    expect_error 422 invalid_config
    expect_jq '.error.message | startswith("channel '"'mail'"': username_env=LR_TEST_SMTP_USER for smtp://[fe80::1%25eth1]:2525: ")' true
    sed 's|https://leads.example.com|https://leads2.example.com|' "$T/c.yaml" >"$T/same.yaml"
    put_config "$T/same.yaml"
    expect_code 200 "another setting, the same mail server and zone"
    srv_term S
}

# A channel whose receiver keeps failing stays paused when a delivery runs
# out of retries: that is no answer, and the deliveries still due go out
# one probe at a time, not all at once.
gave_up_keeps_the_channel_paused() {
    peer_start RECV "$HERE/receiver.py" --port 0 --log "$T/hooks.jsonl" --control --mode fail || return
    cat >"$T/c.yaml" <<EOF
agents:
  - {id: alice}
pools:
  team: [alice]
channels:
  crm: {webhook: "http://127.0.0.1:$RECV_PORT/crm", backoff: 3s, backoff_max: 3s, retry_for: 4s, concurrency: 4}
allow_private_targets: [crm]
notify:
  - {on: [assigned], to: crm}
rules:
  - {name: team, pool: team, strategy: round_robin}
EOF
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; return; }
    KEY=$(mkkey "$T/s.db" admin)
    leads 1 12
    # 5 failures pause the channel for 3 s; its first probe gives up (the
    # delivery was made before the pause and its next try would be past
    # retry_for): the channel stays paused 3 s more, no flood of the others
    wait_for 30 '[.deliveries[] | select(.status == "dead")] | length >= 1' || return
    _dead=$(jq -r '[.deliveries[] | select(.status == "dead") | .id] | first' "$RB")
    _tg=$(jq -s --arg d "$_dead" '[.[] | select(.delivery == $d) | .at] | max' "$T/hooks.jsonl")
    _left=$(python3 -c 'import sys, time; print(max(0.0, float(sys.argv[1]) + 2.5 - time.time()))' "$_tg")
    sleep "$_left"
    _burst=$(jq -s --argjson g "$_tg" '[.[] | select(.at < $g)] | length' "$T/hooks.jsonl")
    _after=$(jq -s --argjson g "$_tg" '[.[] | select(.at > $g and .at < $g + 2.5)] | length' "$T/hooks.jsonl")
    # before it: 5 failures that tripped the breaker, up to 3 more that were
    # in flight by then (concurrency 4), no probe (the first one gave up)
    [ "$_burst" -le 8 ] || fail "$_burst requests before the give-up (at most 5 + 3 in flight expected)"
    [ "$_after" = 0 ] || fail "$_after requests within 2.5 s after the give-up (the channel should stay paused 3 s)"
    srv_term S
    peer_stop RECV
}

# hooks_only MODE TIMEOUT: a receiver in MODE (controlled by the test) and
# server S with the webhook channel alone, its timeout TIMEOUT; KEY is an
# admin key.
hooks_only() {
    peer_start RECV "$HERE/receiver.py" --port 0 --log "$T/hooks.jsonl" --control --mode "$1" || return 1
    config "$T/c.yaml" "$RECV_PORT" 9
    sed -i -e '/to: mail/d' -e "s/timeout: 2s/timeout: $2/" "$T/c.yaml"
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; return 1; }
    KEY=$(mkkey "$T/s.db" admin)
}

# A replay asked for while an attempt is in flight is sent once that
# attempt ends, whatever it ended with (here a 410 that would make it dead).
replayed_while_in_flight() {
    hooks_only hold_gone 60s || return
    leads 1 1
    first_request "the first attempt" || return
    mode ok                 # the attempt in flight keeps the mode it came in
    api POST /v1/deliveries/dlv_1/retry
    expect_code 200 "replaying dlv_1 during its first attempt"
    # the held attempt now answers 410: its outcome is not recorded
    release
    wait_for 20 '[.deliveries[] | select(.id == "dlv_1" and .status == "delivered")] | length == 1' || return
    expect_jq '.deliveries[] | select(.id == "dlv_1") | .attempts' 1
    _got=$(jq -s -c '[.[] | [.delivery, .mode]]' "$T/hooks.jsonl")
    [ "$_got" = '[["dlv_1","hold_gone"],["dlv_1","ok"]]' ] || fail "the receiver got $_got"
    srv_term S
    peer_stop RECV
}

# An answer is judged by its status line: a 2xx whose body is cut short or
# never ends is delivered, a 410 cut short is dead at once with what came
# of it; a Retry-After too large for any clock (or for libcurl to read)
# waits backoff_max; a redirect, not followed, says where it points.
an_answer_is_judged_by_its_status() {
    hooks_only short_ok 20s || return
    _n=0
    for _md in short_ok short_gone endless moved throttle_huge throttle_overflow; do
        _n=$((_n + 1))
        mode $_md
        _t0=$(date +%s)
        leads $_n $_n
        wait_for 15 "[.deliveries[] | select(.lead == \"L$_n\" and .attempts >= 1)] | length == 1" || return
        _s=$(( $(date +%s) - _t0 ))
        [ $_s -le 10 ] || fail "$_md: the first attempt took ${_s} s (the timeout is 20 s)"
        jq -c --arg l "L$_n" '.deliveries[] | select(.lead == $l) | {status, attempts, last_status}
                              + {error: (.last_error // "" | .[0:12])}' "$RB" >"$T/got.$_md"
        [ $_md = moved ] && jq -r '.deliveries[] | select(.lead == "L4") | .last_error' "$RB" >"$T/moved.err"
    done
    mode ok
    _got=$(cat "$T/got.short_ok" "$T/got.short_gone" "$T/got.endless" | jq -s -c .)
    [ "$_got" = '[{"status":"delivered","attempts":1,"last_status":200,"error":""},{"status":"dead","attempts":1,"last_status":410,"error":"answered 410"},{"status":"delivered","attempts":1,"last_status":200,"error":""}]' ] ||
        fail "outcomes: $_got"
    # the huge Retry-After waits backoff_max (2 s), not forever, and the
    # server lives on
    jq -e '.status == "retrying" and .last_status == 503' "$T/got.throttle_huge" >/dev/null ||
        fail "after a huge Retry-After: $(cat "$T/got.throttle_huge")"
    jq -e '.status == "retrying" and .last_status == 503' "$T/got.throttle_overflow" >/dev/null ||
        fail "after Retry-After 99999999999999999999: $(cat "$T/got.throttle_overflow")"
    wait_for 15 '[.deliveries[] | select(.lead == "L5" and .status == "delivered")] | length == 1' || return
    # 99999999999999999999 s, which libcurl does not read: backoff_max too
    # (2 s), where the backoff alone waits 0.5-1 s
    wait_for 15 '[.deliveries[] | select(.lead == "L6" and .status == "delivered")] | length == 1' || return
    _gap=$(jq -s '[.[] | select(.body.lead.id == "L6") | .at] | .[1] - .[0]' "$T/hooks.jsonl")
    jq -en "$_gap >= 1.9" >/dev/null || fail "after Retry-After 99999999999999999999 the retry came ${_gap} s later"
    [ "$(cat "$T/got.moved")" = '{"status":"dead","attempts":1,"last_status":301,"error":"answered 301"}' ] ||
        fail "a 301: $(cat "$T/got.moved")"
    [ "$(cat "$T/moved.err")" = "answered 301, redirecting to https://crm.example.com/new-hook (redirects are not followed: give the channel its new URL)" ] ||
        fail "a 301's error: $(cat "$T/moved.err")"
    srv_term S
    [ "$srv_rc" = 0 ] || fail "serve exited $srv_rc"
    peer_stop RECV
}

# A redirect's target, relative to a channel URL with a password: named
# without the password; a long one cut, the hint kept.
a_redirect_names_its_target_without_the_password() {
    peer_start RECV "$HERE/receiver.py" --port 0 --log "$T/hooks.jsonl" --control --mode moved_here || return
    config "$T/c.yaml" "$RECV_PORT" 9
    sed -i -e '/to: mail/d' -e 's|webhook: "http://127.0.0.1|webhook: "http://u:s3cret@127.0.0.1|' "$T/c.yaml"
    grep -q 'u:s3cret@' "$T/c.yaml" || { fail "no password in the channel's URL"; return; }
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; return; }
    KEY=$(mkkey "$T/s.db" admin)
    leads 1 1
    wait_for 15 '[.deliveries[] | select(.lead == "L1" and .status == "dead")] | length == 1' || return
    expect_jq '.deliveries[] | select(.lead == "L1") | .last_error' \
        '"answered 302, redirecting to http://127.0.0.1:'"$RECV_PORT"'/moved?tok=abc (redirects are not followed: give the channel its new URL)"'
    mode moved_far
    leads 2 2
    wait_for 15 '[.deliveries[] | select(.lead == "L2" and .status == "dead")] | length == 1' || return
    expect_jq '.deliveries[] | select(.lead == "L2") | .last_error' \
        '"answered 301, redirecting to https://crm.example.com/'"$(printf '%136s' '' | tr ' ' x)"'... (redirects are not followed: give the channel its new URL)"'
    srv_term S
    peer_stop RECV
}

kill_between_commit_and_send() {
    peer_start RECV "$HERE/receiver.py" --port 0 --log "$T/hooks.jsonl" \
        --secret "$LR_TEST_HOOK_SECRET" --control --mode hang || return
    config "$T/c.yaml" "$RECV_PORT" 9
    sed -i 's/timeout: 2s/timeout: 60s, concurrency: 2/' "$T/c.yaml"
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; return; }
    KEY=$(mkkey "$T/s.db" admin)
    # 40 leads at 8 at a time; SIGKILL while they are being answered
    _i=1; : >"$T/urls"
    while [ $_i -le 40 ]; do
        printf 'url = "%s/v1/leads"\ndata = "{\\"id\\":\\"K%d\\"}"\noutput = "%s/r%d"\n' \
            "$URL" $_i "$T" $_i >>"$T/urls"
        _i=$((_i + 1))
    done
    curl -s --parallel --parallel-max 8 --max-time 20 -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' -K "$T/urls" >/dev/null 2>&1 &
    _c=$!
    sleep 0.4
    srv_kill S
    wait $_c 2>/dev/null
    mode ok
    srv_start S "$T/s.db" "" || { fail "$srv_error after the kill"; return; }
    wait_for 40 '[.deliveries[] | select(.channel == "crm" and .status != "delivered")] | length == 0' || return
    # the leads the store has (committed) are exactly those with a webhook
    list_all 'limit=1000' "$T/stored"
    _stored=$(jq -c '[.[] | .id] | sort' "$T/stored")
    _sent=$(jq -s -c '[.[] | select(.mode == "ok") | .body.lead.id] | unique' "$T/hooks.jsonl")
    [ "$_stored" = "$_sent" ] || fail "committed leads $_stored, delivered $_sent"
    # every acknowledged lead is among them
    for _f in "$T"/r*; do
        _id=$(jq -r '.lead // empty' "$_f" 2>/dev/null)
        [ -n "$_id" ] && ! echo "$_stored" | grep -q "\"$_id\"" && fail "acknowledged $_id is lost"
    done
    # duplicates (a hung attempt before the kill, then the real one) share the id
    jq -s -e 'group_by(.body.lead.id) | all(.[]; (map(.delivery) | unique | length) == 1)' "$T/hooks.jsonl" >/dev/null ||
        fail "one lead's webhook came with two delivery ids"
    srv_term S
    peer_stop RECV
}

# store_int SQL: one number from the store (read with Python's sqlite3
# while the server runs: a WAL reader).
store_int() {
    $PY -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' \
        "$T/s.db" "$1"
}

# A fresh delivery is found after a restart from its channel's stored
# mark, which never passes one that is in flight: some delivered (the
# mark moves up), two hung in flight while other outcomes store the mark
# again, four not started; SIGKILL; all of them arrive after the restart.
kill_with_marks_stored() {
    peer_start RECV "$HERE/receiver.py" --port 0 --log "$T/hooks.jsonl" \
        --secret "$LR_TEST_HOOK_SECRET" --control || return
    peer_start SMTP "$HERE/smtp_sink.py" --port 0 --dir "$T/mail" || return
    config "$T/c.yaml" "$RECV_PORT" "$SMTP_PORT"
    sed -i 's/timeout: 2s/timeout: 60s, concurrency: 2/' "$T/c.yaml"
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; return; }
    KEY=$(mkkey "$T/s.db" admin)
    leads 1 10
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .status != "delivered")] | length == 0' || return
    _m=$(store_int "SELECT coalesce(max(fresh_from), 0) FROM outbox_marks WHERE channel = 'crm'")
    [ "$_m" -gt 1 ] || fail "the crm mark did not move up after ten deliveries: $_m"
    mode hang
    leads 11 16
    # alice's emails are delivered: their outcomes store the marks meanwhile
    wait_for 20 '[.deliveries[] | select(.channel == "mail" and .lead == "L15" and .status == "delivered")] | length > 0' || return
    _m=$(store_int "SELECT fresh_from FROM outbox_marks WHERE channel = 'crm'")
    _low=$(store_int "SELECT min(id) FROM deliveries WHERE channel = 'crm' AND status = 'pending'")
    # the mark is at the oldest one in flight, not at the cursor above it
    [ "$_m" -eq "$_low" ] || fail "the crm mark is $_m, the first pending delivery $_low"
    srv_kill S
    mode ok
    srv_start S "$T/s.db" "" || { fail "$srv_error after the kill"; return; }
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .status != "delivered")] | length == 0' || return
    api GET '/v1/deliveries?channel=crm&limit=1000'
    expect_jq '[.deliveries[] | .lead] | length' 16
    _sent=$(jq -s -c '[.[] | select(.mode == "ok") | .body.lead.id] | unique | length' "$T/hooks.jsonl")
    [ "$_sent" = 16 ] || fail "webhooks of $_sent leads arrived, expected 16"
    srv_term S
    peer_stop RECV
    peer_stop SMTP
}

waiting_notice_only_when_still_waiting() {
    peer_start RECV "$HERE/receiver.py" --port 0 --log "$T/hooks.jsonl" \
        --secret "$LR_TEST_HOOK_SECRET" --control || return
    cat >"$T/c.yaml" <<EOF
agents:
  - {id: solo, capacity: 1}
pools:
  one: [solo]
channels:
  crm: {webhook: "http://127.0.0.1:$RECV_PORT/late", secret_env: LR_TEST_HOOK_SECRET}
allow_private_targets: [crm]
rules:
  - name: one
    pool: one
    strategy: round_robin
    fallback: queue
    notify: [{on: [queued], to: crm, after: 6s}]
EOF
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; return; }
    KEY=$(mkkey "$T/s.db" admin)
    leads 1 3                       # L1 assigned, L2 and L3 wait
    # within L2's 6 s (a slow machine has time): solo is free, L2 goes out
    api POST /v1/leads/L1/progress '{"status":"won"}'
    expect_code 200 "closing L1"
    api GET /v1/deliveries
    expect_jq '[.deliveries[] | [.lead, .action, .status]]' '[["L2","queued","pending"],["L3","queued","pending"]]'
    wait_for 30 '[.deliveries[] | select(.status == "pending")] | length == 0' || return
    expect_jq '[.deliveries[] | [.lead, .status]]' '[["L2","cancelled"],["L3","delivered"]]'
    expect_jq '.deliveries[0].last_error' '"lead L2 had another decision before this notice was due"'
    _got=$(jq -s -c '[.[] | [.body.lead.id, .body.type]]' "$T/hooks.jsonl")
    [ "$_got" = '[["L3","decision.queued"]]' ] || fail "late notices received: $_got"
    _late=$(jq -s '.[0].at' "$T/hooks.jsonl")
    _made=$(jq -r '.deliveries[1].created_at' "$RB")
    jq -n -e --argjson at "$_late" --arg made "$_made" \
        "$JQ_DEFS"' ($at * 1000) - ($made | ms) >= 6000' >/dev/null ||
        fail "L3's notice came before its 6 s were over (made $_made, received at $_late)"
    srv_term S
    peer_stop RECV
}

full_why_and_replay_from_the_store() {
    # `why: full` sends the decision byte for byte as the API has it; a
    # delivery replayed later (its bodies read from the store, not handed
    # over by the writer) carries the same bytes
    peer_start RECV "$HERE/receiver.py" --port 0 --log "$T/hooks.jsonl" \
        --secret "$LR_TEST_HOOK_SECRET" --control || return
    peer_start SMTP "$HERE/smtp_sink.py" --port 0 --dir "$T/mail" || return
    config "$T/c.yaml" "$RECV_PORT" "$SMTP_PORT" ", why: full"
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; show err "$SRV/S.err"; return; }
    KEY=$(mkkey "$T/s.db" admin)
    leads 1 2
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .status != "delivered")] | length == 0' || return
    api GET /v1/leads/L2
    _api=$(jq -c '.decisions[0]' "$RB")
    jq -e '.decisions[0].why.candidates | length == 2' "$RB" >/dev/null || fail "L2's decision has no candidates"
    _hook=$(jq -s -c 'map(select(.body.lead.id == "L2"))[0].body.decision' "$T/hooks.jsonl")
    [ "$_hook" = "$_api" ] || fail "L2's webhook decision: $_hook, expected $_api"
    api GET '/v1/deliveries?channel=crm'
    _id=$(jq -r '.deliveries[] | select(.lead == "L2") | .id' "$RB")
    api POST "/v1/deliveries/$_id/retry"
    expect_code 200 "replaying $_id"
    wait_for 20 '[.deliveries[] | select(.lead == "L2" and .channel == "crm" and .attempts == 2)] | length == 1' || return
    _n=$(jq -s -c --argjson api "$_api" '[.[] | select(.body.lead.id == "L2") | .body.decision == $api]' "$T/hooks.jsonl")
    [ "$_n" = '[true,true]' ] || fail "L2's two webhooks matched the API's decision: $_n"
    srv_term S
    peer_stop RECV; peer_stop SMTP
}

why_changed_between_attempts() {
    # a delivery keeps the form it was made with: L1, made brief, is still
    # brief at its attempt after the switch to `why: full`; L2, made after
    # it, is full
    peer_start RECV "$HERE/receiver.py" --port 0 --log "$T/hooks.jsonl" \
        --secret "$LR_TEST_HOOK_SECRET" --control --mode fail || return
    peer_start SMTP "$HERE/smtp_sink.py" --port 0 --dir "$T/mail" || return
    config "$T/c.yaml" "$RECV_PORT" "$SMTP_PORT"
    config "$T/full.yaml" "$RECV_PORT" "$SMTP_PORT" ", why: full"
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; show err "$SRV/S.err"; return; }
    KEY=$(mkkey "$T/s.db" admin)
    leads 1 1
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .attempts >= 1)] | length == 1' || return
    # over the API a config names only the environment variables the one
    # in use names: an admin key cannot have HOME, or a cloud key, signed
    # into requests or sent to a mail server as a login
    grep -q 'secret_env: LR_TEST_HOOK_SECRET' "$T/full.yaml" || { fail "no secret_env in full.yaml"; return; }
    sed 's/secret_env: LR_TEST_HOOK_SECRET/secret_env: HOME/' "$T/full.yaml" >"$T/home.yaml"
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
        --data-binary @"$T/home.yaml"
    expect_error 422 invalid_config
    expect_jq .error.message '"channel '"'crm'"': secret_env=HOME: a config sent over the API may name only the environment variables that a config the server ran on named, for the same member (a login for the same mail server); a new one comes with the server'"'"'s config file (--config, or SIGHUP)"'
    # a variable that is not set gets the same answer: whether one the
    # admin may not name is set is not the admin's to learn
    sed 's/secret_env: LR_TEST_HOOK_SECRET/secret_env: LR_TEST_NEVER_SET/' "$T/full.yaml" >"$T/unset.yaml"
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
        --data-binary @"$T/unset.yaml"
    expect_error 422 invalid_config
    expect_jq .error.message '"channel '"'crm'"': secret_env=LR_TEST_NEVER_SET: a config sent over the API may name only the environment variables that a config the server ran on named, for the same member (a login for the same mail server); a new one comes with the server'"'"'s config file (--config, or SIGHUP)"'
    # nor a secret it knows as another member: the webhook's signing
    # secret as an SMTP login, sent to the mail server
    sed 's|from: "leads@example.com",|from: "leads@example.com", username_env: LR_TEST_HOOK_SECRET, password_env: LR_TEST_HOOK_SECRET,|' \
        "$T/full.yaml" >"$T/swap.yaml"
    grep -q 'username_env: LR_TEST_HOOK_SECRET' "$T/swap.yaml" || { fail "no login in swap.yaml"; return; }
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
        --data-binary @"$T/swap.yaml"
    expect_error 422 invalid_config
    expect_jq '.error.message | startswith("channel '"'mail'"': username_env=LR_TEST_HOOK_SECRET for smtp://127.0.0.1:")' true
    # a channel taken away, then put back: its variable was the server's
    sed '/^  crm: /,/backoff_max/d; /to: crm/d; /^notify:$/d; s/allow_private_targets: \[crm, mail\]/allow_private_targets: [mail]/' \
        "$T/full.yaml" >"$T/nocrm.yaml"
    grep -q 'secret_env' "$T/nocrm.yaml" && { fail "nocrm.yaml still names a secret"; return; }
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
        --data-binary @"$T/nocrm.yaml"
    expect_code 200 "taking crm away"
    req PUT /v1/config -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
        --data-binary @"$T/full.yaml"
    expect_code 200 "switching to why: full (crm back)"
    leads 2 2
    mode ok
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .status == "delivered")] | length == 2' || return
    _l1=$(jq -s -c '[.[] | select(.body.lead.id == "L1") | .body] | unique | map(.decision.why)' "$T/hooks.jsonl")
    [ "$_l1" = '[{"pool_size":2}]' ] || fail "L1's attempts carried: $_l1 (one brief body expected)"
    jq -s -e '[.[] | select(.body.lead.id == "L1")] | length >= 2' "$T/hooks.jsonl" >/dev/null ||
        fail "L1 was not attempted twice"
    _l2=$(jq -s -c '[.[] | select(.body.lead.id == "L2") | .body.decision.why.candidates | length] | unique' "$T/hooks.jsonl")
    [ "$_l2" = '[2]' ] || fail "L2's webhooks listed candidates: $_l2 (2 in each expected)"
    srv_term S
    peer_stop RECV; peer_stop SMTP
}

# batch_server N: the receiver answering 500, and server S with the crm
# channel's `batch: N`; KEY an admin key.
batch_server() {
    peer_start RECV "$HERE/receiver.py" --port 0 --log "$T/hooks.jsonl" \
        --secret "$LR_TEST_HOOK_SECRET" --control --mode fail || return 1
    config "$T/c.yaml" "$RECV_PORT" 9 ", batch: $1"
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; return 1; }
    KEY=$(mkkey "$T/s.db" admin)
}

# `batch: 10`: 25 deliveries made at once go out as arrays of at most 10,
# signed; a failed request fails each of its deliveries, each retried; once
# the receiver takes them, every delivery has arrived in exactly one taken
# request, as the object a one-at-a-time channel sends.
batched_and_retried() {
    batch_server 10 || return
    api POST /v1/leads "$(jq -c -n '[range(1; 26) | {id: "B\(.)", email: "b\(.)@buyer.test"}]')"
    expect_code 201
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .status == "retrying" and .last_status == 500)] | length == 25' || return
    # past 5 failed requests in a row the channel pauses, then lets one
    # request through at a time: that probe carries one delivery, not a
    # batch (each delivery in it spends an attempt)
    _i=0
    while [ $_i -lt 300 ] && [ "$(jq -s '[.[] | select(.mode == "fail")] | length' "$T/hooks.jsonl")" -lt 12 ]; do
        sleep 0.1; _i=$((_i + 1))
    done
    mode ok
    jq -s -e '[.[] | select(.mode == "fail")] | (length >= 12) and (.[8:] | all(.body | length == 1))' \
        "$T/hooks.jsonl" >/dev/null ||
        fail "failed requests: $(jq -s -c '[.[] | select(.mode == "fail") | .body | length]' "$T/hooks.jsonl") (after 8, probes of 1)"
    wait_for 30 '[.deliveries[] | select(.channel == "crm" and .status == "delivered")] | length == 25' || return
    jq -e '[.deliveries[] | select(.channel == "crm") | .attempts >= 2] | all' "$RB" >/dev/null ||
        { fail "a delivery was taken at its first attempt though the receiver failed"; show deliveries "$RB"; }
    _want=$(jq -c '[.deliveries[] | select(.channel == "crm") | .id] | sort' "$RB")
    _got=$(jq -s -c '[.[] | select(.mode == "ok") | .body[].id] | sort' "$T/hooks.jsonl")
    [ "$_got" = "$_want" ] || fail "taken once each: got $_got, expected $_want"
    jq -s -e 'all(.[]; .valid == true and (.body | type) == "array" and (.body | length) >= 1
                     and (.body | length) <= 10 and .batch == (.body | length | tostring)
                     and .delivery == null)' "$T/hooks.jsonl" >/dev/null ||
        { fail "a request was not a signed array of 1 to 10 with its count"; show hooks "$T/hooks.jsonl"; }
    jq -s -e 'any(.[]; (.body | length) > 1)' "$T/hooks.jsonl" >/dev/null ||
        fail "no request carried more than one delivery"
    jq -s -e '[.[] | .body[]] | all(.type == "decision.assigned" and .channel == "crm"
                                    and .lead.id == .decision.lead and .id != null)' \
        "$T/hooks.jsonl" >/dev/null || fail "an item is not a delivery's object"
    # every attempt of a delivery carried the same object
    jq -s -e '[.[] | .body[]] | group_by(.id) | all(.[]; unique | length == 1)' "$T/hooks.jsonl" \
        >/dev/null || fail "attempts of one delivery differ"
    srv_term S
    peer_stop RECV
}

# A batch stops at 1 MiB of body: four deliveries of ~300 KB each, due
# together while the channel's one request hangs, go out as one request of
# three and one of the fourth, each under 1 MiB, each delivery once.
a_batch_stops_at_a_mebibyte() {
    peer_start RECV "$HERE/receiver.py" --port 0 --log "$T/hooks.jsonl" \
        --secret "$LR_TEST_HOOK_SECRET" --control --mode hang || return
    config "$T/c.yaml" "$RECV_PORT" 9 ", batch: 10, concurrency: 1"
    sed -i 's/timeout: 2s/timeout: 60s/' "$T/c.yaml"
    srv_start S "$T/s.db" "$T/c.yaml" || { fail "$srv_error"; return; }
    KEY=$(mkkey "$T/s.db" admin)
    leads 1 1               # its request hangs: the one slot is taken
    first_request "L1's first attempt" || return
    _s=$(head -c 60000 /dev/zero | tr '\0' x)
    for _n in 1 2 3 4; do
        jq -c -n --arg s "$_s" --arg id "G$_n" \
            '{id: $id, email: "g@buyer.test", fields: {a: $s, b: $s, c: $s, d: $s, e: $s}}' \
            >"$T/big.json"
        api POST /v1/leads "@$T/big.json"
        expect_code 201 "lead G$_n"
    done
    mode ok                 # the hanging request ends (503: retried), then the rest
    release
    wait_for 30 '[.deliveries[] | select(.channel == "crm" and .status == "delivered")] | length == 5' || return
    jq -s -e 'all(.[]; .mode == "hang" or (.valid == true and (.body | tojson | length) <= 1048576))' \
        "$T/hooks.jsonl" >/dev/null ||
        fail "a request over 1 MiB: $(jq -s -c '[.[] | .body | tojson | length]' "$T/hooks.jsonl")"
    _sizes=$(jq -s -c '[.[] | select(.mode == "ok") | [.body[].lead.id | select(startswith("G"))] | length
                        | select(. > 0)]' "$T/hooks.jsonl")
    [ "$_sizes" = "[3,1]" ] || fail "the big deliveries went in requests of $_sizes, expected [3,1]"
    _got=$(jq -s -c '[.[] | select(.mode == "ok") | .body[].lead.id] | sort' "$T/hooks.jsonl")
    [ "$_got" = '["G1","G2","G3","G4","L1"]' ] || fail "taken: $_got"
    srv_term S
    peer_stop RECV
}

# A restart from the stored config with the secret's variable now empty
# refuses to start and names the variable (nothing goes out unsigned);
# with the variable back, the deliveries that waited go out, signed.
restart_without_the_secret_refuses_to_start() {
    batch_server 5 || return
    leads 1 3
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .status == "retrying")] | length == 3' || return
    srv_term S
    mode ok
    # what the stopped server sent is in the log once it stops growing
    _sent=$(wc -l <"$T/hooks.jsonl"); _i=0
    while [ $_i -lt 50 ]; do
        sleep 0.5
        _now=$(wc -l <"$T/hooks.jsonl")
        [ "$_now" = "$_sent" ] && break
        _sent=$_now; _i=$((_i + 1))
    done
    _secret=$LR_TEST_HOOK_SECRET
    export LR_TEST_HOOK_SECRET=
    srv_start S "$T/s.db" "" && fail "the server started without its webhook secret"
    export LR_TEST_HOOK_SECRET="$_secret"
    grep -q "channel 'crm': the environment variable LR_TEST_HOOK_SECRET (secret_env) is not set or empty" \
        "$SRV/S.err" || { fail "no message names the variable"; show err "$SRV/S.err"; }
    [ "$(wc -l <"$T/hooks.jsonl")" = "$_sent" ] || fail "a request was sent meanwhile"
    srv_start S "$T/s.db" "" || { fail "restart with the secret: $srv_error"; return; }
    wait_for 20 '[.deliveries[] | select(.channel == "crm" and .status == "delivered")] | length == 3' || return
    jq -s -e '[.[] | select(.mode == "ok")] | all(.valid == true)' "$T/hooks.jsonl" >/dev/null ||
        fail "a request after the restart was not validly signed"
    srv_term S
    peer_stop RECV
}

bad_channels() {
    cat >"$T/bad.yaml" <<'EOF'
agents: [{id: a}]
pools: {p: [a]}
channels:
  crm: {webhook: "ftp://crm.example.com/x", secret_env: LR_TEST_NOT_SET_ANYWHERE}
  mail: {smtp: "smtp://127.0.0.1:25", why: full, batch: 5}
  erp: {webhook: "https://erp.example.com/x", why: all, batch: 0}
notify:
  - {on: [assigned, sold], to: crm}
  - {on: [assigned], to: pager}
rules: [{name: r, pool: p, strategy: round_robin}]
EOF
    lr check --config "$T/bad.yaml"
    expect_status 2
    expect_err_has "bad.yaml:4:19: channel 'crm': 'webhook' must be a https:// or http:// URL, got 'ftp://crm.example.com/x'"
    expect_err_has "bad.yaml:4:57: channel 'crm': the environment variable LR_TEST_NOT_SET_ANYWHERE (secret_env) is not set or empty"
    expect_err_has "bad.yaml:5:9: channel 'mail': missing required key 'from' (the sender address)"
    expect_err_has "bad.yaml:5:44: channel 'mail': 'why' applies only to webhook channels (an email explains in words)"
    expect_err_has "bad.yaml:5:57: channel 'mail': 'batch' applies only to webhook channels (an email is one message)"
    expect_err_has "bad.yaml:6:52: channel 'erp': 'why' must be brief or full, got 'all'"
    expect_err_has "bad.yaml:6:64: channel 'erp': 'batch' must be an integer between 1 and 1000, got '0'"
    expect_err_has "bad.yaml:8:21: notify #1: unknown action 'sold' in 'on'"
    expect_err_has "bad.yaml:9:26: notify #2: unknown channel 'pager'"
}

tcase signed_once_and_emailed
tcase down_then_back
tcase gone_is_dead_then_replayed
tcase private_target_refused
tcase private_target_refused_on_a_reused_connection
tcase smtp_refusal_keeps_the_reply
tcase smtp_login_needs_tls
tcase a_login_goes_only_to_its_mail_server
tcase a_login_keeps_its_zone
tcase gave_up_keeps_the_channel_paused
tcase replayed_while_in_flight
tcase an_answer_is_judged_by_its_status
tcase a_redirect_names_its_target_without_the_password
tcase kill_between_commit_and_send
tcase kill_with_marks_stored
tcase waiting_notice_only_when_still_waiting
tcase full_why_and_replay_from_the_store
tcase why_changed_between_attempts
tcase batched_and_retried
tcase a_batch_stops_at_a_mebibyte
tcase restart_without_the_secret_refuses_to_start
tcase bad_channels
finish

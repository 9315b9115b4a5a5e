#!/bin/sh
# server_email_rep.sh -- a rep follows the email literally: each
# instruction of an email to an agent (method, URL, JSON body and the
# headers the email names), sent with the agent's own key, works against
# the server; also for lead ids that need escaping in a URL path ("..",
# ".", spaces, "/", "?", "#", "%", non-ASCII) and one with U+2028. An email
# about a lead that left the agent (expired offer, release) gives no link
# its key would read as a 404. An offer's email tells its deadline.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_server.sh"
. "$(dirname "$0")/lib_peers.sh"
PUB=https://leads.example.com
# offers that lapse in 1 s, offers of 10 min, plain assignments
OFFERS='notify:
  - {on: [assigned, offered, expired, released], to: mail, recipient: agent}
rules:
  - {name: fast, when: '"'"'source == "fast"'"'"', pool: team, strategy: round_robin, offer: {timeout: 1s, attempts: 1}, fallback: hold}
  - {name: offer, when: '"'"'source == "offer"'"'"', pool: team, strategy: round_robin, offer: {timeout: 10m}}
  - {name: plain, pool: team, strategy: round_robin}'

# start ALICE_EXTRA NOTIFY_AND_RULES: the SMTP sink, and a server with
# alice and bob (each with an email; alice's entry ends with ALICE_EXTRA),
# the mail channel and NOTIFY_AND_RULES; KEY, ALICE and BOB its keys
start() {
    peer_start SMTP "$HERE/smtp_sink.py" --port 0 --dir "$T/mail" || return 1
    cat >"$T/c.yaml" <<YAML
agents:
  - {id: alice, email: alice@example.com$1}
  - {id: bob, email: bob@example.com}
pools:
  team: [alice, bob]
channels:
  mail: {smtp: "smtp://127.0.0.1:$SMTP_PORT", from: "leads@example.com", public_url: "$PUB"}
allow_private_targets: [mail]
$2
YAML
    srv_start S "$T/db" "$T/c.yaml" --sync off || { fail "$srv_error"; return 1; }
    KEY=$(mkkey "$T/db" admin)
    ALICE=$(mkkey "$T/db" agent alice)
    BOB=$(mkkey "$T/db" agent bob)
}

# mail_of LEAD-SUBJECT-TEXT: waits (10 s) for the message whose subject has
# the text; prints its file
mail_of() {
    _i=0
    while [ $_i -lt 200 ]; do
        _f=$(jq -r --arg s "$1" 'select(.subject | contains($s)) | .file' "$T/mail/index.jsonl" 2>/dev/null | head -1)
        [ -n "$_f" ] && { echo "$T/mail/$_f"; return 0; }
        sleep 0.05; _i=$((_i + 1))
    done
    return 1
}

# follow FILE KEY LABEL: runs the instruction line of email FILE (its text
# as a mail client shows it: the sink's .txt) that starts with LABEL
# ("Accept:", "POST") as written: its URL (the public_url replaced by the
# server's), its body, and the headers the email names
follow() {
    set -- "${1%.eml}.txt" "$2" "$3"
    _line=$(sed -n '/^What to do$/,/^-- $/p' "$1" | grep -m1 "^ *$3 *POST ")
    [ -n "$_line" ] || { fail "$(basename "$1"): no '$3' instruction"; show msg "$1"; return 1; }
    _url=$(printf '%s\n' "$_line" | sed 's/^.*POST \([^ ]*\) .*$/\1/')
    _body=$(printf '%s\n' "$_line" | sed 's/^.*POST [^ ]* //')
    set -- "$1" "$2" "$3" -H "Authorization: Bearer $2"
    grep -q 'Content-Type: application/json' "$1" && set -- "$@" -H 'Content-Type: application/json'
    shift 3
    code=$(curl -s --max-time 10 -o "$RB" -w '%{http_code}' -X POST "$@" --data-binary "$_body" \
        "$URL${_url#"$PUB"}")
    [ "$code" = 200 ] || { fail "$_line -> $code $(cat "$RB")"; return 1; }
}

following_the_email_works_for_any_lead_id() {
    start "" "$OFFERS" || return
    for _id in L1 '..' '.' 'a b/c?d=1#e%f+g' 'ünï 李' "$(printf 'x\342\200\250y')"; do
        _j=$(printf '%s' "$_id" | jq -Rs .)
        api POST /v1/leads "{\"id\":$_j,\"source\":\"plain\"}"
        expect_code 201 "lead $_id"
        _j=$(printf 'O%s' "$_id" | jq -Rs .)
        api POST /v1/leads "{\"id\":$_j,\"source\":\"offer\"}"
        expect_code 201 "lead O$_id"
    done
    _i=0
    while [ $_i -lt 200 ] && [ "$(wc -l <"$T/mail/index.jsonl" 2>/dev/null || echo 0)" -lt 12 ]; do sleep 0.05; _i=$((_i + 1)); done
    for _f in $(jq -r '.file' "$T/mail/index.jsonl"); do
        _to=$(jq -r --arg f "$_f" 'select(.file == $f) | .rcpt_tos[0]' "$T/mail/index.jsonl")
        case $_to in alice@*) _k=$ALICE ;; *) _k=$BOB ;; esac
        if grep -q 'Accept:  POST' "$T/mail/${_f%.eml}.txt"; then
            follow "$T/mail/$_f" "$_k" 'Accept:'
        else
            follow "$T/mail/$_f" "$_k" ''
        fi
    done
    # every lead is now assigned (accepted) or has its contacted progress
    api GET '/v1/leads?status=offered'
    expect_jq '.leads | length' 0
    srv_term S
    peer_stop SMTP
}

a_lead_that_left_the_agent_gives_no_link() {
    start "" "$OFFERS" || return
    api POST /v1/leads '{"id":"F1","source":"fast"}'
    expect_code 201 "lead F1"
    # the offer told its deadline, the decision's expires_at, to the second
    _exp=$(jq -r '.decisions[0].expires_at' "$RB")
    _when=$(printf '%s' "$_exp" | sed 's/^\(....-..-..\)T\(..:..:..\).*$/\1 \2 UTC/')
    _m=$(mail_of 'F1 for you (offered)') || { fail "no offered email"; return; }
    grep -q "The offer expires at $_when: accept before then" "$_m" ||
        { fail "offered: no deadline $_when ($_exp)"; show msg "$_m"; }
    _m=$(mail_of 'F1: expired') || { fail "no expired email"; return; }
    grep -q 'Nothing: the lead is no longer yours' "$_m" || { fail "expired: no 'Nothing'"; show msg "$_m"; }
    grep -q '/v1/' "$_m" && { fail "expired: a link"; show msg "$_m"; }
    api POST /v1/leads '{"id":"R1","source":"plain"}'
    _who=$(jq -r '.decisions[0].agent' "$RB")
    [ "$_who" = alice ] && _k=$ALICE || _k=$BOB
    as "$_k" POST /v1/events "{\"type\":\"release\",\"lead\":\"R1\",\"agent\":\"$_who\"}"
    expect_code 200 "release"
    _m=$(mail_of 'R1: released') || { fail "no released email"; return; }
    grep -q 'Nothing: the lead is no longer yours' "$_m" || { fail "released: no 'Nothing'"; show msg "$_m"; }
    as "$_k" GET /v1/leads/R1
    expect_code 404 "the releasing agent reads R1"
    srv_term S
    peer_stop SMTP
}

# A claim refused while the agent cannot take a lead (at capacity) leaves
# the lead open to it: the email says so and its instruction, followed
# once the agent can, claims the lead. An email to a fixed address about a
# lead the agent no longer holds names a key that reads it (an admin's:
# the agent's own is a 404 there).
a_refused_claim_of_a_lead_still_open_says_so() {
    start ", capacity: 1" 'notify:
  - {on: [claim_refused], to: mail, recipient: agent}
  - {on: [released], to: mail, recipient: ops@example.com}
rules:
  - {name: bc, when: '"'"'source == "bc"'"'"', pool: team, strategy: broadcast, offer: {timeout: 10m}}
  - {name: plain, pool: team, strategy: round_robin}' || return
    api POST /v1/leads '{"id":"B1","source":"bc"}'
    api POST /v1/leads '{"id":"B2","source":"bc"}'
    as "$ALICE" POST /v1/events '{"type":"accept","lead":"B1","agent":"alice"}'
    expect_code 200 "alice accepts B1"
    as "$ALICE" POST /v1/events '{"type":"accept","lead":"B2","agent":"alice"}'
    _cm=$(mail_of "B2: claim_refused") || { fail "no claim_refused email"; return; }
    grep -q "Nothing" "$_cm" && { fail "claim_refused at capacity: Nothing"; show msg "$_cm"; }
    api POST /v1/leads/B1/progress '{"status":"won"}'
    expect_code 200 "B1 won"
    follow "$_cm" "$ALICE" "Claim:" || show msg "$_cm"
    api GET /v1/leads/B2
    expect_jq '.agent' '"alice"'
    # released, to a fixed address: the agent's own key no longer reads it
    api POST /v1/leads '{"id":"R2","source":"plain"}'
    _who=$(jq -r '.decisions[0].agent' "$RB")
    api POST /v1/events "{\"type\":\"release\",\"lead\":\"R2\",\"agent\":\"$_who\"}"
    expect_code 200 "release R2"
    _m=$(mail_of 'R2: released') || { fail "no released email"; return; }
    grep -q "the agent's own" "$_m" && { fail "released to ops: names the agent's own key"; show msg "$_m"; }
    srv_term S
    peer_stop SMTP
}

# An instruction longer than a line of a message may be (a long public_url
# and a lead id of 64 four-byte characters, 768 bytes percent-encoded in
# its path): the email's body comes base64, and the instruction, whole,
# works as written.
a_long_instruction_works_as_written() {
    _pub=$PUB
    PUB=https://leads.example.com$(seq 20 | sed 's|.*|/a-long-path|' | tr -d '\n')
    start "" "$OFFERS" || { PUB=$_pub; return; }
    _id=$(i=0; while [ $i -lt 64 ]; do printf '\360\235\204\236'; i=$((i + 1)); done)
    api POST /v1/leads "{\"id\":$(printf '%s' "$_id" | jq -Rs .),\"source\":\"plain\"}"
    expect_code 201 "the long lead"
    _who=$(jq -r '.decisions[0].agent' "$RB")
    _m=$(mail_of 'for you (assigned)') || { fail "no assigned email"; PUB=$_pub; return; }
    grep -q '^Content-Transfer-Encoding: base64' "$_m" || fail "not base64: $(head -c 600 "$_m")"
    [ "$(awk '{ if (length($0) > n) n = length($0) } END { print n }' "$_m")" -le 998 ] ||
        fail "a line of the message is longer than 998"
    case $_who in alice) _k=$ALICE ;; *) _k=$BOB ;; esac
    follow "$_m" "$_k" '' || show msg "${_m%.eml}.txt"
    api GET "/v1/leads/$(printf '%s' "$_id" | jq -sRr @uri)"
    expect_jq '.progress[0].status' '"contacted"'
    PUB=$_pub
    srv_term S
    peer_stop SMTP
}

tcase following_the_email_works_for_any_lead_id
tcase a_long_instruction_works_as_written
tcase a_lead_that_left_the_agent_gives_no_link
tcase a_refused_claim_of_a_lead_still_open_says_so
finish

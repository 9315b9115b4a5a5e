#!/bin/sh
# http_smoke.sh -- a quick end-to-end check of `leadrouter serve` and
# `leadrouter keys create` over real HTTP with curl: one server on a free
# loopback port (--listen 127.0.0.1:0), a fresh store, an admin key; the
# main happy path and one of each early error; SIGTERM must exit 0 (under
# ASan that includes "no leaks"). The full suite is elsewhere.
#
# The server is killed by the EXIT trap whatever happens, every curl has a
# time limit, and every wait is bounded: the script always stops by itself.

. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CFG="$ROOT/examples/routing.yaml"
S="$E2E_ROOT/server"
mkdir -p "$S"
SPID=
cleanup() {
    [ -n "$SPID" ] && kill -KILL "$SPID" 2>/dev/null
    rm -rf "$E2E_ROOT"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

if ! command -v curl >/dev/null 2>&1; then
    echo "FAIL http_smoke: curl is not installed"
    exit 1
fi

# req METHOD PATH [CURL ARGS...]: $code, body in $T/body, headers in $T/hdr.
req() {
    _m=$1; _p=$2; shift 2
    code=$(curl -s --max-time 20 -X "$_m" -o "$T/body" -D "$T/hdr" -w '%{http_code}' "$@" "$URL$_p")
}

# auth: the admin key's header.
auth() { echo "Authorization: Bearer $KEY"; }

expect_code() {
    if [ "$code" != "$1" ]; then
        fail "HTTP status $code, expected $1"
        show body "$T/body"
    fi
}

expect_body_has() {
    grep -qF -- "$1" "$T/body" || { fail "body lacks: $1"; show body "$T/body"; }
}

expect_header() {
    grep -qiE -- "$1" "$T/hdr" || { fail "no header matches: $1"; show headers "$T/hdr"; }
}

# ---- set-up: a key, then the server ----------------------------------------

keys_create_prints_only_the_key() {
    lr keys create --db "$S/db" --role admin
    expect_status 0
    KEY=$(cat "$T/out")
    echo "$KEY" | grep -qE '^lr_[A-Za-z0-9_-]{32}$' || fail "not a key: $KEY"
    expect_lines 1 "$T/out"
    expect_err_line "^key id: [A-Za-z0-9_-]{8}, role: admin$"
}

agent_key_needs_an_agent() {
    lr keys create --db "$S/db" --role agent
    expect_status 2
    expect_out_empty
    expect_err_has "an agent key needs --agent ID"
}

serve_prints_the_listening_line() {
    "$BIN" serve --config "$CFG" --db "$S/db" --listen 127.0.0.1:0 >"$S/out" 2>"$S/err" &
    SPID=$!
    _i=0
    while [ $_i -lt 300 ] && ! grep -q '^leadrouter: listening on ' "$S/out" 2>/dev/null; do
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.1; _i=$((_i + 1))
    done
    URL=$(sed -n 's/^leadrouter: listening on \(http:\/\/127\.0\.0\.1:[0-9][0-9]*\)$/\1/p' "$S/out")
    if [ -z "$URL" ]; then
        fail "no listening line"
        show stdout "$S/out"
        show stderr "$S/err"
        return
    fi
    case $URL in *:0) fail "the port printed is 0" ;; esac
}

# ---- requests -----------------------------------------------------------------

healthz_needs_no_key() {
    req GET /healthz
    expect_code 200
    expect_body_has '{"status":"ok"}'
    expect_header '^content-type: application/json'
}

post_lead_is_201_with_its_decisions() {
    req POST /v1/leads -H "$(auth)" -H 'Content-Type: application/json' \
        -d '{"id":"S1","source":"web","state":"CA","product":"purchase","score":80}'
    expect_code 201
    expect_body_has '{"lead":"S1","decisions":[{'
    expect_body_has '"action":"assigned"'
}

get_lead_returns_it_as_received() {
    req GET /v1/leads/S1 -H "$(auth)"
    expect_code 200
    expect_body_has '"id":"S1"'
    expect_body_has '"lead":{"id":"S1","source":"web","state":"CA","product":"purchase","score":80}'
}

missing_key_is_401() {
    req GET /v1/leads/S1
    expect_code 401
    expect_body_has '{"error":{"code":"unauthorized",'
    expect_header '^www-authenticate: Bearer'
}

unknown_route_is_404() {
    req GET /v1/nothing -H "$(auth)"
    expect_code 404
    expect_body_has '{"error":{"code":"not_found",'
}

wrong_method_is_405_with_allow() {
    req DELETE /v1/leads -H "$(auth)"
    expect_code 405
    expect_body_has '{"error":{"code":"method_not_allowed",'
    expect_header '^allow: GET, HEAD, POST'
}

wrong_content_type_is_415() {
    req POST /v1/leads -H "$(auth)" -H 'Content-Type: text/plain' -d '{"id":"S2"}'
    expect_code 415
    expect_body_has '{"error":{"code":"unsupported_media_type",'
}

invalid_json_is_400_with_the_byte_offset() {
    req POST /v1/leads -H "$(auth)" -H 'Content-Type: application/json' -d '{"id":"S3",}'
    expect_code 400
    expect_body_has '{"error":{"code":"invalid_json","message":"invalid JSON at byte 11:'
}

sigterm_stops_with_exit_0() {
    if [ -z "$SPID" ]; then fail "no server"; return; fi
    kill -TERM "$SPID"
    _i=0
    while [ $_i -lt 600 ] && kill -0 "$SPID" 2>/dev/null; do sleep 0.1; _i=$((_i + 1)); done
    if kill -0 "$SPID" 2>/dev/null; then
        fail "still running 60 s after SIGTERM"
        return
    fi
    wait "$SPID"
    _rc=$?
    SPID=
    [ "$_rc" -eq 0 ] || { fail "exit status $_rc after SIGTERM"; show stderr "$S/err"; }
    grep -q '^leadrouter: stopped$' "$S/err" || { fail "no 'stopped' line"; show stderr "$S/err"; }
}

tcase keys_create_prints_only_the_key
tcase agent_key_needs_an_agent
tcase serve_prints_the_listening_line
if [ -n "$URL" ]; then
    tcase healthz_needs_no_key
    tcase post_lead_is_201_with_its_decisions
    tcase get_lead_returns_it_as_received
    tcase missing_key_is_401
    tcase unknown_route_is_404
    tcase wrong_method_is_405_with_allow
    tcase wrong_content_type_is_415
    tcase invalid_json_is_400_with_the_byte_offset
fi
tcase sigterm_stops_with_exit_0
finish

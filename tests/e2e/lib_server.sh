# lib_server.sh -- helpers for the end-to-end tests of `leadrouter serve`.
#
# Sourced by tests/e2e/server_*.sh (POSIX sh) after lib.sh, whose tcase /
# fail / show / finish and $BIN, $E2E_ROOT it uses. Named lib_*.sh: it is
# not a test (run alone it exits 0 and prints nothing). It adds:
#
#   srv_start NAME DB CONFIG [SERVE OPTIONS...]
#                     starts `leadrouter serve` on 127.0.0.1:0 with store DB
#                     and CONFIG ("" for none), waits for its line
#                     "leadrouter: listening on http://127.0.0.1:PORT" and
#                     sets URL (and NAME_URL, NAME_PID); stdout and stderr go
#                     to $SRV/NAME.out / NAME.err. Returns non-zero (with
#                     the reason in $srv_error) when the server did not come up.
#   srv_use NAME      makes NAME's server the one the request helpers talk to
#   srv_term NAME     SIGTERM, waits (bounded) for the exit: $srv_rc
#   srv_kill NAME     SIGKILL, waits for the exit
#   srv_wait_exit PID SECONDS   waits for a child to end: $srv_rc
#   mkkey DB ROLE [AGENT]   creates a key with `leadrouter keys create`, prints it
#   hold_lock DB      another process (a sqlite3 client in Python) takes DB's
#                     write lock (BEGIN IMMEDIATE) and keeps it until
#                     release_lock (60 s at most); returns once it holds it
#
#   req METHOD PATH [CURL ARGS...]   one request to $URL: $code (000: no
#                     answer), the body in $RB, the headers in $RH
#   api METHOD PATH [JSON [CURL ARGS...]]   req with the admin key $KEY and,
#                     when JSON is given, that body as application/json
#   as KEY METHOD PATH [JSON [CURL ARGS...]]   the same with another key
#   list_all QUERY OUT   every page of GET /v1/leads?QUERY as one array
#   get_each IDS OUT     GET /v1/leads/ID of every id in file IDS, as one array
#
#   expect_code N [WHAT] / expect_jq FILTER EXPECTED / expect_header REGEX /
#   expect_body_has TEXT / expect_error STATUS CODE      on the last reply
#   same FILE1 FILE2 WHAT                                 two files are equal
#   jqb FILTER, $JQ_DEFS (def ms: RFC 3339 -> epoch milliseconds)
#   clear_of_boundary MINUTES HOURLY   waits until the UTC clock is at least
#                     MINUTES before the next hour (HOURLY=1) or midnight:
#                     cap windows then do not roll over during a check
#
# Every curl has --max-time and talks only to 127.0.0.1. Every server
# started is recorded in $SRV/pids and killed by the EXIT trap (only if
# that pid still runs a command naming $E2E_ROOT, so a reused pid is left
# alone), and the temporary directories are removed: a failing or
# interrupted script leaves nothing running.

case $0 in */lib_server.sh | lib_server.sh) exit 0 ;; esac

SRV="$E2E_ROOT/srv"
RB="$E2E_ROOT/reply.body"
RH="$E2E_ROOT/reply.hdr"
mkdir -p "$SRV"
: >"$SRV/pids"
CURL_MAX=${CURL_MAX:-30}

srv_cleanup() {
    if [ -f "$SRV/pids" ]; then
        while read -r _p; do
            [ -n "$_p" ] && [ -r "/proc/$_p/cmdline" ] &&
                tr '\0' ' ' <"/proc/$_p/cmdline" | grep -qF -- "$E2E_ROOT" &&
                kill -KILL "$_p" 2>/dev/null
        done <"$SRV/pids"
    fi
    rm -rf "$E2E_ROOT"
}
trap srv_cleanup EXIT
trap 'srv_cleanup; exit 130' HUP INT PIPE TERM

for _tool in curl jq; do
    if ! command -v "$_tool" >/dev/null 2>&1; then
        echo "FAIL $(basename "$0"): $_tool is not installed (scripts/install-deps)"
        exit 1
    fi
done

# srv_start NAME DB CONFIG [OPTIONS...]: see above.
srv_start() {
    _n=$1; _db=$2; _cfg=$3; shift 3
    srv_error=
    : >"$SRV/$_n.out"
    if [ -n "$_cfg" ]; then
        "$BIN" serve --config "$_cfg" --db "$_db" --listen 127.0.0.1:0 "$@" \
            >"$SRV/$_n.out" 2>>"$SRV/$_n.err" &
    else
        "$BIN" serve --db "$_db" --listen 127.0.0.1:0 "$@" >"$SRV/$_n.out" 2>>"$SRV/$_n.err" &
    fi
    _pid=$!
    echo "$_pid" >>"$SRV/pids"
    eval "${_n}_PID=$_pid"
    _i=0
    while [ $_i -lt 600 ] && ! grep -q '^leadrouter: listening on ' "$SRV/$_n.out" 2>/dev/null; do
        kill -0 "$_pid" 2>/dev/null || break
        sleep 0.05; _i=$((_i + 1))
    done
    _url=$(sed -n 's/^leadrouter: listening on \(http:\/\/127\.0\.0\.1:[1-9][0-9]*\)$/\1/p' "$SRV/$_n.out")
    if [ -z "$_url" ]; then
        srv_error="server $_n did not start (pid $_pid)"
        eval "${_n}_URL="
        return 1
    fi
    eval "${_n}_URL=$_url"
    URL=$_url
    return 0
}

srv_use() {
    eval "URL=\$${1}_URL"
}

# srv_wait_exit PID SECONDS: waits for PID to end; $srv_rc is its status
# (or 255 when it did not end in time).
srv_wait_exit() {
    _i=0; _lim=$(($2 * 20))
    while [ $_i -lt $_lim ] && kill -0 "$1" 2>/dev/null; do sleep 0.05; _i=$((_i + 1)); done
    if kill -0 "$1" 2>/dev/null; then
        srv_rc=255
        return 1
    fi
    wait "$1" 2>/dev/null
    srv_rc=$?
    return 0
}

# srv_term NAME: SIGTERM and wait up to 60 s; $srv_rc is the exit status.
srv_term() {
    eval "_pid=\$${1}_PID"
    [ -n "$_pid" ] || { srv_rc=254; return 1; }
    kill -TERM "$_pid" 2>/dev/null
    srv_wait_exit "$_pid" 60
}

# srv_kill NAME: SIGKILL and wait for it.
srv_kill() {
    eval "_pid=\$${1}_PID"
    [ -n "$_pid" ] || return 0
    kill -KILL "$_pid" 2>/dev/null
    srv_wait_exit "$_pid" 30
}

hold_lock() {
    _hl=$SRV/lock.$(date +%s%N)
    /usr/bin/python3 -c '
import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
end = time.monotonic() + 60
while not os.path.exists(sys.argv[3]) and time.monotonic() < end:
    time.sleep(0.05)
c.execute("ROLLBACK")
' "$1" "$_hl.held" "$_hl.release" &
    lock_pid=$!
    _i=0
    while [ $_i -lt 100 ] && [ ! -e "$_hl.held" ]; do sleep 0.05; _i=$((_i + 1)); done
    [ -e "$_hl.held" ]
}

release_lock() {
    : >"$_hl.release"
    wait "$lock_pid"
}

# older_config DIR: writes DIR/bc.yaml, a broadcast rule, and DIR/old.yaml,
# the same with offer.attempts, which an earlier version accepted and this
# one refuses: a store whose config is old.yaml was made by that version.
older_config() {
    cat >"$1/bc.yaml" <<'EOF'
agents: [{id: a}, {id: b}]
pools: {p: [a, b]}
rules: [{name: all, pool: p, strategy: broadcast, offer: {timeout: 60s}}]
EOF
    sed 's/offer: {timeout: 60s}/offer: {timeout: 60s, attempts: 2}/' "$1/bc.yaml" >"$1/old.yaml"
}

# set_stored_config DB FILE: makes FILE's text the store's config entry, as
# the version that accepted it would have stored it; prints the rows changed.
set_stored_config() {
    python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(c.execute("UPDATE events SET body = ? WHERE type = ?", (open(sys.argv[2]).read(), "config")).rowcount)
c.commit()' "$1" "$2"
}

# mkkey DB ROLE [AGENT]: prints a new key (nothing when it failed).
mkkey() {
    if [ -n "$3" ]; then
        timeout 60 "$BIN" keys create --db "$1" --role "$2" --agent "$3" 2>/dev/null
    else
        timeout 60 "$BIN" keys create --db "$1" --role "$2" 2>/dev/null
    fi
}

# req METHOD PATH [CURL ARGS...]
req() {
    _m=$1; _p=$2; shift 2
    : >"$RB"; : >"$RH"
    code=$(curl -s --max-time "$CURL_MAX" -X "$_m" -o "$RB" -D "$RH" -w '%{http_code}' \
        "$@" "$URL$_p")
    [ -n "$code" ] || code=000
}

# as KEY METHOD PATH [JSON [CURL ARGS...]]
as() {
    _k=$1; _m=$2; _p=$3
    if [ $# -ge 4 ]; then
        _body=$4; shift 4
        req "$_m" "$_p" -H "Authorization: Bearer $_k" -H 'Content-Type: application/json' \
            --data-binary "$_body" "$@"
    else
        req "$_m" "$_p" -H "Authorization: Bearer $_k"
    fi
}

# api METHOD PATH [JSON]: as the admin ($KEY).
api() {
    as "$KEY" "$@"
}

jqb() {
    jq -c "$1" "$RB" 2>&1
}

expect_code() {
    if [ "$code" != "$1" ]; then
        fail "HTTP status $code, expected $1 (${2:-last request})"
        show body "$RB"
    fi
}

# expect_jq FILTER EXPECTED: jq -c FILTER on the body prints EXPECTED.
expect_jq() {
    _got=$(jq -c "$1" "$RB" 2>&1)
    if [ "$_got" != "$2" ]; then
        fail "jq '$1': got $_got, expected $2"
        show body "$RB"
    fi
}

# expect_header REGEX: a header line (without its CR) matches, ignoring case.
expect_header() {
    tr -d '\r' <"$RH" | grep -qiE -- "$1" || { fail "no header matches: $1"; show headers "$RH"; }
}

expect_body_has() {
    grep -qF -- "$1" "$RB" || { fail "body lacks: $1"; show body "$RB"; }
}

# expect_error STATUS CODE: the reply is STATUS with {"error":{"code":CODE,...}}
# and a non-empty message.
expect_error() {
    expect_code "$1"
    expect_jq '.error.code' "\"$2\""
    expect_jq '.error.message | type == "string" and length > 0' true
    expect_header '^content-type: application/json'
}

# same FILE1 FILE2 WHAT: the two files are equal.
same() {
    if ! cmp -s "$1" "$2"; then
        fail "$3 differs (- before, + after):"
        diff -u "$1" "$2" | sed -n '3,40s/^/    /p'
    fi
}

# jq definitions: ms turns an RFC 3339 UTC time as the server writes it
# ("2026-11-02T09:00:00Z", "...:00.250Z") into milliseconds since the epoch.
JQ_DEFS='def ms: (sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000
              + ((capture("\\.(?<f>[0-9]+)Z$").f // "0") + "00" | .[0:3] | tonumber);'

# list_all QUERY OUT: every lead GET /v1/leads?QUERY lists, page after page
# (1000 a page), as one JSON array in OUT. Returns non-zero (and fails the
# case) when a page is not 200.
list_all() {
    _q=$1; _out=$2; _cur=; _pages=0
    : >"$_out.parts"
    while [ $_pages -lt 10000 ]; do
        _pages=$((_pages + 1))
        api GET "/v1/leads?limit=1000${_q:+&$_q}${_cur:+&cursor=$_cur}"
        if [ "$code" != 200 ]; then
            fail "GET /v1/leads?$_q: HTTP $code"
            show body "$RB"
            return 1
        fi
        jq -c '.leads[]' "$RB" >>"$_out.parts"
        _cur=$(jq -r '.next_cursor // empty' "$RB")
        [ -n "$_cur" ] || break
    done
    jq -s -c . "$_out.parts" >"$_out"
    rm -f "$_out.parts"
}

# get_each IDS OUT: GET /v1/leads/ID for every line of file IDS, as one
# JSON array of the replies in OUT, in order: four curls at once, each on
# one connection (keep-alive). IDs must be URL-safe.
get_each() {
    _ge="$E2E_ROOT/get_each"; _pids=
    rm -rf "$_ge"; mkdir -p "$_ge"
    split -n l/4 "$1" "$_ge/ids."
    for _part in "$_ge"/ids.*; do
        {
            echo 'silent'
            echo "max-time = $((CURL_MAX * 4))"
            echo "header = \"Authorization: Bearer $KEY\""
            printf '%s\n' 'write-out = "\n"'
            while read -r _id; do
                [ -n "$_id" ] && echo "url = \"$URL/v1/leads/$_id\""
            done <"$_part"
        } >"$_part.cfg"
        : >"$_part.out"
        if grep -q '^url' "$_part.cfg"; then
            curl -K "$_part.cfg" >"$_part.out" 2>/dev/null &
            _pids="$_pids $!"
        fi
    done
    for _p in $_pids; do wait "$_p"; done      # not `wait`: the servers are children too
    _pids=
    cat "$_ge"/ids.*.out | jq -s -c . >"$2" || { fail "get_each: the replies are not JSON"; return 1; }
    _n=$(jq length "$2"); _want=$(grep -c . "$1")
    [ "$_n" -eq "$_want" ] || { fail "get_each: $_n replies for $_want ids"; return 1; }
    rm -rf "$_ge"
}

# clear_of_boundary MINUTES HOURLY: see above (waits at most MINUTES + 1 min).
clear_of_boundary() {
    _h=$(date -u +%H); _m=$(date -u +%M); _s=$(date -u +%S)
    _h=${_h#0}; _m=${_m#0}; _s=${_s#0}
    _left=$(((60 - _m) * 60 - _s))                         # to the next hour
    [ "$2" = 1 ] || _left=$(((23 - _h) * 3600 + _left))     # to midnight
    if [ "$_left" -le $(($1 * 60)) ]; then
        echo "  (waiting ${_left}s for the UTC $( [ "$2" = 1 ] && echo hour || echo day) to turn)"
        sleep $((_left + 2))
    fi
}

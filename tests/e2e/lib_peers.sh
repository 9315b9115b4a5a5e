# lib_peers.sh -- the e2e tests' peers: a webhook receiver (receiver.py)
# and an SMTP sink (smtp_sink.py), started on free loopback ports. Sourced
# after lib.sh and lib_server.sh.
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
if ! $PY -c 'import aiosmtpd' 2>/dev/null; then
    echo "FAIL $(basename "$0"): python3-aiosmtpd is not installed (scripts/install-deps)"
    exit 1
fi

# peer_start NAME ARGS...: starts a peer script (receiver.py or
# smtp_sink.py) with ARGS, waits for its "listening on" line, sets NAME_PORT.
peer_start() {
    _n=$1; shift
    _try=1
    while :; do
        # emptied here, before the peer starts: $SRV is the script's, and a
        # peer of the same name started earlier left its "listening on" line
        # there, which the wait below could read (with its old port) before
        # the new process's redirection empties the file
        : >"$SRV/$_n.out"; : >"$SRV/$_n.err"
        $PY "$@" --max-seconds 300 >"$SRV/$_n.out" 2>"$SRV/$_n.err" &
        _pid=$!
        echo "$_pid" >>"$SRV/pids"
        eval "${_n}_PID=$_pid"
        _i=0
        while [ $_i -lt 1200 ] && ! grep -q 'listening on' "$SRV/$_n.out" 2>/dev/null; do
            kill -0 "$_pid" 2>/dev/null || break
            sleep 0.05; _i=$((_i + 1))
        done
        _port=$(sed -n 's|.*listening on [a-z]*://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$SRV/$_n.out")
        eval "${_n}_PORT=$_port"
        [ -n "$_port" ] && return 0
        # the peer is the test's machinery, not leadrouter: one that went
        # without a word before it listened (seen once in CI) is started
        # once more, and the log says how the first one ended
        if kill -0 "$_pid" 2>/dev/null; then
            kill -KILL "$_pid" 2>/dev/null
            wait "$_pid" 2>/dev/null
            _how="not listening after $((_i / 20)) s"
        else
            wait "$_pid" 2>/dev/null
            _how="ended with status $? after $((_i / 20)) s"
        fi
        if [ $_try -ge 2 ]; then
            fail "peer $_n did not start ($_how)"
            show out "$SRV/$_n.out"; show err "$SRV/$_n.err"
            return 1
        fi
        echo "  peer $_n did not start ($_how; stderr: $(head -c 300 "$SRV/$_n.err" | tr '\n' ' ')); starting it again"
        _try=2
    done
}

peer_stop() {
    eval "_pid=\$${1}_PID"
    kill -TERM "$_pid" 2>/dev/null
    srv_wait_exit "$_pid" 10
}

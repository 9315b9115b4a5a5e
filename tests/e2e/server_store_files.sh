#!/bin/sh
# server_store_files.sh -- what an operator does to a running server's
# store and signals: one process writes a store (a second `serve` or a
# `route --db` on it refuses to start and names the file); a store deleted
# or replaced under the server stops it before anything more is
# acknowledged; SIGHUP reads the --config file again; a start that cannot
# use its --db says what is wrong with the path and creates nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_server.sh"

cat >"$SRV/two.yaml" <<'EOF'
agents:
  - {id: ann}
  - {id: bob}
pools:
  all: [ann, bob]
rules:
  - {name: all, pool: all, strategy: round_robin}
EOF

post() {
    curl -s -o "$2" -w '%{http_code}' --max-time 30 -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' --data-binary "{\"id\":\"$1\"}" "$URL/v1/leads"
}

a_second_writer_is_refused() {
    KEY=$(mkkey "$SRV/one.db" admin)
    srv_start one "$SRV/one.db" "$SRV/two.yaml" || { fail "$srv_error"; return; }
    api POST /v1/leads '{"id":"W1"}'
    expect_code 201
    lr serve --db "$SRV/one.db" --listen 127.0.0.1:0
    expect_status 2
    expect_err_has "one.db is in use by another leadrouter process"
    echo '{"id":"R1"}' >"$T/e.jsonl"
    lr route --config "$SRV/two.yaml" --db "$SRV/one.db" "$T/e.jsonl"
    expect_status 2
    expect_err_has "one.db is in use by another leadrouter process"
    # the first one goes on as if nothing happened, R1 not in its store
    api POST /v1/leads '{"id":"W2"}'
    expect_code 201
    expect_jq '.decisions[0].agent' '"bob"'
    api GET /v1/leads/R1
    expect_code 404
    # keys are still made beside it
    [ -n "$(mkkey "$SRV/one.db" ingest)" ] || fail "keys create beside the server failed"
    srv_term one
    [ "$srv_rc" = 0 ] || fail "serve exited $srv_rc"
    # once it stopped, route --db may write the store
    lr route --config "$SRV/two.yaml" --db "$SRV/one.db" "$T/e.jsonl"
    expect_status 0
    expect_out_has '"lead":"R1","action":"assigned","agent":"ann"'
}

# deleted (rm) or replaced (mv over it, as a restore does) while serving:
# the next request gets no 2xx and the server stops, naming the file
the_store_deleted_or_replaced_stops_the_server() {
    for how in rm mv; do
        KEY=$(mkkey "$SRV/$how.db" admin)
        srv_start "$how" "$SRV/$how.db" "$SRV/two.yaml" || { fail "$srv_error"; return; }
        [ "$(post A1 "$T/a1")" = 201 ] || fail "$how: A1 was not created"
        if [ "$how" = rm ]; then
            rm "$SRV/$how.db"
        else
            cp "$SRV/$how.db" "$SRV/$how.copy" && mv "$SRV/$how.copy" "$SRV/$how.db"
        fi
        code=$(post A2 "$T/a2")
        [ "$code" = 201 ] && fail "$how: a lead was acknowledged after the store was ${how}'d"
        eval "_p=\$${how}_PID"
        srv_wait_exit "$_p" 30
        [ "$srv_rc" = 0 ] && fail "$how: the server went on (exit 0)"
        [ "$srv_rc" = 255 ] && fail "$how: the server is still running"
        if [ "$how" = rm ]; then
            grep -q "FATAL: .*$how.db was deleted while the store was in use" "$SRV/$how.err" ||
                { fail "rm: no word of the deleted store"; show stderr "$SRV/$how.err"; }
        else
            grep -q "FATAL: .*$how.db now names another file while the store was in use" "$SRV/$how.err" ||
                { fail "mv: no word of the replaced store"; show stderr "$SRV/$how.err"; }
        fi
    done
    [ -e "$SRV/rm.db" ] && fail "a file was made again at the deleted store's path"
}

sighup_reads_the_config_again() {
    cp "$SRV/two.yaml" "$T/c.yaml"
    KEY=$(mkkey "$SRV/hup.db" admin)
    srv_start hup "$SRV/hup.db" "$T/c.yaml" || { fail "$srv_error"; return; }
    hup() {     # hup TEXT: SIGHUP, then wait until stderr has TEXT
        kill -HUP "$hup_PID"
        _i=0
        while [ $_i -lt 200 ] && ! grep -q "$1" "$SRV/hup.err"; do sleep 0.05; _i=$((_i + 1)); done
        grep -q "$1" "$SRV/hup.err" || { fail "after SIGHUP, no '$1'"; show stderr "$SRV/hup.err"; }
    }
    hup "SIGHUP: .*c.yaml is the config in use (version 1): nothing changed"
    api GET /v1/config
    expect_jq '.version' 1
    sed 's/round_robin/least_busy/' "$SRV/two.yaml" >"$T/c.yaml"
    hup "SIGHUP: .*c.yaml applied as a config change (version 2)"
    api GET /v1/config
    expect_jq '.version' 2
    expect_body_has "least_busy"
    echo "rules: [" >>"$T/c.yaml"
    hup "SIGHUP: the config in use stays"
    grep -q "c.yaml:9:1: YAML syntax error" "$SRV/hup.err" ||
        { fail "the invalid file's error is not named by file:line"; show stderr "$SRV/hup.err"; }
    api GET /v1/config
    expect_jq '.version' 2
    api POST /v1/leads '{"id":"H1"}'
    expect_code 201
    expect_jq '.decisions[0].strategy' '"least_busy"'
    srv_term hup
    [ "$srv_rc" = 0 ] || fail "serve exited $srv_rc after SIGHUPs and SIGTERM"
}

a_db_path_that_cannot_be_used_creates_nothing() {
    lr serve --db "$T/new.db" --listen 127.0.0.1:0
    expect_status 2
    expect_err_has "new.db does not exist: give a config with --config"
    [ -e "$T/new.db" ] && fail "serve without --config made $T/new.db"
    lr serve --config "$SRV/two.yaml" --db "$T/nodir/x.db" --listen 127.0.0.1:0
    expect_status 2
    expect_err_has "x.db: the directory $T/nodir does not exist"
    lr serve --config "$SRV/two.yaml" --db "$T" --listen 127.0.0.1:0
    expect_status 2
    expect_err_has "$T is a directory: --db names the store's file"
}

tcase a_second_writer_is_refused
tcase the_store_deleted_or_replaced_stops_the_server
tcase sighup_reads_the_config_again
tcase a_db_path_that_cannot_be_used_creates_nothing
finish

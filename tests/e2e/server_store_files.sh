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

# deleted (rm) or replaced (a backup moved over it, as a restore does)
# while serving: the next request gets no 2xx and the server stops,
# naming the file, and sets the old store's -wal and -shm aside, so that
# the file now at the path starts clean
the_store_deleted_or_replaced_stops_the_server() {
    for how in rm mv; do
        KEY=$(mkkey "$SRV/$how.db" admin)
        srv_start "$how" "$SRV/$how.db" "$SRV/two.yaml" || { fail "$srv_error"; return; }
        [ "$(post A1 "$T/a1")" = 201 ] || fail "$how: A1 was not created"
        if [ "$how" = rm ]; then
            rm "$SRV/$how.db"
        else
            python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).backup(sqlite3.connect(sys.argv[2]))' \
                "$SRV/$how.db" "$SRV/$how.copy" && mv "$SRV/$how.copy" "$SRV/$how.db"
        fi
        code=$(post A2 "$T/a2")
        [ "$code" = 201 ] && fail "$how: a lead was acknowledged after the store was ${how}'d"
        eval "_p=\$${how}_PID"
        srv_wait_exit "$_p" 30
        [ "$srv_rc" = 0 ] && fail "$how: the server went on (exit 0)"
        [ "$srv_rc" = 255 ] && fail "$how: the server is still running"
        if [ "$how" = rm ]; then
            grep -q "FATAL: .*$how.db was deleted while the server used it" "$SRV/$how.err" ||
                { fail "rm: no word of the deleted store"; show stderr "$SRV/$how.err"; }
        else
            grep -q "FATAL: .*$how.db now names another file while the server used it" "$SRV/$how.err" ||
                { fail "mv: no word of the replaced store"; show stderr "$SRV/$how.err"; }
        fi
        # the old store's WAL was set aside: it must not be applied to
        # the file now at the path
        [ -e "$SRV/$how.db-wal" ] && fail "$how: the old store's -wal is still beside the path"
        [ -e "$SRV/$how.db-wal.orphan" ] || fail "$how: no $how.db-wal.orphan"
    done
    [ -e "$SRV/rm.db" ] && fail "a file was made again at the deleted store's path"
    # the backup moved over mv.db starts clean and holds A1 (backed up
    # after its 201)
    srv_start mv2 "$SRV/mv.db" "" || { fail "$srv_error"; return; }
    api GET /v1/leads/A1
    expect_code 200 "A1 in the copy moved over the store"
    api GET /v1/leads/A2
    expect_code 404 "A2, refused after the store was replaced"
    srv_term mv2
    [ "$srv_rc" = 0 ] || fail "the server on the copy exited $srv_rc"
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
    echo "rules: [" >"$T/bad.yaml"
    lr serve --config "$T/bad.yaml" --db "$T/new.db" --listen 127.0.0.1:0
    expect_status 2
    expect_err_has "bad.yaml:2:1: YAML syntax error"
    [ -e "$T/new.db" ] && fail "a start whose config does not load left a store"
    lr serve --config "$SRV/two.yaml" --db "$T/nodir/x.db" --listen 127.0.0.1:0
    expect_status 2
    expect_err_has "x.db: the directory $T/nodir does not exist"
    lr serve --config "$SRV/two.yaml" --db "$T" --listen 127.0.0.1:0
    expect_status 2
    expect_err_has "$T is a directory: --db names the store's file"
}

# A full disk (a 3 MiB tmpfs; skipped where this user cannot mount one):
# the request whose commit found no room is answered 503 naming the
# cause, the server stops, and once room is made (a filler file removed)
# every lead that got a 201 is there and the refused one is not.
a_full_disk_answers_503_and_loses_nothing_acknowledged() {
    mkdir -p "$T/small"
    if ! mount -t tmpfs -o size=3m tmpfs "$T/small" 2>/dev/null; then
        echo "  (skipped: cannot mount a tmpfs here)"
        return
    fi
    cp "$SRV/two.yaml" "$T/small/c.yaml"
    dd if=/dev/zero of="$T/small/filler" bs=1024 count=1200 2>/dev/null
    KEY=$(mkkey "$T/small/s.db" admin)
    if ! srv_start full "$T/small/s.db" "$T/small/c.yaml"; then
        fail "$srv_error"; umount "$T/small"; return
    fi
    pad=$(head -c 1500 /dev/zero | tr '\0' x)
    i=0; code=201
    : >"$T/ok.ids"
    while [ $i -lt 5000 ] && [ "$code" = 201 ]; do
        i=$((i + 1))
        code=$(curl -s -o "$T/last" -w '%{http_code}' --max-time 30 -H "Authorization: Bearer $KEY" \
            -H 'Content-Type: application/json' \
            --data-binary "{\"id\":\"F$i\",\"fields\":{\"pad\":\"$pad\"}}" "$URL/v1/leads")
        [ "$code" = 201 ] && echo "F$i" >>"$T/ok.ids"
    done
    [ "$code" = 503 ] || { fail "F$i: HTTP $code when the disk filled, expected 503"; show body "$T/last"; }
    grep -q '"code":"store_unavailable"' "$T/last" && grep -q 'no space left on the file system of' "$T/last" ||
        { fail "the 503 does not say the disk is full"; show body "$T/last"; }
    srv_wait_exit "$full_PID" 30
    [ "$srv_rc" != 0 ] && [ "$srv_rc" != 255 ] || fail "the server did not stop (status $srv_rc)"
    grep -q "FATAL: COMMIT: .*no space left" "$SRV/full.err" || { fail "no FATAL naming the full disk"; show stderr "$SRV/full.err"; }
    rm "$T/small/filler"
    srv_start full2 "$T/small/s.db" "$T/small/c.yaml" || { fail "$srv_error"; umount "$T/small"; return; }
    # as many leads stored as got a 201 (no request was in flight but
    # the refused one), the last of them among them, the refused one not
    n=$(wc -l <"$T/ok.ids")
    [ "$n" -gt 20 ] || fail "only $n leads before the disk filled"
    api GET /v1/stats
    expect_jq '.leads' "$n"
    api GET "/v1/leads/F$((i - 1))"
    expect_code 200 "the last lead answered 201"
    api GET "/v1/leads/F$i"
    expect_code 404 "the lead answered 503"
    srv_term full2
    umount "$T/small"
}

# Another process (a sqlite3 client) holding the store's write lock when
# the server starts: it starts all the same (its requests wait for the
# lock, a_store_locked_by_another_process_makes_requests_wait).
a_start_while_another_process_holds_the_lock() {
    KEY=$(mkkey "$SRV/held.db" admin)
    srv_start h1 "$SRV/held.db" "$SRV/two.yaml" || { fail "$srv_error"; return; }
    srv_term h1
    hold_lock "$SRV/held.db" || fail "the lock was not taken"
    _t0=$(date +%s)
    srv_start h2 "$SRV/held.db" "" || { fail "$srv_error while another process held the lock"; show stderr "$SRV/h2.err"; }
    [ $(($(date +%s) - _t0)) -lt 4 ] || fail "the start waited for the lock"
    release_lock
    api POST /v1/leads '{"id":"HL1"}'
    expect_code 201
    srv_term h2
}

tcase a_second_writer_is_refused
tcase a_start_while_another_process_holds_the_lock
tcase the_store_deleted_or_replaced_stops_the_server
tcase sighup_reads_the_config_again
tcase a_db_path_that_cannot_be_used_creates_nothing
tcase a_full_disk_answers_503_and_loses_nothing_acknowledged
finish

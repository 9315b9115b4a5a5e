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

# A start whose address is taken exits 2 before it touches a store: no
# new store is made (its seed and config kept for ever), and an existing
# one gets nothing journaled (its config file changed: no config change).
an_address_in_use_changes_no_store() {
    KEY=$(mkkey "$SRV/busy.db" admin)
    srv_start busy "$SRV/busy.db" "$SRV/two.yaml" || { fail "$srv_error"; return; }
    _port=${URL##*:}
    lr serve --config "$SRV/two.yaml" --db "$T/new.db" --seed 9 --listen "127.0.0.1:$_port"
    expect_status 2
    expect_err_has "leadrouter serve: cannot listen on 127.0.0.1:$_port: Address already in use"
    [ -e "$T/new.db" ] && fail "a store was made by a start that could not listen"
    echo '{"id":"O1"}' >"$T/e.jsonl"
    lr route --config "$SRV/two.yaml" --db "$T/old.db" "$T/e.jsonl"
    expect_status 0
    _before=$(rows "$T/old.db")
    sed 's/{id: bob}/{id: bob, weight: 2}/' "$SRV/two.yaml" >"$T/other.yaml"
    lr serve --config "$T/other.yaml" --db "$T/old.db" --listen "127.0.0.1:$_port"
    expect_status 2
    [ "$(rows "$T/old.db")" = "$_before" ] || fail "a start that could not listen journaled: $(rows "$T/old.db") rows, not $_before"
    srv_term busy
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

# deleted, moved away and back, replaced (a backup moved over it) or
# emptied (`> DB`) while serving: the next request gets no 2xx and the
# server stops, naming the file. The -wal and -shm stay at the path: a
# store moved back keeps every lead it acknowledged (the 200 leads posted
# at once, most of them not yet copied into the database file); a backup
# put at the path starts clean once they are moved aside, as the message
# says.
the_store_deleted_or_replaced_stops_the_server() {
    # normal, inline: the same without the flush thread (--sync normal,
    # --inline-fsync), where the writer looks at the paths itself
    for how in rm away mv empty normal inline; do
        KEY=$(mkkey "$SRV/$how.db" admin)
        eval "key_$how=\$KEY"
        # away: no background checkpoint, the leads stay in the WAL only
        _cp=100 _opt=
        [ "$how" = away ] && _cp=0
        [ "$how" = normal ] && _opt="--sync normal"
        [ "$how" = inline ] && _opt="--inline-fsync"
        # shellcheck disable=SC2086
        srv_start "$how" "$SRV/$how.db" "$SRV/two.yaml" --rate-limit 0 --checkpoint-every "$_cp" $_opt ||
            { fail "$srv_error"; return; }
        [ "$(post A1 "$T/a1")" = 201 ] || fail "$how: A1 was not created"
        case $how in
        rm | normal | inline) rm "$SRV/$how.db" ;;
        away)
            _j=0 _pids=
            while [ $_j -lt 200 ]; do
                _j=$((_j + 1))
                post "B$_j" /dev/null >"$T/b$_j" &
                _pids="$_pids $!"
            done
            wait $_pids         # not the server, also a child of this shell
            for _f in "$T"/b*; do
                [ "$(cat "$_f")" = 201 ] || fail "away: ${_f##*/} got HTTP $(cat "$_f")"
            done
            mv "$SRV/$how.db" "$SRV/$how.moved" ;;
        empty) : >"$SRV/$how.db" ;;
        mv)
            python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).backup(sqlite3.connect(sys.argv[2]))' \
                "$SRV/$how.db" "$SRV/$how.copy" && mv "$SRV/$how.copy" "$SRV/$how.db" ;;
        esac
        code=$(post A2 "$T/a2")
        [ "$code" = 201 ] && fail "$how: a lead was acknowledged after the store was changed ($how)"
        eval "_p=\$${how}_PID"
        srv_wait_exit "$_p" 30
        [ "$srv_rc" = 0 ] && fail "$how: the server went on (exit 0)"
        [ "$srv_rc" = 255 ] && fail "$how: the server is still running"
        case $how in
        rm | away | normal | inline) what="was deleted or moved away" ;;
        empty) what="was emptied (0 bytes)" ;;
        mv) what="now names another file" ;;
        esac
        grep -q "FATAL: .*$how.db $what while the server used it" "$SRV/$how.err" ||
            { fail "$how: no FATAL saying the store $what"; show stderr "$SRV/$how.err"; }
        grep -q "before a server starts on another file put at the path (a backup), move them aside" \
            "$SRV/$how.err" || fail "$how: the message does not say what to do with the -wal"
    done
    [ -e "$SRV/rm.db" ] && fail "a file was made again at the deleted store's path"
    # moved back: every acknowledged lead is there (A2, committed but never
    # acknowledged, may be too, as after a crash: sent again it is a 200)
    mv "$SRV/away.moved" "$SRV/away.db"
    KEY=$key_away
    srv_start away2 "$SRV/away.db" "" || { fail "$srv_error"; return; }
    api GET /v1/leads/A2
    _n=201
    [ "$code" = 200 ] && _n=202
    api GET /v1/stats
    expect_jq '.leads' "$_n"
    api GET /v1/leads/B200
    expect_code 200 "B200 after the store was moved back"
    srv_term away2
    # the backup at mv.db, its old -wal and -shm moved aside: A1 (backed up
    # after its 201) and not A2
    mv "$SRV/mv.db-wal" "$SRV/mv.db-wal.old" && mv "$SRV/mv.db-shm" "$SRV/mv.db-shm.old"
    KEY=$key_mv
    srv_start mv2 "$SRV/mv.db" "" || { fail "$srv_error"; return; }
    api GET /v1/leads/A1
    expect_code 200 "A1 in the backup moved over the store"
    api GET /v1/leads/A2
    expect_code 404 "A2, refused after the store was replaced"
    srv_term mv2
    [ "$srv_rc" = 0 ] || fail "the server on the backup exited $srv_rc"
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
    # a config that does not load makes no store either
    printf 'agents:\n  - id: a1\npools:\n  p: {members: [a1], strategy: no_such}\n' >"$T/bad.yaml"
    lr serve --config "$T/bad.yaml" --db "$T/new.db" --listen 127.0.0.1:0
    expect_status 2
    expect_err_has "bad.yaml:4"
    # every error a line of its own, "FILE:LINE:COL: ...", as `check` prints them
    [ "$(grep -c "^$T/bad.yaml:[0-9]*:[0-9]*: " "$T/err")" = "$(wc -l <"$T/err")" ] ||
        { fail "serve's config errors are not FILE:LINE:COL lines"; show stderr "$T/err"; }
    [ -e "$T/new.db" ] && fail "serve with a config that does not load made $T/new.db"
    # an empty file (touch, mktemp) is no store yet either
    : >"$T/empty.db"
    lr serve --config "$T/bad.yaml" --db "$T/empty.db" --listen 127.0.0.1:0
    expect_status 2
    lr serve --db "$T/empty.db" --listen 127.0.0.1:0
    expect_status 2
    expect_err_has "empty.db is empty: give a config with --config"
    [ -s "$T/empty.db" ] && fail "a failed start made a store in the empty file"
    lr serve --config "$SRV/two.yaml" --db "$T/nodir/x.db" --listen 127.0.0.1:0
    expect_status 2
    expect_err_has "x.db: its directory $T/nodir: No such file or directory"
    lr serve --config "$SRV/two.yaml" --db "$T" --listen 127.0.0.1:0
    expect_status 2
    expect_err_has "$T is a directory: --db names the store's file"
}

# A full disk (a 3 MiB tmpfs; skipped where this user cannot mount one):
# the request whose commit found no room is answered 503 naming the
# cause, the server stops, and once room is made (a filler file removed)
# every lead that got a 201 is there.
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
    grep -q '"code":"store_unavailable"' "$T/last" && grep -q 'no space left on the file system of' "$T/last" &&
        grep -q 'may or may not have been stored' "$T/last" ||
        { fail "the 503 does not say the disk is full and what became of the lead"; show body "$T/last"; }
    srv_wait_exit "$full_PID" 30
    [ "$srv_rc" != 0 ] && [ "$srv_rc" != 255 ] || fail "the server did not stop (status $srv_rc)"
    grep -q "FATAL: COMMIT: .*no space left" "$SRV/full.err" || { fail "no FATAL naming the full disk"; show stderr "$SRV/full.err"; }
    rm "$T/small/filler"
    srv_start full2 "$T/small/s.db" "$T/small/c.yaml" || { fail "$srv_error"; umount "$T/small"; return; }
    # as many leads stored as got a 201 (no request was in flight but
    # the refused one), the last of them among them; the refused one may
    # be there (SQLite may fail after its commit frame is written), and
    # then once, and counted
    n=$(wc -l <"$T/ok.ids")
    [ "$n" -gt 20 ] || fail "only $n leads before the disk filled"
    api GET "/v1/leads/F$i"
    [ "$code" = 200 ] && n=$((n + 1))
    [ "$code" = 200 ] || [ "$code" = 404 ] || fail "GET F$i: HTTP $code"
    api GET /v1/stats
    expect_jq '.leads' "$n"
    api GET "/v1/leads/F$((i - 1))"
    expect_code 200 "the last lead answered 201"
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

# The --config file is read once: a config from a pipe starts a new store
# (it was read twice, the second time empty, and the start failed after
# making the store).
a_config_from_a_pipe_starts_a_new_store() {
    cat "$SRV/two.yaml" | "$BIN" serve --config /dev/stdin --db "$T/p.db" --listen 127.0.0.1:0 \
        >"$T/p.out" 2>"$T/p.err" &
    _pid=$!
    echo "$_pid" >>"$SRV/pids"
    _i=0
    while [ $_i -lt 600 ] && ! grep -q '^leadrouter: listening on ' "$T/p.out" 2>/dev/null; do
        kill -0 "$_pid" 2>/dev/null || break
        sleep 0.05; _i=$((_i + 1))
    done
    grep -q '^leadrouter: listening on ' "$T/p.out" ||
        { fail "a config from a pipe did not start"; show stderr "$T/p.err"; }
    kill -TERM "$_pid" 2>/dev/null
    srv_wait_exit "$_pid" 30
    [ "$srv_rc" = 0 ] || fail "the server exited $srv_rc"
    [ "$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM events WHERE type = ? AND length(body) > 0", ("config",)).fetchone()[0])' "$T/p.db")" = 1 ] ||
        fail "the piped config is not the store's first entry"
}

# A store's config that an earlier version accepted and this one would
# refuse (offer.attempts on a broadcast rule) replays as it was accepted;
# the same file given again with --config is no change and starts.
a_config_accepted_before_starts_again_with_the_same_file() {
    older_config "$T"
    lr check --config "$T/old.yaml"
    expect_status 2
    srv_start bc "$T/bc.db" "$T/bc.yaml" || { fail "$srv_error"; return; }
    srv_term bc
    set_stored_config "$T/bc.db" "$T/old.yaml" >"$T/n"
    [ "$(cat "$T/n")" = 1 ] || { fail "no config entry"; return; }
    srv_start bc2 "$T/bc.db" "$T/old.yaml" ||
        { fail "$srv_error"; show stderr "$SRV/bc2.err"; return; }
    # SIGHUP with that file: no change either (the text is the one in use)
    kill -HUP "$bc2_PID"
    _i=0
    while [ $_i -lt 200 ] && ! grep -q "SIGHUP" "$SRV/bc2.err"; do sleep 0.05; _i=$((_i + 1)); done
    grep -q "SIGHUP: .*old.yaml is the config in use (version 1): nothing changed" "$SRV/bc2.err" ||
        { fail "SIGHUP with the config in use"; show stderr "$SRV/bc2.err"; }
    srv_term bc2
    [ "$srv_rc" = 0 ] || fail "the server exited $srv_rc"
}

# rows DB: the store's events and decisions, counted ("N M").
rows() {
    python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); print(c.execute("SELECT count(*) FROM events").fetchone()[0], c.execute("SELECT count(*) FROM decisions").fetchone()[0])' "$1"
}

# A start on an existing store whose --config differs and does not load
# fails before it writes anything: an offer that ran out while the server
# was stopped is not moved on by the start that fails.
a_start_with_a_config_that_does_not_load_writes_nothing() {
    cat >"$T/of.yaml" <<'EOF'
agents: [{id: a}, {id: b}]
pools: {p: [a, b]}
rules: [{name: r, pool: p, strategy: round_robin, offer: {timeout: 1s}}]
EOF
    KEY=$(mkkey "$T/of.db" admin)
    srv_start of "$T/of.db" "$T/of.yaml" || { fail "$srv_error"; return; }
    api POST /v1/leads '{"id":"O1"}'
    expect_code 201
    srv_term of
    sleep 1.5
    _before=$(rows "$T/of.db")
    sed 's/round_robin/no_such_strategy/' "$T/of.yaml" >"$T/ofbad.yaml"
    lr serve --config "$T/ofbad.yaml" --db "$T/of.db" --listen 127.0.0.1:0
    expect_status 2
    expect_err_has "ofbad.yaml:3"
    _after=$(rows "$T/of.db")
    [ "$_after" = "$_before" ] || fail "the failed start wrote to the store: events, decisions $_before -> $_after"
    # the good file: the expired offer moves on at this start
    srv_start of2 "$T/of.db" "$T/of.yaml" || { fail "$srv_error"; return; }
    api GET /v1/leads/O1
    expect_jq '[.decisions[].action] | index("expired") != null' true
    srv_term of2
}

tcase a_second_writer_is_refused
tcase an_address_in_use_changes_no_store
tcase a_config_from_a_pipe_starts_a_new_store
tcase a_config_accepted_before_starts_again_with_the_same_file
tcase a_start_with_a_config_that_does_not_load_writes_nothing
tcase a_start_while_another_process_holds_the_lock
tcase the_store_deleted_or_replaced_stops_the_server
tcase sighup_reads_the_config_again
tcase a_db_path_that_cannot_be_used_creates_nothing
tcase a_full_disk_answers_503_and_loses_nothing_acknowledged
finish

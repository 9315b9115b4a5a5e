#!/bin/sh
# cli_keys.sh -- `leadrouter keys` and the store commands that only read:
#
#   - a key that cannot be written out (a full disk) is not stored: exit 2,
#     and `keys list` shows no key (it is shown once: a key nobody could
#     read would be a working admin key nobody has);
#   - `keys list`, `deliveries list` and `deliveries retry` on a path with
#     no store say so (exit 2) and make no empty store there;
#   - a file that is not a store (an empty file, another program's SQLite
#     database) is refused by every command that opens a store, and left
#     as it was; keys create makes a store in an empty file;
#   - any command whose output cannot be written (a full disk, a reader
#     that went away) exits 2 saying so.
. "$(dirname "$0")/lib.sh"

a_key_that_cannot_be_shown_is_not_stored() {
    timeout "$TIMEOUT" "$BIN" keys create --db "$T/k.db" --role admin >/dev/full 2>"$T/err"
    rc=$?
    expect_status 2
    grep -q 'cannot write the key to standard output: it was removed from the store' "$T/err" ||
        { fail "no message"; show stderr "$T/err"; }
    lr keys list --db "$T/k.db"
    expect_status 0
    [ "$(wc -l <"$T/out")" -eq 1 ] || { fail "a key was stored"; show out "$T/out"; }
    lr keys create --db "$T/k.db" --role admin
    expect_status 0
    grep -q '^lr_' "$T/out" || { fail "no key printed"; show out "$T/out"; }
    lr keys list --db "$T/k.db"
    [ "$(wc -l <"$T/out")" -eq 2 ] || { fail "the key was not stored"; show out "$T/out"; }
}

reading_commands_make_no_store() {
    for _c in "keys list" "deliveries list" "deliveries retry"; do
        # shellcheck disable=SC2086
        lr $_c --db "$T/typo.db" $([ "$_c" = "deliveries retry" ] && echo dlv_1)
        expect_status 2
        grep -q "no store at $T/typo.db" "$T/err" || { fail "$_c: no message"; show stderr "$T/err"; }
        [ -e "$T/typo.db" ] && { fail "$_c made a store"; rm -f "$T/typo.db"; }
    done
}

# A file that is not a store (empty, another program's SQLite database):
# the reading commands refuse it and leave it as it was; so do the ones
# that make a store (keys create, serve).
a_file_that_is_not_a_store_is_left_alone() {
    : >"$T/empty.db"
    python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table invoices(id integer primary key, total real)"); c.execute("insert into invoices values (1, 9.5)"); c.commit()' "$T/other.db"
    cp "$T/other.db" "$T/other.orig"
    for _c in "keys list" "deliveries list" "deliveries retry"; do
        # shellcheck disable=SC2086
        lr $_c --db "$T/empty.db" $([ "$_c" = "deliveries retry" ] && echo dlv_1)
        expect_status 2
        grep -q "$T/empty.db: not a leadrouter store: it holds no tables" "$T/err" ||
            { fail "$_c: no message for an empty file"; show stderr "$T/err"; }
        [ -s "$T/empty.db" ] && fail "$_c wrote into the empty file"
        # shellcheck disable=SC2086
        lr $_c --db "$T/other.db" $([ "$_c" = "deliveries retry" ] && echo dlv_1)
        expect_status 2
        grep -q "$T/other.db: not a leadrouter store: another program's SQLite database (its tables are not leadrouter's); nothing was changed" "$T/err" ||
            { fail "$_c: no message for another program's database"; show stderr "$T/err"; }
    done
    lr keys create --db "$T/other.db" --role admin
    expect_status 2
    grep -q "not a leadrouter store" "$T/err" || { fail "keys create: no message"; show stderr "$T/err"; }
    # a device is no store (SQLite would make /dev/null-journal beside it)
    for _c in "keys create --role admin" "keys list" "deliveries list"; do
        lr $_c --db /dev/null
        expect_status 2
        grep -q "/dev/null is not a regular file: --db names the store's file" "$T/err" ||
            { fail "$_c: no message"; show stderr "$T/err"; }
    done
    [ -e /dev/null-journal ] && { rm -f /dev/null-journal; fail "a journal was made beside /dev/null"; }
    printf 'agents: [{id: a}]\npools: {p: [a]}\nrules: [{name: r, pool: p, strategy: round_robin}]\n' >"$T/c.yaml"
    lr serve --config "$T/c.yaml" --db "$T/other.db" --listen 127.0.0.1:0
    expect_status 2
    grep -q "not a leadrouter store" "$T/err" || { fail "serve: no message"; show stderr "$T/err"; }
    cmp -s "$T/other.db" "$T/other.orig" || fail "another program's database was changed"
    [ -e "$T/other.db-wal" ] && fail "another program's database got a WAL"
    # an empty file is where keys create makes a new store
    lr keys create --db "$T/empty.db" --role admin
    expect_status 0
}

output_that_cannot_be_written_is_an_error() {
    printf 'agents: [{id: a}]\npools: {p: [a]}\nrules: [{name: r, pool: p, strategy: round_robin}]\n' >"$T/c.yaml"
    timeout "$TIMEOUT" "$BIN" check --config "$T/c.yaml" >/dev/full 2>"$T/err"
    rc=$?
    expect_status 2
    grep -q 'leadrouter: cannot write to standard output' "$T/err" ||
        { fail "no message"; show stderr "$T/err"; }
    # a reader that went away is the same: exit 2, not a signal
    lr keys create --db "$T/p.db" --role admin
    # (its standard output a pipe whose reading end is already closed)
    rc=$(/usr/bin/python3 -c '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
with open(sys.argv[3], "wb") as err:
    print(subprocess.call([sys.argv[1], "keys", "list", "--db", sys.argv[2]], stdout=w, stderr=err,
                          timeout=60))
' "$BIN" "$T/p.db" "$T/err")
    expect_status 2
    grep -q 'leadrouter: cannot write to standard output' "$T/err" ||
        { fail "no message for the closed pipe"; show stderr "$T/err"; }
}

# A key id is 8 base64url characters: one in 64 starts with '-', and
# `keys revoke` takes it as the id, not as an option ("-h..." printed the
# help and revoked nothing).
an_id_that_starts_with_a_dash_is_revoked() {
    lr keys create --db "$T/k.db" --role admin
    expect_status 0
    /usr/bin/python3 -c '
import hashlib, sqlite3, sys
key = "lr_-hRvkTstAAAAAAAAAAAAAAAAAAAAAAAA"
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO keys(id, hash, role, agent, created) VALUES (?, ?, ?, NULL, 0)",
          (key[3:11], hashlib.blake2b(key.encode(), digest_size=32).digest(), "admin"))
c.commit()
' "$T/k.db"
    lr keys revoke --db "$T/k.db" -hRvkTst
    expect_status 0
    grep -q 'key id: -hRvkTst revoked' "$T/err" || { fail "no word of the revocation"; show stderr "$T/err"; }
    "$BIN" keys list --db "$T/k.db" | grep -q '^-hRvkTst ' && fail "keys list still shows -hRvkTst"
    lr keys revoke -- -hRvkTst --db "$T/k.db"
    expect_status 2
    lr keys revoke --db "$T/k.db" -- -hRvkTst
    expect_status 2
    grep -q "no key '-hRvkTst'" "$T/err" || { fail "no message for a key revoked twice"; show stderr "$T/err"; }
}

tcase a_key_that_cannot_be_shown_is_not_stored
tcase reading_commands_make_no_store
tcase a_file_that_is_not_a_store_is_left_alone
tcase output_that_cannot_be_written_is_an_error
tcase an_id_that_starts_with_a_dash_is_revoked
finish

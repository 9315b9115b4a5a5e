# lib.sh -- helpers for the end-to-end tests of the leadrouter command.
#
# Sourced by tests/e2e/cli_*.sh (POSIX sh). Each test case is a shell
# function run by `tcase NAME`, which prints "ok NAME" or "FAIL NAME" (with
# the reasons above it); `finish` exits non-zero when any case failed.
#
#   lr route --config "$T/c.yaml" "$T/e.jsonl"   runs the binary: stdout in
#                                  $T/out, stderr in $T/err, status in $rc
#   expect_status 0                asserts on $rc
#   expect_out <<EOF ... EOF       stdout is exactly these lines
#   expect_err_has "text"          stderr contains the text
#
# $T is a fresh temporary directory per case, removed afterwards (and on
# exit or interrupt). Every run of the binary is bounded by a timeout so a
# hang fails the case instead of stopping the suite.

# tests/run-all runs every tests/e2e/*.sh, this file too: alone it has
# nothing to run.
case $0 in */lib.sh | lib.sh) exit 0 ;; esac

BIN=${LEADROUTER_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/test/leadrouter}
TIMEOUT=${LEADROUTER_TEST_TIMEOUT:-60}
E2E_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/lr-e2e.XXXXXX") || exit 2
trap 'rm -rf "$E2E_ROOT"' EXIT
trap 'rm -rf "$E2E_ROOT"; exit 130' INT TERM

n_ok=0
n_fail=0
case_failed=0

if [ ! -x "$BIN" ]; then
    echo "FAIL $(basename "$0"): no binary at $BIN (make build/test/leadrouter)"
    exit 1
fi

# fail MESSAGE...: marks the current case failed and says why. It also
# leaves a mark in $T: a check at the end of a pipe (`echo x | expect_out`)
# runs in a subshell, whose case_failed the case never sees.
fail() {
    case_failed=1
    [ -n "${T:-}" ] && [ -d "$T" ] && : >"$T/.failed"
    echo "  $*"
}

# tcase NAME: runs the function NAME in a fresh $T and reports it.
tcase() {
    case_failed=0
    T="$E2E_ROOT/$1"
    mkdir -p "$T"
    rm -f "$T/.failed"
    "$1"
    [ -e "$T/.failed" ] && case_failed=1
    if [ "$case_failed" -eq 0 ]; then
        echo "ok $1"
        n_ok=$((n_ok + 1))
    else
        echo "FAIL $1"
        n_fail=$((n_fail + 1))
    fi
    rm -rf "$T"
}

# finish: exit status of the script (non-zero when a case failed).
finish() {
    [ "$n_fail" -eq 0 ]
    exit $?
}

# lr ARGS...: runs the binary with stdin from /dev/null unless redirected.
lr() {
    timeout "$TIMEOUT" "$BIN" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 124 ] && fail "timed out after ${TIMEOUT}s: leadrouter $*"
    return 0
}

# lr_in FILE ARGS...: as lr, with standard input from FILE.
lr_in() {
    _in=$1; shift
    timeout "$TIMEOUT" "$BIN" "$@" <"$_in" >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 124 ] && fail "timed out after ${TIMEOUT}s: leadrouter $* < $_in"
    return 0
}

# show NAME FILE: prints FILE indented, for a failure report.
show() {
    echo "  --- $1:"
    sed -n '1,40s/^/    /p' "$2"
}

expect_status() {
    if [ "$rc" -ne "$1" ]; then
        fail "exit status $rc, expected $1"
        show stderr "$T/err"
    fi
}

# expect_out: stdout must equal standard input, byte for byte.
expect_out() {
    cat >"$T/expected"
    if ! cmp -s "$T/expected" "$T/out"; then
        fail "stdout differs from the expected (- expected, + got):"
        diff -u "$T/expected" "$T/out" | sed -n '3,60s/^/    /p'
    fi
}

# expect_file_eq FILE: stdout must equal FILE, byte for byte.
expect_out_file() {
    if ! cmp -s "$1" "$T/out"; then
        fail "stdout differs from $1"
        diff -u "$1" "$T/out" | sed -n '3,40s/^/    /p'
    fi
}

expect_out_empty() {
    if [ -s "$T/out" ]; then
        fail "stdout should be empty"
        show stdout "$T/out"
    fi
}

expect_err_empty() {
    if [ -s "$T/err" ]; then
        fail "stderr should be empty"
        show stderr "$T/err"
    fi
}

expect_out_has() {
    if ! grep -qF -- "$1" "$T/out"; then
        fail "stdout lacks: $1"
        show stdout "$T/out"
    fi
}

expect_err_has() {
    if ! grep -qF -- "$1" "$T/err"; then
        fail "stderr lacks: $1"
        show stderr "$T/err"
    fi
}

# expect_err_line REGEX: some stderr line matches the extended regex.
expect_err_line() {
    if ! grep -qE -- "$1" "$T/err"; then
        fail "no stderr line matches: $1"
        show stderr "$T/err"
    fi
}

# expect_lines N FILE: FILE has exactly N lines.
expect_lines() {
    _n=$(wc -l <"$2" | tr -d ' ')
    [ "$_n" -eq "$1" ] || fail "$2 has $_n lines, expected $1"
}

# fields FILTER: stdout reduced to one jq line per decision (jq -c FILTER).
fields() {
    jq -c "$1" "$T/out" 2>&1
}

# expect_fields FILTER <<EOF ... EOF: `fields FILTER` equals standard input.
expect_fields() {
    cat >"$T/expected"
    fields "$1" >"$T/got"
    if ! cmp -s "$T/expected" "$T/got"; then
        fail "jq -c '$1' differs (- expected, + got):"
        diff -u "$T/expected" "$T/got" | sed -n '3,60s/^/    /p'
    fi
}

#!/bin/sh
# docs_examples.sh -- runs every example of docs/configuration.md through
# the real `leadrouter` binary and compares its output byte for byte.
#
# An example is a run of consecutive fenced blocks (only blank lines
# between them):
#
#   ```yaml      a config
#   ```jsonl     events
#   ```decisions          stdout of: leadrouter route --config C E --no-explain
#   ```decisions-explain  stdout of: leadrouter route --config C E
#
# or a config followed by
#
#   ```check     stdout and stderr of: leadrouter check --config routing.yaml
#                (run in the directory of the config, so messages name it so)
#
# Prints "ok docs example N (line L of docs/configuration.md)" or "FAIL ..."
# with a diff, one line per example; then one line saying whether the
# tested examples use every strategy and every kind of fallback. A jsonl,
# decisions or check block that is not part of an example is a failure
# (a typo in a fence would otherwise drop an example silently). A route
# run must also exit 0 with nothing on stderr (ASan/LSan reports land
# there). Exits non-zero on any failure.
#
# Usage: tests/e2e/docs_examples.sh [MARKDOWN-FILE]
# LEADROUTER_BIN names the binary (default build/test/leadrouter).

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DOC=${1:-$ROOT/docs/configuration.md}
BIN=${LEADROUTER_BIN:-$ROOT/build/test/leadrouter}
TIMEOUT=${LEADROUTER_TEST_TIMEOUT:-60}
case $DOC in /*) ;; *) DOC=$PWD/$DOC ;; esac
NAME=${DOC#"$ROOT"/}

if [ ! -x "$BIN" ]; then
    echo "FAIL docs examples: no binary at $BIN (make build/test/leadrouter)"
    exit 1
fi
if [ ! -r "$DOC" ]; then
    echo "FAIL docs examples: cannot read $DOC"
    exit 1
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/lr-docs.XXXXXX") || exit 2
trap 'rm -rf "$W"' EXIT
trap 'rm -rf "$W"; exit 130' INT TERM

# Splits the markdown into examples: for example N, files N.yaml, N.jsonl,
# N.expected, and one manifest line "N KIND LINE" on stdout, where KIND is
# route, explain or check and LINE is the line of the yaml fence. A stray
# block gives "LANG stray LINE", a fence never closed "LANG unclosed LINE".
# A fence opens with ``` and a language at the start of a line and closes
# with a line of only ```.
awk -v dir="$W" '
function flush_block() {
    nb++; lang[nb] = cur_lang; line[nb] = cur_line; body[nb] = cur_body; adj[nb] = cur_adj
}
function put(file, text) { printf "%s", text > file; close(file) }
BEGIN { inblk = 0; nb = 0; adjacent = 0 }
inblk {
    if ($0 ~ /^```[ \t]*$/) { inblk = 0; flush_block(); adjacent = 1; next }
    cur_body = cur_body $0 "\n"
    next
}
/^```/ {
    cur_lang = substr($0, 4); sub(/[ \t].*$/, "", cur_lang)
    cur_line = NR; cur_body = ""; cur_adj = adjacent; inblk = 1
    next
}
/^[ \t]*$/ { next }
{ adjacent = 0 }
END {
    if (inblk) printf "%s unclosed %d\n", cur_lang, cur_line
    n = 0
    for (i = 1; i <= nb; i++) {
        if (lang[i] == "yaml" && i + 2 <= nb && adj[i + 1] && lang[i + 1] == "jsonl" &&
            adj[i + 2] && (lang[i + 2] == "decisions" || lang[i + 2] == "decisions-explain")) {
            n++
            put(dir "/" n ".yaml", body[i]); put(dir "/" n ".jsonl", body[i + 1])
            put(dir "/" n ".expected", body[i + 2])
            printf "%d %s %d\n", n, lang[i + 2] == "decisions" ? "route" : "explain", line[i]
            i += 2
        } else if (lang[i] == "yaml" && i + 1 <= nb && adj[i + 1] && lang[i + 1] == "check") {
            n++
            put(dir "/" n ".yaml", body[i]); put(dir "/" n ".expected", body[i + 1])
            printf "%d check %d\n", n, line[i]
            i += 1
        } else if (lang[i] == "jsonl" || lang[i] ~ /^decisions/ || lang[i] == "check") {
            printf "%s stray %d\n", lang[i], line[i]
        }
    }
}' "$DOC" >"$W/manifest" || { echo "FAIL docs examples: awk failed on $NAME"; exit 1; }

n_fail=0

# report N LINE STATUS: the result line of example N (STATUS is ok or FAIL).
report() {
    echo "$3 docs example $1 (line $2 of $NAME)"
    [ "$3" = ok ] || n_fail=$((n_fail + 1))
}

# show_diff EXPECTED GOT: the difference, indented, for a failure report.
show_diff() {
    diff -u "$1" "$2" | sed -n '3,80s/^/    /p'
}

while read -r n kind line; do
    case $kind in
    stray)
        echo "FAIL docs examples: a \`\`\`$n block at line $line of $NAME is not part of an example"
        n_fail=$((n_fail + 1))
        continue ;;
    unclosed)
        echo "FAIL docs examples: the \`\`\`$n block at line $line of $NAME is never closed"
        n_fail=$((n_fail + 1))
        continue ;;
    esac
    exp=$W/$n.expected got=$W/$n.got err=$W/$n.err
    case $kind in
    check)
        mkdir "$W/$n.d" && cp "$W/$n.yaml" "$W/$n.d/routing.yaml"
        (cd "$W/$n.d" && timeout "$TIMEOUT" "$BIN" check --config routing.yaml) >"$got" 2>&1
        rc=$?
        if [ "$rc" -eq 124 ]; then
            report "$n" "$line" FAIL
            echo "    timed out after ${TIMEOUT}s"
        elif cmp -s "$exp" "$got"; then
            report "$n" "$line" ok
        else
            report "$n" "$line" FAIL
            echo "    leadrouter check output differs (- documented, + actual):"
            show_diff "$exp" "$got"
        fi
        ;;
    route|explain)
        if [ "$kind" = route ]; then set -- --no-explain; else set --; fi
        timeout "$TIMEOUT" "$BIN" route --config "$W/$n.yaml" "$W/$n.jsonl" "$@" >"$got" 2>"$err"
        rc=$?
        if [ "$rc" -ne 0 ] || [ -s "$err" ]; then
            report "$n" "$line" FAIL
            echo "    leadrouter route exited with status $rc; stderr:"
            sed -n '1,30s/^/    /p' "$err"
        elif cmp -s "$exp" "$got"; then
            report "$n" "$line" ok
        else
            report "$n" "$line" FAIL
            echo "    decisions differ (- documented, + actual):"
            show_diff "$exp" "$got"
        fi
        ;;
    esac
done <"$W/manifest"

# Coverage: every strategy the binary knows (read from its own "unknown
# strategy" message) and every kind of fallback appear in a tested config.
cat "$W"/*.yaml >"$W/all.yaml" 2>/dev/null
printf 'agents: [{id: a}]\npools: {p: [a]}\nrules: [{name: r, pool: p, strategy: "?"}]\n' >"$W/probe.yaml"
known=$(timeout "$TIMEOUT" "$BIN" check --config "$W/probe.yaml" 2>&1 |
        sed -n "s/.*unknown strategy '?' (known: \(.*\))\$/\1/p" | tr -d ',')
missing=""
if [ -z "$known" ]; then
    missing=" (could not read the strategy names from leadrouter check)"
fi
for s in $known; do
    grep -Eq "\"?strategy\"?: *\"?$s([^a-z_]|\$)" "$W/all.yaml" || missing="$missing strategy:$s"
done
for f in next queue hold; do
    grep -Eq "\"?fallback\"?: *\"?$f([^a-z_-]|\$)" "$W/all.yaml" || missing="$missing fallback:$f"
done
grep -E "\"?fallback\"?: *\"?[A-Za-z0-9_-]+" "$W/all.yaml" |
    grep -Evq "fallback\"?: *\"?(next|queue|hold)([^A-Za-z0-9_-]|\$)" ||
    missing="$missing fallback:RULE-NAME"
if [ -z "$missing" ]; then
    echo "ok docs examples use every strategy and every kind of fallback"
else
    echo "FAIL docs examples use every strategy and every kind of fallback; missing:$missing"
    n_fail=$((n_fail + 1))
fi

[ "$n_fail" -eq 0 ]

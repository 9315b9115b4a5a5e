#!/bin/sh
# cli_check.sh -- `leadrouter check`: "FILE: ok (...)" on success, every
# problem as file:line:column on stderr and exit 2 otherwise.
. "$(dirname "$0")/lib.sh"

check_valid_config_prints_ok_with_counts() {
    cat >"$T/routing.yaml" <<'EOF'
agents:
  - id: alice
  - id: bob
  - id: carol
pools:
  west: [alice, bob]
  east: [carol]
rules:
  - {name: west, when: 'state == "CA"', pool: west, strategy: round_robin}
  - {name: rest, pool: east, strategy: least_busy}
EOF
    lr check --config "$T/routing.yaml"
    expect_status 0
    expect_err_empty
    echo "$T/routing.yaml: ok (3 agents, 2 pools, 2 rules)" | expect_out
}

# A config that loads but cannot work as written is ok, with warnings
# that say where: an agent in no pool, a pool no rule uses, a rule no
# lead reaches (behind a catch-all queue, and no rule's fallback), a
# `when` that is a value, a notify entry's action it can never send.
check_warns_of_what_cannot_work() {
    cat >"$T/w.yaml" <<'EOF'
agents:
  - {id: a}
  - {id: lonely}
pools: {t: [a], unused: [a]}
rules:
  - {name: num, pool: t, strategy: round_robin, when: 42}
  - {name: all, pool: t, strategy: queue}
  - {name: never, pool: t, strategy: top_down}
  - {name: spare, pool: t, strategy: top_down}
  - {name: fb, when: 'score > 1', pool: t, strategy: top_down, fallback: spare}
accounts:
  - {id: acme, domains: ["@acme.com", acme.io], owner: a}
EOF
    lr check --config "$T/w.yaml"
    expect_status 0
    echo "$T/w.yaml: ok (2 agents, 2 pools, 5 rules; warnings on stderr)" | expect_out
    expect_err_line "^$T/w.yaml:12:5: warning: account 'acme': domain '@acme.com' can match no email"
    expect_err_line "^$T/w.yaml:3:5: warning: agent 'lonely' is in no pool: no rule gives it a lead\$"
    expect_err_line "^$T/w.yaml:4:17: warning: pool 'unused' is used by no rule\$"
    expect_err_line "^$T/w.yaml:6:5: warning: rule 'num': 'when' is a value, not a condition \\('42'\\)"
    expect_err_line "^$T/w.yaml:8:5: warning: rule 'never' is never tried: rule 'all' \\(line 7\\) before it takes every lead and keeps it \\(queue, no max_wait\\)\$"
    grep -q "'spare' is never tried" "$T/err" && fail "spare is fb's fallback: it may be tried"
    [ "$(grep -c warning "$T/err")" = 6 ] || fail "$(grep -c warning "$T/err") warnings, expected 6"
    # a queue with max_wait passes its leads on: the rules after it are tried
    printf 'agents: [{id: a}, {id: b}]\npools: {desk: {agents: [a], max_wait: 10m}, more: [b]}\nrules:\n  - {name: first, pool: desk, strategy: round_robin, fallback: queue}\n  - {name: second, pool: more, strategy: round_robin}\n' >"$T/mw.yaml"
    lr check --config "$T/mw.yaml"
    expect_status 0
    expect_err_empty
    # a fallback target is tried without its `when`: the warning says so
    printf 'agents: [{id: a}]\npools: {p: [a]}\nrules:\n  - {name: r1, pool: p, strategy: top_down, when: "score > 5", fallback: r2}\n  - {name: r2, pool: p, strategy: top_down, when: 42}\n' >"$T/fw.yaml"
    lr check --config "$T/fw.yaml"
    expect_status 0
    expect_err_line "rule 'r2': 'when' is a value, not a condition \\('42'\\): no lead makes it true in rule order \\(as another rule's fallback it is tried without it\\)"
    # a match on an attribute some agent has, but none of the rule's pool
    # (a typo in the agents of that pool): it matches nobody
    printf 'agents:\n  - {id: a, attributes: {territories: [CA]}}\n  - {id: b, attributes: {teritories: [NV]}}\npools: {all: [a], west: [b]}\nrules:\n  - {name: west, pool: west, strategy: round_robin, match: {territories: state}}\n  - {name: rest, pool: all, strategy: round_robin}\n' >"$T/mt.yaml"
    lr check --config "$T/mt.yaml"
    expect_status 0
    expect_err_line "^$T/mt.yaml:6:5: warning: rule 'west': match: no agent of pool 'west' has the attribute 'territories', so the rule matches nobody\$"
    # notify entries with actions they can never send: in a rule, those
    # that name no rule; to the agent's email, those that name no agent
    cat >"$T/nw.yaml" <<'EOF'
agents: [{id: a, email: a@example.com}]
pools: {p: [a]}
channels:
  mail: {smtp: "smtp://127.0.0.1:2525", from: leads@example.com}
allow_private_targets: [mail]
notify:
  - {on: [assigned, queued, unrouted], to: mail, recipient: agent}
  - {on: [unrouted], to: mail, recipient: ops@example.com}
rules:
  - name: r
    pool: p
    strategy: top_down
    notify:
      - {on: [agent_away, assigned, held], to: mail, recipient: agent}
EOF
    lr check --config "$T/nw.yaml"
    expect_status 0
    expect_err_line "^$T/nw.yaml:7:5: warning: notify #1: 'queued' decisions name no agent, so 'recipient: agent' gets no email for them: give an address\$"
    expect_err_line "^$T/nw.yaml:7:5: warning: notify #1: 'unrouted' decisions name no agent"
    expect_err_line "^$T/nw.yaml:14:9: warning: rule 'r': notify #1: 'agent_away' decisions name no rule, so a rule's entry never sends them: put it in the top-level notify\$"
    expect_err_line "^$T/nw.yaml:14:9: warning: rule 'r': notify #1: 'held' decisions name no agent"
    [ "$(grep -c warning "$T/err")" = 4 ] || fail "$(grep -c warning "$T/err") warnings, expected 4"
}

check_reports_every_error_with_file_line_column() {
    cat >"$T/bad.yaml" <<'EOF'
agents:
  - id: alice
  - id: bob
    weight: 0
pools:
  team: [alice, bob, zoe]
rules:
  - name: all
    pool: team
    strategy: round_robbin
  - name: west
    when: 'state in ["CA"'
    pool: nowhere
    strategy: random
EOF
    lr check --config "$T/bad.yaml"
    expect_status 2
    expect_out_empty
    expect_err_line "^$T/bad\.yaml:4:13: agent 'bob': 'weight' must be an integer between 1 and 1000000"
    expect_err_line "^$T/bad\.yaml:6:22: pool 'team': unknown agent 'zoe'$"
    expect_err_line "^$T/bad\.yaml:10:15: rule 'all': unknown strategy 'round_robbin' \(known: round_robin, "
    expect_err_line "^$T/bad\.yaml:12:26: rule 'west': when: column 15: "
    expect_err_line "^$T/bad\.yaml:13:11: rule 'west': unknown pool 'nowhere'$"
    expect_lines 5 "$T/err"
}

check_yaml_syntax_error_names_the_place() {
    printf 'agents: [\n' >"$T/syntax.yaml"
    lr check --config "$T/syntax.yaml"
    expect_status 2
    expect_out_empty
    expect_err_line "^$T/syntax\.yaml:[0-9]+:[0-9]+: YAML syntax error"
}

# ICU's zone data (2022e on Debian 12) is older than the system's tz
# database: a zone only the system knows is refused with what to do, in a
# schedule and in `when`; --version names both versions.
check_a_zone_newer_than_icus_data_says_so() {
    cat >"$T/tz.yaml" <<'EOF'
agents:
  - {id: ann, schedule: {timezone: America/Ciudad_Juarez}}
  - {id: ben, schedule: {timezone: America/Nowhere}}
pools: {p: [ann, ben]}
rules:
  - {name: r, pool: p, strategy: round_robin, when: 'local_hour("America/Coyhaique") > 3'}
EOF
    lr check --config "$T/tz.yaml"
    expect_status 2
    expect_err_line "^$T/tz\.yaml:2:36: agent 'ann': unknown time zone 'America/Ciudad_Juarez' to ICU's zone data 2022e, though the system's tz database has it: newer zone data for ICU is needed \(docs/configuration.md, \"Time zone data\"\)\$"
    expect_err_line "^$T/tz\.yaml:3:36: agent 'ben': unknown time zone 'America/Nowhere' \(use an IANA name such as America/Chicago\)\$"
    expect_err_has "rule 'r': when: column 12: unknown time zone 'America/Coyhaique' to ICU's zone data 2022e, though the system's tz database has it"
    lr --version
    expect_status 0
    expect_out_has "time zone data: ICU's 2022e (the system's tz database: 20"
}

check_unreadable_file_exits_2() {
    lr check --config "$T/missing.yaml"
    expect_status 2
    expect_out_empty
    expect_err_has "$T/missing.yaml"
}

check_without_config_is_a_usage_error() {
    lr check
    expect_status 2
    expect_err_has "leadrouter check: --config FILE is required (see leadrouter check --help)"
    lr check --config "$T/a.yaml" extra
    expect_status 2
    expect_err_has "unexpected argument 'extra'"
    lr check -x
    expect_status 2
    expect_err_has "unknown option '-x'"
    expect_out_empty
}

check_sample_config_is_valid() {
    root=$(cd "$(dirname "$0")/../.." && pwd)
    lr check --config "$root/examples/routing.yaml"
    expect_status 0
    echo "$root/examples/routing.yaml: ok (8 agents, 6 pools, 9 rules)" | expect_out
}

# A file that cannot be a routing config (/dev/zero, a log given by
# mistake) is refused at 64 MiB instead of read to the end of memory.
check_a_file_over_64_mib_is_refused() {
    lr check --config /dev/zero
    expect_status 2
    expect_err_has "/dev/zero: over 64 MiB: not a routing config"
}

tcase check_valid_config_prints_ok_with_counts
tcase check_a_file_over_64_mib_is_refused
tcase check_reports_every_error_with_file_line_column
tcase check_yaml_syntax_error_names_the_place
tcase check_unreadable_file_exits_2
tcase check_a_zone_newer_than_icus_data_says_so
tcase check_without_config_is_a_usage_error
tcase check_warns_of_what_cannot_work
tcase check_sample_config_is_valid
finish

#!/bin/sh
# cli_help.sh -- the command explains itself: --help, help, per-command
# help, --version, unknown commands.
. "$(dirname "$0")/lib.sh"

help_lists_commands_options_exit_codes_and_example() {
    for form in --help -h help; do
        lr $form
        expect_status 0
        expect_err_empty
        expect_out_has "usage: leadrouter COMMAND"
        expect_out_has "  route "
        expect_out_has "  check "
        expect_out_has "--version"
        expect_out_has "  2  usage, configuration or I/O error"
        expect_out_has "leadrouter route --config routing.yaml leads.jsonl > decisions.jsonl"
    done
    # help is a command too; every summary starts in one column
    for form in "help help" "help --help"; do
        lr $form
        expect_status 0
        expect_out_has "usage: leadrouter COMMAND"
    done
    lr --help
    _cols=$(grep -E '^  [a-z]+ +[a-z]' "$T/out" | sed -E 's/^(  [a-z]+ +).*/\1/' | awk '{ print length($0) }' | sort -u)
    [ "$_cols" = "13" ] || fail "the command summaries start in columns $(echo $_cols)"
}

route_help_names_every_option() {
    lr route --help
    expect_status 0
    cp "$T/out" "$T/route-help"
    expect_out_has "usage: leadrouter route --config FILE [OPTIONS] [EVENTS]"
    for opt in "-c, --config FILE" "-s, --seed N" "--start TIME" "--no-explain" "--summary" \
               "-h, --help" "  0  " "  1  some input lines were rejected" "  2  " \
               "leadrouter route --config routing.yaml --summary leads.jsonl"; do
        expect_out_has "$opt"
    done
    lr help route
    expect_status 0
    expect_out_file "$T/route-help"
    # --help wins even when other arguments are wrong or missing
    lr route --help --config
    expect_status 0
    expect_out_file "$T/route-help"
}

check_help_names_every_option() {
    lr check --help
    expect_status 0
    expect_out_has "usage: leadrouter check --config FILE"
    expect_out_has "-c, --config FILE"
    expect_out_has "-h, --help"
    expect_out_has "file:line:column"
    expect_out_has "leadrouter check --config examples/routing.yaml"
    cp "$T/out" "$T/check-help"
    lr help check
    expect_out_file "$T/check-help"
}

# --version: the version, then the time zone data ICU computes with and
# the system's tz database's version.
version_prints_the_version() {
    for _o in --version -V; do
        lr $_o
        expect_status 0
        [ "$(sed -n 1p "$T/out")" = "leadrouter 0.1.0" ] || fail "$_o: first line: $(sed -n 1p "$T/out")"
        sed -n 2p "$T/out" | grep -Eq "^time zone data: ICU's [0-9]{4}[a-z]+ \(the system's tz database: ([0-9]{4}[a-z]+|none found)\)$" ||
            fail "$_o: second line: $(sed -n 2p "$T/out")"
        [ "$(wc -l <"$T/out")" -eq 2 ] || fail "$_o: $(wc -l <"$T/out") lines"
    done
}

unknown_command_exits_2_with_hint() {
    lr frobnicate
    expect_status 2
    expect_out_empty
    echo "leadrouter: unknown command 'frobnicate' (see leadrouter --help)" | cmp -s - "$T/err" ||
        fail "stderr: $(cat "$T/err")"
    lr help frobnicate
    expect_status 2
    lr --frob
    expect_status 2
    expect_err_has "leadrouter: unknown option '--frob' (see leadrouter --help)"
}

no_arguments_prints_usage_on_stderr_exit_2() {
    lr
    expect_status 2
    expect_out_empty
    expect_err_has "usage: leadrouter COMMAND"
}

tcase help_lists_commands_options_exit_codes_and_example
tcase route_help_names_every_option
tcase check_help_names_every_option
tcase version_prints_the_version
tcase unknown_command_exits_2_with_hint
tcase no_arguments_prints_usage_on_stderr_exit_2
finish

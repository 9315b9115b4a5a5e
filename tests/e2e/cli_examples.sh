#!/bin/sh
# cli_examples.sh -- the sample config and leads of examples/ (what `make
# demo` shows) route cleanly, tell the story the files' comments promise,
# and route the same way every time.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)

examples_route_without_rejected_lines() {
    lr route --config "$ROOT/examples/routing.yaml" "$ROOT/examples/leads.jsonl"
    expect_status 0
    expect_err_empty
    expect_lines 39 "$T/out"
}

examples_decisions_tell_the_morning_story() {
    lr route --config "$ROOT/examples/routing.yaml" "$ROOT/examples/leads.jsonl"
    expect_fields '[.lead, .action, (.agent // .agents), .rule, .why.reason]' <<'EOF'
["L1001","assigned","alice","west-territory",null]
["L1002","assigned","dave","east-territory",null]
["L1003","assigned","alice","west-territory",null]
["L1004","assigned","grace","known-accounts",null]
["L1005","assigned","heidi","specialty-loans",null]
["L1006","assigned","frank","cold-to-sdr",null]
["L1007","offered",["grace","heidi"],"hot-leads",null]
["L1007","claimed","grace","hot-leads",null]
["L1007","claim_refused","heidi","hot-leads","already_claimed"]
["L1008","assigned","alice","known-accounts",null]
["L1008","rejected",null,null,"duplicate_lead"]
["L1009","assigned","carol","west-territory",null]
["L1010","queued",null,"west-territory","no_eligible_agent"]
["L1011","assigned","erin","east-territory",null]
["L1006","assigned","heidi","qualified-to-closers","qualified"]
["L1012","queued",null,"catch-all",null]
["L1012","claimed","frank","catch-all",null]
["L1013","assigned","dave","east-territory",null]
["L1014","assigned","heidi","specialty-loans",null]
["L1015","assigned","alice","known-accounts",null]
["L1002","closed","dave","east-territory",null]
["L1009","released","carol","west-territory","released"]
["L1009","assigned","alice","west-territory","released"]
["L1016","held",null,"commercial",null]
["L1017","assigned","erin","east-territory",null]
["L1018","assigned","dave","east-territory",null]
["L1004","closed","grace","known-accounts",null]
["L1005","closed","heidi","specialty-loans",null]
["L1016","assigned","heidi","commercial","manual"]
["L1019","assigned","heidi","specialty-loans",null]
["L1020","assigned","grace","specialty-loans",null]
["L1021","offered",["grace","heidi"],"hot-leads",null]
["L1021","claimed","heidi","hot-leads",null]
["L1010","assigned","bob","west-territory","capacity_freed"]
["L1022","assigned","frank","cold-to-sdr",null]
["L1023","assigned","dave","east-territory",null]
["L1007","closed","grace","hot-leads",null]
["L1003","closed","alice","west-territory",null]
["L1022","assigned","grace","qualified-to-closers","qualified"]
EOF
    # bob is away at 08:42, so the CA round robin passes him over
    expect_out_has '"lead":"L1009","action":"assigned","agent":"carol","rule":"west-territory","pool":"west","strategy":"round_robin","why":{"candidates":[{"agent":"alice","eligible":true},{"agent":"bob","skipped":"away"},{"agent":"carol","chosen":true}]}}'
    # heidi has had her 3 leads of the 09:00 hour: the backup gets the jumbo lead
    expect_out_has '"lead":"L1020","action":"assigned","agent":"grace","rule":"specialty-loans","pool":"specialists","strategy":"top_down","why":{"candidates":[{"agent":"heidi","skipped":"cap_hour"},{"agent":"grace","chosen":true}]}}'
}

examples_route_the_same_twice_and_with_summary() {
    lr route --config "$ROOT/examples/routing.yaml" "$ROOT/examples/leads.jsonl"
    cp "$T/out" "$T/first"
    lr route --config "$ROOT/examples/routing.yaml" --summary "$ROOT/examples/leads.jsonl"
    expect_status 0
    expect_out_file "$T/first"
    expect_err_line '^  leads in +23$'
    expect_err_line '^  heidi +available +6 +5 +1 +1$'
}

tcase examples_route_without_rejected_lines
tcase examples_decisions_tell_the_morning_story
tcase examples_route_the_same_twice_and_with_summary
finish

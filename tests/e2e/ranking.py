#!/usr/bin/env python3
"""ranking.py -- the figures on a ranking strategy's candidates agree with
the choice it made.

    ranking.py gen SEED DIR   writes DIR/c.yaml and DIR/e.jsonl: eight agents
                              (capacities, weights), one rule per ranking
                              strategy chosen by the lead's source, and a
                              day of leads, outcomes and status changes
    ranking.py check          reads decisions (`leadrouter route`) on stdin

check fails (exit 1) when a decision's chosen agent ranks worse, by its own
figures, than an eligible one, or when a ranking strategy's decisions carry
no figures at all. The figures' exact values are pinned by the unit tests
(test_strategies.c); this checks them against the engine's choices over
thousands of decisions.
"""
import json
import random
import sys

STRATEGIES = ["least_busy", "most_available", "longest_idle", "fewest_assigned", "top_producer",
              "weighted_round_robin"]
INF = float("inf")


def gen(seed, d):
    rnd = random.Random(seed)
    agents = ["a%d" % i for i in range(8)]
    with open(d + "/c.yaml", "w") as f:
        f.write("agents:\n")
        for a in agents:
            cap = rnd.choice(["", ", capacity: 1", ", capacity: 2", ", capacity: 4"])
            f.write("  - {id: %s, weight: %d%s}\n" % (a, rnd.randint(1, 5), cap))
        f.write("pools:\n  p: [%s]\nrules:\n" % ", ".join(agents))
        for i, s in enumerate(STRATEGIES):
            extra = {"fewest_assigned": ", window: 1h", "top_producer": ", min_sample: 3"}.get(s, "")
            f.write("  - {name: r%d, when: 'source == \"s%d\"', pool: p, strategy: %s%s}\n"
                    % (i, i, s, extra))
    t = 1_700_000_000
    leads = []
    with open(d + "/e.jsonl", "w") as f:
        for n in range(3000):
            t += rnd.randint(0, 120)
            at = "%sZ" % __import__("datetime").datetime.utcfromtimestamp(t).isoformat()
            r = rnd.random()
            if r < 0.55 or not leads:
                lid = "L%d" % n
                leads.append(lid)
                ev = {"id": lid, "source": "s%d" % rnd.randrange(len(STRATEGIES)), "at": at}
            elif r < 0.9:
                ev = {"type": "progress", "lead": rnd.choice(leads[-40:]),
                      "status": rnd.choice(["won", "lost", "contacted"]), "at": at}
            else:
                ev = {"type": "agent", "agent": rnd.choice(agents),
                      "status": rnd.choice(["away", "available", "available"]), "at": at}
            f.write(json.dumps(ev) + "\n")


def key(strategy, c):
    idle = c.get("idle_ms", INF)            # never had a lead: the longest idle
    if strategy == "least_busy":
        return (c["open"], -idle)
    if strategy == "most_available":
        free = c["capacity"] - c["open"] if "capacity" in c else INF
        return (-free, -idle)
    if strategy == "longest_idle":
        return (-idle,)
    if strategy == "fewest_assigned":
        return (c["received"],)
    if strategy == "top_producer":
        if c.get("below_min_sample") or c["closed"] == 0:
            return None                     # ranked at the pool's ratio: not comparable here
        return (-c["won"] / c["closed"],)
    if strategy == "weighted_round_robin":  # the highest credit; a tie: pool order
        return (-c["credit"],)
    return None


def check():
    checked, bad, with_figures = 0, 0, {s: 0 for s in STRATEGIES}
    for line in sys.stdin:
        d = json.loads(line)
        s = d.get("strategy")
        cands = d.get("why", {}).get("candidates") or []
        chosen = [c for c in cands if c.get("chosen")]
        if s not in STRATEGIES or d["action"] not in ("assigned", "offered") or len(chosen) != 1:
            continue
        figs = set(chosen[0]) - {"agent", "chosen"}
        if figs:
            with_figures[s] += 1
        k = key(s, chosen[0])
        if k is None:
            continue
        checked += 1
        before = True                       # candidates come in pool order
        for c in cands:
            if c is chosen[0]:
                before = False
            kc = key(s, c) if c.get("eligible") else None
            if kc is not None and (kc < k or (s == "weighted_round_robin" and before and kc == k)):
                bad += 1
                if bad <= 5:
                    print("inconsistent: " + line.strip()[:600])
                break
    print("%d choices checked against their figures, %d inconsistent; with figures: %s"
          % (checked, bad, ", ".join("%s %d" % kv for kv in with_figures.items())))
    return 1 if bad or checked < 500 or min(with_figures.values()) == 0 else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["gen"]:
        gen(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1:2] == ["check"]:
        sys.exit(check())
    else:
        sys.exit("usage: ranking.py gen SEED DIR | check")

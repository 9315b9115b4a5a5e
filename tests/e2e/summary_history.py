#!/usr/bin/env python3
"""summary_history.py SEED DIR -- a random config (DIR/c.yaml) and history
(DIR/e.jsonl) for comparing `route --summary`'s time to assign with
GET /v1/stats's time_to_assign_ms on the same history: one to four agents
with capacities, rules of several strategies (least_busy, offers with
attempts, a pull queue, an open pool, a broadcast, an SLA that reassigns),
and leads with and without "at" and received_at (before and after it),
repeated ids, claims, accepts, declines, outcomes, releases, assigns and
status changes.

A repeated id comes without a time of its own: `route` moves its clock
to any event's time, while the server does not apply a lead it refuses,
so a later event without a time would differ by that gap (a difference
of the two runs' clocks, not of the figure compared).
"""
import datetime
import json
import random
import sys


def ts(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main(seed, d):
    rnd = random.Random(seed)
    agents = ["a%d" % i for i in range(rnd.randint(1, 4))]
    with open(d + "/c.yaml", "w") as f:
        f.write("agents:\n")
        for a in agents:
            f.write("  - {id: %s%s}\n" % (a, rnd.choice(["", ", capacity: 1", ", capacity: 2"])))
        f.write("pools:\n  p: [%s]\nrules:\n" % ", ".join(agents))
        for k in rnd.sample(["lb", "off", "q", "op", "bc"], rnd.randint(1, 4)):
            rule = {
                "lb": "strategy: least_busy%s" % rnd.choice(["", ", fallback: queue"]),
                "off": "strategy: round_robin, offer: {timeout: %dm, attempts: %d}%s"
                       % (rnd.randint(1, 5), rnd.randint(1, 3), rnd.choice(["", ", fallback: queue"])),
                "q": "strategy: queue",
                "op": "strategy: open_pool",
                "bc": "strategy: broadcast, offer: {timeout: 2m}",
            }[k]
            f.write("  - {name: %s, when: 'source == \"%s\"', pool: p, %s}\n" % (k, k, rule))
        if rnd.random() < 0.5:
            f.write("  - {name: rest, pool: p, strategy: round_robin, fallback: queue,"
                    " sla: {contact_within: 3m, then: reassign}}\n")
    t = 1_900_000_000
    leads = []
    with open(d + "/e.jsonl", "w") as f:
        for n in range(rnd.randint(5, 60)):
            t += rnd.choice([0, 0, 10, 30, 60, 120, 300])
            r = rnd.random()
            at = ts(t)
            if r < 0.45 or not leads:
                dup = bool(leads) and rnd.random() < 0.1
                lid = rnd.choice(leads) if dup else "L%d" % n
                if not dup:
                    leads.append(lid)
                ev = {"id": lid, "source": rnd.choice(["lb", "off", "q", "op", "bc", "x"])}
                if not dup and rnd.random() < 0.8:
                    ev["at"] = at
                if not dup and rnd.random() < 0.4:
                    ev["received_at"] = ts(t + rnd.choice([-600, -60, 0, 60, 600]))
            elif r < 0.6:
                ev = {"type": "claim", "lead": rnd.choice(leads), "agent": rnd.choice(agents), "at": at}
            elif r < 0.7:
                ev = {"type": "accept", "lead": rnd.choice(leads), "agent": rnd.choice(agents), "at": at}
            elif r < 0.75:
                ev = {"type": "decline", "lead": rnd.choice(leads), "agent": rnd.choice(agents), "at": at}
            elif r < 0.85:
                ev = {"type": "progress", "lead": rnd.choice(leads),
                      "status": rnd.choice(["won", "lost", "contacted"]), "at": at}
            elif r < 0.9:
                ev = {"type": "release", "lead": rnd.choice(leads), "agent": rnd.choice(agents), "at": at}
            elif r < 0.95:
                ev = {"type": "assign", "lead": rnd.choice(leads), "agent": rnd.choice(agents), "at": at}
            else:
                ev = {"type": "agent", "agent": rnd.choice(agents),
                      "status": rnd.choice(["away", "available"]), "at": at}
            f.write(json.dumps(ev) + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])

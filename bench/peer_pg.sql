-- peer_pg.sql -- the do-it-yourself lead router on PostgreSQL: schema and
-- seed. `bench/run-all` runs it with psql in the workload directory (the
-- CSV files of bench_workload), then drives bench/peer_pg_tx.sql with
-- pgbench. It is what a team that does not buy a lead router writes: a
-- table of agents with their counters, a transaction per lead.
--
-- Semantics (the same as bench_peer_sqlite.c and as leadrouter's
-- `round_robin` with `match: {territories: state}`):
--   * the pool is every agent, in pool order `idx`; a lead from state S
--     may go to the agents whose territories hold S;
--   * eligible: open < capacity, and fewer than day_cap leads received on
--     the lead's day;
--   * round robin per (pool, state), as leadrouter keeps its position per
--     pool and match value: the next eligible agent after the last one
--     chosen for S, wrapping to the first;
--   * nobody eligible: the lead is recorded unassigned (leadrouter queues
--     it instead; run-all counts these separately, they are not errors);
--   * a progress event (won / lost) closes the lead: its agent's open
--     count goes down by one.
--
-- Days never go back for an agent: cap_day is the latest day the agent
-- received a lead on, and a lead of an earlier day (concurrent clients may
-- commit two leads around midnight out of order) counts against it, as
-- leadrouter's clock never goes back. history.day is that effective day.
--
-- history is the log the validity check replays (bench_check): one row per
-- assignment ('a'), unassigned lead ('u') and close ('c'), numbered while
-- the agent's row lock is held, so per agent its order is the commit order.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

DROP TABLE IF EXISTS history, assignments, events, rotation, territories, agents CASCADE;
DROP SEQUENCE IF EXISTS event_seq;

CREATE TABLE agents (
    idx       integer PRIMARY KEY,              -- position in the pool
    id        text    NOT NULL UNIQUE,
    capacity  integer NOT NULL,                 -- most leads open at once
    day_cap   integer NOT NULL,                 -- most leads received a day
    open      integer NOT NULL DEFAULT 0,
    cap_day   integer NOT NULL DEFAULT -1,      -- the day day_count counts
    day_count integer NOT NULL DEFAULT 0
);

CREATE TABLE territories (
    state smallint NOT NULL,                    -- 0-49, bench_workload's order
    agent integer  NOT NULL REFERENCES agents,
    PRIMARY KEY (state, agent)
);

-- The pool's round-robin position, one row per state (leadrouter's segment).
CREATE TABLE rotation (
    state smallint PRIMARY KEY,
    last  integer  NOT NULL DEFAULT -1          -- idx of the agent chosen last
);

-- The incoming stream, in order: what the HTTP requests would carry. Each
-- pgbench transaction takes the next one (event_seq).
CREATE TABLE events (
    seq    integer  PRIMARY KEY,
    kind   smallint NOT NULL,                   -- 0 lead, 1 progress
    lead   integer  NOT NULL,
    state  smallint NOT NULL,
    day    integer  NOT NULL,                   -- UTC days since 1970
    status smallint NOT NULL                    -- progress: 1 won, 2 lost
);
CREATE SEQUENCE event_seq;

CREATE TABLE assignments (
    lead   integer  PRIMARY KEY,                -- a lead is assigned at most once
    agent  integer  NOT NULL REFERENCES agents,
    day    integer  NOT NULL,
    status smallint NOT NULL DEFAULT 0          -- 0 open, 1 won, 2 lost
);

CREATE TABLE history (
    id     bigserial PRIMARY KEY,
    lead   integer NOT NULL,
    action char(1) NOT NULL,                    -- a assigned, u unassigned, c closed
    agent  integer,
    day    integer NOT NULL
);

\copy agents (idx, id, capacity, day_cap) FROM 'agents.csv' WITH (FORMAT csv)
\copy territories FROM 'territories.csv' WITH (FORMAT csv)
\copy events FROM 'events.csv' WITH (FORMAT csv)
INSERT INTO rotation (state) SELECT DISTINCT state FROM territories;

-- Back to the state before any event: run before each pgbench run.
CREATE OR REPLACE FUNCTION bench_reset() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE history, assignments RESTART IDENTITY;
    UPDATE agents SET open = 0, cap_day = -1, day_count = 0;
    UPDATE rotation SET last = -1;
    PERFORM setval('event_seq', 1, false);
END $$;

VACUUM ANALYZE;

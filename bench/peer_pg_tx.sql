-- peer_pg_tx.sql -- the pgbench script of the PostgreSQL peer (schema and
-- semantics: bench/peer_pg.sql). One run of the script = one event of the
-- stream, in stream order across all clients (event_seq):
--   a lead:     BEGIN; lock the state's rotation row (SELECT ... FOR
--               UPDATE: leads of one state take turns); pick and lock the
--               next eligible agent after the last one (SELECT ... ORDER BY
--               ... LIMIT 1 FOR UPDATE: when another transaction holds that
--               agent, PostgreSQL waits, re-checks the conditions on the
--               committed row and moves on to the next agent if it is no
--               longer eligible); insert the assignment and the history row,
--               update the agent's counters and the rotation; COMMIT.
--               Only the state's rotation and one agent are locked, so
--               leads of different states run in parallel (locking every
--               agent of the state serialized nearly everything: agents
--               hold 2-4 states, and the locks are held through COMMIT).
--   a progress: BEGIN; mark the assignment closed; decrement the agent's
--               open count (row lock); history row; COMMIT.
-- With synchronous_commit = on, COMMIT returns once the WAL is flushed.
--
-- Fetching the event (the first statement) stands in for receiving the
-- request; it runs outside the transaction and writes no WAL that needs a
-- flush (nextval is not transactional). Past the end of the stream
-- (kind -1) a run does nothing: run-all sizes the stream so that never
-- happens within the time limit.
SELECT s.n AS seq, coalesce(e.kind, -1) AS kind, coalesce(e.lead, 0) AS lead,
       coalesce(e.state, 0) AS state, coalesce(e.day, 0) AS day, coalesce(e.status, 0) AS status
  FROM (SELECT nextval('event_seq') AS n) s LEFT JOIN events e ON e.seq = s.n \gset
\if :kind = 0
BEGIN;
SELECT last FROM rotation WHERE state = :state FOR UPDATE \gset
SELECT coalesce(max(idx), -1) AS pick FROM (
        SELECT a.idx FROM agents a JOIN territories t ON t.agent = a.idx
         WHERE t.state = :state AND a.open < a.capacity
           AND (a.cap_day < :day OR a.day_count < a.day_cap)
         ORDER BY a.idx <= :last, a.idx
         LIMIT 1
           FOR UPDATE OF a) p \gset
\if :pick >= 0
WITH u AS (
        UPDATE agents
           SET open = open + 1,
               day_count = CASE WHEN cap_day < :day THEN 1 ELSE day_count + 1 END,
               cap_day = greatest(cap_day, :day)
         WHERE idx = :pick
     RETURNING cap_day),
     h AS (INSERT INTO history (lead, action, agent, day)
           SELECT :lead::integer, 'a', :pick::integer, cap_day FROM u),
     i AS (INSERT INTO assignments (lead, agent, day)
           SELECT :lead::integer, :pick::integer, cap_day FROM u)
UPDATE rotation SET last = :pick WHERE state = :state;
\else
INSERT INTO history (lead, action, agent, day) VALUES (:lead, 'u', NULL, :day);
\endif
COMMIT;
\elif :kind = 1
BEGIN;
WITH c AS (UPDATE assignments SET status = :status WHERE lead = :lead AND status = 0
           RETURNING agent)
SELECT coalesce(max(agent), -1) AS agent FROM c \gset
\if :agent >= 0
WITH u AS (UPDATE agents SET open = open - 1 WHERE idx = :agent RETURNING idx)
INSERT INTO history (lead, action, agent, day) SELECT :lead::integer, 'c', idx, :day::integer FROM u;
\endif
COMMIT;
\endif

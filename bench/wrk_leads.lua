-- wrk_leads.lua -- the load of `make bench` against `leadrouter serve`:
-- the workload's event stream (bench_workload's leads.jsonl), one event per
-- request, leads to POST /v1/leads and progress events to POST /v1/events.
--
--   wrk -t T -c C -d 15s -s bench/wrk_leads.lua http://127.0.0.1:PORT \
--       LEADS.jsonl T API_KEY
--
-- Thread k (0-based) of T sends, in stream order, the events of the leads
-- whose number is k modulo T: a lead and its progress event go through the
-- same thread, the progress at least 200 leads later (about 200 / T of the
-- thread's requests, more than its requests in flight), so the progress
-- finds its lead already answered. Every request carries a different
-- event: when a thread has sent all its lines it starts again with the ids
-- prefixed by the round ("R1L0000001"), so no lead is sent twice.
--
-- done() prints one line for bench/run-all:
--   wrk: requests=N duration_s=S rps=X p50_ms=X p99_ms=X mean_ms=X
--        errors_connect=N errors_read=N errors_write=N errors_status=N errors_timeout=N
-- Latency is per request (lead or progress), from wrk's histogram.

local threads = {}

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   local path, nthreads, key = args[1], tonumber(args[2]), args[3]
   if not (path and nthreads and key) then
      error("usage: wrk ... -s wrk_leads.lua URL LEADS.jsonl THREADS API_KEY")
   end
   -- what wrk.format() would build but the body's length, made once per
   -- path: wrk.format's table and formats per request cost the load
   -- client CPU, on the CPUs it shares with the server
   local function head(p)
      return string.format("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n" ..
                           "Authorization: Bearer %s\r\nContent-Length: ", p, wrk.headers["Host"], key)
   end
   local lead_head, event_head = head("/v1/leads"), head("/v1/events")
   bodies, heads = {}, {}      -- heads: each event's request head
   for line in io.lines(path) do
      -- the first "L<digits>" is the lead's id in a lead, its lead in a progress
      local n = tonumber(line:match('"L(%d+)"'))
      if n and n % nthreads == tid then
         bodies[#bodies + 1] = line
         if line:find('"type":"progress"', 1, true) then
            heads[#heads + 1] = event_head
         else
            heads[#heads + 1] = lead_head
         end
      end
   end
   if #bodies == 0 then error("no events for thread " .. tid .. " in " .. path) end
   pos, round = 0, 0
end

-- The request for event I of this thread (round ROUND).
local function build(i, r)
   local body = bodies[i]
   if r > 0 then
      local p = '"R' .. r .. 'L'
      body = body:gsub('"id":"L', '"id":' .. p, 1):gsub('"lead":"L', '"lead":' .. p, 1)
   end
   return heads[i] .. #body .. "\r\n\r\n" .. body
end

function request()
   -- wrk calls thread 0's request() once before the run to inspect the
   -- request (script_verify_request) and never sends that one: the first
   -- call of thread 0 must not use up an event, or its lead would be
   -- missing and its progress event refused.
   if tid == 0 and not verified then
      verified = true
      return build(1, 0)
   end
   pos = pos + 1
   if pos > #bodies then
      pos, round = 1, round + 1
   end
   return build(pos, round)
end

function done(summary, latency, requests)
   local s = summary.duration / 1e6
   local e = summary.errors
   io.write(string.format("wrk: requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f mean_ms=%.3f " ..
                          "errors_connect=%d errors_read=%d errors_write=%d errors_status=%d errors_timeout=%d\n",
                          summary.requests, s, summary.requests / s,
                          latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000,
                          e.connect, e.read, e.write, e.status, e.timeout))
end

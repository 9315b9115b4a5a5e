-- wrk_server.lua -- the load of `make bench-server` (bench/run-server):
-- one new lead per request, POST /v1/leads, keep-alive.
--
--   wrk -t T -c C -d 10s -s bench/wrk_server.lua http://127.0.0.1:PORT API_KEY TAG
--
-- Every request carries a lead id never sent before on this store:
-- TAG (one per wrk run, e.g. "m64r1" or "w16r2") + "t" + the thread's number
-- (set by setup(), one per thread) + "-" + the thread's own counter. The
-- request wrk builds once to inspect it before the run (on thread 0) uses
-- up one id and is never sent: a gap in the ids, never a repeat.
-- Leads rotate over ten states (every state is some agents' territory in
-- run-server's config, so every lead is assigned) and a few scores.
--
-- response() counts the answers that are not 201 Created (a lead that
-- was not stored as new); done() prints one line for bench/run-server:
--   wrk: requests=N ok=N non201=N duration_s=S rps=X p50_ms=X p99_ms=X
--        mean_ms=X max_ms=X errors_connect=N errors_read=N errors_write=N
--        errors_timeout=N
-- requests counts every answer wrk read (any status); ok = requests - non201;
-- rps = ok / duration. Latency is wrk's, per request, over all answers.

local threads = {}

function setup(thread)
   thread:set("tno", #threads)
   table.insert(threads, thread)
end

local states = { "CA", "NY", "TX", "FL", "WA", "IL", "GA", "MA", "AZ", "CO" }

function init(args)
   local key, tag = args[1], args[2]
   if not (key and tag) then
      error("usage: wrk ... -s wrk_server.lua URL API_KEY TAG")
   end
   headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }
   prefix = tag .. "t" .. tno .. "-"
   n = 0
   non201 = 0
end

function request()
   n = n + 1
   local body = string.format('{"id":"%s%d","source":"bench","state":"%s","product":"purchase","score":%d}',
                              prefix, n, states[n % #states + 1], 40 + n % 60)
   return wrk.format("POST", "/v1/leads", headers, body)
end

function response(status, hdrs, body)
   if status ~= 201 then
      non201 = non201 + 1
      if non201 <= 3 then io.stderr:write("wrk_server.lua: status " .. status .. ": " .. (body or "") .. "\n") end
   end
end

function done(summary, latency, requests)
   local bad = 0
   for _, t in ipairs(threads) do bad = bad + (t:get("non201") or 0) end
   local s = summary.duration / 1e6
   local e = summary.errors
   local ok = summary.requests - bad
   io.write(string.format("wrk: requests=%d ok=%d non201=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f " ..
                          "mean_ms=%.3f max_ms=%.3f errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d\n",
                          summary.requests, ok, bad, s, ok / s,
                          latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                          latency.mean / 1000, latency.max / 1000,
                          e.connect, e.read, e.write, e.timeout))
end

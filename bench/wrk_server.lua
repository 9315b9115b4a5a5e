-- wrk_server.lua -- the load of `make bench-server` (bench/run-server):
-- one new lead per request, POST /v1/leads (or, as a what-if, a web form
-- to POST /v1/forms/bench: IDS below), keep-alive.
--
--   wrk -t T -c C -d 10s -s bench/wrk_server.lua http://127.0.0.1:PORT API_KEY TAG [IDS]
--
-- Every request carries a lead id never sent before on this store:
-- TAG (one per wrk run, e.g. "m64r1" or "w16r2") + "t" + the thread's number
-- (set by setup(), one per thread) + "-" + the thread's own counter. The
-- request wrk builds once to inspect it before the run (on thread 0) uses
-- up one id and is never sent: a gap in the ids, never a repeat.
-- IDS (bench/run-server's BENCH_IDS) changes that, as what-ifs:
--   random   TAG + "-" + a random UUID-like string (version 4's layout):
--            the ids of an integrator who names leads with random UUIDs;
--   form     no id: POST /v1/forms/bench, urlencoded, the same fields
--            (a website's form): the server names each lead.
-- Leads rotate over ten states (every state is some agents' territory in
-- run-server's config, so every lead is assigned) and a few scores.
--
-- done() prints one line for bench/run-server:
--   wrk: requests=N ok=N non201=N duration_s=S rps=X p50_ms=X p99_ms=X
--        mean_ms=X max_ms=X errors_connect=N errors_read=N errors_write=N
--        errors_timeout=N
-- requests counts every answer wrk read (any status); non201 is wrk's own
-- count of answers with a status of 400 or more; ok = requests - non201;
-- rps = ok / duration. Latency is wrk's, per request, over all answers.
-- A 2xx other than 201 (a lead that was not stored as new: 200 for an id
-- seen before) is not told apart here; bench/run-server's check finds it,
-- as the store then holds fewer leads than wrk read answers. There is no
-- response() function on purpose: with one, wrk hands every answer's
-- headers and body (4 KB: the decision with its candidates) to Lua, which
-- cost the load client ~5 us of CPU a request, on the CPUs it shares with
-- the server.

local threads = {}

function setup(thread)
   thread:set("tno", #threads)
   table.insert(threads, thread)
end

local states = { "CA", "NY", "TX", "FL", "WA", "IL", "GA", "MA", "AZ", "CO" }

function init(args)
   local key, tag = args[1], args[2]
   ids = args[3] or "counter"
   if not (key and tag) or not (ids == "counter" or ids == "random" or ids == "form") then
      error("usage: wrk ... -s wrk_server.lua URL API_KEY TAG [counter|random|form]")
   end
   local ctype = ids == "form" and "application/x-www-form-urlencoded" or "application/json"
   local path = ids == "form" and "/v1/forms/bench" or "/v1/leads"
   -- what wrk.format() would build, less the body's length, built once
   -- (wrk.format's table and formats per request cost the load client CPU)
   head = string.format("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n" ..
                        "Authorization: Bearer %s\r\nContent-Length: ", path, wrk.headers["Host"], ctype, key)
   run_tag = tag
   prefix = tag .. "t" .. tno .. "-"
   math.randomseed(os.time() + 7919 * tno)
   n = 0
end

local function uuid4()
   return string.format("%08x-%04x-4%03x-%04x-%06x%06x", math.random(0, 0x7fffffff),
                        math.random(0, 0xffff), math.random(0, 0xfff), math.random(0x8000, 0xbfff),
                        math.random(0, 0xffffff), math.random(0, 0xffffff))
end

function request()
   n = n + 1
   local state, score = states[n % #states + 1], 40 + n % 60
   if ids == "form" then
      local body = string.format("state=%s&product=purchase&score=%d", state, score)
      return head .. #body .. "\r\n\r\n" .. body
   end
   local id = ids == "random" and (run_tag .. "-" .. uuid4()) or (prefix .. n)
   local body = string.format('{"id":"%s","source":"bench","state":"%s","product":"purchase","score":%d}',
                              id, state, score)
   return head .. #body .. "\r\n\r\n" .. body
end

function done(summary, latency, requests)
   local s = summary.duration / 1e6
   local e = summary.errors
   local bad = e.status
   local ok = summary.requests - bad
   io.write(string.format("wrk: requests=%d ok=%d non201=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f " ..
                          "mean_ms=%.3f max_ms=%.3f errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d\n",
                          summary.requests, ok, bad, s, ok / s,
                          latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                          latency.mean / 1000, latency.max / 1000,
                          e.connect, e.read, e.write, e.timeout))
end

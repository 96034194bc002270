-- wrk script: replay pre-signed write-back requests, each exactly once.
--
--   wrk ... -s writeback.lua https://HOST:PORT -- <requests file> <threads> <host:port>
--
-- The file has one request per line: "<path>\t<Authorization>\t<body>". Line i
-- belongs to thread i % threads (ids assigned in setup()), so no request is sent
-- twice. A thread that runs out sends GET /healthz probes instead and counts them
-- as "exhausted", which invalidates the run. Responses are classified in
-- response(): "ok" (HTTP 200 with resultCode 0200000), "probe" (a /healthz
-- answer) or "bad" (anything else); done() prints one machine-readable line.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local queue = {}
local cursor = 0
local probe = ""
local verified = false
sent, ok, bad, probes, exhausted, sample = 0, 0, 0, 0, 0, ""

function init(args)
   local path, nthreads, host = args[1], tonumber(args[2]), args[3]
   probe = "GET /healthz HTTP/1.1\r\nHost: " .. host .. "\r\n\r\n"
   local index = 0
   for line in io.lines(path) do
      if index % nthreads == id then
         local target, auth, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
         queue[#queue + 1] = table.concat({
            "POST ", target, " HTTP/1.1\r\n",
            "Host: ", host, "\r\n",
            "Content-Type: application/json; charset=UTF-8\r\n",
            "Content-Length: ", #body, "\r\n",
            "Authorization: ", auth, "\r\n\r\n",
            body,
         })
      end
      index = index + 1
   end
end

function request()
   -- wrk calls request() once on thread 0 before starting, only to check that
   -- the request parses: answer that call with a probe, which is never sent.
   if id == 0 and not verified then
      verified = true
      return probe
   end
   cursor = cursor + 1
   local req = queue[cursor]
   if req == nil then
      exhausted = exhausted + 1
      return probe
   end
   queue[cursor] = nil
   sent = sent + 1
   return req
end

function response(status, headers, body)
   if status == 200 and body:find('"resultCode":"0200000"', 1, true) then
      ok = ok + 1
   elseif status == 200 and body:find('"status":"ok"', 1, true) then
      probes = probes + 1
   else
      bad = bad + 1
      if sample == "" then
         sample = status .. " " .. body
      end
   end
end

function done(summary, latency, requests)
   local t = { sent = 0, ok = 0, bad = 0, probes = 0, exhausted = 0 }
   local samples = {}
   for _, thread in ipairs(threads) do
      for key, _ in pairs(t) do
         t[key] = t[key] + thread:get(key)
      end
      local s = thread:get("sample")
      if s ~= "" then
         table.insert(samples, s)
      end
   end
   local e = summary.errors
   io.write(string.format(
      "WRKRESULT {\"duration_us\":%d,\"responses\":%d,\"sent\":%d,\"ok\":%d,\"bad\":%d,"
      .. "\"probes\":%d,\"exhausted\":%d,\"connect\":%d,\"read\":%d,\"write\":%d,"
      .. "\"status\":%d,\"timeout\":%d,\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f,"
      .. "\"mean_us\":%.0f,\"max_us\":%.0f,\"threads\":%d}\n",
      summary.duration, summary.requests, t.sent, t.ok, t.bad, t.probes, t.exhausted,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.mean, latency.max, #threads))
   for _, s in ipairs(samples) do
      io.write("WRKSAMPLE ", (s:gsub("[\r\n]", " ")), "\n")
   end
end

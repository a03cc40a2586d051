-- wrk script: replays one captured FreeSWITCH request (fixtures/captures/)
-- byte for byte: the body file as is, the captured headers in the captured
-- order (fixtures/captures/headers/<file>.headers.txt).
--
--   wrk … -s tests/bench/fs_post.lua URL -- CAPTURE_FILE HEADERS_FILE MODE [OPTIONS…]
--
-- MODE: close  adds "Connection: close" (FreeSWITCH opens a new TCP
--              connection per request: wrk then reconnects every time)
--       keep   keep-alive
-- OPTIONS (key=value):
--   path=/fs/cdr    request path (default: the captured one). For a captured
--                   path with a query, the query is kept.
--   auth=B64        add "Authorization: Basic B64" when the capture has none
--   uuid=UUID       rewrite every occurrence of UUID (body and query) to a
--                   value unique per request (same length, so Content-Length
--                   is unchanged): each CDR is a new leg, not a duplicate
--   acked=PREFIX    (with uuid) write every 2xx-acknowledged leg uuid, read
--                   from the answer's "call_id", to PREFIX.<thread>
--   run=N           a number folded into the generated uuids (default: time)
--   rotate=1        the request holds DDDDD (a tenant, 00001..00100) and UUU
--                   (an extension, 100..199) of the 1M-extension database: each
--                   request takes the next of their 10,000 pairs, so no answer
--                   is served twice within 10,000 requests (the cache-miss case)
--   stop=S          stop sending new requests S seconds after the start (the
--                   connections then idle until wrk's -d ends), so that every
--                   request sent has its answer when wrk returns
-- done() prints one line "BENCH key=value …" that run.sh parses.

local threads = {}
local counter = 1

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local function slurp(path)
   local f = assert(io.open(path, "rb"))
   local s = f:read("*a")
   f:close()
   return s
end

-- plain (non-pattern) split of s on sep
local function split(s, sep)
   local parts, from = {}, 1
   while true do
      local i, j = string.find(s, sep, from, true)
      if not i then
         parts[#parts + 1] = string.sub(s, from)
         return parts
      end
      parts[#parts + 1] = string.sub(s, from, i - 1)
      from = j + 1
   end
end

local parts          -- the request split around the uuid (uuid mode)
local acked_prefix
local acked_fh
local run_id
local seq = 0
local uptime_fh      -- /proc/uptime: a clock with 10 ms resolution (stop=)
local stop_at
ok2xx = 0
non2xx = 0

local function uuid_request()
   seq = seq + 1
   local u = string.format("%08x-%04x-4000-b000-%012x", run_id, id, seq)
   return table.concat(parts, u)
end

local rot_parts -- the request split around DDDDD, each piece around UUU (rotate mode)

function rotate_request()
   seq = seq + 1
   local n = seq % 10000
   local d, u = string.format("%05d", n % 100 + 1), tostring(100 + math.floor(n / 100) % 100)
   local out = {}
   for i, pieces in ipairs(rot_parts) do
      if i > 1 then out[#out + 1] = d end
      out[#out + 1] = table.concat(pieces, u)
   end
   return table.concat(out)
end

local function counting_response(status, headers, body)
   if status >= 200 and status < 300 then
      ok2xx = ok2xx + 1
      if acked_prefix then
         local u = string.match(body, '"call_id":"([^"]+)"')
         if u then
            if not acked_fh then acked_fh = assert(io.open(acked_prefix .. "." .. id, "w")) end
            acked_fh:write(u, "\n")
            if ok2xx % 256 == 0 then acked_fh:flush() end
         end
      end
   else
      non2xx = non2xx + 1
   end
end

local function now()
   uptime_fh:seek("set", 0)
   return uptime_fh:read("*n")
end

local function stopping_delay()
   if now() >= stop_at then return 3600000 end
   return 0
end

function init(args)
   local body = slurp(args[1])
   local hdr = slurp(args[2])
   local mode = args[3]
   assert(mode == "close" or mode == "keep", "MODE must be close or keep")
   local opt = {}
   for i = 4, #args do
      local k, v = string.match(args[i], "^([%w_]+)=(.*)$")
      assert(k, "bad option " .. args[i])
      opt[k] = v
   end
   -- request line, then the header block after the first blank line
   local request_line = string.match(hdr, "^([^\r\n]+)")
   local method, cpath = string.match(request_line, "^(%u+) (%S+) HTTP/1%.1$")
   assert(method, "cannot read the request line of " .. args[2])
   local query = string.match(cpath, "%?(.*)$")
   local path = opt.path or cpath
   if opt.path and query then path = opt.path .. "?" .. query end
   local block = string.match(hdr, "\r?\n\r?\n(.*)$")
   local lines = {}
   local has_auth = false
   local clen
   for line in string.gmatch(block, "[^\r\n]+") do
      local name, value = string.match(line, "^([%w%-]+): (.*)$")
      if name then
         lines[#lines + 1] = name .. ": " .. value
         if string.lower(name) == "authorization" then has_auth = true end
         if string.lower(name) == "content-length" then clen = tonumber(value) end
      end
   end
   assert(clen == #body, "Content-Length of the capture (" .. tostring(clen) .. ") differs from the body (" .. #body .. ")")
   if not has_auth and opt.auth then
      -- after Host, where mod_xml_curl puts it
      table.insert(lines, 2, "Authorization: Basic " .. opt.auth)
   end
   if mode == "close" then lines[#lines + 1] = "Connection: close" end
   local raw = method .. " " .. path .. " HTTP/1.1\r\n" .. table.concat(lines, "\r\n") .. "\r\n\r\n" .. body

   if opt.rotate then
      rot_parts = {}
      for _, piece in ipairs(split(raw, "DDDDD")) do rot_parts[#rot_parts + 1] = split(piece, "UUU") end
      assert(#rot_parts > 1, "DDDDD not found in the request")
      seq = (id or 1) * 2503 -- threads start apart
      request = rotate_request
   elseif opt.uuid then
      assert(#opt.uuid == 36, "uuid must be 36 characters")
      parts = split(raw, opt.uuid)
      assert(#parts > 1, "uuid " .. opt.uuid .. " not found in the request")
      acked_prefix = opt.acked
      run_id = tonumber(opt.run) or (os.time() % 0x10000000)
      -- wrk decides after init() whether the script is dynamic and wants
      -- the answers: only the uuid mode pays for that
      request = uuid_request
      response = counting_response
   else
      wrk.format = function() return raw end
   end
   if opt.stop then
      uptime_fh = assert(io.open("/proc/uptime", "r"))
      uptime_fh:setvbuf("no") -- glibc would answer a seek inside its buffer from the buffer
      stop_at = now() + tonumber(opt.stop)
      delay = stopping_delay
   end
end

function done(summary, latency, requests)
   local ok, bad = 0, 0
   for _, t in ipairs(threads) do
      ok = ok + (tonumber(t:get("ok2xx")) or 0)
      bad = bad + (tonumber(t:get("non2xx")) or 0)
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d bytes=%d ok2xx=%d non2xx=%d status_errors=%d connect_errors=%d " ..
      "read_errors=%d write_errors=%d timeouts=%d lat_mean_us=%.1f lat_max_us=%d " ..
      "p50_us=%d p90_us=%d p99_us=%d p999_us=%d\n",
      summary.requests, summary.duration, summary.bytes, ok, bad, e.status, e.connect, e.read, e.write, e.timeout,
      latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9)))
end

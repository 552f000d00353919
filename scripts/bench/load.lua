-- wrk script of `npm run bench`: every request carries its own pre-made `Authorization` and `DPoP`
-- (one line each in the file named by the first argument, tab-separated), so the load generator does
-- the same nothing for every target and a checking target sees no replay. A second argument is a
-- mean delay in ms before each request (a paced run, for latency at part of the peak), drawn from an
-- exponential distribution: with a fixed delay the connections fall into step and arrive in bursts,
-- so the tail measured would be the burst's queue, not what one request meets on a server whose
-- clients arrive independently.
local reqs = {}
local i = 0
local pause = 0
local path = "/orders"

function init(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    reqs[#reqs + 1] = wrk.format("GET", path, {
      ["Authorization"] = line:sub(1, tab - 1),
      ["DPoP"] = line:sub(tab + 1),
    })
  end
  if args[2] then pause = tonumber(args[2]) end
  math.randomseed(math.floor(os.clock() * 1e6) + #reqs)
end

function request()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end

function delay()
  if pause == 0 then return 0 end
  return math.floor(-math.log(1 - math.random()) * pause + 0.5)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"non2xx":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end

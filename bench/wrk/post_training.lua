-- POST one training for a random worker of ILA_EMPLOYER (ILA_WORKERS: one national number per
-- line), each with a record id unique across threads and runs, and the bearer token of ILA_TOKEN.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "histogram.lua")
local workers = {}
local token = os.getenv("ILA_TOKEN")
local path = "/api/v1/employers/" .. os.getenv("ILA_EMPLOYER") .. "/trainings"
local prefix
local counter = 0

function init(args)
  for line in io.lines(os.getenv("ILA_WORKERS")) do
    workers[#workers + 1] = line
  end
  local seed = os.time() + tonumber(tostring({}):sub(8), 16)
  math.randomseed(seed)
  prefix = string.format("bench-%d-%d", os.time(), math.random(1, 1000000000))
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"items":[{"national_number":"%s","record_id":"%s-%d","title":"Forklift safety",'
    .. '"provider":"Safety Academy","start_date":"2025-03-04","end_date":"2025-03-05",'
    .. '"duration":"8","duration_unit":"hours","nature":"formal_external","status":"followed"}]}',
    workers[math.random(#workers)], prefix, counter)
  return wrk.format("POST", path, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

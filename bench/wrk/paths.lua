-- GET a random line of ILA_PATHS (one request path per line), with the bearer token of ILA_TOKEN.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "histogram.lua")
local paths = {}
local token = os.getenv("ILA_TOKEN")

function init(args)
  for line in io.lines(os.getenv("ILA_PATHS")) do
    paths[#paths + 1] = line
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  local headers = {}
  if token ~= nil and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

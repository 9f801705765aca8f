-- Shared by the request scripts: at the end of a run, write wrk's whole latency histogram
-- ("microseconds count" per line) to ILA_HISTOGRAM, so that bench/api_load.py can merge the
-- rounds of a line and take its percentiles over all their requests.
function done(summary, latency, requests)
  local target = os.getenv("ILA_HISTOGRAM")
  if target == nil or target == "" then
    return
  end
  local out = assert(io.open(target, "w"))
  for i = 1, #latency do
    local value, count = latency(i)
    out:write(string.format("%d %d\n", value, count))
  end
  out:close()
end

-- At-least-once consumption under wrk: receive messages under a lease, then ack their receipts.
--
-- loads.py puts wrk.method, wrk.headers and ack_path before this. A thread's connections share one
-- list of receipts: a receive's answer adds its receipts as one group, and the next request any of
-- them sends acks the oldest group (one POST to ack_path) before anything is received again. So a
-- message costs two requests, or a batch its receive and one ack. done() prints what the acks
-- answered, which the harness checks the queue's depth against.

local threads = {}
local waiting = {} -- groups of receipts received and not yet sent in an ack, oldest first
local ack_headers = {}

-- Globals, so that done() can read them from each thread.
acked = 0 -- receipts an ack answered 200 for
refused = 0 -- receipts an ack answered another status for
unanswered = 0 -- receipts sent in acks whose results have not come back

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   for name, value in pairs(wrk.headers) do
      ack_headers[name] = value
   end
   ack_headers["Content-Type"] = "application/json"
end

function request()
   local receipts = table.remove(waiting, 1)
   if receipts == nil then
      return wrk.format(nil, nil, nil, "") -- the receive: wrk.path holds its query
   end
   unanswered = unanswered + #receipts
   local body = '{"receipts": ["' .. table.concat(receipts, '", "') .. '"]}'
   return wrk.format("POST", ack_path, ack_headers, body)
end

function response(status, headers, body)
   if string.sub(body, 1, 12) == '{"messages":' then
      local receipts = {}
      for receipt in string.gmatch(body, '"receipt": "([^"]+)"') do
         table.insert(receipts, receipt)
      end
      if #receipts > 0 then
         table.insert(waiting, receipts)
      end
   elseif string.sub(body, 1, 11) == '{"results":' then
      local succeeded = tonumber(string.match(body, '"succeeded": (%d+)'))
      local failed = tonumber(string.match(body, '"failed": (%d+)'))
      acked = acked + succeeded
      refused = refused + failed
      unanswered = unanswered - succeeded - failed
   end
end

function done(summary, latency, requests)
   local totals = { acked = 0, refused = 0, unanswered = 0 }
   for _, thread in ipairs(threads) do
      for name, total in pairs(totals) do
         totals[name] = total + thread:get(name)
      end
   end
   io.write(string.format("Receipts acked: %d, refused: %d, unanswered: %d\n",
                          totals.acked, totals.refused, totals.unanswered))
end

--[[
  Reserves the send slot of one reply part under a sender's rate (GCRA: `max` sends per `period`,
  the first `max` at once). A part keeps the slot it was given: asked again, it is told the time
  left, or 0 (and the reservation is consumed) once the slot has come.

  Input:
  KEYS[1] rate state of the sender (its theoretical arrival time, ms)
  KEYS[2] the part's reservation (ms when it may go)
  ARGV[1] now (ms)
  ARGV[2] interval (ms between sends = period / max)
  ARGV[3] burst tolerance (ms = period - interval)
  ARGV[4] reservation ttl (ms)
  Output: milliseconds to wait before sending (0 = send now)
]]
local now = tonumber(ARGV[1])
local slot = redis.call('GET', KEYS[2])
if slot then
  slot = tonumber(slot)
  if slot <= now then
    redis.call('DEL', KEYS[2])
    return 0
  end
  return math.ceil(slot - now)
end
local interval = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local allowAt = tat - tonumber(ARGV[3])
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.ceil(tat + interval - now) + 1000)
if allowAt <= now then return 0 end
redis.call('SET', KEYS[2], tostring(allowAt), 'PX', tonumber(ARGV[4]))
return math.ceil(allowAt - now)

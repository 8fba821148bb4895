--[[
  Reserves the send slot of one reply part under its sender's rate (GCRA: `max` sends per period,
  the first `max` at once, then one every `interval`). A part keeps the slot it was given: asked
  again, it is told the time left, or 0 (and the reservation is consumed) once the slot has come.
  A hold placed after the reservation (holdSender-1.lua) sends a part whose slot falls inside the
  hold to the back of the line behind the hold.

  Input:
    KEYS[1] the sender's rate state (hash: `tat` theoretical arrival time, `hold` no slot before; ms)
    KEYS[2] the part's reservation (ms when it may go)

    ARGV[1] now (ms)
    ARGV[2] interval (ms between sends = period / max)
    ARGV[3] burst tolerance (ms = period - interval)
    ARGV[4] how long a reservation is kept after its slot has come (ms)

  Output:
    milliseconds to wait before sending (0 = send now)
]]
local now = tonumber(ARGV[1])
local state = redis.call('HMGET', KEYS[1], 'tat', 'hold')
local hold = tonumber(state[2] or '0')
local slot = redis.call('GET', KEYS[2])
if slot then
  slot = tonumber(slot)
  if slot >= hold or hold <= now then
    if slot <= now then
      redis.call('DEL', KEYS[2])
      return 0
    end
    return math.ceil(slot - now)
  end
end
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(state[1] or '0')
if tat < now then tat = now end
local allowAt = tat - burst
if allowAt < hold then
  allowAt = hold
  tat = hold + burst
end
redis.call('HSET', KEYS[1], 'tat', tat + interval)
redis.call('PEXPIRE', KEYS[1], math.ceil(tat + interval - now) + 1000)
if allowAt <= now then
  if slot then redis.call('DEL', KEYS[2]) end
  return 0
end
redis.call('SET', KEYS[2], allowAt, 'PX', math.ceil(allowAt - now) + tonumber(ARGV[4]))
return math.ceil(allowAt - now)

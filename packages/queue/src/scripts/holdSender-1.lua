--[[
  Holds a sender back until `until` (the provider throttles it): no part gets a slot before then,
  including parts that reserved one earlier (sendSlot-2.lua moves them behind the hold). A hold
  only ever pushes the sender back: an earlier `until` than the one in force changes nothing.

  Input:
    KEYS[1] the sender's rate state (hash: `tat` theoretical arrival time, `hold` no slot before; ms)

    ARGV[1] now (ms)
    ARGV[2] until (ms)
    ARGV[3] burst tolerance (ms = period - interval)

  Output:
    the hold in force (ms)
]]
local now = tonumber(ARGV[1])
local hold = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tat', 'hold')
local tat = tonumber(state[1] or '0')
local held = tonumber(state[2] or '0')
if held > hold then hold = held end
if tat < hold + burst then tat = hold + burst end
redis.call('HSET', KEYS[1], 'tat', tat, 'hold', hold)
redis.call('PEXPIRE', KEYS[1], math.ceil(tat - now) + 1000)
return math.ceil(hold)

--[[
  Claims a status change of one API message for a callback: only a status that ranks above every
  status claimed before advances (a redelivered or late status claims nothing). Returns the jobs of
  every callback claimed but not yet posted, so the caller (re-)enqueues them under their
  deterministic job ids (a crash between the claim and the enqueue loses nothing).

  Input:
    KEYS[1] callbacks hash of one API message (`rank`, `p:<status>` = job JSON)

    ARGV[1] status
    ARGV[2] rank of the status
    ARGV[3] job JSON of its callback
    ARGV[4] ttlSec

  Output:
    {1 claimed | 0 not advanced, job JSON of every pending callback…}
]]
local cur = tonumber(redis.call('HGET', KEYS[1], 'rank') or '0')
local claimed = 0
if tonumber(ARGV[2]) > cur then
  redis.call('HSET', KEYS[1], 'rank', ARGV[2], 'p:' .. ARGV[1], ARGV[3])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
  claimed = 1
end
local out = {claimed}
local h = redis.call('HGETALL', KEYS[1])
for i = 1, #h, 2 do
  if string.sub(h[i], 1, 2) == 'p:' then out[#out + 1] = h[i + 1] end
end
return out

--[[
  A turn is done: drops its messages and schedules the next turn if more arrived meanwhile.

  Input:
    KEYS[1] mailbox
    KEYS[2] turn

    ARGV[1] seq

  Output:
    next seq to schedule, 0 for none, -1 if this turn no longer owns the conversation
]]
local running = redis.call('HGET', KEYS[2], 'running')
if (not running) or tonumber(running) ~= tonumber(ARGV[1]) then return -1 end
local count = tonumber(redis.call('HGET', KEYS[2], 'count') or '0')
if count > 0 then redis.call('LTRIM', KEYS[1], count, -1) end
redis.call('HDEL', KEYS[2], 'running', 'count', 'since')
if redis.call('LLEN', KEYS[1]) > 0 then
  local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
  redis.call('HSET', KEYS[2], 'pending', seq)
  return seq
end
return 0

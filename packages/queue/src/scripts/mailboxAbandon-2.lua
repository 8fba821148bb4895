--[[
  The running turn failed for good. Its messages stay in the mailbox (nothing is lost) and the
  conversation is released at once instead of after the stale-run timeout; when the mailbox is
  not empty a new turn is scheduled.

  Input:
    KEYS[1] mailbox
    KEYS[2] turn

    ARGV[1] seq

  Output:
    seq to schedule, 0 for none, -1 if ARGV[1] was not running
]]
local running = redis.call('HGET', KEYS[2], 'running')
if (not running) or tonumber(running) ~= tonumber(ARGV[1]) then return -1 end
redis.call('HDEL', KEYS[2], 'running', 'count', 'since')
if redis.call('HEXISTS', KEYS[2], 'pending') == 1 then return tonumber(redis.call('HGET', KEYS[2], 'pending')) end
if redis.call('LLEN', KEYS[1]) > 0 then
  local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
  redis.call('HSET', KEYS[2], 'pending', seq)
  return seq
end
return 0

--[[
  Swaps one message of the pending (not yet running) part of a mailbox for its edited version,
  compare-and-set, claiming the edit's event id in the same step.

  Input:
    KEYS[1] seen     dedupe claim of the edit event
    KEYS[2] mailbox
    KEYS[3] turn

    ARGV[1] index
    ARGV[2] expectedJson
    ARGV[3] newJson
    ARGV[4] dedupeTtlSec
    ARGV[5] nowMs

  Output:
    1 replaced, 0 the entry moved or is in the running turn (caller re-reads or appends),
    -1 the edit was already seen
]]
local start = 0
if redis.call('HEXISTS', KEYS[3], 'running') == 1 then start = tonumber(redis.call('HGET', KEYS[3], 'count') or '0') end
local idx = tonumber(ARGV[1])
if idx < start then return 0 end
if redis.call('LINDEX', KEYS[2], idx) ~= ARGV[2] then return 0 end
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[4])) then return -1 end
redis.call('LSET', KEYS[2], idx, ARGV[3])
if redis.call('HEXISTS', KEYS[3], 'pending') == 1 then redis.call('HSET', KEYS[3], 'last', ARGV[5]) end
return 1

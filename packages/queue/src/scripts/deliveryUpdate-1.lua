--[[
  Monotonic delivery status update: a status is applied only if it ranks above the stored one;
  `failed` (rank 100) is terminal.

  Input:
    KEYS[1] delivery hash of one provider message

    ARGV[1] status
    ARGV[2] rank
    ARGV[3] atMs
    ARGV[4] errorJson ('' = none)
    ARGV[5] ttlSec

  Output:
    1 applied, 0 it would have downgraded
]]
local cur = tonumber(redis.call('HGET', KEYS[1], 'rank') or '-1')
local rank = tonumber(ARGV[2])
if cur >= 100 or rank <= cur then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'rank', rank, 'at', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[4]) end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return 1

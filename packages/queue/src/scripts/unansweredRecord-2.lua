--[[
  Records a question the knowledge base could not answer: one entry per distinct question (by
  its id), counted once per turn (a retried turn does not count twice), the newest `max` kept.

  Input:
    KEYS[1] questions sorted set (question id -> last asked, epoch ms)
    KEYS[2] details hash (`q:<id>` first ask JSON, `n:<id>` count, `c:<id>` last channel, `t:<id>` last turn id)

    ARGV[1] question id
    ARGV[2] nowMs
    ARGV[3] first ask JSON (kept from the first time the question was asked)
    ARGV[4] turn id
    ARGV[5] channel
    ARGV[6] max questions kept
    ARGV[7] ttlSec of both keys

  Output:
    1 = counted, 0 = this turn was already counted
]]
local id = ARGV[1]
if redis.call('HGET', KEYS[2], 't:' .. id) == ARGV[4] then
  return 0
end
redis.call('HSET', KEYS[2], 't:' .. id, ARGV[4], 'c:' .. id, ARGV[5])
redis.call('HSETNX', KEYS[2], 'q:' .. id, ARGV[3])
redis.call('HINCRBY', KEYS[2], 'n:' .. id, 1)
local last = redis.call('ZSCORE', KEYS[1], id)
if not last or tonumber(ARGV[2]) > tonumber(last) then
  redis.call('ZADD', KEYS[1], ARGV[2], id)
end
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[6])
if extra > 0 then
  for _, old in ipairs(redis.call('ZRANGE', KEYS[1], 0, extra - 1)) do
    redis.call('HDEL', KEYS[2], 'q:' .. old, 'n:' .. old, 'c:' .. old, 't:' .. old)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1)
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[7]))
return 1

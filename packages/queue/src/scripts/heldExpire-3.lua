--[[
  Expires a conversation's held replies older than their ttl: each moves to `x:<id>` (expired,
  its record pending) until the sweeper has recorded it and deletes the field. Closes the episode
  when nothing is held any more; keeps the conversation due while records are pending.

  Input:
    KEYS[1] the conversation's held index (sorted set)
    KEYS[2] the conversation's held state (hash)
    KEYS[3] the due index (sorted set of conversations)

    ARGV[1] conversation id (member of KEYS[3])
    ARGV[2] now (ms)

  Output:
    the pending expired entries: {id, entry JSON, id, entry JSON, …}
]]
local now = tonumber(ARGV[2])
local ttl = tonumber(redis.call('HGET', KEYS[2], 'ttl') or '0')
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - ttl)) do
  local j = redis.call('HGET', KEYS[2], 'j:' .. id)
  if j then redis.call('HSET', KEYS[2], 'x:' .. id, j) end
  redis.call('HDEL', KEYS[2], 'j:' .. id, 'f:' .. id)
  redis.call('ZREM', KEYS[1], id)
end
local pending = {}
for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do
  if string.sub(f, 1, 2) == 'x:' then
    pending[#pending + 1] = string.sub(f, 3)
    pending[#pending + 1] = redis.call('HGET', KEYS[2], f)
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 and redis.call('HGET', KEYS[2], 'open') == '1' then redis.call('HSET', KEYS[2], 'open', '0') end
if #pending > 0 then
  redis.call('ZADD', KEYS[3], now, ARGV[1])
elseif #first > 0 then
  redis.call('ZADD', KEYS[3], tonumber(first[2]) + ttl, ARGV[1])
else
  redis.call('ZREM', KEYS[3], ARGV[1])
end
return pending

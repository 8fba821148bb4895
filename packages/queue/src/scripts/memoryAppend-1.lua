--[[
  Appends a conversation memory turn unless one of the last entries has the same id, caps the list
  (a safety bound; the agent keeps it at the configured window) and refreshes the TTL.

  Input:
    KEYS[1] memory list (JSON turns, newest last)

    ARGV[1] turn id
    ARGV[2] turn JSON
    ARGV[3] cap (entries)
    ARGV[4] ttlSec

  Output:
    {added (1 | 0), list length, list bytes} ({0, 0, 0} when the turn was already there)
]]
local recent = redis.call('LRANGE', KEYS[1], -8, -1)
for _, v in ipairs(recent) do
  local ok, t = pcall(cjson.decode, v)
  if ok and type(t) == 'table' and t.id == ARGV[1] then return {0, 0, 0} end
end
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
local bytes = 0
for _, v in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do bytes = bytes + #v end
return {1, redis.call('LLEN', KEYS[1]), bytes}

--[[
  Hands a due conversation back to the bot, only if its owner record was not renewed: the record's
  `until` must be present and past. A record renewed to a later `until` is re-scheduled; one
  without `until` (people keep it) or gone (handed back already) leaves the due index.

  Input:
    KEYS[1] the conversation's owner key (JSON record)
    KEYS[2] the owners index (sorted set)
    KEYS[3] the resume-due index (sorted set: conversation id -> until, ms)

    ARGV[1] conversation id
    ARGV[2] now (ms)

  Output:
    {1, owner record JSON} resumed; {0} not resumed
]]
local now = tonumber(ARGV[2])
local raw = redis.call('GET', KEYS[1])
if not raw then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return {0}
end
local ok, rec = pcall(cjson.decode, raw)
if not ok or type(rec) ~= 'table' or type(rec['until']) ~= 'number' then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return {0}
end
if rec['until'] > now then
  redis.call('ZADD', KEYS[3], rec['until'], ARGV[1])
  return {0}
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return {1, raw}

--[[
  Gives a conversation to people (writes its owner record) with an optional expiry. Human activity
  extends an expiry, it never shortens one: when the stored record expires later than the new
  one, the later `until` is kept. `untilMs` 0 = no expiry (people keep it until handed back).

  Input:
    KEYS[1] the conversation's owner key (JSON record)
    KEYS[2] the owners index (sorted set: conversation id -> since, ms)
    KEYS[3] the resume-due index (sorted set: conversation id -> until, ms)

    ARGV[1] conversation id
    ARGV[2] owner record JSON without `until`
    ARGV[3] now (ms)
    ARGV[4] until (ms; 0 = none)
    ARGV[5] ttlSec of KEYS[1]

  Output:
    the `until` kept (ms; 0 = none)
]]
local untilMs = tonumber(ARGV[4])
if untilMs > 0 then
  local old = redis.call('GET', KEYS[1])
  if old then
    local ok, rec = pcall(cjson.decode, old)
    if ok and type(rec) == 'table' and type(rec['until']) == 'number' and rec['until'] > untilMs then untilMs = rec['until'] end
  end
end
local record = cjson.decode(ARGV[2])
if untilMs > 0 then record['until'] = untilMs end
redis.call('SET', KEYS[1], cjson.encode(record), 'EX', tonumber(ARGV[5]))
redis.call('ZADD', KEYS[2], tonumber(ARGV[3]), ARGV[1])
if untilMs > 0 then
  redis.call('ZADD', KEYS[3], untilMs, ARGV[1])
else
  redis.call('ZREM', KEYS[3], ARGV[1])
end
return untilMs

--[[
  A turn job starts: runs it when it is the pending turn and its debounce is over.

  Input:
    KEYS[1] mailbox
    KEYS[2] turn

    ARGV[1] seq
    ARGV[2] nowMs
    ARGV[3] debounceMs
    ARGV[4] maxWaitMs

  Output:
    {'run' | 'resume', number of messages in the turn, then the turn's messages (the first
     that many of the mailbox, as stored), so the turn needs no second read}
    {'wait', due at (ms)}
    {'stale', pending seq (0 = none)}
    {'busy', running seq}
]]
local running = redis.call('HGET', KEYS[2], 'running')
if running then
  if tonumber(running) == tonumber(ARGV[1]) then
    local resumed = tonumber(redis.call('HGET', KEYS[2], 'count') or '0')
    local out = {'resume', resumed}
    if resumed > 0 then
      for _, m in ipairs(redis.call('LRANGE', KEYS[1], 0, resumed - 1)) do out[#out + 1] = m end
    end
    return out
  end
  return {'busy', tonumber(running)}
end
local pending = redis.call('HGET', KEYS[2], 'pending')
if (not pending) or tonumber(pending) ~= tonumber(ARGV[1]) then
  return {'stale', tonumber(pending or '0')}
end
local now = tonumber(ARGV[2])
local first = tonumber(redis.call('HGET', KEYS[2], 'first') or ARGV[2])
local last = tonumber(redis.call('HGET', KEYS[2], 'last') or ARGV[2])
local due = math.min(last + tonumber(ARGV[3]), first + tonumber(ARGV[4]))
if due > now then return {'wait', due} end
local count = redis.call('LLEN', KEYS[1])
redis.call('HSET', KEYS[2], 'running', ARGV[1], 'count', count, 'since', ARGV[2])
redis.call('HDEL', KEYS[2], 'pending', 'first', 'last')
local out = {'run', count}
if count > 0 then
  for _, m in ipairs(redis.call('LRANGE', KEYS[1], 0, count - 1)) do out[#out + 1] = m end
end
return out

--[[
  Releases every held reply of a conversation (the customer wrote: the window is open again), in
  order, and closes the hold episode. Idempotent per release tag (the turn that releases them): a
  retried turn gets the same list again.

  Input:
    KEYS[1] the conversation's held index (sorted set)
    KEYS[2] the conversation's held state (hash)
    KEYS[3] the due index (sorted set of conversations)

    ARGV[1] release tag
    ARGV[2] conversation id (member of KEYS[3])

  Output:
    {1, list JSON} released now, {0, list JSON} released before under this tag, {0, ''} nothing held
]]
local field = 'rel:' .. ARGV[1]
local done = redis.call('HGET', KEYS[2], field)
if done then return {0, done} end
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
if #ids == 0 then
  if redis.call('HGET', KEYS[2], 'open') == '1' then redis.call('HSET', KEYS[2], 'open', '0') end
  return {0, ''}
end
local out = {}
for _, id in ipairs(ids) do
  local j = redis.call('HGET', KEYS[2], 'j:' .. id)
  local f = redis.call('HGET', KEYS[2], 'f:' .. id) or '0'
  if j then out[#out + 1] = '{"fromPart":' .. f .. ',"entry":' .. j .. '}' end
  redis.call('HDEL', KEYS[2], 'j:' .. id, 'f:' .. id)
end
-- turns of a conversation run one after another: an older turn's release is over
for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do
  if string.sub(f, 1, 4) == 'rel:' then redis.call('HDEL', KEYS[2], f) end
end
local list = '[' .. table.concat(out, ',') .. ']'
redis.call('HSET', KEYS[2], field, list, 'open', '0')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[2])
return {1, list}

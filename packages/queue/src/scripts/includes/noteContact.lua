--[[
  Shared by contactNote and customerAccept. noteContact(contact, refJson, sentAtMs, referral,
  ttlSec) notes a customer's message on their contact hash: newer wins, so a replayed or
  out-of-order older message never moves the window back.
]]
local function noteContact(contact, refJson, sentAtMs, referral, ttlSec)
  local at = tonumber(sentAtMs)
  local last = tonumber(redis.call('HGET', contact, 'last') or '0')
  if at >= last then redis.call('HSET', contact, 'ref', refJson, 'last', sentAtMs) end
  if referral ~= '' then
    local entry = tonumber(redis.call('HGET', contact, 'entry') or '0')
    if at >= entry then redis.call('HSET', contact, 'entry', sentAtMs) end
  end
  redis.call('EXPIRE', contact, ttlSec)
end

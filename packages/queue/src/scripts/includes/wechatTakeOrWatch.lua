--[[
  Shared tail of wechatSyncAcquire and wechatSyncRecheck (same KEYS and ARGV): take the account's
  sync lock ({1, pending version}), or become its watcher ({2, lock pttl}), or leave it to the
  holder and the existing watcher ({0}).
]]
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', tonumber(ARGV[2])) then
  if redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('DEL', KEYS[3]) end
  return {1, tonumber(redis.call('HGET', KEYS[2], 'v') or '0')}
end
local w = redis.call('GET', KEYS[3])
if (not w) or w == ARGV[4] then
  redis.call('SET', KEYS[3], ARGV[4], 'PX', tonumber(ARGV[2]) * 3)
  return {2, redis.call('PTTL', KEYS[1])}
end
return {0}

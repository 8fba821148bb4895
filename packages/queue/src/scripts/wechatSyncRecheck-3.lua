--[[
  The account's watcher looks again: nothing pending means done; otherwise it takes the lock or
  keeps watching, without counting a callback.

  Input: as wechatSyncAcquire (KEYS lock, pending, watcher; ARGV owner, lockMs, token, jobKey, pendingTtlMs)

  Output:
    {0}                  nothing pending (or covered by the holder and another watcher)
    {1, pending version} lock taken
    {2, lock pttl}       still watching
]]
if redis.call('EXISTS', KEYS[2]) == 0 then
  if redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('DEL', KEYS[3]) end
  return {0}
end
--- @include "wechatTakeOrWatch"

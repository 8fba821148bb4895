--[[
  A WeChat callback arrived: counts it as pending work of the account, then takes the sync lock,
  or becomes the account's watcher, or leaves it to the holder and the existing watcher.

  Input:
    KEYS[1] sync lock     (value: the holder's owner token)
    KEYS[2] sync pending  (hash: `v` = callbacks seen, `token` = the newest callback token)
    KEYS[3] sync watcher  (value: the watching job's key)

    ARGV[1] owner token
    ARGV[2] lockMs
    ARGV[3] callback token ('' = none)
    ARGV[4] jobKey
    ARGV[5] pendingTtlMs

  Output:
    {1, pending version} lock taken
    {2, lock pttl}       watching the holder
    {0}                  covered by the holder and another watcher
]]
redis.call('HINCRBY', KEYS[2], 'v', 1)
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], 'token', ARGV[3]) end
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[5]))
--- @include "wechatTakeOrWatch"

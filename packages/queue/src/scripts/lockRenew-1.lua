--[[
  Extends a lock's lease only while the caller still owns it.

  Input:
    KEYS[1] lock

    ARGV[1] owner token
    ARGV[2] ttlMs

  Output:
    1 renewed, 0 the lock is lost (expired or taken by another owner)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2])) end
return 0

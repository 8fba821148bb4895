--[[
  Deletes a key only if it still holds the expected value (lock release, cache invalidation).

  Input:
    KEYS[1] key

    ARGV[1] expected value (a lock's owner token)

  Output:
    1 deleted, 0 the key holds another value or is gone
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0

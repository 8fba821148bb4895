--[[
  The sync holder finished a round that started at pending version ARGV[3]: if no callback came
  since, clears the pending work and releases the lock; otherwise keeps the lock for one more round.

  Input:
    KEYS[1] sync lock
    KEYS[2] sync pending

    ARGV[1] owner token
    ARGV[2] lockMs
    ARGV[3] version the round started from

  Output:
    {0}               done, lock released
    {1, v, token}     pull again (newest pending version and callback token, '' = none)
    {-1}              the lock was lost (the work stays pending)
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
local v = tonumber(redis.call('HGET', KEYS[2], 'v') or '0')
if v <= tonumber(ARGV[3]) then
  redis.call('DEL', KEYS[2])
  redis.call('DEL', KEYS[1])
  return {0}
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return {1, v, redis.call('HGET', KEYS[2], 'token') or ''}

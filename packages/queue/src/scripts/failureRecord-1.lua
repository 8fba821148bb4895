--[[
  Counts a failed turn once (by turn id) and returns the conversation's count.

  Input:
    KEYS[1] failures hash (turn id -> 1, `count`)

    ARGV[1] turn field (`t:<turn id>`)
    ARGV[2] windowSec (TTL of the streak)

  Output:
    failed turns in a row
]]
if redis.call('HSETNX', KEYS[1], ARGV[1], '1') == 1 then
  redis.call('HINCRBY', KEYS[1], 'count', 1)
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return tonumber(redis.call('HGET', KEYS[1], 'count'))

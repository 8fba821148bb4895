--[[
  Gives a reply its place in its conversation: it goes after the conversation's newest reply so
  far and becomes the newest itself. Idempotent per reply: ordering the same reply again (a
  retried turn or hook) returns the place it already has.

  Input:
    KEYS[1] the conversation's newest reply (value: its outbound id)
    KEYS[2] the reply's outbound progress hash (field `after` keeps its place)

    ARGV[1] outbound id of the reply
    ARGV[2] ttlSec of KEYS[1]
    ARGV[3] ttlSec of KEYS[2]

  Output:
    outbound id of the reply it must wait for ('' = none)
]]
local placed = redis.call('HGET', KEYS[2], 'after')
if placed then return placed end
local last = redis.call('GET', KEYS[1]) or ''
if last == ARGV[1] then last = '' end
redis.call('HSET', KEYS[2], 'after', last)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return last

--[[
  Progress of one outbound reply: a part recorded as sent (with its provider message id), or the
  reply finished; refreshes the progress hash's ttl.

  Input:
    KEYS[1] the reply's progress hash (<prefix>:sb:out:<outboundId>)

    ARGV[1] ttlSec
    ARGV[2..] field, value pairs to set

  Output:
    1
]]
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1

--[[
  Counts n events of a channel's account in the current minute (as the customer-accept script does
  for one inbound message): the channel's bucket, the account's bucket and the account in the index
  of counted accounts, each expiring after the last event.

  Input:
    KEYS[1] the channel's bucket of the minute
    KEYS[2] the account's bucket of the minute
    KEYS[3] index of counted accounts (sorted set)

    ARGV[1] n
    ARGV[2] now (ms)
    ARGV[3] the account's member in the index (`<channel>/<accountId>`)
    ARGV[4] ttlSec

  Output:
    1
]]
local ttl = tonumber(ARGV[4])
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('INCRBY', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('ZADD', KEYS[3], 'GT', ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[3], ttl)
return 1

--[[
  Records a provider message the provider accepted (the outbound reply and part it belongs to); a
  status that arrived first keeps its status, rank and time.

  Input:
    KEYS[1] delivery hash of the provider message

    ARGV[1] outbound id
    ARGV[2] part index
    ARGV[3] conversation id
    ARGV[4] accepted at (ms)
    ARGV[5] ttlSec

  Output:
    1
]]
redis.call('HSET', KEYS[1], 'outboundId', ARGV[1], 'part', ARGV[2], 'conversationId', ARGV[3])
redis.call('HSETNX', KEYS[1], 'status', 'accepted')
redis.call('HSETNX', KEYS[1], 'rank', 0)
redis.call('HSETNX', KEYS[1], 'at', ARGV[4])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return 1

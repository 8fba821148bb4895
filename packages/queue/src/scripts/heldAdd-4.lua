--[[
  Holds one reply of a conversation (its customer's window is closed): stores it in order, opens
  a hold episode when none is open, and marks the reply's outbound progress held (finished, so
  the conversation's later replies do not wait for it). Idempotent per reply: holding it again
  returns its episode (and an earlier first unsent part moves the resume point back).

  Input:
    KEYS[1] the conversation's held index (sorted set)
    KEYS[2] the conversation's held state (hash)
    KEYS[3] the reply's outbound progress hash
    KEYS[4] the due index (sorted set of conversations)

    ARGV[1] outbound id of the reply
    ARGV[2] entry JSON
    ARGV[3] order score (ms)
    ARGV[4] first unsent part
    ARGV[5] most replies held per conversation
    ARGV[6] ttlMs of a held reply
    ARGV[7] ttlSec of KEYS[1] and KEYS[2]
    ARGV[8] conversation id (member of KEYS[4])
    ARGV[9] ttlSec of KEYS[3]

  Output:
    {episode, 1} held now, {episode, 0} held before, {0, -1} the conversation holds the most already
]]
local ep = redis.call('HGET', KEYS[3], 'heldEpisode')
if ep then
  local cur = tonumber(redis.call('HGET', KEYS[2], 'f:' .. ARGV[1]) or '-1')
  if cur > tonumber(ARGV[4]) then redis.call('HSET', KEYS[2], 'f:' .. ARGV[1], ARGV[4]) end
  return {tonumber(ep), 0}
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[5]) then return {0, -1} end
local episode
if redis.call('HGET', KEYS[2], 'open') == '1' then
  episode = tonumber(redis.call('HGET', KEYS[2], 'episode') or '1')
else
  episode = redis.call('HINCRBY', KEYS[2], 'episode', 1)
  redis.call('HSET', KEYS[2], 'open', '1')
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[2], 'j:' .. ARGV[1], ARGV[2], 'f:' .. ARGV[1], ARGV[4], 'ttl', ARGV[6])
redis.call('HSET', KEYS[3], 'heldEpisode', episode, 'finished', '1', 'outcome', 'held')
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[9]))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[7]))
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
redis.call('ZADD', KEYS[4], tonumber(first[2]) + tonumber(ARGV[6]), ARGV[8])
return {episode, 1}

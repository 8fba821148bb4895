--[[
  Atomically claims a provider event and appends it to its conversation's mailbox, then makes sure
  exactly one turn is scheduled. Claim and append are one step so a crash can neither lose a
  claimed event nor append it twice. With append = 0 it only re-checks scheduling.

  Input:
    KEYS[1] seen     dedupe claim of the event
    KEYS[2] mailbox  the conversation's pending messages
    KEYS[3] turn     the conversation's turn state hash

    ARGV[1] eventJson
    ARGV[2] dedupeTtlSec
    ARGV[3] nowMs
    ARGV[4] staleRunMs
    ARGV[5] stateTtlSec
    ARGV[6] append ('1' | '0')

  Output:
    {claimed (1 | 0), seqToSchedule (0 = none needed)}
]]
local claimed = 0
if ARGV[6] == '1' then
  if redis.call('SET', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[2])) then
    claimed = 1
    redis.call('RPUSH', KEYS[2], ARGV[1])
    if redis.call('HEXISTS', KEYS[3], 'first') == 0 then redis.call('HSET', KEYS[3], 'first', ARGV[3]) end
    redis.call('HSET', KEYS[3], 'last', ARGV[3])
  end
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5]))
local pending = redis.call('HGET', KEYS[3], 'pending')
if pending then return {claimed, tonumber(pending)} end
local running = redis.call('HGET', KEYS[3], 'running')
if running then
  local since = tonumber(redis.call('HGET', KEYS[3], 'since') or ARGV[3])
  if tonumber(ARGV[3]) - since < tonumber(ARGV[4]) then return {claimed, 0} end
  -- the running turn's worker is gone for good (job failed or lost): its messages are still in the mailbox
  redis.call('HDEL', KEYS[3], 'running', 'count', 'since')
end
if redis.call('LLEN', KEYS[2]) == 0 then return {claimed, 0} end
local seq = redis.call('HINCRBY', KEYS[3], 'seq', 1)
redis.call('HSET', KEYS[3], 'pending', seq)
return {claimed, seq}

--[[
  Shared by mailboxAccept and customerAccept. acceptInMailbox(seen, mailbox, turn, eventJson,
  dedupeTtlSec, nowMs, staleRunMs, stateTtlSec, append) claims a provider event and appends it to
  its conversation's mailbox in one step (so a crash can neither lose a claimed event nor append it
  twice), then makes sure exactly one turn is scheduled. With append = false it only re-checks the
  scheduling. Returns claimed (1 | 0), seqToSchedule (0 = none needed).
]]
local function acceptInMailbox(seen, mailbox, turn, eventJson, dedupeTtlSec, nowMs, staleRunMs, stateTtlSec, append)
  local claimed = 0
  if append then
    if redis.call('SET', seen, '1', 'NX', 'EX', dedupeTtlSec) then
      claimed = 1
      redis.call('RPUSH', mailbox, eventJson)
      if redis.call('HEXISTS', turn, 'first') == 0 then redis.call('HSET', turn, 'first', nowMs) end
      redis.call('HSET', turn, 'last', nowMs)
    end
  end
  redis.call('EXPIRE', turn, stateTtlSec)
  local pending = redis.call('HGET', turn, 'pending')
  if pending then return claimed, tonumber(pending) end
  local running = redis.call('HGET', turn, 'running')
  if running then
    local since = tonumber(redis.call('HGET', turn, 'since') or nowMs)
    if tonumber(nowMs) - since < staleRunMs then return claimed, 0 end
    -- the running turn's worker is gone for good (job failed or lost): its messages are still in the mailbox
    redis.call('HDEL', turn, 'running', 'count', 'since')
  end
  if redis.call('LLEN', mailbox) == 0 then return claimed, 0 end
  local seq = redis.call('HINCRBY', turn, 'seq', 1)
  redis.call('HSET', turn, 'pending', seq)
  return claimed, seq
end

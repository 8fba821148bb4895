--[[
  Write-ahead mark of a reply part before it is handed to the provider, taken only while the
  sending run still holds its job's BullMQ lock. A run whose lock lapsed (its worker was thought
  dead) may already be replaced by another run of the same job: that run has either seen this mark
  (and reconciles the part) or, when it started first, owns the lock, so this mark is refused and
  the old run does not send. Clears the part's reconciliation marks of an earlier attempt.

  Input:
    KEYS[1] the reply's progress hash (<prefix>:sb:out:<outboundId>)
    KEYS[2] the job's BullMQ lock key (<prefix>:<queue>:<jobId>:lock)

    ARGV[1] part index
    ARGV[2] attempt time (ms)
    ARGV[3] the run's lock token
    ARGV[4] ttl of the progress hash (s)

  Output:
    1 marked; 0 the lock is not held with ARGV[3] (nothing written: the run must not send)
]]
if redis.call('GET', KEYS[2]) ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 't' .. ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[1], 'r' .. ARGV[1], 'u' .. ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1

--[[
  The agent's per-customer turn rate limit in one call: the decision stored for the turn (a retried
  turn gets it again and consumes nothing), else one point consumed from the customer's window
  counter (the format of rate-limiter-flexible's RateLimiterRedis: an integer expiring with the
  window), the notice once per window and silence after it; the decision is stored for the turn.

  Input:
    KEYS[1] the turn's decision (`allow` | `notice` | `silent`)
    KEYS[2] the customer's counter of the current window
    KEYS[3] the notice mark of the current window

    ARGV[1] points (turns allowed per window)
    ARGV[2] window (s)
    ARGV[3] ttl of the stored decision (s)

  Output:
    'allow' | 'notice' | 'silent'
]]
local previous = redis.call('GET', KEYS[1])
if previous == 'allow' or previous == 'notice' or previous == 'silent' then return previous end
local window = tonumber(ARGV[2])
redis.call('SET', KEYS[2], 0, 'EX', window, 'NX')
local consumed = redis.call('INCRBY', KEYS[2], 1)
local decision = 'allow'
if consumed > tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl < 0 then
    redis.call('EXPIRE', KEYS[2], window)
    ttl = 1000 * window
  end
  if redis.call('SET', KEYS[3], '1', 'PX', math.max(1000, ttl), 'NX') then decision = 'notice' else decision = 'silent' end
end
redis.call('SET', KEYS[1], decision, 'EX', tonumber(ARGV[3]))
return decision

--[[
  What the agent reads before it asks the model, in one call: the conversation's remembered turns,
  its running summary, the customer's profile and whether a failure streak is running.

  Input:
    KEYS[1] memory list (JSON turns, newest last)
    KEYS[2] running summary
    KEYS[3] customer profile (JSON)
    KEYS[4] failure streak hash

    ARGV[1] turns to read (the newest; 0 = none)
    ARGV[2] '1' to read the profile, else ''

  Output:
    {summary or false, profile or false, streak (1 | 0), turn JSON...}
]]
local out = {redis.call('GET', KEYS[2]), false, redis.call('EXISTS', KEYS[4])}
if ARGV[2] == '1' then out[2] = redis.call('GET', KEYS[3]) end
local n = tonumber(ARGV[1])
if n > 0 then
  for _, t in ipairs(redis.call('LRANGE', KEYS[1], -n, -1)) do out[#out + 1] = t end
end
return out

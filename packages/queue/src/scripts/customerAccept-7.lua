--[[
  The ingress's whole acceptance of one customer message in one call: notes the customer's contact
  (newer wins), claims the event and appends it to its conversation's mailbox (as mailboxAccept),
  counts it in the per-minute inbound counters when it was new (as recordChannelEvent), and says
  which turn must be scheduled.

  Input:
    KEYS[1] seen      dedupe claim of the event
    KEYS[2] mailbox   the conversation's pending messages
    KEYS[3] turn      the conversation's turn state hash
    KEYS[4] contact   the customer's last contact (hash: ref, last, entry)
    KEYS[5] stats     the channel's inbound counter of this minute
    KEYS[6] account   the account's inbound counter of this minute
    KEYS[7] accounts  index of counted accounts (sorted set)

    ARGV[1] eventJson
    ARGV[2] dedupeTtlSec
    ARGV[3] nowMs
    ARGV[4] staleRunMs
    ARGV[5] stateTtlSec
    ARGV[6] refJson        the message's conversation reference
    ARGV[7] sentAtMs       provider time of the message
    ARGV[8] referral       '1' when it came from an ad or post, else ''
    ARGV[9] contactTtlSec
    ARGV[10] accountMember `<channel>/<accountId>` in the index
    ARGV[11] statsTtlSec

  Output:
    {claimed (1 | 0), seqToSchedule (0 = none needed)}
]]
--- @include "noteContact"
--- @include "acceptInMailbox"
noteContact(KEYS[4], ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9]))
local claimed, seq = acceptInMailbox(KEYS[1], KEYS[2], KEYS[3], ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), true)
if claimed == 1 then
  local ttl = tonumber(ARGV[11])
  redis.call('INCRBY', KEYS[5], 1)
  redis.call('EXPIRE', KEYS[5], ttl)
  redis.call('INCRBY', KEYS[6], 1)
  redis.call('EXPIRE', KEYS[6], ttl)
  redis.call('ZADD', KEYS[7], 'GT', ARGV[3], ARGV[10])
  redis.call('EXPIRE', KEYS[7], ttl)
end
return {claimed, seq}

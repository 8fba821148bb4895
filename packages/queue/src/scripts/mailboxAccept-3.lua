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
--- @include "acceptInMailbox"
local claimed, seq = acceptInMailbox(KEYS[1], KEYS[2], KEYS[3], ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1')
return {claimed, seq}

--[[
  Notes a customer message on their contact hash (idempotent; an older message than the one known
  changes nothing but the expiry).

  Input:
    KEYS[1] contact  the customer's last contact on one channel account (hash: ref, last, entry)

    ARGV[1] refJson     the conversation reference of the message
    ARGV[2] sentAtMs    provider time of the message
    ARGV[3] referral    '1' when it came from an ad or post, else ''
    ARGV[4] ttlSec

  Output:
    1
]]
--- @include "noteContact"
noteContact(KEYS[1], ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]))
return 1

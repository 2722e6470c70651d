--[[
  Ends `owner`'s lease of a task: deletes the lease key if `owner` holds a live lease, else
  changes nothing (another owner's lease, or a lapsed one, stays until claimed or expired).

  Input:
    KEYS[1] lease key   <prefix>{taskId}:lease
    ARGV[1] now, ms since the epoch (the store's clock)
    ARGV[2] owner (a valid id)

  Output:
    {0, 1}        `owner` held a live lease: it is gone
    {0, 0}        it did not; nothing changed
    {3, reason}   the lease key is corrupt; nothing changed
]]
--- @include "lease"

local key = KEYS[1]
local state, holder = openLease(key, ARGV[1])
if state == 'corrupt' then return {3, holder} end
if state ~= 'live' or holder ~= ARGV[2] then return {0, 0} end
redis.call('DEL', key)
return {0, 1}

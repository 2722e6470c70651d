--[[
  A task's live lease. Writes nothing (a lapsed lease stays until claimed or expired).

  Input:
    KEYS[1] lease key   <prefix>{taskId}:lease
    ARGV[1] now, ms since the epoch (the store's clock)

  Output:
    {0, owner, expiresAt}  the live lease
    {0}                    none, or it lapsed
    {3, reason}            the lease key is corrupt
]]
--- @include "lease"

local state, owner, expiresAt = openLease(KEYS[1], ARGV[1])
if state == 'corrupt' then return {3, owner} end
if state == 'none' then return {0} end
return {0, owner, expiresAt}

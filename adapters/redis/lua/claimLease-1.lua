--[[
  Takes or renews a task's lease: granted when the task has no live lease (none, or lapsed at
  now) or `owner` holds it, refused when another owner holds a live one (left unchanged).

  Input:
    KEYS[1] lease key   <prefix>{taskId}:lease
    ARGV[1] now, ms since the epoch (the store's clock)
    ARGV[2] owner (a valid id)
    ARGV[3] the lease's expiresAt if granted (now + ttlMs)
    ARGV[4] the lease key's TTL in ms, relative to the server's clock: ttlMs plus a margin (a
            backstop, see includes/lease.lua)

  Output:
    {0, 1}                    granted: the key holds "<expiresAt> <owner>"
    {0, 0, owner, expiresAt}  refused: another owner's live lease
    {3, reason}               the lease key is corrupt; nothing written
]]
--- @include "lease"

local key, owner = KEYS[1], ARGV[2]
local state, holder, expiresAt = openLease(key, ARGV[1])
if state == 'corrupt' then return {3, holder} end
if state == 'live' and holder ~= owner then return {0, 0, holder, expiresAt} end
redis.call('SET', key, ARGV[3] .. ' ' .. owner, 'PX', ARGV[4])
return {0, 1}

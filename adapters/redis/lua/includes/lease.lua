--[[
  Helpers of the lease scripts. A task's lease is one key under the task's hash tag:
    <prefix>{taskId}:lease   string  "<expiresAt> <owner>": ms since the epoch by the store's
                                     clock (a safe integer), a space, the owner (a valid id)
  The lease is live while expiresAt > now, with `now` passed by the store (its clock, like
  record TTLs): a lapsed lease may still be stored, and counts as none. The key also gets a
  TTL of its own (PX, relative to the server's clock: the lease's TTL plus a margin), a
  backstop so lapsed leases do not pile up that never ends a live lease before the store's
  clock does, whatever the offset between the store's clock and the server's.
]]

-- Most characters of a lease value: a safe integer (17 with its sign), a space, an id (200).
local LEASE_MAX_CHARS = 218

-- Reads the lease at `key` as of `now`. Returns 'live', owner, expiresAt (strings) for a live
-- lease; 'none' when there is none or it lapsed; 'corrupt', reason when the key holds anything
-- else (another type, an oversized or unparseable value), which is never read whole.
local function openLease(key, now)
  local t = redis.call('TYPE', key)['ok']
  if t == 'none' then return 'none' end
  if t ~= 'string' then return 'corrupt', 'its lease key holds a ' .. t end
  if redis.call('STRLEN', key) > LEASE_MAX_CHARS then
    return 'corrupt', 'its lease value is longer than any lease'
  end
  local expiresAt, owner =
    string.match(redis.call('GET', key), '^(%-?%d+) ([A-Za-z0-9_][A-Za-z0-9_.%-]*)$')
  if not owner or #owner > 200 or #expiresAt > 17 then
    return 'corrupt', 'its lease value does not parse'
  end
  if tonumber(expiresAt) <= tonumber(now) then return 'none' end
  return 'live', owner, expiresAt
end

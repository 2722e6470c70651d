--[[
  Reads the live record with the highest sequence number, refusing a body over the size bound.

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] metadata key     <prefix>{taskId}:meta
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] now, ms since the epoch
    ARGV[3] largest body to return, in bytes

  Output:
    {0, id, seq, createdAt, expiresAt, body}   the record (expiresAt '' when it never expires)
    {3, id, reason}                            corrupt
    {4, id, bytes}                             body over the bound; not read
    {5}                                        the task has no live record
]]
--- @include "taskKeys"

local idxKey, expKey, metaKey = KEYS[1], KEYS[2], KEYS[3]
local recPrefix, now, maxBytes = ARGV[1], ARGV[2], ARGV[3]

local bad = checkTaskKeys(idxKey, expKey, metaKey)
if bad then return {3, '', bad} end
pruneExpired(idxKey, expKey, metaKey, recPrefix, now)

while true do
  local top = redis.call('ZREVRANGE', idxKey, 0, 0, 'WITHSCORES')
  if #top == 0 then return {5} end
  local record = readRecord(idxKey, metaKey, recPrefix, top[1], top[2], maxBytes)
  if record then return record end
  -- Redis expired it before our clock did: forget it and look at the next one.
  dropRecord(idxKey, expKey, metaKey, recPrefix, top[1])
  refreshLifetime(idxKey, expKey, metaKey)
end

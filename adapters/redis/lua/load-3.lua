--[[
  Reads one live record, refusing to return a body over the size bound.

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] metadata key     <prefix>{taskId}:meta
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] now, ms since the epoch
    ARGV[3] checkpointId
    ARGV[4] largest body to return, in bytes

  Output:
    {0, id, seq, createdAt, expiresAt, body}   the record (expiresAt '' when it never expires)
    {3, id, reason}                            corrupt
    {4, id, bytes}                             body over the bound; not read
    {5}                                        no live record with this id
]]
--- @include "taskKeys"

local idxKey, expKey, metaKey = KEYS[1], KEYS[2], KEYS[3]
local recPrefix, now, id, maxBytes = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local bad = checkTaskKeys(idxKey, expKey, metaKey)
if bad then return {3, id, bad} end
pruneExpired(idxKey, expKey, metaKey, recPrefix, now)

local seq = redis.call('ZSCORE', idxKey, id)
if not seq then return {5} end
local record = readRecord(idxKey, metaKey, recPrefix, id, seq, maxBytes)
if record then return record end
dropRecord(idxKey, expKey, metaKey, recPrefix, id)
refreshLifetime(idxKey, expKey, metaKey)
return {5}

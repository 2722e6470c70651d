--[[
  Deletes one live record.

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] metadata key     <prefix>{taskId}:meta
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] now, ms since the epoch
    ARGV[3] checkpointId

  Output:
    {0, 1}        deleted
    {0, 0}        there was no live record with this id
  A task key of the wrong type fails the script (WRONGTYPE) before anything is written.
]]
--- @include "taskKeys"

local idxKey, expKey, metaKey = KEYS[1], KEYS[2], KEYS[3]
local recPrefix, now, id = ARGV[1], ARGV[2], ARGV[3]

openTask(idxKey, expKey, metaKey, recPrefix, now)
if not redis.call('ZSCORE', idxKey, id) then return {0, 0} end
dropRecord(idxKey, expKey, metaKey, recPrefix, id)
refreshLifetime(idxKey, expKey, metaKey)
return {0, 1}

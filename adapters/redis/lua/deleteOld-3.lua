--[[
  Deletes all but the newest keepLatest live records of a task, in one step.

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] metadata key     <prefix>{taskId}:meta
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] now, ms since the epoch
    ARGV[3] keepLatest, an integer >= 0

  Output:
    {0, deleted}   how many live records were deleted
  A task key of the wrong type fails the script (WRONGTYPE) before anything is written.
]]
--- @include "taskKeys"

local idxKey, expKey, metaKey = KEYS[1], KEYS[2], KEYS[3]
local recPrefix, now, keep = ARGV[1], ARGV[2], tonumber(ARGV[3])

openTask(idxKey, expKey, metaKey, recPrefix, now)
local excess = redis.call('ZCARD', idxKey) - keep
if excess <= 0 then return {0, 0} end
-- Oldest (lowest seq) first.
local doomed = redis.call('ZRANGE', idxKey, 0, excess - 1)
for _, id in ipairs(doomed) do
  dropRecord(idxKey, expKey, metaKey, recPrefix, id)
end
refreshLifetime(idxKey, expKey, metaKey)
return {0, #doomed}

--[[
  The task's head sequence number: 0 before its first save, and again once everything expired.

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] metadata key     <prefix>{taskId}:meta
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] now, ms since the epoch

  Output:
    {0, head}
    {3, reason}   a task key holds the wrong type
]]
--- @include "taskKeys"

local idxKey, expKey, metaKey = KEYS[1], KEYS[2], KEYS[3]

local bad = checkTaskKeys(idxKey, expKey, metaKey)
if bad then return {3, bad} end
pruneExpired(idxKey, expKey, metaKey, ARGV[1], ARGV[2])
return {0, tonumber(redis.call('HGET', metaKey, ':seq') or '0')}

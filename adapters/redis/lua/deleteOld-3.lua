--[[
  Deletes all but the newest keepLatest live records of a task, in one step.

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] v2 metadata key  <prefix>{taskId}:meta  (tasks written by layout v2)
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] now, ms since the epoch
    ARGV[3] keepLatest, an integer >= 0

  Output:
    {0, deleted}   how many live records were deleted
    {3, 'head', reason}  the task's head is damaged (see openTask); nothing written
  A task key of the wrong type fails the script (WRONGTYPE) before anything is written.
]]
--- @include "taskKeys"

local task = {idx = KEYS[1], exp = KEYS[2], meta = KEYS[3], rec = ARGV[1]}
local now, keep = ARGV[2], tonumber(ARGV[3])

local head, damaged = openTask(task, now)
if not head then return {3, 'head', damaged} end
local excess = liveCount(task) - keep
if excess <= 0 then return {0, 0} end
-- Oldest (lowest seq) first; the reserved members score at most 0.
local doomed = redis.call('ZRANGE', task.idx, 1, '+inf', 'BYSCORE', 'LIMIT', 0, excess)
dropRecords(task, doomed)
refreshLifetime(task)
return {0, #doomed}

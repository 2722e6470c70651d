--[[
  The task's head sequence number: 0 before its first save, and again once everything expired.

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] v2 metadata key  <prefix>{taskId}:meta  (tasks written by layout v2)
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] now, ms since the epoch

  Output:
    {0, head}
    {3, 'head', reason}  the task's head is damaged (see openTask); nothing written
  A task key of the wrong type fails the script (WRONGTYPE) before anything is written.
]]
--- @include "taskKeys"

local task = {idx = KEYS[1], exp = KEYS[2], meta = KEYS[3], rec = ARGV[1]}
local head, damaged = openTask(task, ARGV[2])
if not head then return {3, 'head', damaged} end
return {0, head}

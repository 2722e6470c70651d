--[[
  Deletes one live record.

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] v2 metadata key  <prefix>{taskId}:meta  (tasks written by layout v2)
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] now, ms since the epoch
    ARGV[3] checkpointId

  Output:
    {0, 1}        deleted
    {0, 0}        there was no live record with this id
    {3, 'head', reason}  the task's head is damaged (see openTask); nothing written
  A task key of the wrong type fails the script (WRONGTYPE) before anything is written.
]]
--- @include "taskKeys"

local task = {idx = KEYS[1], exp = KEYS[2], meta = KEYS[3], rec = ARGV[1]}
local now, id = ARGV[2], ARGV[3]

local head, damaged, _, entry = openTask(task, now, id)
if not head then return {3, 'head', damaged} end
if not entry then return {0, 0} end
dropRecords(task, {id})
refreshLifetime(task)
return {0, 1}

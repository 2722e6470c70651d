--[[
  Appends entries to a task's log, in order, only when the log holds exactly `at` entries and,
  when asked, the task has a head above 0 (it has a checkpoint: it was neither deleted nor did
  everything expire). Checked and written in one step, so a deleteTask comes wholly before or
  after it: an append for a deleted task is refused even at length 0.

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] v2 metadata key  <prefix>{taskId}:meta  (tasks written by layout v2)
    KEYS[4] log key          <prefix>{taskId}:log:<name>
    KEYS[5] log names key    <prefix>{taskId}:logs   (set of the task's log names)
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] now, ms since the epoch
    ARGV[3] log name
    ARGV[4] at: the length the log must have
    ARGV[5] '1': the task's head must be above 0; '0': no condition on the head
    ARGV[6..] entries (none: nothing is written; the answer says whether the conditions hold)

  Output:
    {0, 1, length}       appended; the log's new length
    {0, 0, length}       refused (the log's length is not `at`, or the task has no head); its length
    {3, reason}          a log key holds the wrong type; nothing written
    {3, 'head', reason}  the task's head is damaged (see openTask); nothing written
  A task key of the wrong type fails the script (WRONGTYPE) before anything is written.
]]
--- @include "taskKeys"

local task = {idx = KEYS[1], exp = KEYS[2], meta = KEYS[3], rec = ARGV[1]}
local logKey, namesKey = KEYS[4], KEYS[5]
local t = redis.call('TYPE', logKey)['ok']
if t ~= 'none' and t ~= 'list' then return {3, 'its log key holds a ' .. t} end
t = redis.call('TYPE', namesKey)['ok']
if t ~= 'none' and t ~= 'set' then return {3, 'its log names key holds a ' .. t} end

local length = redis.call('LLEN', logKey)
if length ~= tonumber(ARGV[4]) then return {0, 0, length} end
if ARGV[5] == '1' then
  local head, damaged = openTask(task, ARGV[2])
  if not head then return {3, 'head', damaged} end
  if head == 0 then return {0, 0, length} end
end

-- RPUSH in slices: unpack() of a huge table would overflow Lua's stack.
for i = 6, #ARGV, 1000 do
  length = redis.call('RPUSH', logKey, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if #ARGV >= 6 then redis.call('SADD', namesKey, ARGV[3]) end
return {0, 1, length}

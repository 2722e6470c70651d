--[[
  Removes every record, log and counter of a task, and its lease.

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] v2 metadata key  <prefix>{taskId}:meta  (tasks written by layout v2)
    KEYS[4] log names key    <prefix>{taskId}:logs
    KEYS[5] lease key        <prefix>{taskId}:lease
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] log key prefix     <prefix>{taskId}:log:
    ARGV[3] now, ms since the epoch

  Output:
    {0, 1}        something live existed (a record, a head or a log) and is now gone
    {0, 0}        nothing existed (a lease alone does not count: it is deleted all the same)
    {3, reason}   the log names key holds the wrong type; nothing deleted
  A task key of the wrong type fails the script (WRONGTYPE) before anything is written.
]]
--- @include "taskKeys"

local task = {idx = KEYS[1], exp = KEYS[2], meta = KEYS[3], rec = ARGV[1]}
local namesKey, leaseKey = KEYS[4], KEYS[5]
local logPrefix, now = ARGV[2], ARGV[3]

local t = redis.call('TYPE', namesKey)['ok']
if t ~= 'none' and t ~= 'set' then return {3, 'its log names key holds a ' .. t} end
-- A damaged head (openTask answers false) is deleted with the rest: that is how it is cleared.
openTask(task, now)

local existed = 0
-- Every record the v2 metadata knows about (its hash is gone once they are).
for _, field in ipairs(redis.call('HKEYS', task.meta)) do
  if string.sub(field, 1, 1) ~= ':' then redis.call('DEL', task.rec .. field) end
  existed = 1
end
-- Every record of the index, and its reserved members (a head counts as something live).
for _, id in ipairs(redis.call('ZRANGE', task.idx, 0, -1)) do
  if string.sub(id, 1, 1) ~= ':' then redis.call('DEL', task.rec .. id) end
  existed = 1
end
for _, name in ipairs(redis.call('SMEMBERS', namesKey)) do
  if redis.call('DEL', logPrefix .. name) > 0 then existed = 1 end
end
redis.call('DEL', task.idx, task.exp, task.meta, namesKey, leaseKey)
return {0, existed}

--[[
  Removes every record, log and counter of a task.

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] metadata key     <prefix>{taskId}:meta
    KEYS[4] log names key    <prefix>{taskId}:logs
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] log key prefix     <prefix>{taskId}:log:
    ARGV[3] now, ms since the epoch

  Output:
    {0, 1}        something live existed (a record, a head or a log) and is now gone
    {0, 0}        nothing existed
    {3, reason}   the log names key holds the wrong type; nothing deleted
  A task key of the wrong type fails the script (WRONGTYPE) before anything is written.
]]
--- @include "taskKeys"

local idxKey, expKey, metaKey, namesKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local recPrefix, logPrefix, now = ARGV[1], ARGV[2], ARGV[3]

local t = redis.call('TYPE', namesKey)['ok']
if t ~= 'none' and t ~= 'set' then return {3, 'its log names key holds a ' .. t} end
openTask(idxKey, expKey, metaKey, recPrefix, now)

local existed = 0
-- Every record the metadata knows about (a superset of the index).
for _, field in ipairs(redis.call('HKEYS', metaKey)) do
  if string.sub(field, 1, 1) ~= ':' then redis.call('DEL', recPrefix .. field) end
  existed = 1
end
for _, id in ipairs(redis.call('ZRANGE', idxKey, 0, -1)) do
  redis.call('DEL', recPrefix .. id)
  existed = 1
end
for _, name in ipairs(redis.call('SMEMBERS', namesKey)) do
  if redis.call('DEL', logPrefix .. name) > 0 then existed = 1 end
end
redis.call('DEL', idxKey, expKey, metaKey, namesKey)
return {0, existed}

--[[
  Appends entries to a task's log, in order, and remembers the log's name for deleteTask.

  Input:
    KEYS[1] log key          <prefix>{taskId}:log:<name>
    KEYS[2] log names key    <prefix>{taskId}:logs   (set of the task's log names)
    ARGV[1] log name
    ARGV[2..] entries (at least one)

  Output:
    {0, length}   the log's new length
    {3, reason}   a key holds the wrong type; nothing written
]]

local logKey, namesKey = KEYS[1], KEYS[2]
local t = redis.call('TYPE', logKey)['ok']
if t ~= 'none' and t ~= 'list' then return {3, 'its log key holds a ' .. t} end
t = redis.call('TYPE', namesKey)['ok']
if t ~= 'none' and t ~= 'set' then return {3, 'its log names key holds a ' .. t} end

local length = 0
-- RPUSH in slices: unpack() of a huge table would overflow Lua's stack.
for i = 2, #ARGV, 1000 do
  length = redis.call('RPUSH', logKey, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('SADD', namesKey, ARGV[1])
return {0, length}

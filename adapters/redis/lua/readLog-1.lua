--[[
  Reads entries [from, stop] of a task's log, refusing any entry over the size bound, so a large
  entry is never sent.

  Input:
    KEYS[1] log key          <prefix>{taskId}:log:<name>
    ARGV[1] from (index of the first entry)
    ARGV[2] stop (index of the last entry, -1 for the end)
    ARGV[3] largest entry to return, in bytes

  Output:
    {0, entry, entry, ...}    the entries, in order
    {3, reason}               the log key holds the wrong type
    {4, index, bytes}         the entry at index (in the log) is over the bound; nothing returned
]]

local logKey = KEYS[1]
local t = redis.call('TYPE', logKey)['ok']
if t == 'none' then return {0} end
if t ~= 'list' then return {3, 'its log key holds a ' .. t} end

local from = tonumber(ARGV[1])
local maxBytes = tonumber(ARGV[3])
local entries = redis.call('LRANGE', logKey, from, ARGV[2])
local out = {0}
for i = 1, #entries do
  local entry = entries[i]
  if #entry > maxBytes then return {4, from + i - 1, #entry} end
  out[i + 1] = entry
end
return out

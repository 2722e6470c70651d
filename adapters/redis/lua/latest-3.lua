--[[
  Reads the live record with the highest sequence number, refusing a body over the size bound.

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] v2 metadata key  <prefix>{taskId}:meta  (tasks written by layout v2)
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] now, ms since the epoch
    ARGV[3] largest body to return, in bytes
    ARGV[4] largest value to return inline, in bytes (larger ones: status 7)

  Output:
    {0, id, seq, createdAt, expiresAt, value}  the record: value is the stored value
    {7, id, seq, createdAt, expiresAt, nonce, size}
                                               the record is larger than ARGV[4]: the client
                                               reads its value (size bytes) with GETRANGE
    {3, id, reason}                            corrupt
    {4, id, bytes}                             body over the bound; not read
    {5}                                        the task has no live record
    {3, 'head', reason}                        the task's head is damaged (see openTask)
  A task key of the wrong type fails the script (WRONGTYPE) before anything is written.
]]
--- @include "taskKeys"

local task = {idx = KEYS[1], exp = KEYS[2], meta = KEYS[3], rec = ARGV[1]}
local now, maxBytes, inlineBytes = ARGV[2], ARGV[3], ARGV[4]

local head, damaged = openTask(task, now)
if not head then return {3, 'head', damaged} end

while true do
  -- The highest score: a record's seq (>= 1), or a reserved member's (<= 0) when none is left.
  local top = redis.call('ZREVRANGE', task.idx, 0, 0, 'WITHSCORES')
  if #top == 0 or tonumber(top[2]) < 1 then return {5} end
  local record = readRecord(task, top[1], top[2], maxBytes, inlineBytes)
  if record then return record end
  -- Redis expired it before our clock did: forget it and look at the next one.
  dropRecords(task, {top[1]})
  refreshNext(task)
end

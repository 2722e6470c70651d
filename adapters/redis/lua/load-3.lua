--[[
  Reads one live record, refusing to return a body over the size bound.

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] v2 metadata key  <prefix>{taskId}:meta  (tasks written by layout v2)
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] now, ms since the epoch
    ARGV[3] checkpointId
    ARGV[4] largest body to return, in bytes
    ARGV[5] largest value to return inline, in bytes (larger ones: status 7)

  Output:
    {0, id, seq, createdAt, expiresAt, value}  the record: value is the stored value
    {7, id, seq, createdAt, expiresAt, nonce, size}
                                               the record is larger than ARGV[5]: the client
                                               reads its value (size bytes) with GETRANGE
    {3, id, reason}                            corrupt
    {4, id, bytes}                             body over the bound; not read
    {5}                                        no live record with this id
    {3, 'head', reason}                        the task's head is damaged (see openTask)
  A task key of the wrong type fails the script (WRONGTYPE) before anything is written.
]]
--- @include "taskKeys"

local task = {idx = KEYS[1], exp = KEYS[2], meta = KEYS[3], rec = ARGV[1]}
local now, id, maxBytes, inlineBytes = ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local head, damaged, _, seq = openTask(task, now, id)
if not head then return {3, 'head', damaged} end
if not seq then return {5} end
local record = readRecord(task, id, seq, maxBytes, inlineBytes)
if record then return record end
dropRecords(task, {id})
refreshNext(task)
return {5}

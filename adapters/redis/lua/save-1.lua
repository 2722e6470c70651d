--[[
  Saves one checkpoint record atomically: record, index entry, expiry entry, head and the keys'
  lifetimes all move together, or nothing is written. A small record value comes as
  ARGV[2]; a large one does not pass through Lua (big strings are slow there): the client sends
  it just before this script (same connection, same write) with SETEX <temp key> <safety TTL>
  <value>, and the script RENAMEs it into place (O(1)). Several saves pending at once go together
  through saveMany-N instead (same logic: includes/saveRecord.lua).

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx  (the task's other keys are derived from it:
                             …exp, …r:<id>, …meta (v2 tasks), and the temp value key …tmp:<nonce>)
    ARGV[1] the save, packed: "1|now|expiresAt|expectedSeq|expectedId|checkpointId|log|count"
            now in ms since the epoch, expiresAt '' when it never expires, expectedSeq '' for an
            unconditional save, expectedId '' for none (see includes/saveRecord.lua); log and
            count: the log ARGV[3..] are appended to ('' when none)
    ARGV[2] the record value "<nonce> <checkpointId> <createdAt>|<expiresAt>|<bodyBytes>\n<body>"
            when small (the nonce: 36 characters unique per save call, so a save re-sent after a
            dropped reply is recognized), else the nonce alone: then the value was sent just
            before (same write) into the temp value key with SETEX
    ARGV[3..] entries appended to the task's log <log> with the record (count of them)

  Output:
    seq              (an integer, no table: the common answer costs least) saved with this
                     sequence number (or this very call was already applied)
    {1, actualSeq}   conflict: the head is not expectedSeq, or (actualSeq = expectedSeq) the
                     record at the head is not expectedId; nothing written
    {2}              the task already has a live record with this id; nothing written
    {3, reason}      the packed save does not parse; nothing written
    {3, 'head', reason}  the task's head is damaged, or no seq can follow it (see
                     includes/saveRecord.lua); nothing written
    {6}              the temp value key is missing (its SETEX failed or expired); nothing written
    {8, error}       a Redis command failed (a task key of the wrong type: WRONGTYPE); nothing
                     written
  Every answer
  but seq from a first run deletes the temp key.
]]
--- @include "taskKeys"
--- @include "saveRecord"

local _, now, expiresAt, expectedSeq, expectedId, id, log, count =
  string.match(ARGV[1], SAVE_FIELDS)
count = tonumber(count) or 0
-- Entries missing or extra, or entries without a log: the save does not parse.
if id and (#ARGV ~= 2 + count or (count > 0 and log == '')) then id = nil end
return saveRecord(KEYS[1], string.sub(KEYS[1], 1, -4), now, expiresAt, expectedSeq, expectedId, id,
  ARGV[2], nil, log, 3, count)

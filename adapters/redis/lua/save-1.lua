--[[
  Saves one checkpoint record atomically: record, index entry, expiry entry, metadata, head and
  the keys' lifetimes all move together, or nothing is written. A small record value comes as
  ARGV[2]; a large one does not pass through Lua (big strings are slow there): the client sends
  it just before this script (same connection, same write) with SETEX <temp key> <safety TTL>
  <value>, and the script RENAMEs it into place (O(1)). Several saves pending at once go together
  through saveMany-N instead (same logic: includes/saveRecord.lua).

  Input:
    KEYS[1] metadata key     <prefix>{taskId}:meta  (the task's other keys are derived from it:
                             …idx, …exp, …r:<id>, and the temp value key …tmp:<nonce>)
    ARGV[1] the save, packed: "1|now|checkpointId|createdAt|expiresAt|expectedSeq|nonce|bytes"
            now and createdAt in ms since the epoch, expiresAt '' when it never expires,
            expectedSeq '' for an unconditional save, nonce 36 characters unique per save call
            (so a save re-sent after a dropped reply is recognized), bytes the body's length
    ARGV[2] the record value "<nonce> <checkpointId>\n<body>" when small, else '': then it was
            sent just before (same write) into the temp value key with SETEX

  Output:
    {0, seq}         saved with this sequence number (or this very call was already applied)
    {1, actualSeq}   conflict: the head is not expectedSeq; nothing written
    {2}              the task already has a live record with this id; nothing written
    {3, reason}      the packed save does not parse; nothing written
    {6}              the temp value key is missing (its SETEX failed or expired); nothing written
  A task key of the wrong type fails the script (WRONGTYPE) with nothing written. Every answer
  but {0, seq} from a first run deletes the temp key.
]]
--- @include "taskKeys"
--- @include "saveRecord"

return saveRecord(taskOf(KEYS[1]), ARGV[1], ARGV[2])

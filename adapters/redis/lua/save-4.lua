--[[
  Saves one checkpoint record atomically: record, index entry, expiry entry, metadata, head and
  the keys' lifetimes all move together, or nothing is written. The record value does not pass
  through Lua: the client sends it just before this script (same connection, same write) with
  SETEX <temp key> <safety TTL> <value>, and the script RENAMEs it into place (O(1)). Several
  saves pending at once go together through saveMany-N instead (same logic:
  includes/saveRecord.lua).

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] metadata key     <prefix>{taskId}:meta
    KEYS[4] temp value key   <prefix>{taskId}:tmp:<nonce>, holding "<nonce> <checkpointId>\n<body>"
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] now, ms since the epoch
    ARGV[3] checkpointId
    ARGV[4] createdAt
    ARGV[5] expiresAt ('' when it never expires)
    ARGV[6] expectedSeq ('' for an unconditional save)
    ARGV[7] nonce: 36 characters, unique per save call, so a save re-sent after a dropped reply
            is recognized
    ARGV[8] the body's length in bytes

  Output:
    {0, seq}         saved with this sequence number (or this very call was already applied)
    {1, actualSeq}   conflict: the head is not expectedSeq; nothing written
    {2}              the task already has a live record with this id; nothing written
    {6}              the temp value key is missing (its SETEX failed or expired); nothing written
  A task key of the wrong type fails the script (WRONGTYPE) with nothing written. Every answer
  but {0, seq} from a first run deletes the temp key.
]]
--- @include "taskKeys"
--- @include "saveRecord"

return saveRecord(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], ARGV[4],
  ARGV[5], ARGV[6], ARGV[7], ARGV[8])

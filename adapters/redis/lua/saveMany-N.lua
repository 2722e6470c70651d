--[[
  Group commit: several checkpoint saves, possibly of different tasks, in one call. Each save is
  applied exactly as save-4 would apply it alone (includes/saveRecord.lua), in the order given,
  all or nothing per save: one save's conflict or failure never affects another. Saves of one
  task see each other in order, so expectedSeq chains behave as if sent one by one. Each value
  comes just ahead of the call in its own temp key (SETEX, same connection, same write). Every
  task key is declared, so in a Redis Cluster all tasks of one call must share a slot (the client
  batches per task there).

  A call re-sent after a dropped reply answers as the first run did: an applied save is
  recognized by its nonce; when some save was refused, the first run keeps every answer in
  KEYS[1] for ARGV[1] seconds (best effort), and a re-run returns them untouched (a refused save
  is not evaluated again, so it cannot land after saves issued after it) and drops the temp keys
  the re-sent SETEXs wrote again.

  Input (G task groups, S saves; 1 + 3G keys):
    KEYS[1]      answers key  <prefix>{taskId of the first save}:ans:<nonce of the first save>
    KEYS[3g-1]   index key     <prefix>{taskId}:idx    of task group g (1..G)
    KEYS[3g]     expiry key    <prefix>{taskId}:exp
    KEYS[3g+1]   metadata key  <prefix>{taskId}:meta
    ARGV[1]      how long the answers key lives, in seconds
    ARGV[1+g]    key prefix of group g  <prefix>{taskId}:  (records: <…>r:<id>, temp values:
                 <…>tmp:<nonce>)
    then 8 arguments per save, in submission order:
      group (1..G), now (ms since the epoch, when the save was issued), checkpointId,
      createdAt, expiresAt ('' when it never expires), expectedSeq ('' for an unconditional
      save), nonce (36 characters, unique per save), the body's length in bytes

  Output: one answer per save, in order:
    {0, seq}         saved with this sequence number (or this very save was already applied)
    {1, actualSeq}   conflict: the head is not expectedSeq; nothing of it written
    {2}              the task already has a live record with this id; nothing of it written
    {6}              its temp value key is missing (its SETEX failed or expired); nothing written
    {8, error}       a Redis command failed for it (a task key of the wrong type: WRONGTYPE)
                     with nothing of it written
]]
--- @include "taskKeys"
--- @include "saveRecord"

local ansKey = KEYS[1]
local groups = (#KEYS - 1) / 3
local first = groups + 2
local kept = redis.call('GET', ansKey)
if kept then
  for i = first, #ARGV, 8 do
    redis.call('DEL', ARGV[1 + tonumber(ARGV[i])] .. 'tmp:' .. ARGV[i + 6])
  end
  return cjson.decode(kept)
end

local recPrefixes = {}
for g = 1, groups do recPrefixes[g] = ARGV[1 + g] .. 'r:' end

local answers = {}
local refused = false
for i = first, #ARGV, 8 do
  local g = tonumber(ARGV[i])
  local tmpKey = ARGV[1 + g] .. 'tmp:' .. ARGV[i + 6]
  local ok, answer = pcall(saveRecord, KEYS[3 * g - 1], KEYS[3 * g], KEYS[3 * g + 1], tmpKey,
    recPrefixes[g], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5],
    ARGV[i + 6], ARGV[i + 7])
  if not ok then
    -- A command error arrives as a table {err = ...} or, from older servers, as a string.
    if type(answer) == 'table' then answer = answer.err end
    answer = {8, tostring(answer)}
    pcall(redis.call, 'DEL', tmpKey)
  end
  if answer[1] ~= 0 then refused = true end
  answers[#answers + 1] = answer
end
-- Best effort: without it (e.g. OOM before any write), a re-send evaluates the refused again.
if refused then pcall(redis.call, 'SET', ansKey, cjson.encode(answers), 'EX', ARGV[1]) end
return answers

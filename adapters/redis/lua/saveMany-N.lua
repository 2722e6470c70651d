--[[
  Group commit: several checkpoint saves, possibly of different tasks, in one call. Each save is
  applied exactly as save-1 would apply it alone (includes/saveRecord.lua), in the order given,
  all or nothing per save: one save's conflict or failure never affects another (saveRecord
  answers a failed command with {8, error}, it raises none). Saves of one
  task see each other in order, so expectedSeq chains behave as if sent one by one. A small
  value comes inline; a large one just ahead of the call in its own temp key (SETEX, same
  connection, same write). Every task's metadata key is declared, so in a Redis Cluster all tasks
  of one call must share a slot (the client batches per task there).

  A call re-sent after a dropped reply answers as the first run did: an applied save is
  recognized by its nonce; when some save was refused, the first run keeps every answer in
  KEYS[1] for ARGV[1] seconds (best effort), and a re-run returns them untouched (a refused save
  is not evaluated again, so it cannot land after saves issued after it) and drops the temp keys
  the re-sent SETEXs wrote again.

  Input (G task groups, S saves appending E log entries; 1 + G keys, 1 + 2S + E arguments):
    KEYS[1]      answers key  <prefix>{taskId of the first save}:ans:<nonce of the first save>
    KEYS[1+g]    index key of task group g (1..G)  <prefix>{taskId}:idx; the task's other keys
                 are derived from it (…exp, …r:<id>, …meta, …tmp:<nonce>)
    ARGV[1]      how long the answers key lives, in seconds
    then 2 + count arguments per save, in submission order:
                 the save, packed:
                 "group|now|expiresAt|expectedSeq|expectedId|checkpointId|log|count"
                 (see includes/saveRecord.lua), the record value "<nonce> <checkpointId>
                 <createdAt>|<expiresAt>|<bodyBytes>\n<body>", or the nonce alone (36
                 characters) when the value waits in the group's …tmp:<nonce>, then the count
                 entries the save appends to its task's log <log>

  Output: one answer per save, in order:
    seq              (an integer, no table: the common answer costs least) saved with this
                     sequence number (or this very save was already applied)
    {1, actualSeq}   conflict: the head is not expectedSeq, or (actualSeq = expectedSeq) the
                     record at the head is not expectedId; nothing of it written
    {2}              the task already has a live record with this id; nothing of it written
    {3, reason}      the packed save does not parse; nothing of it written
    {3, 'head', reason}  its task's head is damaged, or no seq can follow it (see
                     includes/saveRecord.lua); nothing of it written
    {6}              its temp value key is missing (its SETEX failed or expired); nothing written
    {8, error}       a Redis command failed for it (a task key of the wrong type: WRONGTYPE)
                     with nothing of it written
]]
--- @include "taskKeys"
--- @include "saveRecord"

local ansKey = KEYS[1]
-- The base of each group's keys ("<prefix>{taskId}:"), computed once per group.
local bases = {}
local function baseOf(g)
  local base = bases[g]
  if not base and KEYS[g + 1] and g > 0 then
    base = string.sub(KEYS[g + 1], 1, -4)
    bases[g] = base
  end
  return base
end

-- How many log entries follow the save packed in ARGV[i] (its last field).
local function entriesOf(i)
  return tonumber(string.match(ARGV[i], '|(%d*)$')) or 0
end

local kept = redis.call('GET', ansKey)
if kept then
  local i = 2
  while i < #ARGV do
    local base = baseOf(tonumber(string.match(ARGV[i], '^(%d+)|')))
    local value = ARGV[i + 1]
    if base and #value == NONCE_LENGTH then redis.call('DEL', base .. 'tmp:' .. value) end
    i = i + 2 + entriesOf(i)
  end
  return cjson.decode(kept)
end

local answers = {}
local refused = false
-- Values of saves without a TTL, written by one MSET at the end (one command instead of one per
-- save; the call is atomic all the same).
local deferred = {}
local i = 2
while i < #ARGV do
  local value = ARGV[i + 1]
  local g, now, expiresAt, expectedSeq, expectedId, id, log, count =
    string.match(ARGV[i], SAVE_FIELDS)
  count = tonumber(count) or 0
  g = tonumber(g)
  local base = g and baseOf(g)
  local answer
  if i + 1 + count > #ARGV or (count > 0 and log == '') then
    answer = {3, 'the save does not parse'}
  elseif base then
    answer = saveRecord(KEYS[g + 1], base, now, expiresAt, expectedSeq, expectedId, id, value,
      deferred, log, i + 2, count)
  else
    answer = {3, 'the save names no task group'}
  end
  if type(answer) == 'table' then refused = true end
  answers[#answers + 1] = answer
  i = i + 2 + count
end
-- Every held-back save already wrote its index entry, so this is not the script's first write
-- (no OOM refusal), and MSET fails on no key type.
for i = 1, #deferred, 1000 do
  redis.call('MSET', unpack(deferred, i, math.min(i + 999, #deferred)))
end
-- Best effort: without it (e.g. OOM before any write), a re-send evaluates the refused again.
if refused then redis.pcall('SET', ansKey, cjson.encode(answers), 'EX', ARGV[1]) end
return answers

--[[
  Saves one checkpoint record atomically: record, index entry, expiry entry, metadata, head and
  the keys' lifetimes all move together, or nothing is written. A small record value comes as
  ARGV[8]; a large one does not pass through Lua (big strings are slow there): the client sends
  it just before this script (same connection, same round trip) with
  SETEX <temp key> <safety TTL> <value>, and the script RENAMEs it into place (O(1)).

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] metadata key     <prefix>{taskId}:meta
    KEYS[4] temp value key   <prefix>{taskId}:tmp:<nonce> (large values only)
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] now, ms since the epoch
    ARGV[3] checkpointId
    ARGV[4] createdAt
    ARGV[5] expiresAt ('' when it never expires)
    ARGV[6] expectedSeq ('' for an unconditional save)
    ARGV[7] nonce: 36 characters, unique per save call, so a save re-sent after a dropped reply
            is recognized
    ARGV[8] the record value "<nonce> <checkpointId>\n<body>", or absent: then it is in KEYS[4]

  Output:
    {0, seq}         saved with this sequence number (or this very call was already applied)
    {1, actualSeq}   conflict: the head is not expectedSeq; nothing written
    {2}              the task already has a live record with this id; nothing written
    {3, reason}      the value is malformed; nothing written
    {6}              the temp value key is missing (its SET failed or expired); nothing written
  A task key of the wrong type fails the script (WRONGTYPE) before anything is written. Every
  answer but {0, seq} from a first run deletes the temp key.
]]
--- @include "taskKeys"

local idxKey, expKey, metaKey, tmpKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local recPrefix, now, id = ARGV[1], ARGV[2], ARGV[3]
local createdAt, expiresAt, expectedSeq, nonce = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local value = ARGV[8]
local recKey = recPrefix .. id

-- Drops the temp value key (when the value came that way) and returns the answer.
local function refuse(answer)
  if not value then redis.call('DEL', tmpKey) end
  return answer
end

-- This very call may have been applied already: ioredis re-sends a command whose reply was lost
-- (a value sent ahead is then gone, renamed into place).
local applied = redis.call('ZSCORE', idxKey, id)
if applied and redis.call('TYPE', recKey)['ok'] == 'string'
    and redis.call('GETRANGE', recKey, 0, NONCE_LENGTH - 1) == nonce then
  return refuse({0, tonumber(applied)})
end

local size
if value then
  size = string.len(value)
  if string.sub(value, 1, NONCE_LENGTH) ~= nonce then size = -1 end
else
  size = redis.call('STRLEN', tmpKey)
  if size == 0 then return {6} end
  if redis.call('GETRANGE', tmpKey, 0, NONCE_LENGTH - 1) ~= nonce then size = -1 end
end
local bytes = size - (NONCE_LENGTH + 2 + string.len(id))
if bytes < 0 then return refuse({3, 'the record value has no valid header'}) end

local head, lifetime = openTask(idxKey, expKey, metaKey, recPrefix, now)

local existing = redis.call('ZSCORE', idxKey, id)
if expectedSeq ~= '' and tonumber(expectedSeq) ~= head then return refuse({1, head}) end
if existing then return refuse({2}) end

local seq = head + 1
if value then
  if expiresAt == '' then
    redis.call('SET', recKey, value)
  else
    redis.call('SET', recKey, value, 'PXAT', expiresAt)
  end
else
  redis.call('RENAME', tmpKey, recKey)
  if expiresAt == '' then
    redis.call('PERSIST', recKey)
  else
    redis.call('PEXPIREAT', recKey, expiresAt)
  end
end
redis.call('ZADD', idxKey, seq, id)
redis.call('HSET', metaKey, id, createdAt .. '|' .. expiresAt .. '|' .. bytes, ':seq', seq)

-- The task keys live as long as their longest-lived record (a save only ever extends that):
-- they persist while a record never expires, else expire together with the last one.
if expiresAt == '' then
  if lifetime ~= 'inf' then
    redis.call('HSET', metaKey, ':until', 'inf')
    redis.call('PERSIST', idxKey)
    redis.call('PERSIST', metaKey)
    redis.call('PERSIST', expKey)
  end
else
  redis.call('ZADD', expKey, expiresAt, id)
  if lifetime ~= 'inf' then
    local last = expiresAt
    if lifetime and tonumber(lifetime) > tonumber(expiresAt) then last = lifetime end
    redis.call('HSET', metaKey, ':until', last)
    redis.call('PEXPIREAT', idxKey, last)
    redis.call('PEXPIREAT', metaKey, last)
    redis.call('PEXPIREAT', expKey, last)
  end
end
return {0, seq}

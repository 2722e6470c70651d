--[[
  Saves one checkpoint record atomically: record, index entry, expiry entry, metadata, head and
  the keys' lifetimes all move together, or nothing is written. The record value does not pass
  through Lua: the client sends it just before this script (same connection, same round trip)
  with SET <temp key> <value> PX <safety TTL>, and the script RENAMEs it into place (O(1)).

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
local recKey = recPrefix .. id

-- This very call may have been applied already: ioredis re-sends a command whose reply was lost
-- (the value sent ahead is then gone, renamed into place).
local applied = redis.call('ZSCORE', idxKey, id)
if applied and redis.call('TYPE', recKey)['ok'] == 'string'
    and redis.call('GETRANGE', recKey, 0, NONCE_LENGTH - 1) == nonce then
  redis.call('DEL', tmpKey)
  return {0, tonumber(applied)}
end

local size = redis.call('STRLEN', tmpKey)
if size == 0 then return {6} end
local bytes = size - (NONCE_LENGTH + 2 + string.len(id))
if bytes < 0 or redis.call('GETRANGE', tmpKey, 0, NONCE_LENGTH - 1) ~= nonce then
  redis.call('DEL', tmpKey)
  return {3, 'the record value has no valid header'}
end

local head, lifetime = openTask(idxKey, expKey, metaKey, recPrefix, now)

local existing = redis.call('ZSCORE', idxKey, id)
if expectedSeq ~= '' and tonumber(expectedSeq) ~= head then
  redis.call('DEL', tmpKey)
  return {1, head}
end
if existing then
  redis.call('DEL', tmpKey)
  return {2}
end

local seq = head + 1
redis.call('RENAME', tmpKey, recKey)
redis.call('ZADD', idxKey, seq, id)
redis.call('HSET', metaKey, id, createdAt .. '|' .. expiresAt .. '|' .. bytes, ':seq', seq)

-- The task keys live as long as their longest-lived record (a save only ever extends that):
-- they persist while a record never expires, else expire together with the last one.
if expiresAt == '' then
  redis.call('PERSIST', recKey)
  if lifetime ~= 'inf' then
    redis.call('HSET', metaKey, ':until', 'inf')
    redis.call('PERSIST', idxKey)
    redis.call('PERSIST', metaKey)
    redis.call('PERSIST', expKey)
  end
else
  redis.call('PEXPIREAT', recKey, expiresAt)
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

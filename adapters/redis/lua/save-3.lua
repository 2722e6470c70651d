--[[
  Saves one checkpoint record atomically: record hash, index entry, expiry entry, metadata, head
  and the keys' expiry all move together, or nothing is written.

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] metadata key     <prefix>{taskId}:meta
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] now, ms since the epoch
    ARGV[3] checkpointId
    ARGV[4] createdAt
    ARGV[5] expiresAt ('' when it never expires)
    ARGV[6] expectedSeq ('' for an unconditional save)
    ARGV[7] nonce: unique per save call, so a save re-sent after a dropped reply is recognized
    ARGV[8] body

  Output:
    {0, seq}         saved with this sequence number (or this very call was already applied)
    {1, actualSeq}   conflict: the head is not expectedSeq; nothing written
    {2}              the task already has a live record with this id; nothing written
    {3, reason}      a task key holds the wrong type; nothing written
]]
--- @include "taskKeys"

local idxKey, expKey, metaKey = KEYS[1], KEYS[2], KEYS[3]
local recPrefix, now, id = ARGV[1], ARGV[2], ARGV[3]
local createdAt, expiresAt, expectedSeq, nonce = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local recKey = recPrefix .. id

local bad = checkTaskKeys(idxKey, expKey, metaKey)
if bad then return {3, bad} end
pruneExpired(idxKey, expKey, metaKey, recPrefix, now)

local existing = redis.call('ZSCORE', idxKey, id)
if existing and redis.call('TYPE', recKey)['ok'] == 'hash'
    and redis.call('HGET', recKey, 'n') == nonce then
  return {0, tonumber(existing)}
end

local head = tonumber(redis.call('HGET', metaKey, ':seq') or '0')
if expectedSeq ~= '' and tonumber(expectedSeq) ~= head then return {1, head} end
if existing then return {2} end

local seq = head + 1
redis.call('DEL', recKey)
redis.call('HSET', recKey, 'b', ARGV[8], 's', seq, 'c', createdAt, 'e', expiresAt,
  'l', string.len(ARGV[8]), 'n', nonce)
redis.call('ZADD', idxKey, seq, id)
redis.call('HSET', metaKey, id, createdAt .. '|' .. expiresAt, ':seq', seq)
if expiresAt ~= '' then
  redis.call('ZADD', expKey, expiresAt, id)
  redis.call('PEXPIREAT', recKey, expiresAt)
end
refreshLifetime(idxKey, expKey, metaKey)
return {0, seq}

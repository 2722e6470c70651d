--[[
  One checkpoint save, shared by save-4 (one save per call) and saveMany-N (group commit): record,
  index entry, expiry entry, metadata, head and the keys' lifetimes all move together, or nothing
  of this save is written. Needs taskKeys. Every task key is read before anything is written, so
  a key of the wrong type raises (WRONGTYPE) with nothing of this save written.

  saveRecord(idxKey, expKey, metaKey, tmpKey, recPrefix, now, id, createdAt, expiresAt,
             expectedSeq, nonce, value)
    tmpKey   the temp value key, read when value is nil (large values, sent ahead with SETEX);
             RENAMEd into place, or deleted by any answer but {0, seq} from a first run
    value    the record value "<nonce> <checkpointId>\n<body>", or nil: then it is in tmpKey
  Returns
    {0, seq}         saved with this sequence number (or this very save was already applied:
                     a call re-sent after a dropped reply is recognized by the record's nonce)
    {1, actualSeq}   conflict: the head is not expectedSeq ('' for an unconditional save)
    {2}              the task already has a live record with this id
    {3, reason}      the value is malformed
    {6}              the temp value key is missing (its SETEX failed or expired)
]]

-- Drops the temp value key (when the value came that way) and returns the answer.
local function refuseSave(tmpKey, value, answer)
  if not value then redis.call('DEL', tmpKey) end
  return answer
end

local function saveRecord(idxKey, expKey, metaKey, tmpKey, recPrefix, now, id, createdAt,
                          expiresAt, expectedSeq, nonce, value)
  local recKey = recPrefix .. id

  -- This very save may have been applied already: ioredis re-sends a command whose reply was
  -- lost (a value sent ahead is then gone, renamed into place).
  local applied = redis.call('ZSCORE', idxKey, id)
  if applied and redis.call('TYPE', recKey)['ok'] == 'string'
      and redis.call('GETRANGE', recKey, 0, NONCE_LENGTH - 1) == nonce then
    return refuseSave(tmpKey, value, {0, tonumber(applied)})
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
  if bytes < 0 then
    return refuseSave(tmpKey, value, {3, 'the record value has no valid header'})
  end

  local head, lifetime = openTask(idxKey, expKey, metaKey, recPrefix, now, true)

  -- Not indexed before openTask (the common case): not indexed now (it only removes entries).
  local existing = applied and redis.call('ZSCORE', idxKey, id)
  if expectedSeq ~= '' and tonumber(expectedSeq) ~= head then
    return refuseSave(tmpKey, value, {1, head})
  end
  if existing then return refuseSave(tmpKey, value, {2}) end

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
end

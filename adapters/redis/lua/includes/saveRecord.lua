--[[
  One checkpoint save, shared by save-1 (one save per call) and saveMany-N (group commit): record,
  index entry, expiry entry, metadata, head and the keys' lifetimes all move together, or nothing
  of this save is written. Needs taskKeys.

  A small record value comes inline, as the script's argument; a large one does not pass through
  Lua (big strings are slow there): the client sends it just before the script, on the same
  connection in the same write, with SETEX <temp key> <safety TTL> <value>, and the script
  RENAMEs it into place (O(1)).

  A fast path: one HMGET of the task's metadata (head, lifetime, ':next', the id's entry) decides
  everything; the expiry index is scanned only when ':next' says a record may have expired.
  Writes: ZADD of the index first (a wrong-typed index raises before anything is written), then
  the expiry index, then the value; a failure after the first write is undone.

  taskOf(metaKey)   the keys of the task whose metadata key this is (all derived from it)
  saveRecord(task, packed, value)
    packed   one save: "group|now|checkpointId|createdAt|expiresAt|expectedSeq|nonce|bytes"
             (expiresAt and expectedSeq '' when absent; bytes: the body's length in bytes): one
             argument, since every argument of a call costs the client and the server
    value    the record value "<nonce> <checkpointId>\n<body>", or '': then it is in the task's
             temp key <…>tmp:<nonce>, RENAMEd into place, or deleted by any answer but {0, seq}
             from a first run
  Returns
    {0, seq}         saved with this sequence number (or this very save was already applied:
                     a call re-sent after a dropped reply is recognized by the record's nonce)
    {1, actualSeq}   conflict: the head is not expectedSeq ('' for an unconditional save)
    {2}              the task already has a live record with this id
    {3, reason}      the packed save does not parse; nothing written
    {6}              the temp value key is missing (its SETEX failed or expired)
]]

-- Drops the temp value key (when the value came that way) and returns the answer.
local function refuseSave(tmpKey, answer)
  if tmpKey then redis.call('DEL', tmpKey) end
  return answer
end

-- Whether a redis.pcall reply is an error.
local function failed(reply)
  return type(reply) == 'table' and reply.err ~= nil
end

-- The keys of a task, from its metadata key "<base>meta".
local function taskOf(metaKey)
  local base = string.sub(metaKey, 1, -5)
  return {base = base, idx = base .. 'idx', exp = base .. 'exp', meta = metaKey, rec = base .. 'r:'}
end

local SAVE_FIELDS = '^(%d+)|(-?%d+)|([%w_.-]+)|(-?%d+)|(-?%d*)|(%d*)|([%x-]+)|(%d+)$'

local function saveRecord(task, packed, value)
  local _, now, id, createdAt, expiresAt, expectedSeq, nonce, bytes =
    string.match(packed, SAVE_FIELDS)
  if not bytes then return {3, 'the save does not parse'} end
  local idxKey, expKey, metaKey, recPrefix = task.idx, task.exp, task.meta, task.rec
  local tmpKey = nil
  if value == '' then tmpKey = task.base .. 'tmp:' .. nonce end
  local recKey = recPrefix .. id
  local head, lifetime, nextAt, entry, before =
    openTask(idxKey, expKey, metaKey, recPrefix, now, id)

  -- This very save may have been applied already: ioredis re-sends a command whose reply was
  -- lost (checked on the state before expired records were removed).
  if before then
    local applied = redis.call('ZSCORE', idxKey, id)
    if applied and redis.call('TYPE', recKey)['ok'] == 'string'
        and redis.call('GETRANGE', recKey, 0, NONCE_LENGTH - 1) == nonce then
      return refuseSave(tmpKey, {0, tonumber(applied)})
    end
  end
  if expectedSeq ~= '' and tonumber(expectedSeq) ~= head then
    return refuseSave(tmpKey, {1, head})
  end
  if entry then return refuseSave(tmpKey, {2}) end

  local seq = head + 1
  -- An index entry without metadata (never written so) counts as existing.
  if redis.call('ZADD', idxKey, 'NX', seq, id) == 0 then return refuseSave(tmpKey, {2}) end
  if expiresAt ~= '' then
    local added = redis.pcall('ZADD', expKey, expiresAt, id)
    if failed(added) then
      redis.call('ZREM', idxKey, id)
      error(added)
    end
  end
  if tmpKey then
    if failed(redis.pcall('RENAME', tmpKey, recKey)) then
      redis.call('ZREM', idxKey, id)
      if expiresAt ~= '' then redis.call('ZREM', expKey, id) end
      return {6}
    end
    if expiresAt == '' then
      redis.call('PERSIST', recKey)
    else
      redis.call('PEXPIREAT', recKey, expiresAt)
    end
  elseif expiresAt == '' then
    redis.call('SET', recKey, value)
  else
    redis.call('SET', recKey, value, 'PXAT', expiresAt)
  end

  local fields = {id, createdAt .. '|' .. expiresAt .. '|' .. bytes, ':seq', seq}
  -- The task keys live as long as their longest-lived record (a save only ever extends that):
  -- they persist while a record never expires, else expire together with the last one.
  local keysUntil = nil
  if expiresAt == '' then
    if lifetime ~= 'inf' then
      fields[#fields + 1] = ':until'
      fields[#fields + 1] = 'inf'
      keysUntil = 'inf'
    end
    if not nextAt then
      fields[#fields + 1] = ':next'
      fields[#fields + 1] = 'inf'
    end
  else
    if not nextAt or nextAt == 'inf' or tonumber(expiresAt) < tonumber(nextAt) then
      fields[#fields + 1] = ':next'
      fields[#fields + 1] = expiresAt
    end
    if lifetime ~= 'inf' then
      local last = expiresAt
      if lifetime and tonumber(lifetime) > tonumber(expiresAt) then last = lifetime end
      if last ~= lifetime then
        fields[#fields + 1] = ':until'
        fields[#fields + 1] = last
        keysUntil = last
      end
    end
  end
  if not nextAt then
    -- A new task: its metadata hash becomes a hash table (see LAYOUT).
    fields[#fields + 1] = ':layout'
    fields[#fields + 1] = LAYOUT
  end
  redis.call('HSET', metaKey, unpack(fields))
  if keysUntil == 'inf' then
    -- Only keys that had a lifetime need PERSIST (a new task's keys were just created).
    if lifetime then
      redis.call('PERSIST', idxKey)
      redis.call('PERSIST', metaKey)
      redis.call('PERSIST', expKey)
    end
  elseif keysUntil then
    redis.call('PEXPIREAT', idxKey, keysUntil)
    redis.call('PEXPIREAT', metaKey, keysUntil)
    redis.call('PEXPIREAT', expKey, keysUntil)
  end
  return {0, seq}
end

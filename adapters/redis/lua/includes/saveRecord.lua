--[[
  One checkpoint save, shared by save-1 (one save per call) and saveMany-N (group commit): record,
  index entry, expiry entry, head and the keys' lifetimes all move together, or nothing of this
  save is written. Needs taskKeys.

  A small record value comes inline, as the script's argument; a large one does not pass through
  Lua (big strings are slow there): the client sends it just before the script, on the same
  connection in the same write, with SETEX <temp key> <safety TTL> <value>, and the script
  RENAMEs it into place (O(1)).

  The fast path (a no-TTL save into a task with nothing due to expire) is three commands: one
  ZMSCORE of the index (':head', ':until', ':next', the id and the expectedId) decides everything
  (a ZRANGE more only when the expectedId is not at the head: to see if another record is), one
  ZADD writes
  the record's index entry and the new head, one SET writes the value. A save with a TTL adds the
  expiry index entry (written first: a wrong-typed expiry key fails before anything is written)
  and, when it extends the task's lifetime, PEXPIREAT of the task keys. The expiry index is
  scanned, and a v2 task migrated, only when ZMSCORE says so (openTask). The index is read before
  anything is written, and the temp key is checked before: no write can fail after the first.

  SAVE_FIELDS   parses a packed save
                "group|now|expiresAt|expectedSeq|expectedId|checkpointId|log|count"
                (expiresAt, expectedSeq and expectedId '' when absent; log and count '' when the
                save appends nothing; one argument, since every argument of a call costs both
                sides) into its eight fields
  saveRecord(idxKey, base, now, expiresAt, expectedSeq, expectedId, id, value, deferred, log,
      from, count)
    idxKey   the task's index key "<base>idx" (the other keys are derived from base)
    now, expiresAt, expectedSeq, expectedId, id   the packed save's fields (id nil: it did not
             parse). With expectedSeq and expectedId, the save is also refused (a conflict at the
             head) when the task's live record at seq expectedSeq is not expectedId: the task
             was deleted and started again; with no record there, the seq alone decides
    value    the record value "<nonce> <checkpointId> <createdAt>|<expiresAt>|<bodyBytes>\n<body>"
             (built by the client), or the save's nonce alone (36 characters: shorter than any
             value): then the value is in the task's temp key <base>tmp:<nonce>, RENAMEd into
             place, or deleted by any answer but seq from a first run
    deferred nil (save-1), or the call's record values held back for one MSET at its end
             (saveMany, see saveMany-N.lua): the MSET arguments {recKey, value, ...}. Only
             inline values of saves without a TTL are held back (nothing in the call can delete
             such a record key before the MSET: sweeps drop expiring records only), and a
             re-sent save is recognized against them as against a stored value.
    log, from, count   when count > 0: ARGV[from .. from + count - 1] are appended to the task's
             log <base>log:<log> (a list; its name joins the set <base>logs) in the same all or
             nothing as the record: both key types are checked before the first write, and a
             re-sent save that was applied appends nothing again
  Returns
    seq              (an integer, no table: the common answer costs least) saved with this
                     sequence number (or this very save was already applied:
                     a call re-sent after a dropped reply is recognized by the record's nonce)
    {1, actualSeq}   conflict: the head is not expectedSeq ('' for an unconditional save), or
                     (actualSeq = expectedSeq) the record at the head is not expectedId
    {2}              the task already has a live record with this id
    {3, reason}      the packed save does not parse; nothing written
    {3, 'head', reason}  the task's head is damaged (its ':head' score is not an integer from
                     -MAX_SEQ to 0, see taskKeys), or it is MAX_SEQ: no seq can follow it;
                     nothing written
    {6}              the temp value key is missing (its SETEX failed or expired)
    {8, error}       a Redis command failed (a task key of the wrong type: WRONGTYPE); nothing
                     of this save written
  It raises no error of its own: the commands that can fail (a read of a wrong-typed key, the
  first write of the script under OOM) go through redis.pcall, the rare slow path (openTask)
  through pcall. Lua's pcall is not used per save: it costs microseconds each (setjmp).
]]

-- Drops the temp value key (when the value came that way) and returns the answer.
local function refuseSave(tmpKey, answer)
  if tmpKey then redis.call('DEL', tmpKey) end
  return answer
end

local SAVE_FIELDS = '^(%d+)|(-?%d+)|(-?%d*)|(%d*)|([%w_.-]*)|([%w_.-]+)|([%w_.-]*)|(%d*)$'

-- The log entries of a save, ARGV[from .. from + count - 1], appended to its log (types checked).
local function appendEntries(base, log, from, count)
  local logKey = base .. 'log:' .. log
  local last = from + count - 1
  -- RPUSH in slices: unpack() of a huge table would overflow Lua's stack.
  for i = from, last, 1000 do
    redis.call('RPUSH', logKey, unpack(ARGV, i, math.min(i + 999, last)))
  end
  redis.call('SADD', base .. 'logs', log)
end

-- Why the keys a save appends to cannot take its entries, or false (checked before any write).
local function logKeysRefuse(base, log)
  local t = redis.call('TYPE', base .. 'log:' .. log)['ok']
  if t ~= 'none' and t ~= 'list' then return 'WRONGTYPE its log key holds a ' .. t end
  t = redis.call('TYPE', base .. 'logs')['ok']
  if t ~= 'none' and t ~= 'set' then return 'WRONGTYPE its log names key holds a ' .. t end
  return false
end

-- The message of a failed command (a redis.pcall reply, or what pcall caught).
local function errorText(reply)
  if type(reply) == 'table' then return tostring(reply.err) end
  return tostring(reply)
end

local function saveRecord(idxKey, base, now, expiresAt, expectedSeq, expectedId, id, value,
    deferred, log, from, count)
  local tmpKey = false
  if #value == NONCE_LENGTH then tmpKey = base .. 'tmp:' .. value end
  if not id then return refuseSave(tmpKey, {3, 'the save does not parse'}) end
  if expectedSeq == '' then expectedId = '' end

  local s
  if expectedId ~= '' then
    s = redis.pcall('ZMSCORE', idxKey, ':head', ':until', ':next', id, expectedId)
  else
    s = redis.pcall('ZMSCORE', idxKey, ':head', ':until', ':next', id)
  end
  if s.err then return refuseSave(tmpKey, {8, s.err}) end
  local head, lifetime, nextAt, entry, expectedAt = s[1], s[2], s[3], s[4], s[5]
  local score = head
  if head and nextAt == '-inf' and lifetime == '-inf' then
    head = headOfScore(score)
  elseif not head or (nextAt ~= '-inf' and (not nextAt or -tonumber(nextAt) <= tonumber(now)))
      or (lifetime ~= '-inf' and (not lifetime or -tonumber(lifetime) <= tonumber(now))) then
    -- A new or v2 task, a record due to expire, or a lifetime that passed.
    local ok
    ok, head, lifetime, nextAt, entry = pcall(openTask, taskOf(idxKey, base), now, id)
    if not ok then return refuseSave(tmpKey, {8, errorText(head)}) end
    -- A damaged head: openTask gives the reason in place of the lifetime.
    if not head then return refuseSave(tmpKey, {3, 'head', lifetime}) end
  else
    head = headOfScore(score)
  end
  if not head then return refuseSave(tmpKey, {3, 'head', damagedHead(score)}) end

  local recKey = base .. 'r:' .. id
  if entry then
    -- This very save may have been applied already: ioredis re-sends a command whose reply was
    -- lost.
    local nonce = value
    if not tmpKey then nonce = string.sub(value, 1, NONCE_LENGTH) end
    local stored
    -- Held back in this call? (A rare path: scanned, so the common one builds no map.)
    for i = 1, deferred and #deferred or 0, 2 do
      if deferred[i] == recKey then stored = string.sub(deferred[i + 1], 1, NONCE_LENGTH) end
    end
    if not stored and redis.call('TYPE', recKey)['ok'] == 'string' then
      stored = redis.call('GETRANGE', recKey, 0, NONCE_LENGTH - 1)
    end
    if stored == nonce then return refuseSave(tmpKey, tonumber(entry)) end
  end
  if expectedSeq ~= '' and tonumber(expectedSeq) ~= head then
    return refuseSave(tmpKey, {1, head})
  end
  -- expectedId not at the head (or swept as expired): is another live record there? (openTask
  -- left no record due to expire in the index.) Records have scores from 1 up, nothing else.
  if expectedId ~= '' and head > 0 and (not expectedAt or tonumber(expectedAt) ~= head) then
    local atHead = redis.call('ZRANGE', idxKey, head, head, 'BYSCORE', 'LIMIT', 0, 1)[1]
    if atHead and atHead ~= expectedId then return refuseSave(tmpKey, {1, head}) end
  end
  if entry then return refuseSave(tmpKey, {2}) end
  if tmpKey and redis.call('EXISTS', tmpKey) == 0 then return {6} end
  if count > 0 then
    local refused = logKeysRefuse(base, log)
    if refused then return refuseSave(tmpKey, {8, refused}) end
  end

  if head >= MAX_SEQ then
    -- Only a damaged head gets here; its next seq would not come back to the client exactly.
    return refuseSave(tmpKey, {3, 'head', 'its head is ' .. MAX_SEQ_TEXT .. ': no seq can follow'})
  end

  local seq = head + 1
  local added
  if expiresAt == '' then
    -- Never expires: the task keys persist from now on. The ZADD may be the script's first
    -- write: under OOM it fails, with nothing of this save written.
    if lifetime == '-inf' then
      added = redis.pcall('ZADD', idxKey, seq, id, -seq, ':head')
    elseif nextAt then
      added = redis.pcall('ZADD', idxKey, seq, id, -seq, ':head', '-inf', ':until')
    else
      -- A new task.
      added = redis.pcall('ZADD', idxKey, seq, id, -seq, ':head', '-inf', ':until', '-inf', ':next',
        0, LAYOUT)
    end
    if type(added) == 'table' then return refuseSave(tmpKey, {8, added.err}) end
    if lifetime and lifetime ~= '-inf' then
      redis.call('PERSIST', idxKey)
      redis.call('PERSIST', base .. 'exp')
    end
    if tmpKey then
      redis.call('RENAME', tmpKey, recKey)
      redis.call('PERSIST', recKey)
    elseif deferred then
      local n = #deferred
      deferred[n + 1] = recKey
      deferred[n + 2] = value
    else
      redis.call('SET', recKey, value)
    end
    if count > 0 then appendEntries(base, log, from, count) end
    return seq
  end

  local expKey = base .. 'exp'
  -- The first write: a wrong-typed expiry key (or OOM) fails here with nothing written.
  added = redis.pcall('ZADD', expKey, expiresAt, id)
  if type(added) == 'table' then return refuseSave(tmpKey, {8, added.err}) end
  local expires = tonumber(expiresAt)
  -- The task keys live as long as their longest-lived record (a save only ever extends that).
  local keysUntil = false
  if lifetime ~= '-inf' and (not lifetime or expires > -tonumber(lifetime)) then
    keysUntil = expiresAt
  end
  if not nextAt or nextAt == '-inf' or expires < -tonumber(nextAt) then
    if keysUntil then
      redis.call('ZADD', idxKey, seq, id, -seq, ':head', timeScore(expiresAt), ':until',
        timeScore(expiresAt), ':next')
    else
      redis.call('ZADD', idxKey, seq, id, -seq, ':head', timeScore(expiresAt), ':next')
    end
  elseif keysUntil then
    redis.call('ZADD', idxKey, seq, id, -seq, ':head', timeScore(expiresAt), ':until')
  else
    redis.call('ZADD', idxKey, seq, id, -seq, ':head')
  end
  -- A new task.
  if not lifetime then redis.call('ZADD', idxKey, 0, LAYOUT) end
  if tmpKey then
    redis.call('RENAME', tmpKey, recKey)
    redis.call('PEXPIREAT', recKey, expiresAt)
  else
    redis.call('SET', recKey, value, 'PXAT', expiresAt)
  end
  if keysUntil then
    redis.call('PEXPIREAT', idxKey, keysUntil)
    redis.call('PEXPIREAT', expKey, keysUntil)
  elseif nextAt == '-inf' and string.byte(lifetime) == 45 and lifetime ~= '-inf' then
    -- No live record expires (':next' -inf), so the ZADD above created the expiry index: it
    -- gets the task's lifetime (-':until'), which a delete kept beyond this record's expiry.
    redis.call('PEXPIREAT', expKey, string.sub(lifetime, 2))
  end
  if count > 0 then appendEntries(base, log, from, count) end
  return seq
end

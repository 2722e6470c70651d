--[[
  Helpers shared by the checkpoint scripts. LAYOUT v3 of a task's keys, all under one hash tag:
    <prefix>{taskId}:idx     zset    the task's index and head: every live record as
                                     checkpointId -> seq (seq >= 1), and four reserved members
                                     (ids cannot contain ':') whose scores are never above 0:
                                       ':head'   -(head sequence number), at least
                                                 -MAX_SEQ (else the head is damaged)
                                       ':until'  -(ms when the task's last record expires), or
                                                 -inf: never
                                       ':next'   -(ms when its first record expires; may be
                                                 early, never late), or -inf: none does
                                     (a time at or before the epoch is stored as 0), and
                                       LAYOUT    score 0: the layout's name, longer than
                                                 zset-max-listpack-value (64 by default), so
                                                 Redis keeps the index a skiplist (see LAYOUT)
                                     So records are exactly the scores 1..+inf, and one ZMSCORE of
                                     ':head' ':until' ':next' <id> reads everything a save needs.
    <prefix>{taskId}:exp     zset    checkpointId -> expiresAt (the live records that expire)
    <prefix>{taskId}:r:<id>  string  "<nonce> <checkpointId> <createdAt>|<expiresAt>|<bodyBytes>\n
                                     <body>" (no line break after the \n; expiresAt '' when it
                                     never expires): the nonce (36 characters) of the save call
                                     that wrote it, the record's metadata, then the body
    <prefix>{taskId}:tmp:<nonce>  string  a record value on its way in (sent with SETEX just before
                                  the save script, which RENAMEs it into place), with a safety TTL
    <prefix>{taskId}:ans:<nonce>  string  the answers (JSON) of a saveMany call that refused a
                                  save, kept for a re-send, with a TTL
    <prefix>{taskId}:meta    hash    only in tasks written by layout v2, see below
  The task keys (idx, exp, meta) live as long as the task (':until'): they persist while a record
  never expires, else expire (PEXPIREAT) together with the last one. Saves only extend that
  lifetime and expiry leaves it as it is; a delete sets it to that of the records left, or keeps
  it when none is left (so the head outlives explicit deletes until the task would have expired).

  Layout v2 (before): no reserved members; a ':meta' hash held ':seq' (head), ':until' and ':next'
  ('inf': never/none, else ms), ':layout', and per record id -> "createdAt|expiresAt|bodyBytes";
  values were "<nonce> <checkpointId>\n<body>". (Before v2, ':next' was missing.) The first
  script that touches such a task (its idx has no ':head' but its meta hash has ':seq') moves
  ':seq', ':until' and ':next' into the index and deletes them and ':layout' from the hash
  (migrateTask). Its records stay as they are: a value whose header ends right after the id is a
  v2 value, read with its metadata from the hash; dropping a record also deletes its hash entry,
  so the hash goes away (Redis deletes an empty hash) with the last v2 record. Records written
  since are v3. Do not run adapter versions from before and after v3 against one prefix at once.

  Record keys are built here from the record key prefix (same hash tag, so same cluster slot).
]]

-- The index's fourth reserved member (score 0), set with its head. Longer than Redis's
-- zset-max-listpack-value (64 bytes by default), so Redis keeps the index as a skiplist with a
-- dict: a member is found in O(1), where a listpack of up to zset-max-listpack-entries (128)
-- members is scanned on every ZMSCORE and rewritten on every ZADD (measured on Redis 7.0 near
-- 128 records: a save's ZADD 3.5-7 µs in a listpack, 0.9-1.1 µs in a skiplist).
local LAYOUT = ':layout v3 idx(records 1..+inf; :head :until :next <= 0) exp r:<id> tmp: ans:'

-- Length of the nonce at the start of every record value.
local NONCE_LENGTH = 36

-- Most characters of "<createdAt>|<expiresAt>|<bodyBytes>\n" after "<nonce> <checkpointId> "
-- (two safe integers of at most 17 characters with their sign, a byte count, two bars, \n).
local META_CHARS = 64

-- The largest seq a save gives, so the largest head (2^53 - 48): every seq and head a script
-- answers with must be an integer the client reads back exactly. ioredis (6.0.0) decodes an
-- integer reply digit by digit as n * 10 + (the digit's character code) - 48: the last sum, the
-- number plus 48, must not pass 2^53 (the seq 2^53 - 1 came back as 2^53, so a saved record was
-- answered as an unexpected reply). A save after this head is refused (see saveRecord).
local MAX_SEQ = 9007199254740944
local MAX_SEQ_TEXT = '9007199254740944'

-- The head a ':head' score stands for (its negation), or nil when the score is not one a save
-- writes (an integer from -MAX_SEQ to 0): the head is damaged.
local function headOfScore(score)
  local head = tonumber(score)
  if not head then return nil end
  head = -head
  if head >= 0 and head <= MAX_SEQ and head == math.floor(head) then return head end
  return nil
end

-- Why a ':head' score is damaged (see headOfScore), for a corrupt answer {3, 'head', reason}.
local function damagedHead(score)
  return 'its :head score ' .. tostring(score) .. ' is not an integer from -' .. MAX_SEQ_TEXT
    .. ' to 0'
end

-- The score of a reserved member for the time `ms` (a string of digits): -ms, 0 at or before the
-- epoch (scores of reserved members are never above 0).
local function timeScore(ms)
  if tonumber(ms) > 0 then return '-' .. ms end
  return '0'
end

-- The keys of a task: index, expiry, v2 metadata, and the record key prefix.
local function taskOf(idxKey, base)
  return {idx = idxKey, exp = base .. 'exp', meta = base .. 'meta', rec = base .. 'r:'}
end

-- Forgets records: their keys, index, expiry and (v2) metadata entries. The expiry index is
-- written first: a wrong-typed one fails before anything is written.
local function dropRecords(task, ids)
  for i = 1, #ids, 1000 do
    local j = math.min(i + 999, #ids)
    redis.call('ZREM', task.exp, unpack(ids, i, j))
    redis.call('HDEL', task.meta, unpack(ids, i, j))
    redis.call('ZREM', task.idx, unpack(ids, i, j))
    local keys = {}
    for k = i, j do keys[#keys + 1] = task.rec .. ids[k] end
    redis.call('DEL', unpack(keys))
  end
end

-- The number of live records (the index less its reserved members).
local function liveCount(task)
  return redis.call('ZCOUNT', task.idx, 1, '+inf')
end

-- Sets ':next' to the first expiry of the live records (-inf: none expires), after records
-- expired (by the store's clock, or by Redis's own when it dropped a record key first). Expiry
-- leaves the task's lifetime as it is: only saves extend it and only deletes set it, so a lifetime
-- that a delete kept beyond the records left (see refreshLifetime) is not cut short by a read.
local function refreshNext(task)
  local first = redis.call('ZRANGE', task.exp, 0, 0, 'WITHSCORES')[2]
  redis.call('ZADD', task.idx, first and timeScore(first) or '-inf', ':next')
end

-- After an explicit delete: sets ':next' and the task keys' lifetime to that of the longest-lived
-- record left. Keeps the lifetime when no record is left, so the head survives explicit deletes
-- until the time the task would have expired anyway.
local function refreshLifetime(task)
  local live = liveCount(task)
  if live == 0 then
    redis.call('ZADD', task.idx, '-inf', ':next')
    return
  end
  local expiring = redis.call('ZCARD', task.exp)
  local nextScore = '-inf'
  if expiring > 0 then
    nextScore = timeScore(redis.call('ZRANGE', task.exp, 0, 0, 'WITHSCORES')[2])
  end
  if expiring == live then
    local last = redis.call('ZRANGE', task.exp, -1, -1, 'WITHSCORES')[2]
    redis.call('ZADD', task.idx, timeScore(last), ':until', nextScore, ':next')
    redis.call('PEXPIREAT', task.idx, last)
    redis.call('PEXPIREAT', task.exp, last)
    redis.call('PEXPIREAT', task.meta, last)
  else
    redis.call('ZADD', task.idx, '-inf', ':until', nextScore, ':next')
    redis.call('PERSIST', task.idx)
    redis.call('PERSIST', task.exp)
    redis.call('PERSIST', task.meta)
  end
end

-- Moves a v2 task's head, lifetime and ':next' from its meta hash into the index (see the
-- LAYOUT). Returns the new scores of ':head', ':until' and ':next', or nil when the meta hash
-- has no head (no v2 task: a new one). A wrong-typed meta key fails before anything is written;
-- a damaged head is returned as its score with nothing written (openTask answers it).
local function migrateTask(task)
  local m = redis.call('HMGET', task.meta, ':seq', ':until', ':next')
  if not m[1] then return nil end
  local head, lifetime, nextAt = '-' .. m[1], '-inf', '0'
  if not headOfScore(head) then return head end
  if m[2] and m[2] ~= 'inf' then lifetime = timeScore(m[2]) end
  -- No ':next' (the layout before v2): 0 makes the caller sweep now, which sets it.
  if m[3] == 'inf' then nextAt = '-inf' elseif m[3] then nextAt = timeScore(m[3]) end
  redis.call('ZADD', task.idx, head, ':head', lifetime, ':until', nextAt, ':next', 0, LAYOUT)
  redis.call('HDEL', task.meta, ':seq', ':until', ':next', ':layout')
  -- The index may have been created just now (a v2 task whose records were all deleted).
  if m[2] and m[2] ~= 'inf' then redis.call('PEXPIREAT', task.idx, m[2]) end
  return head, lifetime, nextAt
end

-- Opens a task for a script: reads its head, lifetime, ':next' (and the index entry of `id`,
-- when given) in one ZMSCORE, migrates a v2 task, and, only when ':next' says a record may have
-- expired at `now` (expiresAt <= now), removes the expired records; once no record is left and
-- the task's lifetime has passed, forgets the head too. The index is read before anything is
-- written (a key of the wrong type fails the script with nothing written).
-- Returns head (a number), the scores of ':until' and ':next' (nil for a new task), and the seq
-- of `id` (a string; false when it has no live record); or false and the reason when the head
-- is damaged (see headOfScore), with nothing written: the script answers {3, 'head', reason}.
local function openTask(task, now, id)
  local s = redis.call('ZMSCORE', task.idx, ':head', ':until', ':next', id or ':head')
  local head, lifetime, nextAt, entry = s[1], s[2], s[3], s[4]
  if not id then entry = false end
  if not head then head, lifetime, nextAt = migrateTask(task) end
  if head and not headOfScore(head) then return false, damagedHead(head) end
  if head and (not nextAt or (nextAt ~= '-inf' and -tonumber(nextAt) <= tonumber(now))) then
    local expired = redis.call('ZRANGEBYSCORE', task.exp, '-inf', now)
    if #expired > 0 then dropRecords(task, expired) end
    refreshNext(task)
    s = redis.call('ZMSCORE', task.idx, ':until', ':next', id or ':head')
    lifetime, nextAt = s[1], s[2]
    if id then entry = s[3] end
  end
  if lifetime and lifetime ~= '-inf' and -tonumber(lifetime) <= tonumber(now)
      and liveCount(task) == 0 then
    redis.call('DEL', task.idx, task.exp, task.meta)
    return 0, nil, nil, false
  end
  if not head then return 0, nil, nil, entry end
  return headOfScore(head), lifetime, nextAt, entry
end

-- Parses the header of a record value (or of its first characters), which must name `id`.
-- Returns createdAt, expiresAt, bodyBytes and the header's length, or the reason it is corrupt.
-- A v2 value (see the LAYOUT) gets its metadata from the v2 hash.
local function parseHeader(task, value, id)
  local p = NONCE_LENGTH + 2 + #id -- the character after "<nonce> <id>"
  if string.byte(value, NONCE_LENGTH + 1) ~= 32
      or string.sub(value, NONCE_LENGTH + 2, p - 1) ~= id then
    return 'its stored header does not match'
  end
  local c = string.byte(value, p)
  if c == 32 then
    local createdAt, expiresAt, bytes, body =
      string.match(value, '^(-?%d+)|(-?%d*)|(%d+)\n()', p + 1)
    if body then return createdAt, expiresAt, bytes, body - 1 end
  elseif c == 10 then
    local meta = redis.call('HGET', task.meta, id)
    if meta then
      local createdAt, expiresAt, bytes = string.match(meta, '^(-?%d+)|(-?%d*)|(%d+)$')
      if bytes then return createdAt, expiresAt, bytes, p end
    end
    return 'its metadata is missing or does not parse'
  end
  return 'its stored header does not parse'
end

-- The first characters of a record value: enough for its header.
local function headerOf(task, id)
  return redis.call('GETRANGE', task.rec .. id, 0, NONCE_LENGTH + #id + META_CHARS)
end

-- Reads one indexed record, bounded. Returns
--   {0, id, seq, createdAt, expiresAt, value}        readable; value is the stored value
--   {7, id, seq, createdAt, expiresAt, nonce, size}  readable, but over inlineBytes: the client
--                                                    fetches it (big strings are slow in Lua)
--   {3, id, reason}                                  corrupt
--   {4, id, bytes}                                   body over maxBytes; not read
--   nil                                              its key is gone: Redis expired it (the
--                                                    server's clock passed its expiresAt first)
local function readRecord(task, id, seq, maxBytes, inlineBytes)
  local recKey = task.rec .. id
  local t = redis.call('TYPE', recKey)['ok']
  if t == 'none' then
    if redis.call('ZSCORE', task.exp, id) then return nil end
    return {3, id, 'its record key is missing'}
  end
  if t ~= 'string' then return {3, id, 'its record key holds a ' .. t} end
  local size = redis.call('STRLEN', recKey)
  local inline = size <= tonumber(inlineBytes)
  local value
  if inline then value = redis.call('GET', recKey) else value = headerOf(task, id) end
  local createdAt, expiresAt, bytes, headerLength = parseHeader(task, value, id)
  if not bytes then return {3, id, createdAt} end
  bytes = tonumber(bytes)
  if size ~= headerLength + bytes then
    return {3, id, 'its stored length is ' .. size .. ' bytes, not what was written'}
  end
  if bytes > tonumber(maxBytes) then return {4, id, bytes} end
  if not inline then
    return {7, id, seq, createdAt, expiresAt, string.sub(value, 1, NONCE_LENGTH), size}
  end
  return {0, id, seq, createdAt, expiresAt, value}
end

--[[
  Helpers shared by the checkpoint scripts. A task's keys, all under one hash tag:
    <prefix>{taskId}:idx     zset    checkpointId -> seq (every live record)
    <prefix>{taskId}:exp     zset    checkpointId -> expiresAt (the live records that expire)
    <prefix>{taskId}:meta    hash    checkpointId -> "createdAt|expiresAt|bodyBytes" (expiresAt ''
                                     when it never expires), ':seq' -> head sequence number,
                                     ':until' -> when the task's last record expires ('inf': never),
                                     ':next' -> when its first record expires ('inf': none does; may
                                     be early, never late), ':layout' -> LAYOUT below. Tasks
                                     written before ':next' existed lack both: their expiry
                                     index is scanned once and they are set.
    <prefix>{taskId}:r:<id>  string  "<nonce> <checkpointId>\n<body>": the nonce (36 characters) of
                                     the save call that wrote it, then the body
    <prefix>{taskId}:tmp:<nonce>  string  a record value on its way in (sent with SETEX just before
                                  the save script, which RENAMEs it into place), with a safety TTL
    <prefix>{taskId}:ans:<nonce>  string  the answers (JSON) of a saveMany call that refused a
                                  save, kept for a re-send, with a TTL
  Record keys are built here from the record key prefix (same hash tag, so same cluster slot).
]]

-- Length of the nonce at the start of every record value.
local NONCE_LENGTH = 36

-- The metadata hash's ':layout' field. It is longer than Redis's hash-max-listpack-value (64
-- bytes by default), so Redis keeps the hash as a hash table: a field is found in O(1), where a
-- listpack of up to hash-max-listpack-entries fields is scanned (measured on Redis 7.0: an HMGET
-- of 4 fields in a 300-field listpack took 22 µs, in a hash table 0.5 µs).
local LAYOUT = 'v2: idx exp meta r:<id> tmp:<nonce> ans:<nonce>; long on purpose (a hash table)'

-- Forgets one record: its key, index, expiry and metadata entries.
local function dropRecord(idxKey, expKey, metaKey, recPrefix, id)
  redis.call('DEL', recPrefix .. id)
  redis.call('ZREM', idxKey, id)
  redis.call('ZREM', expKey, id)
  redis.call('HDEL', metaKey, id)
end

-- Sets ':next' and the task keys' lifetime to that of the longest-lived record: they persist
-- while a record never expires, else expire (PEXPIREAT) together with the last one. Keeps the
-- lifetime when no record is left, so the head survives explicit deletes until the time the task
-- would have expired anyway.
local function refreshLifetime(idxKey, expKey, metaKey)
  local live = redis.call('ZCARD', idxKey)
  if live == 0 then
    redis.call('HSET', metaKey, ':next', 'inf')
    return
  end
  local expiring = redis.call('ZCARD', expKey)
  local nextAt = 'inf'
  if expiring > 0 then nextAt = redis.call('ZRANGE', expKey, 0, 0, 'WITHSCORES')[2] end
  if expiring == live then
    local last = redis.call('ZRANGE', expKey, -1, -1, 'WITHSCORES')[2]
    redis.call('HSET', metaKey, ':until', last, ':next', nextAt, ':layout', LAYOUT)
    redis.call('PEXPIREAT', idxKey, last)
    redis.call('PEXPIREAT', metaKey, last)
    redis.call('PEXPIREAT', expKey, last)
  else
    redis.call('HSET', metaKey, ':until', 'inf', ':next', nextAt, ':layout', LAYOUT)
    redis.call('PERSIST', idxKey)
    redis.call('PERSIST', metaKey)
    redis.call('PERSIST', expKey)
  end
end

-- Opens a task for a script: reads its head, lifetime and ':next' in one HMGET (with the
-- metadata entry of `id`, when given), and, only when ':next' says a record may have expired at
-- `now` (expiresAt <= now), removes the expired records; once no record is left and the task's
-- lifetime has passed, forgets the head too. The metadata key is read before anything is
-- written (a key of the wrong type fails the script with nothing written); callers read or
-- write-first the index before any other write.
-- Returns head, lifetime (nil, 'inf' or ms), nextAt (nil, 'inf' or ms), the metadata entry of
-- `id` now, and the one it had before expired records were removed.
local function openTask(idxKey, expKey, metaKey, recPrefix, now, id)
  local state = redis.call('HMGET', metaKey, ':seq', ':until', ':next', id or ':seq')
  local head, lifetime, nextAt = state[1], state[2], state[3]
  local entry = nil
  if id then entry = state[4] end
  local before = entry
  if head and (not nextAt or (nextAt ~= 'inf' and tonumber(nextAt) <= tonumber(now))) then
    local expired = redis.call('ZRANGEBYSCORE', expKey, '-inf', now)
    for _, x in ipairs(expired) do
      dropRecord(idxKey, expKey, metaKey, recPrefix, x)
    end
    refreshLifetime(idxKey, expKey, metaKey)
    state = redis.call('HMGET', metaKey, ':until', ':next', id or ':seq')
    lifetime, nextAt = state[1], state[2]
    if id then entry = state[3] end
  end
  if lifetime and lifetime ~= 'inf' and tonumber(lifetime) <= tonumber(now)
      and redis.call('ZCARD', idxKey) == 0 then
    redis.call('DEL', idxKey, expKey, metaKey)
    return 0, nil, nil, nil, before
  end
  return tonumber(head or '0'), lifetime, nextAt, entry, before
end

-- "createdAt|expiresAt|bodyBytes" of a metadata entry, or nil when it does not parse.
local function parseMeta(meta)
  if not meta then return nil end
  return string.match(meta, '^(-?%d+)|(-?%d*)|(%d+)$')
end

-- Reads one indexed record, bounded. Returns
--   {0, id, seq, createdAt, expiresAt, value}        readable; value is "<nonce> <id>\n<body>"
--   {7, id, seq, createdAt, expiresAt, nonce, size}  readable, but over inlineBytes: the client
--                                                    fetches it (big strings are slow in Lua)
--   {3, id, reason}                                  corrupt
--   {4, id, bytes}                                   body over maxBytes; not read
--   nil                                              its key is gone: Redis expired it (the
--                                                    server's clock passed its expiresAt first)
local function readRecord(metaKey, recPrefix, id, seq, maxBytes, inlineBytes)
  local recKey = recPrefix .. id
  local createdAt, expiresAt, bytes = parseMeta(redis.call('HGET', metaKey, id))
  if not bytes then return {3, id, 'its metadata is missing or does not parse'} end
  local t = redis.call('TYPE', recKey)['ok']
  if t == 'none' then
    if expiresAt ~= '' then return nil end
    return {3, id, 'its record key is missing'}
  end
  if t ~= 'string' then return {3, id, 'its record key holds a ' .. t} end
  local size = redis.call('STRLEN', recKey)
  if size ~= NONCE_LENGTH + 2 + string.len(id) + tonumber(bytes) then
    return {3, id, 'its stored length is ' .. size .. ' bytes, not what was written'}
  end
  if tonumber(bytes) > tonumber(maxBytes) then return {4, id, tonumber(bytes)} end
  if size > tonumber(inlineBytes) then
    local nonce = redis.call('GETRANGE', recKey, 0, NONCE_LENGTH - 1)
    return {7, id, seq, createdAt, expiresAt, nonce, size}
  end
  return {0, id, seq, createdAt, expiresAt, redis.call('GET', recKey)}
end

--[[
  Helpers shared by the checkpoint scripts. A task's keys, all under one hash tag:
    <prefix>{taskId}:idx     zset   checkpointId -> seq (every live record)
    <prefix>{taskId}:exp     zset   checkpointId -> expiresAt (the live records that expire)
    <prefix>{taskId}:meta    hash   checkpointId -> "createdAt|expiresAt" ('' when it never expires),
                                    ':seq' -> head sequence number,
                                    ':until' -> when the task's last record expires ('inf': never)
    <prefix>{taskId}:r:<id>  hash   the record: b body, s seq, c createdAt, e expiresAt, l body bytes,
                                    n nonce of the save call that wrote it
  Record keys are built here from the record key prefix (same hash tag, so same cluster slot).
]]

-- Error reason when one of the task keys holds the wrong type (nothing has been written yet).
local function checkTaskKeys(idxKey, expKey, metaKey)
  local t = redis.call('TYPE', idxKey)['ok']
  if t ~= 'none' and t ~= 'zset' then return 'its index key holds a ' .. t end
  t = redis.call('TYPE', expKey)['ok']
  if t ~= 'none' and t ~= 'zset' then return 'its expiry key holds a ' .. t end
  t = redis.call('TYPE', metaKey)['ok']
  if t ~= 'none' and t ~= 'hash' then return 'its metadata key holds a ' .. t end
  return nil
end

-- Forgets one record: its key, index, expiry and metadata entries.
local function dropRecord(idxKey, expKey, metaKey, recPrefix, id)
  redis.call('DEL', recPrefix .. id)
  redis.call('ZREM', idxKey, id)
  redis.call('ZREM', expKey, id)
  redis.call('HDEL', metaKey, id)
end

-- Sets the task keys' lifetime to that of the longest-lived record: they persist while a record
-- never expires, else expire (PEXPIREAT) with the last one. Keeps it when no record is left, so the
-- head survives explicit deletes until the time the task would have expired anyway.
local function refreshLifetime(idxKey, expKey, metaKey)
  local live = redis.call('ZCARD', idxKey)
  if live == 0 then return end
  local expiring = redis.call('ZCARD', expKey)
  if expiring > 0 then
    local last = redis.call('ZRANGE', expKey, -1, -1, 'WITHSCORES')[2]
    redis.call('PEXPIREAT', expKey, last)
    if expiring == live then
      redis.call('HSET', metaKey, ':until', last)
      redis.call('PEXPIREAT', idxKey, last)
      redis.call('PEXPIREAT', metaKey, last)
      return
    end
  end
  redis.call('HSET', metaKey, ':until', 'inf')
  redis.call('PERSIST', idxKey)
  redis.call('PERSIST', metaKey)
end

-- Removes the records expired at `now` (expiresAt <= now). When none is left and the task's
-- lifetime has passed, forgets the task's head too. Returns whether anything changed.
local function pruneExpired(idxKey, expKey, metaKey, recPrefix, now)
  local expired = redis.call('ZRANGEBYSCORE', expKey, '-inf', now)
  for _, id in ipairs(expired) do
    dropRecord(idxKey, expKey, metaKey, recPrefix, id)
  end
  if redis.call('ZCARD', idxKey) == 0 then
    local lifetime = redis.call('HGET', metaKey, ':until')
    if lifetime and lifetime ~= 'inf' and tonumber(lifetime) <= tonumber(now) then
      redis.call('DEL', idxKey, expKey, metaKey)
      return true
    end
  end
  if #expired > 0 then
    refreshLifetime(idxKey, expKey, metaKey)
    return true
  end
  return false
end

-- Reads one indexed record, bounded: {0, id, seq, createdAt, expiresAt, body} when readable,
-- {3, id, reason} when corrupt, {4, id, bytes} when over maxBytes, nil when its key is gone
-- because Redis expired it (its expiresAt passed by the server's clock).
local function readRecord(idxKey, metaKey, recPrefix, id, seq, maxBytes)
  local recKey = recPrefix .. id
  local t = redis.call('TYPE', recKey)['ok']
  if t == 'none' then
    local meta = redis.call('HGET', metaKey, id)
    if meta and string.sub(meta, -1) ~= '|' then return nil end
    return {3, id, 'its record key is missing'}
  end
  if t ~= 'hash' then return {3, id, 'its record key holds a ' .. t} end
  local size = redis.call('HSTRLEN', recKey, 'b')
  if size > tonumber(maxBytes) then return {4, id, size} end
  local f = redis.call('HMGET', recKey, 's', 'c', 'e', 'l', 'b')
  if not (f[1] and f[2] and f[3] and f[4] and f[5]) then
    return {3, id, 'its record lacks fields'}
  end
  if tonumber(f[1]) ~= tonumber(seq) then
    return {3, id, 'its sequence number does not match the index'}
  end
  if tonumber(f[4]) ~= size then
    return {3, id, 'its body is ' .. size .. ' bytes, but ' .. f[4] .. ' were written'}
  end
  return {0, id, f[1], f[2], f[3], f[5]}
end

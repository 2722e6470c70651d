--[[
  Lists the metadata of a task's live records, newest (highest seq) first. Reads no bodies.

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] metadata key     <prefix>{taskId}:meta
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] now, ms since the epoch

  Output:
    {0, id1, seq1, meta1, id2, seq2, meta2, ...}   meta is "createdAt|expiresAt|bodyBytes" (nil if
                                                   missing)
  A task key of the wrong type fails the script (WRONGTYPE) before anything is written.
]]
--- @include "taskKeys"

local idxKey, expKey, metaKey = KEYS[1], KEYS[2], KEYS[3]
local recPrefix, now = ARGV[1], ARGV[2]

openTask(idxKey, expKey, metaKey, recPrefix, now)

local entries = redis.call('ZREVRANGE', idxKey, 0, -1, 'WITHSCORES')
local out = {0}
local dropped = false
for i = 1, #entries, 2 do
  local id = entries[i]
  local meta = redis.call('HGET', metaKey, id)
  local _, expiresAt = parseMeta(meta)
  if expiresAt and expiresAt ~= '' and redis.call('EXISTS', recPrefix .. id) == 0 then
    -- Redis expired it before our clock did.
    dropRecord(idxKey, expKey, metaKey, recPrefix, id)
    dropped = true
  else
    out[#out + 1] = id
    out[#out + 1] = entries[i + 1]
    out[#out + 1] = meta
  end
end
if dropped then refreshLifetime(idxKey, expKey, metaKey) end
return out

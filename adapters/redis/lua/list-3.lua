--[[
  Lists the metadata of a task's live records, newest (highest seq) first. Reads each record's header, not its body.

  Input:
    KEYS[1] index key        <prefix>{taskId}:idx
    KEYS[2] expiry key       <prefix>{taskId}:exp
    KEYS[3] v2 metadata key  <prefix>{taskId}:meta  (tasks written by layout v2)
    ARGV[1] record key prefix  <prefix>{taskId}:r:
    ARGV[2] now, ms since the epoch

  Output:
    {0, id1, seq1, meta1, id2, seq2, meta2, ...}   meta is "createdAt|expiresAt|bodyBytes", or
                                                   "|expiresAt|" (what the expiry index says,
                                                   '' when it has no entry) when the record's
                                                   header or metadata is missing or does not
                                                   parse, or its key holds another type: a
                                                   damaged record is still listed (load and
                                                   latest report it)
    {3, 'head', reason}                            the task's head is damaged (see openTask)
  A task key of the wrong type fails the script (WRONGTYPE) before anything is written.
]]
--- @include "taskKeys"

local task = {idx = KEYS[1], exp = KEYS[2], meta = KEYS[3], rec = ARGV[1]}
local now = ARGV[2]

local head, damaged = openTask(task, now)
if not head then return {3, 'head', damaged} end

local entries = redis.call('ZRANGE', task.idx, '+inf', 1, 'BYSCORE', 'REV', 'WITHSCORES')
local out = {0}
local expired = {}
for i = 1, #entries, 2 do
  local id = entries[i]
  -- pcall: a record key of another type (WRONGTYPE) is one damaged record, not a failed list.
  local header = redis.pcall('GETRANGE', task.rec .. id, 0, NONCE_LENGTH + #id + META_CHARS)
  if type(header) ~= 'string' then header = nil end
  if header == '' and redis.call('ZSCORE', task.exp, id)
      and redis.call('EXISTS', task.rec .. id) == 0 then
    -- Redis expired it before our clock did (an empty value is a damaged one).
    expired[#expired + 1] = id
  else
    local createdAt, expiresAt, bytes
    if header then createdAt, expiresAt, bytes = parseHeader(task, header, id) end
    out[#out + 1] = id
    out[#out + 1] = entries[i + 1]
    if bytes then
      out[#out + 1] = createdAt .. '|' .. expiresAt .. '|' .. bytes
    else
      out[#out + 1] = '|' .. (redis.call('ZSCORE', task.exp, id) or '') .. '|'
    end
  end
end
if #expired > 0 then
  dropRecords(task, expired)
  refreshNext(task)
end
return out

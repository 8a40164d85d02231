import type { Redis } from 'ioredis';

/**
 * Publish atomically: next id from one cluster-wide sequence (never below
 * the caller's clock-based minimum, so ids keep rising even if Redis lost its
 * data), append to the channel's history stream (exact MAXLEN, remembering
 * the highest id trimmed so a resume from before it is known to have a gap),
 * and PUBLISH on the bus. One script, one round trip; Redis runs scripts one
 * at a time, so bus messages reach every node in id order.
 *
 * The epoch (KEYS[2]) is the first id of the history Redis holds now. A new
 * one starts when there is none (first start, or Redis came back empty) or
 * when the sequence is below the highest id this node has seen (ARGV[8]:
 * Redis lost acknowledged writes). Its first id is above every id this node
 * saw and not below the node's clock (in microseconds), so every position
 * handed out before it is below the epoch, and a resume from there is
 * refused rather than served from a history that does not hold what came
 * after it. (Ids stay tied to the clock, which age retention relies on.)
 *
 * Byte bound (ARGV[9] > 0): every entry is also listed, with its estimated
 * size, in one global order stream (KEYS[6]) and counted in KEYS[7]; over
 * the bound the oldest entries go first, whatever their channel (their
 * channel's trimmed mark rises, so a resume from before them gets a gap).
 * Entries already gone by count or age stay counted until they reach the
 * head of the order: the bound holds, slightly early.
 *
 * With a publish-once key (ARGV[5], version ARGV[6]): first compare with the
 * highest version published under that key on this channel (hash KEYS[5]);
 * not above it → return '' and change nothing. Checked and recorded inside
 * the same script as the publish, so two nodes (or a retry after a lost
 * reply) can never both publish one version.
 */
export const PUBLISH_SCRIPT = `
local onceField = ARGV[5]
if onceField ~= '' then
  local last = redis.call('HGET', KEYS[5], onceField)
  if last and tonumber(last) >= tonumber(ARGV[6]) then return '' end
end
local seen = tonumber(ARGV[8])
local prev = redis.call('GET', KEYS[1])
local newEpoch = redis.call('EXISTS', KEYS[2]) == 0 or (prev and tonumber(prev) < seen)
local minId = tonumber(ARGV[1])
if seen >= minId then minId = seen + 1 end
local id = redis.call('INCR', KEYS[1])
if id < minId then
  id = minId
  redis.call('SET', KEYS[1], string.format('%d', id))
end
local idText = string.format('%d', id)
if newEpoch then redis.call('SET', KEYS[2], idText) end
local maxlen = tonumber(ARGV[2])
if maxlen > 0 then
  if redis.call('XLEN', KEYS[3]) >= maxlen then
    local oldest = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)
    if oldest[1] then
      local trimmed = string.match(oldest[1][1], '^(%d+)')
      redis.call('SET', KEYS[4], trimmed)
    end
  end
  redis.call('XADD', KEYS[3], 'MAXLEN', maxlen, idText .. '-0', 'b', ARGV[3])
  -- Age retention: ids are at least the publish time in microseconds, so
  -- MINID trims what was published before the cutoff.
  local minKeep = tonumber(ARGV[7])
  if minKeep > 0 and redis.call('XTRIM', KEYS[3], 'MINID', string.format('%d', minKeep) .. '-0') > 0 then
    local prevTrim = tonumber(redis.call('GET', KEYS[4]) or '0')
    if minKeep - 1 > prevTrim then redis.call('SET', KEYS[4], string.format('%d', minKeep - 1)) end
  end
  local maxBytes = tonumber(ARGV[9])
  if maxBytes > 0 then
    local size = #ARGV[3] + 64
    redis.call('XADD', KEYS[6], idText .. '-0', 'c', ARGV[10], 's', size)
    local total = redis.call('INCRBY', KEYS[7], size)
    local n = 0
    while total > maxBytes and n < 16 do
      n = n + 1
      local head = redis.call('XRANGE', KEYS[6], '-', '+', 'COUNT', 1)
      if not head[1] then break end
      redis.call('XDEL', KEYS[6], head[1][1])
      local f = head[1][2]
      local oid = string.match(head[1][1], '^(%d+)')
      local prefix = ARGV[11]
      redis.call('XTRIM', prefix .. 'h:' .. f[2], 'MINID', string.format('%d', tonumber(oid) + 1) .. '-0')
      local tkey = prefix .. 'trimmed:' .. f[2]
      if tonumber(redis.call('GET', tkey) or '0') < tonumber(oid) then redis.call('SET', tkey, oid) end
      total = redis.call('DECRBY', KEYS[7], tonumber(f[4]))
    end
  end
else
  redis.call('SET', KEYS[4], idText)
end
redis.call('PUBLISH', ARGV[4], idText .. ' ' .. ARGV[3])
if onceField ~= '' then redis.call('HSET', KEYS[5], onceField, ARGV[6]) end
return idText
`;

/** A connection with PUBLISH_SCRIPT defined as `hubcastPublish` (RedisBus.start). */
export type RedisWithScript = Redis & {
  hubcastPublish(
    seq: string,
    epoch: string,
    stream: string,
    trimmed: string,
    once: string,
    order: string,
    bytes: string,
    minId: string,
    maxlen: number,
    body: string,
    bus: string,
    onceField: string,
    onceVersion: number,
    minKeepId: string,
    seen: string,
    maxBytes: number,
    channel: string,
    prefix: string,
  ): Promise<string>;
};

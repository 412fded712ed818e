import { RedisScript } from '../../redis/index.js';

/**
 * `tsAdd(key, ms, value)`: `TS.ADD ... ON_DUPLICATE BLOCK` at the first free millisecond at or
 * after `ms` and after the series' last point, so every transaction keeps its own point (`SUM`
 * would merge two decided in the same millisecond, `FIRST`/`LAST` drop one; either breaks counts
 * and averages). A series holds at most one point per millisecond: a batch shares one decision
 * time, and at more than 1,000 points a second the series runs ahead of the clock rather than
 * losing points. The last point is read once per key per call (`TS.GET`) and then followed in
 * Lua: one TS.ADD per point. Searching for a free millisecond among the points already there
 * cost one call per point passed (500 points took seconds and hit BUSY), and a bounded search
 * dropped points once batches piled up more than a second ahead.
 * Other errors (a point older than the retention) drop the point, as the retention would.
 */
const TS_ADD_FUNCTION = `
local lastOf = {}
local function tsAdd(key, t, v)
  local last = lastOf[key]
  if last == nil then
    local got = redis.pcall('TS.GET', key)
    last = -1
    if type(got) == 'table' and not got.err and got[1] then last = tonumber(got[1]) or -1 end
  end
  if t <= last then t = last + 1 end
  for _ = 1, 1000 do
    local r = redis.pcall('TS.ADD', key, string.format('%d', t), v, 'ON_DUPLICATE', 'BLOCK')
    if type(r) ~= 'table' or not r.err then
      lastOf[key] = t
      return
    end
    if not string.find(r.err, 'BLOCK', 1, true) then
      lastOf[key] = last
      return
    end
    t = t + 1
  end
  lastOf[key] = t
end
`;

/**
 * Writes one shard's part of a batch. Idempotent per record: the rest of a record's writes
 * happen only when `SET NX` / `JSON.SET NX` created its document.
 *
 * ARGV: useJson, useTimeSeries, doGlobal (alerts and module series in this call: single server),
 * ttlSeconds (0 = none), retentionMs, maxAlerts, bucketTtlMs, nBuckets, nRecords, then per
 * record 8 values: document, ms, fraudScore text, decision code (a/r/d), 1 s bucket index,
 * 10 s bucket index (into the bucket keys), core series member, alert JSON (or '').
 *
 * KEYS: count, core fraudulent zset, core non-fraudulent zset, the bucket keys, the documents,
 * then with doGlobal the alerts stream and, with useTimeSeries, the three lab series.
 *
 * Counters are summed per bucket in Lua first and flushed once per bucket, because a batch
 * mostly falls into one or two buckets; core series points are added with one ZADD per series. Returns 1 (written) or 0 (duplicate) per record.
 */
export const STORE_SCRIPT = new RedisScript(`${TS_ADD_FUNCTION}
local useJson = ARGV[1] == '1'
local useTs = ARGV[2] == '1'
local doGlobal = ARGV[3] == '1'
local ttl = tonumber(ARGV[4])
local retention = tonumber(ARGV[5])
local maxAlerts = ARGV[6]
local bucketTtl = ARGV[7]
local nb = tonumber(ARGV[8])
local n = tonumber(ARGV[9])
local g = 3 + nb + n
local agg = {}
-- Core series points of the new records, added with one ZADD per series after the loop.
local fraudPoints, genuinePoints = {}, {}
local out = {}
local written = 0
local newest = nil
for i = 1, n do
  local a = 9 + (i - 1) * 8
  local key = KEYS[3 + nb + i]
  local doc = ARGV[a + 1]
  local ok
  if useJson then
    -- Legacy root path '.': ReJSON 1.x rejects '$'; RedisJSON 2.x and Redis 8 accept both.
    ok = redis.call('JSON.SET', key, '.', doc, 'NX')
    if ok and ttl > 0 then redis.call('EXPIRE', key, ttl) end
  elseif ttl > 0 then
    ok = redis.call('SET', key, doc, 'NX', 'EX', ttl)
  else
    ok = redis.call('SET', key, doc, 'NX')
  end
  if ok then
    written = written + 1
    out[i] = 1
    local ms = ARGV[a + 2]
    local score = ARGV[a + 3]
    local code = ARGV[a + 4]
    local flagged = code ~= 'a'
    if useTs then
      if doGlobal then
        local t = tonumber(ms)
        tsAdd(KEYS[g + 2], t, score)
        tsAdd(flagged and KEYS[g + 3] or KEYS[g + 4], t, score)
      end
    else
      local points = flagged and fraudPoints or genuinePoints
      points[#points + 1] = ms
      points[#points + 1] = ARGV[a + 7]
      local t = tonumber(ms)
      if newest == nil or t > newest then newest = t end
    end
    local s = tonumber(score)
    for b = 5, 6 do
      local idx = tonumber(ARGV[a + b])
      local c = agg[idx]
      if c == nil then
        c = { 0, 0, 0, 0, 0 }
        agg[idx] = c
      end
      c[1] = c[1] + 1
      if flagged then c[2] = c[2] + 1 end
      if code == 'r' then c[3] = c[3] + 1 end
      if code == 'd' then c[4] = c[4] + 1 end
      c[5] = c[5] + s
    end
    if flagged and doGlobal then
      redis.call('XADD', KEYS[g + 1], 'MAXLEN', '~', maxAlerts, '*', 'alert', ARGV[a + 8])
    end
  else
    out[i] = 0
  end
end
for idx, c in pairs(agg) do
  local key = KEYS[3 + idx]
  redis.call('HINCRBY', key, 'transactions', c[1])
  if c[2] > 0 then redis.call('HINCRBY', key, 'flagged', c[2]) end
  if c[3] > 0 then redis.call('HINCRBY', key, 'review', c[3]) end
  if c[4] > 0 then redis.call('HINCRBY', key, 'decline', c[4]) end
  redis.call('HINCRBYFLOAT', key, 'scoreSum', string.format('%.17g', c[5]))
  redis.call('PEXPIRE', key, bucketTtl)
end
-- unpack() is limited by the Lua stack: add in chunks of 1000 points.
for key, points in pairs({ [KEYS[2]] = fraudPoints, [KEYS[3]] = genuinePoints }) do
  for c = 1, #points, 2000 do
    redis.call('ZADD', key, unpack(points, c, math.min(c + 1999, #points)))
  end
end
if written > 0 then redis.call('INCRBY', KEYS[1], written) end
if newest ~= nil then
  local horizon = '(' .. string.format('%d', newest - retention)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', horizon)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', horizon)
end
return out
`);

/**
 * Adds points to one lab series (module layout on a cluster, where the untagged lab keys cannot
 * join a shard's script). ARGV: ms, value pairs.
 */
export const TS_ADD_SCRIPT = new RedisScript(`${TS_ADD_FUNCTION}
for i = 1, #ARGV, 2 do
  tsAdd(KEYS[1], tonumber(ARGV[i]), ARGV[i + 1])
end
return #ARGV / 2
`);

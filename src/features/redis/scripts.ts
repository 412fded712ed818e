import { RedisScript } from '../../redis/index.js';

/** Number → text without losing precision (Lua's `tostring` keeps only 14 digits). */
const FMT = `local function fmt(x) return string.format('%.17g', x) end
local NONE = -1e300
`;

/**
 * Updates and reads the windows of one group of tasks (all on one server, or on a cluster all
 * keys of one hash tag), in order. Each task is one event's card part or terminal part.
 *
 * ARGV: useWatermarkKey, Hc, Ht, D, nCardWindows, nTerminalWindows, the card windows (ms), the
 * terminal windows (ms), nTasks, then 6 values per task: kind (c/t), index of its first key,
 * event key, time, amount (cards), the watermark W after this event as seen by the client.
 * KEYS: [watermark key,] then per card its sorted set, per terminal its entries sorted set,
 * fraud-label hash (entry → label time) and fraud sorted set.
 *
 * Card entries: score = time, member `<time>|<amount>|<key>`. Terminal entries: score = time,
 * member `<time>|<key>`; only fraud labels are kept (a genuine label reads like none), in the
 * fraud set (score = time) with the time the label became known in the hash.
 * Returns { comma-separated outputs in task order, W after the call ('' without the key) }.
 */
export const WINDOW_SCRIPT = new RedisScript(`${FMT}
local useWm = ARGV[1] == '1'
local Hc, Ht, D = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local nc, nt = tonumber(ARGV[5]), tonumber(ARGV[6])
local cw, tw = {}, {}
local maxC, maxT = 0, 0
for i = 1, nc do cw[i] = tonumber(ARGV[6 + i]); if cw[i] > maxC then maxC = cw[i] end end
for i = 1, nt do tw[i] = tonumber(ARGV[6 + nc + i]); if tw[i] > maxT then maxT = tw[i] end end
local base = 7 + nc + nt
local n = tonumber(ARGV[base])
local W0 = NONE
if useWm then W0 = tonumber(redis.call('GET', KEYS[1]) or NONE) end
local Wf = W0
local out = {}
local cards, terms = {}, {}
for i = 1, n do
  local a = base + (i - 1) * 6
  local kind, k, ekey, ts = ARGV[a + 1], tonumber(ARGV[a + 2]), ARGV[a + 3], ARGV[a + 4]
  local t = tonumber(ts)
  local W = tonumber(ARGV[a + 6])
  if W0 > W then W = W0 end
  if W > Wf then Wf = W end
  if kind == 'c' then
    local key = KEYS[k]
    cards[k] = true
    local horizon = W - Hc
    local counts, sums = {}, {}
    for w = 1, nc do counts[w] = 0; sums[w] = 0 end
    local lower = t - maxC
    if horizon > lower then lower = horizon end
    local found = false
    if t > lower then
      local entries = redis.call('ZRANGEBYSCORE', key, '(' .. fmt(lower), ts, 'WITHSCORES')
      for j = 1, #entries, 2 do
        local m = entries[j]
        local tj = tonumber(entries[j + 1])
        local p1 = string.find(m, '|', 1, true)
        local p2 = string.find(m, '|', p1 + 1, true)
        local amount = tonumber(string.sub(m, p1 + 1, p2 - 1))
        if tj == t and string.sub(m, p2 + 1) == ekey then found = true end
        for w = 1, nc do
          if tj > t - cw[w] then counts[w] = counts[w] + 1; sums[w] = sums[w] + amount end
        end
      end
    end
    if not found then
      local amountText = ARGV[a + 5]
      local amount = tonumber(amountText)
      if t > horizon then redis.call('ZADD', key, ts, ts .. '|' .. amountText .. '|' .. ekey) end
      for w = 1, nc do counts[w] = counts[w] + 1; sums[w] = sums[w] + amount end
    end
    for w = 1, nc do
      out[#out + 1] = counts[w]
      out[#out + 1] = fmt(sums[w])
    end
  else
    local key, fkey, lkey = KEYS[k], KEYS[k + 2], KEYS[k + 1]
    terms[k] = true
    local horizon = W - Ht
    if t > horizon then redis.call('ZADD', key, 'NX', ts, ts .. '|' .. ekey) end
    local e = t - D
    local lowest = e
    local lows = {}
    for w = 1, nt do
      local lo = e - tw[w]
      if horizon > lo then lo = horizon end
      lows[w] = lo
      if lo < lowest then lowest = lo end
    end
    local frauds = {}
    for w = 1, nt do frauds[w] = 0 end
    if lowest < e then
      local fm = redis.call('ZRANGEBYSCORE', fkey, '(' .. fmt(lowest), fmt(e), 'WITHSCORES')
      if #fm > 0 then
        local members = {}
        for j = 1, #fm, 2 do members[#members + 1] = fm[j] end
        -- unpack() is limited by the Lua stack: read label times in chunks.
        for c = 1, #members, 1000 do
          local last = math.min(c + 999, #members)
          local known = redis.call('HMGET', lkey, unpack(members, c, last))
          for j = c, last do
            local at = tonumber(known[j - c + 1])
            if at and at <= t then
              local tj = tonumber(fm[2 * j])
              for w = 1, nt do if tj > lows[w] then frauds[w] = frauds[w] + 1 end end
            end
          end
        end
      end
    end
    for w = 1, nt do
      local c = 0
      if lows[w] < e then c = redis.call('ZCOUNT', key, '(' .. fmt(lows[w]), fmt(e)) end
      out[#out + 1] = c
      out[#out + 1] = frauds[w]
    end
  end
end
for k in pairs(cards) do
  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', fmt(Wf - Hc))
  redis.call('PEXPIRE', KEYS[k], math.ceil(Hc))
end
for k in pairs(terms) do
  local h = fmt(Wf - Ht)
  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', h)
  redis.call('PEXPIRE', KEYS[k], math.ceil(Ht))
  -- The fraud set and the label hash exist together (written and emptied together), so one
  -- PEXPIRE tells whether there are labels to trim: most terminals have none.
  if redis.call('PEXPIRE', KEYS[k + 2], math.ceil(Ht)) == 1 then
    redis.call('PEXPIRE', KEYS[k + 1], math.ceil(Ht))
    local old = redis.call('ZRANGEBYSCORE', KEYS[k + 2], '-inf', h)
    if #old > 0 then
      -- unpack() is limited by the Lua stack: delete in chunks.
      for j = 1, #old, 1000 do redis.call('HDEL', KEYS[k + 1], unpack(old, j, math.min(j + 999, #old))) end
      redis.call('ZREMRANGEBYSCORE', KEYS[k + 2], '-inf', h)
    end
  end
end
for i = 1, #out do
  if type(out[i]) == 'number' then out[i] = string.format('%d', out[i]) end
end
local wText = ''
if useWm then
  if Wf > W0 then redis.call('SET', KEYS[1], fmt(Wf)) end
  wText = fmt(Wf)
end
return { table.concat(out, ','), wText }
`);

/**
 * Applies feedback to the terminals of one group. ARGV: useWatermarkKey, Ht, the client's W,
 * nItems, then 5 values per item: index of the terminal's first key, entry member
 * (`<time>|<key>`), time, label, label time. KEYS as in {@link WINDOW_SCRIPT}.
 */
export const FEEDBACK_SCRIPT = new RedisScript(`${FMT}
local Ht = tonumber(ARGV[2])
local W = tonumber(ARGV[3])
if ARGV[1] == '1' then
  local stored = tonumber(redis.call('GET', KEYS[1]) or NONE)
  if stored > W then W = stored end
end
local n = tonumber(ARGV[4])
for i = 1, n do
  local a = 4 + (i - 1) * 5
  local k, m, t, label, at = tonumber(ARGV[a + 1]), ARGV[a + 2], tonumber(ARGV[a + 3]), ARGV[a + 4], ARGV[a + 5]
  if t > W - Ht and redis.call('ZSCORE', KEYS[k], m) then
    local lkey, fkey = KEYS[k + 1], KEYS[k + 2]
    if label == '1' then
      if not redis.call('ZSCORE', fkey, m) then
        redis.call('ZADD', fkey, ARGV[a + 3], m)
        redis.call('HSET', lkey, m, at)
        redis.call('PEXPIRE', fkey, math.ceil(Ht))
        redis.call('PEXPIRE', lkey, math.ceil(Ht))
      end
    elseif redis.call('ZREM', fkey, m) == 1 then
      redis.call('HDEL', lkey, m)
    end
  end
end
return n
`);

/** Raises the shared watermark to ARGV[1] if it is lower; returns the watermark (cluster mode). */
export const WATERMARK_SCRIPT = new RedisScript(`${FMT}
local cur = tonumber(redis.call('GET', KEYS[1]) or NONE)
local w = tonumber(ARGV[1])
if w > cur then
  redis.call('SET', KEYS[1], ARGV[1])
  cur = w
end
return fmt(cur)
`);

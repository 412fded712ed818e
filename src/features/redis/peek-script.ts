import { RedisScript } from '../../redis/index.js';

/**
 * Reads what `WINDOW_SCRIPT` would answer for each task if its event were the only one of the
 * call, and writes nothing (dry runs). Same ARGV and KEYS as `WINDOW_SCRIPT`; each task's W is
 * the client's watermark raised to its own event time, and, with the watermark key, to the
 * stored watermark. Expired entries (at or before W − H) are not counted, as the contract says,
 * though they may still be stored. The event itself counts in its card windows unless stored
 * already, and in its terminal windows only without a label delay (D = 0).
 */
export const PEEK_SCRIPT = new RedisScript(`
local function fmt(x)
  if x == math.floor(x) and x > -9e15 and x < 9e15 then return string.format('%d', x) end
  return string.format('%.17g', x)
end
local useWm = ARGV[1] == '1'
local Hc, Ht, D = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local nc, nt = tonumber(ARGV[5]), tonumber(ARGV[6])
local cw, tw = {}, {}
local maxC = 0
for i = 1, nc do cw[i] = tonumber(ARGV[6 + i]); if cw[i] > maxC then maxC = cw[i] end end
for i = 1, nt do tw[i] = tonumber(ARGV[6 + nc + i]) end
local base = 7 + nc + nt
local n = tonumber(ARGV[base])
local W0 = -1e300
if useWm then W0 = tonumber(redis.call('GET', KEYS[1]) or W0) end
local out = {}
local no = 0
for i = 1, n do
  local a = base + (i - 1) * 6
  local kind, k, ekey, ts = ARGV[a + 1], tonumber(ARGV[a + 2]), ARGV[a + 3], ARGV[a + 4]
  local t = tonumber(ts)
  local W = tonumber(ARGV[a + 6])
  if W0 > W then W = W0 end
  if kind == 'c' then
    local horizon = W - Hc
    local lower = t - maxC
    if horizon > lower then lower = horizon end
    local counts, sums = {}, {}
    for w = 1, nc do counts[w] = 0; sums[w] = 0 end
    local found = false
    if t > lower then
      local entries = redis.call('ZRANGEBYSCORE', KEYS[k], '(' .. fmt(lower), ts)
      for j = 1, #entries do
        local m = entries[j]
        local p1 = string.find(m, '|', 1, true)
        local p2 = string.find(m, '|', p1 + 1, true)
        local tj = tonumber(string.sub(m, 1, p1 - 1))
        local amount = tonumber(string.sub(m, p1 + 1, p2 - 1))
        if tj == t and string.sub(m, p2 + 1) == ekey then found = true end
        for w = 1, nc do
          if tj > t - cw[w] then counts[w] = counts[w] + 1; sums[w] = sums[w] + amount end
        end
      end
    end
    if not found then
      local amount = tonumber(ARGV[a + 5])
      for w = 1, nc do counts[w] = counts[w] + 1; sums[w] = sums[w] + amount end
    end
    for w = 1, nc do
      out[no + 1] = string.format('%d', counts[w])
      out[no + 2] = fmt(sums[w])
      no = no + 2
    end
  else
    local key, lkey, fkey = KEYS[k], KEYS[k + 1], KEYS[k + 2]
    local horizon = W - Ht
    local e = t - D
    local self = 0
    if D == 0 and t > horizon and not redis.call('ZSCORE', key, ts .. '|' .. ekey) then self = 1 end
    local lows, lowest = {}, e
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
      for j = 1, #fm, 2 do
        local tj = tonumber(fm[j + 1])
        local known = tonumber(redis.call('HGET', lkey, fm[j])) or math.huge
        if known <= t then
          for w = 1, nt do if tj > lows[w] then frauds[w] = frauds[w] + 1 end end
        end
      end
    end
    for w = 1, nt do
      local count = 0
      if lows[w] < e then count = redis.call('ZCOUNT', key, '(' .. fmt(lows[w]), fmt(e)) end
      out[no + 1] = string.format('%d', count + self)
      out[no + 2] = string.format('%d', frauds[w])
      no = no + 2
    end
  end
end
return { table.concat(out, ','), '' }
`);

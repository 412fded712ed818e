import { RedisScript } from '../../redis/index.js';

/**
 * Updates and reads the card histories of one group of events (the whole batch on one server; on
 * a cluster the events of one card), in order. Kept apart from the window scripts so each can
 * change without the other.
 *
 * ARGV: H (ms), nEvents, then 5 values per event: index of its card's first key, event key,
 * time, amount, terminal id. KEYS per card: its entries sorted set (score = time, member
 * `<time>|<amount>|<terminal length>|<terminal><key>`) and its watermark string.
 * Returns the outputs of every event, comma-separated, in order (7 per event, see the contract).
 */
export const CARD_HISTORY_SCRIPT = new RedisScript(`
local function fmt(x)
  if x ~= x then return 'NaN' end
  if x == math.floor(x) and x > -9e15 and x < 9e15 then return string.format('%d', x) end
  return string.format('%.17g', x)
end
local H = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local wms = {}
local out = {}
local no = 0
for i = 1, n do
  local a = 2 + (i - 1) * 5
  local k, ekey, ts, am, term = tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5]
  local t = tonumber(ts)
  local z, wk = KEYS[k], KEYS[k + 1]
  local wc = wms[k]
  if wc == nil then wc = tonumber(redis.call('GET', wk) or '-1e300') end
  if t > wc then wc = t end
  wms[k] = wc
  redis.call('ZREMRANGEBYSCORE', z, '-inf', fmt(wc - H))
  local entries = redis.call('ZRANGEBYSCORE', z, '(' .. fmt(t - H), ts)
  local found = false
  local count, sum, sq, mx, same, prev = 0, 0, 0, -math.huge, 0, -math.huge
  local seen, distinct = {}, 0
  if term ~= '' then seen[term] = true; distinct = 1 end
  for j = 1, #entries do
    local m = entries[j]
    local p1 = string.find(m, '|', 1, true)
    local p2 = string.find(m, '|', p1 + 1, true)
    local p3 = string.find(m, '|', p2 + 1, true)
    local tj = tonumber(string.sub(m, 1, p1 - 1))
    local aj = tonumber(string.sub(m, p1 + 1, p2 - 1))
    local tl = tonumber(string.sub(m, p2 + 1, p3 - 1))
    local tid = string.sub(m, p3 + 1, p3 + tl)
    local kj = string.sub(m, p3 + tl + 1)
    if tj == t and kj == ekey then
      found = true
    else
      count = count + 1
      sum = sum + aj
      sq = sq + aj * aj
      if aj > mx then mx = aj end
      if tj > prev then prev = tj end
      if tid ~= '' then
        if tid == term then same = same + 1 end
        if not seen[tid] then seen[tid] = true; distinct = distinct + 1 end
      end
    end
  end
  if t > wc - H and not found then
    redis.call('ZADD', z, t, ts .. '|' .. am .. '|' .. string.len(term) .. '|' .. term .. ekey)
  end
  local nan = 0 / 0
  out[no + 1] = fmt(count > 0 and (t - prev) or nan)
  out[no + 2] = fmt(count)
  out[no + 3] = fmt(sum)
  out[no + 4] = fmt(sq)
  out[no + 5] = fmt(count > 0 and mx or nan)
  out[no + 6] = fmt(term == '' and nan or same)
  out[no + 7] = fmt(distinct)
  no = no + 7
end
for k, wc in pairs(wms) do
  redis.call('SET', KEYS[k + 1], fmt(wc), 'PX', math.floor(H))
  redis.call('PEXPIRE', KEYS[k], math.floor(H))
end
return table.concat(out, ',')
`);

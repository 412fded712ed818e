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
-- Per card touched by this call, loaded once: watermark and entries in time order as Lua arrays,
-- so a card seen many times in a batch (a replay) costs one read, not one per event.
local cards = {}
local function load(k)
  local c = cards[k]
  if c ~= nil then return c end
  c = { wc = tonumber(redis.call('GET', KEYS[k + 1]) or '-1e300'), t = {}, a = {}, term = {}, key = {} }
  local members = redis.call('ZRANGE', KEYS[k], 0, -1)
  for j = 1, #members do
    local m = members[j]
    local p1 = string.find(m, '|', 1, true)
    local p2 = string.find(m, '|', p1 + 1, true)
    local p3 = string.find(m, '|', p2 + 1, true)
    local tl = tonumber(string.sub(m, p2 + 1, p3 - 1))
    c.t[j] = tonumber(string.sub(m, 1, p1 - 1))
    c.a[j] = tonumber(string.sub(m, p1 + 1, p2 - 1))
    c.term[j] = string.sub(m, p3 + 1, p3 + tl)
    c.key[j] = string.sub(m, p3 + tl + 1)
  end
  cards[k] = c
  return c
end
local out = {}
local no = 0
local nan = 0 / 0
for i = 1, n do
  local a = 2 + (i - 1) * 5
  local k, ekey, ts, am, term = tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5]
  local t = tonumber(ts)
  local c = load(k)
  if t > c.wc then c.wc = t end
  local T, A, R, K = c.t, c.a, c.term, c.key
  -- Expired entries leave from the front (they are in time order).
  local drop = 0
  while drop < #T and T[drop + 1] <= c.wc - H do drop = drop + 1 end
  if drop > 0 then
    for _, arr in ipairs({ T, A, R, K }) do
      local len = #arr
      for j = 1, len - drop do arr[j] = arr[j + drop] end
      for j = len - drop + 1, len do arr[j] = nil end
    end
  end
  local found = false
  local count, sum, sq, mx, same, prev = 0, 0, 0, -math.huge, 0, -math.huge
  local seen, distinct = {}, 0
  if term ~= '' then seen[term] = true; distinct = 1 end
  local lo = t - H
  local insertAt = #T + 1
  for j = 1, #T do
    local tj = T[j]
    if tj > t then insertAt = j; break end
    if tj > lo then
      if tj == t and K[j] == ekey then
        found = true
      else
        local aj = A[j]
        count = count + 1
        sum = sum + aj
        sq = sq + aj * aj
        if aj > mx then mx = aj end
        if tj > prev then prev = tj end
        local tid = R[j]
        if tid ~= '' then
          if tid == term then same = same + 1 end
          if not seen[tid] then seen[tid] = true; distinct = distinct + 1 end
        end
      end
    end
  end
  if t > c.wc - H and not found then
    table.insert(T, insertAt, t)
    table.insert(A, insertAt, tonumber(am))
    table.insert(R, insertAt, term)
    table.insert(K, insertAt, ekey)
    redis.call('ZADD', KEYS[k], t, ts .. '|' .. am .. '|' .. string.len(term) .. '|' .. term .. ekey)
  end
  out[no + 1] = fmt(count > 0 and (t - prev) or nan)
  out[no + 2] = fmt(count)
  out[no + 3] = fmt(sum)
  out[no + 4] = fmt(sq)
  out[no + 5] = fmt(count > 0 and mx or nan)
  out[no + 6] = fmt(term == '' and nan or same)
  out[no + 7] = fmt(distinct)
  no = no + 7
end
local ttl = math.floor(H)
for k, c in pairs(cards) do
  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', fmt(c.wc - H))
  redis.call('SET', KEYS[k + 1], fmt(c.wc), 'PX', ttl)
  redis.call('PEXPIRE', KEYS[k], ttl)
end
return table.concat(out, ',')
`);

/**
 * Reads what {@link CARD_HISTORY_SCRIPT} would return for each event if it were the only event of
 * the call, writing nothing (dry runs). Same ARGV and KEYS. Entries the event's time would expire
 * (at or before max(Wc, t) - H) are skipped instead of removed; the event's own entry is never
 * counted, so whether it would be stored does not matter.
 */
export const CARD_HISTORY_PEEK_SCRIPT = new RedisScript(`
local function fmt(x)
  if x ~= x then return 'NaN' end
  if x == math.floor(x) and x > -9e15 and x < 9e15 then return string.format('%d', x) end
  return string.format('%.17g', x)
end
local H = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local out = {}
local no = 0
local nan = 0 / 0
for i = 1, n do
  local a = 2 + (i - 1) * 5
  local k, ekey, t, term = tonumber(ARGV[a + 1]), ARGV[a + 2], tonumber(ARGV[a + 3]), ARGV[a + 5]
  local wc = tonumber(redis.call('GET', KEYS[k + 1]) or '-1e300')
  if t > wc then wc = t end
  local lo = wc - H
  local members = redis.call('ZRANGEBYSCORE', KEYS[k], '(' .. fmt(lo), fmt(t))
  local count, sum, sq, mx, same, prev = 0, 0, 0, -math.huge, 0, -math.huge
  local seen, distinct = {}, 0
  if term ~= '' then seen[term] = true; distinct = 1 end
  for j = 1, #members do
    local m = members[j]
    local p1 = string.find(m, '|', 1, true)
    local p2 = string.find(m, '|', p1 + 1, true)
    local p3 = string.find(m, '|', p2 + 1, true)
    local tl = tonumber(string.sub(m, p2 + 1, p3 - 1))
    local tj = tonumber(string.sub(m, 1, p1 - 1))
    if not (tj == t and string.sub(m, p3 + tl + 1) == ekey) then
      local aj = tonumber(string.sub(m, p1 + 1, p2 - 1))
      count = count + 1
      sum = sum + aj
      sq = sq + aj * aj
      if aj > mx then mx = aj end
      if tj > prev then prev = tj end
      local tid = string.sub(m, p3 + 1, p3 + tl)
      if tid ~= '' then
        if tid == term then same = same + 1 end
        if not seen[tid] then seen[tid] = true; distinct = distinct + 1 end
      end
    end
  end
  out[no + 1] = fmt(count > 0 and (t - prev) or nan)
  out[no + 2] = fmt(count)
  out[no + 3] = fmt(sum)
  out[no + 4] = fmt(sq)
  out[no + 5] = fmt(count > 0 and mx or nan)
  out[no + 6] = fmt(term == '' and nan or same)
  out[no + 7] = fmt(distinct)
  no = no + 7
end
return table.concat(out, ',')
`);

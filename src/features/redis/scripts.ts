import { RedisScript } from '../../redis/index.js';

/**
 * Number → text without losing precision (Lua's `tostring` keeps only 14 digits). Whole numbers
 * (event times, window bounds) take the `%d` path: `%.17g` goes through glibc's multi-precision
 * float printing, which showed up as a tenth of the window script's Redis CPU in `perf`.
 */
const FMT = `local function fmt(x)
  if x == math.floor(x) and x > -9e15 and x < 9e15 then return string.format('%d', x) end
  return string.format('%.17g', x)
end
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
 *
 * Cost per event is dominated by the number of `redis.call`s (each converts arguments and the
 * reply), so the script keeps them few:
 * - a card is read from `-inf`: the same reply that gives the windows tells whether anything
 *   expired, so `ZREMRANGEBYSCORE` runs only when there is something to trim;
 * - trimming is lazy by an eighth of the horizon (expired entries are never counted, and may be
 *   deleted at any time by the contract), so a steadily used key is trimmed about once per
 *   eighth of its horizon instead of on every touch; memory stays bounded by 9/8 of the horizon;
 * - a terminal's fraud set and label times are read once per call and kept in Lua, not once
 *   per event (feedback cannot change them during the call);
 * - terminal windows are counted longest first and stop at the first empty one (a shorter
 *   window with the same upper end cannot hold more), so a terminal with nothing older than
 *   the label delay costs one ZCOUNT, not one per window. Counting stays `ZCOUNT` (O(log n)
 *   for a large set) rather than reading the entries: a range reply costs per entry returned.
 */
export const WINDOW_SCRIPT = new RedisScript(`${FMT}
local useWm = ARGV[1] == '1'
local Hc, Ht, D = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local nc, nt = tonumber(ARGV[5]), tonumber(ARGV[6])
local cw, tw = {}, {}
local maxC, maxT = 0, 0
for i = 1, nc do cw[i] = tonumber(ARGV[6 + i]); if cw[i] > maxC then maxC = cw[i] end end
for i = 1, nt do tw[i] = tonumber(ARGV[6 + nc + i]); if tw[i] > maxT then maxT = tw[i] end end
local slackC = Hc / 8
-- Terminal windows from the longest to the shortest: they share their upper end, so once a
-- longer one is empty every shorter one is too and needs no ZCOUNT.
local byLength = {}
for w = 1, nt do byLength[w] = w end
table.sort(byLength, function(x, y) return tw[x] > tw[y] end)
local base = 7 + nc + nt
local n = tonumber(ARGV[base])
local W0 = NONE
if useWm then W0 = tonumber(redis.call('GET', KEYS[1]) or NONE) end
local Wf = W0
local out = {}
local no = 0
-- Per touched card: the oldest entry time seen (math.huge when unknown), for the lazy trim.
local cards, terms = {}, {}
-- Per touched terminal: { fraud entry times, label-known times, members } read once per call.
local frauds = {}
local counts, sums, lows, nfraud = {}, {}, {}, {}
for i = 1, n do
  local a = base + (i - 1) * 6
  local kind, k, ekey, ts = ARGV[a + 1], tonumber(ARGV[a + 2]), ARGV[a + 3], ARGV[a + 4]
  local t = tonumber(ts)
  local W = tonumber(ARGV[a + 6])
  if W0 > W then W = W0 end
  if W > Wf then Wf = W end
  if kind == 'c' then
    local key = KEYS[k]
    local oldest = cards[k] or math.huge
    local horizon = W - Hc
    for w = 1, nc do counts[w] = 0; sums[w] = 0 end
    local lower = t - maxC
    if horizon > lower then lower = horizon end
    local found = false
    if t > lower then
      -- Without WITHSCORES: the member starts with the time as the client wrote it, and reading
      -- it there spares Redis formatting every score as a double for Lua to parse back.
      local entries = redis.call('ZRANGEBYSCORE', key, '-inf', ts)
      for j = 1, #entries do
        local m = entries[j]
        local p1 = string.find(m, '|', 1, true)
        local tj = tonumber(string.sub(m, 1, p1 - 1))
        if tj < oldest then oldest = tj end
        if tj > lower then
          local p2 = string.find(m, '|', p1 + 1, true)
          local amount = tonumber(string.sub(m, p1 + 1, p2 - 1))
          if tj == t and string.sub(m, p2 + 1) == ekey then found = true end
          for w = 1, nc do
            if tj > t - cw[w] then counts[w] = counts[w] + 1; sums[w] = sums[w] + amount end
          end
        end
      end
    end
    if not found then
      local amountText = ARGV[a + 5]
      local amount = tonumber(amountText)
      if t > horizon then
        redis.call('ZADD', key, ts, ts .. '|' .. amountText .. '|' .. ekey)
        if t < oldest then oldest = t end
      end
      for w = 1, nc do counts[w] = counts[w] + 1; sums[w] = sums[w] + amount end
    end
    cards[k] = oldest
    for w = 1, nc do
      out[no + 1] = counts[w]
      out[no + 2] = fmt(sums[w])
      no = no + 2
    end
  else
    local key, fkey, lkey = KEYS[k], KEYS[k + 2], KEYS[k + 1]
    terms[k] = true
    local horizon = W - Ht
    if t > horizon then redis.call('ZADD', key, 'NX', ts, ts .. '|' .. ekey) end
    local f = frauds[k]
    if f == nil then
      f = { {}, {}, {} }
      local fm = redis.call('ZRANGEBYSCORE', fkey, '-inf', '+inf', 'WITHSCORES')
      if #fm > 0 then
        local members = {}
        for j = 1, #fm, 2 do
          members[#members + 1] = fm[j]
          f[1][#f[1] + 1] = tonumber(fm[j + 1])
        end
        -- unpack() is limited by the Lua stack: read label times in chunks.
        for c = 1, #members, 1000 do
          local last = math.min(c + 999, #members)
          local known = redis.call('HMGET', lkey, unpack(members, c, last))
          for j = c, last do f[2][j] = tonumber(known[j - c + 1]) or math.huge end
        end
        f[3] = members
      end
      frauds[k] = f
    end
    local e = t - D
    local lowest = e
    for w = 1, nt do
      local lo = e - tw[w]
      if horizon > lo then lo = horizon end
      lows[w] = lo
      if lo < lowest then lowest = lo end
      counts[w] = 0
      nfraud[w] = 0
    end
    if lowest < e then
      local ftimes, fat = f[1], f[2]
      for j = 1, #ftimes do
        local tj = ftimes[j]
        if tj <= e and tj > lowest and fat[j] <= t then
          for w = 1, nt do if tj > lows[w] then nfraud[w] = nfraud[w] + 1 end end
        end
      end
      for x = 1, nt do
        local w = byLength[x]
        if lows[w] >= e then break end
        counts[w] = redis.call('ZCOUNT', key, '(' .. fmt(lows[w]), fmt(e))
        if counts[w] == 0 then break end
      end
    end
    for w = 1, nt do
      out[no + 1] = counts[w]
      out[no + 2] = nfraud[w]
      no = no + 2
    end
  end
end
for k, oldest in pairs(cards) do
  if oldest <= Wf - Hc - slackC then redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', fmt(Wf - Hc)) end
  redis.call('PEXPIRE', KEYS[k], math.ceil(Hc))
end
for k in pairs(terms) do
  local h = Wf - Ht
  -- Terminals are trimmed on every touch: unlike a card, a terminal's windows are counted with
  -- ZCOUNT, which does not show the oldest entry, and reading it would cost as much as trimming.
  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', fmt(h))
  redis.call('PEXPIRE', KEYS[k], math.ceil(Ht))
  -- The fraud set and the label hash exist together (written and emptied together).
  local f = frauds[k]
  local ftimes, members = f[1], f[3]
  if #ftimes > 0 then
    local old = {}
    for j = 1, #ftimes do if ftimes[j] <= h then old[#old + 1] = members[j] end end
    if #old == #ftimes then
      redis.call('DEL', KEYS[k + 1], KEYS[k + 2])
    else
      if #old > 0 then
        -- unpack() is limited by the Lua stack: delete in chunks.
        for j = 1, #old, 1000 do
          local chunk = math.min(j + 999, #old)
          redis.call('HDEL', KEYS[k + 1], unpack(old, j, chunk))
          redis.call('ZREM', KEYS[k + 2], unpack(old, j, chunk))
        end
      end
      redis.call('PEXPIRE', KEYS[k + 1], math.ceil(Ht))
      redis.call('PEXPIRE', KEYS[k + 2], math.ceil(Ht))
    end
  end
end
for i = 1, no do
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

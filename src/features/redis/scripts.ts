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
 * Helpers shared by the window and feedback scripts. A card or terminal is one string value: an
 * 8-byte header, then its entries in time order, 24 bytes each — three little-endian doubles
 * (`struct.pack('<ddd')`): the event time, a second field, and the fingerprint of the event's
 * key (a 53-bit hash computed by the client, see `keyFingerprint`). For a card the header is the
 * amount sum before the first entry and the second field the running amount sum up to and
 * including the entry, so any window's sum is the difference of two running sums; for a
 * terminal the header is the number of entries labelled fraud and the second field the time the
 * fraud label became known (`NOLABEL` when there is none).
 *
 * Why: the sorted sets of `<time>|<amount>|<key>` members this replaced were read whole and
 * parsed member by member in Lua for every event (most of redis-server's CPU in the Redis
 * pipeline). Here a read is a few binary-search probes (`struct.unpack` at an offset, in C),
 * and a key is read once and written once per batch.
 */
const BLOB = `local HDR, E = 8, 24
local NOLABEL = 1e300
local sunpack, spack, ssub, floor = struct.unpack, struct.pack, string.sub, math.floor
local function timeAt(b, i) return (sunpack('<d', b, HDR + i * E + 1)) end
local function secondAt(b, i) return (sunpack('<d', b, HDR + i * E + 9)) end
local function header(b) return (sunpack('<d', b, 1)) end
local function entries(b) return (#b - HDR) / E end
-- First index in [from, n) whose time is > x, or n; entries before from must be <= x.
local function upper(b, from, n, x)
  if from >= n or sunpack('<d', b, HDR + (n - 1) * E + 1) <= x then return n end
  if sunpack('<d', b, HDR + from * E + 1) > x then return from end
  local lo, hi = from + 1, n - 1
  while lo < hi do
    local mid = floor((lo + hi) / 2)
    if sunpack('<d', b, HDR + mid * E + 1) <= x then lo = mid + 1 else hi = mid end
  end
  return lo
end
-- Index of the entry with time t and fingerprint fp among those before p (p = upper(t)), or -1.
local function find(b, p, t, fp)
  for j = p - 1, 0, -1 do
    local tj, _, fj = sunpack('<ddd', b, HDR + j * E + 1)
    if tj ~= t then return -1 end
    if fj == fp then return j end
  end
  return -1
end
-- Window indices from the longest to the shortest: each lower bound is searched from the last.
local function byLength(lengths)
  local order = {}
  for w = 1, #lengths do order[w] = w end
  table.sort(order, function(x, y) return lengths[x] > lengths[y] end)
  return order
end
`;

/**
 * Updates and reads the windows of one group of tasks (all on one server, or on a cluster all
 * keys of one hash tag), in order. Each task is one event's card part or terminal part.
 *
 * ARGV: useWatermarkKey, Hc, Ht, D, nCardWindows, nTerminalWindows, the card windows (ms), the
 * terminal windows (ms), nTasks, then 6 values per task: kind (c/t), index of its key, key
 * fingerprint, time, amount (cards), the watermark W after this event as seen by the client.
 * KEYS: [watermark key,] then one key per card and per terminal (layout above).
 * Returns { the outputs in task order as little-endian doubles (2 per window: count and amount
 * sum for a card, count and frauds for a terminal), W after the call ('' without the key) }:
 * packed numbers spare formatting and parsing them as text on both sides.
 *
 * Per event: an append (or, out of order, a splice) and one binary search per window bound, the
 * longest window first so each shorter one searches only what is left; per call one MGET of every
 * key, and per key one SET (with the key's TTL) or DEL. Expired entries are never counted (every lower bound
 * is at least the horizon) and are cut when the key is written. A card's running sums keep
 * growing as entries are cut (the header holds the sum before the first entry) and are rebased
 * to zero once that passes 1e6, which keeps a window's sum exact to about 1e-10.
 */
export const WINDOW_SCRIPT = new RedisScript(`${FMT}${BLOB}
local useWm = ARGV[1] == '1'
local Hc, Ht, D = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local nc, nt = tonumber(ARGV[5]), tonumber(ARGV[6])
local cw, tw = {}, {}
for i = 1, nc do cw[i] = tonumber(ARGV[6 + i]) end
for i = 1, nt do tw[i] = tonumber(ARGV[6 + nc + i]) end
local cOrder, tOrder = byLength(cw), byLength(tw)
local base = 7 + nc + nt
local n = tonumber(ARGV[base])
local W0 = NONE
if useWm then W0 = tonumber(redis.call('GET', KEYS[1]) or NONE) end
local Wf = W0
local out = {}
local no = 0
-- Per touched key: its value as it stands in this call, its header, whether it is a card and
-- whether it existed before the call.
local blobs, heads, isCard, existed = {}, {}, {}, {}
local lows, nfraud = {}, {}
local EMPTY = spack('<d', 0)
-- Every key's value with one MGET (in chunks: unpack() is limited by the Lua stack) rather than
-- one GET per key: each redis.call has a fixed cost that outweighs reading a short string.
local first = useWm and 2 or 1
for c = first, #KEYS, 2000 do
  local last = math.min(c + 1999, #KEYS)
  local values = redis.call('MGET', unpack(KEYS, c, last))
  for k = c, last do
    local b = values[k - c + 1]
    existed[k] = b and true or false
    if not b then b = EMPTY end
    blobs[k] = b
    heads[k] = header(b)
  end
end
for i = 1, n do
  local a = base + (i - 1) * 6
  local kind, k, fp, t = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local W = tonumber(ARGV[a + 6])
  if W0 > W then W = W0 end
  if W > Wf then Wf = W end
  local b = blobs[k]
  local m = entries(b)
  if kind == 'c' then
    isCard[k] = true
    local amount = tonumber(ARGV[a + 5])
    local horizon = W - Hc
    if t <= horizon then
      -- Too old to keep: counted in its own windows only.
      for w = 1, nc do
        out[no + 1] = 1
        out[no + 2] = amount
        no = no + 2
      end
    else
      local p = upper(b, 0, m, t)
      local hi = p
      if find(b, p, t, fp) < 0 then
        local before = p == 0 and heads[k] or secondAt(b, p - 1)
        local entry = spack('<ddd', t, before + amount, fp)
        if p == m then
          b = b .. entry
        else
          -- Out of order: later entries' running sums include the new amount.
          local parts = { ssub(b, 1, HDR + p * E), entry }
          for j = p, m - 1 do
            local tj, cj, fj = sunpack('<ddd', b, HDR + j * E + 1)
            parts[#parts + 1] = spack('<ddd', tj, cj + amount, fj)
          end
          b = table.concat(parts)
        end
        m = m + 1
        hi = p + 1
      end
      local top = secondAt(b, hi - 1)
      local lo = 0
      for x = 1, nc do
        local w = cOrder[x]
        local y = t - cw[w]
        if horizon > y then y = horizon end
        lo = upper(b, lo, hi, y)
        out[no + 2 * w - 1] = hi - lo
        out[no + 2 * w] = top - (lo == 0 and heads[k] or secondAt(b, lo - 1))
      end
      no = no + 2 * nc
    end
  else
    local horizon = W - Ht
    if t > horizon then
      local p = upper(b, 0, m, t)
      if find(b, p, t, fp) < 0 then
        local entry = spack('<ddd', t, NOLABEL, fp)
        if p == m then
          b = b .. entry
        else
          b = ssub(b, 1, HDR + p * E) .. entry .. ssub(b, HDR + p * E + 1)
        end
        m = m + 1
      end
    end
    local e = t - D
    local hi = upper(b, 0, m, e)
    local lo = 0
    for x = 1, nt do
      local w = tOrder[x]
      local y = e - tw[w]
      if horizon > y then y = horizon end
      lo = upper(b, lo, hi, y)
      lows[w] = lo
      nfraud[w] = 0
    end
    if heads[k] > 0 then
      for j = lows[tOrder[1]], hi - 1 do
        if secondAt(b, j) <= t then
          for w = 1, nt do if j >= lows[w] then nfraud[w] = nfraud[w] + 1 end end
        end
      end
    end
    for w = 1, nt do
      out[no + 1] = hi - lows[w]
      out[no + 2] = nfraud[w]
      no = no + 2
    end
  end
  blobs[k] = b
end
for k, b in pairs(blobs) do
  local m = entries(b)
  local card = isCard[k]
  local H = card and Hc or Ht
  local cut = upper(b, 0, m, Wf - H)
  if cut > 0 then
    local head = heads[k]
    if card then
      head = secondAt(b, cut - 1)
    elseif head > 0 then
      for j = 0, cut - 1 do if secondAt(b, j) ~= NOLABEL then head = head - 1 end end
    end
    b = spack('<d', head) .. ssub(b, HDR + cut * E + 1)
    m = m - cut
  end
  if card and m > 0 and math.abs(header(b)) > 1e6 then
    local rebase = header(b)
    local parts = { EMPTY }
    for j = 0, m - 1 do
      local tj, cj, fj = sunpack('<ddd', b, HDR + j * E + 1)
      parts[j + 2] = spack('<ddd', tj, cj - rebase, fj)
    end
    b = table.concat(parts)
  end
  if m > 0 then
    redis.call('SET', KEYS[k], b, 'PX', math.ceil(H))
  elseif existed[k] then
    redis.call('DEL', KEYS[k])
  end
end
-- Packed in chunks: unpack() is limited by the Lua stack.
local packed = {}
for i = 1, no, 4000 do
  local j = math.min(i + 3999, no)
  packed[#packed + 1] = spack('<' .. string.rep('d', j - i + 1), unpack(out, i, j))
end
local wText = ''
if useWm then
  if Wf > W0 then redis.call('SET', KEYS[1], fmt(Wf)) end
  wText = fmt(Wf)
end
return { table.concat(packed), wText }
`);

/**
 * Applies feedback to the terminals of one group. ARGV: useWatermarkKey, Ht, the client's W,
 * nItems, then 5 values per item: index of the terminal's key, key fingerprint, time, label,
 * label time. KEYS as in {@link WINDOW_SCRIPT}. A fraud label sets the entry's label time (unless
 * it has one: a repeated label changes nothing), a genuine label clears it (a correction); each
 * changed terminal is written once, keeping its TTL.
 */
export const FEEDBACK_SCRIPT = new RedisScript(`${FMT}${BLOB}
local Ht = tonumber(ARGV[2])
local W = tonumber(ARGV[3])
if ARGV[1] == '1' then
  local stored = tonumber(redis.call('GET', KEYS[1]) or NONE)
  if stored > W then W = stored end
end
local n = tonumber(ARGV[4])
local blobs, dirty = {}, {}
for i = 1, n do
  local a = 4 + (i - 1) * 5
  local k, fp, t, label, at = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), ARGV[a + 4], tonumber(ARGV[a + 5])
  if t > W - Ht then
    local b = blobs[k]
    if b == nil then
      b = redis.call('GET', KEYS[k]) or false
      blobs[k] = b
    end
    if b then
      local m = entries(b)
      local j = find(b, upper(b, 0, m, t), t, fp)
      if j >= 0 then
        local off = HDR + j * E + 8
        local known = secondAt(b, j)
        local frauds = header(b)
        local now = known
        if label == '1' then
          if known == NOLABEL then now = at; frauds = frauds + 1 end
        elseif known ~= NOLABEL then
          now = NOLABEL
          frauds = frauds - 1
        end
        if now ~= known then
          b = struct.pack('<d', frauds) .. string.sub(b, HDR + 1, off) .. struct.pack('<d', now) .. string.sub(b, off + 9)
          blobs[k] = b
          dirty[k] = true
        end
      end
    end
  end
end
for k in pairs(dirty) do redis.call('SET', KEYS[k], blobs[k], 'KEEPTTL') end
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

/// Aerospike's Lua environment for record UDFs, written in Lua and run once in every state
/// before any module: the `list`, `map` and `bytes` types, the `record` functions, the
/// `aerospike` object (create, update, exists, remove), logging, and the entry points Cairn
/// calls (`__cairn_load`, `__cairn_record`, `__cairn_apply`). Semantics follow Aerospike's
/// mod-lua and CE's udf_record/udf_aerospike (bin changes are cached and become the record's
/// only at aerospike:create/update; a name over 15 bytes is ignored); the code is Cairn's own.
enum LuaPrelude {
    static let source = #"""
local rawget, rawset, setmetatable, getmetatable, type, select, tostring, pairs, ipairs, error, next =
      rawget, rawset, setmetatable, getmetatable, type, select, tostring, pairs, ipairs, error, next
local mtype, sformat, concat, sort = math.type, string.format, table.concat, table.sort
local load = load

-- What a UDF may not do inside the server: end or fork the process, touch files, load native
-- code or binary chunks.
os.exit, os.execute, os.remove, os.rename, os.tmpname, os.setlocale, os.getenv = nil, nil, nil, nil, nil, nil, nil
io, dofile, loadfile = nil, nil, nil
package.loadlib, package.cpath, package.path = nil, "", ""
package.searchers = {package.searchers[1]}
_G.load = function(chunk, name, mode, env) return load(chunk, name, "t", env) end

local ListMT, MapMT, BytesMT, RecordMT = {}, {}, {}, {}
__cairn_list_mt, __cairn_map_mt, __cairn_bytes_mt, __cairn_record_mt = ListMT, MapMT, BytesMT, RecordMT
__cairn_log = {}

local function kind(v)
  local mt = getmetatable(v)
  if mt == ListMT then return "list" elseif mt == MapMT then return "map"
  elseif mt == BytesMT then return "bytes" elseif mt == RecordMT then return "record" end
  return type(v)
end

-- Aerospike's as_val tostring: strings quoted inside collections, nil as NIL.
local function valstring(v, nested)
  local k = kind(v)
  if v == nil then return "NIL"
  elseif k == "string" then if nested then return '"' .. v .. '"' end return v
  elseif k == "number" then
    if mtype(v) == "integer" then return sformat("%d", v) end
    return sformat("%.16g", v)
  elseif k == "boolean" then return v and "true" or "false"
  elseif k == "list" or k == "map" or k == "bytes" then return tostring(v) end
  return tostring(v)
end

-- list ----------------------------------------------------------------------------------
local function newlist(items, n, flags)
  return setmetatable({_v = items or {}, _n = n or 0, _f = flags or 0}, ListMT)
end
local function checklist(l, fn)
  if getmetatable(l) ~= ListMT then error("bad argument #1 to 'list." .. fn .. "' (list expected)", 3) end
  return l
end
list = setmetatable({}, {__call = function(_, t, ...)
  if t == nil then return newlist({}, 0) end
  if type(t) ~= "table" then error("bad argument #1 to 'list' (table expected)", 2) end
  local items, n = {}, 0
  for i, v in ipairs(t) do items[i] = v; n = i end
  return newlist(items, n)
end})
function list.create(capacity) return newlist({}, 0) end
function list.size(l) return checklist(l, "size")._n end
function list.append(l, v) checklist(l, "append"); l._n = l._n + 1; l._v[l._n] = v; return l end
function list.prepend(l, v)
  checklist(l, "prepend")
  for i = l._n, 1, -1 do l._v[i + 1] = l._v[i] end
  l._v[1] = v; l._n = l._n + 1; return l
end
function list.get(l, i) checklist(l, "get"); return l._v[i] end
function list.set(l, i, v)
  checklist(l, "set")
  if mtype(i) ~= "integer" or i < 1 then return end
  for j = l._n + 1, i - 1 do l._v[j] = nil end
  l._v[i] = v
  if i > l._n then l._n = i end
end
function list.insert(l, i, v)
  checklist(l, "insert")
  if mtype(i) ~= "integer" or i < 1 then return end
  if i > l._n then list.set(l, i, v); return end
  for j = l._n, i, -1 do l._v[j + 1] = l._v[j] end
  l._v[i] = v; l._n = l._n + 1
end
function list.remove(l, i)
  checklist(l, "remove")
  if mtype(i) ~= "integer" or i < 1 or i > l._n then return end
  for j = i, l._n - 1 do l._v[j] = l._v[j + 1] end
  l._v[l._n] = nil; l._n = l._n - 1
end
local function slice(l, from, to)
  local items, n = {}, 0
  for i = from, to do n = n + 1; items[n] = l._v[i] end
  return newlist(items, n)
end
function list.take(l, n) checklist(l, "take"); return slice(l, 1, math.min(n, l._n)) end
function list.drop(l, n) checklist(l, "drop"); return slice(l, n + 1, l._n) end
function list.trim(l, n)
  checklist(l, "trim")
  for i = n, l._n do l._v[i] = nil end
  if n - 1 < l._n then l._n = math.max(n - 1, 0) end
  return l
end
function list.clone(l) checklist(l, "clone"); return slice(l, 1, l._n) end
function list.concat(a, b)
  checklist(a, "concat"); checklist(b, "concat")
  for i = 1, b._n do a._n = a._n + 1; a._v[a._n] = b._v[i] end
  return a
end
function list.merge(a, b)
  checklist(a, "merge"); checklist(b, "merge")
  local m = list.clone(a)
  return list.concat(m, b)
end
function list.iterator(l)
  checklist(l, "iterator")
  local i = 0
  return function() i = i + 1; if i <= l._n then return l._v[i] end end
end
function list.sort(l, f)
  checklist(l, "sort")
  local items = {}
  for i = 1, l._n do items[i] = l._v[i] end
  sort(items, f); l._v = items
end
ListMT.__index = function(l, k) if mtype(k) == "integer" then return rawget(l, "_v")[k] end end
ListMT.__newindex = function(l, k, v) if mtype(k) == "integer" then list.set(l, k, v) end end
ListMT.__len = function(l) return rawget(l, "_n") end
ListMT.__tostring = function(l)
  local parts = {}
  for i = 1, l._n do parts[i] = valstring(l._v[i], true) end
  return "[" .. concat(parts, ", ") .. "]"
end
ListMT.__pairs = function(l)
  local i = 0
  return function() i = i + 1; if i <= l._n then return i, l._v[i] end end, l, nil
end
ListMT.__ipairs = ListMT.__pairs

-- map -----------------------------------------------------------------------------------
local function keyid(k)
  local t = type(k)
  if t == "string" then return "s" .. k end
  if t == "number" then
    if mtype(k) == "integer" then return k end
    return "f" .. sformat("%a", k)
  end
  if t == "boolean" then return k and "btrue" or "bfalse" end
  return k
end
local function newmap() return setmetatable({__cairn_k = {}, __cairn_v = {}, __cairn_o = {}, __cairn_n = 0, __cairn_f = 0}, MapMT) end
local function checkmap(m, fn)
  if getmetatable(m) ~= MapMT then error("bad argument #1 to 'map." .. fn .. "' (map expected)", 3) end
  return m
end
local function mapset(m, k, v)
  if k == nil then return end
  local id = keyid(k)
  if v == nil then
    if m.__cairn_k[id] ~= nil then
      m.__cairn_k[id] = nil; m.__cairn_v[id] = nil; m.__cairn_n = m.__cairn_n - 1
      for i, o in ipairs(m.__cairn_o) do if o == id then table.remove(m.__cairn_o, i); break end end
    end
    return
  end
  if m.__cairn_k[id] == nil then m.__cairn_n = m.__cairn_n + 1; m.__cairn_o[#m.__cairn_o + 1] = id end
  m.__cairn_k[id] = k; m.__cairn_v[id] = v
end
__cairn_mapset = mapset
__cairn_newmap = newmap
map = setmetatable({}, {__call = function(_, t)
  local m = newmap()
  if t ~= nil then
    if type(t) ~= "table" then error("bad argument #1 to 'map' (table expected)", 2) end
    for k, v in next, t do mapset(m, k, v) end
  end
  return m
end})
function map.create(capacity) return newmap() end
function map.size(m) return checkmap(m, "size").__cairn_n end
function map.pairs(m)
  checkmap(m, "pairs")
  local i = 0
  return function()
    i = i + 1
    local id = m.__cairn_o[i]
    if id ~= nil then return m.__cairn_k[id], m.__cairn_v[id] end
  end
end
map.iterator = map.pairs
function map.keys(m)
  checkmap(m, "keys")
  local i = 0
  return function() i = i + 1; local id = m.__cairn_o[i]; if id ~= nil then return m.__cairn_k[id] end end
end
function map.values(m)
  checkmap(m, "values")
  local i = 0
  return function() i = i + 1; local id = m.__cairn_o[i]; if id ~= nil then return m.__cairn_v[id] end end
end
function map.remove(m, k) checkmap(m, "remove"); mapset(m, k, nil) end
function map.clone(m)
  checkmap(m, "clone")
  local c = newmap()
  for _, id in ipairs(m.__cairn_o) do mapset(c, m.__cairn_k[id], m.__cairn_v[id]) end
  return c
end
function map.merge(a, b, f)
  checkmap(a, "merge"); checkmap(b, "merge")
  local c = map.clone(a)
  for _, id in ipairs(b.__cairn_o) do
    local k, v = b.__cairn_k[id], b.__cairn_v[id]
    local old = c.__cairn_v[id]
    if old ~= nil and f ~= nil then v = f(old, v) end
    mapset(c, k, v)
  end
  return c
end
function map.diff(a, b)
  checkmap(a, "diff"); checkmap(b, "diff")
  local c = newmap()
  for _, id in ipairs(a.__cairn_o) do if b.__cairn_k[id] == nil then mapset(c, a.__cairn_k[id], a.__cairn_v[id]) end end
  for _, id in ipairs(b.__cairn_o) do if a.__cairn_k[id] == nil then mapset(c, b.__cairn_k[id], b.__cairn_v[id]) end end
  return c
end
function map.has_key(m, k) checkmap(m, "has_key"); return m.__cairn_k[keyid(k)] ~= nil end
MapMT.__index = function(m, k) if k == nil then return nil end return rawget(m, "__cairn_v")[keyid(k)] end
MapMT.__newindex = function(m, k, v) mapset(m, k, v) end
MapMT.__len = function(m) return rawget(m, "__cairn_n") end
MapMT.__tostring = function(m)
  local parts = {}
  for i, id in ipairs(m.__cairn_o) do parts[i] = valstring(m.__cairn_k[id], true) .. ":" .. valstring(m.__cairn_v[id], true) end
  return "{" .. concat(parts, ", ") .. "}"
end
MapMT.__pairs = function(m) return map.pairs(m), m, nil end

-- bytes ---------------------------------------------------------------------------------
local function newbytes(s, t) return setmetatable({_s = s or "", _t = t or 4}, BytesMT) end
bytes = setmetatable({}, {__call = function(_, n)
  return newbytes(string.rep("\0", math.max(0, mtype(n) == "integer" and n or 0)), 4)
end})
function bytes.size(b) return #b._s end
function bytes.get_type(b) return b._t end
function bytes.set_type(b, t) b._t = t; return true end
function bytes.get_string(b, i, n) return b._s:sub(i, i + n - 1) end
function bytes.get_byte(b, i) return b._s:byte(i) end
function bytes.set_byte(b, i, v)
  if i < 1 or i > #b._s then return false end
  b._s = b._s:sub(1, i - 1) .. string.char(v & 0xFF) .. b._s:sub(i + 1); return true
end
function bytes.append_string(b, s) b._s = b._s .. s; return true end
function bytes.append_bytes(b, o, n) b._s = b._s .. o._s:sub(1, n or #o._s); return true end
function bytes.set_string(b, i, s)
  local pad = math.max(0, i - 1 - #b._s)
  b._s = b._s .. string.rep("\0", pad)
  b._s = b._s:sub(1, i - 1) .. s .. b._s:sub(i + #s); return true
end
BytesMT.__len = function(b) return #rawget(b, "_s") end
BytesMT.__index = function(b, i) if mtype(i) == "integer" then return rawget(b, "_s"):byte(i) end end
BytesMT.__newindex = function(b, i, v) if mtype(i) == "integer" then bytes.set_byte(b, i, v) end end
BytesMT.__tostring = function(b)
  local s = rawget(b, "_s")
  return "Bytes(" .. #s .. ")"
end
__cairn_newbytes = newbytes

-- record --------------------------------------------------------------------------------
local states = setmetatable({}, {__mode = "k"})
local function state(r)
  local s = states[r]
  if s == nil then error("bad argument #1 (record expected)", 3) end
  return s
end
local function clone(v)
  local k = kind(v)
  if k == "list" then
    local items = {}
    for i = 1, v._n do items[i] = clone(v._v[i]) end
    return newlist(items, v._n, v._f)
  elseif k == "map" then
    local c = newmap()
    c.__cairn_f = v.__cairn_f
    for _, id in ipairs(v.__cairn_o) do mapset(c, clone(v.__cairn_k[id]), clone(v.__cairn_v[id])) end
    return c
  elseif k == "bytes" then return newbytes(v._s, v._t) end
  return v
end
RecordMT.__index = function(r, name)
  local s = states[r]
  return s.bins[name]
end
RecordMT.__newindex = function(r, name, v)
  local s = states[r]
  if type(name) ~= "string" or #name == 0 or #name > 15 then return end
  local k = kind(v)
  if v ~= nil and k ~= "string" and k ~= "number" and k ~= "boolean" and k ~= "list" and k ~= "map" and k ~= "bytes" then
    s.badtype = true
    return
  end
  if s.bins[name] == nil and v ~= nil then
    local seen = false
    for _, n in ipairs(s.names) do if n == name then seen = true; break end end
    if not seen then s.names[#s.names + 1] = name end
  end
  s.bins[name] = v
end
RecordMT.__tostring = function(r) return "Record()" end

-- A record returned from a UDF (or emitted by a stream) is sent as a map of its bins.
function __cairn_record_bins(r)
  local s, m = states[r], newmap()
  if s == nil then return m end
  for _, name in ipairs(s.names) do
    local v = s.bins[name]
    if v ~= nil then mapset(m, name, v) end
  end
  return m
end
RecordMT.__len = function(r) return record.numbins(r) end

-- Makes the record a UDF receives: `exists`, its bins (a table name -> value and the names in
-- stored order) and metadata.
function __cairn_record(exists, bins, names, meta)
  local r = setmetatable({}, RecordMT)
  local s = {exists = exists, bins = bins, names = names, meta = meta, updated = false, committed = nil,
             ttl = nil, failcode = nil, id = meta.id}
  states[r] = s
  return r, s
end

local function commit(s)
  if s.badtype then s.failcode = 12; return -1 end
  local names, bins, count = {}, {}, 0
  for _, n in ipairs(s.names) do
    local v = s.bins[n]
    if v ~= nil then count = count + 1; names[count] = n; bins[n] = clone(v) end
  end
  local kept = {}
  for i, n in ipairs(names) do kept[i] = n end
  s.names = names
  s.committed = {names = kept, bins = bins}
  s.updated = true
  return 0
end

record = {}
function record.ttl(r)
  local m = state(r).meta
  if m.void_time == 0 or not state(r).exists then return 0 end
  local left = m.void_time - m.now
  return left > 0 and left or 0
end
function record.void_time(r) return state(r).meta.void_time end
function record.gen(r) local s = state(r); return s.exists and s.meta.generation or 0 end
function record.last_update_time(r) return state(r).meta.last_update_time end
function record.key(r) return state(r).meta.key end
function record.digest(r) local d = state(r).meta.digest; return d and newbytes(d, 4) or nil end
function record.setname(r) return state(r).meta.set end
function record.set_ttl(r, ttl) state(r).ttl = ttl; return 0 end
function record.drop_key(r) return 0 end
function record.set_type(r, t) return 0 end
function record.numbins(r)
  local s, n = state(r), 0
  for _, name in ipairs(s.names) do if s.bins[name] ~= nil then n = n + 1 end end
  return n
end
function record.bin_names(r)
  local s, l = state(r), newlist({}, 0)
  for _, name in ipairs(s.names) do if s.bins[name] ~= nil then list.append(l, name) end end
  return l
end
function record.device_size(r) return state(r).meta.size or 0 end
record.memory_size = record.device_size

-- aerospike -----------------------------------------------------------------------------
aerospike = {}
function aerospike:create(r)
  local s = state(r)
  if s.exists then return 1 end
  s.exists = true
  return commit(s)
end
function aerospike:update(r)
  local s = state(r)
  if not s.exists then return -2 end
  return commit(s)
end
function aerospike:exists(r) return state(r).exists end
function aerospike:remove(r)
  local s = state(r)
  if not s.exists then return 1 end
  for _, n in ipairs(s.names) do s.bins[n] = nil end
  local rv = commit(s)
  s.removed = true
  return rv
end
function aerospike:get_current_time() return os.time() * 1000 end
function aerospike:log(level, message)
  local log = __cairn_log
  if #log < 200 then log[#log + 1] = level; log[#log + 1] = tostring(message) end
  return 0
end

-- Aerospike's levels: 1 warning, 2 info, 3 debug, 4 trace; the message is string.format's
-- (a bad format is the UDF's error, as on Aerospike).
local function logger(level)
  return function(m, ...) return aerospike:log(level, sformat(m, ...)) end
end
warn, info, debug, trace = logger(1), logger(2), logger(3), logger(4)

-- modules -------------------------------------------------------------------------------
local modules = {}
__cairn_modules = modules
function __cairn_load(name, source, chunkname)
  local env = setmetatable({}, {__index = _G})
  local f, err = load(source, chunkname, "t", env)
  if f == nil then error(err, 0) end
  f()
  modules[name] = env
end
-- streams (aggregation queries) ------------------------------------------------------------
-- A stream function builds a pipeline (map, filter, aggregate, reduce); the server runs it up to
-- and including its first reduce, and the client runs the rest (that reduce again, to merge the
-- nodes' results), as Aerospike's stream_ops do.
local StreamMT = {}
StreamMT.__index = StreamMT
local function addop(s, op) s.ops[#s.ops + 1] = op; return s end
function StreamMT:map(f) return addop(self, {kind = "map", f = f}) end
function StreamMT:filter(f) return addop(self, {kind = "filter", f = f}) end
function StreamMT:aggregate(init, f) return addop(self, {kind = "aggregate", init = init, f = f}) end
function StreamMT:reduce(f) return addop(self, {kind = "reduce", f = f}) end
function StreamMT:groupby(f) return addop(self, {kind = "groupby", f = f}) end

local agg = nil
local function push(i, v)
  local ops = agg.ops
  while i <= #ops do
    local op = ops[i]
    if op.kind == "map" then
      v = op.f(v)
    elseif op.kind == "filter" then
      if not op.f(v) then return end
    elseif op.kind == "aggregate" then
      local cur = agg.acc[i]
      if cur == nil then cur = clone(op.init) end
      agg.acc[i] = op.f(cur, v)
      return
    elseif op.kind == "reduce" then
      local cur = agg.acc[i]
      if cur == nil then agg.acc[i] = v else agg.acc[i] = op.f(cur, v) end
      return
    elseif op.kind == "groupby" then
      local cur = agg.acc[i] or map()
      local key = op.f(v)
      local group = cur[key] or list()
      list.append(group, v)
      cur[key] = group
      agg.acc[i] = cur
      return
    end
    i = i + 1
  end
  if v ~= nil then agg.out[#agg.out + 1] = v end
end
function __cairn_stream_begin(module, fname, ...)
  local env = modules[module]
  if env == nil then error("module not found", 0) end
  local f = rawget(env, fname)
  if type(f) ~= "function" then error("function not found", 0) end
  local s = setmetatable({ops = {}}, StreamMT)
  f(s, ...)
  local server = {}
  for _, op in ipairs(s.ops) do
    server[#server + 1] = op
    if op.kind == "reduce" then break end
  end
  agg = {ops = server, acc = {}, out = {}}
end
function __cairn_stream_feed(r) push(1, r) end
function __cairn_stream_end()
  for i = 1, #agg.ops do
    local v = agg.acc[i]
    if v ~= nil then agg.acc[i] = nil; push(i + 1, v) end
  end
  local out = newlist({}, 0)
  for _, v in ipairs(agg.out) do list.append(out, v) end
  agg = nil
  return out
end

function __cairn_apply(module, fname, r, ...)
  local env = modules[module]
  if env == nil then error("module not found", 0) end
  local f = rawget(env, fname)
  if type(f) ~= "function" then error("function not found", 0) end
  return f(r, ...)
end
"""#
}

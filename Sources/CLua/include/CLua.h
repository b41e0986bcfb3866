// C shim over Lua 5.4 (Debian's liblua5.4-dev): the only place that includes Lua's headers.
// Lua's API is partly macros, which Swift cannot call; these functions forward to them. Every
// call that can raise a Lua error is made only through cairn_lua_pcall / cairn_lua_load*, so a
// bad script never longjmps across Swift frames.
#ifndef CAIRN_LUA_H
#define CAIRN_LUA_H

#include <stddef.h>
#include <stdint.h>

typedef struct lua_State lua_State;

#define CAIRN_LUA_TNIL 0
#define CAIRN_LUA_TBOOLEAN 1
#define CAIRN_LUA_TNUMBER 3
#define CAIRN_LUA_TSTRING 4
#define CAIRN_LUA_TTABLE 5

/// A new state with the standard libraries, or NULL (out of memory).
lua_State *cairn_lua_new(void);
void cairn_lua_close(lua_State *L);
/// While non-zero, the state's memory may not grow past `limit` bytes (an allocation that would
/// is refused and Lua raises a memory error). Set only around protected calls.
void cairn_lua_set_memory_limit(lua_State *L, size_t limit);
/// Bytes the state holds now.
size_t cairn_lua_memory_used(lua_State *L);

/// Compiles `size` bytes named `name` (chunk name as given) and leaves the function on the
/// stack: 0, or a Lua status with the message on the stack.
int cairn_lua_load(lua_State *L, const char *bytes, size_t size, const char *name);
/// Calls the function below `nargs` arguments in protected mode: 0, or a status with the error
/// message (with a traceback-free text) on the stack.
int cairn_lua_pcall(lua_State *L, int nargs, int nresults);

/// An instruction-count hook that raises "timeout" once `deadline_ns` (CLOCK_MONOTONIC) has
/// passed; 0 removes it. Checked every `every` instructions.
void cairn_lua_set_deadline(lua_State *L, uint64_t deadline_ns, int every);
uint64_t cairn_lua_now_ns(void);

int cairn_lua_gettop(lua_State *L);
void cairn_lua_settop(lua_State *L, int index);
void cairn_lua_pop(lua_State *L, int n);
void cairn_lua_pushvalue(lua_State *L, int index);
int cairn_lua_type(lua_State *L, int index);
int cairn_lua_isinteger(lua_State *L, int index);
int64_t cairn_lua_tointeger(lua_State *L, int index);
double cairn_lua_tonumber(lua_State *L, int index);
int cairn_lua_toboolean(lua_State *L, int index);
/// The string at `index` (a string value only: numbers are not converted), or NULL.
const char *cairn_lua_tostring(lua_State *L, int index, size_t *length);
void cairn_lua_pushnil(lua_State *L);
void cairn_lua_pushinteger(lua_State *L, int64_t value);
void cairn_lua_pushnumber(lua_State *L, double value);
void cairn_lua_pushboolean(lua_State *L, int value);
void cairn_lua_pushbytes(lua_State *L, const char *bytes, size_t length);
void cairn_lua_newtable(lua_State *L, int narr, int nrec);
/// t[i] = top (pops), t at `index`.
void cairn_lua_rawseti(lua_State *L, int index, int64_t i);
/// pushes t[i].
int cairn_lua_rawgeti(lua_State *L, int index, int64_t i);
/// pushes global `name`.
int cairn_lua_getglobal(lua_State *L, const char *name);
void cairn_lua_setglobal(lua_State *L, const char *name);
/// pushes t[name] for the table at `index` (raw).
int cairn_lua_rawgetfield(lua_State *L, int index, const char *name);
/// t[key] = value: key below value on the top; pops both (raw).
void cairn_lua_rawset(lua_State *L, int index);
/// The raw length of a table.
int64_t cairn_lua_rawlen(lua_State *L, int index);
/// Table iteration: pushes the next key and value after the key on the top (which it pops);
/// 0 at the end.
int cairn_lua_next(lua_State *L, int index);
int cairn_lua_absindex(lua_State *L, int index);
/// Whether the stack can grow by `n` slots.
int cairn_lua_checkstack(lua_State *L, int n);
/// Runs a full garbage collection.
void cairn_lua_gc(lua_State *L);

/// Sets the table on the top as the metatable of the value at `index` (pops it).
void cairn_lua_setmetatable(lua_State *L, int index);
/// Which of the prelude's types the value at `index` is, by its metatable (the globals
/// __cairn_list_mt, __cairn_map_mt, __cairn_bytes_mt, __cairn_record_mt): 1 list, 2 map, 3 bytes,
/// 4 record, 0 anything else.
int cairn_lua_kind(lua_State *L, int index);
/// Replaces the key on the top with t[key] (raw) for the table at `index`; returns its type.
int cairn_lua_rawget_top(lua_State *L, int index);

#endif

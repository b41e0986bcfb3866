#include "CLua.h"

#include <lua5.4/lauxlib.h>
#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The allocator of a state: counts its bytes and, while a limit is set, refuses to grow past it
   (Lua then raises a memory error, caught by the pcall that runs the UDF). */
typedef struct {
    size_t used;
    size_t limit; /* 0: none */
} cairn_lua_memory;

static void *cairn_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    cairn_lua_memory *memory = (cairn_lua_memory *)ud;
    size_t old = ptr != NULL ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        memory->used -= old;
        return NULL;
    }
    if (memory->limit != 0 && nsize > old && memory->used + (nsize - old) > memory->limit) return NULL;
    void *grown = realloc(ptr, nsize);
    if (grown != NULL) memory->used = memory->used - old + nsize;
    return grown;
}

static int cairn_lua_panic(lua_State *L) {
    /* An error outside any protected call: a bug in the shim's callers. Say so before abort. */
    const char *message = lua_tostring(L, -1);
    fprintf(stderr, "cairnd: unprotected Lua error: %s\n", message != NULL ? message : "(no message)");
    return 0;
}

lua_State *cairn_lua_new(void) {
    cairn_lua_memory *memory = calloc(1, sizeof(cairn_lua_memory));
    if (memory == NULL) return NULL;
    lua_State *L = lua_newstate(cairn_lua_alloc, memory);
    if (L == NULL) {
        free(memory);
        return NULL;
    }
    lua_atpanic(L, cairn_lua_panic);
    luaL_openlibs(L);
    return L;
}

void cairn_lua_close(lua_State *L) {
    void *memory = NULL;
    lua_getallocf(L, &memory);
    lua_close(L);
    free(memory);
}

void cairn_lua_set_memory_limit(lua_State *L, size_t limit) {
    void *memory = NULL;
    lua_getallocf(L, &memory);
    ((cairn_lua_memory *)memory)->limit = limit;
}

size_t cairn_lua_memory_used(lua_State *L) {
    void *memory = NULL;
    lua_getallocf(L, &memory);
    return ((cairn_lua_memory *)memory)->used;
}

int cairn_lua_load(lua_State *L, const char *bytes, size_t size, const char *name) {
    return luaL_loadbufferx(L, bytes, size, name, "t");
}

int cairn_lua_pcall(lua_State *L, int nargs, int nresults) { return lua_pcall(L, nargs, nresults, 0); }

uint64_t cairn_lua_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char deadline_key = 'd';

static void deadline_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &deadline_key);
    uint64_t deadline = (uint64_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (deadline != 0 && cairn_lua_now_ns() > deadline) {
        luaL_error(L, "UDF Execution Timeout");
    }
}

void cairn_lua_set_deadline(lua_State *L, uint64_t deadline_ns, int every) {
    lua_pushinteger(L, (lua_Integer)deadline_ns);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &deadline_key);
    if (deadline_ns == 0) {
        lua_sethook(L, NULL, 0, 0);
    } else {
        lua_sethook(L, deadline_hook, LUA_MASKCOUNT, every);
    }
}

int cairn_lua_gettop(lua_State *L) { return lua_gettop(L); }
void cairn_lua_settop(lua_State *L, int index) { lua_settop(L, index); }
void cairn_lua_pop(lua_State *L, int n) { lua_pop(L, n); }
void cairn_lua_pushvalue(lua_State *L, int index) { lua_pushvalue(L, index); }
int cairn_lua_type(lua_State *L, int index) { return lua_type(L, index); }
int cairn_lua_isinteger(lua_State *L, int index) { return lua_isinteger(L, index); }
int64_t cairn_lua_tointeger(lua_State *L, int index) { return (int64_t)lua_tointegerx(L, index, NULL); }
double cairn_lua_tonumber(lua_State *L, int index) { return (double)lua_tonumberx(L, index, NULL); }
int cairn_lua_toboolean(lua_State *L, int index) { return lua_toboolean(L, index); }

const char *cairn_lua_tostring(lua_State *L, int index, size_t *length) {
    if (lua_type(L, index) != LUA_TSTRING) return NULL;
    return lua_tolstring(L, index, length);
}

void cairn_lua_pushnil(lua_State *L) { lua_pushnil(L); }
void cairn_lua_pushinteger(lua_State *L, int64_t value) { lua_pushinteger(L, (lua_Integer)value); }
void cairn_lua_pushnumber(lua_State *L, double value) { lua_pushnumber(L, (lua_Number)value); }
void cairn_lua_pushboolean(lua_State *L, int value) { lua_pushboolean(L, value); }
void cairn_lua_pushbytes(lua_State *L, const char *bytes, size_t length) { lua_pushlstring(L, bytes, length); }
void cairn_lua_newtable(lua_State *L, int narr, int nrec) { lua_createtable(L, narr, nrec); }
void cairn_lua_rawseti(lua_State *L, int index, int64_t i) { lua_rawseti(L, index, (lua_Integer)i); }
int cairn_lua_rawgeti(lua_State *L, int index, int64_t i) { return lua_rawgeti(L, index, (lua_Integer)i); }
int cairn_lua_getglobal(lua_State *L, const char *name) {
    lua_pushglobaltable(L);
    lua_pushstring(L, name);
    int type = lua_rawget(L, -2);
    lua_remove(L, -2);
    return type;
}
void cairn_lua_setglobal(lua_State *L, const char *name) {
    lua_pushglobaltable(L);
    lua_pushstring(L, name);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_pop(L, 2);
}
int cairn_lua_rawgetfield(lua_State *L, int index, const char *name) {
    index = lua_absindex(L, index);
    lua_pushstring(L, name);
    return lua_rawget(L, index);
}
void cairn_lua_rawset(lua_State *L, int index) { lua_rawset(L, index); }
int64_t cairn_lua_rawlen(lua_State *L, int index) { return (int64_t)lua_rawlen(L, index); }
int cairn_lua_next(lua_State *L, int index) { return lua_next(L, index); }
int cairn_lua_absindex(lua_State *L, int index) { return lua_absindex(L, index); }
int cairn_lua_checkstack(lua_State *L, int n) { return lua_checkstack(L, n); }
void cairn_lua_gc(lua_State *L) { lua_gc(L, LUA_GCCOLLECT, 0); }

void cairn_lua_setmetatable(lua_State *L, int index) { lua_setmetatable(L, index); }

int cairn_lua_kind(lua_State *L, int index) {
    index = lua_absindex(L, index);
    if (!lua_getmetatable(L, index)) return 0;
    static const char *const names[] = {"__cairn_list_mt", "__cairn_map_mt", "__cairn_bytes_mt", "__cairn_record_mt"};
    int kind = 0;
    for (int i = 0; i < 4 && kind == 0; i++) {
        cairn_lua_getglobal(L, names[i]);
        if (lua_rawequal(L, -1, -2)) kind = i + 1;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return kind;
}

int cairn_lua_rawget_top(lua_State *L, int index) { return lua_rawget(L, index); }

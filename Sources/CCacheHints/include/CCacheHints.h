#ifndef CAIRN_CACHE_HINTS_H
#define CAIRN_CACHE_HINTS_H

#include <stdint.h>

/// Cache hints for the index's batched inserts (PrimaryIndex.warmPaths). A prefetch is not a
/// memory access: it cannot fault and races with nothing; it only asks the CPU to bring a line in.

/// Asks for the line of `address` in a state ready to be written (PREFETCHW where the CPU has it).
static inline void cairn_prefetch_for_write(const void *address) { __builtin_prefetch(address, 1, 3); }

/// Asks for the line of `address` for reading.
static inline void cairn_prefetch_for_read(const void *address) { __builtin_prefetch(address, 0, 3); }

/// A relaxed atomic load of the aligned 32-bit word at `address`, for hints read without the
/// lock that guards the word (its writers hold that lock and store whole aligned words).
static inline uint32_t cairn_load_relaxed_u32(const void *address) {
    return __atomic_load_n((const uint32_t *)address, __ATOMIC_RELAXED);
}

/// A relaxed atomic store of `value` to the aligned 32-bit word at `address`.
static inline void cairn_store_relaxed_u32(void *address, uint32_t value) {
    __atomic_store_n((uint32_t *)address, value, __ATOMIC_RELAXED);
}

#endif

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78) with an SSE4.2 path and a portable
// slicing-by-8 fallback. Both compute the same standard CRC (check value of "123456789" is
// 0xE3069283).
#include "CLiburing.h"

#include <pthread.h>
#include <string.h>

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : (c >> 1);
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int t = 1; t < 8; t++) table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xFF];
    }
}

static uint32_t crc_portable_raw(uint32_t c, const uint8_t *p, size_t len) {
    pthread_once(&table_once, build_table);
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        c = table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= c;
        c = table[7][w & 0xFF] ^ table[6][(w >> 8) & 0xFF] ^ table[5][(w >> 16) & 0xFF] ^
            table[4][(w >> 24) & 0xFF] ^ table[3][(w >> 32) & 0xFF] ^ table[2][(w >> 40) & 0xFF] ^
            table[1][(w >> 48) & 0xFF] ^ table[0][(w >> 56) & 0xFF];
        p += 8;
        len -= 8;
    }
    while (len-- > 0) c = table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c;
}

uint32_t cairn_crc32c_portable(uint32_t crc, const void *data, size_t len) {
    return ~crc_portable_raw(~crc, (const uint8_t *)data, len);
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw_raw(uint32_t c, const uint8_t *p, size_t len) {
    uint64_t c64 = c;
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c64 = __builtin_ia32_crc32di(c64, w);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c64;
    while (len-- > 0) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}

static int hw_state = -1;  // -1 unknown, 0 no, 1 yes

int cairn_crc32c_hardware(void) {
    int s = __atomic_load_n(&hw_state, __ATOMIC_RELAXED);
    if (s < 0) {
        __builtin_cpu_init();
        s = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        __atomic_store_n(&hw_state, s, __ATOMIC_RELAXED);
    }
    return s;
}

uint32_t cairn_crc32c(uint32_t crc, const void *data, size_t len) {
    if (cairn_crc32c_hardware()) return ~crc_hw_raw(~crc, (const uint8_t *)data, len);
    return cairn_crc32c_portable(crc, data, len);
}
#else
int cairn_crc32c_hardware(void) { return 0; }
uint32_t cairn_crc32c(uint32_t crc, const void *data, size_t len) { return cairn_crc32c_portable(crc, data, len); }
#endif

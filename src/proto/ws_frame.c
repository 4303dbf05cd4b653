/* SPDX-License-Identifier: MIT */
/*
 * The RFC 6455 §5.2 frame header codec and §5.3 masking. Decoding is
 * stateless: the caller keeps the bytes and calls again with more. Checks
 * that depend on the session (RSV bits, masking by role, continuation
 * order) are left to ws_session.
 */
#include "autoconf.h"

#include "ws_frame.h"

#include <string.h>

#define FRAME_FIN        0x80
#define FRAME_RSV_SHIFT  4
#define FRAME_OPCODE     0x0f
#define FRAME_MASKED     0x80
#define FRAME_LEN7       0x7f
#define FRAME_LEN16      126 /* a 16-bit length follows */
#define FRAME_LEN64      127 /* a 64-bit length follows */
#define FRAME_LEN63_MAX  UINT64_C(0x7fffffffffffffff)
#define FRAME_LEN16_MIN  126
#define FRAME_LEN64_MIN  UINT64_C(0x10000)
#define FRAME_MASK_BYTES 4

/*
 * The masking's vector loops, for one vector type V of 64-bit lanes: four
 * vectors a round, then one at a time; they return how many bytes they
 * did (a multiple of sizeof(V)). GCC's and clang's vector extension turns
 * each XOR into one instruction when V is as wide as the CPU's registers;
 * when it is wider, GCC goes through the stack (64-byte vectors on AVX2
 * ran five times slower than 32-byte ones, and 32-byte ones on SSE2 three
 * times slower than 16-byte ones), so each width gets its own copy.
 */
#define MASK_VECTORS_FN(name, V, attr)                                         \
    attr __attribute__((unused)) static size_t name(                           \
        uint8_t *dst, const uint8_t *src, size_t len, uint64_t key64)          \
    {                                                                          \
        uint64_t lanes[sizeof(V) / sizeof(uint64_t)];                          \
        V kv;                                                                  \
        size_t i = 0;                                                          \
                                                                               \
        for (size_t k = 0; k < sizeof(lanes) / sizeof(lanes[0]); k++) {        \
            lanes[k] = key64;                                                  \
        }                                                                      \
        memcpy(&kv, lanes, sizeof(kv));                                        \
        for (; len - i >= 4 * sizeof(kv); i += 4 * sizeof(kv)) {               \
            V a, b, c, d;                                                      \
                                                                               \
            memcpy(&a, src + i, sizeof(a));                                    \
            memcpy(&b, src + i + sizeof(a), sizeof(b));                        \
            memcpy(&c, src + i + 2 * sizeof(a), sizeof(c));                    \
            memcpy(&d, src + i + 3 * sizeof(a), sizeof(d));                    \
            a ^= kv;                                                           \
            b ^= kv;                                                           \
            c ^= kv;                                                           \
            d ^= kv;                                                           \
            memcpy(dst + i, &a, sizeof(a));                                    \
            memcpy(dst + i + sizeof(a), &b, sizeof(b));                        \
            memcpy(dst + i + 2 * sizeof(a), &c, sizeof(c));                    \
            memcpy(dst + i + 3 * sizeof(a), &d, sizeof(d));                    \
        }                                                                      \
        for (; len - i >= sizeof(kv); i += sizeof(kv)) {                       \
            V a;                                                               \
                                                                               \
            memcpy(&a, src + i, sizeof(a));                                    \
            a ^= kv;                                                           \
            memcpy(dst + i, &a, sizeof(a));                                    \
        }                                                                      \
        return i;                                                              \
    }

/* Two 64-bit lanes: SSE2 on every x86-64, NEON on arm64, words elsewhere. */
typedef uint64_t mask_vec16 __attribute__((vector_size(16)));

MASK_VECTORS_FN(mask_vectors16, mask_vec16, )

/* On x86-64 with GCC there are also copies for AVX2 (32 bytes) and
 * AVX-512 (64 bytes), and the loader picks the one the CPU runs (an
 * ifunc, resolved once at load). Not with clang 14: it emits no symbol
 * for a multiversioned function that other files' calls can link to. */
#if defined(__x86_64__) && defined(__linux__) && !defined(__clang__) &&        \
    __GNUC__ >= 6

typedef uint64_t mask_vec32 __attribute__((vector_size(32)));
typedef uint64_t mask_vec64 __attribute__((vector_size(64)));

MASK_VECTORS_FN(mask_vectors32, mask_vec32, __attribute__((target("avx2"))))
MASK_VECTORS_FN(mask_vectors64, mask_vec64, __attribute__((target("avx512f"))))

/* The unit tests build this file again with WS_FRAME_MASK_VECTORS set
 * to 16 or 32 to run that width's loops whatever the CPU prefers. */
#if !defined(WS_FRAME_MASK_VECTORS)
typedef size_t mask_vectors_fn(uint8_t *dst, const uint8_t *src, size_t len,
                               uint64_t key64);

/* The loader calls this while it relocates, before the sanitizers' run
 * time is set up: AddressSanitizer's checks there would crash. */
__attribute__((no_sanitize_address,
               no_sanitize("undefined"))) static mask_vectors_fn *
mask_vectors_resolve(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? mask_vectors64
           : __builtin_cpu_supports("avx2")  ? mask_vectors32
                                             : mask_vectors16;
}

static size_t mask_vectors(uint8_t *dst, const uint8_t *src, size_t len,
                           uint64_t key64)
    __attribute__((ifunc("mask_vectors_resolve")));
#elif WS_FRAME_MASK_VECTORS == 32
#define mask_vectors mask_vectors32
#else
#define mask_vectors mask_vectors16
#endif
#else
#define mask_vectors mask_vectors16
#endif

static ssize_t
frame_fail(struct ws_error *err, const char *reason)
{
    err->code = 1002; /* RFC 6455 §7.4.1: protocol error */
    err->reason = reason;
    return WS_FAIL;
}

static uint64_t
frame_be_load(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static void
frame_be_store(uint8_t *out, uint64_t v, size_t n)
{
    for (size_t i = n; i > 0; i--) {
        out[i - 1] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

/*
 * Checks are made as soon as the bytes they need are present, so a header
 * that can never be valid fails without waiting for the rest of it.
 */
ssize_t
ws_frame_header_decode(struct ws_frame_header *h, const uint8_t *p, size_t len,
                       struct ws_error *err)
{
    if (len == 0) {
        return WS_AGAIN;
    }

    bool fin = (p[0] & FRAME_FIN) != 0;
    uint8_t opcode = p[0] & FRAME_OPCODE;

    /* RFC 6455 §5.2: an unknown opcode MUST fail the connection. */
    if (!ws_frame_opcode_is_known(opcode)) {
        return frame_fail(err, "reserved opcode");
    }
    /* RFC 6455 §5.5: control frames MUST NOT be fragmented. */
    if (ws_frame_opcode_is_control(opcode) && !fin) {
        return frame_fail(err, "fragmented control frame");
    }
    if (len < 2) {
        return WS_AGAIN;
    }

    bool masked = (p[1] & FRAME_MASKED) != 0;
    uint8_t len7 = p[1] & FRAME_LEN7;

    /* RFC 6455 §5.5: control frames carry 125 payload bytes or fewer. */
    if (ws_frame_opcode_is_control(opcode) && len7 > WS_CONTROL_PAYLOAD_MAX) {
        return frame_fail(err, "control frame payload over 125 bytes");
    }

    size_t ext = len7 == FRAME_LEN16 ? 2 : len7 == FRAME_LEN64 ? 8 : 0;
    uint64_t payload_len = len7;

    if (ext != 0) {
        if (len < 2 + ext) {
            return WS_AGAIN;
        }
        payload_len = frame_be_load(p + 2, ext);
        if (ext == 8 && payload_len > FRAME_LEN63_MAX) {
            /* RFC 6455 §5.2: the most significant bit MUST be 0. */
            return frame_fail(
                err, "64-bit payload length with the most significant bit set");
        }
        /* RFC 6455 §5.2: the minimal number of bytes MUST be used. */
        if ((ext == 2 && payload_len < FRAME_LEN16_MIN) ||
            (ext == 8 && payload_len < FRAME_LEN64_MIN)) {
            return frame_fail(err, "payload length not minimally encoded");
        }
    }

    size_t size = 2 + ext + (masked ? FRAME_MASK_BYTES : 0);

    if (len < size) {
        return WS_AGAIN;
    }

    h->fin = fin;
    h->rsv = (uint8_t)((p[0] >> FRAME_RSV_SHIFT) & 0x07);
    h->opcode = opcode;
    h->masked = masked;
    if (masked) {
        memcpy(h->mask, p + 2 + ext, FRAME_MASK_BYTES);
    } else {
        memset(h->mask, 0, sizeof(h->mask));
    }
    h->payload_len = payload_len;
    return (ssize_t)size;
}

ssize_t
ws_frame_header_extent(struct ws_frame_header *h, const uint8_t *p, size_t len)
{
    if (len < 2) {
        return WS_AGAIN;
    }
    uint8_t len7 = p[1] & FRAME_LEN7;
    bool masked = (p[1] & FRAME_MASKED) != 0;
    size_t ext = len7 == FRAME_LEN16 ? 2 : len7 == FRAME_LEN64 ? 8 : 0;
    size_t size = 2 + ext + (masked ? FRAME_MASK_BYTES : 0);

    if (len < size) {
        return WS_AGAIN;
    }
    h->fin = (p[0] & FRAME_FIN) != 0;
    h->rsv = (uint8_t)((p[0] >> FRAME_RSV_SHIFT) & 0x07);
    h->opcode = p[0] & FRAME_OPCODE;
    h->masked = masked;
    h->payload_len = ext != 0 ? frame_be_load(p + 2, ext) : len7;
    memset(h->mask, 0, sizeof(h->mask));
    if (masked) {
        memcpy(h->mask, p + 2 + ext, FRAME_MASK_BYTES);
    }
    return (ssize_t)size;
}

ssize_t
ws_frame_header_encode(uint8_t *out, size_t cap, bool fin, uint8_t rsv,
                       uint8_t opcode, uint64_t payload_len,
                       const uint8_t *mask)
{
    if (opcode > FRAME_OPCODE || rsv > 0x07 || payload_len > FRAME_LEN63_MAX) {
        return -1;
    }

    /* RFC 6455 §5.2: the length in the fewest bytes that hold it. */
    size_t ext = payload_len < FRAME_LEN16_MIN   ? 0
                 : payload_len < FRAME_LEN64_MIN ? 2
                                                 : 8;
    size_t size = 2 + ext + (mask != NULL ? FRAME_MASK_BYTES : 0);

    if (cap < size) {
        return 0;
    }

    out[0] = (uint8_t)((fin ? FRAME_FIN : 0) | rsv << FRAME_RSV_SHIFT | opcode);
    out[1] = mask != NULL ? FRAME_MASKED : 0;
    if (ext == 0) {
        out[1] |= (uint8_t)payload_len;
    } else {
        out[1] |= ext == 2 ? FRAME_LEN16 : FRAME_LEN64;
        frame_be_store(out + 2, payload_len, ext);
    }
    if (mask != NULL) {
        memcpy(out + 2 + ext, mask, FRAME_MASK_BYTES);
    }
    return (ssize_t)size;
}

/*
 * Byte i of the payload is XORed with mask[(offset + i) % 4] (§5.3). The key
 * is loaded as one 32-bit word and rotated once so that p[0] lines up with
 * mask[offset % 4] (which way depends on byte order: the word holds the
 * key in memory order), then doubled into 64 bits and broadcast into
 * vectors; any window of p that starts a multiple of 4 bytes further on
 * lines up with it again. memcpy makes the loads and stores safe for any
 * alignment of p.
 */
void
ws_frame_mask_copy(uint8_t *dst, const uint8_t *src, size_t len,
                   const uint8_t mask[4], uint64_t offset)
{
    uint32_t key32;
    unsigned rot = (unsigned)(offset & 3) * 8;
    size_t i = 0;

    memcpy(&key32, mask, sizeof(key32));
    if (rot != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        key32 = key32 << rot | key32 >> (32 - rot);
#else
        key32 = key32 >> rot | key32 << (32 - rot);
#endif
    }
    uint64_t key64 = (uint64_t)key32 << 32 | key32;

    /* Unmasking was a tenth of a worker's CPU with 16 KiB messages when
     * it went one word per round; an array of four words, left to the
     * compiler, was vectorized but kept on the stack, twice the work of
     * the vector loops for a client masking every message it sends. */
    /* Below 64 bytes (the widest vector's loop), words: the call to the
     * vector loops cost more than a small echo's whole payload (a third
     * of the unmasking of 20 bytes, for a loop that did nothing). */
    if (len >= 64) {
        i = mask_vectors(dst, src, len, key64);
    }
    for (; len - i >= sizeof(key64); i += sizeof(key64)) {
        uint64_t w;

        memcpy(&w, src + i, sizeof(w));
        w ^= key64;
        memcpy(dst + i, &w, sizeof(w));
    }
    if (len - i >= sizeof(key32)) {
        uint32_t w;

        memcpy(&w, src + i, sizeof(w));
        w ^= key32;
        memcpy(dst + i, &w, sizeof(w));
        i += sizeof(key32);
    }
    /* i is a multiple of 4 here, so the key lines up again at its start:
     * its bytes in memory order, taken from the word. */
    for (unsigned k = 0; i < len; i++, k += 8) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        dst[i] = src[i] ^ (uint8_t)(key32 >> (24 - k));
#else
        dst[i] = src[i] ^ (uint8_t)(key32 >> k);
#endif
    }
}

bool
ws_frame_opcode_is_known(uint8_t opcode)
{
    switch (opcode) {
    case WS_OP_CONT:
    case WS_OP_TEXT:
    case WS_OP_BINARY:
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        return true;
    default:
        return false;
    }
}

bool
ws_frame_opcode_is_control(uint8_t opcode)
{
    /* RFC 6455 §5.5: control opcodes have the top bit of the nibble set. */
    return opcode >= WS_OP_CLOSE && opcode <= FRAME_OPCODE;
}

const char *
ws_frame_opcode_name(uint8_t opcode)
{
    /* RFC 6455 §5.2 and §11.8: the opcodes with a name. */
    static const char *const names[FRAME_OPCODE + 1] = {
        [WS_OP_CONT] = "continuation", [WS_OP_TEXT] = "text",
        [WS_OP_BINARY] = "binary",     [WS_OP_CLOSE] = "close",
        [WS_OP_PING] = "ping",         [WS_OP_PONG] = "pong",
    };

    if (opcode > FRAME_OPCODE) {
        return NULL;
    }
    return names[opcode] != NULL ? names[opcode] : "reserved";
}

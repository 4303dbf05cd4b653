/* SPDX-License-Identifier: MIT */
/*
 * The RFC 6455 §5.2 frame header codec and masking (§5.3). It decodes and
 * encodes headers and (un)masks payload; it knows nothing of messages,
 * fragmentation or extensions, which belong to ws_session.
 */
#ifndef WSD_PROTO_WS_FRAME_H
#define WSD_PROTO_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ws_error.h"

enum ws_opcode {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xa,
};

#define WS_RSV1 0x4 /* permessage-deflate's "compressed" bit (RFC 7692) */
#define WS_RSV2 0x2
#define WS_RSV3 0x1

#define WS_FRAME_HEADER_MAX    14  /* 2 + 8 (length) + 4 (mask) */
#define WS_CONTROL_PAYLOAD_MAX 125 /* RFC 6455 §5.5 */

struct ws_frame_header {
    bool fin;
    uint8_t rsv;    /* WS_RSV1 | WS_RSV2 | WS_RSV3 */
    uint8_t opcode; /* enum ws_opcode; reserved ones fail decoding */
    bool masked;
    uint8_t mask[4];      /* valid when masked */
    uint64_t payload_len; /* at most 2^63 - 1 */
};

/*
 * Decodes one frame header from p[0..len). Returns the header's size (2 to
 * 14) when it is complete, WS_AGAIN when more bytes are needed, or WS_FAIL
 * with err->code 1002 when the header breaks §5.2 whatever the session:
 * a reserved opcode, a control frame that is fragmented or longer than 125
 * bytes, a 64-bit length with its most significant bit set, or a length not
 * encoded in the minimal number of bytes. RSV bits and masking are reported,
 * not judged: what they may be depends on the negotiated extensions and the
 * role. Reads no more than WS_FRAME_HEADER_MAX bytes; keeps no state.
 */
ssize_t ws_frame_header_decode(struct ws_frame_header *h, const uint8_t *p,
                               size_t len, struct ws_error *err);

/*
 * Reads the header at p[0..len) without judging it, to learn where a frame
 * that ws_frame_header_decode refused ends: fills *h as decode would
 * (opcode and length as they stand) and returns the header's size, or
 * WS_AGAIN when more bytes are needed. Never fails.
 */
ssize_t ws_frame_header_extent(struct ws_frame_header *h, const uint8_t *p,
                               size_t len);

/*
 * Encodes a header into out[0..cap). mask may be NULL (server frames are
 * never masked, §5.1). Returns the bytes written, 0 when cap is too small
 * (WS_FRAME_HEADER_MAX always suffices), or -1 for an opcode above 0xf, rsv
 * above 7 or a payload_len of 2^63 or more.
 */
ssize_t ws_frame_header_encode(uint8_t *out, size_t cap, bool fin, uint8_t rsv,
                               uint8_t opcode, uint64_t payload_len,
                               const uint8_t *mask);

/*
 * XORs src[0..len) with the masking key into dst (which may be src
 * itself, else must not overlap it), as §5.3 describes; offset is the
 * position of src[0] within the frame's payload, so that a payload masked
 * in several pieces gives the same result as in one. Works several
 * machine words at a time. A sender masks a copy in one pass instead of
 * copying, then masking.
 */
void ws_frame_mask_copy(uint8_t *dst, const uint8_t *src, size_t len,
                        const uint8_t mask[4], uint64_t offset);

/* The same in place: p[0..len) masked or unmasked where it lies. */
static inline void
ws_frame_mask(uint8_t *p, size_t len, const uint8_t mask[4], uint64_t offset)
{
    ws_frame_mask_copy(p, p, len, mask, offset);
}

/* True for the opcodes §5.2 defines (0, 1, 2, 8, 9, 10). */
bool ws_frame_opcode_is_known(uint8_t opcode);

/* True for close, ping and pong (and the reserved 0xb-0xf range). */
bool ws_frame_opcode_is_control(uint8_t opcode);

/* The name of an opcode of 0 to 15 (RFC 6455 §5.2, §11.8): "continuation",
 * "text", "binary", "close", "ping", "pong", else "reserved"; NULL above
 * 15. A static string. */
const char *ws_frame_opcode_name(uint8_t opcode);

#endif

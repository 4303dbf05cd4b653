/* SPDX-License-Identifier: MIT */
/*
 * Close codes (RFC 6455 §7.4) and close frame payloads (§5.5.1). It judges
 * and builds payloads; the close handshake itself belongs to ws_session.
 */
#include "autoconf.h"

#include "ws_close.h"

#include <string.h>

#include "ws_frame.h"
#include "ws_utf8.h"

#define CLOSE_CODE_BYTES 2
_Static_assert(WS_CLOSE_REASON_MAX == WS_CONTROL_PAYLOAD_MAX - CLOSE_CODE_BYTES,
               "a close reason fills a control payload but for the code");
#define CLOSE_HEADER_SIZE 2 /* §5.2: FIN/opcode byte and a 7-bit length */

bool
ws_close_code_is_valid(uint32_t code)
{
    /*
     * RFC 6455 §7.4.1 and the IANA registry (§11.7): 1004 is reserved, 1005,
     * 1006 and 1015 are for local use only and never sent; 1016-2999 are
     * unassigned. §7.4.2: 3000-3999 are registered, 4000-4999 private.
     */
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

int
ws_close_parse(struct ws_close_payload *out, const uint8_t *p, size_t len,
               struct ws_error *err)
{
    if (len == 0) {
        /* RFC 6455 §7.1.5: no status code, so 1005 is what was received. */
        out->code = WS_CLOSE_NO_STATUS;
        out->has_code = false;
        out->reason = NULL;
        out->reason_len = 0;
        return 0;
    }
    /* RFC 6455 §5.5.1: a body starts with a 2-byte code, so 1 byte is bad. */
    if (len < CLOSE_CODE_BYTES) {
        err->code = WS_CLOSE_PROTOCOL_ERROR;
        err->reason = "close payload of one byte";
        return WS_FAIL;
    }

    uint16_t code = (uint16_t)(p[0] << 8 | p[1]);

    /* RFC 6455 §7.4: a code a peer may not send is a protocol error. */
    if (!ws_close_code_is_valid(code)) {
        err->code = WS_CLOSE_PROTOCOL_ERROR;
        err->reason = "invalid close code";
        return WS_FAIL;
    }
    /* RFC 6455 §5.5.1 and §8.1: the reason is UTF-8, else 1007. */
    if (!ws_utf8_is_valid(p + CLOSE_CODE_BYTES, len - CLOSE_CODE_BYTES)) {
        err->code = WS_CLOSE_INVALID_PAYLOAD;
        err->reason = "close reason is not valid UTF-8";
        return WS_FAIL;
    }

    out->code = code;
    out->has_code = true;
    out->reason = p + CLOSE_CODE_BYTES;
    out->reason_len = len - CLOSE_CODE_BYTES;
    return 0;
}

/*
 * When the string is too long, it is cut before the character the limit
 * would split (ws_utf8_cut).
 */
size_t
ws_close_reason_len(const char *reason)
{
    const uint8_t *r = (const uint8_t *)reason;
    size_t n = 0;

    if (r == NULL) {
        return 0;
    }
    /* Scans one byte past the limit, to tell "fits" from "too long". */
    while (n <= WS_CLOSE_REASON_MAX && r[n] != '\0') {
        n++;
    }
    return ws_utf8_cut(r, n, WS_CLOSE_REASON_MAX);
}

size_t
ws_close_frame_build(uint8_t *out, size_t cap, uint16_t code,
                     const char *reason)
{
    size_t reason_len = 0;
    size_t payload_len = 0;

    /* RFC 6455 §7.1.5: 1005 means "no code", which is an empty body. */
    if (code != WS_CLOSE_NO_STATUS) {
        reason_len = ws_close_reason_len(reason);
        payload_len = CLOSE_CODE_BYTES + reason_len;
    }
    if (cap < CLOSE_HEADER_SIZE + payload_len) {
        return 0;
    }

    /* RFC 6455 §5.1: a server never masks, so the mask bit stays 0. */
    out[0] = 0x80 | WS_OP_CLOSE;
    out[1] = (uint8_t)payload_len;
    if (payload_len > 0) {
        out[CLOSE_HEADER_SIZE] = (uint8_t)(code >> 8);
        out[CLOSE_HEADER_SIZE + 1] = (uint8_t)(code & 0xff);
    }
    if (reason_len > 0) {
        memcpy(out + CLOSE_HEADER_SIZE + CLOSE_CODE_BYTES, reason, reason_len);
    }
    return CLOSE_HEADER_SIZE + payload_len;
}

/* SPDX-License-Identifier: MIT */
/*
 * Close frames (RFC 6455 §5.5.1) and close codes (§7.4): which codes a peer
 * may send, parsing a received close payload, building one to send.
 */
#ifndef WSD_PROTO_WS_CLOSE_H
#define WSD_PROTO_WS_CLOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ws_error.h"

enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL_ERROR = 1002,
    WS_CLOSE_UNSUPPORTED_DATA = 1003,
    WS_CLOSE_NO_STATUS = 1005, /* never on the wire (§7.4.1) */
    WS_CLOSE_ABNORMAL = 1006,  /* never on the wire (§7.4.1) */
    WS_CLOSE_INVALID_PAYLOAD = 1007,
    WS_CLOSE_POLICY_VIOLATION = 1008,
    WS_CLOSE_MESSAGE_TOO_BIG = 1009,
    WS_CLOSE_MANDATORY_EXTENSION = 1010,
    WS_CLOSE_INTERNAL_ERROR = 1011,
    WS_CLOSE_TRY_AGAIN_LATER = 1013,
};

/*
 * True for a code a peer may put in a close frame: 1000-1003 and 1007-1014
 * (§7.4.1 and the IANA registry, §11.7), and 3000-4999 (§7.4.2). False for
 * 0-999, 1004-1006, 1015 (reserved, never sent), 1016-2999 and 5000 up.
 */
bool ws_close_code_is_valid(uint32_t code);

struct ws_close_payload {
    uint16_t code;         /* WS_CLOSE_NO_STATUS when the payload is empty */
    bool has_code;         /* the payload held a code (2 bytes or more) */
    const uint8_t *reason; /* points into the payload; len 0 when none */
    size_t reason_len;
};

/*
 * Parses a received close payload p[0..len) (already unmasked; at most 125
 * bytes, which the frame decoder guarantees). Returns 0 and fills *out, or
 * WS_FAIL with err->code 1002 for a one-byte payload or an invalid code, or
 * 1007 for a reason that is not valid UTF-8. out->reason borrows p.
 */
int ws_close_parse(struct ws_close_payload *out, const uint8_t *p, size_t len,
                   struct ws_error *err);

/* §5.5: a close payload is at most 125 bytes, 2 of them the code. */
#define WS_CLOSE_REASON_MAX 123

/*
 * The bytes of reason (NULL-safe) a close frame carries: all of it, or
 * its longest prefix of at most WS_CLOSE_REASON_MAX bytes that does not
 * cut a UTF-8 sequence.
 */
size_t ws_close_reason_len(const char *reason);

/*
 * Builds a server close frame (header and payload, unmasked) into out[0..cap)
 * with code and the first bytes of reason that fit in 123 bytes without
 * cutting a UTF-8 sequence (reason may be NULL). code WS_CLOSE_NO_STATUS
 * builds an empty close frame. Returns the frame's size, or 0 if cap is too
 * small (WS_CLOSE_FRAME_MAX always suffices).
 */
#define WS_CLOSE_FRAME_MAX (2 + 125)
size_t ws_close_frame_build(uint8_t *out, size_t cap, uint16_t code,
                            const char *reason);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The error a protocol decoder reports: the close code (RFC 6455 §7.4) or
 * HTTP status that answers it, and a static sentence naming the problem.
 * The same words travel to the wire (close reason or response body) and
 * into the statistics record; where the answer says more (the limit a
 * 1009 broke, the paths of a 404), the writer of the answer adds it.
 */
#ifndef WSD_PROTO_WS_ERROR_H
#define WSD_PROTO_WS_ERROR_H

#include <stdint.h>

struct ws_error {
    uint16_t code;      /* close code, or HTTP status for the handshake */
    const char *reason; /* static string, never freed; NULL when no error */
};

/* Decoders return this for "need more input". */
#define WS_AGAIN 0
/* Decoders return this negative value on failure, with *err filled in. */
#define WS_FAIL  (-1)

#endif

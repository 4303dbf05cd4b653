/* SPDX-License-Identifier: MIT */
/*
 * permessage-deflate (RFC 7692): negotiation of its parameters from the
 * client's offers (§5, §7.1), and the per-message raw deflate streams
 * (§7.2) with the 00 00 ff ff tail removed and restored. zlib streams are
 * allocated when a message first needs one and released after each
 * message when the negotiated no-context-takeover allows, so that a
 * connection at rest holds none. Not here: framing and RSV1, which belong
 * to ws_session.
 */
#ifndef WSD_PROTO_WS_DEFLATE_H
#define WSD_PROTO_WS_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ws_error.h"
#include "ws_handshake.h"

/*
 * zlib refuses raw deflate with an 8-bit window (since 1.2.9 it silently
 * uses 9), so the smallest window wsd can promise to compress with is 9.
 */
#define WS_DEFLATE_WINDOW_MIN 9

/* The empty stored block that ends every compressed message (§7.2.1),
 * stripped by the sender and appended by the receiver. */
#define WS_DEFLATE_TAIL       ((const uint8_t *)"\x00\x00\xff\xff")
#define WS_DEFLATE_TAIL_LEN   4
#define WS_DEFLATE_WINDOW_MAX 15

/* The server's policy, from its configuration; shared by connections. */
struct ws_deflate_config {
    bool enabled;                    /* accept permessage-deflate at all */
    int level;                       /* zlib level, 0 (store) to 9 */
    int mem_level;                   /* zlib memLevel, 1 to 9 */
    size_t min_bytes;                /* shorter messages go uncompressed */
    uint8_t server_max_window_bits;  /* 9-15: our compressor's largest */
    uint8_t client_max_window_bits;  /* 9-15: what we ask clients for */
    bool server_no_context_takeover; /* reset our compressor per message */
    bool client_no_context_takeover; /* ask clients to reset theirs */
};

/* What one connection negotiated; what the response grants. */
struct ws_deflate_params {
    bool server_no_context_takeover; /* we reset after every message */
    bool client_no_context_takeover; /* the client resets after every one */
    uint8_t server_max_window_bits;  /* 9-15: window we compress with */
    uint8_t client_max_window_bits;  /* 8-15: window the client may use */
};

/*
 * Picks the first offer of permessage-deflate in the Sec-WebSocket-
 * Extensions values[0..n) (each value may hold several comma-separated
 * extensions) that wsd can honour under cfg. An offer with an unknown,
 * repeated or malformed parameter, or one asking for a server window
 * smaller than WS_DEFLATE_WINDOW_MIN, is declined (§7.1: never the
 * handshake). Returns true and fills *params and the response's
 * extension value (NUL-terminated, e.g. "permessage-deflate;
 * client_max_window_bits=15") into resp[0..cap) when an offer is
 * accepted; false when none is (or cfg->enabled is false).
 */
bool ws_deflate_negotiate(const struct ws_deflate_config *cfg,
                          const struct ws_span *values, unsigned n,
                          struct ws_deflate_params *params, char *resp,
                          size_t cap);

/* A connection's compression state; zero-filled means "not negotiated". */
struct ws_deflate {
    const struct ws_deflate_config *cfg; /* borrowed */
    struct ws_deflate_params params;
    bool on; /* permessage-deflate was negotiated */
    /* internal: */
    bool ended;     /* the peer ended its deflate stream (BFINAL) */
    void *inflater; /* z_stream, NULL while released */
    void *deflater; /* z_stream, NULL while released */
};

/* Turns compression on for a connection; allocates nothing. */
void ws_deflate_init(struct ws_deflate *d, const struct ws_deflate_config *cfg,
                     const struct ws_deflate_params *params);

/* Releases both streams; d stays usable. */
void ws_deflate_clear(struct ws_deflate *d);

/*
 * Inflates from *in[0..*in_len) into out[0..*out_len), advancing *in and
 * *in_len past what was consumed and setting *out_len to the bytes
 * produced. Stops when the input is consumed or out is full; call again
 * with more room to continue; output zlib still holds comes out on the
 * next call even with no input, so a caller at its size limit can offer
 * one byte of room to learn whether the message would exceed it. At the
 * end of a message, inflate WS_DEFLATE_TAIL (the 4 bytes §7.2.2 says to
 * append) the same way. Returns 0, or WS_FAIL with err 1007 for corrupt
 * data or 1011 when zlib is out of memory. Output that came before
 * corrupt data is returned first (0, with input left and room to spare):
 * the next call reports the error, so what the caller sees does not
 * depend on where the input was cut.
 */
int ws_deflate_inflate(struct ws_deflate *d, const uint8_t **in, size_t *in_len,
                       uint8_t *out, size_t *out_len, struct ws_error *err);

/*
 * The message being inflated (tail included) is complete: checks that its
 * data ended on a deflate block boundary, then keeps or releases the
 * stream. Returns 0, or WS_FAIL with err 1007 for a message whose data
 * stops inside a block (an empty payload, a truncated block).
 */
int ws_deflate_inflate_end(struct ws_deflate *d, struct ws_error *err);

/* Room that ws_deflate_compress needs for a message of len bytes. */
size_t ws_deflate_compress_bound(size_t len);

/* True when a message of len bytes is to be sent compressed. */
bool ws_deflate_wants(const struct ws_deflate *d, size_t len);

/*
 * Compresses one whole message in[0..len) into out[0..cap), which must
 * hold ws_deflate_compress_bound(len) bytes, without the §7.2.1 tail.
 * Returns the compressed size, or -1 when zlib failed (out of memory):
 * send the message uncompressed then.
 */
ssize_t ws_deflate_compress(struct ws_deflate *d, const uint8_t *in, size_t len,
                            uint8_t *out, size_t cap);

#endif

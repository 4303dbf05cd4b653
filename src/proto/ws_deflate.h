/* SPDX-License-Identifier: MIT */
/*
 * permessage-deflate (RFC 7692): negotiation of its parameters, the
 * server's answer to the client's offers and the client's offer and its
 * reading of the answer (§5, §7.1), and the per-message raw deflate streams
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

/* The longest extension value ws_deflate_negotiate answers, every
 * parameter stated: "permessage-deflate; server_no_context_takeover;
 * client_no_context_takeover; server_max_window_bits=15;
 * client_max_window_bits=15". */
#define WS_DEFLATE_RESPONSE_MAX 130

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

/*
 * A client's offer (§7.1): what it asks of the server and what it
 * promises. Zero-filled: "permessage-deflate" alone.
 */
#define WS_DEFLATE_NO_VALUE 1 /* client_max_window_bits without a value */
struct ws_deflate_offer {
    bool server_no_context_takeover; /* ask the server to reset per message */
    bool client_no_context_takeover; /* we reset per message, asked or not */
    uint8_t server_max_window_bits;  /* 0: not asked; else 8-15 */
    uint8_t client_max_window_bits;  /* 0: not in the offer (we compress
                                        with 15 and the server cannot ask
                                        less); WS_DEFLATE_NO_VALUE: the
                                        server may choose; 8-15: at most
                                        this, whatever it answers */
};

/*
 * Parses an offer's parameters as a command line gives them, without the
 * extension's name: "client_max_window_bits=10; server_no_context_takeover"
 * (the empty string is the bare offer). Returns 0, or WS_FAIL with
 * err->reason naming the problem (an unknown, repeated or malformed
 * parameter, or a value out of 8-15).
 */
int ws_deflate_offer_parse(struct ws_deflate_offer *o, const char *params,
                           size_t len, struct ws_error *err);

/*
 * Writes the Sec-WebSocket-Extensions value of the offer, NUL-terminated,
 * into out[0..cap) ("permessage-deflate; client_max_window_bits").
 * Returns its length, or 0 when cap is too small (128 always suffices).
 */
size_t ws_deflate_offer_write(const struct ws_deflate_offer *o, char *out,
                              size_t cap);

/*
 * Reads the server's answer to the offer o: the Sec-WebSocket-Extensions
 * values[0..n) of the response. Returns 0 when there is none (the
 * connection goes without compression), 1 with *params filled when it
 * accepts permessage-deflate as §7.1 allows, or WS_FAIL with err->reason
 * naming what the client must refuse (the connection fails, §7.1): an
 * extension that was not offered, permessage-deflate twice, an unknown,
 * repeated or malformed parameter, client_max_window_bits that was not
 * offered or has no value, or a window larger than the offer's. *params
 * is what the streams will do: the client's window is the smallest of
 * the answer's and the offer's, and the client resets its stream per
 * message when asked or when it offered to.
 */
int ws_deflate_accept(const struct ws_deflate_offer *o,
                      const struct ws_span *values, unsigned n,
                      struct ws_deflate_params *params, struct ws_error *err);

/* A connection's compression state; zero-filled means "not negotiated". */
struct ws_deflate {
    const struct ws_deflate_config *cfg; /* borrowed */
    struct ws_deflate_params params;
    bool on;     /* permessage-deflate was negotiated */
    bool client; /* we are the client: we compress with the client_*
                    parameters and inflate with the server_* ones */
    /* internal: */
    bool ended;     /* the peer ended its deflate stream (BFINAL) */
    void *inflater; /* z_stream, NULL while released */
    void *deflater; /* z_stream, NULL while released */
};

/*
 * Turns compression on for a server's connection, or with
 * ws_deflate_init_client a client's; allocates nothing. Of cfg, a
 * client's streams use level, mem_level and min_bytes.
 */
void ws_deflate_init(struct ws_deflate *d, const struct ws_deflate_config *cfg,
                     const struct ws_deflate_params *params);
void ws_deflate_init_client(struct ws_deflate *d,
                            const struct ws_deflate_config *cfg,
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

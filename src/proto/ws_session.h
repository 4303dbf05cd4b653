/* SPDX-License-Identifier: MIT */
/*
 * The sans-I/O side of one WebSocket connection after its opening
 * handshake (RFC 6455 §5, §6, §7), server or client: bytes in, events
 * out. It checks framing against the negotiated state and the role
 * (§5.1: a client masks every frame, a server none), unmasks, validates
 * text as UTF-8 while it arrives (failing fast, §8.1), assembles
 * fragmented messages with control frames interleaved (§5.4), answers
 * pings, runs the close handshake, and frames what is sent, masking a
 * client's frames with keys from a source the caller provides. It never
 * does I/O: the caller sends the bytes an event hands it.
 */
#ifndef WSD_PROTO_WS_SESSION_H
#define WSD_PROTO_WS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ws_close.h"
#include "ws_deflate.h"
#include "ws_error.h"
#include "ws_frame.h"
#include "ws_utf8.h"

/* Shared by every session of a worker; must outlive them. */
struct ws_session_config {
    uint64_t max_message_bytes; /* payload of one message; more fails 1009 */
    uint64_t max_frame_bytes;   /* payload of one frame; more fails 1009 */
};

/* The rules a 1009 names (ws_event.error.reason); its close frame and
 * ws_event.reason add the limit, e.g. "frame over max_frame_bytes 1024". */
#define WS_SESSION_MESSAGE_OVER "message over max_message_bytes"
#define WS_SESSION_FRAME_OVER   "frame over max_frame_bytes"

/*
 * Where a client session's masking keys come from: fill writes four
 * bytes that the peer cannot predict (§5.3: a fresh key per frame, from a
 * strong source of entropy), e.g. from the operating system's random
 * generator. The core itself draws no random numbers.
 */
struct ws_mask_source {
    void (*fill)(void *ctx, uint8_t key[4]);
    void *ctx;
};

/* The most bytes of a reply (a pong or a close frame), masked: header,
 * key and 125 bytes of payload. */
#define WS_SESSION_REPLY_MAX (2 + 4 + WS_CONTROL_PAYLOAD_MAX)

enum ws_session_state {
    WS_SESSION_OPEN,    /* messages flow both ways */
    WS_SESSION_CLOSING, /* we sent a close frame and await the peer's */
    WS_SESSION_CLOSED,  /* nothing more to send; close the TCP. What still
                           arrives is only delimited: each frame is
                           reported, discarded */
};

/* Where the peer's frames stand when the input ends (ws_session_partial):
 * the connection's last frame is whole, or cut. */
enum ws_session_partial {
    WS_PARTIAL_NONE,    /* no frame begun and unfinished */
    WS_PARTIAL_HEADER,  /* part of a frame header, not yet reported */
    WS_PARTIAL_PAYLOAD, /* the last frame reported (ev->frame), whose
                           payload has not all arrived; a length with its
                           top bit set (refused, §5.2) never ends */
};

enum ws_event_type {
    WS_EV_NONE,    /* all input consumed, no event */
    WS_EV_MESSAGE, /* a whole text or binary message: opcode, data, len */
    WS_EV_PING,    /* data, len: the ping's payload; reply: the pong */
    WS_EV_PONG,    /* data, len: the pong's payload; nothing to send */
    WS_EV_CLOSE,   /* the peer's close (close); reply: our answer, empty if
                      we had sent our close first. State is now CLOSED. */
    WS_EV_FAIL,    /* the peer broke the protocol (error); reply: our close
                      frame (empty if we had sent ours already): send it
                      and close the TCP connection (§7.1.7). State is now
                      CLOSING when the peer's close may still come (the
                      bad frame's length was known): keep feeding what
                      arrives, to learn it as a WS_EV_CLOSE with no reply;
                      CLOSED when it may not (the bad frame was the peer's
                      close, or no end of it is known). */
};

struct ws_event {
    enum ws_event_type type;
    uint8_t opcode; /* WS_EV_MESSAGE: WS_OP_TEXT or _BINARY */
    uint8_t *data;  /* payload; see ws_session_feed */
    size_t len;
    struct ws_close_payload close; /* WS_EV_CLOSE; reason borrows like data */
    bool peer_closed;      /* WS_EV_FAIL: the bad frame was the peer's close;
                              close holds its raw code (0: none) and reason */
    struct ws_error error; /* WS_EV_FAIL: error.reason names the rule */
    size_t reply_len;      /* bytes of reply to send; 0: none */
    /* Our pong or close frame (a client's masked), in the event itself so
     * that the session holds no buffer for it; after the fields
     * event_clear() resets. */
    uint8_t reply[WS_SESSION_REPLY_MAX];
    /* WS_EV_FAIL: the reason our close frame carries (or would, when we
     * had sent ours already), NUL-terminated: error.reason, and for a
     * limit the limit too ("message over max_message_bytes 16777216"),
     * so that a record can keep the words the peer reads. */
    char reason[WS_CLOSE_REASON_MAX + 1];
    /* The frame header decoded by this call, if any (at most one per
     * call), before its payload was judged: every frame the peer sent
     * is reported once, whatever event it leads to, as long as frames
     * can be delimited (also after a close, and after a failure). */
    bool has_frame;
    struct ws_frame_header frame;
    /* has_frame: the frame is discarded, its payload skipped unread: it
     * came after the peer's close, after ours (data, ping and pong) or
     * after a failure, or its header was refused (the failure's own
     * frame, reported with WS_EV_FAIL, or in the next call when its
     * header broke §5.2 itself). A frame whose payload is refused later
     * (invalid UTF-8, say) was not discarded when its header came. */
    bool frame_discarded;
    /* Payload of the frame in progress that this call unmasked, if any:
     * frame_data_len bytes from frame_data_pos of the frame's payload,
     * valid as ev->data is (compressed frames: as received). NULL when
     * the call took none, or discarded what it took (still masked). */
    const uint8_t *frame_data;
    size_t frame_data_len;
    uint64_t frame_data_pos;
    /* has_frame: when this call found the frame whole at the start of its
     * input (nothing of it given before; its payload all in frame_data,
     * from 0), the frame's size, header and payload: it was in[0..
     * frame_whole). 0 otherwise, which promises nothing: a whole frame
     * may be reported as 0. A record that saw in[] come in one read
     * logs the two as one (stats_record_feed). */
    size_t frame_whole;
};

/* One outgoing message, framed: send hdr[0..hdr_len), then payload. */
struct ws_out_message {
    uint8_t hdr[WS_FRAME_HEADER_MAX];
    size_t hdr_len;
    const uint8_t *payload; /* the caller's data, or its deflated form */
    size_t payload_len;
    bool compressed; /* payload is deflated (RSV1 set, RFC 7692 §6) */
};

struct ws_session {
    const struct ws_session_config *cfg;
    const struct ws_mask_source *masks; /* a client's (borrowed); NULL for a
                                           server */
    /* internal: */
    uint8_t state;      /* enum ws_session_state */
    uint8_t hdr_len;    /* bytes of a partial header kept in hdr */
    uint8_t msg_opcode; /* opcode of the message in progress, 0: none */
    uint8_t ctrl_len;   /* bytes of a partial control payload in ctrl */
    /* Flags as bits: a session is part of every connection's memory. */
    bool in_payload : 1;     /* frame's header decoded, payload pending */
    bool drop_msg : 1;       /* msg was delivered; release on next feed */
    bool msg_compressed : 1; /* the message in progress has RSV1 set */
    bool failed : 1;         /* closing after a failure: only look for close */
    bool skip_frame : 1;     /* discard the current frame's payload */
    bool lenient : 1;        /* read the next header for its extent only */
    bool receive_after_close : 1; /* data frames still read while CLOSING */
    uint8_t hdr[WS_FRAME_HEADER_MAX];
    struct ws_utf8 utf8; /* state of the text message in progress */
    struct ws_frame_header frame;
    uint64_t frame_pos; /* payload bytes of the frame consumed */
    uint8_t *msg;       /* message assembly buffer, malloc'ed lazily */
    size_t msg_len;
    size_t msg_cap;
    /* permessage-deflate when negotiated, else NULL: a block of its own,
     * so that the connections without it do not carry its room. */
    struct ws_deflate *deflate;
    /* A control frame's payload split across feeds is gathered here,
     * made on first need (WS_CONTROL_PAYLOAD_MAX bytes) and kept until
     * ws_session_clear: most connections never need it. */
    uint8_t *ctrl;
};

/*
 * Prepares s for a server's connection whose handshake has just
 * completed. Does not allocate. cfg is borrowed.
 */
void ws_session_init(struct ws_session *s, const struct ws_session_config *cfg);

/*
 * The same for a client's connection: the peer's frames must come
 * unmasked (a masked one fails with 1002), and every frame the session
 * frames (messages, pongs, close frames) is masked with a fresh key from
 * masks (borrowed: it and its ctx must outlive s).
 */
void ws_session_init_client(struct ws_session *s,
                            const struct ws_session_config *cfg,
                            const struct ws_mask_source *masks);

/*
 * Turns on permessage-deflate as negotiated (ws_deflate_negotiate, or a
 * client's ws_deflate_accept): RSV1 then marks compressed messages both
 * ways, each side compressing with its own window and context rule. Call
 * after ws_session_init(_client), before the first feed. cfg is borrowed.
 * Allocates the compression state (a small block; zlib's streams come
 * when a message needs them): false when out of memory, and s goes on
 * without compression.
 */
bool ws_session_use_deflate(struct ws_session *s,
                            const struct ws_deflate_config *cfg,
                            const struct ws_deflate_params *params);

/*
 * After our close, the peer's messages are still read and delivered
 * (with every rule and limit) until its close, instead of discarded: for
 * a client that closes when it has nothing more to send while the answers
 * to what it sent are still coming (RFC 6455 §5.5.1 forbids sending data
 * after a close, not receiving it). Pings and pongs are still discarded,
 * and nothing after a failure of ours is read. Call after init.
 */
void ws_session_receive_after_close(struct ws_session *s);

/* Frees what the session allocated; s may then be initialised again. */
void ws_session_clear(struct ws_session *s);

/*
 * Consumes bytes of in[0..len) until it has an event for the caller or has
 * consumed them all, and returns the number consumed (never negative). The
 * session unmasks payload in place, so in is modified. ev->data and the
 * close reason point into in or into the session, and stay valid until the
 * next call of any ws_session function; ev->reply lives in ev.
 * It decodes at most one frame header per call (reported in ev->has_frame
 * and ev->frame, beside whatever event the frame led to), and none after
 * the end of a frame whose payload it shows in ev->frame_data.
 * The caller loops until the input is consumed, handling each event in
 * order (a message echoed before a later error's close frame keeps the
 * order of the wire). In state CLOSING data frames (unless
 * ws_session_receive_after_close), pings and pongs are discarded and only
 * the peer's close leads to an event; in state CLOSED
 * every frame is discarded and no event comes, but each header is still
 * reported (a header with a 64-bit length whose top bit is set makes
 * all that follows its payload).
 * Allocation: the message buffer grows up to cfg->max_message_bytes.
 */
size_t ws_session_feed(struct ws_session *s, uint8_t *in, size_t len,
                       struct ws_event *ev);

/*
 * Starts the closing handshake from our side with code and reason (a
 * static string, or NULL): stores our close frame in ev->reply (the other
 * fields of ev are cleared, type WS_EV_NONE) and moves to CLOSING, where
 * the peer's answer arrives as WS_EV_CLOSE. Returns false (and leaves ev
 * untouched) unless the session is OPEN.
 */
bool ws_session_close(struct ws_session *s, uint16_t code, const char *reason,
                      struct ws_event *ev);

/*
 * Encodes into out the header of a one-frame, unfragmented, uncompressed
 * message of opcode and len, and returns its size; returns 0 when the
 * session may no longer send data frames (§5.5.1: not after our close),
 * and for a client's session, whose payload must be masked
 * (ws_session_message does that).
 */
size_t ws_session_message_header(struct ws_session *s,
                                 uint8_t out[WS_FRAME_HEADER_MAX],
                                 uint8_t opcode, uint64_t len);

/* ws_session_message_done's work, once a message was delivered. */
void ws_session_message_release(struct ws_session *s);

/*
 * Frees the buffer that holds the message of the last event (whose data
 * then dangles) when it is larger than the session keeps between
 * messages; otherwise the next ws_session_feed frees it, which may be
 * long in coming when the peer falls silent after a large message. For
 * the caller that is done with the message before the next input. Inline:
 * an echo of a frame read whole, the common one, has nothing to free.
 */
static inline void
ws_session_message_done(struct ws_session *s)
{
    if (s->drop_msg) {
        ws_session_message_release(s);
    }
}

/*
 * The room ws_session_message needs in `out` for a message of len bytes:
 * a server's, 0 when the message will go out uncompressed; a client's,
 * at least len, since its payload is masked there.
 */
size_t ws_session_message_bound(const struct ws_session *s, size_t len);

/*
 * Frames one whole outgoing message of opcode into m: its header, and
 * the payload to send after it: data itself, or its compressed form
 * written into out[0..cap) (m->compressed, RSV1 set, §6 of RFC 7692)
 * when permessage-deflate is on and the message is long enough. A failed
 * compression sends the message uncompressed. A client's payload is
 * always in out, masked with a fresh key that the header carries.
 * Returns false (m untouched) when the session may no longer send data,
 * or for a client's session when cap is under ws_session_message_bound.
 */
bool ws_session_message(struct ws_session *s, uint8_t opcode,
                        const uint8_t *data, size_t len, uint8_t *out,
                        size_t cap, struct ws_out_message *m);

enum ws_session_state ws_session_state(const struct ws_session *s);

/* True when no message is partly received (nothing held but state). */
bool ws_session_is_idle(const struct ws_session *s);

/*
 * Whether the input so far ends inside a frame (see enum
 * ws_session_partial): what a connection that ends now leaves cut.
 */
enum ws_session_partial ws_session_partial(const struct ws_session *s);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * A connection's statistics: its case record in the shared segment and
 * its worker's counters, written as events happen. Every call is a few
 * plain stores into memory the worker alone writes (no syscall, no lock);
 * a connection without a record (every record of the partition in use)
 * still counts in the totals.
 */
#ifndef WSD_STATS_RECORD_H
#define WSD_STATS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "stats_shm.h"
#include "ws_frame.h"
#include "ws_handshake.h"

struct ws_event;
struct ws_out_message;

struct stats_record {
    struct stats_case *rec;          /* NULL when unrecorded */
    struct stats_counters *counters; /* its worker's, in the slot */
    uint32_t started_ms32; /* accepted, Unix time in ms, low 32 bits: in
                              the padding, so struct conn does not grow;
                              the record has all 64 when there is one */
    /* Bits, so that these and started_ms32 take one word. */
    bool rx_compressed : 1;  /* the message being received is */
    bool opened : 1;         /* answered 101: a WebSocket session */
    bool close_sent : 1;     /* we sent a close frame */
    bool close_received : 1; /* the peer's close frame arrived */
    bool client : 1;         /* we are the client (wsc) */
    bool tls : 1;            /* carried by TLS (its handshake done) */
    /* Where the wire log's next entry goes (stats_wire_slot of the
     * record's wire_n; case_wirelog is at most 65536), in the padding. */
    uint16_t wire_slot;
};

/*
 * Numbers a new connection (case ids 1, 2, 3... across workers in accept
 * order), takes a record in slot's partition, counts it accepted and
 * active. peer may be NULL. The counters are slot's for every connection
 * of the process (a worker has one slot).
 */
void stats_record_start(struct stats_record *r, const struct stats_shm *shm,
                        unsigned slot, const struct sockaddr *peer,
                        socklen_t peer_len, uint64_t now_ms);

/*
 * Marks r, just started, as a client's connection (wsc's): its record
 * says so (report_autobahn's isServer), and its close is clean when the
 * server, not we, closed the TCP connection (RFC 6455 §7.1.1).
 */
void stats_record_client(struct stats_record *r);

/*
 * A connection closed unanswered at once (its worker is already past
 * max_connections by as many refusals as it will answer, or has no memory
 * for it): counted accepted, unopened and unrecorded in slot's counters,
 * with no record.
 */
void stats_record_dropped(const struct stats_shm *shm, unsigned slot);

/* Bytes read (p[0..n)) and written (the first n bytes of iov[0..n_iov)):
 * counted by size and logged with their first bytes. A write of the size
 * of the frame logged last (nothing logged since) whose first bytes are
 * the frame's shares its wire entry. */
void stats_record_read(struct stats_record *r, const uint8_t *p, size_t n);
void stats_record_written(struct stats_record *r, const struct iovec *iov,
                          int n_iov, size_t n);

/*
 * The opening handshake as it crossed the wire: the request head as read
 * (req[0..req_len), through its empty line, or all that was read of a
 * head that never ended: the caller cuts it; over the record's room it is
 * kept cut and flagged) and the response we sent (resp[0..resp_len),
 * whole; binary when the peer spoke another protocol). Either may be
 * NULL.
 */
void stats_record_heads(struct stats_record *r, const char *req, size_t req_len,
                        const char *resp, size_t resp_len);

/* The opening handshake's request and our answer (101, or a refusal);
 * extension_response: the permessage-deflate we granted, or NULL. */
void stats_record_handshake(struct stats_record *r, unsigned status,
                            const struct ws_handshake_request *req,
                            const char *extension_response);

/* The peer spoke the other protocol of its port (kind): counted. */
void stats_record_wrong_protocol(struct stats_record *r, enum stats_wrong kind);

/* A TLS connection ends before its handshake finished. */
void stats_record_tls_failed(struct stats_record *r);

/* A timeout of this kind ran out (the connection need not end at once:
 * after ping and idle timeouts, it closes with a closing handshake):
 * counted and logged. */
void stats_record_timeout(struct stats_record *r, enum stats_timeout kind);

/* The connection is carried by TLS with this version and cipher. */
void stats_record_tls(struct stats_record *r, const char *version,
                      const char *cipher);

/*
 * One frame received (its header; discarded: it is skipped unread, after
 * a close or refused, and counted all the same), then its payload as the
 * session unmasks it (p[0..n) from byte pos of the payload: the log keeps
 * the first bytes), or one frame queued to send: its header hdr[0..
 * hdr_len) (2 to 14 bytes; a client's ends with its masking key) and
 * payload[0..n) of its len bytes as it goes on the wire, n as far as
 * known (masked when the header says so; the log shows it unmasked, and
 * the key). stats_record_control_out takes one of our whole control
 * frames, masked or not.
 */
void stats_record_frame_in(struct stats_record *r,
                           const struct ws_frame_header *h, bool discarded);
void stats_record_frame_data(struct stats_record *r, const uint8_t *p, size_t n,
                             uint64_t pos);
void stats_record_frame_out(struct stats_record *r, const uint8_t *hdr,
                            size_t hdr_len, const uint8_t *payload, size_t n,
                            uint64_t len);
void stats_record_control_out(struct stats_record *r, const uint8_t *frame,
                              size_t len);

/*
 * What one ws_session_feed call reported, as stats_record_frame_in (when
 * it decoded a header), stats_record_frame_data (when it unmasked
 * payload) and stats_record_message_in (when it completed a message)
 * would record it, in one change of the record. A frame the call found
 * whole at the start of its input (ev->frame_whole) that is all the read
 * logged last (nothing logged since) shares that read's wire entry.
 */
void stats_record_feed(struct stats_record *r, const struct ws_event *ev);

/*
 * One whole message of len payload bytes (before compression) sent as
 * the one frame m that ws_session_message framed: as
 * stats_record_frame_out for its frame (m->payload as it goes on the
 * wire; a client's, masked with the key its header carries) and
 * stats_record_message_out, in one change of the record.
 */
void stats_record_message_sent(struct stats_record *r,
                               const struct ws_out_message *m, size_t len);

/* We sent our TCP FIN (the sending side is shut down). */
void stats_record_shut(struct stats_record *r);

/* A whole message: payload bytes, and on the wire when compressed. */
void stats_record_message_in(struct stats_record *r, size_t len);
void stats_record_message_out(struct stats_record *r, size_t len,
                              bool compressed, size_t wire_len);

/*
 * Close frames: the one we send (failed: because of a protocol error; code
 * 0 or 1005: a close frame with no code) and the peer's (has_code: its
 * payload held a code, whatever its value).
 */
void stats_record_close_out(struct stats_record *r, unsigned code,
                            const char *reason, bool failed);
void stats_record_close_in(struct stats_record *r, unsigned code, bool has_code,
                           const uint8_t *reason, size_t reason_len);

/*
 * The connection is gone. dropped_by_me: we closed the TCP connection
 * first. why: NULL after a full closing handshake, else why it was not
 * clean. server_drop_timeout: a client's, the server kept the TCP
 * connection open after the closing handshake until we dropped it. The timeouts
 * say which one ended it. rx_frame_incomplete: it ended inside a frame from the
 * peer, which cannot be delimited; when that frame is the last
 * stats_record_frame_in took (its payload was cut, not its header),
 * rx_frame_logged says so, and its wire entry is marked. Counted clean or
 * unclean when it was a WebSocket (answered 101), else unopened: a refusal or a
 * peer that left before any answer is no unclean close.
 */
struct stats_record_end {
    bool dropped_by_me;
    bool open_handshake_timeout;
    bool close_handshake_timeout;
    const char *why;
    bool rx_frame_incomplete;
    bool rx_frame_logged;
    bool server_drop_timeout;
};
void stats_record_finish(struct stats_record *r,
                         const struct stats_record_end *e, uint64_t now_ms);

/*
 * Writes the access log line of c, a finished record or a copy of one
 * (stats_case_read; its strings are read within their fields), when the
 * access log is open: stats_record_finish does for its connection, and
 * the master for the cases a dead worker left open.
 */
void stats_record_access_line(const struct stats_case *c);

#endif

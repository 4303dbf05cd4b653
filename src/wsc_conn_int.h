/* SPDX-License-Identifier: MIT */
/*
 * What the two halves of a wsc connection share: wsc_conn.c (connect,
 * I/O, timers, the end) and wsc_conn_proto.c (the opening handshake's
 * response, the session's events, what is sent). Nothing outside them
 * includes it.
 */
#ifndef WSD_WSC_CONN_INT_H
#define WSD_WSC_CONN_INT_H

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "keepalive.h"
#include "output.h"
#include "stats_record.h"
#include "transport.h"
#include "ws_handshake_client.h"
#include "ws_session.h"
#include "wsc_conn.h"

#define HEAD_MAX       (16 * 1024) /* a response head */
#define BODY_MAX       4096        /* of a refusal's body, what we read */
#define REQUEST_MAX    (16 * 1024)
#define READS_PER_TURN 16

enum phase {
    PH_CONNECT,   /* TCP connecting */
    PH_HANDSHAKE, /* request sent (or going), response awaited */
    PH_REFUSED,   /* a refusal's head read; reading its body */
    PH_OPEN,      /* the session runs (through its close) */
    PH_DONE,
};

struct wsc_conn {
    struct event_base *base;
    const struct wsc_settings *set;
    const struct wsc_url *url;
    struct wsc_callbacks cb;
    void *arg;
    struct addrinfo *ais;
    struct addrinfo *ai; /* the address being tried */
    int fd;
    int connect_errno; /* the last address's refusal */
    const struct transport *t;
    void *tctx;
    struct event *ev_io;
    short io_flags;
    struct event *ev_timer;
    enum phase phase;
    bool send_blocked;     /* a send would block: wait for writability */
    bool send_wants_read;  /* TLS: a send needs the peer's records first */
    bool recv_wants_write; /* TLS: a recv needs to send a record first */
    bool read_paused;      /* WSC_WRITE_HIGH_WATER of answers queued: no
                              reading (a peer that sends and never reads
                              would grow the queue with our answers) */
    bool in_read;          /* feeding what was read to the session */
    size_t answer_bytes;   /* queued while in_read (pongs, our close, what
                              the caller sent from on_message) since the
                              queue was last empty; not the caller's own
                              messages, which must not stop reading */
    bool recording;        /* stats_record_start was called */
    bool in_drain;         /* inside cb.on_drain */
    bool closing_said;     /* cb.on_closing was called */
    uint64_t t_start_ms;   /* monotonic: the connection's start */
    uint64_t t_connected_ms;
    uint64_t t_close_ms; /* our close sent, or the closing handshake over */
    uint64_t timer_at;   /* the deadline ev_timer is armed for (monotonic
                            ms); UINT64_MAX: none */
    char key[WS_HANDSHAKE_KEY_LEN + 1];
    char *request;
    size_t request_len;
    struct evbuffer *head; /* the response as read, until the session */
    struct ws_handshake_response resp;
    size_t head_len;
    size_t body_need; /* a refusal's body bytes to read */
    struct ws_session session;
    struct ws_mask_source masks; /* the session's keys: it borrows them */
    bool session_on;
    char deflate_answer[STATS_GRANTED_MAX];
    struct output out;
    struct stats_record rec;
    struct keepalive ka;
    const char *record_why; /* why the record is not clean; NULL: it is */
    bool outcome_set;
    struct wsc_result res;
};

/* wsc_conn.c */

/* The session's masking keys (RFC 6455 §5.3): fresh from the OS. */
void wsc_conn_fill_mask(void *ctx, uint8_t key[4]);

/* p[0..n) as a string in dst[0..cap), cut to fit. */
void wsc_copy_cut(char *dst, size_t cap, const void *p, size_t n);

/* How the connection ends, said once: the first cause wins. */
void wsc_conn_outcome(struct wsc_conn *c, enum wsc_outcome o, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));

/*
 * The connection is over: the record finished, the socket closed, the
 * caller told. dropped_by_me: we close TCP first (a timeout, a failure);
 * else the server did.
 */
void wsc_conn_finish(struct wsc_conn *c, bool dropped_by_me,
                     bool server_drop_timeout);

/* A transport call failed (WSD_IO_ERROR): TLS says why, else errno. */
void wsc_conn_io_failed(struct wsc_conn *c, const char *what);

/* Queues bytes behind what waits already, or one of our control frames
 * (recorded); false: out of memory (ended). */
bool wsc_conn_queue(struct wsc_conn *c, const struct iovec *iov, int n);
bool wsc_conn_queue_control(struct wsc_conn *c, uint8_t *frame, size_t len);

/* n more bytes were queued (counted as answers when they come of a
 * read). */
void wsc_conn_kept(struct wsc_conn *c, size_t n);

/* Sends what is queued; from_loop: from the loop's own events, so
 * cb.on_drain may send more. */
void wsc_conn_flush(struct wsc_conn *c, bool from_loop);

/* Makes the socket's event wait for what the connection waits for. */
void wsc_conn_arm(struct wsc_conn *c);

/* The one deadline of the current phase. */
void wsc_conn_rearm_timer(struct wsc_conn *c);

/* wsc_conn_proto.c */

/* Received bytes for the open session. */
void wsc_conn_feed(struct wsc_conn *c, uint8_t *p, size_t n);

/* Received bytes while the opening handshake runs. */
void wsc_conn_handshake_bytes(struct wsc_conn *c, const uint8_t *p, size_t n);

/* The server closed its side. */
void wsc_conn_peer_eof(struct wsc_conn *c);

/* The server refused the handshake (PH_REFUSED): ends the connection
 * with the refusal and its reason, as far as the body came. */
void wsc_conn_refused(struct wsc_conn *c);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * One WebSocket connection of wsc, the client: it resolves and connects
 * (TCP, or TLS through the transport), runs the opening handshake and
 * the session of the pure core in the client's role, sends what the
 * caller gives it, and ends with a result that says how (a clean close,
 * a refusal, a protocol failure, a timeout, TLS). It owns the socket, the
 * transport, the timers, its output and the statistics record of the
 * connection (the same recorder as wsd's); libevent drives it. What to
 * send and what to do with what arrives is the caller's (wsc_main,
 * wsc_autobahn).
 */
#ifndef WSD_WSC_CONN_H
#define WSD_WSC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "keepalive.h"
#include "stats_record.h"
#include "ws_deflate.h"
#include "ws_session.h"
#include "wsc_url.h"

struct output_buf;
struct transport_tls_env;

/* How a connection ended; wsc's exit statuses follow it (wsc_main). */
enum wsc_outcome {
    WSC_CLEAN,    /* close frames both ways, then the server closed TCP */
    WSC_UNCLEAN,  /* could not connect, or ended without a clean close */
    WSC_REFUSED,  /* the opening handshake failed: a refusal or a bad 101 */
    WSC_PROTOCOL, /* the server broke the protocol: we failed it */
    WSC_TIMEOUT,  /* connect, handshake, close or pong timeout */
    WSC_TLS,      /* the TLS handshake failed or the certificate was
                     refused */
};

#define WSC_WHY_MAX          512
/* Queued answers (output queued in reply to what was read: pongs, our
 * close, echoes sent from on_message) that stop reading until the queue
 * is sent (as wsd's default write_high_water_bytes): answers for a peer
 * that never reads do not pile up. What the caller sends of its own
 * accord does not count: a server that echoes it waits for us to read
 * the echoes before it reads more of it. */
#define WSC_WRITE_HIGH_WATER (UINT64_C(1) << 20)

struct wsc_result {
    enum wsc_outcome outcome;
    char why[WSC_WHY_MAX]; /* a sentence for stderr; "" when clean */
    unsigned close_code;   /* the server's close code; 0: none */
    char close_reason[WS_CLOSE_REASON_MAX + 1]; /* and its reason */
};

/* Random bytes from the operating system, drawn a page at a time: the
 * masking keys (RFC 6455 §5.3) and the handshake's nonce. */
struct wsc_random {
    uint8_t buf[4096];
    size_t pos;
};

/* What every connection of a run shares; the caller owns it. */
/* The read buffer of a run, which its connections share: each consumes
 * what it read before the loop calls another (as a worker's do); and
 * the scratch buffer each masks a message into, sent or kept before the
 * next message. One of each keeps them warm in the caches. */
#define WSC_RBUF_BYTES (256 * 1024)

struct wsc_settings {
    const char *origin;         /* Origin, or NULL */
    const char *protocols;      /* Sec-WebSocket-Protocol list, or NULL */
    const char *const *headers; /* more "Name: value" lines */
    size_t n_headers;
    const char *user_agent; /* User-Agent, or NULL */
    bool deflate;           /* offer permessage-deflate */
    struct ws_deflate_offer offer;
    struct ws_deflate_config deflate_cfg; /* level, mem_level, min_bytes */
    struct ws_session_config session_cfg; /* limits of what we receive */
    bool receive_after_close; /* the server's messages after our close
                                 are still delivered, until its own */
    uint64_t connect_timeout_ms;
    uint64_t handshake_timeout_ms; /* from connected to the 101 */
    uint64_t close_timeout_ms;     /* for the server's close, and its FIN */
    struct keepalive_config keepalive;
    struct transport_tls_env *tls; /* for wss://; NULL: none */
    const struct stats_shm *shm;   /* where each connection's record goes
                                      (slot 0) */
    struct wsc_random *random;
    uint8_t *rbuf; /* WSC_RBUF_BYTES */
    struct output_buf *scratch;
};

struct wsc_conn;

/* What the caller hears of a connection; on_end is the last call, after
 * which the connection may be freed (not from within the callback).
 * on_open comes once the frames that came with the 101 have been read,
 * and only if the session is still open. */
struct wsc_callbacks {
    void (*on_open)(struct wsc_conn *c, void *arg);
    /* A whole message; p[0..len) is valid during the call only. */
    void (*on_message)(struct wsc_conn *c, uint8_t opcode, const uint8_t *p,
                       size_t len, void *arg);
    /* The server started the close, or the connection is failing: send
     * nothing more. */
    void (*on_closing)(struct wsc_conn *c, void *arg);
    /* Everything queued was taken by the socket (wsc_conn_pending is 0):
     * a sender that paused may go on. */
    void (*on_drain)(struct wsc_conn *c, void *arg);
    void (*on_end)(struct wsc_conn *c, const struct wsc_result *r, void *arg);
};

/* Fills n bytes from the operating system's generator; false when it
 * has none to give. */
bool wsc_random_fill(struct wsc_random *r, uint8_t *out, size_t n);

/*
 * Starts a connection to url on base. Returns it, or NULL with err
 * naming the problem when it cannot even start (the host does not
 * resolve, out of memory); everything later comes through cb.
 */
struct wsc_conn *wsc_conn_start(struct event_base *base,
                                const struct wsc_url *url,
                                const struct wsc_settings *set,
                                const struct wsc_callbacks *cb, void *arg,
                                char *err, size_t errlen);

/*
 * Sends one whole message. Returns false when the session may send no
 * more (not open yet, or closing).
 */
bool wsc_conn_send(struct wsc_conn *c, uint8_t opcode, const uint8_t *p,
                   size_t len);

/* Sends a ping with payload p[0..len) (at most 125 bytes). */
bool wsc_conn_ping(struct wsc_conn *c, const uint8_t *p, size_t len);

/*
 * Starts the closing handshake with code and reason (NULL: none; code
 * 1005: an empty close frame). Returns false when it is not open.
 */
bool wsc_conn_close(struct wsc_conn *c, uint16_t code, const char *reason);

/* Bytes queued and not yet taken by the socket. */
size_t wsc_conn_pending(const struct wsc_conn *c);

/* What the server granted: permessage-deflate, and its answer (or ""). */
const char *wsc_conn_deflate(const struct wsc_conn *c);

/* Frees c (closing its socket if it is still open). */
void wsc_conn_free(struct wsc_conn *c);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * What the three files of a connection share, and nothing else includes:
 * struct conn, and the calls between conn.c (its life: the session, the
 * close, the linger, timers and shutdown), conn_send.c (its way out:
 * readiness, queuing, sending, the end of the sending side) and
 * conn_handshake.c (its opening handshake). Other modules use conn.h.
 */
#ifndef WSD_CONN_INT_H
#define WSD_CONN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <event2/event.h>

#include "conn.h"
#include "keepalive.h"
#include "loop.h"
#include "output.h"
#include "stats_record.h"
#include "ws_handshake.h"
#include "ws_session.h"

#define CONN_SERVER                  "wsd/" VERSION
#define CONN_HANDSHAKE_INITIAL_BYTES 1024
/* Reads per readiness callback, so one busy peer cannot starve others. */
#define CONN_READS_PER_EVENT         4
/* The same for a transport whose recv returns a record at a time (TLS):
 * as many bytes as four reads of the read buffer at most. */
#define CONN_RECORDS_PER_EVENT       64
/* Message payload one connection may have echoed in one callback before
 * the others get their turn (a message is never split: a 16 MiB one, or
 * a deflate bomb that inflates to it, still goes whole). */
#define CONN_WORK_BYTES              (1024 * 1024)
/* What each frame costs that budget besides its message's payload: its
 * decoding, counting and echo are work whatever its size, and a flood of
 * empty frames (six bytes each: four reads hold some 175,000) must take
 * turns too. 16,384 frames a turn at most. */
#define CONN_FRAME_COST              64
/* An echo's payload from this size on is sent from where it lies rather
 * than copied into the stage: a copy costs more than a second iovec. */
#define CONN_ZERO_COPY_BYTES         4096

enum conn_state {
    CONN_HANDSHAKE, /* reading the opening handshake */
    CONN_OPEN,      /* WebSocket: session OPEN, or CLOSING after our close */
    CONN_FLUSH,     /* last bytes queued; shut the sending side once sent */
    CONN_LINGER,    /* sending side shut; reading until the peer's EOF */
    CONN_CLOSED,    /* ended: inert until the loop frees it */
};

/* Exists only while the opening handshake is read. */
struct conn_handshake {
    struct ws_handshake_request req;
    size_t len; /* bytes in buf */
    size_t cap;
    char buf[];
};

/* Received bytes not processed yet: the connection's turn was over, or
 * its output reached the high-water mark. */
struct conn_held {
    size_t off, len;
    uint8_t buf[];
};

struct conn {
    struct loop_conn lc; /* its place in the loop: lists, deadline, turn */
    struct loop *loop;
    const struct transport *t;
    void *tctx; /* the transport's state, NULL for TCP */
    int fd;
    uint8_t state;    /* enum conn_state */
    uint8_t io_flags; /* EV_READ and EV_WRITE its socket is watched for */
    /* 1 + enum stats_wrong once the peer spoke the other protocol of its
     * port (its record says so), 0 before. */
    uint8_t wrong_protocol;
    /* Flags as bits, so that fd and all of these take one word. */
    bool read_paused : 1;      /* output over the high-water mark, or
                                  flushing */
    bool send_blocked : 1;     /* output waits for the socket to be
                                  writable */
    bool recv_wants_write : 1; /* the transport's recv waits for
                                  writability */
    bool send_wants_read : 1;  /* the transport's send waits for
                                  readability */
    bool has_session : 1;      /* the handshake succeeded: session is live */
    bool out_lost : 1;         /* output could not be kept: close */
    bool graceful : 1;         /* a graceful stop reached it: close 1001
                                  between messages */
    struct keepalive ka;       /* while OPEN: pings and idleness */
    struct output out;         /* what the socket has not taken yet */
    union {
        struct conn_handshake *hs; /* during CONN_HANDSHAKE */
        struct conn_held *held;    /* after it; NULL when none */
    };
    struct ws_session session; /* from CONN_OPEN on */
    struct stats_record rec;   /* statistics */
};

/* Every connection at rest is this block and nothing more (README,
 * Memory per connection): 248 bytes is what glibc's malloc serves from a
 * 256-byte chunk. */
_Static_assert(sizeof(struct conn) <= 248, "struct conn outgrew its chunk");

static inline bool
conn_is_closed(const struct conn *c)
{
    return c->state == CONN_CLOSED;
}

/* Input kept for c's next turn: only an open connection processes it;
 * one closing frees it with the rest. */
static inline bool
conn_has_held(const struct conn *c)
{
    return c->state == CONN_OPEN && c->held != NULL;
}

static inline void
conn_timer_set(struct conn *c, uint64_t ms)
{
    loop_timer_set(c->loop, &c->lc, ms);
}

/* conn.c: the life. */
void conn_close(struct conn *c, enum conn_end why);

/* How a failed recv or send (n < 0, not AGAIN or WANT_*) ends c: the
 * peer's end of stream, OpenSSL's refusal (errno EPROTO, from
 * transport_tls: it sent an alert, we close), the peer's fatal alert
 * (EREMOTEIO, from transport_tls), or a socket error. */
enum conn_end conn_end_of(ssize_t n);
void conn_finish(struct conn *c);
bool conn_queue_going_away(struct conn *c, const char *reason);
void conn_keepalive_arm(struct conn *c);
void conn_process_or_hold(struct conn *c, uint8_t *p, size_t n, size_t *budget);

/* conn_send.c: the way out. */
void conn_arm(struct conn *c);
void conn_recv_wait(struct conn *c, ssize_t n);
void conn_send_wait(struct conn *c, ssize_t n);
void conn_stage_spill(struct loop *l);

/* Makes the stage free for c: another's bytes there go to their owner. */
static inline void
conn_stage_claim(struct conn *c)
{
    const struct output_stage *st = &c->loop->stage;

    if (st->owner != &c->out && st->len > 0) {
        conn_stage_spill(c->loop);
    }
}
void conn_queue(struct conn *c, const void *p, size_t len);

/* conn_queue of a frame: its header, then its payload (every echo). */
static inline void
conn_queue_frame(struct conn *c, const uint8_t *hdr, size_t hdr_len,
                 const uint8_t *payload, size_t len)
{
    if (!conn_is_closed(c) && !c->out_lost) {
        conn_stage_claim(c);
        c->out_lost = !output_queue2(&c->loop->stage, &c->out, hdr, hdr_len,
                                     payload, len);
    }
}
void conn_send_or_keep(struct conn *c, const struct iovec *iov, int n);
void conn_flush(struct conn *c);

/* conn_handshake.c: the opening handshake. */
void conn_read_handshake(struct conn *c);

/* Records the TLS version and cipher in c's record (rec.tls) once its
 * TLS handshake has completed; nothing before that, for TCP, or once
 * recorded. rec.tls is then what tells a TLS handshake that never
 * completed. */
void conn_record_transport(struct conn *c);

/* Records the heads of a refused handshake: what c read of its request
 * (if anything) and our answer resp[0..n), each cut at the end of its
 * head (a request may hold bytes after it, an answer a body). A 101 needs
 * none of this: its request is cut by its parse, and it has no body. */
void conn_record_refusal(struct conn *c, const char *resp, size_t n);

#endif

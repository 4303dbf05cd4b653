/* SPDX-License-Identifier: MIT */
/*
 * A connection's life: opening handshake, WebSocket session, and the close
 * of the TCP connection. The server closes TCP first (RFC 6455 §7.1.1):
 * once the last bytes are sent it shuts down its sending side and reads
 * until the peer's end of stream ("lingering close"), so that no unread
 * data makes the kernel reset the connection and lose our close frame.
 */
#include "autoconf.h"

#include "conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "clock.h"
#include "log.h"
#include "timer_heap.h"
#include "transport.h"

#define CONN_HANDSHAKE_INITIAL_BYTES 1024
#define CONN_IOV_MAX                 32
/* Reads per readiness callback, so one busy peer cannot starve others. */
#define CONN_READS_PER_EVENT         4
/* Message payload one connection may have echoed in one callback before
 * the others get their turn (a message is never split: a 16 MiB one, or
 * a deflate bomb that inflates to it, still goes whole). */
#define CONN_WORK_BYTES              (1024 * 1024)
/* An echo's payload from this size on is sent from where it lies rather
 * than copied into the stage: a copy costs more than a second iovec. */
#define CONN_ZERO_COPY_BYTES         4096

enum conn_state {
    CONN_HANDSHAKE, /* reading the opening handshake */
    CONN_OPEN,      /* WebSocket: session OPEN, or CLOSING after our close */
    CONN_FLUSH,     /* last bytes queued; shut the sending side once sent */
    CONN_LINGER,    /* sending side shut; reading until the peer's EOF */
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
    TAILQ_ENTRY(conn) entry;
    struct conn_env *env;
    const struct transport *t;
    void *tctx; /* the transport's state, NULL for TCP */
    int fd;
    uint8_t state;            /* enum conn_state */
    bool read_paused;         /* output over the high-water mark, or flushing */
    bool send_blocked;        /* output waits for the socket to be writable */
    bool recv_wants_write;    /* the transport's recv waits for writability */
    bool send_wants_read;     /* the transport's send waits for readability */
    uint8_t io_flags;         /* EV_READ and EV_WRITE ev_io waits for */
    bool has_session;         /* the handshake succeeded: session is live */
    bool out_lost;            /* output could not be kept: close */
    bool turn_queued;         /* in env->turns */
    struct timer_node timer;  /* the current phase's deadline, or, while
                                 OPEN, the next keepalive or idle check,
                                 in the worker's heap */
    uint64_t last_rx_ms;      /* when the peer last sent bytes */
    uint64_t last_message_ms; /* when its last message (or the 101) was */
    uint64_t ping_sent_ms;    /* our unanswered ping; 0: none */
    struct evbuffer *out;     /* bytes accepted but not yet sent; NULL
                                 while there are none */
    union {
        struct conn_handshake *hs; /* during CONN_HANDSHAKE */
        struct conn_held *held;    /* after it; NULL when none */
    };
    struct ws_session session; /* from CONN_OPEN on */
    struct conn_record rec;    /* statistics */
};

static void conn_on_io(evutil_socket_t fd, short what, void *arg);

_Static_assert(sizeof(struct conn) % sizeof(void *) == 0,
               "the event behind a connection is aligned");

/* The event behind c (see conn_new). */
static struct event *
ev_io(struct conn *c)
{
    return (struct event *)(void *)(c + 1);
}
static void conn_on_read(struct conn *c);
static void conn_on_timer(struct conn *c);
static void conn_finish(struct conn *c);
static void queue(struct conn *c, const void *p, size_t len);

static size_t
out_len(const struct conn *c)
{
    return c->out != NULL ? evbuffer_get_length(c->out) : 0;
}

/* Input kept for c's next turn (see conn_process_or_hold): only an open
 * connection processes it; one closing frees it with the rest. */
static bool
has_held(const struct conn *c)
{
    return c->state == CONN_OPEN && c->held != NULL;
}

/* Unix time, for the records. */
static uint64_t
wall_ms(struct conn_env *env)
{
    struct timeval tv;
    event_base_gettimeofday_cached(env->base, &tv);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* Sets the worker's one timer for the earliest deadline of its heap. */
static void
timers_arm(struct conn_env *env)
{
    const struct timer_node *first = timer_heap_min(&env->timers);

    if (first == NULL) {
        evtimer_del(env->ev_timers);
        env->timers_armed_ms = UINT64_MAX;
        return;
    }
    if (first->deadline_ms == env->timers_armed_ms) {
        return;
    }
    uint64_t now = clock_mono_ms();
    uint64_t ms = first->deadline_ms > now ? first->deadline_ms - now : 0;
    struct timeval tv = {
        .tv_sec = (time_t)(ms / 1000),
        .tv_usec = (suseconds_t)(ms % 1000) * 1000,
    };
    evtimer_add(env->ev_timers, &tv);
    env->timers_armed_ms = first->deadline_ms;
}

/* c's deadline is ms from now (its heap node has room: conn_new). */
static void
timer_set(struct conn *c, uint64_t ms)
{
    timer_heap_set(&c->env->timers, &c->timer, clock_mono_ms() + ms);
    timers_arm(c->env);
}

static void
timer_del(struct conn *c)
{
    timer_heap_remove(&c->env->timers, &c->timer);
}

/* The worker's timer: every connection whose deadline has come. */
static void
timers_fire(evutil_socket_t fd, short what, void *arg)
{
    struct conn_env *env = arg;
    uint64_t now = clock_mono_ms();
    (void)fd;
    (void)what;

    env->timers_armed_ms = UINT64_MAX;
    /* Bounded: a deadline set again for now is taken on the next turn. */
    for (size_t k = env->timers.n; k > 0; k--) {
        struct timer_node *t = timer_heap_min(&env->timers);
        if (t == NULL || t->deadline_ms > now) {
            break;
        }
        timer_heap_remove(&env->timers, t);
        conn_on_timer(
            (struct conn *)(void *)((char *)t - offsetof(struct conn, timer)));
    }
    timers_arm(env);
}

/* c has bytes to process that no readiness will announce: it goes on
 * after the next poll, once the others ready then have had their turn. */
static void
turn_queue(struct conn *c)
{
    struct conn_env *env = c->env;

    if (c->turn_queued) {
        return;
    }
    if (env->n_turns == env->turns_cap) {
        size_t cap = env->turns_cap < 16 ? 16 : 2 * env->turns_cap;
        struct conn **t = realloc(env->turns, cap * sizeof(*t));
        if (t == NULL) {
            /* Without room to wait its turn, it takes it now. */
            event_active(ev_io(c), EV_READ, 1);
            return;
        }
        env->turns = t;
        env->turns_cap = cap;
    }
    env->turns[env->n_turns++] = c;
    c->turn_queued = true;
    if (env->n_turns == 1) {
        struct timeval now = {0, 0};
        evtimer_add(env->ev_turns, &now);
    }
}

/* c is closing: it no longer waits for a turn. */
static void
turn_cancel(struct conn *c)
{
    struct conn_env *env = c->env;

    for (size_t i = 0; c->turn_queued && i < env->n_turns; i++) {
        if (env->turns[i] == c) {
            env->turns[i] = NULL;
            c->turn_queued = false;
        }
    }
}

/* The zero timer: each connection queued before it fired takes a turn;
 * those that queue again meanwhile wait for the next poll. */
static void
turns_fire(evutil_socket_t fd, short what, void *arg)
{
    struct conn_env *env = arg;
    size_t n = env->n_turns;
    (void)fd;
    (void)what;

    for (size_t i = 0; i < n; i++) {
        struct conn *c = env->turns[i];
        if (c != NULL) {
            env->turns[i] = NULL;
            c->turn_queued = false;
            conn_on_read(c);
        }
    }
    if (env->n_turns > n) {
        memmove(env->turns, env->turns + n,
                (env->n_turns - n) * sizeof(*env->turns));
    }
    env->n_turns -= n;
    if (env->n_turns > 0) {
        struct timeval now = {0, 0};
        evtimer_add(env->ev_turns, &now);
    }
}

int
conn_env_timers_init(struct conn_env *env)
{
    memset(&env->timers, 0, sizeof(env->timers));
    env->timers_armed_ms = UINT64_MAX;
    env->ev_timers = evtimer_new(env->base, timers_fire, env);
    env->turns = NULL;
    env->n_turns = env->turns_cap = 0;
    env->ev_turns = evtimer_new(env->base, turns_fire, env);
    return env->ev_timers != NULL && env->ev_turns != NULL ? 0 : -1;
}

void
conn_env_timers_clear(struct conn_env *env)
{
    if (env->ev_timers != NULL) {
        event_free(env->ev_timers);
        env->ev_timers = NULL;
    }
    if (env->ev_turns != NULL) {
        event_free(env->ev_turns);
        env->ev_turns = NULL;
    }
    free(env->turns);
    env->turns = NULL;
    env->n_turns = env->turns_cap = 0;
    timer_heap_free(&env->timers);
}

/*
 * Makes ev_io wait for exactly what c waits for: its own
 * reading unless paused, output the socket did not take, and, under TLS, a
 * recv that must send a record first or a send that must read first.
 * Bytes no readiness would announce (what the TLS transport already
 * holds, input kept at the end of c's turn) are taken after the next
 * poll (turn_queue).
 */
static void
conn_arm(struct conn *c)
{
    bool reading = !c->read_paused && !c->recv_wants_write;
    uint8_t flags =
        (uint8_t)((reading || c->send_wants_read ? EV_READ : 0) |
                  (c->send_blocked || c->recv_wants_write ? EV_WRITE : 0));

    /* One event for both directions: its interest changes only when
     * output backs up (or TLS asks), not per message. */
    if (flags != c->io_flags) {
        if (c->io_flags != 0) {
            event_del(ev_io(c));
        }
        if (flags != 0) {
            event_assign(ev_io(c), c->env->base, c->fd, flags | EV_PERSIST,
                         conn_on_io, c);
            event_add(ev_io(c), NULL);
        }
        c->io_flags = flags;
    }
    if (reading && (has_held(c) || c->t->has_pending(c->tctx))) {
        turn_queue(c);
    }
}

static void
read_pause(struct conn *c)
{
    c->read_paused = true;
    conn_arm(c);
}

/* A recv would block: WSD_IO_WANT_WRITE waits for writability instead. */
static void
conn_recv_wait(struct conn *c, ssize_t n)
{
    if (n == WSD_IO_WANT_WRITE) {
        c->recv_wants_write = true;
        conn_arm(c);
    }
}

/*
 * While the session is open, the timer wakes the connection for the
 * earliest of: a ping once the peer has been silent for ping_interval_ms,
 * the end of pong_timeout_ms after that ping, and idle_timeout_ms after
 * its last message. Reads only note the time; the timer finds out what
 * happened since, so the hot path never touches the timer heap.
 */
static void
keepalive_arm(struct conn *c)
{
    const struct config *cfg = c->env->cfg;
    uint64_t next = UINT64_MAX;

    if (c->ping_sent_ms != 0) {
        next = c->ping_sent_ms + cfg->pong_timeout_ms;
    } else if (cfg->ping_interval_ms != 0) {
        next = c->last_rx_ms + cfg->ping_interval_ms;
    }
    if (cfg->idle_timeout_ms != 0 &&
        c->last_message_ms + cfg->idle_timeout_ms < next) {
        next = c->last_message_ms + cfg->idle_timeout_ms;
    }
    if (next == UINT64_MAX) {
        timer_del(c);
        return;
    }
    uint64_t now = clock_mono_ms();
    timer_set(c, next > now ? next - now : 0);
}

static void conn_going_away(struct conn *c, const char *reason);
static bool queue_going_away(struct conn *c, const char *reason);
static int conn_flush(struct conn *c);
static int stage_send(struct conn *c);
static void stage_trim(struct conn_env *env);

static void
keepalive_check(struct conn *c)
{
    const struct config *cfg = c->env->cfg;
    uint64_t now = clock_mono_ms();

    if (cfg->idle_timeout_ms != 0 &&
        now - c->last_message_ms >= cfg->idle_timeout_ms) {
        log_debug("no message from the peer in %llu ms: closing",
                  (unsigned long long)cfg->idle_timeout_ms);
        conn_going_away(c, "idle timeout");
        return;
    }
    if (c->ping_sent_ms != 0 && c->last_rx_ms >= c->ping_sent_ms) {
        c->ping_sent_ms = 0; /* the peer is alive: pong or not */
    }
    if (c->ping_sent_ms != 0) {
        if (now - c->ping_sent_ms >= cfg->pong_timeout_ms) {
            log_debug("no answer to our ping in %llu ms: closing",
                      (unsigned long long)cfg->pong_timeout_ms);
            conn_going_away(c, "ping timeout");
            return;
        }
    } else if (cfg->ping_interval_ms != 0 &&
               now - c->last_rx_ms >= cfg->ping_interval_ms) {
        uint8_t hdr[WS_FRAME_HEADER_MAX];
        size_t n = ws_session_message_header(&c->session, hdr, WS_OP_PING, 0);
        if (n > 0) {
            conn_record_frame_out(&c->rec, WS_OP_PING);
            queue(c, hdr, n);
            c->ping_sent_ms = now;
            keepalive_arm(c);
            conn_flush(c);
            return;
        }
    }
    keepalive_arm(c);
}

/* A send or shutdown would block: wait for the readiness it names. */
static void
conn_send_wait(struct conn *c, ssize_t n)
{
    c->send_blocked = n == WSD_IO_AGAIN;
    c->send_wants_read = n == WSD_IO_WANT_READ;
    conn_arm(c);
}

struct conn *
conn_new(struct conn_env *env, int fd, const struct transport *t, void *tctx,
         const struct sockaddr *peer, socklen_t peer_len, bool refuse)
{
    /* The connection's event lives right behind it, in the same block:
     * libevent lets the caller own an event's memory (event_assign). */
    struct conn *c = calloc(1, sizeof(*c) + event_get_struct_event_size());
    int one = 1;

    if (c == NULL) {
        goto fail_close_fd;
    }
    c->env = env;
    c->fd = fd;
    c->t = t;
    c->tctx = tctx;
    c->state = CONN_HANDSHAKE;
    event_assign(ev_io(c), env->base, fd, EV_READ | EV_PERSIST, conn_on_io, c);
    /* Room in the heap for every connection's deadline now, so that
     * setting one later never allocates. */
    if (timer_heap_reserve(&env->timers, (size_t)env->n_conns + 1) != 0) {
        goto fail_free;
    }
    /* Echoes are small and latency matters more than packet count; the
     * write path already batches what one read produces. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1) {
        log_errno(LOG_LEVEL_DEBUG, "setsockopt(TCP_NODELAY)");
    }
    TAILQ_INSERT_TAIL(&env->conns, c, entry);
    env->n_conns++;
    conn_record_start(&c->rec, env->shm, env->slot_index, peer, peer_len,
                      wall_ms(env));
    conn_arm(c);
    timer_set(c, env->cfg->handshake_timeout_ms);
    if (refuse) {
        struct ws_error err = {503, "connection limit of this worker reached"};
        char resp[512];
        size_t n = ws_handshake_response_error(resp, sizeof(resp), &err,
                                               "wsd/" VERSION);
        queue(c, resp, n);
        conn_record_handshake(&c->rec, 503, NULL, NULL);
        conn_finish(c);
        /* The socket is writable at once: conn_on_io sends the 503. */
        conn_send_wait(c, WSD_IO_AGAIN);
    }
    return c;

fail_free:
    if (c->out != NULL) {
        evbuffer_free(c->out);
    }
    free(c);
fail_close_fd:
    log_msg(LOG_LEVEL_ERROR, "out of memory for a new connection");
    t->free(tctx);
    close(fd);
    return NULL;
}

/* What each way of ending means for the record. */
static const struct {
    bool dropped_by_me;
    const char *why; /* NULL: clean if close frames went both ways */
} conn_ends[] = {
    [CONN_END_DONE] = {true, NULL},
    [CONN_END_PEER_EOF] = {false, "peer dropped the TCP connection first"},
    [CONN_END_IO_ERROR] = {false, "connection error"},
    [CONN_END_NO_MEMORY] = {true, "out of memory"},
    [CONN_END_HANDSHAKE_TIMEOUT] = {true, "opening handshake timed out"},
    [CONN_END_CLOSE_TIMEOUT] = {true, "peer did not answer our close in time"},
    [CONN_END_FLUSH_TIMEOUT] = {true, "peer did not read our last bytes"},
    [CONN_END_SHUTDOWN] = {true, "server shutting down"},
};

void
conn_close(struct conn *c, enum conn_end why)
{
    struct conn_env *env = c->env;
    struct conn_record_end end = {
        .dropped_by_me = conn_ends[why].dropped_by_me,
        .open_handshake_timeout = why == CONN_END_HANDSHAKE_TIMEOUT,
        .close_handshake_timeout = why == CONN_END_CLOSE_TIMEOUT,
        .why = conn_ends[why].why,
    };

    if (why == CONN_END_DONE && c->rec.rec != NULL &&
        c->rec.rec->http_status != 101) {
        end.why = "opening handshake refused";
    }
    conn_record_finish(&c->rec, &end, wall_ms(env));
    if (env->stage_owner == c) {
        env->stage_len = 0;
        stage_trim(env);
    }
    turn_cancel(c);
    TAILQ_REMOVE(&env->conns, c, entry);
    env->n_conns--;
    event_del(ev_io(c));
    timer_del(c);
    if (c->out != NULL) {
        evbuffer_free(c->out);
    }
    free(c->hs);
    if (c->has_session) {
        ws_session_clear(&c->session);
    }
    c->t->free(c->tctx);
    close(c->fd);
    free(c);
    if (env->draining && env->n_conns == 0 && env->on_empty != NULL) {
        env->on_empty(env);
    }
}

/*
 * Sends what is pending. Returns 0, or -1 when c was closed. Once the
 * output is empty in CONN_FLUSH, shuts the sending side and lingers.
 */
static int
conn_flush(struct conn *c)
{
    size_t pending;

again:
    if (stage_send(c) != 0) {
        return -1;
    }
    if (c->out_lost) {
        log_msg(LOG_LEVEL_ERROR, "out of memory for a connection's output");
        conn_close(c, CONN_END_NO_MEMORY);
        return -1;
    }
    while ((pending = out_len(c)) > 0) {
        struct evbuffer_iovec v[CONN_IOV_MAX];
        struct iovec iov[CONN_IOV_MAX];
        int nv = evbuffer_peek(c->out, -1, NULL, v, CONN_IOV_MAX);
        if (nv > CONN_IOV_MAX) {
            nv = CONN_IOV_MAX;
        }
        for (int i = 0; i < nv; i++) {
            iov[i].iov_base = v[i].iov_base;
            iov[i].iov_len = v[i].iov_len;
        }
        ssize_t n = c->t->send(c->tctx, c->fd, iov, nv);
        if (n == WSD_IO_AGAIN || n == WSD_IO_WANT_READ) {
            conn_send_wait(c, n);
            return 0;
        }
        if (n < 0) {
            log_errno(LOG_LEVEL_DEBUG, "send");
            conn_close(c, CONN_END_IO_ERROR);
            return -1;
        }
        conn_record_written(&c->rec, (size_t)n);
        evbuffer_drain(c->out, (size_t)n);
    }
    if (c->out != NULL) {
        /* Nothing waits: an idle connection holds no output buffer. */
        evbuffer_free(c->out);
        c->out = NULL;
    }
    /* Graceful shutdown: nothing in flight either way any more. */
    if (c->env->graceful && c->state == CONN_OPEN && !has_held(c) &&
        ws_session_is_idle(&c->session) &&
        queue_going_away(c, "server shutting down")) {
        goto again;
    }
    c->send_blocked = false;
    c->send_wants_read = false;
    if (c->state == CONN_OPEN) {
        c->read_paused = false;
    }
    if (c->state == CONN_FLUSH) {
        int rc = c->t->shutdown(c->tctx, c->fd);
        if (rc == WSD_IO_AGAIN || rc == WSD_IO_WANT_READ) {
            /* TLS: the close_notify waits for room in the socket. */
            conn_send_wait(c, rc);
            return 0;
        }
        if (rc != 0) {
            conn_close(c, CONN_END_IO_ERROR);
            return -1;
        }
        c->state = CONN_LINGER;
        c->read_paused = false;
        timer_set(c, c->env->cfg->close_timeout_ms);
    }
    conn_arm(c);
    return 0;
}

/* After the last bytes are queued: send them, then close the TCP. */
static void
conn_finish(struct conn *c)
{
    c->state = CONN_FLUSH;
    read_pause(c);
    timer_set(c, c->env->cfg->close_timeout_ms);
}

/* Appends to c's own output buffer, made on first use. Bytes that cannot
 * be kept would tear the stream: the connection is then closed at its
 * next flush. */
static void
queue_out(struct conn *c, const void *p, size_t len)
{
    if (len == 0 || c->out_lost) {
        return;
    }
    if (c->out == NULL && (c->out = evbuffer_new()) == NULL) {
        c->out_lost = true;
        return;
    }
    if (evbuffer_add(c->out, p, len) != 0) {
        c->out_lost = true;
    }
}

/* A worker buffer released after use once it grew past this. */
#define CONN_BUF_KEEP_BYTES (256 * 1024)

/* Makes b hold at least need bytes: twice its size, or need when that is
 * more (one large message is not rounded up). Returns false, b as it
 * was, when out of memory. */
static bool
buf_reserve(struct conn_buf *b, size_t need)
{
    if (b->cap >= need) {
        return true;
    }
    size_t cap = b->cap < 2048 ? 4096 : 2 * b->cap;
    if (cap < need) {
        cap = need;
    }
    uint8_t *p = realloc(b->p, cap);
    if (p == NULL) {
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

/* Releases b when a large message grew it. */
static void
buf_trim(struct conn_buf *b)
{
    if (b->cap > CONN_BUF_KEEP_BYTES) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
}

/*
 * Releases the stage when a large burst grew it, but never while it holds
 * bytes: they may be another connection's (a 503 queued on accept waits
 * there for the socket to be writable).
 */
static void
stage_trim(struct conn_env *env)
{
    if (env->stage_len == 0) {
        env->stage_owner = NULL;
        buf_trim(&env->stage);
    }
}

/*
 * Moves what the stage holds for its owner into the owner's own buffer,
 * and has the owner wait for writability to send it. Only a path that
 * queued without flushing leaves the stage full for the next connection:
 * this keeps its bytes, in order, for the right peer.
 */
static void
stage_spill(struct conn_env *env)
{
    struct conn *o = env->stage_owner;

    if (o != NULL && env->stage_len > 0) {
        queue_out(o, env->stage.p, env->stage_len);
        o->send_blocked = true;
        conn_arm(o);
    }
    env->stage_len = 0;
    env->stage_owner = NULL;
}

/*
 * Queues bytes to send: into the worker's stage while c has nothing
 * waiting in its own buffer (the common case: flushed at the end of this
 * callback with one writev), else behind what waits.
 */
static void
queue(struct conn *c, const void *p, size_t len)
{
    struct conn_env *env = c->env;

    if (len == 0 || c->out_lost) {
        return;
    }
    if (env->stage_owner != c && env->stage_len > 0) {
        stage_spill(env);
    }
    if (out_len(c) == 0) {
        if (buf_reserve(&env->stage, env->stage_len + len)) {
            memcpy(env->stage.p + env->stage_len, p, len);
            env->stage_len += len;
            env->stage_owner = c;
            return;
        }
        /* No room to grow: what is staged goes first, then this. */
        stage_spill(env);
    }
    queue_out(c, p, len);
}

/*
 * Sends iov[0..n) at once when nothing of c's waits before it, and keeps
 * in c's own buffer whatever the socket does not take (all of it when c
 * must wait). Returns 0, or -1 on a send error (the caller closes c).
 */
static int
send_or_keep(struct conn *c, const struct iovec *iov, int n)
{
    size_t took = 0;

    if (out_len(c) == 0 && !c->send_blocked && !c->send_wants_read) {
        ssize_t r = c->t->send(c->tctx, c->fd, iov, n);
        if (r == WSD_IO_ERROR) {
            log_errno(LOG_LEVEL_DEBUG, "send");
            return -1;
        }
        if (r > 0) {
            took = (size_t)r;
            conn_record_written(&c->rec, took);
        }
    }
    for (int i = 0; i < n; i++) {
        size_t skip = took < iov[i].iov_len ? took : iov[i].iov_len;
        queue_out(c, (const uint8_t *)iov[i].iov_base + skip,
                  iov[i].iov_len - skip);
        took -= skip;
    }
    return 0;
}

/*
 * Takes what the stage holds for c into iov[0] (returns 1), or returns 0
 * when it holds nothing of c's. Either way the stage is c's no more: its
 * bytes must be sent or kept before the next queue().
 */
static int
stage_take(struct conn *c, struct iovec *iov)
{
    struct conn_env *env = c->env;
    int n = 0;

    if (env->stage_owner == c) {
        if (env->stage_len > 0) {
            iov->iov_base = env->stage.p;
            iov->iov_len = env->stage_len;
            n = 1;
        }
        env->stage_len = 0;
        env->stage_owner = NULL;
    }
    return n;
}

/*
 * Sends what the stage holds for c, straight from it. Returns 0, or -1
 * when c was closed (a send error).
 */
static int
stage_send(struct conn *c)
{
    struct iovec iov;
    int rc = stage_take(c, &iov) == 1 ? send_or_keep(c, &iov, 1) : 0;

    stage_trim(c->env);
    if (rc != 0) {
        conn_close(c, CONN_END_IO_ERROR);
    }
    return rc;
}

/*
 * The worker's compression buffer with room for need bytes, or NULL. It is
 * shared: its contents live only until the caller has queued them. One
 * grown for a large message is released afterwards by buf_trim.
 */
static uint8_t *
scratch(struct conn_env *env, size_t need)
{
    return buf_reserve(&env->zbuf, need) ? env->zbuf.p : NULL;
}

/*
 * Echoes a message, compressed when permessage-deflate asks for it. When
 * nothing is queued before it, a large one goes out in one writev straight
 * from where it lies, and only what the socket did not take is copied.
 */
static int
conn_echo(struct conn *c, const struct ws_event *ev)
{
    struct ws_out_message m;
    size_t bound = ws_session_message_bound(&c->session, ev->len);
    uint8_t *zbuf = bound > 0 ? scratch(c->env, bound) : NULL;
    int rc = 0;

    if (!ws_session_message(&c->session, ev->opcode, ev->data, ev->len, zbuf,
                            zbuf != NULL ? bound : 0, &m)) {
        return 0;
    }
    conn_record_frame_out(&c->rec, ev->opcode);
    conn_record_message_out(&c->rec, ev->len, m.compressed, m.payload_len);
    if (m.payload_len >= CONN_ZERO_COPY_BYTES) {
        /* A large echo goes out from where it lies, in one writev behind
         * what is staged for c; only what the socket does not take is
         * copied. */
        struct iovec iov[3];
        int n = 0;
        if (c->env->stage_owner != c) {
            stage_spill(c->env);
        }
        n += stage_take(c, &iov[n]);
        iov[n].iov_base = m.hdr;
        iov[n++].iov_len = m.hdr_len;
        iov[n].iov_base = (void *)(uintptr_t)m.payload;
        iov[n++].iov_len = m.payload_len;
        rc = send_or_keep(c, iov, n);
        stage_trim(c->env);
    } else {
        queue(c, m.hdr, m.hdr_len);
        queue(c, m.payload, m.payload_len);
    }
    if (zbuf != NULL) {
        buf_trim(&c->env->zbuf);
    }
    if (rc != 0) {
        conn_close(c, CONN_END_IO_ERROR);
    }
    return rc;
}

/* c's output: its own buffer and what the stage holds for it. */
static size_t
out_pending(const struct conn *c)
{
    const struct conn_env *env = c->env;
    return out_len(c) + (env->stage_owner == c ? env->stage_len : 0);
}

/*
 * Runs received bytes through the session and queues what its events call
 * for, in wire order, until the bytes are used up, *budget (message
 * payload this callback may still echo) is spent, or the output reaches
 * the high-water mark (reading pauses). Returns the bytes used, or -1
 * when c was closed. Once c is no longer open, the session takes the rest
 * (and ignores what follows a close).
 */
static ssize_t
conn_process(struct conn *c, uint8_t *p, size_t n, size_t *budget)
{
    struct ws_event ev;
    size_t n0 = n;

    while (n > 0) {
        if (c->state == CONN_OPEN &&
            (*budget == 0 ||
             out_pending(c) >= c->env->cfg->write_high_water_bytes)) {
            break;
        }
        size_t used = ws_session_feed(&c->session, p, n, &ev);
        p += used;
        n -= used;
        if (ev.has_frame) {
            conn_record_frame_in(&c->rec, &ev.frame);
        }
        switch (ev.type) {
        case WS_EV_NONE:
        case WS_EV_PONG:
            break;
        case WS_EV_MESSAGE:
            c->last_message_ms = c->last_rx_ms;
            conn_record_message_in(&c->rec, ev.len);
            *budget -= ev.len < *budget ? ev.len : *budget;
            if (conn_echo(c, &ev) != 0) {
                return -1;
            }
            break;
        case WS_EV_PING:
            conn_record_frame_out(&c->rec, WS_OP_PONG);
            queue(c, ev.reply, ev.reply_len);
            break;
        case WS_EV_CLOSE:
            conn_record_close_in(&c->rec, ev.close.code, ev.close.has_code,
                                 ev.close.reason, ev.close.reason_len);
            if (ev.reply_len > 0) {
                /* §5.5.1: our answer echoes the peer's code. */
                conn_record_close_out(&c->rec, ev.close.code, NULL, false);
                conn_record_frame_out(&c->rec, WS_OP_CLOSE);
            }
            queue(c, ev.reply, ev.reply_len);
            conn_finish(c);
            break;
        case WS_EV_FAIL:
            log_debug("failing connection: %u %s", ev.error.code,
                      ev.error.reason);
            if (ev.peer_closed) {
                conn_record_close_in(&c->rec, ev.close.code, ev.close.has_code,
                                     ev.close.reason, ev.close.reason_len);
            }
            if (ev.reply_len > 0) {
                conn_record_close_out(&c->rec, ev.error.code, ev.error.reason,
                                      true);
                conn_record_frame_out(&c->rec, WS_OP_CLOSE);
            }
            queue(c, ev.reply, ev.reply_len);
            if (ws_session_state(&c->session) == WS_SESSION_CLOSING) {
                /* §7.1.1: the peer's frames can still be told apart, so
                 * the closing handshake can complete: wait for its close
                 * (as after our own), then close the TCP first. */
                timer_set(c, c->env->cfg->close_timeout_ms);
            } else {
                conn_finish(c);
            }
            break;
        }
    }
    if (c->state == CONN_OPEN &&
        out_pending(c) >= c->env->cfg->write_high_water_bytes) {
        read_pause(c);
    }
    return (ssize_t)(n0 - n);
}

/*
 * conn_process, keeping what it did not use for c's next turn (c holds
 * nothing yet). Returns 0 when all was used, 1 when some is held, or -1
 * when c was closed.
 */
static int
conn_process_or_hold(struct conn *c, uint8_t *p, size_t n, size_t *budget)
{
    ssize_t used = conn_process(c, p, n, budget);

    if (used < 0) {
        return -1;
    }
    if ((size_t)used == n) {
        return 0;
    }
    n -= (size_t)used;
    struct conn_held *h = malloc(sizeof(*h) + n);
    if (h == NULL) {
        log_msg(LOG_LEVEL_ERROR, "out of memory for a connection's input");
        conn_close(c, CONN_END_NO_MEMORY);
        return -1;
    }
    h->off = 0;
    h->len = n;
    memcpy(h->buf, p + used, n);
    c->held = h;
    return 1;
}

/* Processes what c holds. Returns 0, or -1 when c was closed. */
static int
conn_process_held(struct conn *c, size_t *budget)
{
    struct conn_held *h = c->held;
    ssize_t used = conn_process(c, h->buf + h->off, h->len - h->off, budget);

    if (used < 0) {
        return -1;
    }
    h->off += (size_t)used;
    if (h->off == h->len) {
        free(h);
        c->held = NULL;
    }
    return 0;
}

/* Once a request is read, a TLS handshake is done: record what it chose. */
static void
record_transport(struct conn *c)
{
    char version[16];
    char cipher[48];

    if (c->t->describe(c->tctx, version, sizeof(version), cipher,
                       sizeof(cipher))) {
        conn_record_tls(&c->rec, version, cipher);
    }
}

static void
conn_refuse_handshake(struct conn *c, const struct ws_error *err)
{
    char resp[1024];
    size_t n =
        ws_handshake_response_error(resp, sizeof(resp), err, "wsd/" VERSION);
    log_debug("handshake refused: %u %s", err->code, err->reason);
    record_transport(c);
    conn_record_handshake(&c->rec, err->code, &c->hs->req, NULL);
    queue(c, resp, n);
    free(c->hs);
    c->hs = NULL;
    conn_finish(c);
}

/* The request is complete and acceptable: answer 101 and go on. */
static int
conn_accept_handshake(struct conn *c, size_t request_len)
{
    struct conn_handshake *hs = c->hs;
    struct ws_deflate_params deflate;
    char ext[160];
    char resp[512];
    bool use_deflate =
        ws_deflate_negotiate(&c->env->deflate_cfg, hs->req.extensions,
                             hs->req.n_extensions, &deflate, ext, sizeof(ext));
    size_t n = ws_handshake_response_101(
        resp, sizeof(resp), &hs->req, use_deflate ? ext : NULL, "wsd/" VERSION);
    int rc = 0;

    record_transport(c);
    conn_record_handshake(&c->rec, 101, &hs->req, use_deflate ? ext : NULL);
    queue(c, resp, n);
    ws_session_init(&c->session, &c->env->session_cfg);
    c->has_session = true;
    if (use_deflate) {
        ws_session_use_deflate(&c->session, &c->env->deflate_cfg, &deflate);
    }
    c->state = CONN_OPEN;
    c->last_rx_ms = clock_mono_ms();
    c->last_message_ms = c->last_rx_ms;
    keepalive_arm(c);
    /* Frames sent right behind the request are already here. */
    c->hs = NULL; /* c->held from now on */
    if (hs->len > request_len) {
        size_t budget = CONN_WORK_BYTES;
        rc = conn_process_or_hold(c, (uint8_t *)hs->buf + request_len,
                                  hs->len - request_len, &budget) < 0
                 ? -1
                 : 0;
    }
    free(hs);
    return rc;
}

static void
conn_read_handshake(struct conn *c)
{
    const struct ws_handshake_config *hc = &c->env->handshake_cfg;
    struct ws_error err = {0, NULL};

    for (;;) {
        struct conn_handshake *hs = c->hs;
        if (hs == NULL || hs->len == hs->cap) {
            /* Grow up to one byte over the limit, so that a request too
             * large is seen as such (431) rather than as incomplete. */
            size_t cap =
                hs == NULL ? CONN_HANDSHAKE_INITIAL_BYTES : hs->cap * 2;
            if (cap > hc->max_bytes + 1) {
                cap = hc->max_bytes + 1;
            }
            hs = realloc(c->hs, sizeof(*hs) + cap);
            if (hs == NULL) {
                log_msg(LOG_LEVEL_ERROR, "out of memory in a handshake");
                conn_close(c, CONN_END_NO_MEMORY);
                return;
            }
            if (c->hs == NULL) {
                memset(hs, 0, sizeof(*hs));
            }
            hs->cap = cap;
            c->hs = hs;
        }
        ssize_t n =
            c->t->recv(c->tctx, c->fd, hs->buf + hs->len, hs->cap - hs->len);
        if (n == WSD_IO_AGAIN || n == WSD_IO_WANT_WRITE) {
            conn_recv_wait(c, n);
            return;
        }
        if (n < 0) {
            conn_close(c,
                       n == WSD_IO_EOF ? CONN_END_PEER_EOF : CONN_END_IO_ERROR);
            return;
        }
        conn_record_read(&c->rec, (size_t)n);
        hs->len += (size_t)n;
        ssize_t r = ws_handshake_parse(&hs->req, hs->buf, hs->len, hc, &err);
        if (r == WS_AGAIN) {
            continue;
        }
        if (r < 0) {
            conn_refuse_handshake(c, &err);
        } else if (conn_accept_handshake(c, (size_t)r) != 0) {
            return;
        }
        conn_flush(c);
        return;
    }
}

static void
conn_read_frames(struct conn *c)
{
    struct conn_env *env = c->env;
    size_t budget = CONN_WORK_BYTES;

    if (has_held(c)) {
        if (conn_process_held(c, &budget) != 0) {
            return;
        }
        if (c->held != NULL || c->state != CONN_OPEN || c->read_paused ||
            budget == 0) {
            /* Its turn is over, or it waits for its output to drain. */
            conn_flush(c);
            return;
        }
    }
    for (int i = 0; i < CONN_READS_PER_EVENT; i++) {
        ssize_t n = c->t->recv(c->tctx, c->fd, env->rbuf, env->rbuf_bytes);
        if (n == WSD_IO_AGAIN || n == WSD_IO_WANT_WRITE) {
            conn_recv_wait(c, n);
            break;
        }
        if (n < 0) {
            /* The peer went away without a close handshake. */
            log_debug("connection lost: %s",
                      n == WSD_IO_EOF ? "end of stream" : strerror(errno));
            conn_close(c,
                       n == WSD_IO_EOF ? CONN_END_PEER_EOF : CONN_END_IO_ERROR);
            return;
        }
        conn_record_read(&c->rec, (size_t)n);
        if (i == 0) {
            c->last_rx_ms = clock_mono_ms();
        }
        int held = conn_process_or_hold(c, env->rbuf, (size_t)n, &budget);
        if (held < 0) {
            return;
        }
        if (held > 0) {
            break;
        }
        if (c->state != CONN_OPEN || c->read_paused || budget == 0 ||
            (size_t)n < env->rbuf_bytes) {
            break;
        }
    }
    conn_flush(c);
}

static void
conn_read_linger(struct conn *c)
{
    for (int i = 0; i < CONN_READS_PER_EVENT; i++) {
        ssize_t n =
            c->t->recv(c->tctx, c->fd, c->env->rbuf, c->env->rbuf_bytes);
        if (n == WSD_IO_AGAIN || n == WSD_IO_WANT_WRITE) {
            conn_recv_wait(c, n);
            return;
        }
        if (n < 0) {
            /* Our side was shut first: the peer's end of stream (or its
             * reset) completes the close. */
            conn_close(c, CONN_END_DONE);
            return;
        }
        conn_record_read(&c->rec, (size_t)n);
    }
}

static void
conn_on_read(struct conn *c)
{
    if (c->send_wants_read) {
        /* TLS: the send waited for the peer's records, which are here. */
        c->send_wants_read = false;
        if (conn_flush(c) != 0) {
            return;
        }
    }
    if (c->read_paused || c->recv_wants_write) {
        return;
    }
    switch ((enum conn_state)c->state) {
    case CONN_HANDSHAKE:
        conn_read_handshake(c);
        return;
    case CONN_OPEN:
        conn_read_frames(c);
        return;
    case CONN_FLUSH:
        return;
    case CONN_LINGER:
        conn_read_linger(c);
        return;
    }
}

static void
conn_on_io(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    bool read = (what & EV_READ) != 0;
    (void)fd;

    if ((what & EV_WRITE) != 0) {
        /* TLS: a recv that had a record to send first can go on now. */
        read = read || c->recv_wants_write;
        c->recv_wants_write = false;
        if (conn_flush(c) != 0) {
            return;
        }
    }
    if (read) {
        conn_on_read(c);
    }
}

static void
conn_on_timer(struct conn *c)
{
    switch ((enum conn_state)c->state) {
    case CONN_HANDSHAKE:
        log_debug("opening handshake timed out");
        conn_close(c, CONN_END_HANDSHAKE_TIMEOUT);
        return;
    case CONN_OPEN:
        if (ws_session_state(&c->session) == WS_SESSION_OPEN) {
            keepalive_check(c);
            return;
        }
        log_debug("peer did not answer our close in time");
        conn_close(c, CONN_END_CLOSE_TIMEOUT);
        return;
    case CONN_FLUSH:
        log_debug("peer did not read our last bytes in time");
        conn_close(c, CONN_END_FLUSH_TIMEOUT);
        return;
    case CONN_LINGER:
        /* Our part is done: the peer merely did not close its side. */
        log_debug("peer did not close its side in time");
        conn_close(c, CONN_END_DONE);
        return;
    }
}

/*
 * Queues our close frame with code 1001 and reason (static) on an open
 * session and starts the close timeout. Returns false when the session is
 * not open (nothing done).
 */
static bool
queue_going_away(struct conn *c, const char *reason)
{
    struct ws_event ev;

    if (c->state != CONN_OPEN ||
        !ws_session_close(&c->session, WS_CLOSE_GOING_AWAY, reason, &ev)) {
        return false;
    }
    conn_record_close_out(&c->rec, WS_CLOSE_GOING_AWAY, reason, false);
    conn_record_frame_out(&c->rec, WS_OP_CLOSE);
    queue(c, ev.reply, ev.reply_len);
    timer_set(c, c->env->cfg->close_timeout_ms);
    return true;
}

/* queue_going_away, then send. c may be freed. */
static void
conn_going_away(struct conn *c, const char *reason)
{
    if (queue_going_away(c, reason)) {
        conn_flush(c);
    }
}

/* conn_shutdown; returns whether c still exists. */
static bool
shutdown_one(struct conn *c)
{
    if (c->state == CONN_HANDSHAKE) {
        conn_close(c, CONN_END_SHUTDOWN);
        return false;
    }
    if (queue_going_away(c, "server shutting down")) {
        return conn_flush(c) == 0;
    }
    return true;
}

void
conn_shutdown(struct conn *c)
{
    (void)shutdown_one(c);
}

void
conn_shutdown_graceful_all(struct conn_env *env)
{
    struct conn *c;
    struct conn *next;

    for (c = TAILQ_FIRST(&env->conns); c != NULL; c = next) {
        next = TAILQ_NEXT(c, entry);
        if (c->state == CONN_OPEN && !c->send_blocked && !c->send_wants_read) {
            conn_flush(c); /* sends the close if nothing is in flight */
        }
    }
}

bool
conn_shutdown_next(struct conn_env *env)
{
    struct conn *c = TAILQ_FIRST(&env->conns);

    if (c == NULL) {
        return false;
    }
    /* Still there: behind the ones not yet told. */
    if (shutdown_one(c)) {
        TAILQ_REMOVE(&env->conns, c, entry);
        TAILQ_INSERT_TAIL(&env->conns, c, entry);
    }
    return true;
}

void
conn_shutdown_all(struct conn_env *env)
{
    struct conn *c;
    struct conn *next;

    /* conn_shutdown may free c, and the last one may end the loop. */
    for (c = TAILQ_FIRST(&env->conns); c != NULL; c = next) {
        next = TAILQ_NEXT(c, entry);
        conn_shutdown(c);
    }
}

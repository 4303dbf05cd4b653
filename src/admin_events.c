/* SPDX-License-Identifier: MIT */
/*
 * Server-sent events to the subscribers of /v1/events (admin_events.h).
 *
 * A subscription is an evhttp request whose chunked reply never ends.
 * Its connection's close callback says when the client went away: evhttp
 * then has detached the request, which is ours to free. The connection's
 * read timeout is lifted (a subscriber sends nothing) and its write
 * timeout is the stall limit: a client that takes nothing for that long
 * is dropped by evhttp the same way.
 */
#include "autoconf.h"

#include "admin_events.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

/* Bytes a subscriber may send (it should send none) before wsd stops
 * reading them. */
#define ADMIN_EVENTS_INPUT_MAX 4096

/*
 * The kernel's send buffer of a subscriber's socket. Linux would grow it
 * to megabytes for a reader that stopped reading, each of them held for
 * nothing; a few seconds of events is room enough for one that reads.
 */
#define ADMIN_EVENTS_SNDBUF (16 << 10)

struct subscriber {
    TAILQ_ENTRY(subscriber) entry;
    struct admin_events *owner;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    size_t left; /* its output after the last event was queued */
};

struct admin_events {
    TAILQ_HEAD(subscriber_list, subscriber) subs;
    unsigned n;
    struct evbuffer *chunk; /* one event, copied into each output */
};

struct admin_events *
admin_events_new(void)
{
    struct admin_events *e = calloc(1, sizeof(*e));

    if (e == NULL) {
        return NULL;
    }
    TAILQ_INIT(&e->subs);
    e->chunk = evbuffer_new();
    if (e->chunk == NULL) {
        free(e);
        return NULL;
    }
    return e;
}

static void
forget(struct subscriber *s)
{
    TAILQ_REMOVE(&s->owner->subs, s, entry);
    s->owner->n--;
    free(s);
}

/*
 * Sends what evcon's output holds, as far as its socket takes it now. The
 * output of a socket bufferevent is frozen at its start for any writer
 * but the bufferevent's own (evbuffer_write would do nothing): its bytes
 * are read in place and sent, and left in it, as it is freed next.
 */
static void
write_now(struct evhttp_connection *evcon)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    struct evbuffer_iovec v[16];
    int n = evbuffer_peek(bufferevent_get_output(bev), -1, NULL, v, 16);
    struct iovec iov[16];
    struct msghdr msg = {.msg_iov = iov};

    if (n <= 0) {
        return;
    }
    msg.msg_iovlen = (size_t)(n < 16 ? n : 16);
    for (size_t i = 0; i < msg.msg_iovlen; i++) {
        iov[i].iov_base = v[i].iov_base;
        iov[i].iov_len = v[i].iov_len;
    }
    (void)sendmsg(bufferevent_getfd(bev), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Ends s's stream; its connection goes on as evhttp decides. now: the
 * connection is freed next (the master stops), so what its output holds,
 * the stream's last chunk included, is written at once, as far as the
 * socket takes it, for the client to see the stream end rather than cut. */
static void
end(struct subscriber *s, bool now)
{
    evhttp_connection_set_closecb(s->evcon, NULL, NULL);
    evhttp_send_reply_end(s->req);
    if (now) {
        write_now(s->evcon);
    }
    forget(s);
}

static void
end_all(struct admin_events *e, bool now)
{
    struct subscriber *s;

    while ((s = TAILQ_FIRST(&e->subs)) != NULL) {
        end(s, now);
    }
}

void
admin_events_end_all(struct admin_events *e)
{
    end_all(e, false);
}

void
admin_events_free(struct admin_events *e)
{
    if (e == NULL) {
        return;
    }
    end_all(e, true);
    evbuffer_free(e->chunk);
    free(e);
}

unsigned
admin_events_count(const struct admin_events *e)
{
    return e->n;
}

/* The client went away, or stalled past the write timeout. */
static void
on_close(struct evhttp_connection *evcon, void *arg)
{
    struct subscriber *s = arg;

    (void)evcon;
    /* Detached from its connection (the client's end or a timeout), the
     * request is ours; otherwise evhttp frees it with the connection. */
    if (evhttp_request_get_connection(s->req) == NULL) {
        evhttp_send_reply_end(s->req);
    }
    forget(s);
}

/* "event: NAME\ndata: JSON\n\n" into e->chunk; false when out of memory.
 * Compact JSON holds no newline (jansson escapes those in strings). */
static bool
format_event(struct admin_events *e, const char *name, json_t *j)
{
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    evbuffer_drain(e->chunk, evbuffer_get_length(e->chunk));
    if (text == NULL) {
        return false;
    }
    int rc =
        evbuffer_add_printf(e->chunk, "event: %s\ndata: %s\n\n", name, text);
    free(text);
    return rc > 0;
}

/* Queues e->chunk (kept) for s, unless s has a backlog already. */
static void
send_to(struct admin_events *e, struct subscriber *s)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);
    struct evbuffer *out = bufferevent_get_output(bev);
    size_t held = evbuffer_get_length(out);
    struct evbuffer *copy;

    /* A subscriber that took nothing since the last event gets no more:
     * each chunk queued re-arms the write timeout (libevent's), which
     * would then never run out for it. */
    if (held > ADMIN_EVENTS_BACKLOG || (held > 0 && held >= s->left)) {
        s->left = held;
        return; /* it gets a later event once it has caught up */
    }
    size_t len = evbuffer_get_length(e->chunk);
    copy = evbuffer_new();
    if (copy != NULL &&
        evbuffer_add(copy, evbuffer_pullup(e->chunk, -1), len) == 0) {
        evhttp_send_reply_chunk(s->req, copy);
    }
    if (copy != NULL) {
        evbuffer_free(copy);
    }
    s->left = evbuffer_get_length(out);
}

bool
admin_events_subscribe(struct admin_events *e, struct evhttp_request *req,
                       const char *name, json_t *first)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct subscriber *s;

    if (e->n >= ADMIN_EVENTS_MAX || evcon == NULL ||
        (s = calloc(1, sizeof(*s))) == NULL) {
        json_decref(first);
        return false;
    }
    evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        free(s);
        json_decref(first);
        evhttp_send_reply(req, 200, "OK", NULL);
        return true;
    }
    s->owner = e;
    s->req = req;
    s->evcon = evcon;
    s->left = SIZE_MAX; /* no event yet: the first goes out behind the head */
    TAILQ_INSERT_TAIL(&e->subs, s, entry);
    e->n++;
    evhttp_send_reply_start(req, 200, "OK");
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    struct timeval stall = {ADMIN_EVENTS_STALL_S, 0};
    bufferevent_set_timeouts(bev, NULL, &stall);
    bufferevent_setwatermark(bev, EV_READ, 0, ADMIN_EVENTS_INPUT_MAX);
    int sndbuf = ADMIN_EVENTS_SNDBUF;
    (void)setsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_SNDBUF, &sndbuf,
                     sizeof(sndbuf));
    evhttp_connection_set_closecb(evcon, on_close, s);
    if (first != NULL && format_event(e, name, first)) {
        send_to(e, s);
    }
    return true;
}

void
admin_events_send(struct admin_events *e, const char *name, json_t *j)
{
    struct subscriber *s;

    if (!format_event(e, name, j)) {
        return;
    }
    for (s = TAILQ_FIRST(&e->subs); s != NULL; s = TAILQ_NEXT(s, entry)) {
        send_to(e, s);
    }
}

/* SPDX-License-Identifier: MIT */
/*
 * lws_echo: a WebSocket echo server on Debian's libwebsockets, so that
 * `make bench` can put the library in the comparison table (it ships no
 * echo program of its own). Not part of wsd: a benchmark peer only.
 *
 * It reassembles each message (up to 16 MiB) and echoes it whole, with
 * its opcode, as the other servers in the table do; permessage-deflate is
 * offered through the library's own extension, so compression is
 * negotiated whenever the client asks for it.
 *
 * usage: lws_echo PORT
 */
#include "autoconf.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#define LWS_ECHO_MAX_MESSAGE_BYTES (16u * 1024 * 1024)
/* What the library reads and hands over at a time: 64 KiB, as wsd and
 * uWebSockets read at least that much per call. */
#define LWS_ECHO_RX_BYTES          (64u * 1024)

/* One message waiting to be echoed, LWS_PRE bytes of headroom first. */
struct lws_echo_msg {
    struct lws_echo_msg *next;
    size_t len;
    bool binary;
    uint8_t buf[]; /* LWS_PRE + len */
};

/* Per connection: the message being received, the ones to send. */
struct lws_echo_session {
    struct lws_echo_msg *rx; /* being reassembled; NULL between messages */
    size_t rx_cap;
    bool rx_binary;            /* the opcode of its first frame */
    struct lws_echo_msg *head; /* to send, oldest first */
    struct lws_echo_msg *tail;
};

static volatile sig_atomic_t lws_echo_stop;

static void
on_signal(int sig)
{
    (void)sig;
    lws_echo_stop = 1;
}

static void
session_clear(struct lws_echo_session *s)
{
    free(s->rx);
    s->rx = NULL;
    while (s->head != NULL) {
        struct lws_echo_msg *m = s->head;
        s->head = m->next;
        free(m);
    }
    s->tail = NULL;
}

/* Appends a received fragment to the message being reassembled. Returns
 * false when it grows past the limit or memory runs out. */
static bool
session_append(struct lws_echo_session *s, const void *in, size_t len)
{
    size_t have = s->rx != NULL ? s->rx->len : 0;

    if (have + len > LWS_ECHO_MAX_MESSAGE_BYTES) {
        return false;
    }
    if (s->rx == NULL || have + len > s->rx_cap) {
        size_t cap = s->rx_cap > 0 ? s->rx_cap : 4096;
        while (cap < have + len) {
            cap *= 2;
        }
        struct lws_echo_msg *m = realloc(s->rx, sizeof(*m) + LWS_PRE + cap);
        if (m == NULL) {
            return false;
        }
        if (s->rx == NULL) {
            m->len = 0;
        }
        s->rx = m;
        s->rx_cap = cap;
    }
    memcpy(s->rx->buf + LWS_PRE + have, in, len);
    s->rx->len = have + len;
    return true;
}

/* The message is complete: queue it for the echo. */
static void
session_finish(struct lws_echo_session *s)
{
    struct lws_echo_msg *m = s->rx;

    s->rx = NULL;
    s->rx_cap = 0;
    if (m == NULL) {
        /* An empty message: no fragment carried bytes. */
        m = calloc(1, sizeof(*m) + LWS_PRE);
        if (m == NULL) {
            return;
        }
    }
    m->next = NULL;
    m->binary = s->rx_binary;
    if (s->tail != NULL) {
        s->tail->next = m;
    } else {
        s->head = m;
    }
    s->tail = m;
}

static int
echo_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
              void *in, size_t len)
{
    struct lws_echo_session *s = user;

    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        memset(s, 0, sizeof(*s));
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (lws_is_first_fragment(wsi)) {
            s->rx_binary = lws_frame_is_binary(wsi) != 0;
        }
        if (len > 0 && !session_append(s, in, len)) {
            return -1;
        }
        /* The last piece of the last frame: the message is whole. */
        if (lws_is_final_fragment(wsi) &&
            lws_remaining_packet_payload(wsi) == 0) {
            bool was_empty = s->head == NULL;
            session_finish(s);
            if (was_empty) {
                lws_callback_on_writable(wsi);
            }
        }
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        struct lws_echo_msg *m = s->head;
        if (m == NULL) {
            return 0;
        }
        /* One write per callback, as the library asks; it keeps what the
         * socket does not take and calls back once that is sent. */
        int n = lws_write(wsi, m->buf + LWS_PRE, m->len,
                          m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        if (n < 0) {
            return -1;
        }
        s->head = m->next;
        if (s->head == NULL) {
            s->tail = NULL;
        }
        free(m);
        if (s->head != NULL) {
            lws_callback_on_writable(wsi);
        }
        return 0;
    }
    case LWS_CALLBACK_CLOSED:
        session_clear(s);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {
        .name = "echo",
        .callback = echo_callback,
        .per_session_data_size = sizeof(struct lws_echo_session),
        .rx_buffer_size = LWS_ECHO_RX_BYTES,
    },
    {.name = NULL},
};

static const struct lws_extension extensions[] = {
    {
        .name = "permessage-deflate",
        .callback = lws_extension_callback_pm_deflate,
        .client_offer = "permessage-deflate; client_max_window_bits",
    },
    {.name = NULL},
};

int
main(int argc, char **argv)
{
    struct lws_context_creation_info info;
    struct lws_context *ctx;

    if (argc != 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
        fprintf(stderr, "usage: lws_echo PORT\n");
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    memset(&info, 0, sizeof(info));
    info.port = atoi(argv[1]);
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.extensions = extensions;
    info.pt_serv_buf_size = LWS_ECHO_RX_BYTES;
    info.gid = -1; /* keep our own user and group */
    info.uid = -1;
    ctx = lws_create_context(&info);
    if (ctx == NULL) {
        fprintf(stderr, "lws_echo: lws_create_context failed\n");
        return 1;
    }
    printf("lws_echo: listening on 127.0.0.1:%d\n", info.port);
    fflush(stdout);
    while (!lws_echo_stop && lws_service(ctx, 0) >= 0) {
    }
    lws_context_destroy(ctx);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The client core against the server core, in memory: permessage-deflate
 * negotiated from the client's offer (ws_deflate_offer_*) by the server
 * (ws_deflate_negotiate) and read back by the client (ws_deflate_accept),
 * both ends agreeing on what the streams do; the answers a client must
 * refuse; then a client session and a server session wired together,
 * messages both ways under every window size and context rule, each
 * compressed payload also read by an independent zlib inflater of the
 * promised window, and the client's frames masked with fresh keys.
 */
#include "autoconf.h"

#include "ws_deflate.h"
#include "ws_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "split.h"
#include "tap.h"
#include "zlib_peer.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PMD      "permessage-deflate"

/* Offers as a command line writes them ----------------------------------*/

struct offer_case {
    const char *params;
    const char *want; /* the offer written; NULL: refused */
};

static const struct offer_case offer_cases[] = {
    {"", PMD},
    {"client_max_window_bits", PMD "; client_max_window_bits"},
    {"client_max_window_bits=8", PMD "; client_max_window_bits=8"},
    {" client_max_window_bits = 12 ", PMD "; client_max_window_bits=12"},
    {"server_max_window_bits=10", PMD "; server_max_window_bits=10"},
    {"server_no_context_takeover;client_no_context_takeover",
     PMD "; server_no_context_takeover; client_no_context_takeover"},
    {"client_no_context_takeover; client_max_window_bits; "
     "server_max_window_bits=9; server_no_context_takeover",
     PMD "; server_no_context_takeover; client_no_context_takeover; "
         "server_max_window_bits=9; client_max_window_bits"},
    {"client_max_window_bits=\"15\"", PMD "; client_max_window_bits=15"},
    {"server_max_window_bits", NULL},
    {"server_max_window_bits=16", NULL},
    {"client_max_window_bits=7", NULL},
    {"client_max_window_bits=010", NULL},
    {"client_no_context_takeover; client_no_context_takeover", NULL},
    {"server_no_context_takeover=1", NULL},
    {"compression_level=9", NULL},
    {"client_max_window_bits,", NULL},
    {"; client_max_window_bits", NULL},
    {"client_max_window_bits;", NULL},
};

static void
test_offer_parse(void)
{
    for (size_t i = 0; i < NELEM(offer_cases); i++) {
        const struct offer_case *c = &offer_cases[i];
        struct ws_deflate_offer o;
        struct ws_error err = {0, NULL};
        char out[160];
        int rc = ws_deflate_offer_parse(&o, c->params, strlen(c->params), &err);
        if (c->want == NULL) {
            ok(rc == WS_FAIL && err.reason != NULL,
               "offer \"%s\": refused, naming the problem", c->params);
            continue;
        }
        size_t n = rc == 0 ? ws_deflate_offer_write(&o, out, sizeof(out)) : 0;
        is_str(n > 0 ? out : "(refused)", c->want, "offer \"%s\": written",
               c->params);
    }
    struct ws_deflate_offer all = {true, true, 10, 12};
    char small[32];
    is_int(ws_deflate_offer_write(&all, small, sizeof(small)), 0,
           "offer: 0 when it does not fit");
}

/* Both ends of the negotiation --------------------------------------------*/

/* Server policies: the defaults of wsd.conf and one change each. */
static const struct ws_deflate_config server_cfgs[] = {
    {true, 1, 8, 64, 15, 15, false, false},
    {true, 1, 8, 64, 10, 15, false, false},
    {true, 1, 8, 64, 15, 9, false, false},
    {true, 1, 8, 64, 15, 15, true, false},
    {true, 1, 8, 64, 15, 15, false, true},
    {true, 1, 8, 64, 9, 9, true, true},
};

static const char *const agree_offers[] = {
    "",
    "client_max_window_bits",
    "client_max_window_bits=10",
    "client_max_window_bits=8",
    "server_max_window_bits=12",
    "server_max_window_bits=8",
    "server_no_context_takeover",
    "client_no_context_takeover",
    "client_no_context_takeover; client_max_window_bits",
    ("server_no_context_takeover; client_no_context_takeover; "
     "server_max_window_bits=9; client_max_window_bits=9"),
};

static bool
params_equal(const struct ws_deflate_params *a,
             const struct ws_deflate_params *b)
{
    return a->server_no_context_takeover == b->server_no_context_takeover &&
           a->client_no_context_takeover == b->client_no_context_takeover &&
           a->server_max_window_bits == b->server_max_window_bits &&
           a->client_max_window_bits == b->client_max_window_bits;
}

/*
 * Every offer under every server policy: the server's answer, read by
 * the client, gives the client the very parameters the server took; an
 * offer the server declines leaves both without compression.
 */
static void
test_agree(void)
{
    for (size_t i = 0; i < NELEM(agree_offers); i++) {
        for (size_t k = 0; k < NELEM(server_cfgs); k++) {
            struct ws_deflate_offer o;
            struct ws_error err = {0, NULL};
            char offer[160];
            char resp[160];
            struct ws_deflate_params sp, cp;

            ws_deflate_offer_parse(&o, agree_offers[i], strlen(agree_offers[i]),
                                   &err);
            ws_deflate_offer_write(&o, offer, sizeof(offer));
            struct ws_span v = {offer, strlen(offer)};
            bool granted = ws_deflate_negotiate(&server_cfgs[k], &v, 1, &sp,
                                                resp, sizeof(resp));
            struct ws_span a = {resp, granted ? strlen(resp) : 0};
            int rc = ws_deflate_accept(&o, &a, granted ? 1 : 0, &cp, &err);
            if (!granted) {
                is_int(rc, 0, "agree: \"%s\", policy %zu: declined, none",
                       offer, k);
                continue;
            }
            ok(rc == 1 && params_equal(&sp, &cp),
               "agree: \"%s\", policy %zu: the client takes \"%s\" as the "
               "server does",
               offer, k, resp);
        }
    }
}

struct answer_case {
    const char *offer;  /* the offer's parameters */
    const char *answer; /* the response's Sec-WebSocket-Extensions */
    const char *reason; /* NULL: accepted, with want */
    struct ws_deflate_params want;
};

static const struct answer_case answer_cases[] = {
    {"", PMD, NULL, {false, false, 15, 15}},
    {"", " " PMD " ", NULL, {false, false, 15, 15}},
    {"", PMD "; server_no_context_takeover", NULL, {true, false, 15, 15}},
    {"", PMD "; client_no_context_takeover", NULL, {false, true, 15, 15}},
    {"", PMD "; server_max_window_bits=10", NULL, {false, false, 10, 15}},
    {"client_no_context_takeover", PMD, NULL, {false, true, 15, 15}},
    {"client_max_window_bits",
     PMD "; client_max_window_bits=8",
     NULL,
     {false, false, 15, 8}},
    {"client_max_window_bits=11", PMD, NULL, {false, false, 15, 11}},
    {"client_max_window_bits=11",
     PMD "; client_max_window_bits=9",
     NULL,
     {false, false, 15, 9}},
    {"server_max_window_bits=10",
     PMD "; server_max_window_bits=9",
     NULL,
     {false, false, 9, 15}},
    {"", PMD ", ", NULL, {false, false, 15, 15}},

    {"", "x-webkit-deflate-frame",
     .reason = "Sec-WebSocket-Extensions names an "
               "extension that was not offered"},
    {"", PMD ", x-other",
     .reason = "Sec-WebSocket-Extensions names an extension that "
               "was not offered"},
    {"", PMD ", " PMD,
     .reason = "Sec-WebSocket-Extensions accepts permessage-deflate "
               "twice"},
    {"", PMD "; x=1",
     .reason = "permessage-deflate answer has an unknown, repeated or "
               "malformed parameter"},
    {"", PMD "; server_no_context_takeover; server_no_context_takeover",
     .reason =
         "permessage-deflate answer has an unknown, repeated or malformed "
         "parameter"},
    {"", PMD "; server_max_window_bits",
     .reason =
         "permessage-deflate answer has an unknown, repeated or malformed "
         "parameter"},
    {"", PMD "; server_max_window_bits=7",
     .reason =
         "permessage-deflate answer has an unknown, repeated or malformed "
         "parameter"},
    {"", PMD "; client_max_window_bits=10",
     .reason =
         "permessage-deflate answer has client_max_window_bits, which was not "
         "offered"},
    {"client_max_window_bits", PMD "; client_max_window_bits",
     .reason =
         "permessage-deflate answer's client_max_window_bits has no value"},
    {"client_max_window_bits=10", PMD "; client_max_window_bits=11",
     .reason = "permessage-deflate answer's client_max_window_bits is over the "
               "offer's"},
    {"server_max_window_bits=10", PMD "; server_max_window_bits=11",
     .reason = "permessage-deflate answer's server_max_window_bits is over the "
               "offer's"},
};

static void
test_answers(void)
{
    for (size_t i = 0; i < NELEM(answer_cases); i++) {
        const struct answer_case *c = &answer_cases[i];
        struct ws_deflate_offer o;
        struct ws_deflate_params p;
        struct ws_error err = {0, NULL};
        struct ws_span v = {c->answer, strlen(c->answer)};

        ws_deflate_offer_parse(&o, c->offer, strlen(c->offer), &err);
        int rc = ws_deflate_accept(&o, &v, 1, &p, &err);
        if (c->reason != NULL) {
            is_int(rc, WS_FAIL, "answer \"%s\" to \"%s\": refused", c->answer,
                   c->offer);
            is_str(err.reason, c->reason, "answer \"%s\": reason", c->answer);
        } else {
            ok(rc == 1 && params_equal(&p, &c->want),
               "answer \"%s\" to \"%s\": accepted as promised", c->answer,
               c->offer);
        }
    }
    /* Two header lines, one extension each, count as one list. */
    struct ws_deflate_offer o = {false, false, 0, 0};
    struct ws_deflate_params p;
    struct ws_error err = {0, NULL};
    struct ws_span two[] = {{PMD, 18}, {PMD, 18}};
    is_int(ws_deflate_accept(&o, two, 2, &p, &err), WS_FAIL,
           "answer: permessage-deflate in two header lines is twice");
    is_int(ws_deflate_accept(&o, two, 0, &p, &err), 0,
           "answer: no header, no compression");
}

/* A client and a server session wired together ------------------------------*/

static void
fill_key(void *ctx, uint8_t key[4])
{
    uint64_t v = tap_rand();
    (void)ctx;
    memcpy(key, &v, 4);
}

static const struct ws_mask_source masks = {fill_key, NULL};

/* The client's policy: compress what is 16 bytes or more, level 6. */
static const struct ws_deflate_config client_cfg = {
    true, 6, 8, 16, 15, 15, false, false,
};

/* One direction of the wire: what crossed it, for the checks. */
struct wire {
    uint8_t key[4];      /* the last masking key seen */
    unsigned fresh_keys; /* frames whose key differed from the last */
    unsigned frames;     /* data frames */
    unsigned compressed; /* of them with RSV1 */
    bool masked_wrongly; /* a frame masked against its sender's role */
    size_t sizes[16];    /* each message's payload on the wire */
    z_stream zs;         /* the independent inflater of this direction */
    bool zs_on;
};

/* A message received, copied out of the session's buffers. */
struct got {
    uint8_t *p;
    size_t len;
    int n;
    int fails;
};

static void
feed(struct ws_session *to, const uint8_t *bytes, size_t len, struct got *g)
{
    uint8_t *buf = malloc(len + 1);
    size_t pos = 0;

    if (buf == NULL) {
        abort();
    }
    memcpy(buf, bytes, len);
    while (pos < len) {
        size_t n = split_next(SPLIT_RANDOM, len - pos);
        size_t used = 0;
        while (used < n) {
            struct ws_event ev;
            used += ws_session_feed(to, buf + pos + used, n - used, &ev);
            if (ev.type == WS_EV_MESSAGE) {
                free(g->p);
                g->p = malloc(ev.len + 1);
                if (g->p == NULL) {
                    abort();
                }
                memcpy(g->p, ev.data, ev.len);
                g->len = ev.len;
                g->n++;
            } else if (ev.type == WS_EV_FAIL) {
                g->fails++;
                tap_diag("failed: %s", ev.error.reason);
                pos = len;
                break;
            }
        }
        pos += n;
    }
    free(buf);
}

/*
 * Sends one message from one session to the other and checks what went
 * over the wire: masked by a client with a fresh key, not by a server;
 * compressed payloads read by the independent inflater of w, which has
 * the promised window and is made afresh per message where the sender
 * promised no context takeover.
 */
static bool
send_one(struct ws_session *from, struct ws_session *to, struct wire *w,
         const uint8_t *msg, size_t len, int bits, bool no_takeover,
         struct got *g)
{
    size_t cap = ws_session_message_bound(from, len);
    uint8_t *out = malloc(cap + 1);
    uint8_t *plain = malloc(len + 1);
    struct ws_out_message m;
    bool good = true;

    if (out == NULL || plain == NULL) {
        abort();
    }
    if (!ws_session_message(from, WS_OP_BINARY, msg, len, out, cap, &m)) {
        free(out);
        free(plain);
        return false;
    }
    bool client = from->masks != NULL;
    bool masked = (m.hdr[1] & 0x80) != 0;
    if (w->frames < NELEM(w->sizes)) {
        w->sizes[w->frames] = m.payload_len;
    }
    w->frames++;
    w->masked_wrongly |= masked != client;
    if (masked) {
        const uint8_t *key = m.hdr + m.hdr_len - 4;
        w->fresh_keys += memcmp(key, w->key, 4) != 0;
        memcpy(w->key, key, 4);
    }
    if (m.compressed) {
        /* The payload as the receiver unmasks it. */
        uint8_t *z = malloc(m.payload_len + 1);
        if (z == NULL) {
            abort();
        }
        memcpy(z, m.payload, m.payload_len);
        for (size_t i = 0; masked && i < m.payload_len; i++) {
            z[i] ^= m.hdr[m.hdr_len - 4 + i % 4];
        }
        w->compressed++;
        if (no_takeover && w->zs_on) {
            inflateEnd(&w->zs);
            w->zs_on = false;
        }
        if (!w->zs_on) {
            zlib_peer_inflater(&w->zs, bits);
            w->zs_on = true;
        }
        long n =
            zlib_peer_inflate(&w->zs, z, m.payload_len, plain, len + 1, 64);
        good = n == (long)len && memcmp(plain, msg, len) == 0;
        free(z);
    }
    uint8_t *wire = malloc(m.hdr_len + m.payload_len + 1);
    if (wire == NULL) {
        abort();
    }
    memcpy(wire, m.hdr, m.hdr_len);
    memcpy(wire + m.hdr_len, m.payload, m.payload_len);
    feed(to, wire, m.hdr_len + m.payload_len, g);
    free(wire);
    free(out);
    free(plain);
    return good;
}

/*
 * Message i of len bytes: text-like (compressible) and varying with i;
 * messages 6 and 7 are the same 200 bytes of noise (zlib reaches 250
 * back with 9 bits), which only a
 * reference to the one before compresses.
 */
static void
make_message(uint8_t *p, size_t len, unsigned i)
{
    static const char words[] = "the quick brown fox jumps over the lazy dog ";
    if (i == 6 || i == 7) {
        uint32_t x = 12345;
        for (size_t k = 0; k < len; k++) {
            x = x * 1103515245u + 12345u;
            p[k] = (uint8_t)(x >> 16);
        }
        return;
    }
    for (size_t k = 0; k < len; k++) {
        p[k] = (uint8_t)words[(k * (i + 1) / 3 + i) % (sizeof(words) - 1)];
    }
    /* A stretch repeated from 3000 bytes back: found by a 12-bit window
     * and more, not by 11 bits or less. */
    if (len > 3400) {
        memcpy(p + 3200, p + 200, 200);
    }
}

/*
 * Both ways under one set of parameters: 12 messages of assorted sizes
 * each way, the same message twice in a row (context takeover shows in
 * the second's size), and every compressed payload checked by zlib.
 */
static void
run_pair(const struct ws_deflate_params *p)
{
    static const size_t sizes[] = {0,   1,   15,    16,  100,  4000,
                                   200, 200, 70000, 125, 1000, 1000};
    struct ws_session_config cfg = {1 << 20, 1 << 20};
    struct ws_deflate_config scfg = server_cfgs[0];
    struct ws_session client, server;
    struct wire up, down;
    struct got at_server = {NULL, 0, 0, 0}, at_client = {NULL, 0, 0, 0};
    bool up_ok = true, down_ok = true, same = true;
    char name[128];

    snprintf(name, sizeof(name), "pair snct=%d cnct=%d sbits=%u cbits=%u",
             p->server_no_context_takeover, p->client_no_context_takeover,
             p->server_max_window_bits, p->client_max_window_bits);
    memset(&up, 0, sizeof(up));
    memset(&down, 0, sizeof(down));
    ws_session_init_client(&client, &cfg, &masks);
    ws_session_init(&server, &cfg);
    ws_session_use_deflate(&client, &client_cfg, p);
    ws_session_use_deflate(&server, &scfg, p);
    /* A client told 8 bits is read by an 8-bit inflater: Huffman coding
     * alone refers to nothing. */
    int up_bits = p->client_max_window_bits;
    int down_bits = p->server_max_window_bits;

    for (unsigned i = 0; i < NELEM(sizes); i++) {
        size_t len = sizes[i];
        uint8_t *msg = malloc(len + 1);
        if (msg == NULL) {
            abort();
        }
        make_message(msg, len, i == 11 ? i - 1 : i);
        up_ok &= send_one(&client, &server, &up, msg, len, up_bits,
                          p->client_no_context_takeover, &at_server);
        same &= at_server.n == (int)i + 1 && at_server.len == len &&
                (len == 0 || memcmp(at_server.p, msg, len) == 0);
        down_ok &= send_one(&server, &client, &down, msg, len, down_bits,
                            p->server_no_context_takeover, &at_client);
        same &= at_client.n == (int)i + 1 && at_client.len == len &&
                (len == 0 || memcmp(at_client.p, msg, len) == 0);
        free(msg);
    }
    ok(same && at_server.fails == 0 && at_client.fails == 0,
       "%s: every message arrives whole, both ways", name);
    ok(up_ok, "%s: the client's compressed payloads inflate with %d bits%s",
       name, up_bits, p->client_no_context_takeover ? ", each afresh" : "");
    ok(down_ok, "%s: the server's inflate with %d bits%s", name, down_bits,
       p->server_no_context_takeover ? ", each afresh" : "");
    ok(up.compressed >= 8 && down.compressed >= 8,
       "%s: compressed both ways (%u and %u of 12)", name, up.compressed,
       down.compressed);
    ok(!up.masked_wrongly && !down.masked_wrongly && up.fresh_keys == 12,
       "%s: every client frame masked with a fresh key, no server frame", name);
    /* Messages 6 and 7 are the same 200 bytes: with context takeover
     * the second refers to the first (Huffman coding alone, for 8 bits,
     * refers to nothing). */
    bool up_taken = up.sizes[7] * 4 < up.sizes[6];
    bool down_taken = down.sizes[7] * 4 < down.sizes[6];
    ok(up_taken == (!p->client_no_context_takeover && up_bits > 8),
       "%s: the client %s its context (%zu bytes, then %zu)", name,
       up_taken ? "takes over" : "does not take over", up.sizes[6],
       up.sizes[7]);
    ok(down_taken == !p->server_no_context_takeover,
       "%s: the server %s its context (%zu bytes, then %zu)", name,
       down_taken ? "takes over" : "does not take over", down.sizes[6],
       down.sizes[7]);
    if (up.zs_on) {
        inflateEnd(&up.zs);
    }
    if (down.zs_on) {
        inflateEnd(&down.zs);
    }
    free(at_server.p);
    free(at_client.p);
    ws_session_clear(&client);
    ws_session_clear(&server);
}

static void
test_pairs(void)
{
    for (int bits = 8; bits <= 15; bits++) {
        struct ws_deflate_params p = {false, false, 15, (uint8_t)bits};
        run_pair(&p);
        if (bits >= 9) {
            struct ws_deflate_params q = {false, false, (uint8_t)bits, 15};
            run_pair(&q);
        }
    }
    struct ws_deflate_params rules[] = {
        {true, false, 15, 15}, {false, true, 15, 15}, {true, true, 15, 15},
        {true, true, 9, 8},    {false, true, 12, 10},
    };
    for (size_t i = 0; i < NELEM(rules); i++) {
        run_pair(&rules[i]);
    }
}

int
main(void)
{
    tap_seed();
    test_offer_parse();
    test_agree();
    test_answers();
    test_pairs();
    return tap_done();
}

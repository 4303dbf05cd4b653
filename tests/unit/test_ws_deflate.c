/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for ws_deflate (RFC 7692): the negotiation of §7.1 over one
 * table of offers, the compressed "Hello" examples of §7.2.3 written out by
 * hand and inflated whole, one byte at a time and at random splits, corrupt
 * data, the one-byte probe the session uses against decompression bombs,
 * context takeover, and the window sizes the compressor promises. zlib is
 * used directly only as an independent checker and to build large inputs.
 */
#include "autoconf.h"

#include "ws_deflate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "split.h"
#include "tap.h"
#include "zlib_peer.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The largest output room a test offers ws_deflate_inflate per call. */
#define ROOM_MAX 4096

/* Negotiation --------------------------------------------------------------*/

enum cfg_id {
    CFG_DEFAULT,
    CFG_DISABLED,
    CFG_SERVER_BITS_10, /* server_max_window_bits 10 */
    CFG_CLIENT_BITS_12, /* client_max_window_bits 12 */
    CFG_SERVER_NCT,     /* server_no_context_takeover */
    CFG_CLIENT_NCT,     /* client_no_context_takeover */
};

/* The defaults of the brief, and one change each. */
static const struct ws_deflate_config configs[] = {
    [CFG_DEFAULT] = {true, 1, 8, 64, 15, 15, false, false},
    [CFG_DISABLED] = {false, 1, 8, 64, 15, 15, false, false},
    [CFG_SERVER_BITS_10] = {true, 1, 8, 64, 10, 15, false, false},
    [CFG_CLIENT_BITS_12] = {true, 1, 8, 64, 15, 12, false, false},
    [CFG_SERVER_NCT] = {true, 1, 8, 64, 15, 15, true, false},
    [CFG_CLIENT_NCT] = {true, 1, 8, 64, 15, 15, false, true},
};

struct neg_case {
    const char *name;
    enum cfg_id cfg;
    const char *values[3]; /* Sec-WebSocket-Extensions values, NULL ends */
    const char *want;      /* the response; NULL: every offer declined */
    struct ws_deflate_params params; /* what an accepted offer grants */
};

/* server_no_context_takeover, client_no_context_takeover, the two windows. */
#define P(snct, cnct, sbits, cbits)                                            \
    {                                                                          \
        (snct), (cnct), (sbits), (cbits)                                       \
    }
#define P_DEFAULT P(false, false, 15, 15)
#define PMD       "permessage-deflate"
#define DECLINED  NULL

static const struct neg_case neg_cases[] = {
    /* §7.1: the plain offer and each parameter alone. */
    {"plain offer", CFG_DEFAULT, {PMD}, PMD, P_DEFAULT},
    {"client_max_window_bits without a value",
     CFG_DEFAULT,
     {PMD "; client_max_window_bits"},
     PMD "; client_max_window_bits=15",
     P_DEFAULT},
    {"server_no_context_takeover echoed",
     CFG_DEFAULT,
     {PMD "; server_no_context_takeover"},
     PMD "; server_no_context_takeover",
     P(true, false, 15, 15)},
    {"client_no_context_takeover echoed",
     CFG_DEFAULT,
     {PMD "; client_no_context_takeover"},
     PMD "; client_no_context_takeover",
     P(false, true, 15, 15)},
    {"every parameter",
     CFG_DEFAULT,
     {PMD "; client_max_window_bits; server_max_window_bits=10; "
          "server_no_context_takeover; client_no_context_takeover"},
     PMD "; server_no_context_takeover; client_no_context_takeover; "
         "server_max_window_bits=10; client_max_window_bits=15",
     P(true, true, 10, 15)},
    {"every parameter with values, other order",
     CFG_DEFAULT,
     {PMD "; server_max_window_bits=12; client_no_context_takeover; "
          "client_max_window_bits=9; server_no_context_takeover"},
     PMD "; server_no_context_takeover; client_no_context_takeover; "
         "server_max_window_bits=12; client_max_window_bits=9",
     P(true, true, 12, 9)},
    {"whitespace around separators",
     CFG_DEFAULT,
     {" \t" PMD " ;\tclient_max_window_bits ; server_no_context_takeover \t"},
     PMD "; server_no_context_takeover; client_max_window_bits=15",
     P(true, false, 15, 15)},

    /* §7.1.2.1: zlib cannot deflate with 8 bits, and the answer may not
     * be larger than the offer: decline. */
    {"server_max_window_bits=8",
     CFG_DEFAULT,
     {PMD "; server_max_window_bits=8"},
     DECLINED,
     P_DEFAULT},
    {"server_max_window_bits without a value",
     CFG_DEFAULT,
     {PMD "; server_max_window_bits"},
     DECLINED,
     P_DEFAULT},

    /* Several offers: the first acceptable one wins. */
    {"second offer after server_max_window_bits=8",
     CFG_DEFAULT,
     {PMD "; server_max_window_bits=8, " PMD},
     PMD,
     P_DEFAULT},
    {"second offer with its own parameters",
     CFG_DEFAULT,
     {PMD "; server_max_window_bits=8, " PMD "; client_max_window_bits"},
     PMD "; client_max_window_bits=15",
     P_DEFAULT},
    {"first of two acceptable offers",
     CFG_DEFAULT,
     {PMD "; server_no_context_takeover, " PMD "; client_no_context_takeover"},
     PMD "; server_no_context_takeover",
     P(true, false, 15, 15)},
    {"offers in several header values",
     CFG_DEFAULT,
     {"x-webkit-deflate-frame", PMD "; server_max_window_bits=7",
      PMD "; client_no_context_takeover"},
     PMD "; client_no_context_takeover",
     P(false, true, 15, 15)},
    {"first header value wins",
     CFG_DEFAULT,
     {PMD "; server_max_window_bits=11", PMD},
     PMD "; server_max_window_bits=11",
     P(false, false, 11, 15)},

    /* Quoted values (RFC 9110 §5.6.4), unescaped before judging. */
    {"quoted server_max_window_bits",
     CFG_DEFAULT,
     {PMD "; server_max_window_bits=\"10\""},
     PMD "; server_max_window_bits=10",
     P(false, false, 10, 15)},
    {"quoted client_max_window_bits",
     CFG_DEFAULT,
     {PMD "; client_max_window_bits=\"12\""},
     PMD "; client_max_window_bits=12",
     P(false, false, 15, 12)},
    {"quoted value with a quoted-pair",
     CFG_DEFAULT,
     {PMD "; server_max_window_bits=\"1\\1\""},
     PMD "; server_max_window_bits=11",
     P(false, false, 11, 15)},
    {"empty quoted value",
     CFG_DEFAULT,
     {PMD "; client_max_window_bits=\"\""},
     DECLINED,
     P_DEFAULT},

    /* Malformed offers are declined, each on its own. */
    {"unknown parameter", CFG_DEFAULT, {PMD "; foo"}, DECLINED, P_DEFAULT},
    {"unknown parameter with a value",
     CFG_DEFAULT,
     {PMD "; foo=1"},
     DECLINED,
     P_DEFAULT},
    {"unknown parameter declines only its offer",
     CFG_DEFAULT,
     {PMD "; foo=1, " PMD "; server_no_context_takeover"},
     PMD "; server_no_context_takeover",
     P(true, false, 15, 15)},
    {"duplicate server_no_context_takeover",
     CFG_DEFAULT,
     {PMD "; server_no_context_takeover; server_no_context_takeover"},
     DECLINED,
     P_DEFAULT},
    {"duplicate client_no_context_takeover",
     CFG_DEFAULT,
     {PMD "; client_no_context_takeover; client_no_context_takeover"},
     DECLINED,
     P_DEFAULT},
    {"duplicate server_max_window_bits",
     CFG_DEFAULT,
     {PMD "; server_max_window_bits=10; server_max_window_bits=10"},
     DECLINED,
     P_DEFAULT},
    {"duplicate client_max_window_bits",
     CFG_DEFAULT,
     {PMD "; client_max_window_bits; client_max_window_bits=10"},
     DECLINED,
     P_DEFAULT},
    {"duplicate declines only its offer",
     CFG_DEFAULT,
     {PMD "; client_max_window_bits; client_max_window_bits, " PMD},
     PMD,
     P_DEFAULT},
    {"value on server_no_context_takeover",
     CFG_DEFAULT,
     {PMD "; server_no_context_takeover=1"},
     DECLINED,
     P_DEFAULT},
    {"quoted value on client_no_context_takeover",
     CFG_DEFAULT,
     {PMD "; client_no_context_takeover=\"x\""},
     DECLINED,
     P_DEFAULT},
    {"server_max_window_bits=09",
     CFG_DEFAULT,
     {PMD "; server_max_window_bits=09"},
     DECLINED,
     P_DEFAULT},
    {"client_max_window_bits=09",
     CFG_DEFAULT,
     {PMD "; client_max_window_bits=09"},
     DECLINED,
     P_DEFAULT},
    {"client_max_window_bits=010",
     CFG_DEFAULT,
     {PMD "; client_max_window_bits=010"},
     DECLINED,
     P_DEFAULT},
    {"server_max_window_bits=7",
     CFG_DEFAULT,
     {PMD "; server_max_window_bits=7"},
     DECLINED,
     P_DEFAULT},
    {"server_max_window_bits=16",
     CFG_DEFAULT,
     {PMD "; server_max_window_bits=16"},
     DECLINED,
     P_DEFAULT},
    {"client_max_window_bits=7",
     CFG_DEFAULT,
     {PMD "; client_max_window_bits=7"},
     DECLINED,
     P_DEFAULT},
    {"client_max_window_bits=16",
     CFG_DEFAULT,
     {PMD "; client_max_window_bits=16"},
     DECLINED,
     P_DEFAULT},
    {"client_max_window_bits=1",
     CFG_DEFAULT,
     {PMD "; client_max_window_bits=1"},
     DECLINED,
     P_DEFAULT},
    {"client_max_window_bits=-9",
     CFG_DEFAULT,
     {PMD "; client_max_window_bits=-9"},
     DECLINED,
     P_DEFAULT},
    {"client_max_window_bits=15 with a sign",
     CFG_DEFAULT,
     {PMD "; client_max_window_bits=+15"},
     DECLINED,
     P_DEFAULT},
    {"client_max_window_bits=1e1",
     CFG_DEFAULT,
     {PMD "; client_max_window_bits=1e1"},
     DECLINED,
     P_DEFAULT},
    {"client_max_window_bits= (empty)",
     CFG_DEFAULT,
     {PMD "; client_max_window_bits="},
     DECLINED,
     P_DEFAULT},

    /* Other extensions are none of our business. */
    {"x-webkit-deflate-frame alone",
     CFG_DEFAULT,
     {"x-webkit-deflate-frame"},
     DECLINED,
     P_DEFAULT},
    {"foo alone", CFG_DEFAULT, {"foo"}, DECLINED, P_DEFAULT},
    {"permessage-deflate after other extensions",
     CFG_DEFAULT,
     {"x-webkit-deflate-frame; no_context_takeover, foo; bar=\"a,b\", " PMD
      "; client_max_window_bits"},
     PMD "; client_max_window_bits=15",
     P_DEFAULT},
    {"a name that only begins like ours",
     CFG_DEFAULT,
     {PMD "-x, x-" PMD},
     DECLINED,
     P_DEFAULT},

    /* Garbage never crashes and declines only the offer it is in. */
    {"empty value", CFG_DEFAULT, {""}, DECLINED, P_DEFAULT},
    {";;", CFG_DEFAULT, {";;"}, DECLINED, P_DEFAULT},
    {",,,", CFG_DEFAULT, {",,,"}, DECLINED, P_DEFAULT},
    {"trailing ;", CFG_DEFAULT, {PMD ";"}, DECLINED, P_DEFAULT},
    {"trailing ; then a good offer",
     CFG_DEFAULT,
     {PMD ";, " PMD},
     PMD,
     P_DEFAULT},
    {"parameter without a name",
     CFG_DEFAULT,
     {PMD "; =10"},
     DECLINED,
     P_DEFAULT},
    {"junk after the name", CFG_DEFAULT, {PMD " x"}, DECLINED, P_DEFAULT},
    {"junk after the name, then a good offer",
     CFG_DEFAULT,
     {PMD " x, " PMD},
     PMD,
     P_DEFAULT},
    {"empty list elements", CFG_DEFAULT, {" , ," PMD ","}, PMD, P_DEFAULT},
    {"unterminated quote",
     CFG_DEFAULT,
     {PMD "; server_max_window_bits=\"10"},
     DECLINED,
     P_DEFAULT},
    {"unterminated quote after a quoted-pair",
     CFG_DEFAULT,
     {PMD "; server_max_window_bits=\"10\\"},
     DECLINED,
     P_DEFAULT},
    {"unterminated quote swallows the rest",
     CFG_DEFAULT,
     {PMD "; foo=\"a, " PMD},
     DECLINED,
     P_DEFAULT},
    {"unterminated quote in one value, good offer in the next",
     CFG_DEFAULT,
     {PMD "; foo=\"a, ", PMD "; client_max_window_bits"},
     PMD "; client_max_window_bits=15",
     P_DEFAULT},
    {"long quoted value declines only its offer",
     CFG_DEFAULT,
     {PMD "; foo=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", " PMD},
     PMD,
     P_DEFAULT},
    {"long quoted value with a comma in another extension",
     CFG_DEFAULT,
     {"foo; bar=\"a long quoted value, with a comma\", " PMD},
     PMD,
     P_DEFAULT},
    {"long token value declines only its offer",
     CFG_DEFAULT,
     {PMD "; foo=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, " PMD},
     PMD,
     P_DEFAULT},

    /* The server's configuration. */
    {"disabled", CFG_DISABLED, {PMD}, DECLINED, P_DEFAULT},
    {"disabled, every offer",
     CFG_DISABLED,
     {PMD "; client_max_window_bits", PMD},
     DECLINED,
     P_DEFAULT},
    {"server window 10, plain offer",
     CFG_SERVER_BITS_10,
     {PMD},
     PMD "; server_max_window_bits=10",
     P(false, false, 10, 15)},
    {"server window 10, offer 12",
     CFG_SERVER_BITS_10,
     {PMD "; server_max_window_bits=12"},
     PMD "; server_max_window_bits=10",
     P(false, false, 10, 15)},
    {"server window 10, offer 9",
     CFG_SERVER_BITS_10,
     {PMD "; server_max_window_bits=9"},
     PMD "; server_max_window_bits=9",
     P(false, false, 9, 15)},
    {"client window 12, offer without a value",
     CFG_CLIENT_BITS_12,
     {PMD "; client_max_window_bits"},
     PMD "; client_max_window_bits=12",
     P(false, false, 15, 12)},
    {"client window 12, offer 10",
     CFG_CLIENT_BITS_12,
     {PMD "; client_max_window_bits=10"},
     PMD "; client_max_window_bits=10",
     P(false, false, 15, 10)},
    {"client window 12, offer 14",
     CFG_CLIENT_BITS_12,
     {PMD "; client_max_window_bits=14"},
     PMD "; client_max_window_bits=12",
     P(false, false, 15, 12)},
    /* §7.1.2.2: a client that did not offer it may use 15 bits. */
    {"client window 12, no client_max_window_bits offered",
     CFG_CLIENT_BITS_12,
     {PMD},
     PMD,
     P(false, false, 15, 15)},
    {"server_no_context_takeover configured",
     CFG_SERVER_NCT,
     {PMD},
     PMD "; server_no_context_takeover",
     P(true, false, 15, 15)},
    {"client_no_context_takeover configured",
     CFG_CLIENT_NCT,
     {PMD},
     PMD "; client_no_context_takeover",
     P(false, true, 15, 15)},
    {"client_no_context_takeover configured and offered",
     CFG_CLIENT_NCT,
     {PMD "; client_no_context_takeover"},
     PMD "; client_no_context_takeover",
     P(false, true, 15, 15)},
};

/* Runs one negotiation; values ends at the first NULL. */
static bool
negotiate(enum cfg_id cfg, const char *const *values, size_t n_values,
          struct ws_deflate_params *params, char *resp, size_t cap)
{
    struct ws_span spans[4];
    unsigned n = 0;

    for (size_t i = 0; i < n_values && values[i] != NULL; i++) {
        spans[n].p = values[i];
        spans[n].len = strlen(values[i]);
        n++;
    }
    return ws_deflate_negotiate(&configs[cfg], spans, n, params, resp, cap);
}

static void
check_params(const char *name, const struct ws_deflate_params *got,
             const struct ws_deflate_params *want)
{
    bool same =
        got->server_no_context_takeover == want->server_no_context_takeover &&
        got->client_no_context_takeover == want->client_no_context_takeover &&
        got->server_max_window_bits == want->server_max_window_bits &&
        got->client_max_window_bits == want->client_max_window_bits;

    ok(same, "%s: params", name);
    if (!same) {
        tap_diag("got  snct=%d cnct=%d sbits=%u cbits=%u",
                 got->server_no_context_takeover,
                 got->client_no_context_takeover, got->server_max_window_bits,
                 got->client_max_window_bits);
        tap_diag("want snct=%d cnct=%d sbits=%u cbits=%u",
                 want->server_no_context_takeover,
                 want->client_no_context_takeover, want->server_max_window_bits,
                 want->client_max_window_bits);
    }
}

static void
check_negotiation(const char *name, enum cfg_id cfg, const char *const *values,
                  size_t n_values, const char *want,
                  const struct ws_deflate_params *want_params)
{
    struct ws_deflate_params params;
    char resp[256];

    memset(&params, 0xa5, sizeof(params));
    memset(resp, 0, sizeof(resp));
    bool accepted =
        negotiate(cfg, values, n_values, &params, resp, sizeof(resp));
    if (want == NULL) {
        ok(!accepted, "%s: declined", name);
        if (accepted) {
            tap_diag("answered \"%s\"", resp);
        }
        return;
    }
    if (!ok(accepted, "%s: accepted", name)) {
        return;
    }
    is_str(resp, want, "%s: response", name);
    check_params(name, &params, want_params);
}

static void
test_negotiate_table(void)
{
    for (size_t i = 0; i < NELEM(neg_cases); i++) {
        const struct neg_case *c = &neg_cases[i];
        check_negotiation(c->name, c->cfg, c->values, NELEM(c->values), c->want,
                          &c->params);
    }
}

/* Every window size an offer may name (§7.1.2.1, §7.1.2.2). */
static void
test_negotiate_window_bits(void)
{
    for (unsigned bits = 8; bits <= 15; bits++) {
        char offer[64];
        char want[64];
        char name[64];
        const char *values[1] = {offer};
        struct ws_deflate_params p = P_DEFAULT;

        snprintf(offer, sizeof(offer), PMD "; client_max_window_bits=%u", bits);
        snprintf(want, sizeof(want), PMD "; client_max_window_bits=%u", bits);
        snprintf(name, sizeof(name), "client_max_window_bits=%u", bits);
        p.client_max_window_bits = (uint8_t)bits;
        check_negotiation(name, CFG_DEFAULT, values, 1, want, &p);

        snprintf(offer, sizeof(offer), PMD "; server_max_window_bits=%u", bits);
        snprintf(want, sizeof(want), PMD "; server_max_window_bits=%u", bits);
        snprintf(name, sizeof(name), "server_max_window_bits=%u", bits);
        p = (struct ws_deflate_params)P_DEFAULT;
        p.server_max_window_bits = (uint8_t)bits;
        check_negotiation(name, CFG_DEFAULT, values, 1,
                          bits < WS_DEFLATE_WINDOW_MIN ? NULL : want, &p);
    }
}

/* The response is NUL-terminated in resp[0..cap), or the offer declined. */
static void
test_negotiate_resp_cap(void)
{
    static const char *const one[] = {PMD "; client_max_window_bits"};
    static const char *const two[] = {PMD "; client_max_window_bits, " PMD};
    const char *want = PMD "; client_max_window_bits=15";
    size_t len = strlen(want);
    struct ws_deflate_params p;
    char resp[256];

    memset(resp, 'x', sizeof(resp));
    ok(!negotiate(CFG_DEFAULT, one, 1, &p, resp, len),
       "resp cap: one byte short of the NUL declines");
    ok(!negotiate(CFG_DEFAULT, one, 1, &p, resp, 0), "resp cap: 0 declines");
    memset(resp, 'x', sizeof(resp));
    ok(negotiate(CFG_DEFAULT, one, 1, &p, resp, len + 1),
       "resp cap: exactly enough accepts");
    is_str(resp, want, "resp cap: exactly enough, the response");
    ok(resp[len + 1] == 'x', "resp cap: nothing written past cap");

    /* The first offer's answer does not fit, the second's does. */
    memset(resp, 0, sizeof(resp));
    ok(negotiate(CFG_DEFAULT, two, 1, &p, resp, strlen(PMD) + 1),
       "resp cap: the offer whose answer fits");
    is_str(resp, PMD, "resp cap: the shorter answer");
}

/* Inflating ----------------------------------------------------------------*/

/* What inflating a message gave. */
struct sink {
    uint8_t *p;
    size_t len;
    size_t cap;
    int rc;              /* 0, WS_FAIL, or STALL / OVERFLOW below */
    struct ws_error err; /* when WS_FAIL */
};

#define STALL    (-100) /* no progress with input left */
#define OVERFLOW (-101) /* more output than the sink holds */

/*
 * Offers in[0..len) to ws_deflate_inflate with `room` bytes of output per
 * call, the way a caller drains it: again while the output filled up (zlib
 * may hold more) or input is left.
 */
static int
inflate_piece(struct ws_deflate *d, const uint8_t *in, size_t len, size_t room,
              struct sink *s)
{
    uint8_t tmp[ROOM_MAX];
    unsigned stalls = 0;

    for (;;) {
        size_t got = room;
        size_t before = len;
        int rc = ws_deflate_inflate(d, &in, &len, tmp, &got, &s->err);
        if (rc != 0) {
            return rc;
        }
        if (got > room || len > before) {
            return OVERFLOW;
        }
        if (got > s->cap - s->len) {
            return OVERFLOW;
        }
        memcpy(s->p + s->len, tmp, got);
        s->len += got;
        if (got < room && len == 0) {
            return 0;
        }
        if (got == 0 && len == before && ++stalls > 2) {
            return STALL;
        }
    }
}

/* Inflates one message and its §7.2.2 tail, split as `how` says. */
static void
inflate_message(struct ws_deflate *d, const uint8_t *in, size_t len,
                enum split how, size_t room, struct sink *s)
{
    size_t pos = 0;

    s->len = 0;
    s->rc = 0;
    s->err.code = 0;
    s->err.reason = NULL;
    while (pos < len && s->rc == 0) {
        size_t n = split_next(how, len - pos);
        s->rc = inflate_piece(d, in + pos, n, room, s);
        pos += n;
    }
    if (s->rc == 0) {
        s->rc = inflate_piece(d, WS_DEFLATE_TAIL, WS_DEFLATE_TAIL_LEN, room, s);
    }
    if (s->rc == 0) {
        s->rc = ws_deflate_inflate_end(d, &s->err);
    }
}

static void
sink_init(struct sink *s, size_t cap)
{
    memset(s, 0, sizeof(*s));
    s->p = malloc(cap);
    s->cap = cap;
    if (s->p == NULL) {
        abort();
    }
}

static void
sink_free(struct sink *s)
{
    free(s->p);
    s->p = NULL;
}

/* A compressed message, written out by hand, and what it inflates to. */
struct vec_msg {
    const char *z;
    size_t z_len;
    const char *want;
};

struct vector {
    const char *name;
    struct vec_msg msg[2]; /* inflated in turn by one ws_deflate */
};

#define Z(s) (s), sizeof(s) - 1

/* Rows of vectors[] that other tests reuse. */
enum {
    VEC_HELLO = 0,  /* §7.2.3.1 */
    VEC_SHARED = 1, /* §7.2.3.2 */
    VEC_BFINAL = 3, /* §7.2.3.4 */
};

/* RFC 7692 §7.2.3: the examples, each a "Hello". */
static const struct vector vectors[] = {
    {"RFC 7692 7.2.3.1 a message compressed",
     {{Z("\xf2\x48\xcd\xc9\xc9\x07\x00"), "Hello"}}},
    {"RFC 7692 7.2.3.2 sharing the LZ77 window",
     {{Z("\xf2\x48\xcd\xc9\xc9\x07\x00"), "Hello"},
      {Z("\xf2\x00\x11\x00\x00"), "Hello"}}},
    {"RFC 7692 7.2.3.3 a DEFLATE block with no compression",
     {{Z("\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00"), "Hello"}}},
    {"RFC 7692 7.2.3.4 a DEFLATE block with BFINAL set",
     {{Z("\xf3\x48\xcd\xc9\xc9\x07\x00\x00"), "Hello"}}},
    {"RFC 7692 7.2.3.5 two DEFLATE blocks in one message",
     {{Z("\xf2\x48\x05\x00\x00\x00\xff\xff\xca\xc9\xc9\x07\x00"), "Hello"}}},
    /* The BFINAL example twice: the second starts a new stream. */
    {"RFC 7692 7.2.3.4 twice",
     {{Z("\xf3\x48\xcd\xc9\xc9\x07\x00\x00"), "Hello"},
      {Z("\xf3\x48\xcd\xc9\xc9\x07\x00\x00"), "Hello"}}},
};

static const struct ws_deflate_params default_params = P_DEFAULT;

/* Runs a vector once; returns whether every message came out right. */
static bool
run_vector(const struct vector *v, const struct ws_deflate_params *params,
           enum split how, size_t room, struct sink *s)
{
    struct ws_deflate d;
    bool same = true;

    ws_deflate_init(&d, &configs[CFG_DEFAULT], params);
    for (size_t m = 0; m < NELEM(v->msg) && v->msg[m].z != NULL; m++) {
        inflate_message(&d, (const uint8_t *)v->msg[m].z, v->msg[m].z_len, how,
                        room, s);
        size_t want_len = strlen(v->msg[m].want);
        if (s->rc != 0 || s->len != want_len ||
            memcmp(s->p, v->msg[m].want, want_len) != 0) {
            same = false;
            tap_diag("message %zu: rc %d (%s), %zu bytes", m + 1, s->rc,
                     s->err.reason != NULL ? s->err.reason : "-", s->len);
            break;
        }
    }
    ws_deflate_clear(&d);
    return same;
}

static void
test_vectors(void)
{
    static const size_t rooms[] = {1, 2, 3, 7, ROOM_MAX};
    struct sink s;

    sink_init(&s, 1024);
    for (size_t i = 0; i < NELEM(vectors); i++) {
        for (size_t r = 0; r < NELEM(rooms); r++) {
            for (int how = SPLIT_WHOLE; how <= SPLIT_RANDOM; how++) {
                int runs = how == SPLIT_RANDOM ? SPLIT_RANDOM_RUNS : 1;
                bool same = true;
                for (int k = 0; k < runs && same; k++) {
                    same = run_vector(&vectors[i], &default_params,
                                      (enum split)how, rooms[r], &s);
                }
                ok(same, "%s: %s, room %zu", vectors[i].name,
                   split_name((enum split)how), rooms[r]);
            }
        }
    }

    /* §7.2.3.2 without context takeover: the second message refers to
     * a window the fresh inflater does not have. */
    struct ws_deflate_params p = P(false, true, 15, 15);
    struct ws_deflate d;
    ws_deflate_init(&d, &configs[CFG_DEFAULT], &p);
    inflate_message(&d, (const uint8_t *)vectors[VEC_SHARED].msg[0].z,
                    vectors[VEC_SHARED].msg[0].z_len, SPLIT_WHOLE, ROOM_MAX,
                    &s);
    is_mem(s.p, s.len, "Hello", 5,
           "7.2.3.2 with client_no_context_takeover: first message");
    ok(d.inflater == NULL,
       "7.2.3.2 with client_no_context_takeover: inflater released");
    inflate_message(&d, (const uint8_t *)vectors[VEC_SHARED].msg[1].z,
                    vectors[VEC_SHARED].msg[1].z_len, SPLIT_WHOLE, ROOM_MAX,
                    &s);
    is_int(s.rc, WS_FAIL,
           "7.2.3.2 with client_no_context_takeover: second message fails");
    is_int(s.err.code, 1007, "7.2.3.2 with client_no_context_takeover: 1007");
    ws_deflate_clear(&d);
    sink_free(&s);
}

/*
 * Inflates bad into a fresh d, whole or one byte at a time with one byte
 * of room: it must fail with 1007 and a reason. prefix starts the checks'
 * names. The caller clears d.
 */
static void
check_fails_1007(struct ws_deflate *d, const struct vec_msg *bad,
                 enum split how, const char *prefix, struct sink *s)
{
    ws_deflate_init(d, &configs[CFG_DEFAULT], &default_params);
    inflate_message(d, (const uint8_t *)bad->z, bad->z_len, how,
                    how == SPLIT_WHOLE ? ROOM_MAX : 1, s);
    is_int(s->rc, WS_FAIL, "%s%s (%s): WS_FAIL", prefix, bad->want,
           split_name(how));
    is_int(s->err.code, 1007, "%s%s (%s): 1007", prefix, bad->want,
           split_name(how));
    ok(s->err.reason != NULL && s->err.reason[0] != '\0', "%s%s (%s): a reason",
       prefix, bad->want, split_name(how));
}

/* Corrupt data fails with 1007 and a reason, however it arrives. */
static void
test_corrupt(void)
{
    static const struct vec_msg bad[] = {
        /* BFINAL 1, BTYPE 11: a reserved block type (RFC 1951 §3.2.3). */
        {Z("\x07\x00\x00"), "reserved block type"},
        {Z("\xff\xff\xff\xff"), "all ones"},
        /* A stored block whose NLEN is not the complement of LEN. */
        {Z("\x00\x05\x00\x00\x00Hello"), "stored block, bad NLEN"},
        /* §7.2.3.2's second message alone: distance too far back. */
        {Z("\xf2\x00\x11\x00\x00"), "distance before the start"},
        /* A good "Hello", then a reserved block type. */
        {Z("\xf2\x48\xcd\xc9\xc9\x07\x00\x00\x00\xff\xff\x07"),
         "Hello, then a reserved block type"},
    };
    struct sink s;

    sink_init(&s, 1024);
    for (size_t i = 0; i < NELEM(bad); i++) {
        for (int how = SPLIT_WHOLE; how <= SPLIT_ONE_BYTE; how++) {
            struct ws_deflate d;
            check_fails_1007(&d, &bad[i], (enum split)how, "corrupt, ", &s);
            ws_deflate_clear(&d);
        }
    }
    sink_free(&s);
}

/*
 * §7.2.2: with the tail appended, a message's data ends on a block
 * boundary; one that stops inside a block is corrupt (1007) and its
 * stream is not reused.
 */
static void
test_inflate_end(void)
{
    static const struct vec_msg bad[] = {
        /* No data at all: the tail alone is half a stored block. */
        {"", 0, "an empty payload"},
        /* A stored block of 10 bytes holding 5; the tail fills 4. */
        {Z("\x00\x0a\x00\xf5\xff"
           "Hello"),
         "a stored block cut short"},
        /* §7.2.3.1 cut after its first two bytes. */
        {Z("\xf2\x48"), "a Huffman block cut short"},
    };
    struct sink s;
    struct ws_deflate d;

    sink_init(&s, 1024);
    for (size_t i = 0; i < NELEM(bad); i++) {
        for (int how = SPLIT_WHOLE; how <= SPLIT_ONE_BYTE; how++) {
            check_fails_1007(&d, &bad[i], (enum split)how, "", &s);
            ok(d.inflater == NULL, "%s (%s): the stream released", bad[i].want,
               split_name((enum split)how));
            /* The next message starts from a fresh stream. */
            inflate_message(&d, (const uint8_t *)vectors[VEC_HELLO].msg[0].z,
                            vectors[VEC_HELLO].msg[0].z_len, SPLIT_WHOLE,
                            ROOM_MAX, &s);
            ok(s.rc == 0 && s.len == 5 && memcmp(s.p, "Hello", 5) == 0,
               "%s (%s): then 7.2.3.1 inflates", bad[i].want,
               split_name((enum split)how));
            ws_deflate_clear(&d);
        }
    }

    /* ws_deflate_clear inside a message that ended its stream (BFINAL,
     * §7.2.3.4) leaves d usable: the next message inflates. */
    ws_deflate_init(&d, &configs[CFG_DEFAULT], &default_params);
    const uint8_t *p = (const uint8_t *)vectors[VEC_BFINAL].msg[0].z;
    size_t n = vectors[VEC_BFINAL].msg[0].z_len;
    uint8_t out[64];
    size_t out_len = sizeof(out);
    is_int(ws_deflate_inflate(&d, &p, &n, out, &out_len, &s.err), 0,
           "clear after BFINAL: 7.2.3.4 inflated");
    is_mem(out, out_len, "Hello", 5, "clear after BFINAL: Hello");
    ws_deflate_clear(&d);
    inflate_message(&d, (const uint8_t *)vectors[VEC_HELLO].msg[0].z,
                    vectors[VEC_HELLO].msg[0].z_len, SPLIT_WHOLE, ROOM_MAX, &s);
    is_int(s.rc, 0, "clear after BFINAL: the next message inflates");
    is_mem(s.p, s.len, "Hello", 5, "clear after BFINAL: the next message");
    ws_deflate_clear(&d);
    sink_free(&s);
}

/* zlib_peer_inflate() with a fresh inflater of `bits`. */
static long
zlib_inflate_fresh(int bits, const uint8_t *in, size_t len, uint8_t *out,
                   size_t cap, size_t chunk)
{
    z_stream zs;

    zlib_peer_inflater(&zs, bits);
    long n = zlib_peer_inflate(&zs, in, len, out, cap, chunk);
    inflateEnd(&zs);
    return n;
}

/*
 * The probe ws_session uses at its size limit: with one byte of room,
 * output zlib still holds comes out even when no input is left.
 */
static void
test_probe(void)
{
    size_t big = 100000;
    uint8_t *zeros = calloc(1, big);
    uint8_t z[1024];
    z_stream zs;
    struct ws_deflate d;
    struct ws_error err = {0, NULL};

    if (zeros == NULL) {
        abort();
    }
    zlib_peer_deflater(&zs, 9, 15);
    size_t z_len = zlib_peer_compress(&zs, zeros, big, z, sizeof(z), true);
    deflateEnd(&zs);

    /*
     * The first half of the input, a byte of room at a time, until zlib
     * has taken all of it: its last code is a long match, still held.
     */
    ws_deflate_init(&d, &configs[CFG_DEFAULT], &default_params);
    const uint8_t *p = z;
    size_t n = z_len / 2;
    size_t total = 0;
    bool bad = false;
    for (size_t calls = 0; n > 0 && !bad && calls <= big; calls++) {
        uint8_t one = 0xff;
        size_t room = 1;
        bad = ws_deflate_inflate(&d, &p, &n, &one, &room, &err) != 0 ||
              room > 1 || (room == 1 && one != 0);
        total += room;
    }
    ok(!bad && n == 0, "probe: half of %zu compressed bytes taken", z_len);

    /* No input left: each call with one byte of room still yields one. */
    size_t pending = 0;
    for (;;) {
        uint8_t one = 0xff;
        size_t room = 1;
        size_t none = 0;
        if (ws_deflate_inflate(&d, &p, &none, &one, &room, &err) != 0 ||
            room == 0 || one != 0 || pending == big) {
            break;
        }
        pending++;
    }
    ok(pending > 0, "probe: %zu bytes came out with no input left", pending);
    total += pending;

    uint8_t one = 0xff;
    size_t room = 1;
    size_t none = 0;
    is_int(ws_deflate_inflate(&d, &p, &none, &one, &room, &err), 0,
           "probe: drained, then 0");
    is_int(room, 0, "probe: drained, no byte");

    /* The second half, then the whole message is there. */
    n = z_len - z_len / 2;
    for (size_t calls = 0; !bad && calls <= big; calls++) {
        uint8_t buf[512];
        room = sizeof(buf);
        bad = ws_deflate_inflate(&d, &p, &n, buf, &room, &err) != 0;
        total += room;
        if (n == 0 && room < sizeof(buf)) {
            break;
        }
    }
    ok(!bad, "probe: the second half inflates");
    is_int(total, big, "probe: every byte came out once");

    /* The tail adds nothing. */
    p = WS_DEFLATE_TAIL;
    n = WS_DEFLATE_TAIL_LEN;
    room = 1;
    is_int(ws_deflate_inflate(&d, &p, &n, &one, &room, &err), 0,
           "probe: tail, 0");
    ok(room == 0 && n == 0, "probe: tail consumed, no byte");
    ws_deflate_clear(&d);
    free(zeros);
}

/* Compressing --------------------------------------------------------------*/

/* Compresses with ws_deflate_compress; aborts the test on -1. */
static size_t
compress_ok(struct ws_deflate *d, const uint8_t *in, size_t len, uint8_t *out,
            size_t cap)
{
    ssize_t n = ws_deflate_compress(d, in, len, out, cap);
    if (!ok(n >= 0, "compress %zu bytes: not -1", len)) {
        return 0;
    }
    return (size_t)n;
}

static void
fill_random(uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)tap_rand();
    }
}

/* "Hello" and other messages come back from ws_deflate_inflate and zlib. */
static void
test_round_trip(void)
{
    static const size_t sizes[] = {1, 5, 64, 1000, 70000, 300000};
    struct ws_deflate tx, rx;
    struct sink s;
    size_t max = 300000;
    uint8_t *msg = malloc(max);
    size_t cap = ws_deflate_compress_bound(max);
    uint8_t *z = malloc(cap);
    uint8_t *check = malloc(max + 1);

    if (msg == NULL || z == NULL || check == NULL) {
        abort();
    }
    sink_init(&s, max + 1);
    ws_deflate_init(&tx, &configs[CFG_DEFAULT], &default_params);
    ws_deflate_init(&rx, &configs[CFG_DEFAULT], &default_params);
    ok(tx.on && tx.inflater == NULL && tx.deflater == NULL,
       "init: on, nothing allocated");

    size_t n = compress_ok(&tx, (const uint8_t *)"Hello", 5, z, cap);
    inflate_message(&rx, z, n, SPLIT_WHOLE, ROOM_MAX, &s);
    is_int(s.rc, 0, "round trip Hello: inflated");
    is_mem(s.p, s.len, "Hello", 5, "round trip Hello");
    ok(tx.deflater != NULL, "round trip Hello: deflater kept (takeover)");

    /* A fresh zlib inflater reads the same bytes; context matters not. */
    ws_deflate_clear(&tx);
    n = compress_ok(&tx, (const uint8_t *)"Hello", 5, z, cap);
    long got = zlib_inflate_fresh(15, z, n, check, max, ROOM_MAX);
    is_mem(check, got < 0 ? 0 : (size_t)got, "Hello", 5,
           "round trip Hello: zlib inflates it too");
    /* rx did not see that one: both start afresh. */
    ws_deflate_clear(&tx);
    ws_deflate_clear(&rx);

    /* An empty message first: the empty stored block, 00 once the tail
     * is removed. */
    ssize_t empty = ws_deflate_compress(&tx, msg, 0, z, cap);
    is_mem(z, empty < 0 ? 0 : (size_t)empty, "\x00", 1,
           "empty message on a fresh stream: 00");
    inflate_message(&rx, z, empty < 0 ? 0 : (size_t)empty, SPLIT_WHOLE,
                    ROOM_MAX, &s);
    ok(s.rc == 0 && s.len == 0, "empty message on a fresh stream: inflates");

    /* Sizes up to several stored blocks, text-like and random, over one
     * pair of streams with context takeover, split every way. */
    for (size_t i = 0; i < NELEM(sizes); i++) {
        for (int kind = 0; kind < 2; kind++) {
            size_t len = sizes[i];
            if (kind == 0) {
                for (size_t k = 0; k < len; k++) {
                    msg[k] = (uint8_t) "abc de\n"[tap_rand_below(7)];
                }
            } else {
                fill_random(msg, len);
            }
            n = compress_ok(&tx, msg, len, z, ws_deflate_compress_bound(len));
            ok(n <= ws_deflate_compress_bound(len),
               "round trip %zu %s bytes: within the bound", len,
               kind == 0 ? "text" : "random");
            enum split how = (enum split)(i % 3);
            inflate_message(&rx, z, n, how, i % 2 == 0 ? ROOM_MAX : 1000, &s);
            is_int(s.rc, 0, "round trip %zu %s bytes (%s): inflated", len,
                   kind == 0 ? "text" : "random", split_name(how));
            ok(s.len == len && (len == 0 || memcmp(s.p, msg, len) == 0),
               "round trip %zu %s bytes (%s): the same bytes", len,
               kind == 0 ? "text" : "random", split_name(how));
        }
    }

    /* An empty message after others, context kept: as compressible. */
    empty = ws_deflate_compress(&tx, msg, 0, z, cap);
    ok(empty >= 0, "empty message after another: compressed (got %zd)", empty);
    if (empty >= 0) {
        inflate_message(&rx, z, (size_t)empty, SPLIT_WHOLE, ROOM_MAX, &s);
        ok(s.rc == 0 && s.len == 0, "empty message after another: inflates");
    }
    ws_deflate_clear(&tx);
    ok(tx.inflater == NULL && tx.deflater == NULL, "clear: both released");
    n = compress_ok(&tx, (const uint8_t *)"Hello", 5, z, cap);
    ok(n > 0 && tx.deflater != NULL, "clear: usable again");
    ws_deflate_clear(&tx);
    ws_deflate_clear(&rx);
    sink_free(&s);
    free(check);
    free(z);
    free(msg);
}

/*
 * §7.1.1.1: with context takeover a repeated message compresses to far
 * less and needs the first one's window; without, each output stands
 * alone and the compressor is released after every message.
 */
static void
test_context_takeover(void)
{
    uint8_t msg[1024];
    uint8_t z1[2048], z2[2048];
    struct ws_deflate tx, rx;
    struct sink s;

    fill_random(msg, sizeof(msg));
    sink_init(&s, 4096);

    struct ws_deflate_params takeover = P_DEFAULT;
    ws_deflate_init(&tx, &configs[CFG_DEFAULT], &takeover);
    size_t n1 = compress_ok(&tx, msg, sizeof(msg), z1, sizeof(z1));
    ok(tx.deflater != NULL, "takeover: deflater kept after message 1");
    size_t n2 = compress_ok(&tx, msg, sizeof(msg), z2, sizeof(z2));
    ok(tx.deflater != NULL, "takeover: deflater kept after message 2");
    ok(n2 < n1 / 8, "takeover: message 2 is %zu bytes, message 1 %zu", n2, n1);
    ws_deflate_init(&rx, &configs[CFG_DEFAULT], &takeover);
    inflate_message(&rx, z1, n1, SPLIT_WHOLE, ROOM_MAX, &s);
    is_mem(s.p, s.len, msg, sizeof(msg), "takeover: message 1 inflates");
    ok(rx.inflater != NULL, "takeover: inflater kept after message 1");
    inflate_message(&rx, z2, n2, SPLIT_ONE_BYTE, 100, &s);
    is_mem(s.p, s.len, msg, sizeof(msg),
           "takeover: message 2 inflates with the same inflater");
    ok(rx.inflater != NULL, "takeover: inflater kept after message 2");
    ws_deflate_clear(&rx);
    /* It needs message 1's window: a fresh inflater fails. */
    ws_deflate_init(&rx, &configs[CFG_DEFAULT], &takeover);
    inflate_message(&rx, z2, n2, SPLIT_WHOLE, 100, &s);
    is_int(s.rc, WS_FAIL, "takeover: message 2 alone does not inflate");
    ws_deflate_clear(&rx);
    ws_deflate_clear(&tx);

    struct ws_deflate_params no_takeover = P(true, false, 15, 15);
    ws_deflate_init(&tx, &configs[CFG_DEFAULT], &no_takeover);
    n1 = compress_ok(&tx, msg, sizeof(msg), z1, sizeof(z1));
    ok(tx.deflater == NULL,
       "server_no_context_takeover: deflater released after message 1");
    n2 = compress_ok(&tx, msg, sizeof(msg), z2, sizeof(z2));
    ok(tx.deflater == NULL,
       "server_no_context_takeover: deflater released after message 2");
    is_mem(z2, n2, z1, n1,
           "server_no_context_takeover: the same message, the same bytes");
    ws_deflate_init(&rx, &configs[CFG_DEFAULT], &no_takeover);
    inflate_message(&rx, z2, n2, SPLIT_WHOLE, ROOM_MAX, &s);
    is_mem(s.p, s.len, msg, sizeof(msg),
           "server_no_context_takeover: message 2 inflates afresh");
    ws_deflate_clear(&rx);
    ws_deflate_clear(&tx);

    /* §7.1.1.2: the client's side. */
    struct ws_deflate_params client_nct = P(false, true, 15, 15);
    ws_deflate_init(&rx, &configs[CFG_DEFAULT], &client_nct);
    inflate_message(&rx, z1, n1, SPLIT_WHOLE, ROOM_MAX, &s);
    is_mem(s.p, s.len, msg, sizeof(msg),
           "client_no_context_takeover: inflates");
    ok(rx.inflater == NULL,
       "client_no_context_takeover: inflater released at the end");
    inflate_message(&rx, z1, n1, SPLIT_RANDOM, 7, &s);
    is_mem(s.p, s.len, msg, sizeof(msg),
           "client_no_context_takeover: the same message again");
    ok(rx.inflater == NULL, "client_no_context_takeover: released again");
    ws_deflate_clear(&rx);
    sink_free(&s);
}

/*
 * §7.1.2.1: a compressor told server_max_window_bits = b never refers
 * further back than 2^b. The message repeats 2000 random bytes after 4000
 * others, which a 15-bit compressor finds 6000 bytes back.
 */
static void
test_window_bits(void)
{
    size_t len = 2000 + 4000 + 2000;
    uint8_t *msg = malloc(len);
    size_t cap = ws_deflate_compress_bound(len);
    uint8_t *z = malloc(cap);
    uint8_t *out = malloc(len + 1);
    size_t z_len[16] = {0};
    uint8_t *z15 = malloc(cap);

    if (msg == NULL || z == NULL || out == NULL || z15 == NULL) {
        abort();
    }
    fill_random(msg, 6000);
    memcpy(msg + 6000, msg, 2000);

    for (unsigned bits = WS_DEFLATE_WINDOW_MIN; bits <= 15; bits++) {
        struct ws_deflate_params p = P_DEFAULT;
        struct ws_deflate tx;
        p.server_max_window_bits = (uint8_t)bits;
        ws_deflate_init(&tx, &configs[CFG_DEFAULT], &p);
        z_len[bits] = compress_ok(&tx, msg, len, z, cap);
        long n =
            zlib_inflate_fresh((int)bits, z, z_len[bits], out, len + 1, 64);
        ok(n == (long)len && memcmp(out, msg, len) == 0,
           "server_max_window_bits=%u: a %u-bit inflater reads it", bits, bits);
        if (bits == 15) {
            memcpy(z15, z, z_len[bits]);
        }
        ws_deflate_clear(&tx);
    }
    ok(z_len[15] + 1000 < z_len[9],
       "window bits: the repeat is found with 15 bits (%zu bytes) and not "
       "with 9 (%zu bytes)",
       z_len[15], z_len[9]);
    /* The checker has teeth: 15-bit output needs more than 12 bits. */
    for (int bits = 9; bits <= 12; bits++) {
        long n = zlib_inflate_fresh(bits, z15, z_len[15], out, len + 1, 64);
        ok(n < 0, "server_max_window_bits=15: a %d-bit inflater fails", bits);
    }

    /* A client told 8 bits deflates with 9 (zlib cannot do 8): inflate. */
    struct ws_deflate_params p8 = P(false, false, 15, 8);
    struct ws_deflate rx;
    struct sink s;
    z_stream zs;
    sink_init(&s, len + 1);
    zlib_peer_deflater(&zs, 6, 9);
    size_t n = zlib_peer_compress(&zs, msg, len, z, cap, true);
    deflateEnd(&zs);
    ws_deflate_init(&rx, &configs[CFG_DEFAULT], &p8);
    inflate_message(&rx, z, n, SPLIT_RANDOM, 64, &s);
    is_mem(s.p, s.len, msg, len,
           "client_max_window_bits=8: a 9-bit client's message inflates");
    ws_deflate_clear(&rx);
    sink_free(&s);
    free(z15);
    free(out);
    free(z);
    free(msg);
}

/* Messages shorter than min_bytes go uncompressed. */
static void
test_wants(void)
{
    struct ws_deflate d;
    struct ws_deflate off;

    ws_deflate_init(&d, &configs[CFG_DEFAULT], &default_params);
    ok(!ws_deflate_wants(&d, 0), "wants: not 0 bytes");
    ok(!ws_deflate_wants(&d, 63), "wants: not 63 bytes (min_bytes 64)");
    ok(ws_deflate_wants(&d, 64), "wants: 64 bytes");
    ok(ws_deflate_wants(&d, 65), "wants: 65 bytes");
    ok(ws_deflate_wants(&d, (size_t)1 << 30), "wants: 1 GiB");
    memset(&off, 0, sizeof(off));
    ok(!ws_deflate_wants(&off, 1000), "wants: never when not negotiated");
    ok(ws_deflate_compress_bound(0) > WS_DEFLATE_TAIL_LEN,
       "compress bound: room for an empty message");
    ok(ws_deflate_compress_bound(100000) > 100000 + 100000 / 65535 * 5,
       "compress bound: above stored-block growth");
}

int
main(void)
{
    tap_seed();
    test_negotiate_table();
    test_negotiate_window_bits();
    test_negotiate_resp_cap();
    test_vectors();
    test_corrupt();
    test_inflate_end();
    test_probe();
    test_round_trip();
    test_context_takeover();
    test_window_bits();
    test_wants();
    return tap_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * permessage-deflate (RFC 7692): the extension negotiation of §7.1 and
 * raw deflate streams per direction (§7.2). Not here: RSV1 and framing.
 */
#include "autoconf.h"

#include "ws_deflate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

/* Negotiation -------------------------------------------------------------*/

/* One permessage-deflate offer's parameters. */
struct offer {
    bool server_no_context_takeover;
    bool client_no_context_takeover;
    int server_max_window_bits; /* -1: absent */
    int client_max_window_bits; /* -1: absent, 0: present without value */
    bool bad;                   /* unknown, repeated or malformed parameter */
};

struct cursor {
    const char *p;
    const char *end;
};

static void
skip_ows(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) {
        c->p++;
    }
}

static struct ws_span
take_token(struct cursor *c)
{
    struct ws_span t = {c->p, 0};
    while (c->p < c->end && ws_http_is_tchar((unsigned char)*c->p)) {
        c->p++;
    }
    t.len = (size_t)(c->p - t.p);
    return t;
}

/*
 * A parameter value: a token or a quoted-string (RFC 9110 §5.6.4),
 * unescaped into out[0..cap). Returns its length, or -1 if malformed or
 * longer than cap - 1 (no value wsd understands is long). A quoted value
 * is always read to its closing quote, so that the cursor stays in step
 * with the list's structure whatever the value's length.
 */
static int
take_value(struct cursor *c, char *out, size_t cap)
{
    size_t n = 0;

    if (c->p < c->end && *c->p == '"') {
        bool too_long = false;
        c->p++;
        for (;;) {
            if (c->p == c->end) {
                return -1;
            }
            char ch = *c->p++;
            if (ch == '"') {
                break;
            }
            if (ch == '\\') {
                if (c->p == c->end) {
                    return -1;
                }
                ch = *c->p++;
            }
            if (n + 1 >= cap) {
                too_long = true;
            } else {
                out[n++] = ch;
            }
        }
        if (too_long) {
            return -1;
        }
    } else {
        struct ws_span t = take_token(c);
        if (t.len == 0 || t.len + 1 > cap) {
            return -1;
        }
        memcpy(out, t.p, t.len);
        n = t.len;
    }
    out[n] = '\0';
    return (int)n;
}

/* §7.1.2: a decimal integer 8 to 15 without leading zeroes. */
static int
window_bits(const char *v)
{
    if (v[0] == '8' || v[0] == '9') {
        return v[1] == '\0' ? v[0] - '0' : -1;
    }
    if (v[0] == '1' && v[1] >= '0' && v[1] <= '5' && v[2] == '\0') {
        return 10 + (v[1] - '0');
    }
    return -1;
}

static bool
span_is(struct ws_span s, const char *word)
{
    return s.len == strlen(word) && strncasecmp(s.p, word, s.len) == 0;
}

/* Records one parameter of a permessage-deflate offer (§7.1). */
static void
offer_param(struct offer *o, struct ws_span name, bool has_value,
            const char *value)
{
    if (span_is(name, "server_no_context_takeover")) {
        o->bad |= has_value || o->server_no_context_takeover;
        o->server_no_context_takeover = true;
    } else if (span_is(name, "client_no_context_takeover")) {
        o->bad |= has_value || o->client_no_context_takeover;
        o->client_no_context_takeover = true;
    } else if (span_is(name, "server_max_window_bits")) {
        /* §7.1.2.1: the parameter has a value. */
        o->bad |= !has_value || o->server_max_window_bits != -1;
        o->server_max_window_bits = has_value ? window_bits(value) : -1;
        o->bad |= o->server_max_window_bits == -1;
    } else if (span_is(name, "client_max_window_bits")) {
        /* §7.1.2.2: the value is optional in an offer. */
        o->bad |= o->client_max_window_bits != -1;
        o->client_max_window_bits = has_value ? window_bits(value) : 0;
        o->bad |= o->client_max_window_bits == -1;
    } else {
        /* §7.1: an offer with an unknown parameter is declined. */
        o->bad = true;
    }
}

/* Skips to just past the next comma outside a quoted-string. */
static void
skip_extension(struct cursor *c)
{
    bool quoted = false;
    while (c->p < c->end) {
        char ch = *c->p++;
        if (quoted && ch == '\\' && c->p < c->end) {
            c->p++;
        } else if (ch == '"') {
            quoted = !quoted;
        } else if (ch == ',' && !quoted) {
            return;
        }
    }
}

/*
 * Parses parameters at c (RFC 6455 §9.1: "; name[=value]" each; with
 * bare, the first one without its ';', as a command line gives them)
 * into o, up to the comma that ends the extension or the end.
 */
static void
take_params(struct cursor *c, struct offer *o, bool bare)
{
    char value[16];

    for (;;) {
        skip_ows(c);
        if (c->p == c->end || *c->p == ',') {
            break;
        }
        if (bare) {
            bare = false;
        } else if (*c->p != ';') {
            o->bad = true;
            break;
        } else {
            c->p++;
            skip_ows(c);
        }
        struct ws_span param = take_token(c);
        skip_ows(c);
        bool has_value = c->p < c->end && *c->p == '=';
        if (has_value) {
            c->p++;
            skip_ows(c);
            if (take_value(c, value, sizeof(value)) < 0) {
                o->bad = true;
                break;
            }
        }
        if (param.len == 0) {
            o->bad = true;
            break;
        }
        offer_param(o, param, has_value, value);
    }
}

static void
offer_clear(struct offer *o)
{
    memset(o, 0, sizeof(*o));
    o->server_max_window_bits = -1;
    o->client_max_window_bits = -1;
}

/*
 * Parses one extension of the list at c (RFC 6455 §9.1): its name and
 * parameters (o->bad when they are not well formed). Leaves c after the
 * comma that ends it. Returns its name.
 */
static struct ws_span
take_extension(struct cursor *c, struct offer *o)
{
    offer_clear(o);
    skip_ows(c);
    struct ws_span name = take_token(c);
    take_params(c, o, false);
    skip_extension(c);
    return name;
}

/* True when the extension at c is a well-formed permessage-deflate. */
static bool
take_offer(struct cursor *c, struct offer *o)
{
    struct ws_span name = take_extension(c, o);
    return span_is(name, "permessage-deflate") && !o->bad;
}

/*
 * Decides what to grant for an acceptable offer, or declines it (false).
 * What the response grants is exactly what the streams will do.
 */
static bool
grant(const struct ws_deflate_config *cfg, const struct offer *o,
      struct ws_deflate_params *p)
{
    /* §7.1.2.1: the server may only answer with the offered window or a
     * smaller one, and zlib cannot compress with 8 bits: decline. */
    if (o->server_max_window_bits != -1 &&
        o->server_max_window_bits < WS_DEFLATE_WINDOW_MIN) {
        return false;
    }
    p->server_no_context_takeover =
        o->server_no_context_takeover || cfg->server_no_context_takeover;
    p->client_no_context_takeover =
        o->client_no_context_takeover || cfg->client_no_context_takeover;
    p->server_max_window_bits = cfg->server_max_window_bits;
    if (o->server_max_window_bits != -1 &&
        o->server_max_window_bits < p->server_max_window_bits) {
        p->server_max_window_bits = (uint8_t)o->server_max_window_bits;
    }
    /* §7.1.2.2: without client_max_window_bits in the offer the client
     * may use 15 and cannot be told otherwise. */
    p->client_max_window_bits = WS_DEFLATE_WINDOW_MAX;
    if (o->client_max_window_bits != -1) {
        int limit = o->client_max_window_bits == 0 ? WS_DEFLATE_WINDOW_MAX
                                                   : o->client_max_window_bits;
        p->client_max_window_bits =
            (uint8_t)(limit < cfg->client_max_window_bits
                          ? limit
                          : cfg->client_max_window_bits);
    }
    return true;
}

static bool
write_response(const struct offer *o, const struct ws_deflate_params *p,
               char *resp, size_t cap)
{
    char buf[WS_DEFLATE_RESPONSE_MAX + 30]; /* and room to see it is not */
    int n = snprintf(
        buf, sizeof(buf), "permessage-deflate%s%s",
        p->server_no_context_takeover ? "; server_no_context_takeover" : "",
        p->client_no_context_takeover ? "; client_no_context_takeover" : "");
    size_t len = n > 0 ? (size_t)n : 0;

    /* Every window parameter that was offered, or that narrows what the
     * other side would assume, is stated. */
    if (o->server_max_window_bits != -1 ||
        p->server_max_window_bits < WS_DEFLATE_WINDOW_MAX) {
        n = snprintf(buf + len, sizeof(buf) - len,
                     "; server_max_window_bits=%u", p->server_max_window_bits);
        len += n > 0 ? (size_t)n : 0;
    }
    if (o->client_max_window_bits != -1) {
        n = snprintf(buf + len, sizeof(buf) - len,
                     "; client_max_window_bits=%u", p->client_max_window_bits);
        len += n > 0 ? (size_t)n : 0;
    }
    if (len >= sizeof(buf) || len >= cap) {
        return false;
    }
    memcpy(resp, buf, len + 1);
    return true;
}

bool
ws_deflate_negotiate(const struct ws_deflate_config *cfg,
                     const struct ws_span *values, unsigned n,
                     struct ws_deflate_params *params, char *resp, size_t cap)
{
    if (!cfg->enabled) {
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        struct cursor c = {values[i].p, values[i].p + values[i].len};
        while (c.p < c.end) {
            struct offer o;
            struct ws_deflate_params p;
            if (take_offer(&c, &o) && grant(cfg, &o, &p) &&
                write_response(&o, &p, resp, cap)) {
                *params = p;
                return true;
            }
        }
    }
    return false;
}

/* The client's side of the negotiation ------------------------------------*/

int
ws_deflate_offer_parse(struct ws_deflate_offer *o, const char *params,
                       size_t len, struct ws_error *err)
{
    struct cursor c = {params, params + len};
    struct offer p;

    offer_clear(&p);
    take_params(&c, &p, true);
    if (p.bad || c.p != c.end) {
        err->code = 0;
        err->reason = "unknown, repeated or malformed permessage-deflate "
                      "parameter (RFC 7692 §7.1 lists them, windows 8-15)";
        return WS_FAIL;
    }
    memset(o, 0, sizeof(*o));
    o->server_no_context_takeover = p.server_no_context_takeover;
    o->client_no_context_takeover = p.client_no_context_takeover;
    if (p.server_max_window_bits != -1) {
        o->server_max_window_bits = (uint8_t)p.server_max_window_bits;
    }
    if (p.client_max_window_bits == 0) {
        o->client_max_window_bits = WS_DEFLATE_NO_VALUE;
    } else if (p.client_max_window_bits != -1) {
        o->client_max_window_bits = (uint8_t)p.client_max_window_bits;
    }
    return 0;
}

size_t
ws_deflate_offer_write(const struct ws_deflate_offer *o, char *out, size_t cap)
{
    char buf[160];
    int n = snprintf(
        buf, sizeof(buf), "permessage-deflate%s%s",
        o->server_no_context_takeover ? "; server_no_context_takeover" : "",
        o->client_no_context_takeover ? "; client_no_context_takeover" : "");
    size_t len = n > 0 ? (size_t)n : 0;

    if (o->server_max_window_bits != 0) {
        n = snprintf(buf + len, sizeof(buf) - len,
                     "; server_max_window_bits=%u", o->server_max_window_bits);
        len += n > 0 ? (size_t)n : 0;
    }
    if (o->client_max_window_bits == WS_DEFLATE_NO_VALUE) {
        n = snprintf(buf + len, sizeof(buf) - len, "; client_max_window_bits");
        len += n > 0 ? (size_t)n : 0;
    } else if (o->client_max_window_bits != 0) {
        n = snprintf(buf + len, sizeof(buf) - len,
                     "; client_max_window_bits=%u", o->client_max_window_bits);
        len += n > 0 ? (size_t)n : 0;
    }
    if (len >= sizeof(buf) || len >= cap) {
        return 0;
    }
    memcpy(out, buf, len + 1);
    return len;
}

static int
refuse(struct ws_error *err, const char *reason)
{
    err->code = 0;
    err->reason = reason;
    return WS_FAIL;
}

/* §7.1: what an accepted answer a may say to the offer o. */
static int
check_answer(const struct ws_deflate_offer *o, const struct offer *a,
             struct ws_error *err)
{
    /* §7.1.2.1: the same window as offered, or a smaller one; the server
     * may state one it was not asked for. */
    if (a->server_max_window_bits != -1 && o->server_max_window_bits != 0 &&
        a->server_max_window_bits > o->server_max_window_bits) {
        return refuse(err, "permessage-deflate answer's "
                           "server_max_window_bits is over the offer's");
    }
    /* §7.1.2.2: only when offered, then with a value, no larger than an
     * offered one. */
    if (a->client_max_window_bits != -1 && o->client_max_window_bits == 0) {
        return refuse(err, "permessage-deflate answer has "
                           "client_max_window_bits, which was not offered");
    }
    if (a->client_max_window_bits == 0) {
        return refuse(err, "permessage-deflate answer's "
                           "client_max_window_bits has no value");
    }
    if (a->client_max_window_bits != -1 &&
        o->client_max_window_bits != WS_DEFLATE_NO_VALUE &&
        a->client_max_window_bits > o->client_max_window_bits) {
        return refuse(err, "permessage-deflate answer's "
                           "client_max_window_bits is over the offer's");
    }
    return 0;
}

/* The streams' parameters from an answer check_answer let through. */
static void
answer_params(const struct ws_deflate_offer *o, const struct offer *a,
              struct ws_deflate_params *p)
{
    p->server_no_context_takeover = a->server_no_context_takeover;
    /* §7.1.1.2: offering it is a promise, whatever the answer. */
    p->client_no_context_takeover =
        a->client_no_context_takeover || o->client_no_context_takeover;
    p->server_max_window_bits = a->server_max_window_bits != -1
                                    ? (uint8_t)a->server_max_window_bits
                                    : WS_DEFLATE_WINDOW_MAX;
    int client = WS_DEFLATE_WINDOW_MAX;
    if (o->client_max_window_bits != 0 &&
        o->client_max_window_bits != WS_DEFLATE_NO_VALUE) {
        client = o->client_max_window_bits;
    }
    if (a->client_max_window_bits > 0 && a->client_max_window_bits < client) {
        client = a->client_max_window_bits;
    }
    p->client_max_window_bits = (uint8_t)client;
}

int
ws_deflate_accept(const struct ws_deflate_offer *o,
                  const struct ws_span *values, unsigned n,
                  struct ws_deflate_params *params, struct ws_error *err)
{
    struct offer answer;
    bool found = false;

    for (unsigned i = 0; i < n; i++) {
        struct cursor c = {values[i].p, values[i].p + values[i].len};
        while (c.p < c.end) {
            struct offer a;
            struct ws_span name = take_extension(&c, &a);
            if (name.len == 0 && !a.bad) {
                continue; /* an empty element of the list */
            }
            /* RFC 6455 §9.1: only extensions the client offered. */
            if (!span_is(name, "permessage-deflate")) {
                return refuse(err, "Sec-WebSocket-Extensions names an "
                                   "extension that was not offered");
            }
            if (found) {
                return refuse(err, "Sec-WebSocket-Extensions accepts "
                                   "permessage-deflate twice");
            }
            if (a.bad) {
                return refuse(err, "permessage-deflate answer has an "
                                   "unknown, repeated or malformed "
                                   "parameter");
            }
            if (check_answer(o, &a, err) != 0) {
                return WS_FAIL;
            }
            answer = a;
            found = true;
        }
    }
    if (!found) {
        return 0;
    }
    answer_params(o, &answer, params);
    return 1;
}

/* Streams ----------------------------------------------------------------*/

void
ws_deflate_init(struct ws_deflate *d, const struct ws_deflate_config *cfg,
                const struct ws_deflate_params *params)
{
    memset(d, 0, sizeof(*d));
    d->on = true;
    d->cfg = cfg;
    d->params = *params;
}

void
ws_deflate_init_client(struct ws_deflate *d,
                       const struct ws_deflate_config *cfg,
                       const struct ws_deflate_params *params)
{
    ws_deflate_init(d, cfg, params);
    d->client = true;
}

/* The peer's window and context rule (what we inflate), and ours. */
static uint8_t
rx_window_bits(const struct ws_deflate *d)
{
    return d->client ? d->params.server_max_window_bits
                     : d->params.client_max_window_bits;
}

static bool
rx_no_context_takeover(const struct ws_deflate *d)
{
    return d->client ? d->params.server_no_context_takeover
                     : d->params.client_no_context_takeover;
}

static uint8_t
tx_window_bits(const struct ws_deflate *d)
{
    return d->client ? d->params.client_max_window_bits
                     : d->params.server_max_window_bits;
}

static bool
tx_no_context_takeover(const struct ws_deflate *d)
{
    return d->client ? d->params.client_no_context_takeover
                     : d->params.server_no_context_takeover;
}

static void
release_inflater(struct ws_deflate *d)
{
    d->ended = false;
    if (d->inflater != NULL) {
        inflateEnd(d->inflater);
        free(d->inflater);
        d->inflater = NULL;
    }
}

static void
release_deflater(struct ws_deflate *d)
{
    if (d->deflater != NULL) {
        deflateEnd(d->deflater);
        free(d->deflater);
        d->deflater = NULL;
    }
}

void
ws_deflate_clear(struct ws_deflate *d)
{
    release_inflater(d);
    release_deflater(d);
}

static z_stream *
inflater(struct ws_deflate *d)
{
    if (d->inflater == NULL) {
        z_stream *z = calloc(1, sizeof(*z));
        /* A zlib peer told 8 bits deflates with 9 (zlib cannot do 8), so
         * inflate with at least 9: a larger window reads any smaller. */
        int bits = rx_window_bits(d) < WS_DEFLATE_WINDOW_MIN
                       ? WS_DEFLATE_WINDOW_MIN
                       : rx_window_bits(d);
        if (z == NULL || inflateInit2(z, -bits) != Z_OK) {
            free(z);
            return NULL;
        }
        d->inflater = z;
    }
    return d->inflater;
}

int
ws_deflate_inflate(struct ws_deflate *d, const uint8_t **in, size_t *in_len,
                   uint8_t *out, size_t *out_len, struct ws_error *err)
{
    z_stream *z = inflater(d);
    int rc;

    if (z == NULL) {
        err->code = 1011;
        err->reason = "out of memory for decompression";
        return WS_FAIL;
    }
    if (d->ended) {
        /* RFC 1951 §3.2.3: nothing follows a final block but the tail
         * §7.2.2 appends; the rest of the message is not deflate data. */
        *in += *in_len;
        *in_len = 0;
        *out_len = 0;
        return 0;
    }
    z->next_in = (Bytef *)(uintptr_t)*in;
    z->avail_in = (uInt)*in_len;
    z->next_out = out;
    z->avail_out = (uInt)*out_len;
    rc = inflate(z, Z_SYNC_FLUSH);
    *in += *in_len - z->avail_in;
    *in_len = z->avail_in;
    *out_len -= z->avail_out;
    if (rc == Z_STREAM_END) {
        /* RFC 7692 §7.2.3.4: a message may end its stream with BFINAL;
         * the next message then starts a new one. */
        d->ended = true;
        *in += *in_len;
        *in_len = 0;
        return 0;
    }
    switch (rc) {
    case Z_OK:
    case Z_BUF_ERROR: /* no progress possible: input or room exhausted */
        return 0;
    case Z_MEM_ERROR:
        err->code = 1011;
        err->reason = "out of memory for decompression";
        return WS_FAIL;
    default:
        if (*out_len > 0) {
            /* zlib reads block headers without room for output, so one
             * call may produce bytes and then meet corrupt data that a
             * call with less input would not have reached. The bytes go
             * first (the caller may find the message too big, or its text
             * invalid, as it would with the input cut there); zlib keeps
             * its error state and the next call reports it. */
            return 0;
        }
        /* RFC 7692 names no close code for data that does not inflate:
         * it is payload inconsistent with its message, RFC 6455 §7.4.1's
         * 1007. */
        err->code = 1007;
        err->reason = "invalid compressed data";
        return WS_FAIL;
    }
}

int
ws_deflate_inflate_end(struct ws_deflate *d, struct ws_error *err)
{
    z_stream *z = d->inflater;

    if (d->ended) {
        d->ended = false;
        if (z != NULL) {
            inflateReset(z);
        }
    } else if (z == NULL || (z->data_type & 128) == 0) {
        /* zlib sets bit 128 of data_type when it stopped between blocks:
         * §7.2.2's tail completes the sender's flush to such a boundary,
         * and a message whose data stops elsewhere is corrupt. */
        release_inflater(d);
        err->code = 1007;
        err->reason = "invalid compressed data";
        return WS_FAIL;
    }
    /* §7.1.1.2: without context takeover the next message starts from an
     * empty window, so the stream (and its 2^bits window) can go. */
    if (rx_no_context_takeover(d)) {
        release_inflater(d);
    }
    return 0;
}

size_t
ws_deflate_compress_bound(size_t len)
{
    /* Raw deflate grows incompressible input by a 5-byte stored-block
     * header per block of at most 64 KiB, plus the sync flush's empty
     * block; one eighth more is far beyond either. */
    return len + len / 8 + 64;
}

bool
ws_deflate_wants(const struct ws_deflate *d, size_t len)
{
    return d->on && len >= d->cfg->min_bytes;
}

static z_stream *
deflater(struct ws_deflate *d)
{
    if (d->deflater == NULL) {
        z_stream *z = calloc(1, sizeof(*z));
        /* zlib cannot compress with an 8-bit window. Told 8 (a server
         * may ask it of a client), Huffman coding alone honours it: it
         * refers back to nothing, so any window reads it; the stream's
         * own window is then 9, which no output depends on. */
        int bits = tx_window_bits(d);
        int strategy = Z_DEFAULT_STRATEGY;
        if (bits < WS_DEFLATE_WINDOW_MIN) {
            bits = WS_DEFLATE_WINDOW_MIN;
            strategy = Z_HUFFMAN_ONLY;
        }
        if (z == NULL || deflateInit2(z, d->cfg->level, Z_DEFLATED, -bits,
                                      d->cfg->mem_level, strategy) != Z_OK) {
            free(z);
            return NULL;
        }
        d->deflater = z;
    }
    return d->deflater;
}

ssize_t
ws_deflate_compress(struct ws_deflate *d, const uint8_t *in, size_t len,
                    uint8_t *out, size_t cap)
{
    z_stream *z;
    ssize_t n = -1;

    if (len == 0 && cap >= 1) {
        /* RFC 7692 §7.2.3.6: an empty message is one 0x00 byte whatever
         * the context (zlib would refuse a flush with nothing new). */
        out[0] = 0x00;
        return 1;
    }
    z = deflater(d);
    if (z == NULL) {
        return -1;
    }
    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = (uInt)len;
    z->next_out = out;
    z->avail_out = (uInt)cap;
    int rc = deflate(z, Z_SYNC_FLUSH);
    size_t produced = cap - z->avail_out;
    /* §7.2.1: the sync flush ends in 00 00 ff ff, which is not sent. */
    if (rc == Z_OK && z->avail_in == 0 && z->avail_out > 0 &&
        produced >= WS_DEFLATE_TAIL_LEN &&
        memcmp(out + produced - WS_DEFLATE_TAIL_LEN, WS_DEFLATE_TAIL,
               WS_DEFLATE_TAIL_LEN) == 0) {
        n = (ssize_t)(produced - WS_DEFLATE_TAIL_LEN);
    }
    if (n < 0 || tx_no_context_takeover(d)) {
        /* §7.1.1.1: no context takeover, or a stream in an unknown state
         * after a failure: start the next message afresh. */
        release_deflater(d);
    }
    return n;
}

/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 message syntax for the opening handshake, request and
 * response alike (RFC 9112, RFC 9110), and base64 (RFC 4648). In place
 * over the caller's buffer; no allocation, no state.
 */
#include "autoconf.h"

#include "ws_http.h"

#include <stdint.h>
#include <string.h>

/* Bytes 0x80 to 0xff are no tchars: left 0. */
const uint8_t ws_http_tchars[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0, /* 0x20  !"#$%&'()*+,-./ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, /* 0x30 0-9:;<=>? */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 @A-O */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, /* 0x50 P-Z[\]^_ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 `a-o */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, /* 0x70 p-z{|}~ DEL */
};

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static bool
is_ows(unsigned char c)
{
    /* RFC 9110 §5.6.3: OWS is spaces and horizontal tabs. */
    return c == ' ' || c == '\t';
}

bool
ws_http_span_equals(struct ws_span s, const char *str)
{
    size_t n = strlen(str);

    return s.len == n && memcmp(s.p, str, n) == 0;
}

bool
ws_http_list_has_word(struct ws_span s, const char *word)
{
    size_t i = 0;

    while (i < s.len) {
        size_t start = i;
        while (i < s.len && s.p[i] != ',') {
            i++;
        }
        size_t end = i;
        while (start < end && is_ows((unsigned char)s.p[start])) {
            start++;
        }
        while (end > start && is_ows((unsigned char)s.p[end - 1])) {
            end--;
        }
        struct ws_span elem = {s.p + start, end - start};
        if (ws_http_span_is_word(elem, word)) {
            return true;
        }
        i++;
    }
    return false;
}

/*
 * Only bytes before *scanned are looked back at, and those the caller
 * gave before, so a slow peer costs linear time in total.
 */
bool
ws_http_find_end(size_t *scanned, const char *buf, size_t len, size_t max_bytes,
                 size_t *end)
{
    size_t limit = len < max_bytes ? len : max_bytes;
    size_t i = *scanned <= limit ? *scanned : 0;

    while (i < limit) {
        const char *lf = memchr(buf + i, '\n', limit - i);
        if (lf == NULL) {
            break;
        }
        i = (size_t)(lf - buf);
        /* RFC 9112 §2.2: a line ends in CRLF or a bare LF. */
        size_t j = i;
        if (j > 0 && buf[j - 1] == '\r') {
            j--;
        }
        if (j == 0 || buf[j - 1] == '\n') {
            *scanned = i;
            *end = i + 1;
            return true;
        }
        i++;
    }
    *scanned = limit;
    return false;
}

struct ws_span
ws_http_next_line(const char *buf, size_t end, size_t *pos)
{
    const char *start = buf + *pos;
    const char *lf = memchr(start, '\n', end - *pos);
    size_t n = lf != NULL ? (size_t)(lf - start) : end - *pos;

    *pos += lf != NULL ? n + 1 : n;
    if (n > 0 && start[n - 1] == '\r') {
        n--;
    }
    return (struct ws_span){start, n};
}

/*
 * Whether the word x (eight bytes of a field value) may hold a control
 * character: a byte below 0x20, or DEL. The usual tests for a byte below
 * a bound and for a zero byte, exact about whether there is one (not
 * always which); a HTAB, which values may hold, also answers yes.
 */
static bool
word_may_hold_control(uint64_t x)
{
    const uint64_t ones = UINT64_C(0x0101010101010101);
    const uint64_t del = x ^ (ones * 0x7f);

    return ((((x - ones * 0x20) & ~x) | ((del - ones) & ~del)) &
            UINT64_C(0x8080808080808080)) != 0;
}

/*
 * RFC 9110 §5.5: whether p[0..n) holds a control character other than
 * HTAB, or DEL. Eight bytes a step, the last step overlapping the one
 * before; byte by byte only from a word that may hold one (a value with
 * a HTAB), and for values shorter than a word.
 */
static bool
has_control(const unsigned char *p, size_t n)
{
    size_t k = 0;

    if (n >= sizeof(uint64_t)) {
        uint64_t x;
        for (; k + sizeof(x) <= n; k += sizeof(x)) {
            memcpy(&x, p + k, sizeof(x));
            if (word_may_hold_control(x)) {
                break;
            }
        }
        if (k + sizeof(x) > n) {
            /* All words clean: the tail is the last word's end. */
            memcpy(&x, p + n - sizeof(x), sizeof(x));
            if (!word_may_hold_control(x)) {
                return false;
            }
            k = n - sizeof(x);
        }
    }
    for (; k < n; k++) {
        if ((p[k] < 0x20 && p[k] != '\t') || p[k] == 0x7f) {
            return true;
        }
    }
    return false;
}

const char *
ws_http_parse_field(struct ws_span line, struct ws_span *name,
                    struct ws_span *value)
{
    const unsigned char *p = (const unsigned char *)line.p;
    size_t n = line.len;
    size_t i = 0;

    /* RFC 9112 §5.2: obs-fold may be rejected; wsd does, both ways. */
    if (is_ows(p[0])) {
        return "obsolete line folding in header section";
    }
    while (i < n && ws_http_is_tchar(p[i])) {
        i++;
    }
    if (i > 0 && i < n && is_ows(p[i])) {
        size_t k = i;
        while (k < n && is_ows(p[k])) {
            k++;
        }
        /* RFC 9112 §5.1: whitespace before the colon is refused. */
        if (k < n && p[k] == ':') {
            return "whitespace before colon in header field";
        }
    }
    if (i == 0 || i == n || p[i] != ':') {
        return "malformed header field name";
    }
    *name = (struct ws_span){line.p, i};

    i++;
    while (i < n && is_ows(p[i])) {
        i++;
    }
    while (n > i && is_ows(p[n - 1])) {
        n--;
    }
    /* RFC 9110 §5.5: field values hold no control characters but HTAB;
     * RFC 9112 §2.2 allows rejecting a bare CR, which this does too. */
    if (has_control(p + i, n - i)) {
        return "control character in header field value";
    }
    *value = (struct ws_span){line.p + i, n - i};
    return NULL;
}

size_t
ws_http_base64(char *out, const unsigned char *in, size_t n)
{
    size_t o = 0;
    size_t i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
                     (uint32_t)in[i + 2];
        out[o++] = b64_alphabet[v >> 18 & 0x3f];
        out[o++] = b64_alphabet[v >> 12 & 0x3f];
        out[o++] = b64_alphabet[v >> 6 & 0x3f];
        out[o++] = b64_alphabet[v & 0x3f];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64_alphabet[v >> 18 & 0x3f];
        out[o++] = b64_alphabet[v >> 12 & 0x3f];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64_alphabet[v >> 18 & 0x3f];
        out[o++] = b64_alphabet[v >> 12 & 0x3f];
        out[o++] = b64_alphabet[v >> 6 & 0x3f];
        out[o++] = '=';
    }
    return o;
}

void
ws_http_writer_init(struct ws_http_writer *w, char *out, size_t cap)
{
    w->p = out;
    w->cap = cap;
    w->len = 0;
    w->full = false;
}

void
ws_http_put(struct ws_http_writer *w, const char *s, size_t n)
{
    if (w->full || n == 0) {
        return;
    }
    if (n > w->cap - w->len) {
        w->full = true;
        return;
    }
    if (w->p != NULL) {
        memcpy(w->p + w->len, s, n);
    }
    w->len += n;
}

void
ws_http_put_str(struct ws_http_writer *w, const char *s)
{
    ws_http_put(w, s, strlen(s));
}

void
ws_http_put_uint(struct ws_http_writer *w, size_t v)
{
    char digits[24];
    size_t i = sizeof(digits);

    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    ws_http_put(w, digits + i, sizeof(digits) - i);
}

size_t
ws_http_writer_done(const struct ws_http_writer *w)
{
    return w->full ? 0 : w->len;
}

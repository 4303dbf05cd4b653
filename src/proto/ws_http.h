/* SPDX-License-Identifier: MIT */
/*
 * The HTTP/1.1 message syntax both sides of the opening handshake share
 * (RFC 9112, RFC 9110): finding the end of a header section, cutting it
 * into lines, splitting a field line into name and value, tokens and
 * comma-separated lists, a bounded writer, and base64. Spans point into the
 * caller's buffer; nothing here allocates or keeps state.
 */
#ifndef WSD_PROTO_WS_HTTP_H
#define WSD_PROTO_WS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A piece of the caller's buffer; not NUL-terminated. len 0 when absent. */
struct ws_span {
    const char *p;
    size_t len;
};

/*
 * Looks for the empty line that ends a header section in the first
 * min(len, max_bytes) bytes of buf, from *scanned on (the bytes before it
 * were searched by an earlier call on the same head, so a peer sending
 * one byte at a time costs linear time). Lines end in CRLF or a bare LF
 * (RFC 9112 §2.2). Returns true with *end just past that line; false
 * otherwise. Updates *scanned either way.
 */
bool ws_http_find_end(size_t *scanned, const char *buf, size_t len,
                      size_t max_bytes, size_t *end);

/* Cuts the next line, without its line ending, from buf[*pos..end). */
struct ws_span ws_http_next_line(const char *buf, size_t end, size_t *pos);

/*
 * RFC 9112 §5: field-line = field-name ":" OWS field-value OWS. Splits a
 * header line into its name and its trimmed value. Returns NULL, or a
 * sentence naming what is malformed: obs-fold, whitespace before the
 * colon, a name that is not a token, a control character in the value.
 */
const char *ws_http_parse_field(struct ws_span line, struct ws_span *name,
                                struct ws_span *value);

/* RFC 9110 §5.6.2: 1 for a tchar (DIGIT, ALPHA and !#$%&'*+-.^_`|~),
 * else 0, for each byte value. */
extern const uint8_t ws_http_tchars[256];

/* Inline, and a load: a header name is a run of tchars, tested byte by
 * byte, and a call or a bit test per byte cost more. */
static inline bool
ws_http_is_tchar(unsigned char c)
{
    return ws_http_tchars[c] != 0;
}

/*
 * Folds the upper-case letters of eight bytes x to lower case where the
 * word's bytes w are lower-case letters, and nowhere else: the letters of
 * w have bit 0x40 set, and its digits and '-' have not (the only other
 * bytes a word may hold). So a byte matches a letter of w in either case,
 * and anything else only exactly: a CR never passes for a '-'.
 */
static inline uint64_t
ws_http_fold_like(uint64_t x, uint64_t w)
{
    return x | ((w & UINT64_C(0x4040404040404040)) >> 1);
}

/* True when s equals the word, ignoring ASCII case; the word holds only
 * lower-case letters, digits and '-'. Inline: a header name is tried
 * against a dozen words, and with each word's length known where it is
 * written most tries end at the first compare. Eight bytes a step, the
 * last step overlapping the one before; byte by byte under eight. */
static inline bool
ws_http_span_is_word(struct ws_span s, const char *word)
{
    size_t n = strlen(word);
    uint64_t x;
    uint64_t w;

    if (s.len != n) {
        return false;
    }
    if (n < sizeof(x)) {
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)word[i];
            if (ws_http_fold_like((unsigned char)s.p[i], c) != c) {
                return false;
            }
        }
        return true;
    }
    for (size_t i = 0; i + sizeof(x) <= n; i += sizeof(x)) {
        memcpy(&x, s.p + i, sizeof(x));
        memcpy(&w, word + i, sizeof(w));
        if (ws_http_fold_like(x, w) != w) {
            return false;
        }
    }
    memcpy(&x, s.p + n - sizeof(x), sizeof(x));
    memcpy(&w, word + n - sizeof(w), sizeof(w));
    return ws_http_fold_like(x, w) == w;
}

/* True when s equals str byte for byte. */
bool ws_http_span_equals(struct ws_span s, const char *str);

/*
 * True when the comma-separated list in s (RFC 9110 §5.6.1: optional
 * whitespace around elements, empty elements ignored) has an element
 * equal to the lower-case word, ignoring ASCII case.
 */
bool ws_http_list_has_word(struct ws_span s, const char *word);

/*
 * A bounded writer of heads: once something did not fit, it stays full
 * and writes nothing more. One without a buffer (out NULL) only counts.
 */
struct ws_http_writer {
    char *p;
    size_t cap;
    size_t len;
    bool full;
};

void ws_http_writer_init(struct ws_http_writer *w, char *out, size_t cap);
void ws_http_put(struct ws_http_writer *w, const char *s, size_t n);
void ws_http_put_str(struct ws_http_writer *w, const char *s);
void ws_http_put_uint(struct ws_http_writer *w, size_t v);
/* The size written, or 0 when anything did not fit. */
size_t ws_http_writer_done(const struct ws_http_writer *w);

/* RFC 4648 §4 base64 of in[0..n), with padding, into out (which has
 * room for 4 * ((n + 2) / 3) bytes); returns its length. */
size_t ws_http_base64(char *out, const unsigned char *in, size_t n);

#endif

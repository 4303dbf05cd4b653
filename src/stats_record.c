/* SPDX-License-Identifier: MIT */
/*
 * Recording a connection's events into its case record and its worker's
 * counters. Each change to a record is bracketed by its sequence counter,
 * so the master never reads one half written.
 */
#include "autoconf.h"

#include "stats_record.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "copy_small.h"
#include "log.h"
#include "ws_close.h"
#include "ws_session.h"
#include "ws_utf8.h"

/* Writes v in decimal at p; returns the digits written (1 to 5). Its
 * length first, then the digits from the last: no reversal. */
static size_t
put_u16(char *p, uint16_t v)
{
    size_t n = v >= 10000 ? 5 : v >= 1000 ? 4 : v >= 100 ? 3 : v >= 10 ? 2 : 1;

    for (size_t i = n; i > 0; v /= 10) {
        p[--i] = (char)('0' + v % 10);
    }
    return n;
}

/* "a.b.c.d:port" or "[v6]:port", written by hand: snprintf, and glibc's
 * inet_ntop for IPv4, which calls it, cost more than the rest of opening
 * a record. */
_Static_assert(STATS_PEER_MAX >= INET6_ADDRSTRLEN + sizeof("[]:65535"),
               "room for any peer");

static void
peer_text(char out[STATS_PEER_MAX], const struct sockaddr *sa, socklen_t len)
{
    char *p = out;

    out[0] = '\0';
    if (sa == NULL) {
        return;
    }
    /* Copied out: the caller's sockaddr need not be aligned for these. */
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof(in));
        const uint8_t *a = (const uint8_t *)&in.sin_addr;
        for (int i = 0; i < 4; i++) {
            p += put_u16(p, a[i]);
            *p++ = i < 3 ? '.' : ':';
        }
        p += put_u16(p, ntohs(in.sin_port));
    } else if (sa->sa_family == AF_INET6 &&
               len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof(in6));
        *p++ = '[';
        if (inet_ntop(AF_INET6, &in6.sin6_addr, p, INET6_ADDRSTRLEN) == NULL) {
            out[0] = '\0';
            return;
        }
        p += strlen(p);
        *p++ = ']';
        *p++ = ':';
        p += put_u16(p, ntohs(in6.sin6_port));
    }
    *p = '\0';
}

static void
raise_peak(_Atomic uint64_t *peak, uint64_t now)
{
    uint64_t seen = atomic_load_explicit(peak, memory_order_relaxed);
    while (now > seen &&
           !atomic_compare_exchange_weak_explicit(
               peak, &seen, now, memory_order_relaxed, memory_order_relaxed)) {
    }
}

void
stats_record_start(struct stats_record *r, const struct stats_shm *shm,
                   unsigned slot, const struct sockaddr *peer,
                   socklen_t peer_len, uint64_t now_ms)
{
    struct stats_shm_slot *s = stats_shm_slot(shm, slot);
    uint64_t id = atomic_fetch_add_explicit(&shm->hdr->last_case_id, 1,
                                            memory_order_relaxed) +
                  1;

    memset(r, 0, sizeof(*r));
    r->counters = &s->c;
    r->started_ms32 = (uint32_t)now_ms;
    stats_add(&s->c.accepted, 1);
    stats_add(&s->c.active, 1);
    uint64_t active = atomic_load_explicit(&s->c.active, memory_order_relaxed);
    if (active > atomic_load_explicit(&s->c.peak, memory_order_relaxed)) {
        atomic_store_explicit(&s->c.peak, active, memory_order_relaxed);
    }
    /* The peak of all workers together: only a sum of the slots says. */
    uint64_t all = 0;
    for (unsigned i = 0; i < shm->n_slots; i++) {
        all +=
            atomic_load_explicit(&shm->slots[i].c.active, memory_order_relaxed);
    }
    raise_peak(&shm->hdr->peak_active, all);

    r->rec = stats_case_start(shm, slot, id);
    if (r->rec == NULL) {
        return;
    }
    /* stats_case_start left the record open for writing. */
    r->rec->started_ms = now_ms;
    peer_text(r->rec->peer, peer, peer_len);
    stats_case_end(r->rec);
}

void
stats_record_client(struct stats_record *r)
{
    r->client = true;
    if (r->rec != NULL) {
        stats_case_begin(r->rec);
        r->rec->client_flags |= STATS_CASE_CLIENT;
        stats_case_end(r->rec);
    }
}

void
stats_record_dropped(const struct stats_shm *shm, unsigned slot)
{
    struct stats_shm_slot *s = stats_shm_slot(shm, slot);

    stats_add(&s->c.accepted, 1);
    stats_add(&s->c.unopened, 1);
    stats_add(&s->c.unrecorded, 1);
}

/* A frame's header and its row's payload fit an entry (log_frame_out). */
_Static_assert(STATS_WIRE_ROOM >= WS_FRAME_HEADER_MAX + STATS_WIRE_HEAD,
               "room for a frame as on the wire");

/*
 * The wire log's next entry, or NULL when the case keeps none (inside
 * begin/end). Its old contents are still there: the caller sets every
 * field (wire_set, then the head). Once the log is full, its last
 * wire_tail entries turn into a ring, so the end of a case (its close
 * frames, who dropped TCP) is always kept.
 */
static inline struct stats_wire *
wire_next(struct stats_record *r, struct stats_case *c)
{
    /* stats_case_start sizes the ring within the log: no ring, no log. */
    if (c->wire_tail == 0) {
        return NULL;
    }
    /* stats_wire_slot(c, wire_n), followed step by step rather than
     * computed: in order through the log, then round its ring. */
    uint32_t slot = r->wire_slot;
    uint32_t next = slot + 1;
    r->wire_slot =
        (uint16_t)(next < c->wire_cap ? next : c->wire_cap - c->wire_tail);
    c->wire_n++;
    c->wire_last = next;
    return &stats_case_wire(c)[slot];
}

/* Sets an entry's fields but its head, which is left empty (n_head 0). */
static inline void
wire_set(struct stats_wire *w, uint8_t kind, uint8_t bits, uint8_t flags,
         const uint8_t *mask, uint64_t length)
{
    w->kind = kind;
    w->bits = bits;
    w->flags = flags;
    w->n_head = 0;
    if (mask != NULL) {
        memcpy(w->mask, mask, sizeof(w->mask));
    } else {
        memset(w->mask, 0, sizeof(w->mask));
    }
    w->length = length;
    w->n_hdr = 0;
    w->reserved = 0;
}

/*
 * Fills an entry's head with p[0..n) (n at most STATS_WIRE_ROOM): a few
 * moves of fixed size, as every logged event pays for one. What the
 * entry held past n stays, out of reach: readers stop at n_head.
 */
static inline void
head_fill(struct stats_wire *w, const uint8_t *p, size_t n)
{
    w->n_head = (uint8_t)n;
    copy_small(w->head, p, n);
}

/* The entry logged last (inside begin/end), if the log keeps it. */
static inline struct stats_wire *
wire_last(struct stats_case *c)
{
    return c->wire_last != 0 ? &stats_case_wire(c)[c->wire_last - 1] : NULL;
}

/* The next entry of kind, with nothing else in it, or NULL. */
static struct stats_wire *
wire_add(struct stats_record *r, struct stats_case *c, uint8_t kind)
{
    struct stats_wire *w = wire_next(r, c);

    if (w != NULL) {
        memset(w, 0, sizeof(*w));
        w->kind = kind;
    }
    return w;
}

/* Appends bytes to an entry's head, as far as it has room. */
static void
wire_head(struct stats_wire *w, const uint8_t *p, size_t n)
{
    size_t room = STATS_WIRE_HEAD - w->n_head;
    if (n > room) {
        n = room;
    }
    if (n > 0) {
        memcpy(w->head + w->n_head, p, n);
        w->n_head = (uint8_t)(w->n_head + n);
    }
}

/* stats_record_read's part in the record c. */
static __attribute__((noinline)) void
read_record(struct stats_record *r, struct stats_case *c, const uint8_t *p,
            size_t n)
{
    stats_case_begin(c);
    stats_octets_add(&c->rx_octets, n);
    struct stats_wire *w = wire_next(r, c);
    if (w != NULL) {
        /* Room for a frame's header and its row's payload, should the
         * read turn out to be one whole frame (log_frame_in). */
        wire_set(w, STATS_WIRE_READ, 0, 0, NULL, n);
        head_fill(w, p, n < STATS_WIRE_ROOM ? n : STATS_WIRE_ROOM);
    }
    stats_case_end(c);
}

void
stats_record_read(struct stats_record *r, const uint8_t *p, size_t n)
{
    stats_add(&r->counters->rx_octets, n);
    if (r->rec != NULL) {
        read_record(r, r->rec, p, n);
    }
}

/*
 * Whether a write of n bytes, head[0..k) its first, reads as the frame
 * logged last (inside begin/end): its size, and the bytes the write's row
 * shows, the same. That frame's entry then stands for the write's row too,
 * which reads as the write's own entry would have.
 */
static inline __attribute__((always_inline)) bool
frame_written(struct stats_case *c, size_t n, const uint8_t *head, size_t k)
{
    struct stats_wire *t = wire_last(c);

    /* The frame's entry keeps the bytes when it was given its payload
     * whole. */
    if (t == NULL || t->kind != STATS_WIRE_TFRAME ||
        (t->flags & (STATS_WIRE_WIRE | STATS_WIRE_WRITTEN)) !=
            STATS_WIRE_WIRE ||
        t->n_hdr + t->length != n || t->n_head < k ||
        k < (n < STATS_WIRE_HEAD ? n : STATS_WIRE_HEAD) ||
        !same_small(head, t->head, k)) {
        return false;
    }
    t->flags |= STATS_WIRE_WRITTEN;
    c->wire_merged++;
    return true;
}

/* A write of n bytes, head[0..k) its first (as many as its row shows),
 * in the record c. */
static inline __attribute__((always_inline)) void
log_written(struct stats_record *r, struct stats_case *c, size_t n,
            const uint8_t *head, size_t k)
{
    stats_case_begin(c);
    stats_octets_add(&c->tx_octets, n);
    if (!frame_written(c, n, head, k)) {
        struct stats_wire *w = wire_next(r, c);
        if (w != NULL) {
            wire_set(w, STATS_WIRE_WRITE, 0, 0, NULL, n);
            head_fill(w, head, k);
        }
    }
    stats_case_end(c);
}

/* A write whose first bytes span buffers (a large echo goes out as its
 * header and its payload): they are gathered first. */
static __attribute__((noinline)) void
written_gathered(struct stats_record *r, struct stats_case *c,
                 const struct iovec *iov, int n_iov, size_t n)
{
    uint8_t room[STATS_WIRE_HEAD];
    size_t k = 0;

    for (int i = 0; i < n_iov && k < sizeof(room); i++) {
        size_t take = iov[i].iov_len;
        if (take > sizeof(room) - k) {
            take = sizeof(room) - k;
        }
        memcpy(room + k, iov[i].iov_base, take);
        k += take;
    }
    /* min(k, n, sizeof(room)): k is never above sizeof(room), but gcc
     * loses that bound through the loop (and warns of copy_small's moves
     * past 32), where want keeps it; cppcheck takes n for 0 here. */
    size_t want = n < sizeof(room) ? n : sizeof(room);
    /* cppcheck-suppress knownConditionTrueFalse */
    log_written(r, c, n, room, k < want ? k : want);
}

/* stats_record_written's part in the record c: the write's first bytes
 * straight from its first buffer when it holds them. */
static __attribute__((noinline)) void
written_record(struct stats_record *r, struct stats_case *c,
               const struct iovec *iov, int n_iov, size_t n)
{
    size_t want = n < STATS_WIRE_HEAD ? n : STATS_WIRE_HEAD;

    if (n_iov > 0 && iov[0].iov_len >= want) {
        log_written(r, c, n, iov[0].iov_base, want);
    } else {
        written_gathered(r, c, iov, n_iov, n);
    }
}

void
stats_record_written(struct stats_record *r, const struct iovec *iov, int n_iov,
                     size_t n)
{
    stats_add(&r->counters->tx_octets, n);
    if (r->rec != NULL) {
        written_record(r, r->rec, iov, n_iov, n);
    }
}

/* The value of `name` in a query string ("case=3&agent=x"), raw. */
static struct ws_span
query_value(struct ws_span q, const char *name)
{
    size_t nlen = strlen(name);

    if (q.p == NULL) {
        return (struct ws_span){NULL, 0}; /* no query string at all */
    }
    const char *p = q.p;
    const char *end = q.p + q.len;

    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp != NULL ? amp : end;
        if ((size_t)(stop - p) > nlen && memcmp(p, name, nlen) == 0 &&
            p[nlen] == '=') {
            return (struct ws_span){p + nlen + 1,
                                    (size_t)(stop - p) - nlen - 1};
        }
        p = stop + 1;
    }
    return (struct ws_span){NULL, 0};
}

/* Every Sec-WebSocket-Extensions header the request held, joined as one
 * list (RFC 9110 §5.3), empty ones left out, into the record's field
 * (cut at its end, as wsd negotiates from them all). */
_Static_assert(STATS_GRANTED_MAX > WS_DEFLATE_RESPONSE_MAX,
               "what we grant is kept whole");

static size_t
offer_append(char out[STATS_OFFER_MAX], size_t len, const char *p, size_t n)
{
    /* Cut between characters, as stats_copy cuts. */
    size_t take = ws_utf8_cut((const uint8_t *)p, n, STATS_OFFER_MAX - 1 - len);

    memcpy(out + len, p, take);
    return len + take;
}

static void
offers_copy(char out[STATS_OFFER_MAX], const struct ws_handshake_request *req)
{
    size_t len = 0;

    for (unsigned i = 0; i < req->n_extensions; i++) {
        struct ws_span v = req->extensions[i];
        if (v.len == 0) {
            continue;
        }
        if (len > 0) {
            len = offer_append(out, len, ", ", 2);
        }
        len = offer_append(out, len, v.p, v.len);
    }
    out[len] = '\0';
}

void
stats_record_handshake(struct stats_record *r, unsigned status,
                       const struct ws_handshake_request *req,
                       const char *extension_response)
{
    r->opened = status == 101;
    if (status != 101) {
        stats_add(&r->counters->refused[stats_status_index(status)], 1);
    } else {
        if (extension_response != NULL) {
            stats_add(&r->counters->deflate, 1);
        }
        if (r->tls) {
            stats_add(&r->counters->tls, 1);
        }
    }
    if (r->rec == NULL) {
        return;
    }
    struct stats_case *c = r->rec;
    stats_case_begin(c);
    c->http_status = (uint16_t)status;
    if (req != NULL) {
        struct ws_span v;
        stats_copy(c->path, sizeof(c->path), req->path.p, req->path.len);
        v = query_value(req->query, "case");
        stats_copy(c->query_case, sizeof(c->query_case), v.p, v.len);
        v = query_value(req->query, "agent");
        stats_copy(c->query_agent, sizeof(c->query_agent), v.p, v.len);
        stats_copy(c->user_agent, sizeof(c->user_agent), req->user_agent.p,
                   req->user_agent.len);
        stats_copy(c->key, sizeof(c->key), req->key.p, req->key.len);
        offers_copy(c->deflate_offer, req);
    }
    if (extension_response != NULL) {
        stats_copy(c->deflate_response, sizeof(c->deflate_response),
                   extension_response, strlen(extension_response));
    }
    if (status == 101) {
        c->state = STATS_CASE_OPEN;
    }
    stats_case_end(c);
}

void
stats_record_wrong_protocol(struct stats_record *r, enum stats_wrong kind)
{
    stats_add(&r->counters->wrong_protocol[kind], 1);
}

void
stats_record_tls_failed(struct stats_record *r)
{
    stats_add(&r->counters->tls_failed, 1);
}

void
stats_record_timeout(struct stats_record *r, enum stats_timeout kind)
{
    if ((unsigned)kind >= STATS_TIMEOUT_N) {
        return;
    }
    stats_add(&r->counters->timeouts[kind], 1);
    if (r->rec != NULL) {
        stats_case_begin(r->rec);
        struct stats_wire *w = wire_add(r, r->rec, STATS_WIRE_TIMEOUT);
        if (w != NULL) {
            w->length = kind;
        }
        stats_case_end(r->rec);
    }
}

void
stats_record_shut(struct stats_record *r)
{
    if (r->rec != NULL) {
        stats_case_begin(r->rec);
        wire_add(r, r->rec, STATS_WIRE_SHUT);
        stats_case_end(r->rec);
    }
}

void
stats_record_heads(struct stats_record *r, const char *req, size_t req_len,
                   const char *resp, size_t resp_len)
{
    struct stats_case *c = r->rec;

    if (c == NULL) {
        return;
    }
    stats_case_begin(c);
    /* Heads too long for their room are cut between characters, as
     * stats_copy cuts. */
    if (req != NULL) {
        c->request_truncated = req_len > c->request_cap;
        c->request_len = (uint32_t)ws_utf8_cut((const uint8_t *)req, req_len,
                                               c->request_cap);
        if (c->request_len > 0) {
            memcpy(stats_case_request(c), req, c->request_len);
        }
    }
    if (resp != NULL) {
        c->response_truncated = resp_len > sizeof(c->response);
        c->response_len = (uint16_t)ws_utf8_cut((const uint8_t *)resp, resp_len,
                                                sizeof(c->response));
        memcpy(c->response, resp, c->response_len);
    }
    stats_case_end(c);
}

void
stats_record_tls(struct stats_record *r, const char *version,
                 const char *cipher)
{
    r->tls = true;
    if (r->rec == NULL) {
        return;
    }
    stats_case_begin(r->rec);
    r->rec->tls = 1;
    stats_copy(r->rec->tls_version, sizeof(r->rec->tls_version), version,
               strlen(version));
    stats_copy(r->rec->tls_cipher, sizeof(r->rec->tls_cipher), cipher,
               strlen(cipher));
    stats_case_end(r->rec);
}

/* Byte 0 of h's header as on the wire: FIN, RSV1-3, opcode. */
static inline uint8_t
frame_bits(const struct ws_frame_header *h)
{
    return (uint8_t)((h->fin ? 0x80 : 0) | ((h->rsv & 0x7) << 4) |
                     (h->opcode & 0x0f));
}

/*
 * The frame took the whole of the read logged last, whole (its size,
 * header and payload: ws_event's frame_whole; 0: not so): that read's
 * entry, which kept the bytes as read, becomes the frame's (inside
 * begin/end). Returns whether it did.
 */
static inline bool
frame_was_read(struct stats_case *c, const struct ws_frame_header *h,
               size_t whole)
{
    struct stats_wire *w = whole != 0 ? wire_last(c) : NULL;

    if (w == NULL || w->kind != STATS_WIRE_READ || w->length != whole) {
        return false;
    }
    w->kind = STATS_WIRE_RFRAME;
    w->bits = frame_bits(h);
    w->flags = (uint8_t)((h->masked ? STATS_WIRE_MASKED : 0) | STATS_WIRE_WIRE);
    memcpy(w->mask, h->mask, sizeof(w->mask));
    w->length = h->payload_len;
    w->n_hdr = (uint8_t)(whole - h->payload_len);
    c->wire_merged++;
    return true;
}

/*
 * The same frame in its record c (inside begin/end): counted, and its
 * wire entry, head empty, returned for its payload (NULL when the case
 * keeps no log, or when the frame took the entry of the read it came in
 * whole: whole, as frame_was_read takes it, and its payload is there).
 */
static inline __attribute__((always_inline)) struct stats_wire *
log_frame_in(struct stats_record *r, struct stats_case *c,
             const struct ws_frame_header *h, bool discarded, size_t whole)
{
    c->rx_frames[h->opcode & 0xf]++;
    /* Whether the message a frame begins is compressed (a discarded
     * frame is neither inflated nor part of a message): only the record
     * counts compressed bytes. */
    if (!discarded && (h->opcode == WS_OP_TEXT || h->opcode == WS_OP_BINARY)) {
        r->rx_compressed = (h->rsv & WS_RSV1) != 0;
    }
    if (!discarded && r->rx_compressed &&
        !ws_frame_opcode_is_control(h->opcode)) {
        c->rx_compressed_bytes += h->payload_len;
    }
    c->wire_rf = 0;
    if (!discarded && frame_was_read(c, h, whole)) {
        return NULL;
    }
    struct stats_wire *w = wire_next(r, c);
    if (w != NULL) {
        wire_set(w, STATS_WIRE_RFRAME, frame_bits(h),
                 (uint8_t)((h->masked ? STATS_WIRE_MASKED : 0) |
                           (discarded ? STATS_WIRE_DISCARDED : 0)),
                 h->masked ? h->mask : NULL, h->payload_len);
        memset(w->head, 0, sizeof(w->head));
        c->wire_rf = c->wire_n; /* 1 + its number */
    }
    return w;
}

void
stats_record_frame_in(struct stats_record *r, const struct ws_frame_header *h,
                      bool discarded)
{
    stats_add(&r->counters->rx_frames, 1);
    if (r->rec == NULL) {
        return;
    }
    struct stats_case *c = r->rec;
    stats_case_begin(c);
    log_frame_in(r, c, h, discarded, 0);
    stats_case_end(c);
}

/* The wire entry of the frame being received, if the log still keeps it
 * (among its first entries, or among the ring's last). */
static struct stats_wire *
wire_rframe(struct stats_case *c)
{
    if (c->wire_rf == 0) {
        return NULL;
    }
    uint64_t number = c->wire_rf - 1;
    uint64_t head = c->wire_cap - c->wire_tail;
    if (number >= head && number + c->wire_tail < c->wire_n) {
        return NULL;
    }
    struct stats_wire *w = &stats_case_wire(c)[stats_wire_slot(c, number)];
    return w->kind == STATS_WIRE_RFRAME && (w->flags & STATS_WIRE_WIRE) == 0
               ? w
               : NULL;
}

/*
 * Payload of the frame being received (inside begin/end): its entry's
 * head keeps the first bytes. w is that entry when the caller has it at
 * hand, else NULL (looked up). The head takes the bytes only when they
 * continue it exactly (pos is where it ends).
 */
static inline void
log_frame_data(struct stats_case *c, struct stats_wire *w, const uint8_t *p,
               size_t n, uint64_t pos)
{
    if (w == NULL) {
        w = wire_rframe(c);
    }
    if (w == NULL || w->n_head != pos) {
        return;
    }
    if (pos == 0) {
        head_fill(w, p, n < STATS_WIRE_HEAD ? n : STATS_WIRE_HEAD);
    } else {
        wire_head(w, p, n);
    }
}

void
stats_record_frame_data(struct stats_record *r, const uint8_t *p, size_t n,
                        uint64_t pos)
{
    struct stats_case *c = r->rec;
    struct stats_wire *w;

    if (c == NULL || pos >= STATS_WIRE_HEAD || (w = wire_rframe(c)) == NULL ||
        w->n_head != pos) {
        return;
    }
    stats_case_begin(c);
    log_frame_data(c, w, p, n, pos);
    stats_case_end(c);
}

/*
 * One frame to send in its record c (inside begin/end): counted, and
 * logged as it goes on the wire, its header hdr[0..hdr_len) (a client's
 * ends with the masking key) and the first bytes of its payload (n of
 * its len as far as known, masked as sent), so that its write can share
 * its entry (frame_written).
 */
static inline void
log_frame_out(struct stats_record *r, struct stats_case *c, const uint8_t *hdr,
              size_t hdr_len, const uint8_t *payload, size_t n, uint64_t len)
{
    c->tx_frames[hdr[0] & 0xf]++;
    struct stats_wire *w = wire_next(r, c);
    if (w == NULL) {
        return;
    }
    const uint8_t *mask =
        hdr_len >= 6 && (hdr[1] & 0x80) != 0 ? hdr + hdr_len - 4 : NULL;
    size_t k = n < STATS_WIRE_HEAD ? n : STATS_WIRE_HEAD;
    wire_set(
        w, STATS_WIRE_TFRAME, hdr[0],
        (uint8_t)((mask != NULL ? STATS_WIRE_MASKED : 0) | STATS_WIRE_WIRE),
        mask, len);
    w->n_hdr = (uint8_t)hdr_len;
    w->n_head = (uint8_t)(hdr_len + k);
    copy_small(w->head, hdr, hdr_len);
    copy_small(w->head + hdr_len, payload, k);
}

void
stats_record_frame_out(struct stats_record *r, const uint8_t *hdr,
                       size_t hdr_len, const uint8_t *payload, size_t n,
                       uint64_t len)
{
    stats_add(&r->counters->tx_frames, 1);
    if (r->rec != NULL && hdr_len >= 2 && hdr_len <= WS_FRAME_HEADER_MAX) {
        stats_case_begin(r->rec);
        log_frame_out(r, r->rec, hdr, hdr_len, payload, n, len);
        stats_case_end(r->rec);
    }
}

void
stats_record_control_out(struct stats_record *r, const uint8_t *frame,
                         size_t len)
{
    /* Our control frames: payload under 126 bytes, masked by a client. */
    bool masked = len >= 6 && (frame[1] & 0x80) != 0;
    size_t hdr = masked ? 6 : 2;
    if (len < 2) {
        return;
    }
    size_t plen = frame[1] & 0x7f;
    if (plen > len - hdr) {
        plen = len - hdr;
    }
    stats_record_frame_out(r, frame, hdr, frame + hdr, plen, plen);
}

/* The worker's counts of a message (k: r->counters, read once: the
 * compiler would read it again after each store into the counters). */
static inline void
count_message_in(struct stats_counters *k, size_t len)
{
    stats_add(&k->rx_messages, 1);
    stats_observe(k->rx_message_bytes, &k->rx_message_bytes_sum,
                  stats_size_bounds, STATS_SIZE_BUCKETS - 1, len);
}

void
stats_record_message_in(struct stats_record *r, size_t len)
{
    count_message_in(r->counters, len);
    if (r->rec != NULL) {
        stats_case_begin(r->rec);
        r->rec->rx_messages++;
        r->rec->rx_payload_bytes += len;
        stats_case_end(r->rec);
    }
}

/* stats_record_feed's part in the record c. */
static __attribute__((noinline)) void
feed_record(struct stats_record *r, struct stats_case *c,
            const struct ws_event *ev)
{
    bool message = ev->type == WS_EV_MESSAGE;
    bool data = ev->frame_data != NULL && ev->frame_data_pos < STATS_WIRE_HEAD;

    if (!(ev->has_frame || data || message)) {
        return;
    }
    stats_case_begin(c);
    struct stats_wire *w = NULL;
    if (ev->has_frame) {
        w = log_frame_in(r, c, &ev->frame, ev->frame_discarded,
                         ev->frame_whole);
    }
    if (data && (w != NULL || !ev->has_frame)) {
        log_frame_data(c, w, ev->frame_data, ev->frame_data_len,
                       ev->frame_data_pos);
    }
    if (message) {
        c->rx_messages++;
        c->rx_payload_bytes += ev->len;
    }
    stats_case_end(c);
}

/*
 * The worker's counters here, the record's part in a function of its
 * own, called last (a jump): a connection without a record, and the
 * counters, pay for none of the registers the record's part needs saved.
 * The same in stats_record_read, _written and _message_sent.
 */
void
stats_record_feed(struct stats_record *r, const struct ws_event *ev)
{
    struct stats_counters *k = r->counters;

    if (ev->has_frame) {
        stats_add(&k->rx_frames, 1);
    }
    if (ev->type == WS_EV_MESSAGE) {
        count_message_in(k, ev->len);
    }
    if (r->rec != NULL) {
        feed_record(r, r->rec, ev);
    }
}

static inline void
count_message_out(struct stats_counters *k, size_t len)
{
    stats_add(&k->tx_messages, 1);
    stats_observe(k->tx_message_bytes, &k->tx_message_bytes_sum,
                  stats_size_bounds, STATS_SIZE_BUCKETS - 1, len);
}

/* The same message in its record c (inside begin/end). */
static inline void
log_message_out(struct stats_case *c, size_t len, bool compressed,
                size_t wire_len)
{
    c->tx_messages++;
    c->tx_payload_bytes += len;
    if (compressed) {
        c->tx_compressed_bytes += wire_len;
    }
}

void
stats_record_message_out(struct stats_record *r, size_t len, bool compressed,
                         size_t wire_len)
{
    count_message_out(r->counters, len);
    if (r->rec != NULL) {
        stats_case_begin(r->rec);
        log_message_out(r->rec, len, compressed, wire_len);
        stats_case_end(r->rec);
    }
}

/* stats_record_message_sent's part in the record c (inline: its caller
 * saves registers only past its test of r->rec). */
static inline __attribute__((always_inline)) void
sent_record(struct stats_record *r, struct stats_case *c,
            const struct ws_out_message *m, size_t len)
{
    stats_case_begin(c);
    log_frame_out(r, c, m->hdr, m->hdr_len, m->payload, m->payload_len,
                  m->payload_len);
    log_message_out(c, len, m->compressed, m->payload_len);
    stats_case_end(c);
}

void
stats_record_message_sent(struct stats_record *r,
                          const struct ws_out_message *m, size_t len)
{
    struct stats_counters *k = r->counters;

    stats_add(&k->tx_frames, 1);
    count_message_out(k, len);
    if (r->rec != NULL) {
        sent_record(r, r->rec, m, len);
    }
}

/* A close reason into its field, bytes as they are (NUL included: valid
 * UTF-8), cut to the field; returns the length kept. */
static uint8_t
reason_copy(char dst[STATS_REASON_MAX], const uint8_t *src, size_t len)
{
    if (len > STATS_REASON_MAX - 1) {
        len = STATS_REASON_MAX - 1;
    }
    stats_copy(dst, STATS_REASON_MAX, (const char *)src, len);
    return (uint8_t)len;
}

void
stats_record_close_out(struct stats_record *r, unsigned code,
                       const char *reason, bool failed)
{
    bool first = !r->close_received;

    r->close_sent = true;
    if (code != 0 && code != WS_CLOSE_NO_STATUS) {
        stats_add(&r->counters->close_sent[stats_close_index(code)], 1);
    }
    if (r->rec == NULL) {
        return;
    }
    struct stats_case *c = r->rec;
    stats_case_begin(c);
    c->state = STATS_CASE_CLOSING;
    c->closed_by_me = first;
    c->failed_by_me = failed;
    c->local_close_has_code = code != 0 && code != WS_CLOSE_NO_STATUS;
    c->local_close_code = c->local_close_has_code ? (uint16_t)code : 0;
    if (reason != NULL) {
        c->local_close_reason_len = reason_copy(
            c->local_close_reason, (const uint8_t *)reason, strlen(reason));
    }
    stats_case_end(c);
}

void
stats_record_close_in(struct stats_record *r, unsigned code, bool has_code,
                      const uint8_t *reason, size_t reason_len)
{
    r->close_received = true;
    if (has_code) {
        stats_add(&r->counters->close_received[stats_close_index(code)], 1);
    }
    if (r->rec == NULL) {
        return;
    }
    struct stats_case *c = r->rec;
    stats_case_begin(c);
    c->state = STATS_CASE_CLOSING;
    c->remote_close_has_code = has_code;
    c->remote_close_code = has_code ? (uint16_t)code : 0;
    c->remote_close_reason_len =
        reason_copy(c->remote_close_reason, reason, reason_len);
    stats_case_end(c);
}

static uint64_t
octets_total(const struct stats_octets *o)
{
    uint64_t sum = o->overflow_octets;
    for (uint32_t i = 0; i < o->n && i < STATS_OCTET_SIZES; i++) {
        sum += (uint64_t)o->size[i] * o->count[i];
    }
    return sum;
}

/* Appends s to out[*len..cap) with bytes outside printable ASCII, the
 * quote and the backslash written as \xHH: the peer chose them. */
static void
append_escaped(char *out, size_t *len, size_t cap, const char *s, size_t n)
{
    for (const char *end = s + n; s < end && *len + 5 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\') {
            *len += (size_t)snprintf(out + *len, cap - *len, "\\x%02x", ch);
        } else {
            out[(*len)++] = (char)ch;
        }
    }
    out[*len] = '\0';
}

static void append(char *out, size_t *len, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
append(char *out, size_t *len, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        *len = *len + (size_t)n < cap ? *len + (size_t)n : cap - 1;
    }
}

/* Appends " key=\"value\"", value[0..n) escaped. */
static void
append_quoted(char *out, size_t *len, size_t cap, const char *key,
              const char *value, size_t n)
{
    append(out, len, cap, " %s=\"", key);
    append_escaped(out, len, cap - 1, value, n);
    append(out, len, cap, "\"");
}

/* The length of the string in field[0..cap), NUL or not: a copy made by
 * stats_case_read holds what a worker wrote. */
#define FIELD_LEN(field) strnlen((field), sizeof(field))

/*
 * The access log line of a finished case (see log.h). Fields a peer
 * chose come escaped, the free-form ones quoted and last; the buffer has
 * room for every field at its longest, escaped.
 */
void
stats_record_access_line(const struct stats_case *c)
{
    char line[ACCESS_LOG_LINE_MAX];
    size_t len = 0;
    time_t secs = (time_t)(c->ended_ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    append(line, &len, sizeof(line),
           ".%03uZ peer=", (unsigned)(c->ended_ms % 1000));
    append_escaped(line, &len, sizeof(line), c->peer, FIELD_LEN(c->peer));
    append(line, &len, sizeof(line), " path=");
    if (c->path[0] != '\0') {
        append_escaped(line, &len, sizeof(line), c->path, FIELD_LEN(c->path));
    } else {
        append(line, &len, sizeof(line), "-");
    }
    append(line, &len, sizeof(line),
           " status=%u duration_ms=%llu rx_bytes=%llu tx_bytes=%llu "
           "rx_messages=%llu tx_messages=%llu",
           c->http_status, (unsigned long long)(c->ended_ms - c->started_ms),
           (unsigned long long)octets_total(&c->rx_octets),
           (unsigned long long)octets_total(&c->tx_octets),
           (unsigned long long)c->rx_messages,
           (unsigned long long)c->tx_messages);
    if (c->local_close_code != 0 || c->local_close_has_code) {
        append(line, &len, sizeof(line), " close_sent=%u", c->local_close_code);
    } else {
        append(line, &len, sizeof(line), " close_sent=-");
    }
    if (c->remote_close_code != 0 || c->remote_close_has_code) {
        append(line, &len, sizeof(line), " close_received=%u",
               c->remote_close_code);
    } else {
        append(line, &len, sizeof(line), " close_received=-");
    }
    if (c->tls) {
        append(line, &len, sizeof(line), " tls=%.*s",
               (int)FIELD_LEN(c->tls_version), c->tls_version);
    }
    append(line, &len, sizeof(line), " id=%llu", (unsigned long long)c->id);
    if (c->query_case[0] != '\0') {
        append(line, &len, sizeof(line), " case=");
        append_escaped(line, &len, sizeof(line), c->query_case,
                       FIELD_LEN(c->query_case));
    }
    if (c->query_agent[0] != '\0') {
        append(line, &len, sizeof(line), " agent=");
        append_escaped(line, &len, sizeof(line), c->query_agent,
                       FIELD_LEN(c->query_agent));
    }
    append(line, &len, sizeof(line), " worker=%u clean=%s", c->worker,
           c->was_clean ? "yes" : "no");
    if (!c->was_clean) {
        append_quoted(line, &len, sizeof(line), "reason",
                      c->was_not_clean_reason,
                      FIELD_LEN(c->was_not_clean_reason));
    }
    append_quoted(line, &len, sizeof(line), "user_agent", c->user_agent,
                  FIELD_LEN(c->user_agent));
    if (c->local_close_reason_len != 0) {
        append_quoted(line, &len, sizeof(line), "close_sent_reason",
                      c->local_close_reason, c->local_close_reason_len);
    }
    if (c->remote_close_reason_len != 0) {
        append_quoted(line, &len, sizeof(line), "close_received_reason",
                      c->remote_close_reason, c->remote_close_reason_len);
    }
    access_log_write(line, len);
}

/*
 * From accept to now_ms: exact from the record; without one, from the low
 * 32 bits of the accept time, which tell lengths up to 24 days (2^31 ms;
 * beyond, and when the clock stepped back, 0).
 */
static uint64_t
length_ms(const struct stats_record *r, uint64_t now_ms)
{
    if (r->rec != NULL) {
        uint64_t start = r->rec->started_ms;
        return now_ms > start ? now_ms - start : 0;
    }
    uint32_t d = (uint32_t)now_ms - r->started_ms32;
    return d < UINT32_C(0x80000000) ? d : 0;
}

void
stats_record_finish(struct stats_record *r, const struct stats_record_end *e,
                    uint64_t now_ms)
{
    /* Clean: close frames went both ways and the server closed the TCP
     * first (its duty, RFC 6455 §7.1.1), as Autobahn judges it. */
    bool clean = r->close_sent && r->close_received &&
                 e->dropped_by_me != r->client && e->why == NULL;

    stats_add(&r->counters->active, (uint64_t)-1);
    if (r->opened) {
        stats_observe(r->counters->duration_ms, &r->counters->duration_ms_sum,
                      stats_duration_bounds_ms, STATS_DURATION_BUCKETS - 1,
                      length_ms(r, now_ms));
    }
    stats_add(clean       ? &r->counters->clean
              : r->opened ? &r->counters->unclean
                          : &r->counters->unopened,
              1);
    if (r->rec == NULL) {
        return;
    }
    struct stats_case *c = r->rec;
    stats_case_begin(c);
    c->ended_ms = now_ms;
    c->dropped_by_me = e->dropped_by_me;
    c->was_clean = clean;
    c->was_open_handshake_timeout = e->open_handshake_timeout;
    c->was_close_handshake_timeout = e->close_handshake_timeout;
    c->rx_frame_incomplete = e->rx_frame_incomplete;
    if (e->server_drop_timeout) {
        c->client_flags |= STATS_CASE_SERVER_DROP_TIMEOUT;
    }
    if (e->rx_frame_incomplete && e->rx_frame_logged) {
        struct stats_wire *rf = wire_rframe(c);
        if (rf != NULL) {
            rf->flags |= STATS_WIRE_INCOMPLETE;
        }
    }
    if (!clean) {
        const char *why = e->why != NULL ? e->why : "no closing handshake";
        stats_copy(c->was_not_clean_reason, sizeof(c->was_not_clean_reason),
                   why, strlen(why));
    }
    struct stats_wire *w = wire_add(r, c, STATS_WIRE_DROP);
    if (w != NULL) {
        w->length = e->dropped_by_me;
    }
    c->wire_rf = 0;
    stats_case_stop(c, r->counters);
    stats_case_end(c);
    r->rec = NULL;
    if (access_log_on()) {
        stats_record_access_line(c);
    }
}

/* SPDX-License-Identifier: MIT */
/*
 * The shared segment: one anonymous shared mapping made before fork, its
 * single-writer records and their sequence counters.
 */
#include "autoconf.h"

#include "stats_shm.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ws_frame.h"
#include "ws_utf8.h"

/* Readers try a record that is changing this many times running, then
 * nap between tries, this many times, before they give up on it: a
 * writer stopped inside a change (preempted, maybe by the very reader
 * spinning on its CPU) finishes it once it runs again, which the quick
 * tries alone would not wait for. */
#define STATS_READ_TRIES  1000
#define STATS_READ_NAPS   100
#define STATS_READ_NAP_NS 1000000 /* 1 ms */

/* 0.1 s, 1 s, 10 s, 1 min, 10 min, 1 h: from a refused or broken session
 * to one that lives as long as the client. */
const uint64_t stats_duration_bounds_ms[STATS_DURATION_BUCKETS - 1] = {
    100, 1000, 10000, 60000, 600000, 3600000,
};

/* 64 B, 1 KiB, 16 KiB, 256 KiB, 1 MiB, 16 MiB (max_message_bytes'
 * default): chat-sized to bulk. */
const uint64_t stats_size_bounds[STATS_SIZE_BUCKETS - 1] = {
    64, 1024, 16384, 262144, 1048576, 16777216,
};

size_t
stats_case_bytes(uint32_t request_cap, uint32_t wire_cap)
{
    return stats_case_wire_offset(request_cap) +
           (size_t)wire_cap * sizeof(struct stats_wire);
}

struct stats_case *
stats_shm_case(const struct stats_shm *shm, size_t i)
{
    return (struct stats_case *)(void *)(shm->cases + i * shm->case_bytes);
}

int
stats_shm_create(struct stats_shm *shm, const struct stats_shm_size *size,
                 uint64_t now_ms)
{
    unsigned n_slots = size->n_slots;
    unsigned per = n_slots == 0 ? 0 : (size->n_cases + n_slots - 1) / n_slots;
    /* 0 records means none at all (stats_cases 0): only the counters. */
    if (per == 0 && size->n_cases > 0) {
        per = 1;
    }
    size_t case_bytes = stats_case_bytes(size->request_cap, size->wire_cap);
    size_t bytes = sizeof(struct stats_shm_header) +
                   (size_t)n_slots * sizeof(struct stats_shm_slot) +
                   (size_t)n_slots * per * case_bytes;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return -1;
    }
    /* A fresh anonymous mapping is zero-filled: every slot and record
     * starts empty (STATS_CASE_FREE). */
    shm->hdr = p;
    shm->slots = (struct stats_shm_slot *)(shm->hdr + 1);
    shm->cases = (unsigned char *)(shm->slots + n_slots);
    shm->n_slots = n_slots;
    shm->cases_per_slot = per;
    shm->n_cases = n_slots * per;
    shm->request_cap = size->request_cap;
    shm->wire_cap = size->wire_cap;
    shm->case_bytes = case_bytes;
    shm->map_bytes = bytes;
    shm->hdr->magic = STATS_SHM_MAGIC;
    shm->hdr->version_major = STATS_SHM_VERSION_MAJOR;
    shm->hdr->version_minor = STATS_SHM_VERSION_MINOR;
    shm->hdr->header_bytes = sizeof(struct stats_shm_header);
    shm->hdr->slot_bytes = sizeof(struct stats_shm_slot);
    shm->hdr->case_bytes = (uint32_t)case_bytes;
    shm->hdr->request_cap = size->request_cap;
    shm->hdr->wire_cap = size->wire_cap;
    shm->hdr->n_slots = n_slots;
    shm->hdr->n_cases = shm->n_cases;
    shm->hdr->banks = 1;
    shm->banks = 1;
    shm->hdr->cases_per_slot = per;
    shm->hdr->started_ms = now_ms;
    return 0;
}

void
stats_shm_set_banks(struct stats_shm *shm, unsigned banks)
{
    shm->banks = banks == 0 ? 1 : banks;
    shm->hdr->banks = shm->banks;
}

void
stats_shm_destroy(struct stats_shm *shm)
{
    if (shm->hdr != NULL) {
        munmap(shm->hdr, shm->map_bytes);
    }
    memset(shm, 0, sizeof(*shm));
}

int
stats_shm_populate(const struct stats_shm *shm, unsigned slot)
{
    if (slot >= shm->n_slots || shm->cases_per_slot == 0) {
        return 0;
    }
#ifdef MADV_POPULATE_WRITE
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t mask = page > 0 ? (uintptr_t)page - 1 : 4095;
    size_t bytes = (size_t)shm->cases_per_slot * shm->case_bytes;
    uintptr_t first =
        (uintptr_t)stats_shm_case(shm, (size_t)slot * shm->cases_per_slot);
    uintptr_t start = first & ~mask;
    uintptr_t end = (first + bytes + mask) & ~mask;
    /* The pages at either end may be a neighbour's too: populating a
     * page another process uses changes nothing in it. */
    return madvise((void *)start, end - start, MADV_POPULATE_WRITE);
#else
    errno = EINVAL;
    return -1;
#endif
}

struct stats_shm_slot *
stats_shm_slot(const struct stats_shm *shm, unsigned i)
{
    /* The header lives in memory workers can write: trust only what this
     * process mapped (PITFALLS: bounds-check every index). */
    return i < shm->n_slots ? &shm->slots[i] : NULL;
}

static bool
case_in_use(const struct stats_case *r)
{
    uint8_t st = r->state;
    return st == STATS_CASE_HANDSHAKE || st == STATS_CASE_OPEN ||
           st == STATS_CASE_CLOSING;
}

static void
octets_reset(struct stats_octets *o)
{
    o->n = 0;
    o->last = 0;
    o->overflow_count = 0;
    o->overflow_octets = 0;
}

/* The record's strings, NUL-terminated: case_reset empties each. */
static const size_t case_strings[] = {
    offsetof(struct stats_case, peer),
    offsetof(struct stats_case, path),
    offsetof(struct stats_case, query_case),
    offsetof(struct stats_case, query_agent),
    offsetof(struct stats_case, user_agent),
    offsetof(struct stats_case, local_close_reason),
    offsetof(struct stats_case, remote_close_reason),
    offsetof(struct stats_case, was_not_clean_reason),
    offsetof(struct stats_case, deflate_offer),
    offsetof(struct stats_case, deflate_response),
    offsetof(struct stats_case, tls_version),
    offsetof(struct stats_case, tls_cipher),
    offsetof(struct stats_case, key),
};

/* A new struct stats_case field must be reset in case_reset; and the
 * manual, etc/wsd.conf and the README state this size (tests/docs.sh). */
_Static_assert(sizeof(struct stats_case) == 5248,
               "case_reset knows each field");

/*
 * Everything a case reads starts afresh, but the sequence counter, in as
 * few of the record's cache lines as that takes: a record is reused
 * thousands of connections later, out of every cache, and clearing all
 * its 5 kB cost more than the rest of a handshake's user time. The
 * counters before the octet tables are cleared; of each table its count
 * of sizes and its overflow; of each string its first byte; and the
 * lengths of the request, the response and the wire log. What a reused
 * record held past those stays, out of reach: every reader stops at them
 * (stats_case_read bounds them all).
 */
static void
case_reset(struct stats_case *r)
{
    memset((char *)r + sizeof(r->seq), 0,
           offsetof(struct stats_case, rx_octets) - sizeof(r->seq));
    octets_reset(&r->rx_octets);
    octets_reset(&r->tx_octets);
    for (size_t i = 0; i < sizeof(case_strings) / sizeof(case_strings[0]);
         i++) {
        ((char *)r)[case_strings[i]] = '\0';
    }
    memset(&r->request_cap, 0,
           offsetof(struct stats_case, response) -
               offsetof(struct stats_case, request_cap));
}

struct stats_case *
stats_case_start(const struct stats_shm *shm, unsigned slot, uint64_t id)
{
    struct stats_shm_slot *s = stats_shm_slot(shm, slot);
    unsigned per = shm->cases_per_slot;

    if (s == NULL || per == 0) {
        /* Records are off: not a case left unrecorded for want of one. */
        return NULL;
    }
    uint32_t in_use = atomic_load_explicit(&s->in_use, memory_order_relaxed);
    if (in_use >= per) {
        stats_add(&s->c.unrecorded, 1);
        return NULL;
    }
    size_t first = (size_t)slot * per;
    unsigned next =
        atomic_load_explicit(&s->next_record, memory_order_relaxed) % per;
    for (unsigned k = 0; k < per; k++) {
        unsigned i = (next + k) % per;
        struct stats_case *r = stats_shm_case(shm, first + i);
        if (case_in_use(r)) {
            continue;
        }
        atomic_store_explicit(&s->next_record, (i + 1) % per,
                              memory_order_relaxed);
        atomic_store_explicit(&s->in_use, in_use + 1, memory_order_relaxed);
        stats_case_begin(r);
        case_reset(r);
        r->id = id;
        r->worker = (uint16_t)slot;
        r->state = STATS_CASE_HANDSHAKE;
        r->request_cap = shm->request_cap;
        r->wire_cap = shm->wire_cap;
        /* A quarter of the log, at least 8 entries, keeps its end: the
         * largest power of two up to a quarter (stats_wire_slot). */
        r->wire_tail = 8;
        while (r->wire_tail * 2 <= shm->wire_cap / 4) {
            r->wire_tail *= 2;
        }
        if (r->wire_tail > shm->wire_cap) {
            r->wire_tail = shm->wire_cap;
        }
        return r;
    }
    stats_add(&s->c.unrecorded, 1);
    return NULL;
}

void
stats_case_stop(struct stats_case *r, struct stats_counters *c)
{
    struct stats_shm_slot *s =
        (struct stats_shm_slot *)(void *)((char *)c -
                                          offsetof(struct stats_shm_slot, c));
    uint32_t in_use = atomic_load_explicit(&s->in_use, memory_order_relaxed);

    /* Closed last: a worker killed before this line leaves the record in
     * use, and the master finalises it ("worker died"); one killed after
     * leaves it complete. */
    atomic_signal_fence(memory_order_seq_cst);
    r->state = STATS_CASE_CLOSED;
    if (in_use > 0) {
        atomic_store_explicit(&s->in_use, in_use - 1, memory_order_relaxed);
    }
}

void
stats_shm_recount(const struct stats_shm *shm, unsigned slot)
{
    struct stats_shm_slot *s = stats_shm_slot(shm, slot);
    unsigned per = shm->cases_per_slot;
    uint32_t n = 0;

    if (s == NULL) {
        return;
    }
    for (unsigned i = 0; i < per; i++) {
        n += case_in_use(stats_shm_case(shm, (size_t)slot * per + i));
    }
    atomic_store_explicit(&s->in_use, n, memory_order_relaxed);
}

void
stats_octets_add_other(struct stats_octets *o, uint64_t n)
{
    uint32_t used = o->n;

    for (uint32_t i = 0; i < used && i < STATS_OCTET_SIZES; i++) {
        if (o->size[i] == n) {
            o->count[i]++;
            o->last = i;
            return;
        }
    }
    if (used < STATS_OCTET_SIZES && n <= UINT32_MAX) {
        o->size[used] = (uint32_t)n;
        o->count[used] = 1;
        o->last = used;
        o->n = used + 1;
        return;
    }
    o->overflow_count++;
    o->overflow_octets += n;
}

void
stats_copy(char *dst, size_t cap, const char *src, size_t len)
{
    if (cap == 0) {
        return;
    }
    /* Strings a peer chose are cut between characters, so that a
     * reader never shows half of one as U+FFFD the peer never sent. */
    len = ws_utf8_cut((const uint8_t *)src, len, cap - 1);
    if (len > 0) {
        memcpy(dst, src, len);
    }
    dst[len] = '\0';
}

/* After a try that found the record changing: whether to try again
 * (after a nap, once the quick tries are spent). */
static bool
read_again(unsigned *tries)
{
    static const struct timespec nap = {0, STATS_READ_NAP_NS};

    *tries += 1;
    if (*tries >= STATS_READ_TRIES + STATS_READ_NAPS) {
        return false;
    }
    if (*tries >= STATS_READ_TRIES) {
        nanosleep(&nap, NULL);
    }
    return true;
}

bool
stats_case_read(const struct stats_shm *shm, unsigned i, struct stats_case *out)
{
    if (i >= shm->n_cases) {
        return false;
    }
    const struct stats_case *r = stats_shm_case(shm, i);
    bool whole = false;
    unsigned tries = 0;
    do {
        uint32_t s1 = atomic_load_explicit(&r->seq, memory_order_acquire);
        if ((s1 & 1) != 0) {
            continue;
        }
        memcpy((char *)out + sizeof(out->seq), (const char *)r + sizeof(r->seq),
               shm->case_bytes - sizeof(r->seq));
        atomic_thread_fence(memory_order_acquire);
        uint32_t s2 = atomic_load_explicit(&r->seq, memory_order_relaxed);
        if (s1 == s2) {
            atomic_store_explicit(&out->seq, s1, memory_order_relaxed);
            whole = true;
        }
    } while (!whole && read_again(&tries));
    if (!whole) {
        return false;
    }
    /* The segment is writable by workers: bound what indexes the copy by
     * what this process mapped. */
    out->request_cap = shm->request_cap;
    out->wire_cap = shm->wire_cap;
    if (out->request_len > out->request_cap) {
        out->request_len = out->request_cap;
    }
    if (out->response_len > sizeof(out->response)) {
        out->response_len = sizeof(out->response);
    }
    if (out->local_close_reason_len >= sizeof(out->local_close_reason)) {
        out->local_close_reason_len = sizeof(out->local_close_reason) - 1;
    }
    if (out->remote_close_reason_len >= sizeof(out->remote_close_reason)) {
        out->remote_close_reason_len = sizeof(out->remote_close_reason) - 1;
    }
    if (out->wire_tail > out->wire_cap) {
        out->wire_tail = out->wire_cap;
    }
    if (out->wire_tail == 0 && out->wire_n > out->wire_cap) {
        out->wire_n = out->wire_cap;
    }
    if (out->rx_octets.n > STATS_OCTET_SIZES) {
        out->rx_octets.n = STATS_OCTET_SIZES;
    }
    if (out->tx_octets.n > STATS_OCTET_SIZES) {
        out->tx_octets.n = STATS_OCTET_SIZES;
    }
    return out->state != STATS_CASE_FREE;
}

enum stats_peek
stats_case_peek(const struct stats_shm *shm, unsigned i, uint64_t *id,
                char key[STATS_KEY_MAX])
{
    if (i >= shm->n_cases) {
        return STATS_PEEK_FREE;
    }
    const struct stats_case *r = stats_shm_case(shm, i);
    unsigned tries = 0;
    do {
        uint32_t s1 = atomic_load_explicit(&r->seq, memory_order_acquire);
        if ((s1 & 1) != 0) {
            continue;
        }
        uint8_t state = r->state;
        *id = r->id;
        memcpy(key, r->key, STATS_KEY_MAX);
        atomic_thread_fence(memory_order_acquire);
        if (s1 == atomic_load_explicit(&r->seq, memory_order_relaxed)) {
            key[STATS_KEY_MAX - 1] = '\0';
            return state != STATS_CASE_FREE ? STATS_PEEK_SEEN : STATS_PEEK_FREE;
        }
    } while (read_again(&tries));
    return STATS_PEEK_BUSY;
}

/* A plain row of kind, its head src[0..n) cut to a row's; a frame's row
 * (frame not NULL) with that entry's header bits, marks and key. */
static void
wire_row_of(struct stats_wire *row, uint8_t kind, uint64_t length,
            const uint8_t *src, size_t n, const struct stats_wire *frame)
{
    memset(row, 0, sizeof(*row));
    row->kind = kind;
    if (frame != NULL) {
        row->bits = frame->bits;
        row->flags =
            (uint8_t)(frame->flags & ~(STATS_WIRE_WIRE | STATS_WIRE_WRITTEN));
        memcpy(row->mask, frame->mask, sizeof(row->mask));
    }
    row->length = length;
    row->n_head = (uint8_t)(n < STATS_WIRE_HEAD ? n : STATS_WIRE_HEAD);
    memcpy(row->head, src, row->n_head);
}

unsigned
stats_wire_rows(const struct stats_wire *w, struct stats_wire rows[2])
{
    size_t n_head = w->n_head < STATS_WIRE_ROOM ? w->n_head : STATS_WIRE_ROOM;

    if ((w->flags & STATS_WIRE_WIRE) == 0) {
        wire_row_of(&rows[0], w->kind, w->length, w->head, n_head, w);
        return w->kind != STATS_WIRE_NONE && w->kind <= STATS_WIRE_DROP;
    }
    /* As on the wire: the header, then the payload as sent. */
    size_t hdr = w->n_hdr;
    if ((w->kind != STATS_WIRE_RFRAME && w->kind != STATS_WIRE_TFRAME) ||
        hdr < 2 || w->length > UINT64_MAX - hdr) {
        return 0;
    }
    if (n_head < hdr) {
        return 0; /* not even its header: a segment written wrong */
    }
    struct stats_wire *frame = &rows[w->kind == STATS_WIRE_RFRAME];
    size_t shown = n_head - hdr < w->length ? n_head - hdr : (size_t)w->length;
    wire_row_of(frame, w->kind, w->length, w->head + hdr, shown, w);
    if ((w->flags & STATS_WIRE_MASKED) != 0) {
        ws_frame_mask(frame->head, frame->n_head, w->mask, 0);
    }
    if (w->kind == STATS_WIRE_RFRAME) {
        /* The read that brought it, whole, before it. */
        wire_row_of(&rows[0], STATS_WIRE_READ, hdr + w->length, w->head, n_head,
                    NULL);
        return 2;
    }
    if ((w->flags & STATS_WIRE_WRITTEN) == 0) {
        return 1;
    }
    /* The write that took it, whole, after it. */
    wire_row_of(&rows[1], STATS_WIRE_WRITE, hdr + w->length, w->head, n_head,
                NULL);
    return 2;
}

uint64_t
stats_wire_kept(const struct stats_case *c)
{
    return c->wire_n < c->wire_cap ? c->wire_n : c->wire_cap;
}

const struct stats_wire *
stats_wire_at(const struct stats_case *c, uint64_t k, uint64_t *gap_before)
{
    const struct stats_wire *w =
        (const struct stats_wire *)(const void *)((const uint8_t *)c +
                                                  stats_case_wire_offset(
                                                      c->request_cap));
    uint64_t head = c->wire_cap - c->wire_tail;

    *gap_before = 0;
    if (c->wire_n <= c->wire_cap || k < head) {
        return &w[k];
    }
    /* Past the head: the ring's j-th is entry wire_n - wire_tail + j. */
    uint64_t j = k - head;
    if (j == 0) {
        *gap_before = c->wire_n - c->wire_cap;
    }
    return &w[stats_wire_slot(c, c->wire_n - c->wire_tail + j)];
}

unsigned
stats_shm_worker_died(const struct stats_shm *shm, unsigned slot,
                      uint64_t now_ms, stats_shm_closed_fn *closed, void *arg)
{
    struct stats_shm_slot *s = stats_shm_slot(shm, slot);
    unsigned per = shm->cases_per_slot;
    unsigned n = 0;
    uint64_t unopened = 0;

    if (s == NULL) {
        return 0;
    }
    for (unsigned i = 0; i < per; i++) {
        struct stats_case *r = stats_shm_case(shm, (size_t)slot * per + i);
        uint32_t seq = atomic_load_explicit(&r->seq, memory_order_relaxed);
        if ((seq & 1) != 0) {
            /* The worker died inside a change: close the bracket. */
            atomic_store_explicit(&r->seq, seq + 1, memory_order_relaxed);
        }
        if (!case_in_use(r)) {
            continue;
        }
        /* Still in its opening handshake: never a WebSocket, so unopened,
         * as the worker itself would have counted it (stats_record). */
        if (r->state == STATS_CASE_HANDSHAKE && r->http_status != 101) {
            unopened++;
        } else {
            /* A WebSocket: its length, accept to now, as its worker would
             * have observed it at the close (stats_record_finish). */
            uint64_t start = r->started_ms;
            uint64_t length = now_ms > start ? now_ms - start : 0;
            stats_observe(s->c.duration_ms, &s->c.duration_ms_sum,
                          stats_duration_bounds_ms, STATS_DURATION_BUCKETS - 1,
                          length);
        }
        stats_case_begin(r);
        r->state = STATS_CASE_CLOSED;
        r->dropped_by_me = 1;
        r->was_clean = 0;
        r->ended_ms = now_ms;
        stats_copy(r->was_not_clean_reason, sizeof(r->was_not_clean_reason),
                   "worker died", strlen("worker died"));
        stats_case_end(r);
        n++;
        if (closed != NULL) {
            closed(arg, slot * per + i);
        }
    }
    /* The dead worker's open connections died with it: they are no longer
     * active. Those whose record says they never opened are unopened; the
     * others ended uncleanly, those it could hold no record for included
     * (active says how many there were; nothing says what they were). */
    uint64_t active = atomic_load_explicit(&s->c.active, memory_order_relaxed);
    if (unopened > active) {
        unopened = active; /* records are the worker's to write */
    }
    atomic_store_explicit(&s->c.active, 0, memory_order_relaxed);
    atomic_store_explicit(&s->in_use, 0, memory_order_relaxed);
    stats_add(&s->c.unopened, unopened);
    stats_add(&s->c.unclean, active - unopened);
    return n;
}

void
stats_counters_read(const struct stats_counters *c, struct stats_totals *out)
{
#define RD(f) atomic_load_explicit(&c->f, memory_order_relaxed)
    memset(out, 0, sizeof(*out));
    out->accepted = RD(accepted);
    out->active = RD(active);
    out->peak = RD(peak);
    for (unsigned i = 0; i < STATS_STATUS_N; i++) {
        out->refused[i] = RD(refused[i]);
    }
    out->rx_messages = RD(rx_messages);
    out->tx_messages = RD(tx_messages);
    out->rx_frames = RD(rx_frames);
    out->tx_frames = RD(tx_frames);
    out->rx_octets = RD(rx_octets);
    out->tx_octets = RD(tx_octets);
    for (unsigned i = 0; i < STATS_CLOSE_N; i++) {
        out->close_sent[i] = RD(close_sent[i]);
        out->close_received[i] = RD(close_received[i]);
    }
    out->clean = RD(clean);
    out->unclean = RD(unclean);
    out->unrecorded = RD(unrecorded);
    for (unsigned i = 0; i < STATS_WRONG_N; i++) {
        out->wrong_protocol[i] = RD(wrong_protocol[i]);
    }
    out->unopened = RD(unopened);
    out->tls_failed = RD(tls_failed);
    out->deflate = RD(deflate);
    for (unsigned i = 0; i < STATS_TIMEOUT_N; i++) {
        out->timeouts[i] = RD(timeouts[i]);
    }
    for (unsigned i = 0; i < STATS_DURATION_BUCKETS; i++) {
        out->duration_ms[i] = RD(duration_ms[i]);
    }
    out->duration_ms_sum = RD(duration_ms_sum);
    for (unsigned i = 0; i < STATS_SIZE_BUCKETS; i++) {
        out->rx_message_bytes[i] = RD(rx_message_bytes[i]);
        out->tx_message_bytes[i] = RD(tx_message_bytes[i]);
    }
    out->rx_message_bytes_sum = RD(rx_message_bytes_sum);
    out->tx_message_bytes_sum = RD(tx_message_bytes_sum);
    out->case_log_write_errors = RD(case_log_write_errors);
    out->tls = RD(tls);
#undef RD
}

void
stats_totals_add(struct stats_totals *sum, const struct stats_totals *t)
{
    sum->accepted += t->accepted;
    sum->active += t->active;
    sum->peak += t->peak;
    for (unsigned i = 0; i < STATS_STATUS_N; i++) {
        sum->refused[i] += t->refused[i];
    }
    sum->rx_messages += t->rx_messages;
    sum->tx_messages += t->tx_messages;
    sum->rx_frames += t->rx_frames;
    sum->tx_frames += t->tx_frames;
    sum->rx_octets += t->rx_octets;
    sum->tx_octets += t->tx_octets;
    for (unsigned i = 0; i < STATS_CLOSE_N; i++) {
        sum->close_sent[i] += t->close_sent[i];
        sum->close_received[i] += t->close_received[i];
    }
    sum->clean += t->clean;
    sum->unclean += t->unclean;
    sum->unrecorded += t->unrecorded;
    for (unsigned i = 0; i < STATS_WRONG_N; i++) {
        sum->wrong_protocol[i] += t->wrong_protocol[i];
    }
    sum->unopened += t->unopened;
    sum->tls_failed += t->tls_failed;
    sum->deflate += t->deflate;
    for (unsigned i = 0; i < STATS_TIMEOUT_N; i++) {
        sum->timeouts[i] += t->timeouts[i];
    }
    for (unsigned i = 0; i < STATS_DURATION_BUCKETS; i++) {
        sum->duration_ms[i] += t->duration_ms[i];
    }
    sum->duration_ms_sum += t->duration_ms_sum;
    for (unsigned i = 0; i < STATS_SIZE_BUCKETS; i++) {
        sum->rx_message_bytes[i] += t->rx_message_bytes[i];
        sum->tx_message_bytes[i] += t->tx_message_bytes[i];
    }
    sum->rx_message_bytes_sum += t->rx_message_bytes_sum;
    sum->tx_message_bytes_sum += t->tx_message_bytes_sum;
    sum->case_log_write_errors += t->case_log_write_errors;
    sum->tls += t->tls;
}

unsigned
stats_close_index(unsigned code)
{
    if (code >= 1000 && code <= 1015) {
        return STATS_CLOSE_1000 + (code - 1000);
    }
    if (code >= 3000 && code <= 3999) {
        return STATS_CLOSE_3XXX;
    }
    if (code >= 4000 && code <= 4999) {
        return STATS_CLOSE_4XXX;
    }
    return STATS_CLOSE_OTHER;
}

unsigned
stats_status_index(unsigned status)
{
    switch (status) {
    case 400:
        return STATS_STATUS_400;
    case 404:
        return STATS_STATUS_404;
    case 405:
        return STATS_STATUS_405;
    case 426:
        return STATS_STATUS_426;
    case 431:
        return STATS_STATUS_431;
    case 503:
        return STATS_STATUS_503;
    default:
        return STATS_STATUS_OTHER;
    }
}

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for stats_shm: the segment's layout, octet counting by size,
 * the close-code and status buckets, how a slot's partition of case records
 * is used and reused, what the master does for a dead worker, and that a
 * reader never sees a record half written while another process writes
 * it (the sequence counter), that a worker's partition is made resident
 * whole at its start and its neighbour's is not, with a control run showing
 * that the check does catch torn reads when the writer does not bracket its
 * changes.
 */
#include "autoconf.h"

#include "stats_shm.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
load(_Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

static uint32_t
load32(_Atomic uint32_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

/* Records with a little of each room after them, so that every test
 * walks records of a stride other than the struct's. */
#define TEST_REQUEST_CAP 100 /* rounded up to 104 */
#define TEST_WIRE_CAP    16

static int
create(struct stats_shm *shm, unsigned n_slots, unsigned n_cases,
       uint64_t now_ms)
{
    struct stats_shm_size size = {n_slots, n_cases, TEST_REQUEST_CAP,
                                  TEST_WIRE_CAP};
    return stats_shm_create(shm, &size, now_ms);
}

/* Room for a copy of a record with its request and wire log. */
static struct stats_case *
copy_room(void)
{
    /* cppcheck-suppress unassignedVariable */
    static uint64_t room[2048];
    return (struct stats_case *)(void *)room;
}

static uint32_t
seq_of(struct stats_case *r)
{
    return atomic_load_explicit(&r->seq, memory_order_relaxed);
}

static void
test_create(void)
{
    struct stats_shm shm;

    /* 10 records for 3 slots round up to 4 each. */
    is_int(create(&shm, 3, 10, 1700000000123ULL), 0, "create");
    is_int(shm.n_slots, 3, "3 slots mapped");
    is_int(shm.cases_per_slot, 4, "10 records over 3 slots: 4 each");
    is_int(shm.n_cases, 12, "12 records in all");
    is_int(shm.hdr->magic, STATS_SHM_MAGIC, "header magic");
    is_int(shm.hdr->version_major, STATS_SHM_VERSION_MAJOR, "layout major");
    is_int(shm.hdr->version_minor, STATS_SHM_VERSION_MINOR, "layout minor");
    is_int(shm.hdr->header_bytes, sizeof(struct stats_shm_header),
           "header size recorded");
    is_int(shm.hdr->slot_bytes, sizeof(struct stats_shm_slot),
           "slot size recorded");
    is_int(shm.case_bytes,
           sizeof(struct stats_case) + 128 + 16 * sizeof(struct stats_wire),
           "a record, its request's room to the next cache line, 16 wire "
           "entries");
    ok(shm.case_bytes % 64 == 0 &&
           stats_case_wire_offset(TEST_REQUEST_CAP) % 64 == 0,
       "records, and each wire entry, on cache lines of their own");
    is_int(shm.hdr->case_bytes, shm.case_bytes, "record size recorded");
    is_int(shm.hdr->request_cap, TEST_REQUEST_CAP, "request room recorded");
    is_int(shm.hdr->wire_cap, TEST_WIRE_CAP, "wire entries recorded");
    is_int(shm.hdr->n_slots, 3, "n_slots recorded");
    is_int(shm.hdr->n_cases, 12, "n_cases recorded");
    is_int(shm.hdr->cases_per_slot, 4, "cases_per_slot recorded");
    is_int(shm.hdr->started_ms, 1700000000123ULL, "start time recorded");
    ok((char *)shm.slots == (char *)shm.hdr + sizeof(struct stats_shm_header),
       "slots follow the header");
    ok((char *)shm.cases ==
           (char *)shm.slots + 3 * sizeof(struct stats_shm_slot),
       "records follow the slots");
    ok(shm.map_bytes >= sizeof(struct stats_shm_header) +
                            3 * sizeof(struct stats_shm_slot) +
                            12 * shm.case_bytes,
       "the mapping holds every record");
    ok(stats_shm_slot(&shm, 2) == &shm.slots[2], "slot 2");
    ok(stats_shm_slot(&shm, 3) == NULL, "slot 3 is out of range");
    ok(stats_shm_slot(&shm, 1000000) == NULL, "a huge slot index is refused");

    bool all_free = true;
    struct stats_case *copy = copy_room();
    for (unsigned i = 0; i < shm.n_cases; i++) {
        all_free = all_free && !stats_case_read(&shm, i, copy);
    }
    ok(all_free, "every record of a fresh segment reads as free");
    ok(!stats_case_read(&shm, 12, copy), "record 12 is out of range");
    stats_shm_destroy(&shm);
    ok(shm.hdr == NULL && shm.n_cases == 0, "destroy clears the handle");

    /* Fewer records than slots: still one each. */
    is_int(create(&shm, 4, 1, 0), 0, "create 4 slots, 1 record");
    is_int(shm.cases_per_slot, 1, "at least one record per slot");
    is_int(shm.n_cases, 4, "4 records");
    stats_shm_destroy(&shm);
    /* stats_cases 0: no record at all, and none counted as unrecorded. */
    is_int(create(&shm, 2, 0, 0), 0, "create with 0 records");
    is_int(shm.cases_per_slot, 0, "0 records asked: none per slot");
    is_int(shm.n_cases, 0, "0 records");
    ok(stats_case_start(&shm, 1, 1) == NULL, "0 records: no case starts");
    is_int(atomic_load(&shm.slots[1].c.unrecorded), 0,
           "0 records: not counted as unrecorded");
    ok(!stats_case_read(&shm, 0, copy), "0 records: record 0 is out of range");
    is_int(stats_shm_worker_died(&shm, 1, 0, NULL, NULL), 0,
           "0 records: a dead worker leaves nothing to close");
    stats_shm_destroy(&shm);
}

static void
test_octets(void)
{
    struct stats_octets o;
    bool exact = true;

    memset(&o, 0, sizeof(o));
    /* Sizes 10, 20, ... as many as fit, then each again: all exact. */
    for (uint64_t round = 0; round < 2; round++) {
        for (uint64_t n = 1; n <= STATS_OCTET_SIZES; n++) {
            stats_octets_add(&o, n * 10);
        }
    }
    is_int(o.n, STATS_OCTET_SIZES, "every distinct size has a slot");
    for (uint32_t i = 0; i < STATS_OCTET_SIZES; i++) {
        exact = exact && o.size[i] == (i + 1) * 10 && o.count[i] == 2;
    }
    ok(exact, "each size kept in first-seen order, counted twice");
    is_int(o.overflow_count, 0, "no overflow while sizes fit");
    is_int(o.overflow_octets, 0, "no overflow octets while sizes fit");

    stats_octets_add(&o, 7);
    is_int(o.n, STATS_OCTET_SIZES, "one size more takes no slot");
    is_int(o.overflow_count, 1, "it is counted in the overflow");
    is_int(o.overflow_octets, 7, "and its bytes too");
    stats_octets_add(&o, 100000);
    stats_octets_add(&o, 7);
    is_int(o.overflow_count, 3, "overflow counts every other read");
    is_int(o.overflow_octets, 100014, "overflow sums their bytes");
    stats_octets_add(&o, STATS_OCTET_SIZES * 10);
    is_int(o.count[STATS_OCTET_SIZES - 1], 3,
           "a known size still counts exactly when full");
    is_int(o.overflow_count, 3, "and not in the overflow");
    stats_octets_add(&o, 10);
    stats_octets_add(&o, 10);
    is_int(o.count[0], 4, "the first size again, twice: counted where it is");

    memset(&o, 0, sizeof(o));
    stats_octets_add(&o, 0);
    is_int(o.n, 1, "a 0-byte read is a size of its own");
    is_int(o.size[0], 0, "size 0");
    stats_octets_add(&o, (uint64_t)UINT32_MAX);
    is_int(o.n, 2, "UINT32_MAX fits a size slot");
    is_int(o.size[1], UINT32_MAX, "size UINT32_MAX kept exactly");
    stats_octets_add(&o, (uint64_t)UINT32_MAX + 1);
    is_int(o.n, 2, "a size over 32 bits never takes a slot");
    is_int(o.overflow_count, 1, "it goes to the overflow");
    is_int(o.overflow_octets, (uint64_t)UINT32_MAX + 1,
           "with its bytes, not cut to 32 bits");
}

static void
test_buckets(void)
{
    static const struct {
        unsigned code;
        unsigned index;
    } closes[] = {
        {1000, 0},
        {1001, 1},
        {1002, 2},
        {1005, 5},
        {1006, 6},
        {1007, 7},
        {1011, 11},
        {1015, 15},
        {1016, STATS_CLOSE_OTHER},
        {999, STATS_CLOSE_OTHER},
        {0, STATS_CLOSE_OTHER},
        {2999, STATS_CLOSE_OTHER},
        {3000, STATS_CLOSE_3XXX},
        {3999, STATS_CLOSE_3XXX},
        {4000, STATS_CLOSE_4XXX},
        {4999, STATS_CLOSE_4XXX},
        {5000, STATS_CLOSE_OTHER},
        {65535, STATS_CLOSE_OTHER},
        {1000 + 65536, STATS_CLOSE_OTHER},
    };
    static const struct {
        unsigned status;
        unsigned index;
    } statuses[] = {
        {400, STATS_STATUS_400},   {404, STATS_STATUS_404},
        {405, STATS_STATUS_405},   {426, STATS_STATUS_426},
        {431, STATS_STATUS_431},   {503, STATS_STATUS_503},
        {101, STATS_STATUS_OTHER}, {200, STATS_STATUS_OTHER},
        {401, STATS_STATUS_OTHER}, {500, STATS_STATUS_OTHER},
        {0, STATS_STATUS_OTHER},
    };

    is_int(STATS_CLOSE_1000, 0, "1000 is bucket 0");
    for (size_t i = 0; i < NELEM(closes); i++) {
        is_int(stats_close_index(closes[i].code), closes[i].index,
               "close code %u in bucket %u", closes[i].code, closes[i].index);
    }
    for (size_t i = 0; i < NELEM(statuses); i++) {
        is_int(stats_status_index(statuses[i].status), statuses[i].index,
               "status %u in bucket %u", statuses[i].status, statuses[i].index);
    }
    ok(stats_close_index(UINT32_MAX) < STATS_CLOSE_N,
       "every close code lands inside the array");
    ok(stats_status_index(UINT32_MAX) < STATS_STATUS_N,
       "every status lands inside the array");
}

static void
test_copy(void)
{
    char buf[8];

    memset(buf, 'x', sizeof(buf));
    stats_copy(buf, sizeof(buf), "abc", 3);
    is_str(buf, "abc", "a short string is copied whole");
    stats_copy(buf, sizeof(buf), "abcdefghijk", 11);
    is_str(buf, "abcdefg", "a long one is cut to cap - 1 and terminated");
    stats_copy(buf, sizeof(buf), NULL, 0);
    is_str(buf, "", "an empty one leaves an empty string");
    stats_copy(buf, sizeof(buf), "a\0b", 3);
    is_mem(buf, 4, "a\0b\0", 4, "bytes are copied as they are, NUL included");
    memset(buf, 'x', sizeof(buf));
    stats_copy(buf, 0, "abc", 3);
    is_int(buf[0], 'x', "cap 0 writes nothing");
    /* A peer's text (a User-Agent) cut between characters: the one the
     * cut would split is left out whole, not kept half (which every
     * reader would show as U+FFFD, a character the peer never sent). */
    stats_copy(buf, sizeof(buf), "abcde\xe2\x82\xac", 8);
    is_str(buf, "abcde", "a cut never splits a 3-byte character");
    stats_copy(buf, sizeof(buf), "abcdef\xc3\xa9", 8);
    is_str(buf, "abcdef", "nor a 2-byte one");
    stats_copy(buf, sizeof(buf), "abcd\xf0\x9f\x98\x80", 8);
    is_str(buf, "abcd", "nor a 4-byte one");
    stats_copy(buf, sizeof(buf), "abcdef\xc3\xa9", 7);
    is_str(buf, "abcdef\xc3", "what is not cut is copied as it is");
    stats_copy(buf, sizeof(buf), "a\x80\x80\x80\x80\x80\x80\x80", 8);
    is_str(buf, "a\x80\x80\x80\x80\x80\x80",
           "bytes that are no UTF-8 are cut where they fall");
}

/* Index of r in the segment's record array. */
static long
index_of(const struct stats_shm *shm, const struct stats_case *r)
{
    return r == NULL ? -1
                     : (long)(((const unsigned char *)r - shm->cases) /
                              (long)shm->case_bytes);
}

static void
test_partitions(void)
{
    struct stats_shm shm;
    struct stats_case *r[4];
    bool inside = true;

    if (create(&shm, 3, 10, 0) != 0) {
        ok(false, "create for partitions");
        return;
    }
    /* Each slot fills its own 4 records, and only those. */
    for (unsigned slot = 0; slot < 3; slot++) {
        for (unsigned k = 0; k < 4; k++) {
            uint64_t id = slot * 100 + k + 1;
            struct stats_case *c = stats_case_start(&shm, slot, id);
            long i = index_of(&shm, c);
            long first = (long)slot * 4;
            inside = inside && c != NULL && i >= first && i < first + 4 &&
                     c->id == id && c->worker == slot &&
                     c->state == STATS_CASE_HANDSHAKE && (seq_of(c) & 1) == 1;
            if (c != NULL) {
                stats_case_end(c);
            }
        }
    }
    ok(inside, "records of slot i come from partition i, numbered, opened "
               "for writing and in the handshake state");
    for (unsigned slot = 0; slot < 3; slot++) {
        is_int(load(&shm.slots[slot].c.unrecorded), 0,
               "slot %u: 4 records for 4 cases, none unrecorded", slot);
    }
    ok(stats_case_start(&shm, 3, 1) == NULL, "slot 3 does not exist");

    /* Every record of slot 1 is in use: no record, counted. */
    ok(stats_case_start(&shm, 1, 999) == NULL,
       "slot 1 full of cases in progress: no record");
    is_int(load(&shm.slots[1].c.unrecorded), 1, "slot 1 counts it unrecorded");
    ok(stats_case_start(&shm, 1, 1000) == NULL, "still none");
    is_int(load(&shm.slots[1].c.unrecorded), 2, "unrecorded grows");
    is_int(load(&shm.slots[0].c.unrecorded), 0, "slot 0 untouched");
    is_int(load(&shm.slots[2].c.unrecorded), 0, "slot 2 untouched");

    bool others_intact = true;
    for (unsigned i = 0; i < shm.n_cases; i++) {
        uint64_t want = (i / 4) * 100 + (i % 4) + 1;
        others_intact = others_intact && stats_shm_case(&shm, i)->id == want &&
                        stats_shm_case(&shm, i)->state == STATS_CASE_HANDSHAKE;
    }
    ok(others_intact, "no record in use was taken over");

    /* Of slot 1's cases 101-104, 102 and 103 end; 101 (open) and 104
     * (closing) are still in use. */
    struct stats_case *part[4];
    for (unsigned i = 0; i < 4; i++) {
        part[i] = stats_shm_case(&shm, 4 + i);
    }
    part[0]->state = STATS_CASE_OPEN;
    part[3]->state = STATS_CASE_CLOSING;
    part[1]->state = STATS_CASE_CLOSED;
    part[1]->was_clean = 1;
    stats_copy(part[1]->user_agent, sizeof(part[1]->user_agent), "old", 3);
    part[2]->state = STATS_CASE_CLOSED;
    /* Set by hand: counted again, as a worker starting in the slot does. */
    stats_shm_recount(&shm, 1);
    is_int(load32(&shm.slots[1].in_use), 2, "recount: 2 records in use");
    uint32_t seq_before = seq_of(part[1]);

    r[0] = stats_case_start(&shm, 1, 201);
    is_int(index_of(&shm, r[0]), 5, "the first closed record is reused");
    if (r[0] != NULL) {
        ok(r[0]->was_clean == 0 && r[0]->user_agent[0] == '\0' &&
               r[0]->id == 201 && r[0]->worker == 1 &&
               r[0]->state == STATS_CASE_HANDSHAKE,
           "a reused record starts afresh");
        ok(seq_of(r[0]) == seq_before + 1,
           "its sequence counter goes on (odd: opened for writing)");
        stats_case_end(r[0]);
    }
    r[1] = stats_case_start(&shm, 1, 202);
    is_int(index_of(&shm, r[1]), 6, "then the next closed one");
    if (r[1] != NULL) {
        stats_case_end(r[1]);
    }
    ok(stats_case_start(&shm, 1, 203) == NULL,
       "open and closing records are never reused");
    is_int(load(&shm.slots[1].c.unrecorded), 3, "unrecorded again");
    stats_shm_destroy(&shm);

    /* Oldest first: with every record closed, the ring goes on from where
     * it stopped, not back to the first free one. */
    if (create(&shm, 1, 4, 0) != 0) {
        ok(false, "create for the ring");
        return;
    }
    for (unsigned k = 0; k < 4; k++) {
        r[k] = stats_case_start(&shm, 0, k + 1);
        if (r[k] != NULL) {
            stats_case_end(r[k]);
        }
    }
    stats_case_stop(stats_shm_case(&shm, 1), &shm.slots[0].c);
    struct stats_case *c = stats_case_start(&shm, 0, 5);
    is_int(index_of(&shm, c), 1, "ring: the one closed record (case 2)");
    if (c != NULL) {
        stats_case_end(c);
    }
    for (unsigned i = 0; i < 4; i++) {
        stats_case_stop(stats_shm_case(&shm, i), &shm.slots[0].c);
    }
    is_int(load32(&shm.slots[0].in_use), 0, "stop: none in use");
    /* Records now hold cases 1, 5, 3, 4, all closed: the search resumes
     * after the record taken last (1), so the ring goes 2, 3, 0, 1, 2. */
    long want[] = {2, 3, 0, 1, 2};
    for (unsigned k = 0; k < NELEM(want); k++) {
        c = stats_case_start(&shm, 0, 6 + k);
        is_int(index_of(&shm, c), want[k],
               "ring order: case %u takes record %ld", 6 + k, want[k]);
        if (c != NULL) {
            stats_case_stop(c, &shm.slots[0].c);
            stats_case_end(c);
        }
    }
    stats_shm_destroy(&shm);
}

/* Opens a case in slot with the given state and closes the bracket. */
static struct stats_case *
start_as(struct stats_shm *shm, unsigned slot, uint64_t id, uint8_t state)
{
    struct stats_case *c = stats_case_start(shm, slot, id);
    if (c != NULL) {
        c->state = state;
        c->started_ms = 1000;
        stats_case_end(c);
    }
    return c;
}

/* What stats_shm_worker_died reported closed: ids, in its order. */
struct closed_seen {
    const struct stats_shm *shm;
    uint64_t ids[8];
    size_t n;
    bool closed_when_called; /* each record was closed and readable then */
};

static void
note_closed(void *arg, unsigned record)
{
    struct closed_seen *seen = arg;
    struct stats_case *r = stats_shm_case(seen->shm, record);

    if (seen->n < NELEM(seen->ids)) {
        seen->ids[seen->n] = r->id;
    }
    seen->n++;
    seen->closed_when_called = seen->closed_when_called &&
                               r->state == STATS_CASE_CLOSED &&
                               (seq_of(r) & 1) == 0;
}

static void
test_worker_died(void)
{
    struct stats_shm shm;
    struct stats_case *copy = copy_room();

    if (create(&shm, 2, 12, 0) != 0) {
        ok(false, "create for worker_died");
        return;
    }
    struct stats_counters *c1 = &shm.slots[1].c;
    struct stats_counters *c0 = &shm.slots[0].c;
    /* Slot 0: one open case, which must stay as it is. */
    struct stats_case *other = start_as(&shm, 0, 1, STATS_CASE_OPEN);
    stats_add(&c0->accepted, 1);
    stats_add(&c0->active, 1);

    /* Slot 1: handshake, open, closing, closed, one left mid-change
     * (its writer died between begin and end) and one never used. 7
     * connections accepted, 5 still active (one of them without a
     * record), 2 ended (1 clean, 1 unclean). */
    struct stats_case *hs = start_as(&shm, 1, 2, STATS_CASE_HANDSHAKE);
    struct stats_case *open = start_as(&shm, 1, 3, STATS_CASE_OPEN);
    struct stats_case *closing = start_as(&shm, 1, 4, STATS_CASE_CLOSING);
    struct stats_case *closed = start_as(&shm, 1, 5, STATS_CASE_CLOSED);
    struct stats_case *torn = start_as(&shm, 1, 6, STATS_CASE_OPEN);
    if (other == NULL || hs == NULL || open == NULL || closing == NULL ||
        closed == NULL || torn == NULL) {
        ok(false, "records for worker_died");
        stats_shm_destroy(&shm);
        return;
    }
    closed->was_clean = 1;
    closed->dropped_by_me = 0;
    closed->ended_ms = 1500;
    open->was_clean = 1; /* as if it had been set early: must be reset */
    stats_case_begin(torn);
    torn->rx_messages = 42;
    ok((seq_of(torn) & 1) == 1, "a record left mid-change has an odd seq");
    ok(!stats_case_read(&shm, (unsigned)index_of(&shm, torn), copy),
       "a reader cannot read it");
    uint64_t peek_id = 0;
    char peek_key[STATS_KEY_MAX];
    is_int(stats_case_peek(&shm, (unsigned)index_of(&shm, torn), &peek_id,
                           peek_key),
           STATS_PEEK_BUSY, "a peek at it says busy, which free is not");
    is_int(stats_case_peek(&shm, 6 + 5, &peek_id, peek_key), STATS_PEEK_FREE,
           "a peek at a free record says free");
    is_int(stats_case_peek(&shm, (unsigned)index_of(&shm, open), &peek_id,
                           peek_key),
           STATS_PEEK_SEEN, "a peek at an open record sees it");
    is_int(peek_id, 3, "and its id");
    stats_add(&c1->accepted, 7);
    stats_add(&c1->active, 5);
    stats_add(&c1->peak, 5);
    stats_add(&c1->clean, 1);
    stats_add(&c1->unclean, 1);

    struct closed_seen seen = {.shm = &shm, .closed_when_called = true};
    unsigned n = stats_shm_worker_died(&shm, 1, 2000, note_closed, &seen);
    is_int(n, 4, "4 records finalised (handshake, open, closing, torn)");
    ok(seen.n == 4 && seen.ids[0] == 2 && seen.ids[1] == 3 &&
           seen.ids[2] == 4 && seen.ids[3] == 6,
       "each finalised record is reported once (cases 2, 3, 4, 6), the "
       "closed one not");
    ok(seen.closed_when_called, "each is reported closed, its change finished");

    struct stats_case *dead[] = {hs, open, closing, torn};
    for (size_t i = 0; i < NELEM(dead); i++) {
        unsigned idx = (unsigned)index_of(&shm, dead[i]);
        bool read = stats_case_read(&shm, idx, copy);
        ok(read, "case %llu: readable after the worker died",
           (unsigned long long)dead[i]->id);
        if (!read) {
            continue;
        }
        is_int(copy->state, STATS_CASE_CLOSED, "case %llu: closed",
               (unsigned long long)copy->id);
        is_int(copy->dropped_by_me, 1, "case %llu: dropped by me",
               (unsigned long long)copy->id);
        is_int(copy->was_clean, 0, "case %llu: not clean",
               (unsigned long long)copy->id);
        is_str(copy->was_not_clean_reason, "worker died",
               "case %llu: reason \"worker died\"",
               (unsigned long long)copy->id);
        is_int(copy->ended_ms, 2000, "case %llu: ended now",
               (unsigned long long)copy->id);
        is_int(copy->started_ms, 1000, "case %llu: start time kept",
               (unsigned long long)copy->id);
        ok((copy->seq & 1) == 0, "case %llu: even seq",
           (unsigned long long)copy->id);
    }
    is_int(torn->rx_messages, 42, "the torn record keeps what it held");
    ok(stats_case_read(&shm, (unsigned)index_of(&shm, closed), copy),
       "the closed case reads");
    ok(copy->state == STATS_CASE_CLOSED && copy->was_clean == 1 &&
           copy->dropped_by_me == 0 && copy->ended_ms == 1500 &&
           copy->was_not_clean_reason[0] == '\0',
       "an already closed case is left as it was");
    unsigned free_idx = 6 + 5; /* slot 1's sixth record */
    ok(!stats_case_read(&shm, free_idx, copy), "a free record stays free");

    is_int(load(&c1->active), 0, "slot 1: active 0");
    /* Of the 5 lost: the one still in its opening handshake was never a
     * WebSocket (unopened, as the worker would have counted it); the 3
     * WebSockets and the one without a record, which nothing tells
     * apart, are unclean. */
    is_int(load(&c1->unclean), 5,
           "slot 1: the 3 lost WebSockets and the unrecorded one unclean");
    is_int(load(&c1->unopened), 1,
           "slot 1: the one lost in its opening handshake unopened");
    /* The 3 WebSockets, each 1000 ms from accept (1000) to the death
     * (2000), in the histogram of WebSockets by length (bucket 1: over
     * 100 ms, at most 1000 ms), as if their worker had closed them. */
    uint64_t lengths = 0;
    for (unsigned i = 0; i < STATS_DURATION_BUCKETS; i++) {
        lengths += load(&c1->duration_ms[i]);
    }
    is_int(lengths, 3, "slot 1: the 3 lost WebSockets have a length each");
    is_int(load(&c1->duration_ms[1]), 3, "slot 1: 1000 ms each");
    is_int(load(&c1->duration_ms_sum), 3000, "slot 1: 3000 ms in all");
    is_int(load(&c1->clean), 1, "slot 1: clean unchanged");
    is_int(load(&c1->accepted), 7, "slot 1: accepted unchanged");
    is_int(load(&c1->peak), 5, "slot 1: peak unchanged");
    is_int(load(&c1->accepted),
           load(&c1->clean) + load(&c1->unclean) + load(&c1->unopened) +
               load(&c1->active),
           "slot 1: clean + unclean + unopened + active == accepted");

    ok(stats_case_read(&shm, (unsigned)index_of(&shm, other), copy) &&
           copy->state == STATS_CASE_OPEN && copy->was_not_clean_reason[0] == 0,
       "slot 0's open case is untouched");
    is_int(load(&c0->active), 1, "slot 0: active unchanged");
    is_int(load(&c0->unclean), 0, "slot 0: unclean unchanged");

    /* A second call (nothing open any more) changes nothing. */
    is_int(stats_shm_worker_died(&shm, 1, 3000, NULL, NULL), 0,
           "nothing left to finalise");
    is_int(load(&c1->unclean), 5, "unclean not counted twice");
    is_int(load(&c1->unopened), 1, "unopened not counted twice");
    is_int(load(&c1->duration_ms_sum), 3000, "lengths not counted twice");
    ok(stats_case_read(&shm, (unsigned)index_of(&shm, open), copy) &&
           copy->ended_ms == 2000,
       "end time not rewritten");
    is_int(stats_shm_worker_died(&shm, 2, 3000, NULL, NULL), 0,
           "slot 2 does not exist");

    /* A closed record whose writer died mid-change: the bracket is closed
     * and it is readable again, and it is not finalised twice. */
    stats_case_begin(closed);
    is_int(stats_shm_worker_died(&shm, 1, 4000, NULL, NULL), 0,
           "a closed record mid-change is not counted");
    ok((seq_of(closed) & 1) == 0, "but its bracket is closed");
    ok(stats_case_read(&shm, (unsigned)index_of(&shm, closed), copy),
       "and it reads again");

    /* The replacement reuses the finalised records. */
    struct stats_case *again = stats_case_start(&shm, 1, 7);
    ok(again != NULL, "the replacement worker gets a record");
    if (again != NULL) {
        stats_case_end(again);
    }
    stats_shm_destroy(&shm);
}

static void
test_totals(void)
{
    struct stats_counters a;
    struct stats_counters b;
    struct stats_totals ta;
    struct stats_totals tb;
    struct stats_totals sum;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    stats_add(&a.accepted, 3);
    stats_add(&a.active, 1);
    stats_add(&a.peak, 2);
    stats_add(&a.refused[STATS_STATUS_426], 4);
    stats_add(&a.rx_messages, 5);
    stats_add(&a.tx_messages, 6);
    stats_add(&a.rx_frames, 7);
    stats_add(&a.tx_frames, 8);
    stats_add(&a.rx_octets, 900);
    stats_add(&a.tx_octets, 1000);
    stats_add(&a.close_sent[STATS_CLOSE_4XXX], 11);
    stats_add(&a.close_received[STATS_CLOSE_1000 + 7], 12);
    stats_add(&a.clean, 13);
    stats_add(&a.unclean, 14);
    stats_add(&a.unrecorded, 15);
    stats_add(&a.wrong_protocol[STATS_WRONG_TLS_ON_PLAIN], 16);
    stats_add(&a.wrong_protocol[STATS_WRONG_PLAIN_ON_TLS], 17);
    stats_add(&b.accepted, 30);
    stats_add(&b.refused[STATS_STATUS_426], 40);
    stats_add(&b.close_sent[STATS_CLOSE_4XXX], 110);
    stats_add(&b.unrecorded, 150);
    stats_add(&b.wrong_protocol[STATS_WRONG_PLAIN_ON_TLS], 170);
    stats_counters_read(&a, &ta);
    stats_counters_read(&b, &tb);
    is_int(ta.accepted, 3, "read: accepted");
    is_int(ta.rx_octets, 900, "read: rx_octets");
    is_int(ta.close_received[7], 12, "read: close_received[1007]");
    is_int(ta.wrong_protocol[STATS_WRONG_PLAIN_ON_TLS], 17,
           "read: wrong_protocol[plain on TLS]");
    memset(&sum, 0, sizeof(sum));
    stats_totals_add(&sum, &ta);
    stats_totals_add(&sum, &tb);
    ok(sum.accepted == 33 && sum.active == 1 && sum.peak == 2 &&
           sum.refused[STATS_STATUS_426] == 44 && sum.rx_messages == 5 &&
           sum.tx_messages == 6 && sum.rx_frames == 7 && sum.tx_frames == 8 &&
           sum.rx_octets == 900 && sum.tx_octets == 1000 &&
           sum.close_sent[STATS_CLOSE_4XXX] == 121 &&
           sum.close_received[7] == 12 && sum.clean == 13 &&
           sum.unclean == 14 && sum.unrecorded == 165 &&
           sum.wrong_protocol[STATS_WRONG_TLS_ON_PLAIN] == 16 &&
           sum.wrong_protocol[STATS_WRONG_PLAIN_ON_TLS] == 187,
       "totals_add sums every counter");

    /* Field by field, whatever is added: both structs are the same
     * sequence of 64-bit counters, so counter k must come out as total
     * k, once read and twice when added to itself. */
    _Static_assert(sizeof(struct stats_counters) == sizeof(struct stats_totals),
                   "one total per counter");
    size_t n = sizeof(struct stats_totals) / sizeof(uint64_t);
    _Atomic uint64_t *cells = (_Atomic uint64_t *)(void *)&a;
    uint64_t got[sizeof(struct stats_totals) / sizeof(uint64_t)];
    size_t wrong = 0;
    for (size_t k = 0; k < n; k++) {
        atomic_store(&cells[k], 1000 + k);
    }
    stats_counters_read(&a, &ta);
    memset(&sum, 0, sizeof(sum));
    stats_totals_add(&sum, &ta);
    stats_totals_add(&sum, &ta);
    memcpy(got, &sum, sizeof(got));
    for (size_t k = 0; k < n; k++) {
        if (got[k] != 2 * (1000 + k)) {
            tap_diag("total %zu is %llu", k, (unsigned long long)got[k]);
            wrong++;
        }
    }
    is_int(wrong, 0, "every one of the %zu counters is read and summed", n);
}

/* The torn-read test ------------------------------------------------------*/

#define TORN_WRITER_MS 4000
#define TORN_READER_MS 8000
#define TORN_SEEN      64 /* changes the reader sees before the writer stops */

/* The text field pattern for k: its decimal digits repeated to cap - 1. */
static void
pattern(char *dst, size_t cap, uint64_t k)
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)k);
    for (size_t i = 0; i + 1 < cap; i++) {
        dst[i] = digits[i % (size_t)n];
    }
    dst[cap - 1] = '\0';
}

/* Writes k into many fields of r, spread over the whole record. */
static void
fill(struct stats_case *r, uint64_t k)
{
    r->state = STATS_CASE_OPEN;
    r->local_close_code = (uint16_t)k;
    r->remote_close_code = (uint16_t)k;
    r->id = k;
    r->started_ms = k;
    r->ended_ms = k;
    for (unsigned i = 0; i < 16; i++) {
        r->rx_frames[i] = k;
        r->tx_frames[i] = k;
    }
    r->rx_messages = k;
    r->tx_messages = k;
    r->rx_payload_bytes = k;
    r->tx_payload_bytes = k;
    r->rx_compressed_bytes = k;
    r->tx_compressed_bytes = k;
    r->rx_octets.n = STATS_OCTET_SIZES;
    r->tx_octets.n = STATS_OCTET_SIZES;
    for (unsigned i = 0; i < STATS_OCTET_SIZES; i++) {
        r->rx_octets.size[i] = (uint32_t)k;
        r->rx_octets.count[i] = k;
        r->tx_octets.size[i] = (uint32_t)k;
        r->tx_octets.count[i] = k;
    }
    r->rx_octets.overflow_count = k;
    r->tx_octets.overflow_octets = k;
    pattern(r->peer, sizeof(r->peer), k);
    pattern(r->path, sizeof(r->path), k);
    pattern(r->user_agent, sizeof(r->user_agent), k);
    pattern(r->local_close_reason, sizeof(r->local_close_reason), k);
    pattern(r->remote_close_reason, sizeof(r->remote_close_reason), k);
    pattern(r->deflate_response, sizeof(r->deflate_response), k);
    pattern(r->tls_cipher, sizeof(r->tls_cipher), k);
}

static bool
text_is(const char *got, size_t cap, uint64_t k)
{
    char want[STATS_OFFER_MAX]; /* the longest text field */
    pattern(want, cap, k);
    return memcmp(got, want, cap) == 0;
}

/* True when every field of c holds the same k as c->id. */
static bool
consistent(const struct stats_case *c)
{
    uint64_t k = c->id;
    bool same =
        c->state == STATS_CASE_OPEN && c->local_close_code == (uint16_t)k &&
        c->remote_close_code == (uint16_t)k && c->started_ms == k &&
        c->ended_ms == k && c->rx_messages == k && c->tx_messages == k &&
        c->rx_payload_bytes == k && c->tx_payload_bytes == k &&
        c->rx_compressed_bytes == k && c->tx_compressed_bytes == k &&
        c->rx_octets.n == STATS_OCTET_SIZES &&
        c->tx_octets.n == STATS_OCTET_SIZES &&
        c->rx_octets.overflow_count == k && c->tx_octets.overflow_octets == k;
    for (unsigned i = 0; same && i < 16; i++) {
        same = c->rx_frames[i] == k && c->tx_frames[i] == k;
    }
    for (unsigned i = 0; same && i < STATS_OCTET_SIZES; i++) {
        same =
            c->rx_octets.size[i] == (uint32_t)k && c->rx_octets.count[i] == k &&
            c->tx_octets.size[i] == (uint32_t)k && c->tx_octets.count[i] == k;
    }
    return same && text_is(c->peer, sizeof(c->peer), k) &&
           text_is(c->path, sizeof(c->path), k) &&
           text_is(c->user_agent, sizeof(c->user_agent), k) &&
           text_is(c->local_close_reason, sizeof(c->local_close_reason), k) &&
           text_is(c->remote_close_reason, sizeof(c->remote_close_reason), k) &&
           text_is(c->deflate_response, sizeof(c->deflate_response), k) &&
           text_is(c->tls_cipher, sizeof(c->tls_cipher), k);
}

/*
 * The writer process: rewrites record r with k = 1, 2, 3... bracketed by the
 * sequence counter or not, until the reader says (in *seen, shared) it has
 * seen TORN_SEEN changes, or TORN_WRITER_MS are spent.
 * Between changes it idles a varying while, as a worker does between
 * events: readers find the record both quiet and mid-change. Since readers
 * nap once their quick tries are spent, a writer that stopped on a count
 * of changes could finish while the reader napped, leaving it one to see.
 */
static void
torn_writer(struct stats_case *r, bool bracket, const atomic_ulong *seen)
{
    uint64_t deadline = mono_ms() + TORN_WRITER_MS;
    volatile unsigned spin = 0;
    /* The control run (no brackets) keeps the writer busy instead, so
     * that copies overlap changes as often as possible. */
    unsigned idle = bracket ? 64 : 8;

    for (uint64_t k = 1;; k++) {
        if (bracket) {
            stats_case_begin(r);
        }
        fill(r, k);
        if (bracket) {
            stats_case_end(r);
        }
        for (unsigned i = 0; i < (unsigned)(k % 64) * idle; i++) {
            spin = spin + 1;
        }
        /* On a loaded machine, let the reader run while the record is
         * quiet, not only when the writer is preempted mid-change. */
        if (bracket && k % 256 == 0) {
            sched_yield();
        }
        if (k % 1024 == 0 &&
            (atomic_load(seen) >= TORN_SEEN || mono_ms() > deadline)) {
            break;
        }
    }
    _exit(0);
}

struct torn_result {
    unsigned long reads;        /* stats_case_read calls */
    unsigned long good;         /* ... that returned a copy */
    unsigned long inconsistent; /* copies with fields of different k */
    unsigned long changes;      /* copies whose k differed from the last */
    uint64_t last_k;
    int status; /* the writer's wait status */
};

/* Runs a writer process on record 0 while this process reads it. */
static bool
torn_run(bool bracket, struct torn_result *res)
{
    struct stats_shm shm;
    struct stats_case *copy = copy_room();
    uint64_t deadline;
    pid_t pid;
    bool exited = false;

    memset(res, 0, sizeof(*res));
    if (create(&shm, 1, 1, 0) != 0) {
        return false;
    }
    struct stats_case *r = stats_case_start(&shm, 0, 0);
    if (r == NULL) {
        stats_shm_destroy(&shm);
        return false;
    }
    fill(r, 0);
    stats_case_end(r);
    atomic_ulong *seen = mmap(NULL, sizeof(*seen), PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (seen == MAP_FAILED) {
        stats_shm_destroy(&shm);
        return false;
    }
    atomic_init(seen, 0);
    (void)fflush(stdout);
    pid = fork();
    if (pid == -1) {
        munmap(seen, sizeof(*seen));
        stats_shm_destroy(&shm);
        return false;
    }
    if (pid == 0) {
        torn_writer(r, bracket, seen);
    }
    deadline = mono_ms() + TORN_READER_MS;
    while (!exited) {
        for (unsigned i = 0; i < 256; i++) {
            res->reads++;
            if (!stats_case_read(&shm, 0, copy)) {
                continue;
            }
            res->good++;
            if (!consistent(copy)) {
                res->inconsistent++;
            }
            if (copy->id != res->last_k) {
                res->changes++;
                res->last_k = copy->id;
                atomic_store(seen, res->changes);
            }
        }
        exited = waitpid(pid, &res->status, WNOHANG) == pid;
        if (!exited && mono_ms() > deadline) {
            kill(pid, SIGKILL);
            exited = waitpid(pid, &res->status, 0) == pid;
            break;
        }
    }
    munmap(seen, sizeof(*seen));
    stats_shm_destroy(&shm);
    return exited;
}

static void
test_torn_reads(void)
{
    struct torn_result res;

    bool ran = torn_run(true, &res);
    ok(ran && WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0,
       "bracketed writer ran and exited by itself");
    tap_diag("bracketed: %lu reads, %lu copies, %lu inconsistent, %lu "
             "changes of k seen, last k %llu",
             res.reads, res.good, res.inconsistent, res.changes,
             (unsigned long long)res.last_k);
    ok(res.good > 100, "readers got copies while the writer wrote (%lu)",
       res.good);
    /* On a loaded machine writer and reader may take turns on one CPU
     * rather than run side by side: then few changes are seen. */
    ok(res.changes >= 2, "and saw the record change under them (%lu)",
       res.changes);
    is_int(res.inconsistent, 0,
           "no copy mixes fields of two changes (sequence counter)");

    /*
     * The control: the same writer without begin/end. The same check must
     * find torn copies, or it would prove nothing. A copy of a record of
     * several KiB that overlaps a rewrite of the whole record is torn;
     * with two CPUs that happens in every run seen, so up to three runs
     * are given to make it certain rather than likely.
     */
    unsigned long torn = 0;
    unsigned runs = 0;
    while (torn == 0 && runs < 3) {
        runs++;
        ran = torn_run(false, &res);
        tap_diag("unbracketed run %u: %lu reads, %lu copies, %lu "
                 "inconsistent, %lu changes of k seen",
                 runs, res.reads, res.good, res.inconsistent, res.changes);
        torn += res.inconsistent;
    }
    ok(ran, "unbracketed writer ran");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus >= 2) {
        ok(torn > 0,
           "without the sequence counter the check finds torn copies "
           "(%lu in %u runs)",
           torn, runs);
    } else {
        tap_diag("one CPU: torn copies without the counter: %lu (not "
                 "asserted)",
                 torn);
    }
}

/* Pages of [from, to) the kernel holds, of those wholly inside. */
static size_t
resident_pages(const unsigned char *from, const unsigned char *to,
               size_t *n_pages)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)from + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t end = (uintptr_t)to & ~(uintptr_t)(page - 1);
    size_t n = end > start ? (end - start) / page : 0;
    unsigned char vec[512];
    size_t in = 0;

    *n_pages = n;
    if (n == 0 || n > sizeof(vec) || mincore((void *)start, end - start, vec)) {
        *n_pages = 0;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        in += vec[i] & 1;
    }
    return in;
}

static void
test_populate(void)
{
    struct stats_shm shm;
    size_t n0, n1;

    /* Two partitions of some 370 kB each: many pages wholly inside. */
    if (!ok(create(&shm, 2, 128, 1) == 0, "populate: created")) {
        return;
    }
    unsigned char *p0 = (unsigned char *)stats_shm_case(&shm, 0);
    unsigned char *p1 = (unsigned char *)stats_shm_case(&shm, 64);
    unsigned char *end = p1 + 64 * shm.case_bytes;
    size_t in0 = resident_pages(p0, p1, &n0);
    is_int(in0, 0, "populate: a fresh partition holds no page");
    ok(n0 >= 64, "populate: %zu pages inside partition 0", n0);
    int rc = stats_shm_populate(&shm, 0);
    if (rc != 0 && errno == EINVAL) {
        /* A kernel before 5.14: records take their pages at first use. */
        tap_diag("no MADV_POPULATE_WRITE here: residency not checked");
        ok(stats_case_start(&shm, 0, 1) != NULL,
           "populate: refused by the kernel, records still work");
        stats_shm_destroy(&shm);
        return;
    }
    is_int(rc, 0, "populate: partition 0 made resident");
    in0 = resident_pages(p0, p1, &n0);
    is_int(in0, n0, "populate: every page of partition 0 resident");
    size_t in1 = resident_pages(p1, end, &n1);
    ok(n1 >= 64, "populate: %zu pages inside partition 1", n1);
    is_int(in1, 0, "populate: partition 1 untouched");
    is_int(stats_shm_populate(&shm, 2), 0,
           "populate: a slot out of range does nothing");
    stats_shm_destroy(&shm);

    if (ok(create(&shm, 2, 0, 1) == 0, "populate: no records created")) {
        is_int(stats_shm_populate(&shm, 0), 0,
               "populate: nothing to do without records");
        stats_shm_destroy(&shm);
    }
}

/*
 * A worker holding more connections than its partition has records: a
 * new one is told "no record" at once, without a search. The partition's
 * pages are made unreadable first, so that a search crashes the test.
 */
static void
test_full_partition(void)
{
    struct stats_shm shm;
    struct stats_case *c;

    if (!ok(create(&shm, 2, 128, 1) == 0, "full: created")) {
        return;
    }
    for (unsigned k = 0; k < 64; k++) {
        if ((c = stats_case_start(&shm, 0, k + 1)) != NULL) {
            stats_case_end(c);
        }
    }
    is_int(load32(&shm.slots[0].in_use), 64, "full: 64 records in use");
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)stats_shm_case(&shm, 0) + page - 1) &
                      ~(uintptr_t)(page - 1);
    uintptr_t end =
        (uintptr_t)stats_shm_case(&shm, 64) & ~(uintptr_t)(page - 1);
    if (!ok(end > start && mprotect((void *)start, end - start, PROT_NONE) == 0,
            "full: partition 0 made unreadable")) {
        stats_shm_destroy(&shm);
        return;
    }
    ok(stats_case_start(&shm, 0, 100) == NULL, "full: no record, no search");
    is_int(load(&shm.slots[0].c.unrecorded), 1, "full: counted unrecorded");
    c = stats_case_start(&shm, 1, 101);
    ok(c != NULL, "full: the other partition still records");
    if (c != NULL) {
        stats_case_end(c);
    }
    mprotect((void *)start, end - start, PROT_READ | PROT_WRITE);

    /* One case ends: the next takes its record. */
    c = stats_shm_case(&shm, 40);
    stats_case_begin(c);
    stats_case_stop(c, &shm.slots[0].c);
    stats_case_end(c);
    is_int(load32(&shm.slots[0].in_use), 63, "full: one ended, 63 in use");
    c = stats_case_start(&shm, 0, 102);
    is_int(index_of(&shm, c), 40, "full: the next case takes its record");
    if (c != NULL) {
        stats_case_end(c);
    }

    /* The master finalises a dead worker's records: none is in use. */
    stats_shm_worker_died(&shm, 0, 5, NULL, NULL);
    is_int(load32(&shm.slots[0].in_use), 0, "full: none in use after death");
    c = stats_case_start(&shm, 0, 103);
    ok(c != NULL, "full: the next worker records again");
    if (c != NULL) {
        stats_case_end(c);
    }
    /* A worker's recount at its start believes the records, not the
     * count it finds. */
    atomic_store_explicit(&shm.slots[0].in_use, 64, memory_order_relaxed);
    stats_shm_recount(&shm, 0);
    is_int(load32(&shm.slots[0].in_use), 1, "full: recounted: 1 in use");
    stats_shm_destroy(&shm);
}

int
main(void)
{
    test_create();
    test_octets();
    test_buckets();
    test_copy();
    test_partitions();
    test_worker_died();
    test_totals();
    test_torn_reads();
    test_populate();
    test_full_partition();
    return tap_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * The shared-memory segment: mapped by the master before it forks,
 * written by workers (each only its own slot and its own partition of
 * case records), read by the master. A versioned header, one slot of
 * counters per worker, and a ring of fixed-size case records named after
 * the Autobahn testsuite's report fields. No pointers inside and no locks:
 * a record carries a sequence counter (odd while written) so readers never
 * see it torn, and a dead worker cannot leave a lock held. Not here: JSON,
 * libevent.
 */
#ifndef WSD_STATS_SHM_H
#define WSD_STATS_SHM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STATS_SHM_MAGIC         0x73647377u /* "wsds" */
#define STATS_SHM_VERSION_MAJOR 4
#define STATS_SHM_VERSION_MINOR 2

/* Handshake refusals are counted by status. */
enum stats_status {
    STATS_STATUS_400,
    STATS_STATUS_404,
    STATS_STATUS_405,
    STATS_STATUS_426,
    STATS_STATUS_431,
    STATS_STATUS_503,
    STATS_STATUS_OTHER,
    STATS_STATUS_N,
};

/* Connections that spoke the other protocol of their port, by kind. */
enum stats_wrong {
    STATS_WRONG_TLS_ON_PLAIN, /* a TLS ClientHello on the ws:// port */
    STATS_WRONG_PLAIN_ON_TLS, /* plain HTTP on the wss:// port */
    STATS_WRONG_N,
};

/* Timeouts are counted by the directive whose time ran out. */
enum stats_timeout {
    STATS_TIMEOUT_HANDSHAKE, /* handshake_timeout_ms */
    STATS_TIMEOUT_CLOSE,     /* close_timeout_ms: our close unanswered, or
                                our last bytes unread */
    STATS_TIMEOUT_PING,      /* pong_timeout_ms */
    STATS_TIMEOUT_IDLE,      /* idle_timeout_ms */
    STATS_TIMEOUT_N,
};

/*
 * Histograms, Prometheus' way: fixed upper bounds, one count per bucket
 * (a value goes to the first bucket whose bound it does not exceed, the
 * last bucket taking what is above every bound) and the sum of the values.
 * Slots keep each bucket's own count; readers make them cumulative.
 */
#define STATS_DURATION_BUCKETS 7 /* WebSockets by length, in ms */
#define STATS_SIZE_BUCKETS     7 /* messages by payload bytes */
extern const uint64_t stats_duration_bounds_ms[STATS_DURATION_BUCKETS - 1];
extern const uint64_t stats_size_bounds[STATS_SIZE_BUCKETS - 1];

/* Close codes are counted 1000-1015 one by one, then by range. */
#define STATS_CLOSE_1000  0  /* index of 1000; 1015 is 15 */
#define STATS_CLOSE_3XXX  16 /* 3000-3999, registered */
#define STATS_CLOSE_4XXX  17 /* 4000-4999, private */
#define STATS_CLOSE_OTHER 18
#define STATS_CLOSE_N     19

/*
 * A worker slot's counters since the master started: a respawned worker
 * goes on counting in its slot, and the master settles a dead worker's
 * open connections, so totals never drift. Single writer at any time.
 * Every connection that ended is counted once in clean, unclean or
 * unopened, so accepted == active + clean + unclean + unopened. Fields
 * are only ever added at the end (a minor version of the layout).
 */
struct stats_counters {
    _Atomic uint64_t accepted;                /* connections accepted */
    _Atomic uint64_t active;                  /* connections open now */
    _Atomic uint64_t peak;                    /* most open at once */
    _Atomic uint64_t refused[STATS_STATUS_N]; /* handshakes refused */
    _Atomic uint64_t rx_messages;
    _Atomic uint64_t tx_messages;
    _Atomic uint64_t rx_frames;
    _Atomic uint64_t tx_frames;
    _Atomic uint64_t rx_octets; /* bytes read, handshakes included */
    _Atomic uint64_t tx_octets; /* bytes written */
    _Atomic uint64_t close_sent[STATS_CLOSE_N];
    _Atomic uint64_t close_received[STATS_CLOSE_N];
    _Atomic uint64_t clean;      /* closes with a full closing handshake */
    _Atomic uint64_t unclean;    /* other ends of a WebSocket (after 101), and
                                    connections a dead worker left open */
    _Atomic uint64_t unrecorded; /* cases with no free record to hold them */
    _Atomic uint64_t wrong_protocol[STATS_WRONG_N];
    _Atomic uint64_t unopened;   /* ended without a WebSocket: refused, or
                                    gone before any answer */
    _Atomic uint64_t tls_failed; /* TLS connections that ended before their
                                    handshake finished */
    _Atomic uint64_t deflate;    /* WebSockets with permessage-deflate */
    _Atomic uint64_t timeouts[STATS_TIMEOUT_N];
    /* WebSockets (after 101) by length, accept to close, and the sum. */
    _Atomic uint64_t duration_ms[STATS_DURATION_BUCKETS];
    _Atomic uint64_t duration_ms_sum;
    /* Messages by payload size (inflated), each way, and the sums. */
    _Atomic uint64_t rx_message_bytes[STATS_SIZE_BUCKETS];
    _Atomic uint64_t rx_message_bytes_sum;
    _Atomic uint64_t tx_message_bytes[STATS_SIZE_BUCKETS];
    _Atomic uint64_t tx_message_bytes_sum;
    /* 3.1: case log lines not written whole (case_log.h). */
    _Atomic uint64_t case_log_write_errors;
    /* 3.4: WebSockets (after 101) carried by TLS. */
    _Atomic uint64_t tls;
};

struct stats_shm_slot {
    _Atomic int32_t pid;           /* 0 while no worker runs in the slot */
    _Atomic uint32_t generation;   /* workers started in this slot so far */
    _Atomic uint64_t heartbeat_ms; /* worker's last sign of life, Unix ms */
    _Atomic uint32_t next_record;  /* where the ring search resumes */
    _Atomic uint32_t in_use;       /* records of the partition in use (3.5):
                                      a full one is not searched */
    struct stats_counters c;
    uint64_t reserved[1]; /* room to grow; keeps slots on cache lines */
};

/* Where a case stands (Autobahn's report is written once it is closed). */
enum stats_case_state {
    STATS_CASE_FREE,      /* never used */
    STATS_CASE_HANDSHAKE, /* opening handshake in progress */
    STATS_CASE_OPEN,
    STATS_CASE_CLOSING, /* a close frame was sent or received */
    STATS_CASE_CLOSED,
};

/*
 * Bytes returned by each read (or accepted by each write) counted by size,
 * as Autobahn's rxOctetStats/txOctetStats: the first STATS_OCTET_SIZES
 * distinct sizes exactly (a case of 1000 compressed messages, Autobahn's
 * 12.4.3, writes some 80), any other size in the overflow bucket.
 */
#define STATS_OCTET_SIZES 128
struct stats_octets {
    uint32_t n;    /* sizes in use */
    uint32_t last; /* index of the size counted last: where the search
                      starts, as runs of one size are the rule */
    uint32_t size[STATS_OCTET_SIZES];
    uint64_t count[STATS_OCTET_SIZES];
    uint64_t overflow_count; /* reads or writes of other sizes */
    uint64_t overflow_octets;
};

/*
 * The wire log: what crossed the wire, in order, one fixed-size entry per
 * event (or per two, below). Frames carry their header bits as on the wire and
 * the first bytes of their payload (unmasked; compressed as sent); reads and
 * writes their size and first bytes.
 *
 * The common echo logs two entries rather than four: a frame that came
 * in one read of exactly its bytes takes that read's entry, and a frame
 * sent in one write of exactly its bytes gives its entry to that write.
 * Such an entry keeps the frame's bytes as on the wire (STATS_WIRE_WIRE:
 * its header, n_hdr bytes, then the payload, masked as sent), from which
 * the read's or the write's row and the frame's row both come whole:
 * stats_wire_rows gives a reader each entry's rows.
 */
enum stats_wire_kind {
    STATS_WIRE_NONE,
    STATS_WIRE_READ,    /* bytes read: length, head */
    STATS_WIRE_WRITE,   /* bytes written: length, head */
    STATS_WIRE_RFRAME,  /* a frame received: bits, mask, length, head */
    STATS_WIRE_TFRAME,  /* a frame sent: bits, length, head */
    STATS_WIRE_TIMEOUT, /* length: enum stats_timeout that ran out */
    STATS_WIRE_SHUT,    /* we sent our TCP FIN (shut down our side) */
    STATS_WIRE_DROP,    /* TCP closed: length 1 by us, 0 by the peer */
};

#define STATS_WIRE_MASKED     0x01 /* the frame was masked (with mask) */
#define STATS_WIRE_DISCARDED  0x02 /* read and delimited, then discarded */
#define STATS_WIRE_INCOMPLETE 0x04 /* the connection ended inside it (3.2) */
/* 4.0: head holds the frame as on the wire, its header first (n_hdr
 * bytes), its payload as sent (masked when it was). RFRAME: the frame
 * was the whole of one read, a READ row of n_hdr + length bytes before
 * it. TFRAME: every frame we send is kept so. */
#define STATS_WIRE_WIRE       0x08
/* 4.0, TFRAME: a write of n_hdr + length bytes followed it, whose first
 * bytes (those its row shows) were the frame's: a WRITE row of them after
 * it, as the write's own entry would have read. */
#define STATS_WIRE_WRITTEN    0x10

/* Bytes a row shows of its payload, or of what was read or written. */
#define STATS_WIRE_HEAD 32
/* Bytes an entry keeps: a row's, after a frame header of 14 at most. */
#define STATS_WIRE_ROOM 46
struct stats_wire {
    uint8_t kind;   /* enum stats_wire_kind */
    uint8_t bits;   /* frames: byte 0 of the header: FIN, RSV1-3, opcode */
    uint8_t flags;  /* STATS_WIRE_* */
    uint8_t n_head; /* bytes of head in use */
    uint8_t mask[4];
    uint64_t length; /* payload or bytes; for TIMEOUT and DROP, their value */
    uint8_t n_hdr;   /* STATS_WIRE_WIRE: the frame header's bytes in head */
    uint8_t reserved;
    uint8_t head[STATS_WIRE_ROOM];
};
_Static_assert(sizeof(struct stats_wire) == 64, "one cache line an entry");

/*
 * The rows an entry stands for (one, or two for a STATS_WIRE_WIRE entry
 * that a read or a write shared), each as a plain entry: no
 * STATS_WIRE_WIRE, n_head at most STATS_WIRE_HEAD, a frame's head its
 * payload unmasked. Returns how many (rows[0], then rows[1]); 0 for an
 * entry of no known kind, or one whose sizes do not add up (the segment
 * is writable by workers: readers trust nothing in it).
 */
unsigned stats_wire_rows(const struct stats_wire *w, struct stats_wire rows[2]);

/* Most bytes kept of our response head: wsd's own heads are far shorter. */
#define STATS_RESPONSE_MAX 512
#define STATS_KEY_MAX      32 /* Sec-WebSocket-Key: 24 in base64 */

#define STATS_PEER_MAX    64 /* "[" IPv6 "]:" port */
#define STATS_PATH_MAX    96
#define STATS_QUERY_MAX   48
#define STATS_UA_MAX      96
#define STATS_REASON_MAX  124 /* a close reason is at most 123 bytes */
#define STATS_NOTE_MAX    64
/* The client's extension offers, all its Sec-WebSocket-Extensions
 * headers joined, kept to this length (4.2: 256, and the first header
 * only before); and what the server granted: wsd's longest answer,
 * every parameter of permessage-deflate, is 130 bytes
 * (WS_DEFLATE_RESPONSE_MAX, checked where the record is written), kept
 * whole; a client's record (wsc's) keeps another server's answer, cut
 * here. The two keep the record whole cache lines. */
#define STATS_OFFER_MAX   256
#define STATS_GRANTED_MAX 192

/* client_flags: the record is a client's (wsc's), and what only a
 * client's can say. */
#define STATS_CASE_CLIENT 0x01 /* we were the client */
#define STATS_CASE_SERVER_DROP_TIMEOUT                                         \
    0x02 /* after the closing handshake,                                       \
            the server kept TCP open                                           \
            past our close timeout */

/*
 * One connection, Autobahn's field names in snake case. Strings are
 * NUL-terminated, cut to their size, and may hold any bytes the peer sent:
 * readers must treat them as untrusted.
 */
struct stats_case {
    _Atomic uint32_t seq;  /* odd while the writer is changing it */
    uint8_t state;         /* enum stats_case_state */
    uint8_t closed_by_me;  /* we sent the first close frame */
    uint8_t failed_by_me;  /* we failed it for a protocol error */
    uint8_t dropped_by_me; /* we closed the TCP connection first */
    uint8_t was_clean;     /* close frames both ways, then TCP close */
    uint8_t was_open_handshake_timeout;
    uint8_t was_close_handshake_timeout;
    uint8_t tls;                   /* carried by TLS */
    uint16_t http_status;          /* of our handshake response; 0 before */
    uint16_t local_close_code;     /* the code we sent; 0: none */
    uint16_t remote_close_code;    /* the code the peer sent; 0: none */
    uint16_t worker;               /* slot index */
    uint8_t local_close_has_code;  /* our close frame carried a code */
    uint8_t remote_close_has_code; /* the peer's did (even 0 or 1005) */
    uint8_t rx_frame_incomplete;   /* it ended inside a frame from the
                                      peer, header or payload (3.2) */
    uint8_t client_flags;          /* 3.3: STATS_CASE_CLIENT... (0 in
                                      wsd's own records) */
    uint64_t id;                   /* case number, 1, 2, 3... in accept order */
    uint64_t started_ms;           /* Unix time in ms */
    uint64_t ended_ms;             /* 0 while open */
    uint64_t rx_frames[16];        /* by opcode */
    uint64_t tx_frames[16];
    uint64_t rx_messages;
    uint64_t tx_messages;
    uint64_t rx_payload_bytes;    /* message payload, after inflation */
    uint64_t tx_payload_bytes;    /* message payload, before compression */
    uint64_t rx_compressed_bytes; /* compressed payload received */
    uint64_t tx_compressed_bytes; /* compressed payload sent */
    struct stats_octets rx_octets;
    struct stats_octets tx_octets;
    char peer[STATS_PEER_MAX];
    char path[STATS_PATH_MAX];
    char query_case[STATS_QUERY_MAX];  /* ?case= */
    char query_agent[STATS_QUERY_MAX]; /* &agent= */
    char user_agent[STATS_UA_MAX];
    char local_close_reason[STATS_REASON_MAX];
    char remote_close_reason[STATS_REASON_MAX];
    char was_not_clean_reason[STATS_NOTE_MAX];
    char deflate_offer[STATS_OFFER_MAX];      /* the extension headers */
    char deflate_response[STATS_GRANTED_MAX]; /* what we granted; "" if none */
    char tls_version[16];
    char tls_cipher[48];
    /* 3.0: the opening handshake both ways, and the wire log. */
    char key[STATS_KEY_MAX];   /* the request's Sec-WebSocket-Key */
    uint32_t request_cap;      /* room for the request after the record */
    uint32_t request_len;      /* bytes of the request head kept there */
    uint8_t request_truncated; /* the head was longer than request_cap */
    uint8_t response_truncated;
    uint16_t response_len;
    uint32_t wire_cap;    /* wire entries after the request's room */
    uint32_t wire_tail;   /* of which the last ones form a ring */
    uint64_t wire_n;      /* entries logged in all (more than wire_cap: some
                             between the first and the ring's are lost) */
    uint64_t wire_rf;     /* 1 + the number of the entry of the frame being
                             received, whose head its payload fills; 0: none */
    uint64_t wire_merged; /* entries among wire_n that stand for two rows
                             (4.0: a read or a write shared a frame's) */
    uint32_t wire_last;   /* 1 + the slot of the last entry logged; 0: none
                             (4.0, the writer's: which entry a read or a
                             write may share) */
    uint8_t local_close_reason_len;  /* 4.1: the reasons' lengths: a */
    uint8_t remote_close_reason_len; /* peer's may hold NUL bytes */
    uint16_t reserved_wire;
    char response[STATS_RESPONSE_MAX]; /* our response head, as sent */
    /* Then request_cap bytes of the request head as read (rounded up
     * to a cache line with the record), and wire_cap struct stats_wire:
     * see stats_case_request and stats_case_wire. */
};

struct stats_shm_header {
    uint32_t magic;
    uint16_t version_major;
    uint16_t version_minor;
    uint32_t header_bytes;         /* sizeof(struct stats_shm_header) */
    uint32_t slot_bytes;           /* sizeof(struct stats_shm_slot) */
    uint32_t case_bytes;           /* sizeof(struct stats_case) */
    uint32_t n_slots;              /* worker slots after the header */
    uint32_t n_cases;              /* case records after the slots */
    uint32_t cases_per_slot;       /* each slot writes its own partition */
    _Atomic uint64_t last_case_id; /* case numbers handed out so far */
    _Atomic uint64_t peak_active;  /* most connections open at once */
    uint64_t started_ms;           /* master start, Unix time in ms */
    uint32_t banks; /* slots and records form this many equal banks, one
                       per generation of workers alive at once (1.2) */
    uint32_t reserved0;
    uint32_t request_cap; /* each record's room for the request head (3.0) */
    uint32_t wire_cap;    /* and for wire log entries (3.0) */
    uint64_t reserved[7];
};

_Static_assert(sizeof(struct stats_shm_header) == 128, "frozen layout");
_Static_assert(sizeof(struct stats_shm_slot) % 64 == 0, "cache lines");
/* New counters take reserved words: a minor version keeps the slot size. */
_Static_assert(sizeof(struct stats_shm_slot) == 768, "frozen slot size");
/* Whole cache lines: a record and a request room of whole lines put the
 * wire log right after them. */
_Static_assert(sizeof(struct stats_case) % 64 == 0, "aligned records");

/* Where a record's request head and wire log live (after the record). */
static inline size_t
stats_case_wire_offset(uint32_t request_cap)
{
    /* On a cache line of its own, as each entry then is (4.0). */
    return (sizeof(struct stats_case) + (size_t)request_cap + 63) & ~(size_t)63;
}

static inline uint8_t *
stats_case_request(struct stats_case *c)
{
    return (uint8_t *)(c + 1);
}

static inline struct stats_wire *
stats_case_wire(struct stats_case *c)
{
    return (struct stats_wire *)(void *)((uint8_t *)c + stats_case_wire_offset(
                                                            c->request_cap));
}

/*
 * Where entry `number` of the wire log sits (number < wire_n, wire_tail >
 * 0): the first wire_cap entries in order; past them, the last wire_tail
 * slots are a ring that takes entry number at head + (number - head) mod
 * wire_tail. Records size their ring as a power of two, so that the
 * worker's path masks rather than divides once a log has run over.
 */
static inline uint64_t
stats_wire_slot(const struct stats_case *c, uint64_t number)
{
    uint64_t tail = c->wire_tail;
    uint64_t first = c->wire_cap - tail; /* where the ring begins */

    if (number < c->wire_cap) {
        return number;
    }
    return first + ((tail & (tail - 1)) == 0 ? (number - first) & (tail - 1)
                                             : (number - first) % tail);
}

/* A record with request_cap and wire_cap's room after it: its stride. */
size_t stats_case_bytes(uint32_t request_cap, uint32_t wire_cap);

/*
 * The k-th wire entry of the log as kept (k < stats_wire_kept(c)), in
 * order: the first ones as they came, then, once the log has run over,
 * the last wire_tail. *gap_before is the number of entries lost just
 * before this one (0 but at the ring's first).
 */
uint64_t stats_wire_kept(const struct stats_case *c);
const struct stats_wire *stats_wire_at(const struct stats_case *c, uint64_t k,
                                       uint64_t *gap_before);

/* The master's handle on the mapping (never a pointer into it in shm). */
struct stats_shm {
    struct stats_shm_header *hdr;
    struct stats_shm_slot *slots;
    unsigned char *cases; /* n_cases records, case_bytes apart */
    unsigned n_slots;     /* as mapped: the master trusts these, not hdr */
    unsigned n_cases;
    unsigned cases_per_slot;
    uint32_t request_cap; /* each record's room for the request head */
    uint32_t wire_cap;    /* and for wire entries */
    size_t case_bytes;    /* stats_case_bytes(request_cap, wire_cap) */
    unsigned banks;       /* 1, or 2 when a reload's workers get their own */
    size_t map_bytes;
};

/* What a segment holds. */
struct stats_shm_size {
    unsigned n_slots;     /* worker slots */
    unsigned n_cases;     /* records, about: see stats_shm_create */
    uint32_t request_cap; /* bytes of each record's request head */
    uint32_t wire_cap;    /* wire log entries of each record */
};

/*
 * Maps a segment for n_slots workers and about n_cases records (rounded
 * up so each slot gets an equal partition of at least one; n_cases 0 makes
 * no record at all, leaving only the slots' counters), shared with
 * children forked later. Returns 0, or -1 with errno set.
 */
int stats_shm_create(struct stats_shm *shm, const struct stats_shm_size *size,
                     uint64_t now_ms);

/*
 * Declares the segment split into banks equal banks of slots and records,
 * one per generation of workers (the master's, after create). banks must
 * divide n_slots; 0 is taken as 1.
 */
void stats_shm_set_banks(struct stats_shm *shm, unsigned banks);

/* Unmaps the segment (in the master, at exit). */
void stats_shm_destroy(struct stats_shm *shm);

/* Slot i, or NULL when i is out of range. */
struct stats_shm_slot *stats_shm_slot(const struct stats_shm *shm, unsigned i);

/* Record i of the segment (i < n_cases: unchecked, for the writer and
 * for tests; readers use stats_case_read). */
struct stats_case *stats_shm_case(const struct stats_shm *shm, size_t i);

/* Writer side (a worker, for its own slot) --------------------------------*/

/*
 * Makes the records of slot's partition resident and mapped in this
 * process now (a worker, at its start), instead of page by page at each
 * record's first use: in a fresh worker that first use is three page
 * faults of shared memory inside a handshake. Returns 0, or -1 with errno
 * (EINVAL: a kernel before Linux 5.14, without MADV_POPULATE_WRITE; the
 * pages then come at first use, as before).
 */
int stats_shm_populate(const struct stats_shm *shm, unsigned slot);

/*
 * Counts the records of slot's partition in use (a worker, at its start,
 * before its first stats_case_start): what stats_case_start and
 * stats_case_stop keep up to date from then on, whatever the worker
 * before it in the slot left.
 */
void stats_shm_recount(const struct stats_shm *shm, unsigned slot);

/* Adds n to a counter of the caller's own slot: plain load and store. */
static inline void
stats_add(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_store_explicit(
        counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
        memory_order_relaxed);
}

/*
 * Starts case `id` in a free or closed record of slot's partition (never
 * one still in use). Returns the record, opened for writing (see
 * stats_case_begin), or NULL when every record of the partition is in
 * use (counted in the slot's `unrecorded`) or when there are no records
 * (not counted: recording is off). A full partition is known from the
 * slot's in_use, without a search: a worker holding more connections than
 * records pays nothing for each one it cannot record.
 */
struct stats_case *stats_case_start(const struct stats_shm *shm, unsigned slot,
                                    uint64_t id);

/*
 * Marks r closed (inside begin/end, as the last change of its case): it
 * may be started again. c is the counters of the slot it was started in.
 */
void stats_case_stop(struct stats_case *r, struct stats_counters *c);

/* Brackets changes to a record: readers retry while one is open. */
static inline void
stats_case_begin(struct stats_case *r)
{
    uint32_t s = atomic_load_explicit(&r->seq, memory_order_relaxed);
    atomic_store_explicit(&r->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static inline void
stats_case_end(struct stats_case *r)
{
    uint32_t s = atomic_load_explicit(&r->seq, memory_order_relaxed);
    atomic_store_explicit(&r->seq, s + 1, memory_order_release);
}

/* stats_octets_add's search and its new sizes. */
void stats_octets_add_other(struct stats_octets *o, uint64_t n);

/* Counts one read or write of n bytes (inside begin/end). */
static inline void
stats_octets_add(struct stats_octets *o, uint64_t n)
{
    uint32_t last = o->last;

    /* Runs of one size are the rule: the size counted last first. */
    if (last < o->n && last < STATS_OCTET_SIZES && o->size[last] == n) {
        o->count[last]++;
        return;
    }
    stats_octets_add_other(o, n);
}

/* Copies a string into a record field of size cap, NUL-terminated, cut
 * between characters (ws_utf8_cut) when too long. */
void stats_copy(char *dst, size_t cap, const char *src, size_t len);

/* Reader side (the master) -------------------------------------------------*/

/*
 * Copies record i into out (shm->case_bytes of room) without tearing, with
 * the room after it as the reader mapped it (request_cap, wire_cap and
 * the lengths within them are bounded by what this process knows, never
 * taken from the segment alone). A record its writer is changing is
 * waited for, some 100 ms at most (the writer may be stopped inside the
 * change, for a while when its CPU is taken). Returns false when it is
 * free, or when it kept changing all that time (out is then undefined):
 * a record once seen (stats_case_peek) is never free again, so false
 * then says it was busy.
 */
bool stats_case_read(const struct stats_shm *shm, unsigned i,
                     struct stats_case *out);

/* What stats_case_peek found. */
enum stats_peek {
    STATS_PEEK_FREE, /* never used, or i out of range */
    STATS_PEEK_BUSY, /* kept changing as long as stats_case_read waits */
    STATS_PEEK_SEEN, /* *id and key are the record's */
};

/*
 * Record i's id and Sec-WebSocket-Key, without copying the rest: what a
 * search through every record needs. A busy record is not a free one:
 * it may be the one searched for.
 */
enum stats_peek stats_case_peek(const struct stats_shm *shm, unsigned i,
                                uint64_t *id, char key[STATS_KEY_MAX]);

/* Called with the index of each record stats_shm_worker_died closed. */
typedef void stats_shm_closed_fn(void *arg, unsigned record);

/*
 * A worker in slot died: every record of its partition still open becomes
 * closed, dropped, unclean, "worker died" (and closed(arg, index) is
 * called for it, unless closed is NULL), and its counters are settled
 * (active to 0; each lost connection counted unopened when its record
 * was still in the opening handshake, else unclean; each lost WebSocket's
 * length, from its start to now_ms, in the histogram duration_ms). Only the
 * master calls this, after reaping the worker and before its replacement
 * starts. Returns the number of records finalised.
 */
unsigned stats_shm_worker_died(const struct stats_shm *shm, unsigned slot,
                               uint64_t now_ms, stats_shm_closed_fn *closed,
                               void *arg);

/* Folds every slot's counters into *sum (plain values). */
struct stats_totals {
    uint64_t accepted, active, peak;
    uint64_t refused[STATS_STATUS_N];
    uint64_t rx_messages, tx_messages, rx_frames, tx_frames;
    uint64_t rx_octets, tx_octets;
    uint64_t close_sent[STATS_CLOSE_N], close_received[STATS_CLOSE_N];
    uint64_t clean, unclean, unrecorded;
    uint64_t wrong_protocol[STATS_WRONG_N];
    uint64_t unopened;
    uint64_t tls_failed, deflate;
    uint64_t timeouts[STATS_TIMEOUT_N];
    uint64_t duration_ms[STATS_DURATION_BUCKETS], duration_ms_sum;
    uint64_t rx_message_bytes[STATS_SIZE_BUCKETS], rx_message_bytes_sum;
    uint64_t tx_message_bytes[STATS_SIZE_BUCKETS], tx_message_bytes_sum;
    uint64_t case_log_write_errors;
    uint64_t tls;
};
void stats_counters_read(const struct stats_counters *c,
                         struct stats_totals *out);
void stats_totals_add(struct stats_totals *sum, const struct stats_totals *t);

/* The bucket of v among bounds[0..n_bounds) (sorted, ascending):
 * n_bounds when v is above them all. Inline: a call in the recording
 * functions would make them save registers for every message. */
static inline unsigned
stats_bucket(const uint64_t *bounds, unsigned n_bounds, uint64_t v)
{
    unsigned i = 0;
    while (i < n_bounds && v > bounds[i]) {
        i++;
    }
    return i;
}

/* One value into a histogram of counters: its bucket among bounds[0..
 * n_bounds), and its sum. */
static inline void
stats_observe(_Atomic uint64_t *buckets, _Atomic uint64_t *sum,
              const uint64_t *bounds, unsigned n_bounds, uint64_t v)
{
    stats_add(&buckets[stats_bucket(bounds, n_bounds, v)], 1);
    stats_add(sum, v);
}

/* Index into close_sent/close_received for a close code. */
unsigned stats_close_index(unsigned code);

/* Index into refused for an HTTP status. */
unsigned stats_status_index(unsigned status);

#endif

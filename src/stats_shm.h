/* SPDX-License-Identifier: MIT */
/*
 * The shared-memory segment: mapped by the master before it forks, written
 * by workers (each only its own slot), read by the master. A versioned
 * header and one slot per worker; no pointers inside, no locks (a dead
 * worker cannot leave one held). Not here: JSON, libevent.
 */
#ifndef WSD_STATS_SHM_H
#define WSD_STATS_SHM_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#define STATS_SHM_MAGIC         0x73647377u /* "wsds" */
#define STATS_SHM_VERSION_MAJOR 1
#define STATS_SHM_VERSION_MINOR 0

struct stats_shm_header {
    uint32_t magic;
    uint16_t version_major;
    uint16_t version_minor;
    uint32_t header_bytes; /* sizeof(struct stats_shm_header) */
    uint32_t slot_bytes;   /* sizeof(struct stats_shm_slot) */
    uint32_t n_slots;      /* worker slots that follow the header */
    uint32_t reserved0;
    uint64_t started_ms; /* master start, Unix time in ms */
    uint64_t reserved[4];
};

/* Written by one worker (and by the master between two workers' lives). */
struct stats_shm_slot {
    _Atomic int32_t pid;           /* 0 while no worker runs in the slot */
    _Atomic uint32_t generation;   /* workers started in this slot so far */
    _Atomic uint64_t heartbeat_ms; /* worker's last sign of life, Unix ms */
    _Atomic uint64_t accepted;     /* connections accepted, this worker */
    _Atomic uint64_t active;       /* connections open now */
    uint64_t reserved[12];
};

_Static_assert(sizeof(struct stats_shm_header) == 64, "frozen layout");
_Static_assert(sizeof(struct stats_shm_slot) == 128, "frozen layout");

struct stats_shm {
    struct stats_shm_header *hdr;
    struct stats_shm_slot *slots;
    size_t map_bytes;
};

/*
 * Maps a segment for n_slots workers, shared with children forked later.
 * Returns 0, or -1 with errno set (mmap's).
 */
int stats_shm_create(struct stats_shm *shm, unsigned n_slots, uint64_t now_ms);

/* Unmaps the segment (in the master, at exit). */
void stats_shm_destroy(struct stats_shm *shm);

/* Slot i, or NULL when i is out of range. */
struct stats_shm_slot *stats_shm_slot(const struct stats_shm *shm, unsigned i);

#endif

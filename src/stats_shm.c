/* SPDX-License-Identifier: MIT */
/*
 * The shared segment: one anonymous shared mapping made before fork.
 */
#include "autoconf.h"

#include "stats_shm.h"

#include <string.h>
#include <sys/mman.h>

int
stats_shm_create(struct stats_shm *shm, unsigned n_slots, uint64_t now_ms)
{
    size_t bytes = sizeof(struct stats_shm_header) +
                   (size_t)n_slots * sizeof(struct stats_shm_slot);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return -1;
    }
    /* A fresh anonymous mapping is zero-filled: every slot starts empty. */
    shm->hdr = p;
    shm->slots = (struct stats_shm_slot *)(shm->hdr + 1);
    shm->map_bytes = bytes;
    shm->hdr->magic = STATS_SHM_MAGIC;
    shm->hdr->version_major = STATS_SHM_VERSION_MAJOR;
    shm->hdr->version_minor = STATS_SHM_VERSION_MINOR;
    shm->hdr->header_bytes = sizeof(struct stats_shm_header);
    shm->hdr->slot_bytes = sizeof(struct stats_shm_slot);
    shm->hdr->n_slots = n_slots;
    shm->hdr->started_ms = now_ms;
    return 0;
}

void
stats_shm_destroy(struct stats_shm *shm)
{
    if (shm->hdr != NULL) {
        munmap(shm->hdr, shm->map_bytes);
    }
    memset(shm, 0, sizeof(*shm));
}

struct stats_shm_slot *
stats_shm_slot(const struct stats_shm *shm, unsigned i)
{
    /* The header lives in memory workers can write: trust only the size
     * this process mapped (PITFALLS: bounds-check every index). */
    size_t n = (shm->map_bytes - sizeof(struct stats_shm_header)) /
               sizeof(struct stats_shm_slot);
    return i < n ? &shm->slots[i] : NULL;
}

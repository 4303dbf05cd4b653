/* SPDX-License-Identifier: MIT */
/*
 * OpenSSL's allocations: malloc and free, and the cache of large blocks
 * (record buffers) that tls_memory.h describes. Owns that cache.
 */
#include "autoconf.h"

#include "tls_memory.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

struct kept {
    void *p;
    size_t size; /* malloc_usable_size */
};

/* The process's cache: OpenSSL's hooks are process-wide. */
static struct kept cache[TLS_MEMORY_KEEP];
static unsigned n_cached;
static struct tls_memory_counts counts;

void *
tls_memory_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    if (n >= TLS_MEMORY_MIN_BYTES) {
        /* The block freed last that fits without wasting more than a
         * quarter (the read and write buffers differ fourfold). */
        for (unsigned i = n_cached; i-- > 0;) {
            if (cache[i].size >= n && cache[i].size - n <= n / 4) {
                void *p = cache[i].p;
                cache[i] = cache[--n_cached];
                counts.reused++;
                return p;
            }
        }
    }
    return malloc(n);
}

void
tls_memory_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    if (p == NULL) {
        return;
    }
    size_t size = malloc_usable_size(p);
    if (size < TLS_MEMORY_MIN_BYTES) {
        free(p);
        return;
    }
    /* Full: the block kept longest goes, since the next requests are
     * most likely for the sizes freed last. */
    if (n_cached == TLS_MEMORY_KEEP) {
        free(cache[0].p);
        memmove(cache, cache + 1, sizeof(cache[0]) * --n_cached);
    }
    cache[n_cached++] = (struct kept){p, size};
    counts.kept++;
}

bool
tls_memory_install(void)
{
    return CRYPTO_set_mem_functions(tls_memory_malloc, NULL, tls_memory_free) ==
           1;
}

struct tls_memory_counts
tls_memory_counts(void)
{
    return counts;
}

void
tls_memory_release(void)
{
    while (n_cached > 0) {
        free(cache[--n_cached].p);
    }
}

/* SPDX-License-Identifier: MIT */
/*
 * OpenSSL's memory in a wsd process: the allocation functions OpenSSL
 * calls (CRYPTO_set_mem_functions), which are malloc, realloc and free
 * but for a short cache of OpenSSL's record buffers. With
 * SSL_MODE_RELEASE_BUFFERS a connection gives its read buffer (64 KiB of
 * read-ahead) and its write buffer (17 KiB) back each time they are empty
 * and asks for them again at its next record: two large allocations and
 * two frees per echo, which glibc serves from its bins, past its
 * per-thread cache, at about 300 instructions each. Kept here instead,
 * the same few blocks go from one connection to the next, still hot in
 * the CPU's cache, while an idle connection holds none.
 *
 * The hooks are the process's (OpenSSL has one set), and so is the cache
 * this module owns: wsd's processes are single-threaded. At most
 * TLS_MEMORY_KEEP blocks are kept, each of TLS_MEMORY_MIN_BYTES or more.
 */
#ifndef WSD_TLS_MEMORY_H
#define WSD_TLS_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Blocks kept for OpenSSL's next requests (a worker's busy moment needs
 * one read and one write buffer at a time). */
#define TLS_MEMORY_KEEP      4
/* The smallest block kept: record buffers are 16 KiB and more, the rest
 * of OpenSSL's allocations much smaller. */
#define TLS_MEMORY_MIN_BYTES 4096

/*
 * Gives OpenSSL this module's functions. Must come before OpenSSL's
 * first allocation (the first thing main does); returns false when it
 * came too late, and OpenSSL then keeps calling malloc and free.
 */
bool tls_memory_install(void);

/* What the cache did since the process started (for tests and tools). */
struct tls_memory_counts {
    uint64_t reused; /* requests served from the cache */
    uint64_t kept;   /* blocks put in it */
};
struct tls_memory_counts tls_memory_counts(void);

/* The functions OpenSSL is given, for tests (its realloc stays its own,
 * which calls these for a NULL block and a size of 0). */
void *tls_memory_malloc(size_t n, const char *file, int line);
void tls_memory_free(void *p, const char *file, int line);

/* Frees every block the cache holds (a test's end; valgrind's). */
void tls_memory_release(void);

#endif

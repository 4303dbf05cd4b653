/* SPDX-License-Identifier: MIT */
/*
 * OpenSSL's allocation functions (src/tls_memory.c): a large block freed
 * is kept and handed back for the next request it fits, small ones go
 * back to malloc, the cache keeps the blocks freed last, and OpenSSL,
 * given the functions before its first allocation, calls them.
 */
#include "autoconf.h"

#include "tls_memory.h"

#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

#include "tap.h"

#define FILE_LINE __FILE__, __LINE__

int
main(void)
{
    /* First of all, as in wsd's main: nothing has allocated yet. */
    ok(tls_memory_install(), "OpenSSL takes the functions before its first "
                             "allocation");
    CRYPTO_malloc_fn m;
    CRYPTO_realloc_fn r;
    CRYPTO_free_fn f;
    CRYPTO_get_mem_functions(&m, &r, &f);
    ok(m == tls_memory_malloc && f == tls_memory_free,
       "OpenSSL's malloc and free are ours");
    ok(r == CRYPTO_realloc, "its realloc stays its own");

    struct tls_memory_counts c0 = tls_memory_counts();
    char *small = tls_memory_malloc(100, FILE_LINE);
    memset(small, 's', 100);
    tls_memory_free(small, FILE_LINE);
    struct tls_memory_counts c1 = tls_memory_counts();
    is_int((long long)(c1.kept - c0.kept), 0, "a small block is not kept");

    /* A write buffer's size, kept and handed back. */
    char *a = tls_memory_malloc(17000, FILE_LINE);
    memset(a, 'a', 17000);
    tls_memory_free(a, FILE_LINE);
    is_int((long long)(tls_memory_counts().kept - c1.kept), 1,
           "a large block is kept");
    char *b = tls_memory_malloc(17000, FILE_LINE);
    ok(b == a, "and handed back for the same size");
    is_int((long long)(tls_memory_counts().reused - c1.reused), 1,
           "counted as reused");
    memset(b, 'b', 17000);

    /* What fits: no smaller than asked, no more than a quarter larger. */
    tls_memory_free(b, FILE_LINE);
    char *big = tls_memory_malloc(65536, FILE_LINE);
    ok(big != b, "a 17,000-byte block is not given for 65,536");
    char *quarter = tls_memory_malloc(4096, FILE_LINE);
    ok(quarter != b, "nor for 4,096 (four times too large)");
    char *close = tls_memory_malloc(16000, FILE_LINE);
    ok(close == b, "but for 16,000");
    memset(big, 'g', 65536);
    memset(quarter, 'q', 4096);
    memset(close, 'c', 16000);
    tls_memory_free(big, FILE_LINE);
    tls_memory_free(quarter, FILE_LINE);
    tls_memory_free(close, FILE_LINE);
    ok(tls_memory_malloc(65536, FILE_LINE) == big,
       "the read buffer's size finds its block among others");
    tls_memory_free(big, FILE_LINE);
    tls_memory_release();

    /* Full: the block kept longest goes back to malloc. */
    char *blocks[TLS_MEMORY_KEEP + 1];
    for (size_t i = 0; i <= TLS_MEMORY_KEEP; i++) {
        blocks[i] = tls_memory_malloc(8192, FILE_LINE);
    }
    for (size_t i = 0; i <= TLS_MEMORY_KEEP; i++) {
        tls_memory_free(blocks[i], FILE_LINE);
    }
    bool last_kept = true;
    for (size_t i = 0; i < TLS_MEMORY_KEEP; i++) {
        char *p = tls_memory_malloc(8192, FILE_LINE);
        /* Freed last, handed out first. */
        last_kept = last_kept && p == blocks[TLS_MEMORY_KEEP - i];
        blocks[TLS_MEMORY_KEEP - i] = p;
    }
    ok(last_kept, "the %d blocks freed last are kept, newest first",
       TLS_MEMORY_KEEP);
    struct tls_memory_counts c3 = tls_memory_counts();
    char *fresh = tls_memory_malloc(8192, FILE_LINE);
    ok(tls_memory_counts().reused == c3.reused,
       "the cache is then empty: the next block is malloc's");
    blocks[0] = fresh;
    for (size_t i = 0; i <= TLS_MEMORY_KEEP; i++) {
        tls_memory_free(blocks[i], FILE_LINE);
    }
    tls_memory_free(NULL, FILE_LINE);

    /* OpenSSL's own calls come here: its realloc too, through ours. */
    struct tls_memory_counts c2 = tls_memory_counts();
    char *o = OPENSSL_malloc(20000);
    memset(o, 'o', 20000);
    o = OPENSSL_realloc(o, 30000);
    ok(o != NULL && o[19999] == 'o', "OpenSSL's realloc keeps the bytes");
    OPENSSL_free(o);
    char *z = OPENSSL_realloc(NULL, 5000);
    ok(z != NULL, "its realloc of nothing allocates");
    ok(OPENSSL_realloc(z, 0) == NULL, "and of size 0 frees");
    ok(tls_memory_counts().kept - c2.kept == 2,
       "both large blocks OpenSSL freed were kept (%llu)",
       (unsigned long long)(tls_memory_counts().kept - c2.kept));
    tls_memory_release();
    return tap_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * The seed replayer: runs LLVMFuzzerTestOneInput of the target it is linked
 * with over every file named on the command line, or in a directory named
 * there (not recursively, in sorted order), and prints TAP, one `ok` per
 * file. A broken invariant aborts the program, which the TAP driver
 * reports as a failure. With no arguments it replays the seed corpus of
 * the surface it was built for (FUZZ_SURFACE), found under $WSD_SRCDIR
 * (the source tree, "." if unset): that is how `make check` runs it, with
 * any compiler and no libFuzzer.
 */
#include "autoconf.h"

#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define PATH_BYTES 4096

static unsigned n_tests;

/* Reads the file at path into a heap block of its exact size (1 if empty). */
static uint8_t *
read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        goto out_close;
    }
    buf = malloc(len > 0 ? (size_t)len : 1);
    if (buf != NULL && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
        goto out_close;
    }
    *size = (size_t)len;
out_close:
    fclose(f);
    return buf;
}

/* Runs one input; label is the name TAP gives it. */
static int
run_file(const char *path, const char *label)
{
    size_t size = 0;
    uint8_t *data = read_file(path, &size);

    n_tests++;
    if (data == NULL) {
        printf("not ok %u - %s: %s\n", n_tests, label, strerror(errno));
        return -1;
    }
    /* Flush first: if the input crashes, its name is already out. */
    printf("# %s (%zu bytes)\n", label, size);
    fflush(stdout);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    printf("ok %u - %s\n", n_tests, label);
    return 0;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int
skip_dot(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/*
 * Runs every file in dir; TAP names them label/<name>, so that a corpus
 * found through $WSD_SRCDIR shows as corpus/<surface>/<name>.
 */
static int
run_dir(const char *dir, const char *label)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, skip_dot, by_name);
    int rc = 0;

    if (n < 0) {
        n_tests++;
        printf("not ok %u - %s: %s\n", n_tests, dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[PATH_BYTES];
        char name[PATH_BYTES];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        snprintf(name, sizeof(name), "%s/%s", label, names[i]->d_name);
        if (run_file(path, name) != 0) {
            rc = -1;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int
main(int argc, char **argv)
{
    int rc = 0;

    if (argc < 2) {
        const char *srcdir = getenv("WSD_SRCDIR");
        char dir[PATH_BYTES];
        snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s",
                 srcdir != NULL ? srcdir : ".", FUZZ_SURFACE);
        rc = run_dir(dir, "corpus/" FUZZ_SURFACE) == 0 ? 0 : 1;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int r = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)
                    ? run_dir(argv[i], argv[i])
                    : run_file(argv[i], argv[i]);
        if (r != 0) {
            rc = 1;
        }
    }
    printf("1..%u\n", n_tests);
    return rc;
}

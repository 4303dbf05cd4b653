/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the configuration parser: the input as a whole
 * configuration file, read by config_load_file from an anonymous memory
 * file (memfd, opened again through /proc/self/fd), so that nothing touches
 * the disk and runs cannot collide; then config_set with the input cut at
 * its first NUL or space into directive name and value. Either must
 * succeed or leave a NUL-terminated, non-empty error message.
 */
#include "autoconf.h"

#include "fuzz.h"

#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

static void
check_error(int rc, const char *err)
{
    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc == -1) {
        size_t n = strnlen(err, CONFIG_ERROR_MAX);
        FUZZ_CHECK(n > 0 && n < CONFIG_ERROR_MAX);
    }
}

/* The memory file, made once per process and rewritten for each input. */
static int
memory_file(char *path, size_t cap)
{
    static int fd = -1;

    if (fd == -1) {
        fd = memfd_create("wsd-fuzz-config", MFD_CLOEXEC);
        FUZZ_CHECK(fd != -1);
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

static void
check_load_file(const uint8_t *data, size_t size)
{
    struct config cfg;
    char path[64];
    char err[CONFIG_ERROR_MAX];
    int fd = memory_file(path, sizeof(path));

    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    FUZZ_CHECK(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);
    config_init(&cfg);
    check_error(config_load_file(&cfg, path, err), err);
}

static void
check_set(const uint8_t *data, size_t size)
{
    struct config cfg;
    char err[CONFIG_ERROR_MAX];
    size_t cut = 0;
    char *name;
    char *value;

    while (cut < size && data[cut] != '\0' && data[cut] != ' ') {
        cut++;
    }
    /* Exactly sized copies, so that ASan sees a read past either end. */
    name = malloc(cut + 1);
    value = malloc(size - cut + 1);
    FUZZ_CHECK(name != NULL && value != NULL);
    memcpy(name, data, cut);
    name[cut] = '\0';
    if (cut < size) {
        memcpy(value, data + cut + 1, size - cut - 1);
    }
    value[cut < size ? size - cut - 1 : 0] = '\0';
    config_init(&cfg);
    check_error(config_set(&cfg, name, value, err), err);
    free(name);
    free(value);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_load_file(data, size);
    check_set(data, size);
    return 0;
}

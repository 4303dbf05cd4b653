/* SPDX-License-Identifier: MIT */
/*
 * SO_REUSEPORT listeners, one per worker slot. Runs in the master only.
 */
#include "autoconf.h"

#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define LISTENER_BACKLOG 511

static int
open_one(const struct sockaddr_storage *ss, socklen_t len, const char *text)
{
    int one = 1;
    int fd =
        socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        log_errno(LOG_LEVEL_ERROR, "socket(%s)", text);
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1) {
        log_errno(LOG_LEVEL_ERROR, "setsockopt(%s, SO_REUSEPORT)", text);
        goto fail_close_fd;
    }
    if (ss->ss_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1) {
        log_errno(LOG_LEVEL_ERROR, "setsockopt(%s, IPV6_V6ONLY)", text);
        goto fail_close_fd;
    }
    if (bind(fd, (const struct sockaddr *)ss, len) == -1) {
        log_errno(LOG_LEVEL_ERROR, "bind(%s)", text);
        goto fail_close_fd;
    }
    if (listen(fd, LISTENER_BACKLOG) == -1) {
        log_errno(LOG_LEVEL_ERROR, "listen(%s)", text);
        goto fail_close_fd;
    }
    return fd;
fail_close_fd:
    close(fd);
    return -1;
}

uint16_t
listener_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
        return 0;
    }
    if (ss.ss_family == AF_INET) {
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    if (ss.ss_family == AF_INET6) {
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return 0;
}

int
listener_open(const struct config_addr *addr, unsigned n, int *fds)
{
    struct sockaddr_storage ss = addr->ss;

    for (unsigned i = 0; i < n; i++) {
        fds[i] = -1;
    }
    for (unsigned i = 0; i < n; i++) {
        fds[i] = open_one(&ss, addr->len, addr->text);
        if (fds[i] == -1) {
            listener_close(fds, n);
            return -1;
        }
        if (i == 0) {
            /* Port 0: the clones must bind the port the kernel chose. */
            uint16_t port = htons(listener_port(fds[0]));
            if (ss.ss_family == AF_INET) {
                ((struct sockaddr_in *)&ss)->sin_port = port;
            } else {
                ((struct sockaddr_in6 *)&ss)->sin6_port = port;
            }
        }
    }
    return 0;
}

void
listener_close(int *fds, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (fds[i] != -1) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
}

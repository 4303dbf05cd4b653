/* SPDX-License-Identifier: MIT */
/*
 * Process habits of a Unix daemon: titles, detaching, the pidfile,
 * privileges, the descriptor limit and sd_notify.
 */
#include "autoconf.h"

#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char *title_start; /* argv[0]; NULL until process_title_init */
static size_t title_room; /* contiguous bytes of argv and environ */
static int daemon_ready_fd = -1;

void
process_title_init(int argc, char **argv)
{
    char *end;
    size_t n = 0;

    if (argc < 1 || argv[0] == NULL) {
        return;
    }
    end = argv[0] + strlen(argv[0]) + 1;
    for (int i = 1; i < argc && argv[i] == end; i++) {
        end = argv[i] + strlen(argv[i]) + 1;
    }
    while (environ[n] != NULL) {
        n++;
    }
    /* The environment usually lies right after the arguments: move it to
     * the heap and take its room too. */
    char **env = calloc(n + 1, sizeof(*env));
    if (env == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (environ[i] == end) {
            end = environ[i] + strlen(environ[i]) + 1;
        }
        env[i] = strdup(environ[i]);
        if (env[i] == NULL) {
            /* No room for titles then: environ stays where it was. */
            while (i > 0) {
                free(env[--i]);
            }
            free(env);
            return;
        }
    }
    environ = env;
    title_start = argv[0];
    title_room = (size_t)(end - argv[0]);
}

void
process_title_set(const char *fmt, ...)
{
    char title[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(title, sizeof(title), fmt, ap);
    va_end(ap);
    prctl(PR_SET_NAME, title);
    if (title_start != NULL && title_room > 1) {
        memset(title_start, 0, title_room);
        memcpy(title_start, title,
               strlen(title) < title_room - 1 ? strlen(title) : title_room - 1);
    }
}

static void
write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w == -1 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return;
        }
        p += w;
        len -= (size_t)w;
    }
}

/*
 * The starting process, until the daemon is ready or gone: copies what
 * the daemon reports to stderr, then exits 0 at the NUL byte that means
 * "ready", or with the daemon's own status when it died starting.
 */
static void
daemon_parent_wait(int fd, pid_t pid)
{
    char buf[4096];
    bool reported = false;
    int status;

    for (;;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r == -1 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        const char *nul = memchr(buf, '\0', (size_t)r);
        size_t n = nul != NULL ? (size_t)(nul - buf) : (size_t)r;
        write_all(STDERR_FILENO, buf, n);
        reported = reported || n > 0;
        if (nul != NULL) {
            _exit(0);
        }
    }
    /* End of file without the NUL: the daemon is exiting. */
    while (waitpid(pid, &status, 0) == -1) {
        if (errno != EINTR) {
            fprintf(stderr, "wsd: the daemon stopped before it was ready\n");
            _exit(2);
        }
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr,
                "wsd: the daemon was killed by signal %d before it was "
                "ready\n",
                WTERMSIG(status));
        _exit(128 + WTERMSIG(status));
    }
    int code = WEXITSTATUS(status);
    if (!reported || code == 0) {
        fprintf(stderr,
                "wsd: the daemon exited with status %d before it was ready\n",
                code);
    }
    /* 0 would tell the caller that wsd runs. */
    _exit(code != 0 ? code : 2);
}

int
process_daemonize(void)
{
    int p[2];

    if (pipe2(p, O_CLOEXEC) == -1) {
        return -1;
    }
    /* Inherited SIG_IGN would reap the daemon unseen: its status is the
     * starting process's own. */
    (void)signal(SIGCHLD, SIG_DFL);
    pid_t pid = fork();
    if (pid == -1) {
        int saved = errno;
        close(p[0]);
        close(p[1]);
        errno = saved;
        return -1;
    }
    if (pid > 0) {
        close(p[1]);
        daemon_parent_wait(p[0], pid);
    }
    close(p[0]);
    daemon_ready_fd = p[1];
    setsid();
    if (chdir("/") == -1) {
        return -1;
    }
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null != -1) {
        dup2(null, STDIN_FILENO);
        close(null);
    }
    return 0;
}

void
process_daemon_report(const char *line, size_t len)
{
    if (daemon_ready_fd != -1) {
        write_all(daemon_ready_fd, line, len);
    }
}

void
process_daemon_ready(void)
{
    if (daemon_ready_fd == -1) {
        return;
    }
    write_all(daemon_ready_fd, "", 1);
    close(daemon_ready_fd);
    daemon_ready_fd = -1;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null != -1) {
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close(null);
    }
}

int
process_check_writable(const char *what, const char *path, char *err,
                       size_t errlen)
{
    int fd =
        open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd != -1) {
        close(fd);
        return 0;
    }
    if (errno == ENOENT) {
        /* Its directory: "." for a bare name, "/" for one at the root. */
        char dir[4096] = ".";
        const char *slash = strrchr(path, '/');
        if (slash != NULL) {
            size_t len = slash == path ? 1 : (size_t)(slash - path);
            len = len < sizeof(dir) ? len : sizeof(dir) - 1;
            memcpy(dir, path, len);
            dir[len] = '\0';
        }
        if (access(dir, W_OK | X_OK) == 0) {
            return 0;
        }
    }
    snprintf(err, errlen, "%s: %s: %s", what, path, strerror(errno));
    return -1;
}

int
process_pidfile_open(const char *path, char *err, size_t errlen)
{
    char buf[32];

    /* A file that another wsd removes between our open and our lock is
     * not ours: try again with the one now at path. */
    for (int attempt = 0; attempt < 3; attempt++) {
        struct stat a;
        struct stat b;
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd == -1) {
            snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
            int saved = errno;
            ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
            close(fd);
            buf[n > 0 ? n : 0] = '\0';
            buf[strcspn(buf, "\r\n")] = '\0';
            if (saved == EWOULDBLOCK) {
                snprintf(err, errlen,
                         "pidfile %s: locked by a running wsd (pid %s)", path,
                         buf[0] != '\0' ? buf : "unknown");
            } else {
                snprintf(err, errlen, "pidfile %s: flock: %s", path,
                         strerror(saved));
            }
            return -1;
        }
        if (fstat(fd, &a) == -1 || stat(path, &b) == -1 ||
            a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
            close(fd);
            continue;
        }
        /* The pid goes over the old content, then the rest is cut: a
         * reader never finds the file empty, and its first line is always
         * a whole pid. */
        int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
        if (pwrite(fd, buf, (size_t)n, 0) != n ||
            ftruncate(fd, (off_t)n) == -1) {
            snprintf(err, errlen, "pidfile %s: write: %s", path,
                     strerror(errno));
            unlink(path);
            close(fd);
            return -1;
        }
        return fd;
    }
    snprintf(err, errlen, "pidfile %s: replaced while being locked", path);
    return -1;
}

void
process_pidfile_remove(const char *path, int fd)
{
    if (fd != -1) {
        unlink(path);
        close(fd);
    }
}

int
process_drop_privileges(const char *user, uid_t uid, gid_t gid)
{
    if ((user != NULL ? initgroups(user, gid) : setgroups(0, NULL)) == -1 ||
        setgid(gid) == -1 || setuid(uid) == -1) {
        return -1;
    }
    /* No way back: a process that could regain root did not drop it. */
    if (uid != 0 && setuid(0) == 0) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

int
process_raise_nofile(uint64_t need, uint64_t *got)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
        *got = 0;
        return -1;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        struct rlimit want = rl;
        want.rlim_cur = (rlim_t)need;
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
            want.rlim_max = (rlim_t)need; /* only a privileged process can */
        }
        if (setrlimit(RLIMIT_NOFILE, &want) == -1) {
            want.rlim_cur = rl.rlim_max;
            want.rlim_max = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &want);
        }
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    *got = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
    return *got >= need ? 0 : -1;
}

int
process_notify(const char *state)
{
    const char *name = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sun;
    size_t len;

    if (name == NULL || name[0] == '\0') {
        return 0;
    }
    len = strlen(name);
    if ((name[0] != '/' && name[0] != '@') || len >= sizeof(sun.sun_path)) {
        errno = EINVAL;
        return -1;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, name, len);
    if (name[0] == '@') {
        sun.sun_path[0] = '\0'; /* an abstract socket */
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        return -1;
    }
    ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
                       (const struct sockaddr *)&sun,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
                                   len + (name[0] == '/')));
    int saved = errno;
    close(fd);
    errno = saved;
    return n == (ssize_t)strlen(state) ? 0 : -1;
}

/* SPDX-License-Identifier: MIT */
/*
 * wsd's configuration: every directive, its default and its limits in one
 * table, set from a file (`directive value` lines) and from the command
 * line (`--directive value`) through the same setter, later settings
 * overriding earlier ones. Values are checked when set, the rules that
 * join directives once all are (config_finish); every problem goes back
 * to the caller as text, to log or print.
 */
#ifndef WSD_CONFIG_H
#define WSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define CONFIG_PATH_MAX     256
#define CONFIG_TOKEN_MAX    256
#define CONFIG_FILE_MAX     1024
/* A problem that names files names all of them: two of the longest names
 * (a key and its certificate), and room for the words around them. */
#define CONFIG_ERROR_MAX    (2 * CONFIG_FILE_MAX + 128)
#define CONFIG_LINE_MAX     1024
#define CONFIG_WORKERS_MAX  256
#define CONFIG_NAME_MAX     64
/* The directives (config.c's table). */
#define CONFIG_N_DIRECTIVES 42

/* What wsd says when it picks syslog for a daemon (log_syslog_default). */
#define CONFIG_LOG_SYSLOG_DEFAULT                                              \
    "daemon on with log stderr: the log goes to syslog (a daemon's stderr "    \
    "is /dev/null; set log to choose a file)"

struct config_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[64]; /* as given, e.g. "127.0.0.1:8888" or "[::1]:8888" */
};

struct config {
    struct config_addr listen;       /* the WebSocket endpoint */
    char path[CONFIG_PATH_MAX];      /* its path; others get 404 */
    unsigned workers;                /* worker processes; 0 until resolved */
    bool workers_auto;               /* one per online CPU */
    uint64_t max_connections;        /* per worker; more get 503 */
    uint64_t max_message_bytes;      /* reassembled message payload */
    uint64_t max_frame_bytes;        /* one frame's payload */
    uint64_t max_handshake_bytes;    /* request line and headers */
    uint64_t max_headers;            /* header lines of the request */
    uint64_t handshake_timeout_ms;   /* accept to end of opening handshake */
    uint64_t close_timeout_ms;       /* wait for the peer's close or EOF */
    uint64_t write_high_water_bytes; /* pending output that pauses reading */
    int log_level;                   /* enum log_level */
    bool deflate;                    /* accept permessage-deflate */
    uint64_t deflate_level;          /* zlib compression level 0-9 */
    uint64_t deflate_mem_level;      /* zlib memLevel 1-9 */
    uint64_t deflate_min_bytes;      /* shorter messages go uncompressed */
    uint64_t deflate_server_max_window_bits; /* 9-15 */
    uint64_t deflate_client_max_window_bits; /* 9-15 */
    bool deflate_server_no_context_takeover; /* always, not only if asked */
    bool deflate_client_no_context_takeover; /* always ask it of clients */
    uint64_t stats_cases;                    /* case records kept */
    uint64_t case_request_bytes;             /* request head kept per record */
    uint64_t case_wirelog;              /* wire log entries kept per record */
    struct config_addr admin_listen;    /* len 0: admin endpoint off */
    uint64_t admin_output_bytes;        /* unread answers held, in all */
    char admin_token[CONFIG_TOKEN_MAX]; /* "" : no token required */
    char admin_token_file[CONFIG_FILE_MAX]; /* a file holding the token */
    struct config_addr tls_listen;          /* the wss:// endpoint */
    bool tls_listen_given; /* tls_listen was set, not left at its default */
    char tls_certificate[CONFIG_FILE_MAX];     /* PEM chain; "": TLS off */
    char tls_certificate_key[CONFIG_FILE_MAX]; /* PEM private key */
    uint64_t idle_timeout_ms;      /* no message from the peer; 0: off */
    uint64_t ping_interval_ms;     /* peer silence that earns a ping; 0: off */
    uint64_t pong_timeout_ms;      /* silence after our ping that closes */
    uint64_t shutdown_timeout_ms;  /* drain on SIGQUIT and reload */
    uint64_t close_window;         /* paced closes under way, all workers */
    bool daemon;                   /* detach from the terminal */
    char pidfile[CONFIG_FILE_MAX]; /* "": none */
    char user[CONFIG_NAME_MAX];    /* workers' user; "": unchanged */
    char group[CONFIG_NAME_MAX];   /* workers' group; "": user's */
    char log[CONFIG_FILE_MAX];     /* "stderr", "syslog" or a path */
    bool log_syslog_default;       /* daemon with log stderr: syslog chosen */
    char access_log[CONFIG_FILE_MAX]; /* "off" or a path */
    char case_log[CONFIG_FILE_MAX];   /* "off" or a path: a JSON line per
                                         closed case (case_log.h) */
    uid_t uid;                        /* user, resolved by config_finish */
    gid_t gid;                        /* group, or the user's */
    /* Where each directive was last set, for config_locate: 1 + the
     * index among config_build's items of the file that set it (0: its
     * default or the command line), and the line in that file. */
    uint32_t set_item[CONFIG_N_DIRECTIVES];
    uint32_t set_line[CONFIG_N_DIRECTIVES];
};

/*
 * Where a configuration comes from, in order: files (name NULL, value the
 * file name) and `--name value` settings. Later items override earlier
 * ones. The master keeps the list to build the configuration anew on
 * reload. A relative file name, of a file to load or in a file directive
 * (tls_certificate, pidfile, log, ...), is taken from dir: the directory
 * wsd was started in, so that a reload after a daemon's chdir("/") finds
 * the same files as start-up did.
 */
struct config_item {
    const char *name; /* directive, or NULL: value is a file to load */
    const char *value;
    const char *dir; /* absolute; NULL: the current directory */
};

/* Fills cfg with the built-in defaults. */
void config_init(struct config *cfg);

/*
 * Sets directive name (`-` and `_` are interchangeable) from value. A
 * relative file name is made absolute from the current directory. Returns
 * 0, or -1 with "name: problem" in err[0..CONFIG_ERROR_MAX) for an unknown
 * directive or a bad value.
 */
int config_set(struct config *cfg, const char *name, const char *value,
               char *err);

/*
 * Reads directives from the file at path: one `directive value` per line,
 * blank lines and `#` comments ignored, relative file names made absolute
 * from the current directory. Returns 0, or -1 with "path:line: directive:
 * problem" (or "path: reason" when it cannot be read) in
 * err[0..CONFIG_ERROR_MAX).
 */
int config_load_file(struct config *cfg, const char *path, char *err);

/*
 * name as an absolute file name in out[0..CONFIG_FILE_MAX): as it is when
 * it starts with '/', else after dir (NULL: the current directory). Only
 * the text is joined: the file need not exist. Returns 0, or -1 with
 * "name: problem" in err[0..CONFIG_ERROR_MAX).
 */
int config_file_name(const char *name, const char *dir, char *out, char *err);

/*
 * Resolves what depends on several directives, once all are set: `auto`
 * workers (online CPUs), the admin token from admin_token_file, and the
 * rules that join directives: an admin endpoint off loopback needs a
 * token; a daemon logs to syslog when log is stderr (log_syslog_default);
 * TLS needs both tls_certificate and tls_certificate_key, tls_listen is
 * refused without them, no two of the ws://, wss:// and admin endpoints
 * can share a port, user and group must exist (group needs user), and
 * access_log and case_log need records (stats_cases above 0) and a file
 * of their own.
 * Call once, after setting. Returns 0, or -1 with "directive: problem" in
 * err[0..CONFIG_ERROR_MAX). Whether the TLS files can be read is for the
 * TLS transport to find out.
 */
int config_finish(struct config *cfg, char *err);

/*
 * Builds cfg from the built-in defaults, then items[0..n) in order (each
 * with its dir for relative file names), then config_finish. Returns 0,
 * or -1 with the problem in err[0..CONFIG_ERROR_MAX), located (see
 * config_locate) when config_finish finds it.
 */
int config_build(struct config *cfg, const struct config_item *items, size_t n,
                 char *err);

/*
 * Prefixes err, a problem that starts with a directive's name ("user:
 * ...", "log /x: ..."), with the file and line that set that directive
 * in cfg, built from items[0..n) ("/etc/wsd/wsd.conf:12: user: ..."), as
 * a value refused while reading the file is named. Unchanged when the
 * directive was not set in a file (its default, or the command line), or
 * err starts otherwise (it is already located, for one).
 */
void config_locate(const struct config *cfg, const struct config_item *items,
                   size_t n, char *err);

/*
 * Compares a reload's configuration with the running one: 0 when next can
 * replace cur, or -1 with "directive: ..." in err[0..CONFIG_ERROR_MAX)
 * for the first directive that only a restart can change (workers,
 * stats_cases, daemon, pidfile).
 */
int config_reloadable(const struct config *cur, const struct config *next,
                      char *err);

/* True when a is a loopback address (127.0.0.0/8 or ::1). */
bool config_addr_is_loopback(const struct config_addr *a);

/* True when a is the wildcard address of its family (0.0.0.0 or ::). */
bool config_addr_is_wildcard(const struct config_addr *a);

/*
 * Whether sockets on a and b would take the same connections: the same
 * family and port (not 0, which the kernel replaces with a free port), and
 * the same address or a wildcard on either side.
 */
bool config_addr_overlaps(const struct config_addr *a,
                          const struct config_addr *b);

/* Whether wss:// is served: a certificate is configured. */
bool config_tls_is_on(const struct config *cfg);

/*
 * Prints "wsd: directive file" to stdout for each directive that names a
 * file (tls_certificate, pidfile, log, ...), with its absolute name.
 */
void config_print_files(const struct config *cfg);

/* Prints every directive with its default and description to stdout. */
void config_print_help(void);

#endif

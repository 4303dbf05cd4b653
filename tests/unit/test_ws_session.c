/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for ws_session: one table of client byte streams, each fed
 * whole, one byte at a time and at random splits, whose events are written
 * down as a compact transcript that must be the same however TCP splits the
 * input; then the public calls one by one (our close, message headers, idle,
 * clear) and large messages reassembled byte for byte. The tables run
 * twice: as the server's input, and mirrored as a client's (the same
 * frames unmasked, the unmasked ones masked, every reply of the session
 * unmasked from the fresh key it must carry), so that every frame rule
 * is held to both roles.
 */
#include "autoconf.h"

#include "ws_session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "split.h"
#include "tap.h"
#include "zlib_peer.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Limits of a case that leaves them 0: enough for the largest test. */
#define DEFAULT_LIMIT_BYTES (UINT64_C(4) << 20)
/* Size of every transcript buffer; appendf() writes into no other. */
#define TEXT_MAX            4096

/*
 * Masking keys for the frames the tests build, used in turn; the first is
 * the one of RFC 6455 §5.7.
 */
static const uint8_t keys[][4] = {
    {0x37, 0xfa, 0x21, 0x3d},
    {0xa1, 0xb2, 0xc3, 0xd4},
    {0x01, 0x02, 0x03, 0x04},
    {0xde, 0xad, 0xbe, 0xef},
};

/*
 * The input of a case is a list of pieces. A piece is either raw bytes
 * written out by hand, or a frame that frame_put() assembles from its first
 * byte (FIN, RSV, opcode) and its clear payload, or the point where the
 * server starts the closing handshake itself.
 */
enum piece_kind {
    P_END,      /* ends the list */
    P_RAW,      /* data[0..len) as is */
    P_FRAME,    /* masked frame b0 carrying data[0..len) */
    P_UNMASKED, /* the same frame without a mask */
    P_HEADER,   /* the masked header of frame b0 claiming claim bytes */
    P_CUT,      /* masked frame b0 claiming claim bytes, data[0..len) of
                   them sent: the peer abandons it midway */
    P_CLOSE,    /* here the server calls ws_session_close(1001, "bye") */
};

struct piece {
    uint8_t kind;
    uint8_t b0;
    const char *data;
    size_t len;
    uint64_t claim;
};

/* Kept on one line each, which clang-format would spread over four. */
/* clang-format off */
#define RAW(s)          {P_RAW, 0, (s), sizeof(s) - 1, 0}
#define FRAME(b0, s)    {P_FRAME, (b0), (s), sizeof(s) - 1, 0}
#define UNMASKED(b0, s) {P_UNMASKED, (b0), (s), sizeof(s) - 1, 0}
#define HEADER(b0, n)   {P_HEADER, (b0), "", 0, (n)}
#define CUT(b0, s, n)   {P_CUT, (b0), (s), sizeof(s) - 1, (n)}
#define OUR_CLOSE       {P_CLOSE, 0, "", 0, 0}
/* clang-format on */

/* ws_session_close(1001, "bye"): 88 05 03 e9 'b' 'y' 'e'. */
#define SENT             "SENT>880503e9627965;"
/* Our close frame for a failure: 88, length, the code, a reason. */
/* After a failure the session still delimits frames, to see the peer's
 * close; it is CLOSED at once (_CLOSED) when the bad frame's header gave
 * it no end, and when the bad frame was the peer's close itself (_PEER:
 * the event says so, ",peer", and nothing more is awaited). */
#define FAIL_1002        "FAIL:1002>88..03ea+reason;END:CLOSING"
#define FAIL_1002_CLOSED "FAIL:1002>88..03ea+reason;END:CLOSED"
#define FAIL_1002_PEER   "FAIL:1002>88..03ea+reason,peer;END:CLOSED"
#define FAIL_1007        "FAIL:1007>88..03ef+reason;END:CLOSING"
#define FAIL_1007_PEER   "FAIL:1007>88..03ef+reason,peer;END:CLOSED"
#define FAIL_1009        "FAIL:1009>88..03f1+reason;END:CLOSING"
#define IDLE             "END:OPEN,idle"

struct sess_case {
    const char *name;
    struct piece in[10];
    uint64_t max_message_bytes; /* 0: DEFAULT_LIMIT_BYTES */
    uint64_t max_frame_bytes;   /* 0: DEFAULT_LIMIT_BYTES */
    size_t fail_at; /* when set: the shortest prefix that must fail */
    const char *want;
    const char *frames;        /* when set: the frame headers reported, as
                                  struct run's frames has them */
    const char *client_frames; /* in the client's role, where its shorter
                                  frames change them */
};

/*
 * Transcript tokens, separated by ';':
 *   MSG<opcode>:<data>           a message
 *   PING:<data>><reply hex>      a ping and the pong to send
 *   PONG:<data>                  a pong
 *   CLOSE:<code>[:<reason>]>...  the peer's close; reply hex, '-' if none
 *   FAIL:<code>>...              88..<code>+reason when the reply is our
 *                                close frame carrying ev->error, '-' if none
 *   SENT>...                     our ws_session_close() frame
 *   END:<state>[,idle|,busy]     after the last byte
 * Data is printed as is, except bytes outside 0x20-0x7e and '\' and ';',
 * which are printed \xHH; data over 64 bytes as <len>#<FNV-1a 64>.
 * Anything the driver finds wrong is a token starting with '!'.
 */
static const struct sess_case cases[] = {
    /* Single-frame messages. */
    {"RFC 6455 5.7 masked Hello",
     {RAW("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58")},
     .want = "MSG1:Hello;" IDLE},
    {"RFC 6455 5.7 masked Pong",
     {RAW("\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58")},
     .want = "PONG:Hello;" IDLE},
    {"masked Hello, built", {FRAME(0x81, "Hello")}, .want = "MSG1:Hello;" IDLE},
    {"binary",
     {FRAME(0x82, "\x00\x01\xfe\xff")},
     .want = "MSG2:\\x00\\x01\\xfe\\xff;" IDLE},
    {"empty text", {FRAME(0x81, "")}, .want = "MSG1:;" IDLE},
    {"empty binary", {FRAME(0x82, "")}, .want = "MSG2:;" IDLE},
    {"binary need not be UTF-8",
     {FRAME(0x82, "\xff\xc0")},
     .want = "MSG2:\\xff\\xc0;" IDLE},
    {"16-bit length, 126 bytes",
     {FRAME(0x81, "0123456789abcdef0123456789abcdef0123456789abcdef"
                  "0123456789abcdef0123456789abcdef0123456789abcdef"
                  "0123456789abcdefXYZ;\\-01234567")},
     /* FNV-1a 64 of the payload, computed apart from wsd. */
     .want = "MSG1:126#2bfe3730a530322e;" IDLE},
    {"several messages in one input",
     {FRAME(0x81, "one"), FRAME(0x82, "two"), FRAME(0x8a, ""),
      FRAME(0x81, "three")},
     .want = "MSG1:one;MSG2:two;PONG:;MSG1:three;" IDLE},

    /* Pings and pongs: the pong is 8a, the length, the payload, unmasked. */
    {"ping", {FRAME(0x89, "Hello")}, .want = "PING:Hello>8a0548656c6c6f;" IDLE},
    {"empty ping", {FRAME(0x89, "")}, .want = "PING:>8a00;" IDLE},
    {"binary ping payload",
     {FRAME(0x89, "\x00\xff;")},
     .want = "PING:\\x00\\xff\\x3b>8a0300ff3b;" IDLE},
    {"pong with payload", {FRAME(0x8a, "abc")}, .want = "PONG:abc;" IDLE},

    /* Fragmentation (§5.4), control frames interleaved. */
    {"fragmented text, ping interleaved",
     {FRAME(0x01, "Hel"), FRAME(0x89, "ping"), FRAME(0x80, "lo")},
     .want = "PING:ping>8a0470696e67;MSG1:Hello;" IDLE},
    {"fragmented binary, ping and pong interleaved",
     {FRAME(0x02, "a"), FRAME(0x8a, "x"), FRAME(0x00, "b"), FRAME(0x89, "y"),
      FRAME(0x80, "c")},
     .want = "PONG:x;PING:y>8a0179;MSG2:abc;" IDLE},
    {"zero-length final continuation",
     {FRAME(0x01, "Hel"), FRAME(0x00, "lo"), FRAME(0x80, "")},
     .want = "MSG1:Hello;" IDLE},
    {"all fragments empty",
     {FRAME(0x01, ""), FRAME(0x00, ""), FRAME(0x80, "")},
     .want = "MSG1:;" IDLE},
    {"empty first fragment",
     {FRAME(0x02, ""), FRAME(0x80, "data")},
     .want = "MSG2:data;" IDLE},
    {"fragmented messages back to back",
     {FRAME(0x01, "ab"), FRAME(0x80, "cd"), FRAME(0x02, "ef"),
      FRAME(0x00, "gh"), FRAME(0x80, "ij"), FRAME(0x81, "kl"), FRAME(0x01, "m"),
      FRAME(0x80, "n")},
     .want = "MSG1:abcd;MSG2:efghij;MSG1:kl;MSG1:mn;" IDLE},
    {"input ends inside a fragmented message",
     {FRAME(0x01, "Hel"), FRAME(0x89, "")},
     .want = "PING:>8a00;END:OPEN,busy"},
    {"input ends inside a frame header",
     {RAW("\x81\x85\x37\xfa")},
     .want = "END:OPEN,busy",
     .frames = "cut:header"},
    {"input ends inside a payload",
     {RAW("\x81\x85\x37\xfa\x21\x3d\x7f\x9f")},
     .want = "END:OPEN,busy",
     .frames = "1F:5 cut:payload"},

    /* Protocol errors (§5.2, §5.4, §5.5): 1002, our close frame, then
     * no event whatever follows (only frame headers, discarded). */
    {"continuation without a start",
     {FRAME(0x80, "lo"), FRAME(0x81, "after")},
     .fail_at = 6,
     .want = FAIL_1002,
     .frames = "0FD:2 1FD:5 "},
    {"non-final continuation without a start",
     {FRAME(0x00, "lo")},
     .fail_at = 6,
     .want = FAIL_1002},
    {"new text during a fragmented message",
     {FRAME(0x01, "Hel"), FRAME(0x81, "lo")},
     .fail_at = 15,
     .want = FAIL_1002},
    {"new binary during a fragmented text",
     {FRAME(0x01, "Hel"), FRAME(0x02, "lo")},
     .fail_at = 15,
     .want = FAIL_1002},
    {"continuation after the message ended",
     {FRAME(0x01, "Hel"), FRAME(0x80, "lo"), FRAME(0x80, "!")},
     .want = "MSG1:Hello;" FAIL_1002},
    {"RSV1 without an extension",
     {FRAME(0xc1, "Hello")},
     .fail_at = 6,
     .want = FAIL_1002},
    {"RSV2", {FRAME(0xa1, "Hello")}, .want = FAIL_1002},
    {"RSV3", {FRAME(0x91, "Hello")}, .want = FAIL_1002},
    {"RSV1 on a ping", {FRAME(0xc9, "")}, .want = FAIL_1002},
    {"RFC 6455 5.7 unmasked Hello",
     {RAW("\x81\x05\x48\x65\x6c\x6c\x6f"), FRAME(0x81, "after")},
     .fail_at = 2,
     .want = FAIL_1002,
     .frames = "1FD:5 1FD:5 "},
    {"unmasked ping", {UNMASKED(0x89, "Hello")}, .want = FAIL_1002},
    {"unmasked close", {UNMASKED(0x88, "")}, .want = FAIL_1002_PEER},
    {"unmasked close with a code",
     {UNMASKED(0x88, "\x03\xe8")},
     .want = FAIL_1002_PEER},
    {"RSV2 on a close", {FRAME(0xa8, "\x03\xe8")}, .want = FAIL_1002_PEER},
    {"RSV1 on a close without an extension",
     {FRAME(0xc8, "")},
     .want = FAIL_1002_PEER},
    {"opcode 0x3", {FRAME(0x83, "")}, .want = FAIL_1002},
    {"opcode 0x4", {FRAME(0x84, "x")}, .want = FAIL_1002},
    {"opcode 0x5", {FRAME(0x85, "")}, .want = FAIL_1002},
    {"opcode 0x6", {FRAME(0x86, "")}, .want = FAIL_1002},
    {"opcode 0x7, not final", {FRAME(0x07, "")}, .want = FAIL_1002},
    {"opcode 0xb", {FRAME(0x8b, "")}, .want = FAIL_1002},
    {"opcode 0xc", {FRAME(0x8c, "")}, .want = FAIL_1002},
    {"opcode 0xd", {FRAME(0x8d, "")}, .want = FAIL_1002},
    {"opcode 0xe", {FRAME(0x8e, "x")}, .want = FAIL_1002},
    {"opcode 0xf", {FRAME(0x8f, "")}, .want = FAIL_1002},
    {"reserved opcode inside a fragmented message",
     {FRAME(0x01, "Hel"), FRAME(0x8b, "")},
     .want = FAIL_1002},
    {"ping of 126 bytes", {HEADER(0x89, 126)}, .want = FAIL_1002},
    {"close of 126 bytes",
     {HEADER(0x88, 126)},
     .want = FAIL_1002_PEER,
     .frames = "8FD:126 cut:payload"},
    {"fragmented ping", {FRAME(0x09, "Hello")}, .want = FAIL_1002},
    {"fragmented close",
     {FRAME(0x08, "")},
     .want = FAIL_1002_PEER,
     .frames = "8D:0 "},
    {"fragmented pong inside a message",
     {FRAME(0x01, "a"), FRAME(0x0a, ""), FRAME(0x80, "b")},
     .want = FAIL_1002},
    {"16-bit length holding 5",
     {RAW("\x81\xfe\x00\x05\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58")},
     .want = FAIL_1002},
    {"64-bit length with the top bit set",
     {RAW("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00\x37\xfa\x21\x3d")},
     .want = FAIL_1002_CLOSED,
     .frames = "2FD:9223372036854775808 cut:payload"},

    /* Order of the wire: a message before a bad frame comes first. */
    {"valid text, then an unmasked frame",
     {FRAME(0x81, "ok"), UNMASKED(0x81, "x")},
     .fail_at = 10,
     .want = "MSG1:ok;" FAIL_1002},
    {"ping, then a reserved opcode",
     {FRAME(0x89, "p"), FRAME(0x83, "")},
     .want = "PING:p>8a0170;" FAIL_1002},

    /* UTF-8 (§8.1): 1007, as soon as the bad byte arrives. */
    {"text 0xff",
     {FRAME(0x81, "ab\xff"
                  "cd")},
     .fail_at = 9,
     .want = FAIL_1007},
    {"text 0xff, first byte",
     {FRAME(0x81, "\xff")},
     .fail_at = 7,
     .want = FAIL_1007},
    {"overlong C0 AF",
     {FRAME(0x81, "a\xc0\xaf"
                  "b")},
     .fail_at = 8,
     .want = FAIL_1007},
    {"surrogate ED A0 80",
     {FRAME(0x81, "\xed\xa0\x80")},
     .fail_at = 8,
     .want = FAIL_1007},
    {"over U+10FFFF, F4 90 80 80",
     {FRAME(0x81, "\xf4\x90\x80\x80")},
     .fail_at = 8,
     .want = FAIL_1007},
    {"F5", {FRAME(0x81, "\xf5\x80\x80\x80")}, .fail_at = 7, .want = FAIL_1007},
    /* After failing, the rest of the bad frame is skipped and the peer's
     * answering close is still seen (no second close from us). */
    {"bad UTF-8 mid-frame, then the peer's close",
     {FRAME(0x81, "ab\xf5\x80\x80"
                  "cdef"),
      FRAME(0x81, "ignored"), FRAME(0x89, "unanswered"),
      FRAME(0x88, "\x03\xef")},
     .want = "FAIL:1007>88..03ef+reason;CLOSE:1007>-;END:CLOSED",
     .frames = "1F:9 1FD:7 9FD:10 8F:2 "},
    {"RSV1 without an extension, then the peer's close",
     {FRAME(0xc1, "Hello"), FRAME(0x88, "\x03\xea"
                                        "bye")},
     .want = "FAIL:1002>88..03ea+reason;CLOSE:1002:bye>-;END:CLOSED"},
    {"a reserved opcode skipped whole, then the peer's close",
     {FRAME(0x83, "payload of an unknown kind"), FRAME(0x88, "\x03\xea")},
     .want = "FAIL:1002>88..03ea+reason;CLOSE:1002>-;END:CLOSED",
     .frames = "3FD:26 8F:2 "},
    {"a ping of 126 bytes skipped whole, then the peer's close",
     {FRAME(0x89, "0123456789abcdef0123456789abcdef0123456789abcdef"
                  "0123456789abcdef0123456789abcdef0123456789abcdef"
                  "0123456789abcdefXYZ;\\-01234567"),
      FRAME(0x88, "\x03\xea")},
     .want = "FAIL:1002>88..03ea+reason;CLOSE:1002>-;END:CLOSED"},
    {"a frame over the limit skipped whole, then the peer's close",
     {FRAME(0x82, "0123456789abcdefXYZ"), FRAME(0x88, "\x03\xf1")},
     .max_frame_bytes = 16,
     .want = "FAIL:1009>88..03f1+reason;CLOSE:1009>-;END:CLOSED",
     .frames = "2FD:19 8F:2 "},
    {"E2 82 then ASCII",
     {FRAME(0x81, "\xe2\x82"
                  "A")},
     .fail_at = 9,
     .want = FAIL_1007},
    {"second fragment begins with 0xff",
     {FRAME(0x01, "abc"), FRAME(0x80, "\xff"
                                      "def")},
     .fail_at = 16,
     .want = FAIL_1007},
    {"sequence broken across fragments",
     {FRAME(0x01, "a\xe2"), FRAME(0x80, "\x82"
                                        "x")},
     .fail_at = 16,
     .want = FAIL_1007},
    {"bad byte in a later non-final fragment",
     {FRAME(0x01, "abc"), FRAME(0x00, "de\xc1"), FRAME(0x80, "f")},
     .fail_at = 18,
     .want = FAIL_1007},
    {"message ends in E2 82",
     {FRAME(0x81, "ab\xe2\x82")},
     .fail_at = 10,
     .want = FAIL_1007},
    {"message ends in F0 9F 98 across fragments",
     {FRAME(0x01, "a\xf0\x9f"), FRAME(0x80, "\x98")},
     .fail_at = 16,
     .want = FAIL_1007},
    {"message ends in E2 then an empty final fragment",
     {FRAME(0x01, "a\xe2"), FRAME(0x80, "")},
     .fail_at = 14,
     .want = FAIL_1007},
    {"valid text, then invalid text",
     {FRAME(0x81, "ok"), FRAME(0x81, "\xff")},
     .fail_at = 15,
     .want = "MSG1:ok;" FAIL_1007},
    {"Autobahn 6.2: kosme",
     {FRAME(0x81, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")},
     .want =
         "MSG1:\\xce\\xba\\xe1\\xbd\\xb9\\xcf\\x83\\xce\\xbc\\xce\\xb5;" IDLE},
    {"U+1F600 split across fragments",
     {FRAME(0x01, "a\xf0\x9f"), FRAME(0x80, "\x98\x80"
                                            "b")},
     .want = "MSG1:a\\xf0\\x9f\\x98\\x80b;" IDLE},
    {"U+1F600 a byte per fragment, ping interleaved",
     {FRAME(0x01, "\xf0"), FRAME(0x00, "\x9f"), FRAME(0x89, "\xff"),
      FRAME(0x00, "\x98"), FRAME(0x80, "\x80")},
     .want = "PING:\\xff>8a01ff;MSG1:\\xf0\\x9f\\x98\\x80;" IDLE},
    {"U+10FFFF and U+FFFF",
     {FRAME(0x81, "\xf4\x8f\xbf\xbf\xef\xbf\xbf")},
     .want = "MSG1:\\xf4\\x8f\\xbf\\xbf\\xef\\xbf\\xbf;" IDLE},
    {"text after a binary is checked afresh",
     {FRAME(0x82, "\xe2"), FRAME(0x81, "\x82")},
     .fail_at = 14,
     .want = "MSG2:\\xe2;" FAIL_1007},

    /* Limits: 1009 as soon as the header tells, before the payload. */
    {"frame of max_frame_bytes",
     {FRAME(0x82, "Hello")},
     .max_frame_bytes = 5,
     .want = "MSG2:Hello;" IDLE},
    {"frame over max_frame_bytes",
     {FRAME(0x82, "Hello!")},
     .max_frame_bytes = 5,
     .fail_at = 6,
     .want = FAIL_1009},
    {"fragment over max_frame_bytes",
     {FRAME(0x01, "Hello"), FRAME(0x80, "World!")},
     .max_frame_bytes = 5,
     .fail_at = 17,
     .want = FAIL_1009},
    {"16-bit header over max_frame_bytes, no payload yet",
     {HEADER(0x82, 2000)},
     .max_frame_bytes = 1000,
     .fail_at = 8,
     .want = FAIL_1009},
    {"64-bit header over max_frame_bytes, no payload yet",
     {HEADER(0x82, UINT64_C(1) << 40)},
     .fail_at = 14,
     .want = FAIL_1009},
    {"message of max_message_bytes in fragments",
     {FRAME(0x01, "Hello"), FRAME(0x80, "World")},
     .max_message_bytes = 10,
     .want = "MSG1:HelloWorld;" IDLE},
    {"message over max_message_bytes across fragments",
     {FRAME(0x01, "Hello"), FRAME(0x89, ""), FRAME(0x80, "World!")},
     .max_message_bytes = 10,
     .fail_at = 23,
     .want = "PING:>8a00;" FAIL_1009},
    {"single frame over max_message_bytes",
     {FRAME(0x81, "Hello")},
     .max_message_bytes = 4,
     .fail_at = 6,
     .want = FAIL_1009},
    {"limits count each message afresh",
     {FRAME(0x01, "Hello"), FRAME(0x80, "World"), FRAME(0x81, "0123456789"),
      FRAME(0x02, "01234"), FRAME(0x80, "56789")},
     .max_message_bytes = 10,
     .want = "MSG1:HelloWorld;MSG1:0123456789;MSG2:0123456789;" IDLE},

    /* The peer's close (§5.5.1, §7.4): echo the code, nothing after. */
    {"empty close",
     {FRAME(0x88, ""), FRAME(0x81, "after")},
     .want = "CLOSE:1005>8800;END:CLOSED",
     .frames = "8F:0 1FD:5 "},
    {"close 1000 with a reason",
     {FRAME(0x88, "\x03\xe8"
                  "bye")},
     .want = "CLOSE:1000:bye>880203e8;END:CLOSED"},
    {"close 1001",
     {FRAME(0x88, "\x03\xe9")},
     .want = "CLOSE:1001>880203e9;END:CLOSED"},
    {"close 1003",
     {FRAME(0x88, "\x03\xeb")},
     .want = "CLOSE:1003>880203eb;END:CLOSED"},
    {"close 1007",
     {FRAME(0x88, "\x03\xef")},
     .want = "CLOSE:1007>880203ef;END:CLOSED"},
    {"close 1014",
     {FRAME(0x88, "\x03\xf6")},
     .want = "CLOSE:1014>880203f6;END:CLOSED"},
    {"close 3000",
     {FRAME(0x88, "\x0b\xb8")},
     .want = "CLOSE:3000>88020bb8;END:CLOSED"},
    {"close 4999 with a UTF-8 reason",
     {FRAME(0x88, "\x13\x87\xce\xba"), FRAME(0x89, "after")},
     .want = "CLOSE:4999:\\xce\\xba>88021387;END:CLOSED"},
    {"close inside a fragmented message",
     {FRAME(0x01, "Hel"), FRAME(0x88, "\x03\xe8"), FRAME(0x80, "lo")},
     .want = "CLOSE:1000>880203e8;END:CLOSED",
     .frames = "1:3 8F:2 0FD:2 "},
    {"close payload of one byte",
     {FRAME(0x88, "\x03")},
     .want = FAIL_1002_PEER},
    {"close code 0", {FRAME(0x88, "\x00\x00")}, .want = FAIL_1002_PEER},
    {"close code 999", {FRAME(0x88, "\x03\xe7")}, .want = FAIL_1002_PEER},
    {"close code 1004", {FRAME(0x88, "\x03\xec")}, .want = FAIL_1002_PEER},
    {"close code 1005",
     {FRAME(0x88, "\x03\xed")},
     .want = FAIL_1002_PEER,
     .frames = "8F:2 "},
    {"close code 1006", {FRAME(0x88, "\x03\xee")}, .want = FAIL_1002_PEER},
    {"close code 1015", {FRAME(0x88, "\x03\xf7")}, .want = FAIL_1002_PEER},
    {"close code 1016", {FRAME(0x88, "\x03\xf8")}, .want = FAIL_1002_PEER},
    {"close code 2999", {FRAME(0x88, "\x0b\xb7")}, .want = FAIL_1002_PEER},
    {"close code 5000", {FRAME(0x88, "\x13\x88")}, .want = FAIL_1002_PEER},
    {"close code 65535", {FRAME(0x88, "\xff\xff")}, .want = FAIL_1002_PEER},
    {"close reason not UTF-8",
     {FRAME(0x88, "\x03\xe8\xff")},
     .want = FAIL_1007_PEER},
    {"close reason ends in E2 82",
     {FRAME(0x88, "\x03\xe8"
                  "a\xe2\x82")},
     .want = FAIL_1007_PEER},

    /* Our close first (§7.1.2): CLOSING discards data frames, answers no
     * ping, and the peer's close ends it without a reply. */
    {"our close, then the peer's",
     {OUR_CLOSE, FRAME(0x88, "\x03\xe9")},
     .want = SENT "CLOSE:1001>-;END:CLOSED"},
    {"our close, then the peer's empty close",
     {OUR_CLOSE, FRAME(0x88, ""), FRAME(0x81, "after")},
     .want = SENT "CLOSE:1005>-;END:CLOSED"},
    {"our close, data and pings discarded",
     {OUR_CLOSE, FRAME(0x81, "Hello"), FRAME(0x89, "ping"), FRAME(0x8a, "pong"),
      FRAME(0x82, "bin"), FRAME(0x88, "\x03\xe8")},
     .want = SENT "CLOSE:1000>-;END:CLOSED",
     .frames = "1FD:5 9FD:4 aFD:4 2FD:3 8F:2 "},
    {"our close, no answer yet",
     {OUR_CLOSE, FRAME(0x81, "Hello")},
     .want = SENT "END:CLOSING,idle",
     .frames = "1FD:5 "},
    {"our close, unmasked frame",
     {OUR_CLOSE, UNMASKED(0x81, "x")},
     .want = SENT "FAIL:1002>-;END:CLOSED",
     .frames = "1FD:1 "},
    {"our close, bad close code",
     {OUR_CLOSE, FRAME(0x88, "\x03\xed")},
     .want = SENT "FAIL:1002>-,peer;END:CLOSED"},
    {"our close, frames over the limits discarded",
     {OUR_CLOSE, FRAME(0x82, "Hello"), FRAME(0x88, "")},
     .max_frame_bytes = 2,
     .max_message_bytes = 2,
     .want = SENT "CLOSE:1005>-;END:CLOSED"},
    {"our close inside a fragmented message",
     {FRAME(0x01, "Hel"), OUR_CLOSE, FRAME(0x80, "lo"), FRAME(0x88, "")},
     .want = SENT "CLOSE:1005>-;END:CLOSED",
     .frames = "1:3 0FD:2 8F:0 "},
    /* The peer may start or finish messages until it sees our close. */
    {"our close, then a fragmented message",
     {OUR_CLOSE, FRAME(0x01, "Hel"), FRAME(0x80, "lo"), FRAME(0x88, "")},
     .want = SENT "CLOSE:1005>-;END:CLOSED"},
    {"our close inside a message, then another message",
     {FRAME(0x01, "Hel"), OUR_CLOSE, FRAME(0x80, "lo"), FRAME(0x81, "x"),
      FRAME(0x88, "")},
     .want = SENT "CLOSE:1005>-;END:CLOSED"},

    /* Every frame that arrives is reported, and the ones not processed
     * say so (D): after a close, or refused; where the input ends inside
     * a frame, the run says so (cut:). */
    {"Autobahn 7.1.x: frames after the peer's close",
     {FRAME(0x81, "Hello"), FRAME(0x88, "\x03\xe8"), FRAME(0x81, "after"),
      FRAME(0x89, "ping"), FRAME(0x01, "frag"), FRAME(0x80, "ment"),
      FRAME(0x88, "")},
     .want = "MSG1:Hello;CLOSE:1000>880203e8;END:CLOSED",
     .frames = "1F:5 8F:2 1FD:5 9FD:4 1D:4 0FD:4 8FD:0 "},
    {"after the peer's close, headers are delimited, not judged",
     {FRAME(0x88, ""), FRAME(0x83, "xy"), UNMASKED(0x81, "z"),
      FRAME(0x49, "rsv"), HEADER(0x89, 200)},
     .want = "CLOSE:1005>8800;END:CLOSED",
     .frames = "8F:0 3FD:2 1FD:1 9RD:3 9FD:200 cut:payload"},
    {"after the peer's close, a length with its top bit set",
     {FRAME(0x88, ""),
      RAW("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00\x37\xfa\x21\x3d"),
      FRAME(0x88, "")},
     .want = "CLOSE:1005>8800;END:CLOSED",
     .frames = "8F:0 2FD:9223372036854775808 cut:payload"},
    {"Autobahn 7.3.6: a close of 126 bytes, then a frame",
     {FRAME(0x88, "\x03\xe8"
                  "*******************************"
                  "*******************************"
                  "*******************************"
                  "*******************************"),
      FRAME(0x81, "x")},
     .want = FAIL_1002_PEER,
     .frames = "8FD:126 1FD:1 "},
    {"after a failure and the peer's close, frames still delimited",
     {FRAME(0xc1, "Hello"), FRAME(0x82, "bin"), FRAME(0x88, "\x03\xea"),
      FRAME(0x81, "late")},
     .want = "FAIL:1002>88..03ea+reason;CLOSE:1002>-;END:CLOSED",
     .frames = "1FRD:5 2FD:3 8F:2 1FD:4 "},
    {"our close, the peer's, then more",
     {OUR_CLOSE, FRAME(0x81, "x"), FRAME(0x88, ""), FRAME(0x89, "p")},
     .want = SENT "CLOSE:1005>-;END:CLOSED",
     .frames = "1FD:1 8F:0 9FD:1 "},
    /* A ping half gathered when we close: its rest is skipped, and the
     * peer's close is gathered afresh. */
    {"our close inside a ping, then the peer's close",
     {CUT(0x89, "ab", 4), OUR_CLOSE, RAW("cd"), FRAME(0x88, "\x03\xe8")},
     .want = SENT "CLOSE:1000>-;END:CLOSED",
     .frames = "9F:4 8F:2 "},
    /* Autobahn 6.4.4: after our 1007 the peer gives up the frame and
     * sends its close, which fills the rest of the frame's length. */
    {"Autobahn 6.4.4: a frame abandoned midway, a close inside it",
     {CUT(0x81, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90", 21),
      FRAME(0x88, "\x03\xe8")},
     .fail_at = 19,
     .want = FAIL_1007,
     .frames = "1F:21 ",
     /* Unmasked, the close fills 4 of the 8 bytes left. */
     .client_frames = "1F:21 cut:payload"},
    {"a frame abandoned midway, then the end of the input",
     {CUT(0x81, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90", 21)},
     .fail_at = 19,
     .want = FAIL_1007,
     .frames = "1F:21 cut:payload"},
};

/*
 * The role the tables run in. As the client's, frames are mirrored: a
 * FRAME comes unmasked, an UNMASKED one masked, and raw bytes, written
 * for the server, are not run.
 */
static bool client_role;

/* How a client's input differs from the server's layout of the same
 * frames: at server offset `at` (a key's end, or an unmasked header's),
 * 4 bytes fewer or more. */
struct shift {
    size_t at;
    int delta;
};
#define SHIFTS_MAX 16

/* An input under construction. */
struct input {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t close_at; /* where we close, SIZE_MAX: never */
    unsigned n_frames;
    size_t server_len; /* the same frames' length in the server's layout */
    struct shift shifts[SHIFTS_MAX];
    unsigned n_shifts;
};

static void
input_init(struct input *in)
{
    memset(in, 0, sizeof(*in));
    in->close_at = SIZE_MAX;
}

static uint8_t *
input_grow(struct input *in, size_t more)
{
    if (in->len + more > in->cap) {
        size_t cap = in->cap * 2 + more + 64;
        uint8_t *p = realloc(in->p, cap);
        if (p == NULL) {
            abort();
        }
        in->p = p;
        in->cap = cap;
    }
    in->len += more;
    return in->p + in->len - more;
}

static void
input_put(struct input *in, const void *p, size_t len)
{
    uint8_t *dst = input_grow(in, len);
    if (len > 0) {
        memcpy(dst, p, len);
    }
}

/*
 * Appends a client frame laid out by hand after RFC 6455 §5.2: b0, then
 * MASK and a 7-bit length, or 126 and 16 bits, or 127 and 64 bits (network
 * order), then the key and payload[0..len) XORed with it (§5.3). claim is
 * the length the header states; it may differ from len to build frames
 * that are cut short.
 */
static void
frame_put(struct input *in, uint8_t b0, const uint8_t *key,
          const uint8_t *payload, size_t len, uint64_t claim)
{
    uint8_t h[14];
    size_t n = 0;
    uint8_t mask_bit = key != NULL ? 0x80 : 0;

    h[n++] = b0;
    if (claim < 126) {
        h[n++] = (uint8_t)(mask_bit | claim);
    } else if (claim <= 0xffff) {
        h[n++] = (uint8_t)(mask_bit | 126);
        h[n++] = (uint8_t)(claim >> 8);
        h[n++] = (uint8_t)claim;
    } else {
        h[n++] = (uint8_t)(mask_bit | 127);
        for (int shift = 56; shift >= 0; shift -= 8) {
            h[n++] = (uint8_t)(claim >> shift);
        }
    }
    if (key != NULL) {
        memcpy(h + n, key, 4);
        n += 4;
    }
    input_put(in, h, n);

    uint8_t *dst = input_grow(in, len);
    for (size_t i = 0; i < len; i++) {
        dst[i] = key != NULL ? (uint8_t)(payload[i] ^ key[i % 4]) : payload[i];
    }
    in->n_frames++;
}

/* A piece's frame header, unmasked: 2, 4 or 10 bytes. */
static size_t
header_size(uint64_t claim)
{
    return claim < 126 ? 2 : claim <= 0xffff ? 4 : 10;
}

/*
 * Appends the frame of a piece that the server's layout masks (masked)
 * or not, in the layout of the role the tables run in, and notes where
 * a client's layout departs from the server's.
 */
static void
piece_frame(struct input *in, const struct piece *pc, bool masked,
            const uint8_t *payload, size_t len)
{
    const uint8_t *key = keys[in->n_frames % NELEM(keys)];
    size_t hdr = header_size(pc->claim);
    bool mask_it = client_role ? !masked : masked;

    if (client_role && in->n_shifts < SHIFTS_MAX) {
        /* A dropped key shifts what follows its end; an added one what
         * follows the end of the header it lengthens. */
        struct shift sh = {in->server_len + hdr + (masked ? 4 : 0),
                           masked ? -4 : 4};
        in->shifts[in->n_shifts++] = sh;
    }
    in->server_len += hdr + (masked ? 4 : 0) + len;
    frame_put(in, pc->b0, mask_it ? key : NULL, payload, len, pc->claim);
}

/* The offset in this role's layout of server offset `at`. */
static size_t
input_offset(const struct input *in, size_t at)
{
    long shift = 0;

    for (unsigned i = 0; i < in->n_shifts; i++) {
        if (in->shifts[i].at <= at) {
            shift += in->shifts[i].delta;
        }
    }
    return (size_t)((long)at + shift);
}

/* A case's name, as the client's when the tables run in its role. */
static const char *
role_name(const char *name)
{
    static char buf[256];

    if (!client_role) {
        return name;
    }
    snprintf(buf, sizeof(buf), "client: %s", name);
    return buf;
}

/* True when the case can run in this role (raw bytes are the server's). */
static bool
runs_in_role(const struct piece *pieces, size_t n_pieces)
{
    for (size_t i = 0; i < n_pieces && pieces[i].kind != P_END; i++) {
        if (client_role && pieces[i].kind == P_RAW) {
            return false;
        }
    }
    return true;
}

static void
input_build(struct input *in, const struct piece *pieces, size_t n_pieces)
{
    input_init(in);
    for (size_t i = 0; i < n_pieces && pieces[i].kind != P_END; i++) {
        struct piece pc = pieces[i];
        const uint8_t *data = (const uint8_t *)pc.data;

        switch ((enum piece_kind)pc.kind) {
        case P_END:
            break;
        case P_RAW:
            input_put(in, data, pc.len);
            in->server_len += pc.len;
            break;
        case P_FRAME:
            pc.claim = pc.len;
            piece_frame(in, &pc, true, data, pc.len);
            break;
        case P_UNMASKED:
            pc.claim = pc.len;
            piece_frame(in, &pc, false, data, pc.len);
            break;
        case P_HEADER:
            piece_frame(in, &pc, true, NULL, 0);
            break;
        case P_CUT:
            piece_frame(in, &pc, true, data, pc.len);
            break;
        case P_CLOSE:
            in->close_at = in->len;
            break;
        }
    }
}

/* What one run saw. */
struct run {
    char ev[TEXT_MAX]; /* the transcript */
    size_t ev_len;
    /* The frame headers the events reported, each as <opcode in hex>,
     * F when final, R with RSV bits, D when discarded, ':' and its
     * length, then a space; at the end "cut:header" or "cut:payload"
     * when the input ended inside a frame (ws_session_partial). */
    char frames[TEXT_MAX];
    size_t frames_len;
    bool capture;   /* keep a copy of the last message */
    bool failed;    /* a WS_EV_FAIL was seen */
    size_t max_cap; /* the largest message buffer after any chunk */
    uint8_t *msg;
    size_t msg_len;
    /* What ev.frame_data showed of each frame's payload: a hash of the
     * bytes in order, frame by frame, and whether a part came at another
     * position than where the last one ended. */
    uint64_t payload_hash;
    uint64_t payload_pos;
    bool payload_gap;
    unsigned whole_frames; /* reported with frame_whole */
};

static void __attribute__((format(printf, 3, 4)))
appendf(char *buf, size_t *len, const char *fmt, ...)
{
    size_t cap = TEXT_MAX;
    va_list ap;

    if (*len + 1 >= cap) {
        return;
    }
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        abort();
    }
    *len += (size_t)n;
    if (*len >= cap) {
        *len = cap - 1;
    }
}

#define add(r, ...) appendf((r)->ev, &(r)->ev_len, __VA_ARGS__)

static uint64_t
fnv1a(const uint8_t *p, size_t len)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < len; i++) {
        h = (h ^ p[i]) * UINT64_C(0x100000001b3);
    }
    return h;
}

static void
put_data(char *buf, size_t *len, const uint8_t *p, size_t n)
{
    if (n > 64) {
        appendf(buf, len, "%zu#%016llx", n, (unsigned long long)fnv1a(p, n));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] <= 0x7e && p[i] != '\\' && p[i] != ';') {
            appendf(buf, len, "%c", p[i]);
        } else {
            appendf(buf, len, "\\x%02x", p[i]);
        }
    }
}

/* The masking keys a client's replies carried, to see each is fresh. */
static uint8_t last_key[4];

/*
 * A reply of the session as the peer reads it, into out: a server's is
 * copied as it is and must be unmasked; a client's must be masked
 * (§5.3) with a key unlike the last one, and is unmasked here, so that
 * the transcript is the same in both roles. A reply that breaks this is
 * written down as "!mask".
 */
static size_t
reply_view(struct run *r, const uint8_t *p, size_t n,
           uint8_t out[WS_SESSION_REPLY_MAX])
{
    if (n == 0) {
        return 0;
    }
    if (!client_role) {
        if (n < 2 || (p[1] & 0x80) != 0) {
            add(r, "!mask");
        }
        memcpy(out, p, n);
        return n;
    }
    size_t len = n >= 2 ? p[1] & 0x7f : 0;
    if (n < 6 || (p[1] & 0x80) == 0 || n != 6 + len ||
        memcmp(p + 2, last_key, 4) == 0) {
        add(r, "!mask");
        memcpy(out, p, n);
        return n;
    }
    memcpy(last_key, p + 2, 4);
    out[0] = p[0];
    out[1] = (uint8_t)len;
    memcpy(out + 2, p + 6, len);
    for (size_t i = 0; i < len; i++) {
        out[2 + i] ^= p[2 + i % 4];
    }
    return 2 + len;
}

static void
put_hex(struct run *r, const uint8_t *p, size_t n)
{
    if (n == 0) {
        add(r, "-");
        return;
    }
    if (p == NULL) {
        add(r, "!null");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        add(r, "%02x", p[i]);
    }
}

/* The reply to a failure is our close frame carrying ev->reason, which
 * begins with ev->error.reason. */
static void
put_fail_reply(struct run *r, const struct ws_event *ev)
{
    uint8_t p[WS_SESSION_REPLY_MAX];
    size_t n = reply_view(r, ev->reply, ev->reply_len, p);
    const char *reason = ev->reason;
    const char *rule = ev->error.reason;

    if (rule == NULL || strncmp(reason, rule, strlen(rule)) != 0) {
        add(r, "!reason:%s", reason);
    }
    if (n == 0) {
        add(r, "-");
        return;
    }
    if (reason != NULL && reason[0] != '\0' && n >= 4 && p[0] == 0x88 &&
        p[1] == n - 2 && n - 4 == strlen(reason) &&
        memcmp(p + 4, reason, n - 4) == 0) {
        add(r, "88..%02x%02x+reason", p[2], p[3]);
        return;
    }
    add(r, "!");
    put_hex(r, p, n);
}

static void
record_event(struct run *r, const struct ws_session *s,
             const struct ws_event *ev)
{
    uint8_t reply[WS_SESSION_REPLY_MAX];

    switch (ev->type) {
    case WS_EV_NONE:
        return;
    case WS_EV_MESSAGE:
        add(r, "MSG%u:", ev->opcode);
        put_data(r->ev, &r->ev_len, ev->data, ev->len);
        if (r->capture) {
            free(r->msg);
            r->msg = malloc(ev->len + 1);
            if (r->msg == NULL) {
                abort();
            }
            if (ev->len > 0) {
                memcpy(r->msg, ev->data, ev->len);
            }
            r->msg_len = ev->len;
        }
        break;
    case WS_EV_PING:
        add(r, "PING:");
        put_data(r->ev, &r->ev_len, ev->data, ev->len);
        add(r, ">");
        put_hex(r, reply, reply_view(r, ev->reply, ev->reply_len, reply));
        break;
    case WS_EV_PONG:
        add(r, "PONG:");
        put_data(r->ev, &r->ev_len, ev->data, ev->len);
        break;
    case WS_EV_CLOSE:
        add(r, "CLOSE:%u", ev->close.code);
        if (ev->close.reason_len > 0) {
            add(r, ":");
            put_data(r->ev, &r->ev_len, ev->close.reason, ev->close.reason_len);
        }
        add(r, ">");
        put_hex(r, reply, reply_view(r, ev->reply, ev->reply_len, reply));
        break;
    case WS_EV_FAIL:
        add(r, "FAIL:%u>", ev->error.code);
        put_fail_reply(r, ev);
        if (ev->peer_closed) {
            add(r, ",peer"); /* the bad frame was the peer's close */
        }
        break;
    default:
        add(r, "!type%d", (int)ev->type);
        break;
    }
    if ((ev->type == WS_EV_CLOSE && ws_session_state(s) != WS_SESSION_CLOSED) ||
        (ev->type == WS_EV_FAIL && ws_session_state(s) == WS_SESSION_OPEN)) {
        add(r, "!state%d", (int)ws_session_state(s));
    }
    if (ev->type == WS_EV_FAIL) {
        r->failed = true;
    }
    add(r, ";");
}

static void
frame_seen(struct run *r, const struct ws_event *ev)
{
    const struct ws_frame_header *h = &ev->frame;

    appendf(r->frames, &r->frames_len, "%x%s%s%s:%llu ", h->opcode,
            h->fin ? "F" : "", h->rsv != 0 ? "R" : "",
            ev->frame_discarded ? "D" : "", (unsigned long long)h->payload_len);
}

/* What ev->frame_whole promises: the frame it reports, header and payload
 * (all in frame_data, from 0), was in[0..frame_whole). */
static bool
whole_frame_at(const uint8_t *in, const struct ws_event *ev)
{
    struct ws_frame_header h;
    struct ws_error err;
    ssize_t hdr = ws_frame_header_decode(&h, in, ev->frame_whole, &err);

    return hdr > 0 && (size_t)hdr + h.payload_len == ev->frame_whole &&
           h.payload_len == ev->frame.payload_len &&
           h.opcode == ev->frame.opcode && h.fin == ev->frame.fin &&
           h.rsv == ev->frame.rsv && h.masked == ev->frame.masked &&
           memcmp(h.mask, ev->frame.mask, sizeof(h.mask)) == 0 &&
           ev->frame_data == in + hdr && ev->frame_data_pos == 0 &&
           ev->frame_data_len == h.payload_len && !ev->frame_discarded;
}

/*
 * Feeds one chunk the way conn_process() does: ws_session_feed() until the
 * chunk is consumed, handling each event before the next call. The chunk
 * lives in its own piece (split_piece_new()), scribbled over and freed
 * afterwards, as a read buffer is reused: nothing may point into it later.
 */
static void
feed_chunk(struct ws_session *s, struct run *r, const uint8_t *src, size_t len)
{
    uint8_t *buf = split_piece_new(src, len);
    uint8_t *p = buf;
    size_t n = len;
    unsigned idle_calls = 0;

    while (n > 0) {
        struct ws_event ev;
        bool was_closed = ws_session_state(s) == WS_SESSION_CLOSED;

        memset(&ev, 0xa5, sizeof(ev));
        size_t used = ws_session_feed(s, p, n, &ev);
        if (used > n) {
            add(r, "!overrun;");
            break;
        }
        /* Once CLOSED, frames are only delimited: each call takes bytes,
         * and reports headers, discarded, but no event. */
        if (was_closed &&
            (used == 0 || ev.type != WS_EV_NONE ||
             (ev.has_frame && !ev.frame_discarded) || ev.frame_data != NULL)) {
            add(r, "!after-close;");
        }
        if (ev.has_frame && ev.frame_whole != 0) {
            r->whole_frames++;
            if (!whole_frame_at(p, &ev)) {
                add(r, "!whole;");
            }
        }
        if (ev.has_frame) {
            frame_seen(r, &ev);
            r->payload_hash = (r->payload_hash ^ 0x100) * 1099511628211ULL;
            r->payload_pos = 0;
        }
        if (ev.frame_data != NULL) {
            r->payload_gap |= ev.frame_data_pos != r->payload_pos;
            for (size_t i = 0; i < ev.frame_data_len; i++) {
                r->payload_hash =
                    (r->payload_hash ^ ev.frame_data[i]) * 1099511628211ULL;
            }
            r->payload_pos = ev.frame_data_pos + ev.frame_data_len;
        }
        record_event(r, s, &ev);
        if (used == 0 && ++idle_calls > 2) {
            add(r, "!stall;");
            break;
        }
        p += used;
        n -= used;
    }
    split_piece_free(buf, len);
}

static void
feed_span(struct ws_session *s, struct run *r, const uint8_t *p, size_t len,
          enum split how)
{
    size_t pos = 0;

    while (pos < len) {
        size_t n = split_next(how, len - pos);
        feed_chunk(s, r, p + pos, n);
        if (s->msg_cap > r->max_cap) {
            r->max_cap = s->msg_cap;
        }
        pos += n;
    }
}

/* The server's policy here: level 1, min_bytes 64, 15-bit windows. */
static const struct ws_deflate_config defl_cfg = {
    true, 1, 8, 64, 15, 15, false, false,
};

/* A client's masking keys: each call a new one, no byte of it zero, so
 * that a frame left unmasked or masked twice reads wrong. */
static void
fill_test_key(void *ctx, uint8_t key[4])
{
    uint32_t *n = ctx;
    uint32_t v = ++*n * UINT32_C(2654435761);

    for (int i = 0; i < 4; i++) {
        key[i] = (uint8_t)((v >> (8 * i)) | 1);
    }
}

static uint32_t test_key_count;
static const struct ws_mask_source test_masks = {fill_test_key,
                                                 &test_key_count};

/* How a run sets its session up. */
struct defl_setup {
    bool off; /* no ws_session_use_deflate */
    struct ws_deflate_params params;
};

static void
run_free(struct run *r)
{
    free(r->msg);
    r->msg = NULL;
}

/*
 * Runs in[0..limit) through a new session split as `how` says, calling
 * ws_session_close() at in->close_at, and fills r. With ds (not NULL and
 * not off), permessage-deflate is on.
 */
static void
run_input(struct run *r, const struct input *in, size_t limit,
          const struct ws_session_config *cfg, const struct defl_setup *ds,
          enum split how)
{
    struct ws_session s;
    size_t close_at = in->close_at < limit ? in->close_at : limit;
    bool capture = r->capture;

    run_free(r);
    memset(r, 0, sizeof(*r));
    r->capture = capture;
    if (client_role) {
        ws_session_init_client(&s, cfg, &test_masks);
    } else {
        ws_session_init(&s, cfg);
    }
    if (ds != NULL && !ds->off) {
        struct ws_deflate_params p = ds->params;
        if (client_role) {
            /* The peer is the server: its parameters are the other pair. */
            p.server_no_context_takeover =
                ds->params.client_no_context_takeover;
            p.client_no_context_takeover =
                ds->params.server_no_context_takeover;
            p.server_max_window_bits = ds->params.client_max_window_bits;
            p.client_max_window_bits = ds->params.server_max_window_bits;
        }
        ws_session_use_deflate(&s, &defl_cfg, &p);
    }

    feed_span(&s, r, in->p, close_at, how);
    if (in->close_at <= limit) {
        struct ws_event ev;
        if (ws_session_close(&s, 1001, "bye", &ev)) {
            uint8_t reply[WS_SESSION_REPLY_MAX];
            add(r, "SENT>");
            put_hex(r, reply, reply_view(r, ev.reply, ev.reply_len, reply));
            add(r, ";");
        } else {
            add(r, "!close-refused;");
        }
    }
    feed_span(&s, r, in->p + close_at, limit - close_at, how);

    switch (ws_session_state(&s)) {
    case WS_SESSION_OPEN:
        add(r, "END:OPEN");
        break;
    case WS_SESSION_CLOSING:
        add(r, "END:CLOSING");
        break;
    case WS_SESSION_CLOSED:
        add(r, "END:CLOSED");
        break;
    }
    /* Once failed, where the split fell inside the skipped frame is of
     * no interest. */
    if (ws_session_state(&s) != WS_SESSION_CLOSED && !r->failed) {
        add(r, ws_session_is_idle(&s) ? ",idle" : ",busy");
    }
    switch (ws_session_partial(&s)) {
    case WS_PARTIAL_NONE:
        break;
    case WS_PARTIAL_HEADER:
        appendf(r->frames, &r->frames_len, "cut:header");
        break;
    case WS_PARTIAL_PAYLOAD:
        appendf(r->frames, &r->frames_len, "cut:payload");
        break;
    }
    ws_session_clear(&s);
}

static bool
msg_same(const struct run *r, const uint8_t *want_msg, size_t len)
{
    return want_msg == NULL ||
           (r->msg_len == len &&
            (len == 0 || memcmp(r->msg, want_msg, len) == 0));
}

/*
 * The key property: whole, one byte at a time and SPLIT_RANDOM_RUNS random
 * splits give the transcript want and the same frame headers (and, given
 * want_msg, the same message); the message buffer never outgrows
 * max_message_bytes in any of them. ds as for run_input.
 */
static void
check_splits(const char *name, const struct input *in,
             const struct ws_session_config *cfg, const struct defl_setup *ds,
             const char *want, const uint8_t *want_msg, size_t want_msg_len)
{
    struct run *whole = calloc(1, sizeof(*whole));
    struct run *r = calloc(1, sizeof(*r));

    if (whole == NULL || r == NULL) {
        abort();
    }
    whole->capture = r->capture = want_msg != NULL;
    run_input(whole, in, in->len, cfg, ds, SPLIT_WHOLE);
    is_str(whole->ev, want, "%s: %s", name, split_name(SPLIT_WHOLE));
    bool same = msg_same(whole, want_msg, want_msg_len);
    size_t max_cap = whole->max_cap;

    run_input(r, in, in->len, cfg, ds, SPLIT_ONE_BYTE);
    is_str(r->ev, want, "%s: %s", name, split_name(SPLIT_ONE_BYTE));
    bool frames_same = strcmp(r->frames, whole->frames) == 0;
    same = same && msg_same(r, want_msg, want_msg_len);
    max_cap = r->max_cap > max_cap ? r->max_cap : max_cap;

    bool random_ok = true;
    for (int k = 0; k < SPLIT_RANDOM_RUNS && random_ok; k++) {
        run_input(r, in, in->len, cfg, ds, SPLIT_RANDOM);
        random_ok = strcmp(r->ev, want) == 0;
        frames_same = frames_same && strcmp(r->frames, whole->frames) == 0;
        same = same && msg_same(r, want_msg, want_msg_len);
        max_cap = r->max_cap > max_cap ? r->max_cap : max_cap;
    }
    is_str(r->ev, want, "%s: %s", name, split_name(SPLIT_RANDOM));
    ok(frames_same, "%s: the same frame headers reported in every split", name);
    /* Up to a failure, the payloads shown are the same in every split
     * (after one, a split may have unmasked less of the bad frame). */
    ok(!r->payload_gap && !whole->payload_gap &&
           (whole->failed || r->payload_hash == whole->payload_hash),
       "%s: each frame's payload shown in order, the same in every split",
       name);
    if (!frames_same) {
        tap_diag("whole: %s", whole->frames);
        tap_diag("last:  %s", r->frames);
    }
    if (want_msg != NULL) {
        ok(same, "%s: the message byte for byte in every split", name);
    }
    ok(max_cap <= cfg->max_message_bytes,
       "%s: message buffer within max_message_bytes (%zu)", name, max_cap);
    run_free(whole);
    run_free(r);
    free(whole);
    free(r);
}

static void
config_for(struct ws_session_config *cfg, const struct sess_case *c)
{
    cfg->max_message_bytes =
        c->max_message_bytes != 0 ? c->max_message_bytes : DEFAULT_LIMIT_BYTES;
    cfg->max_frame_bytes =
        c->max_frame_bytes != 0 ? c->max_frame_bytes : DEFAULT_LIMIT_BYTES;
}

/*
 * Fail fast: the input cut right after the byte that breaks the rules
 * already gives the whole transcript, and one byte shorter gives no
 * failure.
 */
static void
check_fail_at(const char *name, size_t fail_at, const char *want,
              const struct input *in, const struct ws_session_config *cfg,
              const struct defl_setup *ds)
{
    struct run *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        abort();
    }
    if (fail_at > in->len) {
        ok(false, "%s: fail_at %zu is past the input (%zu bytes)", name,
           fail_at, in->len);
        free(r);
        return;
    }
    run_input(r, in, fail_at, cfg, ds, SPLIT_WHOLE);
    is_str(r->ev, want, "%s: failed by byte %zu (whole)", name, fail_at);
    run_input(r, in, fail_at, cfg, ds, SPLIT_ONE_BYTE);
    is_str(r->ev, want, "%s: failed by byte %zu (one byte at a time)", name,
           fail_at);
    run_input(r, in, fail_at - 1, cfg, ds, SPLIT_ONE_BYTE);
    ok(strstr(r->ev, "FAIL") == NULL, "%s: not failed before byte %zu", name,
       fail_at);
    if (strstr(r->ev, "FAIL") != NULL) {
        tap_diag("got %s", r->ev);
    }
    run_free(r);
    free(r);
}

/*
 * The frame headers reported, discarded or not, and where the input
 * ended: whole and one byte at a time (check_splits has shown that every
 * split reports the same).
 */
static void
check_frames(const char *name, const char *want, const struct input *in,
             const struct ws_session_config *cfg)
{
    struct run *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        abort();
    }
    run_input(r, in, in->len, cfg, NULL, SPLIT_WHOLE);
    is_str(r->frames, want, "%s: frames reported (whole)", name);
    run_input(r, in, in->len, cfg, NULL, SPLIT_ONE_BYTE);
    is_str(r->frames, want, "%s: frames reported (one byte at a time)", name);
    run_free(r);
    free(r);
}

static void
test_table(void)
{
    for (size_t i = 0; i < NELEM(cases); i++) {
        const struct sess_case *c = &cases[i];
        struct ws_session_config cfg;
        struct input in;

        if (!runs_in_role(c->in, NELEM(c->in))) {
            continue;
        }
        const char *name = role_name(c->name);
        config_for(&cfg, c);
        input_build(&in, c->in, NELEM(c->in));
        check_splits(name, &in, &cfg, NULL, c->want, NULL, 0);
        if (c->fail_at != 0) {
            check_fail_at(name, input_offset(&in, c->fail_at), c->want, &in,
                          &cfg, NULL);
        }
        if (c->frames != NULL) {
            check_frames(name,
                         client_role && c->client_frames != NULL
                             ? c->client_frames
                             : c->frames,
                         &in, &cfg);
        }
        free(in.p);
    }
}

/* A ping of 125 bytes, the most §5.5 allows, and its pong. */
static void
test_ping_125(void)
{
    struct ws_session_config cfg = {DEFAULT_LIMIT_BYTES, DEFAULT_LIMIT_BYTES};
    uint8_t payload[125];
    uint8_t pong[2 + 125];
    struct input in;
    char want[TEXT_MAX];
    size_t want_len = 0;

    for (size_t i = 0; i < sizeof(payload); i++) {
        payload[i] = (uint8_t)(i * 7 + 3);
    }
    input_init(&in);
    frame_put(&in, 0x89, keys[1], payload, sizeof(payload), sizeof(payload));
    appendf(want, &want_len, "PING:");
    put_data(want, &want_len, payload, sizeof(payload));
    appendf(want, &want_len, ">8a7d");
    for (size_t i = 0; i < sizeof(payload); i++) {
        appendf(want, &want_len, "%02x", payload[i]);
    }
    appendf(want, &want_len, ";" IDLE);
    check_splits("ping of 125 bytes", &in, &cfg, NULL, want, NULL, 0);

    /* The same reply bytes straight from the event. */
    struct ws_session s;
    struct ws_event ev;
    ws_session_init(&s, &cfg);
    size_t used = ws_session_feed(&s, in.p, in.len, &ev);
    is_int(used, in.len, "ping of 125 bytes: consumed");
    is_int(ev.type, WS_EV_PING, "ping of 125 bytes: WS_EV_PING");
    pong[0] = 0x8a;
    pong[1] = 0x7d;
    memcpy(pong + 2, payload, sizeof(payload));
    is_mem(ev.reply, ev.reply_len, pong, sizeof(pong),
           "ping of 125 bytes: 8a 7d and the payload, unmasked");
    is_mem(ev.data, ev.len, payload, sizeof(payload),
           "ping of 125 bytes: data unmasked");
    ws_session_clear(&s);
    free(in.p);
}

/*
 * A large message cut into fragments of random sizes with pings between
 * them, and a 64 KiB message in one frame (64-bit length), reassembled
 * byte for byte.
 */
static void
test_large(void)
{
    struct ws_session_config cfg = {DEFAULT_LIMIT_BYTES, DEFAULT_LIMIT_BYTES};
    size_t total = (size_t)1 << 20;
    uint8_t *msg = malloc(total);
    char *want = malloc(TEXT_MAX);
    size_t want_len = 0;
    struct input in;

    if (msg == NULL || want == NULL) {
        abort();
    }
    for (size_t i = 0; i < total; i++) {
        msg[i] = (uint8_t)tap_rand();
    }

    input_init(&in);
    size_t pos = 0;
    unsigned n_frag = 0;
    while (pos < total) {
        size_t n = tap_rand_below(3) == 0 ? tap_rand_below(200)
                                          : tap_rand_below(150000);
        if (n > total - pos) {
            n = total - pos;
        }
        uint8_t b0 = pos == 0 ? 0x02 : 0x00;
        if (pos + n == total) {
            b0 |= 0x80;
        }
        uint8_t key[4];
        for (size_t k = 0; k < 4; k++) {
            key[k] = (uint8_t)tap_rand();
        }
        frame_put(&in, b0, key, msg + pos, n, n);
        pos += n;
        if (pos < total && tap_rand_below(4) == 0) {
            uint8_t p[1] = {(uint8_t)n_frag};
            frame_put(&in, 0x89, keys[0], p, 1, 1);
            appendf(want, &want_len, "PING:");
            put_data(want, &want_len, p, 1);
            appendf(want, &want_len, ">8a01%02x;", p[0]);
        }
        n_frag++;
    }
    appendf(want, &want_len, "MSG2:");
    put_data(want, &want_len, msg, total);
    appendf(want, &want_len, ";" IDLE);
    tap_diag("1 MiB message in %u fragments", n_frag);
    check_splits("1 MiB binary in random fragments", &in, &cfg, NULL, want, msg,
                 total);
    free(in.p);

    /* 64 KiB of printable ASCII text in one frame, so UTF-8 is checked. */
    size_t len64 = 65536;
    for (size_t i = 0; i < len64; i++) {
        msg[i] = (uint8_t)(0x20 + tap_rand_below(0x5f));
    }
    input_init(&in);
    /*
     * RFC 6455 §5.7's 64 KiB example header as text and masked: 81 ff,
     * then 00 00 00 00 00 01 00 00 and the key.
     */
    input_put(&in, "\x81\xff\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    input_put(&in, keys[3], 4);
    uint8_t *dst = input_grow(&in, len64);
    for (size_t i = 0; i < len64; i++) {
        dst[i] = msg[i] ^ keys[3][i % 4];
    }
    want_len = 0;
    appendf(want, &want_len, "MSG1:");
    put_data(want, &want_len, msg, len64);
    appendf(want, &want_len, ";" IDLE);
    check_splits("64 KiB text in one frame", &in, &cfg, NULL, want, msg, len64);
    free(in.p);

    free(want);
    free(msg);
}

/*
 * Feeds in until the first event, or until it is used up, and returns
 * that event (or the last call's WS_EV_NONE); *used: the bytes taken. A
 * call decodes one frame header at most, so this takes several calls
 * where in holds several frames.
 */
static struct ws_event
feed_all(struct ws_session *s, struct input *in, size_t *used)
{
    struct ws_event ev;

    *used = 0;
    do {
        *used += ws_session_feed(s, in->p + *used, in->len - *used, &ev);
    } while (ev.type == WS_EV_NONE && *used < in->len);
    return ev;
}

/* §7.1.2: our close, then what the session may still do. */
static void
test_our_close(void)
{
    struct ws_session_config cfg = {1024, 1024};
    struct ws_session s;
    struct ws_event ev;
    uint8_t out[WS_FRAME_HEADER_MAX];
    struct input in;
    size_t used;

    ws_session_init(&s, &cfg);
    is_int(ws_session_state(&s), WS_SESSION_OPEN, "close: OPEN after init");
    ok(ws_session_close(&s, 1001, "bye", &ev), "close: accepted when OPEN");
    is_int(ev.type, WS_EV_NONE, "close: event type NONE");
    is_mem(ev.reply, ev.reply_len,
           "\x88\x05\x03\xe9"
           "bye",
           7, "close: 88 05 03 e9 'bye'");
    is_int(ws_session_state(&s), WS_SESSION_CLOSING, "close: CLOSING");
    is_int(ws_session_message_header(&s, out, WS_OP_TEXT, 5), 0,
           "close: no message header after our close");

    struct ws_event again, before;
    memset(&again, 0x5a, sizeof(again));
    memcpy(&before, &again, sizeof(before));
    ok(!ws_session_close(&s, 1000, NULL, &again), "close: refused twice");
    ok(memcmp(&again, &before, sizeof(again)) == 0,
       "close: refused close leaves ev untouched");

    /* A text message and a ping, discarded: no MSG, no pong. */
    input_init(&in);
    frame_put(&in, 0x81, keys[0], (const uint8_t *)"Hello", 5, 5);
    ev = feed_all(&s, &in, &used);
    is_int(used, in.len, "closing: text consumed");
    is_int(ev.type, WS_EV_NONE, "closing: text discarded");
    in.len = 0;
    frame_put(&in, 0x89, keys[1], (const uint8_t *)"ping", 4, 4);
    ev = feed_all(&s, &in, &used);
    is_int(ev.type, WS_EV_NONE, "closing: ping not answered");
    is_int(ev.reply_len, 0, "closing: no pong");
    ok(ws_session_is_idle(&s), "closing: idle");

    in.len = 0;
    frame_put(&in, 0x88, keys[2], (const uint8_t *)"\x03\xe9", 2, 2);
    ev = feed_all(&s, &in, &used);
    is_int(ev.type, WS_EV_CLOSE, "closing: the peer's close");
    is_int(ev.close.code, 1001, "closing: its code");
    is_int(ev.reply_len, 0, "closing: nothing to send back");
    is_int(ws_session_state(&s), WS_SESSION_CLOSED, "closing: CLOSED");
    is_int(ws_session_message_header(&s, out, WS_OP_TEXT, 5), 0,
           "closed: no message header");
    ok(!ws_session_close(&s, 1000, NULL, &ev), "closed: close refused");
    ws_session_clear(&s);

    /* Without a reason: just the code. */
    ws_session_init(&s, &cfg);
    ok(ws_session_close(&s, 1000, NULL, &ev), "close(1000, NULL)");
    is_mem(ev.reply, ev.reply_len, "\x88\x02\x03\xe8", 4,
           "close(1000, NULL): 88 02 03 e8");
    ws_session_clear(&s);

    /* After the peer's close nobody may close again. */
    ws_session_init(&s, &cfg);
    in.len = 0;
    frame_put(&in, 0x88, keys[0], NULL, 0, 0);
    ev = feed_all(&s, &in, &used);
    is_int(ev.type, WS_EV_CLOSE, "peer's close: CLOSE");
    is_mem(ev.reply, ev.reply_len, "\x88\x00", 2, "peer's close: 88 00");
    ok(!ws_session_close(&s, 1000, NULL, &ev), "peer's close: close refused");
    is_int(ws_session_message_header(&s, out, WS_OP_TEXT, 5), 0,
           "peer's close: no message header");
    ws_session_clear(&s);
    free(in.p);
}

/* Headers of server messages: §5.2, unmasked, the smallest length form. */
static void
test_message_header(void)
{
    static const struct {
        uint8_t opcode;
        uint64_t len;
        const char *want;
        size_t want_len;
    } v[] = {
        {WS_OP_TEXT, 0, "\x81\x00", 2},
        {WS_OP_TEXT, 5, "\x81\x05", 2},
        {WS_OP_BINARY, 125, "\x82\x7d", 2},
        {WS_OP_BINARY, 126, "\x82\x7e\x00\x7e", 4},
        {WS_OP_TEXT, 65535, "\x81\x7e\xff\xff", 4},
        /* RFC 6455 §5.7: 64 KiB of binary data, 64-bit length. */
        {WS_OP_BINARY, 65536, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10},
    };
    struct ws_session_config cfg = {1024, 1024};
    struct ws_session s;

    ws_session_init(&s, &cfg);
    for (size_t i = 0; i < NELEM(v); i++) {
        uint8_t out[WS_FRAME_HEADER_MAX];
        size_t n = ws_session_message_header(&s, out, v[i].opcode, v[i].len);
        is_mem(out, n, v[i].want, v[i].want_len,
               "message header: opcode %u, %llu bytes", v[i].opcode,
               (unsigned long long)v[i].len);
    }
    /* The same headers from ws_session_message, which frames the data
     * as it is. */
    static uint8_t data[65536];
    for (size_t i = 0; i < NELEM(v); i++) {
        struct ws_out_message m;
        bool framed = ws_session_message(&s, v[i].opcode, data,
                                         (size_t)v[i].len, NULL, 0, &m);
        ok(framed && m.payload == data && m.payload_len == v[i].len &&
               !m.compressed,
           "message: %llu bytes framed as they are",
           (unsigned long long)v[i].len);
        is_mem(m.hdr, framed ? m.hdr_len : 0, v[i].want, v[i].want_len,
               "message: its header, opcode %u, %llu bytes", v[i].opcode,
               (unsigned long long)v[i].len);
    }
    ws_session_clear(&s);
}

/* Idle means: no partial header, payload or fragmented message held. */
static void
test_idle(void)
{
    struct ws_session_config cfg = {1024, 1024};
    struct ws_session s;
    struct ws_event ev;
    struct input in;
    size_t used;

    input_init(&in);
    frame_put(&in, 0x81, keys[0], (const uint8_t *)"Hello", 5, 5); /* 11 */
    frame_put(&in, 0x01, keys[1], (const uint8_t *)"Hel", 3, 3);   /* 9 */
    frame_put(&in, 0x89, keys[2], NULL, 0, 0);                     /* 6 */
    frame_put(&in, 0x80, keys[3], (const uint8_t *)"lo", 2, 2);    /* 8 */

    ws_session_init(&s, &cfg);
    ok(ws_session_is_idle(&s), "idle: after init");
    used = ws_session_feed(&s, in.p, 1, &ev);
    ok(used == 1 && ev.type == WS_EV_NONE && !ws_session_is_idle(&s),
       "idle: not with 1 byte of a header");
    used = ws_session_feed(&s, in.p + 1, 7, &ev);
    ok(used == 7 && ev.type == WS_EV_NONE && !ws_session_is_idle(&s),
       "idle: not inside a payload");
    used = ws_session_feed(&s, in.p + 8, 3, &ev);
    ok(used == 3 && ev.type == WS_EV_MESSAGE && ws_session_is_idle(&s),
       "idle: after a whole message");
    used = ws_session_feed(&s, in.p + 11, 9, &ev);
    ok(used == 9 && ev.type == WS_EV_NONE && !ws_session_is_idle(&s),
       "idle: not between fragments");
    used = ws_session_feed(&s, in.p + 20, 6, &ev);
    ok(used == 6 && ev.type == WS_EV_PING && !ws_session_is_idle(&s),
       "idle: not after a ping inside a message");
    used = ws_session_feed(&s, in.p + 26, 8, &ev);
    ok(used == 8 && ev.type == WS_EV_MESSAGE && ws_session_is_idle(&s),
       "idle: after the final fragment");
    is_mem(ev.data, ev.len, "Hello", 5, "idle: the fragmented message");
    ws_session_clear(&s);
    free(in.p);
}

/*
 * After a failure whose frame had a known length, the session skips the
 * rest of that frame, discards data and pings unanswered, and reports
 * only the peer's close; after a header whose frame has no known end, it
 * takes every byte after it as that frame's payload.
 */
static void
test_after_fail(void)
{
    struct ws_session_config cfg = {1024, 1024};
    struct ws_session s;
    struct ws_event ev;
    struct input in;
    size_t used;

    input_init(&in);
    /* RFC 6455 §5.7's unmasked "Hello": a server must fail it. */
    input_put(&in, "\x81\x05\x48\x65\x6c\x6c\x6f", 7);
    ws_session_init(&s, &cfg);
    ev = feed_all(&s, &in, &used);
    is_int(ev.type, WS_EV_FAIL, "after fail: FAIL");
    is_int(ev.error.code, 1002, "after fail: 1002");
    is_int(used, 2, "after fail: the header taken, its payload left");
    ok(ev.error.reason != NULL, "after fail: a reason");
    is_int(ws_session_state(&s), WS_SESSION_CLOSING, "after fail: CLOSING");

    /* The bad frame's payload, a message, a ping, then the peer's close. */
    in.len = 0;
    input_put(&in, "\x48\x65\x6c\x6c\x6f", 5);
    frame_put(&in, 0x81, keys[0], (const uint8_t *)"Hello", 5, 5);
    frame_put(&in, 0x89, keys[1], (const uint8_t *)"p", 1, 1);
    frame_put(&in, 0x88, keys[2], (const uint8_t *)"\x03\xea", 2, 2);
    ev = feed_all(&s, &in, &used);
    is_int(ev.type, WS_EV_CLOSE, "after fail: only the peer's close shows");
    is_int(ev.close.code, 1002, "after fail: the peer's close code");
    is_int(ev.reply_len, 0, "after fail: no second close from us");
    is_int(used, in.len, "after fail: everything up to the close taken");
    is_int(ws_session_state(&s), WS_SESSION_CLOSED, "after fail: CLOSED");

    in.len = 0;
    frame_put(&in, 0x81, keys[0], (const uint8_t *)"Hello", 5, 5);
    frame_put(&in, 0x88, keys[1], NULL, 0, 0);
    ev = feed_all(&s, &in, &used);
    ok(used == in.len && ev.type == WS_EV_NONE,
       "after the close: a message and a close give nothing");
    ok(!ws_session_close(&s, 1000, NULL, &ev),
       "after the close: close refused");
    ws_session_clear(&s);

    /* A 64-bit length with its top bit set: no end of the frame is
     * known, so all that follows is taken as its payload. */
    in.len = 0;
    input_put(&in, "\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00\x37\xfa\x21\x3d",
              14);
    frame_put(&in, 0x88, keys[1], NULL, 0, 0);
    ws_session_init(&s, &cfg);
    ev = feed_all(&s, &in, &used);
    is_int(ev.type, WS_EV_FAIL, "lost framing: FAIL");
    is_int(used, 0, "lost framing: at the header, not past it");
    ok(!ev.has_frame, "lost framing: the header not yet reported");
    is_int(ws_session_state(&s), WS_SESSION_CLOSED, "lost framing: CLOSED");
    used = ws_session_feed(&s, in.p, in.len, &ev);
    ok(used == in.len && ev.type == WS_EV_NONE && ev.has_frame &&
           ev.frame_discarded && ev.frame.payload_len == UINT64_C(1) << 63,
       "lost framing: then reported, discarded, and everything after it "
       "taken as its payload");
    ev = feed_all(&s, &in, &used);
    ok(used == in.len && ev.type == WS_EV_NONE && !ev.has_frame,
       "lost framing: a close gives nothing, not even a header");
    is_int(ws_session_partial(&s), WS_PARTIAL_PAYLOAD,
           "lost framing: the input ends inside that frame");
    ws_session_clear(&s);
    free(in.p);
}

/* The events report every header, in order, before its payload is judged. */
static void
test_frame_events(void)
{
    struct ws_session_config cfg = {1024, 4};
    struct run *r = calloc(1, sizeof(*r));
    struct input in;

    if (r == NULL) {
        abort();
    }
    input_init(&in);
    frame_put(&in, 0x01, keys[0], (const uint8_t *)"Hel", 3, 3);
    frame_put(&in, 0x89, keys[1], (const uint8_t *)"p", 1, 1);
    frame_put(&in, 0x80, keys[2], (const uint8_t *)"lo", 2, 2);
    frame_put(&in, 0xc2, keys[3], (const uint8_t *)"x", 1, 1);
    run_input(r, &in, in.len, &cfg, NULL, SPLIT_ONE_BYTE);
    is_str(r->frames, "1:3 9F:1 0F:2 2FRD:1 ",
           "frame events: every header, the refused one discarded");
    is_str(r->ev, "PING:p>8a0170;MSG1:Hello;" FAIL_1002,
           "frame events: events unchanged");

    in.len = 0;
    frame_put(&in, 0x82, keys[0], NULL, 0, 300);
    run_input(r, &in, in.len, &cfg, NULL, SPLIT_WHOLE);
    is_str(r->frames, "2FD:300 cut:payload",
           "frame events: a frame then refused as too big, discarded");

    /* The payloads shown: "Hel", "p", "lo" unmasked, one byte at a time
     * or whole, hash for hash; the refused frame shows none. */
    struct run *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        abort();
    }
    in.len = 0;
    frame_put(&in, 0x01, keys[0], (const uint8_t *)"Hel", 3, 3);
    frame_put(&in, 0x89, keys[1], (const uint8_t *)"p", 1, 1);
    frame_put(&in, 0x80, keys[2], (const uint8_t *)"lo", 2, 2);
    run_input(r, &in, in.len, &cfg, NULL, SPLIT_ONE_BYTE);
    run_input(w, &in, in.len, &cfg, NULL, SPLIT_WHOLE);
    static const char *const shown[] = {"Hel", "p", "lo"};
    uint64_t h = 0;
    for (size_t k = 0; k < 3; k++) {
        h = (h ^ 0x100) * 1099511628211ULL;
        for (const char *c = shown[k]; *c != '\0'; c++) {
            h = (h ^ (uint8_t)*c) * 1099511628211ULL;
        }
    }
    ok(r->payload_hash == h && w->payload_hash == h && !r->payload_gap &&
           !w->payload_gap,
       "frame events: each frame's payload shown unmasked, byte by byte "
       "or whole");
    in.len = 0;
    frame_put(&in, 0x82, keys[0], NULL, 0, 300);
    run_input(w, &in, in.len, &cfg, NULL, SPLIT_WHOLE);
    ok(w->payload_hash == (0 ^ 0x100) * 1099511628211ULL,
       "frame events: a refused frame's payload is not shown");

    /* Whole frames say so (frame_whole: what a record shares a read's
     * entry by); a frame in parts, a control frame, a fragment do not. */
    in.len = 0;
    frame_put(&in, 0x82, keys[0], (const uint8_t *)"abc", 3, 3);
    frame_put(&in, 0x81, keys[1], (const uint8_t *)"hell", 4, 4);
    frame_put(&in, 0x89, keys[2], (const uint8_t *)"p", 1, 1);
    frame_put(&in, 0x01, keys[3], (const uint8_t *)"x", 1, 1);
    frame_put(&in, 0x80, keys[0], (const uint8_t *)"y", 1, 1);
    memset(w, 0, sizeof(*w));
    run_input(w, &in, in.len, &cfg, NULL, SPLIT_WHOLE);
    is_int(w->whole_frames, 2,
           "frame events: the two whole data frames "
           "fed at once say they were whole");
    ok(strstr(w->ev, "!whole") == NULL,
       "frame events: each at the start of its input, as it says");
    memset(r, 0, sizeof(*r));
    run_input(r, &in, in.len, &cfg, NULL, SPLIT_ONE_BYTE);
    is_int(r->whole_frames, 0,
           "frame events: fed a byte at a time, none is whole");
    free(w);
    free(in.p);
    free(r);
}

/*
 * Feeds in to a fresh session with these limits; the event it ends on,
 * which must be a 1009 whose close frame carries ev->reason.
 */
static struct ws_event
fail_on_limit(const char *name, uint64_t max_message, uint64_t max_frame,
              struct input *in)
{
    struct ws_session_config cfg = {max_message, max_frame};
    struct ws_session s;
    struct ws_event ev;
    size_t used;
    size_t n;

    ws_session_init(&s, &cfg);
    ev = feed_all(&s, in, &used);
    ws_session_clear(&s);
    in->len = 0;
    n = strlen(ev.reason);
    ok(ev.type == WS_EV_FAIL && ev.error.code == 1009, "%s: 1009", name);
    ok(ev.reply_len == 4 + n && ev.reply[0] == 0x88 && ev.reply[1] == 2 + n &&
           ev.reply[2] == 0x03 && ev.reply[3] == 0xf1 &&
           memcmp(ev.reply + 4, ev.reason, n) == 0,
       "%s: the close frame carries ev.reason", name);
    return ev;
}

/* A 1009's close reason names the limit and its value (RFC 6455 §7.4.1
 * leaves the reason to the endpoint; this one tells what may be sent). */
static void
test_limit_reasons(void)
{
    struct ws_event ev;
    struct input in;

    input_init(&in);
    frame_put(&in, 0x82, keys[0], (const uint8_t *)"0123456789abcdefX", 17, 17);
    ev = fail_on_limit("frame limit", 1024, 16, &in);
    is_str(ev.error.reason, WS_SESSION_FRAME_OVER, "frame limit: the rule");
    is_str(ev.reason, "frame over max_frame_bytes 16",
           "frame limit: the reason names it and its value");

    frame_put(&in, 0x01, keys[0], (const uint8_t *)"Hello", 5, 5);
    frame_put(&in, 0x80, keys[1], (const uint8_t *)"World!", 6, 6);
    ev = fail_on_limit("message limit", 10, 1024, &in);
    is_str(ev.error.reason, WS_SESSION_MESSAGE_OVER, "message limit: the rule");
    is_str(ev.reason, "message over max_message_bytes 10",
           "message limit: the reason names it and its value");

    /* The default limits, announced by a header alone. */
    frame_put(&in, 0x82, keys[0], NULL, 0, (UINT64_C(16) << 20) + 1);
    ev = fail_on_limit("16m frame limit", UINT64_C(16) << 20,
                       UINT64_C(16) << 20, &in);
    is_str(ev.reason, "frame over max_frame_bytes 16777216",
           "16m: the frame limit comes first");
    frame_put(&in, 0x82, keys[0], NULL, 0, (UINT64_C(16) << 20) + 1);
    ev = fail_on_limit("16m message limit", UINT64_C(16) << 20,
                       UINT64_C(1) << 30, &in);
    is_str(ev.reason, "message over max_message_bytes 16777216",
           "16m: the message limit");

    /* The largest limit a frame can pass: 19 digits. */
    frame_put(&in, 0x82, keys[0], NULL, 0, INT64_MAX);
    ev = fail_on_limit("a 63-bit limit", UINT64_MAX, INT64_MAX - 1, &in);
    is_str(ev.reason, "frame over max_frame_bytes 9223372036854775806",
           "a 63-bit limit: every digit");
    free(in.p);
}

/* ws_session_clear frees the message buffer wherever the session is. */
static void
test_clear(void)
{
    struct ws_session_config cfg = {DEFAULT_LIMIT_BYTES, DEFAULT_LIMIT_BYTES};
    struct ws_session s;
    struct ws_event ev;
    struct input in;
    size_t big = 100000;
    uint8_t *payload = calloc(1, big);

    if (payload == NULL) {
        abort();
    }
    input_init(&in);
    frame_put(&in, 0x02, keys[0], payload, big, big);
    ws_session_init(&s, &cfg);
    ev = feed_all(&s, &in, &(size_t){0});
    ok(ev.type == WS_EV_NONE && !ws_session_is_idle(&s),
       "clear: a large fragment held");
    ws_session_clear(&s);
    is_int(ws_session_state(&s), WS_SESSION_CLOSED, "clear: CLOSED");
    ws_session_clear(&s);
    ok(true, "clear: twice is harmless");

    /* Initialised again, the session works from scratch. */
    ws_session_init(&s, &cfg);
    in.len = 0;
    frame_put(&in, 0x01, keys[1], (const uint8_t *)"Hel", 3, 3);
    frame_put(&in, 0x80, keys[2], (const uint8_t *)"lo", 2, 2);
    size_t used;
    ev = feed_all(&s, &in, &used);
    ok(ev.type == WS_EV_MESSAGE && used == in.len, "clear: reused session");
    is_mem(ev.data, ev.len, "Hello", 5, "clear: reused session's message");
    ws_session_clear(&s);

    /* Cleared just after a large message was delivered from its buffer. */
    ws_session_init(&s, &cfg);
    in.len = 0;
    frame_put(&in, 0x02, keys[0], payload, big / 2, big / 2);
    frame_put(&in, 0x80, keys[1], payload, big / 2, big / 2);
    ev = feed_all(&s, &in, &used);
    is_int(ev.type, WS_EV_MESSAGE, "clear: large message delivered");
    is_int(ev.len, big, "clear: its length");
    ws_session_clear(&s);
    free(in.p);
    free(payload);
}

/* permessage-deflate -------------------------------------------------------*/

/*
 * The session with permessage-deflate (RFC 7692) negotiated: RSV1 on the
 * first frame marks a compressed message, whose payload is inflated before
 * the UTF-8 check and the message limit. A table of its own, fed whole, one
 * byte at a time and at random splits like the one above by a runner that
 * also turns deflate on and watches the message buffer; then bombs, limits,
 * large messages and ws_session_message, with inputs compressed by zlib
 * itself, an implementation independent of the code under test.
 */

/* RFC 7692 §7.2.3.1: "Hello" compressed. */
#define Z_HELLO       "\xf2\x48\xcd\xc9\xc9\x07\x00"
/* §7.2.3.2: "Hello" again, referring to the first one in the window. */
#define Z_HELLO_AGAIN "\xf2\x00\x11\x00\x00"
/* §7.2.3.3: "Hello" in a stored block. */
#define Z_HELLO_STORED                                                         \
    "\x00\x05\x00\xfa\xff"                                                     \
    "Hello"                                                                    \
    "\x00"
/* §7.2.3.4: "Hello" in a block with BFINAL set. */
#define Z_HELLO_BFINAL  "\xf3\x48\xcd\xc9\xc9\x07\x00\x00"
/* §7.2.3.5: "He" and "llo" in two blocks. */
#define Z_HELLO_2BLOCKS "\xf2\x48\x05\x00\x00\x00\xff\xff\xca\xc9\xc9\x07\x00"
/* Stored blocks (RFC 1951 §3.2.4) of one and three bytes: 00, LEN, NLEN. */
#define STORED1         "\x00\x01\x00\xfe\xff"
#define STORED3         "\x00\x03\x00\xfc\xff"

struct defl_case {
    const char *name;
    struct piece in[10];
    uint64_t max_message_bytes;      /* 0: DEFAULT_LIMIT_BYTES */
    uint64_t max_frame_bytes;        /* 0: DEFAULT_LIMIT_BYTES */
    bool off;                        /* permessage-deflate not negotiated */
    bool client_no_context_takeover; /* else context takeover both ways */
    size_t fail_at; /* when set: the shortest prefix that must fail */
    const char *want;
};

static const struct defl_case defl_cases[] = {
    /* RFC 7692 §7.2.3, each example in a masked frame with RSV1. */
    {"RFC 7692 7.2.3.1 compressed Hello, masked by hand",
     /* c1 87, the key of RFC 6455 §5.7, f2 48 cd c9 c9 07 00 masked. */
     {RAW("\xc1\x87\x37\xfa\x21\x3d\xc5\xb2\xec\xf4\xfe\xfd\x21")},
     .want = "MSG1:Hello;" IDLE},
    {"RFC 7692 7.2.3.1 compressed Hello",
     {FRAME(0xc1, Z_HELLO)},
     .want = "MSG1:Hello;" IDLE},
    {"RFC 7692 7.2.3.1 as binary",
     {FRAME(0xc2, Z_HELLO)},
     .want = "MSG2:Hello;" IDLE},
    {"RFC 7692 7.2.3.2 sharing the LZ77 window",
     {FRAME(0xc1, Z_HELLO), FRAME(0xc1, Z_HELLO_AGAIN)},
     .want = "MSG1:Hello;MSG1:Hello;" IDLE},
    {"RFC 7692 7.2.3.2 with client_no_context_takeover",
     {FRAME(0xc1, Z_HELLO), FRAME(0xc1, Z_HELLO_AGAIN)},
     .client_no_context_takeover = true,
     .want = "MSG1:Hello;" FAIL_1007},
    {"RFC 7692 7.2.3.3 stored block",
     {FRAME(0xc1, Z_HELLO_STORED)},
     .want = "MSG1:Hello;" IDLE},
    {"RFC 7692 7.2.3.4 BFINAL set",
     {FRAME(0xc1, Z_HELLO_BFINAL)},
     .want = "MSG1:Hello;" IDLE},
    {"RFC 7692 7.2.3.4 twice, then 7.2.3.1",
     {FRAME(0xc1, Z_HELLO_BFINAL), FRAME(0xc1, Z_HELLO_BFINAL),
      FRAME(0xc1, Z_HELLO)},
     .want = "MSG1:Hello;MSG1:Hello;MSG1:Hello;" IDLE},
    {"RFC 7692 7.2.3.5 two blocks",
     {FRAME(0xc1, Z_HELLO_2BLOCKS)},
     .want = "MSG1:Hello;" IDLE},
    {"empty compressed message (the empty stored block)",
     {FRAME(0xc1, "\x00"), FRAME(0xc1, Z_HELLO)},
     .want = "MSG1:;MSG1:Hello;" IDLE},

    /* §6.1: RSV1 on the first frame only; fragments inflate as one. */
    {"compressed Hello in 3 fragments",
     {FRAME(0x41, "\xf2\x48"), FRAME(0x00, "\xcd\xc9\xc9"),
      FRAME(0x80, "\x07\x00")},
     .want = "MSG1:Hello;" IDLE},
    {"compressed fragments, ping interleaved",
     {FRAME(0x41, "\xf2\x48\xcd"), FRAME(0x89, "p"),
      FRAME(0x80, "\xc9\xc9\x07\x00")},
     .want = "PING:p>8a0170;MSG1:Hello;" IDLE},
    {"7.2.3.5 cut at its block boundary",
     {FRAME(0x41, "\xf2\x48\x05\x00\x00\x00\xff\xff"),
      FRAME(0x80, "\xca\xc9\xc9\x07\x00")},
     .want = "MSG1:Hello;" IDLE},
    {"compressed message, empty final fragment",
     {FRAME(0x41, Z_HELLO), FRAME(0x80, "")},
     .want = "MSG1:Hello;" IDLE},
    {"compressed message, empty first fragment",
     {FRAME(0x41, ""), FRAME(0x80, Z_HELLO)},
     .want = "MSG1:Hello;" IDLE},
    {"uncompressed message between compressed ones keeps the window",
     {FRAME(0xc1, Z_HELLO), FRAME(0x81, "abc"), FRAME(0xc1, Z_HELLO_AGAIN)},
     .want = "MSG1:Hello;MSG1:abc;MSG1:Hello;" IDLE},
    {"uncompressed message on a deflate session",
     {FRAME(0x81, "Hello")},
     .want = "MSG1:Hello;" IDLE},
    {"uncompressed fragmented message on a deflate session",
     {FRAME(0x01, "Hel"), FRAME(0x80, "lo")},
     .want = "MSG1:Hello;" IDLE},

    /* RSV bits (RFC 6455 §5.2, RFC 7692 §6): 1002. */
    {"RSV1 on a continuation frame",
     {FRAME(0x41, "\xf2\x48"), FRAME(0xc0, "\xcd\xc9\xc9\x07\x00")},
     .fail_at = 14,
     .want = FAIL_1002},
    {"RSV1 on the continuation of an uncompressed message",
     {FRAME(0x01, "Hel"), FRAME(0xc0, "lo")},
     .fail_at = 15,
     .want = FAIL_1002},
    {"RSV1 on a ping", {FRAME(0xc9, "")}, .fail_at = 6, .want = FAIL_1002},
    {"RSV1 on a pong", {FRAME(0xca, "x")}, .fail_at = 6, .want = FAIL_1002},
    {"RSV1 on a close",
     {FRAME(0xc8, "")},
     .fail_at = 6,
     .want = FAIL_1002_PEER},
    {"RSV1 on a ping inside a compressed message",
     {FRAME(0x41, "\xf2\x48"), FRAME(0xc9, "")},
     .fail_at = 14,
     .want = FAIL_1002},
    {"RSV1 without permessage-deflate negotiated",
     {FRAME(0xc1, Z_HELLO)},
     .off = true,
     .fail_at = 6,
     .want = FAIL_1002},
    {"RSV2 with permessage-deflate",
     {FRAME(0xa1, "Hello")},
     .fail_at = 6,
     .want = FAIL_1002},
    {"RSV3 with permessage-deflate",
     {FRAME(0x91, "Hello")},
     .fail_at = 6,
     .want = FAIL_1002},
    {"RSV1 and RSV2", {FRAME(0xe1, Z_HELLO)}, .fail_at = 6, .want = FAIL_1002},
    {"RSV2 on a compressed message's continuation",
     {FRAME(0x41, "\xf2\x48"), FRAME(0xa0, "\xcd\xc9\xc9\x07\x00")},
     .fail_at = 14,
     .want = FAIL_1002},

    /* Data that does not inflate: 1007, as soon as zlib sees it. */
    {"reserved block type",
     {FRAME(0xc1, "\x07\x00\x00")},
     .fail_at = 7,
     .want = FAIL_1007},
    {"stored block with a bad NLEN",
     {FRAME(0xc1, "\x00\x05\x00\x00\x00"
                  "Hello")},
     .fail_at = 11,
     .want = FAIL_1007},
    {"distance before the start of the stream",
     {FRAME(0xc1, Z_HELLO_AGAIN)},
     .want = FAIL_1007},
    {"corrupt block in a later fragment",
     {FRAME(0x41, "\x00\x02\x00\xfd\xff"
                  "He"),
      FRAME(0x80, "\x07")},
     .fail_at = 20,
     .want = FAIL_1007},
    {"a good message, then a corrupt one",
     {FRAME(0xc1, Z_HELLO), FRAME(0xc1, "\x07")},
     .fail_at = 20,
     .want = "MSG1:Hello;" FAIL_1007},

    /* §7.2.2: with the tail, the data ends on a block boundary. */
    {"RSV1 with an empty payload",
     {FRAME(0xc1, ""), FRAME(0xc1, Z_HELLO)},
     .fail_at = 6,
     .want = FAIL_1007},
    {"RSV1 with empty fragments only",
     {FRAME(0x42, ""), FRAME(0x80, "")},
     .fail_at = 12,
     .want = FAIL_1007},
    {"stored block cut short",
     {FRAME(0xc2, "\x00\x0a\x00\xf5\xff"
                  "Hello")},
     .fail_at = 16,
     .want = FAIL_1007},

    /* UTF-8 of the inflated text (§8.1), failing fast. */
    {"compressed text with 0xff, first fragment",
     {FRAME(0x41, STORED3 "a\xff"
                          "b"),
      FRAME(0x80, "\x00")},
     .fail_at = 13,
     .want = FAIL_1007},
    {"compressed text ending in E2 82",
     {FRAME(0xc1, STORED3 "a\xe2\x82"
                          "\x00")},
     .fail_at = 15,
     .want = FAIL_1007},
    {"compressed U+03BA split across fragments",
     {FRAME(0x41, STORED1 "\xce"), FRAME(0x80, STORED1 "\xba"
                                                       "\x00")},
     .want = "MSG1:\\xce\\xba;" IDLE},
    {"compressed binary need not be UTF-8",
     {FRAME(0xc2, STORED1 "\xff"
                          "\x00")},
     .want = "MSG2:\\xff;" IDLE},

    /* The limit applies to the inflated message (RFC 7692 §8.1). */
    {"compressed Hello at max_message_bytes 4",
     {FRAME(0xc1, Z_HELLO)},
     .max_message_bytes = 4,
     .want = FAIL_1009},
    {"compressed Hello at max_message_bytes 5",
     {FRAME(0xc1, Z_HELLO)},
     .max_message_bytes = 5,
     .want = "MSG1:Hello;" IDLE},
    {"stored Hello (11 bytes on the wire) at max_message_bytes 5",
     {FRAME(0xc1, Z_HELLO_STORED)},
     .max_message_bytes = 5,
     .want = "MSG1:Hello;" IDLE},
    {"stored Hello in fragments at max_message_bytes 5",
     {FRAME(0x41, "\x00\x05\x00\xfa\xff"), FRAME(0x00, "Hello"),
      FRAME(0x80, "\x00")},
     .max_message_bytes = 5,
     .want = "MSG1:Hello;" IDLE},
    {"stored Hello in fragments at max_message_bytes 4",
     {FRAME(0x41, "\x00\x05\x00\xfa\xff"), FRAME(0x00, "Hell"),
      FRAME(0x00, "o"), FRAME(0x80, "\x00")},
     .max_message_bytes = 4,
     .want = FAIL_1009},

    {"compressed frame over max_frame_bytes",
     {FRAME(0xc1, Z_HELLO)},
     .max_frame_bytes = 6,
     .fail_at = 6,
     .want = FAIL_1009},
    {"compressed frame of max_frame_bytes",
     {FRAME(0xc1, Z_HELLO)},
     .max_frame_bytes = 7,
     .want = "MSG1:Hello;" IDLE},

    /* Our close first: compressed data is discarded unread. */
    {"our close, then a compressed message",
     {OUR_CLOSE, FRAME(0xc1, Z_HELLO), FRAME(0x88, "")},
     .want = SENT "CLOSE:1005>-;END:CLOSED"},
    {"our close inside a compressed message",
     {FRAME(0x41, "\xf2\x48"), OUR_CLOSE, FRAME(0x80, "\xcd\xc9\xc9\x07\x00"),
      FRAME(0x88, "")},
     .want = SENT "CLOSE:1005>-;END:CLOSED"},
};

static const struct ws_deflate_params defl_params_default = {false, false, 15,
                                                             15};

static void
test_deflate_table(void)
{
    for (size_t i = 0; i < NELEM(defl_cases); i++) {
        const struct defl_case *c = &defl_cases[i];
        struct ws_session_config cfg;
        struct defl_setup ds = {c->off, defl_params_default};
        struct input in;

        if (!runs_in_role(c->in, NELEM(c->in))) {
            continue;
        }
        ds.params.client_no_context_takeover = c->client_no_context_takeover;
        cfg.max_message_bytes = c->max_message_bytes != 0 ? c->max_message_bytes
                                                          : DEFAULT_LIMIT_BYTES;
        cfg.max_frame_bytes =
            c->max_frame_bytes != 0 ? c->max_frame_bytes : DEFAULT_LIMIT_BYTES;
        const char *name = role_name(c->name);
        input_build(&in, c->in, NELEM(c->in));
        check_splits(name, &in, &cfg, &ds, c->want, NULL, 0);
        if (c->fail_at != 0) {
            check_fail_at(name, input_offset(&in, c->fail_at), c->want, &in,
                          &cfg, &ds);
        }
        free(in.p);
    }
}

/*
 * Compresses in[0..len) with a sync flush, as a client does for a message
 * (strip: the §7.2.1 tail removed) or for a fragment it ends early (the
 * tail kept). Returns a malloc'ed buffer of *out_len bytes.
 */
static uint8_t *
client_compress(z_stream *zs, const uint8_t *in, size_t len, bool strip,
                size_t *out_len)
{
    size_t cap = deflateBound(zs, len) + 64;
    uint8_t *out = malloc(cap);

    if (out == NULL) {
        abort();
    }
    *out_len = zlib_peer_compress(zs, in, len, out, cap, strip);
    return out;
}

/*
 * Appends a compressed message z[0..n) of opcode in `parts` frames: RSV1
 * on the first only (§6.1), FIN on the last.
 */
static void
put_compressed(struct input *in, uint8_t opcode, const uint8_t *z, size_t n,
               size_t parts)
{
    size_t pos = 0;

    for (size_t i = 0; i < parts; i++) {
        size_t end = i + 1 == parts ? n : n * (i + 1) / parts;
        uint8_t b0 = i == 0 ? (uint8_t)(0x40 | opcode) : 0x00;
        if (i + 1 == parts) {
            b0 |= 0x80;
        }
        frame_put(in, b0, keys[in->n_frames % NELEM(keys)], z + pos, end - pos,
                  end - pos);
        pos = end;
    }
}

/* The transcript of one message of len bytes, then idle. */
static void
want_message(char *want, uint8_t opcode, const uint8_t *p, size_t len)
{
    size_t want_len = strlen(want);

    appendf(want, &want_len, "MSG%u:", opcode);
    put_data(want, &want_len, p, len);
    appendf(want, &want_len, ";");
}

/*
 * Decompression bombs: a megabyte of zeros compresses to about a
 * kilobyte. Against a 64 KiB limit the session fails with 1009 and never
 * holds more than 64 KiB, whole, in fragments, or after a message that
 * primed the shared window.
 */
static void
test_deflate_bomb(void)
{
    struct ws_session_config cfg = {64 * 1024, DEFAULT_LIMIT_BYTES};
    struct defl_setup ds = {false, defl_params_default};
    size_t big = (size_t)1 << 20;
    uint8_t *zeros = calloc(1, big);
    struct run *r = calloc(1, sizeof(*r));
    z_stream zs;
    struct input in;
    size_t n;

    if (zeros == NULL || r == NULL) {
        abort();
    }
    zlib_peer_deflater(&zs, 9, 15);
    uint8_t *z = client_compress(&zs, zeros, big, true, &n);
    deflateEnd(&zs);
    tap_diag("1 MiB of zeros compresses to %zu bytes", n);

    input_init(&in);
    put_compressed(&in, WS_OP_BINARY, z, n, 1);
    check_splits("bomb: 1 MiB of zeros in one frame", &in, &cfg, &ds, FAIL_1009,
                 NULL, 0);
    /* It fails as soon as 64 KiB are out: a quarter of it is enough. */
    run_input(r, &in, in.len - n + n / 4, &cfg, &ds, SPLIT_ONE_BYTE);
    is_str(r->ev, FAIL_1009, "bomb: failed within its first quarter");
    ok(r->max_cap <= cfg.max_message_bytes,
       "bomb: buffer within the limit (%zu)", r->max_cap);
    free(in.p);

    input_init(&in);
    put_compressed(&in, WS_OP_BINARY, z, n, 3);
    check_splits("bomb: in 3 fragments", &in, &cfg, &ds, FAIL_1009, NULL, 0);
    free(in.p);
    input_init(&in);
    put_compressed(&in, WS_OP_TEXT, z, n, 40);
    check_splits("bomb: in 40 fragments, text", &in, &cfg, &ds, FAIL_1009, NULL,
                 0);
    free(in.p);
    free(z);

    /* The second message of a stream is the bomb. */
    zlib_peer_deflater(&zs, 9, 15);
    uint8_t *z1 = client_compress(&zs, (const uint8_t *)"Hello", 5, true, &n);
    input_init(&in);
    put_compressed(&in, WS_OP_TEXT, z1, n, 1);
    free(z1);
    z = client_compress(&zs, zeros, big, true, &n);
    deflateEnd(&zs);
    put_compressed(&in, WS_OP_BINARY, z, n, 2);
    check_splits("bomb: second message, context takeover", &in, &cfg, &ds,
                 "MSG1:Hello;" FAIL_1009, NULL, 0);
    free(in.p);
    free(z);

    /* The session's own buffer, looked at directly after the failure. */
    struct ws_session s;
    struct ws_event ev;
    zlib_peer_deflater(&zs, 9, 15);
    z = client_compress(&zs, zeros, big, true, &n);
    deflateEnd(&zs);
    input_init(&in);
    put_compressed(&in, WS_OP_BINARY, z, n, 1);
    ws_session_init(&s, &cfg);
    ws_session_use_deflate(&s, &defl_cfg, &ds.params);
    ws_session_feed(&s, in.p, in.len, &ev);
    is_int(ev.type, WS_EV_FAIL, "bomb, direct: FAIL");
    is_int(ev.error.code, 1009, "bomb, direct: 1009");
    is_str(ev.reason, "message over max_message_bytes 65536",
           "bomb, direct: the reason names the limit on inflated bytes");
    ok(s.msg_cap <= cfg.max_message_bytes && s.msg_len <= s.msg_cap,
       "bomb, direct: msg_cap %zu, msg_len %zu within 64 KiB", s.msg_cap,
       s.msg_len);
    ws_session_clear(&s);
    free(in.p);
    free(z);
    free(r);
    free(zeros);
}

/*
 * A message that inflates to exactly max_message_bytes is delivered, one
 * byte more fails with 1009; and the stream stays in step after it.
 */
static void
test_deflate_at_limit(void)
{
    size_t max = 64 * 1024;
    struct ws_session_config cfg = {max, DEFAULT_LIMIT_BYTES};
    struct defl_setup ds = {false, defl_params_default};
    uint8_t *msg = malloc(max + 1);
    char *want = malloc(TEXT_MAX);
    z_stream zs;
    struct input in;
    size_t n;

    if (msg == NULL || want == NULL) {
        abort();
    }
    for (int kind = 0; kind < 2; kind++) {
        const char *what = kind == 0 ? "zeros" : "text of 16 letters";
        uint8_t opcode = kind == 0 ? WS_OP_BINARY : WS_OP_TEXT;
        for (size_t i = 0; i <= max; i++) {
            msg[i] = kind == 0 ? 0 : (uint8_t)('a' + tap_rand_below(16));
        }
        for (size_t parts = 1; parts <= 3; parts += 2) {
            char name[128];

            zlib_peer_deflater(&zs, 6, 15);
            uint8_t *z = client_compress(&zs, msg, max, true, &n);
            input_init(&in);
            put_compressed(&in, opcode, z, n, parts);
            free(z);
            snprintf(name, sizeof(name), "%s: exactly 64 KiB in %zu frames",
                     what, parts);
            want[0] = '\0';
            want_message(want, opcode, msg, max);
            strcat(want, IDLE);
            check_splits(name, &in, &cfg, &ds, want, msg, max);

            /* The stream is in step after it: Hello, sharing the window. */
            z = client_compress(&zs, (const uint8_t *)"Hello", 5, true, &n);
            put_compressed(&in, WS_OP_TEXT, z, n, 1);
            free(z);
            deflateEnd(&zs);
            snprintf(name, sizeof(name),
                     "%s: exactly 64 KiB in %zu frames, then Hello", what,
                     parts);
            want[0] = '\0';
            want_message(want, opcode, msg, max);
            strcat(want, "MSG1:Hello;" IDLE);
            check_splits(name, &in, &cfg, &ds, want, NULL, 0);
            free(in.p);

            zlib_peer_deflater(&zs, 6, 15);
            z = client_compress(&zs, msg, max + 1, true, &n);
            deflateEnd(&zs);
            input_init(&in);
            put_compressed(&in, opcode, z, n, parts);
            free(z);
            snprintf(name, sizeof(name), "%s: 64 KiB + 1 in %zu frames", what,
                     parts);
            check_splits(name, &in, &cfg, &ds, FAIL_1009, NULL, 0);
            free(in.p);
        }
    }
    free(want);
    free(msg);
}

/*
 * A large compressed text message in fragments of random sizes with pings
 * between them, then a second sharing the window, byte for byte.
 */
static void
test_deflate_large(void)
{
    struct ws_session_config cfg = {DEFAULT_LIMIT_BYTES, DEFAULT_LIMIT_BYTES};
    struct defl_setup ds = {false, defl_params_default};
    size_t total = (size_t)1 << 20;
    uint8_t *msg = malloc(total);
    char *want = malloc(TEXT_MAX);
    size_t want_len = 0;
    z_stream zs;
    struct input in;
    size_t n;

    if (msg == NULL || want == NULL) {
        abort();
    }
    static const char *const words[] = {"deflate ", "window ", "Hello ",
                                        "\xce\xba\xe1\xbd\xb9 ", "\n"};
    size_t len = 0;
    while (len < total) {
        const char *w = words[tap_rand_below(NELEM(words))];
        size_t wl = strlen(w);
        if (wl > total - len) {
            w = "                ";
            wl = total - len;
        }
        memcpy(msg + len, w, wl);
        len += wl;
    }
    zlib_peer_deflater(&zs, 6, 15);
    uint8_t *z = client_compress(&zs, msg, total, true, &n);
    tap_diag("1 MiB of text compresses to %zu bytes", n);

    input_init(&in);
    size_t pos = 0;
    while (pos < n) {
        size_t k =
            tap_rand_below(3) == 0 ? tap_rand_below(20) : tap_rand_below(20000);
        if (k > n - pos) {
            k = n - pos;
        }
        uint8_t b0 = in.n_frames == 0 ? 0x41 : 0x00;
        if (pos + k == n) {
            b0 |= 0x80;
        }
        frame_put(&in, b0, keys[in.n_frames % NELEM(keys)], z + pos, k, k);
        pos += k;
        if (pos < n && tap_rand_below(4) == 0) {
            frame_put(&in, 0x89, keys[0], (const uint8_t *)"p", 1, 1);
            appendf(want, &want_len, "PING:p>8a0170;");
        }
    }
    free(z);
    appendf(want, &want_len, "MSG1:");
    put_data(want, &want_len, msg, total);
    appendf(want, &want_len, ";");
    /* The second message: its first half again, cut after an ASCII
     * byte so that it stays UTF-8. */
    size_t half = total / 2;
    while ((msg[half - 1] & 0x80) != 0) {
        half--;
    }
    z = client_compress(&zs, msg, half, true, &n);
    deflateEnd(&zs);
    put_compressed(&in, WS_OP_TEXT, z, n, 2);
    free(z);
    appendf(want, &want_len, "MSG1:");
    put_data(want, &want_len, msg, half);
    appendf(want, &want_len, ";" IDLE);
    check_splits("1 MiB compressed text, then half of it", &in, &cfg, &ds, want,
                 msg, half);
    free(in.p);
    free(want);
    free(msg);
}

/*
 * Invalid UTF-8 deep inside Huffman-coded text fails with 1007 by the end
 * of the fragment that carries it, before the message ends.
 */
static void
test_deflate_utf8_fail_fast(void)
{
    struct ws_session_config cfg = {DEFAULT_LIMIT_BYTES, DEFAULT_LIMIT_BYTES};
    struct defl_setup ds = {false, defl_params_default};
    uint8_t text[10001];
    struct run *r = calloc(1, sizeof(*r));
    z_stream zs;
    struct input in;
    size_t n1, n2;

    if (r == NULL) {
        abort();
    }
    for (size_t i = 0; i < sizeof(text); i++) {
        text[i] = (uint8_t) "abcdefgh ."[tap_rand_below(10)];
    }
    text[5000] = 0xff;
    zlib_peer_deflater(&zs, 6, 15);
    /* The first fragment ends at a sync point just after the 0xff. */
    uint8_t *z1 = client_compress(&zs, text, 5001, false, &n1);
    uint8_t *z2 = client_compress(&zs, text + 5001, 5000, true, &n2);
    deflateEnd(&zs);
    input_init(&in);
    frame_put(&in, 0x41, keys[1], z1, n1, n1);
    size_t first = in.len;
    frame_put(&in, 0x80, keys[2], z2, n2, n2);
    check_splits("compressed text, 0xff in the first fragment", &in, &cfg, &ds,
                 FAIL_1007, NULL, 0);
    run_input(r, &in, first, &cfg, &ds, SPLIT_ONE_BYTE);
    is_str(r->ev, FAIL_1007,
           "compressed text, 0xff in the first fragment: failed by its end");
    free(in.p);
    free(z1);
    free(z2);
    free(r);
}

/* With client_no_context_takeover the inflater goes after each message. */
static void
test_deflate_streams(void)
{
    struct ws_session_config cfg = {DEFAULT_LIMIT_BYTES, DEFAULT_LIMIT_BYTES};
    struct ws_session s;
    struct ws_event ev;
    struct input in;

    for (int nct = 0; nct < 2; nct++) {
        struct ws_deflate_params p = defl_params_default;
        const char *what = nct ? "client_no_context_takeover" : "takeover";
        p.client_no_context_takeover = nct != 0;
        ws_session_init(&s, &cfg);
        ok(s.deflate == NULL, "%s: a session without deflate holds none", what);
        ok(ws_session_use_deflate(&s, &defl_cfg, &p) && s.deflate != NULL,
           "%s: its state is a block of its own", what);
        ok(s.deflate->inflater == NULL && s.deflate->deflater == NULL,
           "%s: no zlib stream at first", what);

        input_init(&in);
        frame_put(&in, 0x81, keys[0], (const uint8_t *)"Hello", 5, 5);
        ws_session_feed(&s, in.p, in.len, &ev);
        ok(ev.type == WS_EV_MESSAGE && s.deflate->inflater == NULL,
           "%s: no inflater for an uncompressed message", what);

        in.len = 0;
        frame_put(&in, 0x41, keys[1], (const uint8_t *)"\xf2\x48", 2, 2);
        ws_session_feed(&s, in.p, in.len, &ev);
        ok(ev.type == WS_EV_NONE && s.deflate->inflater != NULL,
           "%s: inflater held inside a message", what);

        in.len = 0;
        frame_put(&in, 0x80, keys[2], (const uint8_t *)"\xcd\xc9\xc9\x07\x00",
                  5, 5);
        ws_session_feed(&s, in.p, in.len, &ev);
        is_mem(ev.data, ev.len, "Hello", 5, "%s: the message", what);
        if (nct) {
            ok(s.deflate->inflater == NULL, "%s: inflater released after it",
               what);
        } else {
            ok(s.deflate->inflater != NULL, "%s: inflater kept after it", what);
        }
        ws_session_clear(&s);
        ok(s.deflate == NULL, "%s: clear releases the streams and the state",
           what);
        free(in.p);
    }
}

/* The payload length a server header states, read by hand (§5.2). */
static uint64_t
header_len(const uint8_t *h, size_t n)
{
    uint64_t v = 0;

    if (n == 2) {
        return h[1];
    }
    for (size_t i = 2; i < n; i++) {
        v = v << 8 | h[i];
    }
    return n == 4 || n == 10 ? v : UINT64_MAX;
}

/* Inflates p[0..n) and the tail with zs, the independent check. */
static bool
check_inflate(z_stream *zs, const uint8_t *p, size_t n, const uint8_t *want,
              size_t want_len)
{
    uint8_t *out = malloc(want_len + 16);

    if (out == NULL) {
        abort();
    }
    long got = zlib_peer_inflate(zs, p, n, out, want_len + 16, want_len + 16);
    bool same = got == (long)want_len && memcmp(out, want, want_len) == 0;
    free(out);
    return same;
}

/*
 * ws_session_message into hdr, *payload and *payload_len as separate
 * values; returns the header's size, 0 when it refused. Checks that m's
 * compressed flag says what the header's RSV1 says.
 */
static size_t
message(struct ws_session *s, uint8_t hdr[WS_FRAME_HEADER_MAX], uint8_t opcode,
        const uint8_t *data, size_t len, uint8_t *out, size_t cap,
        const uint8_t **payload, size_t *payload_len)
{
    struct ws_out_message m;

    if (!ws_session_message(s, opcode, data, len, out, cap, &m)) {
        return 0;
    }
    ok(m.compressed == ((m.hdr[0] & WS_RSV1 << 4) != 0) &&
           m.compressed == (m.payload == out && out != NULL),
       "message: compressed %d as RSV1 and the payload say", m.compressed);
    memcpy(hdr, m.hdr, m.hdr_len);
    *payload = m.payload;
    *payload_len = m.payload_len;
    return m.hdr_len;
}

/* ws_session_message: RSV1 and compressed bytes, or the data as is. */
static void
test_deflate_message(void)
{
    struct ws_session_config cfg = {DEFAULT_LIMIT_BYTES, DEFAULT_LIMIT_BYTES};
    struct ws_session s;
    struct ws_event ev;
    uint8_t hdr[WS_FRAME_HEADER_MAX];
    uint8_t data[1024];
    const uint8_t *payload;
    size_t payload_len;
    z_stream zs;

    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t) "Hello, deflate! "[i % 16];
    }
    ws_session_init(&s, &cfg);
    ws_session_use_deflate(&s, &defl_cfg, &defl_params_default);
    size_t bound = ws_session_message_bound(&s, sizeof(data));
    ok(bound >= sizeof(data), "message: bound %zu for 1 KiB", bound);
    uint8_t *out = malloc(bound);
    if (out == NULL) {
        abort();
    }
    zlib_peer_inflater(&zs, 15);
    size_t hl = message(&s, hdr, WS_OP_TEXT, data, sizeof(data), out, bound,
                        &payload, &payload_len);
    is_int(hdr[0], 0xc1, "message: text, FIN and RSV1: c1");
    ok(payload == out && payload_len < sizeof(data),
       "message: %zu compressed bytes in out", payload_len);
    is_int(header_len(hdr, hl), payload_len,
           "message: the header states the compressed length");
    ok(check_inflate(&zs, payload, payload_len, data, sizeof(data)),
       "message: zlib inflates it back");
    size_t first_len = payload_len;
    hl = message(&s, hdr, WS_OP_BINARY, data, sizeof(data), out, bound,
                 &payload, &payload_len);
    is_int(hdr[0], 0xc2, "message: binary, FIN and RSV1: c2");
    is_int(header_len(hdr, hl), payload_len, "message: binary, its length");
    ok(payload_len < first_len,
       "message: the second is shorter (%zu, %zu bytes), context kept",
       payload_len, first_len);
    ok(check_inflate(&zs, payload, payload_len, data, sizeof(data)),
       "message: the second inflates with the same inflater");
    inflateEnd(&zs);

    /* min_bytes 64: 63 bytes go as they are, 64 compressed. */
    is_int(ws_session_message_bound(&s, 63), 0, "message: bound 0 below 64");
    hl =
        message(&s, hdr, WS_OP_TEXT, data, 63, NULL, 0, &payload, &payload_len);
    ok(hl == 2 && hdr[0] == 0x81 && hdr[1] == 63,
       "message: 63 bytes, 81 3f, no RSV1");
    ok(payload == data && payload_len == 63, "message: 63 bytes, data as is");
    ok(ws_session_message_bound(&s, 64) >= 64, "message: bound for 64");
    hl = message(&s, hdr, WS_OP_TEXT, data, 64, out, bound, &payload,
                 &payload_len);
    ok(hl == 2 && hdr[0] == 0xc1 && payload == out,
       "message: 64 bytes compressed");
    /* Too little room: sent as it is. */
    hl = message(&s, hdr, WS_OP_TEXT, data, sizeof(data), out,
                 ws_session_message_bound(&s, sizeof(data)) - 1, &payload,
                 &payload_len);
    ok(hdr[0] == 0x81 && payload == data && payload_len == sizeof(data) &&
           header_len(hdr, hl) == sizeof(data),
       "message: out too small, uncompressed");

    /* §5.5.1: nothing after our close. */
    ok(ws_session_close(&s, 1000, NULL, &ev), "message: our close");
    is_int(message(&s, hdr, WS_OP_TEXT, data, sizeof(data), out, bound,
                   &payload, &payload_len),
           0, "message: 0 after our close");
    ws_session_clear(&s);

    /* Not negotiated: never compressed. */
    ws_session_init(&s, &cfg);
    is_int(ws_session_message_bound(&s, sizeof(data)), 0,
           "message: no deflate, bound 0");
    hl = message(&s, hdr, WS_OP_TEXT, data, sizeof(data), out, bound, &payload,
                 &payload_len);
    ok(hl > 0 && hdr[0] == 0x81 && payload == data &&
           payload_len == sizeof(data),
       "message: no deflate, 81 and the data");
    ws_session_clear(&s);

    /* server_no_context_takeover: each message inflates on its own. */
    struct ws_deflate_params nct = defl_params_default;
    nct.server_no_context_takeover = true;
    ws_session_init(&s, &cfg);
    ws_session_use_deflate(&s, &defl_cfg, &nct);
    for (int k = 0; k < 2; k++) {
        message(&s, hdr, WS_OP_TEXT, data, sizeof(data), out, bound, &payload,
                &payload_len);
        zlib_peer_inflater(&zs, 15);
        ok(hdr[0] == 0xc1 &&
               check_inflate(&zs, payload, payload_len, data, sizeof(data)),
           "server_no_context_takeover: message %d inflates afresh", k + 1);
        inflateEnd(&zs);
        ok(s.deflate->deflater == NULL,
           "server_no_context_takeover: deflater released after %d", k + 1);
    }
    ws_session_clear(&s);
    free(out);
}

/*
 * ws_session_message_done: a message gathered in the session's buffer
 * (two fragments) is freed at once when larger than the session keeps
 * between messages, and kept when not; a second call, and the next feed,
 * find nothing to free. Before, only the next feed freed it: a peer that
 * fell silent after a large message held its size in the server.
 */
static void
test_message_done(void)
{
    struct ws_session_config cfg = {DEFAULT_LIMIT_BYTES, DEFAULT_LIMIT_BYTES};
    static const uint8_t key[4] = {1, 2, 3, 4};
    const size_t sizes[] = {64 * 1024, 200};

    for (size_t k = 0; k < NELEM(sizes); k++) {
        size_t half = sizes[k] / 2;
        uint8_t *msg = calloc(1, sizes[k]);
        struct ws_session s;
        struct ws_event ev;
        struct input in;

        if (msg == NULL) {
            abort();
        }
        input_init(&in);
        frame_put(&in, 0x02, key, msg, half, half);
        frame_put(&in, 0x80, key, msg + half, sizes[k] - half, sizes[k] - half);
        ws_session_init(&s, &cfg);
        size_t used = 0;
        ev.type = WS_EV_NONE;
        while (used < in.len && ev.type != WS_EV_MESSAGE) {
            used += ws_session_feed(&s, in.p + used, in.len - used, &ev);
        }
        is_int(ev.type, WS_EV_MESSAGE, "message done, %zu bytes: delivered",
               sizes[k]);
        ok(ev.len == sizes[k] && s.msg != NULL && s.msg_cap >= sizes[k],
           "message done, %zu bytes: gathered in the session's buffer",
           sizes[k]);
        ws_session_message_done(&s);
        if (sizes[k] > 16 * 1024) {
            ok(s.msg == NULL && s.msg_cap == 0,
               "message done, %zu bytes: the buffer is freed at once",
               sizes[k]);
        } else {
            ok(s.msg != NULL && s.msg_cap >= sizes[k] && s.msg_len == 0,
               "message done, %zu bytes: a small buffer is kept, emptied",
               sizes[k]);
        }
        ws_session_message_done(&s);
        (void)ws_session_feed(&s, in.p + used, in.len - used, &ev);
        is_int(ev.type, WS_EV_NONE,
               "message done, %zu bytes: again, then a feed of nothing: "
               "no event",
               sizes[k]);
        ws_session_clear(&s);
        free(in.p);
        free(msg);
    }
}

static void
test_deflate(void)
{
    test_deflate_table();
    test_deflate_bomb();
    test_deflate_at_limit();
    test_deflate_large();
    test_deflate_utf8_fail_fast();
    test_deflate_streams();
    test_deflate_message();
}

int
main(void)
{
    tap_seed();
    test_table();
    test_ping_125();
    test_large();
    test_our_close();
    test_message_header();
    test_idle();
    test_after_fail();
    test_frame_events();
    test_limit_reasons();
    test_clear();
    test_message_done();
    test_deflate();
    /* The tables again, mirrored, in the client's role. */
    client_role = true;
    test_table();
    test_deflate_table();
    return tap_done();
}

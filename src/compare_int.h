/* SPDX-License-Identifier: MIT */
/*
 * What the files of the compare module share: the text of a difference
 * or a note as it is built, a way of the connection being compared and
 * what has been found on it, and the frame comparison (compare_frames.c)
 * for the case comparison (compare.c). Not an interface of its own: only
 * the module's files include it.
 */
#ifndef WSD_COMPARE_INT_H
#define WSD_COMPARE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* A difference's or a note's sentence, at most this long (it is cut at a
 * character's boundary, never inside one). */
#define COMPARE_TEXT_MAX 1024

struct compare_text {
    char b[COMPARE_TEXT_MAX];
    size_t n; /* bytes in b, always valid UTF-8 */
};

/* Words of ours (ASCII), appended to t. */
void compare_text_putf(struct compare_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * A string from a report, appended to t in double quotes, with '"', '\'
 * and control characters escaped (\xHH) so that it stays on its line, and
 * cut after about 100 bytes ("..." after the closing quote says so).
 */
void compare_text_quote(struct compare_text *t, const char *s, size_t len);

/* One way of the connection: its sender and receiver, and its findings. */
struct compare_way {
    const char *name;      /* "client->server" */
    const char *sender;    /* "the client" or "wsd" */
    const char *receiver;  /* the other */
    json_t *obj;           /* the way's object; owned by the result */
    json_t *differences;   /* borrowed from obj */
    json_t *notes;         /* borrowed from obj */
    bool frames_unknown;   /* the sender wrote outside its frames: frames,
                              close and octets not compared */
    bool receiver_stopped; /* the receiver parsed only the first frames, the
                              rest coming once the closing had begun */
    bool by_sequence;      /* the frames were compared one by one (close
                              frames' payloads included) */
    size_t payload_shown;  /* frames compared one by one, some payloads
                              longer than their rows show: the fewest
                              octets a row showed of one; 0: none such */
    bool failed;           /* out of memory */
};

/* A difference of kind on w, its sentence t. */
void compare_differ(struct compare_way *w, const char *kind,
                    const struct compare_text *t);

/* A note on w. */
void compare_note(struct compare_way *w, const struct compare_text *t);

/* stats[key] as a count: a non-negative integer, else 0. */
uint64_t compare_stat(const json_t *stats, const char *key);

/*
 * Compares the frames w's sender sent (its TF rows, its "txFrameStats")
 * with those w's receiver parsed (its RF rows, "rxFrameStats"): frame by
 * frame where both logs are whole, by their counts per opcode otherwise.
 * Sets w->frames_unknown and w->receiver_stopped, and fills the way's
 * "frames", "framesByOpcode" and "messagePayloadOctets".
 */
void compare_frames(struct compare_way *w, const json_t *sender,
                    const json_t *receiver);

#endif

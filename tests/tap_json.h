/* SPDX-License-Identifier: MIT */
/*
 * TAP checks of JSON documents (jansson), for the unit tests of the
 * documents wsd serves: a value's text, one key's value, a key set.
 */
#ifndef WSD_TESTS_TAP_JSON_H
#define WSD_TESTS_TAP_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Compact text of any JSON value, keys sorted; the caller frees it. */
char *tap_json_text(const json_t *j);

/* Checks that o[key] is there and its text is exactly want. */
bool tap_is_json_key_at(const char *file, int line, const json_t *o,
                        const char *key, const char *want);

/* Checks that o has each of keys[0..n) and no other key. */
bool tap_has_exactly_keys_at(const char *file, int line, const json_t *o,
                             const char *const *keys, size_t n,
                             const char *what);

/* The keys of the Autobahn testsuite's case file (fuzzing.py, caseResult
 * in connectionLost), all of them: what wsd's Autobahn view writes, and
 * what wsd compare requires of a case file. */
#define TAP_AUTOBAHN_KEYS 39
extern const char *const tap_autobahn_keys[TAP_AUTOBAHN_KEYS];

#define is_key(o, key, want)                                                   \
    tap_is_json_key_at(__FILE__, __LINE__, (o), (key), (want))
#define has_exactly_keys(o, keys, n, what)                                     \
    tap_has_exactly_keys_at(__FILE__, __LINE__, (o), (keys), (n), (what))

#endif

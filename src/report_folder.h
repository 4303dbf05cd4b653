/* SPDX-License-Identifier: MIT */
/*
 * A report folder laid out as the Autobahn testsuite lays out its own:
 * index.json (agent -> case id -> summary with "reportfile") beside one
 * JSON file per case, and pages beside them. This module owns that layout:
 * the names of the files (the testsuite's rule, kept to [A-Za-z0-9_]), writing
 * a file so that no reader sees half of it, and reading a whole folder back,
 * whoever wrote it (the testsuite, `wsd report`). It keeps no state; errors
 * come back as a sentence naming the file, for the caller to say.
 */
#ifndef WSD_REPORT_FOLDER_H
#define WSD_REPORT_FOLDER_H

#include <stddef.h>

#include <event2/buffer.h>
#include <jansson.h>

/*
 * The most bytes a case file may have; report_folder_read refuses a
 * bigger one (the whole file is held in memory as JSON, some 30 times its
 * size). The testsuite's biggest case files are of a few MB (its rows
 * show 64 payload octets at most, and its long cases switch the wire log
 * off); wsd's are of some 30 kB with case_wirelog 64, and at most about
 * 28 MB with case_wirelog at its maximum, 65536, every row at its
 * longest (a 32-octet head of control characters, escaped).
 */
#define REPORT_FOLDER_CASE_MAX_BYTES (32u << 20)

/* Room for an error sentence: a path and the problem. */
#define REPORT_FOLDER_ERROR_MAX 4400

/*
 * Writes len bytes of p to dir/name through dir/.name.tmp and a rename,
 * so that a reader sees the old file or the new one whole. Returns 0, or
 * -1 with err saying which file and why (the temporary one is removed).
 */
int report_folder_write(const char *dir, const char *name, const void *p,
                        size_t len, char *err);

/* report_folder_write of doc, indented, keys sorted as the testsuite
 * sorts them: in string order, but those of rxOctetStats, txOctetStats,
 * rxFrameStats and txFrameStats (integers in the testsuite) by value, as
 * the endpoint serves them. */
int report_folder_write_json(const char *dir, const char *name,
                             const json_t *doc, char *err);

/* report_folder_write of b's bytes, which it drains. */
int report_folder_write_buffer(const char *dir, const char *name,
                               struct evbuffer *b, char *err);

/*
 * The index's key for case id of one agent, whose cases are the object
 * cases: id itself, or, when cases has it already (a campaign run twice),
 * "ID#2", "ID#3"...
 */
void report_folder_index_key(const json_t *cases, const char *id, char *key,
                             size_t cap);

/*
 * A report file's stem not yet in used (an object whose keys are the stems
 * taken, lower-cased, to which it adds this one): AGENT_case_KEY by the
 * testsuite's rule (fuzzing.py, makeAgentCaseReportFilename): the agent
 * lower-cased, each character of it that is not a-z or 0-9 made '_',
 * those at either end left out (cleanForFilename); each character of the
 * key that is not A-Z, a-z or 0-9 made '_' (the testsuite changes only
 * its '.', but a name a peer chose must never become a path); each cut
 * to 63 octets. Then _2, _3... for a stem taken (in any case of letters).
 */
void report_folder_file_stem(json_t *used, const char *agent, const char *key,
                             char *stem, size_t cap);

/*
 * The href, relative to the folder from_dir, of the file name in the
 * folder to_dir (each as a command line gives it: absolute, or relative to
 * the working directory), so that a page written in from_dir links to it
 * wherever the two folders are; each character but A-Z, a-z, 0-9, '-',
 * '.', '_', '~' and '/' percent-encoded. 0, or -1 (errno set) when a
 * folder cannot be resolved or href has no room.
 */
int report_folder_href(const char *from_dir, const char *to_dir,
                       const char *name, char *href, size_t cap);

/*
 * Reads the folder dir: index.json and every case file it names. Returns a
 * new array with an object per case, agents by name and each agent's
 * cases in the testsuite's order: {"agent", "id" (the index's key),
 * "reportfile", "summary" (the index's entry), "case" (the file's
 * object)}. NULL, with err naming the file, when index.json or a case file
 * is missing or unreadable, is not JSON (said as jansson found it: cut
 * short, more after the value, a syntax error...), a case file has more
 * than REPORT_FOLDER_CASE_MAX_BYTES, or the folder is not of
 * the layout's shape: an index that is not agent -> case id -> object
 * with a "reportfile" that is a plain file name in the folder, a case file
 * that is not a JSON object.
 */
json_t *report_folder_read(const char *dir, char *err);

#endif

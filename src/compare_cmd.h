/* SPDX-License-Identifier: MIT */
/*
 * `wsd compare`: the client's report of a campaign (an Autobahn testsuite
 * report folder) against wsd's records of the same connections, case by
 * case, to show what the path between them changed.
 */
#ifndef WSD_COMPARE_CMD_H
#define WSD_COMPARE_CMD_H

/*
 * Runs `wsd compare ARGS...` (argv[0] is "compare"). Returns the exit
 * status: 0 when every case pairs and nothing differs, 1 when a case
 * differs or has no pair (on either side), 2 for bad input: a bad command
 * line, a report folder that is missing, truncated or not in Autobahn's
 * shape, an admin endpoint that is down or refuses the token, an output
 * that cannot be written (each said on stderr, naming the file or URL).
 */
int compare_cmd_main(int argc, char **argv);

#endif

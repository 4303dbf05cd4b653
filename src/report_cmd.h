/* SPDX-License-Identifier: MIT */
/*
 * `wsd report`: a report folder, laid out as the Autobahn testsuite lays
 * out its own, written from a running wsd's admin endpoint.
 */
#ifndef WSD_REPORT_CMD_H
#define WSD_REPORT_CMD_H

/*
 * Runs `wsd report ARGS...` (argv[0] is "report"). Returns the exit
 * status: 0 when every case was written, 1 when the endpoint or the folder
 * failed (said on stderr), 2 for a bad command line.
 */
int report_cmd_main(int argc, char **argv);

#endif

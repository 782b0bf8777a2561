/* SPDX-License-Identifier: GPL-2.0 */
/* `netlens top`: every module live, findings over a table a key switches. */
#ifndef NETLENS_TOP_H
#define NETLENS_TOP_H

#define TOP_SNAPSHOT_SECONDS 2.0   /* --once, or not a terminal, without -d */

int top_main(int argc, char **argv);

#endif

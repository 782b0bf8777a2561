/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NETLENS_PROBE_H
#define NETLENS_PROBE_H

/* `netlens probe`: what this kernel allows, and which hooks netlens will use. */
int probe_main(int argc, char **argv);

#endif

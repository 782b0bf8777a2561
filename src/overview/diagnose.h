/* SPDX-License-Identifier: GPL-2.0 */
/* `netlens diagnose`: every module for a while, then what is wrong, ranked. */
#ifndef NETLENS_DIAGNOSE_H
#define NETLENS_DIAGNOSE_H

#define DIAGNOSE_DEFAULT_SECONDS 10.0

int diagnose_main(int argc, char **argv);

#endif

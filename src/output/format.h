/* SPDX-License-Identifier: GPL-2.0 */
/* Pure formatting helpers shared by every module and sink (unit-tested). */
#ifndef NETLENS_FORMAT_H
#define NETLENS_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include "kernel/common_abi.h"

#define NL_ADDR_LEN   46   /* INET6_ADDRSTRLEN */
#define NL_TS_LEN     32   /* 2026-11-21T09:15:02.123456Z */

/* Address as text: dotted quad, or RFC 5952 IPv6. Returns buf. */
const char *nl_fmt_addr(uint8_t family, const uint8_t *addr, char *buf, size_t len);

/* "10.0.0.1:80" or "[fd00::1]:80". Returns buf. */
const char *nl_fmt_endpoint(uint8_t family, const uint8_t *addr, uint16_t port,
			    char *buf, size_t len);

/* RFC 3339, UTC, microseconds. Returns buf. */
const char *nl_fmt_rfc3339(uint64_t realtime_ns, char *buf, size_t len);

/* "HH:MM:SS.mmm" local time, for tables. Returns buf. */
const char *nl_fmt_clock(uint64_t realtime_ns, char *buf, size_t len);

/* 1023 -> "1023B", 97656 -> "95.4K", 3 GiB -> "3.0G". Returns buf. */
const char *nl_fmt_bytes(uint64_t bytes, char *buf, size_t len);

/* 152 -> "152us", 1532 -> "1.53ms", 2500000 -> "2.50s", 125 s -> "2m05s". */
const char *nl_fmt_usecs(uint64_t usecs, char *buf, size_t len);

/* A kernel comm (16 bytes, maybe unterminated) printable in a table: controls become '?'. */
const char *nl_fmt_comm(const char *comm, char *buf, size_t len);

/* "ECONNREFUSED"; unknown numbers as "E123". Returns a static string or buf. */
const char *nl_errno_name(int err, char *buf, size_t len);

/* "ESTABLISHED", ... for BPF_TCP_* states; "UNKNOWN" otherwise. */
const char *nl_tcp_state_name(int state);

#endif

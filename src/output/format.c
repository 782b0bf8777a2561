// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "output/format.h"

/* Writes v (< 1000) as decimal at p; returns the end. */
static char *put_u8(char *p, unsigned int v)
{
	if (v >= 100)
		*p++ = '0' + v / 100;
	if (v >= 10)
		*p++ = '0' + v / 10 % 10;
	*p++ = '0' + v % 10;
	return p;
}

const char *nl_fmt_addr(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	char *p = buf;

	/* glibc's inet_ntop() follows RFC 5952: lower case, longest zero run. */
	if (family == 6) {
		if (!inet_ntop(AF_INET6, addr, buf, len))
			snprintf(buf, len, "?");
		return buf;
	}
	/* IPv4 by hand: glibc formats it with sprintf, a hot spot at 100k records/s. */
	if (len < 16) {
		snprintf(buf, len, "?");
		return buf;
	}
	for (int i = 0; i < 4; i++) {
		p = put_u8(p, addr[i]);
		*p++ = i < 3 ? '.' : 0;
	}
	return buf;
}

const char *nl_fmt_endpoint(uint8_t family, const uint8_t *addr, uint16_t port,
			    char *buf, size_t len)
{
	char a[NL_ADDR_LEN];

	nl_fmt_addr(family, addr, a, sizeof(a));
	snprintf(buf, len, family == 6 ? "[%s]:%u" : "%s:%u", a, port);
	return buf;
}

const char *nl_fmt_rfc3339(uint64_t realtime_ns, char *buf, size_t len)
{
	/* The date and time change once a second: format them once a second. */
	static __thread time_t cached_sec = -1;
	static __thread char prefix[80];
	time_t sec = realtime_ns / 1000000000ULL;
	unsigned int us = realtime_ns % 1000000000ULL / 1000;
	struct tm tm;

	if (len < NL_TS_LEN) {
		snprintf(buf, len, "?");
		return buf;
	}
	if (sec != cached_sec) {
		gmtime_r(&sec, &tm);
		snprintf(prefix, sizeof(prefix), "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		cached_sec = sec;
	}
	memcpy(buf, prefix, 20);
	for (int i = 25; i >= 20; i--, us /= 10)
		buf[i] = '0' + us % 10;
	buf[26] = 'Z';
	buf[27] = 0;
	return buf;
}

const char *nl_fmt_clock(uint64_t realtime_ns, char *buf, size_t len)
{
	time_t sec = realtime_ns / 1000000000ULL;
	struct tm tm;

	localtime_r(&sec, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(realtime_ns % 1000000000ULL / 1000000));
	return buf;
}

const char *nl_fmt_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double v = bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%uB", (unsigned int)bytes);
		return buf;
	}
	while (v >= 1024 && u < (int)sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f%c", v, units[u]);
	return buf;
}

const char *nl_fmt_usecs(uint64_t usecs, char *buf, size_t len)
{
	if (usecs < 1000)
		snprintf(buf, len, "%uus", (unsigned int)usecs);
	else if (usecs < 1000000)
		snprintf(buf, len, "%.2fms", usecs / 1e3);
	else if (usecs < 60000000)
		snprintf(buf, len, "%.2fs", usecs / 1e6);
	else
		snprintf(buf, len, "%llum%02us", (unsigned long long)(usecs / 60000000),
			 (unsigned int)(usecs / 1000000 % 60));
	return buf;
}

const char *nl_fmt_comm(const char *comm, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len && i < NL_COMM_LEN && comm[i]; i++)
		buf[i] = (unsigned char)comm[i] < 0x20 || comm[i] == 0x7f ? '?' : comm[i];
	if (len)
		buf[i] = 0;
	return buf;
}

const char *nl_errno_name(int err, char *buf, size_t len)
{
	const char *name = err > 0 ? strerrorname_np(err) : NULL;

	if (name)
		return name;
	snprintf(buf, len, "E%d", err);
	return buf;
}

const char *nl_tcp_state_name(int state)
{
	static const char *const names[] = {
		[1] = "ESTABLISHED", [2] = "SYN_SENT", [3] = "SYN_RECV",
		[4] = "FIN_WAIT1", [5] = "FIN_WAIT2", [6] = "TIME_WAIT",
		[7] = "CLOSE", [8] = "CLOSE_WAIT", [9] = "LAST_ACK",
		[10] = "LISTEN", [11] = "CLOSING", [12] = "NEW_SYN_RECV",
	};

	if (state > 0 && state < (int)(sizeof(names) / sizeof(names[0])))
		return names[state];
	return "UNKNOWN";
}

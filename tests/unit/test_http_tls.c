// SPDX-License-Identifier: GPL-2.0
/* Where http's OpenSSL probes go: the wrappers' code read, on bytes given here and on the system's libssl. */
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>
#include "check.h"
#include "http/http.h"

/* Debian 12's OpenSSL 3.0: SSL_read_ex at 0x354c0 (sub $0x8,%rsp; call 0x35290; ...). */
static const uint8_t read_ex[] = {
	0x48, 0x83, 0xec, 0x08, 0xe8, 0xc7, 0xfd, 0xff, 0xff, 0x31, 0xd2, 0x85, 0xc0,
};

/* SSL_read at 0x35430: the stack protector first, then the same call at +0x1e. */
static const uint8_t read_plain[] = {
	0x48, 0x83, 0xec, 0x18, 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00,
	0x48, 0x89, 0x44, 0x24, 0x08, 0x31, 0xc0, 0x85, 0xd2, 0x78, 0x2f, 0x48, 0x89,
	0xe1, 0x48, 0x63, 0xd2, 0xe8, 0x3d, 0xfe, 0xff, 0xff, 0x85, 0xc0,
};

static void test_wrapper_call_target(void)
{
	uint8_t cet[sizeof(read_ex) + 4] = { 0xf3, 0x0f, 0x1e, 0xfa };

	CHECK(http_tls_call_target(read_ex, sizeof(read_ex), 0x354c0) == 0x35290);
	/* With endbr64 first, four bytes further on. */
	memcpy(cet + 4, read_ex, sizeof(read_ex));
	CHECK(http_tls_call_target(cet, sizeof(cet), 0x354bc) == 0x35290);
	/* Any other shape: none (SSL_read's, a push first, the call cut off). */
	CHECK(http_tls_call_target(read_plain, sizeof(read_plain), 0x35430) == 0);
	CHECK(http_tls_call_target((const uint8_t *)"\x41\x55\x41\x54\x55\x53", 6, 0x35290) == 0);
	CHECK(http_tls_call_target(read_ex, 8, 0x354c0) == 0);
}

static void test_plain_form_calls_the_same(void)
{
	CHECK(http_tls_calls(read_plain, sizeof(read_plain), 0x35430, 0x35290));
	CHECK(!http_tls_calls(read_plain, sizeof(read_plain), 0x35430, 0x355a0));
	CHECK(!http_tls_calls(read_plain, sizeof(read_plain) - 3, 0x35430, 0x35290));
}

/* The first instruction at off in path is a push (the kernel emulates it: no single-step). */
static int push_at(const char *path, uint64_t off)
{
	uint8_t b[2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : pread(fd, b, sizeof(b), off);

	if (fd >= 0)
		close(fd);
	if (n != sizeof(b))
		return 0;
	return (b[0] >= 0x50 && b[0] <= 0x57) || (b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57);
}

static void test_system_libssl(void)
{
	const char *path = "/usr/lib/x86_64-linux-gnu/libssl.so.3";
	uint64_t rd, wr;

	if (access(path, R_OK)) {
		printf("  (no %s: skipped)\n", path);
		return;
	}
	CHECK(http_tls_internal(path, &rd, &wr) == 0);
	CHECK(rd && wr && rd != wr);
	CHECK(push_at(path, rd) && push_at(path, wr));
	CHECK(http_tls_internal("/nonexistent/libssl.so.3", &rd, &wr) == -1 && !rd && !wr);
	CHECK(http_tls_internal("/bin/sh", &rd, &wr) == -1);
}

int main(void)
{
	RUN(test_wrapper_call_target);
	RUN(test_plain_form_calls_the_same);
#if defined(__x86_64__)
	RUN(test_system_libssl);
#endif
	return TEST_SUMMARY();
}

// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include "framework/cli.h"
#include "framework/netns.h"

#ifndef NETLENS_VERSION
#define NETLENS_VERSION "dev"
#endif
const char *nl_version = NETLENS_VERSION;

enum { OPT_CGROUP = 256, OPT_VERSION, OPT_RINGBUF, OPT_INTERVAL, OPT_NETNS };

struct shared_opt {
	struct option lo;
	unsigned int set;
	const char *arg;
	const char *help;
};

static const struct shared_opt shared[] = {
	{ { "output", required_argument, 0, 'o' }, NL_OPTS_OUTPUT, "table|json",
	  "table (default) or json: JSON Lines, one object per line" },
	{ { "duration", required_argument, 0, 'd' }, NL_OPTS_EVENTS, "SECONDS",
	  "stop after this long (default: until SIGINT/SIGTERM)" },
	{ { "pid", required_argument, 0, 'p' }, NL_OPTS_EVENTS, "PID",
	  "only sockets owned by this process" },
	{ { "comm", required_argument, 0, 'c' }, NL_OPTS_EVENTS, "NAME",
	  "only sockets owned by processes with this name" },
	{ { "port", required_argument, 0, 'P' }, NL_OPTS_EVENTS, "PORT",
	  "only this source or destination port (repeatable, up to 16)" },
	{ { "ipv4", no_argument, 0, '4' }, NL_OPTS_EVENTS, NULL, "only IPv4" },
	{ { "ipv6", no_argument, 0, '6' }, NL_OPTS_EVENTS, NULL, "only IPv6" },
	{ { "cgroup", required_argument, 0, OPT_CGROUP }, NL_OPTS_EVENTS, "PATH",
	  "only sockets of processes in this cgroup v2 directory or below" },
	{ { "netns", required_argument, 0, OPT_NETNS }, NL_OPTS_EVENTS, "NS",
	  "only this network namespace: an 'ip netns' name, /proc/PID/ns/net, or an inode" },
	{ { "ringbuf-kb", required_argument, 0, OPT_RINGBUF }, NL_OPTS_EVENTS, "KB",
	  "kernel-to-user ring buffer size, a power of two (default 4096)" },
	{ { "interval", required_argument, 0, OPT_INTERVAL }, NL_OPTS_INTERVAL, "SECONDS",
	  "also report aggregates every this many seconds (default: only at exit)" },
	{ { "verbose", no_argument, 0, 'v' }, 0, NULL,
	  "show libbpf and verifier logs" },
	{ { "help", no_argument, 0, 'h' }, 0, NULL, "show this help" },
	{ { "version", no_argument, 0, OPT_VERSION }, 0, NULL, "print the version" },
};

#define N_SHARED (sizeof(shared) / sizeof(shared[0]))
#define MAX_OPTS 64

void nl_die(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("netlens: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

const char *nl_echo(const char *s)
{
	static char bufs[4][NL_ECHO_MAX + 4];
	static unsigned int next;
	char *b = bufs[next++ % 4];

	if (!s)
		return "(null)";
	if (strlen(s) <= NL_ECHO_MAX)
		return s;
	snprintf(b, sizeof(bufs[0]), "%.*s...", NL_ECHO_MAX, s);
	return b;
}

int nl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int nl_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	static const char units[] = "kKmMgG";
	char num[24];
	size_t len = s ? strlen(s) : 0;
	const char *u;
	uint64_t v;
	int shift = 0;

	if (len && (u = strchr(units, s[len - 1]))) {
		shift = 10 * (1 + (u - units) / 2);
		len--;
	}
	/* strtoull() would take leading blanks. */
	if (!len || len >= sizeof(num) || s[0] < '0' || s[0] > '9')
		return -1;
	memcpy(num, s, len);
	num[len] = '\0';
	if (nl_parse_u64(num, 0, UINT64_MAX >> shift, &v) || (v << shift) < min ||
	    (v << shift) > max)
		return -1;
	*out = v << shift;
	return 0;
}

/* Decimal digits with at most one point: no sign, exponent, hex, "inf" or spaces. */
static bool is_decimal(const char *s)
{
	bool digit = false, point = false;

	for (; *s; s++) {
		if (*s == '.' && !point)
			point = true;
		else if (*s >= '0' && *s <= '9')
			digit = true;
		else
			return false;
	}
	return digit;
}

int nl_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !is_decimal(s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > 31536000)
		return -1;
	*out = v;
	return 0;
}

const char *nl_cgroup2_mount(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mounts", "r");
	char dev[256], dir[4096], type[64];

	if (!f)
		return NULL;
	while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(buf, len, "%s", dir);
			fclose(f);
			return buf;
		}
	}
	fclose(f);
	return NULL;
}

struct netns_search {
	uint64_t inode;
	bool found;
};

static void match_netns(void *ctx, const struct nl_netns *ns)
{
	struct netns_search *q = ctx;

	q->found |= ns->inode == q->inode;
}

/* True if a process's network namespace, or a named one, has this inode. */
static bool netns_exists(uint64_t inode)
{
	struct netns_search q = { .inode = inode };

	nl_netns_each(match_netns, &q);
	return q.found;
}

int nl_netns_inode(const char *ns, uint64_t *inode, char *err, size_t errlen)
{
	char path[4096];

	if (!nl_parse_u64(ns, 1, UINT32_MAX, inode)) {
		if (netns_exists(*inode))
			return 0;
		snprintf(err, errlen, "'%s': no network namespace has this inode (in /proc/*/ns/net "
			 "or /run/netns)", nl_echo(ns));
		return -1;
	}
	/* A bare name is one of iproute2's named namespaces. */
	snprintf(path, sizeof(path), "%s%s", strchr(ns, '/') ? "" : "/run/netns/", ns);
	if (access(path, F_OK)) {
		snprintf(err, errlen, "'%s': no such network namespace (%s)", nl_echo(ns),
			 strerror(errno));
		return -1;
	}
	*inode = nl_netns_file_inode(path);
	if (*inode)
		return 0;
	snprintf(err, errlen, "'%s' is not a network namespace (an 'ip netns' name, "
		 "/proc/PID/ns/net, or an inode)", nl_echo(ns));
	return -1;
}

int nl_cgroup_id(const char *path, uint64_t *id, char *err, size_t errlen)
{
	char mnt[4096];
	struct statfs sfs;
	struct stat st;

	if (statfs(path, &sfs) || stat(path, &st) || !S_ISDIR(st.st_mode) ||
	    sfs.f_type != CGROUP2_SUPER_MAGIC) {
		const char *m = nl_cgroup2_mount(mnt, sizeof(mnt));

		snprintf(err, errlen, "--cgroup %s: not a cgroup v2 directory%s%s%s", nl_echo(path),
			 m ? " (cgroup v2 is mounted at " : "", m ? m : "", m ? ")" : "");
		return -1;
	}
	/* On 64-bit kernels a cgroup's id is its kernfs inode number. */
	*id = st.st_ino;
	return 0;
}

static void print_opt(int key, const char *name, const char *arg, const char *help)
{
	char left[64], shortopt[8] = "    ";

	if (key < 256)
		snprintf(shortopt, sizeof(shortopt), "-%c, ", key);
	snprintf(left, sizeof(left), "%s--%s%s%s", shortopt, name, arg ? " " : "", arg ? arg : "");
	printf("  %-28s %s\n", left, help);
}

static void print_help(const struct nl_cmd_spec *spec)
{
	const struct nl_cmd_opt *c;

	printf("Usage: netlens %s [options]\n%s\n\nOptions:\n", spec->name, spec->summary);
	for (c = spec->opts; c && c->name; c++)
		print_opt(c->key, c->name, c->arg, c->help);
	for (size_t i = 0; i < N_SHARED; i++)
		if (!shared[i].set || (shared[i].set & spec->sets))
			print_opt(shared[i].lo.val, shared[i].lo.name, shared[i].arg, shared[i].help);
}

static void set_shared(int key, const char *arg, struct nl_opts *o, const char *cmd)
{
	struct nl_filter *f = &o->filter;
	char err[512];
	uint64_t v;

	switch (key) {
	case 'o':
		if (!strcmp(arg, "json"))
			o->output = NL_OUT_JSON;
		else if (!strcmp(arg, "table"))
			o->output = NL_OUT_TABLE;
		else
			nl_die(NL_EXIT_USAGE, "%s: --output must be table or json, not '%s'", cmd, nl_echo(arg));
		break;
	case 'd':
		if (nl_parse_seconds(arg, &o->duration))
			nl_die(NL_EXIT_USAGE, "%s: --duration: '%s' is not a positive number of seconds",
			       cmd, nl_echo(arg));
		break;
	case 'p':
		if (nl_parse_u64(arg, 1, 4194304, &v))
			nl_die(NL_EXIT_USAGE, "%s: --pid: '%s' is not a process id", cmd, nl_echo(arg));
		f->pid = v;
		break;
	case 'c':
		if (!*arg || strlen(arg) >= NL_COMM_LEN)
			nl_die(NL_EXIT_USAGE, "%s: --comm: a process name has 1 to %d characters", cmd, NL_COMM_LEN - 1);
		memset(f->comm, 0, sizeof(f->comm));
		memcpy(f->comm, arg, strlen(arg));
		f->has_comm = 1;
		break;
	case 'P':
		if (nl_parse_u64(arg, 1, 65535, &v))
			nl_die(NL_EXIT_USAGE, "%s: --port: '%s' is not a port number (1-65535)", cmd, nl_echo(arg));
		if (f->nports == NL_MAX_PORTS)
			nl_die(NL_EXIT_USAGE, "%s: --port: at most %d ports", cmd, NL_MAX_PORTS);
		f->ports[f->nports++] = v;
		break;
	case '4':
	case '6':
		/* A bit per family while parsing, turned into 4/6/0 at the end. */
		f->family |= key == '4' ? 1 : 2;
		break;
	case OPT_CGROUP:
		if (nl_cgroup_id(arg, &v, err, sizeof(err)))
			nl_die(NL_EXIT_USAGE, "%s: %s", cmd, err);
		f->cgroup_id = v;
		o->cgroup_path = arg;
		break;
	case OPT_NETNS:
		if (nl_netns_inode(arg, &v, err, sizeof(err)))
			nl_die(NL_EXIT_USAGE, "%s: --netns: %s", cmd, err);
		f->netns = v;
		break;
	case OPT_RINGBUF:
		if (nl_parse_u64(arg, 4, 1 << 20, &v) || (v & (v - 1)))
			nl_die(NL_EXIT_USAGE, "%s: --ringbuf-kb: '%s' is not a power of two from 4 to 1048576",
			       cmd, nl_echo(arg));
		o->ringbuf_bytes = v * 1024;
		break;
	case OPT_INTERVAL:
		if (nl_parse_seconds(arg, &o->interval))
			nl_die(NL_EXIT_USAGE, "%s: --interval: '%s' is not a positive number of seconds",
			       cmd, nl_echo(arg));
		break;
	case 'v':
		o->verbose = true;
		break;
	}
}

/* Calls opt's setter; on error err says "--name: why". */
static int set_own(const struct nl_cmd_opt *c, void *cfg, const char *arg, char *err,
		   size_t errlen)
{
	char why[384] = "";

	if (!c->set(cfg, arg, why, sizeof(why)))
		return 0;
	snprintf(err, errlen, "--%s: %s", c->name, why);
	return -1;
}

int nl_cli_set(const struct nl_cmd_spec *spec, void *cfg, const char *name, const char *arg,
	       char *err, size_t errlen)
{
	for (const struct nl_cmd_opt *c = spec->opts; c && c->name; c++)
		if (!strcmp(c->name, name))
			return set_own(c, cfg, arg, err, errlen);
	snprintf(err, errlen, "--%s: no such option", name);
	return -1;
}

void nl_cli_parse(const struct nl_cmd_spec *spec, void *cfg, int argc, char **argv,
		  struct nl_opts *o)
{
	struct option lopts[MAX_OPTS + 1];
	const struct nl_cmd_opt *c;
	char shorts[2 * MAX_OPTS + 2] = ":";
	size_t n = 0, ns = 1;
	int key;

	memset(o, 0, sizeof(*o));
	o->ringbuf_bytes = NL_RINGBUF_DEFAULT;
	for (c = spec->opts; c && c->name && n < MAX_OPTS; c++)
		lopts[n++] = (struct option){ c->name, c->arg ? required_argument : no_argument, 0, c->key };
	for (size_t i = 0; i < N_SHARED && n < MAX_OPTS; i++)
		if (!shared[i].set || (shared[i].set & spec->sets))
			lopts[n++] = shared[i].lo;
	lopts[n] = (struct option){ 0 };
	for (size_t i = 0; i < n; i++) {
		if (lopts[i].val >= 256)
			continue;
		shorts[ns++] = (char)lopts[i].val;
		if (lopts[i].has_arg)
			shorts[ns++] = ':';
	}
	shorts[ns] = 0;

	opterr = 0;
	/* 0, not 1: glibc restarts its scan state too (serve parses several argvs). */
	optind = 0;
	while ((key = getopt_long(argc, argv, shorts, lopts, NULL)) != -1) {
		char err[512] = "";

		if (key == '?') {
			if (optopt && optopt < 256)
				nl_die(NL_EXIT_USAGE, "%s: unknown option '-%c' (see --help)", spec->name, optopt);
			nl_die(NL_EXIT_USAGE, "%s: unknown option '%s' (see --help)", spec->name,
			       nl_echo(argv[optind - 1]));
		}
		if (key == ':')
			nl_die(NL_EXIT_USAGE, "%s: option '%s' needs an argument", spec->name,
			       nl_echo(argv[optind - 1]));
		if (key == 'h') {
			print_help(spec);
			exit(0);
		}
		if (key == OPT_VERSION) {
			printf("netlens %s\n", nl_version);
			exit(0);
		}
		for (c = spec->opts; c && c->name; c++)
			if (c->key == key)
				break;
		if (c && c->name) {
			if (set_own(c, cfg, optarg, err, sizeof(err)))
				nl_die(NL_EXIT_USAGE, "%s: %s", spec->name, err);
			continue;
		}
		set_shared(key, optarg, o, spec->name);
	}
	if (optind < argc)
		nl_die(NL_EXIT_USAGE, "%s: unexpected argument '%s' (see --help)", spec->name,
		       nl_echo(argv[optind]));
	/* -4 alone, -6 alone, or both (which is no filter at all). */
	o->filter.family = o->filter.family == 1 ? 4 : o->filter.family == 2 ? 6 : 0;
	if (spec->check)
		spec->check(cfg, o);
}

int nl_opt_u32(const char *arg, uint64_t min, uint64_t max, uint32_t *out, char *err,
	       size_t errlen)
{
	uint64_t v;

	if (nl_parse_u64(arg, min, max, &v)) {
		snprintf(err, errlen, "'%s' is not a number from %llu to %llu", nl_echo(arg),
			 (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

int nl_parse_endpoint(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	bool v6 = s[0] == '[';
	const char *end = v6 ? strchr(s, ']') : strchr(s, ':');
	char host[INET6_ADDRSTRLEN];
	uint64_t port;

	if (!end || (v6 && end[1] != ':') || (size_t)(end - s - v6) >= sizeof(host))
		return -1;
	memcpy(host, s + v6, end - s - v6);
	host[end - s - v6] = '\0';
	if (nl_parse_u64(end + 1 + v6, 1, 65535, &port))
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1 ? 0 : -1;
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	*len = sizeof(*sin);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

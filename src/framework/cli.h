/* SPDX-License-Identifier: GPL-2.0 */
/* The one parser for the options every netlens command shares. */
#ifndef NETLENS_CLI_H
#define NETLENS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "kernel/common_abi.h"

#define NL_EXIT_USAGE 2   /* bad command line */
#define NL_EXIT_ENV   1   /* not root, no BPF, kernel lacks a hook */

enum nl_output { NL_OUT_TABLE, NL_OUT_JSON };

/* Which groups of shared options a command takes. */
enum nl_opt_set {
	NL_OPTS_OUTPUT  = 1 << 0,  /* -o, -v */
	NL_OPTS_EVENTS  = 1 << 1,  /* -d, -p, -c, -P, -4, -6, --cgroup, --netns, --ringbuf-kb */
	NL_OPTS_INTERVAL = 1 << 2, /* --interval */
};

#define NL_RINGBUF_DEFAULT (4u << 20)

struct nl_opts {
	enum nl_output output;
	double duration;           /* seconds; 0 = until SIGINT/SIGTERM */
	double interval;           /* seconds between reports; 0 = only at exit */
	uint32_t ringbuf_bytes;    /* kernel-to-user ring buffer size */
	struct nl_filter filter;
	const char *cgroup_path;
	bool verbose;
};

/* Keys of a command's long-only options (shared ones use 256 and up). */
#define NL_OPT_LONG_ONLY 1024

/*
 * A command's own option: set() writes it into the command's options (the
 * instance nl_cli_parse() was given); returns 0 or writes a message into err.
 */
struct nl_cmd_opt {
	const char *name;          /* long name */
	int key;                   /* short letter, or NL_OPT_LONG_ONLY + n if none */
	const char *arg;           /* argument name, NULL for a flag */
	const char *help;
	int (*set)(void *cfg, const char *arg, char *err, size_t errlen);
};

struct nl_cmd_spec {
	const char *name;
	const char *summary;       /* one line for the help */
	unsigned int sets;         /* enum nl_opt_set */
	const struct nl_cmd_opt *opts;   /* terminated by a zeroed entry; may be NULL */
	/* Optional: checks options that depend on each other; nl_die()s on error. */
	void (*check)(void *cfg, struct nl_opts *o);
};

/*
 * Parses argv (argv[0] is the command name): the shared options into o,
 * the command's own into cfg (NULL if it has none). Prints the help and
 * exits 0 for -h; prints one line and exits NL_EXIT_USAGE on any error.
 */
void nl_cli_parse(const struct nl_cmd_spec *spec, void *cfg, int argc, char **argv,
		  struct nl_opts *o);

/* Sets spec's option --name in cfg as the command line would; 0, or -1 with "--name: why" in err. */
int nl_cli_set(const struct nl_cmd_spec *spec, void *cfg, const char *name, const char *arg,
	       char *err, size_t errlen);

/* Strict number parsing: the whole string, within [min, max]. 0 or -1. */
int nl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int nl_parse_seconds(const char *s, double *out);
/* "A.B.C.D:PORT" or "[IPv6]:PORT", numeric, port 1-65535, into ss; 0 or -1. */
int nl_parse_endpoint(const char *s, struct sockaddr_storage *ss, socklen_t *len);
/* A size: N, or N with k, M or G (binary: 64k = 65536), in [min, max]. 0 or -1. */
int nl_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* A command option's number in [min, max]; 0, or -1 with err "'x' is not a number from..". */
int nl_opt_u32(const char *arg, uint64_t min, uint64_t max, uint32_t *out, char *err,
	       size_t errlen);

/* Where cgroup v2 is mounted (first mount), or NULL. */
const char *nl_cgroup2_mount(char *buf, size_t len);

/* Resolves NAME (ip netns), a path, or an inode number to a netns inode. */
int nl_netns_inode(const char *ns, uint64_t *inode, char *err, size_t errlen);

/* Resolves a cgroup v2 directory to its id; 0 or -1 with err filled. */
int nl_cgroup_id(const char *path, uint64_t *id, char *err, size_t errlen);

/*
 * A value the user gave, for an error message: whole up to NL_ECHO_MAX
 * characters, else its first ones and "...". The result lasts until the
 * fourth call after it.
 */
#define NL_ECHO_MAX 48
const char *nl_echo(const char *s);

/* Prints "netlens: <msg>" on stderr and exits with code. */
void nl_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

extern const char *nl_version;

#endif

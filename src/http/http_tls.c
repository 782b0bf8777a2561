// SPDX-License-Identifier: GPL-2.0
/*
 * netlens http and OpenSSL: uprobes on SSL_write, SSL_write_ex, SSL_read,
 * SSL_read_ex of every libssl.so.3 file in use. A uprobe is set on a file
 * (an inode), so one attachment covers every process that maps that file,
 * those started later included; a file is found in /proc/<pid>/maps (read
 * through /proc/<pid>/root, for a process in another mount namespace) or
 * at the system's library paths, and attached once per inode. Processes
 * are scanned at start and then every few seconds (http.c), each pid once.
 */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>
#include <uthash.h>
#include "http/http.h"
#include "tcp.skel.h"

#define TLS_FUNCS 4

struct tls_lib {
	struct { dev_t dev; ino_t ino; } key;
	struct bpf_link *links[TLS_FUNCS * 2];
	UT_hash_handle hh;
};

struct tls_pid {
	int pid;
	UT_hash_handle hh;
};

struct http_tls {
	struct tls_lib *libs;
	unsigned int nlibs;
	struct tls_pid *pids;     /* scanned already, and alive at the last scan */
	bool system_done;
};

static const char *const funcs[TLS_FUNCS] = { "SSL_write", "SSL_write_ex", "SSL_read", "SSL_read_ex" };

static struct bpf_program *entry_prog(struct tcp_bpf *skel, int i)
{
	struct bpf_program *progs[TLS_FUNCS] = {
		skel->progs.http_ssl_write, skel->progs.http_ssl_write_ex,
		skel->progs.http_ssl_read, skel->progs.http_ssl_read_ex,
	};

	return progs[i];
}

struct http_tls *http_tls_new(void)
{
	return calloc(1, sizeof(struct http_tls));
}

static void lib_detach(struct tls_lib *l)
{
	for (int i = 0; i < TLS_FUNCS * 2; i++)
		bpf_link__destroy(l->links[i]);
}

/* Attaches to the file at path unless its inode has it; 1 if attached now, 0, or -errno. */
static int attach_file(struct http_tls *t, struct tcp_bpf *skel, const char *path, char *err,
		       size_t len)
{
	struct tls_lib *l, key;
	struct stat st;

	if (stat(path, &st))
		return 0;     /* gone since (the process exited) */
	memset(&key, 0, sizeof(key));
	key.key.dev = st.st_dev;
	key.key.ino = st.st_ino;
	HASH_FIND(hh, t->libs, &key.key, sizeof(key.key), l);
	if (l)
		return 0;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->key = key.key;
	for (int i = 0; i < TLS_FUNCS; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, in, .func_name = funcs[i]);
		LIBBPF_OPTS(bpf_uprobe_opts, out, .func_name = funcs[i], .retprobe = true);

		l->links[2 * i] = bpf_program__attach_uprobe_opts(entry_prog(skel, i), -1, path, 0, &in);
		l->links[2 * i + 1] = l->links[2 * i] ?
			bpf_program__attach_uprobe_opts(skel->progs.http_ssl_ret, -1, path, 0, &out) :
			NULL;
		if (!l->links[2 * i] || !l->links[2 * i + 1]) {
			int e = -errno;

			snprintf(err, len, "cannot attach uprobes to %s in %s: %s", funcs[i], path,
				 strerror(-e));
			lib_detach(l);
			free(l);
			return e;
		}
	}
	HASH_ADD(hh, t->libs, key, sizeof(l->key), l);
	t->nlibs++;
	return 1;
}

/* The libssl.so.3 files pid maps, attached. */
static int scan_pid(struct http_tls *t, struct tcp_bpf *skel, int pid, char *err, size_t len)
{
	char path[512], line[1024];
	int attached = 0, r;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/'), *base, *nl;

		if (!file)
			continue;
		nl = strchr(file, '\n');
		if (nl)
			*nl = 0;
		base = strrchr(file, '/') + 1;
		if (strncmp(base, "libssl.so.3", 11) || strstr(file, " (deleted)"))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/root%s", pid, file);
		r = attach_file(t, skel, path, err, len);
		if (r < 0) {
			fclose(f);
			return r;
		}
		attached += r;
	}
	fclose(f);
	return attached;
}

/* The system's own copies, so that a process started later with them is covered at once. */
static int scan_system(struct http_tls *t, struct tcp_bpf *skel, char *err, size_t len)
{
	static const char *const patterns[] = {
		"/usr/lib/*/libssl.so.3", "/lib/*/libssl.so.3", "/usr/lib64/libssl.so.3",
		"/usr/lib/libssl.so.3",
	};
	int attached = 0, r;

	for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
		glob_t g;

		if (glob(patterns[p], 0, NULL, &g))
			continue;
		for (size_t i = 0; i < g.gl_pathc; i++) {
			r = attach_file(t, skel, g.gl_pathv[i], err, len);
			if (r < 0) {
				globfree(&g);
				return r;
			}
			attached += r;
		}
		globfree(&g);
	}
	return attached;
}

int http_tls_scan(struct http_tls *t, struct tcp_bpf *skel, char *err, size_t len)
{
	struct tls_pid *alive = NULL, *p, *tmp;
	struct dirent *de;
	int attached = 0, r = 0;
	DIR *d;

	if (!t->system_done) {
		r = scan_system(t, skel, err, len);
		if (r < 0)
			return r;
		attached = r;
		t->system_done = true;
	}
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		HASH_FIND_INT(t->pids, &(int){ pid }, p);
		if (p) {
			HASH_DEL(t->pids, p);
		} else {
			r = scan_pid(t, skel, pid, err, len);
			if (r < 0)
				break;
			attached += r;
			p = calloc(1, sizeof(*p));
			if (!p) {
				r = -ENOMEM;
				break;
			}
			p->pid = pid;
		}
		HASH_ADD_INT(alive, pid, p);
	}
	closedir(d);
	/* What is left in t->pids exited since the last scan. */
	HASH_ITER(hh, t->pids, p, tmp) {
		HASH_DEL(t->pids, p);
		free(p);
	}
	t->pids = alive;
	return r < 0 ? r : attached;
}

unsigned int http_tls_libs(const struct http_tls *t)
{
	return t ? t->nlibs : 0;
}

void http_tls_free(struct http_tls *t)
{
	struct tls_lib *l, *ltmp;
	struct tls_pid *p, *ptmp;

	if (!t)
		return;
	HASH_ITER(hh, t->libs, l, ltmp) {
		HASH_DEL(t->libs, l);
		lib_detach(l);
		free(l);
	}
	HASH_ITER(hh, t->pids, p, ptmp) {
		HASH_DEL(t->pids, p);
		free(p);
	}
	free(t);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * netlens http and OpenSSL: uprobes on SSL_write, SSL_write_ex, SSL_read,
 * SSL_read_ex of every libssl.so.3 file in use. A uprobe is set on a file
 * (an inode), so one attachment covers every process that maps that file,
 * those started later included; a file is found in /proc/<pid>/maps (read
 * through /proc/<pid>/root, for a process in another mount namespace) or
 * at the system's library paths, and attached once per inode. Processes
 * are scanned at start and then every few seconds (http.c), each pid once.
 *
 * Where the probes go in a file: the kernel runs a uprobe's first
 * instruction either by emulating it (jumps, calls, nops, push) or by
 * single-stepping a copy of it, which costs a debug trap: 16 us per call on
 * this project's KVM guests against 0.4 us emulated (docs/performance.md).
 * The four exported functions begin with sub $N,%rsp (single-stepped).
 * OpenSSL 3 builds SSL_read_ex and SSL_write_ex as that stack adjustment and
 * a direct call of ssl_read_internal()/ssl_write_internal() (ssl/ssl_lib.c),
 * which every form (SSL_read, SSL_read_ex; SSL_write, SSL_write_ex) goes
 * through with the _ex arguments, and which begin with a push. Where the
 * code has that shape, and SSL_read (SSL_write) calls the same function,
 * the probes go on those two; else on the four exported functions.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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
	unsigned int ninternal;   /* of them, probed at ssl_read_internal()/ssl_write_internal() */
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

uint64_t http_tls_call_target(const uint8_t *code, size_t len, uint64_t addr)
{
	size_t i = 0;
	int32_t rel;

	if (len >= 4 && !memcmp(code, "\xf3\x0f\x1e\xfa", 4))       /* endbr64 */
		i = 4;
	if (len < i + 9 || memcmp(code + i, "\x48\x83\xec", 3) || code[i + 4] != 0xe8)
		return 0;                                              /* sub $imm8,%rsp; call */
	memcpy(&rel, code + i + 5, sizeof(rel));
	return addr + i + 9 + (int64_t)rel;
}

bool http_tls_calls(const uint8_t *code, size_t len, uint64_t addr, uint64_t target)
{
	int32_t rel;

	for (size_t i = 0; i + 5 <= len; i++) {
		if (code[i] != 0xe8)
			continue;
		memcpy(&rel, code + i + 1, sizeof(rel));
		if (addr + i + 5 + (int64_t)rel == target)
			return true;
	}
	return false;
}

/* The exported functions whose code tells where the internal ones are. */
enum { SYM_READ, SYM_READ_EX, SYM_WRITE, SYM_WRITE_EX, NSYMS };

static const char *const wrapper_names[NSYMS] = {
	"SSL_read", "SSL_read_ex", "SSL_write", "SSL_write_ex",
};

#define WRAPPER_BYTES 64   /* of a wrapper's code looked at */

/* The executable section holding addr and the file offset of addr; NULL if none. */
static Elf_Scn *text_of(Elf *elf, uint64_t addr, uint64_t *off)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR) || addr < sh.sh_addr ||
		    addr >= sh.sh_addr + sh.sh_size)
			continue;
		*off = addr - sh.sh_addr + sh.sh_offset;
		return scn;
	}
	return NULL;
}

/* The wrappers' addresses from the dynamic symbols; 0 if all were found. */
static int wrapper_addrs(Elf *elf, uint64_t addr[NSYMS])
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int found = 0;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(d, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    !sym.st_value)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			for (int k = 0; name && k < NSYMS; k++) {
				if (!addr[k] && !strcmp(name, wrapper_names[k])) {
					addr[k] = sym.st_value;
					found++;
				}
			}
		}
	}
	return found == NSYMS ? 0 : -1;
}

/* A wrapper's first bytes (up to WRAPPER_BYTES), from the file; how many. */
static size_t wrapper_code(Elf *elf, uint64_t addr, uint8_t *code)
{
	uint64_t off;
	Elf_Scn *scn = text_of(elf, addr, &off);
	GElf_Shdr sh;
	Elf_Data *d;
	size_t at, n;

	if (!scn || !gelf_getshdr(scn, &sh) || !(d = elf_getdata(scn, NULL)) || !d->d_buf)
		return 0;
	at = addr - sh.sh_addr;
	if (at >= d->d_size)
		return 0;
	n = d->d_size - at < WRAPPER_BYTES ? d->d_size - at : WRAPPER_BYTES;
	memcpy(code, (const uint8_t *)d->d_buf + at, n);
	return n;
}

/*
 * The function an _ex wrapper calls, if the plain form calls it too: its file
 * offset, or 0.
 */
static uint64_t internal_of(Elf *elf, const uint64_t addr[NSYMS], int ex, int plain)
{
	uint8_t code[WRAPPER_BYTES];
	uint64_t target, off;
	size_t n = wrapper_code(elf, addr[ex], code);

	target = http_tls_call_target(code, n, addr[ex]);
	if (!target)
		return 0;
	n = wrapper_code(elf, addr[plain], code);
	if (!http_tls_calls(code, n, addr[plain], target) || !text_of(elf, target, &off))
		return 0;
	return off;
}

int http_tls_internal(const char *path, uint64_t *read_off, uint64_t *write_off)
{
	uint64_t addr[NSYMS] = { 0 };
	int fd, err = -1;
	Elf *elf;

	*read_off = *write_off = 0;
#ifndef __x86_64__
	return -1;      /* the shapes looked for are x86-64 code */
#endif
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && !wrapper_addrs(elf, addr)) {
		*read_off = internal_of(elf, addr, SYM_READ_EX, SYM_READ);
		*write_off = internal_of(elf, addr, SYM_WRITE_EX, SYM_WRITE);
		err = *read_off && *write_off && *read_off != *write_off ? 0 : -1;
	}
	elf_end(elf);
	close(fd);
	return err;
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

/* An entry probe and a return probe on the function at off in path (0 and name: the symbol). */
static int attach_pair(struct tls_lib *l, int i, struct bpf_program *entry, struct tcp_bpf *skel,
		       const char *path, const char *name, uint64_t off, char *err, size_t len)
{
	LIBBPF_OPTS(bpf_uprobe_opts, in, .func_name = name);
	LIBBPF_OPTS(bpf_uprobe_opts, out, .func_name = name, .retprobe = true);
	int e;

	l->links[2 * i] = bpf_program__attach_uprobe_opts(entry, -1, path, off, &in);
	l->links[2 * i + 1] = l->links[2 * i] ?
		bpf_program__attach_uprobe_opts(skel->progs.http_ssl_ret, -1, path, off, &out) : NULL;
	if (l->links[2 * i] && l->links[2 * i + 1])
		return 0;
	e = -errno;     /* before snprintf() */
	snprintf(err, len, "cannot attach uprobes to %s in %s: %s",
		 name ? name : "ssl_read_internal/ssl_write_internal", path, strerror(-e));
	return e;
}

/* Attaches to the file at path unless its inode has it; 1 if attached now, 0, or -errno. */
static int attach_file(struct http_tls *t, struct tcp_bpf *skel, const char *path, char *err,
		       size_t len)
{
	struct tls_lib *l, key;
	uint64_t read_off, write_off;
	bool internal;
	struct stat st;
	int e = 0;

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
	internal = !http_tls_internal(path, &read_off, &write_off);
	if (internal) {
		/* ssl_read_internal()/ssl_write_internal() take the _ex arguments. */
		e = attach_pair(l, 0, skel->progs.http_ssl_read_ex, skel, path, NULL, read_off,
				err, len) ?:
		    attach_pair(l, 1, skel->progs.http_ssl_write_ex, skel, path, NULL, write_off,
				err, len);
	} else {
		for (int i = 0; i < TLS_FUNCS && !e; i++)
			e = attach_pair(l, i, entry_prog(skel, i), skel, path, funcs[i], 0, err, len);
	}
	if (e) {
		lib_detach(l);
		free(l);
		return e;
	}
	HASH_ADD(hh, t->libs, key, sizeof(l->key), l);
	t->nlibs++;
	t->ninternal += internal;
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

unsigned int http_tls_libs_internal(const struct http_tls *t)
{
	return t ? t->ninternal : 0;
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

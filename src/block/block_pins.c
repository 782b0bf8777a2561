// SPDX-License-Identifier: GPL-2.0
/*
 * A blocker's life in bpffs: <bpffs>/netlens/block/<netns inode>/<ifname>/
 * holds the XDP link ("link") and the maps, so the program outlives the
 * command and any later one reopens it.
 */
#include <errno.h>
#include <glob.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "block/block.h"
#include "framework/xdp.h"
#include "block.skel.h"

#define BPFFS      "/sys/fs/bpf"

/* Every pin: its file, the object's map pinned there (NULL: the link), its fd in struct blocker. */
static const struct {
	const char *name, *map;
	size_t fd;
} pins[] = {
	{ "rules4", "block_rules4", offsetof(struct blocker, rules4) },
	{ "rules6", "block_rules6", offsetof(struct blocker, rules6) },
	{ "hash4", "block_hash4", offsetof(struct blocker, hash4) },
	{ "hash6", "block_hash6", offsetof(struct blocker, hash6) },
	{ "buckets", "block_buckets", offsetof(struct blocker, buckets) },
	{ "conf", "block_conf", offsetof(struct blocker, conf) },
	{ "stats", "stats", offsetof(struct blocker, stats) },
	{ "link", NULL, offsetof(struct blocker, link) },
};
#define N_PINS (sizeof(pins) / sizeof(pins[0]))

static int *pin_fd(struct blocker *b, size_t i)
{
	return (int *)((char *)b + pins[i].fd);
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

static pid_t parent_of(pid_t pid)
{
	char path[32], buf[512], *p;
	FILE *f;
	int ppid = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	/* pid (comm) state ppid: comm may hold spaces and parentheses, so from the last ')'. */
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 1, " %*c %d", &ppid);
	fclose(f);
	return ppid;
}

/*
 * `ip netns exec` runs us in a mount namespace of its own with a fresh
 * /sys and no bpffs; pins in a bpffs mounted there would vanish with it.
 * The bpffs of the namespace we were started from is still reachable
 * through an ancestor's root (/proc/PID/root): the nearest one that has it.
 */
static bool ancestor_bpffs(char *buf, size_t len)
{
	for (pid_t pid = getppid(); pid > 0; pid = parent_of(pid)) {
		snprintf(buf, len, "/proc/%d/root" BPFFS, (int)pid);
		if (is_bpffs(buf))
			return true;
		if (pid == 1)
			break;
	}
	return false;
}

/* Whether we run in a mount namespace our parent is not in (ip netns exec). */
static bool own_mount_ns(void)
{
	struct stat self, parent;
	char path[48];

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)getppid());
	return !stat("/proc/self/ns/mnt", &self) && !stat(path, &parent) &&
	       self.st_ino != parent.st_ino;
}

/*
 * The bpffs to pin in: /sys/fs/bpf, else an ancestor's (ip netns exec),
 * else a new mount at /sys/fs/bpf.
 */
static int bpffs_root(const char **root, bool may_mount, char *err, size_t len)
{
	static char ancestor[64];

	if (is_bpffs(BPFFS)) {
		*root = BPFFS;
		return 0;
	}
	if (ancestor_bpffs(ancestor, sizeof(ancestor))) {
		*root = ancestor;
		return 0;
	}
	if (!may_mount) {
		snprintf(err, len, "no BPF filesystem at %s", BPFFS);
		return -ENOENT;
	}
	if (own_mount_ns())
		fprintf(stderr, "netlens block: no BPF filesystem in this mount namespace nor the "
			"one it came from: mounting one here, where its pins end with this command "
			"(mount bpffs at %s outside 'ip netns exec')\n", BPFFS);
	if (mount("bpf", BPFFS, "bpf", 0, "mode=0700")) {
		int e = errno;

		snprintf(err, len, "no BPF filesystem at %s and mounting one failed: %s", BPFFS,
			 strerror(e));
		return -e;
	}
	*root = BPFFS;
	return 0;
}

static int mkdirs(char *path)
{
	for (char *p = strchr(path + 1, '/'); ; p = strchr(p + 1, '/')) {
		if (p)
			*p = '\0';
		if (mkdir(path, 0700) && errno != EEXIST) {
			int e = errno;

			if (p)
				*p = '/';
			return -e;
		}
		if (!p)
			return 0;
		*p = '/';
	}
}

/*
 * The pin directory of ifname's blocker in this network namespace, in
 * bpffs (mounted when missing, if may_mount); 0 or -errno with err.
 */
static int pin_dir(const char *ifname, bool may_mount, char *dir, size_t len, char *err,
		   size_t errlen)
{
	struct stat ns;
	const char *root;
	int e = bpffs_root(&root, may_mount, err, errlen);

	if (e)
		return e;
	if (stat("/proc/self/ns/net", &ns)) {
		e = errno;
		snprintf(err, errlen, "cannot read this network namespace: %s", strerror(e));
		return -e;
	}
	snprintf(dir, len, "%s/netlens/block/%lu/%s", root, (unsigned long)ns.st_ino, ifname);
	return 0;
}

static void pin_path(const char *dir, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void unlink_pins(const char *dir)
{
	char path[PATH_MAX + 16];

	for (size_t i = 0; i < N_PINS; i++) {
		pin_path(dir, pins[i].name, path, sizeof(path));
		unlink(path);
	}
}

static void remove_pins(const char *dir)
{
	char path[PATH_MAX + 16];

	unlink_pins(dir);
	rmdir(dir);
	/* The namespace's directory too, once its last blocker is gone. */
	snprintf(path, sizeof(path), "%s", dir);
	if (strrchr(path, '/')) {
		*strrchr(path, '/') = '\0';
		rmdir(path);
	}
}

static void blocker_init(struct blocker *b)
{
	memset(b, 0, sizeof(*b));
	for (size_t i = 0; i < N_PINS; i++)
		*pin_fd(b, i) = -1;
	b->lock = -1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void blocker_close(struct blocker *b)
{
	for (size_t i = 0; i < N_PINS; i++)
		close_fd(pin_fd(b, i));
	close_fd(&b->lock);
}

static int get_pin(const char *dir, const char *name)
{
	char path[PATH_MAX + 16];

	pin_path(dir, name, path, sizeof(path));
	return bpf_obj_get(path);
}

int blocker_open(struct blocker *b, const char *ifname, int ifindex, bool may_mount, char *err,
		 size_t len)
{
	struct bpf_link_info info = { 0 };
	__u32 ilen = sizeof(info);
	int e;

	blocker_init(b);
	snprintf(b->ifname, sizeof(b->ifname), "%s", ifname);
	b->ifindex = ifindex;
	e = pin_dir(ifname, may_mount, b->dir, sizeof(b->dir), err, len);
	if (e)
		return e;
	b->link = get_pin(b->dir, "link");
	if (b->link < 0) {
		e = -errno;
		if (e != -ENOENT) {
			snprintf(err, len, "cannot open the blocker's link pinned in %s: %s", b->dir,
				 strerror(-e));
			return e;
		}
		/* Maps without a link are a creation under way (or one that died: it cleans them). */
		return -ENOENT;
	}
	if (bpf_obj_get_info_by_fd(b->link, &info, &ilen) || info.type != BPF_LINK_TYPE_XDP ||
	    (int)info.xdp.ifindex != ifindex) {
		/*
		 * The interface went away or the link was detached by force (either
		 * leaves it with ifindex 0), or the name is another interface's now.
		 */
		fprintf(stderr, "netlens block: removed the pins of a blocker no longer attached "
			"to %s (%s)\n", ifname, b->dir);
		blocker_close(b);
		remove_pins(b->dir);
		return -ENOENT;
	}
	b->link_id = info.id;
	b->prog_id = info.prog_id;
	for (size_t i = 0; i < N_PINS && !e; i++) {
		if (pins[i].map && (*pin_fd(b, i) = get_pin(b->dir, pins[i].name)) < 0)
			e = -errno;
	}
	b->lock = open(b->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!e && b->lock < 0)
		e = -errno;
	if (e) {
		snprintf(err, len, "the blocker's pins in %s are incomplete (%s): "
			 "'netlens block -i %s detach' removes them", b->dir, strerror(-e), ifname);
		blocker_close(b);
		return e;
	}
	return 0;
}

static void set_pins(struct block_bpf *skel, const char *dir)
{
	char path[PATH_MAX + 16];

	for (size_t i = 0; i < N_PINS; i++) {
		if (!pins[i].map)
			continue;
		pin_path(dir, pins[i].name, path, sizeof(path));
		bpf_map__set_pin_path(bpf_object__find_map_by_name(skel->obj, pins[i].map), path);
	}
}

static int load(struct block_bpf **out, const char *dir, const struct block_create_opts *o,
		char *err, size_t len)
{
	struct block_bpf *skel = block_bpf__open();
	int e;

	if (!skel) {
		e = -errno;
		snprintf(err, len, "cannot open the BPF object: %s", strerror(-e));
		return e;
	}
	bpf_map__set_autocreate(skel->maps.events, false);
	bpf_map__set_max_entries(skel->maps.block_rules4, o->max_rules);
	bpf_map__set_max_entries(skel->maps.block_rules6, o->max_rules);
	bpf_map__set_max_entries(skel->maps.block_hash4, o->max_rules);
	bpf_map__set_max_entries(skel->maps.block_hash6, o->max_rules);
	bpf_map__set_max_entries(skel->maps.block_buckets, o->max_sources);
	set_pins(skel, dir);
	e = block_bpf__load(skel);
	if (e) {
		snprintf(err, len, "the kernel refused the BPF program: %s%s", strerror(-e),
			 o->verbose ? "" : " (-v shows libbpf's log)");
		block_bpf__destroy(skel);
		return e;
	}
	*out = skel;
	return 0;
}

/*
 * Pins of blockers whose interface is gone (its namespace deleted, or the
 * device): the link is left detached, with ifindex 0. Removed, and said.
 */
static void remove_defunct(void)
{
	char pattern[PATH_MAX];
	const char *root;
	glob_t g;

	if (bpffs_root(&root, true, pattern, sizeof(pattern)))
		return;
	snprintf(pattern, sizeof(pattern), "%s/netlens/block/*/*/link", root);
	if (glob(pattern, 0, NULL, &g))
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct bpf_link_info info = { 0 };
		__u32 ilen = sizeof(info);
		int fd = bpf_obj_get(g.gl_pathv[i]);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &ilen) && info.type == BPF_LINK_TYPE_XDP &&
		    !info.xdp.ifindex) {
			*strrchr(g.gl_pathv[i], '/') = '\0';
			fprintf(stderr, "netlens block: removed the pins of a blocker whose interface "
				"is gone (%s)\n", g.gl_pathv[i]);
			remove_pins(g.gl_pathv[i]);
		}
		close(fd);
	}
	globfree(&g);
}

int blocker_create(struct blocker *b, const char *ifname, int ifindex,
		   const struct block_create_opts *o, char *err, size_t len)
{
	struct block_conf conf = { .next_id = 1, .ifindex = ifindex };
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct block_bpf *skel = NULL;
	__u32 zero = 0, mode;
	int e, link, lock;

	e = pin_dir(ifname, true, dir, sizeof(dir), err, len);
	if (e)
		return e;
	remove_defunct();
	e = mkdirs(dir);
	if (e) {
		snprintf(err, len, "cannot make %s: %s", dir, strerror(-e));
		return e;
	}
	/* Two first rules at once: one makes the blocker, the other then opens it. */
	lock = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock >= 0)
		flock(lock, LOCK_EX);
	pin_path(dir, "link", path, sizeof(path));
	if (!access(path, F_OK)) {
		close(lock);
		return blocker_open(b, ifname, ifindex, true, err, len);
	}
	/* Maps a creation that died left: under the lock, nobody else's. */
	unlink_pins(dir);
	e = nl_xdp_make_room(ifindex, ifname, o->force, err, len);
	if (e)
		goto fail;
	e = load(&skel, dir, o, err, len);
	if (e)
		goto fail;
	e = bpf_map_update_elem(bpf_map__fd(skel->maps.block_conf), &zero, &conf, BPF_ANY);
	if (e) {
		snprintf(err, len, "cannot write the blocker's configuration: %s", strerror(-e));
		goto fail;
	}
	link = nl_xdp_link(bpf_program__fd(skel->progs.block_xdp), ifindex, o->mode, &mode);
	if (link < 0) {
		e = link;
		snprintf(err, len, "cannot attach XDP (%s mode) to %s: %s",
			 nl_xdp_flags_name(mode), ifname, strerror(-e));
		goto fail;
	}
	e = bpf_obj_pin(link, path) ? -errno : 0;
	close(link);   /* pinned, it stays; unpinned, closing detaches it */
	if (e) {
		snprintf(err, len, "cannot pin the XDP link at %s: %s", path, strerror(-e));
		goto fail;
	}
	block_bpf__destroy(skel);
	if (lock >= 0)
		close(lock);
	e = blocker_open(b, ifname, ifindex, true, err, len);
	b->made = !e;
	return e;
fail:
	block_bpf__destroy(skel);
	remove_pins(dir);
	if (lock >= 0)
		close(lock);
	return e;
}

int blocker_destroy(struct blocker *b, char *err, size_t len)
{
	int e = bpf_link_detach(b->link);

	if (e && e != -EINVAL) {
		snprintf(err, len, "cannot detach the XDP link (id %u) from %s: %s", b->link_id,
			 b->ifname, strerror(-e));
		return e;
	}
	blocker_close(b);
	remove_pins(b->dir);
	return 0;
}

bool blocker_attached(const struct blocker *b)
{
	struct bpf_link_info info = { 0 };
	__u32 len = sizeof(info);

	return !bpf_obj_get_info_by_fd(b->link, &info, &len) && (int)info.xdp.ifindex == b->ifindex;
}

const char *blocker_mode(const struct blocker *b)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(b->ifindex, 0, &q))
		return "none";
	if (q.skb_prog_id == b->prog_id)
		return "generic";
	if (q.drv_prog_id == b->prog_id)
		return "native";
	return q.hw_prog_id == b->prog_id ? "offload" : "none";
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Attaches the empty programs of hook_floor.bpf.o and holds them until
 * SIGINT/SIGTERM: tracing ones where they say, cgroup_skb ones at the cgroup
 * v2 root, TC ones on IFACE (clsact, as netlens does). Prints "attached".
 * With a *_record program, it also reads their ring buffer, every 10 ms or
 * when woken, as a reader that takes each record and does nothing with it,
 * and says at the end how many it took.
 *
 *   hook_floor OBJ IFACE|- [PROGRAM...]   (no PROGRAM: every empty one)
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int cgroup_root(void)
{
	int fd = open("/sys/fs/cgroup/unified", O_RDONLY | O_DIRECTORY);

	return fd >= 0 ? fd : open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY);
}

static int is_record(const char *name)
{
	size_t n = strlen(name);

	return n > 7 && !strcmp(name + n - 7, "_record");
}

static int wanted(const char *name, int argc, char **argv)
{
	for (int i = 3; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return argc <= 3 && !is_record(name);
}

static int take_record(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	++*(unsigned long long *)ctx;
	return 0;
}

static int attach_tc(struct bpf_program *p, int ifindex, struct bpf_tc_opts *opts)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex);
	int err;

	hook.attach_point = strstr(bpf_program__name(p), "ingress") ? BPF_TC_INGRESS : BPF_TC_EGRESS;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	opts->prog_fd = bpf_program__fd(p);
	return bpf_tc_attach(&hook, opts);
}

static void detach_tc(int ifindex, enum bpf_tc_attach_point where, struct bpf_tc_opts *opts)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);

	if (!opts->prog_id)
		return;
	opts->prog_fd = opts->prog_id = 0;
	opts->flags = 0;
	bpf_tc_detach(&hook, opts);
}

int main(int argc, char **argv)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, tc_in, .handle = 0xf100, .priority = 1);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, tc_out, .handle = 0xf100, .priority = 1);
	struct ring_buffer *rb = NULL;
	unsigned long long taken = 0;
	struct bpf_object *obj;
	struct bpf_program *p;
	int ifindex = 0, cg = -1, err = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: hook_floor OBJ IFACE|- [PROGRAM...]\n");
		return 2;
	}
	if (strcmp(argv[2], "-") && !(ifindex = if_nametoindex(argv[2]))) {
		fprintf(stderr, "hook_floor: no interface %.16s\n", argv[2]);
		return 1;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "hook_floor: cannot load %s\n", argv[1]);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	bpf_object__for_each_program(p, obj) {
		const char *name = bpf_program__name(p);

		if (!wanted(name, argc, argv))
			continue;
		if (bpf_program__type(p) == BPF_PROG_TYPE_SCHED_CLS) {
			if (!ifindex)
				continue;
			err = attach_tc(p, ifindex, strstr(name, "ingress") ? &tc_in : &tc_out);
		} else if (bpf_program__type(p) == BPF_PROG_TYPE_CGROUP_SKB) {
			if (cg < 0 && (cg = cgroup_root()) < 0)
				err = -errno;
			else
				err = libbpf_get_error(bpf_program__attach_cgroup(p, cg));
		} else {
			err = libbpf_get_error(bpf_program__attach(p));
		}
		if (err) {
			fprintf(stderr, "hook_floor: cannot attach %s: %s\n", name, strerror(-err));
			break;
		}
		if (is_record(name) && !rb) {
			rb = ring_buffer__new(bpf_object__find_map_fd_by_name(obj, "floor_ring"),
					      take_record, &taken, NULL);
			if (!rb) {
				err = -errno;
				fprintf(stderr, "hook_floor: no ring buffer: %s\n", strerror(errno));
				break;
			}
		}
	}
	if (!err) {
		fprintf(stderr, "attached\n");
		while (!stop) {
			if (!rb) {
				pause();
				continue;
			}
			/* Records submitted without a wake-up are read when the wait times out. */
			if (ring_buffer__poll(rb, 10) == 0)
				ring_buffer__consume(rb);
		}
	}
	if (rb) {
		ring_buffer__consume(rb);
		fprintf(stderr, "took %llu records\n", taken);
	}
	ring_buffer__free(rb);
	detach_tc(ifindex, BPF_TC_INGRESS, &tc_in);
	detach_tc(ifindex, BPF_TC_EGRESS, &tc_out);
	bpf_object__close(obj);   /* the tracing and cgroup links go with it */
	return err ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0
/* `netlens probe`: feature detection by loading and attaching, not by guessing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <json-c/json.h>
#include <xdp/libxdp.h>
#include "framework/cli.h"
#include "framework/module.h"
#include "output/output.h"
#include "probe/probe.h"
#include "framework/sys.h"
#include "framework/tc.h"
#include "probe.skel.h"

#define SECURITYFS "/sys/kernel/security"

struct check {
	const char *name;
	bool ok;
	char detail[200];
};

/* The tracepoints netlens attaches to, by capability. */
static const char *const tracepoints[][2] = {
	{ "sock", "inet_sock_set_state" },
	{ "syscalls", "sys_exit_accept" },
	{ "syscalls", "sys_exit_accept4" },
	{ "syscalls", "sys_exit_connect" },
	{ "tcp", "tcp_retransmit_skb" },
	{ "tcp", "tcp_retransmit_synack" },
	{ "tcp", "tcp_probe" },
	{ "sock", "sock_send_length" },
	{ "sock", "sock_recv_length" },
	{ "skb", "kfree_skb" },
	{ "sock", "sock_rcvqueue_full" },
	{ "sock", "sock_exceed_buf_limit" },
};

#define N_TRACEPOINTS (sizeof(tracepoints) / sizeof(tracepoints[0]))

/* A uprobe target inside netlens itself. */
__attribute__((noinline, used)) int nl_probe_uprobe_target(int x)
{
	__asm__ volatile("" : : : "memory");
	return x + 1;
}

static void fail(struct check *c, const char *what, int err)
{
	c->ok = false;
	snprintf(c->detail, sizeof(c->detail), "%s: %s", what, strerror(err < 0 ? -err : err));
}

/* Opens the probe object with only prog loaded; NULL (and c filled) on failure. */
static struct probe_bpf *load_only(const char *prog, struct check *c)
{
	struct probe_bpf *skel = probe_bpf__open();
	struct bpf_program *p;
	int err;

	if (!skel) {
		fail(c, "open", errno);
		return NULL;
	}
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), prog));
	err = probe_bpf__load(skel);
	if (err) {
		fail(c, "load", err);
		probe_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static struct bpf_program *prog_of(struct probe_bpf *skel, const char *name)
{
	return bpf_object__find_program_by_name(skel->obj, name);
}

/* A TCP connect to a closed port on loopback: tcp_v4_connect and state changes. */
static void trigger_tcp(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int srv = socket(AF_INET, SOCK_STREAM, 0), fd = socket(AF_INET, SOCK_STREAM, 0);

	/* A port that was free a moment ago, so nothing answers but a RST. */
	if (srv >= 0 && !bind(srv, (struct sockaddr *)&sin, sizeof(sin)) &&
	    !getsockname(srv, (struct sockaddr *)&sin, &len)) {
		close(srv);
		srv = -1;
		if (fd >= 0)
			connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	}
	if (srv >= 0)
		close(srv);
	if (fd >= 0)
		close(fd);
}

/* A tracing hook counts only if its program ran after trigger(). */
static void check_fired(struct check *c, struct probe_bpf *skel, void (*trigger)(void))
{
	trigger();
	c->ok = skel->bss->hits > 0;
	if (!c->ok)
		snprintf(c->detail, sizeof(c->detail), "attached but never ran");
}

/* Load, attach where the section name says, and see it fire (tracing hooks). */
static void check_auto_attach(struct check *c, const char *prog)
{
	struct probe_bpf *skel = load_only(prog, c);
	struct bpf_link *link;

	if (!skel)
		return;
	link = bpf_program__attach(prog_of(skel, prog));
	if (!link) {
		fail(c, "attach", errno);
	} else {
		check_fired(c, skel, trigger_tcp);
		bpf_link__destroy(link);
	}
	probe_bpf__destroy(skel);
}

static void trigger_uprobe(void)
{
	nl_probe_uprobe_target(1);
}

static void check_uprobe(struct check *c)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = "nl_probe_uprobe_target");
	struct probe_bpf *skel = load_only("probe_uprobe", c);
	struct bpf_link *link;

	if (!skel)
		return;
	link = bpf_program__attach_uprobe_opts(skel->progs.probe_uprobe, getpid(),
					       "/proc/self/exe", 0, &opts);
	if (!link) {
		fail(c, "attach", errno);
	} else {
		check_fired(c, skel, trigger_uprobe);
		bpf_link__destroy(link);
	}
	probe_bpf__destroy(skel);
}

static void check_xdp(struct check *c, int ifindex, __u32 mode, const char *where)
{
	struct probe_bpf *skel = load_only("probe_xdp", c);
	int err;

	if (!skel)
		return;
	err = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.probe_xdp), mode, NULL);
	if (err) {
		fail(c, where, err);
	} else {
		c->ok = true;
		snprintf(c->detail, sizeof(c->detail), "%s", where);
		bpf_xdp_detach(ifindex, mode, NULL);
	}
	probe_bpf__destroy(skel);
}

static int libxdp_quiet(enum libxdp_print_level level, const char *fmt, va_list args)
{
	(void)level, (void)fmt, (void)args;
	return 0;
}

/*
 * libxdp's dispatcher (several XDP programs on one interface) needs freplace
 * programs; where the kernel refuses them libxdp attaches the program alone
 * ("legacy"), which is what netlens block does itself with a pinned link.
 */
static void check_libxdp(struct check *c, int ifindex)
{
	struct probe_bpf *skel = load_only("probe_xdp", c);
	struct xdp_program *prog;
	struct xdp_multiprog *mp;
	int err;

	if (!skel)
		return;
	libxdp_set_print(libxdp_quiet);
	prog = xdp_program__from_fd(bpf_program__fd(skel->progs.probe_xdp));
	err = libxdp_get_error(prog);
	if (!err)
		err = xdp_program__attach(prog, ifindex, XDP_MODE_NATIVE, 0);
	if (err) {
		fail(c, "libxdp attach", err);
	} else {
		mp = xdp_multiprog__get_from_ifindex(ifindex);
		c->ok = !libxdp_get_error(mp) && !xdp_multiprog__is_legacy(mp);
		snprintf(c->detail, sizeof(c->detail), c->ok ?
			 "libxdp: several XDP programs per interface" :
			 "libxdp: its dispatcher is refused here (freplace), a program "
			 "attaches alone; netlens block uses a pinned XDP link");
		if (!libxdp_get_error(mp))
			xdp_multiprog__close(mp);
		xdp_program__detach(prog, ifindex, XDP_MODE_NATIVE, 0);
	}
	if (!libxdp_get_error(prog))
		xdp_program__close(prog);
	probe_bpf__destroy(skel);
}

static void check_tc(struct check *c, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts);
	struct probe_bpf *skel = load_only("probe_tc", c);
	int err;

	if (!skel)
		return;
	opts.prog_fd = bpf_program__fd(skel->progs.probe_tc);
	err = bpf_tc_hook_create(&hook);
	if (!err || err == -EEXIST)
		err = bpf_tc_attach(&hook, &opts);
	if (err) {
		fail(c, "clsact attach", err);
	} else {
		c->ok = true;
		snprintf(c->detail, sizeof(c->detail), "clsact ingress/egress; netlens attaches "
			 "with %s", nl_tc_kind_name(nl_tc_kind()));
	}
	hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	bpf_tc_hook_destroy(&hook);
	probe_bpf__destroy(skel);
}

/*
 * XDP and TC are tried in a throwaway network namespace on a veth pair we
 * create there, so probing never touches the host's interfaces.
 */
static void check_net_hooks(struct check *native, struct check *generic, struct check *tc,
			    struct check *libxdp)
{
	int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int veth, lo;

	if (home < 0 || unshare(CLONE_NEWNET)) {
		fail(native, "private network namespace", errno);
		*generic = *tc = *libxdp = *native;
		if (home >= 0)
			close(home);
		return;
	}
	if (system("ip link add nlprobe0 type veth peer name nlprobe1 >/dev/null 2>&1 && "
		   "ip link set lo up && ip link set nlprobe0 up && ip link set nlprobe1 up") == 0 &&
	    (veth = if_nametoindex("nlprobe0")) > 0) {
		check_xdp(native, veth, XDP_FLAGS_DRV_MODE, "veth");
		check_libxdp(libxdp, veth);
	} else {
		snprintf(native->detail, sizeof(native->detail), "could not create a veth pair (iproute2)");
		*libxdp = *native;
	}
	lo = if_nametoindex("lo");
	check_xdp(generic, lo, XDP_FLAGS_SKB_MODE, "skb mode");
	check_tc(tc, lo);
	if (setns(home, CLONE_NEWNET))
		nl_die(NL_EXIT_ENV, "probe: cannot return to the original network namespace: %s",
		       strerror(errno));
	close(home);
}

/* sock_ops and cgroup_skb, attached to a cgroup of our own and removed. */
static void check_cgroup_hook(struct check *c, const char *prog, enum bpf_attach_type type,
			      const char *cg_root)
{
	struct probe_bpf *skel;
	char dir[4200];
	int cg, err;

	if (!cg_root) {
		c->ok = false;
		snprintf(c->detail, sizeof(c->detail), "cgroup v2 is not mounted");
		return;
	}
	skel = load_only(prog, c);
	if (!skel)
		return;
	snprintf(dir, sizeof(dir), "%s/netlens-probe-%d", cg_root, getpid());
	if (mkdir(dir, 0700) && errno != EEXIST) {
		fail(c, "mkdir in cgroup v2", errno);
		probe_bpf__destroy(skel);
		return;
	}
	cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = cg < 0 ? -errno : bpf_prog_attach(bpf_program__fd(prog_of(skel, prog)), cg, type, 0);
	if (err) {
		fail(c, "attach", err);
	} else {
		c->ok = true;
		snprintf(c->detail, sizeof(c->detail), "%s", cg_root);
		bpf_prog_detach2(bpf_program__fd(prog_of(skel, prog)), cg, type);
	}
	if (cg >= 0)
		close(cg);
	rmdir(dir);
	probe_bpf__destroy(skel);
}

static void read_lockdown(char *buf, size_t len)
{
	char line[128], *l, *r;
	FILE *f;

	if (access(SECURITYFS "/lockdown", R_OK))
		mount("securityfs", SECURITYFS, "securityfs", 0, NULL);
	f = fopen(SECURITYFS "/lockdown", "r");
	if (!f || !fgets(line, sizeof(line), f)) {
		snprintf(buf, len, "unknown (no %s/lockdown)", SECURITYFS);
	} else if ((l = strchr(line, '[')) && (r = strchr(l, ']'))) {
		*r = 0;
		snprintf(buf, len, "%s", l + 1);
	} else {
		snprintf(buf, len, "unknown");
	}
	if (f)
		fclose(f);
}

enum { C_RINGBUF, C_RAW_TP, C_TP, C_KPROBE, C_FENTRY, C_TP_BTF, C_UPROBE,
       C_XDP_NATIVE, C_XDP_GENERIC, C_LIBXDP, C_TC, C_SOCKOPS, C_CGROUP_SKB, N_CHECKS };

static void run_checks(struct check *c, const char *cg_root)
{
	static const char *const names[N_CHECKS] = {
		"ring_buffer", "raw_tracepoint", "tracepoint", "kprobe", "fentry", "tp_btf",
		"uprobe", "xdp_native", "xdp_generic", "libxdp_dispatcher", "tc", "sock_ops", "cgroup_skb",
	};

	for (int i = 0; i < N_CHECKS; i++)
		c[i].name = names[i];
	c[C_RINGBUF].ok = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	check_auto_attach(&c[C_RAW_TP], "probe_raw_tp");
	check_auto_attach(&c[C_TP], "probe_tracepoint");
	check_auto_attach(&c[C_KPROBE], "probe_kprobe");
	check_auto_attach(&c[C_FENTRY], "probe_fentry");
	check_auto_attach(&c[C_TP_BTF], "probe_tp_btf");
	check_uprobe(&c[C_UPROBE]);
	check_net_hooks(&c[C_XDP_NATIVE], &c[C_XDP_GENERIC], &c[C_TC], &c[C_LIBXDP]);
	check_cgroup_hook(&c[C_SOCKOPS], "probe_sockops", BPF_CGROUP_SOCK_OPS, cg_root);
	check_cgroup_hook(&c[C_CGROUP_SKB], "probe_cgroup_skb", BPF_CGROUP_INET_INGRESS, cg_root);
}

/* What a capability would use with its default options: a module without cfg. */
static int default_plan(const struct nl_module_ops *ops, char *buf, size_t len)
{
	struct nl_module defaults = { .ops = ops };

	return ops->plan(&defaults, buf, len);
}

/* "SHARED OBJECTS": the modules that load one BPF object together (the TCP core). */
static void print_shared(void)
{
	bool header = false;

	for (int i = 0; nl_modules[i]; i++) {
		const char *obj = nl_modules[i]->shared_object;
		bool first = true;

		for (int j = 0; obj && j < i; j++)
			first &= !nl_modules[j]->shared_object || strcmp(nl_modules[j]->shared_object, obj);
		if (!obj || !first)
			continue;
		if (!header)
			printf("SHARED OBJECTS\n");
		header = true;
		printf("  %-10s", obj);
		for (int j = i; nl_modules[j]; j++)
			if (nl_modules[j]->shared_object && !strcmp(nl_modules[j]->shared_object, obj))
				printf(" %s", nl_modules[j]->name);
		printf(": one BPF object, loaded once per process, one record per socket\n");
	}
}

static void print_table(const struct utsname *u, bool btf, const char *lockdown,
			const char *cg_root, const char *tracefs, const struct check *c)
{
	char plan[256];

	printf("KERNEL\n  %-24s %s\n  %-24s %s\n  %-24s %s\n  %-24s %s\n  %-24s %s\n",
	       "release", u->release, "btf", btf ? "yes (/sys/kernel/btf/vmlinux)" : "no",
	       "lockdown", lockdown, "tracefs", tracefs, "cgroup v2", cg_root ? cg_root : "not mounted");
	printf("HOOKS\n");
	for (int i = 0; i < N_CHECKS; i++)
		printf("  %-24s %-4s %s\n", c[i].name, c[i].ok ? "yes" : "no", c[i].detail);
	printf("TRACEPOINTS\n");
	for (size_t i = 0; i < N_TRACEPOINTS; i++) {
		char name[96];

		snprintf(name, sizeof(name), "%s:%s", tracepoints[i][0], tracepoints[i][1]);
		printf("  %-32s %s\n", name,
		       nl_tracepoint_exists(tracepoints[i][0], tracepoints[i][1]) ? "present" : "missing");
	}
	printf("CAPABILITIES\n");
	for (int i = 0; nl_modules[i]; i++) {
		int err = default_plan(nl_modules[i], plan, sizeof(plan));

		printf("  %-10s %-4s %s\n", nl_modules[i]->name, err ? "no" : "yes", plan);
	}
	print_shared();
}

static void print_json(const struct utsname *u, bool btf, const char *lockdown,
		       const char *cg_root, const char *tracefs, const struct check *c)
{
	struct json_object *o = json_object_new_object();
	struct json_object *hooks = json_object_new_object();
	struct json_object *tps = json_object_new_object();
	struct json_object *caps = json_object_new_object();
	struct nl_sink sink;
	char plan[256];

	json_object_object_add(o, "type", json_object_new_string("probe"));
	json_object_object_add(o, "kernel", json_object_new_string(u->release));
	json_object_object_add(o, "btf", json_object_new_boolean(btf));
	json_object_object_add(o, "lockdown", json_object_new_string(lockdown));
	json_object_object_add(o, "tracefs", json_object_new_string(tracefs));
	json_object_object_add(o, "cgroup2", cg_root ? json_object_new_string(cg_root) : NULL);
	for (int i = 0; i < N_CHECKS; i++) {
		struct json_object *h = json_object_new_object();

		json_object_object_add(h, "ok", json_object_new_boolean(c[i].ok));
		json_object_object_add(h, "detail", json_object_new_string(c[i].detail));
		json_object_object_add(hooks, c[i].name, h);
	}
	json_object_object_add(o, "hooks", hooks);
	for (size_t i = 0; i < N_TRACEPOINTS; i++) {
		char name[96];

		snprintf(name, sizeof(name), "%s:%s", tracepoints[i][0], tracepoints[i][1]);
		json_object_object_add(tps, name, json_object_new_boolean(
			nl_tracepoint_exists(tracepoints[i][0], tracepoints[i][1])));
	}
	json_object_object_add(o, "tracepoints", tps);
	for (int i = 0; nl_modules[i]; i++) {
		struct json_object *cap = json_object_new_object();
		int err = default_plan(nl_modules[i], plan, sizeof(plan));

		json_object_object_add(cap, "ok", json_object_new_boolean(!err));
		json_object_object_add(cap, "method", json_object_new_string(plan));
		if (nl_modules[i]->shared_object)
			json_object_object_add(cap, "shared_object",
					       json_object_new_string(nl_modules[i]->shared_object));
		json_object_object_add(caps, nl_modules[i]->name, cap);
	}
	json_object_object_add(o, "capabilities", caps);
	nl_sink_init(&sink, NL_OUT_JSON, stdout);
	nl_sink_json(&sink, o);
	json_object_put(o);
}

int probe_main(int argc, char **argv)
{
	const struct nl_cmd_spec spec = {
		.name = "probe",
		.summary = "Loads and attaches a test program for each hook type and says what this\n"
			   "kernel allows and which hooks each netlens capability will use.",
		.sets = NL_OPTS_OUTPUT,
	};
	struct check checks[N_CHECKS] = { 0 };
	char lockdown[64], cgbuf[4096], why[256], tracefs[128];
	const char *cg_root;
	struct utsname u;
	struct nl_opts o;
	bool btf;
	int err;

	nl_cli_parse(&spec, NULL, argc, argv, &o);
	nl_libbpf_logging(o.verbose);
	if (nl_bpf_usable(why, sizeof(why)))
		nl_die(NL_EXIT_ENV, "eBPF cannot be used: %s", why);
	err = nl_tracefs_mount();
	snprintf(tracefs, sizeof(tracefs), err ? "unavailable: %s" : NL_TRACEFS "%s",
		 err ? strerror(-err) : "");
	uname(&u);
	btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	read_lockdown(lockdown, sizeof(lockdown));
	cg_root = nl_cgroup2_mount(cgbuf, sizeof(cgbuf));
	run_checks(checks, cg_root);
	if (o.output == NL_OUT_JSON)
		print_json(&u, btf, lockdown, cg_root, tracefs, checks);
	else
		print_table(&u, btf, lockdown, cg_root, tracefs, checks);
	return 0;
}

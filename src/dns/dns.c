// SPDX-License-Identifier: GPL-2.0
/* netlens dns: the module (BPF lifecycle) and the command (see src/dns/dns.bpf.c). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dns/dns.h"
#include "framework/module.h"
#include "framework/sys.h"
#include "framework/tc.h"
#include "dns.skel.h"

#define DNS_CG_LINKS 4   /* connect4/6, and cgroup_skb x2 or (-i) sendmsg4/6 */
/* The kernel's pending queries are checked for timeouts every 100 ms. */
#define DNS_EXPIRE_EVERY_NS 100000000ULL

/* Timeouts per server: the kernel's pending queries this process expired. */
struct dns_expired {
	struct nl_dest_key key;
	uint64_t timeouts;
	UT_hash_handle hh;
};

struct dns {
	struct dns_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[DNS_CG_LINKS];
	struct nl_tc tc;          /* -i */
	struct dns_report report;
	struct dns_expired *expired;
	uint64_t expired_at;      /* the last walk of dns_pending */
	int ncpu;
	struct dns_server_stats *percpu;   /* one dns_servers value: a row per possible CPU */
};

static int dns_plan(const struct nl_module *m, char *buf, size_t len)
{
	const struct dns_cfg *cfg = m->cfg;
	char mnt[256];
	bool cgroup = nl_cgroup2_mount(mnt, sizeof(mnt)) != NULL;

	/* Not visible in this mount namespace (`ip netns exec`): open() mounts it. */
	if (!cgroup || !strcmp(mnt, NL_CGROUP2_DIR))
		snprintf(mnt, sizeof(mnt), "%s (mounted by netlens: none visible here)",
			 NL_CGROUP2_DIR);
	if (cfg && cfg->iface) {
		snprintf(buf, len, "tc ingress+egress on %s (%s); cgroup/connect4,6 sendmsg4,6 "
			 "for the querying process on %s", cfg->iface, nl_tc_kind_name(nl_tc_kind()),
			 mnt);
		return 0;
	}
	snprintf(buf, len, "cgroup_skb ingress+egress on %s (all namespaces, %s); "
		 "cgroup/connect4,6 for the querying process", mnt,
		 cfg && cfg->server_side ? "clients' and servers' side" : "clients' side");
	return 0;
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct nl_module *m = ctx;
	struct dns *d = m->priv;

	dns_report_event(&d->report, m->sink, data, len);
	return 0;
}

static uint32_t own_netns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (uint32_t)st.st_ino;
}

/* Servers beyond DNS_MAX_SERVERS are counted in this row (family 0): it must exist first. */
static int insert_other_row(struct dns *d)
{
	struct nl_dest_key other = { 0 };

	d->ncpu = libbpf_num_possible_cpus();
	if (d->ncpu < 0)
		return d->ncpu;
	d->percpu = calloc(d->ncpu, sizeof(*d->percpu));
	if (!d->percpu)
		return -ENOMEM;
	if (bpf_map_update_elem(bpf_map__fd(d->skel->maps.dns_servers), &other, d->percpu,
				BPF_NOEXIST))
		return -errno;
	return 0;
}

/* The row a timeout of server counts in: the server's, or "other" if the kernel had no room. */
static void count_timeout(struct dns *d, const struct nl_dest_key *server)
{
	struct nl_dest_key key = *server;
	struct dns_expired *e;

	if (bpf_map_lookup_elem(bpf_map__fd(d->skel->maps.dns_servers), &key, d->percpu))
		memset(&key, 0, sizeof(key));
	HASH_FIND(hh, d->expired, &key, sizeof(key), e);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return;
		e->key = key;
		HASH_ADD(hh, d->expired, key, sizeof(e->key), e);
	}
	e->timeouts++;
}

/* A pending query older than the timeout ends: deleted, then a timeout of its server. */
static void expire_one(struct dns *d, const struct dns_txn_key *key, uint64_t now)
{
	int fd = bpf_map__fd(d->skel->maps.dns_pending);
	struct nl_dest_key server = { .port = key->sport, .family = key->family };
	struct dns_pending p;

	if (bpf_map_lookup_elem(fd, key, &p) || now < p.ts_ns + d->report.timeout_ns)
		return;
	/* Its answer may be deleting it right now: whichever delete succeeds counts it. */
	if (bpf_map_delete_elem(fd, key))
		return;
	memcpy(server.addr, key->server, sizeof(server.addr));
	count_timeout(d, &server);
}

/*
 * Ends the kernel's pending queries older than --timeout (the kernel deletes
 * an entry when its answer comes), so a query is an answer or a timeout,
 * never both. The next key is taken before the current one may be deleted.
 */
static void expire_pending(struct dns *d, uint64_t now)
{
	int fd = bpf_map__fd(d->skel->maps.dns_pending);
	struct dns_txn_key key, next;
	bool more;

	if (now < d->expired_at + DNS_EXPIRE_EVERY_NS)
		return;
	d->expired_at = now;
	if (bpf_map_get_next_key(fd, NULL, &key))
		return;
	do {
		more = !bpf_map_get_next_key(fd, &key, &next);
		expire_one(d, &key, now);
		key = next;
	} while (more);
}

static uint64_t timeouts_of(const struct dns *d, const struct nl_dest_key *key)
{
	struct dns_expired *e;

	HASH_FIND(hh, d->expired, key, sizeof(*key), e);
	return e ? e->timeouts : 0;
}

/* The kernel's per-server totals, summed over CPUs, into the report. */
static void read_servers(struct dns *d)
{
	int fd = bpf_map__fd(d->skel->maps.dns_servers);
	struct nl_dest_key key, next, *prev = NULL;
	struct dns_server_stats sum;

	dns_report_kernel_clear(&d->report);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, d->percpu))
			continue;   /* rows are never deleted: not expected */
		memset(&sum, 0, sizeof(sum));
		for (int c = 0; c < d->ncpu; c++)
			dns_server_stats_add(&sum, &d->percpu[c]);
		if (dns_report_kernel_row(&d->report, &key, &sum, timeouts_of(d, &key)))
			break;
	}
}

static int dns_open(struct nl_module *m, const struct nl_opts *o)
{
	const struct dns_cfg *cfg = m->cfg;
	bool tc = cfg->iface != NULL;
	char mnt[256];
	struct dns *d;
	int err;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	m->priv = d;
	if (!nl_cgroup2_root(mnt, sizeof(mnt)))
		return nl_module_fail(m, -errno, "cgroup v2 is not mounted and mounting it at %s failed",
				      NL_CGROUP2_DIR);
	dns_report_init(&d->report, (uint64_t)(cfg->timeout * 1e9), cfg->top);

	d->skel = dns_bpf__open();
	if (!d->skel)
		return nl_module_fail(m, -errno, "cannot open the BPF object");
	memcpy((void *)&d->skel->rodata->nl_filter, &o->filter, sizeof(o->filter));
	d->skel->rodata->dns_port = cfg->port;
	d->skel->rodata->server_side = cfg->server_side;
	d->skel->rodata->tc_netns = own_netns();
	nl_ringbuf_setup(d->skel->maps.events, &d->skel->rodata->nl_wakeup_bytes, o->ringbuf_bytes);
	/* One packet hook: the interface's view with -i, else every local socket's. */
	bpf_program__set_autoload(d->skel->progs.dns_cg_egress, !tc);
	bpf_program__set_autoload(d->skel->progs.dns_cg_ingress, !tc);
	bpf_program__set_autoload(d->skel->progs.dns_tc_egress, tc);
	bpf_program__set_autoload(d->skel->progs.dns_tc_ingress, tc);
	/* cgroup_skb learns a UDP query's sender itself: sendmsg(2) is hooked for -i only. */
	bpf_program__set_autoload(d->skel->progs.dns_sendmsg4, tc);
	bpf_program__set_autoload(d->skel->progs.dns_sendmsg6, tc);

	err = dns_bpf__load(d->skel);
	if (err)
		return nl_module_fail(m, err, "the kernel refused the BPF programs "
				      "(cgroup_skb, TC and bpf_rdonly_cast need Linux 6.2+)");
	m->obj = d->skel->obj;
	err = insert_other_row(d);
	if (err)
		return nl_module_fail(m, err, "cannot insert the servers' \"other\" row");
	return nl_module_ringbuf(m, d->skel->maps.events, on_event, &d->rb);
}

static int attach_cgroup(struct nl_module *m, bool tc)
{
	struct dns *d = m->priv;
	struct dns_bpf *s = d->skel;
	/* The packets' programs, or with -i the sendmsg hooks (TC programs are no cgroup's). */
	struct bpf_program *progs[DNS_CG_LINKS] = {
		s->progs.dns_connect4, s->progs.dns_connect6,
		tc ? s->progs.dns_sendmsg4 : s->progs.dns_cg_egress,
		tc ? s->progs.dns_sendmsg6 : s->progs.dns_cg_ingress,
	};
	char mnt[256];
	int fd, err = 0;

	if (!nl_cgroup2_mount(mnt, sizeof(mnt))) {
		snprintf(m->err, sizeof(m->err), "cgroup v2 is not mounted");
		return -ENOENT;
	}
	fd = open(mnt, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return nl_module_fail(m, -errno, "cannot open the cgroup v2 root");
	for (int i = 0; i < DNS_CG_LINKS; i++) {
		d->links[i] = bpf_program__attach_cgroup(progs[i], fd);
		if (!d->links[i]) {
			err = nl_module_fail(m, -errno, "cannot attach %s to %.100s",
					     bpf_program__name(progs[i]), mnt);
			break;
		}
	}
	close(fd);
	return err;
}

static int attach_tc(struct nl_module *m, const char *iface)
{
	struct dns *d = m->priv;
	int ifindex = if_nametoindex(iface);
	int err;

	if (!ifindex) {
		snprintf(m->err, sizeof(m->err), "no interface %s", iface);
		return -ENODEV;
	}
	err = nl_tc_attach(m, &d->tc, ifindex, iface, NL_TC_INGRESS,
			   bpf_program__fd(d->skel->progs.dns_tc_ingress));
	return err ? err : nl_tc_attach(m, &d->tc, ifindex, iface, NL_TC_EGRESS,
					bpf_program__fd(d->skel->progs.dns_tc_egress));
}

static int dns_attach(struct nl_module *m)
{
	const struct dns_cfg *cfg = m->cfg;
	int err = cfg->iface ? attach_tc(m, cfg->iface) : 0;

	return err ? err : attach_cgroup(m, cfg->iface != NULL);
}

static int dns_poll(struct nl_module *m, int timeout_ms)
{
	struct dns *d = m->priv;
	int n = nl_ringbuf_read(d->rb, timeout_ms);

	if (n >= 0) {
		uint64_t now = nl_now_mono();

		expire_pending(d, now);
		dns_report_expire(&d->report, m->sink, now);
	}
	return n;
}

static void dns_collect(struct nl_module *m, bool final)
{
	struct dns *d = m->priv;
	uint64_t st[NL_STAT_MAX];

	(void)final;   /* totals are cumulative: the same record at any time */
	read_servers(d);
	if (!nl_read_stats(bpf_map__fd(d->skel->maps.stats), st))
		dns_report_summary(&d->report, m->sink, st);
}

static void dns_metrics(struct nl_module *m, struct nl_prom *p)
{
	struct dns *d = m->priv;

	read_servers(d);
	dns_report_metrics(&d->report, p);
}

static void free_expired(struct dns *d)
{
	struct dns_expired *e, *tmp;

	HASH_ITER(hh, d->expired, e, tmp) {
		HASH_DEL(d->expired, e);
		free(e);
	}
}

static void dns_findings(struct nl_module *m, struct nl_findings *out)
{
	struct dns *d = m->priv;
	uint64_t st[NL_STAT_MAX];

	read_servers(d);
	if (!nl_read_stats(bpf_map__fd(d->skel->maps.stats), st))
		dns_report_findings(&d->report, st, out);
}

static void dns_destroy(struct nl_module *m)
{
	struct dns *d = m->priv;

	if (!d)
		return;
	nl_tc_detach(&d->tc);
	for (int i = 0; i < DNS_CG_LINKS; i++)
		bpf_link__destroy(d->links[i]);
	ring_buffer__free(d->rb);
	dns_bpf__destroy(d->skel);
	free_expired(d);
	free(d->percpu);
	dns_report_free(&d->report);
	nl_cgroup2_release();
	free(d);
	m->priv = NULL;
}

static const struct nl_cmd_spec *dns_spec(void);

static const struct dns_cfg defaults = { .timeout = DNS_DEFAULT_TIMEOUT_S,
					 .top = DNS_DEFAULT_TOP, .port = DNS_DEFAULT_PORT };

const struct nl_module_ops nl_dns_ops = {
	.name = "dns",
	.help = "DNS queries and answers: qname, rcode, answers, latency, timeouts",
	.spec = dns_spec,
	.cfg_size = sizeof(struct dns_cfg),
	.cfg_defaults = &defaults,
	.plan = dns_plan,
	.open = dns_open,
	.attach = dns_attach,
	.poll = dns_poll,
	.collect = dns_collect,
	.metrics = dns_metrics,
	.findings = dns_findings,
	.destroy = dns_destroy,
};

static int set_timeout(void *ctx, const char *arg, char *err, size_t len)
{
	struct dns_cfg *cfg = ctx;

	if (nl_parse_seconds(arg, &cfg->timeout) || cfg->timeout <= 0 || cfg->timeout > 3600) {
		snprintf(err, len, "'%s' is not a number of seconds from 0 to 3600", nl_echo(arg));
		return -1;
	}
	return 0;
}

static int set_top(void *ctx, const char *arg, char *err, size_t len)
{
	return nl_opt_u32(arg, 1, 10000, &((struct dns_cfg *)ctx)->top, err, len);
}

static int set_port(void *ctx, const char *arg, char *err, size_t len)
{
	struct dns_cfg *cfg = ctx;
	uint64_t v;

	if (nl_parse_u64(arg, 1, 65535, &v)) {
		snprintf(err, len, "'%s' is not a port from 1 to 65535", nl_echo(arg));
		return -1;
	}
	cfg->port = v;
	return 0;
}

static int set_server_side(void *ctx, const char *arg, char *err, size_t len)
{
	(void)arg, (void)err, (void)len;
	((struct dns_cfg *)ctx)->server_side = true;
	return 0;
}

static int set_iface(void *ctx, const char *arg, char *err, size_t len)
{
	struct dns_cfg *cfg = ctx;

	if (!if_nametoindex(arg)) {
		snprintf(err, len, "no interface '%s' in this network namespace", nl_echo(arg));
		return -1;
	}
	cfg->iface = arg;
	return 0;
}

/* `netlens dns` */
static void check_options(void *ctx, struct nl_opts *o)
{
	const struct dns_cfg *cfg = ctx;

	if (cfg->iface && o->cgroup_path)
		nl_die(NL_EXIT_USAGE, "dns: --cgroup does not apply with -i: TC sees packets, not sockets' cgroups");
	if (cfg->iface && cfg->server_side)
		nl_die(NL_EXIT_USAGE, "dns: --server-side does not apply with -i: TC sees both sides");
}

static const struct nl_cmd_spec *dns_spec(void)
{
	static const struct nl_cmd_opt opts[] = {
		{ "interface", 'i', "IFACE", "the DNS traffic crossing this interface (TC), not "
		  "every local socket's", set_iface },
		{ "timeout", NL_OPT_LONG_ONLY, "SECONDS", "a query unanswered this long is a TIMEOUT "
		  "(default 5)", set_timeout },
		{ "top", NL_OPT_LONG_ONLY + 1, "N", "qnames in the summary (default 10)", set_top },
		{ "dns-port", NL_OPT_LONG_ONLY + 2, "PORT", "the DNS server port (default 53)", set_port },
		{ "server-side", NL_OPT_LONG_ONLY + 3, NULL, "also local DNS servers' side, not only "
		  "the clients'", set_server_side },
		{ 0 },
	};
	static const struct nl_cmd_spec spec = {
		.name = "dns",
		.summary = "DNS queries and answers of every process in every network namespace\n"
			   "(UDP and TCP): qname, type, rcode, answers, latency, timeouts.",
		.sets = NL_OPTS_OUTPUT | NL_OPTS_EVENTS | NL_OPTS_INTERVAL,
		.opts = opts,
		.check = check_options,
	};
	return &spec;
}

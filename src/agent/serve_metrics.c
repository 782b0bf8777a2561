// SPDX-License-Identifier: GPL-2.0
/* serve's own metrics: what the agent costs and whether it loses anything. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "framework/cli.h"
#include "agent/serve.h"
#include "agent/serve_http.h"
#include "framework/sys.h"

static void declare(struct nl_prom *p)
{
	nl_prom_family(p, "netlens_build_info", NL_PROM_GAUGE,
		       "netlens version (always 1).");
	nl_prom_family(p, "netlens_module_up", NL_PROM_GAUGE,
		       "1 when the module's BPF programs are loaded and attached.");
	nl_prom_family(p, "netlens_events_total", NL_PROM_COUNTER,
		       "Records the module's BPF programs submitted to its ring buffer.");
	nl_prom_family(p, "netlens_events_lost_total", NL_PROM_COUNTER,
		       "Records dropped because the module's ring buffer was full.");
	nl_prom_family(p, "netlens_map_insert_failures_total", NL_PROM_COUNTER,
		       "BPF map inserts refused: full (E2BIG/ENOMEM) or busy (EBUSY).");
	nl_prom_family(p, "netlens_bpf_map_memory_bytes", NL_PROM_GAUGE,
		       "Kernel memory charged for the module's BPF maps (memlock).");
	nl_prom_family(p, "netlens_bpf_program_runs_total", NL_PROM_COUNTER,
		       "Runs of each BPF program (bpf_stats, enabled while serving).");
	nl_prom_family(p, "netlens_bpf_program_run_seconds_total", NL_PROM_COUNTER,
		       "Time spent in each BPF program (bpf_stats, enabled while serving).");
	nl_prom_family(p, "netlens_scrapes_total", NL_PROM_COUNTER,
		       "HTTP requests answered, by status code.");
	nl_prom_family(p, "process_cpu_seconds_total", NL_PROM_COUNTER,
		       "User and system CPU time of the netlens process.");
	nl_prom_family(p, "process_resident_memory_bytes", NL_PROM_GAUGE,
		       "Resident memory of the netlens process.");
	nl_prom_family(p, "process_virtual_memory_bytes", NL_PROM_GAUGE,
		       "Virtual memory of the netlens process.");
	nl_prom_family(p, "process_start_time_seconds", NL_PROM_GAUGE,
		       "Start of the netlens process, seconds since the epoch.");
	nl_prom_family(p, "process_open_fds", NL_PROM_GAUGE,
		       "File descriptors open in the netlens process.");
}

/* memlock of a BPF map, from /proc/self/fdinfo (the kernel's own accounting). */
static uint64_t map_memlock(int fd)
{
	unsigned long long v = 0;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void module_counters(struct nl_prom *p, struct nl_modset_mod *s)
{
	const char *name = s->m.ops->name;
	uint64_t st[NL_STAT_MAX];
	char l[128];

	if (!s->m.obj || nl_module_stats(&s->m, st))
		return;
	nl_prom_labels(l, sizeof(l), "module", name, NULL);
	nl_prom_counter(p, "netlens_events_total", l, st[NL_STAT_EVENTS]);
	nl_prom_counter(p, "netlens_events_lost_total", l, st[NL_STAT_LOST]);
	nl_prom_labels(l, sizeof(l), "module", name, "reason", "full", NULL);
	nl_prom_counter(p, "netlens_map_insert_failures_total", l, st[NL_STAT_MAP_FULL]);
	nl_prom_labels(l, sizeof(l), "module", name, "reason", "busy", NULL);
	nl_prom_counter(p, "netlens_map_insert_failures_total", l, st[NL_STAT_MAP_BUSY]);
}

/* The memory and programs of one object, under the label of the modules that load it. */
static void object_costs(struct nl_prom *p, struct bpf_object *obj, const char *label,
			 bool bpf_stats)
{
	struct bpf_program *prog;
	uint64_t memlock = 0;
	struct bpf_map *map;
	char l[160];

	bpf_object__for_each_map(map, obj)
		if (bpf_map__fd(map) >= 0)
			memlock += map_memlock(bpf_map__fd(map));
	nl_prom_labels(l, sizeof(l), "module", label, NULL);
	nl_prom_gauge(p, "netlens_bpf_map_memory_bytes", l, memlock);
	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (!bpf_stats || fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		nl_prom_labels(l, sizeof(l), "module", label, "program", bpf_program__name(prog),
			       NULL);
		nl_prom_counter(p, "netlens_bpf_program_runs_total", l, info.run_cnt);
		nl_prom_seconds(p, "netlens_bpf_program_run_seconds_total", l, info.run_time_ns);
	}
}

/* True if an earlier module that is up loaded the same object (the TCP core). */
static bool object_seen(const struct nl_modset_mod *mods, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (mods[j].up && mods[j].m.obj == mods[i].m.obj)
			return true;
	return false;
}

/* Seconds since the epoch when the system booted (/proc/stat btime). */
static unsigned long long boot_time(void)
{
	unsigned long long btime = 0;
	char line[256];
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	return btime;
}

static unsigned int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;
	struct dirent *e;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;   /* the directory stream's own descriptor */
}

static void process_metrics(struct nl_prom *p)
{
	unsigned long long utime, stime, start, vsize;
	long long rss;
	double tick = sysconf(_SC_CLK_TCK);
	char buf[1024], *after_comm;
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n;

	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: fields start after the last ')'. */
	after_comm = strrchr(buf, ')');
	if (!after_comm || sscanf(after_comm + 2,
				  "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
				  "%*d %*d %*d %*d %*d %*d %llu %llu %lld",
				  &utime, &stime, &start, &vsize, &rss) != 5)
		return;
	nl_prom_gauge(p, "process_cpu_seconds_total", "", (utime + stime) / tick);
	nl_prom_gauge(p, "process_resident_memory_bytes", "", (double)rss * sysconf(_SC_PAGESIZE));
	nl_prom_gauge(p, "process_virtual_memory_bytes", "", vsize);
	nl_prom_gauge(p, "process_start_time_seconds", "", boot_time() + start / tick);
	nl_prom_gauge(p, "process_open_fds", "", open_fds());
}

void serve_self_metrics(struct nl_prom *p, struct nl_modset_mod *mods, size_t n,
			const uint64_t *http_answers, bool bpf_stats)
{
	char l[128];

	declare(p);
	nl_prom_gauge(p, "netlens_build_info", nl_prom_labels(l, sizeof(l), "version", nl_version,
							      NULL), 1);
	for (size_t i = 0; i < n; i++) {
		nl_prom_gauge(p, "netlens_module_up", nl_prom_labels(l, sizeof(l), "module",
				mods[i].m.ops->name, NULL), mods[i].up);
		if (!mods[i].up)
			continue;
		module_counters(p, &mods[i]);
		if (mods[i].m.obj && !object_seen(mods, i))
			object_costs(p, mods[i].m.obj, mods[i].m.ops->shared_object ?: mods[i].m.ops->name,
				     bpf_stats);
	}
	for (int c = 0; http_answers && c < NL_HTTP_CODES; c++)
		nl_prom_counter(p, "netlens_scrapes_total", nl_prom_labels(l, sizeof(l), "code",
				nl_http_code_names[c], NULL), http_answers[c]);
	process_metrics(p);
}

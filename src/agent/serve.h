/* SPDX-License-Identifier: GPL-2.0 */
/* `netlens serve`: every capability in one process, exported to Prometheus and files. */
#ifndef NETLENS_SRC_SERVE_H
#define NETLENS_SRC_SERVE_H

#include <stdbool.h>
#include "framework/modset.h"
#include "output/output.h"
#include "output/prom.h"

#define SERVE_DEFAULT_LISTEN     "127.0.0.1:9787"
#define SERVE_DEFAULT_INTERVAL   10.0   /* seconds between module collections */
#define SERVE_DEFAULT_MAX_SERIES 500

int serve_main(int argc, char **argv);

/*
 * serve's own metrics (src/agent/serve_metrics.c): build info, module state,
 * ring buffer and map counters, bpf_stats per program, process CPU and
 * memory. http_answers: counts by nl_http_code, or NULL.
 */
void serve_self_metrics(struct nl_prom *p, struct nl_modset_mod *mods, size_t n,
			const uint64_t *http_answers, bool bpf_stats);

#endif

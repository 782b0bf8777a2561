/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `serve`'s HTTP endpoint (libmicrohttpd, its own thread): /metrics answers
 * with the last page the event loop published, /healthz with the modules'
 * state. Scrapes never touch BPF maps or module state, so any number of
 * them cannot slow the event loop or lose an event.
 */
#ifndef NETLENS_SRC_SERVE_HTTP_H
#define NETLENS_SRC_SERVE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct nl_http;

/* Answers counted by status code for netlens_scrapes_total. */
enum nl_http_code { NL_HTTP_200, NL_HTTP_404, NL_HTTP_405, NL_HTTP_503, NL_HTTP_CODES };
extern const char *const nl_http_code_names[NL_HTTP_CODES];

/*
 * A listening socket on addr (bound early, so that a taken port is said
 * before anything is loaded); its fd, or -errno with a sentence in err.
 */
int nl_http_bind(const struct sockaddr *addr, socklen_t addrlen, char *err, size_t errlen);
/*
 * Serves on listen_fd (which the server then owns) from a thread of its own:
 * started after privileges are dropped, since capabilities are per thread.
 */
int nl_http_start(struct nl_http **h, int listen_fd, bool verbose, char *err, size_t errlen);
/* Replaces the page /metrics serves (copied). */
void nl_http_publish_metrics(struct nl_http *h, const char *text, size_t len);
/* Replaces /healthz's answer: 200 when healthy, else 503; text is the body (copied). */
void nl_http_publish_health(struct nl_http *h, bool healthy, const char *text);
/* Answers so far, by code. */
void nl_http_answers(struct nl_http *h, uint64_t out[NL_HTTP_CODES]);
void nl_http_stop(struct nl_http *h);

#endif

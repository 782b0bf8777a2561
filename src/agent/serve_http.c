// SPDX-License-Identifier: GPL-2.0
/* serve's HTTP endpoint on libmicrohttpd (see serve_http.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <microhttpd.h>
#include "agent/serve_http.h"

/*
 * Limits for clients that misbehave: a request's headers must fit in 32 KiB
 * (more: 431 from libmicrohttpd), a connection idle for 10 s is closed. A
 * client that trickles its headers is never idle, so the connection limit
 * is what keeps a scrape answered while such clients (or idle ones) hold
 * connections: at 64, 64 of them locked every scraper out. 1024 held ones
 * cost one fd and at most 32 KiB each (measured: docs/serve.md); a limit
 * per IP would lock out a scraper on the same address as the clients (any
 * local process, on loopback).
 */
#define HTTP_MEMORY_LIMIT (32u << 10)
#define HTTP_TIMEOUT_S    10
#define HTTP_MAX_CONNS    1024
#define HTTP_OTHER_FDS    256    /* serve's own: BPF objects, the events file */

const char *const nl_http_code_names[NL_HTTP_CODES] = { "200", "404", "405", "503" };

struct page {
	char *text;
	size_t len;
};

struct nl_http {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;          /* the pages and the counters */
	struct page metrics, health;
	bool healthy;
	uint64_t answers[NL_HTTP_CODES];
};

static void page_set(struct page *p, const char *text, size_t len)
{
	char *copy = malloc(len + 1);

	if (!copy)
		return;   /* keep serving the previous page */
	memcpy(copy, text, len);
	copy[len] = '\0';
	free(p->text);
	p->text = copy;
	p->len = len;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned int status,
			      const char *type, const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static const char text_type[] = "text/plain; charset=utf-8";

/* The page for a path, copied under the lock, answered outside it. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **state)
{
	static const char not_found[] = "not found: try /metrics or /healthz\n";
	static const char not_allowed[] = "only GET and HEAD\n";
	struct nl_http *h = cls;
	enum nl_http_code code;
	unsigned int status;
	const char *type = text_type;
	struct page copy = { 0 };
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	/* The first call only announces the request; a body is skipped, then answered. */
	if (!*state) {
		*state = h;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&h->lock);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		code = NL_HTTP_405, status = MHD_HTTP_METHOD_NOT_ALLOWED;
		page_set(&copy, not_allowed, sizeof(not_allowed) - 1);
	} else if (!strcmp(url, "/metrics")) {
		code = NL_HTTP_200, status = MHD_HTTP_OK;
		type = "text/plain; version=0.0.4; charset=utf-8";
		page_set(&copy, h->metrics.text ? h->metrics.text : "", h->metrics.len);
	} else if (!strcmp(url, "/healthz")) {
		code = h->healthy ? NL_HTTP_200 : NL_HTTP_503;
		status = h->healthy ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
		page_set(&copy, h->health.text ? h->health.text : "", h->health.len);
	} else {
		code = NL_HTTP_404, status = MHD_HTTP_NOT_FOUND;
		page_set(&copy, not_found, sizeof(not_found) - 1);
	}
	h->answers[code]++;
	pthread_mutex_unlock(&h->lock);
	ret = copy.text ? answer(conn, status, type, copy.text, copy.len) : MHD_NO;
	free(copy.text);
	return ret;
}

int nl_http_bind(const struct sockaddr *addr, socklen_t addrlen, char *err, size_t errlen)
{
	char where[INET6_ADDRSTRLEN];
	int one = 1, fd, e;

	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, addr, addrlen) && !listen(fd, HTTP_MAX_CONNS))
			return fd;
	}
	e = errno;
	if (fd >= 0)
		close(fd);
	if (addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, where,
			  sizeof(where));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, where, sizeof(where));
	snprintf(err, errlen, "cannot listen on %s port %u: %s", where,
		 ntohs(((const struct sockaddr_in *)addr)->sin_port), strerror(e));
	return -e;
}

/*
 * Room for every connection: the soft fd limit (often 1024) raised towards
 * the hard one. Short of it, libmicrohttpd stops accepting until one closes.
 */
static void raise_fd_limit(void)
{
	struct rlimit lim;

	if (getrlimit(RLIMIT_NOFILE, &lim) || lim.rlim_cur >= HTTP_MAX_CONNS + HTTP_OTHER_FDS)
		return;
	lim.rlim_cur = lim.rlim_max < HTTP_MAX_CONNS + HTTP_OTHER_FDS ?
		       lim.rlim_max : HTTP_MAX_CONNS + HTTP_OTHER_FDS;
	setrlimit(RLIMIT_NOFILE, &lim);
}

/* One thread; AUTO picks epoll on Linux, which has no FD_SETSIZE bound as select() has. */
int nl_http_start(struct nl_http **hp, int listen_fd, bool verbose, char *err, size_t errlen)
{
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | (verbose ? MHD_USE_ERROR_LOG : 0);
	struct nl_http *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	raise_fd_limit();
	pthread_mutex_init(&h->lock, NULL);
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				     MHD_OPTION_LISTEN_SOCKET, listen_fd,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_LIMIT,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_TIMEOUT_S,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_MAX_CONNS,
				     MHD_OPTION_END);
	if (!h->daemon) {
		snprintf(err, errlen, "cannot start the HTTP server");
		pthread_mutex_destroy(&h->lock);
		free(h);
		return -EINVAL;
	}
	*hp = h;
	return 0;
}

void nl_http_publish_metrics(struct nl_http *h, const char *text, size_t len)
{
	pthread_mutex_lock(&h->lock);
	page_set(&h->metrics, text, len);
	pthread_mutex_unlock(&h->lock);
}

void nl_http_publish_health(struct nl_http *h, bool healthy, const char *text)
{
	pthread_mutex_lock(&h->lock);
	h->healthy = healthy;
	page_set(&h->health, text, strlen(text));
	pthread_mutex_unlock(&h->lock);
}

void nl_http_answers(struct nl_http *h, uint64_t out[NL_HTTP_CODES])
{
	pthread_mutex_lock(&h->lock);
	memcpy(out, h->answers, sizeof(h->answers));
	pthread_mutex_unlock(&h->lock);
}

void nl_http_stop(struct nl_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->daemon);
	pthread_mutex_destroy(&h->lock);
	free(h->metrics.text);
	free(h->health.text);
	free(h);
}

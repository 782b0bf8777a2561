// SPDX-License-Identifier: GPL-2.0
/*
 * A running blocker's rules: added to and removed from its pinned maps (a
 * per-CPU hash per family for the common prefix lengths, an LPM trie for
 * the rest), no reload. A rule's counters live in its value, which is only
 * ever inserted and deleted (never replaced), so no add of the program's is
 * lost.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/file.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "block/block.h"
#include "framework/cli.h"
#include "framework/sys.h"

#define PROTO_ICMP    1
#define PROTO_TCP     6
#define PROTO_UDP     17
#define PROTO_ICMPV6  58

const char *block_proto_name(uint8_t proto)
{
	switch (proto) {
	case 0: return "any";
	case PROTO_ICMP: return "icmp";
	case PROTO_TCP: return "tcp";
	case PROTO_UDP: return "udp";
	case PROTO_ICMPV6: return "icmpv6";
	default: return "other";
	}
}

static bool host_bits_set(const uint8_t *addr, int bytes, int plen)
{
	for (int bit = plen; bit < bytes * 8; bit++)
		if (addr[bit / 8] & (0x80 >> (bit % 8)))
			return true;
	return false;
}

int block_parse_cidr(const char *s, struct block_spec *r, char *err, size_t len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t plen;
	int max;

	if (hlen >= sizeof(host))
		goto bad;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(r->addr, 0, sizeof(r->addr));
	if (inet_pton(AF_INET, host, r->addr) == 1)
		r->family = 4, max = 32;
	else if (inet_pton(AF_INET6, host, r->addr) == 1)
		r->family = 6, max = 128;
	else
		goto bad;
	plen = max;
	if (slash && nl_parse_u64(slash + 1, 0, max, &plen)) {
		snprintf(err, len, "'%s' is not a CIDR: the prefix length is 0 to %d", nl_echo(s), max);
		return -1;
	}
	if (host_bits_set(r->addr, max / 8, plen)) {
		snprintf(err, len, "'%s' has bits set past its /%u prefix", nl_echo(s), (unsigned)plen);
		return -1;
	}
	r->prefixlen = plen;
	return 0;
bad:
	snprintf(err, len, "'%s' is not a CIDR (A.B.C.D/N or an IPv6 prefix)", nl_echo(s));
	return -1;
}

void block_spec_text(const struct block_spec *r, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	int n;

	inet_ntop(r->family == 4 ? AF_INET : AF_INET6, r->addr, addr, sizeof(addr));
	n = snprintf(buf, len, "%s/%u", addr, r->prefixlen);
	if (r->proto && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, " %s", block_proto_name(r->proto));
	if (r->port && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - n, " port %u", r->port);
}

static uint32_t shape_of(uint8_t proto, uint16_t port)
{
	if (proto && port)
		return BLOCK_SHAPE_PROTO_PORT;
	if (port)
		return BLOCK_SHAPE_PORT;
	return proto ? BLOCK_SHAPE_PROTO : BLOCK_SHAPE_ANY;
}

/* Which of its family's stores holds a rule of this prefix length (enum block_store). */
static uint32_t store_of(uint8_t family, uint8_t prefixlen)
{
	if (prefixlen == (family == 4 ? 32 : 128))
		return BLOCK_STORE_HOST;
	if (prefixlen == (family == 4 ? 24 : 64))
		return BLOCK_STORE_NET;
	return BLOCK_STORE_TRIE;
}

/* The key of a rule: in key4 or key6 (by family); the fd of the map that holds it. */
static int rule_key(const struct blocker *b, const struct block_spec *r, struct block_key4 *k4,
		    struct block_key6 *k6, void **key)
{
	bool trie = store_of(r->family, r->prefixlen) == BLOCK_STORE_TRIE;

	if (r->family == 4) {
		*k4 = (struct block_key4){ .prefixlen = BLOCK_KEY_FIXED_BITS + r->prefixlen,
					   .proto = r->proto, .port = htons(r->port) };
		memcpy(k4->addr, r->addr, 4);
		*key = k4;
		return trie ? b->rules4 : b->hash4;
	}
	*k6 = (struct block_key6){ .prefixlen = BLOCK_KEY_FIXED_BITS + r->prefixlen,
				   .proto = r->proto, .port = htons(r->port) };
	memcpy(k6->addr, r->addr, 16);
	*key = k6;
	return trie ? b->rules6 : b->hash6;
}

/* A rule's shape and store on in the conf. */
static void conf_note(struct block_conf *c, const struct block_spec *r)
{
	if (r->family == 4) {
		c->shapes4 |= shape_of(r->proto, r->port);
		c->stores4 |= store_of(4, r->prefixlen);
	} else {
		c->shapes6 |= shape_of(r->proto, r->port);
		c->stores6 |= store_of(6, r->prefixlen);
	}
}

/* How many copies of a rule's value its map holds: a hash one per CPU. */
static int copies(const struct blocker *b, int fd)
{
	return fd == b->hash4 || fd == b->hash6 ? libbpf_num_possible_cpus() : 1;
}

/*
 * A rule's value. A hash holds one copy per CPU: the same rule in each, its
 * own counters (summed here).
 */
static struct block_rule *values_of(const struct blocker *b, int fd, int *ncpu)
{
	*ncpu = copies(b, fd);
	return *ncpu > 0 ? calloc(*ncpu, sizeof(struct block_rule)) : NULL;
}

static int rule_read(const struct blocker *b, int fd, const void *key, struct block_rule *v)
{
	int ncpu, e;
	struct block_rule *all = values_of(b, fd, &ncpu);

	if (!all)
		return -ENOMEM;
	e = bpf_map_lookup_elem(fd, key, all) ? -errno : 0;
	*v = all[0];
	for (int i = 1; i < ncpu; i++) {
		v->packets += all[i].packets;
		v->bytes += all[i].bytes;
	}
	free(all);
	return e;
}

#define INSERT_RETRIES 20

/* A new rule: in a hash, the same copy for every CPU. */
static int rule_insert(const struct blocker *b, int fd, const void *key, const struct block_rule *v)
{
	int ncpu, e;
	struct block_rule *all = values_of(b, fd, &ncpu);

	if (!all)
		return -ENOMEM;
	for (int i = 0; i < ncpu; i++)
		all[i] = *v;
	/*
	 * Maps without preallocation take elements from per-CPU caches refilled
	 * asynchronously (kernel/bpf/memalloc.c, by irq_work): an insert in a
	 * burst may be refused ENOMEM with memory to spare. A lasting ENOMEM is
	 * a full table.
	 */
	for (int tries = 0;; tries++) {
		e = bpf_map_update_elem(fd, key, all, BPF_NOEXIST) ? -errno : 0;
		if (e != -ENOMEM || tries == INSERT_RETRIES)
			break;
		usleep(1000);
	}
	free(all);
	return e;
}

static int read_conf(struct blocker *b, struct block_conf *c)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(b->conf, &zero, c) ? -errno : 0;
}

static int write_conf(struct blocker *b, const struct block_conf *c)
{
	__u32 zero = 0;

	return bpf_map_update_elem(b->conf, &zero, c, BPF_ANY) ? -errno : 0;
}

static uint64_t now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int block_rule_add(struct blocker *b, const struct block_spec *r, char *err, size_t len)
{
	struct block_rule v = { .flags = r->flags, .per_source = r->per_source,
				.prefixlen = r->prefixlen, .added_ns = now_realtime_ns() };
	struct block_key4 k4;
	struct block_key6 k6;
	struct block_conf c;
	char text[96];
	void *key;
	int fd = rule_key(b, r, &k4, &k6, &key), e;

	block_spec_text(r, text, sizeof(text));
	if (r->flags & BLOCK_F_LIMIT) {
		v.interval_ns = 1000000000ull / r->pps;
		v.burst_ns = (uint64_t)r->burst * v.interval_ns;
	}
	flock(b->lock, LOCK_EX);
	e = read_conf(b, &c);
	if (!e) {
		v.id = c.next_id;
		e = rule_insert(b, fd, key, &v);
	}
	if (!e) {
		c.next_id++;
		/* Shape and store on after the rule is in: never a lookup in vain for long. */
		conf_note(&c, r);
		e = write_conf(b, &c);
	}
	flock(b->lock, LOCK_UN);
	if (e == -EEXIST)
		snprintf(err, len, "a rule for %s exists already on %s ('del' it first)", text,
			 b->ifname);
	else if (e == -E2BIG || e == -ENOMEM)
		snprintf(err, len, "%s: the IPv%u rule table is full (--max-rules, when the blocker "
			 "is made)", text, r->family);
	else if (e)
		snprintf(err, len, "cannot add %s: %s", text, strerror(-e));
	return e;
}

#define BUCKET_BATCH 1024

/* The rate-limit buckets, read a batch at a time (bpf_map_lookup_batch). */
struct bucket_walk {
	struct block_bucket_key keys[BUCKET_BATCH], token;
	struct block_bucket vals[BUCKET_BATCH];
	void (*fn)(struct bucket_walk *w, uint32_t n);
	uint32_t rule_id;                 /* del_buckets: this rule's (0: all) */
	struct block_bucket_key *found;   /* ... collected here */
	size_t n_found, cap;
	uint64_t seen;
};

static void walk_batch(void *ctx, uint32_t n)
{
	struct bucket_walk *w = ctx;

	w->seen += n;
	if (w->fn)
		w->fn(w, n);
}

static int buckets_walk(struct blocker *b, struct bucket_walk *w)
{
	return nl_map_read_batches(b->buckets, w->keys, w->vals, BUCKET_BATCH, &w->token,
				   walk_batch, w);
}

static void collect_rule_buckets(struct bucket_walk *w, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (w->rule_id && w->keys[i].rule_id != w->rule_id)
			continue;
		if (w->n_found == w->cap) {
			size_t cap = w->cap ? 2 * w->cap : BUCKET_BATCH;
			void *more = realloc(w->found, cap * sizeof(*w->found));

			if (!more)
				return;
			w->found = more;
			w->cap = cap;
		}
		w->found[w->n_found++] = w->keys[i];
	}
}

/* Deletes rule id's buckets (all with id 0); how many. */
static uint64_t del_buckets(struct blocker *b, uint32_t id)
{
	struct bucket_walk *w = calloc(1, sizeof(*w));
	uint64_t gone = 0;

	if (!w)
		return 0;
	w->fn = collect_rule_buckets;
	w->rule_id = id;
	/* Keys first, deleted after the walk: a walk does not survive its keys going. */
	buckets_walk(b, w);
	for (size_t i = 0; i < w->n_found; i++)
		if (!bpf_map_delete_elem(b->buckets, &w->found[i]))
			gone++;
	free(w->found);
	free(w);
	return gone;
}

/* Shapes and stores from the rules left (after a delete). */
static void rule_shapes(void *ctx, const struct block_spec *s, const struct block_rule *v)
{
	(void)v;
	conf_note(ctx, s);
}

static int recompute_shapes(struct blocker *b, struct block_conf *c)
{
	c->shapes4 = c->shapes6 = c->stores4 = c->stores6 = 0;
	return block_rules_each(b, rule_shapes, c);
}

int block_rule_del(struct blocker *b, const struct block_spec *r, char *err, size_t len)
{
	struct block_key4 k4;
	struct block_key6 k6;
	struct block_rule v;
	struct block_conf c;
	char text[96];
	void *key;
	int fd = rule_key(b, r, &k4, &k6, &key), e;

	block_spec_text(r, text, sizeof(text));
	flock(b->lock, LOCK_EX);
	e = rule_read(b, fd, key, &v);
	if (!e)
		e = bpf_map_delete_elem(fd, key) ? -errno : 0;
	if (!e && !(e = read_conf(b, &c))) {
		if (v.flags & BLOCK_F_LIMIT)
			c.buckets_removed += del_buckets(b, v.id);
		e = recompute_shapes(b, &c);
		if (!e)
			e = write_conf(b, &c);
	}
	flock(b->lock, LOCK_UN);
	if (e == -ENOENT)
		snprintf(err, len, "no rule for %s on %s ('list' shows them)", text, b->ifname);
	else if (e)
		snprintf(err, len, "cannot delete %s: %s", text, strerror(-e));
	return e;
}

static void spec_from_key(struct block_spec *s, uint8_t family, uint32_t prefixlen,
			  uint8_t proto, uint16_t port, const uint8_t *addr,
			  const struct block_rule *v)
{
	memset(s, 0, sizeof(*s));
	s->family = family;
	s->prefixlen = prefixlen - BLOCK_KEY_FIXED_BITS;
	s->proto = proto;
	s->port = ntohs(port);
	memcpy(s->addr, addr, family == 4 ? 4 : 16);
	s->flags = v->flags;
	s->per_source = v->per_source;
	if (v->flags & BLOCK_F_LIMIT && v->interval_ns) {
		s->pps = 1000000000ull / v->interval_ns;
		s->burst = v->burst_ns / v->interval_ns;
	}
}

/* fn for each rule in one map of family's (a trie or a hash: the same keys). */
static int rules_in(const struct blocker *b, int fd, uint8_t family,
		    void (*fn)(void *ctx, const struct block_spec *s, const struct block_rule *v),
		    void *ctx)
{
	struct block_key6 k, prev;   /* a key4 is a key6's prefix */
	struct block_spec s;
	struct block_rule v;
	void *p = NULL;

	while (!bpf_map_get_next_key(fd, p, &k)) {
		if (!rule_read(b, fd, &k, &v)) {
			spec_from_key(&s, family, k.prefixlen, k.proto, k.port, k.addr, &v);
			fn(ctx, &s, &v);
		}
		prev = k;
		p = &prev;
	}
	return errno == ENOENT ? 0 : -errno;
}

int block_rules_each(struct blocker *b,
		     void (*fn)(void *ctx, const struct block_spec *s, const struct block_rule *v),
		     void *ctx)
{
	int e = rules_in(b, b->hash4, 4, fn, ctx);

	if (!e)
		e = rules_in(b, b->rules4, 4, fn, ctx);
	if (!e)
		e = rules_in(b, b->hash6, 6, fn, ctx);
	if (!e)
		e = rules_in(b, b->rules6, 6, fn, ctx);
	return e;
}

/* Empties one map of rules; how many it held. */
static int flush_rules(int fd)
{
	unsigned char key[sizeof(struct block_key6)];
	int n = 0;

	/* Always the first key: a trie's order changes as entries go, a hash walk restarts. */
	while (!bpf_map_get_next_key(fd, NULL, key))
		if (!bpf_map_delete_elem(fd, key))
			n++;
	return n;
}

int block_rules_flush(struct blocker *b)
{
	struct block_conf c;
	int n = 0, e;

	flock(b->lock, LOCK_EX);
	e = read_conf(b, &c);
	if (!e) {
		/* Shapes off first: packets stop looking rules up at once. */
		c.shapes4 = c.shapes6 = c.stores4 = c.stores6 = 0;
		e = write_conf(b, &c);
	}
	if (!e) {
		n = flush_rules(b->hash4) + flush_rules(b->rules4) + flush_rules(b->hash6) +
		    flush_rules(b->rules6);
		c.buckets_removed += del_buckets(b, 0);
		e = write_conf(b, &c);
	}
	flock(b->lock, LOCK_UN);
	return e ? e : n;
}

static void count_rule(void *ctx, const struct block_spec *s, const struct block_rule *v)
{
	(void)s, (void)v;
	(*(uint64_t *)ctx)++;
}

int block_rules_count(struct blocker *b, uint64_t *n)
{
	*n = 0;
	return block_rules_each(b, count_rule, n);
}

int block_totals(struct blocker *b, struct block_totals *t)
{
	struct bucket_walk *w = calloc(1, sizeof(*w));
	struct block_conf c;
	int e = w ? 0 : -ENOMEM;

	memset(t, 0, sizeof(*t));
	if (!e)
		e = nl_read_stats(b->stats, t->st);
	if (!e)
		e = read_conf(b, &c);
	if (!e)
		e = buckets_walk(b, w);
	t->buckets_live = w ? w->seen : 0;
	free(w);
	if (e)
		return e;
	if (t->st[BLOCK_STAT_BUCKETS_NEW] > t->buckets_live + c.buckets_removed)
		t->evictions = t->st[BLOCK_STAT_BUCKETS_NEW] - t->buckets_live - c.buckets_removed;
	return 0;
}

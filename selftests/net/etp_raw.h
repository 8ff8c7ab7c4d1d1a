/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the hostile-peer tests (etp_fuzz, etp_blind, etp_synflood,
 * etp_isn, etp_cycle): a seeded random generator, ETP segments built
 * byte by byte with options and a good or bad checksum, the receiver's
 * validity rules (the order of protocol.rst's "What the receiver drops")
 * to predict which counter a segment moves, raw sockets that send with or
 * without their own IP header, and readers for /proc/slabinfo and
 * /proc/net/protocols.
 */
#ifndef _ETP_SELFTEST_RAW_H
#define _ETP_SELFTEST_RAW_H

#include <linux/filter.h>
#include <netinet/ip.h>
#include "etp_common.h"

/* --- seeded random numbers (splitmix64: small, fast, reproducible) --- */

struct etp_rng {
	uint64_t s;
};

static inline uint64_t etp_rng_next(struct etp_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint32_t etp_rng32(struct etp_rng *r)
{
	return (uint32_t)(etp_rng_next(r) >> 32);
}

/* Uniform in [0, n), n > 0 (the bias of 2^64 % n is negligible here). */
static inline uint32_t etp_rng_below(struct etp_rng *r, uint32_t n)
{
	return (uint32_t)(etp_rng_next(r) % n);
}

/* True with probability pct percent. */
static inline bool etp_rng_pct(struct etp_rng *r, unsigned int pct)
{
	return etp_rng_below(r, 100) < pct;
}

static inline void etp_rng_bytes(struct etp_rng *r, uint8_t *p, size_t n)
{
	while (n--)
		*p++ = (uint8_t)etp_rng_next(r);
}

/* Sequence number order modulo 2^32 (RFC 9293, 3.4). */
static inline bool etp_seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

#define etp_seq_after(a, b)	etp_seq_before(b, a)

/* --- the receiver's rules ------------------------------------------------- */

/* What ETP does with a segment before any socket sees it. */
enum etp_verdict {
	ETP_V_VALID,		/* passes every check: goes to a socket */
	ETP_V_SHORT,		/* InShortHeader */
	ETP_V_DOFF,		/* InBadDoff */
	ETP_V_CSUM,		/* InCsumErrors */
	ETP_V_FLAGS,		/* InBadFlags */
	ETP_V_OPTIONS,		/* InBadOptions */
	ETP_V_MAX
};

static const char *const etp_verdict_counter[ETP_V_MAX] = {
	[ETP_V_VALID]	= "valid",
	[ETP_V_SHORT]	= "InShortHeader",
	[ETP_V_DOFF]	= "InBadDoff",
	[ETP_V_CSUM]	= "InCsumErrors",
	[ETP_V_FLAGS]	= "InBadFlags",
	[ETP_V_OPTIONS]	= "InBadOptions",
};

/* One's complement sum of the pseudo-header and @len bytes of segment. */
static inline uint32_t etp_csum_sum(uint32_t saddr, uint32_t daddr,
				    const uint8_t *p, size_t len)
{
	uint64_t sum = 0;
	size_t i;

	sum += (ntohl(saddr) >> 16) + (ntohl(saddr) & 0xffff);
	sum += (ntohl(daddr) >> 16) + (ntohl(daddr) & 0xffff);
	sum += IPPROTO_ETP + len;
	for (i = 0; i + 1 < len; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint32_t)sum;
}

/*
 * Does the checksum verify? (A sum of all ones: checking the value the
 * sender put in, not comparing it with a computed one, because 0x0000 and
 * 0xffff are the same number in one's complement.)
 */
static inline bool etp_csum_ok(uint32_t saddr, uint32_t daddr,
			       const uint8_t *seg, size_t len)
{
	return etp_csum_sum(saddr, daddr, seg, len) == 0xffff;
}

/*
 * The options rule (mod/input.c, etp_parse_options, and protocol.rst):
 * EOL ends the list, NOP is one byte, every other option has a length
 * octet of at least 2 that stays inside the header; MSS is 4 long and
 * window scale 3 long. Anything else makes the segment invalid.
 */
static inline bool etp_options_ok(const uint8_t *opt, int len)
{
	while (len > 0) {
		uint8_t kind = opt[0], olen;

		if (kind == ETP_OPT_EOL)
			return true;
		if (kind == ETP_OPT_NOP) {
			opt++;
			len--;
			continue;
		}
		if (len < 2)
			return false;
		olen = opt[1];
		if (olen < 2 || olen > len)
			return false;
		if (kind == ETP_OPT_MSS && olen != ETP_OPT_MSS_LEN)
			return false;
		if (kind == ETP_OPT_WSCALE && olen != ETP_OPT_WSCALE_LEN)
			return false;
		opt += olen;
		len -= olen;
	}
	return true;
}

static inline bool etp_flags_valid(uint8_t f)
{
	if ((f & ETP_FLAG_SYN) && (f & (ETP_FLAG_FIN | ETP_FLAG_RST)))
		return false;
	return f & (ETP_FLAG_SYN | ETP_FLAG_ACK | ETP_FLAG_RST);
}

/*
 * The verdict on @len bytes of segment from @saddr to @daddr, checks in
 * the receiver's order: length, data offset, checksum, flags, options.
 */
static inline enum etp_verdict etp_judge(uint32_t saddr, uint32_t daddr,
					 const uint8_t *seg, size_t len)
{
	const struct etphdr *h = (const struct etphdr *)seg;
	size_t doff;

	if (len < ETP_HDR_LEN)
		return ETP_V_SHORT;
	doff = (h->doff_res >> 4) * 4;
	if (doff < ETP_HDR_LEN || doff > len)
		return ETP_V_DOFF;
	if (!etp_csum_ok(saddr, daddr, seg, len))
		return ETP_V_CSUM;
	if (!etp_flags_valid(h->flags))
		return ETP_V_FLAGS;
	if (!etp_options_ok(seg + ETP_HDR_LEN, doff - ETP_HDR_LEN))
		return ETP_V_OPTIONS;
	return ETP_V_VALID;
}

/* --- building segments ---------------------------------------------------- */

struct etp_seg_spec {
	uint32_t saddr, daddr;		/* network order */
	uint16_t sport, dport;		/* host order */
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	const uint8_t *opts;		/* raw option bytes, padded by caller */
	size_t optlen;			/* multiple of 4, at most 40 */
	const uint8_t *payload;
	size_t plen;
};

/*
 * Write header, options and payload to @buf (room for all of it) with a
 * correct checksum; returns the segment's length.
 */
static inline size_t etp_seg_build(uint8_t *buf, const struct etp_seg_spec *s)
{
	struct etphdr *h = (struct etphdr *)buf;
	size_t len = ETP_HDR_LEN + s->optlen + s->plen;

	memset(h, 0, sizeof(*h));
	h->source = htons(s->sport);
	h->dest = htons(s->dport);
	h->seq = htonl(s->seq);
	h->ack_seq = htonl(s->ack);
	h->doff_res = ((ETP_HDR_LEN + s->optlen) / 4) << 4;
	h->flags = s->flags;
	h->window = htons(s->window);
	if (s->optlen)
		memcpy(buf + ETP_HDR_LEN, s->opts, s->optlen);
	if (s->plen)
		memcpy(buf + ETP_HDR_LEN + s->optlen, s->payload, s->plen);
	h->check = etp_seg_csum(s->saddr, s->daddr, buf, len);
	return len;
}

/* Recompute the checksum of a segment that was changed after building. */
static inline void etp_seg_fix_csum(uint8_t *seg, size_t len, uint32_t saddr,
				    uint32_t daddr)
{
	struct etphdr *h = (struct etphdr *)seg;

	if (len < ETP_HDR_LEN)
		return;
	h->check = 0;
	h->check = etp_seg_csum(saddr, daddr, seg, len);
}

/* Make the checksum wrong for certain (see etp_csum_ok()). */
static inline void etp_seg_break_csum(uint8_t *seg, size_t len, uint32_t saddr,
				      uint32_t daddr, uint16_t delta)
{
	struct etphdr *h = (struct etphdr *)seg;

	if (!delta)
		delta = 1;
	h->check = htons(ntohs(h->check) + delta);
	while (etp_csum_ok(saddr, daddr, seg, len))
		h->check = htons(ntohs(h->check) + 1);
}

/* IPv4 header in front of a segment of @seglen bytes, for IP_HDRINCL. */
struct etp_ip_spec {
	uint32_t saddr, daddr;		/* network order */
	uint8_t tos, ttl;
	uint16_t id;			/* 0: the kernel picks one */
	bool df;
	const uint8_t *opts;		/* IP options, a multiple of 4, <= 40 */
	size_t optlen;
};

static inline size_t etp_ip_build(uint8_t *buf, const struct etp_ip_spec *s,
				  size_t seglen)
{
	struct iphdr *ip = (struct iphdr *)buf;
	size_t hlen = sizeof(*ip) + s->optlen;

	memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = hlen / 4;
	ip->tos = s->tos;
	ip->tot_len = htons(hlen + seglen);
	ip->id = htons(s->id);
	ip->frag_off = s->df ? htons(IP_DF) : 0;
	ip->ttl = s->ttl ? s->ttl : 64;
	ip->protocol = IPPROTO_ETP;
	ip->saddr = s->saddr;
	ip->daddr = s->daddr;
	if (s->optlen)
		memcpy(buf + sizeof(*ip), s->opts, s->optlen);
	/* The kernel fills in the header checksum for IP_HDRINCL. */
	return hlen;
}

/* --- raw sockets ------------------------------------------------------------ */

/*
 * A raw ETP socket for sending. A raw socket also receives a copy of every
 * ETP segment of its namespace; a filter that accepts nothing keeps those
 * from piling up. @hdrincl: the caller writes the IP header. IP_RECVERR:
 * without it a raw socket reports a packet dropped on the way out (a full
 * queue, ENOBUFS) as sent, and a sender that counts what it sent would
 * count it.
 */
static inline int etp_raw_socket(bool hdrincl)
{
	struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = { .len = 1, .filter = &drop };
	int fd, one = 1, pmtu = IP_PMTUDISC_DONT, snd = 4 << 20;

	fd = socket(AF_INET, SOCK_RAW, IPPROTO_ETP);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) ||
	    (hdrincl &&
	     setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one))) ||
	    /* without IP_HDRINCL: large segments leave as fragments */
	    setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu)) ||
	    setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one))) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	return fd;
}

/* --- kernel figures ----------------------------------------------------------- */

/* /proc/slabinfo's active and total objects of cache @name; -1 if absent. */
static inline int etp_slab_objs(const char *name, long *active, long *total)
{
	char line[512], n[64];
	long a, t;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %ld %ld", n, &a, &t) == 3 &&
		    !strcmp(n, name)) {
			fclose(f);
			if (active)
				*active = a;
			if (total)
				*total = t;
			return 0;
		}
	}
	fclose(f);
	return -1;
}

/*
 * Flush the per-CPU slabs of cache @name back to its lists
 * (/sys/kernel/slab/NAME/shrink), so that /proc/slabinfo's active count
 * is the number of objects really allocated.
 */
static inline void etp_slab_shrink(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return;
	/* Best effort: without it the count is only an upper bound. */
	if (write(fd, "1", 1) < 0)
		errno = 0;
	close(fd);
}

/* Objects of cache @name after a shrink, -1 if there is no such cache. */
static inline long etp_slab_active(const char *name)
{
	long a;

	etp_slab_shrink(name);
	return etp_slab_objs(name, &a, NULL) ? -1 : a;
}

/* /sys/kernel/slab/@name/@attr as a number (first field), -1 if absent. */
static inline long etp_slab_attr(const char *name, const char *attr)
{
	char path[160], buf[64];

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/%s", name, attr);
	if (etp_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/*
 * The "sockets" and "memory" columns of ETP's line in
 * /proc/net/protocols of this namespace; -1 if there is no line.
 */
static inline int etp_protocols(long *sockets, long *memory)
{
	char line[512], n[32];
	long size, s, m;
	FILE *f = fopen("/proc/net/protocols", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%31s %ld %ld %ld", n, &size, &s, &m) == 4 &&
		    !strcmp(n, "ETP")) {
			fclose(f);
			if (sockets)
				*sockets = s;
			if (memory)
				*memory = m;
			return 0;
		}
	}
	fclose(f);
	return -1;
}

/* Lines of /proc/net/etp (this namespace) in state @st (0: all). */
static inline int etp_proc_count(unsigned int st)
{
	char line[512];
	unsigned int s;
	int n = 0;
	FILE *f = fopen("/proc/net/etp", "r");

	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*d: %*x:%*x %*x:%*x %x", &s) == 1 &&
		    (!st || s == st))
			n++;
	}
	fclose(f);
	return n;
}

static inline double etp_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif /* _ETP_SELFTEST_RAW_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * A SYN flood from forged sources at the highest rate one sender reaches,
 * while real clients connect.
 *
 *   netns etpsf-PID-s                       netns etpsf-PID-c
 *   +---------------------------------+     +-------------------------------+
 *   | listener 10.253.63.1, backlog 16 |veth | flooder thread: raw socket,   |
 *   | (half-open queue 2*16+16 = 48)   |<===>|   IP_HDRINCL, SYNs from       |
 *   | route 10.99.0.0/16 via c: the    |     |   10.99.0.0/16, random ports  |
 *   | SYN-ACKs to forged sources die   |     |   and numbers, sendmmsg       |
 *   | in c (it does not forward)       |     | client thread: 100 connects,  |
 *   | main thread: accept, echo 1 byte |     |   one byte each way           |
 *   +---------------------------------+     | 10.253.63.2                   |
 *                                           +-------------------------------+
 *
 * With SYN cookies (the default) at least 99 of 100 clients get through
 * and the cookie counters move. The module's memory stays bounded: ETP's
 * socket slab (shrunk before each reading, so it counts live objects),
 * /proc/net/protocols and /proc/net/etp are printed before, during (the
 * largest values seen) and after, and during the flood the socket count
 * stays under the bound the queues allow (see SOCKETS_BOUND and
 * mem_bound()). The clients come one every 50 ms, so the flood lasts at
 * least five seconds. After the flood
 * the half-open children time out (synack_retries 1: 3 s) and every
 * figure returns to where it was.
 *
 * Control: with net.etp.syncookies = 0 the same flood keeps clients out,
 * which shows that a full half-open queue is what the cookies get the
 * first test's clients past. Here the forged children live longer than
 * the control runs (synack_retries 3: dropped after 15 s), so the queue
 * the flood filled stays full however fast the flood goes; with the first
 * test's 3 s a slow kernel (the sanitizer's, a few hundred SYNs/s) left
 * gaps that let clients in.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include "etp_raw.h"
#include "kselftest_harness.h"

#define SADDR		"10.253.63.1"
#define CADDR		"10.253.63.2"
#define BACKLOG		16
#define SYN_QUEUE	(2 * BACKLOG + 16)	/* protocol.rst, SYN cookies */
#define ACCEPT_QUEUE	(BACKLOG + 1)
#define BATCH		64
/* A flood is far more SYNs than the queues hold. */
#define FLOOD_MIN	(100 * SYN_QUEUE)

struct mem {
	long slab_active, slab_total;	/* ETP's socket slab */
	long tw_slab;			/* etp_tw's (merged) cache */
	long sockets, pages;		/* /proc/net/protocols, ETP line */
	int lines, syn_recv, time_wait;	/* /proc/net/etp */
	char slabinfo[160];		/* ETP's line in /proc/slabinfo */
};

static void mem_read(struct mem *m)
{
	memset(m, 0, sizeof(*m));
	etp_slab_shrink("ETP");
	etp_slab_objs("ETP", &m->slab_active, &m->slab_total);
	m->tw_slab = etp_slab_attr("etp_tw", "objects");
	etp_protocols(&m->sockets, &m->pages);
	m->lines = etp_proc_count(0);
	m->syn_recv = etp_proc_count(ETP_SYN_RECV);
	m->time_wait = etp_proc_count(ETP_TIME_WAIT);
	{
		FILE *f = fopen("/proc/slabinfo", "r");

		while (f && fgets(m->slabinfo, sizeof(m->slabinfo), f))
			if (!strncmp(m->slabinfo, "ETP ", 4))
				break;
		m->slabinfo[strcspn(m->slabinfo, "\n")] = 0;
		if (f)
			fclose(f);
	}
}

static void mem_max(struct mem *max, const struct mem *m)
{
#define MAX_OF(f) do { if (m->f > max->f) max->f = m->f; } while (0)
	if (m->slab_active >= max->slab_active)
		memcpy(max->slabinfo, m->slabinfo, sizeof(max->slabinfo));
	MAX_OF(slab_active);
	MAX_OF(slab_total);
	MAX_OF(tw_slab);
	MAX_OF(sockets);
	MAX_OF(pages);
	MAX_OF(lines);
	MAX_OF(syn_recv);
	MAX_OF(time_wait);
#undef MAX_OF
}

static void mem_print(struct __test_metadata *_metadata, const char *when,
		      const struct mem *m)
{
	TH_LOG("%-7s ETP slab %ld active / %ld total objects; etp_tw cache %ld objects; /proc/net/protocols ETP: %ld sockets, %ld pages; /proc/net/etp: %d lines, %d SYN_RECV, %d TIME_WAIT",
	       when, m->slab_active, m->slab_total, m->tw_slab, m->sockets,
	       m->pages, m->lines, m->syn_recv, m->time_wait);
	TH_LOG("%-7s /proc/slabinfo (after a shrink): %s", when, m->slabinfo);
}

/* etp_tw has no line of its own in /proc/slabinfo when SLUB merged it. */
static void tw_cache_print(struct __test_metadata *_metadata)
{
	char target[256] = "";
	ssize_t n = readlink("/sys/kernel/slab/etp_tw", target, sizeof(target) - 1);

	if (n > 0)
		target[n] = 0;
	TH_LOG("etp_tw: %s%s, %ld aliases: its objects are counted with those of the caches it shares",
	       n > 0 && target[0] == ':' ? "merged into " : "cache ",
	       n > 0 ? target : "etp_tw", etp_slab_attr("etp_tw", "aliases"));
}

FIXTURE(flood) {
	int lfd, raw, nsc;
	char ns_s[64], ns_c[64];
	unsigned short port;
};

FIXTURE_SETUP(flood)
{
	self->lfd = self->raw = self->nsc = -1;
	snprintf(self->ns_s, sizeof(self->ns_s), "etpsf-%d-s", getpid());
	snprintf(self->ns_c, sizeof(self->ns_c), "etpsf-%d-c", getpid());
	ASSERT_EQ(0, etp_netns_veth(self->ns_s, SADDR, self->ns_c, CADDR));
	ASSERT_EQ(0, etp_sh("ip -n %s route add 10.99.0.0/16 via %s",
			    self->ns_s, CADDR));
	ASSERT_EQ(0, etp_enter_netns(self->ns_c));
	self->raw = etp_raw_socket(true);
	ASSERT_LE(0, self->raw);
	{
		char path[128];

		snprintf(path, sizeof(path), "/run/netns/%s", self->ns_c);
		self->nsc = open(path, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, self->nsc);
	}
	/* The main thread lives in the listener's namespace. */
	ASSERT_EQ(0, etp_enter_netns(self->ns_s));
	ASSERT_EQ(0, etp_sysctl_set("synack_retries", "1"));
	self->lfd = etp_socket();
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, etp_bind(self->lfd, SADDR, 0));
	ASSERT_EQ(0, listen(self->lfd, BACKLOG));
	self->port = etp_local_port(self->lfd);
}

FIXTURE_TEARDOWN(flood)
{
	if (self->raw >= 0)
		close(self->raw);
	if (self->nsc >= 0)
		close(self->nsc);
	if (self->lfd >= 0)
		close(self->lfd);
	etp_netns_del(self->ns_s, self->ns_c);
}

struct flooder {
	int raw;
	uint32_t daddr;
	uint16_t dport;
	volatile bool stop;
	unsigned long long sent, dropped;
	double secs;
};

static void *flood_thread(void *arg)
{
	static uint8_t pkt[BATCH][20 + ETP_HDR_LEN + 8];
	struct flooder *fl = arg;
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	struct etp_rng r = { 0x5f10 };
	double t0 = etp_now_s();
	int i;

	to.sin_addr.s_addr = fl->daddr;
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = pkt[i];
		memset(&msg[i], 0, sizeof(msg[i]));
		msg[i].msg_hdr.msg_name = &to;
		msg[i].msg_hdr.msg_namelen = sizeof(to);
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	while (!fl->stop) {
		int done = 0;

		for (i = 0; i < BATCH; i++) {
			/* MSS 1460, and a window scale on half of them */
			uint8_t opts[8] = { ETP_OPT_MSS, 4, 0x05, 0xb4,
					    ETP_OPT_NOP, ETP_OPT_WSCALE, 3, 7 };
			struct etp_seg_spec s = {
				.daddr = fl->daddr, .dport = fl->dport,
				.flags = ETP_FLAG_SYN, .window = 65535,
				.opts = opts,
			};
			struct etp_ip_spec ip = { .daddr = fl->daddr };
			uint64_t x = etp_rng_next(&r);

			s.saddr = htonl(10u << 24 | 99u << 16 | (uint32_t)(x & 0xffff));
			s.sport = 1024 + (x >> 16) % 64000;
			s.seq = (uint32_t)(x >> 32);
			s.optlen = (x >> 40) & 1 ? 8 : 4;
			ip.saddr = s.saddr;
			iov[i].iov_len = 20 + etp_seg_build(pkt[i] + 20, &s);
			etp_ip_build(pkt[i], &ip, iov[i].iov_len - 20);
		}
		while (done < BATCH) {
			int k = sendmmsg(fl->raw, msg + done, BATCH - done, 0);

			if (k < 0) {
				fl->dropped++;
				done++;
				continue;
			}
			fl->sent += k;
			done += k;
		}
	}
	fl->secs = etp_now_s() - t0;
	return NULL;
}

struct clients {
	int nsc, attempts, timeout_ms, gap_ms;
	unsigned short port;
	volatile bool done;
	int ok;
	long long max_ms, sum_ms;
	char first_error[128];
};

/* Each client: connect, one byte out, its echo back, close. */
static void *client_thread(void *arg)
{
	struct clients *cl = arg;
	int i;

	if (setns(cl->nsc, CLONE_NEWNET)) {
		snprintf(cl->first_error, sizeof(cl->first_error), "setns: %s",
			 strerror(errno));
		cl->done = true;
		return NULL;
	}
	for (i = 0; i < cl->attempts; i++) {
		long long t0 = etp_now_ms(), ms;
		const char *what = NULL;
		int fd = etp_socket();
		char b = 'x';

		etp_set_timeouts(fd, cl->timeout_ms);
		if (fd < 0)
			what = "socket";
		else if (etp_connect(fd, SADDR, cl->port))
			what = "connect";
		else if (send(fd, &b, 1, 0) != 1)
			what = "send";
		else if (recv(fd, &b, 1, 0) != 1 || b != 'x')
			what = "recv";
		ms = etp_now_ms() - t0;
		if (!what) {
			cl->ok++;
			cl->sum_ms += ms;
			if (ms > cl->max_ms)
				cl->max_ms = ms;
		} else if (!cl->first_error[0]) {
			snprintf(cl->first_error, sizeof(cl->first_error),
				 "attempt %d: %s: %s after %lld ms", i, what,
				 strerror(errno), ms);
		}
		if (fd >= 0)
			close(fd);
		if (ms < cl->gap_ms)
			etp_sleep_ms(cl->gap_ms - ms);
	}
	cl->done = true;
	return NULL;
}

/*
 * Flood, and while it runs let @attempts clients try; the main thread
 * accepts and echoes, and samples the memory figures.
 */
static void flood_with_clients(struct __test_metadata *_metadata,
			       FIXTURE_DATA(flood) *self, struct flooder *fl,
			       struct clients *cl, struct mem *during)
{
	pthread_t ft, ct;
	long long next = 0, t_end;

	fl->raw = self->raw;
	fl->daddr = inet_addr(SADDR);
	fl->dport = self->port;
	cl->nsc = self->nsc;
	cl->port = self->port;
	memset(during, 0, sizeof(*during));
	ASSERT_EQ(0, pthread_create(&ft, NULL, flood_thread, fl));
	/* The clients start once the half-open queue is full. */
	t_end = etp_now_ms() + 10000;
	while (etp_proc_count(ETP_SYN_RECV) < SYN_QUEUE && etp_now_ms() < t_end)
		etp_sleep_ms(10);
	ASSERT_EQ(0, pthread_create(&ct, NULL, client_thread, cl));
	t_end = etp_now_ms() + 300000;
	while (!cl->done && etp_now_ms() < t_end) {
		int fd = etp_accept_timeout(self->lfd, 100);

		if (fd >= 0) {
			char b;

			etp_set_timeouts(fd, 2000);
			if (recv(fd, &b, 1, 0) == 1)
				send(fd, &b, 1, MSG_NOSIGNAL);
			close(fd);
		}
		if (etp_now_ms() >= next) {
			struct mem m;

			mem_read(&m);
			mem_max(during, &m);
			next = etp_now_ms() + 250;
		}
	}
	/*
	 * A slow kernel (the sanitizer's) floods more slowly: keep it up
	 * until it has been a flood, far more SYNs than the queues hold.
	 */
	t_end = etp_now_ms() + 60000;
	while (fl->sent <= FLOOD_MIN && etp_now_ms() < t_end) {
		int fd = etp_accept_timeout(self->lfd, 100);

		if (fd >= 0)
			close(fd);
	}
	fl->stop = true;
	pthread_join(ft, NULL);
	pthread_join(ct, NULL);
}

/*
 * Hashed sockets the flood may hold at most: the listener, a full
 * half-open queue, a full accept queue and the client in flight at each
 * end.
 */
#define SOCKETS_BOUND	(1 + SYN_QUEUE + ACCEPT_QUEUE + 2)

/*
 * Objects of ETP's slab at most: those sockets; sockets closed but not
 * yet freed (they are freed after an RCU grace period): at worst every
 * client's two ends and a queue of timed-out children; and a per-CPU
 * slab per CPU allocated between the shrink and the reading. A flood that
 * cost state per SYN would show tens of thousands.
 */
static long mem_bound(long base, int clients)
{
	long per_slab = etp_slab_attr("ETP", "objs_per_slab");

	if (per_slab < 0)
		per_slab = 32;
	return base + SOCKETS_BOUND + 2 * clients + SYN_QUEUE +
	       per_slab * sysconf(_SC_NPROCESSORS_ONLN);
}

/* Wait until the flood's children are gone and the figures are back. */
static bool back_to(const struct mem *base, struct mem *now, int ms)
{
	long long end = etp_now_ms() + ms;

	for (;;) {
		mem_read(now);
		/* the listener itself is the one socket more than before */
		if (now->syn_recv == 0 && now->slab_active <= base->slab_active + 1 &&
		    now->sockets <= base->sockets + 1)
			return true;
		if (etp_now_ms() > end)
			return false;
		etp_sleep_ms(100);
	}
}

TEST_F_TIMEOUT(flood, syn_flood_99_of_100_clients_connect_memory_bounded, 300)
{
	long long sent = etp_stat("SynCookiesSent"), recv0 = etp_stat("SynCookiesRecv");
	long long over = etp_stat("ListenOverflows"), in = etp_stat("InSegs");
	struct flooder fl = { 0 };
	/* one client every 50 ms: the flood lasts five seconds at least */
	struct clients cl = { .attempts = 100, .timeout_ms = 15000, .gap_ms = 50 };
	struct mem base, during, after;
	long bound;

	close(self->lfd);	/* the baseline without the listener */
	etp_sleep_ms(50);
	mem_read(&base);
	mem_print(_metadata, "before", &base);
	tw_cache_print(_metadata);
	self->lfd = etp_socket();
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, etp_bind(self->lfd, SADDR, self->port));
	ASSERT_EQ(0, listen(self->lfd, BACKLOG));

	flood_with_clients(_metadata, self, &fl, &cl, &during);
	bound = mem_bound(base.slab_active, cl.attempts);

	TH_LOG("flood: %llu SYNs in %.1f s = %.0f SYNs/s from one sender (%llu dropped on the way out)",
	       fl.sent, fl.secs, fl.sent / fl.secs, fl.dropped);
	TH_LOG("clients: %d of %d connected and echoed during the flood (mean %lld ms, max %lld ms)%s%s",
	       cl.ok, cl.attempts, cl.ok ? cl.sum_ms / cl.ok : 0, cl.max_ms,
	       cl.first_error[0] ? "; first failure: " : "", cl.first_error);
	TH_LOG("InSegs +%lld, ListenOverflows +%lld, SynCookiesSent +%lld, SynCookiesRecv +%lld",
	       etp_stat("InSegs") - in, etp_stat("ListenOverflows") - over,
	       etp_stat("SynCookiesSent") - sent, etp_stat("SynCookiesRecv") - recv0);
	mem_print(_metadata, "during", &during);
	TH_LOG("bounds during the flood: %ld sockets (base %ld + listener + %d half-open + %d accept queue + 2 clients), %ld ETP slab objects (those + 2 per client and a queue of children awaiting RCU + a per-CPU slab per CPU)",
	       base.sockets + SOCKETS_BOUND, base.sockets, SYN_QUEUE, ACCEPT_QUEUE, bound);

	EXPECT_LE(99, cl.ok);
	EXPECT_LT(0, etp_stat("SynCookiesSent") - sent);
	EXPECT_LT(0, etp_stat("SynCookiesRecv") - recv0);
	/* The flood must have been a flood: far more SYNs than the queues. */
	EXPECT_LT(FLOOD_MIN, (long long)fl.sent);
	EXPECT_GE(bound, during.slab_active);
	EXPECT_GE(base.sockets + SOCKETS_BOUND, during.sockets);
	EXPECT_GE(SYN_QUEUE, during.syn_recv);

	EXPECT_TRUE(back_to(&base, &after, 15000));
	mem_print(_metadata, "after", &after);
}

TEST_F_TIMEOUT(flood, control_without_cookies_flood_keeps_clients_out, 120)
{
	struct flooder fl = { 0 };
	struct clients cl = { .attempts = 5, .timeout_ms = 2500, .gap_ms = 0 };
	struct mem during;

	ASSERT_EQ(0, etp_sysctl_set("syncookies", "0"));
	/* 1 + 2 + 4 + 8 s: longer than 5 clients of 2.5 s each */
	ASSERT_EQ(0, etp_sysctl_set("synack_retries", "3"));
	flood_with_clients(_metadata, self, &fl, &cl, &during);
	TH_LOG("without cookies: %d of %d clients got in within %d ms each; flood %.0f SYNs/s",
	       cl.ok, cl.attempts, cl.timeout_ms, fl.sent / fl.secs);
	EXPECT_GE(1, cl.ok);
	EXPECT_EQ(0, etp_stat("SynCookiesSent"));
	EXPECT_GE(SYN_QUEUE, during.syn_recv);
}

TEST_HARNESS_MAIN

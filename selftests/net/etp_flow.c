// SPDX-License-Identifier: GPL-2.0
/*
 * Flow control and loss recovery seen through ETP_INFO and
 * /proc/net/etp_stat rather than guessed from timing:
 *
 * zwnd   A reader that stops reading: the sender blocks (no POLLOUT), the
 *        peer's window reaches zero, window probes go out (etpi_probes,
 *        ZeroWindowProbes) and are answered, so the connection outlives
 *        more probes than net.etp.retries; when reading resumes the
 *        stream completes byte for byte (RFC 9293, 3.8.6.1).
 * gone   The peer vanishes mid-transfer (nftables drops everything in its
 *        namespace): the sender retransmits net.etp.retries times, then
 *        its blocked send() or recv() fails with ETIMEDOUT; nothing is left
 *        in /proc/net/etp and the module unloads.
 * rto    Every data segment is dropped from one point on: each timeout
 *        doubles the RTO (RFC 6298, 5.5) up to rto_max_ms, both in
 *        ETP_INFO (etpi_rto, etpi_backoff) and on the wire (a packet
 *        socket timestamps each retransmission).
 * synack The SYN-ACK is lost and a repeated SYN brings it again: the
 *        server counts it as a retransmission, starts with a congestion
 *        window of one segment and takes no RTT sample from it.
 * icmp   ICMP errors crafted from a raw socket: one quoting a sequence
 *        number outside the unacknowledged range is ignored and counted
 *        (IcmpIgnored); one quoting the SYN fails connect() at once.
 * route  A router answers the SYN with a hard ICMP error while connect()
 *        is still sending it: connect() must fail at once all the same.
 *        (nftables' reject cannot stand in for a peer: it checks the
 *        checksum of protocols it does not know without a pseudo-header,
 *        finds ETP's wrong and sends nothing.)
 *
 * zwnd, rto, synack and icmp run on loopback in a private namespace; route
 * has its own two namespaces (see there); gone uses
 *
 *     netns etpflow-PID-s              netns etpflow-PID-c
 *     +---------------------+  veth    +------------------------+
 *     | listener, reader    |<========>| sender                 |
 *     | 10.253.51.1/24      |          | 10.253.51.2/24         |
 *     | nft: drop all ETP   |          | retries 4, rto_max 400 |
 *     +---------------------+          +------------------------+
 */
#define _GNU_SOURCE
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include "etp_common.h"
#include "kselftest_harness.h"

#define STR_(x)	#x
#define STR(x)	STR_(x)

/* SO_ERROR of @fd (and clear it), -1 if it cannot be read. */
static int so_error(int fd)
{
	int err = -1;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -1;
	return err;
}

/* ------------------------------------------------------------------ */
/* zwnd: a reader that stops reading                                   */
/* ------------------------------------------------------------------ */

#define ZWND_SEED	0x2e0
#define ZWND_RETRIES	3
#define ZWND_RTO_MAX_MS	1000

FIXTURE(zwnd) {
	int c, s;
	size_t sent;			/* bytes the sender has queued */
	struct etp_info at_zero;	/* sender's info when the window shut */
};

/*
 * Probes at least once a second (rto_max_ms) and few retries: a sender
 * that counted answered probes against net.etp.retries would give up
 * within a stall of a few seconds.
 */
FIXTURE_SETUP(zwnd)
{
	long long t0;

	self->c = self->s = -1;
	self->sent = 0;
	ASSERT_EQ(0, etp_private_netns());
	ASSERT_EQ(0, etp_sysctl_set("rto_max_ms", STR(ZWND_RTO_MAX_MS)));
	ASSERT_EQ(0, etp_sysctl_set("retries", STR(ZWND_RETRIES)));
	ASSERT_EQ(0, etp_pair(&self->c, &self->s)) TH_LOG("%s", strerror(errno));

	/* The reader never reads: fill its window and our send buffer. */
	ASSERT_EQ(0, etp_fill_until_blocked(self->c, &self->sent, ZWND_SEED))
		TH_LOG("send: %s", strerror(errno));
	t0 = etp_now_ms();
	do {
		ASSERT_EQ(0, etp_get_info(self->c, &self->at_zero));
		if (!self->at_zero.etpi_snd_wnd)
			break;
		etp_sleep_ms(10);
		etp_fill_until_blocked(self->c, &self->sent, ZWND_SEED);
	} while (etp_now_ms() - t0 < 5000);
	TH_LOG("sender queued %zu bytes; peer window %u after %lld ms",
	       self->sent, self->at_zero.etpi_snd_wnd, etp_now_ms() - t0);
}

FIXTURE_TEARDOWN(zwnd)
{
	etp_close_abort(self->s);
	etp_close_abort(self->c);
}

TEST_F(zwnd, peer_window_reaches_zero_on_sender)
{
	struct etp_info si;

	EXPECT_EQ(0, self->at_zero.etpi_snd_wnd);
	ASSERT_EQ(0, etp_get_info(self->s, &si));
	EXPECT_EQ(0, si.etpi_rcv_wnd) TH_LOG("reader advertised %u", si.etpi_rcv_wnd);
	/* Everything the window allowed was sent and acknowledged. */
	EXPECT_EQ(self->at_zero.etpi_snd_una, self->at_zero.etpi_snd_nxt);
	EXPECT_EQ(si.etpi_rcv_nxt, self->at_zero.etpi_snd_una);
}

TEST_F_TIMEOUT(zwnd, sender_blocks_without_pollout_until_reader_resumes, 30)
{
	static uint8_t buf[65536];
	struct pollfd pfd = { .fd = self->c, .events = POLLOUT };
	long long t0;
	size_t rcvd = 0;
	int n;

	ASSERT_EQ(0, self->at_zero.etpi_snd_wnd);
	/* Stalled for 3 s: not writable once. */
	n = poll(&pfd, 1, 3000);
	EXPECT_EQ(0, n) TH_LOG("revents 0x%x during the stall", pfd.revents);
	EXPECT_EQ(-1, send(self->c, buf, 1, MSG_DONTWAIT | MSG_NOSIGNAL));
	EXPECT_EQ(EAGAIN, errno);

	/* The reader drains what it holds: the sender becomes writable. */
	fcntl(self->s, F_SETFL, O_NONBLOCK);
	t0 = etp_now_ms();
	for (;;) {
		ssize_t r = recv(self->s, buf, sizeof(buf), 0);

		if (r > 0) {
			ASSERT_EQ(-1, etp_check(buf, r, rcvd, ZWND_SEED));
			rcvd += r;
		}
		pfd.revents = 0;
		if (poll(&pfd, 1, r > 0 ? 0 : 50) == 1 && pfd.revents & POLLOUT)
			break;
		ASSERT_GT(10000, etp_now_ms() - t0)
			TH_LOG("no POLLOUT 10 s after reading resumed (%zu read)", rcvd);
	}
	TH_LOG("POLLOUT %lld ms after reading resumed, %zu bytes read",
	       etp_now_ms() - t0, rcvd);
}

TEST_F_TIMEOUT(zwnd, window_probes_counted_in_etp_info_and_etp_stat, 30)
{
	long long stat0 = etp_stat("ZeroWindowProbes"), stat1;
	struct etp_info before, after;

	ASSERT_EQ(0, self->at_zero.etpi_snd_wnd);
	ASSERT_LE(0, stat0) TH_LOG("no ZeroWindowProbes in /proc/net/etp_stat");
	ASSERT_EQ(0, etp_get_info(self->c, &before));
	etp_sleep_ms(3500);
	ASSERT_EQ(0, etp_get_info(self->c, &after));
	stat1 = etp_stat("ZeroWindowProbes");
	TH_LOG("in 3.5 s: etpi_probes %u -> %u, ZeroWindowProbes %lld -> %lld, rto %u us, backoff %u",
	       before.etpi_probes, after.etpi_probes, stat0, stat1,
	       after.etpi_rto, after.etpi_backoff);
	/* RTO 200 ms backing off to rto_max_ms 1000: at least 3 probes. */
	EXPECT_LE(3, after.etpi_probes - before.etpi_probes);
	/* Only this sender probes in this namespace. */
	EXPECT_LE(3, stat1 - stat0);
	EXPECT_EQ(0, after.etpi_snd_wnd);
	/* Probes carry no new data. */
	EXPECT_EQ(before.etpi_snd_nxt, after.etpi_snd_nxt);
	EXPECT_EQ(before.etpi_bytes_sent, after.etpi_bytes_sent);
}

TEST_F_TIMEOUT(zwnd, connection_outlives_more_probes_than_retries_then_byte_exact, 60)
{
	size_t total = self->sent + (1 << 20), rcvd = 0;
	struct etp_info ci, si;
	char why[160] = "";
	long long t0;
	int err = 0;
	socklen_t len = sizeof(err);

	ASSERT_EQ(0, self->at_zero.etpi_snd_wnd);
	/* 200 + 400 + 800 + 1000 + 1000 ms: five probes, retries is 3. */
	etp_sleep_ms(4500);
	ASSERT_EQ(0, etp_get_info(self->c, &ci));
	TH_LOG("after the stall: state %s, timeouts %u, probes %u, backoff %u",
	       etp_state_name(ci.etpi_state), ci.etpi_timeouts, ci.etpi_probes,
	       ci.etpi_backoff);
	EXPECT_EQ(ETP_ESTABLISHED, ci.etpi_state);
	EXPECT_EQ(ETP_ESTABLISHED, etp_state(self->s));
	EXPECT_EQ(0, getsockopt(self->c, SOL_SOCKET, SO_ERROR, &err, &len));
	EXPECT_EQ(0, err) TH_LOG("SO_ERROR %s", strerror(err));

	t0 = etp_now_ms();
	ASSERT_EQ(0, etp_finish_stream(self->c, self->s, &self->sent, &rcvd, total,
				   ZWND_SEED, 30000, why, sizeof(why)))
		TH_LOG("%s", why);
	TH_LOG("%zu bytes byte-exact, %lld ms after reading resumed", total,
	       etp_now_ms() - t0);
	t0 = etp_now_ms();
	for (;;) {
		ASSERT_EQ(0, etp_get_info(self->c, &ci));
		if (ci.etpi_bytes_acked == total || etp_now_ms() - t0 > 5000)
			break;
		etp_sleep_ms(10);
	}
	EXPECT_EQ(total, ci.etpi_bytes_acked);
	ASSERT_EQ(0, etp_get_info(self->s, &si));
	EXPECT_EQ(total, si.etpi_bytes_received);
}

/* ------------------------------------------------------------------ */
/* gone: the peer disappears mid-transfer                              */
/* ------------------------------------------------------------------ */

#define GONE_SEED	0x90e
#define GONE_RETRIES	4
#define GONE_RTO_MAX_MS	400
#define GONE_S_IP	"10.253.51.1"
#define GONE_C_IP	"10.253.51.2"

FIXTURE(gone) {
	int lfd, c, s;
	char ns_s[64], ns_c[64];
	struct etp_info before, after;	/* sender: at the drop, at the end */
	long long to0, rt0, to1, rt1;	/* client namespace Timeouts, RetransSegs */
	int err;			/* errno of the failing send() or recv() */
	long long fail_ms;		/* from the drop to that error */
	unsigned short cport, sport;
};

/*
 * How the sender learns that its peer is gone: blocked in send() with more
 * to write, or, having written its last request, blocked in recv() for
 * the answer.
 */
FIXTURE_VARIANT(gone) {
	bool in_recv;
};

FIXTURE_VARIANT_ADD(gone, blocked_in_send) {
	.in_recv = false,
};

FIXTURE_VARIANT_ADD(gone, blocked_in_recv) {
	.in_recv = true,
};

/* Everything up to the failure; the tests check its outcome. */
FIXTURE_SETUP(gone)
{
	static uint8_t buf[65536];
	size_t sent = 0, rcvd = 0;
	long long t0;
	ssize_t n;

	self->lfd = self->c = self->s = -1;
	snprintf(self->ns_s, sizeof(self->ns_s), "etpflow-%d-s", getpid());
	snprintf(self->ns_c, sizeof(self->ns_c), "etpflow-%d-c", getpid());
	ASSERT_EQ(0, etp_netns_veth(self->ns_s, GONE_S_IP, self->ns_c, GONE_C_IP))
		TH_LOG("cannot build the veth topology");

	ASSERT_EQ(0, etp_enter_netns(self->ns_s));
	self->lfd = etp_listener(GONE_S_IP, &self->sport);
	ASSERT_LE(0, self->lfd) TH_LOG("listener: %s", strerror(errno));

	ASSERT_EQ(0, etp_enter_netns(self->ns_c));
	ASSERT_EQ(0, etp_sysctl_set("retries", STR(GONE_RETRIES)));
	ASSERT_EQ(0, etp_sysctl_set("rto_max_ms", STR(GONE_RTO_MAX_MS)));
	self->c = etp_socket();
	ASSERT_LE(0, self->c);
	/* veth may need a moment for its carrier. */
	for (int i = 0; i < 50; i++) {
		if (!etp_connect(self->c, GONE_S_IP, self->sport))
			break;
		ASSERT_TRUE(errno == ENETUNREACH || errno == EHOSTUNREACH ||
			    errno == ETIMEDOUT) TH_LOG("connect: %s", strerror(errno));
		close(self->c);
		self->c = etp_socket();
		etp_sleep_ms(100);
	}
	ASSERT_EQ(ETP_ESTABLISHED, etp_state(self->c));
	self->cport = etp_local_port(self->c);
	self->s = etp_accept_timeout(self->lfd, ETP_IO_TIMEOUT_MS);
	ASSERT_LE(0, self->s);

	/* Mid-transfer: the reader has 256 KiB, more is on the way. */
	fcntl(self->c, F_SETFL, O_NONBLOCK);
	fcntl(self->s, F_SETFL, O_NONBLOCK);
	t0 = etp_now_ms();
	while (rcvd < (256 << 10)) {
		struct pollfd pfd[2] = {
			{ .fd = self->c, .events = POLLOUT },
			{ .fd = self->s, .events = POLLIN },
		};

		ASSERT_GT(20000, etp_now_ms() - t0) TH_LOG("transfer stalled at %zu", rcvd);
		ASSERT_LT(0, poll(pfd, 2, 1000));
		if (pfd[0].revents & POLLOUT) {
			etp_fill(buf, 16384, sent, GONE_SEED);
			n = send(self->c, buf, 16384, MSG_NOSIGNAL);
			if (n > 0)
				sent += n;
		}
		if (pfd[1].revents & POLLIN) {
			n = recv(self->s, buf, sizeof(buf), 0);
			ASSERT_LT(0, n);
			ASSERT_EQ(-1, etp_check(buf, n, rcvd, GONE_SEED));
			rcvd += n;
		}
	}

	/* The peer is gone: nothing in or out of its namespace. */
	ASSERT_EQ(0, etp_get_info(self->c, &self->before));
	self->to0 = etp_stat("Timeouts");
	self->rt0 = etp_stat("RetransSegs");
	t0 = etp_now_ms();
	ASSERT_EQ(0, etp_sh("ip netns exec %s nft -f - <<'EOF'\n"
			    "table ip etp_gone {\n"
			    "  chain in { type filter hook input priority 0; meta l4proto 253 drop; }\n"
			    "  chain out { type filter hook output priority 0; meta l4proto 253 drop; }\n"
			    "}\n"
			    "EOF", self->ns_s))
		TH_LOG("nft cannot drop ETP in %s", self->ns_s);

	fcntl(self->c, F_SETFL, 0);
	etp_set_timeouts(self->c, 60000);
	if (variant->in_recv) {
		/* One last request, then wait for an answer that never comes. */
		etp_fill(buf, 1000, sent, GONE_SEED);
		ASSERT_EQ(1000, send(self->c, buf, 1000, MSG_NOSIGNAL));
		n = recv(self->c, buf, sizeof(buf), 0);
		ASSERT_EQ(-1, n) TH_LOG("recv returned %zd", n);
	} else {
		/* Keep writing, blocking, until the sender gives up. */
		for (;;) {
			etp_fill(buf, sizeof(buf), sent, GONE_SEED);
			n = send(self->c, buf, sizeof(buf), MSG_NOSIGNAL);
			if (n < 0)
				break;
			sent += n;
			ASSERT_GT(60000, etp_now_ms() - t0) TH_LOG("no error after 60 s");
		}
	}
	self->err = errno;
	self->fail_ms = etp_now_ms() - t0;
	ASSERT_EQ(0, etp_get_info(self->c, &self->after));
	self->to1 = etp_stat("Timeouts");
	self->rt1 = etp_stat("RetransSegs");
	TH_LOG("%s failed after %lld ms: %s; rto %u us at the drop; retrans +%u, timeouts +%u, backoff %u; namespace Timeouts +%lld, RetransSegs +%lld",
	       variant->in_recv ? "recv" : "send", self->fail_ms,
	       strerror(self->err), self->before.etpi_rto,
	       self->after.etpi_retrans - self->before.etpi_retrans,
	       self->after.etpi_timeouts - self->before.etpi_timeouts,
	       self->after.etpi_backoff, self->to1 - self->to0,
	       self->rt1 - self->rt0);
}

FIXTURE_TEARDOWN(gone)
{
	etp_close_abort(self->c);
	etp_close_abort(self->s);
	etp_close_abort(self->lfd);
	etp_netns_del(self->ns_s, self->ns_c);
}

/*
 * RFC 9293, 3.8.3 (R2) and Documentation/protocol.rst: data is sent again
 * 'retries' times, and the next timeout ends the connection with ETIMEDOUT.
 */
TEST_F_TIMEOUT(gone, fails_etimedout_after_retries_retransmissions, 90)
{
	long long expect_ms = 0;
	int k;

	EXPECT_EQ(ETIMEDOUT, self->err) TH_LOG("%s", strerror(self->err));
	EXPECT_EQ(ETP_CLOSE, self->after.etpi_state);
	EXPECT_EQ(GONE_RETRIES, self->after.etpi_retrans - self->before.etpi_retrans);
	EXPECT_EQ(GONE_RETRIES + 1, self->after.etpi_timeouts - self->before.etpi_timeouts);
	/* The last retransmissions were never answered: backed off each time. */
	EXPECT_EQ(GONE_RETRIES, self->after.etpi_backoff);
	/* This is the namespace's only connection. */
	EXPECT_EQ(self->after.etpi_timeouts - self->before.etpi_timeouts,
		  self->to1 - self->to0);
	EXPECT_EQ(self->after.etpi_retrans - self->before.etpi_retrans,
		  self->rt1 - self->rt0);
	/* The timeouts add up, RTO doubling up to rto_max_ms: generously. */
	for (k = 0; k <= GONE_RETRIES; k++) {
		long long rto = (long long)self->before.etpi_rto << k;

		expect_ms += (rto < GONE_RTO_MAX_MS * 1000LL ? rto : GONE_RTO_MAX_MS * 1000LL) / 1000;
	}
	TH_LOG("failed after %lld ms, timeouts add up to %lld ms", self->fail_ms,
	       expect_ms);
	EXPECT_LE(expect_ms / 2, self->fail_ms);
	EXPECT_GE(3 * expect_ms + 2000, self->fail_ms);
	/* Later calls fail too, without blocking. */
	EXPECT_EQ(-1, send(self->c, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno) TH_LOG("second send: %s", strerror(errno));
}

static bool netns_etp_empty(const char *ns)
{
	char buf[4096], *nl;

	if (etp_enter_netns(ns) || etp_read_file("/proc/net/etp", buf, sizeof(buf)) < 0)
		return false;
	nl = strchr(buf, '\n');
	return nl && !nl[1];
}

TEST_F_TIMEOUT(gone, nothing_left_in_proc_and_module_unloads, 90)
{
	const char *mod = getenv("ETP_MODULE");
	char buf[4096];
	long long t0;
	bool ok;

	ASSERT_EQ(ETIMEDOUT, self->err);
	close(self->c);
	self->c = -1;
	/* The reader's side (its peer is gone): abortive close, listener too. */
	etp_close_abort(self->s);
	self->s = -1;
	close(self->lfd);
	self->lfd = -1;

	t0 = etp_now_ms();
	while (!(ok = netns_etp_empty(self->ns_c)) && etp_now_ms() - t0 < 3000)
		etp_sleep_ms(20);
	if (!ok && etp_read_file("/proc/net/etp", buf, sizeof(buf)) >= 0)
		TH_LOG("sender's namespace:\n%s", buf);
	EXPECT_TRUE(ok);
	while (!(ok = netns_etp_empty(self->ns_s)) && etp_now_ms() - t0 < 3000)
		etp_sleep_ms(20);
	if (!ok && etp_read_file("/proc/net/etp", buf, sizeof(buf)) >= 0)
		TH_LOG("reader's namespace:\n%s", buf);
	EXPECT_TRUE(ok);

	if (!mod || access(mod, R_OK)) {
		if (_metadata->exit_code == KSFT_PASS)
			SKIP(return, "ETP_MODULE does not name the module: not unloading it");
		return;
	}
	/* Freed sockets release the module asynchronously: retry a while. */
	t0 = etp_now_ms();
	while (etp_sh("rmmod etp 2>/dev/null") && etp_now_ms() - t0 < 10000)
		etp_sleep_ms(100);
	ok = access("/sys/module/etp", F_OK) != 0;
	if (!ok)
		etp_sh("cat /sys/module/etp/refcnt; rmmod etp");
	EXPECT_TRUE(ok) TH_LOG("rmmod etp failed for 10 s");
	if (ok)
		TH_LOG("unloaded after %lld ms", etp_now_ms() - t0);
	/* Later tests need it again. */
	if (ok)
		ASSERT_EQ(0, etp_sh("insmod %s", mod));
}

/* ------------------------------------------------------------------ */
/* rto: exponential backoff of the retransmission timer                */
/* ------------------------------------------------------------------ */

#define RTO_MIN_MS	100
#define RTO_TIMEOUTS	6	/* RTO 1, 2, 4, 8, 10, 10 times the first */

struct rto_sample {
	bool seen;
	unsigned int rto_us, backoff;
};

FIXTURE(rto) {
	int c, s, pkt;
};

FIXTURE_SETUP(rto)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	int on = 1, size = 4 << 20;
	char why[160] = "";

	self->c = self->s = self->pkt = -1;
	ASSERT_EQ(0, etp_private_netns());
	ASSERT_EQ(0, etp_sysctl_set("rto_min_ms", STR(RTO_MIN_MS)));
	ASSERT_EQ(0, etp_pair(&self->c, &self->s));
	/* Round trips on loopback: the RTO settles at rto_min_ms. */
	ASSERT_EQ(0, etp_exchange(self->c, self->s, 65536, 7, 20000, why,
				  sizeof(why))) TH_LOG("%s", why);

	/*
	 * Every packet through lo, timestamped by the kernel. (Only ETH_P_ALL
	 * taps see packets leaving; sent_times() keeps those.)
	 */
	self->pkt = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	ASSERT_LE(0, self->pkt) TH_LOG("packet socket: %s", strerror(errno));
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = if_nametoindex("lo");
	ASSERT_EQ(0, bind(self->pkt, (struct sockaddr *)&sll, sizeof(sll)));
	ASSERT_EQ(0, setsockopt(self->pkt, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)));
	setsockopt(self->pkt, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
}

FIXTURE_TEARDOWN(rto)
{
	if (self->pkt >= 0)
		close(self->pkt);
	etp_close_abort(self->c);
	etp_close_abort(self->s);
}

/* Times (ns) at which ETP segments from @sport with payload at @seq left. */
static int sent_times(int pkt, unsigned short sport, uint32_t seq,
		      long long *t, int max)
{
	uint8_t buf[2048];
	int n = 0;

	for (;;) {
		char ctl[256];
		struct sockaddr_ll from;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr msg = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl, .msg_controllen = sizeof(ctl),
		};
		const struct iphdr *ip = (const void *)buf;
		const struct etphdr *h;
		struct cmsghdr *cm;
		ssize_t len = recvmsg(pkt, &msg, MSG_DONTWAIT);
		unsigned int ihl, doff;
		long long ts = -1;

		if (len < 0)
			return n;
		if (from.sll_pkttype != PACKET_OUTGOING ||
		    from.sll_protocol != htons(ETH_P_IP) ||
		    len < (ssize_t)sizeof(*ip) || ip->protocol != IPPROTO_ETP)
			continue;
		ihl = ip->ihl * 4;
		if (len < (ssize_t)(ihl + sizeof(*h)))
			continue;
		h = (const void *)(buf + ihl);
		doff = (h->doff_res >> 4) * 4;
		if (ntohs(h->source) != sport || ntohl(h->seq) != seq ||
		    ntohs(ip->tot_len) <= ihl + doff)
			continue;
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec tsp;

				memcpy(&tsp, CMSG_DATA(cm), sizeof(tsp));
				ts = tsp.tv_sec * 1000000000LL + tsp.tv_nsec;
			}
		}
		if (ts >= 0 && n < max)
			t[n++] = ts;
	}
}

TEST_F_TIMEOUT(rto, timeouts_double_rto_until_rto_max_in_etp_info_and_on_wire, 60)
{
	struct rto_sample smp[RTO_TIMEOUTS + 1] = { 0 };
	static uint8_t buf[1000];
	struct etp_info base, ci;
	long long t[16], t0, start_ms, iv[16], exp_us[16];
	unsigned long long rto_max_us;
	unsigned int k, timeouts0, head;
	int n, i, uncapped = 0;
	char val[32];

	ASSERT_EQ(0, etp_get_info(self->c, &base));
	ASSERT_EQ(0, base.etpi_backoff);
	ASSERT_EQ(base.etpi_snd_una, base.etpi_snd_nxt) TH_LOG("data still in flight");
	TH_LOG("RTO before the loss: %u us (srtt %u us)", base.etpi_rto, base.etpi_srtt);
	ASSERT_GE(500000, base.etpi_rto) TH_LOG("the RTO did not settle");
	/* Three doublings, then the cap twice. */
	rto_max_us = 10ULL * base.etpi_rto;
	snprintf(val, sizeof(val), "%llu", rto_max_us / 1000);
	ASSERT_EQ(0, etp_sysctl_set("rto_max_ms", val));
	rto_max_us = etp_sysctl_get("rto_max_ms") * 1000;
	timeouts0 = base.etpi_timeouts;
	head = base.etpi_snd_nxt;

	/* From now on no data segment arrives (only empty ones are 40 bytes). */
	ASSERT_EQ(0, etp_sh("nft -f - <<'EOF'\n"
			    "table ip etp_rto {\n"
			    "  chain in { type filter hook input priority 0; meta l4proto 253 ip length > 40 drop; }\n"
			    "}\n"
			    "EOF"));
	while (recv(self->pkt, t, sizeof(t), MSG_DONTWAIT) >= 0)
		;	/* the packet socket keeps only what follows */
	etp_fill(buf, sizeof(buf), 0, 99);
	ASSERT_EQ((ssize_t)sizeof(buf), send(self->c, buf, sizeof(buf), MSG_NOSIGNAL));

	/* Sample ETP_INFO after each timeout. */
	start_ms = etp_now_ms();
	for (;;) {
		ASSERT_EQ(0, etp_get_info(self->c, &ci));
		k = ci.etpi_timeouts - timeouts0;
		if (k >= 1 && k <= RTO_TIMEOUTS && !smp[k].seen) {
			smp[k].seen = true;
			smp[k].rto_us = ci.etpi_rto;
			smp[k].backoff = ci.etpi_backoff;
		}
		if (k >= RTO_TIMEOUTS)
			break;
		/* The six timeouts take 35 times the first RTO. */
		ASSERT_GT(5000 + 40LL * base.etpi_rto / 1000, etp_now_ms() - start_ms)
			TH_LOG("only %u timeouts after %lld ms", k, etp_now_ms() - start_ms);
		etp_sleep_ms(3);
	}
	ASSERT_EQ(0, etp_sh("nft delete table ip etp_rto"));

	/* ETP_INFO: backoff counts the timeouts, the RTO doubles, capped. */
	for (k = 1; k <= RTO_TIMEOUTS; k++) {
		unsigned long long want = (unsigned long long)base.etpi_rto << k;

		if (want > rto_max_us)
			want = rto_max_us;
		if (!smp[k].seen) {
			TH_LOG("timeout %u: not sampled (two timeouts between samples)", k);
			continue;
		}
		TH_LOG("timeout %u: etpi_backoff %u, etpi_rto %u us (want %llu)",
		       k, smp[k].backoff, smp[k].rto_us, want);
		EXPECT_EQ(k, smp[k].backoff);
		EXPECT_EQ(want, smp[k].rto_us);
	}

	/* The retransmission gets through once the drop is gone. */
	t0 = etp_now_ms();
	ASSERT_EQ(0, etp_recv_all(self->s, buf, sizeof(buf))) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(-1, etp_check(buf, sizeof(buf), 0, 99));
	TH_LOG("data delivered %lld ms after the drop was removed", etp_now_ms() - t0);

	/* On the wire: the first transmission and each retransmission. */
	n = sent_times(self->pkt, etp_local_port(self->c), head, t, 16);
	TH_LOG("%d transmissions of seq %u seen", n, head);
	ASSERT_LE(RTO_TIMEOUTS + 1, n);
	for (i = 1; i <= RTO_TIMEOUTS; i++) {
		unsigned long long want = (unsigned long long)base.etpi_rto << (i - 1);

		exp_us[i] = want > rto_max_us ? rto_max_us : want;
		iv[i] = (t[i] - t[i - 1]) / 1000;
		TH_LOG("interval %d: %lld us (RTO %lld us)", i, iv[i], exp_us[i]);
	}
	for (i = 2; i <= RTO_TIMEOUTS; i++) {
		double r = (double)iv[i] / iv[i - 1];

		if (exp_us[i] == 2 * exp_us[i - 1]) {
			/* Both before the cap: twice the previous. */
			uncapped++;
			EXPECT_TRUE(r >= 1.5 && r <= 2.7)
				TH_LOG("interval %d / interval %d = %.2f, want about 2", i, i - 1, r);
		} else if (exp_us[i] == (long long)rto_max_us &&
			   exp_us[i - 1] == (long long)rto_max_us) {
			/* Both at the cap: equal. */
			EXPECT_TRUE(r >= 0.7 && r <= 1.4)
				TH_LOG("interval %d / interval %d = %.2f at rto_max, want about 1",
				       i, i - 1, r);
		}
	}
	EXPECT_LE(2, uncapped);
	/* Never shorter than the RTO, and not much longer than it. */
	for (i = 1; i <= RTO_TIMEOUTS; i++) {
		EXPECT_LE(exp_us[i] * 9 / 10, iv[i]) TH_LOG("interval %d too short", i);
		EXPECT_GE(exp_us[i] * 2 + 100000, iv[i]) TH_LOG("interval %d too long", i);
	}
}

/* ------------------------------------------------------------------ */
/* synack: the SYN-ACK is lost, a repeated SYN brings it again         */
/* ------------------------------------------------------------------ */

/* Documentation/protocol.rst: the congestion window starts at ten segments. */
#define INIT_CWND_SEGS	10
#define SYNACK_WAIT_MS	300	/* from the lost SYN-ACK to the repeated SYN */

FIXTURE(synack) {
	int lfd, c, s;
	unsigned short port;
	struct etp_info ci, si;		/* both ends right after the handshake */
	long long rt0, rt1;		/* RetransSegs of the namespace */
};

FIXTURE_VARIANT(synack) {
	bool lost;
};

FIXTURE_VARIANT_ADD(synack, synack_lost) {
	.lost = true,
};

FIXTURE_VARIANT_ADD(synack, control_nothing_lost) {
	.lost = false,
};

/* The client's SYN once more, from a raw socket, as its timer would send it. */
static int send_syn_again(int c, unsigned short port)
{
	struct sockaddr_in me, peer = etp_addr("127.0.0.1", port);
	socklen_t len = sizeof(me);
	struct etphdr h = { 0 };
	struct etp_info ci;
	int raw, ret;

	if (getsockname(c, (struct sockaddr *)&me, &len) || etp_get_info(c, &ci))
		return -1;
	h.source = me.sin_port;
	h.dest = peer.sin_port;
	h.seq = htonl(ci.etpi_iss);
	h.doff_res = 5 << 4;
	h.flags = ETP_FLAG_SYN;
	h.window = htons(65535);
	h.check = etp_seg_csum(me.sin_addr.s_addr, peer.sin_addr.s_addr, &h,
			       sizeof(h));
	raw = socket(AF_INET, SOCK_RAW, IPPROTO_ETP);
	if (raw < 0)
		return -1;
	ret = sendto(raw, &h, sizeof(h), 0, (struct sockaddr *)&peer,
		     sizeof(peer)) == sizeof(h) ? 0 : -1;
	close(raw);
	return ret;
}

/*
 * A handshake on loopback in which (variant synack_lost) nftables drops the
 * first SYN-ACK. No timer fires (rto_initial_ms is 10 s): the server, in
 * SYN_RECV, sends its SYN-ACK again when the client's SYN arrives again
 * (RFC 9293, 3.10.7.4), which completes the handshake.
 */
FIXTURE_SETUP(synack)
{
	struct pollfd pfd;
	unsigned short cport;

	self->lfd = self->c = self->s = -1;
	ASSERT_EQ(0, etp_private_netns());
	ASSERT_EQ(0, etp_sysctl_set("rto_initial_ms", "10000"));
	self->lfd = etp_listener("127.0.0.1", &self->port);
	ASSERT_LE(0, self->lfd);
	if (variant->lost)
		ASSERT_EQ(0, etp_sh("nft -f - <<'EOF'\n"
				    "table ip etp_synack {\n"
				    "  counter dropped { }\n"
				    "  chain in {\n"
				    "    type filter hook input priority 0;\n"
				    "    meta l4proto 253 ip hdrlength 5 @nh,264,8 0x12 limit rate 1/hour burst 1 packets counter name \"dropped\" drop\n"
				    "  }\n"
				    "}\n"
				    "EOF"));
	self->rt0 = etp_stat("RetransSegs");
	self->c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_ETP);
	ASSERT_LE(0, self->c);
	ASSERT_EQ(-1, etp_connect(self->c, "127.0.0.1", self->port));
	ASSERT_EQ(EINPROGRESS, errno);
	cport = etp_local_port(self->c);
	if (variant->lost) {
		ASSERT_EQ(ETP_SYN_RECV,
			  etp_wait_proc_state(self->port, cport, ETP_SYN_RECV, 3000));
		etp_sleep_ms(SYNACK_WAIT_MS);
		ASSERT_EQ(ETP_SYN_SENT, etp_state(self->c)) TH_LOG("the SYN-ACK was not dropped");
		ASSERT_EQ(0, etp_sh("nft list counter ip etp_synack dropped | grep -q 'packets 1 '"))
			TH_LOG("the rule did not drop exactly one SYN-ACK");
		ASSERT_EQ(0, send_syn_again(self->c, self->port)) TH_LOG("%s", strerror(errno));
	}
	pfd = (struct pollfd){ .fd = self->c, .events = POLLOUT };
	ASSERT_EQ(1, poll(&pfd, 1, 3000)) TH_LOG("no handshake within 3 s");
	ASSERT_EQ(0, so_error(self->c));
	self->s = etp_accept_timeout(self->lfd, 3000);
	ASSERT_LE(0, self->s);
	ASSERT_EQ(0, etp_get_info(self->c, &self->ci));
	ASSERT_EQ(0, etp_get_info(self->s, &self->si));
	self->rt1 = etp_stat("RetransSegs");
	TH_LOG("server: retrans %u, cwnd %u (mss %u), srtt %u us; namespace RetransSegs +%lld",
	       self->si.etpi_retrans, self->si.etpi_cwnd, self->si.etpi_mss,
	       self->si.etpi_srtt, self->rt1 - self->rt0);
}

FIXTURE_TEARDOWN(synack)
{
	etp_close_abort(self->c);
	etp_close_abort(self->s);
	etp_close_abort(self->lfd);
}

/*
 * Every SYN-ACK after the first is a retransmission, whatever made the
 * server send it (Linux TCP counts the one for a repeated SYN too).
 */
TEST_F(synack, server_counts_synack_sent_again_as_retransmission)
{
	unsigned int want = variant->lost ? 1 : 0;

	EXPECT_EQ(want, self->si.etpi_retrans);
	EXPECT_EQ(want, self->rt1 - self->rt0);
}

/* RFC 5681, 3.1: after a lost SYN-ACK the server's window is one segment. */
TEST_F(synack, server_initial_cwnd_one_segment_only_if_synack_lost)
{
	unsigned int want = (variant->lost ? 1 : INIT_CWND_SEGS) * self->si.etpi_mss;

	EXPECT_EQ(want, self->si.etpi_cwnd);
}

/*
 * RFC 6298, 3 (Karn): the ACK of a SYN-ACK sent twice is no RTT sample; a
 * sample from the first one would be at least SYNACK_WAIT_MS long.
 */
TEST_F(synack, server_takes_no_rtt_sample_from_synack_sent_twice)
{
	if (variant->lost) {
		EXPECT_GT(SYNACK_WAIT_MS * 1000 / 3, self->si.etpi_srtt)
			TH_LOG("srtt %u us", self->si.etpi_srtt);
	} else {
		EXPECT_LT(0, self->si.etpi_srtt);
		EXPECT_GT(SYNACK_WAIT_MS * 1000 / 3, self->si.etpi_srtt);
	}
}

/* ------------------------------------------------------------------ */
/* icmp: errors quoting sequence numbers inside and outside the range  */
/* ------------------------------------------------------------------ */

FIXTURE(icmp) {
	int c, s, lfd, raw;
	unsigned short port;
};

FIXTURE_SETUP(icmp)
{
	self->c = self->s = self->lfd = self->raw = -1;
	ASSERT_EQ(0, etp_private_netns());
	self->lfd = etp_listener("127.0.0.1", &self->port);
	ASSERT_LE(0, self->lfd);
	self->raw = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	ASSERT_LE(0, self->raw) TH_LOG("raw ICMP socket: %s", strerror(errno));
}

FIXTURE_TEARDOWN(icmp)
{
	if (self->raw >= 0)
		close(self->raw);
	etp_close_abort(self->c);
	etp_close_abort(self->s);
	etp_close_abort(self->lfd);
}

/*
 * An ICMP destination unreachable (@code) from the server (127.0.0.1,
 * @port) about a segment the client @c sent: it quotes the segment's IP
 * header and the first 8 bytes of its ETP header (ports and sequence
 * number @seq).
 */
static int send_icmp_unreach(int raw, int c, unsigned short port,
			     uint8_t code, uint32_t seq)
{
	struct {
		struct icmphdr icmp;
		struct iphdr ip;
		struct etphdr_start {
			uint16_t source, dest;
			uint32_t seq;
		} __attribute__((packed)) l4;
	} __attribute__((packed)) m;
	struct sockaddr_in self_addr, peer = etp_addr("127.0.0.1", port);
	socklen_t len = sizeof(self_addr);

	if (getsockname(c, (struct sockaddr *)&self_addr, &len))
		return -1;
	memset(&m, 0, sizeof(m));
	m.icmp.type = ICMP_DEST_UNREACH;
	m.icmp.code = code;
	m.ip.version = 4;
	m.ip.ihl = 5;
	m.ip.tot_len = htons(sizeof(struct iphdr) + ETP_HDR_LEN + 100);
	m.ip.ttl = 64;
	m.ip.protocol = IPPROTO_ETP;
	m.ip.saddr = self_addr.sin_addr.s_addr;
	m.ip.daddr = peer.sin_addr.s_addr;
	m.ip.check = etp_inet_csum(&m.ip, sizeof(m.ip));
	m.l4.source = self_addr.sin_port;
	m.l4.dest = peer.sin_port;
	m.l4.seq = htonl(seq);
	m.icmp.checksum = etp_inet_csum(&m, sizeof(m));
	return sendto(raw, &m, sizeof(m), 0, (struct sockaddr *)&peer,
		      sizeof(peer)) == sizeof(m) ? 0 : -1;
}

/* A connect() whose SYN is never answered (ETP input dropped); SYN_SENT. */
static void connect_unanswered(struct __test_metadata *_metadata,
			       FIXTURE_DATA(icmp) *self, struct etp_info *ci)
{
	ASSERT_EQ(0, etp_sh("nft -f - <<'EOF'\n"
			    "table ip etp_icmp {\n"
			    "  chain in { type filter hook input priority 0; meta l4proto 253 drop; }\n"
			    "}\n"
			    "EOF"));
	self->c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_ETP);
	ASSERT_LE(0, self->c);
	ASSERT_EQ(-1, etp_connect(self->c, "127.0.0.1", self->port));
	ASSERT_EQ(EINPROGRESS, errno);
	ASSERT_EQ(0, etp_get_info(self->c, ci));
	ASSERT_EQ(ETP_SYN_SENT, ci->etpi_state);
}

/*
 * RFC 5927, 4.1 / RFC 9293, 3.10.7.4 spirit: an ICMP error must quote a
 * sequence number in [snd_una, snd_max]; others are stale or forged.
 */
TEST_F(icmp, port_unreachable_quoting_seq_outside_syn_ignored)
{
	long long before = etp_stat("IcmpIgnored"), after;
	struct pollfd pfd;
	struct etp_info ci;

	ASSERT_LE(0, before) TH_LOG("no IcmpIgnored in /proc/net/etp_stat");
	connect_unanswered(_metadata, self, &ci);
	ASSERT_EQ(0, send_icmp_unreach(self->raw, self->c, self->port, ICMP_PORT_UNREACH,
				       ci.etpi_iss - 1)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, send_icmp_unreach(self->raw, self->c, self->port, ICMP_PORT_UNREACH,
				       ci.etpi_iss + 2)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, send_icmp_unreach(self->raw, self->c, self->port, ICMP_PORT_UNREACH,
				       ci.etpi_iss + 0x40000000)) TH_LOG("%s", strerror(errno));
	after = etp_wait_stat("IcmpIgnored", before + 3, 2000);
	pfd = (struct pollfd){ .fd = self->c, .events = POLLOUT };
	EXPECT_EQ(0, poll(&pfd, 1, 300)) TH_LOG("revents 0x%x", pfd.revents);
	EXPECT_EQ(0, so_error(self->c));
	EXPECT_EQ(ETP_SYN_SENT, etp_state(self->c));
	EXPECT_EQ(before + 3, after) TH_LOG("IcmpIgnored %lld -> %lld for 3 errors", before, after);
}

/* The control: the same error quoting the SYN's own number is believed. */
TEST_F(icmp, port_unreachable_quoting_syn_fails_connect_econnrefused)
{
	long long before = etp_stat("IcmpIgnored"), t0;
	struct pollfd pfd;
	struct etp_info ci;

	connect_unanswered(_metadata, self, &ci);
	t0 = etp_now_ms();
	ASSERT_EQ(0, send_icmp_unreach(self->raw, self->c, self->port, ICMP_PORT_UNREACH,
				       ci.etpi_iss)) TH_LOG("%s", strerror(errno));
	pfd = (struct pollfd){ .fd = self->c, .events = POLLOUT };
	EXPECT_EQ(1, poll(&pfd, 1, 1000));
	EXPECT_GT(900, etp_now_ms() - t0);
	EXPECT_EQ(ECONNREFUSED, so_error(self->c));
	EXPECT_EQ(before, etp_stat("IcmpIgnored"));
}

/* On an established connection with nothing in flight only snd_una is in range. */
TEST_F(icmp, unreachable_quoting_acked_or_unsent_seq_ignored_on_established)
{
	long long before = etp_stat("IcmpIgnored"), after;
	struct etp_info ci;
	char why[160] = "";

	ASSERT_LE(0, before);
	self->c = etp_socket();
	ASSERT_LE(0, self->c);
	ASSERT_EQ(0, etp_connect(self->c, "127.0.0.1", self->port));
	self->s = etp_accept_timeout(self->lfd, ETP_IO_TIMEOUT_MS);
	ASSERT_LE(0, self->s);
	ASSERT_EQ(0, etp_exchange(self->c, self->s, 4096, 3, 10000, why, sizeof(why)));
	ASSERT_EQ(0, etp_get_info(self->c, &ci));
	ASSERT_EQ(ci.etpi_snd_una, ci.etpi_snd_nxt);
	/* Protocol unreachable is a hard error: believed, it would end a handshake. */
	ASSERT_EQ(0, send_icmp_unreach(self->raw, self->c, self->port, ICMP_PROT_UNREACH,
				       ci.etpi_snd_una - 1000));
	ASSERT_EQ(0, send_icmp_unreach(self->raw, self->c, self->port, ICMP_PROT_UNREACH,
				       ci.etpi_snd_una + 1000));
	after = etp_wait_stat("IcmpIgnored", before + 2, 2000);
	EXPECT_EQ(before + 2, after) TH_LOG("IcmpIgnored %lld -> %lld for 2 errors", before, after);
	EXPECT_EQ(0, so_error(self->c));
	EXPECT_EQ(ETP_ESTABLISHED, etp_state(self->c));
	EXPECT_EQ(0, etp_exchange(self->c, self->s, 4096, 4, 10000, why, sizeof(why)))
		TH_LOG("%s", why);
}

/*
 * The control for the test above: the same error quoting snd_una is
 * believed, but on a synchronized connection even a hard error is only a
 * soft one (RFC 5927, 7.2, as Linux TCP does): it shows in SO_ERROR
 * (which reports the soft error, as for TCP) and the connection goes on.
 */
TEST_F(icmp, unreachable_quoting_snd_una_on_established_is_soft_error)
{
	long long before = etp_stat("IcmpIgnored");
	struct etp_info ci;
	char why[160] = "";
	int err;

	self->c = etp_socket();
	ASSERT_LE(0, self->c);
	ASSERT_EQ(0, etp_connect(self->c, "127.0.0.1", self->port));
	self->s = etp_accept_timeout(self->lfd, ETP_IO_TIMEOUT_MS);
	ASSERT_LE(0, self->s);
	ASSERT_EQ(0, etp_get_info(self->c, &ci));
	ASSERT_EQ(0, send_icmp_unreach(self->raw, self->c, self->port, ICMP_PROT_UNREACH,
				       ci.etpi_snd_una));
	etp_sleep_ms(200);
	EXPECT_EQ(before, etp_stat("IcmpIgnored"));
	/* Protocol unreachable means "no ETP there": ETP reports it as refused. */
	err = so_error(self->c);
	EXPECT_EQ(ECONNREFUSED, err) TH_LOG("SO_ERROR %s", strerror(err));
	EXPECT_EQ(ETP_ESTABLISHED, etp_state(self->c));
	EXPECT_EQ(0, etp_exchange(self->c, self->s, 4096, 5, 10000, why, sizeof(why)))
		TH_LOG("%s", why);
}

/* ------------------------------------------------------------------ */
/* route: a router answers the SYN with a hard ICMP error at once      */
/* ------------------------------------------------------------------ */

#define ROUTE_R_IP	"10.253.53.1"
#define ROUTE_C_IP	"10.253.53.2"
#define ROUTE_DEST	"10.253.99.9"	/* a "prohibit" route at the router */

FIXTURE(route) {
	int c;
	char ns_r[64], ns_c[64];
};

/*
 *     netns etpflow-PID-c               netns etpflow-PID-r
 *     +-----------------------+  veth   +------------------------------+
 *     | connect() to         |<=======>| ip_forward=1                 |
 *     | 10.253.99.9 via r    |         | prohibit 10.253.99.9: ICMP   |
 *     | 10.253.53.2/24       |         | "administratively prohibited"|
 *     +-----------------------+         +------------------------------+
 *
 * veth hands a packet to its peer within the sender's own softirq, so the
 * router's ICMP error comes back while connect() is still sending the SYN.
 */
FIXTURE_SETUP(route)
{
	self->c = -1;
	snprintf(self->ns_r, sizeof(self->ns_r), "etpflow-%d-r", getpid());
	snprintf(self->ns_c, sizeof(self->ns_c), "etpflow-%d-c", getpid());
	ASSERT_EQ(0, etp_netns_veth(self->ns_r, ROUTE_R_IP, self->ns_c, ROUTE_C_IP));
	ASSERT_EQ(0, etp_sh("ip netns exec %s sysctl -qw net.ipv4.ip_forward=1 && "
			    "ip -n %s route add prohibit " ROUTE_DEST " && "
			    "ip -n %s route add default via " ROUTE_R_IP,
			    self->ns_r, self->ns_r, self->ns_c));
	/* Carrier up and both neighbours resolved before the SYN goes out. */
	ASSERT_EQ(0, etp_sh("for i in $(seq 50); do ip netns exec %s ping -q -c 1 -W 1 "
			    ROUTE_R_IP " >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1",
			    self->ns_c));
	ASSERT_EQ(0, etp_enter_netns(self->ns_c));
}

FIXTURE_TEARDOWN(route)
{
	etp_close_abort(self->c);
	etp_netns_del(self->ns_r, self->ns_c);
}

/*
 * "Communication administratively prohibited" is a hard error
 * (icmp_err_convert: EHOSTUNREACH, fatal). During the handshake it must end
 * connect() at once (Documentation/protocol.rst, input.c), not after the
 * SYN's first retransmission (rto_initial_ms, 1 s) draws a second one.
 */
TEST_F(route, hard_icmp_error_answering_syn_fails_connect_at_once)
{
	long long t0, ms, retrans0 = etp_stat("RetransSegs");
	int ret, err;

	ASSERT_EQ(1000, etp_sysctl_get("rto_initial_ms"));
	self->c = etp_socket();
	ASSERT_LE(0, self->c);
	t0 = etp_now_ms();
	ret = etp_connect(self->c, ROUTE_DEST, 7000);
	err = errno;
	ms = etp_now_ms() - t0;
	TH_LOG("connect: %s after %lld ms; SYNs sent again: %lld; IcmpIgnored %lld",
	       ret ? strerror(err) : "success", ms, etp_stat("RetransSegs") - retrans0,
	       etp_stat("IcmpIgnored"));
	etp_sh("grep Icmp: /proc/net/snmp | tail -n 1 | awk '{ print \"# InDestUnreachs \" $5 }' >&2");
	ASSERT_EQ(-1, ret);
	EXPECT_EQ(EHOSTUNREACH, err);
	EXPECT_GT(500, ms);
	EXPECT_EQ(0, etp_stat("RetransSegs") - retrans0);
}

TEST_HARNESS_MAIN

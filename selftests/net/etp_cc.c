// SPDX-License-Identifier: GPL-2.0
/*
 * Flow and congestion control on loopback, read through ETP_INFO and the
 * counters: window scaling (RFC 7323), Nagle's algorithm and ETP_NODELAY,
 * delayed ACKs, the congestion window (RFC 5681), fast retransmit and
 * NewReno recovery (RFC 6582) under netem loss, the out-of-order queue
 * under netem reordering, and the cwnd reset after a timeout.
 * Each test runs in a network namespace of its own, with lo's MTU set to
 * Ethernet's 1500 so segments are the size they are on a real link;
 * netem on lo impairs both directions.
 */
#define _GNU_SOURCE
#include "etp_common.h"
#include "kselftest_harness.h"

FIXTURE(cc) {
	int c, s;
};

FIXTURE_SETUP(cc)
{
	self->c = self->s = -1;
	ASSERT_EQ(0, etp_private_netns());
	ASSERT_EQ(0, etp_sh("ip link set dev lo mtu 1500"));
}

FIXTURE_TEARDOWN(cc)
{
	if (self->c >= 0)
		close(self->c);
	if (self->s >= 0)
		close(self->s);
}

static int info_of(int fd, struct etp_info *info)
{
	return etp_get_info(fd, info);
}

/* One byte each way, all acknowledged: the windows are the scaled ones. */
static int warm_up(int c, int s);

/* Wait until everything @fd sent is acknowledged; ms it took, or -1. */
static long long wait_all_acked(int fd, int ms)
{
	long long t0 = etp_now_ms();
	struct etp_info info;

	for (;;) {
		if (info_of(fd, &info) < 0)
			return -1;
		if (!info.etpi_in_flight && info.etpi_snd_una == info.etpi_snd_nxt)
			return etp_now_ms() - t0;
		if (etp_now_ms() - t0 > ms)
			return -1;
		etp_sleep_ms(2);
	}
}

static int warm_up(int c, int s)
{
	char b;

	if (send(c, "c", 1, 0) != 1 || recv(s, &b, 1, 0) != 1 ||
	    send(s, "s", 1, 0) != 1 || recv(c, &b, 1, 0) != 1)
		return -1;
	if (wait_all_acked(c, 5000) < 0 || wait_all_acked(s, 5000) < 0)
		return -1;
	return 0;
}

/* RFC 7323: both SYNs carry the option, each end scales by the other's. */
TEST_F(cc, window_scale_negotiated_and_window_above_64k)
{
	struct etp_info ci, si;

	ASSERT_EQ(0, etp_pair(&self->c, &self->s));
	/* A SYN's window is unscaled: the scaled one comes with data. */
	ASSERT_EQ(0, warm_up(self->c, self->s));
	ASSERT_EQ(0, info_of(self->c, &ci));
	ASSERT_EQ(0, info_of(self->s, &si));
	EXPECT_LT(0, ci.etpi_rcv_wscale);
	EXPECT_LT(0, si.etpi_rcv_wscale);
	EXPECT_GE(14, ci.etpi_rcv_wscale);
	EXPECT_EQ(si.etpi_rcv_wscale, ci.etpi_snd_wscale);
	EXPECT_EQ(ci.etpi_rcv_wscale, si.etpi_snd_wscale);
	/* The default 1 MiB buffer offers a window no 16-bit field can. */
	EXPECT_LT(65535u, ci.etpi_snd_wnd) TH_LOG("snd_wnd %u", ci.etpi_snd_wnd);
	EXPECT_LT(65535u, si.etpi_rcv_wnd) TH_LOG("rcv_wnd %u", si.etpi_rcv_wnd);
}

/*
 * Small receive buffers (8 KiB after the kernel doubles SO_RCVBUF) still
 * scale their windows (net.core.rmem_max allows a larger buffer later),
 * rounded to the scale unit, and move data byte-exact.
 */
TEST_F_TIMEOUT(cc, small_rcvbuf_with_scaling_byte_exact, 120)
{
	struct etp_info ci, si;
	char why[128] = "";
	unsigned short port;
	int sz = 4096, lfd;

	lfd = etp_socket();
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)));
	ASSERT_EQ(0, etp_bind(lfd, "127.0.0.1", 0));
	ASSERT_EQ(0, listen(lfd, 1));
	port = etp_local_port(lfd);
	self->c = etp_socket();
	ASSERT_EQ(0, setsockopt(self->c, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)));
	ASSERT_EQ(0, etp_connect(self->c, "127.0.0.1", port));
	self->s = etp_accept_timeout(lfd, ETP_IO_TIMEOUT_MS);
	ASSERT_LE(0, self->s);
	close(lfd);
	EXPECT_EQ(0, etp_exchange(self->c, self->s, 512 << 10, 11, 90000, why,
				  sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(0, info_of(self->c, &ci));
	ASSERT_EQ(0, info_of(self->s, &si));
	EXPECT_LT(0, ci.etpi_rcv_wscale);
	EXPECT_GE(8192u, ci.etpi_rcv_wnd);
	EXPECT_EQ(0u, ci.etpi_rcv_wnd & ((1u << ci.etpi_rcv_wscale) - 1));
	EXPECT_EQ(0u, si.etpi_rcv_wnd & ((1u << si.etpi_rcv_wscale) - 1));
}

TEST_F(cc, nodelay_option_get_set_and_errors)
{
	socklen_t len = sizeof(int);
	int lfd, val = -1, one = 1;
	unsigned short port;
	short small = 1;

	self->c = etp_socket();
	ASSERT_LE(0, self->c);
	ASSERT_EQ(0, getsockopt(self->c, SOL_ETP, ETP_NODELAY, &val, &len));
	EXPECT_EQ(0, val);
	EXPECT_EQ(sizeof(int), len);
	ASSERT_EQ(0, setsockopt(self->c, SOL_ETP, ETP_NODELAY, &one, sizeof(one)));
	ASSERT_EQ(0, getsockopt(self->c, SOL_ETP, ETP_NODELAY, &val, &len));
	EXPECT_EQ(1, val);

	EXPECT_EQ(-1, setsockopt(self->c, SOL_ETP, ETP_NODELAY, &small, sizeof(small)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(self->c, SOL_ETP, ETP_INFO, &one, sizeof(one)));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, setsockopt(self->c, SOL_ETP, 999, &one, sizeof(one)));
	EXPECT_EQ(ENOPROTOOPT, errno);

	/* Accepted sockets inherit it from the listener, as with TCP. */
	lfd = etp_socket();
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, setsockopt(lfd, SOL_ETP, ETP_NODELAY, &one, sizeof(one)));
	ASSERT_EQ(0, etp_bind(lfd, "127.0.0.1", 0));
	ASSERT_EQ(0, listen(lfd, 4));
	port = etp_local_port(lfd);
	close(self->c);
	self->c = etp_socket();
	ASSERT_EQ(0, etp_connect(self->c, "127.0.0.1", port));
	self->s = etp_accept_timeout(lfd, ETP_IO_TIMEOUT_MS);
	ASSERT_LE(0, self->s);
	val = -1;
	ASSERT_EQ(0, getsockopt(self->s, SOL_ETP, ETP_NODELAY, &val, &len));
	EXPECT_EQ(1, val);
	close(lfd);
}

/*
 * One byte goes at once (nothing in flight); fifty 10-byte writes behind
 * it wait for its ACK (delayed, 300 ms) under Nagle and go as one
 * segment; with ETP_NODELAY each is a segment of its own.
 */
static long long segments_for_small_writes(int c, int s, int nodelay)
{
	long long before = etp_stat("OutSegs");
	char buf[600];
	int i;

	setsockopt(c, SOL_ETP, ETP_NODELAY, &nodelay, sizeof(nodelay));
	if (send(c, "x", 1, 0) != 1)
		return -1;
	for (i = 0; i < 50; i++)
		if (send(c, "0123456789", 10, 0) != 10)
			return -1;
	if (etp_recv_all(s, buf, 501) < 0)
		return -1;
	if (wait_all_acked(c, 5000) < 0)
		return -1;
	return etp_stat("OutSegs") - before;
}

TEST_F(cc, nagle_coalesces_small_writes_nodelay_does_not)
{
	long long nagle, nodelay;

	/* An RTO shorter than the ACK delay would resend and blur this. */
	ASSERT_EQ(0, etp_sysctl_set("rto_min_ms", "1000"));
	ASSERT_EQ(0, etp_sysctl_set("delack_ms", "300"));
	ASSERT_EQ(0, etp_pair(&self->c, &self->s));
	nagle = segments_for_small_writes(self->c, self->s, 0);
	nodelay = segments_for_small_writes(self->c, self->s, 1);
	TH_LOG("segments (both directions): Nagle %lld, ETP_NODELAY %lld",
	       nagle, nodelay);
	ASSERT_LE(0, nagle);
	ASSERT_LE(0, nodelay);
	EXPECT_GE(10, nagle);
	EXPECT_LE(51, nodelay);
}

/* A lone small segment is ACKed by the delayed-ACK timer, not at once. */
TEST_F(cc, lone_segment_acked_by_delayed_ack_timer)
{
	struct etp_info ci, si, si0;
	long long before, took;
	char b;

	/* A timeout before the delayed ACK would draw an immediate one. */
	ASSERT_EQ(0, etp_sysctl_set("rto_min_ms", "1000"));
	ASSERT_EQ(0, etp_sysctl_set("delack_ms", "400"));
	ASSERT_EQ(0, etp_pair(&self->c, &self->s));
	/* Past the handshake's unscaled window, whose update goes at once. */
	ASSERT_EQ(0, warm_up(self->c, self->s));
	before = etp_stat("DelayedAcks");
	ASSERT_EQ(0, info_of(self->s, &si0));
	ASSERT_EQ(1, send(self->c, "x", 1, 0));
	ASSERT_EQ(1, recv(self->s, &b, 1, 0));
	ASSERT_EQ(0, info_of(self->c, &ci));
	EXPECT_EQ(1u, ci.etpi_in_flight) TH_LOG("ACKed before the delay");
	took = wait_all_acked(self->c, 5000);
	ASSERT_LE(0, took);
	ASSERT_EQ(0, info_of(self->s, &si));
	EXPECT_EQ(si0.etpi_delayed_acks + 1, si.etpi_delayed_acks);
	EXPECT_EQ(before + 1, etp_stat("DelayedAcks"));
	TH_LOG("ACK came %lld ms after the data was read (delack_ms 400)", took);
}

/* RFC 5681, 4.2: every second full-sized segment is ACKed at once. */
TEST_F(cc, two_full_segments_acked_without_delay)
{
	static char buf[1 << 16];
	struct etp_info ci, si;
	size_t len;

	ASSERT_EQ(0, etp_sysctl_set("rto_min_ms", "1000"));
	ASSERT_EQ(0, etp_sysctl_set("delack_ms", "500"));
	ASSERT_EQ(0, etp_pair(&self->c, &self->s));
	ASSERT_EQ(0, warm_up(self->c, self->s));
	ASSERT_EQ(0, info_of(self->s, &si));
	ASSERT_EQ(0u, si.etpi_delayed_acks);
	ASSERT_EQ(0, info_of(self->c, &ci));
	len = 2 * ci.etpi_mss;
	ASSERT_EQ((ssize_t)len, send(self->c, buf, len, 0));
	ASSERT_EQ(0, etp_recv_all(self->s, buf, len));
	EXPECT_LE(0, wait_all_acked(self->c, 5000));
	ASSERT_EQ(0, info_of(self->s, &si));
	EXPECT_EQ(0u, si.etpi_delayed_acks);
}

TEST_F_TIMEOUT(cc, cwnd_starts_at_ten_segments_and_grows, 60)
{
	struct etp_info ci;
	char why[128] = "";

	ASSERT_EQ(0, etp_pair(&self->c, &self->s));
	ASSERT_EQ(0, info_of(self->c, &ci));
	EXPECT_EQ(10u * ci.etpi_mss, ci.etpi_cwnd);
	EXPECT_EQ(0x7fffffffu, ci.etpi_ssthresh);
	EXPECT_EQ(ETP_CA_OPEN, ci.etpi_ca_state);
	ASSERT_EQ(0, etp_exchange(self->c, self->s, 4 << 20, 3, 60000, why,
				  sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(0, info_of(self->c, &ci));
	EXPECT_LT(10u * ci.etpi_mss, ci.etpi_cwnd);
	EXPECT_EQ(0u, ci.etpi_fast_retrans);
	TH_LOG("cwnd %u after 4 MiB (mss %u)", ci.etpi_cwnd, ci.etpi_mss);
}

/*
 * netem drops 3% of segments in both directions: duplicate ACKs drive
 * fast retransmits, ssthresh becomes finite, and every byte arrives.
 */
TEST_F_TIMEOUT(cc, fast_retransmit_under_loss_byte_exact, 180)
{
	long long fr0 = etp_stat("FastRetrans"), dup0 = etp_stat("InDupAcks");
	struct etp_info ci, si;
	char why[128] = "";

	ASSERT_EQ(0, etp_sh("tc qdisc add dev lo root netem loss 3%%"));
	ASSERT_EQ(0, etp_pair(&self->c, &self->s));
	ASSERT_EQ(0, etp_exchange(self->c, self->s, 4 << 20, 5, 150000, why,
				  sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(0, info_of(self->c, &ci));
	ASSERT_EQ(0, info_of(self->s, &si));
	TH_LOG("client: fast_retrans %u dup_acks %u lost %u timeouts %u cwnd %u ssthresh %u",
	       ci.etpi_fast_retrans, ci.etpi_dup_acks, ci.etpi_lost,
	       ci.etpi_timeouts, ci.etpi_cwnd, ci.etpi_ssthresh);
	EXPECT_LT(0u, ci.etpi_fast_retrans + si.etpi_fast_retrans);
	EXPECT_LT(0u, ci.etpi_dup_acks + si.etpi_dup_acks);
	EXPECT_LT(fr0, etp_stat("FastRetrans"));
	EXPECT_LT(dup0, etp_stat("InDupAcks"));
	EXPECT_GT(0x7fffffffu, ci.etpi_ssthresh);
	EXPECT_LE(2u * ci.etpi_mss, ci.etpi_ssthresh);
}

/*
 * netem reorders a quarter of the segments: the receiver queues what
 * arrives early and delivers every byte in order.
 */
TEST_F_TIMEOUT(cc, reordering_uses_out_of_order_queue_byte_exact, 180)
{
	long long ooo0 = etp_stat("InOutOfOrder");
	struct etp_info ci, si;
	char why[128] = "";

	ASSERT_EQ(0, etp_sh("tc qdisc add dev lo root netem delay 4ms reorder 25%% 50%%"));
	ASSERT_EQ(0, etp_pair(&self->c, &self->s));
	ASSERT_EQ(0, etp_exchange(self->c, self->s, 2 << 20, 7, 150000, why,
				  sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(0, info_of(self->c, &ci));
	ASSERT_EQ(0, info_of(self->s, &si));
	TH_LOG("out-of-order segments: client %u server %u; fast retransmits %u/%u",
	       ci.etpi_ooo_segs, si.etpi_ooo_segs, ci.etpi_fast_retrans,
	       si.etpi_fast_retrans);
	EXPECT_LT(0u, ci.etpi_ooo_segs);
	EXPECT_LT(0u, si.etpi_ooo_segs);
	EXPECT_LT(ooo0, etp_stat("InOutOfOrder"));
	/* Everything was delivered: nothing is left waiting. */
	EXPECT_EQ(0u, ci.etpi_ooo_bytes);
	EXPECT_EQ(0u, si.etpi_ooo_bytes);
}

/* RFC 5681, 3.1: after a timeout cwnd is one segment (the loss window). */
TEST_F_TIMEOUT(cc, timeout_resets_cwnd_to_one_segment, 60)
{
	static char buf[1 << 16];
	struct etp_info ci;
	long long end;

	ASSERT_EQ(0, etp_sysctl_set("rto_min_ms", "100"));
	ASSERT_EQ(0, etp_pair(&self->c, &self->s));
	ASSERT_EQ(0, etp_sh("tc qdisc add dev lo root netem loss 100%%"));
	ASSERT_EQ((ssize_t)sizeof(buf), send(self->c, buf, sizeof(buf), 0));
	end = etp_now_ms() + 20000;
	do {
		etp_sleep_ms(10);
		ASSERT_EQ(0, info_of(self->c, &ci));
	} while (!ci.etpi_timeouts && etp_now_ms() < end);
	ASSERT_LT(0u, ci.etpi_timeouts);
	EXPECT_EQ(ci.etpi_mss, ci.etpi_cwnd);
	EXPECT_EQ(ETP_CA_LOSS, ci.etpi_ca_state);
	EXPECT_LE(2u * ci.etpi_mss, ci.etpi_ssthresh);
	EXPECT_GT(0x7fffffffu, ci.etpi_ssthresh);

	ASSERT_EQ(0, etp_sh("tc qdisc del dev lo root"));
	ASSERT_EQ(0, etp_recv_all(self->s, buf, sizeof(buf)));
	EXPECT_LE(0, wait_all_acked(self->c, 20000));
	ASSERT_EQ(0, info_of(self->c, &ci));
	EXPECT_EQ(ETP_CA_OPEN, ci.etpi_ca_state);
	EXPECT_LT(0u, ci.etpi_lost);
}

/*
 * Tiny segments cost far more buffer (truesize) than their payload. A
 * reader that pauses while a sender with ETP_NODELAY writes 100 bytes at
 * a time must see its window close before its buffer overflows: nothing
 * in the window it offered is dropped, and every byte arrives.
 */
TEST_F_TIMEOUT(cc, small_segments_fill_window_not_beyond_buffer, 60)
{
	long long drops = etp_stat("InRcvbufDrops");
	static uint8_t buf[1 << 20];
	int one = 1, sndbuf = 65536;
	struct etp_info si;
	size_t sent = 0;
	long long end;

	ASSERT_EQ(0, etp_pair(&self->c, &self->s));
	ASSERT_EQ(0, setsockopt(self->c, SOL_ETP, ETP_NODELAY, &one, sizeof(one)));
	/* Bounds what waits in the sender once the window is shut. */
	ASSERT_EQ(0, setsockopt(self->c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)));
	fcntl(self->c, F_SETFL, O_NONBLOCK);
	end = etp_now_ms() + 20000;
	/* Write until the window is shut and the send buffer full. */
	for (int quiet = 0; quiet < 3 && etp_now_ms() < end;) {
		ssize_t n;

		ASSERT_GT(sizeof(buf) - 100, sent);
		etp_fill(buf, 100, sent, 9);
		n = send(self->c, buf, 100, MSG_NOSIGNAL);
		if (n > 0) {
			sent += n;
			quiet = 0;
			continue;
		}
		ASSERT_EQ(EAGAIN, errno);
		quiet++;
		etp_sleep_ms(200);
	}
	ASSERT_EQ(0, info_of(self->s, &si));
	TH_LOG("sent %zu bytes in 100-byte writes; receiver holds %u unread, rcv_wnd %u",
	       sent, si.etpi_rcv_nxt - si.etpi_irs - 1, si.etpi_rcv_wnd);
	EXPECT_EQ(drops, etp_stat("InRcvbufDrops"));
	fcntl(self->c, F_SETFL, 0);
	ASSERT_EQ(0, etp_recv_all(self->s, buf, sent));
	EXPECT_GT(0, etp_check(buf, sent, 0, 9));
}

/*
 * net.etp.rmem_default and wmem_default size new sockets of their
 * namespace; out-of-range values are refused.
 */
TEST_F(cc, buffer_defaults_follow_sysctls)
{
	int rcv = 0, snd = 0, fd;
	socklen_t len = sizeof(int);

	ASSERT_EQ(0, etp_sysctl_set("rmem_default", "65536"));
	ASSERT_EQ(0, etp_sysctl_set("wmem_default", "131072"));
	fd = etp_socket();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, &len));
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, &len));
	EXPECT_EQ(65536, rcv);
	EXPECT_EQ(131072, snd);
	close(fd);
	EXPECT_EQ(-1, etp_sysctl_set("rmem_default", "100"));
	EXPECT_EQ(-1, etp_sysctl_set("wmem_default", "999999999"));
	EXPECT_EQ(65536, etp_sysctl_get("rmem_default"));
}

/*
 * /proc/net/etp carries each connection's internals after the inode, for
 * etpstat: they agree with what ETP_INFO says about the same socket.
 */
TEST_F(cc, proc_net_etp_shows_internals_of_each_connection)
{
	unsigned int lp, rto, srtt, rttvar, cwnd, ssth, swnd, rwnd, rtx, mss, ca;
	static char buf[1 << 16];
	unsigned short port;
	struct etp_info ci;
	char *line, *save;
	int found = 0;

	ASSERT_EQ(0, etp_pair(&self->c, &self->s));
	ASSERT_EQ(0, warm_up(self->c, self->s));
	port = etp_local_port(self->c);
	ASSERT_EQ(0, info_of(self->c, &ci));
	ASSERT_LT(0, etp_read_file("/proc/net/etp", buf, sizeof(buf)));
	line = strtok_r(buf, "\n", &save);
	ASSERT_NE(NULL, strstr(line, "inode rto srtt rttvar cwnd ssthresh snd_wnd rcv_wnd retrans mss ca_state"));
	while ((line = strtok_r(NULL, "\n", &save))) {
		if (sscanf(line, " %*d: %*x:%x %*x:%*x %*x %*x:%*x %*x:%*x %*x %*u %*d %*u %u %u %u %u %u %u %u %u %u %u",
			   &lp, &rto, &srtt, &rttvar, &cwnd, &ssth, &swnd, &rwnd,
			   &rtx, &mss, &ca) != 11 || lp != port)
			continue;
		found = 1;
		EXPECT_EQ(ci.etpi_cwnd, cwnd);
		EXPECT_EQ(ci.etpi_ssthresh, ssth);
		EXPECT_EQ(ci.etpi_mss, mss);
		EXPECT_EQ(ci.etpi_srtt, srtt);
		EXPECT_EQ(ci.etpi_rto, rto);
		EXPECT_EQ(ci.etpi_snd_wnd, swnd);
		EXPECT_EQ(ci.etpi_retrans, rtx);
		EXPECT_EQ(ETP_CA_OPEN, (int)ca);
		EXPECT_LT(0u, rwnd);
	}
	EXPECT_EQ(1, found) TH_LOG("no line for local port %u", port);
}

TEST_HARNESS_MAIN

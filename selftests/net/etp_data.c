// SPDX-License-Identifier: GPL-2.0
/*
 * Moving data over an ETP connection on loopback: echo both ways, bulk
 * transfers checked byte for byte, the send/recv flags and ioctls that
 * TCP programs use, half-close, and the resets that close() and
 * SO_LINGER {1, 0} send. Each test runs in a network namespace of its own.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/sockios.h>
#include "etp_common.h"
#include "kselftest_harness.h"

FIXTURE(data) {
	int c, s;
};

FIXTURE_SETUP(data)
{
	self->c = self->s = -1;
	ASSERT_EQ(0, etp_private_netns());
	ASSERT_EQ(0, etp_pair(&self->c, &self->s)) TH_LOG("%s", strerror(errno));
}

FIXTURE_TEARDOWN(data)
{
	if (self->c >= 0)
		close(self->c);
	if (self->s >= 0)
		close(self->s);
}

/*
 * Send @len pattern bytes on @from while a child process echoes whatever
 * arrives on @to straight back; check that @from gets exactly the bytes it
 * sent. Sending and receiving overlap, so sizes beyond the socket buffers
 * cannot stall.
 */
static int echo_once(int from, int to, size_t len, uint32_t seed)
{
	static uint8_t buf[65536];
	size_t sent = 0, rcvd = 0, echoed = 0;
	long long end = etp_now_ms() + 30000;
	int status, fl, ret = -1;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		while (echoed < len) {
			ssize_t n = recv(to, buf, sizeof(buf), 0);

			if (n <= 0 || etp_send_all(to, buf, n) < 0)
				_exit(1);
			echoed += n;
		}
		_exit(0);
	}
	fl = fcntl(from, F_GETFL);
	fcntl(from, F_SETFL, fl | O_NONBLOCK);
	while (rcvd < len && etp_now_ms() < end) {
		struct pollfd pfd = { .fd = from, .events = POLLIN };
		ssize_t n;

		if (sent < len)
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, 1000) < 0)
			break;
		if (pfd.revents & POLLOUT && sent < len) {
			size_t want = len - sent < 16384 ? len - sent : 16384;

			etp_fill(buf, want, sent, seed);
			n = send(from, buf, want, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN)
				break;
			if (n > 0)
				sent += n;
		}
		if (pfd.revents & (POLLIN | POLLERR | POLLHUP)) {
			n = recv(from, buf, sizeof(buf), 0);
			if (n == 0 || (n < 0 && errno != EAGAIN))
				break;
			if (n > 0) {
				if (etp_check(buf, n, rcvd, seed) >= 0) {
					ret = -2;
					break;
				}
				rcvd += n;
			}
		}
	}
	fcntl(from, F_SETFL, fl);
	if (rcvd == len && ret != -2)
		ret = 0;
	if (ret)
		kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		ret = ret ? ret : -3;
	return ret;
}

TEST_F(data, echo_one_byte_client_to_server_and_back)
{
	EXPECT_EQ(0, echo_once(self->c, self->s, 1, 1));
}

TEST_F(data, echo_one_byte_server_to_client_and_back)
{
	EXPECT_EQ(0, echo_once(self->s, self->c, 1, 2));
}

TEST_F(data, echo_sizes_around_mss_both_ways)
{
	static const size_t sizes[] = { 2, 100, 536, 1399, 1400, 1401, 1460,
					4096, 65535, 65536, 65537, 300000 };
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		EXPECT_EQ(0, echo_once(self->c, self->s, sizes[i], i))
			TH_LOG("client first, %zu bytes: %s", sizes[i], strerror(errno));
		EXPECT_EQ(0, echo_once(self->s, self->c, sizes[i], i + 100))
			TH_LOG("server first, %zu bytes: %s", sizes[i], strerror(errno));
	}
}

TEST_F(data, thousand_small_echoes)
{
	int i;

	for (i = 0; i < 1000; i++) {
		unsigned int v = i, r = 0;

		ASSERT_EQ(sizeof(v), send(self->c, &v, sizeof(v), 0));
		ASSERT_EQ(0, etp_recv_all(self->s, &r, sizeof(r)));
		ASSERT_EQ(sizeof(r), send(self->s, &r, sizeof(r), 0));
		ASSERT_EQ(0, etp_recv_all(self->c, &v, sizeof(v)));
		ASSERT_EQ((unsigned int)i, v);
	}
}

TEST_F_TIMEOUT(data, four_mib_both_directions_at_once_byte_exact, 120)
{
	char why[128] = "";

	EXPECT_EQ(0, etp_exchange(self->c, self->s, 4 << 20, 7, 100000, why,
				  sizeof(why))) TH_LOG("%s", why);
}

TEST_F_TIMEOUT(data, etp_info_counts_bytes_after_transfer, 60)
{
	struct etp_info ci, si;
	char why[128] = "";
	size_t len = 1 << 20;

	ASSERT_EQ(0, etp_exchange(self->c, self->s, len, 9, 50000, why,
				  sizeof(why))) TH_LOG("%s", why);
	/* The last ACKs may still be in flight. */
	for (int i = 0; i < 200; i++) {
		ASSERT_EQ(0, etp_get_info(self->c, &ci));
		ASSERT_EQ(0, etp_get_info(self->s, &si));
		if (ci.etpi_bytes_acked == len && si.etpi_bytes_acked == len)
			break;
		etp_sleep_ms(10);
	}
	EXPECT_EQ(len, ci.etpi_bytes_sent);
	EXPECT_EQ(len, ci.etpi_bytes_acked);
	EXPECT_EQ(len, ci.etpi_bytes_received);
	EXPECT_EQ(len, si.etpi_bytes_sent);
	EXPECT_EQ(len, si.etpi_bytes_acked);
	EXPECT_EQ(len, si.etpi_bytes_received);
	EXPECT_EQ(ci.etpi_iss + 1 + len, ci.etpi_snd_nxt);
	EXPECT_EQ(ci.etpi_snd_nxt, ci.etpi_snd_una);
	EXPECT_EQ(si.etpi_irs + 1 + len, si.etpi_rcv_nxt);
	EXPECT_EQ(ci.etpi_rcv_nxt, si.etpi_snd_nxt);
}

/* The byte counters count payload only: the SYN and the FIN occupy
 * sequence space (RFC 9293, 3.4) but are not bytes of the stream.
 */
TEST_F(data, etp_info_byte_counters_exclude_syn_and_fin)
{
	struct etp_info ci, si;
	char buf[100];

	ASSERT_EQ(100, send(self->c, (char[100]){ 1 }, 100, 0));
	ASSERT_EQ(0, etp_recv_all(self->s, buf, 100));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_EQ(0, recv(self->s, buf, 1, 0));
	ASSERT_EQ(0, shutdown(self->s, SHUT_WR));
	ASSERT_EQ(0, recv(self->c, buf, 1, 0));
	ASSERT_EQ(ETP_CLOSE, etp_wait_state(self->s, ETP_CLOSE, 2000));
	ASSERT_EQ(0, etp_get_info(self->c, &ci));
	ASSERT_EQ(0, etp_get_info(self->s, &si));
	EXPECT_EQ(100, ci.etpi_bytes_sent);
	EXPECT_EQ(100, ci.etpi_bytes_acked);
	EXPECT_EQ(0, ci.etpi_bytes_received);
	EXPECT_EQ(0, si.etpi_bytes_sent);
	EXPECT_EQ(0, si.etpi_bytes_acked);
	EXPECT_EQ(100, si.etpi_bytes_received);
	/* ...while the sequence numbers count SYN, data and FIN. */
	EXPECT_EQ(ci.etpi_iss + 1 + 100 + 1, ci.etpi_snd_nxt);
	EXPECT_EQ(si.etpi_irs + 1 + 100 + 1, si.etpi_rcv_nxt);
	EXPECT_EQ(si.etpi_iss + 1 + 1, si.etpi_snd_nxt);
}

TEST_F(data, read_and_write_syscalls)
{
	char buf[6] = "";

	ASSERT_EQ(5, write(self->c, "hello", 5));
	ASSERT_EQ(5, read(self->s, buf, 5));
	EXPECT_STREQ("hello", buf);
	ASSERT_EQ(5, write(self->s, "world", 5));
	ASSERT_EQ(5, read(self->c, buf, 5));
	EXPECT_STREQ("world", buf);
}

TEST_F(data, sendmsg_iovec_recvmsg_iovec)
{
	char a[] = "scatter ", b[] = "gather", r1[5], r2[20];
	struct iovec siov[2] = { { a, 8 }, { b, 6 } };
	struct iovec riov[2] = { { r1, 5 }, { r2, 9 } };
	struct msghdr m = { .msg_iov = siov, .msg_iovlen = 2 };
	size_t got = 0;

	ASSERT_EQ(14, sendmsg(self->c, &m, 0));
	/* 14 bytes may arrive in more than one piece. */
	memset(&m, 0, sizeof(m));
	while (got < 14) {
		ssize_t n;

		m.msg_iov = riov;
		m.msg_iovlen = 2;
		n = recvmsg(self->s, &m, 0);
		ASSERT_LT(0, n);
		got += n;
		/* Advance the receive iovec past what arrived. */
		for (int i = 0; i < 2 && n; i++) {
			size_t k = (size_t)n < riov[i].iov_len ? (size_t)n : riov[i].iov_len;

			riov[i].iov_base = (char *)riov[i].iov_base + k;
			riov[i].iov_len -= k;
			n -= k;
		}
	}
	EXPECT_EQ(0, memcmp(r1, "scatt", 5));
	EXPECT_EQ(0, memcmp(r2, "er gather", 9));
}

TEST_F(data, msg_peek_leaves_data_queued)
{
	char buf[16] = "";

	ASSERT_EQ(4, send(self->c, "peek", 4, 0));
	ASSERT_EQ(1, poll(&(struct pollfd){ .fd = self->s, .events = POLLIN }, 1,
			  ETP_IO_TIMEOUT_MS));
	ASSERT_EQ(4, recv(self->s, buf, sizeof(buf), MSG_PEEK));
	EXPECT_EQ(0, memcmp(buf, "peek", 4));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(2, recv(self->s, buf, 2, MSG_PEEK));
	EXPECT_EQ(0, memcmp(buf, "pe", 2));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(4, recv(self->s, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "peek", 4));
	EXPECT_EQ(-1, recv(self->s, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(data, msg_waitall_collects_several_segments)
{
	static uint8_t out[1 << 20], in[1 << 20];
	pid_t pid;

	etp_fill(out, sizeof(out), 0, 3);
	/* A child sends, slowly at first, while the parent waits for it all. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		send(self->c, out, 1000, 0);
		etp_sleep_ms(100);
		_exit(etp_send_all(self->c, out + 1000, sizeof(out) - 1000) ? 1 : 0);
	}
	EXPECT_EQ(sizeof(in), recv(self->s, in, sizeof(in), MSG_WAITALL));
	EXPECT_EQ(0, memcmp(in, out, sizeof(in)));
	waitpid(pid, NULL, 0);
}

TEST_F(data, msg_dontwait_on_empty_queue_eagain)
{
	char c;

	EXPECT_EQ(-1, recv(self->c, &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(data, o_nonblock_recv_on_empty_queue_eagain)
{
	char c;

	fcntl(self->s, F_SETFL, O_NONBLOCK);
	EXPECT_EQ(-1, recv(self->s, &c, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(-1, read(self->s, &c, 1));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(data, blocking_recv_honours_rcvtimeo)
{
	struct timeval tv = { 0, 200000 };
	long long t0;
	char c;

	ASSERT_EQ(0, setsockopt(self->c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	t0 = etp_now_ms();
	EXPECT_EQ(-1, recv(self->c, &c, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_LE(150, etp_now_ms() - t0);
}

/* The receiver does not read: the sender's buffer and the peer's window
 * fill up, and a non-blocking send says EAGAIN instead of blocking.
 */
TEST_F(data, nonblocking_send_to_stalled_peer_eagain)
{
	static uint8_t buf[65536];
	size_t total = 0;
	ssize_t n;

	fcntl(self->c, F_SETFL, O_NONBLOCK);
	for (;;) {
		n = send(self->c, buf, sizeof(buf), MSG_NOSIGNAL);
		if (n < 0)
			break;
		total += n;
		ASSERT_GT(256u << 20, total) TH_LOG("256 MiB accepted without EAGAIN");
	}
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_LT(0, total);
	EXPECT_EQ(-1, send(self->c, buf, 1, MSG_DONTWAIT | MSG_NOSIGNAL));
	EXPECT_EQ(EAGAIN, errno);
}

/*
 * A closed socket whose peer keeps answering window probes with a zero
 * window must not live forever: after orphan_retries probes it is gone,
 * as TCP's orphans are (tcp_orphan_retries). The peer's process keeps its
 * socket open and never reads.
 */
TEST_F_TIMEOUT(data, orphan_facing_zero_window_gives_up, 60)
{
	static uint8_t buf[65536];
	unsigned short lport = etp_local_port(self->c);
	struct etp_info info;
	long long t0;
	int state;

	ASSERT_EQ(0, etp_sysctl_set("orphan_retries", "3"));
	ASSERT_EQ(0, etp_sysctl_set("rto_max_ms", "800"));
	fcntl(self->c, F_SETFL, O_NONBLOCK);
	while (send(self->c, buf, sizeof(buf), MSG_NOSIGNAL) > 0)
		;
	ASSERT_EQ(EAGAIN, errno);
	/* Wait until the peer's window is shut and probes are running. */
	t0 = etp_now_ms();
	do {
		etp_sleep_ms(20);
		ASSERT_EQ(0, etp_get_info(self->c, &info));
	} while (info.etpi_snd_wnd && etp_now_ms() - t0 < 10000);
	ASSERT_EQ(0, info.etpi_snd_wnd);
	close(self->c);
	self->c = -1;
	state = etp_wait_proc_state(lport, 0, -1, 30000);
	EXPECT_EQ(-1, state) TH_LOG("orphan still in state %d after 30 s", state);
	TH_LOG("orphan gone after %lld ms", etp_now_ms() - t0);
}

TEST_F(data, siocinq_counts_unread_bytes)
{
	int inq = -1;

	ASSERT_EQ(1000, send(self->c, (char[1000]){ 0 }, 1000, 0));
	for (int i = 0; i < 200; i++) {
		ASSERT_EQ(0, ioctl(self->s, SIOCINQ, &inq));
		if (inq == 1000)
			break;
		etp_sleep_ms(5);
	}
	EXPECT_EQ(1000, inq);
	ASSERT_EQ(400, recv(self->s, (char[400]){ 0 }, 400, 0));
	ASSERT_EQ(0, ioctl(self->s, SIOCINQ, &inq));
	EXPECT_EQ(600, inq);
}

TEST_F(data, siocoutq_drains_to_zero_when_acked)
{
	int outq = -1;

	ASSERT_EQ(0, ioctl(self->c, SIOCOUTQ, &outq));
	EXPECT_EQ(0, outq);
	ASSERT_EQ(3000, send(self->c, (char[3000]){ 0 }, 3000, 0));
	/* Data sits in the peer's receive queue, but it is acknowledged. */
	for (int i = 0; i < 200; i++) {
		ASSERT_EQ(0, ioctl(self->c, SIOCOUTQ, &outq));
		if (!outq)
			break;
		etp_sleep_ms(5);
	}
	EXPECT_EQ(0, outq);
}

TEST_F(data, siocinq_on_listener_einval)
{
	unsigned short port;
	int lfd = etp_listener("127.0.0.1", &port), v;

	ASSERT_LE(0, lfd);
	EXPECT_EQ(-1, ioctl(lfd, SIOCINQ, &v));
	EXPECT_EQ(EINVAL, errno);
	close(lfd);
}

/* RFC 9293, 3.6: a half-closed connection still carries data the other way. */
TEST_F(data, half_close_client_then_server_keeps_sending)
{
	static uint8_t buf[100000], in[100000];
	char c;

	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	EXPECT_EQ(0, recv(self->s, &c, 1, 0));	/* EOF for the server */
	EXPECT_EQ(ETP_FIN_WAIT2, etp_wait_state(self->c, ETP_FIN_WAIT2, 2000));
	EXPECT_EQ(ETP_CLOSE_WAIT, etp_state(self->s));

	etp_fill(buf, sizeof(buf), 0, 11);
	ASSERT_EQ(0, etp_send_all(self->s, buf, sizeof(buf)));
	ASSERT_EQ(0, etp_recv_all(self->c, in, sizeof(in)));
	EXPECT_EQ(0, memcmp(buf, in, sizeof(in)));

	ASSERT_EQ(0, shutdown(self->s, SHUT_WR));
	EXPECT_EQ(0, recv(self->c, &c, 1, 0));
	/* The server's FIN is acknowledged and its end is closed. */
	EXPECT_EQ(ETP_CLOSE, etp_wait_state(self->s, ETP_CLOSE, 2000));
}

TEST_F(data, half_close_server_then_client_keeps_sending)
{
	static uint8_t buf[100000], in[100000];
	char c;

	ASSERT_EQ(0, shutdown(self->s, SHUT_WR));
	EXPECT_EQ(0, recv(self->c, &c, 1, 0));
	etp_fill(buf, sizeof(buf), 0, 12);
	ASSERT_EQ(0, etp_send_all(self->c, buf, sizeof(buf)));
	ASSERT_EQ(0, etp_recv_all(self->s, in, sizeof(in)));
	EXPECT_EQ(0, memcmp(buf, in, sizeof(in)));
}

TEST_F(data, send_after_shutdown_wr_epipe)
{
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	EXPECT_EQ(-1, send(self->c, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
}

TEST_F(data, data_before_fin_is_delivered_then_eof)
{
	char buf[16];

	ASSERT_EQ(6, send(self->c, "before", 6, 0));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_EQ(0, etp_recv_all(self->s, buf, 6));
	EXPECT_EQ(0, memcmp(buf, "before", 6));
	EXPECT_EQ(0, recv(self->s, buf, sizeof(buf), 0));
	/* EOF stays EOF. */
	EXPECT_EQ(0, recv(self->s, buf, sizeof(buf), 0));
}

TEST_F(data, recv_after_peer_close_returns_zero)
{
	char c;

	close(self->c);
	self->c = -1;
	EXPECT_EQ(0, recv(self->s, &c, 1, 0));
}

/* RFC 9293, 3.6 / RFC 2525, 2.17: closing with unread data aborts with a RST. */
TEST_F(data, close_with_unread_data_sends_rst)
{
	long long rsts = etp_stat("OutRsts");
	char c;

	ASSERT_EQ(5, send(self->s, "unread", 5, 0));
	ASSERT_EQ(1, poll(&(struct pollfd){ .fd = self->c, .events = POLLIN }, 1,
			  ETP_IO_TIMEOUT_MS));
	close(self->c);
	self->c = -1;
	EXPECT_LT(rsts, etp_wait_stat("OutRsts", rsts + 1, 2000));
	EXPECT_EQ(-1, recv(self->s, &c, 1, 0));
	EXPECT_EQ(ECONNRESET, errno);
	EXPECT_EQ(ETP_CLOSE, etp_state(self->s));
}

/* RFC 1122, 4.2.2.13: data arriving after close() is answered with a RST,
 * so a sender that does not notice the peer's FIN still learns that its
 * data is going nowhere.
 */
TEST_F(data, data_after_peer_close_is_answered_with_rst)
{
	long long rsts = etp_stat("OutRsts");
	int err = 0, i;
	socklen_t len = sizeof(err);
	char c;

	close(self->s);			/* no unread data: a FIN, no RST */
	self->s = -1;
	ASSERT_EQ(0, recv(self->c, &c, 1, 0));
	ASSERT_EQ(rsts, etp_stat("OutRsts"));
	ASSERT_EQ(5, send(self->c, "after", 5, MSG_NOSIGNAL));
	EXPECT_LT(rsts, etp_wait_stat("OutRsts", rsts + 1, 2000));
	/* The sender sees the reset on its next calls. */
	for (i = 0; i < 200 && etp_state(self->c) != ETP_CLOSE; i++)
		etp_sleep_ms(10);
	EXPECT_EQ(ETP_CLOSE, etp_state(self->c));
	ASSERT_EQ(0, getsockopt(self->c, SOL_SOCKET, SO_ERROR, &err, &len));
	/* The reset finds the client in CLOSE_WAIT, where Linux TCP reports
	 * EPIPE rather than ECONNRESET.
	 */
	EXPECT_TRUE(err == EPIPE || err == ECONNRESET) TH_LOG("SO_ERROR %d", err);
}

TEST_F(data, linger_zero_close_sends_rst_and_no_time_wait)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };
	unsigned short cport = etp_local_port(self->c);
	char c;

	ASSERT_EQ(0, setsockopt(self->c, SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
	close(self->c);
	self->c = -1;
	EXPECT_EQ(-1, recv(self->s, &c, 1, 0));
	EXPECT_EQ(ECONNRESET, errno);
	EXPECT_EQ(-1, etp_proc_state(cport, 0)) TH_LOG("aborted end left a /proc line");
	EXPECT_LE(1, etp_stat("InRsts"));
	EXPECT_LE(1, etp_stat("EstabResets"));
}

TEST_F(data, send_on_reset_connection_fails)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };
	char c;

	ASSERT_EQ(0, setsockopt(self->c, SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
	close(self->c);
	self->c = -1;
	ASSERT_EQ(ETP_CLOSE, etp_wait_state(self->s, ETP_CLOSE, 2000));
	/* The first call reports the reset, later ones a dead pipe. */
	EXPECT_EQ(-1, send(self->s, "x", 1, MSG_NOSIGNAL));
	EXPECT_TRUE(errno == ECONNRESET || errno == EPIPE) TH_LOG("errno %d", errno);
	EXPECT_EQ(-1, send(self->s, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(0, recv(self->s, &c, 1, 0));
}

TEST_F(data, unread_data_close_reset_reaches_peer_waiting_in_recv)
{
	struct timeval tv = { 3, 0 };
	long long t0;
	char c;

	/* The server blocks in recv; the client's abort must wake it. */
	ASSERT_EQ(0, setsockopt(self->s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	ASSERT_EQ(1, send(self->s, "u", 1, 0));
	ASSERT_EQ(1, poll(&(struct pollfd){ .fd = self->c, .events = POLLIN }, 1,
			  ETP_IO_TIMEOUT_MS));
	if (fork() == 0) {
		etp_sleep_ms(200);
		close(self->c);
		_exit(0);
	}
	close(self->c);		/* the child holds the last reference */
	self->c = -1;
	t0 = etp_now_ms();
	EXPECT_EQ(-1, recv(self->s, &c, 1, 0));
	EXPECT_EQ(ECONNRESET, errno);
	EXPECT_GT(2500, etp_now_ms() - t0);
}

TEST_HARNESS_MAIN

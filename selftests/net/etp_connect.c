// SPDX-License-Identifier: GPL-2.0
/*
 * Opening ETP connections over loopback: the three-way handshake as seen
 * through the socket API, ETP_INFO and /proc/net/etp, refused connections,
 * non-blocking connect, accept4 flags and the accept queue.
 * Each test runs in a network namespace of its own.
 */
#define _GNU_SOURCE
#include "etp_common.h"
#include "kselftest_harness.h"

FIXTURE(conn) {
	int lfd, c, s;
	unsigned short port;
};

FIXTURE_SETUP(conn)
{
	self->lfd = self->c = self->s = -1;
	ASSERT_EQ(0, etp_private_netns());
	self->lfd = etp_listener("127.0.0.1", &self->port);
	ASSERT_LE(0, self->lfd) TH_LOG("listener: %s", strerror(errno));
	self->c = etp_socket();
	ASSERT_LE(0, self->c);
}

FIXTURE_TEARDOWN(conn)
{
	if (self->c >= 0)
		close(self->c);
	if (self->s >= 0)
		close(self->s);
	if (self->lfd >= 0)
		close(self->lfd);
}

TEST_F(conn, handshake_both_ends_established)
{
	ASSERT_EQ(0, etp_connect(self->c, "127.0.0.1", self->port))
		TH_LOG("connect: %s", strerror(errno));
	self->s = etp_accept_timeout(self->lfd, ETP_IO_TIMEOUT_MS);
	ASSERT_LE(0, self->s) TH_LOG("accept: %s", strerror(errno));
	EXPECT_EQ(ETP_ESTABLISHED, etp_state(self->c));
	EXPECT_EQ(ETP_ESTABLISHED, etp_state(self->s));
	EXPECT_EQ(ETP_LISTEN, etp_state(self->lfd));
}

TEST_F(conn, addresses_match_crosswise)
{
	struct sockaddr_in cl, cp, sl, sp, acc;
	socklen_t len;

	ASSERT_EQ(0, etp_connect(self->c, "127.0.0.1", self->port));
	ASSERT_EQ(1, poll(&(struct pollfd){ .fd = self->lfd, .events = POLLIN }, 1,
			  ETP_IO_TIMEOUT_MS));
	len = sizeof(acc);
	self->s = accept(self->lfd, (struct sockaddr *)&acc, &len);
	ASSERT_LE(0, self->s);
	ASSERT_EQ(sizeof(acc), len);

	len = sizeof(cl);
	ASSERT_EQ(0, getsockname(self->c, (struct sockaddr *)&cl, &len));
	len = sizeof(cp);
	ASSERT_EQ(0, getpeername(self->c, (struct sockaddr *)&cp, &len));
	len = sizeof(sl);
	ASSERT_EQ(0, getsockname(self->s, (struct sockaddr *)&sl, &len));
	len = sizeof(sp);
	ASSERT_EQ(0, getpeername(self->s, (struct sockaddr *)&sp, &len));

	EXPECT_EQ(htons(self->port), cp.sin_port);
	EXPECT_EQ(htons(self->port), sl.sin_port);
	EXPECT_EQ(cl.sin_port, sp.sin_port);
	EXPECT_EQ(cl.sin_port, acc.sin_port);
	EXPECT_EQ(cl.sin_addr.s_addr, sp.sin_addr.s_addr);
	EXPECT_EQ(cl.sin_addr.s_addr, acc.sin_addr.s_addr);
	EXPECT_EQ(sl.sin_addr.s_addr, cp.sin_addr.s_addr);
	EXPECT_EQ(AF_INET, acc.sin_family);
}

/* RFC 9293, 3.5: each side's ISS is the other side's IRS, and the SYN
 * occupies one sequence number, so snd_nxt = iss + 1 before any data.
 */
TEST_F(conn, etp_info_sequence_numbers_match_crosswise)
{
	struct etp_info ci, si;

	ASSERT_EQ(0, etp_connect(self->c, "127.0.0.1", self->port));
	self->s = etp_accept_timeout(self->lfd, ETP_IO_TIMEOUT_MS);
	ASSERT_LE(0, self->s);
	/* The server's view may lag the final ACK by a moment. */
	ASSERT_EQ(ETP_ESTABLISHED, etp_wait_state(self->s, ETP_ESTABLISHED, 1000));
	ASSERT_EQ(0, etp_get_info(self->c, &ci));
	ASSERT_EQ(0, etp_get_info(self->s, &si));

	EXPECT_EQ(ci.etpi_iss, si.etpi_irs);
	EXPECT_EQ(si.etpi_iss, ci.etpi_irs);
	EXPECT_EQ(ci.etpi_iss + 1, ci.etpi_snd_nxt);
	EXPECT_EQ(ci.etpi_iss + 1, ci.etpi_snd_una);
	EXPECT_EQ(ci.etpi_irs + 1, ci.etpi_rcv_nxt);
	EXPECT_EQ(si.etpi_iss + 1, si.etpi_snd_nxt);
	EXPECT_EQ(si.etpi_irs + 1, si.etpi_rcv_nxt);
	EXPECT_LT(0, ci.etpi_mss);
	EXPECT_LT(0, ci.etpi_peer_mss);
	EXPECT_LT(0, si.etpi_peer_mss);
	EXPECT_LT(0, ci.etpi_snd_wnd);
	EXPECT_LT(0, si.etpi_snd_wnd);
	EXPECT_LT(0, ci.etpi_rto);
	/* Random ISS: both ends choosing the same one is (almost) impossible. */
	EXPECT_NE(ci.etpi_iss, si.etpi_iss);
}

TEST_F(conn, proc_net_etp_shows_both_ends_established)
{
	unsigned short cport;

	ASSERT_EQ(0, etp_connect(self->c, "127.0.0.1", self->port));
	self->s = etp_accept_timeout(self->lfd, ETP_IO_TIMEOUT_MS);
	ASSERT_LE(0, self->s);
	cport = etp_local_port(self->c);
	EXPECT_EQ(0x01, etp_wait_proc_state(cport, self->port, 0x01, 1000));
	EXPECT_EQ(0x01, etp_wait_proc_state(self->port, cport, 0x01, 1000));
	EXPECT_EQ(0x0A, etp_proc_state(self->port, 0));
}

TEST_F(conn, open_counters_increment)
{
	ASSERT_EQ(0, etp_connect(self->c, "127.0.0.1", self->port));
	self->s = etp_accept_timeout(self->lfd, ETP_IO_TIMEOUT_MS);
	ASSERT_LE(0, self->s);
	EXPECT_EQ(1, etp_stat("ActiveOpens"));
	EXPECT_EQ(1, etp_stat("PassiveOpens"));
	EXPECT_LE(3, etp_stat("InSegs"));	/* SYN, SYN-ACK, ACK on loopback */
	EXPECT_LE(3, etp_stat("OutSegs"));
	EXPECT_EQ(0, etp_stat("AttemptFails"));
}

TEST_F(conn, connect_to_closed_port_econnrefused)
{
	unsigned short port = self->port;

	close(self->lfd);
	self->lfd = -1;
	EXPECT_EQ(-1, etp_connect(self->c, "127.0.0.1", port));
	EXPECT_EQ(ECONNREFUSED, errno);
	EXPECT_EQ(ETP_CLOSE, etp_state(self->c));
	EXPECT_LE(1, etp_stat("InRsts"));
	EXPECT_LE(1, etp_stat("OutRsts"));
	EXPECT_LE(1, etp_stat("InNoSocket"));
	EXPECT_EQ(1, etp_stat("AttemptFails"));
}

TEST_F(conn, refused_socket_can_connect_again)
{
	unsigned short port = self->port;
	int lfd;

	close(self->lfd);
	self->lfd = -1;
	ASSERT_EQ(-1, etp_connect(self->c, "127.0.0.1", port));
	ASSERT_EQ(ECONNREFUSED, errno);

	lfd = etp_socket();
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, etp_bind(lfd, "127.0.0.1", port));
	ASSERT_EQ(0, listen(lfd, 4));
	self->lfd = lfd;
	EXPECT_EQ(0, etp_connect(self->c, "127.0.0.1", port))
		TH_LOG("second connect: %s", strerror(errno));
}

TEST_F(conn, connect_twice_eisconn)
{
	ASSERT_EQ(0, etp_connect(self->c, "127.0.0.1", self->port));
	EXPECT_EQ(-1, etp_connect(self->c, "127.0.0.1", self->port));
	EXPECT_EQ(EISCONN, errno);
}

TEST_F(conn, nonblocking_connect_einprogress_then_pollout_so_error_0)
{
	struct pollfd pfd = { .fd = self->c, .events = POLLOUT };
	int err = -1, r;
	socklen_t len = sizeof(err);

	fcntl(self->c, F_SETFL, O_NONBLOCK);
	r = etp_connect(self->c, "127.0.0.1", self->port);
	/* Loopback may finish at once; TCP still says EINPROGRESS. */
	ASSERT_EQ(-1, r);
	ASSERT_EQ(EINPROGRESS, errno);
	ASSERT_EQ(1, poll(&pfd, 1, ETP_IO_TIMEOUT_MS));
	EXPECT_TRUE(pfd.revents & POLLOUT);
	EXPECT_FALSE(pfd.revents & (POLLERR | POLLHUP));
	ASSERT_EQ(0, getsockopt(self->c, SOL_SOCKET, SO_ERROR, &err, &len));
	EXPECT_EQ(0, err);
	EXPECT_EQ(ETP_ESTABLISHED, etp_state(self->c));
	/* As in TCP, connect() again completes the call (returns 0), and only
	 * a further one says EISCONN.
	 */
	EXPECT_EQ(0, etp_connect(self->c, "127.0.0.1", self->port))
		TH_LOG("%s", strerror(errno));
	EXPECT_EQ(-1, etp_connect(self->c, "127.0.0.1", self->port));
	EXPECT_EQ(EISCONN, errno);
}

TEST_F(conn, nonblocking_connect_refused_so_error_econnrefused)
{
	struct pollfd pfd = { .fd = self->c, .events = POLLOUT | POLLIN };
	unsigned short port = self->port;
	int err = -1;
	socklen_t len = sizeof(err);

	close(self->lfd);
	self->lfd = -1;
	fcntl(self->c, F_SETFL, O_NONBLOCK);
	ASSERT_EQ(-1, etp_connect(self->c, "127.0.0.1", port));
	ASSERT_EQ(EINPROGRESS, errno);
	ASSERT_EQ(1, poll(&pfd, 1, ETP_IO_TIMEOUT_MS));
	EXPECT_TRUE(pfd.revents & (POLLERR | POLLHUP)) TH_LOG("revents 0x%x", pfd.revents);
	ASSERT_EQ(0, getsockopt(self->c, SOL_SOCKET, SO_ERROR, &err, &len));
	EXPECT_EQ(ECONNREFUSED, err);
	/* SO_ERROR is cleared by reading it. */
	len = sizeof(err);
	ASSERT_EQ(0, getsockopt(self->c, SOL_SOCKET, SO_ERROR, &err, &len));
	EXPECT_EQ(0, err);
}

TEST_F(conn, accept4_applies_nonblock_and_cloexec)
{
	struct pollfd pfd = { .fd = self->lfd, .events = POLLIN };

	ASSERT_EQ(0, etp_connect(self->c, "127.0.0.1", self->port));
	ASSERT_EQ(1, poll(&pfd, 1, ETP_IO_TIMEOUT_MS));
	self->s = accept4(self->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ASSERT_LE(0, self->s);
	EXPECT_TRUE(fcntl(self->s, F_GETFL) & O_NONBLOCK);
	EXPECT_TRUE(fcntl(self->s, F_GETFD) & FD_CLOEXEC);
}

TEST_F(conn, accept_without_flags_is_blocking)
{
	ASSERT_EQ(0, etp_connect(self->c, "127.0.0.1", self->port));
	self->s = etp_accept_timeout(self->lfd, ETP_IO_TIMEOUT_MS);
	ASSERT_LE(0, self->s);
	EXPECT_FALSE(fcntl(self->s, F_GETFL) & O_NONBLOCK);
	EXPECT_FALSE(fcntl(self->s, F_GETFD) & FD_CLOEXEC);
}

TEST_F(conn, nonblocking_accept_with_empty_queue_eagain)
{
	fcntl(self->lfd, F_SETFL, O_NONBLOCK);
	EXPECT_EQ(-1, accept(self->lfd, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(conn, accept_on_unlistened_socket_einval)
{
	EXPECT_EQ(-1, accept(self->c, NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(conn, listener_blocking_accept_honours_rcvtimeo)
{
	long long t0 = etp_now_ms();
	struct timeval tv = { 0, 300000 };

	ASSERT_EQ(0, setsockopt(self->lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	EXPECT_EQ(-1, accept(self->lfd, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_LE(250, etp_now_ms() - t0);
}

/* Connections complete in the kernel before accept(): several clients can
 * connect, and each accept() hands out one established connection.
 */
TEST_F(conn, several_clients_queue_before_accept)
{
	enum { N = 8 };
	int cs[N], ss[N], i;

	for (i = 0; i < N; i++) {
		cs[i] = etp_socket();
		ASSERT_LE(0, cs[i]);
		ASSERT_EQ(0, etp_connect(cs[i], "127.0.0.1", self->port))
			TH_LOG("client %d: %s", i, strerror(errno));
	}
	for (i = 0; i < N; i++) {
		ss[i] = etp_accept_timeout(self->lfd, ETP_IO_TIMEOUT_MS);
		ASSERT_LE(0, ss[i]) TH_LOG("accept %d: %s", i, strerror(errno));
	}
	/* Each accepted socket is paired with exactly one client. */
	for (i = 0; i < N; i++) {
		char b = 'A' + i;

		ASSERT_EQ(1, send(cs[i], &b, 1, 0));
	}
	for (i = 0; i < N; i++) {
		char r = 0;
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);
		int j;

		ASSERT_EQ(1, recv(ss[i], &r, 1, 0));
		ASSERT_EQ(0, getpeername(ss[i], (struct sockaddr *)&peer, &len));
		for (j = 0; j < N; j++)
			if (etp_local_port(cs[j]) == ntohs(peer.sin_port))
				break;
		ASSERT_LT(j, N);
		EXPECT_EQ('A' + j, r);
	}
	for (i = 0; i < N; i++) {
		close(cs[i]);
		close(ss[i]);
	}
}

/* More clients than the backlog: whatever the queue cannot hold waits (SYN
 * dropped and retransmitted, as TCP does); once the server accepts, every
 * client gets through.
 */
TEST_F_TIMEOUT(conn, backlog_overflow_recovers_when_accepting, 60)
{
	enum { N = 6 };
	int cs[N], accepted = 0, lfd, i;
	unsigned short port;
	long long end;

	/* rto_initial_ms bounds how long a dropped SYN waits. */
	ASSERT_EQ(0, etp_sysctl_set("rto_initial_ms", "300"));
	lfd = etp_socket();
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, etp_bind(lfd, "127.0.0.1", 0));
	ASSERT_EQ(0, listen(lfd, 1));
	port = etp_local_port(lfd);
	for (i = 0; i < N; i++) {
		cs[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_ETP);
		ASSERT_LE(0, cs[i]);
		ASSERT_EQ(-1, etp_connect(cs[i], "127.0.0.1", port));
		ASSERT_EQ(EINPROGRESS, errno);
	}
	etp_sleep_ms(200);
	end = etp_now_ms() + 30000;
	while (accepted < N && etp_now_ms() < end) {
		int fd = etp_accept_timeout(lfd, 500);

		if (fd >= 0) {
			accepted++;
			close(fd);
		}
	}
	EXPECT_EQ(N, accepted) TH_LOG("ListenOverflows %lld", etp_stat("ListenOverflows"));
	for (i = 0; i < N; i++)
		close(cs[i]);
	close(lfd);
}

/* As in TCP, listen(fd, n) queues n + 1 finished handshakes: even
 * listen(fd, 0) completes one connection before anyone calls accept().
 */
TEST(backlog_n_queues_n_plus_one)
{
	int backlog, i;

	ASSERT_EQ(0, etp_private_netns());
	for (backlog = 0; backlog <= 2; backlog++) {
		long long before = etp_stat("ListenOverflows");
		int cs[4], lfd, fd;
		unsigned short port;

		lfd = etp_socket();
		ASSERT_LE(0, lfd);
		ASSERT_EQ(0, etp_bind(lfd, "127.0.0.1", 0));
		ASSERT_EQ(0, listen(lfd, backlog));
		port = etp_local_port(lfd);
		for (i = 0; i <= backlog; i++) {
			cs[i] = etp_socket();
			ASSERT_LE(0, cs[i]);
			ASSERT_EQ(0, etp_connect(cs[i], "127.0.0.1", port))
				TH_LOG("backlog %d, client %d: %s", backlog, i,
				       strerror(errno));
		}
		/* Nothing overflowed, and every one of them is ready. */
		EXPECT_EQ(before, etp_stat("ListenOverflows"));
		for (i = 0; i <= backlog; i++) {
			fd = etp_accept_timeout(lfd, ETP_IO_TIMEOUT_MS);
			EXPECT_LE(0, fd) TH_LOG("backlog %d: accept %d", backlog, i);
			if (fd >= 0)
				close(fd);
			close(cs[i]);
		}
		close(lfd);
	}
}

/*
 * One refused connect() is one of each: a SYN to a port nobody holds
 * (InNoSocket), one RST out (OutRsts) and in (InRsts), one attempt
 * failed. The counters move by exactly that.
 */
TEST(one_refused_connect_moves_each_counter_by_one)
{
	static const char *const names[] = {
		"ActiveOpens", "InNoSocket", "OutRsts", "InRsts", "AttemptFails",
	};
	long long before[5];
	unsigned short port;
	int lfd, c;
	size_t i;

	ASSERT_EQ(0, etp_private_netns());
	/* A port that was free a moment ago. */
	lfd = etp_listener("127.0.0.1", &port);
	ASSERT_LE(0, lfd);
	close(lfd);
	for (i = 0; i < 5; i++)
		before[i] = etp_stat(names[i]);
	c = etp_socket();
	ASSERT_LE(0, c);
	ASSERT_EQ(-1, etp_connect(c, "127.0.0.1", port));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(c);
	for (i = 0; i < 5; i++) {
		const char *name = names[i];
		long long now = etp_stat(name);

		EXPECT_EQ(before[i] + 1, now)
			TH_LOG("%s: %lld -> %lld", name ? name : "?", before[i], now);
	}
}

/*
 * net.etp.max_tw caps TIME_WAIT entries: with a cap of 2, four closes
 * leave two entries; the other two close at once and are counted.
 */
TEST(time_wait_entries_capped_by_max_tw)
{
	long long created0, over0;
	int c, s, i, tw = 0;
	static char buf[1 << 16];
	char *line, *save;

	ASSERT_EQ(0, etp_private_netns());
	ASSERT_EQ(0, etp_sysctl_set("max_tw", "2"));
	created0 = etp_stat("TimeWaitCreated");
	over0 = etp_stat("TimeWaitOverflow");
	for (i = 0; i < 4; i++) {
		unsigned short cp, sp;

		ASSERT_EQ(0, etp_pair(&c, &s));
		cp = etp_local_port(c);
		sp = etp_local_port(s);
		close(c);	/* the client closes first: it will wait */
		ASSERT_EQ(ETP_FIN_WAIT2, etp_wait_proc_state(cp, sp, ETP_FIN_WAIT2, 5000));
		close(s);
		/* TIME_WAIT, or gone if the cap closed it at once. */
		for (long long end = etp_now_ms() + 5000;
		     etp_proc_state(cp, sp) == ETP_FIN_WAIT2 && etp_now_ms() < end;)
			etp_sleep_ms(5);
		EXPECT_NE(ETP_FIN_WAIT2, etp_proc_state(cp, sp));
	}
	ASSERT_LT(0, etp_read_file("/proc/net/etp", buf, sizeof(buf)));
	line = strtok_r(buf, "\n", &save);
	while ((line = strtok_r(NULL, "\n", &save))) {
		unsigned int st;

		if (sscanf(line, " %*d: %*x:%*x %*x:%*x %x", &st) == 1 && st == ETP_TIME_WAIT)
			tw++;
	}
	EXPECT_EQ(2, tw);
	EXPECT_EQ(created0 + 2, etp_stat("TimeWaitCreated"));
	EXPECT_EQ(over0 + 2, etp_stat("TimeWaitOverflow"));
}

/*
 * RFC 6056: ephemeral ports to one destination follow no fixed stride
 * (no global counter), and every one is distinct.
 */
TEST(ephemeral_ports_follow_no_fixed_stride)
{
	enum { N = 24 };
	int cs[N], ss[N], lfd, i, j, strides = 0;
	unsigned short port, p[N];

	ASSERT_EQ(0, etp_private_netns());
	lfd = etp_listener("127.0.0.1", &port);
	ASSERT_LE(0, lfd);
	for (i = 0; i < N; i++) {
		cs[i] = etp_socket();
		ASSERT_LE(0, cs[i]);
		ASSERT_EQ(0, etp_connect(cs[i], "127.0.0.1", port));
		ss[i] = etp_accept_timeout(lfd, ETP_IO_TIMEOUT_MS);
		ASSERT_LE(0, ss[i]);
		p[i] = etp_local_port(cs[i]);
		for (j = 0; j < i; j++)
			ASSERT_NE(p[j], p[i]);
		if (i >= 2 && p[i] - p[i - 1] != p[1] - p[0])
			strides++;
	}
	TH_LOG("ports %u %u %u %u %u ...", p[0], p[1], p[2], p[3], p[4]);
	EXPECT_LT(0, strides);
	for (i = 0; i < N; i++) {
		close(cs[i]);
		close(ss[i]);
	}
	close(lfd);
}

TEST(sixty_four_connections_at_once)
{
	enum { N = 64 };
	int cs[N], ss[N], lfd, i;
	unsigned short port;

	ASSERT_EQ(0, etp_private_netns());
	lfd = etp_listener("127.0.0.1", &port);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, listen(lfd, N));
	for (i = 0; i < N; i++) {
		cs[i] = etp_socket();
		ASSERT_LE(0, cs[i]);
		ASSERT_EQ(0, etp_connect(cs[i], "127.0.0.1", port))
			TH_LOG("client %d: %s", i, strerror(errno));
		ss[i] = etp_accept_timeout(lfd, ETP_IO_TIMEOUT_MS);
		ASSERT_LE(0, ss[i]);
	}
	for (i = 0; i < N; i++) {
		unsigned int v = i * 7919, r = 0;

		ASSERT_EQ(sizeof(v), send(cs[i], &v, sizeof(v), 0));
		ASSERT_EQ(0, etp_recv_all(ss[i], &r, sizeof(r)));
		EXPECT_EQ(v, r);
	}
	for (i = 0; i < N; i++) {
		close(cs[i]);
		close(ss[i]);
	}
	close(lfd);
}

TEST(connect_to_other_local_address)
{
	unsigned short port;
	int lfd, c, s;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	ASSERT_EQ(0, etp_private_netns());
	lfd = etp_listener("0.0.0.0", &port);
	ASSERT_LE(0, lfd);
	c = etp_socket();
	ASSERT_LE(0, c);
	ASSERT_EQ(0, etp_connect(c, "127.0.0.2", port)) TH_LOG("%s", strerror(errno));
	s = etp_accept_timeout(lfd, ETP_IO_TIMEOUT_MS);
	ASSERT_LE(0, s);
	ASSERT_EQ(0, getsockname(s, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(inet_addr("127.0.0.2"), sin.sin_addr.s_addr);
	close(s);
	close(c);
	close(lfd);
}

TEST_HARNESS_MAIN

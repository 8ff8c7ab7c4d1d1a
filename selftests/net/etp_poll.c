// SPDX-License-Identifier: GPL-2.0
/*
 * poll/epoll/select readiness of ETP sockets at each stage of a
 * connection, with TCP's meaning of each event:
 *
 *   listening, nobody waiting        nothing
 *   listening, connection queued     EPOLLIN
 *   connecting (SYN_SENT)            nothing
 *   established, nothing to read     EPOLLOUT
 *   data queued                      EPOLLIN | EPOLLOUT
 *   peer sent FIN                    EPOLLIN | EPOLLRDHUP (not EPOLLHUP)
 *   both directions closed           EPOLLHUP as well
 *   reset by the peer                EPOLLERR
 *
 * Each test runs in a network namespace of its own.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <linux/sockios.h>
#include "etp_common.h"
#include "kselftest_harness.h"

/* Events epoll reports for @fd within @ms (0 if none). */
static unsigned int epoll_events(int fd, unsigned int want, int ms)
{
	struct epoll_event ev = { .events = want }, out = { 0 };
	int ep = epoll_create1(0), n;

	if (ep < 0)
		return 0x80000000;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(ep);
		return 0x80000000;
	}
	n = epoll_wait(ep, &out, 1, ms);
	close(ep);
	return n == 1 ? out.events : 0;
}

#define ALL_EV (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI)

/* Wait up to @ms for epoll to report all of @bits on @fd. */
static unsigned int wait_events(int fd, unsigned int bits, int ms)
{
	long long end = etp_now_ms() + ms;
	unsigned int ev;

	do {
		ev = epoll_events(fd, ALL_EV, 50);
		if ((ev & bits) == bits)
			break;
	} while (etp_now_ms() < end);
	return ev;
}

FIXTURE(ev) {
	int lfd, c, s;
	unsigned short port;
};

FIXTURE_SETUP(ev)
{
	self->lfd = self->c = self->s = -1;
	ASSERT_EQ(0, etp_private_netns());
	self->lfd = etp_listener("127.0.0.1", &self->port);
	ASSERT_LE(0, self->lfd);
}

FIXTURE_TEARDOWN(ev)
{
	if (self->c >= 0)
		close(self->c);
	if (self->s >= 0)
		close(self->s);
	if (self->lfd >= 0)
		close(self->lfd);
}

static void connect_pair(struct __test_metadata *_metadata,
			 FIXTURE_DATA(ev) *self)
{
	self->c = etp_socket();
	ASSERT_LE(0, self->c);
	ASSERT_EQ(0, etp_connect(self->c, "127.0.0.1", self->port));
	self->s = etp_accept_timeout(self->lfd, ETP_IO_TIMEOUT_MS);
	ASSERT_LE(0, self->s);
}

TEST_F(ev, new_socket_reports_epollhup)
{
	int fd = etp_socket();

	ASSERT_LE(0, fd);
	EXPECT_TRUE(epoll_events(fd, ALL_EV, 0) & EPOLLHUP);
	close(fd);
}

TEST_F(ev, listener_idle_reports_nothing)
{
	struct pollfd pfd = { .fd = self->lfd, .events = POLLIN | POLLOUT };

	EXPECT_EQ(0, poll(&pfd, 1, 100));
	EXPECT_EQ(0, epoll_events(self->lfd, ALL_EV, 100));
}

TEST_F(ev, listener_with_queued_connection_epollin)
{
	self->c = etp_socket();
	ASSERT_LE(0, self->c);
	ASSERT_EQ(0, etp_connect(self->c, "127.0.0.1", self->port));
	EXPECT_EQ(EPOLLIN, wait_events(self->lfd, EPOLLIN, 1000));
	self->s = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->s);
	/* Queue empty again. */
	EXPECT_EQ(0, epoll_events(self->lfd, ALL_EV, 50));
}

TEST_F(ev, poll_on_listener_wakes_when_client_connects)
{
	struct pollfd pfd = { .fd = self->lfd, .events = POLLIN };
	long long t0;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = etp_socket();

		etp_sleep_ms(200);
		etp_connect(fd, "127.0.0.1", self->port);
		etp_sleep_ms(500);
		_exit(0);
	}
	t0 = etp_now_ms();
	EXPECT_EQ(1, poll(&pfd, 1, 5000));
	EXPECT_EQ(POLLIN, pfd.revents);
	EXPECT_GT(3000, etp_now_ms() - t0);
	waitpid(pid, NULL, 0);
}

/* Drop every ETP segment arriving in this namespace, so SYNs go unanswered. */
static int drop_all_etp(void)
{
	return etp_sh("nft -f - <<'EOF'\n"
		      "table ip etp_poll {\n"
		      "  chain in { type filter hook input priority 0; meta l4proto 253 drop; }\n"
		      "}\n"
		      "EOF");
}

TEST_F(ev, connecting_socket_reports_nothing)
{
	struct pollfd pfd;

	if (drop_all_etp())
		SKIP(return, "nft cannot add a rule here");
	self->c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_ETP);
	ASSERT_LE(0, self->c);
	ASSERT_EQ(-1, etp_connect(self->c, "127.0.0.1", self->port));
	ASSERT_EQ(EINPROGRESS, errno);
	EXPECT_EQ(ETP_SYN_SENT, etp_state(self->c));
	EXPECT_EQ(0x02, etp_proc_state(etp_local_port(self->c), self->port));
	pfd = (struct pollfd){ .fd = self->c, .events = POLLIN | POLLOUT };
	EXPECT_EQ(0, poll(&pfd, 1, 300)) TH_LOG("revents 0x%x", pfd.revents);
	EXPECT_EQ(0, epoll_events(self->c, ALL_EV, 100));
	/* Connecting again while the SYN is out is EALREADY, as in TCP. */
	EXPECT_EQ(-1, etp_connect(self->c, "127.0.0.1", self->port));
	EXPECT_EQ(EALREADY, errno);
}

TEST_F(ev, established_idle_reports_epollout_only)
{
	connect_pair(_metadata, self);
	EXPECT_EQ(EPOLLOUT, epoll_events(self->c, ALL_EV, 100));
	EXPECT_EQ(EPOLLOUT, epoll_events(self->s, ALL_EV, 100));
}

TEST_F(ev, data_arrival_adds_epollin)
{
	connect_pair(_metadata, self);
	ASSERT_EQ(3, send(self->s, "abc", 3, 0));
	EXPECT_EQ(EPOLLIN | EPOLLOUT, wait_events(self->c, EPOLLIN, 1000));
	ASSERT_EQ(3, recv(self->c, (char[3]){ 0 }, 3, 0));
	EXPECT_EQ(EPOLLOUT, epoll_events(self->c, ALL_EV, 50));
}

TEST_F(ev, blocked_poll_wakes_on_data)
{
	struct pollfd pfd;
	long long t0;
	pid_t pid;

	connect_pair(_metadata, self);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		etp_sleep_ms(200);
		send(self->s, "w", 1, 0);
		_exit(0);
	}
	pfd = (struct pollfd){ .fd = self->c, .events = POLLIN };
	t0 = etp_now_ms();
	EXPECT_EQ(1, poll(&pfd, 1, 5000));
	EXPECT_EQ(POLLIN, pfd.revents);
	EXPECT_GT(3000, etp_now_ms() - t0);
	waitpid(pid, NULL, 0);
}

TEST_F(ev, peer_half_close_epollin_epollrdhup_not_epollhup)
{
	unsigned int ev;

	connect_pair(_metadata, self);
	ASSERT_EQ(0, shutdown(self->s, SHUT_WR));
	ev = wait_events(self->c, EPOLLIN | EPOLLRDHUP, 1000);
	EXPECT_EQ(EPOLLIN | EPOLLOUT | EPOLLRDHUP, ev) TH_LOG("events 0x%x", ev);
	EXPECT_FALSE(ev & EPOLLHUP);
	/* The half-closing end can still read and is still writable by the peer. */
	EXPECT_EQ(EPOLLOUT, epoll_events(self->s, ALL_EV, 50) & ~EPOLLIN);
}

TEST_F(ev, own_shutdown_wr_keeps_reading_side_quiet)
{
	unsigned int ev;

	connect_pair(_metadata, self);
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_EQ(ETP_FIN_WAIT2, etp_wait_state(self->c, ETP_FIN_WAIT2, 2000));
	ev = epoll_events(self->c, ALL_EV, 50);
	EXPECT_FALSE(ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		TH_LOG("events 0x%x", ev);
}

TEST_F(ev, both_directions_closed_epollhup)
{
	unsigned int ev;

	connect_pair(_metadata, self);
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_EQ(0, shutdown(self->s, SHUT_WR));
	ev = wait_events(self->c, EPOLLIN | EPOLLRDHUP | EPOLLHUP, 2000);
	EXPECT_EQ(EPOLLIN | EPOLLRDHUP | EPOLLHUP, ev & ~EPOLLOUT)
		TH_LOG("client events 0x%x", ev);
	ev = wait_events(self->s, EPOLLIN | EPOLLRDHUP | EPOLLHUP, 2000);
	EXPECT_EQ(EPOLLIN | EPOLLRDHUP | EPOLLHUP, ev & ~EPOLLOUT)
		TH_LOG("server events 0x%x", ev);
}

TEST_F(ev, peer_reset_epollerr)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };
	unsigned int ev;
	int err = 0;
	socklen_t len = sizeof(err);

	connect_pair(_metadata, self);
	ASSERT_EQ(0, setsockopt(self->s, SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
	close(self->s);
	self->s = -1;
	ev = wait_events(self->c, EPOLLERR, 2000);
	EXPECT_TRUE(ev & EPOLLERR) TH_LOG("events 0x%x", ev);
	EXPECT_TRUE(ev & EPOLLHUP) TH_LOG("events 0x%x", ev);
	ASSERT_EQ(0, getsockopt(self->c, SOL_SOCKET, SO_ERROR, &err, &len));
	EXPECT_EQ(ECONNRESET, err);
}

TEST_F(ev, refused_connect_epollerr)
{
	unsigned short port = self->port;
	unsigned int ev;

	close(self->lfd);
	self->lfd = -1;
	self->c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_ETP);
	ASSERT_LE(0, self->c);
	ASSERT_EQ(-1, etp_connect(self->c, "127.0.0.1", port));
	ASSERT_EQ(EINPROGRESS, errno);
	ev = wait_events(self->c, EPOLLERR, 2000);
	EXPECT_TRUE(ev & EPOLLERR) TH_LOG("events 0x%x", ev);
	EXPECT_TRUE(ev & EPOLLHUP) TH_LOG("events 0x%x", ev);
}

TEST_F(ev, nonblocking_connect_completes_with_epollout)
{
	unsigned int ev;

	self->c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_ETP);
	ASSERT_LE(0, self->c);
	ASSERT_EQ(-1, etp_connect(self->c, "127.0.0.1", self->port));
	ASSERT_EQ(EINPROGRESS, errno);
	ev = wait_events(self->c, EPOLLOUT, 2000);
	EXPECT_EQ(EPOLLOUT, ev);
}

TEST_F(ev, edge_triggered_epoll_one_event_per_arrival)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLET }, out;
	int ep;

	connect_pair(_metadata, self);
	ep = epoll_create1(0);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->c, &e));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 50));
	ASSERT_EQ(1, send(self->s, "a", 1, 0));
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, 1000));
	/* Not read yet, but no new data: edge-triggered stays quiet. */
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 100));
	ASSERT_EQ(1, send(self->s, "b", 1, 0));
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, 1000));
	close(ep);
}

TEST_F(ev, epollout_returns_when_peer_drains)
{
	static uint8_t buf[65536];
	size_t total = 0;
	ssize_t n;
	unsigned int ev;

	connect_pair(_metadata, self);
	fcntl(self->c, F_SETFL, O_NONBLOCK);
	/*
	 * Fill the send buffer until nothing moves any more: ACKs still on
	 * their way (delayed ACKs) may free space after the first EAGAIN.
	 */
	for (int quiet = 0; quiet < 3;) {
		size_t before = total;

		while ((n = send(self->c, buf, sizeof(buf), MSG_NOSIGNAL)) > 0) {
			total += n;
			ASSERT_GT(256u << 20, total);
		}
		ASSERT_EQ(EAGAIN, errno);
		quiet = total == before ? quiet + 1 : 0;
		etp_sleep_ms(100);
	}
	ev = epoll_events(self->c, EPOLLOUT, 100);
	if (ev & EPOLLOUT) {
		struct etp_info i;
		int outq = -1;

		etp_get_info(self->c, &i);
		ioctl(self->c, SIOCOUTQ, &outq);
		TH_LOG("writable: sent %zu outq %d in_flight %u snd_wnd %u cwnd %u una %u nxt %u",
		       total, outq, i.etpi_in_flight, i.etpi_snd_wnd, i.etpi_cwnd,
		       i.etpi_snd_una, i.etpi_snd_nxt);
	}
	EXPECT_FALSE(ev & EPOLLOUT);
	/* Read everything; the window opens and the sender becomes writable. */
	fcntl(self->s, F_SETFL, O_NONBLOCK);
	for (long long end = etp_now_ms() + 5000; etp_now_ms() < end;) {
		n = recv(self->s, buf, sizeof(buf), 0);
		if (n > 0)
			total -= n;
		if (!total)
			break;
		if (n < 0)
			poll(&(struct pollfd){ .fd = self->s, .events = POLLIN }, 1, 50);
	}
	EXPECT_EQ(0, total);
	ev = wait_events(self->c, EPOLLOUT, 2000);
	EXPECT_TRUE(ev & EPOLLOUT) TH_LOG("events 0x%x", ev);
}

TEST_F(ev, select_reports_readable_and_writable)
{
	fd_set r, w;
	struct timeval tv = { 1, 0 };

	connect_pair(_metadata, self);
	ASSERT_EQ(1, send(self->s, "s", 1, 0));
	ASSERT_EQ(POLLIN | POLLOUT, wait_events(self->c, EPOLLIN, 1000));
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(self->c, &r);
	FD_SET(self->c, &w);
	EXPECT_EQ(2, select(self->c + 1, &r, &w, NULL, &tv));
	EXPECT_TRUE(FD_ISSET(self->c, &r));
	EXPECT_TRUE(FD_ISSET(self->c, &w));
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * ETP port binding, which follows TCP's rules: port 0 picks an ephemeral
 * port, a second bind to a taken port fails with EADDRINUSE, SO_REUSEADDR
 * lets non-listening sockets share a port and lets a socket bind over a
 * TIME_WAIT entry, and ETP's port space is separate from TCP's.
 * Each test runs in a network namespace of its own.
 */
#define _GNU_SOURCE
#include "etp_common.h"
#include "kselftest_harness.h"

FIXTURE(bind) {
	int a, b;
};

FIXTURE_SETUP(bind)
{
	self->a = self->b = -1;
	ASSERT_EQ(0, etp_private_netns());
	self->a = etp_socket();
	self->b = etp_socket();
	ASSERT_LE(0, self->a);
	ASSERT_LE(0, self->b);
}

FIXTURE_TEARDOWN(bind)
{
	if (self->a >= 0)
		close(self->a);
	if (self->b >= 0)
		close(self->b);
}

static int set_reuse(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
}

static void local_port_range(int *lo, int *hi)
{
	char buf[64];

	*lo = 32768;
	*hi = 60999;
	if (etp_read_file("/proc/sys/net/ipv4/ip_local_port_range", buf,
			  sizeof(buf)) > 0)
		sscanf(buf, "%d %d", lo, hi);
}

TEST_F(bind, port_zero_gets_ephemeral_port_in_range)
{
	int lo, hi, port;

	ASSERT_EQ(0, etp_bind(self->a, "127.0.0.1", 0));
	port = etp_local_port(self->a);
	local_port_range(&lo, &hi);
	EXPECT_LE(lo, port);
	EXPECT_GE(hi, port);
}

TEST(ephemeral_ports_are_distinct)
{
	enum { N = 64 };
	int fds[N], ports[N], i, j;

	ASSERT_EQ(0, etp_private_netns());
	for (i = 0; i < N; i++) {
		fds[i] = etp_socket();
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, etp_bind(fds[i], "127.0.0.1", 0));
		ports[i] = etp_local_port(fds[i]);
		for (j = 0; j < i; j++) {
			ASSERT_NE(ports[j], ports[i]) TH_LOG("socket %d and %d", j, i);
		}
	}
	for (i = 0; i < N; i++)
		close(fds[i]);
}

TEST_F(bind, same_port_twice_eaddrinuse)
{
	ASSERT_EQ(0, etp_bind(self->a, "127.0.0.1", 0));
	EXPECT_EQ(-1, etp_bind(self->b, "127.0.0.1", etp_local_port(self->a)));
	EXPECT_EQ(EADDRINUSE, errno);
}

TEST_F(bind, wildcard_and_specific_address_conflict)
{
	unsigned short port;

	ASSERT_EQ(0, etp_bind(self->a, "0.0.0.0", 0));
	port = etp_local_port(self->a);
	EXPECT_EQ(-1, etp_bind(self->b, "127.0.0.1", port));
	EXPECT_EQ(EADDRINUSE, errno);
}

TEST_F(bind, specific_then_wildcard_conflict)
{
	unsigned short port;

	ASSERT_EQ(0, etp_bind(self->a, "127.0.0.1", 0));
	port = etp_local_port(self->a);
	EXPECT_EQ(-1, etp_bind(self->b, "0.0.0.0", port));
	EXPECT_EQ(EADDRINUSE, errno);
}

TEST_F(bind, different_local_addresses_share_port)
{
	unsigned short port;

	ASSERT_EQ(0, etp_bind(self->a, "127.0.0.1", 0));
	port = etp_local_port(self->a);
	EXPECT_EQ(0, etp_bind(self->b, "127.0.0.2", port)) TH_LOG("%s", strerror(errno));
}

TEST_F(bind, second_bind_on_same_socket_einval)
{
	ASSERT_EQ(0, etp_bind(self->a, "127.0.0.1", 0));
	EXPECT_EQ(-1, etp_bind(self->a, "127.0.0.1", 0));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(bind, nonlocal_address_eaddrnotavail)
{
	EXPECT_EQ(-1, etp_bind(self->a, "10.253.99.99", 0));
	EXPECT_EQ(EADDRNOTAVAIL, errno);
}

TEST_F(bind, short_address_length_einval)
{
	struct sockaddr_in sin = etp_addr("127.0.0.1", 0);

	EXPECT_EQ(-1, bind(self->a, (struct sockaddr *)&sin, 4));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(bind, port_free_again_after_close)
{
	unsigned short port;

	ASSERT_EQ(0, etp_bind(self->a, "127.0.0.1", 0));
	port = etp_local_port(self->a);
	close(self->a);
	self->a = -1;
	EXPECT_EQ(0, etp_bind(self->b, "127.0.0.1", port)) TH_LOG("%s", strerror(errno));
}

TEST_F(bind, reuseaddr_lets_two_unlistened_sockets_share_port)
{
	unsigned short port;

	ASSERT_EQ(0, set_reuse(self->a));
	ASSERT_EQ(0, set_reuse(self->b));
	ASSERT_EQ(0, etp_bind(self->a, "127.0.0.1", 0));
	port = etp_local_port(self->a);
	EXPECT_EQ(0, etp_bind(self->b, "127.0.0.1", port)) TH_LOG("%s", strerror(errno));
}

TEST_F(bind, reuseaddr_needed_on_both_sockets)
{
	unsigned short port;

	ASSERT_EQ(0, set_reuse(self->b));
	ASSERT_EQ(0, etp_bind(self->a, "127.0.0.1", 0));
	port = etp_local_port(self->a);
	EXPECT_EQ(-1, etp_bind(self->b, "127.0.0.1", port));
	EXPECT_EQ(EADDRINUSE, errno);
}

TEST_F(bind, reuseaddr_does_not_share_with_listener)
{
	unsigned short port;

	ASSERT_EQ(0, set_reuse(self->a));
	ASSERT_EQ(0, set_reuse(self->b));
	ASSERT_EQ(0, etp_bind(self->a, "127.0.0.1", 0));
	ASSERT_EQ(0, listen(self->a, 4));
	port = etp_local_port(self->a);
	EXPECT_EQ(-1, etp_bind(self->b, "127.0.0.1", port));
	EXPECT_EQ(EADDRINUSE, errno);
}

TEST_F(bind, second_listen_on_shared_port_eaddrinuse)
{
	unsigned short port;

	ASSERT_EQ(0, set_reuse(self->a));
	ASSERT_EQ(0, set_reuse(self->b));
	ASSERT_EQ(0, etp_bind(self->a, "127.0.0.1", 0));
	port = etp_local_port(self->a);
	ASSERT_EQ(0, etp_bind(self->b, "127.0.0.1", port));
	ASSERT_EQ(0, listen(self->a, 4));
	EXPECT_EQ(-1, listen(self->b, 4));
	EXPECT_EQ(EADDRINUSE, errno);
}

TEST_F(bind, tcp_and_etp_port_spaces_are_separate)
{
	unsigned short port;
	int tcp;

	ASSERT_EQ(0, etp_bind(self->a, "127.0.0.1", 0));
	port = etp_local_port(self->a);
	tcp = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	ASSERT_LE(0, tcp);
	EXPECT_EQ(0, etp_bind(tcp, "127.0.0.1", port)) TH_LOG("%s", strerror(errno));
	close(tcp);
}

TEST(connect_without_bind_gets_ephemeral_port)
{
	int c, s, lo, hi, port;

	ASSERT_EQ(0, etp_private_netns());
	ASSERT_EQ(0, etp_pair(&c, &s));
	port = etp_local_port(c);
	local_port_range(&lo, &hi);
	EXPECT_LE(lo, port);
	EXPECT_GE(hi, port);
	close(c);
	close(s);
}

/*
 * The end that closes first keeps the connection in TIME_WAIT, and the
 * entry holds its port (RFC 9293, 3.6.1). As in Linux TCP, a new socket
 * may bind over it only if both it and the socket that left the entry had
 * SO_REUSEADDR.
 */
TEST(time_wait_holds_client_port_until_reuseaddr)
{
	unsigned short cport, sport;
	int lfd, c, s, fd;

	ASSERT_EQ(0, etp_private_netns());
	lfd = etp_listener("127.0.0.1", &sport);
	ASSERT_LE(0, lfd);
	c = etp_socket();
	ASSERT_LE(0, c);
	ASSERT_EQ(0, set_reuse(c));
	ASSERT_EQ(0, etp_connect(c, "127.0.0.1", sport));
	s = etp_accept_timeout(lfd, ETP_IO_TIMEOUT_MS);
	ASSERT_LE(0, s);
	cport = etp_local_port(c);
	close(c);			/* active close: the client gets TIME_WAIT */
	ASSERT_EQ(ETP_CLOSE_WAIT, etp_wait_state(s, ETP_CLOSE_WAIT, 2000));
	close(s);
	ASSERT_EQ(ETP_TIME_WAIT, etp_wait_proc_state(cport, sport, ETP_TIME_WAIT, 3000));

	fd = etp_socket();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, etp_bind(fd, "127.0.0.1", cport));
	EXPECT_EQ(EADDRINUSE, errno);
	close(fd);

	fd = etp_socket();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_reuse(fd));
	EXPECT_EQ(0, etp_bind(fd, "127.0.0.1", cport)) TH_LOG("%s", strerror(errno));
	close(fd);
	close(lfd);
}

/* The server restart case: the server closed first, so its TIME_WAIT entry
 * holds the listening port; a listener with SO_REUSEADDR (whose accepted
 * sockets inherit it) can start again on that port at once.
 */
TEST(server_restarts_over_its_time_wait_with_reuseaddr)
{
	unsigned short cport, sport;
	int lfd, c, s, fd;

	ASSERT_EQ(0, etp_private_netns());
	lfd = etp_socket();
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, set_reuse(lfd));
	ASSERT_EQ(0, etp_bind(lfd, "127.0.0.1", 0));
	ASSERT_EQ(0, listen(lfd, 4));
	sport = etp_local_port(lfd);
	c = etp_socket();
	ASSERT_LE(0, c);
	ASSERT_EQ(0, etp_connect(c, "127.0.0.1", sport));
	s = etp_accept_timeout(lfd, ETP_IO_TIMEOUT_MS);
	ASSERT_LE(0, s);
	cport = etp_local_port(c);
	close(lfd);
	close(s);			/* active close: the server gets TIME_WAIT */
	ASSERT_EQ(ETP_CLOSE_WAIT, etp_wait_state(c, ETP_CLOSE_WAIT, 2000));
	close(c);
	ASSERT_EQ(ETP_TIME_WAIT, etp_wait_proc_state(sport, cport, ETP_TIME_WAIT, 3000));

	fd = etp_socket();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, etp_bind(fd, "127.0.0.1", sport));
	EXPECT_EQ(EADDRINUSE, errno);
	close(fd);

	fd = etp_socket();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_reuse(fd));
	EXPECT_EQ(0, etp_bind(fd, "127.0.0.1", sport)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, listen(fd, 4)) TH_LOG("%s", strerror(errno));
	close(fd);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * ETP sockets before any connection: creation, the socket types that are
 * refused, ETP_INFO on a fresh socket, the /proc files and the sysctls.
 * Each test runs in a network namespace of its own.
 */
#define _GNU_SOURCE
#include "etp_common.h"
#include "kselftest_harness.h"

FIXTURE(sock) {
	int fd;
};

FIXTURE_SETUP(sock)
{
	self->fd = -1;
	ASSERT_EQ(0, etp_private_netns());
	self->fd = etp_socket();
	ASSERT_LE(0, self->fd) TH_LOG("socket(AF_INET, SOCK_STREAM, 253): %s",
				      strerror(errno));
}

FIXTURE_TEARDOWN(sock)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(sock, stream_socket_reports_domain_type_protocol)
{
	int v;
	socklen_t len = sizeof(v);

	ASSERT_EQ(0, getsockopt(self->fd, SOL_SOCKET, SO_DOMAIN, &v, &len));
	EXPECT_EQ(AF_INET, v);
	len = sizeof(v);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_SOCKET, SO_TYPE, &v, &len));
	EXPECT_EQ(SOCK_STREAM, v);
	len = sizeof(v);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_SOCKET, SO_PROTOCOL, &v, &len));
	EXPECT_EQ(IPPROTO_ETP, v);
}

TEST(dgram_type_with_protocol_253_eprotonosupport)
{
	int fd;

	ASSERT_EQ(0, etp_private_netns());
	fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ETP);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EPROTONOSUPPORT, errno);
	if (fd >= 0)
		close(fd);
}

TEST(socket_flags_nonblock_cloexec_applied)
{
	int fd;

	ASSERT_EQ(0, etp_private_netns());
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_ETP);
	ASSERT_LE(0, fd);
	EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

TEST_F(sock, etp_info_of_new_socket_is_close)
{
	struct etp_info info;
	socklen_t len = sizeof(info);

	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, getsockopt(self->fd, SOL_ETP, ETP_INFO, &info, &len));
	EXPECT_EQ(sizeof(info), len);
	EXPECT_EQ(ETP_CLOSE, info.etpi_state);
	EXPECT_EQ(0, info.etpi_bytes_sent);
	EXPECT_EQ(0, info.etpi_bytes_received);
}

TEST_F(sock, etp_info_short_optlen_copies_prefix)
{
	unsigned char buf[8];
	socklen_t len = 4;

	memset(buf, 0xa5, sizeof(buf));
	ASSERT_EQ(0, getsockopt(self->fd, SOL_ETP, ETP_INFO, buf, &len));
	EXPECT_EQ(4, len);
	EXPECT_EQ(ETP_CLOSE, buf[0]);	/* etpi_state is the first byte */
	EXPECT_EQ(0xa5, buf[4]);	/* nothing written past optlen */
}

TEST_F(sock, etp_info_long_optlen_returns_struct_size)
{
	unsigned char buf[sizeof(struct etp_info) + 32];
	socklen_t len = sizeof(buf);

	ASSERT_EQ(0, getsockopt(self->fd, SOL_ETP, ETP_INFO, buf, &len));
	EXPECT_EQ(sizeof(struct etp_info), len);
}

TEST_F(sock, etp_info_is_read_only)
{
	struct etp_info info = { 0 };

	EXPECT_EQ(-1, setsockopt(self->fd, SOL_ETP, ETP_INFO, &info,
				 sizeof(info)));
}

TEST_F(sock, unknown_sol_etp_option_enoprotoopt)
{
	int v;
	socklen_t len = sizeof(v);

	EXPECT_EQ(-1, getsockopt(self->fd, SOL_ETP, 9999, &v, &len));
	EXPECT_EQ(ENOPROTOOPT, errno);
}

TEST_F(sock, getpeername_unconnected_enotconn)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	EXPECT_EQ(-1, getpeername(self->fd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(ENOTCONN, errno);
}

TEST_F(sock, recv_unconnected_enotconn)
{
	char c;

	EXPECT_EQ(-1, recv(self->fd, &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(ENOTCONN, errno);
}

TEST_F(sock, send_unconnected_fails)
{
	ssize_t n = send(self->fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);

	EXPECT_EQ(-1, n);
	/* TCP answers EPIPE here; ENOTCONN is as clear. */
	EXPECT_TRUE(errno == EPIPE || errno == ENOTCONN)
		TH_LOG("errno %d (%s)", errno, strerror(errno));
}

TEST_F(sock, shutdown_unconnected_enotconn)
{
	EXPECT_EQ(-1, shutdown(self->fd, SHUT_WR));
	EXPECT_EQ(ENOTCONN, errno);
}

TEST_F(sock, listen_sets_listen_state_and_proc_line)
{
	unsigned short port;

	ASSERT_EQ(0, etp_bind(self->fd, "127.0.0.1", 0));
	ASSERT_EQ(0, listen(self->fd, 8));
	port = etp_local_port(self->fd);
	ASSERT_NE(0, port);
	EXPECT_EQ(ETP_LISTEN, etp_state(self->fd));
	EXPECT_EQ(0x0A, etp_proc_state(port, 0));
}

TEST_F(sock, listen_without_bind_picks_a_port)
{
	ASSERT_EQ(0, listen(self->fd, 8));
	EXPECT_NE(0, etp_local_port(self->fd));
	EXPECT_EQ(ETP_LISTEN, etp_state(self->fd));
}

TEST_F(sock, closed_listener_leaves_proc)
{
	unsigned short port;

	ASSERT_EQ(0, listen(self->fd, 8));
	port = etp_local_port(self->fd);
	ASSERT_EQ(0x0A, etp_proc_state(port, 0));
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(-1, etp_wait_proc_state(port, 0, -1, 1000));
}

TEST(proc_net_etp_header_and_line_format)
{
	char buf[4096], *line;
	unsigned int sl, la, lp, ra, rp, st, txq, rxq, tr, tm, rt, uid;
	int to;
	unsigned long ino;
	int lfd;
	unsigned short port;

	ASSERT_EQ(0, etp_private_netns());
	ASSERT_LE(0, etp_read_file("/proc/net/etp", buf, sizeof(buf)));
	EXPECT_EQ(0, strncmp(buf, "  sl  local_address rem_address   st", 36))
		TH_LOG("header: %.80s", buf);
	line = strchr(buf, '\n');
	ASSERT_NE(NULL, line);
	EXPECT_EQ(0, line[1]) TH_LOG("a fresh namespace lists sockets: %s", buf);

	lfd = etp_listener("127.0.0.1", &port);
	ASSERT_LE(0, lfd);
	ASSERT_LE(0, etp_read_file("/proc/net/etp", buf, sizeof(buf)));
	line = strchr(buf, '\n');
	ASSERT_NE(NULL, line);
	ASSERT_EQ(14, sscanf(line + 1, "%u: %x:%x %x:%x %x %x:%x %x:%x %x %u %d %lu",
			     &sl, &la, &lp, &ra, &rp, &st, &txq, &rxq, &tr, &tm,
			     &rt, &uid, &to, &ino))
		TH_LOG("line: %s", line + 1);
	EXPECT_EQ(0, sl);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), la);	/* raw __be32, as in /proc/net/tcp */
	EXPECT_EQ(port, lp);
	EXPECT_EQ(0, ra);
	EXPECT_EQ(0, rp);
	EXPECT_EQ(0x0A, st);
	EXPECT_EQ(getuid(), uid);
	{
		struct stat stb;

		ASSERT_EQ(0, fstat(lfd, &stb));
		EXPECT_EQ(stb.st_ino, ino);
	}
	close(lfd);
}

TEST(etp_stat_lists_every_counter)
{
	static const char *const names[] = {
		"InSegs", "OutSegs", "RetransSegs", "InRsts", "OutRsts",
		"ActiveOpens", "PassiveOpens", "AttemptFails", "EstabResets",
		"Timeouts", "InCsumErrors", "InShortHeader", "InBadDoff",
		"InBadFlags", "InNoSocket", "InUnacceptable", "InOutOfOrder",
		"InRcvbufDrops", "InAckUnsent", "BacklogDrops",
		"ListenOverflows", "ChallengeAcks", "TimeWaitCreated",
		"FastRetrans", "FastRecovery", "InDupAcks", "InDupData",
		"OfoDrops", "ZeroWindowProbes", "DelayedAcks", "PmtuUpdates",
		"IcmpIgnored", "TimeWaitOverflow", "SynCookiesSent",
		"SynCookiesRecv", "SynCookiesFailed",
	};
	char buf[8192], *nl, *second;
	int nnames = 0, nvals = 0;
	size_t i;

	ASSERT_EQ(0, etp_private_netns());
	ASSERT_LT(0, etp_read_file("/proc/net/etp_stat", buf, sizeof(buf)));
	ASSERT_EQ(0, strncmp(buf, "Etp: ", 5));
	nl = strchr(buf, '\n');
	ASSERT_NE(NULL, nl);
	second = nl + 1;
	ASSERT_EQ(0, strncmp(second, "Etp: ", 5)) TH_LOG("second line: %s", second);
	for (char *p = buf; p < nl; p++)
		nnames += *p == ' ';
	for (char *p = second; *p && *p != '\n'; p++)
		nvals += *p == ' ';
	EXPECT_EQ(nnames, nvals);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		EXPECT_EQ(0, etp_stat(names[i]))
			TH_LOG("counter %s missing or not 0 in a new namespace",
			       names[i]);
	}
}

TEST(sysctl_defaults_in_new_namespace)
{
	static const struct { const char *name; long long val; } d[] = {
		{ "msl_ms", 30000 }, { "syn_retries", 6 },
		{ "synack_retries", 5 }, { "retries", 15 },
		{ "fin_timeout_ms", 60000 }, { "rto_min_ms", 200 },
		{ "rto_max_ms", 120000 }, { "rto_initial_ms", 1000 },
		{ NULL, 0 },
	};
	int i;

	ASSERT_EQ(0, etp_private_netns());
	for (i = 0; d[i].name; i++) {
		const char *name = d[i].name;

		EXPECT_EQ(d[i].val, etp_sysctl_get(name))
			TH_LOG("net.etp.%s", name);
	}
}

TEST(sysctl_is_per_namespace)
{
	ASSERT_EQ(0, etp_private_netns());
	ASSERT_EQ(0, etp_sysctl_set("msl_ms", "1234"));
	EXPECT_EQ(1234, etp_sysctl_get("msl_ms"));
	/* A second new namespace starts from the default again. */
	ASSERT_EQ(0, etp_private_netns());
	EXPECT_EQ(30000, etp_sysctl_get("msl_ms"));
}

TEST(thousand_sockets_open_and_close)
{
	int i, fd;

	ASSERT_EQ(0, etp_private_netns());
	for (i = 0; i < 1000; i++) {
		fd = socket(AF_INET, SOCK_STREAM, IPPROTO_ETP);
		ASSERT_LE(0, fd) TH_LOG("socket %d: %s", i, strerror(errno));
		if (i % 2) {
			ASSERT_EQ(0, etp_bind(fd, "127.0.0.1", 0));
		}
		close(fd);
	}
}

TEST_HARNESS_MAIN

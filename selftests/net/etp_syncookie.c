// SPDX-License-Identifier: GPL-2.0
/*
 * SYN cookies (net.etp.syncookies): a listener whose half-open queue is
 * full answers SYNs without keeping state, and the final ACK carrying a
 * good cookie makes the connection.
 *
 *   private netns
 *   +---------------------------------------------------------------+
 *   | dummy0 10.9.8.1/24: the listener's address. SYN-ACKs to the     |
 *   | flood's forged sources 10.9.8.100-199 go out dummy0, into the   |
 *   | void, so their half-open connections stay half-open.            |
 *   | A raw socket (IP_HDRINCL) sends the flood; real clients connect |
 *   | from 10.9.8.1 itself.                                           |
 *   +---------------------------------------------------------------+
 */
#define _GNU_SOURCE
#include <netinet/ip.h>
#include "etp_common.h"
#include "kselftest_harness.h"

#define LADDR "10.9.8.1"

FIXTURE(sc) {
	int raw, lfd;
	unsigned short port;
};

FIXTURE_SETUP(sc)
{
	int one = 1;

	self->raw = self->lfd = -1;
	ASSERT_EQ(0, etp_private_netns());
	ASSERT_EQ(0, etp_sh("ip link add dummy0 type dummy && "
			    "ip addr add " LADDR "/24 dev dummy0 && "
			    "ip link set dummy0 up"));
	self->raw = socket(AF_INET, SOCK_RAW, IPPROTO_ETP);
	ASSERT_LE(0, self->raw);
	ASSERT_EQ(0, setsockopt(self->raw, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)));
	self->lfd = etp_socket();
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, etp_bind(self->lfd, LADDR, 0));
	/* A backlog of 0: at most 16 half-open connections. */
	ASSERT_EQ(0, listen(self->lfd, 0));
	self->port = etp_local_port(self->lfd);
}

FIXTURE_TEARDOWN(sc)
{
	if (self->raw >= 0)
		close(self->raw);
	if (self->lfd >= 0)
		close(self->lfd);
}

/* Send one segment from @src:@sport to the listener, IP header and all. */
static int send_seg(FIXTURE_DATA(sc) *self, const char *src,
		    unsigned short sport, uint8_t flags, uint32_t seq,
		    uint32_t ack)
{
	uint8_t pkt[sizeof(struct iphdr) + sizeof(struct etphdr)] = { 0 };
	struct iphdr *ip = (struct iphdr *)pkt;
	struct etphdr *h = (struct etphdr *)(ip + 1);
	struct sockaddr_in dst = etp_addr(LADDR, self->port);

	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_ETP;
	ip->tot_len = htons(sizeof(pkt));
	ip->saddr = inet_addr(src);
	ip->daddr = dst.sin_addr.s_addr;
	h->source = htons(sport);
	h->dest = htons(self->port);
	h->seq = htonl(seq);
	h->ack_seq = htonl(ack);
	h->doff_res = 5 << 4;
	h->flags = flags;
	h->window = htons(65535);
	h->check = etp_seg_csum(ip->saddr, ip->daddr, (uint8_t *)h, sizeof(*h));
	return sendto(self->raw, pkt, sizeof(pkt), 0, (struct sockaddr *)&dst,
		      sizeof(dst)) == (ssize_t)sizeof(pkt) ? 0 : -1;
}

/* @n SYNs from forged addresses that never answer. */
static int flood(FIXTURE_DATA(sc) *self, int n)
{
	char src[32];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(src, sizeof(src), "10.9.8.%d", 100 + i % 100);
		if (send_seg(self, src, 20000 + i, ETP_FLAG_SYN, 1000 * i, 0))
			return -1;
	}
	return 0;
}

/* Connect from LADDR, exchange a byte each way; 0 if all went well. */
static int real_client(FIXTURE_DATA(sc) *self, struct etp_info *ci)
{
	int c, s, ret = -1;
	char b;

	c = etp_socket();
	if (c < 0)
		return -1;
	if (etp_connect(c, LADDR, self->port) < 0)
		goto out;
	s = etp_accept_timeout(self->lfd, ETP_IO_TIMEOUT_MS);
	if (s < 0)
		goto out;
	if (send(c, "c", 1, 0) == 1 && recv(s, &b, 1, 0) == 1 && b == 'c' &&
	    send(s, "s", 1, 0) == 1 && recv(c, &b, 1, 0) == 1 && b == 's' &&
	    !etp_get_info(c, ci))
		ret = 0;
	close(s);
out:
	close(c);
	return ret;
}

TEST_F(sc, syncookies_always_makes_working_connections)
{
	long long sent = etp_stat("SynCookiesSent");
	long long recv = etp_stat("SynCookiesRecv");
	struct etp_info ci;

	ASSERT_EQ(0, etp_sysctl_set("syncookies", "2"));
	ASSERT_EQ(0, real_client(self, &ci));
	EXPECT_EQ(sent + 1, etp_stat("SynCookiesSent"));
	EXPECT_EQ(recv + 1, etp_stat("SynCookiesRecv"));
	/* A cookie has no room for the window scale: none is used. */
	EXPECT_EQ(0, ci.etpi_snd_wscale);
	EXPECT_EQ(0, ci.etpi_rcv_wscale);
	/*
	 * The MSS comes back from the cookie's table: the largest value
	 * not above the client's (65495 on this local route) is 8960.
	 */
	EXPECT_EQ(8960, ci.etpi_peer_mss);
}

/*
 * A flood fills the half-open queue; further SYNs, real ones included,
 * get cookies, and the real clients still get through.
 */
TEST_F(sc, flood_overflows_queue_cookies_let_clients_in)
{
	long long sent = etp_stat("SynCookiesSent");
	long long recv = etp_stat("SynCookiesRecv");
	struct etp_info ci;
	int i, ok = 0;

	ASSERT_EQ(1, etp_sysctl_get("syncookies"));
	ASSERT_EQ(0, flood(self, 100));
	for (i = 0; i < 10; i++)
		ok += !real_client(self, &ci);
	TH_LOG("SynCookiesSent +%lld, SynCookiesRecv +%lld, %d/10 clients",
	       etp_stat("SynCookiesSent") - sent,
	       etp_stat("SynCookiesRecv") - recv, ok);
	EXPECT_EQ(10, ok);
	/* 100 flood SYNs, 16 took the queue: the rest and the clients got cookies. */
	EXPECT_LE(sent + 84 + 10, etp_stat("SynCookiesSent"));
	EXPECT_EQ(recv + 10, etp_stat("SynCookiesRecv"));
}

/* Without cookies the same flood keeps real clients out. */
TEST_F(sc, no_cookies_flood_drops_syns)
{
	long long over = etp_stat("ListenOverflows");
	int c;

	ASSERT_EQ(0, etp_sysctl_set("syncookies", "0"));
	ASSERT_EQ(0, flood(self, 40));
	EXPECT_LE(over + 24, etp_stat("ListenOverflows"));
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_ETP);
	ASSERT_LE(0, c);
	ASSERT_EQ(-1, etp_connect(c, LADDR, self->port));
	ASSERT_EQ(EINPROGRESS, errno);
	EXPECT_EQ(-1, etp_accept_timeout(self->lfd, 300));
	EXPECT_EQ(0, etp_stat("SynCookiesSent"));
	close(c);
}

/* An ACK with a made-up cookie is refused with a RST and counted. */
TEST_F(sc, forged_cookie_ack_refused)
{
	long long failed, rst;

	ASSERT_EQ(0, etp_sysctl_set("syncookies", "2"));
	failed = etp_stat("SynCookiesFailed");
	rst = etp_stat("OutRsts");
	ASSERT_EQ(0, send_seg(self, "10.9.8.150", 30000, ETP_FLAG_ACK, 5000,
			      0x12345678));
	etp_sleep_ms(100);
	EXPECT_EQ(failed + 1, etp_stat("SynCookiesFailed"));
	EXPECT_EQ(rst + 1, etp_stat("OutRsts"));
	EXPECT_EQ(-1, etp_accept_timeout(self->lfd, 100));
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * Malformed ETP segments aimed at a live connection. A raw socket
 * (SOCK_RAW, protocol 253) on the client's side sends segments carrying
 * the connection's 4-tuple and in-window sequence numbers, each with one
 * defect:
 *
 *   shorter than the 20-byte header           -> InShortHeader
 *   data offset below 5 words or past the end -> InBadDoff
 *   wrong checksum                            -> InCsumErrors
 *   SYN+FIN, SYN+RST, none of SYN/ACK/RST     -> InBadFlags
 *
 * The server must drop each one and count it in /proc/net/etp_stat; the
 * connection must stay ESTABLISHED and then carry data both ways byte for
 * byte. The injected segments carry payload at the next expected sequence
 * number, so one that slipped through would corrupt the stream. A control
 * test shows that a well-formed segment built the same way reaches the
 * connection.
 *
 * Variants:
 *   loopback   everything in one private namespace, 127.0.0.1
 *   veth       server and client in two namespaces joined by a veth pair:
 *
 *     netns etpmal-PID-s              netns etpmal-PID-c
 *     +------------------+            +---------------------------+
 *     | listener, server |  veth      | client socket             |
 *     | 10.253.40.1/24   |<==========>| raw socket (crafts)       |
 *     +------------------+            | 10.253.40.2/24            |
 *                                     +---------------------------+
 */
#define _GNU_SOURCE
#include "etp_common.h"
#include "kselftest_harness.h"

FIXTURE(mal) {
	int lfd, c, s, raw;
	char ns_s[64], ns_c[64];
	struct sockaddr_in caddr, saddr;	/* client and server ends */
};

FIXTURE_VARIANT(mal) {
	bool veth;
	const char *server_ip, *client_ip;
};

FIXTURE_VARIANT_ADD(mal, loopback) {
	.veth = false,
	.server_ip = "127.0.0.1",
	.client_ip = "127.0.0.1",
};

FIXTURE_VARIANT_ADD(mal, veth) {
	.veth = true,
	.server_ip = "10.253.40.1",
	.client_ip = "10.253.40.2",
};

/* The server's namespace, where the counters of interest live. */
static int enter_server_ns(FIXTURE_DATA(mal) *self,
			   const FIXTURE_VARIANT(mal) *variant)
{
	return variant->veth ? etp_enter_netns(self->ns_s) : 0;
}

FIXTURE_SETUP(mal)
{
	unsigned short port;
	socklen_t len;

	self->lfd = self->c = self->s = self->raw = -1;
	self->ns_s[0] = self->ns_c[0] = 0;
	if (!variant->veth) {
		ASSERT_EQ(0, etp_private_netns());
	} else {
		snprintf(self->ns_s, sizeof(self->ns_s), "etpmal-%d-s", getpid());
		snprintf(self->ns_c, sizeof(self->ns_c), "etpmal-%d-c", getpid());
		ASSERT_EQ(0, etp_sh("ip netns add %s && ip netns add %s && "
				    "ip -n %s link set lo up && ip -n %s link set lo up && "
				    "ip -n %s link add v0 type veth peer name v1 netns %s && "
				    "ip -n %s addr add %s/24 dev v0 && "
				    "ip -n %s addr add %s/24 dev v1 && "
				    "ip -n %s link set v0 up && ip -n %s link set v1 up",
				    self->ns_s, self->ns_c, self->ns_s, self->ns_c,
				    self->ns_s, self->ns_c,
				    self->ns_s, variant->server_ip,
				    self->ns_c, variant->client_ip,
				    self->ns_s, self->ns_c))
			TH_LOG("cannot build the veth topology");
		ASSERT_EQ(0, etp_enter_netns(self->ns_s));
	}

	self->lfd = etp_listener(variant->server_ip, &port);
	ASSERT_LE(0, self->lfd) TH_LOG("listener: %s", strerror(errno));

	if (variant->veth) {
		ASSERT_EQ(0, etp_enter_netns(self->ns_c));
	}
	self->c = etp_socket();
	ASSERT_LE(0, self->c);
	/* veth may need a moment for its carrier. */
	for (int i = 0; i < 50; i++) {
		if (!etp_connect(self->c, variant->server_ip, port))
			break;
		ASSERT_TRUE(errno == ENETUNREACH || errno == EHOSTUNREACH ||
			    errno == ETIMEDOUT) TH_LOG("connect: %s", strerror(errno));
		close(self->c);
		self->c = etp_socket();
		etp_sleep_ms(100);
	}
	ASSERT_EQ(ETP_ESTABLISHED, etp_state(self->c));
	self->s = etp_accept_timeout(self->lfd, ETP_IO_TIMEOUT_MS);
	ASSERT_LE(0, self->s);

	/* The raw socket lives beside the client, sending as the client. */
	self->raw = socket(AF_INET, SOCK_RAW, IPPROTO_ETP);
	ASSERT_LE(0, self->raw) TH_LOG("raw socket: %s", strerror(errno));
	{
		int small = 4096;

		/* It also receives every ETP segment; we never read them. */
		setsockopt(self->raw, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	}
	len = sizeof(self->caddr);
	ASSERT_EQ(0, getsockname(self->c, (struct sockaddr *)&self->caddr, &len));
	len = sizeof(self->saddr);
	ASSERT_EQ(0, getpeername(self->c, (struct sockaddr *)&self->saddr, &len));
	{
		struct sockaddr_in src = self->caddr;

		src.sin_port = 0;
		ASSERT_EQ(0, bind(self->raw, (struct sockaddr *)&src, sizeof(src)));
	}
	ASSERT_EQ(0, enter_server_ns(self, variant));
	ASSERT_EQ(ETP_ESTABLISHED, etp_wait_state(self->s, ETP_ESTABLISHED, 1000));
}

FIXTURE_TEARDOWN(mal)
{
	if (self->raw >= 0)
		close(self->raw);
	if (self->c >= 0)
		close(self->c);
	if (self->s >= 0)
		close(self->s);
	if (self->lfd >= 0)
		close(self->lfd);
	if (variant->veth && self->ns_s[0])
		etp_sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null",
		       self->ns_s, self->ns_c);
}

/* RFC 9293, 3.1: one's complement sum over the pseudo-header and segment. */
static uint16_t etp_csum(const struct sockaddr_in *src,
			 const struct sockaddr_in *dst, const uint8_t *seg,
			 size_t len)
{
	uint32_t sum = 0;
	size_t i;

	sum += ntohl(src->sin_addr.s_addr) >> 16;
	sum += ntohl(src->sin_addr.s_addr) & 0xffff;
	sum += ntohl(dst->sin_addr.s_addr) >> 16;
	sum += ntohl(dst->sin_addr.s_addr) & 0xffff;
	sum += IPPROTO_ETP;
	sum += len;
	for (i = 0; i + 1 < len; i += 2)
		sum += seg[i] << 8 | seg[i + 1];
	if (len & 1)
		sum += seg[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

struct seg_spec {
	uint8_t flags;
	uint8_t doff;		/* 32-bit words; 5 is a plain header */
	size_t len;		/* bytes handed to the raw socket */
	bool bad_csum;
	uint32_t seq_back;	/* start this many bytes before snd_nxt */
};

/*
 * Build a segment from the client to the server at the connection's next
 * sequence numbers (or @spec->seq_back bytes before), header and payload.
 */
static ssize_t inject(FIXTURE_DATA(mal) *self, const struct seg_spec *spec,
		      const char *payload)
{
	uint8_t seg[128] = { 0 };
	struct etphdr *h = (struct etphdr *)seg;
	struct etp_info ci;
	size_t plen = strlen(payload), full = sizeof(*h) + plen;
	size_t len = spec->len ? spec->len : full;
	ssize_t n;

	/* Sockets keep their namespace: no need to enter the client's. */
	if (etp_get_info(self->c, &ci))
		return -1;
	h->source = self->caddr.sin_port;
	h->dest = self->saddr.sin_port;
	h->seq = htonl(ci.etpi_snd_nxt - spec->seq_back);
	h->ack_seq = htonl(ci.etpi_rcv_nxt);
	h->doff_res = spec->doff << 4;
	h->flags = spec->flags;
	h->window = htons(65535);
	memcpy(seg + sizeof(*h), payload, plen);
	h->check = 0;
	if (len >= 18) {
		h->check = etp_csum(&self->caddr, &self->saddr, seg, len);
		if (spec->bad_csum)
			h->check ^= htons(0x5555);
	}
	n = sendto(self->raw, seg, len, 0, (struct sockaddr *)&self->saddr,
		   sizeof(self->saddr));
	return n;
}

/* Inject each spec, then check @counter rose by exactly that many. */
static void inject_and_count(struct __test_metadata *_metadata,
			     FIXTURE_DATA(mal) *self, const char *counter, const struct seg_spec *specs,
			     int nspecs)
{
	long long before = etp_stat(counter), after;
	char why[160] = "";
	int i;

	ASSERT_LE(0, before) TH_LOG("no counter %s in /proc/net/etp_stat", counter);
	for (i = 0; i < nspecs; i++) {
		ASSERT_LE(0, inject(self, &specs[i], "EVIL"))
			TH_LOG("sendto: %s", strerror(errno));
	}
	after = etp_wait_stat(counter, before + nspecs, 2000);
	etp_sleep_ms(50);	/* anything counted twice would show now */
	after = etp_stat(counter);
	EXPECT_EQ(before + nspecs, after) TH_LOG("%s", counter);

	/* The connection did not notice. */
	EXPECT_EQ(ETP_ESTABLISHED, etp_state(self->s));
	EXPECT_EQ(ETP_ESTABLISHED, etp_state(self->c));
	EXPECT_EQ(0, etp_exchange(self->c, self->s, 65536, 42, 20000, why,
				  sizeof(why))) TH_LOG("after injection: %s", why);
}

#define F_FIN	ETP_FLAG_FIN
#define F_SYN	ETP_FLAG_SYN
#define F_RST	ETP_FLAG_RST
#define F_PSH	ETP_FLAG_PSH
#define F_ACK	ETP_FLAG_ACK
#define F_URG	ETP_FLAG_URG

/*
 * Control: the same construction without a defect reaches the connection,
 * which shows the 4-tuple, sequence numbers and checksum of the others are
 * right. It repeats the last 4 bytes the client really sent, so the server
 * sees an old duplicate (RFC 9293, 3.10.7.4: not acceptable, answered with
 * an ACK and counted InUnacceptable) and the two ends stay in step. (Data
 * the client never sent would push the server's rcv_nxt past the client's
 * snd_nxt, and each end would answer the other's ACKs forever.)
 */
TEST_F(mal, control_well_formed_duplicate_reaches_connection)
{
	struct seg_spec dup = { .flags = F_ACK | F_PSH, .doff = 5, .seq_back = 4 };
	long long before, csum = etp_stat("InCsumErrors"), flags = etp_stat("InBadFlags");
	char buf[8] = "", why[160] = "";

	ASSERT_EQ(4, send(self->c, "ABCD", 4, 0));
	ASSERT_EQ(0, etp_recv_all(self->s, buf, 4));
	/* Let the server's ACK arrive, so snd_nxt and snd_una agree. */
	etp_sleep_ms(50);
	before = etp_stat("InUnacceptable");
	ASSERT_EQ(24, inject(self, &dup, "ABCD"));
	EXPECT_EQ(before + 1, etp_wait_stat("InUnacceptable", before + 1, 2000));
	etp_sleep_ms(50);
	EXPECT_EQ(before + 1, etp_stat("InUnacceptable"));
	EXPECT_EQ(csum, etp_stat("InCsumErrors"));
	EXPECT_EQ(flags, etp_stat("InBadFlags"));
	EXPECT_EQ(-1, recv(self->s, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, etp_exchange(self->c, self->s, 65536, 41, 20000, why,
				  sizeof(why))) TH_LOG("after the duplicate: %s", why);
}

/*
 * Out of order, in reverse: segments 19..1 of a 200-byte message the
 * client is about to send arrive first, last one first (the worst order
 * for a sorted queue); then the client sends the whole message and the
 * server reads it once, in order, with nothing left queued.
 */
TEST_F(mal, reverse_order_segments_wait_then_reassemble)
{
	long long ooo = etp_stat("InOutOfOrder");
	char msg[201], piece[11], buf[201] = "";
	struct etp_info si;
	int i;

	for (i = 0; i < 200; i++)
		msg[i] = 'a' + (i * 7) % 26;
	msg[200] = 0;
	for (i = 19; i >= 1; i--) {
		struct seg_spec spec = { .flags = F_ACK | F_PSH, .doff = 5,
					 .seq_back = (uint32_t)-(10 * i) };

		memcpy(piece, msg + 10 * i, 10);
		piece[10] = 0;
		ASSERT_EQ(30, inject(self, &spec, piece));
	}
	EXPECT_EQ(ooo + 19, etp_wait_stat("InOutOfOrder", ooo + 19, 2000));
	ASSERT_EQ(0, etp_get_info(self->s, &si));
	EXPECT_EQ(190u, si.etpi_ooo_bytes);
	EXPECT_EQ(-1, recv(self->s, buf, sizeof(buf), MSG_DONTWAIT));
	ASSERT_EQ(200, send(self->c, msg, 200, 0));
	ASSERT_EQ(0, etp_recv_all(self->s, buf, 200));
	EXPECT_EQ(0, memcmp(buf, msg, 200));
	ASSERT_EQ(0, etp_get_info(self->s, &si));
	EXPECT_EQ(0u, si.etpi_ooo_bytes);
	EXPECT_EQ(-1, recv(self->s, buf, sizeof(buf), MSG_DONTWAIT));
}

TEST_F(mal, short_header_dropped_counted_connection_unharmed)
{
	const struct seg_spec specs[] = {
		{ .flags = F_ACK, .doff = 5, .len = 19 },
		{ .flags = F_ACK, .doff = 5, .len = 12 },
		{ .flags = F_ACK, .doff = 5, .len = 3 },
	};

	inject_and_count(_metadata, self, "InShortHeader", specs, 3);
}

TEST_F(mal, data_offset_below_five_dropped_counted_connection_unharmed)
{
	const struct seg_spec specs[] = {
		{ .flags = F_ACK | F_PSH, .doff = 4 },
		{ .flags = F_ACK | F_PSH, .doff = 1 },
		{ .flags = F_ACK | F_PSH, .doff = 0 },
	};

	inject_and_count(_metadata, self, "InBadDoff", specs, 3);
}

TEST_F(mal, data_offset_past_segment_dropped_counted_connection_unharmed)
{
	const struct seg_spec specs[] = {
		/* 60-byte header claimed, 24 bytes sent */
		{ .flags = F_ACK | F_PSH, .doff = 15 },
		/* 24-byte header claimed, exactly 20 bytes sent */
		{ .flags = F_ACK, .doff = 6, .len = 20 },
	};

	inject_and_count(_metadata, self, "InBadDoff", specs, 2);
}

TEST_F(mal, bad_checksum_dropped_counted_connection_unharmed)
{
	const struct seg_spec specs[] = {
		{ .flags = F_ACK | F_PSH, .doff = 5, .bad_csum = true },
		/* a FIN with a bad checksum must not half-close us */
		{ .flags = F_ACK | F_FIN, .doff = 5, .bad_csum = true },
		/* nor a RST */
		{ .flags = F_RST, .doff = 5, .bad_csum = true },
	};

	inject_and_count(_metadata, self, "InCsumErrors", specs, 3);
}

TEST_F(mal, syn_fin_dropped_counted_connection_unharmed)
{
	const struct seg_spec specs[] = {
		{ .flags = F_SYN | F_FIN, .doff = 5 },
		{ .flags = F_SYN | F_FIN | F_ACK, .doff = 5 },
	};

	inject_and_count(_metadata, self, "InBadFlags", specs, 2);
}

TEST_F(mal, syn_rst_dropped_counted_connection_unharmed)
{
	const struct seg_spec specs[] = {
		{ .flags = F_SYN | F_RST, .doff = 5 },
		{ .flags = F_SYN | F_RST | F_ACK, .doff = 5 },
	};

	inject_and_count(_metadata, self, "InBadFlags", specs, 2);
}

TEST_F(mal, no_syn_ack_rst_dropped_counted_connection_unharmed)
{
	const struct seg_spec specs[] = {
		{ .flags = 0, .doff = 5 },
		{ .flags = F_PSH, .doff = 5 },
		{ .flags = F_FIN, .doff = 5 },	/* would half-close if taken */
		{ .flags = F_URG | F_PSH | F_FIN, .doff = 5 },
	};

	inject_and_count(_metadata, self, "InBadFlags", specs, 4);
}

TEST_F_TIMEOUT(mal, every_kind_in_a_row_then_large_transfer_byte_exact, 120)
{
	const struct seg_spec specs[] = {
		{ .flags = F_ACK, .doff = 5, .len = 19 },
		{ .flags = F_ACK | F_PSH, .doff = 3 },
		{ .flags = F_ACK | F_PSH, .doff = 12 },
		{ .flags = F_ACK | F_PSH, .doff = 5, .bad_csum = true },
		{ .flags = F_SYN | F_FIN, .doff = 5 },
		{ .flags = F_SYN | F_RST, .doff = 5 },
		{ .flags = F_FIN, .doff = 5 },
	};
	const char *counters[] = { "InShortHeader", "InBadDoff", "InCsumErrors",
				   "InBadFlags" };
	const int expect[] = { 1, 2, 1, 3 };
	long long before[4];
	char why[160] = "";
	int i;

	for (i = 0; i < 4; i++)
		before[i] = etp_stat(counters[i]);
	for (i = 0; i < (int)(sizeof(specs) / sizeof(specs[0])); i++) {
		ASSERT_LE(0, inject(self, &specs[i], "EVIL"));
	}
	etp_wait_stat("InBadFlags", before[3] + 3, 2000);
	etp_sleep_ms(50);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(before[i] + expect[i], etp_stat(counters[i]))
			TH_LOG("%s", counters[i]);
	}
	EXPECT_EQ(0, etp_exchange(self->c, self->s, 2 << 20, 43, 100000, why,
				  sizeof(why))) TH_LOG("%s", why);
}

TEST_HARNESS_MAIN

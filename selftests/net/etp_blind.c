// SPDX-License-Identifier: GPL-2.0
/*
 * Blind attacks on an established connection (RFC 5961): an attacker
 * who knows the addresses and ports but not the sequence numbers sends
 * RSTs, SYNs and data with guessed numbers, from the client's namespace,
 * forging the client's address and port.
 *
 *   netns etpbl-PID-s                netns etpbl-PID-c
 *   +----------------------+         +-------------------------------+
 *   | listener, server s   |  veth   | client c                      |
 *   | (the victim)         |<=======>| raw socket, IP_HDRINCL: the   |
 *   | 10.253.62.1/24       |         | attacker, as c's address and  |
 *   +----------------------+         | port; 10.253.62.2/24          |
 *                                    +-------------------------------+
 *
 * Only a RST whose sequence number is exactly rcv_nxt may reset the
 * connection. Any other RST in the window and any SYN get a challenge
 * ACK, at most one per half second per connection (protocol.rst,
 * "Defences"); segments outside the window are dropped; data whose ACK
 * field is not acceptable never reaches the receive queue. After each
 * attack the victim's rcv_nxt and snd_una are what they were, nothing is
 * queued, and the connection carries data both ways byte for byte.
 *
 * The large attack: 100000 segments, a third each RST, SYN and data,
 * 90% with uniformly random sequence numbers and 10% guessed inside the
 * window (so the challenge-ACK path is exercised thousands of times, not
 * a handful); a data segment's ACK number is random outside the range the
 * receiver accepts (a guess that hit that range, one in 2^13, would be a
 * real injection RFC 5961 allows, not a blind one), and no RST carries
 * exactly rcv_nxt. Challenge ACKs are counted against the elapsed time.
 */
#define _GNU_SOURCE
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include "etp_raw.h"
#include "kselftest_harness.h"

#define SADDR	"10.253.62.1"
#define CADDR	"10.253.62.2"
#define BATCH	64
/* 500 ms per connection: at most 2 a second, +1 for the first, +2 slack. */
#define CHALLENGE_BOUND(secs)	((long long)(2 * (secs)) + 3)

FIXTURE(blind) {
	int lfd, c, s, raw;
	char ns_s[64], ns_c[64];
	struct sockaddr_in caddr, saddr;
	struct etp_info si;	/* the victim before the attack */
};

static int enter(const char *ns)
{
	return etp_enter_netns(ns);
}

FIXTURE_SETUP(blind)
{
	char why[160] = "";
	unsigned short port;
	socklen_t len;
	int i;

	self->lfd = self->c = self->s = self->raw = -1;
	snprintf(self->ns_s, sizeof(self->ns_s), "etpbl-%d-s", getpid());
	snprintf(self->ns_c, sizeof(self->ns_c), "etpbl-%d-c", getpid());
	ASSERT_EQ(0, etp_netns_veth(self->ns_s, SADDR, self->ns_c, CADDR));
	ASSERT_EQ(0, enter(self->ns_s));
	self->lfd = etp_listener(SADDR, &port);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, enter(self->ns_c));
	for (i = 0; i < 50; i++) {
		self->c = etp_socket();
		ASSERT_LE(0, self->c);
		if (!etp_connect(self->c, SADDR, port))
			break;
		close(self->c);
		self->c = -1;
		etp_sleep_ms(100);
	}
	ASSERT_LE(0, self->c);
	self->s = etp_accept_timeout(self->lfd, ETP_IO_TIMEOUT_MS);
	ASSERT_LE(0, self->s);
	self->raw = etp_raw_socket(true);
	ASSERT_LE(0, self->raw);
	len = sizeof(self->caddr);
	ASSERT_EQ(0, getsockname(self->c, (struct sockaddr *)&self->caddr, &len));
	len = sizeof(self->saddr);
	ASSERT_EQ(0, getpeername(self->c, (struct sockaddr *)&self->saddr, &len));
	/* Counters are read in the victim's namespace. */
	ASSERT_EQ(0, enter(self->ns_s));
	/* Windows open, RTT known; then quiet, everything acknowledged. */
	ASSERT_EQ(0, etp_exchange(self->c, self->s, 256 << 10, 11, 30000, why,
				  sizeof(why))) TH_LOG("%s", why);
	for (i = 0; i < 200; i++) {
		struct etp_info ci;

		ASSERT_EQ(0, etp_get_info(self->s, &self->si));
		ASSERT_EQ(0, etp_get_info(self->c, &ci));
		if (self->si.etpi_snd_una == self->si.etpi_snd_nxt &&
		    ci.etpi_snd_una == ci.etpi_snd_nxt &&
		    ci.etpi_snd_nxt == self->si.etpi_rcv_nxt)
			break;
		etp_sleep_ms(10);
	}
	ASSERT_EQ(self->si.etpi_snd_una, self->si.etpi_snd_nxt);
	ASSERT_EQ(ETP_ESTABLISHED, self->si.etpi_state);
	ASSERT_LT(0, self->si.etpi_rcv_wnd);
}

FIXTURE_TEARDOWN(blind)
{
	if (self->raw >= 0)
		close(self->raw);
	etp_close_abort(self->c);
	etp_close_abort(self->s);
	if (self->lfd >= 0)
		close(self->lfd);
	etp_netns_del(self->ns_s, self->ns_c);
}

struct forged {
	uint8_t buf[BATCH][20 + ETP_HDR_LEN + 64];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	int n;
};

/* Queue one segment as the client would send it to the server. */
static void forge(FIXTURE_DATA(blind) *self, struct forged *f, uint8_t flags,
		  uint32_t seq, uint32_t ack, size_t plen)
{
	static const uint8_t inject[65] = "INJECTED DATA FROM A BLIND ATTACKER!"
					  "INJECTED DATA FROM A BLIND AT";
	struct etp_seg_spec s = {
		.saddr = self->caddr.sin_addr.s_addr,
		.daddr = self->saddr.sin_addr.s_addr,
		.sport = ntohs(self->caddr.sin_port),
		.dport = ntohs(self->saddr.sin_port),
		.seq = seq, .ack = ack, .flags = flags, .window = 65535,
		.payload = inject, .plen = plen,
	};
	struct etp_ip_spec ip = { .saddr = s.saddr, .daddr = s.daddr };
	uint8_t *b = f->buf[f->n];
	size_t len = etp_seg_build(b + 20, &s);

	etp_ip_build(b, &ip, len);
	f->iov[f->n].iov_base = b;
	f->iov[f->n].iov_len = 20 + len;
	memset(&f->msg[f->n], 0, sizeof(f->msg[f->n]));
	f->msg[f->n].msg_hdr.msg_name = &self->saddr;
	f->msg[f->n].msg_hdr.msg_namelen = sizeof(self->saddr);
	f->msg[f->n].msg_hdr.msg_iov = &f->iov[f->n];
	f->msg[f->n].msg_hdr.msg_iovlen = 1;
	f->n++;
}

/*
 * Send what is queued; a segment that did not leave (dropped by a full
 * queue, or an ICMP error reported in its place) is sent again.
 */
static int flush(FIXTURE_DATA(blind) *self, struct forged *f)
{
	int done = 0, errors = 0;

	while (done < f->n) {
		int k = sendmmsg(self->raw, f->msg + done, f->n - done, 0);

		if (k < 0) {
			if (errno == EBADF || errno == EFAULT || errno == EINVAL ||
			    ++errors > 1000)
				return -1;
			etp_sleep_ms(1);
			continue;
		}
		done += k;
	}
	f->n = 0;
	return 0;
}

static void forge_one(FIXTURE_DATA(blind) *self, uint8_t flags, uint32_t seq,
		      uint32_t ack, size_t plen)
{
	struct forged f = { .n = 0 };

	forge(self, &f, flags, seq, ack, plen);
	flush(self, &f);
}

/* Wait until the victim's namespace has received @n more segments. */
static void wait_insegs(long long base, long long n)
{
	etp_wait_stat("InSegs", base + n, 20000);
	etp_sleep_ms(100);	/* and answered them */
}

/* The victim is as it was: same numbers, nothing queued, still works. */
static void victim_unharmed(struct __test_metadata *_metadata,
			    FIXTURE_DATA(blind) *self, uint32_t seed)
{
	struct etp_info si, ci;
	char why[160] = "", b;
	int inq = -1;

	ASSERT_EQ(0, etp_get_info(self->s, &si));
	EXPECT_EQ(ETP_ESTABLISHED, si.etpi_state)
		TH_LOG("victim in %s", etp_state_name(si.etpi_state));
	EXPECT_EQ(self->si.etpi_rcv_nxt, si.etpi_rcv_nxt)
		TH_LOG("rcv_nxt moved by %d: data was injected",
		       (int)(si.etpi_rcv_nxt - self->si.etpi_rcv_nxt));
	EXPECT_EQ(self->si.etpi_snd_una, si.etpi_snd_una);
	EXPECT_EQ(self->si.etpi_snd_nxt, si.etpi_snd_nxt);
	EXPECT_EQ(self->si.etpi_bytes_received, si.etpi_bytes_received);
	EXPECT_EQ(0, ioctl(self->s, SIOCINQ, &inq));
	EXPECT_EQ(0, inq);
	EXPECT_EQ(-1, recv(self->s, &b, 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, etp_get_info(self->c, &ci));
	EXPECT_EQ(ETP_ESTABLISHED, ci.etpi_state);
	EXPECT_EQ(0, etp_exchange(self->c, self->s, 1 << 20, seed, 60000, why,
				  sizeof(why))) TH_LOG("after the attack: %s", why);
}

static uint32_t in_window(struct etp_rng *r, const struct etp_info *si,
			  uint32_t len)
{
	uint32_t wnd = si->etpi_rcv_wnd;

	/* seq in [rcv_nxt + 1, rcv_nxt + wnd - len]: inside, never exact */
	return si->etpi_rcv_nxt + 1 + etp_rng_below(r, wnd > len + 1 ? wnd - len - 1 : 1);
}

/* An ACK number the victim does not accept (RFC 5961, 5.2). */
static uint32_t bad_ack(struct etp_rng *r, const struct etp_info *si)
{
	/* acceptable: [snd_una - max_snd_wnd, snd_nxt]; windows < 2^21 here */
	uint32_t lo = si->etpi_snd_una - (1u << 21), hi = si->etpi_snd_nxt + (1u << 20);
	uint32_t a;

	do {
		a = etp_rng32(r);
	} while (!etp_seq_after(lo, a) && !etp_seq_after(a, hi));
	return a;
}

TEST_F(blind, in_window_rst_not_exact_gets_one_challenge_ack_connection_survives)
{
	long long ch = etp_stat("InRsts"), ca = etp_stat("ChallengeAcks");
	long long in = etp_stat("InSegs");
	struct forged f = { .n = 0 };

	forge(self, &f, ETP_FLAG_RST, self->si.etpi_rcv_nxt + 1, 0, 0);
	forge(self, &f, ETP_FLAG_RST | ETP_FLAG_ACK,
	      self->si.etpi_rcv_nxt + self->si.etpi_rcv_wnd / 2,
	      self->si.etpi_snd_nxt, 0);
	ASSERT_EQ(0, flush(self, &f));
	wait_insegs(in, 2);
	EXPECT_EQ(ch + 2, etp_stat("InRsts"));
	/* The second comes within 500 ms of the first: not answered. */
	EXPECT_EQ(ca + 1, etp_stat("ChallengeAcks"));
	victim_unharmed(_metadata, self, 21);
}

TEST_F(blind, rsts_outside_window_dropped_without_answer)
{
	long long ca = etp_stat("ChallengeAcks"), un = etp_stat("InUnacceptable");
	long long in = etp_stat("InSegs"), out = etp_stat("OutSegs");
	struct etp_rng r = { 22 };
	struct forged f = { .n = 0 };
	int i;

	for (i = 0; i < 1000; i++) {
		/* at least 2^30 away from rcv_nxt */
		forge(self, &f, ETP_FLAG_RST, self->si.etpi_rcv_nxt + (1u << 30) +
		      etp_rng_below(&r, 1u << 31), 0, 0);
		if (f.n == BATCH)
			ASSERT_EQ(0, flush(self, &f));
	}
	ASSERT_EQ(0, flush(self, &f));
	wait_insegs(in, 1000);
	EXPECT_EQ(un + 1000, etp_stat("InUnacceptable"));
	EXPECT_EQ(ca, etp_stat("ChallengeAcks"));
	EXPECT_EQ(out, etp_stat("OutSegs")) TH_LOG("RSTs outside the window were answered");
	victim_unharmed(_metadata, self, 22);
}

TEST_F(blind, syn_on_established_gets_challenge_ack_not_reset)
{
	long long ca = etp_stat("ChallengeAcks"), er = etp_stat("EstabResets");
	long long in = etp_stat("InSegs");

	forge_one(self, ETP_FLAG_SYN, self->si.etpi_rcv_nxt + 100, 0, 0);
	wait_insegs(in, 1);
	EXPECT_EQ(ca + 1, etp_stat("ChallengeAcks"));
	EXPECT_EQ(er, etp_stat("EstabResets"));
	victim_unharmed(_metadata, self, 23);
}

/*
 * @n segments built by @make, sent at once; the challenge ACKs they draw
 * must stay within the rate limit for the time they took.
 */
static void challenge_burst(struct __test_metadata *_metadata,
			    FIXTURE_DATA(blind) *self, int n, int kind)
{
	long long ca = etp_stat("ChallengeAcks"), in = etp_stat("InSegs"), got;
	long long out = etp_stat("OutSegs");
	struct etp_rng r = { 24 + kind };
	struct forged f = { .n = 0 };
	double t0 = etp_now_s(), dt;
	int i;

	for (i = 0; i < n; i++) {
		if (kind == 0)
			forge(self, &f, ETP_FLAG_RST, in_window(&r, &self->si, 0), 0, 0);
		else if (kind == 1)
			forge(self, &f, ETP_FLAG_SYN, in_window(&r, &self->si, 0), 0, 0);
		else	/* data in the window, ACK far below snd_una */
			forge(self, &f, ETP_FLAG_ACK | ETP_FLAG_PSH,
			      in_window(&r, &self->si, 32),
			      self->si.etpi_snd_una - (1u << 22) - etp_rng_below(&r, 1u << 20), 32);
		if (f.n == BATCH)
			ASSERT_EQ(0, flush(self, &f));
	}
	ASSERT_EQ(0, flush(self, &f));
	wait_insegs(in, n);
	dt = etp_now_s() - t0;
	got = etp_stat("ChallengeAcks") - ca;
	TH_LOG("%d segments in %.2f s: %lld challenge ACKs, %lld segments sent by the victim (bound %lld)",
	       n, dt, got, etp_stat("OutSegs") - out, CHALLENGE_BOUND(dt));
	EXPECT_LT(0, got);
	EXPECT_GE(CHALLENGE_BOUND(dt), got);
	victim_unharmed(_metadata, self, 24 + kind);
}

TEST_F(blind, challenge_acks_rate_limited_in_window_rsts)
{
	challenge_burst(_metadata, self, 500, 0);
}

TEST_F(blind, challenge_acks_rate_limited_in_window_syns)
{
	challenge_burst(_metadata, self, 500, 1);
}

/* RFC 5961, 5.2 and 7: a data segment with an old ACK is challenged too. */
TEST_F(blind, challenge_acks_rate_limited_in_window_data_with_old_ack)
{
	challenge_burst(_metadata, self, 500, 2);
}

TEST_F(blind, exact_sequence_rst_resets_econnreset)
{
	long long er = etp_stat("EstabResets"), in = etp_stat("InSegs");
	char b;

	forge_one(self, ETP_FLAG_RST, self->si.etpi_rcv_nxt, 0, 0);
	wait_insegs(in, 1);
	EXPECT_EQ(-1, recv(self->s, &b, 1, 0));
	EXPECT_EQ(ECONNRESET, errno) TH_LOG("recv: %s", strerror(errno));
	EXPECT_EQ(ETP_CLOSE, etp_state(self->s));
	EXPECT_EQ(er + 1, etp_stat("EstabResets"));
}

#define BLIND_COUNT	100000

TEST_F_TIMEOUT(blind, blind_100000_rst_syn_data_connection_survives_then_exact_rst_resets, 300)
{
	const char *names[] = { "ChallengeAcks", "InRsts", "InUnacceptable",
				"InAckUnsent", "EstabResets", "OutSegs" };
	long long before[6], in = etp_stat("InSegs"), ca;
	unsigned long kinds[3][2] = { { 0 } };	/* [RST, SYN, data][random, in window] */
	struct etp_rng r = { 0 };
	struct forged f = { .n = 0 };
	struct timespec ts;
	double t0, dt;
	char b;
	int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	r.s = ts.tv_nsec;
	TH_LOG("seed %llu", (unsigned long long)r.s);
	for (i = 0; i < 6; i++)
		before[i] = etp_stat(names[i]);

	t0 = etp_now_s();
	for (i = 0; i < BLIND_COUNT; i++) {
		int kind = i % 3;
		bool inwin = etp_rng_pct(&r, 10);
		size_t plen = kind == 2 ? 1 + etp_rng_below(&r, 64) : 0;
		uint32_t seq;

		if (inwin) {
			seq = in_window(&r, &self->si, plen);
		} else {
			do {
				seq = etp_rng32(&r);
			} while (seq == self->si.etpi_rcv_nxt);
		}
		kinds[kind][inwin]++;
		if (kind == 0)
			forge(self, &f, etp_rng_pct(&r, 50) ? ETP_FLAG_RST :
				ETP_FLAG_RST | ETP_FLAG_ACK, seq, etp_rng32(&r), 0);
		else if (kind == 1)
			forge(self, &f, ETP_FLAG_SYN, seq, 0, 0);
		else
			forge(self, &f, ETP_FLAG_ACK | ETP_FLAG_PSH, seq,
			      bad_ack(&r, &self->si), plen);
		if (f.n == BATCH)
			ASSERT_EQ(0, flush(self, &f));
	}
	ASSERT_EQ(0, flush(self, &f));
	wait_insegs(in, BLIND_COUNT);
	dt = etp_now_s() - t0;

	TH_LOG("%d forged segments in %.2f s (%.0f/s): RST %lu+%lu, SYN %lu+%lu, data %lu+%lu (random + in window)",
	       BLIND_COUNT, dt, BLIND_COUNT / dt, kinds[0][0], kinds[0][1],
	       kinds[1][0], kinds[1][1], kinds[2][0], kinds[2][1]);
	for (i = 0; i < 6; i++)
		TH_LOG("%s +%lld", names[i], etp_stat(names[i]) - before[i]);
	ca = etp_stat("ChallengeAcks") - before[0];
	TH_LOG("challenge ACKs %lld in %.2f s, bound %lld (2 per second + 3)", ca, dt,
	       CHALLENGE_BOUND(dt));
	/*
	 * Challenge ACKs share their per-socket budget with the answers to
	 * out-of-window SYNs and to ACKs of unsent data (as in Linux TCP):
	 * under a random flood any of those may take a slot, so only the
	 * bound is checked here; challenge_burst() checks that they are sent.
	 */
	EXPECT_GE(CHALLENGE_BOUND(dt), ca);
	EXPECT_EQ(before[4], etp_stat("EstabResets"));
	victim_unharmed(_metadata, self, 31);

	/* The one RST that counts. */
	ASSERT_EQ(0, etp_get_info(self->s, &self->si));
	in = etp_stat("InSegs");
	forge_one(self, ETP_FLAG_RST, self->si.etpi_rcv_nxt, 0, 0);
	wait_insegs(in, 1);
	EXPECT_EQ(-1, recv(self->s, &b, 1, 0));
	EXPECT_EQ(ECONNRESET, errno) TH_LOG("recv: %s", strerror(errno));
	EXPECT_EQ(before[4] + 1, etp_stat("EstabResets"));
}

TEST_HARNESS_MAIN

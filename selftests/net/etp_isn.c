// SPDX-License-Identifier: GPL-2.0
/*
 * Initial sequence numbers (RFC 6528): ISN = a keyed hash of the 4-tuple
 * plus a clock ticking every 64 ns (protocol.rst, "Defences").
 *
 * Same 4-tuple: a client bound to one port with SO_REUSEADDR connects to
 * one listener again and again; the old connection is gone because
 *   rst_close          the client closed it with a RST (SO_LINGER 0),
 *   time_wait_client   the client closed first and its TIME_WAIT, 2 *
 *                      net.etp.msl_ms = 40 ms, ran out, or
 *   time_wait_server   the server closed first: the new SYN finds the
 *                      server's TIME_WAIT entry and may reuse the 4-tuple
 *                      only because its sequence number is higher.
 * Both ends' ISNs (etpi_iss) must increase, and minus the clock (read
 * before and after each connect()) they must be the same number each
 * time: what is left of the ISN is a function of the 4-tuple alone, and
 * the clock runs at 1/64 ns.
 *
 * Different 4-tuples: 64 connections from different ports. Their ISNs
 * minus the clock must be spread over the sequence space (a clock or a
 * counter alone would leave them all close together), and the ISNs must
 * not form an arithmetic sequence.
 *
 * Everything runs on 127.0.0.1 in a private network namespace.
 */
#define _GNU_SOURCE
#include "etp_raw.h"
#include "kselftest_harness.h"

#define ROUNDS	16

enum close_mode { RST_CLOSE, TW_CLIENT, TW_SERVER };

static long long real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct isn_sample {
	uint32_t ciss, siss;	/* client's and server's ISN */
	long long t0, t1;	/* CLOCK_REALTIME around connect() */
};

FIXTURE(same) {
	int lfd;
	unsigned short sport, cport;
};

FIXTURE_VARIANT(same) {
	enum close_mode mode;
};

FIXTURE_VARIANT_ADD(same, rst_close) { .mode = RST_CLOSE };
FIXTURE_VARIANT_ADD(same, time_wait_client) { .mode = TW_CLIENT };
FIXTURE_VARIANT_ADD(same, time_wait_server) { .mode = TW_SERVER };

FIXTURE_SETUP(same)
{
	ASSERT_EQ(0, etp_private_netns());
	ASSERT_EQ(0, etp_sysctl_set("msl_ms", "20"));
	self->lfd = etp_listener("127.0.0.1", &self->sport);
	ASSERT_LE(0, self->lfd);
	self->cport = 0;
}

FIXTURE_TEARDOWN(same)
{
	close(self->lfd);
}

/* One connection from 127.0.0.1:cport (0: pick one and remember it). */
static int one_connection(FIXTURE_DATA(same) *self, enum close_mode mode,
			  struct isn_sample *smp, char *why, size_t wl)
{
	struct etp_info ci, si;
	int c, s, one = 1;
	char b = 'i';

	c = etp_socket();
	if (c < 0 || setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    etp_bind(c, "127.0.0.1", self->cport)) {
		snprintf(why, wl, "bind 127.0.0.1:%u: %s", self->cport, strerror(errno));
		return -1;
	}
	self->cport = etp_local_port(c);
	smp->t0 = real_ns();
	if (etp_connect(c, "127.0.0.1", self->sport)) {
		snprintf(why, wl, "connect from port %u: %s", self->cport,
			 strerror(errno));
		close(c);
		return -1;
	}
	smp->t1 = real_ns();
	s = etp_accept_timeout(self->lfd, ETP_IO_TIMEOUT_MS);
	if (s < 0 || etp_get_info(c, &ci) || etp_get_info(s, &si) ||
	    send(c, &b, 1, 0) != 1 || recv(s, &b, 1, 0) != 1) {
		snprintf(why, wl, "accept or first byte: %s", strerror(errno));
		etp_close_abort(c);
		etp_close_abort(s);
		return -1;
	}
	smp->ciss = ci.etpi_iss;
	smp->siss = si.etpi_iss;
	switch (mode) {
	case RST_CLOSE:
		etp_close_abort(c);
		close(s);
		break;
	case TW_CLIENT:
		close(c);
		etp_wait_state(s, ETP_CLOSE_WAIT, 2000);
		close(s);
		/* TIME_WAIT (40 ms) must end before the 4-tuple is free. */
		etp_wait_proc_state(self->cport, self->sport, -1, 2000);
		break;
	case TW_SERVER:
		close(s);
		etp_wait_state(c, ETP_CLOSE_WAIT, 2000);
		close(c);
		/* The client's last ACK puts the server in TIME_WAIT... */
		etp_wait_proc_state(self->sport, self->cport, ETP_TIME_WAIT, 2000);
		/* ...and the server's ACK of its FIN closes the client. */
		etp_wait_proc_state(self->cport, self->sport, -1, 2000);
		break;
	}
	return 0;
}

TEST_F(same, isns_increase_and_follow_the_64ns_clock)
{
	struct isn_sample smp[ROUNDS];
	char why[160] = "";
	int k;

	for (k = 0; k < ROUNDS; k++) {
		ASSERT_EQ(0, one_connection(self, variant->mode, &smp[k], why,
					    sizeof(why))) TH_LOG("round %d: %s", k, why);
		if (variant->mode == TW_SERVER && k + 1 < ROUNDS) {
			/* the next SYN meets the server's TIME_WAIT entry */
			EXPECT_EQ(ETP_TIME_WAIT, etp_proc_state(self->sport, self->cport));
		}
	}
	TH_LOG("4-tuple 127.0.0.1:%u -> 127.0.0.1:%u, client ISNs %u %u %u %u ...",
	       self->cport, self->sport, smp[0].ciss, smp[1].ciss, smp[2].ciss,
	       smp[3].ciss);
	for (k = 1; k < ROUNDS; k++) {
		/* the clock's ticks between the two connect()s, at least and at most */
		long long lo = (smp[k].t0 - smp[0].t1) / 64 - 1;
		long long hi = (smp[k].t1 - smp[0].t0) / 64 + 1;
		uint32_t dc = smp[k].ciss - smp[0].ciss, ds = smp[k].siss - smp[0].siss;

		EXPECT_TRUE(etp_seq_after(smp[k].ciss, smp[k - 1].ciss))
			TH_LOG("client ISN %u after %u", smp[k].ciss, smp[k - 1].ciss);
		EXPECT_TRUE(etp_seq_after(smp[k].siss, smp[k - 1].siss))
			TH_LOG("server ISN %u after %u", smp[k].siss, smp[k - 1].siss);
		EXPECT_TRUE(dc >= lo && dc <= hi)
			TH_LOG("round %d: client ISN moved %u, the clock %lld..%lld", k, dc, lo, hi);
		EXPECT_TRUE(ds >= lo && ds <= hi)
			TH_LOG("round %d: server ISN moved %u, the clock %lld..%lld", k, ds, lo, hi);
	}
}

/*
 * The span of @n values on the circle of 2^32: 2^32 minus the largest gap
 * between neighbours (all equal: 0; uniform random: most of 2^32).
 */
static uint64_t circular_span(uint32_t *v, int n)
{
	uint64_t gap = 0;
	int i, j;

	for (i = 1; i < n; i++)		/* insertion sort, n is small */
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint32_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	for (i = 1; i < n; i++)
		if (v[i] - v[i - 1] > gap)
			gap = v[i] - v[i - 1];
	if ((uint64_t)v[0] + (1ULL << 32) - v[n - 1] > gap)
		gap = (uint64_t)v[0] + (1ULL << 32) - v[n - 1];
	return (1ULL << 32) - gap;
}

TEST(different_4tuples_get_unrelated_isns)
{
	enum { N = 64 };
	uint32_t ch[N], sh[N], cd[N], sd[N];
	int lfd, i, cdistinct = 0, sdistinct = 0, j;
	unsigned short port;
	uint64_t cspan, sspan;

	ASSERT_EQ(0, etp_private_netns());
	lfd = etp_listener("127.0.0.1", &port);
	ASSERT_LE(0, lfd);
	for (i = 0; i < N; i++) {
		struct etp_info ci, si;
		long long t0, t1;
		int c = etp_socket(), s;

		ASSERT_LE(0, c);
		t0 = real_ns();
		ASSERT_EQ(0, etp_connect(c, "127.0.0.1", port));
		t1 = real_ns();
		s = etp_accept_timeout(lfd, ETP_IO_TIMEOUT_MS);
		ASSERT_LE(0, s);
		ASSERT_EQ(0, etp_get_info(c, &ci));
		ASSERT_EQ(0, etp_get_info(s, &si));
		/* the ISN without the clock (within the connect()'s duration) */
		ch[i] = ci.etpi_iss - (uint32_t)(((t0 + t1) / 2) >> 6);
		sh[i] = si.etpi_iss - (uint32_t)(((t0 + t1) / 2) >> 6);
		cd[i] = ci.etpi_iss;
		sd[i] = si.etpi_iss;
		etp_close_abort(c);
		close(s);
	}
	close(lfd);
	/* Not an arithmetic sequence: the steps differ. */
	for (i = 2; i < N; i++) {
		bool cn = true, sn = true;

		for (j = 1; j < i; j++) {
			if (cd[i] - cd[i - 1] == cd[j] - cd[j - 1])
				cn = false;
			if (sd[i] - sd[i - 1] == sd[j] - sd[j - 1])
				sn = false;
		}
		cdistinct += cn;
		sdistinct += sn;
	}
	TH_LOG("client ISNs %u %u %u %u ...; server ISNs %u %u %u %u ...",
	       cd[0], cd[1], cd[2], cd[3], sd[0], sd[1], sd[2], sd[3]);
	EXPECT_LE(N / 2, cdistinct);
	EXPECT_LE(N / 2, sdistinct);
	cspan = circular_span(ch, N);
	sspan = circular_span(sh, N);
	TH_LOG("ISN minus clock spans %.1f%% (client) and %.1f%% (server) of the sequence space",
	       100.0 * cspan / (1ULL << 32), 100.0 * sspan / (1ULL << 32));
	/* 64 random points all inside half the circle: p = 64 / 2^63. */
	EXPECT_LT(1ULL << 31, cspan);
	EXPECT_LT(1ULL << 31, sspan);
}

TEST_HARNESS_MAIN

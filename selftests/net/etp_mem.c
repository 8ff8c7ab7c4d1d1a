// SPDX-License-Identifier: GPL-2.0
/*
 * The module-wide memory limit, net.etp.mem (pages: no pressure below the
 * first value, pressure above the second, nothing more charged above the
 * third), as tcp_mem is for TCP.
 *
 * PAIRS connections on loopback, each with 4 MiB send and receive buffers,
 * whose senders fill everything they may while nobody reads: without a
 * limit that is tens of MiB. With net.etp.mem = 128 256 512 the memory
 * the module holds (/proc/net/protocols, "memory" column, pages) stays
 * within the limit plus what each socket may always take (one skb per
 * queue, as in sk_mem_schedule), pressure is entered and counted
 * (MemoryPressures), and once readers read every stream completes byte for
 * byte; after close the module holds nothing. The control variant runs
 * the same load without the low limit and must use far more, which shows
 * that the limit, not the load, bounded it.
 *
 * Each CPU keeps up to net.core.mem_pcpu_rsv pages of the count to itself
 * before adding them to the global one that both the limit check and
 * /proc/net/protocols read, so the bound allows that much per CPU too.
 * The test runs in the initial namespace: net.etp.mem exists there only.
 */
#define _GNU_SOURCE
#include "etp_common.h"
#include "kselftest_harness.h"

#define PAIRS		4
#define BUF		(4 << 20)
#define LIMIT		512		/* pages: net.etp.mem's third value */
#define FILL_MS		4000
#define SEED		0x3e3

/* Each socket may always queue one skb beyond the limit: 64 KiB + skb. */
#define PER_SOCK_SLACK	20		/* pages */

struct saved {
	const char *path;
	char val[128];
};

static struct saved saved[] = {
	{ .path = "/proc/sys/net/etp/mem" },
	{ .path = "/proc/sys/net/etp/rmem_default" },
	{ .path = "/proc/sys/net/etp/wmem_default" },
	{ .path = "/proc/sys/net/etp/rto_max_ms" },
};

/* ETP's "memory" (pages) and "press" columns of /proc/net/protocols. */
static long proto_memory(bool *press)
{
	char buf[16384], *line;

	if (etp_read_file("/proc/net/protocols", buf, sizeof(buf)) <= 0)
		return -1;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char name[32], pr[8];
		long size, socks, mem;

		if (sscanf(line, "%31s %ld %ld %ld %7s", name, &size, &socks,
			   &mem, pr) == 5 && !strcmp(name, "ETP")) {
			if (press)
				*press = !strcmp(pr, "yes");
			return mem;
		}
	}
	return -1;
}

/* Pages the count may lag behind the truth: mem_pcpu_rsv on each CPU. */
static long pcpu_lag(void)
{
	char buf[64];

	if (etp_read_file("/proc/sys/net/core/mem_pcpu_rsv", buf, sizeof(buf)) <= 0)
		return -1;
	return atol(buf) * sysconf(_SC_NPROCESSORS_ONLN);
}

FIXTURE(mem) {
	int c[PAIRS], s[PAIRS];
	size_t sent[PAIRS];
	long max_pages;
	bool pressed;
	long long pressures;
};

FIXTURE_VARIANT(mem) {
	bool limited;
};

FIXTURE_VARIANT_ADD(mem, limit_512_pages) {
	.limited = true,
};

FIXTURE_VARIANT_ADD(mem, control_default_limit) {
	.limited = false,
};

FIXTURE_SETUP(mem)
{
	char val[32];
	size_t i;
	int p;

	for (i = 0; i < ARRAY_SIZE(saved); i++) {
		ASSERT_LT(0, etp_read_file(saved[i].path, saved[i].val,
					   sizeof(saved[i].val)))
			TH_LOG("cannot read %s", saved[i].path);
	}
	snprintf(val, sizeof(val), "%d", BUF);
	ASSERT_EQ(0, etp_sysctl_set("rmem_default", val));
	ASSERT_EQ(0, etp_sysctl_set("wmem_default", val));
	ASSERT_EQ(0, etp_sysctl_set("rto_max_ms", "1000"));
	if (variant->limited)
		ASSERT_EQ(0, etp_sysctl_set("mem", "128 256 512"));

	for (p = 0; p < PAIRS; p++) {
		ASSERT_EQ(0, etp_pair(&self->c[p], &self->s[p]));
		self->sent[p] = 0;
	}
	self->pressures = etp_stat("MemoryPressures");
}

FIXTURE_TEARDOWN(mem)
{
	size_t i;
	int p;

	for (p = 0; p < PAIRS; p++) {
		close(self->c[p]);
		close(self->s[p]);
	}
	for (i = 0; i < ARRAY_SIZE(saved); i++)
		etp_write_file(saved[i].path, saved[i].val);
}

/* Senders fill what they may for FILL_MS; track the module's memory. */
static void fill(struct __test_metadata *_metadata, FIXTURE_DATA(mem) *self)
{
	long long end = etp_now_ms() + FILL_MS;
	int p;

	self->max_pages = 0;
	self->pressed = false;
	while (etp_now_ms() < end) {
		bool press = false;
		long pages;

		for (p = 0; p < PAIRS; p++)
			ASSERT_EQ(0, etp_fill_until_blocked(self->c[p],
							    &self->sent[p], SEED + p));
		pages = proto_memory(&press);
		ASSERT_LE(0, pages);
		if (pages > self->max_pages)
			self->max_pages = pages;
		self->pressed |= press;
		etp_sleep_ms(20);
	}
}

TEST_F_TIMEOUT(mem, module_memory_bounded_then_streams_complete_then_freed, 240)
{
	long lag = pcpu_lag();
	long bound = LIMIT + lag + 2 * PAIRS * PER_SOCK_SLACK;
	char why[128];
	size_t total = 0;
	long pages;
	int p;

	ASSERT_LT(0, lag);
	fill(_metadata, self);
	for (p = 0; p < PAIRS; p++)
		total += self->sent[p];
	TH_LOG("%s: %d connections queued %zu KiB; module memory peaked at %ld pages (%ld KiB), limit %d pages, bound %ld pages (limit + %ld per-CPU + one skb per queue); pressure seen: %s, MemoryPressures +%lld",
	       variant->limited ? "net.etp.mem = 128 256 512" : "default net.etp.mem",
	       PAIRS, total >> 10, self->max_pages, self->max_pages * 4,
	       LIMIT, bound, lag, self->pressed ? "yes" : "no",
	       etp_stat("MemoryPressures") - self->pressures);

	if (variant->limited) {
		EXPECT_LE(self->max_pages, bound);
		EXPECT_LT(self->pressures, etp_stat("MemoryPressures"));
		/* Lift the limit: every stream must then complete. */
		ASSERT_EQ(0, etp_write_file(saved[0].path, saved[0].val));
	} else {
		/* Without the low limit the same load takes far more. */
		EXPECT_GT(self->max_pages, 2 * bound);
	}

	for (p = 0; p < PAIRS; p++) {
		size_t rcvd = 0;

		ASSERT_EQ(0, etp_finish_stream(self->c[p], self->s[p],
					       &self->sent[p], &rcvd,
					       self->sent[p] + (256 << 10),
					       SEED + p, 60000, why, sizeof(why)))
			TH_LOG("stream %d: %s", p, why);
	}
	for (p = 0; p < PAIRS; p++) {
		close(self->c[p]);
		close(self->s[p]);
		self->c[p] = self->s[p] = -1;
	}
	/*
	 * Closed in order (FIN both ways): nothing stays charged, but for
	 * what the CPUs have not handed back to the global count yet.
	 */
	pages = -1;
	for (p = 0; p < 200 && (pages = proto_memory(NULL)) > lag; p++)
		etp_sleep_ms(50);
	EXPECT_GE(lag, pages) TH_LOG("module still holds %ld pages after close", pages);
}

TEST_HARNESS_MAIN

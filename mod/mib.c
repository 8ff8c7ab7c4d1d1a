// SPDX-License-Identifier: GPL-2.0
/*
 * Per-namespace counters and /proc/net/etp_stat, printed netstat-style as
 * a line of names and a line of values.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>
#include "etp.h"

const char * const etp_mib_names[ETP_MIB_MAX] = {
	[ETP_MIB_INSEGS]		= "InSegs",
	[ETP_MIB_OUTSEGS]		= "OutSegs",
	[ETP_MIB_RETRANSSEGS]		= "RetransSegs",
	[ETP_MIB_INRSTS]		= "InRsts",
	[ETP_MIB_OUTRSTS]		= "OutRsts",
	[ETP_MIB_ACTIVEOPENS]		= "ActiveOpens",
	[ETP_MIB_PASSIVEOPENS]		= "PassiveOpens",
	[ETP_MIB_ATTEMPTFAILS]		= "AttemptFails",
	[ETP_MIB_ESTABRESETS]		= "EstabResets",
	[ETP_MIB_TIMEOUTS]		= "Timeouts",
	[ETP_MIB_INCSUMERRORS]		= "InCsumErrors",
	[ETP_MIB_INSHORTHEADER]		= "InShortHeader",
	[ETP_MIB_INBADDOFF]		= "InBadDoff",
	[ETP_MIB_INBADFLAGS]		= "InBadFlags",
	[ETP_MIB_INBADOPTIONS]		= "InBadOptions",
	[ETP_MIB_INNOSOCKET]		= "InNoSocket",
	[ETP_MIB_INUNACCEPTABLE]	= "InUnacceptable",
	[ETP_MIB_INOUTOFORDER]		= "InOutOfOrder",
	[ETP_MIB_INRCVBUFDROPS]		= "InRcvbufDrops",
	[ETP_MIB_INACKUNSENT]		= "InAckUnsent",
	[ETP_MIB_BACKLOGDROPS]		= "BacklogDrops",
	[ETP_MIB_LISTENOVERFLOWS]	= "ListenOverflows",
	[ETP_MIB_CHALLENGEACKS]		= "ChallengeAcks",
	[ETP_MIB_TIMEWAITCREATED]	= "TimeWaitCreated",
	[ETP_MIB_FASTRETRANS]		= "FastRetrans",
	[ETP_MIB_FASTRECOVERY]		= "FastRecovery",
	[ETP_MIB_INDUPACKS]		= "InDupAcks",
	[ETP_MIB_INDUPDATA]		= "InDupData",
	[ETP_MIB_OFODROPS]		= "OfoDrops",
	[ETP_MIB_ZEROWINDOWPROBES]	= "ZeroWindowProbes",
	[ETP_MIB_DELAYEDACKS]		= "DelayedAcks",
	[ETP_MIB_PMTUUPDATES]		= "PmtuUpdates",
	[ETP_MIB_ICMPIGNORED]		= "IcmpIgnored",
	[ETP_MIB_TIMEWAITOVERFLOW]	= "TimeWaitOverflow",
	[ETP_MIB_SYNCOOKIESSENT]	= "SynCookiesSent",
	[ETP_MIB_SYNCOOKIESRECV]	= "SynCookiesRecv",
	[ETP_MIB_SYNCOOKIESFAILED]	= "SynCookiesFailed",
	[ETP_MIB_MEMORYPRESSURES]	= "MemoryPressures",
};

static int etp_stat_show(struct seq_file *seq, void *v)
{
	struct net *net = seq_file_single_net(seq);
	struct etp_mib __percpu *mib = etp_pernet(net)->mib;
	int i, cpu;

	seq_puts(seq, "Etp:");
	for (i = 0; i < ETP_MIB_MAX; i++)
		seq_printf(seq, " %s", etp_mib_names[i]);
	seq_puts(seq, "\nEtp:");
	for (i = 0; i < ETP_MIB_MAX; i++) {
		unsigned long sum = 0;

		for_each_possible_cpu(cpu)
			sum += per_cpu_ptr(mib, cpu)->mibs[i];
		seq_printf(seq, " %lu", sum);
	}
	seq_putc(seq, '\n');
	return 0;
}

int etp_mib_proc_init(struct net *net)
{
	if (!proc_create_net_single("etp_stat", 0444, net->proc_net,
				    etp_stat_show, NULL))
		return -ENOMEM;
	return 0;
}

void etp_mib_proc_exit(struct net *net)
{
	remove_proc_entry("etp_stat", net->proc_net);
}

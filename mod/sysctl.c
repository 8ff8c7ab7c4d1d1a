// SPDX-License-Identifier: GPL-2.0
/*
 * net.etp.* sysctls, one copy per network namespace, so a test can shorten
 * TIME_WAIT or the retry limits inside its own namespace.
 */
#include <linux/sysctl.h>
#include <linux/slab.h>
#include <net/net_namespace.h>
#include "etp.h"

static int etp_one = 1;
static int etp_retries_max = 127;
static int etp_ms_max = 3600000;	/* one hour */
static int etp_delack_max = 500;	/* RFC 9293, 3.8.6.3: under 0.5 s */
static int etp_max_tw_max = 1 << 24;
static int etp_buf_min = 4096;
static int etp_buf_max = 64 << 20;

#define ETP_SYSCTL(name, field, max)				\
	{							\
		.procname	= name,				\
		.maxlen		= sizeof(int),			\
		.mode		= 0644,				\
		.proc_handler	= proc_dointvec_minmax,		\
		.data		= (void *)offsetof(struct etp_net, field), \
		.extra1		= &etp_one,			\
		.extra2		= max,				\
	}

#define ETP_SYSCTL_BUF(name, field)				\
	{							\
		.procname	= name,				\
		.maxlen		= sizeof(int),			\
		.mode		= 0644,				\
		.proc_handler	= proc_dointvec_minmax,		\
		.data		= (void *)offsetof(struct etp_net, field), \
		.extra1		= &etp_buf_min,			\
		.extra2		= &etp_buf_max,			\
	}

/* .data holds the field's offset in struct etp_net until registration. */
static const struct ctl_table etp_sysctl_template[] = {
	ETP_SYSCTL("msl_ms", msl_ms, &etp_ms_max),
	ETP_SYSCTL("syn_retries", syn_retries, &etp_retries_max),
	ETP_SYSCTL("synack_retries", synack_retries, &etp_retries_max),
	ETP_SYSCTL("retries", retries, &etp_retries_max),
	ETP_SYSCTL("orphan_retries", orphan_retries, &etp_retries_max),
	ETP_SYSCTL("fin_timeout_ms", fin_timeout_ms, &etp_ms_max),
	ETP_SYSCTL("rto_min_ms", rto_min_ms, &etp_ms_max),
	ETP_SYSCTL("rto_max_ms", rto_max_ms, &etp_ms_max),
	ETP_SYSCTL("rto_initial_ms", rto_initial_ms, &etp_ms_max),
	ETP_SYSCTL("delack_ms", delack_ms, &etp_delack_max),
	ETP_SYSCTL_BUF("rmem_default", rmem_default),
	ETP_SYSCTL_BUF("wmem_default", wmem_default),
	ETP_SYSCTL("max_tw", max_tw, &etp_max_tw_max),
	{
		.procname	= "syncookies",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.data		= (void *)offsetof(struct etp_net, syncookies),
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_TWO,
	},
	{ }	/* the end, for kernels before 6.6 (compat.h) */
};

int etp_sysctl_register(struct net *net)
{
	struct etp_net *en = etp_pernet(net);
	struct ctl_table *table;
	size_t i;

	table = kmemdup(etp_sysctl_template, sizeof(etp_sysctl_template),
			GFP_KERNEL);
	if (!table)
		return -ENOMEM;

	for (i = 0; i < ARRAY_SIZE(etp_sysctl_template) - 1; i++)
		table[i].data = (char *)en + (uintptr_t)table[i].data;

	en->sysctl_hdr = register_net_sysctl_sz(net, "net/etp", table,
						ARRAY_SIZE(etp_sysctl_template) - 1);
	if (!en->sysctl_hdr) {
		kfree(table);
		return -ENOMEM;
	}
	return 0;
}

/*
 * net.etp.mem is one limit for the whole module, as tcp_mem is for TCP:
 * it appears in the initial namespace only.
 */
static unsigned long etp_mem_min = 1;
static struct ctl_table_header *etp_global_hdr;
static struct ctl_table etp_global_sysctl[] = {
	{
		.procname	= "mem",
		.data		= etp_sysctl_mem,
		.maxlen		= sizeof(etp_sysctl_mem),
		.mode		= 0644,
		.proc_handler	= proc_doulongvec_minmax,
		.extra1		= &etp_mem_min,
	},
	{ }	/* the end, for kernels before 6.6 (compat.h) */
};

int etp_sysctl_global_register(void)
{
	etp_global_hdr = register_net_sysctl_sz(&init_net, "net/etp",
						etp_global_sysctl,
						ARRAY_SIZE(etp_global_sysctl) - 1);
	return etp_global_hdr ? 0 : -ENOMEM;
}

void etp_sysctl_global_unregister(void)
{
	unregister_net_sysctl_table(etp_global_hdr);
}

void etp_sysctl_unregister(struct net *net)
{
	struct etp_net *en = etp_pernet(net);
	const struct ctl_table *table = en->sysctl_hdr->ctl_table_arg;

	unregister_net_sysctl_table(en->sysctl_hdr);
	kfree(table);
}

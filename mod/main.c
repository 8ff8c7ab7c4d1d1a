// SPDX-License-Identifier: GPL-2.0
/*
 * ETP module init and exit, and per-namespace setup.
 *
 * Load order: tables, the proto (socket slab), per-namespace state, then
 * the two hooks that make ETP reachable: the IP protocol handler (segments
 * in) and the protosw (socket(AF_INET, SOCK_STREAM, 253)). Unload runs the
 * same ladder backwards.
 */
#include <linux/module.h>
#include <net/protocol.h>
#include <net/net_namespace.h>
#include "etp.h"

unsigned int etp_net_id __read_mostly;

static const struct net_protocol etp_protocol = {
	.handler	= etp_v4_rcv,
	.err_handler	= etp_v4_err,
	.no_policy	= 1,
};

static struct inet_protosw etp_protosw = {
	.type		= SOCK_STREAM,
	.protocol	= IPPROTO_ETP,
	.prot		= &etp_prot,
	.ops		= &etp_stream_ops,
};

static int __net_init etp_net_init(struct net *net)
{
	struct etp_net *en = etp_pernet(net);
	int err;

	en->msl_ms = ETP_MSL_MS_DEFAULT;
	en->syn_retries = ETP_SYN_RETRIES_DEFAULT;
	en->synack_retries = ETP_SYNACK_RETRIES_DEFAULT;
	en->retries = ETP_RETRIES_DEFAULT;
	en->orphan_retries = ETP_ORPHAN_RETRIES_DEFAULT;
	en->fin_timeout_ms = ETP_FIN_TIMEOUT_MS_DEFAULT;
	en->rto_min_ms = ETP_RTO_MIN_MS_DEFAULT;
	en->rto_max_ms = ETP_RTO_MAX_MS_DEFAULT;
	en->rto_initial_ms = ETP_RTO_INITIAL_MS_DEFAULT;
	en->delack_ms = ETP_DELACK_MS_DEFAULT;
	en->rmem_default = ETP_RMEM_DEFAULT;
	en->wmem_default = ETP_WMEM_DEFAULT;
	en->max_tw = ETP_MAX_TW_DEFAULT;
	en->syncookies = ETP_SYNCOOKIES_DEFAULT;
	atomic_set(&en->tw_count, 0);

	en->mib = alloc_percpu(struct etp_mib);
	if (!en->mib)
		return -ENOMEM;

	err = etp_sysctl_register(net);
	if (err)
		goto err_mib;

	err = etp_proc_init(net);
	if (err)
		goto err_sysctl;
	return 0;

err_sysctl:
	etp_sysctl_unregister(net);
err_mib:
	free_percpu(en->mib);
	return err;
}

static void __net_exit etp_net_exit(struct net *net)
{
	struct etp_net *en = etp_pernet(net);

	etp_proc_exit(net);
	etp_sysctl_unregister(net);
	/* Sockets hold their namespace; TIME_WAIT entries do not. */
	etp_tw_reap(net);
	free_percpu(en->mib);
}

static struct pernet_operations etp_net_ops = {
	.init	= etp_net_init,
	.exit	= etp_net_exit,
	.id	= &etp_net_id,
	.size	= sizeof(struct etp_net),
};

static int __init etp_init(void)
{
	int err;

	BUILD_BUG_ON(sizeof(struct etp_skb_cb) > sizeof_field(struct sk_buff, cb));
	etp_cookie_init();
	err = etp_hash_init();
	if (err)
		return err;

	err = etp_proto_mem_init();
	if (err)
		goto err_hash;
	err = proto_register(&etp_prot, 1);
	if (err)
		goto err_mem;

	err = register_pernet_subsys(&etp_net_ops);
	if (err)
		goto err_proto;

	err = etp_sysctl_global_register();
	if (err)
		goto err_pernet;

	err = inet_add_protocol(&etp_protocol, IPPROTO_ETP);
	if (err) {
		pr_err("IP protocol %d is already taken\n", IPPROTO_ETP);
		err = -EBUSY;
		goto err_sysctl;
	}

	inet_register_protosw(&etp_protosw);
	pr_info("loaded: IP protocol %d, socket(AF_INET, SOCK_STREAM, %d)\n",
		IPPROTO_ETP, IPPROTO_ETP);
	return 0;

err_sysctl:
	etp_sysctl_global_unregister();
err_pernet:
	unregister_pernet_subsys(&etp_net_ops);
err_proto:
	proto_unregister(&etp_prot);
err_mem:
	etp_proto_mem_exit();
err_hash:
	etp_hash_exit();
	return err;
}

static void __exit etp_exit(void)
{
	inet_unregister_protosw(&etp_protosw);
	inet_del_protocol(&etp_protocol, IPPROTO_ETP);
	etp_sysctl_global_unregister();
	unregister_pernet_subsys(&etp_net_ops);
	proto_unregister(&etp_prot);
	etp_proto_mem_exit();
	etp_hash_exit();
	pr_info("unloaded\n");
}

module_init(etp_init);
module_exit(etp_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ETP, the Educational Transport Protocol (IP protocol 253)");
MODULE_AUTHOR("The ETP developers");

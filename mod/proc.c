// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/etp: one line per ETP socket in the layout of /proc/net/tcp,
 * so readers who know that file know this one. TIME_WAIT entries are
 * listed too, with timer code 3 and the time left. After the inode, as
 * /proc/net/tcp has its own extra fields there, each line carries the
 * connection's internals in decimal: rto (us), srtt (us), rttvar (us),
 * cwnd and ssthresh (bytes), snd_wnd and rcv_wnd (bytes), segments
 * retransmitted, mss, and the congestion phase (ETP_CA_*); zeros for
 * listeners and TIME_WAIT entries.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>
#include "etp.h"

struct etp_proc_iter {
	struct seq_file	*seq;
	int		sl;
};

static void etp_proc_show_sock(struct seq_file *seq, int sl, struct sock *sk)
{
	const struct inet_sock *inet = inet_sk(sk);
	const struct etp_sock *ep = etp_sk(sk);
	int state = inet_sk_state_load(sk);
	unsigned long expires = 0;
	int timer = 0;
	u32 txq, rxq;

	if (state == TCP_LISTEN) {
		txq = READ_ONCE(sk->sk_max_ack_backlog);
		rxq = READ_ONCE(ep->accept_qlen);
	} else {
		/* Bytes only: a sent or received FIN is not counted. */
		txq = max_t(int, READ_ONCE(ep->write_seq) -
			    READ_ONCE(ep->snd_una), 0);
		rxq = max_t(int, READ_ONCE(ep->rcv_nxt) -
			    READ_ONCE(ep->copied_seq) -
			    !!sock_flag(sk, SOCK_DONE), 0);
	}
	if (timer_pending(&ep->rtx_timer)) {
		timer = ep->persist ? 4 : 1;
		expires = ep->rtx_timer.expires;
	} else if (timer_pending(&ep->fin_timer)) {
		timer = 2;
		expires = ep->fin_timer.expires;
	}

	seq_printf(seq, "%4d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5u %8d %lu",
		   sl, inet->inet_rcv_saddr, inet->inet_num,
		   inet->inet_daddr, ntohs(inet->inet_dport), state, txq, rxq,
		   timer, timer ? jiffies_delta_to_clock_t(expires - jiffies) : 0,
		   ep->retries,
		   from_kuid_munged(seq_user_ns(seq), sk_uid(sk)), 0,
		   sock_i_ino(sk));
	if (state == TCP_LISTEN)
		seq_puts(seq, " 0 0 0 0 0 0 0 0 0 0");
	else
		seq_printf(seq, " %u %u %u %u %u %u %u %u %u %u",
			   jiffies_to_usecs(etp_rto_backed_off(sk)),
			   READ_ONCE(ep->srtt_us), READ_ONCE(ep->rttvar_us),
			   READ_ONCE(ep->cwnd), READ_ONCE(ep->ssthresh),
			   READ_ONCE(ep->snd_wnd), READ_ONCE(ep->rcv_wnd),
			   READ_ONCE(ep->total_retrans), READ_ONCE(ep->mss),
			   READ_ONCE(ep->ca_state));
	seq_putc(seq, '\n');
}

static void etp_proc_show_tw(struct seq_file *seq, int sl, struct etp_tw *tw)
{
	const struct sock_common *skc = &tw->common;
	long delta = tw->timer.expires - jiffies;

	seq_printf(seq, "%4d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5d %8d %d 0 0 0 0 0 0 0 0 0 0\n",
		   sl, skc->skc_rcv_saddr, skc->skc_num, skc->skc_daddr,
		   ntohs(skc->skc_dport), TCP_TIME_WAIT, 0, 0, 3,
		   jiffies_delta_to_clock_t(delta), 0, 0, 0, 0);
}

static void etp_proc_show_one(struct sock_common *skc, void *arg)
{
	struct etp_proc_iter *it = arg;

	if (etp_is_tw(skc))
		etp_proc_show_tw(it->seq, it->sl, etp_tw(skc));
	else
		etp_proc_show_sock(it->seq, it->sl, (struct sock *)skc);
	it->sl++;
}

static int etp_proc_show(struct seq_file *seq, void *v)
{
	struct etp_proc_iter it = { .seq = seq };

	seq_puts(seq, "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode rto srtt rttvar cwnd ssthresh snd_wnd rcv_wnd retrans mss ca_state\n");
	etp_walk_sockets(seq_file_single_net(seq), etp_proc_show_one, &it);
	return 0;
}

int etp_proc_init(struct net *net)
{
	int err;

	if (!proc_create_net_single("etp", 0444, net->proc_net,
				    etp_proc_show, NULL))
		return -ENOMEM;
	err = etp_mib_proc_init(net);
	if (err)
		remove_proc_entry("etp", net->proc_net);
	return err;
}

void etp_proc_exit(struct net *net)
{
	etp_mib_proc_exit(net);
	remove_proc_entry("etp", net->proc_net);
}

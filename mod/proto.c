// SPDX-License-Identifier: GPL-2.0
/*
 * The socket side of ETP: struct proto and struct proto_ops, and the calls
 * a process makes: connect, listen, accept, send, receive, poll,
 * shutdown, close and socket options. Semantics follow Linux TCP.
 */
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sockios.h>
#include <asm/ioctls.h>
#include <linux/mm.h>
#include <net/sock.h>
#include <net/inet_common.h>
#include <net/ip.h>
#include <net/route.h>
#include "etp.h"
#include "trace.h"

static atomic_long_t etp_memory_allocated;
static DEFINE_PER_CPU(int, etp_memory_per_cpu_fw_alloc);
static unsigned long etp_memory_pressure;
/* Under pressure the core weighs each socket's share by their number. */
static struct percpu_counter etp_sockets_allocated;
/* net.etp.mem: pages; below [0] no pressure, above [1] pressure, [2] limit. */
long etp_sysctl_mem[3];
/*
 * Buffer sizes for the memory accounting: minimum, default, maximum. A
 * new socket takes its sizes from net.etp.rmem_default and wmem_default
 * of its namespace.
 */
static int etp_sysctl_wmem[3] = { 4096, ETP_WMEM_DEFAULT, 4194304 };
static int etp_sysctl_rmem[3] = { 4096, ETP_RMEM_DEFAULT, 6291456 };

/* Module-wide memory limit in pages, sized from the machine like TCP's. */
int etp_proto_mem_init(void)
{
	unsigned long limit = max(nr_free_buffer_pages() / 16, 128UL);

	etp_sysctl_mem[0] = limit / 4 * 3;
	etp_sysctl_mem[1] = limit;
	etp_sysctl_mem[2] = etp_sysctl_mem[0] * 2;
	return percpu_counter_init(&etp_sockets_allocated, 0, GFP_KERNEL);
}

void etp_proto_mem_exit(void)
{
	percpu_counter_destroy(&etp_sockets_allocated);
}

/*
 * The module's sockets together passed net.etp.mem[1] pages: until they
 * are back under mem[0] (the core then clears the flag), windows stop
 * growing (etp_select_window()). Past mem[2] nothing more is charged:
 * arriving data is dropped (InRcvbufDrops) and senders wait.
 */
static void etp_enter_memory_pressure(struct sock *sk)
{
	if (READ_ONCE(etp_memory_pressure))
		return;
	WRITE_ONCE(etp_memory_pressure, 1);
	ETP_INC_STATS(sock_net(sk), ETP_MIB_MEMORYPRESSURES);
}

/*
 * Every state change goes through here (or etp_trace_state() for the two
 * that bypass it): etp:etp_state_change says why, and
 * sock:inet_sock_set_state sees it with TCP's numbers.
 */
void etp_set_state(struct sock *sk, int state, const char *why)
{
	/* The tracepoints first, while the socket still has its ports. */
	trace_etp_state_change(sk, sk->sk_state, state, why);
	inet_sk_set_state(sk, state);
	if (state == TCP_CLOSE) {
		etp_unhash(sk);
		if (!(sk->sk_userlocks & SOCK_BINDPORT_LOCK))
			etp_put_port(sk);
	}
}

/* Final teardown of a socket that is closed and has no owner. */
void etp_destroy(struct sock *sk)
{
	struct sk_buff *skb;

	if (WARN_ON_ONCE(sk->sk_state != TCP_CLOSE ||
			 !sock_flag(sk, SOCK_DEAD)))
		return;
	sk->sk_prot->destroy(sk);
	etp_put_port(sk);
	etp_ooo_purge(sk);
	while ((skb = __skb_dequeue(&sk->sk_write_queue)))
		etp_wmem_free_skb(sk, skb);
	sk_stream_kill_queues(sk);
	/* The reference the socket was born with. */
	sock_put(sk);
}

/* The connection is over: CLOSED, out of the tables, timers stopped. */
void etp_done(struct sock *sk, const char *why)
{
	etp_set_state(sk, TCP_CLOSE, why);
	etp_clear_timers(sk);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	if (!sock_flag(sk, SOCK_DEAD))
		sk->sk_state_change(sk);
	else
		etp_destroy(sk);
}

void etp_write_space(struct sock *sk)
{
	struct socket_wq *wq;

	if (!sk->sk_socket || !sk_stream_is_writeable(sk))
		return;
	clear_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_poll(&wq->wait, EPOLLOUT | EPOLLWRNORM |
					   EPOLLWRBAND);
	if (wq && wq->fasync_list && !(sk->sk_shutdown & SEND_SHUTDOWN))
		sock_wake_async(wq, SOCK_WAKE_SPACE, POLL_OUT);
	rcu_read_unlock();
}

/* Free the out-of-order queue (the socket lock is held). */
void etp_ooo_purge(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	struct sk_buff *skb;

	while ((skb = skb_rb_first(&ep->ooo_root))) {
		rb_erase(&skb->rbnode, &ep->ooo_root);
		kfree_skb(skb);
	}
	ep->ooo_last = NULL;
	ep->ooo_bytes = 0;
}

/*
 * release_sock() calls this, the socket spinlock held, before a process
 * gives up ownership: errors that softirq context found while the
 * process owned the socket take effect here.
 */
static void etp_release_cb(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	int err = ep->deferred_err;

	if (!err)
		return;
	ep->deferred_err = 0;
	if (sk->sk_state == TCP_SYN_SENT)
		etp_connect_failed(sk, err);
}

static int etp_init_sock(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);

	ep->ooo_root = RB_ROOT;
	spin_lock_init(&ep->accept_lock);
	INIT_LIST_HEAD(&ep->syn_queue);
	INIT_LIST_HEAD(&ep->accept_queue);
	INIT_LIST_HEAD(&ep->child_node);
	etp_init_timers(sk);
	ep->mss = ETP_MSS_DEFAULT;
	ep->rcv_ratio = ETP_RCV_RATIO_INIT;
	ep->rto = etp_ms_to_jiffies(READ_ONCE(etp_pernet(sock_net(sk))->rto_initial_ms));

	/* Lookups run under RCU: free the socket only after a grace period. */
	sock_set_flag(sk, SOCK_RCU_FREE);
	/* Space is reported by etp_write_space() as ACKs free the queue. */
	sock_set_flag(sk, SOCK_USE_WRITE_QUEUE);
	sk->sk_write_space = etp_write_space;
	WRITE_ONCE(sk->sk_sndbuf, READ_ONCE(etp_pernet(sock_net(sk))->wmem_default));
	WRITE_ONCE(sk->sk_rcvbuf, READ_ONCE(etp_pernet(sock_net(sk))->rmem_default));
	/* Children are counted by sk_clone_lock(); all by etp_destroy_sock(). */
	sk_sockets_allocated_inc(sk);
	return 0;
}

static void etp_destroy_sock(struct sock *sk)
{
	etp_clear_timers(sk);
	sk_sockets_allocated_dec(sk);
}

/* Stop listening: every child, half-open or waiting for accept(), is reset. */
void etp_listen_stop(struct sock *sk)
{
	struct etp_sock *lep = etp_sk(sk), *ep, *tmp;
	LIST_HEAD(children);

	spin_lock_bh(&lep->accept_lock);
	lep->listen_closed = true;
	list_splice_init(&lep->syn_queue, &children);
	list_splice_init(&lep->accept_queue, &children);
	lep->syn_qlen = 0;
	lep->accept_qlen = 0;
	spin_unlock_bh(&lep->accept_lock);

	list_for_each_entry_safe(ep, tmp, &children, child_node) {
		struct sock *child = &ep->inet.sk;

		list_del_init(&ep->child_node);
		local_bh_disable();
		bh_lock_sock(child);
		sock_hold(child);
		ep->parent = NULL;
		sock_put(sk);
		if ((1 << child->sk_state) &
		    (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT | TCPF_SYN_RECV))
			etp_send_active_reset(child, GFP_ATOMIC);
		sock_orphan(child);
		if (child->sk_state != TCP_CLOSE)
			etp_done(child, "listener closed");
		else
			etp_destroy(child);
		bh_unlock_sock(child);
		local_bh_enable();
		sock_put(child);
	}
}

/* A new connection's send sequence space starts at iss (RFC 9293, 3.4.1). */
void etp_init_seq(struct sock *sk, u32 iss)
{
	struct etp_sock *ep = etp_sk(sk);

	ep->iss = iss;
	ep->snd_una = iss;
	ep->snd_nxt = iss;
	ep->snd_max = iss;
	ep->write_seq = iss + 1;	/* the SYN takes iss */
	ep->fin_queued = 0;
	ep->backoff = 0;
	ep->retries = 0;
	ep->rto = etp_ms_to_jiffies(READ_ONCE(etp_pernet(sock_net(sk))->rto_initial_ms));
}

int etp_v4_connect(struct sock *sk, struct sockaddr *uaddr, int addr_len)
{
	struct sockaddr_in *usin = (struct sockaddr_in *)uaddr;
	struct inet_sock *inet = inet_sk(sk);
	struct etp_sock *ep = etp_sk(sk);
	struct net *net = sock_net(sk);
	__be16 orig_sport, orig_dport;
	struct flowi4 *fl4;
	struct rtable *rt;
	int err;

	if (addr_len < sizeof(struct sockaddr_in))
		return -EINVAL;
	if (usin->sin_family != AF_INET)
		return -EAFNOSUPPORT;

	orig_sport = inet->inet_sport;
	orig_dport = usin->sin_port;
	fl4 = &inet->cork.fl.u.ip4;
	rt = ip_route_connect(fl4, usin->sin_addr.s_addr, inet->inet_saddr,
			      sk->sk_bound_dev_if, IPPROTO_ETP, orig_sport,
			      orig_dport, sk);
	if (IS_ERR(rt))
		return PTR_ERR(rt);
	if (rt->rt_flags & (RTCF_MULTICAST | RTCF_BROADCAST)) {
		ip_rt_put(rt);
		return -ENETUNREACH;
	}

	if (!inet->inet_saddr) {
		inet->inet_saddr = fl4->saddr;
		inet->inet_rcv_saddr = fl4->saddr;
	}
	inet->inet_dport = usin->sin_port;
	inet->inet_daddr = fl4->daddr;

	err = etp_hash_connect(sk);
	if (err)
		goto failure;
	/*
	 * RFC 9293, 3.10.1: an active OPEN sends SYN, enters SYN_SENT. Only
	 * now, with the local port chosen, so that the tracepoints show it.
	 * (A segment for the 4-tuple meanwhile waits in the backlog: we own
	 * the socket.)
	 */
	etp_set_state(sk, TCP_SYN_SENT, "connect");

	rt = ip_route_newports(fl4, rt, orig_sport, orig_dport,
			       inet->inet_sport, inet->inet_dport, sk);
	if (IS_ERR(rt)) {
		err = PTR_ERR(rt);
		rt = NULL;
		goto failure;
	}
	sk_setup_caps(sk, &rt->dst);
	rt = NULL;

	ep->peer_mss = 0;
	etp_set_mss(sk);
	etp_init_seq(sk, etp_isn(inet->inet_saddr, inet->inet_daddr,
				 inet->inet_sport, inet->inet_dport));
	ep->snd_wnd = 0;
	ep->max_snd_wnd = 0;
	ep->deferred_err = 0;
	ep->rcv_nxt = 0;
	ep->rcv_wup = 0;
	ep->rcv_wnd = 0;
	/* RFC 7323: offer our shift; the SYN-ACK says if it is used. */
	ep->rcv_wscale = etp_choose_wscale(sk);
	ep->snd_wscale = 0;
	ep->wscale_ok = 0;
	atomic_set(&inet->inet_id, get_random_u16());

	ETP_INC_STATS(net, ETP_MIB_ACTIVEOPENS);
	etp_send_syn(sk);
	etp_rearm_rtx(sk);
	return 0;

failure:
	etp_set_state(sk, TCP_CLOSE, "connect failed");
	if (rt)
		ip_rt_put(rt);
	sk->sk_route_caps = 0;
	inet->inet_dport = 0;
	return err;
}

static int etp_disconnect(struct sock *sk, int flags)
{
	struct inet_sock *inet = inet_sk(sk);
	struct etp_sock *ep = etp_sk(sk);
	int old_state = sk->sk_state;
	struct sk_buff *skb;

	if (old_state == TCP_LISTEN) {
		etp_set_state(sk, TCP_CLOSE, "disconnect");
		etp_listen_stop(sk);
	} else if (old_state != TCP_CLOSE) {
		if (old_state != TCP_SYN_SENT)
			etp_send_active_reset(sk, gfp_any());
		WRITE_ONCE(sk->sk_err, ECONNRESET);
		etp_set_state(sk, TCP_CLOSE, "disconnect, RST sent");
	}
	etp_clear_timers(sk);
	while ((skb = __skb_dequeue(&sk->sk_write_queue)))
		etp_wmem_free_skb(sk, skb);
	__skb_queue_purge(&sk->sk_receive_queue);
	etp_ooo_purge(sk);
	sk_mem_reclaim(sk);

	inet->inet_dport = 0;
	inet->inet_daddr = 0;
	if (!(sk->sk_userlocks & SOCK_BINDADDR_LOCK))
		inet_reset_saddr(sk);
	WRITE_ONCE(sk->sk_shutdown, 0);
	sock_reset_flag(sk, SOCK_DONE);
	ep->fin_queued = 0;
	ep->rtt_pending = 0;
	ep->srtt_us = 0;
	ep->rttvar_us = 0;
	ep->backoff = 0;
	ep->retries = 0;
	ep->snd_wnd = 0;
	ep->cwnd = 0;
	ep->ca_state = ETP_CA_OPEN;
	ep->total_retrans = 0;
	ep->timeouts = 0;
	__sk_dst_reset(sk);
	sk_error_report(sk);
	return 0;
}

/*
 * Queue our FIN after the data; move to the state that waits for its ACK
 * (RFC 9293, 3.10.4, CLOSE in ESTABLISHED and CLOSE_WAIT).
 */
static bool etp_queue_fin(struct sock *sk)
{
	switch (sk->sk_state) {
	case TCP_ESTABLISHED:
		etp_set_state(sk, TCP_FIN_WAIT1, "close or shutdown, FIN sent");
		break;
	case TCP_CLOSE_WAIT:
		etp_set_state(sk, TCP_LAST_ACK, "close or shutdown, FIN sent");
		break;
	case TCP_SYN_RECV:
		break;		/* sent once the handshake completes */
	default:
		return false;
	}
	etp_sk(sk)->fin_queued = 1;
	etp_push(sk);
	return true;
}

static void etp_shutdown(struct sock *sk, int how)
{
	if (how & SEND_SHUTDOWN)
		etp_queue_fin(sk);
}

static void etp_close(struct sock *sk, long timeout)
{
	struct etp_sock *ep = etp_sk(sk);
	bool unread = false;
	struct sk_buff *skb;

	lock_sock(sk);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);

	/* RFC 9293, 3.10.4: CLOSE in LISTEN or SYN_SENT ends it at once. */
	if (sk->sk_state == TCP_LISTEN) {
		etp_set_state(sk, TCP_CLOSE, "close");
		etp_listen_stop(sk);
		goto orphan;
	}

	while ((skb = __skb_dequeue(&sk->sk_receive_queue))) {
		if (etp_after(ETP_SKB_CB(skb)->seq + skb->len, ep->copied_seq))
			unread = true;
		kfree_skb(skb);
	}
	sk_mem_reclaim(sk);

	if (sk->sk_state == TCP_CLOSE)
		goto orphan;
	if (sk->sk_state == TCP_SYN_SENT) {
		etp_set_state(sk, TCP_CLOSE, "close");
		goto orphan;
	}

	if (unread || (sock_flag(sk, SOCK_LINGER) && !sk->sk_lingertime)) {
		/*
		 * RFC 9293, 3.10.4 and RFC 2525, 2.17: closing with data the
		 * application never read, or with a zero linger, aborts the
		 * connection with a RST, so the peer learns data was lost.
		 */
		etp_send_active_reset(sk, sk->sk_allocation);
		etp_set_state(sk, TCP_CLOSE, unread ?
			      "close with unread data, RST sent" :
			      "close with zero linger, RST sent");
	} else if (etp_queue_fin(sk) && timeout) {
		sk_stream_wait_close(sk, timeout);
	}

orphan:
	sock_hold(sk);
	sock_orphan(sk);
	if (sk->sk_state == TCP_CLOSE)
		etp_destroy(sk);
	else if (sk->sk_state == TCP_FIN_WAIT2)
		etp_arm_fin_timer(sk);
	release_sock(sk);
	sock_put(sk);
}

static int etp_wait_for_child(struct sock *sk, long *timeo)
{
	struct etp_sock *lep = etp_sk(sk);
	DEFINE_WAIT(wait);
	int err;

	for (;;) {
		prepare_to_wait_exclusive(sk_sleep(sk), &wait,
					  TASK_INTERRUPTIBLE);
		release_sock(sk);
		if (!READ_ONCE(lep->accept_qlen))
			*timeo = schedule_timeout(*timeo);
		sched_annotate_sleep();
		lock_sock(sk);
		err = 0;
		if (READ_ONCE(lep->accept_qlen))
			break;
		err = -EINVAL;
		if (sk->sk_state != TCP_LISTEN)
			break;
		err = sock_intr_errno(*timeo);
		if (signal_pending(current))
			break;
		err = -EAGAIN;
		if (!*timeo)
			break;
	}
	finish_wait(sk_sleep(sk), &wait);
	return err;
}

static struct sock *etp_accept(struct sock *sk, struct proto_accept_arg *arg)
{
	struct etp_sock *lep = etp_sk(sk), *ep;
	struct sock *child;
	long timeo;
	int err;

	lock_sock(sk);
	timeo = sock_rcvtimeo(sk, arg->flags & O_NONBLOCK);
	for (;;) {
		err = -EINVAL;
		if (sk->sk_state != TCP_LISTEN)
			goto out_err;
		spin_lock_bh(&lep->accept_lock);
		ep = list_first_entry_or_null(&lep->accept_queue,
					      struct etp_sock, child_node);
		if (ep) {
			list_del_init(&ep->child_node);
			lep->accept_qlen--;
		}
		spin_unlock_bh(&lep->accept_lock);
		if (ep)
			break;
		err = -EAGAIN;
		if (!timeo)
			goto out_err;
		err = etp_wait_for_child(sk, &timeo);
		if (err)
			goto out_err;
	}
	release_sock(sk);

	child = &ep->inet.sk;
	lock_sock(child);
	ep->parent = NULL;
	release_sock(child);
	sock_put(sk);		/* the child's reference to its listener */
	return child;

out_err:
	release_sock(sk);
	arg->err = err;
	return NULL;
}

ETP_PROTO_ACCEPT(etp_accept)

static int etp_inet_listen(struct socket *sock, int backlog)
{
	struct sock *sk = sock->sk;
	struct inet_sock *inet = inet_sk(sk);
	int err = -EINVAL;

	lock_sock(sk);
	if (sock->state != SS_UNCONNECTED || sock->type != SOCK_STREAM)
		goto out;
	if (sk->sk_state != TCP_CLOSE && sk->sk_state != TCP_LISTEN)
		goto out;

	WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
	if (sk->sk_state != TCP_LISTEN) {
		if (!inet->inet_num) {
			err = etp_get_port(sk, 0);
			if (err)
				goto out;
			inet->inet_sport = htons(inet->inet_num);
		}
		etp_sk(sk)->listen_closed = false;
		/* RFC 9293, 3.10.1: a passive OPEN enters LISTEN. */
		etp_trace_state(sk, TCP_LISTEN, "listen");
		inet_sk_set_state(sk, TCP_LISTEN);
		err = etp_hash(sk);
		if (err) {
			etp_set_state(sk, TCP_CLOSE, "listen failed");
			goto out;
		}
	}
	err = 0;
out:
	release_sock(sk);
	return err;
}

static int etp_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	struct etp_sock *ep = etp_sk(sk);
	int copied = 0, err;
	long timeo;

	if (msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;

	lock_sock(sk);
	timeo = sock_sndtimeo(sk, msg->msg_flags & MSG_DONTWAIT);
	if ((1 << sk->sk_state) & ~(TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)) {
		err = sk_stream_wait_connect(sk, &timeo);
		if (err)
			goto out_err;
	}
	sk_clear_bit(SOCKWQ_ASYNC_NOSPACE, sk);

	err = -EPIPE;
	if (sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN))
		goto out_err;

	while (msg_data_left(msg)) {
		struct sk_buff *skb = skb_peek_tail(&sk->sk_write_queue);
		size_t copy, n;

		if (!skb || !skb_tailroom(skb)) {
			if (!sk_stream_memory_free(sk))
				goto wait_for_space;
			skb = alloc_skb(ETP_SND_CHUNK, sk->sk_allocation);
			if (!skb)
				goto wait_for_memory;
			if (!sk_wmem_schedule(sk, skb->truesize)) {
				kfree_skb(skb);
				goto wait_for_memory;
			}
			ETP_SKB_CB(skb)->seq = ep->write_seq;
			ETP_SKB_CB(skb)->end_seq = ep->write_seq;
			__skb_queue_tail(&sk->sk_write_queue, skb);
			sk_wmem_queued_add(sk, skb->truesize);
			sk_mem_charge(sk, skb->truesize);
		}

		copy = min_t(size_t, msg_data_left(msg), skb_tailroom(skb));
		n = copy_from_iter(skb_tail_pointer(skb), copy, &msg->msg_iter);
		skb_put(skb, n);
		ETP_SKB_CB(skb)->end_seq += n;
		WRITE_ONCE(ep->write_seq, ep->write_seq + n);
		copied += n;
		if (n != copy) {
			err = -EFAULT;
			goto out_err;
		}
		/* A large write starts sending as each chunk fills. */
		if (!skb_tailroom(skb) && msg_data_left(msg))
			__etp_push(sk, ETP_PUSH_MORE);
		continue;

wait_for_space:
		set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
wait_for_memory:
		etp_push(sk);
		err = sk_stream_wait_memory(sk, &timeo);
		if (err)
			goto out_err;
		if (sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN)) {
			err = -EPIPE;
			goto out_err;
		}
	}
	etp_push(sk);
	release_sock(sk);
	return copied;

out_err:
	if (copied) {
		etp_push(sk);
		release_sock(sk);
		return copied;
	}
	err = sk_stream_error(sk, msg->msg_flags, err);
	release_sock(sk);
	return err;
}

/*
 * After the reader freed buffer space: if the window the peer sees has
 * fallen to half of what the buffer allows or less, and it can now at
 * least double, announce it, so a sender held back by the window resumes
 * without waiting for its persist timer.
 */
static void etp_rcv_space_update(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	u32 cur = 0, win, full;

	if (!((1 << sk->sk_state) &
	      (TCPF_ESTABLISHED | TCPF_FIN_WAIT1 | TCPF_FIN_WAIT2)) ||
	    (sk->sk_shutdown & RCV_SHUTDOWN))
		return;
	if (etp_after(ep->rcv_wup + ep->rcv_wnd, ep->rcv_nxt))
		cur = ep->rcv_wup + ep->rcv_wnd - ep->rcv_nxt;
	full = min_t(u32, ((u64)READ_ONCE(sk->sk_rcvbuf) * ep->rcv_ratio) >> 8,
		     etp_max_window(ep));
	win = min(etp_space_window(sk), etp_max_window(ep));
	if (2 * cur <= full && win >= 2 * cur && win > cur)
		etp_send_ack(sk);
}

static int etp_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
		       int flags, int *addr_len)
{
	struct etp_sock *ep = etp_sk(sk);
	u32 peek_seq, *seq;
	int copied = 0, target;
	long timeo;

	if (flags & (MSG_OOB | MSG_ERRQUEUE))
		return -EINVAL;		/* ETP has no urgent data */

	lock_sock(sk);
	if (sk->sk_state == TCP_LISTEN) {
		copied = -ENOTCONN;
		goto out;
	}
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	target = sock_rcvlowat(sk, flags & MSG_WAITALL, len);
	seq = &ep->copied_seq;
	if (flags & MSG_PEEK) {
		peek_seq = ep->copied_seq;
		seq = &peek_seq;
	}

	while (copied < len) {
		struct sk_buff *skb, *last;
		u32 offset = 0;
		size_t used;
		bool found = false;

		last = skb_peek_tail(&sk->sk_receive_queue);
		skb_queue_walk(&sk->sk_receive_queue, skb) {
			offset = *seq - ETP_SKB_CB(skb)->seq;
			if (offset < skb->len) {
				found = true;
				break;
			}
		}

		if (!found) {
			if (copied >= target && !READ_ONCE(sk->sk_backlog.tail))
				break;
			if (copied) {
				if (sk->sk_err || sk->sk_state == TCP_CLOSE ||
				    (sk->sk_shutdown & RCV_SHUTDOWN) || !timeo ||
				    signal_pending(current))
					break;
			} else {
				if (sock_flag(sk, SOCK_DONE))
					break;
				if (sk->sk_err) {
					copied = sock_error(sk);
					break;
				}
				if (sk->sk_shutdown & RCV_SHUTDOWN)
					break;
				if (sk->sk_state == TCP_CLOSE) {
					copied = -ENOTCONN;
					break;
				}
				if (!timeo) {
					copied = -EAGAIN;
					break;
				}
				if (signal_pending(current)) {
					copied = sock_intr_errno(timeo);
					break;
				}
			}
			if (copied >= target) {
				/* Let the backlog in before deciding. */
				release_sock(sk);
				lock_sock(sk);
			} else {
				/* A sender may be waiting for the space we freed. */
				if (copied > 0 && !(flags & MSG_PEEK)) {
					sk_mem_reclaim(sk);
					etp_rcv_space_update(sk);
				}
				sk_wait_data(sk, &timeo, last);
			}
			continue;
		}

		used = min_t(size_t, skb->len - offset, len - copied);
		if (skb_copy_datagram_msg(skb, offset, msg, used)) {
			if (!copied)
				copied = -EFAULT;
			break;
		}
		*seq += used;
		copied += used;
		if (!(flags & MSG_PEEK) && offset + used >= skb->len) {
			__skb_unlink(skb, &sk->sk_receive_queue);
			consume_skb(skb);
		}
	}

	if (copied > 0 && !(flags & MSG_PEEK)) {
		sk_mem_reclaim(sk);
		etp_rcv_space_update(sk);
	}
out:
	release_sock(sk);
	return copied;
}

static __poll_t etp_poll(struct file *file, struct socket *sock,
			 poll_table *wait)
{
	struct sock *sk = sock->sk;
	__poll_t mask = 0;
	u8 shutdown;
	int state;

	sock_poll_wait(file, sock, wait);
	state = inet_sk_state_load(sk);
	if (state == TCP_LISTEN)
		return READ_ONCE(etp_sk(sk)->accept_qlen) ?
		       EPOLLIN | EPOLLRDNORM : 0;

	shutdown = READ_ONCE(sk->sk_shutdown);
	if (shutdown == SHUTDOWN_MASK || state == TCP_CLOSE)
		mask |= EPOLLHUP;
	if (shutdown & RCV_SHUTDOWN)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;

	if (state != TCP_SYN_SENT && state != TCP_SYN_RECV) {
		if (!skb_queue_empty_lockless(&sk->sk_receive_queue))
			mask |= EPOLLIN | EPOLLRDNORM;
		if (shutdown & SEND_SHUTDOWN) {
			mask |= EPOLLOUT | EPOLLWRNORM;
		} else if (sk_stream_is_writeable(sk)) {
			mask |= EPOLLOUT | EPOLLWRNORM;
		} else {
			sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
			set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
			/* Re-check: an ACK may have freed space meanwhile. */
			smp_mb__after_atomic();
			if (sk_stream_is_writeable(sk))
				mask |= EPOLLOUT | EPOLLWRNORM;
		}
	}
	/* Read the error after the state, as the receive path set them. */
	smp_rmb();
	if (READ_ONCE(sk->sk_err) ||
	    !skb_queue_empty_lockless(&sk->sk_error_queue))
		mask |= EPOLLERR;
	return mask;
}

static int etp_ioctl(struct sock *sk, int cmd, int *karg)
{
	struct etp_sock *ep = etp_sk(sk);
	int answ;

	if (sk->sk_state == TCP_LISTEN &&
	    (cmd == SIOCINQ || cmd == SIOCOUTQ || cmd == SIOCOUTQNSD))
		return -EINVAL;

	lock_sock(sk);
	switch (cmd) {
	case SIOCINQ:
		answ = ep->rcv_nxt - ep->copied_seq;
		if (answ && sock_flag(sk, SOCK_DONE))
			answ--;		/* the FIN is not a byte */
		break;
	case SIOCOUTQ:
		answ = ep->write_seq - ep->snd_una;
		break;
	case SIOCOUTQNSD:
		answ = ep->write_seq - ep->snd_nxt;
		break;
	default:
		release_sock(sk);
		return -ENOIOCTLCMD;
	}
	release_sock(sk);
	*karg = max(answ, 0);
	return 0;
}

ETP_PROTO_IOCTL(etp_ioctl)

static void etp_get_info(struct sock *sk, struct etp_info *info)
{
	const struct etp_sock *ep = etp_sk(sk);

	memset(info, 0, sizeof(*info));
	info->etpi_state = inet_sk_state_load(sk);
	info->etpi_backoff = ep->backoff;
	info->etpi_mss = ep->mss;
	info->etpi_peer_mss = ep->peer_mss;
	info->etpi_rto = jiffies_to_usecs(etp_rto_backed_off(sk));
	info->etpi_srtt = ep->srtt_us;
	info->etpi_rttvar = ep->rttvar_us;
	info->etpi_iss = ep->iss;
	info->etpi_irs = ep->irs;
	info->etpi_snd_una = ep->snd_una;
	info->etpi_snd_nxt = ep->snd_nxt;
	info->etpi_rcv_nxt = ep->rcv_nxt;
	info->etpi_snd_wnd = ep->snd_wnd;
	info->etpi_rcv_wnd = ep->rcv_wnd;
	info->etpi_retrans = ep->total_retrans;
	info->etpi_timeouts = ep->timeouts;
	info->etpi_bytes_sent = ep->bytes_sent;
	info->etpi_bytes_acked = ep->bytes_acked;
	info->etpi_bytes_received = ep->bytes_received;
	info->etpi_cwnd = ep->cwnd;
	info->etpi_ssthresh = ep->ssthresh;
	info->etpi_in_flight = ep->snd_max - ep->snd_una;
	info->etpi_lost = ep->lost;
	info->etpi_fast_retrans = ep->fast_retrans;
	info->etpi_dup_acks = ep->dup_acks_in;
	info->etpi_ooo_segs = ep->ooo_segs;
	info->etpi_ooo_bytes = ep->ooo_bytes;
	info->etpi_probes = ep->probes;
	info->etpi_delayed_acks = ep->delayed_acks;
	info->etpi_snd_wscale = ep->snd_wscale;
	info->etpi_rcv_wscale = ep->rcv_wscale;
	info->etpi_ca_state = ep->ca_state;
	info->etpi_nodelay = ep->nodelay;
}

static int etp_getsockopt(struct sock *sk, int level, int optname,
			  char __user *optval, int __user *optlen)
{
	struct etp_info info;
	int len, val;

	if (level != SOL_ETP)
		return ip_getsockopt(sk, level, optname, optval, optlen);

	switch (optname) {
	case ETP_NODELAY:
		if (get_user(len, optlen))
			return -EFAULT;
		if (len < 0)
			return -EINVAL;
		len = min_t(unsigned int, len, sizeof(int));
		val = READ_ONCE(etp_sk(sk)->nodelay);
		if (put_user(len, optlen) || copy_to_user(optval, &val, len))
			return -EFAULT;
		return 0;
	case ETP_INFO:
		if (get_user(len, optlen))
			return -EFAULT;
		if (len < 0)
			return -EINVAL;
		len = min_t(unsigned int, len, sizeof(info));
		lock_sock(sk);
		etp_get_info(sk, &info);
		release_sock(sk);
		if (put_user(len, optlen) || copy_to_user(optval, &info, len))
			return -EFAULT;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

static int etp_setsockopt(struct sock *sk, int level, int optname,
			  sockptr_t optval, unsigned int optlen)
{
	int val;

	if (level != SOL_ETP)
		return ip_setsockopt(sk, level, optname, optval, optlen);

	switch (optname) {
	case ETP_NODELAY:
		if (optlen < sizeof(int))
			return -EINVAL;
		if (copy_from_sockptr(&val, optval, sizeof(val)))
			return -EFAULT;
		lock_sock(sk);
		WRITE_ONCE(etp_sk(sk)->nodelay, !!val);
		/* As TCP_NODELAY: what Nagle held back goes now. */
		if (val)
			etp_push(sk);
		release_sock(sk);
		return 0;
	case ETP_INFO:
		return -EPERM;		/* read only */
	default:
		return -ENOPROTOOPT;
	}
}

struct proto etp_prot = {
	.name			= "ETP",
	.owner			= THIS_MODULE,
	.close			= etp_close,
	.connect		= etp_v4_connect,
	.disconnect		= etp_disconnect,
	.accept			= etp_proto_accept(etp_accept),
	.ioctl			= etp_proto_ioctl(etp_ioctl),
	.init			= etp_init_sock,
	.destroy		= etp_destroy_sock,
	.shutdown		= etp_shutdown,
	.setsockopt		= etp_setsockopt,
	.getsockopt		= etp_getsockopt,
	.sendmsg		= etp_sendmsg,
	.recvmsg		= etp_recvmsg,
	.backlog_rcv		= etp_do_rcv,
	.release_cb		= etp_release_cb,
	.hash			= etp_hash,
	.unhash			= etp_unhash,
	.get_port		= etp_get_port,
	.put_port		= etp_put_port,
	.memory_allocated	= &etp_memory_allocated,
	.per_cpu_fw_alloc	= &etp_memory_per_cpu_fw_alloc,
	.memory_pressure	= &etp_memory_pressure,
	.sockets_allocated	= &etp_sockets_allocated,
	.enter_memory_pressure	= etp_enter_memory_pressure,
	.sysctl_mem		= etp_sysctl_mem,
	.sysctl_wmem		= etp_sysctl_wmem,
	.sysctl_rmem		= etp_sysctl_rmem,
	.max_header		= MAX_HEADER + ETP_HDR_LEN + ETP_OPT_MSS_LEN,
	.obj_size		= sizeof(struct etp_sock),
	.no_autobind		= true,
};

const struct proto_ops etp_stream_ops = {
	.family		= PF_INET,
	.owner		= THIS_MODULE,
	.release	= inet_release,
	.bind		= inet_bind,
	.connect	= inet_stream_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= inet_accept,
	.getname	= inet_getname,
	.poll		= etp_poll,
	.ioctl		= inet_ioctl,
	.gettstamp	= sock_gettstamp,
	.listen		= etp_inet_listen,
	.shutdown	= inet_shutdown,
	.setsockopt	= sock_common_setsockopt,
	.getsockopt	= sock_common_getsockopt,
	.sendmsg	= inet_sendmsg,
	.recvmsg	= inet_recvmsg,
	.mmap		= sock_no_mmap,
};

// SPDX-License-Identifier: GPL-2.0
/*
 * Building and sending ETP segments.
 *
 * A connection's segments go out through ip_queue_xmit() with the
 * socket's route. Replies that have no socket (RST to a closed port, ACKs
 * from TIME_WAIT entries) are built with their IP header here and sent
 * with ip_local_out().
 */
#include <linux/skbuff.h>
#include <net/ip.h>
#include <net/route.h>
#include <net/checksum.h>
#include "etp.h"
#include "trace.h"

/* The largest window our header can announce, in bytes. */
u32 etp_max_window(const struct etp_sock *ep)
{
	return ETP_MAX_WINDOW << ep->rcv_wscale;
}

/*
 * The window free receive buffer can back. Memory is charged by truesize,
 * payload plus overhead, and the overhead depends on segment sizes (a
 * 100-byte segment can cost ten times that): the free space is scaled by
 * the payload-to-truesize ratio measured on received data, so that data
 * sent into the window we offer fits the buffer (as Linux TCP's
 * scaling_ratio does). Until data arrives the ratio is a half.
 */
u32 etp_space_window(const struct sock *sk)
{
	int space = READ_ONCE(sk->sk_rcvbuf) - atomic_read(&sk->sk_rmem_alloc);

	if (space <= 0)
		return 0;
	return ((u64)space * etp_sk(sk)->rcv_ratio) >> 8;
}

/*
 * The window to advertise: what the free receive buffer can back
 * (etp_space_window()). RFC 9293, 3.8.6.2.2: the
 * right edge is never moved left, and it is only moved right by at least
 * min(half the window's share of the buffer, one MSS): receiver
 * silly-window avoidance. A SYN's window is never scaled (RFC 7323, 2.2);
 * other windows are rounded up to what the scaled field can express.
 */
u32 etp_select_window(struct sock *sk, bool syn)
{
	struct etp_sock *ep = etp_sk(sk);
	int rcvbuf = READ_ONCE(sk->sk_rcvbuf);
	u32 max = syn ? ETP_MAX_WINDOW : etp_max_window(ep);
	u32 cur = 0, win, step;

	if (etp_after(ep->rcv_wup + ep->rcv_wnd, ep->rcv_nxt))
		cur = ep->rcv_wup + ep->rcv_wnd - ep->rcv_nxt;
	win = min(etp_space_window(sk), max);
	step = min_t(u32, ep->rcv_mss ?: ep->mss, rcvbuf / 4);
	if (win < cur)
		win = cur;
	else if (win - cur < step && win != max)
		win = cur;
	else if (!syn && sk_under_memory_pressure(sk))
		win = cur;	/* the module is short of memory: no growth */
	if (!syn)
		win = min(round_up(win, 1U << ep->rcv_wscale), max);

	ep->rcv_wnd = win;
	ep->rcv_wup = ep->rcv_nxt;
	return win;
}

/*
 * The window scale we offer: the smallest shift that lets the header
 * announce half of the largest receive buffer this socket may get
 * (SO_RCVBUF is bounded by net.core.rmem_max).
 */
u8 etp_choose_wscale(const struct sock *sk)
{
	u32 space = max_t(u32, READ_ONCE(sk->sk_rcvbuf),
			  2 * READ_ONCE(sysctl_rmem_max)) / 2;
	u8 ws = 0;

	while (ws < ETP_MAX_WSCALE && (ETP_MAX_WINDOW << ws) < space)
		ws++;
	return ws;
}

/* Payload bytes per segment: the route's MTU, capped by the peer's MSS. */
void etp_set_mss(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	struct dst_entry *dst = __sk_dst_get(sk);
	u32 mtu = dst ? dst_mtu(dst) : 576;
	u32 mss = mtu - sizeof(struct iphdr) - ETP_HDR_LEN;

	ep->pmtu = mtu;
	if (ep->peer_mss)
		mss = min_t(u32, mss, ep->peer_mss);
	ep->mss = clamp_t(u32, mss, ETP_MSS_MIN, 65535 - 40);
	/* The congestion window holds at least one segment. */
	ep->cwnd = max_t(u32, ep->cwnd, ep->mss);
}

/*
 * The route's MTU changed (ICMP fragmentation needed, RFC 1191): take the
 * new MSS, and if it shrank, send everything in flight again in segments
 * that fit, as a loss that is not congestion (no cwnd reduction).
 */
void etp_sync_mss(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	struct dst_entry *dst = __sk_dst_get(sk);
	u16 old = ep->mss;

	if (!dst || dst_mtu(dst) == ep->pmtu)
		return;
	etp_set_mss(sk);
	if (ep->mss < old) {
		ETP_INC_STATS(sock_net(sk), ETP_MIB_PMTUUPDATES);
		if (etp_before(ep->snd_una, ep->snd_max)) {
			ep->snd_nxt = ep->snd_una;
			ep->rtt_pending = 0;	/* Karn */
		}
	}
}

/* Copy [seq, seq + len) out of the send queue into the segment's pages. */
static int etp_copy_from_queue(struct sock *sk, struct sk_buff *skb, u32 seq,
			       u32 len)
{
	struct sk_buff *qskb;
	int off = 0;

	skb_queue_walk(&sk->sk_write_queue, qskb) {
		struct etp_skb_cb *qcb = ETP_SKB_CB(qskb);
		u32 start, n;

		if (!etp_after(qcb->end_seq, seq))
			continue;
		start = seq - qcb->seq;
		n = min_t(u32, len, qskb->len - start);
		if (skb_store_bits(skb, off, qskb->data + start, n))
			return -EFAULT;
		off += n;
		seq += n;
		len -= n;
		if (!len)
			return 0;
	}
	return -EFAULT;
}

/* RFC 7323, 1.3: a SYN offers it; a SYN-ACK only answers an offer. */
static bool etp_offer_wscale(const struct sock *sk)
{
	return sk->sk_state == TCP_SYN_SENT || etp_sk(sk)->wscale_ok;
}

static u16 etp_advertised_mss(struct sock *sk)
{
	struct dst_entry *dst = __sk_dst_get(sk);
	u32 mtu = dst ? dst_mtu(dst) : 1500;

	return min_t(u32, mtu - sizeof(struct iphdr) - ETP_HDR_LEN, 65535);
}

/*
 * Send one segment of sk: payload [seq, seq + len) from the send queue,
 * the given flags, the current rcv_nxt as acknowledgment and a fresh
 * window.
 */
int etp_transmit(struct sock *sk, u32 seq, u32 len, u8 flags, gfp_t gfp)
{
	struct etp_sock *ep = etp_sk(sk);
	struct inet_sock *inet = inet_sk(sk);
	unsigned int hlen = ETP_HDR_LEN;
	struct sk_buff *skb;
	struct etphdr *th;
	__wsum csum;
	int err;

	if (flags & ETP_FLAG_SYN) {
		hlen += ETP_OPT_MSS_LEN;
		if (etp_offer_wscale(sk))
			hlen += 1 + ETP_OPT_WSCALE_LEN;	/* NOP, WS */
	}

	/*
	 * Small segments are linear, so that the receiver's memory charge
	 * (truesize) stays close to the payload; large ones go in pages.
	 */
	if (len <= ETP_LINEAR_MAX) {
		skb = alloc_skb(MAX_HEADER + hlen + len, gfp);
		if (!skb)
			return -ENOBUFS;
		skb_reserve(skb, MAX_HEADER + hlen);
		skb_put(skb, len);
	} else {
		skb = alloc_skb_with_frags(MAX_HEADER + hlen, len,
					   PAGE_ALLOC_COSTLY_ORDER, &err, gfp);
		if (!skb)
			return -ENOBUFS;
		skb_reserve(skb, MAX_HEADER + hlen);
		skb->data_len = len;
		skb->len = len;
	}
	if (len) {
		if (etp_copy_from_queue(sk, skb, seq, len)) {
			kfree_skb(skb);
			return -EFAULT;
		}
	}

	th = skb_push(skb, hlen);
	skb_reset_transport_header(skb);
	th->source = inet->inet_sport;
	th->dest = inet->inet_dport;
	th->seq = htonl(seq);
	th->ack_seq = (flags & ETP_FLAG_ACK) ? htonl(ep->rcv_nxt) : 0;
	th->doff_res = (hlen / 4) << 4;
	th->flags = flags;
	if (flags & ETP_FLAG_SYN)
		th->window = htons(etp_select_window(sk, true));
	else
		th->window = htons(etp_select_window(sk, false) >>
				   ep->rcv_wscale);
	th->check = 0;
	th->urg_ptr = 0;
	if (flags & ETP_FLAG_SYN) {
		u8 *opt = (u8 *)(th + 1);

		opt[0] = ETP_OPT_MSS;
		opt[1] = ETP_OPT_MSS_LEN;
		put_unaligned_be16(etp_advertised_mss(sk), opt + 2);
		if (hlen > ETP_HDR_LEN + ETP_OPT_MSS_LEN) {
			opt[4] = ETP_OPT_NOP;
			opt[5] = ETP_OPT_WSCALE;
			opt[6] = ETP_OPT_WSCALE_LEN;
			opt[7] = ep->rcv_wscale;
		}
	}
	/* Any ACK we send carries rcv_nxt: nothing is left to acknowledge. */
	if (flags & ETP_FLAG_ACK)
		etp_ack_sent(sk);

	csum = skb_checksum(skb, 0, skb->len, 0);
	th->check = csum_tcpudp_magic(inet->inet_saddr, inet->inet_daddr,
				      skb->len, IPPROTO_ETP, csum);
	skb->ip_summed = CHECKSUM_NONE;
	skb_set_owner_w(skb, sk);

	if ((len || (flags & (ETP_FLAG_SYN | ETP_FLAG_FIN))) &&
	    etp_before(seq, ep->snd_max))
		trace_etp_segment_retransmit(sk, sk->sk_state, inet->inet_saddr,
					     inet->inet_daddr, th, len);
	else
		trace_etp_segment_send(sk, sk->sk_state, inet->inet_saddr,
				       inet->inet_daddr, th, len);
	ETP_INC_STATS(sock_net(sk), ETP_MIB_OUTSEGS);
	if (flags & ETP_FLAG_RST)
		ETP_INC_STATS(sock_net(sk), ETP_MIB_OUTRSTS);
	/*
	 * A segment dropped below us (a netfilter rule, a full queue) is
	 * lost like one dropped on the wire: it counts as sent, and the
	 * retransmission timer recovers it. Only a segment that could not
	 * be built is reported.
	 */
	ip_queue_xmit(sk, skb, &inet->cork.fl);
	return 0;
}

/*
 * A segment without data or FIN carries snd_max, the highest sequence
 * number sent, not snd_nxt: after a timeout snd_nxt goes back ("go back
 * N") while the peer may already hold everything up to snd_max, and it
 * would drop an ACK numbered below its rcv_nxt as an old duplicate.
 */
void etp_send_ack(struct sock *sk)
{
	etp_transmit(sk, etp_sk(sk)->snd_max, 0, ETP_FLAG_ACK, GFP_ATOMIC);
}

/* A segment with the ACK bit went out: no ACK is owed any more. */
void etp_ack_sent(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);

	ep->ack_pending = 0;
	ep->ack_now = 0;
	if (timer_pending(&ep->delack_timer))
		sk_stop_timer(sk, &ep->delack_timer);
}

/*
 * Received data is owed an ACK that no data segment carried. RFC 9293,
 * 3.8.6.3 and RFC 5681, 4.2: ACK at once when asked to (out-of-order
 * data, a hole filled, a duplicate) or when two full-sized segments are
 * unacknowledged; also when the peer has used half the window we gave it,
 * or a small window would hold the sender up for the whole delay.
 * Otherwise wait up to net.etp.delack_ms for data to carry it.
 */
void etp_ack_snd_check(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	int ms;

	if (!ep->ack_pending && !ep->ack_now)
		return;
	if (ep->ack_now || ep->rcv_nxt - ep->rcv_wup >= 2U * ep->rcv_mss ||
	    ep->rcv_nxt - ep->rcv_wup >= ep->rcv_wnd / 2) {
		etp_send_ack(sk);
		return;
	}
	if (!timer_pending(&ep->delack_timer)) {
		ms = READ_ONCE(etp_pernet(sock_net(sk))->delack_ms);
		sk_reset_timer(sk, &ep->delack_timer,
			       jiffies + etp_ms_to_jiffies(ms));
	}
}

/* First SYN, SYN-ACK, or one of their retransmissions. */
void etp_send_syn(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	u8 flags = ETP_FLAG_SYN;

	if (sk->sk_state == TCP_SYN_RECV)
		flags |= ETP_FLAG_ACK;
	if (ep->snd_max == ep->iss) {
		ep->rtt_pending = 1;
		ep->rtt_seq = ep->iss + 1;
		ep->rtt_start_us = div_u64(ktime_get_ns(), NSEC_PER_USEC);
	}
	etp_transmit(sk, ep->iss, 0, flags, GFP_ATOMIC);
	ep->snd_nxt = ep->iss + 1;
	ep->snd_max = ep->iss + 1;
}

void etp_send_active_reset(struct sock *sk, gfp_t gfp)
{
	etp_transmit(sk, etp_sk(sk)->snd_max, 0, ETP_FLAG_RST | ETP_FLAG_ACK,
		     gfp);
}

static void etp_sent(struct sock *sk, u32 seq, u32 end)
{
	struct etp_sock *ep = etp_sk(sk);

	if (etp_before(seq, ep->snd_max)) {
		ep->total_retrans++;
		ETP_INC_STATS(sock_net(sk), ETP_MIB_RETRANSSEGS);
	} else {
		/* Payload only: a FIN takes a sequence number, not a byte. */
		if (etp_before(seq, ep->write_seq))
			ep->bytes_sent += min_t(u32, end, ep->write_seq) - seq;
		if (!ep->rtt_pending) {
			/* RFC 6298, 3: time one segment at a time. */
			ep->rtt_pending = 1;
			ep->rtt_seq = end;
			ep->rtt_start_us = div_u64(ktime_get_ns(),
						   NSEC_PER_USEC);
		}
	}
	ep->snd_nxt = end;
	if (etp_after(end, ep->snd_max))
		ep->snd_max = end;
}

static bool etp_may_send_data(int state)
{
	return (1 << state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT |
			       TCPF_FIN_WAIT1 | TCPF_CLOSING | TCPF_LAST_ACK);
}

/*
 * May a segment of len < mss bytes go out now? Its data is all there is
 * (avail == len) or the peer's window cuts it short.
 *  - Nagle (RFC 9293, 3.7.4): the tail of the data waits while earlier
 *    data is unacknowledged, unless ETP_NODELAY is set or a FIN follows.
 *  - Sender silly-window avoidance (RFC 9293, 3.8.6.2.1): a segment cut
 *    short by the window goes only if it fills half the largest window
 *    the peer ever offered.
 * The retry timer overrides both when nothing else would send
 * (ETP_PUSH_FORCE); a writer that has more to queue at once sends only
 * full segments (ETP_PUSH_MORE).
 */
static bool etp_small_segment_ok(const struct etp_sock *ep, u32 len,
				 u32 avail, enum etp_push_mode mode)
{
	if (mode == ETP_PUSH_FORCE)
		return true;
	if (len == avail)
		return mode != ETP_PUSH_MORE &&
		       (ep->nodelay || ep->fin_queued ||
			ep->snd_nxt == ep->snd_una);
	return len >= ep->max_snd_wnd / 2;
}

/*
 * Send new data from snd_nxt on, as much as both windows allow: the
 * peer's receive window (snd_una + snd_wnd) and the congestion window
 * (at most cwnd bytes between snd_una and snd_nxt). Then the FIN, once
 * every byte before it has gone out; the FIN needs no window.
 */
void __etp_push(struct sock *sk, enum etp_push_mode mode)
{
	struct etp_sock *ep = etp_sk(sk);

	if (!etp_may_send_data(sk->sk_state))
		return;
	etp_sync_mss(sk);

	while (etp_before(ep->snd_nxt, ep->write_seq)) {
		u32 wnd_end = ep->snd_una + ep->snd_wnd;
		u32 in_flight = ep->snd_nxt - ep->snd_una;
		u32 avail = ep->write_seq - ep->snd_nxt;
		u32 len = min_t(u32, ep->mss, avail);
		u8 flags = ETP_FLAG_ACK;

		if (!etp_before(ep->snd_nxt, wnd_end))
			break;			/* the persist timer takes over */
		if (in_flight + len > ep->cwnd && in_flight)
			break;			/* an ACK will open cwnd */
		len = min(len, wnd_end - ep->snd_nxt);
		if (len < ep->mss && !etp_small_segment_ok(ep, len, avail, mode))
			break;
		if (mode == ETP_PUSH_FORCE)
			mode = ETP_PUSH_NORMAL;
		if (ep->snd_nxt + len == ep->write_seq)
			flags |= ETP_FLAG_PSH;
		if (etp_transmit(sk, ep->snd_nxt, len, flags, GFP_ATOMIC))
			break;
		etp_sent(sk, ep->snd_nxt, ep->snd_nxt + len);
	}

	if (ep->fin_queued && ep->snd_nxt == ep->write_seq &&
	    !etp_transmit(sk, ep->write_seq, 0, ETP_FLAG_FIN | ETP_FLAG_ACK,
			  GFP_ATOMIC))
		etp_sent(sk, ep->write_seq, ep->write_seq + 1);

	etp_rearm_rtx(sk);
}

void etp_push(struct sock *sk)
{
	__etp_push(sk, ETP_PUSH_NORMAL);
}

/*
 * Send the first unacknowledged segment again without moving snd_nxt:
 * fast retransmit, and NewReno's answer to a partial ACK (RFC 6582, 3.2).
 */
void etp_retransmit_una(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	u32 len = 0;
	u8 flags = ETP_FLAG_ACK;

	etp_sync_mss(sk);
	if (etp_before(ep->snd_una, ep->write_seq))
		len = min_t(u32, ep->mss, ep->write_seq - ep->snd_una);
	else if (ep->fin_queued)
		flags |= ETP_FLAG_FIN;
	else
		return;
	if (etp_transmit(sk, ep->snd_una, len, flags, GFP_ATOMIC))
		return;
	ep->rtt_pending = 0;	/* Karn: no sample across a retransmission */
	ep->total_retrans++;
	ep->lost++;
	ETP_INC_STATS(sock_net(sk), ETP_MIB_RETRANSSEGS);
}

/*
 * RFC 6298, 5.4: on a timeout, send the earliest unacknowledged segment
 * again. snd_nxt goes back to snd_una, so the segments after it are sent
 * again as ACKs open the congestion window ("go back N"); what the
 * receiver already holds in its out-of-order queue is acknowledged at
 * once, and snd_nxt jumps forward with that ACK.
 */
void etp_retransmit_head(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	u32 len;

	etp_sync_mss(sk);
	ep->snd_nxt = ep->snd_una;
	ep->lost++;
	if (etp_before(ep->snd_una, ep->write_seq)) {
		len = min_t(u32, ep->mss, ep->write_seq - ep->snd_una);
		if (!etp_transmit(sk, ep->snd_una, len,
				  ETP_FLAG_ACK | ETP_FLAG_PSH, GFP_ATOMIC))
			etp_sent(sk, ep->snd_una, ep->snd_una + len);
	} else if (ep->fin_queued &&
		   !etp_transmit(sk, ep->write_seq, 0,
				 ETP_FLAG_FIN | ETP_FLAG_ACK, GFP_ATOMIC)) {
		etp_sent(sk, ep->write_seq, ep->write_seq + 1);
	}
}

/* A segment that answers skb without a socket: RST, or an ACK from TIME_WAIT. */
void etp_v4_send_reply(struct net *net, const struct sk_buff *in, u32 seq,
		       u32 ack, u8 flags, u16 window, int state, u16 mss)
{
	unsigned int hlen = ETP_HDR_LEN + (mss ? ETP_OPT_MSS_LEN : 0);
	const struct iphdr *iiph = ip_hdr(in);
	const struct etphdr *ith = etp_hdr(in);
	struct sk_buff *skb;
	struct etphdr *th;
	struct iphdr *iph;
	struct flowi4 fl4;
	struct rtable *rt;

	flowi4_init_output(&fl4, 0, 0, 0, RT_SCOPE_UNIVERSE, IPPROTO_ETP, 0,
			   iiph->saddr, iiph->daddr, ith->source, ith->dest,
			   sock_net_uid(net, NULL));
	rt = ip_route_output_key(net, &fl4);
	if (IS_ERR(rt))
		return;

	skb = alloc_skb(MAX_HEADER + sizeof(struct iphdr) + hlen, GFP_ATOMIC);
	if (!skb) {
		ip_rt_put(rt);
		return;
	}
	skb_reserve(skb, MAX_HEADER + sizeof(struct iphdr) + hlen);

	th = skb_push(skb, hlen);
	skb_reset_transport_header(skb);
	memset(th, 0, hlen);
	th->source = ith->dest;
	th->dest = ith->source;
	th->seq = htonl(seq);
	th->ack_seq = (flags & ETP_FLAG_ACK) ? htonl(ack) : 0;
	th->doff_res = (hlen / 4) << 4;
	th->flags = flags;
	th->window = htons(window);
	if (mss) {
		u8 *opt = (u8 *)(th + 1);

		opt[0] = ETP_OPT_MSS;
		opt[1] = ETP_OPT_MSS_LEN;
		put_unaligned_be16(mss, opt + 2);
	}
	th->check = csum_tcpudp_magic(fl4.saddr, fl4.daddr, hlen, IPPROTO_ETP,
				      csum_partial(th, hlen, 0));

	iph = skb_push(skb, sizeof(struct iphdr));
	skb_reset_network_header(skb);
	iph->version = 4;
	iph->ihl = 5;
	iph->tos = 0;
	iph->frag_off = htons(IP_DF);
	iph->ttl = ip4_dst_hoplimit(&rt->dst);
	iph->protocol = IPPROTO_ETP;
	iph->saddr = fl4.saddr;
	iph->daddr = fl4.daddr;
	iph->tot_len = htons(skb->len);
	skb->protocol = htons(ETH_P_IP);
	skb_dst_set(skb, &rt->dst);
	ip_select_ident(net, skb, NULL);

	trace_etp_segment_send(NULL, state, fl4.saddr, fl4.daddr, th, 0);
	ETP_INC_STATS(net, ETP_MIB_OUTSEGS);
	if (flags & ETP_FLAG_RST)
		ETP_INC_STATS(net, ETP_MIB_OUTRSTS);
	ip_local_out(net, NULL, skb);
}

/*
 * RFC 9293, 3.10.7.1: the RST for a segment that has no connection takes
 * its sequence number from the segment's ACK field, or, if there is none,
 * acknowledges the segment. A RST is never answered.
 */
void etp_v4_send_reset(struct net *net, const struct sk_buff *skb)
{
	const struct etp_skb_cb *cb = ETP_SKB_CB(skb);

	if (cb->flags & ETP_FLAG_RST)
		return;
	if (cb->flags & ETP_FLAG_ACK)
		etp_v4_send_reply(net, skb, cb->ack, 0, ETP_FLAG_RST, 0,
				  TCP_CLOSE, 0);
	else
		etp_v4_send_reply(net, skb, 0, cb->end_seq,
				  ETP_FLAG_RST | ETP_FLAG_ACK, 0, TCP_CLOSE, 0);
}

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
#include <linux/unaligned.h>
#include "etp.h"

/*
 * The window to advertise: half the free receive buffer, because skb
 * overhead (truesize) takes the other half. RFC 9293, 3.8.6.2.2: the
 * right edge is never moved left, and it is only moved right by at least
 * one MSS or half the buffer (receiver silly-window avoidance).
 */
u32 etp_select_window(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	int space = READ_ONCE(sk->sk_rcvbuf) - atomic_read(&sk->sk_rmem_alloc);
	u32 cur = 0, win;

	if (etp_after(ep->rcv_wup + ep->rcv_wnd, ep->rcv_nxt))
		cur = ep->rcv_wup + ep->rcv_wnd - ep->rcv_nxt;
	win = space > 0 ? space / 2 : 0;
	win = min(win, ETP_MAX_WINDOW);
	if (win < cur)
		win = cur;
	else if (win - cur < min_t(u32, ep->mss, READ_ONCE(sk->sk_rcvbuf) / 4) &&
		 win != ETP_MAX_WINDOW && cur)
		win = cur;

	ep->rcv_wnd = win;
	ep->rcv_wup = ep->rcv_nxt;
	return win;
}

/* Payload bytes per segment: the route's MTU, capped by the peer's MSS. */
void etp_set_mss(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	struct dst_entry *dst = __sk_dst_get(sk);
	u32 mtu = dst ? dst_mtu(dst) : 576;
	u32 mss = mtu - sizeof(struct iphdr) - ETP_HDR_LEN;

	if (ep->peer_mss)
		mss = min_t(u32, mss, ep->peer_mss);
	ep->mss = clamp_t(u32, mss, ETP_MSS_MIN, 65535 - 40);
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

	if (flags & ETP_FLAG_SYN)
		hlen += ETP_OPT_MSS_LEN;

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
	th->window = htons(etp_select_window(sk));
	th->check = 0;
	th->urg_ptr = 0;
	if (flags & ETP_FLAG_SYN) {
		u8 *opt = (u8 *)(th + 1);

		opt[0] = ETP_OPT_MSS;
		opt[1] = ETP_OPT_MSS_LEN;
		put_unaligned_be16(etp_advertised_mss(sk), opt + 2);
	}

	csum = skb_checksum(skb, 0, skb->len, 0);
	th->check = csum_tcpudp_magic(inet->inet_saddr, inet->inet_daddr,
				      skb->len, IPPROTO_ETP, csum);
	skb->ip_summed = CHECKSUM_NONE;
	skb_set_owner_w(skb, sk);

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

void etp_send_ack(struct sock *sk)
{
	etp_transmit(sk, etp_sk(sk)->snd_nxt, 0, ETP_FLAG_ACK, GFP_ATOMIC);
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
	etp_transmit(sk, etp_sk(sk)->snd_nxt, 0, ETP_FLAG_RST | ETP_FLAG_ACK,
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
 * Send what the peer's window allows, from snd_nxt on, then the FIN once
 * every byte before it has gone out. The FIN needs no window.
 */
void etp_push(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);

	if (!etp_may_send_data(sk->sk_state))
		return;

	while (etp_before(ep->snd_nxt, ep->write_seq)) {
		u32 wnd_end = ep->snd_una + ep->snd_wnd;
		u32 len;
		u8 flags = ETP_FLAG_ACK;

		if (!etp_before(ep->snd_nxt, wnd_end))
			break;
		len = min3((u32)ep->mss, ep->write_seq - ep->snd_nxt,
			   wnd_end - ep->snd_nxt);
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

/*
 * RFC 6298, 5.4: on a timeout, send the earliest unacknowledged segment
 * again. snd_nxt goes back to snd_una, so the segments after it are sent
 * again as acknowledgments open the window ("go back N"); out-of-order
 * queueing at the receiver and fast retransmit build on this.
 */
void etp_retransmit_head(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	u32 len;

	ep->snd_nxt = ep->snd_una;
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
		       u32 ack, u8 flags, u16 window)
{
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

	skb = alloc_skb(MAX_HEADER + sizeof(struct iphdr) + ETP_HDR_LEN,
			GFP_ATOMIC);
	if (!skb) {
		ip_rt_put(rt);
		return;
	}
	skb_reserve(skb, MAX_HEADER + sizeof(struct iphdr) + ETP_HDR_LEN);

	th = skb_push(skb, ETP_HDR_LEN);
	skb_reset_transport_header(skb);
	memset(th, 0, ETP_HDR_LEN);
	th->source = ith->dest;
	th->dest = ith->source;
	th->seq = htonl(seq);
	th->ack_seq = (flags & ETP_FLAG_ACK) ? htonl(ack) : 0;
	th->doff_res = (ETP_HDR_LEN / 4) << 4;
	th->flags = flags;
	th->window = htons(window);
	th->check = csum_tcpudp_magic(fl4.saddr, fl4.daddr, ETP_HDR_LEN,
				      IPPROTO_ETP,
				      csum_partial(th, ETP_HDR_LEN, 0));

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
		etp_v4_send_reply(net, skb, cb->ack, 0, ETP_FLAG_RST, 0);
	else
		etp_v4_send_reply(net, skb, 0, cb->end_seq,
				  ETP_FLAG_RST | ETP_FLAG_ACK, 0);
}

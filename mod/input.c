// SPDX-License-Identifier: GPL-2.0
/*
 * ETP's receive path: validation of arriving segments, socket lookup,
 * and the RFC 9293 state machine ("3.10.7 SEGMENT ARRIVES").
 *
 * Segments arrive in softirq context. A segment for a connection is
 * handled under the socket's spinlock, or queued to the socket's backlog
 * when a process owns the socket; release_sock() then feeds the backlog
 * to etp_do_rcv(). Listeners are handled without their socket lock: all
 * the state a SYN touches is the listener's queues, under accept_lock.
 */
#include <linux/skbuff.h>
#include <linux/icmp.h>
#include <net/ip.h>
#include <net/icmp.h>
#include <net/route.h>
#include <net/xfrm.h>
#include <net/checksum.h>
#include "etp.h"
#include "trace.h"

/*
 * RFC 9293, 3.2: ETP reads the MSS option and RFC 7323's window scale
 * option, both only on a SYN; other options are skipped. An option with
 * a wrong length, or running past the header, makes the segment invalid.
 */
static bool etp_parse_options(const struct etphdr *th, struct etp_skb_cb *cb)
{
	const u8 *opt = (const u8 *)(th + 1);
	int len = (th->doff_res >> 4) * 4 - ETP_HDR_LEN;

	cb->mss = 0;
	cb->wscale = ETP_WSCALE_NONE;
	while (len > 0) {
		u8 kind = opt[0], olen;

		if (kind == ETP_OPT_EOL)
			break;
		if (kind == ETP_OPT_NOP) {
			opt++;
			len--;
			continue;
		}
		if (len < 2)
			return false;
		olen = opt[1];
		if (olen < 2 || olen > len)
			return false;
		if (kind == ETP_OPT_MSS) {
			if (olen != ETP_OPT_MSS_LEN)
				return false;
			if (th->flags & ETP_FLAG_SYN)
				cb->mss = get_unaligned_be16(opt + 2);
		} else if (kind == ETP_OPT_WSCALE) {
			if (olen != ETP_OPT_WSCALE_LEN)
				return false;
			/* RFC 7323, 2.3: a shift above 14 is taken as 14. */
			if (th->flags & ETP_FLAG_SYN)
				cb->wscale = min_t(u8, opt[2], ETP_MAX_WSCALE);
		}
		opt += olen;
		len -= olen;
	}
	return true;
}

/*
 * RFC 9293, 3.10.7.4, first check: is the segment inside the receive
 * window? A zero-length segment must start in it (or, as Linux TCP
 * allows, at its right edge, where a peer that filled the window numbers
 * its ACKs); a segment with data must start or end in it; with a zero
 * window only a segment without data at rcv_nxt is acceptable, a bare FIN
 * included (a FIN needs no window).
 */
static bool etp_sequence_ok(const struct etp_sock *ep,
			    const struct etp_skb_cb *cb, u32 data_len)
{
	u32 len = cb->end_seq - cb->seq;
	u32 wnd = ep->rcv_wnd - (ep->rcv_nxt - ep->rcv_wup);

	if (etp_after(ep->rcv_nxt, ep->rcv_wup + ep->rcv_wnd))
		wnd = 0;
	if (!wnd && !data_len)
		return cb->seq == ep->rcv_nxt;
	if (!len)
		return !etp_before(cb->seq, ep->rcv_nxt) &&
		       !etp_after(cb->seq, ep->rcv_nxt + wnd);
	if (!wnd)
		return false;
	return (!etp_before(cb->seq, ep->rcv_nxt) &&
		etp_before(cb->seq, ep->rcv_nxt + wnd)) ||
	       (!etp_before(cb->end_seq - 1, ep->rcv_nxt) &&
		etp_before(cb->end_seq - 1, ep->rcv_nxt + wnd));
}

/*
 * The connection is over without a FIN exchange: a RST was accepted (RFC
 * 9293, 3.10.7.4), or we are about to send one. @why is for the trace.
 */
void etp_reset(struct sock *sk, const char *why)
{
	struct etp_sock *ep = etp_sk(sk);
	int err;

	if (ep->parent && sk->sk_state == TCP_SYN_RECV) {
		/* A half-open child simply goes away; the listener stays. */
		struct etp_sock *lep = etp_sk(ep->parent);
		bool detached = false;

		spin_lock_bh(&lep->accept_lock);
		if (!lep->listen_closed) {
			list_del_init(&ep->child_node);
			lep->syn_qlen--;
			detached = true;
		}
		spin_unlock_bh(&lep->accept_lock);
		if (!detached)
			return;		/* the closing listener reaps it */
		sock_put(ep->parent);
		ep->parent = NULL;
		sock_orphan(sk);
		etp_done(sk, why);
		return;
	}

	switch (sk->sk_state) {
	case TCP_SYN_SENT:
		err = ECONNREFUSED;
		ETP_INC_STATS(sock_net(sk), ETP_MIB_ATTEMPTFAILS);
		break;
	case TCP_CLOSE_WAIT:
		err = EPIPE;
		break;
	case TCP_CLOSE:
		return;
	default:
		err = ECONNRESET;
	}
	if ((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT))
		ETP_INC_STATS(sock_net(sk), ETP_MIB_ESTABRESETS);
	WRITE_ONCE(sk->sk_err, err);
	sk_error_report(sk);
	etp_done(sk, why);
}

/*
 * At most one answer per ETP_OOW_ACK_INTERVAL to segments that are not
 * trusted: returns true when this one must stay unanswered.
 */
static bool etp_oow_rate_limited(struct etp_sock *ep)
{
	unsigned long now = jiffies;

	if (ep->last_oow_ack &&
	    time_before(now, ep->last_oow_ack + ETP_OOW_ACK_INTERVAL))
		return true;
	ep->last_oow_ack = now ?: 1;
	return false;
}

/*
 * An ACK in answer to a segment outside the window. Two ends that disagree
 * about sequence numbers (a forged segment moved one of them) would answer
 * each other's empty ACKs forever, so, as Linux TCP does, such answers to
 * segments without data are rate-limited. Data outside the window is a
 * retransmission whose ACK was lost: it is answered every time.
 */
static void etp_send_oow_ack(struct sock *sk, const struct sk_buff *skb)
{
	const struct etp_skb_cb *cb = ETP_SKB_CB(skb);

	if ((cb->end_seq == cb->seq || (cb->flags & ETP_FLAG_SYN)) &&
	    etp_oow_rate_limited(etp_sk(sk)))
		return;
	etp_send_ack(sk);
}

/*
 * RFC 5961, 3.2, 4.2 and 5.2: answer a doubtful RST, SYN or ACK with an
 * ACK, at most once per ETP_OOW_ACK_INTERVAL whatever the segment
 * carries (RFC 5961, 7), so that blind segments cannot make us send at
 * their rate.
 */
static void etp_challenge_ack(struct sock *sk)
{
	if (etp_oow_rate_limited(etp_sk(sk)))
		return;
	ETP_INC_STATS(sock_net(sk), ETP_MIB_CHALLENGEACKS);
	etp_send_ack(sk);
}

/* Free send-queue skbs whose bytes are all acknowledged. */
static void etp_clean_acked(struct sock *sk, u32 ack)
{
	struct etp_sock *ep = etp_sk(sk);
	struct sk_buff *skb;
	u32 data_end = etp_after(ack, ep->write_seq) ? ep->write_seq : ack;
	u32 from;

	/* Payload bytes run from iss + 1 to write_seq; SYN and FIN are not. */
	from = etp_after(ep->snd_una, ep->iss) ? ep->snd_una : ep->iss + 1;
	if (etp_after(data_end, from))
		ep->bytes_acked += data_end - from;

	while ((skb = skb_peek(&sk->sk_write_queue)) &&
	       !etp_after(ETP_SKB_CB(skb)->end_seq, data_end)) {
		__skb_unlink(skb, &sk->sk_write_queue);
		etp_wmem_free_skb(sk, skb);
	}
	sk_mem_reclaim(sk);

	/* RFC 6298, 3 (Karn): sample only a never-retransmitted segment. */
	if (ep->rtt_pending && !etp_before(ack, ep->rtt_seq)) {
		u64 now = div_u64(ktime_get_ns(), NSEC_PER_USEC);

		ep->rtt_pending = 0;
		etp_rtt_sample(sk, (u32)min_t(u64, now - ep->rtt_start_us,
					      U32_MAX));
	}

	ep->snd_una = ack;
	if (etp_after(ack, ep->snd_nxt))
		ep->snd_nxt = ack;
	/* RFC 6298, 5.3 and 5.7: new data acknowledged restarts the timer. */
	ep->backoff = 0;
	ep->retries = 0;
	sk_stop_timer(sk, &ep->rtx_timer);
	ep->persist = 0;
	etp_write_space(sk);
}

static bool etp_fin_acked(const struct etp_sock *ep)
{
	return ep->fin_queued && ep->snd_una == ep->write_seq + 1;
}

/* The window a segment announces, in bytes (a SYN's is never scaled). */
static u32 etp_seg_window(const struct etp_sock *ep,
			  const struct etp_skb_cb *cb)
{
	if (cb->flags & ETP_FLAG_SYN)
		return cb->window;
	return (u32)cb->window << ep->snd_wscale;
}

static void etp_set_snd_wnd(struct etp_sock *ep, u32 wnd,
			    const struct etp_skb_cb *cb)
{
	ep->snd_wnd = wnd;
	ep->snd_wl1 = cb->seq;
	ep->snd_wl2 = cb->ack;
	ep->max_snd_wnd = max(ep->max_snd_wnd, wnd);
}

/* RFC 5681, (4): half the flight, but at least two segments. */
static u32 etp_ssthresh_after_loss(const struct etp_sock *ep)
{
	return max_t(u32, (ep->snd_max - ep->snd_una) / 2, 2 * ep->mss);
}

/*
 * RFC 5681, 3.2 and RFC 6582, 3.2, step 2: the third duplicate ACK.
 * The segment at snd_una is taken as lost: send it again, halve the
 * congestion window and inflate it by the three segments that have left
 * the network, and remember snd_max to tell partial from full ACKs.
 */
static void etp_enter_fast_recovery(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	struct net *net = sock_net(sk);

	ep->ssthresh = etp_ssthresh_after_loss(ep);
	ep->recover = ep->snd_max;
	ep->ca_state = ETP_CA_RECOVERY;
	ep->fast_retrans++;
	ETP_INC_STATS(net, ETP_MIB_FASTRECOVERY);
	ETP_INC_STATS(net, ETP_MIB_FASTRETRANS);
	etp_retransmit_una(sk);
	ep->cwnd = ep->ssthresh + ETP_DUPACK_THRESH * ep->mss;
}

/* RFC 5681, 2: an ACK that acknowledges nothing new while data is out. */
static void etp_dup_ack(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);

	ep->dup_acks_in++;
	ETP_INC_STATS(sock_net(sk), ETP_MIB_INDUPACKS);
	switch (ep->ca_state) {
	case ETP_CA_RECOVERY:
		/* RFC 5681, 3.2, step 4: one more segment has left. */
		ep->cwnd += ep->mss;
		break;
	case ETP_CA_LOSS:
		/* Go-back-N after a timeout resends all of it anyway. */
		break;
	default:
		/*
		 * RFC 6582, 3.2, step 1: not for data sent before the last
		 * recovery ended (duplicates of go-back-N segments).
		 */
		if (++ep->dup_acks == ETP_DUPACK_THRESH &&
		    !etp_before(ep->snd_una, ep->recover))
			etp_enter_fast_recovery(sk);
	}
}

/*
 * New data acknowledged: @acked bytes, @in_flight were outstanding
 * before this ACK. Slow start below ssthresh, congestion avoidance above
 * (RFC 5681, 3.1); the end of NewReno fast recovery (RFC 6582, 3.2).
 */
static void etp_cong_ack(struct sock *sk, u32 acked, u32 in_flight)
{
	struct etp_sock *ep = etp_sk(sk);

	ep->dup_acks = 0;
	if (ep->ca_state == ETP_CA_RECOVERY) {
		if (etp_before(ep->snd_una, ep->recover)) {
			/*
			 * Partial ACK (step 5): the next hole is lost too.
			 * Resend it and deflate cwnd by what left the
			 * network, adding back one segment.
			 */
			etp_retransmit_una(sk);
			ep->cwnd -= min(ep->cwnd - ep->mss, acked);
			if (acked >= ep->mss)
				ep->cwnd += ep->mss;
			return;
		}
		/* Full ACK (step 3): deflate the window, leave recovery. */
		ep->cwnd = min(ep->ssthresh,
			       max_t(u32, ep->snd_max - ep->snd_una, ep->mss) +
			       ep->mss);
		ep->ca_state = ETP_CA_OPEN;
		return;
	}
	if (ep->ca_state == ETP_CA_LOSS && !etp_before(ep->snd_una, ep->recover))
		ep->ca_state = ETP_CA_OPEN;

	/* Grow only a window that was in use (RFC 7661's concern). */
	if (ep->cwnd < ep->ssthresh) {
		if (2 * in_flight >= ep->cwnd)
			ep->cwnd += min_t(u32, acked, ep->mss);
	} else if (in_flight + ep->mss >= ep->cwnd) {
		ep->cwnd_acked += acked;
		if (ep->cwnd_acked >= ep->cwnd) {
			ep->cwnd_acked -= ep->cwnd;
			ep->cwnd += ep->mss;
		}
	}
}

/* A retransmission timeout (RFC 5681, 3.1, (4) and the loss window). */
void etp_cong_timeout(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);

	/* A segment timed out again: ssthresh was set by the first timeout. */
	if (!ep->retries)
		ep->ssthresh = etp_ssthresh_after_loss(ep);
	ep->cwnd = ep->mss;
	ep->cwnd_acked = 0;
	ep->dup_acks = 0;
	ep->recover = ep->snd_max;
	ep->ca_state = ETP_CA_LOSS;
}

/* RFC 9293, 3.10.7.4, fifth check: the ACK field. */
static bool etp_ack(struct sock *sk, struct sk_buff *skb)
{
	struct etp_sock *ep = etp_sk(sk);
	struct etp_skb_cb *cb = ETP_SKB_CB(skb);
	u32 wnd = etp_seg_window(ep, cb);

	if (etp_after(cb->ack, ep->snd_max)) {
		/*
		 * RFC 5961, 5.2: acknowledges something never sent: ACK
		 * back (rate-limited, it may be forged), drop.
		 */
		ETP_INC_STATS(sock_net(sk), ETP_MIB_INACKUNSENT);
		if (!etp_oow_rate_limited(ep))
			etp_send_ack(sk);
		return false;
	}
	/*
	 * RFC 5961, 5.2: an ACK further below snd_una than the peer's
	 * largest window is not from the peer; a blind injection attempt
	 * must guess the ACK too. Challenge it, drop the segment.
	 */
	if (etp_before(cb->ack, ep->snd_una - ep->max_snd_wnd)) {
		etp_challenge_ack(sk);
		return false;
	}
	if (etp_after(cb->ack, ep->snd_una)) {
		u32 in_flight = ep->snd_max - ep->snd_una;
		u32 acked = cb->ack - ep->snd_una;

		etp_clean_acked(sk, cb->ack);
		etp_cong_ack(sk, acked, in_flight);
	} else if (cb->ack == ep->snd_una && ep->snd_una != ep->snd_max &&
		   !skb->len &&
		   !(cb->flags & (ETP_FLAG_SYN | ETP_FLAG_FIN)) &&
		   wnd == ep->snd_wnd) {
		etp_dup_ack(sk);
	} else if (ep->persist) {
		ep->retries = 0;	/* the peer answers our window probes */
	}

	/* RFC 9293, 3.10.7.4: take the window from the newest segment. */
	if (!etp_before(cb->ack, ep->snd_una) &&
	    (etp_before(ep->snd_wl1, cb->seq) ||
	     (ep->snd_wl1 == cb->seq && !etp_before(cb->ack, ep->snd_wl2))))
		etp_set_snd_wnd(ep, wnd, cb);
	return true;
}

static void etp_established(struct sock *sk, struct sk_buff *skb,
			    const char *why)
{
	struct etp_sock *ep = etp_sk(sk);
	struct etp_skb_cb *cb = ETP_SKB_CB(skb);

	etp_set_snd_wnd(ep, etp_seg_window(ep, cb), cb);
	etp_set_mss(sk);
	/*
	 * RFC 6928's initial window of ten segments, as Linux TCP; one
	 * segment if the handshake lost a SYN or SYN-ACK (RFC 5681, 3.1):
	 * the only retransmissions before this point are of those.
	 */
	ep->cwnd = (ep->total_retrans ? 1 : ETP_INIT_CWND) * ep->mss;
	ep->ssthresh = ETP_INFINITE_SSTHRESH;
	ep->ca_state = ETP_CA_OPEN;
	ep->cwnd_acked = 0;
	ep->dup_acks = 0;
	ep->recover = ep->iss;
	ep->rcv_mss = min_t(u32, ep->mss, ETP_MSS_DEFAULT);
	etp_set_state(sk, TCP_ESTABLISHED, why);
}

/*
 * The handshake's last ACK reached a child: it moves from the listener's
 * half-open list to the accept queue. False if the accept queue is full;
 * the child stays in SYN_RECV and the peer will retransmit.
 */
static bool etp_child_ready(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	struct sock *parent = ep->parent;
	struct etp_sock *lep = etp_sk(parent);
	bool queued = false;

	spin_lock_bh(&lep->accept_lock);
	/* As in TCP, a backlog of n holds n + 1: listen(fd, 0) takes one. */
	if (!lep->listen_closed &&
	    lep->accept_qlen <= READ_ONCE(parent->sk_max_ack_backlog)) {
		list_move_tail(&ep->child_node, &lep->accept_queue);
		lep->syn_qlen--;
		lep->accept_qlen++;
		queued = true;
	}
	spin_unlock_bh(&lep->accept_lock);
	if (!queued)
		ETP_INC_STATS(sock_net(sk), ETP_MIB_LISTENOVERFLOWS);
	return queued;
}

/* Charge skb to the receive buffer: at most twice sk_rcvbuf in all. */
static bool etp_rmem_charge(struct sock *sk, struct sk_buff *skb)
{
	/*
	 * The window is sized so that sk_rcvbuf holds it; skb overhead can
	 * still overshoot, so in-window data is taken up to twice that.
	 */
	if (atomic_read(&sk->sk_rmem_alloc) + skb->truesize >
	    2 * READ_ONCE(sk->sk_rcvbuf) ||
	    !sk_rmem_schedule(sk, skb, skb->truesize))
		return false;
	skb_dst_drop(skb);
	skb_set_owner_r(skb, sk);
	if (skb->len) {
		struct etp_sock *ep = etp_sk(sk);
		u32 r = div_u64((u64)skb->len << 8, skb->truesize);

		/*
		 * Payload per truesize: down at once, up as a moving average
		 * with gain 1/8. A window once offered is never taken back,
		 * so an estimate that falls slowly would let a peer sending
		 * small segments fill twice the buffer before it fell.
		 */
		if (r < ep->rcv_ratio)
			ep->rcv_ratio = max_t(u32, r, 1);
		else
			ep->rcv_ratio = (7 * ep->rcv_ratio + r) / 8;
	}
	return true;
}

static void etp_ooo_unlink(struct sock *sk, struct sk_buff *skb)
{
	struct etp_sock *ep = etp_sk(sk);

	rb_erase(&skb->rbnode, &ep->ooo_root);
	if (ep->ooo_last == skb)
		ep->ooo_last = skb_rb_last(&ep->ooo_root);
	ep->ooo_bytes -= skb->len;
}

/*
 * In-order data may need the memory that out-of-order segments hold:
 * give it up from the highest sequence numbers down (the peer sends them
 * again), as TCP prunes its out-of-order queue.
 */
static bool etp_ooo_prune(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	struct sk_buff *skb;
	bool pruned = false;

	while ((skb = ep->ooo_last)) {
		etp_ooo_unlink(sk, skb);
		kfree_skb(skb);
		ETP_INC_STATS(sock_net(sk), ETP_MIB_OFODROPS);
		pruned = true;
	}
	sk_mem_reclaim(sk);
	return pruned;
}

/*
 * A segment beyond rcv_nxt (a hole before it): keep it, by sequence
 * number, unless the queued segment before it already covers it; drop
 * queued segments it covers. Partial overlaps stay: the reader skips
 * bytes it has copied. The hole is reported at once by a duplicate ACK
 * (RFC 5681, 4.2), which is what drives the sender's fast retransmit.
 */
static bool etp_ooo_queue(struct sock *sk, struct sk_buff *skb)
{
	struct etp_sock *ep = etp_sk(sk);
	struct etp_skb_cb *cb = ETP_SKB_CB(skb);
	struct rb_node **link, *parent = NULL;
	struct sk_buff *prev = NULL, *next;

	ep->ack_now = 1;
	ep->ooo_segs++;
	ETP_INC_STATS(sock_net(sk), ETP_MIB_INOUTOFORDER);

	/* Find where it goes, and the segment before it (prev). */
	if (ep->ooo_last && !etp_before(cb->seq, ETP_SKB_CB(ep->ooo_last)->seq)) {
		prev = ep->ooo_last;
		parent = &prev->rbnode;
		link = &parent->rb_right;
	} else {
		link = &ep->ooo_root.rb_node;
		while (*link) {
			struct sk_buff *s = rb_to_skb(*link);

			parent = *link;
			if (etp_before(cb->seq, ETP_SKB_CB(s)->seq)) {
				link = &parent->rb_left;
			} else {
				prev = s;
				link = &parent->rb_right;
			}
		}
	}
	if (prev && !etp_after(cb->end_seq, ETP_SKB_CB(prev)->end_seq)) {
		ETP_INC_STATS(sock_net(sk), ETP_MIB_INDUPDATA);
		return false;
	}
	if (!etp_rmem_charge(sk, skb)) {
		ETP_INC_STATS(sock_net(sk), ETP_MIB_OFODROPS);
		return false;
	}
	rb_link_node(&skb->rbnode, parent, link);
	rb_insert_color(&skb->rbnode, &ep->ooo_root);
	if (!ep->ooo_last ||
	    !etp_before(cb->seq, ETP_SKB_CB(ep->ooo_last)->seq))
		ep->ooo_last = skb;
	ep->ooo_bytes += skb->len;

	while ((next = skb_rb_next(skb)) &&
	       !etp_after(ETP_SKB_CB(next)->end_seq, cb->end_seq)) {
		etp_ooo_unlink(sk, next);
		kfree_skb(next);
	}
	return true;
}

/*
 * rcv_nxt moved: move the out-of-order segments it reached to the receive
 * queue. Returns true if one of them carried the FIN, which is then next
 * in sequence.
 */
static bool etp_ooo_drain(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	struct sk_buff *skb;
	bool fin = false;

	while (!fin && (skb = skb_rb_first(&ep->ooo_root))) {
		struct etp_skb_cb *cb = ETP_SKB_CB(skb);
		u32 end = cb->seq + skb->len;

		if (etp_after(cb->seq, ep->rcv_nxt))
			break;
		etp_ooo_unlink(sk, skb);
		fin = (cb->flags & ETP_FLAG_FIN) && !etp_before(end, ep->rcv_nxt);
		if (!etp_after(end, ep->rcv_nxt)) {
			kfree_skb(skb);		/* nothing new in it */
			continue;
		}
		__skb_queue_tail(&sk->sk_receive_queue, skb);
		ep->bytes_received += end - ep->rcv_nxt;
		WRITE_ONCE(ep->rcv_nxt, end);
	}
	ep->ack_now = 1;	/* RFC 5681, 4.2: a hole was filled */
	return fin;
}

/*
 * RFC 9293, 3.10.7.4, seventh check: segment text, in order to the
 * receive queue, beyond rcv_nxt to the out-of-order queue. Returns true
 * if skb was kept; *fin is set when a FIN is next in sequence (this
 * segment's or one from the out-of-order queue).
 */
static bool etp_data_queue(struct sock *sk, struct sk_buff *skb, bool *fin)
{
	struct etp_sock *ep = etp_sk(sk);
	struct etp_skb_cb *cb = ETP_SKB_CB(skb);
	u32 end = cb->seq + skb->len;

	*fin = (cb->flags & ETP_FLAG_FIN) && end == ep->rcv_nxt;
	if (skb->len > ep->rcv_mss)
		ep->rcv_mss = min_t(u32, skb->len, U16_MAX);

	if (etp_after(cb->seq, ep->rcv_nxt))
		return etp_ooo_queue(sk, skb);
	if (!skb->len)
		return false;
	if (!etp_after(end, ep->rcv_nxt)) {
		/* All of it arrived before: our ACK was lost. ACK again. */
		ETP_INC_STATS(sock_net(sk), ETP_MIB_INDUPDATA);
		ep->ack_now = 1;
		return false;
	}
	if (!etp_rmem_charge(sk, skb) &&
	    (!etp_ooo_prune(sk) || !etp_rmem_charge(sk, skb))) {
		ETP_INC_STATS(sock_net(sk), ETP_MIB_INRCVBUFDROPS);
		ep->ack_now = 1;
		return false;
	}

	__skb_queue_tail(&sk->sk_receive_queue, skb);
	ep->bytes_received += end - ep->rcv_nxt;
	WRITE_ONCE(ep->rcv_nxt, end);
	ep->ack_pending = 1;
	*fin = cb->flags & ETP_FLAG_FIN;
	if (!*fin && !RB_EMPTY_ROOT(&ep->ooo_root))
		*fin = etp_ooo_drain(sk);
	if (!sock_flag(sk, SOCK_DEAD))
		sk->sk_data_ready(sk);
	return true;
}

/* RFC 9293, 3.10.7.4, eighth check: the FIN bit. */
static void etp_fin(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);

	WRITE_ONCE(ep->rcv_nxt, ep->rcv_nxt + 1);
	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | RCV_SHUTDOWN);
	sock_set_flag(sk, SOCK_DONE);

	/* RFC 9293, 3.10.7.4, eighth check, per state. */
	switch (sk->sk_state) {
	case TCP_SYN_RECV:
	case TCP_ESTABLISHED:
		etp_set_state(sk, TCP_CLOSE_WAIT, "FIN received");
		break;
	case TCP_FIN_WAIT1:
		/* Our FIN is not acknowledged yet: simultaneous close. */
		etp_set_state(sk, TCP_CLOSING, "FIN received before ACK of FIN");
		break;
	case TCP_FIN_WAIT2:
		etp_send_ack(sk);
		etp_time_wait(sk, "FIN received, ACK sent");
		return;
	default:
		break;
	}
	etp_send_ack(sk);
	if (!sock_flag(sk, SOCK_DEAD)) {
		sk->sk_state_change(sk);
		if (sk->sk_shutdown == SHUTDOWN_MASK ||
		    sk->sk_state == TCP_CLOSE)
			sk_wake_async(sk, SOCK_WAKE_WAITD, POLL_HUP);
		else
			sk_wake_async(sk, SOCK_WAKE_WAITD, POLL_IN);
	}
}

/*
 * Segments for a synchronized connection, and for SYN_RECV: RFC 9293,
 * 3.10.7.4, in its order of checks. Returns true if skb was queued.
 */
static bool etp_rcv_synchronized(struct sock *sk, struct sk_buff *skb)
{
	struct etp_sock *ep = etp_sk(sk);
	struct etp_skb_cb *cb = ETP_SKB_CB(skb);
	bool queued = false, fin, simopen;

	/*
	 * Our SYN-ACK was lost and the peer sent its SYN again: send it
	 * again, counted as a retransmission, with no RTT sample from it
	 * (Karn) and, once established, a one-segment initial window.
	 */
	if (sk->sk_state == TCP_SYN_RECV && cb->flags == ETP_FLAG_SYN &&
	    cb->seq == ep->irs) {
		ep->rtt_pending = 0;
		ep->total_retrans++;
		ETP_INC_STATS(sock_net(sk), ETP_MIB_RETRANSSEGS);
		etp_send_syn(sk);
		return false;
	}

	/*
	 * RFC 9293, 3.5, figure 8: in a simultaneous open the peer's SYN-ACK
	 * acknowledges our SYN and repeats its own, which rcv_nxt already
	 * counts. It is the handshake's last step, not an old duplicate.
	 */
	simopen = sk->sk_state == TCP_SYN_RECV && !ep->parent &&
		  cb->flags == (ETP_FLAG_SYN | ETP_FLAG_ACK) &&
		  cb->seq + 1 == ep->rcv_nxt && cb->ack == ep->snd_nxt;
	if (simopen)
		goto ack;

	/* First: sequence number. */
	if (!etp_sequence_ok(ep, cb, skb->len)) {
		ETP_INC_STATS(sock_net(sk), ETP_MIB_INUNACCEPTABLE);
		if (!(cb->flags & ETP_FLAG_RST))
			etp_send_oow_ack(sk, skb);
		return false;
	}

	/* Second: RST. RFC 5961, 3.2: only an exact match resets. */
	if (cb->flags & ETP_FLAG_RST) {
		ETP_INC_STATS(sock_net(sk), ETP_MIB_INRSTS);
		if (cb->seq == ep->rcv_nxt)
			etp_reset(sk, "RST received");
		else
			etp_challenge_ack(sk);
		return false;
	}

	/* Fourth: SYN. RFC 5961, 4.2: never reset, challenge instead. */
	if (cb->flags & ETP_FLAG_SYN) {
		etp_challenge_ack(sk);
		return false;
	}

ack:
	/* Fifth: ACK. Without it the segment is dropped. */
	if (!(cb->flags & ETP_FLAG_ACK))
		return false;

	/* RFC 9293, 3.10.7.4, fifth check: SYN_RECV -> ESTABLISHED. */
	if (sk->sk_state == TCP_SYN_RECV) {
		struct sock *parent = ep->parent;

		if (!etp_after(cb->ack, ep->snd_una) ||
		    etp_after(cb->ack, ep->snd_max)) {
			etp_v4_send_reset(sock_net(sk), skb);
			return false;
		}
		if (parent && !etp_child_ready(sk))
			return false;
		etp_clean_acked(sk, cb->ack);
		etp_established(sk, skb, simopen ? "SYN-ACK received" :
						   "ACK of SYN-ACK received");
		if (parent) {
			parent->sk_data_ready(parent);
		} else {
			sk->sk_state_change(sk);
			sk_wake_async(sk, SOCK_WAKE_IO, POLL_OUT);
		}
		if (ep->fin_queued) {
			/* close() or shutdown() came during the handshake. */
			etp_set_state(sk, TCP_FIN_WAIT1, "FIN queued during handshake");
		}
	} else if (!etp_ack(sk, skb)) {
		return false;
	}

	/* RFC 9293, 3.10.7.4, fifth check: what an ACK of our FIN ends. */
	switch (sk->sk_state) {
	case TCP_FIN_WAIT1:
		if (etp_fin_acked(ep)) {
			etp_set_state(sk, TCP_FIN_WAIT2, "ACK of FIN received");
			WRITE_ONCE(sk->sk_shutdown,
				   sk->sk_shutdown | SEND_SHUTDOWN);
			if (sock_flag(sk, SOCK_DEAD))
				etp_arm_fin_timer(sk);
			else
				sk->sk_state_change(sk);
		}
		break;
	case TCP_CLOSING:
		if (etp_fin_acked(ep)) {
			etp_time_wait(sk, "ACK of FIN received");
			return false;
		}
		break;
	case TCP_LAST_ACK:
		if (etp_fin_acked(ep)) {
			etp_done(sk, "ACK of FIN received");
			return false;
		}
		break;
	}

	/*
	 * Seventh: segment text (and a FIN, which takes its place in the
	 * sequence). States past the peer's FIN ignore both.
	 */
	fin = false;
	if ((skb->len || (cb->flags & ETP_FLAG_FIN)) &&
	    ((1 << sk->sk_state) &
	     (TCPF_ESTABLISHED | TCPF_FIN_WAIT1 | TCPF_FIN_WAIT2))) {
		if ((sk->sk_shutdown & RCV_SHUTDOWN) &&
		    sock_flag(sk, SOCK_DEAD) && skb->len &&
		    etp_after(cb->seq + skb->len, ep->rcv_nxt)) {
			/* New data for a closed socket: nobody will read it. */
			etp_send_active_reset(sk, GFP_ATOMIC);
			etp_reset(sk, "data for a closed socket, RST sent");
			return false;
		}
		queued = etp_data_queue(sk, skb, &fin);
	} else if (skb->len || (cb->flags & ETP_FLAG_FIN)) {
		ep->ack_now = 1;	/* a retransmission: ACK it again */
	}

	/* Eighth: FIN, once every byte before it has arrived. */
	if (fin) {
		etp_fin(sk);
		if (sk->sk_state == TCP_CLOSE)
			return queued;	/* TIME_WAIT took over */
	}

	etp_push(sk);
	etp_ack_snd_check(sk);
	return queued;
}

/* RFC 9293, 3.10.7.3: SYN_SENT. */
static void etp_rcv_synsent(struct sock *sk, struct sk_buff *skb)
{
	struct etp_sock *ep = etp_sk(sk);
	struct etp_skb_cb *cb = ETP_SKB_CB(skb);

	if (cb->flags & ETP_FLAG_ACK) {
		if (!etp_after(cb->ack, ep->iss) ||
		    etp_after(cb->ack, ep->snd_max)) {
			etp_v4_send_reset(sock_net(sk), skb);
			return;
		}
	}
	if (cb->flags & ETP_FLAG_RST) {
		ETP_INC_STATS(sock_net(sk), ETP_MIB_INRSTS);
		if (cb->flags & ETP_FLAG_ACK)
			etp_reset(sk, "RST received: connection refused");
		return;
	}
	if (!(cb->flags & ETP_FLAG_SYN))
		return;

	ep->irs = cb->seq;
	ep->rcv_nxt = cb->seq + 1;
	ep->rcv_wup = ep->rcv_nxt;
	ep->copied_seq = ep->rcv_nxt;
	ep->peer_mss = cb->mss ?: ETP_MSS_DEFAULT;
	/* RFC 7323, 2.2: windows are scaled only if both SYNs said so. */
	if (cb->wscale != ETP_WSCALE_NONE) {
		ep->wscale_ok = 1;
		ep->snd_wscale = cb->wscale;
	} else {
		ep->rcv_wscale = 0;
	}

	if (cb->flags & ETP_FLAG_ACK) {
		/* SYN-ACK: our SYN is acknowledged; the handshake is done. */
		etp_clean_acked(sk, cb->ack);
		etp_established(sk, skb, "SYN-ACK received, ACK sent");
		etp_send_ack(sk);
		sk->sk_state_change(sk);
		sk_wake_async(sk, SOCK_WAKE_IO, POLL_OUT);
		etp_push(sk);
		return;
	}

	/* A bare SYN: simultaneous open (RFC 9293, 3.5 and 3.10.7.3). */
	ep->snd_wnd = cb->window;
	ep->snd_wl1 = cb->seq;
	etp_set_state(sk, TCP_SYN_RECV, "SYN received: simultaneous open");
	etp_send_syn(sk);
}

/*
 * A child socket for a connection to listener sk, in SYN_RECV with its own
 * 4-tuple in ehash and on the listener's half-open list, locked. irs and
 * iss are the two initial sequence numbers; peer_mss and wscale come from
 * the peer's SYN (or a SYN cookie). NULL if it cannot be set up.
 */
static struct sock *etp_new_child(struct sock *sk, struct sk_buff *skb,
				  u32 irs, u32 iss, u16 peer_mss, u8 wscale)
{
	struct etp_skb_cb *cb = ETP_SKB_CB(skb);
	const struct etphdr *th = etp_hdr(skb);
	const struct iphdr *iph = ip_hdr(skb);
	struct etp_sock *lep = etp_sk(sk), *ep;
	struct net *net = sock_net(sk);
	struct inet_sock *newinet;
	struct rtable *rt;
	struct sock *child;
	bool closed;

	child = sk_clone_lock(sk, GFP_ATOMIC);
	if (!child)
		return NULL;
	__acquire(child);	/* sk_clone_lock() returns it bh-locked */

	/* The clone copied the listener: give the child its own state. */
	ep = etp_sk(child);
	memset((char *)ep + offsetof(struct etp_sock, iss), 0,
	       sizeof(*ep) - offsetof(struct etp_sock, iss));
	ep->nodelay = lep->nodelay;	/* inherited, as TCP_NODELAY is */
	ep->rcv_ratio = ETP_RCV_RATIO_INIT;
	spin_lock_init(&ep->accept_lock);
	INIT_LIST_HEAD(&ep->syn_queue);
	INIT_LIST_HEAD(&ep->accept_queue);
	INIT_LIST_HEAD(&ep->child_node);
	etp_init_timers(child);
	INIT_HLIST_NODE(&child->sk_bind_node);
	child->sk_ack_backlog = 0;
	child->sk_max_ack_backlog = 0;

	newinet = inet_sk(child);
	RCU_INIT_POINTER(newinet->inet_opt, NULL);
	newinet->mc_list = NULL;
	newinet->inet_daddr = iph->saddr;
	newinet->inet_rcv_saddr = iph->daddr;
	newinet->inet_saddr = iph->daddr;
	newinet->inet_dport = th->source;
	atomic_set(&newinet->inet_id, get_random_u16());

	ep->irs = irs;
	ep->rcv_nxt = irs + 1;
	ep->rcv_wup = ep->rcv_nxt;
	ep->copied_seq = ep->rcv_nxt;
	etp_init_seq(child, iss);
	ep->snd_wnd = cb->window;
	ep->snd_wl1 = cb->seq;
	ep->peer_mss = peer_mss;
	if (wscale != ETP_WSCALE_NONE) {
		ep->wscale_ok = 1;
		ep->snd_wscale = wscale;
		ep->rcv_wscale = etp_choose_wscale(child);
	}
	/* RFC 9293, 3.10.7.2: LISTEN, SYN received -> SYN_RECV. */
	etp_trace_state(child, TCP_SYN_RECV, "SYN received by listener");
	inet_sk_set_state(child, TCP_SYN_RECV);

	rt = ip_route_output_ports(net, &newinet->cork.fl.u.ip4, child,
				   iph->saddr, iph->daddr, th->source,
				   th->dest, IPPROTO_ETP, 0,
				   child->sk_bound_dev_if);
	if (IS_ERR(rt))
		goto drop_child;
	sk_setup_caps(child, &rt->dst);
	etp_set_mss(child);

	etp_inherit_port(sk, child);
	if (etp_ehash_insert(child))
		goto drop_child;

	spin_lock_bh(&lep->accept_lock);
	closed = lep->listen_closed;
	if (!closed) {
		list_add_tail(&ep->child_node, &lep->syn_queue);
		lep->syn_qlen++;
		sock_hold(sk);
		ep->parent = sk;
	}
	spin_unlock_bh(&lep->accept_lock);
	if (closed)
		goto drop_child;

	ETP_INC_STATS(net, ETP_MIB_PASSIVEOPENS);
	__release(child);	/* for sparse: the caller unlocks it */
	return child;

drop_child:
	sock_orphan(child);
	etp_done(child, "child could not be set up");
	bh_unlock_sock(child);
	sock_put(child);
	return NULL;
}

/* Is the listener's half-open or accept queue full? */
static bool etp_listen_full(struct sock *sk)
{
	struct etp_sock *lep = etp_sk(sk);
	u32 backlog = READ_ONCE(sk->sk_max_ack_backlog);

	return READ_ONCE(lep->accept_qlen) > backlog ||
	       READ_ONCE(lep->syn_qlen) >= 2 * backlog + 16;
}

/*
 * The final ACK of a handshake answered with a SYN cookie: if the cookie
 * is good, the connection is made now, and the ACK (and any data on it)
 * goes to the new child. Returns true if skb was consumed.
 */
static bool etp_cookie_ack(struct sock *sk, struct sk_buff *skb)
{
	struct etp_skb_cb *cb = ETP_SKB_CB(skb);
	struct net *net = sock_net(sk);
	struct etp_sock *ep;
	struct sock *child;
	u16 mss;

	if (!etp_cookie_check(sk, skb, &mss)) {
		ETP_INC_STATS(net, ETP_MIB_SYNCOOKIESFAILED);
		return false;
	}
	if (READ_ONCE(etp_sk(sk)->accept_qlen) >
	    READ_ONCE(sk->sk_max_ack_backlog)) {
		ETP_INC_STATS(net, ETP_MIB_LISTENOVERFLOWS);
		return false;
	}
	child = etp_new_child(sk, skb, cb->seq - 1, cb->ack - 1, mss,
			      ETP_WSCALE_NONE);
	if (!child)
		return false;
	__acquire(child);	/* etp_new_child() returns it locked */
	ETP_INC_STATS(net, ETP_MIB_SYNCOOKIESRECV);
	/* As if our SYN-ACK, with the window it announced, had been sent. */
	ep = etp_sk(child);
	ep->snd_nxt = ep->iss + 1;
	ep->snd_max = ep->iss + 1;
	ep->rcv_wnd = etp_cookie_window(sk);
	ep->rcv_wup = ep->rcv_nxt;
	/* Should the ACK not complete it, the SYN-ACK is resent as usual. */
	etp_rearm_rtx(child);
	etp_do_rcv(child, skb);
	bh_unlock_sock(child);
	sock_put(child);
	return true;
}

/*
 * A segment for a listener (RFC 9293, 3.10.7.2). A SYN gets a child
 * socket in SYN_RECV that answers with SYN-ACK; when the half-open or
 * accept queue is full, a SYN cookie answers instead (net.etp.syncookies)
 * and no state is kept until the final ACK proves the peer is real.
 * Returns true if skb was consumed (only a cookie's final ACK can be).
 */
static bool etp_listen_rcv(struct sock *sk, struct sk_buff *skb)
{
	struct etp_skb_cb *cb = ETP_SKB_CB(skb);
	struct net *net = sock_net(sk);
	int cookies = READ_ONCE(etp_pernet(net)->syncookies);
	struct sock *child;
	bool full;

	if (cb->flags & ETP_FLAG_RST)
		return false;
	if (cb->flags & ETP_FLAG_ACK) {
		if (!(cb->flags & ETP_FLAG_SYN) && cookies &&
		    etp_cookie_recent(sk) && etp_cookie_ack(sk, skb))
			return true;
		etp_v4_send_reset(net, skb);
		return false;
	}
	if (!(cb->flags & ETP_FLAG_SYN))
		return false;

	full = etp_listen_full(sk);
	if (full || cookies == 2) {
		if (full)
			ETP_INC_STATS(net, ETP_MIB_LISTENOVERFLOWS);
		/* With the accept queue full even a cookie cannot help. */
		if (cookies && READ_ONCE(etp_sk(sk)->accept_qlen) <=
			       READ_ONCE(sk->sk_max_ack_backlog))
			etp_cookie_send(sk, skb);
		return false;
	}

	child = etp_new_child(sk, skb, cb->seq,
			      etp_isn(ip_hdr(skb)->daddr, ip_hdr(skb)->saddr,
				      etp_hdr(skb)->dest, etp_hdr(skb)->source),
			      cb->mss ?: ETP_MSS_DEFAULT, cb->wscale);
	if (!child)
		return false;
	__acquire(child);	/* etp_new_child() returns it locked */
	etp_send_syn(child);
	etp_rearm_rtx(child);
	bh_unlock_sock(child);
	sock_put(child);
	return false;
}

/* A segment for a TIME_WAIT entry (RFC 9293, 3.10.7.4 and RFC 1337). */
static void etp_tw_rcv(struct etp_tw *tw, struct sk_buff *skb)
{
	struct net *net = read_pnet(&tw->common.skc_net);
	struct etp_skb_cb *cb = ETP_SKB_CB(skb);
	struct sock_common *skc;

	/* RFC 1337: a RST must not end TIME_WAIT early. */
	if (cb->flags & ETP_FLAG_RST)
		goto out;

	/*
	 * A new SYN above the old connection's sequence space may reuse the
	 * 4-tuple at once, as RFC 9293, 3.10.7.4 (TIME_WAIT) allows.
	 */
	if (cb->flags == ETP_FLAG_SYN && etp_after(cb->seq, tw->rcv_nxt)) {
		etp_tw_deschedule(tw);
		etp_tw_put(tw);
		skc = etp_lookup(net, ip_hdr(skb)->saddr, etp_hdr(skb)->source,
				 ip_hdr(skb)->daddr, etp_hdr(skb)->dest,
				 inet_iif(skb), inet_sdif(skb));
		if (skc && skc->skc_state == TCP_LISTEN) {
			/* A bare SYN: never consumed, the caller frees it. */
			etp_listen_rcv((struct sock *)skc, skb);
			sock_put((struct sock *)skc);
		} else if (skc) {
			etp_skc_put(skc);
		} else {
			etp_v4_send_reset(net, skb);
		}
		return;
	}

	/* A retransmitted FIN: our last ACK was lost. ACK it again. */
	if (cb->flags & ETP_FLAG_FIN)
		etp_tw_rearm(tw);
	if (skb->len || (cb->flags & (ETP_FLAG_FIN | ETP_FLAG_SYN)))
		etp_v4_send_reply(net, skb, tw->snd_nxt, tw->rcv_nxt,
				  ETP_FLAG_ACK, tw->rcv_wnd, TCP_TIME_WAIT, 0);
out:
	etp_tw_put(tw);
}

/* Process one segment for sk, with sk locked (softirq or backlog). */
int etp_do_rcv(struct sock *sk, struct sk_buff *skb)
{
	bool queued = false;

	switch (sk->sk_state) {
	case TCP_CLOSE:
		etp_v4_send_reset(sock_net(sk), skb);
		break;
	case TCP_LISTEN:
		/* Listeners are served from etp_v4_rcv(), never backlogged. */
		break;
	case TCP_SYN_SENT:
		etp_rcv_synsent(sk, skb);
		break;
	default:
		queued = etp_rcv_synchronized(sk, skb);
	}
	if (!queued)
		kfree_skb(skb);
	return 0;
}

static bool etp_flags_ok(u8 flags)
{
	if ((flags & ETP_FLAG_SYN) && (flags & (ETP_FLAG_FIN | ETP_FLAG_RST)))
		return false;
	return flags & (ETP_FLAG_SYN | ETP_FLAG_ACK | ETP_FLAG_RST);
}

/* IP protocol 253 handler. */
int etp_v4_rcv(struct sk_buff *skb)
{
	struct net *net = dev_net(skb->dev);
	enum etp_mib_field drop = ETP_MIB_MAX;
	struct sock_common *skc;
	struct etp_skb_cb *cb;
	const struct etphdr *th;
	struct sock *sk;
	unsigned int doff;

	if (skb->pkt_type != PACKET_HOST)
		goto discard;
	ETP_INC_STATS(net, ETP_MIB_INSEGS);

	if (!pskb_may_pull(skb, ETP_HDR_LEN)) {
		drop = ETP_MIB_INSHORTHEADER;
		goto discard;
	}
	th = etp_hdr(skb);
	doff = (th->doff_res >> 4) * 4;
	if (doff < ETP_HDR_LEN || doff > skb->len ||
	    !pskb_may_pull(skb, doff)) {
		drop = ETP_MIB_INBADDOFF;
		goto discard;
	}
	if (skb_checksum_init(skb, IPPROTO_ETP, inet_compute_pseudo) ||
	    skb_checksum_complete(skb)) {
		drop = ETP_MIB_INCSUMERRORS;
		goto discard;
	}

	th = etp_hdr(skb);
	/* IP's part of skb->cb stays; ETP's fields are all written below. */
	cb = ETP_SKB_CB(skb);
	if (!etp_flags_ok(th->flags)) {
		drop = ETP_MIB_INBADFLAGS;
		goto discard;
	}
	if (!etp_parse_options(th, cb)) {
		drop = ETP_MIB_INBADOPTIONS;
		goto discard;
	}
	cb->flags = th->flags;
	cb->seq = ntohl(th->seq);
	cb->ack = ntohl(th->ack_seq);
	cb->window = ntohs(th->window);
	__skb_pull(skb, doff);
	/* ETP ignores data on a SYN; the peer sends it again later. */
	if ((cb->flags & ETP_FLAG_SYN) && pskb_trim(skb, 0))
		goto discard;
	th = etp_hdr(skb);	/* the trim may have moved the header */
	cb->end_seq = cb->seq + skb->len + !!(cb->flags & ETP_FLAG_SYN) +
		      !!(cb->flags & ETP_FLAG_FIN);

	skc = etp_lookup(net, ip_hdr(skb)->saddr, th->source,
			 ip_hdr(skb)->daddr, th->dest, inet_iif(skb),
			 inet_sdif(skb));
	trace_etp_segment_recv(skc, !skc ? TCP_CLOSE :
			       etp_is_tw(skc) ? TCP_TIME_WAIT : skc->skc_state,
			       ip_hdr(skb)->saddr, ip_hdr(skb)->daddr, th,
			       skb->len);
	if (!skc) {
		ETP_INC_STATS(net, ETP_MIB_INNOSOCKET);
		etp_v4_send_reset(net, skb);
		goto discard;
	}
	if (etp_is_tw(skc)) {
		etp_tw_rcv(etp_tw(skc), skb);
		goto discard;
	}

	sk = (struct sock *)skc;
	if (!xfrm4_policy_check(sk, XFRM_POLICY_IN, skb)) {
		sock_put(sk);
		goto discard;
	}
	nf_reset_ct(skb);

	if (sk->sk_state == TCP_LISTEN) {
		bool consumed = etp_listen_rcv(sk, skb);

		sock_put(sk);
		if (consumed)
			return 0;
		goto discard;
	}

	bh_lock_sock_nested(sk);
	if (!sock_owned_by_user(sk)) {
		etp_do_rcv(sk, skb);
	} else if (sk_add_backlog(sk, skb, READ_ONCE(sk->sk_rcvbuf) +
				  READ_ONCE(sk->sk_sndbuf))) {
		bh_unlock_sock(sk);
		sock_put(sk);
		drop = ETP_MIB_BACKLOGDROPS;
		goto discard;
	}
	bh_unlock_sock(sk);
	sock_put(sk);
	return 0;

discard:
	if (drop != ETP_MIB_MAX)
		ETP_INC_STATS(net, drop);
	kfree_skb(skb);
	return 0;
}

/* A hard ICMP error ends a connection attempt at once. */
void etp_connect_failed(struct sock *sk, int err)
{
	ETP_INC_STATS(sock_net(sk), ETP_MIB_ATTEMPTFAILS);
	WRITE_ONCE(sk->sk_err, err);
	sk_error_report(sk);
	etp_done(sk, "ICMP hard error during handshake");
}

/*
 * ICMP errors about segments we sent. An error whose quoted sequence
 * number is not in flight is stale or forged: ignored and counted.
 * "Fragmentation needed" lowers the path MTU and the MSS with it
 * (RFC 1191). A hard error during the handshake (protocol unreachable:
 * no ETP at the peer) fails connect() at once; other errors are kept as
 * soft errors, reported only if the connection then times out.
 */
int etp_v4_err(struct sk_buff *skb, u32 info)
{
	const struct iphdr *iph = (const struct iphdr *)skb->data;
	int type = icmp_hdr(skb)->type, code = icmp_hdr(skb)->code;
	struct net *net = dev_net(skb->dev);
	const struct etphdr *th;
	struct sock_common *skc;
	struct etp_sock *ep;
	struct sock *sk;
	bool in_flight;
	int err;

	if (!pskb_may_pull(skb, iph->ihl * 4 + 8))
		return -EINVAL;
	iph = (const struct iphdr *)skb->data;
	th = (const struct etphdr *)(skb->data + iph->ihl * 4);
	skc = etp_lookup(net, iph->daddr, th->dest, iph->saddr, th->source,
			 inet_iif(skb), 0);
	if (!skc)
		return -ENOENT;
	if (etp_is_tw(skc)) {
		etp_tw_put(etp_tw(skc));
		return 0;
	}
	sk = (struct sock *)skc;
	if (sk->sk_state == TCP_LISTEN)
		goto out;

	switch (type) {
	case ICMP_DEST_UNREACH:
		if (code > NR_ICMP_UNREACH)
			goto out;
		/*
		 * Protocol unreachable: the peer has no ETP. For ETP that is
		 * what a RST is for a closed port: connection refused.
		 */
		err = code == ICMP_PROT_UNREACH ? ECONNREFUSED :
		      icmp_err_convert[code].errno;
		break;
	case ICMP_TIME_EXCEEDED:
		err = EHOSTUNREACH;
		break;
	case ICMP_PARAMETERPROB:
		err = EPROTO;
		break;
	default:
		goto out;
	}

	ep = etp_sk(sk);
	bh_lock_sock(sk);
	in_flight = etp_between(ntohl(th->seq), ep->snd_una, ep->snd_max);
	bh_unlock_sock(sk);
	if (!in_flight) {
		ETP_INC_STATS(net, ETP_MIB_ICMPIGNORED);
		goto out;
	}

	if (type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED) {
		/* Takes the socket lock itself; the MSS follows below. */
		ipv4_sk_update_pmtu(skb, sk, info);
		bh_lock_sock(sk);
		/* An owner finds the new MTU at its next transmit. */
		if (!sock_owned_by_user(sk) && sk->sk_state != TCP_CLOSE) {
			etp_sync_mss(sk);
			etp_push(sk);
		}
		bh_unlock_sock(sk);
		goto out;
	}

	bh_lock_sock(sk);
	if (sk->sk_state == TCP_SYN_SENT && type == ICMP_DEST_UNREACH &&
	    icmp_err_convert[code].fatal) {
		/* A process inside connect() holds it: fail on release. */
		if (sock_owned_by_user(sk))
			ep->deferred_err = err;
		else
			etp_connect_failed(sk, err);
	} else {
		WRITE_ONCE(sk->sk_err_soft, err);
	}
	bh_unlock_sock(sk);
out:
	sock_put(sk);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * ETP's per-connection timers and the RFC 6298 round-trip estimator.
 *
 *   rtx_timer  retransmission of SYN, SYN-ACK, data and FIN; when the
 *              peer's window is zero, the persist timer that probes it
 *   fin_timer  lifetime of an orphaned connection in FIN_WAIT_2
 *   delack_timer  an ACK owed for received data (net.etp.delack_ms)
 *
 * A pending timer holds a socket reference (sk_reset_timer()). Timers run
 * in softirq context and follow the receive path's rule: they take the
 * socket's spinlock, and if a process owns the socket they try again a
 * little later instead of touching it.
 */
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include "etp.h"
#include "trace.h"

#define ETP_TIMER_RETRY	(HZ / 50)	/* socket busy: try again in 20 ms */

unsigned long etp_ms_to_jiffies(int ms)
{
	return max_t(unsigned long, msecs_to_jiffies(ms), 1);
}

static u32 etp_rto_min(const struct sock *sk)
{
	return etp_ms_to_jiffies(READ_ONCE(etp_pernet(sock_net(sk))->rto_min_ms));
}

static u32 etp_rto_max(const struct sock *sk)
{
	return etp_ms_to_jiffies(READ_ONCE(etp_pernet(sock_net(sk))->rto_max_ms));
}

/* RFC 6298, 5.5: each timeout doubles the RTO, up to the maximum. */
u32 etp_rto_backed_off(const struct sock *sk)
{
	const struct etp_sock *ep = etp_sk(sk);
	u64 rto = (u64)ep->rto << min_t(u8, ep->backoff, 31);

	return min_t(u64, rto, etp_rto_max(sk));
}

/*
 * RFC 6298, 2.2 and 2.3, in microseconds:
 *   first sample R:  SRTT = R, RTTVAR = R/2
 *   later samples:   RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|
 *                    SRTT   = 7/8 SRTT   + 1/8 R
 *   RTO = SRTT + max(G, 4 * RTTVAR), clamped to [rto_min, rto_max]
 */
void etp_rtt_sample(struct sock *sk, u32 rtt_us)
{
	struct etp_sock *ep = etp_sk(sk);
	u32 rto_us;

	if (!rtt_us)
		rtt_us = 1;
	if (!ep->srtt_us) {
		ep->srtt_us = rtt_us;
		ep->rttvar_us = rtt_us / 2;
	} else {
		u32 delta = abs((s32)(ep->srtt_us - rtt_us));

		ep->rttvar_us = ep->rttvar_us - ep->rttvar_us / 4 + delta / 4;
		ep->srtt_us = ep->srtt_us - ep->srtt_us / 8 + rtt_us / 8;
	}
	rto_us = ep->srtt_us + max_t(u32, jiffies_to_usecs(1),
				     4 * ep->rttvar_us);
	ep->rto = clamp_t(u32, usecs_to_jiffies(rto_us), etp_rto_min(sk),
			  etp_rto_max(sk));
}

/*
 * Make the retransmission timer match the connection (RFC 6298, 5.1 and
 * 5.2): running while anything is unacknowledged, stopped when all is
 * acknowledged, and turned into the persist timer when data waits for a
 * zero window. A running retransmission timer is left alone.
 */
void etp_rearm_rtx(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);

	if (ep->snd_una != ep->snd_max) {
		if (!timer_pending(&ep->rtx_timer) || ep->persist) {
			ep->persist = 0;
			sk_reset_timer(sk, &ep->rtx_timer,
				       jiffies + etp_rto_backed_off(sk));
		}
	} else if (etp_before(ep->snd_nxt, ep->write_seq) && !ep->snd_wnd) {
		if (!timer_pending(&ep->rtx_timer)) {
			ep->persist = 1;
			sk_reset_timer(sk, &ep->rtx_timer,
				       jiffies + etp_rto_backed_off(sk));
		}
	} else if (etp_before(ep->snd_nxt, ep->write_seq) ||
		   (ep->fin_queued && ep->snd_max != ep->write_seq + 1)) {
		/*
		 * Unsent data or FIN and nothing in flight: a segment could
		 * not be built, or silly-window avoidance holds a small one
		 * back. Try again; the retry sends it regardless.
		 */
		if (!timer_pending(&ep->rtx_timer) || ep->persist) {
			ep->persist = 0;
			sk_reset_timer(sk, &ep->rtx_timer,
				       jiffies + etp_rto_min(sk));
		}
	} else {
		ep->persist = 0;
		sk_stop_timer(sk, &ep->rtx_timer);
	}
}

static void etp_write_err(struct sock *sk, int err, const char *why)
{
	if (sk->sk_state == TCP_SYN_SENT)
		ETP_INC_STATS(sock_net(sk), ETP_MIB_ATTEMPTFAILS);
	WRITE_ONCE(sk->sk_err, err);
	sk_error_report(sk);
	etp_done(sk, why);
}

/*
 * RFC 9293, 3.8.6.1: with a zero window, keep sending probes at the RTO,
 * backing off, for as long as the peer answers them. The probe is an ACK
 * one below snd_una, which the peer must answer with its window; every
 * answer resets ep->retries (etp_ack()), so only a silent peer runs into
 * the retries limit. An orphan (closed by its process) is not kept alive
 * by a peer that answers but never opens its window: like TCP with
 * tcp_orphan_retries, it gives up after orphan_retries probes, counted by
 * the backoff that only acknowledged data resets.
 */
static void etp_probe_window(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	struct etp_net *en = etp_pernet(sock_net(sk));

	if (ep->retries >= READ_ONCE(en->retries) ||
	    (sock_flag(sk, SOCK_DEAD) &&
	     ep->backoff >= READ_ONCE(en->orphan_retries))) {
		etp_write_err(sk, ETIMEDOUT, "window probes unanswered");
		return;
	}
	ep->retries++;
	ep->probes++;
	ETP_INC_STATS(sock_net(sk), ETP_MIB_ZEROWINDOWPROBES);
	etp_transmit(sk, ep->snd_una - 1, 0, ETP_FLAG_ACK, GFP_ATOMIC);
	if (ep->backoff < 31)
		ep->backoff++;
	ep->persist = 1;
	sk_reset_timer(sk, &ep->rtx_timer, jiffies + etp_rto_backed_off(sk));
}

static void etp_retransmit_timeout(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	struct etp_net *en = etp_pernet(sock_net(sk));
	int limit;

	if (ep->persist) {
		etp_probe_window(sk);
		return;
	}
	if (ep->snd_una == ep->snd_max) {
		__etp_push(sk, ETP_PUSH_FORCE);	/* nothing in flight: send what waits */
		return;
	}

	ep->timeouts++;
	ETP_INC_STATS(sock_net(sk), ETP_MIB_TIMEOUTS);
	switch (sk->sk_state) {
	case TCP_SYN_SENT:
		limit = READ_ONCE(en->syn_retries);
		break;
	case TCP_SYN_RECV:
		limit = READ_ONCE(en->synack_retries);
		break;
	default:
		limit = READ_ONCE(en->retries);
		/* Nobody waits for an orphan: give up sooner, as TCP does. */
		if (sock_flag(sk, SOCK_DEAD))
			limit = min(limit, READ_ONCE(en->orphan_retries));
	}
	if (ep->retries >= limit) {
		if (ep->parent && sk->sk_state == TCP_SYN_RECV)
			etp_reset(sk, "SYN-ACK retries exhausted");
		else
			/* RFC 9293, 3.10.8: the user timeout. */
			etp_write_err(sk, ETIMEDOUT, "retransmissions exhausted");
		return;
	}

	if (sk->sk_state == TCP_SYN_SENT || sk->sk_state == TCP_SYN_RECV) {
		ep->total_retrans++;
		ETP_INC_STATS(sock_net(sk), ETP_MIB_RETRANSSEGS);
		etp_send_syn(sk);
	} else {
		etp_cong_timeout(sk);
		etp_retransmit_head(sk);
	}
	ep->retries++;
	if (ep->backoff < 31)
		ep->backoff++;
	ep->rtt_pending = 0;	/* Karn: no samples from retransmissions */
	sk_reset_timer(sk, &ep->rtx_timer, jiffies + etp_rto_backed_off(sk));
}

static void etp_rtx_timer_fn(struct timer_list *t)
{
	struct etp_sock *ep = timer_container_of(ep, t, rtx_timer);
	struct sock *sk = &ep->inet.sk;

	bh_lock_sock(sk);
	if (sock_owned_by_user(sk)) {
		sk_reset_timer(sk, &ep->rtx_timer, jiffies + ETP_TIMER_RETRY);
	} else if (sk->sk_state != TCP_CLOSE && sk->sk_state != TCP_LISTEN) {
		trace_etp_timer(sk, ep->persist ? "persist" :
				ep->snd_una == ep->snd_max ? "retry" :
				"retransmit",
				jiffies_to_usecs(etp_rto_backed_off(sk)),
				ep->backoff);
		etp_retransmit_timeout(sk);
	}
	bh_unlock_sock(sk);
	sock_put(sk);
}

/*
 * An orphaned connection in FIN_WAIT_2 waits for the peer's FIN only
 * fin_timeout_ms; then it is dropped, as Linux TCP does (tcp_fin_timeout).
 */
void etp_arm_fin_timer(struct sock *sk)
{
	int ms = READ_ONCE(etp_pernet(sock_net(sk))->fin_timeout_ms);

	sk_reset_timer(sk, &etp_sk(sk)->fin_timer,
		       jiffies + etp_ms_to_jiffies(ms));
}

static void etp_fin_timer_fn(struct timer_list *t)
{
	struct etp_sock *ep = timer_container_of(ep, t, fin_timer);
	struct sock *sk = &ep->inet.sk;

	bh_lock_sock(sk);
	if (sock_owned_by_user(sk)) {
		sk_reset_timer(sk, &ep->fin_timer, jiffies + ETP_TIMER_RETRY);
	} else if (sk->sk_state == TCP_FIN_WAIT2 && sock_flag(sk, SOCK_DEAD)) {
		trace_etp_timer(sk, "fin_wait2", 0, 0);
		etp_done(sk, "orphaned FIN_WAIT2 timed out");
	}
	bh_unlock_sock(sk);
	sock_put(sk);
}

/* The delayed ACK is due (RFC 9293, 3.8.6.3: well under 0.5 s). */
static void etp_delack_timer_fn(struct timer_list *t)
{
	struct etp_sock *ep = timer_container_of(ep, t, delack_timer);
	struct sock *sk = &ep->inet.sk;

	bh_lock_sock(sk);
	if (sock_owned_by_user(sk)) {
		sk_reset_timer(sk, &ep->delack_timer, jiffies + ETP_TIMER_RETRY);
	} else if (ep->ack_pending &&
		   !((1 << sk->sk_state) &
		     (TCPF_CLOSE | TCPF_LISTEN | TCPF_SYN_SENT))) {
		trace_etp_timer(sk, "delack", 0, 0);
		ep->delayed_acks++;
		ETP_INC_STATS(sock_net(sk), ETP_MIB_DELAYEDACKS);
		etp_send_ack(sk);
	}
	bh_unlock_sock(sk);
	sock_put(sk);
}

void etp_init_timers(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);

	timer_setup(&ep->rtx_timer, etp_rtx_timer_fn, 0);
	timer_setup(&ep->fin_timer, etp_fin_timer_fn, 0);
	timer_setup(&ep->delack_timer, etp_delack_timer_fn, 0);
}

void etp_clear_timers(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);

	ep->persist = 0;
	sk_stop_timer(sk, &ep->rtx_timer);
	sk_stop_timer(sk, &ep->fin_timer);
	sk_stop_timer(sk, &ep->delack_timer);
	ep->ack_pending = 0;
	ep->ack_now = 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ETP's tracepoints, for trace-cmd, perf and bpftrace:
 *
 *   etp:etp_segment_send        a segment leaves (first transmission)
 *   etp:etp_segment_retransmit  a segment leaves again
 *   etp:etp_segment_recv        a well-formed segment arrives
 *   etp:etp_state_change        a connection changes state, and why
 *   etp:etp_timer               a connection timer fires
 *
 * Addresses and ports are the segment's own (source first); seq and ack
 * are absolute; win is the raw header field (scaled by the sender's shift
 * unless SYN is set); state is the connection's, in TCP's numbering.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM etp

#if !defined(_ETP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _ETP_TRACE_H

#include <linux/tracepoint.h>
#include <net/sock.h>
#include <net/tcp_states.h>
#include <linux/etp.h>

/* Let trace-cmd and perf decode the state names too. */
TRACE_DEFINE_ENUM(TCP_ESTABLISHED);
TRACE_DEFINE_ENUM(TCP_SYN_SENT);
TRACE_DEFINE_ENUM(TCP_SYN_RECV);
TRACE_DEFINE_ENUM(TCP_FIN_WAIT1);
TRACE_DEFINE_ENUM(TCP_FIN_WAIT2);
TRACE_DEFINE_ENUM(TCP_TIME_WAIT);
TRACE_DEFINE_ENUM(TCP_CLOSE);
TRACE_DEFINE_ENUM(TCP_CLOSE_WAIT);
TRACE_DEFINE_ENUM(TCP_LAST_ACK);
TRACE_DEFINE_ENUM(TCP_LISTEN);
TRACE_DEFINE_ENUM(TCP_CLOSING);

#define etp_show_state(s)						\
	__print_symbolic(s,						\
			 { TCP_ESTABLISHED, "ESTABLISHED" },		\
			 { TCP_SYN_SENT, "SYN_SENT" },			\
			 { TCP_SYN_RECV, "SYN_RECV" },			\
			 { TCP_FIN_WAIT1, "FIN_WAIT1" },		\
			 { TCP_FIN_WAIT2, "FIN_WAIT2" },		\
			 { TCP_TIME_WAIT, "TIME_WAIT" },		\
			 { TCP_CLOSE, "CLOSE" },			\
			 { TCP_CLOSE_WAIT, "CLOSE_WAIT" },		\
			 { TCP_LAST_ACK, "LAST_ACK" },			\
			 { TCP_LISTEN, "LISTEN" },			\
			 { TCP_CLOSING, "CLOSING" })

#define etp_show_flags(f)						\
	__print_flags(f, "|",						\
		      { ETP_FLAG_FIN, "FIN" },				\
		      { ETP_FLAG_SYN, "SYN" },				\
		      { ETP_FLAG_RST, "RST" },				\
		      { ETP_FLAG_PSH, "PSH" },				\
		      { ETP_FLAG_ACK, "ACK" },				\
		      { ETP_FLAG_URG, "URG" },				\
		      { ETP_FLAG_ECE, "ECE" },				\
		      { ETP_FLAG_CWR, "CWR" })

DECLARE_EVENT_CLASS(etp_segment,
		    TP_PROTO(const void *skaddr, int state, __be32 saddr,
			     __be32 daddr, const struct etphdr *th, u32 len),
		    TP_ARGS(skaddr, state, saddr, daddr, th, len),
		    TP_STRUCT__entry(__field(const void *, skaddr)
				     __array(u8, saddr, 4)
				     __array(u8, daddr, 4)
				     __field(u16, sport)
				     __field(u16, dport)
				     __field(u32, seq)
				     __field(u32, ack)
				     __field(u32, len)
				     __field(u16, win)
				     __field(u8, flags)
				     __field(u8, state)),
		    TP_fast_assign(__entry->skaddr = skaddr;
				   memcpy(__entry->saddr, &saddr, 4);
				   memcpy(__entry->daddr, &daddr, 4);
				   __entry->sport = ntohs(th->source);
				   __entry->dport = ntohs(th->dest);
				   __entry->seq = ntohl(th->seq);
				   __entry->ack = ntohl(th->ack_seq);
				   __entry->len = len;
				   __entry->win = ntohs(th->window);
				   __entry->flags = th->flags;
				   __entry->state = state;),
		    TP_printk("%pI4:%u > %pI4:%u flags=%s seq=%u ack=%u len=%u win=%u state=%s",
			      __entry->saddr, __entry->sport, __entry->daddr,
			      __entry->dport, etp_show_flags(__entry->flags),
			      __entry->seq, __entry->ack, __entry->len,
			      __entry->win, etp_show_state(__entry->state)));

DEFINE_EVENT(etp_segment, etp_segment_send,
	     TP_PROTO(const void *skaddr, int state, __be32 saddr,
		      __be32 daddr, const struct etphdr *th, u32 len),
	     TP_ARGS(skaddr, state, saddr, daddr, th, len));

DEFINE_EVENT(etp_segment, etp_segment_retransmit,
	     TP_PROTO(const void *skaddr, int state, __be32 saddr,
		      __be32 daddr, const struct etphdr *th, u32 len),
	     TP_ARGS(skaddr, state, saddr, daddr, th, len));

DEFINE_EVENT(etp_segment, etp_segment_recv,
	     TP_PROTO(const void *skaddr, int state, __be32 saddr,
		      __be32 daddr, const struct etphdr *th, u32 len),
	     TP_ARGS(skaddr, state, saddr, daddr, th, len));

TRACE_EVENT(etp_state_change,
	    TP_PROTO(const struct sock *sk, int oldstate, int newstate,
		     const char *reason),
	    TP_ARGS(sk, oldstate, newstate, reason),
	    TP_STRUCT__entry(__field(const void *, skaddr)
			     __array(u8, saddr, 4)
			     __array(u8, daddr, 4)
			     __field(u16, sport)
			     __field(u16, dport)
			     __field(u8, oldstate)
			     __field(u8, newstate)
			     __string(reason, reason)),
	    TP_fast_assign(__entry->skaddr = sk;
			   memcpy(__entry->saddr, &sk->sk_rcv_saddr, 4);
			   memcpy(__entry->daddr, &sk->sk_daddr, 4);
			   __entry->sport = sk->sk_num;
			   __entry->dport = ntohs(sk->sk_dport);
			   __entry->oldstate = oldstate;
			   __entry->newstate = newstate;
			   etp_assign_str(reason, reason);),
	    TP_printk("%pI4:%u %pI4:%u %s -> %s (%s)",
		      __entry->saddr, __entry->sport, __entry->daddr,
		      __entry->dport, etp_show_state(__entry->oldstate),
		      etp_show_state(__entry->newstate), __get_str(reason)));

TRACE_EVENT(etp_timer,
	    TP_PROTO(const struct sock *sk, const char *timer, u32 rto_us,
		     u8 backoff),
	    TP_ARGS(sk, timer, rto_us, backoff),
	    TP_STRUCT__entry(__field(const void *, skaddr)
			     __array(u8, saddr, 4)
			     __array(u8, daddr, 4)
			     __field(u16, sport)
			     __field(u16, dport)
			     __field(u32, rto_us)
			     __field(u8, backoff)
			     __field(u8, state)
			     __string(timer, timer)),
	    TP_fast_assign(__entry->skaddr = sk;
			   memcpy(__entry->saddr, &sk->sk_rcv_saddr, 4);
			   memcpy(__entry->daddr, &sk->sk_daddr, 4);
			   __entry->sport = sk->sk_num;
			   __entry->dport = ntohs(sk->sk_dport);
			   __entry->rto_us = rto_us;
			   __entry->backoff = backoff;
			   __entry->state = sk->sk_state;
			   etp_assign_str(timer, timer);),
	    TP_printk("%pI4:%u %pI4:%u timer=%s state=%s rto_us=%u backoff=%u",
		      __entry->saddr, __entry->sport, __entry->daddr,
		      __entry->dport, __get_str(timer),
		      etp_show_state(__entry->state), __entry->rto_us,
		      __entry->backoff));

#endif /* _ETP_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ETP, the Educational Transport Protocol: the module's internal interfaces.
 *
 * ETP is TCP's connection model and header under IP protocol 253. This
 * header declares the per-socket state (struct etp_sock), the TIME_WAIT
 * entry (struct etp_tw), the per-namespace state and the functions the
 * files of the module offer each other:
 *
 *   main.c    module init/exit, per-namespace setup
 *   proto.c   socket calls: bind, listen, accept, connect, send, receive,
 *             poll, shutdown, close, socket options
 *   lookup.c  bind, listen and established tables, ports, TIME_WAIT
 *   input.c   receive path and the RFC 9293 state machine
 *   output.c  building and sending segments
 *   timer.c   retransmission, persist, FIN_WAIT_2 timers; RTT estimator
 *   sysctl.c  net.etp.* sysctls
 *   mib.c     per-namespace counters, /proc/net/etp_stat
 *   proc.c    /proc/net/etp
 */
#ifndef _ETP_H
#define _ETP_H

#include <linux/types.h>
#include <linux/skbuff.h>
#include <linux/timer.h>
#include <linux/list.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/ip.h>
#include <net/tcp_states.h>
#include <net/netns/generic.h>
#include <linux/etp.h>

#include "mib.h"

/* Sequence number comparisons modulo 2^32 (RFC 9293, 3.4). */
static inline bool etp_before(u32 a, u32 b)
{
	return (s32)(a - b) < 0;
}

#define etp_after(a, b)		etp_before(b, a)

static inline bool etp_between(u32 seq, u32 low, u32 high)
{
	/* low <= seq <= high */
	return high - low >= seq - low;
}

/* Per-skb control block for received segments and queued data. */
struct etp_skb_cb {
	struct inet_skb_parm	h4;	/* IP's, kept: inet_sdif() reads it */
	u32	seq;		/* first sequence number */
	u32	end_seq;	/* seq + SYN + FIN + payload length */
	u32	ack;		/* acknowledgment number */
	u16	window;		/* advertised window, host order */
	u16	mss;		/* MSS option, 0 when absent */
	u8	flags;		/* ETP_FLAG_* */
	u8	wscale;		/* window scale option, ETP_WSCALE_NONE if absent */
};

#define ETP_WSCALE_NONE	0xff

#define ETP_SKB_CB(skb)	((struct etp_skb_cb *)&((skb)->cb[0]))

static inline struct etphdr *etp_hdr(const struct sk_buff *skb)
{
	return (struct etphdr *)skb_transport_header(skb);
}

/* Release a fully acknowledged send-queue skb and its memory charge. */
static inline void etp_wmem_free_skb(struct sock *sk, struct sk_buff *skb)
{
	sk_wmem_queued_add(sk, -skb->truesize);
	sk_mem_uncharge(sk, skb->truesize);
	__kfree_skb(skb);
}

/* Defaults, also the values documented for the sysctls. */
#define ETP_MSL_MS_DEFAULT		30000	/* TIME_WAIT = 2 * MSL = 60 s */
#define ETP_SYN_RETRIES_DEFAULT		6
#define ETP_SYNACK_RETRIES_DEFAULT	5
#define ETP_RETRIES_DEFAULT		15
#define ETP_ORPHAN_RETRIES_DEFAULT	8	/* TCP's when tcp_orphan_retries is 0 */
#define ETP_FIN_TIMEOUT_MS_DEFAULT	60000
#define ETP_RTO_MIN_MS_DEFAULT		200
#define ETP_RTO_MAX_MS_DEFAULT		120000
#define ETP_RTO_INITIAL_MS_DEFAULT	1000	/* RFC 6298, 2.1 */
#define ETP_DELACK_MS_DEFAULT		40	/* Linux TCP's minimum delayed ACK */
/*
 * ETP does not grow its buffers as TCP does, so they start larger than
 * TCP's: a 1 MiB receive buffer offers a 512 KiB window (scaled).
 */
#define ETP_MAX_TW_DEFAULT		65536	/* as many as ehash buckets */
#define ETP_SYNCOOKIES_DEFAULT		1	/* when the queues overflow */
#define ETP_RMEM_DEFAULT		1048576
#define ETP_WMEM_DEFAULT		1048576

#define ETP_MSS_DEFAULT		536	/* RFC 9293, 3.7.1, without option */
#define ETP_MSS_MIN		88
#define ETP_SND_CHUNK		(16384 - 512)	/* send queue skb size */
#define ETP_MAX_WINDOW		65535U	/* in the header, before scaling */
#define ETP_INIT_CWND		10	/* segments, as Linux TCP (RFC 6928) */
#define ETP_DUPACK_THRESH	3	/* RFC 5681, 3.2 */
#define ETP_INFINITE_SSTHRESH	0x7fffffffU
#define ETP_RCV_RATIO_INIT	128	/* a half, until data is measured */
#define ETP_OOW_ACK_INTERVAL	(HZ / 2)
#define ETP_LINEAR_MAX		2048	/* larger segments use page frags */

struct etp_net {
	struct etp_mib __percpu	*mib;
	struct ctl_table_header	*sysctl_hdr;
	int			msl_ms;
	int			syn_retries;
	int			synack_retries;
	int			retries;
	int			orphan_retries;
	int			fin_timeout_ms;
	int			rto_min_ms;
	int			rto_max_ms;
	int			rto_initial_ms;
	int			delack_ms;
	int			rmem_default;	/* a new socket's SO_RCVBUF */
	int			wmem_default;	/* a new socket's SO_SNDBUF */
	int			max_tw;		/* TIME_WAIT entries at most */
	int			syncookies;	/* 0 never, 1 on overflow, 2 always */
	atomic_t		tw_count;	/* TIME_WAIT entries now */
};

extern unsigned int etp_net_id;

static inline struct etp_net *etp_pernet(const struct net *net)
{
	return net_generic(net, etp_net_id);
}

/*
 * The ETP socket. Sequence variables follow RFC 9293, 3.3.1. The send
 * queue (sk_write_queue) holds every byte from snd_una to write_seq in
 * skbs that carry no header; segments are cut from it at transmit time,
 * so a retransmission may cover any byte range.
 */
struct etp_sock {
	struct inet_sock	inet;	/* must be first */

	/* Send sequence space. */
	u32	iss;		/* initial send sequence number */
	u32	snd_una;	/* oldest unacknowledged sequence number */
	u32	snd_nxt;	/* next sequence number to send */
	u32	snd_max;	/* highest sequence number sent + 1 */
	u32	snd_wnd;	/* window the peer offers */
	u32	snd_wl1;	/* seq of the segment that set snd_wnd */
	u32	snd_wl2;	/* ack of the segment that set snd_wnd */
	u32	write_seq;	/* sequence number after the last queued byte */
	u32	max_snd_wnd;	/* largest window the peer ever offered */

	/* Receive sequence space. */
	u32	irs;		/* peer's initial sequence number */
	u32	rcv_nxt;	/* next sequence number expected */
	u32	rcv_wnd;	/* window last advertised */
	u32	rcv_wup;	/* rcv_nxt when rcv_wnd was advertised */
	u32	copied_seq;	/* next byte the reader will copy */

	u16	mss;		/* payload bytes per segment we send */
	u16	peer_mss;	/* MSS the peer announced */
	u16	rcv_mss;	/* largest segment received: "full-sized" */
	u16	rcv_ratio;	/* payload per truesize received, in 1/256 */
	u16	pmtu;		/* path MTU that mss was computed from */

	/* RFC 7323 window scaling: shifts, 0 unless both SYNs had it. */
	u8	snd_wscale;	/* applied to the windows the peer sends */
	u8	rcv_wscale;	/* applied to the windows we send */
	u8	wscale_ok:1,	/* both ends scale windows */
		ack_now:1,	/* received data waits for an immediate ACK */
		ack_pending:1;	/* received data waits for an ACK */
	u8	nodelay;	/* ETP_NODELAY: Nagle's algorithm off */
	u8	deferred_err;	/* ICMP hard error for release_cb, 0 if none */

	/* RFC 5681 congestion control with NewReno fast recovery (RFC 6582). */
	u32	cwnd;		/* congestion window, bytes */
	u32	ssthresh;	/* slow-start threshold, bytes */
	u32	cwnd_acked;	/* bytes acked towards the next cwnd increase */
	u32	recover;	/* snd_max when loss recovery began */
	u8	ca_state;	/* ETP_CA_OPEN, _RECOVERY or _LOSS */
	u8	dup_acks;	/* consecutive duplicate ACKs */

	/*
	 * Segments that arrived beyond rcv_nxt, in an rbtree by sequence
	 * number (O(log n) even when a peer sends them in reverse order),
	 * with the last one cached: most arrive beyond it.
	 */
	struct rb_root		ooo_root;
	struct sk_buff		*ooo_last;
	u32			ooo_bytes;	/* payload bytes in ooo_root */

	/* RFC 6298 retransmission timer state. */
	u32	srtt_us;
	u32	rttvar_us;
	u32	rto;		/* jiffies, before backoff */
	u32	rtt_seq;	/* sample taken when this is acknowledged */
	u64	rtt_start_us;
	u8	rtt_pending:1,	/* a sample is being timed */
		fin_queued:1,	/* a FIN follows the queued data */
		persist:1;	/* rtx_timer is a zero-window probe */
	u8	in_table;	/* which lookup table holds sk_node */
	u8	backoff;	/* consecutive timeouts, doubles the RTO */
	u8	retries;	/* retransmissions of the current segment */

	unsigned long	last_oow_ack;	/* jiffies of the last out-of-window ACK */

	struct timer_list	rtx_timer;	/* retransmit, SYN, persist */
	struct timer_list	fin_timer;	/* orphaned FIN_WAIT_2 */
	struct timer_list	delack_timer;	/* delayed ACK */

	/* Listener: half-open children and children ready for accept(). */
	spinlock_t		accept_lock;
	struct list_head	syn_queue;
	struct list_head	accept_queue;
	u32			syn_qlen;
	u32			accept_qlen;
	bool			listen_closed;
	unsigned long		last_cookie;	/* jiffies of the last SYN cookie */

	/* Child: its listener until accept() takes it. */
	struct sock		*parent;
	struct list_head	child_node;

	/* Statistics for etp_info. */
	u32	total_retrans;
	u32	timeouts;
	u32	lost;
	u32	fast_retrans;
	u32	dup_acks_in;
	u32	ooo_segs;
	u32	probes;
	u32	delayed_acks;
	u64	bytes_sent;
	u64	bytes_acked;
	u64	bytes_received;
};

static inline struct etp_sock *etp_sk(const struct sock *sk)
{
	return (struct etp_sock *)sk;
}

/*
 * A TIME_WAIT entry. Once a connection reaches TIME_WAIT its socket is
 * released and this small record keeps the 4-tuple and the port for
 * 2 * MSL. It does not hold the module, so rmmod is possible while
 * entries exist: module and namespace exit reap them. It shares struct
 * sock_common with full sockets, so one hash chain holds both; an entry
 * has no skc_prot, which never changes, while a socket's skc_state may
 * (a reader must not trust it to tell the two apart).
 */
struct etp_tw {
	struct sock_common	common;	/* must be first */
	u32			snd_nxt;
	u32			rcv_nxt;
	u16			rcv_wnd;
	struct timer_list	timer;
	struct rcu_head		rcu;
};

static inline bool etp_is_tw(const struct sock_common *skc)
{
	return !skc->skc_prot;
}

static inline struct etp_tw *etp_tw(const struct sock_common *skc)
{
	return (struct etp_tw *)skc;
}

/* main.c */
extern struct proto etp_prot;

/* proto.c */
extern const struct proto_ops etp_stream_ops;
int etp_v4_connect(struct sock *sk, struct sockaddr *uaddr, int addr_len);
void etp_init_seq(struct sock *sk, u32 iss);
void etp_set_state(struct sock *sk, int state, const char *why);
void etp_done(struct sock *sk, const char *why);
void etp_destroy(struct sock *sk);
void etp_write_space(struct sock *sk);
void etp_listen_stop(struct sock *sk);
extern long etp_sysctl_mem[3];
int etp_proto_mem_init(void);
void etp_proto_mem_exit(void);
void etp_ooo_purge(struct sock *sk);

/* syncookie.c */
void etp_cookie_init(void);
void etp_cookie_send(struct sock *sk, struct sk_buff *skb);
bool etp_cookie_check(struct sock *sk, struct sk_buff *skb, u16 *mss);
bool etp_cookie_recent(const struct sock *sk);
u16 etp_cookie_window(const struct sock *sk);

/* trace.c */
void etp_trace_state(struct sock *sk, int state, const char *why);

/* lookup.c */
int etp_hash_init(void);
void etp_hash_exit(void);
int etp_get_port(struct sock *sk, unsigned short snum);
void etp_put_port(struct sock *sk);
int etp_hash_connect(struct sock *sk);
int etp_hash(struct sock *sk);
void etp_unhash(struct sock *sk);
void etp_inherit_port(struct sock *parent, struct sock *child);
int etp_ehash_insert(struct sock *sk);
struct sock_common *etp_lookup(struct net *net, __be32 saddr, __be16 sport,
			       __be32 daddr, __be16 dport, int dif, int sdif);
void etp_skc_put(struct sock_common *skc);
void etp_time_wait(struct sock *sk, const char *why);
void etp_tw_put(struct etp_tw *tw);
bool etp_tw_deschedule(struct etp_tw *tw);
void etp_tw_rearm(struct etp_tw *tw);
void etp_tw_reap(struct net *net);
typedef void (*etp_walk_fn)(struct sock_common *skc, void *arg);
void etp_walk_sockets(struct net *net, etp_walk_fn fn, void *arg);
u32 etp_isn(__be32 saddr, __be32 daddr, __be16 sport, __be16 dport);

/* input.c */
int etp_v4_rcv(struct sk_buff *skb);
int etp_v4_err(struct sk_buff *skb, u32 info);
int etp_do_rcv(struct sock *sk, struct sk_buff *skb);
void etp_reset(struct sock *sk, const char *why);
void etp_cong_timeout(struct sock *sk);
void etp_connect_failed(struct sock *sk, int err);

/* output.c */
int etp_transmit(struct sock *sk, u32 seq, u32 len, u8 flags, gfp_t gfp);
void etp_send_ack(struct sock *sk);
void etp_send_syn(struct sock *sk);
void etp_send_active_reset(struct sock *sk, gfp_t gfp);
void etp_push(struct sock *sk);
enum etp_push_mode {
	ETP_PUSH_NORMAL,	/* Nagle and silly-window avoidance apply */
	ETP_PUSH_MORE,		/* the writer has more: full segments only */
	ETP_PUSH_FORCE,		/* the retry timer: the first segment goes */
};

void __etp_push(struct sock *sk, enum etp_push_mode mode);
void etp_retransmit_head(struct sock *sk);
void etp_retransmit_una(struct sock *sk);
void etp_ack_sent(struct sock *sk);
void etp_ack_snd_check(struct sock *sk);
void etp_v4_send_reply(struct net *net, const struct sk_buff *skb, u32 seq,
		       u32 ack, u8 flags, u16 window, int state, u16 mss);
void etp_v4_send_reset(struct net *net, const struct sk_buff *skb);
u32 etp_select_window(struct sock *sk, bool syn);
u32 etp_max_window(const struct etp_sock *ep);
u32 etp_space_window(const struct sock *sk);
u8 etp_choose_wscale(const struct sock *sk);
void etp_set_mss(struct sock *sk);
void etp_sync_mss(struct sock *sk);

/* timer.c */
void etp_init_timers(struct sock *sk);
void etp_clear_timers(struct sock *sk);
void etp_rearm_rtx(struct sock *sk);
void etp_rtt_sample(struct sock *sk, u32 rtt_us);
u32 etp_rto_backed_off(const struct sock *sk);
void etp_arm_fin_timer(struct sock *sk);
unsigned long etp_ms_to_jiffies(int ms);

/* sysctl.c */
int etp_sysctl_register(struct net *net);
void etp_sysctl_unregister(struct net *net);
int etp_sysctl_global_register(void);
void etp_sysctl_global_unregister(void);

/* proc.c */
int etp_proc_init(struct net *net);
int etp_mib_proc_init(struct net *net);
void etp_mib_proc_exit(struct net *net);
void etp_proc_exit(struct net *net);

#endif /* _ETP_H */

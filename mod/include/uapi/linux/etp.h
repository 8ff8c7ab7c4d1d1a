/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ETP, the Educational Transport Protocol: definitions shared by the
 * kernel module, userspace tools and selftests.
 */
#ifndef _UAPI_LINUX_ETP_H
#define _UAPI_LINUX_ETP_H

#include <linux/types.h>

/* RFC 3692: protocol number 253 is reserved for experimentation. */
#define IPPROTO_ETP		253
#define SOL_ETP			IPPROTO_ETP

/*
 * The ETP header is TCP's (RFC 9293, 3.1), so that every tool that decodes
 * TCP decodes ETP. Flags live in their own byte to avoid bitfields.
 */
struct etphdr {
	__be16	source;		/* source port */
	__be16	dest;		/* destination port */
	__be32	seq;		/* sequence number */
	__be32	ack_seq;	/* acknowledgment number */
	__u8	doff_res;	/* data offset in 32-bit words << 4 */
	__u8	flags;		/* ETP_FLAG_* */
	__be16	window;		/* receive window */
	__sum16	check;		/* checksum over pseudo-header and segment */
	__be16	urg_ptr;	/* unused by ETP, sent as zero */
};

#define ETP_FLAG_FIN		0x01
#define ETP_FLAG_SYN		0x02
#define ETP_FLAG_RST		0x04
#define ETP_FLAG_PSH		0x08
#define ETP_FLAG_ACK		0x10
#define ETP_FLAG_URG		0x20
#define ETP_FLAG_ECE		0x40
#define ETP_FLAG_CWR		0x80

#define ETP_HDR_LEN		20	/* header without options */
#define ETP_OPT_EOL		0
#define ETP_OPT_NOP		1
#define ETP_OPT_MSS		2	/* kind 2, length 4, 16-bit MSS */
#define ETP_OPT_MSS_LEN		4
#define ETP_OPT_WSCALE		3	/* kind 3, length 3, shift (RFC 7323, 2) */
#define ETP_OPT_WSCALE_LEN	3
#define ETP_MAX_WSCALE		14	/* RFC 7323, 2.3 */

/* Socket options at level SOL_ETP. */
#define ETP_INFO		1	/* struct etp_info, read only */
#define ETP_NODELAY		2	/* int: nonzero turns Nagle's algorithm off */

/* Congestion control phase (etpi_ca_state), as RFC 5681 and 6582 name it. */
enum {
	ETP_CA_OPEN,		/* slow start or congestion avoidance */
	ETP_CA_RECOVERY,	/* fast recovery after three duplicate ACKs */
	ETP_CA_LOSS,		/* recovering after a retransmission timeout */
};

/*
 * Connection states. ETP uses Linux TCP's numbering so that the
 * sock:inet_sock_set_state tracepoint and tools that know TCP's
 * states print ETP's states correctly.
 */
enum {
	ETP_ESTABLISHED = 1,
	ETP_SYN_SENT,
	ETP_SYN_RECV,
	ETP_FIN_WAIT1,
	ETP_FIN_WAIT2,
	ETP_TIME_WAIT,
	ETP_CLOSE,
	ETP_CLOSE_WAIT,
	ETP_LAST_ACK,
	ETP_LISTEN,
	ETP_CLOSING,
};

/*
 * Snapshot of a connection, returned by getsockopt(SOL_ETP, ETP_INFO).
 * Like struct tcp_info, it only ever grows at the end: the kernel copies
 * min(optlen, sizeof(struct etp_info)) bytes and returns that length.
 * Times are in microseconds, sequence numbers are absolute.
 */
struct etp_info {
	__u8	etpi_state;		/* ETP_* state above */
	__u8	etpi_backoff;		/* consecutive RTO backoffs */
	__u16	etpi_mss;		/* payload bytes per segment we send */
	__u16	etpi_peer_mss;		/* MSS option the peer sent */
	__u16	etpi_pad;
	__u32	etpi_rto;		/* current retransmission timeout */
	__u32	etpi_srtt;		/* smoothed round-trip time */
	__u32	etpi_rttvar;		/* round-trip time variation */
	__u32	etpi_iss;		/* our initial sequence number */
	__u32	etpi_irs;		/* the peer's initial sequence number */
	__u32	etpi_snd_una;		/* oldest unacknowledged byte */
	__u32	etpi_snd_nxt;		/* next byte to send */
	__u32	etpi_rcv_nxt;		/* next byte expected */
	__u32	etpi_snd_wnd;		/* window the peer advertised */
	__u32	etpi_rcv_wnd;		/* window we advertised last */
	__u32	etpi_retrans;		/* segments retransmitted */
	__u32	etpi_timeouts;		/* retransmission timer expiries */
	__u64	etpi_bytes_sent;	/* payload bytes sent, first transmissions */
	__u64	etpi_bytes_acked;	/* payload bytes acknowledged by the peer */
	__u64	etpi_bytes_received;	/* payload bytes delivered in order */

	/* Loss recovery, flow and congestion control. */
	__u32	etpi_cwnd;		/* congestion window, bytes */
	__u32	etpi_ssthresh;		/* slow-start threshold, bytes */
	__u32	etpi_in_flight;		/* bytes sent and not yet acknowledged */
	__u32	etpi_lost;		/* segments judged lost and sent again */
	__u32	etpi_fast_retrans;	/* retransmissions after 3 duplicate ACKs */
	__u32	etpi_dup_acks;		/* duplicate ACKs received */
	__u32	etpi_ooo_segs;		/* segments received out of order, queued */
	__u32	etpi_ooo_bytes;		/* bytes waiting in the out-of-order queue */
	__u32	etpi_probes;		/* zero-window probes sent */
	__u32	etpi_delayed_acks;	/* ACKs sent by the delayed-ACK timer */
	__u8	etpi_snd_wscale;	/* shift of the windows the peer sends */
	__u8	etpi_rcv_wscale;	/* shift of the windows we send */
	__u8	etpi_ca_state;		/* ETP_CA_* above */
	__u8	etpi_nodelay;		/* ETP_NODELAY is set */
};

#endif /* _UAPI_LINUX_ETP_H */

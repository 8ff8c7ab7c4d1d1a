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

/* Socket options at level SOL_ETP. */
#define ETP_INFO		1	/* struct etp_info, read only */

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
};

#endif /* _UAPI_LINUX_ETP_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-namespace ETP counters, shown in /proc/net/etp_stat in the order
 * of this enum. Every dropped segment is counted under its reason.
 */
#ifndef _ETP_MIB_H
#define _ETP_MIB_H

#include <linux/percpu.h>

enum etp_mib_field {
	ETP_MIB_INSEGS,		/* segments received, malformed included */
	ETP_MIB_OUTSEGS,	/* segments sent, retransmissions included */
	ETP_MIB_RETRANSSEGS,	/* segments sent again */
	ETP_MIB_INRSTS,		/* RST segments received */
	ETP_MIB_OUTRSTS,	/* RST segments sent */
	ETP_MIB_ACTIVEOPENS,	/* connect() sent a SYN */
	ETP_MIB_PASSIVEOPENS,	/* a listener answered a SYN */
	ETP_MIB_ATTEMPTFAILS,	/* connection attempts that failed */
	ETP_MIB_ESTABRESETS,	/* established connections reset */
	ETP_MIB_TIMEOUTS,	/* retransmission timer expiries */
	ETP_MIB_INCSUMERRORS,	/* dropped: bad checksum */
	ETP_MIB_INSHORTHEADER,	/* dropped: shorter than the fixed header */
	ETP_MIB_INBADDOFF,	/* dropped: data offset < 5 or past the end */
	ETP_MIB_INBADFLAGS,	/* dropped: SYN+FIN, SYN+RST, no SYN/ACK/RST */
	ETP_MIB_INBADOPTIONS,	/* dropped: option runs past the header */
	ETP_MIB_INNOSOCKET,	/* no socket for the segment, RST sent */
	ETP_MIB_INUNACCEPTABLE,	/* outside the receive window, ACK sent */
	ETP_MIB_INOUTOFORDER,	/* data beyond rcv_nxt, out-of-order queue */
	ETP_MIB_INRCVBUFDROPS,	/* data dropped: receive buffer full */
	ETP_MIB_INACKUNSENT,	/* ACK for data never sent, dropped */
	ETP_MIB_BACKLOGDROPS,	/* socket backlog full */
	ETP_MIB_LISTENOVERFLOWS, /* SYN or final ACK dropped: queue full */
	ETP_MIB_CHALLENGEACKS,	/* RFC 5961 challenge ACKs sent */
	ETP_MIB_TIMEWAITCREATED, /* connections that entered TIME_WAIT */
	ETP_MIB_FASTRETRANS,	/* retransmissions after 3 duplicate ACKs */
	ETP_MIB_FASTRECOVERY,	/* fast recovery episodes entered */
	ETP_MIB_INDUPACKS,	/* duplicate ACKs received */
	ETP_MIB_INDUPDATA,	/* data already held (out-of-order copy) */
	ETP_MIB_OFODROPS,	/* dropped: out-of-order queue full */
	ETP_MIB_ZEROWINDOWPROBES, /* window probes sent to a zero window */
	ETP_MIB_DELAYEDACKS,	/* ACKs sent by the delayed-ACK timer */
	ETP_MIB_PMTUUPDATES,	/* ICMP fragmentation needed lowered the MSS */
	ETP_MIB_ICMPIGNORED,	/* ICMP errors quoting data not in flight */
	ETP_MIB_TIMEWAITOVERFLOW, /* closed at once: max_tw entries exist */
	ETP_MIB_SYNCOOKIESSENT,	/* SYN-ACKs with a cookie, no state kept */
	ETP_MIB_SYNCOOKIESRECV,	/* connections made from a good cookie */
	ETP_MIB_SYNCOOKIESFAILED, /* ACKs to a listener with a bad cookie */
	ETP_MIB_MEMORYPRESSURES, /* times the module entered memory pressure */
	ETP_MIB_MAX
};

struct etp_mib {
	unsigned long	mibs[ETP_MIB_MAX];
};

#define ETP_INC_STATS(net, field) \
	this_cpu_inc(etp_pernet(net)->mib->mibs[field])
#define ETP_ADD_STATS(net, field, val) \
	this_cpu_add(etp_pernet(net)->mib->mibs[field], val)

extern const char * const etp_mib_names[ETP_MIB_MAX];

#endif /* _ETP_MIB_H */

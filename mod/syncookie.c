// SPDX-License-Identifier: GPL-2.0
/*
 * SYN cookies: when a listener's half-open queue is full (a SYN flood),
 * it answers a SYN without keeping any state. The SYN-ACK's sequence
 * number, the cookie, encodes what the connection needs later, and the
 * peer's final ACK returns it (ack = cookie + 1):
 *
 *    31     27 26  24 23                                 0
 *   +---------+------+------------------------------------+
 *   |  tick   | mss  |  keyed hash (siphash) of the      |
 *   | (5 bits)| index|  4-tuple, the peer's ISN and tick  |
 *   +---------+------+------------------------------------+
 *
 * The tick counts 64-second periods: a cookie is good in the period it
 * was made and the next one. The MSS is one of eight common values, the
 * largest not above the peer's. Window scaling is not encoded: a
 * connection made from a cookie does not scale its windows.
 */
#include <linux/siphash.h>
#include <linux/random.h>
#include <linux/jiffies.h>
#include <net/ip.h>
#include "etp.h"

#define ETP_COOKIE_PERIOD	(64 * HZ)
#define ETP_COOKIE_TICK_MASK	0x1f
#define ETP_COOKIE_HASH_MASK	0xffffff

static siphash_key_t etp_cookie_key __read_mostly;

static const u16 etp_cookie_mss[8] = {
	536, 1200, 1360, 1400, 1440, 1460, 4312, 8960
};

void etp_cookie_init(void)
{
	get_random_bytes(&etp_cookie_key, sizeof(etp_cookie_key));
}

static u32 etp_cookie_tick(void)
{
	return (u32)(jiffies / ETP_COOKIE_PERIOD);
}

static u32 etp_cookie_hash(const struct sk_buff *skb, u32 peer_isn, u32 tick)
{
	const struct iphdr *iph = ip_hdr(skb);
	const struct etphdr *th = etp_hdr(skb);
	u64 addrs = (u64)(__force u32)iph->saddr << 32 | (__force u32)iph->daddr;
	u64 rest = (u64)((u32)ntohs(th->source) << 16 | ntohs(th->dest)) << 32 |
		   peer_isn;

	return (u32)siphash_3u64(addrs, rest, tick, &etp_cookie_key) &
	       ETP_COOKIE_HASH_MASK;
}

/* The SYN-ACK's window: unscaled, what an empty buffer can back. */
u16 etp_cookie_window(const struct sock *sk)
{
	return min_t(u32, READ_ONCE(sk->sk_rcvbuf) / 2, ETP_MAX_WINDOW);
}

/* Answer the SYN in skb with a SYN-ACK whose ISN is a cookie. */
void etp_cookie_send(struct sock *sk, struct sk_buff *skb)
{
	const struct etp_skb_cb *cb = ETP_SKB_CB(skb);
	u16 peer_mss = cb->mss ?: ETP_MSS_DEFAULT;
	u32 tick = etp_cookie_tick(), cookie;
	int i;

	for (i = ARRAY_SIZE(etp_cookie_mss) - 1; i > 0; i--)
		if (etp_cookie_mss[i] <= peer_mss)
			break;
	cookie = (tick & ETP_COOKIE_TICK_MASK) << 27 | i << 24 |
		 etp_cookie_hash(skb, cb->seq, tick);
	WRITE_ONCE(etp_sk(sk)->last_cookie, jiffies);
	ETP_INC_STATS(sock_net(sk), ETP_MIB_SYNCOOKIESSENT);
	etp_v4_send_reply(sock_net(sk), skb, cookie, cb->seq + 1,
			  ETP_FLAG_SYN | ETP_FLAG_ACK, etp_cookie_window(sk),
			  TCP_LISTEN, etp_cookie_mss[i]);
}

/*
 * Did this listener send cookies lately (or always does)? Only then is
 * an ACK without a half-open connection taken for a cookie's answer.
 */
bool etp_cookie_recent(const struct sock *sk)
{
	if (READ_ONCE(etp_pernet(sock_net(sk))->syncookies) == 2)
		return true;
	return time_before(jiffies, READ_ONCE(etp_sk(sk)->last_cookie) +
			   2 * ETP_COOKIE_PERIOD);
}

/* Is the ACK in skb the answer to a cookie of ours? Sets *mss if so. */
bool etp_cookie_check(struct sock *sk, struct sk_buff *skb, u16 *mss)
{
	const struct etp_skb_cb *cb = ETP_SKB_CB(skb);
	u32 cookie = cb->ack - 1, now = etp_cookie_tick(), age;

	for (age = 0; age < 2; age++) {
		u32 tick = now - age;

		if ((cookie >> 27) != (tick & ETP_COOKIE_TICK_MASK))
			continue;
		if ((cookie & ETP_COOKIE_HASH_MASK) !=
		    etp_cookie_hash(skb, cb->seq - 1, tick))
			continue;
		*mss = etp_cookie_mss[(cookie >> 24) & 7];
		return true;
	}
	return false;
}

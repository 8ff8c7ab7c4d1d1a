// SPDX-License-Identifier: GPL-2.0
/*
 * ETP's own lookup tables: bound ports, listeners and connections, plus
 * TIME_WAIT entries and initial sequence numbers.
 *
 *   bhash  (net, local port)        every bound socket and TIME_WAIT entry
 *   lhash  (net, local port)        listeners
 *   ehash  (net, 4-tuple)           connections and TIME_WAIT entries
 *
 * Each bucket has its own spinlock for writers. Receive-path lookups in
 * lhash and ehash walk the chains under RCU and take a reference with
 * refcount_inc_not_zero(); sockets are freed after a grace period
 * (SOCK_RCU_FREE) and TIME_WAIT entries through call_rcu(), so a reader
 * never touches freed memory. A socket can leave one chain and join
 * another while a reader stands on it (a failed connect() followed by
 * listen() or another connect()), so lhash and ehash chains are
 * hlist_nulls lists ending in their bucket number: a reader that ends in
 * the wrong bucket starts again instead of missing an entry.
 */
#include <linux/delay.h>
#include <linux/hash.h>
#include <linux/jhash.h>
#include <linux/log2.h>
#include <linux/siphash.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <net/ip.h>
#include <net/sock.h>
#include <net/netns/hash.h>
#include "etp.h"

struct etp_bucket {
	spinlock_t			lock;	/* writers of the chain */
	union {
		struct hlist_head	chain;	/* bhash, by skc_bind_node */
		struct hlist_nulls_head	nchain;	/* lhash, ehash, by skc_nulls_node */
	};
};

struct etp_table {
	struct etp_bucket	*buckets;
	unsigned int		mask;
};

#define ETP_EHASH_SIZE	65536	/* tens of thousands of connections */
#define ETP_BHASH_SIZE	16384
#define ETP_LHASH_SIZE	512
/* lhash chains end in nulls values of their own, apart from ehash's. */
#define ETP_LHASH_NULLS_BASE	BIT(29)

enum {
	ETP_TABLE_NONE,
	ETP_TABLE_EHASH,
	ETP_TABLE_LHASH,
};

static struct etp_table etp_ehash, etp_bhash, etp_lhash;
static struct kmem_cache *etp_tw_cachep;
static siphash_key_t etp_isn_key __read_mostly;
static siphash_key_t etp_port_key __read_mostly;
#define ETP_PERTURB_SIZE	256	/* RFC 6056's table of perturbations */
static u16 etp_port_perturb[ETP_PERTURB_SIZE];
static u32 etp_hash_seed __read_mostly;

static int etp_table_alloc(struct etp_table *t, unsigned int size,
			   bool nulls, unsigned int nulls_base)
{
	unsigned int i;

	t->buckets = kvmalloc_array(size, sizeof(*t->buckets), GFP_KERNEL);
	if (!t->buckets)
		return -ENOMEM;
	for (i = 0; i < size; i++) {
		spin_lock_init(&t->buckets[i].lock);
		if (nulls)
			INIT_HLIST_NULLS_HEAD(&t->buckets[i].nchain,
					      nulls_base + i);
		else
			INIT_HLIST_HEAD(&t->buckets[i].chain);
	}
	t->mask = size - 1;
	return 0;
}

int etp_hash_init(void)
{
	get_random_bytes(&etp_isn_key, sizeof(etp_isn_key));
	get_random_bytes(&etp_port_key, sizeof(etp_port_key));
	get_random_bytes(etp_port_perturb, sizeof(etp_port_perturb));
	etp_hash_seed = get_random_u32();

	etp_tw_cachep = kmem_cache_create("etp_tw", sizeof(struct etp_tw), 0,
					  SLAB_HWCACHE_ALIGN, NULL);
	if (!etp_tw_cachep)
		return -ENOMEM;
	if (etp_table_alloc(&etp_ehash, ETP_EHASH_SIZE, true, 0) ||
	    etp_table_alloc(&etp_bhash, ETP_BHASH_SIZE, false, 0) ||
	    etp_table_alloc(&etp_lhash, ETP_LHASH_SIZE, true,
			    ETP_LHASH_NULLS_BASE)) {
		etp_hash_exit();
		return -ENOMEM;
	}
	return 0;
}

void etp_hash_exit(void)
{
	/* TIME_WAIT entries are freed through call_rcu(): wait for them. */
	rcu_barrier();
	kmem_cache_destroy(etp_tw_cachep);
	kvfree(etp_ehash.buckets);
	kvfree(etp_bhash.buckets);
	kvfree(etp_lhash.buckets);
}

/* RFC 6528: a keyed hash of the 4-tuple plus a clock ticking every 64 ns. */
u32 etp_isn(__be32 saddr, __be32 daddr, __be16 sport, __be16 dport)
{
	u32 hash = siphash_3u32((__force u32)saddr, (__force u32)daddr,
				(u32)ntohs(sport) << 16 | ntohs(dport),
				&etp_isn_key);

	return hash + (u32)(ktime_get_real_ns() >> 6);
}

static struct etp_bucket *etp_ebucket(const struct net *net, __be32 laddr,
				      u16 lport, __be32 raddr, __be16 rport)
{
	u32 h = jhash_3words((__force u32)laddr, (__force u32)raddr,
			     (u32)lport << 16 | (__force u16)rport,
			     etp_hash_seed + net_hash_mix(net));

	return &etp_ehash.buckets[h & etp_ehash.mask];
}

static struct etp_bucket *etp_port_bucket(struct etp_table *t,
					  const struct net *net, u16 port)
{
	u32 h = jhash_1word(port, etp_hash_seed + net_hash_mix(net));

	return &t->buckets[h & t->mask];
}

static struct etp_bucket *etp_sk_ebucket(const struct sock_common *skc)
{
	return etp_ebucket(read_pnet(&skc->skc_net), skc->skc_rcv_saddr,
			   skc->skc_num, skc->skc_daddr, skc->skc_dport);
}

static bool etp_dev_match(int bound, int dif, int sdif)
{
	return !bound || bound == dif || bound == sdif;
}

static bool etp_ematch(const struct sock_common *skc, const struct net *net,
		       __be32 raddr, __be16 rport, __be32 laddr, u16 lport,
		       int dif, int sdif)
{
	return skc->skc_num == lport && skc->skc_dport == rport &&
	       skc->skc_daddr == raddr && skc->skc_rcv_saddr == laddr &&
	       net_eq(read_pnet(&skc->skc_net), net) &&
	       etp_dev_match(skc->skc_bound_dev_if, dif, sdif);
}

/* Drop a reference taken on a socket or a TIME_WAIT entry. */
void etp_skc_put(struct sock_common *skc)
{
	if (etp_is_tw(skc))
		etp_tw_put(etp_tw(skc));
	else
		sock_put((struct sock *)skc);
}

static struct sock_common *etp_lookup_established(struct net *net,
						  __be32 saddr, __be16 sport,
						  __be32 daddr, u16 lport,
						  int dif, int sdif)
{
	struct etp_bucket *b = etp_ebucket(net, daddr, lport, saddr, sport);
	unsigned long slot = b - etp_ehash.buckets;
	struct hlist_nulls_node *node;
	struct sock_common *skc;

begin:
	hlist_nulls_for_each_entry_rcu(skc, node, &b->nchain, skc_nulls_node) {
		if (!etp_ematch(skc, net, saddr, sport, daddr, lport, dif, sdif))
			continue;
		if (!refcount_inc_not_zero(&skc->skc_refcnt))
			continue;
		/* It may have been rehashed under us: check it again. */
		if (etp_ematch(skc, net, saddr, sport, daddr, lport, dif, sdif))
			return skc;
		etp_skc_put(skc);
		goto begin;
	}
	if (get_nulls_value(node) != slot)
		goto begin;
	return NULL;
}

static bool etp_lmatch(const struct sock_common *skc, const struct net *net,
		       __be32 daddr, u16 lport, int dif, int sdif)
{
	return !etp_is_tw(skc) && skc->skc_state == TCP_LISTEN &&
	       skc->skc_num == lport && net_eq(read_pnet(&skc->skc_net), net) &&
	       (!skc->skc_rcv_saddr || skc->skc_rcv_saddr == daddr) &&
	       etp_dev_match(skc->skc_bound_dev_if, dif, sdif);
}

static struct sock_common *etp_lookup_listener(struct net *net, __be32 daddr,
					       u16 lport, int dif, int sdif)
{
	struct etp_bucket *b = etp_port_bucket(&etp_lhash, net, lport);
	unsigned long slot = ETP_LHASH_NULLS_BASE + (b - etp_lhash.buckets);
	struct sock_common *skc, *best;
	struct hlist_nulls_node *node;
	int score, best_score;

begin:
	best = NULL;
	best_score = 0;
	hlist_nulls_for_each_entry_rcu(skc, node, &b->nchain, skc_nulls_node) {
		if (!etp_lmatch(skc, net, daddr, lport, dif, sdif))
			continue;
		score = 1 + !!skc->skc_rcv_saddr + !!skc->skc_bound_dev_if;
		if (score > best_score) {
			best = skc;
			best_score = score;
		}
	}
	if (get_nulls_value(node) != slot)
		goto begin;
	if (best && !refcount_inc_not_zero(&best->skc_refcnt))
		return NULL;
	/* It may have stopped listening under us: check it again. */
	if (best && !etp_lmatch(best, net, daddr, lport, dif, sdif)) {
		etp_skc_put(best);
		goto begin;
	}
	return best;
}

/*
 * Find the socket for a segment from saddr:sport to daddr:dport: first a
 * connection or TIME_WAIT entry with that exact 4-tuple, then the most
 * specific listener. Returns a referenced entry or NULL; etp_is_tw() tells
 * TIME_WAIT entries apart and etp_skc_put() drops either kind.
 */
struct sock_common *etp_lookup(struct net *net, __be32 saddr, __be16 sport,
			       __be32 daddr, __be16 dport, int dif, int sdif)
{
	u16 lport = ntohs(dport);
	struct sock_common *skc;

	rcu_read_lock();
	skc = etp_lookup_established(net, saddr, sport, daddr, lport, dif,
				     sdif);
	if (!skc)
		skc = etp_lookup_listener(net, daddr, lport, dif, sdif);
	rcu_read_unlock();
	return skc;
}

/* True if skc2 keeps sk from binding its port (TCP's SO_REUSEADDR rules). */
static bool etp_bind_conflict(const struct sock *sk,
			      const struct sock_common *skc2, bool relax)
{
	if (skc2 == &sk->__sk_common)
		return false;
	if (sk->sk_bound_dev_if && skc2->skc_bound_dev_if &&
	    sk->sk_bound_dev_if != skc2->skc_bound_dev_if)
		return false;
	if (relax) {
		/* At listen(): only another listener is in the way. */
		if (skc2->skc_state != TCP_LISTEN)
			return false;
	} else if (sk->sk_reuse && skc2->skc_reuse &&
		   skc2->skc_state != TCP_LISTEN) {
		return false;
	}
	return !sk->sk_rcv_saddr || !skc2->skc_rcv_saddr ||
	       sk->sk_rcv_saddr == skc2->skc_rcv_saddr;
}

static bool etp_port_conflict(struct etp_bucket *b, const struct sock *sk,
			      u16 port, bool relax)
{
	const struct net *net = sock_net(sk);
	struct sock_common *skc;

	hlist_for_each_entry(skc, &b->chain, skc_bind_node) {
		if (skc->skc_num == port &&
		    net_eq(read_pnet(&skc->skc_net), net) &&
		    etp_bind_conflict(sk, skc, relax))
			return true;
	}
	return false;
}

static bool etp_port_used(struct etp_bucket *b, const struct net *net,
			  u16 port)
{
	struct sock_common *skc;

	hlist_for_each_entry(skc, &b->chain, skc_bind_node) {
		if (skc->skc_num == port && net_eq(read_pnet(&skc->skc_net), net))
			return true;
	}
	return false;
}

static void etp_bind_add(struct etp_bucket *b, struct sock *sk, u16 port)
{
	inet_sk(sk)->inet_num = port;
	hlist_add_head(&sk->sk_bind_node, &b->chain);
}

/*
 * Ephemeral ports, RFC 6056, 3.3.4 (algorithm 4, "double-hash"): for a
 * connection, the search starts at a keyed hash of its addresses and
 * destination port plus a perturbation taken from a small table indexed
 * by a second hash; the entry moves on by a small random step after each
 * use, so ports to one destination follow no fixed stride and ports to
 * different destinations are unrelated. Without a destination (bind() to
 * port 0, listen()) the start is random. The walk takes the first port
 * nobody in this namespace holds: an ephemeral port is never shared, so
 * the 4-tuple of a connection made from it is unique.
 */
static u32 etp_port_start(const struct sock *sk, u32 range, u16 **perturb)
{
	u32 h;

	*perturb = NULL;
	if (!sk->sk_daddr)
		return get_random_u32_below(range);
	h = siphash_3u32((__force u32)sk->sk_rcv_saddr,
			 (__force u32)sk->sk_daddr, (__force u16)sk->sk_dport,
			 &etp_port_key);
	*perturb = &etp_port_perturb[hash_32(h ^ net_hash_mix(sock_net(sk)),
					     ilog2(ETP_PERTURB_SIZE))];
	return (h + READ_ONCE(**perturb)) % range;
}

static int etp_bind_ephemeral(struct sock *sk)
{
	struct net *net = sock_net(sk);
	int low, high, range, i;
	u16 *perturb;
	u32 offset;

	inet_sk_get_local_port_range(sk, &low, &high);
	range = high - low + 1;
	offset = etp_port_start(sk, range, &perturb);
	for (i = 0; i < range; i++) {
		u16 port = low + (offset + i) % range;
		struct etp_bucket *b;

		if (inet_is_local_reserved_port(net, port))
			continue;
		b = etp_port_bucket(&etp_bhash, net, port);
		spin_lock_bh(&b->lock);
		if (!etp_port_used(b, net, port)) {
			etp_bind_add(b, sk, port);
			spin_unlock_bh(&b->lock);
			if (perturb)
				WRITE_ONCE(*perturb, READ_ONCE(*perturb) + i + 1 +
					   get_random_u32_below(8));
			return 0;
		}
		spin_unlock_bh(&b->lock);
		cond_resched();
	}
	return -EADDRINUSE;
}

/* proto->get_port: bind sk to snum, or to an ephemeral port if 0. */
int etp_get_port(struct sock *sk, unsigned short snum)
{
	struct etp_bucket *b;
	int err = 0;

	if (!snum)
		return etp_bind_ephemeral(sk);

	b = etp_port_bucket(&etp_bhash, sock_net(sk), snum);
	spin_lock_bh(&b->lock);
	if (etp_port_conflict(b, sk, snum, false))
		err = -EADDRINUSE;
	else
		etp_bind_add(b, sk, snum);
	spin_unlock_bh(&b->lock);
	return err;
}

/*
 * listen() on a port bound with SO_REUSEADDR must still fail if another
 * socket already listens there (TCP checks this again at listen time).
 */
static int etp_listen_conflict(struct sock *sk)
{
	u16 port = inet_sk(sk)->inet_num;
	struct etp_bucket *b = etp_port_bucket(&etp_bhash, sock_net(sk), port);
	int err = 0;

	spin_lock_bh(&b->lock);
	if (etp_port_conflict(b, sk, port, true))
		err = -EADDRINUSE;
	spin_unlock_bh(&b->lock);
	return err;
}

void etp_put_port(struct sock *sk)
{
	struct inet_sock *inet = inet_sk(sk);
	struct etp_bucket *b;

	if (!hlist_unhashed(&sk->sk_bind_node)) {
		b = etp_port_bucket(&etp_bhash, sock_net(sk), inet->inet_num);
		spin_lock_bh(&b->lock);
		hlist_del_init(&sk->sk_bind_node);
		spin_unlock_bh(&b->lock);
	}
	inet->inet_num = 0;
	inet->inet_sport = 0;
}

/* A child shares its listener's port until it closes. */
void etp_inherit_port(struct sock *parent, struct sock *child)
{
	u16 port = inet_sk(parent)->inet_num;
	struct etp_bucket *b = etp_port_bucket(&etp_bhash, sock_net(child),
					       port);

	spin_lock(&b->lock);
	etp_bind_add(b, child, port);
	spin_unlock(&b->lock);
}

/* Insert a connection; fails if its 4-tuple is already in use. */
int etp_ehash_insert(struct sock *sk)
{
	struct etp_bucket *b = etp_sk_ebucket(&sk->__sk_common);
	struct net *net = sock_net(sk);
	struct hlist_nulls_node *node;
	struct sock_common *skc;

	spin_lock_bh(&b->lock);
	hlist_nulls_for_each_entry(skc, node, &b->nchain, skc_nulls_node) {
		if (etp_ematch(skc, net, sk->sk_daddr, sk->sk_dport,
			       sk->sk_rcv_saddr, sk->sk_num,
			       sk->sk_bound_dev_if, 0)) {
			spin_unlock_bh(&b->lock);
			return -EADDRNOTAVAIL;
		}
	}
	hlist_nulls_add_head_rcu(&sk->sk_nulls_node, &b->nchain);
	etp_sk(sk)->in_table = ETP_TABLE_EHASH;
	spin_unlock_bh(&b->lock);
	sock_prot_inuse_add(net, sk->sk_prot, 1);
	return 0;
}

/* connect(): pick a local port if needed and enter the 4-tuple. */
int etp_hash_connect(struct sock *sk)
{
	struct inet_sock *inet = inet_sk(sk);
	int err;

	if (!inet->inet_num) {
		err = etp_bind_ephemeral(sk);
		if (err)
			return -EADDRNOTAVAIL;
		inet->inet_sport = htons(inet->inet_num);
	}
	return etp_ehash_insert(sk);
}

/* proto->hash: enter a listener. */
int etp_hash(struct sock *sk)
{
	struct etp_bucket *b;
	int err;

	if (sk->sk_state != TCP_LISTEN)
		return etp_ehash_insert(sk);

	err = etp_listen_conflict(sk);
	if (err)
		return err;
	b = etp_port_bucket(&etp_lhash, sock_net(sk), inet_sk(sk)->inet_num);
	spin_lock_bh(&b->lock);
	hlist_nulls_add_head_rcu(&sk->sk_nulls_node, &b->nchain);
	etp_sk(sk)->in_table = ETP_TABLE_LHASH;
	spin_unlock_bh(&b->lock);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, 1);
	return 0;
}

void etp_unhash(struct sock *sk)
{
	struct etp_sock *ep = etp_sk(sk);
	struct etp_bucket *b;

	if (ep->in_table == ETP_TABLE_NONE)
		return;
	if (ep->in_table == ETP_TABLE_LHASH)
		b = etp_port_bucket(&etp_lhash, sock_net(sk), sk->sk_num);
	else
		b = etp_sk_ebucket(&sk->__sk_common);
	spin_lock_bh(&b->lock);
	hlist_nulls_del_init_rcu(&sk->sk_nulls_node);
	ep->in_table = ETP_TABLE_NONE;
	spin_unlock_bh(&b->lock);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, -1);
}

static unsigned long etp_tw_len(const struct net *net)
{
	return 2 * etp_ms_to_jiffies(READ_ONCE(etp_pernet(net)->msl_ms));
}

static void etp_tw_free_rcu(struct rcu_head *head)
{
	kmem_cache_free(etp_tw_cachep, container_of(head, struct etp_tw, rcu));
}

void etp_tw_put(struct etp_tw *tw)
{
	if (refcount_dec_and_test(&tw->common.skc_refcnt))
		call_rcu(&tw->rcu, etp_tw_free_rcu);
}

static void etp_tw_unhash(struct etp_tw *tw)
{
	struct sock_common *skc = &tw->common;
	struct etp_bucket *b = etp_sk_ebucket(skc);

	spin_lock_bh(&b->lock);
	hlist_nulls_del_init_rcu(&skc->skc_nulls_node);
	spin_unlock_bh(&b->lock);

	b = etp_port_bucket(&etp_bhash, read_pnet(&skc->skc_net), skc->skc_num);
	spin_lock_bh(&b->lock);
	hlist_del_init(&skc->skc_bind_node);
	spin_unlock_bh(&b->lock);
}

/*
 * End an entry whose timer was stopped: unhash it, drop the timer's
 * reference, and only then uncount it. etp_tw_reap() waits for the count
 * to reach zero, so an expiring timer that unhashed its entry before the
 * reaper looked is still waited for (its call_rcu() included).
 */
static void etp_tw_kill(struct etp_tw *tw)
{
	struct etp_net *en = etp_pernet(read_pnet(&tw->common.skc_net));

	etp_tw_unhash(tw);
	etp_tw_put(tw);
	atomic_dec(&en->tw_count);
}

/*
 * The entry's own reference belongs to its pending timer: whoever stops
 * the timer (the timer itself by running, or timer_delete() succeeding)
 * unhashes the entry and drops that reference, exactly once.
 */
static void etp_tw_expire(struct timer_list *t)
{
	struct etp_tw *tw = timer_container_of(tw, t, timer);

	etp_tw_kill(tw);
}

bool etp_tw_deschedule(struct etp_tw *tw)
{
	if (!timer_delete(&tw->timer))
		return false;
	etp_tw_kill(tw);
	return true;
}

/* RFC 9293, 3.10.7.4: a retransmitted FIN restarts the 2 MSL timeout. */
void etp_tw_rearm(struct etp_tw *tw)
{
	mod_timer_pending(&tw->timer,
			  jiffies + etp_tw_len(read_pnet(&tw->common.skc_net)));
}

/*
 * RFC 9293, 3.6: the side that closes first waits 2 MSL in TIME_WAIT so
 * that old duplicates die and a lost final ACK can be sent again. The
 * socket is finished here; a small etp_tw entry takes its place in the
 * tables and holds the 4-tuple and the port.
 */
void etp_time_wait(struct sock *sk, const char *why)
{
	struct etp_sock *ep = etp_sk(sk);
	struct net *net = sock_net(sk);
	struct sock_common *skc;
	struct etp_bucket *b;
	struct etp_tw *tw;

	/*
	 * Like TCP when its TIME_WAIT table is full: close at once. The cap
	 * (net.etp.max_tw) keeps a peer that opens and closes connections
	 * quickly from filling memory with entries.
	 */
	if (atomic_inc_return(&etp_pernet(net)->tw_count) >
	    READ_ONCE(etp_pernet(net)->max_tw)) {
		atomic_dec(&etp_pernet(net)->tw_count);
		ETP_INC_STATS(net, ETP_MIB_TIMEWAITOVERFLOW);
		etp_done(sk, "TIME_WAIT table full");
		return;
	}
	tw = kmem_cache_zalloc(etp_tw_cachep, GFP_ATOMIC);
	if (!tw) {
		atomic_dec(&etp_pernet(net)->tw_count);
		etp_done(sk, "no memory for TIME_WAIT");
		return;
	}
	/* skc_prot stays NULL: that is what marks a TIME_WAIT entry. */
	skc = &tw->common;
	skc->skc_family = AF_INET;
	skc->skc_state = TCP_TIME_WAIT;
	skc->skc_daddr = sk->sk_daddr;
	skc->skc_rcv_saddr = sk->sk_rcv_saddr;
	skc->skc_dport = sk->sk_dport;
	skc->skc_num = sk->sk_num;
	skc->skc_reuse = sk->sk_reuse;
	skc->skc_bound_dev_if = sk->sk_bound_dev_if;
	write_pnet(&skc->skc_net, net);
	tw->snd_nxt = ep->snd_max;
	tw->rcv_nxt = ep->rcv_nxt;
	tw->rcv_wnd = min_t(u32, ep->rcv_wnd >> ep->rcv_wscale, ETP_MAX_WINDOW);
	refcount_set(&skc->skc_refcnt, 1);
	timer_setup(&tw->timer, etp_tw_expire, 0);

	/* The entry replaces the socket in ehash and in bhash. */
	b = etp_sk_ebucket(skc);
	spin_lock_bh(&b->lock);
	hlist_nulls_add_head_rcu(&skc->skc_nulls_node, &b->nchain);
	if (ep->in_table == ETP_TABLE_EHASH) {
		hlist_nulls_del_init_rcu(&sk->sk_nulls_node);
		ep->in_table = ETP_TABLE_NONE;
		sock_prot_inuse_add(net, sk->sk_prot, -1);
	}
	spin_unlock_bh(&b->lock);

	mod_timer(&tw->timer, jiffies + etp_tw_len(net));
	ETP_INC_STATS(net, ETP_MIB_TIMEWAITCREATED);

	/*
	 * Only now, with the socket out of ehash, may its state say
	 * TIME_WAIT (for the tracepoint). The connection lives on in the
	 * entry, so the socket then leaves TIME_WAIT without another
	 * state-change event.
	 */
	etp_trace_state(sk, TCP_TIME_WAIT, why);
	inet_sk_set_state(sk, TCP_TIME_WAIT);

	/*
	 * The entry holds the port too. A socket whose user bound the port
	 * keeps it as well, as TCP's does; any other gives it up.
	 */
	b = etp_port_bucket(&etp_bhash, net, skc->skc_num);
	spin_lock_bh(&b->lock);
	hlist_add_head(&skc->skc_bind_node, &b->chain);
	if (!(sk->sk_userlocks & SOCK_BINDPORT_LOCK)) {
		hlist_del_init(&sk->sk_bind_node);
		inet_sk(sk)->inet_num = 0;
		inet_sk(sk)->inet_sport = 0;
	}
	spin_unlock_bh(&b->lock);
	etp_clear_timers(sk);
	/* Pairs with the lockless state reads of poll and /proc. */
	smp_store_release(&sk->sk_state, TCP_CLOSE);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	if (!sock_flag(sk, SOCK_DEAD))
		sk->sk_state_change(sk);
	else
		etp_destroy(sk);
}

/* Namespace or module exit: remove every TIME_WAIT entry of net. */
void etp_tw_reap(struct net *net)
{
	unsigned int i;

	for (i = 0; i <= etp_ehash.mask; i++) {
		struct etp_bucket *b = &etp_ehash.buckets[i];
		struct hlist_nulls_node *node;
		struct sock_common *skc;
		struct etp_tw *tw;

restart:
		tw = NULL;
		spin_lock_bh(&b->lock);
		hlist_nulls_for_each_entry(skc, node, &b->nchain,
					   skc_nulls_node) {
			if (etp_is_tw(skc) &&
			    net_eq(read_pnet(&skc->skc_net), net) &&
			    refcount_inc_not_zero(&skc->skc_refcnt)) {
				tw = etp_tw(skc);
				break;
			}
		}
		spin_unlock_bh(&b->lock);
		if (!tw)
			continue;
		if (timer_delete_sync(&tw->timer))
			etp_tw_kill(tw);
		etp_tw_put(tw);
		goto restart;
	}
	/* Timers that fired before the walk may still be finishing. */
	while (atomic_read(&etp_pernet(net)->tw_count))
		usleep_range(500, 1000);
}

static void etp_walk_table(struct etp_table *t, struct net *net,
			   etp_walk_fn fn, void *arg)
{
	unsigned int i;

	for (i = 0; i <= t->mask; i++) {
		struct etp_bucket *b = &t->buckets[i];
		struct hlist_nulls_node *node;
		struct sock_common *skc;

		if (hlist_nulls_empty(&b->nchain))
			continue;
		spin_lock_bh(&b->lock);
		hlist_nulls_for_each_entry(skc, node, &b->nchain,
					   skc_nulls_node) {
			if (net_eq(read_pnet(&skc->skc_net), net))
				fn(skc, arg);
		}
		spin_unlock_bh(&b->lock);
	}
}

/* Call fn for every listener, connection and TIME_WAIT entry of net. */
void etp_walk_sockets(struct net *net, etp_walk_fn fn, void *arg)
{
	etp_walk_table(&etp_lhash, net, fn, arg);
	etp_walk_table(&etp_ehash, net, fn, arg);
}
